"""dora's own ROS 2 bridge on the action benchmark's `action_servers` path:
a dora node that serves ACTION (type ACTION_TYPE) with dora.Ros2Context's
action server, sends each goal it takes on output `goal` (metadata
goal_id), publishes the rows of input `feedback` as the goal's feedback
and ends the goal with the row on input `result` (metadata status, default
succeeded). Its API offers no way to wait on ROS goals and dora inputs at
once (merge_external_events takes subscriptions only), so while no goal is
running it polls both in turn, 1 ms each; while one runs it waits on dora
alone."""
import os
import sys

from dora import Node, Ros2Context, Ros2NodeOptions, Ros2QosPolicies


def main():
    context = Ros2Context()
    ros_node = context.new_node("dora_ros2_action_server", "/", Ros2NodeOptions(rosout=False))
    server = ros_node.create_action_server(os.environ["ACTION"], os.environ["ACTION_TYPE"].replace("/action/", "/"),
                                           Ros2QosPolicies(reliable=True, keep_last=10))
    node = Node()
    active = set()
    late = 0
    while True:
        if not active:
            goal = server.take_goal(timeout_s=0.001)
            if goal is not None:
                goal_id, value = goal
                active.add(goal_id)
                node.send_output("goal", value, {"goal_id": goal_id})
                continue
        event = node.next(timeout=0.001 if not active else 0.5)
        if event is None or event["type"] == "STOP":
            break
        if event["type"] != "INPUT":
            continue  # ERROR: the timeout passed
        goal_id = event["metadata"].get("goal_id")
        if event["id"] == "feedback":
            try:
                server.send_feedback(goal_id, event["value"])
            except RuntimeError:
                late += 1
        elif event["id"] == "result":
            active.discard(goal_id)
            try:  # blocks until the client asks for the result
                server.send_result(goal_id, event["value"], status=event["metadata"].get("status", "succeeded"),
                                   timeout_s=5.0)
            except RuntimeError as e:
                print(f"send_result {goal_id}: {str(e).splitlines()[0]}", file=sys.stderr, flush=True)
    if late:
        print(f"{late} feedback rows for goals already ended", file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
