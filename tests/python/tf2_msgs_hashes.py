"""Test helper: the type hashes of the installed tf2_msgs (the workbench
builds it from interfaces/) against those `rosbags` computes from its own
copy of ROS 2's definitions (an independent implementation of RIHS01).

Prints {"checked": N, "different": [...]} as JSON.
"""
import json
import os
from pathlib import Path

from rosbags.typesys import Stores, get_typestore

STORES = {"jazzy": Stores.ROS2_JAZZY, "kilted": Stores.ROS2_KILTED}


def installed_hash(name):
    for prefix in os.environ["AMENT_PREFIX_PATH"].split(":"):
        description = Path(prefix, "share", "tf2_msgs", "msg", f"{name}.json")
        if description.exists():
            return json.loads(description.read_text())["type_hashes"][0]["hash_string"]
    raise SystemExit(f"tf2_msgs/msg/{name} is not installed")


def main():
    store = get_typestore(STORES[os.environ.get("ROS_DISTRO", "jazzy")])
    names = [t.split("/")[-1] for t in store.fielddefs if t.startswith("tf2_msgs/msg/")]
    different = [
        {"type": n, "installed": installed_hash(n), "rosbags": store.hash_rihs01(f"tf2_msgs/msg/{n}")}
        for n in names
        if installed_hash(n) != store.hash_rihs01(f"tf2_msgs/msg/{n}")
    ]
    print(json.dumps({"checked": len(names), "different": different}))


if __name__ == "__main__":
    main()
