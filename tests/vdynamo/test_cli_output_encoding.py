"""The ``vdynamo`` command when its standard output's encoding cannot hold a character
it prints (session 60's red team, probes/23m-cli-non-utf8-terminal-and-locale.py):
``PYTHONIOENCODING=ascii`` or ``latin-1``, or a C locale that Python does not coerce
to UTF-8 (``PYTHONCOERCECLOCALE=0``, or a system without a ``C.UTF-8`` locale).

Right value: the value printed with each character the encoding cannot hold as
``\\uNNNN`` (``\\UNNNNNNNN``), the spelling :func:`vdynamo.kv_cli.shown` gives
characters, so the line still reads back to the value's bytes, exit 0. Before:
``vdynamo get`` of a value ``naïve`` died with a ``UnicodeEncodeError`` traceback,
exit 1. Mutant: :meth:`vdynamo.cli._CheckedOutput.write` without its fallback (the
rule before): both tests fail (the unit test with UnicodeEncodeError; the process
exit 1 with a traceback).
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

from tests.runtime.procs import FAST_UP, cluster_up
from tests.vdynamo.test_kv_shown import _read_back
from vdynamo.cli import _CheckedOutput
from vdynamo.kv_cli import shown

VALUE = "naïve ☃ \U0001F600 \\ end".encode()


def test_a_character_the_encoding_cannot_hold_is_escaped_and_reads_back() -> None:
    for encoding in ("ascii", "latin-1"):
        raw = io.BytesIO()
        stream = io.TextIOWrapper(raw, encoding=encoding)
        out = _CheckedOutput(stream)
        out.write(shown(VALUE) + "\n")
        out.flush()
        line = raw.getvalue().decode(encoding).rstrip("\n")
        assert _read_back(line) == VALUE, line


def test_vdynamo_get_under_an_ascii_output_prints_the_value_escaped(tmp_path: Path) -> None:
    directory = tmp_path / "c"
    with cluster_up(directory, "--nodes", "1", "--n", "1", "--r", "1", "--w", "1", *FAST_UP):
        put = subprocess.run([sys.executable, "-m", "vdynamo", "put", "k", VALUE.decode(),
                              "--dir", str(directory)], capture_output=True, timeout=60)
        assert put.returncode == 0, put.stderr
        got = subprocess.run([sys.executable, "-m", "vdynamo", "get", "k", "--dir",
                              str(directory)], capture_output=True, timeout=60,
                             env={**os.environ, "PYTHONIOENCODING": "ascii"})
        assert got.returncode == 0 and b"Traceback" not in got.stderr, got.stderr
        assert _read_back(got.stdout.decode("ascii").splitlines()[0]) == VALUE, got.stdout
