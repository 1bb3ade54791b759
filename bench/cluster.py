"""A real 3-node vdynamo cluster against a 3-member etcd cluster, driven by wrk.

Run: ``.venv/bin/python bench/cluster.py`` (about 3 minutes; ``make bench-cluster``)

    --threads 2 --connections 32 --duration 10   wrk's -t -c -d (seconds)
    --runs 3                                     rounds; each side runs once per round
    --layout per-node|all|both                   vdynamo: one process per node
                                                 (default), all nodes in one process
                                                 (``serve --all``), or both
    --get-keys 2000 --put-keys 1000000 --value-bytes 100
    --no-buffered --no-ceiling                   leave those rows out
    --profile                                    instead of the comparison: where
                                                 vdynamo's time goes during puts
    --tmpdir DIR                                 where the data directories go
                                                 (default: the system's temp dir)

What it does. It checks for wrk, etcd and etcdctl (Debian: ``wrk``,
``etcd-server``, ``etcd-client``) and installs them with apt-get when run as
root, or prints the apt-get line and exits 2. It starts, on free loopback
ports, with every data directory in one temporary directory on one disk:

- vdynamo: 3 nodes, N=3 R=2 W=2, SQLite in its durable mode (``fsync =
  "always"``: every replica write is its own transaction, its WAL fdatasynced
  before the write returns, so an acknowledged put is on disk at W nodes);
- etcd 3.4: 3 members (raft: a put is acknowledged once a majority fsynced it
  in its WAL; etcd batches the entries of one raft Ready into one fsync);
- vdynamo with SQLite buffered (`[storage] fsync = "buffered"`: a commit every
  0.1 s or 1000 changes, no fsync): not like for like, labelled so;
- a trivial asyncio HTTP server answering a static response (bench/ceiling.py):
  the ceiling of HTTP from Python on this machine.

It preloads ``--get-keys`` keys on both sides (each put checked), then runs wrk
with the same Lua workload (bench/wrk/common.lua; bench/wrk/vdynamo.lua and
bench/wrk/etcd.lua give only the request shape: ``PUT /kv/KEY`` and ``GET
/kv/KEY``; etcd's v3 JSON gateway ``POST /v3/kv/put`` and ``/v3/kv/range``,
base64 keys) against one node of each: puts of random keys from a key space of
``--put-keys`` keys, then gets of random preloaded keys. The sides alternate
(vdynamo, etcd, vdynamo buffered; again) for ``--runs`` rounds, and it prints
one table: requests/s, p50/p99/p99.9 latency, errors (status outside 2xx/3xx
plus socket errors), and the servers' CPU time per request; the medians; the
ratios vdynamo/etcd. The put key space is large because a put without a
context (what wrk sends) is, to vdynamo, concurrent with what the key holds:
re-putting a few keys would pile up siblings. Exit status 1 if a side had more
than 1% errors (a benchmark of errors is worthless).

Cleanup: every process it starts runs in its own process group and is stopped
(SIGTERM, then SIGKILL) when the benchmark ends, however it ends (an error,
Ctrl-C, SIGTERM); the temporary directory is removed (``--keep`` keeps it).
Every wait is bounded.

``--profile`` starts the durable cluster alone and runs puts three times:
plain (CPU per put from /proc), under ``strace -c -f`` (syscalls per put:
fsyncs, sends, receives) and under py-spy (``pip install py-spy``; where the
node's event-loop thread spends its time, by category), then the buffered
cluster plain (CPU per put without fsyncs). docs/benchmarks.md has the
findings.

Never a test: it prints figures and fails only on errors, not on time.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import functools
import http.client
import json
import os
import platform
import re
import resource
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import IO

ROOT = Path(__file__).resolve().parent.parent
WRK_DIR = ROOT / "bench" / "wrk"

#: command -> the Debian package that provides it
TOOLS = {"wrk": "wrk", "etcd": "etcd-server", "etcdctl": "etcd-client"}
APT_LINE = "apt-get update && apt-get install -y --no-install-recommends " + " ".join(
    sorted(set(TOOLS.values())))

#: A side with more than this fraction of failed requests invalidates the run.
MAX_ERROR_FRACTION = 0.01
STARTUP_S = 60.0


# ---------------------------------------------------------------------- tools

def missing_tools() -> list[str]:
    return [command for command in TOOLS if shutil.which(command) is None]


def ensure_tools() -> None:
    """Install wrk and etcd from Debian if missing (as root with apt-get), else exit 2."""
    missing = missing_tools()
    if not missing:
        return
    packages = sorted({TOOLS[c] for c in missing})
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        print(f"bench/cluster.py: missing {', '.join(missing)}; install them with:\n"
              f"  sudo sh -c '{APT_LINE}'", file=sys.stderr)
        raise SystemExit(2)
    print(f"installing {' '.join(packages)} from Debian (apt-get) ...", flush=True)
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(["apt-get", "update", "-q"], check=True, env=env, timeout=600,
                   stdout=subprocess.DEVNULL)
    subprocess.run(["apt-get", "install", "-y", "-q", "--no-install-recommends", *packages],
                   check=True, env=env, timeout=900, stdout=subprocess.DEVNULL)
    if "etcd-server" in packages and Path("/run/systemd/system").exists():
        # the package enables and starts a system etcd; this benchmark runs its own
        subprocess.run(["systemctl", "disable", "--now", "etcd.service"], check=False)
        print("stopped and disabled the etcd.service the package started", flush=True)
    still = missing_tools()
    if still:
        print(f"bench/cluster.py: still missing {', '.join(still)} after apt-get",
              file=sys.stderr)
        raise SystemExit(2)


# ---------------------------------------------------------------------- processes

class Processes:
    """Every process the benchmark starts, each the leader of its own process group.

    ``stop`` sends SIGTERM to the group, waits ``grace_s`` seconds, then SIGKILLs
    it; leaving the ``with`` block stops every process still listed, in reverse
    order of start, whatever the reason the block is left.
    """

    def __init__(self, grace_s: float = 5.0) -> None:
        self.grace_s = grace_s
        self.running: list[subprocess.Popen[bytes]] = []

    def start(self, args: Sequence[str], log: Path | None = None,
              cwd: Path | None = None) -> subprocess.Popen[bytes]:
        out: IO[bytes] | int = open(log, "ab") if log else subprocess.DEVNULL  # noqa: SIM115
        try:
            proc = subprocess.Popen(list(args), stdout=out, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, cwd=cwd, start_new_session=True)
        finally:
            if not isinstance(out, int):
                out.close()
        self.running.append(proc)
        return proc

    def stop(self, proc: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> None:
        """Stop ``proc``'s process group: ``sig``, then SIGKILL after the grace period."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        try:
            proc.wait(self.grace_s)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(self.grace_s)
        with contextlib.suppress(ProcessLookupError):  # a straggler the leader left
            os.killpg(proc.pid, signal.SIGKILL)
        if proc in self.running:
            self.running.remove(proc)

    def stop_all(self) -> None:
        for proc in reversed(list(self.running)):
            self.stop(proc)

    def __enter__(self) -> Processes:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop_all()


@contextlib.contextmanager
def terminate_as_interrupt() -> Iterator[None]:
    """SIGINT, SIGTERM and SIGHUP raise KeyboardInterrupt, so ``finally`` blocks run
    (SIGINT too: a shell starts a background job with SIGINT ignored)."""
    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt(signal.Signals(signum).name)

    handled = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    previous = {s: signal.signal(s, interrupt) for s in handled}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


def cpu_seconds(pids: Sequence[int]) -> float:
    """User + system CPU seconds used so far by the processes ``pids`` (all threads)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            text = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        fields = text.rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime (stat fields 14, 15)
    return total / tick


_used_ports: set[int] = set()


def free_port() -> int:
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        if port not in _used_ports:
            _used_ports.add(port)
            return port


def wait_for(check: Callable[[], bool], what: str, timeout_s: float = STARTUP_S,
             procs: Sequence[subprocess.Popen[bytes]] = ()) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        for proc in procs:
            if proc.poll() is not None:
                raise RuntimeError(f"{what}: process {proc.args!r} exited with {proc.returncode}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what}: not ready within {timeout_s:.0f} s")
        time.sleep(0.1)


def http_request(port: int, method: str, path: str, body: bytes | None = None,
                 headers: dict[str, str] | None = None,
                 timeout_s: float = 5.0) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout_s)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.read()
    except OSError:
        return 0, b""
    finally:
        conn.close()


# ---------------------------------------------------------------------- the sides

def key_name(prefix: str, index: int) -> str:
    """The key common.lua builds (``string.format("%s%08d", prefix, i)``)."""
    return f"{prefix}{index:08d}"


@dataclass
class Side:
    """A system under test: its processes, the port wrk targets, its request shape."""

    label: str
    fsync: str
    script: Path
    port: int = 0
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self.procs]

    def start(self, procs: Processes) -> None:
        """Start the side's processes through ``procs``; return once it answers."""
        raise NotImplementedError

    def put_request(self, key: str, value: bytes) -> tuple[str, str, bytes, dict[str, str]]:
        """(method, path, body, headers) of a put, as the side's Lua script shapes it."""
        raise NotImplementedError

    def holds(self, key: str, value: bytes) -> bool:
        """Whether a read of ``key`` returns ``value`` (checks a preload)."""
        raise NotImplementedError


class Vdynamo(Side):
    """N=3 R=2 W=2, three nodes on loopback; wrk and the preload talk to n1."""

    def __init__(self, label: str, fsync: str, layout: str, directory: Path,
                 loop: str = "auto") -> None:
        policy = ("SQLite fsync=always, group commit: the writes that arrive during a commit "
                  "share the next transaction and its one WAL fdatasync, acks sent after it; "
                  "W=2 of 3 replicas durable before the client's 200"
                  if fsync == "always" else
                  "SQLite [storage] fsync=buffered: a commit every flush_interval (0.1 s) or "
                  "1000 changes, no fsync (NOT durable)")
        super().__init__(label, policy, WRK_DIR / "vdynamo.lua")
        self.mode = fsync
        self.loop = loop
        self.layout = layout
        self.dir = directory
        self.names = ["n1", "n2", "n3"]
        self.http = {n: free_port() for n in self.names}
        self.peer = {n: free_port() for n in self.names}
        self.port = self.http["n1"]

    def config(self) -> Path:
        lines = ["[cluster]", f"nodes = {json.dumps(self.names)}", "n = 3", "r = 2", "w = 2",
                 f'secret = "{secrets.token_hex(24)}"', ""]
        lines += ["[storage]", f'fsync = "{self.mode}"', ""]
        for name in self.names:
            lines += [f"[nodes.{name}]", f'peer = "127.0.0.1:{self.peer[name]}"',
                      f'http = "127.0.0.1:{self.http[name]}"', ""]
        path = self.dir / "cluster.toml"
        path.write_text("\n".join(lines))
        return path

    def start(self, procs: Processes) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        config = self.config()
        command = [sys.executable, "-m", "vdynamo", "serve", str(config)]
        groups = [["--node", n] for n in self.names] if self.layout == "per-node" else [["--all"]]
        for extra in groups:
            log = self.dir / f"{extra[-1].lstrip('-')}.log"
            self.procs.append(procs.start([*command, *extra, "--loop", self.loop], log=log,
                                          cwd=ROOT))
        for port in self.http.values():
            wait_for(functools.partial(_accepts, port), f"{self.label} HTTP", procs=self.procs)
        for name, port in self.http.items():  # a put through every node: peers connected
            wait_for(functools.partial(_puts, port, f"/kv/warmup-{name}"),
                     f"{self.label} {name} first put", procs=self.procs)

    def put_request(self, key: str, value: bytes) -> tuple[str, str, bytes, dict[str, str]]:
        return "PUT", f"/kv/{key}", value, {"Content-Type": "application/octet-stream"}

    def holds(self, key: str, value: bytes) -> bool:
        status, body = http_request(self.port, "GET", f"/kv/{key}", headers={"Accept": "*/*"})
        if status == 200 and body == value:  # Riak's convention: the raw value
            return True
        try:
            values = json.loads(body).get("values", [])
        except (ValueError, AttributeError):
            return False
        return base64.b64encode(value).decode() in values


class Etcd(Side):
    """etcd 3.4, three members on loopback; wrk and the preload talk to member m1."""

    POLICY = ("etcd WAL fsync per raft batch (default): a put is acknowledged once a "
              "majority (2 of 3) fsynced it; concurrent puts share an fsync")

    def __init__(self, label: str, directory: Path) -> None:
        super().__init__(label, self.POLICY, WRK_DIR / "etcd.lua")
        self.dir = directory
        self.names = ["m1", "m2", "m3"]
        self.client = {n: free_port() for n in self.names}
        self.peer = {n: free_port() for n in self.names}
        self.port = self.client["m1"]

    def start(self, procs: Processes) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        initial = ",".join(f"{n}=http://127.0.0.1:{self.peer[n]}" for n in self.names)
        token = f"bench-{secrets.token_hex(4)}"
        for name in self.names:
            client, peer = f"http://127.0.0.1:{self.client[name]}", \
                f"http://127.0.0.1:{self.peer[name]}"
            self.procs.append(procs.start([
                "etcd", "--name", name, "--data-dir", str(self.dir / name),
                "--listen-client-urls", client, "--advertise-client-urls", client,
                "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
                "--initial-cluster", initial, "--initial-cluster-token", token,
                "--initial-cluster-state", "new", "--logger", "zap", "--log-level", "warn",
            ], log=self.dir / f"{name}.log"))
        for name, port in self.client.items():
            wait_for(functools.partial(_healthy, port), f"{self.label} {name} health",
                     procs=self.procs)

    def leader(self) -> str:
        """The member that leads now, by etcdctl (wrk talks to m1; a follower forwards)."""
        endpoints = ",".join(f"http://127.0.0.1:{port}" for port in self.client.values())
        try:
            out = subprocess.run(["etcdctl", "--endpoints", endpoints, "endpoint", "status",
                                  "-w", "json"], capture_output=True, text=True, timeout=10,
                                 env=dict(os.environ, ETCDCTL_API="3"), check=True)
            for name, entry in zip(self.names, json.loads(out.stdout), strict=True):
                status = entry["Status"]
                if status["header"]["member_id"] == status["leader"]:
                    return name
        except (OSError, ValueError, KeyError, TypeError, subprocess.SubprocessError):
            pass
        return "?"

    def put_request(self, key: str, value: bytes) -> tuple[str, str, bytes, dict[str, str]]:
        body = json.dumps({"key": _b64(key.encode()), "value": _b64(value)}).encode()
        return "POST", "/v3/kv/put", body, {"Content-Type": "application/json"}

    def holds(self, key: str, value: bytes) -> bool:
        status, body = http_request(self.port, "POST", "/v3/kv/range",
                                    json.dumps({"key": _b64(key.encode())}).encode())
        if status != 200:
            return False
        kvs = json.loads(body).get("kvs", [])
        return bool(kvs) and kvs[0].get("value") == _b64(value)


class Ceiling(Side):
    """bench/ceiling.py: 200 "ok" to anything, driven with vdynamo's get shape."""

    def __init__(self, label: str) -> None:
        super().__init__(label, "no storage", WRK_DIR / "vdynamo.lua")
        self.port = free_port()

    def start(self, procs: Processes) -> None:
        self.procs.append(procs.start(
            [sys.executable, str(ROOT / "bench" / "ceiling.py"), str(self.port)]))
        wait_for(lambda: _accepts(self.port), self.label, procs=self.procs)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _puts(port: int, path: str) -> bool:
    return 200 <= http_request(port, "PUT", path, b"w")[0] < 300


def _healthy(port: int) -> bool:
    return http_request(port, "GET", "/health")[1].startswith(b'{"health":"true"')


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def preload(side: Side, prefix: str, keys: int, value: bytes, workers: int = 16) -> None:
    """Put every key of the get key space through ``side``, checking each answer."""
    failures: list[str] = []
    local = threading.local()

    def put_slice(start: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", side.port, timeout=30)
        local.conn = conn
        try:
            for i in range(start, keys, workers):
                method, path, body, headers = side.put_request(key_name(prefix, i), value)
                conn.request(method, path, body=body, headers=headers)
                response = conn.getresponse()
                response.read()
                if not 200 <= response.status < 300:
                    failures.append(f"{key_name(prefix, i)}: HTTP {response.status}")
                    return
        except OSError as error:
            failures.append(f"{error!r}")
        finally:
            conn.close()

    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(put_slice, range(workers)))
    if failures:
        raise RuntimeError(f"{side.label}: preload failed: {failures[:3]}")
    for i in (0, keys // 2, keys - 1):
        if not side.holds(key_name(prefix, i), value):
            raise RuntimeError(f"{side.label}: preloaded key {key_name(prefix, i)} not found")


# ---------------------------------------------------------------------- wrk

@dataclass(frozen=True)
class WrkResult:
    """One wrk run, from the ``BENCH {...}`` line of common.lua's done()."""

    requests: int
    duration_s: float
    errors: dict[str, int]
    latency_us: dict[str, float]
    cpu_s: float = 0.0          # the side's server processes, during the run
    wrk_cpu_s: float = 0.0      # wrk itself
    others_cpu_s: float = 0.0   # every other process the benchmark started

    @property
    def rate(self) -> float:
        return self.requests / self.duration_s if self.duration_s else 0.0

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())

    @property
    def cpu_us_per_request(self) -> float:
        return self.cpu_s * 1e6 / self.requests if self.requests else 0.0


class WrkOutputError(ValueError):
    """wrk's output has no BENCH line, or one that does not parse."""


_NON_2XX = re.compile(r"Non-2xx or 3xx responses:\s*(\d+)")


def parse_wrk(output: str) -> WrkResult:
    """Parse wrk's stdout; raise WrkOutputError if the BENCH line is absent or bad.

    Cross-checks the BENCH line's status error count with wrk's own
    ``Non-2xx or 3xx responses`` line when that is present.
    """
    lines = [line for line in output.splitlines() if line.startswith("BENCH ")]
    if len(lines) != 1:
        raise WrkOutputError(f"expected one BENCH line in wrk's output, found {len(lines)}:\n"
                             f"{output[-2000:]}")
    try:
        data = json.loads(lines[0][len("BENCH "):])
        errors = {str(k): int(v) for k, v in data["errors"].items()}
        latency = {str(k): float(v) for k, v in data["latency_us"].items()}
        result = WrkResult(int(data["requests"]), int(data["duration_us"]) / 1e6,
                           errors, latency)
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        raise WrkOutputError(f"bad BENCH line {lines[0]!r}: {error}") from None
    for key in ("p50", "p99", "p999"):
        if key not in latency:
            raise WrkOutputError(f"BENCH line lacks latency {key}: {lines[0]!r}")
    match = _NON_2XX.search(output)
    if match and int(match.group(1)) != errors.get("status", 0):
        raise WrkOutputError(f"wrk says {match.group(1)} non-2xx/3xx responses, "
                             f"the BENCH line {errors.get('status')}")
    return result


def run_wrk(procs: Processes, side: Side, op: str, keys: int, prefix: str, seed: int,
            args: argparse.Namespace, others: Sequence[int] = ()) -> WrkResult:
    command = ["wrk", f"-t{args.threads}", f"-c{args.connections}", f"-d{args.duration}s",
               f"--timeout={args.wrk_timeout}s", "-s", str(side.script),
               f"http://127.0.0.1:{side.port}", "--",
               op, str(keys), str(args.value_bytes), prefix, str(seed)]
    log = Path(args.workdir) / f"wrk-{os.getpid()}-{time.monotonic_ns()}.out"
    before = cpu_seconds(side.pids), cpu_seconds(others), _children_cpu()
    proc = procs.start(command, log=log)
    try:
        proc.wait(args.duration + args.wrk_timeout + 30)
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"wrk did not finish: {command}") from None
    finally:
        procs.stop(proc)
    after = cpu_seconds(side.pids), cpu_seconds(others), _children_cpu()
    output = log.read_text(errors="replace")
    log.unlink()
    if proc.returncode != 0:
        raise RuntimeError(f"wrk exited with {proc.returncode}: {output[-2000:]}")
    result = parse_wrk(output)
    return WrkResult(result.requests, result.duration_s, result.errors, result.latency_us,
                     cpu_s=after[0] - before[0], others_cpu_s=after[1] - before[1],
                     wrk_cpu_s=after[2] - before[2])


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


# ---------------------------------------------------------------------- the table

@dataclass
class Row:
    side: Side
    puts: list[WrkResult] = field(default_factory=list)
    gets: list[WrkResult] = field(default_factory=list)


def _median(results: Sequence[WrkResult], value: Callable[[WrkResult], float]) -> float:
    return statistics.median(value(r) for r in results) if results else float("nan")


def _cells(results: Sequence[WrkResult], median: bool = False) -> list[str]:
    if not results:
        return ["", "", "", ""]
    def pick(value: Callable[[WrkResult], float]) -> float:
        return _median(results, value) if median else value(results[0])

    def ms(key: str) -> str:
        return f"{pick(lambda r: r.latency_us[key]) / 1000:.1f}"

    return [
        f"{pick(lambda r: r.rate):,.0f}",
        " / ".join(ms(k) for k in ("p50", "p99", "p999")),
        str(sum(r.error_count for r in results)) if median else str(results[0].error_count),
        f"{pick(lambda r: r.cpu_us_per_request):,.0f}",
    ]


def format_table(rows: Sequence[Row]) -> str:
    """The results as a Markdown table: each run, then the medians of each side."""
    head = ["side", "run", "puts/s", "put p50 / p99 / p99.9 ms", "put errors",
            "CPU µs/put", "gets/s", "get p50 / p99 / p99.9 ms", "get errors", "CPU µs/get"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in rows:
        runs = max(len(row.puts), len(row.gets))
        for i in range(runs):
            lines.append("| " + " | ".join([
                row.side.label, str(i + 1), *_cells(row.puts[i:i + 1]),
                *_cells(row.gets[i:i + 1])]) + " |")
        lines.append("| " + " | ".join([
            f"**{row.side.label}**", "**median**", *_cells(row.puts, median=True),
            *_cells(row.gets, median=True)]) + " |")
    return "\n".join(lines)


def format_ratios(rows: Sequence[Row], baseline: Row) -> str:
    """vdynamo/etcd: medians of puts/s, gets/s and p99s, for each vdynamo row."""
    lines = []
    for row in rows:
        if row is baseline or not isinstance(row.side, Vdynamo):
            continue
        parts = []
        for what, mine, theirs in (("puts/s", row.puts, baseline.puts),
                                   ("gets/s", row.gets, baseline.gets)):
            if mine and theirs:
                rate = _median(mine, lambda r: r.rate) / _median(theirs, lambda r: r.rate)
                p99 = (_median(mine, lambda r: r.latency_us["p99"])
                       / _median(theirs, lambda r: r.latency_us["p99"]))
                parts.append(f"{what} {rate:.2f}x (p99 {p99:.2f}x)")
        lines.append(f"- {row.side.label} / {baseline.side.label}: " + ", ".join(parts))
    return "\n".join(lines)


def errors_invalid(rows: Sequence[Row]) -> list[str]:
    bad = []
    for row in rows:
        for op, results in (("put", row.puts), ("get", row.gets)):
            for r in results:
                if r.requests == 0 or r.error_count > MAX_ERROR_FRACTION * r.requests:
                    bad.append(f"{row.side.label} {op}: {r.error_count} errors of "
                               f"{r.requests} requests {r.errors}")
    return bad


# ---------------------------------------------------------------------- machine

def machine() -> str:
    cpu = "?"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return (f"{os.cpu_count()} cores ({cpu}), Linux {platform.release()}, "
            f"Python {platform.python_version()}, load average "
            + " ".join(f"{x:.2f}" for x in os.getloadavg()))


def versions() -> str:
    def first_line(command: list[str]) -> str:
        try:
            out = subprocess.run(command, capture_output=True, text=True, timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            return "?"
        return (out.stdout or out.stderr).strip().splitlines()[0] if (
            out.stdout or out.stderr).strip() else "?"
    return f"{first_line(['etcd', '--version'])}; {first_line(['wrk', '-v'])}"


def disk_of(path: Path) -> str:
    try:
        out = subprocess.run(["df", "--output=source,fstype", str(path)], capture_output=True,
                             text=True, timeout=10).stdout.split()
        return f"{out[-2]} ({out[-1]})"
    except (OSError, IndexError, subprocess.TimeoutExpired):
        return "?"


def fsync_probe(directory: Path, seconds: float = 1.0) -> str:
    """The disk's fdatasync latency now: 4 KiB appends, each fdatasynced, for ``seconds``."""
    path = directory / "fsync-probe"
    latencies = []
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        block = b"x" * 4096
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            os.write(fd, block)
            started = time.perf_counter()
            os.fdatasync(fd)
            latencies.append(time.perf_counter() - started)
    finally:
        os.close(fd)
        path.unlink()
    latencies.sort()
    return (f"fdatasync of a 4 KiB append: median {1000 * statistics.median(latencies):.2f} ms, "
            f"p99 {1000 * latencies[int(0.99 * (len(latencies) - 1))]:.2f} ms "
            f"({len(latencies)} in {seconds:.0f} s, one at a time)")


# ---------------------------------------------------------------------- the comparison

def compare(args: argparse.Namespace, procs: Processes, work: Path) -> int:
    layouts = ["per-node", "all"] if args.layout == "both" else [args.layout]
    loops = ["asyncio", "uvloop"] if args.loop == "both" else [args.loop]
    durable = [Vdynamo(f"vdynamo {layout}{'' if loop == 'auto' else ', ' + loop}, durable",
                       "always", layout, work / f"vd-{layout}-{loop}", loop)
               for layout in layouts for loop in loops]
    etcd = Etcd("etcd, durable", work / "etcd")
    buffered = ([] if args.no_buffered else
                [Vdynamo(f"vdynamo {layouts[0]}, buffered (NOT like for like)", "buffered",
                         layouts[0], work / "vd-buffered", loops[-1])])
    ceiling = [] if args.no_ceiling else [Ceiling("ceiling: asyncio static 200")]
    sides: list[Side] = [*durable, etcd, *buffered, *ceiling]
    probes = [f"before: {fsync_probe(work)}; load average {os.getloadavg()[0]:.2f}"]
    for side in sides:
        print(f"starting {side.label} ...", flush=True)
        side.start(procs)
    value = b"v" * args.value_bytes
    for side in [*durable, etcd]:
        started = time.monotonic()
        preload(side, "g", args.get_keys, value)
        print(f"preloaded {args.get_keys} keys into {side.label} in "
              f"{time.monotonic() - started:.1f} s", flush=True)

    rows = {side.label: Row(side) for side in sides}
    all_pids = [pid for side in sides for pid in side.pids]

    def measure(side: Side, op: str, seed: int) -> None:
        others = [pid for pid in all_pids if pid not in side.pids]
        keys, prefix = (args.put_keys, "p") if op == "put" else (args.get_keys, "g")
        result = run_wrk(procs, side, op, keys, prefix, seed, args, others)
        (rows[side.label].puts if op == "put" else rows[side.label].gets).append(result)
        print(f"  {side.label:<48} {op}: {result.rate:>9,.0f}/s  p50 "
              f"{result.latency_us['p50'] / 1000:.1f} ms  p99 "
              f"{result.latency_us['p99'] / 1000:.1f} ms  errors {result.error_count}  "
              f"CPU {result.cpu_us_per_request:,.0f} µs/op  wrk CPU "
              f"{100 * result.wrk_cpu_s / result.duration_s:.0f}%  others' CPU "
              f"{100 * result.others_cpu_s / result.duration_s:.0f}%", flush=True)

    for round_ in range(args.runs):
        print(f"round {round_ + 1} of {args.runs}", flush=True)
        for side in [*durable, etcd]:
            measure(side, "put", round_ + 1)
            measure(side, "get", round_ + 1)
        for side in buffered:
            measure(side, "put", round_ + 1)
        if round_ == args.runs // 2:
            for side in ceiling:
                measure(side, "get", round_ + 1)

    probes.append(f"after:  {fsync_probe(work)}; load average {os.getloadavg()[0]:.2f}")
    print()
    print(f"wrk -t{args.threads} -c{args.connections} -d{args.duration}s, "
          f"{args.value_bytes}-byte values; puts: random keys of {args.put_keys:,}, "
          f"gets: random keys of {args.get_keys:,} preloaded; {args.runs} alternating rounds; "
          "CPU = the side's server processes, all threads; errors = responses outside "
          "2xx/3xx plus socket errors (in a median row: the total of the runs)")
    print(f"machine: {machine()}")
    print(f"versions: {versions()}; data on {disk_of(work)}")
    print("\n".join(f"disk {probe}" for probe in probes))
    print(f"etcd: wrk and the preload talk to m1; the leader at the end: {etcd.leader()}")
    print("fsync policies:")
    for side in sides:
        print(f"- {side.label}: {side.fsync}")
    print()
    table_rows = list(rows.values())
    print(format_table(table_rows))
    print()
    print("ratios vdynamo/etcd of the medians (throughput: higher is better for vdynamo; "
          "p99 latency: lower is):")
    print(format_ratios(table_rows, rows[etcd.label]))
    bad = errors_invalid(table_rows)
    if bad:
        print("\nINVALID: more than 1% of requests failed:\n  " + "\n  ".join(bad))
        return 1
    return 0


# ---------------------------------------------------------------------- the profile

#: (category, pattern over a frame's "function (file:line)") in the order they are tried,
#: walking a sample's stack from the innermost frame outwards.
CATEGORIES: list[tuple[str, re.Pattern[str]]] = [
    ("waiting in epoll (idle)", re.compile(r"\.select \(selectors\.py")),
    ("SQLite COMMIT (in the always mode, with the WAL's fdatasync)",
     re.compile(r"SqliteStorage\._commit \(impl/storage/")),
    ("SQLite statements (the read of the stored record, the write; not COMMIT)",
     re.compile(r"\(impl/storage/")),
    ("frame codec (impl/wire.py)", re.compile(r"\(impl/wire\.py")),
    ("HTTP parsing and answers (impl/http_api.py, httptools; h11 before)",
     re.compile(r"\((h11/|httptools/|impl/http_api\.py)")),
    ("JSON and base64", re.compile(r"\((json/|base64\.py)")),
    ("socket writes and reads (asyncio transports, streams)",
     re.compile(r"\(asyncio/(selector_events|streams|transports)\.py")),
    ("node core (impl/, spec/)",
     re.compile(r"\((impl/(?!runtime\.py|serve\.py|http_api\.py)|spec/)")),
    ("runtime glue (impl/runtime.py)", re.compile(r"\(impl/(runtime|serve)\.py")),
    ("event loop (asyncio scheduling, futures, tasks)", re.compile(r"\(asyncio/")),
]


def categorize(collapsed: str) -> dict[str, int]:
    """Samples per category from py-spy's collapsed (``--format raw``) output.

    Each line is ``frame;frame;...;innermost COUNT``; a sample counts for the
    first category that matches a frame, innermost first (so a JSON call from
    the runtime counts as JSON); ``other`` if none does.
    """
    counts: dict[str, int] = {}
    for line in collapsed.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        category = "other"
        for frame in reversed(stack.split(";")):
            found = next((name for name, pattern in CATEGORIES if pattern.search(frame)), None)
            if found:
                category = found
                break
        counts[category] = counts.get(category, 0) + int(count)
    return counts


def top_frames(collapsed: str, n: int = 12) -> list[tuple[str, int]]:
    """The ``n`` innermost frames (function and file, no line) with the most samples."""
    counts: dict[str, int] = {}
    for line in collapsed.splitlines():
        stack, _, count = line.rpartition(" ")
        if stack and count.isdigit():
            frame = re.sub(r":\d+\)$", ")", stack.rsplit(";", 1)[-1])
            counts[frame] = counts.get(frame, 0) + int(count)
    return sorted(counts.items(), key=lambda kv: -kv[1])[:n]


def parse_strace_counts(text: str) -> dict[str, tuple[int, int]]:
    """syscall -> (calls, microseconds per call) from ``strace -c`` output (rows
    ``% time seconds usecs/call calls [errors] syscall``; with ``-w`` the times are
    wall-clock latencies)."""
    calls: dict[str, tuple[int, int]] = {}
    for line in text.splitlines():
        parts = line.split()
        if (len(parts) in (5, 6) and parts[-1] != "total" and re.fullmatch(r"[\d.]+", parts[0])
                and parts[2].isdigit() and parts[3].isdigit()):
            calls[parts[-1]] = (int(parts[3]), int(parts[2]))
    return calls


def _summary(label: str, r: WrkResult) -> str:
    return (f"{label}: {r.rate:,.0f} puts/s, p50 {r.latency_us['p50'] / 1000:.1f} ms, "
            f"p99 {r.latency_us['p99'] / 1000:.1f} ms, errors {r.error_count}; CPU "
            f"{r.cpu_us_per_request:,.0f} µs/put over the nodes "
            f"({100 * r.cpu_s / r.duration_s:.0f}% of one core; wrk "
            f"{100 * r.wrk_cpu_s / r.duration_s:.0f}%)")


def _py_spy() -> str | None:
    found = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    return found if Path(found).exists() else None


def _sampled(procs: Processes, side: Vdynamo, seed: int, idle: bool, args: argparse.Namespace,
             work: Path) -> tuple[WrkResult, list[str]]:
    """A put run with py-spy sampling n1 and n2 (or the one process); the report lines."""
    spy = _py_spy()
    if spy is None:
        return (run_wrk(procs, side, "put", args.put_keys, "p", seed, args),
                ["py-spy not found (.venv/bin/pip install py-spy): no profile"])
    names = side.names if side.layout == "per-node" else ["all"]
    targets = list(zip(names, side.pids, strict=True))[:2]
    spies = []
    for name, pid in targets:
        out = work / f"py-spy-{side.mode}-{name}.txt"
        spies.append((name, out, procs.start(
            [spy, "record", "--format", "raw", "--rate", "200", "--nonblocking",
             *(["--idle"] if idle else []), "-o", str(out), "-p", str(pid),
             "-d", str(args.duration + 2)], log=work / "py-spy.log")))
    time.sleep(1.0)
    result = run_wrk(procs, side, "put", args.put_keys, "p", seed, args)
    lines = [f"py-spy{' --idle' if idle else ''} while {result.rate:,.0f} puts/s: share of "
             f"the event-loop thread's {'wall' if idle else 'CPU'} time, by the innermost "
             "frame that names a category"]
    for name, out, proc in spies:
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(15)
        procs.stop(proc, signal.SIGINT)
        if not out.exists():
            lines.append(f"  {name}: no profile ({(work / 'py-spy.log').read_text()[-300:]})")
            continue
        collapsed = out.read_text()
        shutil.copy(out, args.out / out.name)
        counts = categorize(collapsed)
        total = sum(counts.values()) or 1
        lines.append(f"  {name} ({total} samples):")
        lines += [f"    {100 * count / total:5.1f}%  {category}"
                  for category, count in sorted(counts.items(), key=lambda kv: -kv[1])]
        lines.append(f"  {name}, innermost frames:")
        lines += [f"    {100 * count / total:5.1f}%  {frame}"
                  for frame, count in top_frames(collapsed, 8)]
    return result, lines


def _straced(procs: Processes, side: Vdynamo, seed: int, args: argparse.Namespace,
             work: Path) -> list[str]:
    """A put run under ``strace -c -f`` on every node process; syscalls per put."""
    if not shutil.which("strace"):
        return ["strace not found (apt-get install strace): no syscall counts"]
    out = work / "strace.txt"
    strace = procs.start(["strace", "-c", "-w", "-f", "-o", str(out),
                          *[a for pid in side.pids for a in ("-p", str(pid))]])
    time.sleep(1.0)
    traced = run_wrk(procs, side, "put", args.put_keys, "p", seed, args)
    procs.stop(strace, signal.SIGINT)
    calls = parse_strace_counts(out.read_text())
    puts = max(traced.requests, 1)
    fsyncs = sum(calls.get(name, (0, 0))[0] for name in ("fdatasync", "fsync"))
    return [f"strace -c -w -f on every node ({traced.rate:,.0f} puts/s: strace slows them); "
            "syscalls per put, and each call's mean wall time:",
            *[f"  {name:<14} {count / puts:6.2f}  {usecs:>6} µs"
              for name, (count, usecs) in sorted(calls.items(), key=lambda kv: -kv[1][0])[:12]],
            f"  => fsync + fdatasync per put: {fsyncs / puts:.2f}"]


def profile(args: argparse.Namespace, procs: Processes, work: Path) -> int:
    """Where a durable put's time goes; then the same without fsyncs (buffered)."""
    layout = "per-node" if args.layout == "both" else args.layout
    report = [f"machine: {machine()}; data on {disk_of(work)}",
              f"wrk -t{args.threads} -c{args.connections} -d{args.duration}s puts to n1, "
              f"{args.value_bytes}-byte values, random keys of {args.put_keys:,}"]

    def say(lines: list[str]) -> None:
        print("\n".join(["", *lines]), flush=True)
        report.extend(["", *lines])

    for mode in ("always", "buffered"):
        side = Vdynamo(f"vdynamo {layout}, fsync={mode}", mode, layout, work / f"vd-{mode}")
        side.start(procs)
        probe = f"disk now: {fsync_probe(work)}"
        say([probe, _summary(side.label, run_wrk(procs, side, "put", args.put_keys, "p", 1, args))])
        if mode == "always":
            say(_straced(procs, side, 2, args, work))
        say(_sampled(procs, side, 3, mode == "always", args, work)[1])
        for proc in list(side.procs):
            procs.stop(proc)
    (args.out / "profile-report.txt").write_text("\n".join(report) + "\n")
    print(f"\nreport and py-spy's collapsed stacks in {args.out}")
    return 0


# ---------------------------------------------------------------------- main

def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="bench/cluster.py", description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--threads", type=int, default=2, help="wrk -t")
    parser.add_argument("--connections", type=int, default=32, help="wrk -c")
    parser.add_argument("--duration", type=int, default=10, help="wrk -d, seconds")
    parser.add_argument("--wrk-timeout", type=int, default=10,
                        help="wrk --timeout, seconds (a slower request is an error)")
    parser.add_argument("--runs", type=int, default=3, help="alternating rounds")
    parser.add_argument("--layout", choices=["per-node", "all", "both"], default="per-node",
                        help="vdynamo: one process per node, all in one, or both")
    parser.add_argument("--get-keys", type=int, default=2000, help="preloaded keys for gets")
    parser.add_argument("--put-keys", type=int, default=1_000_000, help="key space of puts")
    parser.add_argument("--value-bytes", type=int, default=100)
    parser.add_argument("--no-buffered", action="store_true", help="no buffered vdynamo row")
    parser.add_argument("--no-ceiling", action="store_true", help="no ceiling row")
    parser.add_argument("--loop", choices=("auto", "uvloop", "asyncio", "both"), default="auto",
                        help="vdynamo serve --loop (auto: uvloop if installed); both: a "
                             "durable row for each")
    parser.add_argument("--profile", action="store_true",
                        help="measure where vdynamo's time goes during puts instead")
    parser.add_argument("--out", type=Path, default=None,
                        help="--profile: directory for the report and py-spy's stacks "
                        "(default: a new one under the temp dir; kept)")
    parser.add_argument("--tmpdir", default=None, help="where the data directories go")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args(argv)
    for name in ("threads", "connections", "duration", "runs", "get_keys", "put_keys"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    if args.connections < args.threads:
        parser.error("--connections must be at least --threads")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    ensure_tools()
    work = Path(tempfile.mkdtemp(prefix="vdynamo-bench-", dir=args.tmpdir))
    args.workdir = str(work)
    if args.profile:
        args.out = args.out or Path(tempfile.mkdtemp(prefix="vdynamo-profile-", dir=args.tmpdir))
        args.out.mkdir(parents=True, exist_ok=True)
    try:
        with terminate_as_interrupt(), Processes() as procs:
            return profile(args, procs, work) if args.profile else compare(args, procs, work)
    except KeyboardInterrupt:
        print("\ninterrupted: every process stopped", file=sys.stderr)
        return 130
    except (RuntimeError, WrkOutputError) as error:
        print(f"\nbench/cluster.py: {error}\n(logs in {work})", file=sys.stderr)
        args.keep = True
        return 1
    finally:
        if args.keep:
            print(f"kept {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
