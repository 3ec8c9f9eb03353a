//! Stopping the whole dataflow from inside one of its nodes, and noticing
//! when the process that launched the bridge is gone.
//!
//! dora has no node API to stop a dataflow (only its CLI/coordinator and the
//! `dora run` process can), so the bridge asks whoever can:
//! - spawned by `dora run`: the parent *is* the `dora run` process; a SIGINT
//!   to it is exactly a terminal Ctrl-C: every node gets `Stop(Manual)`.
//! - spawned by a daemon under `dora up` + `dora start`, or a dynamic node
//!   (e.g. started by a ROS launch file): `dora stop <dataflow id>` through
//!   the coordinator, at the address the daemon was started with.

use std::path::PathBuf;
use std::process::Stdio;

/// How this bridge process was launched, as far as stopping goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Launcher {
    /// A `dora run` process (pid).
    DoraRun(u32),
    /// Anything else: stop through the coordinator with this `dora` CLI and
    /// these extra arguments (coordinator address/port).
    Coordinator { cli: PathBuf, args: Vec<String> },
}

/// The command line of process `pid`, split at NULs.
fn cmdline(pid: u32) -> Option<Vec<String>> {
    let raw = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    Some(
        raw.split(|b| *b == 0)
            .filter(|s| !s.is_empty())
            .map(|s| String::from_utf8_lossy(s).into_owned())
            .collect(),
    )
}

/// Decides from the parent's command line. `parent_exe` is its executable:
/// the `dora` binary itself, or a Python interpreter when `dora` is the
/// PyPI wheel's console script (`python /venv/bin/dora run ...`).
pub fn launcher_from(
    parent_pid: u32,
    parent_cmdline: &[String],
    parent_exe: Option<PathBuf>,
) -> Launcher {
    let is_dora = |arg: &String| {
        std::path::Path::new(arg)
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with("dora"))
    };
    // The CLI is the first or (behind an interpreter and its flags) a
    // later argument; only look at the first few.
    let dora_at = parent_cmdline.iter().take(4).position(is_dora);
    let (subcommand, rest) = match dora_at {
        Some(i) => {
            let rest = &parent_cmdline[i + 1..];
            (
                rest.iter()
                    .find(|a| !a.starts_with('-'))
                    .map(String::as_str),
                rest,
            )
        }
        None => (None, &parent_cmdline[0..0]),
    };
    if subcommand == Some("run") {
        return Launcher::DoraRun(parent_pid);
    }
    let mut args = Vec::new();
    let cli = match (dora_at, subcommand) {
        (Some(i), Some("daemon")) => {
            // Reach the coordinator the daemon reports to.
            let mut it = rest.iter();
            while let Some(arg) = it.next() {
                let (key, inline) = match arg.split_once('=') {
                    Some((k, v)) => (k, Some(v.to_string())),
                    None => (arg.as_str(), None),
                };
                let flag = match key {
                    "-c" | "--coordinator-addr" => "--coordinator-addr",
                    "--coordinator-port" => "--coordinator-port",
                    _ => continue,
                };
                if let Some(value) = inline.or_else(|| it.next().cloned()) {
                    args.push(flag.to_string());
                    args.push(value);
                }
            }
            match (i, parent_exe) {
                (0, Some(exe)) => exe,
                _ => PathBuf::from(&parent_cmdline[i]),
            }
        }
        _ => PathBuf::from(
            std::env::var_os("ROS2_DORA_BRIDGE_DORA_CLI").unwrap_or_else(|| "dora".into()),
        ),
    };
    Launcher::Coordinator { cli, args }
}

pub fn detect_launcher() -> Launcher {
    let parent = std::os::unix::process::parent_id();
    let exe = std::fs::read_link(format!("/proc/{parent}/exe")).ok();
    launcher_from(parent, &cmdline(parent).unwrap_or_default(), exe)
}

/// Asks for the whole dataflow to stop. Returns at once: the answer is the
/// `Stop(Manual)` event that follows.
pub fn request_dataflow_stop(launcher: &Launcher, dataflow_id: &str) -> anyhow::Result<()> {
    match launcher {
        Launcher::DoraRun(pid) => {
            tracing::info!("asking `dora run` (pid {pid}) to stop the dataflow");
            send_sigint(*pid)
        }
        Launcher::Coordinator { cli, args } => {
            tracing::info!(
                "stopping dataflow {dataflow_id}: {} stop {dataflow_id} {}",
                cli.display(),
                args.join(" ")
            );
            let mut child = tokio::process::Command::new(cli)
                .arg("stop")
                .arg(dataflow_id)
                .args(args)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .kill_on_drop(false)
                .spawn()
                .map_err(|e| anyhow::anyhow!("cannot run `{} stop`: {e}", cli.display()))?;
            // `dora stop` waits for the dataflow, which waits for us: never
            // wait for it here, only report how it ended.
            tokio::spawn(async move {
                let stderr = child.stderr.take();
                let status = child.wait().await;
                let mut text = String::new();
                if let Some(mut err) = stderr {
                    use tokio::io::AsyncReadExt;
                    let _ = err.read_to_string(&mut text).await;
                }
                match status {
                    Ok(s) if s.success() => tracing::debug!("`dora stop` done"),
                    Ok(s) => tracing::warn!("`dora stop` ended with {s}: {}", text.trim()),
                    Err(e) => tracing::warn!("`dora stop`: {e}"),
                }
            });
            Ok(())
        }
    }
}

fn send_sigint(pid: u32) -> anyhow::Result<()> {
    let pid = rustix::process::Pid::from_raw(pid as i32)
        .ok_or_else(|| anyhow::anyhow!("invalid pid {pid}"))?;
    rustix::process::kill_process(pid, rustix::process::Signal::INT).map_err(|e| {
        anyhow::anyhow!(
            "cannot signal `dora run` (pid {}): {e}",
            pid.as_raw_nonzero()
        )
    })
}

/// Asks the kernel for SIGTERM (not dora's SIGKILL) when the launcher dies,
/// so the bridge still leaves the ROS graph cleanly: killed, its node would
/// linger in every peer's graph for the DDS lease (~20 s, seen).
/// `PR_SET_PDEATHSIG` fires when the *thread* that spawned us exits; dora
/// already relies on it (with SIGKILL), so this changes only the signal.
/// [`ParentWatch`] is the backstop for the race before this call.
pub fn terminate_with_parent() {
    tracing::debug!(
        "parent-death signal was {:?}",
        rustix::process::parent_process_death_signal()
    );
    if let Err(e) =
        rustix::process::set_parent_process_death_signal(Some(rustix::process::Signal::TERM))
    {
        tracing::debug!("cannot set the parent-death signal: {e}");
    }
}

/// Watches for the launching process to go away (the bridge is then
/// re-parented to init or a subreaper).
pub struct ParentWatch {
    parent: u32,
}

impl ParentWatch {
    pub fn new() -> Self {
        ParentWatch {
            parent: std::os::unix::process::parent_id(),
        }
    }

    pub fn parent_gone(&self) -> bool {
        std::os::unix::process::parent_id() != self.parent
    }
}

impl Default for ParentWatch {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split(' ').map(String::from).collect()
    }

    #[test]
    fn dora_run_is_stopped_by_signal() {
        assert_eq!(
            launcher_from(
                42,
                &args("/venv/bin/dora run dataflow.yml --stop-after 60s"),
                None
            ),
            Launcher::DoraRun(42)
        );
    }

    #[test]
    fn a_daemon_means_the_coordinator_it_reports_to() {
        let l = launcher_from(
            7,
            &args("dora daemon --quiet --coordinator-port 6213 -c 127.0.0.1"),
            Some("/venv/bin/dora".into()),
        );
        assert_eq!(
            l,
            Launcher::Coordinator {
                cli: "/venv/bin/dora".into(),
                args: args("--coordinator-port 6213 --coordinator-addr 127.0.0.1"),
            }
        );
        let l = launcher_from(7, &args("dora daemon --coordinator-port=7000"), None);
        assert_eq!(
            l,
            Launcher::Coordinator {
                cli: "dora".into(),
                args: args("--coordinator-port 7000"),
            }
        );
    }

    #[test]
    fn the_pypi_console_script_runs_under_python() {
        assert_eq!(
            launcher_from(
                42,
                &args("/venv/bin/python /venv/bin/dora run dataflow.yml"),
                Some("/usr/bin/python3.11".into())
            ),
            Launcher::DoraRun(42)
        );
        assert_eq!(
            launcher_from(
                7,
                &args("/venv/bin/python /venv/bin/dora daemon --coordinator-port 6213"),
                Some("/usr/bin/python3.11".into())
            ),
            Launcher::Coordinator {
                cli: "/venv/bin/dora".into(),
                args: args("--coordinator-port 6213"),
            }
        );
    }

    #[test]
    fn anything_else_uses_the_dora_cli_with_its_environment() {
        let l = launcher_from(
            1,
            &args("/usr/bin/python3 /opt/ros/bin/ros2 launch x"),
            None,
        );
        assert!(matches!(l, Launcher::Coordinator { ref args, .. } if args.is_empty()));
    }
}
