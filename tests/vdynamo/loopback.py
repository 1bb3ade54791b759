"""A loopback TCP server for the client's tests: every connection handed to a
function on its own thread, stopped (and its port closed) at the end. Used by the
tests of servers that are not nodes (trickling, hostile, broken)."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterator


@contextlib.contextmanager
def serving(handle: Callable[[socket.socket, threading.Event], None]) -> Iterator[str]:
    """``host:port`` of a server on 127.0.0.1 calling ``handle(connection, stop)``
    for each connection it accepts (``stop`` is set at the end: a handler that loops
    should return then); each connection is closed when its handler returns. The
    handlers are joined at the end (5 s in all), so what a handler records is there
    when the ``with`` ends (session 59: test_client_default_deadline's
    ``test_put_value_file_ends_by_one_timeout_over_its_two_calls`` read its ``puts``
    empty under load, its handler not yet run past its last recv; with 0.3 s slept
    before that handler's append it failed 3 of 3 before the join, passed after)."""
    stop = threading.Event()
    handlers: list[threading.Thread] = []
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    sock.settimeout(0.2)

    def run(conn: socket.socket) -> None:
        with conn, contextlib.suppress(OSError):
            handle(conn, stop)

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            handler = threading.Thread(target=run, args=(conn,), daemon=True)
            handlers.append(handler)
            handler.start()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{sock.getsockname()[1]}"
    finally:
        stop.set()
        # wakes the accept at once (Linux: it fails with EINVAL), not at its next 0.2 s
        # timeout: about 0.2 s a test of tests/vdynamo (session 38)
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
        thread.join(5)
        sock.close()
        deadline = time.monotonic() + 5
        for handler in handlers:
            handler.join(max(0.0, deadline - time.monotonic()))


@contextlib.contextmanager
def blackholed() -> Iterator[str]:
    """``host:port`` of a listening socket on 127.0.0.1 that never accepts, its
    backlog (``listen(0)``) filled, so that a new connection's SYN is dropped and its
    connect hangs: a node behind a firewall that drops packets (no iptables needed).
    Every socket closed at the end. Session 54."""
    listener = socket.socket()
    held = [listener]
    try:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        address = listener.getsockname()
        for _ in range(16):
            filler = socket.socket()
            held.append(filler)
            filler.settimeout(0.3)
            try:
                filler.connect(address)
            except OSError:  # its SYN dropped: the backlog is full
                break
        else:
            raise AssertionError("the backlog of a listen(0) socket never filled")
        yield f"127.0.0.1:{address[1]}"
    finally:
        for sock in held:
            sock.close()
