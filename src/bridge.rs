//! The bridge as a running dora node: wires config routes to the ROS side
//! and the dora side, and runs until either side stops it.

use crate::codec::{CodecOptions, MessageCodec};
use crate::config::{Config, OnLost, OnSignal, OnWatchedNodesGone, QosSetting, ReliabilityConfig};
use crate::dora_side;
use crate::lifecycle::diagnostics::{DIAGNOSTIC_ARRAY, Diagnostics, Level};
use crate::lifecycle::liveness::{LivenessWatch, NodeState, Transition};
use crate::lifecycle::shutdown::{self, ParentWatch};
use crate::msg::{TypeName, TypeRegistry};
use crate::ros::queue::{QueuePolicy, RouteQueues};
use crate::ros::receiver::{FromRosRoute, LivenessReport, Receiver, RouteTarget};
use crate::ros::{self, Publisher, RateLimiter, RosSide, RouteStats, StatsSnapshot};
use crate::sequence::{FirstNumber, GapCounter};
use anyhow::Context;
use arrow::array::{Array, ArrayRef, Int64Array, StringArray, StructArray, UInt64Array};
use arrow::datatypes::{DataType, Field};
use dora_node_api::dora_core::config::DataId;
use dora_node_api::{DoraNode, Event, MetadataParameters, StopCause};
use futures::StreamExt;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant, UNIX_EPOCH};
use tokio::signal::unix::{SignalKind, signal};

/// Default length of a route's queue towards dora.
const DEFAULT_QUEUE: usize = 10;
/// Messages handed to dora per wake-up, across routes.
const BATCH: usize = 64;
/// A `send_output` this slow gets a warning: it is where a route's queue
/// starts to back up.
const SLOW_DORA_SEND: Duration = Duration::from_millis(50);
/// After asking dora to stop the dataflow, how long to wait for the
/// `Stop` event before leaving anyway. ROS launch escalates to SIGTERM
/// after 5 s: be out before that.
const STOP_REQUEST_TIMEOUT: Duration = Duration::from_secs(4);
/// How often the bridge checks that its launcher is still there.
const PARENT_POLL: Duration = Duration::from_millis(200);
/// `diagnostic_updater`'s default period.
const DIAGNOSTICS_PERIOD: Duration = Duration::from_secs(1);

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
    // First thing: a Ctrl-C during startup must not kill the process
    // outright (its ROS node would linger in the graph); it is handled once
    // the loop runs.
    let mut sigint = signal(SignalKind::interrupt()).context("cannot install SIGINT handler")?;
    let mut sigterm = signal(SignalKind::terminate()).context("cannot install SIGTERM handler")?;
    let (mut node, mut events) = dora_side::connect(dynamic_id.as_deref())?;
    dora_side::check_against_dataflow(&node, &config)?;
    dora_side::warn_lossy_delivery(&node, &config);
    if let Some(replay) = &config.replay {
        return crate::bag::replay::run(&config, replay, node, events).await;
    }

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
        let history_configured = matches!(&route.qos, QosSetting::Custom(p) if p.history.is_some());
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
            reader_keeps_all: policy == QueuePolicy::Block && !history_configured,
        });
        outputs.push(DataId::from(route.output.clone()));
    }
    let mut numbering = dora_side::OutputNumbering::new(
        node.id().as_ref(),
        config.from_ros.iter().map(|r| r.output.as_str()),
    );
    // Per to_ros input: what came back of the bridges' numbered streams.
    let mut returned: HashMap<DataId, GapCounter<String>> = HashMap::new();
    let from_stats: Vec<Arc<RouteStats>> = lanes.iter().map(|(_, _, s)| s.clone()).collect();
    let queues = RouteQueues::new(lanes);
    let mut receiver = Receiver::new(
        ros.shared().clone(),
        registry.clone(),
        routes,
        own_topics,
        queues.clone(),
    );
    let (liveness_tx, mut liveness_rx) = tokio::sync::mpsc::unbounded_channel::<LivenessReport>();
    if let Some(liveness) = config.liveness.as_ref().filter(|l| !l.watch.is_empty()) {
        tracing::info!(
            "watching ROS node(s) {} (on_lost: {:?}, grace {:?}, startup timeout {:?})",
            liveness.watch.join(", "),
            liveness.on_lost,
            liveness.grace,
            liveness.startup_timeout
        );
        receiver = receiver.with_liveness(
            LivenessWatch::new(
                &liveness.watch,
                liveness.startup_timeout,
                liveness.grace,
                Instant::now(),
            ),
            liveness_tx,
        );
    } else {
        drop(liveness_tx);
    }
    ros.spawn_receiver(receiver, queues.clone())?;

    let recording = match &config.record {
        Some(section) => Some(start_recording(section, &config, &publishers, &registry)?),
        None => None,
    };
    let mut diagnostics = start_diagnostics(&config, &ros, &registry, &node)?;
    warn_without_keepalive(&config, &node);
    let dataflow_id = node.dataflow_id().to_string();
    let launcher = shutdown::detect_launcher();
    let parent = ParentWatch::new();
    shutdown::terminate_with_parent();
    tracing::debug!("launched by {launcher:?}");

    let limiter = RateLimiter::new(Duration::from_secs(5));
    let stats_output = config.stats.output.clone().map(DataId::from);
    let report_output = config
        .liveness
        .as_ref()
        .and_then(|l| l.report_output.clone())
        .map(DataId::from);
    let on_lost = config
        .liveness
        .as_ref()
        .map_or(OnLost::Ignore, |l| l.on_lost);
    let mut shm_pool = dora_side::ShmPoolAdvisor::new(&node);
    shm_pool.warm_up(&mut node);
    // Its own limiter, so slow-send warnings never hide send errors.
    let slow_send_limiter = RateLimiter::new(Duration::from_secs(10));
    let mut stats_timer = tokio::time::interval(config.stats.interval);
    let mut log_timer = tokio::time::interval(config.stats.log_interval);
    let mut diagnostics_timer = tokio::time::interval(DIAGNOSTICS_PERIOD);
    let mut parent_timer = tokio::time::interval(PARENT_POLL);
    let mut last_logged: Vec<StatsSnapshot> =
        all_stats.iter().map(|e| e.stats.snapshot()).collect();
    // Set once the bridge asked dora to stop the dataflow: leave by then.
    let mut stop_requested: Option<tokio::time::Instant> = None;
    let mut liveness_open = config.liveness.is_some();
    let withdraw = config
        .dora_failures
        .as_ref()
        .is_none_or(|d| d.withdraw_publishers);

    tracing::info!(
        "bridging {} from_ros and {} to_ros route(s)",
        config.from_ros.len(),
        config.to_ros.len()
    );
    let outcome: anyhow::Result<String> = loop {
        let stop_deadline = stop_requested
            .unwrap_or_else(|| tokio::time::Instant::now() + Duration::from_secs(3600 * 24 * 365));
        tokio::select! {
            biased;
            _ = sigint.recv() => {
                if parent.parent_gone() {
                    break Ok("launcher exited".into());
                }
                if let Some(why) = on_signal("SIGINT", &config, &launcher, &dataflow_id, &mut stop_requested) {
                    break Ok(why);
                }
            }
            _ = sigterm.recv() => {
                if parent.parent_gone() {
                    break Ok("launcher exited".into());
                }
                if let Some(why) = on_signal("SIGTERM", &config, &launcher, &dataflow_id, &mut stop_requested) {
                    break Ok(why);
                }
            }
            _ = tokio::time::sleep_until(stop_deadline), if stop_requested.is_some() => {
                tracing::warn!(
                    "no Stop from dora {STOP_REQUEST_TIMEOUT:?} after asking for it; leaving anyway"
                );
                break Ok("stop requested, dora did not answer".into());
            }
            event = events.next() => match event {
                None => break Ok("dora closed the event stream".into()),
                Some(Event::Stop(cause)) => {
                    let why = match cause {
                        StopCause::Manual => "stopped by dora (manual stop)",
                        StopCause::AllInputsClosed => "all inputs closed",
                        _ => "stopped by dora",
                    };
                    break Ok(why.into());
                }
                Some(Event::Input { id, data, metadata }) => match publishers.get(&id) {
                    Some(publisher) => {
                        count_lost_in_dora(&mut returned, &id, &metadata.parameters, publisher);
                        let array: ArrayRef = data.into();
                        if publisher.is_withdrawn() {
                            // Publishing re-creates it; say why it is back.
                            recovered_input(&mut diagnostics, &id, "sends data again");
                        }
                        publisher.publish_all(array.as_ref(), &limiter);
                    }
                    None => tracing::debug!("input `{id}` feeds no to_ros route; ignored"),
                },
                Some(Event::InputClosed { id }) => {
                    tracing::info!("input `{id}` closed");
                    // Closed by its `input_timeout`: the source stalled, and
                    // dora reopens it (InputRecovered) when data flows again.
                    let stalled = node.node_config().inputs.get(&id).and_then(|input| {
                        Some((input_source(&input.mapping)?, input.input_timeout?))
                    });
                    if let (Some((source, timeout)), Some(publisher)) = (stalled, publishers.get(&id)) {
                        tracing::warn!(
                            "input `{id}`: no data from dora node `{source}` for {timeout} s (input_timeout)"
                        );
                        if let Some(d) = diagnostics.as_mut() {
                            d.node_stalled(&source, id.as_ref(), timeout);
                            d.publish(&d.statuses("a dora node stalled", Vec::new()));
                        }
                        if withdraw && publisher.withdraw() {
                            tracing::warn!(
                                "{}: publisher withdrawn until `{source}` sends again",
                                publisher.topic
                            );
                        }
                    }
                }
                Some(Event::NodeFailed { source_node_id, affected_input_ids, error }) => {
                    tracing::error!(
                        "dora node `{source_node_id}` failed (inputs {affected_input_ids:?}): {error}"
                    );
                    node_failed(
                        &mut diagnostics,
                        &publishers,
                        source_node_id.as_ref(),
                        &affected_input_ids,
                        &error,
                        withdraw,
                    );
                }
                Some(Event::InputRecovered { id }) => {
                    tracing::info!("input `{id}` recovered");
                    restore_publisher(&publishers, &id);
                    recovered_input(&mut diagnostics, &id, "recovered");
                }
                Some(Event::NodeRestarted { id }) => {
                    tracing::info!("dora node `{id}` restarted");
                    let inputs: Vec<DataId> = node
                        .node_config()
                        .inputs
                        .iter()
                        .filter(|(_, input)| input_source(&input.mapping).as_deref() == Some(id.as_ref()))
                        .map(|(input_id, _)| input_id.clone())
                        .collect();
                    for input in &inputs {
                        restore_publisher(&publishers, input);
                    }
                    if let Some(d) = diagnostics.as_mut() {
                        d.node_restarted(id.as_ref());
                    }
                }
                Some(Event::Error(e)) => tracing::error!("dora error: {e}"),
                Some(_) => {}
            },
            report = liveness_rx.recv(), if liveness_open => match report {
                None => liveness_open = false,
                Some(report) => {
                    if let Some(output) = &report_output {
                        send_liveness_rows(&mut node, output, &report.transitions, &limiter);
                    }
                    if let Some(outcome) = on_liveness(
                        &report,
                        on_lost,
                        config.shutdown.on_watched_nodes_gone,
                        &launcher,
                        &dataflow_id,
                        &mut stop_requested,
                    ) {
                        break outcome;
                    }
                }
            },
            batch = queues.pop_batch(BATCH) => {
                if batch.is_empty() {
                    // Closed: only the receiver closes them while we run.
                    break Err(anyhow::anyhow!("the ROS receiver stopped unexpectedly"));
                }
                for received in batch {
                    let output = &outputs[received.route];
                    let mut params = dora_side::message_metadata(&received);
                    numbering.stamp(received.route, &mut params);
                    shm_pool.check(output.as_ref(), &received.topic, received.message.get_array_memory_size());
                    let array: ArrayRef = Arc::new(received.message);
                    let started = std::time::Instant::now();
                    let sent = node.send_output(output.clone(), params, array);
                    let took = started.elapsed();
                    if took >= SLOW_DORA_SEND {
                        // Meanwhile the route's queue and then its DDS history fill up.
                        slow_send_limiter.warn(|| {
                            format!(
                                "{}: dora took {} ms to accept a message on output `{output}`",
                                received.topic,
                                took.as_millis()
                            )
                        });
                    }
                    match sent {
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
            _ = diagnostics_timer.tick(), if diagnostics.is_some() => {
                if let Some(d) = &diagnostics {
                    publish_health(d, &all_stats, Level::Ok, "bridging");
                }
            }
            _ = log_timer.tick() => {
                log_stats(&all_stats, &mut last_logged);
            }
            _ = parent_timer.tick() => {
                if parent.parent_gone() {
                    tracing::warn!("the process that launched the bridge is gone");
                    break Ok("launcher exited".into());
                }
            }
        }
    };
    log_stats(&all_stats, &mut last_logged);
    if let Some(d) = &diagnostics {
        match &outcome {
            Ok(why) => publish_health(d, &all_stats, Level::Ok, &format!("stopped: {why}")),
            Err(e) => publish_health(d, &all_stats, Level::Error, &format!("stopped: {e:#}")),
        }
    }
    if let Ok(why) = &outcome {
        tracing::info!("{why}: leaving the ROS graph and exiting");
    }
    queues.close();
    ros.stop_receiver();
    drop(diagnostics);
    for publisher in publishers.values() {
        publisher.clear_tap();
    }
    drop(publishers);
    drop(ros);
    tracing::info!("left the ROS graph");
    if let Some(recording) = recording {
        match recording.join() {
            Ok(Ok(summary)) => tracing::info!(
                "recorded {} to_ros message(s) into {}",
                summary.messages,
                config
                    .record
                    .as_ref()
                    .map_or_else(String::new, |r| r.bag.display().to_string())
            ),
            Ok(Err(e)) => tracing::error!("recording failed: {e:#}"),
            Err(_) => tracing::error!("the recording thread panicked"),
        }
    }
    outcome.map(|_| ())
}

/// A `to_ros` input's message numbered by a bridge: the numbers it skipped
/// since the last one of that stream were lost in dora on the way.
fn count_lost_in_dora(
    returned: &mut HashMap<DataId, GapCounter<String>>,
    input: &DataId,
    params: &MetadataParameters,
    publisher: &Publisher,
) {
    let Some((stream, seq)) = dora_side::bridge_sequence(params) else {
        tracing::debug!("input `{input}`: no bridge numbering in {params:?}");
        return;
    };
    let lost = returned
        .entry(input.clone())
        .or_insert_with(|| GapCounter::new(FirstNumber::One))
        .observe(stream.to_string(), seq);
    if lost > 0 {
        publisher
            .stats
            .lost_in_dora
            .fetch_add(lost, std::sync::atomic::Ordering::Relaxed);
    }
}

/// `record:`: what the `to_ros` routes publish goes into a bag too, written
/// on a thread of its own.
fn start_recording(
    section: &crate::config::RecordSection,
    config: &Config,
    publishers: &HashMap<DataId, Arc<Publisher>>,
    registry: &TypeRegistry,
) -> anyhow::Result<std::thread::JoinHandle<anyhow::Result<crate::bag::writer::Summary>>> {
    use crate::bag::writer::{BagWriter, TopicMeta};
    let limits = crate::bag::writer::SplitLimits {
        max_bytes: section.max_bag_size,
        max_duration: section.max_bag_duration,
    };
    let mut writer = BagWriter::create_split(&section.bag, limits).context("record.bag")?;
    for route in &config.to_ros {
        let Some(publisher) = publishers.get(&DataId::from(route.input.clone())) else {
            continue;
        };
        let definition = registry
            .concatenated_definition(publisher.codec.type_name())
            .unwrap_or_default();
        writer.add_topic(TopicMeta {
            name: publisher.topic.clone(),
            type_name: route.msg_type.clone(),
            definition,
            offered_qos: vec![publisher.qos()],
            // rcl computes it for our own publisher, but only the graph
            // reports it; not worth a graph query at start.
            type_hash: String::new(),
        })?;
    }
    let (tx, rx) = std::sync::mpsc::sync_channel::<ros::Tapped>(256);
    for publisher in publishers.values() {
        publisher.set_tap(tx.clone());
    }
    drop(tx);
    tracing::info!("recording to_ros traffic into {}", section.bag.display());
    std::thread::Builder::new()
        .name("bag-writer".into())
        .spawn(move || {
            for tapped in rx {
                writer.write(&tapped.topic, tapped.time_ns, tapped.time_ns, &tapped.cdr)?;
            }
            writer.finish()
        })
        .context("cannot start the bag writer thread")
}

/// dora closes a node's event stream right after its last input closes, and
/// the `NodeFailed` that explains the closing comes later (seen): a bridge
/// whose only inputs are `to_ros` sources never hears of their failure. A
/// timer input keeps the stream open.
fn warn_without_keepalive(config: &Config, node: &DoraNode) {
    if config.to_ros.is_empty() {
        return;
    }
    let has_timer = node
        .node_config()
        .inputs
        .values()
        .any(|input| input.mapping.to_string().starts_with("dora/timer/"));
    if !has_timer {
        tracing::warn!(
            "no timer input: if the last dora node feeding a to_ros route fails, dora closes \
             the bridge's event stream before telling it why, and the failure cannot reach ROS \
             diagnostics. Add an input such as `keepalive: dora/timer/secs/1` to the bridge node."
        );
    }
}

/// Diagnostics publisher, on by default: dora failures should reach ROS
/// monitoring without extra config.
fn start_diagnostics(
    config: &Config,
    ros: &RosSide,
    registry: &TypeRegistry,
    node: &DoraNode,
) -> anyhow::Result<Option<Diagnostics>> {
    let explicit = config.dora_failures.is_some();
    let topic = config
        .dora_failures
        .as_ref()
        .map_or("/diagnostics", |d| d.diagnostics_topic.as_str());
    let attempt = || -> anyhow::Result<Diagnostics> {
        let name = TypeName::parse(DIAGNOSTIC_ARRAY).map_err(anyhow::Error::msg)?;
        let codec = MessageCodec::new(registry, &name, CodecOptions::default())?;
        let topic = ros.resolve_topic(topic)?;
        let publisher = ros.advertise(&topic, codec, ros::rcl::default_qos())?;
        Ok(Diagnostics::new(
            publisher,
            ros.node_name(),
            &node.dataflow_id().to_string(),
        ))
    };
    match attempt() {
        Ok(d) => {
            tracing::info!("diagnostics on {} (1 Hz)", d.topic());
            Ok(Some(d))
        }
        Err(e) if explicit => Err(e.context("dora_failures.diagnostics_topic")),
        Err(e) => {
            tracing::warn!("no ROS diagnostics: {e:#}");
            Ok(None)
        }
    }
}

fn publish_health(diagnostics: &Diagnostics, all: &[StatsEntry], level: Level, summary: &str) {
    let values = all
        .iter()
        .map(|e| {
            let s = e.stats.snapshot();
            (
                e.route.clone(),
                format!(
                    "received={} forwarded={} dropped={} errors={}",
                    s[0],
                    s[1],
                    RouteStats::lost(&s),
                    RouteStats::errors(&s)
                ),
            )
        })
        .collect();
    let mut statuses = diagnostics.statuses(summary, values);
    if level > statuses[0].level {
        statuses[0].level = level;
    }
    diagnostics.publish(&statuses);
}

/// The node feeding a dora input: its mapping reads `node/output`
/// (timers read `dora/timer/...`).
fn input_source(mapping: &impl std::fmt::Display) -> Option<String> {
    let text = mapping.to_string();
    let (node, _) = text.split_once('/')?;
    (node != "dora").then(|| node.to_string())
}

fn node_failed(
    diagnostics: &mut Option<Diagnostics>,
    publishers: &HashMap<DataId, Arc<Publisher>>,
    source: &str,
    inputs: &[DataId],
    error: &str,
    withdraw: bool,
) {
    if let Some(d) = diagnostics.as_mut() {
        d.node_failed(
            source,
            inputs.iter().map(|i| i.to_string()).collect(),
            error,
        );
        d.publish(&d.statuses("a dora node failed", Vec::new()));
    }
    if withdraw {
        for input in inputs {
            if let Some(p) = publishers.get(input)
                && p.withdraw()
            {
                tracing::warn!(
                    "{}: publisher withdrawn (its dora source `{source}` failed); \
                     it comes back when data flows again",
                    p.topic
                );
            }
        }
    }
}

fn restore_publisher(publishers: &HashMap<DataId, Arc<Publisher>>, input: &DataId) {
    if let Some(p) = publishers.get(input) {
        match p.restore() {
            Ok(true) => tracing::info!("{}: publisher re-created", p.topic),
            Ok(false) => {}
            Err(e) => tracing::error!("{e:#}"),
        }
    }
}

fn recovered_input(diagnostics: &mut Option<Diagnostics>, input: &DataId, how: &str) {
    let Some(d) = diagnostics.as_mut() else {
        return;
    };
    // Which failed node fed this input: the diagnostics remember.
    for node in d.unhealthy_nodes_feeding(input.as_ref()) {
        d.node_recovered(&node, how);
    }
}

/// SIGINT/SIGTERM: `Some(why)` to leave now, `None` to wait for dora's Stop.
fn on_signal(
    name: &str,
    config: &Config,
    launcher: &shutdown::Launcher,
    dataflow_id: &str,
    stop_requested: &mut Option<tokio::time::Instant>,
) -> Option<String> {
    if stop_requested.is_some() {
        tracing::info!("{name} again: already stopping, waiting for dora's Stop");
        return None;
    }
    match config.shutdown.on_signal {
        OnSignal::Exit => Some(name.to_string()),
        OnSignal::StopDataflow => {
            tracing::info!("{name}: stopping the dataflow (shutdown.on_signal: stop_dataflow)");
            request_stop(launcher, dataflow_id, stop_requested)
                .err()
                .map(|e| format!("{name}; could not stop the dataflow ({e:#})"))
        }
    }
}

fn request_stop(
    launcher: &shutdown::Launcher,
    dataflow_id: &str,
    stop_requested: &mut Option<tokio::time::Instant>,
) -> anyhow::Result<()> {
    shutdown::request_dataflow_stop(launcher, dataflow_id)?;
    *stop_requested = Some(tokio::time::Instant::now() + STOP_REQUEST_TIMEOUT);
    Ok(())
}

/// Acts on liveness transitions: `Some` ends the bridge.
fn on_liveness(
    report: &LivenessReport,
    on_lost: OnLost,
    on_gone: OnWatchedNodesGone,
    launcher: &shutdown::Launcher,
    dataflow_id: &str,
    stop_requested: &mut Option<tokio::time::Instant>,
) -> Option<anyhow::Result<String>> {
    for t in &report.transitions {
        match t.state {
            NodeState::Lost => tracing::warn!("ROS node {} lost: {}", t.node, t.reason),
            _ => tracing::info!("ROS node {} {}: {}", t.node, t.state, t.reason),
        }
    }
    if report.all_gone && on_gone == OnWatchedNodesGone::StopDataflow && stop_requested.is_none() {
        tracing::info!("every watched ROS node has left: stopping the dataflow");
        return match request_stop(launcher, dataflow_id, stop_requested) {
            Ok(()) => None,
            Err(e) => Some(Ok(format!(
                "watched nodes gone; could not stop the dataflow ({e:#})"
            ))),
        };
    }
    if on_lost == OnLost::Fail && stop_requested.is_none() {
        let lost: Vec<String> = report
            .transitions
            .iter()
            .filter(|t| t.state == NodeState::Lost)
            .map(|t| format!("ROS node {} lost: {}", t.node, t.reason))
            .collect();
        if !lost.is_empty() {
            return Some(Err(anyhow::anyhow!("{}", lost.join("; "))));
        }
    }
    None
}

/// Liveness status rows: `{node, state, reason, stamp_ns}`.
fn liveness_rows(transitions: &[Transition]) -> StructArray {
    let fields = vec![
        Field::new("node", DataType::Utf8, false),
        Field::new("state", DataType::Utf8, false),
        Field::new("reason", DataType::Utf8, false),
        Field::new("stamp_ns", DataType::Int64, false),
    ];
    let columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from_iter_values(
            transitions.iter().map(|t| t.node.as_str()),
        )),
        Arc::new(StringArray::from_iter_values(
            transitions.iter().map(|t| t.state.to_string()),
        )),
        Arc::new(StringArray::from_iter_values(
            transitions.iter().map(|t| t.reason.as_str()),
        )),
        Arc::new(Int64Array::from_iter_values(transitions.iter().map(|t| {
            t.stamp
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos() as i64)
        }))),
    ];
    StructArray::new(fields.into(), columns, None)
}

fn send_liveness_rows(
    node: &mut DoraNode,
    output: &DataId,
    transitions: &[Transition],
    limiter: &RateLimiter,
) {
    let rows: ArrayRef = Arc::new(liveness_rows(transitions));
    if let Err(e) = node.send_output(output.clone(), MetadataParameters::default(), rows) {
        limiter.warn(|| format!("cannot send liveness rows on `{output}`: {e}"));
    }
}

/// One line per route whose counters moved since the last summary.
fn log_stats(all: &[StatsEntry], last: &mut [StatsSnapshot]) {
    for (entry, previous) in all.iter().zip(last.iter_mut()) {
        let now = entry.stats.snapshot();
        if now == *previous {
            continue;
        }
        let counters: Vec<String> = RouteStats::NAMES
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
    let snapshots: Vec<StatsSnapshot> = all.iter().map(|e| e.stats.snapshot()).collect();
    for (i, name) in RouteStats::NAMES.iter().enumerate() {
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
