//! Model scenarios: generated journal exports (`tests/data/scenarios/`, see its README) with
//! the generator's ground truth, run end to end through real journal files and
//! `sigil-top report --format json`, and compared with that truth.

use serde_json::Value;

use crate::util::{data, sigil_top_ok};

fn report(name: &str) -> Value {
    let export = std::fs::read(data(&format!("scenarios/{name}.export"))).unwrap();
    crate::util::report_of_export(&export)
}

fn truth(name: &str) -> Value {
    let text = std::fs::read(data(&format!("scenarios/{name}.truth.json"))).unwrap();
    serde_json::from_slice(&text).unwrap()
}

/// The incident kinds a scenario must raise, and the start of the `bad_gateway` cause.
struct Expect {
    name: &'static str,
    incidents: &'static [&'static str],
    bad_gateway_cause: Option<&'static str>,
}

const SCENARIOS: &[Expect] = &[
    Expect {
        name: "normal",
        incidents: &[],
        bad_gateway_cause: None,
    },
    Expect {
        name: "restart_502",
        incidents: &["bad_gateway", "stale_sessions"],
        bad_gateway_cause: Some("origin down (restart"),
    },
    Expect {
        name: "crash_502",
        incidents: &["origin_down", "bad_gateway", "stale_sessions"],
        bad_gateway_cause: Some("origin down (crash"),
    },
    Expect {
        name: "edge_timeouts",
        incidents: &["edge_timeout"],
        bad_gateway_cause: None,
    },
    Expect {
        name: "tunnel_flap",
        incidents: &["tunnel_degraded"],
        bad_gateway_cause: None,
    },
    Expect {
        name: "tunnel_down",
        // Issue 16: losing one connection and then all is one incident that escalates.
        incidents: &["tunnel_down"],
        bad_gateway_cause: None,
    },
    Expect {
        name: "stock_format",
        incidents: &["bad_gateway", "stale_sessions"],
        bad_gateway_cause: Some("origin down (restart"),
    },
    Expect {
        name: "json_format",
        incidents: &["bad_gateway", "stale_sessions"],
        bad_gateway_cause: Some("origin down (restart"),
    },
];

#[test]
fn every_scenario_report_matches_its_truth() {
    for e in SCENARIOS {
        let (r, t) = (report(e.name), truth(e.name));
        let name = e.name;
        assert_eq!(r["entries"]["unparsed"], 0, "{name}: every line understood");
        assert_eq!(
            r["requests"]["total"], t["requests"]["total"],
            "{name}: requests the origin answered"
        );
        assert_eq!(
            r["requests"]["by_status"], t["requests"]["by_status"],
            "{name}: statuses"
        );
        assert_eq!(
            r["requests"]["abandoned"], t["requests"]["abandoned"],
            "{name}: answered after the client left"
        );
        for k in ["bad_gateway", "edge_timeout", "client_abort", "disconnects"] {
            assert_eq!(r["tunnel"][k], t["tunnel"][k], "{name}: tunnel.{k}");
        }
        let down = (r["tunnel"]["down_seconds"].as_f64().unwrap()
            - t["tunnel"]["down_seconds"].as_f64().unwrap())
        .abs();
        assert!(
            down <= 1.0,
            "{name}: down_seconds {} vs {}",
            r["tunnel"]["down_seconds"],
            t["tunnel"]["down_seconds"]
        );
        for k in ["restarts", "crashes", "auto_restarts", "errors_5xx"] {
            assert_eq!(r["origin"][k], t["origin"][k], "{name}: origin.{k}");
        }
        let kinds: Vec<&str> = r["incidents"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["kind"].as_str().unwrap())
            .collect();
        for want in e.incidents {
            assert!(
                kinds.contains(want),
                "{name}: expected a {want} incident, got {kinds:?}"
            );
        }
        for got in &kinds {
            assert!(
                e.incidents.contains(got),
                "{name}: unexpected {got} incident in {kinds:?}"
            );
        }
        if let Some(prefix) = e.bad_gateway_cause {
            for i in r["incidents"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|i| i["kind"] == "bad_gateway")
            {
                assert!(
                    i["cause"].as_str().unwrap().starts_with(prefix),
                    "{name}: {}",
                    i["cause"]
                );
            }
        }
    }
}

/// A stock deployment (no ids, no rays, cloudflared at info) is still counted request by
/// request; nothing can be joined exactly, and that is said.
#[test]
fn stock_scenario_has_no_exact_joins_and_says_how_latency_was_found() {
    let r = report("stock_format");
    assert_eq!(r["correlation"]["exact"], 0);
    let src = &r["requests"]["latency_source"];
    assert_eq!(src["exact"], 0);
    assert!(src["derived"].as_u64().unwrap() > 0, "{src}");
}

/// A full tunnel outage: the silence is named, and its length measured.
#[test]
fn tunnel_down_names_the_silence() {
    let r = report("tunnel_down");
    let down = r["incidents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["kind"] == "tunnel_down")
        .unwrap();
    assert!(
        down["cause"]
            .as_str()
            .unwrap()
            .contains("no request reaches this host"),
        "{down}"
    );
    assert_eq!(r["tunnel"]["connection_state_known"], true);
}

/// The built-in demo (`sigil-top demo`, re-timed to now) tells the story its truth records.
#[test]
fn demo_report_matches_its_truth() {
    let out = sigil_top_ok(&["demo", "--format", "json"], None);
    let r: Value = serde_json::from_slice(&out).unwrap();
    let text = std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/demo.truth.json"),
    )
    .unwrap();
    let t: Value = serde_json::from_slice(&text).unwrap();
    assert_eq!(r["requests"]["total"], t["requests"]["total"]);
    for k in ["bad_gateway", "edge_timeout", "client_abort", "disconnects"] {
        assert_eq!(r["tunnel"][k], t["tunnel"][k], "tunnel.{k}");
    }
    for k in ["restarts", "crashes", "auto_restarts"] {
        assert_eq!(r["origin"][k], t["origin"][k], "origin.{k}");
    }
    assert_eq!(r["entries"]["unparsed"], 0);
}

/// Issue 19, point 7: headless, the demo keeps the capture's own times (the live screen
/// re-times it and says so: `tui_e2e::issue_19_the_demo_says_it_is_retimed_at_60_columns`).
#[test]
fn issue_19_the_headless_demo_keeps_the_captures_times() {
    for _ in 0..2 {
        let out = sigil_top_ok(&["demo", "--format", "json"], None);
        let r: Value = serde_json::from_slice(&out).unwrap();
        let start = r["window"]["start"].as_str().unwrap();
        assert!(start.starts_with("2026-11-25T17:05:16"), "{start}");
        let end = r["window"]["end"].as_str().unwrap();
        assert!(end.starts_with("2026-11-25T17:10:"), "{end}");
    }
}

/// Edge timeouts name the slow tool and what the origin did afterwards.
#[test]
fn edge_timeouts_say_which_tool_and_that_the_late_answer_reached_nobody() {
    let r = report("edge_timeouts");
    let inc = r["incidents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["kind"] == "edge_timeout")
        .unwrap();
    let cause = inc["cause"].as_str().unwrap();
    assert!(cause.contains("tool search_repo"), "{cause}");
    assert!(cause.contains("the origin answered 200 after"), "{cause}");
    assert!(cause.ends_with("to nobody"), "{cause}");
}
