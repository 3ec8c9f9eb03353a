//! `from_ros` routes: a ROS topic (or every topic a pattern matches)
//! delivered to a dora output. The ROS receiver thread takes and decodes
//! (`ros::receiver`); the route's queue carries the messages across
//! (`ros::queue`); here they are numbered and handed to dora.

use crate::codec::CodecOptions;
use crate::config::QueuePolicy;
use crate::config::{Config, FromRos, RouteFormat, TopicSelector};
use crate::dora_side::{self, OutputNumbering, ShmPoolAdvisor};
use crate::flow::queue::LaneSpec;
use crate::flow::rate_limit::RateLimit;
use crate::msg::TypeRegistry;
use crate::ros::receiver::FromRosRoute;
use crate::ros::{Received, RosSide};
use crate::stats::{Direction, PeerRole, RouteStats, StatsTable};
use crate::throttle::RateLimiter;
use crate::topics::TopicMatcher;
use anyhow::Context;
use arrow::array::{Array, ArrayRef};
use dora_node_api::dora_core::config::DataId;
use dora_node_api::{DoraNode, MetadataParameters};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// Default length of a route's queue towards dora.
const DEFAULT_QUEUE: usize = 10;
/// A `send_output` this slow gets a warning: it is where a route's queue
/// starts to back up.
const SLOW_DORA_SEND: Duration = Duration::from_millis(50);

/// What the ROS receiver needs for the routes: one entry per route, and
/// its queue lane (capacity, policy, counters).
pub struct ReceiverPlan {
    pub routes: Vec<FromRosRoute>,
    pub lanes: Vec<LaneSpec>,
}

/// The dora end of every `from_ros` route, in route order.
pub struct FromRosRoutes {
    outputs: Vec<DataId>,
    stats: Vec<Arc<RouteStats>>,
    numbering: OutputNumbering,
    shm_pool: ShmPoolAdvisor,
    send_errors: RateLimiter,
    /// Its own limiter, so slow-send warnings never hide send errors.
    slow_sends: RateLimiter,
    /// Each route's `batch`: the most rows one dora message carries.
    rows_per_message: Vec<usize>,
    /// Which routes are latched (`latched`, `/tf_static`).
    latched: Vec<bool>,
    /// A latched route's last message of each topic and publisher, sent
    /// again when a dora node restarts.
    kept: HashMap<LatchKey, (MetadataParameters, ArrayRef)>,
    /// Each route's `max_rate` / `min_interval`.
    intervals: Vec<Option<Duration>>,
    /// The rate limit of each limited route and topic, with the newest
    /// message it holds back.
    limits: HashMap<(usize, Arc<str>), RateLimit<Received>>,
}

/// A latched message's route, topic and publisher GID.
type LatchKey = (usize, Arc<str>, Vec<u8>);

/// Messages taken from the route queues per wake-up, across routes.
const MESSAGES_PER_WAKE: usize = 64;

impl FromRosRoutes {
    /// Resolves every route (topics, patterns, types); their counters go
    /// into `stats`. Patterns never take `own_topics` (the bridge's
    /// `to_ros` topics), which would loop dora's data back into dora.
    /// `ros` resolves relative topic names; `None` when the routes read a
    /// bag (its names are as recorded), whose routes wait rather than drop
    /// when dora is behind unless told otherwise.
    pub fn build(
        config: &Config,
        ros: Option<&RosSide>,
        registry: &TypeRegistry,
        node: &DoraNode,
        own_topics: &HashSet<String>,
        stats: &mut StatsTable,
    ) -> anyhow::Result<(Self, ReceiverPlan)> {
        let mut plan = ReceiverPlan {
            routes: Vec::new(),
            lanes: Vec::new(),
        };
        let mut outputs = Vec::new();
        for (i, route) in config.from_ros.iter().enumerate() {
            let (receiving, lane) = resolve(i, route, ros, registry, own_topics)?;
            let label = format!("from_ros[{i}] {}", route.describe());
            match ros {
                Some(_) => stats.add_watched(
                    label,
                    Direction::FromRos,
                    lane.stats.clone(),
                    PeerRole::Publisher,
                ),
                None => stats.add(label, Direction::FromRos, lane.stats.clone()),
            }
            plan.routes.push(receiving);
            plan.lanes.push(lane);
            outputs.push(DataId::from(route.output.clone()));
        }
        let routes = FromRosRoutes {
            stats: plan.lanes.iter().map(|lane| lane.stats.clone()).collect(),
            numbering: OutputNumbering::new(
                node.id().as_ref(),
                config.from_ros.iter().map(|r| r.output.as_str()),
            ),
            outputs,
            shm_pool: ShmPoolAdvisor::new(node),
            send_errors: RateLimiter::new(Duration::from_secs(5)),
            slow_sends: RateLimiter::new(Duration::from_secs(10)),
            rows_per_message: config.from_ros.iter().map(|r| r.batch).collect(),
            latched: config.from_ros.iter().map(is_latched).collect(),
            kept: HashMap::new(),
            intervals: config.from_ros.iter().map(|r| r.min_interval).collect(),
            limits: HashMap::new(),
        };
        Ok((routes, plan))
    }

    /// Route `index`'s counters.
    pub fn route_stats(&self, index: usize) -> Option<&Arc<RouteStats>> {
        self.stats.get(index)
    }

    /// Touches a dora shared-memory pool the user sized, before the first
    /// message.
    pub fn warm_up(&self, node: &mut DoraNode) {
        self.shm_pool.warm_up(node);
    }

    /// How many messages to take from the queues at once: enough for the
    /// largest batch.
    pub fn messages_per_wake(&self) -> usize {
        self.rows_per_message
            .iter()
            .copied()
            .fold(MESSAGES_PER_WAKE, usize::max)
    }

    /// Hands the messages to their routes' dora outputs, numbered; on a
    /// route with `batch`, those of one topic and publisher that waited
    /// together go as one multi-row message.
    pub fn send(&mut self, node: &mut DoraNode, waiting: Vec<Received>) {
        let now = Instant::now();
        let passed: Vec<Received> = waiting
            .into_iter()
            .filter_map(|received| self.limit(received, now))
            .collect();
        for rows in group_rows(passed, &self.rows_per_message) {
            self.send_rows(node, rows);
        }
    }

    /// The message if its route's rate lets it go now; else it is held as
    /// the newest (and the one it replaces counted as throttled).
    fn limit(&mut self, received: Received, now: Instant) -> Option<Received> {
        let route = received.route;
        let Some(interval) = self.intervals[route] else {
            return Some(received);
        };
        let limit = self
            .limits
            .entry((route, received.topic.clone()))
            .or_insert_with(|| RateLimit::new(interval));
        let offered = limit.offer(received, now);
        if offered.skipped.is_some() {
            self.stats[route].throttled.fetch_add(1, Ordering::Relaxed);
        }
        offered.send
    }

    /// When the next message a rate limit holds may go.
    pub fn next_due(&self) -> Option<Instant> {
        self.limits.values().filter_map(RateLimit::deadline).min()
    }

    /// Sends the held messages whose time has come.
    pub fn send_due(&mut self, node: &mut DoraNode) {
        let now = Instant::now();
        let due: Vec<Received> = self
            .limits
            .values_mut()
            .filter_map(|l| l.due(now))
            .collect();
        for received in due {
            self.send_rows(node, vec![received]);
        }
    }

    /// One dora message of `rows` (at least one; one route, topic and
    /// publisher).
    fn send_rows(&mut self, node: &mut DoraNode, rows: Vec<Received>) {
        let route = rows[0].route;
        let topic = rows[0].topic.clone();
        let publisher = rows[0].info.publisher_gid.clone();
        let mut params = dora_side::message_metadata(&rows[0]);
        if self.rows_per_message[route] > 1 {
            dora_side::row_metadata(&mut params, &rows);
        }
        let array = match join_rows(rows) {
            Ok(array) => array,
            Err((e, rows)) => {
                // Not expected (one codec per topic): send them one by one.
                self.send_errors
                    .warn(|| format!("{topic}: cannot join rows into one message: {e}"));
                for row in rows {
                    self.send_rows(node, vec![row]);
                }
                return;
            }
        };
        if self.latched[route] {
            let key = (route, topic.clone(), publisher);
            self.kept.insert(key, (params.clone(), array.clone()));
        }
        self.send_array(node, route, &topic, params, array);
    }

    /// Whether any route is latched.
    pub fn has_latched(&self) -> bool {
        self.latched.iter().any(|&l| l)
    }

    /// Sends every latched route's kept messages again (a dora node
    /// restarted: it may be one that reads them); how many.
    pub fn resend_latched(&mut self, node: &mut DoraNode) -> usize {
        let kept: Vec<_> = self
            .kept
            .iter()
            .map(|((r, t, _), m)| (*r, t.clone(), m.clone()))
            .collect();
        for (route, topic, (params, array)) in &kept {
            self.send_array(node, *route, topic, params.clone(), array.clone());
        }
        kept.len()
    }

    /// One numbered dora message on `route`'s output.
    fn send_array(
        &mut self,
        node: &mut DoraNode,
        route: usize,
        topic: &str,
        mut params: MetadataParameters,
        array: ArrayRef,
    ) {
        let output = self.outputs[route].clone();
        let count = array.len();
        self.numbering.stamp(route, &mut params, count);
        self.shm_pool
            .check(output.as_ref(), topic, array.get_array_memory_size());
        let started = Instant::now();
        let sent = node.send_output(output.clone(), params, array);
        let took = started.elapsed();
        if took >= SLOW_DORA_SEND {
            // Meanwhile the route's queue and then its DDS history fill up.
            self.slow_sends.warn(|| {
                format!(
                    "{topic}: dora took {} ms to accept a message on output `{output}`",
                    took.as_millis()
                )
            });
        }
        match sent {
            Ok(()) => {
                self.stats[route]
                    .forwarded
                    .fetch_add(count as u64, Ordering::Relaxed);
            }
            Err(e) => {
                self.stats[route]
                    .dora_send_errors
                    .fetch_add(count as u64, Ordering::Relaxed);
                self.send_errors
                    .warn(|| format!("{topic}: cannot send to dora output `{output}`: {e}"))
            }
        }
    }
}

/// `latched`, by default on for `/tf_static`.
fn is_latched(route: &FromRos) -> bool {
    let tf_static = matches!(&route.source, TopicSelector::Topic(t) if t == "/tf_static");
    route.latched.unwrap_or(tf_static)
}

/// Route `i` as the receiver (or a bag) takes it, and its queue lane.
fn resolve(
    i: usize,
    route: &FromRos,
    ros: Option<&RosSide>,
    registry: &TypeRegistry,
    own_topics: &HashSet<String>,
) -> anyhow::Result<(FromRosRoute, LaneSpec)> {
    let selector = match (&route.source, ros) {
        (TopicSelector::Topic(topic), Some(ros)) => TopicSelector::Topic(
            ros.resolve_topic(topic)
                .with_context(|| format!("from_ros[{i}].topic"))?,
        ),
        (selector, _) => selector.clone(),
    };
    let target = match selector {
        TopicSelector::Topic(_) => TopicMatcher::new([selector]),
        // Its exclusions and the system topics it leaves out.
        TopicSelector::Pattern(_) => route.matcher(),
    }
    .excluding(own_topics.iter().cloned());
    if let Some(name) = &route.msg_type {
        // Fail at start, not at the first message, on an unknown type.
        registry
            .resolve(name)
            .with_context(|| format!("from_ros[{i}].type"))?;
    }
    let type_name = route.msg_type.clone();
    let from_bag = ros.is_none();
    let policy = route
        .queue
        .policy
        .unwrap_or(if from_bag || route.qos.is_reliable() {
            QueuePolicy::Block
        } else {
            QueuePolicy::DropOldest
        });
    // A batch forms from what waits in the queue: room for one.
    let size = route.queue.size.unwrap_or(DEFAULT_QUEUE.max(route.batch));
    let history_configured =
        matches!(&route.qos, crate::config::QosSetting::Custom(p) if p.history.is_some());
    let counters = Arc::new(RouteStats::default());
    let label = format!("from_ros[{i}] ({})", route.describe());
    tracing::info!(
        "{label} -> output `{}` (queue {size}, {policy:?})",
        route.output
    );
    let lane = LaneSpec {
        capacity: size,
        policy,
        stats: counters.clone(),
        per_turn: route.batch,
    };
    let receiving = FromRosRoute {
        target,
        type_name,
        qos: route.qos.clone(),
        options: CodecOptions {
            bytes_as_binary: route.bytes_as_binary,
            raw_cdr: route.format == RouteFormat::Cdr,
        },
        stats: counters,
        label,
        reader_keeps_all: policy == QueuePolicy::Block && !history_configured,
        reader_depth: None,
    };
    Ok((receiving, lane))
}

/// One `StructArray` of every row, in order.
fn join_rows(rows: Vec<Received>) -> Result<ArrayRef, (arrow::error::ArrowError, Vec<Received>)> {
    if rows.len() == 1 {
        let row = rows.into_iter().next().expect("one row");
        return Ok(Arc::new(row.message));
    }
    let arrays: Vec<&dyn Array> = rows.iter().map(|r| &r.message as &dyn Array).collect();
    arrow::compute::concat(&arrays).map_err(|e| (e, rows))
}

/// What rows of one dora message share: route, topic, type, publisher GID.
type RowStream = (usize, Arc<str>, Arc<str>, Vec<u8>);

/// Groups messages into dora messages: on a route whose limit is above 1,
/// messages of one topic, type and publisher join the first group of
/// theirs that still has room. Order within a topic is kept.
fn group_rows(waiting: Vec<Received>, limits: &[usize]) -> Vec<Vec<Received>> {
    let mut groups: Vec<Vec<Received>> = Vec::new();
    let mut open: HashMap<RowStream, usize> = HashMap::new();
    for received in waiting {
        let limit = limits.get(received.route).copied().unwrap_or(1);
        if limit <= 1 {
            groups.push(vec![received]);
            continue;
        }
        let key = (
            received.route,
            received.topic.clone(),
            received.type_name.clone(),
            received.info.publisher_gid.clone(),
        );
        match open.get(&key) {
            Some(&g) if groups[g].len() < limit => groups[g].push(received),
            _ => {
                open.insert(key, groups.len());
                groups.push(vec![received]);
            }
        }
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flow::MessageInfo;
    use arrow::array::StructArray;

    fn message(route: usize, topic: &str, gid: u8, seq: u64) -> Received {
        Received {
            route,
            topic: Arc::from(topic),
            type_name: Arc::from("std_msgs/msg/Empty"),
            message: StructArray::new_empty_fields(1, None),
            info: MessageInfo {
                publication_sequence_number: seq,
                publisher_gid: vec![gid],
                ..Default::default()
            },
            publisher_node: None,
            bag: None,
        }
    }

    fn shape(groups: &[Vec<Received>]) -> Vec<Vec<(String, u64)>> {
        groups
            .iter()
            .map(|g| {
                g.iter()
                    .map(|r| (r.topic.to_string(), r.info.publication_sequence_number))
                    .collect()
            })
            .collect()
    }

    #[test]
    fn rows_of_one_topic_and_publisher_join_up_to_the_limit_in_order() {
        let waiting = vec![
            message(1, "/a", 1, 1),
            message(0, "/x", 1, 1),
            message(1, "/b", 1, 1),
            message(1, "/a", 1, 2),
            message(1, "/a", 2, 1), // another publisher of /a
            message(0, "/x", 1, 2),
            message(1, "/a", 1, 3),
            message(1, "/a", 1, 4),
        ];
        let groups = group_rows(waiting, &[1, 3]);
        let s = |t: &str, n| (t.to_string(), n);
        assert_eq!(
            shape(&groups),
            vec![
                vec![s("/a", 1), s("/a", 2), s("/a", 3)],
                vec![s("/x", 1)],
                vec![s("/b", 1)],
                vec![s("/a", 1)],
                vec![s("/x", 2)],
                vec![s("/a", 4)],
            ]
        );
        assert_eq!(groups[3][0].info.publisher_gid, vec![2]);
    }
}
