//! `discover` lists what is on the graph and prints a starter config that
//! `check` accepts.

mod common;
use common::*;
use std::process::Command;
use std::time::Duration;

#[test]
fn discover_lists_topics_with_qos_and_prints_a_config_check_accepts() {
    let s = Scenario::new(51);
    let publisher = s.python(
        "publisher",
        "ros_pub.py",
        &[
            "/robot/odom",
            "nav_msgs/msg/Odometry",
            "{}",
            "--qos",
            "best_effort",
        ],
    );
    assert!(
        publisher
            .wait_for_line(Duration::from_secs(30), |l| l.starts_with("published"))
            .is_some()
    );
    let out = s
        .command(bridge_bin())
        .args(["discover", "--wait", "5s"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.lines().any(|l| l.contains("/robot/odom")
            && l.contains("nav_msgs/msg/Odometry")
            && l.contains("/test_publisher")
            && l.contains("best_effort")),
        "{text}"
    );
    let config = s.write("starter.yaml", &text);
    assert!(text.contains("output: robot_odom"), "{text}");
    // How to consume it in the dataflow: a best-effort topic keeps dora's
    // drop_oldest (reliable ones are shown with backpressure).
    assert!(
        text.contains("robot_odom: bridge/robot_odom   # best effort"),
        "{text}"
    );
    let check = Command::new(bridge_bin())
        .args(["check", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
}

#[test]
fn discover_lists_services_and_actions_with_their_servers_and_the_starter_routes_check() {
    let s = Scenario::new(52);
    let server = s.python(
        "server",
        "ros_service_server.py",
        &["/robot/set_mode", "std_srvs/srv/SetBool"],
    );
    let action_server = s.python("action server", "ros_action_server.py", &["/robot/dock"]);
    for proc in [&server, &action_server] {
        assert!(
            proc.wait_for_line(Duration::from_secs(30), |l| l == "ready")
                .is_some(),
            "{}",
            dump(proc)
        );
    }
    let out = s
        .command(bridge_bin())
        .args(["discover", "--wait", "5s"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{text}");
    assert!(
        text.lines().any(|l| l.contains("/robot/set_mode")
            && l.contains("std_srvs/srv/SetBool")
            && l.contains("servers: /service_server")),
        "{text}"
    );
    // Every node's parameter services are left out.
    assert!(!text.contains("/service_server/get_parameters"), "{text}");
    assert!(text.contains("service_clients:"), "{text}");
    assert!(text.contains("request: robot_set_mode_request"), "{text}");
    // The action, once, as an action: its services and topics are not
    // listed as services or offered as from_ros routes.
    assert!(
        text.lines().any(|l| l.contains("/robot/dock")
            && l.contains("test_msgs/action/Fibonacci")
            && l.contains("servers: /action_server")),
        "{text}"
    );
    assert!(!text.contains("/_action/"), "{text}");
    assert!(text.contains("action_clients:"), "{text}");
    assert!(text.contains("goal: robot_dock_goal"), "{text}");
    let config = s.write("starter.yaml", &text);
    let check = Command::new(bridge_bin())
        .args(["check", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
}
