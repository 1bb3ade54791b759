"""A copy of a store taken in its first seconds, put back (session 60; docs/runtime.md,
"A first-seconds copy put back (session 60)"; case 01's kind: a restored backup).

n1's disk is replaced while it is cut off from n2 and n3 (who never heard an older
store of it), so its start is *marked* (:data:`impl.restore_guard.FRESH_UNCONFIRMED_META`)
and draws its own token; it takes k0 at W = 1 and its store is copied (``live``: while
it runs, as SQLite's ``.backup``; ``stopped``: stopped, copied, started again). The
cluster is healed (n2 and n3 name n1's start: ``when = "after"``, the copy is taken
only then, unmarked), k2 is put at W = 2 through n1, then, cut off again, k1 at W = 1;
n1 is killed, its copy put back and started with the links healed.

The copy of the running marked store is told the start it took itself and kept
whole (``Node._own_restart``, session 53), not rebuilt: exactly what becomes of an
unmarked copy of a running store (a start count above what the peers heard: a plain
restart; docs/runtime.md's "Back up" paragraph, "A live copy taken after the last reap
... is still not noticed"). Both lose k1 (its only copy was on the disk put back; a
stopped copy set aside loses it too) and may answer k2 "not found" at R = 1 through n1
until anti-entropy (R + W = N: allowed); R = 2 reads k2. No dot is reused: the copy
of a marked store takes a new actor at its start whatever ``actor_per_start``
(``Node.__init__``'s ``per_start=... or (self._fresh and marked)``), so a blind put of
k2 through n1 right after the restore is a sibling of the W = 2 value, not its
replacement.

Mutants: ``per_start=config.actor_per_start`` alone in ``Node.__init__`` (the copy
keeps the live store's actor): ``test_a_blind_put_through_the_copy_reuses_no_dot``
fails with ``actor_per_start = False`` (k2 read ``[b'v2b']`` at R = 3, the W = 2 value
gone); ``took_own`` always False in ``Node._set_aside`` (the live copy renewed and
rebuilding, not kept): ``test_a_live_first_seconds_copy_is_kept_as_a_live_copy_is``
fails (``restore-own-restart`` 0), and so do both blind-put cases; ``put_back``
always False in ``Node._set_aside`` (``unknown_own`` ignored: the stopped copy taken
for the live store's restart, renewed): ``test_a_stopped_first_seconds_copy_is_set_aside``
fails (``restore-set-aside`` 0).
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from impl.cluster import SimulatedCluster

LIVE, STOPPED = "live", "stopped"


def _put_back(seed: int, when: str, how: str, settle: float = 1.0,
              **options: Any) -> SimulatedCluster:
    """The scenario of the module's docstring: the cluster, n1 started on its copy
    with the links healed and run ``settle`` seconds (simulated)."""
    cluster = SimulatedCluster(nodes=3, n=3, r=2, w=2, seed=seed, **options)
    cluster.partition(["n1"], ["n2", "n3"])
    cluster.wipe("n1")  # its start announced, as ``vdynamo serve``'s first: marked
    cluster.run_for(15)  # its shadow round times out
    through_n1 = cluster.client(coordinator="n1")
    through_n1.put(b"k0", b"v0", w=1)
    cluster.run_for(1)
    if when == "after":
        cluster.heal()
        cluster.run_for(10)  # n2 and n3 name n1's start: no longer marked
    if how == STOPPED:
        cluster.crash("n1")
    backup = copy.deepcopy(cluster.storages["n1"].inner)
    if how == STOPPED:
        cluster.restart("n1")
    cluster.heal()
    cluster.run_for(10)
    through_n1.put(b"k2", b"v2", w=2)
    cluster.run_for(0.01)
    cluster.partition(["n1"], ["n2", "n3"])
    through_n1.put(b"k1", b"v1", w=1)  # n1 alone holds it
    cluster.crash("n1")
    cluster.run_for(2)  # its sends in flight dropped
    cluster.heal()
    cluster.storages["n1"].inner = backup
    cluster.restart("n1")
    cluster.run_for(settle)
    return cluster


@pytest.mark.parametrize("when", ["before", "after"])
def test_a_live_first_seconds_copy_is_kept_as_a_live_copy_is(when: str) -> None:
    """The copy of the running store, marked (``before``: own restart) or not
    (``after``: a plain restart), kept whole and not rebuilding either way; k1 (W = 1
    through n1 alone) gone, k2 (W = 2) read at R = 2."""
    with _put_back(1, when, LIVE) as cluster:
        n1 = cluster.node("n1")
        assert n1.stats["restore-own-restart"] == (1 if when == "before" else 0)
        assert n1.stats["restore-set-aside"] == 0 and not n1.rebuilding
        assert n1.record(b"k0") is not None and n1.record(b"k1") is None
        reader = cluster.client(coordinator="n1")
        assert reader.get(b"k1", r=2).values == []
        assert reader.get(b"k2", r=2).values == [b"v2"]


def test_a_stopped_first_seconds_copy_is_set_aside() -> None:
    """A copy taken while n1 was stopped: its later start was told its own start and
    took a count above it, which the copy never took (``unknown_own``): set aside."""
    with _put_back(1, "before", STOPPED) as cluster:
        n1 = cluster.node("n1")
        assert n1.stats["restore-set-aside"] == 1 and n1.stats["restore-own-restart"] == 0
        assert cluster.client(coordinator="n1").get(b"k2", r=2).values == [b"v2"]


@pytest.mark.parametrize("per_start", [True, False])
def test_a_blind_put_through_the_copy_reuses_no_dot(per_start: bool) -> None:
    """Right after the marked copy's restart (before anti-entropy gave it k2), a blind
    put of k2 through n1 is a sibling of the W = 2 value at R = 3, whatever
    ``actor_per_start``."""
    with _put_back(1, "before", LIVE, 0.05, actor_per_start=per_start) as cluster:
        n1 = cluster.node("n1")
        assert n1.stats["restore-own-restart"] == 1 and n1.record(b"k2") is None
        cluster.client(coordinator="n1").put(b"k2", b"v2b", w=1)
        cluster.run_until_quiet()
        assert sorted(cluster.client(coordinator="n2").get(b"k2", r=3).values) == [
            b"v2", b"v2b"]
