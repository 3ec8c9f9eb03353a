"""The bridge's Arrow types and defaults, messages from plain Python values,
and rows of received messages.

The types come from the bridge binary itself (`ros2-dora-bridge schema TYPE
--format arrow-ipc`), so this package and the bridge cannot disagree on a
layout. They are cached in memory and on disk (keyed by the binary and the
installed interfaces).
"""

from __future__ import annotations

import functools
import hashlib
import os
import shutil
import subprocess
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

BRIDGE_ENV = "ROS2_DORA_BRIDGE_BIN"
"""Environment variable naming the bridge binary (default: `ros2-dora-bridge` on PATH)."""

_PART_SUFFIXES = {
    "request": "_Request",
    "response": "_Response",
    "goal": "_Goal",
    "feedback": "_Feedback",
    "result": "_Result",
}


class MessageError(ValueError):
    """Values that do not fit a message type; `problems` lists every field at fault."""

    def __init__(self, type_name: str, problems: list[str]):
        self.type_name = type_name
        self.problems = problems
        lines = "\n  ".join(problems)
        noun = "field does" if len(problems) == 1 else "fields do"
        super().__init__(f"{type_name}: {len(problems)} {noun} not fit:\n  {lines}")


class BridgeNotFound(RuntimeError):
    """The bridge binary that knows the types could not be run."""


def bridge_binary() -> str:
    """The bridge binary this package asks for types: `$ROS2_DORA_BRIDGE_BIN`,
    else `ros2-dora-bridge` on PATH."""
    named = os.environ.get(BRIDGE_ENV)
    if named:
        return named
    found = shutil.which("ros2-dora-bridge")
    if found is None:
        raise BridgeNotFound(
            "ros2-dora-bridge is not on PATH: the message types come from it. "
            f"Put it on PATH or set {BRIDGE_ENV} to its path."
        )
    return found


def _full_name(type_name: str, part: str | None) -> str:
    if part is None:
        return type_name
    if part not in _PART_SUFFIXES:
        raise ValueError(f"unknown part {part!r}; one of {', '.join(_PART_SUFFIXES)}")
    return type_name + _PART_SUFFIXES[part]


def _cache_file(binary: str, type_name: str, bytes_as_binary: bool) -> Path | None:
    try:
        stat = os.stat(binary)
    except OSError:
        return None
    key = "\0".join(
        [os.path.realpath(binary), str(stat.st_mtime_ns), str(stat.st_size),
         os.environ.get("AMENT_PREFIX_PATH", ""), type_name, str(bytes_as_binary)]
    )
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "ros2_dora_bridge" / "types" / (hashlib.sha256(key.encode()).hexdigest() + ".arrow")


def _ask_bridge(type_name: str, bytes_as_binary: bool) -> bytes:
    binary = bridge_binary()
    cached = _cache_file(binary, type_name, bytes_as_binary)
    if cached is not None and cached.is_file():
        return cached.read_bytes()
    command = [binary, "schema", type_name, "--format", "arrow-ipc"]
    if bytes_as_binary:
        command.append("--bytes-as-binary")
    try:
        done = subprocess.run(command, capture_output=True, timeout=60, check=False)
    except OSError as e:
        raise BridgeNotFound(f"cannot run {binary}: {e}") from e
    if done.returncode != 0:
        reason = done.stderr.decode(errors="replace").strip()
        raise LookupError(f"{type_name}: {reason or 'the bridge could not resolve the type'}")
    if cached is not None:
        try:
            cached.parent.mkdir(parents=True, exist_ok=True)
            partial = cached.with_suffix(f".{os.getpid()}.tmp")
            partial.write_bytes(done.stdout)
            partial.replace(cached)
        except OSError:
            pass  # a read-only home only costs the next process a call
    return done.stdout


@functools.lru_cache(maxsize=None)
def _sheet(type_name: str, bytes_as_binary: bool) -> pa.RecordBatch:
    """The bridge's one-row batch for `type_name`: a column per part, holding
    that part's default message."""
    with pa.ipc.open_stream(_ask_bridge(type_name, bytes_as_binary)) as reader:
        return reader.read_next_batch()


def _part_column(type_name: str, part: str | None, bytes_as_binary: bool) -> tuple[pa.Field, pa.Array]:
    sheet = _sheet(_full_name(type_name, part), bytes_as_binary)
    if sheet.num_columns != 1:
        parts = ", ".join(sheet.schema.names)
        raise ValueError(
            f"{type_name} has parts ({parts}): name one, e.g. "
            f"arrow_type({type_name!r}, {sheet.schema.names[0]!r})"
        )
    return sheet.schema.field(0), sheet.column(0)


def arrow_type(type_name: str, part: str | None = None, *, bytes_as_binary: bool = False) -> pa.StructType:
    """The exact Arrow type the bridge sends and expects for a ROS type.

    `type_name` is a message (`sensor_msgs/msg/Image`), a service or action
    half (`std_srvs/srv/SetBool_Request`, `example/action/Fib_Goal`), or a
    service or action with `part` (`"request"`, `"response"`, `"goal"`,
    `"feedback"`, `"result"`). `bytes_as_binary` matches a route with that
    option (`uint8[]` as Binary).
    """
    field, _ = _part_column(type_name, part, bytes_as_binary)
    return field.type


def default_message(type_name: str, part: str | None = None) -> pa.StructArray:
    """A one-row message with every field at its `.msg` default."""
    return _part_column(type_name, part, False)[1]


def constants(type_name: str, part: str | None = None) -> dict[str, Any]:
    """The type's constants (`.msg` lines like `uint8 FLOAT32=7`) by name."""
    field, _ = _part_column(type_name, part, False)
    found: dict[str, Any] = {}
    for key, value in (field.metadata or {}).items():
        key_text = key.decode()
        if key_text.startswith("ros.constant."):
            ros_type, _, literal = value.decode().partition(" ")
            found[key_text[len("ros.constant."):]] = _constant_value(ros_type, literal)
    return found


def _constant_value(ros_type: str, literal: str) -> Any:
    if ros_type == "bool":
        return literal.lower() in ("true", "1")
    if ros_type.startswith(("float", "double")):
        return float(literal)
    if ros_type.startswith("string") or ros_type.startswith("wstring"):
        return literal.strip("'\"")
    try:
        return int(literal, 0)
    except ValueError:
        return literal


@functools.lru_cache(maxsize=None)
def _default_values(type_name: str, part: str | None) -> dict[str, Any]:
    return default_message(type_name, part).to_pylist()[0]


def message(type_name: str, part: str | None = None, /, **fields: Any) -> pa.StructArray:
    """A one-row message of `type_name` in the bridge's exact types.

    Fields left out take their `.msg` defaults; nested messages are dicts
    (partial ones are completed from the defaults); plain Python ints and
    floats go where the field wants them; numpy arrays fill numeric arrays
    without a copy where their dtype already matches. Values that do not fit
    raise one `MessageError` naming every field at fault.
    """
    data_type = arrow_type(type_name, part)
    problems: list[str] = []
    values = _fill(fields, _default_values(type_name, part), data_type, "", problems)
    if problems:
        raise MessageError(_full_name(type_name, part), problems)
    return _column(values, data_type)


def messages(type_name: str, values: Any, part: str | None = None) -> pa.StructArray:
    """A multi-row message (one row per dict of `values`), as `message`
    makes each row; a route publishes each row as one ROS message."""
    made = [message(type_name, part, **dict(fields)) for fields in values]
    if not made:
        return pa.array([], type=arrow_type(type_name, part))
    return made[0] if len(made) == 1 else pa.concat_arrays(made)


@functools.lru_cache(maxsize=None)
def _ros_int_range(t: pa.DataType) -> tuple[int, int]:
    info = np.iinfo(t.to_pandas_dtype())
    return int(info.min), int(info.max)


def _describe(value: Any) -> str:
    text = repr(value)
    if len(text) > 40:
        text = text[:37] + "..."
    return f"{text} ({type(value).__name__})"


def _fill(given: Any, default: Any, t: pa.DataType, path: str, problems: list[str]) -> Any:
    """`given` checked against `t` and completed from `default`; problems
    are appended, never raised, so that all of them are told at once."""
    if isinstance(given, pa.Scalar):
        given = given.as_py()
    elif isinstance(given, RowView):
        given = given.as_dict()
    where = path or "message"
    if pa.types.is_struct(t):
        if not isinstance(given, Mapping):
            problems.append(f"{where}: expected a dict of fields, got {_describe(given)}")
            return default
        names = [f.name for f in t]
        for unknown in sorted(set(given) - set(names)):
            problems.append(f"{path + '.' if path else ''}{unknown}: no such field (fields: {', '.join(names)})")
        filled = dict(default) if isinstance(default, Mapping) else _type_default(t)
        for f in t:
            if f.name in given:
                sub_path = f"{path}.{f.name}" if path else f.name
                filled[f.name] = _fill(given[f.name], filled.get(f.name), f.type, sub_path, problems)
        return filled
    if pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t):
        return _fill_list(given, t, where, problems)
    if pa.types.is_binary(t) or pa.types.is_large_binary(t):
        if isinstance(given, (bytes, bytearray, memoryview)):
            return bytes(given)
        if isinstance(given, np.ndarray) and given.dtype == np.uint8:
            return given
        problems.append(f"{where}: expected bytes, got {_describe(given)}")
        return default
    if not _scalar_fits(given, t):
        problems.append(f"{where}: expected {_expected(t)}, got {_describe(given)}")
        return default
    return given.item() if isinstance(given, np.generic) else given


def _type_default(t: pa.DataType) -> Any:
    """The default of a value of type `t` where the bridge gave none (list
    items): each field's `ros.default` literal, else zero / empty."""
    if pa.types.is_struct(t):
        return {f.name: _field_default(f) for f in t}
    if pa.types.is_fixed_size_list(t):
        return [_type_default(t.value_type) for _ in range(t.list_size)]
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        return []
    if pa.types.is_binary(t) or pa.types.is_large_binary(t):
        return b""
    if pa.types.is_boolean(t):
        return False
    if pa.types.is_integer(t):
        return 0
    if pa.types.is_floating(t):
        return 0.0
    return ""


def _field_default(f: pa.Field) -> Any:
    literal = (f.metadata or {}).get(b"ros.default")
    if literal is None or pa.types.is_struct(f.type):
        return _type_default(f.type)
    text = literal.decode()
    if pa.types.is_list(f.type) or pa.types.is_fixed_size_list(f.type) or pa.types.is_large_list(f.type):
        items = [item.strip() for item in text.strip().strip("[]").split(",") if item.strip()]
        return [_literal(item, f.type.value_type) for item in items]
    return _literal(text, f.type)


def _literal(text: str, t: pa.DataType) -> Any:
    if pa.types.is_boolean(t):
        return text.strip().lower() in ("true", "1")
    if pa.types.is_integer(t):
        return int(text, 0)
    if pa.types.is_floating(t):
        return float(text)
    return text.strip().strip("'\"")


def _fill_list(given: Any, t: pa.DataType, where: str, problems: list[str]) -> Any:
    item_type = t.value_type
    if isinstance(given, np.ndarray):
        if pa.types.is_fixed_size_list(t) and given.size != t.list_size:
            problems.append(f"{where}: expected {t.list_size} elements, got {given.size}")
        elif not _array_fits(given, item_type):
            problems.append(f"{where}: expected {_expected(item_type)} elements, got a numpy {given.dtype} array")
        return given
    if isinstance(given, (bytes, bytearray)) and item_type == pa.uint8():
        given = list(given)
    if isinstance(given, (str, bytes, Mapping)) or not hasattr(given, "__iter__"):
        problems.append(f"{where}: expected a list, got {_describe(given)}")
        return []
    items = list(given)
    if pa.types.is_fixed_size_list(t) and len(items) != t.list_size:
        problems.append(f"{where}: expected {t.list_size} elements, got {len(items)}")
    return [_fill(item, None, item_type, f"{where}[{i}]", problems) for i, item in enumerate(items)]


def _expected(t: pa.DataType) -> str:
    if pa.types.is_integer(t):
        low, high = _ros_int_range(t)
        return f"{t} (an int in {low}..{high})"
    if pa.types.is_floating(t):
        return f"{t} (a number)"
    if pa.types.is_boolean(t):
        return "bool"
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return "str"
    return str(t)


def _scalar_fits(value: Any, t: pa.DataType) -> bool:
    if pa.types.is_boolean(t):
        return isinstance(value, (bool, np.bool_))
    if isinstance(value, (bool, np.bool_)):
        return False
    if pa.types.is_integer(t):
        if not isinstance(value, (int, np.integer)):
            return False
        low, high = _ros_int_range(t)
        return low <= int(value) <= high
    if pa.types.is_floating(t):
        return isinstance(value, (int, float, np.integer, np.floating))
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return isinstance(value, str)
    return True


def _array_fits(array: np.ndarray, item_type: pa.DataType) -> bool:
    if not (pa.types.is_integer(item_type) or pa.types.is_floating(item_type) or pa.types.is_boolean(item_type)):
        return False
    target = np.dtype(item_type.to_pandas_dtype())
    return np.can_cast(array.dtype, target, casting="same_kind") and (
        array.dtype.kind != "f" or target.kind == "f"
    )


def _column(value: Any, t: pa.DataType) -> pa.Array:
    """A one-row Arrow array of type `t` holding `value` (already checked)."""
    if pa.types.is_struct(t):
        if t.num_fields == 0:
            return pa.array([{}], type=t)
        children = [_column(value[f.name], f.type) for f in t]
        return pa.StructArray.from_arrays(children, fields=list(t))
    if isinstance(value, np.ndarray):
        return _array_column(value, t)
    return pa.array([value], type=t)


def _array_column(array: np.ndarray, t: pa.DataType) -> pa.Array:
    """A numpy array as a one-row list (or binary) column, sharing its
    memory when it is contiguous and already of the item type."""
    flat = np.ascontiguousarray(array).reshape(-1)
    if pa.types.is_binary(t) or pa.types.is_large_binary(t):
        return pa.array([flat.tobytes()], type=t)
    item_type = t.value_type
    target = np.dtype(item_type.to_pandas_dtype())
    if flat.dtype != target:
        flat = flat.astype(target)
    values = pa.array(flat, type=item_type)
    if pa.types.is_fixed_size_list(t):
        return pa.FixedSizeListArray.from_arrays(values, type=t)
    offsets_type = pa.int64() if pa.types.is_large_list(t) else pa.int32()
    offsets = pa.array([0, len(values)], type=offsets_type)
    list_class = pa.LargeListArray if pa.types.is_large_list(t) else pa.ListArray
    return list_class.from_arrays(offsets, values, type=t)


# --- reading ---------------------------------------------------------------


def message_array(value: Any) -> pa.StructArray:
    """The `StructArray` of a dora event (`event`, `event["value"]`, a
    ChunkedArray or a StructArray)."""
    if isinstance(value, Mapping) and "value" in value:
        value = value["value"]
    if isinstance(value, pa.ChunkedArray):
        value = value.combine_chunks()
    if not isinstance(value, pa.StructArray):
        raise TypeError(f"expected a message (a pyarrow StructArray or a dora event), got {type(value).__name__}")
    return value


def child(struct: pa.StructArray, name: str) -> pa.Array:
    """A struct's field as an array aligned with the struct's rows (older
    pyarrow's `StructArray.field` ignores a sliced struct's offset; newer
    ones apply it)."""
    column = struct.field(name)
    if len(column) != len(struct):
        column = column.slice(struct.offset, len(struct))
    return column


def list_values(column: pa.Array, index: int) -> pa.Array:
    """Row `index` of a list column as an array (zero-copy)."""
    if pa.types.is_fixed_size_list(column.type):
        size = column.type.list_size
        start = (column.offset + index) * size
        return column.values.slice(start, size)
    offsets = column.offsets
    start, end = offsets[index].as_py(), offsets[index + 1].as_py()
    return column.values.slice(start, end - start)


def byte_values(column: pa.Array, index: int) -> np.ndarray:
    """Row `index` of a `uint8[]` column (List<UInt8> or Binary) as a
    read-only numpy uint8 array over the message's own memory."""
    t = column.type
    if pa.types.is_binary(t) or pa.types.is_large_binary(t):
        offset_dtype = np.int64 if pa.types.is_large_binary(t) else np.int32
        _, offsets_buffer, data_buffer = column.buffers()
        offsets = np.frombuffer(offsets_buffer, dtype=offset_dtype)
        start, end = int(offsets[column.offset + index]), int(offsets[column.offset + index + 1])
        if data_buffer is None:
            return np.empty(0, dtype=np.uint8)
        return np.frombuffer(data_buffer, dtype=np.uint8)[start:end]
    return primitive_values(list_values(column, index))


def primitive_values(values: pa.Array) -> np.ndarray:
    """A primitive Arrow array as numpy, zero-copy (booleans are copied:
    Arrow packs them in bits)."""
    if pa.types.is_boolean(values.type):
        return values.to_numpy(zero_copy_only=False)
    return values.to_numpy(zero_copy_only=True)


def _is_numeric(t: pa.DataType) -> bool:
    return pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_boolean(t)


class RowView:
    """One row of a message, read lazily: `row.header.stamp.sec`,
    `row["data"]`. Nested messages are RowViews, numeric arrays numpy
    views over the message's memory, other values plain Python."""

    __slots__ = ("_struct", "_index")

    def __init__(self, struct: pa.StructArray, index: int = 0):
        self._struct = struct
        self._index = index

    def keys(self) -> list[str]:
        return [f.name for f in self._struct.type]

    def __contains__(self, name: object) -> bool:
        return name in self.keys()

    def __getitem__(self, name: str) -> Any:
        if name not in self.keys():
            raise KeyError(f"{name!r}: no such field (fields: {', '.join(self.keys())})")
        column = child(self._struct, name)
        t = column.type
        if pa.types.is_struct(t):
            return RowView(column, self._index)
        if pa.types.is_binary(t) or pa.types.is_large_binary(t):
            return byte_values(column, self._index)
        if pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t):
            items = list_values(column, self._index)
            if _is_numeric(items.type):
                return primitive_values(items)
            if pa.types.is_struct(items.type):
                return [RowView(items, i) for i in range(len(items))]
            return items.to_pylist()
        return column[self._index].as_py()

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError as e:
            raise AttributeError(str(e)) from None

    def as_dict(self) -> dict[str, Any]:
        """The row as plain Python (lists, not numpy)."""
        return self._struct[self._index].as_py()

    def __repr__(self) -> str:
        return f"RowView({self.as_dict()!r})"


def rows(event: Any) -> Iterator[RowView]:
    """Every row of a message (a `batch:` route sends several) as a RowView."""
    struct = message_array(event)
    for index in range(len(struct)):
        yield RowView(struct, index)


def row(event: Any, index: int = 0) -> RowView:
    """Row `index` (default the first) of a message."""
    struct = message_array(event)
    if not 0 <= index < len(struct):
        raise IndexError(f"row {index} of a message of {len(struct)} rows")
    return RowView(struct, index)
