"""A node restarted on another data path and then back on its old one (01a-01l
wipe, restore or damage the node's one file; 08g feeds malformed paths): an
operator mounts a new volume and edits `[nodes.n2] data` to it (the node starts
empty there and rebuilds), later the mount is undone or the edit reverted by
configuration management, and the node comes back on its old file, which misses
everything written while it ran on the new one (Cassandra's "data_file_directories
changed and reverted", Riak's "platform_data_dir pointed at the wrong mount"). The
old file is no restored backup of the new store (another storage id, a start count
of its own): only the generations its peers heard can tell it is behind.

3 processes (`serve --node`), dvv, N=3 R=2 W=2. 12 keys v1 at w=3. n2 stopped
(SIGTERM), `[nodes.n2] data = "n2-new.sqlite"` written into the cluster file, n2
started (an empty store) and waited for until ready; n3 stopped; 12 read-modify-
writes v2 through n2 at w=2 (n1 and n2 hold them); n2 stopped, the file's edit
undone (its old `n2.sqlite`), n2 started; n3 started; n1 stopped. Then every key at
r=2 through n2 and through n3 (the two that ran through the change, and n3 missed v2
but for hints), and 4 s later again.

Right value: every key whose v2 was acknowledged reads [v2] (a 503 while n2
rebuilds is allowed; v1 or 404 is the fault).

Run from the project's root: .venv/bin/python probes/01n-data-path-switched-and-switched-back.py
Loopback only, about 40 s; every process stopped.
"""
from __future__ import annotations

import time
from collections import Counter

from _cluster import Checks, LocalNodes

KEYS = [f"k{i}" for i in range(12)]


def stop(c: LocalNodes, name: str) -> None:
    proc = c.procs.pop(name)
    proc.terminate()
    proc.wait(15)


def reads(c: LocalNodes, acked: dict[str, bytes]) -> list[str]:
    out = []
    for node in ("n2", "n3"):
        for k, v in acked.items():
            code, headers, body = c.request("GET", k, node=node, query="?r=2")
            if code == 503:
                continue
            got = c.values(k, node=node, query="?r=2") if code in (200, 300) else [code]
            if got != [v]:
                out.append(f"{k} via {node}: {got}")
    return out


def main() -> None:
    checks = Checks()
    with LocalNodes(nodes=3, per_process=True, extra_cluster='clock = "dvv"') as c:
        original = c.config.read_text()
        for k in KEYS:
            checks(f"{k} v1", c.put(k, b"v1", query="?w=3") == 200)
        stop(c, "n2")
        c.config.write_text(original.replace('[nodes.n2]\n', '[nodes.n2]\ndata = "n2-new.sqlite"\n'))
        c.start_node("n2")
        on_new = c.ready_within("n2") is not None
        stop(c, "n3")
        acked: dict[str, bytes] = {}
        codes: Counter[int] = Counter()
        for k in KEYS:
            _, ctx = c.read(k, node="n2", query="?r=2")
            code = c.put(k, b"v2", node="n2", context=ctx, query="?w=2")
            codes[code] += 1
            if code == 200:
                acked[k] = b"v2"
        stop(c, "n2")
        c.config.write_text(original)
        c.start_node("n2")
        c.start_node("n3")
        stop(c, "n1")
        time.sleep(3)
        at_once = reads(c, acked)
        time.sleep(4)
        later = reads(c, acked)
        log = (c.dir / "n2.log").read_text(errors="replace")
        print(f"n2 ready on the new path: {on_new}; v2 through n2 at w=2 (n3 down): {dict(codes)}")
        print(f"back on the old path, n1 stopped: wrong at once {len(at_once)} {at_once[:4]}; "
              f"4 s later {len(later)} {later[:4]}")
        for line in [ln for ln in log.splitlines() if "aside" in ln or "older" in ln][:3]:
            print("  n2.log:", line[:300])
        checks("n2 ready on the new path", on_new)
        checks("some v2 acknowledged", bool(acked), codes)
        checks("every acknowledged v2 read (or 503) at once", not at_once, at_once[:4])
        checks("every acknowledged v2 read (or 503) 4 s later", not later, later[:4])
    checks.finish()


if __name__ == "__main__":
    main()
