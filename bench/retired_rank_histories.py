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
lead's fix (``_highest_own_rank`` 0). It never fails: it reports. Seeds 24 (the
strict xfail of ``tests/impl/test_retired_rank_review.py``) and 119 (a backup of
before a wipe restored after it) show superseded values.
"""
from __future__ import annotations

import copy
import os
import random
import sys
import tempfile
import time
from typing import Any

sys.path.insert(0, ".")
from impl.cluster import SimulatedCluster
from impl.versions import SHARED_CLIENT_ID
from tests.impl.test_dvv_pair_dots_review import _random_history

Outcome = tuple[list[bytes], list[bytes], list[tuple[int, str, str]]]


def history(seed: int, steps: int, clients: tuple[str, ...], *, restores: bool = True,
            **cluster_options: Any) -> Outcome:
    """(acknowledged writes absent that no put or delete covered, superseded values
    present, the faults: (step, kind, node)); a tenth of the steps draw a fault."""
    backups: dict[str, Any] = {}
    events: list[tuple[int, str, str]] = []
    memory = restores and cluster_options.get("storage", "memory") == "memory"

    def fault(cluster: SimulatedCluster, rng: random.Random, step: int) -> None:
        nodes = cluster.node_names
        kind, node = rng.random(), rng.choice(nodes)
        if kind < 0.55:  # a partition of one node from the others, or a heal
            (cluster.heal if kind >= 0.3 else
             lambda: cluster.partition([node], [n for n in nodes if n != node]))()
            return
        if cluster.is_down(node):
            return
        label = ("wipe" if kind < 0.65 else "backup" if memory and kind < 0.75 else
                 "restore" if memory and kind < 0.85 and node in backups else "restart")
        events.append((step, label, node))
        if label == "wipe":
            cluster.wipe(node)
            return
        cluster.crash(node)
        if label == "backup":
            backups[node] = copy.deepcopy(cluster.storages[node].inner)
        elif label == "restore":
            cluster.storages[node].inner = copy.deepcopy(backups[node])
        cluster.restart(node)

    with tempfile.TemporaryDirectory(prefix="vdynamo-ranks-") as directory:
        if cluster_options.get("storage") == "sqlite":
            cluster_options["storage_dir"] = directory
        lost, back = _random_history(seed, steps, clients, fault_rate=0.1, fault=fault,
                                     **cluster_options)
    return lost, back, events


def main(argv: list[str]) -> None:
    lo, hi = int(argv[1]), int(argv[2])
    kind = argv[3] if len(argv) > 3 else "memory"
    clients = (SHARED_CLIENT_ID,) * (int(argv[4]) if len(argv) > 4 else 12)
    if os.environ.get("RR_BEFORE"):
        import impl.versions

        impl.versions._highest_own_rank = lambda storage, name: 0  # type: ignore[assignment]
    options: dict[str, Any] = {
        "memory": {}, "sqlite": {"storage": "sqlite", "restores": False},
        "buffered": {"storage": "sqlite", "fsync": "buffered", "restores": False},
        "n1n10": {"nodes": ["n1", "n10", "n11"]}}[kind]
    bad = 0
    start = time.process_time()
    for seed in range(lo, hi):
        lost, back, events = history(seed, 200, clients, **options)
        if lost or back:
            bad += 1
            print(seed, "lost", lost, "back", back, "faults", events, flush=True)
    print(f"{kind} seeds {lo}..{hi - 1}: {bad} bad, {time.process_time() - start:.1f} CPU-s")


if __name__ == "__main__":
    main(sys.argv)
