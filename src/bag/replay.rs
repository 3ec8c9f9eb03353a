//! A bag straight into a dora dataflow: the bridge, with `replay:` in its
//! config, emits the recorded messages of its `from_ros` routes as its
//! outputs, in the same Arrow layout and with the same metadata as live
//! traffic, then exits 0 so that downstream nodes see their inputs close
//! (`Stop(AllInputsClosed)`). No ROS middleware is started; types the ROS
//! installation lacks come from the definitions embedded in the bag.

use super::{Bag, BagMessage};
use crate::codec::{CodecOptions, MessageCodec};
use crate::config::{Config, Replay, ReplayTiming, TopicSelector};
use crate::dora_side::{META_RECEIVED_TIMESTAMP, META_SOURCE_TIMESTAMP, META_TOPIC, META_TYPE};
use crate::msg::TypeName;
use crate::throttle::RateLimiter;
use anyhow::Context;
use arrow::array::{Array, ArrayRef};
use dora_node_api::dora_core::config::DataId;
use dora_node_api::{DoraNode, Event, EventStream, MetadataParameters, Parameter};
use futures::StreamExt;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::signal::unix::{SignalKind, signal};

/// After the last message, how long to stay before exiting (see `run`).
const END_DRAIN: Duration = Duration::from_millis(500);

/// Metadata key: the bag a replayed message came from.
pub const META_BAG: &str = "ros_bag";

/// Why a replay ended (without an error).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ReplayEnd {
    EndOfBag,
    Signal(&'static str),
    StoppedByDora,
}

impl std::fmt::Display for ReplayEnd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReplayEnd::EndOfBag => write!(f, "end of the bag"),
            ReplayEnd::Signal(name) => write!(f, "{name}"),
            ReplayEnd::StoppedByDora => write!(f, "stopped by dora"),
        }
    }
}

/// Which output a topic goes to, per the `from_ros` routes.
struct RouteMatch {
    /// Index of the `from_ros` route.
    index: usize,
    output: DataId,
    options: CodecOptions,
}

pub async fn run(
    config: &Config,
    replay: &Replay,
    mut node: DoraNode,
    mut events: EventStream,
) -> anyhow::Result<()> {
    let bag = Bag::open(&replay.bag)?;
    let registry = bag.type_registry();
    let mut routes: HashMap<String, RouteMatch> = HashMap::new();
    for topic in &bag.topics {
        let route = config
            .from_ros
            .iter()
            .enumerate()
            .find(|(_, r)| r.source.matches(&topic.name));
        if let Some((index, route)) = route {
            routes.insert(
                topic.name.clone(),
                RouteMatch {
                    index,
                    output: DataId::from(route.output.clone()),
                    options: CodecOptions {
                        bytes_as_binary: route.bytes_as_binary,
                    },
                },
            );
        }
    }
    for (i, route) in config.from_ros.iter().enumerate() {
        if let TopicSelector::Topic(topic) = &route.source
            && bag.topic(topic).is_none()
        {
            tracing::warn!(
                "from_ros[{i}]: topic {topic} is not in the bag (it has: {})",
                bag.topic_names()
            );
        }
    }
    tracing::info!(
        "replaying {} ({:?}, {} topic(s) routed of {}), timing {:?} at rate {}",
        bag.path.display(),
        bag.storage,
        routes.len(),
        bag.topics.len(),
        replay.timing,
        replay.rate
    );

    // Read on a thread (storage I/O blocks), a few messages ahead.
    let (tx, mut rx) = tokio::sync::mpsc::channel::<anyhow::Result<BagMessage>>(8);
    let reader_bag = bag.clone();
    let wanted: Vec<String> = routes.keys().cloned().collect();
    std::thread::Builder::new()
        .name("bag-reader".into())
        .spawn(move || {
            for message in reader_bag.messages(|t| wanted.iter().any(|w| w == t)) {
                if tx.blocking_send(message).is_err() {
                    return;
                }
            }
        })
        .context("cannot start the bag reader thread")?;

    let mut sigint = signal(SignalKind::interrupt()).context("cannot install SIGINT handler")?;
    let mut sigterm = signal(SignalKind::terminate()).context("cannot install SIGTERM handler")?;
    tokio::time::sleep(replay.start_delay).await;
    let limiter = RateLimiter::new(Duration::from_secs(5));
    // Bags of images need a pool as much as live cameras do.
    let mut shm_pool = crate::dora_side::ShmPoolAdvisor::new(&node);
    shm_pool.warm_up(&mut node);
    let bag_name = Parameter::String(bag.path.display().to_string());
    let mut numbering = crate::dora_side::OutputNumbering::new(
        node.id().as_ref(),
        config.from_ros.iter().map(|r| r.output.as_str()),
    );
    let mut codecs: HashMap<Arc<str>, Option<MessageCodec>> = HashMap::new();
    let mut first: Option<(u64, tokio::time::Instant)> = None;
    let (mut sent, mut errors) = (0u64, 0u64);
    let outcome: anyhow::Result<ReplayEnd> = loop {
        let message = tokio::select! {
            biased;
            _ = sigint.recv() => break Ok(ReplayEnd::Signal("SIGINT")),
            _ = sigterm.recv() => break Ok(ReplayEnd::Signal("SIGTERM")),
            event = events.next() => match event {
                None | Some(Event::Stop(_)) => break Ok(ReplayEnd::StoppedByDora),
                _ => continue,
            },
            message = rx.recv() => match message {
                None => break Ok(ReplayEnd::EndOfBag),
                Some(Err(e)) => break Err(e),
                Some(Ok(m)) => m,
            },
        };
        if replay.timing == ReplayTiming::Recorded {
            let (t0, w0) = *first.get_or_insert((message.log_time_ns, tokio::time::Instant::now()));
            let offset = message.log_time_ns.saturating_sub(t0) as f64 / replay.rate;
            let due = w0 + Duration::from_nanos(offset as u64);
            // Keep answering dora while waiting.
            let stop = loop {
                tokio::select! {
                    biased;
                    _ = sigint.recv() => break Some(ReplayEnd::Signal("SIGINT")),
                    _ = sigterm.recv() => break Some(ReplayEnd::Signal("SIGTERM")),
                    event = events.next() => {
                        if matches!(event, None | Some(Event::Stop(_))) {
                            break Some(ReplayEnd::StoppedByDora);
                        }
                    }
                    _ = tokio::time::sleep_until(due) => break None,
                }
            };
            if let Some(why) = stop {
                break Ok(why);
            }
        }
        let Some(route) = routes.get(&*message.topic) else {
            continue;
        };
        let codec = codecs.entry(message.topic.clone()).or_insert_with(|| {
            let codec = TypeName::parse(&message.type_name)
                .map_err(anyhow::Error::msg)
                .and_then(|name| Ok(MessageCodec::new(&registry, &name, route.options)?));
            match codec {
                Ok(c) => Some(c),
                Err(e) => {
                    tracing::error!(
                        "{}: type {} is neither installed nor embedded in the bag ({e:#}); its messages are skipped",
                        message.topic,
                        message.type_name
                    );
                    None
                }
            }
        });
        let Some(codec) = codec else {
            errors += 1;
            continue;
        };
        match codec.decode(&message.data) {
            Ok(array) => {
                let mut params = MetadataParameters::default();
                params.insert(
                    META_TOPIC.into(),
                    Parameter::String(message.topic.to_string()),
                );
                params.insert(
                    META_TYPE.into(),
                    Parameter::String(message.type_name.to_string()),
                );
                let recorded = message.log_time_ns.min(i64::MAX as u64) as i64;
                params.insert(META_RECEIVED_TIMESTAMP.into(), Parameter::Integer(recorded));
                params.insert(
                    META_SOURCE_TIMESTAMP.into(),
                    Parameter::Integer(
                        message
                            .publish_time_ns
                            .map_or(recorded, |t| t.min(i64::MAX as u64) as i64),
                    ),
                );
                params.insert(META_BAG.into(), bag_name.clone());
                numbering.stamp(route.index, &mut params, 1);
                shm_pool.check(
                    route.output.as_ref(),
                    &message.topic,
                    array.get_array_memory_size(),
                );
                let array: ArrayRef = Arc::new(array);
                match node.send_output(route.output.clone(), params, array) {
                    Ok(()) => sent += 1,
                    Err(e) => {
                        errors += 1;
                        limiter
                            .warn(|| format!("cannot send to dora output `{}`: {e}", route.output));
                    }
                }
            }
            Err(e) => {
                errors += 1;
                limiter.warn(|| {
                    format!(
                        "{}: skipped a malformed {} message in the bag: {e}",
                        message.topic, message.type_name
                    )
                });
            }
        }
    };
    if matches!(outcome, Ok(ReplayEnd::EndOfBag)) {
        // Seen: dora can lose the last messages of a node that exits right
        // after sending them. Give them a moment to be delivered.
        let drain = tokio::time::sleep(END_DRAIN);
        tokio::pin!(drain);
        loop {
            tokio::select! {
                _ = &mut drain => break,
                event = events.next() => {
                    if matches!(event, None | Some(Event::Stop(_))) {
                        break;
                    }
                }
            }
        }
    }
    match outcome {
        Ok(why) => {
            tracing::info!("replay done ({why}): {sent} message(s) sent, {errors} skipped");
            Ok(())
        }
        Err(e) => {
            tracing::error!("replay ended after {sent} message(s): {e:#}");
            Err(e)
        }
    }
}
