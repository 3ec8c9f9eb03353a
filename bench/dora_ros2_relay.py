"""The incumbent: dora's own ROS 2 bridge (dora.Ros2Context) as a relay."""
import sys

from dora import Ros2Context, Ros2NodeOptions, Ros2QosPolicies


def main():
    ros_type = sys.argv[1].replace("/msg/", "/")
    context = Ros2Context()
    node = context.new_node("dora_ros2_relay", "/", Ros2NodeOptions(rosout=False))
    qos = Ros2QosPolicies(reliable=True, keep_last=10)
    sub = node.create_subscription(node.create_topic("/ping", ros_type, qos))
    pub = node.create_publisher(node.create_topic("/pong", ros_type, qos))
    print("relaying", flush=True)
    while True:
        msg = sub.next()
        if msg is not None:
            pub.publish(msg)


if __name__ == "__main__":
    main()
