"""builtin_interfaces/Time and Duration <-> nanoseconds, and std_msgs/Header."""

from __future__ import annotations

import time as _time
from collections.abc import Mapping
from typing import Any

import pyarrow as pa

NS_PER_S = 1_000_000_000


def _stamp_fields(stamp: Any) -> tuple[int, int]:
    if isinstance(stamp, pa.Scalar):
        stamp = stamp.as_py()
    if isinstance(stamp, Mapping):
        return int(stamp["sec"]), int(stamp["nanosec"])
    if hasattr(stamp, "sec") and hasattr(stamp, "nanosec"):  # a RowView or an rclpy Time msg
        return int(stamp.sec), int(stamp.nanosec)
    raise TypeError(f"expected a Time/Duration ({{sec, nanosec}}), got {type(stamp).__name__}")


def stamp_to_ns(stamp: Any) -> int:
    """A Time or Duration (dict, received row, pyarrow scalar, rclpy msg) in nanoseconds."""
    sec, nanosec = _stamp_fields(stamp)
    return sec * NS_PER_S + nanosec


def ns_to_stamp(ns: int) -> dict[str, int]:
    """Nanoseconds as a Time/Duration dict `{sec, nanosec}` (nanosec in
    0..999 999 999, as ROS keeps it; negative times have a negative sec)."""
    sec, nanosec = divmod(int(ns), NS_PER_S)
    if not -(2**31) <= sec < 2**31:
        raise OverflowError(f"{ns} ns does not fit a ROS Time (int32 seconds)")
    return {"sec": sec, "nanosec": nanosec}


def now_ns() -> int:
    """The system clock in nanoseconds since the epoch (what ROS calls wall time)."""
    return _time.time_ns()


def header(base: Any = None, *, frame_id: str | None = None, stamp_ns: int | None = None) -> dict[str, Any]:
    """A std_msgs/Header dict: from `base` (a dict, a received header, or a
    message row that has one), with `frame_id` and `stamp_ns` replacing its parts."""
    if base is None:
        result: dict[str, Any] = {"stamp": {"sec": 0, "nanosec": 0}, "frame_id": ""}
    else:
        if hasattr(base, "as_dict"):
            base = base.as_dict()
        elif isinstance(base, pa.Scalar):
            base = base.as_py()
        if isinstance(base, Mapping) and "header" in base:
            base = base["header"]
        if not isinstance(base, Mapping):
            raise TypeError(f"expected a Header (dict with stamp, frame_id), got {type(base).__name__}")
        result = {"stamp": dict(base.get("stamp", {"sec": 0, "nanosec": 0})),
                  "frame_id": base.get("frame_id", "")}
    if frame_id is not None:
        result["frame_id"] = frame_id
    if stamp_ns is not None:
        result["stamp"] = ns_to_stamp(stamp_ns)
    return result
