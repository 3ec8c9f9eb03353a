"""dora node: upper-cases std_msgs/String messages coming from the bridge.

Each input is a one-row StructArray {data: Utf8}; the output has the same
layout, so the bridge can publish it as std_msgs/msg/String.
"""
import pyarrow as pa
from dora import Node


def main():
    node = Node()
    for event in node:
        if event["type"] != "INPUT":
            continue
        messages = event["value"]  # pyarrow.StructArray, one row per ROS message
        texts = messages.field("data").to_pylist()
        upper = pa.StructArray.from_arrays([pa.array([t.upper() for t in texts])], names=["data"])
        node.send_output("text", upper, event["metadata"])


if __name__ == "__main__":
    main()
