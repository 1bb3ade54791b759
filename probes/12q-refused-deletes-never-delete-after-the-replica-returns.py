"""Deletes refused before writing ("nothing was written") must not delete later:
a delete at ``pw=3``, ``w=3&pw=3``, ``pw=3&w=2`` or ``pr=3`` while one of the key's
three replicas is down is refused 503 not-written; when the replica returns, read
repair and anti-entropy must not carry a tombstone of it anywhere (Riak's "a
failed delete still deleted" reports: riak_kv's delete FSM wrote its tombstone on
the vnodes it reached before answering pw_val_unsatisfied). A delete at ``w=3`` /
``w=all`` answers 504 outcome unknown: it may have deleted (printed, not checked).
12o deletes never-written keys at every R and W; none checks what a refused delete
of a *stored* value leaves once the replica is back.

3 processes (`serve --node`), N=3 R=2 W=2, ``tombstone_grace_s = 0.5``,
``anti_entropy_interval = 1``. k0..k5 = v at w=3; n3 SIGKILLed, 3 s; raw HTTP
deletes k0..k5 with the quorums above, the library's ``delete(pw=3)`` of k6 and
``vdynamo delete k7 --pw 3``; n3 restarted; 8 s.

Right value: every refused delete answered 503 (the library: NoNodeError or
RequestRefusedError whose outcome is not-written; the CLI exit 1), and its key
reads [v] at r=3 through every node after n3's return; the 504 ones (outcome
unknown) read [v] or [] the same through every node.

Seen (session 61): PASS, about 20 s; the w=3 and w=all deletes were carried out
(2 of 3 replicas, then n3 repaired): [] everywhere. The library's and the CLI's
``pw=3`` deletes went to n2, which had not yet suspected n3 (only n1 had timed out
on it): 504 "reached 2 of PW=3 primaries ... outcome unknown", and deleted (a
first version of this probe expected 503 there: the coordinator refuses before
writing only when it already believes fewer primaries up, as documented).

Run from the project's root:
    .venv/bin/python probes/12q-refused-deletes-never-delete-after-the-replica-returns.py
"""
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, ".")
sys.path.insert(0, str(Path(__file__).resolve().parent))
import vdynamo
from _cluster import Checks, LocalNodes, vdynamo_command
from impl.errors import DynamoError

QUERIES = ["?w=3", "?w=all", "?pw=3", "?w=3&pw=3", "?pw=3&w=2", "?w=2&pr=3"]


def main() -> None:
    check = Checks()
    c = LocalNodes(nodes=3, per_process=True,
                   extra_cluster="tombstone_grace_s = 0.5\nanti_entropy_interval = 1")
    c.start()
    try:
        time.sleep(1)
        for i in range(8):
            check(f"k{i} written at w=3", c.put(f"k{i}", b"v", query="?w=3") == 200)
        c.kill("n3")
        time.sleep(3)
        refused: list[str] = []
        for i, query in enumerate(QUERIES):
            status, _, body = c.request("DELETE", f"k{i}", query=query)
            print(f"DELETE k{i}{query}: {status} {body[:120]!r}")
            if "pw" in query or "pr" in query:
                check(f"k{i}{query} refused 503 not-written",
                      status == 503 and b"nothing was" in body, (status, body[:200]))
                refused.append(f"k{i}")
        seeds = [f"127.0.0.1:{c.http[n]}" for n in ("n1", "n2")]
        with vdynamo.connect(seeds) as db:
            try:
                db.delete("k6", pw=3)
                check("library delete(pw=3) refused", False, "taken")
            except DynamoError as err:
                said = getattr(err, "outcome", "not-written")
                print(f"library delete(pw=3) of k6: {type(err).__name__} outcome {said}")
                if said == "not-written":
                    refused.append("k6")
        done = subprocess.run([*vdynamo_command(), "delete", "k7", "--pw", "3",
                               *[a for s in seeds for a in ("--node", s)]],
                              capture_output=True, text=True, timeout=60)
        check("vdynamo delete --pw 3 exits 1", done.returncode == 1, done.stderr.strip())
        print(f"vdynamo delete k7 --pw 3: {done.stderr.strip()[:160]}")
        if "unknown" not in done.stderr:
            refused.append("k7")
        c.start_node("n3")
        time.sleep(8)
        for i in range(8):
            seen = [c.values(f"k{i}", node=n, query="?r=3") for n in c.names]
            if f"k{i}" in refused:
                check(f"k{i} (refused delete) still [v] everywhere",
                      all(v == [b"v"] for v in seen), seen)
            else:
                check(f"k{i} (outcome unknown) one answer everywhere",
                      all(v == seen[0] for v in seen) and seen[0] in ([b"v"], []), seen)
                print(f"k{i} (504, outcome unknown): {seen[0]}")
    finally:
        c.__exit__()
    check.finish()


if __name__ == "__main__":
    main()
