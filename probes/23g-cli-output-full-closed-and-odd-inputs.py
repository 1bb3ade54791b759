"""The CLI as scripts drive it, where its *output* or its inputs are odd: the answer
redirected to a full disk (`vdynamo get k > out` on a full file system: `/dev/full`),
the standard output closed (`>&-`, a cron line or a daemon's), a reader that goes
away (`| head -c 1`), `--value-file` naming a directory or a missing file, and
`--node` pointing at an HTTP server that is not a node (a stale address now
another service). 23f tried the options' values, 22e the keys and values.

3 processes (`vdynamo cluster up`). Right value: each failure exit 1 (2 for bad
arguments) with one line on stderr naming why, never a traceback and never exit 0
when the answer went nowhere; a put whose context could not be printed says it was
made (and the key holds its value); a reader gone early exit 0 (documented).

Run from the project's root: .venv/bin/python probes/23g-cli-output-full-closed-and-odd-inputs.py
"""
import contextlib
import http.server
import os
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

sys.path.insert(0, ".")
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _cluster import Checks, vdynamo_command

check = Checks()
V = vdynamo_command()[0]


def run(*args: str, stdout: object = subprocess.PIPE, close: bool = False,
        shell_pipe: str | None = None) -> subprocess.CompletedProcess[str]:
    if shell_pipe:
        line = " ".join(f"'{a}'" for a in (V, *args)) + f" | {shell_pipe}; exit ${{PIPESTATUS[0]}}"
        return subprocess.run(["bash", "-c", line], capture_output=True, text=True, timeout=60)
    return subprocess.run([V, *args], stdout=stdout, stderr=subprocess.PIPE, text=True,  # type: ignore[call-overload]
                          timeout=60, preexec_fn=(lambda: os.close(1)) if close else None)


def one_line(what: str, done: subprocess.CompletedProcess[str], status: int = 1,
             says: str = "") -> None:
    err = done.stderr or ""
    check(what, done.returncode == status and "Traceback" not in err and err.count("\n") == 1
          and says in err, (done.returncode, err[-300:]))


with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as stack:
    d = str(Path(tmp) / "c")
    up = subprocess.run([V, "cluster", "up", "--nodes", "3", "--dir", d], capture_output=True,
                        text=True, timeout=120)
    stack.callback(lambda: subprocess.run([V, "cluster", "down", "--dir", d],
                                          capture_output=True, timeout=120))
    check("cluster up", up.returncode == 0, up.stderr)
    run("put", "k", "v0", "--dir", d)
    full = stack.enter_context(open("/dev/full", "w"))

    one_line("get > /dev/full", run("get", "k", "--dir", d, stdout=full),
             says="No space left on device")
    one_line("get --json > /dev/full", run("get", "k", "--json", "--dir", d, stdout=full),
             says="No space left on device")
    one_line("put > /dev/full: says it was made",
             run("put", "k", "v1", "--dir", d, stdout=full), says="was made")
    got = run("get", "k", "--dir", d)
    check("put > /dev/full: the key holds v1 (a sibling of v0: a blind put)",
          "v1" in got.stdout.splitlines(), got.stdout)
    one_line("delete > /dev/full: says it was made",
             run("delete", "k", "--dir", d, stdout=full), says="was made")
    check("delete > /dev/full: the key reads nothing",
          run("get", "k", "--dir", d).returncode == 1, "")
    one_line("cluster status > /dev/full", run("cluster", "status", "--dir", d, stdout=full),
             says="No space left on device")
    run("put", "k", "v2", "--dir", d)
    one_line("get >&-", run("get", "k", "--dir", d, stdout=subprocess.DEVNULL, close=True),
             says="closed")
    big = "x" * 100000  # argv takes 128 KiB an argument
    run("put", "big", big, "--dir", d)
    done = run("get", "big", "--dir", d, shell_pipe="head -c 1 > /dev/null")
    check("get | head -c 1: exit 0, no traceback",
          done.returncode == 0 and "Traceback" not in done.stderr, (done.returncode, done.stderr[-200:]))

    for what, path in (("DIRECTORY", tmp), ("MISSING", str(Path(tmp) / "missing"))):
        done = run("put", "f", "--value-file", path, "--dir", d)
        one_line(f"put --value-file {what}: exit 1 or 2", done,
                 status=done.returncode if done.returncode in (1, 2) else 1)

    class Plain(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Plain)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    stack.callback(server.shutdown)
    other = f"127.0.0.1:{server.server_address[1]}"
    for verb, extra in (("get", ()), ("put", ("v",)), ("delete", ())):
        one_line(f"{verb} --node <not a node>",
                 run(verb, "k", *extra, "--node", other, "--timeout", "5"))
check.finish()
