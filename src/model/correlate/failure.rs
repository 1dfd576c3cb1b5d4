//! cloudflared's failure lines: which request a cancel ended and who ended it (the edge's
//! limit or the visitor), 502s, follow-up lines, and moving a guessed abort when the
//! evidence says it was another request's.

use super::{
    is_stream_route, remove_id, url_path, Cancel, CancelKind, Correlator, Event, HostKey, InFlight,
    Link, Outcome, Primary, ProxyError, ProxyFailure, ProxyLine, RayId, Timestamp, Trace, TraceId,
    TunnelSide, ABORT_MIN_AGE_US, EDGE_EARLY_US, EDGE_LATE_US, FOLLOW_UP_WINDOW_US,
    HEURISTIC_WINDOW_US, MAX_PRIMARIES_PER_CONN, MAX_TENTATIVE_ABORTS, STALL_TOLERANCE_US,
};

impl Correlator {
    pub(super) fn proxy_error(&mut self, event: &Event, e: &ProxyError<'_>) {
        let &ProxyError {
            line,
            failure,
            conn_index,
            dest,
            ray,
            error,
        } = e;
        let ts = event.entry.realtime;
        if line != ProxyLine::Primary && self.follow_up(event, line, conn_index, dest) {
            return;
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

    /// A follow-up line (R4/R5, or the teardown R10/R11) added to the request its primary
    /// made; `false` when it has none and stands for a request of its own (its primary was
    /// before the window, or lost). A teardown without its primary says nothing: `true`.
    fn follow_up(
        &mut self,
        event: &Event,
        line: ProxyLine,
        conn_index: Option<u8>,
        dest: Option<&str>,
    ) -> bool {
        let Some(id) = self.follow_up_target(event.entry.realtime, conn_index, line) else {
            return line == ProxyLine::StreamTeardown;
        };
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
        true
    }

    /// The request a follow-up line (R4/R5, or the teardown R10/R11) is about: the oldest
    /// primary on its host and connection within `FOLLOW_UP_WINDOW_US` that has not had
    /// this kind of follow-up yet. cloudflared writes a failure's lines in order from one
    /// goroutine, so when two failures' lines interleave (A, B, A's follow-up, B's) the
    /// follow-ups still find their own primary. A line with no connection (HTTP/2's R5)
    /// looks at every connection of its host.
    pub(super) fn follow_up_target(
        &mut self,
        ts: Timestamp,
        conn: Option<u8>,
        line: ProxyLine,
    ) -> Option<TraceId> {
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
    pub(super) fn tunnel_in_flight(&self, ts: Timestamp, conn: Option<u8>) -> Vec<InFlight> {
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
    pub(super) fn origin_in_flight(&self, ts: Timestamp, guessed_answers: bool) -> Vec<InFlight> {
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
    pub(super) fn edge_fit(&self, candidates: &[InFlight]) -> Option<TraceId> {
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
    pub(super) fn abort_fit(&self, candidates: &[InFlight]) -> Option<TraceId> {
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
    pub(super) fn cancel_target(
        &mut self,
        ts: Timestamp,
        conn: Option<u8>,
        ray: Option<&RayId>,
    ) -> (TraceId, CancelKind) {
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
    pub(super) fn remember_abort(&mut self, id: TraceId) {
        let open = &self.open;
        self.tentative_aborts.retain(|x| open.contains_key(x));
        if self.tentative_aborts.len() >= MAX_TENTATIVE_ABORTS {
            self.tentative_aborts.pop_front();
        }
        self.tentative_aborts.push_back(id);
    }

    /// A request of this host and connection taken for an abort, still open, whose age
    /// fits the edge limit at `ts` best.
    pub(super) fn aborted_fitting_edge(&self, ts: Timestamp, conn: Option<u8>) -> Option<TraceId> {
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
    pub(super) fn move_abort(&mut self, from: TraceId, conn: Option<u8>) {
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
    pub(super) fn undelivered(&self, t: &Trace) -> bool {
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
    pub(super) fn abort_owner(
        &self,
        at: Timestamp,
        conn: Option<u8>,
        exclude: TraceId,
    ) -> Option<(TraceId, bool)> {
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
    pub(super) fn seal_deadline(&self, id: TraceId) -> Option<Timestamp> {
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
    pub(super) fn join_tunnel_cancel(&mut self, id: TraceId, conn: Option<u8>) {
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
    pub(super) fn failed_request_for(
        &mut self,
        ts: Timestamp,
        failure: &ProxyFailure,
        conn_index: Option<u8>,
        ray: Option<&RayId>,
    ) -> TraceId {
        if let Some(id) = ray.and_then(|r| self.by_ray.get(&self.ray_key(self.host, r)).copied()) {
            if self.open.contains_key(&id) {
                return id;
            }
        }
        let unreachable = matches!(failure, ProxyFailure::OriginUnreachable(_));
        let found = conn_index
            .and_then(|c| self.tunnel_fifo.get(&(self.host, c)))
            .and_then(|q| {
                let pending = |id: &TraceId| {
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
}
