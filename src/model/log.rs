//! The bounded history of events the user scrolls and filters.
//!
//! Owns a ring of records: a record is an event plus the continuation lines that belong
//! to it (traceback lines, dumps, second physical lines), grouped by process, so a
//! traceback shows with its record and is never a record of its own. When the ring is
//! full the oldest record goes; [`Log::dropped`] counts them. A capacity of 0 keeps
//! nothing: the headless modes (`report`, `watch`) never show the log, so they do not pay
//! for holding 100k entries (see `config`).

use std::collections::{HashMap, VecDeque};

use crate::parse::{Event, EventKind};

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
    last_by_pid: HashMap<u32, u64>,
    pub dropped: u64,
}

impl Log {
    /// A log of at most `capacity` records; 0 keeps none.
    pub fn new(capacity: usize) -> Log {
        Log {
            records: VecDeque::new(),
            capacity,
            next_seq: 0,
            last_by_pid: HashMap::new(),
            dropped: 0,
        }
    }

    pub fn push(&mut self, event: Event) {
        if self.capacity == 0 {
            return;
        }
        let pid = event.entry.pid.unwrap_or(0);
        if event.kind == EventKind::Continuation {
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
}
