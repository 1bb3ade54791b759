"""impl.put_coordinator: the behaviours session 47's mutmut run found no test for
(docs/refinement.md, "Mutation score of the coordinators, versions and context
(session 47)"): the words a put's refusals and timeouts say, and the timer a put
ended early cancels."""

from __future__ import annotations

import math

import pytest

from impl.effects import CancelTimer, GetResult, Reply, Send, SetTimer
from impl.errors import BadRequestError, QuorumError
from impl.forwarding import ReplyTo
from impl.messages import ForwardReply, PutRequest, ReplicaPut, ReplicaPutAck
from impl.node import Node
from impl.put_coordinator import PutCoordination, _hidden_tombstones, _silent
from impl.records import ClockMode, Record, Sibling, encode_record
from impl.staging import persist
from impl.storage.memory import MemoryStorage
from impl.timers import PutTimeout
from impl.versions import TOMBSTONE
from spec import dvv
from spec.vclock import VClock
from tests.impl.test_client_counter_remint_review import KEY as REMINT_KEY
from tests.impl.test_client_counter_remint_review import _alice_record as alice_record
from tests.impl.test_client_counter_remint_review import _answered_put as answered_put
from tests.impl.test_client_counter_remint_review import _node as remint_node
from tests.impl.test_client_counter_remint_review import _replica_puts as replica_puts
from tests.impl.test_node_driver import Driver, make_config
from tests.impl.test_quorum_groups_in_a_change import _coordinator, _joining

KEY = b"k3"  # targets n1, n2, n3; fallbacks n4, n5


def _node() -> Node:
    node = Node("n1", make_config(5, n=3, r=2, w=2), MemoryStorage("always"), seed=1)
    node.start(0.0)
    assert node.quorum.split(KEY) == (("n1", "n2", "n3"), ("n4", "n5"))
    return node


def _record(*values: bytes) -> Record:
    return Record(ClockMode.SERVER_VCLOCK, tuple(
        Sibling(value, VClock.of({f"n{i}": 1})) for i, value in enumerate(values, start=1)))


@pytest.mark.parametrize(("values", "said"), [
    ((b"a", b"b"), ""),
    ((b"a", TOMBSTONE), " (1 of the 5 this put would make is a tombstone of a delete, "
                        "which a get does not show: a put with a get's context supersedes "
                        "them)"),
    ((TOMBSTONE, b"a", TOMBSTONE), " (2 of the 5 this put would make are tombstones of a "
                                   "delete, which a get does not show: a put with a get's "
                                   "context supersedes them)"),
])
def test_a_refusal_over_max_siblings_counts_the_tombstones_word_for_word(
        values: tuple[bytes, ...], said: str) -> None:
    """Session 35: the clause a put refused over ``max_siblings`` adds for the
    tombstones it would hold. Killed: ``_hidden_tombstones__mutmut_1``, ``_3``, ``_8``
    to ``_15`` (the count None or doubled, the verb's number, the words)."""
    assert _hidden_tombstones(_record(*values), 5) == said


def test_a_put_timeout_names_a_fallback_alone_for_a_target_never_sent_the_write() -> None:
    """Session 32's review: the timeout names each node a silent target's write went
    to; a target suspected when the put began was never sent it, so only its fallback
    is named; a put every target acknowledged names none. Killed: ``_silent__mutmut_6``
    (the target named whether sent the write or not) and ``_13`` (``"XXXX"`` for
    none)."""
    coordination = PutCoordination(1, KEY, b"r", b"", 3, ("n1", "n2", "n3"), ("n4", "n5"),
                                   ReplyTo(7), 1.0, sent_to={"n1": "n1", "n2": "n4",
                                                             "n3": "n3"},
                                   hints_sent={"n4": "n2"}, acks={"n1"},
                                   used={"n1", "n3", "n4"})
    assert _silent(coordination) == " (no acknowledgement from n4 for n2, n3)"
    coordination.acks = {"n1", "n2", "n3"}
    assert _silent(coordination) == ""


def test_a_put_short_of_w_names_the_fallback_of_a_target_suspected_at_its_start() -> None:
    """The same through a node: n2 suspected before the put, its write goes to n4 with a
    hint; n4 and n3 silent, the put fails at its deadline (no resend on the way) naming
    n4 for n2 and n3, not n2 (``_silent__mutmut_6``)."""
    node = _node()
    node.set_suspected({"n2": math.inf})
    effects = node.client_request(0.0, PutRequest(7, KEY, b"v", b"", None, "c1"))
    assert sorted(e.dest for e in effects if isinstance(e, Send)) == ["n3", "n4"]
    (op_id,) = node.puts.coordinations
    deadline = node.puts.coordinations[op_id].deadline
    (reply,) = [e for e in node.fire(deadline, PutTimeout(op_id)) if isinstance(e, Reply)]
    assert isinstance(reply.error, QuorumError)
    assert str(reply.error).endswith(" (no acknowledgement from n4 for n2, n3)")


def test_a_record_too_large_is_refused_naming_the_limit_and_what_it_holds() -> None:
    """Session 32: a put whose record would pass ``max_record_bytes`` with one value is
    told about the clock's bytes, with two or more to reconcile its siblings; both name
    the limit. Killed: ``_record_too_large__mutmut_2`` (the limit None),
    ``_3`` (one value told to reconcile siblings) and ``_4`` (two told about a clock)."""
    node = _node()
    limit = node.config.max_record_bytes
    one = node.puts._record_too_large(KEY, Record.empty(node.mode), limit + 10, 1, limit)
    two = node.puts._record_too_large(KEY, Record.empty(node.mode), limit + 10, 2, limit)
    assert one is not None and two is not None
    assert str(one).startswith(
        f"the record of this key would be {limit + 10} bytes with this value, over "
        f"max_record_bytes ({limit}): it would hold this one value ({limit} bytes) and "
        "10 bytes of clock and metadata")
    assert str(two) == (
        f"the record of this key would be {limit + 10} bytes with this value, over "
        f"max_record_bytes ({limit}); read the key and reconcile its siblings (a put with "
        "its context replaces them), or write a smaller value")


def test_a_put_ended_early_cancels_its_own_timer() -> None:
    """An answered put that lingers for its last target, ended early by the node's
    lingering bound: its timer is cancelled by name. Killed: ``end_early__mutmut_13``,
    ``_14`` (``CancelTimer(None)``, ``CancelTimer(PutTimeout(None))``)."""
    node = _node()
    node.client_request(0.0, PutRequest(7, KEY, b"v", b"", None, "c1"))
    (op_id,) = node.puts.coordinations
    answered = node.receive(0.1, "n2", ReplicaPutAck(op_id, KEY))
    assert [e.request_id for e in answered if isinstance(e, Reply)] == [7]
    assert op_id in node.puts.coordinations  # lingers for n3
    effects = node.puts.end_early(0.2, op_id)
    assert effects[-1] == CancelTimer(PutTimeout(op_id))
    assert op_id not in node.puts.coordinations
    assert node.puts.end_early(0.3, op_id) == []


def _pw_refusal(node: Node, now: float, key: bytes, request_id: int, pw: int,
                suspected: tuple[str, ...]) -> str:
    """The error of the one reply ``node`` gives, at ``now``, a client's put of ``key``
    with ``pw`` while it suspects ``suspected``."""
    node.set_suspected(dict.fromkeys(suspected, math.inf))
    effects = node.client_request(now, PutRequest(request_id, key, b"v", b"", None, "c",
                                                  pw=pw))
    (reply,) = [e for e in effects if isinstance(e, Reply)]
    return str(reply.error)

def test_before_a_handover_pw_counts_the_pending_owner_among_the_primaries() -> None:
    """During a join, before the handover, a put's targets are the current and the
    future top N (``split(key, writing=True)``), and PW's check of the primaries
    believed reachable counts over them: with one current target suspected the
    pending owner makes up PW = 3 and the put goes ahead; with it suspected too, the
    refusal names both; with one primary left, "is"; with none, "none"; forwarded, the
    refusal is answered as a put's. Killed: ``start__mutmut_9`` (``writing=False``: the
    pending owner left out, the put refused), ``_39`` ("are" for one), ``_50``
    ("XXnoneXX"), ``_53`` (the suspected joined by "XX, XX"); ``_5``, ``_7``
    (``writing`` None or left out, as ``_9``), ``_24`` (no ``kind="put"``: a forwarded
    refusal answered as a get's), ``_41`` ("XXisXX") and
    ``_51`` ("NONE"), timeouts in the run, fail here too."""
    cluster = _joining()
    key = b"key-0"
    node = _coordinator(cluster, key)
    targets = node.quorum.split(key, writing=True)[0]
    current = node.quorum.split(key)[0]
    assert node.name == "n5" and current == ("n5", "n4", "n2") and targets == (*current, "n6")
    node.set_suspected({"n4": math.inf})
    effects = node.client_request(cluster.now, PutRequest(5, key, b"v", b"", None, "c", pw=3))
    assert not [e for e in effects if isinstance(e, Reply)]
    # written: to n2, the pending owner n6, and a fallback (n1) for the suspected n4
    assert sorted(e.dest for e in effects if isinstance(e, Send)) == ["n1", "n2", "n6"]
    assert _pw_refusal(node, cluster.now, key, 6, 3, ("n4", "n6")) == (
        "put needs PW=3 primaries (the key's top N acknowledging themselves) but 2 of them "
        "are believed reachable (n5, n2; suspected: n4, n6); nothing was written (Riak's "
        "pw_val_unsatisfied)")
    # one primary believed reachable: "is"; a forwarded put's refusal is a put's
    reply_error = _pw_refusal(node, cluster.now, key, 7, 2, ("n4", "n2", "n6"))
    assert reply_error == (
        "put needs PW=2 primaries (the key's top N acknowledging themselves) but 1 of them "
        "is believed reachable (n5; suspected: n4, n2, n6); nothing was written (Riak's "
        "pw_val_unsatisfied)")
    (sent,) = node.puts.start(cluster.now, PutRequest(8, key, b"v", b"", None, "c", pw=2),
                              ReplyTo(8, peer="n3", op_id=31))
    assert isinstance(sent, Send) and sent.dest == "n3"
    assert isinstance(sent.message, ForwardReply)
    assert (sent.message.op_id, sent.message.kind, sent.message.message) == (
        31, "put", reply_error)
    # a coordinator outside the targets that suspects them all: "none"
    outsider = cluster.node("n3")
    assert outsider.quorum.split(key, writing=True)[0] == targets
    outsider.set_suspected(dict.fromkeys(targets, math.inf))
    (refused,) = outsider.puts.start(cluster.now, PutRequest(9, key, b"v", b"", None, "c",
                                                             pw=1), ReplyTo(9))
    assert isinstance(refused, Reply)
    assert str(refused.error) == (
        "put needs PW=1 primaries (the key's top N acknowledging themselves) but 0 of them "
        "are believed reachable (none; suspected: n5, n4, n2, n6); nothing was written "
        "(Riak's pw_val_unsatisfied)")


def test_a_put_refused_over_max_siblings_through_a_node_counts_what_it_would_make() -> None:
    """The refusal's clause names the siblings the refused put would make (3: the
    value, the tombstone of a delete concurrent with it, the put's own), not another
    count. Killed (the resumed run): ``_coordinate__mutmut_112``
    (``_hidden_tombstones(record, None)``: "1 of the None")."""
    driver = Driver.start(make_config(3, n=3, r=3, w=3, max_siblings=2, delete_mode="keep"))
    assert driver.put("n1", KEY, b"a").error is None
    first = driver.get("n1", KEY).result
    assert isinstance(first, GetResult)
    assert driver.put("n1", KEY, b"b").error is None  # blind: a, b
    rid = 900
    driver.request("n1", PutRequest(rid, KEY, b"", first.context, None, "c1", delete=True))
    assert driver._await(rid, 0.0).error is None  # b and the tombstone of a
    reply = driver.put("n1", KEY, b"c")
    assert isinstance(reply.error, BadRequestError)
    assert str(reply.error) == (
        "key has more than 2 siblings (max_siblings): read and reconcile them first "
        "(1 of the 3 this put would make is a tombstone of a delete, which a get does not "
        "show: a put with a get's context supersedes them)")


def test_a_one_value_put_over_max_record_bytes_through_a_node_names_its_bytes() -> None:
    """Session 32: a put whose record would hold one value but outgrow
    ``max_record_bytes`` by its clock (here 45 entries of other lifetimes, a peer's
    copy already over the limit) is refused naming the value's bytes and the clock's,
    through the node. Killed (the resumed run): ``_coordinate__mutmut_126``
    (``_record_too_large(..., None)`` for the value's bytes: a TypeError)."""
    node, storage, stored = _clock_heavy_copy()
    put = PutRequest(5, KEY, b"y" * 1024, node.puts._context(KEY, stored), None, "c1")
    effects = persist(storage, node.client_request(2.0, put),
                      lambda error: node.persist_failed(2.0, error))
    assert [str(effect.error) for effect in effects if isinstance(effect, Reply)] == [
        "the record of this key would be 2401 bytes with this value, over "
        "max_record_bytes (2200): it would hold this one value (1024 bytes) and 1377 "
        "bytes of clock and metadata (in dvv a clock entry for each start of a node that "
        "coordinated the key, pruned only once the replicas heard of the start that "
        "retired it: docs/impl.md, 'Disk loss and key amnesia'); write a smaller value "
        "or raise max_record_bytes"]


def _clock_heavy_copy() -> tuple[Node, MemoryStorage, Record]:
    """n1 (``max_record_bytes`` 2200) holding a peer's dvv copy of KEY over the limit
    by its clock: one value of 1000 bytes and 45 entries of other lifetimes, 2348
    bytes encoded."""
    storage = MemoryStorage("always")
    node = Node("n1", make_config(3, n=3, r=2, w=2, max_value_bytes=1024,
                                  max_record_bytes=2200), storage, seed=1)
    node.start(0.0)
    entries: list[tuple[str, int, list[bytes]]] = [(f"n9~{i:012x}", 1, []) for i in range(45)]
    peer = Record(ClockMode.DVV, dvvset=dvv.DVVSet.of(
        [*entries, ("n2~bbbbbbbbbbbb", 1, [b"x" * 1000])]))
    persist(storage, node.receive(1.0, "n2", ReplicaPut(99, KEY, encode_record(peer))),
            lambda error: node.persist_failed(1.0, error))
    stored = node.replica.local_record(KEY)
    assert stored == peer and len(encode_record(stored)) == 2348
    return node, storage, stored


def test_a_put_of_a_record_over_the_limit_waits_as_long_as_its_bytes() -> None:
    """Session 17: a put whose record is over ``max_record_bytes`` (accepted: not larger
    than the copy it replaces, which the clock made large) waits ``record_patience``
    of the larger of the stored values' bytes and the record's, here the record's
    (2277 of 2200). Killed (the resumed run): ``_coordinate__mutmut_195`` (the stored
    values' bytes always: 1000, no patience)."""
    node, storage, stored = _clock_heavy_copy()
    put = PutRequest(5, KEY, b"y" * 900, node.puts._context(KEY, stored), None, "c1")
    effects = persist(storage, node.client_request(2.0, put),
                      lambda error: node.persist_failed(2.0, error))
    assert not [effect for effect in effects if isinstance(effect, Reply)]
    (coordination,) = node.puts.coordinations.values()
    assert len(coordination.record) == 2277
    assert coordination.patience == 2277 / 2200
    assert coordination.deadline == 2.0 + node.config.request_timeout * 2277 / 2200


def test_a_round_minted_late_in_a_put_times_out_at_the_puts_deadline() -> None:
    """A round minted again (``PutCoordinator._remint``) keeps the first round's
    deadline; minted 0.05 s before it, its timer is set at the deadline, not a
    replica timeout (0.3 s) later. Killed (the resumed run): ``_coordinate__mutmut_346``
    (the timer at ``now + replica_timeout x patience`` even past the deadline)."""
    node, storage = remint_node()
    put, _ = answered_put(node, storage)
    deadline = node.puts.coordinations[put.op_id].deadline
    assert (deadline, node.config.replica_timeout) == (2.0, 0.3)
    out = persist(storage, node.receive(deadline - 0.05, "n3", ReplicaPutAck(
        put.op_id, REMINT_KEY, record=alice_record(node, 2, b"v2"))))
    (again, *_) = replica_puts(out)
    assert node.puts.coordinations[again.op_id].deadline == deadline
    assert [(effect.timer, effect.at) for effect in out if isinstance(effect, SetTimer)] == [
        (PutTimeout(again.op_id), deadline)]


def test_a_round_of_an_answered_put_over_the_lingering_bounds_ends_at_once() -> None:
    """A round minted again after the answer lingers from its start (no client waits
    on it); over the lingering table's bounds (here ``limit`` 0) it is ended early at
    once, its timer cancelled. Killed (the resumed run): ``_coordinate__mutmut_353``
    (the lingering table given no end hook: a TypeError)."""
    node, storage = remint_node()
    put, _ = answered_put(node, storage)
    node.lingering.limit = 0
    out = persist(storage, node.receive(1.02, "n3", ReplicaPutAck(
        put.op_id, REMINT_KEY, record=alice_record(node, 2, b"v2"))))
    (again, *_) = replica_puts(out)
    assert out[-2:] == [SetTimer(PutTimeout(again.op_id), 1.32),
                        CancelTimer(PutTimeout(again.op_id))]
    assert again.op_id not in node.puts.coordinations and len(node.lingering) == 0
    assert node.stats["lingering-ended-early"] == 1
