//! The filtered lists the screen scrolls: [`Index`] (the keys that pass the filter, built
//! forward as rows arrive and backward after a filter change, a bounded number per call),
//! the selection and scroll position kept by key ([`ListPos`], [`visible`]), and moving
//! the selection: by rows, to a position, to the oldest or newest, and to the next match
//! of a search ([`Find`]).
//!
//! Knows keys only (log `seq`s or trace ordinals), never what they point at: the caller
//! passes what keeps or matches a key.

use std::collections::VecDeque;

/// A selection and scroll position in a list of keys (log `seq`s or trace ordinals), kept
/// by key so they stay put when the list grows or its oldest rows leave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ListPos {
    /// Key of the selected row (meaningless while following).
    pub(crate) selected: u64,
    /// Key of the first row drawn (meaningless while following).
    pub(crate) top: u64,
    /// Following the newest row (the bottom).
    pub(crate) follow: bool,
}

impl Default for ListPos {
    fn default() -> ListPos {
        ListPos {
            selected: 0,
            top: 0,
            follow: true,
        }
    }
}

/// The window of rows to draw: `(first position, selected position)` for a list of
/// `keys` shown in `rows` rows. Pure, so render and update agree.
pub(crate) fn visible(keys: &VecDeque<u64>, pos: ListPos, rows: usize) -> (usize, Option<usize>) {
    let len = keys.len();
    if len == 0 {
        return (0, None);
    }
    let rows = rows.max(1);
    if pos.follow {
        return (len.saturating_sub(rows), Some(len - 1));
    }
    let sel = keys.partition_point(|&k| k < pos.selected).min(len - 1);
    let mut top = keys.partition_point(|&k| k < pos.top).min(len - 1);
    if sel < top {
        top = sel;
    } else if sel >= top + rows {
        top = sel + 1 - rows;
    }
    top = top.min(len.saturating_sub(rows));
    (top, Some(sel))
}

/// A filtered list: keys of the rows that pass the filter, oldest first, and how far the
/// source has been examined in each direction.
///
/// New rows are examined forward (`scanned_to..end`). After a filter change the list is
/// rebuilt from the newest row backwards (`first_alive..back_to`), a bounded number per
/// call, so the rows on screen appear at once and older ones fill in over a few frames.
#[derive(Debug, Clone, Default)]
pub(crate) struct Index {
    pub(crate) keys: VecDeque<u64>,
    /// The next key to examine going forward.
    pub(crate) scanned_to: u64,
    /// Keys below this (and not below the oldest alive) are still to be examined.
    pub(crate) back_to: u64,
    pub(crate) pos: ListPos,
}

impl Index {
    /// Drops keys before `first_alive`, then examines new keys `scanned_to..end` and then
    /// old ones below `back_to`, at most `budget` in all. Returns true when some are left.
    pub(super) fn advance(
        &mut self,
        first_alive: u64,
        end: u64,
        budget: u64,
        mut keeps: impl FnMut(u64) -> bool,
    ) -> bool {
        while self.keys.front().is_some_and(|&k| k < first_alive) {
            self.keys.pop_front();
        }
        let start = self.scanned_to.max(first_alive);
        let stop = end.min(start.saturating_add(budget)).max(start);
        for k in start..stop {
            if keeps(k) {
                self.keys.push_back(k);
            }
        }
        self.scanned_to = stop.max(self.scanned_to);
        let mut left = budget - (stop - start);
        let mut k = self.back_to.max(first_alive);
        while k > first_alive && left > 0 {
            k -= 1;
            left -= 1;
            if keeps(k) {
                self.keys.push_front(k);
            }
        }
        self.back_to = k;
        self.scanned_to < end || self.back_to > first_alive
    }

    /// Empties the list to be rebuilt backwards from `at` (one past the newest key).
    pub(super) fn reset(&mut self, at: u64) {
        self.keys.clear();
        self.scanned_to = at;
        self.back_to = at;
        self.pos = ListPos::default();
    }

    /// Moves the selection by `delta` rows (negative: up) in a view of `rows` rows.
    pub(super) fn move_by(&mut self, delta: i64, rows: usize) {
        let len = self.keys.len();
        if len == 0 {
            return;
        }
        let (top, sel) = visible(&self.keys, self.pos, rows);
        let sel = sel.unwrap_or(len - 1);
        let target = if delta < 0 {
            sel.saturating_sub(usize::try_from(delta.unsigned_abs()).unwrap_or(usize::MAX))
        } else {
            sel.saturating_add(usize::try_from(delta).unwrap_or(usize::MAX))
                .min(len - 1)
        };
        self.select_position(target, top, rows);
    }

    pub(super) fn select_position(&mut self, target: usize, top: usize, rows: usize) {
        let len = self.keys.len();
        if len == 0 {
            return;
        }
        let target = target.min(len - 1);
        let rows = rows.max(1);
        let mut top = top;
        if target < top {
            top = target;
        } else if target >= top + rows {
            top = target + 1 - rows;
        }
        self.pos = ListPos {
            selected: self.keys[target],
            top: self.keys[top.min(len - 1)],
            // Reaching the newest row follows again, as `tail -f` would.
            follow: target == len - 1,
        };
    }

    /// Selects a key for which `is_match` holds, from the selection in the direction
    /// `how` asks, wrapping around once (O(list) at most, on a key press).
    pub(super) fn find(&mut self, how: Find, rows: usize, is_match: impl Fn(u64) -> bool) -> Found {
        let len = self.keys.len();
        if len == 0 {
            return Found::Nothing;
        }
        let (top, sel) = visible(&self.keys, self.pos, rows);
        let sel = sel.unwrap_or(len - 1);
        // (start, step forward?, whether the start itself counts)
        let (start, is_forward) = match how {
            Find::First if self.pos.follow => (sel, false),
            Find::First => (sel, true),
            Find::Newer => ((sel + 1) % len, true),
            Find::Older => ((sel + len - 1) % len, false),
        };
        for step in 0..len {
            let i = if is_forward {
                (start + step) % len
            } else {
                (start + len - step) % len
            };
            if is_match(self.keys[i]) {
                let wrapped = if is_forward { i < start } else { i > start };
                self.select_position(i, top, rows);
                return if wrapped {
                    Found::Wrapped
                } else {
                    Found::Match
                };
            }
        }
        Found::Nothing
    }

    pub(super) fn select_oldest(&mut self) {
        if let Some(&k) = self.keys.front() {
            self.pos = ListPos {
                selected: k,
                top: k,
                follow: false,
            };
        }
    }

    pub(super) fn follow_newest(&mut self) {
        self.pos = ListPos::default();
    }

    /// The selected key, if the list has rows.
    pub(crate) fn selected_key(&self, rows: usize) -> Option<u64> {
        let (_, sel) = visible(&self.keys, self.pos, rows);
        sel.map(|i| self.keys[i])
    }
}

/// Where `n`/`N` and the end of a search prompt look.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Find {
    /// Enter: the match at or after the selection, or the newest while following.
    First,
    Newer,
    Older,
}

/// What a search found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Found {
    Match,
    /// A match, after going round the end of the list.
    Wrapped,
    Nothing,
}
