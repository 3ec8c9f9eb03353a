"""Test helper, an rclpy node in simulated time (use_sim_time true).

Prints its ROS clock every 0.1 s of wall time as JSON lines
  {"t": wall time, "now_ns": the node's clock}
(0 until something publishes /clock).
"""
import json
import time

import rclpy
from rclpy.parameter import Parameter


def main():
    rclpy.init()
    node = rclpy.create_node(
        "sim_time_node", parameter_overrides=[Parameter("use_sim_time", value=True)]
    )
    try:
        while True:
            rclpy.spin_once(node, timeout_sec=0.1)
            now = node.get_clock().now().nanoseconds
            print(json.dumps({"t": time.time(), "now_ns": now}), flush=True)
    except KeyboardInterrupt:
        pass
    finally:
        node.destroy_node()
        rclpy.try_shutdown()


if __name__ == "__main__":
    main()
