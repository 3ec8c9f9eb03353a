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
