"""Issue 11 review (helper rev, session 5): faults found by using deletes and
membership change as a user would, each as a test asserting the right value.

Bugs 1, 2 (hints) and 4 moved to tests/impl/test_safe_reap_knowledge.py with their
fix; bug 3 (per-key actor epochs) and bug 2's writes are fixed and their tests here
pass (they were strict xfails while the bugs stood). The others kill hand mutants
that survived the existing tests.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import pytest

from impl import SimulatedCluster, antientropy, get_coordinator
from impl.effects import Send
from impl.membership import MemberStatus
from impl.messages import KeyRecords, ReplicaPut, delete_request
from impl.simulator import SimulationError
from impl.versions import TOMBSTONE, Record, is_tombstone_only, values
from spec import dvv
from tests.impl.test_node_driver import Driver, make_config, ok_get, ok_put


def _cluster(**options: Any) -> SimulatedCluster:
    options.setdefault("seed", 3)
    return SimulatedCluster(nodes=5, n=3, r=2, w=2, **options)


def test_reaping_other_keys_does_not_grow_a_hot_keys_clock() -> None:
    """One key (``hot``) is read-modify-written through n1 while 20 other keys are
    written and deleted through n1 and reaped (safe). Each reap renews n1's actor
    (impl/reaping.py, kv679), so ``hot``'s dvv gains one entry per reaped key:
    after 20 rounds 20 entries, after 10,000 deletes 10,000 (the record and the
    context grow without bound; Riak's per-key epochs renew the actor of the
    reaped key only). Expected: ``hot``'s clock stays small."""
    cluster = SimulatedCluster(nodes=3, n=3, r=2, w=2, seed=1, tombstone_grace_s=0.5)
    client = cluster.client("n1")
    for i in range(20):
        read = client.get(b"hot", coordinator="n1")
        client.put(b"hot", b"h%d" % i, context=read.context, coordinator="n1")
        key = b"x%d" % i
        client.put(key, b"x", coordinator="n1")
        client.delete(key, context=client.get(key, coordinator="n1").context,
                      coordinator="n1", w=3)
        cluster.run_for(1.0)
    record = cluster.node("n1").record(b"hot")
    assert record is not None and record.dvvset is not None
    assert values(record) == [b"h19"]
    assert len(dvv.ids(record.dvvset)) <= 3  # got 20


def _fallback_reply_counts(targets: tuple[str, ...], sent_to: Mapping[str, str],
                           replies: Mapping[str, Record], merged: Record,
                           prune: object = None) -> bool:
    """The mutant: a fallback's reply counts for the target it stands in for (``prune``,
    the coordinator's pruning since session 34, ignored: exact comparison)."""
    return is_tombstone_only(merged) and all(
        replies.get(sent_to.get(target, target)) == merged for target in targets)


@pytest.mark.parametrize("mutant", [None, "fallback-reply-counts"])
def test_a_fallbacks_reply_never_lets_a_get_reap(mutant: str | None,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """Replica ``t`` is down through a delete and the gets after it. A get with
    r = N asks a fallback ``d`` for ``t``'s share; its reply is empty (before
    session 39 read repair then wrote the tombstone into ``d``'s store, so ``d``
    answered the next get with exactly the merged tombstone; now no tombstone is
    written into an empty copy, and ``d`` stays empty). The safe rule counts only
    the targets' own replies (docs/impl.md: "the nodes themselves (not
    fallbacks)"): the tombstone stays on every replica while ``t`` is down. The
    review's mutant ``fallback-reply-counts`` (survived every delete test) reaped it
    before reaps asked every member (tests/impl/test_safe_reap_knowledge.py); now the
    query round refuses its reap, and the rule is checked directly, with ``d``
    answering the tombstone."""
    if mutant:
        monkeypatch.setattr(get_coordinator, "all_targets_hold", _fallback_reply_counts)
    # (read repair of fallbacks on: since session 27 only the key's replicas are
    # repaired by default, and d would hold nothing)
    cluster = _cluster(hinted_handoff=False, anti_entropy=False, tombstone_grace_s=1.0,
                       read_repair_fallbacks=True)
    key = b"k"
    a, b, t, d = cluster.node("n1").preference_list(key)[:4]
    client = cluster.client()
    client.put(key, b"v", coordinator=a, w=3)
    cluster.run_until_quiet()
    cluster.crash(t)
    client.delete(key, context=client.get(key, coordinator=a).context, coordinator=a)
    for _ in range(2):
        assert client.get(key, coordinator=a, r=3).values == []
        cluster.run_for(5.0)  # > tombstone_grace_s
    stored = cluster.node(a).record(key)
    assert stored is not None and values(stored) == [TOMBSTONE]
    assert cluster.node(d).record(key) is None  # (no tombstone into an empty copy)
    kept = [name for name in (a, b) if cluster.storages[name].read(key) is not None]
    assert kept == [a, b]  # (since the ask-every-member round, also under the mutant)
    # the rule itself: d's reply does not count for t (the mutant says it does)
    holds = get_coordinator.all_targets_hold((a, b, t), {t: d},
                                             {a: stored, b: stored, d: stored}, stored)
    assert bool(holds) == (mutant is not None)


def _responder_blanks_tombstones(monkeypatch: pytest.MonkeyPatch) -> None:
    """The review's mutant ``ae-drops-tombstone``: the node answering a Merkle
    exchange sends an empty record for a key it holds only tombstones of."""
    original = antientropy.AntiEntropy.on_merkle_exchange

    def blank(self: antientropy.AntiEntropy, src: str, message: Any) -> list[Any]:
        out = original(self, src, message)
        for i, effect in enumerate(out):
            if isinstance(effect, Send) and isinstance(effect.message, KeyRecords):
                records = tuple(
                    b"" if raw and is_tombstone_only(self.replica.parse(raw)) else raw
                    for raw in effect.message.records)
                out[i] = Send(effect.dest, dataclasses.replace(effect.message,
                                                               records=records))
        return out

    monkeypatch.setattr(antientropy.AntiEntropy, "on_merkle_exchange", blank)


@pytest.mark.parametrize("mutant", [None, "ae-drops-tombstone"])
def test_anti_entropy_sends_a_tombstone_whichever_side_answers(
        mutant: str | None, monkeypatch: pytest.MonkeyPatch) -> None:
    """A delete stored at n2 alone (its replica puts lost, and their resends);
    anti-entropy alone repairs n1 and n3. Every KeyRecords n2 sends for the key
    carries its tombstone record, also when n2 answers an exchange (the answering
    side sends its records first: with this seed n2 does). The mutant blanks the
    answering side's tombstones; the other side's reply still carries them, which
    is why it survived the delete tests (they converge all the same)."""
    if mutant:
        _responder_blanks_tombstones(monkeypatch)
    config = make_config(3, n=3, r=3, w=1, anti_entropy=True, anti_entropy_interval=5.0,
                         read_repair=False, hinted_handoff=False, sloppy_quorum=False,
                         delete_mode="keep")
    driver = Driver.start(config)
    ok_put(driver.put("n2", b"k", b"v1"))
    read = ok_get(driver.get("n2", b"k"))
    driver.drop_filter = lambda src, dest, message: isinstance(message, ReplicaPut)
    driver.request("n2", delete_request(999, b"k", read.context, 1, "c1", 1))
    driver.deliver_all()
    assert driver.records(b"k") == {"n1": [b"v1"], "n2": [TOMBSTONE], "n3": [b"v1"]}
    since = len(driver.delivered)
    driver.advance(60.0)
    sent = [(message.reply, record) for src, _, message in driver.delivered[since:]
            if src == "n2" and isinstance(message, KeyRecords)
            for key, record in zip(message.keys, message.records, strict=True)
            if key == b"k"]
    assert any(reply for reply, _ in sent)  # n2 answered an exchange at least once
    assert all(record for _, record in sent) == (mutant is None)


def test_a_write_acknowledged_with_w3_is_on_three_current_replicas_after_a_leave() -> None:
    """n2 leaves; n5 has not heard yet (its gossip is held back), so n2 may not
    announce ``left`` yet; n5 coordinates puts with w=3 of keys whose top N, by its view, holds n2.
    n2 (still running, as a real node does for four gossip rounds) stores and acks
    them: each put is acknowledged by W=3 while only two of its copies are on nodes
    still in the ring. Expected: a write acknowledged by W replicas is on W of the
    key's current replicas once the cluster is quiet (anti-entropy and read repair
    off to show the handoff alone)."""
    cluster = SimulatedCluster(nodes=5, n=3, r=2, w=2, seed=11, anti_entropy=False,
                               read_repair=False)
    gossiper = cluster.node("n5").gossiper
    gossiper.on_gossip = lambda src, message: []  # type: ignore[method-assign]
    cluster.leave("n2")
    # pending ownership on knowledge: n2's transfer, and so its ``left``, waits
    # until every member has seen the leave; n5 has not (before, n2 announced
    # ``left`` and then acknowledged n5's replica puts as a node outside the ring)
    with pytest.raises(SimulationError):
        cluster.run_until(lambda: cluster.node("n2").status is MemberStatus.LEFT,
                          max_time=60)
    keys = [key for key in (b"key-%d" % i for i in range(10))
            if {"n2", "n5"} <= set(cluster.node("n5").preference_list(key)[:3])]
    assert len(keys) == 5
    client = cluster.client("n5")
    for key in keys:
        client.put(key, b"w3", coordinator="n5", w=3)  # acknowledged
    del gossiper.on_gossip
    cluster.run_until_quiet()
    assert "n2" not in cluster.sim.members
    short = [key for key in keys
             if sum(cluster.node(name).record(key) is not None
                    for name in cluster.node("n1").preference_list(key)[:3]) < 3]
    assert short == []  # got 4 of the 5 keys on 2 current replicas
