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

use super::summary::{self, Summary};

/// The `Content-Type` of a scrape's answer.
pub(crate) const CONTENT_TYPE: &str = prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

/// Routes given a series of their own (the busiest); the rest add up under
/// `method="other", path="other"`. Paths come from clients: without a cap, a scanner
/// walking URLs would make a series per URL.
pub(crate) const ROUTE_SERIES_MAX: usize = 50;
/// MCP tools given a series of their own (the busiest); the rest add up under `other`.
pub(crate) const TOOL_SERIES_MAX: usize = 50;

/// The latency histogram's bucket bounds, in seconds: 5 ms … 120 s (the edge gives up at
/// 100 s).
pub(crate) const LATENCY_BUCKETS_S: [f64; 15] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 100.0, 120.0,
];

/// What `watch` itself knows besides the model: incidents it announced and its hooks.
#[derive(Debug, Clone, Default)]
pub(crate) struct WatchFigures {
    /// Opens announced by this run, by incident kind.
    pub(crate) opened_by_kind: BTreeMap<String, u64>,
    /// Incidents announced open now (carried over from a previous run included).
    pub(crate) open_incidents: u64,
    /// `--exec` hooks by outcome: `ok`, `failed`, `timeout`, `not_started`, `dropped`.
    pub(crate) hooks: BTreeMap<&'static str, u64>,
}

/// One series' labels: `(name, value)` pairs.
type Labels = Vec<(&'static str, String)>;

/// The first `max` of `rows` (busiest first) as series of their own, labelled by
/// `labels`, and the rest added up under `other` (left out when they add up to 0): a
/// cardinality cap that loses no count.
fn capped_series<T>(
    rows: &[(T, u64)],
    max: usize,
    labels: impl Fn(&T) -> Labels,
    other: Labels,
) -> Vec<(Labels, u64)> {
    let mut series: Vec<(Labels, u64)> = rows
        .iter()
        .take(max)
        .map(|(row, n)| (labels(row), *n))
        .collect();
    let rest: u64 = rows.iter().skip(max).map(|(_, n)| n).sum();
    if rest > 0 {
        series.push((other, rest));
    }
    series
}

/// One unlabelled series.
fn plain(n: u64) -> Vec<(Labels, u64)> {
    vec![(Vec::new(), n)]
}

/// One counter or gauge family: `(labels, value)` per series.
#[derive(Debug, Clone)]
struct Family {
    name: &'static str,
    help: &'static str,
    kind: MetricType,
    series: Vec<(Labels, u64)>,
}

impl Family {
    fn new(
        kind: MetricType,
        name: &'static str,
        help: &'static str,
        series: Vec<(Labels, u64)>,
    ) -> Family {
        Family {
            name,
            help,
            kind,
            series,
        }
    }
}

/// Everything one scrape prints, owned (a `Collector` outlives the borrow of the model).
#[derive(Debug, Clone)]
pub(crate) struct Figures {
    families: Vec<Family>,
    /// Upper bound (s) and requests in (previous bound, bound].
    latency_buckets: Vec<(f64, u64)>,
    latency_count: u64,
    latency_sum_s: f64,
}

/// The request counters: entries, answered requests by status, routes, tools, and the
/// requests that failed in the tunnel.
fn request_families(model: &Model, summary: &Summary) -> Vec<Family> {
    let s = &model.stats;
    let mut families = Vec::new();
    let mut counter =
        |name, help, series| families.push(Family::new(MetricType::Counter, name, help, series));
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
        summary
            .requests
            .by_status
            .iter()
            .map(|(status, n)| (vec![("status", status.to_string())], *n))
            .collect(),
    );
    let routes: Vec<_> = summary::routes_busiest_first(s)
        .into_iter()
        .map(|(route, r)| (route, r.count))
        .collect();
    let route_series = capped_series(
        &routes,
        ROUTE_SERIES_MAX,
        |(method, path)| {
            vec![
                ("method", text::sanitize(method).into_owned()),
                (
                    "path",
                    text::sanitize(&text::redact_query(path)).into_owned(),
                ),
            ]
        },
        vec![("method", "other".to_owned()), ("path", "other".to_owned())],
    );
    counter(
        "sigil_top_route_requests",
        "Requests by route (the 50 busiest; the rest under method=\"other\", path=\"other\").",
        route_series,
    );
    let mut tools: Vec<_> = s.by_tool.iter().map(|(name, k)| (name, k.count)).collect();
    tools.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let tool_series = capped_series(
        &tools,
        TOOL_SERIES_MAX,
        |name| vec![("tool", text::sanitize(name).into_owned())],
        vec![("tool", "other".to_owned())],
    );
    counter(
        "sigil_top_tool_calls",
        "MCP tool calls, by tool (the 50 busiest; the rest under tool=\"other\").",
        tool_series,
    );
    counter(
        "sigil_top_bad_gateway",
        "Requests that got a 502 from the tunnel, by likely cause.",
        summary
            .tunnel
            .bad_gateway_by_cause
            .iter()
            .map(|(cause, n)| (vec![("cause", cause.as_str().to_owned())], *n))
            .collect(),
    );
    counter(
        "sigil_top_edge_timeouts",
        "Requests the Cloudflare edge gave up on (524).",
        plain(summary.traffic.edge_timeout),
    );
    counter(
        "sigil_top_client_aborts",
        "Requests the client cancelled before an answer.",
        plain(summary.tunnel.client_abort),
    );
    families
}

/// The event counters: tunnel disconnects, origin restarts and crashes, and what this
/// watch announced and ran.
fn event_families(summary: &Summary, watch: &WatchFigures) -> Vec<Family> {
    let mut families = Vec::new();
    let mut counter =
        |name, help, series| families.push(Family::new(MetricType::Counter, name, help, series));
    counter(
        "sigil_top_tunnel_disconnects",
        "Tunnel connections lost.",
        plain(summary.tunnel.disconnects),
    );
    counter(
        "sigil_top_origin_restarts",
        "Origin service restarts.",
        plain(summary.origin.restarts),
    );
    counter(
        "sigil_top_origin_crashes",
        "Origin service crashes.",
        plain(summary.origin.crashes),
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
    families
}

/// The gauges: tunnel connections up, the origin up, incidents open. A state not known
/// yet has no sample.
fn gauge_families(model: &Model, watch: &WatchFigures) -> Vec<Family> {
    let d = &model.detector;
    let mut families = Vec::new();
    let mut gauge =
        |name, help, series| families.push(Family::new(MetricType::Gauge, name, help, series));
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
        OriginState::Stopping { .. } | OriginState::Down { .. } | OriginState::Starting { .. } => {
            Some(0)
        }
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
    families
}

impl Figures {
    /// Takes the figures of `model` and `watch` now.
    pub(crate) fn of(model: &Model, watch: &WatchFigures) -> Figures {
        let summary = Summary::of(model);
        let mut families = request_families(model, &summary);
        families.extend(event_families(&summary, watch));
        families.extend(gauge_families(model, watch));
        let (latency_buckets, latency_count, latency_sum_s) = latency_histogram(model);
        Figures {
            families,
            latency_buckets,
            latency_count,
            latency_sum_s,
        }
    }

    /// The Prometheus text.
    pub(crate) fn to_text(&self) -> String {
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
