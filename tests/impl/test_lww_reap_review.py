"""Review of session 24's lww reap fixes (docs/runtime.md, "Session 24's data probe",
its review paragraph): each case pins one branch of
:meth:`impl.reaping.Reaper._settle_dominated` or :meth:`impl.reaping.Reaper._hints_of`
that the scenario tests of tests/impl/test_lww_stale_reap_round.py left free (the
mutants named in each test survived them).

A member asked by a reap round, in ``lww``: a replica keeps a live copy the asked
tombstone stamps over (and answers not clean), a node that is no replica lets it
go; only hints of the key asked about hold the round back; the asker's own hint of
the tombstone holds its reap back too.
"""

from __future__ import annotations

import pytest

from impl import SimulatedCluster
from impl.effects import Send
from impl.messages import HintDelivery, ReapQuery, ReapQueryReply
from impl.versions import TOMBSTONE, values

KEY = b"k"


def _deleted(clock: str, **config: object) -> tuple[SimulatedCluster, list[str], bytes, bytes]:
    """A 4-node cluster (N = 3, R = W = 3, no anti-entropy, a grace period no test
    reaches): ``KEY`` put (v1) and deleted, with v1's context, by its first replica,
    whose clock is 30 s ahead. Returns the cluster, ``KEY``'s preference list, v1's
    record and the tombstone's (encoded)."""
    cluster = SimulatedCluster(nodes=4, n=3, r=3, w=3, seed=5, clock=clock,
                               anti_entropy=False, tombstone_grace_s=3600.0, **config)
    preference = list(cluster.node("n1").preference_list(KEY))
    asker = preference[0]
    cluster.set_skew(asker, 30.0)
    client = cluster.client()
    client.put(KEY, b"v1", coordinator=asker)
    v1 = cluster.storages[asker].read(KEY)
    client.delete(KEY, context=client.get(KEY, coordinator=asker).context, coordinator=asker)
    cluster.run_for(3.0)
    tombstone = cluster.storages[asker].read(KEY)
    assert v1 is not None and tombstone is not None
    return cluster, preference, v1, tombstone


def _ask(cluster: SimulatedCluster, asker: str, member: str, tombstone: bytes
         ) -> tuple[ReapQueryReply, list[object]]:
    node = cluster.node(member)
    query = ReapQuery(1, KEY, tombstone, node.reaper.members()[1])
    reply, *rest = node.reaper.on_query(cluster.sim.now, asker, query)
    assert isinstance(reply, Send) and isinstance(reply.message, ReapQueryReply)
    return reply.message, [effect.message for effect in rest if isinstance(effect, Send)]


def _hint(cluster: SimulatedCluster, holder: str, intended: str, key: bytes,
          record: bytes) -> None:
    """``holder`` keeps a hint of ``key`` (``record``) for ``intended``, as a
    fallback would (written to its engine, the hint store's index reloaded)."""
    cluster.storages[holder].add_hint(intended, key, record)
    cluster.node(holder).hints.reload()
    assert any(hint.key == key and hint.record == record
               for hint in cluster.node(holder).hints.all())


@pytest.mark.parametrize(("clock", "replica", "expected"), [
    ("lww", True, ([b"v1"], False)),  # kept: the stamp says nothing of causality
    ("lww", False, (None, True)),  # no replica: let go, the replicas hold the rest
    ("dvv", True, ([TOMBSTONE], True)),  # dominated: merged, as before
    ("dvv", False, (None, True)),
])
def test_a_member_asked_settles_a_copy_the_tombstone_stamps_over(
        clock: str, replica: bool, expected: tuple[list[bytes] | None, bool]) -> None:
    """A member holding v1's record (the tombstone's stamp is above it; in dvv the
    tombstone's clock dominates it) is asked. The lww replica row fails the mutant
    that lets a replica's copy go in lww instead of keeping it (a stale round then
    removes an acknowledged put from every replica but the asker: it survived
    test_lww_stale_reap_round.py, whose asker held the put and handed it back)."""
    cluster, preference, v1, tombstone = _deleted(clock)
    member = preference[1] if replica else next(
        name for name in cluster.node_names if name not in preference[:3])
    cluster.node(member).replica.write_local(KEY, cluster.node(member).replica.parse(v1))
    reply, _ = _ask(cluster, preference[0], member, tombstone)
    held = cluster.node(member).record(KEY)
    assert ((None if held is None else values(held)), reply.clean) == expected


@pytest.mark.parametrize("clock", ["lww", "dvv"])
def test_only_hints_of_the_key_asked_about_hold_a_round_back(clock: str) -> None:
    """A member holding a hint of another key (a tombstone's, and a live value's)
    answers clean and sends neither; holding a hint of the key's tombstone it answers
    not clean in lww and delivers it at once (dvv: clean, the late tombstone hides
    nothing). Fails the mutant that counts every hint the member holds in lww (a
    reap of any key then waits for every hint of every key)."""
    cluster, preference, v1, tombstone = _deleted(clock)
    member, intended = preference[1], preference[2]
    _hint(cluster, member, intended, b"other", tombstone)
    _hint(cluster, member, intended, b"other", v1)
    reply, sent = _ask(cluster, preference[0], member, tombstone)
    assert (reply.clean, sent) == (True, [])
    _hint(cluster, member, intended, KEY, tombstone)
    reply, sent = _ask(cluster, preference[0], member, tombstone)
    delivered = [(m.key, m.record) for m in sent if isinstance(m, HintDelivery)]
    if clock == "lww":
        assert (reply.clean, delivered) == (False, [(KEY, tombstone)])
    else:
        assert (reply.clean, delivered) == (True, [])


@pytest.mark.parametrize("clock", ["lww", "dvv"])
def test_the_askers_own_hint_of_the_tombstone_holds_its_reap_back(clock: str) -> None:
    """The asker itself keeps a hint of the key's tombstone (its hint scan, every
    hour here, does not deliver it); every member answers clean. In lww the reap
    waits (the tombstone stays on all three replicas, the hint kept); dvv reaps (a
    late tombstone hides nothing there). Fails the mutant that counts the asker's
    own hints of tombstones in the members' answers only (:meth:`Reaper._decide`
    with the rule from before the fix): it survived
    test_lww_stale_reap_round.py, whose hint is kept by a member asked."""
    cluster, preference, _, tombstone = _deleted(clock, hint_scan_interval=3600.0)
    asker = preference[0]
    _hint(cluster, asker, preference[1], KEY, tombstone)
    (timer,) = [timer for timer in cluster.sim.named_timers(asker)
                if type(timer).__name__ == "ReapTombstone"]
    cluster.sim.fire_timer(asker, timer)
    cluster.run_for(5.0)
    held = [name for name in preference[:3] if cluster.node(name).record(KEY) is not None]
    kept = [hint.key for hint in cluster.node(asker).hints.all()]
    if clock == "lww":
        assert (held, kept) == (preference[:3], [KEY])
    else:
        assert held == []
