"""Deletes as a new user makes them with the CLI and the Python client library
against `vdynamo cluster up` (the public case drives the simulator; 12a-12d drive
raw HTTP or the simulator): a delete of a key never written, a delete with a
stale context (an earlier get's) after the key was overwritten, many blind puts
from threads racing one delete, a delete covering one of two siblings, and
tombstones across a stop of the whole cluster (`cluster down` / `cluster up`)
and across one node's stop and start right after the delete (the node that
coordinated it).

3 processes, N=3 R=2 W=2 (`cluster up` defaults). Right value:
- `vdynamo delete never` says `(no value: nothing deleted)` and exits 0 (the
  documented idempotent delete, docs/runtime.md session 15), and `vdynamo get
  never` still finds nothing (exit 1); the library's `delete(missing_ok=False)` raises;
- a delete with a stale context leaves the value written after that context
  (get r=3: [v2]);
- of 8 threads' blind puts racing a delete with a context, every acknowledged
  put reads back (each a sibling, the deleted value gone);
- deleting one of two siblings with a context covering only it leaves the other;
- after `cluster down` + `cluster up`, and after stop/start of the delete's
  coordinator, every deleted key reads nothing at r=3 (`vdynamo get` exits 1),
  and a put with the delete's context reads back alone.

Run from the project's root: .venv/bin/python probes/12e-cli-and-library-deletes-across-restarts.py
"""
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, ".")
VD = str(Path(".venv/bin/vdynamo").resolve())
D = Path(tempfile.mkdtemp(prefix="vdynamo-12e-"))
bad: list[str] = []


def vd(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([VD, *args, "--dir", str(D)], capture_output=True, text=True,
                          timeout=timeout)


def check(what: str, ok: bool, seen: object) -> None:
    print(f"{'ok  ' if ok else 'FAIL'} {what}: {seen}")
    if not ok:
        bad.append(what)


def addresses() -> list[str]:
    text = (D / "cluster.toml").read_text()
    return [line.split('"')[1] for line in text.splitlines() if line.startswith("http =")]


try:
    up = vd("cluster", "up", "--nodes", "3", "--set", "tombstone_grace_s=0.5")
    assert up.returncode == 0, up.stderr
    import vdynamo
    db = vdynamo.connect(addresses())
    # 1. a key never written
    r = vd("delete", "never")
    check("vdynamo delete of a key never written says so", r.returncode == 0
          and "nothing deleted" in r.stderr, (r.returncode, r.stdout.strip()[:80], r.stderr.strip()[:120]))
    r = vd("get", "never", "--r", "3")
    check("vdynamo get never after it", r.returncode == 1, (r.returncode, r.stdout.strip()[:60]))
    try:
        db.delete("never2", missing_ok=False)
        check("library delete(missing_ok=False) of a missing key raises", False, "no error")
    except vdynamo.DynamoError as err:
        check("library delete(missing_ok=False) of a missing key raises", True, type(err).__name__)
    # 2. a stale context
    db.put("stale", b"v1")
    old = db.get("stale").context
    db.put("stale", b"v2", context=old)
    db.delete("stale", context=old)
    got = db.get("stale", r=3).values
    check("a delete with a stale context leaves the later value", list(got) == [b"v2"], list(got))
    # 3. threads' blind puts racing a delete with a context
    db.put("race", b"v0")
    ctx = db.get("race").context
    acked: list[bytes] = []
    lock = threading.Lock()

    def blind(i: int) -> None:
        with vdynamo.connect(addresses()) as mine:
            mine.put("race", b"p%d" % i)
            with lock:
                acked.append(b"p%d" % i)

    threads = [threading.Thread(target=blind, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    db.delete("race", context=ctx)
    for t in threads:
        t.join(30)
    time.sleep(1)
    got = sorted(db.get("race", r=3).values)
    check("every acknowledged blind put racing a delete is kept", got == sorted(acked), (got, sorted(acked)))
    # 4. a delete covering one of two siblings
    a = vdynamo.connect(addresses())
    a.put("sib", b"alice")
    alice_ctx = a.get("sib").context
    vdynamo.connect(addresses()).put("sib", b"bob")  # another client, blind: a sibling
    db.delete("sib", context=alice_ctx)
    got = sorted(db.get("sib", r=3).values)
    check("a delete covering one sibling leaves the other", got == [b"bob"], got)
    # 5. across restarts: the whole cluster, then one node
    keys = [f"gone{i}" for i in range(10)]
    for k in keys:
        assert vd("put", k, "x").returncode == 0
    for k in keys:
        r = vd("delete", k)
        assert r.returncode == 0, r.stderr
    db.close()
    a.close()
    r = vd("cluster", "down")
    check("cluster down", r.returncode == 0, r.returncode)
    r = vd("cluster", "up")
    check("cluster up again", r.returncode == 0, (r.returncode, r.stderr.strip()[-200:]))
    db = vdynamo.connect(addresses())
    back = [k for k in keys if db.get(k, r=3).values]
    check("deleted keys after cluster down/up read nothing", back == [], back)
    r = vd("get", "gone0", "--r", "3")
    check("vdynamo get gone0 exits 1", r.returncode == 1, (r.returncode, r.stdout.strip()[:60]))
    db.put("again", b"a1")
    ctx = db.get("again").context
    dctx = db.delete("again", context=ctx)
    for node in ("n1", "n2", "n3"):
        vd("cluster", "stop", node)
        vd("cluster", "start", node)
    time.sleep(2)
    got = db.get("again", r=3).values
    check("a deleted key after each node's stop/start reads nothing", list(got) == [], list(got))
    db.put("again", b"a2", context=dctx)
    got = db.get("again", r=3).values
    check("a put with the delete's context reads back alone", list(got) == [b"a2"], list(got))
    back = [k for k in keys if db.get(k, r=3).values]
    check("deleted keys after every node's restart read nothing", back == [], back)
    db.close()
finally:
    subprocess.run([VD, "cluster", "down", "--dir", str(D)], capture_output=True, timeout=60)
    shutil.rmtree(D, ignore_errors=True)
if bad:
    print("FAIL:", "; ".join(bad))
    sys.exit(1)
print("PASS")
