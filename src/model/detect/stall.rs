//! The stall watch, per host: a server that writes nothing while the tunnel keeps
//! carrying requests to it.
//!
//! Owns the origin's last line and last tool called, the requests and cancels seen during
//! its silence, the streams open at the server (what holds a stop), the latest exception
//! line (quoted by origin 5xx causes), and the `origin_stalled` signal.

use super::{
    Detector, Event, EventKind, IncidentKind, OriginState, Role, ServerEvent, Severity, Timestamp,
};

impl Detector {
    /// A server that writes nothing while the tunnel keeps carrying requests to it is
    /// stalled (a synchronous tool blocks its event loop): when it speaks again after
    /// `stall_threshold_us`, the silence becomes an incident naming the tool.
    pub(super) fn watch_for_stall(&mut self, event: &Event, kind: &EventKind, role: Role) {
        let ts = event.entry.realtime;
        match role {
            Role::Origin if !event.entry.is_from_pid1() => {
                self.track_streams(ts, kind);
                if *kind == EventKind::ExceptionLine {
                    // A traceback's last line names the exception: keep the latest one.
                    let text = String::from_utf8_lossy(&event.entry.message);
                    let line = text.trim_end();
                    if !line.is_empty() {
                        // Quoted in causes, which every output prints: made safe and
                        // redacted here, once (exception messages can carry secrets).
                        let safe = crate::text::display(line);
                        let short: String = safe.chars().take(160).collect();
                        self.state.last_exception = Some((short, ts));
                    }
                }
                if let EventKind::Server(ServerEvent::ToolCalled { tool }) = kind {
                    self.state.last_tool = Some((tool.clone(), ts));
                }
                if let Some(last) = self.state.last_origin_line {
                    let gap = ts.saturating_since_us(last);
                    let up = matches!(
                        self.state.origin_state,
                        OriginState::Up | OriginState::Unknown
                    );
                    if gap >= self.settings.stall_threshold_us
                        && self.state.tunnel_lines_in_silence > 0
                        && up
                    {
                        let tool = self
                            .state
                            .last_tool
                            .as_ref()
                            .filter(|(_, at)| last.saturating_since_us(*at) <= 5_000_000)
                            .map_or_else(
                                || "an unknown handler".to_owned(),
                                |(t, _)| format!("tool {t}"),
                            );
                        let cause = format!(
                            "server stalled {:.0} s in {tool}; {} requests timed out at the edge (visitors got 524) and answers logged afterwards reached nobody",
                            gap as f64 / 1e6,
                            self.state.cancels_in_silence
                        );
                        self.signal(
                            IncidentKind::OriginStalled,
                            Severity::Critical,
                            last,
                            cause,
                            event,
                        );
                    }
                }
                self.state.last_origin_line =
                    Some(self.state.last_origin_line.map_or(ts, |t| t.max(ts)));
                self.state.tunnel_lines_in_silence = 0;
                self.state.cancels_in_silence = 0;
            }
            // Cancels are counted when attributed (`on_cancel`), with their start.
            Role::Tunnel if matches!(kind, EventKind::TunnelRequest { .. }) => {
                self.state.tunnel_lines_in_silence += 1;
            }
            _ => {}
        }
    }

    /// Streams open at the server (by request id; the stock format has none to track).
    fn track_streams(&mut self, ts: Timestamp, kind: &EventKind) {
        const MAX_TRACKED_STREAMS: usize = 64;
        match kind {
            EventKind::SigilIncoming {
                request_id: Some(id),
                method,
                path,
                client_ip,
                ..
            } => {
                let path = path.as_deref().unwrap_or("");
                let base = path.split('?').next().unwrap_or(path);
                let is_stream = base.ends_with("/sse")
                    || (method.as_deref() == Some("GET") && (base == "/" || base == "/mcp"));
                if is_stream {
                    if self.state.open_streams.len() >= MAX_TRACKED_STREAMS {
                        self.state.open_streams.remove(0);
                    }
                    let what = format!(
                        "{} {base} from {} open since {}",
                        method.as_deref().unwrap_or("GET"),
                        client_ip.as_deref().unwrap_or("?"),
                        ts.to_rfc3339()
                    );
                    self.state.open_streams.push((id.0.clone(), what));
                }
            }
            EventKind::SigilOutgoing {
                request_id: Some(id),
                ..
            }
            | EventKind::SigilError {
                request_id: Some(id),
                ..
            } => self.state.open_streams.retain(|(s, _)| *s != id.0),
            EventKind::Server(ServerEvent::ProcessStarted) => self.state.open_streams.clear(),
            _ => {}
        }
    }
}
