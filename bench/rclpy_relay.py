"""rclpy relay: /ping -> /pong, same type (String or Image)."""
import sys

import rclpy
from rclpy.executors import ExternalShutdownException
from rclpy.qos import QoSProfile
from sensor_msgs.msg import Image
from std_msgs.msg import String


def main():
    cls = String if sys.argv[1] == "std_msgs/msg/String" else Image
    rclpy.init()
    node = rclpy.create_node("rclpy_relay")
    qos = QoSProfile(depth=10)
    pub = node.create_publisher(cls, "/pong", qos)
    node.create_subscription(cls, "/ping", pub.publish, qos)
    try:
        rclpy.spin(node)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass


if __name__ == "__main__":
    main()
