//! What finished requests say: edge timeouts (a cancel as soon as it is read, and what the
//! origin did afterwards once sealed), stale sessions after a restart, origin 5xx.

use super::incidents::MAX_EVIDENCE;
use super::{Cancel, Detector, IncidentKind, Outcome, Severity, Timestamp, Trace};

/// Without a logged body (stock format) only 400s this soon (µs) after a restart are taken
/// as stale sessions.
const STALE_SESSION_GUESS_WINDOW_US: u64 = 10_000_000;

impl Detector {
    /// An edge timeout read: the `edge_timeout` incident, with the request's first line
    /// and the cancel line as evidence.
    pub(super) fn edge_timeout(&mut self, cancel: &Cancel) {
        let cause = format!(
            "the edge gave up waiting for {} (visitors get 524): the origin took longer than the edge's {} s limit",
            cancel.label,
            self.settings.edge_timeout_us / 1_000_000
        );
        let id = self.upsert(
            IncidentKind::EdgeTimeout,
            Severity::Critical,
            cancel.at,
            cause,
        );
        if let Some(inc) = self.incidents.iter_mut().find(|i| Some(i.id) == id) {
            // The request's first line and the cancel line.
            let lines = cancel
                .cursors
                .first()
                .into_iter()
                .chain(cancel.cursors.last());
            for c in lines {
                if inc.evidence.len() < MAX_EVIDENCE && !inc.evidence.contains(c) {
                    inc.evidence.push(c.clone());
                }
            }
        }
    }

    /// An edge timeout sealed with what the origin did afterwards: the incident's cause
    /// says whether it finished later and how long it took, and for a streamed response
    /// what to change.
    pub(super) fn edge_timeout_hint(&mut self, t: &Trace) {
        let finished = t.origin.as_ref().and_then(|o| {
            let took_us = o
                .duration_ms
                .map(|ms| ms.saturating_mul(1000))
                .or_else(|| Some(o.outgoing?.saturating_since_us(o.incoming?)))?;
            Some((took_us, o.status))
        });
        let Some(inc) = self.incidents.iter_mut().rev().find(|i| {
            i.kind == IncidentKind::EdgeTimeout && i.end.is_none() && i.host == self.host
        }) else {
            return;
        };
        if inc.cause.contains("the origin answered") || inc.cause.contains("still running") {
            return;
        }
        let hint = match finished {
            Some((took_us, status)) => format!(
                "; the origin answered {} after {:.0} s, to nobody",
                status.map_or_else(|| "?".to_owned(), |s| s.to_string()),
                took_us as f64 / 1e6
            ),
            None => "; the origin never answered it (still running, or it hung)".to_owned(),
        };
        inc.cause.push_str(&hint);
        if t.is_stream {
            inc.cause.push_str(
                "; it was a streamed response: send headers and the first bytes before the edge's limit (X-Accel-Buffering: no, no response buffering in front of the server)",
            );
        }
    }

    /// A 400 on the MCP endpoint shortly after a restart: said so by the logged body when
    /// there is one, else inferred from the time since the restart alone.
    fn is_stale_session(&self, t: &Trace, at: Timestamp) -> bool {
        let after_restart = self.state.last_restart_at.is_some_and(|r| {
            at >= r && at.saturating_since_us(r) <= self.settings.stale_session_window_us
        });
        let o = t.origin.as_ref();
        let body_says = o.is_some_and(|o| o.stale_session);
        let body_logged = o.is_some_and(|o| o.duration_ms.is_some());
        let window_us = if body_logged {
            self.settings.stale_session_window_us
        } else {
            STALE_SESSION_GUESS_WINDOW_US
        };
        let recent = self
            .state
            .last_restart_at
            .is_some_and(|r| at >= r && at.saturating_since_us(r) <= window_us);
        after_restart && recent && t.path.as_deref() == Some("/") && (body_says || !body_logged)
    }

    /// A sealed trace's outcome: a 400 from a stale session or an origin 5xx is a signal.
    pub(super) fn trace_signal(&mut self, t: &Trace, at: Timestamp) {
        let (kind, severity, cause) = match t.outcome {
            Outcome::Served(400) if self.is_stale_session(t, at) =>
            {
                (
                    IncidentKind::StaleSessions,
                    Severity::Info,
                    "400 Bad Request right after sigil-mcp restarted: clients still hold an mcp-session-id from before the restart and must initialize again (not a client bug)".to_owned(),
                )
            }
            Outcome::Served(s) if (500..600).contains(&s) => (
                IncidentKind::OriginErrors,
                Severity::Warning,
                match self.state.last_exception.as_ref().filter(|(_, when)| {
                    when.0.abs_diff(at.0) <= 5_000_000
                }) {
                    Some((line, _)) => format!("sigil-mcp answered {s} on {}: {line}", t.route()),
                    None => format!("sigil-mcp answered {s} on {}", t.route()),
                },
            ),
            _ => return,
        };
        let id = self.upsert(kind, severity, at, cause);
        if let Some(inc) = self.incidents.iter_mut().find(|i| Some(i.id) == id) {
            if kind == IncidentKind::OriginErrors && inc.count > 1 {
                // One incident for sporadic errors: say how many and how often.
                let base = inc.cause.split(" — ").next().unwrap_or_default().to_owned();
                let minutes = inc.last.saturating_since_us(inc.start) as f64 / 60e6;
                inc.cause = format!(
                    "{base} — {} times in {:.0} min ({:.1}/min)",
                    inc.count,
                    minutes.max(1.0),
                    inc.count as f64 / minutes.max(1.0)
                );
            }
            for c in t.cursors.iter().take(2) {
                if inc.evidence.len() < MAX_EVIDENCE {
                    inc.evidence.push(c.clone());
                }
            }
        }
    }
}
