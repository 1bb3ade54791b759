"""A loopback TCP server for the client's tests: every connection handed to a
function on its own thread, stopped (and its port closed) at the end. Used by the
tests of servers that are not nodes (trickling, hostile, broken)."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable, Iterator


@contextlib.contextmanager
def serving(handle: Callable[[socket.socket, threading.Event], None]) -> Iterator[str]:
    """``host:port`` of a server on 127.0.0.1 calling ``handle(connection, stop)``
    for each connection it accepts (``stop`` is set at the end: a handler that loops
    should return then); each connection is closed when its handler returns."""
    stop = threading.Event()
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
            threading.Thread(target=run, args=(conn,), daemon=True).start()

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
