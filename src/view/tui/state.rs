//! UI state and its one transition function: [`UiState::update`] turns an [`Action`] into
//! changes of UI state and, at most, a [`Command`] for the loop to carry out.
//!
//! Owns everything the screen remembers that the model does not: focus, the overlay on
//! top ([`Overlay`]), filters ([`Filter`]), the search and the prompt being typed
//! ([`Prompt`]: `/` search, `&` filter, `:` time), selections and scroll positions, pause,
//! the latency window, each unit's last line, and two kinds of derived data kept so a
//! frame never walks the model:
//! - filtered indexes ([`Index`]) of log records (by `seq`) and traces (by ordinal),
//!   extended as records arrive ([`UiState::sync`], bounded work per call) and rebuilt
//!   only when a filter changes;
//! - figures that cost more than a frame should ([`Derived`]: merged window histograms,
//!   percentiles per route), refreshed on the 1 s tick, on `w`, and when input ends.
//!
//! This file keeps [`UiState`] and the dispatch of actions; the parts it is made of live
//! beside it, none importing this file or each other: `filter` (what the filters and
//! the search keep: [`Filter`], [`TextFilter`], [`StatusFilter`]), `index` (the lists,
//! their selection and scrolling: [`Index`], [`ListPos`](index::ListPos), [`Find`]) and `figures` (the
//! derived figures: [`Derived`], [`LatencyWindow`]). Their items are re-exported here.
//!
//! Does no I/O and never changes the model. Pausing freezes the indexes and [`Derived`]
//! (ingest continues; `p` again catches up).

use crate::model::detect::IncidentId;
use crate::model::stats::BUCKET_US;
use crate::model::Model;
use crate::parse::Level;
use crate::source::{Timestamp, Unit};
use crate::text;

use super::action::Action;
pub use super::action::PromptKind;
use super::layout::{self, MainList, Shape, Viewport};
use super::theme::Theme;

mod figures;
mod filter;
mod index;

pub(crate) use figures::{Derived, KeyRow, LatencyWindow, SparkPoint};
pub(crate) use filter::{
    outcome_label, record_matches, trace_matches, Filter, StatusFilter, TextFilter,
};
use index::Found;
pub(crate) use index::{visible, Find, Index};

/// What the loop must do for the UI (the only way `update` reaches the outside).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Quit,
    /// Restore the terminal and stop the process (Ctrl-Z); the loop takes the terminal
    /// back when it is continued.
    Suspend,
    /// Write an incident snapshot: the selected incident, or `None` for "the current state".
    Snapshot(Option<IncidentId>),
    /// Put this text on the clipboard (OSC 52, written by the loop). Already display
    /// text: sanitized and redacted as the screen shows it.
    Copy(String),
    /// Turn the terminal's mouse capture on (`true`) or off.
    SetMouseCapture(bool),
    /// Read the inputs again from this time (`:` to before where reading started).
    ReadFrom(Timestamp),
}

/// The panels that take focus, in `Tab` order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Pane {
    Log,
    Requests,
    Incidents,
}

/// What is drawn on top of the panels (at most one thing).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Overlay {
    None,
    /// The keys and definitions, scrolled by this many rows.
    Help {
        scroll: u16,
    },
    /// One log record in full, with its continuation lines. A message longer than
    /// [`PAGE_BYTES`] is shown one page at a time (`page`, from 0; ← → move by a page).
    Record {
        seq: u64,
        scroll: u16,
        page: usize,
    },
    /// An incident and the log records its evidence cursors point to (`missing`: cursors
    /// whose records have left the log ring).
    Incident {
        id: IncidentId,
        evidence: Vec<u64>,
        missing: usize,
        scroll: u16,
    },
    /// A trace and both services' records of it, by its cursors.
    Trace {
        ordinal: u64,
        origin: Vec<u64>,
        tunnel: Vec<u64>,
        other: Vec<u64>,
        missing: usize,
        scroll: u16,
    },
}

/// The record view shows a message in pages of about this many bytes (cut between
/// words where it can): only the page on screen is escaped, redacted and wrapped, so
/// opening, scrolling and paging a 50 MB message cost what a short one does (issue 17).
pub(crate) const PAGE_BYTES: usize = 4096;

/// What has been read, as the header says it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum InputState {
    /// Reading the history (the journal before now, a file, the demo so far).
    Reading,
    /// History read; following new entries.
    Live,
    /// Every input has ended: all there is is on screen.
    Ended,
    /// An input stopped on this error.
    Failed(String),
}

/// Where the entries come from, for the header's state label.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Feed {
    /// The running journal, followed.
    Live,
    /// Recorded entries (`-D`, `--file`, text), read once.
    History,
    /// The demo replayed at this speed (`20x`, `max`).
    Replay(String),
}

/// What the screen was started with.
#[derive(Debug, Clone)]
pub struct UiOptions {
    pub theme: Theme,
    /// The inputs, as `Inputs::names` describes them.
    pub inputs: Vec<String>,
    /// The units watched, for the unit filter's cycle.
    pub units: Vec<Unit>,
    pub feed: Feed,
    /// Local time's offset from UTC in seconds (fixed at start; 0 in tests), for the
    /// times the screen shows.
    pub utc_offset_s: i64,
    /// The zone `:` reads times in: the system's (with its DST rules, so a jump across a
    /// change of offset lands on the hour meant), or UTC with `--utc` (and in tests).
    pub time_zone: jiff::tz::TimeZone,
    /// Where reading started (`--since`, or the look-back), for the header; `None`: the
    /// inputs' beginning.
    pub reads_since: Option<Timestamp>,
    /// The bounded look-back (µs) that set `reads_since`, when it was the default.
    pub lookback_us: Option<u64>,
    /// The inputs can be read again from an earlier time (journals; not pipes or replays).
    pub can_read_earlier: bool,
}

/// What pausing froze: the ends of the lists as they were.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Frozen {
    pub(crate) log_end: u64,
    pub(crate) trace_end: u64,
    pub(crate) incidents: usize,
}

/// A prompt being typed after `/`, `&` or `:`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Prompt {
    pub(crate) kind: PromptKind,
    pub(crate) buffer: String,
    /// The search or filter before the prompt, restored by `Esc`.
    pub(crate) before: Option<String>,
}

/// How far the screen is behind the live journal, as the header shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Behind {
    /// Wall clock minus the newest applied entry's journal time, in µs.
    pub(crate) lag_us: u64,
    /// Entries read but not yet applied (an estimate: see the live loop, `app::live`).
    pub(crate) queued_entries: u64,
}

/// The indicator appears when the lag reaches this…
pub(crate) const BEHIND_SHOW_US: u64 = 2_000_000;
/// …and goes when it falls under this (hysteresis: a lag hovering around one threshold
/// does not make it flicker).
pub(crate) const BEHIND_HIDE_US: u64 = 1_000_000;
/// Queued work seen this recently still counts as "entries are waiting": between two
/// batches the queue can be empty for a moment while the reader is busy reading.
pub(crate) const BEHIND_QUEUE_GRACE_US: u64 = 1_000_000;

/// Records examined per [`UiState::sync`] call and list, so one frame's work is bounded
/// (a regex over 8k long cloudflared lines takes a few ms).
const SYNC_BUDGET: u64 = 8_192;

/// Everything the screen remembers.
#[derive(Debug, Clone)]
pub struct UiState {
    pub(crate) options: UiOptions,
    pub(crate) focus: Pane,
    /// The list shown in the main area when only one fits (compact layout).
    pub(crate) main_list: Pane,
    pub(crate) overlay: Overlay,
    pub(crate) editing: Option<Prompt>,
    pub(crate) filter: Filter,
    /// The `/` search: highlighted in the lists, `n`/`N` move between its matches.
    pub(crate) search: Option<TextFilter>,
    /// Whether the terminal's mouse capture is on (`m` toggles it).
    pub(crate) is_mouse_captured: bool,
    /// A `:` jump waiting for the inputs to be read again from earlier.
    pub(crate) pending_jump: Option<Timestamp>,
    pub(crate) paused: Option<Frozen>,
    pub(crate) window: LatencyWindow,
    pub(crate) log: Index,
    pub(crate) requests: Index,
    /// Selected incident id (`None`: the newest).
    pub(crate) incident: Option<IncidentId>,
    pub(crate) derived: Derived,
    /// What [`UiState::derived`] was computed from: entries, traces kept, window.
    derived_stamp: Option<(u64, u64, LatencyWindow, Option<u64>)>,
    /// The newest line read of each watched unit (as `options.units`), for "last line
    /// 2.0 h ago" while live.
    pub(crate) last_line_at: Vec<Option<Timestamp>>,
    /// The log `seq` up to which [`UiState::last_line_at`] has looked.
    last_line_seq: u64,
    pub(crate) input: InputState,
    /// One line for the hint bar (an export result, an input warning).
    pub(crate) notice: Option<String>,
    pub(crate) warnings: u64,
    /// The most tunnel connections seen up at once (the `4` of `tunnel 3/4`).
    pub(crate) tunnel_peak: usize,
    /// Header rows for per-host figures: 1 when the inputs hold several hosts, else 0
    /// (kept by [`UiState::sync`], so the layout follows the model).
    pub(crate) host_rows: u16,
    /// Terminal size in columns, rows.
    pub(crate) size: (u16, u16),
    pub(crate) viewport: Viewport,
    /// The time the header shows (wall clock when live, the newest entry's otherwise).
    pub(crate) now: Timestamp,
    /// Shown while following the live journal and falling behind it
    /// ([`UiState::observe_lag`]).
    pub(crate) behind: Option<Behind>,
    /// When entries were last seen waiting to be applied.
    queued_seen_at: Option<Timestamp>,
}

impl UiState {
    pub fn new(options: UiOptions) -> UiState {
        let mut ui = UiState {
            options,
            focus: Pane::Log,
            main_list: Pane::Log,
            overlay: Overlay::None,
            editing: None,
            filter: Filter::default(),
            search: None,
            is_mouse_captured: true,
            pending_jump: None,
            paused: None,
            window: LatencyWindow::FiveMinutes,
            log: Index::default(),
            requests: Index::default(),
            incident: None,
            derived: Derived::default(),
            derived_stamp: None,
            last_line_at: Vec::new(),
            last_line_seq: 0,
            input: InputState::Reading,
            notice: None,
            warnings: 0,
            tunnel_peak: 0,
            host_rows: 0,
            size: (80, 24),
            viewport: Viewport::default(),
            now: Timestamp(0),
            behind: None,
            queued_seen_at: None,
        };
        ui.relayout();
        ui
    }

    pub(crate) fn theme(&self) -> Theme {
        self.options.theme
    }

    /// Takes in what the model gained since the last call, and continues a rebuild after a
    /// filter change (bounded work; returns true when more is left, so the loop draws
    /// again soon). While paused nothing newer than the pause is taken in.
    pub fn sync(&mut self, model: &Model) -> bool {
        self.tunnel_peak = self.tunnel_peak.max(model.detector.state.registered.len());
        let host_rows = u16::from(model.entries.by_host.len() > 1);
        if host_rows != self.host_rows {
            self.host_rows = host_rows;
            self.relayout();
        }
        self.note_last_lines(model);
        let (log_end, trace_end) = self.ends(model);
        let more_log = self.sync_log(model, log_end);
        let more_traces = self.sync_requests(model, trace_end);
        more_log || more_traces
    }

    /// Moves [`UiState::last_line_at`] on over the records added since the last call
    /// (every record once; records that left the ring meanwhile were older anyway).
    fn note_last_lines(&mut self, model: &Model) {
        let units = &self.options.units;
        self.last_line_at.resize(units.len(), None);
        let end = model.log.next_seq();
        let start = self
            .last_line_seq
            .max(model.log.iter().next().map_or(end, |r| r.seq));
        for seq in start..end {
            let Some(rec) = model.log.get(seq) else {
                continue;
            };
            let e = &rec.event;
            let Some(i) = e
                .entry
                .unit
                .as_ref()
                .and_then(|u| units.iter().position(|x| x == u))
            else {
                continue;
            };
            let at = &mut self.last_line_at[i];
            *at = Some(at.map_or(e.entry.realtime, |t| t.max(e.entry.realtime)));
        }
        self.last_line_seq = end;
    }

    /// Where the lists end: the model's newest rows, or where they were at the pause.
    fn ends(&self, model: &Model) -> (u64, u64) {
        match self.paused {
            Some(f) => (f.log_end, f.trace_end),
            None => (model.log.next_seq(), Self::trace_end(model)),
        }
    }

    fn trace_end(model: &Model) -> u64 {
        model.correlator.first_recent_ordinal() + model.correlator.recent.len() as u64
    }

    fn sync_log(&mut self, model: &Model, end: u64) -> bool {
        let first = model.log.iter().next().map_or(end, |r| r.seq);
        let filter = &self.filter;
        self.log.advance(first, end, SYNC_BUDGET, |seq| {
            model.log.get(seq).is_some_and(|r| filter.keeps_record(r))
        })
    }

    fn sync_requests(&mut self, model: &Model, end: u64) -> bool {
        let first = model.correlator.first_recent_ordinal();
        let filter = &self.filter;
        self.requests.advance(first, end, SYNC_BUDGET, |n| {
            model
                .correlator
                .recent_by_ordinal(n)
                .is_some_and(|t| filter.keeps_trace(t, model))
        })
    }

    /// Re-filters both lists (a filter changed): newest rows first, one budget now and
    /// the rest in later [`UiState::sync`] calls; up to the frozen ends while paused.
    fn refilter(&mut self, model: &Model) {
        let (log_end, trace_end) = self.ends(model);
        self.log.reset(log_end);
        self.requests.reset(trace_end);
        self.sync(model);
    }

    /// Recomputes [`Derived`] (not while paused: the view is frozen), unless nothing it
    /// depends on changed since the last time (so an idle screen does no work per tick).
    pub(crate) fn refresh(&mut self, model: &Model) {
        let clock = self.window_clock();
        let stamp = (
            model.entries.total,
            Self::trace_end(model),
            self.window,
            clock.map(|t| t.0 / BUCKET_US),
        );
        if self.paused.is_none() && self.derived_stamp != Some(stamp) {
            self.derived = Derived::compute(model, self.window, clock);
            self.derived_stamp = Some(stamp);
        }
    }

    /// Whether the screen is following the live journal now (caught up, not a replay):
    /// then "now" is the wall clock and windows end there.
    pub(crate) fn is_live(&self) -> bool {
        self.options.feed == Feed::Live && self.input == InputState::Live
    }

    /// Where the windows end: the clock while live, else the newest entry (`None`).
    fn window_clock(&self) -> Option<Timestamp> {
        (self.is_live() && self.now.0 > 0).then_some(self.now)
    }

    /// How long ago each watched unit wrote its last line (in the order of
    /// `options.units`; `None` when none was read), against the screen's clock.
    pub(crate) fn unit_silences(&self) -> Vec<(&Unit, Option<u64>)> {
        self.options
            .units
            .iter()
            .zip(&self.last_line_at)
            .map(|(u, at)| (u, at.map(|t| self.now.saturating_since_us(t))))
            .collect()
    }

    /// Decides whether the screen is behind the live journal: `now` is the wall clock,
    /// `newest` the newest applied entry's time, `queued_entries` what waits to be applied.
    ///
    /// Behind means entries are waiting (now, or within [`BEHIND_QUEUE_GRACE_US`]) *and*
    /// the newest applied one is old. Either alone is normal: a quiet journal has an old
    /// newest entry and nothing queued; a busy one that is kept up with has a queue but a
    /// fresh newest entry. The indicator appears at [`BEHIND_SHOW_US`] and goes under
    /// [`BEHIND_HIDE_US`] or when nothing has waited for the grace period. Only while
    /// following the live journal: history and replays carry their own clocks.
    pub(crate) fn observe_lag(
        &mut self,
        now: Timestamp,
        newest: Option<Timestamp>,
        queued_entries: u64,
    ) {
        if self.options.feed != Feed::Live || self.input != InputState::Live {
            self.behind = None;
            self.queued_seen_at = None;
            return;
        }
        if queued_entries > 0 {
            self.queued_seen_at = Some(now);
        }
        let is_waiting = self
            .queued_seen_at
            .is_some_and(|t| now.saturating_since_us(t) <= BEHIND_QUEUE_GRACE_US);
        let lag_us = newest.map_or(0, |n| now.saturating_since_us(n));
        let threshold = if self.behind.is_some() {
            BEHIND_HIDE_US
        } else {
            BEHIND_SHOW_US
        };
        self.behind = (is_waiting && lag_us >= threshold).then_some(Behind {
            lag_us,
            queued_entries,
        });
    }

    /// Shows `text` in the hint bar until the next key.
    pub(crate) fn notify(&mut self, text: impl Into<String>) {
        self.notice = Some(text.into());
    }

    /// Incidents as listed: newest first, up to the frozen count while paused.
    pub(crate) fn incidents<'m>(
        &self,
        model: &'m Model,
    ) -> impl Iterator<Item = &'m crate::model::detect::Incident> {
        let n = self
            .paused
            .map_or(model.detector.incidents.len(), |f| f.incidents)
            .min(model.detector.incidents.len());
        model.detector.incidents[..n].iter().rev()
    }

    /// Position of the selected incident in [`UiState::incidents`].
    pub(crate) fn incident_position(&self, model: &Model) -> usize {
        self.incident
            .and_then(|id| self.incidents(model).position(|i| i.id == id))
            .unwrap_or(0)
    }

    /// What the layout depends on besides the terminal's size.
    pub(crate) fn shape(&self) -> Shape {
        Shape {
            host_rows: self.host_rows,
            main_list: if self.main_list == Pane::Requests {
                MainList::Requests
            } else {
                MainList::Log
            },
        }
    }

    fn relayout(&mut self) {
        self.viewport = layout::viewport(self.size.0, self.size.1, self.shape());
    }

    fn rows_of(&self, pane: Pane) -> usize {
        match pane {
            Pane::Log => self.viewport.log,
            Pane::Requests => self.viewport.requests,
            Pane::Incidents => self.viewport.incidents,
        }
    }

    /// Applies one action. Returns what the loop must do, if anything.
    #[allow(
        clippy::too_many_lines,
        reason = "the TEA dispatch: one short arm per `Action`, read as one table"
    )]
    pub fn update(&mut self, action: Action, model: &Model) -> Option<Command> {
        if !matches!(action, Action::Tick(_) | Action::Resize(..)) {
            self.notice = None;
        }
        if let Overlay::Help { scroll } = &mut self.overlay {
            // The help takes every key: it scrolls, `?`, Esc and `q` close it, Ctrl-C
            // and Ctrl-Z keep their meaning, and the clock and resizes go on.
            let rows = i64::try_from(self.viewport.overlay.max(1)).unwrap_or(1);
            let delta = match action {
                Action::Up | Action::ScrollUp(_) => -1,
                Action::Down | Action::ScrollDown(_) => 1,
                Action::PageUp => -(rows - 1).max(1),
                Action::PageDown => (rows - 1).max(1),
                Action::Top => i64::from(i16::MIN),
                Action::Bottom => i64::from(i16::MAX),
                Action::Help | Action::Back | Action::Quit => {
                    self.overlay = Overlay::None;
                    return None;
                }
                Action::Interrupt | Action::Suspend | Action::Tick(_) | Action::Resize(..) => 0,
                _ => return None,
            };
            if delta != 0 {
                let lines =
                    super::help_text::help_lines(self.viewport.overlay_cols, self.options.theme)
                        .len();
                let max = i64::try_from(lines.saturating_sub(self.viewport.overlay)).unwrap_or(0);
                *scroll = u16::try_from((i64::from(*scroll) + delta).clamp(0, max)).unwrap_or(0);
                return None;
            }
        }
        match action {
            Action::Quit | Action::Interrupt => return Some(Command::Quit),
            Action::Suspend => return Some(Command::Suspend),
            Action::Help => self.overlay = Overlay::Help { scroll: 0 },
            Action::Back => self.overlay = Overlay::None,
            Action::FocusNext | Action::FocusPrev if self.overlay == Overlay::None => {
                let order = [Pane::Log, Pane::Requests, Pane::Incidents];
                let i = order.iter().position(|&p| p == self.focus).unwrap_or(0);
                let step = if action == Action::FocusNext { 1 } else { 2 };
                self.focus = order[(i + step) % order.len()];
                if self.focus != Pane::Incidents {
                    self.main_list = self.focus;
                }
                self.relayout();
            }
            Action::FocusNext | Action::FocusPrev => {
                self.turn_page(action == Action::FocusNext, model);
            }
            Action::Up => self.scroll(-1, model),
            Action::Down => self.scroll(1, model),
            Action::ScrollUp(n) => self.scroll(-i64::from(n), model),
            Action::ScrollDown(n) => self.scroll(i64::from(n), model),
            Action::PageUp => self.scroll(-self.page(), model),
            Action::PageDown => self.scroll(self.page(), model),
            Action::Top | Action::Bottom => self.jump(action == Action::Top, model),
            Action::Open => self.open(model),
            Action::StartPrompt(kind) => {
                let before = match kind {
                    PromptKind::Search => self.search.as_ref().map(|t| t.pattern.clone()),
                    PromptKind::Filter => self.filter.text.as_ref().map(|t| t.pattern.clone()),
                    PromptKind::Jump => None,
                };
                self.editing = Some(Prompt {
                    kind,
                    buffer: before.clone().unwrap_or_default(),
                    before,
                });
            }
            Action::PromptInput(_) | Action::PromptBackspace => {
                if let Some(edit) = &mut self.editing {
                    if let Action::PromptInput(c) = action {
                        edit.buffer.push(c);
                    } else {
                        edit.buffer.pop();
                    }
                    let (kind, pattern) = (edit.kind, edit.buffer.clone());
                    self.set_pattern(kind, Some(&pattern), model);
                }
            }
            Action::PromptCommit => {
                if let Some(edit) = self.editing.take() {
                    match edit.kind {
                        PromptKind::Filter => {}
                        PromptKind::Search => self.find(Find::First, model),
                        PromptKind::Jump => return self.jump_to(&edit.buffer, model),
                    }
                }
            }
            Action::PromptCancel => {
                if let Some(edit) = self.editing.take() {
                    self.set_pattern(edit.kind, edit.before.as_deref(), model);
                }
            }
            Action::SearchNext => self.find(Find::Newer, model),
            Action::SearchPrev => self.find(Find::Older, model),
            Action::CycleHost => {
                let hosts: Vec<&str> = model.entries.by_host.keys().collect();
                if hosts.len() < 2 {
                    self.notify("the inputs hold one host: nothing to filter by host");
                } else {
                    self.filter.host = match &self.filter.host {
                        None => hosts.first().map(|h| (*h).to_owned()),
                        Some(h) => hosts
                            .iter()
                            .position(|x| x == h)
                            .and_then(|i| hosts.get(i + 1))
                            .map(|h| (*h).to_owned()),
                    };
                    self.refilter(model);
                }
            }
            Action::Copy | Action::CopyRequestId => {
                return self.copy(action == Action::CopyRequestId, model);
            }
            Action::ToggleMouse => {
                self.is_mouse_captured = !self.is_mouse_captured;
                self.notify(if self.is_mouse_captured {
                    "mouse capture on: the wheel scrolls (m turns it off)"
                } else {
                    "mouse capture off: the terminal selects and copies text (m turns it back on)"
                });
                return Some(Command::SetMouseCapture(self.is_mouse_captured));
            }
            Action::CycleUnit => {
                let units = &self.options.units;
                self.filter.unit = match &self.filter.unit {
                    None => units.first().cloned(),
                    Some(u) => units
                        .iter()
                        .position(|x| x == u)
                        .and_then(|i| units.get(i + 1))
                        .cloned(),
                };
                self.refilter(model);
            }
            Action::CycleLevel => {
                self.filter.min_level = match self.filter.min_level {
                    None => Some(Level::Debug),
                    Some(Level::Trace | Level::Debug) => Some(Level::Info),
                    Some(Level::Info | Level::Notice) => Some(Level::Warn),
                    Some(Level::Warn) => Some(Level::Error),
                    Some(Level::Error | Level::Critical) => None,
                };
                self.refilter(model);
            }
            Action::CycleStatus => {
                self.filter.status = self.filter.status.next();
                self.refilter(model);
            }
            Action::TogglePause => {
                if self.paused.take().is_none() {
                    self.paused = Some(Frozen {
                        log_end: self.log.scanned_to,
                        trace_end: self.requests.scanned_to,
                        incidents: model.detector.incidents.len(),
                    });
                } else {
                    self.sync(model);
                    self.refresh(model);
                }
            }
            Action::CycleWindow => {
                self.window = self.window.next();
                // The new window is computed even while paused: it is what was asked for.
                self.derived = Derived::compute(model, self.window, self.window_clock());
                self.derived_stamp = None;
            }
            Action::Snapshot => {
                let selected = match &self.overlay {
                    Overlay::Incident { id, .. } => Some(*id),
                    _ if self.focus == Pane::Incidents => self
                        .incidents(model)
                        .nth(self.incident_position(model))
                        .map(|i| i.id),
                    _ => None,
                };
                return Some(Command::Snapshot(selected));
            }
            Action::Clear => {
                self.filter = Filter::default();
                self.search = None;
                self.editing = None;
                self.refilter(model);
            }
            Action::Resize(w, h) => {
                self.size = (w, h);
                self.relayout();
            }
            Action::Tick(now) => {
                self.now = now;
                self.refresh(model);
            }
        }
        None
    }

    /// Sets the filter or search as typed so far (`None` or empty: none); a time being
    /// typed changes nothing until Enter.
    fn set_pattern(&mut self, kind: PromptKind, pattern: Option<&str>, model: &Model) {
        let pattern = pattern.filter(|p| !p.is_empty() && *p != "!");
        match kind {
            PromptKind::Filter => {
                self.filter.text = pattern.map(TextFilter::filter);
                self.refilter(model);
            }
            PromptKind::Search => self.search = pattern.map(TextFilter::new),
            PromptKind::Jump => {}
        }
    }

    /// The list `n`, `N`, `:` and `y` work on: the focused one, or the main list when the
    /// incidents have the focus.
    fn list_pane(&self) -> Pane {
        match self.focus {
            Pane::Incidents => self.main_list,
            p => p,
        }
    }

    /// Moves the selection of the focused list to a match of the search, and says in the
    /// status line what happened (wrapped, no match).
    fn find(&mut self, how: Find, model: &Model) {
        let Some(search) = self.search.clone() else {
            self.notify("no search: / starts one");
            return;
        };
        let pane = self.list_pane();
        let rows = self.rows_of(pane);
        let (index, is_match): (&mut Index, Box<dyn Fn(u64) -> bool>) = match pane {
            Pane::Requests => (
                &mut self.requests,
                Box::new(|n| {
                    model
                        .correlator
                        .recent_by_ordinal(n)
                        .is_some_and(|t| trace_matches(&search, t))
                }),
            ),
            _ => (
                &mut self.log,
                Box::new(|seq| {
                    model
                        .log
                        .get(seq)
                        .is_some_and(|r| record_matches(&search, r))
                }),
            ),
        };
        let found = index.find(how, rows, is_match);
        let what = text::sanitize(&search.pattern).into_owned();
        match found {
            Found::Match => {}
            Found::Wrapped => self.notify(format!("/{what}: wrapped around")),
            Found::Nothing => self.notify(format!("/{what}: no match in this list")),
        }
    }

    /// `:` — parses `input` as `--since` does (relative to the screen's clock, local times
    /// in the screen's time zone) and selects the first row at or after that time in the
    /// focused list; says so when the time is outside what the list holds.
    ///
    /// A time before reading started, on inputs that can be read again, asks the loop to
    /// read from there ([`Command::ReadFrom`]); the jump is made once that is read
    /// ([`UiState::on_caught_up`]).
    fn jump_to(&mut self, input: &str, model: &Model) -> Option<Command> {
        let now_us = i64::try_from(self.now.0).unwrap_or(i64::MAX);
        let now = jiff::Timestamp::from_microsecond(now_us).ok()?;
        let target = match crate::source::since::parse_time_in(input, now, &self.options.time_zone)
        {
            Ok(t) => t,
            Err(e) => {
                self.notify(format!(
                    "cannot read {:?} as a time ({}): try 17:05, -10m, 1h ago, 2026-11-25 17:05",
                    text::sanitize(&e.input),
                    e.reason
                ));
                return None;
            }
        };
        if self.options.can_read_earlier
            && self.options.reads_since.is_some_and(|from| target < from)
        {
            self.pending_jump = Some(target);
            let when = super::clock::clock_s_at(target, self.options.utc_offset_s);
            self.notify(format!("reading from {when}…"));
            return Some(Command::ReadFrom(target));
        }
        self.jump_to_time(target, model);
        None
    }

    /// Everything read is dropped (the loop reads again from `from`): lists, figures and
    /// selections start over; the header says where reading now starts.
    pub(crate) fn restart_reading(&mut self, from: Timestamp) {
        self.options.reads_since = Some(from);
        self.options.lookback_us = None;
        self.log = Index::default();
        self.requests = Index::default();
        self.incident = None;
        self.derived = Derived::default();
        self.derived_stamp = None;
        self.last_line_at.clear();
        self.last_line_seq = 0;
        self.tunnel_peak = 0;
        self.behind = None;
        self.paused = None;
        self.overlay = Overlay::None;
        self.input = InputState::Reading;
    }

    /// The inputs have caught up (or ended): a jump that waited for a re-read is made.
    pub(crate) fn on_caught_up(&mut self, model: &Model) {
        if let Some(target) = self.pending_jump.take() {
            while self.sync(model) {}
            self.jump_to_time(target, model);
        }
    }

    /// Selects the first row at or after `target` in the focused list.
    fn jump_to_time(&mut self, target: Timestamp, model: &Model) {
        let pane = self.list_pane();
        let rows = self.rows_of(pane);
        let time_of = |k: u64| -> Option<Timestamp> {
            match pane {
                Pane::Requests => model.correlator.recent_by_ordinal(k).map(|t| t.start),
                _ => model.log.get(k).map(|r| r.event.entry.realtime),
            }
        };
        let index = match pane {
            Pane::Requests => &mut self.requests,
            _ => &mut self.log,
        };
        if index.keys.is_empty() {
            self.notify("nothing to jump in: the list is empty");
            return;
        }
        let oldest = index.keys.iter().filter_map(|&k| time_of(k)).min();
        let position = index
            .keys
            .iter()
            .position(|&k| time_of(k).is_some_and(|t| t >= target));
        let when = super::clock::clock_s_at(target, self.options.utc_offset_s);
        if let Some(p) = position {
            let (top, _) = visible(&index.keys, index.pos, rows);
            index.select_position(p, top, rows);
            // Show the row reached at the top of the view, as `less` does.
            if let Some(&k) = index.keys.get(p) {
                index.pos.top = k;
            }
            if let Some(from) = self.options.reads_since.filter(|&f| target < f) {
                // Earlier than reading started: say how to see it.
                let from = super::clock::clock_s_at(from, self.options.utc_offset_s);
                self.notify(format!(
                    "{when} is before reading started ({from}): showing the oldest; restart with --since to read earlier"
                ));
            } else if oldest.is_some_and(|o| target < o) {
                let first = oldest.map_or_else(String::new, |o| {
                    super::clock::clock_s_at(o, self.options.utc_offset_s)
                });
                self.notify(format!(
                    "{when} is before the oldest row held ({first}): showing the oldest"
                ));
            } else {
                self.notify(format!("jumped to {when}"));
            }
        } else {
            index.follow_newest();
            self.notify(format!("nothing at or after {when}: showing the newest"));
        }
    }

    /// `y`/`Y`: what to copy from the selection (a request's id, a line, an incident),
    /// with a status line that says what went to the clipboard.
    fn copy(&mut self, prefer_request_id: bool, model: &Model) -> Option<Command> {
        let trace_ordinal = match &self.overlay {
            Overlay::Trace { ordinal, .. } => Some(*ordinal),
            Overlay::None if self.focus == Pane::Requests => {
                self.requests.selected_key(self.viewport.requests)
            }
            _ => None,
        };
        let record_seq = match &self.overlay {
            Overlay::Record { seq, .. } => Some(*seq),
            Overlay::None if self.focus == Pane::Log => self.log.selected_key(self.viewport.log),
            _ => None,
        };
        let incident = match &self.overlay {
            Overlay::Incident { id, .. } => Some(*id),
            Overlay::None if self.focus == Pane::Incidents => self
                .incidents(model)
                .nth(self.incident_position(model))
                .map(|i| i.id),
            _ => None,
        };
        let (what, copied): (&str, String) = if let Some(n) = trace_ordinal {
            let Some(t) = model.correlator.recent_by_ordinal(n) else {
                self.notify("that request has left the screen's ring: nothing copied");
                return None;
            };
            let ray = t.ray.as_ref().map(|r| ("ray id", r.0.to_string()));
            let rid = t
                .request_id
                .as_ref()
                .map(|r| ("request id", r.0.to_string()));
            let pick = if prefer_request_id {
                rid.or(ray)
            } else {
                ray.or(rid)
            };
            let Some((what, id)) = pick else {
                self.notify("this request has no ray id or request id: nothing copied");
                return None;
            };
            (what, text::display(&id).into_owned())
        } else if let Some(seq) = record_seq {
            let Some(rec) = model.log.get(seq) else {
                self.notify("that line has left the scroll-back: nothing copied");
                return None;
            };
            // The list copies the line; the record view copies every line it shows.
            // Only what can be copied is processed (a 50 MB line costs no more).
            let head = |m: &[u8]| text::display_bytes_head(m, MAX_COPY_BYTES).0.into_owned();
            let lines: Vec<String> = if matches!(self.overlay, Overlay::Record { .. }) {
                std::iter::once(&rec.event)
                    .chain(&rec.continuation)
                    .map(|e| head(&e.entry.message))
                    .collect()
            } else {
                vec![head(&rec.event.entry.message)]
            };
            ("log line", lines.join("\n"))
        } else if let Some(id) = incident {
            let inc = model.detector.incidents.iter().find(|i| i.id == id)?;
            let line = format!(
                "{} {} {} ×{}: {}",
                super::clock::clock_s_at(inc.start, self.options.utc_offset_s),
                inc.severity.as_str(),
                inc.kind.as_str(),
                inc.count,
                inc.cause
            );
            ("incident", text::display(&line).into_owned())
        } else {
            self.notify("nothing selected to copy");
            return None;
        };
        let (copied, was_cut) = cap_copy(copied);
        let preview = text::fit_width(&copied, 48).0.into_owned();
        self.notify(format!(
            "copied {what}{}: {preview} (OSC 52: the terminal must allow clipboard writes)",
            if was_cut { " (first 64 KiB)" } else { "" }
        ));
        Some(Command::Copy(copied))
    }

    fn page(&self) -> i64 {
        let rows = match self.overlay {
            Overlay::None => self.rows_of(self.focus),
            _ => self.viewport.overlay,
        };
        i64::try_from(rows.saturating_sub(1).max(1)).unwrap_or(1)
    }

    fn scroll(&mut self, delta: i64, model: &Model) {
        let clamp = |s: u16| {
            let v = i64::from(s) + delta;
            u16::try_from(v.max(0)).unwrap_or(u16::MAX)
        };
        match &mut self.overlay {
            Overlay::None | Overlay::Help { .. } => {}
            Overlay::Record { scroll, .. }
            | Overlay::Incident { scroll, .. }
            | Overlay::Trace { scroll, .. } => {
                *scroll = clamp(*scroll);
                return;
            }
        }
        let rows = self.rows_of(self.focus);
        match self.focus {
            Pane::Log => self.log.move_by(delta, rows),
            Pane::Requests => self.requests.move_by(delta, rows),
            Pane::Incidents => {
                let n = self.incidents(model).count();
                if n == 0 {
                    return;
                }
                let pos = self.incident_position(model);
                let target = if delta < 0 {
                    pos.saturating_sub(usize::try_from(delta.unsigned_abs()).unwrap_or(0))
                } else {
                    (pos + usize::try_from(delta).unwrap_or(0)).min(n - 1)
                };
                self.incident = self.incidents(model).nth(target).map(|i| i.id);
            }
        }
    }

    /// ← → (and Tab) in the record view: the next or previous page of a long message,
    /// from its top. Elsewhere in an overlay they do nothing.
    fn turn_page(&mut self, is_forward: bool, model: &Model) {
        let Overlay::Record { seq, scroll, page } = &mut self.overlay else {
            return;
        };
        let len = model
            .log
            .get(*seq)
            .map_or(0, |r| r.event.entry.message.len());
        let last = text::page_count(len, PAGE_BYTES) - 1;
        let next = if is_forward {
            (*page + 1).min(last)
        } else {
            page.saturating_sub(1)
        };
        if next != *page {
            *page = next;
            *scroll = 0;
        }
    }

    fn jump(&mut self, to_top: bool, model: &Model) {
        if self.overlay != Overlay::None {
            if let Overlay::Record { seq, page, scroll } = &mut self.overlay {
                let len = model
                    .log
                    .get(*seq)
                    .map_or(0, |r| r.event.entry.message.len());
                let count = text::page_count(len, PAGE_BYTES);
                if count > 1 {
                    // A long line: its first or last page, from the page's top.
                    *page = if to_top { 0 } else { count - 1 };
                    *scroll = 0;
                    return;
                }
            }
            if let Overlay::Record { scroll, .. }
            | Overlay::Incident { scroll, .. }
            | Overlay::Trace { scroll, .. } = &mut self.overlay
            {
                *scroll = if to_top { 0 } else { u16::MAX / 2 };
            }
            return;
        }
        match (self.focus, to_top) {
            (Pane::Log, true) => self.log.select_oldest(),
            (Pane::Log, false) => self.log.follow_newest(),
            (Pane::Requests, true) => self.requests.select_oldest(),
            (Pane::Requests, false) => self.requests.follow_newest(),
            // Incidents are newest first: "top" is the newest.
            (Pane::Incidents, true) => self.incident = None,
            (Pane::Incidents, false) => self.incident = self.incidents(model).last().map(|i| i.id),
        }
    }

    fn open(&mut self, model: &Model) {
        if self.overlay != Overlay::None {
            return;
        }
        match self.focus {
            Pane::Log => {
                if let Some(seq) = self.log.selected_key(self.viewport.log) {
                    self.overlay = Overlay::Record {
                        seq,
                        scroll: 0,
                        page: 0,
                    };
                }
            }
            Pane::Incidents => {
                let pos = self.incident_position(model);
                if let Some(inc) = self.incidents(model).nth(pos) {
                    let (evidence, missing) = locate(model, &inc.evidence);
                    self.overlay = Overlay::Incident {
                        id: inc.id,
                        missing,
                        evidence,
                        scroll: 0,
                    };
                }
            }
            Pane::Requests => {
                let Some(ordinal) = self.requests.selected_key(self.viewport.requests) else {
                    return;
                };
                let Some(trace) = model.correlator.recent_by_ordinal(ordinal) else {
                    return;
                };
                let (seqs, missing) = locate(model, &trace.cursors);
                let (mut origin, mut tunnel, mut other) = (Vec::new(), Vec::new(), Vec::new());
                for &seq in &seqs {
                    let unit = model.log.get(seq).and_then(|r| r.event.entry.unit.as_ref());
                    match unit {
                        Some(u) if *u == model.settings.origin_unit => origin.push(seq),
                        Some(u) if *u == model.settings.tunnel_unit => tunnel.push(seq),
                        _ => other.push(seq),
                    }
                }
                self.overlay = Overlay::Trace {
                    ordinal,
                    origin,
                    tunnel,
                    other,
                    missing,
                    scroll: 0,
                };
            }
        }
    }
}

/// Copied text at most this long: terminals cap OSC 52 (xterm and tmux at about 100 kB
/// of base64).
const MAX_COPY_BYTES: usize = 64 * 1024;

/// `text` cut to [`MAX_COPY_BYTES`] at a character boundary, and whether it was cut.
fn cap_copy(mut text: String) -> (String, bool) {
    if text.len() <= MAX_COPY_BYTES {
        return (text, false);
    }
    let mut cut = MAX_COPY_BYTES;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    text.truncate(cut);
    (text, true)
}

/// The log records holding `cursors`, and how many cursors were not found (their
/// records have left the log ring).
fn locate(model: &Model, cursors: &[crate::source::Cursor]) -> (Vec<u64>, usize) {
    let seqs = model.log.locate(cursors);
    let found: usize = seqs
        .iter()
        .filter_map(|&s| model.log.get(s))
        .map(|r| {
            std::iter::once(&r.event)
                .chain(&r.continuation)
                .filter(|e| e.entry.cursor.as_ref().is_some_and(|c| cursors.contains(c)))
                .count()
        })
        .sum();
    (seqs, cursors.len().saturating_sub(found))
}
