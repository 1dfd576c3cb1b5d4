//! `report`: the inputs' history through the model, printed in a format, and the SLO
//! gates that make it exit 1 ([`SloBreached`]) or 3 when they had nothing to judge
//! ([`GateReadNothing`]: a selected unit without a single entry in the window).
//! [`build_model`] is the history-to-model step.

use std::io::Write;

use anyhow::Context;

use super::{for_each_history_entry, print_warnings};
use crate::cli::ReportFormat;
use crate::config::{Config, Slo};
use crate::model::Model;
use crate::parse::Parser;
use crate::view;
use crate::view::summary::Summary;

/// Reads the inputs' history into a model, through the parser, and returns it finished,
/// with the inputs' warnings. Memory stays bounded by the model's limits, except that
/// several inputs are first merged in time order (see [`for_each_history_entry`]).
pub(crate) async fn build_model(config: &Config) -> anyhow::Result<(Model, Vec<String>)> {
    let mut parser = Parser::new();
    let mut model = Model::new(config.model.clone());
    let warnings = for_each_history_entry(config, |e| {
        model.apply(parser.parse(e));
        Ok(())
    })
    .await?;
    model.finish();
    Ok((model, warnings))
}

/// A `report` gate was breached: exit status 1 (not an error, which is 2).
#[derive(Debug, thiserror::Error)]
#[error("SLO breached: {0}")]
pub struct SloBreached(pub(crate) String);

/// A `report` gate had nothing to judge: a selected unit had no entries in the window
/// (wrong unit name, wrong directory or host, no permission, a pipe without `-o
/// export`). Exit status 3, so a cron gate over nothing never passes.
#[derive(Debug, thiserror::Error)]
#[error("gate not judged: {0}")]
pub struct GateReadNothing(pub(crate) String);

/// One line per selected unit that has no entry in what was read: "0 entries for
/// sigil-mcp.service between … and …: wrong unit name, or no permission?".
fn units_without_entries(config: &Config, model: &Model) -> Vec<String> {
    let from = config
        .since
        .or(model.window.map(|(start, _)| start))
        .map_or_else(
            || "the start of the input".to_owned(),
            crate::source::Timestamp::to_rfc3339,
        );
    let to = config
        .until
        .or(model.window.map(|(_, end)| end))
        .map_or_else(
            || "its end".to_owned(),
            crate::source::Timestamp::to_rfc3339,
        );
    let inputs: Vec<String> = config
        .inputs
        .iter()
        .map(crate::source::InputSpec::describe)
        .collect();
    config
        .units
        .units
        .iter()
        .filter(|unit| model.entries.by_unit.get(unit.as_str()) == 0)
        .map(|unit| {
            format!(
                "0 entries for {unit} between {from} and {to} in {}: wrong unit name, or no permission?",
                inputs.join(", ")
            )
        })
        .collect()
}

/// The gates `model` breaches, in words; empty when none. They judge the figures the
/// report prints ([`Summary`]).
fn slo_breaches(model: &Model, slo: Slo) -> Vec<String> {
    let traffic = Summary::of(model).traffic;
    let mut out = Vec::new();
    if let Some(max) = slo.max_p99_us {
        // Nothing measured breaches no latency gate.
        let p99_us = traffic.latency.known.map_or(0, |p| p.p99_us);
        if p99_us > max {
            out.push(format!(
                "p99 {:.1} ms > {:.1} ms",
                p99_us as f64 / 1000.0,
                max as f64 / 1000.0
            ));
        }
    }
    if let Some(max) = slo.max_5xx_pct {
        if traffic.requests > 0 {
            let pct = traffic.errors_5xx as f64 * 100.0 / traffic.requests as f64;
            if pct > max {
                out.push(format!("5xx rate {pct:.2}% > {max}%"));
            }
        }
    }
    if let Some(max) = slo.max_502 {
        if traffic.bad_gateway > max {
            out.push(format!("{} 502s > {max}", traffic.bad_gateway));
        }
    }
    out
}

pub(super) async fn run_report(
    config: &Config,
    format: ReportFormat,
    slo: Slo,
) -> anyhow::Result<()> {
    let (model, warnings) = build_model(config).await?;
    print_warnings(&warnings);
    let text = match format {
        ReportFormat::Json => {
            let mut s = serde_json::to_string_pretty(&view::report::to_json(&model))
                .context("encoding the report")?;
            s.push('\n');
            s
        }
        ReportFormat::Text => view::report::to_text(&model),
        ReportFormat::Markdown => view::report::to_markdown(&model),
    };
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .context("writing to standard output")?;
    let empty_units = units_without_entries(config, &model);
    print_warnings(&empty_units);
    let breaches = slo_breaches(&model, slo);
    if !breaches.is_empty() {
        // A breach is a finding even when another unit read nothing.
        return Err(SloBreached(breaches.join("; ")).into());
    }
    if slo.is_gate() && !empty_units.is_empty() {
        return Err(GateReadNothing(format!(
            "{} of the selected units had no entries",
            empty_units.len()
        ))
        .into());
    }
    Ok(())
}
