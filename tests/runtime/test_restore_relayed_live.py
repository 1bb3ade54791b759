"""The restore guard's generations relayed, on real ``vdynamo serve`` processes
(session 50; docs/dvv.md, "The restore guard's generations relayed (session 50)").

Three nodes, N = 3, R = W = 2, SQLite files, loopback: k = v1 (W = 3); n3 stopped
(SIGTERM), its files copied (the backup), started again; k deleted with a read's
context (W = 3) and its tombstone reaped (every node holds no key); n3 stopped; n1's
disk replaced (killed, its files deleted, started), then n2's: neither new store
ever heard n3, only the other's relay of its last start; the backup put back on n3,
started. Right value: n3 sets the backup aside at its shadow round and a get of k
with R = 3 through n1 and n2 answers 404. With session 49's code (no relay) v1 came
back on every node (run with the same steps from that tree: ``(200, [b'v1'])``,
``restore-set-aside`` 0). About 35 s wall: soak profile only. Every process is killed
at the end (``ServedNodes``)."""

from __future__ import annotations

import base64
import json
import shutil
import time
from pathlib import Path

import pytest

from tests.conftest import PROFILE
from tests.runtime.procs import FAST_ROUNDS, ServedNodes, http_call

NAMES = ("n1", "n2", "n3")


def _stat(nodes: ServedNodes, at: str, name: str) -> int:
    stats = nodes.status(at)["stats"]
    assert isinstance(stats, dict)
    return int(stats.get(name, 0))


def _get(nodes: ServedNodes, at: str) -> tuple[int, list[bytes], str]:
    status, _, body = http_call("GET", nodes.url(at, "?r=3"),
                                headers={"Accept": "application/json"})
    if status not in (200, 300, 404):
        return status, [], ""
    answer = json.loads(body)
    return status, [base64.b64decode(v) for v in answer["values"]], answer["context"]


def _stop(nodes: ServedNodes, name: str) -> None:
    """SIGTERM ``name`` (a graceful stop) and reap it."""
    process = nodes.procs.pop(name)
    process.terminate()
    process.wait(20)


def _files(directory: Path, name: str) -> list[Path]:
    return [path for path in directory.glob(f"{name}.sqlite*") if path.suffix != ".lock"]


@pytest.mark.soak
@pytest.mark.skipif(PROFILE != "soak", reason="soak profile only (HYPOTHESIS_PROFILE=soak)")
def test_a_backup_put_back_after_both_peers_were_replaced_is_set_aside(
        tmp_path: Path) -> None:
    with ServedNodes(tmp_path, NAMES, [*FAST_ROUNDS, "suspicion_timeout = 1.0",
                                       "request_timeout = 0.5",
                                       "tombstone_grace_s = 0.5"]) as nodes:
        nodes.start(*NAMES)
        nodes.wait_ready(*NAMES)
        assert http_call("PUT", nodes.url("n1", "?w=3"), b"v1")[0] == 200
        _stop(nodes, "n3")
        backup = tmp_path / "backup"
        backup.mkdir()
        for path in _files(tmp_path, "n3"):
            shutil.copy2(path, backup / path.name)
        nodes.start("n3")
        nodes.wait_ready("n3")
        status, values, context = _get(nodes, "n1")
        assert (status, values) == (200, [b"v1"])
        assert http_call("DELETE", nodes.url("n1", "?w=3"),
                         headers={"X-Vdynamo-Context": context})[0] == 200
        deadline = time.monotonic() + 20
        while any(nodes.status(name)["keys"] for name in NAMES):  # reaped everywhere
            assert time.monotonic() < deadline, "the tombstone was not reaped in 20 s"
            time.sleep(0.2)
        _stop(nodes, "n3")
        for peer in ("n1", "n2"):
            nodes.kill(peer)
            for path in _files(tmp_path, peer):
                path.unlink()
            nodes.start(peer)  # (not ready: its rebuild waits for n3, down)
            deadline = time.monotonic() + 20
            while not _stat(nodes, peer, "generation-relayed"):  # n3's, from the other
                assert time.monotonic() < deadline, f"{peer} heard no relayed generation"
                time.sleep(0.2)
        for path in _files(tmp_path, "n3"):
            path.unlink()
        for path in backup.iterdir():
            shutil.copy2(path, tmp_path / path.name)
        nodes.start("n3")
        deadline = time.monotonic() + 20
        while not _stat(nodes, "n3", "restore-set-aside"):
            assert time.monotonic() < deadline, "n3's backup was not set aside in 20 s"
            time.sleep(0.2)
        time.sleep(2)  # anti-entropy rounds (0.5 s): a v1 served would spread
        assert [_get(nodes, name)[:2] for name in ("n1", "n2")] == [(404, [])] * 2
