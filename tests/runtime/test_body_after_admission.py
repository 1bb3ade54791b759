"""A put's body is read after its admission by bytes, not before (session 24).

A PUT with a Content-Length (or chunked: as ``max_value_bytes``) waits its turn
once its head is read, its body left in the socket, and its bytes are reserved
from its admission until it starts (``ByteAdmission.reserve``). Before, the body
was read first and the put then waited holding its value outside
``max_pending_bytes``: 24 in-process clients putting 1 MiB values, 23 waited at
once holding 24.1 MB, 17 x the 1.4 MB limit (docs/runtime.md, "Service overload
(session 24)", "Bodies read after admission")."""

from __future__ import annotations

import asyncio
import base64
import socket
import struct
from pathlib import Path

from impl.http_api import HttpApi, _Parse
from impl.runtime import NodeServer
from tests.runtime.live import call, cluster, parse_response, run, url

#: 150 KB in flight at most, values of 100 KB at most; a body paused 2 s times out
#: (0.5 s before session 24's clean clone, where admitted puts were answered 408 in
#: 2 of 5 tests: the loop stalled in :func:`_parse_of`'s walk of every object then,
#: fixed in session 25; 2 s kept as a margin for a loaded machine)
LIMITS = {"max_value_bytes": 100_000, "max_pending_bytes": 150_000,
          "http_idle_timeout_s": 2.0}


def _parse_of(target: bytes) -> _Parse:
    """The parser state of the connection whose request under way is ``target``: the
    ``parse`` of the :meth:`impl.http_api.HttpApi.serve_connection` task serving it
    (the coroutine ``asyncio.start_server`` runs per connection), found among the
    loop's tasks. Until session 25 it was found by walking ``gc.get_objects()``:
    synchronous on the loop the nodes share, in an xdist worker past some thousand
    tests that held millions of objects and stalled the loop 2.2-3.2 s under load,
    past the first put's 2 s idle timeout (408, 2 of 5 tests failed in a profile
    run; docs/runtime.md, "Bodies read after admission")."""
    found = []
    for task in asyncio.all_tasks():
        frame = getattr(task.get_coro(), "cr_frame", None)
        if frame is not None and frame.f_code is HttpApi.serve_connection.__code__:
            state = frame.f_locals.get("parse")
            if isinstance(state, _Parse) and state.url == target and state.in_body:
                found.append(state)
    [one] = found
    return one


async def _open(node: NodeServer) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    address = node.http_address
    assert address is not None
    return await asyncio.open_connection(address.host, address.port)


async def _until(condition: object, what: str) -> None:
    for _ in range(300):
        if callable(condition) and condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"never: {what}")


def _head(key: str, length: int) -> bytes:
    return (f"PUT /kv/{key} HTTP/1.1\r\nHost: x\r\nContent-Length: {length}\r\n"
            "\r\n").encode()


def test_a_put_waits_its_turn_with_its_body_unread_then_is_stored(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with cluster(tmp_path, **LIMITS) as servers:
            node = servers[0]
            node.admission.wait = 10.0  # its turn, not the end of its wait (1 s)
            # the first put's reservation held whole while it trickles (since session
            # 25 a reservation past its hold counts what its body received)
            node.admission.hold = 10.0
            # the first put is admitted at its head (100 KB reserved) and sends half
            first_reader, first = await _open(node)
            first.write(_head("first", 100_000) + b"a" * 50_000)
            await _until(lambda: node.admission.reserved == 100_000,
                         "the first put reserved its 100 KB")  # before: 0, read first
            # the second (90 KB) does not fit: it waits, its whole body sent but unread
            second_reader, second = await _open(node)
            second.write(_head("second", 90_000))
            await _until(lambda: len(node.admission.queue) == 1, "the second put waits")
            second.write(b"b" * 90_000)
            await second.drain()
            for _ in range(4):  # 2.4 s, over http_idle_timeout_s: the wait is no pause
                await asyncio.sleep(0.6)  # (the first put keeps sending, slowly)
                first.write(b"a" * 5_000)
            assert [waiter.size for waiter in node.admission.queue] == [90_000]
            waiting = _parse_of(b"/kv/second")
            assert (waiting.received, len(waiting.body)) == (0, 0)  # nothing held
            assert node.node.pending_bytes + node.admission.reserved == 100_000
            # the first completes: it starts (its reservation becomes its bytes in
            # flight), is answered, and the second is admitted, read and stored
            first.write(b"a" * 30_000)
            status, _, body = parse_response(await first_reader.read(65536))
            assert status == 200, body
            status, _, body = parse_response(await second_reader.read(65536))
            assert status == 200, body  # not a 408: its wait was not counted
            status, _, body = await call("GET", url(node, "/kv/second"))
            assert status == 200 and body["values"] == [base64.b64encode(
                b"b" * 90_000).decode()], status
            await _until(lambda: node.admission.reserved == node.node.pending_bytes == 0,
                         "every reservation let go")
            for writer in (first, second):
                writer.close()

    run(scenario())


def test_a_put_refused_before_its_body_is_answered_503_and_its_connection_closed(
        tmp_path: Path) -> None:
    """Its wait ended (``admission.wait`` 0 here): 503 with Retry-After and
    ``connection: close`` (its body unread, the connection cannot go on), and
    nothing written; the next client is served."""
    async def scenario() -> None:
        async with cluster(tmp_path, **LIMITS) as servers:
            node = servers[0]
            node.admission.wait = 0.0
            _, first = await _open(node)
            first.write(_head("first", 100_000))
            await _until(lambda: node.admission.reserved == 100_000, "reserved")
            reader, second = await _open(node)
            second.write(_head("second", 90_000))  # no body: refused before it
            answer = await asyncio.wait_for(reader.read(), 5)  # until the node closes
            status, headers, body = parse_response(answer)
            assert status == 503 and body["error"] == "OverloadedError", body
            assert headers["connection"] == "close" and "retry-after" in headers
            assert node.node.record(b"second") is None and node.http.malformed == 0
            second.close()
            node.admission.wait = 10.0
            reader, third = await _open(node)  # waits its turn behind the reservation
            third.write(_head("third", 90_000) + b"c" * 90_000)
            await _until(lambda: len(node.admission.queue) == 1, "the third put waits")
            # gives up, with a reset (SO_LINGER 0: the node's read fails): its
            # reservation is let go, and the third's turn comes
            first.get_extra_info("socket").setsockopt(
                socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            first.close()
            status, _, body = parse_response(await asyncio.wait_for(reader.read(65536), 2))
            assert status == 200, body  # (its turn came at once, not at its wait's end)
            await _until(lambda: node.admission.reserved == 0, "the reservation let go")
            third.close()

    run(scenario())


async def _answer(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    """(status, body) of the next answer on ``reader`` (Content-Length framed)."""
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
    return int(head.split()[1]), await reader.readexactly(length)


def test_pipelined_requests_around_a_waiting_chunked_put_are_answered_in_order(
        tmp_path: Path) -> None:
    """A GET, a chunked PUT (admitted as max_value_bytes, 100 KB) and a GET of its
    key, pipelined while 100 KB are reserved (the PUT's body and the second GET
    sent once it waits): the first GET is answered, the PUT waits with its body
    unread, then is stored, then the GET reads it; the connection stays in step.
    (A body that comes whole in the read of its head, at most 64 KiB, is admitted
    after it is read, as before.)"""
    async def scenario() -> None:
        async with cluster(tmp_path, **LIMITS) as servers:
            node = servers[0]
            node.admission.wait = 10.0
            first_reader, first = await _open(node)
            first.write(_head("first", 100_000) + b"a" * 50_000)
            await _until(lambda: node.admission.reserved == 100_000, "reserved")
            reader, writer = await _open(node)
            value = b"p" * 30_000
            writer.write(b"GET /kv/none HTTP/1.1\r\nHost: x\r\n\r\n"
                         b"PUT /kv/p HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\n"
                         b"Transfer-Encoding: chunked\r\n\r\n")
            assert (await _answer(reader))[0] == 404
            await _until(lambda: [w.size for w in node.admission.queue] == [100_000],
                         "the chunked put waits as max_value_bytes")
            writer.write(b"%x\r\n" % len(value) + value
                         + b"\r\n0\r\n\r\nGET /kv/p HTTP/1.1\r\nHost: x\r\n\r\n")
            await asyncio.sleep(0.2)
            assert _parse_of(b"/kv/p").received == 0  # its value unread while it waits
            first.write(b"a" * 50_000)
            assert parse_response(await first_reader.read(65536))[0] == 200
            status, body = await _answer(reader)
            assert status == 200, body
            assert await _answer(reader) == (200, value)
            await _until(lambda: node.admission.reserved == node.node.pending_bytes == 0,
                         "every reservation let go")
            for each in (first, writer):
                each.close()

    run(scenario())


def test_a_put_admitted_before_its_body_counts_once_in_flight(tmp_path: Path) -> None:
    """Once it starts its reservation becomes its bytes in flight (counted once):
    n2 and n3 stopped, a 100 KB put stays in flight until its request timeout."""
    async def scenario() -> None:
        async with cluster(tmp_path, **LIMITS) as servers:
            node = servers[0]
            for other in servers[1:]:
                await other.stop()
            reader, writer = await _open(node)
            writer.write(_head("held", 100_000) + b"h" * 100_000)
            await _until(lambda: node.node.pending_bytes >= 100_000, "the put in flight")
            assert node.admission.reserved == 0  # not counted twice
            status, _, body = parse_response(await asyncio.wait_for(reader.read(65536), 5))
            assert status == 504 and body["outcome"] == "unknown", body
            writer.close()

    run(scenario())


def test_a_kept_alive_connection_is_not_admitted_again_after_a_put_read_whole(
        tmp_path: Path) -> None:
    """A put whose body came whole with its head (one read) is admitted as read;
    the next request on its kept-alive connection is not admitted again by that
    put's bytes: a GET there while 100 KB are reserved is answered (404), not 503
    (a mutant keeping the put's admission due made it 503)."""
    async def scenario() -> None:
        async with cluster(tmp_path, **LIMITS) as servers:
            node = servers[0]
            reader, writer = await _open(node)
            writer.write(_head("whole", 60_000) + b"w" * 60_000)
            assert (await _answer(reader))[0] == 200
            node.admission.wait = 0.0
            _, holder = await _open(node)
            holder.write(_head("held", 100_000))
            await _until(lambda: node.admission.reserved == 100_000, "reserved")
            writer.write(b"GET /kv/none HTTP/1.1\r\nHost: x\r\n\r\n")
            assert (await _answer(reader))[0] == 404
            for each in (writer, holder):
                each.close()

    run(scenario())
