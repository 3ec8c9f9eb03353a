"""A dora node sending Fibonacci goals to a ROS action server through the
bridge: a short goal it lets finish, then a long one it cancels after three
feedback messages; it prints what comes back."""
from dora import Node

from ros2_dora_bridge import ActionClient


def main():
    node = Node()
    fibonacci = ActionClient(node, "test_msgs/action/Fibonacci", goal="goal", cancel="cancel",
                             feedback="feedback", result="result")
    orders, long_goal, feedback_seen = [8, 40], None, 0
    for event in node:
        if event["type"] == "INPUT" and event["id"] == "tick" and orders:
            order = orders.pop(0)
            goal = fibonacci.send_goal(order=order)
            long_goal = goal if order == 40 else long_goal
            print(f"planner: sent goal {goal.goal_id[:8]} order {order}", flush=True)
        elif (update := fibonacci.update(event)) is None:
            continue
        elif update.kind == "feedback":
            print(f"planner: feedback {update.goal.goal_id[:8]} {update.value.sequence.tolist()}", flush=True)
            feedback_seen += update.goal is long_goal
            if update.goal is long_goal and feedback_seen == 3:
                fibonacci.cancel(long_goal)
                print(f"planner: canceling {long_goal.goal_id[:8]}", flush=True)
        elif update.kind == "result":
            goal = update.goal
            sequence = goal.result.sequence.tolist() if goal.result is not None else goal.error
            print(f"planner: result {goal.goal_id[:8]} {goal.status} {sequence}", flush=True)


if __name__ == "__main__":
    main()
