"""A joiner and a leaver SIGKILLed in the middle of their handoff, then started again
on their data (Cassandra: a bootstrap killed mid-stream, restarted, "resume
bootstrap"; ScyllaDB #5172: a replace killed mid-streaming), on real processes
through the CLI, a client writing throughout.

`vdynamo cluster up --nodes 4 --n 3 --r 2 --w 2` (fast rounds), 24 keys; 07j's client
(read-modify-writes at w=2 through random members):
1. `vdynamo join n5` in the background; n5 SIGKILLed 0.4 s after its HTTP port
   opens; `join` waited for; `vdynamo cluster start n5`; n5 waited ready;
2. `vdynamo leave n2` in the background; n2 SIGKILLed once n1 sees it `leaving`; `cluster start
   n2` (a node killed while leaving, started again), then `vdynamo leave n2` again;
after each, every key read at r=1 through every member (n5 first).
Right value: every read returns the key's last acknowledged value (or a later one
whose put failed: nothing older); n5 ready within 60 s of its restart; the second
`leave n2` exits 0; at the end every member sees the others `up` and n2 `left`.

Run from the project's root: .venv/bin/python probes/07m-joiner-and-leaver-killed-mid-handoff.py
Loopback only, about 30 s; every process stopped.
"""
from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from importlib import import_module
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
walk = import_module("07j-operator-membership-walk")
base = import_module("07e-real-join-then-leave-w3-r1")
vd, ports, call, tear_down, FAST = base.vd, base.ports, base.call, base.tear_down, base.FAST


def node_pid(d: Path, name: str) -> int | None:
    with contextlib.suppress(Exception):
        return int(json.loads((d / "cluster.json").read_text())["nodes"][name]["pid"])
    return None


def main() -> None:
    d = Path(tempfile.mkdtemp(prefix="vdynamo-probe07m-")) / "c"
    faults: list[str] = []
    pids: set[int] = set()
    client = walk.Client(d, 11)
    thread = threading.Thread(target=client.loop)
    try:
        up = vd("cluster", "up", "--dir", str(d), "--nodes", "4", "--n", "3", "--r", "2",
                "--w", "2", *FAST)
        assert up.returncode == 0, up.stderr
        members = ["n1", "n2", "n3", "n4"]
        pids |= {p for p in (node_pid(d, n) for n in members) if p}
        client.members = members[:]
        client.run.set()
        thread.start()
        time.sleep(2.0)
        # 1. the joiner killed mid-join
        joining = subprocess.Popen([*base.VD, "join", "n5", "--dir", str(d)],
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 30
        while (ports(d).get("n5") is None or call("GET", ports(d)["n5"], "/health")[0] == 0):
            assert time.monotonic() < deadline, "n5 never opened its HTTP port"
            time.sleep(0.05)
        time.sleep(0.4)
        killed = node_pid(d, "n5")
        if killed:
            pids.add(killed)
            os.kill(killed, signal.SIGKILL)
        _, err = joining.communicate(timeout=120)
        print(f"  join n5, n5 SIGKILLed mid-join: exit {joining.returncode} {err.strip()[:120]}")
        started = vd("cluster", "start", "n5", "--dir", str(d))
        print(f"  cluster start n5: exit {started.returncode} "
              f"{(started.stdout + started.stderr).strip()[:160]}")
        pids |= {p for p in [node_pid(d, "n5")] if p}
        if not walk.ready(ports(d)["n5"], 60):
            faults.append("n5 not ready 60 s after its restart")
        client.pause()
        members.append("n5")
        faults += walk.check(d, client, members, "n5", "n5 killed mid-join, restarted")
        # 2. the leaver killed mid-leave
        client.run.set()
        leaving = subprocess.Popen([*base.VD, "leave", "n2", "--dir", str(d)],
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 20
        while leaving.poll() is None and time.monotonic() < deadline:  # n2 leaving: kill it
            status = json.loads(call("GET", ports(d)["n1"], "/status")[2] or b"{}")
            if status.get("membership", {}).get("n2", {}).get("status") == "leaving":
                break
            time.sleep(0.02)
        victim = node_pid(d, "n2")
        if victim:
            os.kill(victim, signal.SIGKILL)
        _, err = leaving.communicate(timeout=120)
        print(f"  leave n2, n2 SIGKILLed mid-leave: exit {leaving.returncode} "
              f"{err.strip()[:120]}")
        client.members = [m for m in members if m != "n2"]
        started = vd("cluster", "start", "n2", "--dir", str(d))
        print(f"  cluster start n2: exit {started.returncode} "
              f"{(started.stdout + started.stderr).strip()[:160]}")
        pids |= {p for p in [node_pid(d, "n2")] if p}
        client.pause()
        faults += walk.check(d, client, members, "n2", "n2 killed mid-leave, restarted")
        client.run.set()
        left = vd("leave", "n2", "--dir", str(d))
        print(f"  leave n2 again: exit {left.returncode} {left.stdout.strip()[:100]}")
        if left.returncode != 0:
            faults.append(f"the second `leave n2` exited {left.returncode}: "
                          f"{left.stderr.strip()[:200]}")
        members.remove("n2")
        time.sleep(1.0)
        client.pause()
        time.sleep(2.0)
        faults += walk.check(d, client, members, None, "after n2 left")
        p = ports(d)
        for name in members:
            status = json.loads(call("GET", p[name], "/status")[2] or b"{}")
            states = {m: v["status"] for m, v in status.get("membership", {}).items()}
            if states.get("n2") != "left" or any(states.get(m) != "up" for m in members):
                faults.append(f"{name}'s /status membership: {states}")
        print(f"  client: {client.puts} puts acknowledged, {client.failed} failed")
    finally:
        client.done.set()
        client.run.set()
        if thread.is_alive():
            thread.join(30)
        tear_down(d, pids)
    for line in faults[:25]:
        print("FAIL:", line)
    if faults:
        sys.exit(1)
    print("PASS")


if __name__ == "__main__":
    main()
