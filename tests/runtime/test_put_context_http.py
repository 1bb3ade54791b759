"""Over HTTP: a PUT's context covers what its client read and wrote, never a sibling
the coordinator held that the client did not read (session 14's probe A;
tests/impl/test_put_context_seen.py has the scenario on the simulator and why).

Three ``vdynamo serve`` processes, dvv: ``PUT k v0``; alice and bob each GET k
through n1; bob PUTs ``b`` with his context (200); alice PUTs ``a`` with hers (200,
a sibling of ``b``) and then ``a2`` with the context her PUT answered. Before the
fix that context covered ``b`` and ``GET ?r=3`` answered ``[a2]``: bob's
acknowledged write gone. Now ``b`` is still there. The same cluster then runs a
chain of 14 PUTs each with the context of the one before (session 29).
"""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path

from tests.runtime.procs import ServedNodes
from tests.runtime.procs import http_call as _call

NAMES = ("n1", "n2", "n3")


def _context(url: str) -> dict[str, str]:
    status, headers, _ = _call("GET", url)
    assert status == 200
    return {"X-Vdynamo-Context": headers["x-vdynamo-context"]}


def test_a_put_with_a_puts_context_keeps_the_sibling_it_never_read(tmp_path: Path) -> None:
    with ServedNodes(tmp_path, NAMES, []) as nodes:
        for name in NAMES:
            nodes.start(name)
        nodes.wait_ready(*NAMES)
        assert _call("PUT", nodes.url("n1", "?w=3"), b"v0")[0] == 200
        alice, bob = _context(nodes.url("n1")), _context(nodes.url("n1"))
        assert _call("PUT", nodes.url("n1"), b"b", bob)[0] == 200  # acknowledged
        status, _, body = _call("PUT", nodes.url("n1"), b"a", alice)
        assert status == 200
        written = {"X-Vdynamo-Context": json.loads(body)["context"]}
        assert _call("PUT", nodes.url("n1"), b"a2", written)[0] == 200
        time.sleep(1.0)
        status, _, body = _call("GET", nodes.url("n2", "?r=3"),
                                headers={"Accept": "application/json"})
        assert status in (200, 300)  # 300: siblings
        values = sorted(base64.b64decode(v) for v in json.loads(body)["values"])
        assert b"b" in values and b"a2" in values, values
        chain = nodes.url("n1").replace("/kv/k", "/kv/chain")
        _a_chain_of_puts_keeps_the_unread_value_alone(
            chain, nodes.url("n2", "?r=3").replace("/kv/k", "/kv/chain"))
        _a_chain_past_two_unnamed_writers_supersedes_itself(
            nodes.url("n1").replace("/kv/k", "/kv/cart"),
            nodes.url("n2", "?r=3").replace("/kv/k", "/kv/cart"))


def _a_chain_of_puts_keeps_the_unread_value_alone(url: str, read_all: str) -> None:
    """Session 29 (session 14's review, the open row of docs/runtime.md): ``PUT old``,
    a blind ``PUT v0`` and 14 PUTs each with the context the previous PUT answered,
    all through n1 with no X-Vdynamo-Client (one client, "http"): ``[old, v14]``.
    Before, each PUT answered its context alone (its dot could not be covered
    without old's, the consecutive dot of n1's actor) and ``GET ?r=3`` answered 16
    siblings; now v0 and its successors are minted under the pair (n1's actor,
    "http") (spec.dvv.dot_actor)."""
    assert _call("PUT", url + "?w=3", b"old")[0] == 200
    status, _, body = _call("PUT", url, b"v0")
    assert status == 200
    for i in range(1, 15):
        written = {"X-Vdynamo-Context": json.loads(body)["context"]}
        status, _, body = _call("PUT", url, b"v%d" % i, written)
        assert status == 200
    deadline = time.monotonic() + 10.0
    while True:
        status, _, body = _call("GET", read_all, headers={"Accept": "application/json"})
        values = sorted(base64.b64decode(v) for v in json.loads(body)["values"])
        if values == [b"old", b"v14"] or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert status == 300 and values == [b"old", b"v14"], values


def _read_all(url: str, want: list[bytes]) -> tuple[int, list[bytes]]:
    """``(status, sorted values)`` of ``GET url`` once it answers ``want`` (10 s at most)."""
    deadline = time.monotonic() + 10.0
    while True:
        status, _, body = _call("GET", url, headers={"Accept": "application/json"})
        values = sorted(base64.b64decode(v) for v in json.loads(body)["values"])
        if values == want or time.monotonic() > deadline:
            return status, values
        time.sleep(0.2)


def _a_chain_past_two_unnamed_writers_supersedes_itself(url: str, read_all: str) -> None:
    """Session 48 (case 05's kind: a key a client can no longer update with the
    contexts the cluster gave it): two programs each ``PUT cart`` blind through n1
    naming no client (``a``, then ``b``, a sibling under the pair (n1's actor,
    "http")); a third, a raw HTTP client such as curl, PUTs ``c0`` blind and 29 PUTs
    each with the context the previous one answered. Right value: ``[a, b, c29]``.
    Before, ``c0`` found both n1's actor and the pair holding a value it did not
    read and took the actor, whose dot no context names without ``a``'s: every PUT
    was a new sibling and the 24th was refused (400, "more than 25 siblings"). Now
    the chain goes under the fresh pair (n1's actor/1, "http") (spec.dvv.dot_actor)."""
    for value in (b"a", b"b", b"c0"):
        status, _, body = _call("PUT", url, value)
        assert status == 200
    for i in range(1, 30):
        written = {"X-Vdynamo-Context": json.loads(body)["context"]}
        status, _, body = _call("PUT", url, b"c%d" % i, written)
        assert status == 200, (i, status, body)
    status, values = _read_all(read_all, [b"a", b"b", b"c29"])
    assert status == 300 and values == [b"a", b"b", b"c29"], values
