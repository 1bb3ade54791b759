"""Tampered and borrowed X-Vdynamo-Context headers sent by raw HTTP (the public case
20 and 20a-20d forge peer frames; a context is the other token a client hands back:
Riak's X-Riak-Vclock could be edited by any client, which is how "vclock
manipulation" reports resurrected or hid values). A client edits the context a get
answered before a PUT or DELETE:

- every bit of its first 48 bytes and of its last 16 flipped in turn (re-encoded),
- truncated to every length from 1 to its length - 1, and extended by one byte,
- with the base64 padding stripped, in the URL-safe alphabet, with a space inside,
- a context of another key of the cluster, of the same key from another cluster
  (another secret), and from a cluster that shares the secret under another
  [cluster] name,
- the header given twice (the right context and a stale one, in both orders).

Real processes (`vdynamo serve --all`), 3 nodes, N=3 R=2 W=2, dvv. `k` = v1, then
v2 with v1's context (so a stale context exists).
Right value: every tampered or foreign context is refused with 400 (a JSON error
body, "not-written"), never a 5xx and never applied; after all of them `k` reads
[v2] at r=3 through every node, and a put with the right context still succeeds.

Run from the project's root: .venv/bin/python probes/20e-tampered-contexts-raw-http.py
"""
import base64
import json
import sys
from collections import Counter

from _cluster import LocalNodes, raw

bad: list[str] = []


def check(what: str, ok: bool, seen: object = "") -> None:
    if not ok:
        print(f"FAIL {what}: {str(seen)[:300]}")
        bad.append(what)


def foreign_context(secret_line: str = "") -> str:
    """A context of `k` as another cluster issues it (written there): of another
    secret, or (``secret_line`` given) of this secret under the [cluster] name
    "another"."""
    other = LocalNodes(nodes=3)
    if secret_line:
        text = "\n".join(secret_line + '\nname = "another"' if line.startswith("secret")
                         else line for line in other.config.read_text().splitlines())
        other.config.write_text(text + "\n")
    with other:
        other.put("k", b"theirs")
        context = other.read("k", query="?r=3")[1]
        assert context
        return context


def put_raw(port: int, contexts: list[str], method: str = "PUT") -> tuple[int, bytes]:
    head = [f"{method} /kv/k HTTP/1.1", "Host: x", "Connection: close",
            "Content-Type: application/octet-stream", "Content-Length: 6"]
    head += [f"X-Vdynamo-Context: {c}" for c in contexts]
    answer = raw(port, ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + b"forged")
    status = int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/1.1 ") else 0
    return status, answer.partition(b"\r\n\r\n")[2]


with LocalNodes(nodes=3) as cluster:
    cluster.put("k", b"v1")
    stale = cluster.read("k", query="?r=3")[1]
    assert stale
    cluster.put("k", b"v2", context=stale)
    values, context = cluster.read("k", query="?r=3")
    assert values == [b"v2"] and context, values
    secret_line = next(line for line in cluster.config.read_text().splitlines()
                       if line.startswith("secret"))
    other_secret = foreign_context()
    same_secret = foreign_context(secret_line)
    data = base64.b64decode(context)
    tampered: dict[str, list[str]] = {}
    for bit in [*range(min(48, len(data)) * 8), *range((len(data) - 16) * 8, len(data) * 8)]:
        flipped = bytearray(data)
        flipped[bit // 8] ^= 1 << (bit % 8)
        tampered[f"bit {bit} flipped"] = [base64.b64encode(bytes(flipped)).decode()]
    for size in range(1, len(data)):
        tampered[f"truncated to {size}"] = [base64.b64encode(data[:size]).decode()]
    tampered["extended"] = [base64.b64encode(data + b"\x00").decode()]
    tampered["padding stripped"] = [context.rstrip("=")] if context.endswith("=") else []
    tampered["url-safe"] = [context.replace("+", "-").replace("/", "_")]
    tampered["a space inside"] = [context[:8] + " " + context[8:]]
    other_key = cluster.read("other")[1]
    tampered["another key's"] = [other_key or ""]
    tampered["another cluster's (secret)"] = [other_secret]
    tampered["another cluster's (name, same secret)"] = [same_secret]
    tampered["twice: right then stale"] = [context, stale]
    tampered["twice: stale then right"] = [stale, context]
    statuses: Counter[int] = Counter()
    for what, contexts in tampered.items():
        if not contexts or contexts == [context]:
            continue  # the alphabet had nothing to change
        for method in ("PUT", "DELETE"):
            status, body = put_raw(cluster.http["n1"], contexts, method)
            statuses[status] += 1
            check(f"{method} with {what}: 400", status == 400, (status, body[:200]))
            if status == 400:
                check(f"{method} with {what}: not written",
                      json.loads(body).get("outcome") == "not-written", body[:200])
    print(f"{sum(statuses.values())} tampered writes: statuses {dict(statuses)}")
    for node in cluster.names:
        got = cluster.values("k", node=node, query="?r=3")
        check(f"k through {node} after the tampering", got == [b"v2"], got)
    check("a put with the right context", cluster.put("k", b"v3", context=context) == 200)
    check("k is [v3]", cluster.values("k", query="?r=3") == [b"v3"])
if bad:
    print(f"FAIL: {len(bad)} checks failed")
    sys.exit(1)
print("PASS")
