//! The whole headless pipeline on arbitrary bytes: decode (export or JSON, chunked) →
//! parse → `Model::apply` → `finish` → `report::to_json`, `to_text`, `to_markdown`, and
//! `entries` short and JSON output.
//!
//! Oracles: no panic; the report JSON serialises and parses back; and no output of any
//! mode (report text, Markdown and JSON, `entries -o short`, every text file of a
//! snapshot bundle: summary.md, report.json, traces.jsonl, histogram.hgrm, latency.hlog,
//! latency.svg) holds a character a terminal would act on or that hides text (ESC, CSI,
//! other C0/C1 controls, U+2028/2029, bidi overrides and isolates, zero-width, tag
//! characters), whatever the log said (issue 17).
//!
//! Input: the first 8 bytes seed the chunking (bit 0 also picks the unit filter); the
//! rest is the stream.

#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;
use sigil_top::model::{Model, Settings};
use sigil_top::parse::Parser;
use sigil_top::source::{Unit, UnitFilter};
use sigil_top::source::Timestamp;
use sigil_top::text::Redactor;
use sigil_top::view::{entries, report, snapshot};

fuzz_target!(|data: &[u8]| {
    let (seed, stream) = common::take_seed(data);
    let filter = UnitFilter {
        units: if seed & 1 == 0 {
            Vec::new()
        } else {
            vec![Unit::new("sigil-mcp"), Unit::new("cloudflared")]
        },
    };
    let (decoded, _) = common::decode_split(stream, &filter, seed);

    let mut short = Vec::new();
    for e in &decoded {
        entries::write_short(&mut short, e).expect("writing to a Vec");
        let mut json = Vec::new();
        entries::write_json(&mut json, e).expect("writing to a Vec");
        serde_json::from_slice::<serde_json::Value>(&json).expect("entries JSON parses back");
    }
    let short = String::from_utf8(short).expect("entries -o short is UTF-8");
    common::assert_terminal_safe("entries -o short", &short);

    let kept = decoded.clone();
    let mut model = Model::new(Settings::default());
    let mut parser = Parser::new();
    for e in decoded {
        model.apply(parser.parse(e));
    }
    model.finish();
    let json = report::to_json(&model);
    let text = serde_json::to_string(&json).expect("the report serialises");
    serde_json::from_str::<serde_json::Value>(&text).expect("the report parses back");
    common::assert_terminal_safe("report --format text", &report::to_text(&model));
    common::assert_terminal_safe("report --format markdown", &report::to_markdown(&model));
    common::assert_terminal_safe("report --format json", &text);

    let (start, end) = model.window.unwrap_or((Timestamp(0), Timestamp(0)));
    let selection = snapshot::Selection {
        start,
        end,
        incident: model.detector.incidents.first().map(|i| i.id),
    };
    let mut redactor = Redactor::new(&[]).expect("no extra patterns");
    let kept: Vec<&_> = kept.iter().collect();
    let bundle = snapshot::build_in_memory(&model, &kept, &selection, &mut redactor);
    for (name, bytes) in &bundle.files {
        if *name == "journal.export" {
            // Export format: values with controls are length-framed, as journalctl writes.
            continue;
        }
        let text = std::str::from_utf8(bytes).expect("bundle text files are UTF-8");
        common::assert_terminal_safe(name, text);
    }
});
