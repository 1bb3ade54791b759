"""A node joins while one member's disk has just been replaced *and* another member
is paused (07p pauses a member during a join, 07q wipes one; never both at once):
the week an operator adds capacity, a failed disk is swapped and a third machine's
VM is frozen by its hypervisor for 15 s (Cassandra: a bootstrap whose stream source
is being rebuilt while another replica is in a long GC pause; Riak: a `cluster
join` planned while one vnode is repaired and another node is unreachable). Two
of a key's three replicas can be out at once; the sloppy quorum's fallbacks and
the joiner's handover must still never show an acknowledged write as missing.

`vdynamo cluster up --nodes 5 --n 3 --r 1 --w 3` (R + W > N; fast rounds), 24 keys
v1 at w=3; n2 SIGKILLed, its SQLite files deleted; n3 SIGSTOPped; `vdynamo cluster
start n2` and at once `vdynamo join n6`, both in the background; n3 SIGCONTed 15 s
later. Meanwhile a client does read-modify-writes at w=3 of the 24 keys through
random members (not n3 while paused), and after each acknowledged write reads the
key at r=1 through every member (n3 once resumed; n6 once cluster.json names it),
until both commands returned, n3 resumed, and 2 s more; then every key at r=1
through every member, at once and 3 s later.

Right value: both commands exit 0 (or `join` non-zero naming n3, the paused
member, as 07p allows); every read at r=1 after an acknowledged write answers that
write's value (a 503, or no answer from a node not yet listening, is not checked; a
404 or an older value is wrong); at the end every key reads its last acknowledged
value through every member.

Run from the project's root: .venv/bin/python probes/07s-join-while-one-member-wiped-another-paused.py [SEED]
Loopback only, about 60-90 s; every process stopped (SIGCONT first).
"""
from __future__ import annotations

import sys
from importlib import import_module
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
wiped = import_module("07q-join-while-a-member-is-wiped")


def main() -> None:
    wiped.wiped_join("07s", 5, "n6", paused="n3")


if __name__ == "__main__":
    main()
