"""A key reaped on some of its targets and not on the others is reaped on the rest by
a later get (session 39).

Read repair writes no tombstone into an empty copy since session 39
(:func:`impl.read_repair.read_repair_targets`: a get straddling a reap wrote the
reaped tombstone back, and a deleted key read without pause flickered, reaped and
written back, for as long as it was read). A target whose ``Reap`` was lost keeps the
tombstone while the others are empty, and no get brings the others a copy of it any
more: the safe rule's test that starts a reap takes an empty answer of a target as
one that needs no reap (:func:`impl.reaping.all_targets_hold`), so the next get that
reads every target sets the reap again, and its round finds every member clean.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import pytest

from impl import SimulatedCluster, get_coordinator, reaping
from impl.messages import Reap
from impl.versions import Record, is_tombstone_only


def _tombstone_at_every_target(
        targets: tuple[str, ...], sent_to: Mapping[str, str], replies: Mapping[str, Record],
        merged: Record, prune: Callable[[Record], Record] = lambda record: record) -> bool:
    """The mutant ``empty-refuses`` (the test before session 39): every target must
    answer with the tombstone itself."""
    return is_tombstone_only(merged) and all(
        sent_to.get(t) == t and t in replies and reaping.same_tombstone(replies[t], merged,
                                                                        prune)
        for t in targets)


@pytest.mark.parametrize("mutant", [None, "empty-refuses"])
def test_a_target_whose_reap_was_lost_is_reaped_by_a_later_get(
        mutant: str | None, monkeypatch: pytest.MonkeyPatch) -> None:
    """3 nodes (N = 3), grace 0.5 s, no anti-entropy: v1, then a delete seen by all
    three; the reap's ``Reap`` to n3 is dropped, so n1 and n2 are empty and n3 keeps
    the tombstone. Then a get through n1 at R = 3 (it reads every target). Right
    value: 5 s later no replica holds a record (the get set the reap again, and its
    round reaped n3). The mutant ``empty-refuses`` (every target must answer with the
    tombstone): n3 keeps it for good (nothing writes it back into n1 and n2 any more,
    and no later reap is set)."""
    if mutant:  # (the get coordinator's own name of it)
        monkeypatch.setattr(get_coordinator, "all_targets_hold", _tombstone_at_every_target)
    cluster = SimulatedCluster(nodes=3, n=3, r=2, w=2, seed=1, tombstone_grace_s=0.5,
                               anti_entropy=False)
    client = cluster.client(coordinator="n1")
    client.put(b"k", b"v1")
    cluster.run_until_quiet()
    client.delete(b"k", context=client.get(b"k", r=3).context)
    dropped = 0
    for _ in range(400):  # until the round decided: its Reap to n3 is dropped
        for message in cluster.sim.in_flight():
            if isinstance(message.message, Reap) and message.dest == "n3":
                cluster.sim.drop(message.id)
                dropped += 1
        if dropped:
            break
        cluster.run_for(0.005)
    assert dropped == 1
    cluster.run_for(1.0)
    held = {name: record is not None for name, record in cluster.replicas(b"k").items()}
    assert held == {"n1": False, "n2": False, "n3": True}
    assert client.get(b"k", r=3).values == []
    cluster.run_for(5.0)
    held = {name: record is not None for name, record in cluster.replicas(b"k").items()}
    assert held == {"n1": False, "n2": False, "n3": bool(mutant)}
