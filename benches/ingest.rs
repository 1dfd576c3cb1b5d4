//! Criterion benchmarks of the ingest path: decoding, parsing each format, and the model.
//!
//! Owns the micro-level numbers; `scripts/bench` owns the end-to-end ones (whole
//! binary, real journal files, against `journalctl`). Inputs are the shared corpus in
//! `tests/data/` (real captures and the generator's scenarios), decoded once up front so
//! each benchmark measures only its own stage:
//! - `decode/export`: [`Decoder`] over export text, fed in 256 KiB chunks as the reader
//!   thread does (bytes and entries per second);
//! - `parse/*`: one format each: the Sigil server's key=value, JSON and native journald
//!   fields, cloudflared's console and `--output json` lines;
//! - `model/parse+apply`: [`Parser`] + [`Model::apply`] over the realistic mix (the
//!   kv-debug capture and every scenario), one fresh model per input, as `report` does.
//!
//! Sample counts and times are kept small so `cargo bench` ends in a few minutes on a
//! shared 2-core machine; pass `-- --measurement-time 10` for steadier numbers.
//!
//! The TUI's frame time (a 160×50 frame over 100k records) is `benches/render.rs`, a
//! target of its own: `cargo bench --bench render`.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};

use sigil_top::config::DEFAULT_UNITS;
use sigil_top::model::{Model, Settings};
use sigil_top::parse::{self, cloudflared, sigil, ParseStats, Parser, Service};
use sigil_top::source::stream::Decoder;
use sigil_top::source::{RawEntry, Unit, UnitFilter};

fn data(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(path)
}

fn watched() -> UnitFilter {
    UnitFilter {
        units: DEFAULT_UNITS.iter().map(|u| Unit::new(u)).collect(),
    }
}

/// The realistic mix: the kv-debug capture and every generated scenario.
fn mix_files() -> Vec<PathBuf> {
    let mut files = vec![data("real/kv-debug/export.txt")];
    let mut scenarios: Vec<PathBuf> = std::fs::read_dir(data("scenarios"))
        .expect("tests/data/scenarios")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "export"))
        .collect();
    scenarios.sort();
    files.extend(scenarios);
    files
}

fn decode(bytes: &[u8]) -> Vec<RawEntry> {
    let mut decoder = Decoder::new(watched(), 0);
    let mut out = Vec::new();
    for chunk in bytes.chunks(256 * 1024) {
        decoder.feed(chunk, &mut out);
    }
    decoder.finish(&mut out);
    out
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

fn bench_decode(c: &mut Criterion) {
    let inputs: Vec<Vec<u8>> = mix_files().iter().map(|p| read(p)).collect();
    let bytes: usize = inputs.iter().map(Vec::len).sum();
    let entries: usize = inputs.iter().map(|b| decode(b).len()).sum();
    let mut group = c.benchmark_group("decode");
    group.throughput(Throughput::Bytes(bytes as u64));
    group.bench_function("export/bytes", |b| {
        b.iter(|| inputs.iter().map(|i| decode(i).len()).sum::<usize>());
    });
    group.throughput(Throughput::Elements(entries as u64));
    group.bench_function("export/entries", |b| {
        b.iter(|| inputs.iter().map(|i| decode(i).len()).sum::<usize>());
    });
    group.finish();
}

/// Entries of `service` from the export at `path`, with a message that `keep` accepts.
fn entries_of(path: &str, service: Service, keep: impl Fn(&[u8]) -> bool) -> Vec<RawEntry> {
    let entries: Vec<RawEntry> = decode(&read(&data(path)))
        .into_iter()
        .filter(|e| parse::service_of(e) == service && keep(&e.message))
        .collect();
    assert!(!entries.is_empty(), "no {service:?} entries in {path}");
    entries
}

/// Native journald records of the Sigil server (`JournalHandler`): the message is bare
/// and the request's details are fields. No capture has them, so they are built from the
/// shape `sigil.rs` documents.
fn native_sigil_entries() -> Vec<RawEntry> {
    let mut text = String::new();
    for i in 0..500u32 {
        let (message, extra) = if i % 2 == 0 {
            (
                "Incoming MCP HTTP request",
                "CLIENT_IP=203.0.113.7\nCF_RAY=8f3a6c1d2b4e5f70-DFW\n".to_owned(),
            )
        } else {
            (
                "Outgoing MCP HTTP response",
                format!("STATUS_CODE=200\nDURATION_MS={}.25\n", i % 700),
            )
        };
        let _ = write!(
            text,
            "__REALTIME_TIMESTAMP={}\n_PID=4242\n_UID=998\n_TRANSPORT=journal\nPRIORITY=6\n\
             SYSLOG_IDENTIFIER=python\n_COMM=python\n_SYSTEMD_UNIT=sigil-mcp.service\n\
             LOGGER=sigil_repos_mcp\nREQUEST_ID=5b0c7a1e-0000-4000-8000-{:012x}\n\
             METHOD=POST\nPATH=/\n{extra}MESSAGE={message}\n\n",
            1_795_626_316_000_000u64 + u64::from(i) * 1000,
            i / 2
        );
    }
    decode(text.as_bytes())
}

fn bench_parse(c: &mut Criterion) {
    let sigil_kv = entries_of("real/kv-debug/export.txt", Service::Sigil, |_| true);
    let sigil_json = entries_of("real/json-debug-json/export.txt", Service::Sigil, |m| {
        m.starts_with(b"{")
    });
    let sigil_native = native_sigil_entries();
    let cf_console = entries_of("real/kv-debug/export.txt", Service::Cloudflared, |m| {
        !m.starts_with(b"{")
    });
    let cf_json = entries_of(
        "real/json-debug-json/export.txt",
        Service::Cloudflared,
        |m| m.starts_with(b"{"),
    );
    let mut group = c.benchmark_group("parse");
    for (name, entries) in [
        ("sigil/kv", &sigil_kv),
        ("sigil/json", &sigil_json),
        ("sigil/journald-fields", &sigil_native),
    ] {
        group.throughput(Throughput::Elements(entries.len() as u64));
        group.bench_function(name, |b| {
            b.iter(|| {
                entries
                    .iter()
                    .map(|e| sigil::parse(e).also.len())
                    .sum::<usize>()
            });
        });
    }
    for (name, entries) in [
        ("cloudflared/console", &cf_console),
        ("cloudflared/json", &cf_json),
    ] {
        group.throughput(Throughput::Elements(entries.len() as u64));
        group.bench_function(name, |b| {
            b.iter(|| {
                let mut state = cloudflared::State::default();
                let mut stats = ParseStats::default();
                entries
                    .iter()
                    .map(|e| state.parse(&e.message, e.pid, &mut stats).also.len())
                    .sum::<usize>()
            });
        });
    }
    group.finish();
}

fn bench_model(c: &mut Criterion) {
    let inputs: Vec<Vec<RawEntry>> = mix_files().iter().map(|p| decode(&read(p))).collect();
    let entries: usize = inputs.iter().map(Vec::len).sum();
    // As `report` runs it: no log and no kept traces (see `config`), everything counted.
    let settings = Settings {
        log_capacity_events: sigil_top::config::HEADLESS_LOG_CAPACITY_EVENTS,
        trace_capacity: sigil_top::config::HEADLESS_TRACE_CAPACITY,
        ..Settings::default()
    };
    let mut group = c.benchmark_group("model");
    group.throughput(Throughput::Elements(entries as u64));
    // `report`: the headless settings. `live`: the defaults, as the live screen keeps a
    // log and recent traces.
    for (name, settings) in [
        ("parse+apply/report", settings),
        ("parse+apply/live", Settings::default()),
    ] {
        group.bench_function(name, |b| {
            b.iter_batched(
                || inputs.clone(),
                |inputs| {
                    let mut incidents = 0;
                    for input in inputs {
                        let mut parser = Parser::new();
                        let mut model = Model::new(settings.clone());
                        for e in input {
                            model.apply(parser.parse(e));
                        }
                        model.finish();
                        incidents += model.detector.incidents.len();
                    }
                    incidents
                },
                BatchSize::LargeInput,
            );
        });
    }
    group.finish();
}

fn small() -> Criterion {
    Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
}

criterion_group! {
    name = ingest;
    config = small();
    targets = bench_decode, bench_parse, bench_model
}
criterion_main!(ingest);
