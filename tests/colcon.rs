//! `colcon build` of a ROS workspace whose `src/` holds this repository
//! installs the binary where `ros2 run` looks, with config/ and launch/.

mod common;
use common::*;
use std::process::Command;

#[test]
fn colcon_build_installs_the_package() {
    require_workbench();
    let ws = tempfile::tempdir().unwrap();
    std::fs::create_dir(ws.path().join("src")).unwrap();
    std::os::unix::fs::symlink(repo_root(), ws.path().join("src/ros2_dora_bridge")).unwrap();
    // colcon-ros-cargo builds into <build base>/<package>. Pointing that at
    // the cargo target dir the test suite was built in (when known) reuses
    // its compiled dependencies instead of compiling everything again.
    let build_base = ws.path().join("build");
    std::fs::create_dir(&build_base).unwrap();
    if let Some(target) = std::env::var_os("CARGO_TARGET_DIR") {
        std::os::unix::fs::symlink(target, build_base.join("ros2_dora_bridge")).unwrap();
    }
    let out = Command::new("colcon")
        .current_dir(ws.path())
        .args([
            "build",
            "--event-handlers",
            "console_direct-",
            "--build-base",
        ])
        .arg(&build_base)
        .output()
        .expect("colcon runs");
    let log = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "colcon build failed:\n{log}");
    let install = ws.path().join("install/ros2_dora_bridge");
    let binary = install.join("lib/ros2_dora_bridge/ros2-dora-bridge");
    // A package.xml that catkin_pkg cannot parse makes colcon fall back to a
    // plain cargo build into install/<pkg>/bin: check the ament layout.
    assert!(
        binary.is_file(),
        "no binary at {}:\n{log}",
        binary.display()
    );
    assert!(
        !install.join("bin/ros2-dora-bridge").exists(),
        "plain cargo install layout:\n{log}"
    );
    for shared in [
        "share/ros2_dora_bridge/package.xml",
        "share/ros2_dora_bridge/config/example.yaml",
        "share/ros2_dora_bridge/config/fastdds_large_messages.xml",
        "share/ros2_dora_bridge/launch/bridge.launch.py",
        "share/ament_index/resource_index/packages/ros2_dora_bridge",
    ] {
        assert!(
            install.join(shared).exists(),
            "{shared} not installed:\n{log}"
        );
    }
    let help = Command::new(&binary).arg("--help").output().unwrap();
    assert!(help.status.success());
    assert!(String::from_utf8_lossy(&help.stdout).contains("ros2-dora-bridge"));
}
