"""Types, defaults and messages against layouts written by hand from the
ROS definitions (docs/arrow-mapping.md)."""

import numpy as np
import pyarrow as pa
import pytest

import ros2_dora_bridge as rdb
from ros2_dora_bridge import schema

TIME = pa.struct([pa.field("sec", pa.int32(), False), pa.field("nanosec", pa.uint32(), False)])
HEADER = pa.struct([pa.field("stamp", TIME, False), pa.field("frame_id", pa.string(), False)])
VECTOR3 = pa.struct([pa.field(n, pa.float64(), False) for n in "xyz"])


def strip(t: pa.DataType) -> pa.DataType:
    """`t` without field metadata, to compare shapes."""
    if pa.types.is_struct(t):
        return pa.struct([pa.field(f.name, strip(f.type), f.nullable) for f in t])
    if pa.types.is_list(t):
        return pa.list_(pa.field(t.value_field.name, strip(t.value_type), t.value_field.nullable))
    if pa.types.is_fixed_size_list(t):
        return pa.list_(pa.field(t.value_field.name, strip(t.value_type), t.value_field.nullable), t.list_size)
    return t


def test_twist_type_is_the_documented_layout():
    twist = rdb.arrow_type("geometry_msgs/msg/Twist")
    assert strip(twist) == pa.struct([pa.field("linear", VECTOR3, False), pa.field("angular", VECTOR3, False)])


def test_image_type_has_header_and_byte_list():
    image = rdb.arrow_type("sensor_msgs/msg/Image")
    assert image.names == ["header", "height", "width", "encoding", "is_bigendian", "step", "data"]
    assert strip(image.field("header").type) == HEADER
    assert image.field("data").type.value_type == pa.uint8()
    binary = rdb.arrow_type("sensor_msgs/msg/Image", bytes_as_binary=True)
    assert binary.field("data").type == pa.binary()


def test_fixed_arrays_and_service_and_action_parts():
    odom = rdb.arrow_type("nav_msgs/msg/Odometry")
    covariance = odom.field("pose").type.field("covariance").type
    assert pa.types.is_fixed_size_list(covariance) and covariance.list_size == 36
    assert strip(rdb.arrow_type("std_srvs/srv/SetBool", "request")) == pa.struct([pa.field("data", pa.bool_(), False)])
    assert rdb.arrow_type("std_srvs/srv/SetBool_Response").names == ["success", "message"]
    assert rdb.arrow_type("std_srvs/srv/Trigger", "request") == pa.struct([])
    assert rdb.arrow_type("test_msgs/action/Fibonacci", "goal").names == ["order"]
    assert rdb.arrow_type("test_msgs/action/Fibonacci", "feedback").names == ["sequence"]
    with pytest.raises(ValueError, match="has parts \\(request, response\\)"):
        rdb.arrow_type("std_srvs/srv/SetBool")
    with pytest.raises(LookupError, match="unknown ROS type"):
        rdb.arrow_type("std_msgs/msg/NoSuchType")


def test_defaults_come_from_the_msg_files():
    # test_msgs/Defaults: bool_value true, byte_value 50, int8 -50, float32 1.125, ...
    defaults = rdb.default_message("test_msgs/msg/Defaults").to_pylist()[0]
    assert defaults["bool_value"] is True
    assert defaults["byte_value"] == 50
    assert defaults["int8_value"] == -50
    assert defaults["float32_value"] == pytest.approx(1.125)
    assert defaults["uint64_value"] == 50_000_000
    strings = rdb.default_message("test_msgs/msg/Strings").to_pylist()[0]
    assert strings["string_value_default1"] == "Hello world!"
    assert rdb.constants("sensor_msgs/msg/PointField")["FLOAT32"] == 7


def test_message_fills_defaults_and_casts_plain_numbers():
    twist = rdb.message("geometry_msgs/msg/Twist", linear={"x": 0.5}, angular={"z": 1})
    assert twist.type == rdb.arrow_type("geometry_msgs/msg/Twist")
    assert twist.to_pylist() == [{"linear": {"x": 0.5, "y": 0.0, "z": 0.0}, "angular": {"x": 0.0, "y": 0.0, "z": 1.0}}]
    defaults = rdb.message("test_msgs/msg/Defaults", int16_value=7).to_pylist()[0]
    assert defaults["int16_value"] == 7 and defaults["int8_value"] == -50


def test_message_names_every_field_that_does_not_fit_at_once():
    with pytest.raises(rdb.MessageError) as caught:
        rdb.message("sensor_msgs/msg/Image", header={"stamp": {"sec": "now"}}, height=-1, width=2.5,
                    is_bigendian=300, bogus=1)
    problems = caught.value.problems
    assert len(problems) == 5, problems
    text = str(caught.value)
    for path in ("header.stamp.sec", "height", "width", "is_bigendian", "bogus"):
        assert path + ":" in text
    with pytest.raises(rdb.MessageError, match="covariance: expected 36 elements, got 3"):
        rdb.message("geometry_msgs/msg/PoseWithCovariance", covariance=[1.0, 2.0, 3.0])


def test_message_lists_of_messages_take_item_defaults():
    cloud = rdb.message("sensor_msgs/msg/PointCloud2", fields=[{"name": "x", "datatype": 7, "count": 1}])
    assert cloud.to_pylist()[0]["fields"] == [{"name": "x", "offset": 0, "datatype": 7, "count": 1}]


def test_numpy_arrays_fill_list_fields_without_a_copy():
    data = np.arange(1000, dtype=np.uint8)
    image = rdb.message("sensor_msgs/msg/Image", data=data)
    values = image.field("data").values
    assert values.buffers()[1].address == data.ctypes.data
    scan = rdb.message("sensor_msgs/msg/LaserScan", ranges=np.array([1.0, 2.0], dtype=np.float64))
    assert scan.to_pylist()[0]["ranges"] == [1.0, 2.0]  # float64 -> float32 converted
    with pytest.raises(rdb.MessageError, match="ranges: expected float"):
        rdb.message("sensor_msgs/msg/LaserScan", ranges=np.array(["a"]))


def test_rows_read_every_row_of_a_batch_lazily():
    one = rdb.message("geometry_msgs/msg/Twist", linear={"x": 1.0})
    two = rdb.message("geometry_msgs/msg/Twist", linear={"x": 2.0})
    batch = pa.concat_arrays([one, two, one])
    event = {"type": "INPUT", "id": "cmd", "value": batch.slice(1, 2), "metadata": {}}
    got = [r.linear.x for r in rdb.rows(event)]
    assert got == [2.0, 1.0]
    image = rdb.message("sensor_msgs/msg/Image", height=1, data=np.array([5, 6, 7], dtype=np.uint8))
    view = rdb.row(image)
    assert view.height == 1 and view["data"].tolist() == [5, 6, 7]
    assert view.header.stamp.sec == 0
    assert view.as_dict()["data"] == [5, 6, 7]
    with pytest.raises(AttributeError, match="no such field"):
        view.nope
    with pytest.raises(IndexError):
        rdb.row(image, 1)


def test_types_are_cached_on_disk(monkeypatch):
    rdb.arrow_type("std_msgs/msg/String")
    schema._sheet.cache_clear()
    monkeypatch.setenv("ROS2_DORA_BRIDGE_BIN", "/bin/false-but-cached")
    # the binary's identity is part of the key: a missing binary cannot use it
    with pytest.raises(rdb.BridgeNotFound):
        rdb.arrow_type("std_msgs/msg/String")
    monkeypatch.undo()
    schema._sheet.cache_clear()
    assert rdb.arrow_type("std_msgs/msg/String").names == ["data"]


def test_missing_bridge_is_a_clear_error(monkeypatch):
    schema._sheet.cache_clear()
    monkeypatch.delenv("ROS2_DORA_BRIDGE_BIN")
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(rdb.BridgeNotFound, match="not on PATH"):
        rdb.arrow_type("std_msgs/msg/Bool")
    schema._sheet.cache_clear()
