"""Small puts beside large puts that saturate the replicas, on real processes.

Run: ``.venv/bin/python bench/small_puts_beside_large.py`` (about 40 s a run and side)

    --large-clients 16 --large-bytes 1048576    clients putting large values, each
                                                through n1, n2, n3 in turn
    --w 3 --small-every 0.05 --seconds 12       the small puts (100 bytes, through
                                                n1 at ?w=W, one after another)
    --runs 2                                    rounds; the sides alternate
    --set 'request_timeout = 10.0'              a [cluster] line (repeatable)
    --base DIR                                  also run the nodes from the tree in
                                                DIR (e.g. ``git archive BASE | tar -x
                                                -C DIR``): the side before a change

Three ``vdynamo serve --node`` processes on free loopback ports (N=3 R=2 W=2, the
default limits and ``fsync = "always"``), started with ``PYTHONPATH`` set to the
side's tree. First 20 small puts one after another (unloaded), then the large
clients start, and after 1 s the small puts run for the rest of ``--seconds``. It
prints per run and side: the small puts by status, their median, p90, p99 and
largest latency, the unloaded median and the ratio of the loaded median to it, the
large puts by status, n1's ``admission`` counters and the nodes' CPU seconds; then
the medians over the runs per side. Session 54 (docs/runtime.md, "Small puts
beside saturating large ones, across processes").

Every process runs in its own process group and is stopped (SIGTERM, then SIGKILL)
when its run ends, however it ends; every wait is bounded; the data directories
are removed. A benchmark: it never fails on time.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cluster import (
    Processes,
    cpu_seconds,
    free_port,
    http_request,
    terminate_as_interrupt,
    wait_for,
)

ROOT = Path(__file__).resolve().parents[1]
NAMES = ("n1", "n2", "n3")
SMALL = b"s" * 100


def _config(directory: Path, settings: Sequence[str]) -> tuple[Path, dict[str, int]]:
    http = {name: free_port() for name in NAMES}
    lines = ["[cluster]", f"nodes = {json.dumps(list(NAMES))}", "n = 3", "r = 2", "w = 2",
             f'secret = "{os.urandom(24).hex()}"', *settings, ""]
    for name in NAMES:
        lines += [f"[nodes.{name}]", f'peer = "127.0.0.1:{free_port()}"',
                  f'http = "127.0.0.1:{http[name]}"',
                  f'data = "{directory / name / "data.sqlite"}"', ""]
        (directory / name).mkdir()
    config = directory / "cluster.toml"
    config.write_text("\n".join(lines))
    return config, http


def _ready(port: int) -> bool:
    status, body = http_request(port, "GET", "/health", timeout_s=2.0)
    return status == 200 and json.loads(body).get("ready") is True


def _quantile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def run_side(tree: Path, args: argparse.Namespace) -> dict[str, Any]:
    """One run of the nodes from ``tree``: the figures of the module docstring."""
    directory = Path(tempfile.mkdtemp(prefix="vdynamo-small-large-"))
    headers = {"Content-Type": "application/octet-stream"}
    try:
        config, http = _config(directory, args.set)
        with Processes() as procs:
            # the side's tree first on the path (an editable install names this one)
            started = [procs.start(["env", f"PYTHONPATH={tree}", sys.executable, "-m",
                                    "vdynamo", "serve", str(config), "--node", name],
                                   directory / f"{name}.log", cwd=tree) for name in NAMES]
            for name in NAMES:
                wait_for(functools.partial(_ready, http[name]), f"{name} ready", 60.0, started)
            put = f"?w={args.w}"
            unloaded = []
            for index in range(20):
                begin = time.perf_counter()
                http_request(http["n1"], "PUT", f"/kv/u{index}{put}", SMALL, headers, 30.0)
                unloaded.append(time.perf_counter() - begin)
            cpu_before = cpu_seconds([proc.pid for proc in started])
            stop = time.monotonic() + args.seconds
            large: Counter[int] = Counter()
            lock = threading.Lock()
            value = os.urandom(args.large_bytes)

            def putter(client: int) -> None:
                index = 0
                while time.monotonic() < stop:
                    node = NAMES[(client + index) % 3]
                    status, _ = http_request(http[node], "PUT", f"/kv/big{client}-{index}",
                                             value, headers, 30.0)
                    with lock:
                        large[status] += 1
                    index += 1

            threads = [threading.Thread(target=putter, args=(client,))
                       for client in range(args.large_clients)]
            for thread in threads:
                thread.start()
            time.sleep(1.0)
            small: Counter[int] = Counter()
            latencies = []
            index = 0
            while time.monotonic() < stop - 0.5:
                begin = time.perf_counter()
                status, _ = http_request(http["n1"], "PUT", f"/kv/s{index}{put}", SMALL,
                                         headers, 30.0)
                latencies.append(time.perf_counter() - begin)
                small[status] += 1
                index += 1
                time.sleep(args.small_every)
            for thread in threads:
                thread.join(60.0)
            cpu = cpu_seconds([proc.pid for proc in started]) - cpu_before
            status, body = http_request(http["n1"], "GET", "/status", timeout_s=5.0)
            admission = json.loads(body).get("admission", {}) if status == 200 else {}
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    median = statistics.median(latencies)
    return {"small": dict(small), "median": median, "p90": _quantile(latencies, 0.9),
            "p99": _quantile(latencies, 0.99), "most": max(latencies),
            "unloaded": statistics.median(unloaded),
            "ratio": median / statistics.median(unloaded), "large": dict(large),
            "admission": admission, "cpu_s": cpu}


def _row(label: str, result: dict[str, Any]) -> str:
    admission = result["admission"]
    return (f"{label:<8} small {json.dumps(result['small']):<22} median {result['median']:.3f} "
            f"p90 {result['p90']:.3f} p99 {result['p99']:.3f} most {result['most']:.3f} s; "
            f"unloaded {result['unloaded']:.4f} s, x{result['ratio']:.0f}; "
            f"large {json.dumps(result['large'])}; n1 waited {admission.get('waited')} "
            f"expired {admission.get('expired')} small_passed "
            f"{admission.get('small_passed')}; nodes {result['cpu_s']:.1f} CPU-s")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--large-clients", type=int, default=16)
    parser.add_argument("--large-bytes", type=int, default=(1 << 20) - 64)
    parser.add_argument("--w", type=int, default=3)
    parser.add_argument("--small-every", type=float, default=0.05)
    parser.add_argument("--seconds", type=float, default=12.0)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--base", type=Path, default=None)
    parser.add_argument("--set", action="append", default=[], metavar="LINE",
                        help="a [cluster] line, e.g. 'request_timeout = 10.0'")
    args = parser.parse_args(argv)
    sides = ([("base", args.base.resolve())] if args.base else []) + [("this", ROOT)]
    results: dict[str, list[dict[str, Any]]] = {label: [] for label, _ in sides}
    with terminate_as_interrupt():
        for run in range(1, args.runs + 1):
            for label, tree in sides:
                result = run_side(tree, args)
                results[label].append(result)
                print(f"run {run} " + _row(label, result), flush=True)
    for label, runs in results.items():
        print(f"{label}: medians over {len(runs)} runs: small median "
              f"{statistics.median(r['median'] for r in runs):.3f} s, p99 "
              f"{statistics.median(r['p99'] for r in runs):.3f} s, ratio to unloaded "
              f"x{statistics.median(r['ratio'] for r in runs):.0f}; small not 200: "
              f"{sum(n for r in runs for s, n in r['small'].items() if s != 200)} of "
              f"{sum(sum(r['small'].values()) for r in runs)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
