"""LaserScan, OccupancyGrid, covariance, stamps, metadata and SequenceCheck."""

import math

import numpy as np
import pyarrow as pa
import pytest

import ros2_dora_bridge as rdb


def test_laserscan_ranges_and_angles():
    scan = rdb.message("sensor_msgs/msg/LaserScan", angle_min=-math.pi / 2, angle_increment=math.pi / 4,
                       range_min=0.1, range_max=10.0, ranges=[1.0, float("inf"), 2.0, 0.05, 4.0],
                       intensities=[5.0] * 5)
    arrays = rdb.laserscan_to_numpy(scan)
    assert arrays.ranges.dtype == np.float32
    np.testing.assert_allclose(arrays.angles, [-math.pi / 2, -math.pi / 4, 0, math.pi / 4, math.pi / 2], atol=1e-6)
    assert arrays.valid().tolist() == [True, False, True, False, True]
    np.testing.assert_allclose(arrays.points(), [[0, -1], [2, 0], [0, 4]], atol=1e-6)
    assert arrays.intensities.tolist() == [5.0] * 5


def test_occupancy_grid_rows_from_the_origin():
    data = np.array([[-1, 0, 100], [50, 0, 0]], dtype=np.int8)
    origin = {"position": {"x": 1.0, "y": 2.0}, "orientation": {"w": 1.0}}
    grid = rdb.numpy_to_occupancy_grid(data, 0.5, origin, frame_id="map")
    fields = grid.to_pylist()[0]
    assert fields["info"]["width"] == 3 and fields["info"]["height"] == 2
    assert fields["data"] == [-1, 0, 100, 50, 0, 0]  # row-major, as the message stores it
    back = rdb.occupancy_grid_to_numpy(grid)
    np.testing.assert_array_equal(back.data, data)
    assert back.resolution == 0.5 and back.frame_id == "map"
    assert back.cell_to_world(1, 2) == pytest.approx((1.0 + 1.25, 2.0 + 0.75))


def test_covariances_as_matrices():
    matrix = np.arange(36, dtype=np.float64).reshape(6, 6)
    pose = rdb.message("geometry_msgs/msg/PoseWithCovariance", covariance=rdb.numpy_to_covariance(matrix))
    got = rdb.covariance_to_numpy(rdb.row(pose).covariance)
    np.testing.assert_array_equal(got, matrix)
    assert got[1, 0] == 6  # row-major, as ROS defines it
    assert rdb.covariance_to_numpy(list(range(9))).shape == (3, 3)
    with pytest.raises(ValueError, match="9 or 36"):
        rdb.covariance_to_numpy([1, 2])


def test_stamps():
    assert rdb.stamp_to_ns({"sec": 2, "nanosec": 5}) == 2_000_000_005
    assert rdb.ns_to_stamp(2_000_000_005) == {"sec": 2, "nanosec": 5}
    assert rdb.ns_to_stamp(-1) == {"sec": -1, "nanosec": 999_999_999}
    assert rdb.stamp_to_ns(rdb.ns_to_stamp(-1)) == -1
    image = rdb.numpy_to_image(np.zeros((1, 1), np.uint8), "mono8", stamp_ns=7_000_000_001)
    assert rdb.stamp_to_ns(rdb.row(image).header.stamp) == 7_000_000_001
    with pytest.raises(OverflowError):
        rdb.ns_to_stamp(2**31 * 10**9)
    assert rdb.header(rdb.row(image), frame_id="x") == {"stamp": {"sec": 7, "nanosec": 1}, "frame_id": "x"}


def event(seq, rows=1, stream="bridge/out", **extra):
    value = pa.array([{"data": "x"}] * rows)
    return {"type": "INPUT", "id": "out", "value": value,
            "metadata": {"bridge_seq": seq, "bridge_stream": stream, **extra}}


def test_metadata_by_name():
    meta = rdb.Metadata(event(3, ros_topic="/t", ros_source_timestamp_ns=5, ros_publisher_node="/talker"))
    assert (meta.ros_topic, meta.bridge_seq, meta.bridge_stream) == ("/t", 3, "bridge/out")
    assert meta.source_timestamps_ns == [5] and meta.publisher_node == "/talker"
    assert meta.goal_id is None
    batch = rdb.Metadata({"ros_source_timestamps_ns": [1, 2]})
    assert batch.source_timestamps_ns == [1, 2]


def test_sequence_check_counts_missed_and_repeated_rows():
    check = rdb.SequenceCheck()
    assert check.observe(event(1)) == 0
    assert check.observe(event(2, rows=3)) == 0
    assert check.observe(event(7)) == 2  # 5 and 6 missing
    assert check.observe(event(8, stream="bridge/other")) == 7
    assert check.observe(event(7)) == 0
    assert check.streams["bridge/out"].repeated == 1
    assert check.streams["bridge/out"].gaps == [(5, 6)]
    assert check.streams["bridge/other"].gaps == [(1, 7)]
    assert check.missed == 9 and check.received == 7
    late = rdb.SequenceCheck(from_start=False)
    assert late.observe(event(100)) == 0 and late.observe(event(102)) == 1
    assert rdb.SequenceCheck().observe({"metadata": {}}) == 0
