"""Test helper: reads a rosbag2 bag with the independent `rosbags` library.

  python read_bag.py BAG

Prints one JSON object: {"topics": {name: {type, count, durability}},
"messages": [{topic, t_ns, value}, ...]} where value is `data` for
std_msgs/String and {width, height, encoding, n, first, last} for Images;
{"undecodable": n} for a recorded sample of n bytes that is not a message.
"""
import json
import sys

from rosbags.rosbag2 import Reader
from rosbags.typesys import Stores, get_typestore


def main():
    ts = get_typestore(Stores.ROS2_JAZZY)
    out = {"topics": {}, "messages": []}
    with Reader(sys.argv[1]) as reader:
        for c in reader.connections:
            qos = c.ext.offered_qos_profiles
            out["topics"][c.topic] = {
                "type": c.msgtype,
                "count": c.msgcount,
                "durability": [str(q.durability) for q in qos],
            }
        for conn, t, raw in reader.messages():
            try:
                msg = ts.deserialize_cdr(raw, conn.msgtype)
            except Exception:  # noqa: BLE001 - garbage is recorded as published
                out["messages"].append({"topic": conn.topic, "t_ns": t, "value": {"undecodable": len(raw)}})
                continue
            if conn.msgtype == "std_msgs/msg/String":
                value = msg.data
            elif conn.msgtype == "sensor_msgs/msg/Image":
                value = {"width": msg.width, "height": msg.height, "encoding": msg.encoding,
                         "n": len(msg.data), "first": int(msg.data[0]), "last": int(msg.data[-1])}
            else:
                value = None
            out["messages"].append({"topic": conn.topic, "t_ns": t, "value": value})
    print(json.dumps(out))


if __name__ == "__main__":
    main()
