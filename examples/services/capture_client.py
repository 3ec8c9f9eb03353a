"""rclpy node calling std_srvs/Trigger on /capture once a second, printing
each answer (the dora node `camera` gives them, through the bridge)."""
import sys

import rclpy
from rclpy.executors import ExternalShutdownException
from std_srvs.srv import Trigger


def main():
    rclpy.init(args=sys.argv)
    node = rclpy.create_node("capture_client")
    client = node.create_client(Trigger, "capture")
    pending = []

    def call():
        if client.service_is_ready() and not pending:
            future = client.call_async(Trigger.Request())
            future.add_done_callback(lambda f: (pending.clear(), print(
                f"capture_client: {f.result().message}", flush=True)))
            pending.append(future)

    node.create_timer(1.0, call)
    try:
        rclpy.spin(node)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        node.destroy_node()
        rclpy.try_shutdown()


if __name__ == "__main__":
    main()
