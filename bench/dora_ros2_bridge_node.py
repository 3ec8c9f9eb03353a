"""The incumbent used as a bridge: a dora node that subscribes /ping through
dora's own ROS 2 bridge (dora.Ros2Context), forwards each message to the
dataflow on output `ping`, and publishes what comes back on input `pong` to
/pong. Same path as ros2-dora-bridge in bench/e2e_roundtrip.py: ROS -> bridge
-> dora echo node -> bridge -> ROS. ROS type from env ROS_TYPE."""
import os

from dora import Node, Ros2Context, Ros2NodeOptions, Ros2QosPolicies


def main():
    ros_type = os.environ["ROS_TYPE"].replace("/msg/", "/")
    context = Ros2Context()
    ros_node = context.new_node("dora_ros2_bridge", "/", Ros2NodeOptions(rosout=False))
    qos = Ros2QosPolicies(reliable=True, keep_last=10)
    subscription = ros_node.create_subscription(ros_node.create_topic("/ping", ros_type, qos))
    publisher = ros_node.create_publisher(ros_node.create_topic("/pong", ros_type, qos))
    node = Node()
    # dora's documented pattern: ROS messages arrive in the node's event loop.
    node.merge_external_events(subscription)
    while True:
        event = node.next()
        if event is None:
            break
        if event["kind"] == "external":
            node.send_output("ping", event["value"])
        elif event["type"] == "INPUT" and event["id"] == "pong":
            publisher.publish(event["value"])
        elif event["type"] == "STOP":
            break


if __name__ == "__main__":
    main()
