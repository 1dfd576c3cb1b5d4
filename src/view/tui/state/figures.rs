//! The figures the header, the latency panel and the routes and tools tables show that
//! cost more than a frame should ([`Derived`]: window counts, merged histograms,
//! percentiles, sparkline slices, per-route and per-tool rows), and the window they cover
//! ([`LatencyWindow`]). Computed from `&Model` on the 1 s tick, on `w` and when input
//! ends; never per frame.

use crate::model::stats::{Bucket, BUCKET_US};
use crate::model::Model;
use crate::source::Timestamp;
use crate::view::summary::{Summary, Traffic};

/// The span the latency panel and header figures cover.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LatencyWindow {
    OneMinute,
    FiveMinutes,
    FifteenMinutes,
    All,
}

impl LatencyWindow {
    pub(crate) fn label(self) -> &'static str {
        match self {
            LatencyWindow::OneMinute => "1m",
            LatencyWindow::FiveMinutes => "5m",
            LatencyWindow::FifteenMinutes => "15m",
            LatencyWindow::All => "all",
        }
    }

    /// The span in µs; `None` for the whole run.
    pub(crate) fn span_us(self) -> Option<u64> {
        match self {
            LatencyWindow::OneMinute => Some(60_000_000),
            LatencyWindow::FiveMinutes => Some(300_000_000),
            LatencyWindow::FifteenMinutes => Some(900_000_000),
            LatencyWindow::All => None,
        }
    }

    pub(super) fn next(self) -> LatencyWindow {
        match self {
            LatencyWindow::OneMinute => LatencyWindow::FiveMinutes,
            LatencyWindow::FiveMinutes => LatencyWindow::FifteenMinutes,
            LatencyWindow::FifteenMinutes => LatencyWindow::All,
            LatencyWindow::All => LatencyWindow::OneMinute,
        }
    }
}

/// One row of the per-route or per-tool table.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct KeyRow {
    pub(crate) name: String,
    pub(crate) count: u64,
    pub(crate) rate_per_s: f64,
    /// `None` when no latency was measured for it (streams only, or latency unknown).
    pub(crate) p50_ms: Option<f64>,
    pub(crate) p99_ms: Option<f64>,
    /// 5xx answers, tool errors inside 200s, and requests that failed in the tunnel
    /// (502/524): the tables' `err`.
    pub(crate) errors: u64,
}

/// One 10 s slice of the timeline, as the sparklines draw it.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct SparkPoint {
    pub(crate) requests: u64,
    pub(crate) p99_ms: f64,
    pub(crate) bad_gateway: u64,
    pub(crate) timeouts: u64,
}

/// Upper bounds (µs) of the latency histogram's log-scaled buckets; the last is open.
pub(crate) const HIST_BOUNDS_US: &[u64] = &[
    1_000, 2_000, 5_000, 10_000, 20_000, 50_000, 100_000, 200_000, 500_000, 1_000_000, 2_000_000,
    5_000_000, 10_000_000, 30_000_000,
];

/// Figures for the latency panel and the header that cost too much to compute per frame.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Derived {
    /// The whole run's headline figures, as the report gives them (the header's hosts
    /// row reads it).
    pub(crate) summary: Summary,
    /// Requests answered in the window, their failures and latencies (the whole run's
    /// for [`LatencyWindow::All`]).
    pub(crate) traffic: Traffic,
    /// Requests answered per second over the part of the window with data.
    pub(crate) rate_per_s: f64,
    /// Counts per [`HIST_BOUNDS_US`] bucket (one more for the open last one).
    pub(crate) histogram: Vec<u64>,
    /// Oldest first, 10 s each.
    pub(crate) spark: Vec<SparkPoint>,
    /// Busiest first, whole run.
    pub(crate) routes: Vec<KeyRow>,
    pub(crate) tools: Vec<KeyRow>,
}

fn key_rows<'a>(
    it: impl Iterator<Item = (String, &'a crate::model::stats::KeyStats)>,
    run_s: f64,
) -> Vec<KeyRow> {
    let mut rows: Vec<(String, &crate::model::stats::KeyStats)> = it.collect();
    rows.sort_by(|a, b| b.1.count.cmp(&a.1.count).then_with(|| a.0.cmp(&b.0)));
    rows.truncate(30);
    rows.into_iter()
        .map(|(name, k)| KeyRow {
            name,
            count: k.count,
            rate_per_s: k.count as f64 / run_s,
            p50_ms: (k.latency.count() > 0).then(|| k.latency.percentile_ms(50.0)),
            p99_ms: (k.latency.count() > 0).then(|| k.latency.percentile_ms(99.0)),
            errors: k.errors,
        })
        .collect()
}

/// The sparklines' slices, oldest first, ending at slice `end` (the clock's while live:
/// quiet slices up to now are empty points, so silence shows as silence), at most 15
/// minutes of them.
fn spark_points(stats: &crate::model::stats::Stats, end: Option<u64>) -> Vec<SparkPoint> {
    let Some(end) = end else {
        return Vec::new();
    };
    // Slices before the first with data are not drawn: nothing was read then, so they
    // are unknown, not quiet.
    let oldest = stats.timeline.buckets().next().map_or(end, |b| b.index);
    let first = (end + 1)
        .saturating_sub(crate::model::stats::BUCKETS as u64)
        .max(oldest.min(end));
    let mut points = Vec::new();
    let mut at = first;
    for b in stats
        .timeline
        .buckets()
        .filter(|b| b.index >= first && b.index <= end)
    {
        while at < b.index {
            points.push(SparkPoint::default());
            at += 1;
        }
        points.push(SparkPoint {
            requests: b.requests,
            p99_ms: b.latency.percentile_ms(99.0),
            bad_gateway: b.bad_gateway,
            timeouts: b.timeouts,
        });
        at = b.index + 1;
    }
    // Quiet slices after the newest with data, up to the clock.
    while at <= end {
        points.push(SparkPoint::default());
        at += 1;
    }
    points
}

impl Derived {
    /// Computes the figures for `window` from the model (O(timeline + keys), ~1 ms).
    ///
    /// `now`: while following the live journal, the wall clock, and the window ends
    /// there, not at the newest entry (issue 19: with nothing new, rates fall to 0 and old
    /// 502s leave the window; the sparklines end at now). `None` for history and replays,
    /// whose windows end at their newest entry.
    pub(crate) fn compute(model: &Model, window: LatencyWindow, now: Option<Timestamp>) -> Derived {
        let stats = &model.stats;
        let run_s = model.window.map_or(1.0, |(a, b)| {
            (b.saturating_since_us(a) as f64 / 1e6).max(1.0)
        });
        let newest_index = stats.timeline.buckets().next_back().map(|b| b.index);
        let oldest_index = stats.timeline.buckets().next().map(|b| b.index);
        // The slice the window ends in.
        let end_index = match (now, newest_index) {
            (Some(now), Some(newest)) => Some((now.0 / BUCKET_US).max(newest)),
            (Some(now), None) => Some(now.0 / BUCKET_US),
            (None, newest) => newest,
        };
        let summary = Summary::of(model);
        let merged: Bucket;
        let (traffic, span_s, latency) = match (window.span_us(), end_index) {
            (None, _) | (_, None) => (summary.traffic.clone(), run_s, &stats.latency),
            (Some(span), Some(end)) => {
                let n = (span / BUCKET_US).max(1);
                let first = (end + 1).saturating_sub(n);
                let mut b = Bucket::default();
                for x in stats
                    .timeline
                    .buckets()
                    .filter(|x| x.index >= first && x.index <= end)
                {
                    b.requests += x.requests;
                    b.errors_5xx += x.errors_5xx;
                    b.bad_gateway += x.bad_gateway;
                    b.timeouts += x.timeouts;
                    let _ = b.latency.hist.add(&x.latency.hist);
                }
                // Seconds the window covers: from its start, or from the first slice
                // with data when the run is younger than the window.
                let covered = (end + 1).saturating_sub(first.max(oldest_index.unwrap_or(first)));
                let span_s = (covered * BUCKET_US).min(span) as f64 / 1e6;
                merged = b;
                (
                    Traffic::of_slices(&merged),
                    span_s.max(1.0),
                    &merged.latency,
                )
            }
        };
        let mut histogram = vec![0; HIST_BOUNDS_US.len() + 1];
        let mut lower = 0;
        for (i, &upper) in HIST_BOUNDS_US.iter().enumerate() {
            histogram[i] = latency.hist.count_between(lower, upper.saturating_sub(1));
            lower = upper;
        }
        histogram[HIST_BOUNDS_US.len()] = latency.hist.count_between(lower, u64::MAX);
        Derived {
            rate_per_s: traffic.requests as f64 / span_s,
            summary,
            traffic,
            histogram,
            spark: spark_points(stats, end_index),
            routes: key_rows(
                stats
                    .by_route
                    .iter()
                    .map(|((m, p), k)| (format!("{m} {p}"), k)),
                run_s,
            ),
            tools: key_rows(stats.by_tool.iter().map(|(t, k)| (t.clone(), k)), run_s),
        }
    }
}
