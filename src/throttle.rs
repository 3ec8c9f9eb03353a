//! Keeping the log readable under bad data and busy graphs: one helper for
//! rate-limited warnings and one for things worth saying once.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Logs at most one warning per interval, counting what it held back, so bad
/// data at a high rate cannot flood the log.
pub struct RateLimiter {
    interval: Duration,
    state: Mutex<(Option<Instant>, u64)>,
}

impl RateLimiter {
    pub fn new(interval: Duration) -> Self {
        RateLimiter {
            interval,
            state: Mutex::new((None, 0)),
        }
    }

    pub fn warn(&self, message: impl FnOnce() -> String) {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        match state.0 {
            Some(last) if now.duration_since(last) < self.interval => state.1 += 1,
            _ => {
                let held = std::mem::take(&mut state.1);
                state.0 = Some(now);
                if held > 0 {
                    tracing::warn!("{} ({held} similar messages suppressed)", message());
                } else {
                    tracing::warn!("{}", message());
                }
            }
        }
    }
}

/// Rate-limited warnings of one route, kept apart by kind of problem, so
/// that a noisy kind cannot hide the first warning of another (and each
/// route owns one, so a noisy route cannot hide another's). What a kind
/// held back is said with its next warning, or by
/// [`flush_suppressed`](Self::flush_suppressed) (with the stats log line)
/// if none comes.
pub struct KeyedLimiter {
    /// `to_ros[0] /cmd_vel`: names the route in the suppressed count.
    label: String,
    interval: Duration,
    /// Kind -> when it was last said, and how many were held back since.
    kinds: Mutex<HashMap<&'static str, (Instant, u64)>>,
}

impl KeyedLimiter {
    pub fn new(label: impl Into<String>, interval: Duration) -> Self {
        KeyedLimiter {
            label: label.into(),
            interval,
            kinds: Mutex::new(HashMap::new()),
        }
    }

    pub fn warn(&self, kind: &'static str, message: impl FnOnce() -> String) {
        let mut kinds = self.kinds.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        match kinds.get_mut(kind) {
            Some((last, held)) if now.duration_since(*last) < self.interval => *held += 1,
            entry => {
                let held = entry.map_or(0, |(_, held)| std::mem::take(held));
                kinds.insert(kind, (now, 0));
                if held > 0 {
                    tracing::warn!("{} ({held} similar messages suppressed)", message());
                } else {
                    tracing::warn!("{}", message());
                }
            }
        }
    }

    /// Says, per kind, how many warnings were held back since its last
    /// one; they count from zero again.
    pub fn flush_suppressed(&self) {
        let mut kinds = self.kinds.lock().unwrap_or_else(|p| p.into_inner());
        for (kind, (_, held)) in kinds.iter_mut() {
            if *held > 0 {
                tracing::warn!("{}: {held} more `{kind}` warning(s) suppressed", self.label);
                *held = 0;
            }
        }
    }

    /// Held back and not yet said, for one kind.
    pub fn suppressed(&self, kind: &str) -> u64 {
        let kinds = self.kinds.lock().unwrap_or_else(|p| p.into_inner());
        kinds.get(kind).map_or(0, |(_, held)| *held)
    }
}

/// Remembers what was said, by key, so that a condition seen on every
/// graph change or every message is reported once.
#[derive(Default)]
pub struct SayOnce {
    said: Mutex<HashSet<String>>,
}

impl SayOnce {
    /// True the first time `key` is seen.
    pub fn first(&self, key: impl Into<String>) -> bool {
        self.said
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key.into())
    }

    /// How many distinct things were said.
    pub fn count(&self) -> usize {
        self.said.lock().unwrap_or_else(|p| p.into_inner()).len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_is_throttled_on_its_own_and_counts_what_it_held_back() {
        let limiter = KeyedLimiter::new("to_ros[0] /a", Duration::from_secs(60));
        let say = || String::from("x");
        limiter.warn("encode", say);
        limiter.warn("encode", say);
        limiter.warn("encode", say);
        // Another kind is said at once, however noisy the first.
        limiter.warn("publish", say);
        assert_eq!(limiter.suppressed("encode"), 2);
        assert_eq!(limiter.suppressed("publish"), 0);
        limiter.flush_suppressed();
        assert_eq!(limiter.suppressed("encode"), 0);
    }

    #[test]
    fn say_once_says_each_key_once() {
        let once = SayOnce::default();
        assert!(once.first("a"));
        assert!(!once.first("a"));
        assert!(once.first(String::from("b")));
        assert_eq!(once.count(), 2);
    }
}
