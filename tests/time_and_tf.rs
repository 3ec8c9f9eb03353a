//! Simulated time and TF through the real stacks: an rclpy "simulator"
//! publishing /clock, rclpy TF publishers (tf2_msgs built by the workbench
//! from interfaces/), `bag play --clock` driving an rclpy node in sim time,
//! and dora nodes that look transforms up and check them against their own
//! numpy reference.

mod common;
use common::*;
use serde_json::Value;
use std::time::Duration;

const S: i64 = 1_000_000_000;

fn lines(proc: &Proc) -> Vec<Value> {
    proc.output()
        .iter()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

#[test]
fn sim_time_drives_metadata_the_clock_output_and_diagnostics() {
    let s = Scenario::new(170);
    // Sim time at 1000 s until the bridge subscribes, then 3 s running,
    // 2.5 s paused, then running again.
    let simulator = s.python(
        "simulator",
        "ros_clock.py",
        &["1000", "--run", "3", "--pause", "2.5"],
    );
    let _talker = s.python(
        "talker",
        "ros_pub.py",
        &[
            "/greeting",
            "std_msgs/msg/String",
            r#"{"data": "hi"}"#,
            "10",
        ],
    );
    let diagnostics = s.python(
        "diagnostics",
        "ros_sub.py",
        &["/diagnostics", "diagnostic_msgs/msg/DiagnosticArray"],
    );
    s.write(
        "bridge.yaml",
        "from_ros:\n  - {topic: /greeting, type: std_msgs/msg/String, output: greeting}\n\
         clock: {output: ros_clock, period: 100ms}\n\
         dora_failures: {diagnostics_topic: /diagnostics}\n",
    );
    let mut dora = s.bridge_to_recorder_with_inputs(
        "--config bridge.yaml --ros-args -p use_sim_time:=true",
        &["greeting", "ros_clock"],
        &[("keepalive", "dora/timer/secs/1")],
    );
    let context = |what: &str| {
        format!(
            "{what}\n{}\n{}\n{}",
            dump(&dora),
            dump(&simulator),
            s.node_logs()
        )
    };
    let resumed = wait_json(&simulator, Duration::from_secs(90), |v| {
        v["phase"] == "resume"
    })
    .unwrap_or_else(|| panic!("{}", context("the simulator never resumed")));
    // Ticks well after the resumption: the pause is behind us.
    s.wait_for_record("received.jsonl", Duration::from_secs(60), |r| {
        r["id"] == "ros_clock" && r["t"].as_f64() > resumed["t"].as_f64().map(|t| t + 1.0)
    })
    .unwrap_or_else(|| panic!("{}", context("no tick after the pause")));

    let records = s.records("received.jsonl");
    let greeting = records
        .iter()
        .find(|r| r["id"] == "greeting" && r["metadata"]["ros_time_ns"].as_i64() > Some(0))
        .unwrap_or_else(|| panic!("{}", context("no greeting in sim time")));
    let ros_time = greeting["metadata"]["ros_time_ns"].as_i64().unwrap();
    assert!(
        (1000 * S..1100 * S).contains(&ros_time),
        "ros_time_ns is sim time: {greeting}"
    );
    assert_eq!(greeting["metadata"]["ros_time_source"], "sim");

    let ticks: Vec<(f64, i64)> = records
        .iter()
        .filter(|r| r["id"] == "ros_clock")
        .map(|r| {
            let v = &r["value"][0];
            let ns = v["sec"].as_i64().unwrap_or(0) * S + v["nanosec"].as_i64().unwrap_or(0);
            (r["t"].as_f64().unwrap_or(0.0), ns)
        })
        .collect();
    assert!(ticks.len() >= 10, "{ticks:?}");
    assert!(
        ticks
            .iter()
            .all(|(_, ns)| (1000 * S..1100 * S).contains(ns)),
        "ticks in sim time: {ticks:?}"
    );
    assert!(
        ticks.windows(2).all(|w| w[1].1 > w[0].1),
        "sim time only moves on: {ticks:?}"
    );
    // Paused at sim 1003 s for 2.5 s: no tick in between, one long wall gap.
    let longest_gap = ticks
        .windows(2)
        .map(|w| w[1].0 - w[0].0)
        .fold(0.0, f64::max);
    assert!(
        longest_gap > 2.0,
        "the clock output stops while the simulation pauses: {ticks:?}"
    );

    let stamps: Vec<i64> = lines(&diagnostics)
        .iter()
        .filter_map(|l| l["message"]["header"]["stamp"]["sec"].as_i64())
        .collect();
    assert!(
        stamps.iter().any(|&sec| (1000..1100).contains(&sec)),
        "/diagnostics stamped in sim time: {stamps:?}\n{}",
        dump(&diagnostics)
    );
    dora.stop();
}

/// tests/python/make_bag.py's MCAP bag: /chatter spans 0.9 s from 1_700_000_000 s.
fn make_bag(s: &Scenario) -> std::path::PathBuf {
    let dir = s.path("bag");
    let made = s
        .command("python")
        .arg(python_script("make_bag.py"))
        .arg(&dir)
        .arg("mcap")
        .output()
        .expect("make_bag.py");
    let stderr = String::from_utf8_lossy(&made.stderr);
    assert!(made.status.success(), "{stderr}");
    dir
}

#[test]
fn bag_play_clock_drives_an_rclpy_node_in_sim_time() {
    let s = Scenario::new(171);
    let dir = make_bag(&s);
    let sim_node = s.python("sim node", "ros_sim_clock.py", &[]);
    // The bag's /chatter spans 0.9 s from 1_700_000_000 s: at rate 0.25 it plays for 3.6 s.
    let mut cmd = s.command(bridge_bin());
    cmd.args([
        "bag",
        "play",
        &p(&dir),
        "--clock",
        "50",
        "--rate",
        "0.25",
        "--topic",
        "/chatter",
    ]);
    let mut play = s.spawn("bag play", cmd);
    let status = play.wait_exit(Duration::from_secs(60));
    assert!(status.is_some_and(|s| s.success()), "{}", dump(&play));
    let t0 = 1_700_000_000 * S;
    let seen: Vec<(f64, i64)> = lines(&sim_node)
        .iter()
        .filter_map(|l| Some((l["t"].as_f64()?, l["now_ns"].as_i64()?)))
        .filter(|(_, ns)| *ns > 0)
        .collect();
    assert!(
        seen.len() >= 10,
        "the node's clock never followed /clock: {}",
        dump(&sim_node)
    );
    assert!(
        seen.iter().all(|(_, ns)| (t0..t0 + 2 * S).contains(ns)),
        "the node's clock is the bag's time: {seen:?}"
    );
    let (first, last) = (seen[0], seen[seen.len() - 1]);
    let sim_rate = (last.1 - first.1) as f64 / 1e9 / (last.0 - first.0);
    assert!(
        (0.1..0.45).contains(&sim_rate),
        "sim time advances at --rate 0.25 of wall time, got {sim_rate}: {seen:?}"
    );
}

#[test]
fn replay_clock_gives_ros_nodes_and_dora_the_bags_time() {
    let s = Scenario::new(178);
    let dir = make_bag(&s);
    let sim_node = s.python("sim node", "ros_sim_clock.py", &[]);
    s.write(
        "bridge.yaml",
        &format!(
            "replay: {{bag: {}, clock: 50, rate: 0.25, start_delay: 2s, at_end: wait}}\n\
             from_ros:\n  - {{topic: /chatter, output: chatter}}\n",
            p(&dir)
        ),
    );
    let mut dora = s.bridge_to_recorder("--config bridge.yaml", &["chatter"]);
    let context = |what: &str| {
        format!(
            "{what}\n{}\n{}\n{}",
            dump(&dora),
            dump(&sim_node),
            s.node_logs()
        )
    };
    let last = s
        .wait_for_record("received.jsonl", Duration::from_secs(90), |r| {
            r["id"] == "chatter" && r["value"][0]["data"] == "hello 9"
        })
        .unwrap_or_else(|| panic!("{}", context("the bag did not play")));
    let t0 = 1_700_000_000 * S;
    for r in s
        .records("received.jsonl")
        .iter()
        .filter(|r| r["id"] == "chatter")
    {
        assert_eq!(r["metadata"]["ros_time_source"], "sim", "{r}");
        assert_eq!(
            r["metadata"]["ros_time_ns"], r["metadata"]["ros_received_timestamp_ns"],
            "a replayed message's ROS time is its recorded time: {r}"
        );
    }
    let seen: Vec<i64> = lines(&sim_node)
        .iter()
        .filter_map(|l| l["now_ns"].as_i64())
        .filter(|ns| *ns > 0)
        .collect();
    assert!(
        seen.len() >= 5 && seen.iter().all(|ns| (t0..t0 + 2 * S).contains(ns)),
        "{}",
        context(&format!(
            "the rclpy node's clock is not the bag's: {seen:?} (last {last})"
        ))
    );
    dora.stop();
}

/// The 5-frame tree of the lookup tests: map -> odom -> base_link ->
/// {laser, camera}, with map->odom and odom->base_link known at 100 s and
/// 101 s, the two sensors static (from two publishers), and a second tree.
const DYNAMIC: &str = r#"[
  ["map", "odom", 100.0, [1.0, 0.0, 0.0], [0.0, 0.0, 0.0, 1.0]],
  ["map", "odom", 101.0, [3.0, 0.0, 0.0], [0.0, 0.0, 0.7071067811865476, 0.7071067811865476]],
  ["odom", "base_link", 100.0, [0.0, 1.0, 0.0], [0.0, 0.0, 0.0, 1.0]],
  ["odom", "base_link", 100.8, [0.0, 2.0, 0.5], [0.0, 0.3826834323650898, 0.0, 0.9238795325112867]],
  ["world", "elsewhere", 100.0, [0.0, 0.0, 1.0], [0.0, 0.0, 0.0, 1.0]],
  ["world", "elsewhere", 101.0, [0.0, 0.0, 1.0], [0.0, 0.0, 0.0, 1.0]]
]"#;
const LASER: &str = r#"[["base_link", "laser", [0.5, 0.0, 0.2], [0.0, 0.0, 1.0, 0.0]]]"#;
const CAMERA: &str = r#"[["base_link", "camera", [0.1, -0.3, 0.4], [0.5, -0.5, 0.5, -0.5]]]"#;

/// The child frames of the /tf_static rows the recorder got after `since`
/// (its wall-clock `t`).
fn static_children(s: &Scenario, since: f64) -> Vec<String> {
    s.records("received.jsonl")
        .iter()
        .filter(|r| r["id"] == "tf_static" && r["t"].as_f64().is_some_and(|t| t > since))
        .flat_map(|r| {
            r["value"][0]["transforms"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .filter_map(|t| t["child_frame_id"].as_str().map(str::to_string))
        .collect()
}

fn tf_publishers(s: &Scenario) -> Vec<Proc> {
    let specs = [
        (
            "laser.json",
            format!(r#"{{"static": {LASER}}}"#),
            "laser_tf",
        ),
        (
            "camera.json",
            format!(r#"{{"static": {CAMERA}}}"#),
            "camera_tf",
        ),
        (
            "odometry.json",
            format!(r#"{{"dynamic": {DYNAMIC}, "rate": 50}}"#),
            "odometry",
        ),
    ];
    specs
        .iter()
        .map(|(file, spec, node)| {
            let path = s.write(file, spec);
            s.python(node, "ros_tf_pub.py", &[&p(&path), "--node", node])
        })
        .collect()
}

fn lookups_dataflow(s: &Scenario, lookups: &str, bench: usize) -> Proc {
    // Both publishers' statics, as one list.
    let statics = format!("{},{}", &LASER[..LASER.len() - 1], &CAMERA[1..]);
    let spec = format!(r#"{{"static": {statics}, "dynamic": {DYNAMIC}, "lookups": {lookups}}}"#);
    let spec = s.write("lookups.json", &spec);
    s.write(
        "bridge.yaml",
        "tf: {lookup_request: tf_request, lookup_response: tf_response, cache_time: 30s}\n\
         from_ros:\n  - {topic: /tf_static, type: tf2_msgs/msg/TFMessage, output: tf_static}\n",
    );
    let bridge = Node::bridge("--config bridge.yaml")
        .lossless_input("tf_request", "client/request", 1000)
        .outputs(["tf_response", "tf_static"]);
    let client = Node::python("client", "dora_tf_client.py")
        .env("TF_SPEC", p(&spec))
        .env("TF_BENCH", bench.to_string())
        .env("RECORD_FILE", p(&s.path("lookups.jsonl")))
        .input("tick", "dora/timer/millis/200")
        .lossless_input("response", "bridge/tf_response", 1000)
        .output("request");
    let recorder = s
        .recorder()
        .lossless_input("tf_static", "bridge/tf_static", 100);
    s.dora_run(
        &Dataflow::new()
            .node(bridge)
            .node(client)
            .node(recorder)
            .yaml(),
    )
}

#[test]
fn lookups_match_an_independent_reference_and_errors_say_why() {
    let s = Scenario::new(172);
    let publishers = tf_publishers(&s);
    let lookups = r#"[
      {"target": "map", "source": "laser", "time_s": 100.5, "expect": "ok"},
      {"target": "laser", "source": "map", "time_s": 0, "expect": "ok"},
      {"target": "camera", "source": "laser", "time_s": 0, "expect": "ok"},
      {"target": "odom", "source": "camera", "time_s": 100.4, "expect": "ok"},
      {"target": "map", "source": "base_link", "time_s": 100.8, "expect": "ok"},
      {"target": "map", "source": "nowhere", "time_s": 0, "expect": "lookup_error"},
      {"target": "map", "source": "elsewhere", "time_s": 0, "expect": "connectivity_error"},
      {"target": "map", "source": "laser", "time_s": 50.0, "expect": "extrapolation_error"},
      {"target": "map", "source": "laser", "time_s": 200.0, "expect": "extrapolation_error"}
    ]"#;
    let mut dora = lookups_dataflow(&s, lookups, 0);
    let context = |what: &str| {
        let pubs: Vec<String> = publishers.iter().map(dump).collect();
        format!(
            "{what}\n{}\n{}\n{}\n{:?}",
            dump(&dora),
            pubs.join("\n"),
            s.node_logs(),
            s.records("lookups.jsonl")
        )
    };
    s.wait_for_record("lookups.jsonl", Duration::from_secs(90), |r| {
        r["done"] == true
    })
    .unwrap_or_else(|| panic!("{}", context("not every lookup answered as expected")));
    let records = s.records("lookups.jsonl");
    assert!(
        !records.iter().any(|r| r["mismatch"] == true),
        "{}",
        context("a transform differs from the numpy reference")
    );
    let error = |i: usize| -> String {
        records
            .iter()
            .find(|r| r["lookup"] == i)
            .and_then(|r| r["error"].as_str())
            .unwrap_or_default()
            .to_string()
    };
    assert!(error(5).contains("nowhere"), "{}", error(5));
    assert!(
        error(6).contains("world"),
        "names the other tree's root: {}",
        error(6)
    );
    assert!(error(7).contains("past"), "{}", error(7));
    assert!(error(8).contains("future"), "{}", error(8));
    // Both static publishers' transforms reached dora on /tf_static. The
    // lookups may be done first: the buffer has its own subscription,
    // while the route re-subscribes transient local once it sees the
    // publishers' QoS.
    let children = || static_children(&s, 0.0);
    let both = s.wait_for_record("received.jsonl", Duration::from_secs(30), |_| {
        let seen = children();
        ["laser", "camera"]
            .iter()
            .all(|child| seen.iter().any(|c| c == child))
    });
    assert!(
        both.is_some(),
        "{}",
        context(&format!("not both statics on tf_static: {:?}", children()))
    );
    dora.stop();
}

#[test]
fn a_dora_node_restarted_by_dora_gets_the_static_set_again() {
    let s = Scenario::new(173);
    let _publishers = tf_publishers(&s);
    s.write(
        "bridge.yaml",
        "from_ros:\n  - {topic: /tf_static, type: tf2_msgs/msg/TFMessage, output: tf_static}\n",
    );
    let bridge = Node::bridge("--config bridge.yaml")
        .input("from_watcher", "watcher/out")
        .output("tf_static");
    // Fails once after its first two messages (the two static sets); dora
    // restarts it, and the bridge (downstream of it) sends the set again.
    let watcher = Node::python("watcher", "dora_record.py")
        .env("RECORD_FILE", p(&s.path("received.jsonl")))
        .env("RECORD_EXIT_AFTER", "2")
        .env("RECORD_EXIT_ONCE_FILE", p(&s.path("failed_once")))
        .lossless_input("tf_static", "bridge/tf_static", 100)
        .output("out")
        .set("restart_policy", "on-failure")
        .set("max_restarts", 2);
    let mut dora = s.dora_run(&Dataflow::new().node(bridge).node(watcher).yaml());
    let context = |what: &str| format!("{what}\n{}\n{}", dump(&dora), s.node_logs());
    let restarted = s
        .wait_for_record("received.jsonl", Duration::from_secs(90), |r| {
            r["restarted"] == true
        })
        .unwrap_or_else(|| panic!("{}", context("the watcher never restarted")));
    let children_after = || static_children(&s, restarted["t"].as_f64().unwrap_or(0.0));
    s.wait_for_record("received.jsonl", Duration::from_secs(60), |_| {
        let children = children_after();
        children.iter().any(|c| c == "laser") && children.iter().any(|c| c == "camera")
    })
    .unwrap_or_else(|| {
        panic!(
            "{}",
            context(&format!("after the restart: {:?}", children_after()))
        )
    });
    dora.stop();
}

#[test]
fn a_ros_node_started_later_gets_the_static_set_dora_published() {
    let s = Scenario::new(174);
    s.write(
        "bridge.yaml",
        "to_ros:\n  - {input: tf_static, topic: /tf_static, type: tf2_msgs/msg/TFMessage}\n\
         stats: {output: stats, interval: 200ms}\n",
    );
    let sender = Node::python("sender", "dora_tf_send.py")
        .env("ROS2_DORA_BRIDGE_BIN", bridge_bin())
        .env(
            "TF_SEND",
            r#"[[["base_link", "laser", [0.5, 0, 0.2], [0, 0, 0, 1]]],
                [["base_link", "camera", [0.1, 0, 0.4], [0, 0, 0, 1]]]]"#,
        )
        .input("tick", "dora/timer/millis/300")
        .output("tf_static");
    let bridge = Node::bridge("--config bridge.yaml")
        .lossless_input("tf_static", "sender/tf_static", 10)
        .output("stats");
    let recorder = s.recorder().input("stats", "bridge/stats");
    let mut dora = s.dora_run(
        &Dataflow::new()
            .node(sender)
            .node(bridge)
            .node(recorder)
            .yaml(),
    );
    // Started once both messages were published: a late joiner.
    wait_for_stats(&s, "to_ros[0]", Duration::from_secs(90), |r| {
        r["forwarded"] == 2
    })
    .unwrap_or_else(|| panic!("never published both\n{}\n{}", dump(&dora), s.node_logs()));
    let late = s.python(
        "late subscriber",
        "ros_sub.py",
        &["/tf_static", "tf2_msgs/msg/TFMessage", "--latched"],
    );
    let got = wait_json(&late, Duration::from_secs(60), |v| v["message"].is_object())
        .unwrap_or_else(|| panic!("{}\n{}\n{}", dump(&late), dump(&dora), s.node_logs()));
    let children: Vec<&str> = got["message"]["transforms"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t["child_frame_id"].as_str())
        .collect();
    assert_eq!(children, ["camera", "laser"], "{got}");
    dora.stop();
}

#[test]
fn without_clock_ros_time_waits_at_zero_said_once_and_fill_stamp_follows_sim_time() {
    let s = Scenario::new(176);
    s.write(
        "bridge.yaml",
        "ros: {use_sim_time: true}\n\
         from_ros:\n  - {topic: /greeting, type: std_msgs/msg/String, output: greeting}\n\
         to_ros:\n  - {input: point, topic: /point, type: geometry_msgs/msg/PointStamped, fill_stamp: true}\n",
    );
    let _talker = s.python(
        "talker",
        "ros_pub.py",
        &[
            "/greeting",
            "std_msgs/msg/String",
            r#"{"data": "hi"}"#,
            "10",
        ],
    );
    let points = s.python(
        "points",
        "ros_sub.py",
        &["/point", "geometry_msgs/msg/PointStamped"],
    );
    let sender = Node::python("sender", "dora_send.py")
        .env("ROS2_DORA_BRIDGE_BIN", bridge_bin())
        .env("SEND_TYPE", "geometry_msgs/msg/PointStamped")
        .env(
            "SEND_JSON",
            r#"[{"header": {"frame_id": "map"}, "point": {"x": 1.5}}]"#,
        )
        .env("SEND_OUTPUT", "point")
        .input("tick", "dora/timer/millis/100")
        .output("point");
    let bridge = Node::bridge("--config bridge.yaml")
        .input("point", "sender/point")
        .output("greeting");
    let recorder = s.recorder().input("greeting", "bridge/greeting");
    let mut dora = s.dora_run(
        &Dataflow::new()
            .node(sender)
            .node(bridge)
            .node(recorder)
            .yaml(),
    );
    let context = |what: &str| format!("{what}\n{}\n{}", dump(&dora), s.node_logs());
    dora.wait_for_line(Duration::from_secs(90), |l| {
        l.contains("use_sim_time is on but no /clock")
    })
    .unwrap_or_else(|| panic!("{}", context("no warning about the missing /clock")));
    let waiting = s
        .wait_for_record("received.jsonl", Duration::from_secs(30), |r| {
            r["id"] == "greeting"
        })
        .unwrap_or_else(|| panic!("{}", context("messages stopped without /clock")));
    assert_eq!(waiting["metadata"]["ros_time_ns"], 0, "{waiting}");
    assert_eq!(waiting["metadata"]["ros_time_source"], "sim", "{waiting}");
    // Now a simulator comes: ROS time, and the stamps the bridge fills, follow it.
    let _simulator = s.python("simulator", "ros_clock.py", &["5000"]);
    s.wait_for_record("received.jsonl", Duration::from_secs(60), |r| {
        r["metadata"]["ros_time_ns"].as_i64() >= Some(5000 * S)
    })
    .unwrap_or_else(|| panic!("{}", context("ROS time never followed /clock")));
    let stamped = wait_json(&points, Duration::from_secs(60), |v| {
        v["message"]["header"]["stamp"]["sec"].as_i64() >= Some(5000)
    })
    .unwrap_or_else(|| {
        panic!(
            "{}\n{}",
            dump(&points),
            context("no point stamped in sim time")
        )
    });
    assert!(
        stamped["message"]["header"]["stamp"]["sec"].as_i64() < Some(5100),
        "{stamped}"
    );
    assert_eq!(stamped["message"]["point"]["x"], 1.5, "{stamped}");
    assert!(
        dora.output().iter().any(|l| l.contains("/clock arrived")),
        "{}",
        context("not said when /clock came")
    );
    dora.stop();
}

#[test]
fn tf_from_three_publishers_at_200_hz_reaches_dora_without_loss() {
    let s = Scenario::new(177);
    let publishers: Vec<Proc> = (0..3)
        .map(|k| {
            let spec = format!(
                r#"{{"dynamic": [["odom", "base_{k}", null, [{k}.0, 0.0, 0.0], [0.0, 0.0, 0.0, 1.0]]], "rate": 200}}"#
            );
            let path = s.write(&format!("tf_{k}.json"), &spec);
            s.python(&format!("tf {k}"), "ros_tf_pub.py", &[&p(&path), "--node", &format!("tf_{k}")])
        })
        .collect();
    s.write(
        "bridge.yaml",
        "from_ros:\n  - {topic: /tf, type: tf2_msgs/msg/TFMessage, output: tf}\n\
         stats: {output: stats, interval: 200ms}\n",
    );
    let mut dora = s.bridge_to_recorder("--config bridge.yaml", &["tf", "stats"]);
    let row = wait_for_stats(&s, "from_ros[0]", Duration::from_secs(90), |r| {
        r["received"].as_u64() >= Some(3000)
    })
    .unwrap_or_else(|| {
        let pubs: Vec<String> = publishers.iter().map(dump).collect();
        panic!("{}\n{}\n{}", dump(&dora), pubs.join("\n"), s.node_logs())
    });
    for counter in [
        "dropped_by_middleware",
        "dropped_queue_full",
        "decode_errors",
    ] {
        assert_eq!(row[counter], 0, "{counter}: {row}");
    }
    let senders: std::collections::HashSet<String> = s
        .records("received.jsonl")
        .iter()
        .filter(|r| r["id"] == "tf")
        .filter_map(|r| {
            r["metadata"]["ros_publisher_node"]
                .as_str()
                .map(str::to_string)
        })
        .collect();
    assert_eq!(senders.len(), 3, "{senders:?}");
    dora.stop();
}

#[test]
fn the_workbench_tf2_msgs_has_ros_2s_type_hashes() {
    let s = Scenario::new(175);
    let out = s
        .command("python")
        .arg(python_script("tf2_msgs_hashes.py"))
        .output()
        .expect("tf2_msgs_hashes.py");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got: Value = serde_json::from_str(text.trim()).expect("JSON");
    assert!(got["checked"].as_u64() >= Some(2), "{got}");
    assert_eq!(got["different"], serde_json::json!([]), "{got}");
}
