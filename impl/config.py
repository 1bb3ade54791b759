"""Cluster configuration of the production node.

Theory of operation
-------------------
Every node of a cluster is built from the same :class:`ClusterConfig`: the initial
members, the replication parameters N, R and W, the clock mode, the features the
paper describes (sloppy quorum, hinted handoff, read repair, anti-entropy), the
size limits that bound bad input, the partitioning strategy that places tokens on
the ring, the timing of the background work, and the secret that authenticates
contexts. The initial ring is a pure function of the configuration (the strategy
is drawn from ``random.Random(ring_seed)``), so every initial member computes the
same ring without talking to anyone; nodes that join later take tokens by the
same strategy and spread them by gossip.

A configuration is validated when it is built; a bad one raises
:class:`impl.errors.ConfigError` naming the field. A duration need only be a
finite number > 0 here (the simulator and the in-process tests run on short
ones); a cluster file's must also keep
:data:`impl.runtime_config.FILE_BOUNDS` (docs/runtime.md, "Settings refused
(session 21)").
"""

from __future__ import annotations

import functools
import math
import random
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from impl.context import context_bytes_bound, context_key
from impl.errors import ConfigError
from impl.versions import Truncation
from spec.ring import Partitioning, Ring, Strategy, strategy1, strategy2, strategy3
from spec.validation import (
    CLOCK_MODES,
    check_bool,
    check_choice,
    check_int,
    check_positive,
    check_seconds,
    replace_fields,
)

__all__ = [
    "ANSWER_OVERHEAD_BYTES",
    "CLOCK_MODES",
    "DEFAULT_CLUSTER_NAME",
    "DEFAULT_FRAME_BYTES",
    "DEFAULT_MIN_BODY_RATE",
    "DEFAULT_RECORD_BYTES",
    "DELETE_MODES",
    "FAILURE_DETECTORS",
    "FRAME_BYTES_CEILING",
    "JOIN_HANDOVERS",
    "KEY_BYTES_CEILING",
    "LWW_TIMESTAMPS",
    "PARTITIONING_STRATEGIES",
    "RECORD_BYTES_CAP",
    "RECORD_BYTES_PER_SECOND",
    "VALUE_BYTES_CEILING",
    "VCLOCK_TRUNCATIONS",
    "ClusterConfig",
    "adoptable_record_bytes",
    "answer_bytes",
    "check_cluster_name",
    "check_node_arguments",
    "check_node_name",
    "check_peer_cap",
    "merge_sides",
    "merged_record_bytes",
    "most_patience",
    "peer_members",
    "record_bytes_in",
    "record_patience",
    "replicable_frame_bytes",
    "sibling_bytes",
    "side_record_bytes",
]


#: The failure detectors a node may run (see :mod:`impl.failure_detector`).
FAILURE_DETECTORS = ("timeouts", "phi-accrual")

#: When tombstones are reaped (Riak's ``delete_mode``; docs/impl.md, "Deletes").
DELETE_MODES = ("safe", "immediate", "keep")

#: How a joining node takes over its key ranges (docs/impl.md, "Join and leave handover").
JOIN_HANDOVERS = ("pending", "immediate")

#: How an lww put is stamped (the spec's ``[features] lww_timestamps``):
#: ``hybrid`` (the default: a hybrid logical clock above the context's and the stored
#: stamps) or ``wall-clock`` (the coordinator's clock alone: the naive rule).
LWW_TIMESTAMPS = ("hybrid", "wall-clock")

#: Where vector clocks are truncated (``vclock_truncation``): ``record`` (the
#: default: every put and merge truncates the whole record alike) or ``put`` (the
#: paper's rule, 4.4, as the spec states it: only a put's new clock, at its
#: coordinator).
VCLOCK_TRUNCATIONS = ("record", "put")

#: How the initial ring and joining nodes' tokens are chosen.
#: ``evenly-spaced``: one token per node at ``i * RING_SIZE // len(nodes)`` in the
#: order of ``nodes`` (the spec's small ring; a joining node takes one random token).
#: ``strategy1`` / ``strategy2`` / ``strategy3``: the paper's section 6.2.
PARTITIONING_STRATEGIES = ("evenly-spaced", "strategy1", "strategy2", "strategy3")

MAX_NODE_NAME = 255

#: ``ClusterConfig.name`` when the cluster file gives no ``[cluster] name``: two
#: clusters that keep it and share a secret still trust each other's nodes
DEFAULT_CLUSTER_NAME = "vdynamo"


def check_node_name(name: object, field: str = "name") -> str:
    """A node name: a non-empty str of at most 255 printable characters, no spaces,
    not ending in ``/<digits>`` (ConfigError naming the problem otherwise). The last
    rule is session 23's review's: without actor epochs a node's actor is its name,
    and node ``n1/1``'s client-vclock entry for a client would be node ``n1``'s
    first fresh entry for it (``spec.vclock.client_entry``), a dot minted twice."""
    if not isinstance(name, str):
        raise ConfigError(f"{field}: a node name must be a str, got {type(name).__name__}")
    if not name or len(name) > MAX_NODE_NAME:
        raise ConfigError(f"{field}: a node name must have 1..{MAX_NODE_NAME} characters")
    if not name.isprintable() or any(c.isspace() for c in name):
        raise ConfigError(f"{field}: node name {name!r} must be printable, without spaces")
    _, slash, tail = name.rpartition("/")
    if slash and tail.isascii() and tail.isdigit():
        raise ConfigError(f"{field}: node name {name!r} must not end in '/' and digits "
                          f"(the spelling of a client-vclock fresh entry's actor)")
    return name


def check_cluster_name(name: object) -> str:
    """A cluster name (``ClusterConfig.name``): a str of 1..255 printable characters;
    :class:`ConfigError` naming the problem otherwise."""
    if not isinstance(name, str):
        raise ConfigError(f"name: a cluster name must be a str, got {type(name).__name__}")
    if not name or len(name) > MAX_NODE_NAME or not name.isprintable():
        raise ConfigError(f"name: a cluster name must have 1..{MAX_NODE_NAME} printable "
                          f"characters, got {name!r}")
    return name


def check_node_arguments(name: object, config: object, storage: object, seed: object) -> None:
    """Check a Node's constructor arguments (ConfigError naming the bad one)."""
    from impl.storage.base import Storage

    check_node_name(name)
    if not isinstance(config, ClusterConfig):
        raise ConfigError(f"config: must be a ClusterConfig, got {type(config).__name__}")
    if not isinstance(storage, Storage):
        raise ConfigError(f"storage: must implement impl.storage.base.Storage, got "
                          f"{type(storage).__name__}")
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ConfigError(f"seed: must be an int, got {seed!r}")


def _int(name: str, value: object, low: int, high: int | None = None) -> int:
    return check_int(f"{name}:", value, low, high)


def _seconds(name: str, value: object) -> float:
    return check_seconds(f"{name}:", value)


def _positive(name: str, value: object) -> float:
    return check_positive(f"{name}:", value)


def _flag(name: str, value: object) -> bool:
    return check_bool(f"{name}:", value)


#: bytes of a sibling besides its value (length, timestamp, writer, clock pairs),
#: bounded generously; and of a message besides its record (header, key, ids)
SIBLING_OVERHEAD_BYTES = 1024
MESSAGE_OVERHEAD_BYTES = 4096
#: what one anti-entropy KeyRecords message carries, at most (several records)
KEY_RECORDS_BYTES = 8 << 20
#: the rate, in bytes of record per second of ``request_timeout``, at which a put
#: is assumed to move its key's whole record through a cluster: each of the N
#: replicas reads, decodes, merges, encodes, hashes and writes it, and the
#: coordinator sends it to N - 1 of them (dvv mode: the whole record, as Riak's
#: put FSM sends the whole object). Measured on a 2-core machine running a
#: 3-node cluster of real processes: about 6-7 MiB/s at load 5, 2.5-4 MiB/s at
#: load 10 (docs/runtime.md, "Record size"); a record the cluster accepts is
#: replicated within the timeout unless the machine is loaded beyond that.
RECORD_BYTES_PER_SECOND = 4 << 20
#: the most :func:`record_bytes_in` gives (2**62 B: no record comes near it)
RECORD_BYTES_CAP = 1 << 62


def record_bytes_in(seconds: float) -> int:
    """The bytes of record a cluster replicates within ``seconds`` (a finite float
    > 0: ``request_timeout``) at :data:`RECORD_BYTES_PER_SECOND`, at most
    :data:`RECORD_BYTES_CAP`. Before session 56's probe 56a the product was
    converted by int() alone: ``request_timeout = 1e308`` in a cluster file made it
    infinite, and ``vdynamo serve`` died with an OverflowError traceback instead of
    the file's bound error ("over the ceiling of 300")."""
    return int(min(seconds * RECORD_BYTES_PER_SECOND, RECORD_BYTES_CAP))
#: ``max_record_bytes`` when it is not given, unless ``request_timeout`` allows
#: less (:meth:`ClusterConfig.record_limit_for`)
DEFAULT_RECORD_BYTES = 4 << 20

#: the largest ``max_key_bytes`` a configuration may give (1 MiB), and so the
#: longest key any node may have stored: a key over the node's own
#: ``max_key_bytes`` but within this is read and deleted (it was stored before the
#: limit was lowered), only a blind write to it is refused
#: (:func:`impl.forwarding.check_request`, :meth:`impl.replica.Replica.decode`)
KEY_BYTES_CEILING = 1 << 20
#: the largest ``max_value_bytes`` a configuration may give (1 GiB): no node of any
#: cluster stores a longer value, so a client reading a value of unknown length (the
#: standard input, ``vdynamo put --value-file``) need read no more than this and one
#: byte (``vdynamo.kv_cli``, session 39's user probe)
VALUE_BYTES_CEILING = 1 << 30


#: ``max_frame_bytes`` when it is not given, unless the merged records need more
#: (:func:`replicable_frame_bytes`)
DEFAULT_FRAME_BYTES = 64 << 20
#: the largest ``max_frame_bytes`` a configuration may give (2 GiB), and the largest
#: frame a node takes whatever the records its store keeps (``NodeServer.frame_limit``)
FRAME_BYTES_CEILING = 1 << 31
#: bytes of a get's JSON answer besides 4/3 of the frame its record fills
#: (:func:`answer_bytes`): room for the JSON of each sibling (quotes, commas, its
#: content type) and of the answer; the context and the key are in the frame
ANSWER_OVERHEAD_BYTES = 8 << 20


def answer_bytes(frame_bytes: int) -> int:
    """The largest get answer, in bytes, of a node whose frames carry at most
    ``frame_bytes`` bytes (``max_frame_bytes``, or more: :func:`replicable_frame_bytes`
    of the largest record the node may answer): a record that fills such a frame
    with its context and key, all in base64 (4/3 of it: the JSON answer's ``values``,
    ``context`` and ``key``), plus :data:`ANSWER_OVERHEAD_BYTES`. Of the default
    frame (:data:`DEFAULT_FRAME_BYTES`, 64 MiB): 97,867,096 bytes (93.3 MiB), the
    client's default bound (``impl.http_client.MAX_ANSWER_BYTES``); of the largest
    (:data:`FRAME_BYTES_CEILING`), 2,871,700,140. A node states its own in
    ``/status`` (``limits.max_answer_bytes``), which a client not given
    ``max_answer_bytes`` reads answers up to, but at most 4 x the default frame's
    (``impl.http_client.MAX_STATED_ANSWER_BYTES``: a ``/status`` is not
    authenticated; session 37 and its review)."""
    return 4 * -(-frame_bytes // 3) + ANSWER_OVERHEAD_BYTES

#: ``http_min_body_rate`` when it is not given, in bytes per second: Apache's
#: mod_reqtimeout default (``RequestReadTimeout body=20,MinRate=500``); a body
#: sent at 4 kbit/s (a congested mobile link) keeps up with it
DEFAULT_MIN_BODY_RATE = 500


def merge_sides(config: ClusterConfig, members: int = 0) -> int:
    """k: how many coordinators' records a merge may combine, each within the put limits.

    Every node may coordinate a put and checks it against its own record only
    (with a sloppy quorum and ``w=1`` one node alone accepts writes), so k sides
    of a partition, or k coordinators that did not yet see each other's writes,
    each fill a key to ``max_siblings`` / ``max_record_bytes`` and their merge
    holds up to k times that. k is the nodes the configuration names
    (``nodes`` and ``ring_slots``) or ``members`` (a node's live count: nodes
    that joined later), whichever is more, and at least 2. Not nodes / N: a side
    needs no N replicas to accept writes. Source: session 12's review of the
    record limit (three isolated nodes made 3 x ``max_siblings``; docs/runtime.md).
    """
    return max(2, len(set(config.nodes) | set(config.ring_slots)), members)


def peer_members(config: ClusterConfig, names: Collection[str] = (),
                 left: Collection[str] = ()) -> int:
    """The nodes ``config`` names (``nodes`` and ``ring_slots``) and ``names`` (a
    cluster file's ``[nodes.*]`` sections: nodes that joined or will), but for
    ``left`` (nodes that left or were removed: their sections say ``left = true``,
    kept for a rejoin; session 47's review): the least ``max_peer_connections`` a
    node's peer port must hold, :func:`check_peer_cap`."""
    return len(_peers(config, names, left))


def _peers(config: ClusterConfig, names: Collection[str], left: Collection[str]) -> set[str]:
    return (set(config.nodes) | set(config.ring_slots) | set(names)) - set(left)


def check_peer_cap(config: ClusterConfig, names: Collection[str] = (),
                   left: Collection[str] = ()) -> None:
    """ConfigError unless ``max_peer_connections`` holds :func:`peer_members`.

    Each node keeps one busy connection from each other node, so below
    ``members - 1`` a peer is refused for good; one slot more takes a peer's new
    connection while its old one still counts (the floor
    :func:`impl.connections.fit_caps` keeps). Before session 47's user probe a
    cluster file of three nodes with ``max_peer_connections = 1`` was served: each
    node refused one peer ("every one authenticated", once a second), every
    ``w=3`` put 504 and ``r=3`` get 503, the warnings naming the peers' addresses,
    not the cap; with a cap of 3 the fifth node that joined never did ("no seed
    answered its gossip"). A node that left (``left``) holds no connection: with
    a cap of 4, n4 joined and n1 left, n5 was refused "for 5 nodes" until session
    47's review. Source: docs/runtime.md, "A user's probe of the service kinds
    (session 47)", "A node that left and the peer cap (session 47)"."""
    peers = _peers(config, names, left)
    members = len(peers)
    if config.max_peer_connections < members:
        named = ", ".join(sorted(peers))
        raise ConfigError(
            f"max_peer_connections: each node keeps a connection from every other node, "
            f"so for {members} nodes ({named}) it must be at least {members}: one for "
            f"each of the other {members - 1} and one for a peer reconnecting; got "
            f"{config.max_peer_connections}")


def side_record_bytes(config: ClusterConfig) -> int:
    """The most one coordinator's puts make a key's record hold: ``max_siblings``
    values of ``max_value_bytes`` with their metadata, or ``max_record_bytes`` plus
    the tombstones of deletes (never refused for size: at most ``max_siblings``)."""
    siblings = config.max_siblings * (config.max_value_bytes + sibling_bytes(config))
    return min(siblings, config.max_record_bytes + config.max_siblings * sibling_bytes(config))


def merged_record_bytes(config: ClusterConfig, members: int = 0) -> int:
    """The largest record merges of puts within the limits make: :func:`merge_sides`
    x :func:`side_record_bytes`. A replica refuses a peer's record over it
    (:meth:`impl.replica.Replica.decode`), and the frame must carry it."""
    return merge_sides(config, members) * side_record_bytes(config)


def replicable_frame_bytes(config: ClusterConfig, record_bytes: int | None = None) -> int:
    """The largest inter-node frame a record within ``config``'s limits can need.

    A coordinator refuses a put that makes more than ``max_siblings`` siblings,
    and one whose record would be over ``max_record_bytes``, but replicas merge
    concurrent records, so a stored record may hold what :func:`merge_sides`
    coordinators made (:func:`merged_record_bytes`); each sibling is a value of at
    most ``max_value_bytes`` plus its metadata (in the vector-clock modes each
    sibling carries a clock, bounded by ``max_context_bytes``). The frame also
    holds the key and (a ForwardReply) a context. Source: the issue "No record may
    outgrow what the cluster can replicate"; the record layout of
    :mod:`impl.versions`; session 12's review (the bound was 2 x, three sides
    made a record no frame carried). ``record_bytes``: the merged record's bound
    when not ``config``'s (:func:`merged_record_bytes`): a store's bound kept from
    an earlier configuration (``impl.runtime.NodeServer.frame_limit``).
    """
    merged = merged_record_bytes(config) if record_bytes is None else record_bytes
    return frame_bytes(merged, config.max_context_bytes, config.max_key_bytes)


def frame_bytes(record_bytes: int, context_bytes: int, key_bytes: int) -> int:
    """The largest inter-node frame a record of ``record_bytes`` needs under limits
    of ``context_bytes`` (``max_context_bytes``) and ``key_bytes``
    (``max_key_bytes``), all in bytes: :func:`replicable_frame_bytes` with the
    limits given, as a node computes a peer's from the limits its hello announces
    (``impl.runtime.NodeServer._peer_max_frame``)."""
    return (max(record_bytes + context_bytes, KEY_RECORDS_BYTES) + key_bytes
            + MESSAGE_OVERHEAD_BYTES)


def adoptable_record_bytes(config: ClusterConfig) -> int:
    """The largest kept record bound, in bytes, a node takes from a peer's hello
    (``impl.runtime.NodeServer._adopt_record_bounds``): the record a frame of
    :data:`DEFAULT_FRAME_BYTES` or ``max_frame_bytes``, whichever is more, carries
    (:func:`frame_bytes` inverted). A peer's bounds raise this node's frame limit
    (``NodeServer.frame_limit``) and go on in its own hellos; until session 23's
    review any authenticated peer's claim raised it to 2 GiB, the whole cluster's
    with it. The store's own bounds (its earlier configurations) are not capped."""
    frame = max(DEFAULT_FRAME_BYTES, config.max_frame_bytes)
    return frame - config.max_context_bytes - config.max_key_bytes - MESSAGE_OVERHEAD_BYTES


def record_patience(config: ClusterConfig, record_bytes: int) -> float:
    """How many ``request_timeout`` (and ``replica_timeout``) a coordination of a
    record of ``record_bytes`` waits: 1, or ``record_bytes / max_record_bytes`` for
    a record larger than ``max_record_bytes``.

    ``_check_record_limit`` makes ``max_record_bytes`` replicable within one
    ``request_timeout``, but merges of k sides' puts make records of up to
    :func:`merged_record_bytes` (k x that), which the cluster stores and must
    read back. Waited on for one timeout, such a record was served only now and
    then: 12 siblings of 1 MiB (three sides of a partition, four puts each, all
    200), three ``vdynamo serve`` processes: a GET at R=3 answered 503 (1.1-1.9 s)
    at 5 of 8 tries, and the put with its context, the documented way out, 504
    (outcome unknown), while its replicas were also given up on at
    ``replica_timeout`` (0.3 s) and fallbacks asked (session 17's service probe,
    docs/runtime.md)."""
    return max(1.0, record_bytes / config.max_record_bytes)


def most_patience(config: ClusterConfig, members: int = 0) -> float:
    """The largest :func:`record_patience` of a record a replica takes from a peer
    (:func:`merged_record_bytes`): how long a client request may wait on its
    coordination, in request timeouts."""
    return record_patience(config, merged_record_bytes(config, members))


def sibling_bytes(config: ClusterConfig) -> int:
    """The most a sibling takes in a record besides its value: its metadata, and in
    the vector-clock modes its clock (bounded by ``max_context_bytes``)."""
    return SIBLING_OVERHEAD_BYTES + (0 if config.clock == "dvv" else config.max_context_bytes)


@functools.lru_cache(maxsize=64, typed=True)
def _truncation(threshold: int, max_pairs: int, young_s: float, old_s: float,
                signs: tuple[float, float]) -> Truncation:
    """:attr:`ClusterConfig.truncation`'s value (a frozen value: shared, built once).
    ``signs``: the seconds' signs, part of the key since -0.0 == 0.0 yet a record
    carries the policy's bytes (session 31's review: a config of ``vclock_young_s``
    -0.0 got the policy of an earlier 0.0 one, its records other bytes)."""
    return Truncation(threshold, max_pairs, young_s, old_s)


@dataclass(frozen=True, slots=True)
class ClusterConfig:
    """The configuration every node of a cluster shares (validated on construction).

    ``nodes`` are the initial members, in ring order for ``evenly-spaced``.
    ``n``, ``r``, ``w``: replicas per key, and the read and write quorums (a
    request may lower or raise R / W within ``1..n``). ``clock``: one of
    :data:`CLOCK_MODES`.

    ``pr``, ``pw`` (default 0, the paper's behaviour; ``0..n``): the primary
    quorums of Riak KV (``riak_kv_get_core``, ``riak_kv_put_core``): how many of a
    get's R answers must come from *primaries* (the key's top N answering for
    themselves, never a fallback), and how many of a put's W acknowledgements
    must (a fallback's hinted ack counts towards W, never towards PW). The
    effective quorum is the larger of the two (R >= PR is not required: Riak's
    ``max(R, PR)``). A request whose coordinator believes fewer than PR (PW) of
    the key's top N reachable fails at once, nothing written (Riak's
    ``pr_val_unsatisfied``, ``pw_val_unsatisfied``); else one that does not reach
    them fails at its deadline (a put: its outcome unknown). With ``pr + pw > n``
    a get meets every put acknowledged under them on some primary (the sloppy
    quorum's stale read, paper 4.6, is then an error instead; docs/runtime.md,
    "Primary quorums pr and pw (session 39)"). A request may set its own.

    Every duration is in seconds (a positive finite number):
    ``replica_timeout``: how long a coordinator waits for a replica before it
    suspects it and (sloppy quorum) turns to the next node down the preference
    list; ``request_timeout``: how long before a request that has not reached its
    quorum fails; ``suspicion_timeout``: how long the failure detector keeps a
    node it suspects out of the coordinators' choices before trying it again
    (doubling per further timeout, up to eight gossip intervals);
    ``gossip_interval``, ``hint_scan_interval``, ``anti_entropy_interval``: the
    periods of the background rounds; ``flush_interval``: how often a buffered
    storage engine is flushed (what a crash may lose).

    ``failure_detector``: one of :data:`FAILURE_DETECTORS`; ``"timeouts"`` (the
    default, the paper's local detector: a peer is suspected only when a request
    to it timed out) or ``"phi-accrual"`` (also suspect a peer whose phi, computed
    from the arrival times of its messages, reaches ``phi_threshold``; Dynamo
    sends no heartbeats, so this suits clusters with steady traffic only).
    ``seeds``: the nodes a joining node gossips with first (empty: all initial
    members). ``secret``: the HMAC key of contexts and of peer authentication
    (:mod:`impl.peer_auth`; at least 16 bytes; change it for any real deployment).
    ``name``: the cluster's identity (default :data:`DEFAULT_CLUSTER_NAME`),
    bound into peer authentication: a node refuses a peer whose cluster name
    differs even when the secret is the same (Cassandra's ``cluster_name``).

    ``read_repair_fallbacks`` (default ``False``): whether read repair also writes
    the reconciled record to a node that answered a get from outside the key's
    replicas (a fallback of a sloppy quorum, or the coordinator itself when it is
    none of them). ``False``: only the key's top N (and the old and new top N
    during a change) are repaired, riak_kv's ``read_repair_primaryonly = true``;
    such a copy would sit in the fallback's main store, which no hand-off, let-go
    or anti-entropy looks at, for good (docs/runtime.md, "Read repair of
    fallbacks (session 27)"). ``True``: every stale replier, riak_kv's default
    and the spec's feature of that name (the refinement harness maps it).

    ``hinted_reads`` (default ``True``; session 49): a node answers a replica read
    of a key with its own record merged with the records it keeps as hints of the
    key (:meth:`impl.replica.Replica.served`), so that a fallback whose
    acknowledgement counted towards a put's W serves that put to a get's R, as
    Riak's fallback vnodes serve what they took; the spec's
    ``features.hinted_reads``, which the refinement harness, the conformance replay
    and trace validation map from the configuration. ``False``: its own record
    only (paper 4.6 keeps hints in "a separate local database"; the spec's
    default): a get can then miss an acknowledged write although R + W > N and it
    asked the fallback that holds it.

    ``delete_mode``: when a delete's tombstone is removed (Riak's ``delete_mode``):
    ``"safe"`` (the default) once every one of the key's N replicas holds the
    tombstone and nothing newer and ``tombstone_grace_s`` seconds have passed;
    ``"immediate"`` as soon as the delete is acknowledged (the naive rule: a
    replica that missed the delete brings the value back); ``"keep"``: never.
    ``reap_checks`` (``"safe"``; default ``True``): a replica whose copy a hint, a
    read repair or anti-entropy left holding tombstones only reads the key from
    all N targets, and reaps it as a get would once each holds the tombstone
    (:meth:`impl.node.Node._reap_checks`; session 21: without, a key deleted while
    one of its replicas was down kept its tombstones for good unless a client read
    it again, riak_kv#1336). ``False``: only the delete and clients' gets decide a
    reap, the spec's rule (the refinement harness's choice).
    ``lww_floor_margin_s`` (lww; default 60, 0 allowed): a node that reaps a
    tombstone keeps its stamp as the key's floor until its clock passes the stamp
    by this many seconds, so that it acks a put stamped below the tombstone by a
    coordinator that reaped nothing (a replaced disk, a node joined since) with
    the floor, and the put is minted again above it before it is answered
    (docs/runtime.md, "The replaced-disk floor gap (session 26)"). It should
    cover the clock skew between nodes plus a replica write's delay. 0: a floor
    only while the stamp is ahead of the node's clock (sessions 24-25).
    ``join_handover``: ``"pending"`` (the default) while a key range moves to a
    joining node, writes go to old and new owners and the old ones serve reads
    until the new owner holds the range; ``"immediate"`` lets the joining node
    serve its ranges at once (the naive rule: a stale read).

    ``lww_timestamps`` (lww mode): ``"hybrid"`` (the default) stamps a put with
    the larger of the coordinator's clock and one tick more than its context's and
    the stored timestamps, so a read-then-write is never lost to clock skew;
    ``"wall-clock"`` stamps it with the coordinator's clock alone, ignoring both
    (the naive rule, kept only to show the loss; the spec's switch of the same name).
    ``vclock_truncation`` (vector-clock modes): ``"record"`` (the default) applies
    the truncation policy below to whole records at every put and merge;
    ``"put"`` truncates only a put's new clock at its coordinator, past
    ``vclock_threshold`` pairs, keeping the pair the put increments and dropping
    the oldest others (the paper's rule, 4.4, and the spec's), and never at a
    merge: it shows the paper's false siblings.

    ``actor_epochs``: a node mints dots and server-side clock entries under a
    fresh actor id for each storage lifetime (:func:`impl.versions.lifetime_actor`;
    Riak's kv679 fix), so a node whose disk was replaced or restored from a
    backup, or whose buffered writes a crash lost, never re-issues a dot;
    ``False`` is the naive behaviour (the bare node name), kept only to show the
    data loss. ``actor_per_start`` (with ``actor_epochs``): ``True`` (the default)
    gives the node a new actor id at every start, whatever its engine (each start
    is a storage lifetime), since a store cannot prove locally that it was not
    rolled back (a disk restored from an older backup is self-consistent and
    would mint the dots it minted after the backup again: kv679's amnesia);
    ``False`` keeps the stored id across restarts of a durable (``fsync =
    "always"``) engine, the spec's ``Recover`` (the refinement harness's choice;
    a restored backup then loses acknowledged writes). Each new actor retires the
    one before (:func:`impl.versions.lifetime_actor`); the retirements are gossiped
    and in dvv the value-less entries of retired lifetimes, the oldest first, are
    pruned from every record written past 512 bytes of them
    (:func:`impl.versions.prune_retired`, :mod:`impl.retired`; session 33: before,
    a key of one value written through restarted nodes outgrew
    ``max_record_bytes``). The cost: a stale copy that missed the puts of the
    lifetimes those bytes keep (22 of short node names) comes back as a false
    sibling, or a deleted value over its tombstone (docs/impl.md, "Disk loss and
    key amnesia"). ``restore_guard`` (default
    ``True``): every start of a store is a generation the peers gossip back, and a
    node told a later start of its own store (restored from a backup, a copied
    store) sets its versions and hints aside and is rebuilt from the other
    replicas, so a value deleted and reaped since the backup does not come back
    (:mod:`impl.restore_guard`).
    ``False``: no generations, the spec's ``Restore`` (the refinement harness's
    choice). ``shadow_round_s`` (with the guard; default 2.0, two gossip intervals
    of the default): a restarted store that heard peers before first gossips with
    every other live member and waits for each one's gossip, at most this many
    seconds, before it serves anything (Cassandra's startup shadow round): a peer
    that heard a later start of its store tells it so before it answers a read
    (:meth:`impl.node.Node.start`). The clock truncation of the
    vector-clock modes (:class:`impl.versions.Truncation`, paper 4.4, riak_core's
    vclock pruning): ``vclock_threshold`` pairs are always kept (the paper's 10),
    a record's clocks never keep more than ``vclock_max_pairs`` (Riak's big_vclock)
    unless its siblings' own pairs alone are more (each sibling's own pair is never
    dropped, so truncation never erases a concurrent version: session 30; they
    count within ``vclock_max_pairs`` since its review, so that the context
    covers them), and in between pairs older
    than ``vclock_old_s`` seconds (and not younger than ``vclock_young_s``) are
    dropped. Every context a get or put returns holds at
    most ``vclock_max_pairs`` pairs, so ``max_context_bytes`` must admit a
    context of that many pairs of 255-character ids (checked here).

    Limits of the runtime (:mod:`impl.runtime`): ``max_frame_bytes``, the largest
    inter-node frame sent or accepted (0, the default: derived, 64 MiB or what
    the merged records need); the record limits (``max_value_bytes``,
    ``max_key_bytes``, ``max_context_bytes``, ``max_siblings``,
    ``max_record_bytes``) must keep every record merges make within it
    (:func:`replicable_frame_bytes`: :func:`merge_sides` nodes' records), or the
    configuration is refused.
    ``max_record_bytes``: the largest encoded record (every sibling of a key) a put
    may make; a put that would make a larger one is refused with 413
    (:class:`~impl.errors.TooLargeError`; Riak's ``max_object_size``). It must
    admit one value of ``max_value_bytes`` and be at most ``request_timeout`` x
    :data:`RECORD_BYTES_PER_SECOND` (a record the cluster accepts is replicated
    within the timeout), or the configuration is refused; 0 (the default) derives
    it: :data:`DEFAULT_RECORD_BYTES`, less if the timeout allows less, at least one
    value's record (:meth:`_derived_record_limit`). ``max_pending_requests``:
    client requests a node has in flight before it answers more with 503 and
    Retry-After, before writing anything (requests whose clients wait; with
    ``max_pending_bytes`` also the bounds of the answered gets and puts that linger
    for late replies, apart: :mod:`impl.lingering`, session 33);
    ``max_pending_bytes``: bytes of puts (their records) a node has in flight
    before it answers a put that would pass it the same way (a node with none in
    flight admits any put; at least
    ``max_value_bytes``; 0, the default: derived, :meth:`_derived_pending_bytes`).
    ``max_http_connections``, ``max_peer_connections``: connections per port
    (at the cap the oldest idle one is closed, else the new one refused).
    ``http_header_timeout_s``: seconds a request's headers may take to arrive
    (the connection is then closed); ``http_idle_timeout_s``: seconds an idle
    keep-alive connection is kept, the longest pause inside a request's body, and
    the longest a client may read nothing of an answer (then it is aborted);
    ``http_min_body_rate``: bytes per second a request's body must average after
    its first ``http_idle_timeout_s``, or the connection is closed (default
    :data:`DEFAULT_MIN_BODY_RATE`, Apache's ``MinRate``; 0: off, only the pause
    between reads is bounded; lower it for clients on slow links);
    ``peer_hello_timeout_s``: seconds a peer has to complete the authenticated hello.
    ``reach_grace_s``: seconds a peer whose hello this node's connection passed may
    take to connect back, and that a peer connected to this node may stay undialed,
    before it counts against this node's readiness (``not_reached_by``,
    ``cannot_dial``: :meth:`impl.runtime.NodeServer.unreached`; default 5, the
    constant ``REACH_GRACE_S`` of session 32 until session 44).
    """

    nodes: tuple[str, ...]
    n: int = 3
    r: int = 2
    w: int = 2
    #: the primary quorums (Riak's pr and pw; 0: none, the paper's sloppy quorum)
    pr: int = 0
    pw: int = 0
    clock: str = "dvv"
    sloppy_quorum: bool = True
    hinted_handoff: bool = True
    read_repair: bool = True
    read_repair_fallbacks: bool = False
    hinted_reads: bool = True
    anti_entropy: bool = True
    max_value_bytes: int = 1 << 20
    max_key_bytes: int = 1024
    max_context_bytes: int = 1 << 16
    max_siblings: int = 25  # Riak's sibling warning threshold; 2 x 25 x 1 MiB fits a frame
    #: a key's whole record (every sibling): a put that would make it larger is
    #: refused with 413 (Riak's max_object_size); 0 (the default): derived,
    #: :data:`DEFAULT_RECORD_BYTES` (4 MiB) or what ``request_timeout`` allows
    max_record_bytes: int = 0
    partitioning: str = "strategy3"
    tokens_per_node: int = 8
    partitions: int = 64
    ring_seed: int = 0
    request_timeout: float = 1.0
    replica_timeout: float = 0.3
    suspicion_timeout: float = 3.0
    gossip_interval: float = 1.0
    hint_scan_interval: float = 1.0
    anti_entropy_interval: float = 2.0
    flush_interval: float = 0.1
    failure_detector: str = "timeouts"
    phi_threshold: float = 8.0
    seeds: tuple[str, ...] = ()
    secret: bytes = b"vdynamo-default-secret-change-me"
    actor_epochs: bool = True
    actor_per_start: bool = True
    restore_guard: bool = True
    #: the restore guard's startup shadow round: the longest a restarted node waits
    #: for its peers' gossip before it serves (impl.node.Node.start)
    shadow_round_s: float = 2.0
    lww_timestamps: str = "hybrid"
    vclock_truncation: str = "record"
    vclock_threshold: int = 10
    vclock_max_pairs: int = 50
    vclock_young_s: float = 20.0
    vclock_old_s: float = 86400.0
    #: 0 (the default): derived, :data:`DEFAULT_FRAME_BYTES` (64 MiB) or what the
    #: merged records need (:func:`replicable_frame_bytes`), whichever is more
    max_frame_bytes: int = 0
    max_pending_requests: int = 1024
    #: bytes of puts a node has in flight (their records, :attr:`impl.node.Node.pending_bytes`)
    #: before it answers more puts 503; 0 (the default): derived,
    #: :meth:`_derived_pending_bytes`
    max_pending_bytes: int = 0
    max_http_connections: int = 512
    max_peer_connections: int = 128
    http_header_timeout_s: float = 10.0
    http_idle_timeout_s: float = 30.0
    #: bytes/s a request body must average after its first ``http_idle_timeout_s``
    #: (0: not bounded; impl.http_api)
    http_min_body_rate: int = DEFAULT_MIN_BODY_RATE
    peer_hello_timeout_s: float = 5.0
    #: seconds a peer may take to connect back (or stay undialed) before it counts
    #: against this node's readiness (impl.runtime.NodeServer.unreached; session 32)
    reach_grace_s: float = 5.0
    #: deletes (docs/impl.md, "Deletes"): when a tombstone is reaped
    delete_mode: str = "safe"
    tombstone_grace_s: float = 3.0
    #: lww: seconds past its stamp, by this node's clock, a reaped tombstone's
    #: stamp floor is kept (impl.replica.Replica.reap; session 26)
    lww_floor_margin_s: float = 60.0
    reap_checks: bool = True
    #: dvv with actor epochs: how many retired lifetimes of each node a record keeps
    #: the value-less entries of (:func:`impl.versions.prune_retired`'s ``keep``):
    #: -1 (the default, production) keeps them up to a byte budget,
    #: ``RETIRED_BYTES_KEPT``; ``k >= 0`` keeps the newest ``k`` of each node, the
    #: spec's ``[features] prune_retired`` count (the refinement harness's setting,
    #: session 34; docs/refinement.md)
    retired_keep: int = -1
    #: membership change: "pending" (a joining node serves a range once it holds it)
    #: or "immediate" (the naive rule: at once)
    join_handover: str = "pending"
    #: ``evenly-spaced`` only: the names the ring's evenly spaced positions are laid
    #: out for, in ring order (the initial ``nodes`` and nodes that may join later;
    #: empty: ``nodes``). Each initial node holds its slot's token, and a node named
    #: here that joins takes its own slot's token (the spec's ring with
    #: ``[membership] joining``, so that a join replays exactly)
    ring_slots: tuple[str, ...] = ()
    #: the cluster's identity, bound into peer authentication (:mod:`impl.peer_auth`):
    #: a node refuses a peer of another cluster even when the two share the secret
    #: (Cassandra's ``cluster_name``); the cluster file's ``[cluster] name``
    name: str = DEFAULT_CLUSTER_NAME

    def __post_init__(self) -> None:
        nodes: Any = self.nodes
        if isinstance(nodes, str | bytes) or not isinstance(nodes, tuple | list):
            raise ConfigError(f"nodes: must be a tuple of node names, got {nodes!r}")
        names = tuple(check_node_name(n, "nodes") for n in nodes)
        if not names:
            raise ConfigError("nodes: at least one initial node is needed")
        if len(set(names)) != len(names):
            raise ConfigError(f"nodes: names must be distinct, got {list(names)!r}")
        object.__setattr__(self, "nodes", names)
        _int("n", self.n, 1, len(names))
        _int("r", self.r, 1, self.n)
        _int("w", self.w, 1, self.n)
        _int("pr", self.pr, 0, self.n)
        _int("pw", self.pw, 0, self.n)
        check_choice("clock:", self.clock, CLOCK_MODES)
        for flag in ("sloppy_quorum", "hinted_handoff", "read_repair", "read_repair_fallbacks",
                     "hinted_reads", "anti_entropy"):
            _flag(flag, getattr(self, flag))
        _int("max_value_bytes", self.max_value_bytes, 0, VALUE_BYTES_CEILING)
        _int("max_key_bytes", self.max_key_bytes, 1, KEY_BYTES_CEILING)
        _int("max_context_bytes", self.max_context_bytes, 64, 1 << 24)
        _int("max_siblings", self.max_siblings, 1, 1 << 16)
        check_choice("partitioning:", self.partitioning, PARTITIONING_STRATEGIES)
        _int("tokens_per_node", self.tokens_per_node, 1, 4096)
        _int("partitions", self.partitions, 1, 1 << 20)
        if self.partitioning == "strategy3" and self.partitions < len(names):
            raise ConfigError(
                f"partitions: strategy3 needs at least one partition per node "
                f"({len(names)}), got {self.partitions}"
            )
        _int("ring_seed", self.ring_seed, -(1 << 63), 1 << 63)
        for timing in ("request_timeout", "replica_timeout", "suspicion_timeout",
                       "gossip_interval", "hint_scan_interval", "anti_entropy_interval",
                       "flush_interval", "shadow_round_s"):
            object.__setattr__(self, timing, _seconds(timing, getattr(self, timing)))
        if self.replica_timeout >= self.request_timeout:
            raise ConfigError(
                f"replica_timeout: must be shorter than request_timeout "
                f"({self.request_timeout}), got {self.replica_timeout}"
            )
        check_choice("failure_detector:", self.failure_detector, FAILURE_DETECTORS)
        object.__setattr__(self, "phi_threshold", _positive("phi_threshold", self.phi_threshold))
        seeds: Any = self.seeds
        if isinstance(seeds, str | bytes) or not isinstance(seeds, tuple | list):
            raise ConfigError(f"seeds: must be a tuple of node names, got {seeds!r}")
        object.__setattr__(self, "seeds", tuple(check_node_name(s, "seeds") for s in seeds))
        if not isinstance(self.secret, bytes) or len(self.secret) < 16:
            raise ConfigError("secret: must be bytes of length >= 16 (the context HMAC key)")
        check_cluster_name(self.name)
        _flag("actor_epochs", self.actor_epochs)
        _flag("actor_per_start", self.actor_per_start)
        _flag("restore_guard", self.restore_guard)
        _flag("reap_checks", self.reap_checks)
        _int("retired_keep", self.retired_keep, -1, 1 << 20)
        slots: Any = self.ring_slots
        if isinstance(slots, str | bytes) or not isinstance(slots, tuple | list):
            raise ConfigError(f"ring_slots: must be a tuple of node names, got {slots!r}")
        slots = tuple(check_node_name(s, "ring_slots") for s in slots)
        if slots and (len(set(slots)) != len(slots) or not set(names) <= set(slots)
                      or self.partitioning != "evenly-spaced"):
            raise ConfigError("ring_slots: distinct names including every initial node, with "
                              f"partitioning 'evenly-spaced'; got {list(slots)!r}")
        object.__setattr__(self, "ring_slots", slots)
        check_choice("lww_timestamps:", self.lww_timestamps, LWW_TIMESTAMPS)
        check_choice("vclock_truncation:", self.vclock_truncation, VCLOCK_TRUNCATIONS)
        if self.delete_mode not in DELETE_MODES:
            raise ConfigError(f"delete_mode: must be one of {', '.join(DELETE_MODES)}; "
                              f"got {self.delete_mode!r}")
        object.__setattr__(self, "tombstone_grace_s",
                           _seconds("tombstone_grace_s", self.tombstone_grace_s))
        margin = self.lww_floor_margin_s
        if (isinstance(margin, bool) or not isinstance(margin, int | float)
                or not math.isfinite(margin) or margin < 0):
            raise ConfigError("lww_floor_margin_s: must be a finite number of seconds >= 0, "
                              f"got {margin!r}")
        object.__setattr__(self, "lww_floor_margin_s", float(margin))
        if self.join_handover not in JOIN_HANDOVERS:
            raise ConfigError(f"join_handover: must be one of {', '.join(JOIN_HANDOVERS)}; "
                              f"got {self.join_handover!r}")
        try:
            Truncation(self.vclock_threshold, self.vclock_max_pairs, self.vclock_young_s,
                       self.vclock_old_s)
        except ConfigError as error:
            raise ConfigError(f"vclock_{error}") from None
        largest = context_bytes_bound(self.vclock_max_pairs)
        if self.max_context_bytes < largest:
            raise ConfigError(
                f"max_context_bytes: must admit every context the cluster issues: "
                f"{self.vclock_max_pairs} pairs (vclock_max_pairs) take up to {largest} "
                f"bytes, got max_context_bytes={self.max_context_bytes}")
        _int("max_pending_requests", self.max_pending_requests, 1, 1 << 20)
        _int("max_pending_bytes", self.max_pending_bytes, 0, 1 << 40)
        _int("max_http_connections", self.max_http_connections, 1, 1 << 20)
        _int("max_peer_connections", self.max_peer_connections, 1, 1 << 20)
        for timing in ("http_header_timeout_s", "http_idle_timeout_s", "peer_hello_timeout_s",
                       "reach_grace_s"):
            object.__setattr__(self, timing, _seconds(timing, getattr(self, timing)))
        _int("http_min_body_rate", self.http_min_body_rate, 0, 1 << 30)
        _int("max_record_bytes", self.max_record_bytes, 0, 1 << 31)
        if self.max_record_bytes == 0:  # not given: derived
            object.__setattr__(self, "max_record_bytes", self._derived_record_limit())
        elif self.max_record_bytes < 1024:
            raise ConfigError(f"max_record_bytes: must be 0 (derived) or an integer in "
                              f"1024..{1 << 31}, got {self.max_record_bytes}")
        self._check_frame_limit()
        self._check_record_limit()
        self._check_pending_bytes()

    def _check_frame_limit(self) -> None:
        """``max_frame_bytes``: 0 derives it (:data:`DEFAULT_FRAME_BYTES`, more if
        the merged records need more); given, it must carry every record merges
        of puts within the limits make (:func:`replicable_frame_bytes`), or a
        key filled on k sides of a partition could never be replicated."""
        _int("max_frame_bytes", self.max_frame_bytes, 0, 1 << 31)
        needed = replicable_frame_bytes(self)
        if self.max_frame_bytes == 0:  # not given: derived (at most the largest accepted)
            object.__setattr__(self, "max_frame_bytes",
                               min(max(DEFAULT_FRAME_BYTES, needed), 1 << 31))
        elif self.max_frame_bytes < 1 << 16:
            raise ConfigError(f"max_frame_bytes: must be 0 (derived) or an integer in "
                              f"{1 << 16}..{1 << 31}, got {self.max_frame_bytes}")
        if needed > self.max_frame_bytes:
            sides = merge_sides(self)
            raise ConfigError(
                f"max_value_bytes, max_siblings, max_record_bytes, max_key_bytes, "
                f"max_context_bytes: a record within these limits ({self.max_value_bytes} B "
                f"values, up to {sides * self.max_siblings} siblings or "
                f"{merged_record_bytes(self)} B once the records of {sides} nodes merge) "
                f"may need a {needed} B frame, over max_frame_bytes "
                f"({self.max_frame_bytes}); it could never be replicated: lower "
                f"max_value_bytes, max_siblings or max_record_bytes, or raise "
                f"max_frame_bytes"
            )

    def _one_value_record(self) -> int:
        """The bytes of a record holding one value of ``max_value_bytes``."""
        return self.max_value_bytes + sibling_bytes(self) + 64  # + the record's header

    def _derived_record_limit(self) -> int:
        """``max_record_bytes`` when it is not given: :data:`DEFAULT_RECORD_BYTES`,
        or less when ``request_timeout`` x :data:`RECORD_BYTES_PER_SECOND` is less
        (a 0.5 s timeout: 2 MiB), never less than one value's record (if that is
        over what the timeout allows, :meth:`_check_record_limit` refuses the
        configuration naming ``max_value_bytes``). Before this, a configuration
        with ``request_timeout`` under 1 s and the default limits was refused."""
        in_time = record_bytes_in(self.request_timeout)
        return max(min(DEFAULT_RECORD_BYTES, in_time), self._one_value_record())

    def _check_record_limit(self) -> None:
        """``max_record_bytes`` must admit one value of ``max_value_bytes`` (else a
        value within its limit could never be stored) and be replicable within
        ``request_timeout`` at :data:`RECORD_BYTES_PER_SECOND` (else a record the
        cluster accepts times out: a 504 for a put merely because its record is
        large; session 12's probe). ConfigError names the fields."""
        one_value = self._one_value_record()
        in_time = record_bytes_in(self.request_timeout)
        if one_value > in_time:
            raise ConfigError(
                f"max_value_bytes, request_timeout: a record holding one value of "
                f"max_value_bytes ({self.max_value_bytes} B) may take {one_value} B, which "
                f"cannot be replicated within request_timeout ({self.request_timeout} s) at "
                f"the assumed {RECORD_BYTES_PER_SECOND} B/s (at most {in_time} B): its puts "
                f"would time out (504) merely because the value is large: lower "
                f"max_value_bytes or raise request_timeout")
        if one_value > self.max_record_bytes:
            raise ConfigError(
                f"max_value_bytes, max_record_bytes: a record holding one value of "
                f"max_value_bytes ({self.max_value_bytes} B) may take {one_value} B, over "
                f"max_record_bytes ({self.max_record_bytes}); a value within its limit "
                f"could never be stored: lower max_value_bytes or raise max_record_bytes")
        if self.max_record_bytes > in_time:
            raise ConfigError(
                f"max_record_bytes, request_timeout: a record of max_record_bytes "
                f"({self.max_record_bytes} B) cannot be replicated within request_timeout "
                f"({self.request_timeout} s) at the assumed {RECORD_BYTES_PER_SECOND} B/s "
                f"(at most {in_time} B); its puts would time out (504) merely because "
                f"the record is large: lower max_record_bytes or raise request_timeout")

    def _check_pending_bytes(self) -> None:
        """``max_pending_bytes``: 0 derives it (:meth:`_derived_pending_bytes`);
        given, it must admit one put of ``max_value_bytes`` (a node with nothing in
        flight admits any put, so a smaller limit would refuse such puts whenever
        another put is in flight: a value within its limit failing 503 for want
        of room no put could ever have)."""
        if self.max_pending_bytes == 0:
            object.__setattr__(self, "max_pending_bytes", self._derived_pending_bytes())
        elif self.max_pending_bytes < self.max_value_bytes:
            raise ConfigError(
                f"max_pending_bytes: must be 0 (derived) or at least max_value_bytes "
                f"({self.max_value_bytes}): a put of a value within its limit must fit the "
                f"bytes a node has in flight; got {self.max_pending_bytes}")

    def _derived_pending_bytes(self) -> int:
        """``max_pending_bytes`` when it is not given: what the cluster replicates
        within ``request_timeout`` at :data:`RECORD_BYTES_PER_SECOND`, divided by
        ``n`` (each node also stores the records of the puts other nodes
        coordinate, ``n - 1`` replicas of each), and at least one value's record
        (1,398,101 B with the defaults: one 1 MiB put at a time, or a thousand
        small ones). The puts admitted then end within their timeout on a host
        not loaded beyond that rate's assumption, and the rest are refused at once
        (503, retry-safe) rather than all timing out together (504, outcome
        unknown; session 22's service probe, docs/runtime.md "Service probe
        (session 23)")."""
        in_time = record_bytes_in(self.request_timeout) // self.n
        return max(in_time, self._one_value_record())

    # ------------------------------------------------------------------ derived

    @property
    def truncation(self) -> Truncation:
        """The clock truncation policy of the vector-clock modes (one value per
        setting, built and checked once: asked at every put, session 31)."""
        young, old = self.vclock_young_s, self.vclock_old_s
        return _truncation(self.vclock_threshold, self.vclock_max_pairs, young, old,
                           (math.copysign(1.0, young), math.copysign(1.0, old)))

    @property
    def context_secret(self) -> bytes:
        """The key of this cluster's contexts: the secret bound to ``name``
        (:func:`impl.context.context_key`; a context of another cluster sharing the
        secret is refused)."""
        return context_key(self.secret, self.name, DEFAULT_CLUSTER_NAME)

    @property
    def retry_after_s(self) -> int:
        """The Retry-After (whole seconds) of a request refused for overload."""
        return max(1, math.ceil(self.request_timeout))

    @property
    def seed_nodes(self) -> tuple[str, ...]:
        """The nodes a joining node gossips with first."""
        return self.seeds or self.nodes

    def slot_tokens(self, node: str) -> tuple[int, ...] | None:
        """The token of ``node``'s slot in ``ring_slots`` (None: no slot for it)."""
        if node not in self.ring_slots:
            return None
        return Ring.evenly_spaced(list(self.ring_slots)).tokens_of(node)

    def initial_partitioning(self) -> Partitioning:
        """The initial ring: a pure function of this configuration."""
        rng = random.Random(self.ring_seed)
        nodes = list(self.nodes)
        if self.partitioning == "evenly-spaced" and self.ring_slots:
            slots = Ring.evenly_spaced(list(self.ring_slots))
            ring = Ring.from_tokens({node: slots.tokens_of(node) for node in nodes})
            return Partitioning(Strategy.RANDOM_TOKENS, ring, 1)
        if self.partitioning == "evenly-spaced":
            return Partitioning(Strategy.RANDOM_TOKENS, Ring.evenly_spaced(nodes), 1)
        if self.partitioning == "strategy1":
            return strategy1(nodes, self.tokens_per_node, rng)
        if self.partitioning == "strategy2":
            return strategy2(nodes, self.tokens_per_node, self.partitions, rng)
        return strategy3(nodes, self.partitions, rng)

    def partitioning_of(self, ring: Ring) -> Partitioning:
        """Wrap a ring learned by gossip in this configuration's strategy."""
        if self.partitioning == "evenly-spaced":
            return Partitioning(Strategy.RANDOM_TOKENS, ring, 1)
        if self.partitioning == "strategy1":
            return Partitioning(Strategy.RANDOM_TOKENS, ring, self.tokens_per_node)
        if self.partitioning == "strategy2":
            return Partitioning(Strategy.RANDOM_TOKENS_EQUAL_PARTITIONS, ring,
                                self.tokens_per_node, self.partitions)
        return Partitioning(Strategy.EQUAL_PARTITIONS, ring,
                            max(1, self.partitions // len(ring.nodes)), self.partitions)

    def replace(self, **changes: Any) -> ClusterConfig:
        """A copy with some fields changed (validated again)."""
        return ClusterConfig(**replace_fields(self, changes, "ClusterConfig"))
