//! Correlation: joining the lines that describe one request into a [`Trace`].
//!
//! Owns the open requests and their indexes (by `request_id`, by CF-Ray key, per origin
//! process in arrival order, per tunnel connection), and a bounded ring of sealed traces.
//! Does not own statistics or incidents: it hands each sealed trace to the model, which
//! feeds `stats` and `detect`.
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

/// How the two services' views of a request were joined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Link {
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
    pub fn as_str(self) -> &'static str {
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
pub enum LatencySource {
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
    pub fn as_str(self) -> &'static str {
        match self {
            LatencySource::Exact => "exact",
            LatencySource::Derived => "derived",
            LatencySource::Tunnel => "tunnel",
        }
    }
}

/// How a request ended, as the visitor would have seen it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
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
#[derive(Debug, Clone, Default)]
pub struct OriginSide {
    pub incoming: Option<Timestamp>,
    pub outgoing: Option<Timestamp>,
    pub status: Option<u16>,
    pub duration_ms: Option<u64>,
    /// Status from uvicorn's access line (the only status in the stock format).
    pub access_status: Option<u16>,
    /// When that access line was written.
    pub access_at: Option<Timestamp>,
    pub pid: Option<u32>,
    /// `Error handling MCP request` was logged.
    pub error: bool,
    /// JSON-RPC `isError: true` inside an HTTP 200.
    pub tool_error: bool,
    /// Answered `No valid session ID provided` (a session from before a restart).
    pub stale_session: bool,
    /// Its Outgoing was paired among several open requests (no latency derived).
    pub ambiguous: bool,
}

/// cloudflared's view of a request.
#[derive(Debug, Clone, Default)]
pub struct TunnelSide {
    pub request: Option<Timestamp>,
    pub response: Option<Timestamp>,
    pub status: Option<u16>,
    pub conn_index: Option<u8>,
    pub failure: Option<ProxyFailure>,
    pub failure_at: Option<Timestamp>,
    pub error: Option<Box<str>>,
    /// A follow-up failure line (`Request failed` / `failed to serve…`) was seen.
    pub followed_up: bool,
    /// What a cancel (`Incoming request ended abruptly`) meant, decided when it was
    /// attributed to this request: the edge giving up (524) or the visitor leaving.
    pub cancel: Option<CancelKind>,
}

/// Who ended a cancelled request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CancelKind {
    /// The request had been in flight about the edge limit: the edge gave up (524).
    EdgeTimeout,
    /// Earlier than that: the visitor went away.
    ClientAbort,
}

/// One request, as both services saw it.
#[derive(Debug, Clone)]
pub struct Trace {
    pub id: u64,
    pub start: Timestamp,
    pub end: Option<Timestamp>,
    pub method: Option<Box<str>>,
    pub path: Option<Box<str>>,
    pub tool: Option<Box<str>>,
    pub request_id: Option<RequestId>,
    pub ray: Option<RayId>,
    pub client_ip: Option<Box<str>>,
    /// `_HOSTNAME` of the lines, shared with their entries.
    pub host: Option<std::sync::Arc<str>>,
    /// The correlator's number for `host`: every index (connections, processes, failure
    /// lines) is per host, so two hosts' `connIndex=0` never meet.
    host_key: HostKey,
    /// Its key in the correlator's index of tunnel requests not yet joined (by host and
    /// path), while it is there.
    path_key: Option<u64>,
    /// Its key in the index of origin requests not yet joined, while it is there.
    origin_path_key: Option<u64>,
    pub origin: Option<OriginSide>,
    pub tunnel: Option<TunnelSide>,
    pub link: Link,
    pub outcome: Outcome,
    /// Origin response time in µs, and where it comes from; `None` for streams, failures
    /// and ambiguous stock pairs.
    pub latency: Option<(u64, LatencySource)>,
    /// A long-lived response (SSE, streamed MCP): its duration is a lifetime, not latency.
    pub is_stream: bool,
    /// Answered by the origin, but the client never received it: no access line while
    /// access logging is on (the client gave up, or the edge cancelled it).
    pub abandoned: bool,
    /// Cursors of the lines that make this trace, for evidence and snapshots.
    pub cursors: Vec<Cursor>,
    /// It ended before the window (`--since`): read in the look-back for state only, so it
    /// is not counted.
    pub before_window: bool,
}

impl Trace {
    pub(crate) fn new(id: u64, start: Timestamp) -> Trace {
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
    pub fn origin_status(&self) -> Option<u16> {
        let o = self.origin.as_ref()?;
        o.status
            .or(o.access_status)
            .or(if o.error { Some(500) } else { None })
    }

    /// The status the request was answered with, and whether it was answered at all: the
    /// origin's when it logged an answer (0 when its format names none), else, when no
    /// origin line joined it, the status cloudflared relayed (its debug response line). A
    /// request cloudflared saw answered is never "unanswered".
    pub fn answered_status(&self) -> Option<u16> {
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
    pub fn tunnel_us(&self) -> Option<u64> {
        let s = self.tunnel.as_ref()?;
        Some(s.response?.saturating_since_us(s.request?))
    }

    /// True when the origin answered (Outgoing or an error record was logged).
    pub fn origin_answered(&self) -> bool {
        self.origin
            .as_ref()
            .is_some_and(|o| o.outgoing.is_some() || o.error)
    }

    /// Method and path for display: `POST /`.
    pub fn route(&self) -> String {
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
pub struct Cancel {
    pub at: Timestamp,
    /// `EdgeTimeout` or `ClientAbort`.
    pub outcome: Outcome,
    /// The route or MCP tool, for the likely cause.
    pub label: String,
    /// Inside the window (not a look-back line read for state).
    pub counted: bool,
    /// When the request began, when known (its request line or Incoming).
    pub started: Option<Timestamp>,
    /// The request's first line and the cancel line: an incident's evidence.
    pub cursors: Vec<Cursor>,
    /// `_HOSTNAME` of the cancel line.
    pub host: Option<Arc<str>>,
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
    ids: VecDeque<u64>,
    /// How many ids at the front already have their access line. An access line matches
    /// only requests without one, so its search starts here: under a flood the front holds
    /// thousands of answered requests waiting out the seal grace period, and scanning
    /// them for every access line made ingest quadratic.
    answered: usize,
}

impl OriginQueue {
    /// Removes `id`; sealing goes oldest first, so it is almost always at the front.
    fn remove(&mut self, id: u64) {
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
    id: u64,
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
    next_id: u64,
    open: HashMap<u64, Trace, RandomState>,
    /// The open ids in creation order (ids only grow): the oldest is evicted at the cap
    /// without a walk over every open request.
    open_ids: BTreeSet<u64>,
    /// Open requests by host and request id, and by host and CF-Ray: keyed by the
    /// per-process seeded 64-bit hash of the pair (no allocation per lookup; two open
    /// requests meet only by a collision of the seeded hash, which text cannot aim at).
    by_request_id: HashMap<u64, u64, RandomState>,
    by_ray: HashMap<u64, u64, RandomState>,
    /// Open origin requests per host and process, in arrival order.
    origin_fifo: HashMap<(HostKey, u32), OriginQueue, RandomState>,
    /// Tunnel requests no origin line has joined yet, by host and path, in time order:
    /// what a heuristic join looks through (only the same route, only near in time).
    tunnel_by_path: HashMap<u64, VecDeque<(Timestamp, u64)>, RandomState>,
    /// Origin requests no tunnel line has joined, by host and path, in Incoming order
    /// (the tunnel's line may be read after the server's).
    origin_by_path: HashMap<u64, VecDeque<(Timestamp, u64)>, RandomState>,
    path_hasher: RandomState,
    /// Open tunnel requests per host and connection, in arrival order.
    tunnel_fifo: HashMap<(HostKey, u8), VecDeque<u64>, RandomState>,
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
    cancelled_unjoined: VecDeque<u64>,
    /// Open requests a client abort was attributed to, newest last (bounded).
    tentative_aborts: VecDeque<u64>,
    /// Hostnames by key - 1.
    hosts: Vec<Arc<str>>,
    /// The host of the line being applied.
    host: HostKey,
    last_host: Option<(Arc<str>, HostKey)>,
    /// Completed traces waiting to be sealed, in completion order.
    completing: VecDeque<(Timestamp, u64)>,
    /// Completed traces whose seal waits for the edge limit (see `seal_deadline`).
    postponed: BTreeSet<(Timestamp, u64)>,
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
    pub expired: u64,
    /// Whether any access line was seen (if so, a served request without one was abandoned).
    pub access_log_seen: bool,
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
    id: u64,
    age_us: u64,
}

impl Correlator {
    pub fn new(settings: &Settings) -> Correlator {
        Correlator {
            next_id: 1,
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
    pub fn open_count(&self) -> usize {
        self.open.len()
    }

    /// Open traces that are streams (SSE etc.) still running.
    pub fn open_streams(&self) -> usize {
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

    pub fn apply(&mut self, event: &Event, role: Role) {
        self.apply_kind(event, &event.kind, role);
    }

    pub fn apply_kind(&mut self, event: &Event, kind: &EventKind, role: Role) {
        let ts = event.entry.realtime;
        self.latest = self.latest.max(ts);
        self.host = self.host_key(event.entry.origin.hostname.as_ref());
        if role == Role::Origin && !event.entry.is_from_pid1() {
            let last = self.last_origin_line.entry(self.host).or_insert(ts);
            *last = (*last).max(ts);
        }
        match (role, kind) {
            (
                Role::Origin,
                EventKind::SigilIncoming {
                    request_id,
                    method,
                    path,
                    client_ip,
                    cf_ray,
                },
            ) => {
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
            (
                Role::Origin,
                EventKind::SigilOutgoing {
                    request_id,
                    status,
                    duration_ms,
                    method,
                    path,
                    tool_error,
                    stale_session,
                },
            ) => {
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
            (
                Role::Origin,
                EventKind::SigilError {
                    request_id,
                    duration_ms,
                    method,
                    path,
                },
            ) => {
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
            (
                Role::Origin,
                EventKind::AccessLog {
                    client_ip,
                    method,
                    target,
                    status,
                },
            ) => {
                self.origin_access(event, client_ip, method, target, *status);
            }
            (
                Role::Origin,
                EventKind::Server(
                    ServerEvent::ToolCalled { tool } | ServerEvent::ToolNotListed { tool },
                ),
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
            (
                Role::Tunnel,
                EventKind::TunnelRequest {
                    method,
                    path,
                    conn_index,
                    ray,
                    connecting_ip,
                },
            ) => {
                self.tunnel_request(
                    event,
                    method,
                    path,
                    *conn_index,
                    ray.as_ref(),
                    connecting_ip.as_deref(),
                );
            }
            (
                Role::Tunnel,
                EventKind::TunnelResponse {
                    status,
                    conn_index,
                    ray,
                },
            ) => {
                self.tunnel_response(event, *status, *conn_index, ray.as_ref());
            }
            (
                Role::Tunnel,
                EventKind::ProxyError {
                    line,
                    failure,
                    conn_index,
                    dest,
                    ray,
                    error,
                    ..
                },
            ) => {
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

    fn new_trace(&mut self, start: Timestamp) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
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
    fn expire(&mut self, id: u64) {
        let before = self.sealed.len();
        self.seal(id);
        if self.sealed.get(before).is_some_and(|t| !t.before_window) {
            self.expired += 1;
        }
    }

    fn add_cursor(&mut self, id: u64, event: &Event) {
        if let Some(c) = &event.entry.cursor {
            self.add_cursor_value(id, c);
        }
    }

    fn add_cursor_value(&mut self, id: u64, c: &Cursor) {
        if let Some(t) = self.open.get_mut(&id) {
            if t.cursors.len() < 16 {
                t.cursors.push(c.clone());
            }
        }
    }

    fn origin_incoming(&mut self, event: &Event, request: &OriginRequest<'_>) {
        let &OriginRequest {
            request_id,
            method,
            path,
            client_ip,
            ray,
        } = request;
        let ts = event.entry.realtime;
        // Join a tunnel request already seen, exactly by ray or heuristically.
        let existing = match ray {
            Some(r) => self
                .by_ray
                .get(&self.ray_key(self.host, r))
                .copied()
                .filter(|id| self.open.get(id).is_some_and(|t| t.origin.is_none())),
            None => self.heuristic_tunnel_match(ts, method, path, client_ip),
        };
        let id = match existing {
            Some(id) => {
                self.unindex_joined(id);
                if let Some(t) = self.open.get_mut(&id) {
                    t.link = if ray.is_some() {
                        Link::Exact
                    } else {
                        Link::Heuristic
                    };
                }
                id
            }
            None => self.new_trace(ts),
        };
        let pid = event.entry.pid.unwrap_or(0);
        if let Some(t) = self.open.get_mut(&id) {
            t.origin = Some(OriginSide {
                incoming: Some(ts),
                pid: event.entry.pid,
                ..OriginSide::default()
            });
            t.start = t.start.min(ts);
            self.open_start_floor = self.open_start_floor.min(ts);
            if let Some(m) = method {
                t.method = Some(m.into());
            }
            if let Some(p) = path {
                t.path = Some(p.into());
            }
            if let Some(c) = client_ip {
                t.client_ip = Some(c.into());
            }
            t.host.clone_from(&event.entry.origin.hostname);
            if let Some(r) = ray {
                t.ray = Some(r.clone());
            }
            t.request_id = request_id.cloned();
            t.is_stream = is_stream_route(t.method.as_deref(), t.path.as_deref());
        }
        if let Some(r) = ray {
            self.by_ray.insert(self.ray_key(self.host, r), id);
        }
        if let Some(rid) = request_id {
            self.by_request_id.insert(self.rid_key(self.host, rid), id);
        }
        self.origin_fifo
            .entry((self.host, pid))
            .or_default()
            .ids
            .push_back(id);
        self.add_cursor(id, event);
        self.index_origin(id);
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
    fn index_unjoined(&mut self, id: u64, ts: Timestamp, path: &str) {
        let key = self.path_key(self.host, path);
        insert_in_time_order(self.tunnel_by_path.entry(key).or_default(), ts, id);
        if let Some(t) = self.open.get_mut(&id) {
            t.path_key = Some(key);
        }
    }

    /// Takes a trace out of that index (joined, or sealed).
    fn unindex_joined(&mut self, id: u64) {
        let Some(key) = self.open.get_mut(&id).and_then(|t| t.path_key.take()) else {
            return;
        };
        self.unindex_key(key, id);
    }

    fn unindex_key(&mut self, key: u64, id: u64) {
        unindex(&mut self.tunnel_by_path, key, id);
    }

    /// Files an origin request no tunnel line has joined under its host and path (once
    /// both its Incoming and its path are known), until one joins it.
    fn index_origin(&mut self, id: u64) {
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

    fn unindex_origin(&mut self, id: u64) {
        let Some(key) = self
            .open
            .get_mut(&id)
            .and_then(|t| t.origin_path_key.take())
        else {
            return;
        };
        unindex(&mut self.origin_by_path, key, id);
    }

    /// An origin request of this host that no tunnel line has joined, on the same path
    /// and method (and client when both name one, and ray when both log one), whose
    /// Incoming is within `HEURISTIC_WINDOW_US` of `ts`: the closest in time.
    fn origin_heuristic_match(
        &self,
        ts: Timestamp,
        method: &str,
        path: &str,
        client: Option<&str>,
        ray: Option<&RayId>,
    ) -> Option<u64> {
        let q = self.origin_by_path.get(&self.path_key(self.host, path))?;
        let fits = |id: u64| {
            self.open.get(&id).is_some_and(|t| {
                t.tunnel.is_none()
                    && t.method.as_deref().is_none_or(|m| m == method)
                    && match (client, t.client_ip.as_deref()) {
                        (Some(a), Some(b)) => a == b,
                        _ => true,
                    }
                    && match (ray, t.ray.as_ref()) {
                        (Some(a), Some(b)) => a.key() == b.key(),
                        _ => true,
                    }
            })
        };
        nearest_fit(q, ts, fits)
    }

    /// An open tunnel request of this host that no origin line has joined, on the same
    /// path (and method, and client when both sides name one), within
    /// `HEURISTIC_WINDOW_US` of `ts`: the closest in time.
    fn heuristic_tunnel_match(
        &self,
        ts: Timestamp,
        method: Option<&str>,
        path: Option<&str>,
        client: Option<&str>,
    ) -> Option<u64> {
        let q = self.tunnel_by_path.get(&self.path_key(self.host, path?))?;
        let fits = |id: u64| {
            self.open.get(&id).is_some_and(|t| {
                t.origin.is_none()
                    && t.tunnel.as_ref().is_some_and(|s| s.failure.is_none())
                    && (method.is_none() || t.method.as_deref() == method)
                    && match (client, t.client_ip.as_deref()) {
                        (Some(a), Some(b)) => a == b,
                        _ => true,
                    }
            })
        };
        nearest_fit(q, ts, fits)
    }

    /// The open request an id-less Outgoing (stock format) answers, and whether it was
    /// one of several candidates. Nothing in the stock format says which request an
    /// Outgoing ends, so the pairing keeps what can be known right: an Outgoing that
    /// comes with an access line (the visitor got the answer) ends the youngest open
    /// request that fits the line, so a long call in flight is not "answered" by the
    /// quick ones finishing around it; one without (nobody received it: the visitor or
    /// the edge had given up) ends the oldest request the tunnel saw cancelled, else the
    /// oldest open past the edge limit, else the oldest not near it, else the oldest.
    fn stock_outgoing_target(&self, pid: u32, at: Timestamp) -> Option<(u64, bool)> {
        let key = (self.host, pid);
        let queue = self.origin_fifo.get(&key)?;
        let candidates: Vec<&Trace> = queue
            .ids
            .iter()
            .filter_map(|id| self.open.get(id))
            .filter(|t| {
                !t.is_stream
                    && t.origin
                        .as_ref()
                        .is_some_and(|o| o.outgoing.is_none() && !o.error)
            })
            .collect();
        let access = self
            .pending_access
            .get(&key)
            .and_then(VecDeque::front)
            .filter(|a| at.saturating_since_us(a.at) <= ACCESS_WINDOW_US);
        let cancelled = |t: &&&Trace| {
            t.tunnel
                .as_ref()
                .is_some_and(|s| matches!(s.failure, Some(ProxyFailure::Cancelled)))
        };
        let chosen = match access {
            Some(a) => candidates
                .iter()
                .rev()
                .find(|t| a.fits(t) && !cancelled(t))
                .or_else(|| candidates.iter().rev().find(|t| a.fits(t))),
            None => candidates.iter().find(cancelled).or_else(|| {
                // No cancelled request is open (the cancel went to another guess). One
                // open past the edge limit was certainly given up on by the edge; else the
                // oldest not yet near the limit (one at the limit may have its own cancel
                // a moment away: taking it would turn its 524 into someone else's abort).
                let age = |t: &&&Trace| at.saturating_since_us(t.start);
                let near = self.edge_timeout_us.saturating_sub(EDGE_EARLY_US);
                candidates
                    .iter()
                    .find(|t| age(t) >= self.edge_timeout_us)
                    .or_else(|| candidates.iter().find(|t| age(t) < near))
            }),
        }
        .or_else(|| candidates.first())?;
        Some((chosen.id, candidates.len() > 1))
    }

    fn origin_outgoing(&mut self, event: &Event, answer: &OriginAnswer<'_>) {
        let &OriginAnswer {
            request_id,
            status,
            duration_ms,
            method,
            path,
            tool_error,
            is_error,
        } = answer;
        let ts = event.entry.realtime;
        let pid = event.entry.pid.unwrap_or(0);
        let (id, ambiguous) = if let Some(rid) = request_id {
            match self
                .by_request_id
                .get(&self.rid_key(self.host, rid))
                .copied()
            {
                Some(id) => (id, false),
                None => (self.orphan_origin(event, rid), false),
            }
        } else if let Some(found) = self.stock_outgoing_target(pid, ts) {
            found
        } else {
            // A stream ending, or an Outgoing whose Incoming we never saw.
            let stream = self.origin_fifo.get(&(self.host, pid)).and_then(|q| {
                q.ids.iter().copied().find(|id| {
                    self.open.get(id).is_some_and(|t| {
                        t.is_stream && t.origin.as_ref().is_some_and(|o| o.outgoing.is_none())
                    })
                })
            });
            let id = stream.unwrap_or_else(|| self.orphan_origin(event, &RequestId("".into())));
            (id, false)
        };
        if let Some(t) = self.open.get_mut(&id) {
            if t.method.is_none() {
                t.method = method.map(Box::from);
            }
            if t.path.is_none() {
                t.path = path.map(Box::from);
            }
        }
        self.take_access((self.host, pid), id, ts);
        if request_id.is_none() && !is_error {
            let unreceived = self
                .open
                .get(&id)
                .and_then(|t| t.origin.as_ref())
                .is_some_and(|o| o.access_status.is_none());
            if unreceived && self.access_log_seen {
                self.join_cancelled(id);
            }
        }
        let Some(t) = self.open.get_mut(&id) else {
            return;
        };
        if t.method.is_none() {
            t.method = method.map(Box::from);
        }
        if t.path.is_none() {
            t.path = path.map(Box::from);
        }
        t.is_stream = t.is_stream || is_stream_route(t.method.as_deref(), t.path.as_deref());
        let o = t.origin.get_or_insert_with(OriginSide::default);
        o.outgoing = Some(ts);
        o.status = status.or(o.status);
        o.duration_ms = duration_ms;
        o.tool_error |= tool_error;
        o.error |= is_error;
        o.ambiguous = ambiguous;
        t.latency = match (duration_ms, o.incoming) {
            (Some(ms), _) => Some((ms.saturating_mul(1000), LatencySource::Exact)),
            (None, Some(inc)) if !ambiguous => {
                Some((ts.saturating_since_us(inc), LatencySource::Derived))
            }
            _ => None,
        };
        t.end = Some(ts);
        self.add_cursor(id, event);
        self.reclaim_abort(id);
        self.claim_response(id);
        self.complete(id, ts);
    }

    /// The origin answered `id` and nobody received it (no access line while access lines
    /// are logged), yet the tunnel never said it was cancelled: its visitor's abort was
    /// taken, by the youngest-in-flight guess, for another request still in flight. The
    /// first such abort since `id` began moves (see [`Correlator::move_abort`], which
    /// prefers exactly such an abandoned request), so the request the guess took is free
    /// for the cancel that is really its own.
    fn reclaim_abort(&mut self, id: u64) {
        let Some(t) = self.open.get(&id) else { return };
        if t.tunnel.is_some() || t.is_stream || !self.undelivered(t) {
            return;
        }
        let (host, began) = (t.host_key, t.origin.as_ref().and_then(|o| o.incoming));
        let Some(began) = began else { return };
        let taken = self.tentative_aborts.iter().copied().find(|x| {
            *x != id
                && self.open.get(x).is_some_and(|other| {
                    other.host_key == host
                        && !self.undelivered(other)
                        && other.tunnel.as_ref().is_some_and(|s| {
                            s.cancel == Some(CancelKind::ClientAbort)
                                && s.request.is_none()
                                && s.failure_at.is_some_and(|at| at >= began)
                        })
                })
        });
        if let Some(x) = taken {
            let conn = self
                .open
                .get(&x)
                .and_then(|t| t.tunnel.as_ref())
                .and_then(|s| s.conn_index);
            self.move_abort(x, conn);
        }
    }

    fn mark_stale_session(&mut self, request_id: Option<&RequestId>) {
        let id = request_id
            .and_then(|r| self.by_request_id.get(&self.rid_key(self.host, r)))
            .copied();
        if let Some(o) = id
            .and_then(|id| self.open.get_mut(&id))
            .and_then(|t| t.origin.as_mut())
        {
            o.stale_session = true;
        }
    }

    /// An Outgoing/Error whose Incoming was never seen (started before the window).
    fn orphan_origin(&mut self, event: &Event, rid: &RequestId) -> u64 {
        let ts = event.entry.realtime;
        let id = self.new_trace(ts);
        if let Some(t) = self.open.get_mut(&id) {
            t.origin = Some(OriginSide {
                pid: event.entry.pid,
                ..OriginSide::default()
            });
            if !rid.0.is_empty() {
                t.request_id = Some(rid.clone());
            }
            t.host.clone_from(&event.entry.origin.hostname);
        }
        id
    }

    /// uvicorn's access line. It is written just before the middleware's Outgoing of the
    /// same request (or just after an `Error handling MCP request`), so it waits for that
    /// Outgoing to say whose it is ([`Correlator::take_access`]); an errored request of
    /// its process without one takes it at once.
    fn origin_access(
        &mut self,
        event: &Event,
        client_ip: &str,
        method: &str,
        target: &str,
        status: u16,
    ) {
        self.access_log_seen = true;
        let key = (self.host, event.entry.pid.unwrap_or(0));
        let access = Access {
            client: client_ip.into(),
            method: method.into(),
            path: target.split('?').next().unwrap_or(target).into(),
            status,
            at: event.entry.realtime,
            cursor: event.entry.cursor.clone(),
        };
        // A stream's access line is written when its response starts; its Outgoing comes
        // when it ends, so it waits for none: it goes to the request just begun.
        if status < 300 && is_stream_route(Some(&access.method), Some(&access.path)) {
            self.place_access(key, &access);
            return;
        }
        let full = self
            .pending_access
            .get_mut(&key)
            .filter(|q| q.len() >= MAX_PENDING_ACCESS)
            .and_then(VecDeque::pop_front);
        if let Some(earlier) = full {
            self.place_access(key, &earlier);
        }
        // Requests before `answered` have their access line already: under a flood the
        // front holds thousands waiting out the seal grace period, never walked here.
        let errored = self.origin_fifo.get(&key).and_then(|q| {
            q.ids.range(q.answered..).rev().copied().find(|id| {
                self.open.get(id).is_some_and(|t| {
                    t.origin.as_ref().is_some_and(|o| {
                        o.error
                            && o.access_status.is_none()
                            && o.outgoing.is_some_and(|e| {
                                access.at.saturating_since_us(e) <= ACCESS_WINDOW_US
                            })
                    }) && access.fits(t)
                })
            })
        });
        match errored {
            Some(id) => self.give_access(id, key, &access),
            None => self
                .pending_access
                .entry(key)
                .or_default()
                .push_back(access),
        }
    }

    /// The access line waiting on this process, if it fits the request its Outgoing
    /// answers: it is that request's.
    fn take_access(&mut self, key: (HostKey, u32), id: u64, at: Timestamp) {
        let Some(q) = self.pending_access.get_mut(&key) else {
            return;
        };
        let Some(t) = self.open.get(&id) else { return };
        let usable = |a: &Access| at.saturating_since_us(a.at) <= ACCESS_WINDOW_US && a.fits(t);
        // The same client's line first, then the oldest that fits.
        let pos = q
            .iter()
            .position(|a| usable(a) && t.client_ip.as_deref() == Some(&*a.client))
            .or_else(|| q.iter().position(usable));
        let access = pos.and_then(|p| q.remove(p));
        if q.is_empty() {
            self.pending_access.remove(&key);
        }
        if let Some(access) = access {
            self.give_access(id, key, &access);
        }
    }

    /// An access line no Outgoing took in time: the open request of its process without
    /// one that fits it (same client first, then the youngest).
    fn place_access(&mut self, key: (HostKey, u32), access: &Access) {
        let found = self.origin_fifo.get(&key).and_then(|q| {
            // Requests before `answered` have their access line: none of them matches.
            let unanswered = || q.ids.range(q.answered..).rev().copied();
            let fits = |id: &u64| {
                self.open.get(id).is_some_and(|t| {
                    t.origin.as_ref().is_some_and(|o| o.access_status.is_none()) && access.fits(t)
                })
            };
            unanswered()
                .find(|id| {
                    fits(id)
                        && self.open.get(id).and_then(|t| t.client_ip.as_deref())
                            == Some(&*access.client)
                })
                .or_else(|| unanswered().find(fits))
        });
        if let Some(id) = found {
            self.give_access(id, key, access);
        }
    }

    fn give_access(&mut self, id: u64, key: (HostKey, u32), access: &Access) {
        if let Some(t) = self.open.get_mut(&id) {
            if t.method.is_none() {
                t.method = Some(access.method.clone());
            }
            if t.path.is_none() {
                t.path = Some(access.path.clone());
            }
            if t.client_ip.is_none() {
                t.client_ip = Some(access.client.clone());
            }
            t.is_stream = t.is_stream || is_stream_route(Some(&access.method), Some(&access.path));
            if let Some(o) = t.origin.as_mut() {
                o.access_status = Some(access.status);
                o.access_at = Some(access.at);
            }
        }
        if let Some(q) = self.origin_fifo.get_mut(&key) {
            let open = &self.open;
            while q.ids.get(q.answered).is_some_and(|id| {
                open.get(id)
                    .and_then(|t| t.origin.as_ref())
                    .is_some_and(|o| o.access_status.is_some())
            }) {
                q.answered += 1;
            }
        }
        if let Some(c) = &access.cursor {
            self.add_cursor_value(id, c);
        }
        self.join_by_access(id);
        self.index_origin(id);
        self.claim_response(id);
    }

    /// An open request no tunnel line has joined, and when its Incoming was logged.
    fn unjoined_origin(&self, id: u64) -> Option<(&Trace, Timestamp)> {
        let t = self.open.get(&id).filter(|t| t.tunnel.is_none())?;
        let at = t
            .origin
            .as_ref()
            .and_then(|o| o.incoming)
            .unwrap_or(t.start);
        Some((t, at))
    }

    /// The stock format's Incoming names no method, path or client: its access line is
    /// what joins it to cloudflared's request line (method, path, `Cf-Connecting-Ip`,
    /// within `HEURISTIC_WINDOW_US` of the Incoming).
    fn join_by_access(&mut self, id: u64) {
        let Some((t, at)) = self.unjoined_origin(id) else {
            return;
        };
        let (method, path, client) = (t.method.clone(), t.path.clone(), t.client_ip.clone());
        let Some(from) =
            self.heuristic_tunnel_match(at, method.as_deref(), path.as_deref(), client.as_deref())
        else {
            return;
        };
        self.absorb_tunnel(id, from);
    }

    /// The stock format's Outgoing with no access line (nobody received the answer) for a
    /// request no tunnel line has joined: it is the request cloudflared saw cancelled,
    /// whose request line is closest to this Incoming.
    fn join_cancelled(&mut self, id: u64) {
        let Some((t, at)) = self.unjoined_origin(id) else {
            return;
        };
        let host = t.host_key;
        let from = self
            .cancelled_unjoined
            .iter()
            .filter_map(|x| self.open.get(x))
            .filter(|c| {
                c.host_key == host
                    && c.origin.is_none()
                    && c.tunnel.as_ref().is_some_and(|s| {
                        matches!(s.failure, Some(ProxyFailure::Cancelled))
                            && s.request
                                .is_some_and(|r| r.0.abs_diff(at.0) <= HEURISTIC_WINDOW_US)
                    })
            })
            .min_by_key(|c| {
                c.tunnel
                    .as_ref()
                    .and_then(|s| s.request)
                    .map_or(u64::MAX, |r| r.0.abs_diff(at.0))
            })
            .map(|c| c.id);
        if let Some(from) = from {
            self.cancelled_unjoined.retain(|x| *x != from);
            self.absorb_tunnel(id, from);
        }
    }

    /// A cancelled tunnel request that no origin line joined (the stock format's Incoming
    /// names no route): the origin request of its host, not joined to any tunnel line,
    /// whose Incoming is closest to its request line (within `HEURISTIC_WINDOW_US`).
    fn origin_for_cancel(&self, tunnel_id: u64) -> Option<u64> {
        let t = self.open.get(&tunnel_id)?;
        let began = t.tunnel.as_ref()?.request?;
        self.origin_fifo
            .iter()
            .filter(|((host, _), _)| *host == t.host_key)
            .flat_map(|(_, q)| q.ids.iter())
            .filter_map(|id| self.open.get(id))
            .filter(|o| o.tunnel.is_none() && !o.is_stream)
            .filter_map(|o| {
                let inc = o.origin.as_ref()?.incoming?;
                let gap = inc.0.abs_diff(began.0);
                (gap <= HEURISTIC_WINDOW_US).then_some((gap, o.id))
            })
            .min()
            .map(|(_, id)| id)
    }

    /// Merges tunnel-only trace `from` into origin trace `id` (joined by time alone).
    fn absorb_tunnel(&mut self, id: u64, from: u64) {
        self.unindex_origin(id);
        self.unindex_joined(from);
        let Some(mut tunnel_trace) = self.open.remove(&from) else {
            return;
        };
        self.open_ids.remove(&from);
        let host = tunnel_trace.host_key;
        if let Some(c) = tunnel_trace.tunnel.as_ref().and_then(|s| s.conn_index) {
            if let Some(slot) = self
                .tunnel_fifo
                .get_mut(&(host, c))
                .and_then(|q| q.iter_mut().find(|x| **x == from))
            {
                *slot = id;
            }
        }
        if let Some(r) = &tunnel_trace.ray {
            self.by_ray.insert(self.ray_key(self.host, r), id);
        }
        if let Some(t) = self.open.get_mut(&id) {
            t.tunnel = tunnel_trace.tunnel.take();
            t.link = Link::Heuristic;
            t.start = t.start.min(tunnel_trace.start);
            if t.ray.is_none() {
                t.ray = tunnel_trace.ray.take();
            }
            for c in tunnel_trace.cursors {
                if t.cursors.len() < 16 {
                    t.cursors.push(c);
                }
            }
        }
        for x in &mut self.tentative_aborts {
            if *x == from {
                *x = id;
            }
        }
        for p in self.primaries.values_mut().flat_map(|q| q.iter_mut()) {
            if p.id == from {
                p.id = id;
            }
        }
    }

    fn tunnel_request(
        &mut self,
        event: &Event,
        method: &str,
        path: &str,
        conn_index: Option<u8>,
        ray: Option<&RayId>,
        connecting_ip: Option<&str>,
    ) {
        let ts = event.entry.realtime;
        // The server's Incoming is occasionally stamped before cloudflared's request line.
        let existing = ray
            .and_then(|r| self.by_ray.get(&self.ray_key(self.host, r)).copied())
            .filter(|id| self.open.get(id).is_some_and(|t| t.tunnel.is_none()));
        // Or, by route and client, an origin request logged first (the tunnel's stream
        // read behind the server's).
        let heuristic = if existing.is_none() {
            self.origin_heuristic_match(ts, method, path, connecting_ip, ray)
        } else {
            None
        };
        let id = if let Some(id) = existing {
            if let Some(t) = self.open.get_mut(&id) {
                t.link = Link::Exact;
            }
            id
        } else if let Some(id) = heuristic {
            self.unindex_origin(id);
            if let Some(t) = self.open.get_mut(&id) {
                t.link = Link::Heuristic;
            }
            id
        } else {
            let id = self.new_trace(ts);
            if let Some(t) = self.open.get_mut(&id) {
                t.link = Link::TunnelOnly;
                t.method = Some(method.into());
                t.path = Some(path.into());
                t.is_stream = is_stream_route(Some(method), Some(path));
                t.client_ip = connecting_ip.map(Box::from);
                t.host.clone_from(&event.entry.origin.hostname);
            }
            self.index_unjoined(id, ts, path);
            id
        };
        if let Some(t) = self.open.get_mut(&id) {
            t.tunnel = Some(TunnelSide {
                request: Some(ts),
                conn_index,
                ..TunnelSide::default()
            });
            t.start = t.start.min(ts);
            self.open_start_floor = self.open_start_floor.min(ts);
            if let Some(r) = ray {
                t.ray = Some(r.clone());
            }
        }
        if let Some(r) = ray {
            self.by_ray.insert(self.ray_key(self.host, r), id);
        }
        if let Some(c) = conn_index {
            self.tunnel_fifo
                .entry((self.host, c))
                .or_default()
                .push_back(id);
        }
        self.add_cursor(id, event);
    }

    /// A response line (`200 OK`). With a ray it is exact. Without one (every version
    /// since 2024.2.1) it belongs to one of its connection's requests in flight: the one
    /// whose origin already answered with this status; else, when some of them still
    /// wait for the origin's answer, the line waits (up to `CLAIM_WINDOW_US`) for that
    /// answer to claim it — cloudflared writes it after copying the body, usually just
    /// before the server's Outgoing; else (cloudflared alone) the youngest request in
    /// flight, as under concurrency a quick answer is far likelier than the end of a long
    /// call that began before it.
    fn tunnel_response(
        &mut self,
        event: &Event,
        status: u16,
        conn_index: Option<u8>,
        ray: Option<&RayId>,
    ) {
        let ts = event.entry.realtime;
        let by_ray = ray
            .and_then(|r| self.by_ray.get(&self.ray_key(self.host, r)).copied())
            .filter(|id| self.open.contains_key(id));
        if let Some(id) = by_ray {
            self.set_response(id, ts, status, event.entry.cursor.as_ref());
            return;
        }
        let Some(conn) = conn_index else { return };
        let key = (self.host, conn);
        let Some(q) = self.tunnel_fifo.get(&key) else {
            return;
        };
        let in_flight = |t: &&Trace| {
            t.tunnel
                .as_ref()
                .is_some_and(|s| s.response.is_none() && s.failure.is_none())
                && t.start <= ts
        };
        // Of the requests the origin answered so, the one answered closest to this line
        // (cloudflared writes it once the body is copied, moments after the answer;
        // cloudflared.md §2.2 R2): not the oldest, or one
        // answer whose line never came (a body copy that failed) would take the next
        // request's line, and that one the next, down the connection.
        let answered_so = q
            .iter()
            .filter_map(|id| self.open.get(id))
            .filter(in_flight)
            .filter_map(|t| {
                let o = t.origin.as_ref()?;
                // A stream's Outgoing is its start; its response line, if any, its end.
                if t.is_stream || origin_said(o) != Some(status) || self.undelivered(t) {
                    return None;
                }
                let answered_at = o.outgoing.or(o.access_at)?;
                let gap = answered_at.0.abs_diff(ts.0);
                (gap <= CLAIM_WINDOW_US).then_some((gap, t.id))
            })
            .min()
            .map(|(_, id)| id);
        if let Some(id) = answered_so {
            self.set_response(id, ts, status, event.entry.cursor.as_ref());
            return;
        }
        let origin_to_come = q
            .iter()
            .filter_map(|id| self.open.get(id))
            .filter(in_flight)
            .any(|t| t.origin.as_ref().is_some_and(|o| origin_said(o).is_none()));
        if origin_to_come {
            if self.unclaimed.len() >= MAX_UNCLAIMED {
                if let Some(u) = self.unclaimed.pop_front() {
                    self.settle_unclaimed(&u);
                }
            }
            self.unclaimed.push_back(Unclaimed {
                at: ts,
                host: self.host,
                conn,
                status,
                cursor: event.entry.cursor.clone(),
            });
            return;
        }
        let u = Unclaimed {
            at: ts,
            host: self.host,
            conn,
            status,
            cursor: event.entry.cursor.clone(),
        };
        self.settle_unclaimed(&u);
    }

    /// A response line nobody's origin answer claimed: the youngest request in flight on
    /// its connection that began before it, that the origin either never logged or
    /// answered with the same status (one it is still working on has no response yet).
    fn settle_unclaimed(&mut self, u: &Unclaimed) {
        let Some(q) = self.tunnel_fifo.get(&(u.host, u.conn)) else {
            return;
        };
        let id = q
            .iter()
            .rev()
            .filter_map(|id| self.open.get(id))
            .find(|t| {
                t.start <= u.at
                    && !self.undelivered(t)
                    && t.tunnel
                        .as_ref()
                        .is_some_and(|s| s.response.is_none() && s.failure.is_none())
                    // A request the origin is still working on has no response yet.
                    && t
                        .origin
                        .as_ref()
                        .is_none_or(|o| origin_said(o) == Some(u.status))
            })
            .map(|t| t.id);
        if let Some(id) = id {
            self.set_response(id, u.at, u.status, u.cursor.as_ref());
        }
    }

    /// The origin answered request `id`: a waiting response line on its connection with
    /// the same status, written since the request began, is its.
    fn claim_response(&mut self, id: u64) {
        let Some(t) = self.open.get(&id) else { return };
        let Some(s) = t.tunnel.as_ref() else { return };
        if s.response.is_some() || s.failure.is_some() {
            return;
        }
        let (Some(conn), Some(began)) = (s.conn_index, s.request) else {
            return;
        };
        // An answer nobody received (no access line while access lines are logged) got
        // no response line: cloudflared writes one only after delivering the body.
        if self.undelivered(t) {
            return;
        }
        let status = t.origin.as_ref().and_then(origin_said);
        let answered_at = t
            .origin
            .as_ref()
            .and_then(|o| o.outgoing.or(o.access_at))
            .unwrap_or(self.latest);
        let host = t.host_key;
        // The response line closest in time to the origin's answer.
        let pos = self
            .unclaimed
            .iter()
            .enumerate()
            .filter(|(_, u)| {
                u.host == host
                    && u.conn == conn
                    && u.at >= began
                    && status.is_none_or(|s| s == u.status)
            })
            .min_by_key(|(_, u)| u.at.0.abs_diff(answered_at.0))
            .map(|(i, _)| i);
        if let Some(u) = pos.and_then(|p| self.unclaimed.remove(p)) {
            self.set_response(id, u.at, u.status, u.cursor.as_ref());
        }
    }

    fn set_response(&mut self, id: u64, ts: Timestamp, status: u16, cursor: Option<&Cursor>) {
        let Some(t) = self.open.get_mut(&id) else {
            return;
        };
        let key = t
            .tunnel
            .as_ref()
            .and_then(|s| s.conn_index)
            .map(|c| (t.host_key, c));
        if let Some(s) = t.tunnel.as_mut() {
            s.response = Some(ts);
            s.status = Some(status);
        }
        if let Some(c) = cursor {
            self.add_cursor_value(id, c);
        }
        if let Some(q) = key.and_then(|k| self.tunnel_fifo.get_mut(&k)) {
            remove_id(q, id);
        }
        self.maybe_complete(id, ts);
    }

    fn proxy_error(&mut self, event: &Event, e: &ProxyError<'_>) {
        let &ProxyError {
            line,
            failure,
            conn_index,
            dest,
            ray,
            error,
        } = e;
        let ts = event.entry.realtime;
        if line != ProxyLine::Primary {
            if let Some(id) = self.follow_up_target(ts, conn_index, line) {
                if let Some(t) = self.open.get_mut(&id) {
                    if let Some(d) = dest {
                        let path = url_path(d);
                        if t.path.is_none() {
                            t.path = Some(path.into());
                            t.is_stream = is_stream_route(t.method.as_deref(), Some(path));
                        }
                    }
                    if let Some(s) = t.tunnel.as_mut() {
                        s.followed_up = true;
                    }
                }
                self.add_cursor(id, event);
                return;
            }
            if line == ProxyLine::StreamTeardown {
                return;
            }
            // A follow-up without its primary (before the window, or lost): it still
            // stands for one request.
        }
        let (id, cancel) = match failure {
            ProxyFailure::Cancelled => {
                let (id, kind) = self.cancel_target(ts, conn_index, ray);
                (id, Some(kind))
            }
            _ => (self.failed_request_for(ts, failure, conn_index, ray), None),
        };
        let host = self.host;
        let mut unclaimed_key = None;
        if let Some(t) = self.open.get_mut(&id) {
            let s = t.tunnel.get_or_insert_with(TunnelSide::default);
            s.failure = Some(failure.clone());
            s.failure_at = Some(ts);
            s.error = Some(error.into());
            s.conn_index = s.conn_index.or(conn_index);
            s.followed_up = line != ProxyLine::Primary;
            s.cancel = cancel;
            unclaimed_key = s.conn_index;
            if let Some(d) = dest {
                t.path.get_or_insert_with(|| url_path(d).into());
            }
            t.end = Some(ts);
        }
        let q = self.primaries.entry((host, conn_index)).or_default();
        while q.front().is_some_and(|p| {
            ts.saturating_since_us(p.at) > FOLLOW_UP_WINDOW_US || q.len() >= MAX_PRIMARIES_PER_CONN
        }) {
            q.pop_front();
        }
        q.push_back(Primary {
            id,
            at: ts,
            followed: line != ProxyLine::Primary,
            torn_down: false,
        });
        self.add_cursor(id, event);
        if let Some(q) = unclaimed_key.and_then(|c| self.tunnel_fifo.get_mut(&(host, c))) {
            remove_id(q, id);
        }
        let mut id = id;
        if cancel.is_some() && self.open.get(&id).is_some_and(|t| t.origin.is_none()) {
            if let Some(origin) = self.origin_for_cancel(id) {
                self.absorb_tunnel(origin, id);
                id = origin;
            } else {
                if self.cancelled_unjoined.len() >= MAX_TENTATIVE_ABORTS {
                    self.cancelled_unjoined.pop_front();
                }
                self.cancelled_unjoined.push_back(id);
            }
        }
        let Some(t) = self.open.get(&id) else { return };
        if let Some(kind) = cancel {
            // Known now, counted at seal: detection should not wait for the seal.
            self.cancels.push(Cancel {
                at: ts,
                outcome: match kind {
                    CancelKind::EdgeTimeout => Outcome::EdgeTimeout,
                    CancelKind::ClientAbort => Outcome::ClientAbort,
                },
                label: t
                    .tool
                    .as_deref()
                    .map_or_else(|| t.route(), |tool| format!("tool {tool}")),
                counted: ts >= self.count_from,
                started: t
                    .tunnel
                    .as_ref()
                    .and_then(|s| s.request)
                    .or(t.origin.as_ref().and_then(|o| o.incoming)),
                // The request's first line and the cancel line (added last).
                cursors: t
                    .cursors
                    .first()
                    .into_iter()
                    .chain(t.cursors.last())
                    .cloned()
                    .collect(),
                host: t.host.clone(),
            });
        }
        // A request the edge gave up on may still be running at the origin: it stays open
        // until the origin answers (or the TTL), so its late answer joins it instead of
        // counting as another request.
        let origin_running = t
            .origin
            .as_ref()
            .is_some_and(|o| o.outgoing.is_none() && !o.error);
        if !origin_running {
            self.complete(id, ts);
        }
    }

    /// The request a follow-up line (R4/R5, or the teardown R10/R11) is about: the oldest
    /// primary on its host and connection within `FOLLOW_UP_WINDOW_US` that has not had
    /// this kind of follow-up yet. cloudflared writes a failure's lines in order from one
    /// goroutine, so when two failures' lines interleave (A, B, A's follow-up, B's) the
    /// follow-ups still find their own primary. A line with no connection (HTTP/2's R5)
    /// looks at every connection of its host.
    fn follow_up_target(
        &mut self,
        ts: Timestamp,
        conn: Option<u8>,
        line: ProxyLine,
    ) -> Option<u64> {
        let host = self.host;
        let wants = |p: &Primary| match line {
            ProxyLine::RequestFailed => !p.followed,
            _ => !p.torn_down,
        };
        let mut best: Option<((HostKey, Option<u8>), usize, Timestamp)> = None;
        for (key, q) in &self.primaries {
            if key.0 != host || (conn.is_some() && key.1.is_some() && key.1 != conn) {
                continue;
            }
            let found = q
                .iter()
                .enumerate()
                .find(|(_, p)| wants(p) && ts.saturating_since_us(p.at) <= FOLLOW_UP_WINDOW_US);
            if let Some((i, p)) = found {
                if best.is_none_or(|(_, _, at)| p.at < at) {
                    best = Some((*key, i, p.at));
                }
            }
        }
        let (key, i, _) = best?;
        let p = self.primaries.get_mut(&key)?.get_mut(i)?;
        match line {
            ProxyLine::RequestFailed => p.followed = true,
            _ => p.torn_down = true,
        }
        let id = p.id;
        self.open.contains_key(&id).then_some(id)
    }

    /// Requests of this host in flight when a cancel came: on its connection (every
    /// connection when the line names none), logged by cloudflared, not answered by the
    /// origin (an origin that sent its headers cannot be "waited for" any more).
    fn tunnel_in_flight(&self, ts: Timestamp, conn: Option<u8>) -> Vec<InFlight> {
        let mut out = Vec::new();
        for ((host, c), q) in &self.tunnel_fifo {
            if *host != self.host || conn.is_some_and(|want| want != *c) {
                continue;
            }
            for id in q {
                let Some(t) = self.open.get(id) else { continue };
                let Some(s) = t.tunnel.as_ref() else { continue };
                let Some(began) = s.request else { continue };
                let origin_answered = t
                    .origin
                    .as_ref()
                    .is_some_and(|o| o.outgoing.is_some() || o.error || o.access_status.is_some());
                if s.response.is_none() && s.failure.is_none() && !origin_answered && began <= ts {
                    out.push(InFlight {
                        id: *id,
                        age_us: ts.saturating_since_us(began),
                    });
                }
            }
        }
        out
    }

    /// Requests of this host the origin logged and has not answered, that cloudflared
    /// never logged (at info level it writes nothing for a request until it fails).
    fn origin_in_flight(&self, ts: Timestamp, guessed_answers: bool) -> Vec<InFlight> {
        let mut out = Vec::new();
        for ((host, _), q) in &self.origin_fifo {
            if *host != self.host {
                continue;
            }
            for id in &q.ids {
                let Some(t) = self.open.get(id) else { continue };
                let Some(o) = t.origin.as_ref() else { continue };
                let Some(began) = o.incoming else { continue };
                // An anonymous answer nobody received, paired by a guess among several
                // open requests (stock format), may be another request's: the edge's
                // cancel, which knows the age, may take it back.
                let unanswered = o.outgoing.is_none()
                    || (guessed_answers && o.ambiguous && self.access_log_seen);
                if t.tunnel.is_none()
                    && !t.is_stream
                    && unanswered
                    && !o.error
                    && o.access_status.is_none()
                    && began <= ts
                {
                    out.push(InFlight {
                        id: *id,
                        age_us: ts.saturating_since_us(began),
                    });
                }
            }
        }
        out
    }

    /// The request in flight whose age fits the edge limit best, if any fits.
    fn edge_fit(&self, candidates: &[InFlight]) -> Option<u64> {
        let lo = self.edge_timeout_us.saturating_sub(EDGE_EARLY_US);
        candidates
            .iter()
            .filter(|c| c.age_us >= lo)
            .min_by_key(|c| (c.age_us.abs_diff(self.edge_timeout_us), c.id))
            .map(|c| c.id)
    }

    /// The request a visitor most likely abandoned: the youngest in flight at least
    /// `ABORT_MIN_AGE_US` old, else the youngest; never one old enough for the edge limit
    /// (its own cancel is still to come).
    fn abort_fit(&self, candidates: &[InFlight]) -> Option<u64> {
        let lo = self.edge_timeout_us.saturating_sub(EDGE_EARLY_US);
        let young = candidates.iter().filter(|c| c.age_us < lo);
        young
            .clone()
            .filter(|c| c.age_us >= ABORT_MIN_AGE_US)
            .min_by_key(|c| (c.age_us, std::cmp::Reverse(c.id)))
            .or_else(|| young.min_by_key(|c| (c.age_us, std::cmp::Reverse(c.id))))
            .map(|c| c.id)
    }

    /// The request a cancel (`Incoming request ended abruptly`) ended, and who ended it.
    /// The edge gives up after its limit (100 s by default): a request in flight about
    /// that long on the cancel's connection is an edge timeout (524); with cloudflared at
    /// info level (no request lines) the origin's view decides: a request it logged and
    /// has not answered, open about the edge limit. Otherwise the visitor left. With no
    /// request in flight at all, the cancel still stands for one request; it is an edge
    /// timeout when the server had been silent for the edge limit (a blocked event loop
    /// logs nothing, not even the requests queued behind it).
    fn cancel_target(
        &mut self,
        ts: Timestamp,
        conn: Option<u8>,
        ray: Option<&RayId>,
    ) -> (u64, CancelKind) {
        let lo = self.edge_timeout_us.saturating_sub(EDGE_EARLY_US);
        let by_age = |age: u64| {
            if age >= lo {
                CancelKind::EdgeTimeout
            } else {
                CancelKind::ClientAbort
            }
        };
        if let Some(id) = ray.and_then(|r| self.by_ray.get(&self.ray_key(self.host, r)).copied()) {
            if let Some(t) = self.open.get(&id) {
                let began = t
                    .tunnel
                    .as_ref()
                    .and_then(|s| s.request)
                    .or(t.origin.as_ref().and_then(|o| o.incoming))
                    .unwrap_or(t.start);
                return (id, by_age(ts.saturating_since_us(began)));
            }
        }
        let tunnel = self.tunnel_in_flight(ts, conn);
        if let Some(id) = self.edge_fit(&tunnel) {
            return (id, CancelKind::EdgeTimeout);
        }
        if let Some(id) = self.edge_fit(&self.origin_in_flight(ts, true)) {
            self.join_tunnel_cancel(id, conn);
            return (id, CancelKind::EdgeTimeout);
        }
        let origin = self.origin_in_flight(ts, false);
        let abort_target = self
            .abort_fit(&tunnel)
            .map(|id| (id, false))
            .or_else(|| self.abort_fit(&origin).map(|id| (id, true)));
        // Which request a visitor abandoned is a guess under concurrency; the edge's
        // cancel is not: when a request taken for an earlier abort is the one that fits
        // the edge limit now, it was the edge's, and that abort moves to another request.
        if let Some(old) = self.aborted_fitting_edge(ts, conn) {
            self.move_abort(old, conn);
            // Joined to the tunnel only by that abort, it is joined again by this cancel.
            if self
                .open
                .get(&old)
                .is_some_and(|t| t.link == Link::OriginOnly)
            {
                self.join_tunnel_cancel(old, conn);
            }
            return (old, CancelKind::EdgeTimeout);
        }
        if let Some((id, from_origin)) = abort_target {
            if from_origin {
                self.join_tunnel_cancel(id, conn);
            }
            self.remember_abort(id);
            return (id, CancelKind::ClientAbort);
        }
        let silent = self.last_origin_line.get(&self.host).is_some_and(|t| {
            ts.saturating_since_us(*t) + STALL_TOLERANCE_US >= self.edge_timeout_us
        });
        let id = self.new_trace(ts);
        if let Some(t) = self.open.get_mut(&id) {
            t.link = Link::TunnelOnly;
        }
        let kind = if silent {
            CancelKind::EdgeTimeout
        } else {
            CancelKind::ClientAbort
        };
        (id, kind)
    }

    /// Remembers a request an abort was attributed to (bounded: the oldest go first).
    fn remember_abort(&mut self, id: u64) {
        let open = &self.open;
        self.tentative_aborts.retain(|x| open.contains_key(x));
        if self.tentative_aborts.len() >= MAX_TENTATIVE_ABORTS {
            self.tentative_aborts.pop_front();
        }
        self.tentative_aborts.push_back(id);
    }

    /// A request of this host and connection taken for an abort, still open, whose age
    /// fits the edge limit at `ts` best.
    fn aborted_fitting_edge(&self, ts: Timestamp, conn: Option<u8>) -> Option<u64> {
        let candidates: Vec<InFlight> = self
            .tentative_aborts
            .iter()
            .filter_map(|id| self.open.get(id))
            .filter(|t| {
                t.host_key == self.host
                    && t.tunnel.as_ref().is_some_and(|s| {
                        // A request only the origin logged has no connection of its own.
                        s.cancel == Some(CancelKind::ClientAbort)
                            && (s.request.is_none()
                                || conn.is_none()
                                || s.conn_index.is_none()
                                || s.conn_index == conn)
                    })
            })
            .map(|t| {
                let began = t
                    .tunnel
                    .as_ref()
                    .and_then(|s| s.request)
                    .or(t.origin.as_ref().and_then(|o| o.incoming))
                    .unwrap_or(t.start);
                InFlight {
                    id: t.id,
                    age_us: ts.saturating_since_us(began),
                }
            })
            .collect();
        self.edge_fit(&candidates)
    }

    /// Moves the abort attributed to `from` to the request it most likely ended (see
    /// [`Correlator::abort_owner`]), or to a request of its own when none fits. The abort
    /// keeps its time and text; `from` is free for the cancel being attributed.
    fn move_abort(&mut self, from: u64, conn: Option<u8>) {
        self.tentative_aborts.retain(|x| *x != from);
        let Some(t) = self.open.get_mut(&from) else {
            return;
        };
        let Some(s) = t.tunnel.as_mut() else { return };
        let (failure, at, error) = (s.failure.take(), s.failure_at.take(), s.error.take());
        s.cancel = None;
        s.followed_up = false;
        if s.request.is_none() && t.link == Link::Heuristic {
            // Joined to the tunnel only by that cancel.
            t.tunnel = None;
            t.link = Link::OriginOnly;
        }
        let (Some(failure), Some(at)) = (failure, at) else {
            return;
        };
        let id = if let Some((id, from_origin)) = self.abort_owner(at, conn, from) {
            if from_origin {
                self.join_tunnel_cancel(id, conn);
            }
            id
        } else {
            let id = self.new_trace(at);
            if let Some(t) = self.open.get_mut(&id) {
                t.link = Link::TunnelOnly;
            }
            id
        };
        let host = self.host;
        let mut key = None;
        if let Some(t) = self.open.get_mut(&id) {
            let s = t.tunnel.get_or_insert_with(TunnelSide::default);
            s.failure = Some(failure);
            s.failure_at = Some(at);
            s.error = error;
            s.conn_index = s.conn_index.or(conn);
            s.followed_up = true;
            s.cancel = Some(CancelKind::ClientAbort);
            key = s.conn_index;
            t.end = Some(at);
        }
        if let Some(q) = key.and_then(|c| self.tunnel_fifo.get_mut(&(host, c))) {
            remove_id(q, id);
        }
        let origin_running = self.open.get(&id).is_some_and(|t| {
            t.origin
                .as_ref()
                .is_some_and(|o| o.outgoing.is_none() && !o.error)
        });
        if !origin_running {
            self.complete(id, at);
        }
        self.remember_abort(id);
    }

    /// The origin answered and nobody received it: no access line while access lines are
    /// logged. cloudflared writes a response line only after delivering the body, so such
    /// a request never takes one.
    fn undelivered(&self, t: &Trace) -> bool {
        self.access_log_seen
            && t.origin
                .as_ref()
                .is_some_and(|o| o.outgoing.is_some() && o.access_status.is_none() && !o.error)
    }

    /// The request an abort at `at` most likely ended, looking back from now: one that was
    /// in flight then (on its connection, or only the origin's), too young for the edge
    /// limit then, and not answered to the tunnel since. A request the origin answered
    /// with no access line (nobody received it) is the strongest sign; then the youngest
    /// at least `ABORT_MIN_AGE_US` old. `true`: only the origin logged it.
    fn abort_owner(&self, at: Timestamp, conn: Option<u8>, exclude: u64) -> Option<(u64, bool)> {
        let lo = self.edge_timeout_us.saturating_sub(EDGE_EARLY_US);
        let abandoned = |t: &Trace| {
            self.access_log_seen
                && t.origin
                    .as_ref()
                    .is_some_and(|o| o.outgoing.is_some() && o.access_status.is_none() && !o.error)
        };
        let mut found: Vec<(InFlight, bool, bool)> = Vec::new();
        for ((host, c), q) in &self.tunnel_fifo {
            if *host != self.host || conn.is_some_and(|want| want != *c) {
                continue;
            }
            for t in q.iter().filter_map(|id| self.open.get(id)) {
                let Some(s) = t.tunnel.as_ref() else { continue };
                let Some(began) = s.request else { continue };
                if t.id != exclude
                    && began <= at
                    && s.response.is_none()
                    && s.failure.is_none()
                    && at.saturating_since_us(began) < lo
                {
                    let age_us = at.saturating_since_us(began);
                    found.push((InFlight { id: t.id, age_us }, abandoned(t), false));
                }
            }
        }
        for ((host, _), q) in &self.origin_fifo {
            if *host != self.host {
                continue;
            }
            for t in q.ids.iter().filter_map(|id| self.open.get(id)) {
                let Some(o) = t.origin.as_ref() else { continue };
                let Some(began) = o.incoming else { continue };
                if t.id != exclude
                    && t.tunnel.is_none()
                    && !t.is_stream
                    && began <= at
                    && o.access_status.is_none()
                    && !o.error
                    && at.saturating_since_us(began) < lo
                {
                    let age_us = at.saturating_since_us(began);
                    found.push((InFlight { id: t.id, age_us }, abandoned(t), true));
                }
            }
        }
        let pick = |want_abandoned: bool| {
            let set = found.iter().filter(|(_, a, _)| *a == want_abandoned);
            set.clone()
                .filter(|(c, _, _)| c.age_us >= ABORT_MIN_AGE_US)
                .min_by_key(|(c, _, _)| (c.age_us, std::cmp::Reverse(c.id)))
                .or_else(|| set.min_by_key(|(c, _, _)| (c.age_us, std::cmp::Reverse(c.id))))
                .map(|(c, _, from_origin)| (c.id, *from_origin))
        };
        pick(true).or_else(|| pick(false))
    }

    /// When a request may be sealed: one the origin answered that nobody received (no
    /// access line) and that the tunnel has not settled waits until the edge limit has
    /// passed for it, so a cancel that comes later still finds it (an abort first taken
    /// for another request moves to it, see [`Correlator::move_abort`]).
    fn seal_deadline(&self, id: u64) -> Option<Timestamp> {
        let t = self.open.get(&id)?;
        let Some(o) = t.origin.as_ref() else {
            // A cancel of a request no origin line has joined yet, while this host's
            // origin logs: its answer (nobody's to receive) may still come and join it.
            let s = t.tunnel.as_ref()?;
            let waits = matches!(s.failure, Some(ProxyFailure::Cancelled))
                && self.last_origin_line.contains_key(&t.host_key);
            return waits.then(|| {
                Timestamp(s.failure_at.unwrap_or(t.start).0 + self.edge_timeout_us + EDGE_LATE_US)
            });
        };
        let waits = self.access_log_seen
            && !t.is_stream
            && o.outgoing.is_some()
            && o.access_status.is_none()
            && !o.error
            && t.tunnel
                .as_ref()
                .is_none_or(|s| s.response.is_none() && s.failure.is_none());
        waits.then(|| Timestamp(t.start.0 + self.edge_timeout_us + EDGE_LATE_US))
    }

    /// A cancel attributed to a request only the origin logged: the two sides are joined
    /// by time alone.
    fn join_tunnel_cancel(&mut self, id: u64, conn: Option<u8>) {
        self.unindex_origin(id);
        if let Some(t) = self.open.get_mut(&id) {
            t.link = Link::Heuristic;
            t.tunnel.get_or_insert_with(|| TunnelSide {
                conn_index: conn,
                ..TunnelSide::default()
            });
        }
    }

    /// The open request a primary failure line (other than a cancel) is about, or a new
    /// tunnel-only one.
    fn failed_request_for(
        &mut self,
        ts: Timestamp,
        failure: &ProxyFailure,
        conn_index: Option<u8>,
        ray: Option<&RayId>,
    ) -> u64 {
        if let Some(id) = ray.and_then(|r| self.by_ray.get(&self.ray_key(self.host, r)).copied()) {
            if self.open.contains_key(&id) {
                return id;
            }
        }
        let unreachable = matches!(failure, ProxyFailure::OriginUnreachable(_));
        let found = conn_index
            .and_then(|c| self.tunnel_fifo.get(&(self.host, c)))
            .and_then(|q| {
                let pending = |id: &u64| {
                    self.open.get(id).is_some_and(|t| {
                        t.tunnel.as_ref().is_some_and(|s| {
                            s.response.is_none() && s.failure.is_none() && s.request.is_some_and(|r| r <= ts)
                        })
                        // An unreachable origin never saw the request.
                        && (!unreachable || t.origin.is_none())
                    })
                };
                if unreachable {
                    q.iter().rev().copied().find(pending)
                } else {
                    q.iter().copied().find(pending)
                }
            });
        if let Some(id) = found {
            return id;
        }
        // A stream closed mid-body with cloudflared at info level (no request line): the
        // origin's oldest open stream that the tunnel has not logged.
        if matches!(failure, ProxyFailure::StreamCancelled) {
            let stream = self
                .origin_fifo
                .iter()
                .filter(|((host, _), _)| *host == self.host)
                .flat_map(|(_, q)| q.ids.iter())
                .filter_map(|id| self.open.get(id))
                .filter(|t| {
                    t.is_stream
                        && t.tunnel.is_none()
                        // Its end may be logged just before the tunnel's line about it
                        // (two streams, read independently).
                        && t.origin.as_ref().is_some_and(|o| {
                            o.incoming.is_some_and(|i| i <= ts)
                                && o.outgoing.is_none_or(|e| {
                                    e.0.abs_diff(ts.0) <= HEURISTIC_WINDOW_US
                                })
                        })
                })
                .min_by_key(|t| t.id)
                .map(|t| t.id);
            if let Some(id) = stream {
                self.join_tunnel_cancel(id, conn_index);
                return id;
            }
        }
        let id = self.new_trace(ts);
        if let Some(t) = self.open.get_mut(&id) {
            t.link = Link::TunnelOnly;
        }
        id
    }

    fn maybe_complete(&mut self, id: u64, ts: Timestamp) {
        let done = self.open.get(&id).is_some_and(|t| {
            let origin_done = t
                .origin
                .as_ref()
                .is_none_or(|o| o.outgoing.is_some() || o.error);
            let tunnel_done = t
                .tunnel
                .as_ref()
                .is_none_or(|s| s.response.is_some() || s.failure.is_some());
            origin_done && tunnel_done
        });
        if done {
            self.complete(id, ts);
        }
    }

    fn complete(&mut self, id: u64, ts: Timestamp) {
        self.completing.push_back((ts, id));
    }

    /// Seals completed traces older than the join grace period, settles response lines
    /// no origin answer claimed in time, and expires stale open requests.
    pub fn seal_due(&mut self, now: Timestamp) {
        if !self.pending_access.is_empty() {
            let stale = |a: &Access| now.saturating_since_us(a.at) > ACCESS_WINDOW_US;
            let keys: Vec<(HostKey, u32)> = self
                .pending_access
                .iter()
                .filter(|(_, q)| q.front().is_some_and(stale))
                .map(|(k, _)| *k)
                .collect();
            for key in keys {
                while let Some(a) = self.pending_access.get_mut(&key).and_then(|q| {
                    if q.front().is_some_and(stale) {
                        q.pop_front()
                    } else {
                        None
                    }
                }) {
                    self.place_access(key, &a);
                }
                if self
                    .pending_access
                    .get(&key)
                    .is_some_and(VecDeque::is_empty)
                {
                    self.pending_access.remove(&key);
                }
            }
        }
        while self
            .unclaimed
            .front()
            .is_some_and(|u| now.saturating_since_us(u.at) >= CLAIM_WINDOW_US)
        {
            if let Some(u) = self.unclaimed.pop_front() {
                self.settle_unclaimed(&u);
            }
        }
        while let Some(&(at, id)) = self.completing.front() {
            if now.saturating_since_us(at) < self.seal_after_us {
                break;
            }
            self.completing.pop_front();
            match self.seal_deadline(id) {
                Some(deadline) if deadline > now => {
                    self.postponed.insert((deadline, id));
                }
                _ => self.seal(id),
            }
        }
        while let Some(&(deadline, id)) = self.postponed.first() {
            if deadline > now {
                break;
            }
            self.postponed.pop_first();
            self.seal(id);
        }
        if self.open.len() > self.completing.len()
            && now.0 > self.ttl_us
            && Timestamp(now.0 - self.ttl_us) > self.open_start_floor
        {
            let cutoff = Timestamp(now.0 - self.ttl_us);
            let mut floor = Timestamp(u64::MAX);
            let mut stale = Vec::new();
            for (id, t) in &self.open {
                if t.end.is_none() {
                    if t.start < cutoff {
                        stale.push(*id);
                    } else {
                        floor = floor.min(t.start);
                    }
                }
            }
            self.open_start_floor = floor;
            stale.sort_unstable();
            for id in stale {
                self.expire(id);
            }
        }
    }

    /// End of input: settle every waiting response line, then seal everything.
    pub fn finish(&mut self) {
        let waiting: Vec<((HostKey, u32), VecDeque<Access>)> =
            self.pending_access.drain().collect();
        for (key, q) in waiting {
            for a in q {
                self.place_access(key, &a);
            }
        }
        while let Some(u) = self.unclaimed.pop_front() {
            self.settle_unclaimed(&u);
        }
        let ids: Vec<u64> = self.open_ids.iter().copied().collect();
        for id in ids {
            self.seal(id);
        }
        self.completing.clear();
        self.postponed.clear();
    }

    fn remove_open(&mut self, id: u64) -> Option<Trace> {
        let t = self.open.remove(&id)?;
        self.open_ids.remove(&id);
        if let Some(key) = t.path_key {
            self.unindex_key(key, id);
        }
        if let Some(key) = t.origin_path_key {
            unindex(&mut self.origin_by_path, key, id);
        }
        if let Some(rid) = &t.request_id {
            let key = self.rid_key(t.host_key, rid);
            if self.by_request_id.get(&key) == Some(&id) {
                self.by_request_id.remove(&key);
            }
        }
        if let Some(r) = &t.ray {
            let key = self.ray_key(t.host_key, r);
            if self.by_ray.get(&key) == Some(&id) {
                self.by_ray.remove(&key);
            }
        }
        if let Some(pid) = t.origin.as_ref().map(|o| o.pid.unwrap_or(0)) {
            let key = (t.host_key, pid);
            if let Some(q) = self.origin_fifo.get_mut(&key) {
                q.remove(id);
                if q.ids.is_empty() {
                    self.origin_fifo.remove(&key);
                }
            }
        }
        if let Some(c) = t.tunnel.as_ref().and_then(|s| s.conn_index) {
            if let Some(q) = self.tunnel_fifo.get_mut(&(t.host_key, c)) {
                remove_id(q, id);
            }
        }
        Some(t)
    }

    fn seal(&mut self, id: u64) {
        let Some(mut t) = self.remove_open(id) else {
            return;
        };
        // Only streams are streams: a GET on a stream route answered with an error (405,
        // 400, 404…) is an ordinary request with a latency; one answered 200 (or still
        // open) is a stream whose duration is a lifetime.
        if t.is_stream && t.answered_status().is_some_and(|s| s >= 300) {
            t.is_stream = false;
        }
        t.outcome = Self::outcome_of(&t);
        t.abandoned = self.access_log_seen
            && t.origin_answered()
            && !t.is_stream
            && t.origin
                .as_ref()
                .is_some_and(|o| o.access_status.is_none() && !o.error);
        // A failure counts when it happened (an abandoned request's answer comes later).
        let settled = t
            .tunnel
            .as_ref()
            .and_then(|s| s.failure_at)
            .or(t.end)
            .unwrap_or(t.start);
        t.before_window = settled < self.count_from;
        if !t.before_window {
            match t.link {
                Link::Exact => self.links.exact += 1,
                Link::Heuristic => self.links.heuristic += 1,
                Link::TunnelOnly => self.links.tunnel_only += 1,
                Link::OriginOnly => self.links.origin_only += 1,
            }
        }
        if t.latency.is_none() && t.tunnel_answer().is_some() {
            t.latency = t.tunnel_us().map(|us| (us, LatencySource::Tunnel));
        }
        if t.is_stream {
            t.latency = None;
        }
        self.sealed.push(t);
    }

    fn outcome_of(t: &Trace) -> Outcome {
        if let Some(s) = t.tunnel.as_ref() {
            if let Some(failure) = s.failure.as_ref() {
                return match failure {
                    ProxyFailure::OriginUnreachable(cause) => Outcome::BadGateway(*cause),
                    ProxyFailure::Cancelled => match s.cancel {
                        Some(CancelKind::EdgeTimeout) => Outcome::EdgeTimeout,
                        _ => Outcome::ClientAbort,
                    },
                    ProxyFailure::StreamCancelled => Outcome::StreamClosed,
                    ProxyFailure::Other => Outcome::ProxyFailed,
                };
            }
        }
        match t.origin_status() {
            Some(s) if t.origin_answered() => Outcome::Served(s),
            // Only cloudflared's view (`-u cloudflared`, or the server's logs elsewhere):
            // its response line is the answer.
            _ => match t.tunnel.as_ref().and_then(|s| s.status) {
                Some(s) if t.origin.is_none() => Outcome::Served(s),
                _ => settle_unanswered(t),
            },
        }
    }

    /// Cancellations seen since the last call, classified (edge timeout or client abort).
    pub fn take_cancels(&mut self) -> Vec<Cancel> {
        std::mem::take(&mut self.cancels)
    }

    /// Sealed traces since the last call, for the model to count.
    pub fn take_sealed(&mut self) -> Vec<Trace> {
        std::mem::take(&mut self.sealed)
    }

    /// Gives back the vector [`Correlator::take_sealed`] returned, emptied, so the next
    /// traces reuse its room instead of growing a new one (once per entry in a flood).
    pub fn recycle_sealed(&mut self, mut emptied: Vec<Trace>) {
        emptied.clear();
        if self.sealed.is_empty() && emptied.capacity() > self.sealed.capacity() {
            self.sealed = emptied;
        }
    }

    /// Keeps a sealed trace in the bounded ring for views (none with a capacity of 0).
    pub fn keep(&mut self, trace: Trace) {
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
    pub fn first_recent_ordinal(&self) -> u64 {
        self.kept_total - self.recent.len() as u64
    }

    /// The kept trace with ordinal `n` (see [`Correlator::first_recent_ordinal`]), O(1).
    pub fn recent_by_ordinal(&self, n: u64) -> Option<&Trace> {
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
    q: &VecDeque<(Timestamp, u64)>,
    ts: Timestamp,
    fits: impl Fn(u64) -> bool,
) -> Option<u64> {
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
fn insert_in_time_order(q: &mut VecDeque<(Timestamp, u64)>, at: Timestamp, id: u64) {
    if q.back().is_none_or(|(t, _)| *t <= at) {
        q.push_back((at, id));
    } else {
        let pos = q.partition_point(|(t, _)| *t <= at);
        q.insert(pos, (at, id));
    }
}

/// Removes `id` from a path index's entry `key`.
fn unindex(index: &mut HashMap<u64, VecDeque<(Timestamp, u64)>, RandomState>, key: u64, id: u64) {
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
fn remove_id(q: &mut VecDeque<u64>, id: u64) {
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
            c.keep(Trace::new(id, Timestamp(id)));
        }
        assert_eq!(c.first_recent_ordinal(), 1);
        assert!(c.recent_by_ordinal(0).is_none());
        assert_eq!(c.recent_by_ordinal(1).map(|t| t.id), Some(11));
        assert_eq!(c.recent_by_ordinal(2).map(|t| t.id), Some(12));
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
