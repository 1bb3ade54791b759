"""impl.node: the behaviours mutmut found no test for (docs/refinement.md, "Mutation
score"): what the node records when its engine fails and when it drops messages."""

from __future__ import annotations

import dataclasses
import hashlib

import pytest

from impl.effects import Effect, Send, SetTimer
from impl.errors import StorageError
from impl.messages import HintAck, PutRequest, ReplicaPut, ReplicaPutAck
from impl.node import OP_ID_BASE_META, Node
from impl.staging import persist
from impl.storage.memory import MemoryStorage
from impl.timers import AntiEntropyRound, HintScan
from impl.versions import key_actor, lifetime_actor, values
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
