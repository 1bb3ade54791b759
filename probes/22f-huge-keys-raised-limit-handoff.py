"""Huge *keys* with the key limit raised to its ceiling (the public case raises
max_value_bytes; 22b keeps max_key_bytes at 1024): `max_key_bytes = 1048576`
(KEY_BYTES_CEILING, which a cluster file may give), keys of 256 KiB and one of
exactly 1 MiB (with a 1 MiB value), written while a replica is down, so hinted
handoff, read repair and anti-entropy must carry keys that large (Merkle
exchanges list keys; a frame bounds what one message holds).

3 processes, N=3 R=2 W=2. n3 is SIGKILLed; 24 keys of 256 KiB (distinct ASCII
letters) and the 1 MiB key are written at w=2 through n1, 4 of them then deleted;
n3 restarts; 20 s for hinted handoff and anti-entropy.
Right value: every put 200 (the 1 MiB key too) and every delete 200; afterwards
n3's own store holds every live key (its /status `keys` count reaches the 21 live
keys plus the control key; the deleted keys' tombstones may be reaped by then), each live key reads its value at r=3 through n3 and each deleted
key nothing, and small w=3 puts succeed.

Run from the project's root: .venv/bin/python probes/22f-huge-keys-raised-limit-handoff.py
"""
import json
import sys
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, ".")
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _cluster import LocalNodes


def value_of(i: int, key: str) -> bytes:
    """The key's value: ``value-I``, for the 1 MiB key padded to exactly 1 MiB."""
    value = b"value-%d" % i
    return value.ljust(1 << 20, b"v") if len(key) == 1 << 20 else value


def status(cluster: LocalNodes, node: str) -> dict:
    with urllib.request.urlopen(f"http://127.0.0.1:{cluster.http[node]}/status", timeout=10) as r:
        return json.loads(r.read())


c = LocalNodes(nodes=3, per_process=True, extra_cluster="max_key_bytes = 1048576")
try:
    c.start()
    assert c.put("control", b"c", query="?w=3") == 200
    c.kill("n3")
    keys = [chr(ord("a") + i % 26) * (256 * 1024 - i) for i in range(24)] + ["Z" * (1 << 20)]
    codes = []
    for i, k in enumerate(keys):
        code, _, body = c.request("PUT", k, value_of(i, k),
                                  headers={"Content-Type": "application/octet-stream"})
        codes.append(code)
        if code != 200:
            print(f"put of a {len(k)}-byte key: {code} {body[:300]!r}")
    deleted = keys[:4]
    dcodes = []
    for k in deleted:
        _, ctx = c.read(k)
        dcodes.append(c.request("DELETE", k, headers={"X-Vdynamo-Context": ctx} if ctx else {})[0])
    print("puts:", sorted(set(codes)), "deletes:", sorted(set(dcodes)))
    c.start("n3")
    t0 = time.time()
    held = 0
    while time.time() - t0 < 20:
        held = status(c, "n3").get("keys", 0)
        if held >= len(keys) + 1 - len(deleted):  # the deleted keys' tombstones may be reaped
            break
        time.sleep(1)
    print(f"n3 holds {held} keys after {time.time() - t0:.0f} s (want {len(keys) + 1 - len(deleted)} or more)")
    wrong = []
    for i, k in enumerate(keys):
        got = c.values(k, node="n3", query="?r=3")
        want = [] if k in deleted else [value_of(i, k)]
        if got != want:
            wrong.append((len(k), [len(g) for g in got]))
    small = [c.put(f"small{i}", b"x", query="?w=3") for i in range(10)]
    print("wrong reads through n3:", wrong[:5], "small w=3 puts:", sorted(set(small)))
    log = (c.dir / "n3.log").read_text(errors="replace").splitlines()
    print("n3 warnings:", [line[:200] for line in log if '"warning"' in line or '"error"' in line][:4])
    if set(codes) != {200} or set(dcodes) != {200} or held < len(keys) + 1 - len(deleted) or wrong or set(small) != {200}:
        print("FAIL: huge keys did not reach the returning replica, or wedged the cluster")
        sys.exit(1)
    print("PASS")
finally:
    c.stop()
