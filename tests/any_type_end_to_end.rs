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
    let (mut bridge, mut echo) = (
        Node::bridge("--config bridge.yaml"),
        Node::python("echo", "dora_echo.py"),
    );
    for k in 0..types.len() {
        bridge = bridge
            .input(&format!("back_{k}"), &format!("echo/m_{k}"))
            .output(&format!("ros_{k}"));
        echo = echo
            .input(&format!("m_{k}"), &format!("bridge/ros_{k}"))
            .output(&format!("m_{k}"));
    }

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

    let mut dora = s.dora_run(&Dataflow::new().node(bridge).node(echo).yaml());
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
    // Nothing configures Fast DDS here, so the bridge runs with its own
    // large-messages profile (a 32 MB segment of its own, mapped; the
    // pinger's is 512 KB) and says so. What it publishes needs no advice.
    let bridge = bridge_pid(&s).expect("the bridge process of this test");
    assert_eq!(large_fastdds_segments_mapped(bridge, 32 << 20), 1, "bridge");
    // Its profile file is gone once its participant exists (not only at a
    // clean exit, which a killed bridge never reaches).
    let profile_dir = std::env::var_os("XDG_RUNTIME_DIR")
        .map(std::path::PathBuf::from)
        .filter(|d| d.is_dir())
        .unwrap_or_else(std::env::temp_dir);
    let profile_file = profile_dir.join(format!(
        "ros2_dora_bridge-{bridge}-fastdds_large_messages.xml"
    ));
    assert!(
        !profile_file.exists(),
        "{} left behind",
        profile_file.display()
    );
    let output = dora.output();
    assert_eq!(
        output
            .iter()
            .filter(|l| l.contains("uses the bridge's large-messages profile"))
            .count(),
        1,
        "{}",
        dump(&dora)
    );
    // The image it takes in came through the pinger's 512 KB segment, but
    // only a few times: too few to judge by how late they arrive (the
    // streaming test below judges).
    assert!(
        !output
            .iter()
            .any(|l| l.contains("ros2-dora-bridge fastdds-profile")),
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

/// How many distinct Fast DDS shared-memory segments of at least `bytes`
/// process `pid` has mapped (its own, and those of the writers it reads
/// from). Looking at the mappings, not /dev/shm, ignores segments other
/// processes left behind.
fn large_fastdds_segments_mapped(pid: i32, bytes: u64) -> usize {
    let maps = std::fs::read_to_string(format!("/proc/{pid}/maps")).unwrap_or_default();
    let mut segments: Vec<&str> = maps
        .lines()
        .filter_map(|line| {
            let path = line.split_whitespace().nth(5)?;
            // Fast DDS 2 names them fastrtps_*, Fast DDS 3 fastdds_*.
            let segment =
                path.starts_with("/dev/shm/fastrtps_") || path.starts_with("/dev/shm/fastdds_");
            if !segment || path.contains("port") {
                return None;
            }
            let (start, end) = line.split_whitespace().next()?.split_once('-')?;
            let len = u64::from_str_radix(end, 16).ok()? - u64::from_str_radix(start, 16).ok()?;
            (len >= bytes).then_some(path)
        })
        .collect();
    segments.sort_unstable();
    segments.dedup();
    segments.len()
}

#[test]
fn the_shipped_large_messages_profile_is_taken_by_fast_dds_and_silences_the_advice() {
    let s = Scenario::new(24);
    let profile = repo_root().join("config/fastdds_large_messages.xml");
    s.write(
        "bridge.yaml",
        "from_ros:\n  - {topic: /ping_0, type: sensor_msgs/msg/Image, output: image}\n\
         to_ros:\n  - {input: back, topic: /pong_0, type: sensor_msgs/msg/Image}\n",
    );
    let mut cmd = s.command("python");
    cmd.arg(python_script("ros_pingpong.py"))
        .args(["0.5", "sensor_msgs/msg/Image"]);
    with_fastdds_profile(&mut cmd, &profile);
    let pingpong = s.spawn("pingpong", cmd);
    assert!(
        pingpong
            .wait_for_line(Duration::from_secs(60), |l| l == "ready")
            .is_some(),
        "{}",
        dump(&pingpong)
    );
    let dataflow = s.write(
        "dataflow.yml",
        &image_echo_dataflow(
            Node::bridge("--config bridge.yaml")
                .env(FASTDDS_PROFILE_VARIABLES[0], p(&profile))
                .env(FASTDDS_PROFILE_VARIABLES[1], p(&profile)),
        ),
    );
    let mut cmd = s.command("dora");
    cmd.arg("run").arg(&dataflow).args(["--stop-after", "120s"]);
    let mut dora = s.spawn("dora run", cmd);
    assert_round_trip(&s, &pingpong, &dora, "the 4K image");
    // Fast DDS took the profile in both processes: each has mapped two
    // segments of its size, its own and the other's (without the profile,
    // the bridge's own would be 512 KB). Neither complained about the XML.
    let bridge = bridge_pid(&s).expect("the bridge process of this test");
    assert_eq!(large_fastdds_segments_mapped(bridge, 32 << 20), 2, "bridge");
    assert_eq!(
        large_fastdds_segments_mapped(pingpong.pid(), 32 << 20),
        2,
        "pinger"
    );
    let logs = format!("{}\n{}\n{}", dump(&pingpong), dump(&dora), s.node_logs());
    assert!(!logs.contains("XMLPARSER"), "{logs}");
    assert!(
        !logs.contains("ros2-dora-bridge fastdds-profile"),
        "advice despite the profile:\n{logs}"
    );
    // The user's profile is the one in use: the bridge did not add its own.
    assert!(
        !logs.contains("uses the bridge's large-messages profile"),
        "{logs}"
    );
    let status = dora.stop();
    assert!(
        status.is_some_and(|s| s.success()),
        "dora run did not stop cleanly\n{}",
        dump(&dora)
    );
}

#[test]
fn with_fastdds_defaults_the_bridge_keeps_the_512_kb_segment_and_advises_on_what_it_publishes() {
    let s = Scenario::new(25);
    s.write(
        "bridge.yaml",
        "from_ros:\n  - {topic: /ping_0, type: sensor_msgs/msg/Image, output: image}\n\
         to_ros:\n  - {input: back, topic: /pong_0, type: sensor_msgs/msg/Image}\n",
    );
    let pingpong = s.python(
        "pingpong",
        "ros_pingpong.py",
        &["0.5", "sensor_msgs/msg/Image"],
    );
    assert!(
        pingpong
            .wait_for_line(Duration::from_secs(60), |l| l == "ready")
            .is_some(),
        "{}",
        dump(&pingpong)
    );
    let mut dora = s.dora_run(&image_echo_dataflow(Node::bridge(
        "--config bridge.yaml --fastdds-defaults",
    )));
    assert_round_trip(&s, &pingpong, &dora, "the 4K image");
    let bridge = bridge_pid(&s).expect("the bridge process of this test");
    assert_eq!(large_fastdds_segments_mapped(bridge, 32 << 20), 0, "bridge");
    let output = dora.output();
    assert!(
        !output
            .iter()
            .any(|l| l.contains("uses the bridge's large-messages profile")),
        "{}",
        dump(&dora)
    );
    let advised = |topic: &str, who: &str| {
        output
            .iter()
            .filter(|l| l.contains(&format!("{topic}: messages of")) && l.contains(who))
            .count()
    };
    // What it takes in is judged by how late it arrives, over ten messages
    // at least: the pinger sends its image a few times only.
    assert_eq!(advised("/ping_0", "fastdds-profile"), 0, "{}", dump(&dora));
    assert_eq!(
        advised("/pong_0", "give the bridge a larger segment"),
        1,
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

/// `bridge` (image out, back in) and an echo between.
fn image_echo_dataflow(bridge: Node) -> String {
    Dataflow::new()
        .node(bridge.input("back", "echo/m").output("image"))
        .node(
            Node::python("echo", "dora_echo.py")
                .input("m", "bridge/image")
                .output("m"),
        )
        .yaml()
}

/// Waits for the pinger's "all matched", failing with every log.
fn assert_round_trip(s: &Scenario, pingpong: &Proc, dora: &Proc, what: &str) {
    let done = pingpong.wait_for_line(Duration::from_secs(120), |l| l == "all matched");
    assert!(
        done.is_some(),
        "{what} did not make the round trip:\n{}\n{}\n{}",
        dump(pingpong),
        dump(dora),
        s.node_logs()
    );
}
