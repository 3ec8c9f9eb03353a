"""dora node on `compute`: appends to each std_msgs/String the address of
the host it runs on, and sends it on (metadata included) to the bridge there.

Each input is a one-row StructArray {data: Utf8}; the output has the same
layout, so the bridge can publish it as std_msgs/msg/String.
"""
import os
import socket

import pyarrow as pa
from dora import Node


def own_address():
    """This host's address on the link to `robot` (no packet is sent)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.connect((os.environ["ROBOT_ADDR"], 9))
        return s.getsockname()[0]


def main():
    here = own_address()
    node = Node()
    for event in node:
        if event["type"] != "INPUT":
            continue
        texts = event["value"].field("data").to_pylist()
        marked = [f"{t}, through dora on {here}" for t in texts]
        node.send_output("chatter", pa.StructArray.from_arrays([pa.array(marked)], names=["data"]), event["metadata"])


if __name__ == "__main__":
    main()
