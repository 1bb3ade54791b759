"""Smoke tests of the cluster benchmark's harness (bench/cluster.py), without wrk or etcd:
its parsing of wrk, strace and py-spy output, its table, and that it leaves no process
running (process groups stopped by TERM, then KILL)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.bench import ROOT, load_bench

bench = load_bench("cluster")

# recorded from `wrk -t2 -c32 -d3s -s bench/wrk/vdynamo.lua URL -- get 100 10 g 1`
WRK_OUTPUT = """\
Running 3s test @ http://127.0.0.1:18999
  2 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   735.37us    1.34ms  16.24ms   94.78%
    Req/Sec    29.53k     2.45k   40.06k    85.00%
  176709 requests in 3.01s, 11.12MB read
Requests/sec:  58695.61
Transfer/sec:      3.69MB
BENCH {"requests": 176709, "duration_us": 3010600, "bytes": 11662794, "errors": \
{"connect": 0, "read": 0, "write": 0, "status": 0, "timeout": 0}, "latency_us": \
{"p50": 474, "p90": 770, "p99": 8435, "p999": 12228, "max": 16244, "mean": 735.4}}
"""

# the same with failed requests, as wrk reports them
WRK_ERRORS = WRK_OUTPUT.replace(
    "Requests/sec:", "  Socket errors: connect 0, read 2, write 0, timeout 5\n"
    "  Non-2xx or 3xx responses: 120\nRequests/sec:").replace(
    '"read": 0, "write": 0, "status": 0, "timeout": 0',
    '"read": 2, "write": 0, "status": 120, "timeout": 5')


def test_parse_wrk_reads_the_bench_line() -> None:
    result = bench.parse_wrk(WRK_OUTPUT)
    assert result.requests == 176709
    assert result.duration_s == pytest.approx(3.0106)
    assert result.rate == pytest.approx(58695.6, rel=1e-4)
    assert result.latency_us["p50"] == 474 and result.latency_us["p999"] == 12228
    assert result.error_count == 0


def test_parse_wrk_counts_every_error() -> None:
    result = bench.parse_wrk(WRK_ERRORS)
    assert result.errors["status"] == 120
    assert result.error_count == 127


@pytest.mark.parametrize("output", [
    "Running 3s test\n",                                        # no BENCH line (no done())
    WRK_OUTPUT + WRK_OUTPUT,                                    # two
    WRK_OUTPUT.replace('"p99": 8435, ', ""),                    # a percentile missing
    WRK_OUTPUT.replace('"requests": 176709', '"requests": x'),  # not JSON
    WRK_ERRORS.replace('"status": 120', '"status": 0'),         # disagrees with wrk's count
])
def test_parse_wrk_refuses_what_it_cannot_trust(output: str) -> None:
    with pytest.raises(bench.WrkOutputError):
        bench.parse_wrk(output)


def test_table_gives_runs_medians_and_ratios() -> None:
    def result(rate: float, p99_ms: float, status_errors: int = 0) -> object:
        return bench.WrkResult(int(rate * 10), 10.0, {"status": status_errors},
                               {"p50": 1000.0, "p99": p99_ms * 1000, "p999": 2 * p99_ms * 1000},
                               cpu_s=rate * 10 * 300e-6)

    vd = bench.Row(bench.Side("vd", "always", Path("x.lua")),
                   puts=[result(100, 9), result(300, 3), result(200, 5)],
                   gets=[result(1000, 2)] * 3)
    etcd = bench.Row(bench.Side("etcd", "raft", Path("y.lua")),
                     puts=[result(400, 10)] * 3, gets=[result(500, 4, status_errors=1)] * 3)
    vd.side.__class__ = bench.Vdynamo  # a row counts as vdynamo's by its side's type
    table = bench.format_table([vd, etcd])
    assert "| **vd** | **median** | 200 | 1.0 / 5.0 / 10.0 | 0 | 300 | 1,000 |" in table
    assert "| etcd | 3 | 400 |" in table
    assert "| **etcd** | **median** | 400 | 1.0 / 10.0 / 20.0 | 0 | 300 | 500 " \
           "| 1.0 / 4.0 / 8.0 | 3 | 300 |" in table
    ratios = bench.format_ratios([vd, etcd], etcd)
    assert "puts/s 0.50x (p99 0.50x), gets/s 2.00x (p99 0.50x)" in ratios
    assert bench.errors_invalid([vd, etcd]) == []
    etcd.gets[0] = result(500, 4, status_errors=60)  # 60 of 5000: over 1%
    assert len(bench.errors_invalid([vd, etcd])) == 1


STRACE = """\
% time     seconds  usecs/call     calls    errors syscall
------ ----------- ----------- --------- --------- ----------------
 93.72    0.007795           5      1373       589 openat
  4.02    0.000334          11        30           write
  2.26    0.000188         188         1           fdatasync
------ ----------- ----------- --------- --------- ----------------
100.00    0.008317           5      1404       589 total
"""

PYSPY = """\
main (impl/runtime.py:562);BaseEventLoop._run_once (asyncio/base_events.py:1884);\
EpollSelector.select (selectors.py:468) 40
main (impl/runtime.py:562);NodeServer._on_peer (impl/runtime.py:348);decode (impl/wire.py:258);\
__init__ (<string>:3) 5
Node._store (impl/node.py:780);SqliteStorage.write (impl/storage/sqlite.py:191);\
SqliteStorage._commit (impl/storage/sqlite.py:382) 30
Node._store (impl/node.py:780);SqliteStorage._query (impl/storage/sqlite.py:300) 3
NodeServer._on_http (impl/runtime.py:394);StreamWriter.write (asyncio/streams.py:343);\
_SelectorSocketTransport.write (asyncio/selector_events.py:1057) 8
NodeServer._route (impl/runtime.py:466);dumps (json/__init__.py:231) 2
Node._coordinate (impl/node.py:397);key_position (spec/ring.py:84) 6
Connection.next_event (h11/_connection.py:470) 4
NodeServer._perform (impl/runtime.py:264) 1
Handle._run (asyncio/events.py:80) 1
 4
"""


def test_parse_strace_counts() -> None:
    assert bench.parse_strace_counts(STRACE) == {
        "openat": (1373, 5), "write": (30, 11), "fdatasync": (1, 188)}


def test_fsync_probe_names_the_latency(tmp_path: Path) -> None:
    line = bench.fsync_probe(tmp_path, seconds=0.05)
    assert line.startswith("fdatasync of a 4 KiB append: median ")
    assert list(tmp_path.iterdir()) == []


def test_categorize_takes_the_innermost_matching_frame() -> None:
    counts = bench.categorize(PYSPY)
    by_word = {name.split()[0] + " " + name.split()[1]: n for name, n in counts.items()}
    assert by_word == {"waiting in": 40, "frame codec": 5, "SQLite COMMIT": 30,
                       "SQLite statements": 3, "socket writes": 8, "JSON and": 2,
                       "node core": 6, "HTTP parsing": 4, "runtime glue": 1,
                       "event loop": 1}
    assert bench.top_frames(PYSPY, 2) == [
        ("EpollSelector.select (selectors.py)", 40),
        ("SqliteStorage._commit (impl/storage/sqlite.py)", 30)]


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def _wait_gone(pgid: int, timeout_s: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while _group_alive(pgid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def test_processes_stop_whole_groups_even_on_error(tmp_path: Path) -> None:
    procs = bench.Processes(grace_s=0.5)
    with pytest.raises(RuntimeError), procs:
        # a leader with a child, and one that ignores SIGTERM (killed after the grace)
        polite = procs.start(["sh", "-c", "sleep 60 & wait"], log=tmp_path / "a.log")
        stubborn = procs.start(["sh", "-c", "trap '' TERM; sleep 60 & wait"])
        time.sleep(0.2)
        assert _group_alive(polite.pid) and _group_alive(stubborn.pid)
        assert os.getpgid(polite.pid) == polite.pid != os.getpgid(0)
        raise RuntimeError("the benchmark failed")
    assert procs.running == []
    assert _wait_gone(polite.pid) and _wait_gone(stubborn.pid)
    assert polite.returncode == -signal.SIGTERM
    assert stubborn.returncode == -signal.SIGKILL


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_interrupt_stops_everything(tmp_path: Path, sig: int) -> None:
    """Ctrl-C or SIGTERM to the benchmark runs its cleanup: nothing it started survives
    (the runner starts with SIGINT ignored, as a shell's background job does)."""
    script = tmp_path / "run.py"
    script.write_text(f"""
import sys, time
sys.path.insert(0, {str(ROOT / "bench")!r})
import cluster
with cluster.terminate_as_interrupt(), cluster.Processes(grace_s=0.5) as procs:
    child = procs.start(["sh", "-c", "sleep 60 & wait"])
    print(child.pid, flush=True)
    time.sleep(60)
""")
    runner = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True,
                              preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
    child = 0
    try:
        assert runner.stdout is not None
        child = int(runner.stdout.readline())
        assert _group_alive(child)
        runner.send_signal(sig)
        runner.wait(10)
        assert _wait_gone(child)
    finally:
        if runner.poll() is None:
            runner.kill()
            runner.wait(10)
        if child and _group_alive(child):  # the test failed: still leave nothing running
            os.killpg(child, signal.SIGKILL)
