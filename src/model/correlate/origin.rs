//! The server's side of a request: its `Incoming`, its answer (`Outgoing` or an error
//! record), uvicorn's access lines, the stock format's anonymous pairs, and the joins of
//! an origin request with cloudflared's lines (by ray, by access line, by route and time).

use super::{
    is_stream_route, nearest_fit, Access, CancelKind, Correlator, Event, HostKey, LatencySource,
    Link, OriginAnswer, OriginRequest, OriginSide, ProxyFailure, RayId, RequestId, Timestamp,
    Trace, TraceId, VecDeque, ACCESS_WINDOW_US, EDGE_EARLY_US, HEURISTIC_WINDOW_US,
    MAX_PENDING_ACCESS,
};

impl Correlator {
    pub(super) fn origin_incoming(&mut self, event: &Event, request: &OriginRequest<'_>) {
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

    /// An origin request of this host that no tunnel line has joined, on the same path
    /// and method (and client when both name one, and ray when both log one), whose
    /// Incoming is within `HEURISTIC_WINDOW_US` of `ts`: the closest in time.
    pub(super) fn origin_heuristic_match(
        &self,
        ts: Timestamp,
        method: &str,
        path: &str,
        client: Option<&str>,
        ray: Option<&RayId>,
    ) -> Option<TraceId> {
        let q = self.origin_by_path.get(&self.path_key(self.host, path))?;
        let fits = |id: TraceId| {
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
    pub(super) fn heuristic_tunnel_match(
        &self,
        ts: Timestamp,
        method: Option<&str>,
        path: Option<&str>,
        client: Option<&str>,
    ) -> Option<TraceId> {
        let q = self.tunnel_by_path.get(&self.path_key(self.host, path?))?;
        let fits = |id: TraceId| {
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
    pub(super) fn stock_outgoing_target(&self, pid: u32, at: Timestamp) -> Option<(TraceId, bool)> {
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

    pub(super) fn origin_outgoing(&mut self, event: &Event, answer: &OriginAnswer<'_>) {
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
    pub(super) fn reclaim_abort(&mut self, id: TraceId) {
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

    pub(super) fn mark_stale_session(&mut self, request_id: Option<&RequestId>) {
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
    pub(super) fn orphan_origin(&mut self, event: &Event, rid: &RequestId) -> TraceId {
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
    pub(super) fn origin_access(
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
    pub(super) fn take_access(&mut self, key: (HostKey, u32), id: TraceId, at: Timestamp) {
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
    pub(super) fn place_access(&mut self, key: (HostKey, u32), access: &Access) {
        let found = self.origin_fifo.get(&key).and_then(|q| {
            // Requests before `answered` have their access line: none of them matches.
            let unanswered = || q.ids.range(q.answered..).rev().copied();
            let fits = |id: &TraceId| {
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

    pub(super) fn give_access(&mut self, id: TraceId, key: (HostKey, u32), access: &Access) {
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
    pub(super) fn unjoined_origin(&self, id: TraceId) -> Option<(&Trace, Timestamp)> {
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
    pub(super) fn join_by_access(&mut self, id: TraceId) {
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
    pub(super) fn join_cancelled(&mut self, id: TraceId) {
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
    pub(super) fn origin_for_cancel(&self, tunnel_id: TraceId) -> Option<TraceId> {
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
    pub(super) fn absorb_tunnel(&mut self, id: TraceId, from: TraceId) {
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
}
