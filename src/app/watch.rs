//! `watch`: follows the inputs and prints incident changes as they happen, running the
//! `--exec` hook for each (log text only on its stdin, never through a shell's parser).

use std::io::Write;

use anyhow::Context;

use super::{open_inputs, print_warnings};
use crate::cli::WatchFormat;
use crate::config::Config;
use crate::model::Model;
use crate::parse::Parser;
use crate::source::SourceMsg;
use crate::view;

/// Follows the inputs and prints incident changes as they happen; `--exec` runs a command
/// per printed change. Ends at the end of input, or on SIGINT/SIGTERM/SIGHUP.
pub(super) async fn run_watch(
    config: &Config,
    format: WatchFormat,
    exec: Option<&str>,
) -> anyhow::Result<()> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut inputs = open_inputs(config)?;
    let mut parser = Parser::new();
    let mut model = Model::new(config.model.clone());
    let mut throttle = view::watch::Throttle::new(5_000_000);
    let mut term = signal(SignalKind::terminate()).context("installing a SIGTERM handler")?;
    let mut hup = signal(SignalKind::hangup()).context("installing a SIGHUP handler")?;
    let mut int = signal(SignalKind::interrupt()).context("installing a SIGINT handler")?;
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
    let mut caught_up = false;
    let stdout = std::io::stdout();
    loop {
        tokio::select! {
            biased;
            _ = term.recv() => break,
            _ = hup.recv() => break,
            _ = int.recv() => break,
            msg = inputs.recv() => match msg {
                Some(SourceMsg::Batch(batch)) => {
                    for e in batch {
                        model.apply(parser.parse(e));
                    }
                }
                Some(SourceMsg::CaughtUp) => caught_up = true,
                Some(SourceMsg::Warning(w)) => print_warnings(&[w]),
                Some(SourceMsg::Error(e)) => return Err(e.into()),
                Some(SourceMsg::Ended) | None => {
                    model.finish();
                    emit_changes(&mut model, &mut throttle, format, exec, &mut stdout.lock())?;
                    break;
                }
            },
            _ = tick.tick(), if caught_up && config.follow => {
                // Live: journal time is wall time, so quiet incidents close on the clock.
                model.tick(crate::source::Timestamp::now());
            }
        }
        emit_changes(&mut model, &mut throttle, format, exec, &mut stdout.lock())?;
    }
    Ok(())
}

fn emit_changes(
    model: &mut Model,
    throttle: &mut view::watch::Throttle,
    format: WatchFormat,
    exec: Option<&str>,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let changes = model.detector.take_changes();
    if changes.is_empty() {
        return Ok(());
    }
    for change in changes {
        if !throttle.admit(&change) {
            continue;
        }
        let Some(incident) = model.detector.incident(change.incident) else {
            continue;
        };
        let json = view::watch::event_json(&change, incident);
        let line = match format {
            WatchFormat::Json => json.to_string(),
            WatchFormat::Text => view::watch::event_text(&change, incident),
        };
        writeln!(out, "{line}").context("writing to standard output")?;
        if let Some(cmd) = exec {
            run_hook(cmd, &json, change.kind.as_str(), incident);
        }
    }
    out.flush().context("writing to standard output")
}

/// Runs the user's `--exec` command with the event on stdin. The command line is the
/// user's own text; log text only ever reaches the hook on stdin and in fixed-vocabulary
/// environment variables, never through the shell's parser.
fn run_hook(
    cmd: &str,
    json: &serde_json::Value,
    event: &str,
    incident: &crate::model::detect::Incident,
) {
    use std::process::{Command, Stdio};
    let spawned = Command::new("/bin/sh")
        .arg("-c")
        .arg(cmd)
        .env("SIGIL_TOP_EVENT", event)
        .env("SIGIL_TOP_KIND", incident.kind.as_str())
        .env("SIGIL_TOP_SEVERITY", incident.severity.as_str())
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn();
    match spawned {
        Ok(mut child) => {
            // The event is a few KiB, well under a pipe's buffer: written here, so it is
            // delivered even when sigil-top exits right after.
            if let Some(mut stdin) = child.stdin.take() {
                let _ = writeln!(stdin, "{json}");
            }
            // Reap it without waiting for it.
            std::thread::spawn(move || {
                let _ = child.wait();
            });
        }
        Err(e) => eprintln!("sigil-top: warning: --exec {cmd:?} could not start: {e}"),
    }
}
