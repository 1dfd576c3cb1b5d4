//! `snapshot` and the live screen's `e`: the window around an incident (or the whole
//! run), rebuilt into a model of exactly those entries and written as a bundle. For the
//! live screen the window's entries are copied out first ([`LiveSnapshot`]), so the
//! rebuilding and writing can run off the screen's loop. `snapshot` reads its inputs twice
//! and holds no history (the first pass finds the window, the second streams it into the
//! bundle); standard input and pipes are first spooled to a temporary file.

use std::io::Write;

use anyhow::Context;

use super::{for_each_history_entry, print_warnings};
use crate::config::Config;
use crate::model::detect::IncidentId;
use crate::model::Model;
use crate::parse::Parser;
use crate::source::{InputSpec, RawEntry, Timestamp};
use crate::view;

/// Margin kept around an incident in its snapshot, before its start and after its end.
const SNAPSHOT_MARGIN_US: u64 = 60_000_000;

/// A model of exactly `entries` (in time order), finished. Each entry is copied only for
/// as long as the model keeps its event.
fn model_of<'a>(
    entries: impl IntoIterator<Item = &'a RawEntry>,
    settings: &crate::model::Settings,
) -> Model {
    let mut parser = Parser::new();
    let mut model = Model::new(settings.clone());
    for e in entries {
        model.apply(parser.parse(e.clone()));
    }
    model.finish();
    model
}

/// The window a snapshot covers: around `incident` (of `model`), else all of `model`.
fn snapshot_window(
    model: &Model,
    incident: Option<IncidentId>,
) -> anyhow::Result<(Timestamp, Timestamp, Option<Timestamp>)> {
    let (first, last) = model.window.unwrap_or((Timestamp(0), Timestamp(0)));
    match incident {
        None => Ok((first, last, None)),
        Some(id) => {
            let inc = model.detector.incident(id).with_context(|| {
                let ids: Vec<String> = model
                    .detector
                    .incidents
                    .iter()
                    .map(|i| format!("#{} {}", i.id, i.kind.as_str()))
                    .collect();
                format!(
                    "no incident {id} in this input (incidents: {})",
                    if ids.is_empty() {
                        "none".into()
                    } else {
                        ids.join(", ")
                    }
                )
            })?;
            let end = inc.end.unwrap_or(inc.last);
            Ok((
                Timestamp(inc.start.0.saturating_sub(SNAPSHOT_MARGIN_US)).max(first),
                Timestamp(end.0.saturating_add(SNAPSHOT_MARGIN_US)).min(last),
                Some(inc.start),
            ))
        }
    }
}

/// The redactor a snapshot uses: the built-in rules, `[redact] patterns`, and
/// `--anonymize-ip`.
fn redactor_for(config: &Config) -> anyhow::Result<crate::text::Redactor> {
    let redactor = crate::text::Redactor::new(&config.redact_patterns)
        .context("compiling the [redact] patterns")?;
    Ok(if config.anonymize_ips {
        redactor.anonymizing_ips()
    } else {
        redactor
    })
}

/// The incident of the window's own model that started nearest `at` (the one the snapshot
/// was asked for, renumbered in the window).
fn nearest_incident(model: &Model, at: Option<Timestamp>) -> Option<IncidentId> {
    let at = at?;
    model
        .detector
        .incidents
        .iter()
        .min_by_key(|i| i.start.0.abs_diff(at.0))
        .map(|i| i.id)
}

/// Builds and writes the bundle for `entries` within `[start, end]`; the incident of the
/// window's own model that started at `incident_start` is the one it is about.
pub fn write_snapshot(
    entries: &[RawEntry],
    window: (Timestamp, Timestamp, Option<Timestamp>),
    config: &Config,
    output: &std::path::Path,
    archive: bool,
) -> anyhow::Result<std::path::PathBuf> {
    let (start, end, incident_start) = window;
    // References, not copies: the window can be most of a large history.
    let in_window: Vec<&RawEntry> = entries
        .iter()
        .filter(|e| (start..=end).contains(&e.realtime))
        .collect();
    let model = model_of(in_window.iter().copied(), &window_settings(config));
    let mut redactor = redactor_for(config)?;
    let selection = view::snapshot::Selection {
        start,
        end,
        incident: nearest_incident(&model, incident_start),
    };
    Ok(view::snapshot::write_bundle(
        &model,
        &in_window,
        &selection,
        &mut redactor,
        output,
        archive,
        &config.units,
    )?)
}

/// The settings of a window's model: the configured ones, but no log. The summary quotes
/// only its sample requests' raw lines, and those are read back from the bundle's
/// `journal.export` ([`view::snapshot::BundleWriter::finish`]); a log of the window would
/// hold up to 100,000 entries for nothing (issue 17: ~100 MiB of peak memory on large
/// entries).
fn window_settings(config: &Config) -> crate::model::Settings {
    let mut settings = config.model.clone();
    settings.log_capacity_events = 0;
    settings
}

/// A snapshot of what a live model holds, taken out of it and ready to be written (the
/// TUI's `e`): the entries of its window, owned, so that the slow part (a model of the
/// window rebuilt, redaction, compression: up to a few hundred ms for a full log) runs
/// on another thread while the screen goes on ([`LiveSnapshot::write`]).
#[derive(Debug)]
pub struct LiveSnapshot {
    entries: Vec<RawEntry>,
    window: (Timestamp, Timestamp, Option<Timestamp>),
    config: Config,
    dir: std::path::PathBuf,
}

impl LiveSnapshot {
    /// Writes it to the default snapshot directory; the path written.
    pub fn write(self) -> anyhow::Result<std::path::PathBuf> {
        write_snapshot(&self.entries, self.window, &self.config, &self.dir, false)
    }
}

/// Snapshot of what a live model holds (the TUI's `e`): around `incident`, else the last
/// 15 minutes kept in the log. Only copies the window's entries out; see [`LiveSnapshot`].
pub fn snapshot_live(
    model: &Model,
    incident: Option<IncidentId>,
    config: &Config,
) -> anyhow::Result<LiveSnapshot> {
    let (first, last) = model.window.unwrap_or((Timestamp(0), Timestamp(0)));
    let window = match incident {
        Some(_) => snapshot_window(model, incident)?,
        None => (
            Timestamp(last.0.saturating_sub(15 * 60 * 1_000_000)).max(first),
            last,
            None,
        ),
    };
    Ok(LiveSnapshot {
        entries: model.log.raw_entries_between(window.0, window.1),
        window,
        config: config.clone(),
        dir: view::snapshot::default_dir(),
    })
}

pub(super) async fn run_snapshot(
    config: &Config,
    incident: Option<u64>,
    output: &std::path::Path,
    archive: bool,
) -> anyhow::Result<()> {
    // Standard input and pipes cannot be read twice: they are spooled to a temporary
    // file (deleted when this returns), so memory stays bounded whatever their size; the
    // disk holds one copy of the input meanwhile.
    let mut config = config.clone();
    let mut spooled = Vec::new();
    for spec in &mut config.inputs {
        if can_read_twice(spec) {
            continue;
        }
        let tmp = spool(spec)?;
        *spec = InputSpec::TextFile(tmp.path().to_owned());
        spooled.push(tmp);
    }
    let path = snapshot_streamed(&config, incident, output, archive).await?;
    drop(spooled);
    let mut out = std::io::stdout().lock();
    writeln!(out, "{}", path.display())
        .and_then(|()| out.flush())
        .context("writing to standard output")
}

/// Whether a second pass over `spec` sees the same entries: not standard input, nor a
/// text input that is a pipe (`snapshot <(journalctl -o export)`).
fn can_read_twice(spec: &InputSpec) -> bool {
    match spec {
        InputSpec::Stdin => false,
        InputSpec::TextFile(path) => std::fs::metadata(path).is_ok_and(|m| m.is_file()),
        InputSpec::System | InputSpec::Directory(_) | InputSpec::Files(_) | InputSpec::Demo => true,
    }
}

/// Copies an input that cannot be read twice (standard input, a pipe) into a temporary
/// file, byte for byte. Blocking: the headless `snapshot` has nothing else to run.
fn spool(spec: &InputSpec) -> anyhow::Result<tempfile::NamedTempFile> {
    let mut tmp = tempfile::Builder::new()
        .prefix("sigil-top-snapshot-input-")
        .tempfile()
        .context("creating a temporary file to hold the input (TMPDIR)")?;
    let copied = match spec {
        InputSpec::TextFile(path) => std::fs::File::open(path)
            .with_context(|| format!("opening {}", crate::text::display(&path.to_string_lossy())))
            .and_then(|mut f| Ok(std::io::copy(&mut f, &mut tmp)?)),
        _ => Ok(std::io::copy(&mut std::io::stdin().lock(), &mut tmp)?),
    };
    copied.context("copying the input to a temporary file")?;
    Ok(tmp)
}

/// Two passes over inputs that can be read again (journals, files), holding no history:
/// the first finds the window (the incident's, or all), the second writes each entry of
/// the window to the bundle's `journal.export` as it comes and builds the window's model.
/// Memory is the two bounded models, whatever the window's size. See: issue 17.
async fn snapshot_streamed(
    config: &Config,
    incident: Option<u64>,
    output: &std::path::Path,
    archive: bool,
) -> anyhow::Result<std::path::PathBuf> {
    let window = {
        // Only the incidents and the window's bounds are needed from the first pass.
        let mut settings = config.model.clone();
        settings.log_capacity_events = 0;
        settings.trace_capacity = 0;
        let mut parser = Parser::new();
        let mut whole = Model::new(settings);
        let warnings = for_each_history_entry(config, |e| {
            whole.apply(parser.parse(e));
            Ok(())
        })
        .await?;
        print_warnings(&warnings);
        whole.finish();
        snapshot_window(&whole, incident.map(IncidentId))?
    };
    let (start, end, incident_start) = window;
    let mut redactor = redactor_for(config)?;
    let mut writer = view::snapshot::BundleWriter::create(output)?;
    let mut parser = Parser::new();
    let mut model = Model::new(window_settings(config));
    for_each_history_entry(config, |e| {
        if (start..=end).contains(&e.realtime) {
            writer.add(&e, &mut redactor)?;
            model.apply(parser.parse(e));
        }
        Ok(())
    })
    .await?;
    model.finish();
    let selection = view::snapshot::Selection {
        start,
        end,
        incident: nearest_incident(&model, incident_start),
    };
    Ok(writer.finish(&model, &selection, &mut redactor, archive, &config.units)?)
}
