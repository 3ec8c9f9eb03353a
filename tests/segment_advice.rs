//! The large-message advice for what the bridge takes in: judged by how
//! late a topic's first large messages arrive, so it is said for a
//! publisher on Fast DDS's 512 KB segment and not for one with the
//! large-messages profile. Alone in its test binary: cargo runs binaries
//! one after another, and transit times are what a busy machine changes.

mod common;
use common::*;
use std::time::Duration;

#[test]
fn large_messages_taken_in_get_segment_advice_only_when_their_publisher_lacks_the_profile() {
    let s = Scenario::new(190);
    // 640x480 rgb8 at 10 Hz from two cameras: one started with the
    // large-messages profile, one with Fast DDS's defaults. The bridge runs
    // with its own profile, as when nothing configures Fast DDS.
    let (width, height) = (640, 480);
    let image = serde_json::json!({
        "width": width, "height": height, "encoding": "rgb8", "step": width * 3,
        "data": vec![0u8; width * height * 3],
    });
    let file = s.write("image.json", &image.to_string());
    let camera = |topic: &str, profile: Option<&std::path::Path>| {
        let mut cmd = s.command("python");
        cmd.arg(python_script("ros_pub.py")).args([
            topic,
            "sensor_msgs/msg/Image",
            &format!("@{}", p(&file)),
            "10",
            "--node",
            &topic.replace('/', ""),
        ]);
        if let Some(profile) = profile {
            with_fastdds_profile(&mut cmd, profile);
        }
        s.spawn(topic, cmd)
    };
    let profile = repo_root().join("config/fastdds_large_messages.xml");
    let _tuned = camera("/tuned", Some(&profile));
    let _default = camera("/plain", None);
    s.write(
        "bridge.yaml",
        "from_ros:\n\
         \x20 - {topic: /tuned, type: sensor_msgs/msg/Image, output: tuned}\n\
         \x20 - {topic: /plain, type: sensor_msgs/msg/Image, output: plain}\n\
         stats: {output: stats, interval: 500ms}\n",
    );
    let bridge = Node::bridge("--config bridge.yaml").outputs(["tuned", "plain", "stats"]);
    let recorder = s.recorder().input("stats", "bridge/stats");
    let dora = s.dora_run(&Dataflow::new().node(bridge).node(recorder).yaml());
    // The verdict waits for each topic's first 25 large messages.
    for route in ["from_ros[0]", "from_ros[1]"] {
        wait_for_stats(&s, route, Duration::from_secs(90), |r| {
            r["received"].as_u64().is_some_and(|n| n >= 30)
        })
        .unwrap_or_else(|| {
            panic!(
                "{route} got too few images\n{}\n{}",
                dump(&dora),
                s.node_logs()
            )
        });
    }
    let output = dora.output();
    let advised = |topic: &str| {
        output
            .iter()
            .filter(|l| l.contains(&format!("{topic}: messages of")))
            .cloned()
            .collect::<Vec<_>>()
    };
    let plain = advised("/plain");
    // Jazzy's Fast DDS 2 repairs 0.9 MB samples through its 512 KB default
    // segment (2 to 4 in 8 arrive 9-12 ms late): advice, once. Kilted's
    // Fast DDS 3 took them without late arrivals here, so the advice, which
    // follows what arrives late, may stay silent there.
    let jazzy = std::env::var("ROS2_DORA_BRIDGE_ROS_DISTRO").is_ok_and(|d| d == "jazzy");
    let expected = if jazzy { 1..=1 } else { 0..=1 };
    assert!(
        expected.contains(&plain.len()),
        "{plain:?}\n{}",
        dump(&dora)
    );
    assert!(
        plain.iter().all(|line| {
            line.contains("ms after they were published (90th percentile of 20)")
                && line.contains("give the nodes publishing it a larger segment")
        }),
        "{plain:?}"
    );
    assert_eq!(advised("/tuned"), Vec::<String>::new(), "{}", dump(&dora));
}
