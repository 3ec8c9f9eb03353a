"""Test helper, a real rclpy service server:
`ros_service_server.py SERVICE TYPE [SERVICE TYPE ...] [--delay S] [--exit-after N]`
serves each SERVICE. Every call is answered with the request's fields copied
into the response where the names match (test_msgs' BasicTypes request and
response have the same fields; std_srvs' SetBool and Trigger answer
success = the request's data (or true) and a message), after DELAY seconds.
Prints `ready` once serving, {"handling": n} when a call starts and
{"call": n} when it is answered; with --exit-after N it leaves right after
answering N calls."""
import argparse
import json
import time

import rclpy
from rclpy.node import Node

from ros_node import message_class, spin_until_stopped


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("services", nargs="+", help="SERVICE TYPE pairs")
    parser.add_argument("--delay", type=float, default=0.0)
    parser.add_argument("--exit-after", type=int, default=0, help="leave after N calls (0: never)")
    args = parser.parse_args()
    pairs = list(zip(args.services[::2], args.services[1::2]))
    rclpy.init()
    node = Node("service_server")
    calls = 0

    def handler(service):
        def handle(request, response):
            nonlocal calls
            print(json.dumps({"handling": calls + 1, "service": service}), flush=True)
            if args.delay:
                time.sleep(args.delay)
            for field in response.get_fields_and_field_types():
                if hasattr(request, field):
                    setattr(response, field, getattr(request, field))
            if hasattr(response, "success"):
                response.success = bool(getattr(request, "data", True))
                response.message = f"{service} done"
            calls += 1
            print(json.dumps({"call": calls, "service": service}), flush=True)
            return response
        return handle

    for service, type_name in pairs:
        node.create_service(message_class(type_name), service, handler(service))
    print("ready", flush=True)
    if not args.exit_after:
        spin_until_stopped(node)
        return
    # The answer goes out when the callback returns; leave right after it.
    while rclpy.ok() and calls < args.exit_after:
        rclpy.spin_once(node, timeout_sec=0.1)
    # Without spinning (no further call is taken), give DDS a moment to
    # send the last answer: destroying the node at once can drop it on a
    # loaded machine (seen: the bridge then rightly failed that call).
    time.sleep(0.3)
    node.destroy_node()
    rclpy.try_shutdown()


if __name__ == "__main__":
    main()
