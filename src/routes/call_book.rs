//! The calls a `service_clients` route follows, as a pure state machine:
//! calls queue in order, go out while there is room (`max_in_flight`) and
//! a server, and each ends exactly once: answered, or failed (no server
//! within `timeout`, no answer within `timeout`, the server left the graph
//! for longer than the grace). Time comes in as `now`, the graph as a
//! closure asked only when it matters; the route does the I/O.

use super::calls::{ServerLeft, Waiting};
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// A call not sent yet.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    pub request_id: String,
    /// The request's CDR.
    pub cdr: Vec<u8>,
}

/// A call that ended without an answer: an empty `response` row with
/// `error`.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    pub request_id: String,
    pub error: String,
}

struct InFlight {
    request_id: String,
    deadline: Instant,
}

pub struct CallBook {
    timeout: Duration,
    max_in_flight: usize,
    waiting: Waiting<Call>,
    /// Sent calls by the sequence number rcl gave them.
    in_flight: HashMap<i64, InFlight>,
    server_left: ServerLeft,
    /// For `request_id`s the bridge makes.
    next_id: u64,
}

impl CallBook {
    pub fn new(timeout: Duration, max_in_flight: usize) -> Self {
        CallBook {
            timeout,
            max_in_flight: max_in_flight.max(1),
            waiting: Waiting::new(timeout),
            in_flight: HashMap::new(),
            server_left: ServerLeft::default(),
            next_id: 0,
        }
    }

    /// Calls waiting to be sent or sent and not answered.
    pub fn open(&self) -> usize {
        self.waiting.len() + self.in_flight.len()
    }

    /// The id a call answers with: the one dora gave, or `bridge-N`.
    pub fn request_id(&mut self, given: Option<&str>) -> String {
        match given {
            Some(id) => id.to_string(),
            None => {
                self.next_id += 1;
                format!("bridge-{}", self.next_id)
            }
        }
    }

    /// A call from dora, in order behind the others.
    pub fn queue(&mut self, call: Call, now: Instant) {
        self.waiting.push(call, now);
    }

    /// Whether a call waits and there is room for it: then ask the graph
    /// for a server and [`take_sendable`](Self::take_sendable).
    pub fn wants_to_send(&self) -> bool {
        !self.waiting.is_empty() && self.in_flight.len() < self.max_in_flight
    }

    /// The waiting calls that fit in flight, in order, to send now (there
    /// is a server). Report each with [`sent`](Self::sent) or
    /// [`not_sent`](Self::not_sent).
    pub fn take_sendable(&mut self) -> Vec<Call> {
        let room = self.max_in_flight.saturating_sub(self.in_flight.len());
        std::iter::from_fn(|| self.waiting.pop())
            .take(room)
            .collect()
    }

    pub fn sent(&mut self, request_id: String, sequence: i64, now: Instant) {
        let deadline = super::later(now, self.timeout);
        let call = InFlight {
            request_id,
            deadline,
        };
        self.in_flight.insert(sequence, call);
    }

    pub fn not_sent(&mut self, request_id: String, why: &str) -> Failure {
        let error = format!("cannot send the request: {why}");
        Failure { request_id, error }
    }

    /// The server answered the request rcl numbered `sequence`: the call's
    /// `request_id`, or `None` when no call waits for it (it already
    /// failed: counted as unmatched, never answered twice).
    pub fn answered(&mut self, sequence: i64) -> Option<String> {
        self.in_flight.remove(&sequence).map(|call| call.request_id)
    }

    /// Whether calls are out that a server still has to answer.
    pub fn is_following(&self) -> bool {
        !self.in_flight.is_empty()
    }

    /// The graph changed; `server_there` says whether it shows the server.
    pub fn graph_changed(&mut self, server_there: bool, now: Instant) {
        if self.is_following() && !server_there {
            self.server_left.seen_gone(now);
        }
    }

    /// Ends what is overdue: every call in flight once the server stayed
    /// gone for the grace, calls in flight without an answer in `timeout`,
    /// and waiting calls without a server in `timeout` (not those waiting
    /// for room: calls in flight free it by their own timeout).
    /// `server_there` asks the graph (a query: only when it matters).
    pub fn tick(&mut self, now: Instant, mut server_there: impl FnMut() -> bool) -> Vec<Failure> {
        let mut failures = Vec::new();
        if self.server_left.grace_over(now, self.is_following()) && !server_there() {
            failures
                .extend(self.fail_in_flight(|_| true, "the service's server left the ROS graph"));
        }
        let error = format!("no answer within {:?}", self.timeout);
        failures.extend(self.fail_in_flight(|call| call.deadline <= now, &error));
        if self.waiting.any_overdue(now) && !server_there() {
            let error = format!("no server for the service within {:?}", self.timeout);
            let expired = self.waiting.take_overdue(now);
            failures.extend(expired.into_iter().map(|call| Failure {
                request_id: call.request_id,
                error: error.clone(),
            }));
        }
        failures
    }

    /// Fails the calls in flight `chosen` picks, in the order they went out.
    fn fail_in_flight(&mut self, chosen: impl Fn(&InFlight) -> bool, why: &str) -> Vec<Failure> {
        let mut sequences: Vec<i64> = self
            .in_flight
            .iter()
            .filter(|(_, call)| chosen(call))
            .map(|(sequence, _)| *sequence)
            .collect();
        sequences.sort_unstable();
        sequences
            .into_iter()
            .filter_map(|sequence| self.in_flight.remove(&sequence))
            .map(|call| Failure {
                request_id: call.request_id,
                error: why.to_string(),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::routes::calls::SERVER_LEFT_GRACE;

    const TIMEOUT: Duration = Duration::from_secs(1);

    fn call(id: &str) -> Call {
        Call {
            request_id: id.to_string(),
            cdr: vec![0, 1, 0, 0],
        }
    }

    fn ids(failures: &[Failure]) -> Vec<&str> {
        failures.iter().map(|f| f.request_id.as_str()).collect()
    }

    /// Sends what the book offers, numbering requests from `first`.
    fn send_all(book: &mut CallBook, first: i64, now: Instant) -> Vec<String> {
        let calls = book.take_sendable();
        let mut sent = Vec::new();
        for (sequence, call) in (first..).zip(calls) {
            sent.push(call.request_id.clone());
            book.sent(call.request_id, sequence, now);
        }
        sent
    }

    #[test]
    fn calls_go_out_in_order_no_more_than_max_in_flight() {
        let t0 = Instant::now();
        let mut book = CallBook::new(TIMEOUT, 2);
        for id in ["a", "b", "c"] {
            book.queue(call(id), t0);
        }
        assert!(book.wants_to_send());
        assert_eq!(send_all(&mut book, 1, t0), ["a", "b"]);
        assert!(!book.wants_to_send(), "no room until an answer comes");
        assert_eq!(book.answered(2).as_deref(), Some("b"));
        assert_eq!(send_all(&mut book, 3, t0), ["c"]);
        assert!(!book.wants_to_send());
    }

    #[test]
    fn an_answer_after_the_timeout_is_unmatched_and_the_call_fails_once() {
        let t0 = Instant::now();
        let mut book = CallBook::new(TIMEOUT, 4);
        book.queue(call("a"), t0);
        send_all(&mut book, 7, t0);
        assert!(
            book.tick(t0 + Duration::from_millis(999), || true)
                .is_empty()
        );
        let failed = book.tick(t0 + TIMEOUT, || true);
        assert_eq!(ids(&failed), ["a"]);
        assert!(failed[0].error.contains("no answer within"), "{failed:?}");
        assert_eq!(book.answered(7), None, "late: never answered twice");
        assert!(book.tick(t0 + 2 * TIMEOUT, || true).is_empty());
    }

    #[test]
    fn a_call_waiting_for_a_server_fails_at_its_timeout_but_not_one_waiting_for_room() {
        let t0 = Instant::now();
        let mut book = CallBook::new(TIMEOUT, 1);
        book.queue(call("sent"), t0);
        send_all(&mut book, 1, t0);
        book.queue(call("behind"), t0);
        // Its server is there, it only waits for room: it stays.
        let failed = book.tick(t0 + TIMEOUT, || true);
        assert_eq!(ids(&failed), ["sent"], "only the call in flight timed out");
        assert_eq!(send_all(&mut book, 2, t0 + TIMEOUT), ["behind"]);
        // No server at all: a waiting call fails at its timeout.
        let mut lonely = CallBook::new(TIMEOUT, 1);
        lonely.queue(call("x"), t0);
        assert!(
            lonely
                .tick(t0 + Duration::from_millis(500), || false)
                .is_empty()
        );
        let failed = lonely.tick(t0 + TIMEOUT, || false);
        assert_eq!(ids(&failed), ["x"]);
        assert!(failed[0].error.contains("no server"), "{failed:?}");
    }

    #[test]
    fn an_answer_within_the_grace_after_the_server_left_counts() {
        let t0 = Instant::now();
        let mut book = CallBook::new(Duration::from_secs(30), 4);
        book.queue(call("a"), t0);
        book.queue(call("b"), t0);
        send_all(&mut book, 1, t0);
        book.graph_changed(false, t0);
        assert_eq!(
            book.answered(1).as_deref(),
            Some("a"),
            "answered, then left"
        );
        assert!(
            book.tick(t0 + Duration::from_millis(100), || false)
                .is_empty()
        );
        let failed = book.tick(t0 + SERVER_LEFT_GRACE, || false);
        assert_eq!(ids(&failed), ["b"]);
        assert!(failed[0].error.contains("left the ROS graph"), "{failed:?}");
    }

    #[test]
    fn a_server_back_within_the_grace_keeps_the_calls() {
        let t0 = Instant::now();
        let mut book = CallBook::new(Duration::from_secs(30), 4);
        book.queue(call("a"), t0);
        send_all(&mut book, 1, t0);
        book.graph_changed(false, t0);
        assert!(book.tick(t0 + SERVER_LEFT_GRACE, || true).is_empty());
        assert_eq!(book.answered(1).as_deref(), Some("a"));
    }

    #[test]
    fn ids_the_bridge_makes_are_unique_and_given_ones_are_kept() {
        let mut book = CallBook::new(TIMEOUT, 1);
        assert_eq!(book.request_id(None), "bridge-1");
        assert_eq!(book.request_id(Some("mine")), "mine");
        assert_eq!(book.request_id(None), "bridge-2");
    }

    #[test]
    fn a_timeout_of_years_never_fails_a_call() {
        let t0 = Instant::now();
        let mut book = CallBook::new(Duration::MAX, 1);
        book.queue(call("a"), t0);
        send_all(&mut book, 1, t0);
        assert!(
            book.tick(t0 + Duration::from_secs(3600), || true)
                .is_empty()
        );
    }
}
