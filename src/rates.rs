//! Live figures from cumulative counters: rates over a sliding window, and
//! whether a route still has someone on the other end. Pure (time is
//! passed in), so the rules are unit-tested.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// Rates are taken over this much of the recent past: long enough that a
/// 10 Hz stream reads within 2 % (one message more or less in 50), short
/// enough that a stream that stops shows it within a few seconds.
pub const RATE_WINDOW: Duration = Duration::from_secs(5);

/// Messages and bytes per second.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Rates {
    pub messages: f64,
    pub bytes: f64,
}

/// Counter samples over [`RATE_WINDOW`]; the rate is what the counters
/// moved between the oldest and the newest sample.
#[derive(Debug, Default)]
pub struct RateMeter {
    samples: VecDeque<(Instant, u64, u64)>,
}

impl RateMeter {
    /// Records the counters' values at `now`.
    pub fn sample(&mut self, now: Instant, messages: u64, bytes: u64) {
        self.samples.push_back((now, messages, bytes));
        // Keep one sample at or beyond the window's start, so the window
        // is always covered once it has been running that long.
        while self.samples.len() > 2 && now.duration_since(self.samples[1].0) >= RATE_WINDOW {
            self.samples.pop_front();
        }
    }

    pub fn rates(&self) -> Rates {
        let (Some(oldest), Some(newest)) = (self.samples.front(), self.samples.back()) else {
            return Rates::default();
        };
        let span = newest.0.duration_since(oldest.0).as_secs_f64();
        if span <= 0.0 {
            return Rates::default();
        }
        Rates {
            messages: newest.1.saturating_sub(oldest.1) as f64 / span,
            bytes: newest.2.saturating_sub(oldest.2) as f64 / span,
        }
    }
}

/// A route with nobody on the other end for this long is said to be so.
pub const PEER_GONE_GRACE: Duration = Duration::from_secs(2);
/// ... and one that never had anyone, this long after the bridge started.
pub const PEER_NEVER_GRACE: Duration = Duration::from_secs(10);

/// What a route's presence watch has to say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PresenceChange {
    /// Nobody since the grace time; `had` the last count seen.
    Gone { had: u64 },
    /// Nobody yet, [`PEER_NEVER_GRACE`] after the start.
    NeverCame,
    /// Someone again after `Gone` or `NeverCame`.
    Back { now: u64 },
}

/// Watches a route's peer count (publishers or subscribers): says once
/// when it has stayed at zero, and once when it comes back.
#[derive(Debug)]
pub struct Presence {
    started: Instant,
    /// The last non-zero count, if there was one.
    had: Option<u64>,
    zero_since: Option<Instant>,
    said_absent: bool,
}

impl Presence {
    pub fn new(started: Instant) -> Self {
        Presence {
            started,
            had: None,
            zero_since: None,
            said_absent: false,
        }
    }

    pub fn observe(&mut self, peers: u64, now: Instant) -> Option<PresenceChange> {
        if peers > 0 {
            self.had = Some(peers);
            self.zero_since = None;
            return std::mem::take(&mut self.said_absent)
                .then_some(PresenceChange::Back { now: peers });
        }
        let since = *self.zero_since.get_or_insert(now);
        if self.said_absent {
            return None;
        }
        let change = match self.had {
            Some(had) if now.duration_since(since) >= PEER_GONE_GRACE => {
                PresenceChange::Gone { had }
            }
            None if now.duration_since(self.started) >= PEER_NEVER_GRACE => {
                PresenceChange::NeverCame
            }
            _ => return None,
        };
        self.said_absent = true;
        Some(change)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(start: Instant, ms: u64) -> Instant {
        start + Duration::from_millis(ms)
    }

    #[test]
    fn a_rate_is_what_moved_over_the_window() {
        let start = Instant::now();
        let mut meter = RateMeter::default();
        assert_eq!(meter.rates(), Rates::default());
        meter.sample(start, 0, 0);
        assert_eq!(meter.rates(), Rates::default());
        // 10 messages of 100 bytes a second for 8 s, sampled each second.
        for s in 1..=8u64 {
            meter.sample(at(start, s * 1000), s * 10, s * 1000);
        }
        let rates = meter.rates();
        assert!((rates.messages - 10.0).abs() < 1e-9, "{rates:?}");
        assert!((rates.bytes - 1000.0).abs() < 1e-9, "{rates:?}");
        // The window covers the last 5 s only: a stop shows.
        for s in 9..=11u64 {
            meter.sample(at(start, s * 1000), 80, 8000);
        }
        let rates = meter.rates();
        assert!((rates.messages - 20.0 / 5.0).abs() < 1e-9, "{rates:?}");
        for s in 12..=14u64 {
            meter.sample(at(start, s * 1000), 80, 8000);
        }
        assert_eq!(meter.rates().messages, 0.0);
    }

    #[test]
    fn a_peer_that_leaves_is_said_once_after_the_grace_and_again_when_back() {
        let start = Instant::now();
        let mut presence = Presence::new(start);
        assert_eq!(presence.observe(1, at(start, 0)), None);
        assert_eq!(presence.observe(0, at(start, 1000)), None);
        assert_eq!(presence.observe(0, at(start, 2500)), None);
        assert_eq!(
            presence.observe(0, at(start, 3000)),
            Some(PresenceChange::Gone { had: 1 })
        );
        assert_eq!(presence.observe(0, at(start, 9000)), None);
        assert_eq!(
            presence.observe(2, at(start, 9500)),
            Some(PresenceChange::Back { now: 2 })
        );
        assert_eq!(presence.observe(2, at(start, 9600)), None);
        // A blip shorter than the grace says nothing.
        assert_eq!(presence.observe(0, at(start, 10_000)), None);
        assert_eq!(presence.observe(1, at(start, 11_000)), None);
    }

    #[test]
    fn a_peer_that_never_came_is_said_after_the_start_grace() {
        let start = Instant::now();
        let mut presence = Presence::new(start);
        assert_eq!(presence.observe(0, at(start, 5000)), None);
        assert_eq!(
            presence.observe(0, at(start, 10_000)),
            Some(PresenceChange::NeverCame)
        );
        assert_eq!(presence.observe(0, at(start, 20_000)), None);
        assert_eq!(
            presence.observe(1, at(start, 21_000)),
            Some(PresenceChange::Back { now: 1 })
        );
    }
}
