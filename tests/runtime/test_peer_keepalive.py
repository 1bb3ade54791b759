"""Every authenticated peer connection, dialed or accepted, has TCP keepalive on
(``impl.runtime.PEER_KEEPALIVE``: probes after 10 idle seconds, every 5 s, reset
after 3 unanswered), so a connection whose peer host vanished without a reset (a
half-open connection: power loss, a cut link) is found dead within 25 s and its
slot freed. Before session 20's service probe no peer socket had SO_KEEPALIVE:
such a connection held its busy slot of ``max_peer_connections`` (and the
inbound entry of its peer) until that peer dialed again, for good if it never
came back (session 19's peer-port probe left it). A half-open connection cannot
be made on loopback without privileges, so the test reads the sockets' options.
Since session 58 each also has TCP_USER_TIMEOUT at the same 25 s (a connection
with frames in flight is not probed: tests/runtime/test_peer_black_holed_flow.py);
mutant, the option left out of ``_keep_alive``: this test fails (0 != 25000)."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

from impl.runtime import PEER_KEEPALIVE
from tests.runtime.live import call, cluster, run, url


def test_every_peer_connection_has_tcp_keepalive(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with cluster(tmp_path) as servers:
            for server in servers:  # every pair dials: a w=3 put through each node
                status, _, _ = await call("PUT", url(server, f"/kv/k{server.name}?w=3"),
                                          b"v")
                assert status == 200
            await asyncio.sleep(0.1)
            checked = 0
            idle, interval, probes = PEER_KEEPALIVE
            bound_ms = (idle + interval * probes) * 1000  # TCP_USER_TIMEOUT (session 58)
            for server in servers:
                for end in (*server._inbound.values(), *server._outbound.values()):
                    sock = end.get_extra_info("socket")
                    options = (sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) != 0,
                               sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE),
                               sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL),
                               sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT),
                               sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT))
                    assert options == (True, *PEER_KEEPALIVE, bound_ms), (server.name, options)
                    checked += 1
            assert checked == 12, checked  # 3 nodes x 2 peers x (dialed, accepted)
    run(scenario())
