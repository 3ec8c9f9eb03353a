//! Any type end to end without rebuilding the bridge: rclpy -> bridge ->
//! dora echo node -> bridge -> rclpy, for a handful of types including a
//! 4K rgb8 image (24.9 MB), each compared for equality by rclpy.

mod common;
use common::*;
use std::fmt::Write;
use std::time::Duration;

#[test]
fn handful_of_types_including_4k_image_round_trip_through_dora() {
    let s = Scenario::new(23);
    let types = [
        "geometry_msgs/msg/Twist",
        "sensor_msgs/msg/JointState",
        "nav_msgs/msg/Odometry",
        "diagnostic_msgs/msg/DiagnosticArray",
        "test_msgs/msg/Arrays",
        "test_msgs/msg/WStrings",
        "sensor_msgs/msg/Image",
    ];
    let mut config = String::from("from_ros:\n");
    for (k, t) in types.iter().enumerate() {
        writeln!(
            config,
            "  - {{topic: /ping_{k}, type: {t}, output: ros_{k}}}"
        )
        .unwrap();
    }
    config.push_str("to_ros:\n");
    for (k, t) in types.iter().enumerate() {
        writeln!(
            config,
            "  - {{input: back_{k}, topic: /pong_{k}, type: {t}}}"
        )
        .unwrap();
    }
    s.write("bridge.yaml", &config);
    let outputs: Vec<String> = (0..types.len()).map(|k| format!("ros_{k}")).collect();
    let mut bridge_inputs = String::new();
    let mut echo_inputs = String::new();
    for k in 0..types.len() {
        writeln!(bridge_inputs, "      back_{k}: echo/m_{k}").unwrap();
        writeln!(echo_inputs, "      m_{k}: bridge/ros_{k}").unwrap();
    }
    let echo_outputs: Vec<String> = (0..types.len()).map(|k| format!("m_{k}")).collect();

    let mut pingpong_args = vec!["0.5"];
    pingpong_args.extend(types);
    let pingpong = s.python("pingpong", "ros_pingpong.py", &pingpong_args);
    assert!(
        pingpong
            .wait_for_line(Duration::from_secs(60), |l| l == "ready")
            .is_some(),
        "{}",
        dump(&pingpong)
    );

    let mut dora = s.dora_run(&format!(
        "nodes:\n\
         \x20 - id: bridge\n    path: {bridge}\n    args: --config bridge.yaml\n    inputs:\n{bridge_inputs}    outputs: [{outputs}]\n\
         \x20 - id: echo\n    path: {echo}\n    inputs:\n{echo_inputs}    outputs: [{echo_outputs}]\n",
        bridge = bridge_bin(),
        echo = p(&python_script("dora_echo.py")),
        outputs = outputs.join(", "),
        echo_outputs = echo_outputs.join(", "),
    ));
    let done = pingpong.wait_for_line(Duration::from_secs(120), |l| l == "all matched");
    let report = pingpong.output().join("\n");
    assert!(
        done.is_some(),
        "not every type made the round trip:\n{report}\n{}\n{}",
        dump(&dora),
        s.node_logs()
    );
    assert!(!report.contains("mismatch"), "{report}");
    // The 4K image (24.9 MB) cannot fit dora's default 8 MB pool four
    // times: the bridge says once how to size it, and only for that output.
    let advice: Vec<String> = dora
        .output()
        .into_iter()
        .filter(|l| l.contains("shared_memory_pool_size:"))
        .collect();
    assert_eq!(advice.len(), 1, "{advice:?}\n{}", dump(&dora));
    assert!(
        advice[0].contains("output `ros_6`") && advice[0].contains("256MB"),
        "{advice:?}"
    );
    let status = dora.stop();
    assert!(
        status.is_some_and(|s| s.success()),
        "dora run did not stop cleanly\n{}",
        dump(&dora)
    );
}
