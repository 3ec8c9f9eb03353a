"""dora node: prints what reaches it from the bridge, and the bridge's health
events, one line each (`monitor: ...`)."""
from dora import Node


def main():
    node = Node()
    for event in node:
        kind = event["type"]
        if kind == "INPUT" and event["id"] == "chatter":
            text = event["value"][0]["data"].as_py()
            publisher = event["metadata"].get("ros_publisher_node", "(not yet in the graph)")
            print(f"monitor: data {text!r} from {publisher}", flush=True)
        elif kind == "NODE_FAILED":
            value = event["value"]
            error = value["error"].strip().splitlines()[-1]
            print(f"monitor: NodeFailed from `{value['source_node_id']}`: {error}", flush=True)
        elif kind == "NODE_RESTARTED":
            print(f"monitor: NodeRestarted `{event['id']}`", flush=True)
        elif kind == "STOP":
            print(f"monitor: Stop ({event['id']})", flush=True)


if __name__ == "__main__":
    main()
