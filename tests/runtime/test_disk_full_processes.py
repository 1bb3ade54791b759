"""A node whose disk is full, on real processes: its puts are acknowledged by the
other replicas, it says it is not ready, and it is ready again once space returns
(session 50's service probe; docs/runtime.md "A node whose disk is full (session
50)").

Scenario: three ``vdynamo serve --node`` processes on loopback, n1's under a
file-size limit (``RLIMIT_FSIZE`` 600,000 bytes, SIGXFSZ ignored: a write past it
fails with EFBIG, which SQLite reports as a disk I/O error, the portable stand-in
for a full disk without root). 100 KB puts through n1 at W = 2 of N = 3 until its
``/health`` says its writes fail. Before the fix each put past the limit was 500
StorageError ("outcome unknown"), although n2 and n3 stored it, and ``/health``
stayed ready. Now: every put 200 and readable at R = 2 through n2 and through n1;
a put at W = 3 through n1 fails at once, 503 naming n1's failed write; once the
limit is raised (``prlimit``, as space returning) a put through n1 is 200 and n1
is ready again. Every process is stopped by PID."""

from __future__ import annotations

import contextlib
import json
import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from tests.runtime.procs import assert_no_internal_errors, free_ports, http_call

LIMIT = 600_000  # bytes: n1's files may grow to this (its start writes about 100 KB)
VALUE = b"x" * 100_000


def _limited() -> None:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG instead of a kill
    resource.setrlimit(resource.RLIMIT_FSIZE, (LIMIT, resource.RLIM_INFINITY))


def _json(method: str, url: str, body: bytes | None = None) -> tuple[int, dict[str, Any]]:
    status, _, payload = http_call(method, url, body)
    return status, json.loads(payload) if payload else {}


def _wait(predicate: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, what
        time.sleep(0.1)


def test_a_node_whose_disk_is_full_counts_its_copy_failed_and_says_so(
        tmp_path: Path) -> None:
    names = ["n1", "n2", "n3"]
    # free_ports, not six kernel picks (port 0): those came one at a time (two could
    # be the same port) and from the kernel's ephemeral range, where any outgoing
    # connection on the machine may take one as its source port between the pick
    # and the node's bind (session 58; the kind of session 24's and 57's failures)
    ports = free_ports(2 * len(names))
    http = dict(zip(names, ports[::2], strict=True))
    peer = dict(zip(names, ports[1::2], strict=True))
    lines = ["[cluster]", f"nodes = {json.dumps(names)}", "n = 3", "r = 2", "w = 2",
             'secret = "a test secret of 24 bytes"', ""]
    for name in names:
        (tmp_path / name).mkdir()
        lines += [f"[nodes.{name}]", f'peer = "127.0.0.1:{peer[name]}"',
                  f'http = "127.0.0.1:{http[name]}"',
                  f'data = "{tmp_path / name / "data.sqlite"}"', ""]
    config = tmp_path / "cluster.toml"
    config.write_text("\n".join(lines))
    logs = {name: tmp_path / f"{name}.log" for name in names}
    processes: dict[str, subprocess.Popen[bytes]] = {}
    root = Path(__file__).resolve().parents[2]
    try:
        for name in names:
            with logs[name].open("wb") as log:
                processes[name] = subprocess.Popen(
                    [sys.executable, "-m", "vdynamo.cli", "serve", str(config), "--node",
                     name], cwd=root, stdout=log, stderr=log,
                    preexec_fn=_limited if name == "n1" else None)

        def url(name: str, path: str) -> str:
            return f"http://127.0.0.1:{http[name]}{path}"

        def ready(name: str) -> bool:
            try:
                return _json("GET", url(name, "/health"))[1].get("ready") is True
            except OSError:
                return False

        for name in names:
            _wait(lambda name=name: ready(name), 60, f"{name} ready")
        statuses: list[int] = []
        health: dict[str, Any] = {}
        for i in range(30):  # about 6 fill the limit; bounded either way
            status, body = _json("PUT", url("n1", f"/kv/k{i}"), VALUE)
            statuses.append(status)
            assert status == 200, (i, status, body)
            health = _json("GET", url("n1", "/health"))[1]
            if not health["ready"]:
                break
        assert health["ready"] is False, "n1 never reached its file-size limit"
        assert "writes fail" in health["why_not_ready"], health
        assert "disk I/O error" in health["why_not_ready"], health
        stats = _json("GET", url("n1", "/status"))[1]["stats"]
        assert stats["storage-error"] >= 1, stats
        for i in range(len(statuses)):  # each acknowledged put readable, n1 serving reads
            for name in ("n2", "n1"):
                status, _, got = http_call("GET", url(name, f"/kv/k{i}?r=2"))
                assert status == 200, (name, i, status, got)
        started = time.monotonic()
        status, body = _json("PUT", url("n1", "/kv/w3?w=3"), VALUE)
        assert status == 503, (status, body)
        assert "n1 (this node's own write): SQLite commit failed" in body["message"], body
        assert "disk I/O error" in body["message"], body
        assert time.monotonic() - started < 5  # at once, not at a timeout
        # space returns: the soft limit raised to the hard one (unlimited)
        resource.prlimit(processes["n1"].pid, resource.RLIMIT_FSIZE,
                         (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
        status, body = _json("PUT", url("n1", "/kv/after"), VALUE)
        assert status == 200, (status, body)
        _wait(lambda: ready("n1"), 30, "n1 ready again")
        status, body = _json("PUT", url("n1", "/kv/after-w3?w=3"), b"v")
        assert status == 200, (status, body)
        warnings = logs["n1"].read_text(errors="replace")
        assert warnings.count("its writes fail") == 1, warnings[-3000:]
        assert warnings.count("its writes succeed again") == 1, warnings[-3000:]
    finally:
        for process in processes.values():
            if process.poll() is None:
                os.kill(process.pid, signal.SIGTERM)
        for process in processes.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(15)
            if process.poll() is None:
                os.kill(process.pid, signal.SIGKILL)
                process.wait(10)
    assert_no_internal_errors(logs.values())
