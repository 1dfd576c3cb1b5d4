//! journalctl's entry filters besides `-u`: `-p/--priority`, `-t/--identifier`,
//! `-b/--boot`, `-g/--grep` (with `--case-sensitive`) and `--cursor`/`--after-cursor`,
//! with journalctl's meaning (systemd 252, `src/journal/journalctl.c`).
//!
//! Owns [`EntryFilter`] (what the user asked for, parsed) and the per-entry test
//! [`EntryFilter::is_match`]. Does not own where a filter is applied: the journal source
//! turns priority, identifier and boot into sd-journal matches (as journalctl does) and
//! tests only `--grep` per entry; the text decoders and the demo test everything per
//! entry. `-u` globs live in [`super::UnitFilter`].
//!
//! Resolving `-b -1` (a boot by offset) needs the journal's list of boots, so it is the
//! journal source's job; on a text input only a boot ID can be given (see `config`).

use regex::bytes::Regex;

use super::RawEntry;

/// The filters of one run; the default filters nothing.
#[derive(Debug, Clone, Default)]
pub struct EntryFilter {
    /// `-p`: the priorities shown, bit `n` for priority `n` (0 emerg … 7 debug). An entry
    /// without a `PRIORITY` is then not shown, as with journalctl's `PRIORITY=` matches.
    pub(crate) priorities: Option<u8>,
    /// `-t`: shown when `SYSLOG_IDENTIFIER` is one of these (exact, byte for byte).
    pub(crate) identifiers: Vec<String>,
    /// `-b`: which boot.
    pub(crate) boot: Option<Boot>,
    /// `-g`: the message must match.
    pub(crate) grep: Option<Grep>,
    /// `--cursor` / `--after-cursor`: where reading starts.
    pub(crate) start: Option<StartCursor>,
}

/// `-b [ID][±N]`: a boot by ID, by offset, or by offset from an ID.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Boot {
    /// 32 lower-case hex digits (the form `_BOOT_ID` has); `None`: counted from the ends
    /// of the journal (or the current boot, on the system journal with offset 0).
    pub(crate) id: Option<String>,
    /// With an ID: boots after (+) or before (−) it. Without: `1` the first boot, `2` the
    /// second, `0` the last (the current one on the system journal), `-1` the one before.
    pub(crate) offset: i32,
}

impl Boot {
    /// A plain boot ID with no offset: a filter any input can apply without a boot list.
    pub(crate) fn exact_id(&self) -> Option<&str> {
        self.id.as_deref().filter(|_| self.offset == 0)
    }
}

/// `--grep` compiled, with the rule that chose its case sensitivity.
#[derive(Debug, Clone)]
pub(crate) struct Grep {
    regex: Regex,
}

impl Grep {
    /// journalctl's rule: `case_sensitive` when given, else case-insensitive unless the
    /// pattern has an upper-case letter (`[[:upper:]]`, ASCII: PCRE2 without UCP).
    pub(crate) fn new(pattern: &str, case_sensitive: Option<bool>) -> Result<Grep, FilterError> {
        let is_sensitive =
            case_sensitive.unwrap_or_else(|| pattern.chars().any(|c| c.is_ascii_uppercase()));
        let regex = regex::bytes::RegexBuilder::new(pattern)
            .case_insensitive(!is_sensitive)
            // Bounded compile: a hostile pattern gets an error, not all the memory.
            .size_limit(16 << 20)
            .build()
            .map_err(|e| FilterError::Grep(e.to_string()))?;
        Ok(Grep { regex })
    }

    pub(crate) fn is_match(&self, message: &[u8]) -> bool {
        self.regex.is_match(message)
    }
}

/// `--cursor C` (start at C, or where it would be) or `--after-cursor C` (after it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StartCursor {
    pub(crate) cursor: String,
    pub(crate) is_after: bool,
}

impl StartCursor {
    /// The cursor's realtime (`t=` field, hex µs), to place it in a stream that does not
    /// hold its entry.
    pub(crate) fn realtime_us(&self) -> Option<u64> {
        self.cursor
            .split(';')
            .find_map(|part| part.strip_prefix("t="))
            .and_then(|hex| u64::from_str_radix(hex, 16).ok())
    }
}

/// A filter flag's value that cannot be read; the message says which flag and the forms.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FilterError {
    #[error(
        "-p/--priority: cannot read {0:?}: give emerg, alert, crit, err, warning, notice, \
         info, debug, a number 0-7, or a range like err..warning"
    )]
    Priority(String),
    #[error(
        "-b/--boot: cannot read {0:?}: give a boot ID (32 hex digits), an offset like -1 or \
         +2 (or 1 for the first boot), or ID±N"
    )]
    Boot(String),
    #[error("-g/--grep: {0}")]
    Grep(String),
}

/// syslog's priority names, by number (journalctl's `log_level_from_string`).
const PRIORITY_NAMES: [&str; 8] = [
    "emerg", "alert", "crit", "err", "warning", "notice", "info", "debug",
];

fn priority(text: &str) -> Option<u8> {
    if let Some(n) = PRIORITY_NAMES.iter().position(|n| *n == text) {
        return u8::try_from(n).ok();
    }
    text.parse::<u8>().ok().filter(|n| *n <= 7)
}

/// Reads `-p`: `err` (err and more important: 0..=3), `3`, or `err..warning` (both ends
/// included, in either order), as journalctl does.
pub(crate) fn parse_priorities(text: &str) -> Result<u8, FilterError> {
    let err = || FilterError::Priority(text.to_owned());
    let (from, to) = match text.split_once("..") {
        Some((a, b)) => (priority(a).ok_or_else(err)?, priority(b).ok_or_else(err)?),
        None => (0, priority(text).ok_or_else(err)?),
    };
    let (low, high) = (from.min(to), from.max(to));
    Ok((low..=high).fold(0u8, |mask, p| mask | (1 << p)))
}

/// Reads `-b`'s value: `""`/`0`, `-1`, `+2`, `2`, `ID`, `ID-1`, `ID+1` (an ID may have
/// dashes, as `/proc/sys/kernel/random/boot_id` prints it).
pub(crate) fn parse_boot(text: &str) -> Result<Boot, FilterError> {
    let err = || FilterError::Boot(text.to_owned());
    let t = text.trim();
    let offset = |s: &str| -> Result<i32, FilterError> {
        if s.is_empty() {
            return Ok(0);
        }
        let digits = s.strip_prefix('+').unwrap_or(s);
        digits.parse::<i32>().map_err(|_| err())
    };
    let hex: String = t
        .chars()
        .take_while(|c| c.is_ascii_hexdigit() || *c == '-')
        .filter(|c| *c != '-')
        .collect();
    if hex.len() >= 32 {
        // An ID, then maybe an offset: the first 32 hex digits are the ID.
        let mut seen = 0;
        let id_end = t
            .char_indices()
            .find_map(|(i, c)| {
                if c.is_ascii_hexdigit() {
                    seen += 1;
                    (seen == 32).then_some(i + 1)
                } else {
                    None
                }
            })
            .ok_or_else(err)?;
        let id = t[..id_end].replace('-', "").to_ascii_lowercase();
        if id.len() != 32 {
            return Err(err());
        }
        return Ok(Boot {
            id: Some(id),
            offset: offset(&t[id_end..])?,
        });
    }
    Ok(Boot {
        id: None,
        offset: offset(t)?,
    })
}

impl EntryFilter {
    /// Whether any filter is set (a reader can skip the per-entry test otherwise).
    pub(crate) fn is_active(&self) -> bool {
        self.priorities.is_some()
            || !self.identifiers.is_empty()
            || self.boot.is_some()
            || self.grep.is_some()
    }

    /// Priority, identifier, boot ID and grep, on one entry (what the text decoders
    /// apply; the journal source has sd-journal do the first three). A relative `-b`
    /// must have been resolved to an ID first: unresolved, it matches nothing.
    pub(crate) fn is_match(&self, entry: &RawEntry) -> bool {
        if let Some(mask) = self.priorities {
            if !entry
                .priority
                .is_some_and(|p| p <= 7 && mask & (1 << p) != 0)
            {
                return false;
            }
        }
        if !self.identifiers.is_empty() {
            let ident = entry.field("SYSLOG_IDENTIFIER");
            if !self.identifiers.iter().any(|i| ident == Some(i.as_bytes())) {
                return false;
            }
        }
        if let Some(boot) = &self.boot {
            match boot.exact_id() {
                Some(id) if entry.origin.boot_id.as_deref() == Some(id) => {}
                _ => return false,
            }
        }
        self.is_grep_match(entry)
    }

    /// `--grep` alone (true without one).
    pub(crate) fn is_grep_match(&self, entry: &RawEntry) -> bool {
        self.grep
            .as_ref()
            .is_none_or(|g| g.is_match(&entry.message))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn priorities_read_names_numbers_and_ranges_as_journalctl_does() {
        let rows: [(&str, u8); 8] = [
            ("err", 0b0000_1111),
            ("3", 0b0000_1111),
            ("emerg", 0b0000_0001),
            ("debug", 0xff),
            ("err..warning", 0b0001_1000),
            ("warning..err", 0b0001_1000),
            ("0..7", 0xff),
            ("info..info", 0b0100_0000),
        ];
        for (text, mask) in rows {
            assert_eq!(parse_priorities(text), Ok(mask), "{text}");
        }
        for bad in ["", "error", "warn", "8", "err..", "..err", "-1", "ERR"] {
            assert!(parse_priorities(bad).is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn boot_reads_offsets_ids_and_ids_with_offsets() {
        let id = "0123456789abcdef0123456789abcdef";
        let rows = [
            ("0", None, 0),
            ("", None, 0),
            ("-1", None, -1),
            ("+2", None, 2),
            ("1", None, 1),
            (id, Some(id), 0),
            ("0123456789ABCDEF0123456789ABCDEF-2", Some(id), -2),
            ("01234567-89ab-cdef-0123-456789abcdef+1", Some(id), 1),
        ];
        for (text, want_id, want_offset) in rows {
            let b = parse_boot(text).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(
                (b.id.as_deref(), b.offset),
                (want_id, want_offset),
                "{text}"
            );
        }
        for bad in ["x", "0123456789abcdef0123456789abcdefzz", "--1", "1.5"] {
            assert!(parse_boot(bad).is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn grep_is_case_insensitive_unless_the_pattern_has_upper_case_or_it_is_asked() {
        let m = |p: &str, cs: Option<bool>, text: &str| {
            Grep::new(p, cs).unwrap().is_match(text.as_bytes())
        };
        assert!(m("error", None, "ERROR here"));
        assert!(!m("Error", None, "ERROR here"));
        assert!(m("Error", None, "an Error"));
        assert!(!m("error", Some(true), "ERROR"));
        assert!(m("ERROR", Some(false), "error"));
        // Non-ASCII upper case does not switch (journalctl's [[:upper:]] is ASCII).
        assert!(m("é", None, "É"));
        assert!(Grep::new("(", None).is_err());
    }

    #[test]
    fn a_cursor_gives_its_realtime() {
        let c = StartCursor {
            cursor: "s=1;i=4;b=2;m=17e6c640;t=6611cd9c7ea40;x=b7".into(),
            is_after: false,
        };
        assert_eq!(c.realtime_us(), Some(0x0006_611c_d9c7_ea40));
        let bad = StartCursor {
            cursor: "garbage".into(),
            is_after: true,
        };
        assert_eq!(bad.realtime_us(), None);
    }
}

/// Whether `text` is a shell glob (`*`, `?` or `[`), as systemd's `string_is_glob`.
/// On the per-entry path (the unit filter asks it of every selected unit), hence memchr.
pub(crate) fn is_glob(text: &str) -> bool {
    memchr::memchr3(b'*', b'?', b'[', text.as_bytes()).is_some()
}

/// `fnmatch(pattern, name, 0)`: `*` any run of bytes, `?` one byte, `[abc]`, `[a-z]`,
/// `[!x]`/`[^x]`, `\` escapes. journalctl matches unit globs with it.
pub(crate) fn glob_match(pattern: &[u8], name: &[u8]) -> bool {
    // Iterative with one backtrack point for the last `*`: linear in practice, never
    // exponential on hostile names.
    let (mut p, mut n) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while n < name.len() {
        let step = match pattern.get(p) {
            Some(b'*') => {
                star = Some((p + 1, n));
                p += 1;
                continue;
            }
            Some(b'?') => Some(p + 1),
            Some(b'[') => class_match(pattern, p, name[n]),
            Some(b'\\') if p + 1 < pattern.len() => (pattern[p + 1] == name[n]).then_some(p + 2),
            Some(c) => (*c == name[n]).then_some(p + 1),
            None => None,
        };
        match step {
            Some(next) => {
                p = next;
                n += 1;
            }
            None => match star {
                Some((sp, sn)) => {
                    p = sp;
                    n = sn + 1;
                    star = Some((sp, sn + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p.min(pattern.len())..].iter().all(|c| *c == b'*')
}

/// A `[...]` class at `pattern[start]` against `c`: the index after the class when `c`
/// is in it, `None` when not. An unclosed `[` is a literal `[`.
fn class_match(pattern: &[u8], start: usize, c: u8) -> Option<usize> {
    let mut i = start + 1;
    let negate = matches!(pattern.get(i), Some(b'!' | b'^'));
    if negate {
        i += 1;
    }
    let mut found = false;
    let mut first = true;
    loop {
        let Some(&x) = pattern.get(i) else {
            // No closing bracket: `[` stands for itself.
            return (c == b'[').then_some(start + 1);
        };
        if x == b']' && !first {
            break;
        }
        first = false;
        if pattern.get(i + 1) == Some(&b'-') && pattern.get(i + 2).is_some_and(|e| *e != b']') {
            let end = pattern[i + 2];
            found |= (x..=end).contains(&c);
            i += 3;
        } else {
            found |= x == c;
            i += 1;
        }
    }
    (found != negate).then_some(i + 1)
}

#[cfg(test)]
mod glob_tests {
    use super::*;

    #[test]
    fn globs_match_as_fnmatch_does() {
        let rows: [(&str, &str, bool); 14] = [
            ("cloudflared*", "cloudflared.service", true),
            ("cloudflared*", "cloudflared-update.timer", true),
            ("cloudflared*", "xcloudflared.service", false),
            ("sigil*", "sigil-mcp.service", true),
            ("*.service", "a.service", true),
            ("*.service", "a.socket", false),
            ("a?c", "abc", true),
            ("a?c", "ac", false),
            ("[ab]*", "b1", true),
            ("[!ab]*", "b1", false),
            ("[a-c]x", "bx", true),
            ("*a*b*c*", "xxaxxbxxcxx", true),
            ("\\*", "*", true),
            ("[", "[", true),
        ];
        for (pattern, name, want) in rows {
            assert_eq!(
                glob_match(pattern.as_bytes(), name.as_bytes()),
                want,
                "{pattern} ~ {name}"
            );
        }
        assert!(is_glob("a*") && is_glob("a?") && is_glob("[a]") && !is_glob("a.service"));
    }

    #[test]
    fn a_hostile_name_against_many_stars_is_fast_and_right() {
        let name = vec![b'a'; 10_000];
        assert!(!glob_match(b"*a*a*a*a*a*a*a*b", &name));
        assert!(glob_match(b"*a*a*a*a*a*a*a*", &name));
    }
}
