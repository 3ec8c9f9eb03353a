"""Test helper, a real dora node that sends Arrow messages.

On every input event (wire it to a dora timer) sends SEND_JSON, a list of
rows (dicts), as one pyarrow StructArray on output SEND_OUTPUT.
"""
import json
import os

import pyarrow as pa
from dora import Node


def main():
    rows = json.loads(os.environ["SEND_JSON"])
    output = os.environ.get("SEND_OUTPUT", "out")
    array = pa.array(rows)
    assert isinstance(array, pa.StructArray), array.type
    node = Node()
    for event in node:
        if event["type"] == "INPUT":
            node.send_output(output, array)


if __name__ == "__main__":
    main()
