"""Deletes and re-creations while a member is down, then the peer secret rotated
under long-lived library clients (red team 15's workflow; 12e, 12q and 20m take
one of these steps alone).

1. `vdynamo cluster up --nodes 5 --dir D`; the load (3 threads, 2 processes, 40% of
   the operations on a key that exists are deletes), 6 s.
2. `vdynamo cluster stop n3 --dir D`; the load 10 s (deletes and re-creations of
   keys n3 holds); `vdynamo cluster start n3 --dir D`; 3 s; every key at r=3.
3. A client made before the rotation reads `t0-k0` (its context kept). The secret
   rotated as the docs say: `vdynamo cluster down`; a new `[cluster] secret`;
   `vdynamo cluster up --dir D` first *without* `--adopt-store` (what an operator
   types), then with it. Every key at r=3 through a new client.
4. The old client puts `t0-k0` with the kept context; a new client (connected
   again) puts it with the kept context, then reads and puts; the load 6 s; every
   key at r=3.

Right value: after 2 and 3 every acknowledged write is read or superseded, no
deleted value comes back (n3's copies are older than the deletes); the `up` without
`--adopt-store` exits non-zero naming `--adopt-store`; the old client refused, saying to
connect again (before the fix: NoNodeError naming two cluster_ids alone, for every
call, for good); the kept context refused 400 naming the secret's change and saying
to read again, nothing written; the read-modify-write after it 200.

Run from the project's root: .venv/bin/python probes/12r-operator-day-deletes-while-a-node-is-down-then-secret-rotated.py
Loopback only, about 90 s; every process stopped.
"""
from __future__ import annotations

import secrets
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _cluster import Checks
from _day import Day, Load, judge, vd


def main() -> None:
    import tomllib

    import vdynamo

    checks = Checks()
    day = Day("12r")
    try:
        checks("cluster up exits 0", day.up.returncode == 0, day.up.stderr[-300:])
        d, where = str(day.dir), day.root

        def step(name: str) -> None:
            day.judged(checks, name)

        load = Load(where, day.seeds(), deletes=0.4)
        time.sleep(6)
        stop = vd("cluster", "stop", "n3", "--dir", d)
        checks("cluster stop n3 exits 0", stop.returncode == 0, stop.stderr[-300:])
        time.sleep(10)
        start = vd("cluster", "start", "n3", "--dir", d)
        day.note_pids()
        checks("cluster start n3 exits 0", start.returncode == 0, start.stderr[-300:])
        time.sleep(3)
        load.stop()
        step("after deletes with n3 down")

        old = vdynamo.connect(day.seeds())
        kept = old.get(b"t0-k0")
        down = vd("cluster", "down", "--dir", d, timeout=60)
        checks("cluster down exits 0", down.returncode == 0, down.stderr[-300:])
        toml = day.dir / "cluster.toml"
        secret = tomllib.loads(toml.read_text())["cluster"]["secret"]
        toml.write_text(toml.read_text().replace(secret, secrets.token_hex(24)))
        plain = vd("cluster", "up", "--dir", d, timeout=120)
        day.note_pids()
        print(f"up without --adopt-store: exit {plain.returncode}\n  {plain.stderr.strip()[-600:]}")
        checks("up without --adopt-store after a secret change exits non-zero naming "
               "--adopt-store", plain.returncode != 0 and "--adopt-store" in plain.stderr,
               plain.stderr[-300:])
        if plain.returncode != 0:
            adopt = vd("cluster", "up", "--dir", d, "--adopt-store", timeout=120)
            day.note_pids()
            checks("cluster up --adopt-store exits 0", adopt.returncode == 0,
                   adopt.stderr[-300:])
        step("after the secret's rotation")

        def attempt(db: vdynamo.Client, value: bytes, context: bytes | None) -> str:
            try:
                if context is None:
                    context = db.get(b"t0-k0").context
                db.put(b"t0-k0", value, context=context)
                return "200"
            except vdynamo.DynamoError as error:
                return f"{type(error).__name__}: {error}"

        stale = attempt(old, b"from-the-old-client", kept.context)
        print(f"the old client's put with a context from before: {stale[:400]}")
        checks("the old client refused, saying to connect again", "connect again" in stale,
               stale[:400])
        new = vdynamo.connect(day.seeds())
        stale = attempt(new, b"from-a-stale-context", kept.context)
        print(f"a new client's put with the context from before: {stale[:300]}")
        checks("a context from before the rotation refused, naming the secret and what to do",
               "secret" in stale and "read" in stale, stale[:300])
        rmw = attempt(new, b"after-rotation", None)
        checks("a new client's read-modify-write after the rotation 200", rmw == "200", rmw)
        got = vdynamo.connect(day.seeds()).get(b"t0-k0", r=3).values
        checks("t0-k0 is [after-rotation]", got == [b"after-rotation"], got)
        # the oracle's own t0-k0 history ended with the rotation: 'after-rotation' read
        # by the loaders' next operations supersedes it, their later writes checked
        load = Load(where, day.seeds(), deletes=0.4)
        time.sleep(6)
        load.stop()
        faults, counts = judge(where, day.seeds(), extra={})
        faults = [f for f in faults if not f.startswith("t0-k0:")]
        print(f"after the load on the new secret: {dict(counts)}")
        checks("after the load on the new secret: every acknowledged write read", not faults,
               faults[:3])
    finally:
        day.tear_down()
    checks.finish()


if __name__ == "__main__":
    main()
