//! `watch` output: one line per incident change, as JSON (`{"event": "open"|"update"|
//! "close", "incident": {…}}`) or readable text. Owns the line formats only; which
//! changes are printed (update rate limiting) is decided by [`Throttle`].

use std::collections::HashMap;

use serde_json::{json, Value};

use crate::model::detect::{ChangeKind, Incident, IncidentChange};
use crate::source::Timestamp;
use crate::text;

/// The JSON line for one change.
pub fn event_json(change: &IncidentChange, incident: &Incident) -> Value {
    json!({
        "event": change.kind.as_str(),
        "at": change.at.to_rfc3339(),
        "incident": super::report::incident_json(incident),
    })
}

/// The text line for one change.
pub fn event_text(change: &IncidentChange, incident: &Incident) -> String {
    format!(
        "{} {:<6} #{} {} {} x{}: {}",
        change.at.to_rfc3339(),
        change.kind.as_str().to_uppercase(),
        incident.id,
        incident.severity.as_str(),
        incident.kind.as_str(),
        incident.count,
        text::display(&incident.cause)
    )
}

/// Keeps `update` events to one per incident per interval (journal time); opens and
/// closes always pass. Memory: one entry per open incident.
#[derive(Debug)]
pub struct Throttle {
    interval_us: u64,
    last_update: HashMap<u64, Timestamp>,
}

impl Throttle {
    pub fn new(interval_us: u64) -> Throttle {
        Throttle {
            interval_us,
            last_update: HashMap::new(),
        }
    }

    /// Whether to print `change`.
    pub fn admit(&mut self, change: &IncidentChange) -> bool {
        match change.kind {
            ChangeKind::Open => {
                self.last_update.insert(change.incident, change.at);
                true
            }
            ChangeKind::Close => {
                self.last_update.remove(&change.incident);
                true
            }
            ChangeKind::Update => {
                let last = self
                    .last_update
                    .entry(change.incident)
                    .or_insert(Timestamp(0));
                if change.at.saturating_since_us(*last) >= self.interval_us {
                    *last = change.at;
                    true
                } else {
                    false
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(kind: ChangeKind, at_s: u64) -> IncidentChange {
        IncidentChange {
            kind,
            incident: 7,
            at: Timestamp(at_s * 1_000_000),
        }
    }

    #[test]
    fn updates_are_throttled_opens_and_closes_always_pass() {
        let mut t = Throttle::new(5_000_000);
        assert!(t.admit(&change(ChangeKind::Open, 100)));
        assert!(!t.admit(&change(ChangeKind::Update, 101)));
        assert!(!t.admit(&change(ChangeKind::Update, 104)));
        assert!(t.admit(&change(ChangeKind::Update, 105)));
        assert!(!t.admit(&change(ChangeKind::Update, 106)));
        assert!(t.admit(&change(ChangeKind::Close, 106)));
        assert!(t.last_update.is_empty());
    }
}
