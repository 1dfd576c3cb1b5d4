//! The snapshot's `latency.svg`: a hand-written SVG 1.1 chart of a window's origin
//! latency, with axes that say their units, a legend, and text that never overlaps.
//!
//! Owns the chart's layout and drawing from a [`Chart`] (plain figures: per-slice p99 and
//! request counts, 502 and edge-timeout marks, incident spans, the latency histogram, the
//! slowest tools). Does not own which figures: `view::snapshot` builds the [`Chart`] from the
//! window's model. Log-derived text (tool names, incident causes) arrives already
//! sanitized and redacted; here it is made XML-safe ([`xml_text`]) and shortened to fit.
//!
//! Why hand-written and not the `plotters` crate: plotters without its font features
//! cannot measure text, so it could not lay out labels that never overlap, which is the
//! point of this chart; with them it pulls a font stack into a terminal tool. A chart of
//! rectangles, lines and a few dozen labels is short to write, has no dependency, and
//! keeps every escaping decision for untrusted log text in one place in this file.
//!
//! Layout: every label has a box estimated from its characters' widths ([`char_em`]: an
//! upper bound for common sans-serif fonts, wide characters 1 em) × its font size; rows of text are placed in their
//! own bands, tick labels are thinned to the spacing their boxes need, and long names are
//! cut with `…` to their column. The tests parse the SVG with a real XML parser and check
//! those boxes: inside the `viewBox` and pairwise disjoint, for every data shape.
//!
//! ```text
//!  title                                                     (14 px)
//!  legend: ─ p99  ▮ requests  | 502  | 524  ▮ incident      (wraps)
//!  p99 latency per slice            ┐ log scale, ticks 1 ms 10 ms 100 ms 1 s …
//!  │  ╱╲__╱‾‾╲   (incident shading) │
//!  │ ||  |    |  (502/524 marks)    ┘
//!  requests per slice                 linear, ticks 0 … nice max
//!  │ ▮▮▮ ▮▮▮▮▮
//!    17:05   17:06   17:07  …         time (UTC)
//!  latency distribution               log-scaled buckets, count axis
//!    1 ms   10 ms   100 ms  1 s       origin response time
//!  slowest tools by p99               name (cut with …) ▮▮▮▮▮ 117 s
//! ```

use std::fmt::Write as _;

use crate::model::stats::Latency;
use crate::source::Timestamp;

/// Width of the drawing, px.
pub(crate) const WIDTH_PX: f64 = 960.0;
/// Font size of every label but the title, px.
pub(crate) const FONT_PX: f64 = 11.0;
/// Font size of the title, px.
pub(crate) const TITLE_FONT_PX: f64 = 14.0;
/// Estimated advance of an ordinary ASCII character (lower case, digits, most
/// punctuation), as a fraction of the font size: `DejaVu Sans`, the widest common
/// sans-serif default, draws none of them wider than 0.636 em (`n`, `d`, the digits).
pub(crate) const CHAR_EM: f64 = 0.64;
/// ASCII capitals but `M` and `W`, and `# & + < = > ^ ~`: at most 0.838 em there.
pub(crate) const CAPITAL_EM: f64 = 0.84;
/// The widest ASCII glyphs (`M W m w @ %`): at most 0.99 em.
pub(crate) const WIDE_EM: f64 = 1.0;
/// Any other character: letters of other scripts, CJK and emoji (about 1 em), `…`, `µ`.
pub(crate) const OTHER_EM: f64 = 1.1;
/// The few glyphs far wider than 1 em (the Bismillah ligature, two- and three-em dashes,
/// cuneiform signs).
pub(crate) const HUGE_EM: f64 = 4.0;
/// Slices the window is cut into for the p99 line and the request bars.
pub const SLICES: usize = 60;
/// Tools listed in the slowest-tools panel.
pub const MAX_TOOLS: usize = 8;

/// Left edge of the plots: room for right-aligned tick labels of up to 10 columns.
const PLOT_LEFT_PX: f64 = 80.0;
/// Right edge of the plots: room for half a centred time label (`MM-DD HH:MM`).
const PLOT_RIGHT_PX: f64 = WIDTH_PX - 48.0;
const LATENCY_PLOT_H_PX: f64 = 180.0;
const REQUESTS_PLOT_H_PX: f64 = 70.0;
const DISTRIBUTION_PLOT_H_PX: f64 = 120.0;
/// Bars of the latency distribution.
const DISTRIBUTION_BUCKETS: usize = 48;
/// Height of one text row (a label and the gap below it).
const ROW_PX: f64 = 18.0;
/// Where the tools panel's bars start (the names fit before it).
const TOOL_BAR_LEFT_PX: f64 = 320.0;
/// Where its bars end (the value label fits after it).
const TOOL_BAR_RIGHT_PX: f64 = WIDTH_PX - 110.0;
/// Space kept between two labels on one row, px.
const LABEL_GAP_PX: f64 = 8.0;

const COLOR_P99: &str = "#1f4e9c";
const COLOR_REQUESTS: &str = "#c9d7ea";
const COLOR_BAD_GATEWAY: &str = "#c0392b";
const COLOR_EDGE_TIMEOUT: &str = "#e67e22";
const COLOR_INCIDENT: &str = "#f4c7c3";
const COLOR_DISTRIBUTION: &str = "#5b8fd6";
const COLOR_AXIS: &str = "#333333";
const COLOR_GRID: &str = "#e5e5e5";

/// One slice of the window.
#[derive(Debug, Clone, Default)]
pub struct Slice {
    /// Requests the origin answered in it (streams included).
    pub requests: u64,
    /// p99 of its measured (non-stream) latencies, µs; `None`: none measured.
    pub p99_us: Option<u64>,
}

/// An incident's span, with its tooltip.
#[derive(Debug, Clone)]
pub struct IncidentSpan {
    pub start: Timestamp,
    pub end: Timestamp,
    /// `#3 bad_gateway: …`, already sanitized and redacted.
    pub label: String,
}

/// One row of the slowest-tools panel.
#[derive(Debug, Clone)]
pub struct ToolRow {
    /// The tool's name, already sanitized and redacted (it comes from the logs).
    pub name: String,
    pub requests: u64,
    pub p99_us: u64,
}

/// What the chart shows.
#[derive(Debug, Clone)]
pub struct Chart<'a> {
    pub start: Timestamp,
    pub end: Timestamp,
    /// [`SLICES`] slices of `[start, end]` (fewer or more are drawn as given).
    pub slices: Vec<Slice>,
    /// When each 502 Bad Gateway request ended, one per request.
    pub bad_gateway: Vec<Timestamp>,
    /// When each edge timeout (524) happened, one per request.
    pub edge_timeout: Vec<Timestamp>,
    pub incidents: Vec<IncidentSpan>,
    /// Every measured latency of the window.
    pub latency: &'a Latency,
    /// The slowest tools by p99, slowest first, at most [`MAX_TOOLS`].
    pub tools: Vec<ToolRow>,
}

/// `s` as it is shown: every character `text::sanitize` escapes (controls, bidi
/// overrides, invisible format characters) and the two XML 1.0 cannot hold at all
/// (`U+FFFE`, `U+FFFF`) replaced by their visible escapes. Labels are measured and cut in
/// this form.
pub(crate) fn visible(s: &str) -> String {
    let safe = crate::text::sanitize(s);
    if !safe.contains(['\u{fffe}', '\u{ffff}']) {
        return safe.into_owned();
    }
    let mut out = String::with_capacity(safe.len() + 8);
    for c in safe.chars() {
        if matches!(c, '\u{fffe}' | '\u{ffff}') {
            let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
        } else {
            out.push(c);
        }
    }
    out
}

/// `s` made safe for SVG text and attributes: [`visible`], then the XML specials escaped.
/// Applied to every label and tooltip, whatever the caller did before.
pub(crate) fn xml_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in visible(s).chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// The estimated advance of `c`, in em: an upper bound for common sans-serif fonts
/// ([`CHAR_EM`], [`CAPITAL_EM`], [`WIDE_EM`], [`OTHER_EM`], [`HUGE_EM`]).
pub(crate) fn char_em(c: char) -> f64 {
    match c {
        'M' | 'W' | 'm' | 'w' | '@' | '%' => WIDE_EM,
        'A'..='Z' | '#' | '&' | '+' | '<' | '=' | '>' | '^' | '~' => CAPITAL_EM,
        ' '..='~' => CHAR_EM,
        '\u{fdfd}' | '\u{2e3a}' | '\u{2e3b}' | '\u{12000}'..='\u{1254f}' => HUGE_EM,
        _ => OTHER_EM,
    }
}

/// The estimated drawn width of `s` at `font_px`: an upper bound for common sans-serif
/// fonts (each character by [`char_em`]).
pub(crate) fn text_width_px(s: &str, font_px: f64) -> f64 {
    s.chars().map(char_em).sum::<f64>() * font_px
}

/// `s` cut with `…` so it is at most `width_px` wide at `font_px` ([`text_width_px`]).
fn fit_px(s: &str, width_px: f64, font_px: f64) -> String {
    if text_width_px(s, font_px) <= width_px {
        return s.to_owned();
    }
    let budget = width_px - WIDE_EM * font_px;
    let mut used = 0.0;
    let mut out = String::new();
    for c in s.chars() {
        used += char_em(c) * font_px;
        if used > budget {
            break;
        }
        out.push(c);
    }
    out.push('…');
    out
}

/// A duration (µs) with its unit, short: `120 µs`, `1 ms`, `4.2 ms`, `326 ms`, `41.7 s`,
/// `117 s`.
pub(crate) fn duration_label(us: u64) -> String {
    let v = us as f64;
    let (value, unit) = if us < 1_000 {
        (v, "µs")
    } else if us < 1_000_000 {
        (v / 1e3, "ms")
    } else {
        (v / 1e6, "s")
    };
    if value >= 100.0 || (value - value.round()).abs() < 0.05 {
        format!("{value:.0} {unit}")
    } else {
        format!("{value:.1} {unit}")
    }
}

/// A window's length: `850 ms`, `59 s`, `15 min`, `36 h`, `1095 days` (whole units past
/// two of them, so long windows do not read as a pile of seconds).
pub(crate) fn span_label(us: u64) -> String {
    // Rounded to the unit shown: 299.96 s is `5 min`, not `4 min`.
    if us < 1_000_000 {
        return duration_label(us);
    }
    let s = us.saturating_add(500_000) / 1_000_000;
    match s {
        1..120 => format!("{s} s"),
        120..7_200 => format!("{} min", (s + 30) / 60),
        7_200..172_800 => format!("{} h", (s + 1_800) / 3_600),
        _ => format!("{} days", (s + 43_200) / 86_400),
    }
}

/// A count, short: `7`, `950`, `1.2k`, `20k`, `3.4M`.
pub(crate) fn count_label(n: u64) -> String {
    let v = n as f64;
    let (value, suffix) = if n < 1_000 {
        return n.to_string();
    } else if n < 1_000_000 {
        (v / 1e3, "k")
    } else if n < 1_000_000_000 {
        (v / 1e6, "M")
    } else {
        (v / 1e9, "G")
    };
    if value >= 10.0 || (value - value.round()).abs() < 0.05 {
        format!("{value:.0}{suffix}")
    } else {
        format!("{value:.1}{suffix}")
    }
}

/// The smallest of 1, 2, 5 × 10ⁿ that is at least `n` (and at least 1).
fn nice_ceiling(n: u64) -> u64 {
    let mut step = 1u64;
    loop {
        for m in [1, 2, 5] {
            let candidate = step.saturating_mul(m);
            if candidate >= n || candidate == u64::MAX {
                return candidate;
            }
        }
        step = step.saturating_mul(10);
    }
}

/// The powers of ten (µs) an axis covering `lo..=hi` µs spans: from the one at or below
/// `lo` to the one above `hi`, at least one decade apart.
fn decades(lo_us: u64, hi_us: u64) -> (u32, u32) {
    let lo = lo_us.max(1).ilog10();
    let hi = hi_us.max(lo_us).max(1).ilog10() + 1;
    (lo, hi.max(lo + 1))
}

/// Text placed so far, for refusing a label whose box would touch another's.
#[derive(Default)]
struct Placed {
    boxes: Vec<[f64; 4]>,
}

impl Placed {
    /// The box of `s` drawn at `(x, y)` (baseline) with `anchor` at `font_px`.
    fn box_of(s: &str, x: f64, y: f64, anchor: Anchor, font_px: f64) -> [f64; 4] {
        let w = text_width_px(s, font_px);
        let left = match anchor {
            Anchor::Start => x,
            Anchor::Middle => x - w / 2.0,
            Anchor::End => x - w,
        };
        [left, y - 0.8 * font_px, left + w, y + 0.25 * font_px]
    }

    /// Whether `b` (with [`LABEL_GAP_PX`] around it horizontally) is clear of every box
    /// placed and inside the drawing's width.
    fn is_free(&self, b: [f64; 4]) -> bool {
        b[0] >= 0.0
            && b[2] <= WIDTH_PX
            && self.boxes.iter().all(|o| {
                b[2] + LABEL_GAP_PX / 2.0 <= o[0]
                    || o[2] + LABEL_GAP_PX / 2.0 <= b[0]
                    || b[3] <= o[1]
                    || o[3] <= b[1]
            })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Anchor {
    Start,
    Middle,
    End,
}

impl Anchor {
    fn attr(self) -> &'static str {
        match self {
            Anchor::Start => "start",
            Anchor::Middle => "middle",
            Anchor::End => "end",
        }
    }
}

/// The SVG document being written, with the text boxes placed so far.
struct Svg {
    out: String,
    placed: Placed,
}

impl Svg {
    /// Writes `s` (already safe: [`xml_text`] is applied here) at `(x, y)` if its box is
    /// free; whether it was written. `class` names its role for readers and tests.
    fn text(&mut self, s: &str, x: f64, y: f64, anchor: Anchor, font_px: f64, class: &str) -> bool {
        let s = visible(s);
        let b = Placed::box_of(&s, x, y, anchor, font_px);
        if !self.placed.is_free(b) {
            return false;
        }
        self.placed.boxes.push(b);
        let _ = write!(
            self.out,
            "<text class=\"{class}\" x=\"{x:.1}\" y=\"{y:.1}\" text-anchor=\"{}\"",
            anchor.attr()
        );
        if (font_px - FONT_PX).abs() > f64::EPSILON {
            let _ = write!(self.out, " font-size=\"{font_px}\"");
        }
        let _ = writeln!(self.out, ">{}</text>", xml_text(&s));
        true
    }

    fn line(&mut self, x1: f64, y1: f64, x2: f64, y2: f64, stroke: &str, class: &str) {
        let _ = writeln!(
            self.out,
            "<line class=\"{class}\" x1=\"{x1:.1}\" y1=\"{y1:.1}\" x2=\"{x2:.1}\" y2=\"{y2:.1}\" stroke=\"{stroke}\"/>"
        );
    }
}

/// Where a time falls on the plots' x axis.
struct TimeAxis {
    start_us: u64,
    span_us: u64,
}

impl TimeAxis {
    fn x(&self, t: Timestamp) -> f64 {
        if self.span_us == 0 {
            return PLOT_LEFT_PX;
        }
        let off = t.0.saturating_sub(self.start_us).min(self.span_us);
        PLOT_LEFT_PX + off as f64 / self.span_us as f64 * (PLOT_RIGHT_PX - PLOT_LEFT_PX)
    }
}

/// A log-scaled latency axis between two powers of ten (µs), over `[a_px, b_px]`.
struct LogAxis {
    lo: u32,
    hi: u32,
    a_px: f64,
    b_px: f64,
}

impl LogAxis {
    fn at(&self, us: f64) -> f64 {
        let f = (us.max(1.0).log10() - f64::from(self.lo)) / f64::from(self.hi - self.lo);
        self.a_px + f.clamp(0.0, 1.0) * (self.b_px - self.a_px)
    }

    /// A tick at each power of ten: (position, duration label), lowest first.
    fn ticks(&self) -> Vec<(f64, String)> {
        (self.lo..=self.hi)
            .map(|d| {
                (
                    self.at(10f64.powf(f64::from(d))),
                    duration_label(10u64.pow(d)),
                )
            })
            .collect()
    }
}

/// A linear count axis from 0 at `bottom_px` up to a round ceiling at `top_px`.
struct CountAxis {
    /// The count at the top: the largest one plotted, rounded up ([`nice_ceiling`]).
    top_count: u64,
    top_px: f64,
    bottom_px: f64,
}

impl CountAxis {
    /// An axis for counts up to `max` between `top_px` and `bottom_px`.
    fn new(max: u64, top_px: f64, bottom_px: f64) -> CountAxis {
        CountAxis {
            top_count: nice_ceiling(max.max(1)),
            top_px,
            bottom_px,
        }
    }

    fn y(&self, n: u64) -> f64 {
        self.bottom_px - n as f64 / self.top_count as f64 * (self.bottom_px - self.top_px)
    }

    /// 0, the middle when it is a whole count, and the top: (y, label) from the bottom
    /// up, for [`y_ticks`].
    fn ticks(&self) -> Vec<(f64, String)> {
        let mut ticks = vec![(self.bottom_px, "0".to_owned())];
        if self.top_count >= 2 && self.top_count.is_multiple_of(2) {
            ticks.push((self.y(self.top_count / 2), count_label(self.top_count / 2)));
        }
        ticks.push((self.top_px, count_label(self.top_count)));
        ticks
    }
}

/// The chart as an SVG 1.1 document.
pub fn render(chart: &Chart<'_>) -> String {
    let mut svg = Svg {
        out: String::new(),
        placed: Placed::default(),
    };
    let axis = TimeAxis {
        start_us: chart.start.0,
        span_us: chart.end.0.saturating_sub(chart.start.0),
    };
    let mut y = 24.0;
    // Title.
    let title = format!(
        "Origin latency, {} to {} UTC ({})",
        utc(chart.start, "%Y-%m-%d %H:%M:%S"),
        if same_day(chart.start, chart.end) {
            utc(chart.end, "%H:%M:%S")
        } else {
            utc(chart.end, "%Y-%m-%d %H:%M:%S")
        },
        span_label(axis.span_us)
    );
    svg.out.push_str("<g id=\"title\">\n");
    svg.text(&title, 20.0, y, Anchor::Start, TITLE_FONT_PX, "title");
    svg.out.push_str("</g>\n");
    y += 22.0;
    y = legend(&mut svg, y);
    y += 8.0;
    y = latency_over_time(&mut svg, chart, &axis, y);
    y = requests_over_time(&mut svg, chart, y);
    y = time_ticks(&mut svg, &axis, y);
    y = distribution(&mut svg, chart.latency, y + 10.0);
    y = tools(&mut svg, &chart.tools, y + 10.0);
    let height = (y + 12.0).ceil();
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"{WIDTH_PX}\" height=\"{height}\" \
         viewBox=\"0 0 {WIDTH_PX} {height}\" font-family=\"sans-serif\" font-size=\"{FONT_PX}\">\n\
         <title>{}</title>\n<rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>\n{}</svg>\n",
        xml_text(&title),
        svg.out
    )
}

fn utc(t: Timestamp, format: &str) -> String {
    i64::try_from(t.0)
        .ok()
        .and_then(chrono::DateTime::from_timestamp_micros)
        .map_or_else(|| format!("@{}us", t.0), |d| d.format(format).to_string())
}

fn same_day(a: Timestamp, b: Timestamp) -> bool {
    utc(a, "%Y-%m-%d") == utc(b, "%Y-%m-%d")
}

/// The legend, wrapping onto more rows when it is wider than the drawing; the next `y`.
fn legend(svg: &mut Svg, mut y: f64) -> f64 {
    enum Swatch {
        Line(&'static str),
        Box(&'static str),
        Mark(&'static str),
    }
    let items = [
        (Swatch::Line(COLOR_P99), "p99 latency per slice", "p99"),
        (
            Swatch::Box(COLOR_REQUESTS),
            "requests answered per slice",
            "requests",
        ),
        (
            Swatch::Mark(COLOR_BAD_GATEWAY),
            "502 Bad Gateway (one mark per request)",
            "bad_gateway",
        ),
        (
            Swatch::Mark(COLOR_EDGE_TIMEOUT),
            "524 edge timeout (one mark per request)",
            "edge_timeout",
        ),
        (Swatch::Box(COLOR_INCIDENT), "incident", "incidents"),
        (
            Swatch::Box(COLOR_DISTRIBUTION),
            "requests per latency bucket",
            "distribution",
        ),
    ];
    svg.out.push_str("<g id=\"legend\">\n");
    let mut x = 20.0;
    for (swatch, label, series) in items {
        let w = 16.0 + text_width_px(label, FONT_PX);
        if x + w > WIDTH_PX - 20.0 {
            x = 20.0;
            y += ROW_PX;
        }
        let _ = writeln!(
            svg.out,
            "<g class=\"legend-item\" data-series=\"{series}\">"
        );
        match swatch {
            Swatch::Line(c) => svg.line(x, y - 4.0, x + 12.0, y - 4.0, c, "swatch"),
            Swatch::Box(c) => {
                let _ = writeln!(
                    svg.out,
                    "<rect class=\"swatch\" x=\"{x:.1}\" y=\"{:.1}\" width=\"12\" height=\"9\" fill=\"{c}\"/>",
                    y - 9.0
                );
            }
            Swatch::Mark(c) => svg.line(x + 6.0, y - 10.0, x + 6.0, y + 1.0, c, "swatch"),
        }
        svg.text(label, x + 16.0, y, Anchor::Start, FONT_PX, "legend-label");
        svg.out.push_str("</g>\n");
        x += w + 18.0;
    }
    svg.out.push_str("</g>\n");
    y + ROW_PX
}

/// What one slice of the time panels spans: `5 s slice`, or `slice` for an empty window.
fn slice_name(chart: &Chart<'_>) -> String {
    let span_us = chart.end.0.saturating_sub(chart.start.0);
    let n = u64::try_from(chart.slices.len()).unwrap_or(u64::MAX).max(1);
    if span_us == 0 {
        "slice".to_owned()
    } else {
        format!("{} slice", span_label(span_us / n))
    }
}

/// A panel's heading; the next `y`.
fn heading(svg: &mut Svg, s: &str, y: f64) -> f64 {
    svg.text(s, PLOT_LEFT_PX, y, Anchor::Start, FONT_PX, "heading");
    y + 10.0
}

/// Right-aligned y tick labels with their tick marks and grid lines; `ticks` are
/// (y, label) from the bottom up. Labels that would crowd the one below are left out.
fn y_ticks(svg: &mut Svg, id: &str, ticks: &[(f64, String)]) {
    let _ = writeln!(svg.out, "<g id=\"{id}\">");
    for (y, label) in ticks {
        svg.line(PLOT_LEFT_PX, *y, PLOT_RIGHT_PX, *y, COLOR_GRID, "grid");
        if svg.text(
            label,
            PLOT_LEFT_PX - 8.0,
            y + 4.0,
            Anchor::End,
            FONT_PX,
            "tick-label",
        ) {
            svg.line(PLOT_LEFT_PX - 5.0, *y, PLOT_LEFT_PX, *y, COLOR_AXIS, "tick");
        }
    }
    svg.out.push_str("</g>\n");
}

/// Centred tick labels under an x axis drawn at `y`, with their tick marks, and the
/// axis title at the right below them; `ticks` are (x, label) from the left. Labels that
/// would crowd one already placed are left out. The next `y`.
fn x_ticks(svg: &mut Svg, id: &str, y: f64, ticks: &[(f64, String)], title: &str) -> f64 {
    let baseline = y + 16.0;
    let _ = writeln!(svg.out, "<g id=\"{id}\">");
    for (x, label) in ticks {
        if svg.text(label, *x, baseline, Anchor::Middle, FONT_PX, "tick-label") {
            svg.line(*x, y, *x, y + 4.0, COLOR_AXIS, "tick");
        }
    }
    svg.text(
        title,
        PLOT_RIGHT_PX,
        baseline + ROW_PX,
        Anchor::End,
        FONT_PX,
        "axis-title",
    );
    svg.out.push_str("</g>\n");
    baseline + ROW_PX
}

/// A plot's two axis lines: up its left edge and along its bottom.
fn axis_lines(svg: &mut Svg, top: f64, bottom: f64) {
    svg.line(PLOT_LEFT_PX, top, PLOT_LEFT_PX, bottom, COLOR_AXIS, "axis");
    svg.line(
        PLOT_LEFT_PX,
        bottom,
        PLOT_RIGHT_PX,
        bottom,
        COLOR_AXIS,
        "axis",
    );
}

/// The note in the middle of a plot with no latency to draw.
fn no_latencies_note(svg: &mut Svg, top: f64, bottom: f64) {
    svg.text(
        "no request latencies in this window",
        f64::midpoint(PLOT_LEFT_PX, PLOT_RIGHT_PX),
        f64::midpoint(top, bottom),
        Anchor::Middle,
        FONT_PX,
        "note",
    );
}

/// Incident spans, the p99 line with a dot per slice, and the 502/524 marks; the next `y`.
fn latency_over_time(svg: &mut Svg, chart: &Chart<'_>, axis: &TimeAxis, y: f64) -> f64 {
    let y = heading(
        svg,
        &format!("p99 latency per {} (log scale)", slice_name(chart)),
        y + 4.0,
    );
    let (top, bottom) = (y, y + LATENCY_PLOT_H_PX);
    let p99s: Vec<u64> = chart.slices.iter().filter_map(|s| s.p99_us).collect();
    let (lo, hi) = match (p99s.iter().min(), p99s.iter().max()) {
        (Some(&lo), Some(&hi)) => decades(lo, hi),
        // Nothing measured: 1 ms to 1 s, with a note.
        _ => (3, 6),
    };
    let scale = LogAxis {
        lo,
        hi,
        a_px: bottom,
        b_px: top,
    };
    y_ticks(svg, "y-axis-latency", &scale.ticks());
    // Incident spans behind everything, over both time panels.
    let spans_bottom = bottom + 24.0 + 10.0 + REQUESTS_PLOT_H_PX;
    svg.out
        .push_str("<g id=\"incidents\" fill=\"#f4c7c3\" fill-opacity=\"0.6\">\n");
    for i in &chart.incidents {
        let a = axis.x(i.start);
        let b = axis.x(i.end).max(a + 2.0);
        let _ = writeln!(
            svg.out,
            "<rect x=\"{a:.1}\" y=\"{top:.1}\" width=\"{:.1}\" height=\"{:.1}\"><title>{}</title></rect>",
            b - a,
            spans_bottom - top,
            xml_text(&i.label)
        );
    }
    svg.out.push_str("</g>\n");
    let col_w = (PLOT_RIGHT_PX - PLOT_LEFT_PX) / chart.slices.len().max(1) as f64;
    let _ = write!(
        svg.out,
        "<polyline id=\"p99\" fill=\"none\" stroke=\"{COLOR_P99}\" stroke-width=\"2\" points=\""
    );
    let mut dots = String::new();
    for (i, s) in chart.slices.iter().enumerate() {
        if let Some(us) = s.p99_us {
            let (x, y) = (PLOT_LEFT_PX + (i as f64 + 0.5) * col_w, scale.at(us as f64));
            let _ = write!(svg.out, "{x:.1},{y:.1} ");
            let _ = writeln!(
                dots,
                "<circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"2.5\"><title>p99 {}</title></circle>",
                duration_label(us)
            );
        }
    }
    svg.out.push_str("\"/>\n");
    let _ = write!(
        svg.out,
        "<g id=\"p99-points\" fill=\"{COLOR_P99}\">\n{dots}</g>\n"
    );
    for (id, color, times, from) in [
        ("bad_gateway", COLOR_BAD_GATEWAY, &chart.bad_gateway, 10.0),
        (
            "edge_timeout",
            COLOR_EDGE_TIMEOUT,
            &chart.edge_timeout,
            20.0,
        ),
    ] {
        let _ = writeln!(
            svg.out,
            "<g id=\"{id}\" stroke=\"{color}\" stroke-width=\"2\">"
        );
        for &t in times {
            let x = axis.x(t);
            let _ = writeln!(
                svg.out,
                "<line x1=\"{x:.1}\" y1=\"{:.1}\" x2=\"{x:.1}\" y2=\"{:.1}\"><title>{id} at {}</title></line>",
                bottom - from,
                bottom - from + 8.0,
                utc(t, "%H:%M:%S%.3f")
            );
        }
        svg.out.push_str("</g>\n");
    }
    if p99s.is_empty() {
        no_latencies_note(svg, top, bottom);
    }
    axis_lines(svg, top, bottom);
    bottom
}

/// Request bars per slice under the latency plot; the next `y`.
fn requests_over_time(svg: &mut Svg, chart: &Chart<'_>, y: f64) -> f64 {
    let y = heading(
        svg,
        &format!("requests answered per {}", slice_name(chart)),
        y + 24.0,
    );
    let (top, bottom) = (y, y + REQUESTS_PLOT_H_PX);
    let max = chart.slices.iter().map(|s| s.requests).max().unwrap_or(0);
    let counts = CountAxis::new(max, top, bottom);
    y_ticks(svg, "y-axis-requests", &counts.ticks());
    let col_w = (PLOT_RIGHT_PX - PLOT_LEFT_PX) / chart.slices.len().max(1) as f64;
    let _ = writeln!(svg.out, "<g id=\"requests\" fill=\"{COLOR_REQUESTS}\">");
    for (i, s) in chart.slices.iter().enumerate() {
        let h = bottom - counts.y(s.requests);
        let _ = writeln!(
            svg.out,
            "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{h:.1}\"><title>{} requests</title></rect>",
            PLOT_LEFT_PX + i as f64 * col_w,
            bottom - h,
            (col_w - 1.0).max(0.5),
            s.requests
        );
    }
    svg.out.push_str("</g>\n");
    axis_lines(svg, top, bottom);
    bottom
}

/// Steps the time axis may tick at, seconds.
const TIME_STEPS_S: [u64; 18] = [
    1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10_800, 21_600, 43_200, 86_400,
];

/// Time tick labels (UTC) under the request bars, and the axis title; the next `y`.
fn time_ticks(svg: &mut Svg, axis: &TimeAxis, y: f64) -> f64 {
    let span_s = axis.span_us / 1_000_000;
    let multi_day = axis.span_us >= 86_400_000_000
        || !same_day(
            Timestamp(axis.start_us),
            Timestamp(axis.start_us + axis.span_us),
        );
    // Dates alone past two months (with the year: a window can span years), dates and
    // times past a day, times within one.
    let (format, sample) = if axis.span_us >= 60 * 86_400_000_000 {
        ("%Y-%m-%d", "2026-11-25")
    } else if multi_day {
        ("%m-%d %H:%M", "11-25 17:05")
    } else {
        ("%H:%M:%S", "17:05:44")
    };
    let label_w = text_width_px(sample, FONT_PX);
    // How many labels fit side by side (a small positive number).
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let room = ((PLOT_RIGHT_PX - PLOT_LEFT_PX) / (label_w + 2.0 * LABEL_GAP_PX)).floor() as u64;
    let room = room.max(2);
    let step_s = TIME_STEPS_S
        .iter()
        .copied()
        .find(|&s| span_s / s < room)
        // Longer than the table allows: whole days.
        .unwrap_or_else(|| (span_s / 86_400 / (room - 1) + 1) * 86_400);
    let format = if format == "%H:%M:%S" && step_s >= 60 {
        "%H:%M"
    } else {
        format
    };
    let step_us = step_s * 1_000_000;
    let first = axis.start_us.div_ceil(step_us) * step_us;
    let mut times: Vec<u64> = (0..)
        .map(|k| first + k * step_us)
        .take_while(|&t| t <= axis.start_us + axis.span_us)
        .take(64)
        .collect();
    if times.is_empty() {
        times.push(axis.start_us);
    }
    let ticks: Vec<(f64, String)> = times
        .into_iter()
        .map(|t| (axis.x(Timestamp(t)), utc(Timestamp(t), format)))
        .collect();
    x_ticks(svg, "x-axis-time", y, &ticks, "time (UTC)")
}

/// The latency distribution: requests per log-scaled latency bucket; the next `y`.
fn distribution(svg: &mut Svg, latency: &Latency, y: f64) -> f64 {
    let y = heading(
        svg,
        "latency distribution: requests per latency bucket (log scale)",
        y + 14.0,
    );
    let (top, bottom) = (y, y + DISTRIBUTION_PLOT_H_PX);
    let h = &latency.hist;
    let (lo, hi) = if h.is_empty() {
        (3, 6)
    } else {
        decades(h.min(), h.max())
    };
    let scale = LogAxis {
        lo,
        hi,
        a_px: PLOT_LEFT_PX,
        b_px: PLOT_RIGHT_PX,
    };
    let mut bars = [0u64; DISTRIBUTION_BUCKETS];
    for v in h.iter_recorded() {
        let x = scale.at(h.median_equivalent(v.value_iterated_to()) as f64);
        let f = (x - PLOT_LEFT_PX) / (PLOT_RIGHT_PX - PLOT_LEFT_PX);
        bars[bucket_index(f, DISTRIBUTION_BUCKETS)] += v.count_at_value();
    }
    let counts = CountAxis::new(bars.iter().copied().max().unwrap_or(0), top, bottom);
    y_ticks(svg, "y-axis-distribution", &counts.ticks());
    let bw = (PLOT_RIGHT_PX - PLOT_LEFT_PX) / DISTRIBUTION_BUCKETS as f64;
    let _ = writeln!(
        svg.out,
        "<g id=\"distribution\" fill=\"{COLOR_DISTRIBUTION}\">"
    );
    for (i, n) in bars.iter().enumerate() {
        if *n == 0 {
            continue;
        }
        let from =
            10f64.powf(f64::from(lo) + f64::from(hi - lo) * i as f64 / DISTRIBUTION_BUCKETS as f64);
        let to = 10f64.powf(
            f64::from(lo) + f64::from(hi - lo) * (i + 1) as f64 / DISTRIBUTION_BUCKETS as f64,
        );
        let bh = bottom - counts.y(*n);
        // Bucket bounds are positive and below 10^10 µs.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let (from, to) = (from as u64, to as u64);
        let _ = writeln!(
            svg.out,
            "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{bh:.1}\"><title>{} to {}: {n} requests</title></rect>",
            PLOT_LEFT_PX + i as f64 * bw,
            bottom - bh,
            (bw - 1.0).max(0.5),
            duration_label(from),
            duration_label(to)
        );
    }
    svg.out.push_str("</g>\n");
    if h.is_empty() {
        no_latencies_note(svg, top, bottom);
    }
    axis_lines(svg, top, bottom);
    x_ticks(
        svg,
        "x-axis-distribution",
        bottom,
        &scale.ticks(),
        "origin response time (log scale)",
    )
}

/// The bar a fraction `f` (0–1, clamped) of the axis falls in, of `buckets` bars.
fn bucket_index(f: f64, buckets: usize) -> usize {
    let scaled = (f.clamp(0.0, 1.0) * buckets as f64).floor();
    // Non-negative and at most `buckets` by the clamp, so the cast cannot wrap.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let idx = scaled as usize;
    idx.min(buckets.saturating_sub(1))
}

/// The slowest tools by p99: names cut to their column, bars, values; the next `y`.
fn tools(svg: &mut Svg, rows: &[ToolRow], y: f64) -> f64 {
    let mut y = heading(svg, "slowest tools by p99 (origin response time)", y + 14.0);
    svg.out.push_str("<g id=\"tools\">\n");
    if rows.is_empty() {
        y += ROW_PX;
        svg.text(
            "no tool calls in this window",
            PLOT_LEFT_PX,
            y,
            Anchor::Start,
            FONT_PX,
            "note",
        );
        svg.out.push_str("</g>\n");
        return y;
    }
    let max = rows.iter().map(|r| r.p99_us).max().unwrap_or(1).max(1);
    let name_w = TOOL_BAR_LEFT_PX - 20.0 - LABEL_GAP_PX;
    for r in rows.iter().take(MAX_TOOLS) {
        y += ROW_PX;
        // The count stays whole; the name is cut with `…` to what is left.
        let count = format!(" ({} req)", count_label(r.requests));
        let name = fit_px(
            &visible(&r.name),
            name_w - text_width_px(&count, FONT_PX),
            FONT_PX,
        ) + &count;
        svg.text(&name, 20.0, y, Anchor::Start, FONT_PX, "tool-name");
        let w = (r.p99_us as f64 / max as f64 * (TOOL_BAR_RIGHT_PX - TOOL_BAR_LEFT_PX)).max(1.0);
        let _ = writeln!(
            svg.out,
            "<rect class=\"tool-bar\" x=\"{TOOL_BAR_LEFT_PX}\" y=\"{:.1}\" width=\"{w:.1}\" height=\"10\" fill=\"{COLOR_P99}\"/>",
            y - 9.0
        );
        svg.text(
            &duration_label(r.p99_us),
            TOOL_BAR_LEFT_PX + w + 6.0,
            y,
            Anchor::Start,
            FONT_PX,
            "tool-value",
        );
    }
    svg.out.push_str("</g>\n");
    y
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_carry_their_unit_and_scale() {
        let rows = [
            (1, "1 µs"),
            (120, "120 µs"),
            (1_000, "1 ms"),
            (4_200, "4.2 ms"),
            (326_143, "326 ms"),
            (1_000_000, "1 s"),
            (41_713_663, "41.7 s"),
            (117_047_295, "117 s"),
            (10_000_000_000, "10000 s"),
        ];
        for (us, label) in rows {
            assert_eq!(duration_label(us), label, "{us} µs");
        }
    }

    #[test]
    fn counts_and_spans_are_short() {
        for (n, label) in [(0, "0"), (950, "950"), (1_200, "1.2k"), (20_000, "20k")] {
            assert_eq!(count_label(n), label);
        }
        assert_eq!(count_label(2_000_000_000), "2G");
        assert_eq!(span_label(850_000), "850 ms");
        assert_eq!(span_label(59_000_000), "59 s");
        assert_eq!(span_label(900_000_000), "15 min");
        assert_eq!(span_label(299_963_000), "5 min");
        assert_eq!(span_label(3 * 365 * 86_400_000_000), "1095 days");
        for n in [1, 3, 7, 40, 99, 101, 999_999] {
            let c = nice_ceiling(n);
            assert!(c >= n && c < n * 3, "{n} → {c}");
        }
    }

    #[test]
    fn log_text_is_xml_safe_and_visible() {
        let hostile = "<a href='x'>&\u{1b}]52;c;AA==\u{7}\u{202e}\u{fffe}\u{0}";
        let out = xml_text(hostile);
        assert_eq!(
            out,
            "&lt;a href=&apos;x&apos;&gt;&amp;\\x1b]52;c;AA==\\x07\\u{202e}\\u{fffe}\\x00"
        );
        assert!(roxmltree::Document::parse(&format!("<t a=\"{out}\">{out}</t>")).is_ok());
    }

    #[test]
    fn long_names_are_cut_with_a_mark_to_their_width() {
        for name in ["W".repeat(200), "検".repeat(200), "a".repeat(200)] {
            let cut = fit_px(&name, 200.0, FONT_PX);
            assert!(cut.ends_with('…'), "{cut}");
            assert!(text_width_px(&cut, FONT_PX) <= 200.0, "{cut}");
        }
        assert_eq!(fit_px("read_file", 200.0, FONT_PX), "read_file");
    }
}
