"""Test helper, a real dora node calling ROS services through the bridge.
On its first `tick` it sends CALLS calls on each output named in
CALL_OUTPUTS (comma separated), one row per call, with int32_value = i and
metadata request_id `<output>-<i>`; every other input (the responses) is
written as a JSON line to RESULT_FILE: input id, request_id, error, and
int32_value when the row has one."""
import json
import os

import pyarrow as pa
from dora import Node


# The fields left out take their .srv defaults in the bridge.
ROW = pa.struct([("int32_value", pa.int32())])


def main():
    outputs = os.environ["CALL_OUTPUTS"].split(",")
    calls = int(os.environ.get("CALLS", "10"))
    result = open(os.environ["RESULT_FILE"], "a", buffering=1)
    node = Node()
    sent = False
    for event in node:
        if event["type"] != "INPUT":
            continue
        if event["id"] == "tick":
            if not sent:
                sent = True
                for output in outputs:
                    for i in range(calls):
                        row = pa.array([{"int32_value": i}], type=ROW)
                        node.send_output(output, row, {"request_id": f"{output}-{i}"})
            continue
        value = event["value"]
        rows = value.to_pylist()
        metadata = event["metadata"]
        result.write(json.dumps({
            "id": event["id"],
            "request_id": metadata.get("request_id"),
            "error": metadata.get("error"),
            "len": len(value),
            "int32_value": rows[0].get("int32_value") if rows else None,
        }) + "\n")


if __name__ == "__main__":
    main()
