"""Test helper: writes a rosbag2 bag with the independent `rosbags` library.

  python make_bag.py OUT_DIR mcap|sqlite3 [--big]

Topics (recorded times start at 1_700_000_000 s):
  /chatter   std_msgs/msg/String      10 messages, 100 ms apart: "hello 0".."hello 9"
  /image     sensor_msgs/msg/Image    5 messages, 200 ms apart, 64x48 rgb8, pixel bytes (i + k) % 256
  /latched   std_msgs/msg/String      1 message at the start, offered TRANSIENT_LOCAL: "latched map"
  /reading   bridge_test_msgs/msg/Reading  3 messages, 300 ms apart (a type installed nowhere,
             defined only inside the bag): {sensor: "t<i>", value: 0.5 * i, samples: [i, i+1]}
With --big, /image has 8 frames of 640x480 (several MCAP chunks of 1 MiB,
for truncation tests).
With --many N, the bag holds only N std_msgs/msg/String messages "i",
round-robin on /many_0../many_3, 1 ms apart (for full-speed replay).
Prints a JSON manifest on stdout: [{topic, type, t_ns}, ...] in time order.
"""
import json
import sys

from rosbags.interfaces import Qos, QosDurability, QosHistory, QosLiveliness, QosReliability, QosTime
from rosbags.rosbag2 import StoragePlugin, Writer
from rosbags.typesys import Stores, get_types_from_msg, get_typestore

READING = """string sensor
float64 value
int32[] samples
"""

T0 = 1_700_000_000 * 10**9


def main():
    out, storage = sys.argv[1], sys.argv[2]
    big = "--big" in sys.argv[3:]
    if "--many" in sys.argv[3:]:
        many(out, storage, int(sys.argv[sys.argv.index("--many") + 1]))
        return
    width, height, frames = (640, 480, 8) if big else (64, 48, 5)
    ts = get_typestore(Stores.ROS2_JAZZY)
    ts.register(get_types_from_msg(READING, "bridge_test_msgs/msg/Reading"))
    String = ts.types["std_msgs/msg/String"]
    Image = ts.types["sensor_msgs/msg/Image"]
    Header = ts.types["std_msgs/msg/Header"]
    Time = ts.types["builtin_interfaces/msg/Time"]
    Reading = ts.types["bridge_test_msgs/msg/Reading"]
    import numpy as np

    inf = QosTime(sec=0x7FFFFFFF, nsec=0xFFFFFFFF)
    latched = Qos(
        history=QosHistory.KEEP_LAST, depth=1, reliability=QosReliability.RELIABLE,
        durability=QosDurability.TRANSIENT_LOCAL, deadline=inf, lifespan=inf,
        liveliness=QosLiveliness.AUTOMATIC, liveliness_lease_duration=inf,
        avoid_ros_namespace_conventions=False,
    )
    plugin = StoragePlugin.MCAP if storage == "mcap" else StoragePlugin.SQLITE3
    entries = []
    with Writer(out, version=9, storage_plugin=plugin) as w:
        chatter = w.add_connection("/chatter", "std_msgs/msg/String", typestore=ts)
        image = w.add_connection("/image", "sensor_msgs/msg/Image", typestore=ts)
        latch = w.add_connection("/latched", "std_msgs/msg/String", typestore=ts, offered_qos_profiles=[latched])
        reading = w.add_connection("/reading", "bridge_test_msgs/msg/Reading", typestore=ts)
        for t, conn, msg, kind in sorted(
            [(T0, latch, String(data="latched map"), "std_msgs/msg/String")]
            + [(T0 + 10**6 + i * 100_000_000, chatter, String(data=f"hello {i}"), "std_msgs/msg/String") for i in range(10)]
            + [
                (
                    T0 + 2 * 10**6 + i * 200_000_000,
                    image,
                    Image(
                        header=Header(stamp=Time(sec=1_700_000_000, nanosec=i), frame_id="cam"),
                        height=height, width=width, encoding="rgb8", is_bigendian=0, step=width * 3,
                        data=((np.arange(width * height * 3) + i) % 256).astype(np.uint8),
                    ),
                    "sensor_msgs/msg/Image",
                )
                for i in range(frames)
            ]
            + [
                # 50 ms clear of the images: dora 1.1 was seen to lose a small
                # message sent ~1 ms after a large one to the same node.
                (T0 + 53 * 10**6 + i * 300_000_000, reading,
                 Reading(sensor=f"t{i}", value=0.5 * i, samples=np.array([i, i + 1], dtype=np.int32)),
                 "bridge_test_msgs/msg/Reading")
                for i in range(3)
            ],
            key=lambda e: e[0],
        ):
            w.write(conn, t, ts.serialize_cdr(msg, kind))
            entries.append({"topic": conn.topic, "type": kind, "t_ns": t})
    print(json.dumps(entries))


def many(out, storage, count):
    ts = get_typestore(Stores.ROS2_JAZZY)
    String = ts.types["std_msgs/msg/String"]
    plugin = StoragePlugin.MCAP if storage == "mcap" else StoragePlugin.SQLITE3
    with Writer(out, version=9, storage_plugin=plugin) as w:
        conns = [w.add_connection(f"/many_{k}", "std_msgs/msg/String", typestore=ts) for k in range(4)]
        for i in range(count):
            w.write(conns[i % 4], T0 + i * 10**6, ts.serialize_cdr(String(data=str(i)), "std_msgs/msg/String"))
    print(json.dumps({"messages": count, "topics": 4}))


if __name__ == "__main__":
    main()
