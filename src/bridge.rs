//! The bridge as a running dora node: wires config routes to the ROS side
//! and the dora side, and runs until either side stops it.

use crate::codec::{CodecOptions, MessageCodec};
use crate::config::{Config, QosSetting, ReliabilityConfig};
use crate::dora_side;
use crate::msg::{TypeName, TypeRegistry};
use crate::ros::queue::{QueuePolicy, RouteQueues};
use crate::ros::receiver::{FromRosRoute, Receiver, RouteTarget};
use crate::ros::{self, Publisher, RateLimiter, RosSide, RouteStats};
use anyhow::Context;
use arrow::array::{ArrayRef, StringArray, StructArray, UInt64Array};
use arrow::datatypes::{DataType, Field};
use dora_node_api::dora_core::config::DataId;
use dora_node_api::{DoraNode, Event, MetadataParameters, StopCause};
use futures::StreamExt;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;
use tokio::signal::unix::{SignalKind, signal};

/// Default length of a route's queue towards dora.
const DEFAULT_QUEUE: usize = 10;
/// Messages handed to dora per wake-up, across routes.
const BATCH: usize = 64;

pub struct RunOptions {
    pub config: Config,
    pub dynamic_id: Option<String>,
    /// Process arguments for rcl (`--ros-args ...`).
    pub rcl_args: Vec<String>,
}

/// A route's counters with the name they are reported under.
struct StatsEntry {
    route: String,
    direction: &'static str,
    stats: Arc<RouteStats>,
}

pub async fn run(options: RunOptions) -> anyhow::Result<()> {
    let RunOptions {
        config,
        dynamic_id,
        rcl_args,
    } = options;
    let (mut node, mut events) = dora_side::connect(dynamic_id.as_deref())?;
    dora_side::check_against_dataflow(&node, &config)?;
    warn_unimplemented(&config);

    let registry = Arc::new(TypeRegistry::from_environment());
    let node_name = config
        .ros
        .node_name
        .clone()
        .unwrap_or_else(|| ros_node_name_from(node.id().as_ref()));
    let namespace = config.ros.namespace.clone().unwrap_or_else(|| "/".into());
    let mut ros = RosSide::start(
        &rcl_args,
        &node_name,
        &namespace,
        registry.prefixes().to_vec(),
    )?;

    let mut all_stats = Vec::new();
    let mut publishers: HashMap<DataId, Arc<Publisher>> = HashMap::new();
    let mut own_topics = HashSet::new();
    for (i, route) in config.to_ros.iter().enumerate() {
        let name = TypeName::parse(&route.msg_type).map_err(anyhow::Error::msg)?;
        let codec = MessageCodec::new(&registry, &name, CodecOptions::default())
            .with_context(|| format!("to_ros[{i}].type"))?;
        let topic = ros
            .resolve_topic(&route.topic)
            .with_context(|| format!("to_ros[{i}].topic"))?;
        // For publishers, `auto` means the ROS default: reliable, volatile, keep last 10.
        let qos = ros::qos::profile(if route.qos == QosSetting::Auto {
            &QosSetting::Default
        } else {
            &route.qos
        });
        let publisher = ros.advertise(&topic, codec, qos)?;
        tracing::info!(
            "to_ros[{i}]: input `{}` -> {topic} ({}, {})",
            route.input,
            route.msg_type,
            ros::graph::describe_qos(&qos)
        );
        all_stats.push(StatsEntry {
            route: format!("to_ros[{i}] {topic}"),
            direction: "to_ros",
            stats: publisher.stats.clone(),
        });
        own_topics.insert(topic);
        publishers.insert(DataId::from(route.input.clone()), Arc::new(publisher));
    }

    let mut routes = Vec::new();
    let mut lanes = Vec::new();
    let mut outputs = Vec::new();
    for (i, route) in config.from_ros.iter().enumerate() {
        let target = match (&route.topic, &route.pattern) {
            (Some(topic), _) => RouteTarget::Topic(
                ros.resolve_topic(topic)
                    .with_context(|| format!("from_ros[{i}].topic"))?,
            ),
            (None, Some(pattern)) => RouteTarget::Pattern(regex::Regex::new(pattern)?),
            (None, None) => unreachable!("config validation requires topic or match"),
        };
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
        let best_effort = match &route.qos {
            QosSetting::SensorData => true,
            QosSetting::Custom(p) => p.reliability == Some(ReliabilityConfig::BestEffort),
            _ => false,
        };
        let policy = route.queue.policy.unwrap_or(if best_effort {
            QueuePolicy::DropOldest
        } else {
            QueuePolicy::Block
        });
        let size = route.queue.size.unwrap_or(DEFAULT_QUEUE);
        let stats = Arc::new(RouteStats::default());
        let label = format!("from_ros[{i}] ({})", route.describe());
        tracing::info!(
            "{label} -> output `{}` (queue {size}, {policy:?})",
            route.output
        );
        lanes.push((size, policy, stats.clone()));
        all_stats.push(StatsEntry {
            route: format!("from_ros[{i}] {}", route.describe()),
            direction: "from_ros",
            stats: stats.clone(),
        });
        routes.push(FromRosRoute {
            target,
            type_name,
            qos: route.qos.clone(),
            options: CodecOptions {
                bytes_as_binary: route.bytes_as_binary,
            },
            stats,
            label,
        });
        outputs.push(DataId::from(route.output.clone()));
    }
    let from_stats: Vec<Arc<RouteStats>> = lanes.iter().map(|(_, _, s)| s.clone()).collect();
    let queues = RouteQueues::new(lanes);
    ros.spawn_receiver(
        Receiver::new(
            ros.shared().clone(),
            registry.clone(),
            routes,
            own_topics,
            queues.clone(),
        ),
        queues.clone(),
    )?;

    let mut sigint = signal(SignalKind::interrupt()).context("cannot install SIGINT handler")?;
    let mut sigterm = signal(SignalKind::terminate()).context("cannot install SIGTERM handler")?;
    let limiter = RateLimiter::new(Duration::from_secs(5));
    let stats_output = config.stats.output.clone().map(DataId::from);
    let mut stats_timer = tokio::time::interval(config.stats.interval);
    let mut log_timer = tokio::time::interval(config.stats.log_interval);
    let mut last_logged: Vec<[u64; 7]> = all_stats.iter().map(|e| e.stats.snapshot()).collect();

    let outcome: anyhow::Result<()> = loop {
        tokio::select! {
            biased;
            _ = sigint.recv() => {
                tracing::info!("SIGINT: leaving the ROS graph and exiting");
                break Ok(());
            }
            _ = sigterm.recv() => {
                tracing::info!("SIGTERM: leaving the ROS graph and exiting");
                break Ok(());
            }
            event = events.next() => match event {
                None => break Ok(()),
                Some(Event::Stop(cause)) => {
                    let why = match cause {
                        StopCause::Manual => "stopped by dora (manual stop)",
                        StopCause::AllInputsClosed => "all inputs closed",
                        _ => "stopped by dora",
                    };
                    tracing::info!("{why}: leaving the ROS graph and exiting");
                    break Ok(());
                }
                Some(Event::Input { id, data, .. }) => match publishers.get(&id) {
                    Some(publisher) => {
                        let array: ArrayRef = data.into();
                        publisher.publish_all(array.as_ref(), &limiter);
                    }
                    None => tracing::debug!("input `{id}` feeds no to_ros route; ignored"),
                },
                Some(Event::InputClosed { id }) => tracing::info!("input `{id}` closed"),
                Some(Event::NodeFailed { source_node_id, affected_input_ids, error }) => {
                    tracing::error!(
                        "dora node `{source_node_id}` failed (inputs {affected_input_ids:?}): {error}"
                    );
                }
                Some(Event::Error(e)) => tracing::error!("dora error: {e}"),
                Some(_) => {}
            },
            batch = queues.pop_batch(BATCH) => {
                if batch.is_empty() {
                    // Closed: only the receiver closes them while we run.
                    break Err(anyhow::anyhow!("the ROS receiver stopped unexpectedly"));
                }
                for received in batch {
                    let output = &outputs[received.route];
                    let params = dora_side::message_metadata(&received);
                    let array: ArrayRef = Arc::new(received.message);
                    match node.send_output(output.clone(), params, array) {
                        Ok(()) => {
                            from_stats[received.route]
                                .forwarded
                                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        }
                        Err(e) => limiter.warn(|| {
                            format!("{}: cannot send to dora output `{output}`: {e}", received.topic)
                        }),
                    }
                }
            }
            _ = stats_timer.tick(), if stats_output.is_some() => {
                if let Some(output) = &stats_output {
                    send_stats(&mut node, output, &all_stats, &limiter);
                }
            }
            _ = log_timer.tick() => {
                log_stats(&all_stats, &mut last_logged);
            }
        }
    };
    log_stats(&all_stats, &mut last_logged);
    // Close the queues first so a receiver blocked on a full one returns.
    queues.close();
    ros.stop_receiver();
    drop(publishers);
    drop(ros);
    tracing::info!("left the ROS graph");
    outcome
}

const STAT_NAMES: [&str; 7] = [
    "received",
    "forwarded",
    "dropped_queue_full",
    "dropped_by_middleware",
    "decode_errors",
    "encode_errors",
    "publish_errors",
];

/// One line per route whose counters moved since the last summary.
fn log_stats(all: &[StatsEntry], last: &mut [[u64; 7]]) {
    for (entry, previous) in all.iter().zip(last.iter_mut()) {
        let now = entry.stats.snapshot();
        if now == *previous {
            continue;
        }
        let counters: Vec<String> = STAT_NAMES
            .iter()
            .zip(now)
            .filter(|(name, value)| *value > 0 || **name == "forwarded")
            .map(|(name, value)| format!("{name}={value}"))
            .collect();
        tracing::info!("stats {}: {}", entry.route, counters.join(" "));
        *previous = now;
    }
}

/// The counters as Arrow rows: `{route, direction, received, forwarded, ...}`.
fn stats_rows(all: &[StatsEntry]) -> StructArray {
    let mut fields = vec![
        Field::new("route", DataType::Utf8, false),
        Field::new("direction", DataType::Utf8, false),
    ];
    let mut columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from_iter_values(
            all.iter().map(|e| e.route.as_str()),
        )),
        Arc::new(StringArray::from_iter_values(
            all.iter().map(|e| e.direction),
        )),
    ];
    let snapshots: Vec<[u64; 7]> = all.iter().map(|e| e.stats.snapshot()).collect();
    for (i, name) in STAT_NAMES.iter().enumerate() {
        fields.push(Field::new(*name, DataType::UInt64, false));
        columns.push(Arc::new(UInt64Array::from_iter_values(
            snapshots.iter().map(|s| s[i]),
        )));
    }
    StructArray::new(fields.into(), columns, None)
}

fn send_stats(node: &mut DoraNode, output: &DataId, all: &[StatsEntry], limiter: &RateLimiter) {
    let rows: ArrayRef = Arc::new(stats_rows(all));
    if let Err(e) = node.send_output(output.clone(), MetadataParameters::default(), rows) {
        limiter.warn(|| format!("cannot send stats on `{output}`: {e}"));
    }
}

/// dora node ids may contain characters ROS node names may not.
fn ros_node_name_from(node_id: &str) -> String {
    let mut name = dora_side::identifier(node_id);
    if !name.starts_with(|c: char| c.is_ascii_alphabetic()) {
        name.insert_str(0, "dora_");
    }
    name
}

fn warn_unimplemented(config: &Config) {
    if config.liveness.is_some() {
        tracing::warn!("`liveness` is not implemented yet in this version; ignored");
    }
    if config.dora_failures.is_some() {
        tracing::warn!("`dora_failures` is not implemented yet in this version; ignored");
    }
}
