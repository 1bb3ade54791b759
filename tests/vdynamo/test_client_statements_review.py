"""Session 38's review of the statements a client keeps per node (names_keys).

A node's statement was read once and kept while the node stayed in the ring: the
periodic refresh reads the first seed's ``/status`` only. A node that stated
``names_keys`` and was then restarted older (an upgrade rolled back) kept it in
the client, and each of its answers (naming no key, as an older node's do) was
refused: every get led by it cost a request more (and failed when it was the
only node answering), every put and delete it coordinated raised
OutcomeUnknownError although it had written. Now an answer naming no key from a
node that states ``names_keys`` has that node's ``/status`` read again first (as
an over-bound answer has), and the answer is refused only if the node still
states it. And a ``/status`` that could not be read no longer erases what the
node stated before (a failed read made its keyless answers taken until the next
refresh).

Loopback only: answers handed to the plans, scripted socket servers (stopped at
the end)."""

from __future__ import annotations

import asyncio
import json
import socket
from typing import Any

import httpx
import pytest

import impl.http_client
from impl.http_client import (
    MAX_ANSWER_BYTES,
    MAX_STATED_ANSWER_BYTES,
    AnswerRefusedError,
    AsyncClient,
    Client,
    NoNodeError,
    OutcomeUnknownError,
    RequestRefusedError,
    Router,
    get_plan,
    put_plan,
)
from tests.vdynamo.test_client_hostile_answers import _fake_node, _http
from tests.vdynamo.test_client_node_statements import (
    LOWERED,
    N1,
    N2,
    RING,
    VALUE,
    Answer,
    _answer,
    _drive,
    _refused,
    _router,
    _status,
)


def _n2_stated() -> Router:
    """A router that learned n1's ``/status`` and n2's, each stating ``names_keys``."""
    router = _router(_status("n1", names_keys=True))
    router.learn(_status("n2", names_keys=True), N2)
    assert router.names_keys(N2) is True
    return router


@pytest.mark.parametrize("method", ["get", "put"])
def test_a_node_restarted_older_is_read_again_at_its_first_keyless_answer(
        method: str) -> None:
    """n2 stated ``names_keys``, then was restarted older: its ``/status`` states
    none and its answers name no key. Its answer is taken after one ``/status``
    (before: the get tried n1, the put raised OutcomeUnknownError, at every
    request, for as long as n2 stayed in the ring), and the next costs none."""
    router = _n2_stated()

    def answer(method: str, url: str) -> Answer:
        if url == f"{N2}/status":
            return httpx.Response(200, json=_status("n2"))  # older: none stated
        if method == "PUT":
            return httpx.Response(200, json={"context": "Y3R4"})
        return httpx.Response(200, json=_answer(None if url.startswith(N2) else b"k",
                                                [b"n2" if url.startswith(N2) else b"n1"]))

    for attempt in range(2):
        asked: list[str] = []
        if method == "get":
            assert _drive(get_plan(router, "k", None, None), answer, asked).values == [b"n2"]
        else:
            assert _drive(put_plan(router, "k", b"v", None, "a/b", None), answer,
                          asked) == "Y3R4"
        read = [f"GET {N2}/status"] if attempt == 0 else []
        assert asked == [f"{method.upper()} {N2}/kv/k", *read]
        assert router.names_keys(N2) is False


def test_a_node_still_stating_names_keys_has_its_keyless_answer_refused_after_the_read(
        ) -> None:
    """n2 still states it when read again: its answer is refused (the get tries n1,
    the put's outcome is unknown), one ``/status`` read per such answer."""
    router = _n2_stated()

    def answer(method: str, url: str) -> Answer:
        if url == f"{N2}/status":
            return httpx.Response(200, json=_status("n2", names_keys=True))
        if method == "PUT":
            return httpx.Response(200, json={"context": "Y3R4"})
        return httpx.Response(200, json=_answer(None if url.startswith(N2) else b"k",
                                                [b"n1"]))

    asked: list[str] = []
    assert _drive(get_plan(router, "k", None, None), answer, asked).values == [b"n1"]
    assert asked == [f"GET {N2}/kv/k", f"GET {N2}/status", f"GET {N1}/kv/k"]
    asked.clear()
    with pytest.raises(OutcomeUnknownError, match="an answer naming no key"):
        _drive(put_plan(router, "k", b"v", None, "a/b", None), answer, asked)
    assert asked == [f"PUT {N2}/kv/k", f"GET {N2}/status"]


@pytest.mark.parametrize("unread", ["503", "not JSON", "no answer"])
def test_a_status_not_read_again_keeps_what_the_node_stated(unread: str) -> None:
    """n2 stated ``names_keys``; its ``/status`` cannot be read at a get over the
    bound or at a keyless answer: it still states it (its keyless answer refused).
    Before, the failed read made n2 state nothing until the next refresh, and its
    answers naming no key were taken meanwhile."""
    router = _n2_stated()
    gets: list[str] = []

    def answer(method: str, url: str) -> Answer:
        if url == f"{N1}/status":
            return httpx.Response(200, json=_status("n1", names_keys=True))
        if url == f"{N2}/status":
            return (httpx.Response(503, json={}) if unread == "503" else
                    httpx.Response(200, text="<html>") if unread == "not JSON" else
                    httpx.ConnectError("refused"))
        gets.append(url)
        if url.startswith(N2) and len(gets) == 1:
            return _refused(router.answer_limit(), None)  # over the bound
        return httpx.Response(200, json=_answer(None if url.startswith(N2) else b"k",
                                                [b"n1"]))

    assert _drive(get_plan(router, "k", None, None), answer, []).values == [b"n1"]
    assert router.names_keys(N2) is True
    router.answered(N2)  # the over-bound answer made it tried last meanwhile
    asked: list[str] = []
    assert _drive(get_plan(router, "k", None, None), answer, asked).values == [b"n1"]
    assert asked == [f"GET {N1}/status", f"GET {N2}/kv/k", f"GET {N2}/status",
                     f"GET {N1}/kv/k"]
    assert router.names_keys(N2) is True


@pytest.mark.parametrize("client", ["sync", "async"])
def test_a_node_restarted_older_over_sockets(client: str) -> None:
    """One server, a node that states ``names_keys`` and names its keys, then
    "restarted older": it states none and names none. Both clients: the put after
    the restart returns its context (before: OutcomeUnknownError, at every put),
    the get its value."""
    where: list[str] = []
    older = [False]

    def answer(conn: socket.socket, head: bytes) -> bool:
        new = not older[0]
        if b" /status " in head:
            body: dict[str, Any] = _status(
                "n1", names_keys=True if new else None, http={"n1": where[0]},
                ring={**RING, "tokens": {"n1": ["0"]}})
            conn.sendall(_http(200, json.dumps(body).encode()))
        elif head.startswith(b"PUT "):
            conn.sendall(_http(200, json.dumps(
                {"context": "Y3R4", **({"key": "aw=="} if new else {})}).encode()))
        else:
            conn.sendall(_http(200, json.dumps(_answer(b"k" if new else None,
                                                       [b"milk"])).encode()))
        return False

    with _fake_node(answer) as node:
        where.append(node)
        if client == "sync":
            with Client([node], timeout_s=5.0) as db:
                assert db.get("k").values == [b"milk"]
                older[0] = True
                assert db.put("k", b"v") == "Y3R4"
                assert db.get("k").values == [b"milk"]
            return

        async def scenario() -> None:
            async with AsyncClient([node], timeout_s=5.0) as db:
                assert (await db.get("k")).values == [b"milk"]
                older[0] = True
                assert await db.put("k", b"v") == "Y3R4"
                assert (await db.get("k")).values == [b"milk"]
        asyncio.run(asyncio.wait_for(scenario(), 30))


def test_a_node_stating_names_keys_whose_keyless_answer_is_refused_names_it() -> None:
    """The NoNodeError of a get whose only node still states ``names_keys`` names
    why (unchanged by the read again)."""
    router = _router(_status("n1", names_keys=True, http={"n1": "127.0.0.1:1"},
                             ring={**RING, "tokens": {"n1": ["0"]}}))
    with pytest.raises(NoNodeError, match="an answer naming no key"):
        _drive(get_plan(router, "k", None, None), lambda method, url: (
            httpx.Response(200, json=_status("n1", names_keys=True,
                                             http={"n1": "127.0.0.1:1"},
                                             ring={**RING, "tokens": {"n1": ["0"]}}))
            if url.endswith("/status") else httpx.Response(200, json=_answer(None, [b"v"]))),
            [])


# ------------------------------------------------ survivors of the review's mutants


@pytest.mark.parametrize("body", [{"error": "Forbidden"}, {"message": "denied"},
                                  {"error": "Forbidden", "message": 5}])
def test_a_4xx_object_without_error_and_message_strings_is_no_nodes(
        body: dict[str, Any]) -> None:
    """A node's every error names both ``error`` and ``message`` (strings): an object
    naming one only is no node's (a put's outcome unknown, a get tries the next
    address), and a node's own 4xx is a get's refusal too."""
    router = _router(_status("n1"))
    with pytest.raises(OutcomeUnknownError, match="not a vdynamo node's answer"):
        _drive(put_plan(router, "k", b"v", None, "a/b", None),
               lambda method, url: httpx.Response(403, json=body), [])
    got = _drive(get_plan(_router(_status("n1")), "k", None, None), lambda method, url: (
        httpx.Response(403, json=body) if url.startswith(N2) else
        httpx.Response(200, json=_answer(b"k", [b"n1"]))), [])
    assert got.values == [b"n1"]
    with pytest.raises(RequestRefusedError, match="HTTP 400 BadRequestError: r: must be"):
        _drive(get_plan(_router(_status("n1")), "k", 9, None), lambda method, url: (
            httpx.Response(400, json={"error": "BadRequestError", "message": "r: must be "
                                      "an integer in 1..3 (N), got '9'"})), [])


def test_the_over_bound_get_is_asked_again_once_whatever_the_node_states() -> None:
    """A server stating a larger bound at each read and answering over each: the get
    is asked of it twice and its ``/status`` read once (no loop), then n1 tried."""
    router = _router(_status("n1"))
    bounds = iter(range(2 * MAX_ANSWER_BYTES, MAX_STATED_ANSWER_BYTES, MAX_ANSWER_BYTES))

    def answer(method: str, url: str) -> Answer:
        if url == f"{N2}/status":
            return httpx.Response(200, json=_status("n2", bound=next(bounds)))
        if url.startswith(N2):
            return _refused(router.answer_limit(), None)
        return httpx.Response(200, json=_answer(b"k", [b"n1"]))

    asked: list[str] = []
    assert _drive(get_plan(router, "k", None, None), answer, asked).values == [b"n1"]
    assert asked == [f"GET {N2}/kv/k", f"GET {N2}/status", f"GET {N2}/kv/k",
                     f"GET {N1}/kv/k"]


def test_a_put_over_the_bound_is_never_asked_again() -> None:
    """A put's answer over the bound, its node stating more: one PUT, no ``/status``
    read, the outcome unknown (a put asked again would be written twice)."""
    router = _router(_status("n1"))
    asked: list[str] = []
    with pytest.raises(OutcomeUnknownError):
        _drive(put_plan(router, "k", b"v", None, "a/b", None), lambda method, url: (
            httpx.Response(200, json=_status("n2", bound=MAX_STATED_ANSWER_BYTES))
            if url.endswith("/status") else _refused(MAX_ANSWER_BYTES, None)), asked)
    assert asked == [f"PUT {N2}/kv/k"]


def test_an_answer_refused_for_its_encoding_reads_no_status() -> None:
    """An answer refused for its Content-Encoding (no bound involved): no ``/status``
    read, the next node tried."""
    router = _router(_status("n1"))
    asked: list[str] = []
    got = _drive(get_plan(router, "k", None, None), lambda method, url: (
        AnswerRefusedError("gzip", request=httpx.Request("GET", url))
        if url.startswith(N2) else httpx.Response(200, json=_answer(b"k", [b"n1"]))), asked)
    assert got.values == [b"n1"] and asked == [f"GET {N2}/kv/k", f"GET {N1}/kv/k"]


@pytest.mark.parametrize("status", ["another cluster", "503"])
def test_a_status_of_another_cluster_or_not_200_states_nothing(status: str) -> None:
    """At an over-bound answer, n2's ``/status`` names another cluster or answers
    503 (a status-shaped body): its bound is not learned, the get not asked again."""
    router = _router({**_status("n1"), "cluster_id": "ours"})
    body = _status("n2", bound=MAX_STATED_ANSWER_BYTES)
    asked: list[str] = []
    got = _drive(get_plan(router, "k", None, None), lambda method, url: (
        httpx.Response(200, json={**body, "cluster_id": "theirs"})
        if url == f"{N2}/status" and status == "another cluster" else
        httpx.Response(503, json=body) if url == f"{N2}/status" else
        _refused(MAX_ANSWER_BYTES, None) if url.startswith(N2) else
        httpx.Response(200, json=_answer(b"k", [b"n1"]))), asked)
    assert got.values == [b"n1"]
    assert asked == [f"GET {N2}/kv/k", f"GET {N2}/status", f"GET {N1}/kv/k"]
    assert router.answer_limit() == MAX_ANSWER_BYTES


def test_a_statement_read_under_another_spelling_counts_at_the_rings_address() -> None:
    """n2's ``/status`` read at a seed spelled ``localhost``: its ``names_keys``
    holds at the address the ring gives it (its keyless answer asks it again)."""
    router = _router(_status("n1"))
    router.learn(_status("n2", names_keys=True), "http://localhost:2")
    assert router.names_keys(N2) is True


def test_a_node_that_left_has_its_statement_and_name_dropped() -> None:
    """Memory: n2 leaves the ring (n1's next ``/status``): what n2 stated, the URL
    it was read at, and an address whose ``/status`` could not be read are dropped."""
    router = _n2_stated()
    router.unstated("http://127.0.0.1:3")
    router.learn(_status("n1", names_keys=True, http={"n1": "127.0.0.1:1"},
                         ring={**RING, "tokens": {"n1": ["0"]}}), N1)
    assert set(router._stated) == {"n1"}
    assert router._names == {N1: "n1"}


@pytest.mark.parametrize("client", ["sync", "async"])
@pytest.mark.parametrize("framing", ["Content-Length", "close-delimited"])
def test_a_larger_node_over_sockets_each_framing_and_a_given_bound(
        client: str, framing: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A server stating the default (lowered to 100,000) at its first ``/status``
    and 1,000,000 after (its limits raised), answering 400,000 bytes with or without
    Content-Length: read after one ``/status`` more. A client given
    ``max_answer_bytes`` of 100,000: refused, no ``/status`` read after the first."""
    monkeypatch.setattr(impl.http_client, "MAX_ANSWER_BYTES", LOWERED)
    get = json.dumps(_answer(b"k", [VALUE])).encode()
    where: list[str] = []
    heads: list[bytes] = []

    def answer(conn: socket.socket, head: bytes) -> bool:
        heads.append(head.split(b"\r\n", 1)[0])
        if b" /status " in head:
            first = sum(h.endswith(b" /status HTTP/1.1") for h in heads) == 1
            body = _status("n1", bound=LOWERED if first else 1_000_000, http={"n1": where[0]},
                           ring={**RING, "tokens": {"n1": ["0"]}})
            conn.sendall(_http(200, json.dumps(body).encode()))
        elif framing == "Content-Length":
            conn.sendall(_http(200, get))
        else:
            conn.sendall(b"HTTP/1.1 200 X\r\nConnection: close\r\n"
                         b"Content-Type: application/json\r\n\r\n" + get)
        return False

    def run_get(given: int | None) -> list[bytes]:
        if client == "sync":
            with Client([where[0]], timeout_s=5.0, max_answer_bytes=given) as db:
                return db.get("k").values

        async def scenario() -> list[bytes]:
            async with AsyncClient([where[0]], timeout_s=5.0, max_answer_bytes=given) as db:
                return (await db.get("k")).values
        return asyncio.run(asyncio.wait_for(scenario(), 30))

    with _fake_node(answer) as node:
        where.append(node)
        assert run_get(None) == [VALUE]
        assert [h.split()[1] for h in heads] == [b"/status", b"/kv/k", b"/status", b"/kv/k"]
        heads.clear()
        with pytest.raises(NoNodeError, match="over the client's max_answer_bytes"):
            run_get(LOWERED)
        assert [h.split()[1] for h in heads] == [b"/status", b"/kv/k"]


def test_a_statement_stays_with_its_node_when_another_node_takes_its_address() -> None:
    """n2 (stating ``names_keys``) moves to port 4 and n3, not read, comes to port 2
    (n1's next ``/status``): what n2 stated no longer holds at port 2 (before, n3
    was taken to state it until its ``/status`` was read)."""
    router = _n2_stated()
    router.learn(_status("n1", http={"n1": "127.0.0.1:1", "n2": "127.0.0.1:4",
                                     "n3": "127.0.0.1:2"},
                         ring={**RING, "tokens": {"n1": ["0"], "n2": ["1"], "n3": ["2"]}}),
                 N1)
    assert router._names == {N1: "n1"}
    assert router.names_keys("http://127.0.0.1:4") is True  # n2's, at its address
    assert router.names_keys(N2) is None  # n3's: not read, while n2 states it
