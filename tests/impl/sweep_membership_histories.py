"""Sweep: the data probe's randomized membership histories with an oracle (session 50's
review; docs/runtime.md, "Review of the data probe's fixes (session 50, review)").

Run from the root: ``.venv/bin/python -m tests.impl.sweep_membership_histories MODE AE
FIRST LAST`` (MODE a clock mode, AE 1 or 0 for ``anti_entropy``, seeds FIRST..LAST-1);
one JSON line a seed. Not a test (pytest does not collect it).

The history is :func:`tests.impl.test_hand_on_ping_pong._history` (5 nodes, N = 3,
R = W = 2, SQLite; crashes, restarts, wipes, joins and rejoins, leaves,
force-removes, crashed leavers, skews; one sequential named client per key
read-modify-writing or deleting through random nodes, 120 steps; every node not
removed up at the end), then ``run_until_quiet``. Printed: ``quiet``; ``wrong``, the
keys whose value at R = 3 is not the last acknowledged write (keys whose last write
has an unknown outcome skipped); ``sib``, the gets that saw siblings; ``thin``, the
keys whose last written value fewer than N of the top N replicas hold once quiet
(before the check's reads repair them); ``cpu``, CPU-s of the seed.
"""

from __future__ import annotations

import json
import struct
import sys
import time

import impl
from impl.errors import DynamoError
from impl.records import Record, encode_record
from tests.impl.test_hand_on_ping_pong import _history


def _holds(record: Record | None, value: bytes) -> bool:
    """Whether ``record`` holds ``value`` among its versions (a length-prefixed blob)."""
    return record is not None and struct.pack(">I", len(value)) + value in encode_record(record)


def run(seed: int, clock: str, anti_entropy: bool) -> dict[str, object]:
    """One history and its oracle (see the module docstring)."""
    last: dict[bytes, bytes | None] = {}
    unknown: set[bytes] = set()
    siblings = 0

    def observe(key: bytes, step: int, read: impl.GetResult, outcome: str) -> None:
        nonlocal siblings
        siblings += len(read.values) > 1
        if outcome == "unknown":
            unknown.add(key)
            return
        unknown.discard(key)
        last[key] = None if outcome == "delete" else b"%s-%d" % (key, step)

    cluster = _history(seed, clock=clock, observe=observe, anti_entropy=anti_entropy)
    try:
        quiet = True
        try:
            cluster.run_until_quiet(max_time=120)
        except impl.SimulationError:
            quiet = False
        known = {key: value for key, value in last.items() if key not in unknown}
        thin = []
        for key, value in known.items():
            if value is None:
                continue
            replicas = cluster.replicas(key)
            have = sorted(name for name, record in replicas.items() if _holds(record, value))
            if len(have) < cluster.config.n:
                thin.append((key.decode(), have, sorted(replicas)))
        reader = cluster.client(client_id="checker", routing="random")
        wrong: list[object] = []
        for key, value in known.items():
            try:
                got = reader.get(key, r=3).values
            except DynamoError as error:
                wrong.append((key.decode(), type(error).__name__))
                continue
            if got != ([] if value is None else [value]):
                wrong.append((key.decode(), [v.decode() for v in got], value))
        return {"seed": seed, "clock": clock, "ae": anti_entropy, "quiet": quiet,
                "wrong": wrong, "sib": siblings, "thin": thin}
    finally:
        cluster.close()


if __name__ == "__main__":
    mode, ae = sys.argv[1], sys.argv[2] == "1"
    for one in range(int(sys.argv[3]), int(sys.argv[4])):
        start = time.process_time()
        row = run(one, mode, ae)
        row["cpu"] = round(time.process_time() - start, 1)
        print(json.dumps(row, default=repr), flush=True)
