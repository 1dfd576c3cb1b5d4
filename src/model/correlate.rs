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

use std::collections::{HashMap, VecDeque};

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
    /// The server had written nothing for at least the edge limit when this request was
    /// cancelled: with no start time known (cloudflared at info level), the cancel is
    /// taken as the edge giving up on a stalled server.
    pub origin_silent_past_edge_limit: bool,
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
}

impl Trace {
    fn new(id: u64, start: Timestamp) -> Trace {
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
            origin: None,
            tunnel: None,
            link: Link::OriginOnly,
            outcome: Outcome::Unanswered,
            latency: None,
            is_stream: false,
            abandoned: false,
            cursors: Vec::new(),
        }
    }

    /// The origin's final status: its own `status_code`, else the access line's.
    pub fn origin_status(&self) -> Option<u16> {
        let o = self.origin.as_ref()?;
        o.status
            .or(o.access_status)
            .or(if o.error { Some(500) } else { None })
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

/// The maps are keyed by request ids, ray ids, pids and connection indexes, which come
/// from log text strangers can influence (headers reach the logs): they hash with
/// `ahash` under a per-process random seed, which is fast and still resists crafted
/// collisions, unlike an unseeded hash such as `FxHash`. Every map is bounded anyway
/// (`cap` open requests, each with a TTL).
#[derive(Debug)]
pub struct Correlator {
    next_id: u64,
    open: HashMap<u64, Trace, RandomState>,
    by_request_id: HashMap<RequestId, u64, RandomState>,
    by_ray: HashMap<String, u64, RandomState>,
    /// Open origin requests per process, in arrival order.
    origin_fifo: HashMap<u32, OriginQueue, RandomState>,
    /// Open tunnel requests per connection, in arrival order.
    tunnel_fifo: HashMap<u8, VecDeque<u64>, RandomState>,
    /// The last primary failure per connection (and overall), for follow-up lines.
    last_failure: HashMap<Option<u8>, (u64, Timestamp), RandomState>,
    /// Completed traces waiting to be sealed, in completion order.
    completing: VecDeque<(Timestamp, u64)>,
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
    /// The last line any origin process wrote (a stalled server writes nothing).
    last_origin_line: Option<Timestamp>,
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

impl Correlator {
    pub fn new(settings: &Settings) -> Correlator {
        Correlator {
            next_id: 1,
            open: HashMap::default(),
            by_request_id: HashMap::default(),
            by_ray: HashMap::default(),
            origin_fifo: HashMap::default(),
            tunnel_fifo: HashMap::default(),
            last_failure: HashMap::default(),
            completing: VecDeque::new(),
            open_start_floor: Timestamp(u64::MAX),
            sealed: Vec::new(),
            cancels: Vec::new(),
            recent: VecDeque::new(),
            links: LinkCounts::default(),
            expired: 0,
            access_log_seen: false,
            latest: Timestamp(0),
            last_origin_line: None,
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
            .filter(|t| t.is_stream && t.end.is_none())
            .count()
    }

    pub fn apply(&mut self, event: &Event, role: Role) {
        self.apply_kind(event, &event.kind, role);
    }

    pub fn apply_kind(&mut self, event: &Event, kind: &EventKind, role: Role) {
        let ts = event.entry.realtime;
        self.latest = self.latest.max(ts);
        if role == Role::Origin && !event.entry.is_from_pid1() {
            self.last_origin_line = Some(self.last_origin_line.map_or(ts, |t| t.max(ts)));
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
                    request_id.as_ref(),
                    method.as_deref(),
                    path.as_deref(),
                    client_ip.as_deref(),
                    cf_ray.as_ref(),
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
                    request_id.as_ref(),
                    *status,
                    *duration_ms,
                    method.as_deref(),
                    path.as_deref(),
                    *tool_error,
                    false,
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
                    request_id.as_ref(),
                    None,
                    *duration_ms,
                    method.as_deref(),
                    path.as_deref(),
                    false,
                    true,
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
                    .and_then(|p| self.origin_fifo.get(&p))
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
                self.tunnel_response(ts, *status, *conn_index, ray.as_ref());
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
                    *line,
                    failure,
                    *conn_index,
                    dest.as_deref(),
                    ray.as_ref(),
                    error,
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
        self.open.insert(id, Trace::new(id, start));
        self.open_start_floor = self.open_start_floor.min(start);
        id
    }

    fn evict_oldest(&mut self) {
        if let Some(&oldest) = self.open.keys().min() {
            if let Some(mut t) = self.remove_open(oldest) {
                self.expired += 1;
                t.outcome = settle_unanswered(&t);
                self.sealed.push(t);
            }
        }
    }

    fn add_cursor(&mut self, id: u64, event: &Event) {
        if let (Some(t), Some(c)) = (self.open.get_mut(&id), &event.entry.cursor) {
            if t.cursors.len() < 16 {
                t.cursors.push(c.clone());
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn origin_incoming(
        &mut self,
        event: &Event,
        request_id: Option<&RequestId>,
        method: Option<&str>,
        path: Option<&str>,
        client_ip: Option<&str>,
        ray: Option<&RayId>,
    ) {
        let ts = event.entry.realtime;
        // Join a tunnel request already seen, exactly by ray or heuristically.
        let existing = match ray {
            Some(r) => self
                .by_ray
                .get(&*r.key())
                .copied()
                .filter(|id| self.open.get(id).is_some_and(|t| t.origin.is_none())),
            None => self.heuristic_tunnel_match(ts, method, path, client_ip),
        };
        let id = match existing {
            Some(id) => {
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
            self.by_ray.insert(r.key().into_owned(), id);
        }
        if let Some(rid) = request_id {
            self.by_request_id.insert(rid.clone(), id);
        }
        self.origin_fifo.entry(pid).or_default().ids.push_back(id);
        self.add_cursor(id, event);
    }

    /// An open tunnel-only request (DBG request line, no origin yet) close in time with the
    /// same method and path, and the same client when both sides name one.
    fn heuristic_tunnel_match(
        &self,
        ts: Timestamp,
        method: Option<&str>,
        path: Option<&str>,
        client: Option<&str>,
    ) -> Option<u64> {
        let path = path?;
        let mut best: Option<(u64, u64)> = None;
        for queue in self.tunnel_fifo.values() {
            for id in queue {
                let Some(t) = self.open.get(id) else { continue };
                if t.origin.is_some() || t.tunnel.as_ref().is_some_and(|s| s.failure.is_some()) {
                    continue;
                }
                let Some(req) = t.tunnel.as_ref().and_then(|s| s.request) else {
                    continue;
                };
                let gap = req.0.abs_diff(ts.0);
                let same_route = t.path.as_deref() == Some(path)
                    && (method.is_none() || t.method.as_deref() == method);
                let same_client = match (client, t.client_ip.as_deref()) {
                    (Some(a), Some(b)) => a == b,
                    _ => true,
                };
                if gap <= HEURISTIC_WINDOW_US
                    && same_route
                    && same_client
                    && best.is_none_or(|(g, _)| gap < g)
                {
                    best = Some((gap, *id));
                }
            }
        }
        best.map(|(_, id)| id)
    }

    #[allow(clippy::too_many_arguments, clippy::fn_params_excessive_bools)]
    fn origin_outgoing(
        &mut self,
        event: &Event,
        request_id: Option<&RequestId>,
        status: Option<u16>,
        duration_ms: Option<u64>,
        method: Option<&str>,
        path: Option<&str>,
        tool_error: bool,
        is_error: bool,
    ) {
        let ts = event.entry.realtime;
        let pid = event.entry.pid.unwrap_or(0);
        let (id, ambiguous) = if let Some(rid) = request_id {
            match self.by_request_id.get(rid).copied() {
                Some(id) => (id, false),
                None => (self.orphan_origin(event, rid), false),
            }
        } else {
            // No id: the only open non-stream request of this process, else the oldest.
            let queue = self.origin_fifo.get(&pid);
            let candidates: Vec<u64> = queue
                .map(|q| {
                    q.ids
                        .iter()
                        .copied()
                        .filter(|id| {
                            self.open.get(id).is_some_and(|t| {
                                !t.is_stream
                                    && t.origin
                                        .as_ref()
                                        .is_some_and(|o| o.outgoing.is_none() && !o.error)
                            })
                        })
                        .collect()
                })
                .unwrap_or_default();
            if let Some(&id) = candidates.first() {
                (id, candidates.len() > 1)
            } else {
                // A stream ending, or an Outgoing whose Incoming we never saw.
                let stream = queue.and_then(|q| {
                    q.ids.iter().copied().find(|id| {
                        self.open.get(id).is_some_and(|t| {
                            t.is_stream && t.origin.as_ref().is_some_and(|o| o.outgoing.is_none())
                        })
                    })
                });
                let id = stream.unwrap_or_else(|| self.orphan_origin(event, &RequestId("".into())));
                (id, false)
            }
        };
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
        self.complete(id, ts);
    }

    fn mark_stale_session(&mut self, request_id: Option<&RequestId>) {
        let id = request_id.and_then(|r| self.by_request_id.get(r)).copied();
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

    fn origin_access(
        &mut self,
        event: &Event,
        client_ip: &str,
        method: &str,
        target: &str,
        status: u16,
    ) {
        self.access_log_seen = true;
        let pid = event.entry.pid.unwrap_or(0);
        let path = target.split('?').next().unwrap_or(target);
        let matches = |t: &Trace| {
            t.origin.as_ref().is_some_and(|o| o.access_status.is_none())
                && t.method.as_deref().is_none_or(|m| m == method)
                // The server logs `?<redacted>` for a query; uvicorn logs the query itself.
                && t.path.as_deref().is_none_or(|p| p.split('?').next() == Some(path))
        };
        // Same client first (uvicorn's client is the X-Forwarded-For hop the server also
        // logs): under concurrency the oldest open request is often a slow one still running.
        let same_client = |t: &Trace| t.client_ip.as_deref() == Some(client_ip);
        let found = self.origin_fifo.get(&pid).and_then(|q| {
            // Requests before `answered` have their access line: none of them matches.
            let unanswered = || q.ids.range(q.answered..).copied();
            unanswered()
                .find(|id| {
                    self.open
                        .get(id)
                        .is_some_and(|t| matches(t) && same_client(t))
                })
                .or_else(|| {
                    unanswered().find(|id| {
                        self.open
                            .get(id)
                            .is_some_and(|t| matches(t) && t.client_ip.is_none())
                    })
                })
                .or_else(|| unanswered().find(|id| self.open.get(id).is_some_and(matches)))
        });
        let Some(id) = found else { return };
        if let Some(t) = self.open.get_mut(&id) {
            if t.method.is_none() {
                t.method = Some(method.into());
            }
            if t.path.is_none() {
                t.path = Some(path.into());
            }
            if t.client_ip.is_none() {
                t.client_ip = Some(client_ip.into());
            }
            t.is_stream = t.is_stream || is_stream_route(Some(method), Some(path));
            if let Some(o) = t.origin.as_mut() {
                o.access_status = Some(status);
            }
        }
        if let Some(q) = self.origin_fifo.get_mut(&pid) {
            let open = &self.open;
            while q.ids.get(q.answered).is_some_and(|id| {
                open.get(id)
                    .and_then(|t| t.origin.as_ref())
                    .is_some_and(|o| o.access_status.is_some())
            }) {
                q.answered += 1;
            }
        }
        self.add_cursor(id, event);
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
            .and_then(|r| self.by_ray.get(&*r.key()).copied())
            .filter(|id| self.open.get(id).is_some_and(|t| t.tunnel.is_none()));
        let id = if let Some(id) = existing {
            if let Some(t) = self.open.get_mut(&id) {
                t.link = Link::Exact;
            }
            id
        } else {
            let id = self.new_trace(ts);
            if let Some(t) = self.open.get_mut(&id) {
                t.link = Link::TunnelOnly;
                t.method = Some(method.into());
                t.path = Some(path.into());
                t.client_ip = connecting_ip.map(Box::from);
                t.host.clone_from(&event.entry.origin.hostname);
            }
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
            self.by_ray.insert(r.key().into_owned(), id);
        }
        if let Some(c) = conn_index {
            self.tunnel_fifo.entry(c).or_default().push_back(id);
        }
        self.add_cursor(id, event);
    }

    fn tunnel_response(
        &mut self,
        ts: Timestamp,
        status: u16,
        conn_index: Option<u8>,
        ray: Option<&RayId>,
    ) {
        let by_ray = ray.and_then(|r| self.by_ray.get(&*r.key()).copied());
        let id = by_ray.or_else(|| self.response_candidate(status, conn_index?));
        let Some(id) = id else { return };
        if let Some(s) = self.open.get_mut(&id).and_then(|t| t.tunnel.as_mut()) {
            s.response = Some(ts);
            s.status = Some(status);
        }
        if let Some(c) = conn_index {
            if let Some(q) = self.tunnel_fifo.get_mut(&c) {
                q.retain(|x| *x != id);
            }
        }
        self.maybe_complete(id, ts);
    }

    /// The open request a ray-less response line (`200 OK`) most likely answers, on its
    /// connection. Response lines come after the whole body was copied, so under concurrency
    /// the oldest open request is often *not* the one answered (a slow tool call stays open
    /// while quick ones finish). In order of preference: a request whose origin already
    /// logged this status (uvicorn's access line comes first), one the origin has not
    /// answered differently, then the oldest.
    fn response_candidate(&self, status: u16, conn: u8) -> Option<u64> {
        let q = self.tunnel_fifo.get(&conn)?;
        let open = |id: &u64| {
            self.open.get(id).filter(|t| {
                t.tunnel
                    .as_ref()
                    .is_some_and(|s| s.response.is_none() && s.failure.is_none())
            })
        };
        let origin_says = |t: &Trace| t.origin.as_ref().and_then(|o| o.access_status.or(o.status));
        q.iter()
            .copied()
            .find(|id| open(id).is_some_and(|t| origin_says(t) == Some(status)))
            .or_else(|| {
                q.iter().copied().find(|id| {
                    open(id).is_some_and(|t| {
                        origin_says(t).is_none()
                            && t.origin.as_ref().is_none_or(|o| o.outgoing.is_some())
                    })
                })
            })
            .or_else(|| q.iter().copied().find(|id| open(id).is_some()))
    }

    #[allow(clippy::too_many_arguments)]
    fn proxy_error(
        &mut self,
        event: &Event,
        line: ProxyLine,
        failure: &ProxyFailure,
        conn_index: Option<u8>,
        dest: Option<&str>,
        ray: Option<&RayId>,
        error: &str,
    ) {
        let ts = event.entry.realtime;
        if line != ProxyLine::Primary {
            // Follow-ups belong to the last primary on this connection (or any, for the
            // HTTP/2 line that carries no connection).
            let last = self
                .last_failure
                .get(&conn_index)
                .or_else(|| self.last_failure.get(&None))
                .copied()
                .filter(|(_, at)| ts.saturating_since_us(*at) <= FOLLOW_UP_WINDOW_US);
            if let Some((id, _)) = last {
                let teardown = line == ProxyLine::StreamTeardown;
                if let Some(t) = self.open.get_mut(&id) {
                    if let Some(d) = dest {
                        let path = url_path(d);
                        if t.path.is_none() {
                            t.path = Some(path.into());
                            t.is_stream = is_stream_route(t.method.as_deref(), Some(path));
                        }
                    }
                    if let Some(s) = t.tunnel.as_mut() {
                        if teardown || !s.followed_up {
                            s.followed_up = true;
                            self.add_cursor(id, event);
                            return;
                        }
                    }
                }
            }
            if line == ProxyLine::StreamTeardown {
                return;
            }
            // A follow-up without its primary: it still stands for one request.
        }
        let id = self.failed_request_for(ts, failure, conn_index, ray);
        // The stall tolerance: an edge limit of 100 s is "about 100 s" (100–120 s seen).
        let silent = self
            .last_origin_line
            .is_some_and(|t| ts.saturating_since_us(t) + 5_000_000 >= self.edge_timeout_us);
        if let Some(t) = self.open.get_mut(&id) {
            let s = t.tunnel.get_or_insert_with(TunnelSide::default);
            s.origin_silent_past_edge_limit = silent;
            s.failure = Some(failure.clone());
            s.failure_at = Some(ts);
            s.error = Some(error.into());
            s.conn_index = s.conn_index.or(conn_index);
            s.followed_up = line != ProxyLine::Primary;
            if let Some(d) = dest {
                t.path.get_or_insert_with(|| url_path(d).into());
            }
            t.end = Some(ts);
        }
        self.last_failure.insert(conn_index, (id, ts));
        self.last_failure.insert(None, (id, ts));
        self.add_cursor(id, event);
        if let Some(c) = conn_index {
            if let Some(q) = self.tunnel_fifo.get_mut(&c) {
                q.retain(|x| *x != id);
            }
        }
        let Some(t) = self.open.get(&id) else { return };
        if matches!(failure, ProxyFailure::Cancelled) {
            // Known now, counted at seal: detection should not wait for the seal.
            self.cancels.push(Cancel {
                at: ts,
                outcome: self.outcome_of(t),
                label: t
                    .tool
                    .as_deref()
                    .map_or_else(|| t.route(), |tool| format!("tool {tool}")),
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

    /// Cancellations seen since the last call, classified (edge timeout or client abort).
    pub fn take_cancels(&mut self) -> Vec<Cancel> {
        std::mem::take(&mut self.cancels)
    }

    /// The open request a primary failure line is about, or a new tunnel-only one.
    fn failed_request_for(
        &mut self,
        ts: Timestamp,
        failure: &ProxyFailure,
        conn_index: Option<u8>,
        ray: Option<&RayId>,
    ) -> u64 {
        if let Some(id) = ray.and_then(|r| self.by_ray.get(&*r.key()).copied()) {
            if self.open.contains_key(&id) {
                return id;
            }
        }
        let unreachable = matches!(failure, ProxyFailure::OriginUnreachable(_));
        let found = conn_index
            .and_then(|c| self.tunnel_fifo.get(&c))
            .and_then(|q| {
                let pending = |id: &u64| {
                    self.open.get(id).is_some_and(|t| {
                    t.tunnel.as_ref().is_some_and(|s| s.response.is_none() && s.failure.is_none())
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

    /// Seals completed traces older than the join grace period, and expires stale open ones.
    pub fn seal_due(&mut self, now: Timestamp) {
        while let Some(&(at, id)) = self.completing.front() {
            if now.saturating_since_us(at) < self.seal_after_us {
                break;
            }
            self.completing.pop_front();
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
            for id in stale {
                self.expired += 1;
                self.seal(id);
            }
        }
    }

    /// End of input: seal everything.
    pub fn finish(&mut self) {
        let mut ids: Vec<u64> = self.open.keys().copied().collect();
        ids.sort_unstable();
        for id in ids {
            self.seal(id);
        }
        self.completing.clear();
    }

    fn remove_open(&mut self, id: u64) -> Option<Trace> {
        let t = self.open.remove(&id)?;
        if let Some(rid) = &t.request_id {
            if self.by_request_id.get(rid) == Some(&id) {
                self.by_request_id.remove(rid);
            }
        }
        if let Some(r) = &t.ray {
            let key = r.key();
            if self.by_ray.get(&*key) == Some(&id) {
                self.by_ray.remove(&*key);
            }
        }
        if let Some(pid) = t.origin.as_ref().map(|o| o.pid.unwrap_or(0)) {
            if let Some(q) = self.origin_fifo.get_mut(&pid) {
                q.remove(id);
                if q.ids.is_empty() {
                    self.origin_fifo.remove(&pid);
                }
            }
        }
        if let Some(c) = t.tunnel.as_ref().and_then(|s| s.conn_index) {
            if let Some(q) = self.tunnel_fifo.get_mut(&c) {
                q.retain(|x| *x != id);
            }
        }
        Some(t)
    }

    fn seal(&mut self, id: u64) {
        let Some(mut t) = self.remove_open(id) else {
            return;
        };
        t.outcome = self.outcome_of(&t);
        t.abandoned = self.access_log_seen
            && t.origin_answered()
            && !t.is_stream
            && t.origin
                .as_ref()
                .is_some_and(|o| o.access_status.is_none() && !o.error);
        match t.link {
            Link::Exact => self.links.exact += 1,
            Link::Heuristic => self.links.heuristic += 1,
            Link::TunnelOnly => self.links.tunnel_only += 1,
            Link::OriginOnly => self.links.origin_only += 1,
        }
        if t.is_stream {
            t.latency = None;
        }
        self.sealed.push(t);
    }

    fn outcome_of(&self, t: &Trace) -> Outcome {
        if let Some(failure) = t.tunnel.as_ref().and_then(|s| s.failure.as_ref()) {
            return match failure {
                ProxyFailure::OriginUnreachable(cause) => Outcome::BadGateway(*cause),
                ProxyFailure::Cancelled => {
                    let at = t
                        .tunnel
                        .as_ref()
                        .and_then(|s| s.failure_at)
                        .unwrap_or(t.start);
                    let started = t
                        .tunnel
                        .as_ref()
                        .and_then(|s| s.request)
                        .or(t.origin.as_ref().and_then(|o| o.incoming));
                    let stalled = t
                        .tunnel
                        .as_ref()
                        .is_some_and(|s| s.origin_silent_past_edge_limit);
                    let waited_past_limit = match started {
                        Some(s) => at.saturating_since_us(s) >= self.edge_timeout_us,
                        None => stalled,
                    };
                    if waited_past_limit {
                        Outcome::EdgeTimeout
                    } else {
                        Outcome::ClientAbort
                    }
                }
                ProxyFailure::StreamCancelled => Outcome::StreamClosed,
                ProxyFailure::Other => Outcome::ProxyFailed,
            };
        }
        match t.origin_status() {
            Some(s) if t.origin_answered() => Outcome::Served(s),
            _ => settle_unanswered(t),
        }
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

fn settle_unanswered(t: &Trace) -> Outcome {
    match t.origin_status() {
        Some(s) if t.origin_answered() => Outcome::Served(s),
        _ => Outcome::Unanswered,
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
