"""The local cluster's commands ask their own nodes directly, whatever proxy the
environment names (session 59's red team, probe 23h).

``vdynamo cluster up`` / ``status`` / ``join`` / ``leave`` / ``remove`` ask the nodes
they started on 127.0.0.1 for ``/health`` and ``/status`` (and ``remove`` posts its
admin token). Before session 59 they asked with ``urllib.request.urlopen``, which takes
``http_proxy``, ``HTTP_PROXY`` and ``ALL_PROXY`` from the environment: on a machine
whose shell names a proxy that cannot reach this host's loopback, ``cluster up`` waited
30 s, said "n1 not ready within 30 s" and stopped the node it had started, and
``cluster status`` called every running node hung. Go's net/http (etcdctl) never
proxies loopback; :data:`vdynamo.cluster_cli._DIRECT` asks directly.

Mutant (session 59): ``_DIRECT = urllib.request.build_opener()`` (the environment's
proxies again): the test fails for both variables, ``_answer`` and ``_health``
returning None (the fake proxy got each request and answered 502).

Loopback only: a fake node and a fake proxy (each a small socket server, stopped at
the end); no process is started.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.vdynamo.loopback import serving
from vdynamo import kv_cli

_HEALTH = json.dumps({"node": "n1", "ready": True}).encode()


def _request_read(conn: socket.socket, heads: list[bytes]) -> tuple[bytes, bytes] | None:
    """(heads, what came after them) of a request read from ``conn``, its heads kept
    in ``heads``; None if the connection closed first."""
    data = b""
    while b"\r\n\r\n" not in data:
        more = conn.recv(65536)
        if not more:
            return None
        data += more
    head, _, rest = data.partition(b"\r\n\r\n")
    heads.append(head)
    return head, rest


def _answering(body: bytes, heads: list[bytes],
               status: bytes = b"200 OK") -> Callable[[socket.socket, threading.Event], None]:
    """A handler answering every request ``status`` with ``body``, its heads kept."""
    def handle(conn: socket.socket, stop: threading.Event) -> None:
        if _request_read(conn, heads) is None:
            return
        conn.sendall(b"HTTP/1.1 " + status + b"\r\nContent-Type: application/json\r\n"
                     b"Content-Length: " + str(len(body)).encode() + b"\r\n"
                     b"Connection: close\r\n\r\n" + body)
    return handle


#: asks ``_answer`` and ``_health`` of the node on port ``argv[1]`` in a process of its
#: own (the opener reads the environment when it is made: at import)
_ASK = ("import json, sys; from vdynamo import cluster_cli; port = int(sys.argv[1]); "
        "print(json.dumps([cluster_cli._answer(port, '/health', 5.0), "
        "cluster_cli._health(port, 5.0)]))")


@pytest.mark.parametrize("variable", ["http_proxy", "ALL_PROXY"])
def test_a_nodes_answer_is_asked_directly_not_through_the_environments_proxy(
        variable: str) -> None:
    """With ``variable`` naming a proxy (here one that answers 502 to everything, as a
    proxy that cannot reach this host's loopback does), ``_answer`` and ``_health``
    of a process started with it still read the node's ``/health`` (before: None,
    and ``cluster up`` stopped its node). About 0.5 CPU-s a case (a Python start)."""
    node_heads: list[bytes] = []
    proxy_heads: list[bytes] = []
    environment = {name: value for name, value in os.environ.items()
                   if name.lower() not in ("http_proxy", "all_proxy", "no_proxy")}
    with serving(_answering(_HEALTH, node_heads)) as node, \
            serving(_answering(b"{}", proxy_heads, b"502 Bad Gateway")) as proxy:
        environment[variable] = f"http://{proxy}"
        done = subprocess.run([sys.executable, "-c", _ASK, node.rsplit(":", 1)[1]],
                              env=environment, capture_output=True, text=True,
                              timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == [{"node": "n1", "ready": True}] * 2
    assert proxy_heads == []
    assert len(node_heads) == 2 and node_heads[0].startswith(b"GET /health HTTP/1.1")


def test_the_kv_commands_ask_the_nodes_of_dir_directly(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    """``vdynamo get k --dir D`` with ``HTTP_PROXY`` naming a proxy that answers 502
    to everything: the node of ``D`` is asked directly (NO_PROXY names 127.0.0.1 while
    the command runs: :func:`vdynamo.kv_cli._asked_directly`) and ``NO_PROXY`` is as
    it was afterwards. Before: through the proxy, "no node could serve it".
    Mutant (session 59): ``_asked_directly(False)`` in ``_request``: exit 1 with
    "no node could serve it", the proxy's heads not empty."""
    node_heads: list[bytes] = []
    proxy_heads: list[bytes] = []
    answer = json.dumps({"values": [], "context": "Y3R4"}).encode()
    for name in ("http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "example.com")
    monkeypatch.setattr(kv_cli, "node_running", lambda directory, pid: True)
    monkeypatch.setattr(kv_cli, "process_stopped", lambda pid: False)
    with serving(_answering(answer, node_heads)) as node, \
            serving(_answering(b"{}", proxy_heads, b"502 Bad Gateway")) as proxy:
        monkeypatch.setenv("HTTP_PROXY", f"http://{proxy}")
        (tmp_path / "cluster.json").write_text(json.dumps(
            {"nodes": {"n1": {"pid": 1, "peer": 1, "http": int(node.rsplit(":", 1)[1])}}}))
        status = kv_cli.main_get(["k", "--dir", str(tmp_path), "--timeout", "10"])
    out = capsys.readouterr()
    assert status == 1 and "context: Y3R4" in out.out, out.err  # (no value: exit 1)
    assert proxy_heads == [] and node_heads
    assert os.environ["NO_PROXY"] == "example.com" and "no_proxy" not in os.environ


def test_remove_posts_its_admin_token_directly(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """``vdynamo remove n3`` with ``http_proxy`` naming a proxy: the member on
    loopback gets the POST with its admin token, the proxy nothing (the review of red
    team 10, session 59: the tests above ask ``_answer`` and ``_health`` only).
    urllib's default opener is reset, so a ``urlopen`` would read the environment
    set here. Mutant (session 59): ``main_remove`` through
    ``urllib.request.urlopen`` again: exit 1 "n1 refused: Bad Gateway", the token in
    the proxy's heads."""
    from vdynamo import cluster_cli

    node_heads: list[bytes] = []
    proxy_heads: list[bytes] = []
    for name in ("http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY", "no_proxy", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
    cluster = type("Cluster", (), {"secret": b"s" * 32, "name": "blue"})
    monkeypatch.setattr("impl.runtime_config.load_runtime_config",
                        lambda path: type("Config", (), {"cluster": cluster, "nodes": {}}))
    monkeypatch.setattr(cluster_cli, "_ours", lambda directory, pid: pid == 1)
    urllib.request.install_opener(None)  # (urlopen: a new opener, from the environment)
    try:
        with serving(_answering(json.dumps({"removed": "n3"}).encode(), node_heads)) as node, \
                serving(_answering(b"{}", proxy_heads, b"502 Bad Gateway")) as proxy:
            monkeypatch.setenv("http_proxy", f"http://{proxy}")
            state = {"nodes": {"n1": {"pid": 1, "peer": 1, "http": int(node.rsplit(":", 1)[1])},
                               "n3": {"pid": None, "peer": 3, "http": 3}}}
            monkeypatch.setattr(cluster_cli, "_one_node", lambda prog, argv, running: (
                tmp_path, state, "n3", None))
            status = cluster_cli.main_remove(["n3", "--dir", str(tmp_path)])
    finally:
        urllib.request.install_opener(None)
    assert status == 0
    assert proxy_heads == []
    assert len(node_heads) == 1 and node_heads[0].startswith(
        b"POST /admin/force-remove?node=n3 HTTP/1.1") and b"Bearer " in node_heads[0]


def _forwarding(heads: list[bytes]) -> Callable[[socket.socket, threading.Event], None]:
    """A working forward proxy (RFC 9112 3.2.2's absolute form, one request a
    connection): each request's heads kept, the request sent on to its origin on
    loopback, the origin's answer relayed."""
    def handle(conn: socket.socket, stop: threading.Event) -> None:
        if (read := _request_read(conn, heads)) is None:
            return
        head, body = read
        line, *fields = head.split(b"\r\n")
        method, target, _ = line.split(b" ")
        origin, _, path = target.removeprefix(b"http://").partition(b"/")
        host, _, port = origin.partition(b":")
        kept = [field for field in fields
                if not field.lower().startswith((b"connection:", b"proxy-"))]
        with socket.create_connection((host.decode(), int(port)), timeout=10) as up:
            up.sendall(b"%s /%s HTTP/1.1\r\n%s\r\nConnection: close\r\n\r\n%s" % (
                method, path, b"\r\n".join(kept), body))
            while chunk := up.recv(65536):
                conn.sendall(chunk)
    return handle


def test_the_kv_commands_send_node_addresses_through_a_working_proxy(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """``vdynamo get k --node N`` with ``HTTP_PROXY`` naming a proxy that works: the
    request goes through it (session 36's rule: ``--node`` addresses keep the
    environment's proxy, which may be the only way to them) and the answer is the
    node's; ``NO_PROXY`` is left as the user set it. The review of red team 10
    (session 59). Mutant: ``_asked_directly(True)`` in ``_request`` (``--node``
    asked directly too): the proxy's heads empty."""
    node_heads: list[bytes] = []
    proxy_heads: list[bytes] = []
    answer = json.dumps({"values": [], "context": "Y3R4"}).encode()
    for name in ("http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "example.com")
    with serving(_answering(answer, node_heads)) as node, \
            serving(_forwarding(proxy_heads)) as proxy:
        monkeypatch.setenv("HTTP_PROXY", f"http://{proxy}")
        status = kv_cli.main_get(["k", "--node", node, "--timeout", "10"])
    out = capsys.readouterr()
    assert status == 1 and "context: Y3R4" in out.out, out.err  # (no value: exit 1)
    assert proxy_heads and proxy_heads[0].startswith(f"GET http://{node}/".encode())
    assert len(node_heads) == len(proxy_heads)
    assert os.environ["NO_PROXY"] == "example.com"
