//! Scale and endurance through the real stacks: ROS nodes coming and going
//! in waves while a steady topic flows (graph churn).
//!
//! The churn test's size comes from the environment, so the same test makes
//! the longer figures in docs/performance.md: CHURN_NODES (200), CHURN_WAVES
//! (3), CHURN_UP_S (8), CHURN_DOWN_S (8), CHURN_QUIET_S (10).

mod common;
use common::*;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// These tests each load the machine for a minute or more with exact
/// zero-loss checks: one at a time.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn exclusive() -> std::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn unix_ns() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as i64
}

fn wave_context(wave: usize, churn: &Proc, dora: &Proc) -> String {
    format!("wave {wave}\n{}\n{}", dump(churn), dump(dora))
}

/// Lines of `proc` containing `text`.
fn count_lines(proc: &Proc, text: &str) -> usize {
    proc.output().iter().filter(|l| l.contains(text)).count()
}

fn wait_until(timeout: Duration, mut condition: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if condition() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100)); // polling /proc and logs
    }
    condition()
}

/// The 99th percentile of the latencies (ns) received in [from, to).
fn p99_ms(samples: &[(i64, i64)], from: i64, to: i64) -> (f64, usize) {
    let mut window: Vec<i64> = samples
        .iter()
        .filter(|(at, _)| (from..to).contains(at))
        .map(|(_, latency)| *latency)
        .collect();
    window.sort_unstable();
    let p99 = window
        .get((window.len() * 99 / 100).min(window.len().saturating_sub(1)))
        .copied()
        .unwrap_or(0);
    (p99 as f64 / 1e6, window.len())
}

#[test]
fn graph_churn_of_200_nodes_leaves_no_subscriptions_fds_or_threads_behind() {
    let _machine = exclusive();
    let s = Scenario::new(151);
    let nodes = env_or("CHURN_NODES", 200) as usize;
    let waves = env_or("CHURN_WAVES", 3) as usize;
    let (up, down, quiet) = (
        env_or("CHURN_UP_S", 8),
        env_or("CHURN_DOWN_S", 8),
        env_or("CHURN_QUIET_S", 10),
    );
    // Long enough for the quiet window, every wave and its clean-up.
    let steady_seconds = quiet + waves as u64 * (up + down + 20) + 10;
    let mut source_cmd = s.command(example_bin("rcl_load_source"));
    source_cmd.args(["/steady/t", "1", "50", &steady_seconds.to_string()]);
    let mut source = s.spawn("steady source", source_cmd);
    assert!(
        source
            .wait_for_line(Duration::from_secs(30), |l| l.starts_with("publishing"))
            .is_some(),
        "{}",
        dump(&source)
    );
    s.write(
        "bridge.yaml",
        "from_ros:\n\
         \x20 - {topic: /steady/t000, type: sensor_msgs/msg/Imu, output: steady}\n\
         \x20 - {match: '^/churn/', type: sensor_msgs/msg/Imu, output: churn}\n\
         stats: {log_interval: 1s}\n",
    );
    let flow = Dataflow::new()
        .node(Node::bridge("--config bridge.yaml").outputs(["steady", "churn"]))
        .node(
            Node::new("sink", p(&example_bin("dora_load_sink")))
                .env("RESULT_FILE", p(&s.path("sink.json")))
                .env("LATENCY_FILE", p(&s.path("latency.txt")))
                .env("LATENCY_TOPIC", "/steady/t000")
                .lossless_input("steady", "bridge/steady", 1000)
                .lossless_input("churn", "bridge/churn", 1000),
        );
    let path = s.write("dataflow.yml", &flow.yaml());
    let mut dora_cmd = s.command("dora");
    dora_cmd
        .arg("run")
        .arg(&path)
        .args(["--stop-after", "900s"]);
    let mut dora = s.spawn("dora run", dora_cmd);
    assert!(
        source
            .wait_for_line(Duration::from_secs(60), |l| l.contains("all_matched"))
            .is_some(),
        "{}\n{}",
        dump(&source),
        dump(&dora)
    );
    let quiet_from = unix_ns();
    std::thread::sleep(Duration::from_secs(quiet)); // the window without churn
    let churn_from = unix_ns();
    let bridge = bridge_pid(&s).expect("the bridge process");
    let baseline = holdings(bridge).expect("the bridge's /proc");

    let mut after_waves = Vec::new();
    let mut peaks = Vec::new();
    for wave in 0..waves {
        // Each wave is a process of its own, as nodes of a launch file are:
        // its DDS participant comes and goes with it.
        let mut churn_cmd = s.command(example_bin("rcl_churn"));
        churn_cmd.args(["/churn/t", &nodes.to_string(), "1", &up.to_string(), "0"]);
        let mut churn = s.spawn("churn", churn_cmd);
        let subscribed = nodes * (wave + 1);
        assert!(
            wait_until(Duration::from_secs(up + 30), || count_lines(
                &dora,
                "subscribed to /churn/"
            ) >= subscribed),
            "{} of {subscribed} churn topics subscribed\n{}",
            count_lines(&dora, "subscribed to /churn/"),
            wave_context(wave, &churn, &dora)
        );
        peaks.push(holdings(bridge).expect("the bridge's /proc"));
        assert!(
            churn
                .wait_exit(Duration::from_secs(up + 60))
                .is_some_and(|status| status.success()),
            "{}",
            wave_context(wave, &churn, &dora)
        );
        std::thread::sleep(Duration::from_secs(down)); // the quiet part of the wave
        let cleaned_up = wait_until(Duration::from_secs(20), || {
            count_lines(&dora, "has had no publisher") >= subscribed
                && holdings(bridge)
                    .is_some_and(|h| h.fds <= baseline.fds && h.threads <= baseline.threads)
        });
        let now = holdings(bridge).expect("the bridge's /proc");
        assert!(
            cleaned_up,
            "after wave {wave}: {} of {subscribed} unsubscribed, {now:?} against {baseline:?}\n{}",
            count_lines(&dora, "has had no publisher"),
            wave_context(wave, &churn, &dora)
        );
        after_waves.push(now);
    }
    let churn_to = unix_ns();
    assert!(
        source
            .wait_for_line(Duration::from_secs(steady_seconds + 30), |l| l
                .contains("sent_per_topic"))
            .is_some(),
        "{}",
        dump(&source)
    );
    let sent: serde_json::Value = serde_json::from_str(
        &source
            .output()
            .into_iter()
            .find(|l| l.contains("sent_per_topic"))
            .unwrap(),
    )
    .unwrap();
    source.wait_exit(Duration::from_secs(10));
    // Stop once the bridge has handed the steady topic's last message on.
    let sent_count = sent["sent_per_topic"].as_u64().unwrap_or(0);
    let forwarded = format!("forwarded={}", sent_count + 1); // + the warm-up message
    assert!(
        dora.wait_for_line(Duration::from_secs(30), |l| l.contains("stats from_ros[0]")
            && l.split_whitespace().any(|counter| counter == forwarded))
            .is_some(),
        "the steady route never forwarded {sent_count} messages\n{}",
        dump(&dora)
    );
    assert!(
        dora.stop().is_some_and(|status| status.success()),
        "{}",
        dump(&dora)
    );
    let result: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(s.path("sink.json")).unwrap()).unwrap();
    assert_eq!(
        result["received"]["/steady/t000"], sent["sent_per_topic"],
        "the steady topic lost messages during churn: {result}"
    );
    let samples: Vec<(i64, i64)> = std::fs::read_to_string(s.path("latency.txt"))
        .unwrap()
        .lines()
        .filter_map(|l| {
            let (at, latency) = l.split_once(' ')?;
            Some((at.parse().ok()?, latency.parse().ok()?))
        })
        .collect();
    let (quiet_p99, quiet_n) = p99_ms(&samples, quiet_from, churn_from);
    let (churn_p99, churn_n) = p99_ms(&samples, churn_from, churn_to);
    // The figures docs/performance.md quotes.
    eprintln!(
        "churn: {nodes} nodes x {waves} waves ({up} s up, {down} s down); steady topic p99 {quiet_p99:.2} ms \
         without churn ({quiet_n} samples), {churn_p99:.2} ms during churn ({churn_n} samples); \
         bridge before {baseline:?}, at each wave's peak {peaks:?}, after each wave {after_waves:?}"
    );
    assert!(
        quiet_n >= 100 && churn_n >= 100,
        "{quiet_n} / {churn_n} samples"
    );
    // RSS: the allocator keeps some of a wave's memory for the next one, so
    // later waves must not add to what the first left (no leak per wave).
    let first = after_waves[0].rss_kb;
    let last = after_waves[waves - 1].rss_kb;
    assert!(
        last <= first + first / 20,
        "RSS grew from {first} kB after the first wave to {last} kB after the last"
    );
}

/// `make soak` for 60 seconds (bench/soak.py: two 640x480 streams and 100
/// small topics ROS -> dora, 20 small topics dora -> ROS into a bag):
/// memory flat after the warm-up, every route's counters balanced, nothing
/// lost anywhere. The suite's binaries are debug builds, several times
/// slower than release: the rates are a fifth of `make soak`'s (6 Hz
/// images, 10 Hz small topics), which keeps the debug bridge at about a
/// third of a core on a machine that runs other tests too.
#[test]
fn a_60_second_soak_of_mixed_load_loses_nothing_and_holds_its_memory() {
    let _machine = exclusive();
    let s = Scenario::new(152);
    let report = soak(&s, &["--duration", "60", "--rate-scale", "0.2"]);
    assert!(s.path("soak/soak.csv").is_file() && s.path("soak/soak.png").is_file());
    eprintln!("{report}");
}

/// The same load with faults (bench/soak.py --faults): a ROS publisher
/// SIGKILLed and restarted, the dora sink SIGKILLed and restarted by dora,
/// then the dataflow stopped. Counters balance, the untouched direction
/// loses nothing, data resumes after each fault, and the bridge exits 0.
#[test]
fn faults_under_mixed_load_end_as_documented_with_balanced_counters() {
    let _machine = exclusive();
    let s = Scenario::new(153);
    let report = soak(&s, &["--duration", "40", "--faults", "--rate-scale", "0.2"]);
    eprintln!("{report}");
}

/// Runs bench/soak.py with this build's binaries; panics with its report
/// unless it passed.
fn soak(s: &Scenario, args: &[&str]) -> String {
    let debug_dir = std::path::PathBuf::from(bridge_bin())
        .parent()
        .expect("the target dir")
        .to_path_buf();
    let out = s
        .command("python3")
        .arg(repo_root().join("bench/soak.py"))
        .args(args)
        .args([
            "--interval",
            "5",
            "--domain",
            &s.domain.to_string(),
            "--bins",
        ])
        .arg(&debug_dir)
        .arg("--out")
        .arg(s.path("soak"))
        .output()
        .expect("bench/soak.py runs");
    let report = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{report}");
    report
}

/// `bag record --all` takes the live routes' receiver: topics of nodes
/// that left are unsubscribed, so waves of nodes leave no subscriptions,
/// fds or threads behind, and what stays is recorded whole.
#[test]
fn bag_record_all_under_graph_churn_keeps_subscriptions_and_fds_flat() {
    let _machine = exclusive();
    let s = Scenario::new(157);
    let (nodes, waves, up) = (50usize, 2usize, 4u64);
    let mut source_cmd = s.command(example_bin("rcl_load_source"));
    source_cmd.args(["/steady/t", "1", "20", "60"]);
    let mut source = s.spawn("steady source", source_cmd);
    let out = p(&s.path("recorded"));
    let mut record_cmd = s.command(bridge_bin());
    record_cmd.args(["bag", "record", "-o", &out, "--all"]);
    let mut recorder = s.spawn("bag record", record_cmd);
    let context = |recorder: &Proc| format!("{}\n{}", dump(recorder), dump(&source));
    assert!(
        wait_until(Duration::from_secs(30), || count_lines(
            &recorder,
            "subscribed to /steady/t000"
        ) == 1),
        "{}",
        context(&recorder)
    );
    let baseline = holdings(recorder.pid()).expect("the recorder's /proc");
    for wave in 0..waves {
        let mut churn_cmd = s.command(example_bin("rcl_churn"));
        churn_cmd.args(["/churn/t", &nodes.to_string(), "1", &up.to_string(), "0"]);
        let mut churn = s.spawn("churn", churn_cmd);
        let subscribed = nodes * (wave + 1);
        assert!(
            wait_until(Duration::from_secs(up + 30), || count_lines(
                &recorder,
                "subscribed to /churn/"
            ) >= subscribed),
            "{} of {subscribed} churn topics subscribed\n{}",
            count_lines(&recorder, "subscribed to /churn/"),
            context(&recorder)
        );
        assert!(
            churn
                .wait_exit(Duration::from_secs(up + 60))
                .is_some_and(|status| status.success()),
            "{}",
            dump(&churn)
        );
        let cleaned_up = wait_until(Duration::from_secs(30), || {
            count_lines(&recorder, "has had no publisher") >= subscribed
                && holdings(recorder.pid())
                    .is_some_and(|h| h.fds <= baseline.fds && h.threads <= baseline.threads)
        });
        let now = holdings(recorder.pid());
        assert!(
            cleaned_up,
            "after wave {wave}: {} of {subscribed} unsubscribed, {now:?} against {baseline:?}\n{}",
            count_lines(&recorder, "has had no publisher"),
            context(&recorder)
        );
    }
    recorder.signal("INT");
    assert!(
        recorder
            .wait_exit(Duration::from_secs(30))
            .is_some_and(|status| status.success()),
        "{}",
        context(&recorder)
    );
    source.stop();
    assert!(
        recorder
            .output()
            .iter()
            .any(|l| l.contains("lost in DDS: 0")),
        "{}",
        dump(&recorder)
    );
    let got = read_with_rosbags(&s, &out);
    let steady = got["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["topic"] == "/steady/t000")
        .count();
    assert!(steady > 0, "{}", dump(&recorder));
    for k in 0..nodes {
        let topic = format!("/churn/t{k:03}");
        assert!(got["topics"][&topic].is_object(), "{topic} not in the bag");
    }
}
