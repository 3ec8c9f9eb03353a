//! The ROS side: one rcl node, subscriptions drained on a dedicated thread
//! that blocks on a wait set, publishers used directly by the dora side.

pub mod qos;
pub mod rcl;

use crate::codec::MessageCodec;
use crate::msg::TypeName;
use anyhow::Context as _;
use arrow::array::StructArray;
use rcl::{
    GuardCondition, MessageInfo, RclContext, RclNode, RclPublisher, RclSubscription, TypeSupport,
};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// A message received from ROS and decoded, on its way to a dora output.
pub struct Received {
    pub route: usize,
    pub message: StructArray,
    pub info: MessageInfo,
}

/// A subscription route, created by [`RosSide::subscribe`].
pub struct Subscription {
    pub topic: String,
    pub codec: MessageCodec,
    pub stats: Arc<RouteStats>,
    inner: RclSubscription,
}

/// Per-route counters, shared between threads.
#[derive(Debug, Default)]
pub struct RouteStats {
    pub forwarded: AtomicU64,
    pub decode_errors: AtomicU64,
    pub encode_errors: AtomicU64,
    pub publish_errors: AtomicU64,
}

pub struct Publisher {
    pub topic: String,
    pub codec: MessageCodec,
    pub stats: Arc<RouteStats>,
    inner: RclPublisher,
    buffer: Mutex<Vec<u8>>,
}

impl Publisher {
    /// Publishes every row of `messages`; returns how many were published.
    /// A bad row is logged and counted, and the rest still go out.
    pub fn publish_all(&self, messages: &dyn arrow::array::Array, limiter: &RateLimiter) -> usize {
        use arrow::array::{Array, AsArray};
        let structs = match messages.data_type() {
            arrow::datatypes::DataType::Struct(_) => messages.as_struct(),
            other => {
                self.stats.encode_errors.fetch_add(1, Ordering::Relaxed);
                limiter.warn(|| {
                    format!(
                        "{}: dropped input: expected a StructArray of {} messages, got {other}",
                        self.topic,
                        self.codec.type_name()
                    )
                });
                return 0;
            }
        };
        let mut published = 0;
        let mut buffer = self.buffer.lock().unwrap_or_else(|p| p.into_inner());
        for row in 0..structs.len() {
            match self
                .codec
                .encode_row(structs, row, std::mem::take(&mut *buffer))
            {
                Ok(cdr) => {
                    match self.inner.publish(&cdr) {
                        Ok(()) => {
                            published += 1;
                            self.stats.forwarded.fetch_add(1, Ordering::Relaxed);
                        }
                        Err(e) => {
                            self.stats.publish_errors.fetch_add(1, Ordering::Relaxed);
                            limiter.warn(|| format!("{}: publish failed: {e}", self.topic));
                        }
                    }
                    *buffer = cdr;
                }
                Err(e) => {
                    self.stats.encode_errors.fetch_add(1, Ordering::Relaxed);
                    let row_note = if structs.len() > 1 {
                        format!(" (row {row})")
                    } else {
                        String::new()
                    };
                    limiter.warn(|| {
                        format!(
                            "{}: dropped message{row_note} that does not fit {}: {e}",
                            self.topic,
                            self.codec.type_name()
                        )
                    });
                }
            }
        }
        published
    }

    pub fn subscription_count(&self) -> usize {
        self.inner.subscription_count().unwrap_or(0)
    }
}

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

/// The bridge's node in the ROS graph.
pub struct RosSide {
    node: Arc<RclNode>,
    wake: Arc<GuardCondition>,
    stop: Arc<AtomicBool>,
    receiver: Option<JoinHandle<()>>,
    prefixes: Vec<PathBuf>,
    type_supports: Mutex<HashMap<TypeName, Arc<TypeSupport>>>,
}

impl RosSide {
    /// `args` are the process arguments (rcl reads `--ros-args` from them).
    pub fn start(
        args: &[String],
        node_name: &str,
        namespace: &str,
        prefixes: Vec<PathBuf>,
    ) -> anyhow::Result<Self> {
        let context = RclContext::new(args).context("cannot initialise ROS 2 (rcl)")?;
        let node = RclNode::new(&context, node_name, namespace).with_context(|| {
            format!("cannot create ROS node `{node_name}` in namespace `{namespace}`")
        })?;
        let wake = GuardCondition::new(&context)?;
        tracing::info!(
            "ROS node {}{} is up",
            fq_prefix(&node.namespace()),
            node.name()
        );
        Ok(RosSide {
            node,
            wake,
            stop: Arc::new(AtomicBool::new(false)),
            receiver: None,
            prefixes,
            type_supports: Mutex::new(HashMap::new()),
        })
    }

    pub fn node_name(&self) -> String {
        format!("{}{}", fq_prefix(&self.node.namespace()), self.node.name())
    }

    fn type_support(&self, name: &TypeName) -> anyhow::Result<Arc<TypeSupport>> {
        let mut cache = self.type_supports.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(ts) = cache.get(name) {
            return Ok(ts.clone());
        }
        let ts = TypeSupport::load(&self.prefixes, &name.package, &name.kind, &name.name)
            .map_err(anyhow::Error::msg)?;
        cache.insert(name.clone(), ts.clone());
        Ok(ts)
    }

    pub fn subscribe(
        &self,
        topic: &str,
        codec: MessageCodec,
        qos: rcl::QosProfile,
    ) -> anyhow::Result<Subscription> {
        let ts = self.type_support(codec.type_name())?;
        let inner = RclSubscription::new(&self.node, &ts, topic, qos)
            .with_context(|| format!("cannot subscribe to {topic} ({})", codec.type_name()))?;
        Ok(Subscription {
            topic: topic.to_string(),
            codec,
            stats: Arc::default(),
            inner,
        })
    }

    pub fn advertise(
        &self,
        topic: &str,
        codec: MessageCodec,
        qos: rcl::QosProfile,
    ) -> anyhow::Result<Publisher> {
        let ts = self.type_support(codec.type_name())?;
        let inner = RclPublisher::new(&self.node, &ts, topic, qos).with_context(|| {
            format!("cannot create publisher on {topic} ({})", codec.type_name())
        })?;
        Ok(Publisher {
            topic: topic.to_string(),
            codec,
            stats: Arc::default(),
            inner,
            buffer: Mutex::new(Vec::new()),
        })
    }

    /// Starts the thread that takes messages from `subscriptions`, decodes
    /// them and hands them to `sink` (blocking when it is full, which pushes
    /// back onto the DDS history of the subscription).
    pub fn spawn_receiver(
        &mut self,
        mut subscriptions: Vec<Subscription>,
        sink: mpsc::Sender<Received>,
    ) -> anyhow::Result<()> {
        let mut wait_set = rcl::WaitSet::new(&self.node)?;
        let wake = self.wake.clone();
        let stop = self.stop.clone();
        let limiter = RateLimiter::new(Duration::from_secs(5));
        let handle = std::thread::Builder::new()
            .name("ros-receiver".into())
            .spawn(move || {
                while !stop.load(Ordering::Acquire) {
                    let ready = {
                        let subs: Vec<&RclSubscription> =
                            subscriptions.iter().map(|s| &s.inner).collect();
                        match wait_set.wait(&subs, &[&wake], Duration::from_secs(1)) {
                            Ok(ready) => ready,
                            Err(e) => {
                                tracing::error!("waiting for ROS messages failed: {e}");
                                std::thread::sleep(Duration::from_millis(100));
                                continue;
                            }
                        }
                    };
                    for index in ready.subscriptions {
                        let sub = &mut subscriptions[index];
                        loop {
                            let (message, info) = match sub.inner.take() {
                                Ok(Some((bytes, info))) => (sub.codec.decode(bytes), info),
                                Ok(None) => break,
                                Err(e) => {
                                    limiter.warn(|| format!("{}: take failed: {e}", sub.topic));
                                    break;
                                }
                            };
                            match message {
                                Ok(message) => {
                                    sub.stats.forwarded.fetch_add(1, Ordering::Relaxed);
                                    if sink
                                        .blocking_send(Received {
                                            route: index,
                                            message,
                                            info,
                                        })
                                        .is_err()
                                    {
                                        return; // the dora side has shut down
                                    }
                                }
                                Err(e) => {
                                    sub.stats.decode_errors.fetch_add(1, Ordering::Relaxed);
                                    limiter.warn(|| {
                                        format!(
                                            "{}: dropped malformed {} message: {e}",
                                            sub.topic,
                                            sub.codec.type_name()
                                        )
                                    });
                                }
                            }
                        }
                    }
                }
            })
            .context("cannot start the ROS receiver thread")?;
        self.receiver = Some(handle);
        Ok(())
    }

    /// Stops the receiver thread and drops its subscriptions. Publishers are
    /// dropped by their owners; the node leaves the graph once all are gone.
    pub fn stop_receiver(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Err(e) = self.wake.trigger() {
            tracing::warn!("cannot wake the ROS receiver: {e}");
        }
        if let Some(handle) = self.receiver.take() {
            let _ = handle.join();
        }
    }
}

impl Drop for RosSide {
    fn drop(&mut self) {
        self.stop_receiver();
    }
}

fn fq_prefix(namespace: &str) -> String {
    if namespace.ends_with('/') {
        namespace.to_string()
    } else {
        format!("{namespace}/")
    }
}
