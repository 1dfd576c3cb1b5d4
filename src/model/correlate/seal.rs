//! When a request is done: completing, the grace periods before sealing (late joins,
//! answers to nobody), expiry, the end of input, and the outcome a sealed request gets.

use super::{
    remove_id, settle_unanswered, unindex, Access, CancelKind, Correlator, HostKey, LatencySource,
    Link, Outcome, ProxyFailure, Timestamp, Trace, TraceId, VecDeque, ACCESS_WINDOW_US,
    CLAIM_WINDOW_US,
};

impl Correlator {
    pub(super) fn maybe_complete(&mut self, id: TraceId, ts: Timestamp) {
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

    pub(super) fn complete(&mut self, id: TraceId, ts: Timestamp) {
        self.completing.push_back((ts, id));
    }

    /// Seals completed traces older than the join grace period, settles response lines
    /// no origin answer claimed in time, and expires stale open requests.
    pub(crate) fn seal_due(&mut self, now: Timestamp) {
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
    pub(crate) fn finish(&mut self) {
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
        let ids: Vec<TraceId> = self.open_ids.iter().copied().collect();
        for id in ids {
            self.seal(id);
        }
        self.completing.clear();
        self.postponed.clear();
    }

    pub(super) fn remove_open(&mut self, id: TraceId) -> Option<Trace> {
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

    pub(super) fn seal(&mut self, id: TraceId) {
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

    pub(super) fn outcome_of(t: &Trace) -> Outcome {
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
}
