//! What a cloudflared record means: [`Record`] → [`EventKind`].
//!
//! Keys on the message text, the way `../shared/formats/cloudflared.md` §2.2 and §3 list
//! them, and tolerates missing `event`, `cfRay` and `connIndex` (§6). A well-formed record
//! whose message is not one sigil-top acts on is [`EventKind::Other`]: the format was
//! recognised, only the message is new or unimportant (start-up chatter, the boxed update
//! banner, DBG noise). Decisions:
//! - **Origin causes.** The Go error after `Unable to reach the origin service…:` is matched
//!   in this order: DNS (`no such host`, `lookup `) before refused and timeout, because a
//!   failed lookup can end in either (`lookup x on …:53: i/o timeout`); then refused;
//!   then timeout (`TLS handshake timeout` counts as a timeout, as `OriginErrorCause`
//!   documents: the origin did not answer in time, its certificate was not judged); then
//!   TLS (`x509`, `tls:`, `certificate`, `malformed HTTP response`); then reset (`EOF`,
//!   `connection reset`, `broken pipe`).
//! - **`context canceled` on lifecycle lines** (`failed to run the datagram handler`,
//!   `Serve tunnel error`, …) is [`EventKind::Other`], not `Lost`/`DialFailed`: it is
//!   cloudflared's own context being cancelled (shutdown, reconnect), which cloudflared
//!   itself logs at DBG for `Serve tunnel error`. It is not the edge dropping a connection.
//! - **Bare dial errors** (`dial tcp [::1]:22: connect: connection refused`, logged for
//!   stream services such as ssh) are `OriginUnreachable` too: the origin could not be
//!   reached, the wrapper sentence is just missing.
//! - **R10** (`Handler aborted…`) has no error of its own: `error` is empty and the failure
//!   is `Other`; the R3 line before it carries the cause.
//! - **Ray IDs**: the first `Cf-Ray` value in `headers` (≥ 2024.2.1, DBG request lines),
//!   else `cfRay=` (2023.4.1–2024.2.0), else `CF-RAY: <ray>` in the message (≤ 2023.4.0).
//!   `headers` is walked member by member, never built into a map.

use std::borrow::Cow;
use std::sync::LazyLock;

use memchr::memmem::Finder;

use super::json;
use super::record::{Record, Val};
use crate::parse::{
    EventKind, OriginErrorCause, ProxyFailure, ProxyLine, RayId, TunnelConnEvent,
    TunnelProcessEvent,
};

/// The prefix R5 adds to the R3 error text.
const R5_PREFIX: &str = "Failed to proxy HTTP: ";
const ORIGIN_UNREACHABLE: &str = "Unable to reach the origin service";
/// The rest of cloudflared's fixed sentence, up to the Go error.
const ORIGIN_UNREACHABLE_TAIL: &str =
    ". The service may be down or it may not be responding to traffic from cloudflared: ";

pub(super) fn classify(rec: &Record<'_>) -> EventKind {
    let msg: &str = &rec.message;
    if let Some(kind) = request(rec, msg) {
        return kind;
    }
    if let Some(status) = response_status(msg) {
        return EventKind::TunnelResponse {
            status,
            conn_index: rec.fields.conn_index(),
            ray: rec.fields.cf_ray.and_then(ray_of),
        };
    }
    if msg.trim().is_empty() {
        return if rec.fields.error.is_some() {
            proxy_error(rec, ProxyLine::Primary)
        } else {
            EventKind::Other
        };
    }
    match msg {
        "Request failed" | "failed to serve incoming request" => {
            proxy_error(rec, ProxyLine::RequestFailed)
        }
        "Failed to handle QUIC stream"
        | "Handler aborted due to failure to write error response after status already sent" => {
            proxy_error(rec, ProxyLine::StreamTeardown)
        }
        "Registered tunnel connection" => conn(
            rec,
            TunnelConnEvent::Registered {
                location: rec.fields.location.map(Val::boxed),
                protocol: rec.fields.protocol.map(Val::boxed),
            },
        ),
        "Unregistered tunnel connection" => conn(rec, TunnelConnEvent::Unregistered),
        "Connection terminated"
        | "Lost connection with the edge"
        | "Serve tunnel error"
        | "failed to serve tunnel connection"
        | "Failed to serve tunnel connection"
        | "Failed to serve quic connection"
        | "failed to accept incoming stream requests"
        | "failed to run the datagram handler"
        | "failed to serve the control stream" => {
            conn_failure(rec, |reason| TunnelConnEvent::Lost { reason })
        }
        "Failed to dial a quic connection"
        | "Failed to create new quic connection"
        | "Unable to establish connection with Cloudflare edge"
        | "Register tunnel error from server side"
        | "Unable to establish connection." => {
            conn_failure(rec, |reason| TunnelConnEvent::DialFailed { reason })
        }
        "Starting tunnel" => EventKind::TunnelProcess(TunnelProcessEvent::Starting),
        "Updated to new configuration" => EventKind::TunnelProcess(TunnelProcessEvent::Config {
            origin_services: rec
                .fields
                .config
                .map(|v| origin_services(&v.text()))
                .unwrap_or_default(),
        }),
        "Initiating shutdown" => EventKind::TunnelProcess(TunnelProcessEvent::FatalShutdown {
            reason: rec.fields.error_text().into(),
        }),
        "no more connections active and exiting" | "initial tunnel connection failed" => {
            EventKind::TunnelProcess(TunnelProcessEvent::NoConnections)
        }
        _ => by_prefix(rec, msg),
    }
}

fn by_prefix(rec: &Record<'_>, msg: &str) -> EventKind {
    if msg.starts_with("Retrying connection in up to ") {
        return conn(rec, TunnelConnEvent::Retrying);
    }
    let fallback = msg
        .strip_prefix("Switching to fallback protocol ")
        .or_else(|| msg.strip_prefix("Changing protocol to "));
    if let Some(to) = fallback {
        let to = to.trim();
        return conn(
            rec,
            TunnelConnEvent::ProtocolFallback {
                to: (!to.is_empty()).then(|| to.into()),
            },
        );
    }
    if let Some(v) = msg.strip_prefix("Version ") {
        if let Some(version) = version_token(v) {
            return EventKind::TunnelProcess(TunnelProcessEvent::Version(version.into()));
        }
    }
    if let Some(addr) = msg.strip_prefix("Starting metrics server on ") {
        let addr = addr.trim();
        let addr = addr.strip_suffix("/metrics").unwrap_or(addr);
        return EventKind::TunnelProcess(TunnelProcessEvent::Metrics(addr.into()));
    }
    if msg.starts_with("Initiating graceful shutdown") {
        return EventKind::TunnelProcess(TunnelProcessEvent::GracefulShutdown);
    }
    if let Some(rest) = msg.strip_prefix("CF-RAY: ") {
        return old_ray_line(rec, rest);
    }
    // ≤ 2023.4.0: `Connection <uuid> registered connIndex=0 ip=… location=AMS`.
    if msg.starts_with("Connection ") && msg.ends_with(" registered") {
        return conn(
            rec,
            TunnelConnEvent::Registered {
                location: rec.fields.location.map(Val::boxed),
                protocol: rec.fields.protocol.map(Val::boxed),
            },
        );
    }
    EventKind::Other
}

/// A version word: starts with a digit (`2026.8.2`, `DEV` builds are not versions).
pub(super) fn version_token(s: &str) -> Option<&str> {
    let token = s.split(' ').next()?;
    token
        .as_bytes()
        .first()
        .is_some_and(u8::is_ascii_digit)
        .then_some(token)
}

fn conn(rec: &Record<'_>, event: TunnelConnEvent) -> EventKind {
    EventKind::TunnelConn {
        conn_index: rec.fields.conn_index(),
        event,
    }
}

/// Lost / dial-failure lines; `context canceled` is cloudflared's own shutdown or
/// reconnect (see the module doc) and becomes `Other`.
fn conn_failure(
    rec: &Record<'_>,
    make: impl FnOnce(Option<Box<str>>) -> TunnelConnEvent,
) -> EventKind {
    let reason = rec.fields.error.map(Val::text);
    if reason.as_deref().map(str::trim) == Some("context canceled") {
        return EventKind::Other;
    }
    conn(rec, make(reason.map(Cow::into)))
}

fn proxy_error(rec: &Record<'_>, line: ProxyLine) -> EventKind {
    let error = rec.fields.error_text();
    let failure = if error.is_empty() {
        ProxyFailure::Other
    } else {
        failure_of(&error)
    };
    EventKind::ProxyError {
        line,
        failure,
        conn_index: rec.fields.conn_index(),
        origin_service: rec.fields.origin_service.map(Val::boxed),
        dest: rec.fields.dest.map(Val::boxed),
        ray: rec.fields.cf_ray.and_then(ray_of),
        error: error.into(),
    }
}

/// What a proxy error text says went wrong (§2.3 of the format notes).
pub(super) fn failure_of(error: &str) -> ProxyFailure {
    let error = error.strip_prefix(R5_PREFIX).unwrap_or(error).trim();
    if let Some(rest) = error.strip_prefix(ORIGIN_UNREACHABLE) {
        // The Go error follows the fixed sentence (`…from cloudflared: <go error>`).
        let go_err = rest
            .strip_prefix(ORIGIN_UNREACHABLE_TAIL)
            .or_else(|| find(rest, ": ").and_then(|p| rest.get(p + 2..)))
            .unwrap_or(rest);
        return ProxyFailure::OriginUnreachable(origin_cause(go_err));
    }
    // Stream services (ssh, rdp, tcp) log the bare Go dial error (§2.5 of the notes).
    if error.starts_with("dial tcp") || error.starts_with("dial unix") {
        return ProxyFailure::OriginUnreachable(origin_cause(error));
    }
    if error.starts_with("Incoming request ended abruptly") {
        return ProxyFailure::Cancelled;
    }
    if error == "context canceled"
        || (error.starts_with("stream ") && find(error, " canceled by remote").is_some())
    {
        return ProxyFailure::StreamCancelled;
    }
    ProxyFailure::Other
}

/// Substring search with SIMD `memmem` (std's two-way searcher costs more to set up than
/// these short searches take). For the needles searched on every request line, use the
/// prebuilt finders below: building one costs more than the search.
fn find(haystack: &str, needle: &str) -> Option<usize> {
    memchr::memmem::find(haystack.as_bytes(), needle.as_bytes())
}

static CF_RAY_KEY: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new("\"Cf-Ray\":["));
static CF_CONNECTING_IP_KEY: LazyLock<Finder<'static>> =
    LazyLock::new(|| Finder::new("\"Cf-Connecting-Ip\":["));
static LOOKUP: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new("lookup "));

/// The cause in a Go dial/round-trip error. Order matters: see the module doc. Go errors
/// end with their root cause, so the common ones are recognised by their ending first.
pub(super) fn origin_cause(go_err: &str) -> OriginErrorCause {
    let has = |needle: &str| find(go_err, needle).is_some();
    if go_err.ends_with("connect: connection refused") && LOOKUP.find(go_err.as_bytes()).is_none() {
        return OriginErrorCause::Refused;
    }
    if has("no such host") || has("lookup ") {
        OriginErrorCause::Dns
    } else if has("connection refused") {
        OriginErrorCause::Refused
    } else if has("timeout") || has("deadline exceeded") {
        OriginErrorCause::Timeout
    } else if has("x509") || has("tls:") || has("certificate") || has("malformed HTTP response") {
        OriginErrorCause::Tls
    } else if has("EOF") || has("connection reset") || has("broken pipe") {
        OriginErrorCause::Reset
    } else {
        OriginErrorCause::Other
    }
}

/// R1: `<METHOD> <URL> <PROTO>`.
fn request(rec: &Record<'_>, msg: &str) -> Option<EventKind> {
    let (method, url) = request_line(msg)?;
    let path = rec
        .fields
        .path
        .map(Val::text)
        .filter(|p| !p.is_empty())
        .map_or_else(|| path_of_url(url).into(), Cow::into);
    let (header_ray, connecting_ip) = rec
        .fields
        .headers
        .map(|h| header_values(&h.text()))
        .unwrap_or_default();
    let ray = header_ray.or_else(|| rec.fields.cf_ray.and_then(ray_of));
    Some(EventKind::TunnelRequest {
        method: method.into(),
        path,
        conn_index: rec.fields.conn_index(),
        ray,
        connecting_ip,
    })
}

/// `GET https://host/a?b=1 HTTP/1.1` → (`GET`, URL).
fn request_line(msg: &str) -> Option<(&str, &str)> {
    let b = msg.as_bytes();
    // The method: 1–16 upper-case letters, then a space. Checked first, as it rules out
    // almost every other message at the first byte or two.
    let method_len = b.iter().take(17).position(|&c| !c.is_ascii_uppercase())?;
    if method_len == 0 || b.get(method_len) != Some(&b' ') {
        return None;
    }
    let rest = msg.get(method_len + 1..)?;
    let space = memchr::memchr(b' ', rest.as_bytes())?;
    let url = rest.get(..space)?;
    let proto = rest.get(space + 1..)?;
    let ok = !url.is_empty() && proto.starts_with("HTTP/") && !proto.contains(' ');
    ok.then(|| Some((msg.get(..method_len)?, url))).flatten()
}

/// The path of a logged URL, without query or fragment (like the `path=` field).
fn path_of_url(url: &str) -> &str {
    let after_host = match url.find("://") {
        Some(p) => {
            let rest = url.get(p + 3..).unwrap_or_default();
            rest.find('/').and_then(|q| rest.get(q..)).unwrap_or("/")
        }
        None => url,
    };
    let end = after_host.find(['?', '#']).unwrap_or(after_host.len());
    after_host
        .get(..end)
        .filter(|p| !p.is_empty())
        .unwrap_or("/")
}

/// R2: `200 OK` → 200.
fn response_status(msg: &str) -> Option<u16> {
    let b = msg.as_bytes();
    let code = msg.get(..3)?;
    let reason = msg.get(4..)?;
    let shape_ok = b.get(3) == Some(&b' ')
        && code.bytes().all(|c| c.is_ascii_digit())
        && !reason.is_empty()
        && reason
            .bytes()
            .all(|c| c.is_ascii_alphabetic() || matches!(c, b' ' | b'-' | b'\''));
    let status: u16 = code.parse().ok()?;
    (shape_ok && (100..=599).contains(&status)).then_some(status)
}

/// ≤ 2023.4.0: `CF-RAY: <ray> GET <url> HTTP/1.1` and
/// `CF-RAY: <ray> Status: 200 OK served by ingress 0`.
fn old_ray_line(rec: &Record<'_>, rest: &str) -> EventKind {
    let Some((ray, what)) = rest.split_once(' ') else {
        return EventKind::Other;
    };
    let ray = ray_of_text(ray);
    if let Some((method, url)) = request_line(what) {
        return EventKind::TunnelRequest {
            method: method.into(),
            path: path_of_url(url).into(),
            conn_index: rec.fields.conn_index(),
            ray,
            connecting_ip: None,
        };
    }
    if let Some(status) = what.strip_prefix("Status: ").and_then(|s| s.get(..3)) {
        if let Some(status) = status
            .parse::<u16>()
            .ok()
            .filter(|s| (100..=599).contains(s))
        {
            return EventKind::TunnelResponse {
                status,
                conn_index: rec.fields.conn_index(),
                ray,
            };
        }
    }
    EventKind::Other
}

fn ray_of(v: Val<'_>) -> Option<RayId> {
    ray_of_text(&v.text())
}

fn ray_of_text(s: &str) -> Option<RayId> {
    let s = s.trim();
    (!s.is_empty()).then(|| RayId(s.into()))
}

/// The first `Cf-Ray` and `Cf-Connecting-Ip` values of a `headers` JSON object.
///
/// Go writes header names in canonical form (`Cf-Ray`) as keys of a compact, already
/// validated object, so the usual case is a SIMD search for `"Cf-Ray":["` preceded by `{`
/// or `,` (an unescaped `"` cannot occur inside a string, so this is a key). When that
/// finds no ray, the members are walked and names compared case-insensitively.
fn header_values(headers: &str) -> (Option<RayId>, Option<Box<str>>) {
    let ray = first_value_of_key(headers, &CF_RAY_KEY);
    if ray.is_some() {
        let ip = first_value_of_key(headers, &CF_CONNECTING_IP_KEY);
        return (ray.and_then(|r| ray_of_text(&r)), ip.map(Cow::into));
    }
    let mut ray = None;
    let mut ip = None;
    let _ = json::members(headers, |key, value| {
        if key.eq_ignore_ascii_case("Cf-Ray") {
            ray = first_string(value).and_then(|s| ray_of_text(&s));
        } else if key.eq_ignore_ascii_case("Cf-Connecting-Ip") {
            ip = first_string(value).map(Cow::into);
        }
        ray.is_none() || ip.is_none()
    });
    (ray, ip)
}

/// The first string in the list after `pattern` (`"Name":[`), when `pattern` starts a
/// member of the object `headers`.
fn first_value_of_key<'a>(headers: &'a str, pattern: &Finder<'_>) -> Option<Cow<'a, str>> {
    let at = pattern.find(headers.as_bytes())?;
    let before = at.checked_sub(1).and_then(|p| headers.as_bytes().get(p));
    if !matches!(before, Some(b'{' | b',')) {
        return None;
    }
    let start = at + pattern.needle().len();
    if headers.as_bytes().get(start) != Some(&b'"') {
        return None;
    }
    let end = crate::bytes::quoted_end(headers.as_bytes(), start)?;
    Some(json::text(headers.get(start..end)?))
}

/// The first string of a header value (`["a","b"]` → `a`; a bare string is taken too).
fn first_string(value: &str) -> Option<Cow<'_, str>> {
    if value.starts_with('"') {
        return Some(json::text(value));
    }
    let mut first = None;
    json::elements(value, |el| {
        if el.starts_with('"') {
            first = Some(json::text(el));
        }
        false
    })
    .ok()?;
    first
}

/// Each ingress rule's `service` from a pushed configuration document.
pub(super) fn origin_services(config: &str) -> Vec<Box<str>> {
    let mut out = Vec::new();
    let _ = json::members(config, |key, value| {
        if key == "ingress" {
            let _ = json::elements(value, |rule| {
                let _ = json::members(rule, |k, v| {
                    if k == "service" && v.starts_with('"') {
                        out.push(json::text(v).into());
                    }
                    true
                });
                true
            });
        }
        true
    });
    out
}
