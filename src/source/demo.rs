//! The built-in demo: an embedded journal export (`assets/demo.export`) replayed through
//! the real pipeline, re-timed so its last entry is "now".
//!
//! Owns only the re-timing; decoding is `journalctl::Decoder`'s, so the demo exercises the
//! same code as a real `journalctl -o export` stream.

use std::thread::JoinHandle;

use tokio::sync::mpsc::Sender;

use super::journalctl::Decoder;
use super::{InputId, ReadOptions, SourceMsg, Timestamp};

/// The demo scenario, journal export format.
pub const DEMO_EXPORT: &[u8] = include_bytes!("../../assets/demo.export");

/// Decodes the demo, shifted so that its last entry is stamped `now` (µs since the epoch).
pub fn entries(options: &ReadOptions, input: InputId, now: Timestamp) -> Vec<super::RawEntry> {
    let mut decoder = Decoder::new(options.units.clone(), input);
    let mut out = Vec::new();
    decoder.feed(DEMO_EXPORT, &mut out);
    decoder.finish(&mut out);
    let last = out.iter().map(|e| e.realtime).max().unwrap_or(now);
    let shift = now.0.saturating_sub(last.0);
    for e in &mut out {
        e.realtime = Timestamp(e.realtime.0.saturating_add(shift));
    }
    out
}

/// Sends the demo as batches, then `CaughtUp` and `Ended`.
pub fn spawn(options: ReadOptions, input: InputId, tx: Sender<SourceMsg>) -> JoinHandle<()> {
    std::thread::spawn(move || {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX));
        let all = entries(&options, input, Timestamp(now));
        for chunk in all.chunks(options.batch_max_entries.max(1)) {
            if tx.blocking_send(SourceMsg::Batch(chunk.to_vec())).is_err() {
                return;
            }
        }
        if tx.blocking_send(SourceMsg::CaughtUp).is_ok() {
            let _ = tx.blocking_send(SourceMsg::Ended);
        }
    })
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
        let entries = entries(&options, 0, now);
        assert!(entries.len() > 1000, "demo has {} entries", entries.len());
        assert_eq!(entries.iter().map(|e| e.realtime).max(), Some(now));
        assert!(entries.windows(2).all(|w| w[0].realtime <= w[1].realtime));
    }
}
