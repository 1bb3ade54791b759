"""``vdynamo serve --insecure-dev`` with a public secret (none given, or the
documentation's example) refuses to bind a node's ports to anything but
loopback: anyone who can reach the peer port would know the secret (it is in
the source), so could change stored data, and make admin tokens for the HTTP
port's ``/admin/force-remove`` (Redis' protected mode refuses outside clients
when no password is set; Elasticsearch enforces its bootstrap checks once bound
beyond loopback).

Before session 21's service probe the flag only logged "do not expose these
ports" and went on to bind whatever the file said. The tests bind nothing
outside loopback: the exposed address is 192.0.2.1 (TEST-NET-1, RFC 5737, on no
interface here), so the tree before the fix tried to bind it and failed with
exit 1 "cannot listen" (it would have served on a host holding that address);
now exit 2 before any bind, naming the key, the address and the way out."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import pytest

from impl.runtime_config import Address, NodeAddresses
from impl.serve import exposed_insecure
from tests.runtime.procs import ROOT, vdynamo


def _write(tmp_path: Path, peer: str, http: str, secret: str | None) -> Path:
    path = tmp_path / "cluster.toml"
    lines = ["[cluster]", 'nodes = ["n1"]', "n = 1", "r = 1", "w = 1"]
    if secret is not None:
        lines.append(f'secret = "{secret}"')
    path.write_text("\n".join([*lines, "", "[nodes.n1]", f'peer = "{peer}"',
                               f'http = "{http}"', ""]))
    path.chmod(0o600)
    return path


@pytest.mark.parametrize(("peer", "http", "key"), [
    ("192.0.2.1:7001", "127.0.0.1:0", "peer"),
    ("127.0.0.1:0", "192.0.2.1:8001", "http"),
])
@pytest.mark.parametrize("secret", [None, "change me, at least 16 bytes", "short"])
def test_a_public_secret_is_not_served_beyond_loopback(
        tmp_path: Path, peer: str, http: str, key: str, secret: str | None) -> None:
    done = vdynamo("serve", str(_write(tmp_path, peer, http, secret)), "--all",
                   "--insecure-dev", timeout=30)
    assert done.returncode == 2, (done.returncode, done.stderr)
    assert f"[nodes.n1] {key} = '192.0.2.1:" in done.stderr, done.stderr
    assert "public or short secret" in done.stderr and "127.0.0.1" in done.stderr, done.stderr


def _nodes(*hosts: str) -> dict[str, NodeAddresses]:
    return {f"n{i}": NodeAddresses(Address(host, 7000 + i), Address("127.0.0.1", 8000 + i))
            for i, host in enumerate(hosts, 1)}


def test_loopback_or_a_secret_of_ones_own_is_allowed() -> None:
    assert exposed_insecure(True, _nodes("127.0.0.1", "::1", "localhost", "127.0.0.2")) is None
    assert exposed_insecure(False, _nodes("0.0.0.0")) is None
    said = exposed_insecure(True, _nodes("127.0.0.1", "10.0.0.5"))
    assert said is not None and "[nodes.n2] peer = '10.0.0.5:7002'" in said, said
    assert exposed_insecure(True, _nodes("nodes.example")) is not None  # a name: any interface


def test_a_secret_of_ones_own_is_served_with_the_flag_on_loopback(tmp_path: Path) -> None:
    """The check itself refuses nothing on loopback: a short secret with the flag
    starts (exit 0 once stopped by its timeout is not asked: only that no refusal
    line comes before the nodes listen)."""
    path = _write(tmp_path, "127.0.0.1:0", "127.0.0.1:0", "short")
    # read until its first node says it listens, then stopped (session 25: before,
    # a fixed 4 s run, 2-3 s of it idle once the node listened)
    process = subprocess.Popen([sys.executable, "-m", "vdynamo", "serve", str(path), "--all",
                                "--insecure-dev"], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, cwd=ROOT)
    bound = threading.Timer(30.0, process.kill)  # a node that never says it listens
    bound.start()
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
    finally:
        bound.cancel()
        process.kill()
        _, err = process.communicate(timeout=30)
    assert first.startswith("n1: peers on 127.0.0.1:"), (first, err)
