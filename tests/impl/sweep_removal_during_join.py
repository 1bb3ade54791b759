"""Session 31 review sweep: a force-remove of a member down for good during a join.

5 nodes n1-n5, N = 3, R = W = 2, 36 keys written at W = 3; n6 joins (scenario
extras: n7 joins too, or n3 leaves too); n5 killed at a point of the join; 13 s on,
n5 force-removed at an asker (n1, which knows the join, or n4, cut off from the rest
since before the join: it does not know it); read-modify-writes and deletes during
and after; quiet; every key read at R = N = 3 through n1 (docs/runtime.md, "Review
of the removal during a join (session 31)"). Extras: ``twojoins`` (n7 joins too),
``leave`` (n3 leaves too), ``n0`` (the joiner is n0: the claimant once up),
``victim1`` (n1 killed, the claimant; removed at n2, read through n2).

Run (one line per run):
``python -m tests.impl.sweep_removal_during_join STRATEGIES CRASHES ASKERS EXTRAS SEEDS
[HANDOVERS [CLOCKS]]``, e.g. ``strategy1,strategy2,strategy3
before,tokens,transfer,handover n1 none 1,2,3,4,5``.
"""
from __future__ import annotations

import sys
import time
from typing import Any

from impl.cluster import SimulatedCluster
from impl.errors import DynamoError, InvalidValueError
from impl.membership import MemberStatus

KEYS = [b"k%02d" % i for i in range(36)]


class Track:
    """Per key: the last acknowledged value (None: deleted) and the values tried
    after it whose outcome is unknown (None: a delete)."""

    def __init__(self) -> None:
        self.acked: dict[bytes, bytes | None] = {}
        self.unknown: dict[bytes, set[bytes | None]] = {k: set() for k in KEYS}
        self.deleted_values: dict[bytes, set[bytes]] = {k: set() for k in KEYS}
        self.history: dict[bytes, list[bytes]] = {k: [] for k in KEYS}

    def ok(self, key: bytes, value: bytes | None) -> None:
        prev = self.acked.get(key)
        if value is None and prev is not None:
            self.deleted_values[key] |= {prev} | {v for v in self.unknown[key] if v}
        self.acked[key] = value
        self.unknown[key] = set()
        if value is not None:
            self.history[key].append(value)

    def maybe(self, key: bytes, value: bytes | None) -> None:
        self.unknown[key].add(value)
        if value is not None:
            self.history[key].append(value)

    def judge(self, key: bytes, values: list[bytes]) -> str:
        acked = self.acked.get(key)
        allowed = {acked} | self.unknown[key]
        if len(values) == 0:
            return "ok" if None in allowed else "lost"
        if len(values) == 1 and values[0] in allowed:
            return "ok"
        if any(v in self.deleted_values[key] and v not in allowed for v in values):
            return "back"
        if acked is not None and acked not in values and all(
                v in self.history[key] for v in values):
            return "lost"
        if all(v in allowed for v in values):
            return "siblings"
        return "wrong"


def op(cluster: SimulatedCluster, track: Track, i: int, tag: str) -> None:
    key = KEYS[i % len(KEYS)]
    client = cluster.client()
    try:
        got = client.get(key, r=2)
    except DynamoError:
        return
    value = b"%s-%d" % (tag.encode(), i)
    try:
        if i % 7 == 3:
            if got.values:
                client.delete(key, got.context, w=2)
                track.ok(key, None)
        else:
            client.put(key, value, got.context, w=2)
            track.ok(key, value)
    except DynamoError:
        track.maybe(key, None if i % 7 == 3 else value)


def ops_for(cluster: SimulatedCluster, track: Track, i: int, tag: str,
            seconds: float) -> int:
    """:func:`op` every 0.5 s for ``seconds``, from op number ``i``; the next number."""
    start = cluster.now
    while cluster.now - start < seconds:
        op(cluster, track, i, tag)
        i += 1
        cluster.run_for(0.5)
    return i


def status(cluster: SimulatedCluster, node: str, at: str = "n1") -> str:
    held = cluster.node(at).view.get(node)
    if held is None:
        return "-"
    return held.status.value + ("" if held.settled or held.status is MemberStatus.REMOVING
                                else "*")


def run(strategy: str, handover: str, clock: str, seed: int, crash: str, asker: str,
        extra: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    with SimulatedCluster(nodes=5, n=3, r=2, w=2, seed=seed, clock=clock,
                          partitioning=strategy, join_handover=handover) as cluster:
        cluster.run_for(3.0)
        track = Track()
        writer = cluster.client("n2")
        for key in KEYS:
            value = b"v0-" + key
            writer.put(key, value, w=3)
            track.ok(key, value)
        first = "n0" if "n0" in extra else "n6"
        victim = "n1" if "victim1" in extra else "n5"
        reader_at = "n2" if victim == "n1" else "n1"
        if victim == "n1" and asker == "n1":
            asker = "n2"
        joins = [first, "n7"] if "twojoins" in extra else [first]
        old_top = {k: cluster.node("n1").preference_list(k)[:3] for k in KEYS}
        if crash == "before":
            cluster.crash(victim)
            cluster.run_for(1.0)
        if asker == "n4":
            cluster.partition(["n4"], ["n1", "n2", "n3", "n5"])
        for j in joins:
            cluster.join(j)
        if asker == "n4":
            cluster.partition(["n4"], ["n1", "n2", "n3", "n5", *joins])
        if "leave" in extra:
            cluster.leave("n3")
        i = 0
        if crash == "tokens":
            cluster.run_for(0.3)
            cluster.crash(victim)
        elif crash == "transfer":
            cluster.run_for(2.5)
            cluster.crash(victim)
        elif crash == "handover":
            try:
                cluster.run_until(lambda: (m := cluster.node(reader_at).view.get(first)) is not None
                                  and m.status is MemberStatus.UP, max_time=60.0)
                out["joiner_settled_at_crash"] = cluster.node(reader_at).view.get(first).settled
            except Exception:
                out["n6_up_before_crash"] = False
            cluster.crash(victim)
        i = ops_for(cluster, track, i, "d", 13.0)
        try:
            cluster.force_remove(asker, victim)
            out["removal"] = "accepted"
        except InvalidValueError as error:
            out["removal"] = "refused: " + str(error)[:60]
        if asker == "n4":
            cluster.heal()
        i = ops_for(cluster, track, i, "e", 20.0)
        try:
            cluster.run_until_quiet(max_time=300.0)
        except Exception as error:
            out["quiet"] = str(error)[:80]
        for _ in range(12):
            op(cluster, track, i, "a")
            i += 1
        try:
            cluster.run_until_quiet(max_time=300.0)
        except Exception as error:
            out["quiet2"] = str(error)[:80]
        cluster.run_for(30.0)
        names = [victim, *joins] + (["n3"] if "leave" in extra else [])
        out["victim_source"] = sum(1 for k in KEYS if victim in old_top[k]
                               and first in cluster.node(reader_at).preference_list(k)[:3])
        out["status"] = " ".join(f"{n}={status(cluster, n, reader_at)}" for n in names)
        view = cluster.node(reader_at).view
        if strategy == "strategy3":
            held = sum(len(m.tokens) for m in view
                       if m.status in (MemberStatus.UP, MemberStatus.LEAVING))
            out["partitions"] = f"{held}/{cluster.config.partitions}"
        out["settling"] = sorted({s for n in cluster.node_names if not cluster.is_down(n)
                                  for s in cluster.node(n).gossiper.settling})
        verdicts: dict[str, int] = {}
        reader = cluster.client(reader_at)
        for key in KEYS:
            try:
                got = reader.get(key, r=3)
                verdict = track.judge(key, list(got.values))
            except DynamoError as error:
                verdict = "unreadable:" + type(error).__name__
            verdicts[verdict] = verdicts.get(verdict, 0) + 1
        out["verdicts"] = verdicts
        out["ops"] = i
    return out


def main() -> None:
    strategies = sys.argv[1].split(",")
    crashes = sys.argv[2].split(",")
    askers = sys.argv[3].split(",")
    extras = sys.argv[4].split(",")
    seeds = [int(s) for s in sys.argv[5].split(",")]
    handovers = sys.argv[6].split(",") if len(sys.argv) > 6 else ["pending", "immediate"]
    clocks = sys.argv[7].split(",") if len(sys.argv) > 7 else ["dvv", "lww"]
    for extra in extras:
        for asker in askers:
            for crash in crashes:
                for strategy in strategies:
                    for handover in handovers:
                        for clock in clocks:
                            for seed in seeds:
                                t = time.process_time()
                                try:
                                    out = run(strategy, handover, clock, seed, crash, asker,
                                              extra)
                                except Exception as error:
                                    out = {"error": repr(error)[:160]}
                                print(extra, asker, crash, strategy, handover, clock, seed,
                                      out, f"{time.process_time() - t:.1f}s", flush=True)


if __name__ == "__main__":
    main()
