"""A backup of a store taken before its disk was replaced, put back after (session 49;
the neighbourhood of seed 119 of ``bench/retired_rank_histories.py``: docs/dvv.md,
"... (session 49)").

3 nodes, N=3, R=W=2, dvv: k = v1 everywhere; n3 stopped, its store copied (the
backup), started again (``tests.impl.test_restore_after_reap._n3_backed_up``); k
deleted with a read's context (all three acknowledge) and the cluster quiet, so the
tombstone is reaped everywhere; n3's disk replaced (wiped: rebuilt, its new
generation heard by n1 and n2); n3 cut off; ``peers`` replaced one after the other,
each rebuilt from the other; the backup put back on n3 while it is still cut off
(its shadow round times out: nobody answers), then healed. Right value: a get of k
with R=3 finds nothing (the delete was acknowledged, and a copy of every later state
survives on n1 and n2). The restore guard (``impl.restore_guard``) sets the backup
aside when a peer tells n3 the generation it heard last of it: the replaced disk's,
a start later than the backup's.

Seed 119 itself is not this: there the disks of all three replicas were lost after
the values came to be superseded (n1 wiped at step 68, n2 at 106 and n3 at 144, the
last two while cut off, so neither was rebuilt), and the acknowledged writes of
steps 51 to 67 went with them; the backup of step 7 is the newest copy left, and what
it serves is all the cluster holds (the history's oracle counts those writes as
covered by later failed puts, so it reports no loss).
"""

from __future__ import annotations

import copy

import pytest

from tests.impl.test_restore_after_reap import KEY, _n3_backed_up


def _restored_after_wipe(peers: tuple[str, ...], *, seed: int = 1, guard: bool = True
                         ) -> tuple[bool, list[bytes], int]:
    """(whether the tombstone was reaped, the values of a get of k with R=3 at the end,
    n3's stores set aside)."""
    cluster, client, backup = _n3_backed_up(seed, guard)
    client.delete(KEY, context=client.get(KEY, r=3).context, w=3)
    cluster.run_until_quiet()
    reaped = all(record is None for record in cluster.replicas(KEY).values())
    cluster.wipe("n3")
    cluster.run_until_quiet()
    cluster.partition(["n3"], ["n1", "n2"])
    for peer in peers:
        cluster.wipe(peer)
        cluster.run_for(30)  # rebuilt from the other
    cluster.crash("n3")
    cluster.storages["n3"].inner = copy.deepcopy(backup)
    cluster.restart("n3")
    cluster.run_for(5)  # its shadow round times out (n3 cut off)
    cluster.heal()
    cluster.run_until_quiet()
    values = sorted(cluster.client("n1").get(KEY, r=3).values)
    return reaped, values, cluster.node("n3").stats["restore-set-aside"]


@pytest.mark.parametrize("peers", [(), ("n1",)])
def test_a_backup_of_before_a_wipe_restored_after_it_is_set_aside(
        peers: tuple[str, ...]) -> None:
    """A peer that heard the replaced disk's generation is left (n2, or both): it
    tells n3, which sets the backup aside. Mutant checked: ``is_rollback`` answering
    False fails both (``[b'v1']``)."""
    reaped, values, set_aside = _restored_after_wipe(peers)
    assert reaped  # the premise: nothing but the generations remembers the delete
    assert values == []
    assert set_aside == 1


def test_without_the_guard_the_backups_deleted_value_comes_back() -> None:
    """The control: the guard off (``restore_guard = false``), ``v1`` comes back."""
    assert _restored_after_wipe((), guard=False) == (True, [b"v1"], 0)


def test_a_backup_restored_after_both_peers_were_replaced_is_set_aside() -> None:
    """n1 then n2 replaced while n3 is cut off, each rebuilt from the other (no data
    lost: the delete holds on both), then the backup put back on n3. Until session 50
    nobody told n3 its store was older than a start they saw (n1's and n2's new
    stores heard no generation of n3), so the backup was served and ``v1`` came back
    (a strict xfail). Now each gossip relays the generations its sender heard
    (:meth:`impl.restore_guard.RestoreGuard.on_relayed`): n1's new store heard n3's
    last start from n2, and n2's from n1. Its neighbours:
    ``tests/impl/test_restore_relayed_generations.py``."""
    reaped, values, set_aside = _restored_after_wipe(("n1", "n2"))
    assert reaped
    assert values == []
    assert set_aside == 1
