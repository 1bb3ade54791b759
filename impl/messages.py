"""Messages of the production node: client requests and peer messages.

Theory of operation
-------------------
Every message is a frozen value validated in its constructor (the h11 way): a
message that exists is well-formed as far as its own fields go (types, ranges,
non-empty names). What depends on the cluster (a key over the configured limit,
R above N, a node the membership does not know, a context this cluster did not
issue) is checked by the node where the message enters its core
(:mod:`impl.node`). A bad client request raises :class:`BadRequestError`; a bad
peer message raises :class:`BadMessageError`; :mod:`impl.wire` turns either into
a :class:`BadMessageError` for a frame read from the network.

Client requests: :class:`GetRequest`, :class:`PutRequest`.

Peer messages (``op_id`` pairs a request with its answer at the sender):

- :class:`Forward` / :class:`ForwardReply`: a node that is not among a key's
  top N hands a client request to the first reachable one (the coordinator).
- :class:`ForwardClaim` / :class:`ForwardGrant`: before it coordinates a
  forwarded put, the coordinator asks the forwarder whether it may (the forwarder
  grants a put to one coordinator at most, and only while its client waits:
  :mod:`impl.forwarding`); :class:`ForwardDecline`: a grant that came too late,
  given back.
- :class:`ReplicaPut` / :class:`ReplicaPutAck`: the coordinator's write of a
  key's record at a replica. ``hint`` names the intended node when the receiver
  is a sloppy-quorum fallback; the ack echoes it (a fallback's ack counts only
  when it kept the hint).
- :class:`ReplicaGet` / :class:`ReplicaGetReply`: the coordinator's read.
- :class:`ReadRepair`: the reconciled record sent to a stale replica after a get.
- :class:`HintDelivery` / :class:`HintAck`: hinted handoff to the intended node;
  the fallback deletes the hint only on the ack.
- :class:`Gossip`: membership views (push-pull).
- :class:`SeenDigest`: what each member has seen of the membership (push-pull,
  while a ring change is in progress: riak_core's ring ``seen`` list).
- :class:`MerkleExchange` / :class:`KeyRecords`: anti-entropy (roots first, then
  only differing subtrees, then the records of only the out-of-sync keys).

Records (``record`` fields) are the bytes of :func:`impl.versions.encode_record`;
an empty ``record`` means "no record".
"""

from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass
from typing import Any, TypeVar

from impl.errors import BadMessageError, BadRequestError
from impl.held import keep
from impl.quick_init import quick_init

__all__ = [
    "CLIENT_MESSAGES",
    "PEER_MESSAGES",
    "ClientRequest",
    "Forward",
    "ForwardClaim",
    "ForwardDecline",
    "ForwardGrant",
    "ForwardReply",
    "GetRequest",
    "Gossip",
    "HandoffDone",
    "HintAck",
    "HintDelivery",
    "KeyRecords",
    "MerkleExchange",
    "PeerMessage",
    "PutRequest",
    "ReadRepair",
    "Reap",
    "ReapQuery",
    "ReapQueryReply",
    "ReplicaGet",
    "ReplicaGetReply",
    "ReplicaPut",
    "ReplicaPutAck",
    "ReplicaPutFailed",
    "SeenDigest",
    "Settled",
    "delete_request",
    "parse_generation",
    "with_generations",
]

MAX_ID = (1 << 63) - 1
MAX_NAME = 255
#: the longest engine error a :class:`ReplicaPutFailed` carries (characters)
MAX_FAILURE_TEXT = 1000


# ---------------------------------------------------------------------------- checks


def _name_ok(value: object) -> bool:
    """The fast form of :meth:`_Checker.text` for the valid case (no subclasses)."""
    return type(value) is str and len(value) <= MAX_NAME and value.isprintable()


def _fail(error: type[Exception], cls: str, name: str, problem: str) -> Exception:
    return error(f"{cls}.{name}: {problem}")


class _Checker:
    """Field checks that raise ``error`` naming the message type and field."""

    __slots__ = ("cls", "error")

    def __init__(self, owner: object, error: type[Exception]) -> None:
        self.cls = type(owner).__name__
        self.error = error

    def ident(self, name: str, value: object) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise _fail(self.error, self.cls, name, f"must be an int, got {type(value).__name__}")
        if not 0 <= value <= MAX_ID:
            raise _fail(self.error, self.cls, name, f"must be in [0, 2**63), got {value}")
        return value

    def count(self, name: str, value: object, low: int = 0) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise _fail(self.error, self.cls, name, f"must be an int, got {type(value).__name__}")
        if not low <= value <= MAX_ID:
            raise _fail(self.error, self.cls, name, f"must be >= {low}, got {value}")
        return value

    def optional_count(self, name: str, value: object, low: int) -> int | None:
        return None if value is None else self.count(name, value, low)

    def data(self, name: str, value: object, *, non_empty: bool = False) -> bytes:
        if not isinstance(value, bytes):
            raise _fail(self.error, self.cls, name, f"must be bytes, got {type(value).__name__}")
        if non_empty and not value:
            raise _fail(self.error, self.cls, name, "must not be empty")
        return value

    def text(self, name: str, value: object, *, non_empty: bool = False) -> str:
        if not isinstance(value, str):
            raise _fail(self.error, self.cls, name, f"must be a str, got {type(value).__name__}")
        if non_empty and not value:
            raise _fail(self.error, self.cls, name, "must not be empty")
        if len(value) > MAX_NAME or not value.isprintable():
            raise _fail(self.error, self.cls, name, "must be at most 255 printable characters")
        return value

    def flag(self, name: str, value: object) -> bool:
        if not isinstance(value, bool):
            raise _fail(self.error, self.cls, name, f"must be a bool, got {type(value).__name__}")
        return value

    def seconds(self, name: str, value: object) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise _fail(self.error, self.cls, name, f"must be a number, got {value!r}")
        if not math.isfinite(value):
            raise _fail(self.error, self.cls, name, f"must be finite, got {value!r}")
        return float(value)

    def tuple_of(self, name: str, value: object, kind: type) -> tuple[Any, ...]:
        if not isinstance(value, tuple):
            raise _fail(self.error, self.cls, name, f"must be a tuple, got {type(value).__name__}")
        for item in value:
            if not isinstance(item, kind):
                raise _fail(self.error, self.cls, name,
                            f"items must be {kind.__name__}, got {type(item).__name__}")
        return value


# ---------------------------------------------------------------------------- client


@quick_init
@dataclass(frozen=True, slots=True)
class GetRequest:
    """A client's get: the siblings of ``key`` and one context.

    ``r`` overrides the cluster's R for this request (``1..n``); ``client_id``
    names the client (used by the client-vclock mode and in logs); ``pr``
    overrides the cluster's PR (``0..n``: how many of the answers must come from
    the key's top N themselves; :class:`impl.config.ClusterConfig`, Riak's ``pr``).
    """

    request_id: int
    key: bytes
    r: int | None = None
    client_id: str = ""
    pr: int | None = None

    def __post_init__(self) -> None:
        if ((type(self.request_id) is int and 0 <= self.request_id <= MAX_ID) and
                (type(self.key) is bytes and self.key) and
                (self.r is None or (type(self.r) is int and 1 <= self.r <= MAX_ID)) and
                _name_ok(self.client_id) and
                (self.pr is None or (type(self.pr) is int and 0 <= self.pr <= MAX_ID))):
            return  # the common, valid case, checked cheaply
        check = _Checker(self, BadRequestError)
        check.ident("request_id", self.request_id)
        check.data("key", self.key, non_empty=True)
        check.optional_count("r", self.r, 1)
        check.text("client_id", self.client_id)
        check.optional_count("pr", self.pr, 0)


@quick_init
@dataclass(frozen=True, slots=True)
class PutRequest:
    """A client's put of ``value`` under ``key``.

    ``context`` is the opaque context of an earlier get (``b""``: a blind write
    that supersedes nothing); ``w`` overrides the cluster's W (``1..n``);
    ``client_id`` names the client (the client-vclock mode increments the entry of
    the coordinator's actor and this client: :func:`spec.vclock.client_entry`);
    ``client_counter`` is the counter the client sends (its number of puts so far):
    checked and carried, but since session 23 it counts for nothing (the
    coordinator counts the pair's entry, so that what a client remembers cannot
    make two writes share a dot; docs/runtime.md, "client-vclock counters unique
    (session 23)"); ``pw`` overrides the cluster's PW (``0..n``: how many of the
    acknowledgements must come from the key's top N themselves, not from a
    fallback holding a hint; :class:`impl.config.ClusterConfig`, Riak's ``pw``).
    """

    request_id: int
    key: bytes
    value: bytes
    context: bytes = b""
    w: int | None = None
    client_id: str = ""
    client_counter: int = 0
    #: a delete: ``value`` must be ``b""``; the coordinator writes a tombstone
    #: under ``context`` (see :func:`delete_request`)
    delete: bool = False
    pw: int | None = None

    def __post_init__(self) -> None:
        if ((type(self.request_id) is int and 0 <= self.request_id <= MAX_ID) and
                (type(self.key) is bytes and self.key) and
                type(self.value) is bytes and type(self.delete) is bool and
                (not self.delete or not self.value) and
                type(self.context) is bytes and
                (self.w is None or (type(self.w) is int and 1 <= self.w <= MAX_ID)) and
                _name_ok(self.client_id) and
                (type(self.client_counter) is int and 0 <= self.client_counter <= MAX_ID) and
                (self.pw is None or (type(self.pw) is int and 0 <= self.pw <= MAX_ID))):
            return  # the common, valid case, checked cheaply
        check = _Checker(self, BadRequestError)
        check.ident("request_id", self.request_id)
        check.data("key", self.key, non_empty=True)
        check.data("value", self.value)
        check.data("context", self.context)
        check.optional_count("w", self.w, 1)
        check.text("client_id", self.client_id)
        check.ident("client_counter", self.client_counter)
        check.flag("delete", self.delete)
        check.optional_count("pw", self.pw, 0)
        if self.delete and self.value:
            raise _fail(BadRequestError, "PutRequest", "value",
                        "a delete carries no value (b\"\")")


def delete_request(request_id: int, key: bytes, context: bytes = b"", w: int | None = None,
                   client_id: str = "", client_counter: int = 0, *,
                   pw: int | None = None) -> PutRequest:
    """A client's delete of ``key``: a put of a tombstone superseding what ``context``
    (an earlier get's) covers; acknowledged like a put, by W replicas (PW of them
    primaries). A delete with no context supersedes nothing (a blind delete only
    adds a tombstone sibling)."""
    return PutRequest(request_id, key, b"", context, w, client_id, client_counter,
                      delete=True, pw=pw)


ClientRequest = GetRequest | PutRequest
CLIENT_MESSAGES: tuple[type, ...] = (GetRequest, PutRequest)


# ---------------------------------------------------------------------------- peers


@quick_init
@dataclass(frozen=True, slots=True)
class Forward:
    """A client request handed to a key's coordinator by a node not in its top N."""

    op_id: int
    request: GetRequest | PutRequest

    def __post_init__(self) -> None:
        if ((type(self.op_id) is int and 0 <= self.op_id <= MAX_ID) and
                type(self.request) in CLIENT_MESSAGES):
            return  # the common, valid case, checked cheaply
        check = _Checker(self, BadMessageError)
        check.ident("op_id", self.op_id)
        if not isinstance(self.request, GetRequest | PutRequest):
            raise BadMessageError("Forward.request: must be a GetRequest or a PutRequest")


@quick_init
@dataclass(frozen=True, slots=True)
class ForwardClaim:
    """A coordinator's question to the node that forwarded it the put ``op_id``:
    may it coordinate that put now? (:meth:`impl.forwarding.Forwarder.on_claim`)
    ``claim_id`` (the coordinator's own id for this claim) tells a copy of the
    claim, answered again, from a second claim of the same put, refused."""

    op_id: int
    claim_id: int

    def __post_init__(self) -> None:
        check = _Checker(self, BadMessageError)
        check.ident("op_id", self.op_id)
        check.ident("claim_id", self.claim_id)


@quick_init
@dataclass(frozen=True, slots=True)
class ForwardGrant:
    """The forwarder's answer to the :class:`ForwardClaim` ``claim_id``: ``granted``
    true for the one claim that may coordinate the put ``op_id`` (its copies are
    answered the same), false to every other claim (the client was answered, the
    forwarder gave up on that coordinator, or it granted the put already)."""

    op_id: int
    claim_id: int
    granted: bool

    def __post_init__(self) -> None:
        check = _Checker(self, BadMessageError)
        check.ident("op_id", self.op_id)
        check.ident("claim_id", self.claim_id)
        check.flag("granted", self.granted)


@quick_init
@dataclass(frozen=True, slots=True)
class ForwardDecline:
    """A coordinator's word to the forwarder that granted it the put ``op_id``:
    the grant came too late and it will never coordinate that put, so the
    forwarder may hand it to the next node (:meth:`impl.forwarding.Forwarder.on_decline`)."""

    op_id: int

    def __post_init__(self) -> None:
        _Checker(self, BadMessageError).ident("op_id", self.op_id)


@quick_init
@dataclass(frozen=True, slots=True)
class ForwardReply:
    """The coordinator's answer to a :class:`Forward`.

    ``kind`` is ``"get"`` or ``"put"``; on success ``values`` (get) and
    ``context``; on failure ``error`` is the failure's code (an
    :class:`impl.errors.ErrorCode` value, mapped back by :func:`impl.errors.error_of`;
    never a class name) and ``message`` says what went wrong.
    """

    op_id: int
    kind: str
    values: tuple[bytes, ...] = ()
    context: bytes = b""
    error: str = ""
    message: str = ""

    def __post_init__(self) -> None:
        check = _Checker(self, BadMessageError)
        check.ident("op_id", self.op_id)
        if self.kind not in ("get", "put"):
            raise BadMessageError(f"ForwardReply.kind: must be 'get' or 'put', got {self.kind!r}")
        check.tuple_of("values", self.values, bytes)
        check.data("context", self.context)
        check.text("error", self.error)
        if not isinstance(self.message, str):
            raise BadMessageError("ForwardReply.message: must be a str")


@quick_init
@dataclass(frozen=True, slots=True)
class ReplicaPut:
    """The coordinator's write of ``record`` for ``key``; ``hint`` names the
    intended node when the receiver stands in for it (sloppy quorum)."""

    op_id: int
    key: bytes
    record: bytes
    hint: str = ""
    #: dvv: the retired lifetime actors the sender knows among the entries of the
    #: record(s) it sends, and of those it pruned from them
    #: (:func:`impl.versions.encode_retired`; b"": none), taken by the receiver before
    #: it merges so that it prunes the same entries (:mod:`impl.retired`; session 33)
    retired: bytes = b""

    def __post_init__(self) -> None:
        if ((type(self.op_id) is int and 0 <= self.op_id <= MAX_ID) and
                (type(self.key) is bytes and self.key) and
                (type(self.record) is bytes and self.record) and
                _name_ok(self.hint) and type(self.retired) is bytes):
            return  # the common, valid case, checked cheaply
        check = _Checker(self, BadMessageError)
        check.ident("op_id", self.op_id)
        check.data("key", self.key, non_empty=True)
        check.data("record", self.record, non_empty=True)
        check.text("hint", self.hint)
        check.data("retired", self.retired)


@quick_init
@dataclass(frozen=True, slots=True)
class ReplicaPutAck:
    """A replica stored a :class:`ReplicaPut` durably (as a hint for ``hint`` if set).

    ``record`` (client-vclock and lww; ``b""`` otherwise) is, in client-vclock,
    the replica's own record of the key when it kept none of the put's version:
    its stored clocks dominate the one the coordinator minted. The coordinator of
    a put still unanswered re-mints it above the client's counter in that record
    (a client that forgot its counter writing through a coordinator that missed
    its last version: :meth:`impl.put_coordinator.PutCoordinator.on_ack`). In lww
    it is the replica's floor of the key, as a tombstone record stamped with it,
    when the put's version is stamped at or below it; the coordinator of a put
    still unanswered mints it again above (session 25:
    :meth:`impl.replica.Replica._lww_ack`)."""

    op_id: int
    key: bytes
    hint: str = ""
    record: bytes = b""

    def __post_init__(self) -> None:
        if ((type(self.op_id) is int and 0 <= self.op_id <= MAX_ID) and
                (type(self.key) is bytes and self.key) and
                _name_ok(self.hint) and type(self.record) is bytes):
            return  # the common, valid case, checked cheaply
        check = _Checker(self, BadMessageError)
        check.ident("op_id", self.op_id)
        check.data("key", self.key, non_empty=True)
        check.text("hint", self.hint)
        check.data("record", self.record)


@quick_init
@dataclass(frozen=True, slots=True)
class ReplicaPutFailed:
    """A replica (or a fallback, for ``hint``) did not store a :class:`ReplicaPut`
    durably: its engine failed the write (a full disk), or a write it was committed
    behind did. Its coordinator counts that target's part failed at once instead of
    waiting ``replica_timeout`` for an ack that never comes: the part goes to the
    next fallback, or the put fails when W can no longer be met (Riak's put FSM
    counts a vnode's ``{error, ...}`` reply as one failed reply; session 50).
    ``error``: the engine's error, cut to :data:`MAX_FAILURE_TEXT` characters. Sent
    by the driver (:func:`impl.staging.failed_effects`) in place of the
    :class:`ReplicaPutAck` the failed write held back; the replica may still hold
    the version (a later commit of it), which only makes the put's outcome
    unknown, as a silent replica does."""

    op_id: int
    key: bytes
    hint: str = ""
    error: str = ""

    def __post_init__(self) -> None:
        check = _Checker(self, BadMessageError)
        check.ident("op_id", self.op_id)
        check.data("key", self.key, non_empty=True)
        check.text("hint", self.hint)
        if not isinstance(self.error, str) or len(self.error) > MAX_FAILURE_TEXT:
            raise BadMessageError(
                f"ReplicaPutFailed.error: must be a str of at most {MAX_FAILURE_TEXT} "
                "characters")


@quick_init
@dataclass(frozen=True, slots=True)
class ReplicaGet:
    """The coordinator's read of ``key`` at a replica."""

    op_id: int
    key: bytes

    def __post_init__(self) -> None:
        if ((type(self.op_id) is int and 0 <= self.op_id <= MAX_ID) and
                (type(self.key) is bytes and self.key)):
            return  # the common, valid case, checked cheaply
        check = _Checker(self, BadMessageError)
        check.ident("op_id", self.op_id)
        check.data("key", self.key, non_empty=True)


@quick_init
@dataclass(frozen=True, slots=True)
class ReplicaGetReply:
    """A replica's record for ``key`` (``b""``: it holds none)."""

    op_id: int
    key: bytes
    record: bytes = b""

    def __post_init__(self) -> None:
        if ((type(self.op_id) is int and 0 <= self.op_id <= MAX_ID) and
                (type(self.key) is bytes and self.key) and
                type(self.record) is bytes):
            return  # the common, valid case, checked cheaply
        check = _Checker(self, BadMessageError)
        check.ident("op_id", self.op_id)
        check.data("key", self.key, non_empty=True)
        check.data("record", self.record)


@quick_init
@dataclass(frozen=True, slots=True)
class ReadRepair:
    """The reconciled record of ``key``, sent after a get to a replica that lacked it."""

    key: bytes
    record: bytes
    #: dvv: the retired lifetime actors the sender knows among the entries of the
    #: record(s) it sends, and of those it pruned from them
    #: (:func:`impl.versions.encode_retired`; b"": none), taken by the receiver before
    #: it merges so that it prunes the same entries (:mod:`impl.retired`; session 33)
    retired: bytes = b""

    def __post_init__(self) -> None:
        _check_key_record(self, self.key, self.record)
        if type(self.retired) is not bytes:
            _Checker(self, BadMessageError).data("retired", self.retired)


@quick_init
@dataclass(frozen=True, slots=True)
class Settled:
    """``node``'s ring change settled (``join_handover = "pending"``: the spec's
    ``("settled", node)``): an old owner lets go of the copies it handed over. Sent
    by ``node`` to every member when it announces the settlement."""

    node: str

    def __post_init__(self) -> None:
        if _name_ok(self.node) and self.node:
            return  # the common, valid case, checked cheaply
        check = _Checker(self, BadMessageError)
        check.text("node", self.node, non_empty=True)


@quick_init
@dataclass(frozen=True, slots=True)
class HandoffDone:
    """The sender holds no hint for ``joining`` any more: it handed the joining node
    every key of its new ranges it held (``join_handover = "pending"``)."""

    joining: str

    def __post_init__(self) -> None:
        if _name_ok(self.joining) and self.joining:
            return  # the common, valid case, checked cheaply
        check = _Checker(self, BadMessageError)
        check.text("joining", self.joining, non_empty=True)


@quick_init
@dataclass(frozen=True, slots=True)
class Reap:
    """Remove ``key``'s tombstone: the receiver deletes its record of ``key`` only if
    it is exactly ``record`` (a tombstone-only record: nothing newer arrived since the
    reap was decided). Riak's delete after a get saw all N replicas hold the
    tombstone (basho/riak_kv ``riak_kv_get_core:final_action/1``)."""

    key: bytes
    record: bytes

    def __post_init__(self) -> None:
        _check_key_record(self, self.key, self.record)


@quick_init
@dataclass(frozen=True, slots=True)
class ReapQuery:
    """Before it reaps ``key``'s tombstone ``record`` (encoded), the node deciding
    the reap (``delete_mode = "safe"``) asks every member of its view: does it hold
    anything of ``key`` other than tombstones -- a live version, a hint, a put of it
    coordinated or forwarded -- and does its view equal the asker's (``view``: the
    asker's :meth:`impl.membership.Membership.digest`, so that a member the asker
    has not heard of, a joining node holding a transferred copy, is not missed)?
    A member whose copy ``record`` dominates settles it first (lets it go, if no
    replica of the key; merges ``record``, if one), and answers once the gets of the
    key it coordinates when the query arrives have ended (session 39). The spec's
    reap guards 2 and 3 as knowledge (:mod:`impl.reaping`)."""

    query_id: int
    key: bytes
    record: bytes
    view: bytes
    #: the asker's store generation, advanced for this round ("" without the restore
    #: guard): a live copy of the asker's store taken before it held the tombstone
    #: repeats an earlier one (docs/runtime.md, "A live copy restored after a reap")
    generation: str = ""

    def __post_init__(self) -> None:
        check = _Checker(self, BadMessageError)
        _check_generation(check, "generation", self.generation)
        check.ident("query_id", self.query_id)
        _check_key_record(self, self.key, self.record)
        check.data("view", self.view, non_empty=True)


@quick_init
@dataclass(frozen=True, slots=True)
class ReapQueryReply:
    """A member's answer to :class:`ReapQuery` ``query_id`` of ``key``: ``clean``
    when it holds nothing of the key but tombstones, no hint and no put of it in
    progress, and its view equals the asker's (sent once the gets of the key in
    progress at the query's arrival ended; not clean if one of them held a live
    version, whose read repair may be on its way: session 40)."""

    query_id: int
    key: bytes
    clean: bool
    #: a clean answer's store generation, advanced for it ("" without the restore
    #: guard, and in an answer not clean): :class:`ReapQuery`'s ``generation``
    generation: str = ""

    def __post_init__(self) -> None:
        check = _Checker(self, BadMessageError)
        _check_generation(check, "generation", self.generation)
        check.ident("query_id", self.query_id)
        check.data("key", self.key, non_empty=True)
        check.flag("clean", self.clean)


@quick_init
@dataclass(frozen=True, slots=True)
class HintDelivery:
    """Hinted handoff: a fallback delivers the replica it kept for the receiver."""

    hint_id: int
    key: bytes
    record: bytes
    #: the sender's store generation ("" without the restore guard: Gossip): a
    #: restored fallback's hints predate its restore (session 15's review)
    generation: str = ""
    #: dvv: the retired lifetime actors the sender knows among the entries of the
    #: record(s) it sends, and of those it pruned from them
    #: (:func:`impl.versions.encode_retired`; b"": none), taken by the receiver before
    #: it merges so that it prunes the same entries (:mod:`impl.retired`; session 33)
    retired: bytes = b""
    #: the sender's rings move the key to the receiver: the key's top N on the
    #: sender's future ring holds the receiver, on its serving ring does not (a
    #: join's, a leave's or a removal's handoff, not a put's fallback's hint;
    #: :meth:`impl.gossip.Gossiper.moves_to`). A rebuilding receiver whose own
    #: serving ring is a guess acknowledges such a hint
    #: (:meth:`impl.node.Node._unrebuilt_mine`; session 58)
    moves: bool = False

    def __post_init__(self) -> None:
        if ((type(self.hint_id) is int and 0 <= self.hint_id <= MAX_ID) and
                (type(self.key) is bytes and self.key) and
                (type(self.record) is bytes and self.record) and self.generation == ""
                and type(self.retired) is bytes and type(self.moves) is bool):
            return  # the common, valid case, checked cheaply
        check = _Checker(self, BadMessageError)
        _check_generation(check, "generation", self.generation)
        check.ident("hint_id", self.hint_id)
        check.data("key", self.key, non_empty=True)
        check.data("record", self.record, non_empty=True)
        check.data("retired", self.retired)
        check.flag("moves", self.moves)


@quick_init
@dataclass(frozen=True, slots=True)
class HintAck:
    """The intended node stored a :class:`HintDelivery` durably."""

    hint_id: int

    def __post_init__(self) -> None:
        if type(self.hint_id) is int and 0 <= self.hint_id <= MAX_ID:
            return  # the common, valid case, checked cheaply
        _Checker(self, BadMessageError).ident("hint_id", self.hint_id)


#: a store generation's form: a count of 1 to 19 ASCII digits, a token of 1 to 32
#: lower-case hex digits
_GENERATION = re.compile(r"([0-9]{1,19})\.([0-9a-f]{1,32})")


@functools.lru_cache(maxsize=4096)
def parse_generation(text: str) -> tuple[int, str] | None:
    """``"<incarnation>.<token>"`` (a store generation: a decimal count under 2**62
    of ASCII digits, a token of 1 to 32 hex digits) as (incarnation, token); None if
    it is not one. Cached: a cluster has a few generations, and every gossip,
    anti-entropy step and hint delivery carries one (session 19: 10% of the
    simulator tests' CPU was spent parsing them again)."""
    found = _GENERATION.fullmatch(text)
    if found is None:
        return None
    value = int(found[1])
    return (value, found[2]) if value < 2**62 else None


_Stamped = TypeVar("_Stamped", bound="Gossip | MerkleExchange | KeyRecords | HintDelivery")


def with_generations(message: _Stamped, **generations: str | bytes) -> _Stamped:
    """``message`` with its generation fields replaced (``generation``, and a
    Gossip's ``yours`` and relayed ``generations``): ``dataclasses.replace`` that
    checks only the new values, not again the fields checked when ``message`` was
    made (session 19: every anti-entropy step was checked twice, a fifth of a
    simulated join's CPU). Raises BadMessageError if a value is not ``""`` or
    ``"<incarnation>.<token>"`` (``generations``: not bytes), and TypeError for a
    field that is not one of ``message``'s generations."""
    slots = message.__slots__
    for name, value in generations.items():
        if name not in ("generation", "yours", "generations") or name not in slots:
            raise TypeError(f"{type(message).__name__} has no generation field {name!r}")
        if name == "generations":
            _Checker(message, BadMessageError).data(name, value)
        elif type(value) is not str or (value and parse_generation(value) is None):
            # (a parsed generation is short and printable: the common case is valid)
            _check_generation(_Checker(message, BadMessageError), name, value)
    copy = object.__new__(type(message))
    setattr_ = object.__setattr__
    for name in slots:  # every field copied, then the new ones set (session 36)
        setattr_(copy, name, getattr(message, name))
    for name, value in generations.items():
        setattr_(copy, name, value)
    return copy


def _check_generation(check: _Checker, name: str, value: object) -> None:
    """A generation field: "" or ``"<incarnation>.<token>"``."""
    text = check.text(name, value)
    if text and parse_generation(text) is None:
        raise _fail(check.error, check.cls, name, "must be <incarnation>.<token>")


@quick_init
@dataclass(frozen=True, slots=True)
class Gossip:
    """A membership view (:meth:`impl.membership.Membership.to_bytes`); ``reply``
    asks the receiver to answer with its own view when it differs."""

    view: bytes
    reply: bool = True
    #: the sender's store generation, ``"<incarnation>.<token>"`` ("" without the
    #: restore guard), and the last generation of the receiver's store the sender
    #: heard of ("" none): :class:`impl.node.Node`, "Restore guard"
    generation: str = ""
    yours: str = ""
    #: client-vclock: the sender's client counter floor (0: none), the highest
    #: counter of a record any node it heard of reaped or let go
    #: (:attr:`impl.replica.Replica.client_floor`): the receiver keeps the larger,
    #: so that a node that never held the reaped copies (one joined since, a
    #: replaced disk) counts above them too (session 19's review)
    floor: int = 0
    #: the sender's heartbeats of the members (:func:`impl.membership.beats_to_bytes`:
    #: member -> the highest ``(generation, version)`` of it the sender knows, its own
    #: counted up; b"": none; sessions 26-27, Cassandra's ``HeartBeatState``), so that
    #: a node knows that a member it has not heard from directly lately is alive
    #: (:meth:`impl.node.Node.down`)
    beats: bytes = b""
    #: dvv: the retired lifetime actors the sender knows of, the newest of each node
    #: (:func:`impl.versions.encode_retired`: a line ``<rank> <actor>`` each; b"":
    #: none), so that every node prunes their value-less entries from the records it
    #: writes (:mod:`impl.retired`; session 33)
    retired: bytes = b""
    #: with the restore guard: the last store generation the sender heard of each
    #: node (:func:`impl.restore_guard.generations_to_bytes`; b"": none), relayed so
    #: that a start is remembered while any live node heard it (session 50;
    #: Cassandra's endpoint states, :meth:`impl.restore_guard.RestoreGuard.on_relayed`)
    generations: bytes = b""

    def __post_init__(self) -> None:
        check = _Checker(self, BadMessageError)
        check.data("view", self.view, non_empty=True)
        check.data("beats", self.beats)
        check.data("retired", self.retired)
        check.data("generations", self.generations)
        check.flag("reply", self.reply)
        for name in ("generation", "yours"):
            _check_generation(check, name, getattr(self, name))
        if isinstance(self.floor, bool) or not isinstance(self.floor, int):
            raise _fail(BadMessageError, "Gossip", "floor",
                        f"must be an int, got {type(self.floor).__name__}")
        if not 0 <= self.floor < 1 << 64:
            raise _fail(BadMessageError, "Gossip", "floor",
                        f"must be in [0, 2**64), got {self.floor}")


MERKLE_STEPS = ("level", "buckets")


@quick_init
@dataclass(frozen=True, slots=True)
class MerkleExchange:
    """Anti-entropy: one step of the Merkle diff protocol (:mod:`impl.merkle`) about
    the tree of key range ``[lo, hi)`` cut into ``fanout ** depth`` buckets.

    ``step == "level"``: the sender's hashes (``indexes[i]`` -> ``hashes[i]``) of
    the nodes at ``level`` under ``parents``; ``step == "buckets"``: the sender's
    ``(keys[i], digests[i])`` entries of the differing buckets ``indexes``.
    """

    session: int
    lo: int
    hi: int
    fanout: int
    depth: int
    step: str
    level: int = 0
    parents: tuple[int, ...] = ()
    indexes: tuple[int, ...] = ()
    hashes: tuple[bytes, ...] = ()
    keys: tuple[bytes, ...] = ()
    digests: tuple[bytes, ...] = ()
    #: the sender's store generation ("" without the restore guard: Gossip)
    generation: str = ""

    def __post_init__(self) -> None:
        if (type(self.session) is int and 0 <= self.session <= MAX_ID
                and type(self.lo) is int and type(self.hi) is int
                and 0 <= self.lo < self.hi <= _RING_END
                and type(self.fanout) is int and 2 <= self.fanout <= MAX_ID
                and type(self.depth) is int and 1 <= self.depth <= MAX_ID
                and type(self.level) is int and 0 <= self.level <= MAX_ID
                and ((self.step == "level" and len(self.indexes) == len(self.hashes))
                     or self.step == "buckets")
                and _counts_ok(self.parents) and _counts_ok(self.indexes)
                and _bytes_ok(self.hashes) and _bytes_ok(self.keys) and _bytes_ok(self.digests)
                and len(self.keys) == len(self.digests)
                and type(self.generation) is str
                and (not self.generation or parse_generation(self.generation) is not None)):
            return  # the common, valid case, checked cheaply (the checks below name
            # the field of any other)
        check = _Checker(self, BadMessageError)
        _check_generation(check, "generation", self.generation)
        check.ident("session", self.session)
        _check_range(self, self.lo, self.hi)
        check.count("fanout", self.fanout, 2)
        check.count("depth", self.depth, 1)
        if self.step not in MERKLE_STEPS:
            raise BadMessageError(f"MerkleExchange.step: unknown step {self.step!r}")
        check.count("level", self.level)
        for name in ("parents", "indexes"):
            for item in check.tuple_of(name, getattr(self, name), int):
                check.count(name, item)
        check.tuple_of("hashes", self.hashes, bytes)
        check.tuple_of("keys", self.keys, bytes)
        check.tuple_of("digests", self.digests, bytes)
        if self.step == "level" and len(self.indexes) != len(self.hashes):
            raise BadMessageError("MerkleExchange.hashes: one hash per index is needed")
        if len(self.keys) != len(self.digests):
            raise BadMessageError("MerkleExchange.digests: one digest per key is needed")

    @classmethod
    def made(cls, session: int, lo: int, hi: int, fanout: int, depth: int, step: str,
             level: int = 0, parents: tuple[int, ...] = (), indexes: tuple[int, ...] = (),
             hashes: tuple[bytes, ...] = (), keys: tuple[bytes, ...] = (),
             digests: tuple[bytes, ...] = (), generation: str = "") -> MerkleExchange:
        """A step a node made of its own tree (:mod:`impl.antientropy` only): the
        fields as the constructor takes them, but not checked here. The caller
        vouches for them: its tree's shape, the hashes, keys and digests its tree
        holds, the session of a step it checked on receipt (or one it drew), its
        restore guard's generation. A receiver still checks every field where one
        can come from outside: :meth:`impl.node.Node.receive` runs ``__post_init__``
        on every message (a server's node, a node driven by hand), and a message
        from the wire is decoded through the constructor; a simulated node skips
        the re-check (``Node.recheck_messages``), so in the in-process simulator a
        made step is checked by no one (the simulator's wire mode and the servers'
        tests decode it through the constructor). Session 42: the
        checks cost 8 of a step's 15 us, and a simulated join makes 471,383 steps
        (docs/simulator.md); a field the caller gets wrong is caught at the
        receiver, as a peer's malformed step is (``BadMessageError``, dropped)."""
        message = object.__new__(cls)
        _set_session(message, session)  # (each slot's setter, unrolled: 6 us for
        _set_lo(message, lo)  # the 13, 10 as a loop over them and 8 through
        _set_hi(message, hi)  # object.__setattr__)
        _set_fanout(message, fanout)
        _set_depth(message, depth)
        _set_step(message, step)
        _set_level(message, level)
        _set_parents(message, parents)
        _set_indexes(message, indexes)
        _set_hashes(message, hashes)
        _set_keys(message, keys)
        _set_digests(message, digests)
        _set_generation(message, generation)
        return message


#: the slots' setters of a MerkleExchange (:meth:`MerkleExchange.made`; the frozen
#: dataclass's own ``__init__`` sets each through ``object.__setattr__``)
_set_session, _set_lo, _set_hi, _set_fanout, _set_depth, _set_step, _set_level = (
    getattr(MerkleExchange, name).__set__
    for name in ("session", "lo", "hi", "fanout", "depth", "step", "level"))
_set_parents, _set_indexes, _set_hashes, _set_keys, _set_digests, _set_generation = (
    getattr(MerkleExchange, name).__set__
    for name in ("parents", "indexes", "hashes", "keys", "digests", "generation"))


def _counts_ok(items: object) -> bool:
    """Whether ``items`` is a tuple of ints in [0, MAX_ID] (a fast check: False
    sends the caller to the checks that name what is wrong). A tuple found so
    lately is not checked again (:data:`_COUNTS_FOUND`)."""
    if type(items) is not tuple:
        return False
    if not items or _COUNTS_FOUND.get(id(items)) is items:  # (an empty one: nothing made)
        return True
    if {*map(type, items)} == _INT_ONLY and min(items) >= 0 and max(items) <= MAX_ID:
        if len(items) <= _FOUND_ITEMS:
            keep(_COUNTS_FOUND, items, items, _FOUND_LIMIT)
        return True
    return False


def _bytes_ok(items: object) -> bool:
    """Whether ``items`` is a tuple of bytes (a fast check, as :func:`_counts_ok`)."""
    if type(items) is not tuple:
        return False
    if not items or _BYTES_FOUND.get(id(items)) is items:
        return True
    if {*map(type, items)} == _BYTES_ONLY:
        if len(items) <= _FOUND_ITEMS and max(map(len, items)) <= _FOUND_BYTES:
            keep(_BYTES_FOUND, items, items, _FOUND_LIMIT)
        return True
    return False


#: the tuples :func:`_counts_ok` and :func:`_bytes_ok` found valid lately, by ``id``,
#: each held by its entry so that no other object takes the ``id`` while it is kept
#: (a tuple and its items, exact ints or bytes, never change). A node sends the
#: same kept items of its tree (:meth:`impl.merkle.MerkleTree.level_items`) in
#: every step of every exchange until the tree changes, each checked again by its
#: receiver (session 42: 16 indexes and 16 hashes, 8 of a level step's 15 us). Kept:
#: tuples of at most :data:`_FOUND_ITEMS` items, of bytes of at most
#: :data:`_FOUND_BYTES` each (hashes, not keys: a few MB at the most)
_COUNTS_FOUND: dict[int, tuple[object, ...]] = {}
_BYTES_FOUND: dict[int, tuple[object, ...]] = {}
_FOUND_LIMIT, _FOUND_ITEMS, _FOUND_BYTES = 1024, 64, 32


#: the item types of a tuple :func:`_counts_ok` and :func:`_bytes_ok` take (a set of
#: the items' exact types, built in C, rather than a generator: session 36)
_INT_ONLY, _BYTES_ONLY = {int}, {bytes}
#: the end of the ring (2**128, computed at each use when written in an expression)
_RING_END = 2**128


def _check_key_record(owner: object, key: object, record: object) -> None:
    """A message of a non-empty ``key`` and ``record`` (ReadRepair, Reap): the valid
    case cheaply, else BadMessageError naming the field."""
    if type(key) is bytes and key and type(record) is bytes and record:
        return  # the common, valid case, checked cheaply
    check = _Checker(owner, BadMessageError)
    check.data("key", key, non_empty=True)
    check.data("record", record, non_empty=True)


def _check_range(owner: object, lo: object, hi: object) -> None:
    check = _Checker(owner, BadMessageError)
    for name, value in (("lo", lo), ("hi", hi)):
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 2**128:
            raise _fail(BadMessageError, check.cls, name, f"must be a ring position, got {value!r}")
    assert isinstance(lo, int) and isinstance(hi, int)
    if lo >= hi:
        raise _fail(BadMessageError, check.cls, "hi", "key range must have lo < hi")


@quick_init
@dataclass(frozen=True, slots=True)
class KeyRecords:
    """Anti-entropy: the records of out-of-sync keys (``b""``: the sender has none).

    ``reply`` True: the receiver merges them and answers with a KeyRecords
    (``reply`` False) holding its merged records of the keys where they differ
    from what it was sent; so both replicas end with the merge, and only the
    out-of-sync keys move. In dvv the first sender may follow that answer up
    once (``reply`` False, the same session) where its merge pruned entries the
    answer holds, with their retirements (:meth:`impl.antientropy.AntiEntropy.on_key_records`;
    session 34).
    """

    keys: tuple[bytes, ...]
    records: tuple[bytes, ...]
    session: int = 0
    reply: bool = False
    #: the sender's store generation ("" without the restore guard: Gossip)
    generation: str = ""
    #: dvv: the retired lifetime actors the sender knows among the entries of the
    #: record(s) it sends, and of those it pruned from them
    #: (:func:`impl.versions.encode_retired`; b"": none), taken by the receiver before
    #: it merges so that it prunes the same entries (:mod:`impl.retired`; session 33)
    retired: bytes = b""

    def __post_init__(self) -> None:
        check = _Checker(self, BadMessageError)
        _check_generation(check, "generation", self.generation)
        check.data("retired", self.retired)
        check.tuple_of("keys", self.keys, bytes)
        check.tuple_of("records", self.records, bytes)
        if len(self.keys) != len(self.records):
            raise BadMessageError("KeyRecords.records: one record per key is needed")
        if any(not key for key in self.keys):
            raise BadMessageError("KeyRecords.keys: keys must not be empty")
        check.ident("session", self.session)
        check.flag("reply", self.reply)


@quick_init
@dataclass(frozen=True, slots=True)
class SeenDigest:
    """What the sender knows each member has seen of the membership
    (:func:`impl.membership.seen_to_bytes`: per member the version of every entry it
    has merged; riak_core's ring ``seen`` list, ``riak_core_ring:ring_ready/1``),
    gossiped with pending ownership while a ring change is in progress; ``reply``
    asks the receiver to answer with its own digest when it differs."""

    digest: bytes
    reply: bool = True

    def __post_init__(self) -> None:
        check = _Checker(self, BadMessageError)
        check.data("digest", self.digest, non_empty=True)
        check.flag("reply", self.reply)


PeerMessage = (
    Forward | ForwardReply | ReplicaPut | ReplicaPutAck | ReplicaPutFailed | ReplicaGet
    | ReplicaGetReply | ReadRepair | HintDelivery | HintAck | Gossip | MerkleExchange
    | KeyRecords | Reap
    | HandoffDone | Settled | SeenDigest | ReapQuery | ReapQueryReply | ForwardClaim
    | ForwardGrant | ForwardDecline
)
PEER_MESSAGES: tuple[type, ...] = (
    Forward, ForwardReply, ReplicaPut, ReplicaPutAck, ReplicaPutFailed, ReplicaGet,
    ReplicaGetReply, ReadRepair, HintDelivery, HintAck, Gossip, MerkleExchange, KeyRecords, Reap,
    HandoffDone, Settled, SeenDigest, ReapQuery, ReapQueryReply, ForwardClaim, ForwardGrant,
    ForwardDecline,
)
