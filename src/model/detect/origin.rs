//! The origin unit's state machine: what PID 1 and the server say about `sigil-mcp`.
//!
//! Owns the transitions of [`OriginState`] (up, stopping, down, starting; restarts and
//! crashes counted), the held stop (an open stream keeping uvicorn from exiting), the
//! `origin_down` signals, and the cause a 502 gets from the origin's state at that moment.

use super::{
    Detector, Event, IncidentKind, OriginErrorCause, OriginState, ServerEvent, Severity, Timestamp,
    UnitEvent,
};

impl Detector {
    /// The server's own lines that move the origin's state (listening, shutting down,
    /// waiting for connections) or count (invalid HTTP).
    pub(super) fn origin_server(&mut self, event: &Event, s: &ServerEvent) {
        let ts = event.entry.realtime;
        match s {
            ServerEvent::InvalidHttpRequest if self.counting(ts) => self.invalid_http += 1,
            ServerEvent::Listening { port, .. } => {
                self.state.origin_listen_port = *port;
                self.state.origin_state = OriginState::Up;
                self.origin_back_up(ts, event);
            }
            // uvicorn stops accepting here, a little after PID 1's `Stopping`.
            ServerEvent::ShuttingDown
                if matches!(self.state.origin_state, OriginState::Stopping { .. })
                    || self.state.down_began.is_none() =>
            {
                self.state.down_began = Some(ts);
            }
            ServerEvent::WaitingForConnections => {
                self.state.stop_held_by = Some(self.state.open_streams.last().map_or_else(
                    || "an open connection".to_owned(),
                    |(_, what)| format!("the stream {what}"),
                ));
                if let OriginState::Stopping { since, .. } = self.state.origin_state {
                    self.state.origin_state = OriginState::Stopping {
                        since,
                        blocked_by_stream: true,
                    };
                }
            }
            _ => {}
        }
    }

    pub(super) fn origin_unit(&mut self, event: &Event, u: &UnitEvent) {
        let ts = event.entry.realtime;
        match u {
            UnitEvent::Stopping => {
                self.state.down_began.get_or_insert(ts);
                self.state.stop_requested = true;
                self.state.origin_state = OriginState::Stopping {
                    since: ts,
                    blocked_by_stream: false,
                };
            }
            UnitEvent::MainExited { code, status } => {
                let clean_signal = ["15/TERM", "2/INT", "1/HUP"]
                    .iter()
                    .any(|s| **s == **status)
                    || status.ends_with("/TERM");
                // SIGKILL after `State 'stop-sigterm' timed out` is systemd ending a stop it
                // asked for, not a crash.
                let crashed = match &**code {
                    "killed" | "dumped" => {
                        !(self.state.stop_requested && (clean_signal || self.state.stop_timed_out))
                    }
                    "exited" => !(status.starts_with("0/") || &**status == "0"),
                    _ => false,
                };
                if crashed {
                    self.state.down_began.get_or_insert(ts);
                    if self.counting(ts) {
                        self.crashes += 1;
                        self.state.counts.crashes += 1;
                    }
                    let cause = format!("sigil-mcp main process exited ({code}, status={status})");
                    self.signal(
                        IncidentKind::OriginDown,
                        Severity::Critical,
                        ts,
                        cause,
                        event,
                    );
                }
                self.state.origin_state = OriginState::Down { since: ts, crashed };
            }
            UnitEvent::Failed { .. } => {
                if !matches!(
                    self.state.origin_state,
                    OriginState::Down { crashed: true, .. }
                ) {
                    self.state.origin_state = OriginState::Down {
                        since: ts,
                        crashed: true,
                    };
                }
            }
            UnitEvent::Stopped | UnitEvent::Deactivated => {
                if !matches!(self.state.origin_state, OriginState::Down { .. }) {
                    self.state.origin_state = OriginState::Down {
                        since: ts,
                        crashed: false,
                    };
                }
            }
            UnitEvent::ScheduledRestart { .. } => {
                if self.counting(ts) {
                    self.auto_restarts += 1;
                    self.state.counts.auto_restarts += 1;
                }
            }
            UnitEvent::StopTimedOut => {
                self.state.stop_timed_out = true;
                let cause = "sigil-mcp did not stop within TimeoutStopSec and was killed (an open stream held the shutdown)".to_owned();
                self.signal(
                    IncidentKind::OriginDown,
                    Severity::Warning,
                    ts,
                    cause,
                    event,
                );
            }
            UnitEvent::Started => {
                let mut after_crash = false;
                if let OriginState::Down { crashed, .. } = self.state.origin_state {
                    if !crashed && self.state.stop_requested && self.counting(ts) {
                        self.restarts += 1;
                        self.state.counts.restarts += 1;
                    }
                    after_crash = crashed;
                    self.state.last_restart_at = Some(ts);
                }
                self.state.stop_requested = false;
                self.state.origin_state = OriginState::Starting {
                    since: ts,
                    after_crash,
                };
            }
            UnitEvent::Starting | UnitEvent::Other => {}
        }
    }

    /// The origin listens again: the open `origin down` 502 incident learns how long it was.
    pub(super) fn origin_back_up(&mut self, ts: Timestamp, event: &Event) {
        let Some(began) = self.state.down_began.take() else {
            return;
        };
        let secs = ts.saturating_since_us(began) as f64 / 1e6;
        let held = self.state.stop_held_by.take();
        let killed = std::mem::take(&mut self.state.stop_timed_out);
        let bad_gateway_open = self.incidents.iter().any(|i| {
            i.kind == IncidentKind::BadGateway
                && i.end.is_none()
                && i.host == self.host
                && i.cause.starts_with("origin down")
        });
        if let (Some(what), false) = (held.as_ref(), bad_gateway_open) {
            // Without cloudflared's lines (or with no request in that time) the held stop
            // is still an outage: every connection was refused while it lasted.
            let cause = format!(
                "planned restart held {secs:.1} s by {what}: uvicorn refused every new connection while it waited{}",
                if killed { "; systemd killed it after TimeoutStopSec" } else { "" }
            );
            self.signal(
                IncidentKind::OriginDown,
                Severity::Warning,
                ts,
                cause,
                event,
            );
            return;
        }
        if let Some(inc) = self.incidents.iter_mut().rev().find(|i| {
            i.kind == IncidentKind::BadGateway
                && i.end.is_none()
                && i.host == self.host
                && i.cause.starts_with("origin down")
        }) {
            if !inc.cause.contains("not accepting") {
                inc.cause = match held {
                    Some(what) => format!(
                        "origin down (restart blocked {secs:.1} s by {what}: uvicorn refused every new connection while it waited{})",
                        if killed { "; systemd killed it after TimeoutStopSec" } else { "" }
                    ),
                    None => format!(
                        "{}; sigil-mcp was not accepting connections for {secs:.1} s",
                        inc.cause
                    ),
                };
            }
        }
    }

    pub(super) fn bad_gateway_cause(&self, cause: OriginErrorCause) -> String {
        let service = self
            .state
            .origin_services
            .first()
            .map_or("the origin service", String::as_str);
        match (cause, self.state.origin_state) {
            (_, OriginState::Stopping { blocked_by_stream: true, .. }) => {
                "origin down (restart blocked by an open stream: uvicorn refuses new connections while it waits)".into()
            }
            (_, OriginState::Down { crashed: true, .. } | OriginState::Starting { after_crash: true, .. }) => {
                "origin down (crash)".into()
            }
            (_, OriginState::Starting { .. }) => "origin down (restart: started, not listening yet)".into(),
            (_, OriginState::Stopping { .. } | OriginState::Down { .. }) => {
                "origin down (restart)".into()
            }
            (OriginErrorCause::Refused, _) => {
                let port_note = match (self.state.origin_listen_port, service_port(service)) {
                    (Some(a), Some(b)) if a != b => format!(" (server listens on port {a}, tunnel dials {b})"),
                    _ => String::new(),
                };
                format!("origin not listening on {service}{port_note}")
            }
            (OriginErrorCause::Timeout, _) => format!("dial to {service} timed out (connectTimeout)"),
            (OriginErrorCause::Dns, _) => format!("DNS lookup of {service} failed"),
            (OriginErrorCause::Tls, _) => format!("TLS to {service} failed (http/https mismatch or certificate)"),
            (OriginErrorCause::Reset, _) => format!("{service} closed the connection (reset/EOF)"),
            (OriginErrorCause::Other, _) => format!("cloudflared could not reach {service}"),
        }
    }
}

/// The port of an origin service URL (`http://localhost:8000` → 8000).
fn service_port(service: &str) -> Option<u16> {
    let rest = service.split_once("://").map_or(service, |(_, r)| r);
    let hostport = rest.split('/').next().unwrap_or(rest);
    match hostport.rsplit_once(':') {
        Some((_, p)) => p.parse().ok(),
        None if service.starts_with("https") => Some(443),
        None if service.starts_with("http") => Some(80),
        None => None,
    }
}
