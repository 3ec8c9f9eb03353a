//! `max_rate` / `min_interval` on a route: at most one message per
//! interval, and the one that goes is the newest of those that came in
//! between (a slow consumer wants the latest scan, not the first after its
//! last). Pure: time is passed in.

use std::time::{Duration, Instant};

/// What became of a message offered to the limit.
#[derive(Debug, PartialEq)]
pub struct Offered<T> {
    /// It may go now.
    pub send: Option<T>,
    /// The message held before, replaced by the newer one: skipped on
    /// purpose (counted as `throttled`, not as a loss).
    pub skipped: Option<T>,
}

#[derive(Debug)]
pub struct RateLimit<T> {
    interval: Duration,
    last_sent: Option<Instant>,
    held: Option<T>,
}

impl<T> RateLimit<T> {
    pub fn new(interval: Duration) -> Self {
        RateLimit {
            interval,
            last_sent: None,
            held: None,
        }
    }

    /// A message that arrived at `now`: it goes at once if the interval
    /// since the last one is over, else it waits as the newest, for
    /// [`due`](Self::due) at the [`deadline`](Self::deadline).
    pub fn offer(&mut self, message: T, now: Instant) -> Offered<T> {
        if self.held.is_none() && self.is_open(now) {
            self.last_sent = Some(now);
            return Offered {
                send: Some(message),
                skipped: None,
            };
        }
        Offered {
            send: None,
            skipped: self.held.replace(message),
        }
    }

    /// The held message, once its time has come.
    pub fn due(&mut self, now: Instant) -> Option<T> {
        if self.held.is_none() || !self.is_open(now) {
            return None;
        }
        self.last_sent = Some(now);
        self.held.take()
    }

    /// When the held message may go; None when nothing is held.
    pub fn deadline(&self) -> Option<Instant> {
        self.held.as_ref()?;
        Some(self.last_sent? + self.interval)
    }

    fn is_open(&self, now: Instant) -> bool {
        self.last_sent
            .is_none_or(|last| now.duration_since(last) >= self.interval)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_message_per_interval_the_newest_of_those_between() {
        let t0 = Instant::now();
        let ms = |n: u64| t0 + Duration::from_millis(n);
        let mut limit = RateLimit::new(Duration::from_millis(100));
        assert_eq!(limit.offer(1, ms(0)).send, Some(1));
        assert_eq!(limit.deadline(), None);
        assert_eq!(
            limit.offer(2, ms(10)),
            Offered {
                send: None,
                skipped: None
            }
        );
        assert_eq!(limit.deadline(), Some(ms(100)));
        assert_eq!(limit.offer(3, ms(20)).skipped, Some(2));
        assert_eq!(limit.due(ms(99)), None);
        assert_eq!(limit.due(ms(100)), Some(3));
        assert_eq!(limit.due(ms(150)), None);
        // Nothing held: a message after the interval goes at once.
        assert_eq!(limit.offer(4, ms(200)).send, Some(4));
        // 100 Hz for a second at 10 Hz: ten go, ninety are skipped.
        let mut limit = RateLimit::new(Duration::from_millis(100));
        let (mut sent, mut skipped) = (0, 0);
        for i in 0..1000u64 {
            let now = ms(i);
            if i % 10 == 0 {
                let offered = limit.offer(i, now);
                sent += usize::from(offered.send.is_some());
                skipped += usize::from(offered.skipped.is_some());
            }
            sent += usize::from(limit.due(now).is_some());
        }
        assert_eq!(sent, 10);
        assert_eq!(skipped, 89); // and one still held
        assert!(limit.deadline().is_some());
    }
}
