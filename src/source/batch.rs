//! Gathering a reader's entries into the batches it sends: by count and by age.
//!
//! Owns [`Batcher`], the one copy of this logic shared by the sd-journal reader
//! (`journal`) and the byte-stream readers (`stream::read`): when a batch starts, when it
//! is full ([`ReadOptions::batch_max_entries`](super::ReadOptions)) or due
//! ([`ReadOptions::batch_max_wait`](super::ReadOptions)), and how much room the next one
//! starts with ([`Room`]). Does not own sending (each reader hands the batch to its own
//! sink) nor *when* a reader checks the age: the journal reader asks after every entry,
//! a stream reader after every read (a short read sends at once; see `stream::read`).
//!
//! A batch exists so that the app loop is woken once per batch, not once per entry; the
//! wait bounds how long a live entry sits in an open batch.

use std::time::{Duration, Instant};

use super::RawEntry;

/// How much room a new batch starts with, so it does not grow (and copy itself) on the
/// way up; each reader keeps the rule it was measured with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Room {
    /// As many entries as the last batch had. The sd-journal reader pushes entries one
    /// by one and its batches are full ones in a history and a few entries when live, so
    /// the last batch is the best guess (and a live reader does not keep a history-sized
    /// vector per batch).
    LastBatch,
    /// The most entries a batch has had, and a quarter more. A stream reader without filters makes a whole read's entries the
    /// batch ([`Batcher::append`]), and reads vary in how many they hold: sized by the
    /// last one, every larger read would copy its batch.
    MostSoFar,
}

/// The open batch of one reader.
#[derive(Debug)]
pub(crate) struct Batcher {
    entries: Vec<RawEntry>,
    /// When the open batch got its first entry.
    started: Option<Instant>,
    max_entries: usize,
    max_wait: Duration,
    room: Room,
    /// The most entries a batch has had (for [`Room::MostSoFar`]).
    most: usize,
}

impl Batcher {
    pub(crate) fn new(max_entries: usize, max_wait: Duration, room: Room) -> Batcher {
        Batcher {
            entries: Vec::new(),
            started: None,
            max_entries,
            max_wait,
            room,
            most: 0,
        }
    }

    /// Adds one entry; true when the batch is full and should be sent ([`Batcher::take`]).
    pub(crate) fn push(&mut self, entry: RawEntry) -> bool {
        if self.entries.is_empty() {
            self.started = Some(Instant::now());
        }
        self.entries.push(entry);
        self.entries.len() >= self.max_entries
    }

    /// Adds all of `entries` (leaving it empty): an empty batch becomes `entries` as a
    /// whole instead of having them moved one by one (an entry is 168 bytes), and
    /// `entries` gets the batch's room back. A batch may so exceed `max_entries` by one
    /// call's entries. True when the batch is full and should be sent.
    pub(crate) fn append(&mut self, entries: &mut Vec<RawEntry>) -> bool {
        if entries.is_empty() {
            return false;
        }
        if self.entries.is_empty() {
            self.started = Some(Instant::now());
            std::mem::swap(&mut self.entries, entries);
        } else {
            self.entries.append(entries);
        }
        self.entries.len() >= self.max_entries
    }

    /// When the open batch got its first entry (`None`: no open batch).
    pub(crate) fn started(&self) -> Option<Instant> {
        self.started
    }

    /// The open batch has waited `max_wait` since its first entry.
    pub(crate) fn is_due(&self) -> bool {
        self.started.is_some_and(|t| t.elapsed() >= self.max_wait)
    }

    /// Closes the open batch and returns it (`None` when it is empty); the next one
    /// starts with room as [`Room`] says.
    pub(crate) fn take(&mut self) -> Option<Vec<RawEntry>> {
        self.started = None;
        if self.entries.is_empty() {
            return None;
        }
        let len = self.entries.len();
        let room = match self.room {
            Room::LastBatch => len,
            Room::MostSoFar => {
                self.most = self.most.max(len);
                self.most + self.most / 4
            }
        };
        Some(std::mem::replace(
            &mut self.entries,
            Vec::with_capacity(room),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::Timestamp;

    fn entry(us: u64) -> RawEntry {
        RawEntry {
            realtime: Timestamp(us),
            monotonic_us: None,
            cursor: None,
            unit: None,
            origin: std::sync::Arc::default(),
            about_unit: None,
            pid: None,
            priority: None,
            message: Box::default(),
            input: 0,
        }
    }

    fn times(batch: &[RawEntry]) -> Vec<u64> {
        batch.iter().map(|e| e.realtime.0).collect()
    }

    /// Entries pushed one by one come out in order, in batches of `max_entries`, and
    /// nothing is lost or sent twice whatever the batch size.
    #[test]
    fn pushed_entries_come_out_once_in_order_in_full_batches() {
        for max in 1..=7 {
            for room in [Room::LastBatch, Room::MostSoFar] {
                let mut b = Batcher::new(max, Duration::from_secs(3600), room);
                let mut out = Vec::new();
                for i in 0..50 {
                    if b.push(entry(i)) {
                        let batch = b.take().expect("a full batch");
                        assert_eq!(batch.len(), max);
                        out.extend(times(&batch));
                    }
                }
                if let Some(rest) = b.take() {
                    assert!(rest.len() < max);
                    out.extend(times(&rest));
                }
                assert_eq!(out, (0..50).collect::<Vec<_>>(), "max {max}, {room:?}");
                assert!(b.take().is_none(), "an empty batch is not sent");
            }
        }
    }

    /// Appended reads join the batch whole (it may exceed `max_entries` by one read),
    /// the read's vector is left empty, and the order holds across reads.
    #[test]
    fn appended_reads_join_the_batch_whole() {
        let mut b = Batcher::new(10, Duration::from_secs(3600), Room::MostSoFar);
        let mut read: Vec<RawEntry> = (0..4).map(entry).collect();
        assert!(!b.append(&mut read));
        assert!(read.is_empty());
        let mut read: Vec<RawEntry> = (4..13).map(entry).collect();
        assert!(b.append(&mut read), "13 entries fill a batch of 10");
        let batch = b.take().unwrap();
        assert_eq!(times(&batch), (0..13).collect::<Vec<_>>());
        assert!(!b.append(&mut Vec::new()), "nothing to append is not full");
        assert!(b.started().is_none(), "nothing appended opens no batch");
    }

    /// The next batch's room follows the rule asked for: the last batch's size, or the
    /// most so far and a quarter more.
    #[test]
    fn the_next_batch_starts_with_the_room_its_rule_gives() {
        let mut last = Batcher::new(100, Duration::from_secs(3600), Room::LastBatch);
        let mut most = Batcher::new(100, Duration::from_secs(3600), Room::MostSoFar);
        for (n, want_last, want_most) in [(80, 80, 100), (20, 20, 100), (200, 200, 250)] {
            let mut read: Vec<RawEntry> = (0..n as u64).map(entry).collect();
            last.append(&mut read.clone());
            most.append(&mut read);
            assert_eq!(last.take().map(|b| b.len()), Some(n));
            assert_eq!(most.take().map(|b| b.len()), Some(n));
            assert_eq!(last.entries.capacity(), want_last, "after {n}");
            assert_eq!(most.entries.capacity(), want_most, "after {n}");
        }
    }

    /// A batch is due once its first entry has waited `max_wait`, not before; taking it
    /// closes it (no batch, nothing due).
    #[test]
    fn a_batch_is_due_after_the_wait_from_its_first_entry() {
        let mut patient = Batcher::new(1000, Duration::from_secs(3600), Room::LastBatch);
        patient.push(entry(1));
        assert!(!patient.is_due(), "an hour has not passed");
        let mut b = Batcher::new(1000, Duration::from_millis(20), Room::LastBatch);
        assert!(!b.is_due(), "no batch is never due");
        b.push(entry(1));
        let started = b.started().unwrap();
        b.push(entry(2));
        assert_eq!(
            b.started(),
            Some(started),
            "the first entry starts the batch"
        );
        while started.elapsed() < Duration::from_millis(20) {
            std::thread::sleep(Duration::from_millis(5));
        }
        assert!(b.is_due());
        assert_eq!(b.take().map(|b| b.len()), Some(2));
        assert!(!b.is_due());
        assert!(b.started().is_none());
    }
}
