"""A chunked PUT's value takes about its own size of the node's memory, however
small its chunks. Until session 19's service probe the parser kept each chunk's
bytes as an object of its own in a list: a 1 MiB value sent in 2-byte chunks
(3.6 MB on the wire) took 28 MB of a ``vdynamo serve`` process while its last
chunk was awaited (RSS 145 -> 172 -> 200 -> 228 MB for three such connections),
so ``max_http_connections`` (512) of them could hold about 14 GB where
``max_value_bytes`` promises about 512 MiB (case 22's kind: a value within the
limit must not cost more than its size)."""

from __future__ import annotations

import base64
import tracemalloc
from pathlib import Path

from impl.http_api import _Parse
from tests.runtime.live import call, cluster, raw, run, url

_VALUE = 1 << 20  # the default max_value_bytes


def _chunked(value: bytes, size: int) -> bytes:
    pieces = [b"%x\r\n%s\r\n" % (len(value[i:i + size]), value[i:i + size])
              for i in range(0, len(value), size)]
    return b"".join(pieces) + b"0\r\n\r\n"


def test_a_value_in_two_byte_chunks_is_buffered_in_about_its_size() -> None:
    value = bytes(range(256)) * (_VALUE // 256)
    wire = b"PUT /kv/k HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" + _chunked(
        value, 2)
    parse = _Parse(_VALUE)
    tracemalloc.start()
    try:
        for at in range(0, len(wire) - 5, 65536):  # all but the last chunk, as read
            parse.feed(wire[at:min(at + 65536, len(wire) - 5)])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 4 * _VALUE, f"{peak} bytes held for a {_VALUE}-byte value"  # was 28 MB
    parse.feed(wire[len(wire) - 5:])
    (request,) = parse.ready
    assert request.problem is None and request.body == value


def test_a_value_in_small_chunks_is_stored_whole(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with cluster(tmp_path) as servers:
            node = servers[0]
            value = bytes(range(251)) * 400
            answer = await raw(node.http_address, b"PUT /kv/c HTTP/1.1\r\nHost: x\r\n"
                               b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
                               + _chunked(value, 3))
            assert answer.startswith(b"HTTP/1.1 200"), answer[:200]
            status, _, got = await call("GET", url(node, "/kv/c?r=3"))
            assert status == 200
            assert [base64.b64decode(v) for v in got["values"]] == [value]
    run(scenario())
