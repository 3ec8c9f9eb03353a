//! The Python package for dora nodes (python/): its pytest suite against
//! this build of the bridge (the package reads its types from the binary),
//! and real dataflows in which a dora node written only with the package
//! reads and writes rclpy's messages.

mod common;
use common::*;
use std::process::Command;

#[test]
fn pytest_suite_passes_against_this_bridge() {
    require_workbench();
    let cache = tempfile::tempdir().unwrap();
    let output = Command::new("python")
        .args(["-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"])
        .current_dir(repo_root().join("python"))
        .env("ROS2_DORA_BRIDGE_BIN", bridge_bin())
        .env("XDG_CACHE_HOME", cache.path())
        .output()
        .expect("python -m pytest");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "pytest failed:\n{text}");
    assert!(text.contains(" passed"), "{text}");
}
