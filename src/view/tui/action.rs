//! Keys to intents: the key map as one table ([`KEYS`]) and the [`Action`]s it produces.
//!
//! Owns which key does what, and the help text drawn from the same table, so the `?`
//! overlay and the hint bar can never disagree with the keys. Does not own what an action
//! does to the screen: that is `state::UiState::update`.

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseEvent, MouseEventKind};

use crate::source::Timestamp;

/// An intent, from a key, the mouse, the terminal or the clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Quit,
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
    StartFilter,
    FilterInput(char),
    FilterBackspace,
    /// Keep the filter being typed.
    FilterCommit,
    /// Drop what was typed and go back to the filter before `/`.
    FilterCancel,
    CycleUnit,
    CycleLevel,
    CycleStatus,
    TogglePause,
    CycleWindow,
    Export,
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
pub const KEYS: &[(KeyCode, Action)] = &[
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
    (KeyCode::Char('/'), Action::StartFilter),
    (KeyCode::Char('u'), Action::CycleUnit),
    (KeyCode::Char('l'), Action::CycleLevel),
    (KeyCode::Char('s'), Action::CycleStatus),
    (KeyCode::Char('p'), Action::TogglePause),
    (KeyCode::Char(' '), Action::TogglePause),
    (KeyCode::Char('w'), Action::CycleWindow),
    (KeyCode::Char('e'), Action::Export),
    (KeyCode::Char('c'), Action::Clear),
];

/// The help overlay's lines: keys as typed, what they do.
pub const HELP: &[(&str, &str)] = &[
    ("q  Ctrl-C", "quit"),
    ("Ctrl-Z", "suspend to the shell (fg resumes)"),
    ("?", "this help (any key closes it)"),
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
        "/",
        "filter log and requests by text or regex (live; Enter keeps, Esc undoes)",
    ),
    ("u", "unit filter: all → each unit watched"),
    (
        "l",
        "minimum level of log lines: all → debug → info → warn → error",
    ),
    ("s", "status filter: all → 5xx → 502 → 4xx"),
    (
        "p  Space",
        "pause the view (reading continues; p again catches up)",
    ),
    ("w", "latency window: 1m → 5m → 15m → all"),
    ("e", "export a snapshot of the selected incident"),
    ("c", "clear all filters"),
    ("mouse wheel", "scroll the focused panel"),
];

/// The one-line hint bar: the keys a newcomer needs first.
pub const HINTS: &[(&str, &str)] = &[
    ("q", "quit"),
    ("?", "help"),
    ("Tab", "panel"),
    ("↑↓", "move"),
    ("⏎", "open"),
    ("/", "filter"),
    ("u", "unit"),
    ("l", "level"),
    ("s", "status"),
    ("p", "pause"),
    ("w", "window"),
    ("e", "export"),
    ("c", "clear"),
];

/// The action for a key press; `is_editing` while a filter is being typed (then printable
/// keys are text). Key releases and repeats of releases are ignored.
pub fn action_for_key(key: KeyEvent, is_editing: bool) -> Option<Action> {
    if key.kind == KeyEventKind::Release {
        return None;
    }
    if key.modifiers.contains(KeyModifiers::CONTROL) {
        return match key.code {
            KeyCode::Char('c') => Some(Action::Quit),
            // In raw mode the terminal sends Ctrl-Z as a key, not as SIGTSTP.
            KeyCode::Char('z') => Some(Action::Suspend),
            _ => None,
        };
    }
    if is_editing {
        return match key.code {
            KeyCode::Enter => Some(Action::FilterCommit),
            KeyCode::Esc => Some(Action::FilterCancel),
            KeyCode::Backspace => Some(Action::FilterBackspace),
            KeyCode::Char(c) => Some(Action::FilterInput(c)),
            _ => None,
        };
    }
    KEYS.iter()
        .find(|(code, _)| *code == key.code)
        .map(|&(_, action)| action)
}

/// The action for a mouse event: the wheel scrolls by three rows.
pub fn action_for_mouse(mouse: MouseEvent) -> Option<Action> {
    match mouse.kind {
        MouseEventKind::ScrollUp => Some(Action::ScrollUp(3)),
        MouseEventKind::ScrollDown => Some(Action::ScrollDown(3)),
        _ => None,
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
            Some(Action::FilterInput('q'))
        );
        assert_eq!(
            action_for_key(key(KeyCode::Esc), true),
            Some(Action::FilterCancel)
        );
        assert_eq!(action_for_key(key(KeyCode::Char('x')), false), None);
        let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
        assert_eq!(action_for_key(ctrl_c, true), Some(Action::Quit));
        let ctrl_z = KeyEvent::new(KeyCode::Char('z'), KeyModifiers::CONTROL);
        assert_eq!(action_for_key(ctrl_z, false), Some(Action::Suspend));
        assert_eq!(action_for_key(ctrl_z, true), Some(Action::Suspend));
    }
}
