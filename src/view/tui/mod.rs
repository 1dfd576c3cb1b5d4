//! The live screen (`sigil-top` with no subcommand, and `sigil-top demo`).
//!
//! Owns everything on screen and nothing else, in the TEA shape of `STYLE.md` §2.7:
//! keys → [`action::Action`] ([`action`]) → [`state::UiState::update`] ([`state`], which may
//! return a [`state::Command`]) → [`render::render`]`(&Model, &UiState)` ([`render`],
//! [`widgets`]). Colours are in [`theme`]. The loop that owns the model and carries out
//! commands is `crate::live`; this module never imports it.
//!
//! Also owns the terminal's state: [`TerminalGuard`] enters raw mode and the alternate
//! screen and restores both on `Drop`, and [`install_panic_hook`] restores them before a
//! panic message is printed (chaining to the previous hook, as `ratatui::init` does), so
//! quit, panic, SIGTERM/SIGHUP and end of input all leave a usable terminal. For job
//! control (Ctrl-Z, SIGTSTP, SIGCONT) [`restore`] gives the terminal back before the
//! process stops and [`reenter`] takes it again when it is continued.

pub mod action;
pub mod render;
pub mod state;
pub mod theme;
pub mod widgets;

use std::io::{self, Stdout};

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
        install_panic_hook();
        enable_raw_mode()?;
        let guard = TerminalGuard { _private: () };
        execute!(io::stdout(), EnterAlternateScreen, EnableMouseCapture)?;
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

/// Puts the terminal back (idempotent; errors are ignored: there is nowhere to report them).
pub fn restore() {
    let _ = disable_raw_mode();
    let _ = execute!(
        io::stdout(),
        DisableMouseCapture,
        LeaveAlternateScreen,
        crossterm::cursor::Show
    );
}

/// Takes the terminal again after the process was stopped and continued (the shell had it
/// meanwhile and may have drawn on it or changed its modes): raw mode, alternate screen,
/// mouse capture, hidden cursor, and a cleared screen so the next draw repaints every
/// cell. Idempotent, like [`restore`].
pub fn reenter(terminal: &mut Term) -> io::Result<()> {
    enable_raw_mode()?;
    execute!(io::stdout(), EnterAlternateScreen, EnableMouseCapture)?;
    terminal.hide_cursor()?;
    terminal.clear()
}

/// Restores the terminal before the previous panic hook prints, so the message is
/// readable. Installed once, however often it is called.
pub fn install_panic_hook() {
    static INSTALLED: std::sync::Once = std::sync::Once::new();
    INSTALLED.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            restore();
            previous(info);
        }));
    });
}

#[cfg(test)]
mod tests;
