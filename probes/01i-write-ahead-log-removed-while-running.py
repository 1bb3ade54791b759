"""A replica whose SQLite write-ahead log is removed while it runs (01a-01g lose or
damage files of a *stopped* node; 01g removes the log of a stopped one): an operator
or a disk-space clean-up deletes `n2.sqlite-wal` ("a temporary file"), the process
goes on writing to the unlinked log, and after a crash (SIGKILL: no checkpoint) the
node starts on a store *behind* its last lifetime: what it wrote since its last
checkpoint is gone, its start count and meta included, while its peers hold the
writes it coordinated. Case 01's fault in this shape: the node's next lifetime
re-issues the dots of writes acknowledged in the lost one, and a new write under a
re-issued dot is taken for an old one (riak_kv#679's amnesia).

Real processes (`serve --node`), 3 nodes, N=3 R=2 W=2, dvv, fsync "always". 10 keys
at w=3; n2 SIGTERMed and started (a new lifetime, recorded in a new log); its
`n2.sqlite-wal` removed; through n2: 10 read-modify-writes of `hot` at w=2 and 5
blind puts of `blind` at w=2; n2 SIGKILLed and started; through n2 again: 10 more
read-modify-writes of `hot` and 5 more blind puts of `blind`.
Right value: 4 s later, at r=3 through every node: `hot` [its last acknowledged
value], `blind` the 10 blind values acknowledged (dvv keeps concurrent blind writes
as siblings: none lost), every key [its value].

Run from the project's root: .venv/bin/python probes/01i-write-ahead-log-removed-while-running.py
"""
import contextlib
import sqlite3
import time

from _cluster import Checks, LocalNodes

check = Checks(verbose=True)


def incarnation(path: object) -> bytes:
    """The store's start count (meta ``incarnation``), read as the file stands."""
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
        row = db.execute("SELECT value FROM meta WHERE name = 'incarnation'").fetchone()
    return bytes(row[0]) if row else b""


with LocalNodes(nodes=3, per_process=True, extra_cluster='clock = "dvv"') as c:
    for i in range(10):
        assert c.put(f"k{i}", b"v%d" % i, query="?w=3") == 200
    assert c.put("hot", b"h0", query="?w=3") == 200
    proc = c.procs.pop("n2")
    proc.terminate()
    proc.wait(20)
    c.start_node("n2")
    time.sleep(2)
    wal = c.dir / "n2.sqlite-wal"
    check("n2's log exists while it runs", wal.exists(), sorted(p.name for p in c.dir.iterdir()))
    running = incarnation(c.dir / "n2.sqlite")
    wal.unlink(missing_ok=True)
    last = b"h0"
    blind: list[bytes] = []
    step = 0

    def writes(rounds: int) -> None:
        global last, step
        for _ in range(rounds):
            step += 1
            _, ctx = c.read("hot", node="n2", query="?r=2")
            if c.put("hot", b"h%d" % step, node="n2", context=ctx, query="?w=2") == 200:
                last = b"h%d" % step
        for i in range(5):
            value = b"b%d-%d" % (step, i)
            if c.put("blind", value, node="n2", query="?w=2") == 200:
                blind.append(value)

    writes(10)
    c.kill("n2")
    behind = incarnation(c.dir / "n2.sqlite")
    check("the store is behind (its start count lost with the log)", behind < running,
          (behind, running))
    proc = c.start_node("n2")
    check("n2 restarts on its store behind", proc.poll() is None, proc.poll())
    time.sleep(3)
    writes(10)
    time.sleep(4)
    for n in c.names:
        got = c.values("hot", node=n, query="?r=3")
        check(f"hot at r=3 through {n} is [{last.decode()}]", got == [last], got)
        got = sorted(c.values("blind", node=n, query="?r=3"))
        check(f"blind at r=3 through {n}: the {len(blind)} acknowledged", got == sorted(blind),
              [v.decode() for v in got])
    wrong = {f"k{i}": c.values(f"k{i}", node="n2", query="?r=3") for i in range(10)}
    check("every key [its value]",
          all(v == [b"v" + k[1:].encode()] for k, v in wrong.items()), wrong)
    log = (c.dir / "n2.log").read_text(errors="replace")
    check("no traceback in n2's log", "Traceback" not in log, log[-300:])
check.finish()
