//! Correlation: joining the lines that describe one request into a [`Trace`].
//!
//! Owns the open requests and their indexes (by `request_id`, by CF-Ray key, per origin
//! process in arrival order, per tunnel connection), and a bounded ring of sealed traces.
//! Does not own statistics or incidents: it hands each sealed trace to the model, which
//! feeds `stats` and `detect`.
//!
//! This file holds the types, the correlator's state, dispatch ([`Correlator::apply`]) and
//! the indexes; the rules live by side: `origin` (the server's lines and the joins from
//! them), `tunnel` (cloudflared's request and response lines), `failure` (cancels, 502s,
//! follow-ups, moved aborts), `seal` (completion, grace periods, outcomes).
//!
//! How lines join (see `docs/correlation.md`):
//! - **origin**: `request_id` pairs Incoming/Outgoing/Error exactly. Without ids (stock
//!   formatter) an Outgoing pairs with the only open request of its process; when several
//!   are open the request is still counted (oldest first) but its latency is *not* derived,
//!   because pairing by adjacency across overlapping requests would be a guess. uvicorn's
//!   access line gives the status and, in the stock format, method and path.
//! - **tunnel ↔ origin**: the CF-Ray the server logs (`cf_ray`) equals the `Cf-Ray` in
//!   cloudflared's DBG request headers (or the `cfRay` field of 2023.4.1–2024.2.0):
//!   [`Link::Exact`]. Otherwise method + path + client IP within a short time window:
//!   [`Link::Heuristic`].
//! - **failures**: one failed request makes two or three cloudflared lines; only the
//!   primary (`ERR  error=…`) line makes a request, the follow-ups add `dest` and evidence.
//!
//! A completed trace stays open for [`Settings::seal_after_us`] so a late line from the
//! other stream can still join; then it is sealed and counted exactly once. An open request
//! with no answer after [`Settings::pending_ttl_us`] is sealed as [`Outcome::Unanswered`].

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::sync::Arc;

use ahash::RandomState;

use crate::parse::{
    Event, EventKind, OriginErrorCause, ProxyFailure, ProxyLine, RayId, RequestId, ServerEvent,
};
use crate::source::{Cursor, Timestamp};

use super::{Role, Settings};

mod failure;
mod origin;
mod seal;
mod tunnel;

/// A request's number: the correlator gives one to each request as it first sees it, from
/// 1 up, never reused in a run. Open requests are found by it, and it orders them by age.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct TraceId(u64);

impl TraceId {
    /// The first request's number.
    pub(crate) const FIRST: TraceId = TraceId(1);

    /// The number after this one.
    fn next(self) -> TraceId {
        TraceId(self.0 + 1)
    }
}

/// How the two services' views of a request were joined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Link {
    /// Same CF-Ray on both sides.
    Exact,
    /// Joined on time, method, path and client: a best guess.
    Heuristic,
    /// Only cloudflared saw it (e.g. a 502: the origin was unreachable).
    TunnelOnly,
    /// Only the server saw it (local traffic, or cloudflared at info level).
    OriginOnly,
}

impl Link {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Link::Exact => "exact",
            Link::Heuristic => "heuristic",
            Link::TunnelOnly => "tunnel_only",
            Link::OriginOnly => "origin_only",
        }
    }
}

/// Where a request's latency comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LatencySource {
    /// The server's own `duration_ms`.
    Exact,
    /// The journal's µs stamps of its unambiguously paired Incoming and Outgoing.
    Derived,
    /// Only cloudflared saw it (no origin line): the time from its request line to its
    /// response line, the latency the tunnel saw (the origin's plus the tunnel's own).
    Tunnel,
}

impl LatencySource {
    /// The name the report and the snapshot use.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            LatencySource::Exact => "exact",
            LatencySource::Derived => "derived",
            LatencySource::Tunnel => "tunnel",
        }
    }
}

/// How a request ended, as the visitor would have seen it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// The origin answered with this status.
    Served(u16),
    /// cloudflared could not reach the origin: 502.
    BadGateway(OriginErrorCause),
    /// The edge gave up waiting for response headers (524).
    EdgeTimeout,
    /// The visitor went away before the edge limit.
    ClientAbort,
    /// A stream (SSE, streamed response) was closed mid-body by the other end.
    StreamClosed,
    /// Another proxy failure.
    ProxyFailed,
    /// No answer was ever seen.
    Unanswered,
}

/// The server's view of a request.
#[allow(
    clippy::struct_excessive_bools,
    reason = "four independent facts the server's lines state about one request, each set by its own line; none excludes another, so they are no state enum"
)]
#[derive(Debug, Clone, Default)]
pub(crate) struct OriginSide {
    pub(crate) incoming: Option<Timestamp>,
    pub(crate) outgoing: Option<Timestamp>,
    pub(crate) status: Option<u16>,
    pub(crate) duration_ms: Option<u64>,
    /// Status from uvicorn's access line (the only status in the stock format).
    pub(crate) access_status: Option<u16>,
    /// When that access line was written.
    pub(crate) access_at: Option<Timestamp>,
    pub(crate) pid: Option<u32>,
    /// `Error handling MCP request` was logged.
    pub(crate) error: bool,
    /// JSON-RPC `isError: true` inside an HTTP 200.
    pub(crate) tool_error: bool,
    /// Answered `No valid session ID provided` (a session from before a restart).
    pub(crate) stale_session: bool,
    /// Its Outgoing was paired among several open requests (no latency derived).
    pub(crate) ambiguous: bool,
}

/// cloudflared's view of a request.
#[derive(Debug, Clone, Default)]
pub(crate) struct TunnelSide {
    pub(crate) request: Option<Timestamp>,
    pub(crate) response: Option<Timestamp>,
    pub(crate) status: Option<u16>,
    pub(crate) conn_index: Option<u8>,
    pub(crate) failure: Option<ProxyFailure>,
    pub(crate) failure_at: Option<Timestamp>,
    pub(crate) error: Option<Box<str>>,
    /// A follow-up failure line (`Request failed` / `failed to serve…`) was seen.
    pub(crate) followed_up: bool,
    /// What a cancel (`Incoming request ended abruptly`) meant, decided when it was
    /// attributed to this request: the edge giving up (524) or the visitor leaving.
    pub(crate) cancel: Option<CancelKind>,
}

/// Who ended a cancelled request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CancelKind {
    /// The request had been in flight about the edge limit: the edge gave up (524).
    EdgeTimeout,
    /// Earlier than that: the visitor went away.
    ClientAbort,
}

/// One request, as both services saw it.
#[derive(Debug, Clone)]
pub struct Trace {
    pub(crate) id: TraceId,
    pub(crate) start: Timestamp,
    pub(crate) end: Option<Timestamp>,
    pub(crate) method: Option<Box<str>>,
    pub(crate) path: Option<Box<str>>,
    pub(crate) tool: Option<Box<str>>,
    pub(crate) request_id: Option<RequestId>,
    pub(crate) ray: Option<RayId>,
    pub(crate) client_ip: Option<Box<str>>,
    /// `_HOSTNAME` of the lines, shared with their entries.
    pub(crate) host: Option<std::sync::Arc<str>>,
    /// The correlator's number for `host`: every index (connections, processes, failure
    /// lines) is per host, so two hosts' `connIndex=0` never meet.
    host_key: HostKey,
    /// Its key in the correlator's index of tunnel requests not yet joined (by host and
    /// path), while it is there.
    path_key: Option<u64>,
    /// Its key in the index of origin requests not yet joined, while it is there.
    origin_path_key: Option<u64>,
    pub(crate) origin: Option<OriginSide>,
    pub(crate) tunnel: Option<TunnelSide>,
    pub(crate) link: Link,
    pub(crate) outcome: Outcome,
    /// Origin response time in µs, and where it comes from; `None` for streams, failures
    /// and ambiguous stock pairs.
    pub(crate) latency: Option<(u64, LatencySource)>,
    /// A long-lived response (SSE, streamed MCP): its duration is a lifetime, not latency.
    pub(crate) is_stream: bool,
    /// Answered by the origin, but the client never received it: no access line while
    /// access logging is on (the client gave up, or the edge cancelled it).
    pub(crate) abandoned: bool,
    /// Cursors of the lines that make this trace, for evidence and snapshots.
    pub(crate) cursors: Vec<Cursor>,
    /// It ended before the window (`--since`): read in the look-back for state only, so it
    /// is not counted.
    pub(crate) before_window: bool,
}

impl Trace {
    pub(crate) fn new(id: TraceId, start: Timestamp) -> Trace {
        Trace {
            id,
            start,
            end: None,
            method: None,
            path: None,
            tool: None,
            request_id: None,
            ray: None,
            client_ip: None,
            host: None,
            host_key: 0,
            path_key: None,
            origin_path_key: None,
            origin: None,
            tunnel: None,
            link: Link::OriginOnly,
            outcome: Outcome::Unanswered,
            latency: None,
            is_stream: false,
            abandoned: false,
            cursors: Vec::new(),
            before_window: false,
        }
    }

    /// The origin's final status: its own `status_code`, else the access line's.
    pub(crate) fn origin_status(&self) -> Option<u16> {
        let o = self.origin.as_ref()?;
        o.status
            .or(o.access_status)
            .or(if o.error { Some(500) } else { None })
    }

    /// The status the request was answered with, and whether it was answered at all: the
    /// origin's when it logged an answer (0 when its format names none), else, when no
    /// origin line joined it, the status cloudflared relayed (its debug response line). A
    /// request cloudflared saw answered is never "unanswered".
    pub(crate) fn answered_status(&self) -> Option<u16> {
        if self.origin_answered() {
            return Some(self.origin_status().unwrap_or(0));
        }
        self.tunnel_answer()
    }

    /// cloudflared's relayed status for a request no origin line joined.
    pub(crate) fn tunnel_answer(&self) -> Option<u16> {
        if self.origin.is_some() {
            return None;
        }
        let s = self.tunnel.as_ref()?;
        if s.failure.is_some() {
            return None;
        }
        s.status
    }

    /// The time the tunnel took (its request line to its response line), in µs.
    pub(crate) fn tunnel_us(&self) -> Option<u64> {
        let s = self.tunnel.as_ref()?;
        Some(s.response?.saturating_since_us(s.request?))
    }

    /// True when the origin answered (Outgoing or an error record was logged).
    pub(crate) fn origin_answered(&self) -> bool {
        self.origin
            .as_ref()
            .is_some_and(|o| o.outgoing.is_some() || o.error)
    }

    /// Method and path for display: `POST /`.
    pub(crate) fn route(&self) -> String {
        format!(
            "{} {}",
            self.method.as_deref().unwrap_or("?"),
            self.path.as_deref().unwrap_or("?")
        )
    }
}

/// Paths whose responses are long-lived streams (the legacy SSE endpoint).
fn is_stream_route(method: Option<&str>, path: Option<&str>) -> bool {
    let path = path.unwrap_or("");
    let path = path.split('?').next().unwrap_or(path);
    path.ends_with("/sse")
        || path.contains("/sse/")
        || (method == Some("GET") && (path == "/" || path == "/mcp"))
}

/// A cancelled request as soon as its cancel line is read (for live detection).
#[derive(Debug, Clone)]
pub(crate) struct Cancel {
    pub(crate) at: Timestamp,
    /// `EdgeTimeout` or `ClientAbort`.
    pub(crate) outcome: Outcome,
    /// The route or MCP tool, for the likely cause.
    pub(crate) label: String,
    /// Inside the window (not a look-back line read for state).
    pub(crate) counted: bool,
    /// When the request began, when known (its request line or Incoming).
    pub(crate) started: Option<Timestamp>,
    /// The request's first line and the cancel line: an incident's evidence.
    pub(crate) cursors: Vec<Cursor>,
    /// `_HOSTNAME` of the cancel line.
    pub(crate) host: Option<Arc<str>>,
}

/// Counters that must be exact over the whole run, whatever the ring keeps.
#[derive(Debug, Clone, Default)]
pub struct LinkCounts {
    pub exact: u64,
    pub heuristic: u64,
    pub tunnel_only: u64,
    pub origin_only: u64,
}

/// One process's open origin requests, in arrival order (each id at most once: a trace
/// gets its origin side once).
#[derive(Debug, Default)]
struct OriginQueue {
    ids: VecDeque<TraceId>,
    /// How many ids at the front already have their access line. An access line matches
    /// only requests without one, so its search starts here: under a flood the front holds
    /// thousands of answered requests waiting out the seal grace period, and scanning
    /// them for every access line made ingest quadratic.
    answered: usize,
}

impl OriginQueue {
    /// Removes `id`; sealing goes oldest first, so it is almost always at the front.
    fn remove(&mut self, id: TraceId) {
        if let Some(pos) = self.ids.iter().position(|x| *x == id) {
            self.ids.remove(pos);
            if pos < self.answered {
                self.answered -= 1;
            }
        }
    }
}

/// The correlator's number for a host (0: entries without `_HOSTNAME`).
type HostKey = u16;
/// Hosts given a number of their own; any further ones share the last (bounded memory).
const MAX_HOSTS: usize = 1024;

/// A primary failure line (R3) waiting for its follow-ups (R4/R5, then R10/R11).
#[derive(Debug, Clone, Copy)]
struct Primary {
    id: TraceId,
    at: Timestamp,
    followed: bool,
    torn_down: bool,
}

/// What the server's `Incoming` says of a request (each part where its format logs it).
struct OriginRequest<'a> {
    request_id: Option<&'a RequestId>,
    method: Option<&'a str>,
    path: Option<&'a str>,
    client_ip: Option<&'a str>,
    ray: Option<&'a RayId>,
}

/// What the server's answer says: its `Outgoing`, or an `Error handling MCP request`
/// record (`is_error`, no status: a 500).
struct OriginAnswer<'a> {
    request_id: Option<&'a RequestId>,
    status: Option<u16>,
    duration_ms: Option<u64>,
    method: Option<&'a str>,
    path: Option<&'a str>,
    /// JSON-RPC `isError: true` inside an HTTP 200.
    tool_error: bool,
    is_error: bool,
}

/// One of cloudflared's proxy failure lines: the primary or a follow-up.
struct ProxyError<'a> {
    line: ProxyLine,
    failure: &'a ProxyFailure,
    conn_index: Option<u8>,
    /// The eyeball URL (`dest=`) a follow-up names.
    dest: Option<&'a str>,
    ray: Option<&'a RayId>,
    error: &'a str,
}

/// A ray-less response line (`200 OK connIndex=1`) not yet given to a request: it waits
/// for the origin's answer to say whose it is.
#[derive(Debug, Clone)]
struct Unclaimed {
    at: Timestamp,
    host: HostKey,
    conn: u8,
    status: u16,
    cursor: Option<Cursor>,
}

/// uvicorn's access line, waiting for the Outgoing it comes with.
#[derive(Debug, Clone)]
struct Access {
    client: Box<str>,
    method: Box<str>,
    /// Without its query (the server logs `?<redacted>` or nothing).
    path: Box<str>,
    status: u16,
    at: Timestamp,
    cursor: Option<Cursor>,
}

impl Access {
    /// Whether the request's method and path (where known) agree with the line.
    fn fits(&self, t: &Trace) -> bool {
        t.method.as_deref().is_none_or(|m| m == &*self.method)
            && t.path
                .as_deref()
                .is_none_or(|p| p.split('?').next() == Some(&*self.path))
    }
}

/// The maps are keyed by request ids, ray ids, pids and connection indexes, which come
/// from log text strangers can influence (headers reach the logs): they hash with
/// `ahash` under a per-process random seed, which is fast and still resists crafted
/// collisions, unlike an unseeded hash such as `FxHash`. Every map is bounded anyway
/// (`cap` open requests, each with a TTL). Connections, processes and failure lines are
/// keyed per host: several hosts' journals (`systemd-journal-remote`) each have their own
/// `connIndex` 0–3 and their own pids.
#[derive(Debug)]
pub struct Correlator {
    next_id: TraceId,
    open: HashMap<TraceId, Trace, RandomState>,
    /// The open ids in creation order (ids only grow): the oldest is evicted at the cap
    /// without a walk over every open request.
    open_ids: BTreeSet<TraceId>,
    /// Open requests by host and request id, and by host and CF-Ray: keyed by the
    /// per-process seeded 64-bit hash of the pair (no allocation per lookup; two open
    /// requests meet only by a collision of the seeded hash, which text cannot aim at).
    by_request_id: HashMap<u64, TraceId, RandomState>,
    by_ray: HashMap<u64, TraceId, RandomState>,
    /// Open origin requests per host and process, in arrival order.
    origin_fifo: HashMap<(HostKey, u32), OriginQueue, RandomState>,
    /// Tunnel requests no origin line has joined yet, by host and path, in time order:
    /// what a heuristic join looks through (only the same route, only near in time).
    tunnel_by_path: HashMap<u64, VecDeque<(Timestamp, TraceId)>, RandomState>,
    /// Origin requests no tunnel line has joined, by host and path, in Incoming order
    /// (the tunnel's line may be read after the server's).
    origin_by_path: HashMap<u64, VecDeque<(Timestamp, TraceId)>, RandomState>,
    path_hasher: RandomState,
    /// Open tunnel requests per host and connection, in arrival order.
    tunnel_fifo: HashMap<(HostKey, u8), VecDeque<TraceId>, RandomState>,
    /// Recent primary failure lines per host and connection (`None`: lines that name no
    /// connection, cloudflared 2023.4.1–2024.2.0), oldest first, for their follow-ups.
    primaries: HashMap<(HostKey, Option<u8>), VecDeque<Primary>, RandomState>,
    /// Response lines waiting for the origin's answer, oldest first.
    unclaimed: VecDeque<Unclaimed>,
    /// Access lines of each host and process waiting for their Outgoing, oldest first
    /// (bounded by `MAX_PENDING_ACCESS`): under concurrency two requests' access lines can
    /// both come before either Outgoing, and each Outgoing takes the oldest that fits.
    pending_access: HashMap<(HostKey, u32), VecDeque<Access>, RandomState>,
    /// Cancelled tunnel requests no origin line has joined, newest last (bounded): the
    /// stock format's answer nobody received joins one of them.
    cancelled_unjoined: VecDeque<TraceId>,
    /// Open requests a client abort was attributed to, newest last (bounded).
    tentative_aborts: VecDeque<TraceId>,
    /// Hostnames by key - 1.
    hosts: Vec<Arc<str>>,
    /// The host of the line being applied.
    host: HostKey,
    last_host: Option<(Arc<str>, HostKey)>,
    /// Completed traces waiting to be sealed, in completion order.
    completing: VecDeque<(Timestamp, TraceId)>,
    /// Completed traces whose seal waits for the edge limit (see `seal_deadline`).
    postponed: BTreeSet<(Timestamp, TraceId)>,
    /// No open trace without an end started before this (a lower bound, `u64::MAX` when
    /// unknown to be needed). [`Correlator::seal_due`] walks the open traces for stale
    /// ones only once the TTL cutoff passes it: it runs for every entry, and walking
    /// tens of thousands of open traces each time made a flood quadratic.
    open_start_floor: Timestamp,
    sealed: Vec<Trace>,
    /// Cancels classified since the model last drained them.
    cancels: Vec<Cancel>,
    /// Sealed traces kept for views (bounded ring).
    pub recent: VecDeque<Trace>,
    pub links: LinkCounts,
    /// Requests expired or evicted while still open.
    pub(crate) expired: u64,
    /// Whether any access line was seen (if so, a served request without one was abandoned).
    pub(crate) access_log_seen: bool,
    latest: Timestamp,
    /// The last line any origin process of each host wrote (a stalled server writes nothing).
    last_origin_line: HashMap<HostKey, Timestamp, RandomState>,
    /// Requests that end before this are state only (the look-back before a window):
    /// they join and settle like any other, but are not counted.
    count_from: Timestamp,
    cap: usize,
    ttl_us: u64,
    seal_after_us: u64,
    edge_timeout_us: u64,
    trace_capacity: usize,
    /// Sealed traces ever kept (also those that have left `recent` since).
    kept_total: u64,
}

/// How far apart (µs) a tunnel request line and an origin Incoming may be to join heuristically.
const HEURISTIC_WINDOW_US: u64 = 2_000_000;
/// A follow-up failure line belongs to a primary at most this long (µs) before it.
const FOLLOW_UP_WINDOW_US: u64 = 1_000_000;
/// Primary failure lines remembered per host and connection for their follow-ups.
const MAX_PRIMARIES_PER_CONN: usize = 64;
/// Response lines waiting for the origin's answer, at most.
const MAX_UNCLAIMED: usize = 4096;
/// A response line waits this long (µs) for the origin's answer to say whose it is.
const CLAIM_WINDOW_US: u64 = 2_000_000;
/// The edge limit is "about 100 s" (the edge starts its clock a little before cloudflared
/// logs the request): a cancel this much (µs) earlier still fits it.
const EDGE_EARLY_US: u64 = 2_000_000;
/// Nobody aborts a request within this (µs) of sending it: an abort goes to the youngest
/// request in flight at least this old, when there is one.
const ABORT_MIN_AGE_US: u64 = 1_000_000;
/// An access line and the Outgoing it comes with are this close (µs).
const ACCESS_WINDOW_US: u64 = 1_000_000;
/// Access lines that may wait on one process at once; more are placed at once (a guess).
const MAX_PENDING_ACCESS: usize = 64;
/// The edge limit is "about 100 s"; 100–120 s has been seen: a cancel this much (µs) late
/// still fits it when an answered request waits for it.
const EDGE_LATE_US: u64 = 30_000_000;
/// Requests remembered as taken for an abort, at most.
const MAX_TENTATIVE_ABORTS: usize = 256;
/// With no request to attribute it to, a cancel is an edge timeout when the server had
/// written nothing for the edge limit less this (µs): the stall tolerance.
const STALL_TOLERANCE_US: u64 = 5_000_000;

/// A request in flight when a cancel line came, and how long it had been.
#[derive(Clone, Copy)]
struct InFlight {
    id: TraceId,
    age_us: u64,
}

impl Correlator {
    pub(crate) fn new(settings: &Settings) -> Correlator {
        Correlator {
            next_id: TraceId::FIRST,
            open: HashMap::default(),
            open_ids: BTreeSet::new(),
            by_request_id: HashMap::default(),
            by_ray: HashMap::default(),
            origin_fifo: HashMap::default(),
            tunnel_by_path: HashMap::default(),
            origin_by_path: HashMap::default(),
            path_hasher: RandomState::new(),
            tunnel_fifo: HashMap::default(),
            primaries: HashMap::default(),
            unclaimed: VecDeque::new(),
            tentative_aborts: VecDeque::new(),
            cancelled_unjoined: VecDeque::new(),
            pending_access: HashMap::default(),
            hosts: Vec::new(),
            host: 0,
            last_host: None,
            completing: VecDeque::new(),
            postponed: BTreeSet::new(),
            open_start_floor: Timestamp(u64::MAX),
            sealed: Vec::new(),
            cancels: Vec::new(),
            recent: VecDeque::new(),
            links: LinkCounts::default(),
            expired: 0,
            access_log_seen: false,
            latest: Timestamp(0),
            last_origin_line: HashMap::default(),
            count_from: settings.count_from.unwrap_or(Timestamp(0)),
            cap: settings.pending_cap_requests.max(1),
            ttl_us: settings.pending_ttl_us,
            seal_after_us: settings.seal_after_us,
            edge_timeout_us: settings.edge_timeout_us,
            trace_capacity: settings.trace_capacity,
            kept_total: 0,
        }
    }

    /// Requests still open (unanswered or waiting to be sealed).
    pub(crate) fn open_count(&self) -> usize {
        self.open.len()
    }

    /// Open traces that are streams (SSE etc.) still running.
    pub(crate) fn open_streams(&self) -> usize {
        self.open
            .values()
            .filter(|t| t.is_stream && t.end.is_none() && t.start >= self.count_from)
            .count()
    }

    /// The key of a line's host: its number, found by pointer first (a host's lines share
    /// one `Arc`), then by text.
    fn host_key(&mut self, host: Option<&Arc<str>>) -> HostKey {
        let Some(h) = host else { return 0 };
        if let Some((last, k)) = &self.last_host {
            if Arc::ptr_eq(last, h) || **last == **h {
                return *k;
            }
        }
        let n = match self.hosts.iter().position(|x| **x == **h) {
            Some(i) => i + 1,
            None if self.hosts.len() < MAX_HOSTS => {
                self.hosts.push(Arc::clone(h));
                self.hosts.len()
            }
            None => self.hosts.len(),
        };
        let k = HostKey::try_from(n).unwrap_or(HostKey::MAX);
        self.last_host = Some((Arc::clone(h), k));
        k
    }

    pub(crate) fn apply(&mut self, event: &Event, role: Role) {
        self.apply_kind(event, &event.kind, role);
    }

    pub(crate) fn apply_kind(&mut self, event: &Event, kind: &EventKind, role: Role) {
        let ts = event.entry.realtime;
        self.latest = self.latest.max(ts);
        self.host = self.host_key(event.entry.origin.hostname.as_ref());
        if role == Role::Origin && !event.entry.is_from_pid1() {
            let last = self.last_origin_line.entry(self.host).or_insert(ts);
            *last = (*last).max(ts);
        }
        match role {
            Role::Origin => self.apply_origin(event, kind),
            Role::Tunnel => self.apply_tunnel(event, kind),
            Role::Other => {}
        }
    }

    /// A line of the origin's: a request, its answer, an access line or a tool call.
    fn apply_origin(&mut self, event: &Event, kind: &EventKind) {
        match kind {
            EventKind::SigilIncoming {
                request_id,
                method,
                path,
                client_ip,
                cf_ray,
            } => {
                self.origin_incoming(
                    event,
                    &OriginRequest {
                        request_id: request_id.as_ref(),
                        method: method.as_deref(),
                        path: path.as_deref(),
                        client_ip: client_ip.as_deref(),
                        ray: cf_ray.as_ref(),
                    },
                );
            }
            EventKind::SigilOutgoing {
                request_id,
                status,
                duration_ms,
                method,
                path,
                tool_error,
                stale_session,
            } => {
                self.origin_outgoing(
                    event,
                    &OriginAnswer {
                        request_id: request_id.as_ref(),
                        status: *status,
                        duration_ms: *duration_ms,
                        method: method.as_deref(),
                        path: path.as_deref(),
                        tool_error: *tool_error,
                        is_error: false,
                    },
                );
                if *stale_session {
                    self.mark_stale_session(request_id.as_ref());
                }
            }
            EventKind::SigilError {
                request_id,
                duration_ms,
                method,
                path,
            } => {
                self.origin_outgoing(
                    event,
                    &OriginAnswer {
                        request_id: request_id.as_ref(),
                        status: None,
                        duration_ms: *duration_ms,
                        method: method.as_deref(),
                        path: path.as_deref(),
                        tool_error: false,
                        is_error: true,
                    },
                );
            }
            EventKind::AccessLog {
                client_ip,
                method,
                target,
                status,
            } => {
                self.origin_access(event, client_ip, method, target, *status);
            }
            EventKind::Server(
                ServerEvent::ToolCalled { tool } | ServerEvent::ToolNotListed { tool },
            ) => {
                if let Some(id) = event
                    .entry
                    .pid
                    .and_then(|p| self.origin_fifo.get(&(self.host, p)))
                    .and_then(|q| q.ids.back().copied())
                {
                    if let Some(t) = self.open.get_mut(&id) {
                        t.tool.get_or_insert_with(|| tool.clone());
                    }
                }
            }
            _ => {}
        }
    }

    /// A line of cloudflared's: a request, a response or a proxy failure.
    fn apply_tunnel(&mut self, event: &Event, kind: &EventKind) {
        match kind {
            EventKind::TunnelRequest {
                method,
                path,
                conn_index,
                ray,
                connecting_ip,
            } => {
                self.tunnel_request(
                    event,
                    method,
                    path,
                    *conn_index,
                    ray.as_ref(),
                    connecting_ip.as_deref(),
                );
            }
            EventKind::TunnelResponse {
                status,
                conn_index,
                ray,
            } => {
                self.tunnel_response(event, *status, *conn_index, ray.as_ref());
            }
            EventKind::ProxyError {
                line,
                failure,
                conn_index,
                dest,
                ray,
                error,
                ..
            } => {
                self.proxy_error(
                    event,
                    &ProxyError {
                        line: *line,
                        failure,
                        conn_index: *conn_index,
                        dest: dest.as_deref(),
                        ray: ray.as_ref(),
                        error,
                    },
                );
            }
            _ => {}
        }
    }

    fn new_trace(&mut self, start: Timestamp) -> TraceId {
        let id = self.next_id;
        self.next_id = id.next();
        if self.open.len() >= self.cap {
            self.evict_oldest();
        }
        let mut t = Trace::new(id, start);
        t.host_key = self.host;
        t.host = usize::from(self.host)
            .checked_sub(1)
            .and_then(|i| self.hosts.get(i))
            .cloned();
        self.open.insert(id, t);
        self.open_ids.insert(id);
        self.open_start_floor = self.open_start_floor.min(start);
        id
    }

    /// At the cap the oldest open request is settled now (as unanswered, unless its lines
    /// already say more) and counted like every other: the classes still add up.
    fn evict_oldest(&mut self) {
        if let Some(&oldest) = self.open_ids.first() {
            self.expire(oldest);
        }
    }

    /// Seals an open request that got no answer in time (TTL or cap).
    fn expire(&mut self, id: TraceId) {
        let before = self.sealed.len();
        self.seal(id);
        if self.sealed.get(before).is_some_and(|t| !t.before_window) {
            self.expired += 1;
        }
    }

    fn add_cursor(&mut self, id: TraceId, event: &Event) {
        if let Some(c) = &event.entry.cursor {
            self.add_cursor_value(id, c);
        }
    }

    fn add_cursor_value(&mut self, id: TraceId, c: &Cursor) {
        if let Some(t) = self.open.get_mut(&id) {
            if t.cursors.len() < 16 {
                t.cursors.push(c.clone());
            }
        }
    }

    /// The key of a request id on a host (ids repeat across hosts only by accident, but a
    /// journal directory gathered from copies of one host would mix them).
    fn rid_key(&self, host: HostKey, rid: &RequestId) -> u64 {
        self.path_hasher.hash_one((host, 1u8, &*rid.0))
    }

    /// The key of a ray on a host: its 16-hex part, case-insensitively (`RayId::key`).
    fn ray_key(&self, host: HostKey, ray: &RayId) -> u64 {
        self.path_hasher.hash_one((host, 2u8, &*ray.key()))
    }

    fn path_key(&self, host: HostKey, path: &str) -> u64 {
        self.path_hasher
            .hash_one((host, path.split('?').next().unwrap_or(path)))
    }

    /// Files a new tunnel request under its host and path until an origin line joins it.
    fn index_unjoined(&mut self, id: TraceId, ts: Timestamp, path: &str) {
        let key = self.path_key(self.host, path);
        insert_in_time_order(self.tunnel_by_path.entry(key).or_default(), ts, id);
        if let Some(t) = self.open.get_mut(&id) {
            t.path_key = Some(key);
        }
    }

    /// Takes a trace out of that index (joined, or sealed).
    fn unindex_joined(&mut self, id: TraceId) {
        let Some(key) = self.open.get_mut(&id).and_then(|t| t.path_key.take()) else {
            return;
        };
        self.unindex_key(key, id);
    }

    fn unindex_key(&mut self, key: u64, id: TraceId) {
        unindex(&mut self.tunnel_by_path, key, id);
    }

    /// Files an origin request no tunnel line has joined under its host and path (once
    /// both its Incoming and its path are known), until one joins it.
    fn index_origin(&mut self, id: TraceId) {
        let Some(t) = self.open.get(&id) else { return };
        if t.tunnel.is_some() || t.origin_path_key.is_some() {
            return;
        }
        let (Some(path), Some(inc)) = (
            t.path.as_deref(),
            t.origin.as_ref().and_then(|o| o.incoming),
        ) else {
            return;
        };
        let key = self.path_key(t.host_key, path);
        insert_in_time_order(self.origin_by_path.entry(key).or_default(), inc, id);
        if let Some(t) = self.open.get_mut(&id) {
            t.origin_path_key = Some(key);
        }
    }

    fn unindex_origin(&mut self, id: TraceId) {
        let Some(key) = self
            .open
            .get_mut(&id)
            .and_then(|t| t.origin_path_key.take())
        else {
            return;
        };
        unindex(&mut self.origin_by_path, key, id);
    }

    /// Cancellations seen since the last call, classified (edge timeout or client abort).
    pub(crate) fn take_cancels(&mut self) -> Vec<Cancel> {
        std::mem::take(&mut self.cancels)
    }

    /// Sealed traces since the last call, for the model to count.
    pub(crate) fn take_sealed(&mut self) -> Vec<Trace> {
        std::mem::take(&mut self.sealed)
    }

    /// Gives back the vector [`Correlator::take_sealed`] returned, emptied, so the next
    /// traces reuse its room instead of growing a new one (once per entry in a flood).
    pub(crate) fn recycle_sealed(&mut self, mut emptied: Vec<Trace>) {
        emptied.clear();
        if self.sealed.is_empty() && emptied.capacity() > self.sealed.capacity() {
            self.sealed = emptied;
        }
    }

    /// Keeps a sealed trace in the bounded ring for views (none with a capacity of 0).
    pub(crate) fn keep(&mut self, trace: Trace) {
        if self.trace_capacity == 0 {
            return;
        }
        if self.recent.len() >= self.trace_capacity {
            self.recent.pop_front();
        }
        self.recent.push_back(trace);
        self.kept_total += 1;
    }

    /// The ordinal of `recent[0]`: traces are numbered 0, 1, … in the order they were
    /// kept, so `recent[i]` is number `first_recent_ordinal() + i` however the ring turns.
    pub(crate) fn first_recent_ordinal(&self) -> u64 {
        self.kept_total - self.recent.len() as u64
    }

    /// The kept trace with ordinal `n` (see [`Correlator::first_recent_ordinal`]), O(1).
    pub(crate) fn recent_by_ordinal(&self, n: u64) -> Option<&Trace> {
        let idx = usize::try_from(n.checked_sub(self.first_recent_ordinal())?).ok()?;
        self.recent.get(idx)
    }
}

/// The status the origin has given so far: its own `status_code`, else the access line's,
/// else 500 for an error record; `None` while it has said nothing.
fn origin_said(o: &OriginSide) -> Option<u16> {
    o.status
        .or(o.access_status)
        .or(if o.error { Some(500) } else { None })
}

/// A path index's entry closest in time to `ts` (within `HEURISTIC_WINDOW_US`) that fits.
fn nearest_fit(
    q: &VecDeque<(Timestamp, TraceId)>,
    ts: Timestamp,
    fits: impl Fn(TraceId) -> bool,
) -> Option<TraceId> {
    let mid = q.partition_point(|(t, _)| *t < ts);
    let after = q
        .range(mid..)
        .take_while(|(t, _)| t.0 - ts.0 <= HEURISTIC_WINDOW_US)
        .find(|(_, id)| fits(*id));
    let before = q
        .range(..mid)
        .rev()
        .take_while(|(t, _)| ts.0 - t.0 <= HEURISTIC_WINDOW_US)
        .find(|(_, id)| fits(*id));
    match (before, after) {
        (Some(b), Some(a)) => Some(if ts.0 - b.0 .0 <= a.0 .0 - ts.0 {
            b.1
        } else {
            a.1
        }),
        (b, a) => b.or(a).map(|(_, id)| *id),
    }
}

/// Adds `(at, id)` to a path index's entry, keeping it in time order (lines come almost in
/// order: usually at the back).
fn insert_in_time_order(q: &mut VecDeque<(Timestamp, TraceId)>, at: Timestamp, id: TraceId) {
    if q.back().is_none_or(|(t, _)| *t <= at) {
        q.push_back((at, id));
    } else {
        let pos = q.partition_point(|(t, _)| *t <= at);
        q.insert(pos, (at, id));
    }
}

/// Removes `id` from a path index's entry `key`.
fn unindex(
    index: &mut HashMap<u64, VecDeque<(Timestamp, TraceId)>, RandomState>,
    key: u64,
    id: TraceId,
) {
    if let Some(q) = index.get_mut(&key) {
        if let Some(pos) = q.iter().position(|(_, x)| *x == id) {
            q.remove(pos);
        }
        if q.is_empty() {
            index.remove(&key);
        }
    }
}

/// Removes `id` from a connection's queue; answers come roughly in order, so it is
/// usually near the front.
fn remove_id(q: &mut VecDeque<TraceId>, id: TraceId) {
    if let Some(pos) = q.iter().position(|x| *x == id) {
        q.remove(pos);
    }
}

/// A request the tunnel did not answer: served when the origin answered it (its status
/// unknown, 0, when no line named one: the stock format without its access line), else
/// unanswered.
fn settle_unanswered(t: &Trace) -> Outcome {
    if t.origin_answered() {
        Outcome::Served(t.origin_status().unwrap_or(0))
    } else {
        Outcome::Unanswered
    }
}

/// The path of a URL (`https://host/a/b?q` → `/a/b?q` without the query).
fn url_path(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let path = rest.find('/').map_or("/", |i| &rest[i..]);
    path.split('?').next().unwrap_or(path)
}

#[cfg(test)]
mod tests {

    use crate::model::tests_support::{scenario, SCENARIOS};

    /// Every scenario, in process: each request the edge sent is one trace (whatever lines
    /// it has), and its class (502, edge timeout, abort, answered with its status) is the
    /// truth's.
    #[test]
    fn every_scenario_counts_each_request_once_in_its_class() {
        for &name in SCENARIOS {
            let (model, truth) = scenario(name);
            let links = &model.correlator.links;
            let traces = links.exact + links.heuristic + links.tunnel_only + links.origin_only;
            let r = &truth["requests"];
            let want = r["edge_received"].as_u64().unwrap();
            assert_eq!(traces, want, "{name}: one trace per request");
            let s = &model.stats;
            let t = &truth["tunnel"];
            assert_eq!(s.bad_gateway, t["bad_gateway"].as_u64().unwrap(), "{name}");
            assert_eq!(
                s.edge_timeout,
                t["edge_timeout"].as_u64().unwrap(),
                "{name}"
            );
            assert_eq!(
                s.client_abort,
                t["client_abort"].as_u64().unwrap(),
                "{name}"
            );
            assert_eq!(s.requests, r["total"].as_u64().unwrap(), "{name}: answered");
            assert_eq!(s.abandoned, r["abandoned"].as_u64().unwrap(), "{name}");
            let by_status: std::collections::BTreeMap<String, u64> = s
                .by_status
                .iter()
                .map(|(k, v)| (k.to_string(), *v))
                .collect();
            let want_status: std::collections::BTreeMap<String, u64> =
                serde_json::from_value(r["by_status"].clone()).unwrap();
            assert_eq!(by_status, want_status, "{name}: statuses");
            // The kept traces say the same as the counters.
            let failed = |o: Outcome| {
                model
                    .correlator
                    .recent
                    .iter()
                    .filter(|t| t.outcome == o)
                    .count() as u64
            };
            assert_eq!(failed(Outcome::EdgeTimeout), s.edge_timeout, "{name}");
            assert_eq!(failed(Outcome::ClientAbort), s.client_abort, "{name}");
        }
    }

    /// Where both programs log the ray (kv and JSON formats, cloudflared at debug), every
    /// request both saw is joined exactly, never by a guess.
    #[test]
    fn rays_join_exactly_where_both_sides_log_them() {
        for name in ["normal", "crash_502", "json_format", "edge_timeouts"] {
            let (model, _) = scenario(name);
            for t in &model.correlator.recent {
                if t.origin.is_some() && t.tunnel.as_ref().is_some_and(|s| s.request.is_some()) {
                    assert_eq!(t.link, Link::Exact, "{name}: {} {:?}", t.route(), t.ray);
                }
            }
        }
    }
    use super::*;

    #[test]
    fn kept_traces_keep_their_ordinal_as_the_ring_turns() {
        let settings = Settings {
            trace_capacity: 2,
            ..Settings::default()
        };
        let mut c = Correlator::new(&settings);
        for id in 10..13 {
            c.keep(Trace::new(TraceId(id), Timestamp(id)));
        }
        assert_eq!(c.first_recent_ordinal(), 1);
        assert!(c.recent_by_ordinal(0).is_none());
        assert_eq!(c.recent_by_ordinal(1).map(|t| t.id), Some(TraceId(11)));
        assert_eq!(c.recent_by_ordinal(2).map(|t| t.id), Some(TraceId(12)));
        assert!(c.recent_by_ordinal(3).is_none());
    }

    #[test]
    fn url_path_drops_scheme_host_and_query() {
        assert_eq!(url_path("https://mcp.example.com/mcp/sse?x=1"), "/mcp/sse");
        assert_eq!(url_path("https://mcp.example.com"), "/");
        assert_eq!(url_path("/healthz"), "/healthz");
    }

    #[test]
    fn streams_are_recognised_by_route() {
        assert!(is_stream_route(Some("GET"), Some("/mcp/sse")));
        assert!(is_stream_route(Some("GET"), Some("/")));
        assert!(!is_stream_route(Some("POST"), Some("/")));
        assert!(!is_stream_route(Some("GET"), Some("/healthz")));
    }
}
