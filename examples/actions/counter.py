"""A dora node carrying out the Fibonacci goals that ROS action clients send
to the bridge's /count action server: one feedback row every 0.1 s, then the
result; a cancel ends the goal with what it has so far."""
from dora import Node

from ros2_dora_bridge import ActionServer


def main():
    node = Node()
    count = ActionServer(node, "test_msgs/action/Fibonacci", goal="goal", cancel="cancel",
                         feedback="feedback", result="result")
    sequences = {}  # goal_id -> the sequence so far
    while (event := node.next(timeout=0.1)) is not None and event["type"] != "STOP":
        if (update := count.update(event)) is not None:
            if update.kind == "goal":
                sequences[update.goal.goal_id] = [0, 1]
            else:
                update.goal.canceled(sequence=sequences.pop(update.goal.goal_id))
        elif event["type"] != "INPUT":  # no input for 0.1 s: a step of every goal
            for goal in list(count.goals.values()):
                sequence = sequences[goal.goal_id]
                if len(sequence) > goal.goal.order:
                    goal.succeed(sequence=sequences.pop(goal.goal_id))
                else:
                    goal.publish_feedback(sequence=sequence)
                    sequence.append(sequence[-1] + sequence[-2])


if __name__ == "__main__":
    main()
