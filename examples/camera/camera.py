"""rclpy camera: publishes RATE Hz 640x480 rgb8 frames on /camera/image_raw
(frame N in header.stamp), checks every processed frame that comes back on
/camera/processed pixel for pixel (255 - the frame it sent), and prints
each check and each /cmd_vel.

    python camera.py [--frames N] [--rate HZ] [--width W --height H]
Exits 0 once N processed frames checked exact, 1 on a wrong pixel.
"""
import argparse
import sys

import numpy as np
import rclpy
from geometry_msgs.msg import Twist
from rclpy.executors import ExternalShutdownException
from rclpy.qos import QoSProfile
from sensor_msgs.msg import Image


def frame(n: int, height: int, width: int) -> np.ndarray:
    """Frame n: a diagonal ramp that moves, brighter on one side every other second."""
    y, x = np.mgrid[0:height, 0:width]
    red = (x + y + n) % 256
    green = np.where(x < width // 2, 40, 200) if (n // 30) % 2 else np.where(x < width // 2, 200, 40)
    blue = np.full_like(x, n % 256)
    return np.stack([red, green, blue], axis=-1).astype(np.uint8)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--frames", type=int, default=60)
    parser.add_argument("--rate", type=float, default=30.0)
    parser.add_argument("--width", type=int, default=640)
    parser.add_argument("--height", type=int, default=480)
    args, ros_args = parser.parse_known_args()
    rclpy.init(args=[sys.argv[0], *ros_args])
    node = rclpy.create_node("camera")
    publisher = node.create_publisher(Image, "/camera/image_raw", QoSProfile(depth=10))
    state = {"sent": 0, "checked": 0, "turns": 0, "failed": False}

    def publish():
        n = state["sent"]
        msg = Image(height=args.height, width=args.width, encoding="rgb8", step=args.width * 3)
        msg.header.frame_id = "camera"
        msg.header.stamp.sec, msg.header.stamp.nanosec = n // 1000, n % 1000
        msg.data = frame(n, args.height, args.width).tobytes()
        publisher.publish(msg)
        state["sent"] += 1

    def processed(msg: Image):
        n = msg.header.stamp.sec * 1000 + msg.header.stamp.nanosec
        got = np.frombuffer(bytes(msg.data), np.uint8).reshape(msg.height, msg.width, 3)
        if msg.encoding != "rgb8" or not np.array_equal(got, 255 - frame(n, args.height, args.width)):
            print(f"camera: processed frame {n} is WRONG", flush=True)
            state["failed"] = True
            return
        state["checked"] += 1
        print(f"camera: processed frame {n} exact ({msg.width}x{msg.height}, frame_id {msg.header.frame_id})", flush=True)

    def cmd_vel(msg: Twist):
        state["turns"] += 1
        if state["turns"] % 10 == 1:
            print(f"camera: cmd_vel linear.x={msg.linear.x:.2f} angular.z={msg.angular.z:+.3f}", flush=True)

    node.create_subscription(Image, "/camera/processed", processed, QoSProfile(depth=10))
    node.create_subscription(Twist, "/cmd_vel", cmd_vel, QoSProfile(depth=10))
    node.create_timer(1.0 / args.rate, publish)
    try:
        while rclpy.ok() and state["checked"] < args.frames and not state["failed"]:
            rclpy.spin_once(node, timeout_sec=0.1)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        node.destroy_node()
        rclpy.try_shutdown()
    print(f"camera: {state['checked']} processed frames exact, {state['turns']} cmd_vel", flush=True)
    sys.exit(1 if state["failed"] or state["checked"] < args.frames else 0)


if __name__ == "__main__":
    main()
