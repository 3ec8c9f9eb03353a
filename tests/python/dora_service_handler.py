"""Test helper, a real dora node serving a ROS service through the bridge:
every row on input `request` is answered on output `response` with the
same row (test_msgs' BasicTypes request and response have the same fields)
and the request's request_id. Before its first answer it sends one answer
for a request_id no call has (`no-such-call`), which the bridge must count
and drop. With HANDLER_EXIT_AFTER=N it exits with code 1 after N answers
the first time it runs (a marker file in its working directory says it ran).
With HANDLER_PAUSE="N:S" it stops for S seconds after N answers (a stall)."""
import os
import sys
import time

from dora import Node


def main():
    node = Node()
    exit_after = int(os.environ.get("HANDLER_EXIT_AFTER", "0"))
    if os.path.exists("handler_ran_before"):
        exit_after = 0
    pause_after, pause_s = (os.environ.get("HANDLER_PAUSE") or "0:0").split(":")
    answered = 0
    bogus_sent = False
    for event in node:
        if event["type"] != "INPUT" or event["id"] != "request":
            continue
        if not bogus_sent:
            bogus_sent = True
            node.send_output("response", event["value"], {"request_id": "no-such-call"})
        request_id = event["metadata"]["request_id"]
        node.send_output("response", event["value"], {"request_id": request_id})
        answered += 1
        if answered == int(pause_after):
            time.sleep(float(pause_s))
        if exit_after and answered >= exit_after:
            open("handler_ran_before", "w").close()
            print("handler exits on purpose", file=sys.stderr, flush=True)
            sys.exit(1)


if __name__ == "__main__":
    main()
