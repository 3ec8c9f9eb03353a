//! A two-host test bed on one Linux machine, made and torn down by each
//! test: hosts `robot` and `compute` are network namespaces joined by a
//! bridge (in a third, `switch` namespace) on a private /24, each with its
//! own loopback (so ROS with `ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST` stays
//! on its host) and its own /dev/shm (a tmpfs in a private mount namespace,
//! so nothing crosses through shared memory). A long-lived holder process
//! per host owns those namespaces; every process of a host is started in
//! them with `nsenter`. A dora coordinator runs on `robot`, one daemon per
//! host. Needs root (CI runs as root); without it the test fails saying so.

use super::{Proc, Scenario};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

pub const HOSTS: [&str; 2] = ["robot", "compute"];

pub struct TwoHosts {
    /// Namespace names start with it: `r2d<domain>_robot`.
    prefix: String,
    subnet: u32,
    /// Per host: the holder process, whose namespaces the host's processes enter.
    holders: Vec<Proc>,
    /// Coordinator and daemons, stopped last.
    dora: Vec<Proc>,
}

fn ip(args: &[&str]) -> Result<(), String> {
    let out = Command::new("ip")
        .args(args)
        .output()
        .map_err(|e| format!("cannot run `ip`: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "`ip {}` failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

impl TwoHosts {
    /// The namespaces, addresses and holders; dora is started by
    /// [`start_dora`](Self::start_dora).
    pub fn new(s: &Scenario) -> Self {
        let prefix = format!("r2d{}", s.domain);
        let subnet = s.domain % 250;
        let mut bed = TwoHosts {
            prefix,
            subnet,
            holders: Vec::new(),
            dora: Vec::new(),
        };
        bed.remove_namespaces(); // leftovers of a run that was killed
        if let Err(e) = bed.make_network() {
            panic!(
                "cannot build the two-host test bed (network namespaces need root and iproute2; \
                 CI runs as root): {e}"
            );
        }
        for host in HOSTS {
            let mut cmd = s.command("ip");
            cmd.args(["netns", "exec", &bed.namespace(host)])
                .args(["unshare", "--mount", "--propagation", "private", "sh", "-c"])
                .arg("mount -t tmpfs -o size=512m tmpfs /dev/shm && echo ready && exec sleep infinity");
            let holder = s.spawn(&format!("{host} holder"), cmd);
            assert!(
                holder
                    .wait_for_line(Duration::from_secs(10), |l| l == "ready")
                    .is_some(),
                "host {host} did not come up: {:?}",
                holder.output()
            );
            bed.holders.push(holder);
        }
        bed
    }

    fn namespace(&self, host: &str) -> String {
        format!("{}_{host}", self.prefix)
    }

    /// The host's address on the link between the hosts.
    pub fn address(&self, host: &str) -> String {
        let index = HOSTS.iter().position(|h| *h == host).expect("known host") + 1;
        format!("10.200.{}.{index}", self.subnet)
    }

    fn make_network(&self) -> Result<(), String> {
        let switch = self.namespace("switch");
        ip(&["netns", "add", &switch])?;
        ip(&["-n", &switch, "link", "add", "br0", "type", "bridge"])?;
        ip(&["-n", &switch, "link", "set", "br0", "up"])?;
        for (i, host) in HOSTS.iter().enumerate() {
            let ns = self.namespace(host);
            let (outer, inner) = (
                format!("{}v{i}", self.prefix),
                format!("{}p{i}", self.prefix),
            );
            ip(&["netns", "add", &ns])?;
            ip(&[
                "link", "add", &outer, "type", "veth", "peer", "name", &inner,
            ])?;
            ip(&["link", "set", &outer, "netns", &switch])?;
            ip(&["-n", &switch, "link", "set", &outer, "master", "br0", "up"])?;
            ip(&["link", "set", &inner, "netns", &ns])?;
            ip(&["-n", &ns, "link", "set", &inner, "name", "eth0"])?;
            let address = format!("{}/24", self.address(host));
            ip(&["-n", &ns, "addr", "add", &address, "dev", "eth0"])?;
            ip(&["-n", &ns, "link", "set", "eth0", "up"])?;
            ip(&["-n", &ns, "link", "set", "lo", "up"])?;
        }
        Ok(())
    }

    /// A command run on `host` (its network, its /dev/shm), with the
    /// scenario's environment and directory.
    pub fn command(&self, s: &Scenario, host: &str, program: &str) -> Command {
        let index = HOSTS.iter().position(|h| *h == host).expect("known host");
        let mut cmd = s.command("nsenter");
        cmd.args(["-t", &self.holders[index].pid().to_string(), "-n", "-m"])
            .arg(format!("--wd={}", s.dir.path().display()))
            .args(["--", program]);
        cmd
    }

    /// A test helper script from tests/python run on `host`.
    pub fn python(&self, s: &Scenario, host: &str, script: &str, args: &[&str]) -> Proc {
        let mut cmd = self.command(s, host, "python");
        cmd.arg(super::python_script(script)).args(args);
        s.spawn(&format!("{script} on {host}"), cmd)
    }

    /// A coordinator on `robot` and a daemon per host, each daemon
    /// listening for the other on its own address (no multicast); waits
    /// until both registered. `auth`: the coordinator requires its token.
    pub fn start_dora(&mut self, s: &Scenario, auth: bool) {
        let coordinator_ip = self.address("robot");
        let mut cmd = self.command(s, "robot", "dora");
        cmd.args(["coordinator", "--interface", &coordinator_ip])
            .args(["--port", "6013", "--store", "memory"]);
        if auth {
            cmd.arg("--auth");
        }
        let coordinator = s.spawn("coordinator", cmd);
        let listening =
            coordinator.wait_for_line(Duration::from_secs(20), |l| l.contains("Listening on port"));
        assert!(
            listening.is_some(),
            "coordinator: {:?}",
            coordinator.output()
        );
        self.dora.push(coordinator);
        for host in HOSTS {
            let own = self.address(host);
            let mut cmd = self.command(s, host, "dora");
            cmd.args(["daemon", "--machine-id", host])
                .args(["--coordinator-addr", &coordinator_ip])
                .args(["--zenoh-listen", &format!("{own}:5456")]);
            if host == "compute" {
                cmd.args(["--zenoh-connect", &format!("tcp/{coordinator_ip}:5456")]);
            }
            let daemon = s.spawn(&format!("daemon {host}"), cmd);
            let connected = daemon.wait_for_line(Duration::from_secs(30), |l| {
                l.contains("Connected to dora-coordinator")
            });
            assert!(connected.is_some(), "daemon {host}: {:?}", daemon.output());
            self.dora.push(daemon);
        }
    }

    /// The daemon of `host`, e.g. to kill it.
    pub fn daemon(&self, host: &str) -> &Proc {
        let index = HOSTS.iter().position(|h| *h == host).expect("known host");
        &self.dora[1 + index]
    }

    /// `dora start --attach` of `yaml` from `robot`: the Proc streams every
    /// node's log lines and exits when the dataflow ends.
    pub fn dora_start(&self, s: &Scenario, yaml: &str) -> Proc {
        let path = s.write("dataflow.yml", yaml);
        let mut cmd = self.command(s, "robot", "dora");
        cmd.arg("start").arg(&path).args([
            "--coordinator-addr",
            &self.address("robot"),
            "--attach",
        ]);
        s.spawn("dora start", cmd)
    }

    /// `dora <args> --coordinator-addr <robot>` run on `robot`, to its end.
    pub fn dora_cli(&self, s: &Scenario, args: &[&str]) -> std::process::Output {
        let mut cmd = self.command(s, "robot", "dora");
        cmd.args(args)
            .args(["--coordinator-addr", &self.address("robot")])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        cmd.output().expect("dora cli")
    }

    /// Every process still in a host's network namespace.
    fn pids_in(&self, host: &str) -> Vec<String> {
        Command::new("ip")
            .args(["netns", "pids", &self.namespace(host)])
            .output()
            .map(|o| {
                String::from_utf8_lossy(&o.stdout)
                    .split_whitespace()
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default()
    }

    fn remove_namespaces(&self) {
        for host in HOSTS.iter().chain(&["switch"]) {
            let _ = ip(&["netns", "del", &self.namespace(host)]);
        }
    }
}

impl Drop for TwoHosts {
    fn drop(&mut self) {
        // Daemons first (they stop their nodes), then the coordinator.
        while let Some(mut proc) = self.dora.pop() {
            proc.stop();
        }
        // Whatever is left in the hosts (nodes of a killed daemon), by pid.
        let deadline = Instant::now() + Duration::from_secs(5);
        for host in HOSTS {
            for pid in self.pids_in(host) {
                let holder = self.holders.iter().any(|h| h.pid().to_string() == pid);
                if !holder {
                    let _ = Command::new("kill").args(["-9", &pid]).status();
                }
            }
        }
        for holder in &self.holders {
            holder.signal("KILL");
        }
        while HOSTS.iter().any(|h| !self.pids_in(h).is_empty()) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50)); // waiting for the kernel to reap
        }
        self.holders.clear();
        self.remove_namespaces();
    }
}
