"""The asyncio runtime: three nodes on loopback sockets, HTTP clients, bad input."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import socket
import urllib.error
import urllib.request
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from impl import errors
from impl.config import ClusterConfig
from impl.metrics import ObservedStorage
from impl.runtime import (
    Address,
    NodeAddresses,
    NodeServer,
    RuntimeConfig,
    StorageSettings,
    http_status,
    load_runtime_config,
)
from impl.serve import serve
from impl.storage.sqlite import SqliteStorage

NAMES = ("n1", "n2", "n3")


def _config(tmp_path: Path, **changes: Any) -> RuntimeConfig:
    cluster = ClusterConfig(nodes=NAMES, n=3, r=2, w=2, replica_timeout=0.2,
                            request_timeout=1.0, secret=b"a test secret of 24 bytes",
                            **changes)
    nodes = {
        name: NodeAddresses(Address("127.0.0.1", 0), Address("127.0.0.1", 0),
                            tmp_path / f"{name}.sqlite")
        for name in NAMES
    }
    return RuntimeConfig(cluster, nodes)


#: a get answers JSON (values base64) rather than Riak's raw 200 / multipart 300
_JSON = {"Accept": "application/json"}


def _http(method: str, url: str, body: bytes | None = None,
          headers: dict[str, str] | None = None) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(url, data=body, method=method,
                                     headers={**_JSON, **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


async def call(method: str, url: str, body: bytes | None = None,
               headers: dict[str, str] | None = None) -> tuple[int, dict[str, Any]]:
    return await asyncio.to_thread(_http, method, url, body, headers)


async def _cluster(tmp_path: Path) -> AsyncIterator[list[NodeServer]]:
    servers = await serve(_config(tmp_path), NAMES)
    try:
        yield servers
    finally:
        for server in servers:
            await server.stop()


def run(coro: Any) -> Any:
    return asyncio.run(asyncio.wait_for(coro, 60))


def test_put_then_get_over_http(tmp_path: Path) -> None:
    async def scenario() -> None:
        async for servers in _cluster(tmp_path):
            base = f"http://{servers[0].http_address}"
            status, got = await call("GET", f"{base}/kv/cart")  # absent: 404 with a context
            assert status == 404 and got["values"] == [] and got["context"]
            status, put = await call("PUT", f"{base}/kv/cart", b"milk",
                                     {"X-Vdynamo-Context": got["context"]})
            assert status == 200, put
            # any node answers, forwarding or coordinating
            other = f"http://{servers[2].http_address}"
            status, got = await call("GET", f"{other}/kv/cart")
            assert status == 200
            assert [base64.b64decode(v) for v in got["values"]] == [b"milk"]
            # a put with that context supersedes; one without it makes a sibling
            await call("PUT", f"{other}/kv/cart", b"milk,eggs",
                       {"X-Vdynamo-Context": got["context"]})
            await call("PUT", f"{base}/kv/cart", b"bread")
            status, got = await call("GET", f"{base}/kv/cart?r=3")
            assert status == 300  # Riak's Multiple Choices: siblings
            assert sorted(base64.b64decode(v) for v in got["values"]) == [b"bread", b"milk,eggs"]
            status, info = await call("GET", f"{base}/status")
            assert status == 200 and info["node"] == "n1"
    run(scenario())


def test_a_stopped_node_does_not_stop_writes(tmp_path: Path) -> None:
    async def scenario() -> None:
        async for servers in _cluster(tmp_path):
            await servers[2].stop()
            base = f"http://{servers[0].http_address}"
            status, put = await call("PUT", f"{base}/kv/k", b"v")
            assert status == 200, put
            status, got = await call("GET", f"{base}/kv/k")
            assert status == 200 and [base64.b64decode(v) for v in got["values"]] == [b"v"]
            servers.pop()
    run(scenario())


def _send_over_limit(address: Address, size: int) -> bytes:
    """A PUT whose body is over the limit, sent whole or not: the node may answer 413
    and close before the body is sent (the send then fails; the answer stands)."""
    head = (f"PUT /kv/k HTTP/1.1\r\nHost: x\r\nContent-Length: {size}\r\n"
            "Connection: close\r\n\r\n").encode()
    with socket.create_connection((address.host, address.port), timeout=10) as sock:
        with contextlib.suppress(OSError):
            sock.sendall(head + b"x" * size)
        out = b""
        with contextlib.suppress(OSError):
            while chunk := sock.recv(65536):
                out += chunk
    return out


def test_bad_client_input_is_refused_and_changes_nothing(tmp_path: Path) -> None:
    async def scenario() -> None:
        async for servers in _cluster(tmp_path):
            base = f"http://{servers[0].http_address}"
            assert servers[0].http_address is not None
            limit = ClusterConfig(nodes=NAMES).max_value_bytes
            answer = await asyncio.to_thread(_send_over_limit, servers[0].http_address,
                                             limit + 1)
            assert answer.startswith(b"HTTP/1.1 413 "), answer[:80]
            body = json.loads(answer.partition(b"\r\n\r\n")[2])
            assert body["error"] == "TooLargeError" and body["outcome"] == "not-written"
            status, body = await call("PUT", f"{base}/kv/k", b"v",
                                      {"X-Vdynamo-Context": "not base64!"})
            assert status == 400 and "X-Vdynamo-Context" in body["message"]
            forged = base64.b64encode(b"\x01" * 40).decode()
            status, body = await call("PUT", f"{base}/kv/k", b"v", {"X-Vdynamo-Context": forged})
            assert status == 400 and body["error"] == "BadContextError"
            status, body = await call("PUT", f"{base}/kv/k", b"v",
                                      {"X-Vdynamo-Client-Counter": "-1"})
            assert status == 400 and "X-Vdynamo-Client-Counter" in body["message"]
            status, body = await call("GET", f"{base}/kv/k?r=9")
            assert status == 400 and "1..3" in body["message"]
            status, body = await call("GET", f"{base}/nowhere")
            assert status == 404
            status, got = await call("GET", f"{base}/kv/k")
            assert status == 404 and got["values"] == []
    run(scenario())


def test_a_connection_that_is_not_an_authenticated_peer_is_refused(tmp_path: Path) -> None:
    async def scenario() -> None:
        async for servers in _cluster(tmp_path):
            target = servers[1].peer_address
            assert target is not None
            for garbage in (b"GET / HTTP/1.0\r\n\r\n",
                            b"VDYNHELO\x00\x05intruder",
                            b"VDYNHELO\x00\x02n1" + b"VDYN\x01\xff\x00\x00\x00\x00"):
                reader, writer = await asyncio.open_connection(target.host, target.port)
                writer.write(garbage)
                await writer.drain()
                answer = await asyncio.wait_for(reader.read(), 5)  # read to the close
                if garbage.startswith(b"GET"):  # an HTTP client at the wrong port: told so
                    assert answer.startswith(b"HTTP/1.1 400 ")
                    assert str(servers[1].http_address).encode() in answer
                else:
                    assert answer == b""  # closed by the node, nothing said
                writer.close()
            assert servers[1].refused_peers == 3
            base = f"http://{servers[1].http_address}"
            status, _ = await call("PUT", f"{base}/kv/after?w=3", b"ok")
            assert status == 200
    run(scenario())


def test_cluster_file_loads_and_errors_name_the_key(tmp_path: Path) -> None:
    good = tmp_path / "cluster.toml"
    good.write_text(
        '[cluster]\nnodes = ["a", "b"]\nn = 2\nr = 1\nw = 1\nsecret = "0123456789abcdef"\n'
        '[nodes.a]\npeer = "127.0.0.1:7001"\nhttp = "127.0.0.1:8001"\n'
        '[nodes.b]\npeer = "127.0.0.1:7002"\nhttp = "127.0.0.1:8002"\ndata = "b/db.sqlite"\n'
    )
    config = load_runtime_config(good)
    assert config.cluster.nodes == ("a", "b") and config.cluster.secret == b"0123456789abcdef"
    assert config.nodes["a"].data == tmp_path / "a.sqlite"
    assert config.nodes["b"].data == tmp_path / "b" / "db.sqlite"
    one = "[cluster]\nnodes=['a']\nn=1\nr=1\nw=1\n"
    cases = {
        f"{one}bogus=1\n": "bogus",
        f"{one}[nodes.a]\npeer='x'\nhttp='127.0.0.1:1'\n": "peer",
        f"{one}[nodes.a]\npeer='127.0.0.1:1'\n": "http",
        f"{one}": "nodes.a",
        "[cluster]\nnodes=['a']\nn=1\nr=5\n": "r",
        "[other]\n": "other",
        "not toml [": "TOML",
    }
    for text, named in cases.items():
        bad = tmp_path / "bad.toml"
        bad.write_text(text)
        with pytest.raises(errors.ConfigError, match=named):
            load_runtime_config(bad)


def test_the_cluster_file_sets_and_checks_actor_per_start(tmp_path: Path) -> None:
    """``[cluster] actor_per_start`` (a ClusterConfig field: every start takes a new
    actor id unless it is false) loads as a bool and is refused as anything else."""
    head = ('[cluster]\nnodes = ["a"]\nn = 1\nr = 1\nw = 1\nsecret = "0123456789abcdef"\n'
            '[nodes.a]\npeer = "127.0.0.1:0"\nhttp = "127.0.0.1:0"\n')
    path = tmp_path / "cluster.toml"
    path.write_text(head)
    assert load_runtime_config(path).cluster.actor_per_start is True
    path.write_text(head.replace("w = 1\n", "w = 1\nactor_per_start = false\n"))
    assert load_runtime_config(path).cluster.actor_per_start is False
    path.write_text(head.replace("w = 1\n", 'w = 1\nactor_per_start = "no"\n'))
    with pytest.raises(errors.ConfigError, match="actor_per_start"):
        load_runtime_config(path)


def test_http_status_mapping() -> None:
    assert http_status(errors.TooLargeError("x")) == 413
    assert http_status(errors.BadContextError("x")) == 400
    assert http_status(errors.QuorumError("x")) == 503
    assert http_status(errors.OverloadedError("x")) == 503
    assert http_status(errors.RequestTimeoutError("x")) == 504
    assert http_status(errors.StorageError("x")) == 500


def test_the_storage_section_sets_the_fsync_policy_of_every_node(tmp_path: Path) -> None:
    head = ('[cluster]\nnodes = ["a"]\nn = 1\nr = 1\nw = 1\nsecret = "0123456789abcdef"\n'
            '[nodes.a]\npeer = "127.0.0.1:0"\nhttp = "127.0.0.1:0"\n')
    path = tmp_path / "cluster.toml"
    path.write_text(head)
    assert load_runtime_config(path).storage == StorageSettings("always", 1000)
    path.write_text(head + '[storage]\nfsync = "buffered"\nbatch = 10\n')
    config = load_runtime_config(path)
    assert config.storage == StorageSettings("buffered", 10)

    async def opened() -> tuple[str, int, bool]:
        servers = await serve(config, ["a"])
        try:
            engine = servers[0].storage
            assert isinstance(engine, ObservedStorage)
            inner = engine.inner
            assert isinstance(inner, SqliteStorage)
            return inner.fsync, inner.batch, servers[0].committer is None
        finally:
            await servers[0].stop()

    assert run(opened()) == ("buffered", 10, True)  # and no group commit: nothing to fsync
    for text, named in {
        '[storage]\nfsync = "sometimes"\n': r"\[storage\] fsync: must be one of 'always', "
                                            r"'buffered', got 'sometimes'",
        "[storage]\nbatch = 0\n": r"\[storage\] batch: must be an integer >= 1, got 0",
        "[storage]\nflush = 1\n": r"\[storage\] flush: unknown key",
        'storage = "x"\n': r"\[storage\]: must be a table",
    }.items():
        path.write_text(head + text if text.startswith("[") else text + head)
        with pytest.raises(errors.ConfigError, match=named):
            load_runtime_config(path)
