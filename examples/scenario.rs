//! Deterministic generator of journal exports that look like a real Sigil MCP server behind a
//! real cloudflared, for demos, model tests and benchmarks.
//!
//! It owns: a seeded PRNG (splitmix64, so output depends only on the flags), a small simulation
//! of the world (origin process epochs, the four QUIC tunnel connections, MCP clients with
//! sessions, an uptime monitor, scanners, an SSE stream), the exact line shapes of both
//! programs, PID 1's unit messages, noise from other units, and a ground-truth summary of what
//! it generated. It does not own parsing or detection: it never reads `src/`.
//!
//! Key types: [`Gen`] (the simulation and the records it emits), [`Script`] (when incidents
//! happen), [`Truth`] (what a correct analysis should find), [`Rng`].
//!
//! Line shapes are copied from the real captures in `../shared/fixtures/real/` and from
//! `../shared/formats/sigil-mcp.md` §5 and `../shared/formats/cloudflared.md` §7 (observed
//! behaviour wins over the source reading). Decisions worth knowing:
//! - Slow `search_repo` calls run concurrently, as if the deployment ran synchronous tools in a
//!   worker thread. The stock 1.0.1 server blocks its event loop instead (sigil-mcp.md §5); that
//!   variant would turn every concurrent request into an edge timeout and is not modelled.
//! - The edge gives up exactly 100 s after cloudflared's request line (cloudflared.md §5).
//! - An abandoned request (edge timeout or client abort) gets the server's `Outgoing 200` but no
//!   uvicorn access line and no cloudflared status line, as in the capture.
//! - Times are whole journal µs; realtime is made strictly increasing after sorting, so a line
//!   may move by a few µs from where it was planned.
//!
//! Usage: `cargo run --example scenario -- --preset demo -o assets/demo.export --truth
//! assets/demo.truth.json`. Check the output with `systemd-journal-remote -o DIR/x.journal FILE`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use chrono::{DateTime, Utc};
use clap::{Parser, ValueEnum};
use serde_json::{json, Value};

const SEC: u64 = 1_000_000;
const MS: u64 = 1_000;
/// 2026-11-25T17:05:16Z, the day the real captures were taken.
const DEFAULT_START_US: u64 = 1_795_626_316_000_000;
/// Journal µs since boot at `--start-us`; the capture's host had been up about 12 hours.
const UPTIME_AT_START_US: u64 = 43_741_381_131;
const HOST: &str = "mcp-host";
const PUBLIC_HOST: &str = "mcp.example.com";
const ORIGIN: &str = "http://localhost:8000";
const EDGE_TIMEOUT_US: u64 = 100 * SEC;
const REFUSED: &str = "Unable to reach the origin service. The service may be down or it may not be responding to traffic from cloudflared: dial tcp 127.0.0.1:8000: connect: connection refused";
const CANCELED: &str = "Incoming request ended abruptly: context canceled";
const CF_TOKEN: &str = "eyJhIjoiOWYyZDFjNGI3ZTZhNTgzMDFkMmMzYjRhNTk2ODdmMGUiLCJ0IjoiNWYxYzJhOWUtN2IzZC00ZThhLTljNDEtMmQ2YjhlMGYzYTE3IiwicyI6IkFBRUNBd1FGQmdjSUNRb0xEQTBPRHhBUkVoTVVGUllYR0JrYUd4d2RIaDg9In0=";

#[derive(Parser, Debug)]
#[command(
    about = "Write a realistic, deterministic journal export of sigil-mcp.service and cloudflared.service",
    after_help = "Presets other than demo and bench are the small focused scenarios in tests/data/scenarios/. \
                  --noise-pct defaults to 4 for demo and bench and to 0 for the focused presets."
)]
struct Args {
    /// Which story to generate.
    #[arg(long, value_enum, default_value_t = Preset::Demo)]
    preset: Preset,
    /// Approximate number of entries to generate (bench preset only).
    #[arg(long, default_value_t = 100_000)]
    entries: usize,
    /// Realtime of the first entry, in µs since the Unix epoch.
    #[arg(long, default_value_t = DEFAULT_START_US)]
    start_us: u64,
    /// PRNG seed; the same flags always give the same bytes.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Share of entries, in percent (0–90), from other units that unit filters must exclude.
    #[arg(long)]
    noise_pct: Option<f64>,
    /// How the Sigil server renders its records (sigil-mcp.md §2).
    #[arg(long, value_enum, default_value_t = SigilFormat::Kv)]
    sigil_format: SigilFormat,
    /// cloudflared's `--loglevel`; at info it writes nothing for a successful request.
    #[arg(long, value_enum, default_value_t = CfLevel::Debug)]
    cloudflared_level: CfLevel,
    /// Write the export here instead of stdout.
    #[arg(short = 'o', long)]
    output: Option<PathBuf>,
    /// Write the ground-truth summary (JSON) here.
    #[arg(long)]
    truth: Option<PathBuf>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Preset {
    Demo,
    Bench,
    Normal,
    #[value(name = "restart_502")]
    Restart502,
    #[value(name = "crash_502")]
    Crash502,
    #[value(name = "edge_timeouts")]
    EdgeTimeouts,
    #[value(name = "tunnel_flap")]
    TunnelFlap,
    #[value(name = "tunnel_down")]
    TunnelDown,
    /// A busy day: ~4 requests/s over the four connections, a slow spell with a dozen
    /// overlapping 100–180 s tool calls (edge timeouts) and client aborts among the quick
    /// traffic on the same connections, a restart and a crash (issue 16).
    Busy,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum SigilFormat {
    Kv,
    Stock,
    Json,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum CfLevel {
    Debug,
    Info,
}

fn main() -> Result<()> {
    let args = Args::parse();
    let noise_pct = args.noise_pct.unwrap_or(match args.preset {
        Preset::Demo | Preset::Bench => 4.0,
        _ => 0.0,
    });
    if !(0.0..=90.0).contains(&noise_pct) {
        bail!("--noise-pct must be between 0 and 90, got {noise_pct}");
    }
    let mut gen = Gen::new(&args, noise_pct);
    gen.run(&Script::for_preset(args.preset), args.entries);
    let text = gen.render();
    match &args.output {
        Some(path) => std::fs::write(path, &text)
            .with_context(|| format!("writing export {}", path.display()))?,
        None => std::io::stdout()
            .lock()
            .write_all(text.as_bytes())
            .context("writing export to stdout")?,
    }
    if let Some(path) = &args.truth {
        let mut doc = serde_json::to_string_pretty(&gen.truth_json(&args, noise_pct))?;
        doc.push('\n');
        std::fs::write(path, doc).with_context(|| format!("writing truth {}", path.display()))?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// PRNG and time helpers

/// splitmix64: tiny, fast, and good enough for shaping traffic; never used for anything secret.
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)`.
    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1_u64 << 53) as f64
    }

    fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }

    fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    fn index(&mut self, len: usize) -> usize {
        usize::try_from(self.next_u64() % (len.max(1) as u64)).unwrap_or(0)
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.index(items.len())]
    }

    /// Standard normal (Box–Muller).
    fn normal(&mut self) -> f64 {
        let u1 = self.unit().max(f64::MIN_POSITIVE);
        let u2 = self.unit();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }

    /// Whole µs in `[lo_us, hi_us]`.
    fn us_between(&mut self, lo_us: u64, hi_us: u64) -> u64 {
        lo_us + self.next_u64() % (hi_us - lo_us + 1)
    }

    fn hex(&mut self, digits: usize) -> String {
        let mut s = String::with_capacity(digits);
        while s.len() < digits {
            let _ = write!(s, "{:016x}", self.next_u64());
        }
        s.truncate(digits);
        s
    }

    fn uuid4(&mut self) -> String {
        let h = self.hex(32);
        let variant = ["8", "9", "a", "b"][self.index(4)];
        format!(
            "{}-{}-4{}-{variant}{}-{}",
            &h[0..8],
            &h[8..12],
            &h[13..16],
            &h[17..20],
            &h[20..32]
        )
    }
}

/// Seconds (possibly fractional) to whole µs. Inputs are small positive script constants.
#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
fn us(seconds: f64) -> u64 {
    (seconds * 1e6).round().max(0.0) as u64
}

fn datetime(t_us: u64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(i64::try_from(t_us).unwrap_or(i64::MAX)).unwrap_or_default()
}

// ---------------------------------------------------------------------------------------------
// Text encodings the two programs use

/// Python `json.dumps` string escaping with `ensure_ascii=True`, including the quotes.
fn py_json_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || (c as u32) > 0x7e => {
                let mut buf = [0_u16; 2];
                for unit in c.encode_utf16(&mut buf) {
                    let _ = write!(out, "\\u{unit:04x}");
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Go `encoding/json` string escaping (as cloudflared re-marshals objects), including quotes.
fn go_json_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// zerolog's console writer: bare unless the value has a space, quote, backslash or a byte
/// outside printable ASCII; then Go `strconv.Quote`.
fn zerolog_value(s: &str) -> String {
    let needs_quote = s.is_empty()
        || s.bytes()
            .any(|b| !(0x21..=0x7e).contains(&b) || b == b'"' || b == b'\\');
    if !needs_quote {
        return s.to_owned();
    }
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The Sigil middleware logs the first 500 characters of an MCP response body.
fn truncated_body(body: &str) -> String {
    if body.chars().count() <= 500 {
        return body.to_owned();
    }
    let mut s: String = body.chars().take(500).collect();
    s.push_str("... [truncated]");
    s
}

// ---------------------------------------------------------------------------------------------
// Journal records

/// One journal entry before cursors are assigned: `fields` follow the four `__`/`_BOOT_ID`
/// header fields, in the order journald writes them for this transport.
struct Rec {
    t_us: u64,
    order: u64,
    fields: Vec<(&'static str, String)>,
}

/// A process writing to journald through its stdout/stderr stream (or syslog for sshd).
#[derive(Clone)]
struct Proc {
    unit: &'static str,
    ident: &'static str,
    pid: u32,
    uid: u32,
    comm: &'static str,
    exe: &'static str,
    cmdline: String,
    stream_id: String,
    invocation: String,
    is_syslog: bool,
}

/// A PID 1 message about a unit (`_PID=1`, `_TRANSPORT=journal`, `UNIT=`).
struct Pid1<'a> {
    unit: &'static str,
    message: String,
    priority: u8,
    code_file: &'static str,
    code_func: &'static str,
    message_id: &'static str,
    extra: Vec<(&'static str, String)>,
    invocation: &'a str,
}

// ---------------------------------------------------------------------------------------------
// The world being simulated

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Tool {
    Ping,
    ListRepos,
    SearchCode,
    ReadRepoFile,
    SearchRepo,
    /// `search_repo` on the large `mono` repository: the slow call.
    SearchRepoMono,
}

impl Tool {
    fn name(self) -> &'static str {
        match self {
            Tool::Ping => "ping",
            Tool::ListRepos => "list_repos",
            Tool::SearchCode => "search_code",
            Tool::ReadRepoFile => "read_repo_file",
            Tool::SearchRepo | Tool::SearchRepoMono => "search_repo",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Call {
    Initialize,
    Initialized,
    ToolsList,
    Tool(Tool),
    Healthz,
    Probe(&'static str),
    Sse,
}

impl Call {
    fn is_get(self) -> bool {
        matches!(self, Call::Healthz | Call::Probe(_) | Call::Sse)
    }

    fn path(self) -> &'static str {
        match self {
            Call::Healthz => "/healthz",
            Call::Probe(p) => p,
            Call::Sse => "/mcp/sse",
            _ => "/",
        }
    }

    fn needs_session(self) -> bool {
        matches!(self, Call::Initialized | Call::ToolsList | Call::Tool(_))
    }

    /// Median server time in ms; the tail is added in [`Gen::latency_us`].
    fn median_ms(self) -> f64 {
        match self {
            Call::Healthz | Call::Probe(_) | Call::Initialized | Call::Sse => 1.2,
            Call::Initialize => 5.0,
            Call::ToolsList | Call::Tool(Tool::Ping | Tool::ListRepos) => 3.5,
            Call::Tool(Tool::ReadRepoFile) => 4.0,
            Call::Tool(Tool::SearchCode) => 11.0,
            Call::Tool(Tool::SearchRepo) => 16.0,
            Call::Tool(Tool::SearchRepoMono) => 1800.0,
        }
    }

    fn label(self) -> String {
        match self {
            Call::Initialize => "initialize".into(),
            Call::Initialized => "notifications/initialized".into(),
            Call::ToolsList => "tools/list".into(),
            Call::Tool(t) => format!("tools/call:{}", t.name()),
            Call::Healthz => "GET /healthz".into(),
            Call::Probe(_) => "GET probe".into(),
            Call::Sse => "GET /mcp/sse".into(),
        }
    }
}

/// What happens to a request besides the normal path.
#[derive(Clone, Copy, Debug)]
enum Mode {
    Normal,
    /// The edge gives up after 100 s; the server answers after `server_us`.
    EdgeTimeout {
        server_us: u64,
    },
    /// The visitor cancels after `after_us`; the server answers after `server_us`.
    Abort {
        after_us: u64,
        server_us: u64,
    },
    /// A long-lived stream the client closes after `lifetime_us`.
    Stream {
        lifetime_us: u64,
    },
}

enum Outcome {
    Answered { done_us: u64 },
    BadGateway,
    StaleSession,
    Unreachable,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum ClientKind {
    Mcp,
    Monitor,
    Scanner,
    /// Driven only by the script (slow calls, the SSE stream).
    Scripted,
}

struct Client {
    kind: ClientKind,
    ip: String,
    colo: &'static str,
    ua: &'static str,
    /// (origin epoch, `mcp-session-id`) of the last successful initialize.
    session: Option<(usize, String)>,
    rpc_id: u64,
    next_us: u64,
    /// The call to retry after a 502, and how many retries were made.
    retry: Option<(Call, u32)>,
    init_step: u8,
}

/// A time when the origin accepts connections, and the process doing it.
struct Epoch {
    accept_from_us: u64,
    accept_until_us: u64,
    proc_: Proc,
    index_ready: bool,
}

struct Conn {
    ip: &'static str,
    location: &'static str,
    registered_from_us: u64,
    next_stream: u64,
}

/// When things go wrong, in seconds from the first entry.
struct Script {
    duration_s: f64,
    clients: usize,
    sse_at_s: Option<f64>,
    restart_at_s: Vec<f64>,
    crash_at_s: Vec<f64>,
    slow_at_s: Option<f64>,
    /// A slow spell under load: many overlapping long tool calls (busy preset).
    busy_slow_at_s: Option<f64>,
    flap_at_s: Option<f64>,
    down_at_s: Option<f64>,
    /// Keep going until the entry target is met (bench).
    open_ended: bool,
}

impl Script {
    fn for_preset(preset: Preset) -> Script {
        let base = Script {
            duration_s: 60.0,
            clients: 3,
            sse_at_s: None,
            restart_at_s: Vec::new(),
            crash_at_s: Vec::new(),
            slow_at_s: None,
            busy_slow_at_s: None,
            flap_at_s: None,
            down_at_s: None,
            open_ended: false,
        };
        match preset {
            Preset::Demo => Script {
                duration_s: 300.0,
                clients: 4,
                sse_at_s: Some(18.0),
                restart_at_s: vec![55.0],
                slow_at_s: Some(80.0),
                flap_at_s: Some(140.0),
                crash_at_s: vec![225.0],
                ..base
            },
            Preset::Bench => Script {
                duration_s: f64::INFINITY,
                clients: 12,
                sse_at_s: Some(30.0),
                // One restart every 10 minutes and a crash every 30 keep the incident paths hot.
                restart_at_s: (0..2000).map(|i| 300.0 + 600.0 * f64::from(i)).collect(),
                crash_at_s: (0..700).map(|i| 1500.0 + 1800.0 * f64::from(i)).collect(),
                open_ended: true,
                ..base
            },
            Preset::Normal => Script {
                sse_at_s: Some(12.0),
                ..base
            },
            Preset::Restart502 => Script {
                duration_s: 50.0,
                restart_at_s: vec![20.0],
                ..base
            },
            Preset::Crash502 => Script {
                duration_s: 50.0,
                crash_at_s: vec![20.0],
                ..base
            },
            Preset::EdgeTimeouts => Script {
                duration_s: 150.0,
                clients: 2,
                slow_at_s: Some(15.0),
                ..base
            },
            Preset::TunnelFlap => Script {
                duration_s: 50.0,
                flap_at_s: Some(20.0),
                ..base
            },
            Preset::TunnelDown => Script {
                duration_s: 60.0,
                down_at_s: Some(25.0),
                ..base
            },
            Preset::Busy => Script {
                duration_s: 600.0,
                clients: 16,
                sse_at_s: Some(40.0),
                busy_slow_at_s: Some(120.0),
                restart_at_s: vec![420.0],
                crash_at_s: vec![520.0],
                ..base
            },
        }
    }
}

#[derive(Clone, Copy, Debug)]
enum Event {
    Restart,
    Crash,
    Slow,
    BusySlow,
    Flap,
    Down,
    Sse,
}

/// Ground truth: what a correct reading of the generated journal finds. Counts are requests,
/// not lines.
#[derive(Default)]
struct Truth {
    /// Requests cloudflared received (one DBG request line each at debug level).
    edge_requests: u64,
    /// Requests cloudflared wrote a response line for (at debug level): what it alone saw
    /// answered.
    tunnel_answered: u64,
    /// The largest "tunnel overhead" of one of them: its response line's time minus its
    /// request line's, minus the server's logged `duration_ms` (what a correct pairing of
    /// the lines finds; a response line given to the wrong request shows far more).
    tunnel_overhead_max_us: u64,
    /// Requests the origin answered (an `Outgoing` record), streams included.
    answered: u64,
    by_status: BTreeMap<u16, u64>,
    by_call: BTreeMap<String, u64>,
    /// Answered by the origin, but the visitor never got it (edge timeout or abort).
    abandoned: u64,
    stale_session_400: u64,
    streams: u64,
    bad_gateway_refused: u64,
    edge_timeouts: u64,
    client_aborts: u64,
    /// Requests the edge could not deliver because no tunnel connection was registered (530).
    unreachable: u64,
    disconnects: u64,
    down_us: u64,
    restarts: u64,
    crashes: u64,
    auto_restarts: u64,
    events: Vec<Value>,
    origin_down_windows: Vec<(u64, u64)>,
}

struct Gen {
    rng: Rng,
    start_us: u64,
    sigil_format: SigilFormat,
    cf_level: CfLevel,
    noise_pct: f64,
    recs: Vec<Rec>,
    order: u64,
    boot_id: String,
    seqnum_id: String,
    machine_id: String,
    connector_id: String,
    cf: Proc,
    epochs: Vec<Epoch>,
    conns: Vec<Conn>,
    /// (connection index, lost at, registered again at or `u64::MAX`).
    conn_down: Vec<(usize, u64, u64)>,
    clients: Vec<Client>,
    next_pid: u32,
    next_job: u32,
    sigil_unit_invocation: String,
    end_us: u64,
    truth: Truth,
}

impl Gen {
    fn new(args: &Args, noise_pct: f64) -> Gen {
        let mut rng = Rng(args.seed ^ 0x5167_1170_u64.rotate_left(17));
        let boot_id = rng.hex(32);
        let seqnum_id = rng.hex(32);
        let machine_id = rng.hex(32);
        let connector_id = rng.uuid4();
        let loglevel = match args.cloudflared_level {
            CfLevel::Debug => " --loglevel debug",
            CfLevel::Info => "",
        };
        let cf = Proc {
            unit: "cloudflared.service",
            ident: "cloudflared",
            pid: 13612,
            uid: 0,
            comm: "cloudflared",
            exe: "/usr/bin/cloudflared",
            cmdline: format!(
                "/usr/bin/cloudflared --no-autoupdate tunnel{loglevel} run --token {CF_TOKEN}"
            ),
            stream_id: rng.hex(32),
            invocation: rng.hex(32),
            is_syslog: false,
        };
        let conns = [
            ("198.41.192.67", "dfw08"),
            ("198.41.200.13", "dfw01"),
            ("198.41.192.107", "dfw06"),
            ("198.41.200.73", "dfw02"),
        ]
        .into_iter()
        .map(|(ip, location)| Conn {
            ip,
            location,
            registered_from_us: u64::MAX,
            next_stream: 1,
        })
        .collect();
        Gen {
            rng,
            start_us: args.start_us,
            sigil_format: args.sigil_format,
            cf_level: args.cloudflared_level,
            noise_pct,
            recs: Vec::new(),
            order: 0,
            boot_id,
            seqnum_id,
            machine_id,
            connector_id,
            cf,
            epochs: Vec::new(),
            conns,
            conn_down: Vec::new(),
            clients: Vec::new(),
            next_pid: 13607,
            next_job: 1794,
            sigil_unit_invocation: String::new(),
            end_us: args.start_us,
            truth: Truth::default(),
        }
    }

    // --- emitting -------------------------------------------------------------------------

    fn push(&mut self, t_us: u64, fields: Vec<(&'static str, String)>) {
        self.order += 1;
        self.recs.push(Rec {
            t_us,
            order: self.order,
            fields,
        });
    }

    fn line(&mut self, p: &Proc, t_us: u64, message: String) {
        let mut f: Vec<(&'static str, String)> = Vec::with_capacity(20);
        if p.is_syslog {
            f.push(("_TRANSPORT", "syslog".into()));
            f.push(("PRIORITY", "6".into()));
            f.push(("SYSLOG_FACILITY", "4".into()));
            f.push(("SYSLOG_IDENTIFIER", p.ident.into()));
            f.push(("SYSLOG_PID", p.pid.to_string()));
            f.push((
                "SYSLOG_TIMESTAMP",
                datetime(t_us).format("%b %e %H:%M:%S ").to_string(),
            ));
        } else {
            f.push(("_TRANSPORT", "stdout".into()));
            f.push(("_STREAM_ID", p.stream_id.clone()));
            f.push(("PRIORITY", "6".into()));
            f.push(("SYSLOG_FACILITY", "3".into()));
            f.push(("SYSLOG_IDENTIFIER", p.ident.into()));
        }
        f.push(("MESSAGE", message));
        f.push(("_PID", p.pid.to_string()));
        f.push(("_UID", p.uid.to_string()));
        f.push(("_GID", p.uid.to_string()));
        f.push(("_COMM", p.comm.into()));
        f.push(("_EXE", p.exe.into()));
        f.push(("_CMDLINE", p.cmdline.clone()));
        f.push(("_CAP_EFFECTIVE", "1ffffffffff".into()));
        f.push(("_SYSTEMD_CGROUP", format!("/system.slice/{}", p.unit)));
        f.push(("_SYSTEMD_UNIT", p.unit.into()));
        f.push(("_SYSTEMD_SLICE", "system.slice".into()));
        f.push(("_SYSTEMD_INVOCATION_ID", p.invocation.clone()));
        f.push(("_MACHINE_ID", self.machine_id.clone()));
        f.push(("_HOSTNAME", HOST.into()));
        self.push(t_us, f);
    }

    fn pid1(&mut self, t_us: u64, m: Pid1<'_>) {
        let mut f: Vec<(&'static str, String)> = vec![
            ("PRIORITY", m.priority.to_string()),
            ("SYSLOG_FACILITY", "3".into()),
            ("TID", "1".into()),
            ("SYSLOG_IDENTIFIER", "systemd".into()),
            ("_PID", "1".into()),
            ("_UID", "0".into()),
            ("_GID", "0".into()),
            ("_COMM", "systemd".into()),
            ("_EXE", "/usr/lib/systemd/systemd".into()),
            ("_CMDLINE", "/sbin/init".into()),
            ("_CAP_EFFECTIVE", "1ffffffffff".into()),
            ("_SYSTEMD_CGROUP", "/init.scope".into()),
            ("_SYSTEMD_UNIT", "init.scope".into()),
            ("_SYSTEMD_SLICE", "-.slice".into()),
            ("_TRANSPORT", "journal".into()),
            ("CODE_FILE", m.code_file.into()),
            ("CODE_FUNC", m.code_func.into()),
            ("MESSAGE_ID", m.message_id.into()),
            ("UNIT", m.unit.into()),
            ("MESSAGE", m.message),
        ];
        f.extend(m.extra);
        f.push(("INVOCATION_ID", m.invocation.to_owned()));
        f.push(("_MACHINE_ID", self.machine_id.clone()));
        f.push(("_HOSTNAME", HOST.into()));
        self.push(t_us, f);
    }

    fn job(&mut self, t_us: u64, unit: &'static str, kind: JobMsg, job_type: &str) {
        let job_id = self.next_job;
        let desc = unit_description(unit);
        let (message, func, id, done) = match kind {
            JobMsg::Starting => (
                format!("Starting {unit} - {desc}..."),
                "job_emit_start_message",
                "7d4958e842da4a758f6c1cdc7b36dcc5",
                false,
            ),
            JobMsg::Started => (
                format!("Started {unit} - {desc}."),
                "job_emit_done_message",
                "39f53479d3a045ac8e11786248231fbf",
                true,
            ),
            JobMsg::Stopping => (
                format!("Stopping {unit} - {desc}..."),
                "job_emit_start_message",
                "de5b426a63be47a7b6ac3eaac82e2f6f",
                false,
            ),
            JobMsg::Stopped => (
                format!("Stopped {unit} - {desc}."),
                "job_emit_done_message",
                "9d1aaa27d60140bd96365438aad20286",
                true,
            ),
        };
        let mut extra = vec![
            ("JOB_ID", job_id.to_string()),
            ("JOB_TYPE", job_type.to_owned()),
        ];
        if done {
            extra.push(("JOB_RESULT", "done".into()));
        }
        let invocation = self.invocation_of(unit);
        self.pid1(
            t_us,
            Pid1 {
                unit,
                message,
                priority: 6,
                code_file: "src/core/job.c",
                code_func: func,
                message_id: id,
                extra,
                invocation: &invocation,
            },
        );
    }

    fn unit_note(&mut self, t_us: u64, unit: &'static str, note: UnitNote) {
        let invocation = self.invocation_of(unit);
        let m = match note {
            UnitNote::Deactivated => Pid1 {
                unit,
                message: format!("{unit}: Deactivated successfully."),
                priority: 6,
                code_file: "src/core/unit.c",
                code_func: "unit_log_success",
                message_id: "7ad2d189f7e94e70a38c781354912448",
                extra: Vec::new(),
                invocation: &invocation,
            },
            UnitNote::Consumed(cpu_ns) => Pid1 {
                unit,
                message: format!(
                    "{unit}: Consumed {}.{:03}s CPU time.",
                    cpu_ns / 1_000_000_000,
                    cpu_ns / 1_000_000 % 1000
                ),
                priority: 6,
                code_file: "src/core/unit.c",
                code_func: "unit_log_resources",
                message_id: "ae8f7b866b0347b9af31fe1c80b127c0",
                extra: vec![("CPU_USAGE_NSEC", cpu_ns.to_string())],
                invocation: &invocation,
            },
            UnitNote::Killed => Pid1 {
                unit,
                message: format!("{unit}: Main process exited, code=killed, status=9/KILL"),
                priority: 4,
                code_file: "src/core/unit.c",
                code_func: "unit_log_process_exit",
                message_id: "98e322203f7a4ed290d09fe03c09fe15",
                extra: vec![
                    ("EXIT_CODE", "killed".into()),
                    ("EXIT_STATUS", "9".into()),
                    ("COMMAND", "ExecStart".into()),
                ],
                invocation: &invocation,
            },
            UnitNote::FailedSignal => Pid1 {
                unit,
                message: format!("{unit}: Failed with result 'signal'."),
                priority: 4,
                code_file: "src/core/unit.c",
                code_func: "unit_log_failure",
                message_id: "d9b373ed55a64feb8242e02dbe79a49c",
                extra: vec![("UNIT_RESULT", "signal".into())],
                invocation: &invocation,
            },
            UnitNote::RestartScheduled(n) => Pid1 {
                unit,
                message: format!("{unit}: Scheduled restart job, restart counter is at {n}."),
                priority: 6,
                code_file: "src/core/service.c",
                code_func: "service_enter_restart",
                message_id: "5eb03494b6584870a536b337290809b3",
                extra: vec![("N_RESTARTS", n.to_string())],
                invocation: &invocation,
            },
        };
        self.pid1(t_us, m);
    }

    fn invocation_of(&self, unit: &str) -> String {
        if unit == self.cf.unit {
            self.cf.invocation.clone()
        } else {
            self.sigil_unit_invocation.clone()
        }
    }

    /// One Sigil application record (logging module), rendered in the deployment's format.
    fn app(
        &mut self,
        p: &Proc,
        t_us: u64,
        level: &str,
        logger: &str,
        msg: &str,
        extras: &[(&str, V)],
    ) {
        let format = if p.unit == "sigil-mcp.service" {
            self.sigil_format
        } else {
            SigilFormat::Kv
        };
        let when = datetime(t_us);
        let text = match format {
            SigilFormat::Stock | SigilFormat::Kv => {
                let mut s = format!(
                    "{} [{level}] {logger} - {msg}",
                    when.format("%Y-%m-%d %H:%M:%S")
                );
                if format == SigilFormat::Kv {
                    for (k, v) in extras {
                        let _ = write!(s, " {k}={}", v.kv());
                    }
                }
                s
            }
            SigilFormat::Json => {
                let mut s = format!(
                    "{{\"asctime\": \"{}\", \"levelname\": \"{level}\", \"name\": \"{logger}\", \"message\": {}",
                    when.format("%Y-%m-%d %H:%M:%S,%3f"),
                    py_json_str(msg)
                );
                for (k, v) in extras {
                    let _ = write!(s, ", \"{k}\": {}", v.json());
                }
                s.push('}');
                s
            }
        };
        self.line(p, t_us, text);
    }

    /// One cloudflared console line; DBG lines are dropped at `--cloudflared-level info`.
    fn cf(&mut self, t_us: u64, level: &str, msg: &str, fields: &[(&str, F)]) {
        if level == "DBG" && self.cf_level == CfLevel::Info {
            return;
        }
        let mut s = format!(
            "{} {level} {msg}",
            datetime(t_us).format("%Y-%m-%dT%H:%M:%SZ")
        );
        let mut sorted: Vec<&(&str, F)> = fields.iter().collect();
        sorted.sort_by_key(|(k, _)| (*k != "error", *k));
        for (k, v) in sorted {
            let _ = write!(s, " {k}={}", v.render());
        }
        let cf = self.cf.clone();
        self.line(&cf, t_us, s);
    }

    fn conn_fields(&self, ci: usize) -> Vec<(&'static str, F)> {
        vec![
            ("connIndex", F::N(ci as u64)),
            ("event", F::N(0)),
            ("ip", F::S(self.conns[ci].ip.into())),
        ]
    }

    fn request_fields(ci: usize) -> Vec<(&'static str, F)> {
        vec![
            ("connIndex", F::N(ci as u64)),
            ("event", F::N(1)),
            ("ingressRule", F::N(0)),
            ("originService", F::S(ORIGIN.into())),
        ]
    }

    // --- world queries --------------------------------------------------------------------

    fn epoch_at(&self, t_us: u64) -> Option<usize> {
        self.epochs
            .iter()
            .position(|e| e.accept_from_us <= t_us && t_us < e.accept_until_us)
    }

    fn conns_up(&self, t_us: u64) -> Vec<usize> {
        (0..self.conns.len())
            .filter(|&i| {
                self.conns[i].registered_from_us <= t_us
                    && !self
                        .conn_down
                        .iter()
                        .any(|&(c, from, until)| c == i && from <= t_us && t_us < until)
            })
            .collect()
    }

    // --- lifecycle ------------------------------------------------------------------------

    fn new_sigil_proc(&mut self) -> Proc {
        let pid = self.next_pid;
        self.next_pid += 118 + u32::try_from(self.rng.index(40)).unwrap_or(0);
        Proc {
            unit: "sigil-mcp.service",
            ident: "python",
            pid,
            uid: 0,
            comm: "python",
            exe: "/usr/bin/python3.11",
            cmdline: "/opt/sigil-mcp/venv/bin/python -m sigil_mcp.server".into(),
            stream_id: self.rng.hex(32),
            invocation: self.sigil_unit_invocation.clone(),
            is_syslog: false,
        }
    }

    /// PID 1 `Started`, then the server's banner; returns when uvicorn listens.
    fn sigil_start(&mut self, t_us: u64, after_restart: bool) -> u64 {
        self.sigil_unit_invocation = self.rng.hex(32);
        if !after_restart {
            self.job(t_us, "sigil-mcp.service", JobMsg::Starting, "start");
        }
        let started_at = t_us + 2 * MS + self.rng.us_between(0, 900);
        self.job(started_at, "sigil-mcp.service", JobMsg::Started, "start");
        self.next_job += 1;
        let p = self.new_sigil_proc();
        let mut t = t_us + us(self.rng.range(1.4, 2.3));
        let info = "sigil_repos_mcp";
        let banner: [(&str, &str); 14] = [
            ("INFO", "Logging to file: /var/lib/sigil-mcp/logs/server.log"),
            ("WARNING", "Could not locate underlying ASGI app on FastMCP; header logging middleware not installed. Check FastMCP API for correct attribute name."),
            ("INFO", "Sigil MCP starting (mode=dev, auth_enabled=False, allow_local_bypass=True, oauth_enabled=True)"),
            ("INFO", "Embeddings: enabled=False provider=llamacpp model=/home/dave/models/jina/jina-embeddings-v2-base-code-Q4_K_M.gguf lance_dir=/var/lib/sigil-mcp/index/lancedb"),
            ("INFO", "Admin API: enabled=False host=127.0.0.1 port=8765 require_api_key=False"),
            ("INFO", "Configured 2 repos: tiny=/var/lib/sigil-mcp/tinyrepo, mono=/var/lib/sigil-mcp/mono"),
            ("INFO", "Starting sigil_repos MCP server (transport=streamable-http)"),
            ("WARNING", "============================================================"),
            ("WARNING", "[WARNING]  AUTHENTICATION DISABLED"),
            ("WARNING", "============================================================"),
            ("WARNING", "To enable authentication, set:"),
            ("WARNING", "  export SIGIL_MCP_AUTH_ENABLED=true"),
            ("WARNING", ""),
            ("INFO", "Admin UI autostart skipped: admin API disabled"),
        ];
        for (i, (level, msg)) in banner.iter().enumerate() {
            t += if i == 1 || i == 6 {
                self.rng.us_between(2 * MS, 10 * MS)
            } else {
                self.rng.us_between(20, 200)
            };
            self.app(&p, t, level, info, msg, &[]);
        }
        let plain = [
            "/opt/sigil-mcp/venv/lib/python3.11/site-packages/websockets/legacy/__init__.py:6: DeprecationWarning: websockets.legacy is deprecated; see https://websockets.readthedocs.io/en/stable/howto/upgrade.html for upgrade instructions",
            "  warnings.warn(  # deprecated in 14.0 - 2024-11-09",
            "/opt/sigil-mcp/venv/lib/python3.11/site-packages/uvicorn/protocols/websockets/websockets_impl.py:17: DeprecationWarning: websockets.server.WebSocketServerProtocol is deprecated",
            "  from websockets.server import WebSocketServerProtocol",
        ];
        for (i, msg) in plain.iter().enumerate() {
            t += if i % 2 == 0 {
                self.rng.us_between(8 * MS, 20 * MS)
            } else {
                self.rng.us_between(5, 30)
            };
            self.line(&p, t, (*msg).to_owned());
        }
        t += self.rng.us_between(500, 9 * MS);
        self.line(
            &p,
            t,
            format!("INFO:     Started server process [{}]", p.pid),
        );
        t += self.rng.us_between(10, 60);
        self.line(&p, t, "INFO:     Waiting for application startup.".into());
        t += self.rng.us_between(3 * MS, 20 * MS);
        self.app(
            &p,
            t,
            "INFO",
            "mcp.server.streamable_http_manager",
            "StreamableHTTP session manager started",
            &[],
        );
        t += self.rng.us_between(100, 1200);
        self.line(&p, t, "INFO:     Application startup complete.".into());
        t += self.rng.us_between(20, 300);
        self.line(
            &p,
            t,
            "INFO:     Uvicorn running on http://127.0.0.1:8000 (Press CTRL+C to quit)".into(),
        );
        self.epochs.push(Epoch {
            accept_from_us: t,
            accept_until_us: u64::MAX,
            proc_: p,
            index_ready: false,
        });
        t
    }

    fn cloudflared_start(&mut self, t_us: u64) {
        self.job(t_us, "cloudflared.service", JobMsg::Starting, "start");
        let mut t = t_us + us(self.rng.range(0.15, 0.3));
        let settings = match self.cf_level {
            CfLevel::Debug => "Settings: map[loglevel:debug no-autoupdate:true token:*****]",
            CfLevel::Info => "Settings: map[no-autoupdate:true token:*****]",
        };
        let connector = format!("Generated Connector ID: {}", self.connector_id);
        let banner: Vec<CfLine> = vec![
            ("INF", "Starting tunnel".into(), vec![("tunnelID", F::S("5f1c2a9e-7b3d-4e8a-9c41-2d6b8e0f3a17".into()))]),
            ("INF", "Version 2026.8.2 (Checksum 193f657ef7682332fff1a0fb4ebd6140a82d2111c499993079e3c165d05b14fa)".into(), vec![]),
            ("INF", "GOOS: linux, GOVersion: go1.26.4, GoArch: amd64".into(), vec![]),
            ("INF", settings.into(), vec![]),
            ("INF", connector, vec![]),
            ("INF", "Initial protocol quic".into(), vec![]),
            ("INF", "ICMP proxy will use 10.0.0.12 as source for IPv4".into(), vec![]),
            ("INF", "ICMP proxy will use fe80::be24:11ff:fe5e:3c1a in zone eth0 as source for IPv6".into(), vec![]),
            ("WRN", "The user running cloudflared process has a GID (group ID) that is not within ping_group_range. You might need to add that user to a group within that range, or instead update the range to encompass a group the user is already in by modifying /proc/sys/net/ipv4/ping_group_range. Otherwise cloudflared will not be able to ping this network".into(), vec![("error", F::S("Group ID 0 is not between ping group 1 to 0".into()))]),
            ("WRN", "ICMP proxy feature is disabled".into(), vec![("error", F::S("cannot create ICMPv4 proxy: Group ID 0 is not between ping group 1 to 0 nor ICMPv6 proxy: socket: permission denied".into()))]),
            ("INF", "Starting metrics server on 127.0.0.1:20241/metrics".into(), vec![]),
        ];
        for (level, msg, fields) in &banner {
            t += self.rng.us_between(50, 900);
            self.cf(t, level, msg, fields);
        }
        for ci in 0..self.conns.len() {
            t += if ci == 0 {
                us(self.rng.range(0.2, 0.5))
            } else {
                us(self.rng.range(0.6, 1.2))
            };
            let registered = self.register(t, ci, None);
            if ci == 0 {
                let config = format!(
                    "{{\"ingress\":[{{\"hostname\":\"{PUBLIC_HOST}\",\"service\":\"{ORIGIN}\",\"originRequest\":{{\"connectTimeout\":30}}}},{{\"service\":\"http_status:404\"}}],\"warp-routing\":{{\"enabled\":false}}}}"
                );
                let t_cfg = registered + self.rng.us_between(5 * MS, 40 * MS);
                self.cf(
                    t_cfg,
                    "INF",
                    "Updated to new configuration",
                    &[("config", F::S(config)), ("version", F::N(1))],
                );
                // Type=notify: systemd calls the unit started once one connection is up.
                let started_at = t_cfg + self.rng.us_between(3 * MS, 15 * MS);
                self.job(started_at, "cloudflared.service", JobMsg::Started, "start");
                self.next_job += 1;
            }
            t = registered;
        }
    }

    /// Curve preferences, DBG registering, INF registered; returns the registration time.
    fn register(
        &mut self,
        t_us: u64,
        ci: usize,
        new_ip: Option<(&'static str, &'static str)>,
    ) -> u64 {
        if let Some((ip, location)) = new_ip {
            self.conns[ci].ip = ip;
            self.conns[ci].location = location;
        }
        let fields = self.conn_fields(ci);
        self.cf(
            t_us,
            "INF",
            "Tunnel connection curve preferences: [X25519MLKEM768 CurveID(65074) CurveP256]",
            &fields,
        );
        let mut dbg = fields.clone();
        dbg.push(("protocol", F::S("quic".into())));
        let t_reg = t_us + self.rng.us_between(20 * MS, 60 * MS);
        self.cf(t_reg, "DBG", "Registering tunnel connection", &dbg);
        let done = t_reg + self.rng.us_between(30 * MS, 90 * MS);
        let mut inf = dbg;
        inf.push(("connection", F::S(self.rng.uuid4())));
        inf.push(("location", F::S(self.conns[ci].location.into())));
        self.cf(done, "INF", "Registered tunnel connection", &inf);
        if self.conns[ci].registered_from_us == u64::MAX {
            self.conns[ci].registered_from_us = done;
        }
        done
    }

    /// `systemctl restart sigil-mcp`: graceful stop, then a new process.
    fn restart(&mut self, t_us: u64) {
        let unit = "sigil-mcp.service";
        self.job(t_us, unit, JobMsg::Stopping, "restart");
        let Some(cur) = self.epoch_at(t_us) else {
            return;
        };
        let p = self.epochs[cur].proc_.clone();
        let mut t = t_us + self.rng.us_between(35 * MS, 60 * MS);
        self.line(&p, t, "INFO:     Shutting down".into());
        // uvicorn stops listening at its first shutdown line: from here cloudflared gets refused.
        self.epochs[cur].accept_until_us = t;
        let stop_from = t;
        t += self.rng.us_between(90 * MS, 110 * MS);
        self.line(&p, t, "INFO:     Waiting for application shutdown.".into());
        t += self.rng.us_between(100, 400);
        self.app(
            &p,
            t,
            "INFO",
            "mcp.server.streamable_http_manager",
            "StreamableHTTP session manager shutting down",
            &[],
        );
        t += self.rng.us_between(500, 1500);
        self.line(&p, t, "INFO:     Application shutdown complete.".into());
        t += self.rng.us_between(30, 90);
        self.line(
            &p,
            t,
            format!("INFO:     Finished server process [{}]", p.pid),
        );
        t += self.rng.us_between(10 * MS, 20 * MS);
        self.unit_note(t, unit, UnitNote::Deactivated);
        self.job(t + 6, unit, JobMsg::Stopped, "restart");
        let cpu = 1_500_000_000 + self.rng.next_u64() % 3_000_000_000;
        self.unit_note(t + 30, unit, UnitNote::Consumed(cpu));
        let start_at = t + self.rng.us_between(2 * MS, 4 * MS);
        let listening = self.sigil_start(start_at, true);
        self.nudge_clients_into(stop_from + 30 * MS, listening.saturating_sub(200 * MS));
        self.truth.restarts += 1;
        self.truth.origin_down_windows.push((stop_from, listening));
        self.truth.events.push(json!({
            "kind": "restart", "unit": unit, "at_us": t_us,
            "refusing_from_us": stop_from, "listening_again_us": listening,
        }));
    }

    /// A restart refuses connections for only about two seconds; with a handful of clients
    /// that window is often empty. Busy clients make the scenario show what it is about:
    /// most MCP clients that would be idle then send their next call inside the window.
    fn nudge_clients_into(&mut self, from_us: u64, until_us: u64) {
        for cl in 0..self.clients.len() {
            if self.clients[cl].kind != ClientKind::Mcp || !self.rng.chance(0.7) {
                continue;
            }
            let target = self.rng.us_between(from_us, until_us.max(from_us));
            if self.clients[cl].next_us < target {
                self.clients[cl].next_us = target;
            }
        }
    }

    /// SIGKILL (e.g. the OOM killer); `Restart=on-failure`, `RestartSec=5`.
    fn crash(&mut self, t_us: u64) {
        let unit = "sigil-mcp.service";
        let Some(cur) = self.epoch_at(t_us) else {
            return;
        };
        self.epochs[cur].accept_until_us = t_us;
        self.unit_note(t_us, unit, UnitNote::Killed);
        self.unit_note(t_us + 150, unit, UnitNote::FailedSignal);
        let cpu = 2_000_000_000 + self.rng.next_u64() % 4_000_000_000;
        self.unit_note(t_us + 190, unit, UnitNote::Consumed(cpu));
        let t = t_us + 5 * SEC + self.rng.us_between(0, 3 * MS);
        self.unit_note(t, unit, UnitNote::RestartScheduled(1));
        // The restart job turns into a start job with the same id once the stop half is done.
        self.job(t + 40, unit, JobMsg::Stopped, "restart");
        let listening = self.sigil_start(t + 60, false);
        self.truth.crashes += 1;
        self.truth.auto_restarts += 1;
        self.truth.origin_down_windows.push((t_us, listening));
        self.truth.events.push(json!({
            "kind": "crash", "unit": unit, "at_us": t_us, "signal": "KILL",
            "restart_scheduled_us": t, "listening_again_us": listening,
        }));
    }

    /// One QUIC connection dropped by an idle timeout, then registered again.
    fn flap(&mut self, t_us: u64, ci: usize) {
        let back = self.lose_connection(t_us, ci, false);
        let t_dial = back + self.rng.us_between(200 * MS, 900 * MS);
        let registered = self.register(t_dial + 2 * SEC, ci, Some(("198.41.192.27", "dfw06")));
        self.conn_down.push((ci, t_us, registered));
        self.truth.disconnects += 1;
        self.truth.events.push(json!({
            "kind": "tunnel_flap", "conn_index": ci, "lost_us": t_us, "registered_again_us": registered,
        }));
    }

    /// The failure sequence of cloudflared.md §3 for one connection; `none_left` makes the
    /// connection-aware lines ERR. Returns when the retry starts.
    fn lose_connection(&mut self, t_us: u64, ci: usize, none_left: bool) -> u64 {
        let fields = self.conn_fields(ci);
        let aware = if none_left { "ERR" } else { "WRN" };
        let with_err = |e: &str| {
            let mut f = fields.clone();
            f.push(("error", F::S(e.into())));
            f
        };
        let accept = with_err("failed to accept QUIC stream: timeout: no recent network activity");
        let datagram = with_err("timeout: no recent network activity");
        let serve = with_err("accept stream listener encountered a failure while serving");
        let mut t = t_us;
        self.cf(
            t,
            "ERR",
            "failed to accept incoming stream requests",
            &accept,
        );
        t += self.rng.us_between(20, 400);
        self.cf(t, "ERR", "failed to run the datagram handler", &datagram);
        t += self.rng.us_between(20, 400);
        self.cf(t, aware, "failed to serve tunnel connection", &serve);
        t += self.rng.us_between(20, 200);
        self.cf(t, aware, "Serve tunnel error", &serve);
        t += self.rng.us_between(20, 200);
        self.cf(t, "INF", "Retrying connection in up to 1s", &fields);
        t += self.rng.us_between(20, 200);
        let terminated = [
            ("connIndex", F::N(ci as u64)),
            (
                "error",
                F::S("accept stream listener encountered a failure while serving".into()),
            ),
        ];
        self.cf(t, aware, "Connection terminated", &terminated);
        t
    }

    /// All four connections lost (the host's network went away); cloudflared keeps dialling
    /// with exponential backoff and never registers again before the end.
    fn tunnel_down(&mut self, t_us: u64, end_us: u64) {
        let order = [2_usize, 0, 3, 1];
        let mut t = t_us;
        for (k, &ci) in order.iter().enumerate() {
            let none_left = k == order.len() - 1;
            self.lose_connection(t, ci, none_left);
            self.conn_down.push((ci, t, u64::MAX));
            self.truth.disconnects += 1;
            if none_left {
                self.truth.down_us = end_us.saturating_sub(t);
                self.truth.events.push(json!({
                    "kind": "tunnel_down", "last_lost_us": t, "registered_again_us": Value::Null,
                }));
            }
            t += self.rng.us_between(50 * MS, 600 * MS);
        }
        for &ci in &order {
            let mut t = t_us + self.rng.us_between(SEC, 2 * SEC);
            let mut backoff_s = 1_u64;
            loop {
                // A QUIC dial gives up after 5 s of silence.
                t += 5 * SEC + self.rng.us_between(0, 30 * MS);
                if t >= end_us {
                    break;
                }
                let mut f = self.conn_fields(ci);
                f.push((
                    "error",
                    F::S(
                        "failed to dial to edge with quic: timeout: no recent network activity"
                            .into(),
                    ),
                ));
                self.cf(t, "ERR", "Failed to dial a quic connection", &f);
                backoff_s = (backoff_s * 2).min(64);
                let retry = self.conn_fields(ci);
                let msg = format!("Retrying connection in up to {}", go_duration(backoff_s));
                let t_retry = t + self.rng.us_between(50, 300);
                self.cf(t_retry, "INF", &msg, &retry);
                t += self.rng.us_between(backoff_s * SEC / 2, backoff_s * SEC);
            }
        }
    }

    // --- requests -------------------------------------------------------------------------

    fn latency_us(&mut self, call: Call) -> u64 {
        let median = call.median_ms();
        let mut ms = median * (0.55 * self.rng.normal()).exp();
        if self.rng.chance(0.03) {
            ms *= self.rng.range(4.0, 15.0);
        }
        us(ms.max(0.4) / 1000.0)
    }

    fn add_client(
        &mut self,
        kind: ClientKind,
        ip: &str,
        colo: &'static str,
        next_us: u64,
    ) -> usize {
        let ua = match kind {
            ClientKind::Monitor => "Mozilla/5.0+(compatible; UptimeRobot/2.0; http://www.uptimerobot.com/)",
            ClientKind::Scanner => "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36",
            ClientKind::Mcp | ClientKind::Scripted => "openai-mcp/1.0.0",
        };
        self.clients.push(Client {
            kind,
            ip: ip.to_owned(),
            colo,
            ua,
            session: None,
            rpc_id: 0,
            next_us,
            retry: None,
            init_step: 0,
        });
        self.clients.len() - 1
    }

    /// Serve one request that cloudflared receives at `t_us`, emitting every line both units
    /// would write for it, and update the truth.
    #[allow(clippy::too_many_lines)]
    fn request(&mut self, t_us: u64, cl: usize, call: Call, mode: Mode) -> Outcome {
        let up = self.conns_up(t_us);
        if up.is_empty() {
            self.truth.unreachable += 1;
            return Outcome::Unreachable;
        }
        let ci = *self.rng.pick(&up);
        let stream = self.conns[ci].next_stream;
        self.conns[ci].next_stream += 4;
        let ray = format!("{}-{}", self.rng.hex(16), self.clients[cl].colo);
        let server_us = match mode {
            Mode::Normal => self.latency_us(call),
            Mode::EdgeTimeout { server_us } | Mode::Abort { server_us, .. } => server_us,
            Mode::Stream { lifetime_us } => lifetime_us,
        };
        // A request that would still be running when the process dies is modelled as arriving
        // just after: it gets connection refused instead of a reset.
        let mut t = t_us;
        if let Some(ep) = self.epoch_at(t + MS) {
            let until = self.epochs[ep].accept_until_us;
            if until < t + server_us + 20 * MS && until != u64::MAX {
                t = until + self.rng.us_between(MS, 30 * MS);
            }
        }
        self.truth.edge_requests += 1;
        let client = &self.clients[cl];
        let ip = client.ip.clone();
        let ua = client.ua;
        let session = client.session.clone();
        let rpc_id = client.rpc_id;
        let body_len = request_body_len(call, &mut self.rng);
        let mut hdrs: Vec<(&str, String)> =
            vec![("Host", PUBLIC_HOST.into()), ("User-Agent", ua.into())];
        if let Some(n) = body_len {
            hdrs.push(("Content-Length", n.to_string()));
        }
        let accept = match call {
            Call::Healthz | Call::Probe(_) => "*/*",
            Call::Sse => "text/event-stream",
            _ => "application/json, text/event-stream",
        };
        hdrs.extend([
            ("Accept", accept.to_owned()),
            ("Accept-Encoding", "gzip, br".into()),
            ("Cdn-Loop", "cloudflare; loops=1".into()),
            ("Cf-Connecting-Ip", ip.clone()),
            ("Cf-Ipcountry", "US".into()),
            ("Cf-Ray", ray.clone()),
            ("Cf-Visitor", "{\"scheme\":\"https\"}".into()),
            ("Cf-Warp-Tag-Id", self.connector_id.clone()),
        ]);
        if body_len.is_some() {
            hdrs.push(("Content-Type", "application/json".into()));
        }
        if call.needs_session() {
            hdrs.push(("Mcp-Protocol-Version", "2025-06-18".into()));
            if let Some((_, sid)) = &session {
                hdrs.push(("Mcp-Session-Id", sid.clone()));
            }
        }
        hdrs.extend([
            ("X-Forwarded-For", ip.clone()),
            ("X-Forwarded-Proto", "https".into()),
        ]);
        let method = if call.is_get() { "GET" } else { "POST" };
        let path = call.path();
        let url = format!("https://{PUBLIC_HOST}{path}");

        // cloudflared R1 (DBG): the only place with the ray at this level.
        let mut cf_hdrs: Vec<&(&str, String)> = hdrs.iter().filter(|(k, _)| *k != "Host").collect();
        cf_hdrs.sort_by_key(|(k, _)| *k);
        let mut hjson = String::from("{");
        for (i, (k, v)) in cf_hdrs.iter().enumerate() {
            if i > 0 {
                hjson.push(',');
            }
            let _ = write!(hjson, "{}:[{}]", go_json_str(k), go_json_str(v));
        }
        hjson.push('}');
        let mut r1 = Self::request_fields(ci);
        r1.push(("content-length", F::N(body_len.unwrap_or(0))));
        r1.push(("headers", F::Raw(hjson)));
        r1.push(("host", F::S(PUBLIC_HOST.into())));
        r1.push(("path", F::S(path.into())));
        self.cf(t, "DBG", &format!("{method} {url} HTTP/1.1"), &r1);

        let Some(ep) = self.epoch_at(t + MS) else {
            let t3 = t + self.rng.us_between(400, 3 * MS);
            self.cf(t3, "ERR", "", &{
                let mut f = Self::request_fields(ci);
                f.push(("error", F::S(REFUSED.into())));
                f
            });
            let mut r4 = self.conn_fields(ci);
            r4.push(("error", F::S(REFUSED.into())));
            r4.push(("dest", F::S(url.clone())));
            r4.push(("type", F::S("http".into())));
            let t4 = t3 + self.rng.us_between(4, 40);
            self.cf(t4, "ERR", "Request failed", &r4);
            self.truth.bad_gateway_refused += 1;
            self.truth.events.push(json!({
                "kind": "bad_gateway", "ray": ray, "request_line_us": t, "failed_us": t3,
            }));
            return Outcome::BadGateway;
        };
        let p = self.epochs[ep].proc_.clone();
        // The two units' streams are read independently: now and then the server's Incoming
        // is stamped before cloudflared's request line (cloudflared.md §7).
        let t_in = if self.rng.chance(0.03) {
            t.saturating_sub(self.rng.us_between(20, 400))
        } else {
            t + self.rng.us_between(700, 3_500)
        };
        let request_id = self.rng.uuid4();
        let mut sig_hdrs: Vec<(String, String)> = Vec::new();
        let order = [
            "Host",
            "User-Agent",
            "Content-Length",
            "Accept",
            "Accept-Encoding",
            "Cdn-Loop",
            "Cf-Connecting-Ip",
            "Cf-Ipcountry",
            "Cf-Ray",
            "Cf-Visitor",
            "Cf-Warp-Tag-Id",
            "Connection",
            "Content-Type",
            "Mcp-Protocol-Version",
            "Mcp-Session-Id",
            "X-Forwarded-For",
            "X-Forwarded-Proto",
        ];
        for name in order {
            if name == "Connection" {
                sig_hdrs.push(("connection".into(), "keep-alive".into()));
            } else if let Some((_, v)) = hdrs.iter().find(|(k, _)| *k == name) {
                sig_hdrs.push((name.to_ascii_lowercase(), v.clone()));
            }
        }
        let logger = "sigil_repos_mcp";
        self.app(
            &p,
            t_in,
            "INFO",
            logger,
            "Incoming MCP HTTP request",
            &[
                ("request_id", V::S(request_id.clone())),
                ("method", V::S(method.into())),
                ("path", V::S(path.into())),
                ("client_ip", V::S(ip.clone())),
                ("cf_ray", V::S(ray.clone())),
                ("headers", V::Obj(sig_hdrs)),
            ],
        );

        let stale = call.needs_session() && session.as_ref().map(|s| s.0) != Some(ep);
        // A stale session is refused before any tool runs.
        let server_us = if stale {
            self.rng.us_between(400, 2_500)
        } else {
            server_us
        };
        let (status, reason, resp_len, body): (u16, &str, u64, Option<String>) = if stale {
            (
                400,
                "Bad Request",
                41,
                Some("Bad Request: No valid session ID provided".into()),
            )
        } else {
            match call {
                Call::Healthz => (200, "OK", 15, None),
                Call::Probe(_) => (404, "Not Found", 9, None),
                Call::Initialized => (202, "Accepted", 0, None),
                Call::Sse => (200, "OK", 0, None),
                _ => {
                    let (len, body) = response_body(call, rpc_id, t_in, &mut self.rng);
                    (200, "OK", len, Some(body))
                }
            }
        };
        let mut t_work = t_in + self.rng.us_between(5, 40);
        let mut search_query: Option<&'static str> = None;
        if !stale {
            match call {
                Call::Initialize => {
                    let sid = self.rng.hex(32);
                    let msg = format!("Created new transport with session ID: {sid}");
                    self.app(
                        &p,
                        t_work,
                        "INFO",
                        "mcp.server.streamable_http_manager",
                        &msg,
                        &[],
                    );
                    self.clients[cl].session = Some((ep, sid));
                }
                Call::ToolsList => {
                    self.app(
                        &p,
                        t_work,
                        "INFO",
                        "mcp.server.lowlevel.server",
                        "Processing request of type ListToolsRequest",
                        &[],
                    );
                }
                Call::Tool(tool) => {
                    self.app(
                        &p,
                        t_work,
                        "INFO",
                        "mcp.server.lowlevel.server",
                        "Processing request of type CallToolRequest",
                        &[],
                    );
                    t_work += self.rng.us_between(5, 200);
                    let (args, query) = tool_args(tool, &mut self.rng);
                    search_query = query;
                    let called = format!("{} tool called{args}", tool.name());
                    self.app(&p, t_work, "INFO", logger, &called, &[]);
                    if tool == Tool::SearchCode && !self.epochs[ep].index_ready {
                        self.epochs[ep].index_ready = true;
                        for (lg, m) in [
                            (logger, "Embeddings disabled in config"),
                            ("sigil_mcp.indexer", "Vector index unavailable (startup); trigram search will be used."),
                            ("sigil_mcp.indexer", "Using rocksdict trigram store at /var/lib/sigil-mcp/index/trigrams.rocksdb"),
                            (logger, "Initialized index at /var/lib/sigil-mcp/index"),
                        ] {
                            t_work += self.rng.us_between(3, 3_000);
                            self.app(&p, t_work, "INFO", lg, m, &[]);
                        }
                    }
                }
                _ => {}
            }
        }
        let t_out = t_in + server_us.max(t_work - t_in + 200);
        if let (Call::Tool(Tool::SearchCode), Some(q)) = (call, search_query) {
            let results = 1 + self.rng.index(8);
            let msg = format!(
                "search_code completed repo=tiny query='{q}' results={results} duration=0.00{}s",
                self.rng.index(2)
            );
            let t_done = t_out - self.rng.us_between(100, 150);
            self.app(&p, t_done, "INFO", "sigil_mcp.indexer", &msg, &[]);
        }
        let access = format!("INFO:     {ip}:0 - \"{method} {path} HTTP/1.1\" {status} {reason}");
        let mut outgoing = vec![
            ("request_id", V::S(request_id)),
            ("status_code", V::I(u64::from(status))),
            ("duration_ms", V::I(server_us / 1000)),
            ("path", V::S(path.into())),
            ("method", V::S(method.into())),
        ];
        if let (Some(b), "/") = (&body, path) {
            outgoing.push(("response_body", V::Body(truncated_body(b))));
        }
        let done_us = match mode {
            Mode::Normal => {
                let t_access = t_out - self.rng.us_between(10, 90);
                self.line(&p, t_access, access);
                let t_r2 = if self.rng.chance(0.5) {
                    t_out - self.rng.us_between(1, 9)
                } else {
                    t_out + self.rng.us_between(30, 600)
                };
                let mut r2 = Self::request_fields(ci);
                r2.push(("content-length", F::N(resp_len)));
                self.cf(t_r2, "DBG", &format!("{status} {reason}"), &r2);
                if self.cf_level == CfLevel::Debug {
                    self.truth.tunnel_answered += 1;
                    let overhead = (t_r2 - t).saturating_sub(server_us / 1000 * 1000);
                    self.truth.tunnel_overhead_max_us =
                        self.truth.tunnel_overhead_max_us.max(overhead);
                }
                t_r2.max(t_out)
            }
            Mode::Stream { lifetime_us } => {
                let t_access = t_in + self.rng.us_between(5, 20);
                self.line(&p, t_access, access);
                let t_close = t + lifetime_us;
                let err = format!("stream {stream} canceled by remote with error code 0");
                let mut r3 = Self::request_fields(ci);
                r3.push(("error", F::S(err.clone())));
                self.cf(t_close, "ERR", "", &r3);
                let mut r4 = self.conn_fields(ci);
                r4.push(("error", F::S(err)));
                r4.push(("dest", F::S(url)));
                r4.push(("type", F::S("http".into())));
                let t4 = t_close + self.rng.us_between(5, 30);
                self.cf(t4, "ERR", "Request failed", &r4);
                self.truth.streams += 1;
                t_out
            }
            Mode::EdgeTimeout { .. } | Mode::Abort { .. } => {
                let (gave_up, kind) = match mode {
                    Mode::Abort { after_us, .. } => (t + after_us, "client_abort"),
                    _ => (t + EDGE_TIMEOUT_US, "edge_timeout"),
                };
                let mut r3 = Self::request_fields(ci);
                r3.push(("error", F::S(CANCELED.into())));
                self.cf(gave_up, "ERR", "", &r3);
                let mut r4 = self.conn_fields(ci);
                r4.push(("error", F::S(CANCELED.into())));
                r4.push(("dest", F::S(url)));
                r4.push(("type", F::S("http".into())));
                let t4 = gave_up + self.rng.us_between(100, 400);
                self.cf(t4, "ERR", "Request failed", &r4);
                let mut dbg = self.conn_fields(ci);
                dbg.push((
                    "error",
                    F::S(format!(
                        "stream {stream} canceled by remote with error code 0"
                    )),
                ));
                let t5 = gave_up + self.rng.us_between(450, 600);
                self.cf(t5, "DBG", "Failed to handle QUIC stream", &dbg);
                self.truth.abandoned += 1;
                if kind == "edge_timeout" {
                    self.truth.edge_timeouts += 1;
                } else {
                    self.truth.client_aborts += 1;
                }
                self.truth.events.push(json!({
                    "kind": kind, "ray": ray, "request_line_us": t, "gave_up_us": gave_up,
                    "server_done_us": t_out, "duration_ms": server_us / 1000,
                }));
                gave_up
            }
        };
        self.app(
            &p,
            t_out,
            "INFO",
            logger,
            "Outgoing MCP HTTP response",
            &outgoing,
        );
        self.truth.answered += 1;
        *self.truth.by_status.entry(status).or_default() += 1;
        *self.truth.by_call.entry(call.label()).or_default() += 1;
        if stale {
            self.truth.stale_session_400 += 1;
            return Outcome::StaleSession;
        }
        Outcome::Answered { done_us }
    }

    /// Run one client's own loop until `until_us`.
    fn run_client(&mut self, cl: usize, until_us: u64) {
        while self.clients[cl].next_us < until_us {
            let t = self.clients[cl].next_us;
            match self.clients[cl].kind {
                ClientKind::Scripted => return,
                ClientKind::Monitor => {
                    self.request(t, cl, Call::Healthz, Mode::Normal);
                    self.clients[cl].next_us = t + 10 * SEC + self.rng.us_between(0, 4 * MS);
                }
                ClientKind::Scanner => {
                    let probe = *self.rng.pick(&[
                        "/.env",
                        "/wp-login.php",
                        "/sitemap.xml",
                        "/.git/config",
                        "/robots.txt",
                    ]);
                    let ip = format!("198.51.100.{}", 20 + self.rng.index(220));
                    let colo = *self.rng.pick(&["AMS", "FRA", "SIN"]);
                    self.clients[cl].ip = ip;
                    self.clients[cl].colo = colo;
                    self.request(t, cl, Call::Probe(probe), Mode::Normal);
                    self.clients[cl].next_us = t + us(self.rng.range(15.0, 45.0));
                }
                ClientKind::Mcp => self.mcp_step(cl, t),
            }
        }
    }

    fn mcp_step(&mut self, cl: usize, t: u64) {
        let (call, attempt) = if let Some((call, n)) = self.clients[cl].retry.take() {
            (call, n)
        } else {
            let call = match self.clients[cl].init_step {
                0 => Call::Initialize,
                1 => Call::Initialized,
                2 => Call::ToolsList,
                _ => {
                    let r = self.rng.unit();
                    Call::Tool(if r < 0.18 {
                        Tool::Ping
                    } else if r < 0.33 {
                        Tool::ListRepos
                    } else if r < 0.60 {
                        Tool::SearchCode
                    } else if r < 0.80 {
                        Tool::ReadRepoFile
                    } else {
                        Tool::SearchRepo
                    })
                }
            };
            (call, 0)
        };
        let outcome = self.request(t, cl, call, Mode::Normal);
        let c = &mut self.clients[cl];
        let next = match outcome {
            Outcome::Answered { done_us } => {
                c.rpc_id += 1;
                if c.init_step < 3 {
                    c.init_step += 1;
                    done_us + self.rng.us_between(40 * MS, 300 * MS)
                } else {
                    done_us + us(self.rng.range(0.3, 3.5))
                }
            }
            Outcome::BadGateway => {
                // The client retries twice with new rays, then backs off.
                if attempt < 2 {
                    c.retry = Some((call, attempt + 1));
                    t + if attempt == 0 { 300 * MS } else { 600 * MS }
                        + self.rng.us_between(0, 80 * MS)
                } else {
                    t + us(self.rng.range(2.0, 5.0))
                }
            }
            Outcome::StaleSession => {
                c.init_step = 0;
                c.session = None;
                c.rpc_id = 0;
                t + self.rng.us_between(150 * MS, 600 * MS)
            }
            Outcome::Unreachable => t + us(self.rng.range(2.0, 6.0)),
        };
        self.clients[cl].next_us = next;
    }

    /// Two connector clients initialise, then several `search_repo` calls on the large repo
    /// outlive the edge's 100 s; one quick call on the same route is cancelled by its client.
    fn slow_block(&mut self, t_us: u64) {
        let a = self.add_client(ClientKind::Scripted, "20.171.207.10", "IAD", 0);
        let b = self.add_client(ClientKind::Scripted, "4.227.36.50", "ORD", 0);
        for (k, cl) in [a, b].into_iter().enumerate() {
            let mut t = t_us - 3 * SEC + (k as u64) * 700 * MS;
            for call in [Call::Initialize, Call::Initialized] {
                if let Outcome::Answered { done_us } = self.request(t, cl, call, Mode::Normal) {
                    t = done_us + self.rng.us_between(40 * MS, 200 * MS);
                    self.clients[cl].rpc_id += 1;
                }
            }
        }
        let plan: [(f64, usize, Mode); 5] = [
            (
                0.0,
                a,
                Mode::EdgeTimeout {
                    server_us: us(104.2),
                },
            ),
            (
                3.1,
                b,
                Mode::EdgeTimeout {
                    server_us: us(109.8),
                },
            ),
            (
                5.3,
                a,
                Mode::Abort {
                    after_us: us(3.0),
                    server_us: us(41.7),
                },
            ),
            (
                7.4,
                b,
                Mode::EdgeTimeout {
                    server_us: us(112.5),
                },
            ),
            (
                11.2,
                a,
                Mode::EdgeTimeout {
                    server_us: us(117.0),
                },
            ),
        ];
        for (offset_s, cl, mode) in plan {
            let t = t_us + us(offset_s) + self.rng.us_between(0, 50 * MS);
            self.request(t, cl, Call::Tool(Tool::SearchRepoMono), mode);
            self.clients[cl].rpc_id += 1;
        }
    }

    /// A slow spell under load (busy preset): eight scripted clients start 14 long
    /// `search_repo` calls over 40 s that the server answers after 100–180 s (the edge
    /// gives up at 100 s), and 5 calls their visitors cancel after 1–30 s, while the
    /// ordinary clients keep every connection busy with quick requests.
    fn busy_slow_spell(&mut self, t_us: u64) {
        let clients: Vec<usize> = (0..8)
            .map(|k| {
                let ip = format!("20.171.{}.{}", 200 + k / 4, 10 + k);
                self.add_client(ClientKind::Scripted, &ip, "IAD", 0)
            })
            .collect();
        for (k, &cl) in clients.iter().enumerate() {
            let mut t = t_us - 3 * SEC + (k as u64) * 300 * MS;
            for call in [Call::Initialize, Call::Initialized] {
                if let Outcome::Answered { done_us } = self.request(t, cl, call, Mode::Normal) {
                    t = done_us + self.rng.us_between(40 * MS, 200 * MS);
                    self.clients[cl].rpc_id += 1;
                }
            }
        }
        for (i, &cl) in (0..19u64).zip(clients.iter().cycle()) {
            let t = t_us + i * 2 * SEC + self.rng.us_between(0, 1_500 * MS);
            let mode = if i % 4 == 3 {
                Mode::Abort {
                    after_us: self.rng.us_between(SEC, 30 * SEC),
                    server_us: self.rng.us_between(35 * SEC, 90 * SEC),
                }
            } else {
                Mode::EdgeTimeout {
                    server_us: self.rng.us_between(101 * SEC, 180 * SEC),
                }
            };
            self.request(t, cl, Call::Tool(Tool::SearchRepoMono), mode);
            self.clients[cl].rpc_id += 1;
        }
    }

    fn run(&mut self, script: &Script, entry_target: usize) {
        let t0 = self.start_us;
        self.sigil_start(t0, false);
        self.cloudflared_start(t0 + us(2.0));
        let traffic_from = t0 + us(5.0);
        let end = if script.open_ended {
            u64::MAX
        } else {
            t0 + us(script.duration_s)
        };
        let mcp_clients = [
            ("23.102.140.112", "ORD"),
            ("23.102.140.113", "SJC"),
            ("40.84.180.225", "IAD"),
            ("52.230.152.9", "ORD"),
        ];
        for i in 0..script.clients {
            let (ip, colo) = mcp_clients[i % mcp_clients.len()];
            let ip = if i < mcp_clients.len() {
                ip.to_owned()
            } else {
                format!("20.102.{}.{}", 10 + i / 200, 10 + i % 200)
            };
            let start = traffic_from + self.rng.us_between(0, 3 * SEC);
            self.add_client(ClientKind::Mcp, &ip, colo, start);
        }
        let monitor_from = t0 + us(4.0) + self.rng.us_between(0, 900 * MS);
        self.add_client(ClientKind::Monitor, "216.144.250.150", "DFW", monitor_from);
        self.add_client(
            ClientKind::Scanner,
            "198.51.100.120",
            "AMS",
            traffic_from + us(7.0),
        );

        let mut events: Vec<(u64, Event)> = Vec::new();
        // Operators and kernels do not act on whole seconds.
        let mut at = |s: f64| t0 + us(s) + self.rng.us_between(0, 900 * MS);
        events.extend(script.restart_at_s.iter().map(|&s| (at(s), Event::Restart)));
        events.extend(script.crash_at_s.iter().map(|&s| (at(s), Event::Crash)));
        events.extend(script.slow_at_s.map(|s| (at(s), Event::Slow)));
        events.extend(script.busy_slow_at_s.map(|s| (at(s), Event::BusySlow)));
        events.extend(script.flap_at_s.map(|s| (at(s), Event::Flap)));
        events.extend(script.down_at_s.map(|s| (at(s), Event::Down)));
        events.extend(script.sse_at_s.map(|s| (at(s), Event::Sse)));
        events.sort_by_key(|e| e.0);
        let mut next_event = 0;

        // Advance in 10 s windows so the bench preset can stop at its entry target. Lifecycle
        // events register their whole effect on the world (down windows) when they run, so
        // running them at the start of their window is equivalent to running them in time.
        let noise_share = self.noise_pct / 100.0;
        let main_target = ((entry_target as f64) * (1.0 - noise_share)).max(1.0);
        let mut window = traffic_from;
        loop {
            let window_end = window.saturating_add(10 * SEC).min(end);
            while next_event < events.len() && events[next_event].0 < window_end {
                let (t, ev) = events[next_event];
                next_event += 1;
                match ev {
                    Event::Restart => self.restart(t),
                    Event::Crash => self.crash(t),
                    Event::Slow => self.slow_block(t),
                    Event::BusySlow => self.busy_slow_spell(t),
                    Event::Flap => self.flap(t, 2),
                    Event::Down => self.tunnel_down(t, end),
                    Event::Sse => {
                        let cl = self.add_client(ClientKind::Scripted, "23.102.140.121", "IAD", 0);
                        let lifetime = us(20.0) + self.rng.us_between(0, 900 * MS);
                        self.request(
                            t,
                            cl,
                            Call::Sse,
                            Mode::Stream {
                                lifetime_us: lifetime,
                            },
                        );
                    }
                }
            }
            for cl in 0..self.clients.len() {
                self.run_client(cl, window_end);
            }
            window = window_end;
            if window >= end || (script.open_ended && self.recs.len() as f64 >= main_target) {
                break;
            }
        }
        self.end_us = window;
        self.recs.retain(|r| r.t_us < window + 200 * SEC);
        self.add_noise();
    }

    // --- noise ----------------------------------------------------------------------------

    #[allow(
        clippy::too_many_lines,
        reason = "the noisy neighbours declared one after the other, then their lines"
    )]
    fn add_noise(&mut self) {
        if self.noise_pct <= 0.0 {
            return;
        }
        let main = self.recs.len() as f64;
        let target = main * self.noise_pct / (100.0 - self.noise_pct);
        let from = self.start_us;
        let span = self.recs.iter().map(|r| r.t_us).max().unwrap_or(from) - from;
        let mk = |unit, ident, pid, comm, exe, cmdline: &str, rng: &mut Rng, syslog| Proc {
            unit,
            ident,
            pid,
            uid: 0,
            comm,
            exe,
            cmdline: cmdline.to_owned(),
            stream_id: rng.hex(32),
            invocation: rng.hex(32),
            is_syslog: syslog,
        };
        let nginx = mk(
            "nginx.service",
            "nginx",
            912,
            "nginx",
            "/usr/sbin/nginx",
            "nginx: worker process",
            &mut self.rng,
            false,
        );
        let sshd = mk(
            "sshd.service",
            "sshd",
            1022,
            "sshd",
            "/usr/sbin/sshd",
            "sshd: /usr/sbin/sshd -D [listener] 0 of 10-100 startups",
            &mut self.rng,
            true,
        );
        let other = mk(
            "other-api.service",
            "python",
            2201,
            "python",
            "/usr/bin/python3.11",
            "/opt/other-api/venv/bin/python -m other_api",
            &mut self.rng,
            false,
        );
        let staging = mk(
            "cloudflared-staging.service",
            "cloudflared",
            3301,
            "cloudflared",
            "/usr/bin/cloudflared",
            "/usr/bin/cloudflared --no-autoupdate tunnel --loglevel debug run --token eyJhIjoiMmQ5YzE3YjZlNGEwNTE4ZjNiN2M5ZDJlNjFhMDRmODMiLCJ0IjoiYzNkOWU4MmEtMTk0Yi00ZjZlLWE4ZDItN2I1ZTBmM2MxZDQ5IiwicyI6InN0YWdpbmcifQ==",
            &mut self.rng,
            false,
        );
        while (self.recs.len() as f64) < main + target {
            let t = from + self.rng.next_u64() % span.max(1);
            match self.rng.index(4) {
                0 => {
                    let status = *self.rng.pick(&[200_u16, 200, 200, 304, 404, 502]);
                    let path = *self
                        .rng
                        .pick(&["/", "/status", "/api/v1/items", "/static/app.js"]);
                    let msg = format!(
                        "198.51.100.{} - - [{}] \"GET {path} HTTP/1.1\" {status} {} \"-\" \"curl/8.5.0\"",
                        10 + self.rng.index(200),
                        datetime(t).format("%d/%b/%Y:%H:%M:%S +0000"),
                        100 + self.rng.index(4000)
                    );
                    self.line(&nginx, t, msg);
                }
                1 => {
                    let user = *self.rng.pick(&["root", "admin", "ubuntu", "oracle"]);
                    let ip = format!(
                        "45.{}.{}.{}",
                        self.rng.index(250),
                        self.rng.index(250),
                        self.rng.index(250)
                    );
                    let port = 30_000 + self.rng.index(30_000);
                    let mut p = sshd.clone();
                    p.pid = 40_000 + u32::try_from(self.rng.index(20_000)).unwrap_or(0);
                    self.line(&p, t, format!("Invalid user {user} from {ip} port {port}"));
                    let t_closed = t + self.rng.us_between(100 * MS, 900 * MS);
                    self.line(
                        &p,
                        t_closed,
                        format!(
                            "Connection closed by invalid user {user} {ip} port {port} [preauth]"
                        ),
                    );
                }
                2 => {
                    // Looks exactly like Sigil's records, but from another unit.
                    let rid = self.rng.uuid4();
                    let ray = format!("{}-ORD", self.rng.hex(16));
                    let status = *self.rng.pick(&[200_u64, 200, 200, 500, 502]);
                    let reason = match status {
                        200 => "OK",
                        500 => "Internal Server Error",
                        _ => "Bad Gateway",
                    };
                    self.app(
                        &other,
                        t,
                        "INFO",
                        "other_api",
                        "Incoming MCP HTTP request",
                        &[
                            ("request_id", V::S(rid.clone())),
                            ("method", V::S("POST".into())),
                            ("path", V::S("/".into())),
                            ("client_ip", V::S("10.0.0.5".into())),
                            ("cf_ray", V::S(ray)),
                            (
                                "headers",
                                V::Obj(vec![("host".into(), "api.example.com".into())]),
                            ),
                        ],
                    );
                    let d = self.rng.us_between(2 * MS, 60 * MS);
                    self.line(
                        &other,
                        t + d - 50,
                        format!("INFO:     10.0.0.5:0 - \"POST / HTTP/1.1\" {status} {reason}"),
                    );
                    self.app(
                        &other,
                        t + d,
                        "INFO",
                        "other_api",
                        "Outgoing MCP HTTP response",
                        &[
                            ("request_id", V::S(rid)),
                            ("status_code", V::I(status)),
                            ("duration_ms", V::I(d / 1000)),
                            ("path", V::S("/".into())),
                            ("method", V::S("POST".into())),
                        ],
                    );
                }
                _ => {
                    let ci = self.rng.index(4) as u64;
                    let fields = |extra: Vec<(&'static str, F)>| {
                        let mut f = vec![
                            ("connIndex", F::N(ci)),
                            ("event", F::N(1)),
                            ("ingressRule", F::N(0)),
                            ("originService", F::S("http://localhost:9000".into())),
                        ];
                        f.extend(extra);
                        f
                    };
                    let stamp = datetime(t).format("%Y-%m-%dT%H:%M:%SZ").to_string();
                    let render = |level: &str, msg: &str, f: Vec<(&'static str, F)>| {
                        let mut s = format!("{stamp} {level} {msg}");
                        let mut f = f;
                        f.sort_by_key(|(k, _)| (*k != "error", *k));
                        for (k, v) in f {
                            let _ = write!(s, " {k}={}", v.render());
                        }
                        s
                    };
                    let hdr = format!("{{\"Cf-Ray\":[\"{}-DFW\"]}}", self.rng.hex(16));
                    let r1 = render(
                        "DBG",
                        "GET https://staging.example.com/ HTTP/1.1",
                        fields(vec![
                            ("content-length", F::N(0)),
                            ("headers", F::Raw(hdr)),
                            ("host", F::S("staging.example.com".into())),
                            ("path", F::S("/".into())),
                        ]),
                    );
                    self.line(&staging, t, r1);
                    let refused = REFUSED.replace("8000", "9000");
                    let second = if self.rng.chance(0.4) {
                        render("ERR", "", fields(vec![("error", F::S(refused))]))
                    } else {
                        render("DBG", "200 OK", fields(vec![("content-length", F::N(612))]))
                    };
                    let t2 = t + self.rng.us_between(MS, 20 * MS);
                    self.line(&staging, t2, second);
                }
            }
        }
    }

    // --- output ---------------------------------------------------------------------------

    /// Sort, make realtime strictly increasing, assign seqnums and cursors, and write the
    /// journal export format.
    fn render(&mut self) -> String {
        self.recs.sort_by_key(|r| (r.t_us, r.order));
        let mut prev = 0_u64;
        for r in &mut self.recs {
            if r.t_us <= prev {
                r.t_us = prev + 1;
            }
            prev = r.t_us;
        }
        let mut out = String::with_capacity(self.recs.len() * 1200);
        for (i, r) in self.recs.iter().enumerate() {
            let seq = i as u64 + 1;
            let mono = UPTIME_AT_START_US + (r.t_us - self.start_us);
            let mut h = Rng(seq ^ r.t_us.rotate_left(23) ^ 0x0123_4567_89ab_cdef);
            let _ = writeln!(
                out,
                "__CURSOR=s={};i={seq:x};b={};m={mono:x};t={:x};x={:016x}",
                self.seqnum_id,
                self.boot_id,
                r.t_us,
                h.next_u64()
            );
            let _ = writeln!(out, "__REALTIME_TIMESTAMP={}", r.t_us);
            let _ = writeln!(out, "__MONOTONIC_TIMESTAMP={mono}");
            let _ = writeln!(out, "_BOOT_ID={}", self.boot_id);
            for (k, v) in &r.fields {
                let _ = writeln!(out, "{k}={v}");
            }
            out.push('\n');
        }
        out
    }

    fn truth_json(&self, args: &Args, noise_pct: f64) -> Value {
        let mut by_unit: BTreeMap<String, u64> = BTreeMap::new();
        let mut pid1_about: BTreeMap<String, u64> = BTreeMap::new();
        for r in &self.recs {
            let get = |key: &str| {
                r.fields
                    .iter()
                    .find(|(k, _)| *k == key)
                    .map(|(_, v)| v.clone())
            };
            if let Some(u) = get("_SYSTEMD_UNIT") {
                *by_unit.entry(u).or_default() += 1;
            }
            if let Some(u) = get("UNIT") {
                *pid1_about.entry(u).or_default() += 1;
            }
        }
        let t = &self.truth;
        let first = self.recs.first().map_or(0, |r| r.t_us);
        let last = self.recs.last().map_or(0, |r| r.t_us);
        json!({
            "schema": "sigil-top.scenario-truth/1",
            "generator": {
                "preset": format!("{:?}", args.preset).to_lowercase(),
                "seed": args.seed,
                "start_us": args.start_us,
                "sigil_format": format!("{:?}", args.sigil_format).to_lowercase(),
                "cloudflared_level": format!("{:?}", args.cloudflared_level).to_lowercase(),
                "noise_pct": noise_pct,
            },
            "window": { "first_us": first, "last_us": last, "traffic_end_us": self.end_us },
            "entries": { "total": self.recs.len(), "by_unit": by_unit, "pid1_about_unit": pid1_about },
            "requests": {
                "edge_received": t.edge_requests,
                "tunnel_answered": t.tunnel_answered,
                "tunnel_overhead_max_us": t.tunnel_overhead_max_us,
                "total": t.answered,
                "by_status": t.by_status.iter().map(|(k, v)| (k.to_string(), json!(v))).collect::<serde_json::Map<_, _>>(),
                "by_call": t.by_call,
                "abandoned": t.abandoned,
                "stale_session_400": t.stale_session_400,
                "streams": t.streams,
                "unreachable_530": t.unreachable,
            },
            "tunnel": {
                "bad_gateway": t.bad_gateway_refused,
                "bad_gateway_by_cause": { "refused": t.bad_gateway_refused },
                "edge_timeout": t.edge_timeouts,
                "client_abort": t.client_aborts,
                "disconnects": t.disconnects,
                "down_seconds": t.down_us as f64 / 1e6,
            },
            "origin": {
                "errors_5xx": 0,
                "restarts": t.restarts,
                "crashes": t.crashes,
                "auto_restarts": t.auto_restarts,
                "down_windows_us": t.origin_down_windows,
            },
            "events": t.events,
        })
    }
}

#[derive(Clone, Copy)]
enum JobMsg {
    Starting,
    Started,
    Stopping,
    Stopped,
}

#[derive(Clone, Copy)]
enum UnitNote {
    Deactivated,
    Consumed(u64),
    Killed,
    FailedSignal,
    RestartScheduled(u32),
}

fn unit_description(unit: &str) -> &'static str {
    if unit == "cloudflared.service" {
        "cloudflared"
    } else {
        "Sigil MCP Server"
    }
}

/// Go's `time.Duration` text for whole seconds (`1s`, `1m4s`).
fn go_duration(seconds: u64) -> String {
    if seconds < 60 {
        format!("{seconds}s")
    } else if seconds.is_multiple_of(60) {
        format!("{}m0s", seconds / 60)
    } else {
        format!("{}m{}s", seconds / 60, seconds % 60)
    }
}

/// A Sigil `extra` value: `str()` in key=value, a JSON value in the JSON deployment.
enum V {
    S(String),
    I(u64),
    /// The `headers` dict, in arrival order.
    Obj(Vec<(String, String)>),
    /// `response_body`: a quoted string in both deployments.
    Body(String),
}

impl V {
    fn kv(&self) -> String {
        match self {
            V::S(s) => s.clone(),
            V::I(n) => n.to_string(),
            V::Obj(pairs) => {
                let inner: Vec<String> = pairs
                    .iter()
                    .map(|(k, v)| format!("{}:{}", py_json_str(k), py_json_str(v)))
                    .collect();
                format!("{{{}}}", inner.join(","))
            }
            V::Body(s) => py_json_str(s),
        }
    }

    fn json(&self) -> String {
        match self {
            V::S(s) | V::Body(s) => py_json_str(s),
            V::I(n) => n.to_string(),
            V::Obj(pairs) => {
                let inner: Vec<String> = pairs
                    .iter()
                    .map(|(k, v)| format!("{}: {}", py_json_str(k), py_json_str(v)))
                    .collect();
                format!("{{{}}}", inner.join(", "))
            }
        }
    }
}

/// A cloudflared line before rendering: level, message, fields.
type CfLine = (&'static str, String, Vec<(&'static str, F)>);

/// A cloudflared field value.
#[derive(Clone)]
enum F {
    S(String),
    N(u64),
    /// A JSON object, printed unquoted.
    Raw(String),
}

impl F {
    fn render(&self) -> String {
        match self {
            F::S(s) => zerolog_value(s),
            F::N(n) => n.to_string(),
            F::Raw(s) => s.clone(),
        }
    }
}

fn request_body_len(call: Call, rng: &mut Rng) -> Option<u64> {
    let jitter = rng.next_u64() % 16;
    match call {
        Call::Healthz | Call::Probe(_) | Call::Sse => None,
        Call::Initialize => Some(159),
        Call::Initialized => Some(54),
        Call::ToolsList => Some(46),
        Call::Tool(Tool::Ping) => Some(86),
        Call::Tool(Tool::ListRepos) => Some(92),
        Call::Tool(Tool::SearchCode) => Some(118 + jitter),
        Call::Tool(Tool::ReadRepoFile) => Some(126 + jitter),
        Call::Tool(Tool::SearchRepo) => Some(131 + jitter),
        Call::Tool(Tool::SearchRepoMono) => Some(194),
    }
}

/// The `(…)` part of the `tool called` line, and the search query where there is one.
fn tool_args(tool: Tool, rng: &mut Rng) -> (String, Option<&'static str>) {
    let args = match tool {
        Tool::Ping | Tool::ListRepos => String::new(),
        Tool::SearchCode => {
            let query = *rng.pick(&["slugify", "area", "def ", "import", "Rectangle"]);
            let args = format!(
                " (query='{query}', repo='tiny', max_results={})",
                rng.pick(&[5, 50])
            );
            return (args, Some(query));
        }
        Tool::ReadRepoFile => format!(
            " (repo='tiny', path='{}', max_bytes=20000)",
            rng.pick(&["pkg/geometry.py", "pkg/textutils.py", "main.py", "README.md"])
        ),
        Tool::SearchRepo => format!(
            " (query='{}', repo='tiny', file_glob='{}', max_results=50)",
            rng.pick(&["def", "area", "Rectangle", "return"]),
            rng.pick(&["*.py", "*"])
        ),
        Tool::SearchRepoMono => {
            " (query='class RepositoryIndexer', repo='mono', file_glob='pkg0[4-9][0-9]/**/*.py', max_results=20)".into()
        }
    };
    (args, None)
}

/// The JSON-RPC response (raw, before the middleware quotes it) and cloudflared's
/// `content-length` for it.
fn response_body(call: Call, id: u64, t_us: u64, rng: &mut Rng) -> (u64, String) {
    let stamp = datetime(t_us).format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string();
    match call {
        Call::Initialize => (270, format!("{{\"jsonrpc\":\"2.0\",\"id\":{id},\"result\":{{\"protocolVersion\":\"2025-06-18\",\"capabilities\":{{\"experimental\":{{}},\"prompts\":{{\"listChanged\":false}},\"resources\":{{\"subscribe\":false,\"listChanged\":false}},\"tools\":{{\"listChanged\":false}}}},\"serverInfo\":{{\"name\":\"sigil_repos\",\"version\":\"1.24.0\"}}}}}}")),
        Call::ToolsList => (6987, format!("{{\"jsonrpc\":\"2.0\",\"id\":{id},\"result\":{{\"tools\":[{{\"name\":\"ping\",\"title\":\"Read-only \u{9225}\u{fffd} ping\",\"description\":\"Healthcheck (read-only). Returns basic server status and configured repo names.\",\"inputSchema\":{{\"properties\":{{}},\"title\":\"pingArguments\",\"type\":\"object\"}},\"outputSchema\":{{\"additionalProperties\":true,\"title\":\"pingDictOutput\",\"type\":\"object\"}},\"annotations\":{{\"operation\":\"read\",\"safety\":\"non-destructive\",\"audience\":[\"assistant\",\"user\"]}}}},{{\"name\":\"list_repos\",\"title\":\"Read-only \u{9225}\u{fffd} list_repos\",\"description\":\"List configured repositories (read-only).\",\"inputSchema\":{{\"properties\":{{}},\"title\":\"list_reposArguments\",\"type\":\"object\"}}}}]}}}}")),
        Call::Tool(Tool::Ping) => (346, format!("{{\"jsonrpc\":\"2.0\",\"id\":{id},\"result\":{{\"content\":[{{\"type\":\"text\",\"text\":\"{{\\n  \\\"ok\\\": true,\\n  \\\"timestamp\\\": \\\"{stamp}\\\",\\n  \\\"repo_count\\\": 2,\\n  \\\"repos\\\": [\\n    \\\"mono\\\",\\n    \\\"tiny\\\"\\n  ]\\n}}\"}}],\"structuredContent\":{{\"ok\":true,\"timestamp\":\"{stamp}\",\"repo_count\":2,\"repos\":[\"mono\",\"tiny\"]}},\"isError\":false}}}}")),
        Call::Tool(Tool::ListRepos) => (390, format!("{{\"jsonrpc\":\"2.0\",\"id\":{id},\"result\":{{\"content\":[{{\"type\":\"text\",\"text\":\"{{\\n  \\\"name\\\": \\\"mono\\\",\\n  \\\"path\\\": \\\"/var/lib/sigil-mcp/mono\\\"\\n}}\"}},{{\"type\":\"text\",\"text\":\"{{\\n  \\\"name\\\": \\\"tiny\\\",\\n  \\\"path\\\": \\\"/var/lib/sigil-mcp/tinyrepo\\\"\\n}}\"}}],\"structuredContent\":{{\"result\":[{{\"name\":\"mono\",\"path\":\"/var/lib/sigil-mcp/mono\"}},{{\"name\":\"tiny\",\"path\":\"/var/lib/sigil-mcp/tinyrepo\"}}]}},\"isError\":false}}}}")),
        Call::Tool(Tool::SearchCode | Tool::SearchRepo) => {
            let (path, line, text) = *rng.pick(&[
                ("pkg/textutils.py", 10, "def slugify(text: str) -> str:"),
                ("pkg/geometry.py", 4, "class Rectangle:"),
                ("main.py", 5, "def main() -> None:"),
                ("pkg/geometry.py", 16, "def area_of_circle(radius: float) -> float:"),
            ]);
            let hit = format!("{{\"type\":\"text\",\"text\":\"{{\\n  \\\"repo\\\": \\\"tiny\\\",\\n  \\\"path\\\": \\\"{path}\\\",\\n  \\\"line\\\": {line},\\n  \\\"text\\\": \\\"{text}\\\"\\n}}\"}}");
            let n = 1 + rng.next_u64() % 6;
            let hits: Vec<String> = (0..n).map(|_| hit.clone()).collect();
            (
                240 + n * 260,
                format!("{{\"jsonrpc\":\"2.0\",\"id\":{id},\"result\":{{\"content\":[{}],\"isError\":false}}}}", hits.join(",")),
            )
        }
        Call::Tool(Tool::ReadRepoFile) => (921, format!("{{\"jsonrpc\":\"2.0\",\"id\":{id},\"result\":{{\"content\":[{{\"type\":\"text\",\"text\":\"import math\\n\\n\\nclass Rectangle:\\n    def __init__(self, width: float, height: float) -> None:\\n        self.width = width\\n        self.height = height\\n\\n    def area(self) -> float:\\n        return self.width * self.height\\n\\n    def perimeter(self) -> float:\\n        return 2 * (self.width + self.height)\\n\\n\\ndef area_of_circle(radius: float) -> float:\\n    return math.pi * radius * radius\\n\"}}],\"structuredContent\":{{\"result\":\"import math\\n\\n\\nclass Rectangle:\\n\"}},\"isError\":false}}}}")),
        Call::Tool(Tool::SearchRepoMono) => (105, format!("{{\"jsonrpc\":\"2.0\",\"id\":{id},\"result\":{{\"content\":[],\"structuredContent\":{{\"result\":[]}},\"isError\":false}}}}")),
        Call::Initialized | Call::Healthz | Call::Probe(_) | Call::Sse => (0, String::new()),
    }
}
