//! Which dora inputs a reliable route feeds, or is fed from, through dora's
//! default delivery, which drops silently under bursts (its direct path
//! and `drop_oldest` queues), and the YAML that makes them lossless.

use crate::config::Config;
use dora_message::config::{Input, InputMapping, QueuePolicy};
use dora_message::descriptor::{Descriptor, Node};

/// The `queue_size` suggested with `queue_policy: backpressure`: dora then
/// buffers up to ten times this before it drops (and logs an ERROR).
pub const LOSSLESS_QUEUE_SIZE: usize = 100;

/// dora's `queue_size` when the YAML gives none.
const DORA_DEFAULT_QUEUE_SIZE: usize = 10;

/// dora with backpressure buffers up to ten times `queue_size`.
const BUFFERED_PER_QUEUE_SLOT: usize = 10;

/// The most memory the suggested queue may hold at the message size seen:
/// 100 messages of a 0.9 MB camera would be 0.9 GB.
const BUFFER_BUDGET_BYTES: f64 = 100e6;

/// Messages this large are a sensor stream (images, clouds), for which
/// best effort is the usual choice.
const STREAM_MESSAGE_BYTES: f64 = 64e3;

/// A topic route, by its index in the config.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TopicRoute {
    FromRos(usize),
    ToRos(usize),
}

/// A dora input on a route's path that can lose messages silently.
#[derive(Debug, Clone, PartialEq)]
pub struct LossyInput {
    /// The route, as in log lines: `from_ros[0] (/chatter)`.
    pub route: String,
    /// Set for topic routes, whose advice depends on their message size.
    pub topic_route: Option<TopicRoute>,
    /// The node that owns the input (a consumer, or the bridge itself).
    pub node: String,
    pub input: String,
    /// `node/output` the input reads.
    pub source: String,
    pub queue_size: Option<usize>,
}

impl LossyInput {
    /// What to tell the user: the risk, the YAML to set, where the cost
    /// is. With `message_bytes` (the mean size seen on the route), the
    /// queue is sized so that what dora may buffer stays near 100 MB, the
    /// memory is said, and large messages get `qos: sensor_data` as the
    /// other way.
    pub fn advice(&self, message_bytes: Option<f64>) -> String {
        let current = self.queue_size.unwrap_or(DORA_DEFAULT_QUEUE_SIZE);
        let size = suggested_queue_size(current, message_bytes);
        let buffered = BUFFERED_PER_QUEUE_SLOT * size;
        let memory = message_bytes.map_or(String::new(), |bytes| {
            format!(
                ": about {} at the {} per message seen",
                crate::stats::describe_bytes(bytes * buffered as f64),
                crate::stats::describe_bytes(bytes)
            )
        });
        let stream = match (message_bytes, self.topic_route) {
            (Some(bytes), Some(TopicRoute::FromRos(_))) if bytes >= STREAM_MESSAGE_BYTES => {
                " For a sensor stream where the newest message matters more than every one, \
                 `qos: sensor_data` on the route instead keeps the latest few and buffers \
                 nothing (what it drops is counted as dropped_by_middleware)."
            }
            _ => "",
        };
        format!(
            "{route} is reliable on the ROS side, but dora input `{input}` of node `{node}` \
             takes it with dora's default delivery (drop_oldest, queue_size {current}): \
             a burst or a busy machine loses messages there and nobody is told. \
             For lossless delivery, give node `{node}`:\n\
             \x20   inputs:\n\
             \x20     {input}:\n\
             \x20       source: {source}\n\
             \x20       queue_policy: backpressure\n\
             \x20       queue_size: {size}\n\
             (dora then buffers up to {buffered} messages for this input instead of \
             dropping{memory}; the latency cost is measured in docs/performance.md, \"Lossless delivery\").\
             {stream}",
            route = self.route,
            input = self.input,
            node = self.node,
            source = self.source,
        )
    }
}

/// At least the lossless default (100), fewer for large messages so that
/// dora's buffer stays within the budget; never below what is set or 2.
fn suggested_queue_size(current: usize, message_bytes: Option<f64>) -> usize {
    let within_budget = message_bytes
        .filter(|&b| b > 0.0)
        .map_or(LOSSLESS_QUEUE_SIZE, |bytes| {
            (BUFFER_BUDGET_BYTES / (bytes * BUFFERED_PER_QUEUE_SLOT as f64)) as usize
        });
    within_budget.clamp(2, LOSSLESS_QUEUE_SIZE).max(current)
}

/// Every dora input through which a reliable route of `config` (run as
/// node `bridge` of `dataflow`) can lose messages. With `replay`, every
/// route counts as reliable: a bag loses nothing on its own.
pub fn lossy_inputs(
    dataflow: &Descriptor,
    bridge: &str,
    config: &Config,
    replay: bool,
) -> Vec<LossyInput> {
    // (route, the bridge's outputs on its path, the bridge's inputs on it)
    let mut paths: Vec<(String, Vec<&str>, Vec<&str>)> = Vec::new();
    let mut topic_routes: Vec<(String, TopicRoute)> = Vec::new();
    for (i, route) in config.from_ros.iter().enumerate() {
        if replay || route.qos.is_reliable() {
            let label = format!("from_ros[{i}] ({})", route.describe());
            topic_routes.push((label.clone(), TopicRoute::FromRos(i)));
            paths.push((label, vec![route.output.as_str()], vec![]));
        }
    }
    for (i, route) in config.to_ros.iter().enumerate() {
        if route.qos.is_reliable() {
            let label = format!("to_ros[{i}] ({})", route.topic);
            topic_routes.push((label.clone(), TopicRoute::ToRos(i)));
            paths.push((label, vec![], vec![route.input.as_str()]));
        }
    }
    // A call or an answer dropped in dora is a call that never returns.
    for (i, route) in config.service_clients.iter().enumerate() {
        let label = format!("service_clients[{i}] ({})", route.service);
        paths.push((
            label,
            vec![route.response.as_str()],
            vec![route.request.as_str()],
        ));
    }
    for (i, route) in config.parameter_clients.iter().enumerate() {
        let label = format!("parameter_clients[{i}] ({})", route.node);
        paths.push((
            label,
            vec![route.response.as_str()],
            vec![route.request.as_str()],
        ));
    }
    for (i, route) in config.service_servers.iter().enumerate() {
        let label = format!("service_servers[{i}] ({})", route.service);
        paths.push((
            label,
            vec![route.request.as_str()],
            vec![route.response.as_str()],
        ));
    }
    // A goal, cancel, feedback or result dropped in dora leaves a goal
    // that never ends, or ends without its handler's word.
    for (i, route) in config.action_clients.iter().enumerate() {
        let label = format!("action_clients[{i}] ({})", route.action);
        let mut outputs = vec![route.feedback.as_str(), route.result.as_str()];
        outputs.extend(route.status.as_deref());
        let mut inputs = vec![route.goal.as_str()];
        inputs.extend(route.cancel.as_deref());
        paths.push((label, outputs, inputs));
    }
    for (i, route) in config.action_servers.iter().enumerate() {
        let label = format!("action_servers[{i}] ({})", route.action);
        paths.push((
            label,
            vec![route.goal.as_str(), route.cancel.as_str()],
            vec![route.feedback.as_str(), route.result.as_str()],
        ));
    }
    let bridge_node = dataflow.nodes.iter().find(|n| n.id.as_ref() == bridge);
    let mut lossy = Vec::new();
    for (label, outputs, inputs) in paths {
        for output in outputs {
            lossy.extend(lossy_consumers(dataflow, bridge, output, &label));
        }
        for input in inputs {
            lossy.extend(bridge_node.and_then(|node| lossy_bridge_input(node, input, &label)));
        }
    }
    for input in &mut lossy {
        input.topic_route = topic_routes
            .iter()
            .find(|(label, _)| *label == input.route)
            .map(|(_, route)| *route);
    }
    lossy
}

/// The inputs of any node that read `bridge/output` with dora's default delivery.
fn lossy_consumers(
    dataflow: &Descriptor,
    bridge: &str,
    output: &str,
    route: &str,
) -> Vec<LossyInput> {
    let mut lossy = Vec::new();
    for node in &dataflow.nodes {
        for (input_id, input) in &node.inputs {
            let InputMapping::User(mapping) = &input.mapping else {
                continue;
            };
            if mapping.source.as_ref() == bridge
                && AsRef::<str>::as_ref(&mapping.output) == output
                && !is_lossless(input)
            {
                lossy.push(LossyInput {
                    route: route.to_string(),
                    topic_route: None,
                    node: node.id.to_string(),
                    input: input_id.to_string(),
                    source: input.mapping.to_string(),
                    queue_size: input.queue_size,
                });
            }
        }
    }
    lossy
}

/// The bridge's own input `input`, if it takes data with dora's default delivery.
fn lossy_bridge_input(bridge: &Node, input: &str, route: &str) -> Option<LossyInput> {
    let (input_id, input) = bridge
        .inputs
        .iter()
        .find(|(id, _)| AsRef::<str>::as_ref(*id) == input)?;
    // A timer or log input is not a route's data.
    if !matches!(input.mapping, InputMapping::User(_)) || is_lossless(input) {
        return None;
    }
    Some(LossyInput {
        route: route.to_string(),
        topic_route: None,
        node: bridge.id.to_string(),
        input: input_id.to_string(),
        source: input.mapping.to_string(),
        queue_size: input.queue_size,
    })
}

fn is_lossless(input: &Input) -> bool {
    input.queue_policy == Some(QueuePolicy::Backpressure)
}

/// dora's `health_check_interval` when the dataflow gives none (seconds).
const DORA_DEFAULT_HEALTH_CHECK_INTERVAL: f64 = 5.0;

/// One warning per input of node `bridge` whose `input_timeout` is shorter
/// than the dataflow's `health_check_interval`: dora's daemon checks input
/// deadlines only on that tick, so a stall shorter than the interval can
/// go unseen and the bridge never withdraws its route.
pub fn coarse_input_deadlines(dataflow: &Descriptor, bridge: &Node) -> Vec<String> {
    let interval = dataflow
        .health_check_interval
        .unwrap_or(DORA_DEFAULT_HEALTH_CHECK_INTERVAL);
    bridge
        .inputs
        .iter()
        .filter_map(|(id, input)| Some((id, input.input_timeout?)))
        .filter(|(_, timeout)| interval > *timeout)
        .map(|(id, timeout)| {
            format!(
                "input `{id}` of node `{node}` has input_timeout {timeout} s, but dora checks \
                 input deadlines only every {interval} s (the dataflow's health_check_interval{default}): \
                 a stall can last up to {worst} s before the bridge hears of it, and a shorter one \
                 is never seen. Put `health_check_interval: {suggested}` at the top of the dataflow.",
                node = bridge.id,
                default = if dataflow.health_check_interval.is_none() {
                    ", dora's default"
                } else {
                    ""
                },
                worst = timeout + interval,
                suggested = (timeout / 2.0).min(0.5),
            )
        })
        .collect()
}

/// Reads a dataflow YAML file.
pub fn read_dataflow(path: &std::path::Path) -> anyhow::Result<Descriptor> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| anyhow::anyhow!("cannot read dataflow {}: {e}", path.display()))?;
    serde_yaml::from_str(&text)
        .map_err(|e| anyhow::anyhow!("{}: not a dora dataflow: {e}", path.display()))
}

/// The bridge's node in `dataflow`: `id` if given, else the one node whose
/// `path` runs `ros2-dora-bridge`.
pub fn bridge_node<'a>(dataflow: &'a Descriptor, id: Option<&str>) -> anyhow::Result<&'a Node> {
    if let Some(id) = id {
        return dataflow
            .nodes
            .iter()
            .find(|n| n.id.as_ref() == id)
            .ok_or_else(|| anyhow::anyhow!("the dataflow has no node `{id}`"));
    }
    let bridges: Vec<&Node> = dataflow
        .nodes
        .iter()
        .filter(|n| {
            n.path
                .as_deref()
                .is_some_and(|p| p.ends_with("ros2-dora-bridge"))
        })
        .collect();
    match bridges.as_slice() {
        [one] => Ok(one),
        [] => anyhow::bail!(
            "no node of the dataflow runs ros2-dora-bridge (by its `path`); name the bridge's node with --node ID"
        ),
        many => anyhow::bail!(
            "several nodes run ros2-dora-bridge ({}); name the one this config is for with --node ID",
            many.iter()
                .map(|n| n.id.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(text: &str) -> Config {
        Config::from_yaml(text).expect("valid config")
    }

    fn dataflow(text: &str) -> Descriptor {
        serde_yaml::from_str(text).expect("valid dataflow")
    }

    const DATAFLOW: &str = "
nodes:
  - id: bridge
    path: /opt/bin/ros2-dora-bridge
    inputs:
      cmd: planner/cmd
      safe_cmd:
        source: planner/cmd
        queue_policy: backpressure
    outputs: [scan, camera]
  - id: planner
    path: planner.py
    inputs:
      scan: bridge/scan
      scan_logged:
        source: bridge/scan
        queue_size: 1000
        queue_policy: backpressure
      camera: bridge/camera
    outputs: [cmd]
";

    #[test]
    fn reliable_routes_through_default_inputs_are_found_both_ways() {
        let config = config(
            "from_ros:\n  - {topic: /scan, output: scan, qos: default}\n  - {topic: /camera, output: camera, qos: sensor_data}\n\
             to_ros:\n  - {input: cmd, topic: /cmd, type: std_msgs/msg/String}\n  - {input: safe_cmd, topic: /safe, type: std_msgs/msg/String}\n",
        );
        let lossy = lossy_inputs(&dataflow(DATAFLOW), "bridge", &config, false);
        let found: Vec<(&str, &str)> = lossy
            .iter()
            .map(|l| (l.node.as_str(), l.input.as_str()))
            .collect();
        // Not the backpressure inputs, not the best-effort camera.
        assert_eq!(found, [("planner", "scan"), ("bridge", "cmd")]);
        assert_eq!(lossy[0].topic_route, Some(TopicRoute::FromRos(0)));
        assert_eq!(lossy[1].topic_route, Some(TopicRoute::ToRos(0)));
        let advice = lossy[0].advice(None);
        assert!(advice.contains("source: bridge/scan"), "{advice}");
        assert!(advice.contains("queue_policy: backpressure"), "{advice}");
        assert!(advice.contains("queue_size: 100"), "{advice}");
        assert!(!advice.contains("sensor_data"), "{advice}");
        // Small messages: the same queue, and what it may hold.
        let small = lossy[0].advice(Some(100.0));
        assert!(small.contains("queue_size: 100"), "{small}");
        assert!(
            small.contains("about 100.0 kB at the 100 B per message seen"),
            "{small}"
        );
        // A 0.9 MB camera: a queue that holds about 100 MB, and the
        // best-effort alternative.
        let camera = lossy[0].advice(Some(921_600.0));
        assert!(camera.contains("queue_size: 10\n"), "{camera}");
        assert!(
            camera.contains("up to 100 messages for this input instead of dropping: about 92.2 MB"),
            "{camera}"
        );
        assert!(camera.contains("`qos: sensor_data`"), "{camera}");
        // Not for to_ros: the bridge's own input has no QoS to change.
        assert!(!lossy[1].advice(Some(921_600.0)).contains("sensor_data"));
    }

    #[test]
    fn service_calls_and_answers_are_checked_both_ways() {
        let config = config(
            "service_clients:\n  - {service: /add, type: test_msgs/srv/BasicTypes, request: call, response: answer}\n",
        );
        let flow = "nodes:\n\
            \x20 - {id: bridge, path: ros2-dora-bridge, inputs: {call: caller/call}, outputs: [answer]}\n\
            \x20 - id: caller\n    path: caller.py\n    outputs: [call]\n    inputs:\n\
            \x20     answer: {source: bridge/answer, queue_policy: backpressure}\n";
        let lossy = lossy_inputs(&dataflow(flow), "bridge", &config, false);
        let found: Vec<(&str, &str)> = lossy
            .iter()
            .map(|l| (l.node.as_str(), l.input.as_str()))
            .collect();
        assert_eq!(found, [("bridge", "call")]);
        assert!(
            lossy[0].route.starts_with("service_clients[0]"),
            "{lossy:?}"
        );
    }

    #[test]
    fn replay_counts_every_route_as_reliable() {
        let config = config("from_ros:\n  - {topic: /camera, output: camera, qos: sensor_data}\n");
        let lossy = lossy_inputs(&dataflow(DATAFLOW), "bridge", &config, true);
        assert_eq!(lossy.len(), 1);
        assert_eq!(lossy[0].input, "camera");
    }

    #[test]
    fn an_input_timeout_shorter_than_the_health_check_tick_is_flagged() {
        let flow = |top: &str| {
            dataflow(&format!(
                "{top}nodes:\n  - id: bridge\n    path: ros2-dora-bridge\n    inputs:\n      \
                 cmd: {{source: planner/cmd, input_timeout: 1.0}}\n      \
                 slow: {{source: planner/slow, input_timeout: 10.0}}\n      plain: planner/cmd\n"
            ))
        };
        let default = flow("");
        let warnings = coarse_input_deadlines(&default, &default.nodes[0]);
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(warnings[0].contains("input `cmd`"), "{}", warnings[0]);
        assert!(warnings[0].contains("every 5 s"), "{}", warnings[0]);
        assert!(
            warnings[0].contains("health_check_interval: 0.5"),
            "{}",
            warnings[0]
        );
        let fine = flow("health_check_interval: 0.25\n");
        assert!(coarse_input_deadlines(&fine, &fine.nodes[0]).is_empty());
    }

    #[test]
    fn the_bridge_node_is_found_by_its_path_or_named() {
        let df = dataflow(DATAFLOW);
        assert_eq!(bridge_node(&df, None).unwrap().id.as_ref(), "bridge");
        assert_eq!(
            bridge_node(&df, Some("planner")).unwrap().id.as_ref(),
            "planner"
        );
        assert!(bridge_node(&df, Some("nope")).is_err());
    }
}
