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
use crate::view::summary::ms;

use super::super::state::{KeyRow, SparkPoint, UiState};
use super::super::theme::Theme;
use super::{cell, duration_ms, eighths, panel, title, title_fit};

/// Eighths of a cell, for bars and sparklines.
const BLOCKS: [&str; 9] = [" ", "▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"];
/// Each histogram bucket's upper bound, with its unit (the last bucket is open).
const LABELS: [&str; 15] = [
    "1ms", "2ms", "5ms", "10ms", "20ms", "50ms", "100ms", "200ms", "500ms", "1s", "2s", "5s",
    "10s", "30s", ">30s",
];
/// The buckets whose labels are placed first (the decades), so the axis always reads
/// `1ms … 10ms … 100ms … 1s … 10s` however narrow the columns; the others fill in where
/// they fit.
const DECADES: [usize; 5] = [0, 3, 6, 9, 12];
/// Columns the sparkline labels (`req/s `) take.
const SPARK_LABEL_COLS: u16 = 6;

/// The percentiles in the order they are shown, each with its priority when the panel is
/// too narrow for all (lower first: p50, p99 and max are kept longest).
const PERCENTILES: [(&str, usize, usize); 5] = [
    ("p50", 0, 0),
    ("p90", 1, 3),
    ("p99", 2, 1),
    ("p99.9", 3, 4),
    ("max", 4, 2),
];

/// The percentile spans that fit in `width` columns (`p50 3.0 ms  p99 15 ms  max 117 s`):
/// whole labels are left out, lowest priority first; a value is never cut.
fn percentile_spans(p: &[f64; 5], width: usize, t: Theme) -> Vec<Span<'static>> {
    let gap = if width >= 60 { "  " } else { " " };
    let items: Vec<(usize, String, String)> = PERCENTILES
        .iter()
        .map(|&(name, i, prio)| (prio, name.to_owned(), duration_ms(p[i])))
        .collect();
    let cost = |it: &(usize, String, String)| it.1.len() + 1 + it.2.chars().count() + gap.len();
    let mut keep = items.len();
    // The last item needs no gap after it.
    while keep > 1
        && items
            .iter()
            .filter(|it| it.0 < keep)
            .map(cost)
            .sum::<usize>()
            - gap.len()
            > width
    {
        keep -= 1;
    }
    let mut spans = Vec::new();
    for it in items.iter().filter(|it| it.0 < keep) {
        spans.push(Span::styled(format!("{} ", it.1), t.dim()));
        spans.push(Span::styled(
            it.2.clone(),
            t.text().add_modifier(Modifier::BOLD),
        ));
        spans.push(Span::raw(gap));
    }
    spans
}

pub(crate) fn render_latency(frame: &mut Frame, area: Rect, _model: &Model, ui: &UiState) {
    let t = ui.theme();
    let d = &ui.derived;
    let window = ui.window.label();
    let measured = d.traffic.latency.count;
    let block = panel(
        title_fit(
            "Latency",
            &[
                format!("{window} · {measured} measured · w: window"),
                format!("{window} · {measured} measured"),
                window.to_owned(),
            ],
            area.width,
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
    let first = match d.traffic.latency.known {
        // Unknown is an answer: no percentile is shown as 0.
        None => Line::styled("no latency measured in this window", t.dim()),
        Some(p) => Line::from(percentile_spans(
            &[
                ms(p.p50_us),
                ms(p.p90_us),
                ms(p.p99_us),
                ms(p.p999_us),
                ms(p.max_us),
            ],
            usize::from(inner.width),
            t,
        )),
    };
    let mut y = inner.y;
    frame.render_widget(Paragraph::new(first), Rect::new(inner.x, y, inner.width, 1));
    y += 1;
    let left = inner.bottom().saturating_sub(y);
    let spark_rows = 3.min(left);
    let hist_rows = left - spark_rows;
    if hist_rows >= 3 && d.traffic.latency.count > 0 {
        histogram(
            frame.buffer_mut(),
            Rect::new(inner.x, y, inner.width, hist_rows),
            &d.histogram,
            t,
        );
    } else if hist_rows >= 1 {
        let text = format!(
            "{} req · origin 5xx {} · 502 {} · 524 {}",
            d.traffic.requests, d.traffic.errors_5xx, d.traffic.bad_gateway, d.traffic.edge_timeout
        );
        let (fit, _) = crate::text::fit_width(&text, usize::from(inner.width));
        let line = Line::styled(fit.into_owned(), t.dim());
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
/// slow requests stays visible beside thousands of fast ones). The left gutter is the
/// count scale (the tallest bar's count at the top, 1 at the bottom, `log` between); the
/// last row names buckets by their upper bound, with the unit (`≤` in the gutter says
/// so). Buckets that do not fit are merged into the last column, labelled `>bound`.
fn histogram(buf: &mut Buffer, area: Rect, counts: &[u64], t: Theme) {
    if area.height < 3 || counts.is_empty() {
        return;
    }
    let last = counts.iter().rposition(|&c| c > 0).unwrap_or(0);
    let want = (last + 2).max(8).min(counts.len());
    let max = counts.iter().copied().max().unwrap_or(0);
    let max_label = short_count(max);
    let gutter = u16::try_from(max_label.len()).unwrap_or(6).max(3) + 1;
    let bars_w = area.width.saturating_sub(gutter);
    let fit = usize::from(bars_w / 2);
    if fit < 2 {
        return;
    }
    // (count, label) per column; the tail merged when the columns run out.
    let mut columns: Vec<(u64, String)> = counts
        .iter()
        .take(want)
        .enumerate()
        .map(|(i, &c)| (c, LABELS.get(i).copied().unwrap_or("").to_owned()))
        .collect();
    if columns.len() > fit {
        let tail: u64 = counts[fit - 1..].iter().sum();
        columns.truncate(fit - 1);
        columns.push((tail, format!(">{}", LABELS[fit - 2])));
    } else if want < counts.len() {
        // The columns shown end before the open bucket: everything above is empty.
    }
    let n = u16::try_from(columns.len()).unwrap_or(1);
    let col_w = (bars_w / n).clamp(2, 6);
    let rows = area.height - 1;
    let x0 = area.x + gutter;
    let scale = (max as f64 + 1.0).ln();
    for (i, (c, _)) in columns.iter().enumerate() {
        let x = x0 + u16::try_from(i).unwrap_or(0) * col_w;
        // Log scale of the count, at least one eighth so a single slow request shows.
        let eighths = if *c == 0 || scale == 0.0 {
            0
        } else {
            eighths((*c as f64 + 1.0).ln(), scale, rows)
        };
        for r in 0..rows {
            let level = eighths.saturating_sub(u32::from(r) * 8).min(8);
            let y = area.y + rows - 1 - r;
            let sym = BLOCKS[level as usize];
            for dx in 0..col_w - 1 {
                buf[(x + dx, y)].set_symbol(sym).set_style(t.chart());
            }
        }
    }
    // The count scale.
    let gw = usize::from(gutter - 1);
    buf.set_string(area.x, area.y, format!("{max_label:>gw$}"), t.dim());
    if rows >= 3 {
        buf.set_string(
            area.x,
            area.y + rows / 2,
            format!("{:>gw$}", "log"),
            t.dim(),
        );
    }
    buf.set_string(area.x, area.y + rows - 1, format!("{:>gw$}", "1"), t.dim());
    buf.set_string(area.x, area.y + rows, format!("{:>gw$}", "≤"), t.dim());
    // Labels: the decades first, then any other that has room (a column of air between).
    let mut taken: Vec<(u16, u16)> = Vec::new();
    let right = area.right();
    let mut place = |i: usize, label: &str, taken: &mut Vec<(u16, u16)>| {
        let x = x0 + u16::try_from(i).unwrap_or(0) * col_w;
        let w = u16::try_from(label.chars().count()).unwrap_or(u16::MAX);
        let end = x.saturating_add(w);
        if end > right || taken.iter().any(|&(a, b)| x <= b && a <= end) {
            return;
        }
        buf.set_string(x, area.y + rows, label, t.dim());
        taken.push((x, end));
    };
    let last_col = columns.len() - 1;
    place(last_col, &columns[last_col].1, &mut taken);
    for &i in DECADES.iter().filter(|&&i| i < last_col) {
        place(i, &columns[i].1, &mut taken);
    }
    for (i, (_, label)) in columns.iter().enumerate().take(last_col) {
        place(i, label, &mut taken);
    }
    let legend = "requests per bucket";
    let lx = right.saturating_sub(u16::try_from(legend.len()).unwrap_or(0));
    if lx > x0 + n * col_w {
        buf.set_string(lx, area.y, legend, t.dim());
    }
}

/// A count in at most 5 columns: `980`, `12345`, `123k`, `1.2M`, `12M`.
pub(crate) fn short_count(n: u64) -> String {
    match n {
        0..=99_999 => n.to_string(),
        100_000..=999_999 => format!("{}k", n / 1000),
        1_000_000..=9_999_999 => format!("{:.1}M", n as f64 / 1e6),
        _ => format!("{}M", n / 1_000_000),
    }
}

/// A rate with its unit: `3.5/s`, `1234/s`, `12.3k/s`.
fn rate_label(per_s: f64) -> String {
    if per_s < 10_000.0 {
        format!("{per_s:.1}/s")
    } else {
        format!("{:.1}k/s", per_s / 1e3)
    }
}

/// Request rate and p99 per 10 s slice, newest on the right, and a row marking slices
/// with 502s (`✕`) and edge timeouts (`T`). Each row's scale (its tallest value) has
/// columns of its own at the right, so it is never drawn over or left out.
fn sparklines(buf: &mut Buffer, area: Rect, points: &[SparkPoint], t: Theme) {
    let secs = BUCKET_US as f64 / 1e6;
    let scale_cols = |shown: &[SparkPoint]| -> (f64, f64, [String; 3]) {
        let max_rate = shown
            .iter()
            .map(|p| p.requests as f64 / secs)
            .fold(0.0, f64::max);
        let max_p99 = shown.iter().map(|p| p.p99_ms).fold(0.0, f64::max);
        (
            max_rate,
            max_p99,
            [
                rate_label(max_rate),
                duration_ms(max_p99),
                "✕502 T524".to_owned(),
            ],
        )
    };
    // The scales of the newest 90 slices bound the scales of any shorter suffix only
    // loosely; reserve the widest text any scale can take (7 columns) plus a space.
    let scale_w: u16 = 10;
    let width = usize::from(area.width.saturating_sub(SPARK_LABEL_COLS + scale_w));
    let shown = &points[points.len().saturating_sub(width)..];
    let (max_rate, max_p99, scales) = scale_cols(shown);
    for (r, label) in ["req/s", "p99", "fail"].iter().enumerate() {
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
    for (r, scale) in scales.iter().enumerate() {
        let y = area.y + u16::try_from(r).unwrap_or(0);
        let len = u16::try_from(unicode_width::UnicodeWidthStr::width(scale.as_str())).unwrap_or(0);
        let sx = area.right().saturating_sub(len);
        buf.set_stringn(sx, y, scale, usize::from(scale_w), t.dim());
    }
}

pub(crate) fn render_routes(frame: &mut Frame, area: Rect, _model: &Model, ui: &UiState) {
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

/// Column widths of the key tables: count, rate, p50, p99, errors.
const COUNT_W: u16 = 5;
const RATE_W: u16 = 6;
const LATENCY_W: u16 = 7;
const ERRORS_W: u16 = 5;

fn key_table(frame: &mut Frame, area: Rect, name: &str, rows: &[KeyRow], t: Theme) {
    let block = panel(title(name, "whole run".into(), t), false, t);
    let inner_w = block.inner(area).width;
    // Narrow: name, n, p99, err. Wide: also the rate and p50.
    let is_wide = inner_w >= 47;
    let mut headers = vec!["name", "n"];
    let mut widths = vec![Constraint::Length(COUNT_W)];
    if is_wide {
        headers.extend(["req/s", "p50"]);
        widths.extend([Constraint::Length(RATE_W), Constraint::Length(LATENCY_W)]);
    }
    headers.extend(["p99", "err"]);
    widths.extend([Constraint::Length(LATENCY_W), Constraint::Length(ERRORS_W)]);
    let fixed: u16 = widths
        .iter()
        .map(|c| match c {
            Constraint::Length(n) => n + 1,
            _ => 0,
        })
        .sum();
    let name_w = inner_w.saturating_sub(fixed).max(6);
    widths.insert(0, Constraint::Length(name_w));
    let latency = |v: Option<f64>| v.map_or_else(|| "-".to_owned(), duration_ms);
    let body = rows.iter().map(|r| {
        let err_style = if r.errors > 0 { t.bad() } else { t.dim() };
        let mut cells = vec![
            Cell::from(cell(&crate::text::sanitize(&r.name), usize::from(name_w))),
            Cell::from(short_count(r.count)),
        ];
        if is_wide {
            let rate = if r.rate_per_s < 100.0 {
                format!("{:.2}", r.rate_per_s)
            } else if r.rate_per_s < 10_000.0 {
                format!("{:.0}", r.rate_per_s)
            } else {
                format!("{:.0}k", r.rate_per_s / 1e3)
            };
            cells.push(Cell::from(rate));
            cells.push(Cell::from(latency(r.p50_ms)));
        }
        cells.push(Cell::from(latency(r.p99_ms)));
        cells.push(Cell::from(Span::styled(short_count(r.errors), err_style)));
        Row::new(cells)
    });
    let header = Row::new(headers).style(t.dim());
    frame.render_widget(Table::new(body, widths).header(header).block(block), area);
}
