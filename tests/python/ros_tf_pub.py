"""Test helper, a real rclpy TF publisher (tf2_msgs/TFMessage).

  python ros_tf_pub.py SPEC.json [--node NAME]

SPEC: {"static": [[parent, child, [x, y, z], [qx, qy, qz, qw]], ...],
       "dynamic": [[parent, child, stamp_s or null, [x, y, z], [qx, qy, qz, qw]], ...],
       "rate": Hz}
Statics go out once on /tf_static, latched as tf2's StaticTransformBroadcaster
does (transient local, keep last 1, one message holding them all). Dynamics go
out on /tf at RATE, all of them in each message; a null stamp is the wall clock
at sending (a live robot), a number is that fixed stamp (a known history).
Prints {"published": N} every second.
"""
import argparse
import json
import time

import rclpy
from geometry_msgs.msg import TransformStamped
from rclpy.qos import DurabilityPolicy, QoSProfile
from tf2_msgs.msg import TFMessage


def transform(parent, child, stamp_s, xyz, q):
    t = TransformStamped()
    t.header.frame_id = parent
    t.child_frame_id = child
    stamp_s = time.time() if stamp_s is None else stamp_s
    ns = int(round(stamp_s * 1e9))
    t.header.stamp.sec, t.header.stamp.nanosec = ns // 1_000_000_000, ns % 1_000_000_000
    t.transform.translation.x, t.transform.translation.y, t.transform.translation.z = xyz
    r = t.transform.rotation
    r.x, r.y, r.z, r.w = q
    return t


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("spec")
    parser.add_argument("--node", default="tf_publisher")
    args = parser.parse_args()
    with open(args.spec, encoding="utf-8") as f:
        spec = json.load(f)
    rclpy.init()
    node = rclpy.create_node(args.node)
    if spec.get("static"):
        latched = QoSProfile(depth=1, durability=DurabilityPolicy.TRANSIENT_LOCAL)
        static_pub = node.create_publisher(TFMessage, "/tf_static", latched)
        static_pub.publish(TFMessage(transforms=[transform(p, c, 0.0, xyz, q) for p, c, xyz, q in spec["static"]]))
    dynamic = spec.get("dynamic", [])
    pub = node.create_publisher(TFMessage, "/tf", QoSProfile(depth=100))
    period = 1.0 / spec.get("rate", 100.0)
    count, last_report = 0, time.monotonic()
    try:
        while True:
            if dynamic:
                pub.publish(TFMessage(transforms=[transform(*d) for d in dynamic]))
                count += 1
            rclpy.spin_once(node, timeout_sec=period)
            if time.monotonic() - last_report >= 1.0:
                last_report = time.monotonic()
                print(json.dumps({"published": count}), flush=True)
    except KeyboardInterrupt:
        pass
    finally:
        node.destroy_node()
        rclpy.try_shutdown()


if __name__ == "__main__":
    main()
