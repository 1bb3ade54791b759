"""A request whose body does not come in time is closed without an answer, as a
head that does not come in time is (nginx: its ``ngx_http_finalize_request``
terminates a request finalized with ``NGX_HTTP_REQUEST_TIME_OUT`` without
sending; the 408 is only logged). From session 24 to session 27 a body timeout
was answered 408 with ``connection: close``: case 21's detector
(``/work/shared/cases/21-idle-connections.py``, ``still_open``: one ``recv(1)``)
reads the 408's first byte and counts the connection as still open, so half-sent
bodies failed a case 21 of half bodies 200 of 200 although the node had closed
them (docs/runtime.md, "4. 408 on a body timeout")."""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
import time
from pathlib import Path

import pytest

from impl.runtime import Address
from tests.runtime.live import call, cluster, raw, read_to_end, run, send_until_closed, url

IDLE = 0.5
#: a complete head announcing 100 bytes, then 10 of them and nothing more
HALF_BODY = b"PUT /kv/half HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n0123456789"


def still_open(sock: socket.socket) -> bool:
    """Case 21's detector, as is: one ``recv(1)`` on a non-blocking socket; b"" (the
    node closed) or an error (it reset) is closed, a byte or nothing yet is open."""
    sock.setblocking(False)
    try:
        return sock.recv(1) != b""
    except BlockingIOError:
        return True
    except OSError:
        return False


def _connect(address: Address | None, data: bytes) -> socket.socket:
    assert address is not None
    sock = socket.create_connection((address.host, address.port), timeout=5)
    sock.sendall(data)
    return sock


def _trickle(socks: list[socket.socket], every: float, stop: threading.Event) -> None:
    """Send a body byte on each of ``socks`` every ``every`` s (far below the body
    rate, never pausing for IDLE) until ``stop``; a socket the node closed is left."""
    sending = list(socks)
    while sending and not stop.wait(every):
        for sock in list(sending):
            try:
                sock.sendall(b"x")
            except OSError:
                sending.remove(sock)


def test_half_sent_bodies_are_closed_without_an_answer_by_case_21s_detector(
        tmp_path: Path) -> None:
    """Case 21 with half-sent bodies, bounded: 5 connections send a whole head with
    ``Content-Length: 100`` and 10 bytes of the body, then nothing (closed at
    ``http_idle_timeout_s``); 3 trickle a body at 10 B/s, below the default 500 B/s
    of ``http_min_body_rate`` (closed once they fall behind it). Meanwhile a normal
    client is served; then, once the node counted the 8 timeouts (and the 0.25 s
    lingering close the 408 had is past), case 21's ``still_open`` must see every
    one closed. With the 408: 8 of 8 open (its first byte unread)."""
    async def scenario() -> None:
        async with cluster(tmp_path, http_idle_timeout_s=IDLE,
                           http_header_timeout_s=IDLE) as servers:
            node = servers[0]
            halves = [_connect(node.http_address, HALF_BODY) for _ in range(5)]
            slow = [_connect(node.http_address, HALF_BODY.replace(b"100", b"9000"))
                    for _ in range(3)]
            stop = threading.Event()
            trickler = threading.Thread(target=_trickle, args=(slow, 0.1, stop))
            trickler.start()
            try:
                status, _, _ = await call("PUT", url(node, "/kv/k?w=3"), b"v")
                assert status == 200
                for _ in range(100):  # 0.5 s after they began; a loaded machine is slower
                    if node.http.timeouts >= 8:
                        break
                    await asyncio.sleep(0.1)
                assert node.http.timeouts == 8, node.http.timeouts
                await asyncio.sleep(0.5)  # past a lingering close, had there been one
                opened = [i for i, sock in enumerate(halves + slow) if still_open(sock)]
            finally:
                stop.set()
                await asyncio.to_thread(trickler.join)
                for sock in halves + slow:
                    sock.close()
            assert opened == [], f"{len(opened)} of 8 still open by case 21's detector"
            assert node.http.malformed == 0
            status, _, _ = await call("GET", url(node, "/kv/half"))
            assert status == 404  # nothing written
            status, _, _ = await call("GET", url(node, "/kv/k"))
            assert status == 200

    run(scenario())


def test_a_stalled_body_a_stalled_expect_and_a_stalled_head_are_closed_silently(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Each closed without an answer (the ``Expect`` one after its 100), counted in
    ``timeouts``; a body's log line says nothing was written."""
    async def scenario() -> None:
        async with cluster(tmp_path, http_idle_timeout_s=IDLE,
                           http_header_timeout_s=IDLE) as servers:
            node = servers[0]
            began = time.monotonic()
            answer = await raw(node.http_address, HALF_BODY)
            took = time.monotonic() - began
            assert answer == b"", answer  # session 24-27: a 408
            assert IDLE * 0.9 < took < IDLE + 2.0, took
            # asked to continue, then no body: the 100, then the close
            answer = await raw(node.http_address, (
                b"PUT /kv/k HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
                b"Content-Length: 100\r\n\r\n"))
            assert answer == b"HTTP/1.1 100 Continue\r\n\r\n", answer
            # half a head: closed, nothing sent (as since session 14)
            answer = await raw(node.http_address, b"PUT /kv/k HTTP/1.1\r\nHost: x\r\n")
            assert answer == b"", answer
            assert node.http.timeouts == 3 and node.http.malformed == 0
            status, _, _ = await call("GET", url(node, "/kv/k"))
            assert status == 404  # nothing written

    with caplog.at_level(logging.INFO, logger="vdynamo.http"):
        run(scenario())
    lines = [r.getMessage() for r in caplog.records if "closed an HTTP" in r.getMessage()]
    assert sum(f"(nothing of it for {IDLE:.1f} s); closed without an answer, nothing was "
               "written" in line for line in lines) == 2, lines


def test_a_pipelined_get_is_answered_before_its_stalled_put_is_closed(
        tmp_path: Path) -> None:
    """A GET then a PUT with 10 of its 100 body bytes, in one write: the GET's 200
    and its body, then the end of the stream (no 408 after it, no reset)."""
    async def scenario() -> None:
        async with cluster(tmp_path, http_idle_timeout_s=IDLE,
                           http_header_timeout_s=IDLE) as servers:
            node = servers[0]
            status, _, _ = await call("PUT", url(node, "/kv/g?w=3"), b"value-of-g")
            assert status == 200
            sock = _connect(node.http_address,
                            b"GET /kv/g HTTP/1.1\r\nHost: x\r\n\r\n" + HALF_BODY)
            try:
                answer, ended = await asyncio.to_thread(read_to_end, sock)
            finally:
                sock.close()
            assert answer.startswith(b"HTTP/1.1 200 OK\r\n"), answer
            assert answer.endswith(b"\r\n\r\nvalue-of-g"), answer  # then nothing (a 408 before)
            assert ended == "eof", ended
            assert node.http.timeouts == 1

    run(scenario())


def test_a_trickled_body_is_closed_at_its_rate_deadline(tmp_path: Path) -> None:
    """A body's deadline is its first read plus ``http_idle_timeout_s`` plus what it
    received over ``http_min_body_rate`` (500 B/s): a byte every 0.1 s (never a pause
    of ``http_idle_timeout_s``, 1 s) is closed at about 1.0 s (the 10 bytes add
    0.02 s), without an answer. Session 27's review: the grace taken twice (closed at
    2 s) passed every test (``test_http_slow_body`` allows 4 x the idle timeout),
    and the grace dropped was caught only by the stalled body's lower bound."""
    async def scenario() -> None:
        async with cluster(tmp_path, http_idle_timeout_s=1.0) as servers:
            node = servers[0]
            address = node.http_address
            assert address is not None
            answer, _, closed = await asyncio.to_thread(
                send_until_closed, (address.host, address.port),
                HALF_BODY.replace(b"100", b"9000")[:-10], b"x", 0.1, 4.0)
            assert answer == b"", answer  # closed without an answer
            assert closed is not None, "still open after 4 s: the rate is not bounded"
            assert 0.9 < closed < 1.7, closed  # 2.0 with the grace twice, 0.1 without
            assert node.http.timeouts == 1

    run(scenario())
