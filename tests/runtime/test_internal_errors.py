"""A live node tells a bug of ours from a peer's bad frame (issue 12, section 1,
third bullet): an exception while it handles a valid message from an
authenticated peer is an internal error -- the node's ``internal-error`` count,
``vdynamo_internal_errors_total`` in /metrics, ERROR with the traceback on
``vdynamo.internal`` -- never a dropped frame; a frame that passes its MAC but
does not decode is a dropped frame and no internal error. And the check of
server processes (tests/runtime/procs.py) finds an internal error in a node's log,
in both log formats."""

from __future__ import annotations

import asyncio
import logging
import re
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from impl.effects import Effect
from impl.internal_errors import INTERNAL_LOG
from impl.logs import JsonFormatter
from impl.messages import ReadRepair
from impl.runtime import NodeServer
from impl.timers import HintScan
from impl.versions import ClockMode, Record, apply_put, encode_record
from spec.vclock import VClock
from tests.conftest import InternalErrors
from tests.runtime.live import cluster, dial, frame, run, url
from tests.runtime.procs import assert_no_internal_errors, internal_errors

ROOT = Path(__file__).resolve().parents[2]
_METRIC = re.compile(rb"^vdynamo_internal_errors_total ([0-9.e+]+)$", re.MULTILINE)


def _repair(key: bytes) -> ReadRepair:
    record = apply_put(Record.empty(ClockMode.DVV), VClock(), b"v", coordinator="n2",
                       client_id="c", now=0.0)
    return ReadRepair(key, encode_record(record))


def _metric(server: NodeServer) -> float:
    with urllib.request.urlopen(url(server, "/metrics"), timeout=10) as answer:
        found = _METRIC.search(answer.read())
    assert found is not None, "vdynamo_internal_errors_total is missing from /metrics"
    return float(found.group(1))


async def _until(predicate: object, what: str) -> None:
    for _ in range(750):  # a loaded machine: 15 s at most
        if predicate():  # type: ignore[operator]
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"not within 15 s: {what}")


def test_an_error_of_the_core_is_internal_and_a_bad_frame_is_dropped(
        tmp_path: Path, internal_errors: InternalErrors) -> None:
    async def scenario() -> None:
        async with cluster(tmp_path) as servers:
            server = servers[0]
            node = server.node
            assert await asyncio.to_thread(_metric, server) == 0
            _, writer, sealer = await dial(server)
            dropped = server.dropped_frames

            def handler_bug(now: float, src: str, message: object) -> list[Effect]:
                raise KeyError("a bug in a handler")
            node._messages[ReadRepair] = handler_bug  # inside Node.receive's guard
            writer.write(sealer.seal(frame(_repair(b"a"))))
            await writer.drain()
            await _until(lambda: node.stats["internal-error"] == 1, "the handler's error")

            receive = node.receive

            def receive_bug(now: float, src: str, message: object) -> list[Effect]:
                if isinstance(message, ReadRepair):  # the others (gossip...) go on
                    raise RuntimeError("a bug around the handlers")
                return receive(now, src, message)
            node.receive = receive_bug  # type: ignore[method-assign]  # the runtime's guard
            writer.write(sealer.seal(frame(_repair(b"b"))))
            await writer.drain()
            await _until(lambda: node.stats["internal-error"] == 2, "the core's error")
            assert server.dropped_frames == dropped  # neither is a dropped frame
            assert await asyncio.to_thread(_metric, server) == 2

            body = frame(_repair(b"c"))
            undecodable = body[:5] + b"\xff" + body[6:]  # a good MAC, an unknown type
            writer.write(sealer.seal(undecodable))
            await writer.drain()
            await _until(lambda: server.dropped_frames == dropped + 1, "the dropped frame")
            assert node.stats["internal-error"] == 2
            assert await asyncio.to_thread(_metric, server) == 2
            writer.close()
    run(scenario())
    records = internal_errors.take()
    assert [type(r.exc_info[1]) for r in records if r.exc_info] == [KeyError, RuntimeError]
    assert all(r.getMessage() == "n1: internal error handling ReadRepair from n2"
               for r in records)


def _log_line(formatter: logging.Formatter, logger: logging.Logger, level: int) -> str:
    record = logger.makeRecord(logger.name, level, __file__, 1,
                               "n1: internal error handling %s from %s",
                               ("ReadRepair", "n2"), None)
    return formatter.format(record)


@pytest.mark.parametrize("form", ["json", "text"])
def test_a_server_log_with_an_internal_error_fails_the_test(tmp_path: Path, form: str) -> None:
    """The lines :mod:`impl.logs` writes (the formatter of ``vdynamo serve``)."""
    formatter = JsonFormatter() if form == "json" else logging.Formatter(
        "%(asctime)s %(levelname)s %(name)s: %(message)s")
    clean = tmp_path / "n1" / "node.log"
    clean.parent.mkdir()
    clean.write_text(_log_line(formatter, logging.getLogger("vdynamo.runtime"),
                               logging.WARNING) + "\n")
    assert_no_internal_errors([clean, tmp_path / "missing.log"])
    bad = tmp_path / "n2" / "node.log"
    bad.parent.mkdir()
    bad.write_text(_log_line(formatter, INTERNAL_LOG, logging.ERROR) + "\n")
    assert len(internal_errors([clean, bad])) == 1
    with pytest.raises(pytest.fail.Exception, match="a server logged 1 internal error"):
        assert_no_internal_errors([clean, bad])


_SERVER = """
import collections, logging, sys
from impl.internal_errors import report_internal_error
from impl.logs import setup_logging
from impl.messages import HintAck
setup_logging(logging.WARNING, sys.argv[1])  # as `vdynamo serve` sets it up
try:
    raise KeyError("a bug")
except KeyError as error:
    report_internal_error("n1", 1.0, collections.Counter(), collections.deque(), "n2",
                          HintAck(1), error)
"""


@pytest.mark.parametrize("form", ["json", "text"])
def test_a_server_process_that_reports_an_internal_error_is_caught(
        tmp_path: Path, form: str) -> None:
    """A process with the logging of ``vdynamo serve`` (stderr to its log, as
    ``vdynamo cluster up`` starts nodes) reports one internal error: the check finds it."""
    log = tmp_path / "n1" / "node.log"
    log.parent.mkdir()
    with log.open("wb") as out:
        subprocess.run([sys.executable, "-c", _SERVER, form], stdout=out, stderr=out,
                       cwd=ROOT, env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)},
                       timeout=60, check=True)
    found = internal_errors([log])
    assert len(found) == 1 and "internal error handling HintAck from n2" in found[0]
    assert "Traceback" in log.read_text()


def test_a_timer_handlers_error_is_internal_and_the_timer_stays_armed(
        tmp_path: Path, internal_errors: InternalErrors) -> None:
    """An exception out of the hint scan's handler (``NodeServer._on_timer`` ->
    ``Node.fire``) is an internal error (counted, in /metrics) and the scan is set
    again: it runs on (session 10 review: it escaped the loop's callback and the
    node's HintScan timer was gone)."""
    async def scenario() -> None:
        async with cluster(tmp_path, hint_scan_interval=0.2) as servers:
            server = servers[0]
            node = server.node
            scan = node._timers[HintScan]
            calls: list[float] = []

            def scan_bug(now: float, timer: HintScan) -> list[Effect]:
                calls.append(now)
                if len(calls) == 1:
                    raise KeyError("a bug in the hint scan")
                return scan(now, timer)
            node._timers[HintScan] = scan_bug
            await _until(lambda: node.stats["internal-error"] == 1, "the scan's error")
            await _until(lambda: len(calls) >= 3, "two more scans")
            assert HintScan() in server._timers
            assert node.stats["internal-error"] == 1
            assert await asyncio.to_thread(_metric, server) == 1
    run(scenario())
    (record,) = internal_errors.take()
    assert record.exc_info is not None and isinstance(record.exc_info[1], KeyError)
    assert record.getMessage() == "n1: internal error handling HintScan from timer"
