"""Test helper, a real rclpy service client: `ros_service_client.py SERVICE
TYPE N` waits for the service, makes one warm-up call and waits for its
answer (so that both ends have matched each other: a DDS writer can see a
reader before that reader has matched it, and requests sent then are
delivered only from the writer's history, keep-last 10 by default), then
sends N calls at once (int32_value = i) through a client whose response
history holds them all (depth 100: with rclpy's default 10, answers
arriving faster than rclpy takes them overwrite each other, whoever the
server is),
waits for every answer (30 s at most) and prints one JSON line:
{"sent": N, "answered": a, "correct": c} where correct answers echo their
call's int32_value. With `--expect-absent` it only checks that no server
is there and prints {"server": false}."""
import argparse
import json
import time

import rclpy
from rclpy.node import Node
from rclpy.qos import QoSProfile

from ros_node import message_class


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("service")
    parser.add_argument("type")
    parser.add_argument("count", type=int)
    args = parser.parse_args()
    srv = message_class(args.type)
    rclpy.init()
    node = Node("service_client")
    client = node.create_client(srv, args.service, qos_profile=QoSProfile(depth=100))
    if not client.wait_for_service(timeout_sec=60.0):
        print(json.dumps({"server": False}), flush=True)
        return
    warm_up = client.call_async(srv.Request())
    rclpy.spin_until_future_complete(node, warm_up, timeout_sec=30.0)
    if not warm_up.done():
        print(json.dumps({"warm_up": "unanswered"}), flush=True)
        return
    futures = []
    for i in range(args.count):
        request = srv.Request()
        request.int32_value = i
        futures.append((i, client.call_async(request)))
    deadline = time.monotonic() + 30.0
    while time.monotonic() < deadline and not all(f.done() for _, f in futures):
        rclpy.spin_once(node, timeout_sec=0.1)
    answered = [(i, f.result()) for i, f in futures if f.done() and f.result() is not None]
    correct = sum(1 for i, r in answered if r.int32_value == i)
    print(json.dumps({"sent": args.count, "answered": len(answered), "correct": correct}), flush=True)
    node.destroy_node()
    rclpy.try_shutdown()


if __name__ == "__main__":
    main()
