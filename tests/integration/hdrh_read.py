"""Reads an HdrHistogram interval log with the `hdrhistogram` package from PyPI (a port
of HdrHistogram independent of the Rust crate sigil-top writes it with) and prints, as
JSON, what the snapshot's `histogram.hgrm` must agree with: each interval's tag, start
and length, its recorded values (highest equivalent value, count), and the footer's
figures as HdrHistogram computes them (raw units: the caller scales).

Used by tests/integration/snapshot.rs (issue 20, point 3). Usage: hdrh_read.py FILE.hlog
"""
import json
import sys

from hdrh.histogram import HdrHistogram
from hdrh.log import HistogramLogReader


def main():
    # The reference histogram only supplies defaults; every interval decodes its own
    # range and precision from its V2 header.
    reader = HistogramLogReader(sys.argv[1], HdrHistogram(1, 120_000_000, 3))
    intervals = []
    while True:
        h = reader.get_next_interval_histogram()
        if h is None:
            break
        recorded = [
            [v.value_iterated_to, v.count_at_value_iterated_to]
            for v in h.get_recorded_iterator()
        ]
        intervals.append({
            "tag": h.get_tag(),
            "start_ms": h.get_start_time_stamp(),
            "end_ms": h.get_end_time_stamp(),
            "lowest": h.lowest_trackable_value,
            "highest": h.highest_trackable_value,
            "significant_figures": h.significant_figures,
            "recorded": recorded,
            "total_count": h.get_total_count(),
            "mean": h.get_mean_value(),
            "stddev": h.get_stddev(),
            "max": h.get_max_value(),
            "bucket_count": h.bucket_count,
            "sub_bucket_count": h.sub_bucket_count,
        })
    reader.close()
    json.dump({"start_time_sec": reader.get_start_time_sec(), "intervals": intervals},
              sys.stdout)


if __name__ == "__main__":
    main()
