//! Statistics over sealed traces: HDR histograms of origin response time (overall, per
//! route, per MCP tool), status counts, tunnel failure counts and stream lifetimes.
//!
//! Owns only fixed-size structures: histograms have a fixed range (1 µs … 1 h) and 3
//! significant digits; keyed maps (routes, tools, statuses) have a cap on distinct keys,
//! beyond which entries are counted under `(other)`. Does not decide what is an incident.

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

    pub fn mean_ms(&self) -> f64 {
        if self.hist.is_empty() {
            0.0
        } else {
            self.hist.mean() / 1000.0
        }
    }
}

/// Per route (method + path) or per tool.
#[derive(Debug, Clone, Default)]
pub struct KeyStats {
    pub count: u64,
    /// 5xx answers, tool errors inside 200s, and requests that failed in the tunnel.
    pub errors: u64,
    pub latency: Latency,
}

/// Counts over every sealed trace since start.
#[derive(Debug, Clone, Default)]
pub struct Stats {
    /// Requests the origin answered (streams included).
    pub requests: u64,
    /// Origin status codes; 0 stands for "not known" (stock format, no access line).
    pub by_status: BTreeMap<u16, u64>,
    pub latency: Latency,
    pub latency_exact: u64,
    pub latency_derived: u64,
    /// Answered requests whose latency could not be derived (overlapping stock pairs).
    pub latency_unknown: u64,
    pub by_route: BTreeMap<(String, String), KeyStats>,
    pub by_tool: BTreeMap<String, KeyStats>,
    pub bad_gateway: u64,
    pub bad_gateway_by_cause: BTreeMap<OriginErrorCause, u64>,
    pub edge_timeout: u64,
    pub client_abort: u64,
    pub stream_closed: u64,
    pub proxy_failed: u64,
    pub unanswered: u64,
    /// Served, but nobody received it (no access line while access logging is on).
    pub abandoned: u64,
    pub errors_5xx: u64,
    pub streams: u64,
    pub stream_lifetime: Latency,
}

fn capped<'a, K: Ord + Clone, V: Default>(
    map: &'a mut BTreeMap<K, V>,
    key: K,
    other: K,
) -> &'a mut V {
    if !map.contains_key(&key) && map.len() >= MAX_KEYS {
        return map.entry(other).or_default();
    }
    map.entry(key).or_default()
}

impl Stats {
    pub fn record(&mut self, t: &Trace) {
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
        let route = (
            t.method.as_deref().unwrap_or("?").to_owned(),
            t.path.as_deref().unwrap_or("?").to_owned(),
        );
        let failed_in_tunnel = matches!(t.outcome, Outcome::BadGateway(_) | Outcome::EdgeTimeout);
        if !t.origin_answered() {
            if failed_in_tunnel {
                capped(&mut self.by_route, route, ("?".into(), "(other)".into())).errors += 1;
            }
            return;
        }
        self.requests += 1;
        if t.abandoned {
            self.abandoned += 1;
        }
        let status = t.origin_status().unwrap_or(0);
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
                }
            }
            _ if !t.is_stream => self.latency_unknown += 1,
            _ => {}
        }
        let r = capped(&mut self.by_route, route, ("?".into(), "(other)".into()));
        r.count += 1;
        r.errors += u64::from(is_5xx || tool_error);
        if let (Some((us, _)), false) = (t.latency, t.is_stream) {
            r.latency.record_us(us);
        }
        if let Some(tool) = &t.tool {
            let k = capped(&mut self.by_tool, tool.to_string(), "(other)".into());
            k.count += 1;
            k.errors += u64::from(is_5xx || tool_error);
            if let (Some((us, _)), false) = (t.latency, t.is_stream) {
                k.latency.record_us(us);
            }
        }
    }
}
