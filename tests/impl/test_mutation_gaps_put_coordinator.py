"""impl.put_coordinator: the behaviours mutmut found no test for (docs/refinement.md,
"Mutation score")."""

from __future__ import annotations

import dataclasses
import math

import pytest

from impl.context import decode_context, encode_context_pairs
from impl.effects import CancelTimer, Effect, GetResult, PutResult, Reply, Send, SetTimer
from impl.errors import (
    BadMessageError,
    BadRequestError,
    ErrorCode,
    QuorumError,
    StorageError,
    TooLargeError,
)
from impl.forwarding import ReplyTo
from impl.messages import (
    Forward,
    ForwardClaim,
    ForwardGrant,
    ForwardReply,
    PutRequest,
    ReplicaPut,
    ReplicaPutAck,
)
from impl.node import Node
from impl.put_coordinator import (
    MAX_REMINTS,
    PutCoordination,
    ack_counts,
    put_quorum_reached,
    sends_error,
)
from impl.records import Record, decode_record, encode_record
from impl.staging import persist
from impl.storage.memory import MemoryStorage
from impl.timers import PutTimeout, ReapTombstone
from impl.versions import (
    ACTOR_META,
    MAX_COUNTER,
    TOMBSTONE,
    ClockMode,
    Sibling,
    apply_put,
    context_clock,
    note_key_merge,
    renew_key_actor,
    sibling_count,
)
from spec import dvv
from spec.vclock import VClock, client_entry
from tests.impl.test_node_driver import Driver, make_config

KEY = b"cart"


def _node() -> Node:
    node = Node("n1", make_config(3, n=3, r=2, w=3), MemoryStorage("always"), seed=1)
    node.start(0.0)
    return node


def _put_timeouts(effects: list[object]) -> list[PutTimeout]:
    return [e.timer for e in effects
            if isinstance(e, CancelTimer) and isinstance(e.timer, PutTimeout)]


def test_a_failed_persist_fails_the_put_and_cancels_its_timer() -> None:
    node = _node()
    node.client_request(1.0, PutRequest(7, KEY, b"milk", b"", None, "c1"))
    (op_id,) = node.puts.coordinations
    effects = node.persist_failed(1.0, StorageError("disk full"))
    replies = [e for e in effects if isinstance(e, Reply)]
    # W = 3 of N = 3 cannot be met without n1's own copy: failed at once (session 50;
    # before, the StorageError itself)
    assert [(r.request_id, type(r.error)) for r in replies] == [(7, QuorumError)]
    assert isinstance(replies[0].error, QuorumError) and replies[0].error.replicas_failed
    assert "n1 (this node's own write): disk full" in str(replies[0].error)
    assert _put_timeouts(effects) == [PutTimeout(op_id)]
    assert node.puts.coordinations == {}


def _forwarded_put(node: Node, now: float) -> None:
    """n2 forwards op 41, a put, to ``node``, which claims it and is granted it."""
    (claim,) = node.receive(now, "n2", Forward(41, PutRequest(7, KEY, b"milk", b"", None,
                                                              "c1")))
    assert isinstance(claim, Send) and isinstance(claim.message, ForwardClaim)
    assert (claim.dest, claim.message.op_id) == ("n2", 41)
    node.receive(now, "n2", ForwardGrant(41, claim.message.claim_id, granted=True))


def test_a_failed_persist_answers_a_forwarded_put_as_a_put() -> None:
    node = _node()
    _forwarded_put(node, 1.0)
    effects = node.persist_failed(1.0, StorageError("disk full"))
    sends = [e for e in effects if isinstance(e, Send)]
    assert len(sends) == 1 and sends[0].dest == "n2"
    reply = sends[0].message
    assert isinstance(reply, ForwardReply)
    # (the replicas-failed code since session 51: its origin answers 503, as here)
    assert (reply.op_id, reply.kind, reply.error) == (41, "put",
                                                      ErrorCode.QUORUM_REPLICAS_FAILED.value)
    assert len(_put_timeouts(effects)) == 1


def _hinted_sends(effects: list[object]) -> list[tuple[str, str]]:
    return [(e.dest, e.message.hint) for e in effects
            if isinstance(e, Send) and isinstance(e.message, ReplicaPut)]


def test_a_timer_naming_one_target_resends_its_part_to_the_next_reachable_fallback() -> None:
    """``PutTimeout(op_id, target)`` (a driver names the target): give up on the node
    that target's write went to and send it to the next fallback that is not
    suspected, hinted; never back to the target itself, even when it is no longer
    suspected."""
    node = Node("n1", make_config(5, n=3, r=2, w=3), MemoryStorage("always"), seed=1)
    node.start(0.0)
    key = b"k3"  # targets n1, n2, n3; fallbacks n4, n5
    assert node.quorum.split(key) == (("n1", "n2", "n3"), ("n4", "n5"))
    node.client_request(0.0, PutRequest(7, key, b"milk", b"", None, "c1"))
    (op_id,) = node.puts.coordinations
    node.set_suspected({"n4": math.inf})
    assert _hinted_sends(node.fire(0.3, PutTimeout(op_id, "n2"))) == [("n5", "n2")]
    assert node.suspects("n2")
    node.set_suspected({})
    assert _hinted_sends(node.fire(0.4, PutTimeout(op_id, "n2"))) == [("n4", "n2")]
    assert node.suspects("n5")
    assert node.puts.coordinations[op_id].sent_to["n2"] == "n4"


def test_the_timer_resends_each_silent_targets_part_to_a_reachable_fallback() -> None:
    node = Node("n1", make_config(5, n=3, r=2, w=3), MemoryStorage("always"), seed=1)
    node.start(0.0)
    node.client_request(0.0, PutRequest(7, b"k3", b"milk", b"", None, "c1"))
    (op_id,) = node.puts.coordinations
    node.set_suspected({"n4": math.inf})
    # n2's part to n5 (n4 suspected); none left for n3's: n3 again, unhinted
    assert _hinted_sends(node.fire(0.3, PutTimeout(op_id))) == [("n5", "n2"), ("n3", "")]


def test_a_forwarded_put_short_of_w_at_its_deadline_is_answered_as_a_put() -> None:
    node = _node()
    _forwarded_put(node, 0.0)
    (op_id,) = node.puts.coordinations
    (send,) = [e for e in node.fire(1.0, PutTimeout(op_id)) if isinstance(e, Send)]
    reply = send.message
    assert send.dest == "n2" and isinstance(reply, ForwardReply)
    assert (reply.op_id, reply.kind, reply.error, reply.message) == (
        41, "put", ErrorCode.QUORUM.value,
        "put reached 1 of W=3 replicas before the timeout (no acknowledgement from n2, n3)")


def test_the_periodic_timer_never_resends_to_a_target_no_longer_suspected() -> None:
    """Once a target's part went to a fallback, the next round gives up on that
    fallback and takes the next one, even if the target is reachable again."""
    node = Node("n1", make_config(5, n=3, r=2, w=3), MemoryStorage("always"), seed=1)
    node.start(0.0)
    node.client_request(0.0, PutRequest(7, b"k3", b"milk", b"", None, "c1"))
    (op_id,) = node.puts.coordinations
    node.receive(0.1, "n3", ReplicaPutAck(op_id, b"k3"))
    assert _hinted_sends(node.fire(0.3, PutTimeout(op_id))) == [("n4", "n2")]
    node.set_suspected({})
    assert _hinted_sends(node.fire(0.6, PutTimeout(op_id))) == [("n5", "n2")]


def _rearmed(effects: list[object]) -> list[tuple[PutTimeout, float]]:
    return [(e.timer, e.at) for e in effects
            if isinstance(e, SetTimer) and isinstance(e.timer, PutTimeout)]


def test_the_periodic_timer_is_rearmed_a_replica_timeout_later_or_at_the_deadline() -> None:
    """Never in the past, never at the time it fired: a timer re-armed at ``now``
    would fire again at once, for ever (a driver fires every due timer)."""
    node = _node()
    node.client_request(0.0, PutRequest(7, KEY, b"milk", b"", None, "c1"))
    (op_id,) = node.puts.coordinations
    assert _rearmed(node.fire(0.25, PutTimeout(op_id))) == [(PutTimeout(op_id), 0.55)]
    assert _rearmed(node.fire(0.8, PutTimeout(op_id))) == [(PutTimeout(op_id), 1.0)]
    effects = node.fire(1.0, PutTimeout(op_id))  # at the deadline exactly: the put fails
    assert _rearmed(effects) == []
    assert [type(e.error) for e in effects if isinstance(e, Reply)] == [QuorumError]
    assert node.puts.coordinations == {}


def _coordination(**fields: object) -> PutCoordination:
    coordination = PutCoordination(1, KEY, b"", b"", 2, ("a", "b", "c"), ("d", "e"),
                                   ReplyTo(7), 10.0)
    for name, value in fields.items():
        setattr(coordination, name, value)
    return coordination


def test_an_ack_without_a_hint_counts_only_for_a_target_it_was_sent_to() -> None:
    coordination = _coordination(used={"a", "d"}, hints_sent={"d": "b"})
    assert ack_counts(coordination, "a", "") == "a"
    assert ack_counts(coordination, "b", "") is None  # a target never sent the write
    assert ack_counts(coordination, "d", "") is None  # a fallback acking without its hint


def test_a_hinted_ack_counts_for_the_intended_node_of_exactly_that_hint() -> None:
    coordination = _coordination(used={"a", "d"}, hints_sent={"d": "b"})
    assert ack_counts(coordination, "d", "b") == "b"
    assert ack_counts(coordination, "d", "c") is None
    assert ack_counts(coordination, "e", "b") is None  # never sent a hint


def test_an_ack_that_counts_for_no_target_is_refused_naming_the_put() -> None:
    node = _node()
    node.client_request(1.0, PutRequest(7, KEY, b"milk", b"", None, "c1"))
    (op_id,) = node.puts.coordinations
    with pytest.raises(BadMessageError,
                       match=rf"^ack for put {op_id} that counts for no target$"):
        node.puts.on_ack(1.5, "n9", ReplicaPutAck(op_id, KEY))


def test_a_put_making_more_than_max_siblings_is_refused_and_stores_nothing() -> None:
    driver = Driver.start(make_config(3, n=3, r=1, w=3, max_siblings=2))
    for value in (b"a", b"b"):  # two blind puts: two siblings
        assert driver.put("n1", KEY, value).error is None
    record = driver.nodes["n1"].record(KEY)
    reply = driver.put("n1", KEY, b"c")
    assert isinstance(reply.error, BadRequestError)
    assert str(reply.error) == (
        "key has more than 2 siblings (max_siblings): read and reconcile them first")
    assert all(node.record(KEY) == record for node in driver.nodes.values())
    assert driver.nodes["n1"].puts.coordinations == {}


def test_a_put_quorum_in_a_membership_change_needs_exactly_w_in_each_group() -> None:
    coordination = _coordination(groups=(("a", "b", "c"), ("b", "c", "d")), acks={"b", "c"})
    assert put_quorum_reached(coordination)  # W=2 in each group, exactly
    coordination.acks = {"a", "b"}
    assert not put_quorum_reached(coordination)  # 1 of the new top N
    coordination.groups, coordination.acks = (), {"a", "d"}
    assert put_quorum_reached(coordination)
    coordination.acks = {"a"}
    assert not put_quorum_reached(coordination)


def test_a_put_mints_its_dot_under_the_nodes_lifetime_actor_not_its_name() -> None:
    driver = Driver.start(make_config(3, n=3, r=2, w=3))
    assert driver.put("n1", KEY, b"milk").error is None
    actor = driver.storages["n1"].get_meta(ACTOR_META)
    assert actor is not None and actor.decode().startswith("n1~")
    for node in driver.nodes.values():
        record = node.record(KEY)
        assert record is not None and dvv.ids(record.dvvset) == (actor.decode(),)


def test_a_client_vclock_put_mints_under_the_pair_of_its_actor_and_client() -> None:
    """Session 23: the entry of (n1's lifetime actor, alice), counted by n1; the
    counter alice sends (5) counts for nothing (before: ``{alice: 6}``)."""
    driver = Driver.start(make_config(3, n=3, r=2, w=3, clock="client-vclock"))
    driver.request("n1", PutRequest(1, KEY, b"milk", b"", None, "alice", 5))
    driver.deliver_all()
    assert driver.replies[1].error is None
    record = driver.nodes["n1"].record(KEY)
    actor = driver.storages["n1"].get_meta(ACTOR_META)
    assert record is not None and actor is not None
    assert [s.clock.pairs for s in record.siblings] == [((f"{actor.decode()} alice", 1),)]


def _reap_timers(effects: list[Effect]) -> list[SetTimer]:
    return [e for e in effects if isinstance(e, SetTimer) and isinstance(e.timer, ReapTombstone)]


def test_only_a_delete_acknowledged_by_every_target_schedules_a_reap() -> None:
    for delete in (False, True):
        node = _node()  # N=3, W=3, delete_mode "safe"
        request = PutRequest(7, KEY, b"" if delete else b"milk", b"", None, "c1", 0, delete)
        effects = node.client_request(1.0, request)
        (op_id,) = node.puts.coordinations
        effects += node.receive(1.1, "n2", ReplicaPutAck(op_id, KEY))
        effects += node.receive(1.2, "n3", ReplicaPutAck(op_id, KEY))
        assert len(_reap_timers(effects)) == int(delete)


def test_a_coordinator_outside_the_top_n_stands_in_for_the_last_target_with_a_hint() -> None:
    node = Node("n1", make_config(5, n=3, r=2, w=2), MemoryStorage("always"), seed=1)
    node.start(0.0)
    key = next(k for k in (b"k%d" % i for i in range(100))
               if "n1" not in node.preference_list(k)[:3])
    targets = node.preference_list(key)[:3]
    # the last target suspected (its forward timed out): an outsider stands in only
    # for a target it suspects (session 53's review, test_forward_last_resort.py)
    node.set_suspected({targets[2]: 2.0})
    effects = node.puts.start(1.0, PutRequest(7, key, b"milk", b"", None, "c1"), ReplyTo(7))
    (coordination,) = node.puts.coordinations.values()
    assert coordination.sent_to == {targets[0]: targets[0], targets[1]: targets[1],
                                    targets[2]: "n1"}
    assert coordination.hints_sent == {"n1": targets[2]}
    assert coordination.used == {"n1", targets[0], targets[1]}
    assert coordination.acks == {targets[2]}
    assert sorted(e.dest for e in effects if isinstance(e, Send)) == sorted(targets[:2])


def test_a_delete_acknowledged_at_once_is_reaped_at_once_in_immediate_mode() -> None:
    node = Node("n1", make_config(3, n=3, r=1, w=1, delete_mode="immediate"),
                MemoryStorage("always"), seed=1)
    node.start(0.0)
    effects = node.client_request(2.0, PutRequest(7, KEY, b"", b"", None, "c1", 0, True))
    assert [e.at for e in _reap_timers(effects)] == [2.0]


def test_a_put_acknowledged_by_every_target_cancels_its_timer() -> None:
    node = _node()  # N=3, W=3
    node.client_request(1.0, PutRequest(7, KEY, b"milk", b"", None, "c1"))
    (op_id,) = node.puts.coordinations
    node.receive(1.1, "n2", ReplicaPutAck(op_id, KEY))
    effects = node.receive(1.2, "n3", ReplicaPutAck(op_id, KEY))
    assert _put_timeouts(effects) == [PutTimeout(op_id)]


def test_a_puts_context_holds_at_most_vclock_max_pairs_pairs() -> None:
    config = make_config(3, n=3, r=1, w=1, vclock_threshold=1, vclock_max_pairs=1)
    driver = Driver.start(config)
    for at in ("n1", "n2"):  # two blind puts through two coordinators: two dots
        assert driver.put(at, KEY, at.encode()).error is None
    read = driver.get("n3", KEY, r=3)
    assert isinstance(read.result, GetResult)
    # a context of both dots, the put's dot added: three pairs capped to one (session
    # 30's _coordinate__mutmut_188, _195: written_context_pairs' max_pairs None or
    # left out; blind puts alone answer one pair either way)
    for context in (b"", read.result.context):
        reply = driver.put("n3", KEY, b"c", context)
        assert isinstance(reply.result, PutResult)
        clock = decode_context(reply.result.context, key=KEY, mode=ClockMode.DVV,
                               secret=config.secret)
        assert len(clock.pairs) == 1


def _put_error(node: Node, storage: MemoryStorage, request: PutRequest,
               now: float) -> object:
    """The type of the error the put is answered with at once (None: none)."""
    effects = persist(storage, node.client_request(now, request),
                      lambda error: node.persist_failed(now, error))
    errors = [type(e.error) for e in effects if isinstance(e, Reply) and e.error]
    return errors[0] if errors else None


def test_a_put_growing_the_record_over_max_record_bytes_is_refused_one_shrinking_it_is_not(
        ) -> None:
    """``max_record_bytes`` (docs/runtime.md, "Record size"): a blind put whose
    record would outgrow the limit gets TooLargeError (413) and writes nothing; a
    record that a merge made larger than the limit refuses further growth, but a
    put with its context (which replaces the siblings) and a delete are accepted."""
    storage = MemoryStorage("always")
    node = Node("n1", make_config(3, n=3, r=2, w=2, max_value_bytes=1024,
                                  max_record_bytes=8192), storage, seed=1)
    node.start(0.0)
    # blind puts of no client (the actor's entry alone, as every client's before
    # session 59; a named client's now mint under fresh pairs, 45 bytes more each)
    errors_seen = [_put_error(node, storage, PutRequest(i, KEY, bytes([i]) * 1000, b"", None, ""),
                              1.0 + i) for i in range(10)]
    fits = errors_seen.index(TooLargeError)
    assert fits >= 7 and errors_seen == [None] * fits + [TooLargeError] * (10 - fits)
    stored = node.replica.local_record(KEY)
    assert sibling_count(stored) == fits  # the refused puts wrote nothing
    # a concurrent sibling from another coordinator, merged: now over the limit
    other = apply_put(Record.empty(ClockMode.DVV), VClock(), b"x" * 1000, coordinator="n2",
                      client_id="c2", now=20.0, actor="n2-other")
    persist(storage, node.receive(20.0, "n2", ReplicaPut(99, KEY, encode_record(other))),
            lambda error: node.persist_failed(20.0, error))
    merged = node.replica.local_record(KEY)
    assert len(encode_record(merged)) > 8192
    grow = PutRequest(50, KEY, b"y", b"", None, "c1")
    assert _put_error(node, storage, grow, 21.0) is TooLargeError
    # replacing the merged sibling by a smaller value: still over the limit, but smaller
    smaller = PutRequest(53, KEY, b"s" * 500, node.puts._context(KEY, other), None, "c1")
    assert _put_error(node, storage, smaller, 21.2) is None
    after = len(encode_record(node.replica.local_record(KEY)))
    assert 8192 < after < len(encode_record(merged))
    blind_delete = PutRequest(52, KEY, b"", b"", None, "c1", 0, True)
    assert _put_error(node, storage, blind_delete, 21.5) is None  # a tombstone: never refused
    context = node.puts._context(KEY, node.replica.local_record(KEY))
    reconcile = PutRequest(51, KEY, b"z" * 1000, context, None, "c1")
    assert _put_error(node, storage, reconcile, 22.0) is None
    assert sibling_count(node.replica.local_record(KEY)) == 1


def test_a_put_that_shrinks_a_merged_record_over_max_siblings_is_accepted() -> None:
    # Merges (k partition sides, each within the limit) may leave a record over
    # max_siblings; a put with a context that covers some of the siblings, not all,
    # shrinks it and is accepted; a blind put, which grows it, is still refused.
    driver = Driver.start(make_config(3, n=3, r=3, w=3, max_siblings=4))
    for value in (b"a", b"b"):
        assert driver.put("n1", KEY, value).error is None
    partial = driver.get("n1", KEY).result
    assert isinstance(partial, GetResult)
    for value in (b"c", b"d"):
        assert driver.put("n1", KEY, value).error is None
    assert _siblings(driver) == 4
    for node in driver.nodes.values():  # as a merged record over a lowered limit
        node.puts.config = dataclasses.replace(node.puts.config, max_siblings=2)
    assert isinstance(driver.put("n1", KEY, b"e").error, BadRequestError)  # 5 > 4
    assert _siblings(driver) == 4
    reply = driver.put("n1", KEY, b"ab", partial.context)  # c, d, ab: 3 < 4
    assert reply.error is None
    final = driver.get("n1", KEY).result
    assert isinstance(final, GetResult) and sorted(final.values) == [b"ab", b"c", b"d"]


def _siblings(driver: Driver) -> int:
    record = driver.nodes["n1"].record(KEY)
    assert record is not None
    return sibling_count(record)


def test_a_put_that_keeps_a_merged_record_over_max_siblings_at_its_size_is_accepted() -> None:
    # The limit refuses only a put that grows the record: one whose context covers
    # exactly one sibling replaces it, the count unchanged (4 over a limit of 2),
    # and is accepted (the mutant refusing an equal count, >=, fails here).
    driver = Driver.start(make_config(3, n=3, r=3, w=3, max_siblings=4))
    assert driver.put("n1", KEY, b"a").error is None
    first = driver.get("n1", KEY).result
    assert isinstance(first, GetResult)
    for value in (b"b", b"c", b"d"):
        assert driver.put("n1", KEY, value).error is None
    assert _siblings(driver) == 4
    for node in driver.nodes.values():  # as a merged record over a lowered limit
        node.puts.config = dataclasses.replace(node.puts.config, max_siblings=2)
    assert driver.put("n1", KEY, b"a2", first.context).error is None  # b, c, d, a2: 4
    final = driver.get("n1", KEY).result
    assert isinstance(final, GetResult) and sorted(final.values) == [b"a2", b"b", b"c", b"d"]


def test_a_periodic_resend_suspects_the_silent_targets_and_waits_the_records_patience(
) -> None:
    """The periodic timer gives up on each silent target's node (suspected: session
    29's mutant giving up on None suspected nobody) and re-arms after
    ``replica_timeout`` times the coordination's patience (2: 0.6 s, not 0.15 s)."""
    node = _node()
    node.client_request(0.0, PutRequest(7, KEY, b"milk", b"", None, "c1"))
    (op_id,) = node.puts.coordinations
    node.puts.coordinations[op_id].patience = 2.0
    assert not node.suspects("n2") and not node.suspects("n3")
    assert _rearmed(node.fire(0.25, PutTimeout(op_id))) == [(PutTimeout(op_id), 0.85)]
    assert node.suspects("n2") and node.suspects("n3")


def test_a_delete_short_of_w_at_its_deadline_says_delete() -> None:
    node = _node()
    node.client_request(0.0, PutRequest(7, KEY, b"", b"", None, "c1", delete=True))
    (op_id,) = node.puts.coordinations
    (reply,) = [e for e in node.fire(1.0, PutTimeout(op_id)) if isinstance(e, Reply)]
    assert str(reply.error) == ("delete reached 1 of W=3 replicas before the timeout "
                                "(no acknowledgement from n2, n3)")


def test_sends_error_takes_a_hinted_fallback_and_every_target_acknowledged() -> None:
    """A target's write sent to the fallback its hint names, and an ack of every
    target: no contradiction (session 29's mutants: the hint looked up under None;
    the acks a strict subset of the targets)."""
    coordination = _coordination(sent_to={"a": "d", "b": "b", "c": "c"},
                                 used={"d", "b", "c"}, hints_sent={"d": "a"},
                                 acks={"a", "b", "c"})
    assert sends_error(coordination) is None


def test_ended_is_called_for_a_key_once_its_last_coordination_here_ended() -> None:
    """Two puts of two keys at once: each key's ``ended`` once its own put ended,
    though the other key's is still coordinated (session 29's mutant ``!=``: k1
    ended only after k2 did, so never)."""
    driver = Driver.start(make_config(3, n=3, r=2, w=2))
    ended: list[bytes] = []
    driver.nodes["n1"].puts.ended = ended.append
    driver.request("n1", PutRequest(1, b"k1", b"v", b"", None, "c1"))
    driver.request("n1", PutRequest(2, b"k2", b"v", b"", None, "c1"))
    assert len(driver.nodes["n1"].puts.coordinations) == 2
    driver.deliver_all()
    assert ended == [b"k1", b"k2"]


def test_each_lww_re_mint_cancels_its_round_counts_and_stops_at_max_remints() -> None:
    """lww, N = 3, W = 2: n2 acks each round with a floor above its stamp; each
    re-mint cancels the round's timer, counts one ``put-remints`` and one re-mint of
    the coordination, up to :data:`MAX_REMINTS`; the ack after that counts as an ack
    (session 29's mutants of ``_remint_above_floor``: ``>``; ``= 1``; the timer not
    cancelled; the count None, one less or two more)."""
    storage = MemoryStorage("always")
    node = Node("n1", make_config(3, n=3, r=2, w=2, clock="lww"), storage, seed=1)
    node.start(0.0)
    effects = persist(storage, node.client_request(1.0, PutRequest(7, KEY, b"v", b"", None)))
    for remints in range(MAX_REMINTS + 1):
        (put,) = [e.message for e in effects if isinstance(e, Send) and e.dest == "n2"
                  and isinstance(e.message, ReplicaPut)]
        assert node.puts.coordinations[put.op_id].remints == remints
        mark = Record(ClockMode.LWW, (Sibling(TOMBSTONE, VClock(), 50.0 * (remints + 1),
                                              "n2"),))
        effects = persist(storage, node.receive(1.0, "n2", ReplicaPutAck(
            put.op_id, KEY, record=encode_record(mark))))
        if remints < MAX_REMINTS:
            assert CancelTimer(PutTimeout(put.op_id)) in effects
            assert node.stats["put-remints"] == remints + 1
    assert node.stats["put-remints"] == MAX_REMINTS
    assert [type(e.result) for e in effects if isinstance(e, Reply)] == [PutResult]


def _client_vclock_put(value: bytes, client: str, *, clock: str = "client-vclock",
                       context: tuple[tuple[str, int], ...] = ()
                       ) -> tuple[Node, MemoryStorage, dict[str, ReplicaPut]]:
    """``clock`` (client-vclock), N = 3, W = 2: n1 coordinates ``PUT cart value`` of
    ``client`` at time 1 (request 7) with a context of ``context``'s pairs (an entry
    of n1's key actor named ``{actor}``): (n1, its storage, the ReplicaPut sent to
    each other target)."""
    storage = MemoryStorage("always")
    config = make_config(3, n=3, r=2, w=2, clock=clock)
    node = Node("n1", config, storage, seed=1)
    node.start(0.0)
    pairs = tuple((entry.format(actor=node.actor), counter) for entry, counter in context)
    encoded = encode_context_pairs(pairs, key=KEY, mode=ClockMode(clock),
                                   secret=config.context_secret) if pairs else b""
    effects = persist(storage, node.client_request(1.0, PutRequest(7, KEY, value, encoded,
                                                                   None, client)))
    return node, storage, {e.dest: e.message for e in effects
                           if isinstance(e, Send) and isinstance(e.message, ReplicaPut)}


def test_an_ack_carrying_a_record_of_no_versions_counts_as_an_ack() -> None:
    """client-vclock: an ack whose record holds no sibling (a forged or newer peer's)
    holds no counter of the put's entry (0): the ack counts and the put is answered
    (session 29's mutants of ``_client_counter``: no default, or None, raised an
    internal error)."""
    node, _, sent = _client_vclock_put(b"v", "c1")
    put = sent["n2"]
    raw = encode_record(Record(ClockMode.CLIENT_VCLOCK))
    out = node.receive(1.1, "n2", ReplicaPutAck(put.op_id, KEY, record=raw))
    assert [type(e.result) for e in out if isinstance(e, Reply)] == [PutResult]
    assert node.stats["internal-error"] == 0 and node.stats["put-remints"] == 0


def test_a_late_re_mint_of_a_pinned_key_names_its_fresh_entry_by_the_pinned_actor() -> None:
    """client-vclock, N = 3, W = 2: n1's v3 is answered (its own ack and n2's), then n1
    reaps the key and the stale copy of v3 comes back (a read repair, a late hint), so
    the key is pinned to the node-wide epoch counter, 1
    (:func:`impl.versions.note_key_merge`) while n1's copy holds v3's counter of epoch
    0; n3's late ack holds a reused dot of v3's entry: the late round's fresh entry is
    ``<key actor>/remint/<op id>``, the key actor the pinned one (``<lifetime>.1``),
    not the epoch n1's copy holds (session 29's open ``_remint__mutmut_48``:
    ``self.actor(None, stored)``, the key not named, so no pin found)."""
    node, storage, sent = _client_vclock_put(b"v3", "alice")
    out = persist(storage, node.receive(1.01, "n2", ReplicaPutAck(sent["n2"].op_id, KEY)))
    assert [type(e.result) for e in out if isinstance(e, Reply)] == [PutResult]
    mine = client_entry("alice", node.actor)  # v3's entry, of epoch 0
    copy = node.replica.local_record(KEY)
    assert context_clock(copy).counter(mine) == 1
    renew_key_actor(node.storage, node.actor, KEY)  # the reap: the counter is 1
    note_key_merge(node.storage, node.actor, KEY, Record.empty(ClockMode.CLIENT_VCLOCK),
                   copy)  # the stale copy back: pinned to epoch 1
    persist(storage, [])
    pinned = f"{node.actor}.1"
    assert node.key_actor(KEY) == pinned
    forged = _reused_dot(mine, 2)
    persist(storage, node.receive(1.02, "n3", ReplicaPutAck(sent["n3"].op_id, KEY,
                                                            record=forged)))
    assert node.stats["put-remints"] == 1
    fresh = client_entry(f"{pinned}/remint/{sent['n3'].op_id}", pinned)
    (late,) = [s for s in node.replica.local_record(KEY).siblings if s.value == b"v3"
               and len(s.clock.pairs) == 2]
    assert sorted(late.clock.entries.items()) == sorted([(mine, 1), (fresh, 1)])


@pytest.mark.parametrize("delete", [False, True])
def test_each_late_ack_of_an_answered_delete_reaps_at_its_time_in_immediate_mode(
        delete: bool) -> None:
    """``delete_mode = "immediate"``, N = 3, W = 1: the put is answered by n1's own
    write; each late ack (n2 at 1.1, n3 at 1.2) of a delete schedules the reap of its
    tombstone at the targets at once, at the ack's time; a put's late acks schedule
    none (session 30's mutants of ``on_ack``: ``replied or tombstone``, a reap of the
    record ``b""``; the reap's time None)."""
    node = Node("n1", make_config(3, n=3, r=1, w=1, delete_mode="immediate"),
                MemoryStorage("always"), seed=1)
    node.start(0.0)
    request = PutRequest(7, KEY, b"" if delete else b"milk", b"", None, "c1", 0, delete)
    first = node.client_request(1.0, request)
    assert [type(e.result) for e in first if isinstance(e, Reply)] == [PutResult]
    (coordination,) = node.puts.coordinations.values()
    late = [*node.receive(1.1, "n2", ReplicaPutAck(coordination.op_id, KEY)),
            *node.receive(1.2, "n3", ReplicaPutAck(coordination.op_id, KEY))]
    reaps = [(e.at, e.timer) for e in _reap_timers(late)]
    tombstone = ReapTombstone(KEY, coordination.tombstone, coordination.targets)
    assert reaps == ([(1.1, tombstone), (1.2, tombstone)] if delete else [])
    assert node.puts.coordinations == {}


def test_a_wall_clock_lww_put_is_stamped_by_the_clock_alone_past_a_floor() -> None:
    """lww with ``lww_timestamps = "wall-clock"`` (the paper's naive rule): a put
    coordinated at 100 s is stamped 100 s although the key has a floor at 130 s (a
    tombstone reaped ahead of the clock, or adopted from a replica's ack); only the
    hybrid rule stamps above a floor (session 30's mutants of ``_coordinate``: the
    floor read whatever the rule, ``lww or hybrid``)."""
    storage = MemoryStorage("always")
    node = Node("n1", make_config(3, n=3, r=2, w=2, clock="lww",
                                  lww_timestamps="wall-clock"), storage, seed=1)
    node.start(0.0)
    node.replica.adopt_lww_floor(KEY, 130.0)
    assert node.replica.lww_floors == {KEY: 130.0}
    effects = persist(storage, node.client_request(100.0, PutRequest(7, KEY, b"v", b"",
                                                                     None)))
    assert [s.stamp for s in node.replica.local_record(KEY).siblings] == [100.0]
    sent = [decode_record(e.message.record, ClockMode.LWW) for e in effects
            if isinstance(e, Send) and isinstance(e.message, ReplicaPut)]
    assert [[s.stamp for s in record.siblings] for record in sent] == [[100.0], [100.0]]


def test_a_late_round_that_cannot_mint_answers_nothing_more() -> None:
    """client-vclock, N = 3, W = 2: v3 is answered (n1's write and n2's ack); then n1's
    client counter floor reaches :data:`impl.versions.MAX_COUNTER` (a reap of a
    record at the limit) and n3's late ack asks a late round, whose fresh entry
    cannot be minted above the floor: the put was answered already, so the refusal
    answers nothing (a second answer would tell the client its acknowledged put
    failed; session 30's ``_coordinate__mutmut_66``, ``replied and False``)."""
    node, storage, sent = _client_vclock_put(b"v3", "alice")
    out = persist(storage, node.receive(1.01, "n2", ReplicaPutAck(sent["n2"].op_id, KEY)))
    assert [type(e.result) for e in out if isinstance(e, Reply)] == [PutResult]
    node.replica.raise_floor(MAX_COUNTER)
    mine = client_entry("alice", node.actor)
    forged = _reused_dot(mine, 2)
    late = persist(storage, node.receive(1.02, "n3", ReplicaPutAck(sent["n3"].op_id, KEY,
                                                                   record=forged)))
    assert node.stats["put-remints"] == 1
    assert [e for e in late if isinstance(e, Reply)] == []


def _reused_dot(entry: str, counter: int) -> bytes:
    """A replica's record (an ack's) of one version ``v2`` at ``{entry: counter}``."""
    return encode_record(Record(ClockMode.CLIENT_VCLOCK, (Sibling(
        b"v2", VClock.of({entry: counter}, {entry: 0.0}), 0.0, "n3"),)))


def test_the_re_mint_guard_watches_the_entry_the_put_incremented_not_one_it_read() -> None:
    """client-vclock: alice's put read bob's entry at 5 (``<n1> bob``, sorting after
    hers) and minted ``<n1> alice`` at 1: n2's ack holding ``<n1> alice`` at 2 (a
    reused dot) makes n1 mint the put again; the entry watched is not bob's, which
    the put only carried (session 30's mutants of ``_coordinate``'s entry choice:
    ``counter >= context's``, ``... or counter > minted``)."""
    node, storage, sent = _client_vclock_put(b"v3", "alice", context=(("{actor} bob", 5),))
    mine = client_entry("alice", node.actor)
    (version,) = decode_record(sent["n2"].record, ClockMode.CLIENT_VCLOCK).siblings
    assert version.clock.entries == {mine: 1, client_entry("bob", node.actor): 5}
    persist(storage, node.receive(1.01, "n2", ReplicaPutAck(sent["n2"].op_id, KEY,
                                                            record=_reused_dot(mine, 2))))
    assert node.stats["put-remints"] == 1


def test_a_record_in_a_server_vclock_ack_counts_as_an_ack() -> None:
    """server-vclock: a replica acks with no record; one that carries a record (a
    forged or newer peer's) holding a higher counter of the put's entry is not minted
    again: the ack counts and the put is answered (session 30's
    ``_coordinate__mutmut_219``, the re-mint state kept in every mode)."""
    node, storage, sent = _client_vclock_put(b"v3", "", clock="server-vclock")
    (version,) = decode_record(sent["n2"].record, ClockMode.SERVER_VCLOCK).siblings
    ((entry, counter),) = version.clock.pairs
    higher = encode_record(Record(ClockMode.SERVER_VCLOCK, (Sibling(
        b"v2", VClock.of({entry: counter + 1}, {entry: 0.0}), 0.0, "n3"),)))
    out = persist(storage, node.receive(1.01, "n2", ReplicaPutAck(sent["n2"].op_id, KEY,
                                                                  record=higher)))
    assert node.stats["put-remints"] == 0
    assert [type(e.result) for e in out if isinstance(e, Reply)] == [PutResult]
