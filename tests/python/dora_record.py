"""Test helper, a real dora node that records what it receives.

Appends one JSON line per event to the file named by RECORD_FILE:
  {"event": "INPUT", "id": ..., "arrow_type": ..., "class": ..., "len": ...,
   "value": [...], "metadata": {...}}
and one line for other events (STOP, INPUT_CLOSED, ...).
"""
import json
import os

from dora import Node


def plain(value):
    try:
        json.dumps(value)
        return value
    except TypeError:
        return str(value)


def main():
    path = os.environ["RECORD_FILE"]
    node = Node()
    with open(path, "a", encoding="utf-8") as out:
        for event in node:
            kind = event["type"]
            record = {"event": kind}
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
            elif "id" in event:
                record["id"] = event["id"]
            out.write(json.dumps(record) + "\n")
            out.flush()


if __name__ == "__main__":
    main()
