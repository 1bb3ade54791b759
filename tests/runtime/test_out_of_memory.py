"""A node out of memory says so, not "internal error" (session 32's service probe).

Scenario (memory exhausted): three ``vdynamo serve`` processes, n1's address space
limited (``prlimit --as``: its size at start + 20 MB), ten clients getting and
putting 1 MB values through n1 at once. n1 counted 16 internal errors in the burst
(``vdynamo_internal_errors_total``, whose documented meaning is a bug of ours),
each logged as ``internal error handling ReplicaGetReply from n3`` with a
traceback ending in MemoryError, and answered clients 500 ``InternalError``
``internal error handling PUT '/kv/p0-1': MemoryError``. Now a MemoryError (or an
exception raised while handling one: the HTTP parser wraps its callbacks') is
counted as ``out-of-memory``, logged once on ``vdynamo.memory`` without a
traceback naming what to do, and answered 500 ``OutOfMemoryError``."""

from __future__ import annotations

import collections
import logging
from pathlib import Path
from typing import Any

import pytest

from impl import runtime
from impl.internal_errors import out_of_memory, report_internal_error
from tests.runtime.live import call, cluster, run, url


def _wrapped() -> BaseException:
    try:
        try:
            raise MemoryError
        except MemoryError:
            raise RuntimeError("`on_body` callback error") from None
    except RuntimeError as error:
        error.__context__ = MemoryError()
        return error


def test_a_memory_error_is_counted_and_logged_as_out_of_memory(
        caplog: pytest.LogCaptureFixture) -> None:
    stats: collections.Counter[str] = collections.Counter()
    log: collections.deque[str] = collections.deque()
    with caplog.at_level(logging.ERROR):
        report_internal_error("n1", 1.5, stats, log, "n3", object(), MemoryError())
        report_internal_error("n1", 1.5, stats, log, "http", object(), _wrapped())
    assert stats == {"out-of-memory": 2}
    assert [r.name for r in caplog.records] == ["vdynamo.memory"] * 2
    assert all(r.exc_info is None for r in caplog.records)
    assert caplog.records[0].getMessage() == (
        "n1: out of memory handling object from n3 (MemoryError): the process reached "
        "its memory limit (ulimit -v, a cgroup); give it more memory or lower "
        "max_pending_bytes")
    assert list(log) == ["1.500 OUT OF MEMORY handling object from 'n3'",
                         "1.500 OUT OF MEMORY handling object from 'http'"]
    assert out_of_memory(_wrapped()) and not out_of_memory(RuntimeError("x"))


def test_a_request_that_ran_out_of_memory_is_answered_out_of_memory(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    async def scenario() -> tuple[int, dict[str, Any], int, int, int]:
        async with cluster(tmp_path) as servers:
            n1 = servers[0]
            request = runtime.NodeServer.request
            calls = []

            async def short_of_memory(self: runtime.NodeServer, message: Any) -> Any:
                if not calls:
                    calls.append(message)
                    raise MemoryError
                return await request(self, message)

            monkeypatch.setattr(runtime.NodeServer, "request", short_of_memory)
            status, _, body = await call("PUT", url(n1, "/kv/k"), b"v")
            again, _, _ = await call("PUT", url(n1, "/kv/k"), b"v")
            stats = n1.node.stats
            return status, body, again, stats["out-of-memory"], stats["internal-error"]

    status, body, again, memory, internal = run(scenario())
    assert (status, body["error"], body["outcome"]) == (500, "OutOfMemoryError", "unknown")
    assert body["message"] == ("node n1 ran out of memory handling PUT '/kv/k' (MemoryError): "
                               "a write may have been made; retry later or through another "
                               "node")
    assert (again, memory, internal) == (200, 1, 0)


def test_an_answer_that_ran_out_of_memory_closes_its_connection_with_one_line(
        tmp_path: Path, caplog: pytest.LogCaptureFixture,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Making the answer itself raised MemoryError: asyncio logged ``Unhandled
    exception in client_connected_cb`` with a traceback for each such connection
    (14 to 30 in one burst of ``memlim2.py``). Now the connection closes unanswered
    (a put's client learns its outcome is unknown) with the one out-of-memory line."""
    async def scenario() -> tuple[int, int]:
        async with cluster(tmp_path) as servers:
            n1 = servers[0]
            answer = runtime.HttpApi._answer
            calls: list[int] = []

            def short_of_memory(self: Any, *args: Any, **kwargs: Any) -> Any:
                if not calls:
                    calls.append(1)
                    raise MemoryError
                return answer(self, *args, **kwargs)

            monkeypatch.setattr(runtime.HttpApi, "_answer", short_of_memory)
            with pytest.raises(ConnectionError):  # http.client.RemoteDisconnected
                await call("GET", url(n1, "/kv/k"))
            again, _, _ = await call("GET", url(n1, "/kv/k"))
            return again, n1.node.stats["out-of-memory"]

    with caplog.at_level(logging.ERROR):
        again, memory = run(scenario())
    assert (again, memory) == (404, 1)
    errors = [(r.name, r.getMessage()[:60]) for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == [("vdynamo.memory",
                       "n1: out of memory handling _Request from http (MemoryError):")]


def test_a_peer_frame_read_out_of_memory_closes_that_connection_with_one_line(
        tmp_path: Path, caplog: pytest.LogCaptureFixture,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Reading a peer's frame raised MemoryError (``memlim2.py``: a 1 MB ReplicaPut
    into the read buffer): asyncio logged ``Unhandled exception in
    client_connected_cb`` with a traceback for each such peer connection, 2 to 46
    in one burst (the peers dial again). Now the connection closes with the one
    out-of-memory line, and the peer's next connection serves."""
    async def scenario() -> tuple[int, int]:
        async with cluster(tmp_path) as servers:
            n1 = servers[0]
            deliver = runtime.NodeServer._deliver
            calls: list[int] = []

            def short_of_memory(self: runtime.NodeServer, src: str, frame: bytes) -> None:
                if self is n1 and not calls:
                    calls.append(1)
                    raise MemoryError
                deliver(self, src, frame)

            monkeypatch.setattr(runtime.NodeServer, "_deliver", short_of_memory)
            status, _, _ = await call("PUT", url(servers[1], "/kv/k?w=3"), b"v")
            again, _, _ = await call("PUT", url(servers[1], "/kv/k2?w=3"), b"v")
            del status
            return again, n1.node.stats["out-of-memory"]

    with caplog.at_level(logging.ERROR):
        again, memory = run(scenario())
    assert (again, memory) == (200, 1)
    errors = [r.name for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == ["vdynamo.memory"], [r.getMessage()[:80] for r in caplog.records]
