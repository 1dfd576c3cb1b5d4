//! Keys to intents: the key map as one table ([`KEYS`]) and the [`Action`]s it produces
//! (with [`PromptKind`], the prompt a key opens).
//!
//! Owns which key does what, and the help text drawn from the same table, so the `?`
//! overlay and the hint bar can never disagree with the keys. Does not own what an action
//! does to the screen: that is `state::UiState::update`.

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseEvent, MouseEventKind};

use crate::source::Timestamp;

/// An intent, from a key, the mouse, the terminal or the clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// `q`: quit (in the help overlay, close it).
    Quit,
    /// Ctrl-C: quit from anywhere, whatever is on top.
    Interrupt,
    /// Ctrl-Z: give the terminal back to the shell and stop (`fg` resumes).
    Suspend,
    Help,
    FocusNext,
    FocusPrev,
    Up,
    Down,
    PageUp,
    PageDown,
    /// First row (oldest).
    Top,
    /// Last row (newest), and follow new rows again.
    Bottom,
    Open,
    Back,
    /// Open the prompt for a search (`/`), a filter (`&`) or a time to jump to (`:`).
    StartPrompt(PromptKind),
    PromptInput(char),
    PromptBackspace,
    /// Enter: keep the filter or search typed (and jump to its match), or jump to the time.
    PromptCommit,
    /// Esc: drop what was typed and go back to the filter or search before the prompt.
    PromptCancel,
    /// `n` / `N`: the next match of the search, newer / older (wrapping).
    SearchNext,
    SearchPrev,
    CycleHost,
    /// `y`: copy the selected request's ray id (else its request id), the selected line,
    /// or the selected incident, to the clipboard.
    Copy,
    /// `Y`: copy the selected request's request id (else its ray id).
    CopyRequestId,
    /// `m`: turn mouse capture off (the terminal selects text) or back on.
    ToggleMouse,
    CycleUnit,
    CycleLevel,
    CycleStatus,
    TogglePause,
    CycleWindow,
    Snapshot,
    /// Clear every filter and the status notice.
    Clear,
    /// Mouse wheel, in rows.
    ScrollUp(u16),
    ScrollDown(u16),
    /// The terminal's new size in columns and rows.
    Resize(u16, u16),
    /// The clock moved (once a second): the time the header shows and windows end at.
    Tick(Timestamp),
}

/// The key map in normal mode: key, action. `HELP` and `HINTS` describe it for people.
pub(crate) const KEYS: &[(KeyCode, Action)] = &[
    (KeyCode::Char('q'), Action::Quit),
    (KeyCode::Char('?'), Action::Help),
    (KeyCode::Tab, Action::FocusNext),
    (KeyCode::BackTab, Action::FocusPrev),
    (KeyCode::Right, Action::FocusNext),
    (KeyCode::Left, Action::FocusPrev),
    (KeyCode::Up, Action::Up),
    (KeyCode::Char('k'), Action::Up),
    (KeyCode::Down, Action::Down),
    (KeyCode::Char('j'), Action::Down),
    (KeyCode::PageUp, Action::PageUp),
    (KeyCode::PageDown, Action::PageDown),
    (KeyCode::Home, Action::Top),
    (KeyCode::Char('g'), Action::Top),
    (KeyCode::End, Action::Bottom),
    (KeyCode::Char('G'), Action::Bottom),
    (KeyCode::Enter, Action::Open),
    (KeyCode::Esc, Action::Back),
    (KeyCode::Char('/'), Action::StartPrompt(PromptKind::Search)),
    (KeyCode::Char('n'), Action::SearchNext),
    (KeyCode::Char('N'), Action::SearchPrev),
    (KeyCode::Char('&'), Action::StartPrompt(PromptKind::Filter)),
    (KeyCode::Char(':'), Action::StartPrompt(PromptKind::Jump)),
    (KeyCode::Char('H'), Action::CycleHost),
    (KeyCode::Char('y'), Action::Copy),
    (KeyCode::Char('Y'), Action::CopyRequestId),
    (KeyCode::Char('m'), Action::ToggleMouse),
    (KeyCode::Char('u'), Action::CycleUnit),
    (KeyCode::Char('l'), Action::CycleLevel),
    (KeyCode::Char('s'), Action::CycleStatus),
    (KeyCode::Char('p'), Action::TogglePause),
    (KeyCode::Char(' '), Action::TogglePause),
    (KeyCode::Char('w'), Action::CycleWindow),
    (KeyCode::Char('e'), Action::Snapshot),
    (KeyCode::Char('c'), Action::Clear),
];

/// The help overlay's key lines: keys as typed, what they do.
pub(crate) const HELP: &[(&str, &str)] = &[
    ("q", "quit (in this help: close it)"),
    ("Ctrl-C", "quit from anywhere"),
    ("Ctrl-Z", "suspend to the shell (fg resumes)"),
    ("?", "this help; ↑↓ PgUp PgDn scroll it, ? Esc or q close it"),
    ("Tab  ← →", "next / previous panel"),
    ("↑ ↓  j k", "move the selection (leaves follow mode)"),
    ("PgUp PgDn", "move a page"),
    (
        "g Home  G End",
        "oldest / newest (G follows new rows again)",
    ),
    (
        "Enter",
        "open: incident evidence, request (both services), full log line",
    ),
    ("Esc", "back: close the view on top"),
    (
        "← →  g G",
        "in a long log line's view: previous / next page (4 KiB), first / last page",
    ),
    (
        "/",
        "search the focused list (text or regex): matches are highlighted; Enter goes to the match at or after the selection (the newest while following)",
    ),
    ("n  N", "next (newer) / previous (older) match; wraps around"),
    (
        "&",
        "filter log and requests by text or regex, live (Enter keeps, Esc undoes); &!text hides what matches",
    ),
    (
        ":",
        "jump to a time, as --since reads it: 17:05, 17:05:30, -10m, 1h ago, 2026-11-25 17:05, @EPOCH",
    ),
    ("u", "unit filter: all → each unit watched"),
    ("H", "host filter (log lines), when the inputs hold several hosts"),
    (
        "l",
        "minimum level of log lines: all → debug → info → warn → error",
    ),
    (
        "s",
        "status filter: all → any 5xx (origin 5xx, 502, 524) → 502 → 4xx",
    ),
    (
        "p  Space",
        "pause the view (reading continues; p again catches up)",
    ),
    ("w", "latency window: 1m → 5m → 15m → all"),
    ("e", "export a snapshot of the selected incident"),
    (
        "y",
        "copy (OSC 52): the request's ray id (else request id), the line, or the incident",
    ),
    ("Y", "copy the request's request id"),
    (
        "m",
        "mouse capture off / on (off: the terminal selects and copies text)",
    ),
    ("c", "clear all filters and the search"),
    ("mouse wheel", "scroll the focused panel"),
];

/// What the screen's figures mean: shown in the help overlay below the keys.
pub(crate) const DEFINITIONS: &[(&str, &str)] = &[
    (
        "origin 5xx",
        "answers sigil-mcp gave with a status 500-599, in the window (w)",
    ),
    (
        "502  524",
        "what Cloudflare's edge gave visitors when the tunnel failed (bad gateway, timeout); the origin never saw those",
    ),
    (
        "req/s",
        "requests the origin answered per second, over the window",
    ),
    (
        "err",
        "(Routes, Tools) 5xx answers, tool errors inside 200s and 502/524 failures, whole run",
    ),
    (
        "histogram",
        "requests per latency bucket; labels are upper bounds (≤ 1ms, ≤ 10ms, …); bar heights on a log scale, the tallest count at the top left",
    ),
    (
        "Incidents",
        "start, sev (crit warn info), kind, count (×n events it counted), lasted (open: still going), likely cause; ● open, ○ closed",
    ),
    (
        "kinds",
        "502 bad gateway · 524 edge timeout · 5xx origin errors · down origin down · degr tunnel degraded · tunnel tunnel down · stale stale sessions · slow latency · stall origin stalled",
    ),
    (
        "scroll-back",
        "the screen holds the last N lines (oldest leave first); every figure counted them all",
    ),
    (
        "gaps",
        "lines no parser understood, and records the inputs skipped or cut",
    ),
];

/// The one-line hint bar: the keys a newcomer needs first.
pub(crate) const HINTS: &[(&str, &str)] = &[
    ("q", "quit"),
    ("?", "help"),
    ("Tab", "panel"),
    ("↑↓", "move"),
    ("⏎", "open"),
    ("/", "search"),
    ("&", "filter"),
    (":", "jump"),
    ("y", "copy"),
    ("u", "unit"),
    ("l", "level"),
    ("s", "status"),
    ("p", "pause"),
    ("w", "window"),
    ("e", "export"),
    ("c", "clear"),
];

/// The action for a key press; `is_editing` while a prompt (search, filter, time) is being
/// typed (then printable keys are text). Key releases are ignored.
pub(crate) fn action_for_key(key: KeyEvent, is_editing: bool) -> Option<Action> {
    if key.kind == KeyEventKind::Release {
        return None;
    }
    if key.modifiers.contains(KeyModifiers::CONTROL) {
        return match key.code {
            KeyCode::Char('c') => Some(Action::Interrupt),
            // In raw mode the terminal sends Ctrl-Z as a key, not as SIGTSTP.
            KeyCode::Char('z') => Some(Action::Suspend),
            _ => None,
        };
    }
    if is_editing {
        return match key.code {
            KeyCode::Enter => Some(Action::PromptCommit),
            KeyCode::Esc => Some(Action::PromptCancel),
            KeyCode::Backspace => Some(Action::PromptBackspace),
            KeyCode::Char(c) => Some(Action::PromptInput(c)),
            _ => None,
        };
    }
    KEYS.iter()
        .find(|(code, _)| *code == key.code)
        .map(|&(_, action)| action)
}

/// The action for a mouse event: the wheel scrolls by three rows.
pub(crate) fn action_for_mouse(mouse: MouseEvent) -> Option<Action> {
    match mouse.kind {
        MouseEventKind::ScrollUp => Some(Action::ScrollUp(3)),
        MouseEventKind::ScrollDown => Some(Action::ScrollDown(3)),
        _ => None,
    }
}

/// What a prompt typed after `/`, `&` or `:` is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PromptKind {
    /// `/`: highlight matches in the focused list; Enter goes to one, `n`/`N` move.
    Search,
    /// `&`: keep only what matches (`!` first: hide what matches), live as it is typed.
    Filter,
    /// `:`: a time in the `--since` forms; Enter jumps the focused list to it.
    Jump,
}

impl PromptKind {
    /// The character the prompt shows (the key that opened it).
    pub(crate) fn sigil(self) -> char {
        match self {
            PromptKind::Search => '/',
            PromptKind::Filter => '&',
            PromptKind::Jump => ':',
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    #[test]
    fn letters_are_commands_in_normal_mode_and_text_while_editing_a_filter() {
        assert_eq!(
            action_for_key(key(KeyCode::Char('q')), false),
            Some(Action::Quit)
        );
        assert_eq!(
            action_for_key(key(KeyCode::Char('q')), true),
            Some(Action::PromptInput('q'))
        );
        assert_eq!(
            action_for_key(key(KeyCode::Esc), true),
            Some(Action::PromptCancel)
        );
        assert_eq!(action_for_key(key(KeyCode::Char('x')), false), None);
        let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
        assert_eq!(action_for_key(ctrl_c, true), Some(Action::Interrupt));
        let ctrl_z = KeyEvent::new(KeyCode::Char('z'), KeyModifiers::CONTROL);
        assert_eq!(action_for_key(ctrl_z, false), Some(Action::Suspend));
        assert_eq!(action_for_key(ctrl_z, true), Some(Action::Suspend));
    }
}
