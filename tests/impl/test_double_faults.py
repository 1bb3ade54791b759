"""Two faults at once, in the simulator (session 18's data probe; the kinds of cases
01, 07 and 12: disk loss, membership change, deletes).

Each scenario drives one sequential client through read-modify-writes and deletes
(a get, then a put with its context, or a delete with it, one in five) of 30 keys
through the partition-aware client, with a second client reading a random written
key through a random node every third step, while two faults overlap: a join while a
replica is down; a leave started right after a restart, with hints for the leaver
still on the fallbacks; a disk replaced while the node joins, or while another
leaves; two disks replaced in a row while a third replica is down; a backup
restored while a node joins; a join, a leave and a crash at once, then the crashed
node's disk replaced. At N = 3, R = 2, W = 2 and with no partition, every read
must answer the client's last acknowledged write (its value among the siblings, or
not found after its delete), and once the cluster is quiet a get at R = 3 answers
that value alone (server-vclock: among its siblings, its documented loss of
ordering through one coordinator) or not found. What the probe ran: each scenario
in dvv, client-vclock, server-vclock and lww, seeds 1 and 2, 200 steps and 60
keys (0 stale reads, 0 wrong values once quiet); here a shorter run of each, seed 1,
as a regression guard: in CI under dvv or lww by turns, in the soak profile under
both (:data:`RUNS`, session 43).

Also pinned: a fallback whose hint for a cut-off replica cannot be delivered
holds back the reap of the key deleted meanwhile (the kind of Cassandra's hints
older than ``gc_grace_seconds``, which bring deleted data back), and an
lww node whose clock steps back an hour at a restart still orders a client's
read-then-write and a blind write after a reap (case 03's kind).

One fault the probe measured is the documented client-vclock anomaly
(docs/simulator.md; docs/runtime.md, "Session 18's data probe"), pinned by a
strict xfail: at R = 1, W = 3, one crash and restart of a replica loses every add
made while it was down.
"""

from __future__ import annotations

import copy
import random
from collections.abc import Callable

import pytest

import impl
from impl.cluster import SimulatedCluster
from impl.storage.base import Storage
from tests.conftest import PROFILE

Event = Callable[[SimulatedCluster, dict[str, Storage]], None]


def _join(name: str) -> Event:
    return lambda cluster, _: cluster.join(name)


def _leave(name: str) -> Event:
    return lambda cluster, _: cluster.leave(name)


def _crash(name: str) -> Event:
    return lambda cluster, _: cluster.crash(name)


def _restart(name: str) -> Event:
    return lambda cluster, _: cluster.restart(name)


def _wipe(name: str) -> Event:
    return lambda cluster, _: cluster.wipe(name)


def _backup(name: str) -> Event:
    """Stop ``name``, copy its store (the backup), start it again."""
    def event(cluster: SimulatedCluster, backups: dict[str, Storage]) -> None:
        cluster.crash(name)
        backups[name] = copy.deepcopy(cluster.storages[name].inner)
        cluster.restart(name)
    return event


def _restore(name: str) -> Event:
    """Stop ``name``, put its backup back, start it."""
    def event(cluster: SimulatedCluster, backups: dict[str, Storage]) -> None:
        cluster.crash(name)
        cluster.storages[name].inner = backups[name]
        cluster.restart(name)
    return event


SCENARIOS: dict[str, dict[int, list[Event]]] = {
    "join-while-a-replica-is-down": {10: [_crash("n2")], 20: [_join("n6")],
                                     70: [_restart("n2")]},
    "leave-with-hints-pending-for-the-leaver": {15: [_crash("n2")],
                                                45: [_restart("n2"), _leave("n2")]},
    "disk-replaced-mid-join": {20: [_join("n6")], 23: [_wipe("n6")]},
    "disk-replaced-mid-leave-of-another": {20: [_leave("n2")], 22: [_wipe("n3")]},
    "two-disks-replaced-in-a-row-a-third-down": {15: [_crash("n3")], 30: [_wipe("n1")],
                                                 50: [_wipe("n2")], 80: [_restart("n3")]},
    "backup-restored-mid-join": {10: [_backup("n1")], 40: [_join("n6")],
                                 45: [_restore("n1")]},
    "join-leave-crash-then-wipe": {20: [_join("n6")], 35: [_leave("n2")],
                                   40: [_crash("n3")], 55: [_wipe("n3")]},
}


def _rebuilding(cluster: SimulatedCluster, name: str) -> bool:
    """Whether ``name`` is up and a replaced disk rebuilding, or just rebuilt and its
    acks still uncounted (``Node._acks_uncounted``, session 54)."""
    return not cluster.is_down(name) and cluster.node(name)._acks_uncounted(cluster.sim.now)


def _run(events: dict[int, list[Event]], clock: str, seed: int, steps: int = 100,
         keys: int = 30) -> tuple[list[object], list[object]]:
    """(reads that missed the client's last acknowledged write, keys whose value at
    R = 3 once quiet is not the last acknowledged one)."""
    cluster = impl.SimulatedCluster(nodes=5, n=3, r=2, w=2, seed=seed, clock=clock)
    rng = random.Random(seed)
    writer = cluster.client(client_id="writer")
    reader = cluster.client(client_id="reader", routing="random")
    backups: dict[str, Storage] = {}
    expect: dict[bytes, bytes | None] = {}
    stale: list[object] = []

    def wrong(want: bytes | None, values: list[bytes]) -> bool:
        return bool(values) if want is None else want not in values

    for step in range(steps):
        for event in events.get(step, []):
            event(cluster, backups)
        key = b"k%d" % rng.randrange(keys)
        got = writer.get(key)
        if key in expect and wrong(expect[key], got.values):
            stale.append((step, key, expect[key], got.values))
        if got.values and rng.random() < 0.2:
            writer.delete(key, context=got.context)
            expect[key] = None
        else:
            writer.put(key, b"v%d" % step, context=got.context)
            expect[key] = b"v%d" % step
        if step % 3 == 0:
            other = rng.choice(sorted(expect))
            try:
                values = reader.get(other).values
            except impl.QuorumError:
                # a 503, not a stale read: allowed only while a replaced disk
                # rebuilds (or its grace lasts), whose copies and acks do not count
                # (session 54: two rebuilding, the third just back and suspected)
                if not any(_rebuilding(cluster, name) for name in cluster.sim.members):
                    raise
                continue
            if wrong(expect[other], values):
                stale.append(("reader", step, other, expect[other], values))
    for name in cluster.sim.members:
        if cluster.is_down(name):
            cluster.restart(name)
    cluster.run_until_quiet(max_time=1500)
    final: list[object] = []
    for key, want in expect.items():
        values = cluster.client().get(key, r=3).values
        right = (not values if want is None
                 else values == [want] or (clock == "server-vclock" and want in values))
        if not right:
            final.append((key, want, values))
    cluster.close()
    return stale, final


#: "two-disks-replaced-in-a-row-a-third-down" was a strict xfail from session 36 to
#: 38: at step 88 (seed 1) the client's get of k21 went to n3, restarted at step 80
#: after missing every write since step 15, whose own empty read and the empty answer
#: of the fallback n5 asked for the rebuilding, silent n2 made R = 2: ``[]`` where v66
#: was acknowledged by n4 and n2. Session 38's anti-entropy rule (a rebuilding node
#: completes a pair only in an exchange it opened) moved the schedule past it: seed 1
#: reads nothing stale (dvv and lww), though 7 of its gets are still answered with a
#: fallback for a rebuilding target counted. The case is the sloppy quorum's stale
#: read (paper 4.6), not fixed: pinned, directed, by
#: tests/impl/test_sloppy_read_two_faults.py (docs/runtime.md "Two-disks sloppy read
#: and the duplicated stale root (session 38)")
#: (scenario, clock): the soak profile each scenario under dvv and lww; CI each under
#: one, dvv and lww by turns (session 43: 14 runs, 0.6-1.2 CPU-s each; the faults
#: these scenarios guard are in the membership, hint and rebuild code, and every
#: mutant that fails a run of the 14 fails one CI keeps: docs/model-checking.md,
#: "Where CI's test time goes (session 43): impl, runtime, vdynamo")
RUNS = ([(scenario, clock) for scenario in sorted(SCENARIOS) for clock in ("dvv", "lww")]
        if PROFILE == "soak"
        else [(scenario, ("dvv", "lww")[i % 2]) for i, scenario in enumerate(sorted(SCENARIOS))])


@pytest.mark.parametrize(("scenario", "clock"), RUNS)
def test_two_faults_at_once_lose_no_acknowledged_write_and_serve_no_stale_read(
        scenario: str, clock: str) -> None:
    stale, final = _run(SCENARIOS[scenario], clock, seed=1)
    assert stale == []
    assert final == []


@pytest.mark.parametrize("clock", ["dvv", "lww"])
def test_an_undelivered_hint_holds_back_the_reap_of_a_key_deleted_meanwhile(
        clock: str) -> None:
    """n3 cut off while 20 keys are written (hints for it on the fallbacks); the
    partition healed but every hint holder still cut from n3 (one way); each key
    deleted with a get's context. No tombstone may be reaped while a hint of its key
    waits (its value would come back with the hint); once everything heals, every
    key reads as not found at R = 3."""
    cluster = impl.SimulatedCluster(nodes=5, n=3, r=2, w=2, seed=1, clock=clock)
    keys = [b"h%d" % i for i in range(20)]
    client = cluster.client()
    cluster.partition({"n3"}, {"n1", "n2", "n4", "n5"})
    cluster.run_for(8.0)
    for key in keys:
        client.put(key, b"v1", coordinator="n1")
    cluster.run_for(5.0)
    cluster.heal()
    holders = {name for name in cluster.sim.members if name != "n3"
               and any(hint.intended == "n3" for hint in cluster.storages[name].hints())}
    assert holders  # the scenario holds hints back
    cluster.partition_one_way(holders, {"n3"})
    for key in keys:
        got = client.get(key)
        if got.values:
            client.delete(key, context=got.context)
    cluster.run_for(60.0)
    reaped = [key for key in keys if all(r is None for r in cluster.replicas(key).values())]
    cluster.heal()
    cluster.run_until_quiet()
    back = [key for key in keys if cluster.client().get(key, r=3).values]
    assert (reaped, back) == ([], [])


@pytest.mark.parametrize("seed", [1, 2])
def test_lww_a_clock_stepped_back_at_a_restart_still_orders_the_clients_writes(
        seed: int) -> None:
    """lww, n1 an hour ahead writes k and d; n1 restarts an hour behind (NTP stepped
    it back two hours). A client's read-then-writes of k through n1, n2, n3 in turn
    read back the last; d deleted and written again with the delete's context, then
    deleted, reaped, and written blindly through n1: the blind write is kept (no
    older version is left to beat it)."""
    cluster = impl.SimulatedCluster(nodes=3, n=3, r=2, w=2, seed=seed, clock="lww")
    client = cluster.client(client_id="a")
    cluster.set_skew("n1", 3600.0)
    client.put(b"k", b"v1", coordinator="n1")
    client.put(b"d", b"x1", coordinator="n1")
    cluster.run_until_quiet()
    cluster.crash("n1")
    cluster.set_skew("n1", -3600.0)
    cluster.restart("n1")
    for i in range(2, 8):
        got = client.get(b"k", coordinator="n1")
        client.put(b"k", b"v%d" % i, context=got.context,
                   coordinator=("n1", "n2", "n3")[i % 3])
    got = client.get(b"d", coordinator="n1")
    client.delete(b"d", context=got.context, coordinator="n1")
    got = client.get(b"d", coordinator="n1")
    client.put(b"d", b"x2", context=got.context, coordinator="n1")
    cluster.run_for(30.0)
    got = client.get(b"d", coordinator="n2")
    client.delete(b"d", context=got.context, coordinator="n1")
    cluster.run_for(30.0)
    client.put(b"d", b"x3", coordinator="n1")
    cluster.run_until_quiet()
    reader = cluster.client()
    assert reader.get(b"k", r=3).values == [b"v7"]
    assert reader.get(b"d", r=3).values == [b"x3"]


def _client_vclock_adds_lost(clock: str, seed: int) -> tuple[int, int]:
    """(acknowledged adds, lost once quiet): three clients add to one cart (a get at
    R = 1, the union plus one element, a put at W = 3 with the get's context) for 62
    rounds; the cart's first replica n3 crashes at round 45 and restarts at 60."""
    cluster = impl.SimulatedCluster(nodes=5, n=3, r=1, w=3, seed=seed, clock=clock)
    adders = [cluster.client(client_id=f"a{i}") for i in range(3)]
    acked: set[bytes] = set()
    for step in range(62):
        if step == 45:
            cluster.crash("n3")
        if step == 60:
            cluster.restart("n3")
        handles = []
        for i, adder in enumerate(adders):
            got = adder.get(b"cart")
            cart = {e for v in got.values for e in v.split(b",") if e}
            element = b"e%d-%d" % (i, step)
            handles.append((element, adder.submit_put(
                b"cart", b",".join(sorted(cart | {element})), context=got.context)))
        cluster.wait([handle for _, handle in handles])
        acked |= {element for element, handle in handles if handle.error is None}
    cluster.run_until_quiet()
    final = {e for v in cluster.client().get(b"cart", r=3).values for e in v.split(b",")}
    cluster.close()
    return len(acked), len(acked - final)


def test_dvv_keeps_every_add_through_a_replicas_crash_at_r1_w3() -> None:
    assert _client_vclock_adds_lost("dvv", seed=1) == (186, 0)


@pytest.mark.parametrize("seed", [1, 2])
def test_client_vclock_keeps_every_add_through_a_replicas_crash_at_r1_w3(seed: int) -> None:
    """A strict xfail until session 23 (the documented client-vclock anomaly: at R = 1
    the restarted n3 answered its stale copy, each client's next counter covered its
    own adds it never read, and the three clients' next puts together dominated the
    45 adds made while n3 was down). Since session 23 a put whose context misses an
    event of its (coordinator actor, client) entry takes a fresh entry of the pair,
    so no put covers an add it did not read: 0 lost, as dvv."""
    assert _client_vclock_adds_lost("client-vclock", seed=seed) == (186, 0)
