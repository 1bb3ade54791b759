"""The implementation's switches that match the spec's issue-10 features (the
refinement harness maps them: docs/refinement.md): ``lww_timestamps`` (hybrid, the
default, or the naive wall-clock rule), ``vclock_truncation`` (whole records, the
default, or the paper's per-put rule), and the lww tick, an exact binary fraction.
"""

from __future__ import annotations

import pytest

from impl.cluster import SimulatedCluster
from impl.config import ClusterConfig
from impl.errors import ConfigError
from impl.messages import PutRequest, ReplicaPut
from impl.versions import (
    LWW_TICK_S,
    ClockMode,
    Record,
    Truncation,
    apply_put,
    context_clock,
    decode_record,
    lww_stamp_of,
    truncate_new_clock,
)
from spec.vclock import VClock

KEY = b"k"


def test_the_lww_tick_is_an_exact_binary_fraction_that_round_trips() -> None:
    assert LWW_TICK_S == 2.0 ** -20
    for ticks in (0, 1, 2, 7, 1 << 20, 3 << 30, -5):
        stamp = ticks * LWW_TICK_S
        record = Record(ClockMode.LWW, (apply_put(Record.empty(ClockMode.LWW), VClock(), b"v",
                                                  coordinator="n1", client_id="c",
                                                  now=stamp).siblings[0],))
        assert lww_stamp_of(context_clock(record)) == stamp
        after = apply_put(record, context_clock(record), b"w", coordinator="n2",
                          client_id="c", now=0.0 if ticks > 0 else -100.0)
        assert after.siblings[0].stamp == (ticks + 1) * LWW_TICK_S


def _read_then_write(hybrid: bool) -> tuple[float, float]:
    """v1 stamped at 10 ticks; a put with its context through a clock at 3 ticks."""
    first = apply_put(Record.empty(ClockMode.LWW), VClock(), b"v1", coordinator="n1",
                      client_id="c", now=10 * LWW_TICK_S)
    second = apply_put(Record.empty(ClockMode.LWW), context_clock(first), b"v2",
                       coordinator="n2", client_id="c", now=3 * LWW_TICK_S, hybrid=hybrid)
    return first.siblings[0].stamp, second.siblings[0].stamp


def test_hybrid_stamps_above_the_context_and_wall_clock_ignores_it() -> None:
    read, written = _read_then_write(hybrid=True)
    assert written == read + LWW_TICK_S
    read, written = _read_then_write(hybrid=False)
    assert written == 3 * LWW_TICK_S < read  # the naive rule: the write loses


def test_wall_clock_ignores_the_stored_stamp_too() -> None:
    stored = apply_put(Record.empty(ClockMode.LWW), VClock(), b"v1", coordinator="n1",
                       client_id="c", now=10 * LWW_TICK_S)
    blind = apply_put(stored, VClock(), b"v2", coordinator="n1", client_id="c",
                      now=2 * LWW_TICK_S, hybrid=False)
    assert blind.siblings[0].value == b"v1"  # v2 was stamped 2 ticks: v1 wins
    hybrid = apply_put(stored, VClock(), b"v2", coordinator="n1", client_id="c",
                       now=2 * LWW_TICK_S)
    assert hybrid.siblings[0].value == b"v2"


def test_a_cluster_with_wall_clock_lww_loses_a_read_then_write_to_skew() -> None:
    """The naive rule end to end (the spec's lww-skew-wall-clock on the impl)."""
    for rule, winner in (("wall-clock", b"v1"), ("hybrid", b"v2")):
        with SimulatedCluster(nodes=3, n=3, r=2, w=2, seed=5, clock="lww",
                              lww_timestamps=rule) as cluster:
            cluster.set_skew("n1", 30.0)
            client = cluster.client()
            client.put(KEY, b"v1", coordinator="n1")
            cluster.run_until_quiet()
            got = client.get(KEY, coordinator="n2")
            client.put(KEY, b"v2", context=got.context, coordinator="n2")
            cluster.run_until_quiet()
            assert client.get(KEY, r=3, coordinator="n2").values == [winner], rule


def test_per_put_truncation_keeps_the_incremented_pair_and_drops_the_oldest() -> None:
    clock = VClock.of({"a": 1, "b": 2, "c": 3, "d": 1}, {"a": 5.0, "b": 1.0, "c": 9.0})
    assert truncate_new_clock(clock, 2, "b").pairs == (("b", 2), ("c", 3))
    assert truncate_new_clock(clock, 1, "d").pairs == (("d", 1),)
    assert truncate_new_clock(clock, 3, "d").pairs == (("a", 1), ("c", 3), ("d", 1))
    assert truncate_new_clock(clock, 4, "a") is clock
    # equal times (or none): ties by node id, as the spec's truncation
    flat = VClock.of({"a": 1, "b": 1, "c": 1})
    assert truncate_new_clock(flat, 2, "a").pairs == (("a", 1), ("c", 1))


def _truncated_read_then_write(per_put: bool) -> Record:
    """client-vclock, threshold 1: c1 writes v1 {c1: 1}; c2 reads it and writes v2,
    whose clock {c1: 1, c2: 1} is truncated; the replica held v1."""
    policy = Truncation(threshold=1, max_pairs=1)
    first = apply_put(Record.empty(ClockMode.CLIENT_VCLOCK), VClock(), b"v1",
                      coordinator="n1", client_id="c1", now=0.0, truncation=policy,
                      per_put=per_put)
    return apply_put(first, context_clock(first), b"v2", coordinator="n1", client_id="c2",
                     now=0.0, truncation=policy, per_put=per_put)


def test_per_put_truncation_keeps_a_false_sibling_where_the_record_rule_collapses() -> None:
    per_put = _truncated_read_then_write(per_put=True)
    assert sorted(s.value for s in per_put.siblings) == [b"v1", b"v2"]  # a false sibling
    assert {s.value: s.clock.pairs for s in per_put.siblings}[b"v2"] == (("n1 c2", 1),)
    assert per_put.truncation is None  # merges do not truncate
    record = _truncated_read_then_write(per_put=False)
    assert [s.value for s in record.siblings] == [b"v2"]


def test_the_switches_are_checked() -> None:
    assert ClusterConfig(nodes=("a",), n=1, r=1, w=1).lww_timestamps == "hybrid"
    assert ClusterConfig(nodes=("a",), n=1, r=1, w=1).vclock_truncation == "record"
    with pytest.raises(ConfigError, match="lww_timestamps"):
        ClusterConfig(nodes=("a",), n=1, r=1, w=1, lww_timestamps="wall")
    with pytest.raises(ConfigError, match="vclock_truncation"):
        ClusterConfig(nodes=("a",), n=1, r=1, w=1, vclock_truncation="merge")


def test_a_cluster_with_per_put_truncation_returns_the_false_sibling() -> None:
    with SimulatedCluster(nodes=3, n=3, r=2, w=2, seed=2, clock="client-vclock",
                          vclock_truncation="put", vclock_threshold=1,
                          vclock_max_pairs=4) as cluster:
        first = cluster.client("n1", client_id="c1")
        first.put(KEY, b"v1")
        cluster.run_until_quiet()
        second = cluster.client("n1", client_id="c2")
        second.put(KEY, b"v2", context=second.get(KEY).context)
        cluster.run_until_quiet()
        assert sorted(second.get(KEY, r=3).values) == [b"v1", b"v2"]


def _first_replica_put(cluster: SimulatedCluster, node: str, value: bytes) -> ReplicaPut:
    cluster.sim.submit(node, PutRequest(cluster.sim.new_request_id(), KEY, value, b"", None,
                                        "c", 0))
    return next(m.message for m in cluster.sim.in_flight()
                if m.src == node and isinstance(m.message, ReplicaPut))


def test_wall_clock_lww_replicates_the_new_version_even_where_it_lost_locally() -> None:
    """Paper 4.5: the coordinator sends the new version. Under the wall-clock rule a
    put whose clock is behind loses to the stored version at its own coordinator;
    its replicas still get the new version (as the spec's), not the stored winner."""
    for rule, sent in (("wall-clock", b"v2"), ("hybrid", b"v2")):
        with SimulatedCluster(nodes=3, n=3, r=2, w=2, seed=4, clock="lww",
                              lww_timestamps=rule) as cluster:
            cluster.set_skew("n1", 30.0)
            cluster.client("n1").put(KEY, b"v1")
            cluster.run_until_quiet()
            message = _first_replica_put(cluster, "n2", b"v2")
            record = decode_record(message.record, ClockMode.LWW)
            assert [s.value for s in record.siblings] == [sent], rule
            local = cluster.storages["n2"].read(KEY)
            assert local is not None
            kept = decode_record(local, ClockMode.LWW).siblings[0].value
            assert kept == (b"v1" if rule == "wall-clock" else b"v2")


def test_a_wiped_node_does_not_reuse_the_op_ids_of_its_earlier_lifetime() -> None:
    """A late ack of an op of the lifetime before the wipe must not count for a new op
    (the incarnation count restarts at 1 on a new disk; the op-id base does not)."""
    with SimulatedCluster(nodes=3, n=3, r=2, w=2, seed=6) as cluster:
        before = _first_replica_put(cluster, "n1", b"v1").op_id
        cluster.wipe("n1")
        assert cluster.storages["n1"].get_meta("incarnation") == b"1"
        cluster.sim.submit("n1", PutRequest(cluster.sim.new_request_id(), KEY, b"v2", b"",
                                            None, "c", 0))
        for _ in range(100):  # the put waits for the fresh store's shadow round
            ops = [c.op_id for c in cluster.node("n1").snapshot().puts()]
            if ops or cluster.node("n1").shadow is None:
                break
            cluster.run_for(0.001)
        assert ops and before not in ops
