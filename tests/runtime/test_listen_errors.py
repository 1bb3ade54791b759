"""``vdynamo serve`` that cannot listen on an address says which: the node, the
cluster file's key and the address (exit 1). Before session 14's probe B a host
that does not resolve printed only ``vdynamo serve: Name or service not known``
(neither the key nor the host), and a port in use named the address but not the
key it came from."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest

from tests.runtime.procs import vdynamo

_SECRET = 'secret = "0123456789abcdef0123456789abcdef"'


def _write(tmp_path: Path, peer: str, http: str) -> Path:
    path = tmp_path / "cluster.toml"
    path.write_text("\n".join(["[cluster]", 'nodes = ["n1"]', "n = 1", "r = 1", "w = 1",
                               _SECRET, "", "[nodes.n1]", f'peer = "{peer}"',
                               f'http = "{http}"', ""]))
    path.chmod(0o600)
    return path


def test_a_port_in_use_names_the_key_and_the_address(tmp_path: Path) -> None:
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        done = vdynamo("serve", str(_write(tmp_path, "127.0.0.1:0", f"127.0.0.1:{port}")),
                       "--all", timeout=30)
    assert done.returncode == 1, done.stderr
    assert f"cannot listen on [nodes.n1] http = '127.0.0.1:{port}'" in done.stderr
    assert "address already in use" in done.stderr.lower()


def test_a_host_that_does_not_resolve_names_the_key_and_the_host(tmp_path: Path) -> None:
    started = time.monotonic()
    done = vdynamo("serve", str(_write(tmp_path, "no-such-host.invalid:7001", "127.0.0.1:0")),
                   "--all", timeout=60)
    if time.monotonic() - started > 30:
        pytest.skip("the resolver is slow here")
    assert done.returncode == 1, done.stderr
    assert ("cannot listen on [nodes.n1] peer = 'no-such-host.invalid:7001'"
            in done.stderr), done.stderr
