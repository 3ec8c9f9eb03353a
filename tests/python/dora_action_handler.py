"""Test helper, a real dora node carrying out test_msgs/action/Fibonacci
goals for the bridge's `action_servers` route.

Every row on input `goal` (metadata goal_id) of order n runs as the ROS
helper ros_action_server.py does: n feedback rows on output `feedback`, one
every HANDLER_PERIOD seconds (default 0.05), the k-th holding the first
k + 1 Fibonacci numbers ([0, 1], [0, 1, 1], ...), then, one period after
the last feedback, a row on output `result` with the first n + 1 numbers
and metadata goal_id only (status left to its default, succeeded). dora
does not keep the order between two outputs (the receiver's scheduler
takes its inputs in turn), so a result sent right behind the last feedback
could overtake it. Goals run interleaved: the event loop waits
with a timeout and each goal keeps its own state. A row on input `cancel`
(metadata goal_id) for a running goal ends it at once with a result of
status "canceled" and the sequence so far; cancels for other ids are only
logged. HANDLER_ABORT_BELOW=K: goals of order below K end at once with
status "aborted" (sequence [0]).

Before its first goal, each run sends one `feedback` row for goal_id
00000000000000000000000000000000, a goal no one sent, that the bridge must
count and drop. With HANDLER_EXIT_AFTER_FEEDBACK=N it exits with code 1
after N feedback rows (that one not counted) the first time it runs (the
marker file `handler_ran_before` in its working directory says it ran).
With HANDLER_ECHO=1 it serves an action whose goal, feedback and result
have the same fields (test_msgs/action/NestedMessage): each goal row comes
back once as feedback and, one period later, as the result.
With HANDLER_DECIDES=K (the route has `accept:`) it answers each goal on
output `accept` before running it: rejected (with a reason) for orders
below K, no answer at all for order 99 (the bridge's accept_timeout
rejects it), accepted otherwise.
What it does is logged on stderr."""
import os
import sys
import time

import pyarrow as pa
from dora import Node

UNKNOWN_GOAL = "0" * 32


def sequence_row(sequence):
    return pa.StructArray.from_arrays([pa.array([sequence], type=pa.list_(pa.int32()))], names=["sequence"])


def log(text):
    print(text, file=sys.stderr, flush=True)


def main():
    period = float(os.environ.get("HANDLER_PERIOD") or 0.05)
    abort_below = int(os.environ.get("HANDLER_ABORT_BELOW") or 0)
    decides = os.environ.get("HANDLER_DECIDES")
    exit_after = int(os.environ.get("HANDLER_EXIT_AFTER_FEEDBACK") or 0)
    if os.path.exists("handler_ran_before"):
        exit_after = 0
    node = Node()
    goals = {}  # goal_id -> {"order", "sequence", "due"}
    feedback_sent = 0
    bogus_sent = False

    def finish(goal_id, status=None):
        goal = goals.pop(goal_id)
        node.send_output("result", sequence_row(goal["sequence"]), {"goal_id": goal_id, **({"status": status} if status else {})})
        log(f"result goal_id={goal_id} order={goal['order']} status={status or 'default'} sequence={goal['sequence']}")

    while True:
        now = time.monotonic()
        for goal_id, goal in list(goals.items()):
            if goal["due"] > now:
                continue
            sequence = goal["sequence"]
            if len(sequence) == goal["order"] + 1:
                finish(goal_id)
                continue
            sequence.append(1 if len(sequence) == 1 else sequence[-1] + sequence[-2])
            node.send_output("feedback", sequence_row(sequence), {"goal_id": goal_id})
            feedback_sent += 1
            log(f"feedback goal_id={goal_id} sequence={sequence}")
            if exit_after and feedback_sent >= exit_after:
                open("handler_ran_before", "w").close()
                log("exits on purpose")
                sys.exit(1)
            goal["due"] = now + period
        wait = min((g["due"] for g in goals.values()), default=now + 0.5) - time.monotonic()
        event = node.next(timeout=min(max(wait, 0.005), 0.5))
        if event is None or event["type"] == "STOP":
            break
        if event["type"] != "INPUT":  # ERROR on timeout: nothing came
            continue
        goal_id = event["metadata"].get("goal_id")
        if event["id"] == "goal" and os.environ.get("HANDLER_ECHO") == "1":
            node.send_output("feedback", event["value"], {"goal_id": goal_id})
            time.sleep(period)
            node.send_output("result", event["value"], {"goal_id": goal_id})
            log(f"echoed goal_id={goal_id}")
        elif event["id"] == "goal":
            if not bogus_sent:
                bogus_sent = True
                node.send_output("feedback", sequence_row([0]), {"goal_id": UNKNOWN_GOAL})
                log(f"feedback for unknown goal_id={UNKNOWN_GOAL}")
            order = event["value"].to_pylist()[0]["order"]
            if decides is not None:
                nothing = pa.array([{}], type=pa.struct([]))
                if order == 99:
                    log(f"no decision for goal_id={goal_id}")
                    continue
                if order < int(decides):
                    node.send_output("accept", nothing, {"goal_id": goal_id, "status": "rejected",
                                                         "error": f"order {order} is too small"})
                    log(f"rejected goal_id={goal_id} order={order}")
                    continue
                node.send_output("accept", nothing, {"goal_id": goal_id, "status": "accepted"})
            goals[goal_id] = {"order": order, "sequence": [0], "due": time.monotonic() + period}
            log(f"goal goal_id={goal_id} order={order}")
            if order < abort_below:
                finish(goal_id, "aborted")
            elif order <= 0:
                finish(goal_id)
        elif event["id"] == "cancel":
            if goal_id in goals:
                finish(goal_id, "canceled")
            else:
                log(f"cancel for goal_id={goal_id}, not running")


if __name__ == "__main__":
    main()
