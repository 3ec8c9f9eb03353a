//! Routes as the ROS graph shapes them, through real rclpy publishers and
//! `dora run`: types learned from the graph, pattern routes that pick up
//! topics created later, `qos: auto` against best-effort and transient-local
//! publishers (and re-chosen when a best-effort one joins later), metadata,
//! and `--ros-args` remapping.

mod common;
use common::*;
use serde_json::Value;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(60);

fn input_on(record: &Value, topic: &str) -> bool {
    record["event"] == "INPUT" && record["metadata"]["ros_topic"] == topic
}

#[test]
fn type_is_learned_from_the_graph_and_metadata_is_complete() {
    let s = Scenario::new(31);
    s.write("bridge.yaml", "from_ros:\n  - {topic: /cmd, output: cmd}\n");
    let _pub = s.python(
        "publisher",
        "ros_pub.py",
        &[
            "/cmd",
            "geometry_msgs/msg/Twist",
            r#"{"linear": {"x": 1.5}, "angular": {"z": -0.25}}"#,
            "--node",
            "teleop",
        ],
    );
    let mut dora = s.bridge_to_recorder("--config bridge.yaml", &["cmd"]);
    let got = s.wait_for_record("received.jsonl", WAIT, |r| input_on(r, "/cmd"));
    let got = got.unwrap_or_else(|| panic!("nothing arrived\n{}\n{}", dump(&dora), s.node_logs()));
    assert_eq!(got["value"][0]["linear"]["x"], 1.5);
    assert_eq!(got["value"][0]["angular"]["z"], -0.25);
    let meta = &got["metadata"];
    assert_eq!(meta["ros_type"], "geometry_msgs/msg/Twist");
    // The node name travels once the graph knows it (a publisher's first
    // messages can beat its name through discovery).
    let named = s
        .wait_for_record("received.jsonl", WAIT, |r| {
            input_on(r, "/cmd") && r["metadata"]["ros_publisher_node"].is_string()
        })
        .unwrap_or_else(|| panic!("no message carried the node name\n{}", dump(&dora)));
    assert_eq!(named["metadata"]["ros_publisher_node"], "/teleop");
    assert_eq!(
        meta["ros_publisher_gid"].as_str().map(str::len),
        Some(32),
        "{meta}"
    );
    let source = meta["ros_source_timestamp_ns"].as_i64().unwrap();
    let received = meta["ros_received_timestamp_ns"].as_i64().unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as i64;
    assert!(
        source > now - 120_000_000_000 && source <= received && received <= now,
        "{meta}"
    );
    assert!(
        meta["ros_publication_sequence_number"].as_i64().unwrap() >= 1,
        "{meta}"
    );
    assert!(dora.stop().is_some_and(|s| s.success()), "{}", dump(&dora));
}

#[test]
fn pattern_route_picks_up_a_topic_created_after_start() {
    let s = Scenario::new(32);
    s.write(
        "bridge.yaml",
        "from_ros:\n  - {match: '^/sensors/.*', output: sensors}\nto_ros:\n  - {input: unused, topic: /sensors/own, type: std_msgs/msg/String}\n",
    );
    let first = s.python(
        "first",
        "ros_pub.py",
        &["/sensors/first", "std_msgs/msg/String", r#"{"data": "a"}"#],
    );
    // The bridge publishes /sensors/own itself: that must not loop back.
    let mut dora = s.bridge_to_recorder_with_inputs(
        "--config bridge.yaml",
        &["sensors"],
        &[("unused", "dora/timer/secs/3600")],
    );
    assert!(
        s.wait_for_record("received.jsonl", WAIT, |r| input_on(r, "/sensors/first"))
            .is_some(),
        "first topic never arrived\n{}\n{}",
        dump(&first),
        s.node_logs()
    );
    // Only now does the second topic exist.
    let _second = s.python(
        "second",
        "ros_pub.py",
        &[
            "/sensors/later",
            "sensor_msgs/msg/Temperature",
            r#"{"temperature": 21.5}"#,
        ],
    );
    let later = s.wait_for_record("received.jsonl", WAIT, |r| input_on(r, "/sensors/later"));
    let later = later.unwrap_or_else(|| panic!("later topic never arrived\n{}", s.node_logs()));
    assert_eq!(later["metadata"]["ros_type"], "sensor_msgs/msg/Temperature");
    assert_eq!(later["value"][0]["temperature"], 21.5);
    assert!(
        !s.records("received.jsonl")
            .iter()
            .any(|r| input_on(r, "/sensors/own"))
    );
    assert!(dora.stop().is_some_and(|s| s.success()), "{}", dump(&dora));
}

#[test]
fn qos_auto_hears_a_best_effort_publisher_where_default_cannot() {
    let s = Scenario::new(33);
    s.write(
        "bridge.yaml",
        "from_ros:\n  - {topic: /scan_like, type: std_msgs/msg/String, output: auto}\n  - {topic: /scan_like, type: std_msgs/msg/String, output: strict, qos: default}\n",
    );
    let _pub = s.python(
        "publisher",
        "ros_pub.py",
        &[
            "/scan_like",
            "std_msgs/msg/String",
            r#"{"data": "be"}"#,
            "--qos",
            "best_effort",
        ],
    );
    let mut dora = s.bridge_to_recorder("--config bridge.yaml", &["auto", "strict"]);
    let got = s.wait_for_record("received.jsonl", WAIT, |r| r["id"] == "auto");
    assert!(got.is_some(), "auto route got nothing\n{}", s.node_logs());
    // The reliable route cannot match; the bridge says so loudly.
    let deadline = std::time::Instant::now() + WAIT;
    while !s.node_logs().contains("INCOMPATIBLE QoS") {
        assert!(
            std::time::Instant::now() < deadline,
            "no incompatible-QoS report\n{}",
            s.node_logs()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        !s.records("received.jsonl")
            .iter()
            .any(|r| r["id"] == "strict")
    );
    assert!(dora.stop().is_some_and(|s| s.success()), "{}", dump(&dora));
}

#[test]
fn qos_auto_resubscribes_when_a_best_effort_publisher_joins_later() {
    let s = Scenario::new(36);
    s.write(
        "bridge.yaml",
        "from_ros:\n  - {topic: /mixed, type: std_msgs/msg/String, output: mixed}\n",
    );
    let _reliable = s.python(
        "reliable_publisher",
        "ros_pub.py",
        &[
            "/mixed",
            "std_msgs/msg/String",
            r#"{"data": "reliable"}"#,
            "--node",
            "reliable_pub",
        ],
    );
    let mut dora = s.bridge_to_recorder("--config bridge.yaml", &["mixed"]);
    let has = |data: &'static str| {
        move |r: &Value| input_on(r, "/mixed") && r["value"][0]["data"] == data
    };
    assert!(
        s.wait_for_record("received.jsonl", WAIT, has("reliable"))
            .is_some(),
        "reliable publisher never heard\n{}",
        s.node_logs()
    );
    // Only a reliable publisher so far: auto picked reliable, which a
    // best-effort publisher cannot match. Its messages arriving proves the
    // subscription was re-created.
    let _best_effort = s.python(
        "best_effort_publisher",
        "ros_pub.py",
        &[
            "/mixed",
            "std_msgs/msg/String",
            r#"{"data": "best effort"}"#,
            "--qos",
            "best_effort",
            "--node",
            "best_effort_pub",
        ],
    );
    assert!(
        s.wait_for_record("received.jsonl", WAIT, has("best effort"))
            .is_some(),
        "best-effort publisher never heard\n{}",
        s.node_logs()
    );
    let logs = s.node_logs();
    assert!(
        logs.contains("re-subscribing /mixed")
            && logs.contains("-> std_msgs/msg/String best_effort"),
        "{logs}"
    );
    // The best-effort subscription still hears the reliable publisher.
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let records = s.records("received.jsonl");
        let first_best_effort = records
            .iter()
            .position(has("best effort"))
            .expect("seen above");
        if records[first_best_effort..].iter().any(has("reliable")) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "reliable publisher not heard after re-subscribing\n{}",
            s.node_logs()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(dora.stop().is_some_and(|s| s.success()), "{}", dump(&dora));
}

#[test]
fn qos_auto_gets_latched_message_from_transient_local_publisher_started_earlier() {
    let s = Scenario::new(34);
    s.write(
        "bridge.yaml",
        "from_ros:\n  - {topic: /map_like, output: map}\n",
    );
    let publisher = s.python(
        "publisher",
        "ros_pub.py",
        &[
            "/map_like",
            "std_msgs/msg/String",
            r#"{"data": "latched"}"#,
            "--qos",
            "transient_local",
            "--count",
            "1",
        ],
    );
    assert!(
        publisher
            .wait_for_line(WAIT, |l| l == "published 1")
            .is_some(),
        "{}",
        dump(&publisher)
    );
    // The bridge joins after the only message was sent.
    let mut dora = s.bridge_to_recorder("--config bridge.yaml", &["map"]);
    let got = s.wait_for_record("received.jsonl", WAIT, |r| input_on(r, "/map_like"));
    let got = got.unwrap_or_else(|| panic!("latched message never arrived\n{}", s.node_logs()));
    assert_eq!(got["value"][0]["data"], "latched");
    assert!(dora.stop().is_some_and(|s| s.success()), "{}", dump(&dora));
}

#[test]
fn ros_args_remap_topics_and_rename_the_node() {
    let s = Scenario::new(35);
    s.write(
        "bridge.yaml",
        "from_ros:\n  - {topic: /configured, type: std_msgs/msg/String, output: out}\n",
    );
    let _pub = s.python(
        "publisher",
        "ros_pub.py",
        &["/actual", "std_msgs/msg/String", r#"{"data": "remapped"}"#],
    );
    let mut dora = s.bridge_to_recorder(
        "--config bridge.yaml --ros-args -r /configured:=/actual -r __node:=renamed_bridge",
        &["out"],
    );
    let got = s.wait_for_record("received.jsonl", WAIT, |r| input_on(r, "/actual"));
    assert!(
        got.is_some(),
        "remapped topic never arrived\n{}",
        s.node_logs()
    );
    assert!(
        s.node_logs().contains("ROS node /renamed_bridge is up"),
        "{}",
        s.node_logs()
    );
    assert!(dora.stop().is_some_and(|s| s.success()), "{}", dump(&dora));
}
