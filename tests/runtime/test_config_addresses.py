"""A cluster file's addresses with a port that is not ASCII digits are a ConfigError
naming the key, never a traceback (session 13's probe B: ``peer = "127.0.0.1:²"``
passed ``str.isdigit`` and ``int`` raised ValueError out of ``vdynamo serve``, and so
did a port of 5,000 digits, over ``int``'s 4,300)."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from impl import errors
from impl.config import ClusterConfig
from impl.runtime_config import Address, NodeAddresses, RuntimeConfig
from impl.serve import serve
from tests.runtime.live import SECRET, call, run, settled, url


@pytest.mark.parametrize("text", ["127.0.0.1:²", "²", "127.0.0.1:\u0663", "\u0663\u0663",
                                  "127.0.0.1:" + "1" * 5000, "127.0.0.1:065536",
                                  "127.0.0.1:", "127.0.0.1:-1", "127.0.0.1: 80"])
def test_a_port_that_is_not_ascii_digits_is_a_config_error(text: str) -> None:
    with pytest.raises(errors.ConfigError, match=r"peer: must be 'host:port'"):
        Address.parse(text, "[nodes.n1] peer")


@pytest.mark.parametrize(("text", "address"), [
    ("127.0.0.1:7001", Address("127.0.0.1", 7001)), ("7001", Address("127.0.0.1", 7001)),
    (7001, Address("127.0.0.1", 7001)), ("localhost:00080", Address("localhost", 80))])
def test_good_addresses_still_parse(text: object, address: Address) -> None:
    assert Address.parse(text, "[nodes.n1] peer") == address


def test_an_ipv6_literal_is_an_address_and_prints_in_brackets() -> None:
    """``[::1]:7001`` (as in a URL): before session 13's probe B the brackets stayed in
    the host and ``vdynamo serve`` failed with "Name or service not known"."""
    address = Address.parse("[::1]:7001", "[nodes.n1] peer")
    assert address == Address("::1", 7001)
    assert str(address) == "[::1]:7001"
    assert str(Address("127.0.0.1", 7001)) == "127.0.0.1:7001"


def test_a_cluster_on_ipv6_loopback_serves_puts_and_gets(tmp_path: Path) -> None:
    if not socket.has_ipv6:
        pytest.skip("no IPv6")
    names = ("n1", "n2", "n3")
    nodes = {name: NodeAddresses(Address.parse("[::1]:0", "peer"),
                                 Address.parse("[::1]:0", "http"), tmp_path / f"{name}.sqlite")
             for name in names}
    config = RuntimeConfig(ClusterConfig(nodes=names, secret=SECRET), nodes)

    async def scenario() -> None:
        servers = await serve(config, names)
        try:
            await settled(servers)  # past the start's shadow rounds (session 58)
            status, _, _ = await call("PUT", url(servers[0], "/kv/k?w=3"), b"v")
            assert status == 200
            status, _, body = await call("GET", url(servers[2], "/kv/k?r=3"))
            assert (status, body["values"]) == (200, ["dg=="])
            assert str(servers[0].http_addresses["n2"]).startswith("[::1]:")
        finally:
            for server in servers:
                await server.stop()
    run(scenario())
