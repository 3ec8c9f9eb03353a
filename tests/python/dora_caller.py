"""Test helper, a real dora node calling ROS services through the bridge.

On its first `tick` it sends its calls, one row per call:
- CALL_OUTPUTS (comma separated) and CALLS=N: N calls on each output, with
  int32_value = i and request_id `<output>-<i>`;
- CALL_SPEC, a JSON list of {"output", "request_id", "row", "types"}: one
  call each; `types` maps field names to pyarrow type names (int32, bool,
  string, ...), and a value {"repeat": s, "times": n} stands for s * n.
Every other input (the answers) is written as a JSON line to RESULT_FILE:
input id, request_id, error, the number of rows, and the row itself."""
import json
import os

import pyarrow as pa
from dora import Node

# The fields left out take their .srv defaults in the bridge.
BURST_ROW = pa.struct([("int32_value", pa.int32())])


def expand(value):
    if isinstance(value, dict) and set(value) == {"repeat", "times"}:
        return value["repeat"] * value["times"]
    return value


def spec_call(spec):
    row = {k: expand(v) for k, v in spec["row"].items()}
    types = spec.get("types", {})
    fields = [(name, getattr(pa, types.get(name, "string"))()) for name in row]
    return spec["output"], pa.array([row], type=pa.struct(fields)), spec["request_id"]


def calls():
    for output in filter(None, os.environ.get("CALL_OUTPUTS", "").split(",")):
        for i in range(int(os.environ.get("CALLS", "10"))):
            yield output, pa.array([{"int32_value": i}], type=BURST_ROW), f"{output}-{i}"
    for spec in json.loads(os.environ.get("CALL_SPEC", "[]")):
        yield spec_call(spec)


def main():
    result = open(os.environ["RESULT_FILE"], "a", buffering=1)
    node = Node()
    sent = False
    for event in node:
        if event["type"] != "INPUT":
            continue
        if event["id"] == "tick":
            if not sent:
                sent = True
                for output, row, request_id in calls():
                    node.send_output(output, row, {"request_id": request_id})
            continue
        rows = event["value"].to_pylist()
        result.write(json.dumps({
            "id": event["id"],
            "request_id": event["metadata"].get("request_id"),
            "error": event["metadata"].get("error"),
            "len": len(rows),
            "row": rows[0] if rows else None,
            "int32_value": rows[0].get("int32_value") if rows else None,
        }, default=str) + "\n")


if __name__ == "__main__":
    main()
