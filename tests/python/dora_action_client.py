"""Test helper, a real dora node sending test_msgs/action/Fibonacci goals
through the bridge's `action_clients` route and recording what comes back.

Environment:
- GOALS: comma-separated orders ("5,3"), one goal row each on output `goal`;
- GOAL_IDS (optional): comma-separated 32-hex-digit ids, the i-th one goes
  in the i-th goal's metadata `goal_id`; an empty or missing entry sends no
  goal_id (the bridge makes one);
- CANCEL_AFTER_FEEDBACK=K (optional): once a goal had K feedback rows, one
  row on output `cancel` with that goal's goal_id (as the feedback's
  metadata named it);
- CANCEL_ALL_AFTER_FEEDBACK=K (optional): once any goal had K feedback
  rows, one row on `cancel` without goal_id (cancel every goal), once;
- SEND_WHEN (optional): the id of an input (say `tick`); the goals go out
  when it first fires, not at start. It is not recorded.
Every other input (`feedback`, `result`, `status`, ...) is appended to
`action_events.jsonl` in the working directory, one flushed JSON line each:
{"input", "goal_id", "status", "error", "rows", "value"} (metadata
goal_id/status/error, or null; the number of rows; the rows). Once it has
had as many `result` inputs as it sent goals it records for LINGER seconds
more (dora may hand a goal's last feedback over after its result: the
receiver takes its inputs in turn) and exits; it also leaves on STOP."""
import json
import os
import sys
import time

import pyarrow as pa
from dora import Node

LINGER = 0.5


def env_list(name):
    text = os.environ.get(name, "")
    return text.split(",") if text else []


def goal_row(order):
    return pa.StructArray.from_arrays([pa.array([order], type=pa.int32())], names=["order"])


def main():
    orders = [int(n) for n in env_list("GOALS")]
    goal_ids = env_list("GOAL_IDS")
    cancel_after = int(os.environ.get("CANCEL_AFTER_FEEDBACK") or 0)
    cancel_all_after = int(os.environ.get("CANCEL_ALL_AFTER_FEEDBACK") or 0)
    send_when = os.environ.get("SEND_WHEN")
    node = Node()
    out = open("action_events.jsonl", "a", encoding="utf-8")
    sent = False
    results = 0
    feedbacks = {}  # goal_id -> feedback rows so far
    canceled_all = False

    def send_goals():
        for i, order in enumerate(orders):
            goal_id = goal_ids[i] if i < len(goal_ids) else ""
            node.send_output("goal", goal_row(order), {"goal_id": goal_id} if goal_id else {})
            print(f"sent goal order={order} goal_id={goal_id or '(bridge makes one)'}", file=sys.stderr, flush=True)

    if not send_when:
        send_goals()
        sent = True
    linger_until = None
    while linger_until is None or time.monotonic() < linger_until:
        event = node.next() if linger_until is None else node.next(timeout=0.05)
        if event is None or event["type"] == "STOP":
            break
        if event["type"] != "INPUT":
            continue
        input_id, md, value = event["id"], event["metadata"], event["value"]
        if input_id == send_when:
            if not sent:
                send_goals()
                sent = True
            continue
        out.write(json.dumps({
            "input": input_id,
            "goal_id": md.get("goal_id"),
            "status": md.get("status"),
            "error": md.get("error"),
            "rows": len(value),
            "value": value.to_pylist(),
        }, default=str) + "\n")
        out.flush()
        if input_id == "feedback":
            goal_id = md.get("goal_id")
            feedbacks[goal_id] = feedbacks.get(goal_id, 0) + len(value)
            if cancel_after and feedbacks[goal_id] - len(value) < cancel_after <= feedbacks[goal_id]:
                node.send_output("cancel", pa.array([0]), {"goal_id": goal_id})
                print(f"sent cancel goal_id={goal_id}", file=sys.stderr, flush=True)
            if cancel_all_after and not canceled_all and feedbacks[goal_id] >= cancel_all_after:
                canceled_all = True
                node.send_output("cancel", pa.array([0]))
                print("sent cancel for every goal", file=sys.stderr, flush=True)
        elif input_id == "result":
            results += 1
            print(f"result {results}/{len(orders)}: goal_id={md.get('goal_id')} status={md.get('status')}",
                  file=sys.stderr, flush=True)
            if sent and results == len(orders):
                linger_until = time.monotonic() + LINGER
    out.close()


if __name__ == "__main__":
    main()
