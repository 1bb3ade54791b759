"""A reap round waits for the gets of its key in progress when it begins, at the node
deciding it as at every member it asks (session 39; spec/deletes.py guard 2's get
part, impl/reaping.py ``Reaper.on_query``).

A get that began before the round may hold, or be about to receive, a reply read
before the tombstone reached its replier: a value the delete covers, which it would
return and read-repair once the tombstones are gone. A get that begins later reads
stores the round finds clean, so it does not hold the reap off (before, any get in
progress did, and gets overlapping at every node refused every round:
tests/impl/test_reap_polled_key.py).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable

import pytest

from impl import SimulatedCluster
from impl.effects import DeleteRecord, Effect, Send
from impl.messages import (
    GetRequest,
    Reap,
    ReapQuery,
    ReapQueryReply,
    ReplicaGet,
    ReplicaGetReply,
    ReplicaPut,
)
from impl.reaping import Reaper
from impl.simulator import InFlight
from impl.timers import ReapTombstone
from tests.refinement.mutations import _mutant

KEY = b"k"

#: the deciding node decides once every member answered clean, whether or not a get
#: of the key it coordinated when the round began is still in progress
DECIDE_IGNORES_OWN_GETS = _mutant(Reaper, "_decide", "if round_.waiting or round_.reading:",
                                  "if round_.waiting:")


def _sends(effects: list[Effect], kind: type) -> list[Send]:
    return [e for e in effects if isinstance(e, Send) and isinstance(e.message, kind)]


@pytest.mark.parametrize("mutant", [None, "decide-ignores-own-gets"])
def test_the_deciding_node_waits_for_its_own_get_in_progress(mutant: str | None) -> None:
    """3 nodes (N = 3): v1, then a delete seen by all three; n1's reap timer is due.
    n1 begins a get of the key (its own read holds the tombstone; its requests to n2
    and n3 are held back), then its round: n2 and n3 answer clean. Right value: n1
    does not reap until the get ended; the get's replies end it, and then n1 reaps
    (its copy deleted, a ``Reap`` to each other target). The mutant
    ``decide-ignores-own-gets`` reaps on the last clean answer, the get still in
    progress."""
    cluster = SimulatedCluster(nodes=3, n=3, r=2, w=2, seed=1, tombstone_grace_s=0.5)
    client = cluster.client(coordinator="n1")
    client.put(KEY, b"v1")
    cluster.run_until_quiet()
    client.delete(KEY, context=client.get(KEY, r=3).context)
    cluster.run_for(0.1)
    node = cluster.node("n1")
    [timer] = [t for t in node.reaper.armed if t.key == KEY]
    assert isinstance(timer, ReapTombstone)
    now = cluster.now
    asked = _sends(node.client_request(now, GetRequest(99, KEY)), ReplicaGet)
    assert sorted(s.dest for s in asked) == ["n2", "n3"]
    with DECIDE_IGNORES_OWN_GETS() if mutant else contextlib.nullcontext():
        queries = _sends(node.fire(now, timer), ReapQuery)
        assert sorted(s.dest for s in queries) == ["n2", "n3"]
        query_id = queries[0].message.query_id
        answered: list[Effect] = []
        for member in ("n2", "n3"):
            answered += node.receive(now, member, ReapQueryReply(query_id, KEY, True))
        op_id = asked[0].message.op_id
        ended: list[Effect] = []
        for member in ("n2", "n3"):
            record = cluster.node(member).replica.storage.read(KEY)
            assert record is not None
            ended += node.receive(now, member, ReplicaGetReply(op_id, KEY, record))
    reaps = [(sorted(s.dest for s in _sends(effects, Reap)),
              any(isinstance(e, DeleteRecord) for e in effects))  # n1's own copy
             for effects in (answered, ended)]
    decided = (["n2", "n3"], True)
    assert reaps == ([decided, ([], False)] if mutant else [([], False), decided])



#: a get that the reap waited for ends and the answer (the round) is clean whatever
#: it held: the node tells the reaper no reply of it held a live version
LIVE_IGNORED = _mutant(Reaper, "get_ended", "answer.live |= live", "answer.live |= False")


def _run(cluster: SimulatedCluster, done: Callable[[], bool], seconds: float,
         held: list[InFlight]) -> None:
    """Step ``cluster`` until ``done()`` or ``seconds`` passed (by one event at most),
    losing every replica put to n2 and keeping n1's replies to n3's gets out of
    flight (into ``held``)."""
    sim = cluster.sim
    end = sim.now + seconds
    while not done() and sim.now < end:
        for message in sim.in_flight():
            if isinstance(message.message, ReplicaPut) and message.dest == "n2":
                sim.drop(message.id)
            elif (isinstance(message.message, ReplicaGetReply)
                  and (message.src, message.dest) == ("n1", "n3")):
                sim.drop(message.id)
                held.append(message)
        if not sim.step():
            return


@pytest.mark.parametrize("mutant", [None, "live-ignored"])
def test_a_get_ending_with_a_live_version_holds_the_reap_off(mutant: str | None) -> None:
    """3 nodes (N = 3, R = W = 2), grace 0.5 s, no anti-entropy; every replica put to
    n2 is lost, so n2 never holds k. v1 is written (n1, n3). A get G through n3
    answers v1 (its own read and n2's "not found"); n1's reply to it, v1, is held
    up. A delete with G's context is acknowledged by n1 and n3; n1 restarts (its
    coordination of the delete gone), and a get through n1 at R = 3 reads the
    tombstone at n1 and n3 and nothing at n2, and sets the reap. Its round asks n2
    and n3; n3 waits for G. Then n1's reply reaches n3: G ends, its read repair
    sends v1 to n2 (which answered without it), and n3 answers. Right value: the
    deleted v1 never comes back (a get at R = 3 five seconds later finds nothing);
    n3's answer is "not clean" (G held v1), the next round finds n2's repaired copy
    and settles it. The mutant ``live-ignored`` (session 39 as merged): n3 answers
    clean, n1 reaps n1 and n3 while v1 is on its way to n2, and v1 is back."""
    cluster = SimulatedCluster(nodes=3, n=3, r=2, w=2, seed=1, tombstone_grace_s=0.5,
                               anti_entropy=False)
    held: list[InFlight] = []
    n1, n3 = cluster.client(coordinator="n1"), cluster.client(coordinator="n3")
    put = n1.submit_put(KEY, b"v1")
    _run(cluster, lambda: False, 1.5, held)
    assert {name: r is not None for name, r in cluster.replicas(KEY).items()} == {
        "n1": True, "n2": False, "n3": True}
    get = n3.submit_get(KEY)
    _run(cluster, lambda: get.done, 1.0, held)
    assert put.done and get.result().values == [b"v1"] and len(held) == 1
    delete = n1.submit_delete(KEY, context=get.result().context)
    _run(cluster, lambda: delete.done, 1.0, held)
    delete.result()
    cluster.crash("n1")
    cluster.restart("n1")
    check = cluster.client(coordinator="n1").submit_get(KEY, r=3)
    _run(cluster, lambda: check.done, 1.0, held)
    assert check.result().values == []
    with LIVE_IGNORED() if mutant else contextlib.nullcontext():
        _run(cluster, lambda: bool(cluster.node("n3").reaper.held), 1.0, held)
        assert list(cluster.node("n3").reaper.held) == [KEY]  # G still in progress
        [reply] = held
        cluster.sim.perform("n1", [Send("n3", reply.message)])
        _run(cluster, lambda: False, 5.0, held)
    assert cluster.client().get(KEY, r=3).values == ([b"v1"] if mutant else [])


#: the deciding node's round ignores what its own get it waited for held
ROUND_LIVE_IGNORED = _mutant(Reaper, "get_ended", "round_.live |= live",
                             "round_.live |= False")


@pytest.mark.parametrize("mutant", [None, "round-live-ignored"])
def test_the_deciding_node_reaps_nothing_after_its_own_get_held_a_live_version(
        mutant: str | None) -> None:
    """As :func:`test_the_deciding_node_waits_for_its_own_get_in_progress`, but n2's
    and n3's replies to n1's get are their copies read before the delete reached
    them (v1). Right value: when the get ends (its read repair sends the tombstone,
    which dominates v1: here nothing is lost, but n1 cannot tell a repair into an
    empty copy from one into a tombstone), n1 reaps nothing this round. The mutant
    ``round-live-ignored`` reaps (n1's copy deleted, a ``Reap`` to n2 and n3)."""
    cluster = SimulatedCluster(nodes=3, n=3, r=2, w=2, seed=1, tombstone_grace_s=0.5)
    client = cluster.client(coordinator="n1")
    client.put(KEY, b"v1")
    cluster.run_until_quiet()
    before = {m: cluster.node(m).replica.storage.read(KEY) for m in ("n2", "n3")}
    client.delete(KEY, context=client.get(KEY, r=3).context)
    cluster.run_for(0.1)
    node = cluster.node("n1")
    [timer] = [t for t in node.reaper.armed if t.key == KEY]
    now = cluster.now
    asked = _sends(node.client_request(now, GetRequest(99, KEY)), ReplicaGet)
    with ROUND_LIVE_IGNORED() if mutant else contextlib.nullcontext():
        queries = _sends(node.fire(now, timer), ReapQuery)
        query_id = queries[0].message.query_id
        for member in ("n2", "n3"):
            assert node.receive(now, member, ReapQueryReply(query_id, KEY, True)) == []
        ended: list[Effect] = []
        for member in ("n2", "n3"):
            record = before[member]
            assert record is not None
            ended += node.receive(now, member,
                                  ReplicaGetReply(asked[0].message.op_id, KEY, record))
    reaped = (sorted(s.dest for s in _sends(ended, Reap)),
              any(isinstance(e, DeleteRecord) for e in ended))
    assert reaped == ((["n2", "n3"], True) if mutant else ([], False))
    assert not node.reaper.rounds
