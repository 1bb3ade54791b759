"""The coordinator's bookkeeping for one get or put (paper, sections 4.5-4.6).

Theory of operation
-------------------
A put's coordinator writes the new version locally and sends it to the other
members of the key's top N. Each of the N members is a *slot*: the slot of an
unreachable (or silent) member is handed, with a *hint* naming it, to the next
unused node down the preference list (the sloppy quorum). A replica's ack fills
its slot only if it is the node the slot was sent to: a top-N member acking
without a hint fills its own slot, a fallback acking fills the slot of the node
its hint names, and only when the coordinator did send it that hint
(:func:`ack_counts`). The put is acknowledged once W slots are filled
(:func:`put_quorum_reached`), the coordinator's own included; it keeps handing
silent slots to fallbacks until every slot is filled or the request times out,
so a write lands on N nodes whenever N nodes are reachable.

A get's coordinator reads the same way and answers once R replicas replied,
with the merge of their records (syntactic reconciliation). When every replica
it asked has answered (or the request times out) it sends the merged record to
each top-N replica whose record lacked something (:func:`read_repair_targets`):
read repair.

The functions here are the places the refinement harness's mutations patch:
keep them small.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from impl.versions import Record, merge

__all__ = [
    "ForwardOp",
    "GetOp",
    "PutOp",
    "ReplyTo",
    "ack_counts",
    "next_fallback",
    "put_quorum_reached",
    "read_quorum_reached",
    "read_repair_targets",
]


@dataclass(frozen=True, slots=True)
class ReplyTo:
    """Where an operation's answer goes: a local client (``peer`` empty) or the peer
    that forwarded the request (answered with a ForwardReply for ``op_id``)."""

    request_id: int
    peer: str = ""
    op_id: int = 0


@dataclass(slots=True)
class PutOp:
    """A put in progress at its coordinator."""

    op_id: int
    key: bytes
    record: bytes  # the encoded record sent to every replica
    result_context: bytes
    w: int
    top: tuple[str, ...]  # the key's top N
    fallbacks: tuple[str, ...]  # the rest of the preference list, in order
    reply_to: ReplyTo
    deadline: float
    holder: dict[str, str] = field(default_factory=dict)  # slot -> node sent to
    hinted: dict[str, str] = field(default_factory=dict)  # fallback -> slot (hint)
    filled: set[str] = field(default_factory=set)  # slots acknowledged
    used: set[str] = field(default_factory=set)  # nodes sent to (slots or fallbacks)
    replied: bool = False


@dataclass(slots=True)
class GetOp:
    """A get in progress at its coordinator."""

    op_id: int
    key: bytes
    r: int
    top: tuple[str, ...]
    fallbacks: tuple[str, ...]
    reply_to: ReplyTo
    deadline: float
    asked: set[str] = field(default_factory=set)
    holder: dict[str, str] = field(default_factory=dict)  # slot -> node asked
    replies: dict[str, Record] = field(default_factory=dict)
    replied: bool = False


@dataclass(slots=True)
class ForwardOp:
    """A client request this node forwarded to a coordinator in the key's top N."""

    op_id: int
    request_id: int
    request: object  # GetRequest | PutRequest
    candidates: list[str]  # top-N nodes still to try, in order
    target: str
    deadline: float


def ack_counts(op: PutOp, src: str, hint: str) -> str | None:
    """The slot an ack from ``src`` (echoing ``hint``) fills, or None if it fills none.

    A top-N member acking without a hint fills its own slot (whether or not a
    fallback was also sent it later: it did store the write); a fallback fills the
    slot its hint names only if the coordinator sent it exactly that hint.
    """
    if not hint:
        return src if src in op.top and src in op.used else None
    return hint if op.hinted.get(src) == hint else None


def put_quorum_reached(op: PutOp) -> bool:
    """The ack count check: W slots (the coordinator's own included) are filled."""
    return len(op.filled) >= op.w


def read_quorum_reached(op: GetOp) -> bool:
    """R replicas (the coordinator's own read included) have answered."""
    return len(op.replies) >= op.r


def next_fallback(fallbacks: tuple[str, ...], used: set[str], reachable: set[str]) -> str | None:
    """The first node down the preference list not used yet and believed reachable."""
    for node in fallbacks:
        if node not in used and node in reachable:
            return node
    return None


def read_repair_targets(op: GetOp) -> tuple[Record, list[str]]:
    """The reconciled record of a finished get, and the nodes that answered with a
    record missing part of it (they get the reconciled record): every node that
    answered, fallbacks of a sloppy quorum included, as in the spec."""
    merged: Record | None = None
    for record in op.replies.values():
        merged = record if merged is None else merge(merged, record)
    assert merged is not None
    stale = [node for node, record in sorted(op.replies.items())
             if merge(record, merged) != record]
    return merged, stale
