"""client-vclock: a delete / re-create loop beside a blind writer, past the
truncation threshold (riak_core #613's pruning made false siblings; here the false
siblings are tombstones no get shows). Found by session 58's red team 8, fixed in
session 59 (versions._without_covered: a later version of the same own entry covers
the tombstone's dot; tests/impl/test_client_vclock_tombstones_past_truncation.py,
docs/impl.md "Truncation and tombstones (session 59)"): PASS, 2.8-3.6 CPU-s (before:
four FAILs, 9.5-10.4 CPU-s).

Simulator, 3 nodes, N=3 R=2 W=2, seed 1, client-vclock. Alice deletes `k` with
her last context and writes it again with the delete's; every third round Bob
writes `k` blind, and Alice reads it and deletes it with the read's context first.
Bob's blind puts each take a fresh pair, so the clock grows until truncation keeps
`vclock_max_pairs`. Runs: the defaults (50 pairs, 25 siblings) for 300 rounds;
`vclock_max_pairs = 12` with `max_siblings = 8` for up to 400 rounds.

Right value: after each run a put with a get's context leaves one version in every
replica's record; no put is refused over `max_siblings` while a get shows at most
one value; a round's CPU stays about what the first rounds' was. Printed: the hidden
tombstones per replica and the CPU per round every 50 rounds. (On three `vdynamo
serve` processes with the defaults the replicas' CPU a round rose 50 times at about
150 rounds, and puts answered 504 under load: the 504s depend on the machine's
load, so the probe drives the simulator.)

Run from the project's root: .venv/bin/python probes/05j-client-vclock-tombstones-past-truncation.py
"""
import sys
import time
from pathlib import Path

sys.path.insert(0, ".")
sys.path.insert(0, str(Path(__file__).resolve().parent))
import impl
from _cluster import Checks
from impl.versions import TOMBSTONE

check = Checks()
KEY = b"k"
NAMES = ("n1", "n2", "n3")

for label, settings, rounds in (("defaults", {}, 300),
                                ("12 pairs, 8 siblings", {"vclock_max_pairs": 12,
                                                          "max_siblings": 8}, 400)):
    c = impl.SimulatedCluster(nodes=3, n=3, r=2, w=2, seed=1, clock="client-vclock", **settings)
    alice, bob = c.client(client_id="alice"), c.client(client_id="bob")

    def hidden() -> list[int]:
        return [sum(1 for s in c.node(n).record(KEY).siblings if s.value == TOMBSTONE)
                for n in NAMES]

    context = alice.put(KEY, b"v0").context
    started = time.process_time()
    first = per = 0.0
    refused = ""
    for i in range(rounds):
        try:
            context = alice.delete(KEY, context).context
            if i % 3 == 0:
                bob.put(KEY, b"o%d" % i)
                context = alice.delete(KEY, alice.get(KEY).context).context
            context = alice.put(KEY, b"v%d" % (i + 1), context).context
        except impl.errors.TooLargeError as err:
            refused = f"round {i}: {str(err)[:120]}; a get shows {alice.get(KEY).values}"
            context = alice.get(KEY).context
        if i % 50 == 49:
            per = (time.process_time() - started) / 50
            first = first or per
            print(f"{label}: round {i + 1}, hidden tombstones {hidden()}, "
                  f"{per:.4f} CPU-s a round", flush=True)
            started = time.process_time()
    check(f"{label}: no put refused over max_siblings", not refused, refused)
    check(f"{label}: a round's CPU stays within 5x the first 50's", per <= 5 * first,
          f"{first:.4f} -> {per:.4f}")
    alice.put(KEY, b"resolved", alice.get(KEY).context)
    check(f"{label}: a put with a get's context leaves one version",
          alice.get(KEY).values == [b"resolved"] and hidden() == [0, 0, 0], hidden())
check.finish()
