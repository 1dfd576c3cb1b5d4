//! Frame time of the live screen: a full 160×50 frame with 100k log records in memory,
//! plus what a filter change (full re-filter) and `w` (window figures) cost; then a frame
//! and a key with a 50 MB message on screen against a 100-byte one (issue 17 point 4).
//!
//! Run with `cargo bench --bench render`. The model is the real kv-debug capture fed 51
//! times over (each copy shifted by 80 s) through the real decoder, parser and model.
//! Plain timing (no criterion): medians of repeated runs, printed.

use std::time::{Duration, Instant};

use ratatui::backend::TestBackend;
use ratatui::Terminal;
use sigil_top::model::{Model, Settings};
use sigil_top::parse::Parser;
use sigil_top::source::stream::Decoder;
use sigil_top::source::{Timestamp, Unit, UnitFilter};
use sigil_top::view::tui::action::Action;
use sigil_top::view::tui::render::render;
use sigil_top::view::tui::state::{Feed, PromptKind, UiOptions, UiState};
use sigil_top::view::tui::theme::{Theme, ThemeKind};

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

#[allow(
    clippy::too_many_lines,
    reason = "the benchmark's cases in order, each a few lines of setup and one timing"
)]
fn main() {
    let bytes = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/real/kv-debug/export.txt"
    ))
    .unwrap();
    let units = vec![Unit::new("sigil-mcp"), Unit::new("cloudflared")];
    let mut decoder = Decoder::new(
        UnitFilter {
            units: units.clone(),
        },
        0,
    );
    let mut entries = Vec::new();
    decoder.feed(&bytes, &mut entries);
    decoder.finish(&mut entries);
    let mut parser = Parser::new();
    let mut model = Model::new(Settings::default());
    let mut copy = 0u64;
    while model.entries.total < 101_000 {
        for e in &entries {
            let mut e = e.clone();
            e.realtime = Timestamp(e.realtime.0 + copy * 80_000_000);
            model.apply(parser.parse(e));
        }
        copy += 1;
    }
    model.finish();
    let end = model.window.map_or(Timestamp(0), |(_, b)| b);
    let mut ui = UiState::new(UiOptions {
        theme: Theme::new(ThemeKind::Dark),
        inputs: vec!["bench".into()],
        units,
        feed: Feed::History,
        utc_offset_s: 0,
        time_zone: jiff::tz::TimeZone::UTC,
        reads_since: None,
        lookback_us: None,
        can_read_earlier: false,
    });
    ui.update(Action::Resize(160, 50), &model);
    let t = Instant::now();
    while ui.sync(&model) {}
    let first_sync = t.elapsed();
    ui.update(Action::Tick(end), &model);
    println!(
        "model: {} entries, {} log records, {} traces kept; first index sync {first_sync:?}",
        model.entries.total,
        model.log.len(),
        model.correlator.recent.len()
    );

    let mut terminal = Terminal::new(TestBackend::new(160, 50)).unwrap();
    let frame = |ui: &UiState, terminal: &mut Terminal<TestBackend>| {
        let runs: Vec<Duration> = (0..200)
            .map(|_| {
                let t = Instant::now();
                terminal.draw(|f| render(f, &model, ui)).unwrap();
                t.elapsed()
            })
            .collect();
        median(runs)
    };
    println!(
        "frame 160x50, following:         {:?}",
        frame(&ui, &mut terminal)
    );
    for _ in 0..5_000 {
        ui.update(Action::Up, &model);
    }
    println!(
        "frame 160x50, scrolled back:     {:?}",
        frame(&ui, &mut terminal)
    );
    ui.update(Action::FocusNext, &model);
    ui.update(Action::FocusNext, &model);
    ui.update(Action::Open, &model);
    println!(
        "frame 160x50, incident evidence: {:?}",
        frame(&ui, &mut terminal)
    );
    ui.update(Action::Back, &model);

    let t = Instant::now();
    ui.update(Action::CycleUnit, &model);
    println!("re-filter by unit (100k records): {:?}", t.elapsed());
    ui.update(Action::StartPrompt(PromptKind::Filter), &model);
    let t = Instant::now();
    ui.update(Action::PromptInput('5'), &model);
    ui.update(Action::PromptInput('0'), &model);
    ui.update(Action::PromptInput('2'), &model);
    println!("re-filter by regex, 3 keys:        {:?}", t.elapsed());
    let t = Instant::now();
    ui.update(Action::CycleWindow, &model);
    println!("window figures (w):                {:?}", t.elapsed());

    for len in [100, 50 << 20] {
        long_message(&entries, len);
    }
    // What the screen did per frame for such a line before issue 17: escape and redact
    // the whole message, then cut it to the width.
    let giant = giant_message(50 << 20);
    let t = Instant::now();
    let whole = sigil_top::text::display_bytes(&giant);
    println!(
        "whole-message display text (the old per-row cost), 50 MB: {:?} ({} bytes)",
        t.elapsed(),
        whole.len()
    );
}

/// A message of `len` bytes: words, as a huge JSON body or dump logs them.
fn giant_message(len: usize) -> Vec<u8> {
    let mut msg = b"tool result ".to_vec();
    let mut i = 0u64;
    while msg.len() < len {
        msg.extend_from_slice(format!("w{i} ").as_bytes());
        i += 1;
    }
    msg.truncate(len);
    msg
}

/// The capture plus one origin line of `len` bytes as the newest line: a following
/// 160×50 frame, the record view's first frame, and a page key (← →) with its frame.
fn long_message(entries: &[sigil_top::source::RawEntry], len: usize) {
    let mut all = entries.to_vec();
    let mut line = all
        .iter()
        .rev()
        .find(|e| e.unit.as_ref().is_some_and(|u| u.short() == "sigil-mcp"))
        .cloned()
        .unwrap();
    line.message = giant_message(len).into_boxed_slice();
    line.cursor = None;
    line.realtime = Timestamp(line.realtime.0 + 1_000_000);
    all.push(line);
    let mut parser = Parser::new();
    let mut model = Model::new(Settings::default());
    for e in all {
        model.apply(parser.parse(e));
    }
    model.finish();
    let end = model.window.map_or(Timestamp(0), |(_, b)| b);
    let mut ui = UiState::new(UiOptions {
        theme: Theme::new(ThemeKind::Dark),
        inputs: vec!["bench".into()],
        units: vec![Unit::new("sigil-mcp"), Unit::new("cloudflared")],
        feed: Feed::History,
        utc_offset_s: 0,
        time_zone: jiff::tz::TimeZone::UTC,
        reads_since: None,
        lookback_us: None,
        can_read_earlier: false,
    });
    ui.update(Action::Resize(160, 50), &model);
    while ui.sync(&model) {}
    ui.update(Action::Tick(end), &model);
    let mut terminal = Terminal::new(TestBackend::new(160, 50)).unwrap();
    let mut time = |ui: &mut UiState, key: Option<Action>| {
        // 50 runs, or 5 when a frame takes over 100 ms (the code before issue 17 took
        // seconds per frame with a 50 MB line).
        let t = Instant::now();
        terminal.draw(|f| render(f, &model, ui)).unwrap();
        let n = if t.elapsed() > Duration::from_millis(100) {
            5
        } else {
            50
        };
        let runs: Vec<Duration> = (0..n)
            .map(|i| {
                let t = Instant::now();
                if let Some(k) = key {
                    // Alternate the direction so every run turns a page.
                    let k = if i % 2 == 0 { k } else { Action::FocusPrev };
                    ui.update(k, &model);
                }
                terminal.draw(|f| render(f, &model, ui)).unwrap();
                t.elapsed()
            })
            .collect();
        median(runs)
    };
    let following = time(&mut ui, None);
    ui.update(Action::Open, &model);
    let open = time(&mut ui, None);
    let page = time(&mut ui, Some(Action::FocusNext));
    println!(
        "{len:>9}-byte line: frame following {following:?} · record view frame {open:?} · page key + frame {page:?}"
    );
}
