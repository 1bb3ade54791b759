"""The public face: the command dispatcher and the re-exported API."""

from __future__ import annotations

import subprocess
import sys

import pytest

import vdynamo
from vdynamo.cli import SUBCOMMANDS, main


def test_help_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for name in SUBCOMMANDS:
        assert name in out


def test_unknown_command_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["frobnicate"]) == 2
    assert "unknown command 'frobnicate'" in capsys.readouterr().err
    assert main([]) == 2


def test_every_command_module_has_a_main() -> None:
    import importlib

    for entry, _ in SUBCOMMANDS.values():  # "module" (its main) or "module:function"
        module, _, function = entry.partition(":")
        assert callable(getattr(importlib.import_module(module), function or "main"))


def test_a_closed_pipe_is_not_an_error() -> None:
    proc = subprocess.Popen([sys.executable, "-m", "vdynamo", "show"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    assert proc.stdout is not None
    proc.stdout.readline()
    proc.stdout.close()
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0 and b"Traceback" not in err


def test_public_api_round_trip() -> None:
    clock = vdynamo.VClock.of({"a": 1}).increment("b")
    assert clock.compare(vdynamo.VClock.of({"a": 1})) is vdynamo.Order.AFTER
    cluster = vdynamo.SimulatedCluster(nodes=3, n=3, r=2, w=2, seed=1)
    client = cluster.client()
    client.put(b"k", b"v", context=client.get(b"k").context)
    assert client.get(b"k").values == [b"v"]
