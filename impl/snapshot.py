"""A frozen view of what a node holds, for whoever must observe it.

Theory of operation
-------------------
:meth:`impl.node.Node.snapshot` copies, at one instant, everything an observer
(a test, the refinement harness, an operator's status page) may look at: the
versions the node stores, the hints it keeps, the coordinations in flight (one
:class:`CoordinationSnapshot` per put or get, in the shared vocabulary: targets,
sent_to, acks, replies), the requests it forwarded, its membership view and the
failure detector's suspicions. Every part is immutable and the node keeps no
reference to it, so an observer can neither see later changes through it nor
change the node. Nothing outside :mod:`impl` reads a node's private state.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING

from impl.membership import Membership, MemberStatus
from impl.storage.base import Hint

if TYPE_CHECKING:
    from impl.node import Node

__all__ = ["CoordinationSnapshot", "ForwardingSnapshot", "NodeSnapshot", "take_coordinations",
           "take_snapshot"]


@dataclass(frozen=True, slots=True)
class CoordinationSnapshot:
    """One put or get a node coordinates. ``kind`` is ``"put"`` or ``"get"``;
    ``sent_to`` maps each target to the node last sent its share (itself, or a
    fallback); ``used``: every node sent to; ``acks`` (put): the targets
    acknowledged; ``replies`` (get): the nodes that replied; ``deadline``: seconds,
    the node's time."""

    kind: str
    op_id: int
    key: bytes
    targets: tuple[str, ...]
    fallbacks: tuple[str, ...]
    sent_to: Mapping[str, str]
    used: frozenset[str]
    acks: frozenset[str]
    replies: frozenset[str]
    replied: bool
    deadline: float


@dataclass(frozen=True, slots=True)
class ForwardingSnapshot:
    """A client request the node forwarded: to ``target``, then ``candidates``."""

    op_id: int
    request_id: int
    target: str
    candidates: tuple[str, ...]
    deadline: float


@dataclass(frozen=True, slots=True)
class NodeSnapshot:
    """What one node holds at one instant (see the module docstring).

    ``store``: key -> encoded record (:func:`impl.versions.decode_record`);
    ``hints``: the hint store; ``coordinations``: op id -> the put or get;
    ``suspected``: node -> until when (seconds) the failure detector avoids it.
    """

    name: str
    now: float
    store: Mapping[bytes, bytes]
    hints: tuple[Hint, ...]
    coordinations: Mapping[int, CoordinationSnapshot]
    forwardings: Mapping[int, ForwardingSnapshot]
    view: Membership
    status: MemberStatus | None
    suspected: Mapping[str, float]

    def puts(self) -> list[CoordinationSnapshot]:
        """The put coordinations, by op id."""
        return [c for _, c in sorted(self.coordinations.items()) if c.kind == "put"]

    def gets(self) -> list[CoordinationSnapshot]:
        """The get coordinations, by op id."""
        return [c for _, c in sorted(self.coordinations.items()) if c.kind == "get"]


def take_coordinations(node: Node) -> dict[int, CoordinationSnapshot]:
    """The puts, then the gets, ``node`` coordinates, by op id: the ``coordinations``
    of :func:`take_snapshot`, without copying the rest of the node (session 20: the
    refinement harness reads a node's coordinations about three times as often as
    the rest, and a whole snapshot copies the store, the hints and the suspicions)."""
    coordinations: dict[int, CoordinationSnapshot] = {}
    for op_id, put in node.puts.coordinations.items():
        coordinations[op_id] = CoordinationSnapshot(
            "put", op_id, put.key, put.targets, put.fallbacks,
            MappingProxyType(dict(put.sent_to)), frozenset(put.used), frozenset(put.acks),
            frozenset(), put.replied, put.deadline)
    for op_id, get in node.gets.coordinations.items():
        coordinations[op_id] = CoordinationSnapshot(
            "get", op_id, get.key, get.targets, get.fallbacks,
            MappingProxyType(dict(get.sent_to)), frozenset(get.used), frozenset(),
            frozenset(get.replies), get.replied, get.deadline)
    return coordinations


def take_snapshot(node: Node, now: float) -> NodeSnapshot:
    """The snapshot of ``node`` at its time ``now``."""
    coordinations = take_coordinations(node)
    forwardings = {
        op_id: ForwardingSnapshot(op_id, f.request_id, f.target, tuple(f.candidates),
                                  f.deadline)
        for op_id, f in node.forwarder.forwardings.items()}
    return NodeSnapshot(
        node.name, now, MappingProxyType(dict(node.storage.scan())),
        tuple(node.storage.hints()), MappingProxyType(coordinations),
        MappingProxyType(forwardings), node.gossiper.view, node.gossiper.status,
        MappingProxyType(node.detector.suspicions(now)))
