//! `ros2-dora-bridge bag play`: a bag onto ROS topics, with the recorded
//! timing (scaled by `--rate`) and the recorded QoS (a latched topic stays
//! latched), publishing the stored CDR as is.

use super::Bag;
use crate::codec::{CodecOptions, MessageCodec};
use crate::config::{QosProfileConfig, QosSetting};
use crate::msg::{TypeName, TypeRegistry};
use crate::ros::clock::ClockPublisher;
use crate::ros::rcl;
use crate::ros::{Publisher, RosSide};
use anyhow::{Context, bail};
use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

pub struct PlayOptions {
    pub bag: PathBuf,
    pub rate: f64,
    pub loop_forever: bool,
    /// Skip this much of the recording's start.
    pub start_offset: Duration,
    /// Only these topics (all when empty).
    pub topics: Vec<String>,
    /// `from:=to` topic renames.
    pub remap: Vec<(String, String)>,
    /// Wait this long after advertising before the first message, so
    /// subscribers can match (DDS discovery).
    pub delay: Duration,
    /// Before playing, wait (up to 30 s) until every played topic has a
    /// subscriber, so nothing is published into the void.
    pub wait_for_subscribers: bool,
    /// Publish `/clock` from the bag's time this many times a second.
    pub clock_hz: Option<f64>,
    pub rcl_args: Vec<String>,
}

const SUBSCRIBER_WAIT: Duration = Duration::from_secs(30);

/// Parses `--remap /from:=/to`.
pub fn parse_remap(text: &str) -> Result<(String, String), String> {
    match text.split_once(":=") {
        Some((from, to)) if !from.is_empty() && !to.is_empty() => {
            Ok((from.to_string(), to.to_string()))
        }
        _ => Err(format!("`{text}` is not a remapping; use /from:=/to")),
    }
}

fn qos_for(offered: QosProfileConfig) -> rcl::QosProfile {
    let latched_or_lossy = offered.is_best_effort() || offered.is_transient_local();
    let mut qos = crate::ros::qos::profile(&QosSetting::Custom(offered));
    qos.depth = qos.depth.max(1);
    if !latched_or_lossy {
        // A reliable writer drops what is not yet acknowledged once its
        // history is full: give slow subscribers (a recorder writing to
        // disk) room to catch up. Latched topics keep their recorded depth,
        // which is what late joiners receive.
        qos.depth = qos.depth.max(RELIABLE_PLAY_DEPTH);
    }
    qos
}

/// History depth `bag play` gives reliable, volatile topics: room for a
/// burst between acknowledgement waits (one wait per half of it).
const RELIABLE_PLAY_DEPTH: usize = 1000;

/// A reliable topic also waits once this much is unacknowledged, so that
/// a bag of images keeps no more than this in its writer's history.
const UNACKED_BYTES: usize = 64 << 20;

/// How long a reliable topic waits for its subscribers' acknowledgements
/// before it plays on regardless (the loss then said at the end).
const ACK_WAIT: Duration = Duration::from_secs(2);

/// A topic being played.
struct Played {
    publisher: Publisher,
    /// Reliable topics: wait for every subscriber's acknowledgements after
    /// this many messages (half the history), so that a burst never
    /// overwrites what a subscriber has not taken: `--rate` is then a
    /// ceiling. None for best-effort topics.
    ack_every: Option<usize>,
    since_ack: usize,
    bytes_since_ack: usize,
    /// Waits that ran out: messages may have been overwritten unseen.
    unconfirmed: u64,
}

impl Played {
    fn new(publisher: Publisher, qos: &rcl::QosProfile) -> Self {
        let reliable = qos.reliability != rcl::Reliability::RMW_QOS_POLICY_RELIABILITY_BEST_EFFORT;
        Played {
            publisher,
            ack_every: reliable.then(|| (qos.depth / 2).max(1)),
            since_ack: 0,
            bytes_since_ack: 0,
            unconfirmed: 0,
        }
    }

    fn publish(&mut self, cdr: &[u8]) -> anyhow::Result<()> {
        if let Some(every) = self.ack_every
            && (self.since_ack >= every || self.bytes_since_ack >= UNACKED_BYTES)
        {
            self.since_ack = 0;
            self.bytes_since_ack = 0;
            if !self.publisher.wait_for_all_acked(ACK_WAIT) {
                self.unconfirmed += 1;
            }
        }
        self.publisher.publish_cdr(cdr)?;
        self.since_ack += 1;
        self.bytes_since_ack += cdr.len();
        Ok(())
    }
}

pub fn play(options: PlayOptions) -> anyhow::Result<()> {
    if !(options.rate > 0.0 && options.rate.is_finite()) {
        bail!("--rate must be a positive number, got {}", options.rate);
    }
    let bag = Bag::open(&options.bag)?;
    let selected: Vec<&super::TopicInfo> = bag
        .topics
        .iter()
        .filter(|t| options.topics.is_empty() || options.topics.contains(&t.name))
        .collect();
    for wanted in &options.topics {
        if bag.topic(wanted).is_none() {
            bail!(
                "topic {wanted} is not in the bag (it has: {})",
                bag.topic_names()
            );
        }
    }
    let registry = bag.type_registry();

    let stop = stop_on_signals()?;
    let ros = RosSide::start(
        &options.rcl_args,
        "bag_player",
        "/",
        registry.prefixes().to_vec(),
        false,
    )?;
    let mut publishers = advertise_all(&ros, &registry, &selected, &options)?;
    let mut clock = match options.clock_hz {
        Some(hz) if !(hz > 0.0 && hz.is_finite()) => {
            bail!("--clock must be a positive rate in Hz, got {hz}")
        }
        Some(hz) => Some(ClockPublisher::advertise(&ros, &registry, hz)?),
        None => None,
    };
    if options.wait_for_subscribers {
        wait_for_subscribers(&publishers, &stop);
    }
    wait_or_stop(options.delay, &stop);

    let total_ns = bag.duration_ns;
    let mut pass = 0u64;
    let outcome = loop {
        pass += 1;
        let result = play_once(
            &bag,
            &options,
            &mut publishers,
            clock.as_mut(),
            &stop,
            total_ns,
        );
        match result {
            Ok(true) if options.loop_forever && !stop.load(Ordering::Relaxed) => continue,
            Ok(_) => break Ok(()),
            Err(e) => break Err(e),
        }
    };
    eprintln!();
    // Reliable subscribers get the last messages before the publishers go.
    for (topic, p) in &mut publishers {
        if !p.publisher.wait_for_all_acked(ACK_WAIT) {
            p.unconfirmed += 1;
        }
        if p.unconfirmed > 0 {
            tracing::warn!(
                "{topic}: a subscriber did not acknowledge within {ACK_WAIT:?} ({} time(s)): \
                 messages may not have reached it",
                p.unconfirmed
            );
        }
    }
    if pass > 1 {
        tracing::info!("{pass} passes");
    }
    drop(publishers);
    drop(ros);
    outcome
}

/// A publisher per selected topic; a topic whose type cannot be published
/// here is skipped (like `ros2 bag play`), unless it was asked for by name.
fn advertise_all(
    ros: &RosSide,
    registry: &TypeRegistry,
    selected: &[&super::TopicInfo],
    options: &PlayOptions,
) -> anyhow::Result<HashMap<String, Played>> {
    let mut publishers: HashMap<String, Played> = HashMap::new();
    for topic in selected {
        match advertise(ros, registry, topic, options) {
            Ok(publisher) => {
                publishers.insert(topic.name.clone(), publisher);
            }
            Err(e) if options.topics.is_empty() => {
                tracing::warn!("skipping {}: {e:#}", topic.name);
            }
            Err(e) => return Err(e),
        }
    }
    if publishers.is_empty() {
        bail!("nothing to play: no topic of the bag can be published here");
    }
    Ok(publishers)
}

/// `--wait-for-subscribers`: until each topic has one, SUBSCRIBER_WAIT at most.
fn wait_for_subscribers(publishers: &HashMap<String, Played>, stop: &AtomicBool) {
    let deadline = Instant::now() + SUBSCRIBER_WAIT;
    while publishers
        .values()
        .any(|p| p.publisher.subscription_count() == 0)
        && Instant::now() < deadline
        && !stop.load(Ordering::Relaxed)
    {
        std::thread::sleep(Duration::from_millis(20));
    }
    for (topic, p) in publishers {
        if p.publisher.subscription_count() == 0 {
            tracing::warn!("{topic}: no subscriber after {SUBSCRIBER_WAIT:?}; playing anyway");
        }
    }
}

fn advertise(
    ros: &RosSide,
    registry: &TypeRegistry,
    topic: &super::TopicInfo,
    options: &PlayOptions,
) -> anyhow::Result<Played> {
    let name = TypeName::parse(&topic.type_name)?;
    let codec = MessageCodec::new(registry, &name, CodecOptions::default())
        .with_context(|| format!("{}: type {}", topic.name, topic.type_name))?;
    let target = options
        .remap
        .iter()
        .find(|(from, _)| *from == topic.name)
        .map_or(topic.name.as_str(), |(_, to)| to.as_str());
    let target = ros.resolve_topic(target)?;
    let qos = qos_for(topic.replay_qos());
    let publisher = ros.advertise(&target, codec, qos).with_context(|| {
        format!(
            "cannot publish {} (playing onto ROS needs its installed type support)",
            topic.type_name
        )
    })?;
    tracing::info!(
        "{} -> {target} ({}, {})",
        topic.name,
        topic.type_name,
        crate::ros::graph::describe_qos(&qos)
    );
    Ok(Played::new(publisher, &qos))
}

/// One pass over the bag; `Ok(true)` when it reached the end.
fn play_once(
    bag: &Bag,
    options: &PlayOptions,
    publishers: &mut HashMap<String, Played>,
    mut clock: Option<&mut ClockPublisher>,
    stop: &AtomicBool,
    total_ns: Option<u64>,
) -> anyhow::Result<bool> {
    let mut start: Option<(u64, Instant)> = None;
    let (mut count, mut errors) = (0u64, 0u64);
    let mut last_progress = Instant::now();
    let mut first_time = bag.starting_time_ns;
    let offset_ns = options.start_offset.as_nanos() as u64;
    let played: std::collections::HashSet<String> = publishers.keys().cloned().collect();
    for message in bag.messages(move |t| played.contains(t)) {
        if stop.load(Ordering::Relaxed) {
            return Ok(false);
        }
        let message = message?;
        let recording_start = *first_time.get_or_insert(message.log_time_ns);
        if message.log_time_ns < recording_start + offset_ns {
            continue;
        }
        let (t0, w0) = *start.get_or_insert((message.log_time_ns, Instant::now()));
        let due = w0
            + Duration::from_nanos(
                (message.log_time_ns.saturating_sub(t0) as f64 / options.rate) as u64,
            );
        let ticking = clock.as_deref_mut().map(|c| (c, (t0, w0), options.rate));
        if !wait_until_ticking(due, stop, ticking) {
            return Ok(false);
        }
        if let Some(played) = publishers.get_mut(&*message.topic) {
            match played.publish(&message.data) {
                Ok(()) => count += 1,
                Err(e) => {
                    errors += 1;
                    if errors <= 3 {
                        tracing::warn!("{}: publish failed: {e}", message.topic);
                    }
                }
            }
        }
        if last_progress.elapsed() >= Duration::from_millis(500) {
            last_progress = Instant::now();
            progress(message.log_time_ns - recording_start, total_ns, count, w0);
        }
    }
    if let Some((_, w0)) = start {
        progress(total_ns.unwrap_or(0), total_ns, count, w0);
    }
    Ok(true)
}

fn progress(elapsed_ns: u64, total_ns: Option<u64>, count: u64, wall_start: Instant) {
    let wall = wall_start.elapsed().as_secs_f64().max(1e-9);
    let total = total_ns.map_or("?".to_string(), |t| format!("{:.1}", t as f64 / 1e9));
    eprint!(
        "\r[bag play] {:.1} / {total} s, {count} messages, {:.1} msg/s   ",
        elapsed_ns as f64 / 1e9,
        count as f64 / wall
    );
    let _ = std::io::stderr().flush();
}

/// Sleeps until `due` in short steps so a signal stops it; false if stopped.
fn wait_until(due: Instant, stop: &AtomicBool) -> bool {
    loop {
        if stop.load(Ordering::Relaxed) {
            return false;
        }
        let now = Instant::now();
        if now >= due {
            return true;
        }
        std::thread::sleep((due - now).min(Duration::from_millis(50)));
    }
}

/// The bag time playback is at now, from where it started and the rate.
fn bag_time_at(start: (u64, Instant), rate: f64) -> i64 {
    let (t0, w0) = start;
    let bag_ns = t0 + (w0.elapsed().as_nanos() as f64 * rate) as u64;
    bag_ns.min(i64::MAX as u64) as i64
}

/// [`wait_until`], publishing `/clock` meanwhile (`--clock`).
fn wait_until_ticking(
    due: Instant,
    stop: &AtomicBool,
    clock: Option<(&mut ClockPublisher, (u64, Instant), f64)>,
) -> bool {
    let Some((clock, start, rate)) = clock else {
        return wait_until(due, stop);
    };
    loop {
        let next_tick = clock.publish_due(bag_time_at(start, rate));
        if next_tick >= due {
            return wait_until(due, stop);
        }
        if !wait_until(next_tick, stop) {
            return false;
        }
    }
}

fn wait_or_stop(d: Duration, stop: &AtomicBool) {
    wait_until(Instant::now() + d, stop);
}

/// A flag set by SIGINT or SIGTERM, so playback stops between messages and
/// the publishers leave the ROS graph cleanly.
pub fn stop_on_signals() -> anyhow::Result<Arc<AtomicBool>> {
    use tokio::signal::unix::{SignalKind, signal};
    let stop = Arc::new(AtomicBool::new(false));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the signal thread's runtime")?;
    let (mut sigint, mut sigterm) = runtime.block_on(async {
        Ok::<_, std::io::Error>((
            signal(SignalKind::interrupt())?,
            signal(SignalKind::terminate())?,
        ))
    })?;
    let flag = stop.clone();
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            runtime.block_on(async {
                tokio::select! {
                    _ = sigint.recv() => {}
                    _ = sigterm.recv() => {}
                }
            });
            flag.store(true, Ordering::Relaxed);
        })
        .context("cannot start the signal thread")?;
    Ok(stop)
}
