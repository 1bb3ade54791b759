"""Digests of seeded simulated runs: two trees that behave alike print the same lines.

Run: ``PYTHONHASHSEED=0 .venv/bin/python bench/sim_digest.py [TREE] [--members]``
(TREE: the root of a checkout to import ``impl`` from; default this one).
``--members`` adds four runs with membership changes (:data:`CHANGES`), one per
clock mode, over the partitioning strategies, join handovers and failure
detectors (session 31's review of the levers).

For each clock mode it runs 600 requests (puts, gets, deletes over 37 keys, four
partition-aware clients and a random one, 16 at a time) on a 5-node cluster
(N=3, R=W=2), once without faults (seed 1) and once with loss, duplication,
reordering, clock skew, crashes and partitions (seed 2), then one run through
the wire codec (seed 3), and prints per run the SHA-256 (first 16 hex digits)
of the simulator's event log, every stored record, the simulator's and every
node's counters, and the log's length. A change meant to keep behaviour (a
speed lever, session 31) must leave every line as it was; so must another
``PYTHONHASHSEED`` (the simulator's determinism does not hang on str hashing:
session 31 found and fixed one place where it did). It prints digests and
never fails.

Then four runs without the event log (``unlogged``: dvv and client-vclock, seeds 1
and 2; the digest covers the stores and counters, the length is the messages
delivered): the simulator takes its fast paths only when it logs nothing, so the
logged runs alone do not check them (session 34).
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

_TREES = [arg for arg in sys.argv[1:] if not arg.startswith("--")]
ROOT = Path(_TREES[0]).resolve() if _TREES else Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from impl import SimulatedCluster  # noqa: E402
from impl.faults import Faults  # noqa: E402

#: Membership changes at request numbers (``--members``: session 31's review): a
#: join, a leave, a force-remove of a crashed node, then a join that brings the
#: member count back to an earlier one with another membership.
CHANGES = {100: ("join", "n6"), 220: ("leave", "n2"), 340: ("crash", "n3"),
           360: ("force-remove", "n3"), 420: ("join", "n7")}


def _change(cluster: SimulatedCluster, what: str, name: str) -> None:
    if what == "join":
        cluster.join(name)
    elif what == "leave":  # and taken out once quiet
        cluster.leave(name)
        cluster.run_until_quiet(max_time=600.0)
    elif what == "crash":  # down for good: force-removable once its heartbeat is old
        cluster.crash(name)
        cluster.run_for(15.0)
    else:
        cluster.force_remove("n1", name)


def run(clock: str, seed: int, faults: Faults, *, wire: bool = False,
        members: bool = False, log: bool = True, **options: object) -> tuple[str, int]:
    """(the digest, the event log's length) of one seeded run (``members``: with
    :data:`CHANGES`; ``options``: the cluster's configuration; ``log=False``: the
    simulator keeps no event log, the digest covers the stores and counters and the
    length is the messages delivered: the simulator's paths without logging are
    its fast ones, session 34)."""
    cluster = SimulatedCluster(nodes=5, n=3, r=2, w=2, seed=seed, clock=clock,
                               faults=faults, log=log, wire=wire, **options)
    cluster.sim.start_nemesis()
    clients = [cluster.client(client_id=f"c{i}") for i in range(4)]
    clients.append(cluster.client(routing="random"))
    handles = []
    for i in range(600):
        if members and i in CHANGES:
            cluster.wait(handles)
            handles = []
            _change(cluster, *CHANGES[i])
        client = clients[i % len(clients)]
        key = b"k%d" % (i % 37)
        if i % 5 == 0:
            handles.append(client.submit_get(key))
        elif i % 11 == 0:
            handles.append(client.submit_delete(key))
        else:
            handles.append(client.submit_put(key, b"v%d" % i))
        if len(handles) >= 16:
            cluster.wait(handles)
            handles = []
    cluster.wait(handles)
    cluster.sim.stop_nemesis()
    cluster.heal()
    cluster.sim.run_for(30.0)
    digest = hashlib.sha256()
    for event in cluster.sim.log:
        digest.update(repr(event).encode())
    for name in sorted(cluster.storages):
        for key, record in sorted(cluster.storages[name].scan()):
            digest.update(name.encode() + key + record)
    digest.update(repr(sorted(cluster.sim.stats.items())).encode())
    for name in sorted(cluster.sim.nodes):
        digest.update(repr(sorted(cluster.sim.nodes[name].stats.items())).encode())
    length = len(cluster.sim.log) if log else cluster.sim.stats["delivered"]
    cluster.close()
    return digest.hexdigest()[:16], length


def main() -> int:
    faulty = Faults(loss=0.05, duplication=0.05, reorder=0.05, max_clock_skew=0.01,
                    crash_interval=5.0, partition_interval=7.0)
    for clock in ("dvv", "server-vclock", "client-vclock", "lww"):
        for seed, faults in ((1, Faults()), (2, faulty)):
            print(clock, seed, *run(clock, seed, faults), flush=True)
    print("wire", *run("dvv", 3, Faults(loss=0.02, duplication=0.02, reorder=0.02), wire=True))
    for clock in ("dvv", "client-vclock"):  # no event log: the simulator's fast paths
        for seed, faults in ((1, Faults()), (2, faulty)):
            print("unlogged", clock, seed, *run(clock, seed, faults, log=False), flush=True)
    if "--members" in sys.argv:
        light = Faults(loss=0.02, duplication=0.02, reorder=0.02, max_clock_skew=0.01)
        for clock, partitioning, handover, detector in (
                ("dvv", "strategy3", "pending", "timeouts"),
                ("server-vclock", "strategy1", "immediate", "phi-accrual"),
                ("client-vclock", "strategy2", "pending", "phi-accrual"),
                ("lww", "strategy3", "immediate", "timeouts")):
            print("members", clock, partitioning, handover, detector,
                  *run(clock, 4, light, members=True, partitioning=partitioning,
                       join_handover=handover, failure_detector=detector), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
