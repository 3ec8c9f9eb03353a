"""Test helper, a real rclpy action client for test_msgs/action/Fibonacci:
`ros_action_client.py ACTION ORDER [ORDER ...] [--wait S] [--timeout S]
[--cancel-after-feedback K]` waits for the server (--wait, default 20 s;
else prints `no server` and exits 1), prints `server ready`, sends all the
goals at once and prints one JSON line per event, where `goal` is the
goal's index among the ORDERs:
  {"event": "accepted" | "rejected", "goal": i, "order": n}
  {"event": "feedback", "goal": i, "order": n, "sequence": [...]}
  {"event": "cancel_response", "goal": i, "order": n, "return_code": c,
   "goals_canceling": m}   (with --cancel-after-feedback K: a goal is
   canceled once it has had K feedbacks)
  {"event": "result", "goal": i, "order": n, "status": s, "sequence": [...]}
where s is the lower-case GoalStatus name (succeeded, canceled, aborted,
unknown, ...). Prints `done` and exits 0 once every goal has a result (and
the answer to its cancel, if canceled) or
was rejected; if that takes more than --timeout seconds (default 30)
after sending, it says so on stderr and exits 2.
`ros_action_client.py ACTION --watch` sends nothing: it prints `server
ready` / `server gone` each time server_is_ready() changes (checked every
50 ms; nothing is printed before the server is first seen) until killed."""
import argparse
import json
import sys
import time

import rclpy
from action_msgs.msg import GoalStatus
from rclpy.action import ActionClient
from rclpy.executors import ExternalShutdownException
from rclpy.node import Node
from rclpy.qos import QoSProfile
from test_msgs.action import Fibonacci

STATUS = {getattr(GoalStatus, k): k[len("STATUS_"):].lower() for k in dir(GoalStatus) if k.startswith("STATUS_")}


def emit(**fields):
    print(json.dumps(fields), flush=True)


def watch(node, client):
    ready = False
    while rclpy.ok():
        rclpy.spin_once(node, timeout_sec=0.05)
        if client.server_is_ready() != ready:
            ready = not ready
            print("server ready" if ready else "server gone", flush=True)


def run(node, client, args):
    if not client.wait_for_server(timeout_sec=args.wait):
        print("no server", flush=True)
        return 1
    print("server ready", flush=True)
    goals = [{"order": n, "feedbacks": 0, "handle": None, "cancel": False, "over": False} for n in args.orders]

    def cancel(i, goal):
        def on_response(future):
            goal["cancel_pending"] = False
            response = future.result()
            emit(event="cancel_response", goal=i, order=goal["order"], return_code=response.return_code,
                 goals_canceling=len(response.goals_canceling))
        goal["cancel_pending"] = True
        goal["handle"].cancel_goal_async().add_done_callback(on_response)

    def on_feedback(i, goal):
        def handle(message):
            goal["feedbacks"] += 1
            emit(event="feedback", goal=i, order=goal["order"], sequence=list(message.feedback.sequence))
            if goal["feedbacks"] == args.cancel_after_feedback:
                goal["cancel"] = True
                if goal["handle"] is not None:
                    cancel(i, goal)
        return handle

    def on_result(i, goal):
        def handle(future):
            response = future.result()
            goal["over"] = True
            emit(event="result", goal=i, order=goal["order"], status=STATUS.get(response.status, str(response.status)),
                 sequence=list(response.result.sequence))
        return handle

    def on_goal_response(i, goal):
        def handle(future):
            goal_handle = future.result()
            if not goal_handle.accepted:
                goal["over"] = True
                emit(event="rejected", goal=i, order=goal["order"])
                return
            goal["handle"] = goal_handle
            emit(event="accepted", goal=i, order=goal["order"])
            if goal["cancel"]:  # its feedbacks came before the answer
                cancel(i, goal)
            goal_handle.get_result_async().add_done_callback(on_result(i, goal))
        return handle

    for i, goal in enumerate(goals):
        future = client.send_goal_async(Fibonacci.Goal(order=goal["order"]), feedback_callback=on_feedback(i, goal))
        future.add_done_callback(on_goal_response(i, goal))
    deadline = time.monotonic() + args.timeout
    # A cancel's answer can come after the goal's result: wait for both.
    while not all(goal["over"] and not goal.get("cancel_pending") for goal in goals):
        if time.monotonic() > deadline:
            print(f"timeout: {[g['order'] for g in goals if not g['over']]} unfinished", file=sys.stderr, flush=True)
            return 2
        rclpy.spin_once(node, timeout_sec=0.05)
    print("done", flush=True)
    return 0


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("action")
    parser.add_argument("orders", nargs="*", type=int)
    parser.add_argument("--wait", type=float, default=20.0)
    parser.add_argument("--timeout", type=float, default=30.0)
    parser.add_argument("--cancel-after-feedback", type=int, default=0)
    parser.add_argument("--watch", action="store_true")
    args = parser.parse_args()
    if not args.watch and not args.orders:
        parser.error("give at least one ORDER, or --watch")
    rclpy.init()
    node = Node("action_client")
    # Depth 100, not 10: a burst of goals sent before both ends have matched
    # survives only in the writer's history (see ros_service_client.py).
    deep = QoSProfile(depth=100)
    client = ActionClient(node, Fibonacci, args.action, goal_service_qos_profile=deep, result_service_qos_profile=deep,
                          cancel_service_qos_profile=deep, feedback_sub_qos_profile=deep)
    code = 0
    try:
        code = watch(node, client) if args.watch else run(node, client, args)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        node.destroy_node()
        rclpy.try_shutdown()
    sys.exit(code or 0)


if __name__ == "__main__":
    main()
