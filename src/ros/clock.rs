//! The thread that keeps the bridge's ROS clock ([`RosClock`]) on `/clock`
//! while `use_sim_time` is on, and runs the `clock` output's timer in ROS
//! time. It subscribes to `/clock` only while sim time is on (as ROS client
//! libraries do), so a bridge in system time adds nothing to the graph.

use super::RosShared;
use super::rcl::{GuardCondition, RclSubscription, WaitSet};
use crate::clock::{RosClock, Ticker, clock_message_ns};
use crate::msg::TypeName;
use crate::throttle::RateLimiter;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use tokio::sync::mpsc::UnboundedSender;

/// `/clock` from a bag's time (`bag play --clock`, `replay.clock`): at
/// most `hz` times a second of wall time.
pub struct ClockPublisher {
    publisher: super::Publisher,
    period: Duration,
    next: Instant,
}

impl ClockPublisher {
    pub fn advertise(
        ros: &super::RosSide,
        registry: &crate::msg::TypeRegistry,
        hz: f64,
    ) -> anyhow::Result<Self> {
        if !(hz > 0.0 && hz.is_finite()) {
            anyhow::bail!("the /clock rate must be a positive number of Hz, got {hz}");
        }
        let clock_type = TypeName::parse("rosgraph_msgs/msg/Clock")?;
        let options = crate::codec::CodecOptions::default();
        let codec = crate::codec::MessageCodec::new(registry, &clock_type, options)?;
        let topic = ros.resolve_topic("/clock")?;
        let publisher = ros.advertise(&topic, codec, super::qos::clock())?;
        tracing::info!("publishing /clock from the bag's time at {hz} Hz");
        Ok(ClockPublisher {
            publisher,
            period: Duration::from_secs_f64(1.0 / hz),
            next: Instant::now(),
        })
    }

    /// Publishes `time_ns` if a tick is due; when the next one is.
    pub fn publish_due(&mut self, time_ns: i64) -> Instant {
        let now = Instant::now();
        if now >= self.next {
            if let Err(e) = self
                .publisher
                .publish_cdr(&crate::clock::clock_message(time_ns))
            {
                tracing::warn!("/clock: publish failed: {e}");
            }
            self.next = (self.next + self.period).max(now);
        }
        self.next
    }
}

/// How often the thread looks at `use_sim_time` (a parameter set at run
/// time) without a message.
const POLL: Duration = Duration::from_millis(50);
/// With sim time on and no `/clock` for this long, the bridge says so.
pub const NO_CLOCK_WARNING: Duration = Duration::from_secs(5);

/// The `clock` output's timer: a tick (the ROS time) per period.
struct Ticks {
    ticker: Ticker,
    to: UnboundedSender<i64>,
}

pub struct ClockFollower {
    clock: Arc<RosClock>,
    ticks: Arc<Mutex<Option<Ticks>>>,
    wake: Arc<GuardCondition>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl ClockFollower {
    pub fn start(shared: &Arc<RosShared>, clock: Arc<RosClock>) -> anyhow::Result<Self> {
        let wake = shared.node.guard_condition()?;
        let stop = Arc::new(AtomicBool::new(false));
        let ticks = Arc::new(Mutex::new(None));
        let follower = Follower {
            shared: shared.clone(),
            clock: clock.clone(),
            ticks: Arc::clone(&ticks),
            wake: wake.clone(),
            stop: stop.clone(),
        };
        let thread = std::thread::Builder::new()
            .name("ros-clock".into())
            .spawn(move || follower.run())?;
        Ok(ClockFollower {
            clock,
            ticks,
            wake,
            stop,
            thread: Some(thread),
        })
    }

    pub fn clock(&self) -> &Arc<RosClock> {
        &self.clock
    }

    /// Sends the ROS time to `to` once per `period` of ROS time.
    pub fn tick_every(&self, period: Duration, to: UnboundedSender<i64>) {
        let ticks = Ticks {
            ticker: Ticker::new(period),
            to,
        };
        *self.ticks.lock().unwrap_or_else(|p| p.into_inner()) = Some(ticks);
        let _ = self.wake.trigger();
    }
}

impl Drop for ClockFollower {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        let _ = self.wake.trigger();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

struct Follower {
    shared: Arc<RosShared>,
    clock: Arc<RosClock>,
    ticks: Arc<Mutex<Option<Ticks>>>,
    wake: Arc<GuardCondition>,
    stop: Arc<AtomicBool>,
}

/// `/clock` while sim time is on, and since when it has been waited for.
struct ClockSubscription {
    subscription: RclSubscription,
    since: Instant,
    received: bool,
    warned: bool,
}

impl Follower {
    fn run(self) {
        let mut wait_set = match WaitSet::new(&self.shared.node) {
            Ok(ws) => ws,
            Err(e) => {
                tracing::error!("cannot create the ROS clock's wait set: {e}");
                return;
            }
        };
        let errors = RateLimiter::new(Duration::from_secs(5));
        let mut subscription: Option<ClockSubscription> = None;
        while !self.stop.load(Ordering::Acquire) {
            self.follow_mode(&mut subscription, &errors);
            let subscriptions: Vec<&RclSubscription> =
                subscription.iter().map(|s| &s.subscription).collect();
            let timeout = self.wait_time();
            if let Err(e) = wait_set.wait_services(&subscriptions, &[], &[], &[&self.wake], timeout)
            {
                errors.warn(|| format!("waiting for /clock failed: {e}"));
                std::thread::sleep(POLL);
            }
            if let Some(s) = subscription.as_mut() {
                self.take_clock(s, &errors);
                warn_without_clock(s, &self.clock);
            }
            self.tick();
        }
    }

    /// Subscribes to `/clock` when sim time was turned on, leaves it when off.
    fn follow_mode(&self, subscription: &mut Option<ClockSubscription>, errors: &RateLimiter) {
        match (self.clock.use_sim_time(), subscription.is_some()) {
            (true, false) => match self.subscribe() {
                Ok(s) => {
                    tracing::info!("use_sim_time: ROS time follows /clock");
                    *subscription = Some(ClockSubscription {
                        subscription: s,
                        since: Instant::now(),
                        received: false,
                        warned: false,
                    });
                }
                Err(e) => errors.warn(|| format!("use_sim_time: {e:#}")),
            },
            (false, true) => {
                tracing::info!("use_sim_time off: ROS time is the system clock");
                *subscription = None;
            }
            _ => {}
        }
    }

    fn subscribe(&self) -> anyhow::Result<RclSubscription> {
        let clock_type = TypeName {
            package: "rosgraph_msgs".into(),
            kind: "msg".into(),
            name: "Clock".into(),
        };
        self.shared
            .subscription("/clock", &clock_type, super::qos::clock())
    }

    fn take_clock(&self, s: &mut ClockSubscription, errors: &RateLimiter) {
        loop {
            match s.subscription.take(usize::MAX) {
                Ok(Some((taken, _))) => match clock_message_ns(taken.bytes()) {
                    Some(ns) => {
                        self.clock.set_sim_time(ns);
                        if !s.received && s.warned {
                            tracing::info!("/clock arrived: ROS time is {:.3} s", ns as f64 / 1e9);
                        }
                        s.received = true;
                    }
                    None => errors.warn(|| {
                        format!(
                            "dropped a malformed /clock sample ({} bytes)",
                            taken.bytes().len()
                        )
                    }),
                },
                Ok(None) => return,
                Err(e) => {
                    errors.warn(|| format!("cannot take /clock: {e}"));
                    return;
                }
            }
        }
    }

    /// Until the next system-time tick, at most [`POLL`].
    fn wait_time(&self) -> Duration {
        let ticks = self.ticks.lock().unwrap_or_else(|p| p.into_inner());
        match ticks.as_ref() {
            Some(t) if !self.clock.use_sim_time() => {
                t.ticker.until_next(self.clock.now_ns()).min(POLL)
            }
            _ => POLL,
        }
    }

    fn tick(&self) {
        let mut ticks = self.ticks.lock().unwrap_or_else(|p| p.into_inner());
        let Some(t) = ticks.as_mut() else {
            return;
        };
        let now = self.clock.now_ns();
        if t.ticker.poll(now) && t.to.send(now).is_err() {
            *ticks = None; // the bridge is gone
        }
    }
}

/// Says once that sim time is on and nothing publishes `/clock`, and what
/// the bridge does meanwhile.
fn warn_without_clock(s: &mut ClockSubscription, clock: &RosClock) {
    if s.received || s.warned || s.since.elapsed() < NO_CLOCK_WARNING {
        return;
    }
    s.warned = true;
    let publishers = s.subscription.publisher_count().unwrap_or(0);
    tracing::warn!(
        "use_sim_time is on but no /clock for {NO_CLOCK_WARNING:?} ({publishers} publisher(s) \
         of /clock): ROS time stays at {} (messages carry ros_time_ns 0, /diagnostics and \
         recordings are stamped 0, the clock output does not tick) until a simulator or \
         `bag play --clock` publishes /clock",
        clock.now_ns()
    );
}
