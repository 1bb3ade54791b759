"""A coordinator whose own disk is full counts its copy as one failed replica; the
other replicas' acks decide (session 50's service probe, docs/runtime.md "A node
whose disk is full (session 50)").

Scenario: a put through a node whose engine fails every write (SQLite's
``database or disk is full``) at W = 2 of N = 3 was answered with the
StorageError (HTTP 500, outcome unknown), although the two other replicas stored
it. Riak's put FSM counts a vnode's ``{error, ...}`` as one failed reply: the put
succeeds when W others acknowledge, else it fails (503, ``too_many_fails``)
naming the cause. Here the simulator's storage for the coordinator raises
:class:`~impl.errors.StorageError` at every write.

Mutant (checked by hand, session 50): ``Node.persist_failed`` returning
``self.puts.abandon(error)``'s effects as before (every put not answered failed
with the StorageError): the first test fails (the put raises StorageError), the
second too (StorageError, not QuorumError)."""

from __future__ import annotations

import pytest

from impl.cluster import SimulatedCluster
from impl.effects import Effect, GetResult, PutResult, Reply, Send
from impl.errors import QuorumError, StorageError
from impl.messages import ForwardReply, ReplicaPut, ReplicaPutAck, ReplicaPutFailed
from impl.staging import failed_effects
from impl.storage.base import Storage

KEY = b"cart"


class _FullDisk:
    """Wraps an engine; every write (a record, a hint, a meta entry) raises the
    engine's error while ``full`` is set, as SQLite's SQLITE_FULL does."""

    def __init__(self, inner: Storage) -> None:
        self.inner = inner
        self.full = False

    def _check(self) -> None:
        if self.full:
            raise StorageError("database or disk is full")

    def write(self, key: bytes, record: bytes) -> None:
        self._check()
        self.inner.write(key, record)

    def add_hint(self, intended: str, key: bytes, record: bytes) -> int:
        self._check()
        return self.inner.add_hint(intended, key, record)

    def set_meta(self, name: str, value: bytes) -> None:
        self._check()
        self.inner.set_meta(name, value)

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)


def _cluster(w: int, nodes: int = 3, full_at: int = 0) -> tuple[SimulatedCluster, str,
                                                                  _FullDisk]:
    """A cluster whose key's ``full_at``-th replica has a full disk; its first
    replica (the coordinator) is returned."""
    cluster = SimulatedCluster(nodes=nodes, n=3, r=2, w=w, seed=1)
    coordinator = cluster.node("n1").preference_list(KEY)[0]
    watched = cluster.storages[cluster.node("n1").preference_list(KEY)[full_at]]
    full = _FullDisk(watched.inner)
    watched.inner = full  # type: ignore[assignment]  # a Storage by duck typing
    full.full = True
    return cluster, coordinator, full


def test_a_full_coordinator_counts_itself_failed_and_the_others_acks_decide() -> None:
    cluster, coordinator, full = _cluster(w=2)
    with cluster:
        client = cluster.client(coordinator)
        client.put(KEY, b"milk", coordinator=coordinator)  # W = 2: the two others
        assert cluster.node(coordinator).stats["storage-error"] >= 1
        others = [name for name in cluster.node_names if name != coordinator]
        for other in others:  # each of the two others holds it; the full node does not
            assert cluster.client(other).get(KEY, r=1, coordinator=other).values == [b"milk"]
        assert full.inner.read(KEY) is None
        full.full = False  # space again: its writes succeed
        client.put(KEY, b"tea", client.get(KEY, r=2, coordinator=others[0]).context,
                   coordinator=coordinator, w=3)


def test_a_full_coordinator_that_w_needs_fails_at_once_naming_the_disk() -> None:
    cluster, coordinator, _ = _cluster(w=3)
    with cluster:
        client = cluster.client(coordinator)
        start = cluster.now
        with pytest.raises(QuorumError) as failure:
            client.put(KEY, b"milk", coordinator=coordinator)
        assert failure.value.replicas_failed
        assert "(this node's own write): database or disk is full" in str(failure.value)
        assert cluster.now - start < cluster.config.replica_timeout  # not at a timeout


def test_a_full_replica_refuses_at_once_and_w_that_needs_it_fails_naming_it() -> None:
    """A replica whose write failed sends ReplicaPutFailed instead of nothing: its
    coordinator fails a put that needs it at once, naming the replica and its error
    (before: a 504 at the request's deadline naming the replica silent). Mutant:
    ``failed_effects`` dropping the refusal as it drops every Send: the put times
    out (QuorumError without ``replicas_failed``) and this fails."""
    cluster, coordinator, _ = _cluster(w=3, full_at=2)
    full = cluster.node(coordinator).preference_list(KEY)[2]
    with cluster:
        start = cluster.now
        with pytest.raises(QuorumError) as failure:
            cluster.client(coordinator).put(KEY, b"milk", coordinator=coordinator)
        assert failure.value.replicas_failed, failure.value
        assert f"failed: {full}: database or disk is full" in str(failure.value)
        assert cluster.now - start < cluster.config.replica_timeout
        assert cluster.node(coordinator).stats["replica-put-failed"] == 1


def test_a_full_replicas_part_goes_to_a_fallback_at_once() -> None:
    """With a fallback left (4 nodes, N = 3, W = 3), the full replica's part is
    handed to it with a hint as soon as the refusal arrives, not at
    ``replica_timeout``; the hint is kept for the full node."""
    cluster, coordinator, _ = _cluster(w=3, nodes=4, full_at=2)
    preference = cluster.node(coordinator).preference_list(KEY)
    full, fallback = preference[2], preference[3]
    with cluster:
        start = cluster.now
        cluster.client(coordinator).put(KEY, b"milk", coordinator=coordinator)
        assert cluster.now - start < cluster.config.replica_timeout
        assert [hint.intended for hint in cluster.storages[fallback].hints()] == [full]


def test_a_failed_write_keeps_a_gets_answer_and_turns_the_rest() -> None:
    """A node whose disk is full still serves reads: a get's answer held behind a
    write that failed (its read repair of the node's own copy) is kept, a Reply or
    a ForwardReply of a get; a put's Reply becomes the error, and a replica's ack
    its refusal. Found by tests/runtime/test_disk_full_processes.py (a GET at
    ``r=2`` through the full node answered 500 StorageError, 1 run of 5). Mutant:
    every Reply turned and every Send dropped (the code before): this fails."""
    error = StorageError("database or disk is full")
    got = GetResult([b"milk"], b"ctx")
    rest: list[Effect] = [
        Reply(1, result=got), Reply(2, result=PutResult(b"ctx")),
        Send("n2", ForwardReply(3, "get", (b"milk",), b"ctx")),
        Send("n2", ForwardReply(4, "put", context=b"ctx")),
        Send("n3", ReplicaPutAck(5, KEY, "n1")), Send("n3", ReplicaPut(6, KEY, b"r"))]
    assert failed_effects(rest, error, None) == [
        Reply(1, result=got), Reply(2, error=error),
        Send("n2", ForwardReply(3, "get", (b"milk",), b"ctx")),
        Send("n3", ReplicaPutFailed(5, KEY, "n1", "database or disk is full"))]


@pytest.mark.parametrize("full_again", [False, True])
def test_a_version_whose_own_write_failed_is_not_minted_again(full_again: bool) -> None:
    """kv679 through a full disk: alice's blind ``v1`` through the full coordinator
    is acknowledged by the other two; bob's blind ``v2`` through it then (space
    back, or still full) must not reuse v1's dot, which the replicas would take for
    the same version: dvv reads ``[v1, v2]``, as without the failure. Found while
    this fix was written (``[v2]``: v1, acknowledged, lost). Mutant:
    ``PutCoordinator._coordinate`` not merging :attr:`unpersisted` before its mint:
    ``[v2]``, both cases fail."""
    cluster, coordinator, full = _cluster(w=2)
    with cluster:
        cluster.client(coordinator, client_id="alice").put(KEY, b"v1",
                                                           coordinator=coordinator)
        full.full = full_again
        cluster.client(coordinator, client_id="bob").put(KEY, b"v2", coordinator=coordinator)
        full.full = False
        cluster.run_for(30)
        got = cluster.client(coordinator).get(KEY, r=3, coordinator=coordinator)
        assert sorted(got.values) == [b"v1", b"v2"]
