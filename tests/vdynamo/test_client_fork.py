"""A blocking client made before a ``fork`` opens its own connections in the child.

A module-level ``db = vdynamo.connect(...)`` already used by the parent, then a fork
(gunicorn ``--preload``, a prefork worker, ``multiprocessing``'s ``fork`` start
method): before session 60's red team the child sent its requests on the parent's
kept-alive connections, so with both sides busy two processes wrote into one TCP
connection: answers crossed, and a put's body was another process's request, stored
and acknowledged (probes/23k-library-client-shared-across-fork.py on three ``vdynamo
serve`` processes: ``c1-0`` held ``GET /kv/k4 HTTP/1.1 ...``, 14 calls failed).
:meth:`impl.http_client.Client.forked` now runs in every child
(``os.register_at_fork``), and so does :meth:`impl.http_client.AsyncClient.forked`.
Mutants, each run and reverted: the registration removed
(``_forked_clients`` not called): the three tests fail (the child's put came on the
parent's connection, port equal; the child stuck on the lock the parent held, killed
after 10 s); ``forked`` not drawing a new name: the first test fails on the name.
A fake node (keep-alive ``http.server``, no ``/status``) records each request's
connection; each child ends with ``os._exit`` and is waited for (killed past 10 s).
"""

from __future__ import annotations

import asyncio
import http.server
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import ClassVar

from impl.http_client import AsyncClient, Client
from tests.runtime.procs import ROOT


class _Node(http.server.BaseHTTPRequestHandler):
    """Answers every PUT 200 with a context (keep-alive) and records, per key, the
    client port of the connection it came on and its body; no ``/status``."""

    protocol_version = "HTTP/1.1"
    seen: ClassVar[dict[str, tuple[int, bytes]]] = {}

    def do_PUT(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        type(self).seen[self.path] = (self.client_address[1], body)
        self._answer(200, {"context": "AgEAAA=="})

    def do_GET(self) -> None:
        self._answer(404, {"error": "NotFound", "message": "no /status here"})

    def _answer(self, status: int, body: dict[str, str]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@contextmanager
def _node() -> Iterator[str]:
    _Node.seen = {}
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Node)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def _in_child(work: Client | AsyncClient, call: str) -> tuple[int, str]:
    """Fork; the child runs ``call`` on ``work`` (a put of ``/kv/child``; with an
    AsyncClient in a new ``asyncio.run``) and writes its client name; the parent waits
    at most 10 s (then kills it). (exit status, what the child wrote)."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never back into pytest
        status = 1
        try:
            os.close(read_end)
            if isinstance(work, AsyncClient):
                asyncio.run(work.put("child", b"from the child"))
            elif call == "put":
                work.put("child", b"from the child")
            os.write(write_end, work.router.client_id.encode())
            status = 0
        finally:
            os._exit(status)
    os.close(write_end)
    deadline = time.monotonic() + 10
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            status = -1
            break
        time.sleep(0.05)
    with os.fdopen(read_end, "rb") as said:
        return status, said.read().decode()


def test_a_forked_child_opens_its_own_connection_and_name() -> None:
    with _node() as address, Client([address], deadline_s=None) as db:
        db.put("parent", b"from the parent")  # the pool keeps this connection
        status, name = _in_child(db, "put")
        assert status == 0
        db.put("parent2", b"again")  # the parent's connection still works
        parent_port = _Node.seen["/kv/parent"][0]
        assert _Node.seen["/kv/child"] == (_Node.seen["/kv/child"][0], b"from the child")
        assert _Node.seen["/kv/child"][0] != parent_port
        assert _Node.seen["/kv/parent2"][0] == parent_port
        assert name and name != db.router.client_id


def test_a_lock_held_at_the_fork_does_not_hold_the_child() -> None:
    with _node() as address, Client([address], deadline_s=None) as db:
        db.put("parent", b"from the parent")
        with db._pools_lock:  # as a parent's thread making a request at the fork
            status, _ = _in_child(db, "put")
        assert status == 0
        assert _Node.seen["/kv/child"][1] == b"from the child"


def test_an_async_client_used_by_the_parent_serves_a_forked_childs_loop() -> None:
    """The parent's ``asyncio.run`` used the client (its loop, its connections); the
    child's own ``asyncio.run`` puts through it on a connection of its own. Mutants,
    ``AsyncClient`` not in ``_CLIENTS``: the child's put raises LocalError "used in
    another event loop", exit 1; ``_renewed`` not called by ``_drive`` (the parent's
    pool used in the child): exit 1 too. The pool is made at the child's first call,
    not in the fork's handler, which also runs before a ``subprocess`` with
    ``preexec_fn`` execs."""
    with _node() as address:
        db = AsyncClient([address], deadline_s=None)

        async def parent(what: str) -> None:
            await db.put(what, b"from the parent")

        asyncio.run(parent("parent"))
        status, name = _in_child(db, "put")
        asyncio.run(db.aclose())
        assert status == 0
        assert _Node.seen["/kv/child"][1] == b"from the child"
        assert _Node.seen["/kv/child"][0] != _Node.seen["/kv/parent"][0]
        assert name and name != db.router.client_id


def test_the_client_imports_where_there_is_no_fork() -> None:
    """Windows has no ``os.register_at_fork`` (nor fork): session 60's review of the red
    team found ``import vdynamo`` raising AttributeError there. Shown here by deleting
    both (the standard ``random`` registers only where ``os.fork`` is) before the import
    in a fresh interpreter (0.3 CPU-s). Mutant, the ``hasattr`` guard
    removed: exit 1, ``AttributeError: module 'os' has no attribute
    'register_at_fork'``."""
    done = subprocess.run(
        [sys.executable, "-c", "import os\ndel os.fork, os.register_at_fork\nimport vdynamo\n"
         "with vdynamo.connect(['127.0.0.1:1']) as db: print(type(db).__name__)"],
        capture_output=True, text=True, timeout=60, cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "Client"
