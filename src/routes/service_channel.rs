//! One rcl service client and the calls it follows (a [`CallBook`]): what
//! a `service_clients` route is on the ROS side, and each of the four
//! parameter services a `parameter_clients` route calls. The channel does
//! the rcl I/O the book decides; what goes back to dora is its owner's.

use super::call_book::{Call, CallBook, Failure};
use crate::ros::rcl::RclClient;
use crate::throttle::RateLimiter;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub struct ServiceChannel {
    client: Arc<RclClient>,
    /// Whether a server was there when last asked: asked again on every
    /// graph change, and while none is known (asking the graph on every
    /// call would cost each call a graph query).
    known: bool,
    book: CallBook,
}

impl ServiceChannel {
    pub fn new(client: Arc<RclClient>, timeout: Duration, max_in_flight: usize) -> Self {
        ServiceChannel {
            client,
            known: false,
            book: CallBook::new(timeout, max_in_flight),
        }
    }

    /// Calls waiting or in flight.
    pub fn open(&self) -> usize {
        self.book.open()
    }

    /// The id a call answers with: the one dora gave, or `bridge-N`.
    pub fn request_id(&mut self, given: Option<&str>) -> String {
        self.book.request_id(given)
    }

    pub fn queue(&mut self, call: Call) {
        self.book.queue(call, Instant::now());
    }

    /// The `request_id` of the call rcl numbered `sequence`, or `None` when
    /// it already failed (then the answer is unmatched).
    pub fn answered(&mut self, sequence: i64) -> Option<String> {
        self.book.answered(sequence)
    }

    /// Sends waiting calls while there is room and a server; the calls rcl
    /// would not take.
    pub fn pump(&mut self, warnings: &RateLimiter, label: &str) -> Vec<Failure> {
        if !self.book.wants_to_send() || !self.is_available(warnings, label) {
            return Vec::new();
        }
        let mut failures = Vec::new();
        for call in self.book.take_sendable() {
            match self.client.send(&call.cdr) {
                Ok(sequence) => self.book.sent(call.request_id, sequence, Instant::now()),
                Err(e) => failures.push(self.book.not_sent(call.request_id, &e.to_string())),
            }
        }
        failures
    }

    /// The calls whose time is up.
    pub fn tick(&mut self, warnings: &RateLimiter, label: &str) -> Vec<Failure> {
        let (client, known) = (&self.client, &mut self.known);
        self.book.tick(Instant::now(), || {
            is_available(client, known, warnings, label)
        })
    }

    /// The graph changed: the server is asked for again, and calls in
    /// flight to one that left fail after the grace.
    pub fn graph_changed(&mut self, warnings: &RateLimiter, label: &str) {
        self.known = false;
        if self.book.is_following() {
            let there = self.is_available(warnings, label);
            self.book.graph_changed(there, Instant::now());
        }
    }

    fn is_available(&mut self, warnings: &RateLimiter, label: &str) -> bool {
        is_available(&self.client, &mut self.known, warnings, label)
    }
}

fn is_available(client: &RclClient, known: &mut bool, warnings: &RateLimiter, label: &str) -> bool {
    if !*known {
        *known = client.server_is_available().unwrap_or_else(|e| {
            warnings.warn(|| format!("{label}: {e}"));
            false
        });
    }
    *known
}
