"""Session 58's review of red team 8's dvv change, fixed at the root in session 59:
red team 8's scenario (one *named* client's three blind puts of a key, then puts
each with the context the previous put answered; three interleaved chains of one
client) on the seeded simulator, whose clients
(:meth:`impl.cluster.SimulatedCluster.client`) pass their ids to the coordinator
directly, not through the HTTP API.

The fault's cause was the dot's place (``spec.dvv.dot_actor`` before session 59):
the third blind put found the server's entry and the client's pair each holding a
value it did not read, took the server's actor, and answered its context alone (the
empty context: a blind put), so every chained put was blind again, one sibling each
until "more than 25 siblings". Since session 59 such a put takes a fresh pair
``"<actor>/<k> <client>"`` whatever the client (the rule session 48 gave the shared
id ``impl.versions.SHARED_CLIENT_ID`` alone), in the spec's put
(``spec.clocks.put``) and the implementation's (``impl.versions.dot_actor``) alike,
and the HTTP API passes the client's name again (session 58's ``_request_of``
override, every dvv write the shared id, is gone).

Mutants of ``spec.dvv.dot_actor``'s loop (session 59): returning ``actor`` past an
unread value of the pair unless the client is ``http`` (the rule before, session
48's ``shared``): the named tests fail ("more than 25 siblings", as session 58's
strict xfails), the shared id's pass; returning ``actor`` for every client: all
four fail."""

from __future__ import annotations

import pytest

from impl.cluster import SimulatedCluster
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
    """The id of every HTTP write that names no client (``SHARED_CLIENT_ID``): fresh
    pairs past the pair's unread value, each chain's answered context names its
    put."""
    assert _chains(SHARED_CLIENT_ID, nodes, coordinator) == RIGHT


@pytest.mark.parametrize(("nodes", "coordinator"), [(1, "n1"), (3, None)])
def test_a_named_clients_chains_on_the_simulator(nodes: int,
                                                 coordinator: str | None) -> None:
    """The simulator's named client (``c1``-style ids, or any ``client_id``): the
    same values as the shared id's (refused at chained put 22 before session 59)."""
    assert _chains("shop-7", nodes, coordinator) == RIGHT
