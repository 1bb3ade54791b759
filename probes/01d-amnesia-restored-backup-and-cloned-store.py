"""Riak kv679 on real processes, the two operator variants where the store comes back
*not empty* but *behind* (so "an empty store is a replaced disk" does not apply):

- backup: n2 is stopped (SIGTERM) and its data files copied (an operator's nightly
  backup); n2 coordinates two read-modify-writes of `kb` (its counter for kb moves on)
  and one of `kc`; n2 is then SIGKILLed and its files restored from the backup (the
  disk died, the backup is what there is), and started. A new client writes `kb` v4
  blind through n2 (w=2), and `kc` v3 blind through n2 at w=1. n2's restored counter
  is behind what n1 and n3 hold: a dot it re-issues is one they have seen.
- clone: `kx` v1 through n3; n1 is stopped; `kx` v2 (read-modify-write) through n3
  (n2 and n3 hold it); n3's disk dies and the operator copies n1's (stopped) data
  files to n3's path, n1 started again. n3 on the clone is started as is (it must be
  refused: the file records n1), then with `--adopt-store` (the operator insists). A
  new client writes `kx` v3 blind through n3.

3 processes, N=3 R=2 W=2, for dvv, server-vclock and client-vclock.
Right value, after a few anti-entropy rounds, at r=3 through n1 and n3 (n2 for kx):
kb [v3, v4] (v4 is concurrent with v3), kc holds v3 (v2 may stand beside it), kx
[v2, v3]; a read-modify-write of kb through n2 then leaves [v5] alone. No acknowledged
write vanishes; v1 never comes back.

Run from the project's root: .venv/bin/python probes/01d-amnesia-restored-backup-and-cloned-store.py
Loopback only, about 25 s a clock mode; every process stopped (SIGTERM, then SIGKILL).
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

sys.path.insert(0, ".")
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _cluster import LocalNodes, vdynamo_command

FAST = "gossip_interval = 0.25\nhint_scan_interval = 0.25\nanti_entropy_interval = 0.5"


def stop(c: LocalNodes, name: str) -> None:
    proc = c.procs.pop(name)
    os.kill(proc.pid, signal.SIGTERM)
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)


def files(c: LocalNodes, name: str) -> list[Path]:
    return sorted(c.dir.glob(f"{name}.sqlite*"))


def copy_store(c: LocalNodes, src: str, dest: str, into: Path | None = None) -> None:
    """``src``'s files (a stopped node's) copied as ``dest``'s, in ``c.dir`` or ``into``."""
    for f in files(c, dest) if into is None else []:
        f.unlink()
    for f in files(c, src):
        shutil.copy2(f, (into or c.dir) / f.name.replace(src, dest, 1))


def ready(c: LocalNodes, name: str, timeout: float = 20.0) -> bool:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{c.http[name]}/health/ready",
                                        timeout=2) as resp:
                if resp.status == 200:
                    return True
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.2)
    return False


def start_one(c: LocalNodes, name: str, *extra: str) -> None:
    """``vdynamo serve --node name`` (with ``extra``), its HTTP port waited for alone
    (``LocalNodes.start`` waits for every node's, and one is down here)."""
    with open(c.dir / f"{name}.log", "ab") as log:  # the child holds its own copy
        c.procs[name] = subprocess.Popen(
            [*vdynamo_command(), "serve", str(c.config), "--node", name, *extra],
            cwd=c.dir, stdout=log, stderr=log)
    ready(c, name)


def put(c: LocalNodes, key: str, value: bytes, node: str, client: str,
        context: str | None = None, query: str = "") -> int:
    headers = {"Content-Type": "application/octet-stream", "X-Vdynamo-Client": client}
    if context:
        headers["X-Vdynamo-Context"] = context
    return c.request("PUT", key, value, node, query, headers)[0]


def rmw(c: LocalNodes, key: str, value: bytes, node: str, client: str) -> int:
    _, ctx = c.read(key, node=node)
    return put(c, key, value, node, client, ctx)


def run(clock: str) -> list[str]:
    wrong: list[str] = []
    with LocalNodes(nodes=3, per_process=True,
                    extra_cluster=f'clock = "{clock}"\n{FAST}') as c:
        # -- backup --------------------------------------------------------------------
        codes = [put(c, "kb", b"v1", "n2", "alice"), put(c, "kc", b"v1", "n2", "alice")]
        time.sleep(1.0)
        stop(c, "n2")
        backup = c.dir / "backup"
        backup.mkdir()
        copy_store(c, "n2", "n2", into=backup)
        c.start("n2")
        ready(c, "n2")
        codes += [rmw(c, "kb", b"v2", "n2", "alice"), rmw(c, "kb", b"v3", "n2", "alice"),
                  rmw(c, "kc", b"v2", "n2", "alice")]
        time.sleep(1.0)
        c.kill("n2")
        for f in files(c, "n2"):
            f.unlink()
        for f in backup.iterdir():
            shutil.copy2(f, c.dir / f.name)
        c.start("n2")
        was_ready = ready(c, "n2")
        codes += [put(c, "kb", b"v4", "n2", "bob"), put(c, "kc", b"v3", "n2", "bob", query="?w=1")]
        # -- clone ---------------------------------------------------------------------
        codes += [put(c, "kx", b"v1", "n3", "alice")]
        time.sleep(1.0)
        stop(c, "n1")
        codes += [rmw(c, "kx", b"v2", "n3", "alice")]
        c.kill("n3")
        copy_store(c, "n1", "n3")
        start_one(c, "n1")
        plain = subprocess.run([*vdynamo_command(), "serve", str(c.config), "--node", "n3"],
                               cwd=c.dir, capture_output=True, text=True, timeout=30, check=False)
        refused = plain.returncode != 0 and "another node" in plain.stderr + plain.stdout
        start_one(c, "n3", "--adopt-store")
        codes += [put(c, "kx", b"v3", "n3", "bob")]
        time.sleep(6.0)  # anti-entropy and read repair
        seen = {(key, node): sorted(c.values(key, node=node, query="?r=3"))
                for key, nodes in (("kb", "n1 n3"), ("kc", "n1 n3"), ("kx", "n1 n2"))
                for node in nodes.split()}
        codes += [rmw(c, "kb", b"v5", "n2", "carol")]
        time.sleep(2.0)
        after = {node: sorted(c.values("kb", node=node, query="?r=3")) for node in c.names}
        print(f"{clock:13}: puts {codes}; n2 ready after the restore {was_ready}; "
              f"clone served as is refused {refused} (exit {plain.returncode}: "
              f"{(plain.stderr.strip().splitlines() or [''])[-1][:110]!r})")
        for (key, node), vals in seen.items():
            print(f"    {key} r=3 via {node}: {vals}")
        print(f"    kb after carol's v5 (r=3 via n1, n2, n3): {list(after.values())}")
        if any(code >= 300 for code in codes):
            wrong.append(f"{clock}: a put failed: {codes}")
        if not refused:
            wrong.append(f"{clock}: n3 served n1's cloned file without --adopt-store")
        for (key, node), vals in seen.items():
            right = {"kb": vals == [b"v3", b"v4"], "kx": vals == [b"v2", b"v3"],
                     "kc": b"v3" in vals and set(vals) <= {b"v2", b"v3"}}[key]
            if not right:
                wrong.append(f"{clock}: {key} via {node} read {vals}")
        if any(vals != [b"v5"] for vals in after.values()):
            wrong.append(f"{clock}: kb after carol's read-modify-write {list(after.values())}")
    return wrong


def main() -> None:
    wrong: list[str] = []
    for clock in sys.argv[1:] or ("dvv", "server-vclock", "client-vclock"):
        wrong += run(clock)
    for line in wrong:
        print("FAIL:", line)
    if wrong:
        sys.exit(1)
    print("PASS")


if __name__ == "__main__":
    main()
