"""Session 48's review of the retired ranks: random histories on the simulator.

Run from the project's root (docs/dvv.md, "Review of the retired ranks (session 48,
review)"):

    nice -n 10 .venv/bin/python bench/retired_rank_histories.py LO HI [KIND [WRITERS]]

12 writers naming no client (all ``http``; WRITERS to change), 200 steps per seed,
3 nodes, N=3, R=W=2, dvv: gets, puts and deletes from each writer's own last
context amid partitions, heals, wipes, crash-restarts and (the memory engine) a
backup of a node's store taken at a crash-restart, put back at a later one. KIND:
``memory`` (default), ``sqlite``, ``buffered`` (SQLite, ``fsync = "buffered"``;
no restores for these two), ``n1n10`` (nodes n1, n10, n11). Prints each seed that
lost an acknowledged write or shows a value an acknowledged put or delete
superseded, with its faults, and the CPU-s; with ``RR_BEFORE=1`` the rule before the
lead's fix (``_highest_own_rank`` 0), with ``RR_NO_CLOCK=1`` the rule before session
49's (``lifetime_rank`` without the clock); ``RR_WIPE_SKEW=SECONDS``: a wiped node's
clock runs that far ahead (negative: behind) from its replaced disk's first start on
(a replacement host's clock), ``RR_CLOCK_BASE=SECONDS`` every node's clock that far
ahead from the first fault on (a wall clock's epoch; session 49's review). It never
fails: it reports. Seed 24 (a
replaced disk cut off) showed superseded values before session 49
(``tests/impl/test_retired_rank_clock.py``); seed 119 shows three (every disk that
held the writes superseding them lost; docs/dvv.md, "... (session 49)"). The
history itself is ``tests.impl.test_retired_rank_clock.rank_history``.
"""
from __future__ import annotations

import os
import sys
import time
from typing import Any

sys.path.insert(0, ".")
from impl.versions import SHARED_CLIENT_ID
from tests.impl.test_retired_rank_clock import rank_history as history


def main(argv: list[str]) -> None:
    lo, hi = int(argv[1]), int(argv[2])
    kind = argv[3] if len(argv) > 3 else "memory"
    clients = (SHARED_CLIENT_ID,) * (int(argv[4]) if len(argv) > 4 else 12)
    if os.environ.get("RR_BEFORE"):
        import impl.versions

        impl.versions._highest_own_rank = lambda storage, name: 0  # type: ignore[assignment]
    if os.environ.get("RR_NO_CLOCK"):
        import impl.versions

        impl.versions.lifetime_rank = (  # type: ignore[assignment]
            lambda now, *floors: max(floors))
    options: dict[str, Any] = {
        "memory": {}, "sqlite": {"storage": "sqlite", "restores": False},
        "buffered": {"storage": "sqlite", "fsync": "buffered", "restores": False},
        "n1n10": {"nodes": ["n1", "n10", "n11"]}}[kind]
    skew = float(os.environ.get("RR_WIPE_SKEW", "0"))
    base = float(os.environ.get("RR_CLOCK_BASE", "0"))
    bad = 0
    start = time.process_time()
    for seed in range(lo, hi):
        lost, back, events = history(seed, 200, clients, wipe_skew=skew, clock_base=base,
                                     **options)
        if lost or back:
            bad += 1
            print(seed, "lost", lost, "back", back, "faults", events, flush=True)
    print(f"{kind} seeds {lo}..{hi - 1}: {bad} bad, {time.process_time() - start:.1f} CPU-s")


if __name__ == "__main__":
    main(sys.argv)
