"""The service and action helpers' matching logic, against a stand-in for
dora's node that records what it is asked to send (the real dataflows are
in tests/python_package.rs and tests/examples.rs)."""

import pyarrow as pa
import pytest

import ros2_dora_bridge as rdb


class Outbox:
    """Records `send_output` calls as dora's Node would take them."""

    def __init__(self):
        self.sent = []

    def send_output(self, output_id, data, metadata=None):
        self.sent.append((output_id, data, dict(metadata or {})))


def event(input_id, value, **metadata):
    return {"type": "INPUT", "id": input_id, "value": value, "metadata": metadata}


def test_service_client_matches_answers_and_errors():
    node = Outbox()
    client = rdb.ServiceClient(node, "std_srvs/srv/SetBool", request="req", response="resp")
    first, second = client.call(data=True), client.call({"data": False})
    assert first != second and client.pending == {first, second}
    (out1, row1, meta1), (_, row2, _) = node.sent
    assert out1 == "req" and meta1 == {"request_id": first}
    assert row1.type == rdb.arrow_type("std_srvs/srv/SetBool", "request")
    assert row1.to_pylist() == [{"data": True}] and row2.to_pylist() == [{"data": False}]
    assert client.answer(event("other", row1)) is None
    answer = client.answer(event("resp", rdb.message("std_srvs/srv/SetBool_Response", success=True), request_id=first))
    assert answer.ok and answer.response.success is True and answer.request_id == first
    empty = pa.array([], type=rdb.arrow_type("std_srvs/srv/SetBool", "response"))
    failed = client.answer(event("resp", empty, request_id=second, error="no server for the service within 5s"))
    assert not failed.ok and failed.response is None and "no server" in failed.error
    assert client.pending == set()
    with pytest.raises(rdb.MessageError, match="data: expected bool"):
        client.call(data="yes")


def test_service_server_replies_with_the_request_id():
    node = Outbox()
    seen = []
    server = rdb.ServiceServer(node, "std_srvs/srv/SetBool", request="req", response="resp")
    call = server.request(event("req", rdb.message("std_srvs/srv/SetBool_Request", data=True), request_id="r-7"))
    assert call.request.data is True
    call.reply(success=True, message="on")
    assert node.sent[-1][0] == "resp" and node.sent[-1][2] == {"request_id": "r-7"}
    assert node.sent[-1][1].to_pylist() == [{"success": True, "message": "on"}]
    with pytest.raises(RuntimeError, match="already answered"):
        call.reply(success=False)
    auto = rdb.ServiceServer(node, "std_srvs/srv/SetBool", request="req", response="resp",
                             handler=lambda r: seen.append(r.data) or {"message": "auto"})
    auto.request(event("req", rdb.message("std_srvs/srv/SetBool_Request"), request_id="r-8"))
    assert seen == [False] and node.sent[-1][1].to_pylist() == [{"success": False, "message": "auto"}]


FIB = "test_msgs/action/Fibonacci"


def test_action_client_follows_a_goal():
    node = Outbox()
    client = rdb.ActionClient(node, FIB, goal="goal", result="result", feedback="feedback",
                              status="status", cancel="cancel")
    goal = client.send_goal(order=3)
    assert node.sent[-1][0] == "goal" and node.sent[-1][2] == {"goal_id": goal.goal_id}
    assert len(goal.goal_id) == 32
    status_row = pa.array([{"goal_id": goal.goal_id, "status": "executing"}])
    update = client.update(event("status", status_row, goal_id=goal.goal_id, status="executing"))
    assert update.kind == "status" and goal.status == "executing" and not goal.done
    update = client.update(event("feedback", rdb.message(FIB, "feedback", sequence=[0, 1]), goal_id=goal.goal_id))
    assert update.kind == "feedback" and goal.feedback.sequence.tolist() == [0, 1]
    client.cancel(goal)
    assert node.sent[-1][0] == "cancel" and node.sent[-1][2] == {"goal_id": goal.goal_id}
    update = client.update(event("result", rdb.message(FIB, "result", sequence=[0, 1, 1]),
                                 goal_id=goal.goal_id, status="canceled"))
    assert goal.done and goal.status == "canceled" and goal.result.sequence.tolist() == [0, 1, 1]
    assert client.goals == {}
    other = client.send_goal(order=1)
    empty = pa.array([], type=rdb.arrow_type(FIB, "result"))
    client.update(event("result", empty, goal_id=other.goal_id, status="rejected", error="the server rejected it"))
    assert other.status == "rejected" and other.result is None and other.error == "the server rejected it"


def test_action_server_runs_a_goal_to_its_end():
    node = Outbox()
    server = rdb.ActionServer(node, FIB, goal="goal", result="result", feedback="feedback", cancel="cancel")
    new = server.update(event("goal", rdb.message(FIB, "goal", order=5), goal_id="ab" * 16))
    assert new.kind == "goal" and new.goal.goal.order == 5 and "ab" * 16 in server.goals
    new.goal.publish_feedback(sequence=[0, 1])
    assert node.sent[-1][:1] == ("feedback",) and node.sent[-1][2] == {"goal_id": "ab" * 16}
    cancel = server.update(event("cancel", pa.array([{}], type=pa.struct([])), goal_id="ab" * 16))
    assert cancel.kind == "cancel" and cancel.goal.cancel_requested
    cancel.goal.canceled(sequence=[0, 1])
    assert node.sent[-1][0] == "result" and node.sent[-1][2] == {"goal_id": "ab" * 16, "status": "canceled"}
    assert server.goals == {}
    with pytest.raises(RuntimeError, match="already ended"):
        cancel.goal.succeed()
    assert server.update(event("cancel", pa.array([{}], type=pa.struct([])), goal_id="cd" * 16)) is None


def test_parameter_client_types_values_and_matches_answers():
    node = Outbox()
    params = rdb.ParameterClient(node, request="params", response="answer")
    first = params.set("gain", 2.5)
    params.set("ids", [1, 2])
    params.set("mixed", [1, 2.5])
    params.get("gain")
    (out, row, meta), (_, ids, _), (_, mixed, _), (_, get, _) = node.sent
    assert out == "params" and meta == {"request_id": first}
    assert row.type.field("value").type == pa.float64()
    assert ids.type.field("value").type == pa.list_(pa.int64())
    assert mixed.type.field("value").type == pa.list_(pa.float64())
    assert get.to_pylist() == [{"op": "get", "name": "gain"}]
    with pytest.raises(TypeError, match="no ROS parameter type"):
        params.set("bad", {"a": 1})
    answered = pa.array([{"op": "set", "node": "/ctl", "name": "gain", "type": "double", "value": 2.5}])
    answer = params.answer(event("answer", answered, request_id=first))
    assert answer.ok and answer.value == 2.5 and answer.request_id == first
    refused = pa.array([{"op": "set", "node": "/ctl", "name": "gain"}])
    failed = params.answer(event("answer", refused, request_id="x", error="read-only", error_code="read_only"))
    assert not failed.ok and failed.error_code == "read_only" and failed.value is None
    assert params.answer(event("other", answered)) is None


def test_action_server_goals_are_accepted_or_rejected_on_the_accept_output():
    node = Outbox()
    server = rdb.ActionServer(node, "test_msgs/action/Fibonacci", goal="g", result="r", accept="a")
    goal_row = rdb.message("test_msgs/action/Fibonacci_Goal", order=3)
    first = server.update(event("g", goal_row, goal_id="1" * 32)).goal
    second = server.update(event("g", goal_row, goal_id="2" * 32)).goal
    first.accept()
    second.reject("too busy")
    (out, _, accepted), (_, _, rejected) = node.sent
    assert out == "a" and accepted == {"goal_id": "1" * 32, "status": "accepted"}
    assert rejected == {"goal_id": "2" * 32, "status": "rejected", "error": "too busy"}
    assert second.done and list(server.goals) == ["1" * 32]
    plain = rdb.ActionServer(Outbox(), "test_msgs/action/Fibonacci", goal="g", result="r")
    with pytest.raises(RuntimeError, match="no accept output"):
        plain.update(event("g", goal_row, goal_id="3" * 32)).goal.accept()
