"""The library surface: impl.SimulatedCluster and its Client over the real node core."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

import impl
from impl import (
    BadContextError,
    BadRequestError,
    DynamoError,
    Faults,
    GetResult,
    NodeDownError,
    PutResult,
    QuorumError,
    RequestTimeoutError,
    SimulatedCluster,
    SimulationError,
)

KEY = b"cart"


def replicas_of(cluster: SimulatedCluster, key: bytes) -> tuple[str, ...]:
    """The key's top N, as the first up node sees the ring."""
    up = next(name for name in cluster.node_names if not cluster.is_down(name))
    top: tuple[str, ...] = cluster.node(up).preference_list(key)[: cluster.config.n]
    return top


def stored_values(cluster: SimulatedCluster, name: str, key: bytes) -> set[bytes]:
    """The values node ``name`` stores for ``key`` (through a one-replica get)."""
    got = cluster.client(name).get(key, r=1, coordinator=name)
    return set(got.values)


def test_the_library_surface() -> None:
    cluster = impl.SimulatedCluster(nodes=5, n=3, r=2, w=2, seed=7)
    assert cluster.node_names == ["n1", "n2", "n3", "n4", "n5"]
    client = cluster.client()
    got = client.get(KEY)
    assert isinstance(got, GetResult) and got.values == [] and isinstance(got.context, bytes)
    put = client.put(KEY, b"milk,eggs", context=got.context)
    assert isinstance(put, PutResult)
    assert client.get(KEY).values == [b"milk,eggs"]
    assert not cluster.is_down("n1")
    cluster.crash("n1")
    assert cluster.is_down("n1")
    cluster.restart("n1")
    assert not cluster.is_down("n1")
    cluster.partition({"n1"}, {"n2", "n3"})
    cluster.heal()
    cluster.run_until_quiet()
    assert client.get(KEY, coordinator="n1").values == [b"milk,eggs"]


def test_names_can_be_given() -> None:
    cluster = SimulatedCluster(nodes=["a", "b", "c"], seed=1)
    assert cluster.node_names == ["a", "b", "c"]
    cluster.client().put(b"k", b"v")
    assert cluster.client("c").get(b"k").values == [b"v"]


def test_concurrent_writes_are_siblings_and_a_context_collapses_them() -> None:
    cluster = SimulatedCluster(seed=3)
    alice, bob = cluster.client(), cluster.client()
    handles = [alice.submit_put(KEY, b"alice"), bob.submit_put(KEY, b"bob")]
    assert not any(h.done for h in handles)
    cluster.wait(handles)
    assert all(isinstance(h.result(), PutResult) for h in handles)
    got = alice.get(KEY)
    assert sorted(got.values) == [b"alice", b"bob"]
    alice.put(KEY, b"alice,bob", context=got.context)
    assert alice.get(KEY).values == [b"alice,bob"]


def test_many_concurrent_requests_all_finish() -> None:
    cluster = SimulatedCluster(seed=11)
    clients = [cluster.client() for _ in range(10)]
    handles = [c.submit_put(b"key%d" % i, b"value%d" % i) for i, c in enumerate(clients)]
    cluster.wait(handles)
    assert [h.error for h in handles] == [None] * 10
    gets = [c.submit_get(b"key%d" % i) for i, c in enumerate(clients)]
    cluster.run_until(lambda: all(h.done for h in gets))
    assert [h.result().values for h in gets] == [[b"value%d" % i] for i in range(10)]
    assert len({h.coordinator for h in gets}) > 1  # the clients spread over the nodes


def test_a_request_that_cannot_reach_its_quorum_raises() -> None:
    cluster = SimulatedCluster(seed=5)
    for name in ("n2", "n3", "n4", "n5"):
        cluster.crash(name)
    client = cluster.client()
    with pytest.raises(QuorumError) as caught:
        client.put(KEY, b"alone")
    assert isinstance(caught.value, DynamoError)
    with pytest.raises(QuorumError):
        client.get(KEY)


def test_strict_quorum_fails_where_the_sloppy_quorum_succeeds() -> None:
    for sloppy in (True, False):
        cluster = SimulatedCluster(seed=5, sloppy_quorum=sloppy, hinted_handoff=sloppy)
        top = replicas_of(cluster, KEY)
        cluster.crash(top[1])
        cluster.crash(top[2])
        client = cluster.client(top[0])
        if sloppy:
            client.put(KEY, b"sloppy")
        else:
            with pytest.raises(QuorumError):
                client.put(KEY, b"strict")


def test_a_partitioned_minority_cannot_write() -> None:
    cluster = SimulatedCluster(seed=8)
    cluster.partition({"n1"}, {"n2", "n3", "n4", "n5"})
    with pytest.raises((QuorumError, RequestTimeoutError)):
        cluster.client("n1").put(KEY, b"minority")
    cluster.client("n2").put(KEY, b"majority")
    cluster.heal()
    assert cluster.client("n1").get(KEY).values == [b"majority"]


def test_a_down_coordinator_is_refused() -> None:
    cluster = SimulatedCluster(seed=2)
    cluster.crash("n4")
    with pytest.raises(NodeDownError):
        cluster.client("n4").get(KEY)
    for _ in range(20):  # a client that picks its node never picks a down one
        cluster.client().get(KEY)
    with pytest.raises(SimulationError):
        cluster.client("nope")


def test_bad_requests_raise_local_errors() -> None:
    cluster = SimulatedCluster(seed=2)
    client = cluster.client()
    with pytest.raises(BadRequestError):
        client.get(b"")
    with pytest.raises(BadContextError):
        client.put(KEY, b"v", context=b"tampered context")
    with pytest.raises(impl.ConfigError, match="storage"):
        SimulatedCluster(storage="tape")  # type: ignore[arg-type]


def crash_and_restart_all(cluster: SimulatedCluster) -> None:
    for name in cluster.node_names:
        cluster.crash(name)
    for name in cluster.node_names:
        cluster.restart(name)


def test_crash_and_restart_keep_acknowledged_writes() -> None:
    cluster = SimulatedCluster(seed=9, fsync="always")
    client = cluster.client()
    client.put(KEY, b"durable")
    crash_and_restart_all(cluster)
    assert client.get(KEY).values == [b"durable"]


def test_buffered_storage_loses_unflushed_writes_in_a_crash() -> None:
    cluster = SimulatedCluster(seed=9, fsync="buffered", flush_interval=5.0)
    client = cluster.client()
    client.put(KEY, b"buffered")
    crash_and_restart_all(cluster)
    assert client.get(KEY).values == []
    client.put(KEY, b"flushed")
    cluster.run_for(5.5)  # the nodes' flush timers make it durable
    crash_and_restart_all(cluster)
    assert client.get(KEY).values == [b"flushed"]


def test_run_until_quiet_hands_hints_off_and_converges_replicas() -> None:
    cluster = SimulatedCluster(seed=4)
    top = replicas_of(cluster, KEY)
    cluster.crash(top[2])
    cluster.client(top[0]).put(KEY, b"while down", w=3)  # W=3: a fallback must take a hint
    assert sum(len(s.hints()) for s in cluster.storages.values()) >= 1
    assert not cluster.converged(KEY) and set(cluster.replicas(KEY)) == set(top[:2])
    cluster.restart(top[2])
    assert not cluster.converged(KEY) and cluster.replicas(KEY)[top[2]] is None
    cluster.run_until_quiet()
    assert sum(len(s.hints()) for s in cluster.storages.values()) == 0
    assert cluster.converged(KEY)
    for name in top:
        assert stored_values(cluster, name, KEY) == {b"while down"}


def test_run_until_quiet_gives_up_while_hints_cannot_be_delivered() -> None:
    cluster = SimulatedCluster(seed=4)
    top = replicas_of(cluster, KEY)
    cluster.crash(top[2])
    cluster.client(top[0]).put(KEY, b"hinted", w=3)
    fallback = next(name for name, s in cluster.storages.items() if s.hints())
    cluster.restart(top[2])
    cluster.partition({fallback}, {top[2]})
    with pytest.raises(SimulationError, match="seed 4"):
        cluster.run_until_quiet(max_time=30.0)


def log_digest(seed: int) -> str:
    faults = Faults(loss=0.05, duplication=0.05, reorder=0.1, max_clock_skew=0.2,
                    crash_interval=3.0, max_crashes=2, downtime=(0.5, 2.0),
                    partition_interval=3.0, max_partitions=2)
    cluster = SimulatedCluster(seed=seed, faults=faults, log=True)
    clients = [cluster.client() for _ in range(3)]
    for round_ in range(5):
        handles = [c.submit_put(b"k%d" % (i % 2), b"r%d-c%d" % (round_, i))
                   for i, c in enumerate(clients)]
        cluster.wait(handles)
    cluster.sim.stop_nemesis()
    cluster.run_for(20.0)
    return hashlib.sha256(repr(cluster.sim.log).encode()).hexdigest()


def test_one_seed_one_run_at_cluster_level() -> None:
    assert log_digest(21) == log_digest(21)
    assert log_digest(21) != log_digest(22)


def test_one_seed_one_run_across_processes_with_other_hash_seeds() -> None:
    script = ("from tests.impl.test_cluster import log_digest; print(log_digest(21))")
    root = Path(__file__).resolve().parents[2]
    digests = set()
    for hash_seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        out = subprocess.run([sys.executable, "-c", script], cwd=root, env=env, check=True,
                             capture_output=True, text=True, timeout=120)
        digests.add(out.stdout.strip())
    assert digests == {log_digest(21)}


def test_wire_mode_passes_every_message_through_the_codec() -> None:
    cluster = SimulatedCluster(seed=6, wire=True)
    client = cluster.client()
    client.put(KEY, b"encoded")
    assert client.get(KEY).values == [b"encoded"]
    assert cluster.sim.stats["delivered"] > 0


def test_sqlite_storage_survives_crashes() -> None:
    with SimulatedCluster(seed=9, storage="sqlite") as cluster:
        assert cluster.storage_dir is not None and cluster.storage_dir.exists()
        client = cluster.client()
        client.put(KEY, b"on disk")
        crash_and_restart_all(cluster)
        assert client.get(KEY).values == [b"on disk"]
        directory = cluster.storage_dir
    assert not directory.exists()


def test_lost_messages_make_requests_fail_not_hang() -> None:
    cluster = SimulatedCluster(seed=12, faults=Faults(loss=1.0))
    with pytest.raises(DynamoError):
        cluster.client().put(KEY, b"into the void")


def test_join_and_leave_under_load_lose_nothing() -> None:
    cluster = SimulatedCluster(seed=3)
    client = cluster.client()
    keys = [b"key%d" % i for i in range(40)]
    for key in keys[:20]:
        client.put(key, key)
    cluster.join("n6")
    assert "n6" in cluster.node_names
    cluster.wait([client.submit_put(key, key) for key in keys[20:]])  # while n6 joins
    cluster.run_until_quiet()
    owned = [key for key in keys if "n6" in replicas_of(cluster, key)]
    assert owned and len(cluster.storages["n6"]) >= len(owned)
    cluster.leave("n3")
    cluster.wait([client.submit_put(b"late%d" % i, b"late") for i in range(10)])
    cluster.run_until_quiet()
    assert "n3" not in cluster.node_names
    assert all("n3" not in cluster.node(name).preference_list(keys[0])
               for name in cluster.node_names)
    for key in keys:
        assert client.get(key).values == [key]
    for i in range(10):
        assert client.get(b"late%d" % i).values == [b"late"]
    with pytest.raises(SimulationError, match="already exists"):
        cluster.join("n1")


def forwards(cluster: SimulatedCluster) -> int:
    return sum(1 for event in cluster.sim.log if event[1] == "send" and event[-1] == "Forward")


def test_a_preference_routing_client_goes_straight_to_the_key_s_replicas() -> None:
    cluster = SimulatedCluster(seed=13, log=True)
    client = cluster.client()  # routing="preference", the default (with failover)
    assert client.routing == "preference"
    handles = [client.submit_put(b"key%d" % i, b"v") for i in range(20)]
    assert all(h.coordinator == replicas_of(cluster, b"key%d" % i)[0]
               for i, h in enumerate(handles))
    cluster.wait(handles)
    assert all(h.error is None for h in handles) and forwards(cluster) == 0
    randomly = cluster.client(routing="random")
    cluster.wait([randomly.submit_put(b"key%d" % i, b"v") for i in range(20)])
    assert forwards(cluster) > 0  # a randomly routing client's requests are forwarded
    first = replicas_of(cluster, KEY)[0]
    cluster.crash(first)
    assert client.submit_get(KEY).coordinator == replicas_of(cluster, KEY)[1]
    with pytest.raises(impl.ConfigError, match="routing"):
        cluster.client(routing="nearest")  # type: ignore[arg-type]
