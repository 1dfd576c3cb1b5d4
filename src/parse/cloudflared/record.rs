//! One cloudflared log record, format-independent: level, message and the few fields
//! sigil-top reads, as borrowed slices of the line.
//!
//! Owns [`Record`], [`Fields`] and [`Val`] and the JSON-line reader ([`Record::from_json`]);
//! the console reader is `console.rs`. Fields nobody reads are skipped without being decoded
//! or copied: a value is only unquoted ([`Val::text`]) when the classifier asks for it.

use std::borrow::Cow;

use super::{go_string, json};
use crate::parse::Level;

/// How a value was written, which says how to decode it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Enc {
    /// Console bare token: the text itself.
    Bare,
    /// Console Go `strconv.Quote` string, quotes included.
    GoQuoted,
    /// Raw JSON text: a string with its quotes, or a number/object/array as written.
    Json,
}

/// A field value as it appears in the line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Val<'a> {
    pub(super) raw: &'a str,
    pub(super) enc: Enc,
}

impl<'a> Val<'a> {
    /// The value's text: strings unquoted and unescaped (borrowed when nothing needed
    /// decoding), objects and numbers as written.
    pub(super) fn text(self) -> Cow<'a, str> {
        match self.enc {
            Enc::Bare => Cow::Borrowed(self.raw),
            Enc::GoQuoted => go_string::go_unquote(self.raw),
            Enc::Json => json::text(self.raw),
        }
    }

    pub(super) fn boxed(self) -> Box<str> {
        self.text().into()
    }
}

/// The fields sigil-top reads. A key seen twice keeps its last value, as Go's map decoding
/// in cloudflared's own console writer does.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Fields<'a> {
    pub(super) error: Option<Val<'a>>,
    pub(super) conn_index: Option<Val<'a>>,
    pub(super) origin_service: Option<Val<'a>>,
    pub(super) dest: Option<Val<'a>>,
    /// `cfRay=` (2023.4.1–2024.2.0).
    pub(super) cf_ray: Option<Val<'a>>,
    pub(super) path: Option<Val<'a>>,
    /// The request headers as a JSON object (`{"Cf-Ray":["…"],…}`).
    pub(super) headers: Option<Val<'a>>,
    /// `Updated to new configuration`: the pushed config, a JSON document in a string.
    pub(super) config: Option<Val<'a>>,
    pub(super) location: Option<Val<'a>>,
    pub(super) protocol: Option<Val<'a>>,
}

impl<'a> Fields<'a> {
    pub(super) fn set(&mut self, key: &str, val: Val<'a>) {
        let slot = match key {
            "error" => &mut self.error,
            "connIndex" => &mut self.conn_index,
            "originService" => &mut self.origin_service,
            "dest" => &mut self.dest,
            "cfRay" => &mut self.cf_ray,
            "path" => &mut self.path,
            "headers" => &mut self.headers,
            "config" => &mut self.config,
            "location" => &mut self.location,
            "protocol" => &mut self.protocol,
            _ => return,
        };
        *slot = Some(val);
    }

    /// `connIndex` as a number; `None` when absent or not 0–255.
    pub(super) fn conn_index(&self) -> Option<u8> {
        self.conn_index
            .and_then(|v| v.text().trim().parse::<u8>().ok())
    }

    /// The error text, empty when there is none.
    pub(super) fn error_text(&self) -> Cow<'a, str> {
        self.error.map_or(Cow::Borrowed(""), Val::text)
    }
}

/// A parsed record of either output format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Record<'a> {
    /// `None` for zerolog's `???` or a JSON record without a known `level`.
    pub(super) level: Option<Level>,
    /// Verbatim (leading spaces kept); empty when the record has none (proxy errors).
    pub(super) message: Cow<'a, str>,
    pub(super) fields: Fields<'a>,
}

impl<'a> Record<'a> {
    /// Reads a JSON record (`--output json`, sorted keys, or `--logfile`, emission order).
    /// `None` unless `line` is exactly one well-formed object.
    pub(super) fn from_json(line: &'a str) -> Option<Record<'a>> {
        let mut level = None;
        let mut message = None;
        let mut fields = Fields::default();
        json::members(line, |key, raw| {
            match key {
                "level" => level = Some(raw),
                "message" => message = Some(raw),
                "time" => {}
                _ => fields.set(
                    key,
                    Val {
                        raw,
                        enc: Enc::Json,
                    },
                ),
            }
            true
        })
        .ok()?;
        Some(Record {
            level: level.and_then(|raw| json_level(&json::text(raw))),
            message: message.map_or(Cow::Borrowed(""), json::text),
            fields,
        })
    }
}

/// zerolog's JSON level names.
fn json_level(word: &str) -> Option<Level> {
    Some(match word {
        "trace" => Level::Trace,
        "debug" => Level::Debug,
        "info" => Level::Info,
        "warn" | "warning" => Level::Warn,
        "error" => Level::Error,
        "fatal" | "panic" => Level::Critical,
        _ => return None,
    })
}
