"""Test helper, a real rclpy node that watches the ROS graph.

  python ros_graph.py [--topic T ...]

Prints a JSON line whenever what it sees changes, and once at start:
  {"t": wall-clock, "nodes": [fully qualified names], "publishers": {T: count}}
Checks every 20 ms, so times it reports are good to about that.
"""
import argparse
import json
import time

import rclpy

from ros_node import spin_until_stopped


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--topic", action="append", default=[])
    args = parser.parse_args()
    rclpy.init()
    node = rclpy.create_node("test_graph_watch")
    last = None

    def check():
        nonlocal last
        nodes = sorted(
            (ns.rstrip("/") + "/" + name) for name, ns in node.get_node_names_and_namespaces()
        )
        pubs = {t: node.count_publishers(t) for t in args.topic}
        now = (nodes, pubs)
        if now != last:
            last = now
            print(json.dumps({"t": time.time(), "nodes": nodes, "publishers": pubs}), flush=True)

    node.create_timer(0.02, check)
    spin_until_stopped(node)


if __name__ == "__main__":
    main()
