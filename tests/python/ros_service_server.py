"""Test helper, a real rclpy service server: `ros_service_server.py SERVICE
TYPE [--delay S] [--exit-after N]` answers every call with the request's
fields copied into the response where the names match (test_msgs'
BasicTypes request and response have the same fields), after DELAY seconds.
Prints `ready` once serving, and a JSON line per call."""
import argparse
import json
import time

import rclpy
from rclpy.node import Node

from ros_node import message_class, spin_until_stopped


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("service")
    parser.add_argument("type")
    parser.add_argument("--delay", type=float, default=0.0)
    parser.add_argument("--exit-after", type=int, default=0, help="leave after N calls (0: never)")
    args = parser.parse_args()
    srv = message_class(args.type)
    rclpy.init()
    node = Node("service_server")
    calls = 0

    def handle(request, response):
        nonlocal calls
        if args.delay:
            time.sleep(args.delay)
        for field in response.get_fields_and_field_types():
            if hasattr(request, field):
                setattr(response, field, getattr(request, field))
        calls += 1
        print(json.dumps({"call": calls}), flush=True)
        return response

    node.create_service(srv, args.service, handle)
    print("ready", flush=True)
    if not args.exit_after:
        spin_until_stopped(node)
        return
    # The answer goes out when the callback returns; leave right after it.
    while rclpy.ok() and calls < args.exit_after:
        rclpy.spin_once(node, timeout_sec=0.1)
    node.destroy_node()
    rclpy.try_shutdown()


if __name__ == "__main__":
    main()
