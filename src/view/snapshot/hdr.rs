//! The bundle's latency histogram files: `histogram.hgrm` (`HdrHistogram`'s percentile
//! distribution, as Java's `outputPercentileDistribution` prints it) and `latency.hlog`
//! (its interval log, readable by `HistogramLogProcessor` and `hdrhistogram`'s reader).

use std::fmt::Write as _;

use crate::model::stats::Latency;

use super::Selection;

/// What `histogram.hgrm`'s values are scaled by: the histogram holds microseconds, the
/// file shows milliseconds (Java's `outputValueUnitScalingRatio`).
const HGRM_SCALING_RATIO: f64 = 1000.0;

/// The mean of `h` as `HdrHistogram`'s Java `getMean` computes it: the sum of each recorded
/// value's median-equivalent times its count, divided by the total count (the crate's
/// `mean` divides each term first, which can differ in the last printed digit).
fn hdr_mean(h: &hdrhistogram::Histogram<u64>) -> f64 {
    if h.is_empty() {
        return 0.0;
    }
    let total: f64 = h
        .iter_recorded()
        .map(|v| h.median_equivalent(v.value_iterated_to()) as f64 * v.count_at_value() as f64)
        .sum();
    total / h.len() as f64
}

/// The standard deviation as Java's `getStdDeviation` computes it (around [`hdr_mean`]).
fn hdr_stdev(h: &hdrhistogram::Histogram<u64>) -> f64 {
    if h.is_empty() {
        return 0.0;
    }
    let mean = hdr_mean(h);
    let total: f64 = h
        .iter_recorded()
        .map(|v| {
            let dev = h.median_equivalent(v.value_iterated_to()) as f64 - mean;
            dev * dev * v.count_since_last_iteration() as f64
        })
        .sum();
    (total / h.len() as f64).sqrt()
}

/// Java's `subBucketCount` (2048 at 3 significant digits), from what the crate exposes:
/// its counts array holds `(bucketCount + 1) × subBucketCount / 2` slots.
fn hdr_sub_bucket_count(h: &hdrhistogram::Histogram<u64>) -> usize {
    2 * h.distinct_values() / (usize::from(h.buckets()) + 1)
}

/// `histogram.hgrm`: `HdrHistogram`'s percentile distribution exactly as its Java
/// `outputPercentileDistribution(out, 5, 1000.0)` writes it (and the C and Python ports),
/// values in milliseconds: the percentile iteration with 5 ticks per half distance,
/// `TotalCount` cumulative, the last (100 %) row without `1/(1-Percentile)`, and the
/// footer's mean, standard deviation, max, total count, bucket and sub-bucket counts as
/// `HdrHistogram` computes them. `HdrHistogram`'s percentile plotter and `HistogramLogAnalyzer`
/// read it; `latency.hlog` holds the same histogram losslessly.
pub fn hgrm(l: &Latency) -> String {
    let h = &l.hist;
    let digits = usize::from(h.sigfig());
    let mut out = format!(
        "{:>12} {:>14} {:>10} {:>14}\n\n",
        "Value", "Percentile", "TotalCount", "1/(1-Percentile)"
    );
    if !h.is_empty() {
        let mut total = 0u64;
        for v in h.iter_quantiles(5) {
            total += v.count_since_last_iteration();
            let value = v.value_iterated_to() as f64 / HGRM_SCALING_RATIO;
            let q = v.quantile_iterated_to();
            if q < 1.0 {
                let _ = writeln!(
                    out,
                    "{value:12.digits$} {q:2.12} {total:10} {:14.2}",
                    1.0 / (1.0 - q)
                );
            } else {
                let _ = writeln!(out, "{value:12.digits$} {q:2.12} {total:10}");
            }
        }
    }
    let _ = writeln!(
        out,
        "#[Mean    = {:12.digits$}, StdDeviation   = {:12.digits$}]",
        hdr_mean(h) / HGRM_SCALING_RATIO,
        hdr_stdev(h) / HGRM_SCALING_RATIO
    );
    let _ = writeln!(
        out,
        "#[Max     = {:12.digits$}, Total count    = {:12}]",
        h.max() as f64 / HGRM_SCALING_RATIO,
        h.len()
    );
    let _ = writeln!(
        out,
        "#[Buckets = {:12}, SubBuckets     = {:12}]",
        h.buckets(),
        hdr_sub_bucket_count(h)
    );
    out
}

/// The interval tag of `latency.hlog`'s histogram.
pub const HLOG_TAG: &str = "origin_latency_us";

/// `latency.hlog`: the same histogram as `histogram.hgrm`, lossless, as an `HdrHistogram`
/// interval log (the crate's `IntervalLogWriter`, log format 1.3, V2 compressed encoding,
/// base64): one interval covering the window, its start in seconds since the epoch,
/// tagged [`HLOG_TAG`], values in microseconds (the max column in milliseconds).
/// `HdrHistogram`'s own tools read it (Java's `HistogramLogReader` and
/// `HistogramLogProcessor`, the Python `hdrh.log.HistogramLogReader`, this crate's
/// `IntervalLogIterator`), so the histograms of several bundles can be merged without
/// the loss a percentile table has.
pub fn hlog(l: &Latency, sel: &Selection) -> String {
    use hdrhistogram::serialization::interval_log::{IntervalLogWriterBuilder, Tag};
    use hdrhistogram::serialization::V2DeflateSerializer;
    let start = std::time::Duration::from_micros(sel.start.0);
    let span = std::time::Duration::from_micros(sel.end.0.saturating_sub(sel.start.0));
    let mut out = Vec::new();
    let mut serializer = V2DeflateSerializer::new();
    let written = IntervalLogWriterBuilder::new()
        .add_comment(
            "sigil-top snapshot: origin response latency of the window's requests, in \
             microseconds (interval max in milliseconds)",
        )
        .add_comment("[Histogram log format version 1.3]")
        .with_start_time(std::time::UNIX_EPOCH + start)
        .with_base_time(std::time::UNIX_EPOCH)
        .begin_log_with(&mut out, &mut serializer)
        .map(drop)
        .and_then(|()| {
            // Java's legend line, not a comment (every reader skips it).
            out.extend_from_slice(
                b"\"StartTimestamp\",\"Interval_Length\",\"Interval_Max\",\"Interval_Compressed_Histogram\"\n",
            );
            let mut log = IntervalLogWriterBuilder::new()
                .with_max_value_divisor(HGRM_SCALING_RATIO)
                .begin_log_with(&mut out, &mut serializer)?;
            log.write_histogram(&l.hist, start, span, Tag::new(HLOG_TAG))
                .map_err(|e| std::io::Error::other(e.to_string()))
        });
    // Serializing into a Vec fails only if the histogram cannot be encoded (it always can:
    // its counts fit V2's zig-zag LEB128); an unwritten log then says why.
    if let Err(e) = written {
        return format!("#sigil-top: the histogram could not be serialized: {e}\n");
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hgrm_is_hdrhistograms_percentile_distribution() {
        let mut l = Latency::default();
        for us in [1_000, 2_000, 3_000, 100_000] {
            l.record_us(us);
        }
        let text = hgrm(&l);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "       Value     Percentile TotalCount 1/(1-Percentile)"
        );
        assert_eq!(lines[1], "");
        // Java's percentile steps (5 ticks per half distance: 0.1 apart up to 50 %) and a
        // cumulative TotalCount.
        assert_eq!(
            lines[2],
            "       1.000 0.000000000000          1           1.00"
        );
        assert_eq!(
            lines[3],
            "       1.000 0.100000000000          1           1.11"
        );
        assert_eq!(
            lines[5],
            "       2.000 0.300000000000          2           1.43"
        );
        // The last row is the 100th percentile at the max (100000 µs is in a bucket of 64
        // µs: its highest equivalent is 100031), with no 1/(1-p).
        let rows = &lines[2..lines.len() - 3];
        assert_eq!(
            rows.last().copied(),
            Some("     100.031 1.000000000000          4")
        );
        // The mean of the values' median equivalents (1000, 2000, 3001, 100000 µs).
        assert_eq!(
            lines[lines.len() - 3],
            "#[Mean    =       26.500, StdDeviation   =       42.441]"
        );
        assert_eq!(
            lines[lines.len() - 2],
            "#[Max     =      100.031, Total count    =            4]"
        );
        assert!(
            lines[lines.len() - 1].ends_with(", SubBuckets     =         2048]"),
            "{text}"
        );
    }

    #[test]
    fn hgrm_of_no_requests_is_the_header_and_a_zero_footer() {
        let text = hgrm(&Latency::default());
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 5, "{text}");
        assert_eq!(
            lines[2],
            "#[Mean    =        0.000, StdDeviation   =        0.000]"
        );
        assert_eq!(
            lines[3],
            "#[Max     =        0.000, Total count    =            0]"
        );
    }
}
