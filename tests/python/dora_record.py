"""Test helper, a real dora node that records what it receives.

Appends one JSON line per event to the file named by RECORD_FILE:
  {"event": "INPUT", "id": ..., "arrow_type": ..., "class": ..., "len": ...,
   "value": [...], "metadata": {...}}
and one line for other events (STOP, INPUT_CLOSED, NODE_FAILED, ...) with
their fields. Every line has "t", the wall-clock time it was received.
Inputs with id "tick" are not recorded: wire a dora timer to `tick` to keep
an input open, so NODE_FAILED is seen even after the other inputs close
(dora may stop a node whose inputs all closed before NODE_FAILED arrives).
With RECORD_EXIT_AFTER=N and RECORD_EXIT_ONCE_FILE=PATH it exits with code
1 after N inputs, once: it creates PATH first, and a run that finds PATH
records {"restarted": true} when it starts (restart tests).
"""
import json
import os
import sys
import time

from dora import Node


def plain(value):
    try:
        json.dumps(value)
        return value
    except TypeError:
        return str(value)


def main():
    path = os.environ["RECORD_FILE"]
    exit_after = int(os.environ.get("RECORD_EXIT_AFTER", "0"))
    once = os.environ.get("RECORD_EXIT_ONCE_FILE", "")
    restarted = bool(once) and os.path.exists(once)
    inputs = 0
    node = Node()
    with open(path, "a", encoding="utf-8") as out:
        if restarted:
            out.write(json.dumps({"restarted": True, "t": time.time()}) + "\n")
            out.flush()
        for event in node:
            kind = event["type"]
            record = {"event": kind, "t": time.time()}
            if kind == "INPUT" and event["id"] == "tick":
                continue
            if kind == "INPUT":
                value = event["value"]
                record.update(
                    id=event["id"],
                    arrow_type=str(value.type),
                    **{"class": type(value).__name__},
                    len=len(value),
                    value=value.to_pylist(),
                    metadata={k: plain(v) for k, v in event["metadata"].items()},
                )
            else:
                for key, value in event.items():
                    if key not in ("type", "metadata"):
                        record[key] = plain(value)
            out.write(json.dumps(record) + "\n")
            out.flush()
            inputs += kind == "INPUT"
            if exit_after and once and not restarted and inputs >= exit_after:
                open(once, "w").close()
                sys.exit(1)


if __name__ == "__main__":
    main()
