//! The built-in demo: an embedded journal export (`assets/demo.export`) replayed through
//! the real pipeline.
//!
//! Owns only the timing and, for the live screen, the pace ([`spawn_paced`]: the
//! scenario plays at a multiple of its real speed); decoding is `stream::Decoder`'s,
//! so the demo exercises the same code as a real `journalctl -o export` stream.
//!
//! Times: headless (`sigil-top demo --format …`) the capture keeps its own times
//! (2026-11-25 17:05–17:10 UTC), so a report of the demo says when it happened and is the
//! same every run. On the live screen the scenario is re-timed to now, because the
//! screen's windows, rates and silences are measured against the clock (issue 19, point
//! 6); the screen then names the input [`SCREEN_NAME`], so it never passes re-timed lines
//! off as the capture's (issue 19, point 7).

use std::thread::JoinHandle;

use tokio::sync::mpsc::Sender;

use super::stream::Decoder;
use super::{InputId, ReadOptions, SourceMsg, Timestamp};

/// The demo scenario, journal export format.
pub(crate) const DEMO_EXPORT: &[u8] = include_bytes!("../../assets/demo.export");

/// The demo's input name on the live screen, whose header shows it: it says the times are
/// not the capture's (short enough for a 60-column header).
pub(crate) const SCREEN_NAME: &str = "demo, re-timed to now";

/// Decodes the demo; with `retime_to`, shifted so that its last entry is stamped then
/// (µs since the epoch), else with the capture's own times.
pub(crate) fn entries(
    options: &ReadOptions,
    input: InputId,
    retime_to: Option<Timestamp>,
) -> Vec<super::RawEntry> {
    let mut decoder =
        Decoder::new(options.units.clone(), input).with_filter(options.filter.clone());
    let mut out = Vec::new();
    decoder.feed(DEMO_EXPORT, &mut out);
    decoder.finish(&mut out);
    if let Some(now) = retime_to {
        let last = out.iter().map(|e| e.realtime).max().unwrap_or(now);
        let shift = now.0.saturating_sub(last.0);
        for e in &mut out {
            e.realtime = Timestamp(e.realtime.0.saturating_add(shift));
        }
    }
    out
}

/// Sends `all` as batches, then `CaughtUp` and `Ended`.
fn send_all(all: &[super::RawEntry], batch_max_entries: usize, tx: &Sender<SourceMsg>) {
    for chunk in all.chunks(batch_max_entries.max(1)) {
        if tx.blocking_send(SourceMsg::Batch(chunk.to_vec())).is_err() {
            return;
        }
    }
    if tx.blocking_send(SourceMsg::CaughtUp).is_ok() {
        let _ = tx.blocking_send(SourceMsg::Ended);
    }
}

/// Sends the demo with the capture's own times (headless modes), as batches, then
/// `CaughtUp` and `Ended`.
pub(crate) fn spawn(options: ReadOptions, input: InputId, tx: Sender<SourceMsg>) -> JoinHandle<()> {
    std::thread::spawn(move || {
        let all = entries(&options, input, None);
        send_all(&all, options.batch_max_entries, &tx);
    })
}

/// How fast [`spawn_paced`] plays the scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pace {
    /// This many times its real speed.
    Times(u32),
    /// As fast as the consumer takes it.
    Max,
}

impl Pace {
    /// As typed: `20x`, `max`.
    pub(crate) fn label(self) -> String {
        match self {
            Pace::Times(n) => format!("{n}x"),
            Pace::Max => "max".to_owned(),
        }
    }
}

/// Sends the demo as it happened, `pace` times faster: entries are re-timed so the first
/// is stamped "now" (their spacing, and so every measured latency, is unchanged) and each
/// is sent when its share of the scenario has elapsed. Then `CaughtUp` and `Ended`.
pub(crate) fn spawn_paced(
    options: ReadOptions,
    input: InputId,
    tx: Sender<SourceMsg>,
    pace: Pace,
) -> JoinHandle<()> {
    std::thread::spawn(move || {
        let now = Timestamp::now().0;
        if pace == Pace::Max {
            // All at once, ending now.
            let all = entries(&options, input, Some(Timestamp(now)));
            send_all(&all, options.batch_max_entries, &tx);
            return;
        }
        let mut all = entries(&options, input, Some(Timestamp(now)));
        let first = all.first().map_or(now, |e| e.realtime.0);
        for e in &mut all {
            e.realtime = Timestamp(e.realtime.0.saturating_sub(first) + now);
        }
        play(&all, options.batch_max_entries, &tx, pace);
    })
}

/// Replays `text` (journal export or JSON lines, e.g. a snapshot's `journal.export`) at
/// `pace`, keeping its own timestamps: a teammate sees the incident at the times it
/// happened, at the speed they choose.
pub(crate) fn spawn_replay(
    text: Vec<u8>,
    options: ReadOptions,
    input: InputId,
    tx: Sender<SourceMsg>,
    pace: Pace,
) -> JoinHandle<()> {
    std::thread::spawn(move || {
        let mut decoder =
            Decoder::new(options.units.clone(), input).with_filter(options.filter.clone());
        let mut all = Vec::new();
        decoder.feed(&text, &mut all);
        decoder.finish(&mut all);
        for w in decoder.take_warnings() {
            if tx.blocking_send(SourceMsg::Warning(w)).is_err() {
                return;
            }
        }
        all.sort_by_key(|e| e.realtime);
        match pace {
            Pace::Max => {
                for chunk in all.chunks(options.batch_max_entries.max(1)) {
                    if tx.blocking_send(SourceMsg::Batch(chunk.to_vec())).is_err() {
                        return;
                    }
                }
                if tx.blocking_send(SourceMsg::CaughtUp).is_ok() {
                    let _ = tx.blocking_send(SourceMsg::Ended);
                }
            }
            Pace::Times(_) => play(&all, options.batch_max_entries, &tx, pace),
        }
    })
}

/// Sends `all` (time-ordered) so that journal time advances `times` × faster than the
/// wall clock from the first entry on; then `CaughtUp` and `Ended`.
fn play(all: &[super::RawEntry], batch_max_entries: usize, tx: &Sender<SourceMsg>, pace: Pace) {
    let times = match pace {
        Pace::Times(n) => n,
        Pace::Max => u32::MAX,
    };
    let started = std::time::Instant::now();
    let now = all.first().map_or(0, |e| e.realtime.0);
    {
        let mut rest = all;
        while !rest.is_empty() {
            let elapsed_us = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
            let due = now.saturating_add(elapsed_us.saturating_mul(u64::from(times.max(1))));
            let n = rest
                .iter()
                .take(batch_max_entries.max(1))
                .take_while(|e| e.realtime.0 <= due)
                .count();
            if n == 0 {
                // Sleep until the next entry is due (a producer thread: waiting is its job).
                let wait_us = (rest[0].realtime.0 - due) / u64::from(times.max(1));
                std::thread::sleep(std::time::Duration::from_micros(
                    wait_us.clamp(1_000, 100_000),
                ));
                continue;
            }
            if tx
                .blocking_send(SourceMsg::Batch(rest[..n].to_vec()))
                .is_err()
            {
                return;
            }
            rest = &rest[n..];
        }
        if tx.blocking_send(SourceMsg::CaughtUp).is_ok() {
            let _ = tx.blocking_send(SourceMsg::Ended);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::{Unit, UnitFilter};

    #[test]
    fn demo_is_retimed_to_end_now_and_keeps_order() {
        let options = ReadOptions {
            units: UnitFilter {
                units: vec![Unit::new("sigil-mcp"), Unit::new("cloudflared")],
            },
            ..ReadOptions::default()
        };
        let now = Timestamp(1_900_000_000_000_000);
        let entries = entries(&options, 0, Some(now));
        assert!(entries.len() > 1000, "demo has {} entries", entries.len());
        assert_eq!(entries.iter().map(|e| e.realtime).max(), Some(now));
        assert!(entries.windows(2).all(|w| w[0].realtime <= w[1].realtime));
    }

    #[test]
    fn demo_without_retiming_keeps_the_captures_times() {
        let capture = entries(&ReadOptions::default(), 0, None);
        let retimed = entries(&ReadOptions::default(), 0, Some(Timestamp::now()));
        // The capture's first entry: 2026-11-25T17:05:16Z.
        assert_eq!(
            capture.first().map(|e| e.realtime.0),
            Some(1_795_626_316_000_000)
        );
        assert_eq!(capture.len(), retimed.len());
        let shift = retimed[0].realtime.0 - capture[0].realtime.0;
        assert!(capture
            .iter()
            .zip(&retimed)
            .all(|(c, r)| r.realtime.0 - c.realtime.0 == shift));
    }
}
