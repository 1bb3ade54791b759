"""Counts of session 35's one-way asks in seeded runs that prune past the budget.

Run: ``nice -n 10 .venv/bin/python bench/one_way_asks.py [TREE] [--seeds 5]``
(TREE: the root of a checkout to import ``impl`` from; default this one).

dvv with an actor per start, 3 or 5 nodes (N=3, R=W=2), anti-entropy on or off,
``--seeds`` seeds each: 300 rounds over 3 keys, each round restarting a random up
node (probability 0.6: a new lifetime actor, so that the keys' records pass the
512-byte budget of retired entries and are pruned), keeping one down for 3-40
rounds now and then (0.1), four clients reading a key each and then writing
concurrently with the reads' contexts (a put of 600 bytes 60%, a blind put 15%, a
delete 10%), then 0-2 s idle; at the end all nodes up, 120 s idle. Per run it
prints the asks (:meth:`impl.antientropy.AntiEntropy.ask_pruned`, counted at the
class: a node's counters do not survive its restarts), the answers, the answers
after whose merge the asker's copy no longer held an entry the ask was about
(``healed``), the KeyRecords sent in all, and the keys whose copies differ at
the end; then the sums. A tree without the ask prints zeros for it. It prints
figures and never fails (docs/runtime.md, "Review of the one-way ask (session
35)").
"""

from __future__ import annotations

import collections
import itertools
import random
import sys
from pathlib import Path
from typing import Any

_TREES = [arg for arg in sys.argv[1:] if not arg.startswith("--") and not arg.isdigit()]
ROOT = Path(_TREES[0]).resolve() if _TREES else Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from impl import SimulatedCluster, antientropy  # noqa: E402
from impl.messages import KeyRecords  # noqa: E402

_COUNTS: collections.Counter[str] = collections.Counter()
#: (asker, peer, session) -> (key, the entry ids the ask was about)
_ASKS: dict[tuple[str, str, int], tuple[bytes, set[str]]] = {}


def _instrument() -> None:
    """Count the asks and their answers at the class (every node, every start)."""
    cls: Any = antientropy.AntiEntropy
    ask = getattr(cls, "ask_pruned", None)
    on_key_records = cls.on_key_records
    if ask is not None:
        def counted_ask(self: Any, now: float, src: str, key: bytes, theirs: Any,
                        merged: Any, holder: bool, *union: Any) -> Any:
            out = ask(self, now, src, key, theirs, merged, holder, *union)
            if out:
                held = {entry.id for entry in theirs.dvvset.entries}
                extra = {entry.id for entry in merged.dvvset.entries
                         if not entry.values and entry.id not in held}
                _ASKS[(self.name, out[0].dest, out[0].message.session)] = (key, extra)
                _COUNTS["asks"] += 1
            return out
        cls.ask_pruned = counted_ask

    def counted_records(self: Any, src: str, message: Any) -> Any:
        asked = None if message.reply else _ASKS.get((self.name, src, message.session))
        out = on_key_records(self, src, message)
        if asked is not None:
            _COUNTS["answers"] += 1
            key, extra = asked
            if not extra & {e.id for e in self.replica.local_record(key).dvvset.entries}:
                _COUNTS["healed"] += 1
        return out
    cls.on_key_records = counted_records


def run(seed: int, nodes: int, anti_entropy: bool, rounds: int = 300) -> dict[str, int]:
    """One seeded run (see the module); its counts."""
    _COUNTS.clear()
    _ASKS.clear()
    rng = random.Random(seed)
    cluster = SimulatedCluster(nodes=nodes, n=3, r=2, w=2, seed=seed, clock="dvv",
                               anti_entropy=anti_entropy, log=False)
    send = cluster.sim._send

    def spy(src: str, dest: str, message: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(message, KeyRecords):
            _COUNTS["key-records"] += 1
        return send(src, dest, message, *args, **kwargs)

    cluster.sim._send = spy  # type: ignore[method-assign]
    names = list(cluster.node_names)
    down: dict[str, int] = {}
    clients = [cluster.client(client_id=f"c{i}") for i in range(4)]
    for round_ in range(rounds):
        for name, until in list(down.items()):
            if round_ >= until:
                cluster.restart(name)
                del down[name]
        up = [name for name in names if name not in down]
        if rng.random() < 0.6:
            name = rng.choice(up)
            cluster.crash(name)
            cluster.restart(name)
        if not down and rng.random() < 0.1:
            name = rng.choice(up)
            cluster.crash(name)
            down[name] = round_ + rng.randint(3, 40)
        up = [name for name in names if name not in down]
        keys = [b"k%d" % rng.randrange(3) for _ in clients]
        reads = [client.submit_get(key, coordinator=rng.choice(up))
                 for client, key in zip(clients, keys, strict=True)]
        cluster.wait(reads)
        writes = []
        for client, key, read in zip(clients, keys, reads, strict=True):
            if read.error is not None:
                continue
            context = read.result().context
            draw, coordinator = rng.random(), rng.choice(up)
            if draw < 0.6:
                writes.append(client.submit_put(key, bytes([65 + round_ % 26]) * 600,
                                                context, coordinator=coordinator))
            elif draw < 0.75:
                writes.append(client.submit_put(key, b"blind%d" % round_,
                                                coordinator=coordinator))
            elif draw < 0.85:
                writes.append(client.submit_delete(key, context, coordinator=coordinator))
        cluster.wait(writes)
        cluster.run_for(rng.choice((0.0, 0.05, 0.5, 2.0)))
    for name in list(down):
        cluster.restart(name)
    cluster.run_for(120.0)
    counts = {name: _COUNTS[name] for name in ("asks", "answers", "healed", "key-records")}
    counts["differing"] = sum(not cluster.converged(b"k%d" % i) for i in range(3))
    cluster.close()
    return counts


def main() -> int:
    seeds = 5
    if "--seeds" in sys.argv:
        seeds = int(sys.argv[sys.argv.index("--seeds") + 1])
    _instrument()
    total: collections.Counter[str] = collections.Counter()
    for nodes, anti_entropy, seed in itertools.product((3, 5), (True, False),
                                                       range(1, seeds + 1)):
        counts = run(seed, nodes, anti_entropy)
        total.update(counts)
        print(nodes, "anti-entropy" if anti_entropy else "no-anti-entropy", seed,
              " ".join(f"{name}={value}" for name, value in counts.items()), flush=True)
    print("total", " ".join(f"{name}={total[name]}" for name in
                            ("asks", "answers", "healed", "key-records", "differing")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
