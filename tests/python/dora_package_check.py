"""Test helper, a dora node written only with the ros2_dora_bridge package:
reads each sample of package_samples.py with the package's functions and
compares it with the hand-built arrays; echoes the mono16 image and the
cloud back through numpy (numpy_to_image, numpy_to_pointcloud2).

Appends `{"topic", "ok", "detail"}` JSON lines to RESULT_FILE (once per
topic) and creates DONE_FILE when every topic has been checked.
"""
import json
import os

import numpy as np
from dora import Node

import ros2_dora_bridge as rdb
from package_samples import expected


def read(topic, event):
    if topic.startswith("/image"):
        return {"pixels": rdb.image_to_numpy(event)}
    if topic == "/cloud":
        cloud = rdb.pointcloud2_to_numpy(event)
        return {name: cloud[name] for name in ("x", "y", "z", "intensity")}
    if topic == "/scan":
        scan = rdb.laserscan_to_numpy(event)
        return {"ranges": scan.ranges, "angles": scan.angles}
    if topic == "/map":
        return {"data": rdb.occupancy_grid_to_numpy(event).data}
    return {"covariance": rdb.covariance_to_numpy(rdb.row(event).pose.covariance)}


def compare(got, want):
    problems = []
    for name, array in want.items():
        value = got[name]
        if value.shape != array.shape or value.dtype.newbyteorder("=") != array.dtype:
            problems.append(f"{name}: {value.dtype}{value.shape} != {array.dtype}{array.shape}")
        elif not np.allclose(value, array, rtol=0, atol=1e-6, equal_nan=True) if value.dtype.kind == "f" \
                else not np.array_equal(value, array):
            problems.append(f"{name}: {value.tolist()} != {array.tolist()}")
    return problems


def main():
    want = expected()
    checked = set()
    node = Node()
    with open(os.environ["RESULT_FILE"], "a", encoding="utf-8") as out:
        for event in node:
            if event["type"] != "INPUT" or event["id"] == "tick":
                continue
            topic = rdb.Metadata(event).ros_topic
            if topic == "/image_mono16":
                header = rdb.row(event).header
                node.send_output("echo_image", rdb.numpy_to_image(rdb.image_to_numpy(event), "mono16", header))
            elif topic == "/cloud":
                cloud = rdb.pointcloud2_to_numpy(event)
                node.send_output("echo_cloud", rdb.numpy_to_pointcloud2(cloud, rdb.row(event).header))
            if topic in checked:
                continue
            checked.add(topic)
            problems = compare(read(topic, event), want[topic])
            out.write(json.dumps({"topic": topic, "ok": not problems, "detail": problems}) + "\n")
            out.flush()
            if checked == set(want):
                open(os.environ["DONE_FILE"], "w").close()


if __name__ == "__main__":
    main()
