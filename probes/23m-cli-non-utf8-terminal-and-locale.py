"""The CLI on a terminal or in a job whose encoding is not UTF-8: ``PYTHONIOENCODING=ascii``
(some CI runners and cron set it), ``latin-1`` (an old terminal), and the C locale where
Python does not coerce to UTF-8 (``LC_ALL=C PYTHONCOERCECLOCALE=0 PYTHONUTF8=0``: a
minimal container without a ``C.UTF-8`` locale behaves so). etcdctl prints raw bytes
whatever the locale; a Python CLI's ``print`` raises UnicodeEncodeError instead. 23g
sends the output to a full disk or a closed descriptor, 23h sets proxy variables; no
probe set the encoding.

`vdynamo cluster up --nodes 3` in a temporary directory. Values: ``naïve ☃ 😀``, a
value with a byte that is not UTF-8, two siblings, a key ``clé``. Under each
environment: `get`, `get --json`, `put` and `delete` of a non-ASCII key given on the
command line, `cluster status`.

Right value: every command exits 0 with no traceback; each line `get` prints reads
back (``\\xNN`` a byte, ``\\uNNNN`` a character, as ``vdynamo.kv_cli.shown`` documents)
to the value's bytes; a key given under the C locale is the same bytes as under
UTF-8 (read back by a UTF-8 `get`).

Found (session 60): `get` of ``naïve ☃`` under all three died with a
``UnicodeEncodeError`` traceback, exit 1. Fixed: ``vdynamo.cli._CheckedOutput.write``
escapes what the encoding cannot hold (tests/vdynamo/test_cli_output_encoding.py).

Run from the project's root: .venv/bin/python probes/23m-cli-non-utf8-terminal-and-locale.py
"""
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, ".")
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _cluster import Checks, vdynamo_command

from tests.vdynamo.test_kv_shown import _read_back

check = Checks()
V = vdynamo_command()
ENVS = {"ascii": {"PYTHONIOENCODING": "ascii"}, "latin-1": {"PYTHONIOENCODING": "latin-1"},
        "C": {"LC_ALL": "C", "PYTHONCOERCECLOCALE": "0", "PYTHONUTF8": "0"}}
VALUES = {"text": "naïve ☃ \U0001F600".encode(), "bytes": b"caf\xc3\xa9 \xff\xfe end"}


def run(env: dict[str, str], *args: str, stdin: bytes | None = None
        ) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([*V, *args], input=stdin, capture_output=True, timeout=60,
                          env={**os.environ, **env})


with tempfile.TemporaryDirectory() as tmp:
    d = str(Path(tmp) / "c")
    up = run({}, "cluster", "up", "--nodes", "3", "--dir", d)
    try:
        check("cluster up", up.returncode == 0, up.stderr[-300:])
        for name, value in VALUES.items():
            run({}, "put", name, "--value-file", "-", "--dir", d, stdin=value)
        run({}, "put", "two", "ä", "--dir", d)
        run({}, "put", "two", "☃", "--dir", d)
        for label, env in ENVS.items():
            encoding = "latin-1" if label == "latin-1" else "ascii"
            for name, value in VALUES.items():
                got = run(env, "get", name, "--dir", d)
                ok = got.returncode == 0 and b"Traceback" not in got.stderr
                line = got.stdout.decode(encoding).splitlines()[0] if ok and got.stdout else ""
                check(f"{label}: get {name} exit 0, its line reads back",
                      ok and _read_back(line) == value,
                      (got.returncode, got.stdout[:80], got.stderr[-200:]))
            got = run(env, "get", "two", "--dir", d)
            lines = got.stdout.decode(encoding).splitlines()
            check(f"{label}: get of two siblings, each line reads back",
                  got.returncode == 0 and sorted(_read_back(x) for x in lines[:2])
                  == sorted(["ä".encode(), "☃".encode()]), (got.returncode, got.stderr[-200:]))
            got = run(env, "get", "text", "--json", "--dir", d)
            check(f"{label}: get --json exit 0", got.returncode == 0, got.stderr[-200:])
            key = f"clé-{label}"
            put = run(env, "put", key, "välue ☃", "--dir", d)
            back = run({}, "get", key, "--dir", d)
            check(f"{label}: put of a non-ASCII key and value, read back under UTF-8",
                  put.returncode == 0 and back.stdout.decode().splitlines()[:1] == ["välue ☃"],
                  (put.returncode, put.stderr[-200:], back.stdout[:80]))
            gone = run(env, "delete", key, "--dir", d)
            check(f"{label}: delete of it exit 0", gone.returncode == 0
                  and run({}, "get", key, "--dir", d).returncode == 1, gone.stderr[-200:])
            status = run(env, "cluster", "status", "--dir", d)
            check(f"{label}: cluster status exit 0", status.returncode == 0,
                  status.stderr[-200:])
    finally:
        run({}, "cluster", "down", "--dir", d)
check.finish()
