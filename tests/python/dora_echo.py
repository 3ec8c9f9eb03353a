"""Test helper, a real dora node that sends every input straight back out on
the output of the same id (metadata included)."""
from dora import Node


def main():
    node = Node()
    for event in node:
        if event["type"] == "INPUT":
            node.send_output(event["id"], event["value"], event["metadata"])


if __name__ == "__main__":
    main()
