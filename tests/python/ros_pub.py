"""Test helper, a real rclpy publisher.

  python ros_pub.py TOPIC TYPE JSON [RATE] [options]

Publishes the message given as JSON (field -> value, nested dicts for nested
messages; `@FILE` reads it from FILE, for messages too large for an argument) on TOPIC at RATE Hz (default 10) until interrupted, printing
`published N` lines. Options:
  --qos best_effort|transient_local|reliable   publisher QoS (default reliable)
  --count N        publish N messages, then keep the node alive idle
  --burst          publish the N messages back to back, not at RATE
  --garbage-every K  every K-th message is raw garbage bytes instead of CDR
  --node NAME      node name (default test_publisher)
"""
import argparse
import json

import rclpy
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
from rclpy.serialization import serialize_message

from ros_node import fill, message_class, spin_until_stopped




def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("topic")
    parser.add_argument("type")
    parser.add_argument("json")
    parser.add_argument("rate", nargs="?", type=float, default=10.0)
    parser.add_argument("--qos", default="reliable")
    parser.add_argument("--count", type=int, default=0)
    parser.add_argument("--burst", action="store_true")
    parser.add_argument("--garbage-every", type=int, default=0)
    parser.add_argument("--node", default="test_publisher")
    args = parser.parse_args()

    rclpy.init()
    node = rclpy.create_node(args.node)
    cls = message_class(args.type)
    qos = QoSProfile(depth=max(10, args.count if args.burst else 10))
    if args.qos == "best_effort":
        qos.reliability = ReliabilityPolicy.BEST_EFFORT
    elif args.qos == "transient_local":
        qos.durability = DurabilityPolicy.TRANSIENT_LOCAL
    pub = node.create_publisher(cls, args.topic, qos)
    text = open(args.json[1:]).read() if args.json.startswith("@") else args.json
    msg = fill(cls(), json.loads(text))
    good = serialize_message(msg)
    count = 0

    def publish_one():
        nonlocal count
        count += 1
        if args.garbage_every and count % args.garbage_every == 0:
            # Valid encapsulation header, then a string length far past the end.
            pub.publish(b"\x00\x01\x00\x00\xff\xff\xff\x7fgarbage")
        else:
            pub.publish(good)
        print(f"published {count}", flush=True)

    if args.burst:
        # Volatile data sent before a subscriber has matched is lost: wait
        # for one (30 s at most).
        import time

        deadline = time.monotonic() + 30
        while pub.get_subscription_count() == 0 and time.monotonic() < deadline:
            rclpy.spin_once(node, timeout_sec=0.05)
        print(f"matched {pub.get_subscription_count()}", flush=True)
        for _ in range(args.count):
            publish_one()
    else:

        def tick():
            if args.count and count >= args.count:
                return
            publish_one()

        node.create_timer(1.0 / args.rate, tick)
    spin_until_stopped(node)


if __name__ == "__main__":
    main()
