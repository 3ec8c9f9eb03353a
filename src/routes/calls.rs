//! What the service and action clients share about the calls they follow
//! (service requests, goals): calls waiting for a server, in order, each
//! failing once it waited `timeout` without one; and the grace after the
//! graph shows the server gone. Pure: time comes in as `now`.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// A server answers, then exits: the graph may show it gone before its last
/// answer is delivered. Calls in flight fail this long after the server
/// left, so an answer already on its way still counts.
pub const SERVER_LEFT_GRACE: Duration = Duration::from_millis(500);

/// Calls not sent yet (no server, or no room), in arrival order.
pub struct Waiting<T> {
    calls: VecDeque<(T, Instant)>,
    timeout: Duration,
}

impl<T> Waiting<T> {
    pub fn len(&self) -> usize {
        self.calls.len()
    }

    pub fn new(timeout: Duration) -> Self {
        Waiting {
            calls: VecDeque::new(),
            timeout,
        }
    }

    pub fn push(&mut self, call: T, now: Instant) {
        self.calls.push_back((call, now));
    }

    pub fn pop(&mut self) -> Option<T> {
        self.calls.pop_front().map(|(call, _)| call)
    }

    pub fn is_empty(&self) -> bool {
        self.calls.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &T> {
        self.calls.iter().map(|(call, _)| call)
    }

    /// Whether a call waited its whole `timeout`.
    pub fn any_overdue(&self, now: Instant) -> bool {
        self.calls
            .iter()
            .any(|(_, arrived)| super::later(*arrived, self.timeout) <= now)
    }

    /// Takes out the calls that waited their whole `timeout`, in order.
    pub fn take_overdue(&mut self, now: Instant) -> Vec<T> {
        let timeout = self.timeout;
        self.take_with(|_, arrived| super::later(arrived, timeout) <= now)
    }

    /// Takes out the calls `wanted` picks, in order.
    pub fn take_where(&mut self, wanted: impl Fn(&T) -> bool) -> Vec<T> {
        self.take_with(|call, _| wanted(call))
    }

    fn take_with(&mut self, taken: impl Fn(&T, Instant) -> bool) -> Vec<T> {
        let (out, kept): (Vec<_>, Vec<_>) = self
            .calls
            .drain(..)
            .partition(|(call, arrived)| taken(call, *arrived));
        self.calls = kept.into();
        out.into_iter().map(|(call, _)| call).collect()
    }
}

/// Since when the graph shows the server of calls in flight gone.
#[derive(Debug, Default)]
pub struct ServerLeft {
    since: Option<Instant>,
}

impl ServerLeft {
    /// The graph changed and shows no server while calls are in flight.
    pub fn seen_gone(&mut self, now: Instant) {
        self.since.get_or_insert(now);
    }

    /// True once the server has been gone for [`SERVER_LEFT_GRACE`] with
    /// calls still in flight (`following`): then ask the graph once more,
    /// and fail them if it is still gone. Resets either way.
    pub fn grace_over(&mut self, now: Instant, following: bool) -> bool {
        let Some(since) = self.since else {
            return false;
        };
        if !following {
            self.since = None;
            return false;
        }
        if now.duration_since(since) < SERVER_LEFT_GRACE {
            return false;
        }
        self.since = None;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waiting_calls_time_out_in_order_and_others_stay() {
        let t0 = Instant::now();
        let mut waiting = Waiting::new(Duration::from_secs(1));
        waiting.push("a", t0);
        waiting.push("b", t0 + Duration::from_millis(500));
        waiting.push("c", t0 + Duration::from_millis(100));
        let at = t0 + Duration::from_millis(1100);
        assert!(waiting.any_overdue(at));
        assert_eq!(waiting.take_overdue(at), vec!["a", "c"]);
        assert!(!waiting.any_overdue(at));
        assert_eq!(waiting.take_where(|c| *c == "b"), vec!["b"]);
        assert!(waiting.is_empty());
    }

    #[test]
    fn a_timeout_of_years_never_overflows() {
        let mut waiting = Waiting::new(Duration::MAX);
        waiting.push(1, Instant::now());
        assert!(waiting.take_overdue(Instant::now()).is_empty());
    }

    #[test]
    fn calls_fail_only_after_the_grace_and_only_while_followed() {
        let t0 = Instant::now();
        let mut left = ServerLeft::default();
        assert!(!left.grace_over(t0, true), "never seen gone");
        left.seen_gone(t0);
        left.seen_gone(t0 + Duration::from_millis(300)); // the first sighting counts
        assert!(!left.grace_over(t0 + Duration::from_millis(499), true));
        assert!(left.grace_over(t0 + SERVER_LEFT_GRACE, true));
        assert!(!left.grace_over(t0 + Duration::from_secs(2), true), "reset");
        // The last answer arrived within the grace: nothing left to fail.
        left.seen_gone(t0);
        assert!(!left.grace_over(t0 + Duration::from_millis(100), false));
        assert!(!left.grace_over(t0 + Duration::from_secs(1), true));
    }
}
