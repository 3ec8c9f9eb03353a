"""LaserScan, OccupancyGrid and covariance fields as numpy."""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
import pyarrow as pa

from .schema import RowView, message, message_array
from .time import header as make_header

OCCUPANCY_GRID = "nav_msgs/msg/OccupancyGrid"


class LaserScanArrays(NamedTuple):
    """A scan's ranges (float32 view), the angle of each (radians) and its
    intensities (float32 view, possibly empty)."""

    ranges: np.ndarray
    angles: np.ndarray
    intensities: np.ndarray
    range_min: float
    range_max: float

    def valid(self) -> np.ndarray:
        """Which ranges are measurements (finite, within range_min..range_max)."""
        return np.isfinite(self.ranges) & (self.ranges >= self.range_min) & (self.ranges <= self.range_max)

    def points(self, drop_invalid: bool = True) -> np.ndarray:
        """The scan as (N, 2) x, y in the scan's frame."""
        keep = self.valid() if drop_invalid else slice(None)
        ranges, angles = self.ranges[keep].astype(np.float64), self.angles[keep]
        return np.stack([ranges * np.cos(angles), ranges * np.sin(angles)], axis=-1)


def laserscan_to_numpy(scan: Any, index: int = 0) -> LaserScanArrays:
    """Row `index` of a sensor_msgs/LaserScan: ranges with their angles
    (`angle_min + i * angle_increment`)."""
    view = RowView(message_array(scan), index)
    ranges = view.ranges
    angles = view.angle_min + np.arange(ranges.size, dtype=np.float64) * view.angle_increment
    return LaserScanArrays(ranges, angles, view.intensities, view.range_min, view.range_max)


class OccupancyGridArrays(NamedTuple):
    """A map: `data[row, column]` (int8 view: -1 unknown, 0..100 occupied
    probability), cells of `resolution` metres, cell (0, 0) at `origin`
    (a geometry_msgs/Pose dict) in `frame_id`."""

    data: np.ndarray
    resolution: float
    origin: dict[str, Any]
    frame_id: str

    def cell_to_world(self, row: int, column: int) -> tuple[float, float]:
        """The centre of a cell in the map frame (origin rotation about z applied)."""
        x, y = (column + 0.5) * self.resolution, (row + 0.5) * self.resolution
        q = self.origin["orientation"]
        yaw = np.arctan2(2 * (q["w"] * q["z"] + q["x"] * q["y"]), 1 - 2 * (q["y"] ** 2 + q["z"] ** 2))
        p = self.origin["position"]
        return (p["x"] + x * np.cos(yaw) - y * np.sin(yaw), p["y"] + x * np.sin(yaw) + y * np.cos(yaw))


def occupancy_grid_to_numpy(grid: Any, index: int = 0) -> OccupancyGridArrays:
    """Row `index` of a nav_msgs/OccupancyGrid as a (height, width) int8
    array over the message's memory (row-major from the origin cell, as
    the message stores it)."""
    view = RowView(message_array(grid), index)
    info = view.info
    width, height = info.width, info.height
    data = view.data
    if data.size != width * height:
        raise ValueError(f"an occupancy grid of {height}x{width} cells has {data.size} values")
    return OccupancyGridArrays(data.reshape(height, width), info.resolution,
                               info.origin.as_dict(), view.header.frame_id)


def numpy_to_occupancy_grid(data: np.ndarray, resolution: float, origin: Any = None, header: Any = None, *,
                            frame_id: str | None = None, stamp_ns: int | None = None) -> pa.StructArray:
    """A one-row nav_msgs/OccupancyGrid from a (height, width) int8 array."""
    data = np.asarray(data)
    if data.ndim != 2 or data.dtype != np.int8:
        raise ValueError(f"expected a (height, width) int8 array, got {data.dtype} of shape {data.shape}")
    info: dict[str, Any] = {"resolution": float(resolution), "height": data.shape[0], "width": data.shape[1]}
    if origin is not None:
        info["origin"] = origin.as_dict() if hasattr(origin, "as_dict") else origin
    made = make_header(header, frame_id=frame_id, stamp_ns=stamp_ns)
    return message(OCCUPANCY_GRID, header=made, info=info, data=data)


def covariance_to_numpy(values: Any) -> np.ndarray:
    """A covariance field (`float64[9]` or `float64[36]`, row-major) as a
    3x3 or 6x6 matrix (a view when given numpy)."""
    flat = np.asarray(values, dtype=np.float64).reshape(-1)
    side = {9: 3, 36: 6}.get(flat.size)
    if side is None:
        raise ValueError(f"a covariance has 9 or 36 values, got {flat.size}")
    return flat.reshape(side, side)


def numpy_to_covariance(matrix: np.ndarray) -> np.ndarray:
    """A 3x3 or 6x6 matrix as the row-major float64 array a covariance field takes."""
    matrix = np.asarray(matrix, dtype=np.float64)
    if matrix.shape not in ((3, 3), (6, 6)):
        raise ValueError(f"a covariance matrix is 3x3 or 6x6, got {matrix.shape}")
    return np.ascontiguousarray(matrix).reshape(-1)
