//! The ROS calls a `service_servers` route has handed to its dora handler,
//! as a pure state machine: each waits under a `request_id` of its own
//! until the handler answers it once, or its `timeout` passes, or the
//! handler goes. `H` is whatever answers the caller (rcl's request header
//! in the route); times come in.

use std::collections::HashMap;
use std::time::{Duration, Instant};

pub struct ServedCalls<H> {
    timeout: Duration,
    /// By `request_id`: the caller, and when the call is forgotten.
    pending: HashMap<String, (H, Instant)>,
    next_id: u64,
}

impl<H> ServedCalls<H> {
    pub fn new(timeout: Duration) -> Self {
        ServedCalls {
            timeout,
            pending: HashMap::new(),
            next_id: 0,
        }
    }

    /// The `request_id` for the next call: never one used before.
    pub fn next_request_id(&mut self) -> String {
        self.next_id += 1;
        self.next_id.to_string()
    }

    /// The call went out to the handler under `request_id`.
    pub fn handed_out(&mut self, request_id: String, caller: H, now: Instant) {
        let deadline = super::later(now, self.timeout);
        self.pending.insert(request_id, (caller, deadline));
    }

    /// Whether a call waits for an answer under `request_id`.
    pub fn is_waiting(&self, request_id: &str) -> bool {
        self.pending.contains_key(request_id)
    }

    /// The caller to answer: the call ends (a second answer finds nothing).
    pub fn answer(&mut self, request_id: &str) -> Option<H> {
        self.pending.remove(request_id).map(|(caller, _)| caller)
    }

    /// Forgets the calls whose `timeout` passed; how many.
    pub fn expire(&mut self, now: Instant) -> usize {
        let before = self.pending.len();
        self.pending.retain(|_, (_, deadline)| *deadline > now);
        before - self.pending.len()
    }

    /// The handler went: every waiting call is dropped; how many.
    pub fn drop_all(&mut self) -> usize {
        let dropped = self.pending.len();
        self.pending.clear();
        dropped
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TIMEOUT: Duration = Duration::from_secs(2);

    #[test]
    fn a_call_is_answered_once_and_unknown_ids_find_nothing() {
        let t0 = Instant::now();
        let mut calls = ServedCalls::new(TIMEOUT);
        let id = calls.next_request_id();
        calls.handed_out(id.clone(), "caller", t0);
        assert!(calls.is_waiting(&id));
        assert!(!calls.is_waiting("nobody"));
        assert_eq!(calls.answer(&id), Some("caller"));
        assert_eq!(calls.answer(&id), None, "a repeated answer");
        assert_eq!(calls.answer("nobody"), None);
    }

    #[test]
    fn an_answer_after_the_timeout_finds_nothing() {
        let t0 = Instant::now();
        let mut calls = ServedCalls::new(TIMEOUT);
        for caller in [1, 2] {
            let id = calls.next_request_id();
            calls.handed_out(id, caller, t0 + Duration::from_secs(caller));
        }
        assert_eq!(calls.expire(t0 + TIMEOUT), 0, "not before its deadline");
        assert_eq!(calls.expire(t0 + Duration::from_secs(3)), 1);
        assert_eq!(calls.answer("1"), None, "too late");
        assert_eq!(calls.answer("2"), Some(2));
    }

    #[test]
    fn ids_are_never_reused_and_a_handler_gone_drops_every_call() {
        let t0 = Instant::now();
        let mut calls = ServedCalls::new(TIMEOUT);
        let first = calls.next_request_id();
        calls.handed_out(first.clone(), (), t0);
        calls.answer(&first);
        let second = calls.next_request_id();
        assert_ne!(first, second);
        calls.handed_out(second, (), t0);
        let third = calls.next_request_id();
        calls.handed_out(third, (), t0);
        assert_eq!(calls.drop_all(), 2);
        assert_eq!(calls.expire(t0 + 2 * TIMEOUT), 0);
    }
}
