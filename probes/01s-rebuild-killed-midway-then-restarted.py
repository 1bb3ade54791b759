"""A replaced disk's node killed *in the middle of its rebuild* and started again
(01p restarts a rebuild that failed on a full disk; 01q kills a new cluster): the
rebuild had copied part of the data, so at its second start the store is neither
empty (a replaced disk) nor whole. Riak's "node crashed during handoff to a fresh
vnode", Cassandra's "bootstrap interrupted, restarted with
auto_bootstrap" (CASSANDRA-8838's family: a half-streamed node serving reads).

3 processes (`serve --node`), N=3 R=2 W=2, dvv, fast anti-entropy. 300 keys of
4 KB at w=3. n2 SIGKILLed, files deleted, started; SIGKILLed again 0.6 s after its
HTTP port opened (its store part-filled), started again. For 15 s: a read of a key
at r=1 and at r=2 through n2 every 0.2 s. Then n3 SIGKILLed and every key
read at r=2 through n2 (n1 and n2 its quorum).

Right value: no read through n2 answers 404 for an acknowledged key (its
part-rebuilt store must not count as whole at its second start); with n3 down
after `/status` `rebuild` is null on n2, every key reads its value at r=2 through n2.

Run from the project's root: .venv/bin/python probes/01s-rebuild-killed-midway-then-restarted.py
Loopback only, about 60 s; every process stopped.
"""
from __future__ import annotations

import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _cluster import Checks, LocalNodes  # noqa: E402

FAST = "anti_entropy_interval = 0.5\ngossip_interval = 0.25\n"


def main() -> None:
    checks = Checks()
    c = LocalNodes(nodes=3, per_process=True, extra_cluster=FAST)
    with c:
        values = c.put_random(300, 4096, checks)
        keys = list(values)
        c.wipe("n2")
        c.start_node("n2")
        time.sleep(0.6)
        rows = len(list(c.dir.glob("n2.sqlite*")))
        c.kill("n2")
        c.start_node("n2")
        seen: Counter[str] = Counter()
        wrong: list[str] = []
        start, i = time.time(), 0
        while time.time() - start < 15:
            key = keys[(i * 7) % len(keys)]
            i += 1
            for q in ("?r=1", "?r=2"):
                status, body = c.get(key, "n2", q)
                seen[f"{q} {status}"] += 1
                if status == 404 or (status == 200 and body != values[key]):
                    wrong.append(f"{round(time.time() - start, 1)} s {key}{q}: {status}")
            time.sleep(0.2)
        print(f"n2 killed mid-rebuild ({rows} files), restarted; reads through it: "
              f"{dict(seen)}, wrong {len(wrong)}")
        checks("no 404 nor other value through n2 after its second start", not wrong, wrong[:5])
        over = "?"
        for _ in range(60):
            over = c.status("n2").get("rebuild", "?")
            if over is None:
                break
            time.sleep(1)
        c.kill("n3")
        time.sleep(1)
        bad = [k for k in keys if c.get(k, "n2", "?r=2") != (200, values[k])]
        print(f"rebuild {over}; n3 down: {len(bad)} of {len(keys)} keys wrong at r=2 via n2 "
              f"{[(k, c.get(k, 'n2', '?r=2')[0]) for k in bad[:3]]}")
        checks("n2's rebuild ends within 60 s", over is None, over)
        checks("n3 down: every key right at r=2 through n2", not bad, bad[:5])
    checks.finish()



if __name__ == "__main__":
    main()
