//! A bridge's view as a title and table cells, shared by `status` (plain
//! text) and `top` (the terminal view).

use super::BridgeView;
use crate::stats::{RouteView, describe_bytes};

pub const COLUMNS: [&str; 10] = [
    "ROUTE",
    "DIR",
    "PEERS",
    "MSG/S",
    "BYTES/S",
    "RECEIVED",
    "FORWARDED",
    "LOST",
    "ERRORS",
    "QUEUED",
];

/// Counters that count messages lost on the way, and bad data or failed
/// calls (as `StatsSnapshot::lost` and `errors` sum them).
const LOST: [&str; 4] = [
    "dropped_queue_full",
    "dropped_by_middleware",
    "lost_in_dora",
    "dora_send_errors",
];
const ERRORS: [&str; 5] = [
    "decode_errors",
    "encode_errors",
    "publish_errors",
    "failed",
    "unmatched",
];

/// `bridge bridge (ROS /bridge), dataflow 0193..., up 12 s, version 0.1.0`,
/// with `sim time 12.3 s` when the bridge runs in simulated time.
pub fn title(view: &BridgeView) -> String {
    let ros = view
        .ros_node
        .as_deref()
        .map(|n| format!(" (ROS {n})"))
        .unwrap_or_default();
    let sim = match view.ros_time_source.as_str() {
        "sim" => format!(", sim time {:.1} s", view.ros_time_ns as f64 / 1e9),
        _ => String::new(),
    };
    format!(
        "bridge {}{ros}, dataflow {}, up {:.0} s{sim}, version {}",
        view.node, view.dataflow, view.uptime_s, view.version
    )
}

pub fn cells(route: &RouteView) -> [String; 10] {
    let sum = |names: &[&str]| -> u64 {
        route
            .counters
            .iter()
            .filter(|(n, _)| names.contains(&n.as_str()))
            .map(|(_, v)| v)
            .sum()
    };
    let gauge = |g: Option<u64>| g.map_or("-".to_string(), |v| v.to_string());
    [
        route.route.clone(),
        route.direction.clone(),
        gauge(route.peers),
        format!("{:.1}", route.messages_per_s),
        describe_bytes(route.bytes_per_s),
        sum(&["received"]).to_string(),
        sum(&["forwarded"]).to_string(),
        sum(&LOST).to_string(),
        sum(&ERRORS).to_string(),
        gauge(route.queued),
    ]
}

/// The whole view as aligned plain text (`status`).
pub fn text(view: &BridgeView) -> String {
    let rows: Vec<[String; 10]> = view.routes.iter().map(cells).collect();
    let widths: Vec<usize> = (0..COLUMNS.len())
        .map(|c| {
            rows.iter()
                .map(|r| r[c].chars().count())
                .chain([COLUMNS[c].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: Vec<&str>| -> String {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(cell, w)| format!("{cell:<w$}"))
            .collect();
        padded.join("  ").trim_end().to_string()
    };
    let mut out = vec![title(view), line(COLUMNS.to_vec())];
    out.extend(
        rows.iter()
            .map(|r| line(r.iter().map(String::as_str).collect())),
    );
    out.join("\n") + "\n"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_route_becomes_one_aligned_line_with_losses_and_errors_summed() {
        let mut view = super::super::tests::view();
        view.routes[0].counters = vec![
            ("received".into(), 10),
            ("forwarded".into(), 7),
            ("dropped_queue_full".into(), 2),
            ("lost_in_dora".into(), 1),
            ("decode_errors".into(), 3),
        ];
        view.routes[0].route = "from_ros[0] /chatter".into();
        let text = text(&view);
        let lines: Vec<&str> = text.lines().collect();
        assert!(
            lines[0].starts_with("bridge bridge (ROS /ros2_dora_bridge)"),
            "{text}"
        );
        let cells: Vec<&str> = lines[2].split_whitespace().collect();
        assert_eq!(
            cells,
            [
                "from_ros[0]",
                "/chatter",
                "from_ros",
                "1",
                "10.0",
                "1.2",
                "kB",
                "10",
                "7",
                "3",
                "3",
                "-"
            ]
        );
        assert_eq!(lines[1].find("DIR"), lines[2].find("from_ros "));
    }
}
