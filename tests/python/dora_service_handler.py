"""Test helper, a real dora node serving a ROS service through the bridge:
every row on input `request` is answered on output `response` with the
same row (test_msgs' BasicTypes request and response have the same fields)
and the request's request_id. Before its first answer it sends one answer
for a request_id no call has (`no-such-call`), which the bridge must count
and drop."""
from dora import Node


def main():
    node = Node()
    bogus_sent = False
    for event in node:
        if event["type"] != "INPUT" or event["id"] != "request":
            continue
        if not bogus_sent:
            bogus_sent = True
            node.send_output("response", event["value"], {"request_id": "no-such-call"})
        request_id = event["metadata"]["request_id"]
        node.send_output("response", event["value"], {"request_id": request_id})


if __name__ == "__main__":
    main()
