"""Test helper, a dora node that asks the bridge for transforms and checks
each answer against its own reference: the transform tree of TF_SPEC
composed and interpolated here, in numpy, independently of the bridge.

TF_SPEC (a JSON file): {"static": [[parent, child, xyz, q], ...],
  "dynamic": [[parent, child, stamp_s, xyz, q], ...],
  "lookups": [{"target": ..., "source": ..., "time_s": 0 (latest) or a time,
               "expect": "ok" | "lookup_error" | "connectivity_error" | "extrapolation_error"}]}
On every `tick` it asks (output `request`) for each lookup not yet answered
as expected; answers come on input `response`. Appends JSON lines to
RECORD_FILE: one per lookup answered as expected ({"lookup": i, "answer":
..., "error": ...}), {"mismatch": ...} for a transform that differs from the
reference, and {"done": true} once every lookup is answered as expected.
With TF_BENCH=N it then times N lookups one after the other (a request
sent when the previous answer arrived) and records
{"bench": N, "p50_ms": ..., "p99_ms": ..., "per_second": ...}.
"""
import json
import os
import time

import numpy as np
import pyarrow as pa
from dora import Node

TOLERANCE = 1e-6


def qmul(a, b):
    x1, y1, z1, w1 = a
    x2, y2, z2, w2 = b
    return np.array([
        w1 * x2 + x1 * w2 + y1 * z2 - z1 * y2,
        w1 * y2 - x1 * z2 + y1 * w2 + z1 * x2,
        w1 * z2 + x1 * y2 - y1 * x2 + z1 * w2,
        w1 * w2 - x1 * x2 - y1 * y2 - z1 * z2,
    ])


def conj(q):
    return np.array([-q[0], -q[1], -q[2], q[3]])


def rotate(q, v):
    return qmul(qmul(q, np.array([*v, 0.0])), conj(q))[:3]


def compose(a, b):
    """a * b: first b, then a (parent <- mid <- child)."""
    return (a[0] + rotate(a[1], b[0]), qmul(a[1], b[1]))


def inverse(a):
    qi = conj(a[1])
    return (-rotate(qi, a[0]), qi)


def slerp(q0, q1, r):
    dot = float(np.dot(q0, q1))
    if dot < 0:
        q1, dot = -q1, -dot
    if dot > 0.9995:
        q = q0 + r * (q1 - q0)
        return q / np.linalg.norm(q)
    theta = np.arccos(dot)
    return (np.sin((1 - r) * theta) * q0 + np.sin(r * theta) * q1) / np.sin(theta)


class Tree:
    def __init__(self, spec):
        self.links = {}
        for parent, child, xyz, q in spec.get("static", []):
            self.links[child] = (parent, None, [(0, np.array(xyz, float), unit(q))])
        for parent, child, stamp, xyz, q in spec.get("dynamic", []):
            samples = self.links.setdefault(child, (parent, [], []))[2]
            samples.append((int(round(stamp * 1e9)), np.array(xyz, float), unit(q)))
            samples.sort(key=lambda s: s[0])

    def chain(self, frame):
        path = [frame]
        while path[-1] in self.links:
            path.append(self.links[path[-1]][0])
        return path

    def at(self, child, t):
        parent, dynamic, samples = self.links[child]
        if dynamic is None:
            return samples[0][1], samples[0][2]
        for (t0, p0, q0), (t1, p1, q1) in zip(samples, samples[1:]):
            if t0 <= t <= t1:
                r = (t - t0) / (t1 - t0)
                return p0 + r * (p1 - p0), slerp(q0, q1, r)
        stamp, p, q = samples[-1] if t >= samples[-1][0] else samples[0]
        assert stamp == t, "the reference extrapolates nothing"
        return p, q

    def lookup(self, target, source, t):
        """(translation, rotation) taking `source` points into `target`, and the time used."""
        src, tgt = self.chain(source), self.chain(target)
        common = next(f for f in src if f in tgt)
        links = src[: src.index(common)] + tgt[: tgt.index(common)]
        if t == 0:
            dynamic = [self.links[c][2][-1][0] for c in links if self.links[c][1] is not None]
            t = min(dynamic) if dynamic else 0

        def to_common(path):
            acc = (np.zeros(3), np.array([0.0, 0.0, 0.0, 1.0]))
            for child in path[: path.index(common)]:
                acc = compose(self.at(child, t), acc)
            return acc

        return compose(inverse(to_common(tgt)), to_common(src)), t


def unit(q):
    q = np.array(q, float)
    return q / np.linalg.norm(q)


def request(lookup, request_id):
    row = {"target_frame": lookup["target"], "source_frame": lookup["source"],
           "time_ns": int(round(lookup["time_s"] * 1e9))}
    return pa.array([row]), {"request_id": str(request_id)}


def check(tree, lookup, answer, metadata):
    """None when the answer is as expected, else why not (or a mismatch)."""
    code = metadata.get("error_code")
    if lookup["expect"] != "ok":
        return None if code == lookup["expect"] else f"got {code or 'a transform'}"
    if code:
        return f"got {code}: {metadata.get('error')}"
    (p, q), t = tree.lookup(lookup["target"], lookup["source"], int(round(lookup["time_s"] * 1e9)))
    tr, rot = answer["transform"]["translation"], answer["transform"]["rotation"]
    got_p = np.array([tr["x"], tr["y"], tr["z"]])
    got_q = np.array([rot["x"], rot["y"], rot["z"], rot["w"]])
    stamp = answer["header"]["stamp"]["sec"] * 1_000_000_000 + answer["header"]["stamp"]["nanosec"]
    diff = max(np.abs(got_p - p).max(), min(np.abs(got_q - q).max(), np.abs(got_q + q).max()))
    frames = (answer["header"]["frame_id"], answer["child_frame_id"])
    if diff > TOLERANCE or stamp != t or frames != (lookup["target"], lookup["source"]):
        return {"mismatch": True, "diff": float(diff), "stamp": stamp, "expected_stamp": t,
                "frames": frames, "got": [got_p.tolist(), got_q.tolist()], "want": [p.tolist(), q.tolist()]}
    return None


def main():
    with open(os.environ["TF_SPEC"], encoding="utf-8") as f:
        spec = json.load(f)
    tree, lookups = Tree(spec), spec["lookups"]
    bench = int(os.environ.get("TF_BENCH", "0"))
    pending, timings, sent_at = set(range(len(lookups))), [], None
    node = Node()
    with open(os.environ["RECORD_FILE"], "a", encoding="utf-8") as out:
        def record(value):
            out.write(json.dumps(value) + "\n")
            out.flush()
        for event in node:
            if event["type"] != "INPUT":
                continue
            if event["id"] == "tick" and pending:
                # Errors only once the tree is complete (every "ok" answered):
                # before, "unknown frame" is true of every frame.
                waiting_ok = [i for i in pending if lookups[i]["expect"] == "ok"]
                for i in sorted(waiting_ok or pending):
                    node.send_output("request", *request(lookups[i], i))
            elif event["id"] == "response":
                metadata = event["metadata"]
                i = int(metadata["request_id"]) if metadata["request_id"].isdigit() else -1
                answer = event["value"].to_pylist()[0] if len(event["value"]) else None
                if i in pending:
                    problem = check(tree, lookups[i], answer, metadata)
                    if isinstance(problem, dict):
                        record({"lookup": i, **problem})
                    elif problem is None:
                        pending.discard(i)
                        record({"lookup": i, "answer": answer, "error": metadata.get("error"),
                                "error_code": metadata.get("error_code")})
                        if not pending:
                            record({"done": True})
                            if bench:
                                sent_at = time.perf_counter()
                                node.send_output("request", *request(lookups[0], "bench"))
                elif bench and sent_at is not None and metadata["request_id"] == "bench":
                    timings.append(time.perf_counter() - sent_at)
                    if len(timings) < bench:
                        sent_at = time.perf_counter()
                        node.send_output("request", *request(lookups[0], "bench"))
                    else:
                        ms = np.array(timings) * 1e3
                        record({"bench": bench, "p50_ms": float(np.percentile(ms, 50)),
                                "p99_ms": float(np.percentile(ms, 99)),
                                "per_second": float(bench / sum(timings))})
                        sent_at = None


if __name__ == "__main__":
    main()
