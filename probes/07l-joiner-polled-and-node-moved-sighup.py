"""Two operator steps of case 07's kind on real processes:

- poll: a joining node read as soon as its HTTP port opens (Cassandra's bootstrap
  node serving reads before streaming ends; `auto_bootstrap: false`). `vdynamo
  cluster up --nodes 3 --n 3 --r 2 --w 2` (fast rounds), 40 keys at w=3, then
  `vdynamo join n4` in the background while a poller reads every key at r=1 through
  n4 from the moment cluster.json names it until 2 s after `join` returned.
- moved: a node moved to new ports, the others told by SIGHUP (the reload an
  operator expects of a daemon: nginx, `pg_ctl reload`). 3 per-process nodes; n3
  stopped; 20 keys written at w=2 through n1 (n3's copies wait as hints); n3's peer
  and http ports changed in cluster.toml; n1 and n2 sent SIGHUP; n3 started on the
  new ports; then 20 more keys at w=3 through n1, and every key read at r=1 through
  n3 3 s later, and each one missing then every second until it is there.
Right value: poll: every answer n4 gives is the key's value (a 503 is allowed, not
a 404 nor another value); `join` exits 0. moved: the w=3 puts succeed; n3 holds every key
(r=1) within 15 s of its start (the copies it missed reach it after its start, not
at once); n1 and n2 still running.

Run from the project's root:
    .venv/bin/python probes/07l-joiner-polled-and-node-moved-sighup.py [poll|moved|same]
(same: moved's steps with n3's ports unchanged, the baseline).
Loopback only, about 40 s; every process stopped.
"""
from __future__ import annotations

import json
import os
import signal
import sys
import tempfile
import threading
import time
from importlib import import_module
from pathlib import Path

sys.path.insert(0, ".")
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _cluster import LocalNodes, free_port

walk = import_module("07e-real-join-then-leave-w3-r1")
vd, ports, call, read, tear_down, FAST = (walk.vd, walk.ports, walk.call, walk.read,
                                          walk.tear_down, walk.FAST)


def poll() -> list[str]:
    d = Path(tempfile.mkdtemp(prefix="vdynamo-probe07l-")) / "c"
    wrong: list[str] = []
    pids: set[int] = set()
    keys = [f"k{i}" for i in range(40)]
    answers: dict[int, int] = {}
    try:
        up = vd("cluster", "up", "--dir", str(d), "--nodes", "3", *FAST)
        assert up.returncode == 0, up.stderr
        p = ports(d)
        for key in keys:
            code = call("PUT", p["n1"], f"/kv/{key}?w=3", key.encode(),
                        {"Content-Type": "application/octet-stream"})[0]
            if code != 200:
                wrong.append(f"poll: put {key}: {code}")
        done = threading.Event()

        def poller() -> None:
            while not done.is_set():
                port = ports(d).get("n4")
                if port is None:
                    time.sleep(0.05)
                    continue
                for key in keys:
                    code, vals, _ = read(port, key, 1)
                    answers[code] = answers.get(code, 0) + 1
                    if code in (200, 404) and vals != [key.encode()]:
                        wrong.append(f"poll: {key} r=1 via the joiner n4: {code} {vals}")

        thread = threading.Thread(target=poller)
        thread.start()
        joined = vd("join", "n4", "--dir", str(d))
        time.sleep(2.0)
        done.set()
        thread.join(30)
        pids = {e["pid"] for e in json.loads((d / "cluster.json").read_text())["nodes"].values()
                if e.get("pid")}
        print(f"poll: join n4 exit {joined.returncode}; n4's answers by status {answers}")
        if joined.returncode != 0:
            wrong.append(f"poll: join n4: {joined.stderr.strip()[:200]}")
    finally:
        tear_down(d, pids)
    return wrong


def moved(move: bool = True) -> list[str]:
    wrong: list[str] = []
    with LocalNodes(nodes=3, per_process=True, extra_cluster=(
            "gossip_interval = 0.25\nhint_scan_interval = 0.25\nanti_entropy_interval = 60")) as c:
        c.procs.pop("n3").send_signal(signal.SIGTERM)
        time.sleep(1.0)
        codes = [c.request("PUT", f"a{i}", b"a", "n1", "?w=2",
                           {"Content-Type": "application/octet-stream"})[0] for i in range(20)]
        text = c.config.read_text()
        new_peer, new_http = (free_port(), free_port()) if move else (c.peer["n3"], c.http["n3"])
        text = text.replace(f'peer = "127.0.0.1:{c.peer["n3"]}"', f'peer = "127.0.0.1:{new_peer}"')
        text = text.replace(f'http = "127.0.0.1:{c.http["n3"]}"', f'http = "127.0.0.1:{new_http}"')
        c.config.write_text(text)
        c.peer["n3"], c.http["n3"] = new_peer, new_http
        for name in ("n1", "n2"):
            os.kill(c.procs[name].pid, signal.SIGHUP)
        time.sleep(0.5)
        c.start("n3")
        time.sleep(1.0)
        codes += [c.request("PUT", f"b{i}", b"b", "n1", "?w=3",
                            {"Content-Type": "application/octet-stream"})[0] for i in range(20)]
        time.sleep(3.0)
        held = {f"{k}{i}": c.values(f"{k}{i}", node="n3", query="?r=1")
                for k in "ab" for i in range(20)}
        missing = sorted(k for k, v in held.items() if v != [k[:1].encode()])
        alive = all(c.procs[n].poll() is None for n in ("n1", "n2"))
        waited = time.monotonic()
        late = list(missing)
        while late and time.monotonic() - waited < 70:
            time.sleep(1.0)
            late = [k for k in late if c.values(k, node="n3", query="?r=1") != [k[:1].encode()]]
        if missing:
            print(f"    n3 held them all {time.monotonic() - waited + 3:.0f} s after its start"
                  if not late else f"    n3 still lacks {len(late)} 73 s after its start")
            for name in ("n1", "n2"):
                lines = (c.dir / f"{name}.log").read_text(errors="replace").splitlines()
                for line in [x for x in lines if "n3" in x][-6:]:
                    print(f"    {name}.log: {line[:230]}")
        print(f"moved: puts {sorted(set(codes))} ({codes.count(200)} of 40 acknowledged); "
              f"n1, n2 running after SIGHUP {alive}; n3 lacks {len(missing)} of 40 "
              f"keys at r=1 {missing[:8]}")
        took = time.monotonic() - waited + 3
        if set(codes) != {200} or late or (missing and took > 15) or not alive:
            wrong.append(f"moved: puts {codes}, n3 lacks {late or missing} {took:.0f} s after "
                         f"its start, n1/n2 running {alive}")
    return wrong


def main() -> None:
    wrong: list[str] = []
    for kind in sys.argv[1:] or ["poll", "moved"]:
        wrong += {"poll": poll, "moved": moved, "same": lambda: moved(False)}[kind]()
    for line in wrong[:20]:
        print("FAIL:", line)
    if wrong:
        sys.exit(1)
    print("PASS")


if __name__ == "__main__":
    main()
