"""ROS actions from a dora node, over the node's own event loop.

`ActionClient` sends goals through an `action_clients` route and follows
each goal's feedback, status and result; `ActionServer` carries out the
goals an `action_servers` route hands over (feedback, then succeed, abort
or canceled). Give them each event; they ignore what is not theirs.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from .metadata import ERROR, GOAL_ID, STATUS
from .schema import RowView, arrow_type, message_array
from .services import _is_input, _row_of

TERMINAL = ("succeeded", "canceled", "aborted", "rejected", "error")


@dataclass
class GoalHandle:
    """A goal sent by an ActionClient, updated as its events arrive."""

    goal_id: str
    status: str = "sent"
    feedback: RowView | None = None
    result: RowView | None = None
    error: str | None = None

    @property
    def done(self) -> bool:
        return self.status in TERMINAL


@dataclass
class ActionUpdate:
    """What one event said about a goal: `kind` is feedback, status or result."""

    kind: str
    goal: GoalHandle
    value: RowView | None = None


class ActionClient:
    """Sends goals to a ROS action server through an `action_clients` route.

    ```python
    fib = ActionClient(node, "example_interfaces/action/Fibonacci", goal="fib_goal",
                       result="fib_result", feedback="fib_feedback", cancel="fib_cancel")
    goal = fib.send_goal(order=10)
    for event in node:
        if (update := fib.update(event)) and update.goal.done:
            print(update.goal.status, update.goal.result.sequence)
    ```
    """

    def __init__(self, node: Any, action_type: str, *, goal: str, result: str,
                 feedback: str | None = None, status: str | None = None, cancel: str | None = None):
        self.node = node
        self.action_type = action_type
        self.goal_output, self.result_input = goal, result
        self.feedback_input, self.status_input, self.cancel_output = feedback, status, cancel
        self.goals: dict[str, GoalHandle] = {}
        arrow_type(action_type, "goal")

    def send_goal(self, goal: Any = None, /, **fields: Any) -> GoalHandle:
        """Sends a goal (a row, a dict, or fields) and returns its handle."""
        row = _row_of(self.action_type, "goal", goal, fields)
        handle = GoalHandle(uuid.uuid4().hex)
        self.goals[handle.goal_id] = handle
        self.node.send_output(self.goal_output, row, {GOAL_ID: handle.goal_id})
        return handle

    def cancel(self, goal: GoalHandle | str | None = None) -> None:
        """Cancels one goal, or every goal of the route when none is named."""
        if self.cancel_output is None:
            raise RuntimeError("this ActionClient has no cancel output (pass cancel=...)")
        parameters = {} if goal is None else {GOAL_ID: goal if isinstance(goal, str) else goal.goal_id}
        self.node.send_output(self.cancel_output, pa.array([{}], type=pa.struct([])), parameters)

    def update(self, event: Any) -> ActionUpdate | None:
        for kind, input_id in (("result", self.result_input), ("feedback", self.feedback_input),
                               ("status", self.status_input)):
            if input_id is not None and _is_input(event, input_id):
                return self._apply(kind, event)
        return None

    def _apply(self, kind: str, event: Mapping[str, Any]) -> ActionUpdate:
        parameters = event.get("metadata") or {}
        goal_id = str(parameters.get(GOAL_ID, ""))
        handle = self.goals.get(goal_id) or self.goals.setdefault(goal_id, GoalHandle(goal_id))
        struct = message_array(event)
        value = RowView(struct, 0) if len(struct) else None
        if kind == "feedback":
            handle.feedback = value
        elif parameters.get(STATUS) is not None and not handle.done:
            handle.status = str(parameters[STATUS])
        if kind == "result":
            handle.result = value if parameters.get(ERROR) is None else None
            handle.error = parameters.get(ERROR)
            self.goals.pop(goal_id, None)
        return ActionUpdate(kind, handle, value if kind != "status" else None)


class ServerGoal:
    """A goal handed over by an `action_servers` route: `goal` (the request
    row), `publish_feedback(...)`, then one of succeed / abort / canceled."""

    def __init__(self, server: ActionServer, goal_id: str, goal: RowView):
        self.server = server
        self.goal_id = goal_id
        self.goal = goal
        self.cancel_requested = False
        self.status = "executing"

    @property
    def done(self) -> bool:
        return self.status in TERMINAL

    def publish_feedback(self, feedback: Any = None, /, **fields: Any) -> None:
        self._check_open()
        row = _row_of(self.server.action_type, "feedback", feedback, fields)
        self.server.node.send_output(self.server.feedback_output, row, {GOAL_ID: self.goal_id})

    def succeed(self, result: Any = None, /, **fields: Any) -> None:
        self._finish("succeeded", result, fields)

    def abort(self, result: Any = None, /, **fields: Any) -> None:
        self._finish("aborted", result, fields)

    def canceled(self, result: Any = None, /, **fields: Any) -> None:
        self._finish("canceled", result, fields)

    def accept(self) -> None:
        """With the route's `accept:`: the client is told the goal runs."""
        self._decide("accepted", None)

    def reject(self, reason: str = "") -> None:
        """With the route's `accept:`: the client is told no (the reason is logged by the bridge)."""
        self._decide("rejected", reason)
        self.status = "rejected"
        self.server.goals.pop(self.goal_id, None)

    def _decide(self, status: str, reason: str | None) -> None:
        self._check_open()
        if self.server.accept_output is None:
            raise RuntimeError("this ActionServer has no accept output (pass accept=...; the route needs `accept:`)")
        metadata = {GOAL_ID: self.goal_id, STATUS: status}
        if reason:
            metadata[ERROR] = reason
        self.server.node.send_output(self.server.accept_output, pa.array([{}], type=pa.struct([])), metadata)

    def _finish(self, status: str, result: Any, fields: dict[str, Any]) -> None:
        self._check_open()
        row = _row_of(self.server.action_type, "result", result, fields)
        self.server.node.send_output(self.server.result_output, row, {GOAL_ID: self.goal_id, STATUS: status})
        self.status = status
        self.server.goals.pop(self.goal_id, None)

    def _check_open(self) -> None:
        if self.done:
            raise RuntimeError(f"goal {self.goal_id} already ended ({self.status})")


@dataclass
class ServerEvent:
    """`kind` "goal" (a new goal to carry out) or "cancel" (its client asks to cancel it)."""

    kind: str
    goal: ServerGoal
    extra: dict[str, Any] = field(default_factory=dict)


class ActionServer:
    """Carries out the goals of an `action_servers` route.

    ```python
    count = ActionServer(node, "example_interfaces/action/Fibonacci", goal="count_goal",
                         result="count_result", feedback="count_feedback", cancel="count_cancel")
    for event in node:
        if (ev := count.update(event)) is None:
            continue
        if ev.kind == "goal":
            ev.goal.publish_feedback(sequence=[0, 1])
        elif ev.kind == "cancel":
            ev.goal.canceled(sequence=[0, 1])
    ```
    The bridge accepts every goal for the ROS client, unless the route has
    `accept:`: then give `accept=` its input and call `goal.accept()` or
    `goal.reject(reason)` on each new goal first.
    """

    def __init__(self, node: Any, action_type: str, *, goal: str, result: str,
                 feedback: str | None = None, cancel: str | None = None, accept: str | None = None):
        self.node = node
        self.accept_output = accept
        self.action_type = action_type
        self.goal_input, self.result_output = goal, result
        self.feedback_output, self.cancel_input = feedback, cancel
        self.goals: dict[str, ServerGoal] = {}
        arrow_type(action_type, "result")

    def update(self, event: Any) -> ServerEvent | None:
        if _is_input(event, self.goal_input):
            goal_id = str((event.get("metadata") or {}).get(GOAL_ID, ""))
            goal = self.goals[goal_id] = ServerGoal(self, goal_id, RowView(message_array(event), 0))
            return ServerEvent("goal", goal)
        if self.cancel_input is not None and _is_input(event, self.cancel_input):
            goal = self.goals.get(str((event.get("metadata") or {}).get(GOAL_ID, "")))
            if goal is None:
                return None  # ended meanwhile
            goal.cancel_requested = True
            return ServerEvent("cancel", goal)
        return None
