"""Deletes as tombstones and their reaping (docs/impl.md, "Deletes").

The scenarios of ``../shared/cases/12-delete.py`` and Riak's ``delete_mode``:
a tombstone is a version (its clock supersedes what the delete's context
covers, a concurrent put stays a sibling), hints, read repair and anti-entropy
carry it, and it is reaped only when every replica holds it (``safe``), at once
(``immediate``: a replica that missed the delete resurrects the value), or
never (``keep``).
"""

from __future__ import annotations

import contextlib
from typing import Any

import pytest

from impl import SimulatedCluster
from impl.config import ClusterConfig
from impl.errors import BadRequestError, ConfigError
from impl.messages import PutRequest, Reap, ReplicaPut, delete_request
from impl.staging import persist
from impl.versions import TOMBSTONE, values
from impl.wire import decode, encode
from tests.impl.test_node_driver import Driver, make_config, ok_get, ok_put
from tests.refinement.mutations import MUTANTS

CLOCKS = ("dvv", "lww", "server-vclock", "client-vclock")


def _cluster(**options: Any) -> SimulatedCluster:
    options.setdefault("seed", 3)
    return SimulatedCluster(nodes=5, n=3, r=2, w=2, **options)


def _stored(cluster: SimulatedCluster, key: bytes) -> dict[str, list[bytes] | None]:
    return {name: (None if record is None else sorted(values(record)))
            for name, record in cluster.replicas(key).items()}


@pytest.mark.parametrize("clock", CLOCKS)
def test_delete_answers_not_found_with_a_context_a_later_put_supersedes(clock: str) -> None:
    cluster = _cluster(clock=clock, delete_mode="keep")
    client = cluster.client("n1", client_id="alice")
    client.put(b"k", b"v1")
    read = client.get(b"k")
    assert read.values == [b"v1"]
    client.delete(b"k", context=read.context)
    cluster.run_until_quiet()
    gone = client.get(b"k", r=3)
    assert gone.values == []
    assert gone.context != b""  # the tombstone's clock: a later put supersedes it
    # Every replica holds the tombstone, and only it (replicas() shows it).
    assert set(map(tuple, filter(None, _stored(cluster, b"k").values()))) == {(TOMBSTONE,)}
    client.put(b"k", b"v2", context=gone.context)
    cluster.run_until_quiet()
    assert client.get(b"k", r=3).values == [b"v2"]
    assert set(map(tuple, filter(None, _stored(cluster, b"k").values()))) == {(b"v2",)}


@pytest.mark.parametrize("clock", CLOCKS)
def test_a_delete_without_a_context_reads_first_and_deletes_what_it_read(clock: str) -> None:
    """Client.delete(key) with no context reads the key and deletes what it read (as
    the HTTP API and riak_kv_delete:delete/8 do): a blind tombstone would be
    concurrent with v1 and delete nothing (the reviewer's finding, session 6)."""
    cluster = _cluster(clock=clock, delete_mode="keep")
    client = cluster.client("n1", client_id="alice")
    client.put(b"k", b"v1")
    cluster.run_until_quiet()
    done = client.delete(b"k")
    cluster.run_until_quiet()
    gone = client.get(b"k", r=3)
    assert gone.values == []
    assert set(map(tuple, filter(None, _stored(cluster, b"k").values()))) == {(TOMBSTONE,)}
    assert done.context != b""
    # A key with no value: nothing is written, the answer carries the read's context.
    nothing = client.delete(b"never")
    cluster.run_until_quiet()
    assert set(_stored(cluster, b"never").values()) == {None}
    assert nothing.context == client.get(b"never").context


@pytest.mark.parametrize("clock", ("dvv", "client-vclock"))
def test_a_put_concurrent_with_a_delete_survives_as_a_sibling(clock: str) -> None:
    cluster = _cluster(clock=clock)
    alice = cluster.client(client_id="alice")
    bob = cluster.client(client_id="bob")
    alice.put(b"k2", b"a")
    cluster.run_until_quiet()
    seen = alice.get(b"k2")
    bob.put(b"k2", b"b")  # blind: concurrent with what alice read
    alice.delete(b"k2", context=seen.context)
    cluster.run_until_quiet()
    assert cluster.client().get(b"k2", r=3).values == [b"b"]
    # The tombstone is kept beside b (it covers a, not b), so a is never back.
    assert all(stored == sorted([TOMBSTONE, b"b"])
               for stored in _stored(cluster, b"k2").values())


def test_lww_delete_is_a_timestamped_tombstone() -> None:
    cluster = _cluster(clock="lww", delete_mode="keep")
    client = cluster.client("n1")
    client.put(b"k", b"v1")
    read = client.get(b"k")
    client.delete(b"k", context=read.context)
    cluster.run_until_quiet()
    assert client.get(b"k", r=3).values == []
    record = next(iter(cluster.replicas(b"k").values()))
    assert record is not None and record.siblings[0].value == TOMBSTONE
    assert record.siblings[0].stamp > 0.0
    # A put after the delete (its context) wins by the hybrid clock's later stamp.
    client.put(b"k", b"v2", context=client.get(b"k").context)
    assert client.get(b"k", r=3).values == [b"v2"]


def _missed_delete(**options: Any) -> tuple[SimulatedCluster, str]:
    """k = v1 on its 3 replicas; one replica is cut off while k is deleted."""
    cluster = _cluster(**options)
    client = cluster.client()
    client.put(b"k", b"v1")
    cluster.run_until_quiet()
    missed = sorted(cluster.replicas(b"k"))[-1]
    others = set(cluster.node_names) - {missed}
    cluster.partition({missed}, others)
    majority = cluster.client(sorted(others)[0])
    read = majority.get(b"k")
    majority.delete(b"k", context=read.context)
    cluster.run_for(1.0)
    cluster.heal()
    return cluster, missed


def test_case_12_the_deleted_value_stays_deleted() -> None:
    cluster, missed = _missed_delete()
    cluster.run_until_quiet()
    assert cluster.client().get(b"k", r=3).values == []
    record = cluster.node(missed).record(b"k")
    assert record is None or values(record) == [TOMBSTONE]


@pytest.mark.parametrize("mechanism", ("hinted_handoff", "anti_entropy", "read_repair"))
def test_each_repair_mechanism_carries_the_tombstone(mechanism: str) -> None:
    """With only ``mechanism`` on, the replica that missed the delete gets the
    tombstone (hinted handoff and anti-entropy by themselves, read repair after a get)."""
    off = {name: name != mechanism for name in ("hinted_handoff", "anti_entropy",
                                                  "read_repair")}
    cluster, missed = _missed_delete(delete_mode="keep", **{
        name: not is_off for name, is_off in off.items()})
    record = cluster.node(missed).record(b"k")
    assert record is not None and values(record) == [b"v1"]  # it missed the delete
    if mechanism == "read_repair":
        assert cluster.client().get(b"k", r=3).values == []  # the tombstone covers v1
    cluster.run_until_quiet()
    record = cluster.node(missed).record(b"k")
    assert record is not None and values(record) == [TOMBSTONE]


def _delete_at_the_coordinator_only() -> Driver:
    """k = v1 on n1, n2, n3; a delete with the get's context stored at n1 only (W=1,
    its replica puts lost): n2 and n3 both still hold v1."""
    config = make_config(3, n=3, r=3, w=1, anti_entropy=False, hinted_handoff=False,
                         sloppy_quorum=False, delete_mode="keep")
    driver = Driver.start(config)
    ok_put(driver.put("n1", b"k", b"v1"))
    read = ok_get(driver.get("n1", b"k"))
    driver.drop_filter = lambda src, dest, message: isinstance(message, ReplicaPut)
    driver.request("n1", delete_request(999, b"k", read.context, 1, "c1", 1))
    driver.deliver_all()
    driver.drop_filter = None
    assert driver.records(b"k") == {"n1": [TOMBSTONE], "n2": [b"v1"], "n3": [b"v1"]}
    return driver


@pytest.mark.parametrize("mutant", (None, "read-repair-skips-tombstones"))
def test_one_read_repairs_the_tombstone_to_every_stale_replica(mutant: str | None) -> None:
    """Issue 12, section 5 (two stale replicas repaired by one read), for a tombstone:
    a read at R = N answers "not found" and repairs both replicas that missed the
    delete; a read repair that skips records holding a tombstone is caught."""
    with MUTANTS[mutant]() if mutant else contextlib.nullcontext():
        driver = _delete_at_the_coordinator_only()
        assert ok_get(driver.get("n1", b"k", r=3)).values == []
        driver.deliver_all()
        repaired = driver.records(b"k") == {n: [TOMBSTONE] for n in ("n1", "n2", "n3")}
    assert repaired == (mutant is None)


def test_immediate_reaping_resurrects_the_value_a_replica_missed() -> None:
    """The naive rule: the replicas that acknowledged the delete drop the tombstone
    at once; the replica that missed it still holds v1, and read repair and
    anti-entropy copy v1 back everywhere: an acknowledged delete is undone."""
    cluster, missed = _missed_delete(delete_mode="immediate", hinted_handoff=False)
    stored = _stored(cluster, b"k")
    assert stored[missed] == [b"v1"]  # it missed the delete
    assert sorted(name for name, held in stored.items() if held is None) == sorted(
        set(stored) - {missed})  # the others reaped the tombstone at once
    cluster.run_until_quiet()
    assert cluster.client().get(b"k", r=3).values == [b"v1"]
    assert set(map(tuple, filter(None, _stored(cluster, b"k").values()))) == {(b"v1",)}


def test_safe_reaping_does_not_resurrect_and_reaps_once_every_replica_holds_it() -> None:
    cluster, missed = _missed_delete(delete_mode="safe", hinted_handoff=False,
                                     tombstone_grace_s=2.0)
    client = cluster.client()
    # Not every replica held the tombstone when the delete was acknowledged: kept.
    holding = [name for name, stored in _stored(cluster, b"k").items()
               if stored == [TOMBSTONE]]
    assert len(holding) == 2 and missed not in holding
    # The replica that missed the delete gets the tombstone (anti-entropy, read
    # repair) and reads every target: each holds it, so it is reaped after the
    # grace, with no client get (session 21's data probe; before, it stayed until
    # a get saw all three replicas hold it).
    cluster.run_until(lambda: _stored(cluster, b"k")[missed] == [TOMBSTONE])
    assert all(stored == [TOMBSTONE] for stored in _stored(cluster, b"k").values())
    cluster.run_for(1.0)
    assert any(stored is not None for stored in _stored(cluster, b"k").values())
    cluster.run_until_quiet()
    assert _stored(cluster, b"k") == {name: None for name in cluster.replicas(b"k")}
    assert client.get(b"k", r=3).values == []
    assert _stored(cluster, b"k") == {name: None for name in cluster.replicas(b"k")}


def test_safe_reaping_waits_for_the_replica_that_missed_the_delete() -> None:
    """Gets during the partition see the tombstone on two replicas only: no reap,
    however long the partition lasts; after the heal the tombstone still covers v1."""
    cluster = _cluster(hinted_handoff=False, tombstone_grace_s=1.0)
    client = cluster.client()
    client.put(b"k", b"v1")
    cluster.run_until_quiet()
    missed = sorted(cluster.replicas(b"k"))[-1]
    others = set(cluster.node_names) - {missed}
    cluster.partition({missed}, others)
    majority = cluster.client(sorted(others)[0])
    majority.delete(b"k", context=majority.get(b"k").context)
    for _ in range(3):
        assert majority.get(b"k").values == []
        cluster.run_for(2.0)
    holding = [name for name, stored in _stored(cluster, b"k").items()
               if stored == [TOMBSTONE]]
    assert sorted(holding) == sorted(set(cluster.replicas(b"k")) - {missed})
    cluster.heal()
    cluster.run_until_quiet()
    assert cluster.client().get(b"k", r=3).values == []


def test_safe_reaping_after_a_delete_every_replica_acknowledged() -> None:
    cluster = _cluster(tombstone_grace_s=1.5)
    client = cluster.client("n1")
    client.put(b"k", b"v1")
    cluster.run_until_quiet()
    client.delete(b"k", context=client.get(b"k").context)
    cluster.run_for(0.5)
    assert all(stored == [TOMBSTONE] for stored in _stored(cluster, b"k").values())
    cluster.run_for(1.5)
    assert _stored(cluster, b"k") == {name: None for name in cluster.replicas(b"k")}


def test_keep_never_reaps() -> None:
    cluster = _cluster(delete_mode="keep", tombstone_grace_s=0.5)
    client = cluster.client("n1")
    client.put(b"k", b"v1")
    client.delete(b"k", context=client.get(b"k").context)
    cluster.run_until_quiet()
    client.get(b"k", r=3)
    cluster.run_until_quiet()
    assert all(stored == [TOMBSTONE] for stored in _stored(cluster, b"k").values())


def test_a_reap_leaves_a_replica_that_holds_something_newer() -> None:
    cluster = _cluster(delete_mode="keep")
    client = cluster.client("n1")
    client.put(b"k", b"v1")
    client.delete(b"k", context=client.get(b"k").context)
    cluster.run_until_quiet()
    fallback, other = sorted(cluster.replicas(b"k"))[:2]
    node = cluster.node(fallback)
    tombstone = node.storage.read(b"k")
    assert tombstone is not None
    node.config = node.reaper.config = node.config.replace(delete_mode="safe")
    client.put(b"k", b"v2", context=client.get(b"k").context)
    cluster.run_until_quiet()
    persist(node.storage.engine, node.receive(cluster.now, other, Reap(b"k", tombstone)))
    record = node.record(b"k")
    assert record is not None and values(record) == [b"v2"]  # newer than the reap: kept


def test_a_reap_removes_exactly_the_tombstone_decided_on() -> None:
    cluster = _cluster(delete_mode="keep")
    client = cluster.client("n1")
    client.put(b"k", b"v1")
    first = client.get(b"k").context
    client.delete(b"k", context=first)
    cluster.run_until_quiet()
    fallback, other = sorted(cluster.replicas(b"k"))[:2]
    node = cluster.node(fallback)
    tombstone = node.storage.read(b"k")
    assert tombstone is not None
    node.config = node.reaper.config = node.config.replace(delete_mode="safe")
    # a second, concurrent (blind) tombstone: a newer record (submit_delete is the raw
    # request; Client.delete without a context would read first)
    blind = client.submit_delete(b"k", b"")
    cluster.run_until_quiet()
    assert blind.done and blind.error is None
    assert node.storage.read(b"k") != tombstone
    persist(node.storage.engine, node.receive(cluster.now, other, Reap(b"k", tombstone)))
    assert node.record(b"k") is not None
    current = node.storage.read(b"k")
    assert current is not None
    persist(node.storage.engine, node.receive(cluster.now, other, Reap(b"k", current)))
    assert node.record(b"k") is None


def test_sqlite_stores_tombstones_and_reaps_them() -> None:
    cluster = _cluster(storage="sqlite", tombstone_grace_s=1.0)
    try:
        client = cluster.client("n1")
        client.put(b"k", b"v1")
        client.delete(b"k", context=client.get(b"k").context)
        cluster.run_for(0.5)
        assert all(stored == [TOMBSTONE] for stored in _stored(cluster, b"k").values())
        assert client.get(b"k").values == []
        cluster.run_for(2.0)
        assert _stored(cluster, b"k") == {name: None for name in cluster.replicas(b"k")}
    finally:
        cluster.close()


def test_a_put_of_the_tombstone_marker_is_refused_and_a_delete_has_no_value() -> None:
    cluster = _cluster()
    with pytest.raises(BadRequestError):
        cluster.client("n1").put(b"k", TOMBSTONE)
    with pytest.raises(BadRequestError):
        PutRequest(1, b"k", b"x", delete=True)


def test_delete_messages_cross_the_wire() -> None:
    request = delete_request(7, b"k", b"ctx", 2, "alice", 3)
    assert request.delete and request.value == b""
    assert decode(encode(request)) == request
    assert decode(encode(Reap(b"k", b"R\x01"))) == Reap(b"k", b"R\x01")
    cluster = _cluster(wire=True)
    client = cluster.client()
    client.put(b"k", b"v1")
    client.delete(b"k", context=client.get(b"k").context)
    assert client.get(b"k", r=3).values == []


@pytest.mark.parametrize(("field", "value"), [("delete_mode", "later"),
                                              ("tombstone_grace_s", 0.0),
                                              ("tombstone_grace_s", "3"),
                                              ("join_handover", "eventually")])
def test_bad_delete_and_handover_settings_are_refused(field: str, value: object) -> None:
    with pytest.raises(ConfigError, match=field):
        ClusterConfig(nodes=("n1", "n2", "n3"), **{field: value})  # type: ignore[arg-type]


def test_submit_delete_is_a_handle_like_submit_put() -> None:
    cluster = _cluster()
    client = cluster.client("n1")
    client.put(b"k", b"v1")
    handle = client.submit_delete(b"k", client.get(b"k").context, w=3)
    cluster.wait([handle])
    assert handle.error is None and handle.result().context != b""
    assert client.get(b"k", r=3).values == []


def test_case_12_as_a_user_drives_it_with_the_default_client() -> None:
    """../shared/cases/12-delete.py verbatim, with ``cluster.client()``'s default
    routing (partition-aware, with failover): one of k's replicas is cut off,
    k is read and deleted with that context; after heal and quiet a get with r=3
    finds nothing, and a put concurrent with a delete survives as the only value.
    (With a partition-aware client that did not fail over, the get went to the
    cut-off first node of k's preference list and failed with a QuorumError:
    tests/impl/test_routing.py.)"""
    cluster = _cluster()
    client = cluster.client()
    client.put(b"k", b"v1")
    cluster.run_until_quiet()
    missed = sorted(cluster.replicas(b"k"))[-1]
    cluster.partition({missed}, set(cluster.node_names) - {missed})
    read = client.get(b"k")
    assert read.values == [b"v1"]
    client.delete(b"k", context=read.context)
    cluster.heal()
    cluster.run_until_quiet()
    assert cluster.client().get(b"k", r=3).values == []
    alice, bob = cluster.client(), cluster.client()
    alice.put(b"k2", b"a")
    cluster.run_until_quiet()
    seen = alice.get(b"k2")
    bob.put(b"k2", b"b")
    alice.delete(b"k2", context=seen.context)
    cluster.run_until_quiet()
    assert cluster.client().get(b"k2", r=3).values == [b"b"]
    cluster.close()
