"""Round-trip check of the bridge's codec against rclpy's own serializer.

  generate DIR [PER_TYPE]  random messages of every type of the packages
                           below, serialized by rclpy -> DIR/cases.jsonl
  verify DIR               reads what the Rust side wrote (DIR/<i>.arrow: the
                           decoded Arrow; DIR/results.jsonl: re-encoded CDR)
                           and checks values, bytes and rclpy deserialization.
"""
import importlib
import json
import math
import random
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
from rclpy.serialization import deserialize_message, serialize_message
from rosidl_parser import definition as d

from ros_node import message_class

PACKAGES = [
    "std_msgs", "builtin_interfaces", "geometry_msgs", "sensor_msgs",
    "nav_msgs", "diagnostic_msgs", "test_msgs",
]
TEXTS = ["", "a", "hello world", "ünïcødé ✓", "日本語テキスト", "emoji 🤖 ok", "x" * 300]
INT_RANGES = {
    "int8": (-128, 127), "uint8": (0, 255), "int16": (-32768, 32767),
    "uint16": (0, 65535), "int32": (-2**31, 2**31 - 1), "uint32": (0, 2**32 - 1),
    "int64": (-2**63, 2**63 - 1), "uint64": (0, 2**64 - 1),
    "byte": (0, 255), "char": (0, 255), "octet": (0, 255),
}


def all_types():
    for pkg in PACKAGES:
        module = importlib.import_module(f"{pkg}.msg")
        for name in sorted(dir(module)):
            cls = getattr(module, name)
            if isinstance(cls, type) and hasattr(cls, "get_fields_and_field_types") and not name.startswith("_"):
                yield f"{pkg}/msg/{name}", cls



def random_basic(rng, typename):
    if typename == "boolean":
        return rng.random() < 0.5
    if typename in ("float", "double"):
        return rng.choice([0.0, -1.5, 1e-30, 3.25, rng.uniform(-1e6, 1e6)])
    lo, hi = INT_RANGES[typename]
    return rng.choice([lo, hi, 0, rng.randint(lo, hi)])


def random_string(rng, bound):
    text = rng.choice(TEXTS)
    if bound:
        text = text[: max(0, bound)]
        while len(text.encode("utf-8")) > bound:
            text = text[:-1]
    return text


def random_value(rng, slot, size_hint):
    if isinstance(slot, d.AbstractNestedType):
        inner = slot.value_type
        if isinstance(slot, d.Array):
            n = slot.size
        elif isinstance(slot, d.BoundedSequence):
            n = rng.randint(0, slot.maximum_size)
        else:
            n = rng.choice([0, 1, 3, size_hint])
        values = [random_value(rng, inner, 2) for _ in range(n)]
        if isinstance(inner, d.BasicType):
            if inner.typename in ("octet", "boolean", "char"):
                return values
            dtype = {"float": np.float32, "double": np.float64, "int8": np.int8, "uint8": np.uint8,
                     "int16": np.int16, "uint16": np.uint16, "int32": np.int32, "uint32": np.uint32,
                     "int64": np.int64, "uint64": np.uint64}[inner.typename]
            return np.array(values, dtype=dtype) if isinstance(slot, d.Array) else np.array(values, dtype=dtype).tolist()
        return values
    if isinstance(slot, d.BasicType):
        v = random_basic(rng, slot.typename)
        if slot.typename == "octet":
            return bytes([v])
        if slot.typename == "float":
            v = float(np.float32(v))
        return v
    if isinstance(slot, (d.BoundedString, d.UnboundedString)):
        return random_string(rng, getattr(slot, "maximum_size", None))
    if isinstance(slot, (d.BoundedWString, d.UnboundedWString)):
        return random_string(rng, getattr(slot, "maximum_size", None))
    if isinstance(slot, d.NamespacedType):
        cls = message_class("/".join(slot.namespaces + [slot.name]))
        return random_message(rng, cls, 2)
    raise TypeError(slot)


def random_message(rng, cls, size_hint):
    msg = cls()
    for (field, _), slot in zip(cls.get_fields_and_field_types().items(), cls.SLOT_TYPES):
        setattr(msg, field, random_value(rng, slot, size_hint))
    return msg


def generate(out_dir, per_type):
    rng = random.Random(20261127)
    out = Path(out_dir)
    count = 0
    with open(out / "cases.jsonl", "w") as f:
        for type_name, cls in all_types():
            variants = [cls()] + [random_message(rng, cls, rng.choice([2, 5, 1000])) for _ in range(per_type)]
            for msg in variants:
                f.write(json.dumps({"type": type_name, "cdr": serialize_message(msg).hex()}) + "\n")
                count += 1
    print(json.dumps({"generated": count}))


def plain(value):
    """A message as nested dicts/lists of Python scalars, the way pyarrow's
    to_pylist() shows the bridge's Arrow layout."""
    if hasattr(value, "get_fields_and_field_types"):
        return {f: plain(getattr(value, f)) for f in value.get_fields_and_field_types()}
    if isinstance(value, bytes):
        return value[0] if len(value) == 1 else list(value)
    if hasattr(value, "tolist"):
        return plain(value.tolist())
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if hasattr(value, "typecode"):  # array.array
        return list(value)
    return value


def same(a, b):
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return a == b


def verify(out_dir):
    out = Path(out_dir)
    cases = [json.loads(l) for l in open(out / "cases.jsonl")]
    results = [json.loads(l) for l in open(out / "results.jsonl")]
    failures = []
    for i, (case, result) in enumerate(zip(cases, results)):
        cls = message_class(case["type"])
        theirs = bytes.fromhex(case["cdr"])
        original = deserialize_message(theirs, cls)
        where = f"case {i} {case['type']}"
        if "error" in result:
            failures.append(f"{where}: bridge error: {result['error']}")
            continue
        with pa.OSFile(str(out / f"{i}.arrow"), "rb") as f:
            batch = pa.ipc.open_file(f).read_all()
        decoded = batch.column("message").to_pylist()[0]
        if not same(decoded, plain(original)):
            failures.append(f"{where}: decoded values differ:\n  arrow {decoded}\n  rclpy {plain(original)}")
            continue
        ours = bytes.fromhex(result["cdr"])
        # rclpy's buffer can be longer than the data: fixed-size types are
        # rounded up to 4 bytes, and for wstring types it reports its size
        # estimate, garbage included. Ours ends where the data ends.
        if len(ours) > len(theirs):
            failures.append(f"{where}: re-encoded length {len(ours)} > rclpy's {len(theirs)}")
            continue
        # rclpy leaves padding uninitialised; ours is zero. Any differing byte
        # must be zero on our side, and rclpy must read ours back as equal.
        bad = [j for j in range(len(ours)) if ours[j] != theirs[j] and ours[j] != 0]
        if bad:
            failures.append(f"{where}: bytes differ at {bad[:10]}")
            continue
        again = deserialize_message(ours, cls)
        if again != original:
            failures.append(f"{where}: rclpy reads our bytes as a different message")
    print(json.dumps({"checked": len(results), "failures": len(failures)}))
    for f in failures[:40]:
        print(f)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    if sys.argv[1] == "generate":
        generate(sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else 3)
    else:
        verify(sys.argv[2])
