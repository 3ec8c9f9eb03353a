//! `ros2-dora-bridge bag record`: ROS topics into a rosbag2 bag (MCAP
//! storage plus the `metadata.yaml` that `ros2 bag info` and `rosbags`
//! read), with the publishers' offered QoS and the message definitions
//! embedded.
//!
//! Two threads: one takes from DDS and never touches the disk, one writes.
//! Between them a bounded channel; when it is full the taker waits rather
//! than dropping: everything taken is written. A reliable topic is read
//! with a keep-all history, so that the wait holds its publishers back
//! through DDS flow control. What DDS loses anyway (jumps in a publisher's
//! sequence numbers, or `MESSAGE_LOST` where the RMW does not number
//! samples) is counted and printed.

use super::writer::{BagWriter, SplitLimits, TopicMeta};
use crate::msg::{TypeName, TypeRegistry};
use crate::ros::graph::{auto_subscription_qos, describe_qos};
use crate::ros::graph_watch::{GraphEvent, GraphWatcher, TopicState};
use crate::ros::rcl::{self, History, RclSubscription, SubscriptionEvent, WaitSet};
use crate::ros::watched::{ProbeOutcome, Take, WatchedSubscription, describe_wedge};
use crate::ros::{RosShared, RosSide};
use crate::throttle::{RateLimiter, SayOnce};
use crate::topics::TopicMatcher;
use anyhow::Context;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

pub struct RecordOptions {
    pub output: PathBuf,
    /// Named topics, a pattern, every topic ([`record_all`]).
    pub topics: TopicMatcher,
    /// Stop after this long.
    pub duration: Option<Duration>,
    /// When to start the next storage file.
    pub split: SplitLimits,
    pub rcl_args: Vec<String>,
}

/// Every topic but the graph's own bookkeeping, like `ros2 bag record -a`.
pub fn record_all(topics: TopicMatcher) -> TopicMatcher {
    let all = TopicMatcher::default()
        .with_every_topic()
        .excluding(["/rosout", "/parameter_events"]);
    topics.union(&all)
}

/// Depth of the recorder's reader history for best-effort topics: room
/// for bursts while the taker waits for the disk.
const RECORD_DEPTH: usize = 100;
/// Messages in flight between taker and writer.
const WRITE_QUEUE: usize = 256;

enum ToWriter {
    Topic(TopicMeta),
    Message {
        topic: Arc<str>,
        log_time_ns: u64,
        publish_time_ns: u64,
        data: Vec<u8>,
    },
}

struct Subscribed {
    topic: Arc<str>,
    type_name: TypeName,
    watched: WatchedSubscription,
}

/// How often subscriptions are checked for a wedged reader.
const STALL_CHECK_INTERVAL: Duration = Duration::from_millis(250);

pub fn record(options: RecordOptions, stop: Arc<AtomicBool>) -> anyhow::Result<()> {
    if options.topics.is_empty() {
        anyhow::bail!("say what to record: topics, --regex RE, or --all");
    }
    let registry = Arc::new(TypeRegistry::from_environment());
    let mut writer = BagWriter::create_split(&options.output, options.split)?;
    let ros = RosSide::start(
        &options.rcl_args,
        "bag_recorder",
        "/",
        registry.prefixes().to_vec(),
    )?;
    let shared = ros.shared().clone();
    let (tx, rx) = std::sync::mpsc::sync_channel::<ToWriter>(WRITE_QUEUE);
    let lost = Arc::new(AtomicU64::new(0));

    let writer_thread = std::thread::Builder::new()
        .name("bag-writer".into())
        .spawn(move || -> anyhow::Result<BagWriter> {
            for item in rx {
                match item {
                    ToWriter::Topic(meta) => writer.add_topic(meta)?,
                    ToWriter::Message {
                        topic,
                        log_time_ns,
                        publish_time_ns,
                        data,
                    } => writer.write(&topic, log_time_ns, publish_time_ns, &data)?,
                }
            }
            Ok(writer)
        })
        .context("cannot start the bag writer thread")?;

    let started = Instant::now();
    let outcome = take_loop(&shared, &registry, &options, &stop, &tx, &lost, started);
    drop(tx);
    let writer = writer_thread
        .join()
        .map_err(|_| anyhow::anyhow!("the bag writer thread panicked"))??;
    drop(ros);
    let summary = writer.finish()?;
    tracing::info!(
        "{} message(s) on {} topic(s) into {} ({:.1} MB); lost in DDS: {}",
        summary.messages,
        summary.topics,
        options.output.display(),
        summary.bytes as f64 / 1e6,
        lost.load(Ordering::Relaxed)
    );
    outcome
}

fn take_loop(
    shared: &Arc<RosShared>,
    registry: &TypeRegistry,
    options: &RecordOptions,
    stop: &AtomicBool,
    tx: &std::sync::mpsc::SyncSender<ToWriter>,
    lost: &AtomicU64,
    started: Instant,
) -> anyhow::Result<()> {
    let mut wait_set = WaitSet::new(&shared.node)?;
    let mut subscribed: Vec<Subscribed> = Vec::new();
    let told = SayOnce::default();
    let mut graph = GraphWatcher::new(options.topics.clone(), &shared.node_name);
    let mut last_stall_check = Instant::now();
    let take_errors = RateLimiter::new(Duration::from_secs(5));
    while !stop.load(Ordering::Relaxed) {
        if let Some(limit) = options.duration
            && started.elapsed() >= limit
        {
            break;
        }
        for event in graph.look(&shared.node) {
            if let GraphEvent::Topic(state) = event {
                plan(shared, registry, tx, &mut subscribed, &state, &told)?;
            }
        }
        if last_stall_check.elapsed() >= STALL_CHECK_INTERVAL {
            last_stall_check = Instant::now();
            for sub in &mut subscribed {
                recover_stalled(shared, sub, tx, lost, &take_errors)?;
            }
        }
        // Probes are waited on, never taken from (see `ros::watched`).
        let probing: Vec<usize> = (0..subscribed.len())
            .filter(|&i| subscribed[i].watched.probe_to_wait_on().is_some())
            .collect();
        let subs: Vec<&RclSubscription> = subscribed
            .iter()
            .map(|s| s.watched.subscription())
            .chain(
                probing
                    .iter()
                    .filter_map(|&i| subscribed[i].watched.probe_to_wait_on()),
            )
            .collect();
        let active = subscribed.len();
        let ready = wait_set.wait(&subs, &[], Duration::from_millis(100))?;
        if ready.graph_changed {
            graph.graph_changed();
        }
        for (index, event) in ready.events {
            if let Some(k) = index.checked_sub(active) {
                subscribed[probing[k]].watched.discard_probe_event(event);
                continue;
            }
            let sub = &mut subscribed[index];
            if let Ok(Some(SubscriptionEvent::MessageLost { lost: n })) =
                sub.watched.subscription_mut().take_event(event)
                && sub.watched.counts_message_lost_events()
            {
                lost.fetch_add(n, Ordering::Relaxed);
                tracing::warn!("{}: DDS lost {n} message(s)", sub.topic);
            }
        }
        // Probes first (see the receiver): then the old subscriptions.
        let woke = Instant::now();
        let (probes, olds): (Vec<usize>, Vec<usize>) = ready
            .subscriptions
            .into_iter()
            .partition(|&index| index >= active);
        for index in probes {
            subscribed[probing[index - active]]
                .watched
                .probe_heard(woke);
        }
        for index in olds {
            take_all(shared, &mut subscribed[index], tx, lost, &take_errors)?;
        }
    }
    Ok(())
}

/// Takes every sample waiting on `sub` and hands it to the writer.
fn take_all(
    shared: &RosShared,
    sub: &mut Subscribed,
    tx: &std::sync::mpsc::SyncSender<ToWriter>,
    lost: &AtomicU64,
    take_errors: &RateLimiter,
) -> anyhow::Result<()> {
    loop {
        // Never adopted: the bytes are written out and the buffer reused.
        let (taken, info, lost_before) = match sub.watched.take(usize::MAX) {
            Ok(Take::Sample {
                taken,
                info,
                lost_before,
            }) => (taken, info, lost_before),
            Ok(Take::Repeat) => continue,
            Ok(Take::Empty) => return Ok(()),
            Err(e) => {
                // That sample is gone; the next ones are not.
                take_errors.warn(|| format!("{}: take failed: {e}", sub.topic));
                return Ok(());
            }
        };
        if lost_before > 0 {
            lost.fetch_add(lost_before, Ordering::Relaxed);
            tracing::warn!("{}: DDS lost {lost_before} message(s)", sub.topic);
        }
        let bytes = taken.bytes();
        shared.segment_advice.check(
            crate::ros::fastdds::Direction::Received,
            &sub.topic,
            bytes.len(),
        );
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        let received = u64::try_from(info.received_timestamp_ns)
            .ok()
            .filter(|t| *t > 0)
            .unwrap_or(now);
        let message = ToWriter::Message {
            topic: sub.topic.clone(),
            log_time_ns: received,
            publish_time_ns: u64::try_from(info.source_timestamp_ns).unwrap_or(0),
            data: bytes.to_vec(),
        };
        if tx.send(message).is_err() {
            anyhow::bail!("the bag writer stopped");
        }
    }
}

/// A reliable subscription whose publisher fell silent gets a probe; a
/// wedged one is replaced by it (see `ros::watched`).
fn recover_stalled(
    shared: &RosShared,
    sub: &mut Subscribed,
    tx: &std::sync::mpsc::SyncSender<ToWriter>,
    lost: &AtomicU64,
    take_errors: &RateLimiter,
) -> anyhow::Result<()> {
    let now = Instant::now();
    let (topic, type_name) = (&sub.topic, &sub.type_name);
    if let Err(e) = sub
        .watched
        .check_stall(now, |qos| shared.subscription(topic, type_name, qos))
    {
        take_errors.warn(|| format!("{topic}: cannot probe: {e:#}"));
    }
    if sub.watched.resolve_probe(now) == ProbeOutcome::Wedged {
        take_all(shared, sub, tx, lost, take_errors)?;
        sub.watched.promote();
        tracing::warn!("{}", describe_wedge(&sub.topic));
    }
    Ok(())
}

/// Subscribes to a topic once it has a publisher (its type and QoS are
/// learned from them), or updates the publishers it is matched to.
fn plan(
    shared: &Arc<RosShared>,
    registry: &TypeRegistry,
    tx: &std::sync::mpsc::SyncSender<ToWriter>,
    subscribed: &mut Vec<Subscribed>,
    state: &TopicState,
    told: &SayOnce,
) -> anyhow::Result<()> {
    let topic = state.topic.as_str();
    if let Some(sub) = subscribed.iter_mut().find(|s| &*s.topic == topic) {
        sub.watched.set_matched(state.publisher_gids());
        return Ok(());
    }
    let foreign = state.foreign_publishers();
    if foreign.is_empty() {
        return Ok(()); // wait for a publisher to learn type and QoS
    }
    let [type_text] = state.types.as_slice() else {
        if told.first(format!("type {topic}")) {
            tracing::warn!("{topic}: not one type in the graph; skipped");
        }
        return Ok(());
    };
    let Ok(type_name) = TypeName::parse(type_text) else {
        return Ok(());
    };
    let offered: Vec<rcl::QosProfile> = foreign.iter().map(|p| p.qos).collect();
    let qos = recording_qos(&offered);
    let subscription = match shared.subscription(topic, &type_name, qos) {
        Ok(s) => s,
        Err(e) => {
            if told.first(format!("sub {topic}")) {
                tracing::warn!("{topic}: {e:#}; skipped");
            }
            return Ok(());
        }
    };
    tracing::info!("recording {topic} ({type_text}, {})", describe_qos(&qos));
    let meta = TopicMeta {
        name: topic.to_string(),
        type_name: type_text.clone(),
        definition: embedded_definition(registry, &type_name, topic, told),
        offered_qos: offered.iter().map(crate::ros::qos::policies).collect(),
        type_hash: foreign
            .iter()
            .find_map(|p| p.type_hash.clone())
            .unwrap_or_default(),
    };
    if tx.send(ToWriter::Topic(meta)).is_err() {
        anyhow::bail!("the bag writer stopped");
    }
    let mut watched = WatchedSubscription::new(subscription, qos);
    watched.set_matched(state.publisher_gids());
    subscribed.push(Subscribed {
        topic: Arc::from(topic),
        type_name,
        watched,
    });
    Ok(())
}

/// What the publishers offer, with a keep-all history when reliable (the
/// taker waiting holds the publishers back) and a deep one otherwise.
fn recording_qos(offered: &[rcl::QosProfile]) -> rcl::QosProfile {
    let mut qos = auto_subscription_qos(offered);
    if qos.reliability == rcl::Reliability::RMW_QOS_POLICY_RELIABILITY_RELIABLE {
        qos.history = History::RMW_QOS_POLICY_HISTORY_KEEP_ALL;
    } else {
        qos.history = History::RMW_QOS_POLICY_HISTORY_KEEP_LAST;
        qos.depth = RECORD_DEPTH;
    }
    qos
}

/// The type's concatenated definition, or empty (said once) when the
/// registry does not have it.
fn embedded_definition(
    registry: &TypeRegistry,
    type_name: &TypeName,
    topic: &str,
    told: &SayOnce,
) -> String {
    registry
        .concatenated_definition(type_name)
        .unwrap_or_else(|e| {
            if told.first(format!("def {topic}")) {
                tracing::warn!("{topic}: {e}; recorded without an embedded definition");
            }
            String::new()
        })
}
