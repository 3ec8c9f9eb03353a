"""Image <-> numpy against images built by hand from sensor_msgs/Image's
definition: bytes laid out row by row, `step` bytes apart."""

import struct

import numpy as np
import pyarrow as pa
import pytest

import ros2_dora_bridge as rdb
from test_schema import HEADER


def hand_image(height, width, encoding, step, data: bytes, big_endian=False, offset_rows=0):
    """A sensor_msgs/Image StructArray built field by field, without the package."""
    image_type = pa.struct([
        pa.field("header", HEADER, False), pa.field("height", pa.uint32(), False),
        pa.field("width", pa.uint32(), False), pa.field("encoding", pa.string(), False),
        pa.field("is_bigendian", pa.uint8(), False), pa.field("step", pa.uint32(), False),
        pa.field("data", pa.list_(pa.uint8()), False),
    ])
    row = {"header": {"stamp": {"sec": 3, "nanosec": 4}, "frame_id": "cam"}, "height": height,
           "width": width, "encoding": encoding, "is_bigendian": int(big_endian), "step": step,
           "data": list(data)}
    filler = dict(row, data=[9, 9, 9])
    return pa.array([filler] * offset_rows + [row], type=image_type).slice(offset_rows)


def test_rgb8_odd_size_with_step_padding():
    height, width, step = 3, 5, 5 * 3 + 2
    data = bytearray()
    for y in range(height):
        for x in range(width):
            data += bytes([y * 10 + x, 100 + x, 200 + y])
        data += b"\xee\xee"  # padding the reader must skip
    image = hand_image(height, width, "rgb8", step, bytes(data), offset_rows=2)
    pixels = rdb.image_to_numpy(image)
    assert pixels.shape == (3, 5, 3) and pixels.dtype == np.uint8
    for y in range(height):
        for x in range(width):
            assert pixels[y, x].tolist() == [y * 10 + x, 100 + x, 200 + y]
    assert not pixels.flags.writeable


def test_big_endian_mono16_reads_right():
    values = [[0x0102, 0xA0B0, 65535], [7, 256, 4096]]
    data = b"".join(struct.pack(">H", v) for row in values for v in row)
    pixels = rdb.image_to_numpy(hand_image(2, 3, "mono16", 6, data, big_endian=True))
    assert pixels.shape == (2, 3)
    assert pixels.tolist() == values
    little = b"".join(struct.pack("<H", v) for row in values for v in row)
    assert rdb.image_to_numpy(hand_image(2, 3, "16UC1", 6, little)).tolist() == values


@pytest.mark.parametrize("encoding, dtype, channels", [
    ("mono8", np.uint8, 1), ("bgr8", np.uint8, 3), ("rgba8", np.uint8, 4), ("bgra8", np.uint8, 4),
    ("8UC1", np.uint8, 1), ("8UC2", np.uint8, 2), ("8UC3", np.uint8, 3), ("8UC4", np.uint8, 4),
    ("16UC1", np.uint16, 1), ("16SC1", np.int16, 1), ("32FC1", np.float32, 1), ("64FC1", np.float64, 1),
    ("yuv422", np.uint8, 2), ("uyvy", np.uint8, 2), ("bayer_rggb8", np.uint8, 1), ("bayer_grbg16", np.uint16, 1),
    ("rgb16", np.uint16, 3), ("32SC2", np.int32, 2),
])
def test_every_encoding_round_trips(encoding, dtype, channels):
    rng = np.random.default_rng(len(encoding))
    shape = (7, 3) if channels == 1 else (7, 3, channels)
    if np.issubdtype(dtype, np.floating):
        array = rng.standard_normal(shape).astype(dtype)
    else:
        array = rng.integers(np.iinfo(dtype).min, np.iinfo(dtype).max, shape, dtype=dtype, endpoint=True)
    image = rdb.numpy_to_image(array, encoding, frame_id="f", stamp_ns=5_000_000_007)
    assert image.type == rdb.arrow_type("sensor_msgs/msg/Image")
    fields = image.to_pylist()[0]
    assert fields["step"] == 3 * channels * np.dtype(dtype).itemsize
    assert fields["header"] == {"stamp": {"sec": 5, "nanosec": 7}, "frame_id": "f"}
    assert bytes(fields["data"]) == array.tobytes()
    back = rdb.image_to_numpy(image)
    np.testing.assert_array_equal(back, array)


def test_numpy_to_image_big_endian_and_views():
    array = np.array([[1, 2], [3, 258]], dtype=">u2")
    fields = rdb.numpy_to_image(array, "mono16").to_pylist()[0]
    assert fields["is_bigendian"] == 1
    assert bytes(fields["data"]) == b"\x00\x01\x00\x02\x00\x03\x01\x02"
    frame = np.arange(4 * 6 * 3, dtype=np.uint8).reshape(4, 6, 3)
    cropped = frame[1:3, 2:5]  # not contiguous: copied in
    np.testing.assert_array_equal(rdb.image_to_numpy(rdb.numpy_to_image(cropped, "rgb8")), cropped)


def test_zero_copy_both_ways():
    frame = np.zeros((480, 640, 3), dtype=np.uint8)
    image = rdb.numpy_to_image(frame, "rgb8")
    assert image.field("data").values.buffers()[1].address == frame.ctypes.data
    view = rdb.image_to_numpy(image)
    assert view.ctypes.data == frame.ctypes.data


def test_binary_data_images_are_read_too():
    array = np.arange(12, dtype=np.uint8).reshape(3, 4)
    image = rdb.numpy_to_image(array, "mono8")
    as_binary = pa.StructArray.from_arrays(
        [image.field(n) if n != "data" else pa.array([array.tobytes()], pa.binary()) for n in image.type.names],
        names=image.type.names)
    np.testing.assert_array_equal(rdb.image_to_numpy(as_binary), array)


def test_bad_images_are_clear_errors():
    with pytest.raises(rdb.ImageError, match="needs 18 bytes, data has 17"):
        rdb.image_to_numpy(hand_image(2, 3, "rgb8", 9, bytes(17)))
    with pytest.raises(rdb.ImageError, match="step 8 is shorter"):
        rdb.image_to_numpy(hand_image(2, 3, "rgb8", 8, bytes(18)))
    with pytest.raises(rdb.ImageError, match="no numpy layout"):
        rdb.image_to_numpy(hand_image(1, 1, "nv12", 1, bytes(1)))
    with pytest.raises(rdb.ImageError, match="shape \\(height, width, 3\\)"):
        rdb.numpy_to_image(np.zeros((2, 2), np.uint8), "rgb8")
    with pytest.raises(rdb.ImageError, match="wants uint8 elements, got float32"):
        rdb.numpy_to_image(np.zeros((2, 2, 3), np.float32), "rgb8")
    empty = rdb.image_to_numpy(hand_image(0, 0, "rgb8", 0, b""))
    assert empty.shape == (0, 0, 3)


def test_compressed_images_round_trip_through_png_and_jpeg():
    pytest.importorskip("PIL")
    rng = np.random.default_rng(1)
    frame = rng.integers(0, 255, (9, 13, 3), dtype=np.uint8)
    png = rdb.numpy_to_compressed_image(frame, "png", frame_id="cam")
    assert png.to_pylist()[0]["format"] == "png"
    np.testing.assert_array_equal(rdb.compressed_image_to_numpy(png), frame)
    smooth = np.full((16, 16, 3), 120, dtype=np.uint8)
    jpeg = rdb.compressed_image_to_numpy(rdb.numpy_to_compressed_image(smooth, "jpeg", quality=95))
    assert jpeg.shape == smooth.shape and np.abs(jpeg.astype(int) - 120).max() <= 2
