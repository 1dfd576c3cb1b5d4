//! The live screen's supervisor: the screen runs in a child process of the same binary,
//! and this parent gives the terminal back if the child dies by a signal.
//!
//! Why: libsystemd aborts on some damaged journal files (systemd 252:
//! `Assertion 'output.pos >= size' failed … decompress_blob_zstd()` for a compressed
//! field whose object size is corrupt; `journalctl --file` aborts the same way). An
//! abort ends the process without unwinding, so neither the terminal guard nor the
//! panic hook runs, and the shell was left on the alternate screen in raw mode. Code
//! inside the dying process cannot help (`unsafe_code` is forbidden, and a SIGABRT
//! handler that draws is not async-signal-safe anyway), so a second process does it.
//! The decision, its cost and the alternatives are in `docs/robustness.md`.
//!
//! Owns: starting the child (`current_exe` with the same arguments and
//! [`CHILD_ENV`] set), relaying its standard error (keeping the last few KiB), job
//! control across the two processes, and what happens when the child dies by a signal:
//! the terminal restored (the shell's own termios, saved before the child started; the
//! alternate screen left; the cursor shown; mouse capture off), the signal and the
//! child's last words printed (escaped), and the journal file named that makes
//! libsystemd fail, found by reading each input file alone in a child of its own
//! (`sigil-top entries --file F -o export`, newest first, within [`HUNT_BUDGET`]).
//!
//! Signals: SIGTERM, SIGHUP and SIGINT sent to the parent are forwarded (the child ends
//! normally and restores the terminal itself); SIGTSTP is forwarded, and when the child
//! has stopped the parent stops too, so the shell sees the whole job stopped; SIGCONT is
//! forwarded (after `kill -CONT` of the parent alone; `fg` continues both anyway).
//! SIGWINCH goes to the whole foreground process group and the parent ignores it. A
//! terminal-generated SIGTSTP or SIGINT (only possible while the child is not in raw
//! mode: the first milliseconds, or after it gave the terminal back) reaches the child
//! twice; the second is harmless for SIGINT and at worst stops it again after `fg`.
//!
//! Does not own the screen (`crate::app::live`) or reading (`source`).

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::io::{Read, Write};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use anyhow::Context;
use rustix::process::{Pid, Signal, WaitOptions, WaitStatus};
use tokio::signal::unix::{signal, SignalKind};

use crate::config::{Config, Mode};
use crate::source::InputSpec;

/// Set in the child's environment: this process is the screen itself, not its
/// supervisor. Setting it by hand runs the screen unsupervised.
pub(crate) const CHILD_ENV: &str = "SIGIL_TOP_SCREEN_CHILD";

/// How much of the child's standard error is kept to show after a crash.
const TAIL_BYTES: usize = 4096;

/// How long the hunt for the file that makes libsystemd fail may take in all, and per
/// file: a crash is rare, and the operator is waiting for the shell.
const HUNT_BUDGET: Duration = Duration::from_secs(30);
const HUNT_PER_FILE: Duration = Duration::from_secs(10);

/// The screen exited on its own with this non-zero status (its errors are already
/// printed, by the child): `main` exits with the same status.
#[derive(Debug)]
pub struct ScreenExited(pub u8);

impl std::fmt::Display for ScreenExited {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the screen exited with status {}", self.0)
    }
}

impl std::error::Error for ScreenExited {}

/// Whether this run is the live screen over journal files (where libsystemd runs) on a
/// terminal, and not already the supervised child.
pub(crate) fn should_supervise(config: &Config) -> bool {
    use std::io::IsTerminal;
    matches!(config.mode, Mode::Tui)
        && std::env::var_os(CHILD_ENV).is_none()
        && std::io::stdout().is_terminal()
        && std::io::stdin().is_terminal()
        && config.inputs.iter().any(|i| {
            matches!(
                i,
                InputSpec::System | InputSpec::Directory(_) | InputSpec::Files(_)
            )
        })
}

/// Runs the screen in a child process and waits for it (see the module doc).
pub(crate) fn run(config: &Config) -> anyhow::Result<()> {
    // The terminal as the shell left it: what the parent puts back after a crash.
    let saved = rustix::termios::tcgetattr(std::io::stdin()).ok();
    let exe = std::env::current_exe().context("finding this program's path to start the screen")?;
    let mut child = Command::new(&exe)
        .args(std::env::args_os().skip(1))
        .env(CHILD_ENV, "1")
        .stderr(Stdio::piped())
        .spawn()
        .context("starting the screen's process")?;
    let pid = Pid::from_child(&child);
    let tail = Arc::new(Mutex::new(VecDeque::with_capacity(TAIL_BYTES)));
    let relay = child.stderr.take().map(|from| {
        let tail = Arc::clone(&tail);
        std::thread::Builder::new()
            .name("stderr-relay".into())
            .spawn(move || relay_stderr(from, &tail))
    });
    let status = wait_forwarding_signals(pid)?;
    if let Some(Ok(relay)) = relay {
        // EOF comes when the child is gone (unless something it started holds the pipe).
        let deadline = Instant::now() + Duration::from_secs(1);
        while !relay.is_finished() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
    }
    if let Some(code) = status.exit_status() {
        return match u8::try_from(code) {
            Ok(0) => Ok(()),
            Ok(code) => Err(ScreenExited(code).into()),
            Err(_) => Err(ScreenExited(2).into()),
        };
    }
    let signo = status.terminating_signal().unwrap_or(0);
    restore_terminal(saved.as_ref());
    let last_words = {
        let tail = tail
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let bytes: Vec<u8> = tail.iter().copied().collect();
        crate::text::sanitize_lines(&String::from_utf8_lossy(&bytes))
            .trim()
            .to_owned()
    };
    let mut msg = format!("the screen's process was killed by {}", signal_name(signo));
    if !last_words.is_empty() {
        let _ = write!(
            msg,
            "; its last words:\n  {}",
            last_words.replace('\n', "\n  ")
        );
    }
    if is_crash(signo) {
        let files = journal_files(config);
        let _ = writeln!(
            std::io::stderr(),
            "sigil-top: the screen crashed ({}); the terminal is restored. Reading each of the {} journal file(s) alone to find the one that makes libsystemd fail (at most {} s)…",
            signal_name(signo).split(' ').next().unwrap_or("a signal"),
            files.len(),
            HUNT_BUDGET.as_secs()
        );
        let _ = match hunt(&exe, config, &files) {
            Hunt::Found(path, signo) => write!(
                msg,
                "\nthe journal file {} makes libsystemd fail: `sigil-top entries --file` on it alone is killed by {} too (journalctl --file most likely aborts on it as well). Move it out of the directory, or leave it out of --file, and start again",
                crate::text::sanitize(&path.display().to_string()),
                signal_name(signo)
            ),
            Hunt::NotFound { tried, skipped } => write!(
                msg,
                "\nno single journal file reproduces it ({tried} read alone without a crash{}); the inputs were: {}",
                if skipped > 0 {
                    format!(", {skipped} not tried within {} s", HUNT_BUDGET.as_secs())
                } else {
                    String::new()
                },
                crate::text::sanitize(
                    &config
                        .inputs
                        .iter()
                        .map(InputSpec::describe)
                        .collect::<Vec<_>>()
                        .join("; ")
                )
            ),
        };
    }
    Err(anyhow::anyhow!(msg))
}

/// Copies the child's standard error to ours as it comes, keeping the last
/// [`TAIL_BYTES`].
fn relay_stderr(mut from: impl Read, tail: &Mutex<VecDeque<u8>>) {
    let mut buf = [0u8; 4096];
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        let _ = std::io::stderr().write_all(&buf[..n]);
        let mut tail = tail
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        tail.extend(&buf[..n]);
        let excess = tail.len().saturating_sub(TAIL_BYTES);
        tail.drain(..excess);
    }
}

/// Waits until the child exits or is killed, forwarding signals and following its
/// stops (see the module doc). Returns how it ended.
fn wait_forwarding_signals(pid: Pid) -> anyhow::Result<WaitStatus> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the supervisor's runtime")?;
    runtime.block_on(async move {
        let (tx, mut rx) = tokio::sync::mpsc::channel(4);
        std::thread::Builder::new()
            .name("screen-wait".into())
            .spawn(move || loop {
                match rustix::process::waitpid(Some(pid), WaitOptions::UNTRACED) {
                    Ok(Some((_, status))) => {
                        let is_over = !status.stopped();
                        if tx.blocking_send(status).is_err() || is_over {
                            return;
                        }
                    }
                    Ok(None) | Err(rustix::io::Errno::INTR) => {}
                    Err(_) => return,
                }
            })
            .context("starting the supervisor's wait thread")?;
        let kind = |n| SignalKind::from_raw(n);
        let mut term = signal(SignalKind::terminate())?;
        let mut hup = signal(SignalKind::hangup())?;
        let mut int = signal(SignalKind::interrupt())?;
        let mut tstp = signal(kind(signal_hook::consts::SIGTSTP))?;
        let mut cont = signal(kind(signal_hook::consts::SIGCONT))?;
        let forward = |sig| {
            let _ = rustix::process::kill_process(pid, sig);
        };
        loop {
            tokio::select! {
                status = rx.recv() => match status {
                    Some(status) if status.stopped() => {
                        // Stop with the child, so the shell sees the whole job stopped;
                        // `fg` continues both.
                        let _ = signal_hook::low_level::raise(signal_hook::consts::SIGSTOP);
                    }
                    Some(status) => return Ok(status),
                    None => anyhow::bail!("lost track of the screen's process"),
                },
                _ = term.recv() => forward(Signal::TERM),
                _ = hup.recv() => forward(Signal::HUP),
                _ = int.recv() => forward(Signal::INT),
                _ = tstp.recv() => forward(Signal::TSTP),
                _ = cont.recv() => forward(Signal::CONT),
            }
        }
    })
}

/// Puts the terminal back as the shell had it: its termios (raw mode off, echo on), the
/// main screen, the cursor, no mouse reporting.
fn restore_terminal(saved: Option<&rustix::termios::Termios>) {
    if let Some(termios) = saved {
        let _ = rustix::termios::tcsetattr(
            std::io::stdin(),
            rustix::termios::OptionalActions::Now,
            termios,
        );
    }
    let _ = crossterm::execute!(
        std::io::stdout(),
        crossterm::event::DisableMouseCapture,
        crossterm::terminal::LeaveAlternateScreen,
        crossterm::cursor::Show
    );
}

/// Signals that mean the process crashed (rather than was stopped by someone).
fn is_crash(signo: i32) -> bool {
    use signal_hook::consts::{SIGABRT, SIGBUS, SIGFPE, SIGILL, SIGSEGV, SIGSYS, SIGTRAP};
    [SIGABRT, SIGBUS, SIGFPE, SIGILL, SIGSEGV, SIGSYS, SIGTRAP].contains(&signo)
}

fn signal_name(signo: i32) -> String {
    use signal_hook::consts as c;
    let name = match signo {
        c::SIGABRT => "SIGABRT (an abort: libsystemd's assertions end this way)",
        c::SIGSEGV => "SIGSEGV (an invalid memory access)",
        c::SIGBUS => "SIGBUS (a mapped file changed or shrank under it)",
        c::SIGKILL => "SIGKILL (kill -9, or the kernel's out-of-memory killer)",
        c::SIGILL => "SIGILL",
        c::SIGFPE => "SIGFPE",
        c::SIGTRAP => "SIGTRAP",
        c::SIGSYS => "SIGSYS",
        c::SIGTERM => "SIGTERM",
        c::SIGQUIT => "SIGQUIT",
        _ => return format!("signal {signo}"),
    };
    name.to_owned()
}

/// The journal files the inputs name, newest first: `--file` as given, `-D DIR`'s files
/// and those one directory down (journalctl's layout, `DIR/<machine-id>/`), and for the
/// system journal `/var/log/journal` and `/run/log/journal` the same way.
fn journal_files(config: &Config) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for input in &config.inputs {
        match input {
            InputSpec::Files(paths) => files.extend(paths.iter().cloned()),
            InputSpec::Directory(dir) => journal_files_in(dir, &mut files),
            InputSpec::System => {
                for dir in ["/var/log/journal", "/run/log/journal"] {
                    journal_files_in(Path::new(dir), &mut files);
                }
            }
            InputSpec::Stdin | InputSpec::TextFile(_) | InputSpec::Demo => {}
        }
    }
    let modified = |p: &PathBuf| {
        std::fs::metadata(p)
            .and_then(|m| m.modified())
            .unwrap_or(SystemTime::UNIX_EPOCH)
    };
    files.sort_by_key(|p| std::cmp::Reverse(modified(p)));
    files.dedup();
    files
}

fn journal_files_in(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(read) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in read.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.ends_with(".journal") || name.ends_with(".journal~") {
            out.push(path);
        } else if entry.file_type().is_ok_and(|t| t.is_dir()) {
            if let Ok(sub) = std::fs::read_dir(&path) {
                out.extend(sub.flatten().map(|e| e.path()).filter(|p| {
                    p.extension()
                        .is_some_and(|x| x == "journal" || x == "journal~")
                }));
            }
        }
    }
}

enum Hunt {
    /// This file, read alone, kills the reader with this signal.
    Found(PathBuf, i32),
    NotFound {
        tried: usize,
        skipped: usize,
    },
}

/// Reads each of `files` alone (`sigil-top entries --file F -o export` with the run's
/// units, output discarded) until one kills its reader by a crash signal.
fn hunt(exe: &Path, config: &Config, files: &[PathBuf]) -> Hunt {
    let started = Instant::now();
    let mut tried = 0;
    for (i, file) in files.iter().enumerate() {
        if started.elapsed() >= HUNT_BUDGET {
            return Hunt::NotFound {
                tried,
                skipped: files.len() - i,
            };
        }
        let mut cmd = Command::new(exe);
        cmd.arg("entries")
            .arg("--file")
            .arg(file)
            .args(["-o", "export", "-q"]);
        for unit in &config.units.units {
            cmd.arg("-u").arg(unit.to_string());
        }
        let Ok(mut reader) = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
        else {
            continue;
        };
        tried += 1;
        let deadline =
            Instant::now() + HUNT_PER_FILE.min(HUNT_BUDGET.saturating_sub(started.elapsed()));
        let status = loop {
            match reader.try_wait() {
                Ok(Some(status)) => break Some(status),
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(10));
                }
                _ => {
                    let _ = reader.kill();
                    let _ = reader.wait();
                    break None;
                }
            }
        };
        if let Some(signo) = status.and_then(|s| s.signal()).filter(|&s| is_crash(s)) {
            return Hunt::Found(file.clone(), signo);
        }
    }
    Hunt::NotFound { tried, skipped: 0 }
}
