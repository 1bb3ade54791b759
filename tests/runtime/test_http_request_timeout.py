"""A request whose body does not come in time is answered 408 with ``connection:
close`` (RFC 9110 15.5.9; Apache's mod_reqtimeout), then the connection closes;
a head that does not come in time is closed without an answer, as nginx closes
at ``client_header_timeout`` (session 24; docs/runtime.md, "Service overload
(session 24)"). Before, every timed-out connection was closed without an answer:
the client of a stalled PUT could not tell a timeout from a crash."""

from __future__ import annotations

import time
from pathlib import Path

from tests.runtime.live import call, cluster, parse_response, raw, run, url

IDLE = 0.5


def test_a_stalled_body_is_answered_408_and_a_stalled_head_closed_silently(
        tmp_path: Path) -> None:
    async def scenario() -> None:
        async with cluster(tmp_path, http_idle_timeout_s=IDLE,
                           http_header_timeout_s=IDLE) as servers:
            node = servers[0]
            began = time.monotonic()
            answer = await raw(node.http_address, (
                b"PUT /kv/k HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc"))
            took = time.monotonic() - began
            assert answer, "closed without an answer"  # before: b""
            status, headers, body = parse_response(answer)
            assert (status, headers["connection"]) == (408, "close"), answer
            assert body["error"] == "RequestTimeout" and body["outcome"] == "not-written"
            assert f"nothing of it for {IDLE:.1f} s" in body["message"], body
            assert IDLE * 0.9 < took < IDLE + 2.0, took
            # asked to continue, then no body: the 100, then the 408
            answer = await raw(node.http_address, (
                b"PUT /kv/k HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
                b"Content-Length: 100\r\n\r\n"))
            assert answer.startswith(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 408 "), answer
            # half a head: closed, nothing sent (case 21 counts unread bytes as open)
            answer = await raw(node.http_address, b"PUT /kv/k HTTP/1.1\r\nHost: x\r\n")
            assert answer == b"", answer
            assert node.http.timeouts == 3 and node.http.malformed == 0
            status, _, _ = await call("GET", url(node, "/kv/k"))
            assert status == 404  # nothing written

    run(scenario())
