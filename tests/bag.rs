//! rosbag2 bags written by the independent `rosbags` library (MCAP and
//! sqlite3): replayed straight into a dora dataflow (no ROS), and played
//! onto ROS topics for rclpy subscribers; damaged bags give clear errors.

mod common;
use common::*;
use serde_json::Value;
use std::process::Command;
use std::time::Duration;

/// Writes the test bag (see tests/python/make_bag.py); returns its path and
/// the manifest of what it holds.
fn make_bag(s: &Scenario, storage: &str) -> (String, Vec<Value>) {
    make_bag_with(s, storage, &[])
}

fn make_bag_with(s: &Scenario, storage: &str, extra: &[&str]) -> (String, Vec<Value>) {
    let dir = s.path(&format!("bag_{storage}"));
    let out = s
        .command("python")
        .arg(python_script("make_bag.py"))
        .arg(&dir)
        .arg(storage)
        .args(extra)
        .output()
        .expect("make_bag.py");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let manifest: Vec<Value> = serde_json::from_slice(&out.stdout).expect("manifest");
    (p(&dir), manifest)
}

fn replay_into_dora(storage: &str, domain: u32) {
    let s = Scenario::new(domain);
    let (bag, manifest) = make_bag(&s, storage);
    s.write(
        "bridge.yaml",
        &format!(
            "replay:\n  bag: {bag}\n  timing: recorded\n  start_delay: 1s\nfrom_ros:\n\
             \x20 - {{topic: /chatter, output: chatter}}\n\
             \x20 - {{topic: /image, output: image}}\n\
             \x20 - {{topic: /reading, output: reading}}\n\
             \x20 - {{topic: /latched, output: latched}}\n"
        ),
    );
    let mut dora = s.bridge_to_recorder(
        "--config bridge.yaml",
        &["chatter", "image", "reading", "latched"],
    );
    // The bridge ends after the last message; the recorder's inputs close.
    let stop = s.wait_for_record("received.jsonl", Duration::from_secs(60), |r| {
        r["event"] == "STOP"
    });
    assert!(
        stop.is_some(),
        "no stop at the end\n{}\n{}",
        dump(&dora),
        s.node_logs()
    );
    let status = dora.wait_exit(Duration::from_secs(30));
    assert!(status.is_some_and(|s| s.success()), "{}", dump(&dora));

    let inputs: Vec<Value> = s
        .records("received.jsonl")
        .into_iter()
        .filter(|r| r["event"] == "INPUT")
        .collect();
    // Every message with its recorded timestamp, in recorded order per
    // topic (dora queues each input separately, so it may interleave
    // different inputs differently from the send order).
    for topic in ["/chatter", "/image", "/reading", "/latched"] {
        let got: Vec<i64> = inputs
            .iter()
            .filter(|r| r["metadata"]["ros_topic"] == topic)
            .map(|r| r["metadata"]["ros_received_timestamp_ns"].as_i64().unwrap())
            .collect();
        let want: Vec<i64> = manifest
            .iter()
            .filter(|m| m["topic"] == topic)
            .map(|m| m["t_ns"].as_i64().unwrap())
            .collect();
        assert_eq!(got, want, "{topic}\n{}\n{}", dump(&dora), s.node_logs());
    }
    assert_eq!(inputs.len(), manifest.len());
    for r in &inputs {
        assert_eq!(r["class"], "StructArray");
        assert!(
            r["metadata"]["ros_bag"]
                .as_str()
                .unwrap()
                .ends_with(&format!("bag_{storage}"))
        );
    }
    let on = |topic: &str| -> Vec<&Value> {
        inputs
            .iter()
            .filter(|r| r["metadata"]["ros_topic"] == topic)
            .collect()
    };
    let chatter: Vec<&str> = on("/chatter")
        .iter()
        .map(|r| r["value"][0]["data"].as_str().unwrap())
        .collect();
    assert_eq!(
        chatter,
        (0..10).map(|i| format!("hello {i}")).collect::<Vec<_>>()
    );
    for (i, r) in on("/image").iter().enumerate() {
        let img = &r["value"][0];
        assert_eq!(img["width"], 64);
        assert_eq!(img["encoding"], "rgb8");
        assert_eq!(img["header"]["frame_id"], "cam");
        let data = img["data"].as_array().unwrap();
        assert_eq!(data.len(), 64 * 48 * 3);
        assert!(
            data.iter()
                .enumerate()
                .all(|(k, b)| b.as_u64() == Some(((i + k) % 256) as u64))
        );
    }
    // A type installed nowhere: decoded from the definition inside the bag.
    let readings = on("/reading");
    assert_eq!(readings.len(), 3);
    for (i, r) in readings.iter().enumerate() {
        assert_eq!(r["metadata"]["ros_type"], "bridge_test_msgs/msg/Reading");
        assert_eq!(r["value"][0]["sensor"], format!("t{i}"));
        assert_eq!(r["value"][0]["value"], 0.5 * i as f64);
        assert_eq!(r["value"][0]["samples"], serde_json::json!([i, i + 1]));
    }
    assert_eq!(on("/latched")[0]["value"][0]["data"], "latched map");
    // Recorded timing: the last 0.4 s of /chatter took about 0.4 s (the
    // first messages can queue while the Python recorder starts).
    let times: Vec<f64> = on("/chatter")
        .iter()
        .map(|r| r["t"].as_f64().unwrap())
        .collect();
    let span = times[9] - times[5];
    eprintln!("{storage}: replayed /chatter 5..9 span {span:.3} s (recorded 0.400 s)");
    assert!(
        (span - 0.4).abs() < 0.1,
        "chatter span {span:.3} s, recorded 0.4 s"
    );
}

#[test]
fn an_mcap_bag_replays_into_dora_without_ros() {
    replay_into_dora("mcap", 81);
}

#[test]
fn a_sqlite3_bag_replays_into_dora_without_ros() {
    replay_into_dora("sqlite3", 82);
}

fn play_onto_ros(storage: &str, domain: u32) {
    let s = Scenario::new(domain);
    let (bag, _) = make_bag(&s, storage);
    let chatter = s.python(
        "chatter",
        "ros_sub.py",
        &["/chatter", "std_msgs/msg/String"],
    );
    let image = s.python("image", "ros_sub.py", &["/image", "sensor_msgs/msg/Image"]);
    for sub in [&chatter, &image] {
        sub.wait_for_line(Duration::from_secs(30), |l| l == "ready")
            .unwrap_or_else(|| panic!("{}", dump(sub)));
    }
    let play = play_to_the_end(
        &s,
        &bag,
        &[
            "--topic",
            "/chatter",
            "--topic",
            "/image",
            "--wait-for-subscribers",
            "--delay",
            "0.5s",
        ],
        &[],
    );
    // A subscriber joining after the end still gets the latched message.
    let late = s.python("late", "ros_sub.py", &["/latched", "std_msgs/msg/String"]);
    // (the player is gone: latching needs a live publisher, so check during
    // a second, looping play)
    let mut cmd = s.command(bridge_bin());
    cmd.args(["bag", "play", &bag, "--topic", "/latched", "--loop"]);
    let mut looping = s.spawn("bag play --loop", cmd);
    let latched = late
        .wait_for_line(Duration::from_secs(30), |l| l.contains("latched map"))
        .is_some();
    looping.stop();
    assert!(
        latched,
        "late subscriber did not get the latched message\n{}",
        dump(&late)
    );

    let lines = |proc: &Proc| -> Vec<Value> {
        proc.output()
            .iter()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .collect()
    };
    let got = lines(&chatter);
    let texts: Vec<&str> = got
        .iter()
        .map(|v| v["message"]["data"].as_str().unwrap())
        .collect();
    assert_eq!(
        texts,
        (0..10).map(|i| format!("hello {i}")).collect::<Vec<_>>(),
        "{}",
        dump(&play)
    );
    let span = got.last().unwrap()["t"].as_f64().unwrap() - got[0]["t"].as_f64().unwrap();
    eprintln!("{storage}: /chatter span {span:.3} s (recorded 0.900 s)");
    assert!(
        (span - 0.9).abs() <= 0.045,
        "timing off by more than 5 %: {span:.3} s"
    );
    let images = lines(&image);
    assert_eq!(images.len(), 5, "{}", dump(&image));
    for (i, v) in images.iter().enumerate() {
        let data = v["message"]["data"].as_array().unwrap();
        assert_eq!(data.len(), 64 * 48 * 3);
        assert_eq!(data[7].as_u64(), Some(((i + 7) % 256) as u64));
    }
}

#[test]
fn an_mcap_bag_plays_onto_ros_with_recorded_timing_and_latching() {
    play_onto_ros("mcap", 83);
}

#[test]
fn a_sqlite3_bag_plays_onto_ros_with_recorded_timing_and_latching() {
    play_onto_ros("sqlite3", 84);
}

fn bag_info(path: &str) -> std::process::Output {
    Command::new(bridge_bin())
        .args(["bag", "info", path])
        .output()
        .expect("bag info")
}

#[test]
fn damaged_and_unknown_bags_give_clear_errors_never_a_panic() {
    let s = Scenario::new(85);
    let (bag, _) = make_bag(&s, "mcap");
    let info = bag_info(&bag);
    let text = String::from_utf8_lossy(&info.stdout);
    assert!(info.status.success(), "{text}");
    assert!(
        text.contains("/reading  bridge_test_msgs/msg/Reading  3 msgs"),
        "{text}"
    );
    assert!(text.contains("transient_local"), "{text}");

    let expect_error = |path: &str, needle: &str| {
        let out = bag_info(path);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{path}: {err}");
        assert!(
            err.contains(needle),
            "{path}: expected `{needle}` in: {err}"
        );
        assert!(!err.contains("panicked"), "{err}");
    };
    expect_error(&p(&s.path("nope")), "does not exist");
    let ros1 = s.write("recording.bag", "ROS1 bag, not rosbag2");
    expect_error(&p(&ros1), "is a ROS 1 bag");
    let unknown = s.write("recording.tar", "not a bag");
    expect_error(&p(&unknown), "unknown storage format");
    std::fs::create_dir(s.path("bad_meta")).unwrap();
    s.write(
        "bad_meta/metadata.yaml",
        "rosbag2_bagfile_information:\n  storage_identifier: floppy\n",
    );
    expect_error(&p(&s.path("bad_meta")), "unknown storage format `floppy`");
    let garbage = s.write("garbage.mcap", "this is not an mcap file at all");
    expect_error(&p(&garbage), "garbage.mcap");
    let garbage_db = s.write("garbage.db3", "this is not sqlite");
    expect_error(&p(&garbage_db), "garbage.db3");

    // Truncated: the good messages replay, then a clear error.
    std::fs::remove_dir_all(&bag).unwrap();
    let (bag, _) = make_bag_with(&s, "mcap", &["--big"]);
    let mcap = format!("{bag}/bag_mcap.mcap");
    let bytes = std::fs::read(&mcap).unwrap();
    let truncated = s.path("truncated.mcap");
    std::fs::write(&truncated, &bytes[..bytes.len() / 3]).unwrap();
    s.write(
        "bridge.yaml",
        &format!(
            "replay:\n  bag: {}\n  timing: fast\nfrom_ros:\n  - {{topic: /chatter, output: chatter}}\n",
            p(&truncated)
        ),
    );
    let mut dora = s.bridge_to_recorder("--config bridge.yaml", &["chatter"]);
    dora.wait_exit(Duration::from_secs(60));
    let got = s
        .records("received.jsonl")
        .into_iter()
        .filter(|r| r["event"] == "INPUT")
        .count();
    let out = dump(&dora);
    assert!(
        got > 0 && got < 10,
        "expected a partial replay, got {got}\n{out}"
    );
    assert!(out.contains("damaged after the last good message"), "{out}");
    assert!(!out.contains("panicked"), "{out}");
}

#[test]
fn a_bag_recorded_by_the_bridge_in_split_files_opens_with_rosbags_and_holds_what_was_played() {
    let s = Scenario::new(86);
    let (bag, manifest) = make_bag(&s, "mcap");
    let out = p(&s.path("recorded"));
    let mut cmd = s.command(bridge_bin());
    // 5 images of 9216 bytes and 11 small messages: at most 20 KiB of
    // messages per file makes at least 3 files. Chunks zstd-compressed:
    // rosbags reads them.
    cmd.args([
        "bag",
        "record",
        "-o",
        &out,
        "--compression",
        "zstd",
        "--max-bag-size",
        "20kB",
        "/chatter",
        "/image",
        "/latched",
    ]);
    let mut recorder = s.spawn("bag record", cmd);
    play_to_the_end(
        &s,
        &bag,
        &[
            "--topic",
            "/chatter",
            "--topic",
            "/image",
            "--topic",
            "/latched",
            "--wait-for-subscribers",
            "--delay",
            "0.3s",
        ],
        &[&recorder],
    );
    recorder.signal("INT");
    let status = recorder.wait_exit(Duration::from_secs(30));
    assert!(status.is_some_and(|s| s.success()), "{}", dump(&recorder));
    assert!(
        recorder
            .output()
            .iter()
            .any(|l| l.contains("lost in DDS: 0")),
        "{}",
        dump(&recorder)
    );

    let got = read_with_rosbags(&s, &out);
    let topics = &got["topics"];
    assert_eq!(topics["/chatter"]["type"], "std_msgs/msg/String");
    assert_eq!(topics["/chatter"]["count"], 10);
    assert_eq!(topics["/image"]["count"], 5);
    assert_eq!(
        topics["/latched"]["durability"],
        serde_json::json!(["QosDurability.TRANSIENT_LOCAL"]),
        "offered QoS recorded"
    );
    let messages = got["messages"].as_array().unwrap();
    let on =
        |topic: &str| -> Vec<&Value> { messages.iter().filter(|m| m["topic"] == topic).collect() };
    let chatter: Vec<&str> = on("/chatter")
        .iter()
        .map(|m| m["value"].as_str().unwrap())
        .collect();
    assert_eq!(
        chatter,
        (0..10).map(|i| format!("hello {i}")).collect::<Vec<_>>()
    );
    for (i, m) in on("/image").iter().enumerate() {
        assert_eq!(m["value"]["n"], 64 * 48 * 3);
        assert_eq!(m["value"]["first"], i % 256);
    }
    assert_eq!(on("/latched")[0]["value"], "latched map");
    // Timestamps: in order, and spaced as recorded originally (100 ms).
    let times: Vec<i64> = messages
        .iter()
        .map(|m| m["t_ns"].as_i64().unwrap())
        .collect();
    assert!(
        times.windows(2).all(|w| w[0] <= w[1]),
        "out of order: {times:?}"
    );
    let chatter_t: Vec<i64> = on("/chatter")
        .iter()
        .map(|m| m["t_ns"].as_i64().unwrap())
        .collect();
    let want_span = manifest
        .iter()
        .filter(|m| m["topic"] == "/chatter")
        .map(|m| m["t_ns"].as_i64().unwrap())
        .fold((i64::MAX, 0), |(lo, hi), t| (lo.min(t), hi.max(t)));
    let span = (chatter_t[9] - chatter_t[0]) as f64 / 1e9;
    let want = (want_span.1 - want_span.0) as f64 / 1e9;
    assert!(
        (span - want).abs() < 0.05,
        "recorded span {span:.3} s, played {want:.3} s"
    );
    // Split into files that each stand on their own.
    let metadata = std::fs::read_to_string(format!("{out}/metadata.yaml")).unwrap();
    let files: Vec<&str> = metadata
        .lines()
        .filter_map(|l| l.trim().strip_prefix("- recorded_"))
        .collect();
    assert!(files.len() >= 3, "{metadata}");
    for k in 0..files.len() {
        assert!(
            std::path::Path::new(&format!("{out}/recorded_{k}.mcap")).exists(),
            "{metadata}"
        );
    }
    // Type hashes as the publishers announced them (std_msgs/String's).
    assert!(
        metadata
            .contains("RIHS01_df668c740482bbd48fb39d76a70dfd4bd59db1288021743503259e948f6b1a18"),
        "{metadata}"
    );
    // And `bag info` reads it like any other.
    let info = bag_info(&out);
    assert!(info.status.success());
    assert!(String::from_utf8_lossy(&info.stdout).contains("(definition embedded)"));
}

#[test]
fn what_dora_publishes_through_the_bridge_is_recorded_into_a_bag() {
    let s = Scenario::new(87);
    let out = p(&s.path("results"));
    s.write(
        "bridge.yaml",
        &format!(
            "to_ros:\n  - {{input: text, topic: /from_dora, type: std_msgs/msg/String}}\nrecord:\n  bag: {out}\n"
        ),
    );
    let sender = Node::python("sender", "dora_send.py")
        .env("SEND_OUTPUT", "text")
        .env("SEND_JSON", r#"[{"data": "result"}]"#)
        .env("SEND_EXIT_AFTER", "20")
        .env("SEND_EXIT_CODE", "0")
        .input("tick", "dora/timer/millis/50")
        .output("text");
    let bridge = Node::bridge("--config bridge.yaml").input("text", "sender/text");
    let mut dora = s.dora_run(&Dataflow::new().node(sender).node(bridge).yaml());
    let status = dora.wait_exit(Duration::from_secs(60));
    assert!(status.is_some_and(|s| s.success()), "{}", dump(&dora));
    let got = read_with_rosbags(&s, &out);
    assert_eq!(got["topics"]["/from_dora"]["type"], "std_msgs/msg/String");
    let messages = got["messages"].as_array().unwrap();
    // Exactly what the bridge published: its last stats line says how many.
    // (dora itself sometimes drops the very last message of a sender that
    // exits right after sending it, so that can be 19 of the 20 sent.)
    let forwarded: usize = dora
        .output()
        .iter()
        .rev()
        .find_map(|l| l.split("forwarded=").nth(1))
        .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
        .unwrap_or_else(|| panic!("no stats line\n{}", dump(&dora)));
    assert!(forwarded >= 19, "{}", dump(&dora));
    assert_eq!(messages.len(), forwarded, "{got}\n{}", dump(&dora));
    assert!(
        messages
            .iter()
            .all(|m| m["topic"] == "/from_dora" && m["value"] == "result")
    );
    let times: Vec<i64> = messages
        .iter()
        .map(|m| m["t_ns"].as_i64().unwrap())
        .collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]));
}

#[test]
fn play_remaps_topics_and_skips_the_start_offset() {
    let s = Scenario::new(88);
    let (bag, _) = make_bag(&s, "sqlite3");
    let replayed = s.python(
        "replayed",
        "ros_sub.py",
        &["/replayed", "std_msgs/msg/String"],
    );
    replayed
        .wait_for_line(Duration::from_secs(30), |l| l == "ready")
        .unwrap_or_else(|| panic!("{}", dump(&replayed)));
    let play = play_to_the_end(
        &s,
        &bag,
        &[
            "--topic",
            "/chatter",
            "--remap",
            "/chatter:=/replayed",
            "--start-offset",
            "0.45s",
            "--rate",
            "2",
            "--wait-for-subscribers",
        ],
        &[],
    );
    let texts: Vec<String> = replayed
        .output()
        .iter()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .map(|v| v["message"]["data"].as_str().unwrap().to_string())
        .collect();
    // Recorded at 0.001 s + i * 0.1 s: an offset of 0.45 s starts at hello 5.
    assert_eq!(
        texts,
        (5..10).map(|i| format!("hello {i}")).collect::<Vec<_>>(),
        "{}",
        dump(&play)
    );
}

/// Runs `bag play BAG ARGS...` and asserts it ends successfully within a
/// minute (dumping `others` too when it does not).
fn play_to_the_end(s: &Scenario, bag: &str, args: &[&str], others: &[&Proc]) -> Proc {
    let mut cmd = s.command(bridge_bin());
    cmd.args(["bag", "play", bag]).args(args);
    let mut play = s.spawn("bag play", cmd);
    let status = play.wait_exit(Duration::from_secs(60));
    let others: Vec<String> = others.iter().map(|p| dump(p)).collect();
    assert!(
        status.is_some_and(|s| s.success()),
        "{}\n{}",
        dump(&play),
        others.join("\n")
    );
    play
}

/// Rows of an output as the recorder saw them: (message len, row values, metadata).
fn messages_on<'a>(inputs: &'a [Value], id: &str) -> Vec<&'a Value> {
    inputs.iter().filter(|r| r["id"] == id).collect()
}

/// A replay takes the live path: a topic two routes select reaches both,
/// a `batch` route gets multi-row messages with per-row metadata, and the
/// stats output counts every row.
#[test]
fn a_replay_serves_every_matching_route_with_batch_and_stats_rows() {
    let s = Scenario::new(155);
    let bag = s.path("many");
    let made = s
        .command("python")
        .arg(python_script("make_bag.py"))
        .arg(&bag)
        .args(["mcap", "--many", "2000"])
        .output()
        .expect("make_bag.py");
    assert!(made.status.success());
    s.write(
        "bridge.yaml",
        &format!(
            "replay: {{bag: {}, timing: fast}}\nfrom_ros:\n\
             \x20 - {{topic: /many_0, output: first}}\n\
             \x20 - {{match: ^/many_, output: every, batch: 64}}\n\
             stats: {{output: stats, interval: 100ms}}\n",
            p(&bag)
        ),
    );
    let mut dora = s.bridge_to_recorder("--config bridge.yaml", &["first", "every", "stats"]);
    let status = dora.wait_exit(Duration::from_secs(120));
    assert!(status.is_some_and(|s| s.success()), "{}", dump(&dora));
    let inputs: Vec<Value> = s
        .records("received.jsonl")
        .into_iter()
        .filter(|r| r["event"] == "INPUT")
        .collect();
    // The route of one topic: all 500 of /many_0, in recorded order.
    let first: Vec<String> = messages_on(&inputs, "first")
        .iter()
        .flat_map(|r| r["value"].as_array().unwrap().clone())
        .map(|row| row["data"].as_str().unwrap().to_string())
        .collect();
    let want: Vec<String> = (0..2000).step_by(4).map(|i| i.to_string()).collect();
    assert_eq!(first, want, "{}", s.node_logs());
    // The pattern route: every message, each topic in order, in batches.
    let every = messages_on(&inputs, "every");
    let mut per_topic: std::collections::BTreeMap<String, Vec<u64>> = Default::default();
    let mut next_seq = 1;
    for message in &every {
        let rows = message["value"].as_array().unwrap();
        assert!(rows.len() <= 64, "{} rows", rows.len());
        assert_eq!(message["metadata"]["bridge_seq"], next_seq);
        next_seq += rows.len() as u64;
        if rows.len() > 1 {
            let stamps = message["metadata"]["ros_received_timestamps_ns"]
                .as_array()
                .unwrap_or_else(|| panic!("no per-row stamps: {}", message["metadata"]));
            assert_eq!(stamps.len(), rows.len());
        }
        let topic = message["metadata"]["ros_topic"].as_str().unwrap();
        assert!(message["metadata"]["ros_bag"].is_string());
        per_topic.entry(topic.to_string()).or_default().extend(
            rows.iter()
                .map(|row| row["data"].as_str().unwrap().parse::<u64>().unwrap()),
        );
    }
    for (k, (topic, values)) in per_topic.iter().enumerate() {
        assert_eq!(topic, &format!("/many_{k}"));
        let want: Vec<u64> = (k as u64..2000).step_by(4).collect();
        assert_eq!(values, &want, "{topic}");
    }
    let multi_row = every
        .iter()
        .filter(|m| m["value"].as_array().unwrap().len() > 1)
        .count();
    eprintln!(
        "every: {} message(s) for 2000 rows, {multi_row} of several rows",
        every.len()
    );
    assert!(multi_row > 0, "no batch formed in a full-speed replay");
    // The stats rows count what the routes forwarded.
    let row = |route: &str| stats_row(&s, route).unwrap_or_else(|| panic!("no stats for {route}"));
    assert_eq!(
        row("from_ros[0]")["forwarded"],
        500,
        "{}",
        row("from_ros[0]")
    );
    assert_eq!(
        row("from_ros[1]")["forwarded"],
        2000,
        "{}",
        row("from_ros[1]")
    );
    assert_eq!(row("from_ros[1]")["received"], 2000);
}

/// `replay.at_end: stop_dataflow` ends a dataflow that a timer keeps alive,
/// and what the dataflow answers through a `to_ros` route during the replay
/// is recorded (`record:`) beside it.
#[test]
fn a_replay_records_what_the_dataflow_answers_and_stops_a_timer_driven_dataflow() {
    let s = Scenario::new(156);
    let (bag, _) = make_bag(&s, "mcap");
    let out = p(&s.path("answers"));
    s.write(
        "bridge.yaml",
        &format!(
            "replay: {{bag: {bag}, timing: recorded, at_end: stop_dataflow}}\n\
             from_ros:\n  - {{topic: /chatter, output: chatter}}\n\
             to_ros:\n  - {{input: answer, topic: /answers, type: std_msgs/msg/String}}\n\
             record: {{bag: {out}}}\n"
        ),
    );
    let bridge = Node::bridge("--config bridge.yaml")
        .output("chatter")
        .input("answer", "echo/chatter");
    let echo = Node::python("echo", "dora_echo.py")
        .lossless_input("chatter", "bridge/chatter", 100)
        .output("chatter");
    // A timer keeps the recorder running: only a dataflow stop ends it.
    let recorder = s
        .recorder()
        .lossless_input("chatter", "bridge/chatter", 100)
        .input("tick", "dora/timer/millis/100");
    let mut dora = s.dora_run(
        &Dataflow::new()
            .node(bridge)
            .node(echo)
            .node(recorder)
            .yaml(),
    );
    let status = dora.wait_exit(Duration::from_secs(60));
    assert!(
        status.is_some_and(|s| s.success()),
        "the dataflow did not stop at the end of the bag\n{}",
        dump(&dora)
    );
    let records = s.records("received.jsonl");
    assert_eq!(
        records.iter().filter(|r| r["event"] == "INPUT").count(),
        10,
        "{}",
        s.node_logs()
    );
    assert!(records.iter().any(|r| r["event"] == "STOP"));
    let bridge_log = s.node_log("bridge");
    assert!(
        bridge_log.contains("stopping the dataflow (replay.at_end: stop_dataflow)"),
        "{bridge_log}"
    );
    // What reached the bag is what the to_ros route published, in order.
    let got = read_with_rosbags(&s, &out);
    let answers: Vec<&str> = got["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["topic"] == "/answers")
        .map(|m| m["value"].as_str().unwrap())
        .collect();
    let published: usize = bridge_log
        .lines()
        .rev()
        .find(|l| l.contains("to_ros[0]"))
        .and_then(|l| l.split("forwarded=").nth(1))
        .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
        .unwrap_or_else(|| panic!("no to_ros stats line\n{bridge_log}"));
    assert_eq!(answers.len(), published, "{got}");
    assert!(published >= 5, "{bridge_log}");
    let want: Vec<String> = (0..published).map(|i| format!("hello {i}")).collect();
    assert_eq!(answers, want);
}
