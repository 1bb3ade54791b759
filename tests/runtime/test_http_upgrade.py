"""A request asking to switch protocols (``Upgrade``) with a body is served as the
HTTP/1.1 request it is, its body its value (RFC 9110 7.8: a server may ignore
Upgrade; RFC 7540 3.2: a request's body is sent whole before any HTTP/2 frame).
Before session 14's probe B httptools took the body for the new protocol's bytes:
``curl --http2 -X PUT --data-binary hello http://node/kv/k`` (curl sends
``Connection: Upgrade, HTTP2-Settings`` and ``Upgrade: h2c``) was answered 200
and stored the empty value in place of ``hello``."""

from __future__ import annotations

import asyncio
import base64
import shutil
import subprocess
from pathlib import Path

import pytest

from impl.runtime import NodeServer
from tests.runtime.live import call, cluster, parse_response, raw, run, url

_H2C = (b"Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n"
        b"HTTP2-Settings: AAMAAABkAAQAAP__\r\n")


async def _values(node: NodeServer, key: str) -> list[bytes]:
    status, _, got = await call("GET", url(node, f"/kv/{key}?r=3"))
    assert status in (200, 404)
    return [base64.b64decode(v) for v in got["values"]]


@pytest.mark.parametrize("body", [
    b"Content-Length: 5\r\n\r\nhello",
    b"Transfer-Encoding: chunked\r\n\r\n2\r\nhe\r\n3\r\nllo\r\n0\r\n\r\n",
])
def test_an_upgrade_with_a_body_stores_the_body(tmp_path: Path, body: bytes) -> None:
    async def scenario() -> None:
        async with cluster(tmp_path) as servers:
            node = servers[0]
            answer = await raw(node.http_address, b"PUT /kv/k HTTP/1.1\r\nHost: x\r\n"
                               + _H2C + body + b"GET /kv/k HTTP/1.1\r\nHost: x\r\n"
                               b"Connection: close\r\n\r\n")
            assert answer.startswith(b"HTTP/1.1 200 "), answer[:200]
            # the request pipelined behind it is HTTP/1.1 too, and answered
            assert answer.count(b"HTTP/1.1 200 ") == 2, answer
            assert answer.endswith(b"hello"), answer[-100:]
            assert await _values(node, "k") == [b"hello"]
    run(scenario())


@pytest.mark.parametrize("length", [b"", b"Content-Length: 0\r\n", b"Content-Length: 00\r\n"])
def test_an_upgrade_without_a_body_is_answered_then_closed(tmp_path: Path,
                                                           length: bytes) -> None:
    """A Content-Length of 0 announces no body: answered and closed as without one
    (kills the mutant taking any Content-Length for a body)."""
    async def scenario() -> None:
        async with cluster(tmp_path) as servers:
            node = servers[0]
            status, _, _ = await call("PUT", url(node, "/kv/k"), b"v")
            assert status == 200
            answer = await raw(node.http_address, b"GET /kv/k HTTP/1.1\r\nHost: x\r\n"
                               b"Accept: application/json\r\n" + length + _H2C + b"\r\n")
            status, headers, got = parse_response(answer)
            assert status == 200 and headers["connection"] == "close"
            assert [base64.b64decode(v) for v in got["values"]] == [b"v"]
    run(scenario())


@pytest.mark.skipif(shutil.which("curl") is None, reason="no curl")
def test_curl_http2_put_stores_its_value(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with cluster(tmp_path) as servers:
            node = servers[0]
            done = await asyncio.to_thread(
                subprocess.run, ["curl", "-s", "--http2", "-X", "PUT", "--data-binary",
                                 "hello", url(node, "/kv/c")],
                capture_output=True, timeout=20, check=False)
            assert done.returncode == 0 and b'"context"' in done.stdout, done
            assert await _values(node, "c") == [b"hello"]
    run(scenario())
