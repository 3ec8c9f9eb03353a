//! A bag as the source of the `from_ros` routes (`replay:` in the config).
//! A thread reads the bag at its recorded pace (or as fast as the routes'
//! queues take it), decodes each message once per codec and queues it for
//! every route whose topic selector matches. The rest is the live path:
//! the bridge takes the queues, batches, numbers, stamps the metadata and
//! counts exactly as it does for ROS traffic.

use super::{Bag, BagMessage};
use crate::clock::{TimeSource, system_now_ns};
use crate::codec::{CodecOptions, MessageCodec};
use crate::config::{Replay, ReplayTiming};
use crate::flow::queue::RouteQueues;
use crate::flow::{MessageInfo, Received};
use crate::msg::{TypeName, TypeRegistry};
use crate::ros::clock::ClockPublisher;
use crate::ros::receiver::FromRosRoute;
use crate::throttle::RateLimiter;
use anyhow::Context;
use arrow::array::StructArray;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// The longest the reader sleeps before looking whether the bridge left.
const STOP_CHECK: Duration = Duration::from_millis(50);

/// What the reader did, once the bag ended and the bridge took everything.
#[derive(Debug, Clone, Copy, Default)]
pub struct ReplaySummary {
    /// Messages of routed topics read from the bag.
    pub read: u64,
    /// Queued for a route (a message matching two routes counts twice).
    pub queued: u64,
}

/// The reader's result, sent when it finished: `None` if the bridge left
/// before the bag ended.
pub type ReplayOutcome = Option<anyhow::Result<ReplaySummary>>;

pub struct BagSource {
    bag: Bag,
    registry: Arc<TypeRegistry>,
    timing: ReplayTiming,
    rate: f64,
    start_delay: Duration,
    routes: Vec<FromRosRoute>,
    /// Topic -> the routes that take it, in route order.
    routes_of: HashMap<String, Vec<usize>>,
    queues: Arc<RouteQueues>,
    /// `replay.clock`: `/clock` from the bag's time (taken by the reader).
    clock: Option<ClockPublisher>,
    /// Messages then carry the bag's time as their ROS time.
    time: TimeSource,
}

impl BagSource {
    /// Matches the bag's topics against the routes; warns about each
    /// route's named topic the bag lacks.
    pub fn new(
        bag: Bag,
        registry: Arc<TypeRegistry>,
        replay: &Replay,
        routes: Vec<FromRosRoute>,
        queues: Arc<RouteQueues>,
    ) -> Self {
        let routes_of = routes_by_topic(bag.topics.iter().map(|t| t.name.as_str()), &routes);
        for route in &routes {
            for topic in route.target.named() {
                if bag.topic(topic).is_none() {
                    tracing::warn!(
                        "{}: topic {topic} is not in the bag (it has: {})",
                        route.label,
                        bag.topic_names()
                    );
                }
            }
        }
        tracing::info!(
            "replaying {} ({:?}, {} topic(s) routed of {}), timing {:?} at rate {}",
            bag.path.display(),
            bag.storage,
            routes_of.len(),
            bag.topics.len(),
            replay.timing,
            replay.rate
        );
        BagSource {
            bag,
            registry,
            timing: replay.timing,
            rate: replay.rate,
            start_delay: replay.start_delay,
            routes,
            routes_of,
            queues,
            clock: None,
            time: TimeSource::System,
        }
    }

    /// Publishes `/clock` from the bag's time while replaying.
    pub fn with_clock(mut self, clock: ClockPublisher) -> Self {
        self.clock = Some(clock);
        self.time = TimeSource::Sim;
        self
    }

    /// Starts the reader thread (storage I/O blocks); its outcome comes on
    /// the returned channel.
    pub fn spawn(self) -> anyhow::Result<tokio::sync::oneshot::Receiver<ReplayOutcome>> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        std::thread::Builder::new()
            .name("bag-replay".into())
            .spawn(move || {
                let _ = tx.send(self.run());
            })
            .context("cannot start the bag reader thread")?;
        Ok(rx)
    }

    fn run(mut self) -> ReplayOutcome {
        let mut clock = self.clock.take();
        let reader = std::thread::current();
        self.queues.on_room(move || reader.unpark());
        if !self.wait_until(Instant::now() + self.start_delay) {
            return None;
        }
        let mut state = ReaderState::new(&self);
        let wanted = |topic: &str| self.routes_of.contains_key(topic);
        for message in self.bag.messages(wanted) {
            let message = match message {
                Ok(message) => message,
                Err(e) => return self.drained().then_some(Err(e)),
            };
            if let Some(due) = state.pace.due(message.log_time_ns)
                && !self.wait_ticking(due, clock.as_mut(), &state.pace)
            {
                return None;
            }
            if let Some(clock) = clock.as_mut() {
                // At full speed, the bag time is that of the message.
                clock.publish_due(clamp_ns(message.log_time_ns));
            }
            state.summary.read += 1;
            if !self.deliver(&mut state, &message) {
                return None;
            }
        }
        self.drained().then_some(Ok(state.summary))
    }

    /// Queues `message` for every route of its topic; false once the
    /// bridge left.
    fn deliver(&self, state: &mut ReaderState, message: &BagMessage) -> bool {
        let mut decoded: Vec<(CodecOptions, StructArray)> = Vec::new();
        for &route in &self.routes_of[&*message.topic] {
            let options = self.routes[route].options;
            let stats = &self.routes[route].stats;
            stats.count_received(message.data.len());
            let known = decoded.iter().find(|(o, _)| *o == options);
            let array = match known {
                Some((_, array)) => array.clone(),
                None => match state.decode(message, options) {
                    Some(array) => {
                        decoded.push((options, array.clone()));
                        array
                    }
                    None => {
                        stats.decode_errors.fetch_add(1, Ordering::Relaxed);
                        continue;
                    }
                },
            };
            if !self.wait_for_room(route) {
                return false;
            }
            let item = received(route, message, array, &state.bag_name, self.time);
            if !self.queues.push(route, item) {
                return false;
            }
            state.summary.queued += 1;
        }
        true
    }

    /// [`Self::wait_until`], publishing the bag's time on `/clock` meanwhile.
    fn wait_ticking(&self, due: Instant, clock: Option<&mut ClockPublisher>, pace: &Pace) -> bool {
        let (Some(clock), Some(now)) = (clock, pace.bag_time_ns()) else {
            return self.wait_until(due);
        };
        let mut bag_now = now;
        loop {
            let next = clock.publish_due(bag_now);
            if next >= due {
                return self.wait_until(due);
            }
            if !self.wait_until(next) {
                return false;
            }
            bag_now = pace.bag_time_ns().unwrap_or(bag_now);
        }
    }

    /// Sleeps until `deadline`; false if the bridge left meanwhile.
    fn wait_until(&self, deadline: Instant) -> bool {
        loop {
            if self.queues.is_closed() {
                return false;
            }
            let now = Instant::now();
            if now >= deadline {
                return true;
            }
            std::thread::park_timeout((deadline - now).min(STOP_CHECK));
        }
    }

    /// A `block` route's queue is full while dora is behind: the bag waits
    /// (it loses nothing on its own). False if the bridge left.
    fn wait_for_room(&self, route: usize) -> bool {
        while !self.queues.has_room(route) {
            if self.queues.is_closed() {
                return false;
            }
            std::thread::park_timeout(STOP_CHECK);
        }
        true
    }

    /// Waits until the bridge took every queued message; false if it left.
    fn drained(&self) -> bool {
        while !self.queues.is_drained() {
            if self.queues.is_closed() {
                return false;
            }
            std::thread::park_timeout(Duration::from_millis(5));
        }
        !self.queues.is_closed()
    }
}

/// Topic -> the routes whose selector takes it.
fn routes_by_topic<'a>(
    topics: impl Iterator<Item = &'a str>,
    routes: &[FromRosRoute],
) -> HashMap<String, Vec<usize>> {
    topics
        .filter_map(|topic| {
            let matching: Vec<usize> = (0..routes.len())
                .filter(|&r| routes[r].target.matches(topic))
                .collect();
            (!matching.is_empty()).then(|| (topic.to_string(), matching))
        })
        .collect()
}

/// A bag message as the live path carries it: the recorded time is when it
/// was received; the publish time, where the storage kept it, when it was
/// sent.
fn received(
    route: usize,
    message: &BagMessage,
    array: StructArray,
    bag: &Arc<str>,
    time: TimeSource,
) -> Received {
    let recorded = clamp_ns(message.log_time_ns);
    let ros_time = match time {
        TimeSource::Sim => recorded,
        TimeSource::System => system_now_ns(),
    };
    Received {
        route,
        topic: message.topic.clone(),
        type_name: message.type_name.clone(),
        message: array,
        info: MessageInfo {
            source_timestamp_ns: message.publish_time_ns.map_or(recorded, clamp_ns),
            received_timestamp_ns: recorded,
            ros_time: Some((ros_time, time)),
            ..MessageInfo::default()
        },
        publisher_node: None,
        bag: Some(bag.clone()),
    }
}

fn clamp_ns(ns: u64) -> i64 {
    ns.min(i64::MAX as u64) as i64
}

/// The reader's state across messages.
struct ReaderState {
    pace: Pace,
    registry: Arc<TypeRegistry>,
    /// One codec per topic and options; `None` for a type neither installed
    /// nor embedded in the bag.
    codecs: HashMap<(Arc<str>, CodecOptions), Option<MessageCodec>>,
    malformed: RateLimiter,
    bag_name: Arc<str>,
    summary: ReplaySummary,
}

impl ReaderState {
    fn new(source: &BagSource) -> Self {
        ReaderState {
            pace: Pace::new(source.timing, source.rate),
            registry: source.registry.clone(),
            codecs: HashMap::new(),
            malformed: RateLimiter::new(Duration::from_secs(5)),
            bag_name: Arc::from(source.bag.path.display().to_string()),
            summary: ReplaySummary::default(),
        }
    }

    /// The message as Arrow, or `None` (logged) when it cannot be decoded.
    fn decode(&mut self, message: &BagMessage, options: CodecOptions) -> Option<StructArray> {
        let registry = &self.registry;
        let codec = self
            .codecs
            .entry((message.topic.clone(), options))
            .or_insert_with(|| codec_for(registry, message, options))
            .as_ref()?;
        match codec.decode(&message.data) {
            Ok(array) => Some(array),
            Err(e) => {
                self.malformed.warn(|| {
                    format!(
                        "{}: skipped a malformed {} message in the bag: {e}",
                        message.topic, message.type_name
                    )
                });
                None
            }
        }
    }
}

fn codec_for(
    registry: &TypeRegistry,
    message: &BagMessage,
    options: CodecOptions,
) -> Option<MessageCodec> {
    let codec = TypeName::parse(&message.type_name)
        .map_err(anyhow::Error::from)
        .and_then(|name| Ok(MessageCodec::new(registry, &name, options)?));
    codec
        .inspect_err(|e| {
            tracing::error!(
                "{}: type {} is neither installed nor embedded in the bag ({e:#}); \
                 its messages are skipped (counted as decode errors)",
                message.topic,
                message.type_name
            )
        })
        .ok()
}

/// When each message is due: at its recorded offset from the first one
/// (scaled by the rate), or at once.
struct Pace {
    rate: Option<f64>,
    first: Option<(u64, Instant)>,
}

impl Pace {
    fn new(timing: ReplayTiming, rate: f64) -> Self {
        let rate = (timing == ReplayTiming::Recorded).then_some(rate);
        Pace { rate, first: None }
    }

    /// The bag time playback is at now (recorded timing, once started).
    fn bag_time_ns(&self) -> Option<i64> {
        let (rate, (t0, w0)) = (self.rate?, self.first?);
        let ns = t0 as f64 + w0.elapsed().as_nanos() as f64 * rate;
        Some(ns.min(i64::MAX as f64) as i64)
    }

    fn due(&mut self, log_time_ns: u64) -> Option<Instant> {
        let rate = self.rate?;
        let (t0, w0) = *self.first.get_or_insert((log_time_ns, Instant::now()));
        let offset = log_time_ns.saturating_sub(t0) as f64 / rate;
        Some(w0 + Duration::from_nanos(offset.min(u64::MAX as f64) as u64))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::topics::TopicSelector;

    #[test]
    fn recorded_pace_keeps_the_gaps_scaled_by_the_rate_and_fast_has_none() {
        let mut pace = Pace::new(ReplayTiming::Recorded, 2.0);
        let start = pace.due(1_000_000_000).unwrap();
        let later = pace.due(1_400_000_000).unwrap();
        assert_eq!(later - start, Duration::from_millis(200));
        // Out of order in the bag: due at once, never before the start.
        assert_eq!(pace.due(900_000_000).unwrap(), start);
        let mut fast = Pace::new(ReplayTiming::Fast, 1.0);
        assert!(fast.due(5).is_none());
    }

    #[test]
    fn a_topic_goes_to_every_route_that_selects_it() {
        let matcher = |selectors: Vec<TopicSelector>| crate::topics::TopicMatcher::new(selectors);
        let route = |target| FromRosRoute {
            target,
            type_name: None,
            qos: crate::config::QosSetting::default(),
            options: CodecOptions::default(),
            stats: Default::default(),
            label: String::new(),
            reader_keeps_all: true,
            reader_depth: None,
        };
        let routes = vec![
            route(matcher(vec![TopicSelector::Topic("/a".into())])),
            route(matcher(vec![TopicSelector::Pattern(
                regex::Regex::new("^/(a|b)$").unwrap(),
            )])),
        ];
        let routes_of = routes_by_topic(["/a", "/b", "/c"].into_iter(), &routes);
        assert_eq!(routes_of["/a"], vec![0, 1]);
        assert_eq!(routes_of["/b"], vec![1]);
        assert!(!routes_of.contains_key("/c"));
    }
}
