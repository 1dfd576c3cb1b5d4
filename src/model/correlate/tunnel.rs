//! cloudflared's request and response lines: a request in flight per host and connection,
//! and which request a ray-less response line (`200 OK connIndex=1`) belongs to.

use super::{
    is_stream_route, origin_said, remove_id, Correlator, Cursor, Event, Link, RayId, Timestamp,
    Trace, TraceId, TunnelSide, Unclaimed, CLAIM_WINDOW_US, MAX_UNCLAIMED,
};

impl Correlator {
    pub(super) fn tunnel_request(
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
    pub(super) fn tunnel_response(
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
    pub(super) fn settle_unclaimed(&mut self, u: &Unclaimed) {
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
    pub(super) fn claim_response(&mut self, id: TraceId) {
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

    pub(super) fn set_response(
        &mut self,
        id: TraceId,
        ts: Timestamp,
        status: u16,
        cursor: Option<&Cursor>,
    ) {
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
}
