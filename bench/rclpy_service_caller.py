"""The service benchmark's plain ROS end: an rclpy client calling SERVICE
directly, WARMUP calls one at a time, then CALLS calls with IN_FLIGHT
outstanding; prints the summary as one JSON line.
Usage: rclpy_service_caller.py SERVICE PAYLOAD CALLS IN_FLIGHT"""
import importlib
import json
import os
import sys
import time

import rclpy
from rclpy.node import Node
from rclpy.qos import QoSProfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from service_calls import SERVICES, summary  # noqa: E402


def main():
    service, payload, calls, in_flight = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    srv_type, row = SERVICES[payload]
    pkg, _, name = srv_type.split("/")
    srv = getattr(importlib.import_module(f"{pkg}.srv"), name)
    rclpy.init()
    node = Node("rclpy_service_caller")
    client = node.create_client(srv, service, qos_profile=QoSProfile(depth=100))
    client.wait_for_service(timeout_sec=60.0)

    def request():
        r = srv.Request()
        for key, value in row.items():
            setattr(r, key, value)
        return r

    for _ in range(5):
        rclpy.spin_until_future_complete(node, client.call_async(request()), timeout_sec=30.0)
    pending, rtts, errors = {}, [], 0
    sent = 0
    started = time.perf_counter()
    while len(rtts) + errors < calls:
        while sent < calls and len(pending) < in_flight:
            pending[client.call_async(request())] = time.perf_counter()
            sent += 1
        rclpy.spin_once(node, timeout_sec=0.01)
        now = time.perf_counter()
        for future in [f for f in pending if f.done()]:
            rtts.append((now - pending.pop(future)) * 1000)
        # A call unanswered for 10 s is lost (the server's request history
        # overflowed): counted, not waited for.
        for future in [f for f, at in pending.items() if now - at > 10.0]:
            client.remove_pending_request(future)
            del pending[future]
            errors += 1
    print(json.dumps(summary(rtts, time.perf_counter() - started, errors)), flush=True)
    node.destroy_node()
    rclpy.try_shutdown()


if __name__ == "__main__":
    main()
