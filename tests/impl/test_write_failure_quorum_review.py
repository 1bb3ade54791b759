"""Two write-failure paths of ``impl/put_coordinator.py`` no test reached (session
52's review: mutants of the failing disk's paths, each surviving
tests/impl, tests/refinement and tests/model_check before these tests):

- ``_quorum_lost`` takes ``max(W, PW)``: with PW above W, a refusal that puts PW
  out of reach fails the put at once (Riak's ``too_many_fails`` against pw). Mutant:
  ``quorum = coordination.w``: the put waits for its deadline (this test fails).
- ``local_write_failed`` checks the quorum again after taking its own ack back: a
  put answered while its own commit ran (a slow disk: the runtime's group commit
  holds the answer), whose commit then fails, is answered again at once with the
  others' acks when they still reach W. Mutant: ``_check`` left out there: no
  answer, the put taken back until the silent replica acks (this test fails).

A Node alone, its effects read directly; deterministic, a few ms.
"""

from __future__ import annotations

from impl.effects import Effect, Reply
from impl.errors import QuorumError, StorageError
from impl.messages import PutRequest, ReplicaPutAck, ReplicaPutFailed
from impl.node import Node
from impl.staging import persist, reply_ids
from impl.storage.memory import MemoryStorage
from model_check.refinement import refusing
from tests.impl.test_coordinator_disk_full import KEY, _cluster
from tests.impl.test_late_refusal_quorum import _key, _sends
from tests.impl.test_node_driver import make_config


def _put(node: Node, key: bytes) -> tuple[list[Effect], int]:
    effects = node.client_request(0.0, PutRequest(7, key, b"v", b"", None, "c"))
    op_id = _sends(effects)[0].message.op_id  # type: ignore[union-attr]
    return effects, op_id


def _replies(effects: list[Effect]) -> list[Reply]:
    return [effect for effect in effects if isinstance(effect, Reply)]


def test_a_refusal_that_puts_pw_out_of_reach_fails_the_put_at_once() -> None:
    """N = 3, W = 1, PW = 3, strict: the coordinator's own copy is W, but one
    replica's refusal leaves two primaries of the three PW needs."""
    config = make_config(3, n=3, r=1, w=1, pw=3, sloppy_quorum=False)
    storage = MemoryStorage("always")
    node = Node("n1", config, storage, seed=1)
    node.start(0.0)
    key = _key(node)
    effects, op_id = _put(node, key)
    assert not _replies(persist(storage, effects))  # W = 1 met, PW = 3 not yet
    refused = node.receive(0.01, node.preference_list(key)[1],
                           ReplicaPutFailed(op_id, key, error="database or disk is full"))
    replies = _replies(refused)
    assert len(replies) == 1 and isinstance(replies[0].error, QuorumError), refused
    assert replies[0].error.replicas_failed


def test_a_put_answered_before_its_own_commit_failed_is_answered_again_at_once() -> None:
    """N = 3, W = 1: the put is answered on the coordinator's own copy, still to be
    committed (its answer held by the driver), and one replica acks while the third
    is silent (the coordination goes on); the commit fails: the put is answered again
    at once, stored by that replica. (With W = 2 and both replicas acked the put has
    ended and takes ``_ended_write_failed``'s path instead.)"""
    config = make_config(3, n=3, r=1, w=1, sloppy_quorum=False)
    node = Node("n1", config, MemoryStorage("always"), seed=1)
    node.start(0.0)
    key = _key(node)
    effects, op_id = _put(node, key)  # its writes not performed yet: a commit queued
    assert [reply.error for reply in _replies(effects)] == [None]  # held behind it
    assert node.receive(0.01, node.preference_list(key)[1], ReplicaPutAck(op_id, key)) == []
    again = node.persist_failed(0.02, StorageError("database or disk is full"),
                                reply_ids(effects))
    replies = _replies(again)
    assert len(replies) == 1 and replies[0].error is None, again
    assert 7 not in node.taken_back


def test_a_part_refused_by_its_fallback_goes_on_to_a_second_free_fallback() -> None:
    """Five nodes, N = 3, W = 3, sloppy: the third replica and the first fallback are
    full; the part goes on to the second fallback, whose ack makes W. The brief's
    question, "does session 52's ``failed_at`` clause fail a put with a second
    fallback free?": no, and by construction: ``_part_failed`` hands the part on
    while a fallback is free and consults ``_quorum_lost`` only when none is, so no
    mutant of ``_quorum_lost`` fails this test. Mutant that does: ``_part_failed``
    without its fallback branch (the put fails at the first refusal)."""
    cluster, coordinator, _ = _cluster(w=3, nodes=5, full_at=2)
    full, first, second = cluster.node(coordinator).preference_list(KEY)[2:5]
    with cluster, refusing(cluster.storages[first]):
        cluster.client(coordinator).put(KEY, b"milk", coordinator=coordinator)
        assert [hint.intended for hint in cluster.storages[second].hints()] == [full]
        assert not list(cluster.storages[first].hints())
