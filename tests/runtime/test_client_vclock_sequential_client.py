"""A ``vdynamo.connect`` client's read-modify-writes in client-vclock keep its key's
clock small, so a replica that missed them brings no superseded or deleted value back
(session 48's data probe, docs/runtime.md "A user's probe of the data kinds (session
48)").

Three real nodes, N = 3, R = W = 2, ``clock = "client-vclock"``. One library client
writes ``k = v0`` and ``d = d0`` at W = 3; n3 is SIGKILLed; the client read-modify-writes
each key 80 times (a get, then a put with its context) and deletes ``d`` with the
context of a get; n3 is started again on its data file (it holds ``v0`` and ``d0``).
Right value (Dynamo paper 4.4: a put with the context of a get supersedes what the get
read; Riak's clients send one client id per client): a get at R = 3 answers ``[v80]``
and nothing for ``d``.

Before the fix the library named itself only in dvv (:meth:`impl.http_client.Router
.client_header`), and the HTTP API makes every write that names no client in
client-vclock a client of its own (a fresh pair per put): each of the 80 puts added a
pair, the clock was truncated at ``vclock_max_pairs`` (50), the context grew to 3,360
base64 characters, and n3's ``v0`` and ``d0``, whose own pairs the truncation had
dropped, were no longer dominated: the get answered ``[v0, v80]`` and ``[d0]`` (the
deleted value back). Run and seen failing so (the fix reverted), and the context of the
last get 3,360 characters long instead of 88.
"""

from __future__ import annotations

from pathlib import Path

import vdynamo
from tests.runtime.procs import FAST_ROUNDS, ServedNodes

NAMES = ("n1", "n2", "n3")
PUTS = 80


def test_a_library_clients_chain_keeps_no_stale_copy_alive(tmp_path: Path) -> None:
    lines = ["n = 3", "r = 2", "w = 2", 'clock = "client-vclock"', *FAST_ROUNDS]
    with ServedNodes(tmp_path, NAMES, lines) as nodes:
        nodes.start(*NAMES)
        nodes.wait_ready(*NAMES)
        with vdynamo.connect([f"127.0.0.1:{nodes.http[name]}" for name in NAMES]) as db:
            db.put("k", b"v0", w=3)
            db.put("d", b"d0", w=3)
            nodes.kill("n3")
            for i in range(1, PUTS + 1):
                for key, prefix in (("k", b"v"), ("d", b"d")):
                    got = db.get(key)
                    db.put(key, prefix + b"%d" % i, context=got.context)
            got = db.get("d")
            db.delete("d", context=got.context)
            nodes.start("n3")
            nodes.wait_ready("n3")
            assert sorted(db.get("k", r=3).values) == [b"v%d" % PUTS]
            assert db.get("d", r=3).values == []
        assert len(got.context) < 400, len(got.context)  # a pair per coordinator, not per put
