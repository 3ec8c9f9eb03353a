//! ROS liveness -> dora: watched rclpy nodes leaving (cleanly or killed)
//! reach downstream dora nodes as the daemon's genuine `NodeFailed`, or as
//! `lost` rows with `on_lost: report`; `restart_policy` brings the bridge
//! back. Each reaction is timed against a bound.

mod common;
use common::*;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

/// Bridge (watching `/talker`, bridging /chatter) feeding a recorder that
/// keeps a timer input open so it sees `NodeFailed`.
fn dataflow(s: &Scenario, bridge: Node) -> Proc {
    let recorder = s
        .recorder()
        .input("chatter", "bridge/chatter")
        .input("liveness", "bridge/liveness")
        .input("tick", "dora/timer/millis/100");
    let bridge = bridge.outputs(["chatter", "liveness"]);
    s.dora_run(&Dataflow::new().node(bridge).node(recorder).yaml())
}

fn bridge() -> Node {
    Node::bridge("--config bridge.yaml")
}

fn talker(s: &Scenario, name: &str, text: &str, profile: bool) -> Proc {
    let mut cmd = s.command("python");
    cmd.arg(python_script("ros_pub.py")).args([
        "/chatter",
        "std_msgs/msg/String",
        &format!(r#"{{"data": "{text}"}}"#),
        "20",
        "--node",
        name,
    ]);
    if profile {
        with_fastdds_profile(
            &mut cmd,
            repo_root().join("config/fastdds_fast_liveness.xml"),
        );
    }
    s.spawn(name, cmd)
}

fn wait_for_chatter(s: &Scenario, dora: &Proc, text: &str, after: f64) {
    s.wait_for_record("received.jsonl", Duration::from_secs(60), |r| {
        r["event"] == "INPUT"
            && r["id"] == "chatter"
            && r["value"][0]["data"] == text
            && r["t"].as_f64().unwrap_or(0.0) > after
    })
    .unwrap_or_else(|| {
        panic!(
            "no chatter `{text}` reached dora\n{}\n{}",
            dump(dora),
            s.node_logs()
        )
    });
}

/// The bridge has seen the watched node (only then can it lose it).
fn wait_alive(dora: &Proc, s: &Scenario) {
    dora.wait_for_line(Duration::from_secs(60), |l| {
        l.contains("ROS node /talker alive")
    })
    .unwrap_or_else(|| {
        panic!(
            "bridge never saw /talker\n{}\n{}",
            dump(dora),
            s.node_logs()
        )
    });
}

#[test]
fn clean_exit_of_a_watched_node_is_node_failed_downstream_within_1s() {
    let s = Scenario::new(61);
    s.write(
        "bridge.yaml",
        "from_ros:\n  - {topic: /chatter, type: std_msgs/msg/String, output: chatter}\n\
         liveness:\n  watch: [/talker]\n  on_lost: fail\n",
    );
    let mut talker = talker(&s, "talker", "hi", false);
    let mut dora = dataflow(&s, bridge());
    wait_for_chatter(&s, &dora, "hi", 0.0);
    wait_alive(&dora, &s);

    let stopped_at = now();
    talker.signal("INT");
    assert!(talker.wait_exit(Duration::from_secs(10)).is_some());
    let failed = s
        .wait_for_record("received.jsonl", Duration::from_secs(30), |r| {
            r["event"] == "NODE_FAILED"
        })
        .unwrap_or_else(|| panic!("no NODE_FAILED\n{}\n{}", dump(&dora), s.node_logs()));
    let reaction = failed["t"].as_f64().unwrap() - stopped_at;
    let text = failed.to_string();
    assert!(text.contains("bridge"), "{text}");
    assert!(
        text.contains("/talker"),
        "error must name the ROS node: {text}"
    );
    assert!(text.contains("left the ROS graph"), "{text}");
    eprintln!("clean exit -> NodeFailed: {reaction:.3} s");
    assert!(
        reaction < 1.0,
        "NodeFailed took {reaction:.3} s (bound 1 s)"
    );
    dora.stop();
}

#[test]
fn sigkill_under_the_shipped_profile_is_node_failed_within_4s() {
    let s = Scenario::new(62);
    s.write(
        "bridge.yaml",
        "from_ros:\n  - {topic: /chatter, type: std_msgs/msg/String, output: chatter}\n\
         liveness:\n  watch: [/talker]\n  on_lost: fail\n",
    );
    let talker = talker(&s, "talker", "hi", true);
    let dora = dataflow(&s, bridge());
    wait_for_chatter(&s, &dora, "hi", 0.0);
    wait_alive(&dora, &s);

    let killed_at = now();
    talker.signal("KILL");
    let failed = s
        .wait_for_record("received.jsonl", Duration::from_secs(30), |r| {
            r["event"] == "NODE_FAILED"
        })
        .unwrap_or_else(|| panic!("no NODE_FAILED\n{}\n{}", dump(&dora), s.node_logs()));
    let reaction = failed["t"].as_f64().unwrap() - killed_at;
    assert!(failed.to_string().contains("/talker"), "{failed}");
    eprintln!("SIGKILL (fast liveness profile) -> NodeFailed: {reaction:.3} s");
    assert!(
        reaction < 4.0,
        "NodeFailed took {reaction:.3} s (bound 4 s)"
    );
}

#[test]
fn report_mode_emits_a_lost_row_and_keeps_bridging() {
    let s = Scenario::new(63);
    s.write(
        "bridge.yaml",
        "from_ros:\n  - {topic: /chatter, type: std_msgs/msg/String, output: chatter}\n\
         liveness:\n  watch: [/talker]\n  on_lost: report\n  report_output: liveness\n",
    );
    let watched = talker(&s, "talker", "watched", true);
    let _other = talker(&s, "other_talker", "other", false);
    let dora = dataflow(&s, bridge());
    s.wait_for_record("received.jsonl", Duration::from_secs(60), |r| {
        r["id"] == "liveness" && r["value"][0]["state"] == "alive"
    })
    .unwrap_or_else(|| panic!("no alive row\n{}\n{}", dump(&dora), s.node_logs()));
    wait_for_chatter(&s, &dora, "watched", 0.0);

    let killed_at = now();
    watched.signal("KILL");
    let lost = s
        .wait_for_record("received.jsonl", Duration::from_secs(30), |r| {
            r["id"] == "liveness" && r["value"][0]["state"] == "lost"
        })
        .unwrap_or_else(|| panic!("no lost row\n{}\n{}", dump(&dora), s.node_logs()));
    let row = &lost["value"][0];
    assert_eq!(row["node"], "/talker");
    assert!(
        row["reason"]
            .as_str()
            .unwrap()
            .contains("left the ROS graph")
    );
    assert!(row["stamp_ns"].as_i64().unwrap() > 0);
    let reaction = lost["t"].as_f64().unwrap() - killed_at;
    eprintln!("SIGKILL (fast liveness profile) -> lost row: {reaction:.3} s");
    assert!(reaction < 4.0, "lost row took {reaction:.3} s (bound 4 s)");
    // Bridging goes on: the other talker's messages keep arriving.
    wait_for_chatter(&s, &dora, "other", lost["t"].as_f64().unwrap());
    assert!(
        !s.records("received.jsonl")
            .iter()
            .any(|r| r["event"] == "NODE_FAILED"),
        "report mode must not fail the bridge"
    );
}

#[test]
fn with_restart_policy_the_bridge_comes_back_and_resumes_when_the_node_returns() {
    let s = Scenario::new(64);
    s.write(
        "bridge.yaml",
        "from_ros:\n  - {topic: /chatter, type: std_msgs/msg/String, output: chatter}\n\
         liveness:\n  watch: [/talker]\n  on_lost: fail\n  startup_timeout: 60s\n",
    );
    let mut first = talker(&s, "talker", "first", false);
    // dora restarts only nodes with an open input: a bridge with only
    // from_ros routes needs one (a timer), see docs/lifecycle.md.
    let dora = dataflow(
        &s,
        bridge()
            .input("keepalive", "dora/timer/secs/1")
            .set("restart_policy", "on-failure")
            .set("max_restarts", 3)
            .set("restart_delay", 0.5),
    );
    wait_for_chatter(&s, &dora, "first", 0.0);
    wait_alive(&dora, &s);
    first.signal("INT");
    assert!(first.wait_exit(Duration::from_secs(10)).is_some());
    s.wait_for_record("received.jsonl", Duration::from_secs(30), |r| {
        r["event"] == "NODE_RESTARTED"
    })
    .unwrap_or_else(|| panic!("bridge not restarted\n{}\n{}", dump(&dora), s.node_logs()));
    let back_at = now();
    let _second = talker(&s, "talker", "second", false);
    wait_for_chatter(&s, &dora, "second", back_at);
}
