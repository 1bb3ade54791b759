"""Refused peers cannot fill the disk with log lines (session 13's probe B).

Scenario (security: a peer without the secret; resource exhaustion): a client that
knows no secret opens connection after connection to a node's peer port, each
sending a hello that names a node of 65,000 bytes. Before, every refusal logged a
WARNING with the whole name: 1,143 hellos wrote 74.5 MB of log in 10 s. Now at most
10 refusals are logged per 10 s (the rest summed up in one line), each reason cut
to 300 characters; ``refused_peers`` still counts every one."""

from __future__ import annotations

import logging
import os
import struct
from pathlib import Path

import pytest

from impl.config import DEFAULT_CLUSTER_NAME
from impl.peer_auth import PROTOCOL_VERSION, HelloInfo
from tests.runtime.live import refused_hellos, run


def test_a_flood_of_refused_hellos_logs_little_and_counts_all(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    name = b"x" * 65_000
    info = HelloInfo(DEFAULT_CLUSTER_NAME).encoded()
    hello = (b"VDYNHELO" + bytes([PROTOCOL_VERSION]) + struct.pack(">HH", len(name), len(info))
             + name + info + os.urandom(32))

    with caplog.at_level(logging.WARNING, logger="vdynamo.runtime"):
        refused = run(refused_hellos(tmp_path, hello))
    assert refused == 40
    lines = [r.getMessage() for r in caplog.records if "refused peer" in r.getMessage()]
    assert 1 <= len(lines) <= 10, len(lines)  # before: 40 lines
    assert max(len(line) for line in lines) < 1000  # before: over 65,000 characters
