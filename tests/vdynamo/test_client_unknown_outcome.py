"""A write whose outcome is unknown says so, and names the write and the node
(session 16's probe).

Before, a node that read a put and closed the connection without answering (it
died mid-request) made ``vdynamo put k v`` print ``vdynamo put: put b'k' to
http://127.0.0.1:P: RemoteProtocolError('Server disconnected without sending a
response.')``, and a 504 ``vdynamo put: HTTP 504 RequestTimeoutError: ...``:
neither said that the write may have been made, which is the one thing the user
must know before writing again (a retry of a put without the context makes a
sibling; :class:`impl.http_client.OutcomeUnknownError` is raised exactly so as not
to retry). Only the answer that is not the API's said "the write may have been
made". The 504 did not name the key or the node either.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from impl.http_client import OutcomeUnknownError, Router, delete_plan, put_plan
from tests.runtime.procs import cli

_SAID = "the write may have been made (outcome unknown): read the key before writing again"


@pytest.fixture
def dying_node() -> Iterator[int]:
    """A loopback port whose 'node' reads each request and closes without an answer
    (a node killed mid-request; a GET is answered ``{}``), for at most 20 s. Its
    accept waits 0.1 s at a time, so the teardown's stop is seen at once (session
    19: the accept waited out its 20 s after the one request, and every test 20 s
    with it)."""
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.1)
    stop = threading.Event()
    deadline = time.monotonic() + 20.0

    def serve() -> None:
        while not stop.is_set() and time.monotonic() < deadline:
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with conn:
                conn.settimeout(5.0)
                with contextlib.suppress(OSError):
                    if conn.recv(65536).startswith(b"GET "):  # session 53: the CLI asks
                        # GET /health of a node before it sends a write there: answered,
                        # so that the write is sent (and dies)
                        conn.sendall(b"HTTP/1.1 200 OK\r\ncontent-type: application/json"
                                     b"\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield int(server.getsockname()[1])
    finally:
        stop.set()
        server.close()
        thread.join(timeout=25.0)


@pytest.mark.parametrize("command", [["put", "k", "v"], ["delete", "k", "--context", "Y3R4"]])
def test_the_cli_says_a_write_may_have_been_made(dying_node: int, command: list[str]
                                                 ) -> None:
    done = cli(*command, "--node", f"127.0.0.1:{dying_node}")
    assert done.returncode == 1, done
    assert _SAID in done.stderr, done
    assert f"{command[0]} b'k' to http://127.0.0.1:{dying_node}" in done.stderr, done


def _router() -> Router:
    router = Router(["127.0.0.1:1"], refresh_s=60.0, now=lambda: 0.0)
    router.forget()
    return router


@pytest.mark.parametrize("answer", [
    httpx.Response(504, json={"error": "RequestTimeoutError", "message": "no quorum in 1 s",
                              "outcome": "unknown"}),
    httpx.Response(500, json={"error": "StorageError", "message": "disk full",
                              "outcome": "unknown"}),
    httpx.Response(200, text="<html>proxy</html>"),
    httpx.ReadError("connection reset")], ids=["504", "500 unknown", "not the API's", "reset"])
@pytest.mark.parametrize("method", ["put", "delete"])
def test_every_unknown_outcome_says_so_once_naming_the_write(
        answer: httpx.Response | httpx.TransportError, method: str) -> None:
    router = _router()
    plan = (put_plan(router, "cart", b"v", None, "text/plain", None) if method == "put"
            else delete_plan(router, "cart", "Y3R4", None))
    step = next(plan)
    while step[1].endswith("/status"):  # the ring is not known: its ask fails
        step = plan.send(httpx.Response(503, json={}))
    with pytest.raises(OutcomeUnknownError) as raised:
        plan.send(answer)
    text = str(raised.value)
    assert text.count(_SAID) == 1, text
    assert text.startswith(f"{method} 'cart' to http://127.0.0.1:1: "), text
    assert raised.value.outcome == "unknown"
