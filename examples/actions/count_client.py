"""An ordinary rclpy action client sending a Fibonacci goal to /count (the
action a dora node serves through the bridge) every second, printing its
feedback and result."""
import rclpy
from rclpy.action import ActionClient
from rclpy.node import Node
from test_msgs.action import Fibonacci

STATUS = {4: "succeeded", 5: "canceled", 6: "aborted"}


def main():
    rclpy.init()
    node = Node("count_client")
    client = ActionClient(node, Fibonacci, "/count")
    while rclpy.ok():
        if not client.wait_for_server(timeout_sec=1.0):
            continue
        feedback = lambda msg: print(f"count_client: feedback {list(msg.feedback.sequence)}", flush=True)  # noqa: E731
        sent = client.send_goal_async(Fibonacci.Goal(order=6), feedback_callback=feedback)
        rclpy.spin_until_future_complete(node, sent)
        done = sent.result().get_result_async()
        rclpy.spin_until_future_complete(node, done)
        result = done.result()
        status = STATUS.get(result.status, result.status)
        print(f"count_client: result {status} {list(result.result.sequence)}", flush=True)
        rclpy.spin_once(node, timeout_sec=1.0)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        pass
