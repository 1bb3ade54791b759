"""A cap on the connections of one listening port, that a flood of idle ones cannot wedge.

Theory of operation
-------------------
Each port of a node (the peer port, the HTTP port) admits at most ``limit``
connections at once (``ClusterConfig.max_peer_connections``,
``max_http_connections``). A connection is either *waiting* (for the next
request's bytes, or a peer's hello: it holds a descriptor and does no work) or
*busy* (a request being read or answered, an authenticated peer). When a new
connection arrives at the cap, the oldest waiting connection is closed to make
room (as web servers drop idle keep-alive connections first); only when every
admitted connection is busy is the new one refused, at once. So idle or
half-sent connections can delay a real client by no more than one eviction,
and they are closed anyway by the timeouts of the runtime
(``http_header_timeout_s``, ``http_idle_timeout_s``, ``peer_hello_timeout_s``).

"Oldest" is by the last bytes received: a waiting connection that receives
some (:meth:`ConnectionSlots.active`, called by the HTTP port at each read)
becomes the newest, so the connection evicted is the one idle the longest.
Until session 19's service probe it was the oldest by admission: a flood of
silent connections (about 750 connects/s, each left open) evicted a client 1.3 s
into its 400 KB PUT sent at 100 KB/s (a broken pipe, nothing stored), since its
connection was the oldest waiting one though bytes came on it every few
milliseconds. Ordering by activity (not by how far a request has come) keeps a
new connection safe as before: it is the newest until its first read.

On the peer port a connection whose hello was whole and named a node of the
cluster (the acceptor sent its challenge and waits one round trip for the
proof) is *introduced* (:meth:`ConnectionSlots.introduced`): it is evicted only
once no other waiting connection is left, the oldest introduced one first.
Until session 19's peer-port probe the peer port evicted by admission alone: a
flood of connections that send nothing, opened faster than the cap per round
trip (6 per 0.4 s with ``max_peer_connections = 6`` and a 0.2 s link), evicted
every hello a real peer sent over its slow link, for as long as the flood
lasted (0 of 8 ``w=3`` puts through that peer taken;
tests/runtime/test_peer_flood_slow_link.py). A flood of whole hellos naming a
node (no secret is needed to send one) still competes with a real peer's, by
age: the proof is what tells them apart, and it takes a round trip. So at the
cap the connection evicted comes from the host with the most waiting
connections, within its tier (:meth:`ConnectionSlots._victim`; the peer port
gives each connection's host): a flood of whole hellos from one host (whole hellos naming
n3 from 127.0.0.2, about 100 a second, at the same cap and link) evicts its own
connections, not the hello of a peer on another host (0 of 8 puts before, 8 of
8 after). An attacker on a peer's own host still competes with it by age.

Sans-IO apart from the one call it makes on eviction: ``close()`` of the
evicted connection's transport (any object with a ``close()`` method).

The caps only help if the process can open that many descriptors: past its
open-files limit ``accept`` fails before a cap is reached and nobody gets in.
:func:`fit_descriptors` raises the limit to what the caps need (up to the hard
limit) and otherwise lowers the caps to fit under it.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import resource
import socket
import struct
import termios
import time
from collections.abc import Callable, Collection
from typing import Protocol

from impl.config import ClusterConfig, peer_members
from impl.errors import ConfigError, InvalidValueError

__all__ = ["Closable", "ConnectionSlots", "acked_bytes", "fit_caps", "fit_descriptors",
           "reset", "unsent_bytes"]

log = logging.getLogger("vdynamo.runtime")

#: descriptors a process holds besides its nodes (stdio, the event loop, logs)
PROCESS_DESCRIPTORS = 24
#: descriptors a node holds besides admitted connections: listeners, storage
#: files, a margin for connections accepted before they are admitted
NODE_DESCRIPTORS = 16


#: descriptors a quiet process and each of its nodes hold open besides their peer and
#: client connections (the interpreter's, stdio, the event loop's, the log; a node's
#: two listeners, its data file with its journal, shared memory and lock, a reader),
#: counted on session 47's machine: 49 descriptors open for 3 nodes in one process
#: and 621 for 16, each with every peer connected both ways (at a limit of 621 the
#: 16 nodes took no client; at 637, this floor, and 640 they served). The floor
#: under which :func:`fit_descriptors` refuses (no margin: the caps keep theirs)
OWN_DESCRIPTORS = 13
NODE_OWN_DESCRIPTORS = 8


class Closable(Protocol):
    def close(self) -> None: ...


class ConnectionSlots:
    """The admitted connections of one port (see the module docstring)."""

    def __init__(self, limit: int,
                 on_evict: Callable[[Closable, bool], None] | None = None,
                 keep_s: float = 0.0, clock: Callable[[], float] = time.monotonic) -> None:
        """``on_evict(connection, introduced)`` is called for each connection evicted,
        before it is closed (the peer port logs it as a refused peer). A connection
        :meth:`kept` alive after an answer is not evicted for ``keep_s`` seconds
        (by ``clock``) after it (the HTTP port: :data:`impl.http_api.KEPT_ALIVE_S`)."""
        if limit < 1:
            raise InvalidValueError(f"limit: must be >= 1, got {limit}")
        self.limit = limit
        self.on_evict = on_evict
        self.keep_s = keep_s
        self.clock = clock
        #: waiting connections kept alive after an answer, and when
        self._kept: dict[Closable, float] = {}
        #: the waiting (evictable) connections, oldest first
        self._waiting: dict[Closable, None] = {}
        #: waiting connections introduced (a peer's whole hello): evicted last
        self._introduced: dict[Closable, None] = {}
        self._busy: set[Closable] = set()
        #: the host each connection admitted with one came from, and the waiting
        #: connections (both tiers) per host
        self._hosts: dict[Closable, str] = {}
        self._waiting_per_host: dict[str, int] = {}
        self.refused = 0
        self.evicted = 0

    def __len__(self) -> int:
        return len(self._waiting) + len(self._introduced) + len(self._busy)

    def admit(self, connection: Closable, host: str | None = None) -> bool:
        """Admit a new connection (as waiting) from ``host`` (None: not told); at the
        cap close a waiting one first (:meth:`_victim`). False (and counted) if
        every admitted connection is busy."""
        if len(self) >= self.limit:
            found = self._victim(host)
            if found is None:  # every connection busy, or kept alive a moment ago
                self.refused += 1
                return False
            victim, introduced = found
            self._unwait(victim)
            self._hosts.pop(victim, None)
            self.evicted += 1
            if self.on_evict is not None:
                self.on_evict(victim, introduced)
            transport = getattr(victim, "transport", None)
            if transport is not None and unsent_bytes(transport):
                # its client has not taken the answers the kernel holds: reset. Closed
                # with a FIN, each evicted connection of a client that pipelined and
                # read nothing stayed an orphan in FIN-WAIT-1 holding them (8 of 8 at
                # about 168 KB, session 55's third new-user probe), one more at each
                # connection that evicted another
                reset(transport)
            victim.close()
        self._waiting[connection] = None
        if host is not None:
            self._hosts[connection] = host
        self._count(connection, 1)
        return True

    def _victim(self, newcomer: str | None = None) -> tuple[Closable, bool] | None:
        """(the waiting connection to evict, whether it was introduced): the oldest
        connection not introduced, of the hosts with the most waiting connections
        among those; only when every waiting connection is introduced, the oldest
        introduced one of the hosts with the most. So a flood from one host (or a
        few) evicts its own connections, never a hello under way from another host
        (the peer port passes hosts; Cassandra bounds connections per source address
        too, ``native_transport_max_concurrent_connections_per_ip``), and silent
        connections from many hosts never evict a whole hello from a host that
        holds more (several nodes on one host). Connections admitted without a
        host count as one host of their own each (the HTTP port: oldest first).
        A connection :meth:`kept` alive less than ``keep_s`` ago is skipped (its
        client may be sending its next request: session 61's red team, probe 08r)
        unless its client has not read its answers (:func:`unsent_bytes`: it is not
        about to send anything; tests/runtime/test_http_idle_unread_reset.py),
        or the ``newcomer``'s host holds fewer waiting connections than its host
        (:meth:`_claims`: session 61's review). None when nothing can be evicted."""
        now = self.clock() if self._kept else 0.0
        for tier in (self._waiting, self._introduced):
            if tier and not self._hosts and not self._kept:  # no hosts told: the oldest
                return next(iter(tier)), tier is self._introduced
            victim, most = None, 0
            top = max(self._waiting_per_host.values(), default=1)
            for connection in tier:  # oldest first: the first of the most wins
                host = self._hosts.get(connection)
                count = 1 if host is None else self._waiting_per_host.get(host, 1)
                if count <= most or (self._kept and self._spared(connection, newcomer, now)):
                    continue
                victim, most = connection, count
                if most >= top:  # none later can hold more
                    break
            if victim is not None:
                return victim, tier is self._introduced
        return None

    def _spared(self, connection: Closable, newcomer: str | None, now: float) -> bool:
        """Whether ``connection`` (waiting) is not to be evicted now (:meth:`_victim`)."""
        if now - self._kept.get(connection, -self.keep_s) >= self.keep_s:
            return False
        return not self._claims(newcomer, connection) and not _unread(connection)

    def _claims(self, newcomer: str | None, connection: Closable) -> bool:
        """Whether a newcomer from host ``newcomer`` may evict ``connection`` though it
        was kept alive a moment ago: both hosts told and ``connection``'s holds more
        waiting connections than the newcomer's. A client's pool is not cut by its
        own newcomers (probes/08r), but a peer address cannot hold the port by
        keeping its connections answered: before session 61's review one GET a
        second on each of 32 connections from one address (each kept alive, never
        evictable) refused every other client a 503 for as long as it went on
        (tests/runtime/test_http_kept_alive_lockout.py)."""
        host = self._hosts.get(connection)
        if newcomer is None or host is None or host == newcomer:
            return False
        return self._waiting_per_host.get(host, 0) > self._waiting_per_host.get(newcomer, 0)

    def _count(self, connection: Closable, change: int) -> None:
        host = self._hosts.get(connection)
        if host is None:
            return
        count = self._waiting_per_host.get(host, 0) + change
        if count > 0:
            self._waiting_per_host[host] = count
        else:
            self._waiting_per_host.pop(host, None)

    def _unwait(self, connection: Closable) -> bool:
        """Take ``connection`` out of the waiting tiers; whether it was in one."""
        self._kept.pop(connection, None)
        if connection in self._waiting:
            del self._waiting[connection]
        elif connection in self._introduced:
            del self._introduced[connection]
        else:
            return False
        self._count(connection, -1)
        return True

    def waiting(self, connection: Closable) -> None:
        """``connection`` does no work until more bytes arrive: it may be evicted."""
        if connection in self._busy:
            self._busy.discard(connection)
            self._waiting[connection] = None
            self._count(connection, 1)

    def kept(self, connection: Closable) -> None:
        """``connection`` was answered and is kept alive for its client's next
        request: waiting, and not evicted for ``keep_s`` seconds. Evicted at once
        (before session 61), a client pool busier than the cap (httpx, 200
        read-modify-write tasks on a cap of 32) saw 496 of 1,100 requests closed
        unanswered: each was sent on a kept-alive connection a newcomer had just
        evicted (RemoteProtocolError, or a reset once its bytes were in). Kept, the
        newcomer gets the 503 with Retry-After that a refusal answers."""
        self.waiting(connection)
        if connection in self._waiting:
            self._kept[connection] = self.clock()

    def active(self, connection: Closable) -> None:
        """``connection`` received bytes: if waiting, it becomes the newest waiting
        connection (the last to be evicted)."""
        if connection in self._waiting:
            del self._waiting[connection]
            self._waiting[connection] = None

    def introduced(self, connection: Closable) -> None:
        """``connection``, waiting, said a whole hello naming a node of the cluster
        (the peer port): it is evicted only when no waiting connection that is
        not introduced is left, from any host (see the module docstring)."""
        if connection in self._waiting:
            del self._waiting[connection]
            self._introduced[connection] = None

    def busy(self, connection: Closable) -> None:
        """``connection`` is doing work (a request in progress, a peer's stream)."""
        if self._unwait(connection):
            self._busy.add(connection)

    def release(self, connection: Closable) -> None:
        """``connection`` is closed."""
        self._unwait(connection)
        self._hosts.pop(connection, None)
        self._busy.discard(connection)

    def close_all(self, *, abort: bool = False) -> None:
        """Close every admitted connection (a node that stops); each is released
        when its handler sees the close. ``abort``: drop what each still has to send
        (``transport.abort()`` of a connection that has a transport, a StreamWriter):
        a close waits until the client has taken it, which a client that reads
        nothing never does (session 39's user probe)."""
        for connection in [*self._waiting, *self._introduced, *self._busy]:
            transport = getattr(connection, "transport", None) if abort else None
            if transport is not None:  # not reset (:func:`reset`): what the kernel
                transport.abort()      # holds still reaches a client that reads on
            else:
                connection.close()


def _unread(connection: Closable) -> bool:
    """Whether ``connection``'s transport holds answers its client has not taken."""
    transport = getattr(connection, "transport", None)
    return transport is not None and bool(unsent_bytes(transport))


#: ``SO_LINGER`` on, for 0 s: a close sends a reset and drops the unsent bytes
_LINGER_ZERO = struct.pack("ii", 1, 0)


def reset(transport: asyncio.WriteTransport) -> None:
    """Abort ``transport`` with a reset: ``SO_LINGER`` 0 on its socket, then
    ``abort()``. An abort alone closes the descriptor, but the kernel keeps
    sending what it holds and then a FIN: a client that reads nothing leaves the
    socket an orphan in FIN-WAIT-1 holding its send buffer (about 3.9 MB each on
    loopback), and a client that reads again later gets the rest of the answer
    the node gave up on (session 54's new-user probe, probes/21d). A transport
    without a socket (or one that refuses the option, already closed) is aborted
    as before. Used where the node judged the client gone (``HttpApi._drain``); a
    stopping node's :meth:`ConnectionSlots.close_all` still aborts without it, so
    a client reading slowly at the stop gets the answer the kernel holds.
    Source: socket(7) SO_LINGER; RFC 9293 3.10.4 (ABORT sends RST)."""
    sock = transport.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError, ValueError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_ZERO)
    transport.abort()


def unsent_bytes(transport: asyncio.BaseTransport) -> int | None:
    """The bytes ``transport``'s socket still holds to send: written by the node and
    not yet acknowledged by the peer (``SIOCOUTQ``, the ``TIOCOUTQ`` ioctl on a TCP
    socket: tcp(7)); None where that cannot be told (no socket, a platform without
    the ioctl, a closed descriptor). One system call. Used by
    :meth:`impl.http_api.HttpApi` to tell, at an idle close, a client that read
    nothing of its answers from one that reads slowly (session 55's third new-user
    probe)."""
    sock = transport.get_extra_info("socket")
    if sock is None:
        return None
    try:
        held = fcntl.ioctl(sock.fileno(), termios.TIOCOUTQ, b"\0\0\0\0")
    except (OSError, ValueError, AttributeError):
        return None
    return int(struct.unpack("i", held)[0])


#: ``struct tcp_info``'s ``tcpi_bytes_acked`` (``linux/tcp.h``, Linux 4.1+): a u64 at
#: this offset, after 8 bytes of u8 fields, 24 u32 and two u64 (the pacing rates)
_TCPI_BYTES_ACKED = 120


def acked_bytes(transport: asyncio.BaseTransport) -> int | None:
    """How many bytes of what ``transport``'s socket sent its peer's TCP acknowledged
    so far (``TCP_INFO``'s ``tcpi_bytes_acked``, tcp(7); it grows only as the peer's
    receive buffer takes them, so not while a client that reads nothing has a full
    one, even as the node's kernel takes more into its send queue); None where that
    cannot be told (no socket, no ``TCP_INFO``, a kernel before 4.1, a closed
    descriptor). One system call. :meth:`impl.http_api.HttpApi._stalled`
    (session 57)."""
    sock = transport.get_extra_info("socket")
    option = getattr(socket, "TCP_INFO", None)
    if sock is None or option is None:
        return None
    try:
        info = sock.getsockopt(socket.IPPROTO_TCP, option, _TCPI_BYTES_ACKED + 8)
    except (OSError, ValueError, AttributeError):
        return None
    if len(info) < _TCPI_BYTES_ACKED + 8:
        return None
    return int(struct.unpack_from("=Q", info, _TCPI_BYTES_ACKED)[0])


def fit_caps(open_files: int, nodes: int, members: int, http: int,
             peer: int) -> tuple[int, int]:
    """(HTTP cap, peer cap) per node so that ``nodes`` nodes in one process, each
    with ``members - 1`` outgoing peer links, fit in ``open_files`` descriptors:
    ``(http, peer)`` if they do, else both lowered in proportion (at least 1 and
    ``members`` respectively)."""
    fixed = PROCESS_DESCRIPTORS + nodes * (NODE_DESCRIPTORS + members)
    room = (open_files - fixed) // max(nodes, 1)
    if room >= http + peer:
        return http, peer
    peer_cap = max(members, min(peer, room * peer // (http + peer)))
    return max(1, room - peer_cap), peer_cap


def fit_descriptors(cluster: ClusterConfig, nodes: int,
                    names: Collection[str] = (), left: Collection[str] = ()) -> ClusterConfig:
    """``cluster`` with caps this process can hold for ``nodes`` nodes of the
    cluster's members (:func:`impl.config.peer_members`: its ``nodes``, ``ring_slots``
    and ``names``, the cluster file's ``[nodes.*]`` sections, the nodes that joined,
    each a peer that connects both ways, but for ``left``, the nodes that left, as
    :func:`impl.config.check_peer_cap` counts them; before session 47's review only the
    initial ``nodes`` counted, so a node of 3 initial and 13 joined under a limit
    of 40 was served with its peer cap lowered to 4, under its 15 peers): the
    open-files limit is raised (up to the hard limit) to what the configured caps
    need; if that is not enough the caps are lowered and a warning says so;
    ConfigError naming the limit and what is needed when not even the least the
    nodes hold fits (their own descriptors, one client each, a connection to and
    one from each peer: :data:`OWN_DESCRIPTORS`, :data:`NODE_OWN_DESCRIPTORS`)."""
    members = peer_members(cluster, names, left)
    needed = (PROCESS_DESCRIPTORS + nodes * (NODE_DESCRIPTORS + members
              + cluster.max_http_connections + cluster.max_peer_connections))
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft >= needed:
        return cluster
    target = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        soft = target
    except (ValueError, OSError):
        pass
    least = OWN_DESCRIPTORS + nodes * (NODE_OWN_DESCRIPTORS + 1 + 2 * (members - 1))
    if soft < least:
        # not even the caps' floors fit (one client, a connection to and from each
        # peer), with no margin: before session 47's user probe 16 nodes in one
        # process under a limit of 256 warned "max_http_connections 512 -> 1", then
        # exited 1 a second later with "cannot open a reader of '.../n12.sqlite':
        # unable to open database file"
        raise ConfigError(
            f"open-files limit {soft} (hard {hard}) is too low for {nodes} nodes of a "
            f"cluster of {members} in one process: they need at least {least} descriptors "
            f"(their listeners and data files, a connection to and one from each peer, one "
            f"client each): raise the limit (ulimit -n {least} or more) or serve fewer "
            f"nodes per process (vdynamo serve --node NAME)")
    http, peer = fit_caps(soft, nodes, members, cluster.max_http_connections,
                          cluster.max_peer_connections)
    if (http, peer) == (cluster.max_http_connections, cluster.max_peer_connections):
        return cluster
    log.warning("open-files limit %d holds fewer connections than configured: "
                "max_http_connections %d -> %d, max_peer_connections %d -> %d per node",
                soft, cluster.max_http_connections, http, cluster.max_peer_connections, peer)
    return cluster.replace(max_http_connections=http, max_peer_connections=peer)
