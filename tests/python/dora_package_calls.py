"""Test helper, a dora node calling ROS services and actions with the
package's ServiceClient and ActionClient only: at the first tick it calls
/set_mode (SetBool, data true) and /nobody (no server), and sends two
Fibonacci goals (orders 4 and 1). Appends a JSON line per outcome to
RESULT_FILE: {"call": name, "ok", "error", "response"} and
{"goal": order, "status", "error", "result", "feedback", "statuses"}."""
import json
import os

from dora import Node

from ros2_dora_bridge import ActionClient, ServiceClient


def main():
    node = Node()
    set_mode = ServiceClient(node, "std_srvs/srv/SetBool", request="set_mode_request", response="set_mode_response")
    nobody = ServiceClient(node, "std_srvs/srv/SetBool", request="nobody_request", response="nobody_response")
    fib = ActionClient(node, "test_msgs/action/Fibonacci", goal="fib_goal", result="fib_result",
                       feedback="fib_feedback", status="fib_status")
    names, orders, feedback, statuses, started = {}, {}, {}, {}, False
    with open(os.environ["RESULT_FILE"], "a", encoding="utf-8") as out:
        def write(record):
            out.write(json.dumps(record) + "\n")
            out.flush()

        for event in node:
            if event["type"] != "INPUT":
                continue
            if event["id"] == "tick" and not started:
                started = True
                names[set_mode.call(data=True)] = "set_mode"
                names[nobody.call({"data": False})] = "nobody"
                for order in (4, 1):
                    orders[fib.send_goal(order=order).goal_id] = order
            for client in (set_mode, nobody):
                if (answer := client.answer(event)) is not None:
                    write({"call": names[answer.request_id], "ok": answer.ok, "error": answer.error,
                           "response": answer.response.as_dict() if answer.ok else None})
            if (update := fib.update(event)) is not None:
                goal_id = update.goal.goal_id
                if update.kind == "feedback":
                    feedback.setdefault(goal_id, []).append(update.value.sequence.tolist())
                elif update.kind == "status":
                    statuses.setdefault(goal_id, []).append(update.goal.status)
                else:
                    result = update.goal.result
                    write({"goal": orders[goal_id], "status": update.goal.status, "error": update.goal.error,
                           "result": result.sequence.tolist() if result is not None else None,
                           "feedback": feedback.get(goal_id, []), "statuses": statuses.get(goal_id, [])})


if __name__ == "__main__":
    main()
