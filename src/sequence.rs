//! Loss detection from sequence numbers: a sender numbers what it sends
//! 1, 2, 3, ...; a receiver that sees a number jump knows how many it
//! missed. Used for DDS publishers (rmw's publication sequence numbers) and
//! for the bridge's own numbering of what it sends into dora.

use std::collections::HashMap;
use std::hash::Hash;

/// Where a sender's numbering is assumed to start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FirstNumber {
    /// The first number seen: the receiver may have joined late (a DDS
    /// subscription created after its publisher started), so what came
    /// before it is not a loss.
    Seen,
    /// 1: the receiver was there from the start (nodes of one dataflow), so
    /// a first number above 1 means the earlier ones were lost.
    One,
}

/// Counts the numbers skipped, per sender.
#[derive(Debug)]
pub struct GapCounter<K> {
    first: FirstNumber,
    last: HashMap<K, u64>,
}

impl<K: Hash + Eq> GapCounter<K> {
    pub fn new(first: FirstNumber) -> Self {
        GapCounter {
            first,
            last: HashMap::new(),
        }
    }

    /// Records `number` from `sender`; returns how many numbers were
    /// skipped since that sender's previous one. A number at or below the
    /// previous one means the sender started over (a restarted node): its
    /// numbering is followed from there, and nothing is counted.
    pub fn observe(&mut self, sender: K, number: u64) -> u64 {
        match self.last.insert(sender, number) {
            Some(previous) if number > previous => number - previous - 1,
            Some(_) => 0,
            None => match self.first {
                FirstNumber::Seen => 0,
                FirstNumber::One => number.saturating_sub(1),
            },
        }
    }

    /// Like [`Self::observe`] for a message that carries `count` numbers
    /// from `first` on (a multi-row message numbered per row): the next one
    /// is expected at `first + count`.
    pub fn observe_span(&mut self, sender: K, first: u64, count: u64) -> u64
    where
        K: Clone,
    {
        let skipped = self.observe(sender.clone(), first);
        if let Some(last) = self.last.get_mut(&sender) {
            *last = first + count.max(1) - 1;
        }
        skipped
    }

    /// Whether `number` from `sender` was seen already (at or below its
    /// last number): a duplicate, for senders that never start over.
    pub fn is_repeat(&self, sender: &K, number: u64) -> bool {
        self.last.get(sender).is_some_and(|&last| number <= last)
    }

    /// Forgets senders `keep` says no to (publishers that left the graph).
    pub fn retain(&mut self, mut keep: impl FnMut(&K) -> bool) {
        self.last.retain(|k, _| keep(k));
    }

    pub fn senders(&self) -> usize {
        self.last.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_span_of_rows_moves_the_expected_number_past_its_last_row() {
        let mut gaps = GapCounter::new(FirstNumber::One);
        assert_eq!(gaps.observe_span("a", 1, 4), 0); // rows 1-4
        assert_eq!(gaps.observe_span("a", 5, 1), 0);
        assert_eq!(gaps.observe_span("a", 9, 2), 3); // 6, 7, 8 lost
        assert_eq!(gaps.observe("a", 11), 0);
    }

    #[test]
    fn consecutive_numbers_lose_nothing() {
        let mut gaps = GapCounter::new(FirstNumber::One);
        assert_eq!((1..=100).map(|n| gaps.observe("a", n)).sum::<u64>(), 0);
    }

    #[test]
    fn a_jump_counts_the_numbers_skipped_per_sender() {
        let mut gaps = GapCounter::new(FirstNumber::Seen);
        assert_eq!(gaps.observe("a", 7), 0, "joined late: not a loss");
        assert_eq!(gaps.observe("b", 1), 0);
        assert_eq!(gaps.observe("a", 10), 2);
        assert_eq!(gaps.observe("b", 2), 0);
        assert_eq!(gaps.observe("b", 5), 2);
    }

    #[test]
    fn from_one_counts_a_late_first_number() {
        let mut gaps = GapCounter::new(FirstNumber::One);
        assert_eq!(gaps.observe("a", 4), 3);
    }

    #[test]
    fn a_restarted_sender_is_followed_without_counting() {
        let mut gaps = GapCounter::new(FirstNumber::One);
        gaps.observe("a", 50);
        assert_eq!(gaps.observe("a", 1), 0);
        assert_eq!(gaps.observe("a", 2), 0);
        assert_eq!(gaps.observe("a", 2), 0, "a duplicate is not a loss");
    }

    #[test]
    fn repeats_are_recognised() {
        let mut gaps = GapCounter::new(FirstNumber::Seen);
        assert!(!gaps.is_repeat(&"a", 1));
        gaps.observe("a", 5);
        assert!(gaps.is_repeat(&"a", 5));
        assert!(gaps.is_repeat(&"a", 2));
        assert!(!gaps.is_repeat(&"a", 6));
    }

    #[test]
    fn retain_forgets_senders() {
        let mut gaps = GapCounter::new(FirstNumber::Seen);
        gaps.observe("a", 1);
        gaps.observe("b", 1);
        gaps.retain(|k| *k == "b");
        assert_eq!(gaps.senders(), 1);
        assert_eq!(gaps.observe("a", 9), 0, "forgotten: seen afresh");
    }
}
