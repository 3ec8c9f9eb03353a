"""ROS services from a dora node, over the node's own event loop.

`ServiceClient` calls a ROS service through a `service_clients` route and
matches each answer to its call; `ServiceServer` answers the calls a
`service_servers` route hands over. Neither owns the loop: give them each
event (`client.answer(event)`, `server.request(event)`); they ignore events
that are not theirs and return None.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from .metadata import ERROR, REQUEST_ID
from .schema import RowView, arrow_type, message, message_array


def _is_input(event: Any, input_id: str) -> bool:
    return isinstance(event, Mapping) and event.get("type") == "INPUT" and event.get("id") == input_id


def _row_of(service_type: str, part: str, value: Any, fields: dict[str, Any]) -> pa.StructArray:
    """`value` (a ready StructArray, a dict, a RowView) or `fields` as one row of the part."""
    if isinstance(value, pa.StructArray):
        if value.type != arrow_type(service_type, part):
            raise TypeError(f"expected a {service_type} {part} row of type {arrow_type(service_type, part)}, got {value.type}")
        return value
    given = dict(value.as_dict() if isinstance(value, RowView) else value or {})
    given.update(fields)
    return message(service_type, part, **given)


@dataclass
class ServiceAnswer:
    """One call's outcome: `response` (a RowView) when `ok`, else `error`."""

    request_id: str
    response: RowView | None
    error: str | None

    @property
    def ok(self) -> bool:
        return self.error is None


class ServiceClient:
    """Calls a ROS service through a `service_clients` route.

    ```python
    set_mode = ServiceClient(node, "std_srvs/srv/SetBool", request="set_mode_request",
                             response="set_mode_response")
    call_id = set_mode.call(data=True)
    for event in node:
        if (answer := set_mode.answer(event)) is not None:
            print(answer.request_id, answer.response.success if answer.ok else answer.error)
    ```
    """

    def __init__(self, node: Any, service_type: str, *, request: str, response: str,
                 on_answer: Callable[[ServiceAnswer], None] | None = None):
        self.node = node
        self.service_type = service_type
        self.request_output = request
        self.response_input = response
        self.on_answer = on_answer
        self.pending: set[str] = set()
        self._prefix = uuid.uuid4().hex[:8]
        self._numbers = itertools.count(1)
        arrow_type(service_type, "request")  # fail at start on a type the bridge does not know

    def call(self, request: Any = None, /, **fields: Any) -> str:
        """Sends a call (a request row, a dict, or fields) and returns its request_id."""
        row = _row_of(self.service_type, "request", request, fields)
        request_id = f"{self._prefix}-{next(self._numbers)}"
        self.node.send_output(self.request_output, row, {REQUEST_ID: request_id})
        self.pending.add(request_id)
        return request_id

    def answer(self, event: Any) -> ServiceAnswer | None:
        """The answer this event carries (also given to `on_answer`), or None."""
        if not _is_input(event, self.response_input):
            return None
        parameters = event.get("metadata") or {}
        request_id = str(parameters.get(REQUEST_ID, ""))
        self.pending.discard(request_id)
        error = parameters.get(ERROR)
        struct = message_array(event)
        if error is None and len(struct) == 0:
            error = "the bridge sent an empty answer without a reason"
        result = ServiceAnswer(request_id, None if error is not None else RowView(struct, 0), error)
        if self.on_answer is not None:
            self.on_answer(result)
        return result


class ServiceRequest:
    """One ROS call handed over by a `service_servers` route: read
    `request`, answer once with `reply(...)`."""

    def __init__(self, server: ServiceServer, request_id: str, request: RowView):
        self.server = server
        self.request_id = request_id
        self.request = request
        self.answered = False

    def reply(self, response: Any = None, /, **fields: Any) -> None:
        """Answers the call (a response row, a dict, or fields; unset fields at their defaults)."""
        if self.answered:
            raise RuntimeError(f"call {self.request_id} was already answered")
        row = _row_of(self.server.service_type, "response", response, fields)
        self.server.node.send_output(self.server.response_output, row, {REQUEST_ID: self.request_id})
        self.answered = True


class ServiceServer:
    """Answers the ROS calls of a `service_servers` route.

    ```python
    capture = ServiceServer(node, "std_srvs/srv/Trigger", request="capture_request",
                            response="capture_response")
    for event in node:
        if (call := capture.request(event)) is not None:
            call.reply(success=True, message="done")
    ```
    With `handler=`, `request(event)` answers at once with what the
    handler returns (a dict or a row) for the call's request row.
    """

    def __init__(self, node: Any, service_type: str, *, request: str, response: str,
                 handler: Callable[[RowView], Any] | None = None):
        self.node = node
        self.service_type = service_type
        self.request_input = request
        self.response_output = response
        self.handler = handler
        arrow_type(service_type, "response")

    def request(self, event: Any) -> ServiceRequest | None:
        if not _is_input(event, self.request_input):
            return None
        request_id = str((event.get("metadata") or {}).get(REQUEST_ID, ""))
        call = ServiceRequest(self, request_id, RowView(message_array(event), 0))
        if self.handler is not None:
            call.reply(self.handler(call.request))
        return call
