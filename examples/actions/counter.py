"""A dora node carrying out the Fibonacci goals that ROS action clients send
to the bridge's /count action server: one feedback row every 0.1 s, then the
result; a cancel ends the goal with what it has so far."""
import pyarrow as pa
from dora import Node

ROW_TYPE = pa.struct([("sequence", pa.list_(pa.int32()))])


def row(sequence):
    return pa.array([{"sequence": sequence}], type=ROW_TYPE)


def main():
    node = Node()
    goals = {}  # goal_id -> [order, sequence]
    while True:
        event = node.next(timeout=0.1)
        if event is None or event["type"] == "STOP":
            break
        if event["type"] == "INPUT":
            goal_id = event["metadata"]["goal_id"]
            if event["id"] == "goal":
                goals[goal_id] = [event["value"][0]["order"].as_py(), [0, 1]]
            elif event["id"] == "cancel" and goal_id in goals:
                node.send_output("result", row(goals.pop(goal_id)[1]), {"goal_id": goal_id, "status": "canceled"})
            continue
        # No input for 0.1 s (dora's timeout event): a step of every goal.
        for goal_id, (order, sequence) in list(goals.items()):
            if len(sequence) > order:
                node.send_output("result", row(sequence), {"goal_id": goal_id})
                del goals[goal_id]
            else:
                node.send_output("feedback", row(sequence), {"goal_id": goal_id})
                sequence.append(sequence[-1] + sequence[-2])


if __name__ == "__main__":
    main()
