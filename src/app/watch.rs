//! `watch`: follows the inputs and prints incident changes as they happen, for scripts,
//! pagers and a service manager.
//!
//! Owns the watch loop: where it starts (the end of the journal unless `--since`/`-n`
//! say otherwise, or after `--cursor-file`'s cursor, see `resume`), what it announces
//! (`view::watch::Announcer`: stable ids, no incident opened twice across restarts), the
//! `--exec` hooks (`hooks`), answering `/metrics` scrapes (`metrics`; the loop owns the
//! model, so the figures are taken here between two batches), and the order of a stop:
//! SIGTERM/SIGINT/SIGHUP end the loop after the batch in hand, the cursor and open
//! incidents are saved, hooks get a bounded time, and the exit status is 0.

use std::io::Write;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;

use super::hooks::{HookStats, Hooks};
use super::{metrics, open_inputs, print_warnings, resume};
use crate::cli::WatchFormat;
use crate::config::{Config, Mode, CURSOR_SAVE_EVERY};
use crate::model::Model;
use crate::parse::Parser;
use crate::source::{Cursor, SourceMsg, StartAt, Timestamp};
use crate::view;
use crate::view::watch::{Announcement, Announcer};

/// `update` events are printed at most this often per incident (journal time).
const UPDATE_INTERVAL_US: u64 = 5_000_000;

/// Follows the inputs and prints incident changes as they happen. Ends at the end of
/// input (`--no-follow`, a pipe that closes), or on SIGINT/SIGTERM/SIGHUP (exit 0).
#[allow(
    clippy::too_many_lines,
    reason = "one select loop whose arms share the model, the announcer and the cursor to save; where it starts and how it stops are their own functions"
)]
pub(super) async fn run_watch(config: &Config) -> anyhow::Result<()> {
    use tokio::signal::unix::{signal, SignalKind};
    let Mode::Watch {
        format,
        exec,
        hooks: hook_limits,
        cursor_file,
        metrics: metrics_addr,
    } = &config.mode
    else {
        anyhow::bail!("run_watch needs watch's settings");
    };
    let Start {
        config,
        previous,
        mut last_cursor,
        words: start_text,
    } = start(config, cursor_file.as_deref())?;
    let mut term = signal(SignalKind::terminate()).context("installing a SIGTERM handler")?;
    let mut hup = signal(SignalKind::hangup()).context("installing a SIGHUP handler")?;
    let mut int = signal(SignalKind::interrupt()).context("installing a SIGINT handler")?;
    let mut scrapes = match metrics_addr {
        Some(addr) => {
            let (bound, rx) = metrics::serve(*addr).await?;
            eprintln!("sigil-top: watch: serving metrics on http://{bound}/metrics");
            Some(rx)
        }
        None => None,
    };
    let hook_stats = Arc::new(HookStats::default());
    let mut hooks = exec
        .as_deref()
        .map(|cmd| Hooks::new(cmd, *hook_limits, Arc::clone(&hook_stats)));
    let mut inputs = open_inputs(&config)?;
    let mut parser = Parser::new();
    let mut model = Model::new(config.model.clone());
    let mut announcer =
        Announcer::new(previous, config.model.incident_quiet_us, UPDATE_INTERVAL_US);
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
    let mut caught_up = false;
    let mut entries_processed: u64 = 0;
    let mut entries_for_state: u64 = 0;
    let count_from = config.model.count_from;
    if let Some(path) = cursor_file {
        // A place it cannot save to is found now, not at the first restart.
        resume::save(path, last_cursor.as_ref(), &announcer.state())?;
    }
    let mut unsaved = false;
    let mut is_save_failing = false;
    let mut last_save = Instant::now();
    let stdout = std::io::stdout();
    let out = &mut Output {
        format: *format,
        stdout: &stdout,
    };
    let result: anyhow::Result<()> = async {
        loop {
            tokio::select! {
                biased;
                _ = term.recv() => break,
                _ = hup.recv() => break,
                _ = int.recv() => break,
                Some(reply) = next_scrape(&mut scrapes) => {
                    let figures = watch_figures(&announcer, &hook_stats);
                    let _ = reply.send(view::metrics::Figures::of(&model, &figures).to_text());
                    continue;
                }
                msg = inputs.recv() => match msg {
                    Some(SourceMsg::Batch(batch)) => {
                        if let Some(c) = batch.iter().rev().find_map(|e| e.cursor.clone()) {
                            last_cursor = Some(c);
                        }
                        let mut latest = Timestamp(0);
                        for e in batch {
                            latest = latest.max(e.realtime);
                            if count_from.is_some_and(|from| e.realtime < from) {
                                entries_for_state += 1;
                            } else {
                                entries_processed += 1;
                            }
                            model.apply(parser.parse(e));
                        }
                        unsaved = true;
                        // The batch's own changes first: a signal in it may continue an
                        // incident carried over from the last run, which only then
                        // expires (when its quiet time has passed by the batch's end).
                        announce_changes(&mut model, &mut announcer, out, hooks.as_mut())?;
                        out.print(&announcer.expire(latest), hooks.as_mut())?;
                    }
                    Some(SourceMsg::CaughtUp) => {
                        caught_up = true;
                        if config.follow {
                            eprintln!(
                                "sigil-top: watch: following {} from {}",
                                inputs.names().join(", "),
                                start_text
                            );
                        }
                    }
                    Some(SourceMsg::Warning(w)) => print_warnings(&[w]),
                    Some(SourceMsg::Error(e)) => return Err(e.into()),
                    Some(SourceMsg::Ended) | None => {
                        model.finish();
                        announce_changes(&mut model, &mut announcer, out, hooks.as_mut())?;
                        break;
                    }
                },
                _ = tick.tick(), if caught_up && config.follow => {
                    // Live: journal time is wall time, so quiet incidents close on the clock.
                    let now = Timestamp::now();
                    model.tick(now);
                    out.print(&announcer.expire(now), hooks.as_mut())?;
                }
            }
            announce_changes(&mut model, &mut announcer, out, hooks.as_mut())?;
            if let Some(path) = cursor_file {
                if unsaved && last_save.elapsed() >= CURSOR_SAVE_EVERY {
                    // A failed save does not stop the alerts; it is said once, and again
                    // when saving works again.
                    match resume::save(path, last_cursor.as_ref(), &announcer.state()) {
                        Ok(()) if is_save_failing => {
                            is_save_failing = false;
                            eprintln!("sigil-top: watch: {} is saved again", path.display());
                        }
                        Err(e) if !is_save_failing => {
                            is_save_failing = true;
                            eprintln!(
                                "sigil-top: warning: {e:#}: a restart now would repeat what \
                                 came since the last save"
                            );
                        }
                        Ok(()) | Err(_) => {}
                    }
                    unsaved = false;
                    last_save = Instant::now();
                }
            }
        }
        Ok(())
    }
    .await;
    // Whatever ended the loop, what was processed is saved and the hooks get their time.
    if let Some(path) = cursor_file {
        let saved = save_on_stop(
            path,
            last_cursor.as_ref(),
            &announcer,
            (entries_processed, entries_for_state),
        );
        if result.is_ok() {
            saved?;
        }
    }
    if let Some(h) = hooks {
        h.shutdown().await;
    }
    result
}

/// Where a watch starts: the config with its start resolved, what the previous run
/// announced, the cursor to save if nothing is read, and the start in words.
struct Start {
    config: Config,
    previous: view::watch::AnnouncedState,
    last_cursor: Option<Cursor>,
    words: String,
}

/// Resolves where a watch starts: after the cursor a previous run saved (`cursor_file`),
/// or at the inputs' end pinned now, with the look-back before it read for state only.
fn start(config: &Config, cursor_file: Option<&std::path::Path>) -> anyhow::Result<Start> {
    let mut config = config.clone();
    let mut previous = view::watch::AnnouncedState::default();
    // The position to save; from the start when the journal's end is where it starts.
    let mut last_cursor: Option<Cursor> = None;
    let mut start_text = start_words(&config);
    if let Some(path) = cursor_file {
        let resumed = resume::load(path);
        print_warnings(&resumed.notes);
        if let Some(cursor) = resumed.cursor {
            config.start = StartAt::AfterCursor(cursor);
            start_text = start_words(&config);
        }
        previous = resumed.state;
    }
    let mut looked_back = false;
    if config.start == StartAt::End {
        // Pinned now: a stop before the first entry still resumes from here (what is
        // written while it is down is not skipped by the next start at the end), and the
        // look-back below ends here.
        let mut ends = Vec::new();
        for spec in &config.inputs {
            if let Some(cursor) = crate::source::last_cursor(spec, &config.read_options())? {
                ends.push(cursor);
            }
        }
        if let [cursor] = ends.as_slice() {
            config.start = StartAt::AfterCursor(cursor.clone());
            if cursor_file.is_some() {
                last_cursor = Some(cursor.clone());
            }
        }
        // The look-back ends at the latest end (several journals have no one cursor).
        if let Some(end) = ends.iter().filter_map(cursor_time).max() {
            looked_back = read_lookback(&mut config, end);
        }
    }
    if looked_back {
        start_text = format!(
            "{start_text}, the {} s before read for state only",
            config.model.lookback_us / 1_000_000
        );
    }
    Ok(Start {
        config,
        previous,
        last_cursor,
        words: start_text,
    })
}

/// Saves the cursor and the announced state at the end of a watch and says so.
fn save_on_stop(
    path: &std::path::Path,
    last_cursor: Option<&Cursor>,
    announcer: &Announcer,
    (entries_processed, entries_for_state): (u64, u64),
) -> anyhow::Result<()> {
    let saved = resume::save(path, last_cursor, &announcer.state());
    match (&saved, last_cursor) {
        (Ok(()), Some(c)) => eprintln!(
            "sigil-top: watch: stopped after {entries_processed} entries (and \
             {entries_for_state} read for state only); cursor {} saved to {}",
            c.0,
            path.display()
        ),
        (Ok(()), None) => eprintln!(
            "sigil-top: watch: stopped after {entries_processed} entries (and \
             {entries_for_state} read for state only); the cursor in {} is unchanged",
            path.display()
        ),
        (Err(e), _) => eprintln!("sigil-top: warning: {e:#}"),
    }
    saved
}

/// The journal time of the entry a cursor names (its `t=` part: sd-journal writes
/// `s=…;i=…;b=…;m=…;t=<realtime, hex µs>;x=…`); `None` when it has none.
fn cursor_time(cursor: &Cursor) -> Option<Timestamp> {
    cursor
        .0
        .split(';')
        .find_map(|part| part.strip_prefix("t="))
        .and_then(|hex| u64::from_str_radix(hex, 16).ok())
        .map(Timestamp)
}

/// A start at the end reads the model's look-back (`[window] lookback`) before `end`,
/// the journal's last entry, for state only: the tunnel's connections, the origin's state
/// and requests in flight are known from the start, and nothing from before is counted or
/// opens an incident (`Settings::count_from`). The start becomes a time: entries after
/// `end`'s time count. With no look-back configured, the start stays a position.
///
/// A resume after a saved cursor does not do this: the model counts by time, and an
/// entry written after the cursor with an earlier time (another host's clock in a
/// `systemd-journal-remote` directory, a clock stepped back) would be read for state
/// only, so an alert could be lost. It starts after the cursor by position, and goes on
/// with its open incidents from the incidents file (see `docs/operate.md`). Returns
/// whether a look-back is read.
fn read_lookback(config: &mut Config, end: Timestamp) -> bool {
    let lookback_us = config.model.lookback_us;
    if lookback_us == 0 {
        return false;
    }
    config.model.count_from = Some(Timestamp(end.0.saturating_add(1)));
    config.read_from = Some(Timestamp(end.0.saturating_sub(lookback_us)));
    config.start = StartAt::Head;
    true
}

/// Where the watch started, for the operator.
fn start_words(config: &Config) -> String {
    match (&config.start, config.since, config.backlog_entries) {
        (StartAt::AfterCursor(_), _, _) => "after the saved cursor".to_owned(),
        (StartAt::End, _, _) => {
            "the end of the journal (earlier incidents are not alerted; --since replays them)"
                .to_owned()
        }
        (StartAt::Head, Some(since), _) => format!("--since {}", since.to_rfc3339()),
        (StartAt::Head, None, Some(n)) => format!("the last {n} entries"),
        (StartAt::Head, None, None) => "the start of the input".to_owned(),
    }
}

/// The next scrape waiting, or never when `--metrics` is off.
async fn next_scrape(
    scrapes: &mut Option<tokio::sync::mpsc::Receiver<metrics::Scrape>>,
) -> Option<metrics::Scrape> {
    match scrapes {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

fn watch_figures(announcer: &Announcer, hooks: &HookStats) -> view::metrics::WatchFigures {
    let load = |a: &std::sync::atomic::AtomicU64| a.load(Ordering::Relaxed);
    view::metrics::WatchFigures {
        opened_by_kind: announcer.opened_by_kind.clone(),
        open_incidents: u64::try_from(announcer.open_count()).unwrap_or(u64::MAX),
        hooks: [
            ("ok", load(&hooks.succeeded)),
            ("failed", load(&hooks.failed)),
            ("timeout", load(&hooks.timed_out)),
            ("not_started", load(&hooks.not_started)),
            ("dropped", load(&hooks.dropped)),
        ]
        .into_iter()
        .collect(),
    }
}

/// Where announcements go: standard output in the chosen format.
struct Output<'a> {
    format: WatchFormat,
    stdout: &'a std::io::Stdout,
}

impl Output<'_> {
    /// Prints the announcements and hands each to the hooks.
    fn print(
        &mut self,
        announcements: &[Announcement],
        mut hooks: Option<&mut Hooks>,
    ) -> anyhow::Result<()> {
        if announcements.is_empty() {
            return Ok(());
        }
        let mut out = self.stdout.lock();
        for a in announcements {
            match self.format {
                WatchFormat::Json => writeln!(out, "{}", a.json),
                WatchFormat::Text => writeln!(out, "{}", a.text),
            }
            .context("writing to standard output")?;
            if let Some(h) = hooks.as_deref_mut() {
                h.submit(a);
            }
        }
        out.flush().context("writing to standard output")
    }
}

fn announce_changes(
    model: &mut Model,
    announcer: &mut Announcer,
    out: &mut Output<'_>,
    hooks: Option<&mut Hooks>,
) -> anyhow::Result<()> {
    let changes = model.detector.take_changes();
    if changes.is_empty() {
        return Ok(());
    }
    let announcements: Vec<Announcement> = changes
        .iter()
        .filter_map(|change| {
            let incident = model.detector.incident(change.incident)?;
            announcer.announce(change, incident)
        })
        .collect();
    out.print(&announcements, hooks)
}
