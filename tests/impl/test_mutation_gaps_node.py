"""impl.node: the behaviours mutmut found no test for (docs/refinement.md, "Mutation
score"): what the node records when its engine fails and when it drops messages."""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import math
import re

import pytest

import impl.node
import impl.restore_guard
from impl import membership
from impl.cluster import SimulatedCluster
from impl.effects import Effect, Reply, Send, SetTimer
from impl.errors import InvalidValueError, NodeDownError, StorageError
from impl.gossip import Gossiper
from impl.messages import (
    Forward,
    GetRequest,
    Gossip,
    HintAck,
    HintDelivery,
    PutRequest,
    ReadRepair,
    ReplicaGet,
    ReplicaGetReply,
    ReplicaPut,
    ReplicaPutAck,
    delete_request,
)
from impl.node import (
    HEARTBEAT_STRIDE,
    MAX_GENERATION_DIFFERENCE,
    OP_ID_BASE_META,
    REBUILDING_META,
    REMOVED_MESSAGE,
    STORE_RENEWED_META,
    Node,
    heartbeat_generation,
)
from impl.positions import position_of
from impl.reaping import REAP_ATTEMPTS
from impl.replica import kept_record_bounds
from impl.restore_guard import OWN_TOKEN_META, start_generation
from impl.staging import persist
from impl.storage.memory import MemoryStorage
from impl.timers import AntiEntropyRound, GossipRound, HintScan, ReapCheck, ShadowRound
from impl.versions import (
    STORAGE_ID_META,
    _write_key_epochs,
    key_actor,
    lifetime_actor,
    read_key_epochs,
    values,
)
from tests.conftest import InternalErrors
from tests.impl.test_node_driver import make_config

KEY = b"cart"


def _node() -> Node:
    node = Node("n1", make_config(3, n=3, r=2, w=3), MemoryStorage("always"), seed=1)
    node.start(0.0)
    return node


def test_a_failed_persist_is_counted_logged_and_moves_the_nodes_time() -> None:
    node = _node()
    node.client_request(1.0, PutRequest(7, KEY, b"milk", b"", None, "c1"))
    node.persist_failed(2.5, StorageError("disk full"))
    assert node.stats["storage-error"] == 1
    assert node.log[-1] == "2.500 storage error, nothing acknowledged: disk full"
    assert node.snapshot().now == 2.5


def test_every_dropped_message_is_counted() -> None:
    node = _node()
    node.receive(1.0, "n2", object())
    node.receive(1.5, "n9", object())
    assert node.stats["dropped"] == 2
    assert node.log[-1] == "1.500 dropped message from 'n9': unknown message type object"


def test_leaving_moves_the_nodes_time() -> None:
    node = _node()
    node.leave(3.25)
    assert node.snapshot().now == 3.25


def _replica_put_op_ids(effects: list[Effect]) -> set[int]:
    return {e.message.op_id for e in effects
            if isinstance(e, Send) and isinstance(e.message, ReplicaPut)}


def test_op_ids_start_at_the_documented_base_of_the_storage_lifetime() -> None:
    """With ``actor_per_start=False``, the base is drawn once per disk (sha256 of
    ``repr((name, seed, now))`` and the engine's storage id, 22 bits of its first
    three bytes) and kept in the meta table; op ids count from
    ``(base + incarnation) << 40``, the incarnation counting the starts on that
    storage."""
    storage = MemoryStorage("always")
    config = make_config(3, n=3, r=2, w=2, actor_per_start=False)
    node = Node("n1", config, storage, seed=7, now=2.0)
    digest = hashlib.sha256(repr(("n1", 7, 2.0)).encode("utf-8")).digest()
    base = int.from_bytes(digest[:3], "big") & 0x3FFFFF
    assert storage.get_meta(OP_ID_BASE_META) == str(base).encode()
    assert storage.get_meta("incarnation") == b"1"
    first = node.client_request(2.0, PutRequest(1, KEY, b"v", b"", None, "c1"))
    assert _replica_put_op_ids(first) == {(base + 1) << 40}
    # a restart at another time keeps the base and counts one more incarnation
    again = Node("n1", config, storage, seed=7, now=9.0)
    assert storage.get_meta(OP_ID_BASE_META) == str(base).encode()
    assert storage.get_meta("incarnation") == b"2"
    second = again.client_request(9.0, PutRequest(1, KEY, b"v", b"", None, "c1"))
    assert _replica_put_op_ids(second) == {(base + 2) << 40}


def test_op_ids_start_at_a_base_drawn_at_each_start_by_default() -> None:
    """With ``actor_per_start`` (the default) the base is drawn at every start from
    that start's actor (sha256 of ``repr((name, seed, now, actor))`` and the storage
    id, 23 bits) and not kept: a restored backup repeats the kept one."""
    storage = MemoryStorage("always")
    config = make_config(3, n=3, r=2, w=2)
    bases = []
    for incarnation, now in ((1, 2.0), (2, 9.0)):
        node = Node("n1", config, storage, seed=7, now=now)
        digest = hashlib.sha256(repr(("n1", 7, now, node.actor)).encode("utf-8")).digest()
        base = int.from_bytes(digest[:3], "big") & 0x7FFFFF
        put = node.client_request(now, PutRequest(1, KEY, b"v", b"", None, "c1"))
        assert _replica_put_op_ids(put) == {((base + incarnation) & 0x7FFFFF) << 40}
        bases.append(base)
    assert storage.get_meta(OP_ID_BASE_META) is None
    assert bases[0] != bases[1]


def test_a_node_starts_at_time_zero_by_default_and_keeps_its_last_thousand_log_lines() -> None:
    node = Node("n1", make_config(3), MemoryStorage(), seed=1)
    assert node.snapshot().now == 0.0
    assert node.log.maxlen == 1000


@pytest.mark.parametrize("epochs", [True, False])
def test_the_node_mints_under_its_lifetime_actor_and_key_actor(epochs: bool) -> None:
    config = make_config(3, actor_epochs=epochs)
    node = Node("n1", config, MemoryStorage("always"), seed=7, now=2.0)
    expected = lifetime_actor(MemoryStorage("always"), "n1", seed=7, now=2.0, epochs=epochs)
    assert node.actor == expected
    assert (node.actor == "n1") is not epochs
    assert node.key_actor(KEY) == node.actor
    node._renew_actor(KEY)  # a reap began a key epoch (actor epochs only)
    if epochs:
        assert node.key_actor(KEY) == f"{node.actor}.1"
        assert node.key_actor(KEY) == key_actor(node.storage, node.actor, KEY,
                                                node.replica.local_record(KEY))
    else:
        assert node.key_actor(KEY) == "n1"


def test_every_bad_client_request_is_counted() -> None:
    node = _node()
    for request_id in (1, 2):
        too_long = b"k" * (node.config.max_key_bytes + 1)
        node.client_request(1.0, PutRequest(request_id, too_long, b"v", client_id="c1"))
    assert node.stats["bad-request"] == 2


@pytest.mark.parametrize("src", ["n9", "n1"])
def test_a_message_from_an_unknown_node_or_from_itself_is_dropped_saying_so(src: str) -> None:
    node = _node()
    assert node.receive(1.0, src, HintAck(1)) == []
    assert node.stats["dropped"] == 1
    assert node.log[-1] == f"1.000 dropped message from {src!r}: HintAck from unknown node {src!r}"


def test_a_message_that_fails_its_own_checks_is_dropped_with_the_reason() -> None:
    with pytest.raises(ValueError) as raised:
        HintAck(-1)
    message = HintAck(1)
    object.__setattr__(message, "hint_id", -1)  # built around the constructor's checks
    node = _node()
    assert node.receive(1.0, "n2", message) == []
    assert node.stats["dropped"] == 1
    assert node.log[-1] == f"1.000 dropped message from 'n2': {raised.value}"


def test_an_internal_error_names_the_node_and_the_sender(
        internal_errors: InternalErrors) -> None:
    node = _node()

    def broken(now: float, src: str, message: object) -> list[Effect]:
        HintAck(-1)  # a message of ours that fails its checks
        return []
    node._messages[HintAck] = broken
    assert node.receive(1.0, "n2", HintAck(1)) == []
    assert node.stats["internal-error"] == 1
    assert node.log[-1].startswith("1.000 INTERNAL ERROR handling HintAck from 'n2': ")
    records = internal_errors.take()
    assert [r.getMessage() for r in records] == ["n1: internal error handling HintAck from n2"]


def test_leaving_scans_its_hints_at_once_unless_told_not_to() -> None:
    assert SetTimer(HintScan(), 3.25) in _node().leave(3.25)
    assert not any(isinstance(e, SetTimer) for e in _node().leave(3.25, scan=False))


# ---------------------------------------------------------------- session 9: the wiring
# of ``Node.__init__`` and ``_replicates`` that session 8 left open (docs/refinement.md,
# "Session 9: membership, reaping, and the open mutants of session 8").


def test_an_unreadable_persisted_membership_is_logged_in_the_nodes_log() -> None:
    """The gossiper writes to the node's log (``Node.__init__`` passes it on): a node
    restarted on a disk whose membership meta is not readable starts from the
    configured view and says so."""
    storage = MemoryStorage("always")
    storage.set_meta("membership", b"{not json")
    node = Node("n1", make_config(3), storage, seed=1)
    assert node.view.nodes == ("n1", "n2", "n3")
    assert [line for line in node.log if line.startswith(
        "persisted membership unreadable, starting fresh: membership: not valid JSON")]


def test_the_node_never_suspects_itself_in_its_quorum() -> None:
    """The quorum knows the node's own name: the node is always reachable to itself
    whatever its failure detector holds, and giving up on a request it stood in for
    itself does not make it suspect itself."""
    node = _node()
    node.detector.timed_out("n1", 0.0)
    assert node.quorum.reachable("n1", 0.5)
    fresh = _node()
    fresh.quorum.give_up({"n3": "n1"}, "n3", 0.5)
    assert fresh.detector.suspicions(0.5) == {}


def test_a_replica_put_hinted_for_its_own_receiver_is_stored_as_its_own() -> None:
    """A ReplicaPut whose hint names the receiver itself is the receiver's own write
    (the replica knows its name): stored, acknowledged without a hint, no hint kept."""
    node = _node()
    (put,) = [e.message for e in node.client_request(1.0, PutRequest(7, KEY, b"v", b"", None,
                                                                     "c1"))
              if isinstance(e, Send) and e.dest == "n2" and isinstance(e.message, ReplicaPut)]
    storage = MemoryStorage("always")
    n2 = Node("n2", make_config(3, n=3, r=2, w=3), storage, seed=2)
    effects = persist(storage, n2.receive(1.0, "n1", dataclasses.replace(put, hint="n2")),
                      lambda error: n2.persist_failed(1.0, error))
    assert [e.message for e in effects if isinstance(e, Send)] == [ReplicaPutAck(put.op_id, KEY)]
    assert n2.hints.all() == []
    record = n2.record(KEY)
    assert record is not None and values(record) == [b"v"]


def test_an_anti_entropy_round_never_exchanges_with_the_node_itself() -> None:
    """The anti-entropy mechanism knows the node's own name: each round picks, per
    range, one of the *other* replicas (20 rounds, every peer reachable)."""
    node = _node()
    node.client_request(0.5, PutRequest(7, KEY, b"v", b"", None, "c1"))
    peers: set[str] = set()
    for i in range(20):
        for effect in node.fire(1.0 + i, AntiEntropyRound()):
            if isinstance(effect, Send):
                peers.add(effect.dest)
    assert peers == {"n2", "n3"}


def test_the_down_window_is_ten_gossip_intervals_when_those_are_longer() -> None:
    """max(4 suspicion timeouts, 10 gossip intervals): 20 s at a 2 s gossip interval
    and a 1 s suspicion timeout, not 5 s (``/``) nor 22 s (11 intervals; session 29's
    mutants of ``_down_window``: the defaults make the first term the larger)."""
    node = Node("n1", make_config(3, n=3, r=2, w=2, gossip_interval=2.0,
                                  suspicion_timeout=1.0), MemoryStorage("always"), seed=1)
    node.start(0.0)
    node.last_heard["n2"] = 10.0
    assert not node.down("n2", 29.5)
    assert node.down("n2", 30.0)


def test_handover_waiting_says_how_long_ago_to_a_tenth_and_none_if_never_heard() -> None:
    """``heard_s_ago``: rounded to 0.1 s, None for a member not heard from since this
    node started (session 29's mutants: two decimals; the None case taken away, which
    raised TypeError)."""
    with SimulatedCluster(nodes=4, n=3, r=2, w=2, seed=1) as cluster:
        cluster.run_for(3.0)
        n3 = cluster.node("n3")
        cluster.crash("n4")
        cluster.leave("n3")
        cluster.run_for(6.0)
        n3.last_heard["n4"] = cluster.now - 1.2345
        assert n3.handover_waiting(cluster.now)["n4"]["heard_s_ago"] == 1.2
        del n3.last_heard["n4"]
        assert n3.handover_waiting(cluster.now)["n4"]["heard_s_ago"] is None


def test_a_force_remove_of_a_member_up_names_whose_news_holds_it_up() -> None:
    """Refused as up (nothing gossiped of n2 by this node's own clock but what is set
    here; the window is 12 s): heard from directly 1 s ago and no gossiped beat: the
    own hearing named and its wait (session 29's mutant taking the absent beat's
    wait too raised TypeError); heard exactly 12 s ago and a beat 1 s old: the
    gossiped beat named, not the hearing (``<=`` for ``<``); heard 1 s ago but
    suspected, a beat 0.5 s old: the beat named (the suspicion of another node
    asked)."""
    node = Node("n1", make_config(4, n=3, r=2, w=2), MemoryStorage("always"), seed=1)
    node.start(0.0)
    node.heartbeat_updated.pop("n2", None)
    node.last_heard["n2"] = 99.0
    with pytest.raises(InvalidValueError, match=r"this node heard from it 1\.0 s ago, "
                       r"under 12 s.* can be removed in 11\.0 s at most"):
        node.force_remove(100.0, "n2")
    node.last_heard["n2"] = 88.0
    node.heartbeat_updated["n2"] = 99.0
    with pytest.raises(InvalidValueError, match=r"another member heard from it: its latest "
                       r"heartbeat is 1\.0 s old .*removed in 11\.0 s at most"):
        node.force_remove(100.0, "n2")
    node.last_heard["n2"] = 99.0
    node.heartbeat_updated["n2"] = 99.5
    node.set_suspected({"n2": math.inf})
    with pytest.raises(InvalidValueError, match=r"this node suspects it or has not heard "
                       r"from it lately, but another member heard from it: its latest "
                       r"heartbeat is 0\.5 s old .*removed in 11\.5 s at most"):
        node.force_remove(100.0, "n2")


def test_a_shadow_round_asks_the_members_an_answer_names_that_it_did_not_ask() -> None:
    """n4 joined after the configuration n1-n3; n3's disk is replaced: its round asks
    n1 and n2 (its configured view); n1's answer names n4, which n3 then asks (a
    gossip wanting a reply, stamped with n3's generation) and waits for too; a second
    answer naming it asks nothing more (session 29's mutant ``more = None``: n4 never
    asked, the claimant test of session 28 passing by ``must_hear_all`` alone)."""
    with SimulatedCluster(nodes=3, n=3, r=2, w=2, seed=1) as cluster:
        cluster.join("n4")
        cluster.run_until_quiet()
        cluster.wipe("n3")
        n1, n2, n3 = cluster.node("n1"), cluster.node("n2"), cluster.node("n3")
        assert n3.shadow is not None and n3.shadow.asked == ("n1", "n2")
        assert n1.guard is not None and n2.guard is not None and n3.guard is not None
        now = cluster.now
        this = n3.guard.generation  # (an answer names this start: session 36)
        effects = n3.receive(now, "n1", Gossip(n1.view.to_bytes(), reply=False,
                                               generation=n1.guard.generation, yours=this))
        asks = [e for e in effects if isinstance(e, Send) and e.dest == "n4"]
        assert len(asks) == 1 and isinstance(asks[0].message, Gossip), effects
        assert asks[0].message.reply and asks[0].message.generation == n3.guard.generation
        assert n3.shadow.asked == ("n1", "n2", "n4") and n3.shadow.waiting == {"n2", "n4"}
        effects = n3.receive(now, "n2", Gossip(n2.view.to_bytes(), reply=False,
                                               generation=n2.guard.generation, yours=this))
        assert not any(isinstance(e, Send) and e.dest == "n4" for e in effects), effects
        assert n3.shadow.waiting == {"n4"} and not n3.shadow.over
        n4 = cluster.node("n4")
        assert n4.guard is not None
        n3.receive(now + 0.25, "n4", Gossip(n4.view.to_bytes(), reply=False,
                                            generation=n4.guard.generation, yours=this))
        assert n3.shadow.over
        # the round's length from its start (mutant: ``now + started``)
        assert any("shadow round: every peer asked answered in 0.250 s" in line
                   for line in n3.log), n3.log[-3:]


def test_a_relayed_heartbeat_is_gossiped_with_its_age_in_milliseconds() -> None:
    """:meth:`Node._beats_to_send`: a member's held beat goes with the milliseconds
    since it was sent (2.5 s: 2500; session 29's mutant: x 1001), this node's own
    with age 0 and its version counted up to the stride."""
    node = Node("n1", make_config(3, n=3, r=2, w=2), MemoryStorage("always"), seed=1)
    node.start(0.0)
    node.heartbeats["n2"] = (5, 7)
    node.heartbeat_updated["n2"] = 7.5
    beats = membership.beats_from_bytes(node._beats_to_send(10.0))
    assert beats["n2"] == (5, 7, 2500)
    assert beats["n1"] == (node.heartbeat[0], HEARTBEAT_STRIDE, 0)


def test_a_gossiped_client_floor_is_taken_without_the_guard_and_gossiped_on() -> None:
    """client-vclock, ``restore_guard = false``: a peer's gossiped floor raises this
    node's (session 29's mutant: ``raise_floor(None)`` on the path without the guard),
    and this node's gossip carries it (mutant: the floor left out of its gossip)."""
    config = make_config(3, n=3, r=2, w=2, clock="client-vclock", restore_guard=False)
    node = Node("n1", config, MemoryStorage("always"), seed=1)
    node.start(0.0)
    node.receive(1.0, "n2", Gossip(node.view.to_bytes(), reply=False, floor=9))
    assert node.replica.client_floor == 9
    gossips = [e.message for e in node.fire(2.0, GossipRound())
               if isinstance(e, Send) and isinstance(e.message, Gossip)]
    assert gossips and {g.floor for g in gossips} == {9}


def test_the_heartbeat_generation_of_a_first_start_at_time_zero_is_one() -> None:
    """A store with no earlier start: ``max(int(now), 0 + 1)`` (session 29's mutant:
    an absent entry read as 1, so 2)."""
    storage = MemoryStorage("always")
    assert heartbeat_generation(storage, 0.0) == 1
    assert heartbeat_generation(storage, 0.0) == 2  # (one above the earlier start's)


def test_a_beat_exactly_the_largest_generation_difference_ahead_is_taken() -> None:
    """:data:`MAX_GENERATION_DIFFERENCE` seconds ahead is taken, one more is ignored
    (session 29's mutant: ``>=``)."""
    node = Node("n1", make_config(3, n=3, r=2, w=2), MemoryStorage("always"), seed=1)
    node.start(0.0)
    ahead = 100 + MAX_GENERATION_DIFFERENCE
    node._take_beats(100.0, "n2", membership.beats_to_bytes({"n2": (ahead, 1, 0),
                                                             "n3": (ahead + 1, 1, 0)}))
    assert node.heartbeats.get("n2") == (ahead, 1) and "n3" not in node.heartbeats


# ---------------------------------------------------------------- session 31: more of
# ``impl/node.py`` under mutmut (docs/refinement.md, "Session 31: more of impl/node.py").


def test_a_failed_reap_check_is_retried_doubling_its_wait_up_to_the_last_attempt() -> None:
    """``_reap_check_failed``: attempt ``failed + 1``, due ``max(tombstone_grace_s,
    request_timeout) * 2 ** (attempt - 1)`` later, counted; none after
    :data:`impl.reaping.REAP_ATTEMPTS` checks. Mutants: the attempt or the wait
    counted otherwise, the attempt not carried, the count not one a retry, a last
    retry too many."""
    node = _node()
    config = node.config
    wait = max(config.tombstone_grace_s, config.request_timeout)
    assert node._reap_check_failed(10.0, KEY, 0) == [SetTimer(ReapCheck(KEY, 1), 10.0 + wait)]
    assert node._reap_check_failed(10.0, KEY, 2) == [
        SetTimer(ReapCheck(KEY, 3), 10.0 + wait * 4)]
    assert node.stats["reap-check-retries"] == 2
    assert node._reap_check_failed(10.0, KEY, REAP_ATTEMPTS - 2) == [
        SetTimer(ReapCheck(KEY, REAP_ATTEMPTS - 1), 10.0 + wait * 2 ** (REAP_ATTEMPTS - 2))]
    assert node._reap_check_failed(10.0, KEY, REAP_ATTEMPTS - 1) == []
    assert node.stats["reap-check-retries"] == 3


def test_a_discarded_input_leaves_no_generation_to_put_back_at_the_next_one() -> None:
    """``_discard_writes`` forgets the generation the input advanced from: a later
    input that advances and is discarded puts back the one it advanced from.
    Mutants: ``""`` kept as the one advanced from (the next discard set it); an
    advance counted by 2."""
    node = _node()
    assert node.guard is not None and node.guard.confirmed
    node._discard_writes()
    before = node.guard.generation
    node._advance_generation(1.0)
    assert node.guard.generation != before
    assert node.stats["generation-advanced"] == 1
    node._discard_writes()
    assert node.guard.generation == before


def test_a_failed_persist_restages_no_generation_the_node_never_advanced() -> None:
    """``_restage_generation`` stages the count again only after an advance.
    Mutant: ``or`` (an ``incarnation`` write and a sync staged after every failed
    persist)."""
    node = _node()
    node.storage.take()
    node.persist_failed(1.0, StorageError("disk full"))
    assert node.storage.take() == []
    node._advance_generation(2.0)
    node.storage.take()
    node.persist_failed(3.0, StorageError("disk full"))
    assert [type(w).__name__ for w in node.storage.take()] == ["WriteMeta", "SyncStorage"]


def test_a_reap_check_reads_every_target_as_an_internal_get_of_its_attempt() -> None:
    """``_reap_check``: at a replica of the key with no reap of it due, a get at
    R = N whose answer goes nowhere (``ReplyTo.internal``) and that carries the
    check's attempt: timed out, it is retried at the next attempt, no client
    answered; counted once. Nothing at a node with the key's reap due, nor at a node
    not among its replicas. Mutants: R of the configuration, not internal (the
    timeout answers an error Reply), the attempt dropped (retried at 1), the
    guards inverted or joined by ``and``, the count."""
    node = _node()
    effects = node._reap_check(1.0, ReapCheck(KEY, 3))
    assert node.stats["reap-checks"] == 1
    (coordination,) = node.gets.coordinations.values()
    assert coordination.r == 3 and coordination.reply_to.internal
    assert {e.dest for e in effects if isinstance(e, Send)} == {"n2", "n3"}
    (timeout,) = [e.timer for e in effects if isinstance(e, SetTimer)]
    retried = node.fire(coordination.deadline, timeout)
    wait = max(node.config.tombstone_grace_s, node.config.request_timeout)
    assert retried == [SetTimer(ReapCheck(KEY, 4), coordination.deadline + wait * 8)]
    node.reaper.due[KEY] = None  # type: ignore[assignment]
    assert node._reap_check(2.0, ReapCheck(KEY)) == []
    assert node.stats["reap-checks"] == 1
    other = Node("n1", make_config(5, n=3, r=2, w=2), MemoryStorage("always"), seed=1)
    other.start(0.0)
    key = next(k for k in (b"k%d" % i for i in range(100))
               if "n1" not in other.preference_list(k)[:3])
    assert other._reap_check(1.0, ReapCheck(key)) == []
    assert other.stats["reap-checks"] == 0


def test_a_key_is_busy_while_this_node_coordinates_or_forwards_a_request_of_it() -> None:
    """``_busy`` (a reap query is answered "not clean"): a put this node coordinates
    or forwards, of that key; each alone is enough, and another key's is not. A get
    it coordinates is ``_reading`` (a reap waits for it: session 39), and a get it
    forwarded is neither. Mutants: ``and`` for either ``or``, ``!=`` for any
    ``==``."""
    def fresh() -> Node:
        node = Node("n1", make_config(5, n=3, r=2, w=2), MemoryStorage("always"), seed=1)
        node.start(0.0)
        return node

    probe = fresh()
    keys = [b"k%d" % i for i in range(200)]
    mine = [k for k in keys if "n1" in probe.preference_list(k)[:3]][:2]
    theirs = [k for k in keys if "n1" not in probe.preference_list(k)[:3]][:2]
    put = fresh()
    put.client_request(1.0, PutRequest(1, mine[0], b"v", b"", None, "c1"))
    assert put.puts.coordinations and put._busy(mine[0]) and not put._busy(mine[1])
    get = fresh()
    get.client_request(1.0, GetRequest(1, mine[0]))
    assert get.gets.coordinations and not get._busy(mine[0])
    assert get._reading(mine[0]) == frozenset(get.gets.coordinations)
    assert not get._reading(mine[1]) and not put._reading(mine[0])
    forwarded = fresh()
    forwarded.client_request(1.0, PutRequest(1, theirs[0], b"v", b"", None, "c1"))
    assert forwarded.forwarder.forwardings and not forwarded.puts.coordinations
    assert forwarded._busy(theirs[0]) and not forwarded._busy(theirs[1])
    reader = fresh()
    reader.client_request(1.0, GetRequest(1, theirs[0]))
    assert reader.forwarder.forwardings and not reader.gets.coordinations
    assert not reader._busy(theirs[0]) and not reader._reading(theirs[0])


def _restarted_single_node(**changes: object) -> tuple[Node, MemoryStorage]:
    """A one-node cluster (N = R = W = 1) that stored ``KEY`` and ``b"kept"``,
    restarted on its store (not fresh: its second start)."""
    storage = MemoryStorage("always")
    config = make_config(1, n=1, r=1, w=1, **changes)
    first = Node("n1", config, storage, seed=1)
    persist(storage, first.start(0.0))
    for i, key in enumerate((KEY, b"kept")):
        persist(storage, first.client_request(1.0, PutRequest(i, key, b"v", b"", None, "c1")))
    node = Node("n1", config, storage, seed=1, now=2.0)
    persist(storage, node.start(2.0))
    assert node.record(KEY) is not None and not node._fresh
    return node, storage


def test_a_store_set_aside_takes_the_count_above_the_start_heard_and_a_new_actor() -> None:
    """``_set_aside`` of a store that held data: every version but the ones taken
    since the round timed out goes, the ``incarnation`` entry is one above the
    count heard, the generation is that start's (its name, seed and time), the
    actor a new lifetime's (with key epochs), the time is noted, counted at each
    set-aside and logged word for word. Mutants: the count one more, the entry's
    name or value, the name or seed left out, the actor's seed or epochs, the
    count set to 1, the log line or its part for the keys kept."""
    node, _ = _restarted_single_node(actor_epochs=True)
    assert node.guard is not None
    node.guard.taken = {b"kept"}
    expected_actor = lifetime_actor(copy.deepcopy(node.storage), "n1", seed=1, now=5.0,
                                    epochs=True, per_start=True)
    node._set_aside(5.0, "9.ab")
    assert node.record(KEY) is None and node.record(b"kept") is not None
    assert node.storage.get_meta("incarnation") == b"10"
    assert node.storage.get_meta(STORE_RENEWED_META) == b"5"
    generation = start_generation(node.storage, "n1", 1, 5.0, 10)
    assert node.guard.generation == generation
    assert node.actor == expected_actor != "n1"
    assert node.stats["restore-set-aside"] == 1
    assert (f"5.000 store older than a start peers saw (9.ab): 1 keys and 0 hints set "
            f"aside, generation {generation}; 1 keys first written since the shadow round "
            "timed out kept") in node.log
    node.guard.taken = set()
    node._set_aside(6.0, "12.cd")
    assert node.stats["restore-set-aside"] == 2
    assert node.log[-2] == ("6.000 store older than a start peers saw (12.cd): 1 keys and "
                            f"0 hints set aside, generation {node.guard.generation}")
    assert node.guard.generation.startswith("13.")


def test_a_fresh_store_told_of_a_later_start_takes_the_count_above_it_only_once() -> None:
    """``_set_aside`` of a fresh store: the generation only (nothing to set aside),
    one above the count heard, for this node's name and seed, logged word for word;
    no longer fresh after it, so a second one sets aside what it wrote since.
    Mutants: the count one more, the entry's name or value, the name or seed left
    out, still fresh after it, the log line."""
    storage = MemoryStorage("always")
    node = Node("n1", make_config(1, n=1, r=1, w=1), storage, seed=1)
    assert node._fresh and node.guard is not None
    node._set_aside(5.0, "7.ab")
    assert node.storage.get_meta("incarnation") == b"8"
    generation = start_generation(node.storage, "n1", 1, 5.0, 8)
    assert node.guard.generation == generation
    assert node.stats["restore-fresh-renewed"] == 1
    assert node.log[-2] == (f"5.000 a new store told of a later start (7.ab): generation "
                            f"{generation}, nothing set aside")
    persist(storage, node._finish([]))
    persist(storage, node.client_request(6.0, PutRequest(1, KEY, b"v", b"", None, "c1")))
    node._set_aside(7.0, "9.ab")
    assert node.record(KEY) is None and node.stats["restore-set-aside"] == 1


def test_a_rebuild_begins_durably_counted_and_logged_and_ends_so() -> None:
    """``_begin_rebuild`` of a member's store with ranges: the ``rebuilding`` entry
    b"1", counted at each begin, logged word for word (``again``: a restart's, saying
    so; by default not); ``_rebuilt``: the entry emptied, counted at each end,
    logged. Mutants: the test inverted, the entry's value, the counts, the log lines
    or their parts, ``again`` true by default."""
    node = _node()
    node._begin_rebuild(3.0)
    pending = len(node.rebuild.pending)
    assert node.rebuilding and pending > 0
    assert node.storage.get_meta(REBUILDING_META) == b"1"
    assert node.log[-1] == ("3.000 rebuilding a replaced disk: its empty copies do not "
                            "count towards R until anti-entropy completed "
                            f"{pending} exchanges (range, replica)")
    node._begin_rebuild(4.0, again=True)
    assert node.stats["rebuilding"] == 2
    assert node.log[-1].startswith("4.000 rebuilding a replaced disk (restarted before it "
                                   "was rebuilt): its empty copies do not count")
    node._now = 5.0
    node._rebuilt()
    node._rebuilt()
    assert node.storage.get_meta(REBUILDING_META) == b""
    assert node.stats["rebuilt"] == 2
    assert node.log[-1] == ("5.000 rebuilt: anti-entropy completed an exchange with every "
                            "replica of every range since the disk was replaced")


def test_reap_checks_follow_a_merge_only_in_safe_mode_with_checks_on_of_a_checked_message(
        ) -> None:
    """``_reap_checks``: the keys a merge turned into tombstones get a check due at
    once, in key order, only with ``delete_mode = "safe"`` and ``reap_checks``, and
    only after the messages that carry a missed copy (a read repair, not a gossip);
    the keys noted are forgotten either way. Mutants: ``and`` for the first ``or``,
    either test inverted, the mode misspelt, the message's type not read."""
    repair = object.__new__(ReadRepair)
    node = _node()
    node._tombstoned = {KEY, b"apple"}
    assert node._reap_checks(1.0, repair) == [SetTimer(ReapCheck(b"apple"), 1.0),
                                             SetTimer(ReapCheck(KEY), 1.0)]
    assert node._tombstoned == set()
    node._tombstoned = {KEY}
    assert node._reap_checks(1.0, object.__new__(Gossip)) == []
    assert node._tombstoned == set()
    unchecked = Node("n1", make_config(3, n=3, r=2, w=3, reap_checks=False),
                     MemoryStorage("always"), seed=1)
    unchecked._tombstoned = {KEY}
    assert unchecked._reap_checks(1.0, repair) == []


def test_a_pinned_key_is_unpinned_by_a_let_go_and_by_a_reap_with_a_new_epoch() -> None:
    """``_unpin`` (a copy holding no counter of the key's actor went): the key's pin
    goes, the epoch counter stays; ``_renew_actor`` (a reap forgot the copy): the
    pin goes and the counter counts one up. Mutants: the actor or the key left out,
    ``held`` true or left out."""
    node = Node("n1", make_config(3, n=3, r=2, w=3, actor_epochs=True),
                MemoryStorage("always"), seed=1)
    _write_key_epochs(node.storage, node.actor, 0, {KEY: 0, b"other": 0})
    node._unpin(KEY)
    assert read_key_epochs(node.storage, node.actor) == (0, {b"other": 0})
    node._renew_actor(b"other")
    assert read_key_epochs(node.storage, node.actor) == (1, {})


@pytest.mark.parametrize("down", [("n1",), ("n1", "n2")])
def test_a_shadow_round_that_times_out_says_after_how_long_and_who_was_silent(
        down: tuple[str, ...]) -> None:
    """``_shadow_step`` at the round's timeout logs its length, the peers silent
    (comma-separated) and, only when none answered, that the store serves
    unconfirmed; then the inputs it replays. Mutants: the log line None, the length
    ``now + started``, the separator, the no-answer part always, never or inverted."""
    cluster = SimulatedCluster(nodes=3, n=3, r=2, w=2, seed=4, shadow_round_s=1.5)
    cluster.client().put(KEY, b"v1")
    cluster.run_until_quiet()
    for name in (*down, "n3"):
        cluster.crash(name)
    cluster.restart("n3")
    cluster.client().put(b"alone", b"a", w=1, coordinator="n3")
    (line,) = [line for line in cluster.node("n3").log if "shadow round timed out" in line]
    silent = ", ".join(down)
    part = ("; no peer answered: serving this store unconfirmed (a restored store is set "
            "aside only once a peer tells it)") if len(down) == 2 else ""
    said = (f"shadow round timed out after 1.500 s, no gossip from {silent}{part}; "
            "replaying ")
    assert re.fullmatch(re.escape(said) + r"\d+ deferred inputs", line.split(" ", 1)[1])


def test_a_rebuilding_nodes_copy_of_a_range_not_rebuilt_does_not_count_though_not_empty(
        ) -> None:
    """``_unrebuilt_copy``: while rebuilding, a copy holding a version of a key whose
    range is not rebuilt yet does not count either. Mutants: ``and`` for ``or`` (only
    an empty copy of such a range), the range of None (every key not rebuilt)."""
    storage = MemoryStorage("always")
    node = Node("n1", make_config(3, n=3, r=2, w=3), storage, seed=1)
    persist(storage, node.start(0.0))
    persist(storage, node.client_request(1.0, PutRequest(7, KEY, b"milk", b"", None, "c1")))
    record = node.record(KEY)
    assert record is not None and not record.is_empty
    assert not node._unrebuilt_copy(KEY, record)
    node._begin_rebuild(2.0)
    assert node._unrebuilt_copy(KEY, record)
    key_range = node.anti_entropy.trees.range_of(position_of(KEY))
    for pair in [pair for pair in node.rebuild.pending if pair[0] == key_range]:
        node.rebuild.synced(pair)
    assert node.rebuilding and not node._unrebuilt_copy(KEY, record)


def test_a_replayed_timer_frees_no_room_in_the_deferred_cap_and_a_request_one(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """``_shadow_step``: the cap counts the requests and messages still held; a
    replayed timer leaves the count as it was, a replayed request lowers it by one.
    Cap 3: a timer and three gets held; the timeout replays the timer (3 held), the
    next step the first get (2). Mutants: the timer's replay counted (``"fire"``
    misspelt), the count set to 1 or lowered by 2."""
    monkeypatch.setattr(impl.node, "SHADOW_DEFERRED_LIMIT", 3)
    cluster = SimulatedCluster(nodes=3, n=3, r=2, w=2, seed=4)
    cluster.client().put(KEY, b"v1")
    cluster.run_until_quiet()
    cluster.crash("n3")
    cluster.restart("n3")
    n3, now = cluster.node("n3"), cluster.now
    assert n3.fire(now, AntiEntropyRound()) == []
    for request_id in (1, 2, 3):
        assert n3.client_request(now, GetRequest(request_id, KEY, r=1)) == []
    later = now + cluster.config.shadow_round_s
    n3.fire(later, ShadowRound())
    assert n3.shadow is not None and n3.shadow.kept == 3
    n3.fire(later, ShadowRound())
    assert n3.shadow is not None and n3.shadow.kept == 2


# ---------------------------------------------------------------- session 32: more of
# ``impl/node.py`` under mutmut (docs/refinement.md, "Session 32: more of impl/node.py").


def test_a_force_removed_node_refuses_each_client_request_saying_why(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """``client_request`` at a node force-removed from the ring: refused with a
    ``NodeDownError`` of :data:`impl.node.REMOVED_MESSAGE` naming it, answered to the
    request's id, counted once per request, the node's time moved. Mutants: the
    count set to 1, counted down or by 2, under another name; the time not moved."""
    node = _node()
    monkeypatch.setattr(Gossiper, "removed", property(lambda self: True))
    for request_id, now in ((5, 1.5), (6, 2.5)):
        (reply,) = node.client_request(now, GetRequest(request_id, KEY))
        assert isinstance(reply, Reply) and reply.request_id == request_id
        assert isinstance(reply.error, NodeDownError)
        assert str(reply.error) == REMOVED_MESSAGE.format(node="n1")
        assert node.snapshot().now == now
    assert node.stats["removed-refused"] == 2
    assert not node.gets.coordinations


def test_a_client_request_moves_the_nodes_time() -> None:
    """``client_request`` sets the node's time to the request's arrival, also for a
    request it refuses. Mutant: the time set to None."""
    node = _node()
    node.client_request(4.5, GetRequest(1, KEY))
    assert node.snapshot().now == 4.5
    node.client_request(5.25, PutRequest(2, b"k" * (node.config.max_key_bytes + 1), b"v",
                                         client_id="c1"))
    assert node.snapshot().now == 5.25


@pytest.mark.parametrize("per_start", [True, False])
def test_the_op_id_base_covers_the_engines_storage_id(per_start: bool) -> None:
    """``_op_id_base`` hashes the engine's ``storage-id`` entry after the repr of the
    name, seed, time (and this start's actor, per start): two engines with other ids
    draw other bases, kept (``op-id-base``) only without ``per_start``. Mutants: the
    id's entry not read, ``and`` for ``or``."""
    bases = []
    for storage_id in (b"engine-a", b"engine-b"):
        storage = MemoryStorage("always")
        storage.set_meta(STORAGE_ID_META, storage_id)
        base = impl.node._op_id_base(storage, "n1", 7, 2.0, per_start=per_start,
                                     actor="n1.x")
        fields = ("n1", 7, 2.0, "n1.x") if per_start else ("n1", 7, 2.0)
        digest = hashlib.sha256(repr(fields).encode("utf-8") + storage_id).digest()
        mask = 0x7FFFFF if per_start else 0x3FFFFF
        assert base == int.from_bytes(digest[:3], "big") & mask
        kept = storage.get_meta(OP_ID_BASE_META)
        assert kept == (None if per_start else str(base).encode())
        bases.append(base)
    assert bases[0] != bases[1]


def test_the_op_id_base_is_kept_per_disk_with_no_actor_by_default() -> None:
    """``_op_id_base``'s defaults: no ``per_start`` (the base drawn once and kept in
    the meta table, read back at the next call whatever its time), and an empty actor
    when drawn per start. Mutants: ``per_start=True`` or an actor ``"XXXX"`` by
    default."""
    storage = MemoryStorage("always")
    first = impl.node._op_id_base(storage, "n1", 7, 2.0)
    kept = hashlib.sha256(repr(("n1", 7, 2.0)).encode("utf-8")).digest()  # no storage id
    assert first == int.from_bytes(kept[:3], "big") & 0x3FFFFF
    assert storage.get_meta(OP_ID_BASE_META) == str(first).encode()
    assert impl.node._op_id_base(storage, "n1", 7, 9.0) == first
    digest = hashlib.sha256(repr(("n1", 7, 2.0, "")).encode("utf-8")).digest()
    assert impl.node._op_id_base(MemoryStorage("always"), "n1", 7, 2.0, per_start=True) == (
        int.from_bytes(digest[:3], "big") & 0x7FFFFF)


def _first_timers(node: Node, now: float) -> list[Effect]:
    """What ``start`` sets first: each mechanism's first timers, drawn in order."""
    return [effect for mechanism in (node.gossiper, node.handoff, node.anti_entropy,
                                     node.replica)
            for effect in mechanism.first_timers(now, node.rng.uniform)]


def _asks(node: Node, peers: tuple[str, ...]) -> list[Effect]:
    assert node.guard is not None
    view = node.view.to_bytes()
    # (with the retired lifetime actors the node knows: its peers prune their dvv
    # entries from then on, session 33)
    retired = node.retired.to_gossip()
    return [node._stamp(Send(peer, Gossip(view, reply=True, retired=retired)), node.guard)
            for peer in peers]


def test_a_restarted_store_that_heard_of_peers_starts_its_timers_and_a_shadow_round() -> None:
    """``start`` of a store that heard of its peers: the mechanisms' first timers,
    then a gossip wanting a reply (stamped) to every other live member, then the
    round's timer ``shadow_round_s`` ahead; the round is counted once and logged word
    for word. Mutants: the first timers dropped (``=`` for ``+=``), the asks without
    a reply wanted, the timer ``now - shadow_round_s``, the count set to 1, counted
    by 2 or under another name, the log line None or its separator."""
    cluster = SimulatedCluster(nodes=3, n=3, r=2, w=2, seed=4, shadow_round_s=1.5)
    cluster.client().put(KEY, b"v1")
    cluster.run_until_quiet()
    cluster.crash("n3")
    engine = cluster.storages["n3"].inner
    now = cluster.now + 1.0
    twin = Node("n3", cluster.config, copy.deepcopy(engine), seed=9, now=now)
    node = Node("n3", cluster.config, copy.deepcopy(engine), seed=9, now=now)
    assert node.guard is not None and node.guard.heard and not node._fresh
    effects = node.start(now)
    assert effects == [*_first_timers(twin, now), *_asks(node, ("n1", "n2")),
                       SetTimer(ShadowRound(), now + 1.5)]
    assert all(e.message.reply for e in effects
               if isinstance(e, Send) and isinstance(e.message, Gossip))
    assert node.stats["shadow-round"] == 1
    assert node.shadow is not None and node.shadow.asked == ("n1", "n2")
    assert node.log[-1] == (f"{now:.3f} shadow round: asking n1, n2 what they heard of "
                            f"this store (generation {node.guard.generation}) before "
                            "serving, at most 1.5 s")


def test_a_fresh_store_announcing_itself_asks_each_peer_once_after_its_timers() -> None:
    """``start`` of a fresh store that announces (a replaced disk): its first timers,
    the announce (one gossip wanting a reply to each live peer, no second ask), the
    round's timer. Mutants: the timers replaced by the announce, the asks sent again
    (``if announce``)."""
    config = make_config(3, n=3, r=2, w=2, shadow_round_s=1.5)
    twin = Node("n3", config, MemoryStorage("always"), seed=9, now=5.0, announce=True)
    node = Node("n3", config, MemoryStorage("always"), seed=9, now=5.0, announce=True)
    assert node._fresh and node.guard is not None and not node.guard.heard
    effects = node.start(5.0)
    assert effects == [*_first_timers(twin, 5.0), *_asks(node, ("n1", "n2")),
                       SetTimer(ShadowRound(), 6.5)]
    assert node.stats["shadow-round"] == 1


def test_a_brand_new_store_not_announcing_starts_no_round() -> None:
    """``start`` of a brand-new cluster's store (fresh, ``announce=False``), or of any
    store without the restore guard: its first timers only, no round. Mutants:
    ``and`` for either ``or`` of the test (a round started with nothing heard and
    nothing announced; the guard's absence not enough alone)."""
    for guarded in (True, False):
        config = make_config(3, n=3, r=2, w=2, restore_guard=guarded)
        twin = Node("n3", config, MemoryStorage("always"), seed=9)
        node = Node("n3", config, MemoryStorage("always"), seed=9, announce=not guarded)
        assert node.start(0.0) == _first_timers(twin, 0.0)
        assert node.shadow is None and "shadow-round" not in node.stats


def test_only_a_batch_with_a_gossip_counts_the_nodes_own_heartbeat_up() -> None:
    """``_finish`` counts this node's heartbeat up (to the next multiple of
    :data:`HEARTBEAT_STRIDE`) for a batch that sends a gossip, not for one that does
    not (a put's replica writes). Mutant: ``gossip = True`` at the start (every batch
    counted)."""
    node = _node()
    generation = node.heartbeat[0]
    effects = node.client_request(1.0, PutRequest(1, KEY, b"v", b"", None, "c1"))
    assert any(isinstance(e, Send) for e in effects)
    assert node.heartbeat == (generation, 0)
    node.fire(2.0, GossipRound())
    assert node.heartbeat == (generation, HEARTBEAT_STRIDE)


def test_a_finished_input_leaves_no_generation_to_put_back_at_a_later_discard() -> None:
    """``_finish`` forgets the generation the input advanced from (its writes are
    staged: their failure is ``persist_failed``'s): a later discard of an input that
    advanced none puts nothing back. Mutant: ``""`` kept (the discard sets the
    generation to ``""``)."""
    node = _node()
    assert node.guard is not None
    node.client_request(1.0, GetRequest(1, KEY))
    before = node.guard.generation
    node._discard_writes()
    assert node.guard.generation == before


def _record_bytes(key: bytes) -> bytes:
    """The stored bytes of a put of ``key`` at a single node (N = R = W = 1)."""
    storage = MemoryStorage("always")
    writer = Node("n1", make_config(1, n=1, r=1, w=1), storage, seed=3)
    persist(storage, writer.start(0.0))
    persist(storage, writer.client_request(1.0, PutRequest(1, key, b"v", b"", None, "c1")))
    raw = storage.read(key)
    assert raw
    return raw


def test_a_rolled_back_peer_is_told_once_and_refused_all_but_gossip_each_time_counted(
        ) -> None:
    """``receive`` with the restore guard: a hint delivery whose generation is older
    than one heard of its sender (another start's, at that count or higher) is
    refused, counted and answered with a gossip wanting a reply (the view, stamped
    with this store's generation); every later message but a gossip from that
    sender is dropped silently and counted. Nothing is stored. Mutants: either
    count set to 1, counted down, by 2 or under another name; the rolled-back test
    inverted; the gossip's reply not wanted; its view or destination None."""
    node = _node()
    assert node.guard is not None
    node.guard.heard["n2"] = "5.aa"
    raw = _record_bytes(KEY)
    effects = node.receive(1.0, "n2", HintDelivery(1, KEY, raw, generation="4.bb"))
    (told,) = effects
    assert isinstance(told, Send) and told.dest == "n2" and isinstance(told.message, Gossip)
    assert told.message.reply and told.message.view == node.view.to_bytes()
    assert told.message.generation == node.guard.generation
    assert node.stats["rolled-back-peer-dropped"] == 1
    assert node.guard.rolled_back == {"n2"}
    for hint_id, now in ((2, 1.5), (3, 2.0)):
        assert node.receive(now, "n2", HintDelivery(hint_id, KEY, raw,
                                                    generation="6.cc")) == []
    assert node.stats["rolled-back-peer-dropped"] == 3
    node.guard.rolled_back.clear()  # (as a later start of n2 heard of would)
    (again,) = node.receive(2.5, "n2", HintDelivery(4, KEY, raw, generation="4.bb"))
    assert isinstance(again, Send) and again.dest == "n2"
    assert node.stats["rolled-back-peer-dropped"] == 4
    assert node.record(KEY) is None


def test_without_the_restore_guard_a_peers_message_is_handled_whatever_its_generation(
        ) -> None:
    """``receive`` without the restore guard checks no generation: a hint delivery is
    stored and acknowledged. Mutant: ``or`` for the guard's ``and`` (the rolled-back
    set of no guard read: an error)."""
    storage = MemoryStorage("always")
    node = Node("n1", make_config(3, n=3, r=2, w=3, restore_guard=False), storage, seed=1)
    node.start(0.0)
    raw = _record_bytes(KEY)
    effects = node.receive(1.0, "n2", HintDelivery(1, KEY, raw, generation="4.bb"))
    assert Send("n2", HintAck(1)) in effects
    persist(storage, effects)
    assert node.record(KEY) is not None


def test_a_force_removed_peers_message_is_refused_logged_and_its_gossip_answered(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """``receive`` from a peer force-removed from the ring (it came back): a message
    other than a gossip is refused, counted and logged naming it and its sender; its
    gossip wanting a reply is answered with this node's view, wanting none. Mutants:
    the removed test of None, the sender or the message not passed on."""
    node = _node()
    monkeypatch.setattr(Gossiper, "is_removed", lambda self, name: name == "n2")
    assert node.receive(1.0, "n2", HintAck(1)) == []
    assert node.stats["removed-peer-refused"] == 1
    assert node.log[-1] == ("1.000 refused HintAck from n2: it was force-removed from "
                            "the cluster")
    (answer,) = node.receive(2.0, "n2", Gossip(node.view.to_bytes(), reply=True))
    assert isinstance(answer, Send) and answer.dest == "n2"
    assert isinstance(answer.message, Gossip) and not answer.message.reply
    assert node.stats["removed-peer-refused"] == 2


def test_any_message_from_a_peer_clears_its_suspicion() -> None:
    """``receive``: a valid message from ``src`` tells the failure detector it is
    alive (the suspicion of it ends). Mutant: the detector told of None."""
    node = _node()
    node.set_suspected({"n2": math.inf, "n3": math.inf})
    assert node.suspects("n2") and node.suspects("n3")
    node.receive(1.0, "n2", HintAck(1))
    assert not node.suspects("n2") and node.suspects("n3")


class _UnreadableStorage(MemoryStorage):
    """A memory engine whose reads fail while ``failing`` is set (a dead disk)."""

    failing = False

    def read(self, key: bytes) -> bytes | None:
        if self.failing:
            raise StorageError("disk gone")
        return super().read(key)


def test_a_storage_error_handling_a_message_is_counted_and_logged_and_writes_nothing(
        ) -> None:
    """``receive``: the engine failing while a valid message is handled (a replica
    put's read of its key) acknowledges nothing, writes nothing, counts each failure
    and logs its message type and the error. Mutants: the count set to 1, counted
    down, by 2 or under another name; the log line None or of ``NoneType``."""
    storage = _UnreadableStorage("always")
    node = Node("n1", make_config(3, n=3, r=2, w=3), storage, seed=1)
    persist(storage, node.start(0.0))
    raw = _record_bytes(KEY)
    storage.failing = True
    for op_id, now in ((1, 1.0), (2, 2.0)):
        assert node.receive(now, "n2", ReplicaPut(op_id, KEY, raw)) == []
        assert node.log[-1] == f"{now:.3f} storage error handling ReplicaPut: disk gone"
        assert node.storage.take() == []
    assert node.stats["storage-error"] == 2


def test_an_internal_error_is_logged_with_the_error_itself(
        internal_errors: InternalErrors) -> None:
    """``receive``: an error of ours handling a valid message is logged with its repr
    and raised to the internal log with its traceback. Mutant: the error not passed
    on (``None`` logged)."""
    node = _node()
    boom = RuntimeError("boom")

    def broken(now: float, src: str, message: object) -> list[Effect]:
        raise boom
    node._messages[HintAck] = broken
    assert node.receive(1.0, "n2", HintAck(1)) == []
    assert node.log[-1] == "1.000 INTERNAL ERROR handling HintAck from 'n2': RuntimeError('boom')"
    (record,) = internal_errors.take()
    assert record.exc_info is not None and record.exc_info[1] is boom


def test_bad_peer_data_in_a_valid_message_is_dropped_naming_sender_and_message_type(
        ) -> None:
    """``receive``: bad data nested in a valid gossip (malformed beats) drops it,
    counted, the line naming the sender, the message's type, the error and what was
    bad. Mutants: the sender None, the type of None."""
    node = _node()
    bad = b'{"format":"vdynamo.beats.v2","beats":{"n3":[1,1,-1]}}'
    assert node.receive(1.0, "n2", Gossip(node.view.to_bytes(), beats=bad)) == []
    assert node.stats["dropped"] == 1
    line = node.log[-1]
    assert line.startswith("1.000 dropped message from 'n2': Gossip: ")
    assert "the heartbeat of 'n3'" in line and line.endswith(" (peer data: beats)")


def test_a_peer_message_in_a_shadow_round_is_deferred_up_to_the_cap_then_dropped(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """``receive`` during the shadow round: a peer's message (not a gossip) is kept as
    ``("receive", (src, message))`` for the replay; past the cap it is dropped, the
    first drop logged at its arrival. Mutants: the time, the method's name or the
    arguments not passed on (or misspelt)."""
    monkeypatch.setattr(impl.node, "SHADOW_DEFERRED_LIMIT", 1)
    node = Node("n3", make_config(3, n=3, r=2, w=2), MemoryStorage("always"), seed=9,
                announce=True)
    node.start(0.0)
    assert node.shadow is not None
    assert node.receive(1.0, "n2", HintAck(1)) == []
    assert node.receive(2.0, "n2", HintAck(2)) == []
    assert list(node.shadow.deferred) == [("receive", ("n2", HintAck(1)))]
    assert node.stats["shadow-round-dropped"] == 1
    assert node.log[-1] == ("2.000 shadow round: 1 inputs deferred already, dropping more "
                            "(shadow-round-dropped)")


# ---------------------------------------------------------------- session 33: the rest of
# impl/node.py (docs/refinement.md, "Session 33: the rest of impl/node.py")


def _live_and_tombstone(key: bytes) -> tuple[bytes, bytes]:
    """The stored bytes of a put of ``key`` at a single node (N = R = W = 1), then of
    its delete with that put's context (the tombstone superseding it)."""
    storage = MemoryStorage("always")
    writer = Node("n1", make_config(1, n=1, r=1, w=1), storage, seed=3)
    persist(storage, writer.start(0.0))
    persist(storage, writer.client_request(1.0, PutRequest(1, key, b"v", b"", None, "c1")))
    live = storage.read(key)
    (reply,) = [e for e in writer.client_request(2.0, GetRequest(2, key))
                if isinstance(e, Reply)]
    assert reply.result is not None
    persist(storage, writer.client_request(3.0, delete_request(3, key, reply.result.context)))
    tombstone = storage.read(key)
    assert live and tombstone and live != tombstone
    return live, tombstone


def test_a_read_repair_that_turns_a_copy_into_tombstones_is_checked_for_a_reap_once(
        ) -> None:
    """``receive`` of a read repair (a message that carries a missed copy): a merge
    that changed the local copy into tombstones only (``_note_merge``) is followed by
    a reap check of the key, due at once; a merge that stored a live value, or that
    changed nothing (the same tombstone again), is not. Mutants: ``_note_merge``'s
    ``or`` for ``and``, ``==`` for ``!=``, the key None; ``receive``'s checks left out
    (None), their time or message None or left out."""
    live, tombstone = _live_and_tombstone(KEY)
    storage = MemoryStorage("always")
    node = Node("n1", make_config(3, n=3, r=2, w=3), storage, seed=1)
    persist(storage, node.start(0.0))
    effects = node.receive(1.0, "n2", ReadRepair(KEY, live))
    assert not any(isinstance(e, SetTimer) for e in effects)
    persist(storage, effects)
    effects = node.receive(2.0, "n2", ReadRepair(KEY, tombstone))
    assert [e for e in effects if isinstance(e, SetTimer)] == [SetTimer(ReapCheck(KEY), 2.0)]
    persist(storage, effects)
    effects = node.receive(3.0, "n3", ReadRepair(KEY, tombstone))
    assert not any(isinstance(e, SetTimer) for e in effects)


@pytest.mark.parametrize("epochs", [True, False])
def test_a_stale_copy_of_a_forgotten_key_epoch_pins_the_key_only_with_actor_epochs(
        epochs: bool) -> None:
    """``_note_merge`` with ``actor_epochs`` (not lww): a merge bringing back a copy
    holding a counter of this lifetime's epoch below the node-wide counter (the copy
    was reaped here since) pins the key to the counter; without ``actor_epochs`` the
    key-epoch table is not written. Mutants: ``or`` for ``and``, ``is`` for ``is
    not`` (lww), the storage or the key None."""
    storage = MemoryStorage("always")
    node = Node("n1", make_config(3, n=3, r=2, w=1, actor_epochs=epochs), storage, seed=1)
    persist(storage, node.start(0.0))
    persist(storage, node.client_request(1.0, PutRequest(1, KEY, b"v", b"", None, "c1")))
    raw = storage.read(KEY)
    assert raw
    storage.delete(KEY)  # (as a reap: the copy and its counters gone)
    node._renew_actor(KEY)
    assert read_key_epochs(node.storage, node.actor) == (1, {})
    persist(storage, node.receive(2.0, "n2", ReplicaPut(2, KEY, raw)))
    assert node.record(KEY) is not None
    assert read_key_epochs(node.storage, node.actor) == ((1, {KEY: 1}) if epochs
                                                         else (1, {}))


def test_a_keys_actor_follows_its_own_pinned_epoch_not_another_keys() -> None:
    """``key_actor`` with ``actor_epochs``: a pinned key mints under its pinned epoch,
    a key neither pinned nor held under the node-wide counter. Mutant: the key not
    passed on (None: every key the counter's)."""
    node = Node("n1", make_config(3, actor_epochs=True), MemoryStorage("always"), seed=1)
    _write_key_epochs(node.storage, node.actor, 3, {KEY: 1})
    assert node.key_actor(KEY) == f"{node.actor}.1"
    assert node.key_actor(b"other") == f"{node.actor}.3"


def test_a_node_that_left_refuses_each_hint_delivered_counting_it(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """``_refuse_if_left``: a node that left the ring acknowledges no hint delivered
    to it (the fallback keeps it for the key's new owner) and counts each refusal;
    a member stores and acknowledges it. Mutants: the count set to 1, counted down,
    by 2 or under another name."""
    raw = _record_bytes(KEY)
    node = _node()
    assert Send("n2", HintAck(1)) in node.receive(1.0, "n2", HintDelivery(1, KEY, raw))
    monkeypatch.setattr(Node, "has_left", property(lambda self: True))
    for hint_id, now in ((2, 2.0), (3, 3.0)):
        assert node.receive(now, "n2", HintDelivery(hint_id, KEY, raw)) == []
    assert node.stats["hint-refused-left"] == 2


def test_firing_a_value_that_is_not_a_timer_says_what_it_got() -> None:
    """``fire`` of a value that is not a timer of :mod:`impl.timers` raises
    InvalidValueError naming it. Mutant: the message None."""
    with pytest.raises(InvalidValueError,
                       match=r"^timer: not a timer of impl\.timers, got 'tick'$"):
        _node().fire(1.0, "tick")  # type: ignore[arg-type]


def test_a_gossip_carries_the_receivers_last_generation_and_a_hint_this_stores() -> None:
    """``_stamp`` (through ``_finish``, with the restore guard): a gossip carries this
    store's generation and the last one heard of its receiver; a hint delivery (and
    the anti-entropy messages) this store's generation. Mutants: ``yours`` left out
    or of None (``""``); the hint's message None or its generation left out."""
    node = _node()
    assert node.guard is not None
    node.guard.heard["n2"] = "5.aa"
    raw = _record_bytes(KEY)
    gossip, hint = node._finish([Send("n2", Gossip(node.view.to_bytes(), reply=True)),
                                 Send("n3", HintDelivery(1, KEY, raw))])
    assert isinstance(gossip, Send) and isinstance(gossip.message, Gossip)
    assert gossip.message.yours == "5.aa"
    assert gossip.message.generation == node.guard.generation != ""
    assert isinstance(hint, Send) and hint.message == HintDelivery(
        1, KEY, raw, generation=node.guard.generation)


def test_a_gossip_telling_of_a_later_start_of_this_store_renews_it_and_says_so_to_all(
        ) -> None:
    """``_guard_gossip`` (``receive`` of a gossip, the restore guard on): a gossip
    whose ``yours`` is a later start of this store (another start's, at this count
    or higher) sets the store aside at that time, above that count, and the node
    gossips its new generation to the sender first, then to every other live peer,
    wanting no reply. Mutants: the set-aside's time, ``told`` None or left out, the
    renewal told to None."""
    storage = MemoryStorage("always")
    node = Node("n1", make_config(3, n=3, r=2, w=3), storage, seed=1)
    persist(storage, node.start(0.0))
    assert node.guard is not None and node._fresh
    effects = node.receive(5.0, "n2", Gossip(node.view.to_bytes(), reply=False,
                                             yours="5.ab"))
    persist(storage, effects)
    assert node.storage.get_meta(STORE_RENEWED_META) == b"5"
    assert node.storage.get_meta("incarnation") == b"6"
    assert node.guard.generation.startswith("6.")
    assert node.log[-2] == (f"5.000 a new store told of a later start (5.ab): "
                            f"generation {node.guard.generation}, nothing set aside")
    gossips = [e for e in effects if isinstance(e, Send) and isinstance(e.message, Gossip)]
    assert [e.dest for e in gossips][:2] == ["n2", "n3"]
    assert not gossips[0].message.reply
    assert gossips[0].message.generation == node.guard.generation


def test_a_gossip_from_a_rolled_back_peer_is_answered_with_the_view_wanting_no_reply(
        ) -> None:
    """``_guard_gossip``: a gossip whose generation is older than one heard of its
    sender (another start's, at a lower count: a restored store) marks the sender
    rolled back and is answered with this node's view, to the sender, wanting no
    reply. Mutants: the answer to None, its message None, the destination left
    out."""
    node = _node()
    assert node.guard is not None
    node.guard.heard["n2"] = "5.aa"
    effects = node.receive(1.0, "n2", Gossip(node.view.to_bytes(), reply=False,
                                             generation="4.bb"))
    assert node.guard.rolled_back == {"n2"}
    (answer,) = [e for e in effects if isinstance(e, Send)]
    assert answer.dest == "n2" and isinstance(answer.message, Gossip)
    assert answer.message.view == node.view.to_bytes() and not answer.message.reply


def test_writes_after_a_timed_out_round_are_tracked_up_to_the_limit_then_counted(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """``_guard_write`` (the guard's write listener): while a peer asked in a timed-out
    shadow round has not gossiped, each key first written is tracked (taken if the
    engine did not hold it); past :data:`impl.restore_guard.TRACKED_KEYS_LIMIT` a
    write is not tracked and is counted ``restore-untracked-write``, once per write of
    an untracked key; a key tracked already, or any key once every peer gossiped,
    counts nothing. Mutants: ``or`` for either ``and``, the touched test inverted, the
    tracking's result not negated, the key, the record or the held flag None or the
    held test inverted; the count set to 1, counted down, by 2 or under another
    name."""
    monkeypatch.setattr(impl.restore_guard, "TRACKED_KEYS_LIMIT", 2)
    storage = MemoryStorage("always")
    node = Node("n1", make_config(3, n=3, r=2, w=3), storage, seed=1)
    assert node.guard is not None
    storage.write(b"held", b"x")
    node.guard.unconfirmed = {"n3"}
    for key in (b"new", b"held", b"third", b"fourth", b"new", b"fifth"):
        node._guard_write(key, b"y")
    assert node.guard.touched == {b"new", b"held"} and node.guard.taken == {b"new"}
    assert node.stats["restore-untracked-write"] == 3
    node.guard.unconfirmed = set()
    node._guard_write(b"sixth", b"y")
    assert node.stats["restore-untracked-write"] == 3


def _rebuilding_node_holding(key: bytes) -> Node:
    """n1 of three (N = 3, R = 2) holding a put of ``key``, then rebuilding (a
    replaced disk's state: no range rebuilt yet)."""
    storage = MemoryStorage("always")
    node = Node("n1", make_config(3, n=3, r=2, w=3), storage, seed=1)
    persist(storage, node.start(0.0))
    persist(storage, node.client_request(1.0, PutRequest(7, key, b"milk", b"", None, "c1")))
    node._begin_rebuild(2.0)
    persist(storage, node.storage.take())
    assert node.rebuilding and node.record(key) is not None
    return node


def _rebuild_range_of(node: Node, key: bytes) -> None:
    """Complete every exchange of ``key``'s range (as anti-entropy would)."""
    key_range = node.anti_entropy.trees.range_of(position_of(key))
    for pair_range, peer in sorted(p for p in node.rebuild.pending if p[0] == key_range):
        node._rebuild_synced(pair_range, peer)


def test_a_rebuilding_coordinators_own_copy_not_rebuilt_is_not_counted_each_time_counted(
        ) -> None:
    """``_uncounted_read`` (the get coordinator's ``uncounted_read``): while rebuilding,
    this node's own copy of a key whose range is not rebuilt does not count towards
    R, counted ``rebuild-uncounted-read`` at each read; once its range is rebuilt it
    still does not count while other ranges are left (session 57: the spec's mark,
    until ``Rebuilt``), counted; once the whole rebuild ended it counts, nothing
    counted. Mutants: the key or the record None or left out, the answers swapped, the
    count set to 1, counted down, by 2 or under another name; session 57's: the rule
    before it (a rebuilt range's copy counted at once: ``_acks_uncounted`` replaced by
    the grace alone, ``now < _silent_until``) fails at the third read."""
    node = _rebuilding_node_holding(KEY)
    own = node.record(KEY)
    assert own is not None
    assert node._uncounted_read(KEY, own, 3.0)
    node.client_request(3.0, GetRequest(8, KEY))  # (the coordinator asks it too)
    assert node.stats["rebuild-uncounted-read"] == 2
    _rebuild_range_of(node, KEY)
    assert node.rebuilding  # (other ranges left)
    assert node._uncounted_read(KEY, own, 3.0)
    assert node.stats["rebuild-uncounted-read"] == 3
    for pair_range, peer in sorted(node.rebuild.pending):
        node._rebuild_synced(pair_range, peer)
    assert not node.rebuilding
    assert not node._uncounted_read(KEY, own, 3.0)
    assert node.stats["rebuild-uncounted-read"] == 3


def test_a_rebuild_ends_once_each_pair_of_each_range_synced() -> None:
    """``_rebuild_synced`` (anti-entropy's ``synced`` listener): an exchange of a
    (range, replica) pair completes it; the last one ends the rebuild, counted.
    Mutant: the pair not passed on (None: never done)."""
    node = _rebuilding_node_holding(KEY)
    for pair_range, peer in sorted(node.rebuild.pending):
        assert node.rebuilding
        node._rebuild_synced(pair_range, peer)
    assert not node.rebuilding and node.stats["rebuilt"] == 1


def test_a_rebuilding_replica_is_silent_to_a_read_of_a_range_not_rebuilt_only(
        ) -> None:
    """``_silent_if_rebuilding`` (the ``ReplicaGet`` handler): while rebuilding, a
    replica read of a key whose range is not rebuilt gets no answer, counted
    ``rebuild-silent-get`` each time; once the range is rebuilt the copy held is
    answered, to the sender, for that read. Mutants: ``or`` for the second ``and``
    (silent to every read while rebuilding), the key or the record None or left
    out, the count set to 1, counted down, by 2 or under another name; the handler
    given no time, sender or message."""
    node = _rebuilding_node_holding(KEY)
    for op_id, now in ((1, 3.0), (2, 4.0)):
        assert node.receive(now, "n2", ReplicaGet(op_id, KEY)) == []
    assert node.stats["rebuild-silent-get"] == 2
    _rebuild_range_of(node, KEY)
    (answer,) = node.receive(5.0, "n2", ReplicaGet(3, KEY))
    assert isinstance(answer, Send) and answer.dest == "n2"
    assert isinstance(answer.message, ReplicaGetReply) and answer.message.op_id == 3
    assert answer.message.record == node.storage.read(KEY)
    assert node.stats["rebuild-silent-get"] == 2


def test_a_gossip_of_a_start_not_heard_before_is_answered_once_wanting_no_reply() -> None:
    """``receive`` of a gossip with the restore guard: a gossip wanting a reply from a
    start of its sender not heard before is answered with this node's view, wanting
    none, even when the views agree (the sender's shadow round waits for it); the
    next gossip of that start, a gossip with no generation, and a new start's gossip
    wanting no reply are not answered; a gossip naming this store's own start as the
    last heard of it sets nothing aside. Mutants: ``or`` for either ``and`` of ``new``
    or of the answer's test, the start heard of ``None``, the answer's view left out
    or its reply wanted; ``_guard_gossip``'s ``or`` for ``and`` (any ``yours`` sets
    the store aside)."""
    node = _node()
    assert node.guard is not None
    view = node.view.to_bytes()

    def sends(now: float, src: str, message: Gossip) -> list[Send]:
        return [e for e in node.receive(now, src, message) if isinstance(e, Send)]
    (answer,) = sends(1.0, "n2", Gossip(view, reply=True, generation="3.aa"))
    assert answer.dest == "n2"
    assert isinstance(answer.message, Gossip) and not answer.message.reply
    assert answer.message.view == view
    assert node.guard.yours("n2") == "3.aa"
    assert sends(2.0, "n2", Gossip(view, reply=True, generation="4.aa")) == []
    assert sends(3.0, "n2", Gossip(view, reply=True)) == []
    assert sends(4.0, "n3", Gossip(view, reply=False, generation="2.bb")) == []
    own = node.guard.generation  # (a gossip naming this very start: nothing set aside)
    assert sends(5.0, "n3", Gossip(view, reply=False, generation="2.bb", yours=own)) == []
    assert node.guard.generation == own and "restore-fresh-renewed" not in node.stats


@pytest.mark.parametrize(("dest", "answered"), [("n2", False), ("n3", True)])
def test_a_new_start_is_answered_unless_the_handler_gossiped_to_it_already(
        dest: str, answered: bool) -> None:
    """``receive``: the answer to a new start is added only if the gossip handler's
    effects hold no gossip to the sender; a gossip to another node, or a message to
    another node, does not count. Mutants: ``or`` for either ``and`` of the test of
    an effect, ``!=`` for ``==``, the effects of the test None."""
    node = _node()
    view = node.view.to_bytes()
    handled = [Send(dest, Gossip(view, reply=False)), Send("n3", HintAck(1))]
    node._messages[Gossip] = lambda now, src, message: list(handled)
    effects = node.receive(1.0, "n2", Gossip(view, reply=True, generation="3.aa"))
    sends = [(e.dest, type(e.message)) for e in effects if isinstance(e, Send)]
    assert sends == [(dest, Gossip), ("n3", HintAck), *([("n2", Gossip)] if answered else [])]


def test_a_guarded_gossip_raises_the_floor_and_confirms_its_sender() -> None:
    """``receive`` of a gossip with the restore guard (client-vclock): the gossiped
    floor is taken, and the sender, silent since a timed-out shadow round, is
    confirmed (the keys tracked since are forgotten once every such peer gossiped),
    by a gossip naming this start (since session 36: one naming none, sent before
    the sender heard of it, confirms nothing). Mutants: the floor of None, the
    sender confirmed None."""
    config = make_config(3, n=3, r=2, w=2, clock="client-vclock")
    node = Node("n1", config, MemoryStorage("always"), seed=1)
    node.start(0.0)
    assert node.guard is not None
    node.guard.unconfirmed = {"n2"}
    node.guard.touched = {KEY}
    node.receive(1.0, "n2", Gossip(node.view.to_bytes(), reply=False, floor=9))
    assert node.replica.client_floor == 9
    assert node.guard.unconfirmed == {"n2"} and node.guard.touched == {KEY}
    assert node.stats["shadow-stale-gossip"] == 1
    node.receive(1.0, "n2", Gossip(node.view.to_bytes(), reply=False, floor=9,
                                   yours=node.guard.generation))
    assert node.guard.unconfirmed == set() and node.guard.touched == set()


def test_a_forwarded_get_is_coordinated_at_the_time_it_arrives() -> None:
    """``receive`` (not a gossip): the handler gets the message's time: a forwarded
    get's replica reads time out ``replica_timeout`` after its arrival. Mutant: the
    handler given None for the time."""
    node = _node()
    effects = node.receive(1.5, "n2", Forward(5, GetRequest(9, KEY)))
    deadlines = [e.at for e in effects if isinstance(e, SetTimer)]
    assert deadlines == [1.5 + node.config.replica_timeout]


def _store_that_left(key: bytes) -> MemoryStorage:
    """n1's store (three nodes) holding a record of ``key``, its persisted view saying
    it left the ring, settled (a node restarted after ``vdynamo leave``)."""
    storage = MemoryStorage("always")
    node = Node("n1", make_config(3, n=3, r=2, w=2), storage, seed=1)
    persist(storage, node.start(0.0))
    storage.write(key, _record_bytes(key))
    left = node.view.announce("n1", status=membership.MemberStatus.LEFT, settled=True)
    storage.set_meta("membership", left.to_bytes())
    return storage


def test_a_restart_of_a_node_that_left_stays_left_unless_asked_to_rejoin() -> None:
    """``Node(rejoin=False)`` (the default) on the store of a node that left: it stays
    left, its store kept; ``rejoin=True``: the store is cleared
    (:func:`impl.gossip.retire_if_left`) and it joins again (``rejoining``). Mutants: ``rejoin``
    true by default, ``or`` for its ``and``, the store or the name not passed on."""
    config = make_config(3, n=3, r=2, w=2)
    stays = Node("n1", config, _store_that_left(KEY), seed=2, now=5.0)
    assert stays.has_left and not stays.rejoining and stays.record(KEY) is not None
    joins = Node("n1", config, _store_that_left(KEY), seed=2, now=5.0, rejoin=True)
    assert joins.rejoining and joins.record(KEY) is None


def test_only_a_new_store_asked_to_rejoin_learns_from_the_seeds_whether_it_left() -> None:
    """``Node(rejoin=True)`` on a store with no membership view (its data file deleted
    after it left) joins again if the seeds' view says it left (the gossiper's
    ``rejoin_if_left``); not on a store that holds a view, nor without ``rejoin``.
    Mutants: ``fresh`` None, ``or`` for its ``and``, the view's test inverted, the
    meta entry's name None or misspelt."""
    config = make_config(3, n=3, r=2, w=2)
    held = MemoryStorage("always")
    held.set_meta("membership", Node("n1", config, held, seed=1).view.to_bytes())
    assert Node("n1", config, MemoryStorage("always"), seed=2,
                rejoin=True).gossiper.rejoin_if_left
    assert not Node("n1", config, MemoryStorage("always"), seed=2).gossiper.rejoin_if_left
    assert not Node("n1", config, held, seed=2, rejoin=True).gossiper.rejoin_if_left


@pytest.mark.parametrize("per_start", [True, False])
def test_the_lifetime_actor_is_new_at_each_start_only_with_actor_per_start(
        per_start: bool) -> None:
    """``Node`` takes a new lifetime actor at each start of its store with
    ``actor_per_start`` (the default; kv679: a restored backup), the same one at
    every start without. Mutants: ``per_start`` None or left out."""
    config = make_config(3, actor_per_start=per_start)
    storage = MemoryStorage("always")
    first = Node("n1", config, storage, seed=1, now=1.0).actor
    second = Node("n1", config, storage, seed=1, now=2.0).actor
    assert (first != second) is per_start


def test_a_restarted_empty_store_is_not_fresh_and_a_start_has_its_own_generation(
        ) -> None:
    """``Node``: a first start of an empty store is fresh, and so is a later start
    of it while it holds nothing and no peer named a start of it (session 52,
    :data:`impl.restore_guard.FRESH_UNCONFIRMED_META`: its generation counts 1, its
    token of this start's count); once a peer named one, a restarted store holding
    nothing is not (an earlier start was heard of). A start's generation is of its
    name, seed, time and count (:func:`impl.restore_guard.start_generation`). A
    brand-new cluster's store (``announce`` False) writes no marker: its restart is
    not fresh. Mutants: ``or`` for the first ``and`` of ``_fresh``, the generation's
    name or seed None, the count not 1 while unconfirmed, the marker kept when a
    peer named the start, the marker written without ``announce``."""
    config = make_config(3, n=3, r=2, w=2)
    brand_new = MemoryStorage("always")  # a brand-new cluster's store: no marker
    assert Node("n1", config, brand_new, seed=4, now=3.0)._fresh
    assert not Node("n1", config, brand_new, seed=5, now=6.0)._fresh
    storage = MemoryStorage("always")
    first = Node("n1", config, storage, seed=4, now=3.0, announce=True)
    assert first._fresh and first.guard is not None
    own = MemoryStorage()  # (a marked store's generations begin with its own token:
    own.set_meta(OWN_TOKEN_META, storage.get_meta(OWN_TOKEN_META) or b"")  # session 53)
    assert first.guard.generation == start_generation(own, "n1", 4, 3.0, 1)
    second = Node("n1", config, storage, seed=5, now=6.0, announce=True)
    assert second._fresh and len(storage) == 0 and second.guard is not None
    assert second.guard.generation == start_generation(own, "n1", 5, 6.0, 2, count=1)
    for at, peer in ((7.0, "n2"), (7.1, "n3")):  # every live peer heard this start
        persist(storage, second.receive(at, peer, Gossip(
            second.gossiper.view.to_bytes(), reply=False, generation="1.00000000000000aa",
            yours=second.guard.generation)))
    third = Node("n1", config, storage, seed=6, now=8.0, announce=True)
    assert not third._fresh and len(storage) == 0
    assert third.guard is not None
    assert third.guard.generation == start_generation(own, "n1", 6, 8.0, 3)


def test_with_the_guard_and_no_actor_epochs_the_start_count_is_durable_at_once() -> None:
    """``Node`` with the restore guard and without actor epochs flushes the store's
    start count (``incarnation``) before any peer can hear this start's generation:
    a crash right after keeps it. Mutant: the flush only with actor epochs (which
    flush the count with the actor themselves)."""
    storage = MemoryStorage("buffered")
    Node("n1", make_config(3, actor_epochs=False), storage, seed=1)
    storage.crash()
    assert storage.get_meta("incarnation") == b"1"


def test_the_nodes_hint_store_counts_a_duplicate_hint_in_the_nodes_stats() -> None:
    """``Node`` gives its hint store the node's counters: a hint kept twice is counted
    ``duplicate-hints`` there. Mutant: the hint store's counters None."""
    node = _node()
    raw = _record_bytes(KEY)
    node.hints.add("n2", KEY, raw)
    node.hints.add("n2", KEY, raw)
    assert node.stats["duplicate-hints"] == 1


def test_the_node_wires_its_mechanisms_to_its_own_state_and_to_each_other() -> None:
    """``Node.__init__``'s wiring (session 9's test of it, continued): the mechanisms
    share the node's name, counters, replica and hint store; the quorum reads the
    gossiper's rings and removals, and the handoff asks it; the reaper mints,
    renews, unpins and advances through the node, asks its members, its busy and
    replica tests, and delivers the hints it names (only those) through the
    handoff, at its time; a let-go and a change go
    through the reaper; the gossiper asks the put coordinator which keys it
    coordinates; the replica's clock is the node's time; a ``ReapCheck`` fires the
    node's reap check. Mutants: each of these arguments or assignments None, left
    out or replaced by a constant."""
    storage = MemoryStorage("always")
    node = Node("n1", make_config(3, n=3, r=2, w=3), storage, seed=1)
    persist(storage, node.start(0.0))
    assert node.handoff.name == node.read_repair.name == node.reaper.name == "n1"
    assert node.replica.hints is node.hints is node.reaper.hints is node.puts.hints
    assert node.replica.stats is node.stats is node.puts.stats
    assert node.reaper.replica is node.replica and node.gets.reaper is node.reaper
    assert node.replica._known == node.gossiper.known
    assert node.forwarder.mode is node.mode
    assert node.replica.kept_bounds == kept_record_bounds(MemoryStorage(), node.config, 0)
    ring = node.gossiper.partitioning
    node.gossiper.previous = node.gossiper.future = ring
    assert node.quorum._previous() is ring and node.quorum._future() is ring
    assert node.quorum._removed == node.gossiper.removal_handed_over
    assert node.handoff.quorum is node.quorum
    assert node.reaper.actor == node.key_actor
    assert node.reaper.renew_actor == node._renew_actor
    assert node.reaper.unpin == node._unpin
    assert node.reaper.advance == node._advance_generation
    assert node.reaper.members == node._members and node.reaper.busy == node._busy
    assert node.reaper.replicates == node._replicates
    assert node.reaper.changing == node.gossiper.changing
    assert node.handoff.let_go == node.reaper.let_go
    assert node.gossiper.after_change == node.reaper.after_change
    raw = _record_bytes(KEY)
    node.hints.add("n2", KEY, raw)
    node.hints.add("n3", b"other", _record_bytes(b"other"))
    persist(storage, node.storage.take())
    hint = next(h for h in storage.hints() if h.key == KEY)
    assert node.reaper.deliver_hints(3.0, frozenset({hint.hint_id})) == [
        Send("n2", HintDelivery(hint.hint_id, KEY, raw))]
    assert node.handoff.in_flight == {hint.hint_id: 3.0}
    assert not node.gossiper.coordinating(KEY)
    node.client_request(7.0, PutRequest(1, KEY, b"v", b"", None, "c1"))
    assert node.gossiper.coordinating(KEY) and not node.gossiper.coordinating(b"other")
    assert node.replica.clock() == 7.0
    node.fire(8.0, ReapCheck(b"checked"))  # (the node's own timer: its reap check)
    assert node.stats["reap-checks"] == 1


@pytest.mark.parametrize("guarded", [True, False])
def test_a_store_restarted_before_it_was_rebuilt_rebuilds_again_with_the_guard_only(
        guarded: bool) -> None:
    """``Node`` on a store whose ``rebuilding`` entry is set (restarted mid-rebuild):
    with the restore guard it is rebuilding again at once, logged at its start time
    as a restart's rebuild; without the guard (no rebuild there) it is not. Mutants:
    ``or`` for the ``and``, the guard's test inverted, the entry's name None, the
    time None or left out, ``again`` None, false or left out."""
    config = make_config(3, n=3, r=2, w=2, restore_guard=guarded)
    storage = MemoryStorage("always")
    persist(storage, Node("n1", config, storage, seed=1).start(0.0))
    storage.set_meta(REBUILDING_META, b"1")
    node = Node("n1", config, storage, seed=2, now=4.0)
    assert node.rebuilding is guarded
    if guarded:
        assert node.log[-1].startswith("4.000 rebuilding a replaced disk (restarted before "
                                       "it was rebuilt): ")
