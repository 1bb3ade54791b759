"""The asyncio runtime: a node core on real sockets.

(:class:`NodeServer` is one asyncio object that owns both ports, the peer
writers and the effect loop with group commit, the one place that orders
persist-then-send; what could leave it has: the HTTP layer (:mod:`impl.http_api`),
the hello and frame MACs (:mod:`impl.peer_auth`), the caps
(:mod:`impl.connections`), the configuration (:mod:`impl.runtime_config`), the
``vdynamo serve`` command and :func:`~impl.serve.serve` (:mod:`impl.serve`).)

Theory of operation
-------------------
The runtime is only a loop around the sans-IO core (:class:`impl.node.Node`):
read, decode, hand to the core, perform the effects. It owns everything the
core may not touch: sockets, the clock (:meth:`NodeServer.now`: the loop's
monotonic seconds anchored to the wall clock at the start) and
the disk (a :class:`~impl.storage.sqlite.SqliteStorage` file by default).

Between nodes: TCP, authenticated (:mod:`impl.peer_auth`). A connection opens
with a mutual challenge-response hello, in which each side proves it knows the
cluster secret over a fresh nonce of the other; after it, every frame is one
:mod:`impl.wire` message followed by a MAC with a per-direction sequence number.
A peer that fails the hello (or does not finish it within
``peer_hello_timeout_s``), or a frame that fails its MAC, is refused: the
connection closes, the refusal is logged (address and reason) and counted
(``refused_peers`` in ``/status``); nothing stored changes. A frame that passes
its MAC but does not decode, or a message the core fails on, is dropped alone
(logged and counted) and the connection goes on: one message's failure never
takes the frames queued behind it down. Outgoing messages go through one
bounded queue per peer, from which its writer sends the small frames queued
before the large ones (session 54: :meth:`NodeServer._frames_to_write`, the
kernel's buffers of a peer connection bounded by :data:`PEER_SOCKET_BYTES`); a
message whose frame would be over ``max_frame_bytes``
is dropped at the sender (logged and counted); a peer that is down or slow
loses messages, as the protocol allows. A failed dial is retried after a backoff
(0.05 s, doubling to 1 s) cut short when the peer's own connection arrives, and a
dialed connection is closed as soon as the peer closes its end (session 21). At
most ``max_peer_connections`` peer connections are admitted
(:mod:`impl.connections`).

For clients: HTTP/1.1 (:mod:`impl.http_api`: the requests, the statuses, the
timeouts and the connection cap). A saturated node (``max_pending_requests``
client requests in flight, or the bytes of its requests over
``max_pending_bytes`` once a request waited its turn: :mod:`impl.admission`)
answers 503 with Retry-After before writing anything, and a Forward it receives
with an OverloadedError.

Every port binds to 127.0.0.1 unless the file names another host (an address
may be only a port). ``vdynamo serve`` refuses a missing, example or short
secret unless ``--insecure-dev`` is given.

Run a node with ``vdynamo serve CLUSTER.toml --node n1``, or every node of a
configuration in one process (a local cluster to try) with ``--all``
(:mod:`impl.serve`). The configuration file and its loading:
:mod:`impl.runtime_config`.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import dataclasses
import hashlib
import hmac
import ipaddress
import json
import logging
import math
import re
import secrets
import socket
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from impl import errors, wire
from impl.admission import ByteAdmission
from impl.config import (
    MESSAGE_OVERHEAD_BYTES,
    ClusterConfig,
    adoptable_record_bytes,
    answer_bytes,
    frame_bytes,
    merged_record_bytes,
    most_patience,
    replicable_frame_bytes,
    sibling_bytes,
)
from impl.connections import ConnectionSlots, reset
from impl.effects import CancelTimer, Effect, Reply, Send, SetTimer
from impl.http_api import HttpApi, error_body, http_status
from impl.http_values import body_bytes
from impl.internal_errors import report_internal_error
from impl.logs import WindowedLog
from impl.membership import MemberStatus
from impl.messages import (
    Forward,
    ForwardClaim,
    ForwardDecline,
    ForwardGrant,
    ForwardReply,
    GetRequest,
    HintDelivery,
    KeyRecords,
    PutRequest,
    ReadRepair,
    Reap,
    ReapQuery,
    ReapQueryReply,
    ReplicaGet,
    ReplicaGetReply,
    ReplicaPut,
    ReplicaPutAck,
    ReplicaPutFailed,
)
from impl.metrics import NodeMetrics, ObservedStorage
from impl.node import Node
from impl.peer_auth import (
    HELLO_HEAD_BYTES,
    NONCE_BYTES,
    SETTINGS_DIFFER,
    TAG_BYTES,
    Acceptor,
    Dialer,
    FrameOpener,
    FrameSealer,
    HelloInfo,
    PeerAuthError,
    parse_hello_head,
    peer_key,
)
from impl.records import decode_record
from impl.runtime_config import (  # re-exported: they lived here first
    DEFAULT_HOST,
    EXAMPLE_SECRETS,
    Address,
    NodeAddresses,
    RuntimeConfig,
    StorageSettings,
    check_secret,
    load_runtime_config,
)
from impl.staging import failed_effects, persist, reply_ids, split
from impl.storage.base import Storage
from impl.storage.group_commit import GroupCommit
from impl.storage.sqlite import SqliteStorage
from impl.timers import Timer
from impl.versions import values

__all__ = [
    "COMPARED_LIMITS",
    "DEFAULT_HOST",
    "EXAMPLE_SECRETS",
    "RENEWAL_NOTE_S",
    "SHARED_SETTINGS",
    "Address",
    "NodeAddresses",
    "NodeServer",
    "RuntimeConfig",
    "StorageSettings",
    "check_secret",
    "http_status",
    "load_runtime_config",
    "members_text",
    "shared_settings",
]

log = logging.getLogger("vdynamo.runtime")

_HEADER_BYTES = 10
#: the messages that carry records with the retired actors of their entries (dvv,
#: :attr:`impl.messages.ReplicaPut.retired`; session 33): left out of a frame over a limit
_CARRY_RETIRED = (ReplicaPut, ReadRepair, HintDelivery, KeyRecords)
#: the peer messages about one key (``key``): a frame of one never passes a large
#: frame about the same key queued before it for the same peer
#: (:meth:`NodeServer._frames_to_write`; session 54's review)
_ABOUT_A_KEY = (ReplicaPut, ReplicaPutAck, ReplicaPutFailed, ReplicaGet, ReplicaGetReply,
                ReadRepair, HintDelivery, Reap, ReapQuery, ReapQueryReply)
#: the [cluster] limits each node's hello carries and each compares with its peers'
#: (``NodeServer._compare_limits``): those that decide whether a replica accepts a
#: peer's record (impl.replica.Replica.decode) or frame (``_read_frames``)
COMPARED_LIMITS = ("max_value_bytes", "max_key_bytes", "max_context_bytes", "max_siblings",
                   "max_record_bytes", "max_frame_bytes")
#: The [cluster] settings every node of a cluster must share, sent in each hello
#: (``HelloInfo.settings``) and compared once it is authenticated: a peer that gives
#: one another value is refused, naming it (``impl.peer_auth._same_settings``).
#: The clock mode decides what a record is, the rest which nodes hold a key
#: (session 26's user probe; docs/runtime.md, "Nodes with different settings").
#: ``nodes``, the initial members the initial ring is drawn from (text:
#: :func:`members_text`), since session 30's user probe: a node restarted with a file
#: whose ``nodes`` named one more (``n4``, never started) connected and said nothing,
#: listed ``n4`` as an up member of a four-node ring while its peers kept three.
#: ``retired_keep`` since session 34's user probe: dvv nodes pruning retired
#: lifetimes by different counts never agree on a record (one node of three with
#: ``retired_keep = 1``, the others the byte budget: in an idle cluster each key
#: exchanged by anti-entropy at every round, 137 follow-ups in 20 s for two keys,
#: a read repair at every R = 3 get; docs/runtime.md, "User probe of retired
#: pruning (session 34)").
SHARED_SETTINGS = ("clock", "n", "partitioning", "tokens_per_node", "partitions",
                   "ring_seed", "vclock_truncation", "nodes", "retired_keep")
#: the settings of :data:`SHARED_SETTINGS` a node's configuration does not read,
#: by partitioning strategy (``ClusterConfig.initial_partitioning`` and
#: ``partitioning_of``: strategy 3 places ``partitions`` equal partitions, not
#: ``tokens_per_node`` tokens; strategy 1 has no partitions; evenly-spaced draws
#: neither, nor from ``ring_seed``), and by clock mode (lww truncates no clock; only
#: dvv prunes retired lifetimes, ``retired_keep``): not
#: sent, so a rolling restart that changes one is not refused. Session 26's
#: review: ``tokens_per_node = 16`` on one node of three under the default
#: strategy 3 was refused by both peers (26 and 41 refusal lines in a rolling
#: restart), a change that moves no key.
#: the longest text of a shared setting a hello carries (``impl.peer_auth``'s bound)
_SETTING_TEXT = 255
_UNREAD_SETTINGS = {"evenly-spaced": ("tokens_per_node", "partitions", "ring_seed"),
                    "strategy1": ("partitions",), "strategy2": (),
                    "strategy3": ("tokens_per_node",),
                    "lww": ("vclock_truncation", "retired_keep"),
                    "server-vclock": ("retired_keep",), "client-vclock": ("retired_keep",)}
#: the names, in a hello's limits, of the sender's kept record bounds (bytes,
#: siblings: :func:`impl.replica.kept_record_bounds`), which the receiver adopts
#: when larger (``NodeServer._adopt_record_bounds``)
KEPT_BOUNDS = ("kept_record_bytes", "kept_record_siblings")
#: the first bytes of an HTTP request (a method, a space, an origin- or absolute-form
#: target, RFC 9112 3), sent to the peer port: answered 400 naming the HTTP port
#: (:meth:`NodeServer._answer_http_client`), in at most this many seconds of
#: lingering (the hello's timeout bounds it too)
_HTTP_REQUEST = re.compile(rb"[A-Z]{3,10} (?:/|\*|[a-zA-Z][a-zA-Z0-9+.-]*://)")
_HTTP_ANSWER_LINGER_S = 1.0
#: bytes asked of a peer connection per read (every whole frame in them is delivered)
_PEER_READ_BYTES = 256 * 1024
#: seconds a closed peer connection may take to send what it still buffers before
#: it is aborted (its frames dropped): a peer that reads nothing (a stopped
#: process, SIGSTOP) held the writer's close, and so NodeServer.stop, for good
_CLOSE_WAIT_S = 1.0
#: TCP keepalive on every peer connection, both ends (:func:`_keep_alive`): probes
#: after this many idle seconds, one every interval, the connection reset after
#: this many unanswered: a peer whose host vanished without a reset (power loss,
#: a cut link) is found dead within 10 + 3 x 5 = 25 s. Before session 20's service
#: probe its authenticated connection held its busy slot (and its inbound entry)
#: until that peer dialed again, for good if it never came back. etcd's peer
#: listener keeps connections alive likewise (30 s); Cassandra bounds its
#: internode connections with ``internode_tcp_user_timeout`` (30 s)
PEER_KEEPALIVE = (10, 5, 3)
# TCP_USER_TIMEOUT on every peer connection (:func:`_keep_alive`), milliseconds: how
# long data this node wrote may stay unacknowledged before the kernel resets the
# connection; the keepalive's own bound, idle + interval x probes (25 s), taken at
# each call from :data:`PEER_KEEPALIVE`. Keepalive probes only an *idle*
# connection: a dialed one always has frames in flight (gossip, puts), so a flow
# that a firewall or NAT forgot and black-holes (no reset; new flows pass) kept its
# frames retransmitted unanswered for Linux's ``tcp_retries2`` (about 15 minutes):
# red team 7's probe 21h (session 58) saw every w=3 put between the two nodes 504
# for the whole 60 s it ran. Cassandra's ``internode_tcp_user_timeout`` (30 s,
# CASSANDRA-14358) bounds it the same way.

#: Refused peers logged per window of _REFUSAL_WINDOW_S seconds (each one is counted in
#: ``refused_peers``; those over it are summed up in one line when the window ends),
#: and the characters of a refusal's reason logged: a client with no secret sending
#: hellos that name a 65,000-byte node wrote 74.5 MB of log in 10 s, one line per
#: hello (session 13's probe B): a disk filled by a peer that knows nothing.
_REFUSALS_LOGGED = 10
#: seconds between two checks of whether this start ran the admin tokens' window past
#: its store's renewal (:meth:`NodeServer._note_renewal`): a start killed at most this
#: long after the window ended recorded it
RENEWAL_NOTE_S = 30.0
_REFUSAL_WINDOW_S = 10.0
_REFUSAL_CHARS = 300
#: hosts named in the summary line of the refusals not logged (the rest summed up)
_REFUSAL_HOSTS = 8
#: failed group commits logged per window of _FAILURE_WINDOW_S seconds (each failed
#: write is counted in the node's ``storage-error`` stat; session 32's service probe)
_FAILURES_LOGGED = 10
_FAILURE_WINDOW_S = 10.0
#: The store's meta row recording that a peer accepted this node's secret (the
#: mark of :meth:`NodeServer._accepted_mark`, never the secret): read at the start
#: as :attr:`NodeServer.secret_shared` (session 49's review). A new store has none,
#: and a secret changed (``--adopt-store``) does not match the one recorded: the node
#: can tell its secret changed (:attr:`NodeServer.secret_changed`, session 50).
SECRET_ACCEPTED_META = "secret-accepted"
#: seconds a peer's writer waits after its first failed dial, doubled at each failure
#: in a row up to the last (:meth:`NodeServer._back_off`: less once the peer is seen up)
_FIRST_BACKOFF_S = 0.05
_MAX_BACKOFF_S = 1.0
#: seconds between the lines saying this node still cannot dial a peer that is
#: connected to it (``cannot_dial``): its writer dials again after each backoff,
#: at most once a second, while the peer's connection to this node is up
#: (:meth:`NodeServer._dial_failed`; session 33)
_REDIAL_LOG_WINDOW_S = 60.0
#: Messages queued for one peer before further ones are dropped (best effort).
PEER_QUEUE = 10_000
#: Bytes of frames queued for one peer before further ones are dropped (a frame is
#: always taken when nothing is queued, so one frame of ``max_frame_bytes`` still
#: goes). The count alone bounded nothing useful: 10,000 frames of 1 MB records
#: (ReplicaPuts, hint deliveries) queued for a peer that stopped reading (SIGSTOP:
#: its connection up, its socket full) grew a node to 5 GB in 40 s of 1 MB puts
#: (session 13's probe B). Messages between nodes are best effort: what is dropped
#: is sent again by the hint scan, read repair and anti-entropy.
PEER_QUEUE_BYTES = 64 << 20
#: A frame over this many bytes is *large*: the frames to a peer at most this large
#: are sent before the large ones queued (:meth:`NodeServer._frames_to_write`,
#: session 54); Cassandra 4's ``LARGE_MESSAGE_THRESHOLD``, 64 KiB.
LARGE_FRAME_BYTES = 64 << 10
#: The kernel's buffer of a peer connection's socket, each way (SO_SNDBUF where it
#: is dialed, SO_RCVBUF where accepted; Linux doubles it): the frames to a peer wait
#: in the node's queue, where small ones pass large ones, rather than in the kernel,
#: where none passes. Linux autotunes them up to 4 MiB (sent) and 32 MiB (received)
#: here: megabytes of large frames before any small frame (session 54).
PEER_SOCKET_BYTES = 256 << 10


#: the spellings of this host's loopback interface that name one socket bound to
#: 127.0.0.1 or localhost (:func:`peer_address_aliases`)
_LOOPBACK_NAMES = ("127.0.0.1", "localhost")


def _unspecified(host: str) -> bool:
    """Whether ``host`` binds every interface (``0.0.0.0``, ``::``, and inet_aton's
    spellings ``0``, ``0.0``, ``0x0``: :func:`impl.http_client._names_a_host`)."""
    try:
        return ipaddress.ip_address(host).is_unspecified
    except ValueError:
        try:
            return socket.inet_aton(host) == bytes(4)
        except OSError:  # a host name
            return False


def peer_address_aliases(bound: Address, hostname: str, arrived: str = "") -> list[str]:
    """The spellings (``host:port``, ``str`` of :class:`Address`) of the socket a
    node's peer port is bound to, ``bound`` (its host as the cluster file gives it,
    its port the one bound), on the machine named ``hostname``
    (``socket.gethostname()``): ``bound`` itself; for ``127.0.0.1`` or ``localhost``
    both of them; for ``::1`` ``[::1]`` and ``localhost``; for an unspecified host
    (every interface: ``0.0.0.0``, ``::``, ``0``) the unspecified and loopback
    spellings, ``hostname``, and ``arrived``, the local address an admin request
    came in at (an address of this host, so of that socket; an IPv4-mapped one as
    IPv4 too: a LAN address an operator's file names a container's node by).
    Another loopback address (``127.0.0.2``) or a LAN address names itself only
    (``arrived`` not added): two nodes on one host may bind one port there and on
    ``127.0.0.1``. What an admin token for the node may sign
    (:meth:`NodeServer.own_peer_addresses`; review of red team 13, session 61)."""
    port, host = bound.port, bound.host
    if host in _LOOPBACK_NAMES:
        hosts = [host, *_LOOPBACK_NAMES]
    elif host == "::1":
        hosts = [host, "localhost"]
    elif _unspecified(host):
        hosts = [host, "0.0.0.0", "::", *_LOOPBACK_NAMES, "::1", hostname, arrived]
        with contextlib.suppress(ValueError):
            mapped = ipaddress.ip_address(arrived)
            if isinstance(mapped, ipaddress.IPv6Address) and mapped.ipv4_mapped:
                hosts.append(str(mapped.ipv4_mapped))
    else:
        hosts = [host]
    return list(dict.fromkeys(str(Address(h, port)) for h in hosts if h))


def shared_settings(config: ClusterConfig) -> tuple[tuple[str, str], ...]:
    """The settings of :data:`SHARED_SETTINGS` that ``config`` reads, as (name, value
    as text) pairs, for this node's hellos (``HelloInfo.settings``): those its
    partitioning strategy or clock mode does not read are left out
    (:data:`_UNREAD_SETTINGS`), so a peer that differs only in them is not refused."""
    unread = (_UNREAD_SETTINGS.get(config.partitioning, ())
              + _UNREAD_SETTINGS.get(config.clock, ()))
    return tuple((name, members_text(config) if name == "nodes" else str(getattr(config, name)))
                 for name in SHARED_SETTINGS if name not in unread)


def members_text(config: ClusterConfig) -> str:
    """``config``'s initial members (``[cluster] nodes``) as a hello's setting: the
    names joined by commas, sorted under strategy 3 (which sorts them before it
    places partitions, ``spec.ring.strategy3``) and in the file's order otherwise
    (strategies 1 and 2 draw tokens in that order, evenly-spaced lays the ring out
    in it); over 255 characters (the longest setting a hello carries), the count
    and the first 32 hex digits of the text's SHA-256."""
    names = sorted(config.nodes) if config.partitioning == "strategy3" else list(config.nodes)
    text = ",".join(names)
    if len(text) <= _SETTING_TEXT:
        return text
    return f"{len(names)} nodes, sha256 {hashlib.sha256(text.encode()).hexdigest()[:32]}"


#: the peer messages that hand a request on and acknowledge no write of the sender's:
#: never held behind its group commit (:meth:`NodeServer._perform_effects`)
_HANDED_ON = (Forward, ForwardClaim, ForwardGrant, ForwardDecline)


class NodeServer:
    """One node on real sockets: the peer listener, the HTTP listener, the timers.

    ``peers`` maps every node name to its peer address (this node's included);
    addresses may be filled in after construction, before traffic flows (tests
    bind to port 0 and learn the ports first). ``announce`` (default True): a fresh
    store asks its peers whether it is a replaced disk before it serves
    (:meth:`impl.node.Node._announce_fresh`); False only where the caller knows
    the cluster is brand new (:class:`impl.local_cluster.LocalCluster` in a
    temporary directory).
    """

    def __init__(
        self, name: str, config: ClusterConfig, storage: Storage,
        peers: dict[str, Address], *, seed: int = 0, early_replica_puts: bool = True,
        rejoin: bool = False, announce: bool = True,
    ) -> None:
        self.name = name
        self.config = config
        self.storage = storage
        self.peers = peers
        self.loop = asyncio.get_running_loop()
        #: the node's clock is the loop's monotonic clock anchored to the wall clock
        #: at this start (:meth:`now`): lww stamps and the vector-clock modes' pair
        #: times come from it, so they compare across hosts and reboots as wall
        #: clocks do (docs/runtime.md, "Data-loss faults found by probing"), while
        #: timers keep the loop's monotonic time (no jump when NTP steps the clock)
        self.clock_offset = time.time() - self.loop.time()
        #: the wall clock's offset to the loop's at this start: its change since is
        #: the host clock's step, the stamps' lead over :meth:`now`
        #: (:meth:`input_now`; a test's skew of ``clock_offset`` stays in both)
        self.start_offset = self.clock_offset
        #: with a durable SQLite engine, its writes are group-committed, the fsync on a
        #: writer thread (impl.storage.group_commit); other engines are written on the
        #: loop (persist): a buffered engine does not fsync its commits
        self.committer: GroupCommit | None = None
        observed = storage if isinstance(storage, ObservedStorage) else None
        engine = observed.inner if observed is not None else storage
        if isinstance(engine, SqliteStorage) and engine.fsync == "always":
            storage = self.committer = GroupCommit(engine, self._durable_soon,
                                                   fresh_lifetime=early_replica_puts,
                                                   through=observed)
            self.storage = storage
        #: send a coordinator's ReplicaPuts while its own copy is being committed
        #: (docs/runtime.md, "Group commit"); its Reply still waits for that commit
        self.early_replica_puts = early_replica_puts and self.committer is not None
        #: Sends and Replies waiting for a commit, in order: (the last submit when it
        #: was held, the large submits about other keys it need not wait for, effect)
        #: (:meth:`_hold`, :meth:`_durable`; session 57: before, each waited for every
        #: submit before it, a prefix)
        self._held: list[tuple[int, frozenset[int], Effect]] = []
        #: the key of each client request waiting for its Reply (:meth:`request`)
        self._request_keys: dict[int, bytes] = {}
        self._stopped = False
        #: the next :meth:`_note_renewal` (armed at :meth:`start`, cancelled at stop)
        self._renewal_note: asyncio.TimerHandle | None = None
        self.node = Node(name, config, storage, seed=seed, now=self.now(),
                         rejoin=rejoin, announce=announce, announced=self._announced)
        # a reap query about a key is answered "not clean" while a large frame about
        # the key waits here for a peer (session 54's review)
        busy = self.node.reaper.busy
        self.node.reaper.busy = lambda key: busy(key) or self._sending_about(key)
        self._request_ids = iter(range(1, 1 << 62))
        self._waiting: dict[int, asyncio.Future[Reply]] = {}
        #: admission by bytes, first come first served (impl.admission; session 24):
        #: a request waits at most the Retry-After it would otherwise be told
        #: small writes pass the gets' records (session 52: a hot key of a record over
        #: max_pending_bytes made every small put 503 while its gets ran)
        #: and pass the large writes waiting, within their own budget (session 54)
        self._sibling_bytes = sibling_bytes(config)
        self.admission = ByteAdmission(
            lambda: self.node.pending_bytes, config.max_pending_bytes,
            config.retry_after_s, get_held=self._get_bytes,
            small=config.max_pending_bytes // config.max_pending_requests,
            small_held=self._small_write_bytes)
        self._queues: dict[str, asyncio.Queue[bytes]] = {}
        #: bytes of the frames in each peer's queue (bounded by PEER_QUEUE_BYTES)
        self._queued_bytes: dict[str, int] = {}
        #: per peer, the keys of the frames queued for it that wait in line (a large
        #: frame, or a small one about a key a large one waiting is about), not yet
        #: written or dropped, each counted once per such frame; and those frames'
        #: keys by the frame's id (the frame is held by the queue meanwhile)
        self._keys_in_line: dict[str, collections.Counter[bytes]] = {}
        self._in_line: dict[str, dict[int, tuple[bytes, ...]]] = {}
        #: the keys of the frames taken out of line (:attr:`_in_line`) within the last
        #: ``tombstone_grace_s``, each with the loop time its grace ends, oldest first:
        #: such a frame may still be in the sockets' buffers (:meth:`_sending_about`)
        self._sent_about: dict[bytes, float] = {}
        #: peers whose queue is full: its first refusal was logged
        self._queue_full: set[str] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._timers: dict[Timer, asyncio.TimerHandle] = {}  # one handle per named timer
        #: timers whose SetTimer failed out of memory, and when: armed at the next input
        self._unarmed: dict[Timer, float] = {}
        self._servers: list[asyncio.Server] = []
        self.peer_address: Address | None = None
        self.http_address: Address | None = None
        self.dropped_frames = 0
        #: peers refused: a failed or unfinished hello, a frame that failed its MAC
        self.refused_peers = 0
        #: peer -> why its last hello was refused for other shared [cluster] settings
        #: (``impl.peer_auth._same_settings``), or None once a hello with it passed: a
        #: node refused by some peer for its settings and accepted by none serves
        #: nothing (:meth:`unavailable`, :meth:`health`; session 32)
        self.settings_refused: dict[str, str | None] = {}
        #: True when this node's shared settings are on record: its data file recorded
        #: them before this start (``impl.serve.check_store_settings``: it ran with
        #: them), or a peer accepted them since (a hello that passed): a refusal of
        #: them by fewer than a majority of the members is then taken as the refusing
        #: peers' misconfiguration, not this node's (:meth:`misconfigured`; session
        #: 32's review). False until then (a new data file, one written before session
        #: 32, adopted settings): any refusal that no acceptance answers makes it
        #: unready.
        self.settings_on_record = False
        #: peer -> why this node's last dial of it was refused for the cluster secret:
        #: the process at the peer address this node's file gives answered the hello
        #: with a proof that does not verify with this node's secret
        #: (``PeerAuthError.secret_differs``; ``secret_differs`` in /status). Gone at a
        #: hello with the peer that passes, either way, and at a dial that finds
        #: nothing answering (the peer down, as it is for every node). Such peers
        #: count against this node's readiness (:meth:`unreached`; session 49: a node
        #: every peer refused said ready). Only this node's own dials fill it: an
        #: acceptor's dialer names itself with no proof, so a stranger's hellos
        #: naming members cannot make a node unready.
        self.secret_differs: dict[str, str] = {}
        #: True once a hello with a peer passed, either way, since this node's start:
        #: its secret is the cluster's, as far as that peer goes; refusals of it by
        #: half of the members or fewer are then the refusing peers' error, not this
        #: node's (:meth:`unreached`: in a cluster of two, the good node serves on).
        #: True from the start too when this node's store records that a peer
        #: accepted this very secret before (:data:`SECRET_ACCEPTED_META`, written at
        #: the first such hello: :meth:`_secret_accepted`): session 49's review, of
        #: two nodes, n2 down and a process with another secret listening at its
        #: address, n1 restarted counted that stranger's refusals (1 of 2) and was
        #: not ready for as long as it listened, where n2 merely down left it ready
        self.secret_shared = False
        #: True when this node's store records that a peer accepted *another* secret
        #: (:data:`SECRET_ACCEPTED_META` holds a mark that is not this secret's): the
        #: node can tell its own secret changed since (session 50). At a tie (refused
        #: by exactly half of the members) such a node is the side taken out
        #: (:meth:`unreached`), and its store records the new secret only once a
        #: majority of the members accepted it (:meth:`_secret_accepted`): of four
        #: nodes, n3 and n4 given another secret (accepting each other, refused by n1
        #: and n2) all four said ready before. A new store records nothing: it cannot
        #: tell (the tie then leaves both sides ready, as a 2-2 partition does).
        self.secret_changed = False
        #: the peers whose hello with this node passed since its start, either way,
        #: and that have not refused it since (:meth:`_secret_refused`)
        self._accepted_by: set[str] = set()
        self._accepted_recorded = False
        self._read_secret_record()
        #: peer -> {limit: (this node's value, the peer's)}: the limits in which the
        #: peer's last hello differed (``_compare_limits``)
        self.peer_limits_differ: dict[str, dict[str, tuple[int, int]]] = {}
        #: records not sent because the peer's announced limits refuse them
        self.withheld_records = 0
        self._withheld_logged: set[str] = set()
        #: the frame each authenticated peer takes by its latest hello, when more
        #: than its max_frame_bytes (:meth:`_peer_max_frame`)
        self._peer_frames: dict[str, int] = {}
        #: peers whose latest hello carried no kept record bounds (nodes of before
        #: session 21): they adopt none of this node's (:meth:`_peer_max_frame`)
        self._adopting_none: set[str] = set()
        #: peer -> the kept record bytes of its hello last logged as over what this
        #: node adopts (:meth:`_adopt_record_bounds`: logged once per claim)
        self._capped_logged: dict[str, int] = {}
        #: (peer, message kind) whose frame over max_frame_bytes was logged
        #: (:meth:`_drop_oversized`)
        self._oversized_logged: set[tuple[str, str]] = set()
        #: refusal logging: (start of the window, lines logged in it, lines not logged)
        self._refusal_window = (-_REFUSAL_WINDOW_S, 0, 0)
        #: the window's refusals not logged, by host (at most _REFUSAL_HOSTS hosts)
        self._quiet_hosts: dict[str, int] = {}
        #: the timer that logs the window's summary line when the window ends
        self._refusal_summary: asyncio.TimerHandle | None = None
        #: failed group commits: 10 lines per 10 s, the rest summed up (a full disk)
        self._commit_failures = WindowedLog(
            log, self.loop, self.name, "failed group commits",
            "storage-error in /status stats counts every write that failed",
            lines=_FAILURES_LOGGED, window_s=_FAILURE_WINDOW_S)
        #: effects that failed out of memory (:meth:`_perform_one`), bounded alike
        self._memory_failures = WindowedLog(
            log, self.loop, self.name, "effects that failed out of memory",
            "each a message or reply lost, or a timer armed late",
            lines=_FAILURES_LOGGED, window_s=_FAILURE_WINDOW_S)
        self.overloaded_requests = 0
        #: the error of this node's last write if it failed (a full disk), None once
        #: a write succeeded: not ready meanwhile (:meth:`_writes_failed`)
        self.disk_failing: str | None = None
        #: how many times its writes failed (a batch, or one input's writes)
        self.write_failures = 0
        self._peer_slots = ConnectionSlots(config.max_peer_connections, self._evicted_peer)
        #: the authenticated connection from each peer (a peer keeps one to each node)
        self._inbound: dict[str, asyncio.StreamWriter] = {}
        #: the connection this node dialed to each peer, while it is up
        self._outbound: dict[str, asyncio.StreamWriter] = {}
        #: this process's start, sent in its hellos (:attr:`HelloInfo.start`)
        self.start_token = secrets.token_hex(8)
        #: per peer, the connection this node dialed to the peer's address and the start
        #: its hello told (:meth:`_one_process`; counted while it is not closing)
        self._dialed_starts: dict[str, tuple[asyncio.StreamWriter, str]] = {}
        #: per peer, set when the peer's own connection to this node passes its hello:
        #: the peer is up, so a writer backing off from a failed dial to it dials at
        #: once (:meth:`_back_off`)
        self._peer_up: dict[str, asyncio.Event] = {}
        #: peers whose hello to this node passed since its start (:meth:`unreached_by`)
        self._reached_by: set[str] = set()
        #: peer -> loop time this node's first hello to it passed (:meth:`unreached_by`)
        self._dialed_at: dict[str, float] = {}
        #: peer -> why this node cannot dial it while its own connection to this node is
        #: up (``cannot_dial`` in /status; :meth:`_dial_failed`); gone at a dial that passes
        self.cannot_dial: dict[str, str] = {}
        #: peer in ``cannot_dial`` -> (loop time of its first failed dial, failed dials,
        #: loop time of the last line logged of it) (:meth:`_dial_failed`, :meth:`_dialed`)
        self._dial_failures: dict[str, tuple[float, int, float]] = {}
        #: peer in ``cannot_dial`` -> the node's time (:meth:`now`) of its first failed
        #: dial: only a peer heard from since counts in :meth:`undialed`
        self._undialed_since: dict[str, float] = {}
        #: peer -> the pending :meth:`_check_dialed` of it: one chain at most per peer
        #: (session 44's review: a dial that passed and one that failed within a
        #: grace started a second chain beside the first)
        self._dial_checks: dict[str, asyncio.TimerHandle] = {}
        #: the reason :meth:`_check_dialed` last logged this node not ready, or None
        self._unready_logged: str | None = None
        #: every node's HTTP address, as far as this node knows (for /status: clients
        #: route to a key's coordinator with it)
        self.http_addresses: dict[str, Address] = {}
        #: the cluster file, re-read when an unknown node says hello (a node that
        #: joined: the operator added its [nodes.NAME] section first)
        self.config_path: Path | None = None
        #: the file's (mtime in ns, size) when last read, and every node it named then
        self._config_read: tuple[int, int] | None = None
        self._config_nodes: dict[str, NodeAddresses] = {}
        #: the addresses the file last gave each node it ever named (at this node's
        #: start: :meth:`watch_file`), from which a change is told (:meth:`_adopt_addresses`)
        self._file_gave: dict[str, NodeAddresses] = {}
        self.stopping = False
        #: peer -> loop time its connection to this node closed while this node ran
        #: (logged, and its return logged with the time it was away: session 50's
        #: operator walk, a peer stopped and started again left no line in the others'
        #: logs, where Cassandra logs "is now DOWN" and "is now UP")
        self._peer_lost_at: dict[str, float] = {}
        self.metrics = NodeMetrics(lambda: self.node.stats, observed)
        self.http = HttpApi(self)

    # ------------------------------------------------------------------ lifecycle

    async def start(self, peer: Address, http: Address) -> None:
        peer_server = await self._listen(self._on_peer, peer, "peer")
        try:
            http_server = await self._listen(self.http.serve_connection, http, "http")
        except OSError:
            peer_server.close()
            raise
        self._servers = [peer_server, http_server]
        self.peer_address = Address(peer.host, peer_server.sockets[0].getsockname()[1])
        self.http_address = Address(http.host, http_server.sockets[0].getsockname()[1])
        if self.committer is not None:
            self.committer.start()
        self._perform(self.node.start(self.now()))
        self._renewal_note = self.loop.call_later(RENEWAL_NOTE_S, self._note_renewal)

    def _note_renewal(self) -> None:
        """Every :data:`RENEWAL_NOTE_S` seconds while it runs: record that this start
        ran the admin tokens' window past its store's renewal once it did
        (:meth:`impl.http_api.HttpApi.note_renewal_passed`). Recorded only at the
        next admin request or at a stop before (red team 11, session 60), a start
        ended by SIGKILL (a crash, a supervisor's kill -9) recorded nothing however
        long it ran, and each next start refused every admin token for its first
        300 s again (review of red team 11, session 60)."""
        if self._stopped:
            return
        with contextlib.suppress(Exception):  # (a failed write: tried again, as at a stop)
            self.http.note_renewal_passed()
        self._renewal_note = self.loop.call_later(RENEWAL_NOTE_S, self._note_renewal)

    async def _listen(self, handler: Any, address: Address, key: str) -> asyncio.Server:
        """A server on ``address``, the node's ``key`` address; an OSError whose text
        names the node, the cluster file's key and the address when it cannot listen
        there. Before session 14's probe B a host that does not resolve gave only
        ``vdynamo serve: Name or service not known`` (neither the key nor the host),
        a port in use only the address."""
        try:
            return await asyncio.start_server(handler, address.host, address.port)
        except OSError as error:
            raise OSError(error.errno, f"cannot listen on [nodes.{self.name}] {key} = "
                          f"{str(address)!r}: {error.strerror or error}") from error

    async def stop(self, grace_s: float = 0.0) -> None:
        """Stop: accept nothing more, give the requests in flight up to ``grace_s``
        seconds to finish (those still waiting then get a RequestTimeoutError: a
        504, outcome unknown for a put), stop the timers and the connections of
        both ports (those it opened and those others opened), flush and close the
        storage."""
        self.stopping = True
        for server in self._servers:
            server.close()
        self.admission.close()  # the requests waiting their turn: 503, shutting down
        deadline = self.loop.time() + grace_s
        while self._waiting and self.loop.time() < deadline:
            await asyncio.sleep(0.02)
        for request_id, future in list(self._waiting.items()):
            if not future.done():
                future.set_result(Reply(request_id, error=errors.RequestTimeoutError(
                    f"node {self.name} is shutting down")))
        await asyncio.sleep(0)  # let the HTTP handlers write those answers
        self._stopped = self.http.stopped = True  # the writer's later reports send nothing
        if self._renewal_note is not None:
            self._renewal_note.cancel()
        for handle in self._timers.values():
            handle.cancel()
        self._timers.clear()
        self._unarmed.clear()
        for check in self._dial_checks.values():
            check.cancel()
        self._dial_checks.clear()
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(BaseException):
                await task
        # Close the connections others opened, so their handlers end (they would
        # otherwise be cancelled when the loop ends, and Python 3.11's start_server
        # logs each cancelled handler as an ERROR traceback).
        slots = (self.http.slots, self._peer_slots)
        for port in slots:
            port.close_all()
        deadline = self.loop.time() + 1.0
        while any(len(port) for port in slots) and self.loop.time() < deadline:
            await asyncio.sleep(0.01)
        # A close waits until the client took what was still to send: one that reads
        # nothing (GETs of a large value pipelined, no answer read) left its handler
        # in the drain, cancelled as the loop ended, one ERROR traceback each at every
        # stop until session 39's user probe. Cut those now.
        if any(len(port) for port in slots):
            for port in slots:
                port.close_all(abort=True)
            deadline = self.loop.time() + 1.0
            while any(len(port) for port in slots) and self.loop.time() < deadline:
                await asyncio.sleep(0.01)
        # a flood's refusals not logged yet: say so now, once the connections that
        # could add to them have closed (no summary timer is armed while stopping;
        # before session 19's review the summary came first, and a refusal after
        # it armed the timer again: a line a window after stop() returned)
        self._summarize_refusals()
        self.http.summarize_refusals()
        with contextlib.suppress(Exception):  # (a failed write: it waits again, no less)
            self.http.note_renewal_passed()
        self._commit_failures.close()
        self._memory_failures.close()
        for server in self._servers:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(1.0):  # 3.11 waits for every open connection
                    await server.wait_closed()
        with contextlib.suppress(Exception):
            self.storage.flush()
        self.storage.close()

    def _spawn(self, coro: Any) -> None:
        task: asyncio.Task[None] = self.loop.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # ------------------------------------------------------------------ effects

    def _perform(self, effects: list[Effect], *, relayed: bool = False) -> None:
        if self._unarmed:  # before the input's own timers, which may set them again
            for timer, at in list(self._unarmed.items()):
                self._perform_one(SetTimer(timer, at))
        self._perform_effects(effects, relayed=relayed)
        if self.admission.queue:  # the bytes in flight may have fallen: the head's turn?
            self.admission.poke()

    def _perform_effects(self, effects: list[Effect], *, relayed: bool = False) -> None:
        # Persist, then send: the writes come first. Without a committer they are
        # performed here, in order, each durable as the engine's fsync policy says,
        # before any Send or Reply that may acknowledge them (impl.staging.persist).
        # With one (group commit) they go to the overlay and the writer thread, and
        # with fsync="always" every Send and Reply that follows a write not yet
        # durable -- this input's or an earlier one's -- waits in _held, in order,
        # until the commit holding that write is reported (_durable), except a
        # coordinator's ReplicaPuts (early_replica_puts): they acknowledge nothing,
        # and the Reply that counts the coordinator's copy follows that copy's write,
        # so it waits for it. Nor do the forwarding messages (Forward, ForwardClaim,
        # ForwardGrant, ForwardDecline: a request handed on, no write of this node's)
        # and a forwarded request's answer relayed (``relayed``: the Replies of a
        # ForwardReply, the coordinator's): they leave at once (session 51's review:
        # held, a failed commit of a full forwarder dropped them or turned them into
        # its error, and the puts it only forwarded were 504 or 500). Timers are
        # local: set at once.
        committer = self.committer
        if committer is None:
            failures = self.write_failures
            wrote = bool(split(effects)[0])
            effects = persist(self.storage, effects,
                              lambda error: self._writes_failed(error, reply_ids(effects)),
                              lambda: self.node.taken_back)
            if failures == self.write_failures:  # every write performed
                if wrote:
                    self._writes_succeed()
                self.node.writes_durable()
            self.node.answers_released()  # (none waits for a write here)
            for effect in effects:
                self._perform_one(effect)
            return
        writes, rest = split(effects)
        if writes:
            try:
                committer.submit(writes)
            except (errors.StorageError, MemoryError) as error:  # closed: stopping; or
                # out of memory queueing them (out of the driver until session 32's
                # review: the input's timers lost, a put's coordination held for good)
                failure = error if isinstance(error, errors.StorageError) else (
                    errors.StorageError(f"out of memory queueing a group commit: {error!r}"))
                failed = reply_ids(rest)
                rest = failed_effects(rest, failure, lambda e: self._writes_failed(e, failed),
                                      lambda: self.node.taken_back)
        hold = committer.fsync == "always" and committer.pending > 0
        for effect in rest:
            if hold and isinstance(effect, Send | Reply) and not (
                    self.early_replica_puts and isinstance(effect, Send)
                    and isinstance(effect.message, ReplicaPut)) and not (
                    isinstance(effect, Send) and isinstance(effect.message, _HANDED_ON)
                    ) and not (relayed and isinstance(effect, Reply)):
                skip = self._skippable(committer, effect)
                if committer.waits_for(committer.submitted, skip):
                    self._held.append((committer.submitted, skip, effect))
                    continue
            self._perform_one(effect)
        if not self._held:  # no answer waits for a commit
            self.node.answers_released()

    def _skippable(self, committer: GroupCommit, effect: Effect) -> frozenset[int]:
        """The submits not settled that ``effect``, held, need not wait for: the large
        ones about other keys (:meth:`GroupCommit.skippable`), when ``effect`` is
        about one key alone (a Send of a message about a key, a Reply to a client
        request of a key); none for any other effect (gossip, anti-entropy, a
        force-remove's Reply...), which waits for every submit before it, as every
        held effect did before session 57. An answer about a key counts only that
        key's writes (its own copy, its record read through the overlay), which stay
        in their submit order (impl.storage.group_commit), so it goes out once they
        are durable, not after a large write of another key submitted before it."""
        keys: tuple[bytes, ...] | None = None
        if isinstance(effect, Send) and isinstance(effect.message, _ABOUT_A_KEY):
            keys = (effect.message.key,)
        elif isinstance(effect, Reply) and effect.request_id in self._request_keys:
            keys = (self._request_keys[effect.request_id],)
        return frozenset() if keys is None else committer.skippable(keys)

    def _durable_soon(self, sequence: int, error: errors.StorageError | None) -> None:
        """The writer thread's report (impl.storage.group_commit): to the loop."""
        with contextlib.suppress(RuntimeError):  # the loop is closed: nothing waits
            self.loop.call_soon_threadsafe(self._durable, sequence, error)

    def _durable(self, sequence: int, error: errors.StorageError | None) -> None:
        """The commit reported as ``sequence`` is durable (or failed with ``error``):
        perform, in order, what no longer waits for a submit not settled; on a
        failure every effect held that waits for one of the commit's submits fails
        with it (Sends dropped, Replies the error)."""
        committer = self.committer
        assert committer is not None
        if self._stopped:  # the writer's last report, after stop: nothing may leave now
            return
        done = committer.settle(sequence)
        released: list[Effect] = []
        failing: list[Effect] = []
        kept: list[tuple[int, frozenset[int], Effect]] = []
        for held in self._held:
            # a failed commit fails every effect held that waits for it, those held
            # behind later submits too: each was computed after this commit's
            # writes were staged and may count them (a put's Reply that counts its
            # coordinator's copy, W reached while a later input's commit was queued;
            # an acknowledgement of a duplicate ReplicaPut read from the overlay).
            # Before session 32's review such a Reply went out 200 when the later
            # commit succeeded. An effect about other keys than a large submit's
            # does not wait for it (session 57), nor fail with it.
            upto, skip, effect = held
            if error is not None and committer.waits_for(upto, skip, done):
                failing.append(effect)
            elif not committer.waits_for(upto, skip):
                released.append(effect)
            else:
                kept.append(held)
        self._held = kept
        if error is not None:
            self._commit_failures.error(f"a group commit failed: {error}")
            failed = reply_ids(failing)
            released = failed_effects(failing, error,
                                      lambda e: self._writes_failed(e, failed),
                                      lambda: self.node.taken_back) + released
        elif self.disk_failing is not None:
            self._writes_succeed()
        if error is None and committer.pending == 0:  # every write submitted durable
            self.node.writes_durable()
        if not self._held:  # no answer waits for a commit any more
            self.node.answers_released()
        for effect in released:
            self._perform_one(effect)

    def _writes_failed(self, error: errors.StorageError,
                       failed_replies: frozenset[tuple[str, int]]) -> list[Effect]:
        """This node's writes failed (a full disk): the node is told
        (:meth:`impl.node.Node.persist_failed`: its own copy of a put is one failed
        replica) and is not ready (:meth:`not_ready` names the error) until a write
        succeeds again; the change is logged once (session 50: ``/health`` stayed
        ready, so a load balancer kept sending writes to the node whose disk was
        full, each answered 500)."""
        self.write_failures += 1
        if self.disk_failing is None:
            log.warning("%s: its writes fail (%s): not ready until a write succeeds; it "
                        "serves reads, and a put it coordinates counts its own copy as "
                        "one failed replica", self.name, error)
        self.disk_failing = str(error)
        return self.node.persist_failed(self.now(), error, failed_replies)

    def _writes_succeed(self) -> None:
        """A write succeeded: a node whose writes failed is ready again (logged once)."""
        if self.disk_failing is not None:
            log.warning("%s: its writes succeed again (after %d failed): ready", self.name,
                        self.write_failures)
            self.disk_failing = None

    def _perform_one(self, effect: Effect) -> None:
        """Perform one effect; one that fails is logged and lost alone.

        Before session 32's service probe an exception here (a MemoryError encoding
        a 1 MB ReplicaPut under ``prlimit --as``) left the input's effects half
        performed: the put's deadline timer, after the failed Send, was never
        armed, so its coordination stayed in flight for good with its bytes
        counted (``pending_bytes`` 1,000,082 at a node whose ``max_pending_bytes``
        is 1,398,101: every later 1 MB put refused 503 until a restart), and the
        client got 500. A Send that fails is a message lost, which replication
        tolerates (hints, read repair, anti-entropy, the deadline's 504); any
        other exception is still an internal error (counted and logged with its
        traceback), after which the rest are performed.

        A SetTimer is not lost: it is kept (``_unarmed``) and armed at the next
        input (:meth:`_perform`). A round's timer (gossip, hint scan, anti-entropy)
        arms its next round when it fires: before session 32's review one SetTimer
        failed out of memory stopped that round at this node for good (until a
        restart), and a put's deadline lost so held its coordination."""
        try:
            self._perform_effect(effect)
        except MemoryError as error:
            if isinstance(effect, SetTimer):
                self._unarmed[effect.timer] = effect.at
                lost = "the timer is armed at the next input"
            elif isinstance(effect, Send):
                lost = "the message is lost (as on the network)"
            else:
                lost = "it is lost"
            self._memory_failures.error(
                f"out of memory performing {_effect_name(effect)}: {error!r}; {lost}")
        except Exception as error:  # a bug of ours: counted, and the rest performed
            report_internal_error(self.name, self.now(), self.node.stats, self.node.log,
                                  "the runtime", effect, error)

    def _perform_effect(self, effect: Effect) -> None:
        if isinstance(effect, Send):
            self._send(effect.dest, effect.message)
        elif isinstance(effect, Reply):
            future = self._waiting.pop(effect.request_id, None)
            if future is not None and not future.done():
                future.set_result(effect)
        elif isinstance(effect, SetTimer):
            self._set_timer(effect.timer, effect.at)
            self._unarmed.pop(effect.timer, None)
        elif isinstance(effect, CancelTimer):
            self._unarmed.pop(effect.timer, None)
            handle = self._timers.pop(effect.timer, None)
            if handle is not None:
                handle.cancel()

    def now(self) -> float:
        """The node's clock, in seconds: the loop's monotonic clock plus the offset
        to the wall clock (``time.time()``) taken at the start. Stamped into lww
        versions and vector-clock pair times, which other nodes compare with their
        own: the bare monotonic clock counts from the host's boot, so a host up a
        day longer stamped a day ahead, and after a reboot a node's blind lww
        writes lost to any older write it had not stored (session 13's probe)."""
        return self.loop.time() + self.clock_offset

    def input_now(self) -> float:
        """:meth:`now` for an input to the core, the wall clock's lead over it told
        to the core's stamps first (``PutCoordinator.wall_lead``: the host clock's
        step since the start, ``time.time() - loop time - start_offset``; in a
        real node, whose ``clock_offset`` never moves, ``time.time()`` minus
        :meth:`now`): the clock offset is taken once, at the start, so the
        timers never jump, and a put minted after an NTP step of the host's clock is
        stamped by the corrected clock (session 50's clock probe)."""
        loop_now = self.loop.time()
        # the host clock's step since the start, not ``time.time() - now``: that took
        # back a skew a test gives ``clock_offset``, and every put was stamped
        # ``time.time()`` (session 50's review)
        self.node.puts.wall_lead = time.time() - loop_now - self.start_offset
        return loop_now + self.clock_offset

    def _set_timer(self, timer: Timer, at: float) -> None:
        """(Re)arm one named timer: the loop fires it at ``at`` (the node's clock,
        :meth:`now`; the loop's is ``at - clock_offset``)."""
        held = self._timers.pop(timer, None)
        if held is not None:
            held.cancel()
        self._timers[timer] = self.loop.call_at(at - self.clock_offset, self._on_timer,
                                                timer, at)

    def _on_timer(self, timer: Timer, at: float) -> None:
        self._timers.pop(timer, None)
        # never before ``at``: ``at - offset + offset`` may round below it (float
        # steps of the wall clock's magnitude, 2**-22 s), and a deadline handler
        # seeing its deadline not reached would only re-arm
        self._perform(self.node.fire(max(self.input_now(), at), timer))

    # ------------------------------------------------------------------ peers out

    def _send(self, dest: str, message: object) -> None:
        if dest in self.peer_limits_differ:
            held = self._within_peer_limits(dest, message)
            if held is None:
                return
            message = held
        try:
            frame = wire.encode(message)
            if (isinstance(message, _CARRY_RETIRED) and message.retired
                    and self._over_limits(dest, len(frame))):
                # dvv: the retirements the records carry only let the peer prune
                # sooner; they are not in the frame budget (config.frame_bytes), so a
                # record that fits goes without them (session 33's review: a 1.1 MB
                # field withheld every record to a peer of a 64 KiB frame)
                message = dataclasses.replace(message, retired=b"")
                frame = wire.encode(message)
        except errors.BadMessageError as error:
            self._drop(f"cannot encode a message to {dest}: {error}")
            return
        if len(frame) > self.frame_limit:  # never sent: it would be refused
            self._drop_oversized(dest, type(message).__name__, len(frame))
            return
        if ((dest in self.peer_limits_differ or dest in self._adopting_none
             or len(frame) > self.config.max_frame_bytes)
                and len(frame) > self._peer_max_frame(dest)):
            # whatever the message: a frame over the peer's limit closes the connection
            # and loses every frame queued behind it (impl.runtime._read_frames).
            # Session 15's probe B held back only the records of ReplicaPut, hints,
            # read repair and anti-entropy; its review found a ReplicaGetReply (the
            # peer coordinating a get of a large key: its connection closed at every
            # get), a ReplicaPutAck with its record, a ForwardReply of a get's values
            self.withheld_records += 1
            if dest not in self._withheld_logged:
                self._withheld_logged.add(dest)
                log.warning("%s: holding back a %s of %d bytes: over the max_frame_bytes "
                            "%d %s announced (here %d); withheld_records in /status counts "
                            "such messages until the limits agree", self.name,
                            type(message).__name__, len(frame), self._peer_max_frame(dest),
                            dest, self.frame_limit)
            return
        queue = self._queue_for(dest)
        queued = self._queued_bytes[dest]
        if queue.full() or (queued and queued + len(frame) > PEER_QUEUE_BYTES):
            self.dropped_frames += 1
            if dest not in self._queue_full:  # once per episode: not per frame
                self._queue_full.add(dest)
                log.warning("%s: %d frames (%d bytes) queued for %s, which reads none: "
                            "further messages to it are dropped until it reads", self.name,
                            queue.qsize(), queued, dest)
            return
        queue.put_nowait(frame)
        self._queued_bytes[dest] = queued + len(frame)
        keys = _keys_of(message)
        waiting = self._keys_in_line[dest]
        if keys and (len(frame) > LARGE_FRAME_BYTES or (
                waiting and any(key in waiting for key in keys))):
            waiting.update(keys)
            self._in_line[dest][id(frame)] = keys

    def _over_limits(self, dest: str, size: int) -> bool:
        """Whether a frame of ``size`` bytes to ``dest`` is over this node's
        :attr:`frame_limit` or the peer's (:meth:`_peer_max_frame`), as
        :meth:`_send` judges it."""
        return size > self.frame_limit or (
            (dest in self.peer_limits_differ or dest in self._adopting_none
             or size > self.config.max_frame_bytes) and size > self._peer_max_frame(dest))

    def _peer_max_frame(self, dest: str) -> int:
        """The largest frame peer ``dest`` takes: its frame limit as its hello tells
        it (:meth:`_note_peer_frame`: the ``max_frame_bytes`` it announced, or the
        frame its kept record bounds need, if more), or this node's
        :attr:`frame_limit` when it announced the same ``max_frame_bytes`` (it
        adopted this node's kept bounds from the hello of the connection the frame
        goes on, so its frame limit is as large) unless its hello carried no kept
        bounds: such a node adopts none, and its limit is the one it announced.
        What it adopted is cut as this node cuts a peer's
        (:func:`impl.config.adoptable_record_bytes`, the same limits): a store whose
        own bounds need more (its earlier limits) sends a peer whose hello kept
        less (a replaced disk) no frame over that cut (session 23's review)."""
        announced = self.peer_limits_differ.get(dest, {}).get("max_frame_bytes")
        if announced is None:
            if dest in self._adopting_none:
                return self.config.max_frame_bytes
            cut = replicable_frame_bytes(self.config, adoptable_record_bytes(self.config))
            return max(self._peer_frames.get(dest, 0), min(self.frame_limit, cut))
        return max(announced[1], self._peer_frames.get(dest, 0))

    def _note_peer_frame(self, peer: str, limits: dict[str, int]) -> None:
        """Keep the frame limit ``peer``'s hello (its ``limits``) implies, computed
        as it computes its own (:attr:`frame_limit`): a node whose store keeps
        bounds of earlier, larger limits takes frames over the ``max_frame_bytes``
        it announces. Until session 22's review its peers held back every frame over
        that announced limit: during a rolling lowering of ``max_siblings`` and
        ``max_frame_bytes`` (10 siblings of 1 MB, 8,500,000 B; n1 restarted first)
        each GET through n1 at R=2 and R=3 answered 503 after 3 s ("reached 1 of
        R=2"), n2 and n3 holding back 20 replies each, which n1 would have taken."""
        needed = ("kept_record_bytes", "max_context_bytes", "max_key_bytes")
        if not all(name in limits for name in needed):  # an older node's hello:
            # it adopts no kept bounds either, so a frame over the max_frame_bytes
            # it announced, within this node's raised frame limit, would close its
            # connection at every send (session 22's review)
            self._peer_frames.pop(peer, None)
            self._adopting_none.add(peer)
            return
        self._adopting_none.discard(peer)
        kept = frame_bytes(*(limits[name] for name in needed))
        self._peer_frames[peer] = min(kept, 1 << 31)

    def _within_peer_limits(self, dest: str, message: object) -> object | None:
        """``message`` less the records ``dest`` announced (in its hello) it would
        refuse: a key over its ``max_key_bytes`` or a value over its
        ``max_value_bytes``, when those are smaller than this node's (a rolling
        change of the limits). None: nothing of it is worth sending. Each record
        held back is counted in ``withheld_records`` (/status); the first per peer
        and difference is logged. The peer refused such a record at every round of
        hints, read repair and anti-entropy (session 14's probe B); the sender's
        copy (its hint, its replica) is kept until the limits agree."""
        differ = self.peer_limits_differ[dest]
        max_value = differ.get("max_value_bytes", (0, self.config.max_value_bytes))[1]
        max_key = differ.get("max_key_bytes", (0, self.config.max_key_bytes))[1]
        #: the records a frame to the peer may carry: its max_frame_bytes less the
        #: message's own bytes. A frame over the peer's limit is not refused alone:
        #: the peer closes the connection, and every frame queued behind it is lost
        #: at every put, hint scan and repair (session 15's probe B: a record of
        #: siblings within every node's max_value_bytes, merged at a node with the
        #: default 4 MiB max_record_bytes to 12 MiB, for a peer that runs a valid
        #: max_frame_bytes of 8,393,728 with max_record_bytes = 2 MiB)
        max_frame = self._peer_max_frame(dest)
        room = max_frame - MESSAGE_OVERHEAD_BYTES
        if (max_value >= self.config.max_value_bytes and max_key >= self.config.max_key_bytes
                and max_frame >= self.frame_limit):
            return message  # the peer's limits are larger: it takes all we have

        def refused(key: bytes, raw: bytes) -> bool:
            if len(key) > max_key:
                return True
            if not raw or len(raw) <= max_value:  # a value is shorter than its record
                return False
            try:
                record = decode_record(raw)
            except errors.BadMessageError:
                return False  # not ours to judge: the peer will say
            return any(body_bytes(value) > max_value for value in values(record))

        kept: object | None = message
        withheld = 0
        if isinstance(message, ReplicaPut | ReadRepair | HintDelivery):
            if (refused(message.key, message.record)
                    or len(message.key) + len(message.record) > room):
                kept, withheld = None, 1
        elif isinstance(message, KeyRecords):
            pairs = []
            size = 0
            for k, r in zip(message.keys, message.records, strict=True):
                if refused(k, r) or size + len(k) + len(r) > room:
                    continue  # what does not fit goes at a later round
                pairs.append((k, r))
                size += len(k) + len(r)
            withheld = len(message.keys) - len(pairs)
            if withheld:
                kept = (dataclasses.replace(message, keys=tuple(k for k, _ in pairs),
                                            records=tuple(r for _, r in pairs))
                        if pairs else None)
        if withheld:
            self.withheld_records += withheld
            if dest not in self._withheld_logged:
                self._withheld_logged.add(dest)
                frames = ("" if max_frame >= self.frame_limit else
                          f"; its max_frame_bytes {max_frame}, here {self.frame_limit}")
                log.warning("%s: holding back records %s would refuse (its max_value_bytes "
                            "%d, max_key_bytes %d; here %d, %d%s): withheld_records in "
                            "/status counts them until the limits agree", self.name, dest,
                            max_value, max_key, self.config.max_value_bytes,
                            self.config.max_key_bytes, frames)
        return kept

    def _queue_for(self, dest: str) -> asyncio.Queue[bytes]:
        """The frames queue of ``dest``, made with its writer if there is none."""
        queue = self._queues.get(dest)
        if queue is None:
            queue = asyncio.Queue(PEER_QUEUE)
            # its writer first: a queue registered without one (a MemoryError making
            # the task) was never read, the peer unreachable from here for good
            # (session 32's review)
            self._spawn(self._peer_writer(dest, queue))
            self._queues[dest] = queue
            self._queued_bytes[dest] = 0
            self._keys_in_line[dest] = collections.Counter()
            self._in_line[dest] = {}
        return queue

    def _connect_back(self, src: str) -> None:
        """``src``'s hello to this node passed: dial ``src`` now if this node has no
        connection to it (an empty frame queued: its writer dials and sends nothing),
        so ``src`` learns within a hello that this node reaches it
        (:meth:`unreached_by`), or this node logs that it cannot (``cannot_dial``).
        Session 32's review: a peer connected back only when it had a message for
        the node; with ``restore_guard = false`` (no startup shadow round) and equal
        views (a gossip answered only when they differ), a healthy node restarted
        heard no peer for more than ``reach_grace_s`` and said not ready, 503."""
        if src in self._outbound or src == self.name:
            return
        queue = self._queue_for(src)
        if queue.empty():  # a writer with frames queued dials for them already
            queue.put_nowait(b"")

    def _frames_to_write(self, dest: str, queue: asyncio.Queue[bytes], frame: bytes | None,
                         large: collections.deque[bytes]) -> list[bytes]:
        """The frames for ``dest``'s next send, in order: ``frame`` (taken already)
        and every frame queued now that is at most :data:`LARGE_FRAME_BYTES`, then
        the oldest large frame; the other large frames wait in ``large``, in order,
        for the sends after (session 54). Before, every frame queued went in one
        send, and a small frame (a ReplicaPut of a small value, its ack) waited
        behind every large one queued before it: 16 clients putting 1 MiB values
        through three processes held a 100-byte put's replica round trip 0.13 s at
        the median, 0.43 s at most. Now it waits behind at most the large frame
        being sent and what the sockets' bounded buffers hold
        (:data:`PEER_SOCKET_BYTES`). Messages between nodes may be reordered (the
        protocol tolerates it: the spec's network reorders); small frames keep
        their order, as do large ones. Cassandra 4 sends small and large messages
        on separate connections for the same reason (``LARGE_MESSAGE_THRESHOLD``,
        64 KiB). b"" (a connect-back) is sent as nothing.

        But a small frame about a key that a large frame queued before it is about
        (:data:`_ABOUT_A_KEY`, :attr:`_in_line`) waits in ``large`` too, in its place
        (session 54's review): the reap of a tombstone (:mod:`impl.reaping`) takes
        a replica that acked the tombstone, or a member that answered a reap query
        clean, to hold every frame of the key its sender queued for it before, as
        on a connection where no frame passes another. A tombstone, or a clean
        answer, that passed a large put of the value it deletes let the put arrive
        after the reap, and the deleted value was read again
        (tests/runtime/test_tombstone_behind_large_put.py)."""
        if frame is not None and len(frame) > LARGE_FRAME_BYTES:
            large.appendleft(frame)  # the oldest large one: popped from large, or queued first
            frame = None
        frames = [self._taken(dest, frame)] if frame else []
        in_line = self._in_line.get(dest, {})
        while not queue.empty():
            queued = queue.get_nowait()
            if len(queued) > LARGE_FRAME_BYTES or id(queued) in in_line:
                large.append(queued)
            elif queued:
                frames.append(self._taken(dest, queued))
        if large:
            frames.append(self._taken(dest, large.popleft()))
        return frames

    def _sending_about(self, key: bytes) -> bool:
        """Whether a frame about ``key`` waits in line for a peer (a large one, or a
        small one behind a large one about ``key``, not yet written): this node
        answers a reap query of ``key`` "not clean" meanwhile, and does not reap it
        itself (:attr:`impl.reaping.Reaper.busy`; session 54's review). The reap's
        grace (``tombstone_grace_s``) covers the messages in flight, but a large
        frame may wait in a queue longer: a ReplicaPut of the value the tombstone
        deletes, queued for a replica that reads slowly while the delete went
        through another node, arrived after the reap, and the value was read again
        (before session 54 too: tests/runtime/test_tombstone_behind_large_put.py).
        A frame taken out of line is written, but the transport's buffer (the rest
        of one large frame at most) and the sockets' (:data:`PEER_SOCKET_BYTES`,
        which Linux doubles, at each end) may still hold it: about 1.4 MB per peer,
        0.2 s on a link of 6 MB/s. So its keys count for ``tombstone_grace_s`` more
        (:attr:`_sent_about`), the grace the reap gives the messages in flight.
        Before (session 58), a reap round asked just after the take was answered
        clean: the round's time does not follow the take's, so no grace covered the
        frame's flight, and the value reached a replica that had reaped its
        tombstone (``k3`` read back 200 once in ten loaded runs of
        tests/runtime/test_tombstone_behind_large_put.py;
        tests/runtime/test_reap_after_frame_written.py)."""
        if any(key in keys for keys in self._keys_in_line.values()):
            return True
        ends = self._sent_about.get(key)
        return ends is not None and self.loop.time() < ends

    def _taken(self, dest: str, frame: bytes) -> bytes:
        """``frame`` was taken from ``dest``'s queue and written or dropped: its bytes
        no longer count."""
        left = self._queued_bytes[dest] = max(0, self._queued_bytes.get(dest, 0) - len(frame))
        if left <= PEER_QUEUE_BYTES // 2:
            self._queue_full.discard(dest)
        keys = self._in_line.get(dest, {}).pop(id(frame), None)
        if keys is not None:
            now = self.loop.time()
            sent = self._sent_about
            while sent and next(iter(sent.values())) <= now:  # the oldest first
                del sent[next(iter(sent))]
            for key in keys:
                sent.pop(key, None)  # moved to the end: the ends stay in order
                sent[key] = now + self.config.tombstone_grace_s
            waiting = self._keys_in_line[dest]
            waiting.subtract(keys)
            for key in keys:
                if waiting[key] <= 0:
                    waiting.pop(key, None)
        return frame

    def _drop(self, why: str) -> None:
        self.dropped_frames += 1
        log.warning("%s: %s", self.name, why)

    def _drop_oversized(self, dest: str, kind: str, size: int) -> None:
        """Count a message to ``dest`` whose frame is over :attr:`frame_limit`
        (``dropped_frames``) and log the first of each kind to each peer: a record
        over it is sent again at every read and anti-entropy round, and each drop
        logged a line (78 and 71 lines at two nodes holding 10 siblings of 1 MB over an
        8.5 MB frame, in one probe run: a 4 s wait, then 9 GETs; 4 and 4 with this
        rule; session 22's review of the kept record bounds. Such a record of earlier
        limits is now carried: :attr:`frame_limit` rises to the store's kept bounds)."""
        if (dest, kind) in self._oversized_logged:
            self.dropped_frames += 1
            return
        self._oversized_logged.add((dest, kind))
        self._drop(f"{kind} to {dest} is {size} bytes, over max_frame_bytes "
                   f"({self.frame_limit}): dropped alone (further {kind} messages to "
                   f"{dest} over it are counted in dropped_frames, not logged)")

    def _refuse_peer(self, address: object, why: str) -> None:
        """Count a refused peer and log it: at most _REFUSALS_LOGGED lines per
        _REFUSAL_WINDOW_S seconds, each reason cut to _REFUSAL_CHARS characters (a
        hello's claimed name may be 65,535 bytes); those over it are summed up in
        one line, with the hosts they came from, when the window ends
        (:meth:`_summarize_refusals`, on a timer)."""
        self.refused_peers += 1
        now = self.loop.time()
        start, logged, quiet = self._refusal_window
        if now - start >= _REFUSAL_WINDOW_S:
            self._summarize_refusals()
            start, logged, quiet = now, 0, 0
        if logged < _REFUSALS_LOGGED:
            if len(why) > _REFUSAL_CHARS:
                why = why[:_REFUSAL_CHARS] + f"... ({len(why)} characters)"
            log.warning("%s: refused peer %s: %s", self.name, _host_port(address), why)
            logged += 1
        else:
            quiet += 1
            host = _host_port(address).rpartition(":")[0] or str(address)
            if host in self._quiet_hosts or len(self._quiet_hosts) < _REFUSAL_HOSTS:
                self._quiet_hosts[host] = self._quiet_hosts.get(host, 0) + 1
            if self._refusal_summary is None and not self._stopped:
                self._refusal_summary = self.loop.call_at(start + _REFUSAL_WINDOW_S,
                                                          self._summarize_refusals)
        self._refusal_window = (start, logged, quiet)

    def _evicted_peer(self, connection: object, introduced: bool) -> None:
        """A connection of the peer port evicted at the cap (:mod:`impl.connections`)
        is a refused peer: logged (within the refusal log's bounds) and counted.
        Before session 19's peer-port probe an eviction was counted in
        ``peer_evicted`` alone: a flood of silent connections, each evicted before
        its hello timeout, left no line in the log (nor its source host)."""
        address = getattr(connection, "get_extra_info", lambda _: None)("peername")
        self._refuse_peer(address, (
            f"evicted at the cap of {self._peer_slots.limit} peer connections "
            "(max_peer_connections) for a newer one, " + (
                "after its hello, waiting for its proof" if introduced
                else "before it sent a whole hello")))

    def _summarize_refusals(self) -> None:
        """Log the line summing up the refusals of the window not logged, if any,
        naming the hosts they came from (the first :data:`_REFUSAL_HOSTS`, most
        first). Before session 19's peer-port probe the line was written only when a
        refusal arrived after the window: a flood that stopped left the refusals
        over the first ten in ``refused_peers`` alone, and the log never said how
        many there were or where they came from."""
        if self._refusal_summary is not None:
            self._refusal_summary.cancel()
            self._refusal_summary = None
        start, logged, quiet = self._refusal_window
        if not quiet:
            return
        hosts = sorted(self._quiet_hosts.items(), key=lambda item: -item[1])
        others = quiet - sum(count for _, count in hosts)
        sources = ", ".join(f"{host} ({count})" for host, count in hosts)
        if others:
            sources += f", other hosts ({others})"
        log.warning("%s: %d more peer refusals were not logged in %g s, from %s "
                    "(refused_peers in /status counts every one)", self.name, quiet,
                    _REFUSAL_WINDOW_S, sources)
        self._quiet_hosts.clear()
        self._refusal_window = (start, logged, 0)

    async def _peer_writer(self, dest: str, queue: asyncio.Queue[bytes]) -> None:
        """Send the frames queued for ``dest``: dial, hello, then every frame queued by
        then in one write, until the connection fails; then dial again.

        The connection may be closed under the writer while it waits for its next
        frame (a reset, or a write the loop finished in the background failed):
        uvloop then raises RuntimeError from a write, where asyncio's loop drops the
        data and the drain raises. So the writer looks before it writes, and dials
        again with the frame still in hand. Should it end all the same, its queue
        goes with it, so that the next Send starts a new writer: a queue nobody
        reads would cut this node off from ``dest`` for good (the hints for it
        pending for ever; tests/runtime/test_connections.py)."""
        try:
            await self._write_frames(dest, queue)
        except Exception:
            log.exception("%s: the connection writer to %s failed", self.name, dest)
        finally:
            if self._queues.get(dest) is queue:
                del self._queues[dest]
                self._queued_bytes.pop(dest, None)
                self._keys_in_line.pop(dest, None)
                self._in_line.pop(dest, None)
                self._queue_full.discard(dest)
                self.dropped_frames += queue.qsize()

    async def _write_frames(self, dest: str, queue: asyncio.Queue[bytes]) -> None:
        backoff = _FIRST_BACKOFF_S
        # taken from the queue, not yet written (still counted in _queued_bytes until
        # written or dropped, as the large frames waiting behind the small ones)
        frame: bytes | None = None
        large: collections.deque[bytes] = collections.deque()
        while True:
            if frame is None:
                frame = large.popleft() if large else await queue.get()
            address = self.peers.get(dest)
            if address is None and self._learn(dest):  # a node that joined at run time
                address = self.peers.get(dest)
            if address is None:
                self.dropped_frames += bool(self._taken(dest, frame))
                frame = None
                continue
            sealer: FrameSealer | None = None
            reader: asyncio.StreamReader | None = None
            writer: asyncio.StreamWriter | None = None
            redial = False
            self._peer_up.setdefault(dest, asyncio.Event()).clear()  # news after this dial
            try:
                async with asyncio.timeout(self.config.peer_hello_timeout_s):
                    reader, writer = await asyncio.open_connection(address.host, address.port)
                    sealer = await self._dial_hello(dest, reader, writer)
                self.settings_refused[dest] = None
                self.settings_on_record = True  # a peer accepted them
                self.secret_differs.pop(dest, None)
                self._secret_accepted(dest)
            except PeerAuthError as error:
                self._refuse_peer(address, f"dialing {dest}: {error}")
                if SETTINGS_DIFFER in str(error):
                    self.settings_refused[dest] = str(error)
                if error.secret_differs:
                    self._secret_refused(dest, address)
            except (OSError, TimeoutError, asyncio.IncompleteReadError) as error:
                self.secret_differs.pop(dest, None)  # nothing answers: down, not refusing
                redial = self._dial_failed(dest, address, error)
            if sealer is None or reader is None or writer is None:
                # the peer is down or refused: what waits is lost
                if writer is not None:
                    writer.close()
                self.dropped_frames += bool(self._taken(dest, frame))  # b"": a connect-back
                frame = None
                while large:
                    self.dropped_frames += bool(self._taken(dest, large.popleft()))
                while not queue.empty():
                    self.dropped_frames += bool(self._taken(dest, queue.get_nowait()))
                self._reread()  # its address may have changed in the file
                if self.peers.get(dest) != address:  # dial the new one at once
                    backoff = _FIRST_BACKOFF_S
                else:
                    backoff = (_FIRST_BACKOFF_S if await self._back_off(dest, backoff)
                               else min(backoff * 2, _MAX_BACKOFF_S))
                if redial and dest in self._inbound and not self.stopping:
                    frame = b""  # dial again, nothing queued (session 33)
                continue
            backoff = _FIRST_BACKOFF_S
            _keep_alive(writer)
            self._outbound[dest] = writer
            self._dialed(dest)
            _bound_socket_buffer(writer, socket.SO_SNDBUF)
            watcher = self.loop.create_task(_close_when_peer_closes(reader, writer))
            try:
                while not writer.is_closing():  # closed while waiting: dial again
                    # every small frame queued by now, then one large one: one send
                    sealed: list[bytes] = []
                    for queued in self._frames_to_write(dest, queue, frame, large):
                        sealed += (queued, sealer.tag(queued))
                    writer.write(b"".join(sealed))
                    frame = None
                    await writer.drain()
                    frame = large.popleft() if large else await queue.get()
            except (OSError, ConnectionError):
                self.dropped_frames += 1
            finally:
                watcher.cancel()
                if self._outbound.get(dest) is writer:
                    del self._outbound[dest]
                    self._dialed_starts.pop(dest, None)
                writer.close()
                # bounded: with frames still buffered for a peer that reads nothing,
                # wait_closed never returned, and stop() (which awaits this task)
                # hung: a SIGTERM left the node running (session 12's second probe)
                try:
                    async with asyncio.timeout(_CLOSE_WAIT_S):
                        await writer.wait_closed()
                except TimeoutError:
                    # still open: the peer read nothing for _CLOSE_WAIT_S. A reset, not
                    # a plain abort, which left the socket an orphan in FIN-WAIT-1
                    # holding its send buffer, the abandoned frames delivered when the
                    # peer resumed (a SIGSTOPped node; session 54's second new-user
                    # probe, tests/runtime/test_peer_unread_link_reset.py)
                    reset(writer.transport)
                except Exception:  # closed, with an error: nothing is left to send
                    pass

    def _announced(self, line: str) -> None:
        """A line of the core's log about the store's life (the shadow round, a
        replaced disk told, set aside, rebuilding, rebuilt: ``Node._log_life``),
        written to the process's log too (session 49's operator walk: the docs said
        the node's log shows them, but they were in ``/status``'s memory only), at
        INFO as ``started`` (the default level shows both)."""
        log.info("%s: %s", self.name, line)

    def _accepted_mark(self) -> bytes:
        """What this node's store records once a peer accepted its secret
        (:data:`SECRET_ACCEPTED_META`): an HMAC under the hello's key
        (:func:`impl.peer_auth.peer_key`), 64 hex digits, which tells whether the
        secret is the one a peer accepted and nothing of it."""
        key = peer_key(self.config.secret, self.config.name)
        return hmac.new(key, b"vdynamo: a peer accepted this secret", hashlib.sha256
                        ).hexdigest().encode()

    def _read_secret_record(self) -> None:
        """:attr:`secret_shared` and :attr:`secret_changed` from what this node's store
        records (:data:`SECRET_ACCEPTED_META`) under its current secret, as at its
        start."""
        recorded = self.storage.get_meta(SECRET_ACCEPTED_META)
        mark = self._accepted_mark()
        self.secret_shared = recorded == mark
        self.secret_changed = recorded is not None and recorded != mark
        self._accepted_recorded = self.secret_shared  # the store says so already
        self._accepted_by = set()

    def _secret_accepted(self, peer: str) -> None:
        """A hello with ``peer`` passed, either way: :attr:`secret_shared`, recorded in
        this node's store the first time (:data:`SECRET_ACCEPTED_META`), so that at
        its next start on that store with that secret a stranger's refusals do not
        tip a tie (:meth:`unreached`). A secret changed since the store's record
        (:attr:`secret_changed`) is recorded, and no longer taken as changed, only
        once a majority of the members (this node counted) accepted it: recorded at
        the first acceptance, the changed half of a 2-2 split (each accepting its own
        half) would forget at its next start that its secret is the newer one. A
        store that cannot be written leaves it unrecorded (logged): the next start
        learns it from a peer again."""
        self.secret_shared = True
        self._accepted_by.add(peer)
        if self._accepted_recorded:
            return
        if self.secret_changed:
            live = self.node.view.live_nodes
            taken = 1 + len(self._accepted_by.intersection(live) - {self.name})
            if 2 * taken <= len(live):
                return
            self.secret_changed = False
            log.warning("%s: a majority of the members (%d of %d) accepted this node's "
                        "new [cluster] secret: recorded in its store", self.name, taken,
                        len(live))
        self._accepted_recorded = True
        mark = self._accepted_mark()
        try:
            if self.storage.get_meta(SECRET_ACCEPTED_META) != mark:
                self.storage.set_meta(SECRET_ACCEPTED_META, mark)
        except errors.StorageError as error:
            log.warning("%s: could not record that a peer accepted this node's secret: %s",
                        self.name, error)

    def _secret_refused(self, dest: str, address: Address) -> None:
        """This node's dial of ``dest`` at ``address`` was refused for the cluster
        secret (:attr:`secret_differs`): noted, counted (``stats``
        ``peer-secret-differs``, in ``/metrics`` as ``vdynamo_node_events``), and, when
        it leaves this node not ready (:meth:`unreached`), that logged once per
        reason. A refusal carries no reason from the refusing side (nothing that
        would help one without the secret): the dialer sees the peer's proof fail
        with its own secret, which tells the two secrets differ and not which one
        is wrong; the majority of the members tells that (session 49)."""
        self.node.stats["peer-secret-differs"] += 1
        # it accepted this node's secret before, not now: it no longer counts towards
        # the majority that records a changed secret (session 50's review: n4 took
        # the old secret back, and n3 counted it with n2, "3 of 4", at a 2-2 split)
        self._accepted_by.discard(dest)
        self.secret_differs[dest] = (f"{_host_port(address)}: its proof does not verify "
                                     "with this node's [cluster] secret")
        why = self.unreached()
        if why is not None and why != self._unready_logged:
            log.warning("%s: not ready: %s", self.name, why)
            self._unready_logged = why

    def _dialed(self, dest: str) -> None:
        """This node's hello to ``dest`` passed: ``dest`` can be dialed; the first
        time, check in ``reach_grace_s`` that ``dest`` has connected back; after
        failed dials while ``dest`` was connected (``cannot_dial``), log the recovery."""
        if self.cannot_dial.pop(dest, None) is not None:
            first, failures, _ = self._dial_failures.get(dest, (self.loop.time(), 0, 0.0))
            log.warning("%s: connected to %s after %d failed dials in %.1f s (cannot_dial "
                        "cleared)", self.name, dest, failures, self.loop.time() - first)
        self._dial_failures.pop(dest, None)
        self._undialed_since.pop(dest, None)
        check = self._dial_checks.pop(dest, None)
        if check is not None:
            check.cancel()
        if dest not in self._dialed_at:
            self._dialed_at[dest] = self.loop.time()
            self.loop.call_later(self.config.reach_grace_s, self._check_reached, dest)

    def _check_reached(self, dest: str) -> None:
        """Log once that ``dest`` took this node's connection but has not connected to
        it within ``reach_grace_s`` (:meth:`unreached_by`)."""
        if self.stopping or dest in self._reached_by:
            return
        log.warning(
            "%s: %s takes this node's connections, but has not connected to it in %g s: "
            "its answers are lost (puts through this node 504, reads past R = 1 503); does "
            "%s's cluster file give [nodes.%s] peer as %s, the address this node listens "
            "on (this node's own file changed alone?)%s", self.name, dest,
            self.config.reach_grace_s, dest, self.name, self.peer_address,
            "" if self.unreached() is None else
            "; no peer has connected: not ready" if not self._reached_by else
            "; no majority of the members exchanges messages with it both ways: not ready")

    def unreached_by(self) -> list[str]:
        """The peers this node's connection to has passed its hello at least
        ``reach_grace_s`` ago that have not connected to this node since its start
        (``not_reached_by`` in /status). Session 32's client probe: n1 restarted with a
        new ``peer`` port in its own file only (its peers' files giving the old one)
        said ready, its puts 504 and its R = 2 reads 503, and no node logged anything:
        n1 reached its peers, they dialed the old port (refused: n1 down to them), and
        their answers never came. A peer answers a gossip round by connecting back, so
        a peer that takes this node's connection and never connects is one that cannot."""
        now = self.loop.time()
        return sorted(peer for peer, at in self._dialed_at.items()
                      if peer not in self._reached_by and now - at >= self.config.reach_grace_s)

    def undialed(self) -> list[str]:
        """The peers connected to this node that it has failed to dial for at least
        ``reach_grace_s`` (``cannot_dial``, its writer dialing again meanwhile:
        :meth:`_dial_failed`): its messages to them are lost. A peer whose connection
        closed since, or that this node's failure detector holds down
        (:meth:`impl.node.Node.down`: nothing heard from it, directly or gossiped,
        within its window), is down for every node alike and not counted.

        Session 33's review: a hung peer (SIGSTOP: the kernel keeps its connection to
        this node up and accepts this node's dials, whose hellos time out) counted
        while it hung: five nodes, n3, n4 and n5 stopped and n1's connections to
        them reset, n1 said not ready (every request 503) from 5 s on, where the
        same peers crashed left it ready."""
        now = self.loop.time()
        node_now = self.now()
        return sorted(peer for peer in self.cannot_dial if peer in self._inbound
                      and now - self._dial_failures.get(peer, (now, 0, now))[0]
                      >= self.config.reach_grace_s and self._heard_since_undialed(peer)
                      and not self.node.down(peer, node_now))

    def _heard_since_undialed(self, peer: str) -> bool:
        """Whether a message of ``peer`` arrived since this node's dials of it began
        failing (``cannot_dial``): it runs and sends while this node cannot answer.
        A peer that hung first (SIGSTOP) sends nothing: not counted in
        :meth:`undialed`, also before its failure detector holds it down (its window,
        12 s at the defaults, is longer than the grace: session 33's review, two
        nodes, n2 stopped and n1's connection to it reset: n1 not ready 1.76 s)."""
        since = self._undialed_since.get(peer)
        heard = self.node.last_heard.get(peer)
        return since is not None and heard is not None and heard >= since

    def unreached(self) -> str | None:
        """Why this node serves nothing; else None. Either some peers took its
        connection long enough ago and none has connected to it
        (:meth:`unreached_by`), or the peers that cannot exchange messages with it
        both ways, past ``reach_grace_s`` (those in :meth:`unreached_by`, and those
        connected to it that it cannot dial: :meth:`undialed`), are half of the
        ring's members or more (this node counted:
        :attr:`impl.membership.Membership.live_nodes`).

        A peer that cannot connect to this node loses its answers to it, and one
        this node cannot dial loses this node's messages: this node's puts wait for
        acknowledgements that never come (504) and its reads past R = 1 for replies
        (503). A node with a majority of the members able to exchange messages with
        it both ways (itself and every peer not named, a peer that is down included:
        down for every node alike, Dynamo's sloppy quorum serves on) can make its
        quorums; with half or fewer it cannot, as an etcd member without a quorum of
        its cluster answers no linearizable request. Until session 33 only a node
        reached by no peer was unready: n1 of five restarted with a ``peer`` port
        its four peers' files do not give, reached by n2 alone (n2's file changed
        too), said ``ready`` while n3, n4 and n5's answers to it were lost; and a
        node whose own file gave its two peers wrong addresses (they reaching it)
        said ``ready`` while every message it sent them was lost. Now both are not
        ready. A node reached by n2 and n3 of five, or by one peer of two, stays
        ready (a majority answers it), the others named in ``not_reached_by`` all
        the same. The majority is as :meth:`misconfigured` counts the ring's
        members, but half is not enough here: half of the members is no quorum.
        Only members count: session 33's review, n1 of five not reached by n4 and n5
        (ready), n5 then stopped and force-removed: n5 still counted against the
        four members left, 2 of 4, and n1 said not ready for good.

        Peers whose proofs do not verify with this node's secret
        (:attr:`secret_differs`) are in the cut too: session 49's operator walk, n3
        of three restarted with another ``[cluster] secret``, refused by n1 and n2,
        said ``ready`` and answered every get 503 ("reached 1 of R=2"). Now it is
        not ready naming the secret; n1 and n2, refused by n3 alone (1 of 3), serve on.
        A node whose secret a peer accepted since its start (:attr:`secret_shared`)
        counts them only when they are more than half of the members: of two nodes,
        n2 restarted with another secret, n1 (accepted by n2 before) serves on and
        n2 does not; the whole cluster changing secret but n1, n1 does not. A node
        that can tell its secret changed (:attr:`secret_changed`) counts them at a
        tie (session 50: of four, n3 and n4 given another secret, each half accepting
        its own, all four said ready; now n3 and n4 do not)."""
        unreached = self.unreached_by()
        undialed = self.undialed()
        if unreached and not self._reached_by:
            return (f"{', '.join(unreached)} take this node's connections but none has "
                    f"connected to it (its peer address {self.peer_address}): do their "
                    f"cluster files give [nodes.{self.name}] peer as this node's?")
        live = self.node.view.live_nodes
        # members only: a peer force-removed (down for good) or gone is no longer one
        # of the members a quorum is made of (session 33's review)
        unreached = [peer for peer in unreached if peer in live]
        undialed = [peer for peer in undialed if peer in live]
        refusing = [peer for peer in sorted(self.secret_differs) if peer in live]
        if self.secret_shared and not self.secret_changed and 2 * len(refusing) <= len(live):
            refusing = []  # a peer accepted its secret: the refusing peers' differs
        cut = {*unreached, *undialed, *refusing}
        members = len(live)
        if not cut or 2 * len(cut) < members:
            return None
        why = []
        if unreached:
            why.append(f"{', '.join(unreached)} take this node's connections but have not "
                       f"connected to it (its peer address {self.peer_address}: do their "
                       f"cluster files give [nodes.{self.name}] peer as this node's?)")
        if undialed:
            why.append(f"this node cannot connect to {', '.join(undialed)}, connected to "
                       "it (cannot_dial in /status: does this node's cluster file give "
                       "their peer addresses?)")
        if refusing:
            why.append(f"the proofs of {', '.join(refusing)} (answering this node's "
                       "hellos) do not verify with its [cluster] secret: their secret "
                       "differs from this node's, and every hello between them is refused "
                       "(secret_differs in /status: compare this node's cluster file with "
                       "theirs)" + ("; this node's secret is not the one its store was "
                                    "accepted under (secret_changed in /status): it "
                                    "changed, so at a tie this node's side stops serving"
                                    if self.secret_changed else ""))
        return (f"{'; '.join(why)}: {len(cut)} of the {members} members cannot exchange "
                "messages with this node both ways, so no majority of the members can "
                "answer it")

    def _dial_failed(self, dest: str, address: Address, error: BaseException) -> bool:
        """A dial of ``dest`` at ``address`` failed (a network error); whether to dial
        it again though nothing is queued for it: if ``dest``'s own connection to this
        node is up, ``dest`` runs, so either the address this node's file gives it is
        not where it listens (its file changed alone) or the failure was transient:
        said in ``cannot_dial`` until a dial passes, logged at the first failure and
        then at most once per :data:`_REDIAL_LOG_WINDOW_S` seconds (the count of
        failed dials so far), and True: the writer dials again after its backoff
        (at most once a second) while that connection is up.

        Session 32's review left it: a connect-back (:meth:`_connect_back`) whose one
        dial failed (the peer's port refusing for a moment, a hello timing out under
        load) was not tried again; with nothing else to send that peer (a quiet
        cluster, ``restore_guard = false``) the peer was never reached by this node,
        named it in ``not_reached_by`` for good and, reached by no other peer, said
        not ready (session 33)."""
        if dest not in self._inbound:
            return False
        why = f"{address}: {type(error).__name__}: {error}"[:_REFUSAL_CHARS]
        now = self.loop.time()
        first, failures, logged = self._dial_failures.get(dest, (now, 0, now))
        failures += 1
        if dest not in self.cannot_dial:
            first, logged = now, now
            self._undialed_since[dest] = self.now()
            self._arm_dial_check(dest)
            log.warning("%s: %s is connected to this node, but this node cannot connect to "
                        "%s at the peer address its cluster file gives (%s): is that where "
                        "%s listens (its own file changed alone?); dialing it again at most "
                        "once a second while its connection is up", self.name, dest, dest,
                        why, dest)
        elif now - logged >= _REDIAL_LOG_WINDOW_S:
            logged = now
            log.warning("%s: still cannot connect to %s: %d failed dials in %.0f s, the "
                        "last: %s", self.name, dest, failures, now - first, why)
        self._dial_failures[dest] = (first, failures, logged)
        self.cannot_dial[dest] = why
        if dest not in self._dial_checks:
            self._arm_dial_check(dest)  # its chain ended while its connection was down
        return True

    def _arm_dial_check(self, dest: str) -> None:
        """Check ``dest`` (:meth:`_check_dialed`) ``reach_grace_s`` from now, in place
        of any check of it pending."""
        pending = self._dial_checks.pop(dest, None)
        if pending is not None:
            pending.cancel()
        self._dial_checks[dest] = self.loop.call_later(
            self.config.reach_grace_s, self._check_dialed, dest)

    def _check_dialed(self, dest: str) -> None:
        """Log once that this node is not ready when ``dest``, still not dialed
        ``reach_grace_s`` after its first failed dial (:meth:`undialed`), leaves
        no majority exchanging messages with it (:meth:`unreached`): once for one
        reason, though several peers' checks come at once (session 33's review: two
        identical lines for n2 and n3 whose first dials failed together).

        A peer still not dialed but not yet counted (nothing heard from it since its
        dials began failing: :meth:`_heard_since_undialed`) is checked again one grace
        later, for as long as its dials fail: before session 44 the one check found
        it not counted, and when its next message came the node turned not ready
        without a line (n2 and n3 alive, heard only after the grace's end: the
        session 44 helper's runs of ``test_peers_undialed_at_once_log_not_ready_once``
        at a 1 s grace missed the line in most runs). The chain ends while the
        peer's own connection is down (session 44's review: a peer gone for good,
        crashed or removed, stays in ``cannot_dial`` and was checked every grace
        until the node stopped); its next failed dial, the connection back,
        starts it again (:meth:`_dial_failed`)."""
        self._dial_checks.pop(dest, None)
        if self.stopping or dest not in self.cannot_dial:
            return
        if dest not in self.undialed():
            if dest in self._inbound:  # not while its connection is down: a dial
                self._arm_dial_check(dest)  # failing after it comes back re-arms
            return
        why = self.unreached()
        if why is not None and why != self._unready_logged:
            log.warning("%s: not ready: %s", self.name, why)
        self._unready_logged = why

    async def _back_off(self, dest: str, seconds: float) -> bool:
        """Wait ``seconds`` after a failed dial to ``dest``, or less: until ``dest``'s
        own connection to this node passes its hello (``_peer_up``, set by
        :meth:`_on_peer`), which shows it is up; whether it did. Before session 21 the
        writer slept out its backoff (doubling to 1 s while the peer was down), so a
        node that came up during a sleep heard nothing from this one until it ended:
        the answer to its start's announce (its shadow round waiting) and a first
        put's ReplicaPut waited up to 1 s, and a W = 3 put through the node started
        first, sent as the last one's port opened, got 504 (request_timeout 1 s;
        tests/runtime/test_peer_redial.py). Riak's and Cassandra's connection
        managers likewise reconnect on news of the peer (a node-up event)."""
        up = self._peer_up.setdefault(dest, asyncio.Event())
        try:
            async with asyncio.timeout(seconds):
                await up.wait()
        except TimeoutError:
            return False
        return True

    @property
    def frame_limit(self) -> int:
        """The largest frame this node sends or takes: ``max_frame_bytes``, or the
        frame a record within the bounds its store keeps from earlier limits needs
        (:attr:`impl.replica.Replica.kept_bounds`, raised by a peer's hello), if
        larger (:func:`impl.config.replicable_frame_bytes`; at most 2 GiB). Before
        session 22's service probe it was ``max_frame_bytes`` alone: an operator
        lowering it (64 MiB derived to 8,393,728, with the value and record limits
        to match) below a record the cluster stored (nine 1 MB siblings, written with
        ``max_record_bytes = 10 MiB``) stranded the key: every replica dropped its
        ReplicaGetReply ("over max_frame_bytes: dropped alone"), so a GET at R=2 or
        3 answered 504 after 21 s at every node, and only R=1 read it. Hellos
        announce ``max_frame_bytes`` itself (the file's limits are compared, and a
        peer adopts this node's kept bounds from the same hello, so its own frame
        limit rises to carry them before it reads a frame of this connection)."""
        kept = replicable_frame_bytes(self.config, self.node.replica.kept_bounds[0])
        return max(self.config.max_frame_bytes, min(kept, 1 << 31))

    def _hello_info(self) -> HelloInfo:
        """What this node's hellos say of it (impl.peer_auth): its cluster's name and
        its record limits, :data:`COMPARED_LIMITS`, the record bounds its store
        keeps from earlier limits (:data:`KEPT_BOUNDS`), and the settings every node
        must share, :data:`SHARED_SETTINGS`, and this process's start (session 28)."""
        kept = zip(KEPT_BOUNDS, self.node.replica.kept_bounds, strict=True)
        return HelloInfo(self.config.name, tuple(
            (name, int(getattr(self.config, name))) for name in COMPARED_LIMITS) + tuple(kept),
            shared_settings(self.config), self.start_token)

    def _adopt_record_bounds(self, peer: str, info: HelloInfo) -> None:
        """Raise this node's kept record bounds (:attr:`impl.replica.Replica.kept_bounds`)
        to an authenticated ``peer``'s (:data:`KEPT_BOUNDS` in its hello), persisted
        (:meth:`impl.node.Node.adopt_record_bounds`): a replaced disk, or a node that
        joined after the limits were lowered, has no bounds of the earlier limits of
        its own, and refused the records its peers stored under them:
        ``max_siblings`` 25 lowered to 2 over a key of 10 siblings, n3's disk
        replaced, three ``vdynamo serve`` processes: n3's rebuild never ended (still
        waiting on n1 and n2 after 25 s, 124 messages dropped) and every GET through
        it 503 (session 21's second service probe).

        The bytes taken are at most :func:`impl.config.adoptable_record_bytes` (the
        record a 64 MiB frame, or a ``max_frame_bytes`` frame if larger, carries); a
        larger claim is cut to it and logged once per peer and claim, naming the
        peer and how to take it (raise ``max_frame_bytes``). Until session 23's
        review any claim was taken: one peer's hello of 2^40 B (an insider, a bug,
        a corrupted store) raised this node's frame limit, the memory one
        connection may buffer, to 2 GiB, and this node's hellos raised every
        other node's."""
        theirs = dict(info.limits)
        if not all(name in theirs for name in KEPT_BOUNDS):
            return
        claimed, siblings = theirs[KEPT_BOUNDS[0]], theirs[KEPT_BOUNDS[1]]
        ceiling = max(adoptable_record_bytes(self.config), self.node.replica.kept_bounds[0])
        if claimed > ceiling:
            if self._capped_logged.get(peer) != claimed:
                self._capped_logged[peer] = claimed
                needed = replicable_frame_bytes(self.config, claimed)
                log.warning(
                    "%s: peer %s's hello says its store keeps records of up to %d bytes "
                    "(kept_record_bytes), which need %d B frames, over the %d B this node "
                    "takes from a peer's hello (64 MiB, or its max_frame_bytes if larger): "
                    "taken as %d bytes; %s", self.name, peer, claimed, needed,
                    replicable_frame_bytes(self.config, ceiling), ceiling,
                    f"if {peer}'s store holds such records (kept from earlier, larger "
                    f"limits), raise max_frame_bytes here to at least {needed}"
                    if needed <= 1 << 31 else
                    f"no max_frame_bytes carries that (2 GiB at most): check {peer}")
            claimed = ceiling
        self._perform(self.node.adopt_record_bounds(self.now(), claimed, siblings))

    def _compare_limits(self, peer: str, info: HelloInfo | None) -> None:
        """Note (in ``peer_limits_differ``, /status) and log once the record limits
        in which an authenticated ``peer``'s hello differs from this node's: one
        WARNING per peer naming each differing key and both values, again only when
        the difference changes (a reconnect says nothing new). Nodes with different
        limits (a rolling change of ``max_value_bytes``) refuse each other's records
        over their own limits, and hints, read repair and anti-entropy send them
        again (session 14's probe B; Cassandra compares schema versions, Riak
        negotiates capabilities)."""
        if info is None:
            return
        self._adopt_record_bounds(peer, info)
        theirs = dict(info.limits)
        self._note_peer_frame(peer, theirs)
        differ = {name: (int(getattr(self.config, name)), theirs[name])
                  for name in COMPARED_LIMITS
                  if name in theirs and theirs[name] != getattr(self.config, name)}
        if differ == self.peer_limits_differ.get(peer, {}):
            return
        self._withheld_logged.discard(peer)
        if not differ:
            del self.peer_limits_differ[peer]
            log.warning("%s: peer %s now runs the same [cluster] limits", self.name, peer)
            return
        self.peer_limits_differ[peer] = differ
        log.warning("%s: peer %s runs other [cluster] limits: %s; a record over the "
                    "smaller limit is refused by the node that has it (held back when "
                    "over a peer's max_value_bytes or max_key_bytes, sent again every "
                    "round otherwise): give every node the same limits", self.name, peer,
                    ", ".join(f"{name} {here} here, {there} at {peer}"
                              for name, (here, there) in sorted(differ.items())))

    async def _dial_hello(self, dest: str, reader: asyncio.StreamReader,
                          writer: asyncio.StreamWriter) -> FrameSealer:
        """The dialer's side of the hello (impl.peer_auth); the sealer of this direction."""
        dialer = Dialer(self.config.secret, self.name, dest, self._hello_info())
        writer.write(dialer.hello())
        await writer.drain()
        head = await reader.readexactly(HELLO_HEAD_BYTES)
        if head.startswith(b"HTTP/"):  # "connection did not open with a vdynamo hello"
            # until session 21's service probe, naming neither what answered nor why
            raise PeerAuthError(f"its address answered HTTP ({head.decode('latin-1')!r}...): "
                                f"an HTTP port, so the peer address this node has for "
                                f"{dest} is an http one ([nodes.{dest}] peer and http "
                                "swapped in a cluster file?)")
        length, info_length = parse_hello_head(head)
        name = await reader.readexactly(length)
        info = await reader.readexactly(info_length)
        nonce = await reader.readexactly(NONCE_BYTES)
        try:
            proof, sealer, _ = dialer.on_challenge(name, info, nonce,
                                                   await reader.readexactly(TAG_BYTES))
        except PeerAuthError as error:
            if error.reply:  # a proof of zeros: the acceptor logs the differing secret
                writer.write(error.reply)
                with contextlib.suppress(OSError, ConnectionError):
                    await writer.drain()
            raise
        writer.write(proof)
        self._compare_limits(dest, dialer.peer_info)
        self._dialed_starts[dest] = (writer, dialer.peer_info.start if dialer.peer_info
                                     else "")
        return sealer

    # ------------------------------------------------------------------ peers in

    async def _accept_hello(self, reader: asyncio.StreamReader,
                            writer: asyncio.StreamWriter) -> tuple[str, FrameOpener]:
        """The acceptor's side of the hello: (the authenticated peer, its opener)."""
        head = await reader.readexactly(HELLO_HEAD_BYTES)
        if _HTTP_REQUEST.match(head):
            await self._answer_http_client(reader, writer)
            raise PeerAuthError(f"an HTTP request ({head.split(b' ')[0].decode()} ...) on "
                                "the peer port, answered 400 naming the HTTP port (a client "
                                "given the peer address?)")
        length, info_length = parse_hello_head(head)
        name = await reader.readexactly(length)
        info = await reader.readexactly(info_length)
        acceptor = Acceptor(self.config.secret, self.name, self._hello_info())
        try:
            src, challenge = acceptor.on_hello(name, info,
                                               await reader.readexactly(NONCE_BYTES))
        except PeerAuthError as error:
            if error.reply:  # another cluster's node: tell it which cluster this is
                writer.write(error.reply)
                with contextlib.suppress(OSError, ConnectionError):
                    await writer.drain()
            raise
        if src not in self.config.nodes and src not in self.peers and not self._learn(src):
            raise PeerAuthError(f"hello from unknown node {src!r}")
        if src == self.name:  # this node never dials itself (its own messages stay
            # in its core): another process claims its name. Served until session
            # 26's user probe, with the secret it sent frames the core took as its own
            raise PeerAuthError(f"hello naming this node itself ({src!r}): another process "
                                f"runs as {src} (a second `vdynamo serve --node {src}`, or "
                                "a cluster file whose addresses point here?)")
        # a whole hello naming a node: evicted after every connection that sent less
        # (a flood of silent ones pushed real hellos out: session 19's peer-port probe)
        self._peer_slots.introduced(writer)
        writer.write(challenge)
        await writer.drain()
        _, opener = acceptor.on_proof(await reader.readexactly(TAG_BYTES))
        self._reread()  # a peer restarted with its addresses changed in the file
        self._one_process(src, acceptor.peer_info)
        self._compare_limits(src, acceptor.peer_info)
        return src, opener

    def _dialed_start(self, src: str) -> str:
        """The start of ``src`` told on this node's open connection to its address
        ("" for none, or a connection closing: its peer closed it)."""
        held = self._dialed_starts.get(src)
        return held[1] if held is not None and not held[0].is_closing() else ""

    def _one_process(self, src: str, info: HelloInfo | None) -> None:
        """PeerAuthError when the authenticated hello of ``src`` comes from another
        process than the one at ``src``'s address: this node's own connection to that
        address (the cluster file's) is up and its hello told another start
        (:attr:`HelloInfo.start`). A second ``vdynamo serve --node n2`` (a copied
        cluster file whose n2 has other ports and data) was served until session 28's
        user probe: its connections replaced the real n2's at n1 and n3 in turn
        (each node keeps one connection from each peer), nothing was logged, and its
        frames were taken as n2's: a put through it was stored at n1 and n3 while its
        client got 504 (their answers went to the real n2). Riak refuses a
        second node of one name (Erlang distribution), etcd a member ID mismatch.
        A peer that restarted is let in once this node's connection to its old
        process closed: at once when that process is gone (its end closed:
        :func:`_close_when_peer_closes`), or, for a dead connection, at its next
        write or its keepalive's end."""
        theirs = info.start if info is not None else ""
        dialed = self._dialed_start(src)
        if theirs and dialed and theirs != dialed:
            address = self.peers.get(src)
            raise PeerAuthError(
                f"hello from {src!r} (start {theirs}), but the {src} at its address "
                f"{address} is another process (start {dialed}): another process runs as "
                f"{src} (a second `vdynamo serve --node {src}`, a cluster file copied with "
                f"other addresses?); if {src} restarted, it is let in once this node's "
                "connection to its old process closes")

    async def _answer_http_client(self, reader: asyncio.StreamReader,
                                  writer: asyncio.StreamWriter) -> None:
        """Answer an HTTP request sent to the peer port 400, naming this node's HTTP
        address (its ``[nodes.*] http``), then close with a lingering close of at most
        :data:`_HTTP_ANSWER_LINGER_S` (within the hello's timeout: the request's rest
        is read and dropped, so that the client reads the answer, not a reset).
        Before session 21's service probe the connection was closed without a word:
        the Python client said a put to it was of unknown outcome (it may have been
        made), and nothing named the wrong port."""
        payload = json.dumps(error_body(errors.BadRequestError(
            f"this is node {self.name}'s peer port (node to node, an authenticated "
            f"hello), not its HTTP port: send HTTP requests to {self.http_address} "
            "(the [nodes.*] http address in the cluster file)"))).encode()
        writer.write(b"HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\n"
                     b"connection: close\r\ncontent-length: %d\r\n\r\n%s"
                     % (len(payload), payload))
        with contextlib.suppress(TimeoutError, ConnectionError, OSError):
            await writer.drain()
            if writer.can_write_eof():
                writer.write_eof()
            async with asyncio.timeout(_HTTP_ANSWER_LINGER_S):
                while await reader.read(65536):
                    pass

    async def _on_peer(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        address = writer.get_extra_info("peername")
        host = str(address[0]) if isinstance(address, tuple) and address else None
        if not self._peer_slots.admit(writer, host):
            self._refuse_peer(address, f"{self._peer_slots.limit} peer connections, every "
                              "one authenticated")
            writer.close()
            return
        src = "?"
        try:
            try:
                async with asyncio.timeout(self.config.peer_hello_timeout_s):
                    src, opener = await self._accept_hello(reader, writer)
            except TimeoutError:
                raise PeerAuthError(f"no complete hello within "
                                    f"{self.config.peer_hello_timeout_s} s") from None
            self._peer_slots.busy(writer)
            _keep_alive(writer)
            _bound_socket_buffer(writer, socket.SO_RCVBUF)
            up = self._peer_up.get(src)
            if up is not None:  # a writer backing off from src: src is up, dial now
                up.set()
            self._reached_by.add(src)
            self.secret_differs.pop(src, None)  # its proof verified: one secret
            self._secret_accepted(src)
            self._connect_back(src)
            previous = self._inbound.get(src)
            if previous is not None:  # the peer reconnected: its old connection is dead
                previous.close()
            self._inbound[src] = writer
            lost = self._peer_lost_at.pop(src, None)
            if lost is not None:
                log.info("%s: %s connected to this node again, %.1f s after its connection "
                         "closed", self.name, src, self.loop.time() - lost)
            await self._read_frames(src, reader, opener)
        except asyncio.IncompleteReadError:
            pass  # the peer closed the connection
        except PeerAuthError as error:
            self._refuse_peer(address, str(error) if src == "?"
                              else f"{error} (on the connection authenticated as {src})")
        except errors.BadMessageError as error:  # the stream is out of sync: close it
            self._drop(f"closing connection from {src}: {error}")
        except (OSError, ConnectionError):
            pass
        except MemoryError as error:  # a frame read: the connection closes (the peer
            # dials again), one line (asyncio's unhandled-exception traceback until
            # session 32's service probe: 2 to 46 in a burst of 1 MB requests)
            report_internal_error(self.name, self.now(), self.node.stats, self.node.log,
                                  src, _PeerFrames(), error)
        finally:
            if self._inbound.get(src) is writer:
                del self._inbound[src]
                if not self.stopping:
                    self._peer_lost_at[src] = self.loop.time()
                    log.info("%s: %s's connection to this node closed (it stopped, "
                             "restarted or was cut off; the hints for it are kept here "
                             "until it is back)", self.name, src)
            self._peer_slots.release(writer)
            writer.close()

    async def _read_frames(self, src: str, reader: asyncio.StreamReader,
                           opener: FrameOpener) -> None:
        """Deliver every frame (and its tag) of an authenticated connection, until it
        closes: whatever one read returns, every complete frame of it at once (one
        await per read, not three per frame); BadMessageError for a frame over
        ``max_frame_bytes`` (before its body is read) or a bad header."""
        buffer = bytearray()
        while data := await reader.read(_PEER_READ_BYTES):
            buffer += data
            start = 0
            while len(buffer) - start >= _HEADER_BYTES:
                total = wire.frame_length(buffer, start)
                if total > self.frame_limit:
                    raise errors.BadMessageError(f"frame of {total} bytes is over the limit")
                end = start + total
                if len(buffer) < end + TAG_BYTES:
                    break
                with memoryview(buffer) as view:  # one copy of the frame, not two
                    frame = bytes(view[start:end])
                self._deliver(src, opener.open(frame, bytes(buffer[end:end + TAG_BYTES])))
                start = end + TAG_BYTES
            del buffer[:start]

    def _learn(self, name: str) -> bool:
        """Re-read the cluster file for ``name``'s addresses (a node joining at run
        time: the operator adds its ``[nodes.NAME]`` section, then starts it);
        whether the file names it.

        The file is read only when its (mtime, size) changed since the last read (an
        unknown hello is cheap to send), and every node it names is kept from that
        read: before session 17, only the node being looked up was, so when an
        operator added two sections at once (``[nodes.n4]`` and ``[nodes.n5]``,
        both started together: riak_core's ``cluster join`` of two nodes before one
        ``cluster commit``), the read for n4's hello learned n4, and n5's hello,
        finding the file unchanged, was refused as an unknown node for good: n5
        never joined (session 17's data probe, real processes: ``not-joined`` 45 s
        later, every request to it 503). Source: docs/runtime.md, "Join and leave"."""
        if not self._reread():
            return False
        addresses = self._config_nodes.get(name)
        if addresses is None:
            return False
        if name not in self.peers:
            self.peers[name] = addresses.peer
            self.http_addresses[name] = addresses.http
            log.info("%s: learned the addresses of %s from %s", self.name, name,
                     self.config_path)
        return True

    def reread_file(self, nodes: Mapping[str, NodeAddresses] | None = None) -> bool:
        """Re-read the cluster file now if it changed since its last read, adopting the
        peers' addresses it gives (:meth:`_reread`): ``vdynamo serve``'s SIGHUP
        (:func:`impl.serve.reload_report`, session 53). ``nodes``: the file's sections
        as the caller just loaded and checked it (with ``vdynamo serve``'s own
        ``--insecure-dev``), taken as this read (session 53's review). Whether the read
        is usable."""
        if nodes is None or self.config_path is None:
            return self._reread()
        try:
            stat = self.config_path.stat()
            self._config_read = (stat.st_mtime_ns, stat.st_size)
        except OSError:  # (gone since the caller read it: read again at the next look)
            self._config_read = None
        self._take_read(dict(nodes))
        return bool(self._config_nodes)

    def _reread(self) -> bool:
        """Re-read the cluster file if it changed since the last read, and adopt what
        it now gives the nodes this node knows (:meth:`_adopt_addresses`); whether
        ``_config_nodes`` holds a usable read (False: no file, or one that cannot be
        read or loaded, logged once until it changes)."""
        if self.config_path is None:
            return False
        try:
            stat = self.config_path.stat()
        except OSError as error:
            # a file gone (or unreadable) is logged once until that changes: the
            # lookup runs for every hello naming a node the file does not, before
            # any proof, and each wrote a WARNING line until session 22's service
            # probe (500 hellos of a peer without the secret, 500 lines), outside
            # the refused-peer log's bound (_refuse_peer)
            signature = (-1, error.errno or 0)
            if signature != self._config_read:
                self._config_read = signature
                log.warning("%s: cannot re-read %s: %s (said once until it changes)",
                            self.name, self.config_path, error)
            return False
        signature = (stat.st_mtime_ns, stat.st_size)
        if signature != self._config_read:  # a file that fails is read once a change
            self._config_read = signature
            try:
                nodes = dict(load_runtime_config(self.config_path).nodes)
            except (OSError, errors.ConfigError) as error:
                self._config_nodes = {}
                log.warning("%s: cannot re-read %s: %s", self.name, self.config_path, error)
                return False
            self._take_read(nodes)
        return bool(self._config_nodes)

    def _take_read(self, nodes: dict[str, NodeAddresses]) -> None:
        """The cluster file's sections ``nodes``, just read: kept, and the addresses
        that changed adopted (:meth:`_adopt_addresses`)."""
        self._config_nodes = nodes
        self._file_members()
        # told from what the file last gave each node, not from its previous read:
        # a read that failed (the file half written: even write_text truncates
        # first) or that lacked the node made that read empty or partial, and until
        # session 30's review the change written after it was never adopted (n2
        # dialed at its old port for good, w=3 puts 504 17 s on)
        before = dict(self._file_gave)
        self._file_gave.update(nodes)
        self._adopt_addresses(before)

    def own_peer_address(self) -> str:
        """This node's peer address as the cluster file last gave it (``[nodes.NAME]
        peer``, ``host:port`` as :class:`Address` spells it; a port 0 there stays 0),
        else the one bound, else ``""``: what an admin token for this member signs
        (:func:`impl.http_api.admin_authorization`; red team 13, session 61)."""
        given = self._file_gave.get(self.name)
        if given is not None:
            return str(given.peer)
        bound = self.peers.get(self.name)
        return "" if bound is None else str(bound)

    def own_peer_addresses(self, arrived: str = "") -> list[str]:
        """Every spelling of this node's peer address an admin token for it may sign
        (:meth:`impl.http_api.HttpApi._admin_refusal`), :meth:`own_peer_address` first:
        the address bound (a port 0 in the file: the port bound) and the names of
        that same socket, :func:`peer_address_aliases`. Review of red team 13 (session
        61): the token signed only this node's own file's spelling, so an operator
        whose copy of the cluster file spells it another way (``127.0.0.1:P`` where
        the member's own copy binds ``localhost:P`` or ``0.0.0.0:P``, as a container
        does), making the token by hand as docs/runtime.md says, was refused 401 ("does
        not verify") by a member that took it before the fix; a twin cluster's member
        still refuses it (its socket is another: another port on this host, another
        host). ``arrived``: the local address the admin request came in at, which a
        peer port bound to every interface is reachable at too."""
        first = self.own_peer_address()
        bound = self.peer_address or self.peers.get(self.name)
        spellings = [first] + ([] if bound is None else peer_address_aliases(
            bound, socket.gethostname(), arrived))
        return list(dict.fromkeys(spellings))

    def watch_file(self, path: Path | None, nodes: dict[str, NodeAddresses]) -> None:
        """Re-read the cluster file at ``path`` (None: none) when it changes (:meth:`_reread`);
        ``nodes``: the addresses it gave every node when this node started, from which
        a change is told (the running addresses may differ from the file's: a port 0
        there is the port bound)."""
        self.config_path = path
        self._config_nodes = dict(nodes)
        self._file_gave = dict(nodes)
        self._file_members()

    def _file_members(self) -> None:
        """Give the node the cluster file's nodes that have not left
        (:attr:`impl.node.Node.file_members`: an unconfirmed fresh store waits for
        those its view never heard of too; session 60's review)."""
        self.node.file_members = frozenset(
            name for name, held in self._config_nodes.items() if not held.left)

    def _adopt_addresses(self, before: dict[str, NodeAddresses]) -> None:
        """Take the peer and HTTP addresses the cluster file, just re-read, gives each
        node this node knows where they differ from ``before`` (what the file last gave
        each node, at this node's start at first: :meth:`watch_file`), saying so
        (WARNING); a port 0 (bound by the process that serves it) is not taken. The
        file is re-read
        when a node joins (:meth:`_learn`), a known peer passes its hello (it may have
        been restarted with an address changed in the file), and a dial fails
        (:meth:`_write_frames`). Before session 30's user probe a known node's
        addresses were those of this node's start for good: n2 restarted with its
        ``peer`` port changed in the file (the others running) was dialed at its old
        port for ever, each dial refused and nothing logged: 10 of 10 puts at
        ``w=3`` through n1 or n2 answered 504 and reads at ``r=3`` 503, 40 s on; a
        changed ``http`` port was advertised in ``/status`` as the old one."""
        for name, addresses in self._config_nodes.items():
            old = before.get(name)
            if (name == self.name or name not in self.peers or old is None
                    or (old.peer, old.http) == (addresses.peer, addresses.http)
                    or 0 in (addresses.peer.port, addresses.http.port)):
                continue
            log.warning("%s: %s now has peer %s, HTTP %s in %s (before: peer %s, HTTP "
                        "%s)", self.name, name, addresses.peer, addresses.http,
                        self.config_path, self.peers[name], self.http_addresses.get(name))
            self.peers[name] = addresses.peer
            self.http_addresses[name] = addresses.http

    def _deliver(self, src: str, frame: bytes) -> None:
        """Hand one authenticated frame to the core. A frame that does not decode into
        a valid message is the peer's fault (a dropped frame, ``dropped_frames``); an
        exception out of the core while it handles a valid message is ours: an
        internal error (:func:`impl.internal_errors.report_internal_error`: the
        node's ``internal-error`` count, ``vdynamo_internal_errors_total``, ERROR
        with the traceback on ``vdynamo.internal``), never a dropped frame."""
        try:
            message = wire.decode(frame, max_bytes=self.frame_limit)
        except errors.BadMessageError as error:
            self._drop(f"dropped a frame from {src}: {error}")
            return
        self.metrics.peer_message(message)
        if isinstance(message, Forward):
            overload = self.overloaded(len(message.request.value) if isinstance(
                message.request, PutRequest) else 0, isinstance(message.request, PutRequest))
            if overload is not None:  # refused before the coordinator writes anything
                kind = "put" if isinstance(message.request, PutRequest) else "get"
                # the wire code (errors.code_of), which the forwarder reads back as an
                # OverloadedError (a 503): the class name, no code, was read as a
                # RemoteError, 504 outcome unknown (session 23's second review)
                self._send(src, ForwardReply(message.op_id, kind,
                                             error=errors.code_of(overload).value,
                                             message=str(overload)))
                return
        try:
            effects = self.node.receive(self.input_now(), src, message)
        except Exception as error:  # a bug in the core: ours; the connection goes on
            report_internal_error(self.name, self.now(), self.node.stats, self.node.log,
                                  src, message, error)
            return
        self._perform(effects, relayed=isinstance(message, ForwardReply))

    # ------------------------------------------------------------------ load

    def unreplicable(self, request: PutRequest,
                     size: int | None = None) -> errors.TooLargeError | None:
        """The 413 of a put that fewer than W of its key's homes (the top N of the
        preference list, as this node sees the ring) could store, because their
        announced ``max_value_bytes`` or ``max_key_bytes`` (the peer hello,
        ``peer_limits_differ``) are below the value's (its body's: ``size``, else
        that of ``request.value``) or the key's bytes; None: at
        least W could (a home not heard from yet counts as able, and this node too:
        its own checks passed the put; a delete writes no value and is never refused
        here). While ranges move, each quorum group needs W
        (:meth:`impl.sloppy_quorum.SloppyQuorum.groups`, writing). Fallbacks are
        not judged (sloppy quorum: a home believed down is counted as able).

        Source: session 30's user probe. During a rolling raise of
        ``max_value_bytes`` a node already raised stored a value its peers would
        refuse, held the record back from them ("Nodes with different limits") and
        answered the put 504 after ``request_timeout`` (outcome unknown) with
        ``w = 2``: the client retried a put that could never reach W, and each
        retry left one more copy only its coordinator holds. Case 22's rule (a
        put that would make an unreplicable record is refused with 413) applied to
        nodes whose limits differ; Riak refuses an object over the vnode's
        ``max_object_size`` likewise, at each vnode."""
        if request.delete or not self.peer_limits_differ:
            return None
        needed = request.w if request.w is not None else self.config.w
        homes = self.node.preference_list(request.key)[:self.config.n]
        # while ranges move, W acks in each quorum group (the current and the future
        # top N: SloppyQuorum.groups); until session 30's review the current top N
        # alone was judged, and a joiner with smaller limits left a put at W = N to
        # time out
        groups = self.node.quorum.groups(request.key, writing=True) or (homes,)
        # what each home's max_value_bytes limits: the body, not the stored value
        # with its content type (check_request; until session 30's review a 1 MiB
        # text/plain body every home stores was refused here)
        size = body_bytes(request.value) if size is None else size
        refusing: dict[str, str] = {}
        #: the limits each refusing home refuses it by: named first in the message,
        #: so that the 413's ``limit`` is the one passed (impl.http_api.error_body;
        #: session 53's review: "max_value_bytes" for a key too long)
        passed: dict[str, list[str]] = {}
        for home in dict.fromkeys(homes + tuple(node for group in groups for node in group)):
            if home == self.name:  # its own checks let the put through (a key stored
                continue  # before max_key_bytes was lowered too: _stored_key); until
                # session 30's review it was judged by its own limits and such a
                # replacement was refused at W = 1 once any peer's limits differed
            differ = self.peer_limits_differ.get(home, {})
            # a limit not named in ``differ`` is the same as this node's
            value_limit = differ.get("max_value_bytes", (0, self.config.max_value_bytes))[1]
            key_limit = differ.get("max_key_bytes", (0, self.config.max_key_bytes))[1]
            passed[home] = [name for name, over in (
                ("max_value_bytes", size > value_limit),
                ("max_key_bytes", len(request.key) > key_limit)) if over]
            if passed[home]:
                refusing[home] = (f"{home} (max_value_bytes {value_limit}, max_key_bytes "
                                  f"{key_limit})")
        short = [group for group in groups
                 if len(group) - len(refusing.keys() & set(group)) < needed]
        if not short:
            return None
        short_homes = [home for home in refusing if any(home in group for group in short)]
        named = [refusing[home] for home in short_homes]
        limits = dict.fromkeys(name for home in short_homes for name in passed[home])
        return errors.TooLargeError(
            f"{' and '.join(limits)}: this put needs W={needed} of the key's "
            f"{len(short[0])} replicas"
            f"{' (in each quorum group: the membership is changing)' if len(groups) > 1 else ''}"
            f", and {len(named)} of them run smaller [cluster] limits than this node "
            f"(max_value_bytes {self.config.max_value_bytes}, max_key_bytes "
            f"{self.config.max_key_bytes}) and would refuse its {size}-byte "
            f"value or {len(request.key)}-byte key: {', '.join(named)}; nothing was "
            "written (write a smaller value, or raise the limit on every node first)")

    def _get_bytes(self) -> int:
        """The bytes of :attr:`impl.node.Node.pending_bytes` that the gets this node
        coordinates hold (the largest record each gathered, until it answers): the
        small writes' lane of :class:`impl.admission.ByteAdmission` sets them aside
        (session 52)."""
        return sum(coordination.record_bytes
                   for coordination in self.node.gets.coordinations.values()
                   if not coordination.replied)

    def _small_write_bytes(self) -> int:
        """The bytes of :attr:`impl.node.Node.pending_bytes` that small writes hold:
        the records of the puts this node coordinates, unanswered, of at most
        :attr:`impl.admission.ByteAdmission.small` bytes of value and one sibling's
        metadata (:func:`impl.config.sibling_bytes`), and the values of at most
        ``small`` bytes of the puts it forwarded: the small writes' budget of
        :class:`impl.admission.ByteAdmission` (session 54). A small put whose record
        holds siblings is larger and counts with the large ones."""
        small = self.admission.small
        most = small + self._sibling_bytes
        held = sum(size for size in map(len, (
            coordination.record for coordination in self.node.puts.coordinations.values()
            if not coordination.replied)) if size <= most)
        return held + sum(size for size in map(len, (
            forwarding.request.value for forwarding in self.node.forwarder.forwardings.values()
            if isinstance(forwarding.request, PutRequest))) if size <= small)

    def overloaded(self, put_bytes: int | None = None,
                   write: bool = False) -> errors.OverloadedError | None:
        """An OverloadedError if this node has ``max_pending_requests`` requests in
        flight (the client requests it waits on, the operations its core runs that
        have not answered: :attr:`impl.node.Node.pending`; since session 33 not an
        answered get or put waiting for late replies, :mod:`impl.lingering`), or,
        for a put of ``put_bytes`` (its value's bytes; 0: a get, whose bytes are not
        known before its record is read; None: no request of a key), if the bytes of
        the requests in flight (:attr:`impl.node.Node.pending_bytes`) and
        ``put_bytes`` would be over ``max_pending_bytes`` (a node with nothing in
        flight admits any); None if it can take one more. ``write``: a put or
        delete, which at most ``max_pending_bytes // max_pending_requests`` bytes
        passes the gets' records (session 52, :meth:`_get_bytes`).

        Bytes, not only requests (session 23): before, 16 clients putting 1 MiB
        values at ``w=2`` to three nodes were all admitted, the replicas' work
        outgrew every put's ``request_timeout`` and 127 of 128 answered 504
        (outcome unknown), the process peaking at 983 MB. Gets too (session 24): a
        get is admitted while the bytes in flight are within the limit, and its
        record counts from its coordinator's own read on (16 clients reading keys
        of three 1 MiB siblings at ``r=2``: 112 of 128 got 503 after the quorum
        timeout, 1.1 GB, before), even while puts wait their turn if the bytes in
        flight leave the first room (session 27: a get queued behind 199 half-sent
        puts that did not fit was refused 503 although the bytes left room for it;
        :class:`impl.admission.ByteAdmission`).
        Cassandra bounds a
        node's in-flight request bytes the same way
        (``native_transport_max_request_data_in_flight``, formerly
        ``native_transport_max_concurrent_requests_in_bytes``: a tenth of the heap
        by default; over it, backpressure, or OverloadedException to a client that
        asked for it); Riak counts its put and get FSMs (``fsm_limit``, sidejob) and
        etcd its entries (``maxGapBetweenApplyAndCommitIndex``, "too many
        requests"), and neither counts bytes, but etcd bounds each request's
        (``--max-request-bytes``, 1.5 MiB)."""
        limit = self.config.max_pending_requests
        pending = max(len(self._waiting), self.node.pending)
        if pending >= limit:
            self.overloaded_requests += 1
            return errors.OverloadedError(
                f"node {self.name} is saturated ({pending} requests in flight, limit "
                f"{limit}); nothing was written: retry after {self.config.retry_after_s} s")
        if put_bytes is None:
            return None
        if self.admission.admits_now(put_bytes, write):
            return None
        return self._over_bytes(put_bytes)

    async def admit(self, request_bytes: int,
                    write: bool = False) -> errors.DynamoError | None:
        """:meth:`overloaded` for a client's request of a key (``request_bytes``: a
        put's value bytes, 0 for a get) that may wait for its turn: at the bytes'
        limit it waits in the FIFO queue of :class:`impl.admission.ByteAdmission`
        (at most ``retry_after_s``) rather than being refused at once, and is
        refused only if its turn did not come by then (session 24: refused at once,
        a 1 MiB put was passed over again and again by small ones), or with a
        NodeDownError if the node stops while it waits. A get (0) passes the puts
        waiting while it fits and the bytes in flight leave the head room
        (session 27; :meth:`impl.admission.ByteAdmission._get_passes`; Cassandra's
        ``native_transport_max_request_data_in_flight`` counts request bytes, and a
        read's request is small)."""
        refusal = self.overloaded()
        if refusal is not None:
            return refusal
        if not await self.admission.admit(request_bytes, write):
            return self.unavailable() or self._over_bytes(request_bytes)
        # held to max_pending_requests again after a wait: counted only before it
        # (session 24's review), two gets queued behind a put were both admitted
        # after it, 3 requests in flight of a limit of 2
        return self.overloaded()

    def _over_bytes(self, request_bytes: int) -> errors.OverloadedError:
        """The refusal of a request of ``request_bytes`` (0: a get) for the bytes in
        flight, naming why: it would pass ``max_pending_bytes``, they are over it
        already (a get), or others wait their turn before it."""
        self.overloaded_requests += 1
        held = self.node.pending_bytes
        most = self.config.max_pending_bytes
        held_all = held + self.admission.reserved
        if request_bytes and held_all + request_bytes > most:
            why = f"this put's {request_bytes} would pass max_pending_bytes ({most})"
        elif held_all > most:
            why = f"they are over max_pending_bytes ({most})"
        else:
            why = (f"{len(self.admission.queue)} other request(s) wait their turn "
                   f"(max_pending_bytes ({most}), first come first served)")
        reserved = self.admission.reserved
        if reserved:  # before session 25's user probe: unnamed ("0 bytes in flight")
            held_text = (f"{held} bytes of requests in flight and {reserved} bytes "
                         "reserved by puts whose value is still arriving")
        else:
            held_text = f"{held} bytes of requests in flight"
        return errors.OverloadedError(
            f"node {self.name} is saturated: {held_text}, and {why}; nothing was "
            f"written: retry after {self.config.retry_after_s} s")

    def unavailable(self) -> errors.NodeDownError | None:
        """A NodeDownError if this node cannot take a client request: it is stopping,
        or not in the ring yet (a joining node that has not heard from a seed: it
        could only time out), or refused by a peer for other shared settings and
        accepted by none (:meth:`misconfigured`); else None."""
        if self.stopping:
            return errors.NodeDownError(f"node {self.name} is shutting down; nothing was "
                                        "written: ask another node")
        if (why := self.misconfigured()) is not None:
            return errors.NodeDownError(
                f"node {self.name} runs other [cluster] settings than its peers ({why:.300}); "
                "it serves nothing until its file is fixed and it is restarted; nothing "
                "was written: ask another node")
        if (why := self.unreached()) is not None:
            return errors.NodeDownError(f"node {self.name}: {why}; nothing was written: ask "
                                        "another node")
        if self.node.status is not None:
            return None
        return errors.NodeDownError(
            f"node {self.name} has not joined the ring yet (no seed answered its gossip); "
            f"nothing was written: ask another node")

    def misconfigured(self) -> str | None:
        """Why this node cannot be one of its cluster's (the refusal of a peer's hello
        for other shared ``[cluster]`` settings, :data:`SHARED_SETTINGS`) when some peer
        refused it so and none accepted its last hello; else None. Session 32's
        operator probe: n1 of three started on a new data file with ``n = 2`` (its
        peers 3) said ``ready``, and its R = 1 gets of 20 keys written at W = 3
        answered 404 for 10 of them (its own empty store, its peers refusing it; its
        puts 504). With one peer of several misconfigured, the others are accepted by
        the rest and serve.

        A node whose settings are on record (:attr:`settings_on_record`: its data file
        ran with them, or a peer accepted them) is misconfigured only when the peers
        refusing it are more than half of the ring's members (this node counted):
        session 32's review, three nodes, n2 down, n1 restarted on its own store
        (ready, its R = 1 reads 200) and n3 started on a new data file with ``n = 2``:
        n1, refused by n3 and accepted by none, answered every request 503 until n3
        was fixed (the whole cluster down for one misconfigured node); and two nodes
        changing ``n`` node by node with ``--adopt-store`` were both unready between
        the two restarts."""
        verdicts = self.settings_refused.values()
        if None in verdicts:
            return None
        refused = [why for why in verdicts if why is not None]
        if not refused:
            return None
        if self.settings_on_record and 2 * len(refused) <= len(self.node.view.live_nodes):
            return None
        return refused[0]

    def not_ready(self) -> str | None:
        """Why this node is not ready, in a phrase (``why_not_ready`` of ``/health``),
        or None when it is: shutting down; not an ``up`` member of the ring; in its
        startup shadow round (a load balancer sends nothing to a node that holds
        its inputs: :meth:`impl.node.Node.start`); rebuilding a replaced disk (as a
        joining node is not ready: :mod:`impl.rebuild`); its writes failing (a full
        disk, until a write succeeds: :meth:`_writes_failed`); refused by its peers for
        other shared settings (:meth:`misconfigured`); or no majority of the members
        exchanging messages with it (:meth:`unreached`: a peer address wrong, or a
        secret that differs). Until session 49 ``/health`` said ``ready`` alone, and
        an operator looked for the cause in ``/status`` and the log."""
        status = self.node.status
        if self.stopping:
            return "shutting down"
        if status is not MemberStatus.UP:
            return (f"member_status {status.value if status is not None else 'not-joined'}"
                    " (not up)")
        if self.node.shadow is not None:
            return "in its startup shadow round (shadow_round in /status)"
        if self.node.rebuilding:
            return "rebuilding a replaced disk (rebuild in /status)"
        if self.disk_failing is not None:  # (session 50: a full disk)
            return (f"its writes fail ({self.disk_failing:.300}); it serves reads, "
                    "and is ready again once a write succeeds")
        if (why := self.misconfigured()) is not None:
            return f"runs other [cluster] settings than its peers ({why:.300})"
        return self.unreached()

    def health(self) -> dict[str, object]:
        """The body of ``GET /health``: ``live`` (the loop answers), ``ready`` (a
        member of the ring, up, not shutting down, past its startup shadow round,
        not rebuilding, and able to exchange messages with a majority of the
        members), ``why_not_ready`` (:meth:`not_ready`; null when ready),
        ``member_status``."""
        status = self.node.status
        why = self.not_ready()
        return {"node": self.name, "live": True, "ready": why is None, "why_not_ready": why,
                "member_status": status.value if status is not None else "not-joined",
                "stopping": self.stopping}

    def status(self) -> dict[str, object]:
        """The body of ``GET /status`` (docs/runtime.md describes every field)."""
        partitioning = self.node.partitioning
        ring = partitioning.ring
        storage = self.storage
        hints = (storage.hints_pending() if isinstance(storage, ObservedStorage)
                 else dict(collections.Counter(h.intended for h in storage.hints())))
        shadow = self.node.shadow  # the startup shadow round (impl.node.Node.start)
        return {"node": self.name, **self.health(), "pending": self.node.pending,
                "lingering": len(self.node.lingering),
                "pending_bytes": self.node.pending_bytes,
                "admission": {"waiting": len(self.admission.queue),
                              "waited": self.admission.waited,
                              "expired": self.admission.expired,
                              # small writes its lane let pass the gets' records
                              # (session 52, impl.admission._small_passes)
                              "small_passed": self.admission.small_passed,
                              # writes answered 504 that shut the lane (session 53)
                              "lane_shut": self.admission.lane_shut,
                              # seconds until it opens again, 0 when open (its
                              # review: the count alone did not say whether it is)
                              "lane_shut_s": self.admission.lane_shut_s()},
                "config": {"n": self.config.n, "r": self.config.r, "w": self.config.w,
                           # the primary quorums' defaults (session 39's review: a
                           # user could not see them; ?pr=/?pw= override them)
                           "pr": self.config.pr, "pw": self.config.pw,
                           "clock": self.config.clock},
                "limits": self.limits(),
                "ring": {"strategy": partitioning.strategy.value,
                         "tokens_per_node": partitioning.tokens_per_node,
                         "partitions": partitioning.partitions,
                         "tokens": {node: [str(t) for t in ring.tokens_of(node)]
                                    for node in ring.nodes}},
                "membership": {m.node: {"status": m.status.value, "version": m.version}
                               for m in self.node.view},
                "departures_waiting": self.node.gossiper.departures_waiting(),
                "handover_waiting": self.node.handover_waiting(self.now()),
                "http": {name: str(address) for name, address in
                         sorted(self.http_addresses.items())},
                "hints_pending": hints, "keys": len(storage),
                "stats": dict(self.node.stats), "dropped_frames": self.dropped_frames,
                "refused_peers": self.refused_peers,
                "secret_differs": dict(sorted(self.secret_differs.items())),
                "secret_changed": self.secret_changed,
                "reached_by": sorted(self._reached_by),
                "not_reached_by": self.unreached_by(), "cannot_dial": dict(self.cannot_dial),
                "peer_limits_differ": {
                    peer: {name: {"here": here, "there": there}
                           for name, (here, there) in sorted(differ.items())}
                    for peer, differ in sorted(self.peer_limits_differ.items())},
                "withheld_records": self.withheld_records,
                "group_commit": None if self.committer is None else {
                    "commits": self.committer.commits, "writes": self.committer.writes,
                    "reordered": self.committer.reordered},
                "overloaded_requests": self.overloaded_requests,
                "rebuild": None if not self.node.rebuilding else {
                    "pending": len(self.node.rebuild.pending),
                    "done": len(self.node.rebuild.done),
                    "waiting_for": sorted({peer for _, peer in self.node.rebuild.pending})},
                # rebuilt, its own reads and acks not counted yet (session 57)
                "rebuild_grace": self.rebuild_grace(),
                # (session 59: a fresh store not every live peer has named yet answers
                # no replica read of a key it holds no copy of: impl.node.Node.unconfirmed)
                "fresh_unconfirmed": self.node.unconfirmed,
                # the live peers it waits for to name its start (session 60)
                "fresh_unconfirmed_waiting": list(self.node.unnamed_by),
                "shadow_round": None if shadow is None else {
                    "waiting": sorted(shadow.waiting), "deferred": len(shadow.deferred),
                    "over": shadow.over},
                "connections": {
                    "http": len(self.http.slots), "http_evicted": self.http.slots.evicted,
                    "http_refused": self.http.slots.refused,
                    "http_timeouts": self.http.timeouts, "http_malformed": self.http.malformed,
                    "peer": len(self._peer_slots), "peer_evicted": self._peer_slots.evicted,
                    "peer_refused": self._peer_slots.refused}}

    def rebuild_grace(self) -> dict[str, float] | None:
        """``rebuild_grace`` of ``/status``: null, or once this node's rebuild ended
        while its own reads (a get it coordinates) and its acknowledgements still do
        not count towards R and W (:meth:`impl.node.Node.rebuild_grace`: a peer may
        still suspect it for a read it left unanswered while rebuilding):
        ``counted_in_s``, the seconds until they count again (rounded up to 0.1 s),
        and ``grace_s``, the longest such window (``request_timeout +
        max_retry_after``, 9 s by default). A field of its own, not a state of
        ``rebuild``: ``rebuild`` null is what waits for a rebuilt node look for
        (``vdynamo cluster``, the tests' and probes' waits), and the node is ready
        meanwhile (session 57: red team 6's get at R = 1 through n3 alone answered
        503, its own read not counted, with ``rebuild`` null and nothing saying why)."""
        left = self.node.rebuild_grace(self.now())
        if left is None:
            return None
        return {"counted_in_s": math.ceil(left * 10) / 10,
                "grace_s": self.config.request_timeout + self.node.detector.max_retry_after}

    def limits(self) -> dict[str, int]:
        """``limits`` of ``/status``: the record limits a client meets (bytes, but
        ``max_siblings``), ``max_frame_bytes`` as this node takes frames
        (:attr:`frame_limit`), and ``max_answer_bytes``, the largest get answer this
        node may give (:func:`impl.config.answer_bytes` of the frame the largest
        record it may answer needs: the merge of the puts of every node it knows of,
        :func:`impl.config.merged_record_bytes`, or a record its store keeps from
        earlier limits), which a client reads answers up to (session 37: before, a
        client read at most its fixed ``MAX_ANSWER_BYTES``, too little for such a
        merge of 18 nodes of the default limits)."""
        config = self.config
        members = len(self.node.gossiper.known_nodes)
        largest = max(self.frame_limit, replicable_frame_bytes(
            config, merged_record_bytes(config, members)))
        return {"max_value_bytes": config.max_value_bytes,
                "max_key_bytes": config.max_key_bytes,
                "max_siblings": config.max_siblings,
                "max_record_bytes": config.max_record_bytes,
                "max_frame_bytes": self.frame_limit,
                "max_answer_bytes": answer_bytes(largest)}

    # ------------------------------------------------------------------ clients

    async def request(self, request: GetRequest | PutRequest) -> Reply:
        """Hand a client request to the core and wait for its reply."""
        future: asyncio.Future[Reply] = self.loop.create_future()
        self._waiting[request.request_id] = future
        self._request_keys[request.request_id] = request.key
        wait = self.client_wait()  # before the input: it may end the round
        self._perform(self.node.client_request(self.input_now(), request))
        # a timer on the future, not asyncio.wait_for (a waiter and callbacks more)
        timer = self.loop.call_later(wait, _expire, future, request.request_id, wait)
        try:
            return await future
        finally:
            timer.cancel()
            self._waiting.pop(request.request_id, None)
            self._request_keys.pop(request.request_id, None)

    def client_wait(self) -> float:
        """Seconds a client request arriving now waits for its reply before it is
        answered with RequestTimeoutError: four request timeouts (or, if more, one
        more than :func:`impl.config.most_patience`: a coordination of a record
        merged from several sides' puts waits that many, session 17), and while the
        node is in its startup shadow round (:meth:`impl.node.Node.start`) the
        round's ``shadow_round_s`` more, the longest the round holds a request
        before replaying it. Without it (session 16's review) a round longer than
        four request timeouts (``shadow_round_s = 5`` with the default 1 s, or
        ``request_timeout = 0.5`` with the default 2 s) answered every held request
        504 while the node replayed, and wrote, it afterwards."""
        # a coordination of a record merged from several sides' puts waits up to
        # most_patience request timeouts (impl.config.record_patience; session 17)
        wait = self.config.request_timeout * max(4.0, most_patience(self.config) + 1)
        if self.node.shadow is not None:
            wait += self.config.shadow_round_s
        return wait

    def next_request_id(self) -> int:
        return next(self._request_ids)

    async def force_remove(self, node: str) -> None:
        """An operator on this node force-removes ``node``, a member down for good
        (:meth:`impl.node.Node.force_remove`; ``POST /admin/force-remove``, ``vdynamo
        remove``), and returns once the removal is durable (its view written: a
        :class:`Reply` after its writes, held as a client's is). Raises its
        :class:`~impl.errors.InvalidValueError` naming why it is refused (nothing
        changed), or the :class:`~impl.errors.StorageError` of a failed commit, or
        RequestTimeoutError after :meth:`client_wait` (written or not: ask again).

        Session 32's operator probe: the answer came before the group commit that
        held the removal's view, and a node SIGKILLed just after ``vdynamo remove``
        exited 0 came back with the member ``up``: the removal lost without a word
        (its gossip, held until the commit, never left), 4 nodes ``up`` 70 s on."""
        future: asyncio.Future[Reply] = self.loop.create_future()
        request_id = self.next_request_id()
        self._waiting[request_id] = future
        try:
            self._perform([*self.node.force_remove(self.now(), node), Reply(request_id)])
            log.warning("%s: force-removed %s (its ranges go to new owners from the "
                        "surviving replicas)", self.name, node)
            wait = self.client_wait()
            timer = self.loop.call_later(wait, _expire, future, request_id, wait)
            try:
                reply = await future
            finally:
                timer.cancel()
        finally:
            self._waiting.pop(request_id, None)
        if reply.error is not None:
            raise reply.error

    def leave(self) -> None:
        """Start leaving the ring: the core hands this node's key ranges over
        (:meth:`impl.node.Node.leave`); ``node.has_left`` once done. Refused, with a
        warning, when no other member of this node's view is joining or up: there is
        no node to hand the ranges to. Before session 16's probe the last member of
        a cluster announced ``leaving`` anyway and stayed so for good (the request
        is persisted): never left, and ``/health/ready`` false from then on."""
        others = [member.node for member in self.node.view if member.node != self.name
                  and member.status in (MemberStatus.JOINING, MemberStatus.UP)]
        if not others:
            log.warning("%s: not leaving the ring: no other member is up or joining in "
                        "its view, so nothing could take its key ranges (stop it instead)",
                        self.name)
            return
        self._perform(self.node.leave(self.now()))


class _PeerFrames:
    """What a peer connection's reader was handling when it failed (a log names it:
    "out of memory handling _PeerFrames from n3")."""


def _effect_name(effect: Effect) -> str:
    """An effect as a log names it: ``Send(ReplicaPut to n2)``, ``SetTimer(GossipRound)``."""
    if isinstance(effect, Send):
        return f"Send({type(effect.message).__name__} to {effect.dest})"
    if isinstance(effect, SetTimer | CancelTimer):
        return f"{type(effect).__name__}({type(effect.timer).__name__})"
    return type(effect).__name__


def _host_port(address: object) -> str:
    """``host:port`` of a peer's address (a socket's peername, an :class:`Address`),
    ``[host]:port`` for IPv6, as the cluster file writes it; anything else as str.
    The acceptor's refusals logged the peername tuple, ``('127.0.0.1', 51234)``,
    the dialer's ``127.0.0.1:51234`` (until session 19's peer-port probe)."""
    if isinstance(address, tuple) and len(address) >= 2:
        host, port = str(address[0]), address[1]
        return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    return str(address)


def _expire(future: asyncio.Future[Reply], request_id: int, seconds: float) -> None:
    """A client request's time is up: its answer is a RequestTimeoutError."""
    if not future.done():
        future.set_result(Reply(request_id, error=errors.RequestTimeoutError(
            f"no answer from the cluster within {seconds:.1f} s")))


async def _close_when_peer_closes(reader: asyncio.StreamReader,
                                  writer: asyncio.StreamWriter) -> None:
    """Close a connection this node dialed once the peer closes its end (an acceptor
    sends nothing after the hello: any bytes are read and dropped). The writer then
    dials again with its next frame in hand (:meth:`NodeServer._write_frames`).

    Before session 21 nothing read a dialed connection after its hello, and a
    peer's end closing (its process killed, or stopped) left this end open for
    writing (asyncio keeps a transport half-open after EOF), so the next frame was
    written into a connection whose other end was gone, accepted by the kernel
    and lost (the peer's host answers it with a reset; only the frame after it
    failed). A node's disk replaced and the node started again at once: both
    peers' answers to its start's announce went that way, and its shadow round
    waited for their next gossip rounds or timed out (``shadow_round_s``): 3 of 6
    starts (tests/runtime/test_shadow_round_quick_restart.py, 0 of 6 now;
    tests/runtime/test_peer_redial.py)."""
    with contextlib.suppress(OSError, ConnectionError):
        while await reader.read(_PEER_READ_BYTES):
            pass
    writer.close()


def _keys_of(message: object) -> tuple[bytes, ...]:
    """The keys a peer message is about (:data:`_ABOUT_A_KEY`, a KeyRecords' keys, a
    forwarded request's key); none for the others."""
    if isinstance(message, _ABOUT_A_KEY):
        return (message.key,)
    if isinstance(message, KeyRecords):
        return message.keys
    if isinstance(message, Forward):
        return (message.request.key,)
    return ()


def _bound_socket_buffer(writer: asyncio.StreamWriter, option: int) -> None:
    """Bound a peer connection's kernel buffer ``option`` (``SO_SNDBUF``,
    ``SO_RCVBUF``) to :data:`PEER_SOCKET_BYTES` (session 54); a socket that
    refuses keeps its own."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, option, PEER_SOCKET_BYTES)


def _keep_alive(writer: asyncio.StreamWriter) -> None:
    """Turn TCP keepalive on for a peer connection (:data:`PEER_KEEPALIVE`: idle
    seconds, interval, probes; the three TCP_KEEP* options where the platform has
    them, SO_KEEPALIVE alone elsewhere) and bound its unacknowledged data by the
    same 25 s (TCP_USER_TIMEOUT, milliseconds, where the platform has it: Linux;
    session 58). A socket that refuses an option keeps the platform's default for
    it."""
    sock = writer.get_extra_info("socket")
    if sock is None or sock.family not in (socket.AF_INET, socket.AF_INET6):
        return
    idle, interval, probes = PEER_KEEPALIVE
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        for name, value in (("TCP_KEEPIDLE", idle), ("TCP_KEEPINTVL", interval),
                            ("TCP_KEEPCNT", probes),
                            ("TCP_USER_TIMEOUT", (idle + interval * probes) * 1000)):
            option = getattr(socket, name, None)
            if option is not None:
                sock.setsockopt(socket.IPPROTO_TCP, option, value)
