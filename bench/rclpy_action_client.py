"""The action benchmark's rclpy client (test_msgs/action/Fibonacci, rclpy's
default QoS: feedback subscription reliable keep-last 10). After WARMUP
order-0 goals:
  latency ACTION GOALS   GOALS order-0 goals one after the other, each timed
                         from send_goal_async to its result (accepted, then
                         get_result_async); prints the round trips' summary
  feedback ACTION MS     one goal streaming feedback for MS ms (see
                         bench/action_goals.py); prints what arrived of what
                         the server says it produced
as one JSON line. Waits --wait seconds for server_is_ready(); a server
rclpy never sees as ready (dora's Ros2ActionServer) gets goals anyway,
the first one resent until one is answered.
Usage: rclpy_action_client.py latency|feedback ACTION N [--wait S]"""
import argparse
import json
import os
import sys
import time

import rclpy
from action_msgs.msg import GoalStatus
from rclpy.action import ActionClient
from rclpy.executors import SingleThreadedExecutor
from rclpy.node import Node
from test_msgs.action import Fibonacci

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from action_goals import FeedbackCount, summary  # noqa: E402

STATUS = {getattr(GoalStatus, k): k[len("STATUS_"):].lower() for k in dir(GoalStatus) if k.startswith("STATUS_")}
WARMUP = int(os.environ.get("WARMUP", "5"))
GOAL_TIMEOUT = 10.0


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["latency", "feedback"])
    parser.add_argument("action")
    parser.add_argument("n", type=int)
    parser.add_argument("--wait", type=float, default=30.0)
    args = parser.parse_args()
    rclpy.init()
    node = Node("bench_action_client")
    client = ActionClient(node, Fibonacci, args.action)
    executor = SingleThreadedExecutor()
    executor.add_node(node)
    server_ready = client.wait_for_server(timeout_sec=args.wait)
    if not server_ready:
        print(f"{args.action}: server_is_ready() still false after {args.wait} s; sending anyway",
              file=sys.stderr, flush=True)

    def wait(future, timeout):
        executor.spin_until_future_complete(future, timeout_sec=timeout)
        return future.done()

    def run_goal(order, feedback_callback=None, timeout=GOAL_TIMEOUT):
        """(status name, result sequence) or (None, why)."""
        sent = client.send_goal_async(Fibonacci.Goal(order=order), feedback_callback=feedback_callback)
        if not wait(sent, timeout):
            return None, "no goal response"
        handle = sent.result()
        if not handle.accepted:
            return None, "rejected"
        result = handle.get_result_async()
        if not wait(result, timeout):
            return None, "no result"
        response = result.result()
        return STATUS.get(response.status, str(response.status)), list(response.result.sequence)

    # Warm-up; the first goal is resent while unanswered (a request sent
    # before both ends have matched is lost).
    for attempt in range(6):
        status, _ = run_goal(0, timeout=5.0)
        if status is not None:
            break
    else:
        print(json.dumps({"error": "no answer to a warm-up goal", "server_ready": server_ready}), flush=True)
        return
    for _ in range(WARMUP - 1):
        run_goal(0)

    if args.mode == "latency":
        rtts, errors = [], 0
        started = time.perf_counter()
        for _ in range(args.n):
            t0 = time.perf_counter()
            status, _ = run_goal(0)
            if status == "succeeded":
                rtts.append((time.perf_counter() - t0) * 1000)
            else:
                errors += 1
        out = summary(rtts, time.perf_counter() - started, errors)
    else:
        count = FeedbackCount()

        def on_feedback(message):
            count.add(message.feedback.sequence[0], time.perf_counter())

        status, sequence = run_goal(args.n, on_feedback, timeout=args.n / 1000 + 60)
        if status is None or len(sequence) < 2:
            out = {"error": f"stream goal: {status} {sequence}"}
        else:
            out = count.summary(sequence[0], sequence[1] / 1e6, status)
    out["server_ready"] = server_ready
    print(json.dumps(out), flush=True)
    node.destroy_node()
    rclpy.try_shutdown()


if __name__ == "__main__":
    main()
