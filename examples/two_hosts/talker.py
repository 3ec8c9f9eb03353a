"""rclpy talker on `robot`: publishes `hello N from robot` on /chatter at 5 Hz."""
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
        pub.publish(String(data=f"hello {count} from robot"))
        print(f"talker published: hello {count} from robot", flush=True)

    node.create_timer(0.2, tick)
    try:
        rclpy.spin(node)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        node.destroy_node()
        rclpy.try_shutdown()


if __name__ == "__main__":
    main()
