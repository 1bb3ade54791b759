"""A record merged from several sides' puts is waited on for as long as it is large
(session 17's service probe; case 22's kind: a record that fits each put's limits
but not, merged, one timeout).

``max_record_bytes`` is replicable within one ``request_timeout`` (impl.config's
check), but merges of k sides' puts make records of up to k x that, which the
cluster stores and must read back and replace. Scenario with three ``vdynamo
serve`` processes (default limits, 1 s timeout): four blind 1 MiB puts with
``w=1`` on each of three sides of a partition (all 200), then the partition
healed: the key's record held 12 siblings, about 12 MiB. A GET at R=3 through
any node answered 503 "get reached 1 of R=3 replicas" (1.1-1.9 s) at 10 of 24
tries, and the put with the context of a GET (the documented way out) 504,
outcome unknown; every such coordination also gave its replicas up at
``replica_timeout`` (0.3 s), marking them unreachable and asking fallbacks. Now
a coordination waits ``record_patience`` (the record over ``max_record_bytes``,
at least 1) request and replica timeouts: the same scenario answered 24 of 24
GETs 300 with all 12 siblings, and the reconciling put 200.
"""

from __future__ import annotations

from impl.config import merged_record_bytes, most_patience, record_patience
from impl.effects import Effect, GetResult, PutResult, Reply, Send, SetTimer
from impl.messages import (
    GetRequest,
    PutRequest,
    ReplicaGetReply,
    ReplicaPut,
    ReplicaPutAck,
)
from impl.node import Node
from impl.storage.memory import MemoryStorage
from impl.timers import GetTimeout, PutTimeout
from impl.versions import ClockMode, Record, apply_put, encode_record
from spec.vclock import VClock
from tests.impl.test_node_driver import make_config

KEY = b"k3"  # targets n1, n2, n3


def _node(siblings: int, value_bytes: int) -> tuple[Node, bytes]:
    """n1 of three (``max_record_bytes`` 64 KiB) storing ``siblings`` blind values
    of ``value_bytes`` under KEY; (the node, the stored record)."""
    config = make_config(3, n=3, r=3, w=3, max_value_bytes=16 << 10,
                         max_record_bytes=64 << 10)
    record = Record.empty(ClockMode.DVV)
    for i in range(siblings):
        record = apply_put(record, VClock(), bytes([i]) * value_bytes,
                           coordinator=f"n{1 + i % 3}", client_id="c1", now=0.0)
    raw = encode_record(record)
    storage = MemoryStorage("always")
    storage.write(KEY, raw)
    node = Node("n1", config, storage, seed=1)
    node.start(0.0)
    assert node.quorum.split(KEY)[0] == ("n1", "n2", "n3")
    return node, raw


def _timer_at(effects: list[Effect], kind: type) -> float:
    (at,) = [e.at for e in effects if isinstance(e, SetTimer) and isinstance(e.timer, kind)]
    return float(at)


def test_patience_is_the_record_over_max_record_bytes_at_least_one() -> None:
    config = make_config(3, n=3, r=2, w=2, max_value_bytes=16 << 10,
                         max_record_bytes=64 << 10)
    assert record_patience(config, 0) == 1.0
    assert record_patience(config, 64 << 10) == 1.0
    assert record_patience(config, 192 << 10) == 3.0
    assert most_patience(config) == merged_record_bytes(config) / (64 << 10) > 3


def test_a_get_of_a_merged_record_waits_as_many_timeouts_as_it_is_large() -> None:
    node, raw = _node(12, 16 << 10)  # 12 siblings of 16 KiB: three sides' records
    config = node.config
    patience = record_patience(config, 12 * (16 << 10))
    assert patience == 3.0 and len(raw) > 3 * config.max_record_bytes * 0.99
    effects = node.client_request(0.0, GetRequest(7, KEY, None, "c1"))
    (op_id,) = node.gets.coordinations
    assert sorted(e.dest for e in effects if isinstance(e, Send)) == ["n2", "n3"]
    # before: the first timer at replica_timeout (0.3 s), the deadline at 1 s
    assert _timer_at(effects, GetTimeout) == config.replica_timeout * patience
    assert node.gets.coordinations[op_id].deadline == config.request_timeout * patience
    # the replicas answer after 1.5 request timeouts: the get is served
    t = 1.5 * config.request_timeout
    rearmed = node.fire(config.replica_timeout * patience, GetTimeout(op_id))
    assert _timer_at(rearmed, GetTimeout) == config.replica_timeout * patience * 2
    node.receive(t, "n2", ReplicaGetReply(op_id, KEY, raw))
    done = node.receive(t, "n3", ReplicaGetReply(op_id, KEY, raw))
    (reply,) = [e for e in done if isinstance(e, Reply)]
    assert reply.error is None and isinstance(reply.result, GetResult)  # before: QuorumError
    assert len(reply.result.values) == 12


def test_a_small_record_keeps_one_timeout() -> None:
    node, _ = _node(1, 100)
    effects = node.client_request(0.0, GetRequest(7, KEY, None, "c1"))
    assert _timer_at(effects, GetTimeout) == node.config.replica_timeout
    (op_id,) = node.gets.coordinations
    assert node.gets.coordinations[op_id].deadline == node.config.request_timeout


def test_a_put_replacing_a_merged_record_waits_as_many_timeouts_as_it_is_large() -> None:
    """The reconciling put's own record is small, but each replica reads, merges and
    writes its stored 12-sibling record: the put waits by the larger of the two."""
    node, raw = _node(12, 16 << 10)
    config = node.config
    node.client_request(0.0, GetRequest(7, KEY, None, "c1"))
    (get_op,) = node.gets.coordinations
    node.receive(0.1, "n2", ReplicaGetReply(get_op, KEY, raw))
    done = node.receive(0.1, "n3", ReplicaGetReply(get_op, KEY, raw))
    (answer,) = [e for e in done if isinstance(e, Reply)]
    assert isinstance(answer.result, GetResult)
    effects = node.client_request(0.2, PutRequest(8, KEY, b"merged", answer.result.context,
                                                  client_id="c1"))
    sends = [e for e in effects if isinstance(e, Send) and isinstance(e.message, ReplicaPut)]
    assert sorted(e.dest for e in sends) == ["n2", "n3"]
    message = sends[0].message
    assert isinstance(message, ReplicaPut)
    op_id = message.op_id
    coordination = node.puts.coordinations[op_id]
    assert coordination.patience == 3.0
    assert coordination.deadline == 0.2 + config.request_timeout * 3  # before: 1.2
    assert _timer_at(effects, PutTimeout) == 0.2 + config.replica_timeout * 3
    t = 0.2 + 1.5 * config.request_timeout
    node.receive(t, "n2", ReplicaPutAck(op_id, KEY))
    acked = node.receive(t, "n3", ReplicaPutAck(op_id, KEY))
    (reply,) = [e for e in acked if isinstance(e, Reply)]
    assert reply.error is None and isinstance(reply.result, PutResult)  # before: QuorumError
