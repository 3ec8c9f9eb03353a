//! The command line: config errors, `schema`, `check`, `--help`.

mod common;
use common::*;
use std::process::Command;

fn run(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(bridge_bin())
        .args(args)
        .output()
        .expect("run bridge");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn unknown_config_key_is_an_error_naming_key_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.yaml");
    std::fs::write(
        &path,
        "from_ros:\n  - topic: /a\n    type: std_msgs/msg/String\n    ouptut: a\n",
    )
    .unwrap();
    let (ok, _, err) = run(&["--config", path.to_str().unwrap()]);
    assert!(!ok);
    assert!(err.contains("ouptut") && err.contains("line 4"), "{err}");
    assert!(err.contains("(did you mean `output`?)"), "{err}");
}

#[test]
fn missing_config_file_is_an_error_naming_the_file() {
    let (ok, _, err) = run(&["--config", "/nonexistent/bridge.yaml"]);
    assert!(!ok);
    assert!(err.contains("/nonexistent/bridge.yaml"), "{err}");
}

#[test]
fn no_config_at_all_says_how_to_give_one() {
    let out = Command::new(bridge_bin())
        .env_remove("ROS2_DORA_BRIDGE_CONFIG")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--config") && err.contains("ROS2_DORA_BRIDGE_CONFIG"),
        "{err}"
    );
}

#[test]
fn config_outside_dora_says_it_needs_dora() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ok.yaml");
    std::fs::write(
        &path,
        "from_ros:\n  - {topic: /a, type: std_msgs/msg/String, output: a}\n",
    )
    .unwrap();
    let out = Command::new(bridge_bin())
        .args(["--config", path.to_str().unwrap()])
        .env_remove("DORA_NODE_CONFIG")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("DORA_NODE_CONFIG"));
}

#[test]
fn schema_prints_the_arrow_layout() {
    require_workbench();
    let (ok, out, err) = run(&["schema", "sensor_msgs/msg/Image"]);
    assert!(ok, "{err}");
    assert!(
        out.contains("# ros.type_name: sensor_msgs/msg/Image"),
        "{out}"
    );
    assert!(out.contains("data: List<UInt8>  # uint8[]"), "{out}");
    assert!(out.contains("nanosec: UInt32"), "{out}");
    let (ok, _, err) = run(&["schema", "no_such_msgs/msg/Nothing"]);
    assert!(!ok);
    assert!(err.contains("no_such_msgs/msg/Nothing"), "{err}");
}

#[test]
fn schema_prints_a_services_request_and_response() {
    require_workbench();
    let (ok, out, err) = run(&["schema", "std_srvs/srv/SetBool"]);
    assert!(ok, "{err}");
    let request = out.find("# request (std_srvs/srv/SetBool_Request)");
    let response = out.find("# response (std_srvs/srv/SetBool_Response)");
    assert!(request.is_some() && response > request, "{out}");
    assert!(out.contains("data: Boolean  # bool"), "{out}");
    assert!(out.contains("message: Utf8  # string"), "{out}");
    // A service type where a message type belongs is told as such.
    let (ok, _, err) = run(&["schema", "std_srvs/srv/NoSuchService"]);
    assert!(!ok);
    assert!(err.contains("NoSuchService.srv"), "{err}");
}

#[test]
fn schema_prints_an_actions_goal_feedback_and_result() {
    require_workbench();
    let (ok, out, err) = run(&["schema", "test_msgs/action/Fibonacci"]);
    assert!(ok, "{err}");
    let goal = out.find("# goal (test_msgs/action/Fibonacci_Goal)");
    let feedback = out.find("# feedback (test_msgs/action/Fibonacci_Feedback)");
    let result = out.find("# result (test_msgs/action/Fibonacci_Result)");
    assert!(
        goal.is_some() && feedback > goal && result > feedback,
        "{out}"
    );
    assert!(out.contains("order: Int32  # int32"), "{out}");
}

/// The batch `schema TYPE --format arrow-ipc` writes.
fn type_sheet(type_name: &str) -> arrow::array::RecordBatch {
    let out = Command::new(bridge_bin())
        .args(["schema", type_name, "--format", "arrow-ipc"])
        .output()
        .expect("run bridge");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stream = std::io::Cursor::new(out.stdout);
    let mut reader = arrow::ipc::reader::StreamReader::try_new(stream, None).unwrap();
    reader.next().expect("one batch").unwrap()
}

/// `--format arrow-ipc` (what the Python package reads): one row, a column
/// per part holding its default message, in the codec's exact types.
#[test]
fn schema_arrow_ipc_gives_each_parts_type_and_defaults() {
    use arrow::array::{Array, AsArray};
    require_workbench();
    let batch = type_sheet("std_srvs/srv/SetBool");
    assert_eq!(batch.num_rows(), 1);
    let schema = batch.schema();
    let names: Vec<_> = schema.fields().iter().map(|f| f.name().clone()).collect();
    assert_eq!(names, ["request", "response"]);
    let type_name = schema.field(0).metadata().get("ros.type_name");
    assert_eq!(
        type_name.map(String::as_str),
        Some("std_srvs/srv/SetBool_Request")
    );
    let response = batch.column(1).as_struct();
    assert!(
        !response
            .column_by_name("success")
            .unwrap()
            .as_boolean()
            .value(0)
    );

    let batch = type_sheet("test_msgs/msg/Defaults");
    assert_eq!(batch.schema().field(0).name(), "message");
    let defaults = batch.column(0).as_struct();
    let int8 = defaults.column_by_name("int8_value").unwrap();
    assert_eq!(
        int8.as_primitive::<arrow::datatypes::Int8Type>().value(0),
        -50
    );
    assert_eq!(defaults.len(), 1);
}

#[test]
fn sros2_enforced_without_security_is_a_clear_error_not_a_hang() {
    require_workbench();
    let out = Command::new(bridge_bin())
        .args(["discover", "--wait", "1s"])
        .env("ROS_DOMAIN_ID", "147")
        .env("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
        .env("ROS_SECURITY_ENABLE", "true")
        .env("ROS_SECURITY_STRATEGY", "Enforce")
        .env_remove("ROS_SECURITY_KEYSTORE")
        .output()
        .expect("run bridge");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains("SROS2") && err.contains("ROS_SECURITY_ENABLE"),
        "{err}"
    );
}

#[test]
fn check_validates_types() {
    require_workbench();
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.yaml");
    std::fs::write(
        &good,
        "to_ros:\n  - {input: i, topic: /t, type: geometry_msgs/msg/Twist}\n",
    )
    .unwrap();
    let (ok, out, err) = run(&["check", "--config", good.to_str().unwrap()]);
    assert!(ok, "{out}{err}");
    let bad = dir.path().join("bad.yaml");
    std::fs::write(
        &bad,
        "to_ros:\n  - {input: i, topic: /t, type: geometry_msgs/msg/Twits}\n",
    )
    .unwrap();
    let (ok, _, err) = run(&["check", "--config", bad.to_str().unwrap()]);
    assert!(!ok);
    assert!(
        err.contains("to_ros[0].type") && err.contains("Twits"),
        "{err}"
    );
}

#[test]
fn check_against_the_dataflow_names_undeclared_ids_and_lossy_inputs() {
    require_workbench();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("bridge.yaml");
    std::fs::write(
        &config,
        "from_ros:\n  - {topic: /odom, type: nav_msgs/msg/Odometry, output: odom}\n\
         \x20 - {topic: /scan, type: sensor_msgs/msg/LaserScan, output: scan, qos: sensor_data}\n\
         to_ros:\n  - {input: cmd, topic: /cmd_vel, type: geometry_msgs/msg/Twist}\n",
    )
    .unwrap();
    let backpressure = [("queue_policy", "backpressure".into())];
    let dataflow = |bridge_outputs: &[&str], lossless_odom: bool| {
        let bridge = Node::new("bridge", "/opt/ros2-dora-bridge")
            .args("--config bridge.yaml")
            .input_with("cmd", "planner/cmd", &backpressure)
            .outputs(bridge_outputs);
        let planner = Node::new("planner", "planner.py");
        let planner = match lossless_odom {
            true => planner.input_with("odom", "bridge/odom", &backpressure),
            false => planner.input("odom", "bridge/odom"),
        };
        let planner = planner.input("scan", "bridge/scan").output("cmd");
        Dataflow::new().node(bridge).node(planner).yaml()
    };
    let path = dir.path().join("dataflow.yml");
    let check = |text: String| {
        std::fs::write(&path, text).unwrap();
        run(&[
            "check",
            "--config",
            config.to_str().unwrap(),
            "--dataflow",
            path.to_str().unwrap(),
        ])
    };
    // The reliable /odom reaches `planner` through dora's default delivery:
    // a warning with the YAML; the best-effort /scan is fine as it is.
    let (ok, out, err) = check(dataflow(&["odom", "scan"], false));
    assert!(ok, "{out}{err}");
    assert!(
        err.contains("from_ros[0] (/odom)")
            && err.contains("dora input `odom` of node `planner`")
            && err.contains("queue_policy: backpressure"),
        "{err}"
    );
    assert!(!err.contains("/scan"), "{err}");
    // Lossless: no warning.
    let (ok, out, err) = check(dataflow(&["odom", "scan"], true));
    assert!(ok && !err.contains("warning"), "{out}{err}");
    // An input_timeout dora checks only every 5 s (its default tick): a
    // warning naming the setting; none once the tick is short enough.
    let timed = |top: &str| {
        let bridge = Node::new("bridge", "/opt/ros2-dora-bridge")
            .args("--config bridge.yaml")
            .input_with(
                "cmd",
                "planner/cmd",
                &[backpressure[0].clone(), ("input_timeout", 1.0.into())],
            )
            .outputs(["odom", "scan"]);
        let planner = Node::new("planner", "planner.py")
            .input_with("odom", "bridge/odom", &backpressure)
            .output("cmd");
        format!("{top}{}", Dataflow::new().node(bridge).node(planner).yaml())
    };
    let (ok, out, err) = check(timed(""));
    assert!(ok, "{out}{err}");
    assert!(
        err.contains("input `cmd` of node `bridge` has input_timeout 1 s")
            && err.contains("health_check_interval: 0.5"),
        "{err}"
    );
    let (ok, out, err) = check(timed("health_check_interval: 0.25\n"));
    assert!(ok && !err.contains("warning"), "{out}{err}");
    // An output the bridge's node does not declare is an error.
    let (ok, _, err) = check(dataflow(&["odom"], false));
    assert!(!ok);
    assert!(err.contains("from_ros[1].output `scan`"), "{err}");
}

#[test]
fn help_describes_the_commands() {
    let (ok, out, _) = run(&["--help"]);
    assert!(ok);
    for word in [
        "schema",
        "check",
        "status",
        "top",
        "fastdds-profile",
        "--config",
        "--dynamic",
        "--ros-args",
        "--log-format",
    ] {
        assert!(out.contains(word), "--help lacks {word}:\n{out}");
    }
    // A command's help has its own flags, not the bridge's.
    let (ok, schema, _) = run(&["schema", "--help"]);
    assert!(ok);
    for flag in ["--config", "--fastdds-defaults", "--log-format"] {
        assert!(
            !schema.contains(flag),
            "schema --help shows {flag}:\n{schema}"
        );
    }
    let (_, play, _) = run(&["bag", "play", "--help"]);
    assert!(play.contains("--fastdds-defaults"), "{play}");
}

#[test]
fn fastdds_profile_prints_the_shipped_profile_and_status_says_where_it_looked() {
    let (ok, out, _) = run(&["fastdds-profile"]);
    assert!(ok);
    let shipped = std::fs::read_to_string(repo_root().join("config/fastdds_large_messages.xml"));
    assert_eq!(out, shipped.unwrap());
    // No bridge on that socket: said, with the config key that opens one.
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("none.sock");
    let (ok, _, err) = run(&["status", "--connect", socket.to_str().unwrap()]);
    assert!(!ok);
    assert!(
        err.contains("no bridge answers on") && err.contains("admin: {listen:"),
        "{err}"
    );
}
