//! The filters of the log and request views: the unit, host, level and status filters
//! ([`Filter`], [`StatusFilter`]), the `/` search and `&` text filter pattern
//! ([`TextFilter`]: regex or plain text, negated with `!`), and what a pattern is matched
//! against (a record or a request as drawn, each line's first [`MATCH_BYTES`]).
//!
//! Pure: reads `&Model` items and says whether they are kept; the lists they build are
//! [`super::index`]'s.

use regex::{Regex, RegexBuilder};

use crate::model::correlate::{Outcome, Trace};
use crate::model::log::Record;
use crate::model::Model;
use crate::parse::{EventKind, Level, ProxyFailure};
use crate::source::Unit;
use crate::text;

/// Search and filter look at this many bytes of each line at most (a pattern is matched
/// against each line's text as drawn; a 50 MB line would otherwise cost every keystroke
/// of a filter a pass over 50 MB). Documented in `docs/robustness.md`.
pub(crate) const MATCH_BYTES: usize = 1 << 20;

/// Which answers the log and request views keep.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StatusFilter {
    Any,
    /// 5xx from the origin, and the 502/524 the edge gave when the tunnel failed.
    Server5xx,
    BadGateway,
    Client4xx,
}

impl StatusFilter {
    pub(crate) fn label(self) -> &'static str {
        match self {
            StatusFilter::Any => "any",
            StatusFilter::Server5xx => "any 5xx",
            StatusFilter::BadGateway => "502",
            StatusFilter::Client4xx => "4xx",
        }
    }

    pub(super) fn next(self) -> StatusFilter {
        match self {
            StatusFilter::Any => StatusFilter::Server5xx,
            StatusFilter::Server5xx => StatusFilter::BadGateway,
            StatusFilter::BadGateway => StatusFilter::Client4xx,
            StatusFilter::Client4xx => StatusFilter::Any,
        }
    }

    pub(super) fn keeps(self, status: Option<u16>) -> bool {
        match (self, status) {
            (StatusFilter::Any, _) => true,
            (_, None) => false,
            (StatusFilter::Server5xx, Some(s)) => (500..600).contains(&s),
            (StatusFilter::BadGateway, Some(s)) => s == 502,
            (StatusFilter::Client4xx, Some(s)) => (400..500).contains(&s),
        }
    }
}

/// The pattern of a search (`/`) or a text filter (`&`): a regex when the pattern is
/// one, else plain text (with the regex error kept to show). Lower-case patterns match
/// either case. A filter typed as `!pattern` keeps what does *not* match.
#[derive(Debug, Clone)]
pub(crate) struct TextFilter {
    /// As typed (with the `!` of a negated filter).
    pub(crate) pattern: String,
    regex: Option<Regex>,
    pub(crate) error: Option<String>,
    /// Keep what does not match (`&!text`).
    pub(crate) is_negated: bool,
}

/// Matches highlighted per line at most (a pattern such as `.` would match every
/// character).
const MAX_HIGHLIGHTS: usize = 64;

impl TextFilter {
    /// A filter: `!` first negates it.
    pub(crate) fn filter(pattern: &str) -> TextFilter {
        match pattern.strip_prefix('!') {
            Some(rest) => TextFilter {
                pattern: pattern.to_owned(),
                is_negated: true,
                ..TextFilter::new(rest)
            },
            None => TextFilter::new(pattern),
        }
    }

    /// Keeps a line that matches (or, negated, one that does not).
    pub(crate) fn keeps(&self, is_match: bool) -> bool {
        is_match != self.is_negated
    }

    /// Byte ranges of the matches in `haystack` (non-empty ones, at most
    /// [`MAX_HIGHLIGHTS`]), for highlighting.
    pub(crate) fn ranges(&self, haystack: &str) -> Vec<(usize, usize)> {
        match &self.regex {
            Some(r) => r
                .find_iter(haystack)
                .filter(|m| !m.is_empty())
                .take(MAX_HIGHLIGHTS)
                .map(|m| (m.start(), m.end()))
                .collect(),
            None if self.pattern.is_empty() => Vec::new(),
            None => haystack
                .match_indices(self.pattern.as_str())
                .take(MAX_HIGHLIGHTS)
                .map(|(i, m)| (i, i + m.len()))
                .collect(),
        }
    }

    /// A search or a plain pattern (no negation).
    pub(crate) fn new(pattern: &str) -> TextFilter {
        let is_lower = !pattern.chars().any(char::is_uppercase);
        match RegexBuilder::new(pattern)
            .case_insensitive(is_lower)
            .size_limit(1 << 20)
            .build()
        {
            Ok(regex) => TextFilter {
                pattern: pattern.to_owned(),
                regex: Some(regex),
                error: None,
                is_negated: false,
            },
            Err(e) => TextFilter {
                pattern: pattern.to_owned(),
                regex: None,
                is_negated: false,
                // The regex crate's message spans lines with a caret diagram; keep its
                // last line, which names the problem.
                error: Some(
                    e.to_string()
                        .lines()
                        .rev()
                        .find(|l| !l.trim().is_empty())
                        .unwrap_or("invalid regex")
                        .trim()
                        .trim_start_matches("error: ")
                        .to_owned(),
                ),
            },
        }
    }

    pub(crate) fn is_match(&self, haystack: &str) -> bool {
        match &self.regex {
            Some(r) => r.is_match(haystack),
            None => haystack.contains(&self.pattern),
        }
    }
}

/// Every filter of the log and request views.
#[derive(Debug, Clone)]
pub(crate) struct Filter {
    /// Only this unit's lines (and requests it saw).
    pub(crate) unit: Option<Unit>,
    /// Only log lines from this host (`_HOSTNAME`); requests are not filtered by host.
    pub(crate) host: Option<String>,
    /// Log lines at least this severe (requests have no level).
    pub(crate) min_level: Option<Level>,
    pub(crate) status: StatusFilter,
    pub(crate) text: Option<TextFilter>,
}

impl Default for Filter {
    fn default() -> Filter {
        Filter {
            unit: None,
            host: None,
            min_level: None,
            status: StatusFilter::Any,
            text: None,
        }
    }
}

impl Filter {
    /// Whether the log view shows `rec` (text as [`record_matches`] reads it).
    pub(crate) fn keeps_record(&self, rec: &Record) -> bool {
        let e = &rec.event;
        if let Some(u) = &self.unit {
            if e.entry.unit.as_ref() != Some(u) {
                return false;
            }
        }
        if let Some(min) = self.min_level {
            if e.level < min {
                return false;
            }
        }
        if !self.status.keeps(event_status(&e.kind)) {
            return false;
        }
        if let Some(host) = &self.host {
            if e.entry.origin.hostname.as_deref() != Some(host.as_str()) {
                return false;
            }
        }
        if let Some(t) = &self.text {
            if !t.keeps(record_matches(t, rec)) {
                return false;
            }
        }
        true
    }

    /// Whether the request view shows `t`. A unit keeps the requests that unit saw.
    pub(crate) fn keeps_trace(&self, t: &Trace, model: &Model) -> bool {
        if let Some(u) = &self.unit {
            let saw = if *u == model.settings.origin_unit {
                t.origin.is_some()
            } else if *u == model.settings.tunnel_unit {
                t.tunnel.is_some()
            } else {
                false
            };
            if !saw {
                return false;
            }
        }
        if self.status != StatusFilter::Any && !self.status.keeps(trace_status(t)) {
            return false;
        }
        if let Some(f) = &self.text {
            if !f.keeps(trace_matches(f, t)) {
                return false;
            }
        }
        true
    }
}

/// Whether `pattern` matches `rec` as drawn (each line sanitized): its head line or any of
/// its continuation lines (searching for `ConnectionResetError` finds the traceback it
/// ends), so a pattern never matches an invisible character. Each line's first
/// [`MATCH_BYTES`] are searched.
pub(crate) fn record_matches(pattern: &TextFilter, rec: &Record) -> bool {
    std::iter::once(&rec.event)
        .chain(&rec.continuation)
        .any(|line| {
            let m = &line.entry.message;
            pattern.is_match(&text::sanitize_bytes(&m[..m.len().min(MATCH_BYTES)]))
        })
}

/// Whether `pattern` matches a request: its route, tool, ray, request id, link and
/// outcome as the request view shows them.
pub(crate) fn trace_matches(pattern: &TextFilter, t: &Trace) -> bool {
    let mut hay = t.route();
    for part in [
        t.tool.as_deref(),
        t.ray.as_ref().map(|r| &*r.0),
        t.request_id.as_ref().map(|r| &*r.0),
        Some(t.link.as_str()),
    ]
    .into_iter()
    .flatten()
    {
        hay.push(' ');
        hay.push_str(part);
    }
    hay.push(' ');
    hay.push_str(&outcome_label(t.outcome));
    pattern.is_match(&text::sanitize(&hay))
}

/// The HTTP status a log line reports, if it reports one.
pub(crate) fn event_status(kind: &EventKind) -> Option<u16> {
    match kind {
        EventKind::SigilOutgoing { status, .. } => *status,
        EventKind::SigilError { .. } => Some(500),
        EventKind::AccessLog { status, .. } | EventKind::TunnelResponse { status, .. } => {
            Some(*status)
        }
        EventKind::ProxyError {
            failure: ProxyFailure::OriginUnreachable(_),
            ..
        } => Some(502),
        _ => None,
    }
}

/// The status the visitor got for a trace (502/524 when the tunnel failed).
pub(crate) fn trace_status(t: &Trace) -> Option<u16> {
    match t.outcome {
        Outcome::BadGateway(_) => Some(502),
        Outcome::EdgeTimeout => Some(524),
        Outcome::Served(s) => Some(s),
        _ => t.origin_status(),
    }
}

/// A short label for an outcome: `200`, `502 refused`, `524 timeout`, `abort`, …
pub(crate) fn outcome_label(o: Outcome) -> String {
    match o {
        Outcome::Served(0) => "served".to_owned(),
        Outcome::Served(s) => s.to_string(),
        Outcome::BadGateway(cause) => format!("502 {}", cause.as_str()),
        Outcome::EdgeTimeout => "524 timeout".to_owned(),
        Outcome::ClientAbort => "abort".to_owned(),
        Outcome::StreamClosed => "closed".to_owned(),
        Outcome::ProxyFailed => "proxy err".to_owned(),
        Outcome::Unanswered => "no answer".to_owned(),
    }
}
