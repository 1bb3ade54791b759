"""A client that pipelines requests and reads none of the answers is reset
``http_idle_timeout_s`` after its last acknowledgement, even while the node's kernel
keeps taking more of the answers (session 57; session 55's user probe: 20
connections x 3,000 pipelined GETs served, slowly, for minutes).

Before, ``HttpApi._drain`` took a buffer that shrank within ``http_idle_timeout_s``
for a client reading slowly: with the kernel's send buffer growing (autotuning, about
12 KB/s a connection in the probe) every drain saw it shrink, and the connection was
served on for minutes. Now progress is the client's TCP acknowledging bytes
(``TCP_INFO``'s ``tcpi_bytes_acked``). Here the node's socket's ``SO_SNDBUF`` is
raised by half every 0.2 s from 16 KB (the autotuning, faster and deterministic; up
to ``net.core.wmem_max``, 4 MiB on this machine: 2.6 s of growth) while answers of
2,000 bytes are sent to a client with a 4 KB receive buffer that reads nothing: it
must be reset having been sent fewer than 500 (``http_idle_timeout_s`` 0.5 s); a
client reading 8 KB every 0.05 s gets all 150 answers. Loopback, one node object,
no cluster; 6 s at most each. (With the default ``wmem_max`` of 208 KiB the growth
ends within 1.4 s and the old rule too resets the first client early: the test
then passes either way.)

Mutants checked to fail (docs/runtime.md, session 57): ``_drain`` without the
``_stalled`` check at its start and with the old shrink rule, as before (the unread
client sent 2,306 answers in 3.2 s before its reset, where now 47-78 in 1.0 s);
``_stalled`` without the acknowledgement (stalled whenever over
``STALL_CHECK_BYTES`` for the timeout: the reading client reset after 143 answers,
asyncio).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time

import pytest

from impl.http_api import _Closed
from tests.runtime.live import drained_client, run_on

ANSWER = b"a" * 2000


async def _serve(read_every: float | None, answers: int) -> tuple[int, bool, float]:
    """Send up to ``answers`` answers (6 s at most) to a client that reads 8 KB every
    ``read_every`` s (None: nothing) while the node's SO_SNDBUF grows: (answers sent,
    whether the node gave up on it, seconds taken)."""
    stop = threading.Event()
    sent, closed = 0, False
    growing: asyncio.Future[None] | None = None
    began = time.monotonic()
    async with drained_client(0.5) as (api, client, writer):

        def reading() -> None:
            client.settimeout(0.5)
            while not stop.is_set() and read_every is not None:
                with contextlib.suppress(TimeoutError):
                    if not client.recv(8192):
                        return
                time.sleep(read_every)

        reader = threading.Thread(target=reading)
        try:
            node_socket = writer.get_extra_info("socket")
            node_socket.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 16384)

            async def autotuning() -> None:  # the kernel takes more, the client nothing
                sndbuf = 16384
                while True:
                    await asyncio.sleep(0.2)
                    sndbuf = sndbuf * 3 // 2  # (half more: the socket turns writable)
                    with contextlib.suppress(OSError):
                        node_socket.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, sndbuf)

            growing = asyncio.ensure_future(autotuning())
            reader.start()
            while sent < answers and time.monotonic() - began < 6:
                try:
                    await api._send(writer, [ANSWER])
                except _Closed:
                    closed = True
                    break
                sent += 1
                await asyncio.sleep(0)
        finally:
            if growing is not None:
                growing.cancel()
            stop.set()
            if reader.is_alive():
                await asyncio.to_thread(reader.join, 5)
    return sent, closed, time.monotonic() - began


@pytest.mark.parametrize("loop", ["uvloop", "asyncio"])
def test_a_pipelining_client_that_reads_nothing_is_reset(loop: str) -> None:
    sent, closed, took = run_on(loop, _serve(None, 100_000), limit=20)
    assert closed and sent < 500, f"{sent} answers sent in {took:.1f} s, reset: {closed}"


@pytest.mark.parametrize("loop", ["uvloop", "asyncio"])
def test_a_client_reading_slowly_is_served(loop: str) -> None:
    sent, closed, took = run_on(loop, _serve(0.05, 150), limit=20)
    assert (sent, closed) == (150, False), (sent, closed, took)
