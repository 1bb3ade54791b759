"""A put to a key whose siblings are only tombstones is stored (session 31's user probe).

In client-vclock each DELETE retried with one context keeps a tombstone sibling
(docs/runtime.md, "Delete retries (session 26)": left), so a client that retried a
delete 30 times left ``max_siblings`` (25) tombstones on each replica until they are
reaped. A get of the key answers no value, yet every later put of it, blind or with
a context read before the deletes, was refused 400 "key has more than 25 siblings:
read and reconcile them first": there is nothing a read shows to reconcile, and the
key could not be written but with the 404's context. Now a put (not a delete) that
would pass ``max_siblings`` over a record holding tombstones alone supersedes them,
as a put with the context of a read (the join of their clocks) does
(``impl.put_coordinator.PutCoordinator._coordinate``). A put over a record still
holding a value keeps its 400, and so does a delete.

Session 31's review: not in server-vclock, where the join of two tombstones each
concurrent with a value another replica holds covered that value, and the put
superseded an acknowledged write it never saw; there the 400 stays. The context a
put over tombstones answers covers its own write, a put that does not grow a
record merges made larger joins nothing, and the client's own context is kept.
"""

from __future__ import annotations

import contextlib

import pytest

from impl import SimulatedCluster
from impl.effects import GetResult
from impl.errors import BadRequestError, DynamoError
from impl.versions import TOMBSTONE, values

CLOCKS = ("client-vclock", "dvv", "server-vclock", "lww")


def _retried_deletes(clock: str, tries: int = 30) -> tuple[SimulatedCluster, bytes, int]:
    """Alice puts k, reads it, and deletes it ``tries`` times with that read's context
    through one coordinator: (the cluster, the read's context, the deletes acknowledged)."""
    cluster = SimulatedCluster(nodes=3, n=3, r=2, w=2, seed=1, clock=clock,  # type: ignore[arg-type]
                               delete_mode="keep")
    alice = cluster.client("n1", client_id="alice")
    alice.put(b"k", b"v1")
    context = alice.get(b"k").context
    done = 0
    for _ in range(tries):
        try:
            alice.delete(b"k", context)
            done += 1
        except DynamoError:
            pass
    cluster.run_until_quiet()
    return cluster, context, done


@pytest.mark.parametrize("clock", CLOCKS)
def test_a_blind_put_after_retried_deletes_is_stored(clock: str) -> None:
    cluster, _, _ = _retried_deletes(clock)
    assert cluster.client("n3").get(b"k", r=3).values == []
    # before (client-vclock): BadRequestError "key has more than 25 siblings"
    cluster.client("n2", client_id="bob").put(b"k", b"blind")
    cluster.run_until_quiet()
    assert cluster.client("n3").get(b"k", r=3).values == [b"blind"]
    if clock == "client-vclock":  # the 25 tombstones superseded (elsewhere one
        # tombstone is left, a sibling of the blind put until reaped, as before)
        for record in cluster.replicas(b"k").values():
            assert record is not None and values(record) == [b"blind"]


def test_a_put_with_a_context_read_before_the_deletes_is_stored() -> None:
    cluster, context, done = _retried_deletes("client-vclock")
    assert done == 25  # the 26th and later refused: 25 tombstones on each replica
    for record in cluster.replicas(b"k").values():
        assert record is not None and values(record) == [TOMBSTONE] * 25
    cluster.client("n1", client_id="alice").put(b"k", b"v2", context)
    cluster.run_until_quiet()
    assert cluster.client("n2").get(b"k", r=3).values == [b"v2"]


def test_a_put_over_a_record_holding_a_value_keeps_its_refusal() -> None:
    # 24 tombstones and a blind put's value: a 26th sibling is still refused, and
    # the value stays (nothing superseded it)
    cluster, _, _ = _retried_deletes("client-vclock", tries=24)
    bob = cluster.client("n1", client_id="bob")
    bob.put(b"k", b"b1")
    with pytest.raises(BadRequestError, match="more than 25 siblings"):
        cluster.client("n1", client_id="carol").put(b"k", b"c1")
    cluster.run_until_quiet()
    assert cluster.client("n2").get(b"k", r=3).values == [b"b1"]


def test_a_delete_past_the_limit_over_tombstones_keeps_its_refusal() -> None:
    cluster, context, done = _retried_deletes("client-vclock", tries=26)
    assert done == 25
    with pytest.raises(BadRequestError, match="more than 25 siblings"):
        cluster.client("n1", client_id="alice").delete(b"k", context)


def _value_apart_from_tombstones(seed: int) -> tuple[SimulatedCluster, GetResult]:
    """client-vclock: carol's value acknowledged at w=1 on n3 (cut off from n1 and
    n2), alice's delete of v1 retried 30 times on n1 and n2 (25 tombstones each),
    the partition still up: (the cluster, dave's read on n3 (r=1) before the deletes)."""
    cluster = SimulatedCluster(nodes=3, n=3, r=2, w=2, seed=seed, clock="client-vclock",
                               delete_mode="keep")
    alice = cluster.client("n1", client_id="alice")
    alice.put(b"k", b"v1")
    context = alice.get(b"k").context
    cluster.run_until_quiet()
    cluster.partition(["n1", "n2"], ["n3"])
    cluster.client("n3", client_id="carol").put(b"k", b"live", context, w=1)
    read = cluster.client("n3", client_id="dave").get(b"k", r=1)
    for _ in range(30):
        with contextlib.suppress(DynamoError):
            alice.delete(b"k", context)
    return cluster, read


@pytest.mark.parametrize("seed", [1, 2])
def test_a_value_written_apart_from_the_tombstones_survives_the_put_over_them(
        seed: int) -> None:
    # carol's put through n3, cut off from n1 and n2, is acknowledged at w=1 while
    # alice's retried deletes leave 25 tombstones on n1 and n2; bob's blind put
    # supersedes those, not carol's value, which no tombstone's clock covers
    cluster, _ = _value_apart_from_tombstones(seed)
    cluster.client("n2", client_id="bob").put(b"k", b"blind")
    cluster.heal()
    cluster.run_until_quiet()
    assert sorted(cluster.client("n1").get(b"k", r=3).values) == [b"blind", b"live"]


def _tombstones_apart_from_a_value(clock: str) -> SimulatedCluster:
    """bob's value {n1: 1, n2: 1} (server-vclock) acknowledged on n1 and n2, then a
    delete through n1 with the context read before it ({n1: 2}, on n1 and n3) and a
    blind delete through n2 ({n2: 2}, on n2 and n3): n3 holds those two tombstones
    alone, each concurrent with bob's value, which n3 never got (session 31's review)."""
    cluster = SimulatedCluster(nodes=3, n=3, r=2, w=2, seed=1, clock=clock,  # type: ignore[arg-type]
                               delete_mode="keep", max_siblings=2, sloppy_quorum=False,
                               anti_entropy=False, read_repair=False)
    cluster.client("n1", client_id="alice").put(b"k", b"x")
    cluster.run_until_quiet()
    cluster.partition(["n1", "n2"], ["n3"])
    bob = cluster.client("n2", client_id="bob")
    before = bob.get(b"k").context
    bob.put(b"k", b"live", before)
    cluster.run_for(60)
    for coordinator, context, cut_off in (("n1", before, "n2"), ("n2", b"", "n1")):
        cluster.heal()
        cluster.partition([n for n in ("n1", "n2", "n3") if n != cut_off], [cut_off])
        handle = cluster.client(coordinator, client_id="dan").submit_delete(
            b"k", context, coordinator=coordinator)
        cluster.wait([handle])
        assert handle.error is None
        cluster.run_for(60)
    cluster.heal()
    return cluster


@pytest.mark.parametrize("clock", ["server-vclock", "client-vclock", "dvv"])
def test_a_put_over_tombstones_never_supersedes_a_value_held_elsewhere(clock: str) -> None:
    cluster = _tombstones_apart_from_a_value(clock)
    carol = cluster.client("n3", client_id="carol")
    if clock == "server-vclock":
        # n3's tombstones {n1: 2} and {n2: 2} join above bob's {n1: 1, n2: 1}: a put
        # with that join superseded bob's acknowledged value everywhere (before the
        # review: [b"z"] at R = 3); the 400 stays, and a read shows bob's value
        held = cluster.replicas(b"k")["n3"]
        assert held is not None and values(held) == [TOMBSTONE, TOMBSTONE]
        with pytest.raises(BadRequestError, match="more than 2 siblings"):
            carol.put(b"k", b"z")
        cluster.run_until_quiet()
        assert cluster.client("n1").get(b"k", r=3).values == [b"live"]
        return
    with contextlib.suppress(BadRequestError):  # dvv: n3 got bob's value with n2's set
        carol.put(b"k", b"z")
    cluster.run_until_quiet()
    assert b"live" in cluster.client("n1").get(b"k", r=3).values


def _three_sides_deleted() -> tuple[SimulatedCluster, bytes]:
    """dvv, ``max_siblings`` 2: x deleted with one read's context on each side of a
    three-way partition, the three tombstones merged by a read's repair onto every
    replica (a merge may pass the limit): (the cluster, n1's delete's context)."""
    cluster = SimulatedCluster(nodes=3, n=3, r=2, w=2, seed=1, clock="dvv", delete_mode="keep",
                               max_siblings=2, sloppy_quorum=False, anti_entropy=False)
    alice = cluster.client("n1", client_id="alice")
    alice.put(b"k", b"x")
    cluster.run_until_quiet()
    read = alice.get(b"k", r=3).context
    cluster.partition(["n1"], ["n2"], ["n3"])
    contexts = {}
    for node in ("n1", "n2", "n3"):
        handle = cluster.client(node, client_id="dan").submit_delete(b"k", read, w=1,
                                                                     coordinator=node)
        cluster.wait([handle])
        contexts[node] = handle.result().context
    cluster.run_for(60)
    cluster.heal()
    assert cluster.client("n2").get(b"k", r=3).values == []
    cluster.run_until_quiet()
    for record in cluster.replicas(b"k").values():
        assert record is not None and values(record) == [TOMBSTONE] * 3
    return cluster, contexts["n1"]


def test_the_context_a_put_over_tombstones_answers_covers_its_own_write() -> None:
    # the dot is minted under n1's actor (the joined context covers n1's tombstone),
    # and the answered context names that actor's dot: alice's next put supersedes
    # her first (a mutant answering the context of the client's own, the pair
    # actor's, left [b"a", b"b"])
    cluster, _ = _three_sides_deleted()
    alice = cluster.client("n1", client_id="alice")
    first = alice.put(b"k", b"a")
    alice.put(b"k", b"b", first.context)
    cluster.run_until_quiet()
    assert cluster.client("n2").get(b"k", r=3).values == [b"b"]


def test_a_put_that_does_not_grow_a_merged_record_supersedes_what_its_context_covers() -> None:
    # 3 tombstones (a merge) past the limit of 2, a put whose context covers n1's:
    # accepted as before (it does not grow the record), superseding that one only
    cluster, context = _three_sides_deleted()
    cluster.client("n1", client_id="alice").put(b"k", b"a", context)
    cluster.run_until_quiet()
    for record in cluster.replicas(b"k").values():
        assert record is not None and sorted(values(record)) == [TOMBSTONE, TOMBSTONE, b"a"]


def test_a_put_over_tombstones_supersedes_what_its_own_context_covers() -> None:
    # dave read carol's value on n3 (cut off) and writes through n2, which holds
    # alice's 25 tombstones alone: his put supersedes the tombstones and carol's
    # value (the client's context joined with the tombstones', not replaced)
    cluster, seen = _value_apart_from_tombstones(1)
    assert seen.values == [b"live"]
    cluster.client("n2", client_id="dave").put(b"k", b"new", seen.context)
    cluster.heal()
    cluster.run_until_quiet()
    assert cluster.client("n1").get(b"k", r=3).values == [b"new"]
