"""Test helper, a real rclpy subscriber.

Prints one JSON line per message received on TOPIC:
  {"t": wall-clock time, "message": <fields as JSON>}
  python ros_sub.py TOPIC TYPE [--latched]
With --latched the subscription is transient local (a late joiner of a
latched topic such as /tf_static).
"""
import json
import sys
import time

import rclpy
from rclpy.qos import DurabilityPolicy, QoSProfile

from ros_node import message_class, spin_until_stopped


def to_plain(value):
    if hasattr(value, "get_fields_and_field_types"):
        return {f: to_plain(getattr(value, f)) for f in value.get_fields_and_field_types()}
    if isinstance(value, (list, tuple)):
        return [to_plain(v) for v in value]
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, bytes):
        return list(value)
    return value


def main():
    topic, type_name = sys.argv[1], sys.argv[2]
    rclpy.init()
    node = rclpy.create_node("test_subscriber")
    qos = QoSProfile(depth=10)
    if "--latched" in sys.argv[3:]:
        qos.durability = DurabilityPolicy.TRANSIENT_LOCAL
    node.create_subscription(
        message_class(type_name),
        topic,
        lambda msg: print(json.dumps({"t": time.time(), "message": to_plain(msg)}), flush=True),
        qos,
    )
    print("ready", flush=True)
    spin_until_stopped(node)


if __name__ == "__main__":
    main()
