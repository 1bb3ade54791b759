"""The client's answer bound follows its cluster (session 37).

Before session 37 a client read answers up to ``max_answer_bytes``, by default
:data:`~impl.http_client.MAX_ANSWER_BYTES` (97,867,096 bytes: the largest get
answer of a cluster of the default ``max_frame_bytes``), whatever its cluster: a
get of a cluster of 18 nodes of the default limits (a merge of 18 sides' puts: up
to 101,599,980 bytes of answer) or of larger ``max_value_bytes`` and
``max_record_bytes`` was refused unless the client was given a larger bound by
hand. Now a node states its largest answer in ``/status``
(``limits.max_answer_bytes``: :func:`impl.config.answer_bytes` of its frame), and a
client not given ``max_answer_bytes`` reads answers up to that (never less than
the default, at most :data:`~impl.http_client.MAX_STATED_ANSWER_BYTES`). A bound
given is kept; one not learned (no ``/status`` read, a node of before session 37)
is the default.

To keep them cheap, the tests below lower the default (``MAX_ANSWER_BYTES`` to
100,000 bytes, read when each request is made) rather than send 100 MB answers.
Loopback only: a scripted socket server (stopped at the end) and real nodes in
this process."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import inspect
import json
import re
import socket
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import impl
import impl.http_client
import vdynamo
import vdynamo.kv_cli
from impl.config import (
    ClusterConfig,
    answer_bytes,
    merged_record_bytes,
    replicable_frame_bytes,
)
from impl.errors import BadMessageError
from impl.http_client import (
    MAX_ANSWER_BYTES,
    MAX_STATED_ANSWER_BYTES,
    AsyncClient,
    Client,
    NoNodeError,
    Router,
)
from tests.runtime.live import run
from tests.vdynamo.test_client_hostile_answers import _RING, _fake_node, _http, _largest_answer
from vdynamo.kv_cli import main_get

LOWERED = 100_000  # MAX_ANSWER_BYTES in these tests
STATED = 1_000_000  # the bound the fake node states
VALUE = b"v" * 300_000  # its value: an answer of 400,000 bytes and more


@pytest.fixture
def lowered(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(impl.http_client, "MAX_ANSWER_BYTES", LOWERED)


def _status(node: str, limits: object) -> dict[str, Any]:
    body: dict[str, Any] = {"ring": _RING, "http": {"n1": node}}
    if limits is not None:
        body["limits"] = limits
    return body


def _get(node: str, client: str, given: int | None = None) -> list[bytes]:
    """The values of ``k`` read from ``node`` by a client of that kind."""
    if client == "sync":
        with Client([node], timeout_s=5.0, max_answer_bytes=given) as db:
            return db.get("k").values

    async def scenario() -> list[bytes]:
        async with AsyncClient([node], timeout_s=5.0, max_answer_bytes=given) as db:
            return (await db.get("k")).values
    return asyncio.run(asyncio.wait_for(scenario(), 30))


@contextlib.contextmanager
def _serving(status: Callable[[str], dict[str, Any] | None]) -> Iterator[str]:
    """A fake node answering ``/status`` with ``status`` of its own address (None: a
    503) and a get of ``k`` with :data:`VALUE`."""
    where: list[str] = []
    get = json.dumps({"values": [base64.b64encode(VALUE).decode()],
                      "content_types": ["a/b"], "context": "Y3R4",
                      "key": base64.b64encode(b"k").decode()}).encode()

    def answer(conn: socket.socket, head: bytes) -> bool:
        body = status(where[0]) if b" /status " in head else None
        conn.sendall(_http(200, json.dumps(body).encode()) if body is not None else
                     _http(503, b"{}") if b" /status " in head else _http(200, get))
        return False

    with _fake_node(answer) as node:
        where.append(node)
        yield node


@pytest.mark.parametrize("client", ["sync", "async"])
def test_a_client_reads_answers_up_to_the_bound_its_clusters_status_states(
        client: str, lowered: None) -> None:
    """An answer over the default but within what ``/status`` states is read (the
    mutant of a fixed bound refuses it: "over the client's max_answer_bytes of
    100,000")."""
    with _serving(lambda node: _status(node, {"max_answer_bytes": STATED})) as node:
        assert _get(node, client) == [VALUE]


@pytest.mark.parametrize("client", ["sync", "async"])
def test_a_bound_given_is_kept_whatever_the_status_states(client: str,
                                                          lowered: None) -> None:
    with _serving(lambda node: _status(node, {"max_answer_bytes": STATED})) as node, \
            pytest.raises(NoNodeError, match="over the client's max_answer_bytes of 200,000"):
        _get(node, client, given=200_000)


@pytest.mark.parametrize("status", ["unreadable", "a node of before session 37",
                                    "limits without it", "a bound that is no int"])
def test_without_a_bound_stated_the_default_is_kept(status: str, lowered: None) -> None:
    """No ``/status`` read (503), one stating no bound, one whose bound is malformed
    (refused whole: the ring is not learned either): the default bound."""
    bodies = {"unreadable": lambda node: None,
              "a node of before session 37": lambda node: _status(node, None),
              "limits without it": lambda node: _status(node, {"max_value_bytes": 1}),
              "a bound that is no int": lambda node: _status(node, {"max_answer_bytes": "9e9"})}
    with _serving(bodies[status]) as node, \
            pytest.raises(NoNodeError, match=f"over the client's max_answer_bytes of {LOWERED:,}"):
        _get(node, "sync")


def test_the_cli_reads_answers_up_to_the_bound_stated(
        lowered: None, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """``vdynamo get`` without ``--max-answer-bytes`` reads up to the bound stated
    (its default is no bound given, not :data:`MAX_ANSWER_BYTES`); given, it is kept."""
    monkeypatch.setattr(vdynamo.kv_cli, "MAX_ANSWER_BYTES", LOWERED)
    with _serving(lambda node: _status(node, {"max_answer_bytes": STATED})) as node:
        assert main_get(["k", "--node", node]) == 0
        assert capsys.readouterr().out.startswith("v" * 1000)
        assert main_get(["k", "--node", node, "--max-answer-bytes", "200000"]) == 1
        assert "max_answer_bytes of 200,000" in capsys.readouterr().err


def test_no_bound_is_given_by_default() -> None:
    """``connect``, ``connect_async`` and both clients give none by default (the
    cluster's then), as ``vdynamo get`` does."""
    for made in (vdynamo.connect, vdynamo.connect_async, Client, AsyncClient):
        assert inspect.signature(made).parameters["max_answer_bytes"].default is None


def test_the_learned_bound_is_at_least_the_default_and_at_most_the_ceiling() -> None:
    router = Router(["127.0.0.1:1"], now=lambda: 0.0)
    assert router.answer_limit(None) == MAX_ANSWER_BYTES  # nothing learned yet
    for stated, limit in ((1_000, MAX_ANSWER_BYTES), (MAX_ANSWER_BYTES + 1, MAX_ANSWER_BYTES + 1),
                          (10**15, MAX_STATED_ANSWER_BYTES)):
        router.learn(_status("127.0.0.1:2", {"max_answer_bytes": stated}))
        assert router.answer_limit(None) == limit
        assert router.answer_limit(5) == 5  # given: kept
    router.learn(_status("127.0.0.1:2", None))  # an older node: none stated
    assert router.stated_answer_bytes is None and router.answer_limit(None) == MAX_ANSWER_BYTES
    assert MAX_STATED_ANSWER_BYTES == 4 * MAX_ANSWER_BYTES == 391_468_384


@pytest.mark.parametrize("bad", ["1000", 0, -5, True, 1.5, [1]])
def test_a_status_stating_a_bound_that_is_no_positive_int_is_refused_whole(bad: object) -> None:
    router = Router(["127.0.0.1:1"], now=lambda: 0.0)
    with pytest.raises(BadMessageError, match=r"limits\.max_answer_bytes"):
        router.learn(_status("127.0.0.1:2", {"max_answer_bytes": bad}))
    with pytest.raises(BadMessageError, match="an object expected"):
        router.learn(_status("127.0.0.1:2", [1]))
    assert router.partitioning is None and router.stated_answer_bytes is None


@pytest.mark.parametrize("nodes", [3, 17, 18, 40])
def test_the_bound_a_node_states_admits_every_answer_of_its_cluster(nodes: int) -> None:
    """:func:`impl.config.answer_bytes` of the frame a cluster of ``nodes`` nodes of
    the default limits derives admits its largest get answer, the merge of every
    side's puts (18 nodes: 101,599,980 bytes, over :data:`MAX_ANSWER_BYTES`)."""
    config = ClusterConfig(nodes=tuple(f"n{i}" for i in range(nodes)))
    assert _largest_answer(nodes) <= answer_bytes(config.max_frame_bytes)
    assert (_largest_answer(nodes) > MAX_ANSWER_BYTES) == (nodes >= 18)


def test_a_real_node_states_its_bound_and_its_answers_are_read_up_to_it(
        lowered: None) -> None:
    """A node's ``/status`` states ``answer_bytes`` of its frame; its get answer of
    400,000 bytes (over the lowered default) is read by a client that learned it;
    a node of larger limits (``max_value_bytes`` 4 MiB, ``max_record_bytes`` 40 MiB)
    states 120,399,192 bytes, over :data:`MAX_ANSWER_BYTES`, which its client learns."""
    async def scenario() -> None:
        async with impl.LocalCluster(nodes=1, n=1, r=1, w=1,
                                     request_timeout=5.0) as cluster:
            client = cluster.client()
            await client.put("k", VALUE)
            assert (await client.get("k")).values == [VALUE]
            limits = (await client.status())["limits"]
            frame = cluster.servers[0].frame_limit
            assert limits["max_answer_bytes"] == answer_bytes(frame) == 97_867_096
            assert limits["max_frame_bytes"] == frame
            assert client.router.answer_limit(None) == answer_bytes(frame)
        async with impl.LocalCluster(nodes=1, n=1, r=1, w=1, request_timeout=10.0,
                                     max_value_bytes=4 << 20,
                                     max_record_bytes=40 << 20) as cluster:
            client = cluster.client()
            await client.get("k")
            stated = client.router.stated_answer_bytes
            assert stated == answer_bytes(cluster.servers[0].frame_limit) == 120_399_192
            assert client.router.answer_limit(None) == stated > MAX_ANSWER_BYTES
    run(scenario())


@pytest.mark.parametrize("client", ["sync", "async", "cli"])
def test_a_hostile_status_raises_the_bound_at_most_four_fold(
        client: str, capsys: pytest.CaptureFixture[str]) -> None:
    """Session 37's review: a server that is not a node states a bound of 10**12
    and answers a get with a Content-Length of 1,000,000,000 bytes. It is refused
    unread, over :data:`MAX_STATED_ANSWER_BYTES` (391,468,384). At the first
    ceiling (2,871,700,140, ``answer_bytes`` of a 2 GiB frame) the client read it
    (here: until the server closed, a RemoteProtocolError)."""
    head = (b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Type: application/json"
            b"\r\nContent-Length: 1000000000\r\n\r\n{\"values\": [\"")
    where: list[str] = []

    def answer(conn: socket.socket, request: bytes) -> bool:
        if b" /status " in request:
            conn.sendall(_http(200, json.dumps(_status(where[0], {
                "max_answer_bytes": 10**12})).encode()))
        else:
            conn.sendall(head)
        return False

    refused = "1,000,000,000 bytes (its Content-Length), over the client's " \
              "max_answer_bytes of 391,468,384"
    with _fake_node(answer) as node:
        where.append(node)
        if client == "cli":
            assert main_get(["k", "--node", node]) == 1
            assert refused in capsys.readouterr().err
        else:
            with pytest.raises(NoNodeError, match=re.escape(refused)):
                _get(node, client)


def test_a_nodes_stated_bound_follows_the_members_it_knows() -> None:
    """The bound a node states is that of the merge of the puts of every member it
    knows of, not only of those its configuration names: a node configured alone
    that learned of 17 more (joined since) states 109,760,512 bytes, the figure of
    18 nodes (the mutant taking only the configuration's states 97,867,096)."""
    async def scenario() -> None:
        async with impl.LocalCluster(nodes=1, n=1, r=1, w=1,
                                     request_timeout=5.0) as cluster:
            server = cluster.servers[0]
            assert server.limits()["max_answer_bytes"] == MAX_ANSWER_BYTES
            gossiper = server.node.gossiper
            gossiper.known_nodes = gossiper.known_nodes | {f"j{i}" for i in range(17)}
            assert server.limits()["max_answer_bytes"] == 109_760_512 == answer_bytes(
                replicable_frame_bytes(server.config, merged_record_bytes(server.config, 18)))
    run(scenario())
