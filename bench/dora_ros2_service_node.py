"""dora's own ROS 2 bridge on the service benchmark's path: a dora node
that takes each row on input `call`, calls the ROS service with
dora.Ros2Context's service client (blocking, one call at a time, as its API
offers), and sends the answer back on output `answer` with the row's
request_id. Service and type from env SERVICE, SRV_TYPE."""
import os

from dora import Node, Ros2Context, Ros2NodeOptions, Ros2QosPolicies


def main():
    context = Ros2Context()
    ros_node = context.new_node("dora_ros2_service", "/", Ros2NodeOptions(rosout=False))
    srv_type = os.environ["SRV_TYPE"].replace("/srv/", "/")
    client = ros_node.create_service_client(os.environ["SERVICE"], srv_type,
                                            Ros2QosPolicies(reliable=True, keep_last=10))
    node = Node()
    for event in node:
        if event["type"] == "INPUT" and event["id"] == "call":
            answer = client.call(event["value"], 30.0)
            node.send_output("answer", answer, {"request_id": event["metadata"]["request_id"]})
        elif event["type"] == "STOP":
            break


if __name__ == "__main__":
    main()
