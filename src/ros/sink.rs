//! Where the receiver's samples go. The receiver (subscriptions kept
//! matched to the graph, wedged readers replaced, orphans retired, losses
//! counted) is one engine; a [`Sink`] is what it feeds: the dora side's
//! route queues ([`QueueSink`], live routes) or a bag writer
//! (`bag record`).

use super::rcl::{EndpointInfo, QosProfile, Taken};
use crate::clock::RosClock;
use crate::codec::{CodecOptions, MessageCodec};
use crate::flow::queue::RouteQueues;
use crate::flow::{MessageInfo, Received};
use crate::msg::{TypeName, TypeRegistry};
use crate::stats::RouteStats;
use crate::throttle::RateLimiter;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

/// A topic the receiver is about to subscribe for a route.
pub struct NewTopic<'a> {
    pub route: usize,
    pub topic: &'a str,
    pub type_name: &'a TypeName,
    /// The reader's profile.
    pub qos: &'a QosProfile,
    /// Its publishers but the bridge's own.
    pub publishers: &'a [&'a EndpointInfo],
}

/// What a sink gave a new topic, handed back with each of its samples.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SinkTopic(pub usize);

/// One sample taken from a subscription.
pub struct Sample<'a> {
    pub route: usize,
    pub sink_topic: SinkTopic,
    pub topic: &'a Arc<str>,
    /// `pkg/msg/Type`.
    pub type_text: &'a Arc<str>,
    pub taken: &'a Taken<'a>,
    pub info: MessageInfo,
    pub publisher_node: Option<Arc<str>>,
    pub stats: &'a RouteStats,
}

/// The consumer has shut down: the receiver stops.
#[derive(Debug)]
pub struct SinkGone;

/// Messages this large are decoded from the take buffer itself, which the
/// decoded Arrow array then owns: image and point cloud bytes reach dora's
/// shared memory with one copy fewer. Below it a copy is cheaper than the
/// fresh take buffer rmw would allocate.
const ADOPT_FROM_BYTES: usize = 64 * 1024;

pub trait Sink: Send {
    /// Samples of at least this many bytes come as [`Taken::Adopted`]
    /// (rmw's buffer, kept); smaller ones borrowed from a reused buffer.
    fn adopt_from_bytes(&self) -> usize;
    /// Whether route `route` takes another sample now. While it does not,
    /// its subscriptions are not taken from: their samples wait in DDS.
    fn has_room(&self, route: usize) -> bool;
    /// Before the first sample of a new subscription: `Err` says why this
    /// sink cannot take the topic (the receiver says it once and does not
    /// subscribe).
    fn new_topic(&mut self, topic: &NewTopic<'_>) -> Result<SinkTopic, String>;
    fn deliver(&mut self, sample: Sample<'_>) -> Result<(), SinkGone>;
}

/// Live routes: each sample decoded into Arrow and queued for its route's
/// dora output.
pub struct QueueSink {
    queues: Arc<RouteQueues>,
    registry: Arc<TypeRegistry>,
    options: Vec<CodecOptions>,
    /// Codecs by route and type (a pattern route's topics mostly share
    /// one), as indexes into `codecs`, the topics' [`SinkTopic`]s.
    by_type: HashMap<(usize, TypeName), usize>,
    codecs: Vec<MessageCodec>,
    malformed: RateLimiter,
    clock: Arc<RosClock>,
}

impl QueueSink {
    /// `options`: each route's codec options, in route order.
    pub fn new(
        queues: Arc<RouteQueues>,
        registry: Arc<TypeRegistry>,
        options: Vec<CodecOptions>,
        clock: Arc<RosClock>,
    ) -> Self {
        QueueSink {
            clock,
            queues,
            registry,
            options,
            by_type: HashMap::new(),
            codecs: Vec::new(),
            malformed: RateLimiter::new(Duration::from_secs(5)),
        }
    }
}

impl Sink for QueueSink {
    fn adopt_from_bytes(&self) -> usize {
        ADOPT_FROM_BYTES
    }

    fn has_room(&self, route: usize) -> bool {
        self.queues.has_room(route)
    }

    fn new_topic(&mut self, topic: &NewTopic<'_>) -> Result<SinkTopic, String> {
        let key = (topic.route, topic.type_name.clone());
        if let Some(&index) = self.by_type.get(&key) {
            return Ok(SinkTopic(index));
        }
        let codec = MessageCodec::new(&self.registry, topic.type_name, self.options[topic.route])
            .map_err(|e| e.to_string())?;
        self.codecs.push(codec);
        self.by_type.insert(key, self.codecs.len() - 1);
        Ok(SinkTopic(self.codecs.len() - 1))
    }

    fn deliver(&mut self, sample: Sample<'_>) -> Result<(), SinkGone> {
        let codec = &self.codecs[sample.sink_topic.0];
        let decoded = match sample.taken {
            Taken::Borrowed(bytes) => codec.decode(bytes),
            Taken::Adopted(buffer) => codec.decode_sharing(buffer),
        };
        let message = match decoded {
            Ok(message) => message,
            Err(e) => {
                sample.stats.decode_errors.fetch_add(1, Ordering::Relaxed);
                self.malformed.warn(|| {
                    format!(
                        "{}: dropped a malformed {} message: {e}",
                        sample.topic, sample.type_text
                    )
                });
                return Ok(());
            }
        };
        let mut info = sample.info;
        info.ros_time = Some((self.clock.now_ns(), self.clock.source()));
        let item = Received {
            route: sample.route,
            topic: sample.topic.clone(),
            type_name: sample.type_text.clone(),
            message,
            info,
            publisher_node: sample.publisher_node,
            bag: None,
        };
        match self.queues.push(sample.route, item) {
            true => Ok(()),
            false => Err(SinkGone),
        }
    }
}
