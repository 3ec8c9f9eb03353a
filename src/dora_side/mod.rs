//! The dora side: connecting as a node, checking the config against the
//! dataflow, and the metadata each output carries.

pub mod delivery;

use crate::config::Config;
use crate::config::table::Role;
use crate::flow::Received;
use anyhow::bail;
use dora_node_api::dora_core::config::NodeId;
use dora_node_api::{DoraNode, EventStream, MetadataParameters, Parameter};

/// Metadata keys on every message the bridge sends into dora.
pub const META_TOPIC: &str = "ros_topic";
pub const META_TYPE: &str = "ros_type";
pub const META_SOURCE_TIMESTAMP: &str = "ros_source_timestamp_ns";
pub const META_RECEIVED_TIMESTAMP: &str = "ros_received_timestamp_ns";
pub const META_PUBLISHER_GID: &str = "ros_publisher_gid";
pub const META_SEQUENCE: &str = "ros_publication_sequence_number";
pub const META_PUBLISHER_NODE: &str = "ros_publisher_node";
/// The bag a replayed message came from.
pub const META_BAG: &str = "ros_bag";
/// The bridge's ROS time when it took the message (sim time with `use_sim_time`).
pub const META_ROS_TIME: &str = "ros_time_ns";
/// Which clock `ros_time_ns` is: `sim` or `system`.
pub const META_ROS_TIME_SOURCE: &str = "ros_time_source";
/// Per row of a multi-row message (`batch`): source timestamps (0: unknown).
pub const META_SOURCE_TIMESTAMPS: &str = "ros_source_timestamps_ns";
/// Per row of a multi-row message: reception timestamps (0: unknown).
pub const META_RECEIVED_TIMESTAMPS: &str = "ros_received_timestamps_ns";
/// Per row of a multi-row message: publication sequence numbers (0: unknown).
pub const META_SEQUENCES: &str = "ros_publication_sequence_numbers";
/// Per output, the bridge numbers what it sends 1, 2, 3, ...: a node that
/// passes metadata on lets a `to_ros` route (or anyone) see what dora lost.
pub const META_BRIDGE_SEQ: &str = "bridge_seq";
/// Which numbering `bridge_seq` belongs to: `<bridge node id>/<output>`.
pub const META_BRIDGE_STREAM: &str = "bridge_stream";
/// A service call's id: on a `service_clients` request (optional) and its
/// response; on a `service_servers` request and the handler's answer.
pub const META_REQUEST_ID: &str = "request_id";
/// Why a call failed, on a `service_clients` response (whose row is then empty).
pub const META_ERROR: &str = "error";
/// What kind of failure `error` is, for nodes to act on without reading
/// the text: on `tf_lookups` and `parameter_clients` answers.
pub const META_ERROR_CODE: &str = "error_code";

/// An action goal's id (32 hex digits): on every action row both ways.
pub const META_GOAL_ID: &str = "goal_id";
/// A goal's status, lower case: on `action_clients` results and status
/// rows, and on an `action_servers` handler's result (default `succeeded`).
pub const META_STATUS: &str = "status";

/// A string parameter of a row's metadata (an integer is taken as text).
pub fn text_parameter(params: &MetadataParameters, key: &str) -> Option<String> {
    match params.get(key)? {
        Parameter::String(text) => Some(text.clone()),
        Parameter::Integer(number) => Some(number.to_string()),
        _ => None,
    }
}

/// Metadata of an action row: its goal, and maybe a status and an error.
pub fn goal_metadata(
    goal_id: &str,
    status: Option<&str>,
    error: Option<&str>,
) -> MetadataParameters {
    let mut params = MetadataParameters::default();
    params.insert(META_GOAL_ID.into(), Parameter::String(goal_id.to_string()));
    if let Some(status) = status {
        params.insert(META_STATUS.into(), Parameter::String(status.to_string()));
    }
    if let Some(error) = error {
        params.insert(META_ERROR.into(), Parameter::String(error.to_string()));
    }
    params
}

/// The `request_id` a dora node put on a row (a string, or an integer).
pub fn request_id(params: &MetadataParameters) -> Option<String> {
    match params.get(META_REQUEST_ID)? {
        Parameter::String(id) => Some(id.clone()),
        Parameter::Integer(id) => Some(id.to_string()),
        _ => None,
    }
}

/// Metadata of a service row: its `request_id`, and `error` if it failed.
pub fn call_metadata(request_id: &str, error: Option<&str>) -> MetadataParameters {
    let mut params = MetadataParameters::default();
    params.insert(
        META_REQUEST_ID.into(),
        Parameter::String(request_id.to_string()),
    );
    if let Some(error) = error {
        params.insert(META_ERROR.into(), Parameter::String(error.to_string()));
    }
    params
}

/// Numbers the messages of each output the bridge sends into dora.
pub struct OutputNumbering {
    streams: Vec<(String, u64)>,
}

impl OutputNumbering {
    /// One numbering per output, in route order.
    pub fn new<'a>(node_id: &str, outputs: impl IntoIterator<Item = &'a str>) -> Self {
        OutputNumbering {
            streams: outputs
                .into_iter()
                .map(|output| (format!("{node_id}/{output}"), 0))
                .collect(),
        }
    }

    /// Numbers a message of `rows` rows on output `index`: it takes the
    /// next `rows` numbers and carries the first.
    pub fn stamp(&mut self, index: usize, params: &mut MetadataParameters, rows: usize) {
        let (stream, last) = &mut self.streams[index];
        let first = *last + 1;
        *last += rows.max(1) as u64;
        params.insert(
            META_BRIDGE_SEQ.into(),
            Parameter::Integer(first.min(i64::MAX as u64) as i64),
        );
        params.insert(META_BRIDGE_STREAM.into(), Parameter::String(stream.clone()));
    }
}

/// The bridge numbering a message carries, if a node passed it on.
pub fn bridge_sequence(params: &MetadataParameters) -> Option<(&str, u64)> {
    let Some(Parameter::String(stream)) = params.get(META_BRIDGE_STREAM) else {
        return None;
    };
    let Some(Parameter::Integer(seq)) = params.get(META_BRIDGE_SEQ) else {
        return None;
    };
    Some((stream.as_str(), u64::try_from(*seq).ok()?))
}

/// `text` with every character that is not ASCII alphanumeric or `_`
/// replaced by `_`: valid in dora ids and ROS names alike.
pub fn identifier(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Connects to the dora daemon: as the node it spawned (`DORA_NODE_CONFIG`),
/// or as dynamic node `dynamic_id` when started by someone else.
pub fn connect(dynamic_id: Option<&str>) -> anyhow::Result<(DoraNode, EventStream)> {
    match dynamic_id {
        Some(id) => DoraNode::init_from_node_id(NodeId::from(id.to_string())).map_err(|e| {
            anyhow::anyhow!(
                "cannot connect to dora as dynamic node `{id}`: {e}\n\
                 Is a dataflow with a node `id: {id}`, `path: dynamic` running (dora up; dora start)?"
            )
        }),
        None => {
            if std::env::var_os("DORA_NODE_CONFIG").is_none() {
                bail!(
                    "not started by dora: DORA_NODE_CONFIG is not set.\n\
                     Declare the bridge as a node in a dataflow YAML and run it with `dora run`, \
                     or start it with `--dynamic <node id>` for a `path: dynamic` node."
                );
            }
            DoraNode::init_from_env_force().map_err(|e| anyhow::anyhow!("cannot connect to dora: {e}"))
        }
    }
}

/// Every route's output and input must be declared for this node in the
/// dataflow YAML; dora would otherwise drop the data silently.
pub fn check_against_dataflow(node: &DoraNode, config: &Config) -> anyhow::Result<()> {
    let run = node.node_config();
    let outputs: Vec<String> = run.outputs.iter().map(|o| o.to_string()).collect();
    let inputs: Vec<String> = run.inputs.keys().map(|i| i.to_string()).collect();
    let problems = undeclared(config, node.id().as_ref(), &outputs, &inputs);
    if problems.is_empty() {
        Ok(())
    } else {
        bail!(
            "the config does not match the dataflow:\n  {}",
            problems.join("\n  ")
        )
    }
}

/// The config's outputs and inputs that node `node_id` does not declare.
pub fn undeclared(
    config: &Config,
    node_id: &str,
    outputs: &[String],
    inputs: &[String],
) -> Vec<String> {
    let mut problems = Vec::new();
    for route in config.route_table() {
        for end in &route.ends {
            let declared = match end.role {
                Role::Input => inputs,
                Role::Output => outputs,
            };
            if !declared.iter().any(|d| d == end.id) {
                problems.push(format!(
                    "{}.{} `{}` is not declared under `{}:` of node `{node_id}` (declared: [{}])",
                    route.id,
                    end.key,
                    end.id,
                    end.role.section(),
                    declared.join(", ")
                ));
            }
        }
    }
    let report = config
        .liveness
        .as_ref()
        .and_then(|l| l.report_output.as_ref());
    let extras = [
        ("liveness.report_output", report),
        ("clock.output", config.clock.as_ref().map(|c| &c.output)),
    ];
    for (key, id) in extras {
        if let Some(id) = id
            && !outputs.contains(id)
        {
            problems.push(format!(
                "{key} `{id}` is not declared under `outputs:` of node `{node_id}`"
            ));
        }
    }
    problems
}

/// Whether dora node `other` runs on another machine than this node (their
/// `deploy.machine` in the dataflow differ). dora does not forward
/// `NodeFailed` between machines: such a node's end shows only as
/// `InputClosed`.
pub fn on_another_machine(node: &DoraNode, other: &str) -> bool {
    let Ok(dataflow) = node.dataflow_descriptor() else {
        return false;
    };
    let machine = |id: &str| {
        dataflow
            .nodes
            .iter()
            .find(|n| n.id.as_ref() == id)
            .and_then(|n| n.deploy.as_ref())
            .and_then(|d| d.machine.clone())
    };
    machine(other) != machine(node.id().as_ref())
}

/// Warns, once per input at start, about every dora input through which a
/// reliable service or action route can lose messages silently, and every
/// `input_timeout` dora checks too seldom to honour, with the YAML that
/// fixes it. Returns those of topic routes, whose advice waits for the
/// size of their messages ([`AdviceOnSize`]).
pub fn warn_lossy_delivery(node: &DoraNode, config: &Config) -> Vec<delivery::LossyInput> {
    let dataflow = match node.dataflow_descriptor() {
        Ok(d) => d,
        Err(e) => {
            tracing::debug!("cannot check the dataflow's delivery settings: {e}");
            return Vec::new();
        }
    };
    let replay = config.replay.is_some();
    let (topics, others): (Vec<_>, Vec<_>) =
        delivery::lossy_inputs(dataflow, node.id().as_ref(), config, replay)
            .into_iter()
            .partition(|l| l.topic_route.is_some());
    for lossy in others {
        tracing::warn!("{}", lossy.advice(None));
    }
    let bridge = dataflow.nodes.iter().find(|n| n.id == *node.id());
    for coarse in bridge.map_or_else(Vec::new, |b| delivery::coarse_input_deadlines(dataflow, b)) {
        tracing::warn!("{coarse}");
    }
    topics
}

/// A topic route's lossless-delivery advice is said once the route has
/// carried messages (sized by them), or after this long without.
const ADVICE_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// What a topic route has shown of itself, for its advice.
pub enum RouteSeen {
    /// The mean CDR bytes of its messages so far.
    MeanSize(f64),
    /// Its subscription is best effort now (`qos: auto`): nothing to advise.
    NotReliable,
}

/// Lossy inputs of topic routes whose advice is still to be said.
pub struct AdviceOnSize {
    pending: Vec<delivery::LossyInput>,
    since: std::time::Instant,
}

impl AdviceOnSize {
    pub fn new(pending: Vec<delivery::LossyInput>) -> Self {
        AdviceOnSize {
            pending,
            since: std::time::Instant::now(),
        }
    }

    /// Says the advice of every route `seen` knows a size for, and of all
    /// once the wait is over; drops that of routes now best effort.
    pub fn say_ready(&mut self, seen: impl Fn(delivery::TopicRoute) -> Option<RouteSeen>) {
        let waited = self.since.elapsed() >= ADVICE_WAIT;
        self.pending.retain(|lossy| {
            let size = match lossy.topic_route.and_then(&seen) {
                Some(RouteSeen::NotReliable) => return false,
                Some(RouteSeen::MeanSize(bytes)) => Some(bytes),
                None if !waited => return true,
                None => None,
            };
            tracing::warn!("{}", lossy.advice(size));
            false
        });
    }
}

/// What every message from ROS (or a bag) carries: topic, type, rmw's info.
pub fn message_metadata(received: &Received) -> MetadataParameters {
    let info = &received.info;
    let mut params = MetadataParameters::default();
    params.insert(
        META_TOPIC.into(),
        Parameter::String(received.topic.to_string()),
    );
    params.insert(
        META_TYPE.into(),
        Parameter::String(received.type_name.to_string()),
    );
    if info.source_timestamp_ns != 0 {
        params.insert(
            META_SOURCE_TIMESTAMP.into(),
            Parameter::Integer(info.source_timestamp_ns),
        );
    }
    if info.received_timestamp_ns != 0 {
        params.insert(
            META_RECEIVED_TIMESTAMP.into(),
            Parameter::Integer(info.received_timestamp_ns),
        );
    }
    if info.publication_sequence_number != 0 {
        params.insert(
            META_SEQUENCE.into(),
            Parameter::Integer(info.publication_sequence_number.min(i64::MAX as u64) as i64),
        );
    }
    if info.publisher_gid.iter().any(|&b| b != 0) {
        let hex: String = info
            .publisher_gid
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        params.insert(META_PUBLISHER_GID.into(), Parameter::String(hex));
    }
    if let Some(node) = &received.publisher_node {
        params.insert(
            META_PUBLISHER_NODE.into(),
            Parameter::String(node.to_string()),
        );
    }
    if let Some(bag) = &received.bag {
        params.insert(META_BAG.into(), Parameter::String(bag.to_string()));
    }
    if let Some((ns, source)) = info.ros_time {
        params.insert(META_ROS_TIME.into(), Parameter::Integer(ns));
        params.insert(
            META_ROS_TIME_SOURCE.into(),
            Parameter::String(source.name().into()),
        );
    }
    params
}

/// Per-row lists for a message of several rows (a route with `batch`):
/// the scalar keys of [`message_metadata`] describe its first row.
pub fn row_metadata(params: &mut MetadataParameters, rows: &[Received]) {
    let list = |value: fn(&Received) -> i64| Parameter::ListInt(rows.iter().map(value).collect());
    params.insert(
        META_SOURCE_TIMESTAMPS.into(),
        list(|r| r.info.source_timestamp_ns),
    );
    params.insert(
        META_RECEIVED_TIMESTAMPS.into(),
        list(|r| r.info.received_timestamp_ns),
    );
    params.insert(
        META_SEQUENCES.into(),
        list(|r| r.info.publication_sequence_number.min(i64::MAX as u64) as i64),
    );
}

/// dora-node-api 1.1's shared-memory pool per node when neither the node's
/// `shared_memory_pool_size` nor `DORA_NODE_SHM_POOL_SIZE` sets one.
const DORA_DEFAULT_SHM_POOL: usize = 8 << 20;
/// A pool should hold this many messages of an output: they stay in it until
/// every receiver has dropped them.
const POOL_SLOTS_WANTED: usize = 4;

/// Looks after this node's dora shared-memory pool: warms up a pool the
/// user sized, and notices outputs too large for it. dora
/// does not fail then: it quietly copies each message through the heap and
/// its network path instead (measured: 1080p at 90 Hz lost twice as many
/// frames, at more CPU). So say once per output how to size the pool.
pub struct ShmPoolAdvisor {
    pool: usize,
    sized_by_user: bool,
    warned: crate::throttle::SayOnce,
}

impl ShmPoolAdvisor {
    pub fn new(node: &DoraNode) -> Self {
        let sized = node
            .node_config()
            .shared_memory_pool_size
            .map(|size| size.as_bytes())
            .or_else(|| std::env::var("DORA_NODE_SHM_POOL_SIZE").ok()?.parse().ok());
        ShmPoolAdvisor {
            pool: sized.unwrap_or(DORA_DEFAULT_SHM_POOL),
            sized_by_user: sized.is_some(),
            warned: Default::default(),
        }
    }

    /// Touches most of a pool the user sized (so meant for large messages)
    /// once, at start: otherwise the first large messages pay for faulting
    /// its pages in, just when DDS is also warming up (measured: 60 Hz 1080p
    /// runs without a lost frame went from 4 to 8 of 10). dora's default
    /// pool is left alone: a bridge of small messages never fills it.
    pub fn warm_up(&self, node: &mut DoraNode) {
        if !self.sized_by_user {
            return;
        }
        let started = std::time::Instant::now();
        let chunk = self.pool / 8;
        // Held until the end, so each allocation takes fresh pages; 7/8 of
        // the pool leaves room for dora's own bookkeeping.
        let mut held = Vec::new();
        for _ in 0..7 {
            match node.allocate_data_sample(chunk) {
                Ok(mut sample) => {
                    sample.fill(0);
                    held.push(sample);
                }
                Err(e) => {
                    tracing::debug!("warming up dora's shared-memory pool stopped: {e}");
                    break;
                }
            }
        }
        tracing::info!(
            "dora shared-memory pool of {} MB warmed up in {} ms",
            self.pool >> 20,
            started.elapsed().as_millis()
        );
    }

    /// `bytes`: the size of one message about to be sent on `output`.
    pub fn check(&mut self, output: &str, topic: &str, bytes: usize) {
        if bytes.saturating_mul(POOL_SLOTS_WANTED) <= self.pool || !self.warned.first(output) {
            return;
        }
        let suggested_mb = bytes
            .saturating_mul(2 * POOL_SLOTS_WANTED)
            .div_ceil(1 << 20)
            .next_power_of_two();
        tracing::warn!(
            "{topic}: messages of {:.1} MB on output `{output}` leave room for fewer than {POOL_SLOTS_WANTED} \
             in this node's dora shared-memory pool ({} MB), so dora copies them through the heap \
             instead (more CPU, more dropped frames under load). Set `shared_memory_pool_size: \
             {suggested_mb}MB` on the bridge node in the dataflow.",
            bytes as f64 / (1 << 20) as f64,
            self.pool >> 20
        );
    }
}
