"""The CLI given options at their edges (a new user's typo, a unit mistaken, "no
timeout" written as 1e308): every numeric option of `get`, `put`, `delete`,
`cluster up`, `prove`, `ring` and `validate` at 1e308, nan, -1, 0 and one past
its bound; node addresses that are not host:port; contexts that are garbage,
empty or hold a space; `join` with names that are not TOML keys or directory
names (`../x`, `a"b`, `a]b`, a space, 300 characters, `ñ4`, `n4.x`).

`vdynamo cluster up --nodes 3` in a temporary directory (loopback), `k` = v.
Right value: each command exits 1 or 2 within 60 s with its last line starting
`vdynamo COMMAND` (one line, never a Python traceback, never hanging or eating
the machine's memory); nothing is written (`k` still reads `v`, the cluster
still has its 3 nodes).

Found (session 56): `vdynamo prove --timeout 1e308` died with an OverflowError
traceback (converting to Z3's milliseconds), and `vdynamo ring --nodes 99999999`
and `--partitions 99999999999` ran until the machine's memory ran out. Fixed:
model_check/proofs/cli.MAX_TIMEOUT_S (a day) and vdynamo/ring_cli.RING_TOKENS_MAX
(2**18 tokens or partitions); tests/vdynamo/test_user_probe.py and
tests/vdynamo/test_ring_cli.py pin them.

Run from the project's root: .venv/bin/python probes/23f-cli-options-at-their-edges.py
"""
import subprocess
import sys
import tempfile
from pathlib import Path

VD = str(Path(".venv/bin/vdynamo").resolve())
bad: list[str] = []


def check(what: str, ok: bool, seen: object = "") -> None:
    if not ok:
        print(f"FAIL {what}: {str(seen)[:300]}")
        bad.append(what)


def refused(*argv: str) -> None:
    shown = " ".join(a[:40] for a in argv)
    try:
        done = subprocess.run([VD, *argv], capture_output=True, text=True, timeout=60, check=False)
    except subprocess.TimeoutExpired:
        check(f"{shown}: answered within 60 s", False, "still running")
        return
    said = (done.stdout + done.stderr).strip()
    last = said.splitlines()[-1] if said else ""
    check(f"{shown}: exit 1 or 2", done.returncode in (1, 2), (done.returncode, last))
    check(f"{shown}: no traceback", "Traceback" not in said, said[-300:])
    check(f"{shown}: one line naming the command", last.startswith(f"vdynamo {argv[0]}"), last)


with tempfile.TemporaryDirectory(prefix="vdynamo-probe-") as directory:
    where = ["--dir", str(Path(directory) / "c")]
    subprocess.run([VD, "cluster", "up", "--nodes", "3", *where], capture_output=True, timeout=120,
                   check=True)
    try:
        subprocess.run([VD, "put", "k", "v", *where], capture_output=True, timeout=60, check=True)
        for command in (["get", "k"], ["put", "k", "x"], ["delete", "k"]):
            for option in ("--timeout", "--node-timeout"):
                for value in ("1e308", "nan", "-1", "0", "3601"):
                    refused(*command, *where, option, value)
            refused(*command, *where, "--max-answer-bytes", "-1")
            for node in ("garbage", "127.0.0.1:99999", "http://127.0.0.1:1/x", "[::1"):
                refused(*command, "--node", node)
        refused("get", "k", *where, "--r", "99")
        refused("get", "k", *where, "--r", "1.5")
        refused("put", "k", "x", *where, "--w", "1e3")
        for context in ("garbage!", "", "a b", "A" * 100_000):
            refused("put", "k", "x", *where, "--context", context)
            refused("delete", "k", *where, "--context", context)
        for name in ("", "../x", 'a"b', "a]b", "n 4", "x" * 300, "ñ4", "n4.x"):
            refused("join", name, *where)
        for setting in ("request_timeout=1e308", "tombstone_grace_s=nan", "max_value_bytes=1e3",
                        "gossip_interval=1e-9", "=1"):
            refused("cluster", "up", "--nodes", "3", "--dir", str(Path(directory) / "d"),
                    "--set", setting)
        refused("cluster", "up", "--nodes", "3", "--dir", str(Path(directory) / "d"),
                "--wait-ready", "1e308")
        for value in ("1e308", "86401", "nan", "-1"):
            refused("prove", "vclock_descends_reflexive", "--no-agreement", "--timeout", value)
        for option, value in (("--nodes", "99999999"), ("--partitions", "99999999999"),
                              ("--tokens", "10000000"), ("--nodes", "1e308"), ("--trials", "-5")):
            refused("ring", option, value)
        refused("validate", "--seeds", "0")
        got = subprocess.run([VD, "get", "k", *where], capture_output=True, text=True, timeout=60,
                             check=False).stdout.splitlines()
        check("k still reads v", got[:1] == ["v"], got)
        status = subprocess.run([VD, "cluster", "status", *where], capture_output=True, text=True,
                                timeout=60, check=False).stdout
        check("the cluster still has its 3 nodes", sum(" ready " in line for line in
                                                       status.splitlines()) == 3, status)
    finally:
        subprocess.run([VD, "cluster", "down", *where], capture_output=True, timeout=120,
                       check=False)
if bad:
    print(f"FAIL: {len(bad)} checks failed")
    sys.exit(1)
print("PASS")
