//! Parsing: what each journal entry means.
//!
//! Owns the knowledge of both programs' log formats (see `../shared/formats/sigil-mcp.md`
//! and `../shared/formats/cloudflared.md`; their "observed" sections win) and of systemd's
//! (PID 1) lines about units. Turns a [`RawEntry`] into an [`Event`]: a level taken from the
//! text, and a typed [`EventKind`]. Does not own: joining lines into requests (that is
//! `model::correlate`), grouping continuation lines with their record (`model::log` does
//! that with the [`EventKind::Continuation`] marks made here), or any drawing.
//!
//! Parsing is **total**: anything unrecognised becomes [`EventKind::Unparsed`], never an
//! error or a panic, and the entry's bytes are kept unchanged.
//!
//! The [`Parser`] keeps a little state per process (bounded): cloudflared `--output json`
//! lines can be torn across two entries, and a record whose head and tail were split is
//! stitched back when its tail arrives; and which service the last two writers are.

pub mod cloudflared;
pub mod sigil;
pub(crate) mod systemd;

use crate::source::RawEntry;

/// The server's per-request id (uuid4 from `HeaderLoggingASGIMiddleware`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RequestId(pub(crate) Box<str>);

/// A Cloudflare Ray ID as sent in `Cf-Ray`: 16 hex digits, `-`, colo (`8f3a6c1d2b4e5f70-DFW`).
/// Stored as logged; compare with [`RayId::key`], which ignores the colo and case (older
/// logs and the API use the bare hex part).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RayId(pub(crate) Box<str>);

impl RayId {
    /// The 16-hex part, lower-cased: the join key across both services. Borrowed when it
    /// is lower case already (as cloudflared and the server log it), so a lookup does not
    /// allocate.
    pub(crate) fn key(&self) -> std::borrow::Cow<'_, str> {
        let hex = match memchr::memchr(b'-', self.0.as_bytes()) {
            Some(dash) => &self.0[..dash],
            None => &self.0,
        };
        if hex.bytes().any(|b| b.is_ascii_uppercase()) {
            std::borrow::Cow::Owned(hex.to_ascii_lowercase())
        } else {
            std::borrow::Cow::Borrowed(hex)
        }
    }
}

/// Which program (or which kind of writer) an event comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Service {
    Sigil,
    Cloudflared,
    /// PID 1 talking about a unit.
    Systemd,
    Other,
}

/// Severity, from the text where the program writes one (journald's `PRIORITY` is 6 for
/// every stdout line). Ordered from least to most severe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    Trace,
    Debug,
    Info,
    Notice,
    Warn,
    Error,
    Critical,
}

impl Level {
    /// From a syslog priority (0 emerg … 7 debug).
    pub(crate) fn from_priority(p: u8) -> Level {
        match p {
            0..=2 => Level::Critical,
            3 => Level::Error,
            4 => Level::Warn,
            5 => Level::Notice,
            6 => Level::Info,
            _ => Level::Debug,
        }
    }

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Level::Trace => "trace",
            Level::Debug => "debug",
            Level::Info => "info",
            Level::Notice => "notice",
            Level::Warn => "warn",
            Level::Error => "error",
            Level::Critical => "critical",
        }
    }
}

/// Why cloudflared could not reach the origin, from the Go error after
/// `Unable to reach the origin service…:`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum OriginErrorCause {
    /// `connect: connection refused`: nothing listening.
    Refused,
    /// `i/o timeout` (dial, `connectTimeout`), `TLS handshake timeout`.
    Timeout,
    /// `no such host`, `lookup …`.
    Dns,
    /// certificate or handshake failures, `malformed HTTP response` (http/https mismatch).
    Tls,
    /// `EOF`, `connection reset by peer`, `broken pipe`.
    Reset,
    Other,
}

impl OriginErrorCause {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            OriginErrorCause::Refused => "refused",
            OriginErrorCause::Timeout => "timeout",
            OriginErrorCause::Dns => "dns",
            OriginErrorCause::Tls => "tls",
            OriginErrorCause::Reset => "reset",
            OriginErrorCause::Other => "other",
        }
    }
}

/// What a cloudflared proxy error line (R3 `ERR  error=…`, R4 `Request failed`, R5 `failed
/// to serve incoming request`) says went wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProxyFailure {
    /// `Unable to reach the origin service…`: the client gets 502.
    OriginUnreachable(OriginErrorCause),
    /// `Incoming request ended abruptly: context canceled`: the edge or the eyeball
    /// cancelled while cloudflared waited for origin headers (edge timeout → 524, or client).
    Cancelled,
    /// `stream N canceled by remote…` / bare `context canceled`: cancelled while the body
    /// was being streamed (headers were already sent).
    StreamCancelled,
    /// Anything else (`Error writing response header`, middleware errors, …).
    Other,
}

/// Which of the lines cloudflared writes for one failed request this is. One failed
/// request makes a `Primary` line and one or two follow-ups; count requests, not lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProxyLine {
    /// R3: `ERR  error=…` with the request context (`connIndex`, `originService`, …).
    Primary,
    /// R4 (QUIC `Request failed`, has `dest`) or R5 (HTTP/2 `failed to serve incoming request`).
    RequestFailed,
    /// R11 `Failed to handle QUIC stream` or R10 `Handler aborted…` (DBG).
    StreamTeardown,
}

/// Lifecycle of a tunnel connection to the edge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TunnelConnEvent {
    /// `Registered tunnel connection` (or ≤2023.4.0 `Connection <uuid> registered`).
    Registered {
        location: Option<Box<str>>,
        protocol: Option<Box<str>>,
    },
    /// `Unregistered tunnel connection` (graceful).
    Unregistered,
    /// `Connection terminated`, `Lost connection with the edge`, `Serve tunnel error`,
    /// `failed to serve tunnel connection`, `failed to accept incoming stream requests`…
    Lost { reason: Option<Box<str>> },
    /// `Retrying connection in up to …`.
    Retrying,
    /// `Failed to dial a quic connection`, `Unable to establish connection with Cloudflare edge`.
    DialFailed { reason: Option<Box<str>> },
    /// `Switching to fallback protocol http2` / `Changing protocol to …`.
    ProtocolFallback { to: Option<Box<str>> },
}

/// cloudflared process-level events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TunnelProcessEvent {
    /// `Version 2026.8.2 (Checksum …)` or a bare `cloudflared version …` line.
    Version(Box<str>),
    /// `Starting tunnel`.
    Starting,
    /// `Starting metrics server on 127.0.0.1:20241/metrics`.
    Metrics(Box<str>),
    /// `Updated to new configuration`: origin service(s) from the pushed ingress.
    Config { origin_services: Vec<Box<str>> },
    /// `Initiating graceful shutdown…`.
    GracefulShutdown,
    /// `Initiating shutdown` (ERR, fatal), with the error.
    FatalShutdown { reason: Box<str> },
    /// `no more connections active and exiting`, `initial tunnel connection failed`.
    NoConnections,
}

/// Lines of the Sigil server process other than the per-request records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerEvent {
    /// `INFO:     Started server process [N]`.
    ProcessStarted,
    /// `Uvicorn running on http://127.0.0.1:8000`: the address it listens on.
    Listening { addr: Box<str>, port: Option<u16> },
    /// `INFO:     Shutting down`: uvicorn stops accepting here.
    ShuttingDown,
    /// `Waiting for connections to close.`: an open stream holds the shutdown.
    WaitingForConnections,
    /// `Finished server process [N]`.
    Finished,
    /// `Starting sigil_repos MCP server …` / `Sigil MCP starting (mode=…)`.
    Banner,
    /// `[Errno 98] … address already in use`.
    BindFailed,
    /// `WARNING:  Invalid HTTP request received.`: garbage rejected before routing.
    InvalidHttpRequest,
    /// `<tool> tool called …` / `<tool> called (…)`: the MCP tool behind a `POST /`.
    ToolCalled { tool: Box<str> },
    /// `Tool 'x' not listed…`.
    ToolNotListed { tool: Box<str> },
    /// `Exception in ASGI application` (uvicorn) or the first line of a traceback record.
    Exception,
    /// A secret the server wrote in plain text (`Client Secret:`, OAuth form data,
    /// `token=` in an access line). The secret itself is never copied here.
    SecretLogged { kind: SecretKind },
}

/// Kinds of secrets the server is known to log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SecretKind {
    OAuthClientSecret,
    OAuthCode,
    QueryToken,
    AuthorizationHeader,
}

impl SecretKind {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            SecretKind::OAuthClientSecret => "oauth_client_secret",
            SecretKind::OAuthCode => "oauth_code",
            SecretKind::QueryToken => "query_token",
            SecretKind::AuthorizationHeader => "authorization_header",
        }
    }
}

/// PID 1's lines about a unit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UnitEvent {
    Starting,
    Started,
    Stopping,
    Stopped,
    Deactivated,
    /// `Main process exited, code=killed, status=9/KILL`.
    MainExited {
        code: Box<str>,
        status: Box<str>,
    },
    /// `Failed with result 'signal'`.
    Failed {
        result: Box<str>,
    },
    /// `Scheduled restart job, restart counter is at N.`
    ScheduledRestart {
        counter: Option<u32>,
    },
    /// `State 'stop-sigterm' timed out. Killing.`
    StopTimedOut,
    /// Any other PID 1 line about the unit (`Consumed 1.8s CPU time`, …).
    Other,
}

/// What a line means. Request-level kinds carry only what the line itself says; the
/// model joins them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventKind {
    /// Sigil `Incoming MCP HTTP request`.
    SigilIncoming {
        request_id: Option<RequestId>,
        method: Option<Box<str>>,
        path: Option<Box<str>>,
        client_ip: Option<Box<str>>,
        cf_ray: Option<RayId>,
    },
    /// Sigil `Outgoing MCP HTTP response`.
    SigilOutgoing {
        request_id: Option<RequestId>,
        status: Option<u16>,
        duration_ms: Option<u64>,
        method: Option<Box<str>>,
        path: Option<Box<str>>,
        /// JSON-RPC result flagged `"isError": true` in the logged `response_body`.
        tool_error: bool,
        /// The logged body says `No valid session ID provided`: a stale `mcp-session-id`.
        stale_session: bool,
    },
    /// Sigil `Error handling MCP request` (a traceback follows as continuation lines).
    SigilError {
        request_id: Option<RequestId>,
        duration_ms: Option<u64>,
        method: Option<Box<str>>,
        path: Option<Box<str>>,
    },
    /// uvicorn's access line: `INFO:     1.2.3.4:0 - "POST / HTTP/1.1" 200 OK`.
    AccessLog {
        client_ip: Box<str>,
        method: Box<str>,
        /// As logged, query string included (may carry secrets: never export it raw).
        target: Box<str>,
        status: u16,
    },
    Server(ServerEvent),

    /// cloudflared DBG request line (R1): `GET https://host/path HTTP/1.1 … headers={…}`,
    /// or ≤2023.4.0 `CF-RAY: <ray> GET <url> HTTP/1.1`.
    TunnelRequest {
        method: Box<str>,
        path: Box<str>,
        conn_index: Option<u8>,
        ray: Option<RayId>,
        connecting_ip: Option<Box<str>>,
    },
    /// cloudflared DBG response line (R2): `200 OK`, written after the body was copied.
    TunnelResponse {
        status: u16,
        conn_index: Option<u8>,
        ray: Option<RayId>,
    },
    /// One of the proxy error lines of a failed request.
    ProxyError {
        line: ProxyLine,
        failure: ProxyFailure,
        conn_index: Option<u8>,
        /// `originService=` (R3), e.g. `http://localhost:8000`.
        origin_service: Option<Box<str>>,
        /// `dest=` (R4): the eyeball URL.
        dest: Option<Box<str>>,
        /// `cfRay=` (2023.4.1–2024.2.0 only).
        ray: Option<RayId>,
        /// The `error=` text as logged.
        error: Box<str>,
    },
    TunnelConn {
        conn_index: Option<u8>,
        event: TunnelConnEvent,
    },
    TunnelProcess(TunnelProcessEvent),

    /// PID 1 about a unit.
    Unit(UnitEvent),

    /// A line that belongs to the record before it from the same process: traceback
    /// lines, the second physical line of a multi-line message, indented dumps, the
    /// `warnings.warn(…)` line of a `DeprecationWarning`. Never a record of its own.
    Continuation,
    /// A continuation line that names a Python exception (`ValueError: bad`,
    /// `starlette.requests.ClientDisconnect`): a traceback's last line. Decided here, once,
    /// so the model quotes the exception without recognising it again.
    ExceptionLine,
    /// A recognised line with nothing the model acts on (start-up chatter, DBG noise…).
    Other,
    /// Text in no known format. Shown as-is and counted.
    Unparsed,
}

impl EventKind {
    /// A line that belongs to the record before it (an exception line included).
    pub(crate) fn is_continuation(&self) -> bool {
        matches!(self, EventKind::Continuation | EventKind::ExceptionLine)
    }
}

/// A parsed entry: the entry itself (moved, not copied), who wrote it, its level, and
/// what it means.
#[derive(Debug, Clone)]
pub struct Event {
    pub(crate) entry: RawEntry,
    pub(crate) service: Service,
    pub(crate) level: Level,
    pub(crate) kind: EventKind,
    /// Further complete records recovered from the same entry (a torn cloudflared JSON
    /// line can hold a whole second record). Almost always empty (no allocation).
    pub(crate) also: Vec<EventKind>,
}

/// What a service-specific parser returns for one line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed {
    pub(crate) level: Option<Level>,
    pub(crate) kind: EventKind,
    pub also: Vec<EventKind>,
}

impl Parsed {
    pub(crate) fn new(level: Option<Level>, kind: EventKind) -> Parsed {
        Parsed {
            level,
            kind,
            also: Vec::new(),
        }
    }
}

/// Counts of what the parser could not make sense of; shown, never hidden.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ParseStats {
    /// Torn JSON fragments that could not be stitched into a record.
    pub unrecovered_fragments: u64,
}

/// Turns entries into events. Holds only small, bounded per-process state.
#[derive(Debug, Default)]
pub struct Parser {
    cloudflared: cloudflared::State,
    pub(crate) stats: ParseStats,
    /// The last two writers' services (the server's and the tunnel's lines interleave).
    services: [Option<Writer>; 2],
}

/// What [`service_of`] decides by, and what it decided. The shared values are held
/// (cloned), so their addresses cannot be reused while they are compared by address.
#[derive(Debug)]
struct Writer {
    unit: Option<crate::source::Unit>,
    origin: std::sync::Arc<crate::source::Origin>,
    service: Service,
}

impl Writer {
    fn wrote(&self, entry: &RawEntry) -> bool {
        let same_unit = match (&self.unit, &entry.unit) {
            (Some(a), Some(b)) => a.is_same(b),
            (a, b) => a.is_none() && b.is_none(),
        };
        same_unit && std::sync::Arc::ptr_eq(&self.origin, &entry.origin)
    }
}

/// Bytes as text for parsing: borrowed when they are UTF-8 (SIMD validation,
/// [`crate::bytes::utf8`], much faster than the lossy decoder walks), a lossy copy only
/// when they are not.
pub(crate) fn text_of(bytes: &[u8]) -> std::borrow::Cow<'_, str> {
    match crate::bytes::utf8(bytes) {
        Some(s) => std::borrow::Cow::Borrowed(s),
        None => String::from_utf8_lossy(bytes),
    }
}

/// Which service wrote an entry, from its unit and process identity.
///
/// Runs once per entry: the unit is looked at first (it decides almost every entry), and
/// the substring tests are byte loops, not `str::contains` (which builds a searcher on
/// every call).
pub fn service_of(entry: &RawEntry) -> Service {
    if entry.is_from_pid1() {
        return Service::Systemd;
    }
    let unit = entry
        .unit
        .as_ref()
        .map(crate::source::Unit::as_str)
        .or(entry.origin.systemd_unit.as_deref())
        .unwrap_or("");
    if has(unit, b"cloudflared") {
        return Service::Cloudflared;
    }
    let ident = entry
        .field_str("SYSLOG_IDENTIFIER")
        .or(entry.field_str("_COMM"))
        .unwrap_or("");
    if ident == "cloudflared" {
        Service::Cloudflared
    } else if has(unit, b"sigil") || ident.starts_with("python") || has(ident, b"sigil") {
        Service::Sigil
    } else {
        Service::Other
    }
}

/// `haystack.contains(needle)` for a short needle and a short haystack (unit names,
/// syslog identifiers).
fn has<const N: usize>(haystack: &str, needle: &[u8; N]) -> bool {
    haystack.as_bytes().windows(N).any(|w| w == needle)
}

impl Parser {
    pub fn new() -> Parser {
        Parser::default()
    }

    /// [`service_of`], remembered for the last two writers: consecutive entries of one
    /// process share their unit and kept fields (the same `Arc`s), so this is usually
    /// three pointer compares instead of substring tests and field lookups.
    fn service_of(&mut self, entry: &RawEntry) -> Service {
        if entry.is_from_pid1() {
            return Service::Systemd;
        }
        if let Some(w) = self.services.iter().flatten().find(|w| w.wrote(entry)) {
            return w.service;
        }
        let service = service_of(entry);
        self.services.swap(0, 1);
        self.services[0] = Some(Writer {
            unit: entry.unit.clone(),
            origin: std::sync::Arc::clone(&entry.origin),
            service,
        });
        service
    }

    /// Parses one entry. Total: never fails, never panics on any bytes.
    pub fn parse(&mut self, entry: RawEntry) -> Event {
        let service = self.service_of(&entry);
        let parsed = match service {
            Service::Systemd => systemd::parse(&entry),
            Service::Cloudflared => {
                self.cloudflared
                    .parse(&entry.message, entry.pid, &mut self.stats)
            }
            Service::Sigil => sigil::parse(&entry),
            Service::Other => Parsed::new(None, EventKind::Other),
        };
        let level = parsed
            .level
            .or_else(|| entry.priority.map(Level::from_priority))
            .unwrap_or(Level::Info);
        Event {
            entry,
            service,
            level,
            kind: parsed.kind,
            also: parsed.also,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::source::{KeptFields, Timestamp, Unit};

    fn entry(unit: Option<&Unit>, systemd_unit: &Arc<str>, fields: &KeptFields) -> RawEntry {
        RawEntry {
            realtime: Timestamp(1),
            monotonic_us: None,
            origin: std::sync::Arc::new(crate::source::Origin {
                boot_id: None,
                systemd_unit: Some(Arc::clone(systemd_unit)),
                hostname: None,
                fields: fields.clone(),
            }),
            cursor: None,
            unit: unit.cloned(),
            about_unit: None,
            pid: Some(7),
            priority: Some(6),
            message: b"x".as_slice().into(),
            input: 0,
        }
    }

    /// The remembered services give what `service_of` gives for every entry: writers
    /// interleaved, one unit whose entries change identifier, no unit, and PID 1.
    #[test]
    fn remembered_services_agree_with_service_of() {
        let field = |v: &str| -> KeptFields {
            vec![("SYSLOG_IDENTIFIER", Arc::<[u8]>::from(v.as_bytes()))].into()
        };
        let (sigil, tunnel) = (Unit::new("sigil-mcp"), Unit::new("cloudflared"));
        let (s_name, t_name, other): (Arc<str>, Arc<str>, Arc<str>) = (
            "sigil-mcp.service".into(),
            "cloudflared.service".into(),
            "app.service".into(),
        );
        let (python, cf) = (field("python3"), field("cloudflared"));
        let mut pid1 = entry(Some(&sigil), &"init.scope".into(), &KeptFields::default());
        pid1.pid = Some(1);
        let entries = [
            entry(Some(&sigil), &s_name, &python),
            entry(Some(&tunnel), &t_name, &cf),
            entry(Some(&sigil), &s_name, &python),
            pid1,
            entry(None, &other, &python),
            entry(None, &other, &cf),
            entry(None, &other, &KeptFields::default()),
            entry(Some(&tunnel), &t_name, &cf),
            entry(None, &other, &cf),
            entry(Some(&sigil), &s_name, &python),
        ];
        let mut parser = Parser::new();
        let got: Vec<Service> = entries.iter().map(|e| parser.service_of(e)).collect();
        let want: Vec<Service> = entries.iter().map(service_of).collect();
        assert_eq!(got, want);
        assert_eq!(
            &want[..7],
            &[
                Service::Sigil,
                Service::Cloudflared,
                Service::Sigil,
                Service::Systemd,
                Service::Sigil,
                Service::Cloudflared,
                Service::Other
            ]
        );
    }
}
