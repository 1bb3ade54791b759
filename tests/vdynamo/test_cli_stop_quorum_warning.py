"""``vdynamo cluster stop NODE`` warns when the stop leaves some partition with fewer
of its N replicas running than R, W (or PR, PW) ask (session 51's service probe: it
said nothing; etcd refuses such a member change under ``--strict-reconfig-check``).
The warning is computed from the stopped node's own ``GET /status`` (its ring and
quorums) and the nodes still running; here from a simulated node's partitioning,
without processes (the CLI's stop of real processes: tests/runtime/test_cli_stop_start.py).

Mutants (checked by hand): the comparison against ``max(r, w)`` only (PR ignored):
the PR case fails; ``fewest >= needed`` as ``>``: the quiet case fails; the fallback
test without the running nodes (``fallbacks`` always True): the three-node case fails;
session 52: the fallback test over the running nodes alone (``len(up)``, not those of
the ring): the outside-the-ring case fails."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from impl.cluster import SimulatedCluster
from vdynamo.cluster_cli import _quorum_warning

DIRECTORY = Path("mycluster")


def _status(nodes: int, n: int = 3, r: int = 2, w: int = 2, pr: int = 0) -> dict[str, Any]:
    """What a node of a cluster of ``nodes`` answers in ``/status``'s config and ring."""
    partitioning = SimulatedCluster(nodes=nodes, n=n, r=r, w=w, pr=pr).node("n1").partitioning
    return {"config": {"n": n, "r": r, "w": w, "pr": pr, "pw": 0},
            "ring": {"strategy": partitioning.strategy.value,
                     "tokens_per_node": partitioning.tokens_per_node,
                     "partitions": partitioning.partitions,
                     "tokens": {node: [str(t) for t in partitioning.ring.tokens_of(node)]
                                for node in partitioning.ring.nodes}}}


def test_a_stop_that_keeps_every_quorum_says_nothing() -> None:
    assert _quorum_warning(_status(3), ["n2", "n3"], "n1", DIRECTORY) is None
    assert _quorum_warning(_status(5), ["n2", "n3", "n4", "n5"], "n1", DIRECTORY) is None
    assert _quorum_warning(None, [], "n1", DIRECTORY) is None  # the node did not answer
    assert _quorum_warning({"config": {}}, [], "n1", DIRECTORY) is None


def test_the_second_stop_of_three_names_the_quorums_that_fail() -> None:
    warning = _quorum_warning(_status(3), ["n3"], "n2", DIRECTORY)
    assert warning is not None
    assert warning.startswith("with n2 stopped, 64 of the ring's 64 partitions have fewer "
                              "of their N=3 replicas running than R=2, W=2 (the fewest 1"), \
        warning
    assert "fail (503, 504)" in warning and "fallback" not in warning, warning
    assert "`vdynamo cluster start n2 --dir mycluster`" in warning, warning


def test_two_of_five_stopped_leave_some_keys_to_fallbacks() -> None:
    warning = _quorum_warning(_status(5), ["n3", "n4", "n5"], "n1", DIRECTORY)
    assert warning is not None and "only through fallback nodes" in warning, warning
    count = int(warning.split(", ")[1].split(" of ")[0])
    assert 0 < count < 64, warning  # only the partitions that placed n1 and n2 together


def test_a_primary_quorum_of_n_is_short_at_the_first_stop() -> None:
    warning = _quorum_warning(_status(3, pr=3), ["n2", "n3"], "n1", DIRECTORY)
    assert warning is not None and "than PR=3 (the fewest 2" in warning, warning


def test_a_running_node_outside_the_ring_is_no_fallback() -> None:
    """n4 runs but is not in the stopped node's ring (a join not yet gossiped to it,
    or a node of another file): it owns no range and is no fallback, so with n1
    stopped already and n2 stopping the one replica left fails R = W = 2 (session
    52: the fallback test over the running nodes alone, a mutant that survived
    session 51's review, said "only through fallback nodes")."""
    warning = _quorum_warning(_status(3), ["n3", "n4"], "n2", DIRECTORY)
    assert warning is not None and "fail (503, 504)" in warning, warning
    assert "fallback" not in warning, warning
    warning = _quorum_warning(_status(4), ["n3", "n4", "n5"], "n2", DIRECTORY)
    assert warning is not None and "only through fallback nodes" in warning, warning
