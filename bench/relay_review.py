"""Session 50's review of the relayed generations: the throwaway runs, kept to repeat.

Run from the project's root (docs/dvv.md, "Review of the relayed generations (session
50, review)"); each reports and never fails:

    nice -n 10 .venv/bin/python bench/relay_review.py idle        # CPU-s of idle gossip
    nice -n 10 .venv/bin/python bench/relay_review.py probe MODE LO HI
    nice -n 10 .venv/bin/python bench/relay_review.py wipe        # peers at count 7
    nice -n 10 .venv/bin/python bench/relay_review.py rejoin      # left, joined again

``idle``: a 5-node cluster (N=3, R=W=2) after 200 puts, 600 simulated seconds of gossip
only, timed by ``time.process_time`` (run it from two trees alternately to compare).
``probe``: ``tests/impl/test_data_loss_probe.py``'s ``play`` and ``verdict`` over seeds
LO..HI-1 in clock MODE; prints the seeds with findings and the CPU-s. ``wipe``: 3 nodes,
n3 restarted six times (its peers heard count 7), its disk replaced, connected or cut
off from both peers; five puts through n3 (W = 1 when cut off), restarted once or not,
healed: what n3's generation became, its set-asides, the puts lost at R = 3. ``rejoin``:
4 nodes, n4 restarted five times, left, joined again under its name with a new store; 20
puts through it.
"""
from __future__ import annotations

import sys
import time

sys.path.insert(0, ".")
from impl.cluster import SimulatedCluster


def idle() -> None:
    cluster = SimulatedCluster(nodes=5, n=3, r=2, w=2, seed=1)
    client = cluster.client(coordinator="n1")
    for i in range(200):
        client.put(b"k%d" % i, b"v")
    cluster.run_until_quiet()
    start = time.process_time()
    cluster.run_for(600)
    print(f"idle 600 s: {time.process_time() - start:.3f} CPU-s")


def probe(mode: str, lo: int, hi: int) -> None:
    from tests.impl.test_data_loss_probe import play, verdict
    start, bad = time.process_time(), {}
    for seed in range(lo, hi):
        found = verdict(play(seed, mode), mode)
        if found:
            bad[seed] = found
    print(f"{mode} {lo}..{hi - 1}: {len(bad)} with findings {sorted(bad)}; "
          f"{time.process_time() - start:.1f} CPU-s")
    for seed, found in sorted(bad.items()):
        print("  ", seed, found[:3])


def _lost(cluster: SimulatedCluster, prefix: bytes, acked: list[int]) -> list[int]:
    reader = cluster.client(coordinator="n1")
    return [i for i in acked
            if reader.get(b"%s%d" % (prefix, i), r=3).values != [b"%s%d" % (prefix, i)]]


def _put_all(cluster: SimulatedCluster, via: str, prefix: bytes, count: int,
             w: int) -> list[int]:
    client, acked = cluster.client(coordinator=via), []
    for i in range(count):
        try:
            client.put(b"%s%d" % (prefix, i), b"%s%d" % (prefix, i), w=w)
            acked.append(i)
        except Exception:  # (a put refused is not acknowledged)
            pass
    return acked


def wipe() -> None:
    for cut in (False, True):
        for restart in (False, True):
            cluster = SimulatedCluster(nodes=3, n=3, r=2, w=2, seed=1)
            for _ in range(6):
                cluster.crash("n3")
                cluster.restart("n3")
                cluster.run_until_quiet()
            if cut:
                cluster.partition(["n3"], ["n1", "n2"])
            cluster.wipe("n3")
            cluster.run_for(15)
            acked = _put_all(cluster, "n3", b"w", 5, 1 if cut else 2)
            cluster.run_for(5)
            if restart:
                cluster.crash("n3")
                cluster.restart("n3")
                cluster.run_for(10)
            cluster.heal()
            cluster.run_until_quiet()
            node = cluster.node("n3")
            assert node.guard is not None
            print(f"cut off {cut}, restarted {restart}: n3 at count "
                  f"{node.guard.generation.partition('.')[0]}, fresh-renewed "
                  f"{node.stats['restore-fresh-renewed']}, set aside "
                  f"{node.stats['restore-set-aside']} (this start); acked {len(acked)}, "
                  f"lost {_lost(cluster, b'w', acked)}")


def rejoin() -> None:
    cluster = SimulatedCluster(nodes=4, n=3, r=2, w=2, seed=1)
    for _ in range(5):
        cluster.crash("n4")
        cluster.restart("n4")
        cluster.run_until_quiet()
    cluster.leave("n4")
    cluster.run_until_quiet()
    guard = cluster.node("n1").guard
    assert guard is not None
    heard = guard.yours("n4")
    cluster.join("n4")
    cluster.run_until_quiet()
    acked = _put_all(cluster, "n4", b"s", 20, 2)
    cluster.run_until_quiet()
    node = cluster.node("n4")
    assert node.guard is not None
    print(f"n1 heard n4 at {heard}; the new n4 at {node.guard.generation}, fresh-renewed "
          f"{node.stats['restore-fresh-renewed']}, set aside {node.stats['restore-set-aside']}; "
          f"acked {len(acked)}, lost {_lost(cluster, b's', acked)}")


if __name__ == "__main__":
    what = sys.argv[1] if len(sys.argv) > 1 else "idle"
    if what == "probe":
        probe(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    else:
        {"idle": idle, "wipe": wipe, "rejoin": rejoin}[what]()
