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

The rules of a PEER_DATA place (issue 12, review findings F3 and F4):

- *Only the peer's data inside the try.* The ``try`` that turns an exception into
  PeerDataError holds exactly the decoding of the peer's data and the checks of it,
  never our own logic after them (a merge of views, a comparison with our Merkle
  tree, the counting of a record's siblings); a check that is not a decoder's
  raises :func:`peer_data_error` itself. What our logic raises after the checks
  passed is an internal error.
- *A check against our own state blames the peer only when no race and no bug of
  ours explains the mismatch.* An answer that comes after the thing it answers
  ended (a late or duplicate ack of a put that ended, a Merkle step about a range
  this node no longer holds, a hint ack for a hint already gone) is the normal
  late path: ignored quietly, as riak_kv's put FSM adds late vnode replies in its
  ``postcommit``/``finish`` states and drops those that come after it exited
  (``riak_kv_put_fsm.erl``). Data malformed in itself (or against the cluster's
  configuration, which every node shares) is PeerDataError. A mismatch our own
  records can explain is checked first: if our records contradict themselves the
  error is ours (internal), and only records that agree blame the peer.

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

__all__ = ["INTERNAL_LOG", "MEMORY_LOG", "PEER_DATA", "out_of_memory", "peer_data_error",
           "report_internal_error"]

INTERNAL_LOG = logging.getLogger("vdynamo.internal")
"""Errors of ours found while handling a peer's message (never the peer's bad data)."""

MEMORY_LOG = logging.getLogger("vdynamo.memory")
"""A MemoryError where an internal error would be reported (:func:`out_of_memory`)."""

PEER_DATA: dict[str, str] = {
    "record": "a record (ReplicaPut, ReplicaGetReply, ReadRepair, HintDelivery, KeyRecords, "
              "Reap, ReapQuery) that does not decode, is of another clock mode, or is over "
              "a limit (key, value, siblings): malformed in itself or against the "
              "configuration; the decoding in the try, the limits raised outside it: "
              "impl.replica.Replica.decode",
    "key": "a ReplicaGet key over the configured limit (no correct coordinator sends "
           "one: it checks the client's key against the same limit): "
           "impl.replica.Replica.on_replica_get",
    "hint": "a ReplicaPut hint naming a node this node has never heard of (neither "
            "configured nor gossiped): refused (no hint taken, no ack; the coordinator's "
            "timer sends the write to the next fallback). Like a message from a node "
            "not heard of yet (impl.node.Node.receive), it can also be the race of a "
            "join gossip has not brought here yet, so a drop counted here proves no "
            "bad peer: impl.replica.Replica.on_replica_put",
    "view": "a Gossip view that does not parse, with an entry version at or over "
            "impl.membership.PEER_VERSION_LIMIT (2**62: a version no node announces, "
            "impl.membership.Membership.announce refuses it; honest versions never get "
            "near it: impl.membership.check_peer_versions), or whose entries newer than "
            "this node's give one token to two members (impl.membership.merge_conflict, computed "
            "from the two views, not by our merge; a conflict between two entries of "
            "this node's own view is ours, InvalidValueError); the merge and the merged "
            "ring are outside the try: impl.gossip.Gossiper.on_gossip",
    "seen": "a SeenDigest that does not parse: impl.gossip.Gossiper.on_seen",
    "beats": "a Gossip's heartbeats that do not parse (impl.membership.beats_from_bytes: "
             "not JSON, another format, over 4096 entries, a heartbeat not [generation, "
             "version] of ints in [0, 2**63)): impl.node.Node._take_beats",
    "generations": "a Gossip's relayed store generations that do not parse "
                   "(impl.restore_guard.generations_from_bytes: not JSON, another format, "
                   "over 4096 entries, a generation not '<count>.<token>'; session 50): "
                   "impl.node.Node._relayed_generations",
    "retired": "a Gossip's retired lifetime actors, or those a ReplicaPut, ReadRepair, "
               "HintDelivery or KeyRecords carries with its records, that do not parse "
               "(impl.versions.decode_retired: not UTF-8, over 4096 lines, a line not "
               "'<rank> <actor>' with a decimal rank in [0, 2**63) and an actor "
               "'<prefix>~<12 hex digits>' of at most 255 bytes): impl.node.Node._take_retired",
    "merkle": "a MerkleExchange step malformed for the tree shape it names, or naming a "
              "shape (fanout, depth) other than this node's tree of the range "
              "(impl.merkle.check: the message's fields against the shape, never the "
              "tree's contents; the protocol keeps no session, so no race makes one); "
              "a step about a range this node does not hold is ignored "
              "(anti-entropy-unknown-range), the comparison with the tree "
              "(impl.merkle.answer) is outside the try: "
              "impl.antientropy.AntiEntropy.on_merkle_exchange",
    "ack": "a ReplicaPutAck of a live put, with its key, that counts for no target "
           "(impl.put_coordinator.ack_counts: a node the put never sent the write to, "
           "or another hint), once the put's own records of its sends agree "
           "(impl.put_coordinator.sends_error; records that contradict each other are "
           "ours, AssertionError); an ack of a put that ended, or naming another key "
           "(an op id reused from an earlier lifetime), is a late ack, ignored "
           "(counted as late-acks): "
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
    (valid, from peer ``src``; or a timer of its own, ``src`` ``"timer"``:
    :meth:`impl.node.Node.fire`): ``stats["internal-error"]``, a line in the
    node's ``log``, and ERROR with the traceback on :data:`INTERNAL_LOG`.

    The process running out of memory (:func:`out_of_memory`) is no bug of ours:
    counted as ``stats["out-of-memory"]`` and logged at ERROR on :data:`MEMORY_LOG`
    without a traceback, naming what to do. Before session 32's service probe a
    node under ``prlimit --as`` counted 16 to 19 internal errors in one burst of 1 MB
    requests, each an "internal error" traceback (``vdynamo_internal_errors_total``,
    which alerts on bugs) and, through HTTP, a 500 ``InternalError``."""
    if out_of_memory(error):
        stats["out-of-memory"] += 1
        log.append(f"{now:.3f} OUT OF MEMORY handling {type(message).__name__} "
                   f"from {src!r}")
        MEMORY_LOG.error("%s: out of memory handling %s from %s (MemoryError): the "
                         "process reached its memory limit (ulimit -v, a cgroup); give "
                         "it more memory or lower max_pending_bytes", name,
                         type(message).__name__, src)
        return
    stats["internal-error"] += 1
    log.append(f"{now:.3f} INTERNAL ERROR handling {type(message).__name__} "
               f"from {src!r}: {error!r}")
    INTERNAL_LOG.error("%s: internal error handling %s from %s", name,
                       type(message).__name__, src, exc_info=error)


def out_of_memory(error: BaseException) -> bool:
    """Whether ``error`` is a MemoryError, or was raised while handling one (the
    HTTP parser wraps its callbacks' exceptions: ``HttpParserCallbackError`` whose
    context is the MemoryError); a chain of at most 8 is looked at."""
    seen: BaseException | None = error
    for _ in range(8):
        if seen is None:
            return False
        if isinstance(seen, MemoryError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False
