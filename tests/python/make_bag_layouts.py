"""Test helper: writes a rosbag2 bag in one of the layouts robots have.

  python make_bag_layouts.py OUT_DIR LAYOUT

Layouts (the CDR always comes from the `rosbags` serializer):
  sqlite3-v1 .. sqlite3-v7   the sqlite3 schema rosbag2 wrote with that
                             metadata version (v1-3: topics without
                             offered_qos_profiles), metadata.yaml of that version
  sqlite3-v8, sqlite3-v9, mcap-v8, mcap-v9
                             written by rosbags' own Writer
  zstd-file-sqlite3, zstd-file-mcap, zstd-message-sqlite3, zstd-message-mcap
                             rosbags' Writer with zstd compression
  split-no-metadata          three sqlite3 files, no metadata.yaml, whose
                             names sort against their time order
  service-events             mcap with a service's introspection topic
                             (/set_flag/_service_event, std_srvs/srv/SetBool_Event)
  not-cdr                    sqlite3-v4 whose topic says `ros1` serialization
  burst                      mcap-v9, 8 topics x 1000 std_msgs/String within 1 ms

Topics: /chatter std_msgs/msg/String, 10 messages 10 ms apart, texts of
lengths 0..9 (so CDR lengths are not all multiples of 4); /count
std_msgs/msg/Int32, 5 messages. Prints the manifest on stdout:
{"messages": [{topic, type, t_ns, hex}, ...]} in time order.
"""
import json
import sqlite3
import sys
from pathlib import Path

from rosbags.rosbag2 import StoragePlugin, Writer
from rosbags.rosbag2.enums import CompressionFormat, CompressionMode
from rosbags.typesys import Stores, get_types_from_msg, get_typestore

T0 = 1_700_000_000 * 10**9
TS = get_typestore(Stores.ROS2_JAZZY)

QOS_V4 = (
    "- history: 3\n  depth: 0\n  reliability: 1\n  durability: 2\n"
    "  deadline:\n    sec: 2147483647\n    nsec: 4294967295\n"
    "  lifespan:\n    sec: 2147483647\n    nsec: 4294967295\n"
    "  liveliness: 1\n  liveliness_lease_duration:\n    sec: 2147483647\n    nsec: 4294967295\n"
    "  avoid_ros_namespace_conventions: false"
)


def messages():
    """(t_ns, topic, type, cdr) in time order."""
    String = TS.types["std_msgs/msg/String"]
    Int32 = TS.types["std_msgs/msg/Int32"]
    out = []
    for i in range(10):
        out.append((T0 + i * 10_000_000, "/chatter", "std_msgs/msg/String",
                    TS.serialize_cdr(String(data="x" * i), "std_msgs/msg/String")))
    for i in range(5):
        out.append((T0 + 5_000_000 + i * 20_000_000, "/count", "std_msgs/msg/Int32",
                    TS.serialize_cdr(Int32(data=i), "std_msgs/msg/Int32")))
    return sorted(out)


def legacy_sqlite(path, version, rows, serialization="cdr"):
    """A .db3 with the topics table of rosbag2 metadata version `version`."""
    db = sqlite3.connect(path)
    with_qos = version >= 4
    db.execute(
        "CREATE TABLE topics(id INTEGER PRIMARY KEY, name TEXT NOT NULL, type TEXT NOT NULL, "
        "serialization_format TEXT NOT NULL" + (", offered_qos_profiles TEXT NOT NULL" if with_qos else "") + ")"
    )
    db.execute(
        "CREATE TABLE messages(id INTEGER PRIMARY KEY, topic_id INTEGER NOT NULL, "
        "timestamp INTEGER NOT NULL, data BLOB NOT NULL)"
    )
    db.execute("CREATE INDEX timestamp_idx ON messages (timestamp ASC)")
    ids = {}
    for _, topic, kind, _ in rows:
        if topic not in ids:
            ids[topic] = len(ids) + 1
            values = [ids[topic], topic, kind, serialization] + ([QOS_V4] if with_qos else [])
            db.execute(f"INSERT INTO topics VALUES({','.join('?' * len(values))})", values)
    for t, topic, _, cdr in rows:
        db.execute("INSERT INTO messages(topic_id, timestamp, data) VALUES(?,?,?)", (ids[topic], t, cdr))
    db.commit()
    db.close()


def legacy_metadata(out, version, files, rows):
    counts = {}
    for _, topic, kind, _ in rows:
        counts.setdefault((topic, kind), 0)
        counts[(topic, kind)] += 1
    topics = []
    for (topic, kind), n in counts.items():
        meta = f"      topic_metadata:\n        name: {topic}\n        type: {kind}\n        serialization_format: cdr\n"
        if version >= 4:
            meta += f"        offered_qos_profiles: {json.dumps(QOS_V4)}\n"
        topics.append(meta + f"      message_count: {n}\n")
    start, end = rows[0][0], rows[-1][0]
    text = (
        "rosbag2_bagfile_information:\n"
        f"  version: {version}\n  storage_identifier: sqlite3\n"
        "  relative_file_paths:\n" + "".join(f"    - {f}\n" for f in files)
        + f"  duration:\n    nanoseconds: {end - start}\n"
        f"  starting_time:\n    nanoseconds_since_epoch: {start}\n"
        f"  message_count: {len(rows)}\n  topics_with_message_count:\n"
        + "".join("    -\n" + t for t in topics)
    )
    (Path(out) / "metadata.yaml").write_text(text)


def with_rosbags(out, rows, version, storage, compression=None):
    plugin = StoragePlugin.MCAP if storage == "mcap" else StoragePlugin.SQLITE3
    writer = Writer(out, version=version, storage_plugin=plugin)
    if compression is not None:
        writer.set_compression(getattr(CompressionMode, compression), CompressionFormat.ZSTD)
    conns = {}
    with writer as w:
        for t, topic, kind, cdr in rows:
            if topic not in conns:
                # rosbags names a service's types pkg/msg/...: give the
                # definition of the pkg/msg twin under the pkg/srv name.
                twin = kind.replace("/srv/", "/msg/")
                msgdef, _ = TS.generate_msgdef(twin, ros_version=2)
                conns[topic] = w.add_connection(topic, kind, msgdef=msgdef, rihs01=TS.hash_rihs01(twin))
            w.write(conns[topic], t, cdr)


def service_events():
    for name, text in (
        ("std_srvs/msg/SetBool_Request", "bool data\n"),
        ("std_srvs/msg/SetBool_Response", "bool success\nstring message\n"),
        ("std_srvs/msg/SetBool_Event", "service_msgs/ServiceEventInfo info\n"
         "std_srvs/SetBool_Request[<=1] request\nstd_srvs/SetBool_Response[<=1] response\n"),
    ):
        TS.register(get_types_from_msg(text, name))
    Event = TS.types["std_srvs/msg/SetBool_Event"]
    Info = TS.types["service_msgs/msg/ServiceEventInfo"]
    Time = TS.types["builtin_interfaces/msg/Time"]
    Request = TS.types["std_srvs/msg/SetBool_Request"]
    Response = TS.types["std_srvs/msg/SetBool_Response"]
    import numpy as np

    rows = []
    for i in range(4):
        info = Info(event_type=i, stamp=Time(sec=1_700_000_000, nanosec=i),
                    client_gid=np.arange(16, dtype=np.uint8), sequence_number=7)
        request = [Request(data=True)] if i < 2 else []
        response = [Response(success=True, message="done")] if i >= 2 else []
        cdr = TS.serialize_cdr(Event(info=info, request=request, response=response), "std_srvs/msg/SetBool_Event")
        rows.append((T0 + i * 1_000_000, "/set_flag/_service_event", "std_srvs/srv/SetBool_Event", cdr))
    return rows


def burst():
    String = TS.types["std_msgs/msg/String"]
    rows = []
    for i in range(1000):
        for k in range(8):
            cdr = TS.serialize_cdr(String(data=f"{k}:{i}"), "std_msgs/msg/String")
            rows.append((T0 + (i * 8 + k) * 100, f"/burst_{k}", "std_msgs/msg/String", cdr))
    return rows


def main():
    out, layout = sys.argv[1], sys.argv[2]
    rows = messages()
    if layout.startswith("sqlite3-v") and int(layout[9:]) <= 7:
        version = int(layout[9:])
        Path(out).mkdir(parents=True)
        legacy_sqlite(Path(out) / "legacy_0.db3", version, rows)
        legacy_metadata(out, version, ["legacy_0.db3"], rows)
    elif layout in ("sqlite3-v8", "sqlite3-v9", "mcap-v8", "mcap-v9"):
        storage, version = layout.split("-v")
        with_rosbags(out, rows, int(version), storage)
    elif layout.startswith("zstd-"):
        _, mode, storage = layout.split("-")
        with_rosbags(out, rows, 9, storage, compression=mode.upper())
    elif layout == "split-no-metadata":
        Path(out).mkdir(parents=True)
        # Time order: part_10, part_9, part_1 (names sort the other way).
        for name, part in (("part_10.db3", rows[:5]), ("part_9.db3", rows[5:10]), ("part_1.db3", rows[10:])):
            legacy_sqlite(Path(out) / name, 5, part)
    elif layout == "service-events":
        rows = service_events()
        with_rosbags(out, rows, 9, "mcap")
    elif layout == "not-cdr":
        Path(out).mkdir(parents=True)
        legacy_sqlite(Path(out) / "legacy_0.db3", 4, rows, serialization="ros1")
    elif layout == "burst":
        rows = burst()
        with_rosbags(out, rows, 9, "mcap")
    else:
        sys.exit(f"unknown layout {layout}")
    manifest = [{"topic": topic, "type": kind, "t_ns": t, "hex": bytes(cdr).hex()} for t, topic, kind, cdr in rows]
    print(json.dumps({"messages": manifest}))


if __name__ == "__main__":
    main()
