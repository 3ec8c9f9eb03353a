//! `ros2-dora-bridge discover`: what is on the ROS graph, and a starter
//! config that bridges it (see [`starter`]).

mod starter;

use starter::Plan;

use crate::ros::graph::describe_qos;
use crate::ros::rcl::{EndpointInfo, RclNode};
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

/// Discovery is gradual: wait until the nodes, topics and services have
/// stopped changing for one announcement period, or `wait` at most. (Topics alone are not
/// enough: every node brings the same /rosout and /parameter_events, so a
/// second node's services can still be on their way.) An empty graph never
/// counts as settled: on a loaded machine the first peer can take seconds
/// to be discovered, and an empty answer after 1 s would be wrong, not fast.
fn wait_for_a_settled_graph(
    node: &RclNode,
    wait: Duration,
) -> anyhow::Result<Vec<(String, Vec<String>)>> {
    // A participant that missed the newcomer's first announcements answers
    // with its next periodic one: Fast DDS's period is 3 s (seen: 1 s of
    // quiet found one node of three).
    const SETTLED_FOR: Duration = Duration::from_millis(3500);
    let look = || -> anyhow::Result<_> {
        Ok((
            node.topic_names_and_types()?,
            node.service_names_and_types()?,
            node.node_names()?,
        ))
    };
    let start = Instant::now();
    let mut last = look()?;
    let mut unchanged_since = Instant::now();
    while start.elapsed() < wait {
        std::thread::sleep(Duration::from_millis(100));
        let now = look()?;
        if now != last {
            last = now;
            unchanged_since = Instant::now();
        } else if !last.0.is_empty() && unchanged_since.elapsed() > SETTLED_FOR {
            break;
        }
    }
    Ok(last.0)
}

/// A topic with its types and the publishers other than this node.
pub(crate) struct TopicRow {
    topic: String,
    types: Vec<String>,
    publishers: Vec<EndpointInfo>,
    subscribers: usize,
}

/// What `discover` found: the graph as comments, then a starter config;
/// with `starter`, also that config, a dataflow and a dora node written
/// there, which `dora run` starts as they are.
pub fn discover(
    rcl_args: &[String],
    wait: Duration,
    starter: Option<&std::path::Path>,
    preview: Option<&crate::config::FromRos>,
) -> anyhow::Result<String> {
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
            subscribers: node.count_subscribers(topic)?,
        });
    }
    let plan = Plan::new(&rows, &service_rows, &action_rows);
    let mut out = String::new();
    write_graph(&mut out, &rows, &service_rows, &action_rows)?;
    if let Some(route) = preview {
        write_preview(&mut out, &rows, route)?;
    }
    out.push_str(&plan.config_text());
    if let Some(dir) = starter {
        out.push_str(&plan.write_starter(dir)?);
    }
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

/// What a `match` route (`--match`, `--exclude`) would take of the
/// graph, and what it leaves out and why.
fn write_preview(
    out: &mut String,
    rows: &[TopicRow],
    route: &crate::config::FromRos,
) -> std::fmt::Result {
    let matcher = route.matcher();
    let system = crate::topics::TopicMatcher::new([route.source.clone()]).excluding_system_topics();
    let taken: Vec<&str> = rows
        .iter()
        .map(|r| r.topic.as_str())
        .filter(|t| matcher.matches(t))
        .collect();
    let left: Vec<String> = rows
        .iter()
        .map(|r| r.topic.as_str())
        .filter(|t| route.source.matches(t) && !matcher.matches(t))
        .map(|t| match system.excludes(t) && !route.system_topics {
            true => format!("{t} (system topic)"),
            false => format!("{t} (exclude)"),
        })
        .collect();
    writeln!(
        out,
        "# {} would take {} topic(s): {}",
        route.describe(),
        taken.len(),
        taken.join(", ")
    )?;
    if !left.is_empty() {
        writeln!(out, "#   and leave out: {}", left.join(", "))?;
    }
    Ok(())
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
