"""Test helper, a simulator's clock: publishes rosgraph_msgs/Clock on /clock.

  python ros_clock.py START_S [--run S] [--pause S] [--rate HZ]

Sim time stays at START_S until /clock has a subscriber ("waiting"), then
advances with wall time for --run seconds,
stays put (still published, as a paused simulator does) for --pause
seconds, then advances again for good. Prints one JSON line per phase:
  {"phase": "run"|"pause"|"resume", "t": wall time, "sim": sim seconds}
"""
import argparse
import json
import time

import rclpy
from rclpy.qos import QoSProfile, ReliabilityPolicy
from rosgraph_msgs.msg import Clock


def say(phase, sim):
    print(json.dumps({"phase": phase, "t": time.time(), "sim": sim}), flush=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("start", type=float)
    parser.add_argument("--run", type=float, default=1e9)
    parser.add_argument("--pause", type=float, default=0.0)
    parser.add_argument("--rate", type=float, default=100.0)
    args = parser.parse_args()
    rclpy.init()
    node = rclpy.create_node("fake_simulator")
    pub = node.create_publisher(Clock, "/clock", QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE))
    began = None
    phase = None
    try:
        while True:
            if began is None and pub.get_subscription_count() > 0:
                began = time.monotonic()
            elapsed = 0.0 if began is None else time.monotonic() - began
            if began is None:
                now, name = args.start, "waiting"
            elif elapsed < args.run:
                now, name = args.start + elapsed, "run"
            elif elapsed < args.run + args.pause:
                now, name = args.start + args.run, "pause"
            else:
                now, name = args.start + elapsed - args.pause, "resume"
            if name != phase:
                phase = name
                say(name, now)
            msg = Clock()
            msg.clock.sec = int(now)
            msg.clock.nanosec = int(round((now - int(now)) * 1e9)) % 1_000_000_000
            pub.publish(msg)
            time.sleep(1.0 / args.rate)
    except KeyboardInterrupt:
        pass
    finally:
        node.destroy_node()
        rclpy.try_shutdown()


if __name__ == "__main__":
    main()
