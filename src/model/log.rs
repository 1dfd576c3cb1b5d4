//! The bounded history of events the user scrolls and filters.
//!
//! Owns a ring of records: a record is an event plus the continuation lines that belong
//! to it (traceback lines, dumps, second physical lines), grouped by process, so a
//! traceback shows with its record and is never a record of its own. When the ring is
//! full the oldest record goes; [`Log::dropped`] counts them. A capacity of 0 keeps
//! nothing: the headless modes (`report`, `watch`) never show the log, so they do not pay
//! for holding 100k entries (see `config`).

use std::collections::{HashMap, VecDeque};

use ahash::RandomState;

use crate::parse::Event;
use crate::source::Cursor;

/// Continuation lines kept per record; the rest are counted, not stored.
const MAX_CONTINUATION_LINES: usize = 200;

#[derive(Debug, Clone)]
pub struct Record {
    /// Sequence number since start (stable across ring rotation).
    pub seq: u64,
    pub event: Event,
    pub continuation: Vec<Event>,
    pub continuation_dropped: u32,
}

#[derive(Debug)]
pub struct Log {
    records: VecDeque<Record>,
    capacity: usize,
    next_seq: u64,
    /// Last record's sequence number per process, for grouping continuation lines.
    last_by_pid: HashMap<u32, u64, RandomState>,
    pub dropped: u64,
}

impl Log {
    /// A log of at most `capacity` records; 0 keeps none.
    pub fn new(capacity: usize) -> Log {
        Log {
            records: VecDeque::new(),
            capacity,
            next_seq: 0,
            last_by_pid: HashMap::default(),
            dropped: 0,
        }
    }

    /// Whether it keeps anything (a capacity of 0, the headless modes, keeps nothing):
    /// callers with nothing else to do with an event can drop it where it is rather than
    /// move it here.
    pub fn keeps_events(&self) -> bool {
        self.capacity > 0
    }

    pub fn push(&mut self, event: Event) {
        if self.capacity == 0 {
            return;
        }
        let pid = event.entry.pid.unwrap_or(0);
        if event.kind.is_continuation() {
            if let Some(&seq) = self.last_by_pid.get(&pid) {
                if let Some(rec) = self.get_mut(seq) {
                    if rec.continuation.len() < MAX_CONTINUATION_LINES {
                        rec.continuation.push(event);
                    } else {
                        rec.continuation_dropped += 1;
                    }
                    return;
                }
            }
        }
        if self.records.len() >= self.capacity {
            if let Some(old) = self.records.pop_front() {
                self.dropped += 1;
                let old_pid = old.event.entry.pid.unwrap_or(0);
                if self.last_by_pid.get(&old_pid) == Some(&old.seq) {
                    self.last_by_pid.remove(&old_pid);
                }
            }
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        self.last_by_pid.insert(pid, seq);
        self.records.push_back(Record {
            seq,
            event,
            continuation: Vec::new(),
            continuation_dropped: 0,
        });
    }

    fn get_mut(&mut self, seq: u64) -> Option<&mut Record> {
        let first = self.records.front()?.seq;
        let idx = usize::try_from(seq.checked_sub(first)?).ok()?;
        self.records.get_mut(idx)
    }

    pub fn len(&self) -> usize {
        self.records.len()
    }

    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &Record> + ExactSizeIterator {
        self.records.iter()
    }

    /// Copies of the raw entries kept (records and their continuation lines) whose journal
    /// time is within `[start, end]`, in time order: what a snapshot of that window holds.
    pub fn raw_entries_between(
        &self,
        start: crate::source::Timestamp,
        end: crate::source::Timestamp,
    ) -> Vec<crate::source::RawEntry> {
        let mut out: Vec<crate::source::RawEntry> = self
            .records
            .iter()
            .flat_map(|r| std::iter::once(&r.event).chain(r.continuation.iter()))
            .filter(|e| (start..=end).contains(&e.entry.realtime))
            .map(|e| e.entry.clone())
            .collect();
        out.sort_by_key(|e| e.realtime);
        out
    }

    /// The record with sequence number `seq`, if it is still in the ring (O(1)).
    pub fn get(&self, seq: u64) -> Option<&Record> {
        let first = self.records.front()?.seq;
        let idx = usize::try_from(seq.checked_sub(first)?).ok()?;
        self.records.get(idx)
    }

    /// The sequence number the next record will get (one past the newest).
    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }

    /// The records holding `cursors` (as their own line or a continuation line), as
    /// sequence numbers in log order without repeats. Cursors of records that left the
    /// ring are not found. One pass from the newest record back, stopping when every
    /// cursor is found: O(ring) at worst, for opening a detail view, never per frame.
    pub fn locate(&self, cursors: &[Cursor]) -> Vec<u64> {
        let mut wanted: Vec<&Cursor> = cursors.iter().collect();
        let mut found = Vec::new();
        for rec in self.records.iter().rev() {
            if wanted.is_empty() {
                break;
            }
            let lines = std::iter::once(&rec.event).chain(&rec.continuation);
            let mut hit = false;
            for line in lines {
                if let Some(c) = &line.entry.cursor {
                    if let Some(i) = wanted.iter().position(|w| *w == c) {
                        wanted.swap_remove(i);
                        hit = true;
                    }
                }
            }
            if hit {
                found.push(rec.seq);
            }
        }
        found.reverse();
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::EventKind;
    use crate::parse::{Level, Service};
    use crate::source::{RawEntry, Timestamp};

    fn event(pid: u32, cursor: &str, kind: EventKind) -> Event {
        Event {
            entry: RawEntry {
                realtime: Timestamp(1),
                monotonic_us: None,
                origin: std::sync::Arc::new(crate::source::Origin {
                    boot_id: None,
                    systemd_unit: None,
                    hostname: None,
                    fields: crate::source::KeptFields::default(),
                }),
                cursor: Some(Cursor(cursor.into())),
                unit: None,
                about_unit: None,
                pid: Some(pid),
                priority: None,
                message: Box::from(&b"x"[..]),
                input: 0,
            },
            service: Service::Other,
            level: Level::Info,
            kind,
            also: Vec::new(),
        }
    }

    #[test]
    fn records_are_found_by_seq_and_by_their_own_or_continuation_cursors() {
        let mut log = Log::new(3);
        log.push(event(1, "a", EventKind::Other));
        log.push(event(2, "b", EventKind::Other));
        log.push(event(1, "a2", EventKind::Continuation));
        log.push(event(3, "c", EventKind::Other));
        log.push(event(4, "d", EventKind::Other));
        // "a" left the ring (capacity 3): b=1, c=2, d=3 remain.
        assert_eq!(log.next_seq(), 4);
        assert!(log.get(0).is_none());
        assert_eq!(log.get(2).map(|r| r.seq), Some(2));
        let cursors = ["d", "a2", "b", "zz"].map(|c| Cursor(c.into()));
        assert_eq!(log.locate(&cursors), [1, 3]);
    }
}
