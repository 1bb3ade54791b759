"""Every `vdynamo` command with its arguments missing, unknown or naming what is not
there, and a local cluster's directory *copied* while it runs (`cp -r D D2`: an
operator's backup of the directory, or a second checkout of a deployment): the
commands on the copy. 23f gives options values at their edges; 08g malformed
cluster files; nobody left the required arguments out or copied a directory.

`vdynamo cluster up --nodes 3 --dir D` in a temporary directory. Right value:

1. each of ~35 commands (`vdynamo` alone, `get` without a key, `cluster` without or
   with an unknown subcommand, `cluster stop` / `join` / `leave` / `remove` without a
   node or with an unknown one, `serve` without a file or a mode, `replay` /
   `show` / `check` of a missing file, unknown options, `--dir` of a missing
   directory...) exits 1 or 2 within 60 s (0 for `--version` and `help`), with no
   Python traceback, and the last line on stderr starting with `vdynamo` (or the
   usage for `vdynamo` alone); `put` / `delete --context` given the whole line `get`
   printed (``context: AgE...``) exit 1 naming the prefix, nothing sent;
2. the copy D2 of the running D: `get` / `put` / `delete --dir D2` exit 1 ("no node
   of the cluster in D2 is running"); `cluster status --dir D2` exits 1 naming the
   nodes as another directory's (not `ready`, exit 0); `cluster stop n1 --dir D2`
   exits 1; `cluster up --dir D2` exits 1 naming the ports in use; `cluster down
   --dir D2` stops nothing of D: afterwards `cluster status --dir D` exits 0 with its
   3 nodes ready and `get k --dir D` reads `v`.

Found (session 59, red team 10): step 2's `cluster status --dir D2` printed the three
nodes `ready`, exit 0 (with pid `-`), while `get --dir D2` said no node ran. Fixed in
vdynamo/cluster_cli.py (``_serves_elsewhere``: such a node reads `foreign`, exit 1);
tests/vdynamo/test_cli_status_foreign.py. Step 1: PASS before and after but for
the pasted context line (sent, refused "X-Vdynamo-Context: not valid base64", the
prefix not named; vdynamo/kv_cli.py ``_CONTEXT_LINE``,
tests/vdynamo/test_cli_context_line.py).

Run from the project's root: .venv/bin/python probes/23j-cli-missing-arguments-and-a-copied-directory.py
"""
from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _cluster import Checks, vdynamo_command  # noqa: E402

VD = vdynamo_command()
check = Checks()


def vd(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run([*VD, *args], capture_output=True, text=True,
                              timeout=timeout, check=False, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return subprocess.CompletedProcess(args, -1, "", f"TIMEOUT after {timeout} s")


root = Path(tempfile.mkdtemp(prefix="vdynamo-23j-"))
D, D2 = str(root / "D"), str(root / "D2")
try:
    up = vd("cluster", "up", "--nodes", "3", "--dir", D, timeout=120)
    check("cluster up: exit 0", up.returncode == 0, up.stderr[-200:])
    check("put k v", vd("put", "k", "v", "--dir", D).returncode == 0)
    missing = str(root / "missing")
    commands = [
        [], ["get"], ["put"], ["delete"], ["get", "k", "--node"], ["put", "k"],
        ["get", "k", "--dir", missing], ["put", "k", "v", "--dir", missing],
        ["cluster"], ["cluster", "bogus"], ["cluster", "status", "--dir", missing],
        ["cluster", "down", "--dir", missing], ["cluster", "stop", "--dir", D],
        ["cluster", "stop", "n9", "--dir", D], ["cluster", "start", "n1", "--dir", D],
        ["cluster", "up", "--nodes", "0", "--dir", str(root / "z")],
        ["join", "--dir", D], ["join", "n1", "--dir", D], ["leave", "--dir", D],
        ["leave", "n9", "--dir", D], ["remove", "--dir", D], ["remove", "n9", "--dir", D],
        ["remove", "n1", "--dir", D], ["serve"], ["serve", missing + ".toml", "--all"],
        ["serve", str(Path(D) / "cluster.toml")],
        ["serve", str(Path(D) / "cluster.toml"), "--node", "n9"],
        ["show", missing + ".toml"], ["check", missing + ".toml"], ["replay"],
        ["replay", missing + ".json"], ["ring", "--bogus"], ["bogus"],
        ["validate", "--bogus"], ["get", "k", "--bogus", "--dir", D],
    ]
    for args in commands:
        done = vd(*args)
        last = (done.stderr.strip().splitlines() or [""])[-1]
        ok = (done.returncode in (1, 2) and "Traceback" not in done.stderr
              and (last.startswith("vdynamo") or (not args and "usage" in done.stdout + done.stderr)
                   or (args == ["bogus"] and "vdynamo COMMAND --help" in last)))
        check(f"vdynamo {' '.join(args)}: exit 1/2, one line, no traceback", ok,
              f"exit {done.returncode}: {last[:200]}")
    line = vd("get", "k", "--dir", D).stdout.strip().splitlines()[-1]  # "context: ..."
    for command in ("put", "delete"):
        pasted = vd(command, "k", *(["w"] if command == "put" else []), "--context", line,
                    "--dir", D)
        check(f"{command} --context '<the line get printed>': exit 1 naming the prefix",
              pasted.returncode == 1 and "give what follows it" in pasted.stderr,
              pasted.stderr[-200:])
    kept = vd("get", "k", "--dir", D)
    check("k still reads v", kept.stdout.startswith("v\n"), kept.stdout[-200:])
    for args in (["--version"], ["help"]):
        done = vd(*args)
        check(f"vdynamo {' '.join(args)}: exit 0", done.returncode == 0, done.stderr[-200:])
    # 2. a copy of the running directory
    shutil.copytree(D, D2, ignore=shutil.ignore_patterns("*.db*", "*.log", "*.lock"))
    for args in (["get", "k"], ["put", "k", "w"], ["delete", "k"]):
        done = vd(*args, "--dir", D2)
        check(f"{args[0]} --dir D2 (a copy): exit 1, no node running",
              done.returncode == 1 and "is running" in done.stderr, done.stderr[-200:])
    status = vd("cluster", "status", "--dir", D2)
    check("cluster status --dir D2: exit 1, not `ready`", status.returncode == 1
          and " ready " not in status.stdout, (status.returncode, status.stdout[-300:]))
    stop = vd("cluster", "stop", "n1", "--dir", D2)
    check("cluster stop n1 --dir D2: exit 1", stop.returncode == 1, stop.stderr[-200:])
    again = vd("cluster", "up", "--dir", D2)
    check("cluster up --dir D2: exit 1, ports in use", again.returncode == 1
          and "in use" in again.stderr, again.stderr[-200:])
    vd("cluster", "down", "--dir", D2)
    status = vd("cluster", "status", "--dir", D)
    check("after down --dir D2: D still has 3 ready nodes", status.returncode == 0
          and status.stdout.count(" ready ") == 3, status.stdout[-300:])
    get = vd("get", "k", "--dir", D)
    check("after down --dir D2: get k --dir D reads v", get.stdout.startswith("v\n"),
          get.stderr[-200:])
finally:
    vd("cluster", "down", "--dir", D2)
    vd("cluster", "down", "--dir", D)
    shutil.rmtree(root, ignore_errors=True)
check.finish()
