//! Keeping the log readable under bad data and busy graphs: one helper for
//! rate-limited warnings and one for things worth saying once.

use std::collections::HashSet;
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
    fn say_once_says_each_key_once() {
        let once = SayOnce::default();
        assert!(once.first("a"));
        assert!(!once.first("a"));
        assert!(once.first(String::from("b")));
        assert_eq!(once.count(), 2);
    }
}
