//! ROS -> dora through the real stacks: an rclpy publisher, the bridge under
//! `dora run`, a Python dora node recording what it receives.

mod common;
use common::*;
use std::time::Duration;

#[test]
fn string_from_rclpy_arrives_at_dora_as_one_row_struct_array() {
    let s = Scenario::new(21);
    s.write(
        "bridge.yaml",
        "from_ros:\n  - topic: /greeting\n    type: std_msgs/msg/String\n    output: greeting\n",
    );
    let text = "héllo from rclpy ✓ 42";
    let _publisher = s.python(
        "publisher",
        "ros_pub.py",
        &[
            "/greeting",
            "std_msgs/msg/String",
            &format!(r#"{{"data": "{text}"}}"#),
            "10",
        ],
    );
    let bridge = Node::bridge("--config bridge.yaml")
        .set("shared_memory_pool_size", "16MB")
        .output("greeting");
    let recorder = s.recorder().input("greeting", "bridge/greeting");
    let mut dora = s.dora_run(&Dataflow::new().node(bridge).node(recorder).yaml());
    let got = s.wait_for_record("received.jsonl", Duration::from_secs(60), |r| {
        r["event"] == "INPUT"
    });
    let got = got.unwrap_or_else(|| panic!("no message reached the dora node\n{}", dump(&dora)));
    assert_eq!(got["id"], "greeting");
    assert_eq!(got["class"], "StructArray");
    assert_eq!(got["arrow_type"], "struct<data: string not null>");
    assert_eq!(got["len"], 1);
    assert_eq!(got["value"][0]["data"], text);
    assert_eq!(got["metadata"]["ros_topic"], "/greeting");
    assert_eq!(got["metadata"]["ros_type"], "std_msgs/msg/String");
    assert!(
        got["metadata"]["ros_source_timestamp_ns"]
            .as_i64()
            .unwrap_or(0)
            > 0,
        "{got}"
    );
    // A pool the dataflow sized is warmed up at start; small messages get
    // no advice about it.
    let output = dora.output();
    assert!(
        output
            .iter()
            .any(|l| l.contains("dora shared-memory pool of 16 MB warmed up")),
        "{}",
        dump(&dora)
    );
    assert!(
        !output
            .iter()
            .any(|l| l.contains("shared_memory_pool_size:")),
        "{}",
        dump(&dora)
    );
    let status = dora.stop();
    assert!(
        status.is_some_and(|s| s.success()),
        "dora run did not stop cleanly\n{}",
        dump(&dora)
    );
}

#[test]
fn format_cdr_routes_carry_rclpys_bytes_through_dora_and_back_unchanged() {
    let s = Scenario::new(194);
    let raw_sub = s.python(
        "raw sub",
        "ros_sub_raw.py",
        &["/imu_out:sensor_msgs/msg/Imu"],
    );
    raw_sub
        .wait_for_line(Duration::from_secs(30), |l| l == "ready")
        .expect("the raw subscriber never came up");
    let imu = r#"{"header": {"frame_id": "imu_link", "stamp": {"sec": 7, "nanosec": 9}},
        "orientation": {"w": 1.0}, "angular_velocity": {"z": 0.25},
        "linear_acceleration": {"z": 9.81}}"#;
    let publisher = s.python(
        "imu",
        "ros_pub_samples.py",
        &["/imu_in", "sensor_msgs/msg/Imu", imu, "goodx3"],
    );
    let good = publisher
        .wait_for_line(Duration::from_secs(30), |l| l.starts_with("good "))
        .expect("no serialized sample")
        .trim_start_matches("good ")
        .to_string();
    s.write(
        "bridge.yaml",
        "from_ros:\n  - {topic: /imu_in, type: sensor_msgs/msg/Imu, output: imu_raw, format: cdr}\n\
         to_ros:\n  - {input: imu_back, topic: /imu_out, type: sensor_msgs/msg/Imu, format: cdr}\n",
    );
    let bridge = Node::bridge("--config bridge.yaml")
        .lossless_input("imu_back", "echo/imu_raw", 100)
        .outputs(["imu_raw"]);
    let echo = Node::python("echo", "dora_echo.py")
        .lossless_input("imu_raw", "bridge/imu_raw", 100)
        .outputs(["imu_raw"]);
    let mut dora = s.dora_run(&Dataflow::new().node(bridge).node(echo).yaml());
    let hexes = || -> Vec<String> {
        raw_sub
            .output()
            .iter()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter_map(|v| v["hex"].as_str().map(str::to_string))
            .collect()
    };
    let arrived = raw_sub.wait_for_line(Duration::from_secs(60), |_| hexes().len() >= 3);
    let context = format!("{}\n{}\n{}", dump(&raw_sub), dump(&dora), s.node_logs());
    assert!(arrived.is_some(), "{context}");
    assert_eq!(hexes(), vec![good; 3], "{context}");
    dora.stop();
}
