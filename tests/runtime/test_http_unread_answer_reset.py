"""A connection the node gives up on because its client reads nothing of the answer
is *reset*, its unsent bytes dropped by the kernel too (session 54's new-user probe,
probes/21d-trickled-headers-crlf-and-unread-answers.py).

``HttpApi._drain`` aborts a connection whose client took nothing of its answer for
``http_idle_timeout_s``. The abort closed the descriptor, but a close without
``SO_LINGER`` 0 leaves the kernel sending what it holds and then a FIN: each such
socket stayed in FIN-WAIT-1, an orphan holding its send buffer (``ss``: 3,910,657
bytes each for 20 clients that pipelined GETs of a 1 MiB value and read nothing,
long after the node "closed" them), and a client that began reading again got the
rest of the stale answer and a clean end, not a reset. Now the node sets
``SO_LINGER`` 0 before the abort (``impl.connections.reset``): the kernel sends a
reset and frees the buffer."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket

import pytest

from impl.http_api import _Closed
from tests.runtime.live import drained_client, run_on


def _read_after_the_abort(sock: socket.socket) -> tuple[int, str]:
    """(bytes the client still reads after the node gave up, how the stream ended)."""
    sock.settimeout(5)
    got = 0
    while True:
        try:
            data = sock.recv(1 << 20)
        except ConnectionResetError:
            return got, "reset"
        except OSError as error:
            return got, type(error).__name__
        if not data:
            return got, "eof"
        got += len(data)


async def _given_up() -> tuple[int, str, int]:
    """A 4 MiB answer to a client that reads nothing until the node's drain gave up
    (``http_idle_timeout_s`` 0.3 s): (bytes read afterwards, the end, timeouts)."""
    async with drained_client(0.3) as (api, client, writer):
        with contextlib.suppress(_Closed):
            await api._send(writer, [os.urandom(4 << 20)])
        await asyncio.sleep(0.2)  # the reset (or the orphan's bytes) reach the client
        got, end = await asyncio.to_thread(_read_after_the_abort, client)
    return got, end, api.timeouts


@pytest.mark.parametrize("loop", ["uvloop", "asyncio"])
def test_a_client_that_reads_nothing_is_reset_not_left_an_orphan(loop: str) -> None:
    got, end, timeouts = run_on(loop, _given_up())
    assert timeouts == 1
    # before: the kernel kept sending the answer's unsent bytes after the abort
    # (got about 2.6 MB and then "eof"); mutant: reset() not called in _drain
    assert end == "reset", (got, end)
