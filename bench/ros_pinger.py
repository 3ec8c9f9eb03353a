"""rclpy pinger: one message in flight on /ping, waits for it on /pong.

  python ros_pinger.py SIZE SAMPLES     SIZE: 64 | 640x480 | 1920x1080
Prints one JSON line: {"size", "samples", "lost", "p50_ms", "p90_ms", "p99_ms"}.
"""
import json
import statistics
import sys
import time

import rclpy
from rclpy.qos import QoSProfile
from sensor_msgs.msg import Image
from std_msgs.msg import String


def make(size, seq):
    if size == "64":
        return String(data=f"{seq:08d}".ljust(64, "x"))
    w, h = (int(v) for v in size.split("x"))
    msg = Image(height=h, width=w, encoding="rgb8", step=w * 3)
    msg.header.frame_id = str(seq)
    msg.data = bytes(w * h * 3)
    return msg


def seq_of(msg):
    return int(msg.data[:8]) if isinstance(msg, String) else int(msg.header.frame_id)


def main():
    size, samples = sys.argv[1], int(sys.argv[2])
    cls = String if size == "64" else Image
    rclpy.init()
    node = rclpy.create_node("pinger")
    qos = QoSProfile(depth=10)
    pub = node.create_publisher(cls, "/ping", qos)
    got = {}
    node.create_subscription(cls, "/pong", lambda m: got.setdefault(seq_of(m), time.perf_counter()), qos)

    def round_trip(seq, timeout):
        msg = make(size, seq)
        start = time.perf_counter()
        pub.publish(msg)
        deadline = start + timeout
        while seq not in got and time.perf_counter() < deadline:
            rclpy.spin_once(node, timeout_sec=0.01)
        return (got[seq] - start) if seq in got else None

    # Warm up until the relay answers (discovery, first allocations).
    seq = 0
    warm_deadline = time.perf_counter() + 60
    while time.perf_counter() < warm_deadline:
        seq += 1
        if round_trip(seq, 1.0) is not None:
            break
    else:
        print(json.dumps({"size": size, "error": "relay never answered"}), flush=True)
        return
    for _ in range(3):
        seq += 1
        round_trip(seq, 5.0)
    times, lost = [], 0
    for _ in range(samples):
        seq += 1
        rtt = round_trip(seq, 5.0)
        if rtt is None:
            lost += 1
        else:
            times.append(rtt * 1000)
    times.sort()
    q = lambda p: times[min(len(times) - 1, int(p * len(times)))] if times else None
    print(json.dumps({"size": size, "samples": samples, "lost": lost,
                      "p50_ms": statistics.median(times) if times else None,
                      "p90_ms": q(0.9), "p99_ms": q(0.99)}), flush=True)
    node.destroy_node()
    rclpy.try_shutdown()


if __name__ == "__main__":
    main()
