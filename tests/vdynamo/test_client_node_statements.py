"""What each node states of its answers, kept per node (session 38).

Session 37 left two gaps. The answer bound came from one node's ``/status``, the
last one learned (every ``refresh_s``): during a rolling change of limits a node of
smaller limits, learned last, made a larger node's answers refused until the
client happened to learn from a larger node. And an answer naming no key was
taken from any node, though every node of session 37 names its keys.

Now the client keeps, per node of the ring, what that node's own ``/status``
states (:meth:`impl.http_client.Router.learn`): its bound
(``limits.max_answer_bytes``) and, new, ``names_keys``. The bound read is the
largest a node of the ring states (still at least the default and at most
:data:`~impl.http_client.MAX_STATED_ANSWER_BYTES`); a get whose answer is over it
reads that node's ``/status`` and asks again if it states more. An answer naming
no key from a node that states ``names_keys`` is refused (a get tries the next
node, a write's outcome is unknown); a node that does not state it (older) is
taken as before, and while some node of the cluster states it, a node whose
``/status`` was not read is asked for it at its first answer naming no key.

Loopback only: answers handed to the plans, scripted socket servers (stopped at
the end) and real nodes in this process."""

from __future__ import annotations

import asyncio
import base64
import json
import socket
from collections.abc import Callable
from typing import Any

import httpx
import pytest

import impl
import impl.http_client
from impl.errors import BadMessageError
from impl.http_client import (
    MAX_ANSWER_BYTES,
    MAX_STATED_ANSWER_BYTES,
    AnswerRefusedError,
    AsyncClient,
    Client,
    NoNodeError,
    OutcomeUnknownError,
    Plan,
    Router,
    delete_plan,
    get_plan,
    put_plan,
)
from tests.runtime.live import run
from tests.vdynamo.test_client_hostile_answers import _fake_node, _http
from vdynamo.kv_cli import main_get

N1, N2 = "http://127.0.0.1:1", "http://127.0.0.1:2"
#: a ring of two nodes, ``k`` led by n2 (its preference list: n2, n1)
RING = {"strategy": 1, "tokens_per_node": 1, "partitions": None,
        "tokens": {"n2": ["0"], "n1": [str(2**127)]}}
LOWERED = 100_000  # MAX_ANSWER_BYTES in the bound's tests
VALUE = b"v" * 300_000  # an answer of over 400,000 bytes


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _status(node: str, *, bound: int | None = None, names_keys: object = None,
            http: dict[str, str] | None = None, ring: dict[str, Any] | None = None,
            ) -> dict[str, Any]:
    """A ``/status`` of ``node`` stating ``bound`` and ``names_keys`` (None: not)."""
    body: dict[str, Any] = {"node": node, "ring": ring or RING,
                            "http": http or {"n1": "127.0.0.1:1", "n2": "127.0.0.1:2"}}
    if bound is not None:
        body["limits"] = {"max_answer_bytes": bound}
    if names_keys is not None:
        body["names_keys"] = names_keys
    return body


def _answer(key: bytes | None, values: list[bytes]) -> dict[str, Any]:
    body: dict[str, Any] = {"values": [_b64(v) for v in values],
                            "content_types": ["a/b"] * len(values), "context": "Y3R4"}
    if key is not None:
        body["key"] = _b64(key)
    return body


Answer = httpx.Response | httpx.TransportError


def _drive(plan: Plan, answer: Callable[[str, str], Answer],
           asked: list[str]) -> Any:
    """Run ``plan``, each request ``(method, url)`` answered by ``answer``; the
    ``METHOD url`` of each kept in ``asked``."""
    method, url, _ = next(plan)
    try:
        while True:
            asked.append(f"{method} {url}")
            method, url, _ = plan.send(answer(method, url))
    except StopIteration as done:
        return done.value


def _router(first: dict[str, Any], given: int | None = None) -> Router:
    """A router that learned ``first`` from n1 (refreshed never)."""
    router = Router([N1], refresh_s=1e9, now=lambda: 0.0, max_answer_bytes=given)
    router.learn(first, N1)
    return router


# ------------------------------------------------------------ names_keys


def test_a_node_stating_names_keys_has_its_answers_without_a_key_refused() -> None:
    """n1 states ``names_keys``; its get answer naming no key is no answer of it (the
    get tries n2, whose answer naming ``k`` is taken), its put's and delete's have
    an unknown outcome. Before: each was taken as ``k``'s."""
    def alone() -> Router:  # n1 alone in the ring
        return _router(_status("n1", names_keys=True, http={"n1": "127.0.0.1:1"},
                               ring={**RING, "tokens": {"n1": ["0"]}}))

    router = alone()
    router.seeds.append(N2)
    asked: list[str] = []
    got = _drive(get_plan(router, "k", None, None), lambda method, url: httpx.Response(
        200, json=_answer(None if url.startswith(N1) else b"k", [b"v"])), asked)
    # n1's /status read again first (session 38's review: it may have been restarted
    # older); this one is no /status, and n1 keeps what it stated
    assert got.values == [b"v"] and asked == [f"GET {N1}/kv/k", f"GET {N1}/status",
                                              f"GET {N2}/kv/k"]
    router = alone()
    with pytest.raises(NoNodeError, match=r"an answer naming no key, from a node that "
                       r"states in its /status that it names the key of every answer "
                       r"\(names_keys\): not its answer for the key b'k'"):
        _drive(get_plan(router, "k", None, None),
               lambda method, url: httpx.Response(200, json=_answer(None, [b"v"])), [])
    with pytest.raises(OutcomeUnknownError, match=f"put 'k' to {N1}: an answer naming no key"):
        _drive(put_plan(router, "k", b"v", None, "a/b", None),
               lambda method, url: httpx.Response(200, json={"context": "Y3R4"}), [])
    with pytest.raises(OutcomeUnknownError, match=f"delete 'k' to {N1}: an answer naming no"):
        _drive(delete_plan(router, "k", None, None), lambda method, url: httpx.Response(
            404, json={"error": "NotFound", "message": "none", "context": "Y3R4"}), [])


@pytest.mark.parametrize("names_keys", [None, False])
def test_a_node_stating_no_names_keys_has_its_answers_taken_as_before(
        names_keys: bool | None) -> None:
    """An older node (none stated, or false): its answer naming no key is taken, and
    no request more is made (no node of the cluster states it)."""
    router = _router(_status("n1", names_keys=names_keys))
    asked: list[str] = []
    assert _drive(get_plan(router, "k", None, None), lambda method, url: httpx.Response(
        200, json=_answer(None, [b"v"])), asked).values == [b"v"]
    assert asked == [f"GET {N2}/kv/k"]


@pytest.mark.parametrize("n2_states", [False, True, "unreadable"])
def test_in_a_cluster_being_upgraded_a_node_not_read_is_asked_at_its_first_keyless_answer(
        n2_states: bool | str) -> None:
    """n1 states ``names_keys``; n2's ``/status`` was not read. n2's get answer naming
    no key makes the client read it: n2 older (false, or its ``/status`` not
    readable): taken, and its next answers without asking again; n2 stating it: the
    answer refused and n1 tried (its answer naming ``k`` taken)."""
    router = _router(_status("n1", names_keys=True))

    def answer(method: str, url: str) -> httpx.Response:
        if url == f"{N2}/status":
            return (httpx.Response(503, json={}) if n2_states == "unreadable" else
                    httpx.Response(200, json=_status("n2", names_keys=n2_states)))
        return httpx.Response(200, json=_answer(None if url.startswith(N2) else b"k",
                                                [b"n2" if url.startswith(N2) else b"n1"]))

    asked: list[str] = []
    got = _drive(get_plan(router, "k", None, None), answer, asked)
    if n2_states is True:
        assert got.values == [b"n1"]
        assert asked == [f"GET {N2}/kv/k", f"GET {N2}/status", f"GET {N1}/kv/k"]
        assert router.names_keys(N2) is True
        return
    assert got.values == [b"n2"]
    assert asked == [f"GET {N2}/kv/k", f"GET {N2}/status"]
    assert router.names_keys(N2) is False
    asked.clear()
    assert _drive(get_plan(router, "k", None, None), answer, asked).values == [b"n2"]
    assert asked == [f"GET {N2}/kv/k"]  # not asked again


def test_a_write_answered_without_a_key_by_a_node_not_read_asks_it_first() -> None:
    """The same for a put (n2 states ``names_keys``: its outcome unknown) and for a
    delete (n2 older: its context returned)."""
    for n2_names, method in ((True, "put"), (False, "delete")):
        router = _router(_status("n1", names_keys=True))

        def answer(method: str, url: str, names: bool = n2_names) -> httpx.Response:
            if url.endswith("/status"):
                return httpx.Response(200, json=_status("n2", names_keys=names))
            return httpx.Response(200, json={"context": "Y3R4"})

        asked: list[str] = []
        if method == "put":
            with pytest.raises(OutcomeUnknownError, match="an answer naming no key"):
                _drive(put_plan(router, "k", b"v", None, "a/b", None), answer, asked)
        else:
            assert _drive(delete_plan(router, "k", None, None), answer, asked) == "Y3R4"
        assert asked == [f"{method.upper()} {N2}/kv/k", f"GET {N2}/status"]


@pytest.mark.parametrize("bad", ["yes", 1, 0, "true", [True]])
def test_a_status_stating_names_keys_that_is_no_bool_is_refused_whole(bad: object) -> None:
    router = Router([N1], now=lambda: 0.0)
    with pytest.raises(BadMessageError, match="names_keys: a bool expected"):
        router.learn(_status("n1", names_keys=bad))
    assert router.partitioning is None and router.names_keys(N1) is False


@pytest.mark.parametrize("client", ["sync", "async", "cli"])
def test_a_server_stating_names_keys_and_naming_none_is_refused_over_sockets(
        client: str, capsys: pytest.CaptureFixture[str]) -> None:
    """A server whose ``/status`` states ``names_keys`` and whose get answer names no
    key: refused by both clients and by ``vdynamo get`` (exit 1, one line)."""
    where: list[str] = []
    get = json.dumps(_answer(None, [b"milk"])).encode()

    def answer(conn: socket.socket, head: bytes) -> bool:
        if b" /status " in head:
            body = _status("n1", names_keys=True, http={"n1": where[0]},
                           ring={**RING, "tokens": {"n1": ["0"]}})
            conn.sendall(_http(200, json.dumps(body).encode()))
        else:
            conn.sendall(_http(200, get))
        return False

    with _fake_node(answer) as node:
        where.append(node)
        if client == "cli":
            assert main_get(["k", "--node", node]) == 1
            out, err = capsys.readouterr()
            assert out == "" and err.count("\n") == 1 and "an answer naming no key" in err
            return
        with pytest.raises(NoNodeError, match="an answer naming no key"):
            _get(node, client)


def test_a_real_node_states_that_it_names_keys() -> None:
    async def scenario() -> None:
        async with impl.LocalCluster(nodes=1, n=1, r=1, w=1,
                                     request_timeout=5.0) as cluster:
            client = cluster.client()
            await client.put("k", b"v")
            assert (await client.status())["names_keys"] is True
            assert client.router.names_keys(cluster.urls[0].rstrip("/")) is True
            assert (await client.get("k")).values == [b"v"]
    run(scenario())


# ------------------------------------------------------------ the bound


def test_the_bound_is_the_largest_a_node_of_the_ring_states() -> None:
    """n2 states 300,000,000, then n1 (learned last) 100,000,000: the bound stays n2's
    (the last one learned lowered it before). A node restating its own lowers it;
    a node no longer in the ring counts no more; the ceiling still holds."""
    router = _router(_status("n2", bound=300_000_000))
    router.learn(_status("n1", bound=100_000_000), N1)
    assert router.stated_answer_bytes == router.answer_limit() == 300_000_000
    assert router.answer_limit(5) == 5  # given: kept
    router.learn(_status("n2", bound=200_000_000), N2)
    assert router.answer_limit() == 200_000_000
    router.learn(_status("n1", bound=100_000_000, http={"n1": "127.0.0.1:1"},
                         ring={**RING, "tokens": {"n1": ["0"]}}), N1)  # n2 gone
    assert router.answer_limit() == 100_000_000
    router.learn(_status("n1", bound=10**15), N1)
    assert router.answer_limit() == MAX_STATED_ANSWER_BYTES
    router.learn(_status("n1", bound=1_000), N1)
    assert router.answer_limit() == MAX_ANSWER_BYTES  # the floor


def _refused(limit: int, size: int | None) -> AnswerRefusedError:
    return AnswerRefusedError("over", request=httpx.Request("GET", f"{N2}/kv/k"),
                              limit=limit, size=size)


@pytest.mark.parametrize(("stated", "size", "again"), [
    (1_000_000, 400_000, True), (1_000_000, None, True),  # counted: no Content-Length
    (300_000, 400_000, False), (None, 400_000, False)])
def test_a_get_over_the_bound_reads_that_nodes_status_and_asks_again_if_it_states_more(
        stated: int | None, size: int | None, again: bool,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The bound learned from n1 is the (lowered) default; n2's answer is over it:
    the client reads n2's ``/status``. It states 1,000,000: the get is asked of n2
    again and read; 300,000 (under the answer's 400,000) or nothing: not again, n1
    tried. Before: refused, n1 tried, until a refresh happened to read n2's."""
    monkeypatch.setattr(impl.http_client, "MAX_ANSWER_BYTES", LOWERED)
    router = _router(_status("n1"))
    tries: list[str] = []

    def answer(method: str, url: str) -> Answer:
        if url == f"{N2}/status":
            return httpx.Response(200, json=_status("n2", bound=stated))
        tries.append(url)
        if url.startswith(N2) and (len(tries) == 1 or router.answer_limit() < 400_000):
            return _refused(router.answer_limit(), size)
        return httpx.Response(200, json=_answer(b"k", [b"n2" if url.startswith(N2)
                                                       else b"n1"]))

    asked: list[str] = []
    got = _drive(get_plan(router, "k", None, None), answer, asked)
    assert asked[:2] == [f"GET {N2}/kv/k", f"GET {N2}/status"]
    assert asked[2:] == [f"GET {N2}/kv/k" if again else f"GET {N1}/kv/k"]
    assert got.values == ([b"n2"] if again else [b"n1"])
    assert router.answer_limit() == max(LOWERED, stated or 0)


def test_a_given_bound_is_not_relearned() -> None:
    """A client given ``max_answer_bytes``: an answer over it is refused, no
    ``/status`` read (it would not change the bound)."""
    router = _router(_status("n1"), given=LOWERED)
    asked: list[str] = []
    got = _drive(get_plan(router, "k", None, None), lambda method, url: (
        _refused(LOWERED, 400_000) if url.startswith(N2) else
        httpx.Response(200, json=_answer(b"k", [b"n1"]))), asked)
    assert got.values == [b"n1"] and asked == [f"GET {N2}/kv/k", f"GET {N1}/kv/k"]


def _get(node: str, client: str) -> list[bytes]:
    if client == "sync":
        with Client([node], timeout_s=5.0) as db:
            return db.get("k").values

    async def scenario() -> list[bytes]:
        async with AsyncClient([node], timeout_s=5.0) as db:
            return (await db.get("k")).values
    return asyncio.run(asyncio.wait_for(scenario(), 30))


@pytest.mark.parametrize("client", ["sync", "async"])
def test_a_larger_node_learned_late_has_its_answer_read_over_sockets(
        client: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A rolling change of limits: the seed (small) states the lowered default and
    answers the get 503; the other node (large, a seed too) states 1,000,000 and
    answers 400,000 bytes. Both clients read it (before: refused, "over the
    client's max_answer_bytes of 100,000")."""
    monkeypatch.setattr(impl.http_client, "MAX_ANSWER_BYTES", LOWERED)
    get = json.dumps(_answer(b"k", [VALUE])).encode()
    where: dict[str, str] = {}

    def small(conn: socket.socket, head: bytes) -> bool:
        if b" /status " in head:
            body = _status("n1", bound=LOWERED, http={"n1": where["small"]},
                           ring={**RING, "tokens": {"n1": ["0"]}})
            conn.sendall(_http(200, json.dumps(body).encode()))
        else:
            conn.sendall(_http(503, b'{"error": "QuorumError", "message": "no", '
                                    b'"outcome": "not-written"}'))
        return False

    def large(conn: socket.socket, head: bytes) -> bool:
        if b" /status " in head:
            body = _status("n2", bound=1_000_000, http={"n2": where["large"]},
                           ring={**RING, "tokens": {"n2": ["0"]}})
            conn.sendall(_http(200, json.dumps(body).encode()))
        else:
            conn.sendall(_http(200, get))
        return False

    with _fake_node(small) as first, _fake_node(large) as second:
        where.update(small=first, large=second)
        if client == "sync":
            with Client([first, second], timeout_s=5.0) as db:
                assert db.get("k").values == [VALUE]
        else:
            async def scenario() -> list[bytes]:
                async with AsyncClient([first, second], timeout_s=5.0) as db:
                    return (await db.get("k")).values
            assert asyncio.run(asyncio.wait_for(scenario(), 30)) == [VALUE]
