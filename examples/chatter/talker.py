"""rclpy talker: publishes `hello world N` on /chatter at 2 Hz."""
import sys

import rclpy
from rclpy.executors import ExternalShutdownException
from std_msgs.msg import String


def main():
    rclpy.init(args=sys.argv)
    node = rclpy.create_node("talker")
    pub = node.create_publisher(String, "chatter", 10)
    count = 0

    def tick():
        nonlocal count
        count += 1
        pub.publish(String(data=f"hello world {count}"))
        node.get_logger().info(f"published: hello world {count}")

    node.create_timer(0.5, tick)
    try:
        rclpy.spin(node)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        node.destroy_node()
        rclpy.try_shutdown()


if __name__ == "__main__":
    main()
