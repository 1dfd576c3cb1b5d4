//! Wiring: start the sources a [`Config`] names, collect what they send, and run the mode.
//!
//! Owns the source channel, its shutdown (dropping [`Inputs`] stops every source at its
//! next send), and the order in which history from several inputs is merged. Key items:
//! [`open_inputs`] → [`Inputs`] (one stream of [`SourceMsg`] for all inputs),
//! [`drain_history`] (everything up to "caught up", merged in time order),
//! [`for_each_history_entry`] (the same, streamed; one text input read in place), [`run`].
//! Does not own decoding (`source`), meaning (`parse`, `model`) or output formats (`view`).
//! Each mode's run is in its own file: `report` (+ SLO gates), `watch` (with `hooks` for
//! `--exec`, `resume` for `--cursor-file`, `metrics` for `--metrics`), `snapshot` (also
//! the live screen's `e`), `live` (the live screen's loop), `supervise` (the live screen
//! in a child process, for a crash inside libsystemd); `entries` and `stats` are short and
//! stay here.
//!
//! Runtime: sources are std threads (sd-journal's handle is not `Send`; stdin reads
//! block) that `blocking_send` into one bounded tokio channel; the consumer is one task
//! on a current-thread runtime.

use std::collections::BinaryHeap;
use std::io::{BufWriter, Write};
use std::os::unix::fs::OpenOptionsExt;

use anyhow::Context;
use tokio::sync::mpsc;

use crate::cli::OutputFormat;
use crate::config::{Config, Mode};
use crate::source::{self, RawEntry, SourceMsg};
use crate::view;

mod hooks;
mod live;
mod metrics;
mod report;
mod resume;
mod snapshot;
pub mod supervise;
mod watch;

use report::run_report;
pub use report::{GateReadNothing, SloBreached};
use snapshot::run_snapshot;
pub(crate) use snapshot::snapshot_live;
use watch::run_watch;

/// All inputs of a run as one stream.
///
/// Per-input `CaughtUp` and `Ended` messages are combined: [`Inputs::recv`] yields one
/// `CaughtUp` when every input has caught up and one `Ended` when every input has ended
/// (or failed). Batches, warnings and errors pass through as they come; an entry's
/// `input` field says where it came from (an index into [`Inputs::names`]).
pub(crate) struct Inputs {
    rx: mpsc::Receiver<SourceMsg>,
    names: Vec<String>,
    caught_up: usize,
    ended: usize,
    has_sent_ended: bool,
}

impl Inputs {
    /// How each input is named (`journal directory /x`, `standard input`, …), by input id.
    pub(crate) fn names(&self) -> &[String] {
        &self.names
    }

    /// Messages waiting in the channel (almost all of them batches). Cheap: a read of the
    /// channel's counters.
    pub(crate) fn queued_messages(&self) -> usize {
        self.rx.len()
    }

    /// The next message; `None` after the combined `Ended`.
    pub(crate) async fn recv(&mut self) -> Option<SourceMsg> {
        loop {
            let msg = self.rx.recv().await;
            match self.combine(msg) {
                Combined::Hand(m) => return Some(m),
                Combined::Swallow => {}
                Combined::Closed => return None,
            }
        }
    }

    fn combine(&mut self, msg: Option<SourceMsg>) -> Combined {
        let n = self.names.len();
        match msg {
            // Every sender is gone: every source has stopped.
            None if self.has_sent_ended => Combined::Closed,
            None => {
                self.has_sent_ended = true;
                Combined::Hand(SourceMsg::Ended)
            }
            Some(SourceMsg::CaughtUp) => {
                self.caught_up += 1;
                if self.caught_up == n {
                    Combined::Hand(SourceMsg::CaughtUp)
                } else {
                    Combined::Swallow
                }
            }
            Some(SourceMsg::Ended) => {
                self.ended += 1;
                if self.ended == n && !self.has_sent_ended {
                    self.has_sent_ended = true;
                    Combined::Hand(SourceMsg::Ended)
                } else {
                    Combined::Swallow
                }
            }
            Some(SourceMsg::Error(e)) => {
                self.ended += 1;
                Combined::Hand(SourceMsg::Error(e))
            }
            Some(other) => Combined::Hand(other),
        }
    }
}

/// What [`Inputs::combine`] does with one raw message.
enum Combined {
    Hand(SourceMsg),
    /// A per-input `CaughtUp`/`Ended` that is not the last one.
    Swallow,
    Closed,
}

/// Starts every input of `config` and returns their combined stream.
///
/// Opening errors (a missing `-D` directory, no permission to read the journal) are
/// returned here with the input named; nothing has been read then.
pub(crate) fn open_inputs(config: &Config) -> anyhow::Result<Inputs> {
    let (tx, rx) = mpsc::channel(config.channel_capacity_batches);
    let mut names = Vec::with_capacity(config.inputs.len());
    for (i, spec) in config.inputs.iter().enumerate() {
        let id = u16::try_from(i).context("too many inputs (at most 65535)")?;
        // Opening errors name their path already (and say what to do about it).
        source::spawn(spec, config.read_options(), id, tx.clone())?;
        names.push(spec.describe());
    }
    Ok(Inputs {
        rx,
        names,
        caught_up: 0,
        ended: 0,
        has_sent_ended: false,
    })
}

/// What the inputs held when they caught up.
#[derive(Debug, Default)]
pub(crate) struct History {
    /// Merged in time order; see [`merge_by_time`].
    pub(crate) entries: Vec<RawEntry>,
    pub(crate) warnings: Vec<String>,
}

/// Receives until every input has caught up (or ended) and returns what came.
/// A source error ends the drain with that error.
pub(crate) async fn drain_history(inputs: &mut Inputs) -> anyhow::Result<History> {
    let mut history = History::default();
    while let Some(msg) = inputs.recv().await {
        match msg {
            SourceMsg::Batch(batch) => history.entries.extend(batch),
            SourceMsg::Warning(w) => history.warnings.push(w),
            SourceMsg::Error(e) => return Err(e.into()),
            SourceMsg::CaughtUp | SourceMsg::Ended => break,
        }
    }
    history.entries = merge_by_time(std::mem::take(&mut history.entries));
    Ok(history)
}

/// Hands every entry of the inputs' history to `each`, in time order (as
/// [`drain_history`] merges them), and returns the warnings. For the headless modes that
/// read history once (`report`, `stats`, `entries` without `--follow`).
///
/// One text input (a file, or standard input) is read in place, on this thread
/// ([`source::read_in_place`]): no reader thread, no channel, nothing held. One other
/// input streams through the channel batch by batch; several are first drained and
/// merged, which holds their history in memory. An `Err` from `each` stops the reading
/// and is returned.
pub(crate) async fn for_each_history_entry(
    config: &Config,
    mut each: impl FnMut(RawEntry) -> anyhow::Result<()>,
) -> anyhow::Result<Vec<String>> {
    let mut warnings = Vec::new();
    let options = config.read_options();
    if let [spec] = config.inputs.as_slice() {
        if source::reads_in_place(spec, &options) {
            let mut failed = None;
            source::read_in_place(spec, options, 0, |msg| {
                let done = match msg {
                    SourceMsg::Batch(batch) => batch.into_iter().try_for_each(&mut each),
                    SourceMsg::Warning(w) => {
                        warnings.push(w);
                        Ok(())
                    }
                    SourceMsg::Error(e) => Err(e.into()),
                    SourceMsg::CaughtUp | SourceMsg::Ended => Ok(()),
                };
                match done {
                    Ok(()) => std::ops::ControlFlow::Continue(()),
                    Err(e) => {
                        failed = Some(e);
                        std::ops::ControlFlow::Break(())
                    }
                }
            })?;
            return failed.map_or(Ok(warnings), Err);
        }
    }
    let mut inputs = open_inputs(config)?;
    if config.inputs.len() > 1 {
        let history = drain_history(&mut inputs).await?;
        history.entries.into_iter().try_for_each(each)?;
        return Ok(history.warnings);
    }
    while let Some(msg) = inputs.recv().await {
        match msg {
            SourceMsg::Batch(batch) => batch.into_iter().try_for_each(&mut each)?,
            SourceMsg::Warning(w) => warnings.push(w),
            SourceMsg::Error(e) => return Err(e.into()),
            SourceMsg::CaughtUp | SourceMsg::Ended => break,
        }
    }
    Ok(warnings)
}

/// Merges entries from several inputs by realtime, keeping each input's own order
/// (one input comes out exactly as it went in, which is `journalctl`'s order for a
/// journal). Ties go to the lower input id.
pub(crate) fn merge_by_time(entries: Vec<RawEntry>) -> Vec<RawEntry> {
    let mut per_input: Vec<std::collections::VecDeque<RawEntry>> = Vec::new();
    for e in entries {
        let i = usize::from(e.input);
        if per_input.len() <= i {
            per_input.resize_with(i + 1, Default::default);
        }
        per_input[i].push_back(e);
    }
    let non_empty = per_input.iter().filter(|q| !q.is_empty()).count();
    if non_empty <= 1 {
        return per_input.into_iter().flatten().collect();
    }
    let total = per_input.iter().map(std::collections::VecDeque::len).sum();
    let mut merged = Vec::with_capacity(total);
    let mut heads: BinaryHeap<std::cmp::Reverse<(u64, usize)>> = per_input
        .iter()
        .enumerate()
        .filter_map(|(i, q)| {
            q.front()
                .map(|e| std::cmp::Reverse((e.realtime.as_micros(), i)))
        })
        .collect();
    while let Some(std::cmp::Reverse((_, i))) = heads.pop() {
        if let Some(e) = per_input[i].pop_front() {
            merged.push(e);
        }
        if let Some(next) = per_input[i].front() {
            heads.push(std::cmp::Reverse((next.realtime.as_micros(), i)));
        }
    }
    merged
}

/// Runs `config` to completion.
pub(crate) fn run(config: Config) -> anyhow::Result<()> {
    IS_QUIET.store(config.output.quiet, std::sync::atomic::Ordering::Relaxed);
    // The live screen over journal files runs in a child that this process watches, so a
    // crash inside libsystemd still leaves a usable terminal (see `supervise`).
    if supervise::should_supervise(&config) {
        return supervise::run(&config);
    }
    print_warnings(&config.warnings);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async move {
        match config.mode.clone() {
            Mode::Tui => live::run(&config).await,
            Mode::Entries { format } => run_entries(&config, format).await,
            Mode::Stats => run_stats(&config).await,
            Mode::Report { format, slo } => run_report(&config, format, slo).await,
            Mode::Watch { .. } => run_watch(&config).await,
            Mode::Snapshot {
                incident,
                output,
                archive,
            } => run_snapshot(&config, incident, &output, archive).await,
            Mode::PrintConfig { text } => {
                let mut out = std::io::stdout().lock();
                out.write_all(&text)
                    .and_then(|()| out.flush())
                    .context("writing to standard output")
            }
        }
    })
}

/// `-q`: warnings are not printed. A process-wide switch, set once by [`run`] before any
/// mode starts, so every mode's printing (here and in the mode files) obeys it without
/// each carrying the flag.
static IS_QUIET: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

fn print_warnings(warnings: &[String]) {
    if IS_QUIET.load(std::sync::atomic::Ordering::Relaxed) {
        return;
    }
    for w in warnings {
        // Warnings name files and quote log text: escaped, never raw.
        eprintln!("sigil-top: warning: {}", crate::text::sanitize_lines(w));
    }
}

async fn run_entries(config: &Config, format: OutputFormat) -> anyhow::Result<()> {
    let stdout = std::io::stdout();
    let mut out = BufWriter::with_capacity(64 * 1024, stdout.lock());
    let mut printer = view::entries::Printer::new(format, config.output.utc, config.output.quiet);
    if config.output.reverse {
        // `-r` (never with --follow, see config): the history printed newest first.
        let mut reversed = Reversed::new().context("making a temporary file for --reverse")?;
        let warnings = for_each_history_entry(config, |e| {
            reversed
                .push(&printer, &e)
                .context("writing a temporary file for --reverse")
        })
        .await?;
        print_warnings(&warnings);
        reversed
            .write_to(&mut printer, &mut out)
            .and_then(|()| printer.finish(&mut out))
            .context("writing to standard output")?;
        out.flush().context("writing to standard output")?;
        return nothing_matched(config, &printer);
    }
    if !config.follow {
        // Streamed: warnings go out at the end, after the entries (as from a pipe).
        let warnings = for_each_history_entry(config, |e| {
            printer
                .write(&mut out, &e)
                .context("writing to standard output")
        })
        .await?;
        printer
            .finish(&mut out)
            .context("writing to standard output")?;
        print_warnings(&warnings);
        out.flush().context("writing to standard output")?;
        return nothing_matched(config, &printer);
    }
    let mut inputs = open_inputs(config)?;
    let history = drain_history(&mut inputs).await?;
    print_warnings(&history.warnings);
    for e in &history.entries {
        printer
            .write(&mut out, e)
            .context("writing to standard output")?;
    }
    out.flush().context("writing to standard output")?;
    while let Some(msg) = inputs.recv().await {
        match msg {
            SourceMsg::Batch(batch) => {
                for e in &batch {
                    printer
                        .write(&mut out, e)
                        .context("writing to standard output")?;
                }
                out.flush().context("writing to standard output")?;
            }
            SourceMsg::Warning(w) => print_warnings(&[w]),
            SourceMsg::Error(e) => return Err(e.into()),
            SourceMsg::CaughtUp => {}
            SourceMsg::Ended => break,
        }
    }
    Ok(())
}

/// `entries --grep` printed nothing: exit status 1 with no message, as journalctl (and
/// grep) do, so scripts can test for a match.
#[derive(Debug, thiserror::Error)]
#[error("no entry matched --grep")]
pub struct NothingMatched;

fn nothing_matched(config: &Config, printer: &view::entries::Printer) -> anyhow::Result<()> {
    if config.filter.grep.is_some() && !printer.has_printed() {
        return Err(NothingMatched.into());
    }
    Ok(())
}

/// `entries -r`: each entry is printed (without boot lines) into an unlinked temporary
/// file as it is read, and the file is then written out backwards, entry by entry. Memory
/// holds 24 bytes per entry (where its text is, and its boot, shared with its origin),
/// not the entries: reversing a journal of millions of entries needs disk, not RAM.
struct Reversed {
    file: std::fs::File,
    /// Where each entry's text ends in `file`, and its boot.
    ends: Vec<(u64, Option<std::sync::Arc<str>>)>,
    written: u64,
    scratch: Vec<u8>,
}

impl Reversed {
    fn new() -> std::io::Result<Reversed> {
        let dir = std::env::temp_dir();
        let mut attempt = 0u32;
        let (file, path) = loop {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.subsec_nanos());
            let path = dir.join(format!(
                "sigil-top-reverse-{}-{nanos}-{attempt}",
                std::process::id()
            ));
            match std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&path)
            {
                Ok(f) => break (f, path),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && attempt < 100 => {
                    attempt += 1;
                }
                Err(e) => return Err(e),
            }
        };
        // Unlinked at once: the file lives as long as the handle, and nothing is left
        // behind whatever way the run ends.
        std::fs::remove_file(&path)?;
        Ok(Reversed {
            file,
            ends: Vec::new(),
            written: 0,
            scratch: Vec::new(),
        })
    }

    fn push(&mut self, printer: &view::entries::Printer, e: &RawEntry) -> std::io::Result<()> {
        self.scratch.clear();
        printer.write_entry(&mut self.scratch, e)?;
        self.file.write_all(&self.scratch)?;
        self.written += self.scratch.len() as u64;
        self.ends.push((self.written, e.origin.boot_id.clone()));
        Ok(())
    }

    fn write_to(
        &mut self,
        printer: &mut view::entries::Printer,
        out: &mut impl Write,
    ) -> std::io::Result<()> {
        use std::os::unix::fs::FileExt;
        for i in (0..self.ends.len()).rev() {
            let start = if i == 0 { 0 } else { self.ends[i - 1].0 };
            let (end, boot) = &self.ends[i];
            let len = usize::try_from(end - start).map_err(std::io::Error::other)?;
            self.scratch.resize(len, 0);
            self.file.read_exact_at(&mut self.scratch, start)?;
            printer.boot_line(out, boot.as_ref())?;
            out.write_all(&self.scratch)?;
        }
        Ok(())
    }
}

async fn run_stats(config: &Config) -> anyhow::Result<()> {
    let mut counts = view::entries::Counts::new(config.inputs.len());
    let warnings = for_each_history_entry(config, |e| {
        counts.add(&e);
        Ok(())
    })
    .await?;
    print_warnings(&warnings);
    let names: Vec<String> = config
        .inputs
        .iter()
        .map(source::InputSpec::describe)
        .collect();
    // Units listed even with no entries; a glob is not a unit (the units it matched
    // are counted under their own names), so it gets no row of its own.
    let watched: Vec<String> = config
        .units
        .units
        .iter()
        .filter(|u| !u.is_glob())
        .map(ToString::to_string)
        .collect();
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    view::entries::write_stats(&mut out, &counts, &watched, &names)
        .and_then(|()| out.flush())
        .context("writing to standard output")
}

/// As [`open_inputs`] for the demo played at `pace` (the live screen's `sigil-top demo`).
/// A `--replay` file played at `pace` for the live screen, with its own timestamps.
pub(crate) fn open_paced_replay(
    config: &Config,
    path: &std::path::Path,
    pace: source::demo::Pace,
) -> anyhow::Result<Inputs> {
    let text = source::read_whole_text(path)?;
    let (tx, rx) = mpsc::channel(config.channel_capacity_batches);
    source::demo::spawn_replay(text, config.read_options(), 0, tx, pace);
    Ok(Inputs {
        rx,
        names: vec![format!("replay of {}", path.display())],
        caught_up: 0,
        ended: 0,
        has_sent_ended: false,
    })
}

pub(crate) fn open_paced_demo(config: &Config, pace: source::demo::Pace) -> Inputs {
    let (tx, rx) = mpsc::channel(config.channel_capacity_batches);
    source::demo::spawn_paced(config.read_options(), 0, tx, pace);
    Inputs {
        rx,
        names: vec![source::demo::SCREEN_NAME.to_owned()],
        caught_up: 0,
        ended: 0,
        has_sent_ended: false,
    }
}
