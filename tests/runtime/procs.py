"""Helpers for tests over real processes: the ``vdynamo`` command line run as a
subprocess (bounded in time), and a local cluster started by ``vdynamo cluster up``
that is always stopped (``cluster down``, then SIGKILL of any PID it recorded).

A server process logs an internal error (a bug of ours while it handled a valid
peer message: :mod:`impl.internal_errors`) on ``vdynamo.internal``; the in-process
fixture of tests/conftest.py cannot see it, so :func:`cluster_up` reads the nodes'
logs when it stops them and fails the test that logged one
(:func:`assert_no_internal_errors`)."""

from __future__ import annotations

import contextlib
import io
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Collection, Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest

from vdynamo.cli import main
from vdynamo.cluster_cli import _free_ports

ROOT = Path(__file__).resolve().parents[2]


def vdynamo(*args: str, timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
    """``vdynamo ARGS`` in a subprocess (``python -m vdynamo``), output captured."""
    return subprocess.run([sys.executable, "-m", "vdynamo", *args], capture_output=True,
                          text=True, timeout=timeout, cwd=ROOT, check=False)


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    """``vdynamo ARGS`` run in this process (the nodes it starts are still processes
    of their own), output captured: faster than :func:`vdynamo` by the interpreter's
    start and imports."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(list(args))
        except SystemExit as exit:  # argparse
            code = exit.code if isinstance(exit.code, int) else 2
    return subprocess.CompletedProcess(["vdynamo", *args], code, out.getvalue(),
                                       err.getvalue())


def state(directory: Path) -> dict[str, Any]:
    result: dict[str, Any] = json.loads((directory / "cluster.json").read_text())
    return result


def http(directory: Path, node: str) -> str:
    return f"http://127.0.0.1:{state(directory)['nodes'][node]['http']}"


def request(method: str, url: str, body: bytes | None = None,
            headers: dict[str, str] | None = None,
            timeout: float = 10.0) -> tuple[int, dict[str, str], bytes]:
    """(status, lower-case headers, body) of one request."""
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as answer:
            return (answer.status, {k.lower(): v for k, v in answer.headers.items()},
                    answer.read())
    except urllib.error.HTTPError as error:
        return error.code, {k.lower(): v for k, v in error.headers.items()}, error.read()


def wait_until(predicate: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"not within {timeout} s: {what}"
        time.sleep(0.1)


def members(directory: Path, at: str) -> dict[str, str]:
    """Node ``at``'s view of the membership (``GET /status``): node -> status."""
    code, _, body = request("GET", http(directory, at) + "/status")
    assert code == 200
    return {node: entry["status"] for node, entry in json.loads(body)["membership"].items()}


def remove_once_down(directory: Path, name: str, limit: float = 30.0,
                     ) -> subprocess.CompletedProcess[str]:
    """``vdynamo remove NAME --dir DIRECTORY`` (in this process, :func:`cli`) of a
    node just killed, asked again every 0.1 s while it is refused because ``name``
    is still up: its process not yet gone (the CLI: "is running in"), or the member
    heard from it within the window and does not suspect it
    (:meth:`impl.node.Node.force_remove`: "is up"); at most ``limit`` seconds. The
    last run, whatever its outcome (any other refusal at once). It replaces a fixed
    sleep of the window and a second (5 s in the tests) after the kill (session 25)."""
    deadline = time.monotonic() + limit
    while True:
        result = cli("remove", name, "--dir", str(directory))
        if (result.returncode == 0 or time.monotonic() > deadline
                or not (f"{name!r} is up" in result.stderr
                        or f"{name} is running in" in result.stderr)):
            return result
        time.sleep(0.1)


def alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    status = Path(f"/proc/{pid}/stat").read_text().split()[2] if Path(
        f"/proc/{pid}/stat").exists() else "X"
    return status not in ("Z", "X")


INTERNAL_LINES = ('"logger": "vdynamo.internal"', " vdynamo.internal: ")
"""How a line of a server's log (JSON, or ``--log-format text``) says it was logged
on ``vdynamo.internal``."""


def internal_errors(logs: Iterable[Path]) -> list[str]:
    """The lines of the server logs ``logs`` that report an internal error, each
    prefixed by its log's path (a log that does not exist has none)."""
    found = []
    for log in logs:
        if log.exists():
            found += [f"{log}: {line[:400]}" for line in log.read_text(
                errors="replace").splitlines() if any(mark in line for mark in INTERNAL_LINES)]
    return found


def assert_no_internal_errors(logs: Iterable[Path]) -> None:
    """Fail the test if a server log of ``logs`` reports an internal error."""
    found = internal_errors(logs)
    if found:
        pytest.fail(f"a server logged {len(found)} internal error(s) while handling "
                    "peer messages: " + "\n".join(found[:5]), pytrace=False)


@contextlib.contextmanager
def cluster_up(directory: Path, *args: str) -> Iterator[Path]:
    """``vdynamo cluster up --dir DIRECTORY ARGS``; stopped whatever happens, and the
    nodes reaped (they are this process's children: :func:`cli` runs ``up`` here).
    Before session 44 they were reaped by ``subprocess``'s clean-up at the next
    ``Popen`` of the worker, and their CPU counted there: the 8.3 CPU-s of
    tests/runtime/test_config_data_key.py's 0.4 s refusal in session 43's profile
    were test_client_threads_live's three nodes. When the body ended without an
    exception, the test fails if a node's log (``DIRECTORY/<node>/node.log``)
    reports an internal error."""
    pids: set[int] = set()
    try:
        result = cli("cluster", "up", "--dir", str(directory), *args)
        assert result.returncode == 0, result.stderr
        yield directory
    finally:
        if (directory / "cluster.json").exists():
            pids = {entry["pid"] for entry in state(directory)["nodes"].values()
                    if entry.get("pid")}
        cli("cluster", "down", "--dir", str(directory))
        for pid in pids:
            if alive(pid):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        for pid in pids:  # reaped here: their CPU is counted in this test
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)
    assert_no_internal_errors(sorted(directory.glob("*/node.log")))


def http_call(method: str, url: str, body: bytes | None = None,
              headers: dict[str, str] | None = None, *, timeout: float = 10.0
              ) -> tuple[int, dict[str, str], bytes]:
    """One HTTP request with urllib (``timeout`` s, 10 unless given): (status,
    lower-cased headers, body), an error status answered as such (no exception)."""
    request = urllib.request.Request(url, data=body, method=method, headers={
        "Content-Type": "application/octet-stream", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, {k.lower(): v for k, v in response.headers.items()}, \
                response.read()
    except urllib.error.HTTPError as error:
        return error.code, {k.lower(): v for k, v in error.headers.items()}, error.read()


#: ``[cluster]`` lines for background rounds faster than the defaults (gossip and hint
#: scans every 0.25 s, not 1 s; anti-entropy every 0.5 s, not 2 s): a test that waits
#: for a handover, a rebuild or a settlement waits as many rounds, 4 times sooner
#: (session 19: the servers' tests spent most of their wall waiting for rounds)
FAST_ROUNDS = ["gossip_interval = 0.25", "hint_scan_interval = 0.25",
               "anti_entropy_interval = 0.5"]
#: the same, as ``vdynamo cluster up`` arguments
FAST_UP = tuple(arg for line in FAST_ROUNDS for arg in ("--set", line.replace(" ", "")))


class ServedNodes:
    """Nodes of one cluster file, each a ``vdynamo serve`` process the test starts
    and SIGKILLs one at a time (a crash, a restart, a disk replaced between): the
    file is written in ``directory`` from ``cluster_lines`` (the ``[cluster]``
    section's lines after ``nodes``) with a fresh secret and free loopback ports;
    ``wrapper(name)`` is put before a node's command (e.g. ``unshare --time``).
    Use it in a ``with``: every process still running is killed at the end."""

    def __init__(self, directory: Path, names: tuple[str, ...], cluster_lines: list[str],
                 wrapper: Callable[[str], list[str]] | None = None) -> None:
        self.directory = directory
        ports = free_ports(2 * len(names))  # one at a time, two could be the same port
        self.peer = dict(zip(names, ports[::2], strict=True))
        self.http = dict(zip(names, ports[1::2], strict=True))
        nodes = ", ".join(f'"{name}"' for name in names)
        lines = ["[cluster]", f"nodes = [{nodes}]", *cluster_lines,
                 f'secret = "{secrets.token_hex(24)}"', ""]
        for name in names:
            lines += [f"[nodes.{name}]", f'peer = "127.0.0.1:{self.peer[name]}"',
                      f'http = "127.0.0.1:{self.http[name]}"', ""]
        self.config = directory / "cluster.toml"
        self.config.write_text("\n".join(lines))
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.wrapper: Callable[[str], list[str]] = wrapper or (lambda name: [])

    def start(self, *names: str) -> None:
        """Start each of ``names`` (all at once: their interpreters start side by side,
        as ``vdynamo cluster up`` starts a cluster) and wait (at most 30 s) until the
        HTTP port of each accepts."""
        for name in names:
            log = open(self.directory / f"{name}.log", "ab")  # noqa: SIM115 (the process keeps it)
            self.procs[name] = subprocess.Popen(
                [*self.wrapper(name), sys.executable, "-m", "vdynamo", "serve",
                 str(self.config), "--node", name],
                cwd=self.directory, stdout=log, stderr=log,
                env={**os.environ, "PYTHONPATH": str(ROOT)})
        deadline = time.monotonic() + 30
        for name in names:
            while True:
                try:
                    with socket.create_connection(("127.0.0.1", self.http[name]),
                                                  timeout=0.5):
                        break
                except OSError:
                    assert time.monotonic() < deadline, (
                        self.directory / f"{name}.log").read_text()
                    time.sleep(0.05)

    def wait_ready(self, *names: str, limit: float = 30.0) -> None:
        """Wait until ``GET /health`` of each of ``names`` says ``ready`` (a member, up,
        past its startup shadow round, not rebuilding: :meth:`impl.runtime.NodeServer.health`;
        AssertionError naming those not ready after ``limit`` seconds). An open HTTP
        port is not a ready node: a put sent at once to nodes just started waits for
        their rounds, and under load (CI's 2 cores, two pytest workers) it missed the
        1 s ``request_timeout`` (session 24, docs/runtime.md "Timing under load")."""
        deadline = time.monotonic() + limit
        waiting = list(names)
        while waiting:
            for name in list(waiting):
                # (session 24's review: a node that exited was waited for the whole limit)
                code = self.procs[name].poll() if name in self.procs else None
                assert code is None, (f"{name} exited ({code}) before it was ready: "
                                      + (self.directory / f"{name}.log").read_text()[-2000:])
                url = f"http://127.0.0.1:{self.http[name]}/health"
                with contextlib.suppress(OSError, ValueError), \
                        urllib.request.urlopen(url, timeout=5) as response:
                    if json.loads(response.read()).get("ready"):
                        waiting.remove(name)
            if waiting:
                assert time.monotonic() < deadline, f"not ready within {limit:g} s: {waiting}"
                time.sleep(0.05)

    def kill(self, name: str) -> None:
        """SIGKILL ``name`` (a crash) and reap it."""
        proc = self.procs.pop(name)
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(15)

    def restart_with(self, old: str, new: str) -> None:
        """An operator's change of the cluster file: kill every running node, replace
        ``old`` by ``new`` in the file (AssertionError if absent), start them again."""
        names = list(self.procs)
        for name in names:
            self.kill(name)
        text = self.config.read_text()
        assert old in text, old
        self.config.write_text(text.replace(old, new))
        for name in names:
            self.start(name)

    def url(self, name: str, query: str = "") -> str:
        """The URL of key ``k`` at ``name``, with ``query`` (e.g. ``?r=3``)."""
        return f"http://127.0.0.1:{self.http[name]}/kv/k{query}"

    def status(self, name: str) -> dict[str, Any]:
        """``name``'s ``GET /status``, decoded (a JSON object; urllib's errors raised
        as they come, 5 s timeout)."""
        with urllib.request.urlopen(f"http://127.0.0.1:{self.http[name]}/status",
                                    timeout=5) as response:
            status = json.loads(response.read())
        assert isinstance(status, dict)
        return status

    def wait_rebuilt(self, name: str, limit: float = 60.0) -> None:
        """Wait until ``name``'s ``/status`` says it rebuilds nothing (``rebuild``
        null; AssertionError after ``limit`` seconds): a replaced disk answers no
        replica read of a range it has not rebuilt, so a get at R = N fails
        meanwhile (:mod:`impl.rebuild`; docs/runtime.md, "A replaced disk is rebuilt
        before it counts")."""
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            status = self.status(name)
            # the shadow round first: a fresh store learns it is a replaced disk
            # at its end, and its rebuild was null until then (session 22's review:
            # this returned 0.9 s after a replaced disk's start, its rebuild 128
            # ranges long began after)
            shadow = status.get("shadow_round")
            if status.get("rebuild") is None and (shadow is None or shadow["over"]):
                return
            time.sleep(0.2)
        raise AssertionError(f"{name} still rebuilding after {limit:g} s")

    def __enter__(self) -> ServedNodes:
        return self

    def __exit__(self, *exc: object) -> None:
        for name in list(self.procs):
            self.kill(name)


def free_port() -> int:
    """A loopback TCP port free now, below the kernel's ephemeral range
    (:func:`free_ports`)."""
    return free_ports(1)[0]


def free_ports(count: int, taken: Collection[int] = ()) -> list[int]:
    """``count`` distinct loopback TCP ports free now and not in ``taken`` (all held
    bound until the last is found, so none is handed out twice: ports picked one at a
    time made two nodes of one file share a port, session 19's data probe), below
    the kernel's ephemeral range, as ``vdynamo cluster up`` picks them (a node
    restarted on a port of that range found it taken as another connection's source
    port: session 24's clean clone)."""
    return _free_ports(count, taken)
