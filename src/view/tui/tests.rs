//! Render snapshots and behaviour tests of the live screen, on the real capture
//! `tests/data/real/kv-debug/export.txt` fed through the real decoder, parser and model.
//!
//! Screens are drawn into ratatui's `TestBackend` and compared as text with `insta`
//! (`src/view/tui/snapshots/`). They are deterministic: the clock is the capture's last
//! entry, times are shown in UTC, and nothing reads the wall clock.

use ratatui::backend::TestBackend;
use ratatui::Terminal;

use crate::model::{Model, Settings};
use crate::parse::Parser;
use crate::source::stream::Decoder;
use crate::source::{RawEntry, Timestamp, Unit, UnitFilter};

use super::action::Action;
use super::render::render;
use super::state::{
    Command, Feed, InputState, LatencyWindow, Overlay, Pane, PromptKind, UiOptions, UiState,
};
use super::theme::{Theme, ThemeKind};

const CAPTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/data/real/kv-debug/export.txt"
);

fn units() -> Vec<Unit> {
    vec![Unit::new("sigil-mcp"), Unit::new("cloudflared")]
}

/// The capture's entries, decoded as `journalctl -o export` text.
fn entries() -> Vec<RawEntry> {
    let bytes = std::fs::read(CAPTURE).expect("the kv-debug capture");
    let mut decoder = Decoder::new(UnitFilter { units: units() }, 0);
    let mut out = Vec::new();
    decoder.feed(&bytes, &mut out);
    decoder.finish(&mut out);
    out
}

fn model_of(entries: Vec<RawEntry>) -> Model {
    let mut parser = Parser::new();
    let mut model = Model::new(Settings::default());
    for e in entries {
        model.apply(parser.parse(e));
    }
    model
}

/// The whole capture, finished as at the end of a history run.
fn fixture() -> Model {
    let mut model = model_of(entries());
    model.finish();
    model
}

/// `haystack` with every `from` replaced by `to`.
fn replace_bytes(haystack: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(haystack.len());
    let mut rest = haystack;
    while let Some(i) = rest.windows(from.len()).position(|w| w == from) {
        out.extend_from_slice(&rest[..i]);
        out.extend_from_slice(to);
        rest = &rest[i + from.len()..];
    }
    out.extend_from_slice(rest);
    out
}

/// The capture with long values: the 4 ms answers took 117,047 ms and the 1,860 ms one
/// 41,714 ms (as in issue 19's journal), a tool with a long name, and eight copies 20
/// minutes apart, so the incidents list is longer than any panel.
fn long_fixture() -> Model {
    let mut all = Vec::new();
    for copy in 0..8u64 {
        for mut e in entries() {
            let mut m = replace_bytes(&e.message, b"duration_ms=4 ", b"duration_ms=117047 ");
            m = replace_bytes(&m, b"duration_ms=1860 ", b"duration_ms=41714 ");
            m = replace_bytes(
                &m,
                b"search_repo tool called",
                b"search_repositories_by_content_and_path_glob tool called",
            );
            e.message = m.into_boxed_slice();
            e.realtime = Timestamp(e.realtime.0 + copy * 1_200_000_000);
            if copy > 0 {
                e.cursor = None;
            }
            all.push(e);
        }
    }
    let mut model = model_of(all);
    model.finish();
    model
}

fn end_of(model: &Model) -> Timestamp {
    model.window.map_or(Timestamp(0), |(_, b)| b)
}

/// The capture twice, the second copy from host `mcp-b` (a directory gathered from a
/// fleet), finished.
fn two_hosts() -> Model {
    let mut all = entries();
    for mut e in entries() {
        let mut origin = (*e.origin).clone();
        origin.hostname = Some("mcp-b".into());
        e.origin = std::sync::Arc::new(origin);
        e.cursor = None;
        all.push(e);
    }
    let mut model = model_of(all);
    model.finish();
    model
}

/// The UI after reading `model` as history, at `width`×`height`.
fn ui_for(model: &Model, width: u16, height: u16) -> UiState {
    let mut ui = UiState::new(UiOptions {
        theme: Theme::new(ThemeKind::Dark),
        inputs: vec!["journal directory /fixture".into()],
        units: units(),
        feed: Feed::History,
        utc_offset_s: 0,
        time_zone: jiff::tz::TimeZone::UTC,
        reads_since: None,
        lookback_us: None,
        can_read_earlier: false,
    });
    ui.input = InputState::Ended;
    ui.update(Action::Resize(width, height), model);
    ui.update(Action::Tick(end_of(model)), model);
    while ui.sync(model) {}
    ui
}

/// The screen as text, one line per row.
fn screen(model: &Model, ui: &UiState) -> String {
    let (w, h) = ui.size;
    let mut terminal = Terminal::new(TestBackend::new(w, h)).unwrap();
    terminal.draw(|f| render(f, model, ui)).unwrap();
    let buf = terminal.backend().buffer();
    let mut out = String::new();
    for y in 0..h {
        for x in 0..w {
            out.push_str(buf[(x, y)].symbol());
        }
        out.push('\n');
    }
    out
}

/// Applies `actions` as the loop does: each, then the index work before the next frame
/// (here until done, so assertions see the whole filtered list).
fn press(ui: &mut UiState, model: &Model, actions: &[Action]) -> Vec<Command> {
    actions
        .iter()
        .filter_map(|&a| {
            let command = ui.update(a, model);
            while ui.sync(model) {}
            command
        })
        .collect()
}

#[test]
fn osc52_is_base64_of_the_text_and_nothing_in_it_can_end_the_sequence() {
    // RFC 4648's test vectors.
    for (plain, encoded) in [
        ("", ""),
        ("f", "Zg=="),
        ("fo", "Zm8="),
        ("foo", "Zm9v"),
        ("foob", "Zm9vYg=="),
        ("fooba", "Zm9vYmE="),
        ("foobar", "Zm9vYmFy"),
    ] {
        assert_eq!(super::base64(plain.as_bytes()), encoded);
    }
    let hostile = "ray \u{1b}]0;PWNED\u{7} \u{1b}[2J é…";
    let seq = super::osc52(hostile);
    assert!(seq.starts_with(b"\x1b]52;c;") && seq.ends_with(b"\x07"));
    let payload = &seq[7..seq.len() - 1];
    assert!(payload
        .iter()
        .all(|b| b.is_ascii_alphanumeric() || b"+/=".contains(b)));
    assert_eq!(payload.len() % 4, 0);
}

#[test]
fn screen_80x24() {
    let model = fixture();
    let ui = ui_for(&model, 80, 24);
    insta::assert_snapshot!(screen(&model, &ui));
}

#[test]
fn screen_120x40() {
    let model = fixture();
    let ui = ui_for(&model, 120, 40);
    insta::assert_snapshot!(screen(&model, &ui));
}

#[test]
fn screen_160x50() {
    let model = fixture();
    let ui = ui_for(&model, 160, 50);
    insta::assert_snapshot!(screen(&model, &ui));
}

#[test]
fn screen_60x15() {
    let model = fixture();
    let ui = ui_for(&model, 60, 15);
    insta::assert_snapshot!(screen(&model, &ui));
}

/// See: issue 19. Long values at every size: durations keep their unit (`117 s`, never a
/// cut `11`), every incident row shows its kind, the tables say their units, and what
/// does not fit is cut with a visible `…`.
#[test]
fn issue_19_long_values_read_at_every_size() {
    let model = long_fixture();
    assert!(model.detector.incidents.len() > 8, "many incidents");
    for (w, h) in [(60, 15), (80, 24), (120, 40), (160, 50)] {
        let mut ui = ui_for(&model, w, h);
        // The incidents focused and scrolled to the oldest, then back: rows at both ends.
        let text = screen(&model, &ui);
        insta::assert_snapshot!(format!("long_{w}x{h}"), text);
        assert!(text.contains("117 s"), "{w}x{h}: the 117 s maximum\n{text}");
        assert!(!text.contains("117047"), "{w}x{h}: raw ms\n{text}");
        assert!(
            text.contains("origin 5xx"),
            "{w}x{h}: the 5xx's scope\n{text}"
        );
        // Every incident row names its kind.
        let kinds = [
            "502", "524", "5xx", "down", "degr", "tunnel", "stale", "slow", "stall",
        ];
        let rows: Vec<&str> = text
            .lines()
            .filter(|l| l.contains("● ") || l.contains("○ "))
            .collect();
        assert!(!rows.is_empty(), "{w}x{h}\n{text}");
        for row in rows {
            let after_time = row.split_once(':').map_or("", |x| x.1);
            assert!(
                kinds.iter().any(|k| after_time.contains(&format!(" {k} "))),
                "{w}x{h}: a row without its kind: {row}"
            );
        }
        press(
            &mut ui,
            &model,
            &[Action::FocusNext, Action::FocusNext, Action::Bottom],
        );
        let text = screen(&model, &ui);
        assert!(
            text.contains("○ "),
            "{w}x{h}: closed incidents at the bottom\n{text}"
        );
    }
}

#[test]
fn screen_40x10_says_it_is_too_small() {
    let model = fixture();
    let mut ui = ui_for(&model, 40, 10);
    let text = screen(&model, &ui);
    assert!(text.contains("needs at least 60×15"), "{text}");
    insta::assert_snapshot!(text);
    // Keys still work (and nothing panics) at a size with no panels.
    let commands = press(&mut ui, &model, &[Action::Down, Action::Open, Action::Quit]);
    assert_eq!(commands, [Command::Quit]);
}

#[test]
fn every_size_from_1x1_draws_without_panicking() {
    let model = fixture();
    for (w, h) in [
        (1, 1),
        (59, 15),
        (60, 14),
        (60, 15),
        (99, 31),
        (100, 32),
        (119, 40),
        (300, 90),
    ] {
        let mut ui = ui_for(&model, w, h);
        screen(&model, &ui);
        press(&mut ui, &model, &[Action::FocusNext, Action::Open]);
        screen(&model, &ui);
    }
}

#[test]
fn help_overlay_lists_the_keys_and_any_key_closes_it() {
    let model = fixture();
    let mut ui = ui_for(&model, 120, 40);
    press(&mut ui, &model, &[Action::Help]);
    let text = screen(&model, &ui);
    insta::assert_snapshot!(text);
    assert!(text.contains("status filter"));
    // Other keys do nothing while the help is up…
    press(
        &mut ui,
        &model,
        &[Action::CycleUnit, Action::StartPrompt(PromptKind::Search)],
    );
    assert!(matches!(ui.overlay, Overlay::Help { .. }));
    assert!(ui.filter.unit.is_none() && ui.editing.is_none());
    // …and `?`, Esc and `q` close it (q does not quit from the help; Ctrl-C does).
    for close in [Action::Help, Action::Back, Action::Quit] {
        assert!(matches!(ui.overlay, Overlay::Help { .. }));
        assert_eq!(press(&mut ui, &model, &[close]), []);
        assert_eq!(ui.overlay, Overlay::None, "{close:?}");
        press(&mut ui, &model, &[Action::Help]);
    }
    press(&mut ui, &model, &[Action::Help]);
    assert_eq!(
        press(&mut ui, &model, &[Action::Interrupt]),
        [Command::Quit]
    );
}

/// See: issue 19. At 60×15 the help does not fit: it scrolls to its last line (the
/// definitions) and no further, and its title says how to scroll and close it.
#[test]
fn issue_19_help_scrolls_to_its_end_at_60x15() {
    let model = fixture();
    let mut ui = ui_for(&model, 60, 15);
    press(&mut ui, &model, &[Action::Help]);
    let first = screen(&model, &ui);
    assert!(first.contains("? Esc q close"), "{first}");
    assert!(first.contains("more below"), "{first}");
    assert!(!first.contains("scroll-back"), "{first}");
    let mut last = first.clone();
    for _ in 0..200 {
        press(&mut ui, &model, &[Action::Down]);
        last = screen(&model, &ui);
    }
    assert!(last.contains("(end)"), "{last}");
    assert!(last.contains("NO_COLOR"), "the last line is shown:\n{last}");
    insta::assert_snapshot!(last);
    let Overlay::Help { scroll } = ui.overlay else {
        panic!("help closed");
    };
    // Scrolled no further than the last page, and back at the top with g.
    press(&mut ui, &model, &[Action::Up]);
    assert!(matches!(ui.overlay, Overlay::Help { scroll: s } if s + 1 == scroll));
    press(&mut ui, &model, &[Action::Top]);
    assert_eq!(screen(&model, &ui), first);
}

#[test]
fn opening_an_incident_shows_its_evidence_lines() {
    let model = fixture();
    let mut ui = ui_for(&model, 120, 40);
    // Log → Requests → Incidents; the newest (stale sessions) is first, then the 502s.
    press(&mut ui, &model, &[Action::FocusNext, Action::FocusNext]);
    assert_eq!(ui.focus, Pane::Incidents);
    press(&mut ui, &model, &[Action::Down, Action::Open]);
    let Overlay::Incident { id, evidence, .. } = ui.overlay.clone() else {
        panic!("no incident view: {:?}", ui.overlay);
    };
    let incident = model
        .detector
        .incidents
        .iter()
        .find(|i| i.id == id)
        .unwrap();
    assert_eq!(incident.kind.as_str(), "bad_gateway");
    assert!(!evidence.is_empty());
    for &seq in &evidence {
        let rec = model.log.get(seq).unwrap();
        let cursors: Vec<_> = std::iter::once(&rec.event)
            .chain(&rec.continuation)
            .filter_map(|e| e.entry.cursor.as_ref())
            .collect();
        assert!(cursors.iter().any(|c| incident.evidence.contains(c)));
    }
    let text = screen(&model, &ui);
    assert!(text.contains("evidence:"), "{text}");
    assert!(
        text.contains("Unable to reach the origin service"),
        "{text}"
    );
    insta::assert_snapshot!(text);
    // `e` exports the incident on screen.
    assert_eq!(
        press(&mut ui, &model, &[Action::Snapshot]),
        [Command::Snapshot(Some(id))]
    );
    press(&mut ui, &model, &[Action::Back]);
    assert_eq!(ui.overlay, Overlay::None);
}

#[test]
fn opening_a_502_request_shows_only_the_tunnel_side() {
    let model = fixture();
    let mut ui = ui_for(&model, 120, 40);
    press(
        &mut ui,
        &model,
        &[Action::FocusNext, Action::CycleStatus, Action::CycleStatus],
    );
    assert_eq!(ui.filter.status.label(), "502");
    assert_eq!(ui.requests.keys.len(), 21, "the capture's 502s");
    press(&mut ui, &model, &[Action::Open]);
    let Overlay::Trace { origin, tunnel, .. } = &ui.overlay else {
        panic!("no request view: {:?}", ui.overlay);
    };
    assert!(origin.is_empty(), "the origin never saw a 502'd request");
    assert!(!tunnel.is_empty());
    let text = screen(&model, &ui);
    assert!(text.contains("(no line from this service)"), "{text}");
    insta::assert_snapshot!(text);
}

#[test]
fn opening_an_answered_request_shows_both_services_side_by_side() {
    let model = fixture();
    let mut ui = ui_for(&model, 160, 50);
    press(
        &mut ui,
        &model,
        &[Action::FocusNext, Action::StartPrompt(PromptKind::Filter)],
    );
    for c in "search_code".chars() {
        press(&mut ui, &model, &[Action::PromptInput(c)]);
    }
    press(
        &mut ui,
        &model,
        &[Action::PromptCommit, Action::Top, Action::Open],
    );
    let Overlay::Trace { origin, tunnel, .. } = &ui.overlay else {
        panic!("no request view: {:?}", ui.overlay);
    };
    assert!(!origin.is_empty() && !tunnel.is_empty());
    let text = screen(&model, &ui);
    assert!(text.contains("sigil-mcp (origin)") && text.contains("cloudflared (tunnel)"));
    insta::assert_snapshot!(text);
}

#[test]
fn unit_filter_cycles_through_each_unit_and_applies_to_log_and_requests() {
    let model = fixture();
    let mut ui = ui_for(&model, 120, 40);
    let all_log = ui.log.keys.len();
    let all_requests = ui.requests.keys.len();
    for (unit, has_origin_traces) in [("sigil-mcp.service", true), ("cloudflared.service", false)] {
        press(&mut ui, &model, &[Action::CycleUnit]);
        assert_eq!(ui.filter.unit.as_ref().map(Unit::as_str), Some(unit));
        assert!(!ui.log.keys.is_empty() && ui.log.keys.len() < all_log);
        for &seq in &ui.log.keys {
            let rec = model.log.get(seq).unwrap();
            assert_eq!(rec.event.entry.unit.as_ref().map(Unit::as_str), Some(unit));
        }
        let requests: Vec<_> = ui
            .requests
            .keys
            .iter()
            .map(|&n| model.correlator.recent_by_ordinal(n).unwrap())
            .collect();
        if has_origin_traces {
            assert!(requests.iter().all(|t| t.origin.is_some()));
            assert!(
                requests.len() < all_requests,
                "502s never reached the origin"
            );
        } else {
            assert!(requests.iter().all(|t| t.tunnel.is_some()));
        }
        assert!(screen(&model, &ui).contains(&format!("unit {}", &unit[..unit.len() - 8])));
    }
    press(&mut ui, &model, &[Action::CycleUnit]);
    assert_eq!(ui.filter.unit, None);
    assert_eq!(ui.log.keys.len(), all_log);
}

#[test]
fn a_text_filter_finds_a_record_by_a_line_of_its_traceback() {
    let model = fixture();
    let mut ui = ui_for(&model, 120, 40);
    // A word only in a continuation line (the traceback's exception), not in any head.
    let (seq, word) = model
        .log
        .iter()
        .find_map(|r| {
            let last = r.continuation.last()?;
            let line = crate::text::sanitize_bytes(&last.entry.message).into_owned();
            let word =
                line.split(|c: char| !c.is_alphanumeric())
                    .filter(|w| w.len() > 6)
                    .find(|w| {
                        model.log.iter().all(|o| {
                            !crate::text::sanitize_bytes(&o.event.entry.message).contains(*w)
                        })
                    })?
                    .to_owned();
            Some((r.seq, word))
        })
        .expect("the capture has a traceback with a word of its own");
    press(&mut ui, &model, &[Action::StartPrompt(PromptKind::Filter)]);
    for c in word.chars() {
        press(&mut ui, &model, &[Action::PromptInput(c)]);
    }
    press(&mut ui, &model, &[Action::PromptCommit]);
    while ui.sync(&model) {}
    assert!(ui.log.keys.contains(&seq), "{word}: {:?}", ui.log.keys);
    assert!(ui
        .log
        .keys
        .iter()
        .all(|&k| model.log.get(k).is_some_and(|r| !r.continuation.is_empty())));
}

#[test]
fn a_bad_regex_shows_its_error_and_matches_as_text_until_fixed() {
    let model = fixture();
    let mut ui = ui_for(&model, 80, 24);
    press(&mut ui, &model, &[Action::StartPrompt(PromptKind::Filter)]);
    for c in "origin(".chars() {
        press(&mut ui, &model, &[Action::PromptInput(c)]);
    }
    let f = ui.filter.text.as_ref().unwrap();
    assert!(f.error.is_some(), "origin( is not a regex");
    // As text, "origin(" matches nothing in this capture.
    assert!(ui.log.keys.is_empty());
    let text = screen(&model, &ui);
    assert!(text.contains("bad regex"), "{text}");
    insta::assert_snapshot!(text);
    press(&mut ui, &model, &[Action::PromptInput(')')]);
    let f = ui.filter.text.as_ref().unwrap();
    assert!(f.error.is_none());
    assert!(
        !ui.log.keys.is_empty(),
        "origin() matches every line with 'origin'"
    );
    // Esc drops what was typed after `/`.
    press(&mut ui, &model, &[Action::PromptCancel]);
    assert!(ui.filter.text.is_none() && ui.editing.is_none());
}

#[test]
fn pause_freezes_the_view_while_the_model_changes() {
    let all = entries();
    let half = all.len() / 2;
    let mut model = model_of(all[..half].to_vec());
    let mut ui = ui_for(&model, 120, 40);
    press(&mut ui, &model, &[Action::TogglePause]);
    let before = screen(&model, &ui);
    let mut parser = Parser::new();
    for e in all[half..].iter().cloned() {
        model.apply(parser.parse(e));
    }
    ui.update(Action::Tick(end_of(&model)), &model);
    while ui.sync(&model) {}
    let after = screen(&model, &ui);
    // Below the header (whose clock and unit state stay live) nothing moved but the
    // incidents' counts (incidents are listed as they were, their figures stay live).
    let body = |s: &str| {
        let counts = regex::Regex::new(r"×[0-9]+").unwrap();
        let rest = s.lines().skip(2).collect::<Vec<_>>().join("\n");
        counts.replace_all(&rest, "×n").into_owned()
    };
    assert_eq!(body(&before), body(&after));
    assert!(after.contains("PAUSED"));
    let frozen = ui.log.keys.len();
    press(&mut ui, &model, &[Action::TogglePause]);
    while ui.sync(&model) {}
    assert!(ui.log.keys.len() > frozen, "resuming catches up");
    assert_ne!(body(&screen(&model, &ui)), body(&after));
}

#[test]
fn w_switches_the_latency_window_through_1m_5m_15m_and_all() {
    let model = fixture();
    let mut ui = ui_for(&model, 120, 40);
    assert_eq!(ui.window, LatencyWindow::FiveMinutes);
    let mut seen = Vec::new();
    for _ in 0..4 {
        press(&mut ui, &model, &[Action::CycleWindow]);
        seen.push(ui.window.label());
        assert!(screen(&model, &ui).contains(&format!("Latency {}", ui.window.label())));
    }
    assert_eq!(seen, ["15m", "all", "1m", "5m"]);
    press(&mut ui, &model, &[Action::CycleWindow, Action::CycleWindow]);
    assert_eq!(ui.window, LatencyWindow::All);
    assert_eq!(ui.derived.traffic.requests, model.stats.requests);
    assert_eq!(ui.derived.traffic.bad_gateway, 21);
    press(&mut ui, &model, &[Action::CycleWindow]);
    assert!(
        ui.derived.traffic.requests < model.stats.requests,
        "the last minute only"
    );
}

#[test]
fn the_log_follows_until_the_selection_moves_and_g_follows_again() {
    let model = fixture();
    let mut ui = ui_for(&model, 120, 40);
    assert!(ui.log.pos.follow);
    press(&mut ui, &model, &[Action::Up, Action::Up]);
    assert!(!ui.log.pos.follow);
    let selected = ui.log.selected_key(ui.viewport.log).unwrap();
    assert_eq!(Some(&selected), ui.log.keys.iter().rev().nth(2));
    press(&mut ui, &model, &[Action::Open]);
    assert!(matches!(ui.overlay, Overlay::Record { seq, .. } if seq == selected));
    press(&mut ui, &model, &[Action::Back, Action::Bottom]);
    assert!(ui.log.pos.follow);
}

#[test]
fn a_traceback_is_one_record_whose_detail_shows_every_line() {
    let model = fixture();
    let mut ui = ui_for(&model, 120, 40);
    let (pos, seq) = ui
        .log
        .keys
        .iter()
        .enumerate()
        .find(|(_, &s)| !model.log.get(s).unwrap().continuation.is_empty())
        .map(|(i, &s)| (i, s))
        .expect("the capture has a record with continuation lines");
    let up = ui.log.keys.len() - 1 - pos;
    for _ in 0..up {
        press(&mut ui, &model, &[Action::Up]);
    }
    press(&mut ui, &model, &[Action::Open]);
    assert_eq!(
        ui.overlay,
        Overlay::Record {
            seq,
            scroll: 0,
            page: 0
        }
    );
    let text = screen(&model, &ui);
    let rec = model.log.get(seq).unwrap();
    let last =
        crate::text::sanitize_bytes(&rec.continuation.last().unwrap().entry.message).into_owned();
    assert!(text.contains(last.trim()), "{text}");
    insta::assert_snapshot!(text);
}

#[test]
fn a_filter_change_shows_the_newest_matches_first_and_fills_in_the_rest() {
    // Enough records that one sync budget cannot re-filter them all.
    let mut all = Vec::new();
    for copy in 0..6 {
        for e in entries() {
            let mut e = e;
            e.realtime = Timestamp(e.realtime.0 + copy * 80_000_000);
            all.push(e);
        }
    }
    let mut model = model_of(all);
    model.finish();
    let mut ui = ui_for(&model, 120, 40);
    ui.update(Action::CycleUnit, &model);
    let newest_origin_line = model
        .log
        .iter()
        .rev()
        .find(|r| r.event.entry.unit.as_ref() == ui.filter.unit.as_ref())
        .map(|r| r.seq);
    assert_eq!(ui.log.keys.back().copied(), newest_origin_line);
    let partial = ui.log.keys.len();
    while ui.sync(&model) {}
    assert!(ui.log.keys.len() > partial, "older matches are added later");
    assert!(ui
        .log
        .keys
        .iter()
        .zip(ui.log.keys.iter().skip(1))
        .all(|(a, b)| a < b));
    let expected = model
        .log
        .iter()
        .filter(|r| r.event.entry.unit.as_ref() == ui.filter.unit.as_ref())
        .count();
    assert_eq!(ui.log.keys.len(), expected);
}

#[test]
fn hostile_log_text_is_drawn_escaped_never_raw() {
    let mut all = entries();
    let mut evil = all
        .iter()
        .find(|e| {
            e.unit
                .as_ref()
                .is_some_and(|u| u.as_str() == "sigil-mcp.service")
        })
        .unwrap()
        .clone();
    evil.message = Box::from(&b"hello \x1b]0;PWNED\x07 \x1b]52;c;SGVsbG8=\x07 \x1b[2J bye"[..]);
    evil.cursor = None;
    evil.realtime = all.last().unwrap().realtime;
    all.push(evil);
    let model = model_of(all);
    let ui = ui_for(&model, 120, 40);
    let text = screen(&model, &ui);
    assert!(!text.contains('\u{1b}') && !text.contains('\u{7}'));
    assert!(
        text.contains(r"hello \x1b]0;PWNED\x07 \x1b]52;c;SGVsbG8=\x07 \x1b[2J bye"),
        "{text}"
    );
}

/// issue 10: secrets the server logs are replaced by `<redacted>` on screen too (the
/// screen is shared, and screenshots end up in tickets).
#[test]
fn issue_10_secrets_in_log_lines_are_redacted_on_screen() {
    let mut all = entries();
    let mut secret = all
        .iter()
        .find(|e| {
            e.unit
                .as_ref()
                .is_some_and(|u| u.as_str() == "sigil-mcp.service")
        })
        .unwrap()
        .clone();
    secret.message = Box::from(
        &b"2026-11-24 21:20:26 [INFO] sigil_repos_mcp - Client Secret: SCREENSECRET0123456789"[..],
    );
    secret.cursor = None;
    secret.realtime = all.last().unwrap().realtime;
    all.push(secret);
    let model = model_of(all);
    let ui = ui_for(&model, 160, 50);
    let text = screen(&model, &ui);
    assert!(!text.contains("SCREENSECRET"), "{text}");
    assert!(text.contains("Client Secret: <redacted>"), "{text}");
}

/// A screen following the live journal, caught up.
fn live_ui(model: &Model, width: u16, height: u16) -> UiState {
    let mut ui = ui_for(model, width, height);
    ui.options.feed = Feed::Live;
    ui.input = InputState::Live;
    ui
}

/// Milliseconds to a timestamp (µs).
fn at_ms(ms: u64) -> Timestamp {
    Timestamp(ms * 1000)
}

/// See: issue 8. "Behind" needs both: entries waiting and an old newest entry. It shows at
/// 2 s, goes under 1 s (no flicker around one threshold), and goes when nothing has waited
/// for a second (a quiet journal is not "behind", however old its newest entry).
#[test]
fn issue_8_behind_shows_while_entries_wait_and_the_newest_is_old_with_hysteresis() {
    let model = fixture();
    let mut ui = live_ui(&model, 120, 40);
    // (wall clock ms, newest entry ms, entries queued, lag shown in ms)
    let steps: &[(u64, u64, u64, Option<u64>)] = &[
        (10_000, 9_500, 5_000, None),
        (11_000, 9_500, 5_000, None),
        (12_000, 9_900, 5_000, Some(2_100)),
        // Catching up: still shown between the thresholds…
        (12_500, 11_000, 4_000, Some(1_500)),
        // …gone under 1 s…
        (13_000, 12_100, 3_000, None),
        // …and not back until 2 s again.
        (14_000, 12_100, 3_000, None),
        (14_500, 12_400, 3_000, Some(2_100)),
        // The queue is empty for a moment (the reader is busy): still waiting.
        (15_000, 12_500, 0, Some(2_500)),
        // Nothing has waited for over a second: caught up, whatever the lag.
        (16_100, 12_500, 0, None),
        // A quiet journal: its newest entry is old, but nothing waits.
        (100_000, 16_000, 0, None),
    ];
    for &(now, newest, queued, want_ms) in steps {
        ui.observe_lag(at_ms(now), Some(at_ms(newest)), queued);
        let got_ms = ui.behind.map(|b| b.lag_us / 1000);
        assert_eq!(
            got_ms, want_ms,
            "at {now} ms, newest {newest} ms, {queued} queued"
        );
        if let Some(b) = ui.behind {
            assert_eq!(b.queued_entries, queued);
        }
    }
}

/// See: issue 8. History, replays and the first read of the journal have their own
/// clocks: an old newest entry there is not lag.
#[test]
fn issue_8_behind_is_only_measured_while_following_the_live_journal() {
    let model = fixture();
    for (feed, input) in [
        (Feed::History, InputState::Ended),
        (Feed::Replay("20x".into()), InputState::Live),
        (Feed::Live, InputState::Reading),
        (Feed::Live, InputState::Ended),
    ] {
        let mut ui = ui_for(&model, 120, 40);
        ui.options.feed = feed.clone();
        ui.input = input.clone();
        ui.observe_lag(at_ms(1_000_000), Some(at_ms(10_000)), 9_000);
        assert_eq!(ui.behind, None, "{feed:?} {input:?}");
    }
}

/// See: issue 8. The header says it right after the state label, at every width the
/// screen is drawn at.
#[test]
fn issue_8_the_header_shows_how_far_behind_and_how_much_is_queued() {
    let model = fixture();
    let end = end_of(&model);
    let after = |ms: u64| Timestamp(end.0 + ms * 1000);
    for (width, height) in [(160, 50), (80, 24), (60, 15)] {
        let mut ui = live_ui(&model, width, height);
        let text = screen(&model, &ui);
        assert!(!text.contains("behind"), "{text}");
        ui.observe_lag(after(4_250), Some(end), 9_216);
        let text = screen(&model, &ui);
        let header = text.lines().next().unwrap();
        assert!(
            // (At 60 columns the header's cut mark `…` follows it.)
            header.contains("● LIVE   behind 4.2 s · ≈9.2k queued"),
            "{width}x{height}:\n{text}"
        );
        ui.observe_lag(after(4_500), Some(after(4_200)), 0);
        ui.observe_lag(after(5_000), Some(after(4_900)), 0);
        assert!(!screen(&model, &ui).contains("behind"));
    }
}

/// Types `text` into the open prompt, then Enter.
fn type_and_enter(ui: &mut UiState, model: &Model, kind: PromptKind, text: &str) {
    press(ui, model, &[Action::StartPrompt(kind)]);
    for c in text.chars() {
        press(ui, model, &[Action::PromptInput(c)]);
    }
    press(ui, model, &[Action::PromptCommit]);
}

fn record_text(model: &Model, seq: u64) -> String {
    let rec = model.log.get(seq).unwrap();
    std::iter::once(&rec.event)
        .chain(&rec.continuation)
        .map(|e| crate::text::sanitize_bytes(&e.entry.message).into_owned())
        .collect::<Vec<_>>()
        .join("\n")
}

/// See: issue 19. `/` searches without filtering: every line stays, the newest match is
/// selected (the log was following), `N` goes to older matches and `n` back, each a
/// line that matches, wrapping at the ends; matches are highlighted where drawn.
#[test]
fn issue_19_search_selects_matches_and_n_and_shift_n_move_between_them() {
    let model = fixture();
    let mut ui = ui_for(&model, 120, 40);
    let all = ui.log.keys.len();
    type_and_enter(&mut ui, &model, PromptKind::Search, "healthz");
    assert_eq!(ui.log.keys.len(), all, "a search does not filter");
    let matches: Vec<u64> = ui
        .log
        .keys
        .iter()
        .copied()
        .filter(|&k| record_text(&model, k).to_lowercase().contains("healthz"))
        .collect();
    assert!(matches.len() > 3, "{matches:?}");
    let selected = |ui: &UiState| ui.log.selected_key(ui.viewport.log).unwrap();
    assert_eq!(selected(&ui), *matches.last().unwrap());
    // N: older, one match at a time.
    for want in matches.iter().rev().skip(1) {
        press(&mut ui, &model, &[Action::SearchPrev]);
        assert_eq!(selected(&ui), *want);
    }
    // Past the oldest: wraps to the newest, and says so.
    press(&mut ui, &model, &[Action::SearchPrev]);
    assert_eq!(selected(&ui), *matches.last().unwrap());
    assert!(
        ui.notice.as_deref().unwrap_or("").contains("wrapped"),
        "{:?}",
        ui.notice
    );
    // n: newer, wrapping to the oldest.
    press(&mut ui, &model, &[Action::SearchNext]);
    assert_eq!(selected(&ui), matches[0]);
    press(&mut ui, &model, &[Action::SearchNext]);
    assert_eq!(selected(&ui), matches[1]);
    // The selected row shows the match highlighted (reversed colours), nowhere else.
    let mut terminal = Terminal::new(TestBackend::new(120, 40)).unwrap();
    terminal.draw(|f| render(f, &model, &ui)).unwrap();
    let buf = terminal.backend().buffer();
    let hit = ui.theme().search_match();
    let mut highlighted = String::new();
    for y in 0..40 {
        for x in 0..120 {
            if buf[(x, y)].bg == hit.bg.unwrap() {
                highlighted.push_str(buf[(x, y)].symbol());
            }
        }
        highlighted.push('|');
    }
    let words: Vec<&str> = highlighted.split('|').filter(|s| !s.is_empty()).collect();
    assert!(!words.is_empty());
    assert!(
        words.iter().all(|w| w.eq_ignore_ascii_case("healthz")
            || w.to_lowercase().matches("healthz").count() > 1),
        "{words:?}"
    );
    // A search with no match says so and leaves the selection.
    let before = selected(&ui);
    type_and_enter(&mut ui, &model, PromptKind::Search, "no-such-text-anywhere");
    assert_eq!(selected(&ui), before);
    assert!(ui.notice.as_deref().unwrap_or("").contains("no match"));
    // c clears the search with the filters.
    press(&mut ui, &model, &[Action::Clear]);
    assert!(ui.search.is_none());
}

/// See: issue 19. `&` filters; `&!text` keeps exactly the lines `&text` drops.
#[test]
fn issue_19_a_negated_filter_keeps_exactly_what_the_filter_drops() {
    let model = fixture();
    let mut ui = ui_for(&model, 120, 40);
    let all: Vec<u64> = ui.log.keys.iter().copied().collect();
    type_and_enter(&mut ui, &model, PromptKind::Filter, "healthz");
    let kept: Vec<u64> = ui.log.keys.iter().copied().collect();
    let requests_kept = ui.requests.keys.len();
    press(&mut ui, &model, &[Action::Clear]);
    type_and_enter(&mut ui, &model, PromptKind::Filter, "!healthz");
    let negated: Vec<u64> = ui.log.keys.iter().copied().collect();
    assert!(!kept.is_empty() && !negated.is_empty());
    assert_eq!(kept.len() + negated.len(), all.len());
    assert!(negated.iter().all(|k| !kept.contains(k)));
    assert_eq!(
        ui.requests.keys.len() + requests_kept,
        model.correlator.recent.len()
    );
    assert!(screen(&model, &ui).contains("filter &!healthz"));
}

/// See: issue 19. `:` reads times as `--since` does (against the screen's clock) and
/// selects the first line at or after that time; a time outside what is held, or one
/// that cannot be read, is said in the status line.
#[test]
fn issue_19_colon_jumps_to_a_time_in_the_since_forms() {
    let model = fixture();
    let mut ui = ui_for(&model, 120, 40);
    let time_of = |k: u64| model.log.get(k).unwrap().event.entry.realtime;
    let end = end_of(&model);
    // 17:06:34 is the capture's end (UTC, the tests' time zone).
    for (input, target) in [
        ("17:06", Timestamp(end.0 - (end.0 % 60_000_000))),
        ("-30s", Timestamp(end.0 - 30_000_000)),
        ("1 min ago", Timestamp(end.0 - 60_000_000)),
        ("2026-11-25 17:05:44", Timestamp(1_795_626_344_000_000)),
    ] {
        type_and_enter(&mut ui, &model, PromptKind::Jump, input);
        let sel = ui.log.selected_key(ui.viewport.log).unwrap();
        let pos = ui.log.keys.iter().position(|&k| k == sel).unwrap();
        assert!(time_of(sel) >= target, "{input}");
        assert!(
            ui.log.keys.iter().take(pos).all(|&k| time_of(k) < target),
            "{input}: the first line at or after it"
        );
        assert!(!ui.log.pos.follow, "{input}");
        assert!(
            ui.notice.as_deref().unwrap_or("").starts_with("jumped to"),
            "{:?}",
            ui.notice
        );
    }
    type_and_enter(&mut ui, &model, PromptKind::Jump, "2020-01-01");
    assert_eq!(
        ui.log.selected_key(ui.viewport.log),
        ui.log.keys.front().copied()
    );
    assert!(ui
        .notice
        .as_deref()
        .unwrap_or("")
        .contains("before the oldest"));
    type_and_enter(&mut ui, &model, PromptKind::Jump, "+1h");
    assert!(ui.log.pos.follow);
    assert!(ui
        .notice
        .as_deref()
        .unwrap_or("")
        .contains("showing the newest"));
    type_and_enter(&mut ui, &model, PromptKind::Jump, "soon");
    assert!(ui
        .notice
        .as_deref()
        .unwrap_or("")
        .contains("cannot read \"soon\""));
    // The requests list jumps by its own times.
    press(&mut ui, &model, &[Action::FocusNext]);
    type_and_enter(&mut ui, &model, PromptKind::Jump, "17:06");
    let n = ui.requests.selected_key(ui.viewport.requests).unwrap();
    assert!(model.correlator.recent_by_ordinal(n).unwrap().start.0 >= end.0 - (end.0 % 60_000_000));
}

/// See: issue 19. `y` copies the selected request's ray id (`Y` its request id), the
/// selected log line, or the incident; the status line says what was copied.
#[test]
fn issue_19_y_copies_the_selection_and_says_what() {
    let model = fixture();
    let mut ui = ui_for(&model, 120, 40);
    press(&mut ui, &model, &[Action::FocusNext]);
    let n = ui.requests.selected_key(ui.viewport.requests).unwrap();
    let trace = model.correlator.recent_by_ordinal(n).unwrap();
    let ray = trace.ray.as_ref().unwrap().0.to_string();
    let rid = trace.request_id.as_ref().unwrap().0.to_string();
    assert_eq!(
        press(&mut ui, &model, &[Action::Copy]),
        [Command::Copy(ray.clone())]
    );
    let notice = ui.notice.clone().unwrap();
    assert!(
        notice.contains("copied ray id") && notice.contains(&ray),
        "{notice}"
    );
    assert_eq!(
        press(&mut ui, &model, &[Action::CopyRequestId]),
        [Command::Copy(rid)]
    );
    // From the request view, too.
    press(&mut ui, &model, &[Action::Open]);
    assert_eq!(
        press(&mut ui, &model, &[Action::Copy]),
        [Command::Copy(ray)]
    );
    press(&mut ui, &model, &[Action::Back]);
    // A log line: as the screen shows it.
    press(&mut ui, &model, &[Action::FocusPrev]);
    let seq = ui.log.selected_key(ui.viewport.log).unwrap();
    let line =
        crate::text::display_bytes(&model.log.get(seq).unwrap().event.entry.message).into_owned();
    assert_eq!(
        press(&mut ui, &model, &[Action::Copy]),
        [Command::Copy(line)]
    );
    assert!(ui.notice.as_deref().unwrap().contains("copied log line"));
    // An incident.
    press(&mut ui, &model, &[Action::FocusPrev]);
    let [Command::Copy(text)] = &press(&mut ui, &model, &[Action::Copy])[..] else {
        panic!("no copy");
    };
    assert!(text.contains("stale_sessions"), "{text}");
    // m: mouse capture off, then on.
    assert_eq!(
        press(&mut ui, &model, &[Action::ToggleMouse]),
        [Command::SetMouseCapture(false)]
    );
    assert!(screen(&model, &ui).contains("mouse capture off"));
    assert_eq!(
        press(&mut ui, &model, &[Action::ToggleMouse]),
        [Command::SetMouseCapture(true)]
    );
}

/// See: issue 19. With two hosts in the inputs, `H` cycles through them (log lines of
/// that host only) and back to all; with one, it says there is nothing to filter.
#[test]
fn issue_19_host_filter_cycles_through_the_hosts_in_the_inputs() {
    let one = fixture();
    let mut ui = ui_for(&one, 120, 40);
    press(&mut ui, &one, &[Action::CycleHost]);
    assert!(ui.filter.host.is_none());
    assert!(ui.notice.as_deref().unwrap().contains("one host"));
    // The same capture as if half of it came from a second machine.
    let mut all = entries();
    let half = all.len() / 2;
    for e in &mut all[half..] {
        let mut origin = (*e.origin).clone();
        origin.hostname = Some("second-host".into());
        e.origin = std::sync::Arc::new(origin);
    }
    let model = model_of(all);
    let mut ui = ui_for(&model, 160, 50);
    let total = ui.log.keys.len();
    assert!(screen(&model, &ui).contains("  H filters"));
    let mut seen = 0;
    for _ in 0..2 {
        press(&mut ui, &model, &[Action::CycleHost]);
        let host = ui.filter.host.clone().expect("a host");
        assert!(!ui.log.keys.is_empty());
        for &k in &ui.log.keys {
            let rec = model.log.get(k).unwrap();
            assert_eq!(
                rec.event.entry.origin.hostname.as_deref(),
                Some(host.as_str())
            );
        }
        seen += ui.log.keys.len();
        assert!(screen(&model, &ui).contains(&format!("host {host}")));
    }
    assert_eq!(seen, total);
    press(&mut ui, &model, &[Action::CycleHost]);
    assert!(ui.filter.host.is_none());
}

/// See: issue 19, point 6. Following a journal, windows end at the clock, not at the
/// newest entry: two hours of silence after the capture bring the rates and the window's
/// 502s to 0, the sparklines end in quiet slices, each unit says how long it has been
/// silent, and the incidents are closed by the clock. The whole run keeps its counts.
#[test]
fn issue_19_live_windows_slide_with_the_clock_and_silence_shows() {
    let mut model = model_of(entries());
    let end = end_of(&model);
    let mut ui = live_ui(&model, 160, 50);
    assert!(ui.derived.traffic.bad_gateway > 0 && ui.derived.rate_per_s > 0.0);
    let text = screen(&model, &ui);
    assert!(!text.contains("last line"), "{text}");

    // 30 s later: still in the 5 m window, no unit silent for a minute yet.
    let at = |s: u64| Timestamp(end.0 + s * 1_000_000);
    model.tick(at(30));
    ui.update(Action::Tick(at(30)), &model);
    assert_eq!(ui.derived.traffic.bad_gateway, 21);
    assert!(!screen(&model, &ui).contains("last line"));

    // Two hours of silence.
    model.tick(at(7_200));
    ui.update(Action::Tick(at(7_200)), &model);
    let d = &ui.derived;
    let w = &d.traffic;
    assert_eq!(
        (w.requests, w.bad_gateway, w.edge_timeout, w.errors_5xx),
        (0, 0, 0, 0)
    );
    assert!(d.rate_per_s.abs() < f64::EPSILON);
    assert_eq!(w.latency.count, 0);
    assert_eq!(w.latency.known, None, "nothing measured is unknown, not 0");
    let quiet = d.spark.iter().rev().take(10);
    assert!(quiet.clone().count() == 10 && quiet.clone().all(|p| p.requests == 0));
    let text = screen(&model, &ui);
    let header: String = text.lines().take(2).collect::<Vec<_>>().join("\n");
    assert!(header.contains("0.0 req/s"), "{header}");
    assert!(header.contains("origin 5xx 0 · 502 0 · 524 0"), "{header}");
    assert!(
        header.contains("sigil-mcp: last line 2.0 h ago")
            && header.contains("cloudflared: last line 2.0 h ago"),
        "{header}"
    );
    assert!(
        text.contains("no latency measured in this window"),
        "{text}"
    );
    assert!(
        model.detector.incidents.iter().all(|i| i.end.is_some()),
        "incidents close by the clock"
    );
    assert!(!text.contains("│● "), "no incident shown open:\n{text}");
    // The whole run still counts everything (5m → 15m → all).
    press(&mut ui, &model, &[Action::CycleWindow, Action::CycleWindow]);
    assert_eq!(ui.window, LatencyWindow::All);
    assert_eq!(ui.derived.traffic.requests, model.stats.requests);
    assert_eq!(ui.derived.traffic.bad_gateway, 21);
}

/// See: issue 19 (point 5). The header says how far back the screen reads, and `:` to a
/// time before that says how to read earlier.
#[test]
fn issue_19_the_header_says_how_far_back_the_screen_reads() {
    let model = model_of(entries());
    let end = end_of(&model);
    let mut ui = live_ui(&model, 160, 50);
    ui.options.reads_since = Some(Timestamp(end.0 - 15 * 60 * 1_000_000));
    ui.options.lookback_us = Some(15 * 60 * 1_000_000);
    let text = screen(&model, &ui);
    let header = text.lines().next().unwrap();
    assert!(
        header.contains("since 16:51:34 (15 min look-back)"),
        "{header}"
    );
    type_and_enter(&mut ui, &model, PromptKind::Jump, "16:00");
    let notice = ui.notice.clone().unwrap_or_default();
    assert!(
        notice.contains("before reading started (16:51:34)") && notice.contains("--since"),
        "{notice}"
    );
    ui.options.lookback_us = None;
    let text = screen(&model, &ui);
    assert!(
        text.lines().next().unwrap().contains("since 16:51:34 "),
        "{text}"
    );
}

/// See: issue 19 (point 5). Earlier history on demand: `:` to a time before where reading
/// started asks the loop to read again from there, and once that is read the jump is made.
#[test]
fn issue_19_a_jump_before_the_start_reads_again_from_there() {
    let from = Timestamp(1_795_626_360_000_000); // 17:06:00
    let target = Timestamp(1_795_626_344_000_000); // 17:05:44
    let since = |t: Timestamp| {
        let mut model = model_of(entries().into_iter().filter(|e| e.realtime >= t).collect());
        model.tick(end_of(&model));
        model
    };
    let model = since(from);
    let mut ui = live_ui(&model, 120, 40);
    ui.options.reads_since = Some(from);
    ui.options.can_read_earlier = true;
    press(&mut ui, &model, &[Action::StartPrompt(PromptKind::Jump)]);
    for c in "17:05:44".chars() {
        press(&mut ui, &model, &[Action::PromptInput(c)]);
    }
    assert_eq!(
        press(&mut ui, &model, &[Action::PromptCommit]),
        [Command::ReadFrom(target)]
    );
    assert!(ui
        .notice
        .as_deref()
        .unwrap()
        .contains("reading from 17:05:44"));
    // What the loop does: a fresh model read from the target, then caught up.
    ui.restart_reading(target);
    assert!(ui.log.keys.is_empty() && ui.input == InputState::Reading);
    let model = since(target);
    ui.input = InputState::Live;
    ui.on_caught_up(&model);
    let sel = ui.log.selected_key(ui.viewport.log).unwrap();
    assert_eq!(sel, ui.log.keys[0], "the first line read is the target's");
    assert!(model.log.get(sel).unwrap().event.entry.realtime >= target);
    assert!(screen(&model, &ui)
        .lines()
        .next()
        .unwrap()
        .contains("since 17:05:44"));
    // Inputs that cannot be read again (a pipe, a replay) say so instead.
    ui.options.can_read_earlier = false;
    type_and_enter(&mut ui, &model, PromptKind::Jump, "17:00");
    assert!(ui
        .notice
        .as_deref()
        .unwrap()
        .contains("before reading started"));
}

/// See: issue 21 (point 3). `:` reads a time in the screen's zone with its DST rules, not
/// at the offset of the moment the screen started: with `Europe/Berlin` and the clock in
/// November (CET, UTC+1), a time in October before the change (CEST, UTC+2) is two hours
/// ahead of UTC, one in November one hour; a fixed offset would put the October one an
/// hour late.
#[test]
fn issue_21_colon_reads_times_in_the_zone_across_a_dst_change() {
    let berlin = jiff::tz::TimeZone::get("Europe/Berlin").expect("the system's tzdb");
    let model = fixture();
    let mut ui = live_ui(&model, 120, 40);
    ui.options.time_zone = berlin.clone();
    ui.options.utc_offset_s = 3600; // CET, the offset when the screen started
                                    // Everything is before where reading started, so the exact target comes back.
    ui.options.reads_since = Some(end_of(&model));
    ui.options.can_read_earlier = true;
    let mut checked_by_zone = 0;
    let utc_us = |s: &str| {
        let t: jiff::Timestamp = s.parse().unwrap();
        Timestamp(u64::try_from(t.as_microsecond()).unwrap())
    };
    for (input, expected) in [
        // Summer time (CEST), before the change on 2026-10-25.
        ("2026-10-20 12:00", utc_us("2026-10-20T10:00:00Z")),
        ("2026-10-25 01:30", utc_us("2026-10-24T23:30:00Z")),
        // Winter time (CET), the clock's own offset.
        ("2026-10-26 12:00", utc_us("2026-10-26T11:00:00Z")),
        ("2026-11-25 18:05:44", utc_us("2026-11-25T17:05:44Z")),
        // A zone named in the input still wins; relative times ignore the zone.
        ("2026-10-20 12:00 UTC", utc_us("2026-10-20T12:00:00Z")),
        ("-30s", Timestamp(end_of(&model).0 - 30_000_000)),
    ] {
        press(&mut ui, &model, &[Action::StartPrompt(PromptKind::Jump)]);
        for c in input.chars() {
            press(&mut ui, &model, &[Action::PromptInput(c)]);
        }
        assert_eq!(
            press(&mut ui, &model, &[Action::PromptCommit]),
            [Command::ReadFrom(expected)],
            "{input}"
        );
        // The same wall-clock time read by the zone's rules, checked independently of
        // the parser: the summer times are an hour earlier than the fixed offset says.
        if let Ok(civil) = input.parse::<jiff::civil::DateTime>() {
            let by_zone = civil.to_zoned(berlin.clone()).unwrap().timestamp();
            assert_eq!(
                Timestamp(u64::try_from(by_zone.as_microsecond()).unwrap()),
                expected
            );
            checked_by_zone += 1;
        }
    }
    assert_eq!(
        checked_by_zone, 4,
        "the four local times were checked against the zone"
    );
}

/// The capture plus one origin line of `len` bytes: words, a bearer token across the
/// first page's edge, and `THE END` last.
fn model_with_giant_line(len: usize) -> (Model, Vec<u8>) {
    let mut all = entries();
    let mut giant = all
        .iter()
        .rev()
        .find(|e| e.unit.as_ref() == Some(&units()[0]))
        .cloned()
        .expect("an origin line");
    let mut msg = b"GIANT start ".to_vec();
    let mut i = 0u64;
    while msg.len() < len - 20 {
        if msg.len() > 4070 && msg.len() < 4080 {
            msg.extend_from_slice(b"Authorization: Bearer ZQ99giantTokenAcrossThePageEdge ");
        }
        msg.extend_from_slice(format!("w{i} ").as_bytes());
        i += 1;
    }
    msg.extend_from_slice(b"THE END");
    giant.message = msg.clone().into_boxed_slice();
    giant.cursor = None;
    giant.realtime = Timestamp(giant.realtime.0 + 1_000_000);
    all.push(giant);
    let mut model = model_of(all);
    model.finish();
    (model, msg)
}

/// The `bytes A–B of N` mark in the record view's title, as numbers.
fn page_mark(text: &str) -> Option<(usize, usize, usize)> {
    let at = text.find("bytes ")?;
    let rest = &text[at + 6..];
    let (a, rest) = rest.split_once('–')?;
    let (b, rest) = rest.split_once(" of ")?;
    let n: String = rest.chars().take_while(char::is_ascii_digit).collect();
    Some((a.parse().ok()?, b.parse().ok()?, n.parse().ok()?))
}

/// See: issue 17 point 4. A 12 MB line is cut to the log panel's width (its end never
/// drawn), and its record view pages through it: a position mark, ← → move a page, the
/// pages meet, End shows the last one, Home the first; a token cut by a page edge shows
/// on neither page.
#[test]
fn issue_17_a_huge_line_is_cut_in_the_log_and_paged_in_its_view() {
    let (model, msg) = model_with_giant_line(12_000_000);
    let mut ui = ui_for(&model, 120, 40);
    let text = screen(&model, &ui);
    let row = text
        .lines()
        .find(|l| l.contains("GIANT start"))
        .unwrap_or_else(|| panic!("the line in the log panel:\n{text}"));
    assert!(row.contains("…") && !text.contains("THE END"), "{row}");

    press(&mut ui, &model, &[Action::Open]);
    assert!(matches!(ui.overlay, Overlay::Record { page: 0, .. }));
    let first = screen(&model, &ui);
    let (a, b, n) = page_mark(&first).unwrap_or_else(|| panic!("a position mark:\n{first}"));
    assert_eq!((a, n), (1, msg.len()), "{first}");
    assert!(b > 3000 && b <= 4096, "{b}");
    assert!(
        first.contains("GIANT start") && first.contains("← → page"),
        "{first}"
    );

    let mut pages = vec![first];
    let mut end = b;
    for _ in 0..3 {
        press(&mut ui, &model, &[Action::FocusNext]);
        let text = screen(&model, &ui);
        let (a, b, _) = page_mark(&text).unwrap_or_else(|| panic!("{text}"));
        assert_eq!(
            a,
            end + 1,
            "the next page starts where the last ended:\n{text}"
        );
        end = b;
        pages.push(text);
    }
    for text in &pages {
        assert!(
            !text.contains("ZQ99giant"),
            "a token cut by a page edge:\n{text}"
        );
    }
    // The second page starts inside the token: it shows the mark, not the token's rest.
    assert!(pages[1].contains("<redacted>"), "{}", pages[1]);

    press(&mut ui, &model, &[Action::Bottom]);
    let last = screen(&model, &ui);
    assert!(last.contains("THE END"), "{last}");
    let (_, b, _) = page_mark(&last).unwrap();
    assert_eq!(b, msg.len());
    // Past the last page stays there.
    press(&mut ui, &model, &[Action::FocusNext]);
    assert_eq!(
        page_mark(&screen(&model, &ui)).map(|m| m.1),
        Some(msg.len())
    );
    press(&mut ui, &model, &[Action::Top, Action::FocusPrev]);
    let text = screen(&model, &ui);
    assert_eq!(page_mark(&text).map(|m| m.0), Some(1), "{text}");
    assert!(text.contains("GIANT start"));
    press(&mut ui, &model, &[Action::Back]);
    assert_eq!(ui.overlay, Overlay::None);
}

/// See: issue 16 point 13. Two hosts with the same traffic (a directory gathered from a
/// fleet): the header shows each host's 502s, 524s and aborts next to the total, each
/// equal to what that host's journal alone gives, and the total (502 42) is their sum.
#[test]
fn issue_16_the_header_shows_each_hosts_figures_next_to_the_total() {
    let alone = fixture();
    let one = alone
        .per_host
        .iter()
        .find(|h| h.host.is_some())
        .expect("the capture's host");
    let host_a = one.host.clone().unwrap();
    let model = two_hosts();
    let mut ui = ui_for(&model, 160, 50);
    let text = screen(&model, &ui);
    let header = text.lines().nth(2).unwrap();
    for host in [&*host_a, "mcp-b"] {
        let want = format!(
            "{host} 502 {} · 524 {} · abort {}",
            one.bad_gateway, one.edge_timeout, one.client_abort
        );
        assert!(header.contains(&want), "{want:?} in the header:\n{header}");
    }
    assert!(one.bad_gateway > 0, "the capture has 502s to count");
    assert!(header.contains("hosts (whole run)") && header.contains("H filters"));
    insta::assert_snapshot!(text);
    // `H` takes the hosts in the order the row shows them.
    let first = header.split_whitespace().nth(3).unwrap();
    press(&mut ui, &model, &[Action::CycleHost]);
    assert_eq!(ui.filter.host.as_deref(), Some(first));
}

/// See: issue 21 point 6. One summary feeds the screen and the report: over the whole
/// run the header's 5xx, 502 and 524 are the report's, its latency count is the report's,
/// and each host's row in the header (two hosts here) gives the report's figures for
/// that host.
#[test]
fn issue_21_the_header_over_the_whole_run_shows_the_reports_figures() {
    let model = two_hosts();
    let mut ui = ui_for(&model, 200, 50);
    press(&mut ui, &model, &[Action::CycleWindow, Action::CycleWindow]);
    assert_eq!(ui.window, LatencyWindow::All);
    let report = crate::view::report::to_json(&model);
    let text = screen(&model, &ui);
    let figures = text.lines().nth(1).unwrap();
    let want = format!(
        "origin 5xx {} · 502 {} · 524 {}",
        report["origin"]["errors_5xx"],
        report["tunnel"]["bad_gateway"],
        report["tunnel"]["edge_timeout"]
    );
    assert!(
        figures.contains(&want),
        "{want:?} in the header:\n{figures}"
    );
    assert!(
        report["tunnel"]["bad_gateway"].as_u64() > Some(0),
        "502s to count"
    );
    assert_eq!(
        Some(ui.derived.traffic.latency.count),
        report["requests"]["latency_ms"]["count"].as_u64()
    );
    let hosts_row = text.lines().nth(2).unwrap();
    let hosts = report["hosts"].as_array().unwrap();
    assert!(hosts.iter().filter(|h| h["host"].is_string()).count() >= 2);
    for h in hosts.iter().filter(|h| h["host"].is_string()) {
        let want = format!(
            "{} 502 {} · 524 {} · abort {}",
            h["host"].as_str().unwrap(),
            h["bad_gateway"],
            h["edge_timeout"],
            h["client_abort"]
        );
        assert!(
            hosts_row.contains(&want),
            "{want:?} in the hosts row:\n{hosts_row}"
        );
    }
}
