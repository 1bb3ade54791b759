"""A message the runtime could not send (out of memory) is lost alone: the effects
after it are performed, so nothing in flight is held for good (session 32's
service probe).

Scenario (memory exhausted): three ``vdynamo serve`` processes, n1's address space
limited (``prlimit --as``, its size at start + 20 MB), eight clients putting 1 MB
values through n1 at once. Six puts answered 500 ``internal error handling PUT
'/kv/big7-1': MemoryError`` (``wire.encode`` of a ReplicaPut), and n1's
``/status`` said ``pending 1``, ``pending_bytes 1000082`` from then on: the
exception left ``NodeServer._perform_effects`` half done, the put's deadline
timer (an effect after the failed Send) never armed, so its coordination was
never answered and its bytes were never released. With ``max_pending_bytes``
1,398,101 every later 1 MB put through n1 was refused 503 "node n1 is saturated"
(17 and 28 of 40 in two runs), for as long as the process ran. Now an effect that
fails is logged and the rest are performed (``NodeServer._perform_one``): a Send
that fails is a lost message, which replication tolerates."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from impl import runtime
from impl.messages import ReplicaPut
from tests.runtime.live import call, cluster, nothing_in_flight, run, url


def test_a_send_out_of_memory_loses_that_message_alone(
        tmp_path: Path, caplog: pytest.LogCaptureFixture,
        monkeypatch: pytest.MonkeyPatch) -> None:
    encode = runtime.wire.encode
    failed: list[str] = []

    def short_of_memory(message: Any) -> bytes:
        if isinstance(message, ReplicaPut) and not failed:
            failed.append(type(message).__name__)
            raise MemoryError
        return encode(message)

    async def scenario() -> tuple[int, list[int], int, int]:
        async with cluster(tmp_path) as servers:
            n1 = servers[0]
            monkeypatch.setattr(runtime.wire, "encode", short_of_memory)
            statuses = []
            for i in range(3):
                status, _, _ = await call("PUT", url(n1, f"/kv/k{i}"), b"v" * 1000)
                statuses.append(status)
            monkeypatch.setattr(runtime.wire, "encode", encode)
            # past every deadline at most (a fixed 2 s until session 37)
            pending, pending_bytes = await nothing_in_flight(n1, 2 * n1.config.request_timeout)
            again, _, _ = await call("PUT", url(n1, "/kv/k0"), b"again")
            return again, statuses, pending, pending_bytes

    with caplog.at_level(logging.ERROR, logger="vdynamo.runtime"):
        again, statuses, pending, pending_bytes = run(scenario(), 60)
    assert failed == ["ReplicaPut"]
    # W = 2: the coordinator and the replica whose ReplicaPut left
    assert statuses == [200, 200, 200]
    assert (pending, pending_bytes) == (0, 0)
    assert again == 200
    lines = [r.getMessage() for r in caplog.records if "out of memory" in r.getMessage()]
    assert len(lines) == 1 and lines[0].startswith("n1: out of memory performing "
                                                   "Send(ReplicaPut to "), lines
    assert lines[0].endswith("MemoryError(); the message is lost (as on the network)"), lines
