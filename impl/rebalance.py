"""Membership, joining, leaving and rebalancing for the node core (Dynamo paper,
sections 4.8 and 4.9).

Theory of operation
-------------------
:class:`MembershipMixin` is the part of :class:`impl.node.Node` that keeps its
membership view (:mod:`impl.membership`: per node a version, a status and its
tokens), persisted in the storage engine's meta entry ``membership`` and merged
into the configuration's initial view at start. Every ``gossip_interval`` the
node gossips its view with a random live member or seed (push-pull; views merge
as a semilattice). The node routes by the ring of the members that are joining
or up (``ROUTING``).

A node whose name is not in its view asks a seed for the view, then takes tokens
by the configured partitioning strategy and gossips them; a gossip round later it
announces itself up. A leaving node is out of the routing ring at once. Whenever
the ring changes (``_apply_view``) the node *rebalances*: it walks the keys it
stores and, for each key whose top N gained a node, adds a hint for that node
(a leaving node: for each node of the key's new top N), which hinted handoff
(:mod:`impl.handoff`) then delivers; and it re-cuts its Merkle trees. A leaving
node whose hint store is empty announces that it left (``_leave_done``).
"""

from __future__ import annotations

import collections
import random
from typing import TYPE_CHECKING

from impl import membership as gossip
from impl.effects import Effect, Send
from impl.errors import BadMessageError
from impl.membership import Membership, MemberStatus
from impl.messages import Gossip
from spec.ring import Partitioning, Strategy

if TYPE_CHECKING:
    from impl.antientropy import RangeTrees
    from impl.config import ClusterConfig
    from impl.storage.base import Storage

__all__ = ["ROUTING", "MembershipMixin"]

#: Members the coordinator routes to: a leaving node is out of the routing ring at
#: once (it only hands its data over), a joining one is in at once.
ROUTING = frozenset({MemberStatus.JOINING, MemberStatus.UP})


class MembershipMixin:
    """The membership part of :class:`impl.node.Node` (see the module docstring)."""

    if TYPE_CHECKING:  # provided by Node
        name: str
        config: ClusterConfig
        storage: Storage
        rng: random.Random
        stats: collections.Counter[str]
        log: collections.deque[str]
        view: Membership
        partitioning: Partitioning
        _known_nodes: frozenset[str]
        _leaving: bool
        _join_pending: bool
        _trees: RangeTrees

        @property
        def status(self) -> MemberStatus | None: ...
        def _schedule(self, at: float, kind: str, ident: int = 0) -> None: ...
        def _add_hint(self, intended: str, key: bytes, record: bytes) -> None: ...

    def _load_view(self) -> Membership:
        """The persisted membership history merged into the configuration's initial view."""
        view = gossip.initial_membership(self.config.initial_partitioning().ring)
        raw = self.storage.get_meta("membership")
        if raw is not None:
            try:
                view = view.merge(Membership.from_bytes(raw))
            except BadMessageError as error:
                self.log.append(f"persisted membership unreadable, starting fresh: {error}")
        return view

    def _routing_partitioning(self, view: Membership) -> Partitioning:
        ring = view.ring(ROUTING) or view.ring() or self.config.initial_partitioning().ring
        try:
            return self.config.partitioning_of(ring)
        except ValueError:  # e.g. a strategy-3 ring with a leaving node's partitions out
            return Partitioning(Strategy.RANDOM_TOKENS, ring, 1)

    def _my_ranges(self) -> list[tuple[int, int]]:
        if self.name not in self.partitioning.nodes:
            return []
        return self.partitioning.ranges_of(self.name, self.config.n)

    def _apply_view(self, view: Membership) -> None:
        """Adopt a new membership view: persist it; on a ring change hand every key
        whose top N gained a node to that node (as hints), and re-cut the trees."""
        self.view = view
        self._known_nodes = frozenset(view.nodes)
        self._leaving = self.status is MemberStatus.LEAVING
        self.storage.set_meta("membership", view.to_bytes())
        new = self._routing_partitioning(view)
        old = self.partitioning
        if new.ring == old.ring and new.strategy is old.strategy:
            return
        self.partitioning = new
        self._rebalance(old, new)
        self._trees.reset(self._my_ranges(), self.storage)

    def _rebalance(self, old: Partitioning, new: Partitioning) -> None:
        """Hand the keys this node holds to the nodes that now replicate them."""
        n = self.config.n
        leaving = self.name not in new.nodes
        handed = 0
        for key, raw in self.storage.scan():
            targets = new.preference_list(key, n)
            if not leaving:
                before = old.preference_list(key, n)
                targets = tuple(t for t in targets if t not in before)
            for target in targets:
                if target != self.name:
                    self._add_hint(target, key, raw)
                    handed += 1
        self.stats["rebalance-hints"] += handed

    def _gossip_peer(self) -> str | None:
        if self._join_pending:
            seeds = [s for s in self.config.seed_nodes if s != self.name]
            return seeds[self.rng.randrange(len(seeds))] if seeds else None
        return gossip.pick_gossip_peer(self.view, self.name, self.rng, self.config.seed_nodes)

    def _gossip_to(self, peer: str | None, out: list[Effect]) -> None:
        if peer is not None:
            out.append(Send(peer, Gossip(self.view.to_bytes(), reply=True)))

    def _gossip_timer(self, now: float, ident: int, out: list[Effect]) -> None:
        self._schedule(now + self.config.gossip_interval, "gossip")
        if self.status is MemberStatus.JOINING:
            self._apply_view(self.view.announce(self.name, status=MemberStatus.UP))
        self._gossip_to(self._gossip_peer(), out)

    def _on_gossip(self, now: float, src: str, message: Gossip, out: list[Effect]) -> None:
        other = Membership.from_bytes(message.view)
        if src not in other:  # a node about to join asks for the view: answer only
            if message.reply:
                out.append(Send(src, Gossip(self.view.to_bytes(), reply=False)))
            return
        merged = self.view.merge(other)
        merged.ring()  # two members claiming one token: BadMessageError, view unchanged
        if merged != self.view:
            self._apply_view(merged)
        if self._join_pending:
            self._join_pending = False
            joined = gossip.join(self.view, self.name,
                                 self.config.partitioning_of(self.partitioning.ring), self.rng)
            self._apply_view(joined)
            self._gossip_to(src, out)
        elif message.reply and other != self.view:
            out.append(Send(src, Gossip(self.view.to_bytes(), reply=False)))

    def _leave_done(self) -> None:
        """A leaving node that handed everything over announces that it left."""
        ring = self.view.ring()
        if ring is None or self.name not in ring or len(ring.nodes) < 2:
            return
        try:
            partitioning = self.config.partitioning_of(ring)
        except ValueError:
            partitioning = Partitioning(Strategy.RANDOM_TOKENS, ring, 1)
        self._apply_view(gossip.left(self.view, self.name, partitioning, self.rng))
