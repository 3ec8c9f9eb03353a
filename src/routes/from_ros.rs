//! `from_ros` routes: a ROS topic (or every topic a pattern matches)
//! delivered to a dora output. The ROS receiver thread takes and decodes
//! (`ros::receiver`); the route's queue carries the messages across
//! (`ros::queue`); here they are numbered and handed to dora.

use crate::codec::CodecOptions;
use crate::config::QueuePolicy;
use crate::config::{Config, TopicSelector};
use crate::dora_side::{self, OutputNumbering, ShmPoolAdvisor};
use crate::msg::{TypeName, TypeRegistry};
use crate::ros::receiver::FromRosRoute;
use crate::ros::{Received, RosSide};
use crate::stats::{Direction, RouteStats, StatsTable};
use crate::throttle::RateLimiter;
use crate::topics::TopicMatcher;
use anyhow::Context;
use arrow::array::{Array, ArrayRef};
use dora_node_api::DoraNode;
use dora_node_api::dora_core::config::DataId;
use std::collections::HashSet;
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
    pub lanes: Vec<(usize, QueuePolicy, Arc<RouteStats>)>,
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
}

impl FromRosRoutes {
    /// Resolves every route (topics, patterns, types); their counters go
    /// into `stats`. Patterns never take `own_topics` (the bridge's
    /// `to_ros` topics), which would loop dora's data back into dora.
    pub fn build(
        config: &Config,
        ros: &RosSide,
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
            let selector = match &route.source {
                TopicSelector::Topic(topic) => TopicSelector::Topic(
                    ros.resolve_topic(topic)
                        .with_context(|| format!("from_ros[{i}].topic"))?,
                ),
                pattern => pattern.clone(),
            };
            let target = TopicMatcher::new([selector]).excluding(own_topics.iter().cloned());
            let type_name = match &route.msg_type {
                Some(t) => {
                    let name = TypeName::parse(t).map_err(anyhow::Error::msg)?;
                    // Fail at start, not at the first message, on an unknown type.
                    registry
                        .resolve(&name)
                        .with_context(|| format!("from_ros[{i}].type"))?;
                    Some(name)
                }
                None => None,
            };
            let policy = route.queue.policy.unwrap_or(if route.qos.is_reliable() {
                QueuePolicy::Block
            } else {
                QueuePolicy::DropOldest
            });
            let size = route.queue.size.unwrap_or(DEFAULT_QUEUE);
            let history_configured =
                matches!(&route.qos, crate::config::QosSetting::Custom(p) if p.history.is_some());
            let counters = Arc::new(RouteStats::default());
            let label = format!("from_ros[{i}] ({})", route.describe());
            tracing::info!(
                "{label} -> output `{}` (queue {size}, {policy:?})",
                route.output
            );
            plan.lanes.push((size, policy, counters.clone()));
            stats.add(
                format!("from_ros[{i}] {}", route.describe()),
                Direction::FromRos,
                counters.clone(),
            );
            plan.routes.push(FromRosRoute {
                target,
                type_name,
                qos: route.qos.clone(),
                options: CodecOptions {
                    bytes_as_binary: route.bytes_as_binary,
                },
                stats: counters,
                label,
                reader_keeps_all: policy == QueuePolicy::Block && !history_configured,
            });
            outputs.push(DataId::from(route.output.clone()));
        }
        let routes = FromRosRoutes {
            stats: plan.lanes.iter().map(|(_, _, s)| s.clone()).collect(),
            numbering: OutputNumbering::new(
                node.id().as_ref(),
                config.from_ros.iter().map(|r| r.output.as_str()),
            ),
            outputs,
            shm_pool: ShmPoolAdvisor::new(node),
            send_errors: RateLimiter::new(Duration::from_secs(5)),
            slow_sends: RateLimiter::new(Duration::from_secs(10)),
        };
        Ok((routes, plan))
    }

    /// Touches a dora shared-memory pool the user sized, before the first
    /// message.
    pub fn warm_up(&self, node: &mut DoraNode) {
        self.shm_pool.warm_up(node);
    }

    /// Hands each message to its route's dora output, numbered.
    pub fn send(&mut self, node: &mut DoraNode, batch: Vec<Received>) {
        for received in batch {
            let output = &self.outputs[received.route];
            let mut params = dora_side::message_metadata(&received);
            self.numbering.stamp(received.route, &mut params);
            self.shm_pool.check(
                output.as_ref(),
                &received.topic,
                received.message.get_array_memory_size(),
            );
            let array: ArrayRef = Arc::new(received.message);
            let started = Instant::now();
            let sent = node.send_output(output.clone(), params, array);
            let took = started.elapsed();
            if took >= SLOW_DORA_SEND {
                // Meanwhile the route's queue and then its DDS history fill up.
                self.slow_sends.warn(|| {
                    format!(
                        "{}: dora took {} ms to accept a message on output `{output}`",
                        received.topic,
                        took.as_millis()
                    )
                });
            }
            match sent {
                Ok(()) => {
                    self.stats[received.route]
                        .forwarded
                        .fetch_add(1, Ordering::Relaxed);
                }
                Err(e) => self.send_errors.warn(|| {
                    format!(
                        "{}: cannot send to dora output `{output}`: {e}",
                        received.topic
                    )
                }),
            }
        }
    }
}
