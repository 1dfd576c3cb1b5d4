//! Colours and text styles of the live screen: `dark`, `light`, and `mono` (chosen for
//! `NO_COLOR`, see <https://no-color.org>: no colour at all, only bold/reverse/dim).
//!
//! Owns every `Style` the widgets use, so a widget says *what* it draws (an error level,
//! the origin unit, a selected row) and never picks a colour itself. Key type: [`Theme`].

use ratatui::style::{Color, Modifier, Style};

use crate::model::detect::Severity;
use crate::parse::Level;

/// Which palette; `Mono` draws with modifiers only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThemeKind {
    Dark,
    Light,
    Mono,
}

/// The styles of one palette.
#[derive(Debug, Clone, Copy)]
pub struct Theme {
    pub(crate) kind: ThemeKind,
}

impl Theme {
    pub fn new(kind: ThemeKind) -> Theme {
        Theme { kind }
    }

    fn fg(self, dark: Color, light: Color) -> Style {
        match self.kind {
            ThemeKind::Dark => Style::new().fg(dark),
            ThemeKind::Light => Style::new().fg(light),
            ThemeKind::Mono => Style::new(),
        }
    }

    /// Plain text.
    #[allow(
        clippy::unused_self,
        reason = "every style is asked of the theme (`t.text()` as `t.dim()`), even the one all palettes share"
    )]
    pub(crate) fn text(self) -> Style {
        Style::new()
    }

    /// Secondary text: times, labels, units of measure.
    pub(crate) fn dim(self) -> Style {
        match self.kind {
            ThemeKind::Mono => Style::new().add_modifier(Modifier::DIM),
            _ => self.fg(Color::DarkGray, Color::Gray),
        }
    }

    /// Panel titles and the product name.
    pub(crate) fn title(self) -> Style {
        self.fg(Color::LightCyan, Color::Blue)
            .add_modifier(Modifier::BOLD)
    }

    pub(crate) fn border(self) -> Style {
        self.fg(Color::DarkGray, Color::Gray)
    }

    /// The border of the focused panel.
    pub(crate) fn border_focused(self) -> Style {
        match self.kind {
            ThemeKind::Mono => Style::new().add_modifier(Modifier::BOLD),
            _ => self.fg(Color::LightCyan, Color::Blue),
        }
    }

    /// The selected row of the focused list.
    pub(crate) fn selected(self) -> Style {
        match self.kind {
            ThemeKind::Mono => Style::new().add_modifier(Modifier::REVERSED),
            ThemeKind::Dark => Style::new()
                .bg(Color::Rgb(40, 52, 72))
                .add_modifier(Modifier::BOLD),
            ThemeKind::Light => Style::new()
                .bg(Color::Rgb(210, 225, 245))
                .add_modifier(Modifier::BOLD),
        }
    }

    /// The status bar's first line.
    pub(crate) fn bar(self) -> Style {
        match self.kind {
            ThemeKind::Mono => Style::new().add_modifier(Modifier::REVERSED),
            ThemeKind::Dark => Style::new().bg(Color::Rgb(30, 34, 42)),
            ThemeKind::Light => Style::new().bg(Color::Rgb(228, 232, 238)),
        }
    }

    pub(crate) fn good(self) -> Style {
        self.fg(Color::LightGreen, Color::Green)
    }

    pub(crate) fn warn(self) -> Style {
        self.fg(Color::Yellow, Color::Rgb(160, 100, 0))
    }

    pub(crate) fn bad(self) -> Style {
        self.fg(Color::LightRed, Color::Red)
            .add_modifier(Modifier::BOLD)
    }

    /// Keys in the hint bar and help.
    pub(crate) fn key(self) -> Style {
        self.fg(Color::LightYellow, Color::Magenta)
            .add_modifier(Modifier::BOLD)
    }

    /// A match of the `/` search (reversed in every palette, so it shows under `NO_COLOR`
    /// and on a selected row alike).
    pub(crate) fn search_match(self) -> Style {
        match self.kind {
            ThemeKind::Mono => Style::new().add_modifier(Modifier::REVERSED | Modifier::UNDERLINED),
            ThemeKind::Dark => Style::new().fg(Color::Black).bg(Color::Yellow),
            ThemeKind::Light => Style::new().fg(Color::Black).bg(Color::LightYellow),
        }
    }

    /// Bars of the histogram and sparklines.
    pub(crate) fn chart(self) -> Style {
        self.fg(Color::Cyan, Color::Blue)
    }

    /// The origin (Sigil MCP server) unit's lines.
    pub(crate) fn origin(self) -> Style {
        self.fg(Color::LightBlue, Color::Blue)
    }

    /// The tunnel (cloudflared) unit's lines.
    pub(crate) fn tunnel(self) -> Style {
        self.fg(Color::LightMagenta, Color::Magenta)
    }

    /// Lines of any other unit (PID 1 about a unit, a third unit given with `-u`).
    pub(crate) fn other_unit(self) -> Style {
        self.fg(Color::Gray, Color::DarkGray)
    }

    pub(crate) fn level(self, level: Level) -> Style {
        match level {
            Level::Trace | Level::Debug => self.dim(),
            Level::Info | Level::Notice => self.text(),
            Level::Warn => self.warn(),
            Level::Error | Level::Critical => self.bad(),
        }
    }

    pub(crate) fn severity(self, severity: Severity) -> Style {
        match severity {
            Severity::Info => self.fg(Color::LightBlue, Color::Blue),
            Severity::Warning => self.warn(),
            Severity::Critical => self.bad(),
        }
    }
}
