"""The client library and the CLI in an environment httpx cannot make a client from
(session 59's red team, probe 23h).

httpx reads the proxies (``HTTP_PROXY``, ``HTTPS_PROXY``, ``ALL_PROXY``, either case)
and the CA bundle (``SSL_CERT_FILE``, ``SSL_CERT_DIR``) of the environment when it
makes a client. Before session 59 a proxy it cannot use (a SOCKS proxy without the
socksio package, an ``ftp://`` one, a port over 65535) or a CA bundle that is not
there raised a bare ImportError, ValueError, FileNotFoundError or ssl.SSLError out of
the first call (the async client an ExceptionGroup for the port), none of them a
DynamoError, and ``vdynamo get`` printed its traceback. Now
:func:`impl.http_client._made_from_environment` raises LocalError naming the
variables, nothing sent, and the CLI prints one line.

Mutants (session 59): ``_made_from_environment`` calling ``make()`` alone (no
``except``, no port check): every case fails with its bare error (ImportError,
ValueError, FileNotFoundError, SSLError; the sync port case a NoNodeError, the async
one an ExceptionGroup), and the CLI test with a traceback (SystemExit not raised,
ImportError); ``_check_proxy_ports`` returning at once: the two port cases fail
(NoNodeError "ConnectError", ExceptionGroup). A NoNodeError met through a proxy
says the proxy was in the way (:func:`impl.http_client._proxy_said`).

Nothing listens at the node's address (nothing is to be sent); no process started.
"""

from __future__ import annotations

import asyncio
import importlib.util
import socket
from pathlib import Path

import pytest

from impl.errors import LocalError
from impl.http_client import AsyncClient, Client, NoNodeError
from vdynamo.kv_cli import main_get

NODE = "127.0.0.1:1"
_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "SSL_CERT_FILE",
              "SSL_CERT_DIR")


def _sync_get() -> object:
    with Client([NODE], timeout_s=2.0, deadline_s=5.0) as db:
        return db.get("k")


def _async_get() -> object:
    async def scenario() -> object:
        async with AsyncClient([NODE], timeout_s=2.0, deadline_s=5.0) as db:
            return await db.get("k")
    return asyncio.run(asyncio.wait_for(scenario(), 30))


CLIENTS = {"sync": _sync_get, "async": _async_get}

#: case -> (the variable set, its value: ``{tmp}`` a file that is no CA bundle)
CASES = {
    "a SOCKS proxy without socksio": ("ALL_PROXY", "socks5://127.0.0.1:9"),
    "an ftp proxy": ("http_proxy", "ftp://127.0.0.1:9"),
    "a proxy's port over 65535": ("HTTP_PROXY", "http://127.0.0.1:99999"),
    "a CA bundle that is not there": ("SSL_CERT_FILE", "/nonexistent/ca.pem"),
    "a CA bundle that holds no certificate": ("SSL_CERT_FILE", "{tmp}"),
}


def _environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, case: str) -> str:
    """Only ``case``'s variable set (of those httpx reads); returns its name."""
    for name in _VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    name, value = CASES[case]
    if "socks" in value and importlib.util.find_spec("socksio") is not None:
        pytest.skip("socksio is installed: httpx can make a SOCKS proxy's client")
    bundle = tmp_path / "ca.pem"
    bundle.write_text("not a certificate\n")
    monkeypatch.setenv(name, value.format(tmp=bundle))
    return name


@pytest.mark.parametrize("client", sorted(CLIENTS))
@pytest.mark.parametrize("case", sorted(CASES))
def test_an_environment_httpx_cannot_use_is_a_local_error_naming_it(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, client: str, case: str) -> None:
    """LocalError naming the variable and "nothing was sent" (before: a bare
    ImportError, ValueError, FileNotFoundError, SSLError or ExceptionGroup)."""
    name = _environment(monkeypatch, tmp_path, case)
    with pytest.raises(LocalError) as raised:
        CLIENTS[client]()
    assert f"{name}=" in str(raised.value)
    assert "nothing was sent" in str(raised.value)


def test_no_proxy_star_keeps_a_bad_proxy_port_unread(monkeypatch: pytest.MonkeyPatch,
                                                     tmp_path: Path) -> None:
    """``NO_PROXY=*``: httpx uses no proxy, so a proxy's bad port is no error (the
    get fails only because nothing listens at the node)."""
    _environment(monkeypatch, tmp_path, "a proxy's port over 65535")
    monkeypatch.setenv("NO_PROXY", "*")
    with pytest.raises(NoNodeError, match="ConnectError") as raised:
        _sync_get()
    assert "names a proxy" not in str(raised.value)


@pytest.mark.parametrize("client", sorted(CLIENTS))
def test_a_node_unserved_through_a_proxy_says_the_proxy_was_in_the_way(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, client: str) -> None:
    """``HTTP_PROXY`` naming a port where nothing listens (a proxy down): the
    NoNodeError says the environment names a proxy and that the error may be the
    proxy's (before: "ConnectError: Connection refused" for the node alone, which a
    user then looked for on a node that ran). Mutant (session 59): ``_proxy_said``
    returning "": both cases fail."""
    _environment(monkeypatch, tmp_path, "an ftp proxy")
    monkeypatch.delenv("http_proxy")
    with socket.socket() as closed:  # a port nothing listens on once closed
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    monkeypatch.setenv("HTTP_PROXY", f"http://user:secret@127.0.0.1:{port}")
    with pytest.raises(NoNodeError) as raised:
        CLIENTS[client]()
    said = str(raised.value)
    assert f"the environment names a proxy: HTTP_PROXY='http://127.0.0.1:{port}'" in said
    assert "secret" not in said


def test_the_cli_says_it_in_one_line(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    """``vdynamo get k --node N`` with a CA bundle that is not there: exit 1, one line
    on stderr naming ``SSL_CERT_FILE`` (before: a FileNotFoundError traceback)."""
    _environment(monkeypatch, tmp_path, "a CA bundle that is not there")
    assert main_get(["k", "--node", NODE, "--timeout", "5"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("vdynamo get: no HTTP client can be made in this environment")
    assert "SSL_CERT_FILE='/nonexistent/ca.pem'" in err and err.count("\n") == 1


#: case -> (the variables set, whether the NoNodeError of a node on 127.0.0.1 whose
#: port is closed says a proxy was in the way); ``{proxy}``: a port nothing listens on
PROXY_SAID = {
    "HTTPS_PROXY alone (a node is http://)": ({"HTTPS_PROXY": "http://{proxy}"}, False),
    "http_proxy, NO_PROXY naming the node's host": (
        {"http_proxy": "http://{proxy}", "NO_PROXY": "localhost,127.0.0.1"}, False),
    "http_proxy, no_proxy naming another host": (
        {"http_proxy": "http://{proxy}", "no_proxy": "localhost,.corp"}, True),
    "ALL_PROXY, NO_PROXY naming the node's host:port": (
        {"ALL_PROXY": "http://{proxy}", "NO_PROXY": "http://127.0.0.1:1"}, False),
    "HTTP_PROXY without a scheme": ({"HTTP_PROXY": "{proxy}"}, True),
}


@pytest.mark.parametrize("case", sorted(PROXY_SAID))
def test_a_proxy_is_named_only_when_a_node_was_asked_through_it(
        monkeypatch: pytest.MonkeyPatch, case: str) -> None:
    """The review of red team 10 (session 59): ``_proxy_said`` named the proxy
    whenever the environment named one (not ``NO_PROXY=*``), also for a node that
    ``NO_PROXY`` lists (``vdynamo get --dir`` lists 127.0.0.1 for its nodes) and
    with ``HTTPS_PROXY`` alone (never used for a node's ``http://``): "an error above
    may be the proxy's" sent a user to a proxy that was not in the way. Now only
    when httpx's own rule sends the node's request through one
    (:func:`impl.http_client._proxied`); fails before for all five (the three
    False cases said the proxy). Mutants (session 59): every node tried taken as
    proxied: the three False cases fail ("names a proxy" said), and
    ``test_no_proxy_star_keeps_a_bad_proxy_port_unread``; ``_proxied`` returning
    False: the two True cases fail, and both of
    ``test_a_node_unserved_through_a_proxy_says_the_proxy_was_in_the_way``; the
    patterns not sorted (the first that matches wins: ``http://`` before
    ``all://127.0.0.1``): the two NO_PROXY cases fail."""
    variables, said = PROXY_SAID[case]
    for name in _VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    with socket.socket() as closed:  # a port nothing listens on once closed
        closed.bind(("127.0.0.1", 0))
        proxy = f"127.0.0.1:{closed.getsockname()[1]}"
    for name, value in variables.items():
        monkeypatch.setenv(name, value.format(proxy=proxy))
    with pytest.raises(NoNodeError) as raised:
        _sync_get()
    assert ("names a proxy" in str(raised.value)) == said, str(raised.value)
    if said:
        assert f"http://{NODE} was asked through it" in str(raised.value)


#: case -> the variables set (``{node}``: the fake node, which answers a proxy's
#: absolute-form request as its own: a proxy that works)
UNUSED_BAD_PORTS = {
    "https_proxy with a port over 65535 (a node is http://)": {
        "https_proxy": "http://127.0.0.1:99999"},
    "http_proxy with a port over 65535, NO_PROXY naming the node": {
        "http_proxy": "http://127.0.0.1:99999", "NO_PROXY": "127.0.0.1"},
    "HTTP_PROXY with a port over 65535, http_proxy over it": {
        "HTTP_PROXY": "http://127.0.0.1:99999", "http_proxy": "http://{node}"},
}


@pytest.mark.parametrize("case", sorted(UNUSED_BAD_PORTS))
def test_a_bad_proxy_port_no_request_uses_is_not_refused(
        monkeypatch: pytest.MonkeyPatch, case: str) -> None:
    """The review of red team 10 (session 59): ``_check_proxy_ports`` read every
    proxy variable, either case, so a sync client (``vdynamo get --dir``, whose
    loopback nodes are asked directly) was refused "no HTTP client can be made" for a
    proxy no request of it used, as httpx reads them: ``https_proxy`` for an
    ``http://`` node, one ``NO_PROXY`` bypasses, an uppercase one the lowercase
    overrides; each worked before the red team's fix. Now only the proxy of the
    pool's origin is checked (the async client, one pool for every node: every proxy
    httpx would use). Fails before for all three (LocalError). Mutants (session 59):
    the origin not passed (every proxy httpx would use checked): the first two fail
    (https_proxy, NO_PROXY); each variable of either case checked (the rule before,
    the lowercase precedence lost): the three fail, and
    ``test_no_proxy_star_keeps_a_bad_proxy_port_unread``."""
    from tests.vdynamo.loopback import serving
    for name in _VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    answer = b'{"values": [], "context": "Y3R4"}'

    def handle(conn: socket.socket, stop: object) -> None:
        data = b""
        while b"\r\n\r\n" not in data and (more := conn.recv(65536)):
            data += more
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                     b"Content-Length: %d\r\nConnection: close\r\n\r\n%s" % (
                         len(answer), answer))
    with serving(handle) as node:
        for name, value in UNUSED_BAD_PORTS[case].items():
            monkeypatch.setenv(name, value.format(node=node))
        with Client([node], timeout_s=5.0, deadline_s=10.0) as db:
            got = db.get("k")
    assert got.values == [] and got.context == "Y3R4"
