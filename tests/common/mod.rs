//! Harness for integration tests that drive real processes: rclpy nodes,
//! `dora run` dataflows and the bridge binary. Every scenario gets its own
//! ROS domain and temp dir, and keeps DDS and dora traffic on loopback, so
//! tests run in parallel. Waits are on conditions with timeouts, never sleeps.
#![allow(dead_code)]

mod dataflow;
pub mod hosts;
pub use dataflow::{Dataflow, Node};

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub fn bridge_bin() -> &'static str {
    env!("CARGO_BIN_EXE_ros2-dora-bridge")
}

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The variables Fast DDS reads its XML profile file from: FASTRTPS_ up to
/// 2.x (Jazzy), FASTDDS_ from 3.0 (Kilted). Tests set both.
pub const FASTDDS_PROFILE_VARIABLES: [&str; 2] = [
    "FASTRTPS_DEFAULT_PROFILES_FILE",
    "FASTDDS_DEFAULT_PROFILES_FILE",
];

/// `cmd` with `profile` as its Fast DDS profile file, whichever Fast DDS.
pub fn with_fastdds_profile(
    cmd: &mut Command,
    profile: impl AsRef<std::path::Path>,
) -> &mut Command {
    for variable in FASTDDS_PROFILE_VARIABLES {
        cmd.env(variable, profile.as_ref());
    }
    cmd
}

pub fn python_script(name: &str) -> PathBuf {
    repo_root().join("tests/python").join(name)
}

/// Fails early, with the fix, when the workbench env is not sourced.
pub fn require_workbench() {
    let ok = Command::new("python")
        .args(["-c", "import rclpy, dora, pyarrow"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    assert!(
        ok,
        "rclpy/dora/pyarrow not importable: run the tests with `make test`, \
         or `scripts/setup.sh && source .workbench/env.sh` first"
    );
}

/// A running child whose output lines are collected in the background.
pub struct Proc {
    pub name: String,
    child: Child,
    lines: Arc<Mutex<Vec<String>>>,
    notify: mpsc::Receiver<()>,
}

impl Proc {
    /// All lines so far (stdout and stderr interleaved).
    pub fn output(&self) -> Vec<String> {
        self.lines.lock().unwrap().clone()
    }

    /// Waits until a line satisfies `pred`; returns it.
    pub fn wait_for_line(&self, timeout: Duration, pred: impl Fn(&str) -> bool) -> Option<String> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(line) = self.output().into_iter().find(|l| pred(l)) {
                return Some(line);
            }
            let left = deadline.checked_duration_since(Instant::now())?;
            let _ = self
                .notify
                .recv_timeout(left.min(Duration::from_millis(200)));
        }
    }

    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    pub fn signal(&self, sig: &str) {
        let _ = Command::new("kill")
            .args([&format!("-{sig}"), &self.child.id().to_string()])
            .status();
    }

    /// Waits for exit; None on timeout.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            if Instant::now() > deadline {
                return None;
            }
            let _ = self.notify.recv_timeout(Duration::from_millis(50));
        }
    }

    /// SIGINT, then SIGKILL if it does not exit in time.
    pub fn stop(&mut self) -> Option<std::process::ExitStatus> {
        if let Ok(Some(status)) = self.child.try_wait() {
            return Some(status);
        }
        self.signal("INT");
        if let Some(status) = self.wait_exit(Duration::from_secs(20)) {
            return Some(status);
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        None
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.stop();
    }
}

/// One test's world: a ROS domain, a temp dir, the processes it started.
pub struct Scenario {
    pub domain: u32,
    pub dir: tempfile::TempDir,
}

impl Scenario {
    /// `domain` must be unique per test across the suite (0..=101 are safe
    /// with Fast DDS's default ports).
    pub fn new(domain: u32) -> Self {
        require_workbench();
        let mut dir = tempfile::tempdir().expect("temp dir");
        // For a post-mortem: logs, bags and dataflows stay behind.
        if std::env::var_os("ROS2_DORA_BRIDGE_KEEP_TEST_DIRS").is_some() {
            dir.disable_cleanup(true);
            eprintln!("test dir (kept): {}", dir.path().display());
        }
        Scenario { domain, dir }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.path(name);
        std::fs::write(&path, text).expect("write test file");
        path
    }

    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut cmd = Command::new(program);
        cmd.current_dir(self.dir.path())
            .env("ROS_DOMAIN_ID", self.domain.to_string())
            .env("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
            .env("DORA_ZENOH_MULTICAST", "off")
            .env("PYTHONUNBUFFERED", "1")
            .stdin(Stdio::null());
        // Where cargo had to be told another distro for r2r's build script
        // (see scripts/setup.sh), what runs under test sees the real one.
        if let Ok(distro) = std::env::var("ROS2_DORA_BRIDGE_ROS_DISTRO") {
            cmd.env("ROS_DISTRO", distro);
        }
        cmd
    }

    pub fn spawn(&self, name: &str, mut cmd: Command) -> Proc {
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
        let lines = Arc::new(Mutex::new(Vec::new()));
        let (tx, notify) = mpsc::channel();
        for stream in [
            child
                .stdout
                .take()
                .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
            child
                .stderr
                .take()
                .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
        ]
        .into_iter()
        .flatten()
        {
            let lines = lines.clone();
            let tx = tx.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    lines.lock().unwrap().push(line);
                    let _ = tx.send(());
                }
            });
        }
        Proc {
            name: name.to_string(),
            child,
            lines,
            notify,
        }
    }

    pub fn python(&self, name: &str, script: &str, args: &[&str]) -> Proc {
        let mut cmd = self.command("python");
        cmd.arg(python_script(script)).args(args);
        self.spawn(name, cmd)
    }

    /// `dora run` of a dataflow YAML written into the scenario dir.
    pub fn dora_run(&self, dataflow_yaml: &str) -> Proc {
        let path = self.write("dataflow.yml", dataflow_yaml);
        let mut cmd = self.command("dora");
        cmd.arg("run").arg(&path).args(["--stop-after", "120s"]);
        self.spawn("dora run", cmd)
    }

    /// The last lines each dora node logged (dora keeps them under `out/`),
    /// for failure messages.
    /// Every line dora logged of node `id` (messages only), all runs.
    pub fn node_log(&self, id: &str) -> String {
        let mut text = String::new();
        let Ok(runs) = std::fs::read_dir(self.path("out")) else {
            return text;
        };
        for run in runs.flatten() {
            // dora 1.1 writes `log_<id>.jsonl` (older releases `.txt`).
            let content = ["jsonl", "txt"]
                .iter()
                .find_map(|ext| {
                    std::fs::read_to_string(run.path().join(format!("log_{id}.{ext}"))).ok()
                })
                .unwrap_or_default();
            for line in content.lines() {
                let msg = serde_json::from_str::<serde_json::Value>(line)
                    .ok()
                    .and_then(|v| v["msg"].as_str().map(str::to_string))
                    .unwrap_or_else(|| line.to_string());
                text.push_str(&msg);
                text.push('\n');
            }
        }
        text
    }

    pub fn node_logs(&self) -> String {
        let mut text = String::new();
        let Ok(runs) = std::fs::read_dir(self.path("out")) else {
            return text;
        };
        for run in runs.flatten() {
            let Ok(files) = std::fs::read_dir(run.path()) else {
                continue;
            };
            for file in files.flatten() {
                let name = file.file_name().to_string_lossy().into_owned();
                if !name.starts_with("log_") {
                    continue;
                }
                let content = std::fs::read_to_string(file.path()).unwrap_or_default();
                let lines: Vec<&str> = content.lines().collect();
                text.push_str(&format!("--- {name} (last 40 lines) ---\n"));
                for line in &lines[lines.len().saturating_sub(40)..] {
                    let msg = serde_json::from_str::<serde_json::Value>(line)
                        .ok()
                        .and_then(|v| v["msg"].as_str().map(str::to_string))
                        .unwrap_or_else(|| line.to_string());
                    text.push_str(&msg);
                    text.push('\n');
                }
            }
        }
        text
    }

    /// `dora run` of the bridge (with `bridge_args`) feeding a recorder node
    /// that writes every input it gets to `received.jsonl`. Its inputs hold
    /// the bridge back rather than drop (the delivery the docs recommend
    /// for reliable routes), so what a test counts is what the bridge sent.
    pub fn bridge_to_recorder(&self, bridge_args: &str, outputs: &[&str]) -> Proc {
        self.bridge_to_recorder_with_inputs(bridge_args, outputs, &[])
    }

    /// As [`Self::bridge_to_recorder`], with inputs for the bridge
    /// (`(input id, source)`).
    pub fn bridge_to_recorder_with_inputs(
        &self,
        bridge_args: &str,
        outputs: &[&str],
        bridge_inputs: &[(&str, &str)],
    ) -> Proc {
        let bridge = bridge_inputs
            .iter()
            .fold(Node::bridge(bridge_args), |node, (id, source)| {
                node.input(id, source)
            })
            .outputs(outputs);
        let recorder = outputs.iter().fold(self.recorder(), |node, o| {
            node.lossless_input(o, &format!("bridge/{o}"), 10000)
        });
        self.dora_run(&Dataflow::new().node(bridge).node(recorder).yaml())
    }

    /// `dora_record.py`, writing every input it gets to `received.jsonl`.
    pub fn recorder(&self) -> Node {
        Node::python("recorder", "dora_record.py")
            .env("RECORD_FILE", p(&self.path("received.jsonl")))
    }

    /// Lines of a JSON-lines file written by `dora_record.py`.
    pub fn records(&self, file: &str) -> Vec<serde_json::Value> {
        std::fs::read_to_string(self.path(file))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }

    /// Waits until a record satisfies `pred`.
    pub fn wait_for_record(
        &self,
        file: &str,
        timeout: Duration,
        pred: impl Fn(&serde_json::Value) -> bool,
    ) -> Option<serde_json::Value> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(r) = self.records(file).into_iter().find(|r| pred(r)) {
                return Some(r);
            }
            if Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(50)); // polling a file, not hoping
        }
    }
}

/// The latest row of the bridge's stats output (recorded by
/// `dora_record.py` into `received.jsonl` under input id `stats`) for the
/// route whose name starts with `route`.
pub fn stats_row(s: &Scenario, route: &str) -> Option<serde_json::Value> {
    s.records("received.jsonl")
        .into_iter()
        .rev()
        .filter(|r| r["id"] == "stats")
        .find_map(|r| {
            r["value"]
                .as_array()?
                .iter()
                .find(|row| row["route"].as_str().is_some_and(|n| n.starts_with(route)))
                .cloned()
        })
}

/// Waits until the stats row of `route` satisfies `pred`.
pub fn wait_for_stats(
    s: &Scenario,
    route: &str,
    timeout: Duration,
    pred: impl Fn(&serde_json::Value) -> bool,
) -> Option<serde_json::Value> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(row) = stats_row(s, route).filter(|r| pred(r)) {
            return Some(row);
        }
        if Instant::now() > deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(100)); // polling a file
    }
}

/// The bridge started by this scenario's dataflow (dora runs nodes in the
/// dataflow's directory).
pub fn bridge_pid(s: &Scenario) -> Option<i32> {
    let dir = std::fs::canonicalize(s.path(".")).ok()?;
    std::fs::read_dir("/proc")
        .ok()?
        .flatten()
        .find_map(|entry| {
            let pid: i32 = entry.file_name().to_str()?.parse().ok()?;
            let exe = std::fs::read_link(entry.path().join("exe")).ok()?;
            let cwd = std::fs::read_link(entry.path().join("cwd")).ok()?;
            (exe == std::path::Path::new(bridge_bin()) && cwd == dir).then_some(pid)
        })
}

/// The bag at `path` as the independent `rosbags` library reads it
/// (tests/python/read_bag.py).
pub fn read_with_rosbags(s: &Scenario, path: &str) -> serde_json::Value {
    let read = s
        .command("python")
        .arg(python_script("read_bag.py"))
        .arg(path)
        .output()
        .expect("read_bag.py");
    assert!(
        read.status.success(),
        "rosbags cannot read {path}: {}",
        String::from_utf8_lossy(&read.stderr)
    );
    serde_json::from_slice(&read.stdout).expect("read_bag.py output")
}

/// A binary of this package's examples, built by `cargo test`.
pub fn example_bin(name: &str) -> PathBuf {
    PathBuf::from(bridge_bin())
        .parent()
        .expect("the target dir")
        .join("examples")
        .join(name)
}

/// What a process holds: open file descriptors, threads, resident memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Holdings {
    pub fds: usize,
    pub threads: usize,
    pub rss_kb: u64,
}

pub fn holdings(pid: i32) -> Option<Holdings> {
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd")).ok()?.count();
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| -> Option<u64> {
        status
            .lines()
            .find(|l| l.starts_with(name))?
            .split_whitespace()
            .nth(1)?
            .parse()
            .ok()
    };
    Some(Holdings {
        fds,
        threads: field("Threads:")? as usize,
        rss_kb: field("VmRSS:")?,
    })
}

/// Absolute path as a YAML-safe string.
pub fn p(path: &Path) -> String {
    path.display().to_string()
}

/// Dumps a process's output to the test log, for failure messages.
pub fn dump(proc: &Proc) -> String {
    format!("--- {} output ---\n{}", proc.name, proc.output().join("\n"))
}

/// A private `dora coordinator` + `dora daemon` pair on ports of its own
/// (what `dora up` starts, but parallel-safe), for `dora start` and
/// dynamic nodes.
pub struct DoraCluster {
    pub coordinator_port: u16,
    pub daemon_port: u16,
    pub coordinator: Proc,
    pub daemon: Proc,
}

impl DoraCluster {
    /// `port_base` must be unique per test (two ports from it are used).
    pub fn start(s: &Scenario, port_base: u16) -> Self {
        let coordinator_port = port_base;
        let daemon_port = port_base + 1;
        let mut cmd = s.command("dora");
        cmd.args(["coordinator", "--store", "memory", "--port"])
            .arg(coordinator_port.to_string());
        let coordinator = s.spawn("dora coordinator", cmd);
        let mut cmd = s.command("dora");
        cmd.args(["daemon", "--coordinator-port"])
            .arg(coordinator_port.to_string())
            .arg("--local-listen-port")
            .arg(daemon_port.to_string());
        let daemon = s.spawn("dora daemon", cmd);
        let cluster = DoraCluster {
            coordinator_port,
            daemon_port,
            coordinator,
            daemon,
        };
        // Ready when the daemon says it reached the coordinator.
        cluster
            .daemon
            .wait_for_line(Duration::from_secs(60), |l| {
                l.contains("Connected to dora-coordinator")
            })
            .unwrap_or_else(|| {
                panic!(
                    "dora cluster did not come up\n{}\n{}",
                    dump(&cluster.coordinator),
                    dump(&cluster.daemon)
                )
            });
        cluster
    }

    /// A `dora` CLI command aimed at this cluster.
    pub fn cli(&self, s: &Scenario, args: &[&str]) -> Command {
        let mut cmd = s.command("dora");
        cmd.args(args)
            .env("DORA_COORDINATOR_PORT", self.coordinator_port.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        cmd
    }

    /// Waits until `dora list` shows a running dataflow (dynamic nodes can
    /// connect only then).
    pub fn wait_running(&self, s: &Scenario, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Ok(out) = self.cli(s, &["list"]).output()
                && String::from_utf8_lossy(&out.stdout).contains("Running")
            {
                return true;
            }
            std::thread::sleep(Duration::from_millis(200)); // polling a CLI, not hoping
        }
        false
    }

    /// Env for a dynamic node connecting to this cluster's daemon.
    pub fn dynamic_node_env(&self, cmd: &mut Command) {
        cmd.env(
            "DORA_DAEMON_LOCAL_LISTEN_PORT",
            self.daemon_port.to_string(),
        )
        .env("DORA_COORDINATOR_PORT", self.coordinator_port.to_string());
    }
}

/// Newest process whose command line contains `pattern`.
pub fn pid_of(pattern: &str) -> Option<i32> {
    let out = Command::new("pgrep")
        .args(["-n", "-f", pattern])
        .output()
        .ok()?;
    String::from_utf8_lossy(&out.stdout).trim().parse().ok()
}

pub fn alive(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|stat| {
            // State field after the `(comm)`: Z = zombie, i.e. exited.
            stat.rsplit_once(')')
                .map(|(_, rest)| !rest.trim_start().starts_with('Z'))
                .unwrap_or(false)
        })
        .unwrap_or(false)
}

pub fn kill(pid: i32, sig: &str) {
    let _ = Command::new("kill")
        .args([&format!("-{sig}"), &pid.to_string()])
        .status();
}

/// Waits for a JSON line from `proc` matching `pred`.
pub fn wait_json(
    proc: &Proc,
    timeout: Duration,
    pred: impl Fn(&serde_json::Value) -> bool,
) -> Option<serde_json::Value> {
    proc.wait_for_line(timeout, |l| {
        serde_json::from_str::<serde_json::Value>(l).is_ok_and(|v| pred(&v))
    })
    .and_then(|l| serde_json::from_str(&l).ok())
}

/// Statuses in a DiagnosticArray line from ros_sub.py: (level, name, message).
pub fn statuses(v: &serde_json::Value) -> Vec<(u64, String, String)> {
    v["message"]["status"]
        .as_array()
        .map(|all| {
            all.iter()
                .map(|st| {
                    let level = st["level"]
                        .as_u64()
                        .or_else(|| st["level"][0].as_u64())
                        .unwrap_or(99);
                    (
                        level,
                        st["name"].as_str().unwrap_or("").to_string(),
                        st["message"].as_str().unwrap_or("").to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}
