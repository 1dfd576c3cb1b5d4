//! The `?` help's text: every key, from the same table the key map uses, then what the
//! screen's figures mean, wrapped here (not by the paragraph) so the rows are known:
//! `UiState::update` scrolls by them and stops at the last, and `widgets::help` draws
//! them. Imports neither the state nor the widgets, so both can use it.

use ratatui::text::{Line, Span};
use unicode_width::UnicodeWidthStr;

use super::action::{DEFINITIONS, HELP};
use super::theme::Theme;

/// Columns of the key column (with its leading and trailing space).
const KEY_COLS: usize = 16;

/// `text` in rows of at most `width` columns, broken at spaces (a word longer than a row
/// is broken where the row ends).
fn wrap(text: &str, width: usize) -> Vec<String> {
    let width = width.max(8);
    let mut rows = Vec::new();
    let mut row = String::new();
    for word in text.split(' ') {
        let w = word.width();
        let used = row.width();
        if used > 0 && used + 1 + w > width {
            rows.push(std::mem::take(&mut row));
        }
        if !row.is_empty() {
            row.push(' ');
        }
        row.push_str(word);
        while row.width() > width {
            let mut cols = 0;
            let mut cut = 0;
            for (i, c) in row.char_indices() {
                let cw = unicode_width::UnicodeWidthChar::width(c).unwrap_or(0);
                if cols + cw > width {
                    break;
                }
                cols += cw;
                cut = i + c.len_utf8();
            }
            let rest = row.split_off(cut);
            rows.push(std::mem::replace(&mut row, rest));
        }
    }
    if !row.is_empty() || rows.is_empty() {
        rows.push(row);
    }
    rows
}

/// The help as rows for an overlay `cols` columns wide inside its border.
pub(crate) fn help_lines(cols: usize, t: Theme) -> Vec<Line<'static>> {
    let text_cols = cols.saturating_sub(KEY_COLS);
    let mut lines = Vec::new();
    let mut add = |key: &str, what: &str, key_style| {
        for (i, row) in wrap(what, text_cols).into_iter().enumerate() {
            let k = if i == 0 { key } else { "" };
            lines.push(Line::from(vec![
                Span::styled(format!(" {k:<w$} ", w = KEY_COLS - 2), key_style),
                Span::raw(row),
            ]));
        }
    };
    for (keys, what) in HELP {
        add(keys, what, t.key());
    }
    add("", "", t.dim());
    add("", "What the figures mean", t.title());
    for (name, what) in DEFINITIONS {
        add(name, what, t.title());
    }
    add("", "", t.dim());
    add(
        "",
        "Filters apply to the log and the requests (level and host only to the log). Colours: blue origin (sigil-mcp), magenta tunnel (cloudflared); NO_COLOR and --theme are honoured.",
        t.dim(),
    );
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrapping_keeps_every_word_and_no_row_is_wider_than_asked() {
        let text = "a few words, then averyveryverylongwordthatneedsbreaking and more";
        for width in [8, 10, 20, 80] {
            let rows = wrap(text, width);
            assert!(rows.iter().all(|r| r.width() <= width), "{width}: {rows:?}");
            assert_eq!(rows.concat().replace(' ', ""), text.replace(' ', ""));
        }
    }
}
