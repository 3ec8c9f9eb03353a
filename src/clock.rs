//! ROS time as the bridge keeps it: the system clock, or with
//! `use_sim_time` the simulated time last published on `/clock` (as
//! rclcpp's and rclpy's ROS clocks do: 0 until the first `/clock`). Pure:
//! the thread that takes `/clock` is `ros::clock`. Below `flow`, so that
//! every layer can stamp with it.

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Which time [`RosClock::now_ns`] gives, as the metadata names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeSource {
    /// The system clock (`use_sim_time` false).
    System,
    /// `/clock` (`use_sim_time` true).
    Sim,
}

impl TimeSource {
    pub fn name(self) -> &'static str {
        match self {
            TimeSource::System => "system",
            TimeSource::Sim => "sim",
        }
    }
}

/// The bridge's ROS clock, shared by every thread that stamps.
#[derive(Debug)]
pub struct RosClock {
    use_sim_time: AtomicBool,
    /// The last `/clock` time; negative until the first one.
    sim_ns: AtomicI64,
}

impl RosClock {
    pub fn new(use_sim_time: bool) -> Self {
        RosClock {
            use_sim_time: AtomicBool::new(use_sim_time),
            sim_ns: AtomicI64::new(-1),
        }
    }

    /// Nanoseconds since the epoch in ROS time: sim time (0 before the
    /// first `/clock`) or the system clock.
    pub fn now_ns(&self) -> i64 {
        match self.source() {
            TimeSource::Sim => self.sim_ns.load(Ordering::Acquire).max(0),
            TimeSource::System => system_now_ns(),
        }
    }

    pub fn source(&self) -> TimeSource {
        match self.use_sim_time.load(Ordering::Acquire) {
            true => TimeSource::Sim,
            false => TimeSource::System,
        }
    }

    pub fn use_sim_time(&self) -> bool {
        self.source() == TimeSource::Sim
    }

    /// The `use_sim_time` parameter was set. Turning it off forgets the
    /// sim time, so that turning it on again waits for a fresh `/clock`.
    pub fn set_use_sim_time(&self, on: bool) {
        if !self.use_sim_time.swap(on, Ordering::AcqRel) && on {
            self.sim_ns.store(-1, Ordering::Release);
        }
    }

    /// A `/clock` message said `ns`.
    pub fn set_sim_time(&self, ns: i64) {
        self.sim_ns.store(ns, Ordering::Release);
    }

    /// Whether sim time has been received (always true for system time).
    pub fn has_time(&self) -> bool {
        !self.use_sim_time() || self.sim_ns.load(Ordering::Acquire) >= 0
    }
}

pub fn system_now_ns() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos().min(i64::MAX as u128) as i64)
}

/// A `builtin_interfaces/Time` split of `ns` (sec may be negative).
pub fn sec_nanosec(ns: i64) -> (i32, u32) {
    let sec = ns.div_euclid(1_000_000_000);
    let nanosec = ns.rem_euclid(1_000_000_000) as u32;
    (sec.clamp(i32::MIN as i64, i32::MAX as i64) as i32, nanosec)
}

/// The time in a `rosgraph_msgs/msg/Clock` sample (CDR), `None` when the
/// sample is too short or its encoding is not plain CDR.
pub fn clock_message_ns(cdr: &[u8]) -> Option<i64> {
    let header = cdr.get(..4)?;
    let body = cdr.get(4..12)?;
    let little = match header[1] {
        0x01 => true,
        0x00 => false,
        _ => return None,
    };
    let (sec, nanosec) = match little {
        true => (
            i32::from_le_bytes(body[..4].try_into().ok()?),
            u32::from_le_bytes(body[4..].try_into().ok()?),
        ),
        false => (
            i32::from_be_bytes(body[..4].try_into().ok()?),
            u32::from_be_bytes(body[4..].try_into().ok()?),
        ),
    };
    Some(sec as i64 * 1_000_000_000 + nanosec as i64)
}

/// A `rosgraph_msgs/msg/Clock` sample (little-endian CDR) at `ns`.
pub fn clock_message(ns: i64) -> Vec<u8> {
    let (sec, nanosec) = sec_nanosec(ns);
    let mut cdr = vec![0x00, 0x01, 0x00, 0x00];
    cdr.extend_from_slice(&sec.to_le_bytes());
    cdr.extend_from_slice(&nanosec.to_le_bytes());
    cdr
}

/// Sets a zero `header.stamp` of a message that starts with a
/// `std_msgs/Header` (its first 8 payload bytes) to `ns`; whether it did.
pub fn fill_zero_stamp(cdr: &mut [u8], ns: i64) -> bool {
    let little = match cdr.get(1) {
        Some(0x01) => true,
        Some(0x00) => false,
        _ => return false,
    };
    let Some(stamp) = cdr.get_mut(4..12) else {
        return false;
    };
    if stamp.iter().any(|&b| b != 0) {
        return false;
    }
    let (sec, nanosec) = sec_nanosec(ns);
    let (sec, nanosec) = match little {
        true => (sec.to_le_bytes(), nanosec.to_le_bytes()),
        false => (sec.to_be_bytes(), nanosec.to_be_bytes()),
    };
    stamp[..4].copy_from_slice(&sec);
    stamp[4..].copy_from_slice(&nanosec);
    true
}

/// A timer in ROS time: ticks once per `period` of ROS time, so in sim
/// time it follows the simulation (faster, slower, paused). Like ROS
/// timers, the first tick is one period after the timer first sees time;
/// after a jump forward it ticks once and skips the missed periods; time
/// going backwards (a bag looping, a simulation reset) restarts it.
#[derive(Debug)]
pub struct Ticker {
    period_ns: i64,
    next_ns: Option<i64>,
}

impl Ticker {
    pub fn new(period: Duration) -> Self {
        Ticker {
            period_ns: (period.as_nanos() as i64).max(1),
            next_ns: None,
        }
    }

    /// Whether a tick is due at ROS time `now_ns` (0: no time yet).
    pub fn poll(&mut self, now_ns: i64) -> bool {
        if now_ns <= 0 {
            return false;
        }
        let Some(next) = self.next_ns else {
            self.next_ns = Some(now_ns + self.period_ns);
            return false;
        };
        if now_ns + self.period_ns < next {
            self.next_ns = Some(now_ns + self.period_ns);
            return false;
        }
        if now_ns < next {
            return false;
        }
        let missed = (now_ns - next) / self.period_ns;
        self.next_ns = Some(next + (missed + 1) * self.period_ns);
        true
    }

    /// How long until the next tick in ROS time (a period before the first).
    pub fn until_next(&self, now_ns: i64) -> Duration {
        let next = self.next_ns.unwrap_or(now_ns + self.period_ns);
        Duration::from_nanos((next - now_ns).max(0) as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: i64 = 1_000_000_000;

    #[test]
    fn sim_time_is_zero_until_the_first_clock() {
        let clock = RosClock::new(true);
        assert_eq!(clock.now_ns(), 0);
        assert!(!clock.has_time());
        clock.set_sim_time(1000 * S);
        assert_eq!(clock.now_ns(), 1000 * S);
        assert_eq!(clock.source(), TimeSource::Sim);
    }

    #[test]
    fn system_time_until_use_sim_time_is_set() {
        let clock = RosClock::new(false);
        assert!(clock.now_ns() > 1_600_000_000 * S);
        clock.set_sim_time(5 * S);
        assert!(clock.now_ns() > 1_600_000_000 * S, "sim time ignored");
        clock.set_use_sim_time(true);
        assert_eq!(clock.now_ns(), 0, "waits for a fresh /clock");
        clock.set_sim_time(7 * S);
        assert_eq!(clock.now_ns(), 7 * S);
    }

    #[test]
    fn clock_messages_round_trip_and_bad_ones_are_refused() {
        let cdr = clock_message(1000 * S + 250);
        assert_eq!(clock_message_ns(&cdr), Some(1000 * S + 250));
        assert_eq!(clock_message_ns(&[]), None);
        assert_eq!(clock_message_ns(&cdr[..8]), None);
        let mut big = vec![0, 0, 0, 0];
        big.extend_from_slice(&3i32.to_be_bytes());
        big.extend_from_slice(&5u32.to_be_bytes());
        assert_eq!(clock_message_ns(&big), Some(3 * S + 5));
        assert_eq!(
            clock_message_ns(&[0, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
            None
        );
    }

    #[test]
    fn only_zero_stamps_are_filled() {
        let mut zero = vec![0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7, 0, 0, 0];
        assert!(fill_zero_stamp(&mut zero, 1000 * S + 5));
        assert_eq!(clock_message_ns(&zero), Some(1000 * S + 5));
        assert_eq!(zero[12], 7, "the rest untouched");
        let mut set = clock_message(3 * S);
        assert!(!fill_zero_stamp(&mut set, 1000 * S));
        assert_eq!(clock_message_ns(&set), Some(3 * S));
        assert!(!fill_zero_stamp(&mut [0, 1, 0, 0, 0], S), "too short");
    }

    #[test]
    fn negative_times_split_like_builtin_interfaces() {
        assert_eq!(sec_nanosec(-1), (-1, 999_999_999));
        assert_eq!(sec_nanosec(S + 2), (1, 2));
    }

    #[test]
    fn ticker_follows_ros_time_and_pauses_with_it() {
        let mut ticker = Ticker::new(Duration::from_millis(100));
        assert!(!ticker.poll(0), "no time yet");
        assert!(!ticker.poll(1000 * S), "starts a period from now");
        assert!(!ticker.poll(1000 * S + 50_000_000));
        assert!(ticker.poll(1000 * S + 100_000_000));
        // Paused: the same time again and again never ticks.
        for _ in 0..10 {
            assert!(!ticker.poll(1000 * S + 100_000_000));
        }
        assert!(ticker.poll(1000 * S + 200_000_000));
    }

    #[test]
    fn ticker_skips_missed_periods_and_restarts_on_a_jump_back() {
        let mut ticker = Ticker::new(Duration::from_millis(100));
        ticker.poll(10 * S);
        assert!(ticker.poll(11 * S), "one tick after a jump forward");
        assert!(!ticker.poll(11 * S + 50_000_000), "missed periods skipped");
        assert!(ticker.poll(11 * S + 100_000_000));
        assert!(!ticker.poll(2 * S), "time went back: restarted");
        assert!(!ticker.poll(2 * S + 50_000_000));
        assert!(ticker.poll(2 * S + 100_000_000));
        assert_eq!(
            ticker.until_next(2 * S + 150_000_000),
            Duration::from_millis(50)
        );
    }
}
