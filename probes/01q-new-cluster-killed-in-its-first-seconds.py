"""A brand-new cluster killed in its first seconds, restarted: does it take writes?

Session 60's review of red team 12 (docs/runtime.md "Red team 12 reviewed") started
three `vdynamo serve` processes of a new cluster (fresh data files), SIGKILLed them
about 1 s later and started them again: n1 came back as a replaced disk, rebuilding,
and every put was 504 (there n3 was on another secret, so n1's rebuild had no third
replica to exchange with). Here all three share the secret.

Each variant: three nodes started in turn (fresh data files); after ``kill_at``
seconds (0.5, 1, 2, 4; with ``write``, once a first put at w=2 through n1 was
acknowledged, or failed, before the kill) the nodes named are SIGKILLed (all, or n1
only) and started again; then for up to 60 s puts at w=2 and gets at r=2 through
each node in turn. Measured: the seconds from the restart until the first put is
acknowledged, whether every node's rebuild ended (``/status`` ``rebuild`` null), and
every acknowledged write read back (the first write too) at r=2 through each node:
none lost, none stale. Right: puts acknowledged within 20 s, every rebuild ended
within 60 s, nothing lost or stale.

Last, n1 and n2 started alone (n3 down: each stays unconfirmed, waiting for n3,
once the other named it), killed after 3 s, then all three started: both are told
their own earlier start and rebuild every time (``restore-fresh-renewed``), not by
the timing's luck.

``stranger`` (run alone): the review's own case, n3 on another secret (:func:`stranger`).

Run from the project's root:
    .venv/bin/python probes/01q-new-cluster-killed-in-its-first-seconds.py [quick|pair|stranger]
Loopback only, about 2 min (``quick``: 2 variants; ``pair``: the last two only;
``stranger``: 45 s); every process stopped.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, ".")
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _cluster import Checks, LocalNodes, cluster_file

NAMES = ("n1", "n2", "n3")


def variant(checks: Checks, kill_at: float, who: tuple[str, ...], write: bool,
            first: tuple[str, ...] = NAMES) -> None:
    label = (f"{'+'.join(first)} started, kill {'+'.join(who)} at {kill_at} s"
             f"{' after a write' if write else ''}")
    c = LocalNodes(nodes=3, per_process=True)
    acked: dict[str, bytes] = {}
    try:
        began = time.monotonic()
        for name in first:
            c.start_node(name)
        if write and time.monotonic() - began < kill_at:
            try:
                code = c.request("PUT", "first", b"v0", node="n1", query="?w=2",
                                 timeout=max(0.2, kill_at - (time.monotonic() - began)),
                                 headers={"Content-Type": "application/octet-stream"})[0]
            except OSError:
                code = 0
            if code == 200:
                acked["first"] = b"v0"
        time.sleep(max(0.0, kill_at - (time.monotonic() - began)))
        for name in who:
            c.kill(name)
        restarted = time.monotonic()
        for name in NAMES:
            if name in who or name not in first:
                c.start_node(name)
        first_put: float | None = None
        i, codes = 0, {}
        while time.monotonic() - restarted < 60:
            node = NAMES[i % 3]
            key, value = f"k{i}", f"v{i}".encode()
            try:
                code = c.request("PUT", key, value, node=node, query="?w=2", timeout=5,
                                 headers={"Content-Type": "application/octet-stream"})[0]
            except OSError:
                code = 0
            codes[code] = codes.get(code, 0) + 1
            if code == 200:
                acked[key] = value
                if first_put is None:
                    first_put = time.monotonic() - restarted
            rebuilding = [n for n in NAMES if c.status(n).get("rebuild")]
            if first_put is not None and not rebuilding and i >= 20:
                break
            i += 1
            time.sleep(0.1)
        ended = time.monotonic() - restarted
        rebuilding = [n for n in NAMES if c.status(n).get("rebuild")]
        bad = []
        for key, value in acked.items():
            for node in NAMES:
                got = c.get(key, node=node, query="?r=2")
                if got != (200, value):
                    bad.append((key, node, got[0], got[1][:20]))
        stats = {n: {k: v for k, v in dict(c.status(n).get("stats", {})).items()
                     if k.startswith(("rebuild", "restore", "unconfirmed"))} for n in NAMES}
        print(f"{label}: first write {'acked' if 'first' in acked else 'not acked/none'}; "
              f"first put {first_put if first_put is None else round(first_put, 1)} s after "
              f"the restart; puts {codes}; still rebuilding at {ended:.0f} s: {rebuilding}; "
              f"{len(acked)} acked, {len(bad)} lost/stale reads")
        print(f"    {stats}")
        checks(f"{label}: a put acknowledged within 20 s",
               first_put is not None and first_put < 20, first_put)
        checks(f"{label}: every rebuild ended within 60 s", not rebuilding, rebuilding)
        checks(f"{label}: every acknowledged write read back", not bad, bad[:5])
    finally:
        c.stop()


def puts_for(c: LocalNodes, seconds: float, start: int) -> tuple[dict[int, int], float | None]:
    """Puts at w=2 through n1 and n2 in turn for ``seconds``: (statuses, the seconds
    until the first 200 or None)."""
    began, codes, first, i = time.monotonic(), {}, None, start
    while time.monotonic() - began < seconds:
        try:
            code = c.request("PUT", f"s{i}", b"v", node=("n1", "n2")[i % 2], query="?w=2",
                             timeout=5, headers={"Content-Type": "application/octet-stream"})[0]
        except OSError:
            code = 0
        codes[code] = codes.get(code, 0) + 1
        if code == 200 and first is None:
            first = time.monotonic() - began
        i += 1
        time.sleep(0.2)
    return codes, first


def stranger(checks: Checks) -> None:
    """The review's case: n3 on another secret (a stranger to n1 and n2), n1 and n2
    killed 3 s after their first start and started again: both rebuild, and the rebuild
    waits for an exchange with n3, which never comes (as for any replaced disk whose
    peer is down for good): 20 s of puts at w=2 fail. n3 restarted with the cluster's
    file (the operator's fix): the rebuilds end and puts succeed."""
    c = LocalNodes(nodes=3, per_process=True)
    other = c.dir / "other"
    other.mkdir()
    wrong = cluster_file(other, c.names, peer=c.peer, http=c.http)
    try:
        c.start_node("n1")
        c.start_node("n2")
        c.start_node("n3", config=wrong)
        time.sleep(3.0)
        c.kill("n1")
        c.kill("n2")
        c.start_node("n1")
        c.start_node("n2")
        codes, first = puts_for(c, 20, 0)
        pending = {n: (c.status(n).get("rebuild") or {}) for n in ("n1", "n2")}
        print(f"n3 a stranger: puts in 20 s after the restart {codes}, first 200 at {first}; "
              f"rebuild {pending}")
        checks("n3 a stranger: n1 or n2 still rebuilding after 20 s",
               any(pending.values()), pending)
        c.kill("n3")
        c.start_node("n3")
        codes, first = puts_for(c, 20, 1000)
        rebuilding = [n for n in NAMES if c.status(n).get("rebuild")]
        print(f"n3 fixed: puts {codes}, first 200 after {first} s; still rebuilding {rebuilding}")
        checks("n3 fixed: a put acknowledged within 20 s", first is not None, codes)
        checks("n3 fixed: every rebuild ended", not rebuilding, rebuilding)
    finally:
        c.stop()


def main() -> None:
    checks = Checks()
    quick = sys.argv[1:] == ["quick"]
    if sys.argv[1:] == ["stranger"]:
        stranger(checks)
        checks.finish()
        return
    if sys.argv[1:] == ["pair"]:
        for write in (False, True):
            variant(checks, 3.0, ("n1", "n2"), write, first=("n1", "n2"))
        checks.finish()
        return
    plan = [(1.0, NAMES, False), (1.0, ("n1",), False)] if quick else [
        (0.5, NAMES, False), (1.0, NAMES, False), (2.0, NAMES, False), (4.0, NAMES, False),
        (1.0, ("n1",), False), (4.0, ("n1",), False),
        (2.0, NAMES, True), (4.0, NAMES, True)]
    for kill_at, who, write in plan:
        variant(checks, kill_at, who, write)
    # n3 not started: n1 and n2 heard each other, stay unconfirmed (waiting for n3),
    # are killed, then all three start: each is told its own earlier start (renewed,
    # rebuilding) every time, not by the timing's luck
    for write in (False, True):
        variant(checks, 3.0, ("n1", "n2"), write, first=("n1", "n2"))
    checks.finish()


if __name__ == "__main__":
    main()
