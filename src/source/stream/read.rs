//! Reading a `journalctl -o export`/`-o json` byte stream and sending its entries on.
//!
//! Owns the readers that turn a `Read` into [`SourceMsg`]s: on a thread of their own
//! ([`spawn_reader`], [`spawn_pipe_reader`], the latter with a second thread for the
//! blocking reads of a pipe that may pause), or on the caller's thread for a headless run
//! read once to its end ([`read_in_place`]; a pipe read that way waits a little between
//! small reads, see [`Patient`]); and what they apply on the way: `--since`/`--until`,
//! `-n`, `--cursor`, the batch wait. Does not own the decoding (`stream::decode`), nor how
//! entries are gathered into batches (`source::batch`).

use std::io::Read;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tokio::sync::mpsc::Sender;

use super::decode::{Decoder, READ_CHUNK_BYTES};
use crate::source::batch::{Batcher, Room};
use crate::source::{InputId, RawEntry, ReadOptions, ReceiverGone, SourceMsg};

/// Where `--cursor`/`--after-cursor` puts a stream's start, entry by entry: `None` before
/// it; `Some(true)`: this entry is the first shown; `Some(false)`: this entry is the
/// cursor's own and `--after-cursor` starts after it.
///
/// A stream is read in its own order, so the start is the cursor's own entry, or, when
/// the stream does not hold it, the first entry later than the cursor's time (`t=`);
/// a cursor without a readable time starts only at its own entry.
fn is_at_start(start: &crate::source::filter::StartCursor, e: &RawEntry) -> Option<bool> {
    if e.cursor.as_ref().is_some_and(|c| *c.0 == *start.cursor) {
        return Some(!start.is_after);
    }
    start
        .realtime_us()
        .is_some_and(|t| e.realtime.as_micros() > t)
        .then_some(true)
}

/// Reads `reader` to its end on a thread of its own, decoding and batching entries.
///
/// `--since`/`--until` filter by entry time (a stream need not be ordered, so `until`
/// does not stop it); `-n N` keeps the last N entries of the whole stream and sends them
/// at its end. Sends `CaughtUp` and then `Ended` at end of input, or `Error` on a read
/// error. Stops early when the receiver is dropped.
///
/// For a regular file: one thread reads straight into the decoder's buffer, and a read
/// is short only at the end. For a stream that may pause (a pipe: `journalctl -f -o
/// export | sigil-top -`) use [`spawn_pipe_reader`].
pub(crate) fn spawn_reader<R: Read + Send + 'static>(
    reader: R,
    name: String,
    options: ReadOptions,
    input: InputId,
    tx: Sender<SourceMsg>,
) -> JoinHandle<()> {
    spawn_stream(reader, name, options, input, tx, false)
}

/// As [`spawn_reader`], for a stream that may pause (standard input).
///
/// A pipe gives whatever the writer has written, often a few KiB (journalctl's stdio
/// buffer): a reader that sent its batch on every short read sent batches of a few
/// entries, and the two threads spent more CPU waking each other than decoding
/// (measured: see docs/bench-results.md, "Code notes"). Not sending on a short
/// read would leave a live entry waiting in the batch while the next read blocks. So a
/// second thread does the blocking reads and hands chunks over; the decoding thread waits
/// for a chunk at most until its batch is due (`batch_max_wait`), then sends it.
pub(crate) fn spawn_pipe_reader<R: Read + Send + 'static>(
    reader: R,
    name: String,
    options: ReadOptions,
    input: InputId,
    tx: Sender<SourceMsg>,
) -> JoinHandle<()> {
    spawn_stream(reader, name, options, input, tx, true)
}

fn spawn_stream<R: Read + Send + 'static>(
    reader: R,
    name: String,
    options: ReadOptions,
    input: InputId,
    tx: Sender<SourceMsg>,
    is_pipe: bool,
) -> JoinHandle<()> {
    std::thread::Builder::new()
        .name(format!("sigil-top {name}"))
        .spawn(move || {
            let mut stream = StreamReader::new(options, input, Channel(tx));
            let finished = if is_pipe {
                stream.read_piped(reader, &name)
            } else {
                stream.read_all(reader, &name)
            };
            stream.end(finished);
        })
        .expect("spawning a reader thread")
}

/// Reads `reader` to its end on the calling thread, handing each message to `on_msg` as
/// it is ready: the same messages, in the same order, as [`spawn_reader`] sends (batches,
/// warnings, `CaughtUp`, then `Ended` or `Error`), with `--since`/`--until`/`-n` applied.
/// `on_msg` returns `ControlFlow::Break` to stop reading.
///
/// For a headless run over one text input (`report FILE`, `journalctl … | sigil-top
/// report -`): no second thread, no channel. Handing entries to another thread costs
/// more than decoding them (allocator locks and wake-ups; see docs/bench-results.md).
/// Blocking reads are fine here, nobody else
/// waits on this thread; a live pipe (`--follow`) still needs [`spawn_pipe_reader`].
///
/// `is_pipe`: the reader may pause (standard input, a named pipe); its small reads are
/// then gathered by waiting a little between them (see [`Patient`]).
pub(crate) fn read_in_place<R: Read>(
    reader: R,
    is_pipe: bool,
    name: &str,
    options: ReadOptions,
    input: InputId,
    on_msg: impl FnMut(SourceMsg) -> std::ops::ControlFlow<()>,
) {
    // Small batches: nothing waits on them here, and a batch of 1024 entries is a
    // 200 KB vector that the allocator takes from the system and gives back each time
    // (page faults; see docs/bench-results.md, "Code notes"). Without --since/--until/-n a batch
    // is simply one read's entries (see `StreamReader::take`).
    let options = ReadOptions {
        batch_max_entries: options.batch_max_entries.min(IN_PLACE_BATCH_ENTRIES),
        ..options
    };
    let mut stream = StreamReader::new(options, input, InPlace(on_msg));
    let finished = if is_pipe {
        stream.read_all(
            Patient {
                inner: reader,
                was_short: false,
            },
            name,
        )
    } else {
        stream.read_all(reader, name)
    };
    stream.end(finished);
}

/// A pipe read in place: after a read that took in less than [`PIPE_FILL_BYTES`], the
/// next read waits [`PIPE_PATIENCE`] first.
///
/// `journalctl -o export` writes a few KiB at a time, and a reader that is faster than
/// it (sigil-top is, many times over) wakes for every write, which costs more CPU than
/// decoding (measured: see docs/bench-results.md, "Code notes"). Nobody waits on a
/// report's entries, so the reader lets the pipe fill instead: a millisecond of
/// journalctl's output is less than a 64 KiB pipe holds, so journalctl is not held up. A fast writer (`cat FILE |`) fills the pipe
/// between reads and is never waited for.
struct Patient<R> {
    inner: R,
    was_short: bool,
}

/// See [`Patient`].
const PIPE_FILL_BYTES: usize = 32 * 1024;
const PIPE_PATIENCE: Duration = Duration::from_millis(1);

impl<R: Read> Read for Patient<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.was_short {
            std::thread::sleep(PIPE_PATIENCE);
        }
        let n = self.inner.read(buf)?;
        self.was_short = n > 0 && n < PIPE_FILL_BYTES.min(buf.len());
        Ok(n)
    }
}

/// The most entries [`read_in_place`] hands over at once.
const IN_PLACE_BATCH_ENTRIES: usize = 64;

/// Where a [`StreamReader`]'s messages go.
trait Sink {
    /// Hands one message on; [`ReceiverGone`]: stop reading.
    fn send(&mut self, msg: SourceMsg) -> Result<(), ReceiverGone>;
}

/// To the app loop, from a reader thread of its own.
struct Channel(Sender<SourceMsg>);

impl Sink for Channel {
    fn send(&mut self, msg: SourceMsg) -> Result<(), ReceiverGone> {
        self.0.blocking_send(msg).map_err(|_| ReceiverGone)
    }
}

/// To the caller, on its own thread ([`read_in_place`]).
struct InPlace<F>(F);

impl<F: FnMut(SourceMsg) -> std::ops::ControlFlow<()>> Sink for InPlace<F> {
    fn send(&mut self, msg: SourceMsg) -> Result<(), ReceiverGone> {
        match (self.0)(msg) {
            std::ops::ControlFlow::Continue(()) => Ok(()),
            std::ops::ControlFlow::Break(()) => Err(ReceiverGone),
        }
    }
}

fn stream_error(name: &str, message: &str) -> SourceMsg {
    SourceMsg::Error(crate::source::SourceError::Stream {
        input: name.to_owned(),
        message: message.to_owned(),
    })
}

/// Bytes read and not yet decoded, shared by a pipe's reading thread and its decoding
/// thread (see [`StreamReader::read_piped`]).
#[derive(Default)]
struct Piped {
    state: Mutex<PipedState>,
    /// Signalled when there is something to take.
    has_data: Condvar,
    /// Signalled when the buffer was emptied (or the decoding side left).
    has_room: Condvar,
}

#[derive(Default)]
struct PipedState {
    data: Vec<u8>,
    /// When `data` went from empty to not empty.
    since: Option<Instant>,
    /// End of input (`Ok`) or the read error that ended it.
    end: Option<std::io::Result<()>>,
    /// The decoding side is gone: the reading thread stops at its next read.
    is_closed: bool,
}

/// The most a pipe's reading thread buffers before it waits for the decoder: a pipe
/// written faster than we decode slows its writer instead of growing memory.
const MAX_PIPED_BYTES: usize = 4 * 1024 * 1024;

impl Piped {
    /// Appends one read's result (bytes, end of input or an error); false when the
    /// reading thread should stop.
    fn put(&self, read: std::io::Result<&[u8]>) -> bool {
        let Ok(mut s) = self.state.lock() else {
            return false;
        };
        match read {
            Ok([]) => s.end = Some(Ok(())),
            Err(e) => s.end = Some(Err(e)),
            Ok(bytes) => {
                while s.data.len() >= MAX_PIPED_BYTES && !s.is_closed {
                    let Ok(next) = self.has_room.wait(s) else {
                        return false;
                    };
                    s = next;
                }
                if s.is_closed {
                    return false;
                }
                let was_empty = s.data.is_empty();
                if was_empty {
                    s.since = Some(Instant::now());
                }
                s.data.extend_from_slice(bytes);
                // Wake the decoder for the first bytes (so it can time them) and for a
                // read's worth; in between it sleeps until they are due.
                if was_empty || s.data.len() >= READ_CHUNK_BYTES {
                    self.has_data.notify_one();
                }
                return true;
            }
        }
        self.has_data.notify_one();
        false
    }

    /// Waits until there is a read's worth of bytes, the input ended, or the oldest
    /// byte (or the open batch, started at `batch_started`) has waited `max_wait`; then
    /// moves every byte into `out` and returns how the input ended, if it did.
    ///
    /// With `quiet`, an input that stays silent that long with nothing pending returns
    /// nothing (no bytes, no end): the caller's cue that a live pipe has caught up.
    fn take(
        &self,
        out: &mut Vec<u8>,
        batch_started: Option<Instant>,
        max_wait: Duration,
        quiet: Option<Duration>,
    ) -> Result<Option<std::io::Result<()>>, &'static str> {
        const POISONED: &str = "the reading thread failed";
        let mut s = self.state.lock().map_err(|_| POISONED)?;
        loop {
            if s.end.is_some() || s.data.len() >= READ_CHUNK_BYTES {
                break;
            }
            let due = [s.since, batch_started].into_iter().flatten().min();
            s = match due.map(|t| t + max_wait) {
                None => match quiet {
                    None => self.has_data.wait(s).map_err(|_| POISONED)?,
                    Some(quiet) => {
                        let (s, timeout) =
                            self.has_data.wait_timeout(s, quiet).map_err(|_| POISONED)?;
                        if timeout.timed_out() && s.data.is_empty() && s.end.is_none() {
                            return Ok(None);
                        }
                        s
                    }
                },
                Some(due) => {
                    let now = Instant::now();
                    if now >= due {
                        break;
                    }
                    self.has_data
                        .wait_timeout(s, due - now)
                        .map_err(|_| POISONED)?
                        .0
                }
            };
        }
        std::mem::swap(out, &mut s.data);
        s.since = None;
        let end = s.end.take();
        drop(s);
        self.has_room.notify_one();
        Ok(end)
    }
}

/// Tells a pipe's reading thread to stop when the decoding side is done.
struct ClosePiped(Arc<Piped>);

impl Drop for ClosePiped {
    fn drop(&mut self) {
        if let Ok(mut s) = self.0.state.lock() {
            s.is_closed = true;
        }
        self.0.has_room.notify_one();
    }
}

struct StreamReader<S> {
    decoder: Decoder,
    options: ReadOptions,
    sink: S,
    batch: Batcher,
    /// With `-n N`: the last N entries, sent at end of input.
    backlog: std::collections::VecDeque<RawEntry>,
    /// `CaughtUp` went out already (a quiet live pipe, see [`PIPE_QUIET`]).
    sent_caught_up: bool,
    /// `--cursor`/`--after-cursor`: the start has not been reached yet.
    is_before_start: bool,
}

/// How long a followed pipe must stay silent to count as caught up: `journalctl -f`
/// writes its history at once, then only what is new.
const PIPE_QUIET: Duration = Duration::from_secs(1);

impl<S: Sink> StreamReader<S> {
    fn new(options: ReadOptions, input: InputId, sink: S) -> StreamReader<S> {
        StreamReader {
            decoder: Decoder::new(options.units.clone(), input).with_filter(options.filter.clone()),
            is_before_start: options.filter.start.is_some(),
            batch: Batcher::new(
                options.batch_max_entries,
                options.batch_max_wait,
                Room::MostSoFar,
            ),
            options,
            sink,
            backlog: std::collections::VecDeque::new(),
            sent_caught_up: false,
        }
    }

    /// Sends what ends the stream (`finished`, from a `read_*`), after `CaughtUp` unless
    /// that went out already: see `SourceMsg`'s contract.
    fn end(mut self, finished: Result<SourceMsg, ReceiverGone>) {
        if let Ok(final_msg) = finished {
            if self.sent_caught_up || self.sink.send(SourceMsg::CaughtUp).is_ok() {
                let _ = self.sink.send(final_msg);
            }
        }
    }

    /// Reads to the end; returns the final message to send.
    fn read_all<R: Read>(&mut self, mut reader: R, name: &str) -> Result<SourceMsg, ReceiverGone> {
        let mut decoded = Vec::new();
        loop {
            let n = match self.decoder.read_from(&mut reader, &mut decoded) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    self.flush()?;
                    return Ok(SourceMsg::Error(crate::source::SourceError::Stream {
                        input: name.to_owned(),
                        message: e.to_string(),
                    }));
                }
            };
            self.take(&mut decoded)?;
            if let Some(refused) = self.refused(name) {
                return Ok(refused);
            }
            // A short read: the writer has nothing more right now (a live pipe), so
            // what is batched goes out instead of waiting for the next read.
            let is_short_read = n < READ_CHUNK_BYTES;
            if is_short_read || self.batch.is_due() {
                self.flush()?;
            }
        }
        self.end_of_input(&mut decoded, name)
    }

    /// As [`StreamReader::read_all`], with the reads on a thread of their own (see
    /// [`spawn_pipe_reader`]).
    ///
    /// The reading thread appends what each read gives to a shared buffer; this thread
    /// takes all of it at once when there is a read's worth ([`READ_CHUNK_BYTES`]), when
    /// the input ends, or when the oldest byte in it (or the open batch) has waited
    /// `batch_max_wait`. So a pipe written a few KiB at a time wakes this thread ~100 times
    /// a second, not once per write, and a live entry still goes out within the wait.
    fn read_piped<R: Read + Send + 'static>(
        &mut self,
        mut reader: R,
        name: &str,
    ) -> Result<SourceMsg, ReceiverGone> {
        let shared = Arc::new(Piped::default());
        let theirs = Arc::clone(&shared);
        let spawned = std::thread::Builder::new()
            .name(format!("sigil-top read {name}"))
            .spawn(move || {
                let mut buf = vec![0u8; 64 * 1024];
                loop {
                    let read = loop {
                        match reader.read(&mut buf) {
                            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                            other => break other,
                        }
                    };
                    if !theirs.put(read.map(|n| &buf[..n])) {
                        return;
                    }
                }
            });
        if let Err(e) = spawned {
            return Ok(stream_error(
                name,
                &format!("starting a reader thread: {e}"),
            ));
        }
        // Whatever way this ends, the reading thread is told to stop.
        let _closer = ClosePiped(Arc::clone(&shared));
        let mut decoded = Vec::new();
        let mut local = Vec::new();
        loop {
            // Following a live pipe (`journalctl -f` piped in): once it has been quiet for
            // a while, the history it had is in; say so once (the screen goes live).
            let quiet = (self.options.follow && !self.sent_caught_up).then_some(PIPE_QUIET);
            let end = match shared.take(
                &mut local,
                self.batch.started(),
                self.options.batch_max_wait,
                quiet,
            ) {
                Ok(end) => end,
                Err(message) => return Ok(stream_error(name, message)),
            };
            if quiet.is_some() && local.is_empty() && end.is_none() {
                // `-n N`: the last N so far go out now; what follows is live.
                if self.options.backlog_entries.take().is_some() {
                    let backlog: Vec<RawEntry> = self.backlog.drain(..).collect();
                    for e in backlog {
                        self.push(e)?;
                    }
                }
                self.flush()?;
                self.sent_caught_up = true;
                self.sink.send(SourceMsg::CaughtUp)?;
                continue;
            }
            if !local.is_empty() {
                self.decoder.feed(&local, &mut decoded);
                local.clear();
                self.take(&mut decoded)?;
                if let Some(refused) = self.refused(name) {
                    return Ok(refused);
                }
            }
            match end {
                Some(Ok(())) => break,
                Some(Err(e)) => {
                    self.flush()?;
                    return Ok(stream_error(name, &e.to_string()));
                }
                None => {}
            }
            if self.batch.is_due() {
                self.flush()?;
            }
        }
        self.end_of_input(&mut decoded, name)
    }

    /// The error that ends a stream which is not journal text (see [`Decoder::refusal`]).
    fn refused(&self, name: &str) -> Option<SourceMsg> {
        self.decoder.refusal().map(|why| stream_error(name, why))
    }

    /// The last record, the `-n` backlog and the last batch; then `Ended`.
    fn end_of_input(
        &mut self,
        decoded: &mut Vec<RawEntry>,
        name: &str,
    ) -> Result<SourceMsg, ReceiverGone> {
        self.decoder.finish(decoded);
        if let Some(refused) = self.refused(name) {
            return Ok(refused);
        }
        self.take(decoded)?;
        let backlog: Vec<RawEntry> = self.backlog.drain(..).collect();
        for e in backlog {
            self.push(e)?;
        }
        self.flush()?;
        Ok(SourceMsg::Ended)
    }

    fn take(&mut self, decoded: &mut Vec<RawEntry>) -> Result<(), ReceiverGone> {
        for w in self.decoder.take_warnings() {
            self.sink.send(SourceMsg::Warning(w))?;
        }
        let takes_all = self.options.since.is_none()
            && self.options.until.is_none()
            && self.options.backlog_entries.is_none()
            && !self.is_before_start;
        if takes_all {
            // Every entry goes: the read's entries become (or join) the batch as a whole
            // (see `Batcher::append`).
            if self.batch.append(decoded) {
                self.flush()?;
            }
            return Ok(());
        }
        for e in decoded.drain(..) {
            if self.is_before_start {
                match self
                    .options
                    .filter
                    .start
                    .as_ref()
                    .map(|s| is_at_start(s, &e))
                {
                    Some(Some(true)) | None => self.is_before_start = false,
                    Some(Some(false)) => {
                        self.is_before_start = false;
                        continue;
                    }
                    Some(None) => continue,
                }
            }
            if self.options.since.is_some_and(|s| e.realtime < s)
                || self.options.until.is_some_and(|u| e.realtime > u)
            {
                continue;
            }
            match self.options.backlog_entries {
                Some(limit) => {
                    if limit == 0 {
                        continue;
                    }
                    if self.backlog.len() as u64 >= limit {
                        self.backlog.pop_front();
                    }
                    self.backlog.push_back(e);
                }
                None => self.push(e)?,
            }
        }
        Ok(())
    }

    fn push(&mut self, e: RawEntry) -> Result<(), ReceiverGone> {
        if self.batch.push(e) {
            self.flush()?;
        }
        Ok(())
    }

    /// Sends the open batch, if any.
    fn flush(&mut self) -> Result<(), ReceiverGone> {
        match self.batch.take() {
            Some(batch) => self.sink.send(SourceMsg::Batch(batch)),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::stream::decode::tests::{all, TWO};
    use crate::source::Timestamp;

    /// A reader that hands out the chunks a test sends it, blocking in between like a
    /// pipe whose writer pauses.
    struct Paused(std::sync::mpsc::Receiver<Vec<u8>>);

    impl Read for Paused {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let Ok(chunk) = self.0.recv() else {
                return Ok(0);
            };
            buf[..chunk.len()].copy_from_slice(&chunk);
            Ok(chunk.len())
        }
    }

    #[test]
    fn a_pipe_that_pauses_still_delivers_what_it_gave_within_the_batch_wait() {
        let (chunks, rx) = std::sync::mpsc::channel();
        let (tx, mut msgs) = tokio::sync::mpsc::channel(8);
        let options = ReadOptions {
            units: all(),
            batch_max_wait: std::time::Duration::from_millis(10),
            ..ReadOptions::default()
        };
        let handle = spawn_pipe_reader(Paused(rx), "test".into(), options, 0, tx);
        chunks.send(TWO.to_vec()).unwrap();
        // The writer now pauses: both entries must arrive without another read returning.
        let deadline = Instant::now() + std::time::Duration::from_secs(10);
        let mut got = 0;
        while got < 2 {
            assert!(
                Instant::now() < deadline,
                "entries stuck behind a blocked read"
            );
            match msgs.try_recv() {
                Ok(SourceMsg::Batch(b)) => got += b.len(),
                Ok(_) => {}
                Err(_) => std::thread::sleep(std::time::Duration::from_millis(1)),
            }
        }
        drop(chunks);
        let mut last = None;
        while let Some(m) = msgs.blocking_recv() {
            last = Some(m);
        }
        assert!(matches!(last, Some(SourceMsg::Ended)));
        handle.join().unwrap();
    }

    /// What a reader sends, as (kind, entries' times) in order.
    fn shape(msgs: Vec<SourceMsg>) -> Vec<(&'static str, Vec<u64>)> {
        msgs.into_iter()
            .map(|m| match m {
                SourceMsg::Batch(b) => ("batch", b.iter().map(|e| e.realtime.0).collect()),
                SourceMsg::Warning(_) => ("warning", Vec::new()),
                SourceMsg::CaughtUp => ("caught_up", Vec::new()),
                SourceMsg::Error(_) => ("error", Vec::new()),
                SourceMsg::Ended => ("ended", Vec::new()),
            })
            .collect()
    }

    /// Reading in place sends what the reader thread sends, in the same order: entries
    /// (with `--since` and `-n` applied), the warning about a cut record, `CaughtUp`,
    /// `Ended`.
    #[test]
    fn reading_in_place_sends_what_the_reader_thread_sends() {
        let mut text = Vec::new();
        for i in 0..5u64 {
            text.extend_from_slice(
                format!("__REALTIME_TIMESTAMP={}\nMESSAGE=m{i}\n\n", 1_000 + i).as_bytes(),
            );
        }
        text.extend_from_slice(b"__REALTIME_TIMESTAMP=2000\nMESSAGE=cut");
        let options = ReadOptions {
            units: all(),
            since: Some(Timestamp(1_001)),
            backlog_entries: Some(3),
            ..ReadOptions::default()
        };
        let mut in_place = Vec::new();
        read_in_place(&text[..], false, "test", options.clone(), 0, |m| {
            in_place.push(m);
            std::ops::ControlFlow::Continue(())
        });
        let (tx, mut rx) = tokio::sync::mpsc::channel(8);
        let handle = spawn_reader(std::io::Cursor::new(text), "test".into(), options, 0, tx);
        let mut threaded = Vec::new();
        while let Some(m) = rx.blocking_recv() {
            threaded.push(m);
        }
        handle.join().unwrap();
        let want = vec![
            ("warning", vec![]),
            ("batch", vec![1_002, 1_003, 1_004]),
            ("caught_up", vec![]),
            ("ended", vec![]),
        ];
        assert_eq!(shape(in_place), want);
        assert_eq!(shape(threaded), want);
    }

    /// The caller stops reading in place by returning `None`: nothing more is sent (the
    /// first batch is the first read's entries, fewer than the whole input).
    #[test]
    fn reading_in_place_stops_when_the_caller_says_so() {
        let text = b"__REALTIME_TIMESTAMP=1\nMESSAGE=a\n\n".repeat(20_000);
        let mut got = Vec::new();
        read_in_place(&text[..], false, "test", ReadOptions::default(), 0, |m| {
            got.push(m);
            std::ops::ControlFlow::Break(())
        });
        let got = shape(got);
        assert_eq!(
            got.len(),
            1,
            "{:?}",
            got.iter().map(|m| m.0).collect::<Vec<_>>()
        );
        assert_eq!(got[0].0, "batch");
        assert!((IN_PLACE_BATCH_ENTRIES..20_000).contains(&got[0].1.len()));
    }

    /// A pipe read in place waits before the next read only after a small one (so a
    /// slow writer's few KiB gather), never after a full one (a fast writer is not held
    /// up); the bytes come through unchanged.
    #[test]
    fn a_patient_pipe_waits_only_after_small_reads() {
        let mut data = vec![b'a'; PIPE_FILL_BYTES * 3];
        data.extend_from_slice(b"tail");
        let mut p = Patient {
            inner: &data[..],
            was_short: false,
        };
        let mut buf = vec![0u8; PIPE_FILL_BYTES * 2];
        let mut got = Vec::new();
        let mut shorts = Vec::new();
        loop {
            let n = p.read(&mut buf).unwrap();
            if n == 0 {
                break;
            }
            got.extend_from_slice(&buf[..n]);
            shorts.push(p.was_short);
        }
        assert_eq!(got, data);
        // Full, then the rest (more than PIPE_FILL_BYTES), then nothing left.
        assert_eq!(shorts, vec![false, false]);
        let mut p = Patient {
            inner: &b"small"[..],
            was_short: false,
        };
        assert_eq!(p.read(&mut buf).unwrap(), 5);
        assert!(p.was_short);
        assert_eq!(p.read(&mut buf).unwrap(), 0);
        assert!(
            !p.was_short,
            "end of input is not a short read to wait after"
        );
    }

    /// Whole reads become batches, and every entry arrives once, in order, whatever
    /// the read sizes: with and without the time and count filters (which take the
    /// entries one by one).
    #[test]
    fn reading_in_place_hands_over_every_entry_once_in_order() {
        let mut text = Vec::new();
        for i in 0..30_000u64 {
            text.extend_from_slice(
                format!(
                    "__REALTIME_TIMESTAMP={i}\nMESSAGE={}\n\n",
                    "x".repeat((i % 97) as usize)
                )
                .as_bytes(),
            );
        }
        for (since, want) in [(None, 0..30_000u64), (Some(Timestamp(10)), 10..30_000)] {
            let options = ReadOptions {
                since,
                ..ReadOptions::default()
            };
            let mut times = Vec::new();
            read_in_place(&text[..], false, "test", options, 0, |m| {
                if let SourceMsg::Batch(b) = m {
                    times.extend(b.iter().map(|e| e.realtime.0));
                }
                std::ops::ControlFlow::Continue(())
            });
            assert_eq!(times, want.collect::<Vec<_>>());
        }
    }
}
