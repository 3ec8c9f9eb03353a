"""The action benchmark's rclpy server: test_msgs/action/Fibonacci on
ACTION, goals as bench/action_goals.py says (order 0 succeeds at once with
[0]; order n > 0 streams feedback [1], [2], ... as fast as rclpy publishes
for n ms (or at --rate per second), waits --drain seconds, succeeds with [count, elapsed_us]).
rclpy's defaults throughout (single-threaded executor, feedback publisher
reliable keep-last 10), as an ordinary rclpy server has them.
Prints `ready` on stdout once serving; each stream's count on stderr.
Usage: rclpy_action_server.py ACTION [--drain S] [--rate HZ]"""
import argparse
import os
import sys
import time

import rclpy
from rclpy.action import ActionServer
from rclpy.executors import ExternalShutdownException
from rclpy.node import Node
from test_msgs.action import Fibonacci

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from action_goals import DRAIN, stream  # noqa: E402


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("action")
    parser.add_argument("--drain", type=float, default=DRAIN)
    parser.add_argument("--rate", type=float, default=0.0)
    args = parser.parse_args()
    rclpy.init()
    node = Node("bench_action_server")

    def execute(goal_handle):
        order = goal_handle.request.order
        if order <= 0:
            goal_handle.succeed()
            return Fibonacci.Result(sequence=[0])
        k, elapsed = stream(lambda k: goal_handle.publish_feedback(Fibonacci.Feedback(sequence=[k])), order,
                            args.rate)
        print(f"streamed {k} feedbacks in {elapsed:.3f} s ({k / elapsed:.0f}/s)", file=sys.stderr, flush=True)
        time.sleep(args.drain)
        goal_handle.succeed()
        return Fibonacci.Result(sequence=[k, int(elapsed * 1e6)])

    ActionServer(node, Fibonacci, args.action, execute)
    print("ready", flush=True)
    try:
        rclpy.spin(node)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        node.destroy_node()
        rclpy.try_shutdown()


if __name__ == "__main__":
    main()
