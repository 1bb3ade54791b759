"""Case 07's kind as an operator of Riak/Cassandra would walk it, on real processes
through the CLI (`vdynamo cluster up`, `join`, `leave`, `remove`, `cluster stop/start`):
each step is one of the issue's operations, and after each every key is read at r=1
through every member, the node the step brought in first (Cassandra's bootstrap
serving reads before streaming ended, CASSANDRA-2434 / "auto_bootstrap: false";
Riak's `cluster replace`).

`vdynamo cluster up --nodes 4 --n 3 --r 2 --w 2` (fast rounds), 24 keys; a client
thread does read-modify-writes at w=2 through random members while each step runs
(paused for the checks):
1. join while a node is down: `cluster stop n2`, `join n5` (documented: n5 stays not
   ready, `join` exits 1 naming n2 down), checked, `cluster start n2`, n5 then ready;
2. a node rejoining under its name on a wiped disk: `leave n3`, its directory
   deleted, `join n3`;
3. a dead node replaced: n4 SIGKILLed, `remove n4`, `join n6`;
4. two joins at once: `join n7` and `join n8` started together;
5. a rolling restart: each member `cluster stop` + `cluster start` in turn, the
   client writing.
Right value: every read returns the key's last acknowledged value (or a later one
of the client's whose put failed but was applied: nothing older); every command
exits 0 (but that join); at the end every member's /status sees the others `up`, n3 `up`, n4
`removed`.

Run from the project's root: .venv/bin/python probes/07j-operator-membership-walk.py
Loopback only, about 2-3 minutes; every process stopped (`cluster down`, then SIGKILL
of any pid cluster.json named).
"""
from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from importlib import import_module
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
walk = import_module("07e-real-join-then-leave-w3-r1")
vd, ports, call, read, tear_down, FAST = (walk.vd, walk.ports, walk.call, walk.read,
                                          walk.tear_down, walk.FAST)
KEYS = [f"k{i}" for i in range(24)]


def index(value: bytes) -> int:
    return int(value.rsplit(b"-", 1)[1])


class Client:
    """Read-modify-writes at w=2 through random members; the last acknowledged value
    of each key."""

    def __init__(self, d: Path, seed: int) -> None:
        self.d, self.rnd = d, random.Random(seed)
        self.acked: dict[str, bytes] = {}
        self.step = 0
        self.members: list[str] = []
        self.run, self.done = threading.Event(), threading.Event()
        self.busy = threading.Lock()  # held through each read-modify-write
        self.puts = self.failed = 0

    def loop(self) -> None:
        while not self.done.is_set():
            with self.busy:
                if self.run.is_set():
                    self.one()
                    continue
            time.sleep(0.02)

    def one(self) -> None:
        p = ports(self.d)
        node = self.rnd.choice(self.members)
        key = self.rnd.choice(KEYS)
        self.step += 1
        value = f"{key}-{self.step}".encode()
        code, _, ctx = read(p[node], key, 2)
        headers = {"Content-Type": "application/octet-stream"}
        if ctx:
            headers["X-Vdynamo-Context"] = ctx
        if code in (200, 404) and call("PUT", p[node], f"/kv/{key}?w=2", value,
                                       headers)[0] == 200:
            self.acked[key] = value
            self.puts += 1
        else:
            self.failed += 1

    def pause(self) -> None:
        self.run.clear()
        with self.busy:  # the one in flight ended
            pass


def ready(port: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if call("GET", port, "/health/ready")[0] == 200:
            return True
        time.sleep(0.25)
    return False


def check(d: Path, client: Client, members: list[str], first: str | None,
          what: str) -> list[str]:
    """Every key at r=1 through every member (``first`` first): (faults)."""
    p = ports(d)
    faults: list[str] = []
    order = ([first] if first else []) + [m for m in members if m != first]
    reads = 0
    for node in order:
        for key in KEYS:
            code, vals, _ = read(p[node], key, 1)
            reads += 1
            want = client.acked.get(key)
            right = (code == 404 and want is None) or (
                code == 200 and bool(vals) and want is not None
                and all(index(v) >= index(want) for v in vals))
            if not right:
                faults.append(f"{what}: {key} r=1 via {node}: {code} {vals}, "
                              f"acknowledged {want!r}")
    print(f"  {what}: {reads} r=1 reads, {len(faults)} wrong")
    return faults


def command(faults: list[str], *args: str) -> None:
    done = vd(*args)
    print(f"  vdynamo {' '.join(a for a in args if not a.startswith('/'))}: exit "
          f"{done.returncode} {(done.stdout.strip().splitlines() or [''])[-1][:90]}")
    if done.returncode != 0:
        faults.append(f"`vdynamo {' '.join(args)}` exited {done.returncode}: "
                      f"{done.stderr.strip()[:200]}")


def main() -> None:
    d = Path(tempfile.mkdtemp(prefix="vdynamo-probe07j-")) / "c"
    faults: list[str] = []
    pids: set[int] = set()
    client = Client(d, 7)
    thread = threading.Thread(target=client.loop)
    try:
        up = vd("cluster", "up", "--dir", str(d), "--nodes", "4", "--n", "3", "--r", "2",
                "--w", "2", *FAST)
        assert up.returncode == 0, up.stderr
        pids |= {e["pid"] for e in json.loads((d / "cluster.json").read_text())["nodes"].values()}
        members = ["n1", "n2", "n3", "n4"]
        client.members = members[:]
        thread.start()

        def writing(seconds: float, writers: list[str]) -> None:
            client.members = writers
            client.run.set()
            time.sleep(seconds)

        # 1. a join while a node is down
        writing(2, members)
        command(faults, "cluster", "stop", "n2", "--dir", str(d))
        writing(1, ["n1", "n3", "n4"])
        # documented (docs/runtime.md, session 14's probes): the joiner stays not
        # ready until the down owner is back to hand its ranges over; `join` says so
        joined = vd("join", "n5", "--dir", str(d))
        said = joined.stderr.strip()
        print(f"  vdynamo join n5 (n2 down): exit {joined.returncode} {said[:150]}")
        if joined.returncode != 0 and "n2 (down" not in said:
            faults.append(f"`vdynamo join n5` with n2 down exited {joined.returncode}: {said}")
        client.pause()
        members.append("n5")
        faults += check(d, client, ["n1", "n3", "n4", "n5"], "n5", "join n5, n2 down")
        command(faults, "cluster", "start", "n2", "--dir", str(d))
        if not ready(ports(d)["n5"], 40):
            faults.append("n5 not ready 40 s after n2 was back")
        # 2. a node rejoining under its name on a wiped disk
        writing(2, members)
        command(faults, "leave", "n3", "--dir", str(d))
        client.members = [m for m in members if m != "n3"]
        members.remove("n3")
        shutil.rmtree(d / "n3", ignore_errors=True)
        writing(1, members)
        command(faults, "join", "n3", "--dir", str(d))
        client.pause()
        members.append("n3")
        faults += check(d, client, members, "n3", "n3 rejoined on a wiped disk")
        # 3. a dead node replaced
        writing(2, members)
        pid = json.loads((d / "cluster.json").read_text())["nodes"]["n4"]["pid"]
        os.kill(pid, signal.SIGKILL)
        members.remove("n4")
        writing(1, members)
        deadline = time.monotonic() + 40
        while vd("remove", "n4", "--dir", str(d)).returncode != 0:
            if time.monotonic() > deadline:
                faults.append("`vdynamo remove n4` never succeeded in 40 s")
                break
            time.sleep(0.5)
        command(faults, "join", "n6", "--dir", str(d))
        client.pause()
        members.append("n6")
        faults += check(d, client, members, "n6", "n4 removed, n6 joined")
        # 4. two joins at once
        writing(1, members)
        both = [subprocess.Popen([*walk.VD, "join", name, "--dir", str(d)],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                for name in ("n7", "n8")]
        for name, proc in zip(("n7", "n8"), both, strict=True):
            _, err = proc.communicate(timeout=180)
            print(f"  vdynamo join {name} (together): exit {proc.returncode}")
            if proc.returncode != 0:
                faults.append(f"`vdynamo join {name}` (two at once) exited "
                              f"{proc.returncode}: {err.strip()[:200]}")
        client.pause()
        members += ["n7", "n8"]
        for name in ("n7", "n8"):
            faults += check(d, client, members, name, f"two joins at once, via {name} first")
        pids |= {e["pid"] for e in json.loads((d / "cluster.json").read_text())["nodes"].values()
                 if e.get("pid")}
        # 5. a rolling restart, the client writing
        for name in list(members):
            writing(0.5, [m for m in members if m != name])
            command(faults, "cluster", "stop", name, "--dir", str(d))
            command(faults, "cluster", "start", name, "--dir", str(d))
        client.pause()
        time.sleep(2.0)
        faults += check(d, client, members, None, "after the rolling restart")
        p = ports(d)
        for name in members:
            status = json.loads(call("GET", p[name], "/status")[2] or b"{}")
            states = {m: v["status"] for m, v in status.get("membership", {}).items()}
            wrong = {m: states.get(m) for m in members if states.get(m) != "up"}
            if states.get("n4") not in ("removed", None) or wrong:
                faults.append(f"{name}'s /status members: {states}")
        print(f"  client: {client.puts} puts acknowledged, {client.failed} failed")
    finally:
        client.done.set()
        client.run.set()
        if thread.is_alive():
            thread.join(30)
        with_pids = pids
        tear_down(d, with_pids)
    for line in faults[:25]:
        print("FAIL:", line)
    if faults:
        sys.exit(1)
    print("PASS")


if __name__ == "__main__":
    main()
