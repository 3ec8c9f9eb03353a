//! The bridge as a running dora node: builds the routes from the config,
//! then runs a thin event loop. Each source (signals, dora events, the
//! ROS receiver's messages, liveness reports, timers) becomes one
//! [`Input`]; [`Bridge::handle`] acts on it and says when to stop, with a
//! typed [`StopReason`]. Set-up and teardown have functions of their own.

mod reactions;
mod recording;
mod replay;
mod services;

use crate::admin::BridgeView;
use crate::admin::server::AdminServer;
use crate::bag::Bag;
use crate::bag::replay::BagSource;
use crate::codec::{CodecOptions, MessageCodec};
use crate::config::table::{Role, RouteKind};
use crate::config::{Config, OnLost};
use crate::dora_side;
use crate::dora_side::RouteSeen;
use crate::dora_side::delivery::TopicRoute;
use crate::flow::Received;
use crate::flow::queue::RouteQueues;
use crate::lifecycle::diagnostics::{DIAGNOSTIC_ARRAY, Diagnostics, Level};
use crate::lifecycle::liveness::{LivenessReport, LivenessWatch, ReportingWatch};
use crate::lifecycle::shutdown::{self, Launcher, ParentWatch};
use crate::msg::{TypeName, TypeRegistry};
use crate::ros::clock::ClockPublisher;
use crate::ros::receiver::Receiver;
use crate::ros::services::ServiceEvent;
use crate::ros::sink::QueueSink;
use crate::ros::tf_listener::TfListener;
use crate::ros::{self, RosSide};
use crate::routes::clock::ClockOutput;
use crate::routes::from_ros::FromRosRoutes;
use crate::routes::tf_lookup::TfRoutes;
use crate::routes::to_ros::ToRosRoutes;
use crate::stats::StatsTable;
use crate::tf::buffer::TransformBuffer;
use crate::throttle::RateLimiter;
use anyhow::Context;
use arrow::array::ArrayRef;
use dora_node_api::dora_core::config::DataId;
use dora_node_api::{DoraNode, Event, EventStream, MetadataParameters, StopCause};
use futures::StreamExt;
use replay::ReplayProgress;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::signal::unix::{Signal, SignalKind, signal};
use tokio::sync::mpsc::UnboundedReceiver;

/// After asking dora to stop the dataflow, how long to wait for the
/// `Stop` event before leaving anyway. ROS launch escalates to SIGTERM
/// after 5 s: be out before that.
const STOP_REQUEST_TIMEOUT: Duration = Duration::from_secs(4);
/// How often the bridge checks that its launcher is still there.
const PARENT_POLL: Duration = Duration::from_millis(200);
/// How often counters are sampled for rates and peers: the rate window
/// (`rates::RATE_WINDOW`) then holds five samples.
const SAMPLE_PERIOD: Duration = Duration::from_secs(1);
/// `diagnostic_updater`'s default period.
const DIAGNOSTICS_PERIOD: Duration = Duration::from_secs(1);
/// How often service calls are checked against their timeouts.
const SERVICE_TICK: Duration = Duration::from_millis(50);
/// After a dora node restarted, when latched messages go out again.
const LATCHED_RESENDS: [Duration; 3] = [
    Duration::from_millis(500),
    Duration::from_secs(2),
    Duration::from_secs(5),
];

pub struct RunOptions {
    pub config: Config,
    pub dynamic_id: Option<String>,
    /// Process arguments for rcl (`--ros-args ...`).
    pub rcl_args: Vec<String>,
}

/// Why the bridge stopped (without an error).
#[derive(Debug)]
pub enum StopReason {
    Signal(&'static str),
    /// A signal asked to stop the dataflow, and dora could not be asked.
    SignalStopFailed(&'static str, String),
    LauncherExited,
    DoraStopped(StopCause),
    DoraClosedEvents,
    /// The bridge asked dora to stop; dora did not answer in time.
    StopUnanswered,
    WatchedNodesGoneStopFailed(String),
    /// `replay:` read the whole bag (`at_end: exit`).
    EndOfBag,
    /// `replay.at_end: stop_dataflow`, and dora could not be asked.
    EndOfBagStopFailed(String),
}

impl std::fmt::Display for StopReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StopReason::Signal(name) => write!(f, "{name}"),
            StopReason::SignalStopFailed(name, e) => {
                write!(f, "{name}; could not stop the dataflow ({e})")
            }
            StopReason::LauncherExited => write!(f, "launcher exited"),
            StopReason::DoraStopped(StopCause::Manual) => {
                write!(f, "stopped by dora (manual stop)")
            }
            StopReason::DoraStopped(StopCause::AllInputsClosed) => write!(f, "all inputs closed"),
            StopReason::DoraStopped(_) => write!(f, "stopped by dora"),
            StopReason::DoraClosedEvents => write!(f, "dora closed the event stream"),
            StopReason::StopUnanswered => write!(f, "stop requested, dora did not answer"),
            StopReason::WatchedNodesGoneStopFailed(e) => {
                write!(f, "watched nodes gone; could not stop the dataflow ({e})")
            }
            StopReason::EndOfBag => write!(f, "end of the bag"),
            StopReason::EndOfBagStopFailed(e) => {
                write!(f, "end of the bag; could not stop the dataflow ({e})")
            }
        }
    }
}

/// What the loop acts on: one value per source.
enum Input {
    Signal(&'static str),
    StopTimeout,
    Dora(Option<Event>),
    Liveness(Option<LivenessReport>),
    FromRos(Vec<Received>),
    /// From the services thread; `None` once it stopped.
    Service(Option<ServiceEvent>),
    ServiceTick,
    /// The `clock` output's timer, at this ROS time; `None` once it stopped.
    ClockTick(Option<i64>),
    /// `tf.streams[i]` is due.
    TfStream(usize),
    /// Latched messages go out again (a dora node restarted).
    ResendLatched,
    /// A message a route's `max_rate` held back may go.
    RateLimitDue,
    Replay(replay::ReplayEvent),
    SampleTick,
    StatsTick,
    DiagnosticsTick,
    LogTick,
    ParentTick,
}

/// `Some` ends the loop: a stop reason, or the error to exit with.
type Verdict = Option<anyhow::Result<StopReason>>;

struct Signals {
    interrupt: Signal,
    terminate: Signal,
}

struct Timers {
    /// Counters sampled for rates and peers (and the admin view).
    sample: tokio::time::Interval,
    stats: tokio::time::Interval,
    log: tokio::time::Interval,
    diagnostics: tokio::time::Interval,
    parent: tokio::time::Interval,
    services: tokio::time::Interval,
}

struct Bridge {
    config: Config,
    node: DoraNode,
    /// None for a replay that neither publishes nor serves on ROS.
    ros: Option<RosSide>,
    from_ros: FromRosRoutes,
    to_ros: ToRosRoutes,
    services: Option<services::Services>,
    queues: Arc<RouteQueues>,
    stats: StatsTable,
    diagnostics: Option<Diagnostics>,
    recording: Option<recording::Recording>,
    /// With `replay:`: the bag's progress.
    replay: Option<ReplayProgress>,
    liveness_reports: UnboundedReceiver<LivenessReport>,
    liveness_open: bool,
    launcher: Launcher,
    parent: ParentWatch,
    dataflow_id: String,
    /// Set once the bridge asked dora to stop the dataflow: leave by then.
    stop_requested: Option<tokio::time::Instant>,
    limiter: RateLimiter,
    timers: Timers,
    /// Which kind of route reads each dora input (from the route table).
    input_routes: HashMap<DataId, RouteKind>,
    /// `clock:`: the output and its ticks.
    clock: Option<ClockTicks>,
    /// `tf:`: lookups and streams.
    tf: Option<TfRoutes>,
    /// When to send latched messages again after a dora node restarted.
    latched_resends: Vec<tokio::time::Instant>,
    /// `admin:`: the live view's endpoint.
    admin: Option<AdminServer>,
    /// Lossless-delivery advice for topic routes, said once sized.
    advice: dora_side::AdviceOnSize,
    started: std::time::Instant,
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
    let mut signals = Signals {
        interrupt: signal(SignalKind::interrupt()).context("cannot install SIGINT handler")?,
        terminate: signal(SignalKind::terminate()).context("cannot install SIGTERM handler")?,
    };
    let (node, mut events) = dora_side::connect(dynamic_id.as_deref())?;
    dora_side::check_against_dataflow(&node, &config)?;
    let advice = dora_side::AdviceOnSize::new(dora_side::warn_lossy_delivery(&node, &config));
    let mut bridge = Bridge::set_up(config, &rcl_args, node)?;
    bridge.advice = advice;
    let outcome = bridge.event_loop(&mut events, &mut signals).await;
    bridge.tear_down(outcome)
}

impl Bridge {
    fn set_up(config: Config, rcl_args: &[String], mut node: DoraNode) -> anyhow::Result<Self> {
        let bag = config
            .replay
            .as_ref()
            .map(|r| Bag::open(&r.bag))
            .transpose()?;
        // A bag brings the definitions of types the installation lacks.
        let registry = Arc::new(match &bag {
            Some(bag) => bag.type_registry(),
            None => TypeRegistry::from_environment(),
        });
        let mut ros = match needs_ros(&config) {
            true => Some(start_ros(&config, rcl_args, &node, &registry)?),
            false => None,
        };
        let mut stats = StatsTable::default();
        let (to_ros, own_topics) = match &ros {
            Some(ros) => ToRosRoutes::build(&config, ros, &registry, &mut stats)?,
            None => Default::default(),
        };
        let live_ros = ros.as_ref().filter(|_| bag.is_none());
        let (from_ros, plan) =
            FromRosRoutes::build(&config, live_ros, &registry, &node, &own_topics, &mut stats)?;
        let queues = RouteQueues::new(plan.lanes);
        let (liveness_tx, liveness_reports) = tokio::sync::mpsc::unbounded_channel();
        let source = Source {
            routes: plan.routes,
            queues: queues.clone(),
            registry: registry.clone(),
        };
        let replay = start_source(&config, source, bag, ros.as_mut(), liveness_tx)?;
        let services = match &ros {
            Some(ros) => services::Services::set_up(&config, ros, &registry, &node, &mut stats)?,
            None => None,
        };
        let recording = match &config.record {
            Some(section) => Some(recording::start(section, &config, &to_ros, &registry)?),
            None => None,
        };
        let diagnostics = match &ros {
            Some(ros) => start_diagnostics(&config, ros, &registry, &node)?,
            None => None,
        };
        let (clock, tf) = match &ros {
            Some(ros) => start_time_and_tf(&config, ros, &registry, &mut stats)?,
            None => (None, None),
        };
        let admin = config
            .admin
            .as_ref()
            .map(|a| AdminServer::start(&a.listen))
            .transpose()?;
        warn_without_keepalive(&config, &node);
        let launcher = shutdown::detect_launcher();
        let parent = ParentWatch::new();
        shutdown::terminate_with_parent();
        tracing::debug!("launched by {launcher:?}");
        from_ros.warm_up(&mut node);
        log_routes(&config);
        Ok(Bridge {
            timers: Timers::new(&config),
            input_routes: input_routes(&config),
            liveness_open: config.liveness.is_some(),
            dataflow_id: node.dataflow_id().to_string(),
            config,
            node,
            ros,
            from_ros,
            to_ros,
            services,
            queues,
            stats,
            diagnostics,
            recording,
            replay,
            liveness_reports,
            launcher,
            parent,
            stop_requested: None,
            limiter: RateLimiter::new(Duration::from_secs(5)),
            clock,
            tf,
            latched_resends: Vec::new(),
            admin,
            advice: dora_side::AdviceOnSize::new(Vec::new()),
            started: std::time::Instant::now(),
        })
    }

    async fn event_loop(
        &mut self,
        events: &mut EventStream,
        signals: &mut Signals,
    ) -> anyhow::Result<StopReason> {
        loop {
            let input = self.next_input(events, signals).await;
            if let Some(verdict) = self.handle(input) {
                return verdict;
            }
        }
    }

    /// Waits for the next thing to act on. `biased`: signals first.
    async fn next_input(&mut self, events: &mut EventStream, signals: &mut Signals) -> Input {
        let stop_deadline = self
            .stop_requested
            .unwrap_or_else(|| tokio::time::Instant::now() + Duration::from_secs(3600 * 24 * 365));
        let queues = self.queues.clone();
        let per_wake = self.from_ros.messages_per_wake();
        let has_stats_output = self.config.stats.output.is_some();
        let resend_at = self
            .latched_resends
            .first()
            .copied()
            .unwrap_or_else(tokio::time::Instant::now);
        let held_due = [self.from_ros.next_due(), self.to_ros.next_due()]
            .into_iter()
            .flatten()
            .min();
        let held_at =
            held_due.map_or_else(tokio::time::Instant::now, tokio::time::Instant::from_std);
        tokio::select! {
            biased;
            _ = signals.interrupt.recv() => Input::Signal("SIGINT"),
            _ = signals.terminate.recv() => Input::Signal("SIGTERM"),
            _ = tokio::time::sleep_until(stop_deadline), if self.stop_requested.is_some() => Input::StopTimeout,
            event = events.next() => Input::Dora(event),
            report = self.liveness_reports.recv(), if self.liveness_open => Input::Liveness(report),
            batch = queues.pop_batch(per_wake) => Input::FromRos(batch),
            event = services::Services::next_event(&mut self.services), if self.services.is_some() => Input::Service(event),
            _ = self.timers.services.tick(), if self.services.is_some() => Input::ServiceTick,
            tick = next_tick(&mut self.clock), if self.clock.is_some() => Input::ClockTick(tick),
            index = next_tf_stream(&mut self.tf), if self.tf.is_some() => Input::TfStream(index),
            _ = tokio::time::sleep_until(resend_at), if !self.latched_resends.is_empty() => Input::ResendLatched,
            _ = tokio::time::sleep_until(held_at), if held_due.is_some() => Input::RateLimitDue,
            event = ReplayProgress::next(&mut self.replay) => Input::Replay(event),
            _ = self.timers.sample.tick() => Input::SampleTick,
            _ = self.timers.stats.tick(), if has_stats_output => Input::StatsTick,
            _ = self.timers.diagnostics.tick(), if self.diagnostics.is_some() => Input::DiagnosticsTick,
            _ = self.timers.log.tick() => Input::LogTick,
            _ = self.timers.parent.tick() => Input::ParentTick,
        }
    }

    fn handle(&mut self, input: Input) -> Verdict {
        match input {
            Input::Signal(name) => self.on_signal(name),
            Input::StopTimeout => {
                tracing::warn!(
                    "no Stop from dora {STOP_REQUEST_TIMEOUT:?} after asking for it; leaving anyway"
                );
                Some(Ok(StopReason::StopUnanswered))
            }
            Input::Dora(None) => Some(Ok(StopReason::DoraClosedEvents)),
            Input::Dora(Some(event)) => self.on_dora_event(event),
            Input::Liveness(None) => {
                self.liveness_open = false;
                None
            }
            Input::Liveness(Some(report)) => self.on_liveness(&report),
            Input::FromRos(batch) if batch.is_empty() => {
                // Closed: only the receiver closes the queues while we run.
                Some(Err(anyhow::anyhow!(
                    "the ROS receiver stopped unexpectedly"
                )))
            }
            Input::FromRos(batch) => {
                self.from_ros.send(&mut self.node, batch);
                None
            }
            Input::Service(None) => Some(Err(anyhow::anyhow!(
                "the ROS services thread stopped unexpectedly"
            ))),
            Input::Service(Some(event)) => {
                if let Some(services) = &mut self.services {
                    services.on_event(&mut self.node, event);
                }
                None
            }
            Input::ServiceTick => {
                if let Some(services) = &mut self.services {
                    services.on_tick(&mut self.node);
                }
                None
            }
            Input::RateLimitDue => {
                self.from_ros.send_due(&mut self.node);
                self.to_ros.publish_due();
                None
            }
            Input::ResendLatched | Input::TfStream(_) | Input::ClockTick(_) => {
                self.on_time_input(input);
                None
            }
            Input::Replay(event) => self.on_replay(event),
            Input::SampleTick => {
                self.to_ros.count_subscribers();
                self.stats.sample(std::time::Instant::now());
                self.say_sized_advice();
                if let Some(admin) = &self.admin {
                    admin.publish(self.view());
                }
                None
            }
            Input::StatsTick => {
                self.send_stats();
                None
            }
            Input::DiagnosticsTick => {
                self.publish_health(Level::Ok, "bridging");
                None
            }
            Input::LogTick => {
                self.stats.log_changes();
                self.to_ros.flush_suppressed_warnings();
                None
            }
            Input::ParentTick if self.parent.parent_gone() => {
                tracing::warn!("the process that launched the bridge is gone");
                Some(Ok(StopReason::LauncherExited))
            }
            Input::ParentTick => None,
        }
    }

    /// The clock output's ticks, TF streams, latched resends.
    fn on_time_input(&mut self, input: Input) {
        match input {
            Input::ResendLatched => self.resend_latched(),
            Input::TfStream(index) => {
                if let Some(tf) = &mut self.tf {
                    tf.send_stream(&mut self.node, index);
                }
            }
            Input::ClockTick(None) => self.clock = None,
            Input::ClockTick(Some(ns)) => {
                if let Some((output, _)) = &self.clock {
                    output.send(&mut self.node, ns);
                }
            }
            _ => {}
        }
    }

    /// A dora input: to the route the table says reads it.
    fn on_dora_input(&mut self, id: DataId, params: &MetadataParameters, data: ArrayRef) {
        let served = match self.input_routes.get(&id).copied() {
            Some(RouteKind::ToRos) => match self.to_ros.publish(&id, params, data) {
                // Publishing re-created it; say why it is back.
                Some(true) => {
                    self.recovered_input(&id, "sends data again");
                    true
                }
                Some(false) => true,
                None => false,
            },
            Some(RouteKind::Tf) => match &mut self.tf {
                Some(tf) if tf.reads(&id) => {
                    tf.on_request(&mut self.node, params, data);
                    true
                }
                _ => false,
            },
            Some(kind) => self
                .services
                .as_mut()
                .is_some_and(|s| s.on_input(&mut self.node, kind, &id, params, data)),
            None => false,
        };
        if !served {
            tracing::debug!("input `{id}` feeds no route; ignored");
        }
    }

    /// The lossless-delivery advice of routes that have carried messages.
    fn say_sized_advice(&mut self) {
        let (from_ros, to_ros, config) = (&self.from_ros, &self.to_ros, &self.config);
        self.advice.say_ready(|route| {
            let (stats, count) = match route {
                TopicRoute::FromRos(i) => {
                    let stats = from_ros.route_stats(i)?;
                    if stats.reliable_reader.get() == Some(0) {
                        // `qos: auto` took best-effort publishers: no
                        // lossless delivery to advise.
                        return Some(RouteSeen::NotReliable);
                    }
                    let s = stats.snapshot();
                    (s, s.received)
                }
                TopicRoute::ToRos(i) => {
                    let input = DataId::from(config.to_ros.get(i)?.input.clone());
                    let s = to_ros.get(&input)?.publisher.stats.snapshot();
                    (s, s.forwarded)
                }
            };
            (count > 0).then(|| RouteSeen::MeanSize(stats.cdr_bytes as f64 / count as f64))
        });
    }

    /// What the admin endpoint shows now.
    fn view(&self) -> BridgeView {
        let clock = self.ros.as_ref().map(|ros| ros.clock());
        BridgeView {
            node: self.node.id().to_string(),
            dataflow: self.dataflow_id.clone(),
            ros_node: self.ros.as_ref().map(|ros| ros.node_name().to_string()),
            version: env!("CARGO_PKG_VERSION").to_string(),
            uptime_s: self.started.elapsed().as_secs_f64(),
            ros_time_ns: clock.map_or_else(crate::clock::system_now_ns, |c| c.now_ns()),
            ros_time_source: clock
                .map_or(crate::clock::TimeSource::System, |c| c.source())
                .name()
                .to_string(),
            routes: self.stats.views(),
        }
    }

    fn send_stats(&mut self) {
        let Some(output) = self.config.stats.output.clone() else {
            return;
        };
        let rows: ArrayRef = Arc::new(self.stats.rows());
        let output = DataId::from(output);
        if let Err(e) = self
            .node
            .send_output(output.clone(), MetadataParameters::default(), rows)
        {
            self.limiter
                .warn(|| format!("cannot send stats on `{output}`: {e}"));
        }
    }

    fn publish_health(&self, level: Level, summary: &str) {
        let Some(diagnostics) = &self.diagnostics else {
            return;
        };
        let mut statuses = diagnostics.statuses(summary, self.stats.summaries());
        if level > statuses[0].level {
            statuses[0].level = level;
        }
        diagnostics.publish(&statuses);
    }

    /// Leaves both worlds in order: final counters and health, the ROS
    /// receiver, every ROS entity, then the recording.
    fn tear_down(mut self, outcome: anyhow::Result<StopReason>) -> anyhow::Result<()> {
        self.stats.log_changes();
        match &outcome {
            Ok(why) => self.publish_health(Level::Ok, &format!("stopped: {why}")),
            Err(e) => self.publish_health(Level::Error, &format!("stopped: {e:#}")),
        }
        if let Ok(why) = &outcome {
            tracing::info!("{why}: leaving the ROS graph and exiting");
        }
        if let Some(services) = &mut self.services {
            let why = match &outcome {
                Ok(why) => format!("the bridge stopped ({why})"),
                Err(_) => "the bridge stopped on an error".to_string(),
            };
            services.action_servers.abort_all(&services.hub, &why);
        }
        self.queues.close();
        if let Some(ros) = &mut self.ros {
            ros.stop_receiver();
        }
        drop(self.services);
        drop(self.diagnostics);
        let unacknowledged = self.to_ros.flush(TO_ROS_FLUSH_TIMEOUT);
        if unacknowledged > 0 {
            tracing::warn!(
                "{unacknowledged} to_ros route(s) still had messages a subscriber had not \
                 acknowledged after {} s: that subscriber (stuck or gone) misses them",
                TO_ROS_FLUSH_TIMEOUT.as_secs_f64()
            );
        }
        self.to_ros.clear_taps();
        drop(self.to_ros);
        drop(self.ros);
        tracing::info!("left the ROS graph");
        if let Some(recording) = self.recording {
            recording.finish(&self.config);
        }
        outcome.map(|_| ())
    }

    fn on_lost(&self) -> OnLost {
        self.config
            .liveness
            .as_ref()
            .map_or(OnLost::Ignore, |l| l.on_lost)
    }
}

/// How long the bridge waits at exit for ROS subscribers to acknowledge
/// what its `to_ros` routes published last.
const TO_ROS_FLUSH_TIMEOUT: Duration = Duration::from_secs(1);

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
        let from_ros_too = if config.from_ros.is_empty() {
            ""
        } else {
            " And once every node feeding the to_ros routes has finished, dora ends the \
             bridge's event stream: the bridge exits, and its from_ros routes stop with it."
        };
        tracing::warn!(
            "no timer input: if the last dora node feeding a to_ros route fails, dora closes \
             the bridge's event stream before telling it why, and the failure cannot reach ROS \
             diagnostics.{from_ros_too} Add an input such as `keepalive: dora/timer/secs/1` to \
             the bridge node."
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
        let name = TypeName::parse(DIAGNOSTIC_ARRAY)?;
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

/// dora node ids may contain characters ROS node names may not.
fn ros_node_name_from(node_id: &str) -> String {
    let mut name = dora_side::identifier(node_id);
    if !name.starts_with(|c: char| c.is_ascii_alphabetic()) {
        name.insert_str(0, "dora_");
    }
    name
}

/// dora input id -> the kind of route that reads it.
fn input_routes(config: &Config) -> HashMap<DataId, RouteKind> {
    let mut inputs = HashMap::new();
    for route in config.route_table() {
        for end in route.ends.iter().filter(|e| e.role == Role::Input) {
            inputs.insert(DataId::from(end.id.to_string()), route.id.kind);
        }
    }
    inputs
}

/// What the from_ros routes' source feeds.
struct Source {
    routes: Vec<crate::ros::receiver::FromRosRoute>,
    queues: Arc<RouteQueues>,
    registry: Arc<TypeRegistry>,
}

/// The from_ros routes' source: the bag (`replay:`), whose progress the
/// loop follows, or the ROS receiver.
fn start_source(
    config: &Config,
    source: Source,
    bag: Option<Bag>,
    ros: Option<&mut RosSide>,
    liveness: tokio::sync::mpsc::UnboundedSender<LivenessReport>,
) -> anyhow::Result<Option<ReplayProgress>> {
    let Source {
        routes,
        queues,
        registry,
    } = source;
    match (bag, &config.replay, ros) {
        (Some(bag), Some(section), ros) => {
            let mut source = BagSource::new(bag, registry.clone(), section, routes, queues);
            if let (Some(hz), Some(ros)) = (section.clock, ros) {
                source = source.with_clock(ClockPublisher::advertise(ros, &registry, hz)?);
            }
            Ok(Some(ReplayProgress::start(source, section.at_end)?))
        }
        (_, _, Some(ros)) => {
            let options = routes.iter().map(|r| r.options).collect();
            let sink = QueueSink::new(queues.clone(), registry, options, ros.clock().clone());
            let receiver = Receiver::new(ros.shared().clone(), routes, Box::new(sink));
            let receiver = watch_liveness(config, receiver, liveness);
            queues.on_room(ros.receiver_waker());
            ros.spawn_receiver(receiver, move || queues.close())?;
            Ok(None)
        }
        _ => anyhow::bail!("neither a bag nor ROS to take the from_ros routes from"),
    }
}

/// A replay needs ROS only for what publishes or serves on it; a bag alone
/// feeds dora without any middleware.
fn needs_ros(config: &Config) -> bool {
    config.replay.is_none()
        || config.replay.as_ref().is_some_and(|r| r.clock.is_some())
        || !config.to_ros.is_empty()
        || !config.service_clients.is_empty()
        || !config.parameter_clients.is_empty()
        || !config.service_servers.is_empty()
        || !config.action_clients.is_empty()
        || !config.action_servers.is_empty()
        || config.dora_failures.is_some()
        || config.clock.is_some()
        || config.tf.is_some()
}

fn start_ros(
    config: &Config,
    rcl_args: &[String],
    node: &DoraNode,
    registry: &TypeRegistry,
) -> anyhow::Result<RosSide> {
    let node_name = config
        .ros
        .node_name
        .clone()
        .unwrap_or_else(|| ros_node_name_from(node.id().as_ref()));
    let namespace = config.ros.namespace.clone().unwrap_or_else(|| "/".into());
    RosSide::start(
        &config.ros.rcl_args(rcl_args),
        &node_name,
        &namespace,
        registry.prefixes().to_vec(),
        config.ros.use_sim_time,
    )
}

/// `clock:`'s output and its ticks.
type ClockTicks = (ClockOutput, UnboundedReceiver<i64>);

/// `clock:` and `tf:`, when configured.
fn start_time_and_tf(
    config: &Config,
    ros: &RosSide,
    registry: &TypeRegistry,
    stats: &mut StatsTable,
) -> anyhow::Result<(Option<ClockTicks>, Option<TfRoutes>)> {
    let clock = match &config.clock {
        Some(section) => Some(start_clock(section, ros, registry)?),
        None => None,
    };
    let tf = match &config.tf {
        Some(section) => {
            let buffer = TransformBuffer::new(section.cache_time);
            let listener = TfListener::start(ros.shared(), buffer)?;
            Some(TfRoutes::build(section, listener, registry, stats)?)
        }
        None => None,
    };
    Ok((clock, tf))
}

/// The `clock` output, ticking in the ROS side's clock.
fn start_clock(
    section: &crate::config::ClockSection,
    ros: &RosSide,
    registry: &TypeRegistry,
) -> anyhow::Result<ClockTicks> {
    let output = ClockOutput::new(section, registry, ros.clock().clone())?;
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    ros.tick_every(section.period, tx);
    tracing::info!(
        "clock: `{}` ticks every {:?} of ROS time",
        section.output,
        section.period
    );
    Ok((output, rx))
}

async fn next_tf_stream(tf: &mut Option<TfRoutes>) -> usize {
    match tf {
        Some(tf) => tf.next_stream().await,
        None => std::future::pending().await,
    }
}

async fn next_tick(clock: &mut Option<ClockTicks>) -> Option<i64> {
    match clock {
        Some((_, ticks)) => ticks.recv().await,
        None => std::future::pending().await,
    }
}

/// The receiver, reporting on the watched ROS nodes if the config has any.
fn watch_liveness(
    config: &Config,
    receiver: Receiver,
    reports: tokio::sync::mpsc::UnboundedSender<LivenessReport>,
) -> Receiver {
    let Some(liveness) = config.liveness.as_ref().filter(|l| !l.watch.is_empty()) else {
        return receiver;
    };
    tracing::info!(
        "watching ROS node(s) {} (on_lost: {:?}, grace {:?}, startup timeout {:?})",
        liveness.watch.join(", "),
        liveness.on_lost,
        liveness.grace,
        liveness.startup_timeout
    );
    let watch = LivenessWatch::new(
        &liveness.watch,
        liveness.startup_timeout,
        liveness.grace,
        Instant::now(),
    );
    receiver.with_node_observer(Box::new(ReportingWatch { watch, reports }))
}

fn log_routes(config: &Config) {
    tracing::info!("{}", config.route_summary());
}

impl Timers {
    fn new(config: &Config) -> Self {
        Timers {
            sample: tokio::time::interval(SAMPLE_PERIOD),
            stats: tokio::time::interval(config.stats.interval),
            log: tokio::time::interval(config.stats.log_interval),
            diagnostics: tokio::time::interval(DIAGNOSTICS_PERIOD),
            parent: tokio::time::interval(PARENT_POLL),
            services: tokio::time::interval(SERVICE_TICK),
        }
    }
}
