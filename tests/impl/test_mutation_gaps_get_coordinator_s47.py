"""impl.get_coordinator: the behaviours session 47's mutmut run found no test for
(docs/refinement.md, "Mutation score of the coordinators, versions and context
(session 47)"): the words of a get refused for PR before it asks anyone (Riak's
``pr_val_unsatisfied``; session 39), and the timer an answered get ended early
cancels (session 33's lingering coordinations)."""

from __future__ import annotations

import math

import pytest

from impl.effects import CancelTimer, Reply, Send, SetTimer
from impl.errors import QuorumError
from impl.forwarding import ReplyTo
from impl.get_coordinator import primary_replies
from impl.messages import (
    GetRequest,
    HintDelivery,
    ReapQuery,
    ReapQueryReply,
    ReplicaGetReply,
    ReplicaPut,
)
from impl.node import Node
from impl.records import ClockMode
from impl.storage.memory import MemoryStorage
from impl.timers import GetTimeout, ReapTombstone
from impl.versions import (
    TOMBSTONE,
    Record,
    apply_put,
    decode_record,
    encode_record,
    merge,
    prune_retired,
)
from spec import dvv
from spec.vclock import VClock
from tests.impl.test_node_driver import Driver, make_config

KEY = b"k3"  # targets n1, n2, n3; fallbacks n4, n5


def _node(name: str) -> Node:
    node = Node(name, make_config(5, n=3, r=2, w=2), MemoryStorage("always"), seed=1)
    node.start(0.0)
    assert node.quorum.split(KEY) == (("n1", "n2", "n3"), ("n4", "n5"))
    return node


@pytest.mark.parametrize(("name", "suspected", "up"), [
    ("n1", ("n3",), "2 of them are believed reachable (n1, n2; suspected: n3)"),
    ("n1", ("n2", "n3"), "1 of them is believed reachable (n1; suspected: n2, n3)"),
    ("n4", ("n1", "n2", "n3"),
     "0 of them are believed reachable (none; suspected: n1, n2, n3)"),
])
def test_a_get_short_of_reachable_primaries_is_refused_word_for_word(
        name: str, suspected: tuple[str, ...], up: str) -> None:
    """Killed: ``_unsatisfied__mutmut_2`` to ``_28`` (the suspected named as the
    reachable, the separators, the verb's number, the ``none``, each clause's words):
    test_primary_quorums.py matched the message's head and tail only."""
    node = _node(name)
    node.set_suspected(dict.fromkeys(suspected, math.inf))
    # (started at the coordinator directly: a node outside the top N forwards)
    effects = node.gets.start(0.0, GetRequest(7, KEY, None, "c1", pr=3), ReplyTo(7))
    (reply,) = effects  # nothing asked, no timer
    assert isinstance(reply, Reply) and reply.request_id == 7 and reply.result is None
    assert isinstance(reply.error, QuorumError)
    assert str(reply.error) == (
        "get needs PR=3 primaries (the key's top N answering themselves) but " + up +
        "; nothing was asked (Riak's pr_val_unsatisfied)")
    assert (reply.error.needed, reply.error.got) == (3, 3 - len(suspected))
    assert not node.gets.coordinations


def test_a_get_ended_early_cancels_its_own_timer() -> None:
    """An answered get that lingers for its last target, ended early by the node's
    lingering bound: its timer is cancelled by name, and a second end does nothing.
    Killed: ``end_early__mutmut_8``, ``_9`` (``CancelTimer(None)``,
    ``CancelTimer(GetTimeout(None))``: the timer left to fire)."""
    node = _node("n1")
    asked = node.client_request(0.0, GetRequest(7, KEY, None, "c1"))
    assert sorted(e.dest for e in asked if isinstance(e, Send)) == ["n2", "n3"]
    (op_id,) = node.gets.coordinations
    answered = node.receive(0.1, "n2", ReplicaGetReply(op_id, KEY))
    assert [e.request_id for e in answered if isinstance(e, Reply)] == [7]
    assert op_id in node.gets.coordinations  # lingers for n3
    assert node.gets.end_early(0.2, op_id) == [CancelTimer(GetTimeout(op_id))]
    assert op_id not in node.gets.coordinations
    assert node.gets.end_early(0.3, op_id) == []


@pytest.mark.parametrize("ends", ["failed at its deadline", "answered by every target",
                                  "ended early by a late reply's bytes"])
def test_a_get_that_ends_answers_the_reap_query_it_held_at_its_time(ends: str) -> None:
    """Session 39: a reap query of a key whose get this node coordinates waits for
    the get. A live hint of the key arrives meanwhile; when the get ends (failed at
    its deadline short of R; answered and done; or answered at R = 1 from its own
    read and ended early, session 33's byte bound, by a late reply of a tombstone
    larger than ``max_pending_bytes``), the held answer goes out, "not clean", and
    the hint is delivered at the get's time (the reaper's ``get_ended`` given the
    time; since session 56, answered by every target, its answer holds the hint,
    and the query is refused with no delivery). Killed: ``on_timeout__mutmut_11``,
    ``_finish__mutmut_42`` (``self.ended(None,
    ...)``) and ``on_reply__mutmut_31`` (``lingering.resize(None, ...)``): the
    delivery noted as sent at None, and the next scan's ``now - sent`` a TypeError."""
    early = ends == "ended early by a late reply's bytes"
    driver = Driver.start(make_config(5, n=3, r=1 if early else 2, w=2, delete_mode="safe",
                                      max_value_bytes=16, max_pending_bytes=16))
    node = driver.nodes["n1"]
    driver.handle("n1", node.client_request(0.0, GetRequest(7, KEY, None, "c1")))
    (op_id,) = node.gets.coordinations
    tombstone = encode_record(apply_put(Record.empty(node.mode), VClock(), TOMBSTONE,
                                        coordinator="n2", client_id="c", now=0.0))
    live = encode_record(apply_put(Record.empty(node.mode), VClock(), b"v",
                                   coordinator="n4", client_id="c", now=0.0))
    view = node.reaper.members()[1]
    assert node.receive(0.1, "n2", ReapQuery(11, KEY, tombstone, view)) == []  # held
    driver.handle("n1", node.receive(0.2, "n4", ReplicaPut(3, KEY, live, hint="n2")))
    (hint,) = node.hints.all()
    if ends == "failed at its deadline":
        now = node.gets.coordinations[op_id].deadline
        effects = node.fire(now, GetTimeout(op_id))
        (reply,) = [e for e in effects if isinstance(e, Reply)]
        assert isinstance(reply.error, QuorumError)
    elif early:
        now = 0.25
        effects = node.receive(now, "n2", ReplicaGetReply(op_id, KEY, tombstone))
        assert node.stats["lingering-ended-early"] == 1
    else:
        now = 0.25
        answered = node.receive(now, "n2", ReplicaGetReply(op_id, KEY))
        assert [e.request_id for e in answered if isinstance(e, Reply)] == [7]
        effects = node.receive(now, "n3", ReplicaGetReply(op_id, KEY))
    assert op_id not in node.gets.coordinations
    if ends == "answered by every target":
        # since session 56 the get answers with its own copy read again, which holds
        # the live hint that arrived meanwhile: read repair sends it to both
        # targets, and the get, ended holding a live version, refuses the held
        # query (``Reaper.get_ended``'s ``live``: no delivery at its time; the hint
        # waits for the next scan). Before, its answer held only the two empty
        # replies and its own empty first read
        sent = [(e.dest, type(e.message).__name__) for e in effects if isinstance(e, Send)]
        assert sent == [("n2", "ReadRepair"), ("n3", "ReadRepair"),
                        ("n2", "ReapQueryReply")]
        assert Send("n2", ReapQueryReply(11, KEY, False, "")) in effects
        assert node.handoff.in_flight == {}
        return
    answer, delivery = [e for e in effects if isinstance(e, Send)]
    assert answer == Send("n2", ReapQueryReply(11, KEY, False, ""))
    assert delivery.dest == "n2" and isinstance(delivery.message, HintDelivery)
    assert (delivery.message.hint_id, delivery.message.key,
            delivery.message.record) == (hint.hint_id, KEY, live)
    # noted in flight since the get's end: the next scan resends it a retry later
    assert node.handoff.in_flight == {hint.hint_id: now}


def test_a_reap_check_asks_the_targets_however_many_are_suspected() -> None:
    """A reap check (an internal get) asks the key's targets themselves and has no
    primary quorum to refuse it: at a node outside the top N that suspects all three
    it asks them all. Killed: ``start__mutmut_7`` (``pr = 1`` for a reap check: refused
    as short of PR before asking)."""
    node = _node("n4")
    node.set_suspected(dict.fromkeys(("n1", "n2", "n3"), math.inf))
    effects = node.gets.start(0.0, GetRequest(0, KEY), ReplyTo(0, internal=True))
    assert sorted(e.dest for e in effects if isinstance(e, Send)) == ["n1", "n2", "n3"]
    (coordination,) = node.gets.coordinations.values()
    assert coordination.pr == 0


def test_primary_replies_counts_the_replies_itself_when_given_none() -> None:
    """Killed: ``primary_replies__mutmut_1`` (``counted is not None``: no counted set
    given, ``None & set`` a TypeError; every caller in the module passes one)."""
    node = _node("n1")
    node.client_request(0.0, GetRequest(7, KEY, 3, "c1"))
    (coordination,) = node.gets.coordinations.values()
    node.receive(0.1, "n4", ReplicaGetReply(coordination.op_id, KEY))  # not asked: dropped
    assert primary_replies(coordination) == {"n1"}
    assert primary_replies(coordination, {"n1", "n2", "n4"}) == {"n1", "n2"}


_A1, _B1 = "a~000000000001", "b~000000000001"


@pytest.mark.parametrize("knows", [True, False], ids=["knows-a1-retired", "knows-nothing"])
def test_a_get_schedules_the_reap_of_copies_differing_in_an_entry_it_prunes(
        knows: bool) -> None:
    """Session 34: the safe rule's test at a get's end compares each target's copy
    with the merged tombstone once both are pruned by what the coordinator knows
    (``Replica.prune``, set by the node): n2's copy lacks the value-less entry of
    a retired lifetime ``a1`` that n1's and n3's hold. A coordinator that knows
    ``a1`` retired schedules the reap; one that does not, none. Killed:
    ``_finish__mutmut_31`` (the prune not passed to ``all_targets_hold``: compared
    unpruned, the copies differ and no reap is scheduled; the cluster test of
    test_reap_pruned_copies.py does not kill it: its reap is decided on another
    path)."""
    decided = Record(ClockMode.DVV, dvvset=dvv.DVVSet.of([(_A1, 1, []),
                                                           (_B1, 1, [TOMBSTONE])]))
    copy = Record(ClockMode.DVV, dvvset=dvv.DVVSet.of([(_B1, 1, [TOMBSTONE])]))
    node = Node("n4", make_config(5, n=3, r=3, w=2, clock="dvv", delete_mode="safe"),
                MemoryStorage("always"), seed=1)
    node.start(0.0)
    if knows:
        node.replica.prune = lambda record: prune_retired(record, {_A1: 1},
                                                          live=(node.actor,), keep=0)
    node.gets.start(0.0, GetRequest(7, KEY), ReplyTo(7))
    (op_id,) = node.gets.coordinations
    node.receive(0.1, "n1", ReplicaGetReply(op_id, KEY, encode_record(decided)))
    node.receive(0.1, "n2", ReplicaGetReply(op_id, KEY, encode_record(copy)))
    effects = node.receive(0.2, "n3", ReplicaGetReply(op_id, KEY, encode_record(decided)))
    assert op_id not in node.gets.coordinations
    reaps = [e for e in effects if isinstance(e, SetTimer) and isinstance(e.timer, ReapTombstone)]
    if not knows:
        assert reaps == []
        return
    (reap,) = reaps
    assert reap.timer.key == KEY and reap.at == 0.2 + node.config.tombstone_grace_s
    assert decode_record(reap.timer.record) == merge(decided, copy)
