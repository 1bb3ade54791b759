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
)
from impl.reaping import Reaper
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

