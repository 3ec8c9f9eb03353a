//! `ros2-dora-bridge discover`: what is on the ROS graph, and a starter
//! config that bridges it.

use crate::ros::graph::describe_qos;
use crate::ros::rcl::{EndpointInfo, RclNode, Reliability};
use std::collections::HashSet;
use std::fmt::Write;
use std::time::{Duration, Instant};

/// Topics every ROS system has that nobody wants in a dataflow.
const INFRASTRUCTURE: &[&str] = &["/rosout", "/parameter_events"];

/// Services every node offers (parameters, type descriptions): left out of
/// the listing and the starter config.
fn is_infrastructure_service(service_type: &str) -> bool {
    service_type.starts_with("rcl_interfaces/srv/")
        || service_type.starts_with("type_description_interfaces/srv/")
}

/// A service in the graph: its types and the nodes serving it.
struct ServiceRow {
    service: String,
    types: Vec<String>,
    servers: Vec<String>,
}

/// The services other nodes serve, infrastructure left out.
fn services(node: &RclNode, own: &str) -> anyhow::Result<Vec<ServiceRow>> {
    let mut rows: Vec<ServiceRow> = Vec::new();
    for (server, services) in node.servers_by_node()? {
        if server == own {
            continue;
        }
        for (service, types) in services {
            if types.iter().any(|t| is_infrastructure_service(t)) {
                continue;
            }
            match rows.iter_mut().find(|r| r.service == service) {
                Some(row) => row.servers.push(server.clone()),
                None => rows.push(ServiceRow {
                    service,
                    types,
                    servers: vec![server.clone()],
                }),
            }
        }
    }
    rows.sort_by(|a, b| a.service.cmp(&b.service));
    Ok(rows)
}

/// The part of a service or topic name that makes it one of an action's
/// (`/fibonacci/_action/send_goal`).
const ACTION_INFIX: &str = "/_action/";

/// The actions among the services: each `<action>/_action/send_goal` of
/// type `<pkg>/action/<Name>_SendGoal` is action `<action>` of
/// `<pkg>/action/<Name>`. The services of actions leave `rows`.
fn actions(rows: &mut Vec<ServiceRow>) -> Vec<ServiceRow> {
    let actions = rows
        .iter()
        .filter_map(|row| {
            let action = row.service.strip_suffix("/_action/send_goal")?;
            let types = row
                .types
                .iter()
                .filter_map(|t| t.strip_suffix("_SendGoal"))
                .map(str::to_string)
                .collect();
            Some(ServiceRow {
                service: action.to_string(),
                types,
                servers: row.servers.clone(),
            })
        })
        .collect();
    rows.retain(|r| !r.service.contains(ACTION_INFIX));
    actions
}

/// The action rows as an `action_clients:` starter section.
fn action_clients_section(rows: &[ServiceRow], used: &mut HashSet<String>) -> String {
    let mut body = String::new();
    for row in rows.iter().filter(|r| r.types.len() == 1) {
        let mut id = crate::dora_side::identifier(row.service.trim_start_matches('/'));
        while !used.insert(id.clone()) {
            id.push('_');
        }
        let _ = writeln!(
            body,
            "  - action: {}\n    type: {}\n    goal: {id}_goal           # dora input: one row per goal\n    \
             feedback: {id}_feedback   # dora output (metadata goal_id)\n    \
             result: {id}_result       # dora output: one row per goal (metadata goal_id, status)",
            row.service, row.types[0]
        );
    }
    body
}

/// The service rows as a `service_clients:` starter section.
fn service_clients_section(rows: &[ServiceRow], used: &mut HashSet<String>) -> String {
    let mut body = String::new();
    for row in rows.iter().filter(|r| r.types.len() == 1) {
        let mut id = crate::dora_side::identifier(row.service.trim_start_matches('/'));
        while !used.insert(id.clone()) {
            id.push('_');
        }
        let _ = writeln!(
            body,
            "  - service: {}\n    type: {}\n    request: {id}_request     # dora input: one row per call\n    \
             response: {id}_response   # dora output: one answer per call (metadata request_id, error)",
            row.service, row.types[0]
        );
    }
    body
}

/// Discovery is gradual: wait until the topic list has stopped changing for
/// a moment, or `wait` at most. An empty list never counts as settled: on a
/// loaded machine the first peer can take seconds to be discovered, and an
/// empty answer after 1 s would be wrong, not fast.
fn wait_for_a_settled_graph(
    node: &RclNode,
    wait: Duration,
) -> anyhow::Result<Vec<(String, Vec<String>)>> {
    const SETTLED_FOR: Duration = Duration::from_secs(1);
    let start = Instant::now();
    let mut last = node.topic_names_and_types()?;
    let mut unchanged_since = Instant::now();
    while start.elapsed() < wait {
        std::thread::sleep(Duration::from_millis(100));
        let now = node.topic_names_and_types()?;
        if now != last {
            last = now;
            unchanged_since = Instant::now();
        } else if !last.is_empty() && unchanged_since.elapsed() > SETTLED_FOR {
            break;
        }
    }
    Ok(last)
}

/// A topic with its types and the publishers other than this node.
struct TopicRow {
    topic: String,
    types: Vec<String>,
    publishers: Vec<EndpointInfo>,
}

pub fn discover(rcl_args: &[String], wait: Duration) -> anyhow::Result<String> {
    let context = crate::ros::init_rcl(rcl_args)?;
    let node = RclNode::new(&context, "ros2_dora_bridge_discover", "/")?;
    let last = wait_for_a_settled_graph(&node, wait)?;
    let own = node.name();
    let own_fqn = format!("{}/{own}", node.namespace().trim_end_matches('/'));
    let mut service_rows = services(&node, &own_fqn)?;
    let action_rows = actions(&mut service_rows);
    let mut rows = Vec::new();
    // An action's topics are listed with the action.
    for (topic, types) in last.iter().filter(|(t, _)| !t.contains(ACTION_INFIX)) {
        let publishers: Vec<_> = node
            .publishers_info(topic)?
            .into_iter()
            .filter(|p| p.node_name != own)
            .collect();
        rows.push(TopicRow {
            topic: topic.clone(),
            types: types.clone(),
            publishers,
        });
    }
    let mut out = String::new();
    write_graph(&mut out, &rows, &service_rows, &action_rows)?;
    write_starter_config(&mut out, &rows, &service_rows, &action_rows)?;
    Ok(out)
}

/// The graph, as comments.
fn write_graph(
    out: &mut String,
    rows: &[TopicRow],
    service_rows: &[ServiceRow],
    action_rows: &[ServiceRow],
) -> std::fmt::Result {
    let domain = std::env::var("ROS_DOMAIN_ID").unwrap_or_else(|_| "0".into());
    writeln!(out, "# ROS graph on domain {domain}: {} topics", rows.len())?;
    for row in rows {
        let pubs = if row.publishers.is_empty() {
            "no publishers".to_string()
        } else {
            row.publishers
                .iter()
                .map(|p| format!("{} [{}]", p.node(), describe_qos(&p.qos)))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let (topic, types) = (&row.topic, row.types.join(" | "));
        writeln!(out, "#   {topic}  {types}  publishers: {pubs}")?;
    }
    writeln!(
        out,
        "# {} service(s) (parameter and type-description services not shown)",
        service_rows.len()
    )?;
    write_servers(out, service_rows)?;
    writeln!(out, "# {} action(s)", action_rows.len())?;
    write_servers(out, action_rows)
}

fn write_servers(out: &mut String, rows: &[ServiceRow]) -> std::fmt::Result {
    for row in rows {
        writeln!(
            out,
            "#   {}  {}  servers: {}",
            row.service,
            row.types.join(" | "),
            row.servers.join(", ")
        )?;
    }
    Ok(())
}

/// A config taking every topic with publishers, service and action.
fn write_starter_config(
    out: &mut String,
    rows: &[TopicRow],
    service_rows: &[ServiceRow],
    action_rows: &[ServiceRow],
) -> std::fmt::Result {
    writeln!(
        out,
        "#\n# Starter config: save it, adjust, then `ros2-dora-bridge check --config FILE`."
    )?;
    writeln!(
        out,
        "# Declare each `output` under the bridge node's `outputs:` in the dataflow YAML."
    )?;
    let mut used = HashSet::new();
    let (body, consumers) = from_ros_section(rows, &mut used)?;
    let service_body = service_clients_section(service_rows, &mut used);
    if !service_body.is_empty() {
        writeln!(
            out,
            "# Declare each service route's `request` under the bridge node's `inputs:` and its\n\
             # `response` under `outputs:`.\nservice_clients:\n{service_body}"
        )?;
    }
    let action_body = action_clients_section(action_rows, &mut used);
    if !action_body.is_empty() {
        writeln!(
            out,
            "# Declare each action route's `goal` under the bridge node's `inputs:` and its\n\
             # `feedback` and `result` under `outputs:`.\naction_clients:\n{action_body}"
        )?;
    }
    if body.is_empty() {
        writeln!(out, "from_ros: []   # no topics with publishers found")?;
    } else {
        writeln!(out, "from_ros:\n{body}")?;
        writeln!(
            out,
            "# In the dataflow YAML, the nodes that consume these outputs (reliable topics\n\
             # lossless; `ros2-dora-bridge check --config FILE --dataflow DATAFLOW` checks it):\n\
             #   - id: your_node\n\
             #     inputs:\n{consumers}"
        )?;
    }
    Ok(())
}

/// The from_ros routes, and the consumer inputs to go with them.
fn from_ros_section(
    rows: &[TopicRow],
    used: &mut HashSet<String>,
) -> Result<(String, String), std::fmt::Error> {
    let mut body = String::new();
    let mut consumers = String::new();
    for TopicRow {
        topic,
        types,
        publishers,
    } in rows
    {
        if INFRASTRUCTURE.contains(&topic.as_str())
            || topic.contains(ACTION_INFIX)
            || publishers.is_empty()
            || types.len() != 1
        {
            continue;
        }
        let mut output = crate::dora_side::identifier(topic.trim_start_matches('/'));
        while !used.insert(output.clone()) {
            output.push('_');
        }
        writeln!(
            body,
            "  - topic: {topic}\n    type: {}\n    output: {output}\n    qos: auto",
            types[0]
        )?;
        let reliable = publishers
            .iter()
            .all(|p| p.qos.reliability == Reliability::RMW_QOS_POLICY_RELIABILITY_RELIABLE);
        if reliable {
            writeln!(
                consumers,
                "#       {output}: {{source: bridge/{output}, queue_policy: backpressure, queue_size: 100}}  # reliable: lossless"
            )?;
        } else {
            writeln!(
                consumers,
                "#       {output}: bridge/{output}   # best effort (sensor data): dora's drop_oldest keeps the newest"
            )?;
        }
    }
    Ok((body, consumers))
}
