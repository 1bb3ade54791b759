"""Admission by bytes: a node refuses a put at once (503, Retry-After, nothing
written) when the bytes of the puts it has in flight and this put's value would
pass ``max_pending_bytes`` (session 23; Cassandra's
``native_transport_max_request_data_in_flight``).

Before, admission counted requests only (``max_pending_requests``, 1024): 16
clients putting 1 MiB values at ``w=2`` to three nodes were all admitted, the
replicas' work outgrew every put's ``request_timeout``, and 127 of 128 puts
answered 504 (outcome unknown) with the process at 983 MB (session 22's service
probe; docs/runtime.md, "Service probe (session 23)")."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path
from typing import Any

import pytest

from impl import errors, wire
from impl.config import ClusterConfig
from impl.http_api import _outcome_unknown
from impl.messages import Forward, ForwardReply, GetRequest, PutRequest
from impl.runtime import NodeServer
from tests.runtime.live import call, cluster, run, url

NODES = ("n1", "n2", "n3")


def test_the_derived_limit_is_what_a_timeout_replicates_over_n_and_one_value_at_least() -> None:
    assert ClusterConfig(nodes=NODES).max_pending_bytes == (4 << 20) // 3  # 1,398,101
    assert ClusterConfig(nodes=NODES, request_timeout=3.0).max_pending_bytes == 4 << 20
    # one value's record at least
    small = ClusterConfig(nodes=NODES, request_timeout=0.3, replica_timeout=0.1)
    assert small.max_pending_bytes > small.max_value_bytes
    assert ClusterConfig(nodes=NODES, max_pending_bytes=1 << 20).max_pending_bytes == 1 << 20


@pytest.mark.parametrize("value", [1, (1 << 20) - 1, (1 << 40) + 1, -1])
def test_a_limit_that_cannot_hold_one_value_or_is_out_of_range_is_refused(value: int) -> None:
    with pytest.raises(errors.ConfigError, match="max_pending_bytes"):
        ClusterConfig(nodes=NODES, max_pending_bytes=value)


def _first_answer(server: NodeServer, head: bytes) -> bytes:
    """The first bytes ``server``'s HTTP port answers to ``head`` (a body never sent)."""
    address = server.http_address
    assert address is not None
    with socket.create_connection((address.host, address.port), timeout=3) as sock:
        sock.sendall(head)
        return sock.recv(65536)


async def _hold(servers: list[NodeServer], size: int) -> asyncio.Task[Any]:
    """Stop n2 and n3 and start a put of ``size`` bytes at n1 (``w=2``) that stays in
    flight until its request timeout (1 s)."""
    for other in servers[1:]:
        await other.stop()
    first = asyncio.create_task(call("PUT", url(servers[0], "/kv/first"), b"a" * size))
    for _ in range(200):  # until n1 coordinates it (a loaded machine may take longer)
        if servers[0].node.pending_bytes >= size:
            break
        await asyncio.sleep(0.01)
    assert servers[0].node.pending_bytes >= size, "the first put never reached n1"
    return first


def test_a_put_over_the_bytes_in_flight_is_refused_at_once_and_a_smaller_one_admitted(
        tmp_path: Path) -> None:
    async def scenario() -> None:
        async with cluster(tmp_path, max_value_bytes=100_000,
                           max_pending_bytes=150_000) as servers:
            node = servers[0]
            node.admission.wait = 0.0  # its refusal at once (since session 24 a put
            # waits its turn up to Retry-After: test_a_large_put_waits_its_turn_...)
            first = await _hold(servers, 100_000)
            status, headers, body = await call("PUT", url(node, "/kv/second"), b"b" * 60_000)
            assert status == 503, body  # before: admitted, then 504 (outcome unknown)
            assert headers["retry-after"] == str(node.config.retry_after_s)
            assert body["error"] == "OverloadedError" and body["outcome"] == "not-written"
            assert "max_pending_bytes (150000)" in body["message"], body
            assert node.node.record(b"second") is None and node.overloaded_requests == 1
            status, _, shown = await call("GET", url(node, "/status"))
            assert shown["pending_bytes"] >= 100_000 and shown["overloaded_requests"] == 1
            # asked to continue first, it is refused instead of the 100: no body sent
            answer = await asyncio.to_thread(_first_answer, node, (
                b"PUT /kv/asked HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
                b"Content-Length: 60000\r\n\r\n"))
            assert answer.startswith(b"HTTP/1.1 503 "), answer[:80]  # before: the 100
            assert b"max_pending_bytes" in answer and node.http.malformed == 0, answer
            # a chunked value counts as max_value_bytes, the most it may be: 503 too
            # (session 24; admitted as 0 bytes before: the 100, the upload, the 503)
            answer = await asyncio.to_thread(_first_answer, node, (
                b"PUT /kv/chunked HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
                b"Transfer-Encoding: chunked\r\n\r\n"))
            assert answer.startswith(b"HTTP/1.1 503 "), answer[:80]  # before: the 100
            status, _, body = await call("GET", url(node, "/kv/first?r=1"))
            assert status == 200, body  # a read carries no value: not refused by bytes
            # a forwarded put is refused the same way, before its coordinator writes
            sent: list[tuple[str, object]] = []
            node._send = lambda dest, message: sent.append((dest, message))  # type: ignore[method-assign]
            node._deliver("n2", wire.encode(Forward(7, PutRequest(1, b"fwd", b"c" * 60_000))))
            assert [(dest, type(m)) for dest, m in sent] == [("n2", ForwardReply)]
            assert sent[0][1].error == "overloaded"  # type: ignore[attr-defined]
            assert node.node.record(b"fwd") is None
            status, _, body = await first
            assert status == 504 and body["outcome"] == "unknown"
            # nothing in flight: a put of the limit's size is admitted (504: n2, n3 down)
            status, _, body = await call("PUT", url(node, "/kv/third"), b"d" * 100_000)
            assert status == 504 and node.node.record(b"third") is not None, body

    run(scenario())


def test_a_forwarded_put_refused_for_its_bytes_reaches_the_client_as_a_503(
        tmp_path: Path) -> None:
    """The ForwardReply of a Forward refused by admission carries the wire code
    ``overloaded``, which the forwarder reads as an OverloadedError: 503 with
    Retry-After, ``not-written``. It carried the class name ``OverloadedError``, no
    wire code, read as a RemoteError: four ``vdynamo serve`` processes at N = 3,
    12 clients x 6 puts of 1 MiB through every node, 3 of 72 answered 504
    ``RemoteError`` outcome ``unknown``, no Retry-After, for a put the coordinator
    had refused before writing anything (session 23's second review)."""
    async def scenario() -> None:
        async with cluster(tmp_path, max_value_bytes=100_000,
                           max_pending_bytes=150_000) as servers:
            node = servers[0]
            first = await _hold(servers, 100_000)
            # the limit itself is admitted, a byte over it refused (a mutant
            # comparing with < refused a put that fits exactly)
            held = node.node.pending_bytes
            assert node.overloaded(150_000 - held) is None
            assert isinstance(node.overloaded(150_001 - held), errors.OverloadedError)
            # a body that is not a value is no put: asked to continue, it gets its 100
            # (a mutant admitting every Expect PUT refused it 503)
            answer = await asyncio.to_thread(_first_answer, node, (
                b"PUT /status HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
                b"Content-Length: 60000\r\n\r\n"))
            assert answer.startswith(b"HTTP/1.1 100 "), answer[:80]
            sent: list[tuple[str, Any]] = []
            node._send = lambda dest, message: sent.append((dest, message))  # type: ignore[method-assign]
            node._deliver("n2", wire.encode(Forward(7, PutRequest(1, b"fwd", b"c" * 60_000))))
            [(_, reply)] = sent
            error = errors.error_of(reply.error, reply.message)
            assert isinstance(error, errors.OverloadedError), (reply.error, type(error))
            status, body, headers = node.http._failed(error, unknown=_outcome_unknown(error))
            assert (status, body["outcome"]) == (503, "not-written")  # type: ignore[index]
            assert headers == [("retry-after", str(node.config.retry_after_s))]
            await first

    run(scenario())


def test_a_get_is_refused_at_once_while_a_get_of_a_large_record_is_in_flight(
        tmp_path: Path) -> None:
    """A get's record counts in the bytes in flight from its coordinator's own read
    on (session 24), so a get arriving while they are over ``max_pending_bytes``
    is answered 503 with Retry-After at once. Before, gets were not counted: it
    was admitted and waited out the quorum timeout (503 after 1 s here); 16
    clients reading keys of three 1 MiB siblings at ``r=2`` from three nodes got
    112 of 128 such 503s, the process at 1.1 GB (docs/runtime.md, "Service
    overload (session 24)")."""
    async def scenario() -> None:
        async with cluster(tmp_path, max_value_bytes=100_000,
                           max_pending_bytes=150_000) as servers:
            node = servers[0]
            node.admission.wait = 0.0  # refused at once, not after waiting its turn
            for value in (b"a" * 90_000, b"b" * 90_000):  # blind: two siblings
                status, _, body = await call("PUT", url(node, "/kv/big?w=3"), value)
                assert status == 200, body
            for other in servers[1:]:
                await other.stop()
            first = asyncio.create_task(call("GET", url(node, "/kv/big?r=2")))
            for _ in range(200):
                if node.node.pending_bytes >= 180_000:
                    break
                await asyncio.sleep(0.01)
            held = node.node.pending_bytes  # the two values with their content types
            assert 180_000 <= held < 180_200, held  # before: 0
            loop = asyncio.get_running_loop()
            began = loop.time()
            status, headers, body = await call("GET", url(node, "/kv/big?r=1"))
            took = loop.time() - began
            assert status == 503 and body["error"] == "OverloadedError", body
            assert headers["retry-after"] == str(node.config.retry_after_s)
            assert "max_pending_bytes (150000)" in body["message"], body
            assert took < 0.5, took  # at once, not after a quorum timeout
            status, _, shown = await call("GET", url(node, "/status"))
            assert shown["pending_bytes"] == held, shown
            # a forwarded get is refused the same way (before its coordinator reads)
            sent: list[tuple[str, Any]] = []
            node._send = lambda dest, message: sent.append((dest, message))  # type: ignore[method-assign]
            node._deliver("n2", wire.encode(Forward(8, GetRequest(2, b"big"))))
            [(_, reply)] = sent
            assert (reply.kind, reply.error) == ("get", "overloaded"), reply
            status, _, body = await first  # n2, n3 down: short of R=2
            assert status == 503 and body["error"] == "QuorumError", body
            assert node.node.pending_bytes == 0
            status, _, body = await call("GET", url(node, "/kv/big?r=1"))
            assert status == 300, body  # nothing in flight: admitted

    run(scenario())


def test_a_large_put_waits_its_turn_and_a_small_one_behind_it_does_not_pass(
        tmp_path: Path) -> None:
    """A put over the bytes left waits (at most Retry-After) first come first
    served, and a smaller put arriving after it waits behind it even though it
    would fit (session 24; ``impl.admission``). Before, the large put was refused
    at once and the small one admitted: 12 clients of 100 KB puts kept a 1 MiB put
    out for up to 20 tries (session 23's second review)."""
    async def scenario() -> None:
        async with cluster(tmp_path, max_value_bytes=100_000, max_pending_bytes=150_000,
                           request_timeout=1.5) as servers:
            node = servers[0]
            assert node.config.retry_after_s == 2  # the wait: the first put's life + 0.5 s
            first = await _hold(servers, 60_000)  # in flight for 1.5 s (n2, n3 down)
            large = asyncio.create_task(call("PUT", url(node, "/kv/large"), b"l" * 100_000))
            await asyncio.sleep(0.2)
            small = asyncio.create_task(call("PUT", url(node, "/kv/small"), b"s" * 10_000))
            await asyncio.sleep(0.2)
            # it would fit (60 KB + 10 KB), but it came after the large one
            assert node.node.record(b"small") is None  # before: written (admitted)
            assert node.node.record(b"large") is None
            # a Forward cannot wait: refused, naming those waiting before it
            refusal = node.overloaded(10)
            assert isinstance(refusal, errors.OverloadedError)
            assert "2 other request(s) wait their turn" in str(refusal), refusal
            assert (await first)[0] == 504
            status, _, body = await large  # admitted once the first ended, then short of W
            assert status == 504 and body["outcome"] == "unknown", body  # before: 503
            assert node.node.record(b"large") is not None
            status, _, body = await small
            assert status == 504 and node.node.record(b"small") is not None, body
            status, _, shown = await call("GET", url(node, "/status"))
            assert shown["admission"].pop("lane_shut_s") > 0, shown  # shut (review)
            assert shown["admission"] == {"waiting": 0, "waited": 2, "expired": 0,
                                          "small_passed": 0, "lane_shut": 3}, shown

    run(scenario())
