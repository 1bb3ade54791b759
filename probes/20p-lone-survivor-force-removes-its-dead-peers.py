"""A lone survivor force-removes its dead peers (review of red team 11, session 60:
20o's fix made `HttpApi._remove` refuse every force-remove, 409, while the member
has heard from no other member since its start). Force-remove exists for members
down for good; after a disaster the last node standing is restarted, and it hears
from no peer ever again. riak_core's `cluster force-remove` works on a lone
survivor; 20o's rule left the operator unable to shrink the cluster to what is left.

4 processes (`serve --node`), N = 2, R = W = 1; 5 keys. n2, n3, n4 SIGKILLed (down
for good), n1 SIGKILLed and started (the survivor restarted), 12 s. (1)
`POST /admin/force-remove?node=n4` to n1 with a token stamped now (as `vdynamo
remove` makes it; the CLI itself needs a `cluster up` directory). (2) A token for
n4 stamped 299 s ahead (an operator's clock ahead, inside the token's window).
(3) With `--wait`: 300 s after n1's start, a token for n3 stamped then.

Right value: the survivor can remove n4 and n3 (leaving n1, n2: N = 2) without a
peer: after 20o's rule its force-removes are refused only until a token stamped
after its start plus the window can be made (a replay of a token taken before a
backup was put back is stamped before that), and the refusal says when. A 409
"heard from no other member" at every step (no way out) is the fault.

Run from the project's root: .venv/bin/python probes/20p-lone-survivor-force-removes-its-dead-peers.py [--wait]
Loopback only; about 30 s (330 s with --wait); every process stopped.
"""
from __future__ import annotations

import importlib
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, ".")
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _cluster import Checks, LocalNodes, raw  # noqa: E402

from impl.http_api import ADMIN_FORCE_REMOVE, ADMIN_TOKEN_WINDOW_S, admin_authorization  # noqa: E402

base = importlib.import_module("20k-admin-token-replayed-after-a-clock-step")


def admin(c: LocalNodes, node: str, token: str) -> tuple[int, str]:
    """As 20k's request to n1, with its answer's message whole."""
    answer = raw(c.http["n1"], (
        f"POST {ADMIN_FORCE_REMOVE}?node={node} HTTP/1.1\r\nHost: x\r\nAuthorization: "
        f"Bearer {token}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n").encode())
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(body or b"{}").get("message", body.decode())


def main() -> None:
    checks = Checks()
    c = LocalNodes(nodes=4, n=2, r=1, w=1, per_process=True)
    try:
        for name in c.names:
            c.start_node(name)
        c.wait_ready()
        time.sleep(3)
        puts = [c.put(f"k{i}", b"v", query="?w=1") for i in range(5)]
        checks("5 puts", set(puts) == {200}, puts)
        for name in ("n2", "n3", "n4", "n1"):
            c.kill(name)
        c.start_node("n1")
        started = time.time()
        time.sleep(12)
        secret, cluster = base.secret_and_name(c)

        def token(node: str, stamp: float) -> str:
            return admin_authorization(secret, cluster, node=node, member="n1",
                                       address=f"127.0.0.1:{c.peer['n1']}", stamp=int(stamp))

        first = admin(c, "n4", token("n4", time.time()))
        print(f"(1) n2-n4 dead, n1 restarted alone; a token for n4 stamped now: {first}")
        checks("(1) removed, or the refusal names a way out",
               first[0] == 200 or "again in" in first[1], first)
        second = admin(c, "n4", token("n4", time.time() + ADMIN_TOKEN_WINDOW_S - 1))
        print(f"(2) a token stamped {ADMIN_TOKEN_WINDOW_S - 1:.0f} s ahead: {second}")
        checks("(2) removed", second[0] == 200 or "already removed" in second[1], second)
        if "--wait" in sys.argv:
            time.sleep(max(0.0, started + ADMIN_TOKEN_WINDOW_S + 5 - time.time()))
            third = admin(c, "n3", token("n3", time.time()))
            print(f"(3) {ADMIN_TOKEN_WINDOW_S:.0f} s after the start, a token for n3 "
                  f"stamped now: {third}")
            checks("(3) removed", third[0] == 200, third)
    finally:
        c.__exit__()
    checks.finish()


if __name__ == "__main__":
    main()
