"""A node started on a *damaged* data file rather than a missing or restored one
(01a-01f delete the files or restore a backup): the disk was replaced with one
whose copy of the file is zero bytes long (a file system check emptied it), cut
in half, without its write-ahead log (`n2.sqlite-wal` not copied with it: the
commonest mistake of a file-level backup of SQLite), overwritten with random
bytes, or with its pages zeroed past the header (Cassandra's "corrupt sstable"
and Riak's "bitcask/leveldb corruption after a crash" reports).

Real processes (`serve --node`), 3 nodes, N=3 R=2 W=2, dvv. For each damage in
turn: 10 keys v1 at w=3 then v2 with v1's context at w=3 (`k0`..`k9`, a kind's
own prefix); n2 SIGKILLed, its file damaged, n2 started.
Right value: either n2 refuses to start, exiting non-zero with one line naming
the file (no traceback), or it starts and then every key read through n2 at r=1
is [v2] (never not found, never v1), a read-modify-write of `k0` through n2 at
w=1 and a blind put of a new key through n2 at w=1 are kept: after 6 s both read
at r=3 through n1 as written ([v3] and [new]). A refused n2 is then given an
empty file (the operator's fix) and must behave as the started ones.

Run from the project's root: .venv/bin/python probes/01g-damaged-data-file-at-start.py
"""
import glob
import os
import subprocess
import sys
import time

from _cluster import LocalNodes

bad: list[str] = []


def check(what: str, ok: bool, seen: object = "") -> None:
    if not ok:
        print(f"FAIL {what}: {str(seen)[:300]}")
        bad.append(what)


def damage(path: str, kind: str) -> None:
    with open(path, "rb") as file:
        data = file.read()
    wal = glob.glob(path + "-*")
    if kind == "zero bytes":
        data = b""
    elif kind == "cut in half":
        data = data[: len(data) // 2]
    elif kind == "random bytes":
        data = os.urandom(len(data))
    elif kind == "pages zeroed":
        data = data[:100] + bytes(len(data) - 100)
    if kind != "log lost":  # the other kinds keep no log either: a file copied alone
        with open(path, "wb") as file:
            file.write(data)
    for name in wal:
        os.remove(name)


def serve_n2(cluster: LocalNodes) -> tuple[subprocess.Popen[bytes], str]:
    log_path = cluster.dir / "n2.log"
    start = log_path.stat().st_size
    proc = cluster.start_node("n2")
    return proc, log_path.read_bytes()[start:].decode(errors="replace")


with LocalNodes(nodes=3, per_process=True) as cluster:
    for kind in ("zero bytes", "cut in half", "log lost", "random bytes", "pages zeroed"):
        prefix = kind.split()[0]
        keys = [f"{prefix}{i}" for i in range(10)]
        for key in keys:
            check(f"{kind}: v1 of {key}", cluster.put(key, b"v1", query="?w=3") == 200)
            context = cluster.read(key, query="?r=3")[1]
            check(f"{kind}: v2 of {key}", cluster.put(key, b"v2", context=context, query="?w=3") == 200)
        cluster.kill("n2")
        damage(str(cluster.dir / "n2.sqlite"), kind)
        proc, said = serve_n2(cluster)
        last = said.strip().splitlines()[-1] if said.strip() else ""
        if proc.poll() is not None:
            print(f"{kind}: n2 refused (exit {proc.returncode}): {last[:200]}")
            check(f"{kind}: refused without a traceback", "Traceback" not in said, said[-500:])
            check(f"{kind}: the refusal names the file", "n2.sqlite" in last, last)
            for name in glob.glob(str(cluster.dir / "n2.sqlite*")):
                os.remove(name)
            proc, said = serve_n2(cluster)
            check(f"{kind}: n2 starts on an empty file", proc.poll() is None, said[-500:])
        else:
            print(f"{kind}: n2 started")
        reads = {key: cluster.read(key, node="n2", query="?r=1")[0] for key in keys}
        wrong = {key: got for key, got in reads.items() if got != [b"v2"]}
        check(f"{kind}: every key read through n2 at r=1 is [v2]", not wrong, wrong)
        context = cluster.read(keys[0], node="n2", query="?r=1")[1]
        check(f"{kind}: read-modify-write through n2 at w=1",
              cluster.put(keys[0], b"v3", node="n2", context=context, query="?w=1") == 200)
        check(f"{kind}: blind new key through n2 at w=1",
              cluster.put(f"{prefix}-new", b"new", node="n2", query="?w=1") == 200)
        time.sleep(6)
        got = cluster.values(keys[0], query="?r=3"), cluster.values(f"{prefix}-new", query="?r=3")
        check(f"{kind}: the w=1 writes are kept", got == ([b"v3"], [b"new"]), got)
        print(f"{kind}: reads through n2 {'all [v2]' if not wrong else wrong}; after: {got}")
if bad:
    print(f"FAIL: {len(bad)} checks failed")
    sys.exit(1)
print("PASS")
