"""Hinted reads (the default since session 49) meet joins, leaves and deletes
(session 49's probe; docs/runtime.md, "Hinted reads meet joins, leaves and deletes
(session 49)").

Five nodes, N = 3, R = W = 2, the key's targets ``p1, p2, p3`` (the start of
``tests/impl/test_hinted_read.py``: ``v1`` on the three, ``p2`` crashed). A
sequential client writes ``v2`` through ``p1`` with the links from ``p1`` and the
second fallback to ``p3`` cut one way, so the put is acknowledged by ``p1`` and the
first fallback, which keeps ``p2``'s share as a hint. Then ``p1`` crashes: the only
copy of ``v2`` up is that hint. A node joins (``n6``), or the hint's holder leaves
(it hands its hints over), and the client reads through ``p3`` and deletes with that
read's context. Cases 07 and 12 ask that the read be ``[v2]`` (the client's own
acknowledged write) and that nothing the client deleted come back once ``p1`` and
``p2`` are back and the cluster quiet: ``[]`` at r = 3, and ``[]`` through every
node right after the delete.

With ``hinted_reads = False`` (the spec's rule) the read is ``[v1]``, the delete's
context misses ``v2`` and ``v2`` stays (a sibling of the tombstone; lww: the
delete's later stamp wins); the tests below are reached so.

Mutant (run and seen failing): ``Replica.served`` and ``Replica.served_record``
ignoring the hints (``hinted = None``): every hinted case fails (read ``[v1]``,
final ``[v2]``; lww's final is ``[]`` but its read ``[v1]``).
"""

from __future__ import annotations

import contextlib

import pytest

import impl
from impl import DynamoError
from tests.impl.test_hinted_read import KEY, p2_down


def _delete_through_a_change(clock: str, change: str, **options: object) -> tuple[
        list[bytes], list[list[bytes]], list[bytes]]:
    """(the client's read through ``p3`` after ``change``, each up member's r = 2
    read right after its delete, the key at r = 3 once quiet)."""
    with impl.SimulatedCluster(nodes=5, n=3, r=2, w=2, seed=1, clock=clock,
                               tombstone_grace_s=1.0, **options) as cluster:
        (p1, p2, p3), (first_fallback, second_fallback), client, read = p2_down(cluster)
        cluster.partition_one_way({p1, second_fallback}, {p3})
        client.put(KEY, b"v2", read.context, coordinator=p1)
        holders = [name for name, storage in cluster.storages.items()
                   for hint in storage.inner.hints()
                   if hint.key == KEY and hint.intended == p2]
        assert holders == [first_fallback]  # the scenario: v2 for p2 as a hint
        cluster.crash(p1)  # the hint is the only copy of v2 up
        if change == "join":
            cluster.join("n6")
        else:
            cluster.leave(first_fallback)
        cluster.run_for(5.0)
        with contextlib.suppress(DynamoError):
            client.get(KEY, coordinator=p3)  # p3 learns p1 is down
        cluster.run_for(1.0)
        read = client.get(KEY, coordinator=p3)
        client.delete(KEY, read.context, coordinator=p3)
        cluster.heal()
        cluster.run_for(1.0)
        right_after = [cluster.client(name).get(KEY).values
                       for name in sorted(cluster.sim.members)
                       if not cluster.is_down(name) and name not in cluster.left]
        cluster.restart(p1)
        cluster.restart(p2)
        cluster.run_until_quiet(max_time=900)
        return read.values, right_after, sorted(cluster.client(p3).get(KEY, r=3).values)


@pytest.mark.parametrize("change", ["join", "leave"])
@pytest.mark.parametrize("clock", ["dvv", "client-vclock", "server-vclock", "lww"])
def test_a_delete_of_a_value_held_only_as_a_hint_through_a_change(
        clock: str, change: str) -> None:
    read, right_after, final = _delete_through_a_change(clock, change)
    assert read == [b"v2"]
    assert right_after and all(values == [] for values in right_after)
    assert final == []


@pytest.mark.parametrize("change", ["join", "leave"])
def test_without_hinted_reads_the_delete_misses_the_hinted_value(change: str) -> None:
    """The spec's rule: the read misses ``v2``, so ``v2`` outlives the delete."""
    read, _, final = _delete_through_a_change("dvv", change, hinted_reads=False)
    assert (read, final) == ([b"v1"], [b"v2"])
