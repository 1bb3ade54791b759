"""A chunk whose size line announces more than the body may still take is refused
at that line: 413 naming the chunk's size, nothing more of it read (session 23).

Before, httptools giving no chunk size, the chunk was read until the value passed
``max_value_bytes``: a client announcing a chunk of 1 MiB + 1 and waiting got no
answer until a timeout closed the connection, and one that sent it got its 413
only after a mebibyte. (A value sent with Content-Length was already refused at
its head.)"""

from __future__ import annotations

import asyncio
import socket
import time
from pathlib import Path

import pytest

from impl.http_api import _Parse
from tests.runtime.live import cluster, parse_response, run

_HEAD = b"PUT /kv/a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"


def _fed(*pieces: bytes) -> list[tuple[int, str]]:
    parse = _Parse(1000)
    for piece in pieces:
        parse.feed(piece)
    return [(0, "") if r.problem is None else (r.problem[0], r.problem[1]["message"])
            for r in parse.ready]


@pytest.mark.parametrize("pieces", [
    (_HEAD + b"3e9\r\n",),  # 1,001 bytes announced, nothing of them sent
    (_HEAD + b"3e9;ext=1\r\n" + b"x" * 10,),  # an extension, some of its data
    (_HEAD + b"3", b"e9\r\n"),  # the size line over two reads
    (_HEAD + b"200\r\n" + b"x" * 512 + b"\r\n1e9\r\n",),  # a second chunk passes it
])
def test_a_chunk_announced_over_the_limit_is_refused_at_its_size_line(
        pieces: tuple[bytes, ...]) -> None:
    (status, message), = _fed(*pieces)
    assert status == 413 and "refused at its size line" in message, message


def test_chunks_within_the_limit_and_other_bodies_are_read_as_before() -> None:
    # the chunk's data over the limit in the same slice: on_body's 413, as before
    (status, message), = _fed(_HEAD[:30], _HEAD[30:] + b"3e9\r\n" + b"x" * 9000)
    assert status == 413, message
    assert message.endswith("over the limit of 1000 bytes (max_value_bytes)"), message
    assert _fed(_HEAD + b"3e8\r\n") == []  # exactly the limit: waits for the data
    assert _fed(_HEAD + b"3e8\r\n" + b"x" * 500) == []  # half its data in the same read
    assert _fed(_HEAD + b"1f4\r\n" + b"x" * 500 + b"\r\n1f4\r\n" + b"x" * 9) == []
    # a chunk complete at the read's end: its data is no size line (f... is hex)
    assert _fed(_HEAD + b"320\r\n" + b"x" * 800 + b"\r\nc8\r\n" + b"f" * 200 + b"\r\n") == []
    assert _fed(_HEAD + b"3e8\r\n" + b"x" * 1000 + b"\r\n0\r\n\r\n") == [(0, "")]
    get = b"GET /kv/a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
    (status, message), = _fed(get + b"100001\r\n")  # a body dropped: its own limit
    assert status == 413 and "a chunk of 1048577 bytes" in message, message
    assert _fed(get + b"100000\r\n") == []


def test_the_node_answers_the_size_line_without_waiting_for_the_chunk(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with cluster(tmp_path, http_idle_timeout_s=5.0) as servers:
            address = servers[0].http_address
            assert address is not None

            def send() -> bytes:  # the size line, then nothing: the client waits
                with socket.create_connection((address.host, address.port), timeout=3) as sock:
                    sock.sendall(_HEAD + b"100001\r\n")  # 1 MiB + 1, over max_value_bytes
                    return sock.recv(65536)

            started = time.monotonic()
            status, _, body = parse_response(await asyncio.to_thread(send))
            assert status == 413 and "a chunk of 1048577 bytes" in body["message"], body
            assert time.monotonic() - started < 2.0

    run(scenario())
