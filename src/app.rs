//! Wiring: start the sources a [`Config`] names, collect what they send, and run the mode.
//!
//! Owns the source channel, its shutdown (dropping [`Inputs`] stops every source at its
//! next send), and the order in which history from several inputs is merged. Key items:
//! [`open_inputs`] → [`Inputs`] (one stream of [`SourceMsg`] for all inputs),
//! [`drain_history`] (everything up to "caught up", merged in time order), [`run`].
//! Does not own decoding (`source`), meaning (`parse`, `model`) or output formats (`view`).
//!
//! Runtime: sources are std threads (sd-journal's handle is not `Send`; stdin reads
//! block) that `blocking_send` into one bounded tokio channel; the consumer is one task
//! on a current-thread runtime.

use std::collections::BinaryHeap;
use std::io::{BufWriter, Write};

use anyhow::Context;
use tokio::sync::mpsc;

use crate::cli::{OutputFormat, ReportFormat, WatchFormat};
use crate::config::{Config, Mode, Slo};
use crate::model::Model;
use crate::parse::Parser;
use crate::source::{self, RawEntry, SourceMsg, Timestamp};
use crate::view;

/// All inputs of a run as one stream.
///
/// Per-input `CaughtUp` and `Ended` messages are combined: [`Inputs::recv`] yields one
/// `CaughtUp` when every input has caught up and one `Ended` when every input has ended
/// (or failed). Batches, warnings and errors pass through as they come; an entry's
/// `input` field says where it came from (an index into [`Inputs::names`]).
pub struct Inputs {
    rx: mpsc::Receiver<SourceMsg>,
    names: Vec<String>,
    caught_up: usize,
    ended: usize,
    has_sent_ended: bool,
}

impl Inputs {
    /// How each input is named (`journal directory /x`, `standard input`, …), by input id.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// Messages waiting in the channel (almost all of them batches). Cheap: a read of the
    /// channel's counters.
    pub fn queued_messages(&self) -> usize {
        self.rx.len()
    }

    /// The next message; `None` after the combined `Ended`.
    pub async fn recv(&mut self) -> Option<SourceMsg> {
        loop {
            let msg = self.rx.recv().await;
            match self.combine(msg) {
                Combined::Hand(m) => return Some(m),
                Combined::Swallow => {}
                Combined::Closed => return None,
            }
        }
    }

    /// As [`Inputs::recv`], for a consumer that is not async (never call it inside a
    /// runtime).
    pub fn blocking_recv(&mut self) -> Option<SourceMsg> {
        loop {
            let msg = self.rx.blocking_recv();
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
pub fn open_inputs(config: &Config) -> anyhow::Result<Inputs> {
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
pub struct History {
    /// Merged in time order; see [`merge_by_time`].
    pub entries: Vec<RawEntry>,
    pub warnings: Vec<String>,
}

/// Receives until every input has caught up (or ended) and returns what came.
/// A source error ends the drain with that error.
pub async fn drain_history(inputs: &mut Inputs) -> anyhow::Result<History> {
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

/// Merges entries from several inputs by realtime, keeping each input's own order
/// (one input comes out exactly as it went in, which is `journalctl`'s order for a
/// journal). Ties go to the lower input id.
pub fn merge_by_time(entries: Vec<RawEntry>) -> Vec<RawEntry> {
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
pub fn run(config: Config) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async move {
        match config.mode.clone() {
            Mode::Tui => crate::live::run(&config).await,
            Mode::Entries { format } => run_entries(&config, format).await,
            Mode::Stats => run_stats(&config).await,
            Mode::Report { format, slo } => run_report(&config, format, slo).await,
            Mode::Watch { format, exec } => run_watch(&config, format, exec.as_deref()).await,
            Mode::Snapshot {
                incident,
                output,
                archive,
            } => run_snapshot(&config, incident, &output, archive).await,
            Mode::PrintConfig { text } => {
                let mut out = std::io::stdout().lock();
                out.write_all(text.as_bytes())
                    .and_then(|()| out.flush())
                    .context("writing to standard output")
            }
        }
    })
}

fn print_warnings(warnings: &[String]) {
    for w in warnings {
        eprintln!("sigil-top: warning: {w}");
    }
}

async fn run_entries(config: &Config, format: OutputFormat) -> anyhow::Result<()> {
    let mut inputs = open_inputs(config)?;
    let history = drain_history(&mut inputs).await?;
    print_warnings(&history.warnings);
    let stdout = std::io::stdout();
    let mut out = BufWriter::with_capacity(64 * 1024, stdout.lock());
    let write = |out: &mut BufWriter<_>, e: &RawEntry| match format {
        OutputFormat::Json => view::entries::write_json(out, e),
        OutputFormat::Short => view::entries::write_short(out, e),
    };
    for e in &history.entries {
        write(&mut out, e).context("writing to standard output")?;
    }
    out.flush().context("writing to standard output")?;
    if !config.follow {
        return Ok(());
    }
    while let Some(msg) = inputs.recv().await {
        match msg {
            SourceMsg::Batch(batch) => {
                for e in &batch {
                    write(&mut out, e).context("writing to standard output")?;
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

async fn run_stats(config: &Config) -> anyhow::Result<()> {
    let mut inputs = open_inputs(config)?;
    let history = drain_history(&mut inputs).await?;
    print_warnings(&history.warnings);
    let mut counts = view::entries::Counts::new(inputs.names().len());
    for e in &history.entries {
        counts.add(e);
    }
    let watched: Vec<String> = config.units.units.iter().map(ToString::to_string).collect();
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    view::entries::write_stats(&mut out, &counts, &watched, inputs.names())
        .and_then(|()| out.flush())
        .context("writing to standard output")
}

/// Reads the inputs' history into a model, through the parser, and returns it finished.
///
/// One input streams straight through (memory stays bounded by the model's limits); several
/// inputs are first merged in time order, which holds their history in memory.
pub async fn build_model(config: &Config) -> anyhow::Result<(Model, Vec<String>)> {
    let mut inputs = open_inputs(config)?;
    let mut parser = Parser::new();
    let mut model = Model::new(config.model.clone());
    let mut warnings = Vec::new();
    if config.inputs.len() > 1 {
        let history = drain_history(&mut inputs).await?;
        warnings = history.warnings;
        for e in history.entries {
            model.apply(parser.parse(e));
        }
    } else {
        while let Some(msg) = inputs.recv().await {
            match msg {
                SourceMsg::Batch(batch) => {
                    for e in batch {
                        model.apply(parser.parse(e));
                    }
                }
                SourceMsg::Warning(w) => warnings.push(w),
                SourceMsg::Error(e) => return Err(e.into()),
                SourceMsg::CaughtUp | SourceMsg::Ended => break,
            }
        }
    }
    model.finish();
    Ok((model, warnings))
}

/// A `report` gate was breached: exit status 1 (not an error, which is 2).
#[derive(Debug, thiserror::Error)]
#[error("SLO breached: {0}")]
pub struct SloBreached(pub String);

/// The gates `model` breaches, in words; empty when none.
fn slo_breaches(model: &Model, slo: Slo) -> Vec<String> {
    let s = &model.stats;
    let mut out = Vec::new();
    if let Some(max) = slo.max_p99_us {
        let p99_us = if s.latency.count() == 0 {
            0
        } else {
            s.latency.hist.value_at_percentile(99.0)
        };
        if p99_us > max {
            out.push(format!(
                "p99 {:.1} ms > {:.1} ms",
                p99_us as f64 / 1000.0,
                max as f64 / 1000.0
            ));
        }
    }
    if let Some(max) = slo.max_5xx_pct {
        if s.requests > 0 {
            let pct = s.errors_5xx as f64 * 100.0 / s.requests as f64;
            if pct > max {
                out.push(format!("5xx rate {pct:.2}% > {max}%"));
            }
        }
    }
    if let Some(max) = slo.max_502 {
        if s.bad_gateway > max {
            out.push(format!("{} 502s > {max}", s.bad_gateway));
        }
    }
    out
}

async fn run_report(config: &Config, format: ReportFormat, slo: Slo) -> anyhow::Result<()> {
    let (model, warnings) = build_model(config).await?;
    print_warnings(&warnings);
    let text = match format {
        ReportFormat::Json => {
            let mut s = serde_json::to_string_pretty(&view::report::to_json(&model))
                .context("encoding the report")?;
            s.push('\n');
            s
        }
        ReportFormat::Text => view::report::to_text(&model),
        ReportFormat::Markdown => view::report::to_markdown(&model),
    };
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .context("writing to standard output")?;
    let breaches = slo_breaches(&model, slo);
    if breaches.is_empty() {
        Ok(())
    } else {
        Err(SloBreached(breaches.join("; ")).into())
    }
}

/// Follows the inputs and prints incident changes as they happen; `--exec` runs a command
/// per printed change. Ends at the end of input, or on SIGINT/SIGTERM/SIGHUP.
async fn run_watch(config: &Config, format: WatchFormat, exec: Option<&str>) -> anyhow::Result<()> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut inputs = open_inputs(config)?;
    let mut parser = Parser::new();
    let mut model = Model::new(config.model.clone());
    let mut throttle = view::watch::Throttle::new(5_000_000);
    let mut term = signal(SignalKind::terminate()).context("installing a SIGTERM handler")?;
    let mut hup = signal(SignalKind::hangup()).context("installing a SIGHUP handler")?;
    let mut int = signal(SignalKind::interrupt()).context("installing a SIGINT handler")?;
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
    let mut caught_up = false;
    let stdout = std::io::stdout();
    loop {
        tokio::select! {
            biased;
            _ = term.recv() => break,
            _ = hup.recv() => break,
            _ = int.recv() => break,
            msg = inputs.recv() => match msg {
                Some(SourceMsg::Batch(batch)) => {
                    for e in batch {
                        model.apply(parser.parse(e));
                    }
                }
                Some(SourceMsg::CaughtUp) => caught_up = true,
                Some(SourceMsg::Warning(w)) => print_warnings(&[w]),
                Some(SourceMsg::Error(e)) => return Err(e.into()),
                Some(SourceMsg::Ended) | None => {
                    model.finish();
                    emit_changes(&mut model, &mut throttle, format, exec, &mut stdout.lock())?;
                    break;
                }
            },
            _ = tick.tick(), if caught_up && config.follow => {
                // Live: journal time is wall time, so quiet incidents close on the clock.
                model.tick(crate::source::Timestamp::now());
            }
        }
        emit_changes(&mut model, &mut throttle, format, exec, &mut stdout.lock())?;
    }
    Ok(())
}

fn emit_changes(
    model: &mut Model,
    throttle: &mut view::watch::Throttle,
    format: WatchFormat,
    exec: Option<&str>,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let changes = model.detector.take_changes();
    if changes.is_empty() {
        return Ok(());
    }
    for change in changes {
        if !throttle.admit(&change) {
            continue;
        }
        let Some(incident) = model.detector.incident(change.incident) else {
            continue;
        };
        let json = view::watch::event_json(&change, incident);
        let line = match format {
            WatchFormat::Json => json.to_string(),
            WatchFormat::Text => view::watch::event_text(&change, incident),
        };
        writeln!(out, "{line}").context("writing to standard output")?;
        if let Some(cmd) = exec {
            run_hook(cmd, &json, change.kind.as_str(), incident);
        }
    }
    out.flush().context("writing to standard output")
}

/// Runs the user's `--exec` command with the event on stdin. The command line is the
/// user's own text; log text only ever reaches the hook on stdin and in fixed-vocabulary
/// environment variables, never through the shell's parser.
fn run_hook(
    cmd: &str,
    json: &serde_json::Value,
    event: &str,
    incident: &crate::model::detect::Incident,
) {
    use std::process::{Command, Stdio};
    let spawned = Command::new("/bin/sh")
        .arg("-c")
        .arg(cmd)
        .env("SIGIL_TOP_EVENT", event)
        .env("SIGIL_TOP_KIND", incident.kind.as_str())
        .env("SIGIL_TOP_SEVERITY", incident.severity.as_str())
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn();
    match spawned {
        Ok(mut child) => {
            // The event is a few KiB, well under a pipe's buffer: written here, so it is
            // delivered even when sigil-top exits right after.
            if let Some(mut stdin) = child.stdin.take() {
                let _ = writeln!(stdin, "{json}");
            }
            // Reap it without waiting for it.
            std::thread::spawn(move || {
                let _ = child.wait();
            });
        }
        Err(e) => eprintln!("sigil-top: warning: --exec {cmd:?} could not start: {e}"),
    }
}

/// Margin kept around an incident in its snapshot, before its start and after its end.
const SNAPSHOT_MARGIN_US: u64 = 60_000_000;

/// A model of exactly `entries` (in time order), finished.
fn model_of(entries: &[RawEntry], settings: &crate::model::Settings) -> Model {
    let mut parser = Parser::new();
    let mut model = Model::new(settings.clone());
    for e in entries {
        model.apply(parser.parse(e.clone()));
    }
    model.finish();
    model
}

/// The window a snapshot covers: around `incident` (of `model`), else all of `model`.
fn snapshot_window(
    model: &Model,
    incident: Option<u64>,
) -> anyhow::Result<(Timestamp, Timestamp, Option<Timestamp>)> {
    let (first, last) = model.window.unwrap_or((Timestamp(0), Timestamp(0)));
    match incident {
        None => Ok((first, last, None)),
        Some(id) => {
            let inc = model.detector.incident(id).with_context(|| {
                let ids: Vec<String> = model
                    .detector
                    .incidents
                    .iter()
                    .map(|i| format!("#{} {}", i.id, i.kind.as_str()))
                    .collect();
                format!(
                    "no incident {id} in this input (incidents: {})",
                    if ids.is_empty() {
                        "none".into()
                    } else {
                        ids.join(", ")
                    }
                )
            })?;
            let end = inc.end.unwrap_or(inc.last);
            Ok((
                Timestamp(inc.start.0.saturating_sub(SNAPSHOT_MARGIN_US)).max(first),
                Timestamp(end.0.saturating_add(SNAPSHOT_MARGIN_US)).min(last),
                Some(inc.start),
            ))
        }
    }
}

/// Builds and writes the bundle for `entries` within `[start, end]`; the incident of the
/// window's own model that started at `incident_start` is the one it is about.
pub fn write_snapshot(
    entries: &[RawEntry],
    window: (Timestamp, Timestamp, Option<Timestamp>),
    config: &Config,
    output: &std::path::Path,
    archive: bool,
) -> anyhow::Result<std::path::PathBuf> {
    let (start, end, incident_start) = window;
    let in_window: Vec<RawEntry> = entries
        .iter()
        .filter(|e| (start..=end).contains(&e.realtime))
        .cloned()
        .collect();
    let model = model_of(&in_window, &config.model);
    let incident = incident_start.and_then(|at| {
        model
            .detector
            .incidents
            .iter()
            .min_by_key(|i| i.start.0.abs_diff(at.0))
            .map(|i| i.id)
    });
    let mut redactor = crate::text::Redactor::new(&config.redact_patterns)
        .context("compiling the [redact] patterns")?;
    let selection = view::export::Selection {
        start,
        end,
        incident,
    };
    let bundle = view::export::build(&model, &in_window, &selection, &mut redactor);
    Ok(view::export::write(&bundle, output, archive)?)
}

/// Snapshot of what a live model holds (the TUI's `e`): around `incident`, else the last
/// 15 minutes kept in the log.
pub fn snapshot_live(
    model: &Model,
    incident: Option<u64>,
    config: &Config,
) -> anyhow::Result<std::path::PathBuf> {
    let (first, last) = model.window.unwrap_or((Timestamp(0), Timestamp(0)));
    let window = match incident {
        Some(_) => snapshot_window(model, incident)?,
        None => (
            Timestamp(last.0.saturating_sub(15 * 60 * 1_000_000)).max(first),
            last,
            None,
        ),
    };
    let entries = model.log.raw_entries_between(window.0, window.1);
    write_snapshot(
        &entries,
        window,
        config,
        &view::export::default_dir(),
        false,
    )
}

async fn run_snapshot(
    config: &Config,
    incident: Option<u64>,
    output: &std::path::Path,
    archive: bool,
) -> anyhow::Result<()> {
    let mut inputs = open_inputs(config)?;
    let history = drain_history(&mut inputs).await?;
    print_warnings(&history.warnings);
    let whole = model_of(&history.entries, &config.model);
    let window = snapshot_window(&whole, incident)?;
    let path = write_snapshot(&history.entries, window, config, output, archive)?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "{}", path.display())
        .and_then(|()| out.flush())
        .context("writing to standard output")
}

/// As [`open_inputs`] for the demo played at `pace` (the live screen's `sigil-top demo`).
/// A `--replay` file played at `pace` for the live screen, with its own timestamps.
pub fn open_paced_replay(
    config: &Config,
    path: &std::path::Path,
    pace: source::demo::Pace,
) -> anyhow::Result<Inputs> {
    let text = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
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

pub fn open_paced_demo(config: &Config, pace: source::demo::Pace) -> Inputs {
    let (tx, rx) = mpsc::channel(config.channel_capacity_batches);
    source::demo::spawn_paced(config.read_options(), 0, tx, pace);
    Inputs {
        rx,
        names: vec![source::InputSpec::Demo.describe()],
        caught_up: 0,
        ended: 0,
        has_sent_ended: false,
    }
}
