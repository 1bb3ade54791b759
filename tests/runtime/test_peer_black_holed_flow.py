"""A peer connection whose flow is black-holed (its packets dropped both ways, no
reset, new flows passing: a firewall, NAT or load balancer that forgot the flow) is
given up and dialed again within the keepalive's bound, although it always has
frames in flight (red team 7, session 58, probe 21h).

TCP keepalive (:data:`impl.runtime.PEER_KEEPALIVE`) probes only an idle
connection; a dialed peer connection carries gossip and puts, so its unacknowledged
frames were retransmitted for Linux's ``tcp_retries2`` (about 15 minutes) and every
w=3 put between the two nodes answered 504 for the 60 s probe 21h ran. Now
TCP_USER_TIMEOUT bounds unacknowledged data by the keepalive's 25 s
(:func:`impl.runtime._keep_alive`; Cassandra's ``internode_tcp_user_timeout``).

The scenario runs in a network namespace of its own (``unshare --net``, or
``unshare -rn`` as a user; skipped where neither works, or ``ip`` cannot add a rule
on a flow's ports there): its own
loopback, so that the cut touches no other process. There, the three nodes of
:func:`tests.runtime.live.cluster` with ``PEER_KEEPALIVE = (1, 1, 2)`` (4 s) put at
w=3 through each node (every flow up); both flows between n1 and n2 are dropped
(policy routing on the flows' ports into a blackhole route); puts at w=3 through n1
until one is 200 (at most 15 s). The test asserts one is 200 within 9 s of the cut.

Mutant, run and seen failing: TCP_USER_TIMEOUT left out of ``_keep_alive``'s
options: no put 200 within the 15 s (``recovered_s`` None). About 1.5 CPU-s, 6 s
wall.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _namespace() -> list[str] | None:
    """The ``unshare`` command that makes a network namespace here, or None."""
    if not shutil.which("unshare") or not shutil.which("ip"):
        return None
    # every step the scenario takes: the loopback up, a rule on a flow's ports
    # (iproute2 and Linux 4.17 or later), a blackhole route
    steps = ("ip link set lo up && ip rule add pref 10 ipproto tcp sport 1 dport 2 "
             "table 100 && ip route add blackhole default table 100")
    for command in (["unshare", "--net"], ["unshare", "-rn"]):
        probe = subprocess.run([*command, "sh", "-c", steps], capture_output=True,
                               check=False)
        if probe.returncode == 0:
            return command
    return None


def _cut(flows: set[tuple[int, int]]) -> None:
    """Drop every packet of ``flows`` ((source port, destination port) each way):
    rules ahead of the local table (moved from preference 0 to 100) send them to a
    table whose only route is a blackhole. Adding a rule invalidates the sockets'
    cached routes, so established flows are hit."""
    for sport, dport in flows:
        subprocess.run(["ip", "rule", "add", "pref", "10", "ipproto", "tcp", "sport",
                        str(sport), "dport", str(dport), "table", "100"], check=True)
    subprocess.run(["ip", "route", "add", "blackhole", "default", "table", "100"], check=True)
    subprocess.run(["ip", "rule", "del", "pref", "0"], check=True)
    subprocess.run(["ip", "rule", "add", "pref", "100", "table", "local"], check=True)


def scenario() -> None:
    """Run in the namespace (``python -c``): print ``{"before": [...],
    "recovered_s": seconds or None}`` as JSON."""
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    import impl.runtime
    from tests.runtime.live import call, cluster, url

    impl.runtime.PEER_KEEPALIVE = (1, 1, 2)

    async def go(tmp: Path) -> dict[str, object]:
        async with cluster(tmp) as servers:
            before = [(await call("PUT", url(s, f"/kv/k{s.name}?w=3"), b"v"))[0]
                      for s in servers]
            n1, n2 = servers[0], servers[1]
            flows = set()
            for server, peer in ((n1, "n2"), (n2, "n1")):
                sock = server._outbound[peer].get_extra_info("socket")
                local, remote = sock.getsockname()[1], sock.getpeername()[1]
                flows |= {(local, remote), (remote, local)}
            _cut(flows)
            loop = asyncio.get_running_loop()
            start, recovered, i = loop.time(), None, 0
            while loop.time() - start < 15 and recovered is None:
                i += 1
                status = (await call("PUT", url(n1, f"/kv/after{i}?w=3"), b"v"))[0]
                if status == 200:
                    recovered = round(loop.time() - start, 1)
                else:
                    await asyncio.sleep(0.2)
            return {"before": before, "recovered_s": recovered}

    with tempfile.TemporaryDirectory() as tmp:
        print(json.dumps(asyncio.run(asyncio.wait_for(go(Path(tmp)), 60))))


def test_a_black_holed_peer_flow_is_dialed_again_within_the_bound() -> None:
    command = _namespace()
    if command is None:
        pytest.skip("no network namespace here (unshare --net / -rn, ip)")
    done = subprocess.run(
        [*command, sys.executable, "-c",
         "from tests.runtime.test_peer_black_holed_flow import scenario; scenario()"],
        cwd=ROOT, capture_output=True, text=True, timeout=90, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["before"] == [200, 200, 200], result
    assert result["recovered_s"] is not None and result["recovered_s"] <= 9, result
