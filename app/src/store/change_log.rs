//! The changes a server has read from a list its writers keep in the store (events changed,
//! places and offers written), numbered in commit order, so a kept answer can be checked
//! against the changes made since it was computed instead of thrown away with all the
//! others.

/// Every change numbered after `from` up to `upto`, in order of number.
pub(crate) struct ChangeLog<T> {
    from: i64,
    upto: i64,
    changes: Vec<(i64, T)>,
}

impl<T> ChangeLog<T> {
    /// A log that knows nothing before `number`.
    pub fn starting_at(number: i64) -> Self {
        ChangeLog {
            from: number,
            upto: number,
            changes: Vec::new(),
        }
    }

    /// The number of the last change read.
    pub fn upto(&self) -> i64 {
        self.upto
    }

    /// The changes numbered after `after` up to `upto`, when all of them are known.
    pub fn between(&self, after: i64, upto: i64) -> Option<impl Iterator<Item = &T>> {
        if after < self.from || upto > self.upto {
            return None;
        }
        let start = self.changes.partition_point(|(n, _)| *n <= after);
        Some(
            self.changes[start..]
                .iter()
                .take_while(move |(n, _)| *n <= upto)
                .map(|(_, c)| c),
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
        let from = self.from;
        self.changes
            .extend(read.into_iter().filter(|(n, _)| *n > from));
        self.upto = self.upto.max(upto);
        if self.changes.len() > held {
            let cut = self.changes[self.changes.len() - held / 2 - 1].0;
            self.forget_upto(cut);
        }
    }

    fn forget_upto(&mut self, number: i64) {
        if number > self.from {
            self.changes.retain(|(n, _)| *n > number);
            self.from = number;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ChangeLog;

    fn between(log: &ChangeLog<&'static str>, after: i64, upto: i64) -> Option<Vec<&'static str>> {
        log.between(after, upto).map(|c| c.copied().collect())
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
