"""Another ROS node's parameters from a dora node, through a
`parameter_clients` route (docs/services-and-actions.md).

`ParameterClient` builds the request rows (the value's Arrow type is the
parameter type it sets) and matches each answer to its call; like the
service helpers it does not own the event loop: give it each event
(`params.answer(event)`), it ignores the ones that are not its own.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from .metadata import ERROR, ERROR_CODE, REQUEST_ID
from .schema import message_array


@dataclass
class ParameterAnswer:
    """One call's outcome: `row` (op, node, name and, by op, `type` and
    `value`, `names`, or the descriptor's fields) when `ok`; else `error`
    and `error_code` (node_missing, no_parameter, type_mismatch,
    read_only, rejected, timeout, bad_request)."""

    request_id: str
    row: dict[str, Any] | None
    error: str | None
    error_code: str | None

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def value(self) -> Any:
        """The parameter's value (`get`, `set`), typed as the node has it."""
        return None if self.row is None else self.row.get("value")


def value_type(value: Any) -> pa.DataType:
    """The Arrow type that sets a parameter of `value`'s Python type."""
    if isinstance(value, bool):
        return pa.bool_()
    if isinstance(value, int):
        return pa.int64()
    if isinstance(value, float):
        return pa.float64()
    if isinstance(value, str):
        return pa.string()
    if isinstance(value, (bytes, bytearray)):
        return pa.list_(pa.uint8())
    if isinstance(value, (list, tuple)) and value:
        items = {value_type(v) for v in value}
        if items <= {pa.int64(), pa.float64()} and pa.float64() in items:
            return pa.list_(pa.float64())  # [1, 2.5] is a double array
        if len(items) == 1 and next(iter(items)) in (pa.bool_(), pa.int64(), pa.float64(), pa.string()):
            return pa.list_(next(iter(items)))
    raise TypeError(f"no ROS parameter type holds {value!r}: give a bool, int, float, str, bytes "
                    "or a non-empty list of bools, ints, floats or strs")


class ParameterClient:
    """Lists, gets, describes and sets the parameters of the ROS node a
    `parameter_clients` route names.

    ```python
    params = ParameterClient(node, request="params", response="params_answer")
    params.set("gain", 2.5)
    for event in node:
        if (answer := params.answer(event)) is not None:
            print(answer.row if answer.ok else (answer.error_code, answer.error))
    ```
    """

    def __init__(self, node: Any, *, request: str, response: str):
        self.node = node
        self.request_output = request
        self.response_input = response
        self.pending: set[str] = set()
        self._prefix = uuid.uuid4().hex[:8]
        self._numbers = itertools.count(1)

    def list(self, prefix: str = "") -> str:
        return self._send("list", prefix)

    def get(self, name: str) -> str:
        return self._send("get", name)

    def describe(self, name: str) -> str:
        return self._send("describe", name)

    def set(self, name: str, value: Any, value_arrow_type: pa.DataType | None = None) -> str:
        """Sets `name` to `value` (its Python type picks the parameter type,
        or `value_arrow_type` does); returns the call's request_id."""
        return self._send("set", name, value, value_arrow_type or value_type(value))

    def _send(self, op: str, name: str, value: Any = None, arrow: pa.DataType | None = None) -> str:
        fields = [("op", pa.string()), ("name", pa.string())]
        row = {"op": op, "name": name}
        if arrow is not None:
            fields.append(("value", arrow))
            row["value"] = list(value) if isinstance(value, (bytes, bytearray)) else value
        request_id = f"{self._prefix}-{next(self._numbers)}"
        self.node.send_output(self.request_output, pa.array([row], type=pa.struct(fields)),
                              {REQUEST_ID: request_id})
        self.pending.add(request_id)
        return request_id

    def answer(self, event: Any) -> ParameterAnswer | None:
        """The answer this event carries, or None if it is not this client's."""
        if not (isinstance(event, Mapping) and event.get("type") == "INPUT"
                and event.get("id") == self.response_input):
            return None
        metadata = event.get("metadata") or {}
        request_id = str(metadata.get(REQUEST_ID, ""))
        self.pending.discard(request_id)
        rows = message_array(event).to_pylist()
        row = rows[0] if rows else None
        error = metadata.get(ERROR)
        if error is None and row is None:
            error = "the bridge sent an empty answer without a reason"
        return ParameterAnswer(request_id, row, error, metadata.get(ERROR_CODE))
