"""Two processes on one data file after its lock file was removed (20d is a second
process claiming a member's *name* with its own data; 01d a cloned file): an
operator (or a clean-up script: "remove stale *.lock files before a restart", a
common step for Riak's `ring` directory and PostgreSQL's `postmaster.pid`) removes
`n2.sqlite.lock` while n2 runs; then a supervisor starts n2 again (the unit
restarted while the old process lingers), or a copy of the cluster file with
other ports (a twin). Both would then write one store: two lifetimes' actors,
counters and incarnations on one file (dots minted twice: case 01's kind).

Real processes (`serve --node`), 3 nodes, N=3 R=2 W=2, dvv. 10 keys at w=3; n2's
lock file removed; (a) `serve --node n2` again from the same file (its ports in
use); (b) a twin: a copy of the cluster file beside it (the same data file by
default) whose n2 has other ports, started, and if it runs, a put of `twin`
through it at w=1; (c) a twin whose data path is a symlink to n2's file (its
lock file another); then 20 read-modify-writes of `hot` through the original n2
at w=2, the original n2 SIGKILLed and restarted, 5 more.
Right value: none of the three second processes runs (each exits non-zero naming the data
file in use); the original n2 answers throughout; `hot` at r=3 through every node
is exactly its last acknowledged value; every key [its value]; n2's store opens.

Run from the project's root: .venv/bin/python probes/01h-lock-file-removed-twin-on-one-data-file.py
"""
import re
import time

from _cluster import Checks, LocalNodes, free_port

check = Checks(verbose=True)


with LocalNodes(nodes=3, per_process=True, extra_cluster='clock = "dvv"') as c:
    for i in range(10):
        assert c.put(f"k{i}", b"v%d" % i, query="?w=3") == 200
    assert c.put("hot", b"h0", query="?w=3") == 200
    original = c.procs["n2"]
    (c.dir / "n2.sqlite.lock").unlink()
    log = c.dir / "n2.log"
    start = log.stat().st_size
    again = c.start_node("n2", wait=False)
    c.procs["n2"] = original
    try:
        again.wait(20)
    except Exception:  # noqa: BLE001 - still running: the check says so
        pass
    said = log.read_text(errors="replace")[start:].strip().splitlines()
    check("(a) a second `serve --node n2` exits", again.poll() not in (None, 0),
          (again.poll(), said[-1:]))
    check("(a) it names the data file in use", bool(said) and "n2.sqlite" in said[-1],
          said[-1:])
    if again.poll() is None:
        again.kill()
        again.wait(10)
    text = c.config.read_text()
    twin_peer, twin_http = free_port(), free_port()
    twin_text = re.sub(r'(\[nodes\.n2\]\npeer = )"[^"]+"\nhttp = "[^"]+"',
                       f'\\1"127.0.0.1:{twin_peer}"\nhttp = "127.0.0.1:{twin_http}"', text)
    twin_file = c.dir / "twin.toml"
    twin_file.write_text(twin_text)
    twin_file.chmod(0o600)
    start = log.stat().st_size
    twin = c.start_node("n2", config=twin_file, wait=False)
    c.procs["n2"] = original
    c.procs["twin"] = twin
    time.sleep(6)
    said = log.read_text(errors="replace")[start:].strip().splitlines()
    check("(b) a twin n2 with other ports on the same data file exits",
          twin.poll() not in (None, 0), (twin.poll(), said[-1:]))
    if twin.poll() is None:
        c.http["twin"] = twin_http
        code = c.put("twin", b"t", node="twin", query="?w=1")
        print(f"    the twin answered a w=1 put: {code}")
    # (c) a twin whose data path is a symlink to n2's file (its own lock file)
    (c.dir / "alias.sqlite").symlink_to(c.dir / "n2.sqlite")
    alias_file = c.dir / "alias.toml"
    alias_peer, alias_http = free_port(), free_port()  # its own ports: not (b)'s
    alias_file.write_text(twin_text.replace(
        f'peer = "127.0.0.1:{twin_peer}"\nhttp = "127.0.0.1:{twin_http}"',
        f'peer = "127.0.0.1:{alias_peer}"\nhttp = "127.0.0.1:{alias_http}"\n'
        f'data = "{c.dir / "alias.sqlite"}"'))
    alias_file.chmod(0o600)
    aliased = c.start_node("n2", config=alias_file, wait=False)
    c.procs["n2"] = original
    time.sleep(6)
    said = log.read_text(errors="replace").strip().splitlines()
    check("(c) a twin n2 on a symlink to the data file exits", aliased.poll() not in (None, 0),
          (aliased.poll(), said[-1:]))
    if aliased.poll() is None:
        aliased.terminate()
        aliased.wait(20)
    last = b"h0"
    for i in range(1, 21):
        _, ctx = c.read("hot", node="n2", query="?r=2")
        if c.put("hot", b"h%d" % i, node="n2", context=ctx, query="?w=2") == 200:
            last = b"h%d" % i
    if twin.poll() is None:
        twin.terminate()
        twin.wait(20)
    c.procs.pop("twin", None)
    c.kill("n2")
    c.start_node("n2")
    time.sleep(2)
    check("n2 restarts on its store", c.procs["n2"].poll() is None, c.procs["n2"].poll())
    for i in range(21, 26):
        _, ctx = c.read("hot", node="n2", query="?r=2")
        if c.put("hot", b"h%d" % i, node="n2", context=ctx, query="?w=2") == 200:
            last = b"h%d" % i
    time.sleep(2)
    for n in c.names:
        got = c.values("hot", node=n, query="?r=3")
        check(f"hot at r=3 through {n} is [{last.decode()}]", got == [last], got)
    wrong = {f"k{i}": c.values(f"k{i}", node="n2", query="?r=3") for i in range(10)}
    wrong = {k: v for k, v in wrong.items() if v != [b"v" + k[1:].encode()]}
    check("every key [its value]", not wrong, wrong)
check.finish()
