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
use crate::source::journalctl::Decoder;
use crate::source::{RawEntry, Timestamp, Unit, UnitFilter};

use super::action::Action;
use super::render::render;
use super::state::{Command, Feed, InputState, LatencyWindow, Overlay, Pane, UiOptions, UiState};
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

fn end_of(model: &Model) -> Timestamp {
    model.window.map_or(Timestamp(0), |(_, b)| b)
}

/// The UI after reading `model` as history, at `width`×`height`.
fn ui_for(model: &Model, width: u16, height: u16) -> UiState {
    let mut ui = UiState::new(UiOptions {
        theme: Theme::new(ThemeKind::Dark),
        inputs: vec!["journal directory /fixture".into()],
        units: units(),
        feed: Feed::History,
        utc_offset_s: 0,
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
    press(&mut ui, &model, &[Action::Down]);
    assert_eq!(ui.overlay, Overlay::None);
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
        press(&mut ui, &model, &[Action::Export]),
        [Command::Export(Some(id))]
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
    press(&mut ui, &model, &[Action::FocusNext, Action::StartFilter]);
    for c in "search_code".chars() {
        press(&mut ui, &model, &[Action::FilterInput(c)]);
    }
    press(
        &mut ui,
        &model,
        &[Action::FilterCommit, Action::Top, Action::Open],
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
    press(&mut ui, &model, &[Action::StartFilter]);
    for c in word.chars() {
        press(&mut ui, &model, &[Action::FilterInput(c)]);
    }
    press(&mut ui, &model, &[Action::FilterCommit]);
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
    press(&mut ui, &model, &[Action::StartFilter]);
    for c in "origin(".chars() {
        press(&mut ui, &model, &[Action::FilterInput(c)]);
    }
    let f = ui.filter.text.as_ref().unwrap();
    assert!(f.error.is_some(), "origin( is not a regex");
    // As text, "origin(" matches nothing in this capture.
    assert!(ui.log.keys.is_empty());
    let text = screen(&model, &ui);
    assert!(text.contains("bad regex"), "{text}");
    insta::assert_snapshot!(text);
    press(&mut ui, &model, &[Action::FilterInput(')')]);
    let f = ui.filter.text.as_ref().unwrap();
    assert!(f.error.is_none());
    assert!(
        !ui.log.keys.is_empty(),
        "origin() matches every line with 'origin'"
    );
    // Esc drops what was typed after `/`.
    press(&mut ui, &model, &[Action::FilterCancel]);
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
    // Below the header (whose clock and unit state stay live) nothing moved.
    let body = |s: &str| s.lines().skip(2).collect::<Vec<_>>().join("\n");
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
    assert_eq!(ui.derived.requests, model.stats.requests);
    assert_eq!(ui.derived.bad_gateway, 21);
    press(&mut ui, &model, &[Action::CycleWindow]);
    assert!(
        ui.derived.requests < model.stats.requests,
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
    assert_eq!(ui.overlay, Overlay::Record { seq, scroll: 0 });
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
            header.contains("● LIVE   behind 4.2 s · ≈9.2k queued "),
            "{width}x{height}:\n{text}"
        );
        ui.observe_lag(after(4_500), Some(after(4_200)), 0);
        ui.observe_lag(after(5_000), Some(after(4_900)), 0);
        assert!(!screen(&model, &ui).contains("behind"));
    }
}
