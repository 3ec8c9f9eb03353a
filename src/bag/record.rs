//! `ros2-dora-bridge bag record`: ROS topics into a rosbag2 bag (MCAP
//! storage plus the `metadata.yaml` that `ros2 bag info` and `rosbags`
//! read), with the publishers' offered QoS and the message definitions
//! embedded.
//!
//! The subscriptions are the bridge's own receiver (`ros::receiver`: types
//! and QoS learned from the graph, wedged readers replaced, topics of
//! publishers that left retired, graph work sliced), feeding a
//! [`BagSink`] instead of dora. The writer runs on a thread of its own;
//! between them a bounded channel, and when it is full the receiver waits
//! rather than dropping: everything taken is written. A reliable topic is
//! read with a keep-all history, so that the wait holds its publishers
//! back through DDS flow control. What DDS loses anyway (jumps in a
//! publisher's sequence numbers, or `MESSAGE_LOST` where the RMW does not
//! number samples) is counted and printed.

use super::writer::{BagWriter, SplitLimits, TopicMeta};
use crate::clock::RosClock;
use crate::codec::CodecOptions;
use crate::config::QosSetting;
use crate::msg::{TypeName, TypeRegistry};
use crate::ros::RosSide;
use crate::ros::rcl::Taken;
use crate::ros::receiver::{FromRosRoute, Receiver};
use crate::ros::sink::{NewTopic, Sample, Sink, SinkGone, SinkTopic};
use crate::stats::RouteStats;
use crate::throttle::SayOnce;
use crate::topics::TopicMatcher;
use anyhow::Context;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver as Channel, SyncSender};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

pub struct RecordOptions {
    pub output: PathBuf,
    /// Named topics, a pattern, every topic ([`record_all`]).
    pub topics: TopicMatcher,
    /// Stop after this long.
    pub duration: Option<Duration>,
    /// When to start the next storage file.
    pub split: SplitLimits,
    /// MCAP chunk compression.
    pub compression: crate::config::BagCompression,
    /// Stamp with ROS time from /clock (as `-p use_sim_time:=true`).
    pub use_sim_time: bool,
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
/// for bursts while the receiver waits for the disk.
const RECORD_DEPTH: usize = 100;
/// Messages in flight between the receiver and the writer.
const WRITE_QUEUE: usize = 256;
/// How often the recorder looks at its stop conditions.
const STOP_POLL: Duration = Duration::from_millis(50);

enum ToWriter {
    Topic(TopicMeta),
    Message {
        topic: Arc<str>,
        log_time_ns: u64,
        publish_time_ns: u64,
        data: Vec<u8>,
    },
}

pub fn record(options: RecordOptions, stop: Arc<AtomicBool>) -> anyhow::Result<()> {
    if options.topics.is_empty() {
        anyhow::bail!("say what to record: topics, --regex RE, or --all");
    }
    let registry = Arc::new(TypeRegistry::from_environment());
    let writer = BagWriter::create_with(&options.output, options.split, options.compression)?;
    let mut ros = RosSide::start(
        &options.rcl_args,
        "bag_recorder",
        "/",
        registry.prefixes().to_vec(),
        options.use_sim_time,
    )?;
    let (tx, rx) = std::sync::mpsc::sync_channel::<ToWriter>(WRITE_QUEUE);
    let writer_thread = spawn_writer(writer, rx)?;
    let stats = Arc::new(RouteStats::default());
    let route = FromRosRoute {
        target: options.topics.clone(),
        type_name: None,
        qos: QosSetting::Auto,
        options: CodecOptions::default(),
        stats: stats.clone(),
        label: "bag record".into(),
        reader_keeps_all: true,
        reader_depth: Some(RECORD_DEPTH),
    };
    let sink = BagSink {
        tx,
        clock: ros.clock().clone(),
        registry,
        told: SayOnce::default(),
    };
    let receiver = Receiver::new(ros.shared().clone(), vec![route], Box::new(sink));
    ros.spawn_receiver(receiver, || {})?;
    wait_for_the_end(&ros, &stop, options.duration);
    // Drops the subscriptions and the sink: the writer's channel closes.
    ros.stop_receiver();
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
        stats.dropped_by_middleware.load(Ordering::Relaxed)
    );
    Ok(())
}

fn spawn_writer(
    mut writer: BagWriter,
    rx: Channel<ToWriter>,
) -> anyhow::Result<JoinHandle<anyhow::Result<BagWriter>>> {
    std::thread::Builder::new()
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
        .context("cannot start the bag writer thread")
}

/// Until a signal, the `--duration`, or the receiver ending (the writer
/// failed: its error comes from the writer thread).
fn wait_for_the_end(ros: &RosSide, stop: &AtomicBool, duration: Option<Duration>) {
    let started = Instant::now();
    while !stop.load(Ordering::Relaxed)
        && duration.is_none_or(|limit| started.elapsed() < limit)
        && !ros.receiver_finished()
    {
        std::thread::sleep(STOP_POLL);
    }
}

/// The receiver's samples, as raw CDR, to the writer thread.
struct BagSink {
    tx: SyncSender<ToWriter>,
    clock: Arc<RosClock>,
    registry: Arc<TypeRegistry>,
    told: SayOnce,
}

impl BagSink {
    /// A message's log time: in sim time the ROS time at reception (as
    /// rosbag2 with `--use-sim-time`), otherwise rmw's reception stamp.
    fn log_time_ns(&self, received_ns: i64) -> u64 {
        let received = match self.clock.use_sim_time() {
            true => self.clock.now_ns(),
            false => received_ns,
        };
        u64::try_from(received)
            .ok()
            .filter(|t| *t > 0)
            .unwrap_or_else(|| self.clock.now_ns().max(0) as u64)
    }
}

impl Sink for BagSink {
    /// Never: the bytes are written out and the take buffer reused.
    fn adopt_from_bytes(&self) -> usize {
        usize::MAX
    }

    /// Always: a full channel blocks the receiver in `deliver`, which
    /// holds reliable publishers back.
    fn has_room(&self, _route: usize) -> bool {
        true
    }

    fn new_topic(&mut self, topic: &NewTopic<'_>) -> Result<SinkTopic, String> {
        let meta = TopicMeta {
            name: topic.topic.to_string(),
            type_name: topic.type_name.to_string(),
            definition: embedded_definition(
                &self.registry,
                topic.type_name,
                topic.topic,
                &self.told,
            ),
            offered_qos: topic
                .publishers
                .iter()
                .map(|p| crate::ros::qos::policies(&p.qos))
                .collect(),
            type_hash: topic
                .publishers
                .iter()
                .find_map(|p| p.type_hash.clone())
                .unwrap_or_default(),
        };
        self.tx
            .send(ToWriter::Topic(meta))
            .map_err(|_| "the bag writer stopped".to_string())?;
        Ok(SinkTopic(0))
    }

    fn deliver(&mut self, sample: Sample<'_>) -> Result<(), SinkGone> {
        let bytes = match sample.taken {
            Taken::Borrowed(bytes) => bytes.to_vec(),
            Taken::Adopted(buffer) => buffer.to_vec(),
        };
        let received = self.log_time_ns(sample.info.received_timestamp_ns);
        let message = ToWriter::Message {
            topic: sample.topic.clone(),
            log_time_ns: received,
            publish_time_ns: u64::try_from(sample.info.source_timestamp_ns).unwrap_or(0),
            data: bytes,
        };
        self.tx.send(message).map_err(|_| SinkGone)?;
        sample.stats.forwarded.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
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
