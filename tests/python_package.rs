//! The Python package for dora nodes (python/): its pytest suite against
//! this build of the bridge (the package reads its types from the binary),
//! and real dataflows in which a dora node written only with the package
//! reads and writes rclpy's messages.

mod common;
use common::*;
use std::process::Command;
use std::time::Duration;

#[test]
fn pytest_suite_passes_against_this_bridge() {
    require_workbench();
    let cache = tempfile::tempdir().unwrap();
    let output = Command::new("python")
        .args(["-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"])
        .current_dir(repo_root().join("python"))
        .env("ROS2_DORA_BRIDGE_BIN", bridge_bin())
        .env("XDG_CACHE_HOME", cache.path())
        .output()
        .expect("python -m pytest");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "pytest failed:\n{text}");
    assert!(text.contains(" passed"), "{text}");
}

/// rclpy publishes the kinds of message robots send most (a padded rgb8
/// image, a big-endian mono16 image, a cloud with padding fields, a scan,
/// a map, odometry covariance); a dora node reads each with the package
/// and compares it with arrays built by hand; the image and the cloud go
/// back to ROS through numpy and must equal rclpy's originals.
#[test]
fn rclpy_messages_read_and_written_with_the_package() {
    let s = Scenario::new(91);
    let topics = [
        ("/image_rgb8", "sensor_msgs/msg/Image"),
        ("/image_mono16", "sensor_msgs/msg/Image"),
        ("/cloud", "sensor_msgs/msg/PointCloud2"),
        ("/scan", "sensor_msgs/msg/LaserScan"),
        ("/map", "nav_msgs/msg/OccupancyGrid"),
        ("/odom", "nav_msgs/msg/Odometry"),
    ];
    let mut config = String::from("from_ros:\n");
    for (topic, msg_type) in topics {
        let output = &topic[1..];
        config += &format!("  - topic: {topic}\n    type: {msg_type}\n    output: {output}\n");
    }
    config +=
        "to_ros:\n  - input: echo_image\n    topic: /echo/image\n    type: sensor_msgs/msg/Image\n";
    config +=
        "  - input: echo_cloud\n    topic: /echo/cloud\n    type: sensor_msgs/msg/PointCloud2\n";
    s.write("bridge.yaml", &config);
    let done = s.path("checked");
    let publisher = s.python("package_samples", "package_samples.py", &[&p(&done)]);
    let outputs = topics.map(|(topic, _)| &topic[1..]);
    let bridge = Node::bridge("--config bridge.yaml")
        .input("echo_image", "check/echo_image")
        .input("echo_cloud", "check/echo_cloud")
        .input("tick", "dora/timer/millis/500")
        .outputs(outputs);
    let mut check = Node::python("check", "dora_package_check.py")
        .env("RESULT_FILE", p(&s.path("results.jsonl")))
        .env("DONE_FILE", p(&done))
        .env("ROS2_DORA_BRIDGE_BIN", bridge_bin())
        .env("XDG_CACHE_HOME", p(&s.path("cache")))
        .output("echo_image")
        .output("echo_cloud");
    for output in outputs {
        check = check.input(output, &format!("bridge/{output}"));
    }
    let mut dora = s.dora_run(&Dataflow::new().node(bridge).node(check).yaml());
    let finished = publisher.wait_for_line(Duration::from_secs(90), |l| l == "done");
    let results = s.records("results.jsonl");
    let context = format!(
        "{results:?}\n{}\n{}\n{}",
        dump(&publisher),
        dump(&dora),
        s.node_logs()
    );
    assert!(
        finished.is_some(),
        "the samples were not all checked\n{context}"
    );
    assert_eq!(results.len(), topics.len(), "{context}");
    for result in &results {
        assert_eq!(result["ok"], true, "{result}\n{context}");
    }
    for echo in ["/echo/image", "/echo/cloud"] {
        let line = format!("echo {echo} exact");
        assert!(publisher.output().contains(&line), "no `{line}`\n{context}");
    }
    dora.stop();
}

/// The camera demo's own nodes under test: rclpy camera -> bridge -> the
/// package-only dora node (examples/camera/process.py) -> bridge -> rclpy,
/// every frame checked pixel for pixel, at an odd size.
#[test]
fn camera_frames_come_back_pixel_exact() {
    let s = Scenario::new(92);
    let example = repo_root().join("examples/camera");
    let config = std::fs::read_to_string(example.join("bridge.yaml")).unwrap();
    s.write("bridge.yaml", &config);
    let bridge = Node::bridge("--config bridge.yaml")
        .set("shared_memory_pool_size", "64MB")
        .input("processed", "process/processed")
        .input("cmd_vel", "process/cmd_vel")
        .input("tick", "dora/timer/secs/1")
        .output("image");
    let process = Node::new("process", example.join("process.py"))
        .env("ROS2_DORA_BRIDGE_BIN", bridge_bin())
        .env("XDG_CACHE_HOME", p(&s.path("cache")))
        .input("image", "bridge/image")
        .output("processed")
        .output("cmd_vel");
    let mut dora = s.dora_run(&Dataflow::new().node(bridge).node(process).yaml());
    let mut cmd = s.command("python");
    cmd.arg(example.join("camera.py")).args([
        "--frames", "20", "--rate", "15", "--width", "331", "--height", "203",
    ]);
    let mut camera = s.spawn("camera", cmd);
    let status = camera.wait_exit(Duration::from_secs(90));
    let context = format!("{}\n{}\n{}", dump(&camera), dump(&dora), s.node_logs());
    assert!(
        status.is_some_and(|s| s.success()),
        "the camera did not get 20 exact frames back\n{context}"
    );
    assert!(
        camera
            .output()
            .iter()
            .any(|l| l.starts_with("camera: 20 processed frames exact")
                && !l.contains(", 0 cmd_vel")),
        "{context}"
    );
    dora.stop();
}

/// ServiceClient and ActionClient in a real dataflow against rclpy servers:
/// an answer matched to its call, a call to a service nobody offers
/// answered with its error, a goal's feedback, status and result, a
/// rejected goal.
#[test]
fn service_and_action_clients_match_answers_and_errors() {
    let s = Scenario::new(97);
    s.write(
        "bridge.yaml",
        "service_clients:
  - {service: /set_mode, type: std_srvs/srv/SetBool, request: set_mode_request, response: set_mode_response, timeout: 20s}
  - {service: /nobody, type: std_srvs/srv/SetBool, request: nobody_request, response: nobody_response, timeout: 1s}
action_clients:
  - {action: /fib, type: test_msgs/action/Fibonacci, goal: fib_goal, feedback: fib_feedback, status: fib_status, result: fib_result, timeout: 20s}
",
    );
    let _server = s.python(
        "service server",
        "ros_service_server.py",
        &["/set_mode", "std_srvs/srv/SetBool"],
    );
    let _action_server = s.python(
        "action server",
        "ros_action_server.py",
        &["/fib", "--reject-below", "2"],
    );
    // Lossless inputs, as docs/configuration.md has service and action
    // routes: dora's default delivery drops messages under load (seen in
    // CI: one action result in three runs on a busy machine).
    let bridge = Node::bridge("--config bridge.yaml")
        .lossless_input("set_mode_request", "caller/set_mode_request", 100)
        .lossless_input("nobody_request", "caller/nobody_request", 100)
        .lossless_input("fib_goal", "caller/fib_goal", 100)
        .input("keepalive", "dora/timer/secs/1")
        .outputs([
            "set_mode_response",
            "nobody_response",
            "fib_feedback",
            "fib_status",
            "fib_result",
        ]);
    let mut caller = Node::python("caller", "dora_package_calls.py")
        .env("RESULT_FILE", p(&s.path("results.jsonl")))
        .env("ROS2_DORA_BRIDGE_BIN", bridge_bin())
        .env("XDG_CACHE_HOME", p(&s.path("cache")))
        .input("tick", "dora/timer/millis/200")
        .outputs(["set_mode_request", "nobody_request", "fib_goal"]);
    for input in [
        "set_mode_response",
        "nobody_response",
        "fib_feedback",
        "fib_status",
        "fib_result",
    ] {
        caller = caller.lossless_input(input, &format!("bridge/{input}"), 100);
    }
    let mut dora = s.dora_run(&Dataflow::new().node(bridge).node(caller).yaml());
    let find = |key: &str, value: serde_json::Value| {
        s.wait_for_record("results.jsonl", Duration::from_secs(60), |r| {
            r[key] == value
        })
    };
    let context = || {
        format!(
            "{:?}\n{}\n{}",
            s.records("results.jsonl"),
            dump(&dora),
            s.node_logs()
        )
    };
    let set_mode = find("call", "set_mode".into()).unwrap_or_else(|| panic!("{}", context()));
    assert_eq!(set_mode["ok"], true, "{set_mode}");
    assert_eq!(set_mode["response"]["success"], true, "{set_mode}");
    let nobody = find("call", "nobody".into()).unwrap_or_else(|| panic!("{}", context()));
    assert_eq!(nobody["ok"], false, "{nobody}");
    assert!(
        nobody["error"].as_str().unwrap_or("").contains("no server"),
        "{nobody}"
    );
    let done = find("goal", 4.into()).unwrap_or_else(|| panic!("{}", context()));
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(done["result"], serde_json::json!([0, 1, 1, 2, 3]), "{done}");
    // Feedback (a topic) and the result (a service answer) travel apart:
    // ROS orders neither against the other, and the server's last feedback
    // can land after its result (seen once in CI), when the goal is over.
    let last_feedback = done["feedback"].as_array().and_then(|f| f.last());
    assert!(
        last_feedback == Some(&serde_json::json!([0, 1, 1, 2, 3]))
            || last_feedback == Some(&serde_json::json!([0, 1, 1, 2])),
        "{done}"
    );
    assert!(
        done["statuses"]
            .as_array()
            .is_some_and(|s| s.iter().any(|v| v == "executing")),
        "{done}"
    );
    let rejected = find("goal", 1.into()).unwrap_or_else(|| panic!("{}", context()));
    assert_eq!(rejected["status"], "rejected", "{rejected}");
    assert_eq!(rejected["result"], serde_json::Value::Null, "{rejected}");
    dora.stop();
}
