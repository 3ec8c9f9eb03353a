"""sensor_msgs/PointCloud2 <-> numpy structured arrays, as ros2_numpy does.

`pointcloud2_to_numpy` is a view over the message's memory: each point's
`fields` at their offsets, `point_step` and `row_step` honoured, padding
between fields skipped, big-endian clouds read right.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa

from .schema import RowView, byte_values, child, message, message_array
from .time import header as make_header

POINT_CLOUD2 = "sensor_msgs/msg/PointCloud2"

# sensor_msgs/msg/PointField datatype constants.
_DATATYPES: dict[int, str] = {1: "i1", 2: "u1", 3: "i2", 4: "u2", 5: "i4", 6: "u4", 7: "f4", 8: "f8"}
_CODES = {np.dtype(code).newbyteorder("="): datatype for datatype, code in _DATATYPES.items()}


class PointCloudError(ValueError):
    """A cloud that cannot be read or made as asked."""


def pointcloud_dtype(fields: list[dict[str, Any]], point_step: int, big_endian: bool = False) -> np.dtype:
    """The numpy structured dtype of a point with these PointFields
    (`{name, offset, datatype, count}`), `point_step` bytes long."""
    order = ">" if big_endian else "<"
    names, formats, offsets = [], [], []
    for field in fields:
        code = _DATATYPES.get(field["datatype"])
        if code is None:
            raise PointCloudError(f"field {field['name']!r}: unknown PointField datatype {field['datatype']}")
        element = np.dtype(order + code)
        count = field.get("count", 1) or 1
        names.append(field["name"])
        formats.append(element if count == 1 else (element, (count,)))
        offsets.append(field["offset"])
    if len(set(names)) != len(names):
        raise PointCloudError(f"repeated field names in {names}")
    try:
        return np.dtype({"names": names, "formats": formats, "offsets": offsets, "itemsize": point_step})
    except ValueError as e:
        raise PointCloudError(f"fields {names} do not fit a point of {point_step} bytes: {e}") from e


def pointcloud2_to_numpy(cloud: Any, index: int = 0) -> np.ndarray:
    """Row `index` of a PointCloud2 as a structured numpy array over the
    message's memory (read-only): shape (width,) for an unorganised cloud
    (height 1), (height, width) for an organised one. `arr["x"]` is a view."""
    struct = message_array(cloud)
    view = RowView(struct, index)
    height, width = view.height, view.width
    point_step, row_step = view.point_step, view.row_step
    fields = [f.as_dict() for f in view.fields]
    dtype = pointcloud_dtype(fields, point_step, bool(view.is_bigendian))
    data = byte_values(child(struct, "data"), index)
    if row_step < width * point_step:
        raise PointCloudError(f"row_step {row_step} is shorter than {width} points of {point_step} bytes")
    needed = (height - 1) * row_step + width * point_step if height and width else 0
    if data.size < needed:
        raise PointCloudError(f"{height}x{width} points need {needed} bytes, data has {data.size}")
    shape = (width,) if height == 1 else (height, width)
    if needed == 0:
        return np.empty(shape, dtype=dtype)
    strides = (point_step,) if height == 1 else (row_step, point_step)
    return np.ndarray(shape, dtype=dtype, buffer=data, strides=strides)


def numpy_to_pointcloud2(points: np.ndarray, header: Any = None, *, frame_id: str | None = None,
                         stamp_ns: int | None = None, is_dense: bool | None = None) -> pa.StructArray:
    """A one-row PointCloud2 from a structured array: 1-D (unorganised) or
    2-D (organised). Fields, offsets and `point_step` come from the dtype
    (padding included); a big-endian dtype sets `is_bigendian`. `is_dense`
    defaults to "no NaN in any float field"."""
    points = np.asarray(points)
    if points.dtype.names is None:
        raise PointCloudError(f"expected a structured array (fields like x, y, z), got dtype {points.dtype}")
    if points.ndim not in (1, 2):
        raise PointCloudError(f"expected a 1-D or 2-D array of points, got shape {points.shape}")
    fields, big_endian = _point_fields(points.dtype)
    height, width = (1, points.shape[0]) if points.ndim == 1 else points.shape
    if is_dense is None:
        is_dense = not any(
            np.isnan(points[name]).any() for name in points.dtype.names
            if points.dtype.fields[name][0].base.kind == "f"
        )
    data = np.ascontiguousarray(points).reshape(-1).view(np.uint8)
    return message(
        POINT_CLOUD2,
        header=make_header(header, frame_id=frame_id, stamp_ns=stamp_ns),
        height=height, width=width, fields=fields, is_bigendian=big_endian,
        point_step=points.dtype.itemsize, row_step=width * points.dtype.itemsize,
        data=data, is_dense=bool(is_dense),
    )


def _point_fields(dtype: np.dtype) -> tuple[list[dict[str, Any]], bool]:
    fields, orders = [], set()
    for name in dtype.names:
        field_dtype, offset = dtype.fields[name][:2]
        base = field_dtype.base
        code = _CODES.get(base.newbyteorder("="))
        if code is None:
            raise PointCloudError(f"field {name!r}: {base} has no PointField datatype")
        if base.itemsize > 1:
            orders.add(">" if base.byteorder == ">" or (base.byteorder == "=" and not np.little_endian) else "<")
        count = int(np.prod(field_dtype.shape)) if field_dtype.shape else 1
        fields.append({"name": name, "offset": offset, "datatype": code, "count": count})
    if len(orders) > 1:
        raise PointCloudError("fields mix byte orders")
    return fields, orders == {">"}


def pointcloud2_xyz(cloud: Any, index: int = 0, *, drop_nan: bool = True) -> np.ndarray:
    """The cloud's x, y, z as an (N, 3) float array (a copy), without NaN points by default."""
    points = pointcloud2_to_numpy(cloud, index).reshape(-1)
    missing = [name for name in ("x", "y", "z") if name not in (points.dtype.names or ())]
    if missing:
        raise PointCloudError(f"the cloud has no {', '.join(missing)} field (fields: {points.dtype.names})")
    xyz = np.stack([points[name].astype(np.float64) for name in ("x", "y", "z")], axis=-1)
    return xyz[~np.isnan(xyz).any(axis=1)] if drop_nan else xyz
