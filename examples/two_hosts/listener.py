"""rclpy listener on `compute`: prints what arrives on /chatter_back."""
import sys

import rclpy
from rclpy.executors import ExternalShutdownException
from std_msgs.msg import String


def main():
    rclpy.init(args=sys.argv)
    node = rclpy.create_node("listener")
    node.create_subscription(
        String, "chatter_back", lambda msg: print(f"listener on compute heard: {msg.data}", flush=True), 10
    )
    try:
        rclpy.spin(node)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        node.destroy_node()
        rclpy.try_shutdown()


if __name__ == "__main__":
    main()
