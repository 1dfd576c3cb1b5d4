//! The screen's regions, one file each, all drawing with the same signature
//! (`fn render_*(frame, area, &Model, &UiState)`), plus the small helpers they share:
//! panel frames, clock formatting, unit colours and cut-to-width text.
//!
//! Every piece of log text goes through `crate::text` (sanitize, then fit) before it is
//! drawn; widgets never draw raw bytes.

pub mod detail;
pub mod help;
pub mod incidents;
pub mod latency;
pub mod log_table;
pub mod requests;
pub mod status_bar;

use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType};

use crate::model::Model;
use crate::source::{Timestamp, Unit};

use super::state::UiState;
use super::theme::Theme;

/// A bordered panel; the focused one has a brighter, thicker border.
pub(crate) fn panel(title: Line<'_>, is_focused: bool, theme: Theme) -> Block<'_> {
    let block = Block::bordered().title(title);
    if is_focused {
        block
            .border_type(BorderType::Thick)
            .border_style(theme.border_focused())
    } else {
        block.border_style(theme.border())
    }
}

/// A panel title: the name in the title style, then dim details.
pub(crate) fn title(name: &str, detail: String, theme: Theme) -> Line<'static> {
    let mut spans = vec![Span::styled(format!(" {name} "), theme.title())];
    if !detail.is_empty() {
        let mut detail = detail;
        detail.push(' ');
        spans.push(Span::styled(detail, theme.dim()));
    }
    Line::from(spans)
}

/// `HH:MM:SS.mmm` in the screen's time zone.
pub(crate) fn clock_ms(ts: Timestamp, ui: &UiState) -> String {
    let (h, m, s, ms) = parts(ts, ui.options.utc_offset_s);
    format!("{h:02}:{m:02}:{s:02}.{ms:03}")
}

/// `HH:MM:SS` in the screen's time zone.
pub(crate) fn clock_s(ts: Timestamp, ui: &UiState) -> String {
    let (h, m, s, _) = parts(ts, ui.options.utc_offset_s);
    format!("{h:02}:{m:02}:{s:02}")
}

fn parts(ts: Timestamp, offset_s: i64) -> (u64, u64, u64, u64) {
    let secs = i64::try_from(ts.0 / 1_000_000).unwrap_or(i64::MAX);
    let local = u64::try_from(secs.saturating_add(offset_s).rem_euclid(86_400)).unwrap_or(0);
    (
        local / 3600,
        local / 60 % 60,
        local % 60,
        ts.0 / 1000 % 1000,
    )
}

/// A duration in the largest unit that keeps it short: `850ms`, `12.5s`, `3m20s`, `2h05m`.
pub(crate) fn duration(us: u64) -> String {
    let ms = us / 1000;
    match ms {
        0..=999 => format!("{ms}ms"),
        1_000..=59_999 => format!("{:.1}s", ms as f64 / 1000.0),
        60_000..=3_599_999 => format!("{}m{:02}s", ms / 60_000, ms / 1000 % 60),
        _ => format!("{}h{:02}m", ms / 3_600_000, ms / 60_000 % 60),
    }
}

/// Eighths of a cell (0–8) for `value` of `max`: at least one for anything above zero.
#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
pub(crate) fn eighths(value: f64, max: f64, cells: u16) -> u32 {
    if value <= 0.0 || max <= 0.0 {
        return 0;
    }
    // Clamped to 1..=8×cells first, so the cast is exact.
    ((value / max) * f64::from(cells) * 8.0)
        .round()
        .clamp(1.0, f64::from(cells) * 8.0) as u32
}

/// Milliseconds with sensible precision: `0.42`, `3.0`, `15`, `1860`.
pub(crate) fn ms(v: f64) -> String {
    if v < 1.0 {
        format!("{v:.2}")
    } else if v < 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.0}")
    }
}

/// The style of a unit's name and lines: origin, tunnel, or other.
pub(crate) fn unit_style(unit: Option<&Unit>, model: &Model, theme: Theme) -> Style {
    match unit {
        Some(u) if *u == model.settings.origin_unit => theme.origin(),
        Some(u) if *u == model.settings.tunnel_unit => theme.tunnel(),
        _ => theme.other_unit(),
    }
}

/// `s` padded or cut (with `…`) to exactly `width` columns.
pub(crate) fn cell(s: &str, width: usize) -> String {
    let (fit, _) = crate::text::fit_width(s, width);
    let used = unicode_width::UnicodeWidthStr::width(fit.as_ref());
    format!("{fit}{}", " ".repeat(width.saturating_sub(used)))
}

/// The selected-row style when the list is focused, else a quiet underline-free mark.
pub(crate) fn selection_style(is_focused: bool, theme: Theme) -> Style {
    if is_focused {
        theme.selected()
    } else {
        Style::new().add_modifier(Modifier::BOLD)
    }
}
