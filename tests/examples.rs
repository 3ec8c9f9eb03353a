//! The demos of examples/ as users run them (`make demo-*`): each run.sh
//! against this build, on a ROS domain of its own, must end with its OK
//! line. They are the dataflow tests of the Python package's service and
//! action helpers (examples/services, examples/actions).

mod common;
use common::*;
use std::process::Command;

fn run_demo(name: &str, domain: u32, ok_line: &str) {
    require_workbench();
    let bin_dir = std::path::Path::new(bridge_bin()).parent().unwrap();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let cache = tempfile::tempdir().unwrap();
    let output = Command::new("timeout")
        .arg("240")
        .arg(repo_root().join("examples").join(name).join("run.sh"))
        .env("PATH", path)
        .env("ROS_DOMAIN_ID", domain.to_string())
        .env("XDG_CACHE_HOME", cache.path())
        .env("ROS2_DORA_BRIDGE_BIN", bridge_bin())
        .output()
        .expect("run.sh");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "{name} demo failed:\n{text}");
    assert!(
        text.contains(ok_line),
        "{name} demo: no `{ok_line}`\n{text}"
    );
}

#[test]
fn chatter_demo() {
    run_demo(
        "chatter",
        93,
        "demo: OK, 5 upper-cased messages made the round trip",
    );
}

#[test]
fn services_demo() {
    run_demo(
        "services",
        94,
        "mode switches called from dora and 3 captures served by dora",
    );
}

#[test]
fn actions_demo() {
    run_demo(
        "actions",
        95,
        "demo: OK, the planner's goals succeeded and canceled through the bridge",
    );
}

#[test]
fn camera_demo() {
    run_demo(
        "camera",
        96,
        "demo: OK, 60 processed frames came back pixel-exact",
    );
}
