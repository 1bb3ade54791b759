"""A captured `vdynamo remove` request replayed after the member's clock stepped
ahead and back (20e-20i replay peer sessions and contexts; session 19's service
probe made the admin token one request's: a stamp, a nonce kept in the store for
the 300 s window; 03f and 03g step clocks but send no admin request): a VM resumed
from a snapshot comes up with its clock 10 minutes ahead and its service starts;
the operator runs `vdynamo remove` on that host, so its token carries the same
wrong clock; NTP fixes the clock and the service is restarted (a running node's
clock is its monotonic clock plus the wall clock's offset taken at its start). The member forgets the nonces whose stamp
is over 300 s behind *its* clock; once the clock is back, an earlier token's stamp
is inside the window again and its nonce forgotten (Kerberos' replay cache has the
same hole, RFC 4120 3.2.3; Cassandra's and etcd's admin APIs use TLS and no
replay cache).

4 processes (`serve --node`), n1 under libfaketime with a clock read from a file
(+0). 10 keys at w=2. (1) `POST /admin/force-remove?node=n4` to n1 with a fresh token: 409 (n4 is
up); the request is captured. (2) n1's clock stepped +600 s and n1 restarted
(SIGKILL, start); a token for n3 stamped by that clock (the operator on n1's host):
409 (n3 is up). (3) n1's clock back to +0, n1 restarted; n4 SIGKILLed (its host died), 12 s for n1 to see it down. (4) The captured
request of (1) replayed to n1.

Right value: the replay is 401 ("already used", or refused as older than a token
n1 forgot); n4 stays a member in n1's view. A 200 (n4 removed by a replay) or a
409 (past the token check) is the fault.

Run from the project's root: .venv/bin/python probes/20k-admin-token-replayed-after-a-clock-step.py
Loopback only, needs libfaketime; about 30 s; every process stopped.
"""
from __future__ import annotations

import json
import sys
import time
import tomllib
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, ".")
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _cluster import FAKETIME_LIB, Checks, LocalNodes, faketime_env  # noqa: E402

from impl.http_api import ADMIN_FORCE_REMOVE, admin_authorization  # noqa: E402

STEP = 600


def admin(c: LocalNodes, node: str, token: str) -> tuple[int, str]:
    req = urllib.request.Request(
        f"http://127.0.0.1:{c.http['n1']}{ADMIN_FORCE_REMOVE}?node={node}", data=b"",
        method="POST", headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, resp.read().decode(errors="replace")[:200]
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode(errors="replace")[:200]


def secret_and_name(c: LocalNodes) -> tuple[bytes, str]:
    """The cluster file's ``[cluster] secret`` and ``name`` (20k, 20o)."""
    cluster = tomllib.loads(c.config.read_text())["cluster"]
    return cluster["secret"].encode(), cluster.get("name", "vdynamo")


def replayed(between: Callable[[LocalNodes, Path, Checks, Callable[[str, int], str], str], None],
             before: Callable[[LocalNodes, Path], None] | None = None) -> None:
    """4 nodes, n1 under libfaketime (its offset file returned to ``between``), 10 keys
    at w=2; ``before(cluster, offset file)`` if given; a token for n4 taken by n1
    (409, n4 up) and kept; ``between(cluster, offset file, checks, token maker (node,
    stamp), the kept token)``; n4 SIGKILLed, 12 s; the kept token replayed to n1: 401 is right, n4
    still a member (20k, 20l, 20n)."""
    if FAKETIME_LIB is None:
        raise SystemExit("SKIP: libfaketime is not installed")
    checks = Checks()
    c = LocalNodes(nodes=4, per_process=True)
    offset = c.dir / "n1.faketime"
    offset.write_text("+0\n")
    try:
        for name in c.names:
            c.start_node(name, faketime_env(file=offset) if name == "n1" else None)
        c.wait_ready()
        time.sleep(3)
        # (an empty store restarted counts as a replaced disk: it refuses tokens 300 s)
        # (a put retried once after 2 s: a 504 under a loaded machine's first seconds
        # is not what these probes look at)
        puts = [c.put(f"k{i}", b"v", query="?w=2") for i in range(10)]
        puts = [code if code == 200 or time.sleep(2) else c.put(f"k{i}", b"v", query="?w=2")
                for i, code in enumerate(puts)]
        checks("10 puts", set(puts) == {200}, puts)
        if before is not None:
            before(c, offset)
        secret, cluster = secret_and_name(c)

        def token(node: str, stamp: int) -> str:
            return admin_authorization(secret, cluster, node=node, member="n1",
                                       address=f"127.0.0.1:{c.peer['n1']}", stamp=stamp)

        seen = token("n4", int(time.time()))
        first = admin(c, "n4", seen)
        print(f"(1) token for n4 at n1: {first}")
        checks("(1) taken, 409 (n4 up)", first[0] == 409, first)
        between(c, offset, checks, token, seen)
        c.kill("n4")
        time.sleep(12)
        replay = admin(c, "n4", seen)
        with urllib.request.urlopen(f"http://127.0.0.1:{c.http['n1']}/status", timeout=10) as r:
            view = json.loads(r.read())["membership"].get("n4", {})
        print(f"(4) n4 down, the captured token of (1) replayed: {replay}")
        print(f"n1's view of n4 after: {view}")
        checks("the replay is 401", replay[0] == 401, replay)
        checks("n4 still a member", view.get("status") not in ("removed", "removing"), view)
    finally:
        c.__exit__()  # every process stopped, the directory removed
    checks.finish()


def ahead_and_back(c: LocalNodes, offset: Path, checks: Checks,
                   token: Callable[[str, int], str], seen: str) -> None:
    # a running node's clock is its monotonic clock plus the offset taken at its
    # start: the step shows at a start (the service restarted on the stepped host)
    offset.write_text(f"+{STEP}\n")
    c.kill("n1")
    c.start_node("n1", faketime_env(file=offset))
    time.sleep(4)
    ahead = admin(c, "n3", token("n3", int(time.time()) + STEP))
    offset.write_text("+0\n")
    c.kill("n1")
    c.start_node("n1", faketime_env(file=offset))
    time.sleep(4)
    print(f"(2) n1 restarted with its clock +{STEP} s, a token stamped by it for n3: {ahead}")
    print("(3) n1's clock set right, n1 restarted")
    checks("(2) taken, 409 (n3 up)", ahead[0] == 409, ahead)


if __name__ == "__main__":
    replayed(ahead_and_back)
