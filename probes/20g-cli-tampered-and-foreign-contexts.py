"""Tampered and foreign contexts through the CLI (20e sends them by raw HTTP, 23f gives
the CLI garbage ones): an operator script that keeps the context `vdynamo get --json`
printed in a shell variable, edits it by mistake (a character changed, cut by a
terminal's line wrap, a quote left in), or passes the context of another key, of a
deleted key, or of another cluster with the same secret and node names (a staging
copy); `vdynamo put --context` and `vdynamo delete --context` with each.

Real processes, 3 nodes, N=3 R=2 W=2, dvv; a second cluster of the same secret and
node names under another `[cluster] name`. `k` written v1 then v2 (its context).
Right value: every put and delete with an edited or foreign context exits non-zero
with one line (no traceback) and writes nothing: `k` reads [v2] at r=3 through every
node afterwards; a put with `k`'s true context still exits 0 and reads back alone.

Run from the project's root: .venv/bin/python probes/20g-cli-tampered-and-foreign-contexts.py
"""
import json
import re
import shutil
import subprocess

from _cluster import Checks, LocalNodes, vdynamo_command

check = Checks()


def cli(c: LocalNodes, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*vdynamo_command(), *args, "--node", f"127.0.0.1:{c.http['n1']}",
                           "--node", f"127.0.0.1:{c.http['n2']}"],
                          capture_output=True, text=True, timeout=60, check=False)


def context_of(c: LocalNodes, key: str) -> str:
    done = cli(c, "get", key, "--json")
    return str(json.loads(done.stdout)["context"])


with LocalNodes(nodes=3, per_process=True, extra_cluster='clock = "dvv"') as c:
    secret = re.search(r'secret = "([0-9a-f]+)"', c.config.read_text()).group(1)  # type: ignore[union-attr]
    other = LocalNodes(nodes=3, per_process=True, extra_cluster='clock = "dvv"\nname = "staging"')
    other.config.write_text(re.sub(r'secret = "[0-9a-f]+"', f'secret = "{secret}"',
                                   other.config.read_text()))
    try:
        other.start()
        assert other.put("k", b"staging") == 200
        foreign = context_of(other, "k")
    finally:
        other.stop()
        shutil.rmtree(other.dir, ignore_errors=True)
    assert cli(c, "put", "k", "v1").returncode == 0
    assert cli(c, "put", "k", "v2", "--context", context_of(c, "k")).returncode == 0
    assert cli(c, "put", "other", "o1").returncode == 0
    assert cli(c, "put", "gone", "g1").returncode == 0
    gone_ctx = context_of(c, "gone")
    assert cli(c, "delete", "gone", "--context", gone_ctx).returncode == 0
    true_ctx = context_of(c, "k")
    mid = len(true_ctx) // 2
    flip = "A" if true_ctx[mid] != "A" else "B"
    variants = {
        "a character changed": true_ctx[:mid] + flip + true_ctx[mid + 1:],
        "cut in half": true_ctx[:mid],
        "a quote left in": f'"{true_ctx}"',
        "a newline inside": true_ctx[:mid] + "\n" + true_ctx[mid:],
        "another key's": context_of(c, "other"),
        "the deleted key's": gone_ctx,
        "another cluster's (same secret and names)": foreign,
    }
    for what, ctx in variants.items():
        for command in (["put", "k", "bad"], ["delete", "k"]):
            done = cli(c, *command, "--context", ctx)
            lines = (done.stdout + done.stderr).strip().splitlines()
            print(f"{command[0]} with {what}: exit {done.returncode}: "
                  f"{lines[-1][:150] if lines else ''}")
            check(f"{command[0]} with {what}: refused", done.returncode != 0, done.returncode)
            check(f"{command[0]} with {what}: one line, no traceback",
                  len(lines) == 1 and "Traceback" not in done.stderr, lines[-3:])
    for n in c.names:
        got = c.values("k", node=n, query="?r=3")
        check(f"k at r=3 through {n}: [v2]", got == [b"v2"], got)
    done = cli(c, "put", "k", "v3", "--context", true_ctx)
    check("a put with the true context", done.returncode == 0, done.stderr)
    got = c.values("k", node="n3", query="?r=3")
    check("k [v3] after it", got == [b"v3"], got)
check.finish()
