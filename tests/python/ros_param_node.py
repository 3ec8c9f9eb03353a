"""Test helper, a real rclpy node with declared parameters:
`ros_param_node.py NAME` declares gain (double 1.5), mode (string "auto"),
limits (double[] [0.5, 2.0]) and robot_id (integer 7, read-only), prints
(flushed) `ready` once its parameter services are up, then spins."""
import sys

import rclpy
from rcl_interfaces.msg import ParameterDescriptor
from rclpy.executors import ExternalShutdownException
from rclpy.node import Node


def main():
    rclpy.init()
    node = Node(sys.argv[1])
    node.declare_parameter("gain", 1.5)
    node.declare_parameter("mode", "auto")
    node.declare_parameter("limits", [0.5, 2.0])
    node.declare_parameter("robot_id", 7, ParameterDescriptor(read_only=True))
    print("ready", flush=True)
    try:
        rclpy.spin(node)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass


if __name__ == "__main__":
    main()
