//! The ROS side: one rcl node. A receiver thread owns the subscriptions
//! (see `receiver`); publishers are used directly by the dora side.

pub mod clock;
pub mod fastdds;
pub mod graph;
pub mod graph_watch;
pub mod parameters;
pub mod qos;
#[allow(unsafe_code)]
pub mod rcl;
pub mod receiver;
pub mod services;
pub mod sink;
pub mod stall;
pub mod tf_listener;
pub mod watched;

use crate::clock::RosClock;
use crate::codec::MessageCodec;
use crate::msg::TypeName;
use crate::stats::RouteStats;
use crate::throttle::KeyedLimiter;
use anyhow::Context as _;
use rcl::{GuardCondition, RclContext, RclNode, RclPublisher, RclSubscription, TypeSupport};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

pub use crate::flow::Received;

/// A `to_ros` publisher. It can be withdrawn (its rcl publisher destroyed,
/// so ROS subscribers see it vanish) and comes back on the next message or
/// on `restore`.
pub struct Publisher {
    pub topic: String,
    pub codec: MessageCodec,
    pub stats: Arc<RouteStats>,
    qos: rcl::QosProfile,
    node: Arc<RclNode>,
    type_support: Arc<TypeSupport>,
    inner: Mutex<Option<RclPublisher>>,
    buffer: Mutex<Vec<u8>>,
    segment_advice: Arc<fastdds::SegmentAdvisor>,
    /// This publisher's own: another route's bad data never hides its errors.
    warnings: KeyedLimiter,
    /// Copies of what was published, for recording into a bag.
    tap: Mutex<Option<std::sync::mpsc::SyncSender<Tapped>>>,
    /// Stamps the recorded copies (ROS time).
    clock: Arc<RosClock>,
    /// Set a zero `header.stamp` to the ROS time (`fill_stamp`).
    fill_stamp: bool,
    /// `/tf_static`: every static transform so far goes out in each message.
    static_set: Option<Mutex<crate::codec::tf::StaticSet>>,
}

/// A message a publisher sent, as recorded.
pub struct Tapped {
    pub topic: Arc<str>,
    pub time_ns: u64,
    pub cdr: Vec<u8>,
}

impl Publisher {
    /// Gives messages whose `header.stamp` is zero the ROS time; the
    /// type's first field must be a `std_msgs/Header`.
    pub fn with_filled_stamps(mut self) -> anyhow::Result<Self> {
        let schema = self.codec.schema();
        let starts_with_header = schema.fields().first().is_some_and(|f| {
            f.name() == "header"
                && matches!(f.data_type(), arrow::datatypes::DataType::Struct(inner)
                    if inner.first().is_some_and(|s| s.name() == "stamp"))
        });
        if !starts_with_header {
            anyhow::bail!(
                "fill_stamp: {} does not start with a std_msgs/Header `header`",
                self.codec.type_name()
            );
        }
        self.fill_stamp = true;
        Ok(self)
    }

    /// The ROS time (sim time with `use_sim_time`), to stamp messages with.
    pub fn ros_time_ns(&self) -> i64 {
        self.clock.now_ns()
    }

    /// Publishes every static transform given so far in each message (as
    /// tf2's StaticTransformBroadcaster), so one latched message is the set.
    pub fn with_static_set(mut self) -> Self {
        self.static_set = Some(Mutex::default());
        self
    }

    /// Sends a copy of every published message to `tap` from now on.
    pub fn set_tap(&self, tap: std::sync::mpsc::SyncSender<Tapped>) {
        *self.tap.lock().unwrap_or_else(|p| p.into_inner()) = Some(tap);
    }

    /// Stops tapping (the recording ends when every tap is gone).
    pub fn clear_tap(&self) {
        *self.tap.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }

    fn tap(&self, cdr: &[u8]) {
        let tap = self.tap.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(tap) = tap.as_ref() {
            let time_ns = self.clock.now_ns().max(0) as u64;
            // Blocks while the bag writer is behind: a recording loses nothing.
            let _ = tap.send(Tapped {
                topic: Arc::from(self.topic.as_str()),
                time_ns,
                cdr: cdr.to_vec(),
            });
        }
    }

    /// Destroys the rcl publisher; returns whether there was one.
    pub fn withdraw(&self) -> bool {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        inner.take().is_some()
    }

    pub fn is_withdrawn(&self) -> bool {
        self.inner
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_none()
    }

    /// Re-creates a withdrawn publisher; returns whether it did.
    pub fn restore(&self) -> anyhow::Result<bool> {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if inner.is_some() {
            return Ok(false);
        }
        *inner = Some(self.create()?);
        Ok(true)
    }

    fn create(&self) -> anyhow::Result<RclPublisher> {
        RclPublisher::new(&self.node, &self.type_support, &self.topic, self.qos).with_context(
            || {
                format!(
                    "cannot create publisher on {} ({})",
                    self.topic,
                    self.codec.type_name()
                )
            },
        )
    }

    /// Says what this publisher's warnings held back (with the stats line).
    pub fn flush_suppressed_warnings(&self) {
        self.warnings.flush_suppressed();
    }

    /// Publishes every row of `messages`; returns how many were published.
    /// A bad row is logged and counted, and the rest still go out.
    pub fn publish_all(&self, messages: &dyn arrow::array::Array) -> usize {
        let limiter = &self.warnings;
        use arrow::array::Array;
        let Some(structs) = self.rows_of(messages) else {
            return 0;
        };
        let mut published = 0;
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if inner.is_none() {
            // Withdrawn after a failure: data flows again, so come back.
            match self.create() {
                Ok(p) => {
                    tracing::info!("{}: publisher re-created, data flows again", self.topic);
                    *inner = Some(p);
                }
                Err(e) => limiter.warn("re-create", || format!("{e:#}")),
            }
        }
        let mut buffer = self.buffer.lock().unwrap_or_else(|p| p.into_inner());
        for row in 0..structs.len() {
            self.stats.received.fetch_add(1, Ordering::Relaxed);
            match self
                .codec
                .encode_row(structs, row, std::mem::take(&mut *buffer))
            {
                Ok(cdr) => {
                    let Some(cdr) = self.finish(cdr) else {
                        continue;
                    };
                    self.segment_advice.check_published(&self.topic, cdr.len());
                    let outcome = match inner.as_ref() {
                        Some(publisher) => publisher.publish(&cdr).map_err(|e| e.to_string()),
                        None => Err("no publisher".to_string()),
                    };
                    match outcome {
                        Ok(()) => {
                            self.tap(&cdr);
                            published += 1;
                            self.stats.forwarded.fetch_add(1, Ordering::Relaxed);
                            self.stats
                                .cdr_bytes
                                .fetch_add(cdr.len() as u64, Ordering::Relaxed);
                        }
                        Err(e) => {
                            self.stats.publish_errors.fetch_add(1, Ordering::Relaxed);
                            limiter
                                .warn("publish", || format!("{}: publish failed: {e}", self.topic));
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
                    limiter.warn("encode", || {
                        format!(
                            "{}: dropped a message{row_note} that does not fit {}: {e}",
                            self.topic,
                            self.codec.type_name()
                        )
                    });
                }
            }
        }
        published
    }

    /// The rows of a dora input; `None` (counted, said) if it is not a
    /// StructArray.
    fn rows_of<'a>(
        &self,
        messages: &'a dyn arrow::array::Array,
    ) -> Option<&'a arrow::array::StructArray> {
        use arrow::array::AsArray;
        if let arrow::datatypes::DataType::Struct(_) = messages.data_type() {
            return Some(messages.as_struct());
        }
        self.stats.received.fetch_add(1, Ordering::Relaxed);
        self.stats.encode_errors.fetch_add(1, Ordering::Relaxed);
        self.warnings.warn("input", || {
            format!(
                "{}: dropped input: expected a StructArray of {} messages, got {}",
                self.topic,
                self.codec.type_name(),
                messages.data_type()
            )
        });
        None
    }

    /// What the route adds to an encoded message: the ROS time in a zero
    /// stamp, the whole static set; `None` (counted, said) if it cannot.
    fn finish(&self, mut cdr: Vec<u8>) -> Option<Vec<u8>> {
        if self.fill_stamp {
            crate::clock::fill_zero_stamp(&mut cdr, self.clock.now_ns());
        }
        let Some(set) = &self.static_set else {
            return Some(cdr);
        };
        let mut set = set.lock().unwrap_or_else(|p| p.into_inner());
        match set.merge(&cdr) {
            Ok(all) => Some(all),
            Err(e) => {
                self.stats.encode_errors.fetch_add(1, Ordering::Relaxed);
                self.warnings
                    .warn("static", || format!("{}: {e}", self.topic));
                None
            }
        }
    }

    pub fn qos(&self) -> rcl::QosProfile {
        self.qos
    }

    /// Waits until reliable subscribers acknowledged everything published
    /// (so exiting right after does not lose the last messages).
    pub fn wait_for_all_acked(&self, timeout: Duration) -> bool {
        let inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        inner.as_ref().is_none_or(|p| p.wait_for_all_acked(timeout))
    }

    /// Publishes one message already in CDR (bag playback).
    pub fn publish_cdr(&self, cdr: &[u8]) -> anyhow::Result<()> {
        let inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let publisher = inner
            .as_ref()
            .ok_or_else(|| anyhow::anyhow!("{}: publisher withdrawn", self.topic))?;
        self.segment_advice.check_published(&self.topic, cdr.len());
        publisher.publish(cdr)?;
        self.stats.forwarded.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    pub fn subscription_count(&self) -> usize {
        let inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        inner
            .as_ref()
            .and_then(|p| p.subscription_count().ok())
            .unwrap_or(0)
    }
}

/// What the receiver thread and the dora side share of the ROS side.
pub struct RosShared {
    pub node: Arc<RclNode>,
    /// Fully qualified name of the bridge's node.
    pub node_name: String,
    wake: Arc<GuardCondition>,
    stop: AtomicBool,
    prefixes: Vec<PathBuf>,
    type_supports: Mutex<HashMap<TypeName, Arc<TypeSupport>>>,
    /// Says when large messages meet Fast DDS's default transports.
    pub segment_advice: Arc<fastdds::SegmentAdvisor>,
    /// Told of every graph change the receiver sees (see [`Self::on_graph_change`]).
    graph_listeners: Mutex<Vec<GraphListener>>,
}

/// Called on every change of the ROS graph.
pub type GraphListener = Box<dyn Fn() + Send + Sync>;

impl RosShared {
    /// Calls `listener` on every graph change. The node's graph guard
    /// condition can be waited on by one wait set only (the first wait to
    /// see a trigger consumes it): the receiver's, which passes it on here.
    pub fn on_graph_change(&self, listener: GraphListener) {
        self.listeners().push(listener);
    }

    /// The receiver saw the graph change.
    fn graph_changed(&self) {
        for listener in self.listeners().iter() {
            listener();
        }
    }

    fn listeners(&self) -> std::sync::MutexGuard<'_, Vec<GraphListener>> {
        self.graph_listeners
            .lock()
            .unwrap_or_else(|p| p.into_inner())
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

    pub fn subscription(
        &self,
        topic: &str,
        type_name: &TypeName,
        qos: rcl::QosProfile,
    ) -> anyhow::Result<RclSubscription> {
        let ts = self.type_support(type_name)?;
        RclSubscription::new(&self.node, &ts, topic, qos)
            .with_context(|| format!("cannot subscribe to {topic} ({type_name})"))
    }
}

/// The bridge's node in the ROS graph.
pub struct RosSide {
    shared: Arc<RosShared>,
    receiver: Option<JoinHandle<()>>,
    clock: clock::ClockFollower,
}

/// Initialises rcl; `args` are the process arguments (rcl reads
/// `--ros-args` from them). A failure says what to check, SROS2 first: with
/// `ROS_SECURITY_ENABLE=true` and the Enforce strategy, rcl fails without
/// a reason when there is no keystore or the middleware has no security
/// plugins (the PyPI wheels' Fast DDS has none).
pub fn init_rcl(args: &[String]) -> anyhow::Result<Arc<RclContext>> {
    let secured = std::env::var("ROS_SECURITY_ENABLE").is_ok_and(|v| v == "true");
    RclContext::new(args).map_err(|e| {
        let mut error = anyhow::Error::new(e).context("cannot initialise ROS 2 (rcl)");
        if secured {
            let keystore = std::env::var("ROS_SECURITY_KEYSTORE")
                .unwrap_or_else(|_| "(ROS_SECURITY_KEYSTORE not set)".into());
            error = error.context(format!(
                "ROS_SECURITY_ENABLE=true: rcl could not set up SROS2 security. It needs a \
                 keystore with an enclave for this node (keystore: {keystore}; ROS_SECURITY_ENCLAVE_OVERRIDE \
                 or --ros-args --enclave) and an RMW built with security (the PyPI wheels' Fast DDS has \
                 no security plugins: use a ROS install built with them). Unset ROS_SECURITY_ENABLE to \
                 run unsecured"
            ));
        }
        error
    })
}

/// Says once at start that security was asked for but will not be enforced.
fn warn_permissive_security() {
    let secured = std::env::var("ROS_SECURITY_ENABLE").is_ok_and(|v| v == "true");
    let enforce = std::env::var("ROS_SECURITY_STRATEGY").is_ok_and(|v| v == "Enforce");
    if secured && !enforce {
        tracing::warn!(
            "ROS_SECURITY_ENABLE=true with ROS_SECURITY_STRATEGY not Enforce: where rcl finds no \
             keystore or the middleware lacks security plugins, the bridge runs unsecured; set \
             ROS_SECURITY_STRATEGY=Enforce to refuse that"
        );
    }
}

impl RosSide {
    /// `args` are the process arguments (rcl reads `--ros-args` from them);
    /// `-p use_sim_time:=...` there wins over `use_sim_time` (the config's).
    pub fn start(
        args: &[String],
        node_name: &str,
        namespace: &str,
        prefixes: Vec<PathBuf>,
        use_sim_time: bool,
    ) -> anyhow::Result<Self> {
        warn_permissive_security();
        let context = init_rcl(args)?;
        let node = RclNode::new(&context, node_name, namespace).with_context(|| {
            format!("cannot create ROS node `{node_name}` in namespace `{namespace}`")
        })?;
        // The participant exists: Fast DDS has read its profile.
        fastdds::participant_created();
        let wake = GuardCondition::new(&context)?;
        let ns = node.namespace();
        let full_name = format!("{}/{}", ns.trim_end_matches('/'), node.name());
        let use_sim_time = context
            .bool_parameter_override(&full_name, "use_sim_time")
            .unwrap_or(use_sim_time);
        tracing::info!(
            "ROS node {full_name} is up ({} time)",
            if use_sim_time { "sim" } else { "system" }
        );
        let shared = Arc::new(RosShared {
            node,
            node_name: full_name,
            wake,
            stop: AtomicBool::new(false),
            prefixes,
            type_supports: Mutex::new(HashMap::new()),
            segment_advice: Arc::new(fastdds::SegmentAdvisor::for_this_process()),
            graph_listeners: Mutex::new(Vec::new()),
        });
        let clock = clock::ClockFollower::start(&shared, Arc::new(RosClock::new(use_sim_time)))?;
        Ok(RosSide {
            shared,
            receiver: None,
            clock,
        })
    }

    /// The bridge's ROS clock (system or sim time).
    pub fn clock(&self) -> &Arc<RosClock> {
        self.clock.clock()
    }

    /// Sends the ROS time to `to` once per `period` of ROS time.
    pub fn tick_every(&self, period: Duration, to: tokio::sync::mpsc::UnboundedSender<i64>) {
        self.clock.tick_every(period, to);
    }

    pub fn shared(&self) -> &Arc<RosShared> {
        &self.shared
    }

    pub fn node_name(&self) -> &str {
        &self.shared.node_name
    }

    /// `topic` as rcl resolves it for this node (namespace, remapping).
    pub fn resolve_topic(&self, topic: &str) -> anyhow::Result<String> {
        self.shared
            .node
            .resolve_topic_name(topic)
            .with_context(|| format!("invalid topic name `{topic}`"))
    }

    pub fn advertise(
        &self,
        topic: &str,
        codec: MessageCodec,
        qos: rcl::QosProfile,
    ) -> anyhow::Result<Publisher> {
        let type_support = self.shared.type_support(codec.type_name())?;
        let publisher = Publisher {
            topic: topic.to_string(),
            codec,
            stats: Arc::default(),
            qos,
            node: self.shared.node.clone(),
            type_support,
            inner: Mutex::new(None),
            buffer: Mutex::new(Vec::new()),
            segment_advice: self.shared.segment_advice.clone(),
            tap: Mutex::new(None),
            clock: self.clock().clone(),
            fill_stamp: false,
            static_set: None,
            warnings: KeyedLimiter::new(topic.to_string(), Duration::from_secs(5)),
        };
        publisher.restore()?;
        Ok(publisher)
    }

    /// Starts the receiver thread. `ended` runs when it stops, on its own
    /// too (a bug: the bridge then stops with an error rather than running
    /// deaf).
    pub fn spawn_receiver(
        &mut self,
        receiver: receiver::Receiver,
        ended: impl FnOnce() + Send + 'static,
    ) -> anyhow::Result<()> {
        let handle = std::thread::Builder::new()
            .name("ros-receiver".into())
            .spawn(move || {
                let outcome =
                    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| receiver.run()));
                if outcome.is_err() {
                    tracing::error!("the ROS receiver thread panicked");
                }
                ended();
            })
            .context("cannot start the ROS receiver thread")?;
        self.receiver = Some(handle);
        Ok(())
    }

    /// Wakes the receiver from its wait (a sink has room again).
    pub fn receiver_waker(&self) -> impl Fn() + Send + Sync + 'static {
        let wake = self.shared.wake.clone();
        move || {
            if let Err(e) = wake.trigger() {
                tracing::warn!("cannot wake the ROS receiver: {e}");
            }
        }
    }

    /// Whether the receiver thread has ended (it ends on its own only when
    /// its sink's consumer is gone).
    pub fn receiver_finished(&self) -> bool {
        self.receiver.as_ref().is_none_or(|h| h.is_finished())
    }

    /// Stops the receiver thread and drops its subscriptions.
    pub fn stop_receiver(&mut self) {
        self.shared.stop.store(true, Ordering::Release);
        if let Err(e) = self.shared.wake.trigger() {
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
