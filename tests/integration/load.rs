//! Issue 16: right under real load and in every window. A busy day (the generator's `busy`
//! preset: ~8 requests/s over four tunnel connections, a slow spell of overlapping
//! 100–180 s tool calls the edge gives up on, client aborts among the quick traffic on the
//! same connections, a restart and a crash) in every Sigil format and at cloudflared's
//! debug and info levels, run through the model in process and compared with the
//! generator's truth, which is written by `examples/scenario.rs` and never reads `src/`.
//!
//! Properties, each on every shape: counts equal the truth (edge timeouts, client aborts,
//! 502s, requests); reordering the two units' streams within 1 s changes no count; a window
//! that cuts into the slow spell or the outage counts exactly the failures inside it.
//!
//! The generator is the example binary `cargo test --all-targets` builds next to the tests
//! (`target/debug/examples/scenario`).

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;
use sigil_top::model::{Model, Settings};
use sigil_top::parse::Parser;
use sigil_top::source::stream::Decoder;
use sigil_top::source::{RawEntry, Timestamp, Unit, UnitFilter};

/// The generator, built by `cargo test --all-targets` beside the test binaries.
pub(crate) fn generator() -> PathBuf {
    let bin = crate::util::bin();
    let path = bin
        .parent()
        .expect("target dir")
        .join("examples")
        .join("scenario");
    assert!(
        path.exists(),
        "{} is missing: run the tests with `cargo test --all-targets` (it builds examples/scenario)",
        path.display()
    );
    path
}

/// Runs the generator with `args` (`-o FILE` and the like among them); it must succeed.
pub(crate) fn generate(args: &[&str]) {
    let status = Command::new(generator()).args(args).status().unwrap();
    assert!(status.success(), "the generator failed: {args:?}");
}

struct Run {
    entries: Vec<RawEntry>,
    truth: Value,
}

/// The busy preset in one Sigil format and cloudflared level, decoded into entries.
fn busy(format: &str, level: &str, seed: u64) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let export = dir.path().join("busy.export");
    let truth = dir.path().join("busy.truth.json");
    let seed = seed.to_string();
    let (export_path, truth_path) = (export.to_str().unwrap(), truth.to_str().unwrap());
    generate(&[
        "--preset",
        "busy",
        "--sigil-format",
        format,
        "--cloudflared-level",
        level,
        "--seed",
        &seed,
        "-o",
        export_path,
        "--truth",
        truth_path,
    ]);
    let text = std::fs::read(&export).unwrap();
    let filter = UnitFilter {
        units: vec![
            Unit::new("sigil-mcp.service"),
            Unit::new("cloudflared.service"),
        ],
    };
    let mut decoder = Decoder::new(filter, 0);
    let mut entries = Vec::new();
    decoder.feed(&text, &mut entries);
    decoder.finish(&mut entries);
    let truth = serde_json::from_slice(&std::fs::read(&truth).unwrap()).unwrap();
    Run { entries, truth }
}

/// What the model counts.
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
struct Counts {
    edge_timeouts: u64,
    client_aborts: u64,
    bad_gateway: u64,
    requests: u64,
}

fn model_of<'a>(entries: impl Iterator<Item = &'a RawEntry>, settings: Settings) -> Model {
    let mut parser = Parser::new();
    let mut model = Model::new(settings);
    for e in entries {
        model.apply(parser.parse(e.clone()));
    }
    model.finish();
    model
}

fn headless() -> Settings {
    Settings {
        log_capacity_events: 0,
        trace_capacity: 0,
        keep_timeline: false,
        ..Settings::default()
    }
}

fn counts(model: &Model) -> Counts {
    let s = &model.stats;
    let links = &model.correlator.links;
    Counts {
        edge_timeouts: s.edge_timeout,
        client_aborts: s.client_abort,
        bad_gateway: s.bad_gateway,
        requests: links.exact + links.heuristic + links.tunnel_only + links.origin_only,
    }
}

fn truth_events<'a>(truth: &'a Value, kind: &'a str) -> impl Iterator<Item = &'a Value> + 'a {
    truth["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(move |e| e["kind"] == kind)
}

const SHAPES: &[(&str, &str)] = &[
    ("kv", "debug"),
    ("kv", "info"),
    ("json", "debug"),
    ("json", "info"),
    ("stock", "debug"),
    ("stock", "info"),
];

/// Every failure class exact, in every format: even the stock format, whose lines name no
/// request, has the evidence (the edge's cancel knows the request's age; an answer nobody
/// received names the abort it ended).
fn assert_failures(shape: &str, got: Counts, edge: u64, abort: u64, bad_gateway: u64) {
    assert_eq!(got.bad_gateway, bad_gateway, "{shape}: 502s");
    assert_eq!(
        got.edge_timeouts + got.client_aborts,
        edge + abort,
        "{shape}: cancels"
    );
    assert_eq!(
        (got.edge_timeouts, got.client_aborts),
        (edge, abort),
        "{shape}: edge timeouts and aborts"
    );
}

/// Requests counted once each. The stock format's joins with cloudflared's lines are by
/// time alone (reported as `heuristic`): on the busy days of seeds 1–8 they pair every
/// request but for 2 of 5,243 (seed 1, cloudflared at debug), so it is held to 0.1%; every
/// other format is exact.
fn assert_requests(shape: &str, got: u64, want: u64) {
    assert_requests_within(shape, got, want, 1000);
}

/// As [`assert_requests`], the stock format within `1/per` of the truth.
fn assert_requests_within(shape: &str, got: u64, want: u64, per: u64) {
    if shape.starts_with("stock") {
        assert!(
            got.abs_diff(want) * per <= want,
            "{shape}: {got} requests, truth {want}"
        );
    } else {
        assert_eq!(got, want, "{shape}: every request the edge sent, once");
    }
}

/// Every edge timeout of the slow spell is a 524, every abort an abort, every 502 one
/// request, in each format and level: the cancel goes to the request in flight on its
/// connection whose age fits the edge limit, not to the oldest or the youngest one.
#[test]
fn issue_16_a_busy_day_counts_every_timeout_abort_and_502_in_every_shape() {
    for (seed, &(format, level)) in (1..=3).flat_map(|seed| SHAPES.iter().map(move |s| (seed, s))) {
        let run = busy(format, level, seed);
        let t = &run.truth["tunnel"];
        let got = counts(&model_of(run.entries.iter(), headless()));
        let shape = format!("{format}-{level} seed {seed}");
        assert_failures(
            &shape,
            got,
            t["edge_timeout"].as_u64().unwrap(),
            t["client_abort"].as_u64().unwrap(),
            t["bad_gateway"].as_u64().unwrap(),
        );
        assert_requests(
            &shape,
            got.requests,
            run.truth["requests"]["edge_received"].as_u64().unwrap(),
        );
    }
}

/// The two units are read as two streams: the tunnel's lines may arrive up to a second
/// after the server's lines of the same moment (or before). No count may change.
#[test]
fn issue_16_reordering_the_two_streams_within_a_second_changes_no_count() {
    for &(format, level) in &[("kv", "debug"), ("kv", "info"), ("stock", "debug")] {
        let run = busy(format, level, 2);
        let base = counts(&model_of(run.entries.iter(), headless()));
        for skew_us in [-1_000_000_i64, -300_000, 400_000, 1_000_000] {
            let mut order: Vec<&RawEntry> = run.entries.iter().collect();
            let key = |e: &RawEntry| {
                let tunnel = e
                    .unit
                    .as_ref()
                    .is_some_and(|u| u.as_str().contains("cloudflared"));
                let t = i64::try_from(e.realtime.0).unwrap();
                if tunnel {
                    t + skew_us
                } else {
                    t
                }
            };
            order.sort_by_key(|e| key(e));
            let got = counts(&model_of(order.into_iter(), headless()));
            let shape = format!("{format}-{level}: skew {skew_us} µs");
            assert_eq!(
                (got.edge_timeouts, got.client_aborts, got.bad_gateway),
                (base.edge_timeouts, base.client_aborts, base.bad_gateway),
                "{shape}"
            );
            // Read a second apart, the stock format's time-only joins may miss a few more
            // (9 of 5,202 at +1 s): 0.2%.
            assert_requests_within(&shape, got.requests, base.requests, 500);
        }
    }
}

/// A window (`--since`) that starts inside the slow spell or the outage counts exactly the
/// failures whose lines fall inside it: a 524 whose request began before the window is
/// still a 524, and nothing before the window (read for state) is counted.
#[test]
fn issue_16_a_window_cutting_into_an_incident_counts_the_failures_inside_it() {
    for &(format, level) in &[("kv", "debug"), ("json", "info"), ("stock", "info")] {
        let run = busy(format, level, 3);
        let first = run.entries.first().unwrap().realtime.0;
        let events = |kind: &str, field: &str, from: u64| {
            truth_events(&run.truth, kind)
                .filter(|e| e[field].as_u64().unwrap() >= from)
                .count() as u64
        };
        // Into the slow spell (edge timeouts from ~222 s), into the restart's 502s, and
        // just after the crash's.
        let restart = truth_events(&run.truth, "restart").next().unwrap()["refusing_from_us"]
            .as_u64()
            .unwrap();
        for from in [
            first + 200_000_000,
            first + 235_000_000,
            restart + 1_000_000,
        ] {
            let settings = Settings {
                count_from: Some(Timestamp(from)),
                ..headless()
            };
            let read_from = from - settings.lookback_us;
            let got = counts(&model_of(
                run.entries.iter().filter(|e| e.realtime.0 >= read_from),
                settings,
            ));
            let shape = format!("{format}-{level} from +{} s", (from - first) / 1_000_000);
            assert_failures(
                &shape,
                got,
                events("edge_timeout", "gave_up_us", from),
                events("client_abort", "gave_up_us", from),
                events("bad_gateway", "failed_us", from),
            );
        }
    }
}

/// One entry is counted once: the same journal given twice, a directory and a file in it,
/// `journalctl -o export` of the journal and the journal all report what the journal alone reports
/// (journalctl's identity of an entry: its cursor's sequence number id and number), and
/// the report says how many duplicates it skipped.
#[test]
fn issue_16_a_journal_given_twice_reports_the_same_as_once() {
    let export = std::fs::read(crate::util::data("scenarios/restart_502.export")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = crate::util::make_journal(dir.path(), "x.journal", &export);
    let d = dir.path().to_str().unwrap();
    let f = file.to_str().unwrap();
    // What `journalctl -o export` prints of that journal (its cursors are the journal's),
    // kept outside the directory so that `-D` does not read it.
    let elsewhere = tempfile::tempdir().unwrap();
    let export_path = elsewhere.path().join("copy.export");
    let exported = crate::util::journalctl(&["-D", d, "-o", "export"]);
    std::fs::write(&export_path, exported).unwrap();
    let e = export_path.to_str().unwrap();
    let report = |args: &[&str]| -> Value {
        let mut all = vec!["report", "--format", "json"];
        all.extend_from_slice(args);
        serde_json::from_slice(&crate::util::sigil_top_ok(&all, None)).unwrap()
    };
    let without_dup_count = |mut v: Value| {
        let skipped = v["entries"]["duplicates_skipped"].take();
        (v, skipped.as_u64().unwrap())
    };
    let (once, none) = without_dup_count(report(&["-D", d]));
    assert_eq!(none, 0);
    let total = once["entries"]["total"].as_u64().unwrap();
    assert!(once["tunnel"]["bad_gateway"].as_u64().unwrap() > 0);
    for args in [
        vec!["-D", d, "-D", d],
        vec!["-D", d, "--file", f],
        vec!["-D", d, e],
    ] {
        let (twice, skipped) = without_dup_count(report(&args));
        assert_eq!(twice, once, "{args:?}");
        assert_eq!(skipped, total, "{args:?}: every entry was given twice");
    }
}

/// Hosts are kept apart: a journal directory gathered from two hosts with the same
/// traffic at the same times (`connIndex` 0–3 and pids on both) reports, per host, what
/// each host's journal alone reports, and their sum as the total.
#[test]
fn issue_16_several_hosts_report_each_what_its_own_journal_reports() {
    let export = std::fs::read(crate::util::data("scenarios/crash_502.export")).unwrap();
    let text = String::from_utf8(export).unwrap();
    let as_host = |name: &str, boot: &str| {
        text.replace("_HOSTNAME=mcp-host", &format!("_HOSTNAME={name}"))
            .lines()
            .map(|l| {
                if l.starts_with("_BOOT_ID=") {
                    format!("_BOOT_ID={boot}")
                } else {
                    l.to_owned()
                }
            })
            .collect::<Vec<_>>()
            .join("\n")
            + "\n"
    };
    let a = as_host("host-a", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
    let b = as_host("host-b", "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb");
    assert!(
        a.contains("_HOSTNAME=host-a"),
        "the scenario names its host"
    );
    let both = tempfile::tempdir().unwrap();
    let only_a = tempfile::tempdir().unwrap();
    let only_b = tempfile::tempdir().unwrap();
    crate::util::make_journal(both.path(), "a", a.as_bytes());
    crate::util::make_journal(both.path(), "b", b.as_bytes());
    crate::util::make_journal(only_a.path(), "a", a.as_bytes());
    crate::util::make_journal(only_b.path(), "b", b.as_bytes());
    let report = |dir: &std::path::Path| -> Value {
        let out = crate::util::sigil_top_ok(
            &["report", "--format", "json", "-D", dir.to_str().unwrap()],
            None,
        );
        serde_json::from_slice(&out).unwrap()
    };
    let (all, ra, rb) = (
        report(both.path()),
        report(only_a.path()),
        report(only_b.path()),
    );
    let hosts = all["hosts"].as_array().unwrap();
    assert_eq!(hosts.len(), 2, "{hosts:?}");
    for (host, alone) in [("host-a", &ra), ("host-b", &rb)] {
        let h = hosts.iter().find(|h| h["host"] == host).unwrap();
        let figures = [
            ("bad_gateway", &alone["tunnel"]["bad_gateway"]),
            ("edge_timeout", &alone["tunnel"]["edge_timeout"]),
            ("client_abort", &alone["tunnel"]["client_abort"]),
            ("disconnects", &alone["tunnel"]["disconnects"]),
            ("origin_crashes", &alone["origin"]["crashes"]),
            ("origin_restarts", &alone["origin"]["restarts"]),
        ];
        for (key, want) in figures {
            assert_eq!(&h[key], want, "{host}: {key}");
        }
        let alone_requests: u64 = ["exact", "heuristic", "tunnel_only", "origin_only"]
            .iter()
            .map(|k| alone["correlation"][k].as_u64().unwrap())
            .sum();
        assert_eq!(
            h["requests"].as_u64().unwrap(),
            alone_requests,
            "{host}: requests"
        );
        assert_eq!(
            h["tunnel_connections"], 4,
            "{host}: four connections registered"
        );
    }
    for (section, key) in [
        ("tunnel", "bad_gateway"),
        ("tunnel", "edge_timeout"),
        ("tunnel", "client_abort"),
        ("tunnel", "disconnects"),
        ("origin", "crashes"),
        ("origin", "restarts"),
    ] {
        let sum = ra[section][key].as_u64().unwrap() + rb[section][key].as_u64().unwrap();
        assert_eq!(
            all[section][key].as_u64().unwrap(),
            sum,
            "total {section}.{key}"
        );
    }
    assert!(ra["tunnel"]["bad_gateway"].as_u64().unwrap() > 0);
    // Incidents name their host and are not merged across hosts.
    let per_host_incidents = |r: &Value| r["incidents"].as_array().unwrap().len();
    assert_eq!(
        per_host_incidents(&all),
        per_host_incidents(&ra) + per_host_incidents(&rb)
    );
    assert!(all["incidents"]
        .as_array()
        .unwrap()
        .iter()
        .all(|i| i["host"] == "host-a" || i["host"] == "host-b"));
}

/// cloudflared alone is a full view (issue 16 point 4): with only its debug lines, every
/// request it wrote a response line for is answered, by the status it relayed, with the
/// latency the tunnel saw; nothing it saw answered is "unanswered".
#[test]
fn issue_16_cloudflared_alone_counts_what_it_saw_answered() {
    for seed in [1, 3] {
        let run = busy("kv", "debug", seed);
        let tunnel_only = run.entries.iter().filter(|e| {
            e.unit
                .as_ref()
                .is_some_and(|u| u.as_str() == "cloudflared.service")
        });
        let model = model_of(tunnel_only, headless());
        let s = &model.stats;
        let want = run.truth["requests"]["tunnel_answered"].as_u64().unwrap();
        assert_eq!(s.requests, want, "seed {seed}: answered as cloudflared saw");
        assert_eq!(s.tunnel_view_only, want, "seed {seed}: all from its lines");
        assert_eq!(
            s.unanswered, 0,
            "seed {seed}: nothing it saw answered is unanswered"
        );
        assert_eq!(
            s.latency_tunnel, want,
            "seed {seed}: each with the tunnel's time"
        );
        assert_eq!(s.latency.count(), want, "seed {seed}: latencies recorded");
        let t = &run.truth["tunnel"];
        assert_eq!(
            s.bad_gateway,
            t["bad_gateway"].as_u64().unwrap(),
            "seed {seed}"
        );
        assert_eq!(
            s.edge_timeout + s.client_abort,
            t["edge_timeout"].as_u64().unwrap() + t["client_abort"].as_u64().unwrap(),
            "seed {seed}: cancels"
        );
    }
}

/// With both units the origin's status and time win, and the tunnel's time shows the
/// tunnel's own overhead: each response line paired with its own request (a line given to
/// the next request on the connection shows an overhead of the gap between requests, far
/// above the generator's largest).
#[test]
fn issue_16_the_tunnels_overhead_is_its_own_in_every_format() {
    for format in ["kv", "json", "stock"] {
        let run = busy(format, "debug", 1);
        let model = model_of(run.entries.iter(), headless());
        let s = &model.stats;
        let max_us = run.truth["requests"]["tunnel_overhead_max_us"]
            .as_u64()
            .unwrap();
        let answered = run.truth["requests"]["tunnel_answered"].as_u64().unwrap();
        // The stock format joins by time alone; a few may fail to pair (assert_requests).
        let unjoined_allowed = if format == "stock" { answered / 500 } else { 0 };
        assert!(
            s.tunnel_view_only <= unjoined_allowed,
            "{format}: the origin's view wins ({} counted from the tunnel's)",
            s.tunnel_view_only
        );
        // Every request with the origin's time and a response line has an overhead (the
        // answers nobody received have no response line: under 1%).
        let timed = s.latency_exact + s.latency_derived;
        assert!(
            s.tunnel_overhead.count() * 100 >= timed * 99 && s.tunnel_overhead.count() <= timed,
            "{format}: {} overheads of {timed} requests with the origin's time",
            s.tunnel_overhead.count()
        );
        // HdrHistogram keeps 3 significant digits. The stock format pairs an anonymous
        // Outgoing with its Incoming by time alone, so a rare guess may be off: its 99th
        // percentile is held to the bound, every other format's maximum.
        let got_us = if format == "stock" {
            s.tunnel_overhead.percentile_ms(99.0) * 1000.0
        } else {
            s.tunnel_overhead.max_ms() * 1000.0
        };
        assert!(
            got_us <= max_us as f64 * 1.001 + 1.0,
            "{format}: overhead max {got_us} µs, truth {max_us} µs"
        );
    }
}
