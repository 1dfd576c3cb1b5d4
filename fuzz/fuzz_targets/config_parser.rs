//! The TOML config file. Oracles: no panic; and any settings it accepts run the model
//! (a few requests through correlation, stats, detection and the report) without a panic,
//! so a zero capacity, a zero window or a huge duration cannot crash sigil-top later.

#![no_main]

use libfuzzer_sys::fuzz_target;
use sigil_top::config_file;
use sigil_top::model::Model;
use sigil_top::parse::Parser;
use sigil_top::source::{RawEntry, Timestamp, Unit};
use sigil_top::view::report;

fn entry(at_us: u64, unit: &str, pid: u32, message: &str) -> RawEntry {
    RawEntry {
        realtime: Timestamp(at_us),
        monotonic_us: None,
        origin: std::sync::Arc::new(sigil_top::source::Origin {
            boot_id: None,
            systemd_unit: Some(unit.into()),
            hostname: Some("h".into()),
            fields: sigil_top::source::KeptFields::default(),
        }),
        cursor: None,
        unit: Some(Unit::new(unit)),
        about_unit: None,
        pid: Some(pid),
        priority: Some(6),
        message: message.as_bytes().into(),
        input: 0,
    }
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = sigil_top::duration::parse_us(&text);
    let _ = sigil_top::duration::format_us(u64::try_from(text.len()).unwrap_or(0));
    let Ok(settings) = config_file::parse(&text) else {
        return;
    };
    let origin = settings.origin_unit.as_str().to_owned();
    let tunnel = settings.tunnel_unit.as_str().to_owned();
    let mut model = Model::new(settings);
    let mut parser = Parser::new();
    let t0 = 1_795_626_317_000_000u64;
    for i in 0..30u64 {
        let at = t0 + i * 7_000_000;
        let id = format!("00000000-0000-4000-8000-{i:012}");
        let lines = [
            (at, &origin, format!("2026-11-25 17:05:17 [INFO] sigil_repos_mcp - Incoming MCP HTTP request request_id={id} method=POST path=/ client_ip=1.2.3.4")),
            (at + 1_000, &tunnel, "2026-11-25T17:05:18Z ERR  error=\"Unable to reach the origin service. The service may be down or it may not be responding to traffic from cloudflared: dial tcp 127.0.0.1:8000: connect: connection refused\" connIndex=0 event=1 ingressRule=0 originService=http://localhost:8000".to_owned()),
            (at + 2_000_000, &origin, format!("2026-11-25 17:05:19 [INFO] sigil_repos_mcp - Outgoing MCP HTTP response request_id={id} status_code=200 duration_ms=2000")),
        ];
        for (at, unit, msg) in lines {
            model.apply(parser.parse(entry(at, unit, if unit == &origin { 10 } else { 20 }, &msg)));
        }
        model.tick(Timestamp(at + 3_000_000));
    }
    model.finish();
    let json = report::to_json(&model);
    serde_json::to_string(&json).expect("the report serialises");
    let _ = report::to_text(&model);
    let _ = report::to_markdown(&model);
});
