//! Detection: unit and tunnel state, secrets found in the logs, and incidents.
//!
//! Owns: the origin unit's lifecycle (up, stopping, down; restarts, crashes), the tunnel's
//! registered connections (disconnects, time with none), the findings list (secrets the
//! logs contain, named never copied), and incidents: a kind, a severity, a time span, a
//! count, a one-line likely cause and evidence cursors. Related signals merge: a 502 burst
//! during a restart is one `bad_gateway` incident whose cause names the restart.
//!
//! State is per host (`HostState`: a journal directory gathered from several hosts keeps
//! each host's connections, origin state and stall watch apart; the current host's is
//! `Detector::state`); totals, findings and incidents (each naming its host) are shared.
//!
//! Does not own correlation (it reads sealed traces) nor any output format.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use crate::parse::{
    Event, EventKind, OriginErrorCause, ProxyFailure, ProxyLine, SecretKind, ServerEvent,
    TunnelConnEvent, TunnelProcessEvent, UnitEvent,
};
use crate::source::{Cursor, Timestamp};

use super::correlate::{Outcome, Trace};
use super::{Role, Settings};

/// Incidents kept (oldest closed ones go first).
const MAX_INCIDENTS: usize = 500;
/// Without a logged body (stock format) only 400s this soon (µs) after a restart are taken
/// as stale sessions.
const STALE_SESSION_GUESS_WINDOW_US: u64 = 10_000_000;
/// Evidence cursors kept per incident.
const MAX_EVIDENCE: usize = 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum IncidentKind {
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
    pub fn as_str(self) -> &'static str {
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
pub enum ChangeKind {
    Open,
    Update,
    Close,
}

impl ChangeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::Open => "open",
            ChangeKind::Update => "update",
            ChangeKind::Close => "close",
        }
    }
}

/// An incident opened, grew, or closed (journal time of the change).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IncidentChange {
    pub kind: ChangeKind,
    pub incident: u64,
    pub at: Timestamp,
}

/// The latency rule's state: the current window's histogram and the streaks.
#[derive(Debug, Default)]
struct LatencyRule {
    window_start: Option<Timestamp>,
    window: super::stats::Latency,
    over: u32,
    under: u32,
    open: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Info,
    Warning,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Incident {
    pub id: u64,
    pub kind: IncidentKind,
    pub severity: Severity,
    pub start: Timestamp,
    pub last: Timestamp,
    /// `None` while open.
    pub end: Option<Timestamp>,
    pub count: u64,
    pub cause: String,
    pub evidence: Vec<Cursor>,
    /// The host whose lines raised it (`_HOSTNAME`): a journal directory gathered from
    /// several hosts keeps each host's incidents apart.
    pub host: Option<Arc<str>>,
}

/// What one host's own journal counts (the detector's totals add these up).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostCounts {
    pub restarts: u64,
    pub crashes: u64,
    pub auto_restarts: u64,
    pub tunnel_restarts: u64,
    pub disconnects: u64,
    pub down_us: u64,
}

/// One host's state: everything a host's lines say about that host only (the current
/// host's is `Detector::state`, the others' are parked, see [`Detector::switch_host`]).
#[derive(Debug)]
pub struct HostState {
    pub counts: HostCounts,
    pub origin_state: OriginState,
    pub origin_listen_port: Option<u16>,
    pub origin_services: Vec<String>,
    pub cloudflared_version: Option<String>,
    pub registered: BTreeSet<u8>,
    pub tunnel_state_known: bool,
    pub down_since: Option<Timestamp>,
    pub stop_requested: bool,
    pub saw_start_or_stop: bool,
    pub last_restart_at: Option<Timestamp>,
    pub down_began: Option<Timestamp>,
    pub last_origin_line: Option<Timestamp>,
    pub last_tool: Option<(Box<str>, Timestamp)>,
    pub tunnel_lines_in_silence: u64,
    pub cancels_in_silence: u64,
    pub open_streams: Vec<(Box<str>, String)>,
    pub last_exception: Option<(String, Timestamp)>,
    pub stop_held_by: Option<String>,
    pub stop_timed_out: bool,
}

impl Default for HostState {
    fn default() -> HostState {
        HostState {
            counts: HostCounts::default(),
            origin_state: OriginState::Unknown,
            origin_listen_port: None,
            origin_services: Vec::new(),
            cloudflared_version: None,
            registered: BTreeSet::new(),
            tunnel_state_known: false,
            down_since: None,
            stop_requested: false,
            saw_start_or_stop: false,
            last_restart_at: None,
            down_began: None,
            last_origin_line: None,
            last_tool: None,
            tunnel_lines_in_silence: 0,
            cancels_in_silence: 0,
            open_streams: Vec::new(),
            last_exception: None,
            stop_held_by: None,
            stop_timed_out: false,
        }
    }
}

/// Hosts kept apart, at most (further ones share the last state: bounded memory).
const MAX_HOSTS: usize = 1024;

/// A secret the logs contain: what, how often, first seen, where, and what to do.
#[derive(Debug, Clone)]
pub struct Finding {
    pub kind: SecretKind,
    pub count: u64,
    pub first_seen: Timestamp,
    pub unit: String,
}

impl Finding {
    pub fn advice(&self) -> &'static str {
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

/// The origin unit's state as PID 1 and the server report it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OriginState {
    Unknown,
    Up,
    /// `Stopping` seen; uvicorn refuses new connections from its `Shutting down`.
    Stopping {
        since: Timestamp,
        blocked_by_stream: bool,
    },
    Down {
        since: Timestamp,
        crashed: bool,
    },
    /// `Started` seen, but uvicorn is not listening yet (connections are still refused).
    Starting {
        since: Timestamp,
        after_crash: bool,
    },
}

#[derive(Debug)]
pub struct Detector {
    settings: Settings,
    latency_rule: LatencyRule,
    /// No open incident can close quietly at or before this time (µs): the earliest
    /// `last + incident_quiet_us` of the open ones. Lets [`Detector::close_quiet`], which
    /// runs for every entry, skip its walk over the incidents.
    quiet_check_after: u64,
    /// Incident changes since the last [`Detector::take_changes`], for `watch`.
    changes: Vec<IncidentChange>,
    pub restarts: u64,
    pub crashes: u64,
    pub auto_restarts: u64,
    /// cloudflared restarts by systemd (`Scheduled restart job` for the tunnel's unit).
    pub tunnel_restarts: u64,
    /// `Invalid HTTP request received`: garbage rejected before routing (not requests).
    pub invalid_http: u64,
    pub disconnects: u64,
    pub down_us: u64,
    pub findings: BTreeMap<SecretKind, Finding>,
    pub incidents: Vec<Incident>,
    next_incident: u64,
    latest: Timestamp,
    /// The host whose state the fields above hold (`_HOSTNAME` of the line applied).
    host: Option<Arc<str>>,
    /// The current host's state (see [`Detector::switch_host`]).
    pub state: HostState,
    /// The other hosts' states.
    parked: Vec<(Option<Arc<str>>, HostState)>,
    /// Signals before this are the look-back before a window: they move state, never a
    /// count or an incident (see `Settings::count_from`).
    count_from: Timestamp,
}

impl Detector {
    pub fn new(settings: &Settings) -> Detector {
        Detector {
            settings: settings.clone(),
            latency_rule: LatencyRule::default(),
            quiet_check_after: 0,
            changes: Vec::new(),
            restarts: 0,
            crashes: 0,
            auto_restarts: 0,
            tunnel_restarts: 0,
            invalid_http: 0,
            disconnects: 0,
            down_us: 0,
            findings: BTreeMap::new(),
            incidents: Vec::new(),
            next_incident: 1,
            latest: Timestamp(0),
            host: None,
            state: HostState::default(),
            parked: Vec::new(),
            count_from: settings.count_from.unwrap_or(Timestamp(0)),
        }
    }

    /// Makes `host`'s state the current one. Every host has its own tunnel connections
    /// (`connIndex` 0–3), origin state, stall watch and counts; a journal directory
    /// gathered from several hosts must not mix them. Lines of one host usually follow
    /// each other: the check is a pointer compare.
    pub fn switch_host(&mut self, host: Option<&Arc<str>>) {
        let same = match (&self.host, host) {
            (None, None) => true,
            (Some(a), Some(b)) => Arc::ptr_eq(a, b) || **a == **b,
            _ => false,
        };
        if same {
            return;
        }
        let target = self
            .parked
            .iter()
            .position(|(h, _)| h.as_deref() == host.map(|h| &**h));
        if target.is_none() && self.parked.len() + 1 >= MAX_HOSTS {
            return;
        }
        let current = std::mem::take(&mut self.state);
        let previous = std::mem::replace(&mut self.host, host.cloned());
        self.parked.push((previous, current));
        if let Some(i) = target {
            self.state = self.parked.swap_remove(i).1;
        }
    }

    /// Each host's own counts and tunnel state, sorted by host (`None`: lines without
    /// `_HOSTNAME`): (host, counts, connections registered or `None` when unknown).
    pub fn hosts(&self) -> Vec<(Option<&str>, &HostCounts, Option<usize>)> {
        let known = |k: bool, n: usize| k.then_some(n);
        let mut all: Vec<(Option<&str>, &HostCounts, Option<usize>)> = self
            .parked
            .iter()
            .map(|(h, s)| {
                (
                    h.as_deref(),
                    &s.counts,
                    known(s.tunnel_state_known, s.registered.len()),
                )
            })
            .collect();
        all.push((
            self.host.as_deref(),
            &self.state.counts,
            known(self.state.tunnel_state_known, self.state.registered.len()),
        ));
        all.sort_by(|a, b| a.0.cmp(&b.0));
        all
    }

    /// Whether a signal at `ts` is inside the window (counted), not look-back.
    fn counting(&self, ts: Timestamp) -> bool {
        ts >= self.count_from
    }

    pub fn apply(&mut self, event: &Event, role: Role) {
        self.apply_kind(event, &event.kind, role);
    }

    pub fn apply_kind(&mut self, event: &Event, kind: &EventKind, role: Role) {
        let ts = event.entry.realtime;
        self.switch_host(event.entry.origin.hostname.as_ref());
        self.latest = self.latest.max(ts);
        self.close_quiet(ts);
        self.watch_for_stall(event, kind, role);
        match (role, kind) {
            (_, EventKind::Server(ServerEvent::SecretLogged { kind })) if self.counting(ts) => {
                let unit = event
                    .entry
                    .unit
                    .as_ref()
                    .map_or_else(|| "?".to_owned(), ToString::to_string);
                self.findings
                    .entry(*kind)
                    .and_modify(|f| f.count += 1)
                    .or_insert(Finding {
                        kind: *kind,
                        count: 1,
                        first_seen: ts,
                        unit,
                    });
            }
            (Role::Origin, EventKind::Unit(u)) => self.origin_unit(event, u),
            (Role::Origin, EventKind::Server(s)) => match s {
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
            },
            (
                Role::Tunnel,
                EventKind::ProxyError {
                    line: ProxyLine::Primary,
                    failure: ProxyFailure::OriginUnreachable(cause),
                    ..
                },
            ) => {
                // Judged at the moment of the failure: the origin's state then is the cause.
                let text = self.bad_gateway_cause(*cause);
                self.signal(
                    IncidentKind::BadGateway,
                    Severity::Critical,
                    ts,
                    text,
                    event,
                );
            }
            (
                Role::Tunnel,
                EventKind::TunnelConn {
                    conn_index,
                    event: ce,
                },
            ) => {
                self.tunnel_conn(event, *conn_index, ce);
            }
            (Role::Tunnel, EventKind::TunnelProcess(p)) => match p {
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
                    self.signal(
                        IncidentKind::TunnelDown,
                        Severity::Critical,
                        ts,
                        cause,
                        event,
                    );
                }
                _ => {}
            },
            // cloudflared's own unit: an exit systemd restarts over and over is a tunnel
            // that never comes up (no request can reach this host meanwhile).
            (Role::Tunnel, EventKind::Unit(UnitEvent::ScheduledRestart { counter })) => {
                if self.counting(ts) {
                    self.tunnel_restarts += 1;
                    self.state.counts.tunnel_restarts += 1;
                }
                let cause = format!(
                    "cloudflared keeps exiting and systemd restarts it (restart counter {}): no request reaches this host meanwhile",
                    counter.map_or_else(|| "?".to_owned(), |c| c.to_string())
                );
                self.signal(
                    IncidentKind::TunnelDown,
                    Severity::Critical,
                    ts,
                    cause,
                    event,
                );
            }
            _ => {}
        }
    }

    fn origin_unit(&mut self, event: &Event, u: &UnitEvent) {
        let ts = event.entry.realtime;
        match u {
            UnitEvent::Stopping => {
                self.state.down_began.get_or_insert(ts);
                self.state.stop_requested = true;
                self.state.saw_start_or_stop = true;
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
                self.state.saw_start_or_stop = true;
                self.state.origin_state = OriginState::Starting {
                    since: ts,
                    after_crash,
                };
            }
            UnitEvent::Starting | UnitEvent::Other => {}
        }
    }

    fn tunnel_conn(&mut self, event: &Event, conn_index: Option<u8>, ce: &TunnelConnEvent) {
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
                    self.signal(
                        IncidentKind::TunnelDown,
                        Severity::Critical,
                        ts,
                        cause,
                        event,
                    );
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
                self.signal(
                    IncidentKind::TunnelDown,
                    Severity::Critical,
                    ts,
                    cause,
                    event,
                );
            }
            _ => {}
        }
    }

    /// A cancel, as soon as it is read: an edge timeout is an incident signal.
    pub fn on_cancel(&mut self, cancel: &super::correlate::Cancel) {
        self.switch_host(cancel.host.as_ref());
        // A stall is claimed only on requests that kept arriving during the silence: a
        // cancel of a long call that began before it says nothing about the server now.
        let during_silence = match (cancel.started, self.state.last_origin_line) {
            (Some(began), Some(last)) => began >= last,
            _ => true,
        };
        if during_silence {
            self.state.tunnel_lines_in_silence += 1;
        }
        self.state.cancels_in_silence += 1;
        if cancel.outcome == Outcome::EdgeTimeout {
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
    }

    /// An edge timeout sealed with what the origin did afterwards: the incident's cause
    /// says whether it finished later and how long it took, and for a streamed response
    /// what to change.
    fn edge_timeout_hint(&mut self, t: &Trace) {
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

    /// A sealed trace: stale sessions and origin 5xx become incident signals.
    pub fn on_trace(&mut self, t: &Trace) {
        self.switch_host(t.host.as_ref());
        let at = t.end.unwrap_or(t.start);
        if let (Some((us, _)), false) = (t.latency, t.is_stream) {
            self.latency_sample(at, us);
        }
        if t.outcome == Outcome::EdgeTimeout {
            self.edge_timeout_hint(t);
        }
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

    /// A server that writes nothing while the tunnel keeps carrying requests to it is
    /// stalled (a synchronous tool blocks its event loop): when it speaks again after
    /// `stall_threshold_us`, the silence becomes an incident naming the tool.
    fn watch_for_stall(&mut self, event: &Event, kind: &EventKind, role: Role) {
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

    /// The origin listens again: the open `origin down` 502 incident learns how long it was.
    fn origin_back_up(&mut self, ts: Timestamp, event: &Event) {
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

    fn bad_gateway_cause(&self, cause: OriginErrorCause) -> String {
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

    fn signal(
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
    fn escalate_degraded(&mut self, at: Timestamp, cause: &str) {
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
    fn upsert(
        &mut self,
        kind: IncidentKind,
        severity: Severity,
        at: Timestamp,
        cause: String,
    ) -> Option<u64> {
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
        self.next_incident += 1;
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

    /// Incident changes since the last call (bounded: the caller drains it every batch).
    pub fn take_changes(&mut self) -> Vec<IncidentChange> {
        std::mem::take(&mut self.changes)
    }

    /// The incident with this id, if still kept.
    pub fn incident(&self, id: u64) -> Option<&Incident> {
        self.incidents.iter().find(|i| i.id == id)
    }

    /// Feeds a request's latency to the latency rule (windows of `latency_window_us`).
    fn latency_sample(&mut self, at: Timestamp, us: u64) {
        let span = self.settings.latency_window_us.max(1);
        let start = *self.latency_rule.window_start.get_or_insert(at);
        if at.saturating_since_us(start) >= span {
            self.judge_latency_window(start);
            // Windows with no request in them count as under the threshold.
            let elapsed = at.saturating_since_us(start) / span;
            if elapsed > 1 {
                let idle = u32::try_from(elapsed - 1).unwrap_or(u32::MAX);
                self.latency_rule.under = self.latency_rule.under.saturating_add(idle);
                self.latency_rule.over = 0;
                self.close_latency_if_calm(at);
            }
            self.latency_rule.window_start = Some(Timestamp(start.0 + elapsed * span));
        }
        self.latency_rule.window.record_us(us);
    }

    fn judge_latency_window(&mut self, start: Timestamp) {
        let w = std::mem::take(&mut self.latency_rule.window);
        if w.count() < self.settings.latency_min_requests {
            return;
        }
        let p99_us = w.hist.value_at_percentile(99.0);
        let end = Timestamp(start.0 + self.settings.latency_window_us);
        if p99_us > self.settings.latency_p99_threshold_us {
            self.latency_rule.over += 1;
            self.latency_rule.under = 0;
            if self.latency_rule.over >= self.settings.latency_windows_to_open {
                let cause = format!(
                    "p99 {:.0} ms over {} consecutive {} s windows (threshold {:.0} ms)",
                    p99_us as f64 / 1000.0,
                    self.latency_rule.over,
                    self.settings.latency_window_us / 1_000_000,
                    self.settings.latency_p99_threshold_us as f64 / 1000.0
                );
                let id = self.upsert(IncidentKind::Latency, Severity::Warning, end, cause);
                self.latency_rule.open = id;
            }
        } else {
            self.latency_rule.under += 1;
            self.latency_rule.over = 0;
            self.close_latency_if_calm(end);
        }
    }

    fn close_latency_if_calm(&mut self, at: Timestamp) {
        if self.latency_rule.under < self.settings.latency_windows_to_close {
            return;
        }
        if let Some(id) = self.latency_rule.open.take() {
            if let Some(inc) = self
                .incidents
                .iter_mut()
                .find(|i| i.id == id && i.end.is_none())
            {
                inc.end = Some(at);
                self.changes.push(IncidentChange {
                    kind: ChangeKind::Close,
                    incident: id,
                    at,
                });
            }
        }
    }

    fn close_quiet(&mut self, now: Timestamp) {
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

    /// Time passes with no entry (live mode): incidents may close.
    pub fn tick(&mut self, now: Timestamp) {
        self.latest = self.latest.max(now);
        self.close_quiet(now);
    }

    pub fn finish(&mut self, end: Timestamp) {
        let hosts: Vec<Option<Arc<str>>> = self.parked.iter().map(|(h, _)| h.clone()).collect();
        for host in hosts
            .iter()
            .map(Option::as_ref)
            .chain([self.host.clone().as_ref()])
        {
            self.switch_host(host);
            if let Some(since) = self.state.down_since {
                let us = end.saturating_since_us(since.max(self.count_from));
                self.down_us += us;
                self.state.counts.down_us += us;
                self.state.down_since = Some(end);
            }
        }
        self.close_quiet(end);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::tests_support::{run_owned, scenario, C, S, SCENARIOS};

    /// Every scenario, in process: the origin's restarts and crashes, the tunnel's
    /// disconnects and down time are the truth's, and the incidents are the ones its
    /// events imply: no more, no fewer kinds.
    #[test]
    fn every_scenario_raises_the_incidents_its_truth_implies() {
        for &name in SCENARIOS {
            let (model, truth) = scenario(name);
            let d = &model.detector;
            let o = &truth["origin"];
            let t = &truth["tunnel"];
            assert_eq!(d.restarts, o["restarts"].as_u64().unwrap(), "{name}");
            assert_eq!(d.crashes, o["crashes"].as_u64().unwrap(), "{name}");
            assert_eq!(d.disconnects, t["disconnects"].as_u64().unwrap(), "{name}");
            let down = d.down_us as f64 / 1e6 - t["down_seconds"].as_f64().unwrap();
            assert!(down.abs() <= 1.0, "{name}: down {down} s off");
            let mut want: Vec<&str> = Vec::new();
            if t["bad_gateway"].as_u64().unwrap() > 0 {
                want.push("bad_gateway");
            }
            if t["edge_timeout"].as_u64().unwrap() > 0 {
                want.push("edge_timeout");
            }
            if o["crashes"].as_u64().unwrap() > 0 {
                want.push("origin_down");
            }
            if truth["requests"]["stale_session_400"].as_u64().unwrap() > 0 {
                want.push("stale_sessions");
            }
            if t["disconnects"].as_u64().unwrap() > 0 {
                want.push(if t["down_seconds"].as_f64().unwrap() > 0.0 {
                    "tunnel_down"
                } else {
                    "tunnel_degraded"
                });
            }
            want.sort_unstable();
            let mut got: Vec<&str> = d.incidents.iter().map(|i| i.kind.as_str()).collect();
            got.sort_unstable();
            got.dedup();
            assert_eq!(got, want, "{name}: incident kinds");
            for i in &d.incidents {
                assert!(
                    !i.evidence.is_empty(),
                    "{name}: {} shows its evidence",
                    i.kind.as_str()
                );
            }
        }
    }

    /// The exception a 500 quotes is the traceback's last exception line as the parser
    /// classed it (an `ExceptionLine`): the model no longer has a rule of its own (which
    /// missed `httpx.ReadTimeout`: no ": ", no "Disconnect").
    #[test]
    fn a_500_quotes_the_exception_the_parser_named() {
        let lines: Vec<(f64, &str, String)> = vec![
            (0.0, S, "2026-11-25 17:05:00 [INFO] sigil_repos_mcp - Incoming MCP HTTP request request_id=a method=POST path=/ client_ip=1.2.3.4 cf_ray=None headers={}".into()),
            (0.01, S, "2026-11-25 17:05:00 [ERROR] sigil_repos_mcp - Error handling MCP request".into()),
            (0.011, S, "Traceback (most recent call last):".into()),
            (0.012, S, "  File \"/opt/sigil/server.py\", line 3, in handle".into()),
            (0.013, S, "KeyError: 'repo'".into()),
            (0.014, S, "params.arguments.repo".into()),
            (0.015, S, "During handling of the above exception, another exception occurred:".into()),
            (0.016, S, "httpx.ReadTimeout".into()),
            (0.02, S, "2026-11-25 17:05:00 [INFO] sigil_repos_mcp - Outgoing MCP HTTP response request_id=a status_code=500 duration_ms=20 path=/ method=POST".into()),
            (0.03, C, "2026-11-25T17:05:00Z INF Starting metrics server on 127.0.0.1:20241/metrics".into()),
        ];
        let model = run_owned(&lines);
        let errors: Vec<&Incident> = model
            .detector
            .incidents
            .iter()
            .filter(|i| i.kind == IncidentKind::OriginErrors)
            .collect();
        assert_eq!(errors.len(), 1, "{:?}", model.detector.incidents);
        // The chain's last exception (a bare dotted name with an exception's suffix); the
        // field path between is not one.
        assert!(
            errors[0].cause.ends_with(": httpx.ReadTimeout"),
            "{}",
            errors[0].cause
        );
    }
}
