"""Test helper, a dora node that publishes static transforms through the
bridge: on each `tick`, the next message of TF_SEND (a JSON list of
messages, each a list of [parent, child, [x, y, z], [qx, qy, qz, qw]]) as a
tf2_msgs/msg/TFMessage row on output `tf_static`, built with the
ros2_dora_bridge package; then it idles.
"""
import json
import os

from dora import Node

import ros2_dora_bridge as rdb


def tf_message(transforms):
    return rdb.message("tf2_msgs/msg/TFMessage", transforms=[
        {"header": {"frame_id": parent}, "child_frame_id": child,
         "transform": {"translation": dict(zip("xyz", xyz)), "rotation": dict(zip("xyzw", q))}}
        for parent, child, xyz, q in transforms
    ])


def main():
    queue = [tf_message(m) for m in json.loads(os.environ["TF_SEND"])]
    node = Node()
    for event in node:
        if event["type"] == "INPUT" and event["id"] == "tick" and queue:
            node.send_output("tf_static", queue.pop(0))


if __name__ == "__main__":
    main()
