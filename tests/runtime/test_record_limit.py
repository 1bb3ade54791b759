"""A key's record (all its siblings) is bounded by ``max_record_bytes``: a put that
would make it larger is refused with 413 naming the limit (Riak's
``max_object_size``), never left to time out (504, outcome unknown) because the
record grew too large to replicate within ``request_timeout``; and the limits are
refused at load when they contradict each other.

Source: session 12's probe (/work/wt/bigrec-v22b.py): with the default limits, 25
blind puts of near-1 MiB values to one key gave 200 four times, then 504 from the
fifth put on, each taking about 2 s against the 1 s request timeout, because in dvv
mode every put re-sends the whole growing record to the replicas.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from impl import errors
from impl.config import (
    DEFAULT_RECORD_BYTES,
    RECORD_BYTES_PER_SECOND,
    ClusterConfig,
    sibling_bytes,
)
from impl.versions import sibling_count
from tests.runtime.live import call, cluster, run, url

NODES = ("n1", "n2", "n3")
MiB = 1 << 20


def test_the_default_limits_are_coherent() -> None:
    config = ClusterConfig(nodes=NODES)
    assert config.max_value_bytes < config.max_record_bytes == DEFAULT_RECORD_BYTES
    assert config.max_record_bytes <= config.request_timeout * RECORD_BYTES_PER_SECOND


@pytest.mark.parametrize(("timeout", "values", "record"), [
    (0.5, MiB, 2 * MiB),  # what the timeout allows: 0.5 s x 4 MiB/s
    (0.3, MiB, int(0.3 * RECORD_BYTES_PER_SECOND)),  # still over one value's record
    (10.0, MiB, DEFAULT_RECORD_BYTES),  # a longer timeout keeps the default
    (10.0, 8 * MiB, None),  # a larger value raises it to one value's record (the floor)
])
def test_max_record_bytes_not_given_follows_request_timeout_and_the_value_limit(
        timeout: float, values: int, record: int | None) -> None:
    """Not given (0), ``max_record_bytes`` is derived: 4 MiB, less if the timeout
    allows less, never under one value's record. Before, a configuration with a
    request_timeout under 1 s and the default limits was refused (the fixed 4 MiB
    default over what 0.5 s allows)."""
    config = ClusterConfig(nodes=NODES, request_timeout=timeout, replica_timeout=0.1,
                           max_value_bytes=values)
    one_value = values + sibling_bytes(config) + 64
    assert config.max_record_bytes == (one_value if record is None else record)
    assert one_value <= config.max_record_bytes <= timeout * RECORD_BYTES_PER_SECOND
    given = ClusterConfig(nodes=NODES, request_timeout=timeout, replica_timeout=0.1,
                          max_value_bytes=values, max_record_bytes=config.max_record_bytes)
    assert given == config


@pytest.mark.parametrize(("changes", "names"), [
    # the case 22-poison-key.py: a 16 MiB value cannot be replicated within 1 s
    ({"max_value_bytes": 16 * MiB}, "max_value_bytes, request_timeout"),
    ({"max_value_bytes": 4 * MiB, "request_timeout": 2.0, "max_record_bytes": 2 * MiB},
     "max_value_bytes, max_record_bytes"),
    ({"max_record_bytes": 8 * MiB}, "max_record_bytes, request_timeout"),
    ({"request_timeout": 0.5, "max_record_bytes": 4 * MiB}, "max_record_bytes, request_timeout"),
    ({"request_timeout": 0.2, "replica_timeout": 0.1}, "max_value_bytes, request_timeout"),
    ({"max_record_bytes": MiB}, "max_value_bytes, max_record_bytes"),
])
def test_contradictory_record_limits_are_refused_at_load(changes: dict[str, object],
                                                         names: str) -> None:
    with pytest.raises(errors.ConfigError, match=names):
        ClusterConfig(nodes=NODES, **changes)  # type: ignore[arg-type]


def test_a_put_that_would_outgrow_the_record_limit_gets_413_not_504(tmp_path: Path) -> None:
    """The default size limits (1 MiB values, 4 MiB records); request_timeout 5 s so
    that the first four puts do not depend on this machine's speed (this event loop
    runs all three nodes). Without the record limit every put is accepted and the
    record grows by 1 MiB a put (the probe's 504s from the fifth on, at 1 s)."""
    async def scenario() -> None:
        async with cluster(tmp_path, request_timeout=5.0, replica_timeout=2.0) as servers:
            node = servers[0]
            value = bytes(range(256)) * ((node.config.max_value_bytes - 100) // 256)
            codes, refusals = [], []
            for i in range(8):
                status, _, body = await call("PUT", url(node, "/kv/big"),
                                             bytes([i]) + value[1:])
                codes.append(status)
                if status == 413:
                    refusals.append(body)
            fits = node.config.max_record_bytes // len(value)  # 4 with the defaults
            assert codes == [200] * fits + [413] * (8 - fits)
            for body in refusals:
                assert body["error"] == "TooLargeError" and body["outcome"] == "not-written"
                assert "max_record_bytes" in body["message"]
            record = node.node.record(b"big")
            assert record is not None and sibling_count(record) == fits
            small = [(await call("PUT", url(node, f"/kv/small-{i}?w=3"), b"v"))[0]
                     for i in range(10)]
            assert small == [200] * 10
            # the way out: a put with the key's context replaces its siblings
            status, _, got = await call("GET", url(node, "/kv/big"))
            assert status == 300 and len(got["values"]) == fits  # siblings
            status, _, _ = await call("PUT", url(node, "/kv/big"), b"merged",
                                      {"X-Vdynamo-Context": got["context"]})
            assert status == 200
            status, _, _ = await call("PUT", url(node, "/kv/big"), value)
            assert status == 200  # a blind put fits again
    run(scenario(), limit=120.0)
