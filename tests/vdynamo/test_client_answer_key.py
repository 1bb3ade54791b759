"""An answer for another key (session 37): every answer about a key names it, and
the client refuses one that names another.

Before session 37 no answer of a node named its key, so a client given another
key's answer (a broken cache, proxy or load balancer that mixed up keys) took
its values as this key's: a put with its context was refused (the context is
bound to its key), but the get had returned the wrong values. Now a node's JSON
answer names its key in ``key`` (base64) and a raw one in Content-Location; a get
given an answer for another key tries the next node and raises NoNodeError naming
both keys, nothing returned; a put or delete (sent) raises OutcomeUnknownError
naming both. The context cannot be checked by the client instead: its binding
to the key is an HMAC under the cluster's secret (:mod:`impl.context`).

Loopback only: a scripted socket server (stopped at the end), answers handed to
the plans, and one real node in this process."""

from __future__ import annotations

import asyncio
import base64
import http.client
import json
import socket
from collections.abc import Callable
from typing import Any

import httpx
import pytest

import impl
from impl.http_client import (
    NoNodeError,
    OutcomeUnknownError,
    Router,
    delete_plan,
    get_plan,
    put_plan,
)
from impl.http_values import LOCATION_CHARS, key_location
from tests.runtime.live import run
from tests.vdynamo.test_client_hostile_answers import CLIENTS, _fake_node, _http
from vdynamo.kv_cli import main_get


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _answer_for(key: bytes, values: list[bytes]) -> dict[str, Any]:
    """A node's JSON get answer for ``key`` (as a node of session 37 gives it)."""
    return {"values": [_b64(v) for v in values], "content_types": ["text/plain"] * len(values),
            "context": "Y3R4", "key": _b64(key)}


def _drive(plan: Any, answer: Callable[[str, str], httpx.Response],
           steps: list[tuple[str, str]]) -> Any:
    """Run ``plan``, each request answered by ``answer(method, url)`` (``/status``:
    503, so the plan goes to its seed), the requests made kept in ``steps``."""
    method, url, _ = next(plan)
    try:
        while True:
            steps.append((method, url))
            reply = (httpx.Response(503, json={}) if url.endswith("/status")
                     else answer(method, url))
            method, url, _ = plan.send(reply)
    except StopIteration as done:
        return done.value


def _router() -> Router:
    return Router(["127.0.0.1:1"], now=lambda: 0.0)


@pytest.mark.parametrize("client", sorted(CLIENTS))
def test_a_get_given_another_keys_answer_raises_naming_both_keys(client: str) -> None:
    """A server answering the get of ``k`` with the answer for ``other``: NoNodeError
    naming both keys, no value returned (before: ``[b'milk']``, other's value)."""
    body = json.dumps(_answer_for(b"other", [b"milk"])).encode()
    with _fake_node(lambda conn, head: conn.sendall(_http(200, body)) or False) as node, \
            pytest.raises(NoNodeError) as raised:
        CLIENTS[client](node, "get")
    said = str(raised.value)
    assert "an answer for the key b'other', not b'k'" in said
    assert "cache, proxy or load balancer" in said and said.startswith("get 'k'")


def test_the_answer_of_the_key_asked_is_taken() -> None:
    """The control of the test above: the same answer naming ``k`` is taken."""
    got = _drive(get_plan(_router(), "k", None, None),
                 lambda method, url: httpx.Response(200, json=_answer_for(b"k", [b"milk"])), [])
    assert got.values == [b"milk"]


def test_another_keys_siblings_are_neither_merged_nor_written_back() -> None:
    """With a resolve hook, another key's siblings are not merged and no write-back
    is sent (it would have written them, with the other key's context, to this key)."""
    steps: list[tuple[str, str]] = []
    with pytest.raises(NoNodeError, match="b'other', not b'cart'"):
        _drive(get_plan(_router(), b"cart", None, lambda values: b"".join(values)),
               lambda method, url: httpx.Response(300, json=_answer_for(
                   b"other", [b"a", b"b"])), steps)
    assert [method for method, _ in steps] == ["GET", "GET"]  # /status, the get


def test_a_404_for_another_key_is_not_this_keys_absence() -> None:
    """A 404 (no value) naming another key is no answer for this one either."""
    with pytest.raises(NoNodeError, match="b'other', not b'k'"):
        _drive(get_plan(_router(), "k", None, None), lambda method, url: httpx.Response(
            404, json={**_answer_for(b"other", []), "error": "NotFound"}), [])


@pytest.mark.parametrize("named", ["not base64!", 5, None, ["aw=="],
                                   "a!w==", "aw==\n"])  # b"k" were the junk dropped
def test_an_answer_naming_no_key_in_base64_is_refused(named: object) -> None:
    with pytest.raises(NoNodeError, match="not base64: no node's answer for the key b'k'"):
        _drive(get_plan(_router(), "k", None, None), lambda method, url: httpx.Response(
            200, json={**_answer_for(b"k", [b"v"]), "key": named}), [])


@pytest.mark.parametrize(("asked", "named"), [
    (b"k", b"K"), (b"\xff", b"\xfe"), (b"cart", b"car"), (b"car", b"cart"),
    ("caf\u00e9", b"caf\xe9"), (b"a/b", b"a%2Fb")])
def test_keys_are_compared_as_bytes_exactly(asked: bytes | str, named: bytes) -> None:
    """Session 37's review: the keys are equal only byte for byte. Another case
    (``K``), another invalid UTF-8 byte (both U+FFFD decoded), a prefix either way,
    the Latin-1 form of a str key, the key's percent-encoding: each is another key's
    answer (mutants comparing case-blind, as text, or by prefix took them)."""
    with pytest.raises(NoNodeError, match="an answer for the key"):
        _drive(get_plan(_router(), asked, None, None), lambda method, url: httpx.Response(
            200, json=_answer_for(named, [b"v"])), [])
    with pytest.raises(OutcomeUnknownError, match="an answer for the key"):
        _drive(put_plan(_router(), asked, b"v", None, "a/b", None), lambda method, url:
               httpx.Response(200, json={"context": "Y3R4", "key": _b64(named)}), [])


def test_an_answer_naming_no_key_is_taken_from_an_older_node() -> None:
    """A node of before session 37 names no key: its answer is taken, as before."""
    body = _answer_for(b"k", [b"v"])
    del body["key"]
    assert _drive(get_plan(_router(), "k", None, None),
                  lambda method, url: httpx.Response(200, json=body), []).values == [b"v"]


def test_a_put_or_delete_answered_for_another_key_has_an_unknown_outcome() -> None:
    """A write was sent: an answer for another key says nothing of what became of it."""
    other = {"context": "Y3R4", "key": _b64(b"other")}
    with pytest.raises(OutcomeUnknownError, match=r"b'other', not b'k'.*outcome unknown"):
        _drive(put_plan(_router(), "k", b"v", None, "a/b", None),
               lambda method, url: httpx.Response(200, json=other), [])
    with pytest.raises(OutcomeUnknownError, match=r"b'other', not b'k'.*outcome unknown"):
        _drive(delete_plan(_router(), "k", None, None),
               lambda method, url: httpx.Response(404, json=other), [])
    mine = {"context": "Y3R4", "key": _b64(b"k")}
    assert _drive(put_plan(_router(), "k", b"v", None, "a/b", None),
                  lambda method, url: httpx.Response(200, json=mine), []) == "Y3R4"
    assert _drive(delete_plan(_router(), "k", None, None),
                  lambda method, url: httpx.Response(404, json=mine), []) == "Y3R4"


def test_the_cli_names_both_keys_on_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    """``vdynamo get k`` given the answer for ``other``: one line naming both, exit 1,
    nothing printed as the key's value."""
    body = json.dumps(_answer_for(b"other", [b"milk"])).encode()

    def answer(conn: socket.socket, head: bytes) -> bool:
        conn.sendall(_http(200, body))
        return False

    with _fake_node(answer) as node:
        assert main_get(["k", "--node", node]) == 1
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1
    assert err.startswith("vdynamo get: get b'k': no node could serve it")
    assert "an answer for the key b'other', not b'k'" in err


KEYS = ["cart", "k\u00e9y/a b?c", ".", "..", b"\xff\x00%2E"]


def test_the_content_location_of_a_key_is_every_byte_but_the_unreserved_escaped() -> None:
    """The form a raw answer names its key in, pinned (the real node's test below
    compares the header with :func:`key_location` itself): a slash, a space and
    ``%`` escaped, the dot segments as ``%2E``, bytes in upper-case hex."""
    assert [key_location(key) for key in (b"a/b c", b".", b"..", b"%2E", b"\xff~-_.x")] == [
        "/kv/a%2Fb%20c", "/kv/%2E", "/kv/%2E%2E", "/kv/%252E", "/kv/%FF~-_.x"]


def test_a_real_nodes_answers_name_their_keys_and_pass_the_check() -> None:
    """A node's answers name their keys (JSON: ``key``; raw and multipart:
    Content-Location) and the client's get, put and delete of each key pass its
    check (a key of UTF-8 with a slash and a space, the dot segments, bytes)."""
    async def scenario() -> None:
        async with impl.LocalCluster(nodes=1, n=1, r=1, w=1,
                                     request_timeout=5.0) as cluster, \
                httpx.AsyncClient() as http:
            client = cluster.client()
            for key in KEYS:
                raw = key.encode() if isinstance(key, str) else key
                absent = await client.get(key)
                assert absent.values == []
                await client.put(key, b"one", context=absent.context)
                assert (await client.get(key)).values == [b"one"]
                url = cluster.urls[0] + key_location(raw)
                one = await http.get(url)
                assert (one.status_code, one.headers["content-location"]) == (
                    200, key_location(raw))
                await http.put(url, content=b"two")  # a sibling
                both = await http.get(url)
                assert (both.status_code, both.headers["content-location"]) == (
                    300, key_location(raw))
                named = await http.get(url, headers={"accept": "application/json"})
                assert base64.b64decode(named.json()["key"]) == raw
                put = await http.put(url, content=b"three", headers={
                    "x-vdynamo-context": both.headers["x-vdynamo-context"]})
                assert base64.b64decode(put.json()["key"]) == raw
                assert (await client.get(key)).values == [b"three"]
                await client.delete(key)
                assert (await client.delete(key)) != ""  # the read's 404, named
    run(scenario())


def _raw(port: int, method: str, path: str, body: bytes | None = None,
         headers: dict[str, str] | None = None) -> tuple[int, Any, bytes]:
    """One request by Python's http.client (as requests makes it): its status,
    headers and body."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        answer = conn.getresponse()
        return answer.status, answer.headers, answer.read()
    finally:
        conn.close()


def test_a_long_keys_raw_answer_names_no_key_and_is_read_by_http_client() -> None:
    """Session 37's review: a raw answer names its key in Content-Location only up
    to LOCATION_CHARS. With ``max_key_bytes`` raised, a 30,000-byte key's raw
    answer carried a Content-Location of 90,004 characters, which Python's
    http.client refuses (LineTooLong: header lines over 65,536 bytes), and so did
    requests: each read that answer before session 37. A key whose path is exactly
    LOCATION_CHARS long is named; one character more, not; its JSON answer names
    it."""
    async def scenario() -> None:
        async with impl.LocalCluster(nodes=1, n=1, r=1, w=1, request_timeout=5.0,
                                     max_key_bytes=100_000) as cluster:
            port = int(cluster.urls[0].rsplit(":", 1)[1])
            edge = b"a" * (LOCATION_CHARS - 4 - 3 * 2000) + b"\xff" * 2000
            for key, named in ((edge, True), (edge + b"b", False),
                               (b"\xff" * 30_000, False)):
                path = key_location(key)
                assert (len(path) <= LOCATION_CHARS) == named
                status, _, _ = await asyncio.to_thread(_raw, port, "PUT", path, b"v")
                assert status == 200
                status, headers, body = await asyncio.to_thread(_raw, port, "GET", path)
                assert (status, body) == (200, b"v")
                assert headers.get("content-location") == (path if named else None)
                status, _, body = await asyncio.to_thread(
                    _raw, port, "GET", path, None, {"accept": "application/json"})
                assert base64.b64decode(json.loads(body)["key"]) == key
    run(scenario())
