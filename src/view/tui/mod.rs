//! The live screen (`sigil-top` with no subcommand, and `sigil-top demo`).
//!
//! Owns everything on screen and nothing else, in the TEA shape of `STYLE.md` §2.7:
//! keys → [`action::Action`] ([`action`]) → [`state::UiState::update`] ([`state`], which may
//! return a [`state::Command`]) → [`render::render`]`(&Model, &UiState)` ([`render`],
//! [`widgets`], into the regions [`layout`] computes). Colours are in [`theme`]. The loop
//! that owns the model and carries out commands is `app::live`; this module never
//! imports it.
//!
//! Also owns the terminal's state: [`TerminalGuard`] enters raw mode and the alternate
//! screen and restores both on `Drop`; [`restore_for_panic`] is what the binary's panic
//! hook calls (on any thread) before the message is printed, so quit, panic,
//! SIGTERM/SIGHUP and end of input all leave a usable terminal. For job control (Ctrl-Z,
//! SIGTSTP, SIGCONT) [`restore`] gives the terminal back before the process stops and
//! [`reenter`] takes it again when it is continued.
//!
//! Two deliberate writes of the program's own: [`copy_to_clipboard`] (`y`) writes an OSC 52
//! sequence whose payload is base64 (so no byte of the copied text can end or change the
//! sequence; log text itself is never written raw), and [`set_mouse_capture`] (`m`)
//! lets the terminal select text; the choice is kept across Ctrl-Z/`fg`.

pub mod action;
pub(crate) mod clock;
pub(crate) mod help_text;
pub(crate) mod layout;
pub mod render;
pub mod state;
pub mod theme;
pub(crate) mod widgets;

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
pub(crate) type Term = Terminal<CrosstermBackend<Stdout>>;

/// Raw mode + alternate screen + mouse capture (unless turned off) while alive; restored
/// on `Drop`.
pub(crate) struct TerminalGuard {
    _private: (),
}

impl TerminalGuard {
    /// Switches the terminal over and returns the guard with a terminal to draw on. On
    /// failure whatever was switched is switched back.
    pub(crate) fn enter() -> io::Result<(TerminalGuard, Term)> {
        take()?;
        let guard = TerminalGuard { _private: () };
        let mut terminal = Terminal::new(CrosstermBackend::new(io::stdout()))?;
        clear(&mut terminal)?;
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
    /// Mouse capture is wanted (`m` turns it off so the terminal can select text).
    is_mouse_captured: bool,
}

static STATE: Mutex<TermState> = Mutex::new(TermState {
    is_active: false,
    is_stopping: false,
    is_mouse_captured: true,
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
pub(crate) fn restore() {
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
    let switched = execute!(io::stdout(), EnterAlternateScreen).and_then(|()| {
        if state.is_mouse_captured {
            execute!(io::stdout(), EnableMouseCapture)
        } else {
            Ok(())
        }
    });
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
pub(crate) fn reenter(terminal: &mut Term) -> io::Result<()> {
    take()?;
    terminal.hide_cursor()?;
    clear(terminal)
}

/// Clears the screen and forgets what was drawn, so the next draw paints every cell.
/// Not `Terminal::clear`: since ratatui 0.30 it first asks the terminal where the cursor
/// is (a DSR query whose answer crossterm reads from standard input), which waits up to
/// 2 s and then fails when the key reader is running (after Ctrl-Z/`fg`) or when the
/// terminal does not answer. A full-screen viewport's `resize` clears without asking.
fn clear(terminal: &mut Term) -> io::Result<()> {
    let size = terminal.size()?;
    terminal.resize(ratatui::layout::Rect::new(0, 0, size.width, size.height))
}

/// Turns mouse capture on or off (and remembers it for [`reenter`]).
pub(crate) fn set_mouse_capture(terminal: &mut Term, is_on: bool) -> io::Result<()> {
    lock_state().is_mouse_captured = is_on;
    if is_on {
        execute!(terminal.backend_mut(), EnableMouseCapture)
    } else {
        execute!(terminal.backend_mut(), DisableMouseCapture)
    }
}

/// Asks the terminal to put `text` on the clipboard (OSC 52, selection `c`).
pub(crate) fn copy_to_clipboard(terminal: &mut Term, text: &str) -> io::Result<()> {
    use std::io::Write;
    let backend = terminal.backend_mut();
    backend.write_all(&osc52(text))?;
    backend.flush()
}

/// The OSC 52 sequence that sets the clipboard to `text`: `ESC ] 52 ; c ; base64 BEL`.
pub(crate) fn osc52(text: &str) -> Vec<u8> {
    let mut out = b"\x1b]52;c;".to_vec();
    out.extend_from_slice(base64(text.as_bytes()).as_bytes());
    out.push(0x07);
    out
}

/// Standard base64 (RFC 4648, with padding): a few lines rather than a dependency.
pub fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests;
