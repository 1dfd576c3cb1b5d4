//! History read by several sd-journal handles at once, merged back into exactly the one
//! reader's order.
//!
//! Every worker opens its own handle on the same input with the same matches and walks
//! the whole merged view with `sd_journal_next`, so each one sees the very sequence
//! `journalctl` prints (the same files, the same matches, the same algorithm: systemd's
//! `real_journal_next`, whatever the boots, hosts, equal timestamps or overlapping files).
//! The sequence is cut into chunks of [`ReadOptions::batch_max_entries`] consecutive
//! entries; chunk `c` belongs to worker `c mod N`, and only its owner reads the entry's
//! fields (the cursor, one `sd_journal_enumerate_data` pass, building the `RawEntry`),
//! which is ~80% of what an entry costs. The others only step over it (`next` costs
//! ~1.4 µs an entry of the ~8 µs on the bench journal). The merger takes chunk 0 from
//! worker 0, chunk 1 from worker 1, … and forwards each as one batch: nothing is sorted,
//! compared or copied, and at most a few chunks per worker wait in memory.
//!
//! That is [`Plan::Interleaved`], for any journal. The usual journal has one more
//! property, and then workers do not step over each other's entries at all
//! ([`Plan::Spans`]): when every file numbers its entries from one sequence-number
//! source (one journald; one `journal-remote` source), sd-journal's order is the
//! numbers' order, so chunk `c` is a span of sequence numbers and its owner seeks
//! straight to the span's start. Which plan applies is read from the files' headers and
//! the first entry's cursor; `--since` keeps the walk (a seek by time places each file
//! at its own bisection point).
//!
//! Why not a handle per file merged by time: journals are mostly written one file after
//! another (journald rotates, journal-remote too), so per-file readers would either wait
//! for one another or hold a whole file's entries in memory; and re-implementing
//! sd-journal's order (seqnum, then monotonic within a boot, then realtime, then the xor
//! hash, with entries a file gets behind the position skipped) outside sd-journal is a
//! second source of truth for journalctl's order. Here the only one is sd-journal.
//!
//! Alignment is checked, not assumed: a chunk carries the cursor of its first entry and
//! of the entry after its last one, and the merger requires them to meet. Handles could
//! disagree only if the journal changes under them (a live journal getting an entry
//! behind the position of one handle but not of the other, a file vacuumed during a
//! worker's reopen). Then the merger stops taking chunks, and the caller goes on with one
//! handle after the last entry it forwarded, as after rotation: nothing is lost or sent
//! twice.
//!
//! Owns: the workers and their chunks. Does not own the per-entry reading (`read_entry`
//! in `journal.rs`) or what happens after the history (the caller's one handle).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::Arc;
use std::thread::JoinHandle;

use systemd::journal::Journal;

use super::{is_shown, open, read_entry, JournalInput, Mapped, MAPPED_CHECK_EVERY};
use crate::source::fields::EntryBuilder;
use crate::source::{InputId, RawEntry, ReadOptions};

/// The environment variable that sets how many handles read history at once (`1`: the
/// one-reader path). Unset: see [`default_readers`].
pub(super) const READERS_VAR: &str = "SIGIL_TOP_READERS";

/// More handles than this cost more than they give: with the interleaved plan each still
/// walks every entry; with spans each faults in the files' index pages on its own; and
/// the merging and the model's one thread are the limit long before.
const MAX_READERS: usize = 4;

/// A span is this many batches of sequence numbers. Each span costs its worker a seek
/// (every file's entry arrays bisected for the unit matches, and sd-journal's mapped
/// windows moved), so spans are longer than the interleaved plan's runs. Measured with two
/// handles on the bench journal (wall s, CPU s, peak RSS MiB; journalctl -o cat: 17.4 s):
/// 1 batch 7.3 / 13.3 / 112 (1.8 s of it in the kernel: 115,000 page faults); 4 batches
/// 6.3–7.0 / 11.9–13.0 / 114; 8 batches 5.8–6.1 / 11.0–11.4 / 119–125; 16 batches
/// 5.3–6.0 / 9.9–11.3 / 141–148 (too close to the 150 MiB bound).
const SPAN_BATCHES: usize = 8;

/// Chunks a worker may have ready before it waits for the merger to take one.
const CHUNKS_AHEAD: usize = 2;

/// How the history of `input` is read in parallel: how many handles and which
/// [`Plan`]; `None` for the one reader. [`READERS_VAR`] sets the count when set; else
/// [`default_readers`]. One reader whenever the parallel read does not apply (see
/// [`applies`]) or a test hook needs the one reader.
pub(super) fn choose(
    input: &JournalInput,
    options: &ReadOptions,
    has_test_hooks: bool,
    found_damage: bool,
) -> Option<(usize, Plan)> {
    if !applies(options) || has_test_hooks {
        return None;
    }
    let asked = std::env::var(READERS_VAR)
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok())
        .filter(|&n| n > 0);
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    if asked.unwrap_or(cores) <= 1 {
        return None;
    }
    let plan = plan_for(input, options, found_damage);
    let readers = asked.unwrap_or_else(|| default_readers(cores, busy_now()));
    (readers > 1).then_some((readers, plan))
}

/// One handle, plus one per core left idle by the rest of the machine ([`busy_cores`]), at
/// most one per core and [`MAX_READERS`], as `make -l` does for jobs. A second handle
/// costs CPU in either plan (interleaved: a second walk; spans: a seek per span, and each
/// handle faulting in the files' index pages on its own): measured on the bench journal,
/// two handles take 7–8 CPU-s where one takes 6.5–7. With a core free that nearly halves
/// the wall time; without one it only adds that CPU (figures: docs/bench-results.md,
/// "Issue 22").
fn default_readers(cores: usize, busy: Option<f64>) -> usize {
    let idle_cores = busy.map_or(0.0, |l| (cores as f64 - l).max(0.0));
    // Whole idle cores: truncating is the intent (and the value is small and positive).
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let spare = idle_cores.floor() as usize;
    (1 + spare).min(cores).clamp(1, MAX_READERS)
}

/// How many cores the rest of the machine keeps busy, from `/proc/loadavg`; `None` when
/// it cannot be read (then one handle: nothing says a core is free).
fn busy_now() -> Option<f64> {
    busy_cores(&std::fs::read_to_string("/proc/loadavg").ok()?)
}

/// Cores busy with other work, from `/proc/loadavg` text (`0.93 1.02 1.10 2/131 4242`):
/// the smaller of the 1-minute load average and the tasks runnable right now, less this
/// one. Either alone misleads. The average lags by a minute: right after a one-core job
/// ends (journalctl, the previous command of a script) it still says 1 while both cores
/// are idle, and it took one handle from every `report -D` that followed another command.
/// The runnable count is an instant: a short-lived process makes it jump. Work that keeps
/// a core busy shows in both, so the smaller is the busy cores that are there to stay.
fn busy_cores(loadavg: &str) -> Option<f64> {
    let mut fields = loadavg.split_whitespace();
    let average: f64 = fields.next()?.parse().ok()?;
    let runnable: u32 = fields.nth(2)?.split_once('/')?.0.parse().ok()?;
    Some(average.min(f64::from(runnable.saturating_sub(1))))
}

/// Whether history can be read in parallel: a history read from the head or `--since`
/// (with `--until`, unit globs, `--grep`, `-p`, `-t`, `-b` alike), followed or not (the
/// per-file followers take over from the newest entry's time, whoever read it). `-n`,
/// `--cursor` and a start at the end keep the one reader: they read little history.
/// So does `--until` with `--follow`: the one reader ends when the history passes
/// `--until`, where the workers would hand over to followers that wait for more.
fn applies(options: &ReadOptions) -> bool {
    !(options.follow && options.until.is_some())
        && options.backlog_entries.is_none()
        && options.filter.start.is_none()
        && options.start == crate::source::StartAt::Head
        && options.batch_max_entries > 0
}

/// How the workers share the history out.
#[derive(Debug, Clone)]
pub(super) enum Plan {
    /// Every worker walks the whole merged view and reads the entries of its own runs of
    /// [`ReadOptions::batch_max_entries`] consecutive entries (any journal).
    Interleaved,
    /// Every file of the input numbers its entries from one sequence-number source (one
    /// journald, one `journal-remote` source: the usual case). Then sd-journal's order
    /// *is* the sequence numbers' (`compare_entry_order` compares them first within one
    /// source), so chunk `c` is the span of sequence numbers `lo + c × len ..` of that,
    /// and its owner seeks straight to it (a cursor of just `s=` and `i=`): no worker
    /// walks another's entries.
    Spans {
        /// The source's id as 32 hex digits, as cursors write it.
        seqnum_id: Arc<str>,
        /// The sequence number of the first entry of the history.
        lo: u64,
        /// The highest number the files' headers gave: an entry numbered past it (a
        /// damaged one, or one written since) makes the worker stop, and the one reader
        /// goes on from the last chunk forwarded.
        last: u64,
    },
}

/// The plan for reading `input` from the head: [`Plan::Spans`] when the files' headers
/// name one sequence-number source and number its entries densely
/// ([`super::health::dense_numbering`]), no scan found a damaged file, and the first
/// entry's cursor agrees; else [`Plan::Interleaved`]. A worker that meets a number out of
/// order or past the headers' last stops, and the one reader goes on. With `--since`
/// always interleaved: a seek by time puts each file at its own bisection point, which a
/// clock stepped back within a file makes differ from the span of sequence numbers after
/// the first entry.
fn plan_for(input: &JournalInput, options: &ReadOptions, found_damage: bool) -> Plan {
    let asked = std::env::var(PLAN_VAR).ok();
    if asked.as_deref() == Some("interleaved") {
        return Plan::Interleaved;
    }
    let plan = if found_damage {
        Plan::Interleaved
    } else {
        spans_for(input, options)
    };
    if asked.as_deref() == Some("spans") && matches!(plan, Plan::Interleaved) {
        eprintln!("sigil-top: {PLAN_VAR}=spans: spans do not apply to this input; interleaved");
    }
    plan
}

fn spans_for(input: &JournalInput, options: &ReadOptions) -> Plan {
    if options.since.is_some() {
        return Plan::Interleaved;
    }
    let Some(numbering) = super::health::dense_numbering(&input.journal_files()) else {
        return Plan::Interleaved;
    };
    let id = numbering.seqnum_id;
    let probe = || -> std::io::Result<Option<(String, u64)>> {
        let mut journal = open(input, options).map_err(std::io::Error::other)?;
        journal.seek_head()?;
        if journal.next()? == 0 {
            return Ok(None);
        }
        let cursor = journal.cursor()?;
        Ok(super::health::cursor_seqnum(&cursor).map(|(s, i)| (s.to_owned(), i)))
    };
    match probe() {
        Ok(Some((s, lo))) if s.eq_ignore_ascii_case(&id) => Plan::Spans {
            seqnum_id: id.into(),
            lo,
            last: numbering.last,
        },
        _ => Plan::Interleaved,
    }
}

/// `interleaved` makes the workers walk every entry even where spans apply (to measure
/// one plan against the other); `spans` says so on standard error when spans do not
/// apply. When set at all, the merger gives an account of the read on standard error
/// (plan, readers, chunks, in order or diverged): tests use it to know what ran.
const PLAN_VAR: &str = "SIGIL_TOP_PARALLEL_PLAN";

/// Consecutive entries of the merged view read by one worker.
pub(super) struct Chunk {
    /// Its place in the sequence: entries `index × len` up to the next chunk's first.
    index: u64,
    /// The entries to send (`--since`, unit globs and `--grep` already applied).
    pub entries: Vec<RawEntry>,
    /// The cursor of its first entry, shown or not.
    first_cursor: Option<Arc<str>>,
    /// The cursor of its last entry, shown or not: where one handle would resume.
    pub last_cursor: Option<Arc<str>>,
    /// The cursor of the entry after its last one, `None` when the history (or
    /// `--until`) ends with this chunk.
    next_cursor: Option<Arc<str>>,
    /// Entries sd-journal could not give (counted and said like the one reader's).
    pub unreadable: Vec<std::io::Error>,
}

enum WorkerMsg {
    Chunk(Chunk),
    /// The worker stopped (an error from sd-journal, or its position lost on reopening):
    /// its chunks stop here.
    Failed,
}

/// The running workers; dropping it stops them (at their next entry) and waits for them.
pub(super) struct Workers {
    rx: Vec<Receiver<WorkerMsg>>,
    handles: Vec<JoinHandle<()>>,
    stop: Arc<AtomicBool>,
    next_index: u64,
    /// The cursor the next chunk must start with.
    expected_first: Option<Arc<str>>,
    is_done: bool,
    /// For [`PLAN_VAR`]'s account on standard error: the plan, and whether the
    /// workers disagreed or failed.
    plan: &'static str,
    diverged: bool,
}

/// What the merger gives next.
pub(super) enum Next {
    Chunk(Chunk),
    /// The history is read to its end (or `--until`).
    End,
    /// The handles disagreed or one failed: go on with one handle after the last chunk.
    Diverged,
}

impl Workers {
    /// Starts `readers` workers on `input` (each opens its own handle; an input that
    /// cannot be opened makes them fail, and the caller goes on with one handle, which
    /// says why).
    pub(super) fn start(
        input: &JournalInput,
        options: &ReadOptions,
        id: InputId,
        (readers, plan): (usize, Plan),
        reopen_every: Option<u64>,
        mapped: Mapped,
    ) -> std::io::Result<Workers> {
        let stop = Arc::new(AtomicBool::new(false));
        let epoch = Arc::new(AtomicU64::new(0));
        let mut rx = Vec::with_capacity(readers);
        let mut handles = Vec::with_capacity(readers);
        for me in 0..readers {
            let (tx, r) = sync_channel(CHUNKS_AHEAD);
            let worker = Worker {
                input: input.clone(),
                options: options.clone(),
                id,
                me: me as u64,
                readers: readers as u64,
                chunk_len: match plan {
                    Plan::Interleaved => options.batch_max_entries as u64,
                    Plan::Spans { .. } => (options.batch_max_entries * SPAN_BATCHES) as u64,
                },
                reopen_every,
                mapped,
                stop: Arc::clone(&stop),
                tx,
                plan: plan.clone(),
                epoch: Arc::clone(&epoch),
            };
            let handle = std::thread::Builder::new()
                .name(format!("sigil-top journal {id}.{me}"))
                .spawn(move || worker.run())?;
            rx.push(r);
            handles.push(handle);
        }
        Ok(Workers {
            rx,
            handles,
            stop,
            next_index: 0,
            expected_first: None,
            is_done: false,
            plan: match plan {
                Plan::Interleaved => "interleaved",
                Plan::Spans { .. } => "spans",
            },
            diverged: false,
        })
    }

    /// The next chunk in the one reader's order, checked to follow the last one.
    pub(super) fn next(&mut self) -> Next {
        if self.is_done {
            return Next::End;
        }
        let readers = self.rx.len() as u64;
        let Some(rx) = usize::try_from(self.next_index % readers)
            .ok()
            .and_then(|i| self.rx.get(i))
        else {
            return Next::Diverged;
        };
        let chunk = match rx.recv() {
            Ok(WorkerMsg::Chunk(chunk)) => chunk,
            Ok(WorkerMsg::Failed) | Err(_) => return self.diverged(),
        };
        let follows = chunk.index == self.next_index
            && (self.next_index == 0 || chunk.first_cursor == self.expected_first);
        if !follows {
            return self.diverged();
        }
        self.next_index += 1;
        self.expected_first.clone_from(&chunk.next_cursor);
        if chunk.next_cursor.is_none() {
            self.is_done = true;
        }
        Next::Chunk(chunk)
    }

    fn diverged(&mut self) -> Next {
        self.is_done = true;
        self.diverged = true;
        Next::Diverged
    }
}

impl Drop for Workers {
    fn drop(&mut self) {
        if std::env::var_os(PLAN_VAR).is_some() {
            eprintln!(
                "sigil-top: parallel history: {} plan, {} readers, {} chunks merged, {}",
                self.plan,
                self.rx.len(),
                self.next_index,
                if self.diverged {
                    "diverged"
                } else {
                    "in order"
                }
            );
        }
        self.stop.store(true, Ordering::Relaxed);
        // Workers waiting to hand over a chunk see the channel closed.
        self.rx.clear();
        for h in self.handles.drain(..) {
            // A worker's panic has already been reported by the panic hook.
            let _ = h.join();
        }
    }
}

struct Worker {
    input: JournalInput,
    options: ReadOptions,
    id: InputId,
    me: u64,
    readers: u64,
    chunk_len: u64,
    reopen_every: Option<u64>,
    /// The process's mapped pages before the workers opened (shared: see `Mapped`).
    mapped: Mapped,
    stop: Arc<AtomicBool>,
    tx: SyncSender<WorkerMsg>,
    plan: Plan,
    /// Bumped by the worker that finds the mapped pages over budget: see [`Worker::is_due`].
    epoch: Arc<AtomicU64>,
}

impl Worker {
    fn run(self) {
        let read = match &self.plan {
            Plan::Interleaved => self.walk(),
            Plan::Spans {
                seqnum_id,
                lo,
                last,
            } => self.spans(seqnum_id, *lo, *last),
        };
        if read.is_err() {
            let _ = self.tx.send(WorkerMsg::Failed);
        }
    }

    /// Reads its own spans of sequence numbers ([`Plan::Spans`]): chunk `c` holds the
    /// entries from the first with a number at or past `lo + c × len` up to (not
    /// including) the first at or past `lo + (c + 1) × len`, which is its
    /// `next_cursor` and the next chunk's `first_cursor`, so the merger's check is the
    /// same as for interleaved chunks. An empty span's chunk starts and ends on the same
    /// entry. `Err`: the reading cannot go on (the merger falls back to one handle).
    fn spans(&self, seqnum_id: &str, lo: u64, last: u64) -> std::io::Result<()> {
        let mut journal = open(&self.input, &self.options).map_err(std::io::Error::other)?;
        let until_us = self.options.until.map(crate::source::Timestamp::as_micros);
        let mut builder = EntryBuilder::default();
        let mut read: u64 = 0;
        let mut epoch = 0;
        let mut index = self.me;
        loop {
            let start = index
                .checked_mul(self.chunk_len)
                .and_then(|n| n.checked_add(lo))
                .ok_or_else(|| std::io::Error::other("sequence numbers overflow"))?;
            let end = start.saturating_add(self.chunk_len);
            if index == 0 {
                journal.seek_head()?;
            } else {
                journal.seek_cursor(format!("s={seqnum_id};i={start:x}"))?;
            }
            let mut chunk = Chunk::empty(index);
            chunk
                .entries
                .reserve(usize::try_from(self.chunk_len).unwrap_or(0));
            let mut is_last = true;
            let mut previous: Option<u64> = None;
            loop {
                if self.stop.load(Ordering::Relaxed) {
                    return Ok(());
                }
                if journal.next()? == 0 {
                    break;
                }
                let cursor: Arc<str> = journal.cursor()?.into();
                let Some((source, number)) = super::health::cursor_seqnum(&cursor) else {
                    return Err(std::io::Error::other("a cursor without a sequence number"));
                };
                if !source.eq_ignore_ascii_case(seqnum_id) {
                    return Err(std::io::Error::other("a second sequence-number source"));
                }
                // Numbers only grow, and none lies past what the headers said: else an
                // entry's number is damaged (or was written since), and the spans no
                // longer describe journalctl's order.
                if number > last || previous.is_some_and(|p| number <= p) {
                    return Err(std::io::Error::other("sequence numbers out of order"));
                }
                previous = Some(number);
                if chunk.first_cursor.is_none() {
                    chunk.first_cursor = Some(Arc::clone(&cursor));
                }
                if number >= end {
                    chunk.next_cursor = Some(cursor);
                    is_last = false;
                    break;
                }
                let mut realtime_us = None;
                if let Some(until) = until_us {
                    // Every worker stops at the same entry: the first after `--until`.
                    if let Ok(t) = journal.timestamp_usec() {
                        if t > until {
                            break;
                        }
                        realtime_us = Some(t);
                    }
                }
                self.take(
                    &mut journal,
                    &mut builder,
                    realtime_us,
                    Some(cursor),
                    &mut chunk,
                )?;
                read += 1;
                if self.is_due(read, &mut epoch) {
                    journal = self.reopen(&journal)?;
                }
            }
            if !self.send(chunk) || is_last {
                return Ok(());
            }
            index += self.readers;
        }
    }

    fn owns(&self, chunk: u64) -> bool {
        chunk % self.readers == self.me
    }

    /// Hands a chunk to the merger; `false` when the merger is gone.
    fn send(&self, chunk: Chunk) -> bool {
        self.tx.send(WorkerMsg::Chunk(chunk)).is_ok()
    }

    /// Walks the whole history, reading the entries of its own chunks. `Err`: the walk
    /// cannot go on (the merger falls back to one handle).
    fn walk(&self) -> std::io::Result<()> {
        let mut journal = open(&self.input, &self.options).map_err(std::io::Error::other)?;
        match self.options.since {
            Some(since) => journal.seek_realtime_usec(since.as_micros())?,
            None => journal.seek_head()?,
        }
        let until_us = self.options.until.map(crate::source::Timestamp::as_micros);
        let mut builder = EntryBuilder::default();
        let mut current: Option<Chunk> = None;
        let mut ordinal: u64 = 0;
        let mut epoch = 0;
        loop {
            if self.stop.load(Ordering::Relaxed) {
                return Ok(());
            }
            let mut has_entry = journal.next()? > 0;
            let mut realtime_us = None;
            if has_entry && until_us.is_some() {
                // Every worker stops at the same entry: the first after `--until`.
                if let Ok(t) = journal.timestamp_usec() {
                    has_entry = until_us.is_none_or(|u| t <= u);
                    realtime_us = Some(t);
                }
            }
            if !has_entry {
                // The chunk holding the last entry ends the history (chunk 0 when there
                // is none: the merger waits for one chunk at least).
                let last = ordinal.saturating_sub(1) / self.chunk_len;
                if self.owns(last) {
                    let chunk = current.take().unwrap_or_else(|| Chunk::empty(last));
                    self.send(chunk);
                }
                return Ok(());
            }
            let index = ordinal / self.chunk_len;
            let is_first = ordinal.is_multiple_of(self.chunk_len);
            if is_first && index > 0 && self.owns(index - 1) {
                if let Some(mut done) = current.take() {
                    done.next_cursor = Some(journal.cursor()?.into());
                    if !self.send(done) {
                        return Ok(());
                    }
                }
            }
            if self.owns(index) {
                if is_first {
                    let mut chunk = Chunk::empty(index);
                    chunk.first_cursor = Some(journal.cursor()?.into());
                    chunk
                        .entries
                        .reserve(usize::try_from(self.chunk_len).unwrap_or(0));
                    current = Some(chunk);
                }
                if let Some(chunk) = current.as_mut() {
                    self.take(&mut journal, &mut builder, realtime_us, None, chunk)?;
                }
            }
            ordinal += 1;
            if self.is_due(ordinal, &mut epoch) {
                journal = self.reopen(&journal)?;
            }
        }
    }

    /// Whether to reopen the handle now, after `read` entries: the fault knob, or the
    /// process's mapped journal pages over budget (`Mapped`). When one worker finds the
    /// process over, every worker reopens at its next check (the shared epoch), so the
    /// handles let go of their pages together: one handle reopening alone would leave
    /// the others' pages mapped, the process would stay over, and that handle would
    /// reopen again at every check.
    fn is_due(&self, read: u64, epoch: &mut u64) -> bool {
        if self.reopen_every.is_some_and(|n| read.is_multiple_of(n)) {
            return true;
        }
        if !read.is_multiple_of(MAPPED_CHECK_EVERY) {
            return false;
        }
        let shared = self.epoch.load(Ordering::Relaxed);
        if shared > *epoch {
            *epoch = shared;
            return true;
        }
        if !self.mapped.is_over() {
            return false;
        }
        *epoch = match self.epoch.compare_exchange(
            shared,
            shared + 1,
            Ordering::Relaxed,
            Ordering::Relaxed,
        ) {
            Ok(_) => shared + 1,
            Err(now) => now,
        };
        true
    }

    /// Reads the entry `journal` stands on into `chunk` (or counts it unreadable).
    fn take(
        &self,
        journal: &mut Journal,
        builder: &mut EntryBuilder,
        realtime_us: Option<u64>,
        cursor: Option<Arc<str>>,
        chunk: &mut Chunk,
    ) -> std::io::Result<()> {
        let realtime_us = match realtime_us.map_or_else(|| journal.timestamp_usec(), Ok) {
            Ok(t) => t,
            Err(e) => {
                chunk.unreadable.push(e);
                chunk.last_cursor = journal.cursor().ok().map(Into::into);
                return Ok(());
            }
        };
        if self
            .options
            .since
            .is_some_and(|s| realtime_us < s.as_micros())
        {
            chunk.last_cursor = Some(journal.cursor()?.into());
            return Ok(());
        }
        match read_entry(
            journal,
            builder,
            &self.options,
            self.id,
            realtime_us,
            cursor,
        ) {
            Ok(entry) => {
                chunk.last_cursor = entry.cursor.as_ref().map(|c| Arc::clone(&c.0));
                if is_shown(&self.options, &entry) {
                    chunk.entries.push(entry);
                }
            }
            Err(e) => {
                builder.discard();
                chunk.unreadable.push(e);
                chunk.last_cursor = journal.cursor().ok().map(Into::into);
            }
        }
        Ok(())
    }

    /// A fresh handle standing on the entry `journal` stands on (see `super::Mapped`).
    /// `Err` when that entry cannot be found again (vacuumed meanwhile): the walk's place
    /// in the sequence is lost.
    fn reopen(&self, journal: &Journal) -> std::io::Result<Journal> {
        let cursor = journal.cursor()?;
        let mut fresh = open(&self.input, &self.options).map_err(std::io::Error::other)?;
        fresh.seek_cursor(&cursor)?;
        if fresh.next()? == 0 || !fresh.test_cursor(&cursor)? {
            return Err(std::io::Error::other("lost the position on reopening"));
        }
        Ok(fresh)
    }
}

impl Chunk {
    fn empty(index: u64) -> Chunk {
        Chunk {
            index,
            entries: Vec::new(),
            first_cursor: None,
            last_cursor: None,
            next_cursor: None,
            unreadable: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::{Cursor, StartAt, Timestamp};

    #[test]
    fn history_read_from_the_head_or_since_is_read_in_parallel_and_short_reads_are_not() {
        let head = ReadOptions::default();
        assert!(applies(&head));
        let since = ReadOptions {
            since: Some(Timestamp(1)),
            until: Some(Timestamp(2)),
            ..ReadOptions::default()
        };
        assert!(applies(&since));
        let followed = ReadOptions {
            follow: true,
            ..ReadOptions::default()
        };
        assert!(applies(&followed));
        let one_reader = [
            ReadOptions {
                backlog_entries: Some(10),
                ..ReadOptions::default()
            },
            ReadOptions {
                start: StartAt::End,
                ..ReadOptions::default()
            },
            ReadOptions {
                start: StartAt::AfterCursor(Cursor("s=1".into())),
                ..ReadOptions::default()
            },
            ReadOptions {
                follow: true,
                until: Some(Timestamp(2)),
                ..ReadOptions::default()
            },
        ];
        let input = JournalInput::Files(Vec::new());
        for options in &one_reader {
            assert!(!applies(options), "{options:?}");
            assert!(
                choose(&input, options, false, false).is_none(),
                "{options:?}"
            );
        }
        // The injected reader panic needs the one reader (it panics after its first entry).
        assert!(choose(&input, &head, true, false).is_none());
    }

    #[test]
    fn busy_cores_are_the_smaller_of_the_load_average_and_the_tasks_running_now() {
        let rows = [
            // A one-core job just ended: the average still says 1, nothing else runs.
            ("1.05 1.08 1.17 1/109 28512", Some(0.0)),
            // A build on both cores: both say 2 (and this process is the third runnable).
            ("2.10 2.00 1.90 3/180 4242", Some(2.0)),
            // A process that runs for an instant on an idle machine.
            ("0.20 0.30 0.40 4/180 4242", Some(0.2)),
            ("0.00 0.00 0.00 0/100 1", Some(0.0)),
            ("garbage", None),
            ("1.0 1.0 1.0", None),
            ("", None),
        ];
        for (text, busy) in rows {
            assert_eq!(busy_cores(text), busy, "{text:?}");
        }
        assert_eq!(
            default_readers(2, busy_cores("1.05 1.08 1.17 1/109 28512")),
            2
        );
        assert_eq!(
            default_readers(2, busy_cores("2.10 2.00 1.90 3/180 4242")),
            1
        );
    }

    #[test]
    fn a_handle_per_idle_core_at_most_one_per_core_and_four() {
        let rows = [
            // cores, load, readers
            (2, Some(0.0), 2),
            (2, Some(0.9), 2),
            (2, Some(1.2), 1),
            (2, Some(5.5), 1),
            (1, Some(0.0), 1),
            (4, Some(1.5), 3),
            (16, Some(0.0), 4),
            (2, None, 1),
        ];
        for (cores, load, readers) in rows {
            assert_eq!(
                default_readers(cores, load),
                readers,
                "{cores} cores, load {load:?}"
            );
        }
    }
}
