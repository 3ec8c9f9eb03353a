"""Test helper, a real rclpy client watching a service: `ros_service_watch.py
SERVICE TYPE` prints {"t": ..., "ready": bool} whenever `service_is_ready()`
changes (checked every 50 ms), and while the service is ready calls it
every 0.3 s, printing {"t": ..., "answered": k} for each answer. A call
unanswered for 2 s is given up (as a client with a timeout does)."""
import json
import time

import rclpy
from rclpy.node import Node

from ros_node import message_class


def main():
    import sys
    service, type_name = sys.argv[1], sys.argv[2]
    srv = message_class(type_name)
    rclpy.init()
    node = Node("service_watch")
    client = node.create_client(srv, service)
    ready = None
    pending = None
    calls = 0
    last_call = 0.0
    try:
        while rclpy.ok():
            rclpy.spin_once(node, timeout_sec=0.05)
            now = client.service_is_ready()
            if now != ready:
                ready = now
                print(json.dumps({"t": time.time(), "ready": ready}), flush=True)
            if pending is not None and pending.done():
                if pending.result() is not None:
                    print(json.dumps({"t": time.time(), "answered": calls}), flush=True)
                pending = None
            elif pending is not None and time.monotonic() - last_call > 2.0:
                client.remove_pending_request(pending)
                pending = None
            if ready and pending is None and time.monotonic() - last_call > 0.3:
                calls += 1
                last_call = time.monotonic()
                request = srv.Request()
                pending = client.call_async(request)
    except KeyboardInterrupt:
        pass
    finally:
        node.destroy_node()
        rclpy.try_shutdown()


if __name__ == "__main__":
    main()
