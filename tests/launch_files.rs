//! The launch files in `launch/` can only be checked structurally here (ROS
//! 2 launch has no PyPI wheels); their signal sequence is reproduced in
//! tests/shutdown.rs. Both must start the installed binary as a dora
//! dynamic node with a config, and end the launch when it exits.

mod common;
use common::*;
use std::process::Command;

fn facts() -> serde_json::Value {
    require_workbench();
    let out = Command::new("python")
        .arg(python_script("check_launch.py"))
        .arg(repo_root().join("launch/bridge.launch.xml"))
        .arg(repo_root().join("launch/bridge.launch.py"))
        .output()
        .expect("run check_launch.py");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("json")
}

#[test]
fn xml_launch_starts_the_bridge_as_a_dynamic_node_and_ends_with_it() {
    let f = &facts()["xml"];
    assert_eq!(f["root"], "launch");
    assert!(f["args"].get("config").is_some(), "{f}");
    assert_eq!(f["args"]["node_id"], "bridge");
    let nodes = f["nodes"].as_array().unwrap();
    assert_eq!(nodes.len(), 1, "{f}");
    let node = &nodes[0];
    assert_eq!(node["pkg"], "ros2_dora_bridge");
    assert_eq!(node["exec"], "ros2-dora-bridge");
    assert_eq!(node["on_exit"], "shutdown");
    let args = node["args"].as_str().unwrap();
    assert!(args.contains("--config $(var config)"), "{args}");
    assert!(args.contains("--dynamic $(var node_id)"), "{args}");
}

#[test]
fn python_launch_starts_the_bridge_as_a_dynamic_node_and_ends_with_it() {
    let f = &facts()["python"];
    assert!(
        f["functions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n == "generate_launch_description")
    );
    let declared: Vec<&str> = f["declared"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(
        declared.contains(&"config") && declared.contains(&"node_id"),
        "{f}"
    );
    let nodes = f["node_calls"].as_array().unwrap();
    assert_eq!(nodes.len(), 1, "{f}");
    let node = &nodes[0];
    assert_eq!(node["package"], "ros2_dora_bridge");
    assert_eq!(node["executable"], "ros2-dora-bridge");
    let args = node["arguments"].as_array().unwrap();
    assert_eq!(args[0], "--config");
    assert_eq!(args[2], "--dynamic");
    assert_eq!(
        f["shutdown_on_exit"], true,
        "the launch must end when the bridge exits"
    );
}

#[test]
fn the_executable_the_launch_files_name_exists_with_the_flags_they_pass() {
    // `ros2-dora-bridge --help` documents --config and --dynamic.
    let out = Command::new(bridge_bin()).arg("--help").output().unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(
        help.contains("--config") && help.contains("--dynamic"),
        "{help}"
    );
}
