//! Helpers for the integration tests: journal export text, real journal files built with
//! `systemd-journal-remote`, running the real binary, and polling with a deadline.
//!
//! Owns no assertions about sigil-top's behaviour; the test modules do.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

pub const JOURNAL_REMOTE: &str = "/lib/systemd/systemd-journal-remote";
pub const BOOT_ID: &str = "755d2835719afa40384e79cfd83f117e";

/// The built `sigil-top` binary.
pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_sigil-top"))
}

/// A file from `tests/data/`.
pub fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

/// One journal record to write as export text; fields in the order added.
#[derive(Debug, Clone)]
pub struct Record {
    pub fields: Vec<(String, Vec<u8>)>,
}

impl Record {
    /// A record with the header fields journald writes (time in µs since the epoch).
    pub fn at(realtime_us: u64) -> Record {
        Record {
            fields: vec![
                (
                    "__REALTIME_TIMESTAMP".into(),
                    realtime_us.to_string().into_bytes(),
                ),
                (
                    "__MONOTONIC_TIMESTAMP".into(),
                    (realtime_us % 100_000_000_000).to_string().into_bytes(),
                ),
                ("_BOOT_ID".into(), BOOT_ID.into()),
            ],
        }
    }

    pub fn field(mut self, name: &str, value: impl AsRef<[u8]>) -> Record {
        self.fields.push((name.into(), value.as_ref().to_vec()));
        self
    }

    /// A line a service's process wrote to stdout.
    pub fn service(
        realtime_us: u64,
        host: &str,
        unit: &str,
        pid: u32,
        comm: &str,
        message: impl AsRef<[u8]>,
    ) -> Record {
        Record::at(realtime_us)
            .field("_TRANSPORT", "stdout")
            .field("PRIORITY", "6")
            .field("SYSLOG_IDENTIFIER", comm)
            .field("_PID", pid.to_string())
            .field("_UID", "998")
            .field("_COMM", comm)
            .field("_SYSTEMD_UNIT", unit)
            .field("_HOSTNAME", host)
            .field("MESSAGE", message)
    }

    /// A line PID 1 wrote about `unit`.
    pub fn pid1(realtime_us: u64, host: &str, unit: &str, message: &str) -> Record {
        Record::at(realtime_us)
            .field("_TRANSPORT", "journal")
            .field("PRIORITY", "6")
            .field("SYSLOG_IDENTIFIER", "systemd")
            .field("_PID", "1")
            .field("_UID", "0")
            .field("_COMM", "systemd")
            .field("_SYSTEMD_UNIT", "init.scope")
            .field("UNIT", unit)
            .field("_HOSTNAME", host)
            .field("MESSAGE", message)
    }
}

/// Export text for `records`: a value with a newline or that is not printable UTF-8 is
/// written in the binary form (name, u64 LE length, bytes), as journalctl does.
pub fn export_text(records: &[Record]) -> Vec<u8> {
    let mut out = Vec::new();
    for r in records {
        for (name, value) in &r.fields {
            let is_text = std::str::from_utf8(value)
                .is_ok_and(|s| !s.chars().any(|c| c.is_control() && c != '\t'));
            out.extend_from_slice(name.as_bytes());
            if is_text {
                out.push(b'=');
                out.extend_from_slice(value);
            } else {
                out.push(b'\n');
                out.extend_from_slice(&(value.len() as u64).to_le_bytes());
                out.extend_from_slice(value);
            }
            out.push(b'\n');
        }
        out.push(b'\n');
    }
    out
}

/// Writes `export` into `dir/NAME.journal` with the real `systemd-journal-remote`.
pub fn make_journal(dir: &Path, name: &str, export: &[u8]) -> PathBuf {
    let source = dir.join(format!("{name}.export.tmp"));
    std::fs::write(&source, export).unwrap();
    let target = dir.join(format!("{name}.journal"));
    let out = Command::new(JOURNAL_REMOTE)
        .arg("-o")
        .arg(&target)
        .arg(&source)
        .output()
        .expect("running systemd-journal-remote");
    assert!(
        out.status.success(),
        "systemd-journal-remote failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::remove_file(&source).unwrap();
    target
}

/// A temporary directory holding `STEM.journal`, built from the export file
/// `tests/data/NAME` with the real `systemd-journal-remote`.
pub fn journal_of_data(name: &str, stem: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let export = std::fs::read(data(name)).unwrap();
    make_journal(dir.path(), stem, &export);
    dir
}

/// `sigil-top snapshot -D JOURNAL -o OUT EXTRA…`, asserting success: the bundle's path
/// (or its archive's, with `--archive`), as printed.
pub fn snapshot_bundle(journal: &Path, out: &Path, extra: &[&str]) -> PathBuf {
    let mut args = vec![
        "snapshot",
        "-D",
        journal.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let stdout = sigil_top_ok(&args, None);
    PathBuf::from(String::from_utf8(stdout).unwrap().trim())
}

/// Runs `sigil-top ARGS` with `stdin`, returning its output (whatever the exit status).
pub fn sigil_top(args: &[&str], stdin: Option<&[u8]>) -> Output {
    run(Command::new(bin()).args(args), stdin)
}

/// Runs `sigil-top ARGS`, asserting success; returns stdout.
pub fn sigil_top_ok(args: &[&str], stdin: Option<&[u8]>) -> Vec<u8> {
    let out = sigil_top(args, stdin);
    assert!(
        out.status.success(),
        "sigil-top {args:?} failed ({}):\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// Runs `journalctl ARGS`, asserting success; returns stdout.
pub fn journalctl(args: &[&str]) -> Vec<u8> {
    let out = run(Command::new("journalctl").args(args), None);
    assert!(
        out.status.success(),
        "journalctl {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

pub fn run(cmd: &mut Command, stdin: Option<&[u8]>) -> Output {
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawning");
    if let Some(bytes) = stdin {
        let mut pipe = child.stdin.take().unwrap();
        let bytes = bytes.to_vec();
        // Write on a thread so a child that fills its stdout pipe first cannot deadlock us.
        std::thread::spawn(move || {
            let _ = pipe.write_all(&bytes);
        });
    }
    child.wait_with_output().expect("waiting")
}

/// A small deterministic generator (xorshift), so a failure can be replayed by seed.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// A number in `0..n`.
    pub fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % n as u64).unwrap()
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// JSON Lines to values.
pub fn json_lines(bytes: &[u8]) -> Vec<serde_json::Value> {
    bytes
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_slice(l).expect("a JSON line"))
        .collect()
}

/// Polls `condition` every 20 ms until it holds or `timeout` passes (then panics with
/// `what`).
pub fn wait_for(timeout: Duration, what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    loop {
        if condition() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Asserts two lists are equal, printing the first difference in readable blocks.
pub fn assert_same<T: PartialEq + std::fmt::Debug>(what: &str, expected: &[T], actual: &[T]) {
    if expected == actual {
        return;
    }
    let first = expected
        .iter()
        .zip(actual)
        .position(|(a, b)| a != b)
        .unwrap_or(expected.len().min(actual.len()));
    panic!(
        "{what}: {} expected, {} actual; first difference at #{first}\n--- expected\n{:#?}\n--- actual\n{:#?}",
        expected.len(),
        actual.len(),
        expected.get(first),
        actual.get(first)
    );
}

/// The real binary running in the background, its stdout and stderr collected line by
/// line; killed when dropped.
pub struct Live {
    child: std::process::Child,
    lines: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    err_lines: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    /// The threads collecting the two pipes (they end when the process does).
    collectors: Vec<std::thread::JoinHandle<()>>,
}

impl Live {
    pub fn spawn(args: &[&str]) -> Live {
        Live::spawn_with_env(args, &[])
    }

    /// As [`Live::spawn`], with these variables added to the environment.
    pub fn spawn_with_env(args: &[&str], env: &[(&str, &str)]) -> Live {
        use std::io::BufRead;
        let mut child = Command::new(bin())
            .args(args)
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawning sigil-top");
        let mut collectors = Vec::new();
        let mut collect = |pipe: Box<dyn std::io::Read + Send>| {
            let lines = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
            let sink = std::sync::Arc::clone(&lines);
            collectors.push(std::thread::spawn(move || {
                for line in std::io::BufReader::new(pipe).lines() {
                    let Ok(line) = line else { break };
                    sink.lock().expect("lines").push(line);
                }
            }));
            lines
        };
        let lines = collect(Box::new(child.stdout.take().expect("stdout")));
        let err_lines = collect(Box::new(child.stderr.take().expect("stderr")));
        Live {
            child,
            lines,
            err_lines,
            collectors,
        }
    }

    /// Lines written to standard error so far.
    pub fn err_lines(&self) -> Vec<String> {
        self.err_lines.lock().expect("lines").clone()
    }

    /// Lines printed so far.
    pub fn lines(&self) -> Vec<String> {
        self.lines.lock().expect("lines").clone()
    }

    /// How many lines were printed so far (without copying them).
    pub fn count(&self) -> usize {
        self.lines.lock().expect("lines").len()
    }

    /// Kills the process and returns every line it printed (read to the pipe's end).
    pub fn stop(mut self) -> Vec<String> {
        let _ = self.child.kill();
        let _ = self.child.wait();
        for collector in self.collectors.drain(..) {
            collector.join().expect("collecting the output");
        }
        self.lines()
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Sends a signal to the process.
    pub fn signal(&self, sig: &str) {
        let _ = Command::new("kill")
            .args([&format!("-{sig}"), &self.child.id().to_string()])
            .status();
    }

    /// Waits for the process to exit (within `timeout`), returning its status code.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<i32> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status.code();
            }
            if Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A terminal for the real binary: a private tmux server (its own socket in a temp dir, so
/// tests never touch the user's tmux) with one session of a fixed size. The server is
/// killed on drop.
pub struct Tmux {
    dir: tempfile::TempDir,
}

impl Tmux {
    /// Starts `command` (run by `sh -c`) in a `width`×`height` session.
    pub fn start(command: &str, width: u16, height: u16) -> Tmux {
        let tmux = Tmux {
            dir: tempfile::tempdir().unwrap(),
        };
        let out = tmux
            .cmd()
            .args(["new-session", "-d", "-s", "main"])
            .args(["-x", &width.to_string(), "-y", &height.to_string()])
            .arg(command)
            .env_remove("NO_COLOR")
            .output()
            .expect("running tmux");
        assert!(
            out.status.success(),
            "tmux new-session failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        tmux
    }

    fn cmd(&self) -> Command {
        let mut cmd = Command::new("tmux");
        cmd.arg("-S").arg(self.dir.path().join("socket"));
        cmd
    }

    fn run(&self, args: &[&str]) -> String {
        let out = self.cmd().args(args).output().expect("running tmux");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Runs a tmux command against this server (`set -s set-clipboard on`,
    /// `show-buffer`, `pipe-pane`); returns its output.
    pub fn command(&self, args: &[&str]) -> String {
        self.run(args)
    }

    /// Sends keys as `tmux send-keys` names them (`q`, `Tab`, `Enter`, `Escape`, `Down`).
    pub fn send(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "main"];
        args.extend_from_slice(keys);
        self.run(&args);
    }

    /// Resizes the window, as a user dragging the terminal's corner does (the program
    /// gets SIGWINCH).
    pub fn resize(&self, width: u16, height: u16) {
        self.run(&[
            "resize-window",
            "-t",
            "main",
            "-x",
            &width.to_string(),
            "-y",
            &height.to_string(),
        ]);
    }

    /// The visible screen as text.
    pub fn screen(&self) -> String {
        self.run(&["capture-pane", "-p", "-t", "main"])
    }

    /// A pane variable (`#{pane_title}`, `#{alternate_on}`, `#{pane_pid}`).
    pub fn display(&self, format: &str) -> String {
        self.run(&["display-message", "-p", "-t", "main", format])
            .trim_end()
            .to_owned()
    }

    /// Waits until the screen shows every one of `texts`; returns that screen. On timeout
    /// the panic shows the last screen.
    pub fn wait_for(&self, texts: &[&str], timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            let screen = self.screen();
            if texts.iter().all(|t| screen.contains(t)) {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "timed out after {timeout:?} waiting for {texts:?}; the screen:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits until the screen no longer shows `text`; returns that screen.
    pub fn wait_gone(&self, text: &str, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            let screen = self.screen();
            if !screen.contains(text) {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "timed out after {timeout:?} waiting for {text:?} to go; the screen:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The pid of the pane's shell's first child (the program it runs).
    pub fn child_pid(&self) -> u32 {
        let shell = self.display("#{pane_pid}");
        let children =
            std::fs::read_to_string(format!("/proc/{shell}/task/{shell}/children")).unwrap();
        children
            .split_whitespace()
            .next()
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("no child of the pane's shell {shell}"))
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.cmd().arg("kill-server").output();
    }
}

/// `sigil-top report ARGS --format json`, asserting success: the report document.
pub fn report_json(args: &[&str], stdin: Option<&[u8]>) -> serde_json::Value {
    let mut argv = vec!["report"];
    argv.extend_from_slice(args);
    argv.extend(["--format", "json"]);
    let out = sigil_top_ok(&argv, stdin);
    serde_json::from_slice(&out).expect("report --format json prints one JSON document")
}

/// The report of a snapshot bundle replayed (`report --replay BUNDLE`).
pub fn replayed_report(bundle: &Path) -> serde_json::Value {
    report_json(&["--replay", bundle.to_str().unwrap()], None)
}

/// `sigil-top report --format json` over a real journal built from `export` text.
pub fn report_of_export(export: &[u8]) -> serde_json::Value {
    let dir = tempfile::tempdir().unwrap();
    make_journal(dir.path(), "x", export);
    report_json(&["-D", dir.path().to_str().unwrap()], None)
}
