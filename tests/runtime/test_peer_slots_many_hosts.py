"""Silent connections from many hosts do not evict a real peer's hello from a host
that holds more waiting connections (session 19's review of the peer-port probe).

Scenario (several nodes on one host, as ``vdynamo`` runs them in one process or
behind one NAT; an attacker with many source addresses, e.g. 127.0.0.x or an
IPv6 prefix): n1's peer port at its cap of 6 holds three whole hellos from the
nodes' host 10.0.0.1 (each waiting one round trip for its proof) and three
connections that sent nothing, one from each of 10.0.0.7, 10.0.0.8, 10.0.0.9.
A fourth silent connection arrives from 10.0.0.10. Before, the victim was
chosen by host first (10.0.0.1 holds the most, 3) and only then by tier, so a
real peer's hello was evicted while the attacker's silent connections stayed:
each new silent connection from a fresh host evicted the next hello until the
nodes' host held no more than the others, 2 of 3 hellos evicted by 3 silent
connections. Now a connection that sent a whole
hello is evicted only when no connection that has not is left (the host rule
orders victims within a tier): 0 of 3 hellos evicted."""

from __future__ import annotations

from impl.connections import ConnectionSlots
from tests.runtime.test_http_eviction_order import _Conn


def test_silent_connections_from_many_hosts_do_not_evict_hellos() -> None:
    slots = ConnectionSlots(6)
    hellos = [_Conn(f"hello{i}") for i in range(3)]
    for conn in hellos:
        assert slots.admit(conn, "10.0.0.1")
        slots.introduced(conn)
    silent = [_Conn(f"silent{i}") for i in range(3)]
    for i, conn in enumerate(silent):
        assert slots.admit(conn, f"10.0.0.{7 + i}")
    newcomers = [_Conn(f"new{i}") for i in range(3)]
    for i, conn in enumerate(newcomers):
        assert slots.admit(conn, f"10.0.0.{10 + i}")
    evicted = sum(conn.closed for conn in hellos)
    assert evicted == 0, f"{evicted} of 3 hellos evicted"  # before: 2 of 3
    assert all(conn.closed for conn in silent)
    # only hellos waiting: the host with the most loses its oldest first
    for conn in newcomers:
        slots.introduced(conn)
    assert slots.admit(_Conn("late"), "10.0.0.20") and hellos[0].closed
    assert not any(conn.closed for conn in newcomers)
