"""Test helper, a real rclpy action server:
`ros_action_server.py ACTION [--period S] [--reject-below K] [--exit-mid-goal]`
serves test_msgs/action/Fibonacci on ACTION, several goals at once.

A goal of order n gets n feedbacks, one every S seconds (default 0.05):
feedback k (k = 1..n) holds the first k + 1 Fibonacci numbers, [0, 1],
[0, 1, 1], [0, 1, 1, 2], ...; then it succeeds with the first n + 1 numbers
(so the last feedback equals the result; order 0 succeeds at once with [0]).
Prints (flushed) `ready` once serving, `goal <n>` for every goal received,
then one of `rejected <n>` (with --reject-below K, orders below K),
`succeeded <n>`, or `canceled <n>`: cancel requests are always accepted and
end the goal with the sequence so far. With --exit-mid-goal the first goal
prints `exiting` after its 2nd feedback and the process leaves at once
(os._exit(3), as if killed), so give that goal an order of 2 or more."""
import argparse
import os
import sys
import threading
import time

import rclpy
from rclpy.action import ActionServer, CancelResponse, GoalResponse
from rclpy.callback_groups import ReentrantCallbackGroup
from rclpy.executors import ExternalShutdownException, MultiThreadedExecutor
from rclpy.node import Node
from rclpy.qos import QoSProfile
from test_msgs.action import Fibonacci

PRINT_LOCK = threading.Lock()
# Bursts of goals or feedback outrun rclpy's default depth of 10 (requests
# sent before both ends have matched survive only in the writer's history).
DEEP_QOS = {f"{kind}_qos_profile": QoSProfile(depth=100)
            for kind in ("goal_service", "result_service", "cancel_service", "feedback_pub")}


def say(line):
    """One whole line at a time: goals print from several threads."""
    with PRINT_LOCK:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("action")
    parser.add_argument("--period", type=float, default=0.05)
    parser.add_argument("--reject-below", type=int, default=None)
    parser.add_argument("--exit-mid-goal", action="store_true")
    args = parser.parse_args()
    rclpy.init()
    node = Node("action_server")
    first_goal = [True]

    def on_goal(request):
        say(f"goal {request.order}")
        if args.reject_below is not None and request.order < args.reject_below:
            say(f"rejected {request.order}")
            return GoalResponse.REJECT
        return GoalResponse.ACCEPT

    def execute(goal_handle):
        order = goal_handle.request.order
        exit_mid_goal, first_goal[0] = args.exit_mid_goal and first_goal[0], False
        sequence = [0]
        for k in range(1, order + 1):
            time.sleep(args.period)
            if goal_handle.is_cancel_requested:
                goal_handle.canceled()
                say(f"canceled {order}")
                return Fibonacci.Result(sequence=sequence)
            sequence.append(1 if k == 1 else sequence[-1] + sequence[-2])
            goal_handle.publish_feedback(Fibonacci.Feedback(sequence=sequence))
            if exit_mid_goal and k == 2:
                say("exiting")
                os._exit(3)
        goal_handle.succeed()
        say(f"succeeded {order}")
        return Fibonacci.Result(sequence=sequence)

    ActionServer(
        node, Fibonacci, args.action, execute,
        goal_callback=on_goal,
        cancel_callback=lambda _: CancelResponse.ACCEPT,
        callback_group=ReentrantCallbackGroup(),
        **DEEP_QOS,
    )
    # Every running goal holds a thread while it sleeps: leave plenty for
    # new goals and cancel requests (the default is one per CPU).
    executor = MultiThreadedExecutor(num_threads=16)
    executor.add_node(node)
    say("ready")
    try:
        executor.spin()
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        executor.shutdown()
        node.destroy_node()
        rclpy.try_shutdown()


if __name__ == "__main__":
    main()
