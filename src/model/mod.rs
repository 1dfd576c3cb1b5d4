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

use std::sync::Arc;

use crate::bytes::same;
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
    /// Whether the statistics keep the rolling 10 s timeline (rates and windowed
    /// percentiles for the live screen); the headless modes never show it.
    pub keep_timeline: bool,
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
    /// Origin 5xx this close together (µs) are one `origin_errors` incident, with a count
    /// and a rate, instead of one per burst.
    pub origin_errors_window_us: u64,
    /// 400s on the MCP endpoint within this long after a restart are stale sessions.
    pub stale_session_window_us: u64,
    /// The server writing nothing this long while the tunnel still sees traffic is a stall
    /// (a synchronous tool blocking its event loop).
    pub stall_threshold_us: u64,
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
    /// Entries before this are the look-back before a window (`--since`, `watch`'s
    /// start): they rebuild state (tunnel connections, the origin's state, requests in
    /// flight) but are not counted, open no incident and stay out of the log. `None`:
    /// every entry counts.
    pub count_from: Option<Timestamp>,
    /// Skip entries already seen (several inputs that overlap: `-D D -D D`, a directory
    /// and a file in it, an export and the journal it came from). Identity is journald's:
    /// the cursor's sequence number id and sequence number.
    pub dedupe: bool,
    /// How far before a window's start (`--since`) to read for state (µs); 0 reads none.
    pub lookback_us: u64,
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
            keep_timeline: true,
            pending_cap_requests: 10_000,
            pending_ttl_us: 15 * 60 * 1_000_000,
            seal_after_us: 3_000_000,
            edge_timeout_us: 100_000_000,
            incident_quiet_us: 60_000_000,
            origin_errors_window_us: 15 * 60 * 1_000_000,
            stale_session_window_us: 60_000_000,
            stall_threshold_us: 10_000_000,
            latency_window_us: 60_000_000,
            latency_p99_threshold_us: 5_000_000,
            latency_windows_to_open: 3,
            latency_windows_to_close: 2,
            latency_min_requests: 20,
            count_from: None,
            dedupe: false,
            // Covers every request a cancel or 502 inside the window can be about (the
            // edge gives up after ~100–120 s) at ≤ 10% of a 1 h window's reading cost.
            lookback_us: 5 * 60 * 1_000_000,
            origin_unit: Unit::new("sigil-mcp.service"),
            tunnel_unit: Unit::new("cloudflared.service"),
        }
    }
}

/// Counts of entries, per unit and of those no parser understood.
#[derive(Debug, Clone, Default)]
pub struct EntryCounts {
    pub total: u64,
    pub(crate) by_unit: Tally,
    pub(crate) unparsed: u64,
    /// Continuation lines grouped with the record before them (not records of their own).
    pub(crate) continuation: u64,
    pub(crate) by_host: Tally,
    /// Entries skipped because another input had already given them (`Settings::dedupe`).
    pub(crate) duplicates: u64,
}

/// Distinct keys beyond this are counted together under `(other)`.
const TALLY_MAX_KEYS: usize = 256;

/// Entries per key (unit, host): a count for every entry, so the per-entry path is a
/// pointer compare with the key the entry shares with its neighbours (units and hosts are
/// `Arc`s the decoders hand out), not a map lookup with string compares. Keys are kept
/// as those `Arc`s, so a remembered pointer always still means the same text. Read
/// sorted by key; at most 256 keys (`TALLY_MAX_KEYS`), then `(other)`.
#[derive(Debug, Clone, Default)]
pub(crate) struct Tally {
    counts: Vec<(Arc<str>, u64)>,
    /// Index of the key counted last: the next entry usually has the same.
    last: usize,
    /// Index of `(other)`, once keys went past the cap.
    other: Option<usize>,
}

impl Tally {
    /// Counts one entry under `key`.
    pub(crate) fn add(&mut self, key: &Arc<str>) {
        if let Some((k, n)) = self.counts.get_mut(self.last) {
            if Arc::ptr_eq(k, key) {
                *n += 1;
                return;
            }
        }
        let i = if let Some(i) = self.counts.iter().position(|(k, _)| Arc::ptr_eq(k, key)) {
            i
        } else if let Some(i) = self.counts.iter().position(|(k, _)| **k == **key) {
            // The same text in a new allocation (the interner moved on): keep the new
            // one so the next entries match by pointer.
            self.counts[i].0 = Arc::clone(key);
            i
        } else if self.counts.len() < TALLY_MAX_KEYS {
            self.counts.push((Arc::clone(key), 0));
            self.counts.len() - 1
        } else {
            *self.other.get_or_insert_with(|| {
                self.counts.push((Arc::from("(other)"), 0));
                self.counts.len() - 1
            })
        };
        self.counts[i].1 += 1;
        self.last = i;
    }

    /// `(key, count)` sorted by key.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&str, u64)> {
        let mut all: Vec<(&str, u64)> = self.counts.iter().map(|(k, n)| (&**k, *n)).collect();
        all.sort_unstable_by(|a, b| a.0.cmp(b.0));
        all.into_iter()
    }

    /// The keys, sorted.
    pub(crate) fn keys(&self) -> impl Iterator<Item = &str> {
        self.iter().map(|(k, _)| k)
    }

    /// The count of `key` (0 when never seen).
    pub(crate) fn get(&self, key: &str) -> u64 {
        self.counts
            .iter()
            .find(|(k, _)| &**k == key)
            .map_or(0, |(_, n)| *n)
    }

    pub(crate) fn len(&self) -> usize {
        self.counts.len()
    }
}

/// Everything known so far.
#[derive(Debug)]
pub struct Model {
    pub(crate) settings: Settings,
    pub entries: EntryCounts,
    pub log: log::Log,
    pub correlator: correlate::Correlator,
    pub stats: stats::Stats,
    pub detector: detect::Detector,
    /// First and last journal time seen.
    pub window: Option<(Timestamp, Timestamp)>,
    /// The key entries without any unit are counted under.
    no_unit: Arc<str>,
    /// Recent entries' identities, when deduplicating.
    seen: Dedup,
    /// Requests and failures per host (`_HOSTNAME`), in the order hosts were first seen.
    pub(crate) per_host: Vec<HostTraffic>,
}

/// What one host's requests came to (the report's per-host figures; the detector has
/// each host's tunnel and origin counts).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct HostTraffic {
    pub(crate) host: Option<Arc<str>>,
    pub(crate) requests: u64,
    pub(crate) bad_gateway: u64,
    pub(crate) edge_timeout: u64,
    pub(crate) client_abort: u64,
    pub(crate) origin_5xx: u64,
}

/// Hosts given figures of their own, at most; the rest are counted under the last.
const MAX_HOST_FIGURES: usize = 1024;

/// Merged inputs give an entry twice within moments of journal time: remembering the
/// identities of the last `DEDUP_WINDOW_US` is enough, and bounds the memory.
const DEDUP_WINDOW_US: u64 = 10_000_000;

/// The identities of recent entries (hashes of their cursor's `s=…;i=…`).
#[derive(Debug, Default)]
struct Dedup {
    set: std::collections::HashSet<u64, ahash::RandomState>,
    order: std::collections::VecDeque<(Timestamp, u64)>,
    hasher: ahash::RandomState,
}

impl Dedup {
    /// Whether an entry with this cursor at `ts` was seen already (and remembers it).
    fn is_repeat(&mut self, cursor: &str, ts: Timestamp) -> bool {
        // `s=<seqnum id>;i=<seqnum>;…`: journald's identity of an entry; the rest of a
        // cursor (boot, monotonic and realtime stamps, xor hash) follows from it.
        let end = cursor
            .match_indices(';')
            .nth(1)
            .map_or(cursor.len(), |(i, _)| i);
        let key = self.hasher.hash_one(&cursor.as_bytes()[..end]);
        while self
            .order
            .front()
            .is_some_and(|(t, _)| ts.saturating_since_us(*t) > DEDUP_WINDOW_US)
        {
            if let Some((_, k)) = self.order.pop_front() {
                self.set.remove(&k);
            }
        }
        if self.set.insert(key) {
            self.order.push_back((ts, key));
            false
        } else {
            true
        }
    }
}

impl Model {
    pub fn new(settings: Settings) -> Model {
        Model {
            log: log::Log::new(settings.log_capacity_events),
            correlator: correlate::Correlator::new(&settings),
            stats: stats::Stats {
                timeline: if settings.keep_timeline {
                    stats::Timeline::default()
                } else {
                    stats::Timeline::off()
                },
                ..stats::Stats::default()
            },
            detector: detect::Detector::new(&settings),
            entries: EntryCounts::default(),
            window: None,
            no_unit: Arc::from("(none)"),
            seen: Dedup::default(),
            per_host: Vec::new(),
            settings,
        }
    }

    /// Feeds one event to every part, in order: counts, correlation, detection, log.
    pub fn apply(&mut self, event: Event) {
        let ts = event.entry.realtime;
        if self.settings.dedupe {
            if let Some(c) = &event.entry.cursor {
                if self.seen.is_repeat(&c.0, ts) {
                    self.entries.duplicates += 1;
                    return;
                }
            }
        }
        // The look-back before a window moves state only (`Settings::count_from`).
        let counted = self.settings.count_from.is_none_or(|from| ts >= from);
        if counted {
            self.window = Some(match self.window {
                None => (ts, ts),
                Some((a, b)) => (a.min(ts), b.max(ts)),
            });
            self.count(&event);
        }
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
        if counted && self.log.keeps_events() {
            self.log.push(event);
        }
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
        for cancel in self.correlator.take_cancels() {
            if cancel.counted {
                self.detector.on_cancel(&cancel);
            }
        }
        self.correlator.seal_due(now);
        let mut sealed = self.correlator.take_sealed();
        for trace in sealed.drain(..) {
            if trace.before_window {
                continue;
            }
            self.count_host(&trace);
            self.stats.record(&trace);
            self.detector.on_trace(&trace);
            self.correlator.keep(trace);
        }
        self.correlator.recycle_sealed(sealed);
    }

    fn count_host(&mut self, t: &correlate::Trace) {
        let same = |h: &HostTraffic| match (&h.host, &t.host) {
            (None, None) => true,
            (Some(a), Some(b)) => Arc::ptr_eq(a, b) || **a == **b,
            _ => false,
        };
        let i = match self.per_host.iter().position(same) {
            Some(i) => i,
            None if self.per_host.len() < MAX_HOST_FIGURES => {
                self.per_host.push(HostTraffic {
                    host: t.host.clone(),
                    ..HostTraffic::default()
                });
                self.per_host.len() - 1
            }
            None => self.per_host.len() - 1,
        };
        let h = &mut self.per_host[i];
        h.requests += 1;
        match t.outcome {
            correlate::Outcome::BadGateway(_) => h.bad_gateway += 1,
            correlate::Outcome::EdgeTimeout => h.edge_timeout += 1,
            correlate::Outcome::ClientAbort => h.client_abort += 1,
            correlate::Outcome::Served(s) if (500..600).contains(&s) => h.origin_5xx += 1,
            _ => {}
        }
    }

    fn count(&mut self, event: &Event) {
        self.entries.total += 1;
        let unit = match (&event.entry.unit, &event.entry.origin.systemd_unit) {
            (Some(u), _) => u.shared(),
            (None, Some(u)) => u,
            (None, None) => &self.no_unit,
        };
        self.entries.by_unit.add(unit);
        if let Some(host) = &event.entry.origin.hostname {
            self.entries.by_host.add(host);
        }
        match event.kind {
            EventKind::Unparsed => self.entries.unparsed += 1,
            EventKind::Continuation | EventKind::ExceptionLine => self.entries.continuation += 1,
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
                    event.entry.origin.systemd_unit.as_deref()
                });
        match unit {
            Some(u) if same(u.as_bytes(), self.settings.origin_unit.as_str().as_bytes()) => {
                Role::Origin
            }
            Some(u) if same(u.as_bytes(), self.settings.tunnel_unit.as_str().as_bytes()) => {
                Role::Tunnel
            }
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
pub(crate) enum Role {
    Origin,
    Tunnel,
    Other,
}

#[cfg(test)]
pub(crate) mod tests_support {
    use super::*;
    use crate::parse::Parser;
    use crate::source::RawEntry;

    /// The focused scenarios of `tests/data/scenarios/` (written by `examples/scenario.rs`,
    /// whose truth never reads `src/`), for the model's in-process tests.
    pub(crate) const SCENARIOS: &[&str] = &[
        "normal",
        "restart_502",
        "crash_502",
        "edge_timeouts",
        "tunnel_flap",
        "tunnel_down",
        "stock_format",
        "json_format",
    ];

    /// One scenario's journal export, decoded, parsed and modelled in this process, with
    /// its truth. Traces are kept so tests can look at each request.
    pub(crate) fn scenario(name: &str) -> (Model, serde_json::Value) {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/scenarios");
        let export = std::fs::read(dir.join(format!("{name}.export"))).unwrap();
        let truth = std::fs::read(dir.join(format!("{name}.truth.json"))).unwrap();
        let filter = crate::source::UnitFilter {
            units: vec![
                Unit::new("sigil-mcp.service"),
                Unit::new("cloudflared.service"),
            ],
        };
        let mut decoder = crate::source::stream::Decoder::new(filter, 0);
        let mut entries = Vec::new();
        decoder.feed(&export, &mut entries);
        decoder.finish(&mut entries);
        let mut parser = Parser::new();
        let mut model = Model::new(Settings {
            trace_capacity: 100_000,
            ..Settings::default()
        });
        for e in entries {
            model.apply(parser.parse(e));
        }
        model.finish();
        (model, serde_json::from_slice(&truth).unwrap())
    }

    pub(super) const T0: u64 = 1_795_626_316_000_000;
    pub(super) const S: &str = "sigil-mcp.service";
    pub(super) const C: &str = "cloudflared.service";

    pub(super) fn entry(at_s: f64, unit: &str, pid: u32, message: &str) -> RawEntry {
        let offset_us = format!("{:.0}", at_s * 1e6).parse::<u64>().unwrap();
        RawEntry {
            realtime: Timestamp(T0 + offset_us),
            monotonic_us: None,
            origin: std::sync::Arc::new(crate::source::Origin {
                boot_id: None,
                systemd_unit: Some(unit.into()),
                hostname: Some("h".into()),
                fields: crate::source::KeptFields::default(),
            }),
            cursor: None,
            unit: Some(Unit::new(unit)),
            about_unit: None,
            pid: Some(pid),
            priority: Some(6),
            message: message.as_bytes().into(),
            input: 0,
        }
    }

    /// Feeds lines (seconds from T0, unit or `pid1:UNIT`, message) through the parser and
    /// a model with `settings`, then finishes it.
    pub(super) fn run_with(settings: Settings, lines: &[(f64, &str, String)]) -> Model {
        let mut parser = Parser::new();
        let mut model = Model::new(settings);
        for (at, unit, msg) in lines {
            let e = if let Some(about) = unit.strip_prefix("pid1:") {
                let mut e = entry(*at, about, 1, msg);
                std::sync::Arc::make_mut(&mut e.origin).systemd_unit = Some("init.scope".into());
                e.about_unit = Some(about.into());
                e
            } else {
                let pid = if unit.starts_with("cloudflared") {
                    20
                } else {
                    10
                };
                entry(*at, unit, pid, msg)
            };
            model.apply(parser.parse(e));
        }
        model.finish();
        model
    }

    pub(super) fn run_owned(lines: &[(f64, &str, String)]) -> Model {
        run_with(Settings::default(), lines)
    }
}

#[cfg(test)]
mod tests {
    use super::tests_support::*;
    use super::*;
    use crate::parse::Parser;

    /// Counts by text whatever the allocation (the interner re-makes values), sorted
    /// reads, and the cap: keys past it are counted together under `(other)`.
    #[test]
    fn tally_counts_by_text_sorted_and_capped() {
        let mut t = Tally::default();
        let b: Arc<str> = Arc::from("b.service");
        let a: Arc<str> = Arc::from("a.service");
        for key in [&b, &a, &b, &Arc::from("b.service"), &b] {
            t.add(key);
        }
        assert_eq!(
            t.iter().collect::<Vec<_>>(),
            [("a.service", 1), ("b.service", 4)]
        );
        for i in 0..(TALLY_MAX_KEYS + 10) {
            t.add(&Arc::from(format!("host-{i:04}")));
        }
        assert_eq!(t.len(), TALLY_MAX_KEYS + 1);
        assert_eq!(t.get("(other)"), 12);
        assert_eq!(t.get("b.service"), 4);
        let total: u64 = t.iter().map(|(_, n)| n).sum();
        assert_eq!(total, 5 + TALLY_MAX_KEYS as u64 + 10);
        assert!(t.keys().collect::<Vec<_>>().is_sorted());
    }

    fn run(lines: &[(f64, &str, &str)]) -> Model {
        let owned: Vec<(f64, &str, String)> = lines
            .iter()
            .map(|(t, u, m)| (*t, *u, (*m).to_owned()))
            .collect();
        run_owned(&owned)
    }

    /// Access lines carry no request id: each pairs with the oldest open request of its
    /// process that has none yet (same client first), also once earlier requests have
    /// been answered and sealed (the search skips the answered ones at the front).
    #[test]
    fn access_lines_pair_with_the_oldest_unanswered_request_as_answered_ones_seal() {
        let inc = |rid: &str, ip: &str| {
            format!("2026-11-25 17:05:00 [INFO] sigil_repos_mcp - Incoming MCP HTTP request request_id={rid} method=POST path=/ client_ip={ip} cf_ray=None headers={{}}")
        };
        let out = |rid: &str, status: u16| {
            format!("2026-11-25 17:05:00 [INFO] sigil_repos_mcp - Outgoing MCP HTTP response request_id={rid} status_code={status} duration_ms=3 path=/ method=POST")
        };
        let acc =
            |ip: &str, status: u16| format!(r#"INFO:     {ip}:0 - "POST / HTTP/1.1" {status} OK"#);
        let lines = [
            (0.0, inc("a", "1.1.1.1")),
            (0.1, inc("b", "2.2.2.2")),
            // Same client first: b's line comes before a's.
            (0.2, acc("2.2.2.2", 404)),
            (0.3, acc("1.1.1.1", 200)),
            (0.4, out("a", 200)),
            (0.5, out("b", 404)),
            // a and b are sealed after the grace period, while c and d are open.
            (10.0, inc("c", "1.1.1.1")),
            (10.1, inc("d", "1.1.1.1")),
            (10.2, acc("1.1.1.1", 201)),
            (10.3, out("c", 201)),
            (14.0, acc("1.1.1.1", 202)),
            (14.1, out("d", 202)),
        ];
        let lines: Vec<(f64, &str, &str)> =
            lines.iter().map(|(t, m)| (*t, S, m.as_str())).collect();
        let model = run(&lines);
        let access: Vec<(String, Option<u16>)> = model
            .correlator
            .recent
            .iter()
            .map(|t| {
                (
                    t.request_id
                        .as_ref()
                        .map(|r| r.0.to_string())
                        .unwrap_or_default(),
                    t.origin.as_ref().and_then(|o| o.access_status),
                )
            })
            .collect();
        let want: Vec<(String, Option<u16>)> = [("a", 200), ("b", 404), ("c", 201), ("d", 202)]
            .iter()
            .map(|(r, s)| ((*r).to_owned(), Some(*s)))
            .collect();
        assert_eq!(access, want);
    }

    const CANCEL: &str = r#"2026-11-25T17:05:44Z ERR  error="Incoming request ended abruptly: context canceled" connIndex=0 event=1 ingressRule=0 originService=http://localhost:8000"#;
    const CANCEL_FOLLOW: &str = r#"2026-11-25T17:05:44Z ERR Request failed error="Incoming request ended abruptly: context canceled" connIndex=0 dest=https://mcp.example.com/ event=0 ip=198.41.192.67 type=http"#;

    /// issue 10: a synchronous tool blocks the server; the edge gives up on queued
    /// requests (cloudflared at info level: no start times), the server answers them later.
    #[test]
    fn issue_10_a_stalled_server_is_named_with_its_tool_and_the_edge_timeouts() {
        let model = run(&[
            (0.0, S, "2026-11-25 17:05:00 [INFO] sigil_repos_mcp - Incoming MCP HTTP request request_id=a method=POST path=/ client_ip=1.2.3.4 cf_ray=None headers={}"),
            (0.001, S, "2026-11-25 17:05:00 [INFO] sigil_repos_mcp - search_repo tool called (query='x', repo='mono')"),
            (101.0, C, CANCEL),
            (101.0001, C, CANCEL_FOLLOW),
            (104.0, C, CANCEL),
            (104.0001, C, CANCEL_FOLLOW),
            (150.0, S, "2026-11-25 17:07:30 [INFO] sigil_repos_mcp - Outgoing MCP HTTP response request_id=a status_code=200 duration_ms=150000 path=/ method=POST"),
            (150.1, S, "2026-11-25 17:07:30 [INFO] sigil_repos_mcp - Incoming MCP HTTP request request_id=b method=POST path=/ client_ip=1.2.3.5 cf_ray=None headers={}"),
            (150.2, S, "2026-11-25 17:07:30 [INFO] sigil_repos_mcp - Outgoing MCP HTTP response request_id=b status_code=200 duration_ms=1 path=/ method=POST"),
        ]);
        let stalled: Vec<_> = model
            .detector
            .incidents
            .iter()
            .filter(|i| i.kind == detect::IncidentKind::OriginStalled)
            .collect();
        assert_eq!(stalled.len(), 1, "{:?}", model.detector.incidents);
        assert!(
            stalled[0]
                .cause
                .starts_with("server stalled 150 s in tool search_repo; 2 requests timed out"),
            "{}",
            stalled[0].cause
        );
        assert_eq!((model.stats.edge_timeout, model.stats.client_abort), (2, 0));
    }

    /// Incidents close at the first line more than the quiet period (60 s) after their
    /// last signal, each at its own time; an incident opened after every earlier one
    /// closed still closes. (The detector skips its walk over the incidents until the
    /// earliest of them could close.)
    #[test]
    fn incidents_close_at_the_first_line_after_their_quiet_period() {
        let refused = r#"2026-11-25T17:05:44Z ERR  error="Unable to reach the origin service. The service may be down or it may not be responding to traffic from cloudflared: dial tcp 127.0.0.1:8000: connect: connection refused" connIndex=0 event=1 ingressRule=0 originService=http://localhost:8000"#;
        let five = "2026-11-25 17:05:00 [INFO] sigil_repos_mcp - Outgoing MCP HTTP response request_id=x status_code=500 duration_ms=3 path=/ method=POST";
        let noise = "INFO:     Started server process [1]";
        let mut parser = Parser::new();
        // Here every kind closes after the 60 s quiet period (origin errors have a
        // longer window by default: see `sporadic_500s_are_one_incident_with_a_count`).
        let mut model = Model::new(Settings {
            origin_errors_window_us: 60_000_000,
            ..Settings::default()
        });
        let mut closes = Vec::new();
        let lines = [
            (0.0, C, refused),
            (10.0, C, refused),
            (30.0, S, five),
            (70.0, S, noise),    // 60 s after the last 502: not more than 60 s yet
            (70.5, S, noise),    // 60.5 s: the 502 incident closes here
            (89.0, S, noise),    // 59 s after the 500
            (91.0, S, noise),    // 61 s: the 500 incident closes here
            (200.0, C, refused), // opens again after every incident closed
            (259.0, S, noise),
            (261.0, S, noise), // and closes
        ];
        for (at, unit, msg) in lines {
            model.apply(parser.parse(entry(at, unit, if unit == C { 20 } else { 10 }, msg)));
            for change in model.detector.take_changes() {
                if change.kind == detect::ChangeKind::Close {
                    closes.push((change.incident, (change.at.0 - T0) / 1_000_000));
                }
            }
        }
        let kinds: Vec<_> = model.detector.incidents.iter().map(|i| i.kind).collect();
        assert_eq!(
            kinds,
            [
                detect::IncidentKind::BadGateway,
                detect::IncidentKind::OriginErrors,
                detect::IncidentKind::BadGateway
            ]
        );
        let ids: Vec<detect::IncidentId> = model.detector.incidents.iter().map(|i| i.id).collect();
        assert_eq!(closes, [(ids[0], 70), (ids[1], 91), (ids[2], 261)]);
    }

    /// An idle server (no traffic at all) is not stalled, however long it is quiet.
    #[test]
    fn a_quiet_idle_server_is_not_a_stall() {
        let model = run(&[
            (0.0, S, "INFO:     Uvicorn running on http://127.0.0.1:8000 (Press CTRL+C to quit)"),
            (600.0, S, "2026-11-25 17:15:00 [INFO] sigil_repos_mcp - Incoming MCP HTTP request request_id=a method=GET path=/healthz client_ip=1.2.3.4 cf_ray=None headers={}"),
            (600.001, S, "2026-11-25 17:15:00 [INFO] sigil_repos_mcp - Outgoing MCP HTTP response request_id=a status_code=200 duration_ms=1 path=/healthz method=GET"),
            (601.0, C, CANCEL),
            (601.0001, C, CANCEL_FOLLOW),
        ]);
        assert!(model
            .detector
            .incidents
            .iter()
            .all(|i| i.kind != detect::IncidentKind::OriginStalled));
        assert_eq!(
            (model.stats.edge_timeout, model.stats.client_abort),
            (0, 1),
            "a quick cancel is the client's"
        );
    }

    /// issue 10: a stop held by an open stream: every new connection is refused while
    /// uvicorn waits, systemd kills it after `TimeoutStopSec`; that is a blocked restart,
    /// not a crash, and the 502s say so with the stream that held it.
    #[test]
    fn issue_10_a_restart_blocked_by_an_open_stream_is_named_not_a_crash() {
        let refused = r#"2026-11-25T17:05:44Z ERR  error="Unable to reach the origin service. The service may be down or it may not be responding to traffic from cloudflared: dial tcp 127.0.0.1:8000: connect: connection refused" connIndex=0 event=1 ingressRule=0 originService=http://localhost:8000"#;
        let model = run(&[
            (0.0, S, "2026-11-25 17:05:00 [INFO] sigil_repos_mcp - Incoming MCP HTTP request request_id=s1 method=GET path=/mcp/sse client_ip=5.6.7.8 cf_ray=None headers={}"),
            (10.0, "pid1:sigil-mcp.service", "Stopping sigil-mcp.service - Sigil MCP Server..."),
            (10.05, S, "INFO:     Shutting down"),
            (10.06, S, "INFO:     Waiting for connections to close. (CTRL+C to force quit)"),
            (20.0, C, refused),
            (60.0, C, refused),
            (100.0, "pid1:sigil-mcp.service", "sigil-mcp.service: State 'stop-sigterm' timed out. Killing."),
            (100.01, "pid1:sigil-mcp.service", "sigil-mcp.service: Main process exited, code=killed, status=9/KILL"),
            (100.02, "pid1:sigil-mcp.service", "sigil-mcp.service: Failed with result 'timeout'."),
            (100.03, "pid1:sigil-mcp.service", "Stopped sigil-mcp.service - Sigil MCP Server."),
            (100.2, "pid1:sigil-mcp.service", "Started sigil-mcp.service - Sigil MCP Server."),
            (102.0, S, "INFO:     Uvicorn running on http://127.0.0.1:8000 (Press CTRL+C to quit)"),
        ]);
        assert_eq!(
            model.detector.crashes, 0,
            "systemd ending a stop it asked for is not a crash"
        );
        let bg = model
            .detector
            .incidents
            .iter()
            .find(|i| i.kind == detect::IncidentKind::BadGateway)
            .unwrap();
        assert_eq!(bg.count, 2);
        assert!(
            bg.cause.starts_with(
                "origin down (restart blocked 92.0 s by the stream GET /mcp/sse from 5.6.7.8"
            ),
            "{}",
            bg.cause
        );
        assert!(
            bg.cause.contains("systemd killed it after TimeoutStopSec"),
            "{}",
            bg.cause
        );
    }
}

/// Issue 16's rules, in process on hand-written lines shaped like the real programs'.
#[cfg(test)]
mod issue_16 {
    use super::tests_support::*;
    use super::*;

    fn dbg_request(conn: u8, ray: &str) -> String {
        format!(
            r#"2026-11-25T17:05:44Z DBG POST https://mcp.example.com/ HTTP/1.1 connIndex={conn} content-length=54 event=1 headers={{"Cf-Connecting-Ip":["203.0.113.7"],"Cf-Ray":["{ray}-IAD"]}} host=mcp.example.com ingressRule=0 originService=http://localhost:8000 path=/"#
        )
    }

    fn incoming(rid: &str, ray: &str) -> String {
        format!("2026-11-25 17:05:00 [INFO] sigil_repos_mcp - Incoming MCP HTTP request request_id={rid} method=POST path=/ client_ip=203.0.113.7 cf_ray={ray}-IAD headers={{}}")
    }

    fn outgoing(rid: &str, ms: u64) -> String {
        format!("2026-11-25 17:05:00 [INFO] sigil_repos_mcp - Outgoing MCP HTTP response request_id={rid} status_code=200 duration_ms={ms} path=/ method=POST")
    }

    fn cancel(conn: u8) -> String {
        format!(
            r#"2026-11-25T17:05:44Z ERR  error="Incoming request ended abruptly: context canceled" connIndex={conn} event=1 ingressRule=0 originService=http://localhost:8000"#
        )
    }

    fn cancel_follow(conn: u8) -> String {
        format!(
            r#"2026-11-25T17:05:44Z ERR Request failed error="Incoming request ended abruptly: context canceled" connIndex={conn} dest=https://mcp.example.com/ event=0 ip=198.41.192.67 type=http"#
        )
    }

    fn stalled(model: &Model) -> Vec<&detect::Incident> {
        model
            .detector
            .incidents
            .iter()
            .filter(|i| i.kind == detect::IncidentKind::OriginStalled)
            .collect()
    }

    /// Long tools finishing while no new traffic arrives are not a stall: the server is
    /// quiet because it has nothing else to do, and the cancels are of calls that began
    /// before the silence.
    #[test]
    fn long_tools_in_a_quiet_spell_are_edge_timeouts_not_a_stall() {
        let lines: Vec<(f64, &str, String)> = vec![
            (0.0, C, dbg_request(0, "aaaaaaaaaaaaaaa1")),
            (0.002, S, incoming("a", "aaaaaaaaaaaaaaa1")),
            (1.0, C, dbg_request(1, "aaaaaaaaaaaaaaa2")),
            (1.002, S, incoming("b", "aaaaaaaaaaaaaaa2")),
            (100.0, C, cancel(0)),
            (100.0002, C, cancel_follow(0)),
            (101.0, C, cancel(1)),
            (101.0002, C, cancel_follow(1)),
            (110.0, S, outgoing("a", 110_000)),
            (111.0, S, outgoing("b", 110_000)),
        ];
        let model = run_owned(&lines);
        assert!(stalled(&model).is_empty(), "{:?}", model.detector.incidents);
        assert_eq!((model.stats.edge_timeout, model.stats.client_abort), (2, 0));
        let edge = model
            .detector
            .incidents
            .iter()
            .find(|i| i.kind == detect::IncidentKind::EdgeTimeout)
            .expect("an edge-timeout incident");
        assert_eq!(edge.count, 2);
    }

    /// Requests that keep arriving while the server logs nothing are what a stall is.
    #[test]
    fn requests_arriving_unlogged_during_the_silence_are_a_stall() {
        let mut lines: Vec<(f64, &str, String)> = vec![
            (0.0, C, dbg_request(0, "aaaaaaaaaaaaaaa1")),
            (0.002, S, incoming("a", "aaaaaaaaaaaaaaa1")),
        ];
        for k in 1..6u8 {
            lines.push((
                f64::from(k) * 3.0,
                C,
                dbg_request(k % 4, &format!("bbbbbbbbbbbbbbb{k}")),
            ));
        }
        lines.push((100.0, C, cancel(0)));
        lines.push((100.0002, C, cancel_follow(0)));
        lines.push((30.0 + 100.0, S, outgoing("a", 130_000)));
        let model = run_owned(&lines);
        assert_eq!(stalled(&model).len(), 1, "{:?}", model.detector.incidents);
    }

    /// Cancels under concurrency: four requests in flight on one connection, the edge
    /// gives up on the 100 s one while younger ones are open, and a visitor aborts one
    /// of the younger ones; follow-up lines of two failures interleave.
    #[test]
    fn a_cancel_goes_to_the_request_whose_age_fits_the_edge_limit() {
        let mut lines: Vec<(f64, &str, String)> = Vec::new();
        // The slow one, then three younger ones on the same connection.
        for (k, at) in [0.0, 60.0, 80.0, 99.0].iter().enumerate() {
            let ray = format!("cccccccccccccc{k:02}");
            lines.push((*at, C, dbg_request(2, &ray)));
            lines.push((*at + 0.002, S, incoming(&format!("r{k}"), &ray)));
        }
        // Both cancels' first lines, then both follow-ups (interleaved).
        lines.push((100.0, C, cancel(2)));
        lines.push((100.0001, C, cancel(2)));
        lines.push((100.0002, C, cancel_follow(2)));
        lines.push((100.0003, C, cancel_follow(2)));
        for k in 0..4 {
            lines.push((140.0 + f64::from(k), S, outgoing(&format!("r{k}"), 1)));
        }
        let model = run_owned(&lines);
        assert_eq!(
            (model.stats.edge_timeout, model.stats.client_abort),
            (1, 1),
            "one edge timeout (the 100 s request), one abort"
        );
        let links = &model.correlator.links;
        assert_eq!(
            links.exact + links.heuristic + links.tunnel_only + links.origin_only,
            4,
            "four requests, whatever the failure lines"
        );
    }

    /// Sporadic 500s on the same route within the origin-errors window (15 min) are one
    /// incident with a count and a rate, not one per burst.
    #[test]
    fn sporadic_500s_are_one_incident_with_a_count() {
        let five = |rid: &str| {
            format!("2026-11-25 17:05:00 [INFO] sigil_repos_mcp - Outgoing MCP HTTP response request_id={rid} status_code=500 duration_ms=3 path=/ method=POST")
        };
        let noise = "INFO:     Started server process [1]".to_owned();
        let lines: Vec<(f64, &str, String)> = vec![
            (0.0, S, five("a")),
            (300.0, S, noise.clone()),
            (301.0, S, five("b")),
            (720.0, S, five("c")),
            (730.0, S, noise.clone()),
            (2000.0, S, noise),
        ];
        let model = run_owned(&lines);
        let errors: Vec<_> = model
            .detector
            .incidents
            .iter()
            .filter(|i| i.kind == detect::IncidentKind::OriginErrors)
            .collect();
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(errors[0].count, 3);
        assert!(
            errors[0].cause.contains("3 times in 12 min"),
            "{}",
            errors[0].cause
        );
    }

    /// A tunnel that loses one connection and then all is one incident that escalates.
    #[test]
    fn losing_one_connection_then_all_is_one_escalating_incident() {
        let reg = |c: u8| {
            format!("2026-11-25T17:05:20Z INF Registered tunnel connection connIndex={c} connection=0c8e3b52-91d4-4f0a-a6c7-3e5d2b9f1a04 event=0 ip=198.41.192.67 location=dfw08 protocol=quic")
        };
        let lost = |c: u8| {
            format!(
                r#"2026-11-25T17:05:40Z ERR Connection terminated error="timeout: no recent network activity" connIndex={c}"#
            )
        };
        let mut lines: Vec<(f64, &str, String)> = (0..2).map(|c| (0.0, C, reg(c))).collect();
        lines.push((10.0, C, lost(0)));
        lines.push((20.0, C, lost(1)));
        let model = run_owned(&lines);
        let kinds: Vec<_> = model.detector.incidents.iter().map(|i| i.kind).collect();
        assert_eq!(
            kinds,
            [detect::IncidentKind::TunnelDown],
            "{:?}",
            model.detector.incidents
        );
        assert_eq!(model.detector.incidents[0].count, 2);
        assert!(model.detector.incidents[0]
            .cause
            .starts_with("degraded, then down"));
    }

    /// A planned restart held by an open stream, with no cloudflared line at all, is an
    /// incident that names the stream and the time connections were refused.
    #[test]
    fn a_held_restart_is_visible_without_cloudflared() {
        let lines: Vec<(f64, &str, String)> = vec![
            (0.0, S, "2026-11-25 17:05:00 [INFO] sigil_repos_mcp - Incoming MCP HTTP request request_id=s1 method=GET path=/mcp/sse client_ip=5.6.7.8 cf_ray=None headers={}".to_owned()),
            (10.0, "pid1:sigil-mcp.service", "Stopping sigil-mcp.service - Sigil MCP Server...".to_owned()),
            (10.05, S, "INFO:     Shutting down".to_owned()),
            (10.06, S, "INFO:     Waiting for connections to close. (CTRL+C to force quit)".to_owned()),
            (40.0, S, "INFO:     Finished server process [10]".to_owned()),
            (40.1, "pid1:sigil-mcp.service", "Stopped sigil-mcp.service - Sigil MCP Server.".to_owned()),
            (40.2, "pid1:sigil-mcp.service", "Started sigil-mcp.service - Sigil MCP Server.".to_owned()),
            (42.0, S, "INFO:     Uvicorn running on http://127.0.0.1:8000 (Press CTRL+C to quit)".to_owned()),
        ];
        let model = run_owned(&lines);
        let down = model
            .detector
            .incidents
            .iter()
            .find(|i| i.kind == detect::IncidentKind::OriginDown)
            .expect("an origin_down incident");
        assert!(
            down.cause
                .starts_with("planned restart held 31.9 s by the stream GET /mcp/sse from 5.6.7.8"),
            "{}",
            down.cause
        );
    }

    /// Only streams are streams: `GET /` answered 405 in milliseconds is an ordinary
    /// request with a latency; `GET /mcp/sse` answered 200 and held open is a stream.
    #[test]
    fn a_get_answered_with_an_error_is_not_a_stream() {
        let inc = |rid: &str, path: &str| {
            format!("2026-11-25 17:05:00 [INFO] sigil_repos_mcp - Incoming MCP HTTP request request_id={rid} method=GET path={path} client_ip=1.2.3.4 cf_ray=None headers={{}}")
        };
        let out = |rid: &str, path: &str, status: u16, ms: u64| {
            format!("2026-11-25 17:05:00 [INFO] sigil_repos_mcp - Outgoing MCP HTTP response request_id={rid} status_code={status} duration_ms={ms} path={path} method=GET")
        };
        let lines: Vec<(f64, &str, String)> = vec![
            (0.0, S, inc("g", "/")),
            (0.003, S, out("g", "/", 405, 3)),
            (1.0, S, inc("s", "/mcp/sse")),
            (31.0, S, out("s", "/mcp/sse", 200, 30_000)),
        ];
        let model = run_with(
            Settings {
                trace_capacity: 10,
                ..Settings::default()
            },
            &lines,
        );
        let by_id = |rid: &str| {
            model
                .correlator
                .recent
                .iter()
                .find(|t| t.request_id.as_ref().is_some_and(|r| &*r.0 == rid))
                .unwrap()
        };
        assert!(!by_id("g").is_stream);
        assert_eq!(by_id("g").latency.map(|(us, _)| us), Some(3_000));
        assert!(by_id("s").is_stream);
        assert_eq!(
            by_id("s").latency,
            None,
            "a stream's lifetime is not latency"
        );
    }

    /// At the cap the oldest open request is settled and counted: the correlation
    /// classes and `unanswered` still add up to the requests counted.
    #[test]
    fn counters_add_up_after_evictions() {
        let settings = Settings {
            pending_cap_requests: 10,
            ..Settings::default()
        };
        let lines: Vec<(f64, &str, String)> = (0..50)
            .map(|k| {
                (
                    f64::from(k) * 0.1,
                    S,
                    incoming(&format!("n{k}"), &format!("ddddddddddddd{k:03}")),
                )
            })
            .collect();
        let model = run_with(settings, &lines);
        let links = &model.correlator.links;
        let classes = links.exact + links.heuristic + links.tunnel_only + links.origin_only;
        assert_eq!(classes, 50);
        assert_eq!(model.stats.unanswered, 50);
        assert_eq!(model.correlator.expired, 40, "evicted at the cap of 10");
    }
}
