"""PointCloud2 <-> numpy against clouds packed by hand with `struct`, with
padding between fields and at the end of points and rows."""

import struct

import numpy as np
import pytest

import ros2_dora_bridge as rdb

FLOAT32, UINT8, UINT16, FLOAT64 = 7, 2, 4, 8


def hand_cloud(points, height, width, big_endian=False, row_padding=0):
    """x, y, z float32 at 0, 4, 8; 4 bytes padding; intensity uint16 at 16;
    ring uint8 at 18; point_step 24 (5 bytes padding at the end)."""
    order = ">" if big_endian else "<"
    point_step, row_step = 24, width * 24 + row_padding
    data = bytearray()
    for r in range(height):
        for x, y, z, intensity, ring in points[r * width:(r + 1) * width]:
            data += struct.pack(order + "fff4xHB5x", x, y, z, intensity, ring)
        data += b"\xab" * row_padding
    fields = [{"name": "x", "offset": 0, "datatype": FLOAT32, "count": 1},
              {"name": "y", "offset": 4, "datatype": FLOAT32, "count": 1},
              {"name": "z", "offset": 8, "datatype": FLOAT32, "count": 1},
              {"name": "intensity", "offset": 16, "datatype": UINT16, "count": 1},
              {"name": "ring", "offset": 18, "datatype": UINT8, "count": 1}]
    return rdb.message("sensor_msgs/msg/PointCloud2", height=height, width=width, fields=fields,
                       is_bigendian=big_endian, point_step=point_step, row_step=row_step,
                       data=np.frombuffer(bytes(data), np.uint8), is_dense=True)


POINTS = [(i * 0.5, -i * 1.25, 3.0 + i, 1000 + i, i % 16) for i in range(6)]


@pytest.mark.parametrize("big_endian", [False, True])
def test_unorganised_cloud_with_padding_fields(big_endian):
    cloud = rdb.pointcloud2_to_numpy(hand_cloud(POINTS, 1, 6, big_endian))
    assert cloud.shape == (6,)
    assert cloud.dtype.itemsize == 24
    for got, want in zip(cloud, POINTS):
        assert (float(got["x"]), float(got["y"]), float(got["z"]), int(got["intensity"]), int(got["ring"])) == want


def test_organised_cloud_with_row_padding():
    cloud = rdb.pointcloud2_to_numpy(hand_cloud(POINTS, 2, 3, row_padding=7))
    assert cloud.shape == (2, 3)
    assert cloud["intensity"].tolist() == [[1000, 1001, 1002], [1003, 1004, 1005]]
    xyz = rdb.pointcloud2_xyz(hand_cloud(POINTS, 2, 3, row_padding=7))
    np.testing.assert_allclose(xyz, [p[:3] for p in POINTS])


def test_round_trip_keeps_fields_offsets_and_step():
    dtype = np.dtype({"names": ["x", "y", "z", "rgb", "normal"], "formats": ["<f4", "<f4", "<f4", "<u4", ("<f8", (3,))],
                      "offsets": [0, 4, 8, 16, 24], "itemsize": 56})
    points = np.zeros(5, dtype=dtype)
    points["x"] = np.arange(5)
    points["normal"] = np.arange(15).reshape(5, 3)
    message = rdb.numpy_to_pointcloud2(points, frame_id="lidar")
    fields = message.to_pylist()[0]
    assert fields["point_step"] == 56 and fields["row_step"] == 280 and fields["height"] == 1
    assert fields["fields"][4] == {"name": "normal", "offset": 24, "datatype": FLOAT64, "count": 3}
    assert fields["is_dense"] is True
    back = rdb.pointcloud2_to_numpy(message)
    assert back.dtype == dtype
    np.testing.assert_array_equal(back, points)
    points["x"][2] = np.nan
    assert rdb.numpy_to_pointcloud2(points).to_pylist()[0]["is_dense"] is False


def test_a_big_cloud_is_a_view():
    points = np.zeros(1_000_000, dtype=[("x", "<f4"), ("y", "<f4"), ("z", "<f4"), ("i", "<f4")])
    message = rdb.numpy_to_pointcloud2(points)
    view = rdb.pointcloud2_to_numpy(message)
    assert view.ctypes.data == points.ctypes.data


def test_bad_clouds_are_clear_errors():
    with pytest.raises(rdb.PointCloudError, match="unknown PointField datatype 9"):
        rdb.pointcloud_dtype([{"name": "x", "offset": 0, "datatype": 9, "count": 1}], 4)
    with pytest.raises(rdb.PointCloudError, match="structured array"):
        rdb.numpy_to_pointcloud2(np.zeros((3, 3)))
    short = rdb.message("sensor_msgs/msg/PointCloud2", height=1, width=10, point_step=4, row_step=40,
                        fields=[{"name": "x", "datatype": FLOAT32, "count": 1}], data=np.zeros(39, np.uint8))
    with pytest.raises(rdb.PointCloudError, match="need 40 bytes, data has 39"):
        rdb.pointcloud2_to_numpy(short)
