"""Anti-entropy's follow-up of an answer its merge pruned (session 34): its bounds.

Session 34 (helper aeprune) made the first sender of a batch of out-of-sync records
remember the batch (``AntiEntropy._sent_batches``, (peer, session), at most
:data:`impl.antientropy.SYNC_SESSIONS_LIMIT`) and follow the peer's answer up once,
unanswered, where its merge of the answer pruned entries the answer holds. Its
review (helper revae) found six mutants the tests let live: the bound off by one
or gone (a peer that opens exchanges and never answers grew the memory without
limit), a follow-up sent where nothing was pruned, one sent again for a duplicated
answer, one sent with ``reply`` True (answered: a message more), and one sent for an
answer to a session this node sent no batch of. These tests pin each: the bound and
its eviction of the oldest batch, and, on session 34's stale opener, exactly one
follow-up (``reply`` False, by the batch's sender, to the answerer) per batch whose
answer the merge pruned, none where nothing was pruned, none for a duplicated or
forged answer.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from impl.antientropy import SYNC_SESSIONS_LIMIT
from impl.cluster import SimulatedCluster
from impl.effects import Effect, Send
from impl.messages import KeyRecords, MerkleExchange
from impl.node import Node
from impl.staging import persist
from impl.storage.memory import MemoryStorage
from impl.timers import AntiEntropyRound
from impl.versions import ClockMode, Record, apply_put, encode_record
from spec.vclock import VClock
from tests.impl.test_dvv_retired_carried import (
    _NO_ROUND,
    _asks_lost,
    _assert_converged,
    _n3_opens_exchanges,
    _stale_n3_back,
)
from tests.impl.test_dvv_retired_pruning import _restart_and_write
from tests.impl.test_node_driver import make_config

KEY = b"cart"
RECORD = encode_record(apply_put(Record.empty(ClockMode.DVV), VClock(), b"milk",
                                 coordinator="n1", client_id="c1", now=0.0))


def _node(name: str, storage: MemoryStorage) -> Node:
    node = Node(name, make_config(3, n=3, r=2, w=2), storage, seed=1)
    node.start(0.0)
    return node


def _batch_step(starter: Node, peer: Node) -> tuple[Node, str, MerkleExchange]:
    """Run an exchange ``starter`` opens with ``peer`` until a node sends a batch of
    out-of-sync records: that node, the sender of the Merkle step it answered with the
    batch, and the step."""
    nodes = {starter.name: starter, peer.name: peer}
    queue = [(starter.name, e) for e in persist(
        starter.storage.engine, starter.fire(1.0, AntiEntropyRound(peer.name)))]
    while queue:
        src, effect = queue.pop(0)
        if not isinstance(effect, Send) or effect.dest not in nodes:
            continue
        dest = nodes[effect.dest]
        out = persist(dest.storage.engine, dest.receive(1.0, src, effect.message))
        if any(isinstance(e, Send) and isinstance(e.message, KeyRecords) and e.message.reply
               for e in out):
            assert isinstance(effect.message, MerkleExchange)
            return dest, src, effect.message
        queue += [(dest.name, e) for e in out]
    raise AssertionError("no batch was sent: the replicas agree")


def test_the_batches_remembered_for_a_follow_up_are_bounded_the_oldest_dropped() -> None:
    """A peer that drives exchange after exchange to a batch and never answers (lost
    answers, a peer restarted, or a malicious one) leaves at most
    ``SYNC_SESSIONS_LIMIT`` batches remembered, the oldest dropped first; an answer
    is one to a batch of ours by its sender and session both."""
    holding = MemoryStorage("always")
    holding.write(KEY, RECORD)
    finder, src, step = _batch_step(_node("n1", holding), _node("n2", MemoryStorage("always")))
    extra = 10
    for session in range(1, SYNC_SESSIONS_LIMIT + extra + 1):
        out = finder.receive(2.0, src, dataclasses.replace(step, session=session))
        assert any(isinstance(e, Send) and isinstance(e.message, KeyRecords) for e in out)
    sent = finder.anti_entropy._sent_batches
    assert len(sent) == SYNC_SESSIONS_LIMIT, len(sent)
    assert (src, extra) not in sent and (src, extra + 1) in sent
    assert (src, SYNC_SESSIONS_LIMIT + extra) in sent
    # an answer in that session from another node answers no batch of ours
    other = "n3" if src != "n3" else "n2"
    out = finder.receive(3.0, other, KeyRecords((KEY,), (RECORD,), extra + 1, reply=False))
    assert not [e for e in out if isinstance(e, Send)], out
    assert (src, extra + 1) in sent and len(sent) == SYNC_SESSIONS_LIMIT
    assert finder.stats["internal-error"] == 0


def _recording(cluster: SimulatedCluster) -> list[tuple[str, str, KeyRecords, list[KeyRecords]]]:
    """Every KeyRecords a node of ``cluster`` handles from now on: (node, sender, the
    message, the KeyRecords it sends back)."""
    seen: list[tuple[str, str, KeyRecords, list[KeyRecords]]] = []
    for name in ("n1", "n2", "n3"):
        mechanism = cluster.node(name).anti_entropy
        handle: Callable[[str, KeyRecords], list[Effect]] = mechanism.on_key_records

        def recorded(src: str, message: KeyRecords, *, name: str = name,
                     handle: Callable[[str, KeyRecords], list[Effect]] = handle) -> list[Effect]:
            out = handle(src, message)
            seen.append((name, src, message, [e.message for e in out if isinstance(e, Send)
                                              and isinstance(e.message, KeyRecords)]))
            return out

        mechanism.on_key_records = recorded  # type: ignore[method-assign]
    return seen


def _followups(seen: list[tuple[str, str, KeyRecords, list[KeyRecords]]]) -> list[Any]:
    """The follow-ups among ``seen``: (node, answerer, answer, follow-up)."""
    return [(name, src, message, back) for name, src, message, sent in seen
            if not message.reply for back in sent]


def test_an_answer_is_followed_up_once_unanswered_and_only_where_its_merge_pruned() -> None:
    """Session 34's stale opener: n3's copy holds an entry n1 and n2 pruned, whose
    retirement n3 never heard; n3 opens an exchange with n1, then n2. The only
    three KeyRecords move: n1's batch, n3's answer and n1's follow-up of it, one,
    ``reply`` False, to n3, in the session of n1's batch, not answered (then n3's
    copy is n2's, and the exchange with n2 finds the trees in sync). The answer
    delivered again (a duplicate) and a forged answer (a session n1 sent no batch
    of) are merged and followed up never."""
    with SimulatedCluster(**_NO_ROUND) as cluster:
        _stale_n3_back(cluster, heard_last=False)
        seen = _recording(cluster)
        _n3_opens_exchanges(cluster)
        _assert_converged(cluster)
        followups = _followups(seen)
        assert len(followups) == 1, followups
        ((name, answerer, answer, back),) = followups
        assert (name, answerer, back.reply, back.session) == ("n1", "n3", False,
                                                              answer.session)
        assert back.retired  # (what n3 learns)
        assert [m for node, _, m, sent in seen if m == back and node == "n3" and sent] == []
        batches = [m for _, _, m, _ in seen if m.reply]
        assert len(batches) == 1 and len(seen) == 3, [  # (batch, answer, follow-up)
            (node, src, m.reply) for node, src, m, _ in seen]
        n1 = cluster.node("n1")
        for again in (answer, dataclasses.replace(answer, session=answer.session + 1)):
            effects = n1.receive(cluster.sim.node_now("n1"), "n3", again)
            assert not [e for e in effects if isinstance(e, Send)], effects
        assert n1.stats["anti-entropy-followups"] == 1


def test_an_answer_whose_merge_prunes_nothing_is_not_followed_up() -> None:
    """n1 restarts and writes the key 30 times (every node hears each retirement: a
    gossip round between), then is cut off while a put through n2 reaches n2 and
    n3 (no hints, no read repair). n3 opens an exchange with n1: n1 finds
    the key out of sync and sends its older record, n3 answers with its newer one,
    whose entries of retired lifetimes n1 knows but whose merge at n1 prunes none
    of them: not followed up (a follow-up sent for every answer whose records hold
    entries of retired lifetimes, pruned or not, survived the tests before)."""
    with SimulatedCluster(**_NO_ROUND) as cluster:
        pause = 2 * cluster.config.gossip_interval
        _restart_and_write(cluster, 30, ["n1"], pause_s=pause)
        cluster.partition(["n1"], ["n2", "n3"])
        client = cluster.client("n2", client_id="c")
        client.put(b"k", b"n2" * 1504, client.get(b"k").context, coordinator="n2")
        cluster.run_for(cluster.config.request_timeout)
        cluster.heal()
        copies = cluster.replicas(b"k")
        assert copies["n1"] != copies["n3"] == copies["n2"]
        seen = _recording(cluster)
        n3 = cluster.node("n3")
        cluster.sim.perform("n3", n3.fire(cluster.sim.node_now("n3"),
                                          AntiEntropyRound(peer="n1")))
        cluster.run_for(cluster.config.request_timeout)
        _assert_converged(cluster)
        flow = [(node, src, m.reply, bool(m.retired)) for node, src, m, _ in seen]
        assert flow == [("n3", "n1", True, True), ("n1", "n3", False, True)], flow
        assert cluster.node("n1").stats["anti-entropy-followups"] == 0


def test_a_read_repair_of_a_copy_holding_more_is_sent_once_to_it_alone() -> None:
    """Session 34's one-way residual healed by a get at R = 3 (anti-entropy off):
    n3's copy holds an entry of a retired lifetime n1 pruned, whose retirement n3
    never heard. The get through n1 repairs n3 (``read-repairs-pruned`` 1: its copy
    held more than the pruned merge) and n2 (whose copy lacks that entry), and no
    more; once the copies agree, gets through each node repair nothing (a repair of
    every replica at every get, or none of n3, survived the tests of the counter)."""
    options = {**_NO_ROUND, "read_repair": True, "anti_entropy": False}
    with SimulatedCluster(**options) as cluster:
        _, _, context = _stale_n3_back(cluster, heard_last=False)
        with _asks_lost(cluster) as lost:  # (session 35's ask heals it at once)
            cluster.client("n1", client_id="d").put(b"k", b"d" * 3008, context,
                                                    coordinator="n1")
            cluster.run_for(cluster.config.request_timeout)
        assert len(lost) == 1
        n1 = cluster.node("n1")
        sent: list[tuple[str, Any]] = []
        repair = n1.read_repair.repair

        def recorded(key: bytes, replies: Any, replicas: Any = None) -> list[Effect]:
            out = repair(key, replies, replicas)
            sent.extend((e.dest, e.message) for e in out if isinstance(e, Send))
            return out

        n1.read_repair.repair = recorded  # type: ignore[method-assign]
        cluster.client("n1").get(b"k", r=3, coordinator="n1")
        cluster.run_for(cluster.config.request_timeout)
        _assert_converged(cluster)
        assert sorted(dest for dest, _ in sent) == ["n2", "n3"], sent
        assert all(message.retired for _, message in sent)
        assert n1.stats["read-repairs-pruned"] == 1
        before = sum(cluster.node(name).stats["read-repairs"] for name in ("n1", "n2", "n3"))
        for name in ("n1", "n2", "n3"):
            cluster.client(name).get(b"k", r=3, coordinator=name)
            cluster.run_for(cluster.config.request_timeout)
        after = sum(cluster.node(name).stats["read-repairs"] for name in ("n1", "n2", "n3"))
        assert after == before, (before, after)
        assert n1.stats["read-repairs-pruned"] == 1
