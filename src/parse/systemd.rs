//! PID 1's lines about a unit: `Stopping …`, `Started …`, `Main process exited, …`,
//! `Failed with result '…'`, `Scheduled restart job, …`, `State 'stop-sigterm' timed out`.
//!
//! These carry `_PID=1` and `UNIT=<unit>`; their `PRIORITY` is real (journal transport),
//! so the level comes from it. Wording is systemd 252–256's; older wordings without the
//! ` - Description` part are accepted too.

use super::{EventKind, Parsed, UnitEvent};
use crate::source::RawEntry;

/// Parses one PID 1 entry. Total: an unknown line is `Unit(Other)`, never `Unparsed`,
/// because every PID 1 line about a watched unit is a recognised kind of record.
pub(crate) fn parse(entry: &RawEntry) -> Parsed {
    let text = super::text_of(&entry.message);
    Parsed::new(None, EventKind::Unit(classify(&text)))
}

fn classify(text: &str) -> UnitEvent {
    // Lines of the form `<unit>: <what>`.
    if let Some((_, what)) = text.split_once(": ") {
        if what.starts_with("Deactivated successfully") {
            return UnitEvent::Deactivated;
        }
        if let Some(rest) = what.strip_prefix("Main process exited, ") {
            let mut code = "";
            let mut status = "";
            for part in rest.split(", ") {
                if let Some(v) = part.strip_prefix("code=") {
                    code = v;
                } else if let Some(v) = part.strip_prefix("status=") {
                    status = v.trim_end_matches('.');
                }
            }
            return UnitEvent::MainExited {
                code: code.into(),
                status: status.into(),
            };
        }
        if let Some(rest) = what.strip_prefix("Failed with result '") {
            let result = rest.split('\'').next().unwrap_or("");
            return UnitEvent::Failed {
                result: result.into(),
            };
        }
        if let Some(rest) = what.strip_prefix("Scheduled restart job, restart counter is at ") {
            let counter = rest.trim_end_matches('.').trim().parse().ok();
            return UnitEvent::ScheduledRestart { counter };
        }
        if what.starts_with("State 'stop-sigterm' timed out")
            || what.starts_with("State 'stop-final-sigterm' timed out")
        {
            return UnitEvent::StopTimedOut;
        }
    }
    if text.starts_with("Starting ") {
        UnitEvent::Starting
    } else if text.starts_with("Started ") {
        UnitEvent::Started
    } else if text.starts_with("Stopping ") {
        UnitEvent::Stopping
    } else if text.starts_with("Stopped ") {
        UnitEvent::Stopped
    } else if text.starts_with("Failed to start ") {
        UnitEvent::Failed {
            result: "start".into(),
        }
    } else {
        UnitEvent::Other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_every_pid1_line_the_docs_and_fixtures_show() {
        let rows: &[(&str, UnitEvent)] = &[
            (
                "Starting cloudflared.service - cloudflared...",
                UnitEvent::Starting,
            ),
            (
                "Started sigil-mcp.service - Sigil MCP Server.",
                UnitEvent::Started,
            ),
            (
                "Stopping sigil-mcp.service - Sigil MCP Server...",
                UnitEvent::Stopping,
            ),
            (
                "Stopped sigil-mcp.service - Sigil MCP Server.",
                UnitEvent::Stopped,
            ),
            (
                "sigil-mcp.service: Deactivated successfully.",
                UnitEvent::Deactivated,
            ),
            (
                "sigil-mcp.service: Main process exited, code=killed, status=9/KILL",
                UnitEvent::MainExited {
                    code: "killed".into(),
                    status: "9/KILL".into(),
                },
            ),
            (
                "sigil-mcp.service: Main process exited, code=exited, status=1/FAILURE",
                UnitEvent::MainExited {
                    code: "exited".into(),
                    status: "1/FAILURE".into(),
                },
            ),
            (
                "sigil-mcp.service: Failed with result 'signal'.",
                UnitEvent::Failed {
                    result: "signal".into(),
                },
            ),
            (
                "sigil-mcp.service: Scheduled restart job, restart counter is at 3.",
                UnitEvent::ScheduledRestart { counter: Some(3) },
            ),
            (
                "sigil-mcp.service: State 'stop-sigterm' timed out. Killing.",
                UnitEvent::StopTimedOut,
            ),
            (
                "sigil-mcp.service: Consumed 1.821s CPU time.",
                UnitEvent::Other,
            ),
            (
                "Failed to start sigil-mcp.service - Sigil MCP Server.",
                UnitEvent::Failed {
                    result: "start".into(),
                },
            ),
        ];
        for (line, want) in rows {
            assert_eq!(&classify(line), want, "line: {line}");
        }
    }
}
