"""Test helper, a real rclpy action client of test_msgs/action/NestedMessage:
`ros_action_nested_client.py ACTION` sends one goal with a value in every
nested field it sets (BasicTypes' every kind of number, a bool, a char, a
Time of another package) and prints one JSON line, {"status": name,
"feedback_equal": bool, "result_equal": bool, "result": {...}}: whether the
feedback and the result it got back carry exactly the goal's values (what
an echoing server sends)."""
import json
import sys

import rclpy
from rclpy.action import ActionClient
from rclpy.node import Node
from test_msgs.action import NestedMessage

STATUS = {4: "succeeded", 5: "canceled", 6: "aborted"}


def the_goal():
    goal = NestedMessage.Goal()
    basic = goal.nested_field
    basic.bool_value, basic.byte_value, basic.char_value = True, b"\x07", 65
    basic.float32_value, basic.float64_value = 1.5, -2.25
    basic.int8_value, basic.uint8_value = -8, 200
    basic.int16_value, basic.uint16_value = -1600, 60000
    basic.int32_value, basic.uint32_value = -320000, 4000000000
    basic.int64_value, basic.uint64_value = -(2**40), 2**63 + 5
    goal.nested_field_no_pkg.duration_value.sec = 42
    goal.nested_field_no_pkg.time_value.nanosec = 7
    goal.nested_different_pkg.sec, goal.nested_different_pkg.nanosec = 1700000000, 999
    return goal


def fields(message):
    """A message as plain values, nested messages as dicts."""
    if not hasattr(message, "get_fields_and_field_types"):
        return message if isinstance(message, (bool, int, float, str)) else repr(message)
    return {name: fields(getattr(message, name)) for name in message.get_fields_and_field_types()}


def main():
    rclpy.init()
    node = Node("nested_action_client")
    client = ActionClient(node, NestedMessage, sys.argv[1])
    if not client.wait_for_server(timeout_sec=30):
        print("no server", flush=True)
        return 1
    goal = the_goal()
    feedbacks = []
    sent = client.send_goal_async(goal, feedback_callback=lambda f: feedbacks.append(f.feedback))
    rclpy.spin_until_future_complete(node, sent, timeout_sec=30)
    handle = sent.result()
    if handle is None or not handle.accepted:
        print(json.dumps({"status": "rejected"}), flush=True)
        return 1
    done = handle.get_result_async()
    rclpy.spin_until_future_complete(node, done, timeout_sec=30)
    if done.result() is None:
        print(json.dumps({"status": "timeout"}), flush=True)
        return 2
    result = done.result()
    want = fields(goal)
    print(
        json.dumps(
            {
                "status": STATUS.get(result.status, str(result.status)),
                "feedback_equal": bool(feedbacks) and all(fields(f) == want for f in feedbacks),
                "result_equal": fields(result.result) == want,
                "result": fields(result.result),
            }
        ),
        flush=True,
    )
    node.destroy_node()
    rclpy.try_shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
