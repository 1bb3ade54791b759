"""The peer connections' TCP keepalive finds a dead peer within the bound
session 20 documented (docs/runtime.md; session 21's review: the keepalive at
Linux's defaults, 7200 s idle and 9 probes 75 s apart, survived session 20's
test, which compares each socket with :data:`impl.runtime.PEER_KEEPALIVE`
itself)."""

from __future__ import annotations

from impl.runtime import PEER_KEEPALIVE


def test_a_half_open_peer_connection_is_found_dead_within_30_s() -> None:
    """idle + interval x probes: 10 + 5 x 3 = 25 s, within etcd's and Cassandra's
    30 s (``internode_tcp_user_timeout``); each a whole number of seconds >= 1
    (what TCP_KEEPIDLE, TCP_KEEPINTVL and TCP_KEEPCNT take)."""
    idle, interval, probes = PEER_KEEPALIVE
    assert all(isinstance(v, int) and v >= 1 for v in PEER_KEEPALIVE), PEER_KEEPALIVE
    assert idle + interval * probes <= 30, PEER_KEEPALIVE
