//! Secret redaction: by structure first, then by shape.
//!
//! Owns [`Redactor`], the one place that decides what in a log line is a secret. Snapshots
//! run every byte they write through it (counted), and the screen runs what it draws
//! through it (not counted, [`crate::text::display`]). Does not own control-character
//! escaping (`text`) or where redacted text goes (`view::snapshot`).
//!
//! **Structure.** A *name* that says "credential" (see [`is_secret_name`]) followed by a
//! separator and a value is a key/value pair wherever it appears, in every syntax the two
//! programs log:
//! - cloudflared's `headers={"Authorization":["Bearer …"],"Cookie":["a=1; b=2"]}` (JSON,
//!   Go `encoding/json`) and its older `headers=map[Authorization:[Bearer …]]`;
//! - Python dict reprs `{'authorization': 'Basic …'}`, ASGI header tuples
//!   `(b'cookie', b'…')`;
//! - JSON bodies `{"access_token":"…"}`, and JSON *inside a log string*, escaped
//!   (`\"client_secret\":\"…\"`, any depth of escaping);
//! - query strings and form bodies `code=…&code_verifier=…`, the server's
//!   `Form data: code=…, client_secret=…`, Go maps `map[TUNNEL_TOKEN:…]`, flags
//!   `--token …`, header lines `Cookie: a=1; b=2` (the whole rest of the line).
//!
//! The *whole* value is replaced (every cookie of a `Cookie` header, every string of a
//! header's list), an authorization scheme word is kept (`Bearer <redacted>`). Values that
//! are not secrets are kept: empty, `None`, `null`, booleans, already masked (`*****`,
//! `<redacted>`), and for a bare `code` an integer (JSON-RPC error codes) or systemd's
//! `code=exited|killed|dumped|…` (PID 1's `Main process exited, code=killed,
//! status=9/KILL` is the evidence of a crash and must survive).
//!
//! **Shape.** Then bare values that are secrets by their look alone: JWTs and base64 JSON
//! (`eyJ…`, cloudflared tunnel tokens), `Bearer …` anywhere, `sk-…`, GitHub, GitLab,
//! Slack, Stripe, Google, AWS access key ids, Hugging Face, npm, `PyPI`, `SendGrid` keys,
//! PEM private keys, passwords in URLs (`https://user:<redacted>@host`), and the server's
//! banners (`Client Secret: …`, `Authorization code: …`, `session ID: …`) when the value
//! looks like one (so `No valid session ID provided` keeps its word).
//!
//! Redaction is idempotent (`redact(redact(x)) == redact(x)`): a replayed bundle is read
//! by the same rules and tells the same story. See: issue 17; `docs/robustness.md`.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::LazyLock;

use regex::Regex;

/// What a secret value becomes.
pub(crate) const REDACTED: &str = "<redacted>";

/// Replaces secrets in text with `<redacted>` and counts what it replaced.
#[derive(Debug, Clone)]
pub struct Redactor {
    /// Extra patterns from the config (`[redact] patterns`): whole matches are replaced.
    extra: Vec<Regex>,
    /// `--anonymize-ip`: each distinct address gets a stable stand-in, per redactor.
    ips: Option<HashMap<String, String>>,
    /// Values replaced so far.
    pub count: u64,
}

impl Redactor {
    /// The built-in rules plus `extra` regexes (whole matches are replaced).
    pub fn new(extra: &[String]) -> Result<Redactor, regex::Error> {
        let extra = extra
            .iter()
            .map(|p| Regex::new(p))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Redactor {
            extra,
            ips: None,
            count: 0,
        })
    }

    /// Also replaces IP addresses (other than loopback and unspecified) by stand-ins that
    /// stay the same for the same address within this redactor (`10.255.0.1`, `fd00::1`,
    /// …), so requests from one client still look like one client.
    #[must_use]
    pub(crate) fn anonymizing_ips(mut self) -> Redactor {
        self.ips = Some(HashMap::new());
        self
    }

    /// Whether IP addresses are replaced too ([`Redactor::anonymizing_ips`]).
    pub(crate) fn is_anonymizing_ips(&self) -> bool {
        self.ips.is_some()
    }

    /// `s` with every secret value replaced by `<redacted>`.
    pub fn redact<'a>(&mut self, s: &'a str) -> Cow<'a, str> {
        let mut out = Cow::Borrowed(s);
        if let Some(next) = self.by_name(&out) {
            out = Cow::Owned(next);
        }
        for rule in SHAPES.iter() {
            if let Some(next) = self.by_shape(rule, &out) {
                out = Cow::Owned(next);
            }
        }
        for i in 0..self.extra.len() {
            let rule = &self.extra[i];
            let mut replaced = 0u64;
            let next = rule.replace_all(&out, |c: &regex::Captures<'_>| {
                if &c[0] == REDACTED {
                    c[0].to_owned()
                } else {
                    replaced += 1;
                    REDACTED.to_owned()
                }
            });
            if replaced > 0 {
                self.count += replaced;
                out = Cow::Owned(next.into_owned());
            }
        }
        if self.ips.is_some() {
            if let Some(next) = self.anonymize(&out) {
                out = Cow::Owned(next);
            }
        }
        out
    }

    /// Bytes: redacted as text (lossy when not UTF-8, so nothing unredacted slips through).
    pub(crate) fn redact_bytes(&mut self, b: &[u8]) -> Vec<u8> {
        let s = String::from_utf8_lossy(b);
        self.redact(&s).into_owned().into_bytes()
    }

    /// The structural pass: every `name <sep> value` whose name says credential.
    fn by_name(&mut self, s: &str) -> Option<String> {
        if !NAME_HINT.is_match(s) {
            return None;
        }
        let b = s.as_bytes();
        let mut out = String::new();
        let mut copied = 0;
        let mut from = 0;
        while let Some(m) = NAME.find_at(s, from) {
            from = m.end();
            // `--token`: the dashes are the flag's, not the name's.
            let name = m.as_str().trim_start_matches('-');
            let start = m.end() - name.len();
            if !is_secret_name(name) {
                continue;
            }
            let Some(spans) = value_spans(b, start, m.end(), name) else {
                continue;
            };
            let mut end = m.end();
            for (vs, ve) in spans {
                let value = &s[vs..ve];
                let Some(replacement) = replacement_for(name, value) else {
                    end = end.max(ve);
                    continue;
                };
                out.push_str(&s[copied..vs]);
                out.push_str(&replacement);
                copied = ve;
                end = end.max(ve);
                self.count += 1;
            }
            from = from.max(end);
        }
        if copied == 0 {
            return None;
        }
        out.push_str(&s[copied..]);
        Some(out)
    }

    fn by_shape(&mut self, rule: &Shape, s: &str) -> Option<String> {
        if !rule.regex.is_match(s) {
            return None;
        }
        let mut replaced = 0u64;
        let next = rule.regex.replace_all(s, |c: &regex::Captures<'_>| {
            let Some(value) = c.get(rule.group) else {
                return c[0].to_owned();
            };
            if value.as_str() == REDACTED
                || (rule.needs_look && !looks_secret(value.as_str()))
                || is_kept(value.as_str())
            {
                return c[0].to_owned();
            }
            replaced += 1;
            let whole = c.get(0).map_or(0..0, |m| m.range());
            let mut text = String::with_capacity(whole.len());
            text.push_str(&s[whole.start..value.start()]);
            text.push_str(REDACTED);
            text.push_str(&s[value.end()..whole.end]);
            text
        });
        if replaced == 0 {
            return None;
        }
        self.count += replaced;
        Some(next.into_owned())
    }

    fn anonymize(&mut self, s: &str) -> Option<String> {
        let ips = self.ips.as_mut()?;
        if !IP.is_match(s) {
            return None;
        }
        let mut changed = false;
        let next = IP.replace_all(s, |c: &regex::Captures<'_>| {
            let text = &c[0];
            let Ok(addr) = text.parse::<std::net::IpAddr>() else {
                return text.to_owned();
            };
            if addr.is_loopback() || addr.is_unspecified() {
                return text.to_owned();
            }
            changed = true;
            let n = ips.len() + 1;
            ips.entry(text.to_owned())
                .or_insert_with(|| match addr {
                    std::net::IpAddr::V4(_) => {
                        format!(
                            "10.{}.{}.{}",
                            255 - (n >> 16) % 256,
                            (n >> 8) % 256,
                            n % 256
                        )
                    }
                    std::net::IpAddr::V6(_) => format!("fd00::{n:x}"),
                })
                .clone()
        });
        changed.then(|| next.into_owned())
    }
}

/// A word that may be a key: letters, digits and `_ - .`.
static NAME: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"[A-Za-z0-9_.\-]+").expect("a valid built-in regex"));

/// Words that make a name secret wherever they occur in it.
const SECRET_NAME_WORDS: &[&[u8]] = &[
    b"token",
    b"secret",
    b"passw",
    b"passphrase",
    b"apikey",
    b"api_key",
    b"key",
    b"session",
    b"cookie",
    b"authorization",
    b"credential",
    b"signature",
    b"cf_access_",
];
/// Names that are secret only as a whole (`code`, but not `status_code`).
const SECRET_NAMES: &[&[u8]] = &[
    b"code",
    b"auth",
    b"x_auth",
    b"pass",
    b"pwd",
    b"sig",
    b"otp",
    b"auth_code",
    b"device_code",
    b"code_verifier",
    b"assertion",
    b"client_assertion",
];

/// A cheap test for "some word may be a secret name" before the word-by-word pass.
static NAME_HINT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)token|secret|pass|pwd|key|session|cookie|authoriz|auth|credential|sig|cf-access|cf_access|code|otp|assertion")
        .expect("a valid built-in regex")
});

/// True when a key of this name holds a credential: authorization and cookie headers of
/// any spelling, Cloudflare Access headers, every name with token, secret, password, key,
/// session, credential or signature in it, and the OAuth parameters that are secrets
/// (`code`, `code_verifier`) — but not `status_code` or `exit_code`.
pub(crate) fn is_secret_name(name: &str) -> bool {
    if name.len() < 3 || name.len() > 64 {
        return name.eq_ignore_ascii_case("pw") || name.eq_ignore_ascii_case("sig");
    }
    // Lower-cased with `-` and `.` as `_`, on the stack: this runs for every word of
    // every line drawn.
    let mut buf = [0u8; 64];
    for (d, &c) in buf.iter_mut().zip(name.as_bytes()) {
        *d = match c {
            b'-' | b'.' => b'_',
            c => c.to_ascii_lowercase(),
        };
    }
    let n = &buf[..name.len()];
    // Descriptions of a credential, not credentials: `token_type`, `key_type`.
    if n.ends_with(b"_type") {
        return false;
    }
    SECRET_NAMES.contains(&n)
        || SECRET_NAME_WORDS
            .iter()
            .any(|w| n.windows(w.len()).any(|x| x == *w))
}

/// Headers whose value in a `Name: value` line runs to the end of the line.
fn is_header_line_name(name: &str) -> bool {
    name.contains('-')
        || ["authorization", "cookie", "apikey"]
            .iter()
            .any(|h| name.eq_ignore_ascii_case(h))
}

/// A quote as it appears in the text: `"`, `'`, or either after `n` backslashes (JSON or
/// a repr escaped inside another string).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Quote {
    ch: u8,
    backslashes: usize,
}

impl Quote {
    fn len(self) -> usize {
        self.backslashes + 1
    }

    /// The quote that ends just before `at`, if any.
    fn before(b: &[u8], at: usize) -> Option<Quote> {
        let ch = *b.get(at.checked_sub(1)?)?;
        if ch != b'"' && ch != b'\'' {
            return None;
        }
        let backslashes = b[..at - 1]
            .iter()
            .rev()
            .take_while(|&&c| c == b'\\')
            .count();
        Some(Quote { ch, backslashes })
    }

    /// The quote that starts at `at` (optionally after Python's `b` prefix), and where
    /// the quoted text starts.
    fn at(b: &[u8], at: usize) -> Option<(Quote, usize)> {
        let mut p = at;
        if b.get(p) == Some(&b'b') && matches!(b.get(p + 1), Some(b'\'' | b'"')) {
            p += 1;
        }
        let backslashes = b[p..].iter().take_while(|&&c| c == b'\\').count();
        let ch = *b.get(p + backslashes)?;
        (ch == b'"' || ch == b'\'').then_some((Quote { ch, backslashes }, p + backslashes + 1))
    }

    fn is_at(self, b: &[u8], at: usize) -> bool {
        b.get(at..at + self.len()).is_some_and(|s| {
            s[..self.backslashes].iter().all(|&c| c == b'\\') && s[self.backslashes] == self.ch
        })
    }

    /// Where the quoted text that starts at `from` ends (the index of this quote's first
    /// byte), or the end of the line when it never closes (a cut record: the rest is
    /// treated as the value).
    fn close(self, b: &[u8], from: usize) -> usize {
        let mut i = from;
        while i < b.len() {
            match b[i] {
                b'\n' | b'\r' => return i,
                c if c == self.ch => {
                    let run = b[from..i].iter().rev().take_while(|&&c| c == b'\\').count();
                    let closes = match self.backslashes {
                        // Plain quotes: an even run of backslashes is literal backslashes.
                        0 => run % 2 == 0,
                        // Inside one level of escaping, a closing `\"` has 4k+1 backslashes
                        // (an inner escaped quote has 4k+3).
                        1 => run % 4 == 1,
                        k => run == k,
                    };
                    if closes {
                        return i - self.backslashes.min(run);
                    }
                }
                _ => {}
            }
            i += 1;
        }
        b.len()
    }
}

fn skip_spaces(b: &[u8], mut p: usize) -> usize {
    while b.get(p).is_some_and(|&c| c == b' ' || c == b'\t') {
        p += 1;
    }
    p
}

/// Bytes that end a bare value (query, form, `key=value` extras, Go maps).
fn ends_bare(c: u8) -> bool {
    c.is_ascii_whitespace()
        || matches!(
            c,
            b'&' | b',' | b';' | b'\'' | b'"' | b'\\' | b']' | b'}' | b')' | b'<' | b'>'
        )
}

/// Authorization schemes, kept in front of the redacted credential.
const SCHEMES: &[&str] = &[
    "bearer",
    "basic",
    "token",
    "digest",
    "negotiate",
    "ntlm",
    "hoba",
    "mutual",
    "aws4-hmac-sha256",
    "dpop",
    "apikey",
];

fn is_scheme(word: &str) -> bool {
    SCHEMES.iter().any(|s| word.eq_ignore_ascii_case(s))
}

/// The spans of the value(s) the key at `[start, end)` holds, if it is a key at all.
fn value_spans(b: &[u8], start: usize, end: usize, name: &str) -> Option<Vec<(usize, usize)>> {
    let open = Quote::before(b, start);
    let mut p = end;
    if let Some(q) = open {
        if !q.is_at(b, p) {
            return None;
        }
        p += q.len();
        p = skip_spaces(b, p);
        let sep = *b.get(p)?;
        let in_tuple = start
            .checked_sub(open.map_or(0, Quote::len) + 1)
            .and_then(|i| b.get(i))
            .is_some_and(|&c| c == b'(' || c == b'b' || c == b'[');
        if !(sep == b':' || sep == b'=' || (sep == b',' && in_tuple)) {
            return None;
        }
        p = skip_spaces(b, p + 1);
        return quoted_or_list_or_bare(b, p);
    }
    // An unquoted name: `name=value`, `name:value` (Go maps), `Name: value` (a header
    // line), `--name value` (a command line).
    let after_dashes = start >= 2 && &b[start - 2..start] == b"--";
    match b.get(p) {
        Some(b'=' | b':') if b.get(p + 1).is_none_or(|&c| c != b' ' && c != b'\t') => {
            quoted_or_list_or_bare(b, p + 1)
        }
        Some(b'=') => quoted_or_list_or_bare(b, p + 1),
        Some(b':') if b.get(p + 1).is_some_and(|&c| c == b' ' || c == b'\t') => {
            if !is_header_line_name(name) {
                return None;
            }
            let v = skip_spaces(b, p + 1);
            if Quote::at(b, v).is_some() {
                return quoted_or_list_or_bare(b, v);
            }
            // The rest of the line, up to a quote or escape that ends the string it is in.
            let stop = b[v..]
                .iter()
                .position(|&c| matches!(c, b'\n' | b'\r' | b'"' | b'\'' | b'\\'))
                .map_or(b.len(), |i| v + i);
            let trimmed = v + b[v..stop].trim_ascii_end().len();
            (trimmed > v).then(|| vec![(v, trimmed)])
        }
        Some(b' ') if after_dashes => quoted_or_list_or_bare(b, p + 1),
        _ => None,
    }
}

fn quoted_or_list_or_bare(b: &[u8], p: usize) -> Option<Vec<(usize, usize)>> {
    match b.get(p)? {
        b'[' => {
            let mut spans = Vec::new();
            let mut i = skip_spaces(b, p + 1);
            if Quote::at(b, i).is_none() {
                // Go's `map[Authorization:[Bearer x]]`: the list's text, to its `]`.
                let close = b[i..]
                    .iter()
                    .position(|&c| c == b']' || c == b'\n')
                    .map_or(b.len(), |k| i + k);
                return (close > i).then(|| vec![(i, close)]);
            }
            while let Some((q, from)) = Quote::at(b, i) {
                let to = q.close(b, from);
                spans.push((from, to));
                i = skip_spaces(b, (to + q.len()).min(b.len()));
                if b.get(i) == Some(&b',') {
                    i = skip_spaces(b, i + 1);
                } else {
                    break;
                }
            }
            Some(spans)
        }
        b'{' | b'(' => None,
        _ => {
            if let Some((q, from)) = Quote::at(b, p) {
                if b[p] != b'b' || from > p + 1 {
                    return Some(vec![(from, q.close(b, from))]);
                }
            }
            let mut e = p;
            while e < b.len() && !ends_bare(b[e]) {
                e += 1;
            }
            // `Bearer abc`: the scheme and its credential.
            if e > p
                && b.get(e) == Some(&b' ')
                && std::str::from_utf8(&b[p..e]).is_ok_and(is_scheme)
            {
                let mut f = e + 1;
                while f < b.len() && !ends_bare(b[f]) {
                    f += 1;
                }
                if f > e + 1 {
                    e = f;
                }
            }
            (e > p).then(|| vec![(p, e)])
        }
    }
}

/// Values that are not secrets whatever their key says.
fn is_kept(value: &str) -> bool {
    let v = value.trim();
    v.is_empty()
        || v == REDACTED
        || v.chars().all(|c| c == '*')
        || v.trim_end_matches("...").is_empty()
        || [
            "none",
            "null",
            "nil",
            "true",
            "false",
            "[redacted]",
            "redacted",
        ]
        .iter()
        .any(|k| v.trim_end_matches("...").eq_ignore_ascii_case(k))
}

/// The replacement for `value` under key `name`, or `None` to keep it.
fn replacement_for(name: &str, value: &str) -> Option<String> {
    if is_kept(value) {
        return None;
    }
    if name.eq_ignore_ascii_case("code") {
        // JSON-RPC error codes and systemd's `code=exited|killed|…` are evidence.
        let digits = value.strip_prefix('-').unwrap_or(value);
        if !digits.is_empty() && digits.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        if [
            "exited",
            "killed",
            "dumped",
            "trapped",
            "stopped",
            "continued",
        ]
        .iter()
        .any(|w| value.eq_ignore_ascii_case(w))
        {
            return None;
        }
    }
    if is_scheme(value.trim()) {
        // A scheme with no credential (`Authorization: Bearer`) holds no secret.
        return None;
    }
    if let Some((scheme, rest)) = value.split_once(' ') {
        if is_scheme(scheme) {
            if rest.trim() == REDACTED || is_kept(rest) {
                return None;
            }
            return Some(format!("{scheme} {REDACTED}"));
        }
    }
    Some(REDACTED.to_owned())
}

/// For the banner rules, whose words also occur in prose: a value that looks like a
/// secret (at least 8 characters, with a digit or mixed case or `-_./+=`, or at least 20).
fn looks_secret(v: &str) -> bool {
    let n = v.chars().count();
    if n < 8 {
        return false;
    }
    let digit = v.bytes().any(|c| c.is_ascii_digit());
    let upper = v.bytes().any(|c| c.is_ascii_uppercase());
    let lower = v.bytes().any(|c| c.is_ascii_lowercase());
    let punct = v.bytes().any(|c| b"-_./+=".contains(&c));
    n >= 20 || digit || (upper && lower) || punct
}

/// A rule by shape: the secret is capture group `group` of `regex`.
struct Shape {
    regex: Regex,
    group: usize,
    /// Only when the value [`looks_secret`] (rules whose words occur in prose).
    needs_look: bool,
}

/// The shape rules, in order. Each names what it catches; see the module doc.
const SHAPE_RULES: &[(&str, usize, bool)] = &[
    // The server's banners and prose: `Client Secret: …`, `session ID: …`.
    (
        r"(?i)\b(?:client[ _-]secret|authorization[ _-]code|auth[ _-]code|api[ _-]key|access[ _-]token|refresh[ _-]token|id[ _-]token|bearer[ _-]token|session[ _-]id|secret[ _-]key|private[ _-]key|password|passphrase)\s*(?:[:=]|is)\s*([^\s'\x22\\,;]+)",
        1,
        true,
    ),
    // `Bearer <credential>` anywhere.
    (r"(?i)\bbearer\s+([A-Za-z0-9._~+/=-]{6,})", 1, false),
    // Passwords in URLs: `scheme://user:password@host`.
    (
        r"(?i)\b[a-z][a-z0-9+.-]*://[^\s/:@'\x22\\]*:([^\s/@'\x22\\]+)@",
        1,
        false,
    ),
    // JWTs, JWEs and base64 JSON (cloudflared tunnel tokens begin `eyJhIjoi`).
    (
        r"\b(eyJ[A-Za-z0-9_+/=-]{10,}(?:\.[A-Za-z0-9_+/=-]*){0,4})",
        1,
        false,
    ),
    // OpenAI / Anthropic style keys.
    (r"\b(sk-[A-Za-z0-9_-]{20,})", 1, false),
    // GitHub tokens.
    (
        r"\b(gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{30,})",
        1,
        false,
    ),
    // GitLab, Hugging Face, npm, PyPI, Slack, Stripe, SendGrid.
    (
        r"\b(glpat-[A-Za-z0-9_-]{20,}|hf_[A-Za-z0-9]{30,}|npm_[A-Za-z0-9]{36,}|pypi-AgE[A-Za-z0-9_-]{40,}|xox[abposr]-[A-Za-z0-9-]{10,}|(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{16,}|SG\.[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{16,})",
        1,
        false,
    ),
    // Google API keys; AWS access key ids.
    (
        r"\b(AIza[0-9A-Za-z_-]{35}|(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[A-Z0-9]{16})\b",
        1,
        false,
    ),
    // Slack webhooks.
    (r"(?i)hooks\.slack\.com/services/([A-Za-z0-9/]+)", 1, false),
    // PEM private keys (the body, to the END line or the end of the text).
    (
        r"-----BEGIN [A-Z ]*PRIVATE KEY-----((?s:.*?))(?:-----END [A-Z ]*PRIVATE KEY-----|$)",
        1,
        false,
    ),
];

static SHAPES: LazyLock<Vec<Shape>> = LazyLock::new(|| {
    SHAPE_RULES
        .iter()
        .map(|&(p, group, needs_look)| Shape {
            regex: Regex::new(p).expect("a valid built-in regex"),
            group,
            needs_look,
        })
        .collect()
});

/// IPv4 and IPv6 addresses (checked by parsing; version numbers with three parts and
/// times do not parse).
static IP: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b(?:\d{1,3}\.){3}\d{1,3}\b|\b[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}\b")
        .expect("a valid built-in regex")
});

/// `s` with its secrets replaced, for the screen (not counted).
pub(crate) fn for_display(s: &str) -> Cow<'_, str> {
    let mut r = Redactor {
        extra: Vec::new(),
        ips: None,
        count: 0,
    };
    match r.redact(s) {
        Cow::Borrowed(_) => Cow::Borrowed(s),
        Cow::Owned(o) => Cow::Owned(o),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn redacted(line: &str) -> String {
        Redactor::new(&[]).unwrap().redact(line).into_owned()
    }

    #[test]
    fn structure_rows_redact_the_value_and_keep_the_rest() {
        let rows = [
            (
                r#"headers={"Authorization":["Bearer abc.def"],"Cookie":["a=1; b=SECOND"],"Host":["x"]}"#,
                r#"headers={"Authorization":["Bearer <redacted>"],"Cookie":["<redacted>"],"Host":["x"]}"#,
            ),
            (
                r"headers={'authorization': 'Basic dXNlcjpwYXNz', 'host': 'x'}",
                r"headers={'authorization': 'Basic <redacted>', 'host': 'x'}",
            ),
            (
                r#"{"message": "body {\"access_token\":\"AT1\",\"token_type\":\"bearer\"}"}"#,
                r#"{"message": "body {\"access_token\":\"<redacted>\",\"token_type\":\"bearer\"}"}"#,
            ),
            (
                "Form data: grant_type=authorization_code, code=abc..., client_secret=None",
                "Form data: grant_type=authorization_code, code=<redacted>, client_secret=None",
            ),
            (
                "GET /cb?code=C1&state=s&code_verifier=V1 HTTP/1.1",
                "GET /cb?code=<redacted>&state=s&code_verifier=<redacted> HTTP/1.1",
            ),
            ("Cookie: sid=1; csrf=2", "Cookie: <redacted>"),
            (
                "Environmental variables map[TUNNEL_TOKEN:eyJabc123 TUNNEL_X:y]",
                "Environmental variables map[TUNNEL_TOKEN:<redacted> TUNNEL_X:y]",
            ),
            (
                "headers=map[Authorization:[Bearer abc] Accept:[*/*]]",
                "headers=map[Authorization:[Bearer <redacted>] Accept:[*/*]]",
            ),
            (
                "[(b'host', b'x'), (b'cookie', b'sid=abc')]",
                "[(b'host', b'x'), (b'cookie', b'<redacted>')]",
            ),
            ("--token abcdef123 --url x", "--token <redacted> --url x"),
        ];
        for (line, want) in rows {
            assert_eq!(redacted(line), want, "{line}");
        }
    }

    #[test]
    fn evidence_that_looks_like_a_key_is_kept() {
        let rows = [
            "sigil-mcp.service: Main process exited, code=killed, status=9/KILL",
            "sigil-mcp.service: Main process exited, code=exited, status=1/FAILURE",
            r#"{"jsonrpc":"2.0","error":{"code":-32602,"message":"Invalid params"}}"#,
            "Outgoing MCP HTTP response request_id=x status_code=500 duration_ms=3",
            "Admin API: enabled=False host=127.0.0.1 port=8765 require_api_key=True",
            "Bad Request: No valid session ID provided",
            "Settings: map[no-autoupdate:true token:*****]",
            "Form data: code=None, client_secret=None, headers={'authorization': '<redacted>'}",
            "  - Token:         /oauth/token",
            "Sigil MCP starting (mode=dev, auth_enabled=False, allow_local_bypass=True)",
        ];
        for line in rows {
            let mut r = Redactor::new(&[]).unwrap();
            assert_eq!(r.redact(line), line);
            assert_eq!(r.count, 0, "{line}");
        }
    }

    #[test]
    fn redaction_is_idempotent() {
        let rows = [
            r#"headers={"Authorization":["Bearer abc.def"],"Cookie":["a=1; b=2"]}"#,
            "https://user:pw123@host/x?token=a&b=c Client Secret: Abc123456789",
            r#"\"client_secret\": \"x\\\"y\", \"password\":\"p\""#,
        ];
        for line in rows {
            let once = redacted(line);
            let mut r = Redactor::new(&[]).unwrap();
            assert_eq!(r.redact(&once), once, "{line}");
            assert_eq!(r.count, 0);
        }
    }

    #[test]
    fn escaped_quotes_inside_a_value_do_not_end_it() {
        assert_eq!(
            redacted(r#"{"password": "a\"b c\"d", "x": 1}"#),
            r#"{"password": "<redacted>", "x": 1}"#
        );
        assert_eq!(
            redacted(r#"msg="{\"password\":\"a\\\"b\",\"x\":1}""#),
            r#"msg="{\"password\":\"<redacted>\",\"x\":1}""#
        );
    }

    #[test]
    fn anonymized_addresses_are_stable_per_address() {
        let mut r = Redactor::new(&[]).unwrap().anonymizing_ips();
        let out = r
            .redact("203.0.113.9 then 198.51.100.7 then 203.0.113.9 via 127.0.0.1 v2025.11.1")
            .into_owned();
        assert_eq!(
            out,
            "10.255.0.1 then 10.255.0.2 then 10.255.0.1 via 127.0.0.1 v2025.11.1"
        );
    }

    /// The table of secret shapes both programs log (tests/data/hostile/secrets.tsv):
    /// no secret survives, and each line keeps its non-secret text.
    #[test]
    fn every_secret_in_the_table_is_redacted() {
        let table = include_str!("../tests/data/hostile/secrets.tsv");
        let mut rows = 0;
        for row in table.lines().filter(|l| !l.starts_with('#')) {
            let cols: Vec<&str> = row.splitn(4, '\t').collect();
            let [_, secret, shape, line] = cols[..] else {
                panic!("bad row {row:?}");
            };
            let mut r = Redactor::new(&[]).unwrap();
            let out = r.redact(line);
            assert!(!out.contains(secret), "{shape}: {line}\n→ {out}");
            assert!(r.count >= 1, "{shape}");
            rows += 1;
        }
        assert!(rows >= 50, "{rows} rows");
    }

    /// Property: the table's lines with random hostile edits (quotes, backslashes,
    /// separators, brackets, spaces, key words cut and pasted) are redacted idempotently,
    /// and the redactor adds no character but those of `<redacted>`.
    #[test]
    fn mangled_lines_are_redacted_idempotently() {
        const PIECES: &[&str] = &[
            "\"",
            "'",
            "\\",
            "\\\"",
            "=",
            ":",
            ": ",
            ",",
            ";",
            "&",
            "[",
            "]",
            "{",
            "}",
            "(",
            ")",
            " ",
            "<",
            ">",
            "token",
            "code=",
            "Bearer ",
            "Cookie: ",
            "\"password\":",
            "eyJ",
            "sk-",
            "://",
            "@",
            "<redacted>",
            "\n",
            "é",
            "\u{202e}",
        ];
        let table = include_str!("../tests/data/hostile/secrets.tsv");
        let lines: Vec<&str> = table
            .lines()
            .filter(|l| !l.starts_with('#'))
            .filter_map(|l| l.splitn(4, '\t').nth(3))
            .collect();
        let mut rng = crate::bytes::test_rng(17);
        for round in 0..4000 {
            let mut line = lines[rng(lines.len())].to_owned();
            for _ in 0..=rng(6) {
                let mut at = rng(line.len() + 1);
                while !line.is_char_boundary(at) {
                    at -= 1;
                }
                line.insert_str(at, PIECES[rng(PIECES.len())]);
            }
            let once = redacted(&line);
            let mut again = Redactor::new(&[]).unwrap();
            assert_eq!(again.redact(&once), once, "round {round}: {line:?}");
            assert_eq!(again.count, 0, "round {round}: {line:?}");
            for c in once.chars() {
                assert!(
                    line.contains(c) || REDACTED.contains(c),
                    "round {round}: {c:?}"
                );
            }
        }
    }
}
