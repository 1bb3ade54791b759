"""Ctrl-C (SIGINT) ends a ``vdynamo`` command with one line and status 130 (session
48's new user's walk through README). Before, the command died in a
KeyboardInterrupt traceback from wherever it struck (an import, the explorer of
``vdynamo check``, ``vdynamo ring``), and ``vdynamo prove`` did not stop at all: Z3
takes SIGINT itself while it solves, so the query at hand came back ``unknown``
("interrupted from keyboard") and every other proof and the agreement check ran on
(50 s on this machine), to exit 1 with a proof marked FAILED; or the signal was
lost, or became a ``ctypes.ArgumentError`` traceback (Python raised it inside a call
into Z3)."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import pytest
import z3

from tests.runtime.procs import ROOT, cli
from vdynamo import ring_cli

#: ``vdynamo ARGS`` with SIGINT's default Python handler whatever this process
#: inherited (a process started in the background by a shell ignores SIGINT, and so
#: would its children)
_WITH_CTRL_C = ("import signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
                "from vdynamo.cli import main; sys.exit(main(sys.argv[1:]))")


def test_an_interrupted_command_says_so_in_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupted(argv: list[str]) -> int:
        raise KeyboardInterrupt

    monkeypatch.setattr(ring_cli, "main", interrupted)
    try:
        result = cli("ring")
    except KeyboardInterrupt:  # (raised on, it would end the whole pytest run)
        pytest.fail("vdynamo.cli.main let the KeyboardInterrupt through")
    assert (result.returncode, result.stderr) == (130, "vdynamo ring: interrupted\n")


def test_prove_puts_back_the_handler_it_set() -> None:
    """`vdynamo prove` run in a process that goes on (a test, a notebook) leaves
    SIGINT's handler and Z3's own as they were."""
    before = signal.getsignal(signal.SIGINT)
    assert cli("prove", "--list").returncode == 0
    assert signal.getsignal(signal.SIGINT) is before
    assert z3.get_param("ctrl_c") == "true"


def test_ctrl_c_stops_vdynamo_prove_at_once() -> None:
    process = subprocess.Popen(
        [sys.executable, "-c", _WITH_CTRL_C, "prove", "--no-agreement"], cwd=ROOT,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(3.0)  # past the imports (about 1 s): in the proofs (20 s of Z3 here)
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=15.0)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert (process.returncode, err) == (130, "vdynamo prove: interrupted\n")

