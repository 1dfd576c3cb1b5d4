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
//! This file holds the per-host state, the detector's API and dispatch
//! ([`Detector::apply_kind`], [`Detector::on_cancel`], [`Detector::on_trace`]); the rules
//! live by side: `origin` (the origin unit's state machine), `tunnel` (the tunnel's
//! connections), `stall` (the stall watch and open streams), `latency` (the p99 windows),
//! `requests` (edge timeouts, stale sessions, origin 5xx from cancels and sealed traces);
//! `incidents` is the store they all feed (upsert, escalation, evidence, close by quiet,
//! findings).
//!
//! Does not own correlation (it reads sealed traces) nor any output format.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use crate::parse::{
    Event, EventKind, OriginErrorCause, ProxyFailure, ProxyLine, SecretKind, ServerEvent,
    TunnelConnEvent, TunnelProcessEvent, UnitEvent,
};
use crate::source::{Cursor, Timestamp};

use super::correlate::{Cancel, Outcome, Trace};
use super::{Role, Settings};

mod incidents;
mod latency;
mod origin;
mod requests;
mod stall;
mod tunnel;

pub(crate) use incidents::{ChangeKind, Finding, IncidentChange, IncidentKind, Severity};
pub use incidents::{Incident, IncidentId};
use latency::LatencyRule;

/// What one host's own journal counts (the detector's totals add these up).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct HostCounts {
    pub(crate) restarts: u64,
    pub(crate) crashes: u64,
    pub(crate) auto_restarts: u64,
    pub(crate) tunnel_restarts: u64,
    pub(crate) disconnects: u64,
    pub(crate) down_us: u64,
}

/// One host's state: everything a host's lines say about that host only (the current
/// host's is `Detector::state`, the others' are parked, see [`Detector::switch_host`]).
#[derive(Debug)]
pub(crate) struct HostState {
    counts: HostCounts,
    pub(crate) origin_state: OriginState,
    pub(crate) origin_listen_port: Option<u16>,
    origin_services: Vec<String>,
    pub(crate) cloudflared_version: Option<String>,
    pub(crate) registered: BTreeSet<u8>,
    pub(crate) tunnel_state_known: bool,
    down_since: Option<Timestamp>,
    stop_requested: bool,
    last_restart_at: Option<Timestamp>,
    down_began: Option<Timestamp>,
    last_origin_line: Option<Timestamp>,
    last_tool: Option<(Box<str>, Timestamp)>,
    tunnel_lines_in_silence: u64,
    cancels_in_silence: u64,
    open_streams: Vec<(Box<str>, String)>,
    last_exception: Option<(String, Timestamp)>,
    stop_held_by: Option<String>,
    stop_timed_out: bool,
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

/// The origin unit's state as PID 1 and the server report it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OriginState {
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
    pub(crate) restarts: u64,
    pub(crate) crashes: u64,
    pub(crate) auto_restarts: u64,
    /// cloudflared restarts by systemd (`Scheduled restart job` for the tunnel's unit).
    pub(crate) tunnel_restarts: u64,
    /// `Invalid HTTP request received`: garbage rejected before routing (not requests).
    pub(crate) invalid_http: u64,
    pub(crate) disconnects: u64,
    pub(crate) down_us: u64,
    pub(crate) findings: BTreeMap<SecretKind, Finding>,
    pub incidents: Vec<Incident>,
    next_incident: IncidentId,
    latest: Timestamp,
    /// The host whose state the fields above hold (`_HOSTNAME` of the line applied).
    host: Option<Arc<str>>,
    /// The current host's state (see [`Detector::switch_host`]).
    pub(crate) state: HostState,
    /// The other hosts' states.
    parked: Vec<(Option<Arc<str>>, HostState)>,
    /// Signals before this are the look-back before a window: they move state, never a
    /// count or an incident (see `Settings::count_from`).
    count_from: Timestamp,
}

impl Detector {
    pub(crate) fn new(settings: &Settings) -> Detector {
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
            next_incident: IncidentId::FIRST,
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
    pub(crate) fn switch_host(&mut self, host: Option<&Arc<str>>) {
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
    pub(crate) fn hosts(&self) -> Vec<(Option<&str>, &HostCounts, Option<usize>)> {
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

    pub(crate) fn apply(&mut self, event: &Event, role: Role) {
        self.apply_kind(event, &event.kind, role);
    }

    pub(crate) fn apply_kind(&mut self, event: &Event, kind: &EventKind, role: Role) {
        let ts = event.entry.realtime;
        self.switch_host(event.entry.origin.hostname.as_ref());
        self.latest = self.latest.max(ts);
        self.close_quiet(ts);
        self.watch_for_stall(event, kind, role);
        match (role, kind) {
            (_, EventKind::Server(ServerEvent::SecretLogged { kind })) if self.counting(ts) => {
                self.note_secret(event, *kind);
            }
            (Role::Origin, EventKind::Unit(u)) => self.origin_unit(event, u),
            (Role::Origin, EventKind::Server(s)) => self.origin_server(event, s),
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
            (Role::Tunnel, EventKind::TunnelProcess(p)) => self.tunnel_process(event, p),
            (Role::Tunnel, EventKind::Unit(UnitEvent::ScheduledRestart { counter })) => {
                self.tunnel_restarted(event, *counter);
            }
            _ => {}
        }
    }

    /// A cancel, as soon as it is read: an edge timeout is an incident signal.
    pub(crate) fn on_cancel(&mut self, cancel: &Cancel) {
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
            self.edge_timeout(cancel);
        }
    }

    /// A sealed trace: its latency feeds the latency rule; stale sessions and origin 5xx
    /// become incident signals.
    pub(crate) fn on_trace(&mut self, t: &Trace) {
        self.switch_host(t.host.as_ref());
        let at = t.end.unwrap_or(t.start);
        if let (Some((us, _)), false) = (t.latency, t.is_stream) {
            self.latency_sample(at, us);
        }
        if t.outcome == Outcome::EdgeTimeout {
            self.edge_timeout_hint(t);
        }
        self.trace_signal(t, at);
    }

    /// Incident changes since the last call (bounded: the caller drains it every batch).
    pub(crate) fn take_changes(&mut self) -> Vec<IncidentChange> {
        std::mem::take(&mut self.changes)
    }

    /// The incident with this id, if still kept.
    pub(crate) fn incident(&self, id: IncidentId) -> Option<&Incident> {
        self.incidents.iter().find(|i| i.id == id)
    }

    /// Time passes with no entry (live mode): incidents may close.
    pub(crate) fn tick(&mut self, now: Timestamp) {
        self.latest = self.latest.max(now);
        self.close_quiet(now);
    }

    pub(crate) fn finish(&mut self, end: Timestamp) {
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
