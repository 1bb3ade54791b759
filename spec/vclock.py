"""Vector clocks and syntactic reconciliation (Dynamo paper, section 4.4).

Theory of operation
-------------------
A vector clock is a set of ``(node, counter)`` pairs; a missing node counts as
zero. Clock ``a`` *descends* clock ``b`` when every counter of ``a`` is at least
the matching counter of ``b`` (so every clock descends itself); ``a`` *dominates*
``b`` when it descends ``b`` and differs from it. Two clocks neither of which
descends the other are *concurrent*: their versions are siblings.

A :class:`VClock` is immutable and canonical: zero counters are dropped and the
pairs are kept sorted by node, so equal clocks compare and hash equal. Each pair
may carry the time it was last updated; that time is passed in by the caller
(the spec never reads a clock) and is used only by :meth:`VClock.prune`, the
paper's truncation scheme. Times take no part in equality, ordering or hashing:
two clocks with the same counters are the same clock.

:func:`reconcile` is the paper's syntactic reconciliation: of a collection of
versions it keeps the maximal antichain, dropping every version whose clock is
strictly dominated by another's. Versions with *equal* clocks and *different*
values are both kept (see :func:`reconcile`): a store that invents equal clocks
for different writes has a bug, and the spec must show that bug as siblings
rather than hide it by discarding a write.

Errors: constructors, :meth:`VClock.prune` and ``from_json`` refuse bad input (an
empty node id, a negative or non-int counter, unsorted pairs, a threshold below 1)
with a ValueError naming it.
"""

from __future__ import annotations

import enum
import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Generic, Protocol, TypeVar

from spec.errors import InvalidValueError

__all__ = [
    "CLIENT_PART_BYTES",
    "DEFAULT_PRUNE_THRESHOLD",
    "HasClock",
    "Order",
    "VClock",
    "Version",
    "client_entry",
    "entry_actor",
    "reconcile",
]

#: The paper truncates a clock once it holds more than this many pairs.
DEFAULT_PRUNE_THRESHOLD = 10


class Order(enum.Enum):
    """How one clock relates to another (``a.compare(b)``)."""

    BEFORE = "before"  # a < b: b dominates a
    AFTER = "after"  # a > b: a dominates b
    EQUAL = "equal"
    CONCURRENT = "concurrent"


def _check_node(node: object) -> str:
    if not isinstance(node, str) or not node:
        raise InvalidValueError(f"vector clock node id must be a non-empty str, got {node!r}")
    return node


def _check_counter(node: str, counter: object) -> int:
    if isinstance(counter, bool) or not isinstance(counter, int):
        raise InvalidValueError(
            f"vector clock counter for {node!r} must be an int, got {counter!r}"
        )
    if counter < 0:
        raise InvalidValueError(f"vector clock counter for {node!r} must be >= 0, got {counter}")
    return counter


@dataclass(frozen=True, slots=True)
class VClock:
    """An immutable, canonical vector clock. ``VClock()`` is the empty clock."""

    pairs: tuple[tuple[str, int], ...] = ()
    # node -> time of the pair's last update; used by prune() only.
    times: tuple[tuple[str, float], ...] = field(default=(), compare=False, hash=False)

    def __post_init__(self) -> None:
        seen: set[str] = set()
        previous = ""
        for node, counter in self.pairs:
            _check_node(node)
            _check_counter(node, counter)
            if counter == 0:
                raise InvalidValueError(f"vector clock pair {node!r} has counter 0; use VClock.of")
            if node in seen or node < previous:
                raise InvalidValueError(
                    "vector clock pairs must be sorted by node, without repeats"
                )
            seen.add(node)
            previous = node

    # -- construction -----------------------------------------------------------------

    @classmethod
    def of(
        cls, counters: Mapping[str, int], times: Mapping[str, float] | None = None
    ) -> VClock:
        """Build a clock from ``{node: counter}``; zero counters are dropped."""
        pairs = tuple(
            sorted(
                (_check_node(node), _check_counter(node, counter))
                for node, counter in counters.items()
                if counter != 0
            )
        )
        kept = {node for node, _ in pairs}
        stamped = tuple(sorted((n, t) for n, t in (times or {}).items() if n in kept))
        return cls(pairs, stamped)

    # -- reading ----------------------------------------------------------------------

    @property
    def entries(self) -> Mapping[str, int]:
        """A read-only mapping ``node -> counter`` (nodes with counter 0 are absent)."""
        return MappingProxyType(dict(self.pairs))

    def counter(self, node: str) -> int:
        """The counter of ``node`` (0 when absent)."""
        for name, counter in self.pairs:
            if name == node:
                return counter
        return 0

    def time_of(self, node: str) -> float | None:
        """When the pair of ``node`` was last updated, if the caller said."""
        for name, stamp in self.times:
            if name == node:
                return stamp
        return None

    def __len__(self) -> int:
        return len(self.pairs)

    def __bool__(self) -> bool:
        return bool(self.pairs)

    def __repr__(self) -> str:
        inner = ", ".join(f"{node!r}: {counter}" for node, counter in self.pairs)
        return f"VClock({{{inner}}})"

    # -- the algebra ------------------------------------------------------------------

    def increment(self, node: str, now: float | None = None) -> VClock:
        """This clock with ``node``'s counter one higher (stamped ``now`` if given)."""
        _check_node(node)
        counters = dict(self.pairs)
        counters[node] = counters.get(node, 0) + 1
        times = dict(self.times)
        if now is not None:
            times[node] = now
        return VClock.of(counters, times)

    def merge(self, other: VClock) -> VClock:
        """The least upper bound: each node's counter is the larger of the two."""
        if not other.pairs:
            return self
        if not self.pairs:
            return other
        counters = dict(self.pairs)
        times = dict(self.times)
        theirs = dict(other.times)
        for node, counter in other.pairs:
            mine = counters.get(node, 0)
            stamp = theirs.get(node)
            if counter > mine:  # the pair's time goes with its counter (riak_core merge/2)
                counters[node] = counter
                if stamp is None:
                    times.pop(node, None)
                else:
                    times[node] = stamp
            elif counter == mine and stamp is not None and stamp > times.get(node, stamp - 1):
                times[node] = stamp
        return VClock.of(counters, times)

    def descends(self, other: VClock) -> bool:
        """``self >= other``: every counter of ``other`` is matched or exceeded."""
        if not other.pairs:
            return True
        mine = dict(self.pairs)
        return all(mine.get(node, 0) >= counter for node, counter in other.pairs)

    def dominates(self, other: VClock) -> bool:
        """``self > other``: descends and differs."""
        return self.pairs != other.pairs and self.descends(other)

    def compare(self, other: VClock) -> Order:
        """Exactly one of BEFORE, AFTER, EQUAL, CONCURRENT."""
        if self.pairs == other.pairs:
            return Order.EQUAL
        if self.descends(other):
            return Order.AFTER
        if other.descends(self):
            return Order.BEFORE
        return Order.CONCURRENT

    def concurrent_with(self, other: VClock) -> bool:
        return self.compare(other) is Order.CONCURRENT

    # -- truncation -------------------------------------------------------------------

    def prune(self, threshold: int = DEFAULT_PRUNE_THRESHOLD) -> VClock:
        """The paper's truncation: while more than ``threshold`` pairs remain, drop
        the oldest pair (least recently updated; a pair with no time counts as
        oldest; ties broken by node id so the result is deterministic).

        Truncation loses causality information: a pruned clock may make a
        descendant look concurrent with its ancestor (a false sibling), never the
        reverse. It is applied only where the caller chooses.
        """
        if threshold < 1:
            raise InvalidValueError(f"prune threshold must be >= 1, got {threshold}")
        if len(self.pairs) <= threshold:
            return self
        times = dict(self.times)
        by_age = sorted(self.pairs, key=lambda pair: (times.get(pair[0], float("-inf")), pair[0]))
        keep = dict(by_age[len(self.pairs) - threshold :])
        return VClock.of(keep, {n: t for n, t in times.items() if n in keep})

    # -- serialization ----------------------------------------------------------------

    def to_json(self) -> dict[str, int]:
        return dict(self.pairs)

    @classmethod
    def from_json(cls, data: object) -> VClock:
        if not isinstance(data, dict):
            raise InvalidValueError(f"a vector clock is a JSON object of counters, got {data!r}")
        return cls.of(data)


class HasClock(Protocol):
    """Anything reconcile() can order: it has a vector clock."""

    @property
    def clock(self) -> VClock: ...


V = TypeVar("V")
T = TypeVar("T", bound=HasClock)


@dataclass(frozen=True, slots=True)
class Version(Generic[V]):
    """One version of an object: an opaque value with the vector clock that versions it."""

    value: V
    clock: VClock = VClock()


def _sort_key(item: Any) -> tuple[tuple[tuple[str, int], ...], str]:
    return (item.clock.pairs, repr(item))


def reconcile(versions: Iterable[T]) -> tuple[T, ...]:
    """Syntactic reconciliation: the maximal antichain of ``versions``.

    - A version whose clock another version's clock strictly dominates is dropped:
      the newer version subsumes it.
    - Concurrent versions are all kept: they are siblings for the client's
      semantic reconciliation.
    - Exact duplicates (equal as values) are kept once.
    - Two *different* versions with *equal* clocks are both kept. Equal clocks
      say neither write saw the other, so neither may silently replace the
      other; keeping both turns a clock-generation bug into visible siblings
      instead of a lost write.

    The result is sorted by clock (then by ``repr``), so it is deterministic.
    """
    unique = sorted(set(versions), key=_sort_key)
    kept = [
        candidate
        for candidate in unique
        if not any(other.clock.dominates(candidate.clock) for other in unique)
    ]
    return tuple(kept)


#: the most UTF-8 bytes of a client id a :func:`client_entry` spells as it is (an
#: HTTP client's X-Vdynamo-Client, 255 ASCII characters, always is)
CLIENT_PART_BYTES = 255


def client_entry(client: str, actor: str, fresh: int = 0) -> str:
    """The vector-clock entry a ``client-vclock`` put of ``client`` coordinated under
    ``actor`` (the coordinator's actor for the key) increments: ``"<actor> <client>"``,
    or ``"<actor>/<fresh> <client>"`` for ``fresh`` > 0 (below).

    The pair, not the client alone (session 23): a client that forgot its counter (a
    restarted process, an HTTP client sending a stale counter) cannot be the actor
    of a vector-clock entry, since an entry's counter claims every earlier event of
    its actor and only an actor that remembers them can mint the next one. The
    coordinator remembers (its record of the key is durable, its actor new per
    storage lifetime and per key epoch), so the dot ``(entry, counter)`` is unique
    whatever the client remembers; the client part keeps concurrent clients
    through one coordinator apart (Riak's ``vnode_vclocks`` made the vnode the
    actor; basho/riak_kv, Riak 1.0). ``fresh`` numbers the entries a put takes when
    its context misses an event of the pair the coordinator stores (a put of the
    client, through this coordinator, that the client did not read): counting on
    would claim that event, so the put takes the first ``fresh`` whose events the
    context covers (``spec.clocks.put``). The actor comes first and a node name
    has no space, so the first space splits an entry back into its two parts (a
    client id may hold spaces); an actor with epochs ends with its epoch
    (``n1~1``, ``n1~<hex>``), never with ``/<digits>``, so distinct triples are
    distinct entries. A client id of over :data:`CLIENT_PART_BYTES` UTF-8 bytes (the
    library takes 255 characters of any width) is spelled ``sha256:<hex>`` of its
    UTF-8: the entry must fit a context's 1,020-byte id beside an actor of up to
    297 bytes (session 23's review: such a client's every put was refused
    ``node id ... is too long for a context``)."""
    if len(client.encode("utf-8")) > CLIENT_PART_BYTES:
        client = "sha256:" + hashlib.sha256(client.encode("utf-8")).hexdigest()
    return f"{actor}/{fresh} {client}" if fresh else f"{actor} {client}"


def entry_actor(entry: str) -> str:
    """The actor of a :func:`client_entry` (``""``: ``entry`` is not one)."""
    actor, space, _ = entry.partition(" ")
    if not space:
        return ""
    base, slash, fresh = actor.rpartition("/")
    return base if slash and fresh.isdigit() else actor
