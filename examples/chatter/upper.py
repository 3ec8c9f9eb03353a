"""dora node: upper-cases the std_msgs/String messages the bridge hands it
and sends them back (metadata passed on, so the bridge can count losses)."""
from dora import Node

from ros2_dora_bridge import messages, rows


def main():
    node = Node()
    for event in node:
        if event["type"] == "INPUT":
            upper = messages("std_msgs/msg/String", [{"data": r.data.upper()} for r in rows(event)])
            node.send_output("text", upper, event["metadata"])


if __name__ == "__main__":
    main()
