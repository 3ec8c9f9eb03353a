"""Transform lookups through the bridge's `tf:` buffer (docs/time-and-tf.md):
requests to send on `tf.lookup_request`, and answers (TransformStamped rows)
as numpy."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa

from .metadata import Metadata


class LookupFailed(LookupError):
    """The bridge could not answer a lookup; `code` is tf2's error name."""

    def __init__(self, code: str | None, message: str | None):
        super().__init__(f"{code}: {message}")
        self.code = code


def lookup_request(target_frame: str, source_frame: str, time_ns: int = 0) -> pa.StructArray:
    """One lookup: the transform taking points in `source_frame` into
    `target_frame` at `time_ns` (0: the latest time the chain is known)."""
    return pa.array([{"target_frame": target_frame, "source_frame": source_frame, "time_ns": int(time_ns)}],
                    type=pa.struct([("target_frame", pa.string()), ("source_frame", pa.string()),
                                    ("time_ns", pa.int64())]))


def transform_of(event: Any) -> dict[str, Any]:
    """The answer's TransformStamped as a dict; raises LookupFailed on an error answer."""
    meta = Metadata(event)
    value = event["value"]
    if meta.error is not None or len(value) == 0:
        raise LookupFailed(meta.error_code, meta.error)
    return value.to_pylist()[0]


def transform_to_matrix(transform: dict[str, Any]) -> np.ndarray:
    """A 4x4 homogeneous matrix of a TransformStamped (or its `transform`)."""
    t = transform.get("transform", transform)
    x, y, z, w = (t["rotation"][k] for k in "xyzw")
    rotation = np.array([
        [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
        [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
        [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
    ])
    matrix = np.eye(4)
    matrix[:3, :3] = rotation
    matrix[:3, 3] = [t["translation"][k] for k in "xyz"]
    return matrix
