//! The Sigil MCP server's lines, in every shape one journald stream carries at once.
//! See `../shared/formats/sigil-mcp.md` (§5, "what the real server writes", wins).
//!
//! Line families, tried in this order:
//! 1. **native journald fields** (`systemd.journal.JournalHandler`): `MESSAGE` is the bare
//!    message and the extras are fields (`REQUEST_ID`, `STATUS_CODE`, …); `PRIORITY` is real.
//! 2. **JSON records** (`{"asctime": …, "levelname": …, "message": …, extras}`).
//! 3. **Python records** `YYYY-MM-DD HH:MM:SS[,mmm] [LEVEL] logger - message[ key=value…]`
//!    (stock formatter: no extras; key=value formatter: extras appended).
//! 4. **uvicorn** `LEVEL:     text` (level padded to column 10): access lines and lifecycle.
//! 5. **continuation lines** of the record before (tracebacks, caret lines, indented dumps,
//!    the source line of a warning, exception lines).
//! 6. a Python warning's first line (`file.py:6: DeprecationWarning: …`).
//!
//! Anything else is `Unparsed`. Parsing never fails and never panics.

use std::borrow::Cow;
use std::fmt;
use std::sync::LazyLock;

use memchr::memmem;
use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

use super::{EventKind, Level, Parsed, RayId, RequestId, SecretKind, ServerEvent};
use crate::bytes;
use crate::json::{Name, Object};
use crate::source::RawEntry;

const INCOMING: &str = "Incoming MCP HTTP request";
const OUTGOING: &str = "Outgoing MCP HTTP response";
const ERROR_HANDLING: &str = "Error handling MCP request";

/// Parses one line of the Sigil server's unit.
pub fn parse(entry: &RawEntry) -> Parsed {
    let text = super::text_of(&entry.message);
    if entry.field("REQUEST_ID").is_some() || entry.field("_TRANSPORT") == Some(b"journal") {
        if let Some(parsed) = parse_native(entry, &text) {
            return parsed;
        }
    }
    parse_text(&text)
}

/// Parses one line of text (no journald fields involved).
pub fn parse_text(text: &str) -> Parsed {
    let line = text.trim_end_matches(['\n', '\r']);
    if line.starts_with('{') {
        if let Some(parsed) = parse_json(line) {
            return parsed;
        }
    }
    if let Some(parsed) = parse_python_record(line) {
        return parsed;
    }
    if let Some(parsed) = parse_uvicorn(line) {
        return parsed;
    }
    if let Some(kind) = continuation_kind(line) {
        return Parsed::new(None, kind);
    }
    if is_python_warning(line) {
        return Parsed::new(Some(Level::Warn), EventKind::Other);
    }
    Parsed::new(None, EventKind::Unparsed)
}

fn parse_native(entry: &RawEntry, text: &str) -> Option<Parsed> {
    let get = |k: &str| entry.field_str(k).filter(|v| *v != "None").map(Box::from);
    let msg = text.trim_end();
    let kind = if msg == INCOMING {
        EventKind::SigilIncoming {
            request_id: get("REQUEST_ID").map(RequestId),
            method: get("METHOD"),
            path: get("PATH"),
            client_ip: get("CLIENT_IP"),
            cf_ray: get("CF_RAY").map(RayId),
        }
    } else if msg == OUTGOING {
        EventKind::SigilOutgoing {
            request_id: get("REQUEST_ID").map(RequestId),
            status: entry.field_str("STATUS_CODE").and_then(|v| v.parse().ok()),
            duration_ms: entry.field_str("DURATION_MS").and_then(parse_duration_ms),
            method: get("METHOD"),
            path: get("PATH"),
            tool_error: entry
                .field("RESPONSE_BODY")
                .is_some_and(|b| body_has_tool_error(&super::text_of(b))),
            stale_session: entry
                .field("RESPONSE_BODY")
                .is_some_and(|b| body_is_stale_session(&super::text_of(b))),
        }
    } else if msg == ERROR_HANDLING {
        EventKind::SigilError {
            request_id: get("REQUEST_ID").map(RequestId),
            duration_ms: entry.field_str("DURATION_MS").and_then(parse_duration_ms),
            method: get("METHOD"),
            path: get("PATH"),
        }
    } else {
        return None;
    };
    let level = entry.priority.map(Level::from_priority);
    Some(Parsed::new(level, kind))
}

fn level_word(word: &str) -> Option<Level> {
    Some(match word {
        "DEBUG" => Level::Debug,
        "INFO" => Level::Info,
        "WARNING" | "WARN" => Level::Warn,
        "ERROR" => Level::Error,
        "CRITICAL" | "FATAL" => Level::Critical,
        _ => return None,
    })
}

/// `s.split_once(pat)` for a short ASCII `pat`: a word-at-a-time search for its first
/// byte and a compare, where std builds a substring searcher per call (which cost more
/// than the search on every record line). An ASCII byte never falls inside a multi-byte
/// character, so both halves are on character boundaries.
fn split_ascii<'a>(s: &'a str, pat: &[u8]) -> Option<(&'a str, &'a str)> {
    let (b, first) = (s.as_bytes(), *pat.first()?);
    let at = bytes::find_byte_where(b, 0, first, |at| b[at..].starts_with(pat))?;
    Some((s.get(..at)?, s.get(at + pat.len()..)?))
}

/// `2026-11-24 10:15:02 [INFO] logger - message…` (optionally `,mmm` after the seconds).
fn parse_python_record(line: &str) -> Option<Parsed> {
    let b = line.as_bytes();
    let is_stamp = b.len() > 21
        && b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b' '
        && b[13] == b':'
        && b[16] == b':'
        && b[..4].iter().all(u8::is_ascii_digit);
    if !is_stamp {
        return None;
    }
    let rest = line.get(19..)?;
    let rest = match rest.strip_prefix(',') {
        Some(r) => r.trim_start_matches(|c: char| c.is_ascii_digit()),
        None => rest,
    };
    let rest = rest.strip_prefix(" [")?;
    let (word, rest) = split_ascii(rest, b"] ")?;
    let level = level_word(word);
    let (logger, message) = match split_ascii(rest, b" - ") {
        Some((l, m)) => (l, m),
        // `logger - ` with an empty message keeps its trailing space; without it there is
        // no separator at all.
        None => (rest.strip_suffix(" -").unwrap_or(rest), ""),
    };
    Some(classify_message(level, logger, message))
}

/// What an application record says, given its logger and message (extras may follow the
/// message as ` key=value`).
fn classify_message(level: Option<Level>, logger: &str, message: &str) -> Parsed {
    if let Some(rest) = message.strip_prefix(INCOMING) {
        let [request_id, method, path, client_ip, cf_ray] = extras(
            rest,
            ["request_id", "method", "path", "client_ip", "cf_ray"],
        );
        return Parsed::new(
            level,
            EventKind::SigilIncoming {
                request_id: request_id.map(|v| RequestId(v.into())),
                method: method.map(Box::from),
                path: path.map(Box::from),
                client_ip: client_ip.map(Box::from),
                cf_ray: cf_ray.map(|v| RayId(v.into())),
            },
        );
    }
    if let Some(rest) = message.strip_prefix(OUTGOING) {
        let [request_id, status, duration_ms, method, path, body] = extras(
            rest,
            [
                "request_id",
                "status_code",
                "duration_ms",
                "method",
                "path",
                "response_body",
            ],
        );
        return Parsed::new(
            level,
            EventKind::SigilOutgoing {
                request_id: request_id.map(|v| RequestId(v.into())),
                status: status.and_then(|v| v.parse().ok()),
                duration_ms: duration_ms.and_then(parse_duration_ms),
                method: method.map(Box::from),
                path: path.map(Box::from),
                tool_error: body.is_some_and(body_has_tool_error),
                stale_session: body.is_some_and(body_is_stale_session),
            },
        );
    }
    if let Some(rest) = message.strip_prefix(ERROR_HANDLING) {
        let [request_id, duration_ms, method, path] =
            extras(rest, ["request_id", "duration_ms", "method", "path"]);
        return Parsed::new(
            level,
            EventKind::SigilError {
                request_id: request_id.map(|v| RequestId(v.into())),
                duration_ms: duration_ms.and_then(parse_duration_ms),
                method: method.map(Box::from),
                path: path.map(Box::from),
            },
        );
    }
    let mut parsed = Parsed::new(level, server_event(logger, message));
    if let Some(secret) = secret_in_message(message) {
        parsed
            .also
            .push(EventKind::Server(ServerEvent::SecretLogged {
                kind: secret,
            }));
    }
    parsed
}

fn server_event(logger: &str, message: &str) -> EventKind {
    let m = message.trim();
    if m.starts_with("Starting sigil_repos MCP server") || m.starts_with("Sigil MCP starting") {
        return EventKind::Server(ServerEvent::Banner);
    }
    if let Some(rest) = m.strip_prefix("Tool '") {
        if let Some((tool, tail)) = rest.split_once('\'') {
            if tail.trim_start().starts_with("not listed") {
                return EventKind::Server(ServerEvent::ToolNotListed { tool: tool.into() });
            }
        }
    }
    if logger.starts_with("sigil") {
        if let Some(tool) = tool_called(m) {
            return EventKind::Server(ServerEvent::ToolCalled { tool: tool.into() });
        }
    }
    if m.starts_with("Exception in ASGI application") {
        return EventKind::Server(ServerEvent::Exception);
    }
    EventKind::Other
}

/// `search_code tool called (query=…)`, `ping tool called`, `semantic_search called (…)`.
fn tool_called(message: &str) -> Option<&str> {
    let (name, rest) = message.split_once(' ')?;
    let is_ident = !name.is_empty() && name.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_');
    if !is_ident {
        return None;
    }
    if rest.starts_with("tool called") || rest.starts_with("called (") || rest == "called" {
        Some(name)
    } else {
        None
    }
}

/// Secrets the real server writes in its own records (never copied, only named).
fn secret_in_message(message: &str) -> Option<SecretKind> {
    let m = message.trim_start();
    if m.starts_with("Client Secret:") {
        return Some(SecretKind::OAuthClientSecret);
    }
    if m.starts_with("Form data:") {
        let has_value = |key: &str| {
            m.split(", ")
                .filter_map(|kv| kv.trim().strip_prefix(key))
                .any(|v| !v.is_empty() && !v.starts_with("None"))
        };
        if has_value("client_secret=") {
            return Some(SecretKind::OAuthClientSecret);
        }
        if has_value("code=") || has_value("refresh_token=") {
            return Some(SecretKind::OAuthCode);
        }
        return None;
    }
    if m.starts_with("Authorization code:")
        || (m.starts_with("Redirecting to:") && m.contains("code="))
    {
        return Some(SecretKind::OAuthCode);
    }
    if (m.starts_with("Request URL:") || m.starts_with("All params:")) && query_has_secret(m) {
        return Some(SecretKind::QueryToken);
    }
    None
}

/// True when a URL or query string carries a credential-like parameter with a value.
fn query_has_secret(s: &str) -> bool {
    const KEYS: &[&str] = &[
        "token=",
        "access_token=",
        "refresh_token=",
        "code=",
        "client_secret=",
        "api_key=",
        "apikey=",
        "key=",
        "password=",
    ];
    let Some((_, query)) = s.split_once('?') else {
        return false;
    };
    query.split(['&', ' ']).any(|pair| {
        KEYS.iter().any(|k| {
            pair.strip_prefix(k)
                .is_some_and(|v| !v.is_empty() && v != "None")
        })
    })
}

fn parse_duration_ms(v: &str) -> Option<u64> {
    let v = v.trim();
    if let Ok(n) = v.parse::<u64>() {
        return Some(n);
    }
    // Some formatters render floats (`143.2`). Negative, NaN or absurd values are dropped.
    let f: f64 = v.parse().ok()?;
    if f.is_finite() && (0.0..1.0e12).contains(&f) {
        format!("{:.0}", f.round()).parse().ok()
    } else {
        None
    }
}

/// JSON-RPC tool failures are results with `"isError": true`; the body may be JSON text or
/// its escaped form inside a quoted `response_body=` value.
///
/// Bodies can be kilobytes long (a tool's whole result), so this is one SIMD search for
/// `isError` and a look at the bytes around each hit, not one substring search per form.
fn body_has_tool_error(body: &str) -> bool {
    static IS_ERROR: LazyLock<memmem::Finder<'static>> =
        LazyLock::new(|| memmem::Finder::new("isError"));
    let b = body.as_bytes();
    IS_ERROR.find_iter(b).any(|at| {
        let (before, after) = (&b[..at], &b[at + "isError".len()..]);
        // `"isError":true` / `"isError": true`, or the same escaped inside a JSON string.
        let plain = before.ends_with(b"\"") && after.starts_with(b"\":");
        let escaped = before.ends_with(b"\\\"") && after.starts_with(b"\\\":");
        let rest = if escaped {
            &after[3..]
        } else if plain {
            &after[2..]
        } else {
            return false;
        };
        rest.starts_with(b"true") || rest.starts_with(b" true")
    })
}

/// The MCP session manager's answer to a request with an unknown `mcp-session-id`.
fn body_is_stale_session(body: &str) -> bool {
    static STALE: LazyLock<memmem::Finder<'static>> =
        LazyLock::new(|| memmem::Finder::new("No valid session ID provided"));
    STALE.find(body.as_bytes()).is_some()
}

/// The values of `keys` among the ` key=value` extras after a message, as the key=value
/// formatter renders them: values are Python `str()`, so `None`, bare tokens, quoted
/// strings with escapes, or a dict/JSON repr with spaces (balanced braces).
///
/// The first pair with a key wins; a value is `None` when the key is absent, or its value
/// is empty or Python's `None`. The scan stops once every key has been seen, so what
/// follows them is never walked: an incoming request's `headers={…}` (hundreds of bytes
/// of quoted strings) comes after everything that is asked of it.
fn extras<'a, const N: usize>(s: &'a str, keys: [&str; N]) -> [Option<&'a str>; N] {
    let mut found: [Option<&'a str>; N] = [None; N];
    let mut missing = N;
    for (key, value) in (Pairs { s, i: 0 }) {
        if let Some(j) = keys.iter().position(|k| *k == key) {
            if found[j].is_none() {
                found[j] = Some(value);
                missing -= 1;
                if missing == 0 {
                    break;
                }
            }
        }
    }
    found.map(|v| v.filter(|v| *v != "None" && !v.is_empty()))
}

/// The bytes of an extra's key: ASCII letters, digits and `_` (a table: one load per
/// byte instead of three range tests).
static KEY_BYTES: [bool; 256] = {
    let mut table = [false; 256];
    let mut b: u8 = 0;
    loop {
        table[b as usize] = b.is_ascii_alphanumeric() || b == b'_';
        if b == u8::MAX {
            break table;
        }
        b += 1;
    }
};

/// The ` key=value` pairs of [`extras`], in order; values without their quotes.
struct Pairs<'a> {
    s: &'a str,
    /// Where the next pair (or the spaces before it) starts.
    i: usize,
}

impl<'a> Iterator for Pairs<'a> {
    type Item = (&'a str, &'a str);

    fn next(&mut self) -> Option<(&'a str, &'a str)> {
        let (s, b) = (self.s, self.s.as_bytes());
        let mut i = self.i;
        while i < b.len() && b[i] == b' ' {
            i += 1;
        }
        let key_start = i;
        while b.get(i).is_some_and(|&c| KEY_BYTES[usize::from(c)]) {
            i += 1;
        }
        if i >= b.len() || b[i] != b'=' || i == key_start {
            self.i = b.len();
            return None;
        }
        let key = &s[key_start..i];
        i += 1;
        let value_start = i;
        let end = match b.get(i) {
            Some(b'"' | b'\'') => bytes::quoted_end(b, i).unwrap_or(b.len()),
            Some(b'{' | b'[') => balanced_end(b, i),
            _ => bytes::find_byte(b, i, b' ').unwrap_or(b.len()),
        };
        let end = end.min(b.len());
        let raw = s.get(value_start..end).unwrap_or("");
        let value = raw
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .or_else(|| raw.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')))
            .unwrap_or(raw);
        self.i = end;
        Some((key, value))
    }
}

/// Index just past the dict, list or JSON value opening at `start` (the end of the text
/// when it does not close).
///
/// A byte walk, not `bytes::bracketed_end`: a Python `repr` quotes its strings with `'`,
/// or with `"` when they hold a `'`, so which quote opens a string is known only by
/// walking; the JSON block scan knows one quote. These values are rare and short on the
/// paths that are hot (an incoming request's `headers={…}` comes after every key asked
/// of it, so [`extras`] never reaches it).
fn balanced_end(b: &[u8], start: usize) -> usize {
    let mut depth = 0usize;
    let mut i = start;
    while i < b.len() {
        match b[i] {
            b'"' | b'\'' => {
                i = bytes::quoted_end(b, i).unwrap_or(b.len());
                continue;
            }
            b'{' | b'[' => depth += 1,
            b'}' | b']' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return i + 1;
                }
            }
            _ => {}
        }
        i += 1;
    }
    b.len()
}

/// A JSON record (python-json-logger style). Key names vary by deployment.
///
/// Read by the crate's serde-based object reader (`crate::json`): the line is refused
/// exactly when `serde_json` refuses it, a repeated key keeps its last value, and no
/// `serde_json::Value` (a map, an owned copy of every string) is built per record.
fn parse_json(line: &str) -> Option<Parsed> {
    let obj = Object::<JsonValue>::parse(line.as_bytes())?;
    let text = |keys: &[&str]| {
        keys.iter().find_map(|k| match obj.last(k) {
            Some(JsonValue::Text(t)) => Some(t.as_ref()),
            _ => None,
        })
    };
    let level =
        text(&["levelname", "level", "severity"]).and_then(|w| level_word(&w.to_ascii_uppercase()));
    let message = text(&["message", "msg"])?;
    let logger = text(&["name", "logger"]).unwrap_or_default();
    let s = |k: &str| {
        obj.last(k).and_then(|v| match v {
            JsonValue::Text(s) if s != "None" && !s.is_empty() => {
                Some(Box::<str>::from(s.as_ref()))
            }
            JsonValue::Number(n) => Some(n.to_string().into()),
            _ => None,
        })
    };
    let number = |k: &str| match obj.last(k) {
        Some(JsonValue::Number(n)) => n
            .as_u64()
            .or_else(|| n.as_f64().and_then(|f| parse_duration_ms(&f.to_string()))),
        Some(JsonValue::Text(v)) => parse_duration_ms(v),
        _ => None,
    };
    let body = || match obj.last("response_body") {
        Some(JsonValue::Text(b)) => Some(b.as_ref()),
        _ => None,
    };
    let kind = match message {
        INCOMING => EventKind::SigilIncoming {
            request_id: s("request_id").map(RequestId),
            method: s("method"),
            path: s("path"),
            client_ip: s("client_ip"),
            cf_ray: s("cf_ray").map(RayId),
        },
        OUTGOING => EventKind::SigilOutgoing {
            request_id: s("request_id").map(RequestId),
            status: number("status_code").and_then(|n| u16::try_from(n).ok()),
            duration_ms: number("duration_ms"),
            method: s("method"),
            path: s("path"),
            tool_error: body().is_some_and(body_has_tool_error),
            stale_session: body().is_some_and(body_is_stale_session),
        },
        ERROR_HANDLING => EventKind::SigilError {
            request_id: s("request_id").map(RequestId),
            duration_ms: number("duration_ms"),
            method: s("method"),
            path: s("path"),
        },
        _ => return Some(classify_message(level, logger, message)),
    };
    Some(Parsed::new(level, kind))
}

/// A JSON record's member, as much of it as [`parse_json`] reads: text (borrowed unless
/// it has escapes), a number (as `serde_json::Value` would hold it), or anything else.
/// Arrays and objects are read whole as `serde_json::Value`s and dropped, so what is
/// accepted, nesting included, is what a `Value` accepts.
enum JsonValue<'a> {
    Text(Cow<'a, str>),
    Number(serde_json::Number),
    Other,
}

impl<'de> Deserialize<'de> for JsonValue<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(JsonValueVisitor)
    }
}

struct JsonValueVisitor;

impl<'de> Visitor<'de> for JsonValueVisitor {
    type Value = JsonValue<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(JsonValue::Text(Cow::Borrowed(v)))
    }

    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(JsonValue::Text(Cow::Owned(v.to_owned())))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
        Ok(JsonValue::Number(v.into()))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
        Ok(JsonValue::Number(v.into()))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(JsonValue::Other, JsonValue::Number))
    }

    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(JsonValue::Other)
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(JsonValue::Other)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<serde_json::Value>()?.is_some() {}
        Ok(JsonValue::Other)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<Name, serde_json::Value>()?.is_some() {}
        Ok(JsonValue::Other)
    }
}

/// uvicorn's own lines: `INFO:     text`, `WARNING:  text`, `ERROR:    text`.
fn parse_uvicorn(line: &str) -> Option<Parsed> {
    let (word, rest) = line.split_once(':')?;
    let level = level_word(word)?;
    if !rest.starts_with(' ') {
        return None;
    }
    let text = rest.trim_start();
    if let Some(access) = parse_access(text) {
        let mut parsed = Parsed::new(Some(level), access);
        if let EventKind::AccessLog { target, .. } = &parsed.kind {
            if query_has_secret(target) {
                parsed
                    .also
                    .push(EventKind::Server(ServerEvent::SecretLogged {
                        kind: SecretKind::QueryToken,
                    }));
            }
        }
        return Some(parsed);
    }
    let event = if text.starts_with("Started server process") {
        ServerEvent::ProcessStarted
    } else if let Some(rest) = text.strip_prefix("Uvicorn running on ") {
        let addr = rest.split_whitespace().next().unwrap_or("");
        let port = addr.rsplit(':').next().and_then(|p| p.parse().ok());
        ServerEvent::Listening {
            addr: addr.into(),
            port,
        }
    } else if text.starts_with("Shutting down") {
        ServerEvent::ShuttingDown
    } else if text.starts_with("Waiting for connections to close") {
        ServerEvent::WaitingForConnections
    } else if text.starts_with("Finished server process") {
        ServerEvent::Finished
    } else if text.starts_with("Invalid HTTP request received") {
        ServerEvent::InvalidHttpRequest
    } else if text.starts_with("Exception in ASGI application") {
        ServerEvent::Exception
    } else if text.contains("error while attempting to bind on address") {
        ServerEvent::BindFailed
    } else {
        return Some(Parsed::new(Some(level), EventKind::Other));
    };
    Some(Parsed::new(Some(level), EventKind::Server(event)))
}

/// `203.0.113.45:0 - "POST /x?y HTTP/1.1" 200 OK`.
fn parse_access(text: &str) -> Option<EventKind> {
    let (client, rest) = split_ascii(text, b" - \"")?;
    let (request, after) = rest.rsplit_once("\" ")?;
    let mut parts = request.split(' ');
    let method = parts.next()?;
    let target = parts.next()?;
    if !method.bytes().all(|c| c.is_ascii_uppercase()) || method.is_empty() {
        return None;
    }
    let status: u16 = after.split(' ').next()?.parse().ok()?;
    let client_ip = client.rsplit_once(':').map_or(client, |(ip, _)| ip);
    Some(EventKind::AccessLog {
        client_ip: client_ip.into(),
        method: method.into(),
        target: target.into(),
        status,
    })
}

/// Lines that belong to the record before them: tracebacks and their source and caret
/// lines, chained-exception banners, indented dumps, exception lines (their own kind),
/// blank lines.
fn continuation_kind(line: &str) -> Option<EventKind> {
    if names_exception(line) {
        return Some(EventKind::ExceptionLine);
    }
    is_continuation(line).then_some(EventKind::Continuation)
}

fn is_continuation(line: &str) -> bool {
    if line.is_empty() || line.starts_with([' ', '\t']) {
        return true;
    }
    if line.starts_with("Traceback (most recent call last)")
        || line.starts_with("During handling of the above exception")
        || line.starts_with("The above exception was the direct cause")
        || line.starts_with("+ Exception Group Traceback")
        || line.starts_with('^')
        || line.starts_with('~')
        || line.starts_with('|')
        || line.starts_with('+')
    {
        return true;
    }
    is_exception_line(line) || is_field_path(line)
}

/// An exception line that surely names one: `ValueError: bad`, `a.b.ClientDisconnect`
/// (a known exception suffix, or a message after the name). A bare dotted name with
/// neither (`params.arguments.query`) is a field path of a validation dump.
fn names_exception(line: &str) -> bool {
    if !is_exception_line(line) {
        return false;
    }
    let name = line.split(": ").next().unwrap_or(line);
    name.len() < line.len() || has_exception_suffix(name.rsplit('.').next().unwrap_or(name))
}

fn has_exception_suffix(last: &str) -> bool {
    [
        "Error",
        "Exception",
        "Warning",
        "Disconnect",
        "Exit",
        "Interrupt",
        "Cancelled",
        "CancelledError",
        "Timeout",
        "Group",
    ]
    .iter()
    .any(|s| last.ends_with(s))
}

/// `ValueError: bad`, `starlette.requests.ClientDisconnect`, `KeyError: 'x'`.
fn is_exception_line(line: &str) -> bool {
    let name = line.split(": ").next().unwrap_or(line);
    let is_dotted_ident = !name.is_empty()
        && name
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'.')
        && name.as_bytes()[0].is_ascii_alphabetic();
    if !is_dotted_ident {
        return false;
    }
    has_exception_suffix(name.rsplit('.').next().unwrap_or(name))
        || (name.contains('.')
            && (line.len() == name.len() || line[name.len()..].starts_with(": ")))
}

/// pydantic's field-path lines in a validation dump (`params.arguments`, `ping.method`).
fn is_field_path(line: &str) -> bool {
    line.len() < 200
        && line.contains('.')
        && line
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'[' | b']' | b'-'))
}

/// `/path/to/file.py:6: DeprecationWarning: text` (the warnings module's first line).
fn is_python_warning(line: &str) -> bool {
    line.contains(".py:") && (line.contains("Warning: ") || line.contains("Warning:"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(line: &str) -> EventKind {
        parse_text(line).kind
    }

    /// `split_ascii` splits where `str::split_once` does, next to multi-byte text too.
    #[test]
    fn split_ascii_agrees_with_split_once() {
        for s in [
            "a] b",
            "é] ] x",
            "]] ",
            "no",
            "x - y - z",
            "日本 - 語",
            " -  - ",
            "-",
        ] {
            for pat in ["] ", " - ", " - \""] {
                assert_eq!(
                    split_ascii(s, pat.as_bytes()),
                    s.split_once(pat),
                    "{s:?} {pat:?}"
                );
            }
        }
    }

    /// How JSON records were read before the object reader: through a
    /// `serde_json::Value`. The reference for [`parse_json`].
    fn parse_json_by_value(line: &str) -> Option<Parsed> {
        use serde_json::Value;
        let value: Value = serde_json::from_str(line).ok()?;
        let obj = value.as_object()?;
        let text = |keys: &[&str]| {
            keys.iter()
                .find_map(|k| obj.get(*k).and_then(Value::as_str))
                .map(str::to_owned)
        };
        let level = text(&["levelname", "level", "severity"])
            .and_then(|w| level_word(&w.to_ascii_uppercase()));
        let message = text(&["message", "msg"])?;
        let logger = text(&["name", "logger"]).unwrap_or_default();
        let s = |k: &str| {
            obj.get(k).and_then(|v| match v {
                Value::String(s) if s != "None" && !s.is_empty() => {
                    Some(Box::<str>::from(s.as_str()))
                }
                Value::Number(n) => Some(n.to_string().into()),
                _ => None,
            })
        };
        let number = |k: &str| match obj.get(k) {
            Some(Value::Number(n)) => n
                .as_u64()
                .or_else(|| n.as_f64().and_then(|f| parse_duration_ms(&f.to_string()))),
            Some(Value::String(v)) => parse_duration_ms(v),
            _ => None,
        };
        let body = obj.get("response_body").and_then(Value::as_str);
        let kind = match message.as_str() {
            INCOMING => EventKind::SigilIncoming {
                request_id: s("request_id").map(RequestId),
                method: s("method"),
                path: s("path"),
                client_ip: s("client_ip"),
                cf_ray: s("cf_ray").map(RayId),
            },
            OUTGOING => EventKind::SigilOutgoing {
                request_id: s("request_id").map(RequestId),
                status: number("status_code").and_then(|n| u16::try_from(n).ok()),
                duration_ms: number("duration_ms"),
                method: s("method"),
                path: s("path"),
                tool_error: body.is_some_and(body_has_tool_error),
                stale_session: body.is_some_and(body_is_stale_session),
            },
            ERROR_HANDLING => EventKind::SigilError {
                request_id: s("request_id").map(RequestId),
                duration_ms: number("duration_ms"),
                method: s("method"),
                path: s("path"),
            },
            _ => return Some(classify_message(level, &logger, &message)),
        };
        Some(Parsed::new(level, kind))
    }

    /// Generated records (every key the reader looks at, values of every JSON kind,
    /// repeated keys, escapes, nesting, cut or spoiled lines): the object reader gives what
    /// the `Value` reader gave, line for line.
    #[test]
    fn json_records_read_as_a_value_would_read_them() {
        let keys = [
            "levelname",
            "level",
            "severity",
            "message",
            "msg",
            "name",
            "logger",
            "request_id",
            "method",
            "path",
            "client_ip",
            "cf_ray",
            "status_code",
            "duration_ms",
            "response_body",
            "asctime",
            "extra",
        ];
        let messages = [
            r#""Incoming MCP HTTP request""#,
            r#""Outgoing MCP HTTP response""#,
            r#""Error handling MCP request""#,
            r#""Tool 'x' not listed, no validation""#,
            r#""Client Secret: abc""#,
            r#""Outgoing MCP HTTP \u0072esponse""#,
        ];
        let values = [
            r#""INFO""#,
            r#""warning""#,
            r#""None""#,
            r#""""#,
            "200",
            "-5",
            "143.25",
            "1e3",
            "18446744073709551616",
            "true",
            "null",
            "[1,2]",
            r#"{"a":[{"b":1}]}"#,
            r#""a\"b\u00e9""#,
            r#""{\"isError\":true}""#,
            r#""No valid session ID provided""#,
            r#""\ud83d\ude00""#,
            r#""\ud800""#,
            "01",
        ];
        let mut next = crate::bytes::test_rng(23);
        let mut records = 0;
        for round in 0..4000 {
            let mut members = Vec::new();
            for _ in 0..next(9) {
                let key = keys[next(keys.len())];
                let value = if key.starts_with('m') && next(2) == 0 {
                    messages[next(messages.len())]
                } else {
                    values[next(values.len())]
                };
                members.push(format!("\"{key}\": {value}"));
            }
            if next(3) > 0 {
                members.push(format!("\"message\": {}", messages[next(messages.len())]));
            }
            let mut line = format!("{{{}}}", members.join(", "));
            match round % 7 {
                0 => line.truncate(next(line.len() + 1)),
                1 => line.push_str(" x"),
                2 => line.push_str("  "),
                _ => {}
            }
            let want = parse_json_by_value(&line);
            records += usize::from(want.is_some());
            assert_eq!(parse_json(&line), want, "{line}");
        }
        assert!(
            records > 1000,
            "too few records to mean anything: {records}"
        );
    }

    /// The first pair with a key wins, `None` and empty values read as absent, and a key
    /// after a dict value is still found (the scan only stops once every key was seen).
    #[test]
    fn extras_take_the_first_pair_of_each_key_wherever_it_is() {
        let line = r#" a=1 b=None c="x y" d={"k": "v w", "n": [1, {"z": "}"}]} a=2 e='q' f="""#;
        assert_eq!(
            extras(line, ["a", "b", "c", "e", "f", "g"]),
            [Some("1"), None, Some("x y"), Some("q"), None, None]
        );
        assert_eq!(
            extras(line, ["d"]),
            [Some(r#"{"k": "v w", "n": [1, {"z": "}"}]}"#)]
        );
    }

    #[test]
    fn stock_formatter_gives_records_without_ids() {
        let k = kind("2026-11-24 10:15:02 [INFO] sigil_repos_mcp - Incoming MCP HTTP request");
        assert_eq!(
            k,
            EventKind::SigilIncoming {
                request_id: None,
                method: None,
                path: None,
                client_ip: None,
                cf_ray: None
            }
        );
        let p =
            parse_text("2026-11-24 10:15:02 [INFO] sigil_repos_mcp - Outgoing MCP HTTP response");
        assert_eq!(p.level, Some(Level::Info));
        assert!(matches!(
            p.kind,
            EventKind::SigilOutgoing { status: None, .. }
        ));
    }

    #[test]
    fn key_value_incoming_keeps_ray_and_ids_with_a_headers_dict_full_of_spaces() {
        let line = r#"2026-11-25 17:05:20 [INFO] sigil_repos_mcp - Incoming MCP HTTP request request_id=40c58f7d-33cd-434e-8b9a-0df6570a40c0 method=GET path=/healthz client_ip=216.144.250.150 cf_ray=d1209a555bb4d510-DFW headers={"host":"mcp.example.com","user-agent":"Mozilla/5.0+(compatible; UptimeRobot/2.0; http://www.uptimerobot.com/)"}"#;
        assert_eq!(
            kind(line),
            EventKind::SigilIncoming {
                request_id: Some(RequestId("40c58f7d-33cd-434e-8b9a-0df6570a40c0".into())),
                method: Some("GET".into()),
                path: Some("/healthz".into()),
                client_ip: Some("216.144.250.150".into()),
                cf_ray: Some(RayId("d1209a555bb4d510-DFW".into())),
            }
        );
    }

    #[test]
    fn key_value_none_values_and_python_dict_repr() {
        let line = "2026-11-24 10:15:02 [INFO] sigil_repos_mcp - Incoming MCP HTTP request request_id=0c8e3b52-91d4-4f0a-a6c7-3e5d2b9f1a04 method=GET path=/healthz client_ip=None cf_ray=None headers={'host': 'mcp.example.com', 'authorization': '<redacted>'}";
        let EventKind::SigilIncoming {
            client_ip, cf_ray, ..
        } = kind(line)
        else {
            panic!("not incoming")
        };
        assert_eq!((client_ip, cf_ray), (None, None));
    }

    #[test]
    fn key_value_outgoing_with_quoted_response_body_flags_tool_errors() {
        let ok = r#"2026-11-25 17:05:20 [INFO] sigil_repos_mcp - Outgoing MCP HTTP response request_id=67b8fb62-3003-42df-bd8e-a4f109541f79 status_code=200 duration_ms=6 path=/ method=POST response_body="{\"jsonrpc\":\"2.0\",\"id\":0,\"result\":{\"content\":[],\"isError\":false}}""#;
        let bad = ok.replace("isError\\\":false", "isError\\\":true");
        let EventKind::SigilOutgoing {
            status,
            duration_ms,
            method,
            tool_error,
            ..
        } = kind(ok)
        else {
            panic!("not outgoing")
        };
        assert_eq!(
            (status, duration_ms, method.as_deref(), tool_error),
            (Some(200), Some(6), Some("POST"), false)
        );
        assert!(matches!(
            kind(&bad),
            EventKind::SigilOutgoing {
                tool_error: true,
                ..
            }
        ));
    }

    #[test]
    fn json_record_with_millisecond_asctime() {
        let line = r#"{"asctime": "2026-11-24 21:24:24,866", "levelname": "INFO", "name": "sigil_repos_mcp", "message": "Outgoing MCP HTTP response", "request_id": "abc", "status_code": 200, "duration_ms": 0, "path": "/healthz", "method": "GET"}"#;
        let p = parse_text(line);
        assert_eq!(p.level, Some(Level::Info));
        assert!(matches!(
            p.kind,
            EventKind::SigilOutgoing {
                status: Some(200),
                duration_ms: Some(0),
                ..
            }
        ));
    }

    #[test]
    fn json_record_other_message_and_alternative_keys() {
        let p = parse_text(
            r#"{"timestamp": "x", "level": "warning", "logger": "mcp.server.lowlevel.server", "msg": "Tool 'list_repo_files' not listed, no validation will be performed"}"#,
        );
        assert_eq!(p.level, Some(Level::Warn));
        assert_eq!(
            p.kind,
            EventKind::Server(ServerEvent::ToolNotListed {
                tool: "list_repo_files".into()
            })
        );
    }

    #[test]
    fn uvicorn_access_line_keeps_query_and_flags_tokens() {
        let p =
            parse_text(r#"INFO:     203.0.113.45:0 - "GET /healthz?token=s3cr3t HTTP/1.1" 200 OK"#);
        assert_eq!(
            p.kind,
            EventKind::AccessLog {
                client_ip: "203.0.113.45".into(),
                method: "GET".into(),
                target: "/healthz?token=s3cr3t".into(),
                status: 200
            }
        );
        assert_eq!(
            p.also,
            vec![EventKind::Server(ServerEvent::SecretLogged {
                kind: SecretKind::QueryToken
            })]
        );
    }

    #[test]
    fn uvicorn_lifecycle_lines() {
        let rows = [
            (
                "INFO:     Started server process [13607]",
                ServerEvent::ProcessStarted,
            ),
            ("INFO:     Shutting down", ServerEvent::ShuttingDown),
            (
                "INFO:     Waiting for connections to close. (CTRL+C to force quit)",
                ServerEvent::WaitingForConnections,
            ),
            (
                "INFO:     Finished server process [13607]",
                ServerEvent::Finished,
            ),
            (
                "WARNING:  Invalid HTTP request received.",
                ServerEvent::InvalidHttpRequest,
            ),
            (
                "ERROR:    Exception in ASGI application",
                ServerEvent::Exception,
            ),
            (
                "INFO:     Uvicorn running on http://127.0.0.1:8000 (Press CTRL+C to quit)",
                ServerEvent::Listening {
                    addr: "http://127.0.0.1:8000".into(),
                    port: Some(8000),
                },
            ),
        ];
        for (line, want) in rows {
            assert_eq!(kind(line), EventKind::Server(want), "{line}");
        }
    }

    #[test]
    fn traceback_lines_are_continuations() {
        for line in [
            "Traceback (most recent call last):",
            "  File \"/opt/x.py\", line 3, in f",
            "    ^^^^^^^^^^^",
            "starlette.requests.ClientDisconnect",
            "ValueError: invalid literal for int() with base 10: 'x'",
            "During handling of the above exception, another exception occurred:",
            "  warnings.warn(  # deprecated in 14.0 - 2024-11-09",
            "",
            "params.arguments.query",
        ] {
            assert!(kind(line).is_continuation(), "{line:?}");
        }
        for line in [
            "starlette.requests.ClientDisconnect",
            "ValueError: invalid literal for int() with base 10: 'x'",
            "anyio.EndOfStream: stream closed",
        ] {
            assert_eq!(kind(line), EventKind::ExceptionLine, "{line:?}");
        }
        for line in [
            "  File \"/opt/x.py\", line 3, in f",
            "params.arguments.query",
            "",
        ] {
            assert_eq!(kind(line), EventKind::Continuation, "{line:?}");
        }
    }

    #[test]
    fn python_warning_header_is_a_warning_record() {
        let p = parse_text("/opt/sigil-mcp/venv/lib/python3.11/site-packages/websockets/legacy/__init__.py:6: DeprecationWarning: websockets.legacy is deprecated");
        assert_eq!((p.level, p.kind), (Some(Level::Warn), EventKind::Other));
    }

    #[test]
    fn secrets_in_records_are_named_never_copied() {
        let rows = [
            ("2026-11-24 21:20:26 [INFO] sigil_repos_mcp - Client Secret: 1h9nO42vXldxy8xrJNfT8jOfof6lcDv", SecretKind::OAuthClientSecret),
            ("2026-11-25 17:06:12 [INFO] sigil_repos_mcp - Form data: grant_type=authorization_code, code=abcdefghijklmnopqrst..., redirect_uri=None, client_id=nobody, client_secret=None", SecretKind::OAuthCode),
        ];
        for (line, want) in rows {
            let p = parse_text(line);
            assert_eq!(
                p.also,
                vec![EventKind::Server(ServerEvent::SecretLogged { kind: want })],
                "{line}"
            );
            assert!(!format!("{p:?}").contains("1h9nO42v"));
        }
        let none = parse_text("2026-11-25 17:06:12 [INFO] sigil_repos_mcp - Form data: grant_type=x, code=None, client_secret=None");
        assert!(none.also.is_empty());
    }

    #[test]
    fn tool_call_lines_name_the_tool() {
        assert_eq!(
            kind("2026-11-25 17:07:50 [INFO] sigil_repos_mcp - read_repo_file tool called (repo='tiny', path='README.md', max_bytes=20000)"),
            EventKind::Server(ServerEvent::ToolCalled { tool: "read_repo_file".into() })
        );
        assert_eq!(
            kind("2026-11-25 17:07:50 [INFO] sigil_repos_mcp - ping tool called"),
            EventKind::Server(ServerEvent::ToolCalled {
                tool: "ping".into()
            })
        );
    }

    #[test]
    fn empty_message_record_and_bare_prod_lines() {
        assert_eq!(
            kind("2026-11-25 17:05:17 [WARNING] sigil_repos_mcp - "),
            EventKind::Other
        );
        assert_eq!(
            kind("Production mode without admin.api_key configured - admin API will be unavailable or insecure."),
            EventKind::Unparsed
        );
    }

    #[test]
    fn hostile_bytes_never_panic() {
        for line in ["\u{0}\u{1b}]52;c;AAAA\u{7}", "2026-11-24 10:15:02 [", "INFO:", "{\"message\": 5}", "{{{{", "2026-11-24 10:15:02 [INFO] x - Outgoing MCP HTTP response status_code=99999999999 duration_ms=-5"] {
            let _ = parse_text(line);
        }
        let p = parse_text("2026-11-24 10:15:02 [INFO] x - Outgoing MCP HTTP response status_code=99999999999 duration_ms=-5");
        assert!(matches!(
            p.kind,
            EventKind::SigilOutgoing {
                status: None,
                duration_ms: None,
                ..
            }
        ));
    }
}
