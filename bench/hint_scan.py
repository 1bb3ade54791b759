"""Benchmark of the periodic hint scan with a large hint table, nothing to deliver.

Run: ``.venv/bin/python bench/hint_scan.py [--hints 47000] [--bytes 1000]
[--scans 20] [--reachable]``

A node (n1 of three, SQLite in a temporary directory) keeps ``--hints`` hints of
``--bytes``-byte records (47 MB by default) for n2, which its failure detector
suspects: each scan (``HintScan``, every ``hint_scan_interval`` = 1 s by default)
has nothing to send. It prints the CPU time of one scan (``time.process_time``,
median of ``--scans``), that time as a share of one core at one scan per second,
and the peak of the memory Python allocated during one scan (tracemalloc, a
separate scan). With ``--reachable`` n2 is not suspected and never acks: a scan
sends hints until ``MAX_HINTS_IN_FLIGHT`` (256) await an ack, and the scans timed
are the later ones (every hint sent still in flight, none due again). Session 13
measured 9% of a core idle with 47 MB of hints (every scan read every hint with
its record, :meth:`impl.hints.HintStore.all`); since session 14 a scan pages
through the hints' heads (``Storage.hint_heads``), at most ``SCAN_BUDGET`` per
scan, and reads a record only to send it (docs/runtime.md, "Hinted handoff's
scan"). Figures: docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import tracemalloc
from pathlib import Path

from impl.config import ClusterConfig
from impl.node import Node
from impl.storage.sqlite import SqliteStorage
from impl.timers import HintScan


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hints", type=int, default=47_000)
    parser.add_argument("--bytes", type=int, default=1_000)
    parser.add_argument("--scans", type=int, default=20)
    parser.add_argument("--reachable", action="store_true")
    args = parser.parse_args()
    config = ClusterConfig(nodes=("n1", "n2", "n3"), partitioning="evenly-spaced")
    with tempfile.TemporaryDirectory() as directory:
        storage = SqliteStorage(Path(directory) / "n1.sqlite")
        filler = bytes(range(256)) * (args.bytes // 256 + 1)
        for i in range(args.hints):
            storage.add_hint("n2", b"key%08d" % i, filler[i % 256:i % 256 + args.bytes])
        node = Node("n1", config, storage, seed=1)
        if args.reachable:  # the first scan fills the deliveries in flight
            sent = node.handoff.on_scan(0.0, HintScan())
            assert sum(type(e).__name__ == "Send" for e in sent) == 256
        else:
            for _ in range(10):  # suspected well past the scans' times
                node.quorum.suspect("n2", 0.0)
            assert not node.quorum.reachable("n2", 0.001)
        times = []
        for i in range(args.scans):
            start = time.process_time()
            effects = node.handoff.on_scan(0.001 + i * 1e-6, HintScan())
            times.append(time.process_time() - start)
            assert not any(type(e).__name__ == "Send" for e in effects)
        tracemalloc.start()
        node.handoff.on_scan(0.002, HintScan())
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        storage.close()
    median = statistics.median(times)
    print(f"hints {args.hints} x {args.bytes} bytes ({args.hints * args.bytes / 1e6:.0f} MB), "
          f"n2 {'reachable, 256 in flight' if args.reachable else 'suspected'}")
    print(f"scan CPU: median {median * 1e3:.2f} ms (min {min(times) * 1e3:.2f}, "
          f"max {max(times) * 1e3:.2f}); at one scan/s: {median * 100:.2f}% of a core")
    print(f"scan peak Python memory: {peak / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
