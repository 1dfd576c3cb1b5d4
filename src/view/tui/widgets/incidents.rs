//! The incidents panel: open and recent incidents, newest first, coloured by severity,
//! each with its one-line likely cause.

use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use crate::model::Model;
use crate::text;

use super::super::state::{Pane, UiState};
use super::{clock_s, duration, panel, selection_style, title};

pub fn render_incidents(frame: &mut Frame, area: Rect, model: &Model, ui: &UiState) {
    let t = ui.theme();
    let is_focused =
        ui.focus == Pane::Incidents && ui.overlay == super::super::state::Overlay::None;
    let total = ui.incidents(model).count();
    let open = ui.incidents(model).filter(|i| i.end.is_none()).count();
    // Incidents are updated in place (counts, end): while paused they are listed as
    // they were, but their figures stay live.
    let detail = if total == 0 {
        "none".to_owned()
    } else {
        format!("{open} open · {total} · ⏎ evidence")
    };
    let block = panel(title("Incidents", detail, t), is_focused, t);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if total == 0 {
        frame.render_widget(
            Paragraph::new(Line::styled(
                "no incidents: no 502s, timeouts or outages seen",
                t.dim(),
            )),
            inner,
        );
        return;
    }
    let rows = usize::from(inner.height);
    let sel = ui.incident_position(model);
    let top = (sel + 1).saturating_sub(rows);
    let width = usize::from(inner.width);
    let lines: Vec<Line> = ui
        .incidents(model)
        .enumerate()
        .skip(top)
        .take(rows)
        .map(|(i, inc)| {
            let sev = t.severity(inc.severity);
            let state = match inc.end {
                None => Span::styled("OPEN ", sev.add_modifier(Modifier::BOLD)),
                Some(end) => Span::styled(
                    format!("{:<5}", duration(end.saturating_since_us(inc.start))),
                    t.dim(),
                ),
            };
            let head = format!(
                "{} {:<8} {} x{} ",
                clock_s(inc.start, ui),
                inc.severity.as_str(),
                inc.kind.as_str(),
                inc.count
            );
            let used = 2 + 5 + unicode_width::UnicodeWidthStr::width(head.as_str());
            let cause = text::display(&inc.cause);
            let (cause, _) = text::fit_width(&cause, width.saturating_sub(used));
            let mut line = Line::from(vec![
                Span::styled("● ", sev),
                state,
                Span::styled(head, sev),
                Span::styled(cause.into_owned(), t.text()),
            ]);
            if i == sel {
                line = line.style(selection_style(is_focused, t));
            }
            line
        })
        .collect();
    frame.render_widget(Paragraph::new(lines), inner);
}
