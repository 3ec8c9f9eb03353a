"""Test helper, a dora node reading and setting another ROS node's
parameters through `parameter_clients` routes.

At its first `tick` it sends one row per call on `params` (the node's
route) and one on `nobody` (a node that does not exist): list; get gain
and limits; describe robot_id; set gain to a string, robot_id (read-only)
and gain to 2.5; get a missing parameter. When the set of gain to 2.5 is
answered it gets gain again (`get-gain-after`). Appends to RESULT_FILE a
JSON line per answer, {"id": request_id, "error", "error_code", "row"},
and per `param_events` row, {"event": node, "changed": {name: value}}."""
import json
import os

import pyarrow as pa
from dora import Node

REQUEST = pa.struct([("op", pa.string()), ("name", pa.string())])


def request(op, name=""):
    return pa.array([{"op": op, "name": name}], type=REQUEST)


def set_request(name, value, value_type):
    row_type = pa.struct([("op", pa.string()), ("name", pa.string()), ("value", value_type)])
    return pa.array([{"op": "set", "name": name, "value": value}], type=row_type)


CALLS = [
    ("params", "list", request("list")),
    ("params", "get-gain", request("get", "gain")),
    ("params", "get-limits", request("get", "limits")),
    ("params", "describe-robot_id", request("describe", "robot_id")),
    ("params", "set-gain-string", set_request("gain", "fast", pa.string())),
    ("params", "set-robot_id", set_request("robot_id", 8, pa.int64())),
    ("params", "get-missing", request("get", "missing")),
    ("params", "set-gain", set_request("gain", 2.5, pa.float64())),
    ("nobody", "nobody-get", request("get", "x")),
]


def changed_values(event_row):
    """{name: the value's set field} of a ParameterEvent row."""
    out = {}
    for parameter in event_row["changed_parameters"]:
        value = parameter["value"]
        field = ["", "bool_value", "integer_value", "double_value", "string_value"][value["type"]] \
            if value["type"] <= 4 else None
        out[parameter["name"]] = value.get(field) if field else value["type"]
    return out


def main():
    node = Node()
    started = False
    with open(os.environ["RESULT_FILE"], "a", encoding="utf-8") as out:
        def write(record):
            out.write(json.dumps(record) + "\n")
            out.flush()

        for event in node:
            if event["type"] != "INPUT":
                continue
            if event["id"] == "tick":
                if not started:
                    started = True
                    for output, request_id, row in CALLS:
                        node.send_output(output, row, {"request_id": request_id})
                continue
            rows = event["value"].to_pylist()
            if event["id"] == "param_events":
                for row in rows:
                    write({"event": row["node"], "changed": changed_values(row)})
                continue
            metadata = event["metadata"]
            request_id = metadata.get("request_id")
            write({"id": request_id, "error": metadata.get("error"),
                   "error_code": metadata.get("error_code"), "row": rows[0] if rows else None})
            if request_id == "set-gain" and metadata.get("error") is None:
                node.send_output("params", request("get", "gain"), {"request_id": "get-gain-after"})


if __name__ == "__main__":
    main()
