//! Statistics over sealed traces: HDR histograms of origin response time (overall, per
//! route, per MCP tool), status counts, tunnel failure counts and stream lifetimes.
//!
//! Owns only fixed-size structures: histograms have a fixed range (1 µs … 1 h) and 3
//! significant digits; keyed maps (routes, tools, statuses) have a cap on distinct keys,
//! beyond which entries are counted under `(other)`. Does not decide what is an incident.

use std::borrow::Borrow;
use std::cmp::Ordering;
use std::collections::BTreeMap;

use hdrhistogram::Histogram;

use crate::parse::OriginErrorCause;

use super::correlate::{LatencySource, Outcome, Trace};

/// Highest value a latency histogram records (µs): one hour. Longer values are clamped.
const MAX_LATENCY_US: u64 = 3_600_000_000;
/// Distinct routes/tools kept before the rest are counted as `(other)`.
const MAX_KEYS: usize = 200;

/// A latency histogram in microseconds with a fixed range and precision.
#[derive(Debug, Clone)]
pub struct Latency {
    pub hist: Histogram<u64>,
}

impl Default for Latency {
    fn default() -> Latency {
        Latency {
            hist: Histogram::new_with_bounds(1, MAX_LATENCY_US, 3)
                .unwrap_or_else(|_| Histogram::new(3).unwrap_or_else(|_| unreachable!())),
        }
    }
}

impl Latency {
    pub fn record_us(&mut self, us: u64) {
        let _ = self.hist.record(us.clamp(1, MAX_LATENCY_US));
    }

    pub fn count(&self) -> u64 {
        self.hist.len()
    }

    /// The value at percentile `p` (0–100) in milliseconds.
    pub fn percentile_ms(&self, p: f64) -> f64 {
        if self.hist.is_empty() {
            return 0.0;
        }
        self.hist.value_at_percentile(p) as f64 / 1000.0
    }

    pub fn max_ms(&self) -> f64 {
        if self.hist.is_empty() {
            0.0
        } else {
            self.hist.max() as f64 / 1000.0
        }
    }
}

/// Per route (method + path) or per tool.
#[derive(Debug, Clone, Default)]
pub(crate) struct KeyStats {
    pub(crate) count: u64,
    /// 5xx answers, tool errors inside 200s, and requests that failed in the tunnel.
    pub(crate) errors: u64,
    pub(crate) latency: Latency,
}

/// Counts over every sealed trace since start.
#[derive(Debug, Clone, Default)]
pub struct Stats {
    /// Requests the origin answered (streams included).
    pub requests: u64,
    /// Origin status codes; 0 stands for "not known" (stock format, no access line).
    pub(crate) by_status: BTreeMap<u16, u64>,
    pub latency: Latency,
    pub latency_exact: u64,
    pub latency_derived: u64,
    /// Latencies cloudflared alone saw (no origin line): request line to response line.
    pub latency_tunnel: u64,
    /// Answered requests only cloudflared logged (its relayed status is their status).
    pub tunnel_view_only: u64,
    /// The tunnel's own overhead: the time cloudflared took minus the origin's time, for
    /// requests both logged (non-streams with both latencies known; never below 0).
    pub tunnel_overhead: Latency,
    /// Answered requests whose latency could not be derived (overlapping stock pairs).
    pub(crate) latency_unknown: u64,
    pub(crate) by_route: BTreeMap<(String, String), KeyStats>,
    pub(crate) by_tool: BTreeMap<String, KeyStats>,
    pub bad_gateway: u64,
    pub(crate) bad_gateway_by_cause: BTreeMap<OriginErrorCause, u64>,
    pub edge_timeout: u64,
    pub client_abort: u64,
    pub(crate) stream_closed: u64,
    pub(crate) proxy_failed: u64,
    pub unanswered: u64,
    /// Served, but nobody received it (no access line while access logging is on).
    pub(crate) abandoned: u64,
    pub(crate) errors_5xx: u64,
    pub(crate) streams: u64,
    pub(crate) stream_lifetime: Latency,
    pub(crate) timeline: Timeline,
}

/// `map[key]`, or `map[other()]` once the map holds [`MAX_KEYS`] other keys. Looked up by
/// a borrowed key: an owned one (`owned`, or the catch-all `other`) is made only when a key
/// is added, not for every request counted under a key already there.
fn capped<'m, K, Q, V>(
    map: &'m mut BTreeMap<K, V>,
    key: &Q,
    owned: impl FnOnce() -> K,
    other: impl FnOnce() -> K,
) -> &'m mut V
where
    K: Ord + Borrow<Q>,
    Q: Ord + ?Sized,
    V: Default,
{
    if map.contains_key(key) {
        return map
            .get_mut(key)
            .unwrap_or_else(|| unreachable!("the key was just found"));
    }
    let key = if map.len() >= MAX_KEYS {
        other()
    } else {
        owned()
    };
    map.entry(key).or_default()
}

/// A route (method, path) however it is held: `by_route`'s owned keys, or a request's
/// borrowed parts, so `by_route` is searched without making a key. Ordered as the owned
/// pairs are (method, then path), which `Borrow` requires.
trait RouteKey {
    fn parts(&self) -> (&str, &str);
}

impl RouteKey for (String, String) {
    fn parts(&self) -> (&str, &str) {
        (&self.0, &self.1)
    }
}

impl RouteKey for (&str, &str) {
    fn parts(&self) -> (&str, &str) {
        (self.0, self.1)
    }
}

impl<'a> Borrow<dyn RouteKey + 'a> for (String, String) {
    fn borrow(&self) -> &(dyn RouteKey + 'a) {
        self
    }
}

impl PartialEq for dyn RouteKey + '_ {
    fn eq(&self, other: &Self) -> bool {
        self.parts() == other.parts()
    }
}

impl Eq for dyn RouteKey + '_ {}

impl PartialOrd for dyn RouteKey + '_ {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for dyn RouteKey + '_ {
    fn cmp(&self, other: &Self) -> Ordering {
        self.parts().cmp(&other.parts())
    }
}

/// `by_route[(method, path)]`, under the `(other)` route past the cap.
fn route_stats<'m>(
    by_route: &'m mut BTreeMap<(String, String), KeyStats>,
    method: &str,
    path: &str,
) -> &'m mut KeyStats {
    let key: &dyn RouteKey = &(method, path);
    capped(
        by_route,
        key,
        || (method.to_owned(), path.to_owned()),
        || ("?".into(), "(other)".into()),
    )
}

impl Stats {
    pub(crate) fn record(&mut self, t: &Trace) {
        self.timeline.record(t);
        match t.outcome {
            Outcome::BadGateway(cause) => {
                self.bad_gateway += 1;
                *self.bad_gateway_by_cause.entry(cause).or_default() += 1;
            }
            Outcome::EdgeTimeout => self.edge_timeout += 1,
            Outcome::ClientAbort => self.client_abort += 1,
            Outcome::StreamClosed => self.stream_closed += 1,
            Outcome::ProxyFailed => self.proxy_failed += 1,
            Outcome::Unanswered => self.unanswered += 1,
            Outcome::Served(_) => {}
        }
        let method = t.method.as_deref().unwrap_or("?");
        // Routes are keyed without the query (the server logs `?<redacted>`).
        let path = t
            .path
            .as_deref()
            .map_or("?", |p| p.split('?').next().unwrap_or(p));
        let failed_in_tunnel = matches!(t.outcome, Outcome::BadGateway(_) | Outcome::EdgeTimeout);
        let Some(status) = t.answered_status() else {
            if failed_in_tunnel {
                route_stats(&mut self.by_route, method, path).errors += 1;
            }
            return;
        };
        self.requests += 1;
        if t.abandoned {
            self.abandoned += 1;
        }
        if !t.origin_answered() {
            self.tunnel_view_only += 1;
        }
        *self.by_status.entry(status).or_default() += 1;
        let is_5xx = (500..600).contains(&status);
        if is_5xx {
            self.errors_5xx += 1;
        }
        let tool_error = t.origin.as_ref().is_some_and(|o| o.tool_error);
        if t.is_stream {
            self.streams += 1;
            if let (Some(a), Some(b)) = (t.origin.as_ref().and_then(|o| o.incoming), t.end) {
                self.stream_lifetime.record_us(b.saturating_since_us(a));
            }
        }
        match t.latency {
            Some((us, source)) if !t.is_stream => {
                self.latency.record_us(us);
                match source {
                    LatencySource::Exact => self.latency_exact += 1,
                    LatencySource::Derived => self.latency_derived += 1,
                    LatencySource::Tunnel => self.latency_tunnel += 1,
                }
                if source != LatencySource::Tunnel {
                    if let Some(tunnel_us) = t.tunnel_us() {
                        self.tunnel_overhead.record_us(tunnel_us.saturating_sub(us));
                    }
                }
            }
            _ if !t.is_stream => self.latency_unknown += 1,
            _ => {}
        }
        let r = route_stats(&mut self.by_route, method, path);
        r.count += 1;
        r.errors += u64::from(is_5xx || tool_error);
        if let (Some((us, _)), false) = (t.latency, t.is_stream) {
            r.latency.record_us(us);
        }
        if let Some(tool) = &t.tool {
            let k = capped(
                &mut self.by_tool,
                &**tool,
                || tool.to_string(),
                || "(other)".into(),
            );
            k.count += 1;
            k.errors += u64::from(is_5xx || tool_error);
            if let (Some((us, _)), false) = (t.latency, t.is_stream) {
                k.latency.record_us(us);
            }
        }
    }
}

/// Width of one timeline bucket (µs): 10 s.
pub(crate) const BUCKET_US: u64 = 10_000_000;
/// Buckets kept: 15 minutes of 10 s buckets.
pub(crate) const BUCKETS: usize = 90;

/// One 10-second slice of time.
#[derive(Debug, Clone, Default)]
pub(crate) struct Bucket {
    /// Start of the slice, in units of [`BUCKET_US`] since the epoch.
    pub(crate) index: u64,
    pub(crate) requests: u64,
    pub(crate) errors_5xx: u64,
    pub(crate) bad_gateway: u64,
    pub(crate) timeouts: u64,
    pub(crate) latency: Latency,
}

/// Rolling windows over the last 15 minutes: per-bucket counts and histograms, merged on
/// demand for the 1 m / 5 m / 15 m views. Fixed memory: [`BUCKETS`] histograms.
#[derive(Debug, Clone, Default)]
pub(crate) struct Timeline {
    buckets: std::collections::VecDeque<Bucket>,
    /// Records nothing (the headless modes, which never show it: a 10 s bucket's
    /// histogram is 188 KB to zero; measured: see docs/bench-results.md).
    is_off: bool,
}

impl Timeline {
    fn bucket_mut(&mut self, index: u64) -> Option<&mut Bucket> {
        let newest = self.buckets.back().map_or(0, |b| b.index);
        if self.buckets.is_empty() || index > newest {
            let start = if self.buckets.is_empty() {
                index
            } else {
                newest + 1
            };
            // Skip straight to `index` when the gap is wider than the ring.
            let start = start.max(index.saturating_sub(BUCKETS as u64 - 1));
            for i in start..=index {
                // The bucket that leaves the ring lends its histogram (188 KB) to the new
                // one instead of a fresh one being allocated and zeroed every 10 s of
                // history (measured: see docs/bench-results.md).
                let latency = if self.buckets.len() >= BUCKETS {
                    self.buckets.pop_front().map(|old| {
                        let mut latency = old.latency;
                        if !latency.hist.is_empty() {
                            latency.hist.reset();
                        }
                        latency
                    })
                } else {
                    None
                };
                self.buckets.push_back(Bucket {
                    index: i,
                    requests: 0,
                    errors_5xx: 0,
                    bad_gateway: 0,
                    timeouts: 0,
                    latency: latency.unwrap_or_default(),
                });
            }
        }
        let oldest = self.buckets.front()?.index;
        let pos = usize::try_from(index.checked_sub(oldest)?).ok()?;
        self.buckets.get_mut(pos)
    }

    /// Counts a sealed trace in the slice of its end time. Traces older than the ring
    /// (out-of-order history) are not in the timeline; the whole-run stats still count them.
    pub(crate) fn record(&mut self, t: &Trace) {
        if self.is_off {
            return;
        }
        let at = t.end.unwrap_or(t.start);
        let Some(b) = self.bucket_mut(at.0 / BUCKET_US) else {
            return;
        };
        match t.outcome {
            Outcome::BadGateway(_) => b.bad_gateway += 1,
            Outcome::EdgeTimeout => b.timeouts += 1,
            _ => {}
        }
        if let Some(status) = t.answered_status() {
            b.requests += 1;
            if (500..600).contains(&status) {
                b.errors_5xx += 1;
            }
            if let (Some((us, _)), false) = (t.latency, t.is_stream) {
                b.latency.record_us(us);
            }
        }
    }

    /// A timeline that records nothing (see `Settings::keep_timeline`).
    pub(crate) fn off() -> Timeline {
        Timeline {
            buckets: std::collections::VecDeque::new(),
            is_off: true,
        }
    }

    /// Buckets oldest first.
    pub(crate) fn buckets(&self) -> impl DoubleEndedIterator<Item = &Bucket> {
        self.buckets.iter()
    }

    /// Merged figures for the last `span_us` ending at the newest bucket (the screen
    /// merges its own windows from [`Timeline::buckets`]; the tests probe the ring with it).
    #[cfg(test)]
    fn window(&self, span_us: u64) -> Bucket {
        let mut out = Bucket::default();
        let Some(newest) = self.buckets.back().map(|b| b.index) else {
            return out;
        };
        let n = (span_us / BUCKET_US).max(1);
        let first = (newest + 1).saturating_sub(n);
        out.index = first;
        for b in self.buckets.iter().filter(|b| b.index >= first) {
            out.requests += b.requests;
            out.errors_5xx += b.errors_5xx;
            out.bad_gateway += b.bad_gateway;
            out.timeouts += b.timeouts;
            let _ = out.latency.hist.add(&b.latency.hist);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::correlate::{LatencySource, OriginSide, TraceId};
    use crate::source::Timestamp;

    /// A timeline that is off counts nothing, and the run's totals are the same.
    #[test]
    fn a_timeline_that_is_off_records_nothing_and_the_totals_do_not_change() {
        let mut on = Stats::default();
        let mut off = Stats {
            timeline: Timeline::off(),
            ..Stats::default()
        };
        for i in 0..100 {
            on.record(&served(i, 5, 200));
            off.record(&served(i, 5, 200));
        }
        assert_eq!(on.timeline.buckets().count(), 10);
        assert_eq!(on.timeline.window(60_000_000).requests, 60);
        assert_eq!(off.timeline.buckets().count(), 0);
        assert_eq!((on.requests, off.requests), (100, 100));
        assert_eq!(on.latency.count(), off.latency.count());
    }

    fn served(at_s: u64, latency_ms: u64, status: u16) -> Trace {
        let end = Timestamp(at_s * 1_000_000);
        let mut t = Trace::new(TraceId::FIRST, end);
        t.end = Some(end);
        t.method = Some("POST".into());
        t.path = Some("/".into());
        t.origin = Some(OriginSide {
            incoming: Some(end),
            outgoing: Some(end),
            status: Some(status),
            ..OriginSide::default()
        });
        t.outcome = Outcome::Served(status);
        t.latency = Some((latency_ms * 1000, LatencySource::Exact));
        t
    }

    /// Routes are keyed by method and path without the query, found by the request's own
    /// strings: over a stream of requests on more routes than the cap (some repeated, some
    /// with queries, some with no method or path), the counts are those of a map keyed by
    /// owned pairs, with every route past the cap under `(other)` and a route counted
    /// before the cap still its own after it.
    #[test]
    fn routes_count_by_method_and_path_up_to_the_cap_then_under_other() {
        let mut stats = Stats::default();
        let mut want: BTreeMap<(String, String), u64> = BTreeMap::new();
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for i in 0..3_000u64 {
            // xorshift: a fixed sequence, reproducible.
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let mut t = served(i, 5, 200);
            t.method = match x % 5 {
                0 => None,
                1 => Some("GET".into()),
                _ => Some("POST".into()),
            };
            let route = (x >> 8) % (MAX_KEYS as u64 + 60);
            t.path = match (x >> 20) % 7 {
                0 => None,
                1 => Some(format!("/r{route}?token=secret{i}").into()),
                _ => Some(format!("/r{route}").into()),
            };
            stats.record(&t);
            let key = (
                t.method.as_deref().unwrap_or("?").to_owned(),
                t.path
                    .as_deref()
                    .map_or("?", |p| p.split('?').next().unwrap_or(p))
                    .to_owned(),
            );
            let key = if want.contains_key(&key) || want.len() < MAX_KEYS {
                key
            } else {
                ("?".to_owned(), "(other)".to_owned())
            };
            *want.entry(key).or_default() += 1;
        }
        let got: BTreeMap<(String, String), u64> = stats
            .by_route
            .iter()
            .map(|(k, v)| (k.clone(), v.count))
            .collect();
        assert_eq!(got, want);
        assert_eq!(got.len(), MAX_KEYS + 1, "the cap, and (other)");
        assert!(got[&("?".to_owned(), "(other)".to_owned())] > 0);
        assert!(got.keys().all(|(_, p)| !p.contains('?') || p == "?"));
        assert_eq!(
            got.values().sum::<u64>(),
            3_000,
            "every request counted once"
        );
    }

    /// A failure in the tunnel counts as an error of its route; a tool's requests are
    /// counted under the tool, looked up by its name.
    #[test]
    fn tunnel_failures_are_route_errors_and_tools_are_counted_by_name() {
        let mut stats = Stats::default();
        let mut failed = Trace::new(TraceId::FIRST, Timestamp(1));
        failed.method = Some("POST".into());
        failed.path = Some("/mcp".into());
        failed.outcome = Outcome::EdgeTimeout;
        stats.record(&failed);
        let mut t = served(2, 5, 200);
        t.path = Some("/mcp?x=1".into());
        t.tool = Some("search_code".into());
        stats.record(&t);
        stats.record(&t);
        let route = &stats.by_route[&("POST".to_owned(), "/mcp".to_owned())];
        assert_eq!((route.count, route.errors), (2, 1));
        assert_eq!(stats.by_tool["search_code"].count, 2);
    }

    #[test]
    fn windows_merge_only_the_buckets_they_cover() {
        let mut tl = Timeline::default();
        // 20 minutes of one request per 10 s: the ring keeps 15 minutes.
        for i in 0..120 {
            let status = if i >= 114 { 500 } else { 200 };
            tl.record(&served(
                1_000_000 + i * 10,
                if i >= 114 { 900 } else { 5 },
                status,
            ));
        }
        assert_eq!(tl.buckets().count(), BUCKETS);
        let last_minute = tl.window(60_000_000);
        assert_eq!((last_minute.requests, last_minute.errors_5xx), (6, 6));
        assert!(last_minute.latency.percentile_ms(50.0) > 800.0);
        let all = tl.window(15 * 60_000_000);
        assert_eq!((all.requests, all.errors_5xx), (90, 6));
        assert!(all.latency.percentile_ms(50.0) < 10.0);
    }

    #[test]
    fn a_gap_longer_than_the_ring_starts_fresh_and_stays_bounded() {
        let mut tl = Timeline::default();
        tl.record(&served(1_000, 5, 200));
        tl.record(&served(1_000_000, 5, 200));
        assert_eq!(tl.buckets().count(), BUCKETS);
        assert_eq!(tl.window(15 * 60_000_000).requests, 1);
    }
}
