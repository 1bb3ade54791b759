"""The ``vdynamo`` command when its standard output cannot be written (session 58's
red team 8): a full disk (``vdynamo get k > out`` on a full file system, here
``/dev/full``), or a closed descriptor (``>&-``).

Right value: exit 1 with one line on stderr naming why (as every error of a
command), never a traceback; a put whose context could not be printed says it was
made (its answer came first). Before: ``OSError: [Errno 28] No space left on
device`` as a traceback (exit 1) from the ``print`` of every command, and exit 0
with nothing written anywhere for a closed standard output (Python's
``sys.stdout`` is None then: ``print`` drops the text). A reader that went away
(``| head``) stays exit 0, as before. Mutant: ``vdynamo.cli.main`` without its
:class:`vdynamo.cli._CheckedOutput` (the rule before): the three first tests fail
(a traceback; exit 0 for ``>&-``).

Real ``vdynamo`` processes (``ring``, 0.3 s each; one node for the put, about 3 s),
bounded, every process stopped."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.runtime.procs import FAST_UP, cluster_up

FULL = Path("/dev/full")
RING = ("ring", "--nodes", "3", "--tokens", "4", "--trials", "1")
needs_full = pytest.mark.skipif(not FULL.exists(), reason="no /dev/full here")


def _vdynamo(*args: str, stdout: object, close_stdout: bool = False
             ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "vdynamo", *args], stdout=stdout,  # type: ignore[call-overload]
                          stderr=subprocess.PIPE, text=True, timeout=60,
                          preexec_fn=(lambda: os.close(1)) if close_stdout else None)


def _one_line(done: subprocess.CompletedProcess[str], why: str) -> None:
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    assert done.stderr.count("\n") == 1 and why in done.stderr, done.stderr


@needs_full
def test_a_full_disk_is_one_line_and_exit_1() -> None:
    with FULL.open("w") as full:
        done = _vdynamo(*RING, stdout=full)
    _one_line(done, "vdynamo ring: cannot write to the standard output (No space left on device)")


def test_a_closed_standard_output_is_one_line_and_exit_1() -> None:
    done = _vdynamo(*RING, stdout=subprocess.DEVNULL, close_stdout=True)
    _one_line(done, "vdynamo ring: cannot write to the standard output (the standard output "
              "is closed)")


@needs_full
def test_a_put_whose_context_cannot_be_printed_says_it_was_made(tmp_path: Path) -> None:
    directory = tmp_path / "c"
    with cluster_up(directory, "--nodes", "1", "--n", "1", "--r", "1", "--w", "1", *FAST_UP):
        with FULL.open("w") as full:
            done = _vdynamo("put", "k", "v", "--dir", str(directory), stdout=full)
        _one_line(done, "the put was made before its answer was printed")
        read = _vdynamo("get", "k", "--dir", str(directory), stdout=subprocess.PIPE)
        assert read.returncode == 0 and read.stdout.splitlines()[0] == "v", read


def test_a_reader_that_went_away_is_still_exit_0() -> None:
    with subprocess.Popen([sys.executable, "-m", "vdynamo", *RING], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE) as proc:
        assert proc.stdout is not None and proc.stderr is not None
        proc.stdout.close()  # the reader gone before the table is printed
        err = proc.stderr.read()
        assert proc.wait(60) == 0 and b"Traceback" not in err, err


def test_a_node_serves_with_its_standard_output_closed(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """``vdynamo serve`` keeps the standard output as it is (the lead's read-through of
    session 58): a node's lines are notes, and a node started with ``>&-`` (a
    daemon's closed descriptors) served before the check above; it must not stop
    at its first note. Mutant: the check for ``serve`` too: the stand-in node sees
    the checked stream, and its note raises."""
    from vdynamo import cli

    seen: list[object] = []

    def node(argv: list[str]) -> int:
        seen.append(sys.stdout)
        print("n1: peers on ..., HTTP on ...")  # dropped, as Python drops it for None
        return 0

    monkeypatch.setitem(sys.modules, "stand_in_node", type(sys)("stand_in_node"))
    sys.modules["stand_in_node"].main = node  # type: ignore[attr-defined]
    monkeypatch.setitem(cli.SUBCOMMANDS, "serve", ("stand_in_node", "a stand-in"))
    monkeypatch.setattr(sys, "stdout", None)
    assert cli.main(["serve"]) == 0
    assert seen == [None]
