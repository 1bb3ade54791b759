"""Second review of session 23's fixes: the peer-bounds cut
(``NodeServer._adopt_record_bounds``, :func:`impl.config.adoptable_record_bytes`)
and the persisted bounds (:meth:`impl.replica.Replica.raise_kept_bounds`); each
test kills a mutant that survived the tests before (docs/runtime.md, "Second
review of session 23's fixes")."""

from __future__ import annotations

import asyncio
import logging

import pytest

from impl.config import ClusterConfig, adoptable_record_bytes, replicable_frame_bytes
from impl.effects import WriteMeta
from impl.runtime import NodeServer
from impl.storage.memory import MemoryStorage
from tests.runtime.test_adopted_bounds_review import _server
from tests.runtime.test_peer_limits import _info


def test_a_max_frame_bytes_over_64_mib_raises_what_is_adopted() -> None:
    """With ``max_frame_bytes`` 128 MiB a peer's bounds up to what such a frame
    carries are taken (N9: the cut at 64 MiB whatever ``max_frame_bytes``)."""
    config = ClusterConfig(nodes=("n1", "n2", "n3"), max_frame_bytes=128 << 20)
    assert replicable_frame_bytes(config, adoptable_record_bytes(config)) == 128 << 20


def test_bounds_already_kept_are_not_written_again() -> None:
    """A hello whose bounds this store keeps already writes nothing (N8: the
    ``record_bounds`` entry written at every hello of every peer)."""
    async def scenario() -> tuple[list[object], list[object]]:
        server = _server(MemoryStorage("always"))
        first = server.node.adopt_record_bounds(0.0, 24 << 20, 75)
        return first, server.node.adopt_record_bounds(1.0, 24 << 20, 75)

    first, second = asyncio.run(scenario())
    assert [type(e) for e in first] == [WriteMeta] and second == []


def test_a_hello_with_one_kept_bound_of_two_adopts_nothing() -> None:
    """A hello naming ``kept_record_bytes`` without ``kept_record_siblings`` (a
    peer of another version) is taken as one with neither (N6: ``any`` for
    ``all`` raised KeyError out of the hello's handling)."""
    async def scenario() -> NodeServer:
        server = _server(MemoryStorage("always"))
        server._compare_limits("n2", _info(server, kept_record_bytes=24 << 20))
        return server

    server = asyncio.run(scenario())
    assert server.node.replica.kept_bounds[0] < 24 << 20


def test_a_claim_a_2_gib_frame_carries_is_told_to_raise_max_frame_bytes(
        caplog: pytest.LogCaptureFixture) -> None:
    """A claim whose frame is exactly 2 GiB, the most ``max_frame_bytes`` may be,
    is told the figure to raise it to (N4: told that no frame carries it)."""
    async def scenario() -> None:
        server = _server(MemoryStorage("always"))
        overhead = replicable_frame_bytes(server.config, 1 << 30) - (1 << 30)
        server._compare_limits("n2", _info(server, kept_record_bytes=(1 << 31) - overhead,
                                           kept_record_siblings=75))

    with caplog.at_level(logging.WARNING, logger="vdynamo.runtime"):
        asyncio.run(scenario())
    lines = [r.getMessage() for r in caplog.records if "kept_record_bytes" in r.getMessage()]
    assert len(lines) == 1 and lines[0].endswith(
        "raise max_frame_bytes here to at least 2147483648"), lines
