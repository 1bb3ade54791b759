"""07d's membership sweep with replaced disks (session 53's review of its fixes
together: the own token, the forward decline, the outsider's stand-in). Same client,
checker and figures as ``07d-membership-sweep.py`` (whose ``run`` this loads), with
these kinds, each a join or leave and a disk replaced (``wipe``: crashed, an empty
disk, restarted at once; ``lose``: crashed with an empty disk, down until
``restart``), the replaced store marked fresh-unconfirmed (the own token) and
taking writes while the views change:

- wipe-then-join: n1's disk replaced at step 3, n6 joins at 4, n1 restarted at 6;
- wipe-restart-during-join: n1's disk lost at 3, n6 joins and n1 restarts at 4, n1
  crashed and restarted at 7 (a replaced disk restarting during a join);
- wipe-during-leave: n2 leaves at 4, n3's disk replaced at 5, n3 restarted at 7;
- wipe-leaver: n2 leaves at 4, its disk replaced at 5 (mid-handoff);
- wipe-joiner: n6 joins at 4, its disk replaced at 6;
- wiped-cut-off-join: n2, n3 down at 2, n1's disk replaced at 3 (its own W = 1
  writes while its old peers are down), n6 joins at 4, n1 restarted at 8, n2 and n3
  back at 12;
- wiped-pair-then-join, -then-leave, -leaves: n3-n5 down at 2, n1's and n2's disks
  replaced at 3 (no peer of the old disks up: each store marked and holding its own
  writes, the reviewer's two-disk case), n1 (and n2) restarted at 6 (7) (fresh
  holding their own), n3-n5 back at 9, then n6 joins, n4 leaves, or n1 leaves at 10;
- wiped-pair-restarts-online: as wiped-pair-then-join, n1 restarted three times
  (5, 6, 7: its count past the old disk's, the own-token review's "left open"), its
  reads checked at once (not a crash kind: a fault is looked at by hand);
- wiped-pair-join-cut-off: the same, n6 joining at 5 while n3-n5 are down, n1
  restarted at 8, n3-n5 back at 12;
- wipe-forward-target: n6 joins at 4, n3's disk replaced at 5, n2 leaves at 6, n3
  restarted at 7 (with ``random`` routing, n3 a forward target whose view is rebuilt).

A replaced disk loses what only it held: a put acknowledged at W = 1 by that node
alone, before its replicas were sent, is lost by design (paper 4.7: W = 1 is
one node's durability). The checker does not tell these apart: a fault is looked at
by hand. Kinds with a node down for a while are checked after quiet only (sloppy
quorum: paper 4.6), as 07d's crash kinds.

Run from the project's root:
    .venv/bin/python probes/07g-wiped-membership-sweep.py [SEEDS [CLOCKS [ROUTING]]]
"""
from __future__ import annotations

import collections
import importlib.util
import sys

sys.path.insert(0, ".")
_spec = importlib.util.spec_from_file_location("sweep07d", "probes/07d-membership-sweep.py")
assert _spec is not None and _spec.loader is not None
sweep = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(sweep)


def kinds() -> dict[str, dict[int, list[tuple[str, ...]]]]:
    return {
        "wipe-then-join": {3: [("wipe", "n1")], 4: [("join", "n6")],
                           6: [("crash", "n1"), ("restart", "n1")]},
        "wipe-restart-during-join": {3: [("lose", "n1")], 4: [("join", "n6"), ("restart", "n1")],
                                     7: [("crash", "n1"), ("restart", "n1")]},
        "wipe-during-leave": {4: [("leave", "n2")], 5: [("wipe", "n3")],
                              7: [("crash", "n3"), ("restart", "n3")]},
        "wipe-leaver": {4: [("leave", "n2")], 5: [("wipe", "n2")]},
        "wipe-joiner": {4: [("join", "n6")], 6: [("wipe", "n6")]},
        "wiped-cut-off-join": {2: [("crash", "n2"), ("crash", "n3")], 3: [("wipe", "n1")],
                               4: [("join", "n6")], 8: [("crash", "n1"), ("restart", "n1")],
                               12: [("restart", "n2"), ("restart", "n3")]},
        "wipe-forward-target": {4: [("join", "n6")], 5: [("wipe", "n3")], 6: [("leave", "n2")],
                                7: [("crash", "n3"), ("restart", "n3")]},
        "wiped-pair-then-join": {2: [("crash", n) for n in ("n3", "n4", "n5")],
                                 3: [("wipe", "n1"), ("wipe", "n2")],
                                 6: [("crash", "n1"), ("restart", "n1")],
                                 7: [("crash", "n2"), ("restart", "n2")],
                                 9: [("restart", n) for n in ("n3", "n4", "n5")],
                                 10: [("join", "n6")]},
        "wiped-pair-then-leave": {2: [("crash", n) for n in ("n3", "n4", "n5")],
                                  3: [("wipe", "n1"), ("wipe", "n2")],
                                  6: [("crash", "n1"), ("restart", "n1")],
                                  9: [("restart", n) for n in ("n3", "n4", "n5")],
                                  10: [("leave", "n4")]},
        "wiped-pair-leaves": {2: [("crash", n) for n in ("n3", "n4", "n5")],
                              3: [("wipe", "n1"), ("wipe", "n2")],
                              6: [("crash", "n1"), ("restart", "n1")],
                              9: [("restart", n) for n in ("n3", "n4", "n5")],
                              10: [("leave", "n1")]},
        "wiped-pair-restarts-online": {2: [("crash", n) for n in ("n3", "n4", "n5")],
                                       3: [("wipe", "n1"), ("wipe", "n2")],
                                       5: [("crash", "n1"), ("restart", "n1")],
                                       6: [("crash", "n1"), ("restart", "n1")],
                                       7: [("crash", "n1"), ("restart", "n1")],
                                       9: [("restart", n) for n in ("n3", "n4", "n5")],
                                       10: [("join", "n6")]},
        "wiped-pair-join-cut-off": {2: [("crash", n) for n in ("n3", "n4", "n5")],
                                    3: [("wipe", "n1"), ("wipe", "n2")], 5: [("join", "n6")],
                                    8: [("crash", "n1"), ("restart", "n1")],
                                    12: [("restart", n) for n in ("n3", "n4", "n5")]},
    }


sweep.kinds = kinds

#: what the runs met (summed over runs): forwarded puts a node declined by its own
#: view, stores started fresh holding their own writes, and the nodes' restore stats
MET: collections.Counter[str] = collections.Counter()


def _instrument() -> None:
    """Count what the runs met (the probe's evidence that the kinds reach the fixes)."""
    import impl.cluster
    import impl.forwarding
    import impl.node
    owns, init, close = (impl.forwarding.Forwarder._owns, impl.node.Node.__init__,
                         impl.cluster.SimulatedCluster.close)

    def counted_owns(self, key):  # type: ignore[no-untyped-def]
        mine = owns(self, key)
        MET["forward-declined-by-view"] += not mine
        return mine

    def counted_init(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        init(self, *args, **kwargs)
        MET["start-fresh-holding-own"] += bool(self._own_held)

    def counted_close(self):  # type: ignore[no-untyped-def]
        for node in self.sim.nodes.values():
            for stat in ("restore-fresh-renewed", "restore-own-restart", "restore-set-aside"):
                MET[stat] += node.stats.get(stat, 0)
        close(self)

    impl.forwarding.Forwarder._owns = counted_owns  # type: ignore[method-assign]
    impl.node.Node.__init__ = counted_init  # type: ignore[method-assign]
    impl.cluster.SimulatedCluster.close = counted_close  # type: ignore[method-assign]


_instrument()
sweep.CRASHY = {"wipe-restart-during-join", "wiped-cut-off-join", "wiped-pair-then-join",
                "wiped-pair-then-leave", "wiped-pair-leaves", "wiped-pair-join-cut-off"}


def main() -> None:
    seeds = range(int(sys.argv[1])) if len(sys.argv) > 1 else range(1, 4)
    clocks = sys.argv[2].split(",") if len(sys.argv) > 2 else ["dvv"]
    routing = sys.argv[3] if len(sys.argv) > 3 else "preference"
    only = sys.argv[4].split(",") if len(sys.argv) > 4 else list(kinds())
    bad = 0
    for clock in clocks:
        for kind in only:
            for seed in seeds:
                bad += bool(sweep.run(kind, seed, clock, routing))
    print("met (summed over the runs; restore stats of the nodes up at the end):", dict(MET))
    print("FAIL" if bad else "PASS")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
