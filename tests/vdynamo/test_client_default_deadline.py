"""The library's call deadline by default, and one bound over a command's calls
(session 54).

Before: ``vdynamo.connect(nodes)`` had no call deadline (``deadline_s=None``) and
each node ``timeout_s`` of 10 s, so a node that hung held each get 10 s and each
write sent to it answered "outcome unknown" after 10 s
(tests/runtime/test_client_default_failover.py, on real processes). Now, not given,
``deadline_s`` is ``DEADLINE_S`` (10 s) or twice ``timeout_s`` when that is more, and
``timeout_s`` is ``TIMEOUT_S`` (2 s); ``None`` keeps the old behaviour (no probe).

And ``vdynamo put KEY --value-file F`` made two calls (``/status`` for the value's
limit, then the put), each with the whole ``--timeout``: with a node slow to answer
``/status`` the command took up to twice ``--timeout``. Now every call of a command
ends by one time (:attr:`impl.http_client.Client.ends_at`).

Mutants checked to fail: ``call_deadline`` giving None when not given (the defaults'
test); ``_until`` ignoring ``ends_at`` (both ``ends_at`` tests); ``vdynamo put`` not
setting ``ends_at`` (the ``--value-file`` test: the put's bound 4.0 s, not about
2 s).
"""

from __future__ import annotations

import asyncio
import re
import socket
import threading
import time
from pathlib import Path

import pytest

import vdynamo
from impl.errors import LocalError
from impl.http_client import (
    DEADLINE_S,
    TIMEOUT_S,
    AsyncClient,
    Client,
    NoNodeError,
    call_deadline,
)
from tests.vdynamo.loopback import blackholed, serving
from vdynamo.kv_cli import main_put


def test_the_defaults_are_a_call_deadline_and_a_nodes_part() -> None:
    for client in (vdynamo.connect(["127.0.0.1:1"]), vdynamo.connect_async(["127.0.0.1:1"]),
                   Client(["127.0.0.1:1"]), AsyncClient(["127.0.0.1:1"])):
        assert (client._deadline_s, client._timeout_s) == (DEADLINE_S, TIMEOUT_S)
        assert client.router.probe_writes  # a write asks GET /health of a node first
    assert (DEADLINE_S, TIMEOUT_S) == (10.0, 2.0)  # as documented (README, runtime.md)
    assert call_deadline(30.0, vdynamo.client.DEFAULT_DEADLINE) == 60.0  # twice a larger
    # node's part: a node that holds a call for it leaves as much to the next
    given = Client(["127.0.0.1:1"], timeout_s=1.0, deadline_s=3.0)
    assert (given._deadline_s, given.router.probe_writes) == (3.0, True)
    old = vdynamo.connect(["127.0.0.1:1"], timeout_s=10.0, deadline_s=None)
    assert (old._deadline_s, old.router.probe_writes) == (None, False)  # as before
    for bad in (0, -1.0, float("nan"), "5", 1e308):  # 1e308: over MAX_SECONDS (session 56)
        with pytest.raises(LocalError, match="deadline_s must be a positive"):
            Client(["127.0.0.1:1"], deadline_s=bad)  # type: ignore[arg-type]


@pytest.mark.parametrize("deadline_s", [None, 5.0])
def test_a_call_past_the_clients_end_is_not_sent(deadline_s: float | None) -> None:
    """``ends_at`` passed: nothing is sent (port 1 refuses: a request made would say
    ConnectError), no node is suspected, a write is not written."""
    with Client(["127.0.0.1:1"], deadline_s=deadline_s) as client:
        client.ends_at = time.monotonic() - 0.1
        for call in (lambda: client.get("k"), lambda: client.put("k", b"v")):
            with pytest.raises(NoNodeError, match="not sent: the call's deadline") as raised:
                call()
            assert raised.value.outcome == "not-written"
            assert "ConnectError" not in str(raised.value)
        assert client.router.suspected() == []


#: seconds the fake node below takes to answer its first ``/status``
SLOW_STATUS_S = 2.0
#: ``--timeout`` of the command below
TIMEOUT = 4.0


def _slow_status_node(puts: list[float]) -> object:
    """A loopback 'node' whose first ``GET /status`` is answered after
    :data:`SLOW_STATUS_S` (stating ``max_value_bytes``), any other GET at once, and
    whose PUT is read and never answered (its connection held until the client drops
    it; ``puts``: the seconds each was held)."""
    lock = threading.Lock()
    statuses = [0]

    def handle(conn: socket.socket, stop: threading.Event) -> None:
        conn.settimeout(0.2)
        data = b""
        while not stop.is_set():
            try:
                more = conn.recv(65536)
            except TimeoutError:
                continue
            if not more:
                return
            data += more
            if b"\r\n\r\n" not in data:
                continue
            head, _, data = data.partition(b"\r\n\r\n")
            if head.startswith(b"PUT "):
                began = time.monotonic()
                while not stop.is_set() and time.monotonic() - began < 15:
                    try:
                        if not conn.recv(65536):
                            break
                    except TimeoutError:
                        continue
                puts.append(time.monotonic() - began)
                return
            if head.startswith(b"GET /status"):
                with lock:
                    statuses[0] += 1
                    first = statuses[0] == 1
                if first:
                    stop.wait(SLOW_STATUS_S)
            body = b'{"limits": {"max_value_bytes": 100}}'
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                         b"Content-Length: %d\r\n\r\n%s" % (len(body), body))

    return serving(handle)


def test_put_value_file_ends_by_one_timeout_over_its_two_calls(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The ``/status`` read for the value's limit took :data:`SLOW_STATUS_S` of the
    ``--timeout``; the put sent after it (its node answered that ``/status`` just now:
    not probed) is held unanswered: it is given what is left (about 2 s), not a whole
    ``--timeout`` of its own (4 s, and 6 s for the command: session 53's note)."""
    (tmp_path / "value").write_bytes(b"v" * 10)
    puts: list[float] = []
    with _slow_status_node(puts) as node:  # type: ignore[attr-defined]
        began = time.monotonic()
        code = main_put(["k", "--value-file", str(tmp_path / "value"), "--node", node,
                         "--timeout", str(TIMEOUT), "--node-timeout", str(TIMEOUT)])
        took = time.monotonic() - began
    err = capsys.readouterr().err
    assert code == 1 and "outcome unknown" in err, err  # sent, never answered
    assert len(puts) == 1, puts
    bound = re.search(r"no whole answer within ([0-9.]+) s", err)
    assert bound is None or float(bound[1]) <= TIMEOUT - SLOW_STATUS_S + 0.25, err
    assert took < TIMEOUT + SLOW_STATUS_S / 2, took  # before: about TIMEOUT + SLOW_STATUS_S


def _answering_node() -> object:
    """A loopback 'node' answering ``GET /health`` ``{}`` and a PUT ``{"context":
    "C"}`` (each request's head and body read first)."""
    def handle(conn: socket.socket, stop: threading.Event) -> None:
        data = b""
        while not stop.is_set():
            more = conn.recv(65536)
            if not more:
                return
            data += more
            while b"\r\n\r\n" in data:
                head, _, rest = data.partition(b"\r\n\r\n")
                length = re.search(rb"(?i)content-length: *(\d+)", head)
                size = int(length[1]) if length else 0
                if len(rest) < size:
                    break
                data = rest[size:]
                body = b'{"context": "C"}' if head.startswith(b"PUT ") else b"{}"
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                             b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
    return serving(handle)


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_a_write_whose_connection_hangs_moves_on_after_the_nodes_part(kind: str) -> None:
    """A write to a node that answered just now (so not probed) but whose SYNs are
    now dropped (a firewall: :func:`tests.vdynamo.loopback.blackholed`) waits for its
    connection ``timeout_s``, as a get would: nothing of it was sent, and the next node
    writes it. Before (session 54's probe): the connection was given the whole
    deadline, and then nothing was left for the next node: NoNodeError, not written.
    Mutant checked: ``_timeouts`` giving the connection the whole ``bound`` (fails,
    both kinds)."""
    with blackholed() as hole, _answering_node() as node:  # type: ignore[attr-defined]
        def fresh(client: Client | AsyncClient) -> None:
            client.router._learned_at = client.router._now()  # a ring learned: no /status
            client.router.answered(f"http://{hole}")  # answered within FRESH_S: no probe

        if kind == "sync":
            with Client([hole, node], timeout_s=0.5, deadline_s=3.0) as client:
                fresh(client)
                context = client.put("k", b"v")
        else:
            async def scenario() -> str:
                async with AsyncClient([hole, node], timeout_s=0.5,
                                       deadline_s=3.0) as db:
                    fresh(db)
                    return await db.put("k", b"v")
            context = asyncio.run(asyncio.wait_for(scenario(), 30))
    assert context == "C"  # before: NoNodeError (not written) after 3 s
