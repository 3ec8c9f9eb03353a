//! dora failures -> ROS: a dora node feeding a `to_ros` route fails or
//! stalls; rclpy nodes see it as `/diagnostics` and as the ROS publisher
//! vanishing, and see the publisher come back when data flows again.

mod common;
use common::*;
use std::time::Duration;

fn bridge_config(s: &Scenario) {
    s.write(
        "bridge.yaml",
        "to_ros:\n  - {input: cmd, topic: /out, type: std_msgs/msg/String}\n\
         dora_failures:\n  diagnostics_topic: /diagnostics\n  withdraw_publishers: true\n",
    );
}

/// A sender (with `sender_env` besides its message) into `bridge`.
fn dataflow(s: &Scenario, sender_env: &[(&str, &str)], bridge: Node) -> Proc {
    let sender = sender_env
        .iter()
        .fold(Node::python("sender", "dora_send.py"), |node, (k, v)| {
            node.env(k, v)
        })
        .env("SEND_JSON", r#"[{"data": "go"}]"#)
        .env("SEND_OUTPUT", "out")
        .input("tick", "dora/timer/millis/100")
        .output("out");
    // dora checks `input_timeout` on its health-check tick (5 s by default).
    let dataflow = Dataflow::new().health_check_interval(0.25);
    s.dora_run(&dataflow.node(sender).node(bridge).yaml())
}

fn json_lines(proc: &Proc) -> Vec<serde_json::Value> {
    proc.output()
        .iter()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// rclpy listeners: /diagnostics, and the graph's publishers on /out.
fn watch_diagnostics_and_out(s: &Scenario) -> (Proc, Proc) {
    let diag = s.python(
        "diagnostics",
        "ros_sub.py",
        &["/diagnostics", "diagnostic_msgs/msg/DiagnosticArray"],
    );
    let graph = s.python("graph", "ros_graph.py", &["--topic", "/out"]);
    (diag, graph)
}

#[test]
fn a_failed_dora_node_shows_as_error_diagnostics_and_its_publisher_vanishes() {
    let s = Scenario::new(65);
    bridge_config(&s);
    let (diag, graph) = watch_diagnostics_and_out(&s);
    let out = s.python("out", "ros_sub.py", &["/out", "std_msgs/msg/String"]);
    for helper in [&diag, &out] {
        helper
            .wait_for_line(Duration::from_secs(30), |l| l == "ready")
            .unwrap_or_else(|| panic!("helper not ready\n{}", dump(helper)));
    }
    // Long enough a healthy phase for the OK status to be seen first.
    let dora = dataflow(
        &s,
        &[
            ("SEND_EXIT_AFTER", "80"),
            ("SEND_EXIT_MESSAGE", "camera driver exploded"),
        ],
        Node::bridge("--config bridge.yaml")
            .input("cmd", "sender/out")
            .input("keepalive", "dora/timer/secs/1"),
    );
    // Healthy first: OK status at 1 Hz, the publisher is there, data flows.
    wait_json(&diag, Duration::from_secs(60), |v| {
        statuses(v)
            .iter()
            .any(|(level, name, _)| *level == 0 && name.ends_with(": bridge"))
    })
    .unwrap_or_else(|| panic!("no OK diagnostics\n{}\n{}", dump(&dora), dump(&diag)));
    let up = wait_json(&graph, Duration::from_secs(30), |v| {
        v["publishers"]["/out"] == 1
    })
    .unwrap_or_else(|| panic!("no publisher on /out\n{}", dump(&graph)));
    wait_json(&out, Duration::from_secs(30), |v| {
        v["message"]["data"] == "go"
    })
    .unwrap_or_else(|| panic!("no data on /out\n{}", dump(&dora)));

    let error = wait_json(&diag, Duration::from_secs(30), |v| {
        statuses(v).iter().any(|(level, name, message)| {
            *level == 2
                && name.contains("dora node sender")
                && message.contains("camera driver exploded")
        })
    })
    .unwrap_or_else(|| panic!("no ERROR diagnostics\n{}\n{}", dump(&dora), dump(&diag)));
    let gone = wait_json(&graph, Duration::from_secs(10), |v| {
        v["publishers"]["/out"] == 0 && v["t"].as_f64() > up["t"].as_f64()
    })
    .unwrap_or_else(|| panic!("publisher not withdrawn\n{}\n{}", dump(&graph), dump(&dora)));
    let last_data = json_lines(&out)
        .iter()
        .filter_map(|v| v["t"].as_f64())
        .fold(0.0, f64::max);
    eprintln!(
        "last data on /out -> ERROR diagnostics {:.3} s, -> publisher count 0 {:.3} s",
        error["t"].as_f64().unwrap() - last_data,
        gone["t"].as_f64().unwrap() - last_data
    );
    // The bridge's own status turns ERROR too, naming the node.
    assert!(
        statuses(&error)
            .iter()
            .any(|(level, name, message)| *level == 2
                && name.ends_with(": bridge")
                && message.contains("sender")),
        "{error}"
    );
}

#[test]
fn a_stalled_source_withdraws_the_publisher_and_recovery_brings_it_back() {
    let s = Scenario::new(66);
    bridge_config(&s);
    let (diag, graph) = watch_diagnostics_and_out(&s);
    let dora = dataflow(
        &s,
        &[("SEND_PAUSE_FILE", "stall_now:4")],
        Node::bridge("--config bridge.yaml").input_with(
            "cmd",
            "sender/out",
            &[("input_timeout", 1.0.into())],
        ),
    );
    let up = wait_json(&graph, Duration::from_secs(60), |v| {
        v["publishers"]["/out"] == 1
    })
    .unwrap_or_else(|| panic!("no publisher on /out\n{}\n{}", dump(&graph), dump(&dora)));
    // Stalled only once the watcher sees the publisher (its discovery can
    // take seconds on a loaded machine).
    s.write("stall_now", "");
    let gone = wait_json(&graph, Duration::from_secs(30), |v| {
        v["publishers"]["/out"] == 0 && v["t"].as_f64() > up["t"].as_f64()
    })
    .unwrap_or_else(|| panic!("publisher not withdrawn\n{}\n{}", dump(&graph), dump(&dora)));
    wait_json(&diag, Duration::from_secs(10), |v| {
        statuses(v).iter().any(|(level, name, message)| {
            *level == 1 && name.contains("dora node sender") && message.contains("input_timeout")
        })
    })
    .unwrap_or_else(|| panic!("no WARN diagnostics\n{}\n{}", dump(&dora), dump(&diag)));
    let back = wait_json(&graph, Duration::from_secs(30), |v| {
        v["publishers"]["/out"] == 1 && v["t"].as_f64() > gone["t"].as_f64()
    })
    .unwrap_or_else(|| {
        panic!(
            "publisher not re-created\n{}\n{}",
            dump(&graph),
            dump(&dora)
        )
    });
    wait_json(&diag, Duration::from_secs(10), |v| {
        v["t"].as_f64() > back["t"].as_f64()
            && statuses(v)
                .iter()
                .any(|(level, name, _)| *level == 0 && name.contains("dora node sender"))
    })
    .unwrap_or_else(|| panic!("sender not OK again\n{}\n{}", dump(&dora), dump(&diag)));
}
