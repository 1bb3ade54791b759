"""A member restarted with another secret (20a-20e are outsiders: a process
without the secret, forged frames, tampered contexts): an operator rotating the
cluster's secret one node at a time, as Cassandra's internode keystore or etcd's
peer certificates are rotated, or a deployment that gave one node a stale file.
The node is a real member (its name, ports and data), so its peers know it, but
the secret that authenticates the peer links and the contexts differs.

Real processes (`serve --node`), 3 nodes, N=3 R=2 W=2, dvv. 10 keys v1 at w=3
and a context of k0 read through n1. n3 SIGTERMed, its file given a new secret;
n3 started on it (its store was written under the old one), then with
`--adopt-store`. While it runs: a w=2 and a w=3 put through n1, an r=1 and an
r=2 read through n3, a put through n3 with n1's context of k0, a blind w=1 put of
`solo` through n3, the library (`vdynamo.connect` on the three, defaults) getting
and putting k1..k4. Then n3 SIGTERMed, started on the old file with
`--adopt-store` (the rotation undone), and 6 s later every key read at r=3
through each node.
Right value: n3 refuses its store without `--adopt-store` (exit non-zero, one
line naming the secret); with it, n3 stays outside the cluster (no peer link
authenticated: the w=3 put through n1 is refused, a 5xx, the w=2 one 200; n3's r=2
read a 5xx, its r=1 read its own v1 or a 503 naming the secret (it serves nothing
while no peer verifies it); n1's context refused by n3, a 4xx or that 503,
nothing written); each side's log names the secret (less than 200 lines in the
run, no traceback); the library's calls succeed through n1 and n2; after the
rotation is undone, at r=3 through every node each key holds every write
acknowledged: k0 [v2 via n1] (never n3's refused write), `solo` [s] if n3
acknowledged it (kept across its restart and spread), k1..k4 the library's values.

Run from the project's root: .venv/bin/python probes/20f-member-restarted-with-another-secret.py
"""
import re
import secrets
import time

import vdynamo
from _cluster import Checks, LocalNodes

check = Checks(verbose=True)


with LocalNodes(nodes=3, per_process=True, extra_cluster='clock = "dvv"') as c:
    for i in range(10):
        assert c.put(f"k{i}", b"v1", query="?w=3") == 200
    _, ctx_n1 = c.read("k0", node="n1", query="?r=3")
    proc = c.procs.pop("n3")
    proc.terminate()
    proc.wait(20)
    text = c.config.read_text()
    rotated = c.dir / "rotated.toml"
    rotated.write_text(re.sub(r'secret = "[0-9a-f]+"', f'secret = "{secrets.token_hex(24)}"',
                              text))
    rotated.chmod(0o600)
    log = c.dir / "n3.log"
    before = log.stat().st_size
    n3 = c.start_node("n3", config=rotated)
    if n3.poll() is None:  # started after all: wait for a refusal a little longer
        time.sleep(3)
    said = log.read_text(errors="replace")[before:].strip().splitlines()
    check("n3 on its store with another secret: refused", n3.poll() not in (None, 0),
          n3.poll())
    check("the refusal names the secret, one line", bool(said) and "secret" in said[-1]
          and "Traceback" not in "".join(said), said[-1:] if said else said)
    logs_before = {n: len((c.dir / f"{n}.log").read_text(errors="replace").splitlines())
                   for n in c.names}
    n3 = c.start_node("n3", config=rotated, args=("--adopt-store",))
    check("n3 with --adopt-store runs", n3.poll() is None, n3.poll())
    time.sleep(3)
    _, ctx5 = c.read("k5", node="n1", query="?r=2")
    check("w=2 put through n1: 200", c.put("k5", b"v2", context=ctx5, query="?w=2") == 200)
    w3 = c.put("k6", b"v2", query="?w=3")
    check("w=3 put through n1 refused (n3 is outside)", w3 >= 500, w3)
    r2 = c.request("GET", "k1", node="n3", query="?r=2")[0]
    check("r=2 read through n3 refused (it reaches no peer)", r2 >= 500, r2)
    code, _, body = c.request("GET", "k1", node="n3", query="?r=1", headers={"Accept": "*/*"})
    check("r=1 read through n3: its own v1, or a 503 naming the secret",
          (code, body) == (200, b"v1") or (code == 503 and b"secret" in body), (code, body[:150]))
    status = c.put("k0", b"forged", node="n3", context=ctx_n1, query="?w=1")
    check("n1's context through n3: a 4xx or 503, nothing written", 400 <= status < 500
          or status == 503, status)
    solo = c.put("solo", b"s", node="n3", query="?w=1")
    check("blind w=1 put of solo through n3: 200, or a 503", solo in (200, 503), solo)
    lib: dict[str, bytes] = {}
    with vdynamo.connect([f"127.0.0.1:{c.http[n]}" for n in c.names]) as db:
        for i in range(1, 5):
            try:
                got = db.get(f"k{i}")
                db.put(f"k{i}", b"lib%d" % i, context=got.context)
                lib[f"k{i}"] = b"lib%d" % i
            except vdynamo.OutcomeUnknownError as err:  # may or may not be written
                check(f"library on k{i}", False, err)
            except Exception as err:  # noqa: BLE001
                check(f"library on k{i}: no error", False, f"{type(err).__name__}: {err}")
    _, ctx = c.read("k0", node="n1", query="?r=2")
    check("k0 v2 through n1 (w=2)", c.put("k0", b"v2", context=ctx, query="?w=2") == 200)
    time.sleep(4)
    for n in c.names:
        lines = (c.dir / f"{n}.log").read_text(errors="replace").splitlines()[logs_before[n]:]
        named = [line for line in lines if "secret" in line]
        check(f"{n}'s log: under 200 lines, names the secret, no traceback",
              len(lines) < 200 and bool(named) and not any("Traceback" in x for x in lines),
              (len(lines), named[:1]))
    proc = c.procs.pop("n3")
    proc.terminate()
    proc.wait(20)
    n3 = c.start_node("n3", args=("--adopt-store",))
    check("n3 back on the old secret (--adopt-store)", n3.poll() is None, n3.poll())
    time.sleep(6)
    want = {"k0": [b"v2"], "solo": [b"s"] if solo == 200 else [], "k5": [b"v2"], **{k: [v] for k, v in lib.items()}}
    for n in c.names:
        got = {k: sorted(c.values(k, node=n, query="?r=3")) for k in want}
        check(f"every acknowledged write at r=3 through {n}", got == want, got)
check.finish()
