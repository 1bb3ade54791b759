"""A put refused for ``max_siblings`` says how many of the siblings are tombstones, which
a get does not show (session 35's service probe).

Over HTTP (``max_siblings = 5``): five blind puts to ``sib`` (five values), a delete
without a context (one tombstone covering them), then four blind puts, each
concurrent with the tombstone: a get answered 300 with four values, and the fifth
blind put was refused 400 "key has more than 5 siblings: read and reconcile them
first", the sixth sibling being the tombstone no read showed. The refusal now names
the tombstones; a refusal over values alone reads as before."""

from __future__ import annotations

import pytest

from impl import SimulatedCluster
from impl.errors import BadRequestError

MESSAGE = "key has more than 2 siblings (max_siblings): read and reconcile them first"


@pytest.mark.parametrize("clock", ["dvv", "client-vclock"])
def test_the_refusal_names_the_tombstones_a_get_does_not_show(clock: str) -> None:
    cluster = SimulatedCluster(nodes=3, n=3, r=2, w=2, seed=3, clock=clock,
                               delete_mode="keep", max_siblings=2)
    client = cluster.client("n1", client_id="alice")
    client.put(b"k", b"v1")
    client.delete(b"k", context=client.get(b"k").context)
    cluster.run_until_quiet()
    client.put(b"k", b"a")  # blind: concurrent with the tombstone
    cluster.run_until_quiet()
    assert client.get(b"k", r=3).values == [b"a"]  # one value shown, two siblings held
    with pytest.raises(BadRequestError) as refused:
        cluster.client("n1", client_id="bob").put(b"k", b"b")
    assert str(refused.value) == (
        f"{MESSAGE} (1 of the 3 this put would make is a tombstone of a delete, which a "
        "get does not show: a put with a get's context supersedes them)")
    read = client.get(b"k", r=3)
    client.put(b"k", b"merged", context=read.context)  # the way out it names
    cluster.run_until_quiet()
    assert cluster.client("n2").get(b"k", r=3).values == [b"merged"]


def test_a_refusal_over_values_alone_reads_as_before() -> None:
    cluster = SimulatedCluster(nodes=3, n=3, r=2, w=2, seed=3, max_siblings=2)
    client = cluster.client("n1")
    client.put(b"k", b"a")
    client.put(b"k", b"b")
    with pytest.raises(BadRequestError) as refused:
        client.put(b"k", b"c")
    assert str(refused.value) == MESSAGE
