"""A dora node sending Fibonacci goals to a ROS action server through the
bridge: a short goal it lets finish, then a long one it cancels after three
feedback messages; it prints what comes back."""
import pyarrow as pa
from dora import Node

GOAL_TYPE = pa.struct([("order", pa.int32())])
SHORT, LONG = "5" * 32, "a" * 32  # goal ids the planner picks itself


def main():
    node = Node()
    goals = [(SHORT, 8), (LONG, 40)]
    feedback_seen = {}
    for event in node:
        if event["type"] != "INPUT":
            continue
        if event["id"] == "tick" and goals:
            goal_id, order = goals.pop(0)
            node.send_output("goal", pa.array([{"order": order}], type=GOAL_TYPE), {"goal_id": goal_id})
            print(f"planner: sent goal {goal_id[:8]} order {order}", flush=True)
        elif event["id"] == "feedback":
            goal_id = event["metadata"]["goal_id"]
            feedback_seen[goal_id] = feedback_seen.get(goal_id, 0) + 1
            sequence = event["value"][0]["sequence"].as_py()
            print(f"planner: feedback {goal_id[:8]} {sequence}", flush=True)
            if goal_id == LONG and feedback_seen[goal_id] == 3:
                node.send_output("cancel", pa.array([0]), {"goal_id": LONG})
                print(f"planner: canceling {LONG[:8]}", flush=True)
        elif event["id"] == "result":
            md = event["metadata"]
            rows = event["value"].to_pylist()
            sequence = rows[0]["sequence"] if rows else md.get("error")
            print(f"planner: result {md['goal_id'][:8]} {md['status']} {sequence}", flush=True)


if __name__ == "__main__":
    main()
