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
from impl.config import RECORD_BYTES_PER_SECOND, ClusterConfig
from impl.versions import sibling_count
from tests.runtime.live import call, cluster, run, url

NODES = ("n1", "n2", "n3")
MiB = 1 << 20


def test_the_default_limits_are_coherent() -> None:
    config = ClusterConfig(nodes=NODES)
    assert config.max_value_bytes < config.max_record_bytes
    assert config.max_record_bytes <= config.request_timeout * RECORD_BYTES_PER_SECOND


@pytest.mark.parametrize(("changes", "names"), [
    # the case 22-poison-key.py: 16 MiB values cannot fit a 4 MiB record
    ({"max_value_bytes": 16 * MiB}, "max_value_bytes, max_record_bytes"),
    ({"max_record_bytes": 8 * MiB}, "max_record_bytes, request_timeout"),
    ({"request_timeout": 0.5}, "max_record_bytes, request_timeout"),
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
