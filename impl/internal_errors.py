"""Errors of ours, told apart from a peer's bad data.

The boundary is exact. A frame read from a peer is the peer's input until it is a
valid message: :mod:`impl.wire` decodes it, the message's constructor checks its
fields, and :meth:`impl.node.Node.receive` checks its type and sender and re-runs
those checks; a failure there is the peer's fault (dropped and counted as
``dropped``; the runtime counts a frame that does not decode as a dropped frame).
Once a valid message is handed to its handler, an exception raised while handling
it is an internal error (a bug of ours), with one kind of exception:
:class:`~impl.errors.PeerDataError`, raised only at the places named in
:data:`PEER_DATA`, where a handler decodes or checks data nested in the message
that its constructor cannot check (it needs the cluster's configuration, the
node's membership or its Merkle tree). A :class:`~impl.errors.StorageError` is
neither: the engine failed, and it is counted as ``storage-error``.

Internal errors are counted as ``stats["internal-error"]`` (exported as
``vdynamo_internal_errors_total`` by :mod:`impl.metrics`) and logged at ERROR on
the ``vdynamo.internal`` logger, with the traceback; the test suite fails every
test that logs one (``tests/conftest.py``) and every test whose server processes
logged one (``tests/runtime/procs.py``), so that a mechanism cannot hide a bug by
looking like bad input (issue: refinement that bites, section 1).
"""

from __future__ import annotations

import collections
import logging

from impl.errors import DynamoError, InvalidValueError, PeerDataError

__all__ = ["INTERNAL_LOG", "PEER_DATA", "peer_data_error", "report_internal_error"]

INTERNAL_LOG = logging.getLogger("vdynamo.internal")
"""Errors of ours found while handling a peer's message (never the peer's bad data)."""

PEER_DATA: dict[str, str] = {
    "record": "a record (ReplicaPut, ReplicaGetReply, ReadRepair, HintDelivery, KeyRecords, "
              "Reap, ReapQuery) that does not decode, is of another clock mode, or is over "
              "a limit (key, value, siblings): impl.replica.Replica.decode",
    "key": "a ReplicaGet key over the configured limit: impl.replica.Replica.on_replica_get",
    "hint": "a ReplicaPut hint naming a node this node does not know: "
            "impl.replica.Replica.on_replica_put",
    "view": "a Gossip view that does not parse, or that merged with this node's view gives "
            "one token to two members: impl.gossip.Gossiper.on_gossip",
    "seen": "a SeenDigest that does not parse: impl.gossip.Gossiper.on_seen",
    "merkle": "a MerkleExchange step that does not fit this node's tree of the range "
              "(shape, level, parents, indexes, hashes, bucket entries): "
              "impl.antientropy.AntiEntropy.on_merkle_exchange",
    "ack": "a ReplicaPutAck that counts for no target of its put: "
           "impl.put_coordinator.PutCoordinator.on_ack",
}
"""The peer's faults by design, found by a handler: name -> what and where. Each
place raises :class:`~impl.errors.PeerDataError` through :func:`peer_data_error`."""


def peer_data_error(what: str, error: DynamoError) -> PeerDataError:
    """``error`` (raised decoding or checking the data :data:`PEER_DATA` names
    ``what``) as the peer's fault, with the same message. Raises InvalidValueError
    for a ``what`` that :data:`PEER_DATA` does not name (a new case must be named)."""
    if what not in PEER_DATA:
        raise InvalidValueError(f"peer data: {what!r} is not a case of PEER_DATA "
                                f"({', '.join(PEER_DATA)})")
    if isinstance(error, PeerDataError):
        return error
    return PeerDataError(str(error), what=what)


def report_internal_error(name: str, now: float, stats: collections.Counter[str],
                          log: collections.deque[str], src: str, message: object,
                          error: BaseException) -> None:
    """Count and log an error of node ``name``'s own while it handled ``message``
    (valid, from peer ``src``): ``stats["internal-error"]``, a line in the
    node's ``log``, and ERROR with the traceback on :data:`INTERNAL_LOG`."""
    stats["internal-error"] += 1
    log.append(f"{now:.3f} INTERNAL ERROR handling {type(message).__name__} "
               f"from {src!r}: {error!r}")
    INTERNAL_LOG.error("%s: internal error handling %s from %s", name,
                       type(message).__name__, src, exc_info=error)
