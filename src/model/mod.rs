//! The model: everything sigil-top knows, built from events in one place ([`Model::apply`]).
//!
//! Owns: entry counts, the bounded log ([`log`]), request correlation ([`correlate`]),
//! statistics ([`stats`]), unit and tunnel state and incidents ([`detect`]). Views read it
//! through `&Model` and never change it; the TUI, `report` and snapshots therefore show the
//! same numbers. Every bound is a field of [`Settings`] with its unit, so memory is bounded
//! by construction however long sigil-top runs.

pub mod correlate;
pub mod detect;
pub mod log;
pub mod stats;

use std::collections::BTreeMap;

use crate::parse::{Event, EventKind, Service};
use crate::source::{Timestamp, Unit};

/// Limits and thresholds of the model. Built by `config` from flags and the config file.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Events kept for scrolling and filtering; 0 keeps none (headless modes).
    pub log_capacity_events: usize,
    /// Sealed traces kept for the request view and snapshots; 0 keeps none (headless
    /// modes: every trace is still counted in `stats` and judged by `detect`).
    pub trace_capacity: usize,
    /// Open (unanswered) requests tracked at most; the oldest is expired beyond this.
    pub pending_cap_requests: usize,
    /// An open request with no answer after this long is expired (a finding, not a leak).
    pub pending_ttl_us: u64,
    /// How long a completed request stays open to late joins before it is counted.
    pub seal_after_us: u64,
    /// The edge's proxy read timeout (524 after this long without response headers).
    pub edge_timeout_us: u64,
    /// An incident closes after this long without a new matching signal.
    pub incident_quiet_us: u64,
    /// 400s on the MCP endpoint within this long after a restart are stale sessions.
    pub stale_session_window_us: u64,
    /// The latency rule: p99 over each window of this length …
    pub latency_window_us: u64,
    /// … above this many µs …
    pub latency_p99_threshold_us: u64,
    /// … for this many consecutive windows opens a `latency` incident; it closes after
    /// `latency_windows_to_close` consecutive windows back under the threshold.
    pub latency_windows_to_open: u32,
    pub latency_windows_to_close: u32,
    /// Windows with fewer requests than this are not judged (too few for a p99).
    pub latency_min_requests: u64,
    /// The Sigil server's unit (the origin).
    pub origin_unit: Unit,
    /// cloudflared's unit (the tunnel).
    pub tunnel_unit: Unit,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            log_capacity_events: 100_000,
            trace_capacity: 50_000,
            pending_cap_requests: 10_000,
            pending_ttl_us: 15 * 60 * 1_000_000,
            seal_after_us: 3_000_000,
            edge_timeout_us: 100_000_000,
            incident_quiet_us: 60_000_000,
            stale_session_window_us: 60_000_000,
            latency_window_us: 60_000_000,
            latency_p99_threshold_us: 5_000_000,
            latency_windows_to_open: 3,
            latency_windows_to_close: 2,
            latency_min_requests: 20,
            origin_unit: Unit::new("sigil-mcp.service"),
            tunnel_unit: Unit::new("cloudflared.service"),
        }
    }
}

/// Counts of entries, per unit and of those no parser understood.
#[derive(Debug, Clone, Default)]
pub struct EntryCounts {
    pub total: u64,
    pub by_unit: BTreeMap<String, u64>,
    pub unparsed: u64,
    /// Continuation lines grouped with the record before them (not records of their own).
    pub continuation: u64,
    pub by_host: BTreeMap<String, u64>,
}

/// Everything known so far.
#[derive(Debug)]
pub struct Model {
    pub settings: Settings,
    pub entries: EntryCounts,
    pub log: log::Log,
    pub correlator: correlate::Correlator,
    pub stats: stats::Stats,
    pub detector: detect::Detector,
    /// First and last journal time seen.
    pub window: Option<(Timestamp, Timestamp)>,
}

impl Model {
    pub fn new(settings: Settings) -> Model {
        Model {
            log: log::Log::new(settings.log_capacity_events),
            correlator: correlate::Correlator::new(&settings),
            stats: stats::Stats::default(),
            detector: detect::Detector::new(&settings),
            entries: EntryCounts::default(),
            window: None,
            settings,
        }
    }

    /// Feeds one event to every part, in order: counts, correlation, detection, log.
    pub fn apply(&mut self, event: Event) {
        let ts = event.entry.realtime;
        self.window = Some(match self.window {
            None => (ts, ts),
            Some((a, b)) => (a.min(ts), b.max(ts)),
        });
        self.count(&event);
        let role = self.role_of(&event);
        self.correlator.apply(&event, role);
        for kind in &event.also {
            self.correlator.apply_kind(&event, kind, role);
        }
        self.detector.apply(&event, role);
        for kind in &event.also {
            self.detector.apply_kind(&event, kind, role);
        }
        self.drain_sealed(ts);
        self.log.push(event);
    }

    /// Advances time with no new entry: seals and expires requests whose time has come.
    pub fn tick(&mut self, now: Timestamp) {
        self.drain_sealed(now);
        self.detector.tick(now);
    }

    /// End of input: everything still open is settled (sealed, or expired as unanswered).
    pub fn finish(&mut self) {
        self.correlator.finish();
        let end = self.window.map_or(Timestamp(0), |(_, b)| b);
        self.drain_sealed(end);
        self.detector.finish(end);
    }

    fn drain_sealed(&mut self, now: Timestamp) {
        self.correlator.seal_due(now);
        for trace in self.correlator.take_sealed() {
            self.stats.record(&trace);
            self.detector.on_trace(&trace);
            self.correlator.keep(trace);
        }
    }

    fn count(&mut self, event: &Event) {
        self.entries.total += 1;
        let unit = event
            .entry
            .unit
            .as_ref()
            .map(Unit::as_str)
            .or(event.entry.systemd_unit.as_deref())
            .unwrap_or("(none)");
        // Look up before inserting: the key is allocated only the first time it is seen.
        if let Some(n) = self.entries.by_unit.get_mut(unit) {
            *n += 1;
        } else {
            self.entries.by_unit.insert(unit.to_owned(), 1);
        }
        if let Some(host) = &event.entry.hostname {
            if let Some(n) = self.entries.by_host.get_mut(&**host) {
                *n += 1;
            } else if self.entries.by_host.len() >= 256 {
                // A cap on distinct keys: hosts beyond it are counted together.
                *self.entries.by_host.entry("(other)".into()).or_default() += 1;
            } else {
                self.entries.by_host.insert(host.to_string(), 1);
            }
        }
        match event.kind {
            EventKind::Unparsed => self.entries.unparsed += 1,
            EventKind::Continuation => self.entries.continuation += 1,
            _ => {}
        }
    }

    /// Whether an event speaks for the origin or the tunnel (PID 1 lines included).
    fn role_of(&self, event: &Event) -> Role {
        let unit =
            event
                .entry
                .unit
                .as_ref()
                .map(Unit::as_str)
                .or(if event.service == Service::Systemd {
                    event.entry.about_unit.as_deref()
                } else {
                    event.entry.systemd_unit.as_deref()
                });
        match unit {
            Some(u) if u == self.settings.origin_unit.as_str() => Role::Origin,
            Some(u) if u == self.settings.tunnel_unit.as_str() => Role::Tunnel,
            _ => match event.service {
                Service::Sigil => Role::Origin,
                Service::Cloudflared => Role::Tunnel,
                Service::Systemd => match unit {
                    Some(u) if u.contains("cloudflared") => Role::Tunnel,
                    Some(u) if u.contains("sigil") => Role::Origin,
                    _ => Role::Other,
                },
                Service::Other => Role::Other,
            },
        }
    }
}

/// The part a line plays in the story: the origin server, the tunnel, or neither.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Origin,
    Tunnel,
    Other,
}
