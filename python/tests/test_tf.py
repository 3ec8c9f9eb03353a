"""Transform lookups: requests, answers, matrices."""

import math

import numpy as np
import pyarrow as pa
import pytest

import ros2_dora_bridge as rdb


def test_a_lookup_request_has_the_columns_the_bridge_reads():
    request = rdb.lookup_request("map", "laser", 5)
    assert request.type.field("time_ns").type == pa.int64()
    assert request.to_pylist() == [{"target_frame": "map", "source_frame": "laser", "time_ns": 5}]


def test_an_answer_becomes_a_matrix_and_an_error_raises():
    half_turn = math.sqrt(0.5)
    answer = {"header": {"frame_id": "map"}, "child_frame_id": "laser",
              "transform": {"translation": {"x": 1.0, "y": 2.0, "z": 3.0},
                            "rotation": {"x": 0.0, "y": 0.0, "z": half_turn, "w": half_turn}}}
    event = {"value": pa.array([answer]), "metadata": {"request_id": "1"}}
    matrix = rdb.transform_to_matrix(rdb.transform_of(event))
    # 90 degrees about z, then the translation: (1, 0, 0) -> (1, 3, 3).
    np.testing.assert_allclose(matrix @ [1, 0, 0, 1], [1, 3, 3, 1], atol=1e-12)
    failed = {"value": pa.array([], type=pa.array([answer]).type),
              "metadata": {"error": "unknown frame `x`", "error_code": "lookup_error"}}
    with pytest.raises(rdb.LookupFailed) as raised:
        rdb.transform_of(failed)
    assert raised.value.code == "lookup_error"
