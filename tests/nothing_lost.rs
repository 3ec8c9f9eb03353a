//! What goes in comes out, or its loss is counted where a user sees it:
//! empty and tiny samples never silence a route, DDS losses are counted
//! from the publishers' sequence numbers, dora losses from the bridge's
//! own numbering, and bursts through the configuration the docs recommend
//! lose nothing.

mod common;
use common::*;
use serde_json::Value;
use std::fmt::Write;
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(60);

const IMAGE: &str = r#"{"height": 2, "width": 2, "encoding": "rgb8", "step": 6, "data": [1,2,3,4,5,6,7,8,9,10,11,12]}"#;

/// Garbage of every small size, then an empty sample (which Fast DDS
/// cannot deliver: it wedges reliable readers until they are re-created),
/// then good messages at 20 Hz for 5 s.
fn good_bad_good() -> String {
    let mut sequence = String::from("good,sleep:20,good,sleep:20,good,");
    sequence.push_str("raw:1,raw:3,raw:7,raw:64,raw:500,trunc:10,trunc:30,raw:0");
    for _ in 0..100 {
        sequence.push_str(",sleep:50,good");
    }
    sequence
}
/// Samples in [`good_bad_good`]: 103 good, 7 malformed, 1 empty.
const GOOD: u64 = 103;
/// What a wedge may cost: the samples the wedged reader held back until
/// its replacement hears the publisher (counted as dropped_by_middleware).
/// Recovery takes about 1 s on an idle machine (the stall watch, then the
/// probe's discovery and confirmation); this allows 2.5 s at 20 Hz for a
/// loaded one.
const WEDGE_LOSS_BOUND: u64 = 50;
const MALFORMED: u64 = 7;
const PUBLISHED: u64 = GOOD + MALFORMED + 1;

fn u(row: &Value, key: &str) -> u64 {
    row[key].as_u64().unwrap_or(0)
}

#[test]
fn empty_and_tiny_samples_never_silence_a_route_or_a_pattern_route() {
    let s = Scenario::new(111);
    s.write(
        "bridge.yaml",
        "from_ros:\n  - {topic: /img, type: sensor_msgs/msg/Image, output: img}\n\
         \x20 - {match: '^/cams/.*', output: cams}\n\
         stats: {output: stats, interval: 200ms}\n",
    );
    let mut dora = s.bridge_to_recorder("--config bridge.yaml", &["img", "cams", "stats"]);
    let sequence = good_bad_good();
    let plain = s.python(
        "plain publisher",
        "ros_pub_samples.py",
        &[
            "/img",
            "sensor_msgs/msg/Image",
            IMAGE,
            &sequence,
            "--node",
            "plain",
        ],
    );
    let pattern = s.python(
        "pattern publisher",
        "ros_pub_samples.py",
        &[
            "/cams/front",
            "sensor_msgs/msg/Image",
            IMAGE,
            &sequence,
            "--node",
            "front",
        ],
    );
    for publisher in [&plain, &pattern] {
        assert!(
            publisher.wait_for_line(WAIT, |l| l == "done").is_some(),
            "{}",
            dump(publisher)
        );
    }
    for route in ["from_ros[0]", "from_ros[1]"] {
        // Every sample accounted for: forwarded, malformed, or lost in DDS.
        let row = wait_for_stats(&s, route, WAIT, |r| {
            u(r, "received") + u(r, "dropped_by_middleware") >= PUBLISHED
        });
        let row = row.unwrap_or_else(|| {
            panic!(
                "{route} stopped short: {:?}\n{}",
                stats_row(&s, route),
                s.node_logs()
            )
        });
        assert_eq!(u(&row, "decode_errors"), MALFORMED, "{route}: {row}");
        assert_eq!(
            u(&row, "received") + u(&row, "dropped_by_middleware"),
            PUBLISHED,
            "{route}: {row}"
        );
        // Good messages kept flowing after the empty sample: all but those
        // the wedged reader held back until it was re-created.
        assert!(
            u(&row, "forwarded") >= GOOD - WEDGE_LOSS_BOUND,
            "{route}: {row}"
        );
        assert_eq!(
            u(&row, "forwarded") + u(&row, "decode_errors"),
            u(&row, "received"),
            "{route}: {row}"
        );
    }
    let forwarded = |output: &str| {
        s.records("received.jsonl")
            .iter()
            .filter(|r| r["id"] == output)
            .inspect(|r| assert_eq!(r["value"][0]["width"], 2))
            .count()
    };
    assert!(forwarded("img") >= (GOOD - WEDGE_LOSS_BOUND) as usize);
    assert!(forwarded("cams") >= (GOOD - WEDGE_LOSS_BOUND) as usize);
    let logs = s.node_logs();
    assert!(
        logs.contains("dropped a malformed sensor_msgs/msg/Image message"),
        "{logs}"
    );
    assert!(logs.contains("stopped delivering"), "{logs}");
    assert!(
        dora.stop().is_some_and(|s| s.success()),
        "bridge did not survive\n{}",
        dump(&dora)
    );
}

#[test]
fn a_wedged_publisher_is_recovered_while_another_keeps_publishing_on_the_topic() {
    let s = Scenario::new(117);
    s.write(
        "bridge.yaml",
        "from_ros:\n  - {topic: /img, type: sensor_msgs/msg/Image, output: img}\n",
    );
    let mut dora = s.bridge_to_recorder("--config bridge.yaml", &["img"]);
    // A second publisher at 10 Hz: the subscription as a whole never goes
    // quiet, only the wedged publisher does.
    let _steady = s.python(
        "steady publisher",
        "ros_pub.py",
        &[
            "/img",
            "sensor_msgs/msg/Image",
            IMAGE,
            "10",
            "--node",
            "steady",
        ],
    );
    let wedging = s.python(
        "wedging publisher",
        "ros_pub_samples.py",
        &[
            "/img",
            "sensor_msgs/msg/Image",
            IMAGE,
            &good_bad_good(),
            "--node",
            "wedging",
        ],
    );
    assert!(
        wedging.wait_for_line(WAIT, |l| l == "done").is_some(),
        "{}",
        dump(&wedging)
    );
    let from_wedging = || {
        s.records("received.jsonl")
            .iter()
            .filter(|r| r["metadata"]["ros_publisher_node"] == "/wedging")
            .count() as u64
    };
    let deadline = Instant::now() + WAIT;
    while from_wedging() < GOOD - WEDGE_LOSS_BOUND && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        from_wedging() >= GOOD - WEDGE_LOSS_BOUND,
        "only {} messages of the wedging publisher arrived\n{}",
        from_wedging(),
        s.node_logs()
    );
    assert!(
        s.node_logs().contains("stopped delivering"),
        "{}",
        s.node_logs()
    );
    dora.stop();
}

#[test]
fn bag_record_keeps_recording_through_empty_and_tiny_samples() {
    let s = Scenario::new(112);
    let out = p(&s.path("recorded"));
    let mut cmd = s.command(bridge_bin());
    cmd.args(["bag", "record", "-o", &out, "/img"]);
    let mut recorder = s.spawn("bag record", cmd);
    let publisher = s.python(
        "publisher",
        "ros_pub_samples.py",
        &["/img", "sensor_msgs/msg/Image", IMAGE, &good_bad_good()],
    );
    assert!(
        publisher.wait_for_line(WAIT, |l| l == "done").is_some(),
        "{}",
        dump(&publisher)
    );
    // Give the recorder the publisher's last message: it waits on the
    // lost count it prints at the end.
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline
        && !recorder
            .output()
            .iter()
            .any(|l| l.contains("stopped delivering"))
    {
        std::thread::sleep(Duration::from_millis(100));
    }
    recorder.signal("INT");
    assert!(
        recorder
            .wait_exit(Duration::from_secs(30))
            .is_some_and(|s| s.success()),
        "{}",
        dump(&recorder)
    );
    let summary = recorder
        .output()
        .into_iter()
        .find(|l| l.contains("lost in DDS:"))
        .unwrap_or_else(|| panic!("{}", dump(&recorder)));
    let lost: u64 = summary
        .rsplit(':')
        .next()
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("{summary}"));
    let got = read_with_rosbags(&s, &out);
    let messages = got["messages"].as_array().unwrap();
    let good = messages.iter().filter(|m| m["value"]["width"] == 2).count() as u64;
    let garbage = messages
        .iter()
        .filter(|m| m["value"]["undecodable"].is_u64())
        .count() as u64;
    // Recording keeps what was published, garbage included; every sample
    // is either in the bag or counted as lost.
    assert_eq!(garbage, MALFORMED, "{summary}\n{}", dump(&recorder));
    assert_eq!(good + garbage + lost, PUBLISHED, "{summary}");
    assert!(good >= GOOD - WEDGE_LOSS_BOUND, "{summary}");
}

#[test]
fn what_dds_loses_before_the_bridge_is_counted_from_sequence_numbers() {
    let s = Scenario::new(113);
    s.write(
        "bridge.yaml",
        "from_ros:\n  - {topic: /frozen, type: std_msgs/msg/String, output: frozen}\n\
         stats: {output: stats, interval: 200ms}\n",
    );
    let mut dora = s.bridge_to_recorder("--config bridge.yaml", &["frozen", "stats"]);
    let go = s.path("go");
    let resume = s.path("resume");
    // Keep-last 10 on the publisher: what the frozen bridge cannot take
    // overflows the shared-memory port, is overwritten in the writer's
    // history, and DDS tells the bridge's reader with a GAP, not a sample.
    let publisher = s.python(
        "publisher",
        "ros_pub_samples.py",
        &[
            "/frozen",
            "std_msgs/msg/String",
            r#"{"data": "x"}"#,
            &format!("good,wait:{},goodx2000,wait:{},good", p(&go), p(&resume)),
            "--depth",
            "10",
        ],
    );
    assert!(
        wait_for_stats(&s, "from_ros[0]", WAIT, |r| u(r, "received") == 1).is_some(),
        "{}\n{}",
        dump(&publisher),
        s.node_logs()
    );
    let bridge = bridge_pid(&s).expect("the bridge process");
    kill(bridge, "STOP");
    std::fs::write(&go, "").unwrap();
    let sent = publisher.wait_for_line(WAIT, |l| l == "published 2001");
    kill(bridge, "CONT");
    assert!(sent.is_some(), "{}", dump(&publisher));
    std::fs::write(&resume, "").unwrap();
    let row = wait_for_stats(&s, "from_ros[0]", WAIT, |r| {
        u(r, "received") + u(r, "dropped_by_middleware") >= 2002
    });
    let row = row.unwrap_or_else(|| {
        panic!(
            "{:?}\n{}\n{}",
            stats_row(&s, "from_ros[0]"),
            dump(&publisher),
            s.node_logs()
        )
    });
    assert_eq!(
        u(&row, "received") + u(&row, "dropped_by_middleware"),
        2002,
        "{row}"
    );
    assert!(
        u(&row, "dropped_by_middleware") > 0,
        "nothing was lost: {row}"
    );
    assert!(
        s.node_logs().contains("DDS lost"),
        "the loss was not logged\n{}",
        s.node_logs()
    );
    dora.stop();
}

#[test]
fn messages_lost_inside_dora_are_counted_on_the_way_back_and_the_risk_named_at_start() {
    let s = Scenario::new(114);
    s.write(
        "bridge.yaml",
        "from_ros:\n  - {topic: /out, type: std_msgs/msg/String, output: out}\n\
         to_ros:\n  - {input: back, topic: /back, type: std_msgs/msg/String}\n\
         stats: {output: stats, interval: 200ms}\n",
    );
    // A slow echo behind a one-message drop_oldest queue: dora drops most
    // of a burst there, silently.
    let bridge = Node::bridge("--config bridge.yaml")
        .input("back", "echo/out")
        .outputs(["out", "stats"]);
    let echo = Node::python("echo", "dora_echo.py")
        .env("ECHO_DELAY", "0.02")
        .queued_input("out", "bridge/out", 1)
        .output("out");
    let recorder = s.recorder().input("stats", "bridge/stats");
    let mut dora = s.dora_run(
        &Dataflow::new()
            .node(bridge)
            .node(echo)
            .node(recorder)
            .yaml(),
    );
    let publisher = s.python(
        "publisher",
        "ros_pub_samples.py",
        &[
            "/out",
            "std_msgs/msg/String",
            r#"{"data": "x"}"#,
            // A last message once the echo is idle again reveals the gap
            // before it: every message is then back or counted lost.
            "goodx100,sleep:1500,good",
        ],
    );
    assert!(
        publisher.wait_for_line(WAIT, |l| l == "done").is_some(),
        "{}",
        dump(&publisher)
    );
    let from = wait_for_stats(&s, "from_ros[0]", WAIT, |r| u(r, "forwarded") == 101);
    let from = from.unwrap_or_else(|| panic!("{}", s.node_logs()));
    let back = wait_for_stats(&s, "to_ros[0]", WAIT, |r| {
        u(r, "received") + u(r, "lost_in_dora") >= 101
    });
    let back = back.unwrap_or_else(|| {
        panic!(
            "{from}\n{:?}\n{}",
            stats_row(&s, "to_ros[0]"),
            s.node_logs()
        )
    });
    assert_eq!(
        u(&back, "received") + u(&back, "lost_in_dora"),
        101,
        "{back}"
    );
    assert!(u(&back, "lost_in_dora") > 0, "dora lost nothing: {back}");
    // The start-up warning names the lossy input, and the bridge's own
    // `back` input, with the YAML that fixes them.
    let logs = s.node_logs();
    assert!(
        logs.contains("dora input `out` of node `echo`")
            && logs.contains("dora input `back` of node `bridge`")
            && logs.contains("queue_policy: backpressure"),
        "{logs}"
    );
    dora.stop();
}

/// 21 types: the test_msgs corner cases, images, point clouds and the
/// everyday robot messages.
const BURST_TYPES: [&str; 21] = [
    "test_msgs/msg/BasicTypes",
    "test_msgs/msg/Arrays",
    "test_msgs/msg/BoundedSequences",
    "test_msgs/msg/UnboundedSequences",
    "test_msgs/msg/Nested",
    "test_msgs/msg/MultiNested",
    "test_msgs/msg/Strings",
    "test_msgs/msg/WStrings",
    "test_msgs/msg/Constants",
    "test_msgs/msg/Defaults",
    "test_msgs/msg/Empty",
    "test_msgs/msg/Builtins",
    "sensor_msgs/msg/Image",
    "sensor_msgs/msg/PointCloud2",
    "sensor_msgs/msg/Imu",
    "sensor_msgs/msg/LaserScan",
    "sensor_msgs/msg/JointState",
    "nav_msgs/msg/Odometry",
    "geometry_msgs/msg/PoseStamped",
    "geometry_msgs/msg/Twist",
    "diagnostic_msgs/msg/DiagnosticArray",
];

/// The round trip of `ros_burst.py` with what the docs recommend for
/// reliable routes: `qos: default` (block, keep-all reader) from ROS, keep
/// last 100 back to ROS, and every dora input on the way
/// `queue_policy: backpressure`. `batch` on every
/// `from_ros` route when given; the echo then checks multi-row messages.
fn burst_dataflow(s: &Scenario, batch: Option<usize>) -> String {
    let mut config = String::from("from_ros:\n");
    let batch_entry = batch.map(|n| format!(", batch: {n}")).unwrap_or_default();
    for (k, t) in BURST_TYPES.iter().enumerate() {
        writeln!(
            config,
            "  - {{topic: /burst_{k}, type: {t}, output: ros_{k}, qos: default{batch_entry}}}"
        )
        .unwrap();
    }
    config.push_str("to_ros:\n");
    for (k, t) in BURST_TYPES.iter().enumerate() {
        writeln!(
            config,
            "  - {{input: back_{k}, topic: /back_{k}, type: {t}, qos: {{depth: 100}}}}"
        )
        .unwrap();
    }
    config.push_str("stats: {log_interval: 2s}\n");
    s.write("bridge.yaml", &config);
    let (mut bridge, mut echo) = (
        Node::bridge("--config bridge.yaml"),
        Node::python("echo", "dora_echo.py")
            .env("ECHO_REPORT_ROWS", if batch.is_some() { "1" } else { "0" }),
    );
    for k in 0..BURST_TYPES.len() {
        bridge = bridge
            .lossless_input(&format!("back_{k}"), &format!("echo/m_{k}"), 100)
            .output(&format!("ros_{k}"));
        echo = echo
            .lossless_input(&format!("m_{k}"), &format!("bridge/ros_{k}"), 100)
            .output(&format!("m_{k}"));
    }
    Dataflow::new().node(bridge).node(echo).yaml()
}

#[test]
fn bursts_on_21_topics_lose_nothing_ten_times_over_with_the_recommended_configuration() {
    let s = Scenario::new(115);
    let mut args = vec!["10", "5,50"];
    args.extend(BURST_TYPES);
    let burst = s.python("burst", "ros_burst.py", &args);
    assert!(
        burst.wait_for_line(WAIT, |l| l == "ready").is_some(),
        "{}",
        dump(&burst)
    );
    let mut dora = s.dora_run(&burst_dataflow(&s, None));
    let done = burst.wait_for_line(Duration::from_secs(600), |l| l.starts_with("done"));
    let report = burst.output().join("\n");
    let done = done.unwrap_or_else(|| panic!("{report}\n{}\n{}", dump(&dora), s.node_logs()));
    assert!(
        !report.contains("\nlost "),
        "messages lost:\n{report}\n{}",
        s.node_logs()
    );
    assert_eq!(done, "done sent 11550 back 11550", "{report}");
    // Nothing to warn about: every input on the way is lossless.
    assert!(
        !s.node_logs().contains("dora's default delivery"),
        "{}",
        s.node_logs()
    );
    dora.stop();
}

/// `batch: 16`: what waits together goes into dora as multi-row messages
/// (seen by a Python node, with per-row metadata), comes back through
/// `to_ros` row by row, and nothing is lost or miscounted on the way.
#[test]
fn batched_routes_carry_bursts_as_multi_row_messages_and_lose_nothing() {
    let s = Scenario::new(154);
    let mut args = vec!["3", "50,200"];
    args.extend(BURST_TYPES);
    let burst = s.python("burst", "ros_burst.py", &args);
    assert!(
        burst.wait_for_line(WAIT, |l| l == "ready").is_some(),
        "{}",
        dump(&burst)
    );
    let mut dora = s.dora_run(&burst_dataflow(&s, Some(16)));
    let done = burst.wait_for_line(Duration::from_secs(600), |l| l.starts_with("done"));
    let report = burst.output().join("\n");
    let done = done.unwrap_or_else(|| panic!("{report}\n{}\n{}", dump(&dora), s.node_logs()));
    assert!(!report.contains("\nlost "), "messages lost:\n{report}");
    assert_eq!(done, "done sent 15750 back 15750", "{report}");
    let echo = s.node_log("echo");
    assert!(
        !echo.contains("bad rows"),
        "per-row metadata wrong:\n{echo}"
    );
    // Bursts of 200 back to back wait in the queues: batches must form.
    assert!(
        echo.lines().any(|l| l.starts_with("rows ")),
        "no multi-row message reached the dora node:\n{echo}"
    );
    // Row-numbered bridge_seq: the to_ros routes count nothing as lost.
    let bridge = s.node_log("bridge");
    assert!(
        !bridge
            .split_whitespace()
            .any(|w| w.starts_with("lost_in_dora=") && w != "lost_in_dora=0"),
        "{bridge}"
    );
    dora.stop();
}

#[test]
fn a_bag_replayed_at_full_speed_arrives_whole_and_in_order() {
    let s = Scenario::new(116);
    let bag = s.path("many");
    let made = s
        .command("python")
        .arg(python_script("make_bag.py"))
        .arg(&bag)
        .args(["mcap", "--many", "20000"])
        .output()
        .expect("make_bag.py");
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let mut config = format!("replay:\n  bag: {}\n  timing: fast\nfrom_ros:\n", p(&bag));
    for k in 0..4 {
        writeln!(config, "  - {{topic: /many_{k}, output: many_{k}}}").unwrap();
    }
    s.write("bridge.yaml", &config);
    let result = s.path("result.json");
    let outputs: Vec<String> = (0..4).map(|k| format!("many_{k}")).collect();
    let sink = outputs.iter().fold(
        Node::new("sink", example_bin("dora_sink")).env("RESULT_FILE", p(&result)),
        |sink, o| sink.lossless_input(o, &format!("bridge/{o}"), 100),
    );
    let bridge = Node::bridge("--config bridge.yaml").outputs(&outputs);
    let mut dora = s.dora_run(&Dataflow::new().node(bridge).node(sink).yaml());
    let status = dora.wait_exit(Duration::from_secs(300));
    let summary: Value = std::fs::read_to_string(&result)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_else(|| {
            panic!(
                "no result from the sink ({status:?})\n{}\n{}",
                dump(&dora),
                s.node_logs()
            )
        });
    assert_eq!(summary["received"], 20000, "{summary}\n{}", s.node_logs());
    assert_eq!(summary["seq_gaps"], 0, "{summary}");
    assert_eq!(summary["out_of_order"], 0, "{summary}");
    for k in 0..4 {
        assert_eq!(
            summary["streams"][format!("bridge/many_{k}")],
            5000,
            "{summary}"
        );
    }
}
