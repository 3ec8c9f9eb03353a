"""sensor_msgs/Image and CompressedImage <-> numpy, as cv_bridge does for ROS.

`image_to_numpy` is a view over the message's own memory (no copy, at any
size); `numpy_to_image` shares the array's memory when it is contiguous.
"""

from __future__ import annotations

import io
import re
from typing import Any

import numpy as np
import pyarrow as pa

from .schema import arrow_type, byte_values, child, message, message_array
from .time import header as make_header

IMAGE = "sensor_msgs/msg/Image"
COMPRESSED_IMAGE = "sensor_msgs/msg/CompressedImage"

# sensor_msgs/image_encodings.hpp, each with its numpy element type and
# channel count. yuv422/uyvy-style encodings are 2 interleaved channels,
# bayer patterns one channel (demosaic is not a layout question).
_NAMED_ENCODINGS: dict[str, tuple[str, int]] = {
    "rgb8": ("u1", 3), "bgr8": ("u1", 3), "rgba8": ("u1", 4), "bgra8": ("u1", 4),
    "rgb16": ("u2", 3), "bgr16": ("u2", 3), "rgba16": ("u2", 4), "bgra16": ("u2", 4),
    "mono8": ("u1", 1), "mono16": ("u2", 1),
    "yuv422": ("u1", 2), "uyvy": ("u1", 2), "yuv422_yuy2": ("u1", 2), "yuyv": ("u1", 2),
}
for _pattern in ("rggb", "bggr", "gbrg", "grbg"):
    _NAMED_ENCODINGS[f"bayer_{_pattern}8"] = ("u1", 1)
    _NAMED_ENCODINGS[f"bayer_{_pattern}16"] = ("u2", 1)

_CV_ENCODING = re.compile(r"^(8|16|32|64)([USF])C([1-9][0-9]*)?$")
_CV_DTYPES = {("8", "U"): "u1", ("8", "S"): "i1", ("16", "U"): "u2", ("16", "S"): "i2",
              ("32", "S"): "i4", ("32", "F"): "f4", ("64", "F"): "f8"}


class ImageError(ValueError):
    """An image that cannot be read or made as asked."""


def encoding_layout(encoding: str) -> tuple[np.dtype, int]:
    """The numpy element type (native byte order) and channel count of a
    sensor_msgs image encoding, e.g. `"rgb8"` -> (uint8, 3), `"32FC1"` -> (float32, 1)."""
    if encoding in _NAMED_ENCODINGS:
        code, channels = _NAMED_ENCODINGS[encoding]
        return np.dtype(code), channels
    match = _CV_ENCODING.match(encoding)
    if match and (match.group(1), match.group(2)) in _CV_DTYPES:
        return np.dtype(_CV_DTYPES[(match.group(1), match.group(2))]), int(match.group(3) or 1)
    known = ", ".join(sorted(_NAMED_ENCODINGS)[:8])
    raise ImageError(
        f"encoding {encoding!r} has no numpy layout (known: {known}, ..., and 8UC1..64FC4)"
    )


def image_to_numpy(image: Any, index: int = 0) -> np.ndarray:
    """Row `index` of a sensor_msgs/Image message as a numpy array over the
    message's own memory (read-only; `.copy()` to change it).

    Shape (height, width) for one channel, (height, width, channels) for
    more. Row padding (`step` > width * pixel size) is skipped by strides;
    big-endian data gets a big-endian dtype, so values read right.
    """
    struct = message_array(image)
    fields = {name: child(struct, name)[index].as_py()
              for name in ("height", "width", "encoding", "is_bigendian", "step")}
    dtype, channels = encoding_layout(fields["encoding"])
    dtype = dtype.newbyteorder(">" if fields["is_bigendian"] else "<")
    height, width, step = fields["height"], fields["width"], fields["step"]
    row_bytes = width * channels * dtype.itemsize
    if step < row_bytes:
        raise ImageError(f"step {step} is shorter than a row of {width} {fields['encoding']} pixels ({row_bytes} bytes)")
    data = byte_values(child(struct, "data"), index)
    needed = (height - 1) * step + row_bytes if height else 0
    if data.size < needed:
        raise ImageError(f"{height}x{width} {fields['encoding']} with step {step} needs {needed} bytes, data has {data.size}")
    shape: tuple[int, ...] = (height, width) if channels == 1 else (height, width, channels)
    strides: tuple[int, ...] = (step, channels * dtype.itemsize) + (() if channels == 1 else (dtype.itemsize,))
    if height == 0 or width == 0:
        return np.empty(shape, dtype=dtype)
    return np.ndarray(shape, dtype=dtype, buffer=data, strides=strides)


def numpy_to_image(array: np.ndarray, encoding: str, header: Any = None, *,
                   frame_id: str | None = None, stamp_ns: int | None = None) -> pa.StructArray:
    """A one-row sensor_msgs/Image from a (height, width[, channels]) array.

    The array's dtype must be the encoding's element type (either byte
    order: a big-endian array sets `is_bigendian`). `header` is a Header
    (a dict, a received header or message row); `frame_id` and `stamp_ns`
    set those parts. The pixels are shared, not copied, when the array is
    contiguous.
    """
    array = np.asarray(array)
    dtype, channels = encoding_layout(encoding)
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] != channels) or (array.ndim == 2 and channels != 1):
        want = "(height, width)" if channels == 1 else f"(height, width, {channels})"
        raise ImageError(f"{encoding} wants an array of shape {want}, got {array.shape}")
    if array.dtype.newbyteorder("=") != dtype.newbyteorder("="):
        raise ImageError(f"{encoding} wants {dtype} elements, got {array.dtype} (convert with .astype)")
    big_endian = array.dtype.byteorder == ">" or (array.dtype.byteorder == "=" and not _little_endian_host())
    height, width = array.shape[:2]
    pixels = np.ascontiguousarray(array).reshape(-1).view(np.uint8)
    return message(
        IMAGE,
        header=make_header(header, frame_id=frame_id, stamp_ns=stamp_ns),
        height=height, width=width, encoding=encoding,
        is_bigendian=int(big_endian), step=width * channels * dtype.itemsize,
        data=pixels,
    )


def _little_endian_host() -> bool:
    return np.little_endian


def compressed_image_to_numpy(image: Any, index: int = 0) -> np.ndarray:
    """Decodes row `index` of a sensor_msgs/CompressedImage (JPEG, PNG, ...)
    into (height, width[, channels]) uint8 in RGB order. Needs Pillow
    (`pip install 'ros2-dora-bridge[compressed]'`)."""
    image_module = _pillow()
    struct = message_array(image)
    data = byte_values(child(struct, "data"), index)
    with image_module.open(io.BytesIO(data.tobytes())) as decoded:
        return np.asarray(decoded)


def numpy_to_compressed_image(array: np.ndarray, format: str = "jpeg", header: Any = None, *,
                              frame_id: str | None = None, stamp_ns: int | None = None,
                              quality: int = 90) -> pa.StructArray:
    """Encodes a uint8 (height, width[, 3|4]) RGB(A) or mono array as a
    one-row sensor_msgs/CompressedImage (`format` "jpeg" or "png"). Needs Pillow."""
    image_module = _pillow()
    array = np.asarray(array)
    if array.dtype != np.uint8:
        raise ImageError(f"compressed images are 8-bit: got {array.dtype}")
    out = io.BytesIO()
    options = {"quality": quality} if format.lower() in ("jpeg", "jpg") else {}
    image_module.fromarray(array).save(out, format="JPEG" if format.lower() == "jpg" else format.upper(), **options)
    return message(
        COMPRESSED_IMAGE,
        header=make_header(header, frame_id=frame_id, stamp_ns=stamp_ns),
        format=format.lower(),
        data=np.frombuffer(out.getbuffer(), dtype=np.uint8),
    )


def _pillow() -> Any:
    try:
        from PIL import Image
    except ImportError as e:
        raise ImportError(
            "CompressedImage needs Pillow: pip install 'ros2-dora-bridge[compressed]' (or pillow)"
        ) from e
    return Image


def image_type() -> pa.StructType:
    """The Arrow type of sensor_msgs/Image as the bridge uses it."""
    return arrow_type(IMAGE)
