//! The screen's regions, one file each, all drawing with the same signature
//! (`fn render_*(frame, area, &Model, &UiState)`), plus the small helpers they share:
//! panel frames, clock formatting, unit colours and cut-to-width text.
//!
//! Every piece of log text goes through `crate::text` (sanitize, then fit) before it is
//! drawn; widgets never draw raw bytes.

pub(crate) mod detail;
pub(crate) mod help;
pub(crate) mod incidents;
pub(crate) mod latency;
pub(crate) mod log_table;
pub(crate) mod requests;
pub(crate) mod status_bar;

use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType};

use crate::model::Model;
use crate::source::{Timestamp, Unit};

use super::clock::{clock_s_at, parts};
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

/// `spans` cut to `width` columns; when something was cut the last column holds `…`
/// (so a cut header never looks whole).
pub(crate) fn fit_spans(spans: Vec<Span<'static>>, width: usize) -> Vec<Span<'static>> {
    use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};
    let total: usize = spans.iter().map(|s| s.content.width()).sum();
    if total <= width || width == 0 {
        return spans;
    }
    // One column is kept for the mark.
    let mut left = width - 1;
    let mut out = Vec::new();
    for span in spans {
        let w = span.content.width();
        if w <= left {
            left -= w;
            out.push(span);
            continue;
        }
        let mut keep = String::new();
        for c in span.content.chars() {
            let cw = c.width().unwrap_or(0);
            if cw > left {
                break;
            }
            left -= cw;
            keep.push(c);
        }
        keep.push('…');
        out.push(Span::styled(keep, span.style));
        break;
    }
    out
}

/// A panel title that fits `width` columns: the first of `details` (longest first) that
/// fits beside the name, else the last one cut with `…` (a title is never cut silently).
pub(crate) fn title_fit(name: &str, details: &[String], width: u16, theme: Theme) -> Line<'static> {
    // The border's corners and the spaces around name and detail.
    let room = usize::from(width).saturating_sub(2 + name.len() + 3);
    let detail = details
        .iter()
        .find(|d| unicode_width::UnicodeWidthStr::width(d.as_str()) <= room)
        .cloned()
        .unwrap_or_else(|| {
            // None fits: the shortest, cut with a visible mark.
            let last = details.last().map_or("", String::as_str);
            crate::text::fit_width(last, room).0.into_owned()
        });
    title(name, detail, theme)
}

/// `s` cut to `width` columns with `…` marking a cut, also when `s` is itself the head of
/// a longer text (`is_cut`, from [`crate::text::display_bytes_cols`]) that fits whole.
pub(crate) fn fit_cut(s: &str, width: usize, is_cut: bool) -> String {
    let (fit, was_cut) = crate::text::fit_width(s, width);
    if was_cut || !is_cut || width == 0 {
        return fit.into_owned();
    }
    // Room for the mark: a text one column short of `width` gets it appended; a longer
    // one is cut to `width - 1` columns and `fit_width` adds it.
    match crate::text::fit_width(s, width - 1) {
        (fit, true) => fit.into_owned(),
        (fit, false) => format!("{fit}…"),
    }
}

/// `HH:MM:SS.mmm` in the screen's time zone.
pub(crate) fn clock_ms(ts: Timestamp, ui: &UiState) -> String {
    let (h, m, s, ms) = parts(ts, ui.options.utc_offset_s);
    format!("{h:02}:{m:02}:{s:02}.{ms:03}")
}

/// `HH:MM:SS` in the screen's time zone.
pub(crate) fn clock_s(ts: Timestamp, ui: &UiState) -> String {
    clock_s_at(ts, ui.options.utc_offset_s)
}

/// A duration with its unit, in at most 7 columns: `850 µs` is `0.85 ms`, then `3.0 ms`,
/// `326 ms`, `1.86 s`, `41.7 s`, `117 s`, `2.5 min`, `42 min`, `2.5 h`. The one duration
/// grammar of the screen (latency, ages, how long a state has lasted).
pub(crate) fn duration(us: u64) -> String {
    duration_ms(us as f64 / 1000.0)
}

/// [`duration`] from milliseconds (what histograms report); `?` for a value that is not a
/// duration (negative or not finite).
pub(crate) fn duration_ms(ms: f64) -> String {
    if !ms.is_finite() || ms < 0.0 {
        return "?".to_owned();
    }
    // Each threshold is where the next precision would round up to the next unit.
    let s = ms / 1000.0;
    let min = s / 60.0;
    let h = min / 60.0;
    if ms < 0.995 {
        format!("{ms:.2} ms")
    } else if ms < 9.95 {
        format!("{ms:.1} ms")
    } else if ms < 999.5 {
        format!("{ms:.0} ms")
    } else if s < 9.995 {
        format!("{s:.2} s")
    } else if s < 99.95 {
        format!("{s:.1} s")
    } else if s < 119.5 {
        format!("{s:.0} s")
    } else if min < 9.95 {
        format!("{min:.1} min")
    } else if min < 59.5 {
        format!("{min:.0} min")
    } else if h < 9.95 {
        format!("{h:.1} h")
    } else {
        format!("{h:.0} h")
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_carry_their_unit_and_fit_seven_columns() {
        for (us, want) in [
            (0, "0.00 ms"),
            (420, "0.42 ms"),
            (3_000, "3.0 ms"),
            (9_960, "10 ms"),
            (326_400, "326 ms"),
            (999_600, "1.00 s"),
            (1_860_000, "1.86 s"),
            (41_714_000, "41.7 s"),
            (117_047_000, "117 s"),
            (150_000_000, "2.5 min"),
            (2_520_000_000, "42 min"),
            (9_000_000_000, "2.5 h"),
        ] {
            assert_eq!(duration(us), want, "{us} µs");
        }
        // Every value, however large, keeps a unit and stays short up to 99 h.
        let mut us = 1;
        while us < 356_400_000_000 {
            let s = duration(us);
            assert!(
                s.ends_with(" ms") || s.ends_with(" s") || s.ends_with(" min") || s.ends_with(" h"),
                "{s}"
            );
            assert!(s.chars().count() <= 7, "{us}: {s}");
            us = us * 3 / 2 + 1;
        }
        assert_eq!(duration_ms(f64::NAN), "?");
    }

    #[test]
    fn spans_cut_to_a_width_end_with_a_visible_mark() {
        let spans = || {
            vec![
                Span::raw("origin 5xx 0"),
                Span::raw(" · "),
                Span::raw("502 21"),
            ]
        };
        let text =
            |v: Vec<Span<'static>>| v.iter().map(|s| s.content.to_string()).collect::<String>();
        assert_eq!(text(fit_spans(spans(), 40)), "origin 5xx 0 · 502 21");
        assert_eq!(text(fit_spans(spans(), 21)), "origin 5xx 0 · 502 21");
        assert_eq!(text(fit_spans(spans(), 20)), "origin 5xx 0 · 502 …");
        assert_eq!(text(fit_spans(spans(), 13)), "origin 5xx 0…");
        assert_eq!(text(fit_spans(spans(), 1)), "…");
        assert_eq!(duration_ms(-1.0), "?");
    }
}
