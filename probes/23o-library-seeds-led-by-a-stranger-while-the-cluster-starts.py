"""23n's client (seeds ``[n3, n1, n2]``, n3 on another secret) while the whole cluster
starts: n3 answers first, n1 and n2 are not yet listening or in their startup shadow
round, so no seed is ready and red team 12's rule (``_status_of``) takes n3's
``/status`` as the fall-back. Session 60's review of red team 12.

Real processes (`serve --node`), 3 nodes, N=3 R=2 W=2. The three are stopped (SIGTERM), n3
restarted on a copy of the cluster file with another secret, then n1 and n2 started
without waiting, and at once a blocking client (``refresh_s = 2``, so that the probe is
short) puts and gets a key every 0.3 s for 20 s.

Right value: once n1 and n2 are ready every put and get succeeds, and the client's
pinned ``cluster_id`` is n1's.

Found (session 60's review): the fall-back's body was learned and its ``cluster_id``
pinned (n3's): every call after n1 and n2 were ready NoNodeError ("a node of another
cluster"), for good. Fixed: ``impl.http_client.Router.learn`` pins no identity from a
``/status`` saying ``ready: false`` (tests/vdynamo/test_client_unready_seed.py).

Run from the project's root:
    .venv/bin/python probes/23o-library-seeds-led-by-a-stranger-while-the-cluster-starts.py
"""
import json
import re
import secrets
import sys
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, ".")
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _cluster import Checks, LocalNodes

from impl.http_client import Client

check = Checks()


def cluster_id(port: int) -> str | None:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/status", timeout=2) as answer:
        found = json.loads(answer.read()).get("cluster_id")
        return found if isinstance(found, str) else None


with LocalNodes(nodes=3, per_process=True) as cluster:
    ours = cluster_id(cluster.http["n1"])
    other = cluster.dir / "other.toml"
    other.write_text(re.sub(r'secret = "[0-9a-f]+"', f'secret = "{secrets.token_hex(24)}"',
                            cluster.config.read_text())
                     .replace("[nodes.n3]\n", '[nodes.n3]\ndata = "other-n3.sqlite"\n'))
    other.chmod(0o600)
    time.sleep(2)  # (killed in their first second, a node's store can restart as a
    cluster.stop()  # replaced disk, rebuilding, its writes not counted: not this probe's)
    cluster.start_node("n3", config=other)
    cluster.start_node("n1", wait=False)
    cluster.start_node("n2", wait=False)
    seeds = [f"127.0.0.1:{cluster.http[name]}" for name in ("n3", "n1", "n2")]
    outcomes: list[tuple[float, str]] = []
    started = time.monotonic()
    with Client(seeds, refresh_s=2.0) as db:
        i = 0
        while time.monotonic() - started < 20:
            key = f"k{i}"
            try:
                db.put(key, key.encode())
                ok = db.get(key).values == [key.encode()]
                outcomes.append((time.monotonic() - started, "ok" if ok else "wrong value"))
            except Exception as err:  # reported
                outcomes.append((time.monotonic() - started, f"{type(err).__name__}: {err}"))
            i += 1
            time.sleep(0.3)
        pinned = db.router.cluster_id
    for name in ("n1", "n2", "n3"):
        exited = cluster.procs[name].poll()
        if exited is not None:
            log = (cluster.dir / f"{name}.log").read_text(errors="replace")[-600:]
            print(f"{name} exited {exited}: {log}")
    first_ok = next((at for at, what in outcomes if what == "ok"), None)
    late = [what for at, what in outcomes if at > 12]
    print(f"calls {len(outcomes)}, first ok at {first_ok}, pinned {pinned == ours} "
          f"({pinned}), after 12 s: {sum(w == 'ok' for w in late)} of {len(late)} ok")
    check("a put and get succeeds once n1 and n2 are ready", first_ok is not None,
          outcomes[-1:])
    check("every call after 12 s succeeds", all(w == "ok" for w in late),
          [w[:700] for w in late if w != "ok"][:2])
    check("the client pinned n1's cluster", pinned == ours, (pinned, ours))
check.finish()
