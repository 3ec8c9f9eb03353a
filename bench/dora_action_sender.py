"""The action benchmark's dora end that sends goals (test_msgs/action/
Fibonacci rows on output `goal`, metadata goal_id: 32 hex digits) and takes
inputs `feedback` and `result` (matched by goal_id). On its first tick it
sends WARMUP order-0 goals one after the other, then:
  MODE=latency   GOALS order-0 goals one after the other, each timed from
                 sending to its result row (round trips' summary)
  MODE=feedback  one goal streaming feedback for STREAM_MS ms (see
                 bench/action_goals.py): what arrived of what was produced
and writes the summary as JSON to RESULT_FILE. A goal without a result in
GOAL_TIMEOUT seconds (default 30; a stream's own length on top) counts as
an error."""
import json
import os
import sys
import time
import uuid

from dora import Node

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from action_goals import FeedbackCount, first_numbers, goal_row, summary  # noqa: E402

LINGER = 0.5  # seconds of feedback still taken after the stream's result


def main():
    mode = os.environ.get("MODE", "latency")
    warmup = int(os.environ.get("WARMUP", "5"))
    goals = int(os.environ.get("GOALS", "100"))
    stream_ms = int(os.environ.get("STREAM_MS", "5000"))
    goal_timeout = float(os.environ.get("GOAL_TIMEOUT", "30"))
    node = Node()
    latency_goal = goal_row(0)
    pending = None  # (goal_id, sent at, timed, is stream)
    sent = 0
    rtts, errors, statuses = [], 0, {}
    count = FeedbackCount()
    out = None
    stream_end = None  # (produced, elapsed s, status) from the stream's result
    started = None
    linger_until = None

    def send(stream=False):
        nonlocal pending, sent, started
        goal_id = uuid.uuid4().hex
        timed = sent >= warmup
        if timed and started is None:
            started = time.perf_counter()
        pending = (goal_id, time.perf_counter(), timed, stream)
        node.send_output("goal", goal_row(stream_ms) if stream else latency_goal, {"goal_id": goal_id})
        sent += 1

    def next_goal():
        if mode == "latency":
            if sent < warmup + goals:
                send()
                return True
            return False
        if sent < warmup:
            send()
            return True
        if sent == warmup:
            send(stream=True)
            return True
        return False

    while True:
        if linger_until is not None and time.perf_counter() > linger_until:
            break
        event = node.next(timeout=0.1 if linger_until is not None else 1.0)
        now = time.perf_counter()
        if event is None or event["type"] == "STOP":
            if linger_until is None:
                out = {"error": "dora stopped the sender before the end" if event else "the sender's inputs closed"}
            break
        if pending is not None and linger_until is None:
            limit = goal_timeout + (stream_ms / 1000 if pending[3] else 0)
            if now - pending[1] > limit:
                print(f"goal {pending[0]}: no result in {limit:.0f} s", file=sys.stderr, flush=True)
                errors += pending[2]
                statuses["timeout"] = statuses.get("timeout", 0) + 1
                if pending[3]:
                    out = {"error": f"the stream goal had no result in {limit:.0f} s"}
                    break
                pending = None
                if not next_goal():
                    break
                continue
        if event["type"] != "INPUT":
            continue
        input_id, metadata = event["id"], event["metadata"]
        if input_id == "tick":
            if sent == 0:
                next_goal()
            continue
        if pending is None or metadata.get("goal_id") != pending[0]:
            continue  # a late row of an earlier goal (or of a warm-up goal resent)
        if input_id == "feedback":
            for k in first_numbers(event["value"]):
                count.add(k, now)
            continue
        if input_id != "result":
            continue
        if linger_until is not None:
            continue
        status = metadata.get("status", "succeeded")
        statuses[status] = statuses.get(status, 0) + 1
        goal_id, sent_at, timed, stream = pending
        if stream:
            sequence = event["value"].to_pylist()[0]["sequence"] if len(event["value"]) else []
            if status != "succeeded" or len(sequence) < 2:
                out = {"error": f"stream goal ended {status} {metadata.get('error', '')} {sequence}"}
                break
            stream_end = (sequence[0], sequence[1] / 1e6, status)
            linger_until = now + LINGER  # feedback may still be on its way: keep pending
            continue
        if timed:
            if status == "succeeded":
                rtts.append((now - sent_at) * 1000)
            else:
                errors += 1
                print(f"goal {goal_id}: {status} {metadata.get('error', '')}", file=sys.stderr, flush=True)
        pending = None
        if not next_goal():
            break
    if out is None and mode == "latency":
        out = summary(rtts, time.perf_counter() - (started or time.perf_counter()), errors)
    elif out is None and stream_end is not None:
        out = count.summary(*stream_end)
    out = out or {"error": "stopped before the end"}
    out["statuses"] = statuses
    with open(os.environ["RESULT_FILE"] + ".tmp", "w") as f:
        json.dump(out, f)
    os.rename(os.environ["RESULT_FILE"] + ".tmp", os.environ["RESULT_FILE"])


if __name__ == "__main__":
    main()
