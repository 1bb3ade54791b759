"""Poison key *shapes* through hinted handoff and anti-entropy (Riak reports of
binary keys that break AAE hashing or handoff; Cassandra's keys at the size
limit): keys of exactly max_key_bytes (1024) made of NUL bytes, of 0xff bytes,
of random bytes, of a lone UTF-8 continuation byte repeated, and one-byte keys
\\x00 and \\xff, all percent-encoded in the URL.

3 processes, N=3 R=2 W=2. n3 is SIGKILLed; 60 such keys are written at w=2 through
n1, 10 of them then deleted; n3 restarts; 15 s for hinted handoff / anti-entropy.
Right value: every put is 200; afterwards through n3 at r=3 each live key reads its
value and each deleted key reads nothing; a small w=3 put succeeds; one key over
the limit (1025 bytes) is refused with 414.

Run from the project's root: .venv/bin/python probes/22b-binary-keys-at-the-limit-anti-entropy.py
"""
import random
import sys
import time
import urllib.parse
from pathlib import Path

sys.path.insert(0, ".")
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _cluster import LocalNodes

rnd = random.Random(22)
raw_keys = [b"\x00" * 1024, b"\xff" * 1024, b"\x80" * 1024, b"\x00", b"\xff", b"\x00" * 1023 + b"\xff"]
raw_keys += [bytes(rnd.randrange(256) for _ in range(1024)) for _ in range(44)]
raw_keys += [bytes(rnd.randrange(256) for _ in range(rnd.randrange(1, 1024))) for _ in range(10)]
keys = [urllib.parse.quote(k, safe="") for k in raw_keys]

with LocalNodes(nodes=3, per_process=True) as cluster:
    cluster.kill("n3")
    codes = [cluster.put(k, b"val-%d" % i) for i, k in enumerate(keys)]
    deleted = list(range(0, 60, 6))
    for i in deleted:
        _, ctx = cluster.read(keys[i])
        codes.append(cluster.request("DELETE", keys[i], None, "n1",
                                     headers={"X-Vdynamo-Context": ctx or ""})[0])
    cluster.start("n3")
    time.sleep(15)
    wrong = []
    for i, k in enumerate(keys):
        got = cluster.values(k, node="n3", query="?r=3")
        want = [] if i in deleted else [b"val-%d" % i]
        if got != want:
            wrong.append((i, got[:2]))
    small = cluster.put("small", b"v", query="?w=3")
    over = cluster.put(urllib.parse.quote(b"\x00" * 1025, safe=""), b"x")
    print(f"puts/deletes: {sorted(set(codes))}; wrong reads via n3 at r=3: {len(wrong)} {wrong[:3]}; "
          f"a small w=3 put {small}; a 1025-byte key {over}")
    if any(c >= 300 for c in codes) or wrong or small != 200 or over != 414:
        print("FAIL")
        sys.exit(1)
    print("PASS")
