//! The incident store: incidents and findings, and how signals become incidents.
//!
//! Owns the incident types ([`Incident`], [`IncidentKind`], [`Severity`], the changes `watch`
//! reads), the findings (secrets the logs contain, named never copied), opening and updating
//! the open incident of a kind per host ([`Detector::upsert`]), evidence cursors, the
//! escalation of a degraded tunnel to a down one, and closing incidents after a quiet
//! time. Does not own the rules that raise signals (the state machines by side:
//! `origin`, `tunnel`, `stall`, `latency`, `requests`).

use std::fmt;
use std::sync::Arc;

use serde::Serialize;

use super::{Cursor, Detector, Event, SecretKind, Timestamp};

/// Incidents kept (oldest closed ones go first).
const MAX_INCIDENTS: usize = 500;
/// Evidence cursors kept per incident.
pub(super) const MAX_EVIDENCE: usize = 20;

/// An incident's number: given by the detector as incidents open, from 1 up, never
/// reused in a run. The number the report, `watch`, hooks and `snapshot --incident` show;
/// it serializes as the bare number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct IncidentId(pub u64);

impl IncidentId {
    /// The first incident's number.
    pub(super) const FIRST: IncidentId = IncidentId(1);

    /// The number after this one.
    pub(super) fn next(self) -> IncidentId {
        IncidentId(self.0 + 1)
    }
}

impl fmt::Display for IncidentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum IncidentKind {
    BadGateway,
    EdgeTimeout,
    OriginErrors,
    OriginDown,
    TunnelDegraded,
    TunnelDown,
    /// 400s right after a restart: clients still holding a pre-restart `mcp-session-id`.
    StaleSessions,
    /// p99 above the threshold for several windows in a row.
    Latency,
    /// The server wrote nothing for a while although the tunnel kept seeing requests.
    OriginStalled,
}

impl IncidentKind {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            IncidentKind::BadGateway => "bad_gateway",
            IncidentKind::EdgeTimeout => "edge_timeout",
            IncidentKind::OriginErrors => "origin_errors",
            IncidentKind::OriginDown => "origin_down",
            IncidentKind::TunnelDegraded => "tunnel_degraded",
            IncidentKind::TunnelDown => "tunnel_down",
            IncidentKind::StaleSessions => "stale_sessions",
            IncidentKind::Latency => "latency",
            IncidentKind::OriginStalled => "origin_stalled",
        }
    }
}

/// What happened to an incident, for live consumers (`watch`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ChangeKind {
    Open,
    Update,
    Close,
}

impl ChangeKind {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            ChangeKind::Open => "open",
            ChangeKind::Update => "update",
            ChangeKind::Close => "close",
        }
    }
}

/// An incident opened, grew, or closed (journal time of the change).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct IncidentChange {
    pub(crate) kind: ChangeKind,
    pub(crate) incident: IncidentId,
    pub(crate) at: Timestamp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Severity {
    Info,
    Warning,
    Critical,
}

impl Severity {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Incident {
    pub id: IncidentId,
    pub(crate) kind: IncidentKind,
    pub(crate) severity: Severity,
    pub(crate) start: Timestamp,
    pub(crate) last: Timestamp,
    /// `None` while open.
    pub(crate) end: Option<Timestamp>,
    pub(crate) count: u64,
    pub(crate) cause: String,
    pub(crate) evidence: Vec<Cursor>,
    /// The host whose lines raised it (`_HOSTNAME`): a journal directory gathered from
    /// several hosts keeps each host's incidents apart.
    pub(crate) host: Option<Arc<str>>,
}

/// A secret the logs contain: what, how often, first seen, where, and what to do.
#[derive(Debug, Clone)]
pub(crate) struct Finding {
    pub(crate) kind: SecretKind,
    pub(crate) count: u64,
    pub(crate) first_seen: Timestamp,
    pub(crate) unit: String,
}

impl Finding {
    pub(crate) fn advice(&self) -> &'static str {
        match self.kind {
            SecretKind::OAuthClientSecret => {
                "the OAuth client secret is in the journal: rotate it and restrict who can read the journal"
            }
            SecretKind::OAuthCode => {
                "OAuth codes/tokens are logged by the OAuth handlers: lower the server's log level to WARNING or filter those records"
            }
            SecretKind::QueryToken => {
                "credentials travel in query strings and uvicorn logs them: move them to headers, or disable the access log"
            }
            SecretKind::AuthorizationHeader => {
                "Authorization headers appear in cloudflared debug logs: run cloudflared at info level"
            }
        }
    }
}

impl Detector {
    /// A secret logged: counted per kind, with the first time and unit seen.
    pub(super) fn note_secret(&mut self, event: &Event, kind: SecretKind) {
        let unit = event
            .entry
            .unit
            .as_ref()
            .map_or_else(|| "?".to_owned(), ToString::to_string);
        self.findings
            .entry(kind)
            .and_modify(|f| f.count += 1)
            .or_insert(Finding {
                kind,
                count: 1,
                first_seen: event.entry.realtime,
                unit,
            });
    }

    pub(super) fn signal(
        &mut self,
        kind: IncidentKind,
        severity: Severity,
        at: Timestamp,
        cause: String,
        event: &Event,
    ) {
        if kind == IncidentKind::TunnelDown && self.counting(at) {
            self.escalate_degraded(at, &cause);
        }
        let id = self.upsert(kind, severity, at, cause);
        if let (Some(inc), Some(c)) = (
            self.incidents.iter_mut().find(|i| Some(i.id) == id),
            &event.entry.cursor,
        ) {
            if inc.evidence.len() < MAX_EVIDENCE {
                inc.evidence.push(c.clone());
            }
        }
    }

    /// A tunnel that loses one connection and then all is one incident that escalates:
    /// the open `tunnel_degraded` incident becomes `tunnel_down` (the next signal then
    /// updates it instead of opening another).
    pub(super) fn escalate_degraded(&mut self, at: Timestamp, cause: &str) {
        let down_open = self
            .incidents
            .iter()
            .any(|i| i.kind == IncidentKind::TunnelDown && i.end.is_none() && i.host == self.host);
        if down_open {
            return;
        }
        if let Some(inc) = self.incidents.iter_mut().rev().find(|i| {
            i.kind == IncidentKind::TunnelDegraded && i.end.is_none() && i.host == self.host
        }) {
            inc.kind = IncidentKind::TunnelDown;
            inc.severity = Severity::Critical;
            inc.cause = format!("degraded, then down: {cause}");
            inc.last = inc.last.max(at);
        }
    }

    /// Adds a signal to the open incident of its kind, or opens one.
    pub(super) fn upsert(
        &mut self,
        kind: IncidentKind,
        severity: Severity,
        at: Timestamp,
        cause: String,
    ) -> Option<IncidentId> {
        if !self.counting(at) {
            // The look-back only rebuilds state.
            return None;
        }
        if let Some(inc) = self
            .incidents
            .iter_mut()
            .rev()
            .find(|i| i.kind == kind && i.end.is_none() && i.host == self.host)
        {
            inc.count += 1;
            inc.last = inc.last.max(at);
            inc.severity = inc.severity.max(severity);
            let id = inc.id;
            self.changes.push(IncidentChange {
                kind: ChangeKind::Update,
                incident: id,
                at,
            });
            return Some(id);
        }
        if self.incidents.len() >= MAX_INCIDENTS {
            if let Some(pos) = self.incidents.iter().position(|i| i.end.is_some()) {
                self.incidents.remove(pos);
            }
        }
        let id = self.next_incident;
        self.next_incident = id.next();
        self.quiet_check_after = self
            .quiet_check_after
            .min(at.0.saturating_add(self.settings.incident_quiet_us));
        self.incidents.push(Incident {
            id,
            kind,
            severity,
            start: at,
            last: at,
            end: None,
            count: 1,
            cause,
            evidence: Vec::new(),
            host: self.host.clone(),
        });
        self.changes.push(IncidentChange {
            kind: ChangeKind::Open,
            incident: id,
            at,
        });
        Some(id)
    }

    pub(super) fn close_quiet(&mut self, now: Timestamp) {
        // An incident's `last` only moves later, and a new one lowers the bound when it
        // opens (`upsert`): until the bound passes, nothing can close.
        if now.0 <= self.quiet_check_after {
            return;
        }
        let quiet = self.settings.incident_quiet_us;
        let mut next = u64::MAX;
        for inc in &mut self.incidents {
            // The latency rule closes its own incidents, by windows.
            if inc.kind == IncidentKind::Latency || inc.end.is_some() {
                continue;
            }
            // Sporadic 5xx on a route are one incident over a longer window.
            let quiet = if inc.kind == IncidentKind::OriginErrors {
                quiet.max(self.settings.origin_errors_window_us)
            } else {
                quiet
            };
            if now.saturating_since_us(inc.last) > quiet {
                inc.end = Some(inc.last);
                self.changes.push(IncidentChange {
                    kind: ChangeKind::Close,
                    incident: inc.id,
                    at: now,
                });
            } else {
                next = next.min(inc.last.0.saturating_add(quiet));
            }
        }
        self.quiet_check_after = next;
    }
}
