"""The service benchmark's dora end: on its first tick makes WARMUP calls
one at a time, then CALLS calls keeping IN_FLIGHT outstanding, on output
`call`, answers on input `answer` (matched by request_id); writes the
summary (round trips, calls per second) as JSON to RESULT_FILE.
PAYLOAD: small | 1MB (bench/service_calls.py)."""
import json
import os
import sys
import time

import pyarrow as pa
from dora import Node

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from service_calls import SERVICES, summary  # noqa: E402


def main():
    _, row = SERVICES[os.environ["PAYLOAD"]]
    request = pa.array([row])
    warmup = int(os.environ.get("WARMUP", "5"))
    calls = int(os.environ.get("CALLS", "50"))
    in_flight = int(os.environ.get("IN_FLIGHT", "1"))
    node = Node()
    sent_at = {}
    rtts, errors = [], 0
    next_call, started = 0, None

    def send():
        nonlocal next_call
        request_id = str(next_call)
        sent_at[request_id] = time.perf_counter()
        node.send_output("call", request, {"request_id": request_id})
        next_call += 1

    for event in node:
        if event["type"] != "INPUT":
            if event["type"] == "STOP":
                break
            continue
        if event["id"] == "tick":
            if next_call == 0:
                send()
            continue
        request_id = event["metadata"]["request_id"]
        took = (time.perf_counter() - sent_at.pop(request_id)) * 1000
        index = int(request_id)
        if index >= warmup:
            if "error" in event["metadata"]:
                errors += 1
            else:
                rtts.append(took)
        done = len(rtts) + errors
        if done >= calls:
            elapsed = time.perf_counter() - started
            with open(os.environ["RESULT_FILE"], "w") as f:
                json.dump(summary(rtts, elapsed, errors), f)
            break
        if next_call < warmup:
            send()
            continue
        if started is None:
            started = time.perf_counter()
        while next_call < warmup + calls and len(sent_at) < in_flight:
            send()


if __name__ == "__main__":
    main()
