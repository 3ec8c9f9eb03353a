"""Test helper, a real rclpy publisher of good and bad raw samples.

  python ros_pub_samples.py TOPIC TYPE JSON SEQUENCE [--subscribers N]

Waits until N subscriptions (default 1) have matched, then publishes
SEQUENCE, a comma-separated list of samples, reliably (keep all), and prints
`published N` after each and `done` at the end; then stays alive, idle, until
interrupted. Samples:
  good      the message given as JSON, serialized by rclpy
  raw:N     N bytes that are not a message (0 is an empty sample)
  trunc:N   the first N bytes of the good message
  goodxK    K good messages (a burst)
  wait:PATH wait until the file PATH exists (at most 60 s)
  sleep:MS  pause MS milliseconds
It prints `good HEX` first (the good sample's CDR, as rclpy serialized it).
Options: --node NAME (default sample_publisher), --depth N (keep last N
instead of keep all).
"""
import argparse
import json
import time

import rclpy
from rclpy.qos import HistoryPolicy, QoSProfile
from rclpy.serialization import serialize_message

from ros_node import fill, message_class, spin_until_stopped




class Wait:
    def __init__(self, path):
        self.path = path

    def __call__(self):
        import os

        deadline = time.monotonic() + 60
        while not os.path.exists(self.path) and time.monotonic() < deadline:
            time.sleep(0.02)


class Sleep:
    def __init__(self, ms):
        self.ms = ms

    def __call__(self):
        time.sleep(self.ms / 1000)


def samples(sequence, good):
    for item in sequence.split(","):
        kind, _, arg = item.partition(":")
        if kind == "good":
            yield good
        elif kind.startswith("goodx"):
            for _ in range(int(kind[5:])):
                yield good
        elif kind == "raw":
            # Not CDR: no encapsulation header a decoder could accept.
            yield bytes((0xA5 + i) % 256 for i in range(int(arg)))
        elif kind == "trunc":
            yield good[: int(arg)]
        elif kind == "wait":
            yield Wait(arg)
        elif kind == "sleep":
            yield Sleep(int(arg))
        else:
            raise SystemExit(f"unknown sample kind {item!r}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("topic")
    parser.add_argument("type")
    parser.add_argument("json")
    parser.add_argument("sequence")
    parser.add_argument("--subscribers", type=int, default=1)
    parser.add_argument("--node", default="sample_publisher")
    parser.add_argument("--depth", type=int, default=0)
    args = parser.parse_args()

    rclpy.init()
    node = rclpy.create_node(args.node)
    cls = message_class(args.type)
    if args.depth:
        qos = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=args.depth)
    else:
        qos = QoSProfile(history=HistoryPolicy.KEEP_ALL, depth=1)
    pub = node.create_publisher(cls, args.topic, qos)
    good = serialize_message(fill(cls(), json.loads(args.json)))
    print(f"good {good.hex()}", flush=True)
    deadline = time.monotonic() + 30
    while pub.get_subscription_count() < args.subscribers and time.monotonic() < deadline:
        rclpy.spin_once(node, timeout_sec=0.05)
    print(f"matched {pub.get_subscription_count()}", flush=True)
    count = 0
    for sample in samples(args.sequence, good):
        if isinstance(sample, (Wait, Sleep)):
            sample()
            continue
        pub.publish(sample)
        count += 1
        print(f"published {count}", flush=True)
    print("done", flush=True)
    spin_until_stopped(node)


if __name__ == "__main__":
    main()
