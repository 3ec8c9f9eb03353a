"""dora's own ROS 2 bridge on the action benchmark's `action_clients` path:
a dora node that takes each goal row on input `goal`, sends it to the ROS
action server ACTION (type ACTION_TYPE) with dora.Ros2Context's action
client (blocking calls, one goal at a time, as its API offers), forwards
the goal's feedback on output `feedback` (take_feedback polled until the
stream pauses for 0.5 s: take_result retires the goal, and feedback
cannot be taken after it) and its result on output `result`, with the
row's goal_id and the status. Its API has no wait_for_action_server: the
first goal is resent every 2 s until the server answers (a goal sent
before discovery is lost)."""
import os
import sys

from dora import Node, Ros2Context, Ros2NodeOptions, Ros2QosPolicies

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from action_goals import sequence_row  # noqa: E402

EMPTY = sequence_row([0])[:0]


def main():
    context = Ros2Context()
    ros_node = context.new_node("dora_ros2_action_client", "/", Ros2NodeOptions(rosout=False))
    client = ros_node.create_action_client(os.environ["ACTION"], os.environ["ACTION_TYPE"].replace("/action/", "/"),
                                           Ros2QosPolicies(reliable=True, keep_last=10))
    node = Node()
    answered_once = False
    for event in node:
        if event["type"] == "STOP":
            break
        if event["type"] != "INPUT" or event["id"] != "goal":
            continue
        metadata = {"goal_id": event["metadata"]["goal_id"]}
        order = event["value"].to_pylist()[0]["order"]
        ros_goal = None
        for attempt in range(1 if answered_once else 15):
            try:
                ros_goal = client.send_goal(event["value"], 30.0 if answered_once else 2.0)
                answered_once = True
                break
            except RuntimeError as e:
                print(f"send_goal: {str(e).splitlines()[0]}", file=sys.stderr, flush=True)
                ros_goal = False
        if not ros_goal:
            node.send_output("result", EMPTY, {**metadata, "status": "rejected" if ros_goal is None else "error"})
            continue
        forwarded = 0

        def forward(timeout):
            nonlocal forwarded
            try:
                feedback = client.take_feedback(ros_goal, timeout)
            except RuntimeError as e:
                print(f"take_feedback: {str(e).splitlines()[0]}", file=sys.stderr, flush=True)
                return False
            if feedback is not None:
                node.send_output("feedback", feedback, metadata)
                forwarded += 1
            return feedback is not None

        if order > 0:
            while forward(0.5):
                pass
        # take_result retires the goal: its feedback cannot be taken after
        # it (take_feedback raises `unknown goal_id`).
        taken = client.take_result(ros_goal, 60.0)
        if order > 0:
            print(f"forwarded {forwarded} feedbacks", file=sys.stderr, flush=True)
        if taken is None:
            node.send_output("result", EMPTY, {**metadata, "status": "error"})
        else:
            status, result = taken
            node.send_output("result", result, {**metadata, "status": status})


if __name__ == "__main__":
    main()
