"""Gossip-based membership (Dynamo paper, section 4.8), as pure values and functions.

Theory of operation
-------------------
Every node keeps a *membership history*: for each node it has heard of, the
latest :class:`Member` entry -- a version number, a status (``joining``, ``up``,
``leaving``, ``left``) and the node's ring tokens. A node changes only its own
entry (a join, a leave), each change with a higher version, and persists the
whole :class:`Membership` in its storage's meta table (:meth:`Membership.to_bytes`).
The one exception is strategy 3 (equal partitions), where a join or a leave
moves partitions between existing nodes: the *claimant* (:func:`claimant`, the
lowest-named ``up`` member with tokens; riak_core's ``riak_core_claimant``)
announces the joining node's and the donors' (the receivers' and the leaving
node's) new token sets with their versions bumped by two, one change at a time
(:func:`claim_join`, :func:`claim_leave`; the serving ring keeps the old owners
until the handover: :meth:`impl.gossip.Gossiper._serving`).

Every gossip period a node picks a random peer (:func:`pick_gossip_peer`, with a
``random.Random`` passed in) and the two exchange histories and *reconcile*
them (:meth:`Membership.merge`): per node, the entry with the higher version
wins; equal versions are ordered by status (``left`` > ``leaving`` > ``up`` >
``joining``), then by tokens, so merging is commutative, associative and
idempotent (a join-semilattice), and every node that has heard the same
announcements holds the same view, whatever the order it heard them in.

Seed nodes (known to every node from configuration) are always candidates for
gossip, so that a joining node is heard, and two nodes that joined at the same
time cannot form logically partitioned rings.

The ring the coordinator routes by is a pure function of the view:
:meth:`Membership.ring` builds a :class:`spec.ring.Ring` from the tokens of the
members that are joining, up or leaving. Token choice for a joining node follows
the configured partitioning strategy of :mod:`spec.ring` (:func:`join`).

The local failure detector lives in :mod:`impl.failure_detector` and is
re-exported here as :class:`FailureDetector` (the interface contract names both
in this module).

Versions have one bound on both sides, :data:`PEER_VERSION_LIMIT` (2**62): a
peer's view with an entry at or over it is refused (:func:`check_peer_versions`),
and no announcement reaches it (:meth:`Membership.announce` raises
:class:`~impl.errors.VersionHeadroomError`), so no node sends a view its peers
refuse (docs/impl.md, "Version headroom").

Malformed bytes from storage or from a peer raise
:class:`~impl.errors.BadMessageError` (a ``ValueError``) naming the problem.
"""

from __future__ import annotations

import enum
import functools
import json
import random
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from hashlib import blake2b

from impl.errors import BadMessageError, InvalidValueError, VersionHeadroomError
from impl.failure_detector import FailureDetector
from impl.held import keep
from spec.ring import RING_SIZE, Partitioning, Ring, Strategy

__all__ = [
    "FORMAT",
    "ON_RING",
    "PEER_VERSION_LIMIT",
    "ROUTED",
    "VERSION_LIMIT",
    "Beat",
    "FailureDetector",
    "Heartbeat",
    "Member",
    "MemberStatus",
    "Membership",
    "beats_from_bytes",
    "beats_to_bytes",
    "check_peer_versions",
    "claim_join",
    "claim_leave",
    "claimant",
    "departure_shortfall",
    "force_remove",
    "initial_membership",
    "join",
    "leave",
    "left",
    "merge_conflict",
    "pick_gossip_peer",
    "seen_all",
    "seen_from_bytes",
    "seen_merge",
    "seen_to_bytes",
]

#: The ``format`` tag of serialized membership (bumped if the layout changes).
FORMAT = "vdynamo.membership.v1"
#: The ``format`` tag of a serialized seen digest (:func:`seen_to_bytes`).
SEEN_FORMAT = "vdynamo.seen.v1"

#: A version vector of a view: node -> the version of its entry (:meth:`Membership.vector`).
Vector = dict[str, int]
#: A seen digest: member -> the version vector of the view it is known to have seen
#: (riak_core's ring ``seen`` list).
Seen = dict[str, Vector]


class MemberStatus(enum.Enum):
    """Where a node is in its life in the ring."""

    JOINING = "joining"
    UP = "up"
    LEAVING = "leaving"
    LEFT = "left"
    #: force-removed by an operator on another member (a node down for good,
    #: :func:`force_remove`), its ranges being handed to their new owners by the
    #: surviving replicas: a ``leaving`` the node does not announce itself
    #: (Cassandra's ``removenode`` gossips ``removing``, then ``removed``)
    REMOVING = "removing"
    #: force-removed, its ranges handed over (announced by the claimant): a ``left``
    #: (riak_core marks such a member ``invalid``)
    REMOVED = "removed"


_RANK = {MemberStatus.JOINING: 0, MemberStatus.UP: 1, MemberStatus.LEAVING: 2,
         MemberStatus.LEFT: 3, MemberStatus.REMOVING: 4, MemberStatus.REMOVED: 5}

#: The statuses whose tokens are on the routing ring.
ROUTED = frozenset({MemberStatus.JOINING, MemberStatus.UP, MemberStatus.LEAVING})
#: The statuses whose tokens are on the members' ring: :data:`ROUTED`, and a member
#: force-removed whose ranges are being handed over (its tokens until they move)
ON_RING = ROUTED | {MemberStatus.REMOVING}


#: Every entry's version is below this (an int64 in every encoding of a view).
VERSION_LIMIT = 1 << 63

#: Every entry of a view a node sends or takes is below this: one bound on both
#: sides. A peer's view (gossip) with an entry at or over it is the peer's bad data
#: (:func:`check_peer_versions`), and a node never announces a version at or over it
#: (:meth:`Membership.announce` raises :class:`~impl.errors.VersionHeadroomError`), so
#: no node sends a view its peers refuse. (Session 10 bounded only the peers' side:
#: a node that took its own entry at 2**62 - 1 announced 2**62 at its next change,
#: and every honest peer dropped its views from then on, issue 12.) Honest versions
#: start at 1 and grow by one per announcement (two for a strategy-3 move), so no
#: honest cluster comes near 2**62 (4.6e18 announcements). Residual risk: a peer
#: holding the cluster secret can gossip a valid view with a node's entry at
#: 2**62 - 1; every node takes it, and that node's membership changes (join, leave,
#: settlement, a claimant's moves of it) are refused from then on (counted as
#: ``version-headroom``), while it keeps serving at its current view.
PEER_VERSION_LIMIT = 1 << 62


def check_peer_versions(view: Membership) -> None:
    """Refuse a peer's ``view`` with an entry at or over :data:`PEER_VERSION_LIMIT`:
    raises :class:`~impl.errors.BadMessageError` naming the entry (the peer's fault:
    :data:`impl.internal_errors.PEER_DATA` ``"view"``; no correct node announces such
    a version, :meth:`Membership.announce`)."""
    for member in view.members:
        if member.version >= PEER_VERSION_LIMIT:
            raise _fail(f"version {member.version} of {member.node!r:.80} is not below "
                        "2**62 (PEER_VERSION_LIMIT): no node announces it")


def _fail(message: str) -> BadMessageError:
    return BadMessageError(f"membership: {message}")


#: what ``json.loads`` of a peer's bytes raises (the view, the seen digest, the
#: heartbeats): ValueError covers UnicodeDecodeError, JSONDecodeError and an integer
#: of over Python's 4,300 digits ("Exceeds the limit (4300 digits) for integer string
#: conversion", a plain ValueError, which before session 26's review escaped the three
#: parsers: an internal error of ours, not the peer's data); RecursionError a nesting
#: too deep
_JSON_ERRORS = (ValueError, RecursionError)


#: the largest view :meth:`Membership.from_bytes` keeps parsed (:func:`_parsed_view`)
_PARSED_VIEW_BYTES = 1 << 16


@functools.lru_cache(maxsize=256)
def _parsed_view(data: bytes) -> Membership:
    """``Membership._parse(data)``, cached: a view is immutable, and every gossip a
    node receives carries the sender's whole view, most often one it parsed before
    (session 19: a tenth of a simulated join's CPU parsed equal views again). A view
    that does not parse raises each time (not cached)."""
    return Membership._parse(data)


@functools.lru_cache(maxsize=256)
def _ring_of(tokens: tuple[tuple[str, tuple[int, ...]], ...]) -> Ring:
    """``Ring.from_tokens(dict(tokens))``, cached: a Ring is immutable, and a node
    asks for the ring of the same view at every gossip it merges and every request
    it routes (session 19: 10% of a simulator test's CPU rebuilt equal rings)."""
    return Ring.from_tokens(dict(tokens))


@dataclass(frozen=True, slots=True, order=False)
class Member:
    """One node's entry: its own announcement, with a version (higher wins).

    ``tokens`` are canonical: sorted and distinct (given in any order).
    ``settled``: with pending ownership, the ring change this node's status
    announced (a joining node's ``up``, a leaving node's ``left``) settled: every
    member uses the new ring alone (the spec's ``("settled", X)``; announced by
    the node once every member is known to have seen the change,
    :meth:`impl.gossip.Gossiper.settle_if_seen`).
    Invalid fields raise :class:`~impl.errors.BadMessageError` naming the field.
    """

    node: str
    version: int
    status: MemberStatus
    tokens: tuple[int, ...] = ()
    settled: bool = False
    #: the version of the announcement that set ``status`` and ``settled`` (-1: ``version``)
    status_version: int = -1
    #: the version of the announcement that set ``tokens`` (-1: ``version``)
    tokens_version: int = -1

    def __post_init__(self) -> None:
        if not isinstance(self.node, str) or not self.node:
            raise _fail(f"node must be a non-empty str, got {self.node!r:.80}")
        if isinstance(self.version, bool) or not isinstance(self.version, int) or not (
                0 <= self.version < VERSION_LIMIT):
            raise _fail(f"version of {self.node!r} must be an int in [0, 2**63), "
                        f"got {self.version!r:.80}")
        if not isinstance(self.status, MemberStatus):
            raise _fail(f"status of {self.node!r} must be a MemberStatus, got {self.status!r:.80}")
        raw: object = self.tokens
        if isinstance(raw, str | bytes) or not isinstance(raw, Iterable):
            raise _fail(f"tokens of {self.node!r} must be a sequence of ints")
        tokens = tuple(raw)
        for token in tokens:
            if isinstance(token, bool) or not isinstance(token, int) or not (
                    0 <= token < RING_SIZE):
                raise _fail(f"token {token!r:.80} of {self.node!r} is not a ring position")
        canonical = tuple(sorted(set(tokens)))
        if len(canonical) != len(tokens):
            raise _fail(f"tokens of {self.node!r} repeat a token")
        object.__setattr__(self, "tokens", canonical)
        if not isinstance(self.settled, bool):
            raise _fail(f"settled of {self.node!r} must be a bool, got {self.settled!r:.80}")
        for field in ("status_version", "tokens_version"):
            value = getattr(self, field)
            if value == -1:
                object.__setattr__(self, field, self.version)
            elif isinstance(value, bool) or not isinstance(value, int) or not (
                    0 <= value <= self.version):
                raise _fail(f"{field} of {self.node!r} must be an int in [0, version], "
                            f"got {value!r:.80}")
        if max(self.status_version, self.tokens_version) != self.version:
            raise _fail(f"version of {self.node!r} must be its status_version or its "
                        f"tokens_version, got {self.version}")

    def precedence(self) -> tuple[tuple[int, int, bool], tuple[int, tuple[int, ...]]]:
        """The two registers' orders reconciliation keeps the maximum of, each on its
        own (:meth:`join`): the status register's (``status_version``, then status rank,
        then ``settled``: a settled entry wins a tie with the same entry unsettled, the
        flag only ever going from false to true within a version, mutmut's
        ``Membership.of__mutmut_6`` of session 10) and the tokens register's
        (``tokens_version``, then tokens). An entry is at least as new as another when
        both of its registers are (:meth:`covers`)."""
        return ((self.status_version, _RANK[self.status], self.settled),
                (self.tokens_version, self.tokens))

    def covers(self, other: Member) -> bool:
        """Whether this entry holds ``other``'s news: each register at least as high."""
        mine, theirs = self.precedence(), other.precedence()
        return mine[0] >= theirs[0] and mine[1] >= theirs[1]

    def join(self, other: Member) -> Member:
        """The reconciliation of two entries of one node: the status (with ``settled``)
        of the higher status register, the tokens of the higher tokens register, and
        the higher version. The two are separate registers with separate writers (a
        node announces its own status; under strategy 3 the claimant moves its tokens,
        :func:`_announce_moves`), each merged by its own total order, so the join is a
        product of two chains: commutative, associative, idempotent.

        Session 26: before, one entry carried both, the higher version winning whole;
        the claimant's move of a member's tokens, computed before that member's own
        ``leaving`` reached it, carried the member's old ``up`` with a higher version,
        so the member's status went back from ``leaving`` to ``up`` in every view
        until it announced again (4 nodes, two leaves at once, strategy 3: 74 of 200
        seeded runs), as riak_core's ``riak_core_ring:reconcile_members`` merges each
        member's status by its own vector clock, not by the ring's."""
        if other is self:  # (idempotent: one entry object)
            return self
        (status_mine, tokens_mine), (status_other, tokens_other) = (
            self.precedence(), other.precedence())  # (each once: session 44)
        status = self if status_mine >= status_other else other
        tokens = self if tokens_mine >= tokens_other else other
        if status is tokens:
            return status
        return Member(self.node, max(status.status_version, tokens.tokens_version),
                      status.status, tokens.tokens, status.settled,
                      status.status_version, tokens.tokens_version)


#: the bytes of the views serialized last (:meth:`Membership.to_bytes`), by the
#: view's ``id``; each entry holds its view, so that no other object takes that id
#: while the entry lives (:func:`impl.held.keep`). A view is immutable (frozen, of
#: frozen members and tuples), so its bytes never change. At most
#: :data:`_VIEW_BYTES_LIMIT` entries, the oldest dropped first.
_VIEW_BYTES: dict[int, tuple[Membership, bytes]] = {}
_VIEW_BYTES_LIMIT = 256


@dataclass(frozen=True, slots=True)
class Membership:
    """A node's membership history: the latest :class:`Member` entry per node.

    Immutable and canonical (entries sorted by node), so equal views compare
    and hash equal. Build one with :meth:`of` or :func:`initial_membership`.
    """

    members: tuple[Member, ...] = ()

    def __post_init__(self) -> None:
        members = tuple(self.members)
        if not all(isinstance(m, Member) for m in members):
            raise _fail("members must be Member entries")
        ordered = tuple(sorted(members, key=lambda m: m.node))
        names = [m.node for m in ordered]
        if len(set(names)) != len(names):
            raise _fail("a node appears twice")
        object.__setattr__(self, "members", ordered)

    @classmethod
    def of(cls, members: Iterable[Member]) -> Membership:
        """A view from entries (a node listed twice: its highest entry is kept)."""
        best: dict[str, Member] = {}
        for member in members:
            held = best.get(member.node)
            best[member.node] = member if held is None else held.join(member)
        return cls(tuple(best.values()))

    # ------------------------------------------------------------------ queries

    def get(self, node: str) -> Member | None:
        """The entry of ``node``, or None if never heard of."""
        for member in self.members:
            if member.node == node:
                return member
        return None

    def __contains__(self, node: object) -> bool:
        return any(m.node == node for m in self.members)

    def __iter__(self) -> Iterator[Member]:
        return iter(self.members)

    def __len__(self) -> int:
        return len(self.members)

    @property
    def nodes(self) -> tuple[str, ...]:
        """Every node heard of (including those that left), sorted."""
        return tuple(m.node for m in self.members)

    def nodes_with(self, statuses: Iterable[MemberStatus]) -> tuple[str, ...]:
        """The nodes whose status is one of ``statuses``, sorted."""
        wanted = frozenset(statuses)
        return tuple(m.node for m in self.members if m.status in wanted)

    @property
    def live_nodes(self) -> tuple[str, ...]:
        """The nodes that have not left, sorted."""
        return self.nodes_with(ROUTED)

    def tokens(self, statuses: Iterable[MemberStatus] = ROUTED) -> dict[str, tuple[int, ...]]:
        """``{node: tokens}`` for the members with one of ``statuses`` and some tokens."""
        wanted = frozenset(statuses)
        return {m.node: m.tokens for m in self.members if m.status in wanted and m.tokens}

    def ring(self, statuses: Iterable[MemberStatus] = ON_RING) -> Ring | None:
        """The ring of the tokens of members with ``statuses`` (None if none has tokens;
        by default the members' ring, a member being force-removed included: the ring
        :func:`merge_conflict` checks).

        Raises :class:`~impl.errors.BadMessageError` if two of them claim one token
        (a view no correct node announces).
        """
        tokens = self.tokens(statuses)
        if not tokens:
            return None
        try:
            return _ring_of(tuple(tokens.items()))
        except ValueError as exc:
            raise _fail(f"the tokens do not form a ring: {exc}") from exc

    # ------------------------------------------------------------------ changes

    def merge(self, other: Membership) -> Membership:
        """Reconcile two histories: per node, the entry of higher precedence wins.

        Commutative, associative and idempotent.
        """
        if not isinstance(other, Membership):
            raise _fail(f"can only merge a Membership, got {type(other).__name__}")
        return Membership.of((*self.members, *other.members))

    reconcile = merge

    def with_member(self, member: Member) -> Membership:
        """This view with ``member`` merged in (kept only if newer than what is held)."""
        return self.merge(Membership((member,)))

    def announce(self, node: str, status: MemberStatus | None = None,
                 tokens: Iterable[int] | None = None, *, settled: bool = False
                 ) -> Membership:
        """``node`` announces a change: its entry with the version bumped.

        ``status`` / ``tokens`` None keep the current ones (a new node starts
        ``joining`` with no tokens); ``settled``: the change its status made settled
        (see :class:`Member`). The status register is written at the new version; the
        tokens register only if ``tokens`` is given (session 26's review: written by
        every announcement, a status-only one, such as a force-remove's two bumps
        asked at a member that had not heard a claim yet, tied with or outranked the
        claimant's concurrent move of that member's tokens and kept the stale ones:
        the partitions moved to it were held by no member: 4 of 64, and 48 of 64 left
        on the ring for good once the removal was claimed). Raises
        :class:`~impl.errors.VersionHeadroomError` (an
        InvalidValueError), naming the node and the bound, if the new version would
        not be below :data:`PEER_VERSION_LIMIT` (2**62): every peer refuses a view
        with such an entry (:func:`check_peer_versions`), so the node would be cut
        off from gossip. Honest versions never get near it; a view a peer with the
        cluster secret forged can (the residual risk of :data:`PEER_VERSION_LIMIT`).
        """
        held = self.get(node)
        if held is None:
            held = Member(node, 0, MemberStatus.JOINING)
        if held.version + 1 >= PEER_VERSION_LIMIT:
            raise VersionHeadroomError(
                f"membership: {node!r:.80} cannot announce a change: version "
                f"{held.version + 1} would not be below 2**62 (PEER_VERSION_LIMIT), "
                "and every peer refuses a view with it")
        version = held.version + 1
        changed = replace(
            held, version=version,
            status=held.status if status is None else status,
            tokens=held.tokens if tokens is None else tuple(tokens),
            settled=settled, status_version=version,
            tokens_version=held.tokens_version if tokens is None else version,
        )
        return Membership((*(m for m in self.members if m.node != node), changed))

    def move(self, node: str, tokens: Iterable[int]) -> Membership:
        """The claimant moves ``node``'s tokens (strategy 3, :func:`_announce_moves`):
        its tokens register set to ``tokens`` at its version bumped by two, its status
        register (status, ``settled``) untouched, so a status the node announced
        meanwhile, which the claimant had not heard yet, is kept by the merge
        (:meth:`Member.join`). Raises :class:`~impl.errors.VersionHeadroomError` as
        :meth:`announce` does; :class:`~impl.errors.InvalidValueError` if ``node`` is
        not in the view."""
        held = self.get(node)
        if held is None:
            raise InvalidValueError(f"membership: cannot move the tokens of {node!r:.80}, "
                                    "which is not in the view")
        version = held.version + 2
        if version >= PEER_VERSION_LIMIT:
            raise VersionHeadroomError(
                f"membership: {node!r:.80} cannot announce a change: version "
                f"{version} would not be below 2**62 (PEER_VERSION_LIMIT), "
                "and every peer refuses a view with it")
        moved = replace(held, version=version, tokens=tuple(tokens), tokens_version=version)
        return Membership((*(m for m in self.members if m.node != node), moved))

    # ------------------------------------------------------------------ bytes

    def to_json(self) -> dict[str, object]:
        """A JSON-able dict (tokens as decimal strings: 128-bit ints survive any reader)."""
        return {
            "format": FORMAT,
            "members": [_row(m) for m in self.members],
        }

    def to_bytes(self) -> bytes:
        """Canonical bytes, for the meta table and for gossip messages. A view's bytes
        are kept for the next call (:data:`_VIEW_BYTES`: a node sends the same view in
        every gossip until it changes; session 41)."""
        held = _VIEW_BYTES.get(id(self))
        if held is not None:  # (its view: the entry keeps it alive, so no other has its id)
            return held[1]
        raw = json.dumps(self.to_json(), separators=(",", ":"), sort_keys=True).encode()
        keep(_VIEW_BYTES, self, (self, raw), _VIEW_BYTES_LIMIT)
        return raw

    @classmethod
    def from_json(cls, data: object) -> Membership:
        """Inverse of :meth:`to_json`; a malformed value raises BadMessageError."""
        if not isinstance(data, dict):
            raise _fail("expected a JSON object")
        if data.get("format") != FORMAT:
            raise _fail(f"unknown format {data.get('format')!r:.80}, expected {FORMAT!r}")
        if set(data) != {"format", "members"}:
            raise _fail(f"unexpected fields {sorted(set(data) - {'format', 'members'})!r:.80}")
        rows = data["members"]
        if not isinstance(rows, list):
            raise _fail("members must be a list")
        members: list[Member] = []
        for i, row in enumerate(rows):
            if not isinstance(row, list) or len(row) not in (4, 5, 6) or (
                    len(row) == 5 and row[4] is not True) or (len(row) == 6 and (
                    not isinstance(row[4], bool) or not isinstance(row[5], list)
                    or len(row[5]) != 2)):
                raise _fail(f"member {i} must be [node, version, status, tokens] "
                            "(then true if its change settled; or then settled and "
                            "[status_version, tokens_version])")
            node, version, status, tokens = row[:4]
            registers = row[5] if len(row) == 6 else [-1, -1]
            try:
                parsed_status = MemberStatus(status)
            except ValueError:
                raise _fail(f"member {i} has unknown status {status!r:.80}") from None
            if not isinstance(tokens, list) or not all(
                    isinstance(t, str) and t.isascii() and t.isdigit() and len(t) <= 39
                    for t in tokens):
                raise _fail(f"member {i} tokens must be a list of decimal strings")
            if len(row) == 6 and any(type(v) is not int or v < 0 for v in registers):
                raise _fail(f"member {i} register versions must be ints >= 0")
            members.append(Member(node, version, parsed_status, tuple(int(t) for t in tokens),
                                  len(row) >= 5 and row[4] is True, *registers))
        view = cls(tuple(members))
        return view

    @classmethod
    def from_bytes(cls, data: bytes) -> Membership:
        """Inverse of :meth:`to_bytes`; malformed bytes raise BadMessageError naming why."""
        if not isinstance(data, bytes):
            raise _fail(f"expected bytes, got {type(data).__name__}")
        if cls is Membership and len(data) <= _PARSED_VIEW_BYTES:
            return _parsed_view(data)
        return cls._parse(data)

    @classmethod
    def _parse(cls, data: bytes) -> Membership:
        try:
            decoded = json.loads(data.decode("utf-8"))
        except _JSON_ERRORS as exc:
            raise _fail(f"not valid JSON: {exc}") from None
        return cls.from_json(decoded)

    def vector(self) -> Vector:
        """The view's version vector: ``{node: version of its entry}``. A node that has
        merged this view has seen every announcement up to these versions."""
        return {m.node: m.version for m in self.members}

    def digest(self) -> bytes:
        """A short stable digest of the view: equal views have equal digests."""
        return blake2b(self.to_bytes(), digest_size=16).digest()


# ====================================================================== functions


def merge_conflict(mine: Membership, theirs: Membership) -> None:
    """Check that merging a peer's view ``theirs`` into this node's view ``mine``
    gives no ring token to two routed members (the check of
    :meth:`impl.gossip.Gossiper.on_gossip`, :data:`impl.internal_errors.PEER_DATA`
    "view"). It is computed from the two views alone, on purpose not by
    :meth:`Membership.merge` or :meth:`Membership.ring`: the node runs those after
    this check and outside its peer-data boundary, so that a bug of ours in the
    merge that makes a conflict the two views do not hold is an internal error,
    never the peer's bad data.

    Per node the status and the tokens each of the entry whose register is higher
    (:meth:`Member.precedence`, the merge's rule, :meth:`Member.join`); two nodes whose
    winning status is in :data:`ON_RING` claiming one token in their winning tokens
    is a conflict. Raises :class:`~impl.errors.BadMessageError` (the peer's data) if one
    of the two is an entry of ``theirs``: no correct run makes one (a token moves
    only in one claimant's change, which bumps the giver's and the taker's entries
    together, and views travel whole, so a view that holds the taker's newer entry
    holds the giver's too); :class:`~impl.errors.InvalidValueError` (ours) if both
    are entries of ``mine``: this node's own view is no ring.
    """
    held = {m.node: m for m in mine.members}
    winners: dict[str, tuple[Member, Member, bool]] = {m.node: (m, m, False)
                                                       for m in mine.members}
    for member in theirs.members:
        ours = held.get(member.node)
        if ours is None:
            winners[member.node] = (member, member, True)
            continue
        if member is ours:  # (one entry object: neither register is higher)
            continue
        (status_mine, tokens_mine), (status_other, tokens_other) = (
            ours.precedence(), member.precedence())  # (each once: session 44)
        status_theirs = status_other > status_mine
        tokens_theirs = tokens_other > tokens_mine
        winners[member.node] = (member if status_theirs else ours,
                                member if tokens_theirs else ours,
                                status_theirs or tokens_theirs)
    owners: dict[int, tuple[str, bool]] = {}
    for node, (status, tokens, from_theirs) in winners.items():
        if status.status not in ON_RING:
            continue
        for token in tokens.tokens:
            owner, owner_theirs = owners.setdefault(token, (node, from_theirs))
            if owner == node:
                continue
            message = f"the merged view gives token {token} to {owner!r} and {node!r}"
            if from_theirs or owner_theirs:
                raise _fail(message)
            raise InvalidValueError(f"membership: this node's own view: {message}")


def _row(member: Member) -> list[object]:
    """A member's row in :meth:`Membership.to_json`: ``[node, version, status, tokens]``,
    then ``true`` if settled; ``[..., settled, [status_version, tokens_version]]`` when
    the two registers' versions are not both the entry's (a claimant's move since the
    member's last announcement, session 26)."""
    row: list[object] = [member.node, member.version, member.status.value,
                         [str(t) for t in member.tokens]]
    if member.status_version == member.tokens_version == member.version:
        return [*row, *((True,) if member.settled else ())]
    return [*row, member.settled, [member.status_version, member.tokens_version]]


def initial_membership(ring: Ring) -> Membership:
    """The view every initial member starts from: each ring node ``up`` at version 1."""
    return Membership(tuple(Member(node, 1, MemberStatus.UP, ring.tokens_of(node))
                            for node in ring.nodes))


def pick_gossip_peer(view: Membership, me: str, rng: random.Random,
                     seeds: Sequence[str] = ()) -> str | None:
    """A random peer to gossip with this period: any live member or seed but me.

    None when there is nobody. Deterministic given ``rng``'s state.
    """
    candidates = sorted({*view.live_nodes, *seeds} - {me})
    if not candidates:
        return None
    return candidates[rng.randrange(len(candidates))]


def _announce_moves(view: Membership, target: Ring, node: str) -> Membership:
    """Announce every token set but ``node``'s that ``target`` changed (strategy 3:
    the partitions moved to or from ``node``). Each keeps its ``settled`` flag (the
    move is ``node``'s change, not theirs), and its version goes up by two: the move
    outranks an announcement the member makes of itself meanwhile (its change
    settled: it announces that again, :meth:`impl.gossip.Gossiper.on_gossip`), which
    would otherwise tie with it, and a tie kept either entry (a token held twice, or
    a settlement lost: a view no node accepts, or a change that never settles).
    ``target`` is compared with the members' ring (:data:`ON_RING`): a member being
    force-removed keeps its tokens on it, and is announced only if its tokens moved.
    Before (session 21), compared with the routed members' tokens only, a leaving
    node's ``left`` under strategies 1 and 2 (which moves no other member's tokens)
    announced a ``removing`` member's unchanged entry again, two versions up, and
    that outranked the claimant's ``removed`` of it made meanwhile (one version up):
    the removal was handed over again, and its settlement, announced by the claimant
    on the ``removing`` entry, was never heard by the members that saw the second
    handover (``settling`` = the removed node for good; 6 nodes, n6 removed by n1,
    n2's leave crossing it, strategy 2, seed 4, 0.1 s)."""
    current = view.tokens(ON_RING)
    for other in target.nodes:
        if other != node and current.get(other) != target.tokens_of(other):
            view = view.move(other, target.tokens_of(other))
    return view


def _adopt(view: Membership, target: Ring, node: str, status: MemberStatus) -> Membership:
    """Announce ``node``'s new status and every token set that ``target`` changed."""
    return _announce_moves(view, target, node).announce(node, status=status,
                                                        tokens=target.tokens_of(node))


def join(view: Membership, node: str, partitioning: Partitioning, rng: random.Random,
         capacity: float = 1.0, tokens: tuple[int, ...] | None = None) -> Membership:
    """The view after ``node`` announces that it joins, with tokens chosen by the strategy.

    ``partitioning`` wraps the current ring in the configured strategy (see
    ``ClusterConfig.partitioning_of``). Strategies 1 and 2 draw random tokens;
    strategy 3 moves partitions from the other nodes, whose new token sets are
    announced too. The node starts ``joining``; :meth:`Membership.announce` it
    ``up`` once the ranges it now owns were handed to it. ``tokens``: take these
    (the node's slot of ``ClusterConfig.ring_slots``) instead of drawing them.
    """
    held = view.get(node)
    if held is not None and held.status in ROUTED:
        raise InvalidValueError(f"node {node!r} is already a member ({held.status.value})")
    if tokens is not None:
        return _adopt(view, partitioning.ring.with_node(node, tokens), node,
                      MemberStatus.JOINING)
    target = partitioning.with_node(node, rng, capacity)
    return _adopt(view, target.ring, node, MemberStatus.JOINING)


def leave(view: Membership, node: str, partitioning: Partitioning | None = None,
          rng: random.Random | None = None) -> Membership:
    """The view after ``node`` announces it is leaving (strategies 1 and 2: it keeps
    its tokens meanwhile).

    Strategy 3 (``partitioning``: the ring of the members, equal partitions, with
    ``node`` and another member on it): its partitions are handed out at once, at
    random (``rng``), to the remaining members below their share
    (:meth:`spec.ring.Partitioning.without_node`), whose new token sets are
    announced, and the node keeps no tokens; it serves its ranges until it has left
    (the serving ring is kept, :meth:`impl.gossip.Gossiper._serving`), and the ranges
    move to the ring that serves once it has (before, the partitions were handed
    out only at :func:`left`, after the transfer, to a third ring). Raises
    :class:`~impl.errors.InvalidValueError` if ``node`` is not a live member.
    """
    held = view.get(node)
    if held is None or held.status not in ROUTED:
        raise InvalidValueError(f"node {node!r} is not a live member")
    if (partitioning is None or rng is None or partitioning.strategy is not
            Strategy.EQUAL_PARTITIONS or node not in partitioning.ring
            or len(partitioning.ring.nodes) < 2):
        return view.announce(node, status=MemberStatus.LEAVING)
    view = _announce_moves(view, partitioning.without_node(node, rng).ring, node)
    return view.announce(node, status=MemberStatus.LEAVING, tokens=())


def left(view: Membership, node: str, partitioning: Partitioning,
         rng: random.Random) -> Membership:
    """The view after ``node`` handed its ranges over and left the ring.

    Its tokens go (strategy 3: its partitions go to the remaining nodes, whose
    new token sets are announced too).
    """
    held = view.get(node)
    if held is None or held.status not in ROUTED:
        raise InvalidValueError(f"node {node!r} is not a live member")
    view = _announce_moves(view, partitioning.without_node(node, rng).ring, node)
    return view.announce(node, status=MemberStatus.LEFT, tokens=())


def force_remove(view: Membership, node: str, n: int) -> Membership:
    """The view after an operator force-removed ``node``, a member down for good
    (riak_core's ``riak-admin cluster force-remove``, Cassandra's ``nodetool
    removenode``): its entry ``removing`` (a ``leaving`` the node does not announce),
    announced by another member with its version bumped by two, so that it outranks
    an announcement the node made of itself meanwhile (a tie is won by ``removing``,
    above every status a node announces of itself). It keeps its tokens (strategy 3:
    until the claimant hands its partitions out, :func:`claim_leave`); the serving
    ring keeps its ranges with it until the survivors handed them to their new
    owners; the claimant then announces it ``removed`` with no tokens
    (:meth:`impl.gossip.Gossiper.on_handoff_done`), and its settlement. ``n``: the
    replication factor.

    Raises :class:`~impl.errors.InvalidValueError` naming why: ``node`` unknown, not
    a member joining, up or leaving, or its removal would leave fewer than ``n``
    members. (Whether it is down is the caller's: only a node's failure detector
    knows, :meth:`impl.node.Node.force_remove`.)"""
    held = view.get(node)
    if held is None:
        raise InvalidValueError(f"force-remove: unknown node {node!r:.80}: members are "
                                f"{', '.join(view.live_nodes)}")
    if held.status not in ROUTED:
        raise InvalidValueError(f"force-remove: {node!r:.80} is not a member (it is "
                                f"{held.status.value})")
    remaining = len(view.live_nodes) - 1
    if remaining < n:
        raise InvalidValueError(
            f"force-remove: removing {node!r:.80} would leave {remaining} members, fewer "
            f"than N = {n} replicas per key")
    once = view.announce(node, status=MemberStatus.REMOVING)
    return once.announce(node)


def departure_shortfall(view: Membership, node: str, n: int, gone: Iterable[str]
                        ) -> str | None:
    """Why the departure of ``node`` (its leave's ``left``, its removal's handover or,
    strategy 3, the claim of either) may not complete yet, or None if it may: with
    it and the members of ``gone`` (the other departures in flight that go first)
    gone, fewer than ``n`` (the replication factor) members would stay on the ring.
    Where it is asked each change is checked alone (:func:`force_remove` refuses,
    a leave is not refused: riak_core's ``cluster plan`` only warns "Not all
    replicas will be on distinct nodes"); this is the check of the changes in
    flight together, at the step that cannot be undone, so a lone leave of one of
    N members waits too. Session 24: before, n2's leave and n4's removal asked at n1, which had not
    heard of the leave, both completed, and 4 members with N = 3 became 2
    (session 23's review).

    The callers choose ``gone`` so that of two departures that cross one always
    goes first, decided by one node each (:meth:`impl.gossip.Gossiper.finish_leaving`,
    ``_removal_done``, ``claim``): a removal before a leave (the leaving node, still
    serving, waits; the removed node is down for good and cannot), removals by name."""
    members = [m.node for m in view if m.status in ON_RING and m.node != node]
    out = set(gone) & set(members)
    staying = [other for other in members if other not in out]
    if len(staying) >= n:
        return None
    crossing = f"with {', '.join(sorted(out))} going too, " if out else ""
    return (f"{crossing}it would leave {len(staying)} "
            f"member{'' if len(staying) == 1 else 's'} "
            f"({', '.join(staying) or 'none'}), fewer than N = {n} replicas per key; it "
            "completes once a node joins")


# ====================================================================== the claimant
#
# Strategy 3 moves partitions between the members at every join and leave. Two
# nodes that each computed a move from the same view (two joins that took the
# seed's view before either reached it, a leave announced during a join) move the
# same partitions, and the views then hold a token twice for ever. So, as
# riak_core's claimant (``riak_core_claimant.erl``: one member plans every ring
# change, one transition at a time), only the *claimant* moves partitions: a
# joining node announces itself ``joining`` with no tokens, a leaving one
# ``leaving`` with its tokens, and the claimant computes the claim
# (:func:`claim_join`, :func:`claim_leave`) once no other change is in progress
# (:meth:`impl.gossip.Gossiper.claim`).


def claimant(view: Membership) -> str | None:
    """The member that moves partitions (strategy 3): the lowest-named ``up`` member
    holding tokens (None if there is none). A node that leaves stops being it the
    moment it announces ``leaving``; a joining node becomes it only once ``up``."""
    for member in view.members:
        if member.status is MemberStatus.UP and member.tokens:
            return member.node
    return None


def claim_join(view: Membership, node: str, partitioning: Partitioning,
               rng: random.Random, capacity: float = 1.0) -> Membership:
    """The claimant's view after it gives ``node`` (``joining`` with no tokens) its
    partitions (strategy 3: taken at random from the members above their share,
    :meth:`spec.ring.Partitioning.with_node`): every token set that moved, ``node``'s
    included, announced with its version bumped by two (:func:`_announce_moves`).
    Raises :class:`~impl.errors.InvalidValueError` unless ``node`` is joining with no
    tokens and off ``partitioning``'s ring."""
    held = view.get(node)
    if held is None or held.status is not MemberStatus.JOINING or held.tokens:
        raise InvalidValueError(f"node {node!r} is not a member joining with no tokens")
    return _announce_moves(view, partitioning.with_node(node, rng, capacity).ring, "")


def claim_leave(view: Membership, node: str, partitioning: Partitioning,
                rng: random.Random) -> Membership:
    """The claimant's view after it hands out the partitions of ``node`` (``leaving``
    with its tokens, or ``removing``: force-removed) to the remaining members below their share
    (:meth:`spec.ring.Partitioning.without_node`): their new token sets, and
    ``node`` with no tokens (it keeps serving its ranges until it has left: the
    serving ring is kept, :meth:`impl.gossip.Gossiper._serving`), each with its
    version bumped by two. A partition is handed only to a member that stays (up or
    joining), never to another one leaving or being removed (:func:`_to_staying`;
    riak_core's claim gives partitions to its claiming members only,
    ``riak_core_ring:claiming_members/1``). Raises
    :class:`~impl.errors.InvalidValueError` unless ``node`` is leaving with tokens on
    ``partitioning``'s ring beside another node."""
    held = view.get(node)
    if (held is None or held.status not in (MemberStatus.LEAVING, MemberStatus.REMOVING)
            or not held.tokens
            or node not in partitioning.ring or len(partitioning.ring.nodes) < 2):
        raise InvalidValueError(f"node {node!r} is not a member leaving with tokens")
    departing = {m.node for m in view if m.node != node
                 and m.status in (MemberStatus.LEAVING, MemberStatus.REMOVING)}
    target = _to_staying(partitioning.ring,
                         partitioning.without_node(node, rng).ring, departing)
    view = _announce_moves(view, target, node)
    return view.move(node, ())


def _to_staying(before: Ring, target: Ring, departing: set[str]) -> Ring:
    """``target`` with each token it moved to a member of ``departing`` given instead
    to the staying member holding the fewest tokens (then the lowest name). Session
    24's review: 5 nodes, N = 3, strategy 3, n4 and n5 removed and n3 leaving at
    once; the claim of n4 handed 4 partitions to n5 (removing, down), their transfer
    never ended, and no later change was ever claimed (joins stayed ``joining``)."""
    staying = [other for other in target.nodes if other not in departing]
    if not staying:
        return target
    held = dict(before.entries)
    counts = {other: len(target.tokens_of(other)) for other in staying}
    entries = []
    for token, owner in target.entries:
        if owner in departing and held.get(token) != owner:
            owner = min(staying, key=lambda other: (counts[other], other))
            counts[owner] += 1
        entries.append((token, owner))
    return Ring(tuple(entries))


# ====================================================================== heartbeats
#
# Every gossip carries, per member, the highest heartbeat of it the sender knows:
# Cassandra's ``HeartBeatState`` (``org.apache.cassandra.gms``), a ``generation``
# (the member's start, seconds; a later start counts above every beat of an earlier
# one) and a ``version`` the member counts up at each gossip it sends, with the age of
# that beat at the sender (milliseconds since the member sent it, as far as the sender
# knows). A relay carries the member's own count, and a receiver dates a beat only
# when it learns a higher one (the same beat again it may date older, never newer),
# so a cycle of relays makes the news no fresher; the age dates it by the time it
# waited at each hop, so only the transits along one path go uncounted. A node holds
# a member alive while the beat it knows is dated within the window
# (:meth:`impl.node.Node.down`), so that a node knows a member is alive though it has
# not heard from it directly lately (session 26: at 16 nodes a live member went
# unheard directly for 25 s, past force-remove's 12 s window). Session 27: session
# 26 gossiped only ages, which a receiver took as "heard at now - age", the transit
# counted as none, and relayed on, so a cycle made news of a dead member fresher by
# a transit a hop for ever (6 nodes, 2 s delays: down everywhere only 46.5 s after
# its death).

#: the format tag of serialized heartbeats (:func:`beats_to_bytes`; session 26's
#: ``vdynamo.beats.v1`` carried ages only and is refused)
BEATS_FORMAT = "vdynamo.beats.v2"
#: the most entries a peer's heartbeats may hold
BEATS_LIMIT = 4096
#: a heartbeat: (generation, version), compared as a pair (Cassandra's ``HeartBeatState``)
Heartbeat = tuple[int, int]
#: a gossiped heartbeat: (generation, version, age in milliseconds at the sender)
Beat = tuple[int, int, int]


def beats_to_bytes(beats: dict[str, Beat]) -> bytes:
    """Canonical bytes of gossiped heartbeats (member -> ``(generation, version,
    age)``, each an int in [0, 2**63), the age in milliseconds), for
    :attr:`impl.messages.Gossip.beats`: JSON ``{"format": "vdynamo.beats.v2",
    "beats": {member: [generation, version, age]}}``."""
    return json.dumps({"format": BEATS_FORMAT,
                       "beats": {node: list(beat) for node, beat in beats.items()}},
                      separators=(",", ":"), sort_keys=True).encode()


def beats_from_bytes(data: bytes) -> dict[str, Beat]:
    """Inverse of :func:`beats_to_bytes` (b"": none); malformed bytes raise
    BadMessageError naming why: not JSON, another format (session 26's ages among
    them), over :data:`BEATS_LIMIT` entries, a name not a non-empty str or a
    heartbeat not ``[generation, version, age]``, three ints in [0, 2**63)."""
    if not data:
        return {}
    try:
        decoded = json.loads(data.decode("utf-8"))
    except _JSON_ERRORS as exc:
        raise _fail(f"heartbeats: not valid JSON: {exc}") from None
    if not isinstance(decoded, dict) or set(decoded) != {"format", "beats"} or (
            decoded["format"] != BEATS_FORMAT) or not isinstance(decoded["beats"], dict):
        raise _fail(f"heartbeats: expected {{format: {BEATS_FORMAT!r}, beats: {{...}}}}")
    beats = decoded["beats"]
    if len(beats) > BEATS_LIMIT:
        raise _fail(f"heartbeats: {len(beats)} entries, over {BEATS_LIMIT}")
    for node, beat in beats.items():
        if not node or type(beat) is not list or len(beat) != 3 or not all(
                type(count) is int and 0 <= count < VERSION_LIMIT for count in beat):
            raise _fail(f"heartbeats: the heartbeat of {node!r:.80} must be [generation, "
                        "version, age], three ints in [0, 2**63)")
    return {node: (beat[0], beat[1], beat[2]) for node, beat in beats.items()}


# ====================================================================== seen digests
#
# What each member has seen of the membership (riak_core's ring ``seen`` list:
# ``riak_core_ring:ring_ready/1`` holds when every member has seen the current
# ring). A member's entry is the version vector of a view it merged; entries only
# grow, so any report of one is a lower bound, and merging keeps the pointwise
# maximum (commutative, associative, idempotent).


def seen_merge(a: Seen, b: Seen) -> Seen:
    """The pointwise maximum of two seen digests (a new dict)."""
    merged = {member: dict(vector) for member, vector in a.items()}
    for member, vector in b.items():
        held = merged.setdefault(member, {})
        for node, version in vector.items():
            if version > held.get(node, 0):
                held[node] = version
    return merged


def seen_all(seen: Seen, members: Iterable[str], required: Vector) -> bool:
    """Whether every one of ``members`` is known to have seen at least ``required``."""
    for member in members:
        vector = seen.get(member)
        if vector is None or any(vector.get(node, 0) < version
                                 for node, version in required.items()):
            return False
    return True


def seen_to_bytes(seen: Seen) -> bytes:
    """Canonical bytes of a seen digest (for :class:`impl.messages.SeenDigest`)."""
    return json.dumps({"format": SEEN_FORMAT, "seen": seen}, separators=(",", ":"),
                      sort_keys=True).encode()


def seen_from_bytes(data: bytes) -> Seen:
    """Inverse of :func:`seen_to_bytes`; malformed bytes raise BadMessageError."""
    try:
        decoded = json.loads(data.decode("utf-8"))
    except _JSON_ERRORS as exc:
        raise _fail(f"seen digest: not valid JSON: {exc}") from None
    if not isinstance(decoded, dict) or set(decoded) != {"format", "seen"} or (
            decoded["format"] != SEEN_FORMAT):
        raise _fail(f"seen digest: expected {{format: {SEEN_FORMAT!r}, seen}}")
    seen = decoded["seen"]
    if not isinstance(seen, dict):
        raise _fail("seen digest: seen must be an object")
    for member, vector in seen.items():
        if not member or not isinstance(vector, dict) or not all(
                node and type(version) is int and 0 <= version < 1 << 63
                for node, version in vector.items()):
            raise _fail(f"seen digest: the entry of {member!r:.80} must map nodes to "
                        "versions")
    return seen
