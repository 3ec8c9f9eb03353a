"""dora node on `compute`: appends to each std_msgs/String the address of
the host it runs on, and sends it on (metadata included) to the bridge there."""
import os
import socket

from dora import Node

from ros2_dora_bridge import messages, rows


def own_address():
    """This host's address on the link to `robot` (no packet is sent)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.connect((os.environ["ROBOT_ADDR"], 9))
        return s.getsockname()[0]


def main():
    here = own_address()
    node = Node()
    for event in node:
        if event["type"] == "INPUT":
            marked = [{"data": f"{r.data}, through dora on {here}"} for r in rows(event)]
            node.send_output("chatter", messages("std_msgs/msg/String", marked), event["metadata"])


if __name__ == "__main__":
    main()
