"""dora node: prints what reaches it from the bridge, and the bridge's health
events, one line each (`monitor: ...`)."""
from dora import Node

from ros2_dora_bridge import Metadata, row


def main():
    node = Node()
    for event in node:
        kind = event["type"]
        if kind == "INPUT" and event["id"] == "chatter":
            publisher = Metadata(event).publisher_node or "(not yet in the graph)"
            print(f"monitor: data {row(event).data!r} from {publisher}", flush=True)
        elif kind == "NODE_FAILED":
            error = event["value"]["error"].strip().splitlines()[-1]
            print(f"monitor: NodeFailed from `{event['value']['source_node_id']}`: {error}", flush=True)
        elif kind == "NODE_RESTARTED":
            print(f"monitor: NodeRestarted `{event['id']}`", flush=True)
        elif kind == "STOP":
            print(f"monitor: Stop ({event['id']})", flush=True)


if __name__ == "__main__":
    main()
