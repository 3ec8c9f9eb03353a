//! The route table: every route of the config, whatever its kind, in one
//! shape (its typed id, its ROS name and interface type, the dora inputs
//! and outputs it uses). The config's id checks, `check`, the dataflow
//! checks, the bridge's parameters and its start-up summary all read this
//! table; a new route kind adds one function here and one line in
//! [`KINDS`].

use super::Config;
use crate::msg::TypeName;

/// The kinds of route, in the config's order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RouteKind {
    FromRos,
    ToRos,
    ServiceClient,
    /// `parameter_clients:`: another node's parameter services.
    ParameterClient,
    ServiceServer,
    ActionClient,
    ActionServer,
    /// `tf:`: transform lookups and streams.
    Tf,
}

impl RouteKind {
    pub const ALL: [RouteKind; 8] = [
        RouteKind::FromRos,
        RouteKind::ToRos,
        RouteKind::ServiceClient,
        RouteKind::ParameterClient,
        RouteKind::ServiceServer,
        RouteKind::ActionClient,
        RouteKind::ActionServer,
        RouteKind::Tf,
    ];

    /// Its config section: `from_ros`, `service_clients`, ...
    pub fn section(self) -> &'static str {
        match self {
            RouteKind::FromRos => "from_ros",
            RouteKind::ToRos => "to_ros",
            RouteKind::ServiceClient => "service_clients",
            RouteKind::ParameterClient => "parameter_clients",
            RouteKind::ServiceServer => "service_servers",
            RouteKind::ActionClient => "action_clients",
            RouteKind::ActionServer => "action_servers",
            RouteKind::Tf => "tf",
        }
    }

    /// In a sentence: "service client", ...
    pub fn noun(self) -> &'static str {
        match self {
            RouteKind::FromRos => "from_ros",
            RouteKind::ToRos => "to_ros",
            RouteKind::ServiceClient => "service client",
            RouteKind::ParameterClient => "parameter client",
            RouteKind::ServiceServer => "service server",
            RouteKind::ActionClient => "action client",
            RouteKind::ActionServer => "action server",
            RouteKind::Tf => "tf",
        }
    }
}

/// A route: its kind and its index in its config section.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RouteId {
    pub kind: RouteKind,
    pub index: usize,
}

impl std::fmt::Display for RouteId {
    /// `from_ros[0]`, as the config file says it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}[{}]", self.kind.section(), self.index)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// A dora input of the bridge.
    Input,
    /// A dora output of the bridge.
    Output,
}

impl Role {
    pub fn noun(self) -> &'static str {
        match self {
            Role::Input => "input",
            Role::Output => "output",
        }
    }

    /// The dataflow YAML section that declares it.
    pub fn section(self) -> &'static str {
        match self {
            Role::Input => "inputs",
            Role::Output => "outputs",
        }
    }
}

/// One dora id a route uses, with the config key that names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DoraEnd<'a> {
    pub key: &'static str,
    pub id: &'a str,
    pub role: Role,
}

/// One row of the table.
#[derive(Debug, Clone)]
pub struct RouteEntry<'a> {
    pub id: RouteId,
    /// The ROS side as configured: topic, pattern, service or action name.
    pub ros_name: String,
    /// Its interface type as configured (`pkg/msg/Name`, `pkg/srv/Name`,
    /// `pkg/action/Name`); `None` where it is learned from the graph.
    pub interface: Option<&'a TypeName>,
    pub ends: Vec<DoraEnd<'a>>,
    /// `dora id -> ROS name` (or the other way), for the bridge's
    /// parameters.
    pub summary: String,
}

type Rows = for<'a> fn(&'a Config) -> Vec<RouteEntry<'a>>;

/// Each kind's rows, in the config's order.
const KINDS: [Rows; 8] = [
    from_ros,
    to_ros,
    service_clients,
    parameter_clients,
    service_servers,
    action_clients,
    action_servers,
    tf,
];

impl Config {
    /// Every route, kind by kind in the config's order.
    pub fn route_table(&self) -> Vec<RouteEntry<'_>> {
        KINDS.iter().flat_map(|rows| rows(self)).collect()
    }

    /// `bridging 1 from_ros, 0 to_ros, ... route(s)`, for the start-up log.
    pub fn route_summary(&self) -> String {
        let table = self.route_table();
        let counts: Vec<String> = RouteKind::ALL
            .iter()
            .filter_map(|&kind| {
                let n = table.iter().filter(|e| e.id.kind == kind).count();
                // Newer kinds are named only when configured.
                let optional = kind == RouteKind::ParameterClient;
                (n > 0 || !optional).then(|| format!("{n} {}", kind.noun()))
            })
            .collect();
        let (last, rest) = counts.split_last().expect("seven kinds");
        format!("bridging {} and {last} route(s)", rest.join(", "))
    }
}

fn entry<'a>(
    kind: RouteKind,
    index: usize,
    ros_name: &str,
    interface: Option<&'a TypeName>,
    ends: Vec<DoraEnd<'a>>,
    summary: String,
) -> RouteEntry<'a> {
    RouteEntry {
        id: RouteId { kind, index },
        ros_name: ros_name.to_string(),
        interface,
        ends,
        summary,
    }
}

fn end<'a>(key: &'static str, id: &'a str, role: Role) -> DoraEnd<'a> {
    DoraEnd { key, id, role }
}

fn from_ros(config: &Config) -> Vec<RouteEntry<'_>> {
    let rows = config.from_ros.iter().enumerate();
    rows.map(|(i, r)| {
        let name = r.describe();
        let summary = format!("{name} -> {}", r.output);
        let ends = vec![end("output", &r.output, Role::Output)];
        entry(
            RouteKind::FromRos,
            i,
            &name,
            r.msg_type.as_ref(),
            ends,
            summary,
        )
    })
    .collect()
}

fn to_ros(config: &Config) -> Vec<RouteEntry<'_>> {
    let rows = config.to_ros.iter().enumerate();
    rows.map(|(i, r)| {
        let summary = format!("{} -> {}", r.input, r.topic);
        let ends = vec![end("input", &r.input, Role::Input)];
        entry(
            RouteKind::ToRos,
            i,
            &r.topic,
            Some(&r.msg_type),
            ends,
            summary,
        )
    })
    .collect()
}

fn service_clients(config: &Config) -> Vec<RouteEntry<'_>> {
    let rows = config.service_clients.iter().enumerate();
    rows.map(|(i, r)| {
        let summary = format!("{} -> {}", r.request, r.service);
        let ends = vec![
            end("request", &r.request, Role::Input),
            end("response", &r.response, Role::Output),
        ];
        let kind = RouteKind::ServiceClient;
        entry(kind, i, &r.service, Some(&r.srv_type), ends, summary)
    })
    .collect()
}

fn parameter_clients(config: &Config) -> Vec<RouteEntry<'_>> {
    let rows = config.parameter_clients.iter().enumerate();
    rows.map(|(i, r)| {
        let summary = format!("{} -> {}'s parameters", r.request, r.node);
        let ends = vec![
            end("request", &r.request, Role::Input),
            end("response", &r.response, Role::Output),
        ];
        entry(RouteKind::ParameterClient, i, &r.node, None, ends, summary)
    })
    .collect()
}

fn service_servers(config: &Config) -> Vec<RouteEntry<'_>> {
    let rows = config.service_servers.iter().enumerate();
    rows.map(|(i, r)| {
        let summary = format!("{} -> {}", r.service, r.request);
        let ends = vec![
            end("request", &r.request, Role::Output),
            end("response", &r.response, Role::Input),
        ];
        let kind = RouteKind::ServiceServer;
        entry(kind, i, &r.service, Some(&r.srv_type), ends, summary)
    })
    .collect()
}

fn action_clients(config: &Config) -> Vec<RouteEntry<'_>> {
    let rows = config.action_clients.iter().enumerate();
    rows.map(|(i, r)| {
        let summary = format!("{} -> {}", r.goal, r.action);
        let mut ends = vec![end("goal", &r.goal, Role::Input)];
        ends.extend(r.cancel.as_deref().map(|c| end("cancel", c, Role::Input)));
        ends.push(end("feedback", &r.feedback, Role::Output));
        ends.extend(r.status.as_deref().map(|s| end("status", s, Role::Output)));
        ends.push(end("result", &r.result, Role::Output));
        let kind = RouteKind::ActionClient;
        entry(kind, i, &r.action, Some(&r.action_type), ends, summary)
    })
    .collect()
}

fn action_servers(config: &Config) -> Vec<RouteEntry<'_>> {
    let rows = config.action_servers.iter().enumerate();
    rows.map(|(i, r)| {
        let summary = format!("{} -> {}", r.action, r.goal);
        let mut ends = vec![
            end("goal", &r.goal, Role::Output),
            end("cancel", &r.cancel, Role::Output),
            end("feedback", &r.feedback, Role::Input),
            end("result", &r.result, Role::Input),
        ];
        ends.extend(r.accept.as_ref().map(|a| end("accept", a, Role::Input)));
        let kind = RouteKind::ActionServer;
        entry(kind, i, &r.action, Some(&r.action_type), ends, summary)
    })
    .collect()
}

/// `tf:` as routes: the lookups (index 0) and each stream (1, 2, ...).
fn tf(config: &Config) -> Vec<RouteEntry<'_>> {
    let Some(tf) = &config.tf else {
        return Vec::new();
    };
    let lookups = tf
        .lookup_request
        .as_deref()
        .zip(tf.lookup_response.as_deref())
        .map(|(request, response)| {
            let ends = vec![
                end("lookup_request", request, Role::Input),
                end("lookup_response", response, Role::Output),
            ];
            let summary = format!("{request} -> tf lookups");
            entry(RouteKind::Tf, 0, "/tf", None, ends, summary)
        });
    let streams = tf.streams.iter().enumerate().map(|(i, s)| {
        let ends = vec![end("output", &s.output, Role::Output)];
        let summary = format!("{} <- {} -> {}", s.target, s.source, s.output);
        entry(RouteKind::Tf, i + 1, "/tf", None, ends, summary)
    });
    lookups.into_iter().chain(streams).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_lists_its_dora_ids_with_their_roles() {
        let config = Config::from_yaml(
            "from_ros:\n  - {match: ^/imu, output: imu}\n\
             to_ros:\n  - {input: cmd, topic: /cmd_vel, type: geometry_msgs/msg/Twist}\n\
             service_servers:\n  - {service: /set, type: std_srvs/srv/SetBool, request: sq, response: sa}\n\
             action_clients:\n  - {action: /fib, type: test_msgs/action/Fibonacci, goal: g, feedback: f, result: r, cancel: c}\n",
        )
        .unwrap();
        let table = config.route_table();
        let ids: Vec<String> = table.iter().map(|e| e.id.to_string()).collect();
        assert_eq!(
            ids,
            [
                "from_ros[0]",
                "to_ros[0]",
                "service_servers[0]",
                "action_clients[0]"
            ]
        );
        assert_eq!(table[0].interface, None, "learned from the graph");
        assert_eq!(
            table[1].interface.map(|t| t.to_string()).as_deref(),
            Some("geometry_msgs/msg/Twist")
        );
        let ends = |i: usize| -> Vec<(&str, Role)> {
            table[i].ends.iter().map(|e| (e.id, e.role)).collect()
        };
        assert_eq!(ends(0), [("imu", Role::Output)]);
        assert_eq!(ends(2), [("sq", Role::Output), ("sa", Role::Input)]);
        assert_eq!(
            ends(3),
            [
                ("g", Role::Input),
                ("c", Role::Input),
                ("f", Role::Output),
                ("r", Role::Output)
            ]
        );
        assert_eq!(table[3].summary, "g -> /fib");
        assert_eq!(
            config.route_summary(),
            "bridging 1 from_ros, 1 to_ros, 0 service client, 1 service server, \
             1 action client, 0 action server and 0 tf route(s)"
        );
    }
}
