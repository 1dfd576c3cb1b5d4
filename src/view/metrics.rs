//! `watch --metrics`: the model's figures in the Prometheus text format (0.0.4), encoded
//! with `prometheus-client` from a [`Figures`] snapshot taken at scrape time.
//!
//! Owns the metric names, their help, labels and the cardinality caps; the figures are
//! the same fields `report --format json` prints (see `docs/operate.md` for the table),
//! so a scrape and a report over the same entries agree. Reads `&Model` only. Does not
//! own serving them (`app::metrics`).
//!
//! "Unknown is an answer, 0 is a claim": a gauge whose state is not known yet (tunnel
//! connections before cloudflared said anything, the origin before its first line) has no
//! sample at all rather than a 0.

use std::collections::BTreeMap;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric, NoLabelSet};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;

use crate::model::detect::OriginState;
use crate::model::Model;
use crate::text;

/// The `Content-Type` of a scrape's answer.
pub const CONTENT_TYPE: &str = prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

/// Routes given a series of their own (the busiest); the rest add up under
/// `method="other", path="other"`. Paths come from clients: without a cap, a scanner
/// walking URLs would make a series per URL.
pub const ROUTE_SERIES_MAX: usize = 50;
/// MCP tools given a series of their own (the busiest); the rest add up under `other`.
pub const TOOL_SERIES_MAX: usize = 50;

/// The latency histogram's bucket bounds, in seconds: 5 ms … 120 s (the edge gives up at
/// 100 s).
pub const LATENCY_BUCKETS_S: [f64; 15] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 100.0, 120.0,
];

/// What `watch` itself knows besides the model: incidents it announced and its hooks.
#[derive(Debug, Clone, Default)]
pub struct WatchFigures {
    /// Opens announced by this run, by incident kind.
    pub opened_by_kind: BTreeMap<String, u64>,
    /// Incidents announced open now (carried over from a previous run included).
    pub open_incidents: u64,
    /// `--exec` hooks by outcome: `ok`, `failed`, `timeout`, `not_started`, `dropped`.
    pub hooks: BTreeMap<&'static str, u64>,
}

/// One counter or gauge family: `(labels, value)` per series.
#[derive(Debug, Clone)]
struct Family {
    name: &'static str,
    help: &'static str,
    kind: MetricType,
    series: Vec<(Vec<(&'static str, String)>, u64)>,
}

/// Everything one scrape prints, owned (a `Collector` outlives the borrow of the model).
#[derive(Debug, Clone)]
pub struct Figures {
    families: Vec<Family>,
    /// Upper bound (s) and requests in (previous bound, bound].
    latency_buckets: Vec<(f64, u64)>,
    latency_count: u64,
    latency_sum_s: f64,
}

impl Figures {
    /// Takes the figures of `model` and `watch` now.
    pub fn of(model: &Model, watch: &WatchFigures) -> Figures {
        let s = &model.stats;
        let d = &model.detector;
        let mut families = Vec::new();
        let mut counter = |name, help, series| {
            families.push(Family {
                name,
                help,
                kind: MetricType::Counter,
                series,
            });
        };
        counter(
            "sigil_top_entries",
            "Journal entries read, by unit.",
            model
                .entries
                .by_unit
                .iter()
                .map(|(unit, n)| (vec![("unit", text::sanitize(unit).into_owned())], n))
                .collect(),
        );
        counter(
            "sigil_top_requests",
            "Requests answered by the origin or the tunnel, by HTTP status (\"unknown\" when no line gave one).",
            s.by_status
                .iter()
                .map(|(status, n)| {
                    let label = if *status == 0 {
                        "unknown".to_owned()
                    } else {
                        status.to_string()
                    };
                    (vec![("status", label)], *n)
                })
                .collect(),
        );
        let mut routes: Vec<_> = s.by_route.iter().filter(|(_, r)| r.count > 0).collect();
        routes.sort_by(|a, b| b.1.count.cmp(&a.1.count).then(a.0.cmp(b.0)));
        let mut route_series: Vec<(Vec<(&'static str, String)>, u64)> = routes
            .iter()
            .take(ROUTE_SERIES_MAX)
            .map(|((method, path), r)| {
                (
                    vec![
                        ("method", text::sanitize(method).into_owned()),
                        (
                            "path",
                            text::sanitize(&text::redact_query(path)).into_owned(),
                        ),
                    ],
                    r.count,
                )
            })
            .collect();
        let other: u64 = routes
            .iter()
            .skip(ROUTE_SERIES_MAX)
            .map(|(_, r)| r.count)
            .sum();
        if other > 0 {
            route_series.push((
                vec![("method", "other".to_owned()), ("path", "other".to_owned())],
                other,
            ));
        }
        counter(
            "sigil_top_route_requests",
            "Requests by route (the 50 busiest; the rest under method=\"other\", path=\"other\").",
            route_series,
        );
        let mut tools: Vec<_> = s.by_tool.iter().collect();
        tools.sort_by(|a, b| b.1.count.cmp(&a.1.count).then(a.0.cmp(b.0)));
        let mut tool_series: Vec<(Vec<(&'static str, String)>, u64)> = tools
            .iter()
            .take(TOOL_SERIES_MAX)
            .map(|(name, k)| (vec![("tool", text::sanitize(name).into_owned())], k.count))
            .collect();
        let other: u64 = tools
            .iter()
            .skip(TOOL_SERIES_MAX)
            .map(|(_, k)| k.count)
            .sum();
        if other > 0 {
            tool_series.push((vec![("tool", "other".to_owned())], other));
        }
        counter(
            "sigil_top_tool_calls",
            "MCP tool calls, by tool (the 50 busiest; the rest under tool=\"other\").",
            tool_series,
        );
        counter(
            "sigil_top_bad_gateway",
            "Requests that got a 502 from the tunnel, by likely cause.",
            ["refused", "timeout", "dns", "tls", "reset", "other"]
                .iter()
                .map(|cause| {
                    let n: u64 = s
                        .bad_gateway_by_cause
                        .iter()
                        .filter(|(k, _)| k.as_str() == *cause)
                        .map(|(_, v)| *v)
                        .sum();
                    (vec![("cause", (*cause).to_owned())], n)
                })
                .collect(),
        );
        let plain = |n: u64| vec![(Vec::new(), n)];
        counter(
            "sigil_top_edge_timeouts",
            "Requests the Cloudflare edge gave up on (524).",
            plain(s.edge_timeout),
        );
        counter(
            "sigil_top_client_aborts",
            "Requests the client cancelled before an answer.",
            plain(s.client_abort),
        );
        counter(
            "sigil_top_tunnel_disconnects",
            "Tunnel connections lost.",
            plain(d.disconnects),
        );
        counter(
            "sigil_top_origin_restarts",
            "Origin service restarts.",
            plain(d.restarts),
        );
        counter(
            "sigil_top_origin_crashes",
            "Origin service crashes.",
            plain(d.crashes),
        );
        counter(
            "sigil_top_incidents_opened",
            "Incidents this watch announced as opened, by kind.",
            watch
                .opened_by_kind
                .iter()
                .map(|(kind, n)| (vec![("kind", kind.clone())], *n))
                .collect(),
        );
        counter(
            "sigil_top_hooks",
            "--exec hooks by outcome (ok, failed, timeout, not_started, dropped).",
            watch
                .hooks
                .iter()
                .map(|(outcome, n)| (vec![("outcome", (*outcome).to_owned())], *n))
                .collect(),
        );
        let mut gauge = |name, help, series| {
            families.push(Family {
                name,
                help,
                kind: MetricType::Gauge,
                series,
            });
        };
        gauge(
            "sigil_top_tunnel_connections_up",
            "Tunnel connections registered now (no sample while unknown).",
            if d.state.tunnel_state_known {
                plain(d.state.registered.len() as u64)
            } else {
                Vec::new()
            },
        );
        let origin_up = match d.state.origin_state {
            OriginState::Unknown => None,
            OriginState::Up => Some(1),
            OriginState::Stopping { .. }
            | OriginState::Down { .. }
            | OriginState::Starting { .. } => Some(0),
        };
        gauge(
            "sigil_top_origin_up",
            "1 when the origin is up and listening, 0 when it is stopping, down or starting (no sample while unknown).",
            origin_up.map(plain).unwrap_or_default(),
        );
        gauge(
            "sigil_top_open_incidents",
            "Incidents open now.",
            plain(watch.open_incidents),
        );
        let (latency_buckets, latency_count, latency_sum_s) = latency_histogram(model);
        Figures {
            families,
            latency_buckets,
            latency_count,
            latency_sum_s,
        }
    }

    /// The Prometheus text.
    pub fn to_text(&self) -> String {
        let mut registry = Registry::default();
        registry.register_collector(Box::new(self.clone()));
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::prometheus_text::encode(&mut out, &registry);
        out
    }
}

/// The origin latency histogram (the report's `requests.latency_ms`) in fixed buckets:
/// every recorded value of the HDR histogram lands in the first bucket whose bound it
/// does not exceed; the sum is the HDR mean times the count.
fn latency_histogram(model: &Model) -> (Vec<(f64, u64)>, u64, f64) {
    let latency = &model.stats.latency;
    let hist = &latency.hist;
    let mut buckets: Vec<(f64, u64)> = LATENCY_BUCKETS_S.iter().map(|b| (*b, 0)).collect();
    let mut sum_us = 0.0;
    for v in hist.iter_recorded() {
        let us = hist.highest_equivalent(v.value_iterated_to());
        let n = v.count_at_value();
        sum_us += hist.median_equivalent(v.value_iterated_to()) as f64 * n as f64;
        let s = us as f64 / 1e6;
        if let Some(b) = buckets.iter_mut().find(|(bound, _)| s <= *bound) {
            b.1 += n;
        }
    }
    (buckets, latency.count(), sum_us / 1e6)
}

impl Collector for Figures {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        for f in &self.families {
            if f.series.is_empty() && f.kind == MetricType::Gauge {
                continue;
            }
            let mut metric = encoder.encode_descriptor(f.name, f.help, None, f.kind)?;
            for (labels, value) in &f.series {
                let family = metric.encode_family(labels)?;
                match f.kind {
                    MetricType::Gauge => ConstGauge::new(*value).encode(family)?,
                    _ => ConstCounter::new(*value).encode(family)?,
                }
            }
        }
        let mut metric = encoder.encode_descriptor(
            "sigil_top_request_duration_seconds",
            "Origin response time of answered requests (the report's latency), from its HDR histogram.",
            None,
            MetricType::Histogram,
        )?;
        metric.encode_histogram::<NoLabelSet>(
            self.latency_sum_s,
            self.latency_count,
            &self.latency_buckets,
            None,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::stats::KeyStats;
    use crate::model::Settings;

    fn key_stats(count: u64) -> KeyStats {
        KeyStats {
            count,
            ..KeyStats::default()
        }
    }

    fn series<'a>(text: &'a str, name: &str) -> Vec<&'a str> {
        text.lines()
            .filter(|l| l.starts_with(name) && !l.starts_with('#'))
            .collect()
    }

    #[test]
    fn routes_and_tools_past_the_cap_add_up_under_other() {
        let mut model = Model::new(Settings::default());
        for i in 0..60u64 {
            let path = format!("/scan/{i}");
            model
                .stats
                .by_route
                .insert(("GET".into(), path), key_stats(i + 1));
            model
                .stats
                .by_tool
                .insert(format!("tool_{i}"), key_stats(i + 1));
        }
        let text = Figures::of(&model, &WatchFigures::default()).to_text();
        let routes = series(&text, "sigil_top_route_requests_total");
        assert_eq!(routes.len(), ROUTE_SERIES_MAX + 1, "{routes:?}");
        // The 10 quietest (1 + … + 10 requests) add up under "other".
        assert!(
            routes.contains(&"sigil_top_route_requests_total{method=\"other\",path=\"other\"} 55")
        );
        assert!(
            routes.contains(&"sigil_top_route_requests_total{method=\"GET\",path=\"/scan/59\"} 60")
        );
        let tools = series(&text, "sigil_top_tool_calls_total");
        assert_eq!(tools.len(), TOOL_SERIES_MAX + 1);
        assert!(tools.contains(&"sigil_top_tool_calls_total{tool=\"other\"} 55"));
    }

    #[test]
    fn label_values_from_logs_are_escaped_and_secrets_redacted() {
        let mut model = Model::new(Settings::default());
        let hostile = "/x\"}\nevil_total 1\n\u{1b}[2J?token=s3cr3t&a=1";
        model
            .stats
            .by_route
            .insert(("GET".into(), hostile.into()), key_stats(1));
        let text = Figures::of(&model, &WatchFigures::default()).to_text();
        assert!(!text.contains("s3cr3t"), "{text}");
        assert!(!text.lines().any(|l| l.starts_with("evil_total")), "{text}");
        assert!(!text.contains('\u{1b}'), "{text}");
        let routes = series(&text, "sigil_top_route_requests_total");
        assert_eq!(routes.len(), 1, "one line for the one route: {routes:?}");
    }

    #[test]
    fn unknown_states_have_no_sample_and_latency_lands_in_fixed_buckets() {
        let mut model = Model::new(Settings::default());
        for us in [3_000, 7_000, 7_000, 200_000, 150_000_000] {
            model.stats.latency.record_us(us);
        }
        let text = Figures::of(&model, &WatchFigures::default()).to_text();
        assert!(
            series(&text, "sigil_top_tunnel_connections_up").is_empty(),
            "{text}"
        );
        assert!(series(&text, "sigil_top_origin_up").is_empty(), "{text}");
        let buckets = series(&text, "sigil_top_request_duration_seconds_bucket");
        assert_eq!(buckets.len(), LATENCY_BUCKETS_S.len() + 1);
        for (bound, want) in [
            ("0.005", 1),
            ("0.01", 3),
            ("0.25", 4),
            ("120", 4),
            ("+Inf", 5),
        ] {
            let line =
                format!("sigil_top_request_duration_seconds_bucket{{le=\"{bound}\"}} {want}");
            assert!(buckets.contains(&line.as_str()), "{line} in {buckets:?}");
        }
        assert!(text.contains("sigil_top_request_duration_seconds_count 5"));
    }
}
