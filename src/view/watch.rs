//! `watch` output: one line per incident change, as JSON (`{"event": "open"|"update"|
//! "close", "incident": {…}}`) or readable text. Owns the line formats, which changes are
//! printed ([`Throttle`]: update rate limiting) and what was announced ([`Announcer`]:
//! incident ids and the incidents still open, kept across a restart with
//! `--cursor-file`, so an incident is opened once however often `watch` restarts).

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::model::detect::{ChangeKind, Incident, IncidentChange, IncidentId};
use crate::source::Timestamp;
use crate::text;

/// Keeps `update` events to one per incident per interval (journal time); opens and
/// closes always pass. Memory: one entry per open incident.
#[derive(Debug)]
pub(crate) struct Throttle {
    interval_us: u64,
    last_update: HashMap<IncidentId, Timestamp>,
}

impl Throttle {
    pub(crate) fn new(interval_us: u64) -> Throttle {
        Throttle {
            interval_us,
            last_update: HashMap::new(),
        }
    }

    /// Whether to print `change`.
    pub(crate) fn admit(&mut self, change: &IncidentChange) -> bool {
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

/// An incident as announced: what a restarted `watch` needs to go on with it (saved next
/// to the cursor, see `docs/operate.md`). Times are journal microseconds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Announced {
    /// The id printed in its events (stable across restarts).
    pub(crate) id: u64,
    pub(crate) kind: String,
    pub(crate) severity: String,
    pub(crate) start_us: u64,
    pub(crate) last_us: u64,
    pub(crate) count: u64,
    pub(crate) cause: String,
}

/// What [`Announcer`] keeps between runs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct AnnouncedState {
    /// The highest id announced so far; the next run numbers its incidents after it.
    pub(crate) last_id: u64,
    /// Incidents announced open and not closed yet.
    pub(crate) open: Vec<Announced>,
}

/// One change to print (and hand to `--exec`): the JSON line, the text line, and what
/// the hook environment says.
#[derive(Debug, Clone)]
pub(crate) struct Announcement {
    pub(crate) kind: ChangeKind,
    /// The announced id (not the model's: see [`Announcer`]).
    pub(crate) incident: u64,
    pub(crate) incident_kind: String,
    pub(crate) severity: String,
    pub(crate) json: Value,
    pub(crate) text: String,
}

/// Turns the model's incident changes into announcements with stable ids.
///
/// A restarted `watch` has a fresh model: its incidents are numbered from 1 again, and an
/// incident that was open when the previous run stopped would open again. So ids are the
/// model's plus the last id announced before (`last_id`), and an incident the previous
/// run left open is *carried*: when the model opens one of the same kind within the quiet
/// time (`quiet_us`, after which the detector itself would have closed it) of its last
/// signal, that is the same incident going on, announced as an `update` under the old
/// id with the counts added up; when the quiet time passes without one, it is closed.
#[derive(Debug)]
pub(crate) struct Announcer {
    throttle: Throttle,
    quiet_us: u64,
    last_id: u64,
    /// Model id → announced id, for incidents of this run.
    ids: HashMap<IncidentId, u64>,
    /// Announced id → counts carried over from the previous run.
    base: HashMap<u64, Announced>,
    /// Left open by the previous run and not seen again yet.
    carried: Vec<Announced>,
    /// Announced open now, by announced id (carried ones included).
    open: BTreeMap<u64, Announced>,
    /// Opens announced by this run, per incident kind (for `/metrics`).
    pub(crate) opened_by_kind: BTreeMap<String, u64>,
}

impl Announcer {
    /// `previous`: what the last run saved (default: a first run).
    pub(crate) fn new(
        previous: AnnouncedState,
        quiet_us: u64,
        update_interval_us: u64,
    ) -> Announcer {
        let open = previous.open.iter().map(|a| (a.id, a.clone())).collect();
        Announcer {
            throttle: Throttle::new(update_interval_us),
            quiet_us,
            last_id: previous.last_id,
            ids: HashMap::new(),
            base: HashMap::new(),
            carried: previous.open,
            open,
            opened_by_kind: BTreeMap::new(),
        }
    }

    /// What to save for the next run.
    pub(crate) fn state(&self) -> AnnouncedState {
        AnnouncedState {
            last_id: self.last_id,
            open: self.open.values().cloned().collect(),
        }
    }

    /// Incidents announced open now.
    pub(crate) fn open_count(&self) -> usize {
        self.open.len()
    }

    /// The announcement for one model change, or `None` when it is not printed (a
    /// throttled update).
    pub(crate) fn announce(
        &mut self,
        change: &IncidentChange,
        incident: &Incident,
    ) -> Option<Announcement> {
        let mut kind = change.kind;
        let id = match (kind, self.ids.get(&change.incident)) {
            (_, Some(&id)) => id,
            (ChangeKind::Open, None) => {
                let carried = self.carried.iter().position(|c| {
                    c.kind == incident.kind.as_str()
                        && change.at.0.saturating_sub(c.last_us) <= self.quiet_us
                });
                let id = if let Some(i) = carried {
                    let c = self.carried.remove(i);
                    kind = ChangeKind::Update;
                    let id = c.id;
                    self.base.insert(id, c);
                    id
                } else {
                    self.last_id += 1;
                    *self
                        .opened_by_kind
                        .entry(incident.kind.as_str().to_owned())
                        .or_insert(0) += 1;
                    self.last_id
                };
                self.ids.insert(change.incident, id);
                id
            }
            // A change for an incident opened before this run's announcements began:
            // not announced (its open never was).
            (_, None) => return None,
        };
        let base = self.base.get(&id);
        let announced = Announced {
            id,
            kind: incident.kind.as_str().to_owned(),
            severity: incident.severity.as_str().to_owned(),
            start_us: base.map_or(incident.start.0, |b| b.start_us.min(incident.start.0)),
            last_us: incident.last.0,
            count: incident.count + base.map_or(0, |b| b.count),
            cause: incident.cause.clone(),
        };
        if kind == ChangeKind::Close {
            self.open.remove(&id);
            self.ids.remove(&change.incident);
            self.base.remove(&id);
        } else {
            self.open.insert(id, announced.clone());
        }
        let shown = IncidentChange {
            kind,
            incident: IncidentId(id),
            at: change.at,
        };
        if !self.throttle.admit(&shown) {
            return None;
        }
        let mut incident_json = super::report::incident_json(incident);
        incident_json["id"] = json!(id);
        incident_json["count"] = json!(announced.count);
        incident_json["start"] = json!(Timestamp(announced.start_us).to_rfc3339());
        Some(Self::announcement(&shown, &announced, incident_json))
    }

    /// Closes carried incidents whose quiet time has passed by `now` (journal time, or
    /// the wall clock while following live).
    pub(crate) fn expire(&mut self, now: Timestamp) -> Vec<Announcement> {
        let quiet_us = self.quiet_us;
        let (gone, kept): (Vec<Announced>, Vec<Announced>) = std::mem::take(&mut self.carried)
            .into_iter()
            .partition(|c| now.0.saturating_sub(c.last_us) > quiet_us);
        self.carried = kept;
        gone.into_iter()
            .map(|c| {
                self.open.remove(&c.id);
                let change = IncidentChange {
                    kind: ChangeKind::Close,
                    incident: IncidentId(c.id),
                    at: now,
                };
                self.throttle.admit(&change);
                let json = json!({
                    "id": c.id,
                    "kind": c.kind,
                    "severity": c.severity,
                    "start": Timestamp(c.start_us).to_rfc3339(),
                    "end": Timestamp(c.last_us).to_rfc3339(),
                    "count": c.count,
                    "cause": text::display(&c.cause),
                    "evidence": [],
                });
                Self::announcement(&change, &c, json)
            })
            .collect()
    }

    #[allow(clippy::needless_pass_by_value)] // moved into the event's JSON
    fn announcement(change: &IncidentChange, a: &Announced, incident: Value) -> Announcement {
        let json = json!({
            "event": change.kind.as_str(),
            "at": change.at.to_rfc3339(),
            "incident": incident,
        });
        let text = format!(
            "{} {:<6} #{} {} {} x{}: {}",
            change.at.to_rfc3339(),
            change.kind.as_str().to_uppercase(),
            a.id,
            a.severity,
            a.kind,
            a.count,
            text::display(&a.cause)
        );
        Announcement {
            kind: change.kind,
            incident: a.id,
            incident_kind: a.kind.clone(),
            severity: a.severity.clone(),
            json,
            text,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::detect::IncidentKind;

    fn change(kind: ChangeKind, at_s: u64) -> IncidentChange {
        IncidentChange {
            kind,
            incident: IncidentId(7),
            at: Timestamp(at_s * 1_000_000),
        }
    }

    fn incident(id: u64, kind: IncidentKind, start_s: u64, count: u64) -> Incident {
        Incident {
            id: IncidentId(id),
            kind,
            severity: crate::model::detect::Severity::Critical,
            start: Timestamp(start_s * 1_000_000),
            last: Timestamp(start_s * 1_000_000),
            end: None,
            count,
            cause: "origin down".into(),
            evidence: Vec::new(),
            host: None,
        }
    }

    fn carried(id: u64, kind: &str, last_s: u64, count: u64) -> Announced {
        Announced {
            id,
            kind: kind.into(),
            severity: "critical".into(),
            start_us: 10_000_000,
            last_us: last_s * 1_000_000,
            count,
            cause: "origin down".into(),
        }
    }

    #[test]
    fn an_incident_left_open_goes_on_under_its_id_and_new_ones_number_after_it() {
        let previous = AnnouncedState {
            last_id: 41,
            open: vec![carried(41, "bad_gateway", 100, 5)],
        };
        let mut a = Announcer::new(previous, 60_000_000, 5_000_000);
        // The model's first bad_gateway, 30 s after the carried one's last signal.
        let inc = incident(1, IncidentKind::BadGateway, 130, 2);
        let got = a.announce(&change(ChangeKind::Open, 130), &inc).unwrap();
        assert_eq!((got.kind, got.incident), (ChangeKind::Update, 41));
        assert_eq!(got.json["event"], "update");
        assert_eq!(got.json["incident"]["id"], 41);
        assert_eq!(got.json["incident"]["count"], 7, "5 before the restart + 2");
        assert_eq!(got.json["incident"]["start"], "1970-01-01T00:00:10.000000Z");
        // Another kind is a new incident, numbered after the last one announced.
        let other = incident(2, IncidentKind::EdgeTimeout, 131, 1);
        let mut open = change(ChangeKind::Open, 131);
        open.incident = IncidentId(2);
        let got = a.announce(&open, &other).unwrap();
        assert_eq!((got.kind, got.incident), (ChangeKind::Open, 42));
        assert_eq!(a.opened_by_kind.get("edge_timeout"), Some(&1));
        assert_eq!(
            a.opened_by_kind.get("bad_gateway"),
            None,
            "continued, not opened"
        );
        assert_eq!(a.state().last_id, 42);
        assert_eq!(a.open_count(), 2);
        // Its close is the carried id's close.
        let got = a.announce(&change(ChangeKind::Close, 200), &inc).unwrap();
        assert_eq!((got.kind, got.incident), (ChangeKind::Close, 41));
        assert_eq!(a.state().open.len(), 1);
    }

    #[test]
    fn a_carried_incident_closes_when_its_quiet_time_passes_and_a_late_one_opens_anew() {
        let previous = AnnouncedState {
            last_id: 3,
            open: vec![carried(3, "bad_gateway", 100, 5)],
        };
        let mut a = Announcer::new(previous, 60_000_000, 5_000_000);
        assert!(
            a.expire(Timestamp(150_000_000)).is_empty(),
            "still within quiet time"
        );
        let closed = a.expire(Timestamp(161_000_000));
        assert_eq!(closed.len(), 1);
        assert_eq!((closed[0].kind, closed[0].incident), (ChangeKind::Close, 3));
        assert_eq!(closed[0].json["incident"]["count"], 5);
        assert_eq!(a.open_count(), 0);
        // A 502 after that is a new incident.
        let inc = incident(1, IncidentKind::BadGateway, 170, 1);
        let got = a.announce(&change(ChangeKind::Open, 170), &inc).unwrap();
        assert_eq!((got.kind, got.incident), (ChangeKind::Open, 4));
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
