"""Test helper, real rclpy endpoints for an end-to-end round trip.

For each TYPE given (index k), publishes one random message of that type on
/ping_k (again every PERIOD s until it comes back) and subscribes to /pong_k.
Prints `match k TYPE` when the message arriving on /pong_k equals the one
sent, `mismatch k TYPE ...` when it differs, and `all matched` once every
type has come back equal.
  python ros_pingpong.py PERIOD TYPE [TYPE ...]
"""
import random
import sys

import rclpy
from rclpy.qos import QoSProfile

from codec_roundtrip import random_message
from ros_node import message_class, spin_until_stopped
from ros_sub import to_plain


def main():
    period = float(sys.argv[1])
    types = sys.argv[2:]
    rclpy.init()
    node = rclpy.create_node("pingpong")
    rng = random.Random(7)
    qos = QoSProfile(depth=2)
    sent, matched, publishers = {}, set(), {}

    for k, type_name in enumerate(types):
        cls = message_class(type_name)
        if type_name == "sensor_msgs/msg/Image":
            msg = cls(height=2160, width=3840, encoding="rgb8", step=3840 * 3)
            msg.header.frame_id = "camera_4k"
            msg.data = bytes(rng.getrandbits(8) for _ in range(1024)) * (3840 * 2160 * 3 // 1024)
        else:
            msg = random_message(rng, cls, 4)
        sent[k] = msg
        publishers[k] = node.create_publisher(cls, f"/ping_{k}", qos)

        def on_pong(received, k=k, type_name=type_name):
            if k in matched:
                return
            if received == sent[k]:
                matched.add(k)
                print(f"match {k} {type_name}", flush=True)
                if len(matched) == len(types):
                    print("all matched", flush=True)
            else:
                print(f"mismatch {k} {type_name}: {str(to_plain(received))[:300]}", flush=True)

        node.create_subscription(cls, f"/pong_{k}", on_pong, qos)

    def tick():
        for k, pub in publishers.items():
            if k not in matched:
                pub.publish(sent[k])

    node.create_timer(period, tick)
    print("ready", flush=True)
    spin_until_stopped(node)


if __name__ == "__main__":
    main()
