"""dora node: inverts each camera frame and steers towards its brighter half."""
from dora import Node

from ros2_dora_bridge import image_to_numpy, message, numpy_to_image, row


def main():
    node = Node()
    for event in node:
        if event["type"] != "INPUT":
            continue
        pixels = image_to_numpy(event)  # (480, 640, 3) uint8, a view: no copy
        inverted = numpy_to_image(255 - pixels, "rgb8", header=row(event).header)
        node.send_output("processed", inverted, event["metadata"])
        left, right = pixels[:, : pixels.shape[1] // 2].mean(), pixels[:, pixels.shape[1] // 2 :].mean()
        twist = message("geometry_msgs/msg/Twist", linear={"x": 0.2}, angular={"z": (right - left) / 255})
        node.send_output("cmd_vel", twist)


if __name__ == "__main__":
    main()
