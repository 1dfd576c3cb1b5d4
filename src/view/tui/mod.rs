//! The live screen (`sigil-top` with no subcommand, and `sigil-top demo`).
//!
//! Owns everything on screen and nothing else, in the TEA shape of `STYLE.md` §2.7:
//! keys → [`action::Action`] ([`action`]) → [`state::UiState::update`] ([`state`], which may
//! return a [`state::Command`]) → [`render::render`]`(&Model, &UiState)` ([`render`],
//! [`widgets`]). Colours are in [`theme`]. The loop that owns the model and carries out
//! commands is `crate::live`; this module never imports it.
//!
//! Also owns the terminal's state: [`TerminalGuard`] enters raw mode and the alternate
//! screen and restores both on `Drop`; [`restore_for_panic`] is what the binary's panic
//! hook calls (on any thread) before the message is printed, so quit, panic,
//! SIGTERM/SIGHUP and end of input all leave a usable terminal. For job control (Ctrl-Z,
//! SIGTSTP, SIGCONT) [`restore`] gives the terminal back before the process stops and
//! [`reenter`] takes it again when it is continued.

pub mod action;
pub mod render;
pub mod state;
pub mod theme;
pub mod widgets;

use std::io::{self, Stdout};
use std::sync::{Mutex, MutexGuard};

use crossterm::event::{DisableMouseCapture, EnableMouseCapture};
use crossterm::execute;
use crossterm::terminal::{
    disable_raw_mode, enable_raw_mode, EnterAlternateScreen, LeaveAlternateScreen,
};
use ratatui::backend::CrosstermBackend;
use ratatui::Terminal;

/// The terminal as the live screen draws to it.
pub type Term = Terminal<CrosstermBackend<Stdout>>;

/// Raw mode + alternate screen + mouse capture while alive; restored on `Drop`.
pub struct TerminalGuard {
    _private: (),
}

impl TerminalGuard {
    /// Switches the terminal over and returns the guard with a terminal to draw on. On
    /// failure whatever was switched is switched back.
    pub fn enter() -> io::Result<(TerminalGuard, Term)> {
        take()?;
        let guard = TerminalGuard { _private: () };
        let mut terminal = Terminal::new(CrosstermBackend::new(io::stdout()))?;
        terminal.clear()?;
        terminal.hide_cursor()?;
        Ok((guard, terminal))
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        restore();
    }
}

/// A panic on another thread is ending the program (its hook prints and exits 101): give
/// it the time to, rather than race it with an error and another exit status.
fn stopping() -> io::Error {
    std::thread::sleep(std::time::Duration::from_secs(5));
    io::Error::other("stopping after a failure in another thread")
}

/// Who has the terminal.
struct TermState {
    /// The screen has it (raw mode, alternate screen).
    is_active: bool,
    /// A panic hook ran: the screen must not take it again.
    is_stopping: bool,
}

static STATE: Mutex<TermState> = Mutex::new(TermState {
    is_active: false,
    is_stopping: false,
});

fn lock_state() -> MutexGuard<'static, TermState> {
    STATE
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// For panic hooks, on any thread: puts the terminal back if the live screen has it and
/// keeps the screen from taking it again; does nothing else, so a headless mode's output
/// never gets escape sequences. Waits (briefly) for a screen that is switching over.
pub fn restore_for_panic() {
    // `try_lock`: the panicking thread may be the one holding the lock (a panic inside
    // `enter`); then restore anyway after a short wait.
    for _ in 0..50 {
        if let Ok(mut state) = STATE.try_lock() {
            state.is_stopping = true;
            if state.is_active {
                state.is_active = false;
                put_back();
            }
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    put_back();
}

/// Puts the terminal back (idempotent; errors are ignored: there is nowhere to report them).
pub fn restore() {
    lock_state().is_active = false;
    put_back();
}

fn put_back() {
    let _ = disable_raw_mode();
    let _ = execute!(
        io::stdout(),
        DisableMouseCapture,
        LeaveAlternateScreen,
        crossterm::cursor::Show
    );
}

/// Raw mode, alternate screen and mouse capture, switched under the lock the panic hook
/// takes, so a worker thread that panics meanwhile cannot exit between the steps and
/// leave the terminal raw; once the hook has run, the screen does not take it at all.
/// On failure whatever was switched is switched back.
fn take() -> io::Result<()> {
    let mut state = lock_state();
    if state.is_stopping {
        drop(state);
        return Err(stopping());
    }
    enable_raw_mode()?;
    state.is_active = true;
    let switched = execute!(io::stdout(), EnterAlternateScreen, EnableMouseCapture);
    drop(state);
    if switched.is_err() {
        restore();
    }
    switched
}

/// Takes the terminal again after the process was stopped and continued (the shell had it
/// meanwhile and may have drawn on it or changed its modes): raw mode, alternate screen,
/// mouse capture, hidden cursor, and a cleared screen so the next draw repaints every
/// cell. Idempotent, like [`restore`].
pub fn reenter(terminal: &mut Term) -> io::Result<()> {
    take()?;
    terminal.hide_cursor()?;
    terminal.clear()
}

#[cfg(test)]
mod tests;
