//! dora -> ROS through the real stacks: a Python dora node sends a
//! StructArray, the bridge publishes it, an rclpy subscriber receives it.

mod common;
use common::*;
use std::time::Duration;

#[test]
fn string_from_dora_arrives_at_rclpy_subscriber() {
    let s = Scenario::new(22);
    s.write(
        "bridge.yaml",
        "to_ros:\n  - input: text\n    topic: /from_dora\n    type: std_msgs/msg/String\n",
    );
    let text = "from dora ✓ ünïcode";
    let subscriber = s.python(
        "subscriber",
        "ros_sub.py",
        &["/from_dora", "std_msgs/msg/String"],
    );
    assert!(
        subscriber
            .wait_for_line(Duration::from_secs(30), |l| l == "ready")
            .is_some(),
        "{}",
        dump(&subscriber)
    );
    let sender = Node::python("sender", "dora_send.py")
        .env("SEND_OUTPUT", "text")
        .env(
            "SEND_JSON",
            serde_json::json!([{ "data": text }]).to_string(),
        )
        .input("tick", "dora/timer/millis/100")
        .output("text");
    let bridge = Node::bridge("--config bridge.yaml").input("text", "sender/text");
    let mut dora = s.dora_run(&Dataflow::new().node(sender).node(bridge).yaml());
    let line = subscriber.wait_for_line(Duration::from_secs(60), |l| {
        l.starts_with('{') && l.contains("\"message\"")
    });
    let line = line.unwrap_or_else(|| {
        panic!(
            "nothing reached the rclpy subscriber\n{}\n{}",
            dump(&dora),
            dump(&subscriber)
        )
    });
    let value: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(value["message"]["data"], text);
    let status = dora.stop();
    assert!(
        status.is_some_and(|s| s.success()),
        "dora run did not stop cleanly\n{}",
        dump(&dora)
    );
}
