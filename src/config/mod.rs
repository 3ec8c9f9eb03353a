//! The bridge's YAML config file (see docs/configuration.md).
//!
//! Parsing is strict: unknown keys are errors that name the key and line, so
//! a typo never silently disables a route.

pub mod admin;
pub mod qos;
pub mod table;

pub use admin::{AdminAddress, AdminSection};

pub use qos::{
    DurabilityConfig, HistoryConfig, LivelinessConfig, QosProfileConfig, QosSetting,
    ReliabilityConfig,
};

use crate::msg::{InterfaceKind, TypeName};
use anyhow::{Context, bail};
use serde::{Deserialize, Deserializer};
use std::collections::HashSet;
use std::path::Path;
use std::time::Duration;

pub use crate::topics::TopicSelector;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub ros: RosSection,
    #[serde(default)]
    pub from_ros: Vec<FromRos>,
    #[serde(default)]
    pub to_ros: Vec<ToRos>,
    /// dora nodes call ROS services (the bridge is the ROS client).
    #[serde(default)]
    pub service_clients: Vec<ServiceClient>,
    /// ROS clients call services that dora nodes implement.
    #[serde(default)]
    pub service_servers: Vec<ServiceServer>,
    /// dora nodes list, get, set and describe another ROS node's parameters.
    #[serde(default)]
    pub parameter_clients: Vec<ParameterClient>,
    /// dora nodes send goals to ROS action servers.
    #[serde(default)]
    pub action_clients: Vec<ActionClient>,
    /// ROS action clients send goals that dora nodes carry out.
    #[serde(default)]
    pub action_servers: Vec<ActionServer>,
    /// Default timeouts by name for the service, parameter and action
    /// routes; the first rule that matches applies.
    #[serde(default)]
    pub timeouts: Vec<TimeoutRule>,
    #[serde(default)]
    pub liveness: Option<Liveness>,
    #[serde(default)]
    pub dora_failures: Option<DoraFailures>,
    #[serde(default)]
    pub shutdown: Shutdown,
    #[serde(default)]
    pub stats: Stats,
    /// Feed the `from_ros` routes from a rosbag2 bag instead of ROS.
    #[serde(default)]
    pub replay: Option<Replay>,
    /// Also write what the `to_ros` routes publish into a bag.
    #[serde(default)]
    pub record: Option<RecordSection>,
    /// A dora output ticking in ROS time.
    #[serde(default)]
    pub clock: Option<ClockSection>,
    /// A transform buffer from /tf and /tf_static, for dora nodes' lookups.
    #[serde(default)]
    pub tf: Option<TfSection>,
    /// The live view (JSON, Prometheus metrics) for `status`, `top` and
    /// scrapers.
    #[serde(default)]
    pub admin: Option<AdminSection>,
}

/// `tf:`: the bridge keeps a transform buffer and answers lookups.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TfSection {
    /// How much history of each dynamic transform the buffer keeps.
    #[serde(default = "default_tf_cache_time", deserialize_with = "duration")]
    pub cache_time: Duration,
    /// dora input: rows {target_frame, source_frame, time_ns (optional, 0 = latest)}.
    pub lookup_request: Option<String>,
    /// dora output: a geometry_msgs/msg/TransformStamped row per request
    /// (metadata request_id; error and error_code, with 0 rows, on failure).
    pub lookup_response: Option<String>,
    /// Transforms sent on their own at a rate.
    #[serde(default)]
    pub streams: Vec<TfStream>,
}

/// A transform looked up (latest) and sent every `period`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TfStream {
    pub output: String,
    /// The frame the transform maps into (tf2's target frame).
    pub target: String,
    /// The frame it maps from.
    pub source: String,
    #[serde(default = "default_tf_stream_period", deserialize_with = "duration")]
    pub period: Duration,
}

impl TfSection {
    fn validate(&self) -> anyhow::Result<()> {
        if self.lookup_request.is_some() != self.lookup_response.is_some() {
            bail!(
                "tf: lookup_request and lookup_response go together (a request input and its answers' output)"
            );
        }
        if self.lookup_request.is_none() && self.streams.is_empty() {
            bail!("tf: give lookup_request/lookup_response, streams, or both");
        }
        if self.cache_time.is_zero() {
            bail!("tf.cache_time: must be longer than 0 (tf2's default is 10s)");
        }
        for (i, s) in self.streams.iter().enumerate() {
            if s.period.is_zero() || s.target.is_empty() || s.source.is_empty() {
                bail!("tf.streams[{i}]: needs a target, a source and a period longer than 0");
            }
        }
        Ok(())
    }
}

fn default_tf_cache_time() -> Duration {
    Duration::from_secs(10)
}

fn default_tf_stream_period() -> Duration {
    Duration::from_millis(100)
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordSection {
    /// Bag directory to create (it must not exist).
    pub bag: std::path::PathBuf,
    /// Start a new storage file after this many message bytes, e.g. `512MB`.
    #[serde(default, deserialize_with = "opt_size")]
    pub max_bag_size: Option<u64>,
    /// Start a new storage file after this long, e.g. `60s`.
    #[serde(default, deserialize_with = "opt_duration")]
    pub max_bag_duration: Option<Duration>,
    /// MCAP chunk compression: `none` (default), `zstd`, `lz4`.
    #[serde(default)]
    pub compression: BagCompression,
}

/// Chunk compression of the MCAP files the bridge writes: what rosbag2's
/// MCAP storage offers too (its `zstd_fast`/`zstd_small` presets). Off by
/// default, as in `ros2 bag record`: compressing costs CPU a camera stream
/// may not leave.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BagCompression {
    #[default]
    None,
    Zstd,
    Lz4,
}

impl std::str::FromStr for BagCompression {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        match text {
            "none" => Ok(BagCompression::None),
            "zstd" => Ok(BagCompression::Zstd),
            "lz4" => Ok(BagCompression::Lz4),
            other => Err(format!("`{other}` is not none, zstd or lz4")),
        }
    }
}

/// Replaying a bag straight into the dataflow (no ROS middleware).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Replay {
    /// Bag directory (with metadata.yaml), `.mcap` or `.db3` file.
    pub bag: std::path::PathBuf,
    /// `recorded`: keep the recorded gaps (scaled by `rate`); `fast`: as fast
    /// as dora takes them.
    #[serde(default)]
    pub timing: ReplayTiming,
    #[serde(default = "default_rate")]
    pub rate: f64,
    /// Wait this long before the first message, so downstream nodes that
    /// are still starting do not receive a backlog in a burst.
    #[serde(default, deserialize_with = "duration")]
    pub start_delay: Duration,
    /// What the bridge does once every message of the bag went to dora.
    #[serde(default)]
    pub at_end: ReplayEnd,
    /// Publish `/clock` from the bag's time this many times a second (as
    /// `bag play --clock`), for ROS nodes with use_sim_time.
    pub clock: Option<f64>,
}

/// `replay.at_end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReplayEnd {
    /// The bridge exits: downstream inputs close after their last message
    /// (`Stop(AllInputsClosed)` where the bridge was their only source).
    #[default]
    Exit,
    /// The bridge asks dora to stop the whole dataflow (`Stop(Manual)`),
    /// which also ends nodes driven by timers.
    StopDataflow,
    /// The bridge stays (its `to_ros` and service routes keep working)
    /// until dora or a signal stops it.
    Wait,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReplayTiming {
    #[default]
    Recorded,
    Fast,
}

fn default_rate() -> f64 {
    1.0
}

/// Per-route counters: logged, and optionally sent as Arrow rows.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Stats {
    /// dora output for counter rows (one row per route); none by default.
    pub output: Option<String>,
    /// How often rows are sent on `output`.
    #[serde(default = "default_stats_interval", deserialize_with = "duration")]
    pub interval: Duration,
    /// How often a one-line summary is logged (only when counters changed).
    #[serde(default = "default_log_interval", deserialize_with = "duration")]
    pub log_interval: Duration,
}

impl Default for Stats {
    fn default() -> Self {
        Stats {
            output: None,
            interval: default_stats_interval(),
            log_interval: default_log_interval(),
        }
    }
}

fn default_stats_interval() -> Duration {
    Duration::from_secs(1)
}

fn default_log_interval() -> Duration {
    Duration::from_secs(10)
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RosSection {
    /// Default: the dora node id.
    pub node_name: Option<String>,
    /// Default: `/`.
    pub namespace: Option<String>,
    /// ROS time from `/clock` (`--ros-args -p use_sim_time:=...` wins).
    #[serde(default)]
    pub use_sim_time: bool,
    /// Name remappings, as `--ros-args -r FROM:=TO` (those on the command
    /// line come first, so they win).
    #[serde(default)]
    pub remap: std::collections::BTreeMap<String, String>,
}

impl RosSection {
    /// `rcl_args` with the config's remappings after them.
    pub fn rcl_args(&self, rcl_args: &[String]) -> Vec<String> {
        let mut args = rcl_args.to_vec();
        if !self.remap.is_empty() {
            args.push("--ros-args".into());
            for (from, to) in &self.remap {
                args.push("-r".into());
                args.push(format!("{from}:={to}"));
            }
        }
        args
    }

    fn validate(&self) -> anyhow::Result<()> {
        for (from, to) in &self.remap {
            if from.is_empty() || to.is_empty() || from.contains(":=") || to.contains(":=") {
                bail!(
                    "ros.remap: `{from}: {to}` is not a remapping (write `odom: odometry/filtered`)"
                );
            }
        }
        Ok(())
    }
}

/// What a route's rows are.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RouteFormat {
    /// The message's fields as typed Arrow columns (docs/arrow-mapping.md).
    #[default]
    Arrow,
    /// The CDR bytes as they are, in one `Binary` column `cdr`.
    Cdr,
}

/// ROS topic(s) -> dora output.
#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "RawFromRos")]
pub struct FromRos {
    pub source: TopicSelector,
    /// `pkg/msg/Type`; when absent, taken from the ROS graph.
    pub msg_type: Option<TypeName>,
    pub output: String,
    pub qos: QosSetting,
    /// Emit byte sequences (`uint8[]`) as Arrow `Binary` instead of `List<UInt8>`.
    pub bytes_as_binary: bool,
    pub format: RouteFormat,
    pub queue: QueueConfig,
    /// Most rows per dora message: messages of one topic and publisher
    /// that wait together go as one multi-row `StructArray` (1: never).
    pub batch: usize,
    /// Keep each publisher's last message and send it again when a dora
    /// node restarts (as DDS gives a latched topic's late joiners). On by
    /// default for `/tf_static`.
    pub latched: Option<bool>,
    /// `max_rate` / `min_interval`: at most one message per interval per
    /// topic, the newest; the rest counted as `throttled`.
    pub min_interval: Option<Duration>,
    /// `match:` routes: topics these regexes match are left out.
    pub exclude: Vec<regex::Regex>,
    /// `match:` routes: also take the system topics
    /// ([`crate::topics::SYSTEM_TOPICS`], actions' internals).
    pub system_topics: bool,
}

/// The largest `batch` a route may ask for.
pub const MAX_BATCH: usize = 1024;

/// `from_ros` as written: `topic` or `match`, checked and compiled into a
/// [`TopicSelector`] when the file is read.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFromRos {
    topic: Option<String>,
    #[serde(rename = "match")]
    pattern: Option<String>,
    /// `pkg/msg/Type`; when absent, taken from the ROS graph.
    #[serde(rename = "type")]
    msg_type: Option<String>,
    output: String,
    #[serde(default)]
    qos: QosSetting,
    /// Emit byte sequences (`uint8[]`) as Arrow `Binary` instead of `List<UInt8>`.
    #[serde(default)]
    bytes_as_binary: bool,
    #[serde(default)]
    format: RouteFormat,
    #[serde(default)]
    queue: QueueConfig,
    #[serde(default = "one_row")]
    batch: usize,
    latched: Option<bool>,
    max_rate: Option<f64>,
    #[serde(default, deserialize_with = "opt_duration")]
    min_interval: Option<Duration>,
    #[serde(default)]
    exclude: Vec<String>,
    #[serde(default)]
    system_topics: bool,
}

fn one_row() -> usize {
    1
}

impl TryFrom<RawFromRos> for FromRos {
    type Error = String;

    fn try_from(raw: RawFromRos) -> Result<Self, String> {
        let source = match (raw.topic, raw.pattern) {
            (Some(topic), None) => {
                check_topic(&topic).map_err(|e| format!("topic: {e}"))?;
                TopicSelector::Topic(topic)
            }
            (None, Some(pattern)) => TopicSelector::Pattern(
                regex::Regex::new(&pattern)
                    .map_err(|e| format!("match: invalid regular expression: {e}"))?,
            ),
            (Some(_), Some(_)) => return Err("give `topic` or `match`, not both".into()),
            (None, None) => {
                return Err(
                    "needs `topic` (one topic) or `match` (a regex over topic names)".into(),
                );
            }
        };
        let msg_type = raw.msg_type.as_deref().map(TypeName::parse).transpose();
        if matches!(source, TopicSelector::Topic(_))
            && (!raw.exclude.is_empty() || raw.system_topics)
        {
            return Err("`exclude` and `system_topics` go with `match`, not `topic`".into());
        }
        if raw.format == RouteFormat::Cdr && raw.bytes_as_binary {
            return Err(
                "`bytes_as_binary` has no meaning with `format: cdr` (nothing is decoded)".into(),
            );
        }
        let exclude = raw
            .exclude
            .iter()
            .map(|p| {
                regex::Regex::new(p)
                    .map_err(|e| format!("exclude: invalid regular expression: {e}"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(FromRos {
            source,
            msg_type: msg_type.map_err(|e| format!("type: {e}"))?,
            output: raw.output,
            qos: raw.qos,
            bytes_as_binary: raw.bytes_as_binary,
            format: raw.format,
            queue: raw.queue,
            batch: raw.batch,
            latched: raw.latched,
            min_interval: rate_interval(raw.max_rate, raw.min_interval)?,
            exclude,
            system_topics: raw.system_topics,
        })
    }
}

/// `max_rate` (Hz) or `min_interval`, as the interval between messages.
fn rate_interval(
    max_rate: Option<f64>,
    min_interval: Option<Duration>,
) -> Result<Option<Duration>, String> {
    match (max_rate, min_interval) {
        (Some(_), Some(_)) => Err("give `max_rate` or `min_interval`, not both".into()),
        (Some(rate), None) if rate > 0.0 && rate.is_finite() => {
            Ok(Some(Duration::from_secs_f64(1.0 / rate)))
        }
        (Some(rate), None) => Err(format!(
            "max_rate: must be a positive number of messages per second, got {rate}"
        )),
        (None, Some(interval)) if interval.is_zero() => {
            Err("min_interval: must be longer than 0 (e.g. 100ms)".into())
        }
        (None, interval) => Ok(interval),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QueuePolicy {
    /// Full queue: the oldest waiting message is dropped (and counted).
    DropOldest,
    /// Full queue: the ROS receiver stops taking from this route's
    /// subscriptions (other routes keep flowing), so messages back up into
    /// their DDS history (where KEEP_LAST drops the oldest, and KEEP_ALL
    /// holds up a reliable publisher).
    Block,
}

/// The queue between the ROS side and dora for one route.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueueConfig {
    /// Messages waiting for dora (default 10).
    pub size: Option<usize>,
    /// `drop_oldest` or `block`. Default: drop_oldest for best-effort
    /// subscriptions (sensor data), block for reliable ones.
    pub policy: Option<QueuePolicy>,
}

impl FromRos {
    /// The topic or pattern, for messages.
    pub fn describe(&self) -> String {
        self.source.describe()
    }

    /// What the route takes: its topic, or its pattern without the
    /// excluded and (unless `system_topics`) the system topics.
    pub fn matcher(&self) -> crate::topics::TopicMatcher {
        let matcher = crate::topics::TopicMatcher::new([self.source.clone()])
            .excluding_patterns(self.exclude.iter().cloned());
        match (&self.source, self.system_topics) {
            (TopicSelector::Pattern(_), false) => matcher.excluding_system_topics(),
            _ => matcher,
        }
    }
}

/// dora input -> ROS topic.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ToRos {
    pub input: String,
    pub topic: String,
    #[serde(rename = "type", deserialize_with = "message_type")]
    pub msg_type: TypeName,
    #[serde(default)]
    pub qos: QosSetting,
    /// A message whose `header.stamp` is zero goes out stamped with the
    /// bridge's ROS time (sim time with `use_sim_time`).
    #[serde(default)]
    pub fill_stamp: bool,
    /// At most this many messages a second (the newest of those between);
    /// or `min_interval` between them. The rest counted as `throttled`.
    pub max_rate: Option<f64>,
    #[serde(default, deserialize_with = "opt_duration")]
    pub min_interval: Option<Duration>,
    /// `cdr`: rows carry the serialized message (a `Binary` column `cdr`),
    /// published as it is.
    #[serde(default)]
    pub format: RouteFormat,
}

impl ToRos {
    /// The interval `max_rate` or `min_interval` sets (checked when the
    /// file is read).
    pub fn interval(&self) -> Option<Duration> {
        rate_interval(self.max_rate, self.min_interval)
            .ok()
            .flatten()
    }
}

/// A timer in ROS time for dora nodes (dora's own timers are wall clock).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClockSection {
    /// dora output: a `builtin_interfaces/msg/Time` row per tick.
    pub output: String,
    /// Ticks once per this much ROS time (sim time follows the simulation).
    #[serde(default = "default_clock_period", deserialize_with = "duration")]
    pub period: Duration,
}

fn default_clock_period() -> Duration {
    Duration::from_millis(100)
}

/// A ROS service the bridge calls for dora nodes: each row on `request` is
/// one call, answered on `response` (metadata `request_id`, and `error` on
/// failure).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceClient {
    pub service: String,
    /// `pkg/srv/Type`.
    #[serde(rename = "type", deserialize_with = "service_type")]
    pub srv_type: TypeName,
    /// dora input: one row per call.
    pub request: String,
    /// dora output: one row per answer.
    pub response: String,
    /// How long a call waits for a server, and then for its answer.
    #[serde(rename = "timeout", default, deserialize_with = "opt_duration")]
    timeout_given: Option<Duration>,
    /// What applies: `timeout` if given, else the first `timeouts:` rule
    /// matching the name, else 5s.
    #[serde(skip, default = "default_call_timeout")]
    pub timeout: Duration,
    /// Calls outstanding at once; more wait in order. The default matches
    /// a server's default request history (keep last 10), which would
    /// drop calls beyond it.
    #[serde(default = "default_max_in_flight")]
    pub max_in_flight: usize,
}

/// Another ROS node's parameters, for dora nodes: each row on `request`
/// (`op`: list, get, set or describe; `name`; `value` to set) is one call
/// to that node's parameter services, answered by one row on `response`
/// with the value typed as the parameter is.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParameterClient {
    /// The ROS node, e.g. `/controller` (relative names are resolved under
    /// the bridge's namespace).
    pub node: String,
    /// dora input: one row per call.
    pub request: String,
    /// dora output: one row per answer.
    pub response: String,
    /// How long a call waits for the node's parameter services, and then
    /// for their answer.
    #[serde(rename = "timeout", default, deserialize_with = "opt_duration")]
    timeout_given: Option<Duration>,
    /// What applies: `timeout` if given, else the first `timeouts:` rule
    /// matching the name, else 5s.
    #[serde(skip, default = "default_call_timeout")]
    pub timeout: Duration,
}

/// A ROS service the bridge offers, answered by a dora node: each ROS call
/// goes out on `request` (metadata `request_id`), the handler's row with
/// that id on `response` answers it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceServer {
    pub service: String,
    /// `pkg/srv/Type`.
    #[serde(rename = "type", deserialize_with = "service_type")]
    pub srv_type: TypeName,
    /// dora output: one row per ROS call.
    pub request: String,
    /// dora input: the handler's answers.
    pub response: String,
    /// A call not answered by then is forgotten (counted, logged).
    #[serde(rename = "timeout", default, deserialize_with = "opt_duration")]
    timeout_given: Option<Duration>,
    /// What applies: `timeout` if given, else the first `timeouts:` rule
    /// matching the name, else 5s.
    #[serde(skip, default = "default_call_timeout")]
    pub timeout: Duration,
}

/// A ROS action server the bridge sends goals to for dora nodes: each row
/// on `goal` is one goal, which ends with exactly one row on `result`
/// (metadata `goal_id` and `status`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActionClient {
    pub action: String,
    /// `pkg/action/Type`.
    #[serde(rename = "type", deserialize_with = "action_type")]
    pub action_type: TypeName,
    /// dora input: one row per goal.
    pub goal: String,
    /// dora input: cancels the goal in its `goal_id` metadata, or every
    /// goal of the route.
    #[serde(default)]
    pub cancel: Option<String>,
    /// dora output: feedback rows.
    pub feedback: String,
    /// dora output: `{goal_id, status}` rows when a goal's status changes.
    #[serde(default)]
    pub status: Option<String>,
    /// dora output: one row per goal.
    pub result: String,
    /// How long a goal waits for the server, and then for its acceptance.
    #[serde(rename = "timeout", default, deserialize_with = "opt_duration")]
    timeout_given: Option<Duration>,
    /// What applies: `timeout` if given, else the first `timeouts:` rule
    /// matching the name, else 5s.
    #[serde(skip, default = "default_call_timeout")]
    pub timeout: Duration,
}

/// A ROS action server the bridge offers, carried out by a dora node.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActionServer {
    pub action: String,
    /// `pkg/action/Type`.
    #[serde(rename = "type", deserialize_with = "action_type")]
    pub action_type: TypeName,
    /// dora output: accepted goals.
    pub goal: String,
    /// dora output: cancel requests of active goals.
    pub cancel: String,
    /// dora input: the handler's feedback rows.
    pub feedback: String,
    /// dora input: the handler's final row per goal.
    pub result: String,
    /// How long a finished goal's result stays available to clients (as
    /// rcl_action's `result_timeout`).
    #[serde(rename = "result_timeout", default, deserialize_with = "opt_duration")]
    result_timeout_given: Option<Duration>,
    /// `result_timeout` if given, else the first `timeouts:` rule matching
    /// the action, else 10s.
    #[serde(skip, default = "default_result_timeout")]
    pub result_timeout: Duration,
    /// dora input: the handler accepts or rejects each goal (a row with
    /// its `goal_id` and `status: accepted | rejected`) before the client
    /// is answered. Without it, every goal is accepted at once.
    #[serde(default)]
    pub accept: Option<String>,
    /// How long a goal waits for the handler's decision; then it is
    /// rejected.
    #[serde(default = "default_accept_timeout", deserialize_with = "duration")]
    pub accept_timeout: Duration,
}

fn default_accept_timeout() -> Duration {
    Duration::from_secs(5)
}

/// A default timeout for the service, parameter and action routes whose
/// name (service, node or action, as written) `match`es and that set none.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimeoutRule {
    #[serde(rename = "match", deserialize_with = "regex_pattern")]
    pub pattern: regex::Regex,
    #[serde(deserialize_with = "duration")]
    pub timeout: Duration,
}

fn regex_pattern<'de, D: Deserializer<'de>>(d: D) -> Result<regex::Regex, D::Error> {
    let text = String::deserialize(d)?;
    regex::Regex::new(&text)
        .map_err(|e| serde::de::Error::custom(format!("invalid regular expression: {e}")))
}

fn default_result_timeout() -> Duration {
    Duration::from_secs(10)
}

fn default_call_timeout() -> Duration {
    Duration::from_secs(5)
}

fn default_max_in_flight() -> usize {
    10
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Liveness {
    #[serde(default)]
    pub watch: Vec<String>,
    #[serde(default = "default_startup_timeout", deserialize_with = "duration")]
    pub startup_timeout: Duration,
    #[serde(default = "default_grace", deserialize_with = "duration")]
    pub grace: Duration,
    #[serde(default)]
    pub on_lost: OnLost,
    pub report_output: Option<String>,
}

fn default_startup_timeout() -> Duration {
    Duration::from_secs(10)
}

fn default_grace() -> Duration {
    Duration::from_millis(500)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnLost {
    #[default]
    Fail,
    Report,
    Ignore,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DoraFailures {
    #[serde(default = "default_diagnostics_topic")]
    pub diagnostics_topic: String,
    #[serde(default = "default_true")]
    pub withdraw_publishers: bool,
}

fn default_diagnostics_topic() -> String {
    "/diagnostics".to_string()
}

fn default_true() -> bool {
    true
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Shutdown {
    #[serde(default)]
    pub on_signal: OnSignal,
    #[serde(default)]
    pub on_watched_nodes_gone: OnWatchedNodesGone,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnSignal {
    #[default]
    StopDataflow,
    Exit,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnWatchedNodesGone {
    #[default]
    None,
    StopDataflow,
}

/// Parses `500ms`, `2s`, `1.5s`, `100us`, `1m`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .ok_or_else(|| {
            format!("duration `{text}` needs a unit (ns, us, ms, s, m), e.g. `500ms`")
        })?;
    let (number, unit) = text.split_at(split);
    let value: f64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a duration such as `500ms` or `2s`"))?;
    let seconds = match unit.trim() {
        "ns" => value / 1e9,
        "us" => value / 1e6,
        "ms" => value / 1e3,
        "s" => value,
        "m" | "min" => value * 60.0,
        other => {
            return Err(format!(
                "unknown duration unit `{other}` in `{text}`; use ns, us, ms, s or m"
            ));
        }
    };
    Duration::try_from_secs_f64(seconds).map_err(|e| format!("`{text}`: {e}"))
}

fn duration<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let text = String::deserialize(d)?;
    parse_duration(&text).map_err(serde::de::Error::custom)
}

fn opt_duration<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    Option::<String>::deserialize(d)?
        .map(|t| parse_duration(&t).map_err(serde::de::Error::custom))
        .transpose()
}

/// A size in bytes: a plain number, or with a unit `KB`, `MB`, `GB` (powers
/// of 1024, as dora reads `shared_memory_pool_size`; `KiB`, `MiB`, `GiB` too).
pub fn parse_size(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let value: f64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a size such as `512MB` or `1GiB`"))?;
    let scale: f64 = match unit.trim() {
        "" | "B" => 1.0,
        "KB" | "kB" | "KiB" => 1024.0,
        "MB" | "MiB" => 1024.0 * 1024.0,
        "GB" | "GiB" => 1024.0 * 1024.0 * 1024.0,
        other => {
            return Err(format!(
                "unknown size unit `{other}` in `{text}`; use B, KB, MB, GB, KiB, MiB or GiB"
            ));
        }
    };
    let bytes = value * scale;
    if !(bytes >= 1.0 && bytes < u64::MAX as f64) {
        return Err(format!("`{text}`: a size must be at least 1 byte"));
    }
    Ok(bytes as u64)
}

fn opt_size<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Size {
        Bytes(u64),
        Text(String),
    }
    Option::<Size>::deserialize(d)?
        .map(|size| match size {
            Size::Bytes(0) => Err(serde::de::Error::custom("a size must be at least 1 byte")),
            Size::Bytes(n) => Ok(n),
            Size::Text(t) => parse_size(&t).map_err(serde::de::Error::custom),
        })
        .transpose()
}

/// serde's "unknown field `form_ros`, expected one of `ros`, `from_ros`,
/// ..." with the likely key named: "(did you mean `from_ros`?)".
fn with_suggestion(message: String) -> String {
    let Some(rest) = message.split("unknown field `").nth(1) else {
        return message;
    };
    let Some((unknown, expected)) = rest.split_once('`') else {
        return message;
    };
    let known: Vec<&str> = expected.split('`').skip(1).step_by(2).collect();
    match crate::suggest::did_you_mean(unknown, known) {
        Some(key) => format!("{message} (did you mean `{key}`?)"),
        None => message,
    }
}

impl Config {
    pub fn from_file(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read config file {}", path.display()))?;
        Self::from_yaml(&text).with_context(|| format!("invalid config file {}", path.display()))
    }

    pub fn from_yaml(text: &str) -> anyhow::Result<Self> {
        let config: Config = if text.trim().is_empty() {
            Config::default()
        } else {
            serde_yaml::from_str(text)
                .map_err(|e| anyhow::anyhow!("{}", with_suggestion(e.to_string())))?
        };
        let mut config = config;
        config.apply_timeout_rules();
        config.validate()?;
        Ok(config)
    }

    /// Each service, parameter and action route's timeout: its own, else
    /// the first matching rule's, else the default.
    fn apply_timeout_rules(&mut self) {
        let rules = std::mem::take(&mut self.timeouts);
        let by_rule = |name: &str| {
            rules
                .iter()
                .find(|rule| rule.pattern.is_match(name))
                .map(|rule| rule.timeout)
        };
        let pick = |given: Option<Duration>, name: &str, default: Duration| {
            given.or_else(|| by_rule(name)).unwrap_or(default)
        };
        for r in &mut self.service_clients {
            r.timeout = pick(r.timeout_given, &r.service, r.timeout);
        }
        for r in &mut self.service_servers {
            r.timeout = pick(r.timeout_given, &r.service, r.timeout);
        }
        for r in &mut self.parameter_clients {
            r.timeout = pick(r.timeout_given, &r.node, r.timeout);
        }
        for r in &mut self.action_clients {
            r.timeout = pick(r.timeout_given, &r.action, r.timeout);
        }
        for r in &mut self.action_servers {
            r.result_timeout = pick(r.result_timeout_given, &r.action, r.result_timeout);
        }
        self.timeouts = rules;
    }

    /// Checks that need the whole file: duplicates and name syntax.
    fn validate(&self) -> anyhow::Result<()> {
        self.ros.validate()?;
        for (i, route) in self.to_ros.iter().enumerate() {
            if route.format == RouteFormat::Cdr && route.fill_stamp {
                bail!("to_ros[{i}]: `fill_stamp` needs the message decoded, not `format: cdr`");
            }
        }
        if let Some(clock) = &self.clock
            && clock.period.is_zero()
        {
            bail!("clock.period: must be longer than 0 (e.g. 100ms)");
        }
        if let Some(tf) = &self.tf {
            tf.validate()?;
        }
        if let Some(replay) = &self.replay {
            if !(replay.rate > 0.0 && replay.rate.is_finite()) {
                bail!(
                    "replay.rate: must be a positive number, got {}",
                    replay.rate
                );
            }
            if self.liveness.is_some() {
                bail!(
                    "replay: the bag replaces the ROS subscriptions, so there are no ROS nodes \
                     to watch; `liveness` cannot be used with it"
                );
            }
        }
        for (i, route) in self.to_ros.iter().enumerate() {
            rate_interval(route.max_rate, route.min_interval)
                .map_err(|e| anyhow::anyhow!("to_ros[{i}]: {e}"))?;
        }
        for (i, route) in self.from_ros.iter().enumerate() {
            if route.queue.size == Some(0) {
                bail!("from_ros[{i}].queue.size: must be at least 1");
            }
            if !(1..=MAX_BATCH).contains(&route.batch) {
                bail!(
                    "from_ros[{i}].batch: must be 1 to {MAX_BATCH} (rows per dora message), got {}",
                    route.batch
                );
            }
        }
        for (i, route) in self.to_ros.iter().enumerate() {
            check_topic(&route.topic).with_context(|| format!("to_ros[{i}].topic"))?;
        }
        self.validate_services()?;
        self.validate_actions()?;
        self.validate_dora_ids()
    }

    /// Each dora id a plain name, used by one route only: a dora node's
    /// inputs and outputs are keyed by id.
    fn validate_dora_ids(&self) -> anyhow::Result<()> {
        let mut used: HashSet<(table::Role, &str)> = HashSet::new();
        for route in self.route_table() {
            for end in &route.ends {
                let what = end.role.noun();
                if end.id.is_empty() || end.id.contains('/') {
                    bail!(
                        "{}.{}: `{}` is not a dora {what} id",
                        route.id,
                        end.key,
                        end.id
                    );
                }
                if !used.insert((end.role, end.id)) {
                    bail!(
                        "{}.{}: dora {what} `{}` is used by more than one route",
                        route.id,
                        end.key,
                        end.id
                    );
                }
            }
        }
        let report = self
            .liveness
            .as_ref()
            .and_then(|l| l.report_output.as_deref());
        let extras = [
            ("liveness.report_output", report),
            ("stats.output", self.stats.output.as_deref()),
            (
                "clock.output",
                self.clock.as_ref().map(|c| c.output.as_str()),
            ),
        ];
        for (key, id) in extras {
            if let Some(id) = id
                && !used.insert((table::Role::Output, id))
            {
                bail!("{key}: output `{id}` is also used elsewhere");
            }
        }
        Ok(())
    }

    /// Service routes: names, limits (types are checked as the file is read).
    fn validate_services(&self) -> anyhow::Result<()> {
        let clients = self
            .service_clients
            .iter()
            .map(|r| ("service_clients", &r.service, r.timeout));
        let servers = self
            .service_servers
            .iter()
            .map(|r| ("service_servers", &r.service, r.timeout));
        let parameters = self
            .parameter_clients
            .iter()
            .map(|r| ("parameter_clients", &r.node, r.timeout));
        let mut counts: std::collections::HashMap<&str, usize> = Default::default();
        for (section, service, timeout) in clients.chain(servers).chain(parameters) {
            let index = counts.entry(section).or_default();
            let at = format!("{section}[{index}]");
            *index += 1;
            let key = if section == "parameter_clients" {
                "node"
            } else {
                "service"
            };
            check_topic(service).with_context(|| format!("{at}.{key}"))?;
            if timeout.is_zero() {
                bail!("{at}.timeout: must be longer than 0");
            }
        }
        if let Some((i, _)) = self
            .service_clients
            .iter()
            .enumerate()
            .find(|(_, r)| r.max_in_flight == 0)
        {
            bail!("service_clients[{i}].max_in_flight: must be at least 1");
        }
        Ok(())
    }

    /// Action routes: names, timeouts (types are checked as the file is read).
    fn validate_actions(&self) -> anyhow::Result<()> {
        let clients = self
            .action_clients
            .iter()
            .map(|r| ("action_clients", &r.action, r.timeout));
        let servers = self.action_servers.iter().map(|r| {
            (
                "action_servers",
                &r.action,
                r.result_timeout.min(r.accept_timeout),
            )
        });
        let mut counts: std::collections::HashMap<&str, usize> = Default::default();
        for (section, action, timeout) in clients.chain(servers) {
            let index = counts.entry(section).or_default();
            let at = format!("{section}[{index}]");
            *index += 1;
            check_topic(action).with_context(|| format!("{at}.action"))?;
            if timeout.is_zero() {
                bail!("{at}: timeouts must be longer than 0");
            }
        }
        Ok(())
    }
}

/// A message type's name (`pkg/msg/Type`), checked as the file is read.
fn message_type<'de, D: Deserializer<'de>>(d: D) -> Result<TypeName, D::Error> {
    let text = String::deserialize(d)?;
    TypeName::parse(&text).map_err(serde::de::Error::custom)
}

/// A service type's name (`pkg/srv/Type`).
fn service_type<'de, D: Deserializer<'de>>(d: D) -> Result<TypeName, D::Error> {
    let text = String::deserialize(d)?;
    TypeName::parse_interface(&text, InterfaceKind::Service).map_err(serde::de::Error::custom)
}

/// An action type's name (`pkg/action/Type`).
fn action_type<'de, D: Deserializer<'de>>(d: D) -> Result<TypeName, D::Error> {
    let text = String::deserialize(d)?;
    TypeName::parse_interface(&text, InterfaceKind::Action).map_err(serde::de::Error::custom)
}

fn check_topic(topic: &str) -> anyhow::Result<()> {
    let body = topic.strip_prefix('/').unwrap_or(topic);
    let ok = !body.is_empty()
        && body.split('/').all(|part| {
            !part.is_empty()
                && !part.starts_with(|c: char| c.is_ascii_digit())
                && part.chars().all(|c| {
                    c.is_ascii_alphanumeric() || c == '_' || c == '~' || c == '{' || c == '}'
                })
        });
    if ok {
        Ok(())
    } else {
        bail!("`{topic}` is not a valid ROS topic name")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeout_rules_apply_where_a_route_sets_none() {
        let c = Config::from_yaml(
            "timeouts:\n  - {match: '^/planner/', timeout: 30s}\n  - {match: '.*', timeout: 2s}\n\
             service_clients:\n  - {service: /planner/plan, type: std_srvs/srv/SetBool, request: a, response: b}\n  \
             - {service: /other, type: std_srvs/srv/SetBool, request: c, response: d}\n  \
             - {service: /planner/own, type: std_srvs/srv/SetBool, request: e, response: f, timeout: 1s}\n\
             action_servers:\n  - {action: /planner/go, type: test_msgs/action/Fibonacci, goal: g, cancel: h, feedback: i, result: j}\n",
        )
        .unwrap();
        let timeouts: Vec<u64> = c
            .service_clients
            .iter()
            .map(|r| r.timeout.as_secs())
            .collect();
        assert_eq!(timeouts, [30, 2, 1]);
        assert_eq!(c.action_servers[0].result_timeout, Duration::from_secs(30));
        let bad = Config::from_yaml("timeouts:\n  - {match: '(', timeout: 1s}\n").unwrap_err();
        assert!(
            format!("{bad:#}").contains("invalid regular expression"),
            "{bad:#}"
        );
    }

    #[test]
    fn full_example_parses() {
        let c = Config::from_yaml(
            "ros: {node_name: b, namespace: /}\n\
             from_ros:\n  - topic: /chatter\n    type: std_msgs/msg/String\n    output: chatter\n    qos: sensor_data\n\
             to_ros:\n  - input: cmd\n    topic: /cmd_vel\n    type: geometry_msgs/msg/Twist\n    qos: {reliability: reliable, depth: 5, deadline: 100ms}\n\
             liveness: {watch: [/talker], grace: 500ms, on_lost: report, report_output: live}\n\
             dora_failures: {diagnostics_topic: /diagnostics}\n\
             shutdown: {on_signal: exit}\n",
        )
        .unwrap();
        assert_eq!(c.from_ros[0].qos, QosSetting::SensorData);
        match &c.to_ros[0].qos {
            QosSetting::Custom(p) => assert_eq!(p.deadline, Some(Duration::from_millis(100))),
            other => panic!("{other:?}"),
        }
        assert_eq!(c.shutdown.on_signal, OnSignal::Exit);
    }

    #[test]
    fn rates_are_an_interval_and_bad_ones_are_errors() {
        let config = Config::from_yaml(
            "from_ros:\n  - {topic: /a, output: a, max_rate: 10}\n  - {topic: /b, output: b, min_interval: 250ms}\n\
             to_ros:\n  - {input: c, topic: /c, type: std_msgs/msg/String, max_rate: 4}\n",
        )
        .unwrap();
        assert_eq!(
            config.from_ros[0].min_interval,
            Some(Duration::from_millis(100))
        );
        assert_eq!(
            config.from_ros[1].min_interval,
            Some(Duration::from_millis(250))
        );
        assert_eq!(
            config.to_ros[0].interval(),
            Some(Duration::from_millis(250))
        );
        for (yaml, says) in [
            (
                "from_ros:\n  - {topic: /a, output: a, max_rate: 0}\n",
                "max_rate: must be a positive",
            ),
            (
                "from_ros:\n  - {topic: /a, output: a, max_rate: 5, min_interval: 1s}\n",
                "not both",
            ),
            (
                "to_ros:\n  - {input: c, topic: /c, type: std_msgs/msg/String, min_interval: 0s}\n",
                "to_ros[0]: min_interval: must be longer than 0",
            ),
        ] {
            let err = format!("{:#}", Config::from_yaml(yaml).unwrap_err());
            assert!(err.contains(says), "{says}: {err}");
        }
    }

    #[test]
    fn unknown_key_names_key_and_line() {
        let err = Config::from_yaml("from_ros:\n  - topic: /a\n    output: a\n    topik: x\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("topik") && err.contains("line 4"), "{err}");
        assert!(err.contains("(did you mean `topic`?)"), "{err}");
        let err = Config::from_yaml("form_ros: []\n").unwrap_err().to_string();
        assert!(err.contains("(did you mean `from_ros`?)"), "{err}");
        let err = Config::from_yaml("cameras: []\n").unwrap_err().to_string();
        assert!(!err.contains("did you mean"), "{err}");
    }

    #[test]
    fn duplicates_and_bad_names_are_errors() {
        let dup = "from_ros:\n  - {topic: /a, output: x}\n  - {topic: /b, output: x}\n";
        assert!(format!("{:#}", Config::from_yaml(dup).unwrap_err()).contains("more than one"));
        let bad = "to_ros:\n  - {input: i, topic: /a, type: not-a-type}\n";
        // Type names are checked as the file is read: the route, the text
        // and where it stands.
        let bad_type = format!("{:#}", Config::from_yaml(bad).unwrap_err());
        assert!(
            bad_type.contains("to_ros[0]")
                && bad_type.contains("`not-a-type` is not a ROS type name")
                && bad_type.contains("line 2"),
            "{bad_type}"
        );
        assert_eq!(parse_duration("1.5s").unwrap(), Duration::from_millis(1500));
        assert!(parse_duration("10").is_err());
    }

    #[test]
    fn service_routes_parse_with_defaults_and_errors_name_the_route() {
        let c = Config::from_yaml(
            "service_clients:\n  - {service: /add, type: test_msgs/srv/BasicTypes, request: q, response: a}\n\
             service_servers:\n  - {service: set, type: std_srvs/srv/SetBool, request: sq, response: sa, timeout: 2s}\n",
        )
        .unwrap();
        let client = &c.service_clients[0];
        assert_eq!(client.timeout, Duration::from_secs(5));
        assert_eq!(client.max_in_flight, 10);
        assert_eq!(c.service_servers[0].timeout, Duration::from_secs(2));
        let error = |yaml: &str| format!("{:#}", Config::from_yaml(yaml).unwrap_err());
        let msg_type = error(
            "service_clients:\n  - {service: /a, type: std_msgs/msg/String, request: q, response: a}\n",
        );
        assert!(
            msg_type.contains("service_clients[0]")
                && msg_type.contains("not a service type")
                && msg_type.contains("line 2"),
            "{msg_type}"
        );
        let reused = error(
            "to_ros:\n  - {input: q, topic: /t, type: std_msgs/msg/String}\n\
             service_clients:\n  - {service: /a, type: std_srvs/srv/SetBool, request: q, response: a}\n",
        );
        assert!(
            reused.contains("service_clients[0]") && reused.contains("`q`"),
            "{reused}"
        );
        let zero = error(
            "service_clients:\n  - {service: /a, type: std_srvs/srv/SetBool, request: q, response: a, max_in_flight: 0}\n",
        );
        assert!(zero.contains("max_in_flight"), "{zero}");
    }

    #[test]
    fn action_routes_parse_with_defaults_and_errors_name_the_route() {
        let c = Config::from_yaml(
            "action_clients:\n  - {action: /fib, type: test_msgs/action/Fibonacci, goal: g, feedback: f, result: r}\n\
             action_servers:\n  - {action: count, type: test_msgs/action/Fibonacci, goal: sg, cancel: sc, feedback: sf, result: sr}\n",
        )
        .unwrap();
        let client = &c.action_clients[0];
        assert_eq!(client.timeout, Duration::from_secs(5));
        assert_eq!(
            (client.cancel.as_deref(), client.status.as_deref()),
            (None, None)
        );
        assert_eq!(c.action_servers[0].result_timeout, Duration::from_secs(10));
        assert_eq!(c.action_servers[0].accept, None);
        let error = |yaml: &str| format!("{:#}", Config::from_yaml(yaml).unwrap_err());
        let srv_type = error(
            "action_clients:\n  - {action: /a, type: std_srvs/srv/SetBool, goal: g, feedback: f, result: r}\n",
        );
        assert!(
            srv_type.contains("action_clients[0]")
                && srv_type.contains("not an action type")
                && srv_type.contains("line 2"),
            "{srv_type}"
        );
        let reused = error(
            "action_clients:\n  - {action: /a, type: test_msgs/action/Fibonacci, goal: g, feedback: f, result: r}\n\
             action_servers:\n  - {action: /b, type: test_msgs/action/Fibonacci, goal: f, cancel: c, feedback: x, result: y}\n",
        );
        assert!(
            reused.contains("action_servers[0]") && reused.contains("`f`"),
            "{reused}"
        );
        let missing =
            error("action_servers:\n  - {action: /b, type: test_msgs/action/Fibonacci, goal: g}\n");
        assert!(missing.contains("cancel"), "{missing}");
    }

    #[test]
    fn sizes_take_plain_bytes_and_both_unit_families() {
        assert_eq!(parse_size("4096").unwrap(), 4096);
        assert_eq!(parse_size("20kB").unwrap(), 20 * 1024);
        assert_eq!(parse_size("1.5 MB").unwrap(), 1536 * 1024);
        assert_eq!(parse_size("1GiB").unwrap(), 1 << 30);
        assert!(parse_size("0").is_err());
        assert!(parse_size("12 parsecs").unwrap_err().contains("parsecs"));
        let c =
            Config::from_yaml("record: {bag: out, max_bag_size: 512MiB, max_bag_duration: 5m}\n")
                .unwrap();
        let record = c.record.unwrap();
        assert_eq!(record.max_bag_size, Some(512 << 20));
        assert_eq!(record.max_bag_duration, Some(Duration::from_secs(300)));
        let c = Config::from_yaml("record: {bag: out, max_bag_size: 1000000}\n").unwrap();
        assert_eq!(c.record.unwrap().max_bag_size, Some(1_000_000));
        let err = format!(
            "{:#}",
            Config::from_yaml("record: {bag: out, max_bag_size: lots}\n").unwrap_err()
        );
        assert!(err.contains("lots"), "{err}");
    }

    #[test]
    fn topic_or_match_is_parsed_into_one_selector_with_errors_naming_the_line() {
        let c = Config::from_yaml(
            "from_ros:\n  - {topic: /a, output: a}\n  - {match: '^/cam/.*', output: cams}\n",
        )
        .unwrap();
        assert!(matches!(&c.from_ros[0].source, TopicSelector::Topic(t) if t == "/a"));
        assert!(c.from_ros[1].source.matches("/cam/front"));
        assert!(!c.from_ros[1].source.matches("/scan"));
        for (yaml, expected) in [
            ("{topic: /a, match: x, output: a}", "not both"),
            ("{output: a}", "needs `topic`"),
            ("{match: '(', output: a}", "invalid regular expression"),
            ("{topic: '/9bad', output: a}", "not a valid ROS topic name"),
        ] {
            let err = format!(
                "{:#}",
                Config::from_yaml(&format!("from_ros:\n  - {yaml}\n")).unwrap_err()
            );
            // serde names the section and the line of the route.
            assert!(
                err.contains("from_ros") && err.contains("line 2") && err.contains(expected),
                "{yaml}: {err}"
            );
        }
    }
}
