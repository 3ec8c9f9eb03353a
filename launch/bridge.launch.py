"""Start ros2_dora_bridge from a ROS 2 launch file, as a dora dynamic node.

The dataflow must declare the bridge node with `path: dynamic` and be running
(`dora up && dora start dataflow.yml`). The bridge exiting (dora stopped the
dataflow) shuts this launch down too.

  ros2 launch ros2_dora_bridge bridge.launch.py config:=/path/bridge.yaml node_id:=bridge
"""
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, EmitEvent, RegisterEventHandler
from launch.event_handlers import OnProcessExit
from launch.events import Shutdown
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node


def generate_launch_description():
    config = LaunchConfiguration("config")
    node_id = LaunchConfiguration("node_id")
    bridge = Node(
        package="ros2_dora_bridge",
        executable="ros2-dora-bridge",
        name="dora_bridge",
        arguments=["--config", config, "--dynamic", node_id],
        output="screen",
    )
    return LaunchDescription(
        [
            DeclareLaunchArgument("config", description="bridge config file (YAML)"),
            DeclareLaunchArgument("node_id", default_value="bridge", description="dora node id (path: dynamic)"),
            bridge,
            RegisterEventHandler(
                OnProcessExit(target_action=bridge, on_exit=[EmitEvent(event=Shutdown(reason="bridge exited"))])
            ),
        ]
    )
