//! `to_ros` routes: a dora input published onto a ROS topic. Each route
//! owns its publisher (which can be withdrawn while its dora source is
//! down) and counts what the bridges' numbered streams lost in dora on the
//! way to it.

use crate::codec::{CodecOptions, MessageCodec};
use crate::config::{Config, QosSetting, RouteFormat};
use crate::dora_side;
use crate::flow::rate_limit::RateLimit;
use crate::msg::TypeRegistry;
use crate::ros::{self, Publisher, RosSide};
use crate::sequence::{FirstNumber, GapCounter};
use crate::stats::{Direction, PeerRole, StatsTable};
use anyhow::Context;
use arrow::array::{Array, ArrayRef};
use dora_node_api::MetadataParameters;
use dora_node_api::dora_core::config::DataId;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// `/tf_static` of TFMessage: published as tf2 publishes it (see
/// [`publisher_qos`], [`Publisher::with_static_set`]).
fn is_tf_static(topic: &str, type_name: &crate::msg::TypeName) -> bool {
    topic == "/tf_static" && type_name.to_string() == "tf2_msgs/msg/TFMessage"
}

/// For publishers, `auto` means the ROS default (reliable, volatile, keep
/// last 10), and on `/tf_static` tf2's static QoS: transient local, keep
/// last 1, so that ROS nodes starting later still get the set.
fn publisher_qos(setting: &QosSetting, tf_static: bool) -> ros::rcl::QosProfile {
    match setting {
        QosSetting::Auto if tf_static => ros::qos::latched(),
        QosSetting::Auto => ros::qos::profile(&QosSetting::Default),
        setting => ros::qos::profile(setting),
    }
}

pub struct ToRosRoute {
    pub publisher: Arc<Publisher>,
    /// What came back of each bridge's numbered stream.
    returned: GapCounter<String>,
    /// `max_rate` / `min_interval`, holding back the newest input.
    limit: Option<RateLimit<ArrayRef>>,
}

/// Every `to_ros` route, by the dora input that feeds it.
#[derive(Default)]
pub struct ToRosRoutes {
    by_input: HashMap<DataId, ToRosRoute>,
}

impl ToRosRoutes {
    /// Advertises every route's publisher; their counters go into `stats`.
    /// Returns the routes and the topics they publish (which pattern
    /// routes must not pick up).
    pub fn build(
        config: &Config,
        ros: &RosSide,
        registry: &TypeRegistry,
        stats: &mut StatsTable,
    ) -> anyhow::Result<(Self, HashSet<String>)> {
        let mut routes = ToRosRoutes::default();
        let mut own_topics = HashSet::new();
        for (i, route) in config.to_ros.iter().enumerate() {
            let name = route.msg_type.clone();
            let options = CodecOptions {
                raw_cdr: route.format == RouteFormat::Cdr,
                ..CodecOptions::default()
            };
            let codec = MessageCodec::new(registry, &name, options)
                .with_context(|| format!("to_ros[{i}].type"))?;
            let topic = ros
                .resolve_topic(&route.topic)
                .with_context(|| format!("to_ros[{i}].topic"))?;
            let tf_static = is_tf_static(&topic, &name);
            let qos = publisher_qos(&route.qos, tf_static);
            let mut publisher = ros.advertise(&topic, codec, qos)?;
            if tf_static {
                publisher = publisher.with_static_set();
            }
            if route.fill_stamp {
                publisher = publisher
                    .with_filled_stamps()
                    .with_context(|| format!("to_ros[{i}]"))?;
            }
            tracing::info!(
                "to_ros[{i}]: input `{}` -> {topic} ({}, {})",
                route.input,
                route.msg_type,
                ros::graph::describe_qos(&qos)
            );
            stats.add_watched(
                format!("to_ros[{i}] {topic}"),
                Direction::ToRos,
                publisher.stats.clone(),
                PeerRole::Subscriber,
            );
            own_topics.insert(topic);
            routes.by_input.insert(
                DataId::from(route.input.clone()),
                ToRosRoute {
                    publisher: Arc::new(publisher),
                    returned: GapCounter::new(FirstNumber::One),
                    limit: route.interval().map(RateLimit::new),
                },
            );
        }
        Ok((routes, own_topics))
    }

    pub fn get(&self, input: &DataId) -> Option<&ToRosRoute> {
        self.by_input.get(input)
    }

    pub fn publishers(&self) -> impl Iterator<Item = &Arc<Publisher>> {
        self.by_input.values().map(|r| &r.publisher)
    }

    /// Waits, `timeout` at most in all, until reliable subscribers have
    /// acknowledged everything the routes published: a publisher destroyed
    /// sooner takes what they have not received yet with it. How many
    /// routes still had unacknowledged messages.
    pub fn flush(&self, timeout: Duration) -> usize {
        let deadline = Instant::now() + timeout;
        self.publishers()
            .filter(|p| !p.wait_for_all_acked(deadline.saturating_duration_since(Instant::now())))
            .count()
    }

    /// Publishes what dora input `input` brought. `Ok(true)` when the
    /// route's publisher had been withdrawn and this re-created it.
    pub fn publish(
        &mut self,
        input: &DataId,
        params: &MetadataParameters,
        data: ArrayRef,
    ) -> Option<bool> {
        let route = self.by_input.get_mut(input)?;
        route.count_lost_in_dora(params, data.len());
        let was_withdrawn = route.publisher.is_withdrawn();
        let data = match &mut route.limit {
            None => Some(data),
            Some(limit) => {
                let offered = limit.offer(data, Instant::now());
                if let Some(skipped) = offered.skipped {
                    // Its rows were taken from dora but never published.
                    let stats = &route.publisher.stats;
                    stats
                        .received
                        .fetch_add(skipped.len() as u64, Ordering::Relaxed);
                    stats
                        .throttled
                        .fetch_add(skipped.len() as u64, Ordering::Relaxed);
                }
                offered.send
            }
        };
        if let Some(data) = data {
            route.publisher.publish_all(data.as_ref());
        }
        Some(was_withdrawn)
    }

    /// When the next input a rate limit holds may go.
    pub fn next_due(&self) -> Option<Instant> {
        self.by_input
            .values()
            .filter_map(|r| r.limit.as_ref()?.deadline())
            .min()
    }

    /// Publishes the held inputs whose time has come.
    pub fn publish_due(&mut self) {
        let now = Instant::now();
        for route in self.by_input.values_mut() {
            if let Some(data) = route.limit.as_mut().and_then(|l| l.due(now)) {
                route.publisher.publish_all(data.as_ref());
            }
        }
    }

    /// Destroys the publisher fed by `input`; whether there was one.
    pub fn withdraw(&self, input: &DataId) -> bool {
        self.by_input
            .get(input)
            .is_some_and(|r| r.publisher.withdraw())
    }

    /// Re-creates the publisher fed by `input` if it was withdrawn.
    pub fn restore(&self, input: &DataId) {
        if let Some(route) = self.by_input.get(input) {
            match route.publisher.restore() {
                Ok(true) => tracing::info!("{}: publisher re-created", route.publisher.topic),
                Ok(false) => {}
                Err(e) => tracing::error!("{e:#}"),
            }
        }
    }

    /// Sets each route's `peers` gauge: the subscribers its publisher
    /// is matched with (none while withdrawn).
    pub fn count_subscribers(&self) {
        for publisher in self.publishers() {
            publisher.stats.peers.set(publisher.subscription_count());
        }
    }

    /// Says what each route's throttled warnings held back.
    pub fn flush_suppressed_warnings(&self) {
        for publisher in self.publishers() {
            publisher.flush_suppressed_warnings();
        }
    }

    /// Stops copying published messages into a recording.
    pub fn clear_taps(&self) {
        for publisher in self.publishers() {
            publisher.clear_tap();
        }
    }
}

impl ToRosRoute {
    /// A message numbered by a bridge: the numbers it skipped since the
    /// last one of that stream were lost in dora on the way. A message of
    /// several rows (a `batch` route's) carries one number per row.
    fn count_lost_in_dora(&mut self, params: &MetadataParameters, rows: usize) {
        let Some((stream, seq)) = dora_side::bridge_sequence(params) else {
            return;
        };
        let lost = self
            .returned
            .observe_span(stream.to_string(), seq, rows as u64);
        if lost > 0 {
            self.publisher
                .stats
                .lost_in_dora
                .fetch_add(lost, Ordering::Relaxed);
        }
    }
}
