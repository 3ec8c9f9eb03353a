"""Test helper, a real dora node that sends every input straight back out on
the output of the same id (metadata included). ECHO_DELAY (seconds, default
0) makes it that slow per message."""
import os
import time

from dora import Node


def main():
    delay = float(os.environ.get("ECHO_DELAY", "0"))
    node = Node()
    for event in node:
        if event["type"] == "INPUT":
            if delay:
                time.sleep(delay)
            node.send_output(event["id"], event["value"], event["metadata"])


if __name__ == "__main__":
    main()
