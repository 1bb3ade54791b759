"""Session 58's review of red team 8's dvv change: red team 8's scenario (one
*named* client's three blind puts of a key, then puts each with the context the
previous put answered; three interleaved chains of one client) on the seeded
simulator, whose clients (:meth:`impl.cluster.SimulatedCluster.client`) pass
their ids to the coordinator directly, not through the HTTP API that red team 8's
fix (``HttpApi._request_of``: every dvv write over HTTP is
:data:`impl.versions.SHARED_CLIENT_ID`) changed.

The fault's cause is the dot's place (``spec.dvv.dot_actor`` without ``shared``):
the third blind put finds the server's entry and the client's pair each holding a
value it did not read, takes the server's actor, and answers its context alone (the
empty context: a blind put), so every chained put is blind again, one sibling each
until "more than 25 siblings". On the simulator, 1 node or 3 (N=3, R=W=2, through
n1 or routed): refused at chained put 22 and at round 12 of the three chains, as
over HTTP before red team 8's fix. The spec's put (``spec.clocks.put``) has the
same rule, and the lockstep refinement follows it: a root fix (fresh pairs for
every client, ``shared`` for all) changes the model checker's kv679 verdicts
(docs/dvv.md, "Fresh pairs"; docs/runtime.md, "Review of red team 8's dvv change
(session 58)"), so it is pinned open here as a strict xfail; the shared id's
chains pass (what HTTP does now).

Mutant: ``impl.versions.dot_actor`` and ``spec.clocks.put`` passing ``shared=True``
for every client (the root fix): the xfail passes (strict: the test fails), the
shared tests still pass; ``impl.versions.dot_actor`` alone changed:
``test_lockstep.py::test_implementation_refines_the_spec[strict-dvv]`` diverges."""

from __future__ import annotations

import pytest

from impl.cluster import SimulatedCluster
from impl.errors import DynamoError
from impl.versions import SHARED_CLIENT_ID


def _chains(client_id: str, nodes: int, coordinator: str | None) -> tuple[list[bytes],
                                                                         list[bytes]]:
    r = 1 if nodes == 1 else 2
    cluster = SimulatedCluster(nodes=nodes, n=nodes, r=r, w=r, seed=1, clock="dvv")
    client = cluster.client(coordinator, client_id=client_id)
    context = b""
    for value in (b"b0", b"b1", b"b2"):  # blind: concurrent with one another
        context = client.put(b"k", value).context
    for i in range(30):
        context = client.put(b"k", b"c%d" % i, context=context).context
    contexts = [b"", b"", b""]
    for i in range(20):  # three chains of one client, interleaved
        for chain in range(3):
            contexts[chain] = client.put(b"j", b"%d-%d" % (chain, i),
                                         context=contexts[chain]).context
    cluster.run_until_quiet()
    reader = cluster.client()
    return (sorted(reader.get(b"k", r=nodes).values),
            sorted(reader.get(b"j", r=nodes).values))


RIGHT = ([b"b0", b"b1", b"c29"], [b"0-19", b"1-19", b"2-19"])


@pytest.mark.parametrize(("nodes", "coordinator"), [(1, "n1"), (3, None)])
def test_the_shared_ids_chains_supersede_themselves(nodes: int,
                                                    coordinator: str | None) -> None:
    """What every dvv write over HTTP is since red team 8 (``SHARED_CLIENT_ID``):
    fresh pairs past the pair's unread value, each chain's answered context names
    its put."""
    assert _chains(SHARED_CLIENT_ID, nodes, coordinator) == RIGHT


@pytest.mark.xfail(raises=DynamoError, strict=True,
                   reason="open: spec.dvv.dot_actor's rule for named clients (a put past "
                   "its own pair's unread value takes the server's actor); refused at "
                   "chained put 22 ('more than 25 siblings')")
@pytest.mark.parametrize(("nodes", "coordinator"), [(1, "n1"), (3, None)])
def test_a_named_clients_chains_on_the_simulator(nodes: int,
                                                 coordinator: str | None) -> None:
    """The simulator's named client (``c1``-style ids, or any ``client_id``): the
    right values are those of the shared id; today refused at chained put 22."""
    assert _chains("shop-7", nodes, coordinator) == RIGHT
