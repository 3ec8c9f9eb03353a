//! The thread that fills the bridge's transform buffer from `/tf` and
//! `/tf_static`, subscribed as tf2's listeners are (reliable, depth 100;
//! `/tf_static` transient local, so every latched publisher's set arrives,
//! late or not).

use super::RosShared;
use super::rcl::{Durability, GuardCondition, RclSubscription, WaitSet};
use crate::codec::tf::read_tf_message;
use crate::msg::TypeName;
use crate::stats::RouteStats;
use crate::tf::buffer::TransformBuffer;
use crate::throttle::RateLimiter;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// tf2's listener depth: a burst of transforms from many publishers.
const TF_DEPTH: usize = 100;
const IDLE_WAIT: Duration = Duration::from_millis(500);

pub type SharedBuffer = Arc<Mutex<TransformBuffer>>;

pub struct TfListener {
    buffer: SharedBuffer,
    /// Transforms taken (received) and kept (forwarded); malformed samples
    /// and transforms the buffer refuses (decode_errors); older than the
    /// cache (failed).
    pub stats: Arc<RouteStats>,
    wake: Arc<GuardCondition>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl TfListener {
    pub fn start(shared: &Arc<RosShared>, buffer: TransformBuffer) -> anyhow::Result<Self> {
        let subscriptions = [("/tf", false), ("/tf_static", true)]
            .into_iter()
            .map(|(topic, latched)| subscribe(shared, topic, latched).map(|s| (s, latched)))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let buffer = Arc::new(Mutex::new(buffer));
        let stats = Arc::new(RouteStats::default());
        let wake = shared.node.guard_condition()?;
        let stop = Arc::new(AtomicBool::new(false));
        let taker = Taker {
            shared: shared.clone(),
            buffer: buffer.clone(),
            stats: stats.clone(),
            wake: wake.clone(),
            stop: stop.clone(),
        };
        let thread = std::thread::Builder::new()
            .name("ros-tf".into())
            .spawn(move || taker.run(subscriptions))?;
        Ok(TfListener {
            buffer,
            stats,
            wake,
            stop,
            thread: Some(thread),
        })
    }

    pub fn buffer(&self) -> &SharedBuffer {
        &self.buffer
    }
}

impl Drop for TfListener {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        let _ = self.wake.trigger();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn subscribe(shared: &RosShared, topic: &str, latched: bool) -> anyhow::Result<RclSubscription> {
    let mut qos = super::rcl::default_qos();
    qos.depth = TF_DEPTH;
    if latched {
        qos.durability = Durability::RMW_QOS_POLICY_DURABILITY_TRANSIENT_LOCAL;
    }
    let tf_message = TypeName {
        package: "tf2_msgs".into(),
        kind: "msg".into(),
        name: "TFMessage".into(),
    };
    shared.subscription(topic, &tf_message, qos)
}

struct Taker {
    shared: Arc<RosShared>,
    buffer: SharedBuffer,
    stats: Arc<RouteStats>,
    wake: Arc<GuardCondition>,
    stop: Arc<AtomicBool>,
}

impl Taker {
    fn run(self, mut subscriptions: Vec<(RclSubscription, bool)>) {
        let mut wait_set = match WaitSet::new(&self.shared.node) {
            Ok(ws) => ws,
            Err(e) => {
                tracing::error!("cannot create the TF listener's wait set: {e}");
                return;
            }
        };
        let errors = RateLimiter::new(Duration::from_secs(5));
        while !self.stop.load(Ordering::Acquire) {
            let refs: Vec<&RclSubscription> = subscriptions.iter().map(|(s, _)| s).collect();
            let ready = match wait_set.wait_services(&refs, &[], &[], &[&self.wake], IDLE_WAIT) {
                Ok(ready) => ready,
                Err(e) => {
                    errors.warn(|| format!("waiting for /tf failed: {e}"));
                    std::thread::sleep(Duration::from_millis(50));
                    continue;
                }
            };
            for index in ready.subscriptions {
                let (subscription, latched) = &mut subscriptions[index];
                self.take_all(subscription, *latched, &errors);
            }
        }
    }

    fn take_all(&self, subscription: &mut RclSubscription, latched: bool, errors: &RateLimiter) {
        loop {
            match subscription.take(usize::MAX) {
                Ok(Some((taken, _))) => self.insert(taken.bytes(), latched, errors),
                Ok(None) => return,
                Err(e) => {
                    errors.warn(|| format!("cannot take from /tf: {e}"));
                    return;
                }
            }
        }
    }

    fn insert(&self, cdr: &[u8], latched: bool, errors: &RateLimiter) {
        let topic = if latched { "/tf_static" } else { "/tf" };
        let transforms = match read_tf_message(cdr) {
            Ok(transforms) => transforms,
            Err(e) => {
                self.stats.decode_errors.fetch_add(1, Ordering::Relaxed);
                return errors.warn(|| format!("{topic}: dropped a malformed TFMessage: {e}"));
            }
        };
        let mut buffer = self.buffer.lock().unwrap_or_else(|p| p.into_inner());
        for t in transforms {
            self.stats.received.fetch_add(1, Ordering::Relaxed);
            match buffer.insert(crate::tf::from_wire(t), latched) {
                Ok(true) => {
                    self.stats.forwarded.fetch_add(1, Ordering::Relaxed);
                }
                Ok(false) => {
                    self.stats.failed.fetch_add(1, Ordering::Relaxed);
                }
                Err(e) => {
                    self.stats.decode_errors.fetch_add(1, Ordering::Relaxed);
                    errors.warn(|| format!("{topic}: ignored a transform: {e}"));
                }
            }
        }
    }
}
