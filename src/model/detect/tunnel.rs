//! The tunnel's state machine, per host: cloudflared's registered connections to the edge.
//!
//! Owns which connections (`connIndex`) are registered, disconnects and the time with none
//! (down time), cloudflared's version and origin services as it reports them, its exits
//! (fatal shutdowns, systemd restarting it), and the `tunnel_degraded` / `tunnel_down`
//! signals they raise.

use super::{Detector, Event, IncidentKind, Severity, TunnelConnEvent, TunnelProcessEvent};

impl Detector {
    pub(super) fn tunnel_conn(
        &mut self,
        event: &Event,
        conn_index: Option<u8>,
        ce: &TunnelConnEvent,
    ) {
        let ts = event.entry.realtime;
        let idx = conn_index.unwrap_or(0);
        match ce {
            TunnelConnEvent::Registered { .. } => {
                self.state.tunnel_state_known = true;
                self.state.registered.insert(idx);
                if let Some(since) = self.state.down_since.take() {
                    let us = ts.saturating_since_us(since.max(self.count_from));
                    self.down_us += us;
                    self.state.counts.down_us += us;
                }
            }
            TunnelConnEvent::Lost { .. } | TunnelConnEvent::Unregistered
                if self.state.registered.remove(&idx) =>
            {
                if self.counting(ts) {
                    self.disconnects += 1;
                    self.state.counts.disconnects += 1;
                }
                if self.state.registered.is_empty() {
                    self.state.down_since = Some(ts);
                    let cause = "all tunnel connections lost: visitors get Cloudflare error 1033/530 and no request reaches this host, so silence here is the symptom".to_owned();
                    self.tunnel_down(ts, cause, event);
                } else {
                    let cause = format!(
                        "tunnel connection {idx} lost; {} still registered",
                        self.state.registered.len()
                    );
                    self.signal(
                        IncidentKind::TunnelDegraded,
                        Severity::Warning,
                        ts,
                        cause,
                        event,
                    );
                }
            }
            TunnelConnEvent::ProtocolFallback { to } => {
                let cause = format!(
                    "QUIC to the edge keeps failing; cloudflared fell back to {}: egress UDP to port 7844 is probably blocked or dropped",
                    to.as_deref().unwrap_or("http2")
                );
                self.signal(
                    IncidentKind::TunnelDegraded,
                    Severity::Warning,
                    ts,
                    cause,
                    event,
                );
            }
            TunnelConnEvent::DialFailed { reason } if self.state.registered.is_empty() => {
                // No connection registered and dialing fails: the tunnel is down from
                // here (or from the window's start), also when it never connected.
                if self.state.down_since.is_none() {
                    self.state.down_since = Some(ts);
                }
                self.state.tunnel_state_known = true;
                let cause = format!(
                    "cloudflared cannot reach the Cloudflare edge: {}",
                    reason.as_deref().unwrap_or("dial failed")
                );
                self.tunnel_down(ts, cause, event);
            }
            _ => {}
        }
    }

    /// A critical tunnel-down signal: what every way of losing the edge raises.
    fn tunnel_down(&mut self, at: crate::source::Timestamp, cause: String, event: &Event) {
        self.signal(
            IncidentKind::TunnelDown,
            Severity::Critical,
            at,
            cause,
            event,
        );
    }

    /// cloudflared's process lines: its version, its configuration, a fatal exit.
    pub(super) fn tunnel_process(&mut self, event: &Event, p: &TunnelProcessEvent) {
        let ts = event.entry.realtime;
        match p {
            TunnelProcessEvent::Version(v) => {
                self.state.cloudflared_version = Some(v.to_string());
            }
            TunnelProcessEvent::Config { origin_services } => {
                self.state.origin_services =
                    origin_services.iter().map(ToString::to_string).collect();
            }
            TunnelProcessEvent::FatalShutdown { reason } => {
                let cause =
                    format!("cloudflared cannot reach the Cloudflare edge and exits: {reason}");
                self.tunnel_down(ts, cause, event);
            }
            _ => {}
        }
    }

    /// cloudflared's own unit: an exit systemd restarts over and over is a tunnel that
    /// never comes up (no request can reach this host meanwhile).
    pub(super) fn tunnel_restarted(&mut self, event: &Event, counter: Option<u32>) {
        let ts = event.entry.realtime;
        if self.counting(ts) {
            self.tunnel_restarts += 1;
            self.state.counts.tunnel_restarts += 1;
        }
        let cause = format!(
            "cloudflared keeps exiting and systemd restarts it (restart counter {}): no request reaches this host meanwhile",
            counter.map_or_else(|| "?".to_owned(), |c| c.to_string())
        );
        self.tunnel_down(ts, cause, event);
    }
}
