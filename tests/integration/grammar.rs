//! One grammar for what operators type (issues 19 and 20): time spans read as systemd reads
//! them, checked against systemd itself (`systemd-analyze timespan`) over generated text;
//! durations in flags and the config file; `config --check` output that reads back to
//! itself; `-o` meaning the output format in every subcommand.

use std::process::Command;

use crate::util::{bin, run, Rng};

/// What systemd makes of `span`: its µs, or `None` when it refuses it.
fn systemd_timespan(span: &str) -> Option<u64> {
    let out = run(
        Command::new("systemd-analyze").args(["timespan", "--", span]),
        None,
    );
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("\u{3bc}s:"))
        .unwrap_or_else(|| panic!("no µs line in systemd-analyze's output: {text}"));
    Some(line.trim().parse().unwrap())
}

/// Generated spans, well-formed and not: numbers with and without fractions, every unit
/// spelling, spaces, signs and stray characters. systemd and sigil-top must accept the
/// same ones and read them to the same microsecond.
#[test]
fn spans_read_as_systemd_reads_them() {
    const PARTS: [&str; 40] = [
        "1", "2", "30", "90", "0", "1.5", ".5", "0.25", "12.", "007", " ", " ", "  ", "\t", "+",
        "-", ".", "s", "sec", "seconds", "m", "min", "minutes", "mins", "h", "hr", "hours", "d",
        "days", "w", "weeks", "M", "month", "y", "years", "ms", "msec", "us", "\u{b5}s", "x",
    ];
    let mut rng = Rng(0x5EED_0019_0020);
    let mut accepted = 0;
    for _ in 0..300 {
        let mut span = String::new();
        for _ in 0..=rng.below(4) {
            // Mostly number-unit pairs (with or without a space between parts), so that
            // many spans are well-formed; now and then any part at all.
            if rng.below(4) == 0 {
                span.push_str(PARTS[rng.below(PARTS.len())]);
            } else {
                span.push_str(PARTS[10 + rng.below(2)].repeat(rng.below(2)).as_str());
                span.push_str(PARTS[rng.below(10)]);
                span.push_str(PARTS[10].repeat(rng.below(2)).as_str());
                span.push_str(PARTS[17 + rng.below(22)]);
            }
        }
        let want = systemd_timespan(&span);
        let got = sigil_top::duration::parse_us(&span).ok();
        assert_eq!(got, want, "{span:?}: sigil-top {got:?}, systemd {want:?}");
        accepted += usize::from(want.is_some());
    }
    // The generator must exercise both sides.
    assert!(
        accepted > 90,
        "only {accepted} of 300 spans were well-formed"
    );
}

/// What sigil-top prints (`config --check`) systemd reads back to the same value.
#[test]
fn printed_spans_are_read_back_by_systemd() {
    let mut rng = Rng(0x0DD5_7A9E);
    for i in 0..120u32 {
        let us = rng.next() % 10u64.pow(1 + i % 14);
        let text = sigil_top::duration::format_us(us);
        assert_eq!(
            systemd_timespan(&text),
            Some(us),
            "{us} printed as {text:?}"
        );
    }
}

fn sigil_top(args: &[&str]) -> std::process::Output {
    run(Command::new(bin()).args(args), None)
}

/// Flags take the same durations as the config file and `--since`: `--max-p99 1h30m` as
/// `--since -1h30m`; a bad one names the flag and the grammar.
#[test]
fn duration_flags_take_the_time_span_grammar() {
    for good in ["1h30m", "1h 30min", "1.5s", "90", "250ms", "2 days"] {
        let out = sigil_top(&["report", "--max-p99", good, "--since", "-1h30m", "-"]);
        assert!(
            out.status.code() != Some(2),
            "--max-p99 {good:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let out = sigil_top(&["watch", "--exec-timeout", good, "--no-follow", "-"]);
        assert!(
            out.status.success(),
            "--exec-timeout {good:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    for (flag, bad) in [("--max-p99", "5mins"), ("--exec-timeout", "1H")] {
        let sub = if flag == "--max-p99" {
            "report"
        } else {
            "watch"
        };
        let out = sigil_top(&[sub, flag, bad, "-"]);
        assert_eq!(out.status.code(), Some(2), "{flag} {bad}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains(flag) && err.contains(bad) && err.contains("1h 30min"),
            "{err}"
        );
    }
}

/// See: issue 19 (point 7). `config --check FILE` prints every setting (it left out
/// `[window] lookback` and `[incidents] origin_errors_window`), as TOML that `--check`
/// reads back to the same output.
#[test]
fn issue_19_config_check_prints_every_setting_and_reads_back_to_itself() {
    let dir = tempfile::tempdir().unwrap();
    let first = dir.path().join("first.toml");
    std::fs::write(
        &first,
        "[window]\nlookback = \"1h 30min\"\n[incidents]\norigin_errors_window = \"45min\"\n\
         quiet = 90\n[latency]\np99_threshold = \"1.5s\"\n[units]\norigin = \"mcp\"\n",
    )
    .unwrap();
    let check = |path: &std::path::Path| {
        let out = sigil_top(&["config", "--check", path.to_str().unwrap()]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let printed = check(&first);
    for line in [
        "[window]\nlookback = \"1h 30min\"\n",
        "origin_errors_window = \"45min\"\n",
        "quiet = \"1min 30s\"\n",
        "p99_threshold = \"1.5s\"\n",
        "origin = \"mcp.service\"\n",
    ] {
        assert!(printed.contains(line), "{line:?} missing from:\n{printed}");
    }
    let second = dir.path().join("second.toml");
    std::fs::write(&second, &printed).unwrap();
    let again = check(&second);
    // The first line names the file checked; the settings after it are the same.
    let settings = |text: &str| text.split_once('\n').unwrap().1.to_owned();
    assert_eq!(settings(&again), settings(&printed));
    // And every key of the default file is there.
    let default = sigil_top(&["config", "--default"]);
    let default = String::from_utf8(default.stdout).unwrap();
    let keys = |text: &str| -> Vec<String> {
        let table: toml::Table = toml::from_str(text).unwrap();
        let mut keys: Vec<String> = table
            .iter()
            .flat_map(|(s, v)| {
                let t = v.as_table().unwrap();
                t.keys().map(move |k| format!("{s}.{k}"))
            })
            .collect();
        keys.sort();
        keys
    };
    assert_eq!(keys(&printed), keys(&default));
}

/// See: issue 19 (point 7). `-o` is the output format in every subcommand that prints
/// one (`--output`, and `--format` as before, are the same flag); `snapshot` writes to
/// `--output-dir`, and its old `-o DIR` still works but warns (not with `-q`).
#[test]
fn issue_19_o_means_the_output_format_everywhere() {
    let input = crate::util::data("scenarios/crash_502.export");
    let input = input.to_str().unwrap();
    for (sub, format) in [
        ("entries", "json"),
        ("report", "json"),
        ("report", "markdown"),
        ("watch", "text"),
    ] {
        let outputs: Vec<Vec<u8>> = [["-o", format], ["--output", format], ["--format", format]]
            .iter()
            .filter(|f| !(sub == "entries" && f[0] == "--format"))
            .map(|f| {
                let out = sigil_top(&[sub, f[0], f[1], input]);
                assert!(
                    out.status.success(),
                    "{sub} {f:?}: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
                let stderr = String::from_utf8_lossy(&out.stderr);
                assert!(!stderr.contains("warning"), "{sub} {f:?}: {stderr}");
                out.stdout
            })
            .collect();
        assert!(!outputs[0].is_empty(), "{sub} -o {format} printed nothing");
        assert!(
            outputs.windows(2).all(|w| w[0] == w[1]),
            "{sub} -o {format}"
        );
    }
    let report = sigil_top(&["report", "-o", "json", input]);
    serde_json::from_slice::<serde_json::Value>(&report.stdout).expect("-o json is JSON");

    let dir = tempfile::tempdir().unwrap();
    let snapshot = |args: &[&str]| {
        let mut all = vec!["snapshot", input];
        all.extend_from_slice(args);
        let out = sigil_top(&all);
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let bundle = std::path::PathBuf::from(String::from_utf8(out.stdout).unwrap().trim());
        (bundle, String::from_utf8(out.stderr).unwrap())
    };
    let new = dir.path().join("new");
    let (bundle, stderr) = snapshot(&["--output-dir", new.to_str().unwrap()]);
    assert!(bundle.starts_with(&new) && bundle.join("summary.md").exists());
    assert!(stderr.is_empty(), "{stderr}");
    let old = dir.path().join("old");
    let (bundle, stderr) = snapshot(&["-o", old.to_str().unwrap()]);
    assert!(bundle.starts_with(&old) && bundle.join("summary.md").exists());
    assert!(
        stderr.contains("deprecated") && stderr.contains("--output-dir"),
        "{stderr}"
    );
    let quiet = dir.path().join("quiet");
    let (bundle, stderr) = snapshot(&["-q", "--output", quiet.to_str().unwrap()]);
    assert!(bundle.starts_with(&quiet));
    assert!(stderr.is_empty(), "-q: {stderr}");
}

/// The three places a duration is typed read it the same way: for generated spans, good
/// and bad, `--max-p99 X`, a config key `timeout = "X"` and `--since -X` all accept it or
/// all refuse it, and agree on its length.
#[test]
fn flags_config_keys_and_since_spans_share_one_grammar() {
    use clap::Parser;
    use sigil_top::config::{Config, Mode};

    const PARTS: [&str; 16] = [
        "1", "90", "1.5", ".5", " ", "h", "min", "m", "s", "ms", "days", "M", "w", "mins", "x", "+",
    ];
    let now: jiff::Zoned = "2026-11-24T15:30:00+00:00[UTC]".parse().unwrap();
    let now_us = u64::try_from(now.timestamp().as_microsecond()).unwrap();
    let mut rng = Rng(0xD0_0019);
    let mut agreed = [0usize; 2];
    for _ in 0..400 {
        let mut span = String::new();
        for _ in 0..=rng.below(3) {
            span.push_str(PARTS[rng.below(4)]);
            span.push_str(PARTS[4 + rng.below(12)]);
        }
        let span = span.trim().to_owned();
        let flag = Parser::try_parse_from(["sigil-top", "report", "--max-p99", &span, "-"])
            .ok()
            .and_then(|args| Config::from_args_at(args, &now).ok())
            .map(|c| match c.mode {
                Mode::Report { slo, .. } => slo.max_p99_us.unwrap(),
                other => panic!("{other:?}"),
            });
        let key = sigil_top::config_file::parse(&format!("[edge]\ntimeout = \"{span}\"\n"))
            .ok()
            .map(|s| s.edge_timeout_us);
        let since = sigil_top::source::since::parse_time_in(
            &format!("-{span}"),
            now.timestamp(),
            now.time_zone(),
        )
        .ok()
        .map(|t| now_us - t.0);
        assert_eq!(flag, key, "{span:?}: --max-p99 vs config key");
        assert_eq!(flag, since, "{span:?}: --max-p99 vs --since -X");
        agreed[usize::from(flag.is_some())] += 1;
    }
    assert!(agreed[0] > 40 && agreed[1] > 40, "{agreed:?}");
}
