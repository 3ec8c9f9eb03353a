"""Test and bench helper, real rclpy endpoints sending bursts through a
round trip (ROS -> bridge -> dora -> bridge -> ROS) and counting what
comes back.

  python ros_burst.py ROUNDS COUNTS TYPE [TYPE ...]

For each TYPE (index k) publishes on /burst_k and subscribes to /back_k,
both reliable and keep-all (so that rclpy itself loses nothing). First a
warm-up: one message per topic, again every 0.5 s until it came back. Then
ROUNDS rounds; in each, for every count N in COUNTS (comma-separated), N
random messages per topic are published back to back, interleaved across
topics, and the helper waits until every one came back (at most 60 s), or
until nothing more arrived for 10 s. Prints
  ready                              once its endpoints exist
  warm                               after the warm-up
  round R xN sent S back B           per round and count (S = B: lossless)
  lost R xN k TYPE got G of N        per topic that came back short
  done sent S back B                 at the end
"""
import random
import sys
import time

import rclpy
from rclpy.qos import HistoryPolicy, QoSProfile
from rclpy.serialization import serialize_message

from codec_roundtrip import random_message
from ros_node import message_class, spin_until_stopped


def main():
    rounds = int(sys.argv[1])
    counts = [int(c) for c in sys.argv[2].split(",")]
    types = sys.argv[3:]
    rclpy.init()
    node = rclpy.create_node("burst")
    rng = random.Random(14)
    qos = QoSProfile(history=HistoryPolicy.KEEP_ALL, depth=1)
    back = [0] * len(types)
    publishers, samples = [], []

    def on_back(k):
        def callback(_raw):
            back[k] += 1

        return callback

    for k, type_name in enumerate(types):
        cls = message_class(type_name)
        publishers.append(node.create_publisher(cls, f"/burst_{k}", qos))
        node.create_subscription(cls, f"/back_{k}", on_back(k), qos, raw=True)
        samples.append([serialize_message(random_message(rng, cls, rng.choice([2, 5, 100]))) for _ in range(8)])
    print("ready", flush=True)

    def spin_until(done, timeout, quiet=None):
        deadline = time.monotonic() + timeout
        last_total, last_change = sum(back), time.monotonic()
        while not done() and time.monotonic() < deadline:
            rclpy.spin_once(node, timeout_sec=0.02)
            if sum(back) != last_total:
                last_total, last_change = sum(back), time.monotonic()
            elif quiet and time.monotonic() - last_change > quiet:
                return

    # Warm-up: every route carries one message end to end (120 s at most).
    next_send = 0.0
    warm_deadline = time.monotonic() + 120
    while min(back) == 0:
        if time.monotonic() > warm_deadline:
            cold = [k for k, b in enumerate(back) if b == 0]
            print(f"warm-up failed: nothing came back on {cold}", flush=True)
            sys.exit(1)
        if time.monotonic() >= next_send:
            for k, pub in enumerate(publishers):
                if back[k] == 0:
                    pub.publish(samples[k][0])
            next_send = time.monotonic() + 0.5
        rclpy.spin_once(node, timeout_sec=0.02)
    # Late copies of the warm-up message may still come: let them.
    spin_until(lambda: False, 1.0)
    print("warm", flush=True)

    sent_total = back_total = 0
    for r in range(1, rounds + 1):
        for n in counts:
            start = list(back)
            for i in range(n):
                for k, pub in enumerate(publishers):
                    pub.publish(samples[k][i % len(samples[k])])
            expected = [s + n for s in start]
            spin_until(lambda: all(b >= e for b, e in zip(back, expected)), 60, quiet=10)
            got = [b - s for b, s in zip(back, start)]
            sent_total += n * len(types)
            back_total += sum(got)
            print(f"round {r} x{n} sent {n * len(types)} back {sum(got)}", flush=True)
            for k, g in enumerate(got):
                if g != n:
                    print(f"lost {r} x{n} {k} {types[k]} got {g} of {n}", flush=True)
    print(f"done sent {sent_total} back {back_total}", flush=True)
    spin_until_stopped(node)


if __name__ == "__main__":
    main()
