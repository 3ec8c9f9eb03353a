//! Every bag a robot already has: each rosbag2 layout (the sqlite3 schemas
//! of every metadata version, MCAP, split without metadata, zstd file and
//! message mode, service events) written by the test itself with the
//! independent `rosbags` library (tests/python/make_bag_layouts.py), read by
//! `bag info` and played onto ROS to an rclpy subscriber that keeps
//! everything; what arrives is compared byte for byte with the bag.

mod common;
use common::*;
use serde_json::Value;
use std::collections::BTreeMap;
use std::time::Duration;

/// Writes the bag of `layout`; its path and the manifest (topic, type,
/// hex of the CDR, in time order).
fn make(s: &Scenario, layout: &str) -> (String, Vec<Value>) {
    let dir = s.path(layout);
    let out = s
        .command("python")
        .arg(python_script("make_bag_layouts.py"))
        .arg(&dir)
        .arg(layout)
        .output()
        .expect("make_bag_layouts.py");
    assert!(
        out.status.success(),
        "{layout}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let manifest: Value = serde_json::from_slice(&out.stdout).expect("manifest");
    (p(&dir), manifest["messages"].as_array().unwrap().clone())
}

fn counts(manifest: &[Value]) -> BTreeMap<String, u64> {
    let mut counts = BTreeMap::new();
    for m in manifest {
        *counts
            .entry(m["topic"].as_str().unwrap().to_string())
            .or_default() += 1;
    }
    counts
}

/// `bag info`'s lines `  <topic>  <type>  <n> msgs ...` as topic -> n.
fn info_counts(text: &str) -> BTreeMap<String, u64> {
    text.lines()
        .filter(|l| l.starts_with("  /"))
        .filter_map(|l| {
            let words: Vec<&str> = l.split_whitespace().collect();
            Some((words[0].to_string(), words.get(2)?.parse().ok()?))
        })
        .collect()
}

const LAYOUTS: &[&str] = &[
    "sqlite3-v1",
    "sqlite3-v2",
    "sqlite3-v3",
    "sqlite3-v4",
    "sqlite3-v5",
    "sqlite3-v6",
    "sqlite3-v7",
    "sqlite3-v8",
    "sqlite3-v9",
    "mcap-v8",
    "mcap-v9",
    "zstd-file-sqlite3",
    "zstd-file-mcap",
    "zstd-message-sqlite3",
    "zstd-message-mcap",
    "split-no-metadata",
    "service-events",
];

#[test]
fn every_layout_opens_with_the_counts_rosbags_reads() {
    let s = Scenario::new(160);
    for layout in LAYOUTS {
        let (bag, manifest) = make(&s, layout);
        let info = s
            .command(bridge_bin())
            .args(["bag", "info", &bag])
            .output()
            .expect("bag info");
        let text = String::from_utf8_lossy(&info.stdout);
        assert!(
            info.status.success(),
            "{layout}: {text}{}",
            String::from_utf8_lossy(&info.stderr)
        );
        assert_eq!(info_counts(&text), counts(&manifest), "{layout}:\n{text}");
        let total = manifest.len();
        assert!(
            text.contains(&format!("messages:  {total}\n")),
            "{layout}:\n{text}"
        );
        if *layout == "split-no-metadata" {
            continue; // rosbags reads bags with metadata.yaml only
        }
        let reference = read_with_rosbags(&s, &bag);
        let theirs: BTreeMap<String, u64> = reference["topics"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(topic, t)| (topic.clone(), t["count"].as_u64().unwrap()))
            .collect();
        assert_eq!(
            theirs,
            counts(&manifest),
            "{layout}: rosbags reads other counts"
        );
    }
}

#[test]
fn a_bag_in_another_serialization_or_from_ros1_is_refused_by_name() {
    let s = Scenario::new(161);
    let (bag, _) = make(&s, "not-cdr");
    let info = s
        .command(bridge_bin())
        .args(["bag", "info", &bag])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&info.stderr);
    assert!(!info.status.success());
    assert!(
        err.contains("/chatter is serialized as `ros1`") && err.contains("`cdr` only"),
        "{err}"
    );
    let ros1 = s.write("old.bag", "#ROSBAG V2.0\n");
    let info = s
        .command(bridge_bin())
        .args(["bag", "info", &p(&ros1)])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&info.stderr);
    assert!(!info.status.success());
    assert!(
        err.contains("is a ROS 1 bag") && err.contains("rosbags-convert"),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
}

/// Plays `bag` to a raw keep-all subscriber of every topic of `manifest`;
/// what arrived per topic, in order, as hex.
fn play_and_take(
    s: &Scenario,
    name: &str,
    bag: &str,
    manifest: &[Value],
) -> BTreeMap<String, Vec<String>> {
    let mut specs: Vec<String> = manifest
        .iter()
        .map(|m| {
            format!(
                "{}:{}",
                m["topic"].as_str().unwrap(),
                m["type"].as_str().unwrap()
            )
        })
        .collect();
    specs.sort();
    specs.dedup();
    let args: Vec<&str> = specs.iter().map(String::as_str).collect();
    let sub = s.python(name, "ros_sub_raw.py", &args);
    sub.wait_for_line(Duration::from_secs(30), |l| l == "ready")
        .unwrap_or_else(|| panic!("{}", dump(&sub)));
    let mut cmd = s.command(bridge_bin());
    cmd.args([
        "bag",
        "play",
        bag,
        "--wait-for-subscribers",
        "--delay",
        "0.5s",
    ]);
    let mut play = s.spawn(&format!("bag play {name}"), cmd);
    let status = play.wait_exit(Duration::from_secs(120));
    assert!(status.is_some_and(|s| s.success()), "{}", dump(&play));
    let expected = manifest.len();
    let arrived = || sub.output().iter().filter(|l| l.starts_with('{')).count();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while arrived() < expected && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut got: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for line in sub.output().iter().filter(|l| l.starts_with('{')) {
        let v: Value = serde_json::from_str(line).unwrap();
        got.entry(v["topic"].as_str().unwrap().to_string())
            .or_default()
            .push(v["hex"].as_str().unwrap().to_string());
    }
    got
}

/// The manifest's messages per topic, in order, as hex.
fn by_topic(manifest: &[Value]) -> BTreeMap<String, Vec<String>> {
    let mut want: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for m in manifest {
        want.entry(m["topic"].as_str().unwrap().to_string())
            .or_default()
            .push(m["hex"].as_str().unwrap().to_string());
    }
    want
}

/// Whether a subscriber in another process received `sent`: the bag's
/// bytes, which Fast DDS 2 (Jazzy) pads with zeros to a multiple of 4 (as
/// it does for an rclpy publisher; within one process it does not).
fn same_sample(arrived: &str, sent: &str) -> bool {
    let mut padded = sent.to_string();
    while !padded.len().is_multiple_of(8) {
        padded.push_str("00");
    }
    arrived == sent || arrived == padded
}

/// The first difference of two plays, short enough to read.
fn first_difference(
    got: &BTreeMap<String, Vec<String>>,
    want: &BTreeMap<String, Vec<String>>,
) -> Option<String> {
    for (topic, messages) in want {
        let arrived = got.get(topic).cloned().unwrap_or_default();
        if arrived.len() != messages.len() {
            return Some(format!(
                "{topic}: {} of {} messages",
                arrived.len(),
                messages.len()
            ));
        }
        if let Some(i) = (0..messages.len()).find(|&i| !same_sample(&arrived[i], &messages[i])) {
            return Some(format!(
                "{topic} #{i}: got {} want {}",
                arrived[i], messages[i]
            ));
        }
    }
    let extra: Vec<&String> = got.keys().filter(|t| !want.contains_key(*t)).collect();
    (!extra.is_empty()).then(|| format!("topics not in the bag: {extra:?}"))
}

#[test]
fn old_split_compressed_and_service_event_bags_play_every_byte_as_recorded() {
    let s = Scenario::new(162);
    for layout in [
        "sqlite3-v1",
        "split-no-metadata",
        "zstd-file-sqlite3",
        "zstd-message-mcap",
        "service-events",
    ] {
        let (bag, manifest) = make(&s, layout);
        let got = play_and_take(&s, layout, &bag, &manifest);
        let difference = first_difference(&got, &by_topic(&manifest));
        assert_eq!(difference, None, "{layout}: not the bag's bytes, in order");
    }
}

#[test]
fn a_burst_of_eight_topics_within_a_millisecond_reaches_a_keep_all_subscriber_whole() {
    let s = Scenario::new(163);
    let (bag, manifest) = make(&s, "burst");
    assert_eq!(manifest.len(), 8000);
    let got = play_and_take(&s, "burst", &bag, &manifest);
    let difference = first_difference(&got, &by_topic(&manifest));
    assert_eq!(difference, None, "every message, every byte, in order");
}

#[test]
fn service_events_replay_into_dora_as_typed_rows() {
    let s = Scenario::new(164);
    let (bag, manifest) = make(&s, "service-events");
    s.write(
        "bridge.yaml",
        &format!(
            "replay:\n  bag: {bag}\n  timing: fast\nfrom_ros:\n\
             \x20 - {{topic: /set_flag/_service_event, output: events}}\n"
        ),
    );
    let mut dora = s.bridge_to_recorder("--config bridge.yaml", &["events"]);
    let stop = s.wait_for_record("received.jsonl", Duration::from_secs(60), |r| {
        r["event"] == "STOP"
    });
    assert!(stop.is_some(), "{}\n{}", dump(&dora), s.node_logs());
    dora.wait_exit(Duration::from_secs(30));
    let rows: Vec<Value> = s
        .records("received.jsonl")
        .into_iter()
        .filter(|r| r["event"] == "INPUT")
        .flat_map(|r| r["value"].as_array().cloned().unwrap_or_default())
        .collect();
    assert_eq!(rows.len(), manifest.len(), "{rows:?}\n{}", dump(&dora));
    // Two request events, then two response events, as recorded.
    for (i, row) in rows.iter().enumerate() {
        assert_eq!(row["info"]["event_type"], i as u64, "{row}");
        assert_eq!(row["info"]["sequence_number"], 7, "{row}");
        let (requests, responses) = (row["request"].as_array(), row["response"].as_array());
        let (requests, responses) = (requests.unwrap(), responses.unwrap());
        if i < 2 {
            assert_eq!((requests.len(), responses.len()), (1, 0), "{row}");
            assert_eq!(requests[0]["data"], true, "{row}");
        } else {
            assert_eq!((requests.len(), responses.len()), (0, 1), "{row}");
            assert_eq!(responses[0]["message"], "done", "{row}");
        }
    }
}
