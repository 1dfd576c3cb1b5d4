//! The header (state, how far behind the live journal the screen is, inputs, units, the window's figures, tunnel and origin state, gaps,
//! secrets) and the one-line hint bar (keys, the filter being typed, notices).

use ratatui::layout::{Alignment, Rect};
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use crate::model::detect::OriginState;
use crate::model::Model;
use crate::text;
use crate::view::summary::HostFigures;

use super::super::action::HINTS;
use super::super::state::{Behind, Feed, InputState, PromptKind, StatusFilter, UiState};
use super::{clock_s, duration, fit_spans};

/// The state label: what the screen shows right now.
fn state_label(ui: &UiState) -> (String, ratatui::style::Style) {
    let t = ui.theme();
    if ui.paused.is_some() {
        return (
            " ⏸ PAUSED ".into(),
            t.warn().add_modifier(Modifier::REVERSED | Modifier::BOLD),
        );
    }
    match (&ui.input, &ui.options.feed) {
        (InputState::Failed(_), _) => (
            " ✕ INPUT FAILED ".into(),
            t.bad().add_modifier(Modifier::REVERSED),
        ),
        (InputState::Ended, Feed::Replay(_)) => (
            " ■ replay finished ".into(),
            t.dim().add_modifier(Modifier::REVERSED),
        ),
        (InputState::Ended, _) => (
            " ■ end of input ".into(),
            t.dim().add_modifier(Modifier::REVERSED),
        ),
        (_, Feed::Replay(speed)) => (
            format!(" ▶ REPLAY {speed} "),
            t.good().add_modifier(Modifier::REVERSED | Modifier::BOLD),
        ),
        (InputState::Reading, _) => (
            " … reading ".into(),
            t.dim().add_modifier(Modifier::REVERSED),
        ),
        (InputState::Live, Feed::Live) => (
            " ● LIVE ".into(),
            t.good().add_modifier(Modifier::REVERSED | Modifier::BOLD),
        ),
        (InputState::Live, _) => (
            " ● following ".into(),
            t.good().add_modifier(Modifier::REVERSED),
        ),
    }
}

/// `behind 4.2 s · ≈9.2k queued`: the lag to one decimal, the queue estimate in short
/// form (`≈` because it is counted in batches; see the live loop, `app::live`).
pub(crate) fn behind_label(b: Behind) -> String {
    let lag_s = b.lag_us as f64 / 1e6;
    let queued = match b.queued_entries {
        0 => String::new(),
        n if n < 1_000 => format!(" · ≈{n} queued"),
        n if n < 1_000_000 => format!(" · ≈{:.1}k queued", n as f64 / 1e3),
        n => format!(" · ≈{:.1}M queued", n as f64 / 1e6),
    };
    format!(" behind {lag_s:.1} s{queued} ")
}

/// The active filters in a few words (`unit sigil-mcp · ≥warn · 502 · &err`).
pub(crate) fn filter_summary(ui: &UiState) -> String {
    let f = &ui.filter;
    let mut parts = Vec::new();
    if let Some(u) = &f.unit {
        parts.push(format!("unit {}", u.short()));
    }
    if let Some(h) = &f.host {
        parts.push(format!("host {}", text::sanitize(h)));
    }
    if let Some(l) = f.min_level {
        parts.push(format!("≥{}", l.as_str()));
    }
    if f.status != StatusFilter::Any {
        parts.push(f.status.label().to_owned());
    }
    if let Some(t) = &f.text {
        // As typed after `&` (`&!text` hides what matches).
        parts.push(format!("&{}", text::sanitize(&t.pattern)));
    }
    parts.join(" · ")
}

/// A list panel's title tail: ` · search /pattern/` (then `keys`, the keys that move
/// between matches, if the panel has them) and ` · filter …` ([`filter_summary`]), each
/// only when set.
pub(crate) fn search_and_filters(ui: &UiState, keys: &str) -> String {
    let mut tail = ui.search.as_ref().map_or_else(String::new, |s| {
        format!(" · search /{}/{keys}", text::sanitize(&s.pattern))
    });
    let filters = filter_summary(ui);
    if !filters.is_empty() {
        tail.push_str(" · filter ");
        tail.push_str(&filters);
    }
    tail
}

/// Each host's failures next to the total (issue 16 point 13), when the inputs hold
/// several hosts, on a row of their own under the totals:
/// ` hosts (whole run)  mcp-a 502 3 · 524 1 · abort 2 │ mcp-b …  H filters`.
/// The figures are the report's ([`Summary`](crate::view::summary::Summary)'s, taken on the
/// tick with the window's) and count the whole run (the header's total is the latency
/// window's), so the label says so. A host whose name does not fit is cut with `…` like
/// the rest of the row.
fn host_figures(model: &Model, ui: &UiState) -> Vec<Span<'static>> {
    let t = ui.theme();
    let mut spans = vec![Span::styled(" hosts (whole run)  ", t.dim())];
    for (i, host) in model.entries.by_host.keys().enumerate() {
        if i > 0 {
            spans.push(Span::styled(" │ ", t.dim()));
        }
        let figures = ui.derived.summary.host(host);
        let n = |f: fn(&HostFigures) -> u64| figures.map_or(0, f);
        let is_selected = ui.filter.host.as_deref() == Some(host);
        let name_style = if is_selected { t.key() } else { t.text() };
        spans.push(Span::styled(text::sanitize(host).into_owned(), name_style));
        spans.push(Span::styled(
            format!(
                " 502 {} · 524 {} · abort {}",
                n(|h| h.bad_gateway),
                n(|h| h.edge_timeout),
                n(|h| h.client_abort)
            ),
            t.text(),
        ));
    }
    spans.push(Span::styled("  H filters", t.dim()));
    spans
}

pub(crate) fn render_header(frame: &mut Frame, area: Rect, model: &Model, ui: &UiState) {
    let t = ui.theme();
    let (label, label_style) = state_label(ui);
    let units: Vec<&str> = ui
        .options
        .units
        .iter()
        .map(crate::source::Unit::short)
        .collect();
    let mut first = vec![
        Span::styled(" sigil-top ", t.title().add_modifier(Modifier::REVERSED)),
        Span::raw(" "),
        Span::styled(label, label_style),
        Span::raw(" "),
    ];
    if let Some(b) = ui.behind {
        // Right after the state label, so even a narrow header shows it.
        first.push(Span::styled(
            behind_label(b),
            t.warn().add_modifier(Modifier::REVERSED | Modifier::BOLD),
        ));
        first.push(Span::raw(" "));
    }
    // How far back reading started (the live screen's look-back, or --since).
    let mut inputs = ui.options.inputs.join(", ");
    if let Some(from) = ui.options.reads_since {
        inputs = match ui.options.lookback_us {
            Some(back) => format!(
                "{inputs} since {} ({} look-back)",
                clock_s(from, ui),
                duration(back)
            ),
            None => format!("{inputs} since {}", clock_s(from, ui)),
        };
    }
    if ui.is_live() {
        // Following the journal: how long each unit has been silent comes first (silence
        // is a symptom: cloudflared at info writes nothing for healthy requests, nothing
        // at all when the edge cannot reach it).
        first.extend(unit_silences(ui));
        first.push(Span::raw("  "));
        first.push(Span::styled(text::sanitize(&inputs).into_owned(), t.text()));
    } else {
        first.extend([
            Span::styled(text::sanitize(&inputs).into_owned(), t.text()),
            Span::styled(format!("  {}", units.join(" · ")), t.dim()),
        ]);
    }

    let filters = filter_summary(ui);
    if !filters.is_empty() {
        first.push(Span::styled("  filter ", t.dim()));
        first.push(Span::styled(filters, t.key()));
    }
    let clock = if ui.now.0 == 0 {
        String::new()
    } else {
        format!(" {} ", clock_s(ui.now, ui))
    };
    let row0 = Rect::new(area.x, area.y, area.width, 1.min(area.height));
    let room = usize::from(area.width).saturating_sub(clock.chars().count());
    frame.render_widget(
        Paragraph::new(Line::from(fit_spans(first, room))).style(t.bar()),
        row0,
    );
    frame.render_widget(
        Paragraph::new(Span::styled(clock, t.title())).alignment(Alignment::Right),
        row0,
    );

    let second = figures_line(model, ui, area.width < WIDE_HEADER_COLS);
    let second = Line::from(fit_spans(second.spans, usize::from(area.width)));
    if area.height > 1 {
        frame.render_widget(
            Paragraph::new(second),
            Rect::new(area.x, area.y + 1, area.width, 1),
        );
    }
    if area.height > 2 && model.entries.by_host.len() > 1 {
        let third = fit_spans(host_figures(model, ui), usize::from(area.width));
        frame.render_widget(
            Paragraph::new(Line::from(third)),
            Rect::new(area.x, area.y + 2, area.width, 1),
        );
    }
}

/// A unit silent this long (or more) shows how long: `sigil-mcp: last line 2.0 h ago`.
pub(crate) const SILENT_AFTER_US: u64 = 60_000_000;

/// `sigil-mcp · cloudflared: last line 2.0 h ago`: each watched unit, with how long since
/// its last line when that is [`SILENT_AFTER_US`] or more (or `no line read`).
fn unit_silences(ui: &UiState) -> Vec<Span<'static>> {
    let t = ui.theme();
    let mut spans = Vec::new();
    for (i, (unit, ago)) in ui.unit_silences().into_iter().enumerate() {
        if i > 0 {
            spans.push(Span::styled(" · ", t.dim()));
        }
        let name = unit.short().to_owned();
        match ago {
            None => spans.push(Span::styled(format!("{name}: no line read"), t.warn())),
            Some(us) if us >= SILENT_AFTER_US => spans.push(Span::styled(
                format!("{name}: last line {} ago", duration(us)),
                t.warn(),
            )),
            Some(_) => spans.push(Span::styled(name, t.dim())),
        }
    }
    spans
}

/// From this width the figures line spells things out (`origin down since 17:06:34 (2s)`).
const WIDE_HEADER_COLS: u16 = 110;

/// The header's second line: the window's figures, tunnel, origin, secrets and gaps, in
/// that order of importance (what does not fit is cut at the right).
fn figures_line(model: &Model, ui: &UiState, is_narrow: bool) -> Line<'static> {
    let t = ui.theme();
    let sep = || Span::styled(" │ ", t.dim());
    let d = &ui.derived.traffic;
    let count = |n: u64, bad: ratatui::style::Style| if n > 0 { bad } else { t.dim() };
    let dot = if is_narrow { "·" } else { " · " };
    let mut spans = vec![
        Span::styled(format!(" {} ", ui.window.label()), t.title()),
        Span::styled(
            format!("{:.1}", ui.derived.rate_per_s),
            t.text().add_modifier(Modifier::BOLD),
        ),
        Span::styled(if is_narrow { "/s " } else { " req/s  " }, t.dim()),
        // Scopes in the words: the origin's own 5xx answers; the 502s and 524s the edge
        // gave visitors when the tunnel failed (the origin never saw those).
        Span::styled("origin ", t.dim()),
        Span::styled(
            format!("5xx {}", d.errors_5xx),
            count(d.errors_5xx, t.bad()),
        ),
        Span::styled(dot, t.dim()),
        Span::styled(
            format!("502 {}", d.bad_gateway),
            count(d.bad_gateway, t.bad()),
        ),
        Span::styled(dot, t.dim()),
        Span::styled(
            format!("524 {}", d.edge_timeout),
            count(d.edge_timeout, t.bad()),
        ),
        sep(),
    ];
    let det = &model.detector.state;
    if det.tunnel_state_known {
        let up = det.registered.len();
        let peak = ui.tunnel_peak.max(up);
        let style = if up == 0 {
            t.bad()
        } else if up < peak {
            t.warn()
        } else {
            t.good()
        };
        spans.push(Span::styled(format!("tunnel {up}/{peak}"), style));
    } else {
        spans.push(Span::styled("tunnel ?", t.dim()));
    }
    spans.push(sep());
    spans.push(origin_state(model, ui, is_narrow));
    // Gaps are shown, not hidden: lines no parser understood and problems the inputs
    // reported (skipped or cut records). Lines that left the scroll-back ring are not
    // lost (every figure counted them): the header says how much scroll-back there is.
    spans.push(sep());
    let gaps: Vec<String> = [
        (model.entries.unparsed, "unparsed"),
        (ui.warnings, "input warnings"),
    ]
    .iter()
    .filter(|(n, _)| *n > 0)
    .map(|(n, what)| format!("{n} {what}"))
    .collect();
    if gaps.is_empty() {
        spans.push(Span::styled("no gaps", t.dim()));
    } else {
        spans.push(Span::styled(format!("gaps: {}", gaps.join(", ")), t.warn()));
    }
    if model.log.dropped > 0 {
        spans.push(sep());
        spans.push(Span::styled(
            format!("scroll-back holds the last {} lines", model.log.len()),
            t.dim(),
        ));
    }
    if !model.detector.findings.is_empty() {
        spans.push(sep());
        let kinds: Vec<&str> = model.detector.findings.keys().map(|k| k.as_str()).collect();
        let text = if is_narrow {
            "⚠ secrets in logs".to_owned()
        } else {
            format!("⚠ secrets in logs: {}", kinds.join(","))
        };
        spans.push(Span::styled(text, t.bad().add_modifier(Modifier::REVERSED)));
    }
    Line::from(spans)
}

/// The origin's state in the header: `origin up`, `origin down since 17:06:34 (2s)`
/// (only how long when narrow), `origin ?` while unknown.
fn origin_state(model: &Model, ui: &UiState, is_narrow: bool) -> Span<'static> {
    let t = ui.theme();
    let now = ui.now;
    let since = |s: crate::source::Timestamp| {
        let how_long = duration(now.saturating_since_us(s));
        if is_narrow {
            how_long
        } else {
            format!("since {} ({how_long})", clock_s(s, ui))
        }
    };
    let (origin, style) = match model.detector.state.origin_state {
        OriginState::Unknown => ("origin ?".to_owned(), t.dim()),
        OriginState::Up => ("origin up".to_owned(), t.good()),
        OriginState::Stopping { since: s, .. } => {
            (format!("origin stopping {}", since(s)), t.warn())
        }
        OriginState::Starting { since: s, .. } => {
            (format!("origin restarting {}", since(s)), t.warn())
        }
        OriginState::Down { since: s, crashed } => (
            format!(
                "origin {} {}",
                if crashed { "CRASHED" } else { "down" },
                since(s)
            ),
            t.bad(),
        ),
    };
    Span::styled(origin, style)
}

pub(crate) fn render_hint(frame: &mut Frame, area: Rect, _model: &Model, ui: &UiState) {
    let t = ui.theme();
    let line = if let Some(edit) = &ui.editing {
        let help = match edit.kind {
            PromptKind::Search => "  Enter find · Esc undo · then n N",
            PromptKind::Filter => "  Enter keep · Esc undo · !text hides matches",
            PromptKind::Jump => "  Enter jump · Esc cancel · 17:05  -10m  1h ago  2026-11-25 17:05",
        };
        let mut spans = vec![
            Span::styled(format!(" {} ", edit.kind.sigil()), t.key()),
            Span::raw(text::sanitize(&edit.buffer).into_owned()),
            Span::styled("▏", t.key()),
            Span::styled(help, t.dim()),
        ];
        let pattern = match edit.kind {
            PromptKind::Search => ui.search.as_ref(),
            PromptKind::Filter => ui.filter.text.as_ref(),
            PromptKind::Jump => None,
        };
        if let Some(err) = pattern.and_then(|f| f.error.as_ref()) {
            spans.push(Span::styled(
                format!("  bad regex ({}), matching as text", text::sanitize(err)),
                t.bad(),
            ));
        }
        Line::from(spans)
    } else if let Some(notice) = &ui.notice {
        Line::from(vec![Span::styled(
            format!(" {} ", text::sanitize(notice)),
            t.warn().add_modifier(Modifier::REVERSED),
        )])
    } else {
        let mut spans = Vec::new();
        if let InputState::Failed(e) = &ui.input {
            spans.push(Span::styled(format!(" {} ", text::sanitize(e)), t.bad()));
        }
        // Whole hints only, as many as fit (the rest are in `?`, which always fits).
        let mut room = usize::from(area.width).saturating_sub(
            spans
                .iter()
                .map(|s| unicode_width::UnicodeWidthStr::width(s.content.as_ref()))
                .sum(),
        );
        for (key, what) in HINTS {
            let w = unicode_width::UnicodeWidthStr::width(*key) + what.len() + 3;
            if w > room {
                break;
            }
            room -= w;
            spans.push(Span::styled(format!(" {key}"), t.key()));
            spans.push(Span::styled(format!(" {what} "), t.dim()));
        }
        Line::from(spans)
    };
    frame.render_widget(Paragraph::new(line), area);
}
