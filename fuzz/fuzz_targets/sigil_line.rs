//! The Sigil server's line parser: `parse_text` on any text, and `Parser::parse` of an
//! entry of `sigil-mcp.service` whose MESSAGE (and, for the native journald form, whose
//! extra fields) are arbitrary bytes. Oracle: no panic (parsing is total).
//!
//! Input: byte 0 picks the shape (bit 0: `_TRANSPORT=journal`, bit 1: native fields
//! present); the rest is split at NUL into MESSAGE, then REQUEST_ID, STATUS_CODE,
//! DURATION_MS, METHOD, PATH, CF_RAY, RESPONSE_BODY.

#![no_main]

use std::sync::Arc;

use libfuzzer_sys::fuzz_target;
use sigil_top::parse::{sigil, Parser};
use sigil_top::source::{RawEntry, Timestamp, Unit};

const NATIVE_FIELDS: &[&str] = &[
    "REQUEST_ID",
    "STATUS_CODE",
    "DURATION_MS",
    "METHOD",
    "PATH",
    "CF_RAY",
    "RESPONSE_BODY",
];

fuzz_target!(|data: &[u8]| {
    let _ = sigil::parse_text(&String::from_utf8_lossy(data));

    let Some((&shape, rest)) = data.split_first() else {
        return;
    };
    let mut parts = rest.split(|&b| b == 0);
    let message = parts.next().unwrap_or_default();
    let mut fields: Vec<(&'static str, Arc<[u8]>)> = Vec::new();
    if shape & 1 == 1 {
        fields.push(("_TRANSPORT".into(), b"journal".to_vec().into()));
    }
    if shape & 2 == 2 {
        for (name, value) in NATIVE_FIELDS.iter().zip(parts) {
            fields.push(((*name).into(), value.into()));
        }
    }
    let entry = RawEntry {
        realtime: Timestamp(1_795_626_317_811_775),
        monotonic_us: None,
        origin: std::sync::Arc::new(sigil_top::source::Origin {
            boot_id: None,
            systemd_unit: Some("sigil-mcp.service".into()),
            hostname: None,
            fields: fields.into(),
        }),
        cursor: None,
        unit: Some(Unit::new("sigil-mcp.service")),
        about_unit: None,
        pid: Some(13607),
        priority: Some(shape >> 5),
        message: message.into(),
        input: 0,
    };
    let _ = Parser::new().parse(entry);
});
