"""Deletes of keys that were never written, at every R and W, through raw HTTP, the
library and the CLI, with every node up and with one down (a clean-up script that
deletes a list of ids, some never stored: Riak's `delete` of a missing key answers
404; Cassandra writes a tombstone anyway); then a delete with a stale context racing a
put with a fresh one at the same moment, one replica killed at once and kept down
through many tombstone graces, and the key read by the library's default client
(no resolve hook: a tombstone sibling must not show as a value). 12e deletes one
missing key with the defaults; 12i and 12n race deletes without a node down past
the grace; 12a keeps a node down past the grace without a racing put.

Real processes (`serve --node`), 3 nodes, N=3 R=2 W=2, dvv,
`tombstone_grace_s = 0.5`. Right values:

1. every node up, each R, W in 1..3: HTTP DELETE 404 (nothing written, a context
   answered); the library's ``delete`` returns a context, with ``missing_ok=False``
   RequestRefusedError; `vdynamo delete --r R --w W` exit 0 saying `(no value:
   nothing deleted)`;
2. n3 down: the same for R <= 2; R = 3: HTTP 503 `not-written`, the library
   NoNodeError, the CLI exit 1 with one line;
3. n3 back: every one of those keys reads 404 at r=3 through every node;
4. 10 keys ``race<i>`` = v1 (w=3); A and B each read it (context C1); at once
   (threads behind a barrier) A deletes with C1 through n1 and B puts v2 with C1
   through n2; n3 SIGKILLed at once, kept down 4 s (8 graces), started again;
   then, 4 s later, each key reads [v2] at r=3 through every node and at r=1
   through n3, and the library's default get answers ``values == [b"v2"]``.

Run from the project's root: .venv/bin/python probes/12o-never-written-deletes-every-quorum-and-a-stale-delete-racing.py
"""
import json
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, ".")
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _cluster import Checks, LocalNodes, vdynamo_command

import vdynamo
from vdynamo import NoNodeError, RequestRefusedError

check = Checks()
V = vdynamo_command()


def cli(cluster: LocalNodes, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*V, *args, "--node", f"127.0.0.1:{cluster.http['n1']}"],
                          capture_output=True, text=True, timeout=60)


def round_of(cluster: LocalNodes, db: vdynamo.Client, tag: str, down: bool) -> list[str]:
    keys = []
    for r in (1, 2, 3):
        for w in (1, 2, 3):
            what = f"{tag} r={r} w={w}"
            refused = down and r == 3
            key = f"never-{tag}-{r}{w}"
            keys.append(key)
            status, headers, body = cluster.request("DELETE", key, query=f"?r={r}&w={w}")
            answer = json.loads(body or b"{}")
            if refused:
                check(f"{what}: HTTP 503 not-written", status == 503
                      and answer.get("outcome") == "not-written", (status, body[:160]))
            else:
                context = {k.lower(): v for k, v in headers.items()}.get("x-vdynamo-context")
                check(f"{what}: HTTP 404 with a context", status == 404 and bool(context),
                      (status, body[:160]))
            key = f"never-lib-{tag}-{r}{w}"
            keys.append(key)
            try:
                said = db.delete(key, r=r, w=w)
                check(f"{what}: library delete returns a context", not refused
                      and isinstance(said, str), said)
            except NoNodeError as err:
                check(f"{what}: library delete NoNodeError only when R cannot be met",
                      refused, err)
            try:
                db.delete(key, r=r, w=w, missing_ok=False)
                check(f"{what}: library delete(missing_ok=False) raises", False)
            except RequestRefusedError:
                check(f"{what}: RequestRefusedError only when R can be met", not refused)
            except NoNodeError as err:
                check(f"{what}: NoNodeError only when R cannot be met", refused, err)
            key = f"never-cli-{tag}-{r}{w}"
            keys.append(key)
            done = cli(cluster, "delete", key, "--r", str(r), "--w", str(w))
            if refused:
                check(f"{what}: CLI exit 1, one line", done.returncode == 1
                      and done.stderr.count("\n") == 1 and "Traceback" not in done.stderr,
                      (done.returncode, done.stderr[-200:]))
            else:
                check(f"{what}: CLI exit 0, nothing deleted", done.returncode == 0
                      and "nothing deleted" in done.stdout + done.stderr,
                      (done.returncode, done.stdout[-120:], done.stderr[-200:]))
    return keys


with LocalNodes(nodes=3, per_process=True, extra_cluster="tombstone_grace_s = 0.5") as cluster:
    nodes = [f"127.0.0.1:{cluster.http[name]}" for name in cluster.names]
    with vdynamo.connect(nodes) as db:
        keys = round_of(cluster, db, "up", down=False)
        cluster.kill("n3")
        keys += round_of(cluster, db, "down", down=True)
        cluster.start_node("n3")
        cluster.ready_within("n3")
        time.sleep(2)
        bad = [(key, node) for key in keys for node in cluster.names
               if cluster.request("GET", key, node=node, query="?r=3")[0] != 404]
        check("every never-written key 404 at r=3 through every node", not bad, bad[:5])

        races = [f"race{i}" for i in range(10)]
        for key in races:
            db.put(key, b"v1", w=3)
        pairs = {key: (db.get(key, r=3).context, db.get(key, r=3).context) for key in races}
        gate = threading.Barrier(2)
        answers: dict[str, list[object]] = {key: [] for key in races}

        def alice() -> None:
            with vdynamo.connect([nodes[0]]) as a:
                for key in races:
                    gate.wait()
                    try:
                        status = cluster.request("DELETE", key, node="n1", headers={
                            "X-Vdynamo-Context": pairs[key][0]})[0]
                        answers[key].append(("delete", status))
                    except OSError as err:
                        answers[key].append(("delete", repr(err)))
                del a

        def bob() -> None:
            with vdynamo.connect([nodes[1]]) as b:
                for key in races:
                    gate.wait()
                    try:
                        b.put(key, b"v2", context=pairs[key][1])
                        answers[key].append(("put", 200))
                    except Exception as err:  # reported
                        answers[key].append(("put", repr(err)[:120]))

        workers = [threading.Thread(target=alice), threading.Thread(target=bob)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(60)
        cluster.kill("n3")
        check("every racing put and delete answered 200",
              all(sorted(a) == [("delete", 200), ("put", 200)] for a in answers.values()),
              answers)
        time.sleep(4)
        cluster.start_node("n3")
        cluster.ready_within("n3")
        time.sleep(4)
        wrong = []
        for key in races:
            for node in cluster.names:
                got = cluster.values(key, node=node, query="?r=3")
                if got != [b"v2"]:
                    wrong.append((key, node, "r=3", got))
            got = cluster.values(key, node="n3", query="?r=1")
            if got != [b"v2"]:
                wrong.append((key, "n3", "r=1", got))
            lib = db.get(key).values
            if lib != [b"v2"]:
                wrong.append((key, "library", lib))
        check("the fresh put survives the stale delete, n3 down past the grace and back",
              not wrong, wrong[:5])
check.finish()
