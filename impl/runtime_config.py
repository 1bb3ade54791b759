"""The configuration of a real cluster: the cluster file, node addresses, the secret.

The file ``vdynamo serve CLUSTER.toml`` runs (:mod:`impl.serve` and :mod:`impl.runtime`) and
``vdynamo cluster up`` writes::

    [cluster]            # any impl.config.ClusterConfig field
    nodes = ["n1", "n2", "n3"]
    n = 3
    r = 2
    w = 2
    secret = "..."       # 16 bytes or more, e.g. `openssl rand -hex 24`
    name = "shop-eu"     # optional (default "vdynamo"): the cluster's identity in
                         # every peer hello (impl.peer_auth)

    [storage]            # optional: how every node's SQLite file is written
    fsync = "always"     # default: every acknowledged write fsynced (durable);
                         # "buffered": commits every [cluster] flush_interval s
                         # or `batch` changes, no fsync per commit, so a crash
                         # loses the last changes (not durable)
    batch = 1000         # buffered only: changes per commit

    [nodes.n1]
    peer = "127.0.0.1:7001"   # TCP between nodes (a bare port: 127.0.0.1)
    http = "127.0.0.1:8001"   # HTTP for clients
    data = "data/n1.sqlite"   # optional; default: <name>.sqlite beside the file
    left = true               # optional: the node left or was removed (written by
                              # `vdynamo leave`/`remove`, cleared by a rejoin): it
                              # does not count against max_peer_connections

Every port binds to 127.0.0.1 unless the file names another host (an address
may be only a port). ``vdynamo serve`` refuses a missing, example or short
secret unless ``--insecure-dev`` is given (:func:`check_secret`).

Re-exported by :mod:`impl.runtime`, where these names lived first.
"""

from __future__ import annotations

import difflib
import hashlib
import ipaddress
import math
import os
import tomllib
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from impl import errors
from impl.config import ClusterConfig, check_peer_cap
from impl.context import TAG_BYTES
from impl.storage._common import FSYNC_POLICIES
from impl.storage.base import FsyncPolicy

__all__ = [
    "CLUSTER_FILE_BYTES",
    "DEFAULT_HOST",
    "EXAMPLE_SECRETS",
    "FILE_BOUNDS",
    "Address",
    "Bound",
    "NodeAddresses",
    "RuntimeConfig",
    "StorageSettings",
    "check_distinct_data",
    "check_file_bounds",
    "check_fixed_ports",
    "check_secret",
    "exposed_secret",
    "load_runtime_config",
]

#: Secrets that are public (the default, the documentation's examples: docs/runtime.md's
#: cluster file, and the one before it): refused by ``vdynamo serve`` unless
#: ``--insecure-dev``. The cluster file of docs/runtime.md, "A cluster file", copied as
#: it stands was served until session 48 (its secret was not listed here).
EXAMPLE_SECRETS = (b"vdynamo-default-secret-change-me", b"change me, at least 16 bytes",
                   b"3f1c...your own, 16 bytes or more")
#: The host a port binds to when the file gives only a port.
DEFAULT_HOST = "127.0.0.1"
@dataclass(frozen=True, slots=True)
class Address:
    host: str
    port: int

    @classmethod
    def parse(cls, text: object, what: str) -> Address:
        """``host:port``, or a bare port (int or digits) on 127.0.0.1. The port is
        ASCII digits: ``str.isdigit`` also takes ``²`` and other digits ``int`` refuses
        (a ValueError traceback of ``vdynamo serve`` before session 13's probe B)."""
        if isinstance(text, int) and not isinstance(text, bool):
            text = str(text)
        if isinstance(text, str) and text.isascii() and text.isdigit():
            text = f"{DEFAULT_HOST}:{text}"
        if not isinstance(text, str) or ":" not in text:
            raise errors.ConfigError(f"{what}: must be 'host:port', got {text!r}")
        host, _, port = text.rpartition(":")
        if host.startswith("[") and host.endswith("]"):  # an IPv6 literal, "[::1]:7001":
            host = host[1:-1]  # (before session 13's probe B: "Name or service not known")
        if (not host or not port.isascii() or not port.isdigit() or len(port) > 5
                or not 0 <= int(port) < 65536):
            raise errors.ConfigError(f"{what}: must be 'host:port', got {text!r}")
        return cls(host, int(port))

    def __str__(self) -> str:
        """``host:port``, an IPv6 host in brackets (``[::1]:7001``, as URLs need)."""
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


@dataclass(frozen=True, slots=True)
class NodeAddresses:
    """A ``[nodes.NAME]`` section: the node's peer and HTTP addresses, its data
    file, and ``left``: ``left = true``, written by ``vdynamo leave`` and ``vdynamo
    remove`` and cleared by a rejoin (``vdynamo join``), says the node left or was
    removed, so it does not count against ``max_peer_connections``
    (:func:`impl.config.check_peer_cap`; docs/runtime.md, "A node that left and
    the peer cap (session 47)"); its section stays for a rejoin."""

    peer: Address
    http: Address
    data: Path | None = None
    left: bool = False


@dataclass(frozen=True, slots=True)
class StorageSettings:
    """The ``[storage]`` section: the SQLite engine's fsync policy for every node
    served from the file (``impl.storage.sqlite.SqliteStorage``'s ``fsync`` and
    ``batch``; docs/storage.md). ``"always"`` (the default) is durable: a write is
    fsynced, by the runtime's group commit, before anything that depends on it is
    sent. ``"buffered"`` commits every ``batch`` changes without an fsync per
    commit, and at least every ``[cluster] flush_interval`` seconds (the node's
    Flush timer; as Cassandra's periodic commitlog_sync): a crash loses the changes
    since the last commit (and the node starts
    its next lifetime under a fresh actor, so what it forgot is never re-issued;
    docs/impl.md, "Actor epochs")."""

    fsync: FsyncPolicy = "always"
    batch: int = 1000

    def __post_init__(self) -> None:
        if self.fsync not in FSYNC_POLICIES:
            raise errors.ConfigError(f"[storage] fsync: must be one of "
                                     f"{', '.join(map(repr, FSYNC_POLICIES))}, got {self.fsync!r}")
        if isinstance(self.batch, bool) or not isinstance(self.batch, int) or self.batch < 1:
            raise errors.ConfigError(f"[storage] batch: must be an integer >= 1, "
                                     f"got {self.batch!r}")


#: the most base64 bytes an X-Vdynamo-Context header may need: Python's
#: http.client refuses a header line over 65,536 bytes (``_MAXLINE``), httpx's
#: h11 a response head over 100 KiB; 60 KiB leaves room for the name and CRLF
MAX_CONTEXT_HEADER_BYTES = 60 * 1024
#: the longest clock id a context carries over HTTP: X-Vdynamo-Client is at most
#: 255 ASCII characters (impl.http_api), actor ids are shorter
HTTP_ID_BYTES = 255
#: the longest client-vclock entry (``spec.vclock.client_entry``): an actor of 255
#: bytes with a key epoch and a fresh number (``.<20 digits>``, ``/<20 digits>``),
#: a space and a client part of 255 bytes (session 23's review: with 255 the
#: start-time check let through 173 pairs, whose contexts took up to 129,892
#: bytes of base64)
CLIENT_ENTRY_BYTES = HTTP_ID_BYTES + 2 * 21 + 1 + HTTP_ID_BYTES


def http_context_bytes(pairs: int, id_bytes: int = HTTP_ID_BYTES) -> int:
    """The base64 length of the largest context of ``pairs`` pairs a client of the
    HTTP API can be given (ids of ``id_bytes``, :data:`HTTP_ID_BYTES` or, in
    client-vclock, :data:`CLIENT_ENTRY_BYTES`): the layout of
    :func:`impl.context.context_bytes_bound` (version, mode, count, then per pair
    a 2-byte length, the id and an 8-byte counter, then the tag)."""
    raw = 4 + pairs * (2 + id_bytes + 8) + TAG_BYTES
    return 4 * -(-raw // 3)


@dataclass(frozen=True, slots=True)
class RuntimeConfig:
    """What ``vdynamo serve`` runs with: the cluster's configuration, each node's
    addresses, the file read and the storage settings. ConfigError (naming the
    setting) for a cluster whose contexts could not travel over HTTP: with
    ``vclock_max_pairs`` over 173 (81 in client-vclock, whose entries spell an
    actor beside the client id) a context may need more than
    :data:`MAX_CONTEXT_HEADER_BYTES` of base64 in X-Vdynamo-Context, which HTTP
    clients refuse to read (and, before session 12, the node itself refused with
    431 once the other headers were counted): the key could no longer be
    updated by read-modify-write, case 05's kind. The check is here, not in
    :class:`~impl.config.ClusterConfig`, since the simulator carries contexts as
    bytes."""

    cluster: ClusterConfig
    nodes: Mapping[str, NodeAddresses] = field(default_factory=dict)
    #: the file it was read from (re-read for the addresses of a joining node)
    path: Path | None = None
    storage: StorageSettings = field(default_factory=StorageSettings)

    def __post_init__(self) -> None:
        pairs = self.cluster.vclock_max_pairs
        ids = CLIENT_ENTRY_BYTES if self.cluster.clock == "client-vclock" else HTTP_ID_BYTES
        if self.cluster.clock in ("server-vclock", "client-vclock") and (
                http_context_bytes(pairs, ids) > MAX_CONTEXT_HEADER_BYTES):
            most = max(p for p in range(1, pairs) if
                       http_context_bytes(p, ids) <= MAX_CONTEXT_HEADER_BYTES)
            raise errors.ConfigError(
                f"vclock_max_pairs: a context of {pairs} pairs may take "
                f"{http_context_bytes(pairs, ids)} bytes of base64 in X-Vdynamo-Context, over "
                f"the {MAX_CONTEXT_HEADER_BYTES} an HTTP header can carry (Python's "
                f"http.client refuses lines over 65536): at most {most} pairs")


@dataclass(frozen=True, slots=True)
class Bound:
    """The range ``[low, high]`` a cluster file's setting must be in, and why."""

    low: float
    high: float
    why: str


#: The bounds of the cluster file's durations (seconds) and ``phi_threshold``
#: (session 21's service probe): :class:`~impl.config.ClusterConfig` asks only for
#: a finite number > 0, which the simulator and the in-process API
#: (:class:`RuntimeConfig` built in Python, the tests' ``tests/runtime/live.py``)
#: keep; a file ``vdynamo serve`` runs on real time must also keep these. Before,
#: ``http_idle_timeout_s = 1e-9`` closed 7 of 20 PUTs of 100 KB without an answer,
#: ``gossip_interval = 1e-9`` spun a core at 42 % and ``shadow_round_s = 1e9``
#: would hold every request of a restarted node with a peer down for 31 years.
#: etcd refuses likewise (``--election-timeout`` over 50 s, under 5 heartbeats),
#: and Cassandra ``phi_convict_threshold`` outside 5..16. Each bound and its
#: reason: docs/runtime.md, "Settings refused (session 21)".
FILE_BOUNDS: dict[str, Bound] = {
    "request_timeout": Bound(0.05, 300.0, "under 50 ms a coordination between processes "
                             "times out under ordinary load; over 300 s a client waits "
                             "four times that for an answer and a graceful stop twice"),
    "replica_timeout": Bound(0.01, 300.0, "under 10 ms a replica on another process is "
                             "suspected at every request (fallbacks and hints for all)"),
    "suspicion_timeout": Bound(0.05, 3600.0, "under 50 ms a slow node is tried again at "
                               "once, over an hour one timeout sidelines a node for good"),
    "gossip_interval": Bound(0.05, 60.0, "under 50 ms the rounds are a busy loop (1e-9: "
                             "42 % of a core); over 60 s (Riak's default) membership "
                             "changes crawl and a node that left lingers 4 rounds"),
    "hint_scan_interval": Bound(0.05, 3600.0, "under 50 ms the scans are a busy loop; "
                                "over an hour hints wait that long after a recovery"),
    "anti_entropy_interval": Bound(0.05, 86400.0, "under 50 ms the Merkle exchanges are "
                                   "a busy loop; over a day replicas stay apart that long"),
    "flush_interval": Bound(0.01, 3600.0, "under 10 ms the buffered engine's flushes "
                            "are a busy loop; over an hour a crash loses that much"),
    "shadow_round_s": Bound(0.1, 60.0, "under 0.1 s the round ends before peers on "
                            "another host are dialed and answer (a restored store then "
                            "serves what its peers reaped); over 60 s a restarted node "
                            "with a peer down holds every request that long (Cassandra's "
                            "ring delay: 30 s)"),
    "http_header_timeout_s": Bound(0.1, 3600.0, "under 0.1 s clients on ordinary links "
                                   "are cut off before their headers arrive"),
    "http_idle_timeout_s": Bound(0.1, 3600.0, "under 0.1 s a pause inside a body closes "
                                 "the request without an answer (1e-9: 7 of 20 100 KB PUTs)"),
    "peer_hello_timeout_s": Bound(0.1, 3600.0, "under 0.1 s a peer on a loaded machine "
                                  "cannot finish its hello and is never connected"),
    "reach_grace_s": Bound(0.5, 3600.0, "under 0.5 s a healthy peer on a loaded machine "
                           "has not dialed back and passed its hello (a quiet cluster's "
                           "connect-backs take up to 0.5 s) and the node says itself not "
                           "ready; over an hour a node no majority reaches serves "
                           "(puts 504) that long before it says so"),
    "phi_threshold": Bound(5.0, 16.0, "Cassandra's phi_convict_threshold range: under 5 "
                           "ordinary jitter convicts live nodes, over 16 nothing is "
                           "ever suspected"),
}


def _shown(value: float) -> str:
    """``value`` as short as ``:g`` writes it, or in full where that rounds it (a
    refused ``60.0000001`` was shown as ``60 is over the ceiling of 60``: session
    21's review)."""
    short = f"{value:g}"
    return short if float(short) == value else repr(value)


def check_file_bounds(cluster: ClusterConfig) -> None:
    """ConfigError naming the key, the value (in full where ``:g`` would round it)
    and the bound when a setting of a cluster file is outside :data:`FILE_BOUNDS`
    (floor and ceiling included); and, under dvv, for ``retired_keep = 0``
    (:func:`_check_retired_keep`); a ring too large for its anti-entropy
    interval (:func:`_check_exchange_rate`); a ``max_peer_connections`` below the
    initial nodes (:func:`impl.config.check_peer_cap`; ``ClusterConfig`` keeps it,
    the simulator has no connections)."""
    _check_retired_keep(cluster)
    for key, bound in FILE_BOUNDS.items():
        value = float(getattr(cluster, key))
        if bound.low <= value <= bound.high:
            continue
        side = f"under the floor of {bound.low:g}" if value < bound.low else (
            f"over the ceiling of {bound.high:g}")
        raise errors.ConfigError(
            f"[cluster] {key}: {_shown(value)} is {side} (a cluster file takes "
            f"{bound.low:g}..{bound.high:g}): {bound.why}; see docs/runtime.md, "
            f"\"Settings refused (session 21)\"")
    _check_exchange_rate(cluster)  # (within the bounds: named by them first)
    try:  # the initial nodes (vdynamo serve counts the file's sections too)
        check_peer_cap(cluster)
    except errors.ConfigError as error:
        raise errors.ConfigError(f"[cluster] {error}") from None


#: the Merkle exchanges a node may start a second (the ranges it replicates over
#: ``anti_entropy_interval``, :func:`exchange_rate`) in a cluster file: the default
#: ring (64 partitions) at the interval's floor (0.05 s), the most a file took for
#: it before. Measured (session 47's user probe, three ``vdynamo serve`` processes
#: on one machine, 2 cores, nothing stored): 1,280 a second served (puts 0.01 s),
#: 1,024 with 2,048 partitions every 2 s served with puts of 0.8 s, 2,048 (4,096
#: partitions) lost puts (504), 4,096 and 8,192 (8,192 and 16,384 partitions, both
#: accepted before) lost every w=3 put: each round outlasted the interval, and
#: the peers' queues overflowed ("10000 frames queued ... further messages to it
#: are dropped")
EXCHANGES_PER_S = 1280.0


def exchange_rate(cluster: ClusterConfig) -> float:
    """The Merkle exchanges (:mod:`impl.antientropy`) a node of ``cluster`` starts a
    second: one per range it replicates every ``anti_entropy_interval``, the ring's
    ranges (strategy 3 its ``partitions``, strategies 1 and 2 ``tokens_per_node``
    per node, ``evenly-spaced`` one per node) times the share of them a node is among
    the top N of, ``N / nodes`` (all of them when N is the nodes); 0 with
    ``anti_entropy = false``."""
    if not cluster.anti_entropy:
        return 0.0
    members = len(set(cluster.nodes) | set(cluster.ring_slots))
    ranges = (cluster.partitions if cluster.partitioning == "strategy3"
              else members if cluster.partitioning == "evenly-spaced"
              else members * cluster.tokens_per_node)
    held = math.ceil(ranges * min(cluster.n, members) / members)
    return held / cluster.anti_entropy_interval


def _shown_up(least: float) -> str:
    """``least`` (s, positive) shown with three significant digits, rounded up: the
    interval :func:`_check_exchange_rate` names must pass it (``:.3g`` rounded 79
    ranges' 0.061718... s down to 0.0617, refused again; session 47's review)."""
    shown = f"{least:.3g}"
    if float(shown) < least:
        shown = f"{float(shown) + 10.0 ** (math.floor(math.log10(least)) - 2):.3g}"
    return shown


def _check_exchange_rate(cluster: ClusterConfig) -> None:
    """ConfigError naming ``partitions`` (or ``tokens_per_node``) and
    ``anti_entropy_interval`` when a node would start more than
    :data:`EXCHANGES_PER_S` Merkle exchanges a second (:func:`exchange_rate`).
    ``ClusterConfig`` keeps them (the simulator's virtual time has no such cost).
    The ring's setting is offered for a new cluster only (session 47's review: a
    cluster upgraded from a file the bound now refuses was told to "lower
    partitions", a setting every peer compares, :data:`impl.runtime.SHARED_SETTINGS`,
    that moves the keys of a cluster holding data)."""
    rate = exchange_rate(cluster)
    if rate <= EXCHANGES_PER_S:
        return
    ring = ("partitions" if cluster.partitioning == "strategy3" else
            "tokens_per_node" if cluster.partitioning != "evenly-spaced" else "nodes")
    held = round(rate * cluster.anti_entropy_interval)
    least = _shown_up(held / EXCHANGES_PER_S)
    # (1280.4 a second shown as 1280 read "1280 a second, over the 1280")
    shown_rate = f"{rate:.0f}" if round(rate) > EXCHANGES_PER_S else f"{rate:.2f}"
    raise errors.ConfigError(
        f"[cluster] {ring}, anti_entropy_interval: each node replicates about {held} "
        f"ranges of the ring and starts a Merkle exchange for each every "
        f"{cluster.anti_entropy_interval:g} s, {shown_rate} a second, over the "
        f"{EXCHANGES_PER_S:.0f} a cluster file takes: the rounds outlast their interval "
        f"and the peers' queues overflow (puts fail): raise anti_entropy_interval to "
        f"{least} s or more (each node's own setting: node by node), or, for a new "
        f"cluster, lower {ring} (shared by every node, it places the keys: Riak's "
        f"ring_creation_size likewise); see docs/runtime.md, \"A user's probe of "
        f"the service kinds (session 47)\"")


def _check_retired_keep(cluster: ClusterConfig) -> None:
    """ConfigError for ``retired_keep = 0`` in a dvv cluster file (session 34's user
    probe): a count of 0 keeps no retired lifetime, so the coordinator of a put
    through a restarted node drops the entry of the lifetime that wrote the value the
    put replaces, and the other replicas, merging the put (a union), keep that value
    beside the new one: one client's read-modify-writes through a node restarted
    before each put (three ``vdynamo serve`` processes, 30 rounds) read back with
    every value that node had written, 13 to 15 siblings a key. ``ClusterConfig``
    keeps 0 for the refinement harness (the spec's ``prune_retired = 0``, whose
    suite entry shows the same false siblings)."""
    if cluster.clock == "dvv" and cluster.retired_keep == 0:
        raise errors.ConfigError(
            "[cluster] retired_keep: 0 keeps no retired lifetime's entry, so the value a "
            "put through a restarted node replaces comes back beside it at the other "
            "replicas (a false sibling at every such put): give -1 (the byte budget, the "
            "default) or a count of 1 or more; see docs/runtime.md, \"User probe of "
            "retired pruning (session 34)\"")


def check_fixed_ports(nodes: Mapping[str, NodeAddresses], served: Sequence[str]) -> None:
    """ConfigError naming the section and key when a process serves ``served``, not
    every ``[nodes.*]`` section of the file, and a section gives port 0 (a port the
    kernel picks when the node starts). The other processes, and clients, read the
    node's address from the file: a port 0 there can be known to none of them, so
    peers cannot reach the node (and this process cannot reach a peer given port
    0). One process serving every section (``vdynamo serve --all``, a file of one
    node) learns the ports it binds and is served as before; so is the in-process
    API (:class:`RuntimeConfig` with ``Address(host, 0)``). Before session 21
    ``peer = "127.0.0.1:0"`` in a three-node file was served with ``--node``."""
    if set(served) >= set(nodes):
        return
    for name, addresses in nodes.items():
        for key, address in (("peer", addresses.peer), ("http", addresses.http)):
            if address.port == 0:
                raise errors.ConfigError(
                    f"[nodes.{name}] {key}: port 0 (a port the kernel picks at the start) "
                    f"cannot be known to the other processes and clients that read this "
                    f"file, so they cannot reach {name}: give a fixed port in 1..65535 "
                    f"(port 0 is only for one process serving every node: `vdynamo "
                    f"serve --all`)")


def check_start(config: RuntimeConfig, served: Sequence[str]) -> None:
    """ConfigError, as ``vdynamo serve`` refuses to start the nodes ``served`` (one
    process) of a cluster file that loads (``config``): a node the file does not name,
    a data file shared or a data path that is a directory (:func:`check_distinct_data`),
    a port 0 (:func:`check_fixed_ports`), a peer cap below the members that have not
    left (:func:`impl.config.check_peer_cap`). These depend on the nodes a process
    serves, so :func:`load_runtime_config` does not make them (a running node re-reads
    the file). ``vdynamo cluster status`` (each node as ``cluster start`` runs it) and
    ``vdynamo serve``'s SIGHUP make them too: before session 53's review a file that
    loaded but that ``vdynamo serve --node n2`` refused (``http = "127.0.0.1:0"``) had
    ``cluster status`` exit 0 and SIGHUP say the change took effect at the next start;
    a script's ``status && stop n2 && start n2`` stopped n2 for good."""
    unknown = [name for name in served if name not in config.nodes]
    if unknown:
        raise errors.ConfigError(f"unknown node {unknown[0]!r} (the file names "
                                 f"{', '.join(sorted(config.nodes))})")
    # the nodes whose sections say they left (`left = true`), unless served here: no
    # peer connection of theirs to hold (the cap, the descriptors)
    left = [name for name, held in config.nodes.items() if held.left and name not in served]
    check_distinct_data(config.nodes, served)  # the nodes of this process
    check_fixed_ports(config.nodes, served)  # port 0: only if this process serves all
    # the nodes that joined (or join) count: the file's [nodes.*] sections, but for
    # those that left
    check_peer_cap(config.cluster, config.nodes, left)


_NODE_KEYS = {"peer", "http", "data", "left"}


def _near(key: str, names: Collection[str]) -> str:
    """`` (did you mean NAME?)`` for the setting of ``names`` nearest to a mistyped
    ``key``, or nothing (session 48's new user's walk: `--set gosip_interval=0.25`
    was refused as "not a cluster setting", with no word of the one meant)."""
    near = difflib.get_close_matches(key, sorted(names), n=1, cutoff=0.8)  # (0.6: quorum
    # was taken for sloppy_quorum)
    return f" (did you mean {near[0]}?)" if near else ""


def check_secret(secret: object, *, insecure_dev: bool = False) -> bytes:
    """The secret to run with: ``secret`` (the file's, as bytes; None: none given)
    if it is at least 16 bytes and not public (:data:`EXAMPLE_SECRETS`), else
    :class:`ConfigError` naming the problem. With ``insecure_dev`` any secret is
    accepted (a short one is stretched to 32 bytes by SHA-256; none: the default)."""
    if secret is None:
        if insecure_dev:
            return EXAMPLE_SECRETS[0]
        raise errors.ConfigError("[cluster] secret: missing; set one of 16 bytes or more "
                                 "(or run with --insecure-dev)")
    if not isinstance(secret, bytes):
        raise errors.ConfigError("[cluster] secret: must be a string")
    if insecure_dev:
        return secret if len(secret) >= 16 else hashlib.sha256(secret).digest()
    if secret in EXAMPLE_SECRETS:
        raise errors.ConfigError("[cluster] secret: the example secret is public; set your "
                                 "own (or run with --insecure-dev)")
    if len(secret) < 16:
        raise errors.ConfigError(f"[cluster] secret: {len(secret)} bytes, at least 16 are "
                                 "needed (or run with --insecure-dev)")
    return secret


def exposed_secret(path: str | Path) -> str | None:
    """A warning if the cluster file at ``path`` (which holds the cluster secret) can
    be read by other users than its owner (group or other read, write or execute
    bits: ``chmod 600`` it), naming the file and its mode; None if not (or if it
    cannot be looked at). Anyone who reads the secret can join the cluster as a
    peer and rewrite stored data, and forge contexts (docs/runtime.md, "Securing a
    cluster"). OpenSSH refuses such a private key file ("UNPROTECTED PRIVATE KEY
    FILE") and PostgreSQL such a key file; ``vdynamo serve`` warns (refusing would
    refuse the files written by hand or by tools with the default umask). Before
    session 13's probe B nothing was said: a cluster file of mode 0644 was served
    silently."""
    try:
        mode = Path(path).stat().st_mode
    except OSError:
        return None
    if not mode & 0o077:
        return None
    return (f"{path}: holds the cluster secret but is readable by other users (mode "
            f"{mode & 0o777:04o}): anyone who reads it can join the cluster and change "
            f"stored data; run `chmod 600 {path}`")


#: the largest cluster file read (bytes): a file of 10,000 nodes' sections takes about
#: 1 MB. Read whole before session 47's user probe: ``vdynamo serve /dev/zero`` (a
#: device or a large file given as the cluster file) read until memory ran out, a
#: MemoryError traceback after about 1 s under a 2 GB address-space limit
CLUSTER_FILE_BYTES = 4 << 20


def load_runtime_config(path: str | Path, *, insecure_dev: bool | None = None) -> RuntimeConfig:
    """Read a cluster file (see the module docstring); ConfigError naming the key.

    ``insecure_dev`` None: the secret is only checked by :class:`ClusterConfig`
    (16 bytes or more); False: :func:`check_secret` too (``vdynamo serve``); True:
    :func:`check_secret` lets any secret through."""
    path = Path(path)
    try:
        with path.open("rb") as file:
            text = file.read(CLUSTER_FILE_BYTES + 1)
        if len(text) > CLUSTER_FILE_BYTES:
            raise errors.ConfigError(
                f"{path}: over {CLUSTER_FILE_BYTES} bytes, too large for a cluster file "
                "(a device, a log or a data file given as one?)")
        # newlines as read_text gave them (universal: CR alone too, session 47's review:
        # a file of CR line ends, which loaded before the bounded read, was refused)
        raw = tomllib.loads(text.decode("utf-8").replace("\r\n", "\n").replace("\r", "\n"))
    except OSError as error:
        raise errors.ConfigError(f"{path}: cannot read: {error}") from None
    except UnicodeDecodeError as error:  # a UTF-16 file of a Windows editor, Latin-1
        # text: a UnicodeDecodeError traceback before session 14's probe B
        raise errors.ConfigError(
            f"{path}: not UTF-8 text (TOML files are UTF-8): byte "
            f"0x{error.object[error.start]:02x} at offset {error.start}") from None
    except tomllib.TOMLDecodeError as error:
        raise errors.ConfigError(f"{path}: not valid TOML: {error}") from None
    unknown = sorted(set(raw) - {"cluster", "nodes", "storage"})
    if unknown:
        raise errors.ConfigError(f"[{unknown[0]}]: unknown section (expected [cluster], "
                                 "[storage], [nodes.*])")
    section = raw.get("cluster")
    if not isinstance(section, dict):
        raise errors.ConfigError("[cluster]: section missing")
    names = {f.name for f in fields(ClusterConfig)}
    values: dict[str, Any] = {}
    for key, value in section.items():
        if key not in names:
            raise errors.ConfigError(f"[cluster] {key}: not a cluster setting{_near(key, names)}")
        if key in ("nodes", "seeds") and isinstance(value, list):
            value = tuple(value)
        if key == "secret" and isinstance(value, str):
            value = value.encode()
        values[key] = value
    if insecure_dev is not None:
        values["secret"] = check_secret(values.get("secret"), insecure_dev=insecure_dev)
    try:
        cluster = ClusterConfig(**values)
    except TypeError as error:
        raise errors.ConfigError(f"[cluster]: {error}") from None
    check_file_bounds(cluster)
    table = raw.get("nodes", {})
    if not isinstance(table, dict):
        raise errors.ConfigError("[nodes]: must be a table of [nodes.NAME] sections")
    nodes: dict[str, NodeAddresses] = {}
    for name, entry in table.items():
        if not isinstance(entry, dict):
            raise errors.ConfigError(f"[nodes.{name}]: must be a table")
        extra = sorted(set(entry) - _NODE_KEYS)
        if extra:
            raise errors.ConfigError(f"[nodes.{name}] {extra[0]}: unknown key (expected "
                                     f"{', '.join(sorted(_NODE_KEYS))})")
        for key in ("peer", "http"):
            if key not in entry:
                raise errors.ConfigError(f"[nodes.{name}] {key}: missing")
        data = entry.get("data")
        if data is not None and not isinstance(data, str):
            raise errors.ConfigError(f"[nodes.{name}] data: must be a path string")
        if data is not None and not data.strip():
            # an empty path was the default file silently (session 19's service
            # probe left it; session 20's): a key given names a file, or is left out
            raise errors.ConfigError(
                f"[nodes.{name}] data: empty: name the node's data file, or leave the "
                f"key out for the default {name}.sqlite beside the cluster file")
        if data is not None and "\x00" in data:
            raise errors.ConfigError(f"[nodes.{name}] data: contains a NUL byte")
        left = entry.get("left", False)
        if not isinstance(left, bool):
            raise errors.ConfigError(f"[nodes.{name}] left: must be true or false, "
                                     f"got {left!r}")
        nodes[name] = NodeAddresses(
            Address.parse(entry["peer"], f"[nodes.{name}] peer"),
            Address.parse(entry["http"], f"[nodes.{name}] http"),
            (path.parent / data) if data else path.parent / f"{name}.sqlite",
            left,
        )
    missing = [n for n in cluster.nodes if n not in nodes]
    if missing:
        raise errors.ConfigError(f"[nodes.{missing[0]}]: no addresses for a cluster node")
    unknown_seeds = [n for n in cluster.seeds if n not in nodes]
    if unknown_seeds:  # a typo ("m1" for "n1"): before session 14's probe B a joining
        # node gossiped with no one and answered 503 "not joined" for good, logging nothing
        raise errors.ConfigError(
            f"[cluster] seeds: {unknown_seeds[0]!r} has no [nodes.{unknown_seeds[0]}] "
            "section, so no node can reach it: a joining node would never join")
    check_distinct_data(nodes)
    _check_distinct_addresses(nodes, path)
    return RuntimeConfig(cluster, nodes, path, _storage_settings(raw.get("storage", {})))


def _may_share_a_machine(a: str, b: str) -> bool:
    """Whether two peer hosts may be one machine: the same name or address (case
    aside), or both loopback (``localhost``, 127.0.0.0/8, ``::1``). Hosts that
    differ otherwise are taken as two machines (a name and an address of one
    machine are not told apart: no DNS is consulted)."""
    return a.lower() == b.lower() or (_loopback(a) and _loopback(b))


def _loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.partition("%")[0]).is_loopback
    except ValueError:
        return False


def check_distinct_data(nodes: Mapping[str, NodeAddresses],
                        served: Sequence[str] | None = None) -> None:
    """ConfigError naming both sections when two ``[nodes.*]`` sections name one
    data file (``data``, resolved: ``a.sqlite`` and ``./a.sqlite`` are one file)
    on one machine: nodes ``served`` by one process (``vdynamo serve --all``), or
    with ``served`` None any two nodes whose peer hosts may be one machine
    (:func:`_may_share_a_machine`).

    Each node's store must be its own: its versions are one of a key's N
    replicas, and its meta entries are the node's own state (the membership
    view, the actor it mints dots under, key epochs, hand-off and settling
    progress, unscoped by node name: ``impl.versions.lifetime_actor``,
    ``impl.gossip``). Two nodes on one file are one copy of their keys (a lost
    disk loses both replicas) and read each other's state. Before session 14's
    probe B ``data = "same.sqlite"`` in two sections was served without a word;
    etcd likewise refuses a data directory another member holds (its lock file).
    One path on two machines is two files: a cluster file shared by machines
    10.0.0.1 and 10.0.0.2, each section with ``data =
    "/var/lib/vdynamo/data.sqlite"``, is served (the check as session 14's probe B
    wrote it refused that file: session 14's review). A node ``served`` whose data
    path is a directory is refused too, naming a file to give (session 51)."""
    names = list(nodes) if served is None else list(served)
    seen: dict[Path, list[str]] = {}
    for name in names:
        data = nodes[name].data
        if data is None:
            continue
        try:
            is_dir = served is not None and data.is_dir()
            problem = _room_beside(data) if served is not None else None
        except OSError as error:  # session 60's red team: a node name of 249 characters
            # made its default file's name over the file system's 255 bytes, and
            # `vdynamo serve` died with an ENAMETOOLONG traceback
            problem = str(error.strerror or error)
        if problem is not None:
            raise errors.ConfigError(
                f"[nodes.{name}] data: cannot use {str(data)[:300]}: "
                f"{problem}; give the node's data file a shorter path "
                f"(`data = \"...\"`; the default is <node name>.sqlite beside the "
                f"cluster file)")
        if is_dir:  # session 51's service probe: told
            # "cannot open SQLite database ...: unable to open database file"
            raise errors.ConfigError(
                f"[nodes.{name}] data: {data} is a directory; give the path of the "
                f"node's data file (e.g. {data / (name + '.sqlite')})")
        others = seen.setdefault(data.resolve(), [])
        for other in others:
            if served is not None or _may_share_a_machine(nodes[name].peer.host,
                                                          nodes[other].peer.host):
                raise errors.ConfigError(
                    f"[nodes.{name}] data: {data} is also the data file of "
                    f"[nodes.{other}]; every node needs a file of its own")
        others.append(name)


#: the longest suffix added to a data file's name for a file beside it: SQLite's
#: ``-wal``, ``-shm``, ``-journal`` (:mod:`impl.storage.sqlite`) and ``serve``'s
#: ``.lock`` (:mod:`impl.serve`)
_LONGEST_SIBLING_SUFFIX = "-journal"


def _room_beside(data: Path) -> str | None:
    """Why a file beside the data file ``data`` (:data:`_LONGEST_SIBLING_SUFFIX`)
    could not be made, its name over its file system's limit on a name
    (``PC_NAME_MAX``; 255 bytes where it cannot be asked); None: it could. Session
    60's review: a node name of 244-248 characters passed the red team's check
    (``<name>.sqlite`` fits) and ``vdynamo serve`` exited 1 with "File name too
    long: <name>.sqlite.lock", naming no key."""
    try:
        most = os.pathconf(data.parent, "PC_NAME_MAX")
    except (OSError, ValueError, AttributeError):  # no such directory yet; Windows
        most = 255
    size = len(os.fsencode(data.name + _LONGEST_SIBLING_SUFFIX))
    if size > most:
        return (f"File name too long: its {_LONGEST_SIBLING_SUFFIX} file beside it "
                f"would be named with {size} bytes, over the file system's {most}")
    return None


def _check_distinct_addresses(nodes: Mapping[str, NodeAddresses], path: Path) -> None:
    """ConfigError naming both keys when one address (the same host and port; port
    0, a port the kernel picks, excepted) is given twice: two nodes' peer or HTTP
    ports, or one node's peer and HTTP port. Every node dials a peer by its
    address and checks the name that answers, so a node served on another's peer
    address is refused by every dialer ("dialed 'n1' but 'n2' answered") while
    that node is down, and the other cannot start while it is up. Before session
    14's probe B such a file was served until a bind failed, with an error that
    named the address but neither key (``address already in use``, exit 1).

    A member that left keeps its section (an initial one must: ``[cluster]
    nodes``), so a new node given the address of a member that left is refused
    too: the file says nothing of who left (membership is gossiped state), and
    letting one of two sections share an address would let two live nodes share
    one. The message of two nodes' addresses says the way forward (session 14's
    review): start the replacement under the left member's name with ``vdynamo
    serve PATH --node NAME --rejoin`` (``path``, the file read) or ``vdynamo join
    NAME``, which joins it anew on that section's addresses (docs/runtime.md,
    "Join and leave")."""
    seen: dict[Address, tuple[str, str]] = {}
    for name, addresses in nodes.items():
        for key, address in (("peer", addresses.peer), ("http", addresses.http)):
            if address.port == 0:
                continue
            where = f"[nodes.{name}] {key}"
            other_name, other = seen.setdefault(address, (name, where))
            if other == where:
                continue
            hint = "" if other_name == name else (
                f"; if {other_name} left the cluster and {name} is to replace it on its "
                f"address, drop [nodes.{name}] and start the new node as {other_name}: "
                f"`vdynamo serve {path} --node {other_name} --rejoin` (or `vdynamo join "
                f"{other_name}`) joins it anew")
            raise errors.ConfigError(f"{where}: {address} is also {other}; every port "
                                     f"needs an address of its own{hint}")


def _storage_settings(section: object) -> StorageSettings:
    """The ``[storage]`` section (absent: the durable default); ConfigError naming
    the key that is wrong."""
    if not isinstance(section, dict):
        raise errors.ConfigError("[storage]: must be a table")
    keys = {f.name for f in fields(StorageSettings)}
    extra = sorted(set(section) - keys)
    if extra:
        raise errors.ConfigError(f"[storage] {extra[0]}: unknown key (expected "
                                 f"{', '.join(sorted(keys))})")
    return StorageSettings(**section)
