//! The changes a server has read from a list its writers keep in the store (events changed,
//! places and offers written), numbered in commit order, so a kept answer can be checked
//! against the changes made since it was computed instead of thrown away with all the
//! others.

use std::sync::Arc;

/// Every change numbered after `from` up to `upto`, in order of number, in one shared batch
/// per number: a reader takes the batches it needs and checks them without holding the lock
/// the log is kept under.
pub(crate) struct ChangeLog<T> {
    from: i64,
    upto: i64,
    batches: Vec<(i64, Arc<[T]>)>,
    held: usize,
}

impl<T> ChangeLog<T> {
    /// A log that knows nothing before `number`.
    pub fn starting_at(number: i64) -> Self {
        ChangeLog {
            from: number,
            upto: number,
            batches: Vec::new(),
            held: 0,
        }
    }

    /// The number of the last change read.
    pub fn upto(&self) -> i64 {
        self.upto
    }

    /// The batches of changes numbered after `after` up to `upto`, when all are known.
    pub fn between(&self, after: i64, upto: i64) -> Option<Vec<Arc<[T]>>> {
        if after < self.from || upto > self.upto {
            return None;
        }
        let start = self.batches.partition_point(|(n, _)| *n <= after);
        Some(
            self.batches[start..]
                .iter()
                .take_while(|(n, _)| *n <= upto)
                .map(|(_, b)| b.clone())
                .collect(),
        )
    }

    /// Adds the changes read after [`ChangeLog::upto`] up to `upto`, in order of number.
    /// `unknown_upto` is the highest number in that span whose changes are not all among
    /// them (dropped from the store before they were read, or never listed): answers
    /// computed before it can no longer be checked. At most `held` changes are kept; past
    /// that the oldest half goes the same way.
    pub fn extend(
        &mut self,
        read: impl IntoIterator<Item = (i64, T)>,
        upto: i64,
        unknown_upto: Option<i64>,
        held: usize,
    ) {
        if let Some(unknown) = unknown_upto {
            self.forget_upto(unknown.min(upto));
        }
        let mut batch: Vec<T> = Vec::new();
        let mut number = None;
        for (n, change) in read {
            if n <= self.from {
                continue;
            }
            if number.is_some_and(|m| m != n) {
                self.push(number.take().unwrap_or(n), std::mem::take(&mut batch));
            }
            number = Some(n);
            batch.push(change);
        }
        if let Some(n) = number {
            self.push(n, batch);
        }
        self.upto = self.upto.max(upto);
        if self.held > held {
            // The number from which the newest half is held.
            let mut newest = 0;
            let cut = self
                .batches
                .iter()
                .rev()
                .find(|(_, b)| {
                    newest += b.len();
                    newest > held / 2
                })
                .map(|(n, _)| *n);
            if let Some(cut) = cut {
                self.forget_upto(cut);
            }
        }
    }

    fn push(&mut self, number: i64, batch: Vec<T>) {
        self.held += batch.len();
        self.batches.push((number, batch.into()));
    }

    /// Lets go of the changes numbered up to `number` (those before every kept answer).
    pub fn forget_upto(&mut self, number: i64) {
        if number > self.from {
            self.batches.retain(|(n, _)| *n > number);
            self.held = self.batches.iter().map(|(_, b)| b.len()).sum();
            self.from = number;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ChangeLog;

    fn between(log: &ChangeLog<&'static str>, after: i64, upto: i64) -> Option<Vec<&'static str>> {
        log.between(after, upto)
            .map(|batches| batches.iter().flat_map(|b| b.iter().copied()).collect())
    }

    #[test]
    fn changes_are_known_from_the_start_to_the_last_read() {
        let mut log = ChangeLog::starting_at(10);
        assert_eq!(between(&log, 10, 10), Some(vec![]));
        log.extend([(11, "a"), (11, "b"), (13, "c")], 13, None, 100);
        assert_eq!(between(&log, 10, 13), Some(vec!["a", "b", "c"]));
        assert_eq!(between(&log, 11, 13), Some(vec!["c"]));
        assert_eq!(between(&log, 10, 12), Some(vec!["a", "b"]));
        assert_eq!(between(&log, 9, 13), None, "before the start");
        assert_eq!(between(&log, 10, 14), None, "not read yet");
    }

    #[test]
    fn an_unknown_number_forgets_what_came_before_it() {
        let mut log = ChangeLog::starting_at(0);
        log.extend([(1, "a"), (2, "b")], 2, None, 100);
        log.extend([(4, "d"), (5, "e")], 5, Some(4), 100);
        assert_eq!(between(&log, 3, 5), None, "4 is not fully known");
        assert_eq!(between(&log, 4, 5), Some(vec!["e"]));
    }

    #[test]
    fn past_the_limit_the_oldest_half_goes() {
        let mut log = ChangeLog::starting_at(0);
        log.extend((1..=10).map(|n| (n, "x")), 10, None, 8);
        assert_eq!(between(&log, 6, 10).map(|c| c.len()), Some(4));
        assert_eq!(between(&log, 5, 10), None);
    }
}
