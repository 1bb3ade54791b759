"""Ring positions computed once per key (impl.positions) and the sloppy quorum's
per-partition table of preference lists: both answer exactly what the spec's
functions answer (issue 13, the simulator's speed)."""

from __future__ import annotations

import random

import pytest

from impl import positions
from impl.config import PARTITIONING_STRATEGIES, ClusterConfig
from impl.failure_detector import FailureDetector
from impl.positions import MEMO_KEYS, position_of
from impl.sloppy_quorum import SloppyQuorum
from spec.errors import DynamoError
from spec.ring import key_position


def test_position_of_is_key_position_before_and_after_the_memo_fills() -> None:
    keys = [b"key-%d" % i for i in range(MEMO_KEYS + 100)]
    for key in keys + keys[:200]:  # a second pass hits the memo (and its reset)
        assert position_of(key) == key_position(key)
    assert len(positions._memo) <= MEMO_KEYS


def test_position_of_refuses_what_key_position_refuses() -> None:
    with pytest.raises(DynamoError):
        position_of(3)  # type: ignore[arg-type]
    assert position_of(bytearray(b"k")) == key_position(b"k")  # not kept: unhashable


@pytest.mark.parametrize("strategy", PARTITIONING_STRATEGIES)
def test_the_per_partition_table_gives_each_key_the_ring_s_preference_list(
        strategy: str, monkeypatch: pytest.MonkeyPatch) -> None:
    config = ClusterConfig(nodes=("a", "b", "c", "d", "e"), partitioning=strategy,
                           partitions=16, tokens_per_node=3)
    partitioning = config.initial_partitioning()
    quorum = SloppyQuorum("a", config, FailureDetector.for_node(config), lambda: partitioning)
    rng = random.Random(5)
    keys = [rng.randbytes(rng.randint(1, 12)) for _ in range(3000)]
    for key in keys:
        assert quorum.preference_list(key) == partitioning.preference_list(key), key
    # keys on the partitions' bounds: each partition's lowest and highest position
    bounds = {b"%d" % position: position for lo, hi in partitioning.ranges()
              for position in (lo, lo + 1, hi - 1)}
    monkeypatch.setattr(positions, "position_of", bounds.__getitem__)
    for key, position in bounds.items():
        assert quorum.preference_list(key) == partitioning.preference_list(position), position


@pytest.mark.parametrize("strategy", PARTITIONING_STRATEGIES)
def test_the_gossipers_top_n_is_the_serving_rings(strategy: str) -> None:
    """The gossiper's test of whether its node serves a key (asked twice per put:
    an outsider's copy, session 26) reads the same per-partition table since
    session 31: for 2,000 keys its top N is the serving ring's, on a cluster of 5
    and after a node joins (a new serving ring: the table starts over)."""
    from impl.cluster import SimulatedCluster

    rng = random.Random(7)
    keys = [rng.randbytes(rng.randint(1, 12)) for _ in range(2000)]
    with SimulatedCluster(nodes=5, n=3, seed=3, partitioning=strategy, partitions=16,
                          tokens_per_node=3) as cluster:
        cluster.run_for(2.0)
        gossiper = cluster.node("n1").gossiper
        for key in keys:
            assert gossiper._top_n(key) == gossiper.partitioning.preference_list(key, 3), key
        before = gossiper.partitioning
        cluster.join("n6")
        cluster.run_until_quiet(max_time=300.0)
        assert gossiper.partitioning is not before
        for key in keys:
            assert gossiper._top_n(key) == gossiper.partitioning.preference_list(key, 3), key
