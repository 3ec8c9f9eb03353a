"""Test helper, a real rclpy subscriber that keeps everything and looks at
the bytes: reliable, keep-all, raw (rclpy hands over the serialized
message as it came from the middleware).

  python ros_sub_raw.py TOPIC:TYPE [TOPIC:TYPE ...]

Prints "ready" once subscribed, then one JSON line per message:
  {"topic": TOPIC, "hex": <the CDR bytes in hex>}
"""
import json
import sys

import rclpy
from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy

from ros_node import message_class, spin_until_stopped


def main():
    rclpy.init()
    node = rclpy.create_node("raw_subscriber")
    qos = QoSProfile(history=HistoryPolicy.KEEP_ALL, depth=1, reliability=ReliabilityPolicy.RELIABLE)
    for spec in sys.argv[1:]:
        topic, type_name = spec.rsplit(":", 1)
        node.create_subscription(
            message_class(type_name),
            topic,
            lambda raw, topic=topic: print(json.dumps({"topic": topic, "hex": bytes(raw).hex()}), flush=True),
            qos,
            raw=True,
        )
    print("ready", flush=True)
    spin_until_stopped(node)


if __name__ == "__main__":
    main()
