"""An operator's day with a cluster (red team 15's workflow probes 01t, 03m, 07y,
12r, 21q): a cluster made with README's commands as written, a load of the client
library from several threads and processes, and a per-key oracle of acknowledged
values checked after each step.

The load: each loader (a thread of the probe, or a process running this file) owns
keys of its own and shares one key, ``cart``, with every other loader. Each step is
a read-modify-write: a get (siblings kept), then a put of a new unique value, or now
and then a delete, with the read's context. Every operation is logged with its
outcome (``ok``; ``unknown``: any error, the write may or may not have been made)
and the values its read saw, one JSON line each.

The oracle (:func:`judge`), from the logs alone, with no order across loaders
needed: a value read by an acknowledged operation is *superseded* (that
operation's context covered it) and must never be read again; a value written by an
acknowledged put and read by no later operation must be read (it is the key's
latest, or concurrent with the latest); anything else the writers wrote is allowed
(an unknown outcome, or a value concurrent with one); a value no writer wrote is
wrong. Siblings are thus allowed only where writes were concurrent: a put whose
read missed an acknowledged value (sloppy quorums may) is concurrent with it.
"""
from __future__ import annotations

import base64
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / ".venv" / "bin"


def vd(*args: str, timeout: float = 180.0, env: dict[str, str] | None = None,
       cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """``vdynamo ARGS`` typed as README writes it (``.venv/bin`` on PATH)."""
    full = {**os.environ, "PATH": f"{BIN}:{os.environ.get('PATH', '')}", **(env or {})}
    return subprocess.run(["vdynamo", *args], capture_output=True, text=True, timeout=timeout,
                          check=False, env=full, cwd=cwd)


class Day:
    """A cluster directory D (a new temporary one) made by ``vdynamo cluster up
    --nodes 5 --dir D`` (``nodes``) plus ``args``; every pid ever seen in cluster.json is
    remembered and SIGKILLed at :meth:`tear_down` after ``cluster down``."""

    def __init__(self, probe: str, *args: str, nodes: int = 5) -> None:
        self.root = Path(tempfile.mkdtemp(prefix=f"vdynamo-probe{probe}-"))
        self.dir = self.root / "D"
        self.pids: set[int] = set()
        self.up = vd("cluster", "up", "--nodes", str(nodes), "--dir", str(self.dir), *args)
        self.note_pids()

    def nodes(self) -> dict[str, dict[str, object]]:
        try:
            nodes: dict[str, dict[str, object]] = json.loads(
                (self.dir / "cluster.json").read_text())["nodes"]
        except (OSError, ValueError, KeyError):
            return {}
        return nodes

    def note_pids(self) -> None:
        self.pids |= {int(str(e["pid"])) for e in self.nodes().values() if e.get("pid")}

    def http(self, name: str) -> str:
        return f"127.0.0.1:{self.nodes()[name]['http']}"

    def seeds(self) -> list[str]:
        return [self.http(n) for n in self.nodes()]

    def judged(self, checks: Any, name: str, **kw: Any) -> None:
        """After the step ``name``: every key the logs name judged (:func:`judge`, its
        keywords ``kw``) through this cluster's seeds, printed, and checked (``checks``:
        probes/_cluster.py's ``Checks``) to have lost no acknowledged write and brought
        back nothing superseded."""
        faults, counts = judge(self.root, self.seeds(), **kw)
        print(f"{name}: {dict(counts)}")
        checks(f"{name}: every acknowledged write read, nothing superseded", not faults,
               faults[:3])

    def tear_down(self) -> None:
        self.note_pids()
        try:
            vd("cluster", "down", "--dir", str(self.dir), timeout=60)
        except subprocess.TimeoutExpired:
            pass
        for pid in self.pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        subprocess.run(["rm", "-rf", str(self.root)], check=False)


# -- the load ----------------------------------------------------------------------------

def load(seeds: list[str], me: str, stop: Path, out: Path, seed: int, shared: bool = True,
         deletes: float = 0.1, keys: int = 6) -> None:
    """Read-modify-write ``me``'s keys (and ``cart``) through a library client of
    ``seeds`` until ``stop`` exists, logging each operation to ``out``."""
    import vdynamo

    rnd = random.Random(seed)
    token = f"{seed:x}-{os.getpid()}"
    own = [f"{me}-k{i}".encode() for i in range(keys)]
    db = vdynamo.connect(seeds)
    n = 0
    with open(out, "a") as log:
        while not stop.exists():
            key = b"cart" if shared and (not own or rnd.random() < 0.2) else rnd.choice(own)
            try:
                got = db.get(key)
            except Exception:
                time.sleep(0.05)
                continue
            n += 1
            op = "del" if got.values and key != b"cart" and rnd.random() < deletes else "put"
            value = f"{me}:{key.decode()}:{n}:{token}".encode()
            try:
                if op == "put":
                    db.put(key, value, context=got.context)
                else:
                    db.delete(key, context=got.context)
                outcome, why = "ok", ""
            except Exception as error:
                outcome, why = "unknown", f"{type(error).__name__}: {error}"[:200]
            log.write(json.dumps({
                "key": key.decode(), "op": op, "value": value.decode() if op == "put" else None,
                "outcome": outcome, "why": why, "ctx": len(got.context),
                "read": [base64.b64encode(v).decode() for v in got.values]}) + "\n")
            log.flush()


class Load:
    """``threads`` loader threads and ``procs`` loader processes over ``seeds``;
    :meth:`stop` ends them (each finishes its operation) and returns; the logs stay
    in ``logs`` for :func:`judge`. A new Load continues the same keys."""

    generation = 0

    def __init__(self, where: Path, seeds: list[str], threads: int = 3, procs: int = 2,
                 **kw: object) -> None:
        Load.generation += 1
        g = Load.generation
        self.where = where
        self.stop_file = where / f"stop-{g}"
        self.threads: list[threading.Thread] = []
        self.procs: list[subprocess.Popen[bytes]] = []
        for t in range(threads):
            out = where / f"log-t{t}-{g}.jsonl"
            th = threading.Thread(target=load, args=(seeds, f"t{t}", self.stop_file, out,
                                                     1000 * g + t), kwargs=kw, daemon=True)
            th.start()
            self.threads.append(th)
        for p in range(procs):
            out = where / f"log-p{p}-{g}.jsonl"
            self.procs.append(subprocess.Popen(
                [sys.executable, __file__, "load", json.dumps(seeds), f"p{p}",
                 str(self.stop_file), str(out), str(1000 * g + 100 + p), json.dumps(kw)],
                cwd=ROOT))

    def stop(self) -> None:
        self.stop_file.touch()
        for th in self.threads:
            th.join(60)
        for p in self.procs:
            try:
                p.wait(60)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


def events(where: Path) -> list[dict[str, object]]:
    out = []
    for f in sorted(where.glob("log-*.jsonl")):
        for line in f.read_text().splitlines():
            if line.strip():
                out.append(json.loads(line))
    return out


def raw_get(port: int, key: str, r: int) -> list[bytes]:
    """GET /kv/KEY?r=R at 127.0.0.1:``port`` (JSON): its values (300: the siblings); 404: none;
    another status: RuntimeError naming it and the body."""
    import urllib.error
    import urllib.request
    req = urllib.request.Request(f"http://127.0.0.1:{port}/kv/{key}?r={r}",
                                 headers={"Accept": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return [base64.b64decode(v) for v in json.loads(resp.read())["values"]]
    except urllib.error.HTTPError as err:
        if err.code == 404:
            return []
        if err.code == 300:  # siblings, JSON asked
            return [base64.b64decode(v) for v in json.loads(err.read())["values"]]
        raise RuntimeError(f"{err.code} {err.read()[:600]!r}") from None


def judge(where: Path, seeds: list[str], r: int = 3, tries: int = 3,
          extra: dict[str, list[str]] | None = None,
          via: int | None = None,
          only: set[str] | None = None) -> tuple[list[str], Counter[str]]:
    """Every key the logs name read at ``r`` through a client of ``seeds`` (each key
    up to ``tries`` times on an error); the faults (key, what was read, what was
    required or forbidden) and counts of the outcomes. ``extra``: key -> values
    acknowledged outside the loaders' logs (a CLI put), each required unless read
    by a logged acknowledged operation. ``via``: read by raw HTTP at that port
    only (a node's own answer, no failover). ``only``: these keys alone."""
    import vdynamo

    log = events(where)
    counts: Counter[str] = Counter(f"{e['op']} {e['outcome']}" for e in log)
    counts["largest context B"] = max((int(str(e.get("ctx", 0))) for e in log), default=0)
    written: dict[str, set[str]] = {}
    acked: dict[str, set[str]] = {}
    superseded: dict[str, set[str]] = {}
    maybe_superseded: dict[str, set[str]] = {}
    for e in log:
        key = str(e["key"])
        seen = {base64.b64decode(v).decode(errors="replace") for v in e["read"]}  # type: ignore[union-attr]
        (superseded if e["outcome"] == "ok" else maybe_superseded).setdefault(
            key, set()).update(seen)
        if e["op"] == "put":
            written.setdefault(key, set()).add(str(e["value"]))
            if e["outcome"] == "ok":
                acked.setdefault(key, set()).add(str(e["value"]))
    for key, values in (extra or {}).items():
        written.setdefault(key, set()).update(values)
        acked.setdefault(key, set()).update(values)
    faults: list[str] = []
    db = vdynamo.connect(seeds)
    for key in sorted(written.keys() | superseded.keys()):
        if only is not None and key not in only:
            continue
        got: list[str] | None = None
        why = ""
        for _ in range(tries):
            try:
                raw = raw_get(via, key, r) if via else db.get(key.encode(), r=r).values
                got = [v.decode(errors="replace") for v in raw]
                break
            except Exception as error:
                why = f"{type(error).__name__}: {error}"[:160]
                time.sleep(1)
        if got is None:
            faults.append(f"{key}: not read at r={r}: {why}")
            continue
        gone = superseded.get(key, set())
        need = acked.get(key, set()) - gone - maybe_superseded.get(key, set())
        bad = [v for v in got if v in gone or v not in written.get(key, set())]
        lost = sorted(need - set(got))
        if bad or lost:
            faults.append(f"{key}: read {sorted(got)[:4]} (of {len(got)}); lost {lost[:3]}; "
                          f"superseded or unknown {bad[:3]}")
        counts["keys"] += 1
        counts["siblings"] += len(got) > 1
    return faults, counts


if __name__ == "__main__" and sys.argv[1:2] == ["load"]:
    seeds_, me_, stop_, out_, seed_, kw_ = sys.argv[2:8]
    load(json.loads(seeds_), me_, Path(stop_), Path(out_), int(seed_), **json.loads(kw_))


def selftest() -> int:
    """The oracle shown to fail (``python probes/_day.py selftest``): on a real
    cluster, a log claiming an acknowledged put never sent (a lost write) and an
    acknowledged put whose read saw ``v1``, never sent either (``v1`` then read
    again: a superseded value back) must give two faults; the true log none."""
    import vdynamo

    day = Day("day-selftest")
    try:
        where = day.root / "logs"
        where.mkdir()
        db = vdynamo.connect(day.seeds())
        db.put(b"a", b"v1")
        v1 = base64.b64encode(b"v1").decode()
        true = [{"key": "a", "op": "put", "value": "v1", "outcome": "ok", "read": []}]
        (where / "log-true.jsonl").write_text("\n".join(json.dumps(e) for e in true))
        clean, _ = judge(where, day.seeds())
        lies = [{"key": "b", "op": "put", "value": "lost", "outcome": "ok", "read": []},
                {"key": "a", "op": "put", "value": "v2", "outcome": "ok", "read": [v1]}]
        (where / "log-lies.jsonl").write_text("\n".join(json.dumps(e) for e in lies))
        faults, _ = judge(where, day.seeds())
        print(f"true log: {clean}\nlog with a lost and a superseded value: {faults}")
        ok = not clean and len(faults) == 2 and "lost ['lost']" in faults[1] \
            and "superseded or unknown ['v1']" in faults[0]
        print("PASS" if ok else "FAIL")
        return 0 if ok else 1
    finally:
        day.tear_down()


if __name__ == "__main__" and sys.argv[1:2] == ["selftest"]:
    raise SystemExit(selftest())
