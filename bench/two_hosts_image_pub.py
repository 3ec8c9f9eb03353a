"""rclpy image publisher for bench/two_hosts.py.

  python two_hosts_image_pub.py TOPIC WIDTH HEIGHT RATE SECONDS [--depth N]

Publishes sensor_msgs/Image rgb8 frames (reliable, volatile, keep last
DEPTH) on TOPIC at RATE Hz for SECONDS, once a subscriber has matched. The
frame is built and serialized once; per frame only two things change in the
serialized bytes before they are published as they are (no per-frame
message conversion in Python):

- header.stamp: the wall-clock time (CLOCK_REALTIME) just before the publish,
- the first 4 bytes of `data`: the frame's sequence number, little-endian
  uint32 counting from 0, so the receiver can count gaps.

The latency measured from the stamp therefore includes one copy of the frame
here (bytes of the buffer) and rclpy's publish. Prints JSON lines:
{"matched": N}, {"sent": N, "seconds": S}, {"acked": true|false}.
"""
import argparse
import array
import json
import struct
import sys
import time

import rclpy
from rclpy.duration import Duration
from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy
from rclpy.serialization import deserialize_message, serialize_message
from sensor_msgs.msg import Image


def frame(width, height):
    """The serialized frame and the offset of its `data` bytes."""
    msg = Image()
    msg.header.frame_id = "camera"
    msg.height, msg.width, msg.encoding, msg.step = height, width, "rgb8", width * 3
    size = width * height * 3
    pattern = bytes(range(256)) * (size // 256 + 1)
    msg.data = array.array("B", pattern[:size])
    serialized = bytearray(serialize_message(msg))
    # `data` is the last field: its bytes end the serialized message.
    offset = len(serialized) - size
    assert serialized[offset:offset + 64] == pattern[:64], "unexpected CDR layout"
    return serialized, offset


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("topic")
    parser.add_argument("width", type=int)
    parser.add_argument("height", type=int)
    parser.add_argument("rate", type=float)
    parser.add_argument("seconds", type=float)
    parser.add_argument("--depth", type=int, default=10)
    parser.add_argument("--node", default="bench_camera")
    args = parser.parse_args()

    buf, data_offset = frame(args.width, args.height)
    # CDR: 4 bytes of encapsulation, then header.stamp.sec (int32) and
    # header.stamp.nanosec (uint32). Checked once on a patched copy.
    struct.pack_into("<iI", buf, 4, 12345, 678)
    struct.pack_into("<I", buf, data_offset, 42)
    check = deserialize_message(bytes(buf), Image)
    assert (check.header.stamp.sec, check.header.stamp.nanosec, check.width) == (12345, 678, args.width)
    assert bytes(check.data[:4]) == struct.pack("<I", 42)

    rclpy.init()
    node = rclpy.create_node(args.node)
    qos = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=args.depth,
                     reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.VOLATILE)
    pub = node.create_publisher(Image, args.topic, qos)
    deadline = time.monotonic() + 60
    while pub.get_subscription_count() == 0 and time.monotonic() < deadline:
        rclpy.spin_once(node, timeout_sec=0.05)
    print(json.dumps({"matched": pub.get_subscription_count()}), flush=True)
    if pub.get_subscription_count() == 0:
        sys.exit(1)
    time.sleep(1.0)  # let both ends finish matching before the first frame

    period = 1.0 / args.rate
    count = int(round(args.seconds * args.rate))
    start = time.monotonic()
    next_at = start
    for seq in range(count):
        now = time.monotonic()
        if now < next_at:
            time.sleep(next_at - now)
        elif now > next_at + period:
            next_at = now  # fell behind: go on at the rate, no catch-up burst
        next_at += period
        struct.pack_into("<I", buf, data_offset, seq)
        stamp = time.time_ns()
        struct.pack_into("<iI", buf, 4, stamp // 1_000_000_000, stamp % 1_000_000_000)
        pub.publish(bytes(buf))
    elapsed = time.monotonic() - start
    print(json.dumps({"sent": count, "seconds": elapsed}), flush=True)
    # Reliable frames still being sent or repaired need the writer alive.
    acked = pub.wait_for_all_acked(Duration(seconds=20))
    print(json.dumps({"acked": acked}), flush=True)
    node.destroy_node()
    rclpy.try_shutdown()


if __name__ == "__main__":
    main()
