//! The live view of a running bridge: what it serves on its admin endpoint
//! (`admin:`), as JSON and in the Prometheus text format, and the clients
//! (`status`, `top`) that read it.
//!
//! - [`server`]: the endpoint (loopback TCP or a Unix socket, the bridge's
//!   own user only).
//! - [`client`]: one request to an endpoint.
//! - [`display`]: the view as table cells, for `status` and `top`.
//! - [`top`]: the terminal view.

pub mod client;
pub mod display;
pub mod server;
pub mod top;

use crate::stats::RouteView;
use serde::{Deserialize, Serialize};
use std::fmt::Write;

/// A bridge at one moment: who it is and every route's figures.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct BridgeView {
    /// The bridge's dora node id.
    pub node: String,
    pub dataflow: String,
    /// The bridge's ROS node (fully qualified), if it has one.
    pub ros_node: Option<String>,
    pub version: String,
    pub uptime_s: f64,
    pub ros_time_ns: i64,
    /// `sim` or `system`.
    pub ros_time_source: String,
    pub routes: Vec<RouteView>,
}

/// The view in the Prometheus text exposition format (0.0.4): every
/// counter as `ros2_dora_bridge_<name>_total`, rates, peers and queue
/// depths as gauges, labelled by bridge, route and direction.
pub fn prometheus(view: &BridgeView) -> String {
    let mut out = String::new();
    let bridge = escape_label(&view.node);
    family(&mut out, "up", "gauge", "1 while the bridge runs.");
    let _ = writeln!(out, "ros2_dora_bridge_up{{bridge=\"{bridge}\"}} 1");
    family(
        &mut out,
        "uptime_seconds",
        "gauge",
        "Seconds since the bridge started.",
    );
    let _ = writeln!(
        out,
        "ros2_dora_bridge_uptime_seconds{{bridge=\"{bridge}\"}} {}",
        view.uptime_s
    );
    let counter_names: Vec<&str> = view
        .routes
        .first()
        .map(|r| r.counters.iter().map(|(n, _)| n.as_str()).collect())
        .unwrap_or_default();
    for (i, name) in counter_names.iter().enumerate() {
        let metric = format!("{name}_total");
        family(
            &mut out,
            &metric,
            "counter",
            &format!("The route's `{name}` counter (docs/configuration.md, Stats)."),
        );
        for route in &view.routes {
            let value = route.counters.get(i).map_or(0, |(_, v)| *v);
            sample(&mut out, &metric, &bridge, route, value as f64);
        }
    }
    let gauges: [(&str, &str, Gauge); 4] = [
        (
            "messages_per_second",
            "Messages received per second over the last 5 s.",
            |r| Some(r.messages_per_s),
        ),
        (
            "bytes_per_second",
            "CDR bytes per second over the last 5 s.",
            |r| Some(r.bytes_per_s),
        ),
        (
            "peers",
            "Publishers (from_ros) or subscribers (to_ros) on the route's topics besides the bridge.",
            |r| r.peers.map(|p| p as f64),
        ),
        ("queued", "Messages waiting in the route's queue.", |r| {
            r.queued.map(|q| q as f64)
        }),
    ];
    for (metric, help, value) in gauges {
        family(&mut out, metric, "gauge", help);
        for route in &view.routes {
            if let Some(v) = value(route) {
                sample(&mut out, metric, &bridge, route, v);
            }
        }
    }
    out
}

/// How a gauge is read from a route (None: not known, not shown).
type Gauge = fn(&RouteView) -> Option<f64>;

fn family(out: &mut String, metric: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP ros2_dora_bridge_{metric} {help}");
    let _ = writeln!(out, "# TYPE ros2_dora_bridge_{metric} {kind}");
}

fn sample(out: &mut String, metric: &str, bridge: &str, route: &RouteView, value: f64) {
    let _ = writeln!(
        out,
        "ros2_dora_bridge_{metric}{{bridge=\"{bridge}\",route=\"{}\",direction=\"{}\"}} {value}",
        escape_label(&route.route),
        route.direction
    );
}

/// A label value as the format wants it: `\`, `"` and newlines escaped.
fn escape_label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn view() -> BridgeView {
        BridgeView {
            node: "bridge".into(),
            dataflow: "df".into(),
            ros_node: Some("/ros2_dora_bridge".into()),
            version: "0.1.0".into(),
            uptime_s: 12.5,
            ros_time_ns: 1,
            ros_time_source: "system".into(),
            routes: vec![RouteView {
                route: "from_ros[0] \"odd\"\\name".into(),
                direction: "from_ros".into(),
                messages_per_s: 10.0,
                bytes_per_s: 1200.0,
                peers: Some(1),
                queued: None,
                counters: vec![("received".into(), 7), ("forwarded".into(), 6)],
            }],
        }
    }

    #[test]
    fn every_counter_is_a_family_with_escaped_labels() {
        let text = prometheus(&view());
        let route = r#"bridge="bridge",route="from_ros[0] \"odd\"\\name",direction="from_ros""#;
        for line in [
            "# TYPE ros2_dora_bridge_received_total counter".to_string(),
            format!("ros2_dora_bridge_received_total{{{route}}} 7"),
            format!("ros2_dora_bridge_forwarded_total{{{route}}} 6"),
            format!("ros2_dora_bridge_messages_per_second{{{route}}} 10"),
            format!("ros2_dora_bridge_peers{{{route}}} 1"),
            "ros2_dora_bridge_up{bridge=\"bridge\"} 1".to_string(),
        ] {
            assert!(text.lines().any(|l| l == line), "{line} not in\n{text}");
        }
        // A gauge not known is left out, not shown as 0.
        assert!(!text.contains("ros2_dora_bridge_queued{"), "{text}");
    }
}
