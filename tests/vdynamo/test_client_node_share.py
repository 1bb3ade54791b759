"""A node that takes connections and never answers holds at most its share of a
client's turns (:data:`impl.http_client.NODE_IN_FLIGHT`, half of ``IN_FLIGHT``), so a
request to another node goes at once, in the blocking and in the asyncio client.

Session 32's review left it open (docs/runtime.md, "Client and peer-port probe
(session 32)"): ``IN_FLIGHT`` (50) turns over all of a client's requests, and a
node that accepts and never answers (a hung process: the kernel still accepts)
held each of its requests' turns for the whole ``timeout_s``: 50 requests to it
held every turn, and a request to a healthy node waited ``timeout_s`` for one.
Loopback only: a silent socket server and a small HTTP server in this process,
both stopped at the end."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from http.server import ThreadingHTTPServer
from typing import Any

from impl.http_client import IN_FLIGHT, NODE_IN_FLIGHT, AsyncClient, Client, NoNodeError, Router
from tests.vdynamo.test_client_event_loops import _Node as JsonNode
from tests.vdynamo.test_client_unspecified_address import _status

#: each request to the silent node is given up after it: past :func:`_piled`'s wait
#: (the first share's connections, then 0.3 s) with a margin. The healthy node's
#: request is answered before any silent one can time out, within ``TIMEOUT`` of
#: their asking. Session 41: beside three CPU burners a fixed 0.5 s of its own failed
#: (0.547 s), and so did 1.5 s from the asking (1.561 s): 4 s now, and the silent node
#: is stopped once the tests counted its connections (the requests it held end at
#: once, refused or cut off, not after ``TIMEOUT``: the tests take less time than
#: with 1.5 s, 2 s until session 37)
TIMEOUT = 4.0
BODY = {"node": "healthy"}


class _Silent:
    """A server on loopback that accepts every connection and never answers (its
    sockets held open until :meth:`stop`): ``accepted`` counts them."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(256)
        self.sock.settimeout(0.1)
        self.held: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()
        self.address = f"127.0.0.1:{self.sock.getsockname()[1]}"

    @property
    def accepted(self) -> int:
        return len(self.held)

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.held.append(conn)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self.sock.close()
        for conn in self.held:
            conn.close()


class _Healthy(JsonNode):
    """test_client_event_loops' node, its ``/status`` answered 200 at once."""

    def do_GET(self) -> None:
        self._answer(200, BODY)


@contextlib.contextmanager
def _nodes() -> Iterator[tuple[_Silent, str]]:
    """The silent node and the healthy node's address, both stopped at the end."""
    silent = _Silent()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Healthy)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    try:
        yield silent, f"127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
        silent.stop()


def _piled(silent: _Silent) -> int:
    """Wait until the silent node's connections stop growing (at most 1 s past
    the first :data:`NODE_IN_FLIGHT`); how many it took."""
    deadline = time.monotonic() + 1.0
    while silent.accepted < NODE_IN_FLIGHT and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(0.3)  # the rest, had they turns
    return silent.accepted


@contextlib.contextmanager
def _asking(db: Client, node: str | None) -> Iterator[list[BaseException]]:
    """:data:`IN_FLIGHT` threads each asking ``node``'s ``/status`` (None: the first
    that answers) at once; joined when the block ends (each within 4 x TIMEOUT).
    Yields what they raise (NoNodeError) as they raise it."""
    raised: list[BaseException] = []

    def ask() -> None:
        try:
            db.status(node)
        except NoNodeError as error:
            raised.append(error)

    threads = [threading.Thread(target=ask) for _ in range(IN_FLIGHT)]
    for thread in threads:
        thread.start()
    try:
        yield raised
    finally:
        for thread in threads:
            thread.join(4 * TIMEOUT)
    assert not any(thread.is_alive() for thread in threads)


def test_a_silent_node_leaves_turns_to_the_others() -> None:
    """50 threads ask the silent node at once; it takes NODE_IN_FLIGHT (25) of their
    connections, and a request to the healthy node is answered before any of theirs
    can time out (``TIMEOUT`` after they asked). Before: it took 50, and the request
    to the healthy node waited for a turn until the first of them timed out."""
    with (_nodes() as (silent, healthy),
          Client([silent.address, healthy], timeout_s=TIMEOUT) as db):
        asked = time.monotonic()  # no turn of theirs is free before asked + TIMEOUT
        with _asking(db, silent.address) as raised:
            took_connections = _piled(silent)
            body = db.status(healthy)
            answered = time.monotonic() - asked
            silent.stop()  # the requests it holds end now (NoNodeError)
    assert (took_connections, body, answered < TIMEOUT) == (NODE_IN_FLIGHT, BODY, True), (
        answered)
    assert len(raised) == IN_FLIGHT  # each asked the silent node alone: cut off


def test_a_silent_node_leaves_turns_to_the_others_async() -> None:
    """The same with an :class:`AsyncClient`: 50 tasks to the silent node gathered,
    then one to the healthy node, answered before any of theirs can time out. Before:
    50 connections, and the healthy node's request waited for the first timeout."""
    with _nodes() as (silent, healthy):
        async def scenario() -> tuple[int, object, float, list[Any]]:
            async with AsyncClient([silent.address, healthy], timeout_s=TIMEOUT) as db:
                began = time.monotonic()  # no turn of theirs is free before began + TIMEOUT
                asked = asyncio.gather(*(db.status(silent.address) for _ in range(IN_FLIGHT)),
                                       return_exceptions=True)
                took = await asyncio.to_thread(_piled, silent)
                body = await db.status(healthy)
                answered = time.monotonic() - began
                await asyncio.to_thread(silent.stop)  # the requests it holds end now
                return took, body, answered, await asked

        took, body, answered, results = asyncio.run(
            asyncio.wait_for(scenario(), 6 * TIMEOUT))
    assert (took, body, answered < TIMEOUT) == (NODE_IN_FLIGHT, BODY, True), answered
    assert all(isinstance(result, NoNodeError) for result in results), results


def test_a_client_of_one_node_keeps_every_turn() -> None:
    """With one node known there is no other to starve: its requests may take every
    turn (IN_FLIGHT), as before."""
    with (_nodes() as (silent, _), Client([silent.address], timeout_s=TIMEOUT) as db,
          _asking(db, None) as raised):
        took = _piled(silent)
        silent.stop()
    assert (took, len(raised)) == (IN_FLIGHT, IN_FLIGHT)


def test_a_node_seeded_under_another_name_is_one_node() -> None:
    """A one-node cluster reached under another name than the address it gives in
    ``/status`` (a seed ``localhost:8001`` or a service name, the node's file saying
    ``127.0.0.1:8001``): one node, so its client keeps every turn
    (:meth:`impl.http_client.Router.several` False). Before (session 33's review):
    two addresses known, so two nodes: the node, which takes every request of its
    keys at its ring address, held 25 turns and the client's other 25 went unused.
    Several nodes, or several seeds before a ring is learned, still share."""
    one = Router(["localhost:8001"], refresh_s=60.0, now=lambda: 0.0)
    assert not one.several()
    one.learn(_status({"n1": "127.0.0.1:8001"}))
    three = Router(["localhost:8001"], refresh_s=60.0, now=lambda: 0.0)
    three.learn(_status({"n1": "127.0.0.1:8001", "n2": "127.0.0.1:8002",
                              "n3": "127.0.0.1:8003"}))
    seeds = Router(["127.0.0.1:8001", "127.0.0.1:8002"], refresh_s=60.0, now=lambda: 0.0)
    assert (one.several(), three.several(), seeds.several()) == (False, True, True)



def test_a_node_share_is_per_node_not_per_request() -> None:
    """Every request to one node (its keys' paths and queries differ) takes turns of
    one share, in both clients: a share keyed by the whole URL would let a node that
    never answers hold every turn again for gets of distinct keys (the tests above
    ask ``/status`` alone, one URL)."""
    one, two = "http://127.0.0.1:8001/kv/a", "http://127.0.0.1:8001/kv/b?w=2"
    other = "http://127.0.0.1:8002/kv/a"
    with Client(["127.0.0.1:8001", "127.0.0.1:8002"]) as db:
        shares = [db._pool(u)[1] for u in (one, two, other)]
    assert (shares[0] is shares[1], shares[0] is shares[2]) == (True, False)

    async def scenario() -> tuple[bool, bool]:
        async with AsyncClient(["127.0.0.1:8001", "127.0.0.1:8002"]) as db:
            first, second, third = (db._node_share(u) for u in (one, two, other))
            return first is second, first is third

    assert asyncio.run(scenario()) == (True, False)
