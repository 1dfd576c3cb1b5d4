//! The TOML config file: thresholds, windows, unit names and limits, every key optional.
//!
//! Owns the file's keys, their defaults (the model's [`Settings`] defaults), the commented
//! default file `sigil-top config --default` prints, and errors that name the file, line,
//! key and what is allowed. Does not own flags (`cli`) or their precedence (`config`).
//!
//! Where it is read: `--config FILE`, else `$XDG_CONFIG_HOME/sigil-top/config.toml`
//! (`~/.config/sigil-top/config.toml`) when that file exists.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::duration::{self, ACCEPTED_DURATION_FORMS};
use crate::model::Settings;
use crate::source::Unit;

/// The commented default configuration.
pub(crate) const DEFAULT_TOML: &str = r#"# sigil-top configuration. Every key is optional; the values shown are the defaults.
# Durations are time spans as systemd reads them: "250ms", "30s", "1.5s", "5m", "1h 30min",
# "2 days" (a bare number is seconds); the same grammar as --max-p99 and --since -1h30m.

[units]
origin = "sigil-mcp.service"    # the Sigil MCP server's unit (watched when no -u is given)
tunnel = "cloudflared.service"  # cloudflared's unit (watched when no -u is given)

[edge]
timeout = "100s"                # Cloudflare's proxy read timeout: a cancel after this long is an edge timeout (524)

[window]
lookback = "5m"                # before a --since window, read this much for state only (tunnel
                                # connections, origin state, requests in flight); never counted

[incidents]
quiet = "60s"                   # an incident closes after this long without a new signal
origin_errors_window = "15m"    # sporadic origin 5xx this close together are one incident (count, rate)
stale_session_window = "60s"    # 400s on the MCP endpoint this soon after a restart are stale sessions
stall = "10s"                   # the server silent this long while the tunnel sees traffic: stalled

[latency]                       # the latency incident: p99 over a window above a threshold
window = "60s"
p99_threshold = "5s"
windows_to_open = 3             # consecutive windows over the threshold before it opens
windows_to_close = 2            # consecutive windows under it before it closes
min_requests = 20               # windows with fewer requests are not judged

[screen]
lookback = "15m"                # the live screen over the running journal starts this far back ("0s": the whole journal)

[redact]                        # snapshots: extra regexes whose matches are replaced by <redacted>
patterns = []                   # e.g. ["sk-[A-Za-z0-9]{20,}"]

[limits]                        # memory bounds
log_events = 100000             # events kept for the log view
traces = 50000                  # correlated requests kept for the request view and snapshots
pending_requests = 10000        # unanswered requests tracked at once
pending_ttl = "15m"             # an unanswered request is given up after this long
"#;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    units: UnitsSection,
    #[serde(default)]
    edge: EdgeSection,
    #[serde(default)]
    window: WindowSection,
    #[serde(default)]
    incidents: IncidentsSection,
    #[serde(default)]
    latency: LatencySection,
    #[serde(default)]
    limits: LimitsSection,
    #[serde(default)]
    redact: RedactSection,
    #[serde(default)]
    screen: ScreenSection,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ScreenSection {
    lookback: Option<Duration>,
}

/// How far back the live screen starts over the running journal, unless `--since` says.
pub(crate) const DEFAULT_SCREEN_LOOKBACK_US: u64 = 15 * 60 * 1_000_000;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RedactSection {
    #[serde(default)]
    patterns: Vec<String>,
}

/// What a config file gives: the model's settings, the snapshot redaction patterns and
/// the live screen's look-back.
#[derive(Debug, Clone)]
pub(crate) struct Loaded {
    pub(crate) settings: Settings,
    pub(crate) redact_patterns: Vec<String>,
    /// µs; 0 reads the whole journal.
    pub(crate) screen_lookback_us: u64,
}

impl Default for Loaded {
    fn default() -> Loaded {
        Loaded {
            settings: Settings::default(),
            redact_patterns: Vec::new(),
            screen_lookback_us: DEFAULT_SCREEN_LOOKBACK_US,
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct UnitsSection {
    origin: Option<String>,
    tunnel: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct EdgeSection {
    timeout: Option<Duration>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct WindowSection {
    lookback: Option<Duration>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct IncidentsSection {
    quiet: Option<Duration>,
    origin_errors_window: Option<Duration>,
    stale_session_window: Option<Duration>,
    stall: Option<Duration>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct LatencySection {
    window: Option<Duration>,
    p99_threshold: Option<Duration>,
    windows_to_open: Option<u32>,
    windows_to_close: Option<u32>,
    min_requests: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct LimitsSection {
    log_events: Option<usize>,
    traces: Option<usize>,
    pending_requests: Option<usize>,
    pending_ttl: Option<Duration>,
}

/// A duration in systemd's time-span grammar (`"250ms"`, `"1h 30min"`, [`duration`]), or
/// a bare TOML integer of seconds (as a bare number is in that grammar).
#[derive(Debug, Clone, Copy)]
struct Duration(u64);

impl<'de> Deserialize<'de> for Duration {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Text(String),
            Seconds(u64),
        }
        match Raw::deserialize(d)? {
            Raw::Seconds(s) => Ok(Duration(s.saturating_mul(1_000_000))),
            Raw::Text(t) => duration::parse_us(&t).map(Duration).map_err(|e| {
                serde::de::Error::custom(format!(
                    "invalid duration {t:?} ({e}): use {ACCEPTED_DURATION_FORMS}"
                ))
            }),
        }
    }
}

/// A config file that cannot be used; the message names the file, line and key.
#[derive(Debug, thiserror::Error)]
pub enum ConfigFileError {
    #[error("reading config file {path}: {message}")]
    Read { path: String, message: String },
    #[error("config file {path}: {message}")]
    Invalid { path: String, message: String },
}

/// The default location, `$XDG_CONFIG_HOME/sigil-top/config.toml` ([`crate::paths`]).
pub(crate) fn default_path() -> Option<PathBuf> {
    crate::paths::config_file()
}

/// Reads `path` (given: must exist) or the default location (used only if it exists) and
/// applies it on top of the defaults.
pub(crate) fn load(path: Option<&Path>) -> Result<Loaded, ConfigFileError> {
    let (path, required) = match path {
        Some(p) => (p.to_path_buf(), true),
        None => match default_path() {
            Some(p) => (p, false),
            None => return Ok(Loaded::default()),
        },
    };
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        // The implicit default location is optional: missing, or behind a directory this
        // user cannot enter (e.g. HOME=/root under another uid), means "no config file".
        Err(e)
            if !required
                && matches!(
                    e.kind(),
                    std::io::ErrorKind::NotFound | std::io::ErrorKind::PermissionDenied
                ) =>
        {
            return Ok(Loaded::default());
        }
        Err(e) => {
            return Err(ConfigFileError::Read {
                path: path.display().to_string(),
                message: e.to_string(),
            })
        }
    };
    parse_all(&text).map_err(|message| ConfigFileError::Invalid {
        path: path.display().to_string(),
        message,
    })
}

/// Settings from config text on top of the defaults; the error text has the line and key.
pub fn parse(text: &str) -> Result<Settings, String> {
    parse_all(text).map(|l| l.settings)
}

/// Everything a config text gives; the error text has the line and key.
pub(crate) fn parse_all(text: &str) -> Result<Loaded, String> {
    let file: File = toml::from_str(text).map_err(|e| e.to_string().trim_end().to_owned())?;
    for p in &file.redact.patterns {
        regex::Regex::new(p)
            .map_err(|e| format!("[redact] patterns: {p:?} is not a valid regex: {e}"))?;
    }
    let redact_patterns = file.redact.patterns.clone();
    let screen_lookback_us = file
        .screen
        .lookback
        .map_or(DEFAULT_SCREEN_LOOKBACK_US, |Duration(us)| us);
    let settings = settings_of(file)?;
    Ok(Loaded {
        settings,
        redact_patterns,
        screen_lookback_us,
    })
}

/// A TOML string (quoted and escaped by the `toml` crate, so any unit name or pattern
/// stays one valid value).
fn toml_string(s: &str) -> String {
    toml::Value::String(s.to_owned()).to_string()
}

/// The effective configuration as TOML, in the layout of [`DEFAULT_TOML`]: what
/// `config --check FILE` prints (parsing it back gives the same settings).
pub(crate) fn to_toml(loaded: &Loaded) -> String {
    let s = &loaded.settings;
    let d = duration::format_us;
    let patterns: Vec<String> = loaded
        .redact_patterns
        .iter()
        .map(|p| toml_string(p))
        .collect();
    format!(
        "[units]\norigin = {}\ntunnel = {}\n\n\
[edge]\ntimeout = \"{}\"\n\n\
[window]\nlookback = \"{}\"\n\n\
[incidents]\nquiet = \"{}\"\norigin_errors_window = \"{}\"\nstale_session_window = \"{}\"\nstall = \"{}\"\n\n\
[latency]\nwindow = \"{}\"\np99_threshold = \"{}\"\nwindows_to_open = {}\nwindows_to_close = {}\nmin_requests = {}\n\n\
[screen]\nlookback = \"{}\"\n\n\
[redact]\npatterns = [{}]\n\n\
[limits]\nlog_events = {}\ntraces = {}\npending_requests = {}\npending_ttl = \"{}\"\n",
        toml_string(s.origin_unit.as_str()),
        toml_string(s.tunnel_unit.as_str()),
        d(s.edge_timeout_us),
        d(s.lookback_us),
        d(s.incident_quiet_us),
        d(s.origin_errors_window_us),
        d(s.stale_session_window_us),
        d(s.stall_threshold_us),
        d(s.latency_window_us),
        d(s.latency_p99_threshold_us),
        s.latency_windows_to_open,
        s.latency_windows_to_close,
        s.latency_min_requests,
        d(loaded.screen_lookback_us),
        patterns.join(", "),
        s.log_capacity_events,
        s.trace_capacity,
        s.pending_cap_requests,
        d(s.pending_ttl_us),
    )
}

fn settings_of(file: File) -> Result<Settings, String> {
    let mut s = Settings::default();
    if let Some(u) = file.units.origin {
        s.origin_unit = Unit::new(&u);
    }
    if let Some(u) = file.units.tunnel {
        s.tunnel_unit = Unit::new(&u);
    }
    let set = |slot: &mut u64, v: Option<Duration>| {
        if let Some(Duration(us)) = v {
            *slot = us;
        }
    };
    set(&mut s.edge_timeout_us, file.edge.timeout);
    set(&mut s.lookback_us, file.window.lookback);
    set(&mut s.incident_quiet_us, file.incidents.quiet);
    set(
        &mut s.origin_errors_window_us,
        file.incidents.origin_errors_window,
    );
    set(
        &mut s.stale_session_window_us,
        file.incidents.stale_session_window,
    );
    set(&mut s.stall_threshold_us, file.incidents.stall);
    set(&mut s.latency_window_us, file.latency.window);
    set(&mut s.latency_p99_threshold_us, file.latency.p99_threshold);
    set(&mut s.pending_ttl_us, file.limits.pending_ttl);
    if let Some(n) = file.latency.windows_to_open {
        s.latency_windows_to_open = n.max(1);
    }
    if let Some(n) = file.latency.windows_to_close {
        s.latency_windows_to_close = n.max(1);
    }
    if let Some(n) = file.latency.min_requests {
        s.latency_min_requests = n;
    }
    if let Some(n) = file.limits.log_events {
        s.log_capacity_events = n.max(1);
    }
    if let Some(n) = file.limits.traces {
        s.trace_capacity = n.max(1);
    }
    if let Some(n) = file.limits.pending_requests {
        s.pending_cap_requests = n.max(1);
    }
    if s.latency_window_us == 0 {
        return Err("[latency] window: must be longer than 0s".into());
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_commented_default_parses_to_the_built_in_defaults() {
        let parsed = parse(DEFAULT_TOML).unwrap();
        let d = Settings::default();
        assert_eq!(parsed.edge_timeout_us, d.edge_timeout_us);
        assert_eq!(parsed.latency_p99_threshold_us, d.latency_p99_threshold_us);
        assert_eq!(parsed.pending_ttl_us, d.pending_ttl_us);
        assert_eq!(parsed.log_capacity_events, d.log_capacity_events);
        assert_eq!(parsed.origin_unit, d.origin_unit);
    }

    #[test]
    fn every_key_is_optional_and_values_apply() {
        let s = parse("[edge]\ntimeout = \"120s\"\n[units]\norigin = \"mcp\"\n").unwrap();
        assert_eq!(s.edge_timeout_us, 120_000_000);
        assert_eq!(s.origin_unit.as_str(), "mcp.service");
        assert_eq!(parse("").unwrap().edge_timeout_us, 100_000_000);
    }

    #[test]
    fn a_bad_key_or_value_names_the_line_and_what_is_allowed() {
        let err =
            parse("[edge]\ntimeout = \"100s\"\n\n[latency]\np99_treshold = \"2s\"\n").unwrap_err();
        assert!(err.contains("line 5"), "{err}");
        assert!(
            err.contains("p99_treshold") && err.contains("p99_threshold"),
            "{err}"
        );
        let err = parse("[edge]\ntimeout = \"soon\"\n").unwrap_err();
        assert!(err.contains("line 2") && err.contains("250ms"), "{err}");
    }

    /// See: issue 19 (point 7). `config --check` prints TOML: the effective settings,
    /// which parse back to the same values, whatever the unit names hold.
    #[test]
    fn issue_19_the_effective_settings_print_as_toml_that_parses_back() {
        for text in [
            "",
            DEFAULT_TOML,
            "[edge]\ntimeout = \"1.5s\"\n[units]\norigin = \"we\\\"ird\\nname\"\n[limits]\npending_ttl = \"90m\"\n[redact]\npatterns = [\"sk-[a-z]+\", 'a\\b']\n",
            "[latency]\nwindow = \"250ms\"\np99_threshold = 7\nmin_requests = 3\n[screen]\nlookback = \"2h\"\n",
        ] {
            let loaded = parse_all(text).unwrap();
            let printed = to_toml(&loaded);
            let again = parse_all(&printed).unwrap_or_else(|e| panic!("{e}\n{printed}"));
            let (a, b) = (&loaded.settings, &again.settings);
            assert_eq!(format!("{a:?}"), format!("{b:?}"), "{printed}");
            assert_eq!(loaded.redact_patterns, again.redact_patterns, "{printed}");
            assert_eq!(loaded.screen_lookback_us, again.screen_lookback_us, "{printed}");
        }
        let printed = to_toml(&parse_all("[edge]\ntimeout = \"120s\"\n").unwrap());
        assert!(
            printed.contains("[edge]\ntimeout = \"2min\"\n"),
            "{printed}"
        );
        assert!(!printed.contains("Settings {"), "{printed}");
    }

    /// `section.key` for every key of a config text.
    fn keys_of(text: &str) -> Vec<String> {
        let table: toml::Table = toml::from_str(text).unwrap();
        let mut keys: Vec<String> = table
            .iter()
            .flat_map(|(section, value)| {
                let inner = value.as_table().expect("every key is in a section");
                inner.keys().map(move |k| format!("{section}.{k}"))
            })
            .collect();
        keys.sort();
        keys
    }

    /// See: issue 19 (point 7). `config --check` printed neither `[window] lookback` nor
    /// `[incidents] origin_errors_window`: every key `config --default` documents is in the
    /// effective output.
    #[test]
    fn issue_19_the_effective_settings_hold_every_key_of_the_default_file() {
        assert_eq!(keys_of(&to_toml(&Loaded::default())), keys_of(DEFAULT_TOML));
    }

    /// Every key set to a generated value: printed, read back and printed again, the text
    /// and the settings are the same (so no key is dropped or changed on the way).
    #[test]
    fn issue_19_any_config_round_trips_through_its_printed_form() {
        let mut state: u64 = 0x2545_F491_4F6C_DD1D;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let spans = [
            "250ms", "1.5s", "90", "1h 30min", "2 days", "1w", "45min", "1M", "7s",
        ];
        for _ in 0..200 {
            let mut text = String::new();
            let mut section = String::new();
            for key in keys_of(DEFAULT_TOML) {
                let (sec, name) = key.split_once('.').unwrap();
                if sec != section {
                    text = text + "[" + sec + "]\n";
                    sec.clone_into(&mut section);
                }
                let pick = usize::try_from(next() % 9).unwrap();
                let value = match (sec, name) {
                    ("units", _) => toml_string(&format!("u{}\"n\\{}", next() % 100, name)),
                    ("redact", _) => "[\"sk-[a-z]+\", 'a\\b']".to_owned(),
                    ("latency", "windows_to_open" | "windows_to_close" | "min_requests")
                    | ("limits", "log_events" | "traces" | "pending_requests") => {
                        (1 + next() % 100_000).to_string()
                    }
                    _ => format!("\"{}\"", spans[pick]),
                };
                text = text + name + " = " + &value + "\n";
            }
            let loaded = parse_all(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
            let printed = to_toml(&loaded);
            let again = parse_all(&printed).unwrap_or_else(|e| panic!("{e}\n{printed}"));
            assert_eq!(to_toml(&again), printed, "{text}");
            let (a, b) = (&loaded.settings, &again.settings);
            assert_eq!(format!("{a:?}"), format!("{b:?}"), "{printed}");
            assert_eq!(loaded.screen_lookback_us, again.screen_lookback_us);
            assert_eq!(loaded.redact_patterns, again.redact_patterns);
        }
    }

    #[test]
    fn durations_are_read_in_systemds_grammar_and_bad_ones_name_it() {
        for (text, us) in [
            ("timeout = \"1h 30min\"", 5_400_000_000),
            ("timeout = \"1.5s\"", 1_500_000),
            ("timeout = \"90\"", 90_000_000),
            ("timeout = 90", 90_000_000),
            ("timeout = \"2 days\"", 172_800_000_000),
        ] {
            let s = parse(&format!("[edge]\n{text}\n")).unwrap();
            assert_eq!(s.edge_timeout_us, us, "{text}");
        }
        let err = parse("[edge]\ntimeout = \"5mins\"\n").unwrap_err();
        assert!(err.contains("5mins") && err.contains("1h 30min"), "{err}");
    }
}
