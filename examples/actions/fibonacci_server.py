"""An ordinary rclpy action server of test_msgs/action/Fibonacci on
/fibonacci: one feedback every 0.1 s, cancels accepted."""
import time

import rclpy
from rclpy.action import ActionServer, CancelResponse
from rclpy.executors import MultiThreadedExecutor
from rclpy.node import Node
from test_msgs.action import Fibonacci


def execute(goal_handle):
    sequence = [0, 1]
    for _ in range(goal_handle.request.order - 1):
        if goal_handle.is_cancel_requested:
            goal_handle.canceled()
            print(f"fibonacci_server: canceled at {sequence}", flush=True)
            return Fibonacci.Result(sequence=sequence)
        sequence.append(sequence[-1] + sequence[-2])
        goal_handle.publish_feedback(Fibonacci.Feedback(sequence=sequence))
        time.sleep(0.1)
    goal_handle.succeed()
    print(f"fibonacci_server: succeeded {sequence}", flush=True)
    return Fibonacci.Result(sequence=sequence)


def main():
    rclpy.init()
    node = Node("fibonacci_server")
    ActionServer(node, Fibonacci, "/fibonacci", execute, cancel_callback=lambda _: CancelResponse.ACCEPT)
    print("fibonacci_server: ready", flush=True)
    try:
        rclpy.spin(node, executor=MultiThreadedExecutor())
    except (KeyboardInterrupt, rclpy.executors.ExternalShutdownException):
        pass


if __name__ == "__main__":
    main()
