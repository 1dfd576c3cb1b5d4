//! The live screen's loop: one task owns the [`Model`] and the [`UiState`], and every
//! producer talks to it through a channel (`STYLE.md` §1.5, §2.8).
//!
//! ```text
//! signals (TERM, HUP, INT, TSTP, CONT) ─┐
//! terminal (EventStream) ───────────────┤  select! { biased; signals, terminal, frame timer,
//! frame timer (if dirty) ───────────────┼─▶          tick, pending entries, batch }
//! 1 s tick ─────────────────────────────┤  keys → Action → UiState::update → Command
//! inputs (bounded channel) ─────────────┘  entries → Parser → Model::apply (≤ 512, ≤ 3 ms a turn)
//! ```
//!
//! Owns: the order of that select (signals and keys first, so they never wait behind a
//! burst of entries), the redraw policy, job control, carrying out [`Command`]s (a
//! snapshot, `e`, is written on tokio's blocking pool; its result is one more arm of the
//! select, shown in the status line; `y` writes OSC 52 and `m` switches mouse capture
//! through `view::tui`; `:` before the start opens the inputs again from that time into a
//! fresh model), and
//! leaving: `q`, SIGTERM, SIGHUP and SIGINT end the loop normally so the terminal guard
//! restores the terminal; the loop never calls `process::exit`. When the input ends the
//! screen stays up (history stays browsable; the demo shows "replay finished").
//!
//! Bounded turns: a batch is taken from the channel only when the previous one is used
//! up, and at most [`ENTRIES_PER_TURN`] entries or [`TURN_BUDGET`] of work go per turn
//! (the rest wait in the loop's hand for the next turns). So a key waits for at most one
//! turn's work (a few ms), and the frame timer gets its turn whenever it is due, however
//! fast batches come: under a flood the screen is still drawn at the frame cap.
//!
//! Redraws: only when something changed, at most `frames_per_sec` (nothing happens
//! between ticks when nothing changes), except that a key or mouse event draws at once:
//! a person's input is rare next to a flood's batches, and a keypress should show within
//! one frame. Terminal resizes are coalesced by the frame cap: a storm of `SIGWINCH`es
//! updates the size per event (cheap) and draws once per frame, at the last size.
//!
//! Falling behind (issue 8): entries are never dropped; a reader that is ahead waits on
//! the bounded channel. The header then says how far behind the screen is
//! ([`UiState::observe_lag`]: wall clock minus the newest applied entry's time, only
//! while entries wait) and about how many entries wait. That count is an estimate kept
//! without touching the sources: the entries still in the loop's hand, plus the messages
//! in the channel (`Receiver::len`) times the size of the last batch received (under a
//! flood batches are full, so this is close; the batch the reader is filling is not
//! counted). An exact count would need every source to share a counter with the loop.
//!
//! Job control: in raw mode Ctrl-Z is a key ([`Command::Suspend`]) and SIGTSTP a signal;
//! both restore the terminal and stop the process with SIGSTOP. When it is continued
//! (`fg`, SIGCONT) the loop takes the terminal back and repaints every cell; SIGCONT alone
//! (after an outside `kill -STOP`) does the same.
//!
//! Does not own drawing (`view::tui`) or reading (`source`, through `app`'s [`Inputs`]).

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use anyhow::Context;
use crossterm::event::{Event as TermEvent, EventStream};
use futures_util::StreamExt;
use tokio::signal::unix::{signal, SignalKind};
use tokio::time::MissedTickBehavior;

use crate::app::{self, Inputs};
use crate::cli::ThemeName;
use crate::config::Config;
use crate::model::detect::IncidentId;
use crate::model::Model;
use crate::parse::Parser;
use crate::source::{InputSpec, RawEntry, SourceMsg, Timestamp};
use crate::view::tui::action::{action_for_key, action_for_mouse, Action};
use crate::view::tui::render::render;
use crate::view::tui::state::{Command, Feed, InputState, UiOptions, UiState};
use crate::view::tui::theme::{Theme, ThemeKind};
use crate::view::tui::{self as tui, TerminalGuard};

/// How often the clock, the rolling windows and the live journal's expiries move on.
const TICK: Duration = Duration::from_secs(1);

/// Entries parsed and applied per loop turn at most…
const ENTRIES_PER_TURN: usize = 512;
/// …and for at most about this long: an entry's cost depends on what the model holds
/// (under a flood of origin-only requests the correlator's per-process queues grow and
/// an entry can take 100 µs), so a count alone does not bound a turn's time.
const TURN_BUDGET: Duration = Duration::from_millis(3);
/// Entries applied between two looks at the clock.
const ENTRIES_PER_CLOCK_CHECK: usize = 32;

fn theme_kind(name: ThemeName) -> ThemeKind {
    match name {
        ThemeName::Dark => ThemeKind::Dark,
        ThemeName::Light => ThemeKind::Light,
        ThemeName::Mono => ThemeKind::Mono,
    }
}

/// Runs the live screen until the user quits or a signal ends it.
pub(crate) async fn run(config: &Config) -> anyhow::Result<()> {
    if !std::io::stdout().is_terminal() {
        anyhow::bail!(
            "the live screen needs a terminal: for headless use try `sigil-top report` (or `sigil-top demo --format text`)"
        );
    }
    let (inputs, feed) = match (config.inputs.as_slice(), config.screen.replay) {
        ([InputSpec::Demo], Some(pace)) => (
            app::open_paced_demo(config, pace),
            Feed::Replay(pace.label()),
        ),
        ([InputSpec::TextFile(path)], Some(pace)) => (
            app::open_paced_replay(config, path, pace)?,
            Feed::Replay(pace.label()),
        ),
        _ => (
            app::open_inputs(config)?,
            if config.follow {
                Feed::Live
            } else {
                Feed::History
            },
        ),
    };
    let ui = UiState::new(UiOptions {
        theme: Theme::new(theme_kind(config.screen.theme)),
        inputs: inputs.names().to_vec(),
        units: config.units.units.clone(),
        feed: feed.clone(),
        // `--utc`: the screen's times in UTC, as journalctl's.
        utc_offset_s: if config.output.utc {
            0
        } else {
            i64::from(chrono::Local::now().offset().local_minus_utc())
        },
        // `:` reads times in the system's zone (its DST rules included), or UTC.
        time_zone: if config.output.utc {
            jiff::tz::TimeZone::UTC
        } else {
            jiff::tz::TimeZone::system()
        },
        reads_since: config.since,
        lookback_us: config.screen.lookback_us,
        can_read_earlier: !matches!(feed, Feed::Replay(_))
            && config.inputs.iter().all(|i| {
                matches!(
                    i,
                    InputSpec::System | InputSpec::Directory(_) | InputSpec::Files(_)
                )
            }),
    });
    let mut signals = Signals::new().context("listening for signals")?;
    let (guard, terminal) = TerminalGuard::enter().context("setting up the terminal")?;
    let result = Loop {
        model: Model::new(config.model.clone()),
        parser: Parser::new(),
        ui,
        inputs,
        is_following: config.follow,
        pending: Vec::new().into_iter(),
        last_batch_entries: 0,
        frame_gap: Duration::from_secs(1) / config.screen.frames_per_sec.max(1),
        config: config.clone(),
        snapshot: None,
    }
    .run(terminal, &mut signals)
    .await;
    drop(guard);
    result
}

/// The signals the screen handles: three end it normally, two are job control.
struct Signals {
    term: tokio::signal::unix::Signal,
    hup: tokio::signal::unix::Signal,
    int: tokio::signal::unix::Signal,
    /// `kill -TSTP`: suspend as Ctrl-Z does (with a handler installed the default stop
    /// does not happen, so the loop stops the process itself after restoring).
    tstp: tokio::signal::unix::Signal,
    /// Continued: take the terminal back.
    cont: tokio::signal::unix::Signal,
}

impl Signals {
    fn new() -> std::io::Result<Signals> {
        Ok(Signals {
            term: signal(SignalKind::terminate())?,
            hup: signal(SignalKind::hangup())?,
            int: signal(SignalKind::interrupt())?,
            tstp: signal(SignalKind::from_raw(signal_hook::consts::SIGTSTP))?,
            cont: signal(SignalKind::from_raw(signal_hook::consts::SIGCONT))?,
        })
    }
}

struct Loop {
    model: Model,
    parser: Parser,
    ui: UiState,
    inputs: Inputs,
    /// Reading the live journal: the wall clock drives expiry and the header's time.
    is_following: bool,
    /// Entries received but not yet applied (at most [`ENTRIES_PER_TURN`] go per turn).
    pending: std::vec::IntoIter<RawEntry>,
    /// Entries in the last batch received, for the queue estimate.
    last_batch_entries: usize,
    frame_gap: Duration,
    /// For snapshots (`e`): limits, redaction patterns.
    config: Config,
    /// A snapshot being written on a blocking thread (one at a time).
    snapshot: Option<tokio::task::JoinHandle<anyhow::Result<std::path::PathBuf>>>,
}

impl Loop {
    async fn run(
        mut self,
        mut terminal: crate::view::tui::Term,
        signals: &mut Signals,
    ) -> anyhow::Result<()> {
        let size = terminal.size().context("reading the terminal size")?;
        self.ui
            .update(Action::Resize(size.width, size.height), &self.model);
        let mut events = EventStream::new();
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut last_draw: Option<Instant> = None;
        let mut is_dirty = true;
        // A key was pressed (or the terminal taken back): draw now, not at the frame cap.
        let mut is_urgent = false;
        let mut is_reading = true;
        loop {
            is_dirty |= self.observe_lag();
            let now = Instant::now();
            let draw_at = last_draw.map_or(now, |t| t + self.frame_gap);
            if is_urgent || (is_dirty && now >= draw_at) {
                let has_more = self.ui.sync(&self.model);
                terminal
                    .draw(|frame| render(frame, &self.model, &self.ui))
                    .context("drawing the screen")?;
                last_draw = Some(now);
                is_dirty = has_more;
                is_urgent = false;
            }
            let draw_at = last_draw.map_or(now, |t| t + self.frame_gap);
            tokio::select! {
                biased;
                _ = signals.term.recv() => break,
                _ = signals.hup.recv() => break,
                _ = signals.int.recv() => break,
                _ = signals.tstp.recv() => {
                    self.suspend(&mut terminal)?;
                    is_urgent = true;
                }
                _ = signals.cont.recv() => {
                    self.take_terminal_back(&mut terminal)?;
                    is_urgent = true;
                }
                event = events.next() => match event {
                    Some(Ok(event)) => {
                        if let Some(action) = action_of(&event, self.ui.editing.is_some()) {
                            is_dirty = true;
                            // Resizes wait for the frame cap (a storm draws once a frame).
                            is_urgent = !matches!(action, Action::Resize(..));
                            match self.ui.update(action, &self.model) {
                                Some(Command::Quit) => break,
                                Some(Command::ReadFrom(from)) => {
                                    self.read_from(from)?;
                                    is_reading = true;
                                }
                                Some(command) => self.carry_out(command, &mut terminal)?,
                                None => {}
                            }
                        }
                    }
                    Some(Err(e)) => return Err(e).context("reading the terminal"),
                    // The terminal is gone: nothing left to show.
                    None => break,
                },
                done = async { self.snapshot.as_mut().expect("guarded by is_some").await },
                    if self.snapshot.is_some() =>
                {
                    self.on_snapshot_done(done);
                    is_urgent = true;
                }
                () = tokio::time::sleep_until(draw_at.into()), if is_dirty => {}
                _ = tick.tick() => {
                    // Redraw only if the clock shown or the model moved (an idle screen over
                    // finished input does nothing but wake once a second).
                    let before = (self.ui.now, self.model.entries.total);
                    self.on_tick();
                    is_dirty |= before != (self.ui.now, self.model.entries.total);
                }
                () = std::future::ready(()), if self.pending.len() > 0 => {
                    self.apply_pending();
                    is_dirty = true;
                }
                msg = self.inputs.recv(), if is_reading && self.pending.len() == 0 => {
                    is_dirty = true;
                    match msg {
                        Some(msg) => self.on_source(msg),
                        None => is_reading = false,
                    }
                }
            }
        }
        Ok(())
    }

    /// Carries out a command of the screen's that needs the terminal or a thread (the
    /// loop itself handles quitting and reading again).
    fn carry_out(
        &mut self,
        command: Command,
        terminal: &mut crate::view::tui::Term,
    ) -> anyhow::Result<()> {
        match command {
            Command::Suspend => self.suspend(terminal)?,
            Command::Snapshot(incident) => self.start_snapshot(incident),
            Command::Copy(text) => {
                tui::copy_to_clipboard(terminal, &text)
                    .context("writing the clipboard sequence")?;
            }
            Command::SetMouseCapture(is_on) => {
                tui::set_mouse_capture(terminal, is_on).context("switching mouse capture")?;
            }
            Command::Quit | Command::ReadFrom(_) => {}
        }
        Ok(())
    }

    /// The snapshot thread is done: its path or its error in the status line.
    fn on_snapshot_done(
        &mut self,
        done: Result<anyhow::Result<std::path::PathBuf>, tokio::task::JoinError>,
    ) {
        self.snapshot = None;
        let text = match done {
            Ok(Ok(path)) => format!("snapshot written to {}", path.display()),
            Ok(Err(e)) => format!("snapshot failed: {e:#}"),
            Err(e) => format!("snapshot failed: {e}"),
        };
        self.ui.notify(crate::text::sanitize(&text).into_owned());
    }

    /// `e`: the window's entries are copied out here; the snapshot is built and written on
    /// a blocking thread, and its result (path or error) shown in the status line when it
    /// is done. The screen keeps drawing and reading meanwhile.
    fn start_snapshot(&mut self, incident: Option<IncidentId>) {
        if self.snapshot.is_some() {
            self.ui.notify("a snapshot is being written already");
            return;
        }
        match app::snapshot_live(&self.model, incident, &self.config) {
            Ok(job) => {
                self.snapshot = Some(tokio::task::spawn_blocking(move || job.write()));
                self.ui.notify("writing snapshot…");
            }
            Err(e) => {
                let text = format!("snapshot failed: {e:#}");
                self.ui.notify(crate::text::sanitize(&text).into_owned());
            }
        }
    }

    /// `:` to a time before where reading started: the inputs are opened again from
    /// `from` and everything is read anew into a fresh model (the old readers stop at
    /// their next send, their channel being gone). The jump is made when they catch up.
    fn read_from(&mut self, from: Timestamp) -> anyhow::Result<()> {
        self.config.start_window_at(from);
        self.config.screen.lookback_us = None;
        let inputs = app::open_inputs(&self.config)?;
        self.inputs = inputs;
        self.model = Model::new(self.config.model.clone());
        self.parser = Parser::new();
        self.pending = Vec::new().into_iter();
        self.last_batch_entries = 0;
        self.ui.restart_reading(from);
        Ok(())
    }

    /// Gives the terminal back to the shell and stops the process; returns once it is
    /// continued, with the terminal taken back.
    fn suspend(&mut self, terminal: &mut crate::view::tui::Term) -> anyhow::Result<()> {
        tui::restore();
        signal_hook::low_level::raise(signal_hook::consts::SIGSTOP)
            .context("stopping the process")?;
        // Continued. SIGCONT also arrives as a signal message and takes the terminal back
        // once more, which is harmless (it is idempotent).
        self.take_terminal_back(terminal)
    }

    /// After SIGCONT: raw mode, alternate screen, a full repaint, and the size as it is
    /// now (the terminal may have been resized while another program had it, and then no
    /// SIGWINCH reached this process).
    fn take_terminal_back(&mut self, terminal: &mut crate::view::tui::Term) -> anyhow::Result<()> {
        tui::reenter(terminal).context("taking the terminal back")?;
        let size = terminal.size().context("reading the terminal size")?;
        self.ui
            .update(Action::Resize(size.width, size.height), &self.model);
        Ok(())
    }

    /// Updates the "behind" indicator; true when it changed (the screen must be redrawn).
    fn observe_lag(&mut self) -> bool {
        let before = self.ui.behind;
        let queued = self.pending.len() + self.inputs.queued_messages() * self.last_batch_entries;
        let newest = self.model.window.map(|(_, b)| b);
        self.ui.observe_lag(
            Timestamp::now(),
            newest,
            u64::try_from(queued).unwrap_or(u64::MAX),
        );
        self.ui.behind != before
    }

    /// Applies up to [`ENTRIES_PER_TURN`] of the entries in hand, stopping early once
    /// [`TURN_BUDGET`] is spent.
    fn apply_pending(&mut self) {
        let start = Instant::now();
        for (i, entry) in self.pending.by_ref().take(ENTRIES_PER_TURN).enumerate() {
            self.model.apply(self.parser.parse(entry));
            if (i + 1) % ENTRIES_PER_CLOCK_CHECK == 0 && start.elapsed() >= TURN_BUDGET {
                break;
            }
        }
    }

    /// The time the header shows: the wall clock when following the live journal, else
    /// the newest entry's (a replay or recorded history has its own clock).
    fn clock(&self) -> Timestamp {
        let newest = self.model.window.map_or(Timestamp(0), |(_, b)| b);
        if self.is_following {
            Timestamp::now().max(newest)
        } else {
            newest
        }
    }

    fn on_tick(&mut self) {
        if self.is_following && self.ui.input == InputState::Live {
            self.model.tick(Timestamp::now());
        }
        let now = self.clock();
        self.ui.update(Action::Tick(now), &self.model);
    }

    fn on_source(&mut self, msg: SourceMsg) {
        match msg {
            SourceMsg::Batch(batch) => {
                self.last_batch_entries = batch.len();
                self.pending = batch.into_iter();
                self.apply_pending();
            }
            SourceMsg::CaughtUp => {
                if self.ui.input == InputState::Reading {
                    self.ui.input = InputState::Live;
                }
                self.ui.refresh(&self.model);
                self.ui.on_caught_up(&self.model);
            }
            SourceMsg::Warning(w) => {
                self.ui.warnings += 1;
                self.ui.notify(format!("input warning: {w}"));
            }
            SourceMsg::Error(e) => {
                self.ui.input = InputState::Failed(format!("{e:#}"));
            }
            SourceMsg::Ended => {
                // Everything still open is settled, as `report` does at the end.
                self.model.finish();
                if !matches!(self.ui.input, InputState::Failed(_)) {
                    self.ui.input = InputState::Ended;
                }
                let now = self.clock();
                self.ui.update(Action::Tick(now), &self.model);
                self.ui.on_caught_up(&self.model);
            }
        }
    }
}

/// The action a terminal event asks for.
fn action_of(event: &TermEvent, is_editing: bool) -> Option<Action> {
    match event {
        TermEvent::Key(key) => action_for_key(*key, is_editing),
        TermEvent::Mouse(mouse) => action_for_mouse(*mouse),
        TermEvent::Resize(w, h) => Some(Action::Resize(*w, *h)),
        _ => None,
    }
}
