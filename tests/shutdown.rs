//! Stop(Manual) both ways and not outliving the launcher: `dora stop` and
//! Ctrl-C on `dora run` take the bridge out of the ROS graph fast; SIGINT
//! to the bridge (once or twice, as ROS launch sends it) stops the whole
//! dataflow under `dora run` and under a coordinator (`dora start`, and as a
//! dynamic node); killing the bridge's parent does not leave it running.

mod common;
use common::*;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

fn config(s: &Scenario) -> String {
    p(&s.write(
        "bridge.yaml",
        "from_ros:\n  - {topic: /chatter, type: std_msgs/msg/String, output: chatter}\n\
         shutdown:\n  on_signal: stop_dataflow\n",
    ))
}

/// Bridge (spawned, or `dynamic`) + a recorder that keeps a timer input
/// open, so only a real stop ends it.
fn dataflow_yaml(s: &Scenario, bridge_path: &str) -> String {
    let mut bridge = Node::new("bridge", bridge_path).output("chatter");
    if bridge_path != "dynamic" {
        bridge = bridge.args(&format!("--config {}", config(s)));
    }
    let recorder = s
        .recorder()
        .input("chatter", "bridge/chatter")
        .input("tick", "dora/timer/millis/100");
    Dataflow::new().node(bridge).node(recorder).yaml()
}

fn json(l: &str) -> Option<serde_json::Value> {
    serde_json::from_str(l).ok()
}

/// Waits for the ROS graph watcher to show `/bridge` present or absent;
/// returns the time it saw that.
fn wait_bridge_in_graph(graph: &Proc, present: bool, after: f64) -> Option<f64> {
    let line = graph.wait_for_line(Duration::from_secs(60), |l| {
        json(l).is_some_and(|v| {
            v["t"].as_f64().unwrap_or(0.0) > after
                && v["nodes"]
                    .as_array()
                    .is_some_and(|n| n.iter().any(|x| x == "/bridge") == present)
        })
    })?;
    json(&line)?["t"].as_f64()
}

fn wait_stop_manual(s: &Scenario, what: &str) {
    s.wait_for_record("received.jsonl", Duration::from_secs(30), |r| {
        r["event"] == "STOP" && r["id"] == "MANUAL"
    })
    .unwrap_or_else(|| {
        panic!(
            "{what}: the recorder got no Stop(Manual)\n{}",
            s.node_logs()
        )
    });
}

#[test]
fn ctrl_c_on_dora_run_takes_the_bridge_out_of_the_graph_within_1s() {
    let s = Scenario::new(68);
    let graph = s.python("graph", "ros_graph.py", &[]);
    let mut dora = s.dora_run(&dataflow_yaml(&s, bridge_bin()));
    wait_bridge_in_graph(&graph, true, 0.0)
        .unwrap_or_else(|| panic!("bridge never in the graph\n{}", dump(&dora)));
    let stop_at = now();
    dora.signal("INT");
    let gone = wait_bridge_in_graph(&graph, false, stop_at)
        .unwrap_or_else(|| panic!("bridge still in the graph\n{}", dump(&dora)));
    let status = dora.wait_exit(Duration::from_secs(30));
    eprintln!(
        "Ctrl-C on dora run -> bridge out of the ROS graph: {:.3} s",
        gone - stop_at
    );
    assert!(
        gone - stop_at < 1.0,
        "took {:.3} s (bound 1 s)",
        gone - stop_at
    );
    assert!(status.is_some_and(|s| s.success()), "{}", dump(&dora));
    assert!(
        dora.output()
            .iter()
            .any(|l| l.contains("bridge finished successfully")),
        "{}",
        dump(&dora)
    );
    wait_stop_manual(&s, "Ctrl-C");
}

fn sigint_bridge_under_dora_run(domain: u32, twice: bool) {
    let s = Scenario::new(domain);
    let graph = s.python("graph", "ros_graph.py", &[]);
    let mut dora = s.dora_run(&dataflow_yaml(&s, bridge_bin()));
    wait_bridge_in_graph(&graph, true, 0.0)
        .unwrap_or_else(|| panic!("bridge never in the graph\n{}", dump(&dora)));
    let pid = pid_of(&p(&s.path("bridge.yaml"))).expect("bridge pid");
    let signalled_at = now();
    kill(pid, "INT");
    if twice {
        std::thread::sleep(Duration::from_millis(50)); // launch's second SIGINT follows the first
        kill(pid, "INT");
    }
    wait_stop_manual(&s, "SIGINT to the bridge");
    let status = dora.wait_exit(Duration::from_secs(30));
    let ended = now() - signalled_at;
    assert!(
        status.is_some_and(|s| s.success()),
        "dataflow did not end with success\n{}",
        dump(&dora)
    );
    assert!(!alive(pid));
    eprintln!(
        "SIGINT{} to the bridge under dora run -> dataflow ended: {ended:.3} s",
        if twice { " x2" } else { "" }
    );
}

#[test]
fn sigint_to_the_bridge_under_dora_run_stops_every_node() {
    sigint_bridge_under_dora_run(69, false);
}

#[test]
fn two_sigints_to_the_bridge_under_dora_run_still_stop_cleanly() {
    sigint_bridge_under_dora_run(70, true);
}

/// `dora start --attach` on a private cluster; retried while the daemon
/// is still registering.
fn start_attached(s: &Scenario, cluster: &DoraCluster, yaml: &str) -> Proc {
    let path = s.write("dataflow.yml", yaml);
    let mut cmd = s.command("dora");
    cmd.args(["start", "--attach"]).arg(&path).env(
        "DORA_COORDINATOR_PORT",
        cluster.coordinator_port.to_string(),
    );
    s.spawn("dora start", cmd)
}

#[test]
fn sigint_to_the_bridge_under_dora_start_stops_the_dataflow() {
    let s = Scenario::new(71);
    let cluster = DoraCluster::start(&s, 16310);
    let graph = s.python("graph", "ros_graph.py", &[]);
    let mut start = start_attached(&s, &cluster, &dataflow_yaml(&s, bridge_bin()));
    wait_bridge_in_graph(&graph, true, 0.0).unwrap_or_else(|| {
        panic!(
            "bridge never in the graph\n{}\n{}",
            dump(&start),
            dump(&cluster.daemon)
        )
    });
    let pid = pid_of(&p(&s.path("bridge.yaml"))).expect("bridge pid");
    let t0 = Instant::now();
    kill(pid, "INT");
    std::thread::sleep(Duration::from_millis(50));
    kill(pid, "INT");
    let status = start.wait_exit(Duration::from_secs(30));
    eprintln!(
        "SIGINT x2 to the bridge under dora start -> dataflow ended: {:.3} s",
        t0.elapsed().as_secs_f64()
    );
    assert!(
        status.is_some_and(|s| s.success()),
        "dataflow did not end with success\n{}\n{}",
        dump(&start),
        dump(&cluster.daemon)
    );
    // Every node, the recorder included, was stopped manually.
    let records = std::fs::read_to_string(s.path("received.jsonl")).unwrap_or_default();
    assert!(
        records.contains("\"MANUAL\""),
        "{records}\n{}",
        dump(&cluster.daemon)
    );
}

#[test]
fn a_dynamic_bridge_under_launchs_signal_sequence_stops_the_dataflow_and_exits_0() {
    let s = Scenario::new(72);
    let cluster = DoraCluster::start(&s, 16320);
    let mut start = start_attached(&s, &cluster, &dataflow_yaml(&s, "dynamic"));
    assert!(
        cluster.wait_running(&s, Duration::from_secs(60)),
        "{}",
        dump(&start)
    );
    // What a ROS launch file does: start the bridge as its own process...
    let config = config(&s);
    let mut bridge = None;
    let deadline = Instant::now() + Duration::from_secs(60);
    while bridge.is_none() {
        let mut cmd = s.command(bridge_bin());
        cmd.args([
            "--config",
            &config,
            "--dynamic",
            "bridge",
            "--ros-args",
            "-r",
            "__node:=launched_bridge",
        ]);
        cluster.dynamic_node_env(&mut cmd);
        let mut proc = s.spawn("bridge", cmd);
        // The dataflow may not be registered yet: then the bridge exits at once.
        if proc
            .wait_for_line(Duration::from_secs(20), |l| {
                l.contains("bridging 1 from_ros")
            })
            .is_some()
        {
            bridge = Some(proc);
        } else {
            proc.wait_exit(Duration::from_secs(5));
            assert!(
                Instant::now() < deadline,
                "dynamic bridge never connected\n{}\n{}",
                dump(&proc),
                dump(&start)
            );
            std::thread::sleep(Duration::from_millis(500)); // retry after the dataflow registered
        }
    }
    let mut bridge = bridge.unwrap();
    assert!(
        !s.records("received.jsonl")
            .iter()
            .any(|r| r["event"] == "STOP"),
        "the dataflow stopped before the signal"
    );
    // ...and on Ctrl-C: SIGINT, SIGINT again, SIGTERM after 5 s (SIGKILL after 10 s).
    let t0 = Instant::now();
    bridge.signal("INT");
    std::thread::sleep(Duration::from_millis(50));
    bridge.signal("INT");
    let mut status = bridge.wait_exit(Duration::from_secs(5));
    if status.is_none() {
        bridge.signal("TERM");
        status = bridge.wait_exit(Duration::from_secs(5));
    }
    let took = t0.elapsed().as_secs_f64();
    eprintln!("launch signal sequence -> dynamic bridge exited: {took:.3} s");
    assert!(
        took < 5.0,
        "needed launch's SIGTERM: {took:.3} s\n{}",
        dump(&bridge)
    );
    assert!(status.is_some_and(|s| s.success()), "{}", dump(&bridge));
    let dataflow = start.wait_exit(Duration::from_secs(30));
    assert!(
        dataflow.is_some_and(|s| s.success()),
        "{}\n{}",
        dump(&start),
        dump(&cluster.daemon)
    );
    wait_stop_manual(&s, "launch sequence");
}

#[test]
fn killing_dora_run_does_not_leave_the_bridge_running() {
    // dora's own orphan guard SIGKILLs a `dora run` child within 0.5 s of
    // its parent's death; the ROS graph then forgets the bridge only after
    // its DDS lease (see docs/lifecycle.md).
    let s = Scenario::new(73);
    let graph = s.python("graph", "ros_graph.py", &[]);
    let dora = s.dora_run(&dataflow_yaml(&s, bridge_bin()));
    wait_bridge_in_graph(&graph, true, 0.0)
        .unwrap_or_else(|| panic!("bridge never in the graph\n{}", dump(&dora)));
    let pid = pid_of(&p(&s.path("bridge.yaml"))).expect("bridge pid");
    let t0 = Instant::now();
    kill(dora.pid(), "KILL");
    while alive(pid) && t0.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(20)); // polling /proc
    }
    assert!(!alive(pid), "the bridge outlived `dora run`");
    eprintln!(
        "dora run SIGKILLed -> bridge process gone: {:.3} s",
        t0.elapsed().as_secs_f64()
    );
    // The orphaned recorder is dora's business, not ours: clean it up.
    if let Some(recorder) = pid_of(&p(&s.path("received.jsonl"))) {
        kill(recorder, "KILL");
    }
}

#[test]
fn a_launcher_killed_outright_takes_the_bridge_with_it_cleanly() {
    // A ROS launch (or any parent) SIGKILLed: the bridge notices, leaves the
    // ROS graph cleanly and exits.
    let s = Scenario::new(74);
    let cluster = DoraCluster::start(&s, 16330);
    let graph = s.python("graph", "ros_graph.py", &[]);
    let start = start_attached(&s, &cluster, &dataflow_yaml(&s, "dynamic"));
    assert!(
        cluster.wait_running(&s, Duration::from_secs(60)),
        "{}",
        dump(&start)
    );
    let config = config(&s);
    let deadline = Instant::now() + Duration::from_secs(60);
    let (launcher, pid) = loop {
        let mut cmd = s.command("python");
        cmd.args([
            "-c",
            "import subprocess, sys; p = subprocess.Popen(sys.argv[1:]); print('child', p.pid, flush=True); p.wait()",
            bridge_bin(),
            "--config",
            &config,
            "--dynamic",
            "bridge",
        ]);
        cluster.dynamic_node_env(&mut cmd);
        let launcher = s.spawn("launcher", cmd);
        let pid: i32 = launcher
            .wait_for_line(Duration::from_secs(20), |l| l.starts_with("child "))
            .and_then(|l| l[6..].trim().parse().ok())
            .expect("launcher printed its child");
        if launcher
            .wait_for_line(Duration::from_secs(20), |l| {
                l.contains("ROS node /bridge is up")
            })
            .is_some()
        {
            break (launcher, pid);
        }
        assert!(
            Instant::now() < deadline,
            "dynamic bridge never connected\n{}",
            dump(&launcher)
        );
        std::thread::sleep(Duration::from_millis(500)); // retry after the dataflow registered
    };
    wait_bridge_in_graph(&graph, true, 0.0).expect("bridge in the graph");
    let killed_at = now();
    kill(launcher.pid(), "KILL");
    let gone = wait_bridge_in_graph(&graph, false, killed_at)
        .unwrap_or_else(|| panic!("bridge still in the ROS graph\n{}", dump(&launcher)));
    let t0 = Instant::now();
    while alive(pid) && t0.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(20)); // polling /proc
    }
    assert!(!alive(pid), "the bridge outlived its launcher");
    eprintln!(
        "launcher SIGKILLed -> bridge out of the ROS graph: {:.3} s",
        gone - killed_at
    );
    assert!(
        gone - killed_at < 1.0,
        "took {:.3} s (bound 1 s)",
        gone - killed_at
    );
}

#[test]
fn dora_stop_takes_the_bridge_out_of_the_graph_within_1s() {
    let s = Scenario::new(75);
    let cluster = DoraCluster::start(&s, 16340);
    let graph = s.python("graph", "ros_graph.py", &[]);
    let mut start = start_attached(&s, &cluster, &dataflow_yaml(&s, bridge_bin()));
    wait_bridge_in_graph(&graph, true, 0.0)
        .unwrap_or_else(|| panic!("bridge never in the graph\n{}", dump(&start)));
    let stop_at = now();
    let out = cluster
        .cli(&s, &["stop", "--all"])
        .output()
        .expect("dora stop");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let gone = wait_bridge_in_graph(&graph, false, stop_at)
        .unwrap_or_else(|| panic!("bridge still in the graph\n{}", dump(&start)));
    eprintln!(
        "dora stop -> bridge out of the ROS graph: {:.3} s",
        gone - stop_at
    );
    assert!(
        gone - stop_at < 1.0,
        "took {:.3} s (bound 1 s)",
        gone - stop_at
    );
    let status = start.wait_exit(Duration::from_secs(30));
    assert!(status.is_some_and(|s| s.success()), "{}", dump(&start));
    wait_stop_manual(&s, "dora stop");
}
