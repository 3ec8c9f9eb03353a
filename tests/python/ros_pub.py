"""Test helper, a real rclpy publisher.

Publishes the message given as JSON (field -> value, nested dicts for nested
messages) on TOPIC at RATE Hz until interrupted, printing `published N` lines.
  python ros_pub.py TOPIC TYPE JSON [RATE]
"""
import importlib
import json
import sys

import rclpy
from rclpy.executors import ExternalShutdownException


def message_class(type_name):
    pkg, kind, name = type_name.split("/")
    return getattr(importlib.import_module(f"{pkg}.{kind}"), name)


def fill(msg, values):
    for key, value in values.items():
        current = getattr(msg, key)
        if isinstance(value, dict):
            fill(current, value)
        else:
            setattr(msg, key, value)
    return msg


def main():
    topic, type_name, values = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
    rate = float(sys.argv[4]) if len(sys.argv) > 4 else 10.0
    rclpy.init()
    node = rclpy.create_node("test_publisher")
    cls = message_class(type_name)
    pub = node.create_publisher(cls, topic, 10)
    msg = fill(cls(), values)
    count = 0

    def tick():
        nonlocal count
        pub.publish(msg)
        count += 1
        print(f"published {count}", flush=True)

    node.create_timer(1.0 / rate, tick)
    try:
        rclpy.spin(node)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        node.destroy_node()
        rclpy.try_shutdown()


if __name__ == "__main__":
    main()
