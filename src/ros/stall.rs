//! Noticing a wedged reliable subscription. Fast DDS (2.14, seen with
//! Jazzy) cannot deliver a 0-byte sample: its receiver drops the 20-byte
//! DATA submessage as too short, the writer resends it on every NACK, and
//! a RELIABLE reader holds back every later sample of that publisher until
//! the writer evicts it from its history (never, for a keep-all writer).
//! Nothing in rmw reports it. What the bridge can see is a publisher that
//! went on publishing at a steady cadence and then fell silent while still
//! matched; a new (volatile) reader gets a GAP over the sample and hears
//! the publisher again. So a subscription whose publisher has been silent
//! for many of its usual intervals gets a probe (see `watched`), with
//! back-off, so that a publisher that merely paused costs a few cheap
//! probes.

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// Never suspect a stall after less silence than this.
const MIN_SILENCE: Duration = Duration::from_secs(1);
/// Silence of this many usual intervals is suspicious.
const INTERVALS: u32 = 20;
/// Back-off never waits longer than this between re-subscriptions.
const MAX_SILENCE: Duration = Duration::from_secs(60);
/// A publisher's cadence is known after this many samples.
const SAMPLES_FOR_CADENCE: u32 = 3;

#[derive(Debug)]
struct Cadence {
    last: Instant,
    /// Moving average of the interval between samples.
    mean: Option<Duration>,
    samples: u32,
    /// Re-subscriptions since this publisher was last heard.
    backoff: u32,
}

impl Cadence {
    fn allowed_silence(&self) -> Option<Duration> {
        if self.samples < SAMPLES_FOR_CADENCE {
            return None;
        }
        let usual = self.mean? * INTERVALS;
        let base = usual.max(MIN_SILENCE);
        Some(
            base.saturating_mul(1 << self.backoff.min(16))
                .min(MAX_SILENCE.max(base)),
        )
    }
}

/// Why a subscription looks wedged.
#[derive(Debug, Clone, PartialEq)]
pub struct Stall {
    /// GID of the publisher that fell silent.
    pub publisher: Vec<u8>,
    pub silent_for: Duration,
    pub usual_interval: Duration,
    /// 1 for the first re-subscription since the publisher was last heard.
    pub attempt: u32,
}

/// Per subscription: when each publisher was last heard, and how often it
/// usually speaks.
#[derive(Debug, Default)]
pub struct StallWatch {
    publishers: HashMap<Vec<u8>, Cadence>,
}

impl StallWatch {
    /// A sample from publisher `gid` was taken.
    pub fn sample(&mut self, gid: &[u8], now: Instant) {
        match self.publishers.get_mut(gid) {
            Some(c) => {
                // The silence that ended a stall is not the usual cadence.
                if c.backoff == 0 {
                    let interval = now.saturating_duration_since(c.last);
                    c.mean = Some(match c.mean {
                        Some(mean) => (mean * 7 + interval) / 8,
                        None => interval,
                    });
                }
                c.last = now;
                c.samples = c.samples.saturating_add(1);
                c.backoff = 0;
            }
            None => {
                self.publishers.insert(
                    gid.to_vec(),
                    Cadence {
                        last: now,
                        mean: None,
                        samples: 1,
                        backoff: 0,
                    },
                );
            }
        }
    }

    /// The bridge was not taking from this subscription (its route's
    /// queue was full): silence until now says nothing about DDS.
    pub fn held(&mut self, now: Instant) {
        for c in self.publishers.values_mut() {
            c.last = c.last.max(now);
        }
    }

    /// Whether a publisher still matched (`matched`) has been silent too
    /// long. If so, the caller re-subscribes: every clock restarts now,
    /// and the silent publisher's next allowance doubles.
    pub fn check(&mut self, now: Instant, matched: impl Fn(&[u8]) -> bool) -> Option<Stall> {
        let (gid, stall) = self.publishers.iter().find_map(|(gid, c)| {
            let silent_for = now.saturating_duration_since(c.last);
            let allowed = c.allowed_silence()?;
            (silent_for > allowed && matched(gid)).then(|| {
                (
                    gid.clone(),
                    Stall {
                        publisher: gid.clone(),
                        silent_for,
                        usual_interval: c.mean.unwrap_or_default(),
                        attempt: c.backoff + 1,
                    },
                )
            })
        })?;
        for c in self.publishers.values_mut() {
            c.last = now;
        }
        if let Some(c) = self.publishers.get_mut(&gid) {
            c.backoff += 1;
        }
        Some(stall)
    }

    /// Forgets publishers that left.
    pub fn retain(&mut self, keep: impl Fn(&[u8]) -> bool) {
        self.publishers.retain(|gid, _| keep(gid));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GID: &[u8] = &[1, 2, 3];

    fn steady(watch: &mut StallWatch, start: Instant, every: Duration, n: u32) -> Instant {
        let mut t = start;
        for _ in 0..n {
            watch.sample(GID, t);
            t += every;
        }
        t - every
    }

    #[test]
    fn a_steady_publisher_gone_silent_is_a_stall() {
        let mut watch = StallWatch::default();
        let last = steady(&mut watch, Instant::now(), Duration::from_millis(100), 10);
        // 20 intervals of 100 ms: 2 s.
        assert_eq!(
            watch.check(last + Duration::from_millis(1900), |_| true),
            None
        );
        let stall = watch.check(last + Duration::from_millis(2100), |_| true);
        assert!(stall.is_some_and(|s| s.usual_interval == Duration::from_millis(100)));
    }

    #[test]
    fn silence_after_a_stall_is_allowed_twice_as_long_each_time() {
        let mut watch = StallWatch::default();
        let last = steady(&mut watch, Instant::now(), Duration::from_millis(100), 10);
        let first = last + Duration::from_millis(2100);
        assert!(watch.check(first, |_| true).is_some());
        assert!(
            watch
                .check(first + Duration::from_millis(3900), |_| true)
                .is_none()
        );
        assert!(
            watch
                .check(first + Duration::from_millis(4100), |_| true)
                .is_some()
        );
        // Heard again: back to the usual allowance.
        let heard = first + Duration::from_secs(5);
        watch.sample(GID, heard);
        assert!(
            watch
                .check(heard + Duration::from_millis(2500), |_| true)
                .is_some()
        );
    }

    #[test]
    fn no_stall_without_a_cadence_or_once_the_publisher_left() {
        let mut watch = StallWatch::default();
        let t = Instant::now();
        watch.sample(GID, t);
        watch.sample(GID, t + Duration::from_millis(10));
        assert!(watch.check(t + Duration::from_secs(30), |_| true).is_none());
        watch.sample(GID, t + Duration::from_millis(20));
        assert!(
            watch
                .check(t + Duration::from_secs(30), |_| false)
                .is_none()
        );
        assert!(watch.check(t + Duration::from_secs(30), |_| true).is_some());
    }

    #[test]
    fn a_full_queue_is_not_silence() {
        let mut watch = StallWatch::default();
        let last = steady(&mut watch, Instant::now(), Duration::from_millis(10), 5);
        watch.held(last + Duration::from_secs(5));
        assert!(
            watch
                .check(last + Duration::from_secs(5), |_| true)
                .is_none()
        );
    }

    #[test]
    fn the_allowance_never_passes_the_cap() {
        let mut watch = StallWatch::default();
        let mut t = steady(&mut watch, Instant::now(), Duration::from_millis(100), 5);
        for _ in 0..12 {
            t += MAX_SILENCE + Duration::from_millis(1);
            assert!(watch.check(t, |_| true).is_some());
        }
    }
}
