"""``ClusterConfig.retired_keep`` (session 34): -1 (the byte budget) or a count >= 0;
anything else is refused with a ConfigError naming the key and the value (session
34's review)."""

from __future__ import annotations

import pytest

from impl.cluster import SimulatedCluster
from impl.config import ClusterConfig
from impl.errors import ConfigError

NODES = ("n1", "n2", "n3")


@pytest.mark.parametrize("keep", [-1, 0, 3])
def test_a_valid_count_is_taken(keep: int) -> None:
    assert ClusterConfig(nodes=NODES, retired_keep=keep).retired_keep == keep


@pytest.mark.parametrize(("keep", "says"), [
    (-2, "retired_keep: must be in [-1, 1048576], got -2"),
    (1.5, "retired_keep: must be an integer, got 1.5"),
    (True, "retired_keep: must be an integer, got True"),
    ("2", "retired_keep: must be an integer, got '2'"),
    (None, "retired_keep: must be an integer, got None"),
])
def test_an_invalid_count_is_refused(keep: object, says: str) -> None:
    """(mutant: the check removed from ClusterConfig.validate: every one accepted)"""
    with pytest.raises(ConfigError) as caught:
        ClusterConfig(nodes=NODES, retired_keep=keep)  # type: ignore[arg-type]
    assert says in str(caught.value)


@pytest.mark.parametrize("keep", [0, 1, -1])
def test_a_put_through_a_restarted_node_replaces_its_value_whatever_the_count(
        keep: int) -> None:
    """Session 34's user probe: one client read-modify-writes ``k`` six times through
    n1, restarted before each put. With ``retired_keep = 0`` the coordinator drops
    the entry of n1's previous lifetime, which wrote the value the put replaces, and
    until session 39 it replicated that pruned record: n2 and n3 merged the put
    beside the value it replaced, and every value came back (``[v0, ..., v5]``; three
    ``vdynamo serve`` processes, 30 rounds: 13 to 15 siblings a key), which is why a
    cluster file refuses 0 under dvv (tests/runtime/test_retired_keep_shared.py).
    The same fault under the byte budget once a lifetime's entries pass it
    (tests/impl/test_prune_emptied_entries.py). A put is replicated whole since,
    each replica pruning what it merged: the last value alone with any count (the
    revert of the fix answers the six values with 0)."""
    with SimulatedCluster(nodes=3, n=3, r=2, w=2, seed=1, clock="dvv",
                          retired_keep=keep) as cluster:
        for round_ in range(6):
            cluster.crash("n1")
            cluster.restart("n1")
            client = cluster.client("n1", client_id="c")
            got = client.get(b"k")
            client.put(b"k", b"v%d" % round_, got.context)
        cluster.run_until_quiet()
        assert sorted(cluster.client("n2").get(b"k", r=3).values) == [b"v5"]
