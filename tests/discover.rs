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
        .args(["discover", "--wait", "10s"])
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
        .args(["discover", "--wait", "10s"])
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

/// A robot of five topic kinds (an image, odometry, a best-effort scan, an
/// IMU, a battery), a topic it only listens to and a service: the starter
/// `discover --starter` writes runs under `dora run` as it is.
#[test]
fn the_starter_dataflow_runs_unchanged_against_a_robot() {
    let s = Scenario::new(185);
    let image = serde_json::json!({
        "width": 160, "height": 120, "encoding": "rgb8", "step": 480,
        "data": vec![0u8; 160 * 120 * 3],
    });
    let image = s.write("image.json", &image.to_string());
    let topics: [(&str, &str, String, &[&str]); 5] = [
        (
            "/camera/image_raw",
            "sensor_msgs/msg/Image",
            format!("@{}", p(&image)),
            &[],
        ),
        ("/odom", "nav_msgs/msg/Odometry", "{}".into(), &[]),
        (
            "/scan",
            "sensor_msgs/msg/LaserScan",
            "{}".into(),
            &["--qos", "best_effort"],
        ),
        ("/imu", "sensor_msgs/msg/Imu", "{}".into(), &[]),
        ("/battery", "sensor_msgs/msg/BatteryState", "{}".into(), &[]),
    ];
    let mut robot: Vec<Proc> = topics
        .iter()
        .enumerate()
        .map(|(i, (topic, type_name, json, extra))| {
            let node = format!("robot_{i}");
            let mut args = vec![*topic, *type_name, json.as_str(), "10", "--node", &node];
            args.extend_from_slice(extra);
            s.python(&node, "ros_pub.py", &args)
        })
        .collect();
    robot.push(s.python(
        "driver",
        "ros_sub.py",
        &["/cmd_vel", "geometry_msgs/msg/Twist"],
    ));
    robot.push(s.python(
        "modes",
        "ros_service_server.py",
        &["/set_mode", "std_srvs/srv/SetBool"],
    ));
    for proc in &robot {
        assert!(
            proc.wait_for_line(Duration::from_secs(30), |l| l == "ready"
                || l.starts_with("published"))
                .is_some(),
            "{}",
            dump(proc)
        );
    }
    let out = s
        .command(bridge_bin())
        .args(["discover", "--wait", "10s", "--starter", "starter"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dataflow = std::fs::read_to_string(s.path("starter/dataflow.yml")).unwrap();
    let config = std::fs::read_to_string(s.path("starter/bridge.yaml")).unwrap();
    assert!(dataflow.contains("shared_memory_pool_size"), "{dataflow}");
    assert!(
        dataflow.contains("keepalive: dora/timer/secs/1"),
        "{dataflow}"
    );
    assert!(config.contains("input: cmd_vel"), "{config}");
    assert!(config.contains("service: /set_mode"), "{config}");
    let mut cmd = s.command("dora");
    cmd.args(["run", "starter/dataflow.yml", "--stop-after", "120s"]);
    let mut dora = s.spawn("dora run", cmd);
    for id in ["camera_image_raw", "odom", "scan", "imu", "battery"] {
        let line = format!("{id}: 1 row(s)");
        assert!(
            dora.wait_for_line(Duration::from_secs(60), |l| l.contains(&line))
                .is_some(),
            "your_node never got {id}\n{config}\n{dataflow}\n{}\n{}",
            dump(&dora),
            s.node_logs()
        );
    }
    let logs = s.node_logs();
    assert!(!logs.contains("default delivery"), "{logs}");
    assert!(!logs.contains("ERROR"), "{logs}");
    assert!(dora.stop().is_some_and(|s| s.success()), "{}", dump(&dora));
}
