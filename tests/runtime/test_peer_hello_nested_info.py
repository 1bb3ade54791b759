"""A hello whose info is deeply nested JSON is refused like any bad hello
(session 17's service probe; case 20's kind: a peer without the secret).

Scenario: a client that knows no secret connects to a node's peer port and sends
a well-formed hello head naming ``n2`` whose info (read before any proof) is
``[`` x 60,000, within the hello's 65,535 bytes. ``json.loads`` raises
RecursionError for it, which ``HelloInfo.decode`` did not catch: it escaped the
peer handler, so the hello was not counted in ``refused_peers`` and each one
logged a 1.5 KB ERROR traceback on ``asyncio`` ("Unhandled exception in
client_connected_cb"), outside the refusal log's rate limit (20 such hellos at a
``vdynamo serve`` process: 31 KB of log). Now it is a PeerAuthError: refused,
counted, at most 10 lines per 10 s. The dialer's side decodes the acceptor's info
with the same function (a fake node on a peer's address)."""

from __future__ import annotations

import logging
import os
import struct
from pathlib import Path

import pytest

from impl.peer_auth import PROTOCOL_VERSION, Acceptor, Dialer, HelloInfo, PeerAuthError
from tests.runtime.live import refused_hellos, run

NESTED = b"[" * 60_000


def test_nested_info_is_a_peer_auth_error_on_both_sides() -> None:
    with pytest.raises(PeerAuthError, match="not a JSON object"):
        HelloInfo.decode(NESTED)
    with pytest.raises(PeerAuthError, match="not a JSON object"):
        HelloInfo.decode(b'{"cluster": "vdynamo", "limits": ' + b"{\"a\":" * 30_000 + b"}")
    with pytest.raises(PeerAuthError):
        Acceptor(os.urandom(32), "n1").on_hello(b"n2", NESTED, os.urandom(32))
    dialer = Dialer(os.urandom(32), "n2", "n1")
    with pytest.raises(PeerAuthError):
        dialer.on_challenge(b"n1", NESTED, os.urandom(32), os.urandom(32))


def test_hellos_with_nested_info_are_refused_counted_and_logged_little(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    hello = (b"VDYNHELO" + bytes([PROTOCOL_VERSION]) + struct.pack(">HH", 2, len(NESTED))
             + b"n2" + NESTED + os.urandom(32))

    with caplog.at_level(logging.WARNING):
        refused = run(refused_hellos(tmp_path, hello))
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == []  # before: 40 ERROR tracebacks (RecursionError) on asyncio
    assert refused == 40  # before: 0
    lines = [r.getMessage() for r in caplog.records if "refused peer" in r.getMessage()]
    assert 1 <= len(lines) <= 10, len(lines)
    assert any("not a JSON object" in line for line in lines)
