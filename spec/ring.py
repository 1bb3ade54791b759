"""The consistent-hashing ring and preference lists (Dynamo paper, sections 4.2-4.3, 6.2).

Theory of operation
-------------------
A key's *position* is the MD5 digest of its bytes read as a 128-bit big-endian
integer, so positions lie in ``[0, RING_SIZE)``. Each physical node holds one or
more *tokens* (virtual nodes): positions on the ring. A key belongs to the first
token clockwise whose position is strictly larger than the key's position (the
paper: "the first node with a position larger than the item's position"),
wrapping past the top of the ring to the smallest token. A token ``t`` therefore
covers the half-open range ``[previous token, t)``; the smallest token covers the
wrapping range ``[largest token, RING_SIZE) + [0, smallest token)``.

The *preference list* of a key walks the tokens clockwise from the key's
position and lists each physical node the first time one of its tokens is met,
skipping the positions of nodes already listed. Its first N entries are the key's
*top N* (its replicas); the rest, in order, are the fallbacks a *sloppy quorum*
turns to when top-N nodes are unreachable.

The tokens cut the ring into *elementary ranges* ``[t_i, t_{i+1})`` (the wrapping
range split in two at 0). Every key of an elementary range has the same preference
list, so ranges are the unit in which replicas are compared (one Merkle tree per
key range, :meth:`Ring.ranges_of`) and handed over when a node joins or leaves
(:meth:`Ring.range_owners`).

A :class:`Ring` is an immutable, hashable value: a sorted tuple of
``(token, node)`` pairs; lookups are a binary search plus a short walk. A node's
token count may follow its capacity (heterogeneity): see :func:`token_counts`.

The paper's three partitioning strategies (section 6.2), :func:`strategy1`,
:func:`strategy2` and :func:`strategy3`, build a :class:`Partitioning` (a ring plus
its partitions) from a seeded ``random.Random`` passed in. Under strategy 2 the
unit of placement is an equal-sized partition rather than a token range, so code
that routes keys or hands over ranges under any strategy asks the
:class:`Partitioning` (same method names as :class:`Ring`). The load-balance
comparison printed by ``vdynamo ring`` lives in :mod:`spec.partitioning`.

Why one module of over 600 lines: a :class:`Partitioning` is a :class:`Ring` plus
its partitions and answers the same queries (preference lists, ranges, owners) by
the same walk, and the strategies build rings with the ring's own helpers; the
implementation imports both from here (``impl/config.py``, ``impl/membership.py``,
``impl/rebalance.py``), so that spec and implementation share one ring and cannot
drift. The file has two parts: the ring math (``Ring`` and its helpers) and the
paper's strategies (from ``Strategy`` on).

Errors: every constructor and query refuses bad input (an unknown node, a token
out of range, an empty ring, a bad capacity) with a ValueError naming it.
"""

from __future__ import annotations

import bisect
import enum
import hashlib
import itertools
import math
import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from spec.errors import InvalidValueError

__all__ = [
    "RING_SIZE",
    "Partitioning",
    "Ring",
    "Strategy",
    "check_capacity",
    "draw_tokens",
    "key_position",
    "partition_bounds",
    "strategy1",
    "strategy2",
    "strategy3",
    "token_counts",
]

#: Number of positions on the ring: MD5 digests are 128 bits.
RING_SIZE = 2**128

Position = int
Range = tuple[int, int]


def key_position(key: bytes | str) -> int:
    """The ring position of ``key``: its MD5 digest as a big-endian integer.

    A ``str`` key is encoded as UTF-8 first. Any other type raises ``ValueError``.
    """
    if isinstance(key, str):
        data = key.encode("utf-8")
    elif isinstance(key, bytes | bytearray | memoryview):
        data = bytes(key)
    else:
        raise InvalidValueError(f"key must be bytes or str, got {type(key).__name__}: {key!r}")
    return int.from_bytes(hashlib.md5(data).digest(), "big")


def _check_node(node: object) -> str:
    if not isinstance(node, str) or not node:
        raise InvalidValueError(f"node name must be a non-empty str, got {node!r}")
    return node


def _check_token(node: str, token: object) -> int:
    if isinstance(token, bool) or not isinstance(token, int):
        raise InvalidValueError(f"token of node {node!r} must be an int, got {token!r}")
    if not 0 <= token < RING_SIZE:
        raise InvalidValueError(f"token {token} of node {node!r} is outside the ring [0, 2**128)")
    return token


def _iterable(value: object, name: str) -> Iterable[object]:
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        raise InvalidValueError(f"{name} must be an iterable of (token, node) pairs, got {value!r}")
    return value


def _check_entry(entry: object) -> tuple[int, str]:
    if not isinstance(entry, tuple) or len(entry) != 2:
        raise InvalidValueError(f"ring entry must be a (token, node) pair, got {entry!r}")
    token, node = entry
    name = _check_node(node)
    return (_check_token(name, token), name)


def _check_length(length: object, name: str = "length") -> int:
    if isinstance(length, bool) or not isinstance(length, int) or length < 1:
        raise InvalidValueError(f"{name} must be an int >= 1, got {length!r}")
    return length


def _check_position(position: object) -> int:
    if isinstance(position, bool) or not isinstance(position, int):
        raise InvalidValueError(f"ring position must be an int, got {position!r}")
    if not 0 <= position < RING_SIZE:
        raise InvalidValueError(f"ring position {position} is outside the ring [0, 2**128)")
    return position


def check_capacity(node: str, capacity: object) -> float:
    """Validate a node's capacity: a finite number > 0 (bool refused)."""
    if (
        isinstance(capacity, bool)
        or not isinstance(capacity, int | float)
        or not math.isfinite(capacity)
        or capacity <= 0
    ):
        raise InvalidValueError(
            f"capacity of node {node!r} must be a finite number > 0, got {capacity!r}"
        )
    return float(capacity)


def token_counts(
    nodes: Sequence[str], tokens_per_node: int, capacities: Mapping[str, float] | None = None
) -> dict[str, int]:
    """How many tokens each node gets: ``round(tokens_per_node * capacity)``, at least 1.

    ``capacities`` maps a node to its relative capacity (default 1.0 for a node not
    named); a node twice as capable gets twice the tokens and so about twice the
    keys. A capacity for a node not in ``nodes`` is refused.
    """
    _check_length(tokens_per_node, "tokens_per_node")
    names = [_check_node(n) for n in nodes]
    if len(set(names)) != len(names):
        raise InvalidValueError(f"node names must be distinct, got {list(nodes)!r}")
    capacities = dict(capacities or {})
    unknown = sorted(set(capacities) - set(names))
    if unknown:
        raise InvalidValueError(f"capacity given for unknown node(s) {unknown!r}")
    counts: dict[str, int] = {}
    for node in names:
        capacity = check_capacity(node, capacities.get(node, 1.0))
        counts[node] = max(1, round(tokens_per_node * capacity))
    return counts


@dataclass(frozen=True, slots=True)
class Ring:
    """An immutable consistent-hashing ring: sorted ``(token, node)`` pairs.

    Build one with :meth:`from_tokens` or :meth:`evenly_spaced` (the spec's small
    ring). Every node holds at least one token and no two entries share a token.
    An empty ring is refused.
    """

    entries: tuple[tuple[int, str], ...]
    _positions: tuple[int, ...] = field(init=False, repr=False, compare=False)
    _owners: tuple[str, ...] = field(init=False, repr=False, compare=False)
    _nodes: tuple[str, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        entries = tuple(sorted(_check_entry(e) for e in _iterable(self.entries, "entries")))
        if not entries:
            raise InvalidValueError("empty ring: a ring needs at least one node with a token")
        for (t1, n1), (t2, n2) in itertools.pairwise(entries):
            if t1 == t2:
                raise InvalidValueError(f"token {t1} is held twice (by {n1!r} and {n2!r})")
        object.__setattr__(self, "entries", entries)
        object.__setattr__(self, "_positions", tuple(t for t, _ in entries))
        object.__setattr__(self, "_owners", tuple(n for _, n in entries))
        object.__setattr__(self, "_nodes", tuple(sorted(set(self._owners))))

    # ------------------------------------------------------------------ building

    @classmethod
    def from_tokens(cls, tokens: Mapping[str, Iterable[int]]) -> Ring:
        """A ring from ``{node: tokens}``; each node must list at least one token."""
        entries: list[tuple[int, str]] = []
        for node, node_tokens in tokens.items():
            _check_node(node)
            if isinstance(node_tokens, int | str | bytes):
                raise InvalidValueError(f"tokens of node {node!r} must be an iterable of ints")
            listed = list(node_tokens)
            if not listed:
                raise InvalidValueError(f"node {node!r} has no tokens")
            entries.extend((_check_token(node, t), node) for t in listed)
        return cls(tuple(entries))

    @classmethod
    def evenly_spaced(cls, nodes: Sequence[str]) -> Ring:
        """The spec's small ring: one token per node at ``i * RING_SIZE // len(nodes)``.

        The nodes are laid out in the given order, so every preference list is a
        rotation of ``nodes``: the key range just below ``nodes[i]``'s token has
        preference list ``nodes[i], nodes[i+1], ...``.
        """
        names = [_check_node(n) for n in nodes]
        if not names:
            raise InvalidValueError("empty ring: evenly_spaced needs at least one node")
        if len(set(names)) != len(names):
            raise InvalidValueError(f"node names must be distinct, got {list(nodes)!r}")
        return cls(tuple((i * RING_SIZE // len(names), n) for i, n in enumerate(names)))

    def with_node(self, node: str, tokens: Iterable[int]) -> Ring:
        """This ring with ``node`` added, holding ``tokens``. The node must be new."""
        _check_node(node)
        if node in self._nodes:
            raise InvalidValueError(f"node {node!r} is already in the ring")
        added = Ring.from_tokens({node: tokens})
        return Ring(self.entries + added.entries)

    def without_node(self, node: str) -> Ring:
        """This ring with ``node`` and its tokens removed (the last node cannot leave)."""
        self._require(node)
        if len(self._nodes) == 1:
            raise InvalidValueError(f"removing {node!r} would leave an empty ring")
        return Ring(tuple(e for e in self.entries if e[1] != node))

    # ------------------------------------------------------------------ queries

    @property
    def nodes(self) -> tuple[str, ...]:
        """The physical nodes, sorted by name."""
        return self._nodes

    @property
    def tokens(self) -> tuple[int, ...]:
        """All tokens, sorted."""
        return self._positions

    def __len__(self) -> int:
        """Number of tokens (virtual nodes) on the ring."""
        return len(self._positions)

    def __contains__(self, node: object) -> bool:
        return node in self._nodes

    def tokens_of(self, node: str) -> tuple[int, ...]:
        """The tokens ``node`` holds, sorted; an unknown node raises ``ValueError``."""
        self._require(node)
        return tuple(t for t, n in self.entries if n == node)

    def token_index(self, key_or_position: bytes | str | int) -> int:
        """Index (into :attr:`tokens`) of the token that covers a key or position."""
        position = self._position(key_or_position)
        index = bisect.bisect_right(self._positions, position)
        return 0 if index == len(self._positions) else index

    def preference_list(
        self, key_or_position: bytes | str | int, length: int | None = None
    ) -> tuple[str, ...]:
        """The distinct physical nodes met walking clockwise from a key's position.

        ``key_or_position`` is a key (``bytes``/``str``, hashed with
        :func:`key_position`) or a ring position (``int``). ``length`` None lists
        every node; otherwise at most ``length`` (>= 1) nodes are listed: the first
        N are the top N, the rest the sloppy quorum's fallbacks.
        """
        limit = len(self._nodes) if length is None else _check_length(length)
        return self._walk(self.token_index(key_or_position), limit)

    def range_of(self, position: int) -> Range:
        """The elementary range ``[lo, hi)`` (split at 0) that holds ``position``."""
        position = _check_position(position)
        index = bisect.bisect_right(self._positions, position)
        lo = self._positions[index - 1] if index > 0 else 0
        hi = self._positions[index] if index < len(self._positions) else RING_SIZE
        return (lo, hi)

    def range_owners(self, position: int, n: int) -> tuple[str, ...]:
        """The top ``n`` nodes of the elementary range holding ``position``.

        The same for every position of that range (:meth:`range_of`); used to hand
        a key range to the nodes that should now replicate it.
        """
        _check_position(position)
        return self.preference_list(position, _check_length(n, "n"))

    def ranges(self) -> list[Range]:
        """Every elementary range ``[lo, hi)``, sorted; they tile ``[0, RING_SIZE)``."""
        bounds = list(self._positions)
        if bounds[0] != 0:
            bounds.insert(0, 0)
        bounds.append(RING_SIZE)
        return list(itertools.pairwise(bounds))

    def ranges_of(self, node: str, n: int) -> list[Range]:
        """The elementary ranges ``[lo, hi)`` for which ``node`` is among the top ``n``.

        Sorted by ``lo``; the wrapping range is split in two at 0; adjacent ranges
        are not merged, so two nodes replicating the same keys agree on boundaries.
        """
        self._require(node)
        _check_length(n, "n")
        return [r for r in self.ranges() if node in self.range_owners(r[0], n)]

    # ------------------------------------------------------------------ helpers

    def _walk(self, start: int, limit: int) -> tuple[str, ...]:
        owners = self._owners
        count = len(owners)
        found: list[str] = []
        seen: set[str] = set()
        for step in range(count):
            node = owners[(start + step) % count]
            if node not in seen:
                seen.add(node)
                found.append(node)
                if len(found) == limit:
                    break
        return tuple(found)

    def _position(self, key_or_position: bytes | str | int) -> int:
        if isinstance(key_or_position, bool):
            raise InvalidValueError(f"key must be bytes or str, got bool: {key_or_position!r}")
        if isinstance(key_or_position, int):
            return _check_position(key_or_position)
        return key_position(key_or_position)

    def _require(self, node: str) -> None:
        if node not in self._nodes:
            raise InvalidValueError(f"unknown node {node!r}: not on the ring {list(self._nodes)!r}")


# ====================================================================== strategies


class Strategy(enum.Enum):
    """The paper's three partitioning strategies (section 6.2)."""

    #: T random tokens per node; the tokens' values cut the ring into partitions.
    RANDOM_TOKENS = 1
    #: T random tokens per node; Q equal-sized partitions, each placed on the first
    #: N distinct nodes met walking clockwise from the partition's end.
    RANDOM_TOKENS_EQUAL_PARTITIONS = 2
    #: Q equal-sized partitions, Q/S of them (one token at each one's end) per node.
    EQUAL_PARTITIONS = 3


def partition_bounds(partitions: int) -> list[Range]:
    """The Q equal-sized partitions: position p lies in partition ``p * Q // RING_SIZE``.

    Partition j is ``[ceil(j * RING_SIZE / Q), ceil((j + 1) * RING_SIZE / Q))``;
    sizes differ by at most one position.
    """
    _check_length(partitions, "partitions")
    if partitions > RING_SIZE:
        raise InvalidValueError(f"partitions must be at most 2**128, got {partitions}")
    cuts = [_partition_cut(j, partitions) for j in range(partitions + 1)]
    return list(itertools.pairwise(cuts))


def _partition_cut(j: int, partitions: int) -> int:
    """Lower bound of partition ``j``: the least position p with p * Q // RING_SIZE == j."""
    return -(-j * RING_SIZE // partitions)


@dataclass(frozen=True, slots=True)
class Partitioning:
    """A ring built by one of the paper's strategies, with its partitions.

    ``ring`` holds the tokens. ``partitions`` is Q for strategies 2 and 3 (None for
    strategy 1, whose partitions are the ring's elementary ranges). For strategy 3
    each partition's token sits at the partition's end (its upper bound, 0 for the
    last one), so the ring's ranges are exactly the partitions. ``tokens_per_node``
    is T (strategies 1 and 2: a node of capacity c holds ``round(T * c)`` tokens)
    or the nominal Q/S (strategy 3). ``capacities`` records each node's relative
    capacity so that joining and leaving keep the counts following capacity.
    """

    strategy: Strategy
    ring: Ring
    tokens_per_node: int
    partitions: int | None = None
    capacities: tuple[tuple[str, float], ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.strategy, Strategy):
            raise InvalidValueError(f"strategy must be a Strategy, got {self.strategy!r}")
        if not isinstance(self.ring, Ring):
            raise InvalidValueError(f"ring must be a Ring, got {self.ring!r}")
        _check_length(self.tokens_per_node, "tokens_per_node")
        if self.strategy is Strategy.RANDOM_TOKENS:
            if self.partitions is not None:
                raise InvalidValueError(
                    "strategy 1 has no fixed partitions: partitions must be None"
                )
        else:
            bounds = partition_bounds(_check_length(self.partitions, "partitions"))
            if self.strategy is Strategy.EQUAL_PARTITIONS and self.ring.tokens != tuple(
                sorted(hi % RING_SIZE for _, hi in bounds)
            ):
                raise InvalidValueError(
                    f"strategy 3 ring must hold exactly one token at the end of each of the "
                    f"Q={self.partitions} partitions"
                )
        for node, capacity in self.capacities:
            self.ring.tokens_of(node)
            check_capacity(node, capacity)

    @property
    def nodes(self) -> tuple[str, ...]:
        """The physical nodes, sorted by name."""
        return self.ring.nodes

    @property
    def metadata_size(self) -> int:
        """Entries of membership information each node keeps to route any key.

        Strategies 1 and 2: the token positions of all the nodes (S x T);
        strategy 3: the node assigned to each partition (Q). The x-axis of the
        paper's figure 8.
        """
        return len(self.ring)

    def capacity_of(self, node: str) -> float:
        """The relative capacity recorded for ``node`` (1.0 unless given)."""
        self.ring.tokens_of(node)  # unknown node -> ValueError
        return dict(self.capacities).get(node, 1.0)

    def placements(self, n: int) -> list[tuple[Range, tuple[str, ...]]]:
        """Each partition ``[lo, hi)`` with its top ``n`` nodes, sorted by ``lo``."""
        _check_length(n, "n")
        ring, tokens = self.ring, self.ring.tokens
        from_end = self.strategy is Strategy.RANDOM_TOKENS_EQUAL_PARTITIONS
        walks: dict[int, tuple[str, ...]] = {}
        placed: list[tuple[Range, tuple[str, ...]]] = []
        for lo, hi in self.ranges():
            start = hi - 1 if from_end else lo  # strategy 2 walks from the partition's end
            index = bisect.bisect_right(tokens, start) % len(tokens)
            if index not in walks:
                walks[index] = ring._walk(index, n)
            placed.append(((lo, hi), walks[index]))
        return placed

    def preference_list(
        self, key_or_position: bytes | str | int, length: int | None = None
    ) -> tuple[str, ...]:
        """The key's preference list under this strategy (see :meth:`Ring.preference_list`).

        For strategy 2 the walk starts at the end of the key's partition rather
        than at the key, so every key of a partition has the same list.
        """
        if self.strategy is Strategy.RANDOM_TOKENS_EQUAL_PARTITIONS:
            assert self.partitions is not None
            position = self.ring._position(key_or_position)
            index = position * self.partitions // RING_SIZE
            end = _partition_cut(index + 1, self.partitions)
            return self.ring.preference_list(end - 1, length)
        return self.ring.preference_list(key_or_position, length)

    def ranges(self) -> list[Range]:
        """The partitions ``[lo, hi)``, sorted: Q equal ranges (strategies 2, 3) or the
        ring's elementary ranges (strategy 1). Every key of one has the same preference
        list."""
        if self.strategy is Strategy.RANDOM_TOKENS_EQUAL_PARTITIONS:
            assert self.partitions is not None
            return partition_bounds(self.partitions)
        return self.ring.ranges()

    def range_of(self, position: int) -> Range:
        """The partition ``[lo, hi)`` holding ``position``."""
        position = _check_position(position)
        if self.strategy is Strategy.RANDOM_TOKENS_EQUAL_PARTITIONS:
            assert self.partitions is not None
            index = position * self.partitions // RING_SIZE
            return (_partition_cut(index, self.partitions),
                    _partition_cut(index + 1, self.partitions))
        return self.ring.range_of(position)

    def range_owners(self, position: int, n: int) -> tuple[str, ...]:
        """The top ``n`` nodes of the partition holding ``position``."""
        _check_position(position)
        return self.preference_list(position, _check_length(n, "n"))

    def ranges_of(self, node: str, n: int) -> list[Range]:
        """The partitions for which ``node`` is among the top ``n``, sorted by ``lo``."""
        self.ring.tokens_of(node)  # unknown node -> ValueError
        return [r for r, owners in self.placements(n) if node in owners]

    def loads(self, n: int) -> dict[str, int]:
        """Ring positions each node replicates as one of the top ``n`` (exact, not sampled)."""
        load = dict.fromkeys(self.nodes, 0)
        for (lo, hi), owners in self.placements(n):
            for node in owners:
                load[node] += hi - lo
        return load

    def efficiency(self, n: int) -> float:
        """Load-balancing efficiency: mean load / load of the most loaded node.

        Load is the share of the key space a node holds among the top ``n`` (as if
        requests were spread uniformly over the key space); 1.0 is perfect balance.
        """
        load = self.loads(n)
        return sum(load.values()) / len(load) / max(load.values())

    def with_node(self, node: str, rng: random.Random, capacity: float = 1.0) -> Partitioning:
        """This partitioning after ``node`` joins.

        Strategies 1 and 2: the node draws ``round(T * capacity)`` random tokens.
        Strategy 3: the node steals partitions, chosen at random, from the nodes
        holding more than their share, until every node holds its share of Q
        (Q/S for equal capacities); nothing else moves.
        """
        _check_node(node)
        if node in self.ring:
            raise InvalidValueError(f"node {node!r} is already in the ring")
        capacity = check_capacity(node, capacity)
        capacities = (*self.capacities, (node, capacity)) if capacity != 1.0 else self.capacities
        if self.strategy is Strategy.EQUAL_PARTITIONS:
            assert self.partitions is not None
            owner = _partition_owners(self.ring, self.partitions)
            owners = [*self.nodes, node]
            if len(owners) > self.partitions:
                raise InvalidValueError(
                    f"cannot add node {node!r}: {len(owners)} nodes exceed Q={self.partitions} "
                    "partitions"
                )
            new_owner = _rebalance(owner, owners, dict(capacities), rng)
            ring = _ring_of_partitions(new_owner)
        else:
            count = token_counts([node], self.tokens_per_node, {node: capacity})[node]
            ring = self.ring.with_node(node, _random_tokens(rng, count, set(self.ring.tokens)))
        return Partitioning(self.strategy, ring, self.tokens_per_node, self.partitions,
                            tuple(sorted(capacities)))

    def without_node(self, node: str, rng: random.Random) -> Partitioning:
        """This partitioning after ``node`` leaves.

        Strategies 1 and 2: its tokens go. Strategy 3: its partitions are handed,
        at random, to the remaining nodes below their share; nothing else moves.
        """
        ring = self.ring.without_node(node)
        capacities = tuple((n, c) for n, c in self.capacities if n != node)
        if self.strategy is Strategy.EQUAL_PARTITIONS:
            assert self.partitions is not None
            owner = _partition_owners(self.ring, self.partitions)
            ring = _ring_of_partitions(_rebalance(owner, ring.nodes, dict(capacities), rng))
        return Partitioning(self.strategy, ring, self.tokens_per_node, self.partitions,
                            capacities)


def _check_nodes(nodes: Sequence[str]) -> list[str]:
    names = [_check_node(n) for n in nodes]
    if not names:
        raise InvalidValueError("empty ring: a partitioning strategy needs at least one node")
    if len(set(names)) != len(names):
        raise InvalidValueError(f"node names must be distinct, got {list(nodes)!r}")
    return names


def _check_rng(rng: object) -> random.Random:
    if not isinstance(rng, random.Random):
        raise InvalidValueError(f"rng must be a random.Random, got {rng!r}")
    return rng


def _capacity_tuple(
    names: Sequence[str], capacities: Mapping[str, float] | None
) -> tuple[tuple[str, float], ...]:
    given = dict(capacities or {})
    unknown = sorted(set(given) - set(names))
    if unknown:
        raise InvalidValueError(f"capacity given for unknown node(s) {unknown!r}")
    return tuple(sorted((n, check_capacity(n, c)) for n, c in given.items()))


def draw_tokens(rng: random.Random, count: int, avoid: Iterable[int] = ()) -> tuple[int, ...]:
    """``count`` distinct random tokens from ``rng``, none of them in ``avoid``.

    What a node joining a strategy-1 or strategy-2 ring does: pass the ring's
    tokens as ``avoid`` and add the result with :meth:`Ring.with_node`.
    """
    _check_rng(rng)
    _check_length(count, "count")
    return tuple(_random_tokens(rng, count, set(avoid)))


def _random_tokens(rng: random.Random, count: int, taken: set[int]) -> list[int]:
    tokens: list[int] = []
    while len(tokens) < count:
        token = rng.randrange(RING_SIZE)
        if token not in taken:
            taken.add(token)
            tokens.append(token)
    return tokens


def _random_token_ring(
    names: list[str], tokens_per_node: int, rng: random.Random,
    capacities: Mapping[str, float] | None,
) -> Ring:
    counts = token_counts(names, tokens_per_node, capacities)
    taken: set[int] = set()
    return Ring.from_tokens({n: _random_tokens(rng, counts[n], taken) for n in names})


def strategy1(
    nodes: Sequence[str], tokens_per_node: int, rng: random.Random,
    capacities: Mapping[str, float] | None = None,
) -> Partitioning:
    """Strategy 1: T random tokens per node, partitions by token value.

    A node of relative capacity c draws ``round(T * c)`` tokens (at least 1).
    """
    names, rng = _check_nodes(nodes), _check_rng(rng)
    caps = _capacity_tuple(names, capacities)
    ring = _random_token_ring(names, tokens_per_node, rng, dict(caps))
    return Partitioning(Strategy.RANDOM_TOKENS, ring, tokens_per_node, None, caps)


def strategy2(
    nodes: Sequence[str], tokens_per_node: int, partitions: int, rng: random.Random,
    capacities: Mapping[str, float] | None = None,
) -> Partitioning:
    """Strategy 2: T random tokens per node and Q equal-sized partitions.

    The tokens only decide placement: partition ``j`` goes to the first N distinct
    nodes met walking clockwise from its end. The paper sets Q >> N and Q >> S x T.
    """
    names, rng = _check_nodes(nodes), _check_rng(rng)
    partition_bounds(partitions)  # validates Q
    caps = _capacity_tuple(names, capacities)
    ring = _random_token_ring(names, tokens_per_node, rng, dict(caps))
    return Partitioning(Strategy.RANDOM_TOKENS_EQUAL_PARTITIONS, ring, tokens_per_node,
                        partitions, caps)


def strategy3(
    nodes: Sequence[str], partitions: int, rng: random.Random,
    capacities: Mapping[str, float] | None = None,
) -> Partitioning:
    """Strategy 3: Q equal-sized partitions, Q/S of them per node, chosen at random.

    With capacities, node i holds its capacity's share of Q (largest remainder);
    with equal capacities every node holds ``Q // S`` or ``Q // S + 1``.
    Q must be at least S so that every node holds a partition.
    """
    names, rng = _check_nodes(nodes), _check_rng(rng)
    partition_bounds(partitions)  # validates Q
    if partitions < len(names):
        raise InvalidValueError(
            f"partitions Q={partitions} must be >= the number of nodes {len(names)}"
        )
    caps = _capacity_tuple(names, capacities)
    order = list(range(partitions))
    rng.shuffle(order)
    quota = _apportion(partitions, sorted(names), dict(caps), {})
    owner: dict[int, str] = {}
    for node in sorted(names):
        for _ in range(quota[node]):
            owner[order.pop()] = node
    ring = _ring_of_partitions([owner[j] for j in range(partitions)])
    return Partitioning(Strategy.EQUAL_PARTITIONS, ring, partitions // len(names), partitions,
                        caps)


def _apportion(
    total: int, nodes: Sequence[str], capacities: Mapping[str, float], held: Mapping[str, int]
) -> dict[str, int]:
    """Split ``total`` partitions by capacity (largest remainder, at least 1 each).

    Ties among equal remainders go to the nodes already holding more (``held``), so
    a join or leave moves as few partitions as it can.
    """
    weight = {n: capacities.get(n, 1.0) for n in nodes}
    scale = total / sum(weight.values())
    exact = {n: weight[n] * scale for n in nodes}
    quota = {n: max(1, math.floor(exact[n])) for n in nodes}
    ranked = sorted(nodes, key=lambda n: (-(exact[n] - math.floor(exact[n])), -held.get(n, 0), n))
    i = 0
    while sum(quota.values()) < total:
        quota[ranked[i % len(ranked)]] += 1
        i += 1
    while sum(quota.values()) > total:  # only when max(1, ...) lifted tiny shares
        richest = max(nodes, key=lambda n: (quota[n] - exact[n], n))
        quota[richest] -= 1
    return quota


def _partition_owners(ring: Ring, partitions: int) -> list[str]:
    """The owner of each of the Q partitions of a strategy-3 ring."""
    return [ring.preference_list(lo, 1)[0] for lo, _ in partition_bounds(partitions)]


def _ring_of_partitions(owner: Sequence[str]) -> Ring:
    """A strategy-3 ring: partition j's owner holds a token at the partition's end."""
    q = len(owner)
    return Ring(tuple((_partition_cut(j + 1, q) % RING_SIZE, node) for j, node in
                      enumerate(owner)))


def _rebalance(
    owner: Sequence[str], nodes: Sequence[str], capacities: Mapping[str, float],
    rng: random.Random,
) -> list[str]:
    """Move random partitions from nodes over their share to nodes under it."""
    held: dict[str, list[int]] = {n: [] for n in nodes}
    orphans: list[int] = []
    for j, node in enumerate(owner):
        held.get(node, orphans).append(j)
    quota = _apportion(len(owner), sorted(nodes), capacities,
                       {n: len(js) for n, js in held.items()})
    pool = list(orphans)
    for node in sorted(nodes):
        excess = len(held[node]) - quota[node]
        if excess > 0:
            pool.extend(rng.sample(held[node], excess))
    rng.shuffle(pool)
    result = list(owner)
    for node in sorted(nodes):
        for _ in range(quota[node] - len(held[node])):
            result[pool.pop()] = node
    assert not pool
    return result
