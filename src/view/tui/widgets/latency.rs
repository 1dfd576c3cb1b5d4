//! The latency panel (percentiles, the HDR histogram as bars over log-scaled buckets, and
//! sparklines of request rate and p99 over the last 15 minutes with 502s and timeouts
//! marked) and the per-route and per-tool tables.
//!
//! Draws [`Derived`](super::super::state::Derived) only: the figures are computed on the
//! tick, never per frame.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Table};
use ratatui::Frame;

use crate::model::stats::BUCKET_US;
use crate::model::Model;

use super::super::state::{KeyRow, SparkPoint, UiState};
use super::super::theme::Theme;
use super::{cell, eighths, ms, panel, title};

/// Eighths of a cell, for bars and sparklines.
const BLOCKS: [&str; 9] = [" ", "▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"];
const LABELS_LONG: [&str; 15] = [
    "1ms", "2ms", "5ms", "10ms", "20ms", "50ms", "100ms", "200ms", "500ms", "1s", "2s", "5s",
    "10s", "30s", ">30s",
];
const LABELS_SHORT: [&str; 15] = [
    "1m", "2m", "5m", "10m", "20m", "50m", ".1s", ".2s", ".5s", "1s", "2s", "5s", "10s", "30s", "+",
];
/// Columns the sparkline labels (`req/s `) take.
const SPARK_LABEL_COLS: u16 = 6;

pub fn render_latency(frame: &mut Frame, area: Rect, _model: &Model, ui: &UiState) {
    let t = ui.theme();
    let d = &ui.derived;
    let block = panel(
        title(
            "Latency",
            format!(
                "{} · {} measured · w: window",
                ui.window.label(),
                d.latency_count
            ),
            t,
        ),
        false,
        t,
    );
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if inner.height == 0 || inner.width < 10 {
        return;
    }
    let p = d.percentiles_ms;
    let mut spans = Vec::new();
    let gap = if inner.width >= 56 { "  " } else { " " };
    for (name, v) in [
        ("p50", p[0]),
        ("p90", p[1]),
        ("p99", p[2]),
        ("p99.9", p[3]),
        ("max", p[4]),
    ] {
        spans.push(Span::styled(format!("{name} "), t.dim()));
        spans.push(Span::styled(ms(v), t.text().add_modifier(Modifier::BOLD)));
        spans.push(Span::raw(gap));
    }
    spans.push(Span::styled("ms", t.dim()));
    let mut y = inner.y;
    frame.render_widget(
        Paragraph::new(Line::from(spans)),
        Rect::new(inner.x, y, inner.width, 1),
    );
    y += 1;
    let left = inner.bottom().saturating_sub(y);
    let spark_rows = 3.min(left);
    let hist_rows = left - spark_rows;
    if hist_rows >= 3 {
        histogram(
            frame.buffer_mut(),
            Rect::new(inner.x, y, inner.width, hist_rows),
            &d.histogram,
            t,
        );
    } else if hist_rows >= 1 {
        let line = Line::from(vec![
            Span::styled(format!("{} req ", d.requests), t.text()),
            Span::styled(
                format!(
                    "· 5xx {} · 502 {} · 524 {}",
                    d.errors_5xx, d.bad_gateway, d.timeouts
                ),
                t.dim(),
            ),
        ]);
        frame.render_widget(Paragraph::new(line), Rect::new(inner.x, y, inner.width, 1));
    }
    y += hist_rows;
    if spark_rows == 3 {
        sparklines(
            frame.buffer_mut(),
            Rect::new(inner.x, y, inner.width, 3),
            &d.spark,
            t,
        );
    }
}

/// Vertical bars, one per bucket, heights on a log scale of the count (so a tail of a few
/// slow requests stays visible beside thousands of fast ones); labels on the last row.
fn histogram(buf: &mut Buffer, area: Rect, counts: &[u64], t: Theme) {
    let last = counts.iter().rposition(|&c| c > 0).unwrap_or(0);
    let n = (last + 2).max(8).min(counts.len());
    if n == 0 || area.height < 2 {
        return;
    }
    let col_w = (area.width / u16::try_from(n).unwrap_or(1)).clamp(2, 6);
    let labels: &[&str] = if col_w >= 5 {
        &LABELS_LONG
    } else {
        &LABELS_SHORT
    };
    let rows = area.height - 1;
    let max = counts.iter().copied().max().unwrap_or(0);
    let scale = (max as f64 + 1.0).ln();
    for (i, &c) in counts.iter().take(n).enumerate() {
        let x = area.x + u16::try_from(i).unwrap_or(0) * col_w;
        if x + col_w > area.right() {
            break;
        }
        // Log scale of the count, at least one eighth so a single slow request shows.
        let eighths = if c == 0 || scale == 0.0 {
            0
        } else {
            eighths((c as f64 + 1.0).ln(), scale, rows)
        };
        for r in 0..rows {
            let level = eighths.saturating_sub(u32::from(r) * 8).min(8);
            let y = area.y + rows - 1 - r;
            let sym = BLOCKS[level as usize];
            for dx in 0..col_w - 1 {
                buf[(x + dx, y)].set_symbol(sym).set_style(t.chart());
            }
        }
        // Labels need a column of air; when columns are narrow, every other bucket is named.
        let label = labels.get(i).copied().unwrap_or("");
        let room = if col_w >= 4 { col_w - 1 } else { 2 * col_w - 1 };
        if col_w >= 4 || i % 2 == 0 {
            buf.set_stringn(x, area.y + rows, label, usize::from(room), t.dim());
        }
    }
    let legend = format!("{max} max/bucket (log)");
    let lx = area
        .right()
        .saturating_sub(u16::try_from(legend.len()).unwrap_or(0));
    if lx > area.x + u16::try_from(n).unwrap_or(u16::MAX).saturating_mul(col_w) {
        buf.set_string(lx, area.y, legend, t.dim());
    }
}

/// Request rate and p99 per 10 s slice, newest on the right, and a row marking slices
/// with 502s (`✕`) and edge timeouts (`T`).
fn sparklines(buf: &mut Buffer, area: Rect, points: &[SparkPoint], t: Theme) {
    let width = usize::from(area.width.saturating_sub(SPARK_LABEL_COLS));
    let shown = &points[points.len().saturating_sub(width)..];
    let secs = BUCKET_US as f64 / 1e6;
    let max_rate = shown
        .iter()
        .map(|p| p.requests as f64 / secs)
        .fold(0.0, f64::max);
    let max_p99 = shown.iter().map(|p| p.p99_ms).fold(0.0, f64::max);
    let rows: [(&str, String); 3] = [
        ("req/s", format!("{max_rate:.1}/s")),
        ("p99", format!("{}ms", ms(max_p99))),
        ("fail", "✕ 502 T 524".to_owned()),
    ];
    for (r, (label, _)) in rows.iter().enumerate() {
        let y = area.y + u16::try_from(r).unwrap_or(0);
        buf.set_string(area.x, y, label, t.dim());
    }
    let x0 = area.x + SPARK_LABEL_COLS;
    for (i, p) in shown.iter().enumerate() {
        let x = x0 + u16::try_from(i).unwrap_or(0);
        let level = |v: f64, max: f64| eighths(v, max, 1) as usize;
        buf[(x, area.y)]
            .set_symbol(BLOCKS[level(p.requests as f64 / secs, max_rate)])
            .set_style(t.chart());
        buf[(x, area.y + 1)]
            .set_symbol(BLOCKS[level(p.p99_ms, max_p99)])
            .set_style(t.warn());
        let (sym, style) = if p.bad_gateway > 0 {
            ("✕", t.bad())
        } else if p.timeouts > 0 {
            ("T", t.bad())
        } else {
            ("·", t.dim())
        };
        buf[(x, area.y + 2)].set_symbol(sym).set_style(style);
    }
    // The scale of each row at its right end, where it does not cover bars.
    for (r, (_, scale)) in rows.iter().enumerate() {
        let y = area.y + u16::try_from(r).unwrap_or(0);
        let len = u16::try_from(unicode_width::UnicodeWidthStr::width(scale.as_str())).unwrap_or(0);
        let sx = area.right().saturating_sub(len);
        if sx > x0 + u16::try_from(shown.len()).unwrap_or(0) {
            buf.set_string(sx, y, scale, t.dim());
        }
    }
}

pub fn render_routes(frame: &mut Frame, area: Rect, _model: &Model, ui: &UiState) {
    let t = ui.theme();
    let d = &ui.derived;
    let [routes, tools] = if d.tools.is_empty() {
        [area, Rect::new(area.x, area.bottom(), area.width, 0)]
    } else {
        Layout::vertical([Constraint::Percentage(55), Constraint::Min(0)]).areas(area)
    };
    key_table(frame, routes, "Routes", &d.routes, t);
    if tools.height > 0 {
        key_table(frame, tools, "Tools", &d.tools, t);
    }
}

fn key_table(frame: &mut Frame, area: Rect, name: &str, rows: &[KeyRow], t: Theme) {
    let block = panel(title(name, "whole run".into(), t), false, t);
    let inner_w = block.inner(area).width;
    // Narrow: name, n, p99, err. Wide: also the rate and p50.
    let is_wide = inner_w >= 44;
    let mut headers = vec!["name", "n"];
    let mut widths = vec![Constraint::Length(5)];
    if is_wide {
        headers.extend(["/s", "p50"]);
        widths.extend([Constraint::Length(5), Constraint::Length(5)]);
    }
    headers.extend(["p99", "err"]);
    widths.extend([Constraint::Length(5), Constraint::Length(4)]);
    let fixed: u16 = widths
        .iter()
        .map(|c| match c {
            Constraint::Length(n) => n + 1,
            _ => 0,
        })
        .sum();
    let name_w = inner_w.saturating_sub(fixed).max(6);
    widths.insert(0, Constraint::Length(name_w));
    let body = rows.iter().map(|r| {
        let err_style = if r.errors > 0 { t.bad() } else { t.dim() };
        let mut cells = vec![
            Cell::from(cell(&crate::text::sanitize(&r.name), usize::from(name_w))),
            Cell::from(r.count.to_string()),
        ];
        if is_wide {
            cells.push(Cell::from(format!("{:.2}", r.rate_per_s)));
            cells.push(Cell::from(ms(r.p50_ms)));
        }
        cells.push(Cell::from(ms(r.p99_ms)));
        cells.push(Cell::from(Span::styled(r.errors.to_string(), err_style)));
        Row::new(cells)
    });
    let header = Row::new(headers).style(t.dim());
    frame.render_widget(Table::new(body, widths).header(header).block(block), area);
}
