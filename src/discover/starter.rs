//! The starter `discover` proposes: one route per topic, service and action
//! found, as a config, and (with `--starter DIR`) a dataflow and a dora
//! node that `dora run` starts as they are: every id declared, reliable
//! topics delivered losslessly, a keepalive timer, and a shared-memory pool
//! sized for large message types.

use super::{ACTION_INFIX, INFRASTRUCTURE, ServiceRow, TopicRow};
use crate::ros::rcl::Reliability;
use anyhow::Context;
use std::collections::HashSet;
use std::fmt::Write;
use std::path::Path;

/// Types whose messages run to megabytes: the bridge node gets a larger
/// dora shared-memory pool (docs/configuration.md, "dora's shared-memory pool").
const LARGE_TYPES: &[&str] = &[
    "sensor_msgs/msg/Image",
    "sensor_msgs/msg/CompressedImage",
    "sensor_msgs/msg/PointCloud2",
    "nav_msgs/msg/OccupancyGrid",
];

/// What a reliable route's consumer input holds with backpressure; fewer
/// for large messages (dora buffers ten times this).
const LOSSLESS_QUEUE: usize = 100;
const LOSSLESS_QUEUE_LARGE: usize = 10;

/// The starter node's file name.
const NODE_FILE: &str = "your_node.py";

struct TopicRoute {
    topic: String,
    type_name: String,
    /// The dora id: an output (from_ros) or an input (to_ros) of the bridge.
    id: String,
    reliable: bool,
}

/// A service or action the bridge calls: `id` names its dora ids.
struct CallRoute {
    name: String,
    type_name: String,
    id: String,
}

pub struct Plan {
    from_ros: Vec<TopicRoute>,
    /// Topics only subscribed to: data a dora node can publish.
    to_ros: Vec<TopicRoute>,
    services: Vec<CallRoute>,
    actions: Vec<CallRoute>,
}

impl Plan {
    pub fn new(rows: &[TopicRow], services: &[ServiceRow], actions: &[ServiceRow]) -> Self {
        let mut ids = Ids::default();
        let mut plan = Plan {
            from_ros: Vec::new(),
            to_ros: Vec::new(),
            services: calls(services, &mut ids),
            actions: calls(actions, &mut ids),
        };
        for row in rows {
            if INFRASTRUCTURE.contains(&row.topic.as_str())
                || row.topic.contains(ACTION_INFIX)
                || row.types.len() != 1
            {
                continue;
            }
            let mut route = |reliable| TopicRoute {
                topic: row.topic.clone(),
                type_name: row.types[0].clone(),
                id: ids.take(&row.topic),
                reliable,
            };
            if !row.publishers.is_empty() {
                let reliable = row
                    .publishers
                    .iter()
                    .all(|p| p.qos.reliability == Reliability::RMW_QOS_POLICY_RELIABILITY_RELIABLE);
                plan.from_ros.push(route(reliable));
            } else if row.subscribers > 0 {
                plan.to_ros.push(route(true));
            }
        }
        plan
    }

    /// The config, with comments on what to declare where.
    pub fn config_text(&self) -> String {
        let mut out = String::from(
            "#\n# Starter config: save it, adjust, then `ros2-dora-bridge check --config FILE`.\n\
             # `ros2-dora-bridge discover --starter DIR` writes it with a dataflow that runs as is.\n",
        );
        out.push_str(&self.config_yaml());
        if !self.from_ros.is_empty() {
            out.push_str(
                "# In the dataflow YAML, the nodes that consume the from_ros outputs (reliable\n\
                 # topics lossless; `ros2-dora-bridge check --config FILE --dataflow DATAFLOW`\n\
                 # checks it):\n#   - id: your_node\n#     inputs:\n",
            );
            for route in &self.from_ros {
                let _ = writeln!(out, "#       {}", consumer_input(route));
            }
        }
        out
    }

    fn config_yaml(&self) -> String {
        let mut out = String::from(
            "# admin: {listen: 127.0.0.1:9791}   # uncomment for `status`, `top` and Prometheus /metrics\n",
        );
        if self.from_ros.is_empty() {
            out.push_str("from_ros: []   # no topics with publishers found\n");
        } else {
            out.push_str("from_ros:\n");
            for r in &self.from_ros {
                let _ = writeln!(
                    out,
                    "  - topic: {}\n    type: {}\n    output: {}\n    qos: auto",
                    r.topic, r.type_name, r.id
                );
            }
        }
        if !self.to_ros.is_empty() {
            out.push_str("# Topics with subscribers and no publisher: what dora nodes may publish.\nto_ros:\n");
            for r in &self.to_ros {
                let _ = writeln!(
                    out,
                    "  - input: {}      # dora input of the bridge: rows of {}\n    topic: {}\n    type: {}",
                    r.id, r.type_name, r.topic, r.type_name
                );
            }
        }
        if !self.services.is_empty() {
            out.push_str("service_clients:\n");
            for c in &self.services {
                let _ = writeln!(
                    out,
                    "  - service: {}\n    type: {}\n    request: {id}_request     # dora input: one row per call\n    \
                     response: {id}_response   # dora output: one answer per call (metadata request_id, error)",
                    c.name,
                    c.type_name,
                    id = c.id
                );
            }
        }
        if !self.actions.is_empty() {
            out.push_str("action_clients:\n");
            for c in &self.actions {
                let _ = writeln!(
                    out,
                    "  - action: {}\n    type: {}\n    goal: {id}_goal           # dora input: one row per goal\n    \
                     feedback: {id}_feedback   # dora output (metadata goal_id)\n    \
                     result: {id}_result       # dora output: one row per goal (metadata goal_id, status)",
                    c.name,
                    c.type_name,
                    id = c.id
                );
            }
        }
        out
    }

    /// The bridge's dora outputs and inputs (besides its keepalive), by
    /// the config's routes.
    fn bridge_ids(&self) -> (Vec<String>, Vec<String>) {
        let mut outputs: Vec<String> = self.from_ros.iter().map(|r| r.id.clone()).collect();
        let mut inputs: Vec<String> = self.to_ros.iter().map(|r| r.id.clone()).collect();
        for c in &self.services {
            inputs.push(format!("{}_request", c.id));
            outputs.push(format!("{}_response", c.id));
        }
        for c in &self.actions {
            inputs.push(format!("{}_goal", c.id));
            outputs.push(format!("{}_feedback", c.id));
            outputs.push(format!("{}_result", c.id));
        }
        (outputs, inputs)
    }

    fn dataflow_yaml(&self, bridge_path: &Path) -> String {
        let (outputs, inputs) = self.bridge_ids();
        let mut out = format!(
            "# Written by `ros2-dora-bridge discover --starter`: `dora run dataflow.yml`.\n\
             nodes:\n  - id: bridge\n    path: {}\n    args: --config bridge.yaml\n",
            bridge_path.display()
        );
        if self.from_ros.iter().any(is_large) {
            out.push_str(
                "    shared_memory_pool_size: 64MB   # large messages: room for several\n",
            );
        }
        out.push_str(
            "    inputs:\n      keepalive: dora/timer/secs/1   # the bridge hears of failures even when nothing else feeds it\n",
        );
        for input in &inputs {
            let _ = writeln!(
                out,
                "      {input}: {{source: your_node/{input}, queue_policy: backpressure, queue_size: {LOSSLESS_QUEUE}}}"
            );
        }
        let _ = writeln!(out, "    outputs: [{}]", outputs.join(", "));
        let _ = writeln!(out, "  - id: your_node\n    path: {NODE_FILE}");
        let consumed: Vec<String> = self
            .from_ros
            .iter()
            .map(consumer_input)
            .chain(
                outputs
                    .iter()
                    .filter(|o| !self.from_ros.iter().any(|r| r.id == **o))
                    .map(|o| {
                        format!(
                            "{o}: {{source: bridge/{o}, queue_policy: backpressure, queue_size: {LOSSLESS_QUEUE}}}"
                        )
                    }),
            )
            .collect();
        if !consumed.is_empty() {
            out.push_str("    inputs:\n");
            for input in consumed {
                let _ = writeln!(out, "      {input}");
            }
        }
        if !inputs.is_empty() {
            let _ = writeln!(out, "    outputs: [{}]", inputs.join(", "));
        }
        out
    }

    /// Writes bridge.yaml, dataflow.yml and your_node.py into `dir`; says
    /// what it wrote and how to start it.
    pub fn write_starter(&self, dir: &Path) -> anyhow::Result<String> {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let bridge = std::env::current_exe().context("cannot tell where this bridge is")?;
        let files = [
            ("bridge.yaml", self.config_yaml()),
            ("dataflow.yml", self.dataflow_yaml(&bridge)),
            (NODE_FILE, STARTER_NODE.to_string()),
        ];
        for (name, text) in &files {
            let path = dir.join(name);
            std::fs::write(&path, text)
                .with_context(|| format!("cannot write {}", path.display()))?;
        }
        Ok(format!(
            "#\n# Wrote {dir}/bridge.yaml, dataflow.yml and {NODE_FILE}; start them with\n\
             #   cd {dir} && dora run dataflow.yml\n",
            dir = dir.display()
        ))
    }
}

/// The dora node the starter runs: says what it gets, sends nothing.
const STARTER_NODE: &str = r#""""Starter dora node from `ros2-dora-bridge discover --starter`: prints what
the bridge sends. Replace it with your own (docs/python.md: the
ros2_dora_bridge package reads these rows as typed messages)."""
from dora import Node


def main():
    node = Node()
    for event in node:
        if event["type"] == "INPUT":
            print(f"{event['id']}: {len(event['value'])} row(s)", flush=True)
        elif event["type"] == "STOP":
            break


if __name__ == "__main__":
    main()
"#;

fn is_large(route: &TopicRoute) -> bool {
    LARGE_TYPES.contains(&route.type_name.as_str())
}

/// How a consumer takes a from_ros output: reliable topics lossless,
/// best effort with dora's drop_oldest (the newest is what counts).
fn consumer_input(route: &TopicRoute) -> String {
    let id = &route.id;
    match route.reliable {
        true => format!(
            "{id}: {{source: bridge/{id}, queue_policy: backpressure, queue_size: {}}}  # reliable: lossless",
            if is_large(route) {
                LOSSLESS_QUEUE_LARGE
            } else {
                LOSSLESS_QUEUE
            }
        ),
        false => format!(
            "{id}: bridge/{id}   # best effort (sensor data): dora's drop_oldest keeps the newest"
        ),
    }
}

fn calls(rows: &[ServiceRow], ids: &mut Ids) -> Vec<CallRoute> {
    rows.iter()
        .filter(|r| r.types.len() == 1)
        .map(|r| CallRoute {
            name: r.service.clone(),
            type_name: r.types[0].clone(),
            id: ids.take(&r.service),
        })
        .collect()
}

/// dora ids from ROS names, each used once.
#[derive(Default)]
struct Ids(HashSet<String>);

impl Ids {
    fn take(&mut self, name: &str) -> String {
        let mut id = crate::dora_side::identifier(name.trim_start_matches('/'));
        while !self.0.insert(id.clone()) {
            id.push('_');
        }
        id
    }
}
