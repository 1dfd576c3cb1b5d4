//! The latency rule: p99 per window of requests, over the threshold for several windows
//! in a row opens a `latency` incident, under it for several closes it.

use super::{ChangeKind, Detector, IncidentChange, IncidentId, IncidentKind, Severity, Timestamp};
use crate::model::stats::Latency;

/// The latency rule's state: the current window's histogram and the streaks.
#[derive(Debug, Default)]
pub(super) struct LatencyRule {
    window_start: Option<Timestamp>,
    window: Latency,
    over: u32,
    under: u32,
    open: Option<IncidentId>,
}

impl Detector {
    /// Feeds a request's latency to the latency rule (windows of `latency_window_us`).
    pub(super) fn latency_sample(&mut self, at: Timestamp, us: u64) {
        let span = self.settings.latency_window_us.max(1);
        let start = *self.latency_rule.window_start.get_or_insert(at);
        if at.saturating_since_us(start) >= span {
            self.judge_latency_window(start);
            // Windows with no request in them count as under the threshold.
            let elapsed = at.saturating_since_us(start) / span;
            if elapsed > 1 {
                let idle = u32::try_from(elapsed - 1).unwrap_or(u32::MAX);
                self.latency_rule.under = self.latency_rule.under.saturating_add(idle);
                self.latency_rule.over = 0;
                self.close_latency_if_calm(at);
            }
            self.latency_rule.window_start = Some(Timestamp(start.0 + elapsed * span));
        }
        self.latency_rule.window.record_us(us);
    }

    fn judge_latency_window(&mut self, start: Timestamp) {
        let w = std::mem::take(&mut self.latency_rule.window);
        if w.count() < self.settings.latency_min_requests {
            return;
        }
        let p99_us = w.hist.value_at_percentile(99.0);
        let end = Timestamp(start.0 + self.settings.latency_window_us);
        if p99_us > self.settings.latency_p99_threshold_us {
            self.latency_rule.over += 1;
            self.latency_rule.under = 0;
            if self.latency_rule.over >= self.settings.latency_windows_to_open {
                let cause = format!(
                    "p99 {:.0} ms over {} consecutive {} s windows (threshold {:.0} ms)",
                    p99_us as f64 / 1000.0,
                    self.latency_rule.over,
                    self.settings.latency_window_us / 1_000_000,
                    self.settings.latency_p99_threshold_us as f64 / 1000.0
                );
                let id = self.upsert(IncidentKind::Latency, Severity::Warning, end, cause);
                self.latency_rule.open = id;
            }
        } else {
            self.latency_rule.under += 1;
            self.latency_rule.over = 0;
            self.close_latency_if_calm(end);
        }
    }

    fn close_latency_if_calm(&mut self, at: Timestamp) {
        if self.latency_rule.under < self.settings.latency_windows_to_close {
            return;
        }
        if let Some(id) = self.latency_rule.open.take() {
            if let Some(inc) = self
                .incidents
                .iter_mut()
                .find(|i| i.id == id && i.end.is_none())
            {
                inc.end = Some(at);
                self.changes.push(IncidentChange {
                    kind: ChangeKind::Close,
                    incident: id,
                    at,
                });
            }
        }
    }
}
