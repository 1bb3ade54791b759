"""Review of the full-disk change (session 50, review; docs/runtime.md "Review of
the full-disk change (session 50, review)").

A slow disk: the coordinator's own commit of a put is still running when every
other target's ack arrives, so the put's coordination ends (its answer held behind
the commit, ``NodeServer._held``), and then the commit fails (a full disk). The
coordinator's copy is lost while n-1 others hold the version; s50-diskfull kept
the record of a put whose own write failed (``PutCoordinator.unpersisted``) only
for coordinations still going on, so the next put of the key through the node read
its copy without the version and minted its dot again: in dvv bob's blind ``v2``
(200) was stored by the coordinator only, the others keeping ``v1`` under the
same dot, and a read of two of them answered ``[v1]``: an acknowledged write
lost. The same through a forwarded put (its ForwardReply held and dropped).

The driver here stands in for ``impl.runtime.NodeServer``'s group commit: the
coordinator's writes of the first put are held (never committed), its Sends
leave at once (a ReplicaPut acknowledges nothing), its answers wait, and the
commit then fails: ``failed_effects`` over the held answers, as ``_durable``.

The other modes, checked by hand on s50-diskfull with this driver: server-vclock
and client-vclock keep v1 and v2 as two siblings under one clock (no value lost;
the next write with their context supersedes both), lww mints no dot.

The put's answer (s50-diskfull: the error, 500 "outcome unknown", though the two
others stored it at W = 2) is answered again by the others' acks: 200.

Mutants (checked by hand, session 50 review): ``_check`` not keeping an ended
coordination (:attr:`PutCoordinator.held_ended`): both cases of the first test
fail (500; v1 and v2 under one dot); ``staging.reply_ids`` leaving out a put's
ForwardReply: the forwarded case fails (no answer)."""

from __future__ import annotations

import pytest

from impl.cluster import SimulatedCluster
from impl.config import ClusterConfig
from impl.effects import Effect, PutResult, Reply, Send
from impl.errors import QuorumError, StorageError
from impl.messages import ForwardReply, GetRequest, PutRequest, ReplicaPut, ReplicaPutFailed
from impl.node import Node
from impl.staging import failed_effects, persist, reply_ids, split
from impl.storage.memory import MemoryStorage
from impl.versions import values
from tests.impl.test_coordinator_disk_full import _FullDisk

KEY = b"cart"


class _Driver:
    """Nodes over memory engines; messages delivered in order, timers never fire.
    While ``slow`` names a node its writes are held (a commit still running) and
    its Replies and ForwardReplies wait for them (fsync = always)."""

    def __init__(self, names: tuple[str, ...], clock: str) -> None:
        self.config = ClusterConfig(nodes=names, n=3, r=2, w=2, clock=clock)
        self.stores = {name: MemoryStorage("always") for name in names}
        self.nodes = {name: Node(name, self.config, self.stores[name], seed=1)
                      for name in names}
        self.now = 0.0
        self.slow = ""
        self.held: list[Effect] = []
        self.queue: list[tuple[str, str, object]] = []
        self.replies: dict[int, Reply] = {}
        for name in names:
            persist(self.stores[name], self.nodes[name].start(self.now))

    def perform(self, name: str, effects: list[Effect]) -> None:
        node = self.nodes[name]
        if name == self.slow:
            effects = split(effects)[1]  # its writes: never committed
            self.held += [effect for effect in effects if isinstance(effect, Reply) or (
                isinstance(effect, Send) and isinstance(effect.message, ForwardReply))]
        else:
            effects = persist(self.stores[name], effects, lambda error: node.persist_failed(
                self.now, error, reply_ids(effects)), lambda: node.taken_back)
        for effect in effects:
            if effect in self.held:
                continue
            if isinstance(effect, Reply):
                self.replies[effect.request_id] = effect
            elif isinstance(effect, Send):
                self.queue.append((name, effect.dest, effect.message))
        while self.queue:
            src, dest, message = self.queue.pop(0)
            self.perform(dest, self.nodes[dest].receive(self.now, src, message))

    def commit_fails(self) -> None:
        node, held = self.nodes[self.slow], self.held
        self.slow, self.held = "", []
        error = StorageError("database or disk is full")
        self.perform(node.name, failed_effects(
            held, error, lambda e: node.persist_failed(self.now, e, reply_ids(held)),
            lambda: node.taken_back))

    def put(self, entry: str, request_id: int, value: bytes, client_id: str) -> Reply:
        self.now += 1.0
        self.perform(entry, self.nodes[entry].client_request(
            self.now, PutRequest(request_id, KEY, value, client_id=client_id)))
        return self.replies[request_id]


@pytest.mark.parametrize("forwarded", [False, True])
def test_a_put_every_target_acked_before_its_own_commit_failed_is_not_minted_again(
        forwarded: bool, clock: str = "dvv") -> None:
    names = ("n1", "n2", "n3", "n4") if forwarded else ("n1", "n2", "n3")
    driver = _Driver(names, clock)
    preference = driver.nodes["n1"].preference_list(KEY)[:3]
    coordinator = preference[0]
    entry = next(name for name in names if name not in preference) if forwarded else (
        coordinator)
    driver.slow = coordinator
    driver.perform(entry, driver.nodes[entry].client_request(1.0, PutRequest(
        1, KEY, b"v1", client_id="alice")))
    assert driver.held and 1 not in driver.replies, "the answer waits for the commit"
    driver.commit_fails()
    assert driver.stores[coordinator].read(KEY) is None
    # the two others stored it, W = 2: 200 (s50-diskfull: 500 StorageError, or a
    # forwarded put's origin waiting for its timeout)
    assert isinstance(driver.replies[1].result, PutResult), driver.replies.get(1)
    # bob's blind write through the same node, its disk back (client-vclock: alice
    # again, whose entry is the one minted)
    client = "alice" if clock == "client-vclock" else "bob"
    assert isinstance(driver.put(entry, 2, b"v2", client).result, PutResult)
    for name in preference:  # each replica holds the acknowledged v2
        record = driver.nodes[name].replica.local_record(KEY)
        assert b"v2" in values(record), (name, record)
    driver.now += 1.0
    for name in preference:  # a read of two: never v1 alone
        driver.perform(name, driver.nodes[name].client_request(
            driver.now, GetRequest(10 + preference.index(name), KEY, r=2)))
        got = driver.replies[10 + preference.index(name)].result
        assert got is not None and b"v2" in getattr(got, "values", []), (name, got)


def test_a_put_ended_before_its_own_commit_failed_that_needed_it_is_503_naming_it() -> None:
    """W = 3 of N = 3: every target acked, then the coordinator's own commit failed:
    the put can no longer reach W without its copy: a QuorumError naming the write
    (``replicas_failed``, HTTP 503, outcome unknown), as a put still going on gets;
    its record kept for the key's next mint. Mutant: ``_ended_write_failed``
    answering 200 whatever the acks left: this fails."""
    driver = _Driver(("n1", "n2", "n3"), "dvv")
    coordinator = driver.nodes["n1"].preference_list(KEY)[0]
    driver.slow = coordinator
    driver.perform(coordinator, driver.nodes[coordinator].client_request(1.0, PutRequest(
        1, KEY, b"v1", w=3, client_id="alice")))
    driver.commit_fails()
    error = driver.replies[1].error
    assert isinstance(error, QuorumError) and error.replicas_failed, error
    assert "(this node's own write): database or disk is full" in str(error)
    assert KEY in driver.nodes[coordinator].puts.unpersisted


@pytest.mark.parametrize("clock", ["dvv", "server-vclock"])
def test_a_version_whose_own_write_failed_does_not_come_back_after_its_delete_was_reaped(
        clock: str) -> None:
    """``PutCoordinator.unpersisted`` kept alice's ``v1`` (its own write failed, 200 by
    the others) until the key's next mint through the node; carol deleted it (w = 3)
    and the tombstone was reaped everywhere; bob's blind ``v2`` through the node then
    merged the kept v1 back first: ``[v1, v2]`` at r = 3, an acknowledged delete's
    value back (s50-diskfull, dvv and server-vclock). A reap of the key forgets the
    entry. Mutant: the reap not forgetting it (``_written`` ignoring the empty
    record): both cases fail."""
    cluster = SimulatedCluster(nodes=3, n=3, r=2, w=2, seed=1, clock=clock)
    coordinator = cluster.node("n1").preference_list(KEY)[0]
    other = next(name for name in cluster.node_names if name != coordinator)
    watched = cluster.storages[coordinator]
    full = _FullDisk(watched.inner)
    watched.inner = full  # type: ignore[assignment]  # a Storage by duck typing
    full.full = True
    with cluster:
        cluster.client(coordinator, client_id="alice").put(KEY, b"v1",
                                                           coordinator=coordinator)
        full.full = False
        got = cluster.client(other).get(KEY, r=3, coordinator=other)
        assert got.values == [b"v1"]
        cluster.client(other, client_id="carol").delete(KEY, got.context, coordinator=other,
                                                        w=3)
        cluster.run_for(60)  # the tombstone reaped on every replica
        assert all(cluster.storages[name].inner.read(KEY) is None
                   for name in cluster.node_names)
        cluster.client(coordinator, client_id="bob").put(KEY, b"v2", coordinator=coordinator)
        cluster.run_for(30)
        assert cluster.client(coordinator).get(KEY, r=3, coordinator=coordinator).values == [
            b"v2"]


def test_a_full_coordinators_copy_does_not_count_for_pw() -> None:
    """PW = 3 of N = 3 (4 nodes), the coordinator's own write failed: its part goes
    to the fallback with a hint and the two other primaries store it: every target
    acknowledged, but two primaries only, so the put is not acknowledged (the
    coordinator's failed copy counts for nothing, for W nor PW). Mutant (of
    s50-diskfull's code, which no test caught): ``local_write_failed`` leaving the
    coordinator in ``primary_acks``: 200, this fails."""
    cluster = SimulatedCluster(nodes=4, n=3, r=2, w=2, seed=1)
    coordinator = cluster.node("n1").preference_list(KEY)[0]
    watched = cluster.storages[coordinator]
    full = _FullDisk(watched.inner)
    watched.inner = full  # type: ignore[assignment]  # a Storage by duck typing
    full.full = True
    with cluster:
        with pytest.raises(QuorumError) as failure:
            cluster.client(coordinator).put(KEY, b"v1", coordinator=coordinator, pw=3)
        assert "2 of PW=3 primaries" in str(failure.value), failure.value


def test_a_refusal_from_a_target_that_acknowledged_changes_nothing() -> None:
    """A ReplicaPutFailed from a target whose ack was counted (duplicated, or forged
    by an authenticated peer) is ignored (``late-acks``): no copy to a fallback, no
    second answer. 4 nodes, W = 2: n2's ack answers the put (200), the third
    replica silent; then n2's refusal. Mutant (of s50-diskfull's code, which no
    test caught): ``on_failed`` without its ``target in coordination.acks`` check:
    the part is sent to the fallback, this fails."""
    driver = _Driver(("n1", "n2", "n3", "n4"), "dvv")
    preference = driver.nodes["n1"].preference_list(KEY)
    coordinator, second = preference[0], preference[1]
    node = driver.nodes[coordinator]
    effects = node.client_request(1.0, PutRequest(1, KEY, b"v1"))
    effects = persist(driver.stores[coordinator], effects)
    put = next(e.message for e in effects
               if isinstance(e, Send) and e.dest == second and isinstance(e.message, ReplicaPut))
    acked = persist(driver.stores[second], driver.nodes[second].receive(1.0, coordinator, put))
    ack = next(e.message for e in acked if isinstance(e, Send))
    answered = node.receive(1.0, second, ack)
    assert any(isinstance(e, Reply) and isinstance(e.result, PutResult) for e in answered)
    late = node.stats["late-acks"]
    assert node.receive(1.1, second, ReplicaPutFailed(put.op_id, KEY, "", "forged")) == []
    assert node.stats["late-acks"] == late + 1
