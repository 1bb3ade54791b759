"""Dotted version vector sets (DVVSet): causality tracking for a key's siblings.

A port of ``dvvset.erl`` from the reference implementation of Almeida, Baquero,
Goncalves, Preguica and Fonte, "Scalable and Accurate Causality Tracking for
Eventually Consistent Stores" (DAIS 2014): repository
``ricardobcl/Dotted-Version-Vectors``, file ``src/dvvset.erl`` (commit 3bb5b7b).
The functions keep the reference's names and semantics, case for case; the
deviations (all forced by Python or by the need for canonical values) are listed
in ``docs/dvv.md``.

Why one module of over 600 lines: it stays one port of one Erlang module, function
for function in the reference's order, so that it can be read side by side with
``dvvset.erl`` (and tested against it, tests/spec/test_dvv.py); splitting it would
lose that correspondence.

Theory of operation
-------------------
A DVVSet holds, for one key, the concurrent values (siblings) together with one
compact causal history. It is a list of *entries* sorted by server id, each
``(id, counter, values)``: ``counter`` says that the events ``1..counter`` of
server ``id`` are in the causal history, and ``values`` (newest first) are the
values written by the *last* ``len(values)`` of those events, still current. So
the value at position ``j`` of an entry carries the *dot* ``(id, counter - j)``,
and the events ``1..counter - len(values)`` are history whose values have been
overwritten. Besides the entries there is an *anonymous* set of values that carry
no dot: the new value a client brings (``new(vector, value)``) before a server
gives it a dot, or the result of a client-side ``reconcile``.

- ``join(clock)`` is the causal context: the version vector ``id -> counter``.
  A client reads values plus this context and writes back with it.
- ``update(new(context, value), server_clock, server_id)`` is the coordinator's
  put: the server's clock is synced with the context (every value whose dot the
  context covers is overwritten and dropped), then the server makes a new event
  on its own entry and files the new value under that dot. Values the context
  does not cover survive as siblings: concurrent writes are never lost, even two
  writes coordinated by the same server (where a server-side vector clock would
  make the second silently overwrite the first).
- ``sync(a, b)`` merges two replicas' clocks: the union of both histories, and of
  the values only those that neither side has seen the other overwrite.
- ``less(a, b)``: ``a``'s causal history is strictly contained in ``b``'s.

Values are opaque hashable Python values (ints in the spec, bytes in impl); server
ids are non-empty strings (the reference allows any Erlang term; Python strings
have a total order, which the sorted layout needs). All values here are
immutable and canonical, so equal clocks hash equal: the entries are a sorted
tuple, and the anonymous values, which the reference's own ``sync`` treats as a
set, are kept as a set in one canonical order (sorted, no repeats).

In the spec DVVSets are the ``dvv`` clock mode (:mod:`spec.clocks`), the
alternative to the paper's vector clocks of section 4.4 that keeps concurrent
writes through one coordinator as siblings. Errors: constructors and
``from_json`` refuse a malformed set (an empty id, a negative or non-int counter,
an unhashable value, unsorted entries) with a ValueError naming it.
"""

from __future__ import annotations

import base64
import binascii
import itertools
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, overload

from spec.errors import InvalidValueError
from spec.vclock import VClock, client_entry, entry_actor

__all__ = [
    "EMPTY",
    "MAX_PAIRS_PER_ACTOR",
    "DVVSet",
    "Entry",
    "Vector",
    "VectorLike",
    "decode_bytes",
    "dot_actor",
    "drop_superseded",
    "encode_bytes",
    "equal",
    "from_json",
    "ids",
    "join",
    "join_vclock",
    "last",
    "less",
    "lww",
    "map",
    "new",
    "new_list",
    "new_list_with_context",
    "new_with_context",
    "reconcile",
    "size",
    "sync",
    "sync_list",
    "to_json",
    "update",
    "values",
    "vector_from_json",
    "vector_to_json",
]

V = TypeVar("V", bound=Hashable)
W = TypeVar("W", bound=Hashable)

#: A version vector: ``(id, counter)`` pairs sorted by id, ids unique (``join``'s result).
Vector = tuple[tuple[str, int], ...]
#: What ``new(vector, value)`` accepts as a vector: pairs in any order, a mapping, a VClock.
VectorLike = Iterable[tuple[str, int]] | Mapping[str, int] | VClock


# -- validation and canonical order ----------------------------------------------------


def _check_id(server_id: object) -> str:
    if not isinstance(server_id, str) or not server_id:
        raise InvalidValueError(f"DVVSet id must be a non-empty str, got {server_id!r}")
    return server_id


def _check_counter(server_id: str, counter: object) -> int:
    if isinstance(counter, bool) or not isinstance(counter, int):
        raise InvalidValueError(f"DVVSet counter of {server_id!r} must be an int, got {counter!r}")
    if counter < 0:
        raise InvalidValueError(f"DVVSet counter of {server_id!r} must be >= 0, got {counter}")
    return counter


_NATIVE = (bool, int, float, str, bytes)


def _check_value(value: object) -> None:
    if type(value) in _NATIVE:  # hashable by type: hashing a large bytes costs O(size)
        return
    try:
        hash(value)
    except TypeError:
        raise InvalidValueError(f"DVVSet values must be hashable, got {value!r}") from None


def _value_key(value: object) -> tuple[str, Any]:
    """A total order on hashable values of mixed types: by type name, then natively
    for the primitive types, else by ``repr``. Only used to make sets canonical."""
    kind = type(value)
    name = f"{kind.__module__}.{kind.__qualname__}"
    return (name, value) if kind in _NATIVE else (name, repr(value))


def _canonical_set(items: Iterable[V]) -> tuple[V, ...]:
    """Sorted in the canonical order, without repeats."""
    return tuple(sorted(dict.fromkeys(items), key=_value_key))


@dataclass(frozen=True, slots=True)
class Entry(Generic[V]):
    """One server's entry: events ``1..counter`` seen; ``values`` newest first are the
    values of the last ``len(values)`` events (the value at index ``j`` has the dot
    ``(id, counter - j)``)."""

    id: str
    counter: int
    values: tuple[V, ...] = ()

    def __post_init__(self) -> None:
        _check_id(self.id)
        _check_counter(self.id, self.counter)
        if not isinstance(self.values, tuple):
            raise InvalidValueError(f"DVVSet entry {self.id!r}: values must be a tuple")
        for value in self.values:
            _check_value(value)
        if len(self.values) > self.counter:
            raise InvalidValueError(
                f"DVVSet entry {self.id!r} has {len(self.values)} values but counter "
                f"{self.counter}: each value needs its own event"
            )


EntryLike = Entry[V] | tuple[str, int, Iterable[V]]


@dataclass(frozen=True, slots=True)
class DVVSet(Generic[V]):
    """An immutable, canonical DVVSet (the reference's ``{Entries, Anonymous}``).

    Build one with the module functions (``new``, ``update``, ``sync``...) or with
    :meth:`DVVSet.of`, which sorts and checks its input. The constructor itself
    only accepts the canonical form (entries sorted by id without repeats, the
    anonymous values sorted canonically without repeats).
    """

    entries: tuple[Entry[V], ...] = ()
    anonymous: tuple[V, ...] = ()

    def __post_init__(self) -> None:
        previous: str | None = None
        for entry in self.entries:
            if not isinstance(entry, Entry):
                raise InvalidValueError(f"DVVSet entries must be Entry values, got {entry!r}")
            if previous is not None and entry.id <= previous:
                raise InvalidValueError(
                    f"DVVSet entries must be sorted by id without repeats: {entry.id!r} "
                    f"after {previous!r} (use DVVSet.of)"
                )
            previous = entry.id
        if not isinstance(self.anonymous, tuple):
            raise InvalidValueError("DVVSet anonymous values must be a tuple")
        for value in self.anonymous:
            _check_value(value)
        if len(self.anonymous) > 1 and self.anonymous != _canonical_set(self.anonymous):
            raise InvalidValueError(
                "DVVSet anonymous values must be in canonical order without repeats "
                "(use DVVSet.of)"
            )

    @classmethod
    def of(
        cls, entries: Iterable[EntryLike[V]] = (), anonymous: Iterable[V] = ()
    ) -> DVVSet[V]:
        """Build from ``(id, counter, values newest first)`` triples (or Entry values)
        in any order, and any anonymous values (kept as a set). Written like the
        reference's literals: ``DVVSet.of([("a", 4, [5, 2]), ("b", 1, [])], [10, 0])``.
        Raises ValueError on a repeated id or a malformed entry."""
        built: list[Entry[V]] = []
        for item in entries:
            if isinstance(item, Entry):
                built.append(item)
                continue
            if not isinstance(item, tuple | list) or len(item) != 3:
                raise InvalidValueError(f"a DVVSet entry is (id, counter, values), got {item!r}")
            server_id, counter, vals = item
            if isinstance(vals, str | bytes) or not isinstance(vals, Iterable):
                raise InvalidValueError(f"DVVSet entry {server_id!r}: values must be a list")
            built.append(Entry(server_id, counter, tuple(vals)))
        built.sort(key=lambda entry: entry.id)
        for first, second in itertools.pairwise(built):
            if first.id == second.id:
                raise InvalidValueError(f"DVVSet id {first.id!r} appears in two entries")
        anon = list(anonymous)
        for value in anon:
            _check_value(value)
        return cls(tuple(built), _canonical_set(anon))

    def __repr__(self) -> str:
        inner = ", ".join(f"({e.id!r}, {e.counter}, {list(e.values)!r})" for e in self.entries)
        return f"DVVSet.of([{inner}], {list(self.anonymous)!r})"

    def to_json(self, encode: Callable[[V], Any] | None = None) -> dict[str, Any]:
        """See :func:`to_json`."""
        return to_json(self, encode)

    @staticmethod
    def from_json(data: object, decode: Callable[[Any], Any] | None = None) -> DVVSet[Any]:
        """See :func:`from_json`."""
        return from_json(data, decode)


#: The DVVSet with no history and no value (``sync_list([])``; the identity of ``sync``).
EMPTY: DVVSet[Any] = DVVSet()


# The operations below build their results from parts that are valid by construction
# (checked where they entered); these skip the constructors' checks, which would
# otherwise dominate the cost of an update or a sync in the model checker.


# The slots' own setters (member descriptors' ``__set__``): about 4x cheaper a field
# than ``object.__setattr__`` (spec/state.py's ``_setters``).
_set_id = Entry.__dict__["id"].__set__
_set_counter = Entry.__dict__["counter"].__set__
_set_values = Entry.__dict__["values"].__set__
_set_entries = DVVSet.__dict__["entries"].__set__
_set_anonymous = DVVSet.__dict__["anonymous"].__set__


def _entry(server_id: str, counter: int, vals: tuple[V, ...]) -> Entry[V]:
    entry: Entry[V] = object.__new__(Entry)
    _set_id(entry, server_id)
    _set_counter(entry, counter)
    _set_values(entry, vals)
    return entry


def _clock(entries: tuple[Entry[V], ...], anonymous: tuple[V, ...]) -> DVVSet[V]:
    clock: DVVSet[V] = object.__new__(DVVSet)
    _set_entries(clock, entries)
    _set_anonymous(clock, anonymous)
    return clock


def _is_canonical_vector(vector: tuple[Any, ...]) -> bool:
    previous = ""
    for pair in vector:
        if type(pair) is not tuple or len(pair) != 2:
            return False
        server_id, counter = pair
        if type(server_id) is not str or server_id <= previous:
            return False
        if type(counter) is not int or counter < 0:
            return False
        previous = server_id
    return True


def _vector(vector: VectorLike) -> Vector:
    """Validate and sort a version vector (the reference sorts it too, as a defense
    against serializations that do not keep the order)."""
    raw: object = vector
    if type(raw) is tuple and _is_canonical_vector(raw):
        return raw
    if isinstance(raw, VClock):
        pairs: list[Any] = list(raw.pairs)
    elif isinstance(raw, Mapping):
        pairs = list(raw.items())
    elif isinstance(raw, str | bytes) or not isinstance(raw, Iterable):
        raise InvalidValueError(f"a version vector is (id, counter) pairs, got {raw!r}")
    else:
        pairs = list(raw)
    checked: dict[str, int] = {}
    for pair in pairs:
        if not isinstance(pair, tuple | list) or len(pair) != 2:
            raise InvalidValueError(f"a version vector entry is (id, counter), got {pair!r}")
        server_id = _check_id(pair[0])
        if server_id in checked:
            raise InvalidValueError(f"version vector names id {server_id!r} twice")
        checked[server_id] = _check_counter(server_id, pair[1])
    return tuple(sorted(checked.items()))


# -- construction ------------------------------------------------------------------------


@overload
def new(value: V, /) -> DVVSet[V]: ...
@overload
def new(vector: VectorLike, value: V, /) -> DVVSet[V]: ...
def new(*args: Any) -> DVVSet[Any]:
    """``new(value)``: a clock with no causal history and one anonymous value (the
    reference's new/1). ``new(vector, value)``: the causal history of ``vector``
    (the context a client read, i.e. ``join`` of a clock) with no values in its
    entries, and ``value`` as the one anonymous value (new/2)."""
    if len(args) == 1:
        return new_list([args[0]])
    if len(args) == 2:
        return new_list_with_context(args[0], [args[1]])
    raise TypeError(f"new takes (value) or (vector, value), got {len(args)} arguments")


def new_with_context(vector: VectorLike, value: V) -> DVVSet[V]:
    """The reference's new/2, under an explicit name: ``new(vector, value)``."""
    return new_list_with_context(vector, [value])


@overload
def new_list(values: list[V] | V, /) -> DVVSet[V]: ...
@overload
def new_list(vector: VectorLike, values: list[V] | V, /) -> DVVSet[V]: ...
def new_list(*args: Any) -> DVVSet[Any]:
    """``new_list(values)`` / ``new_list(vector, values)``: as :func:`new` with a list
    of anonymous values (the reference's new_list/1 and new_list/2). As in the
    reference, an argument that is not a ``list`` is taken as one single value
    (so a tuple is one value, not a list of values)."""
    if len(args) == 1:
        return new_list_with_context((), args[0])
    if len(args) == 2:
        return new_list_with_context(args[0], args[1])
    raise TypeError(f"new_list takes (values) or (vector, values), got {len(args)} arguments")


def new_list_with_context(vector: VectorLike, values: list[V] | V) -> DVVSet[V]:
    """The reference's new_list/2, under an explicit name."""
    vals: list[V] = values if isinstance(values, list) else [values]
    entries: tuple[Entry[V], ...] = tuple(
        _entry(server_id, counter, ()) for server_id, counter in _vector(vector)
    )
    for value in vals:
        _check_value(value)
    return _clock(entries, _canonical_set(vals))


# -- synchronization -----------------------------------------------------------------------


def _merge(server_id: str, n1: int, l1: tuple[V, ...], n2: int, l2: tuple[V, ...]) -> Entry[V]:
    """Two entries of the same id: the larger counter wins, and of its values only
    those the other side has not seen overwritten (the reference's merge/5)."""
    if n1 >= n2:
        if n1 - len(l1) >= n2 - len(l2):
            return _entry(server_id, n1, l1)
        return _entry(server_id, n1, l1[: n1 - n2 + len(l2)])
    if n2 - len(l2) >= n1 - len(l1):
        return _entry(server_id, n2, l2)
    return _entry(server_id, n2, l2[: n2 - n1 + len(l1)])


def _sync_entries(e1: tuple[Entry[V], ...], e2: tuple[Entry[V], ...]) -> tuple[Entry[V], ...]:
    """Merge two sorted entry lists (the reference's sync2/2). Like the reference,
    which recurses as ``sync2(T2, C1)`` after taking an entry only the second list
    has, the two sides swap roles at that point; this matters only to ``_merge`` of
    two entries with equal counters and different values. Clocks of a correct actor
    never hold those; a naive actor that mints a dot again after losing its disk
    (Riak's kv679, basho/riak_kv#679; the suite's ``*-naive-actor`` and
    ``dvv-restore-kept-actor`` entries) makes them. On those entries' graphs (one
    coordinator mints every dot) a replica that merges another's copy into its own
    keeps its own value for the dot; where a replica lacks an entry sorted before
    the dot's that its peer holds (two coordinators), the swap hands it the peer's
    value, in the spec's exchange and the implementation's alike (docs/refinement.md,
    "The actor entries' unmapped edges (session 46)" and "A review of the actor
    mapping (session 46, review)")."""
    out: list[Entry[V]] = []
    left, right = e1, e2
    i = j = 0
    while i < len(left) and j < len(right):
        a, b = left[i], right[j]
        if a.id < b.id:
            out.append(a)
            i += 1
        elif a.id > b.id:
            out.append(b)
            left, right, i, j = right, left, j + 1, i
        else:
            out.append(_merge(a.id, a.counter, a.values, b.counter, b.values))
            i += 1
            j += 1
    out.extend(left[i:])
    out.extend(right[j:])
    return tuple(out)


def sync(a: DVVSet[V], b: DVVSet[V]) -> DVVSet[V]:
    """Merge two clocks (the reference's private sync/2): both causal histories, and
    the values that neither side has seen the other overwrite. The anonymous values
    of a clock whose history is strictly older are dropped; otherwise both clocks'
    anonymous values are kept (as a set)."""
    if less(a, b):
        anonymous = b.anonymous
    elif less(b, a):
        anonymous = a.anonymous
    else:
        anonymous = _canonical_set(a.anonymous + b.anonymous)
    return _clock(_sync_entries(a.entries, b.entries), anonymous)


def sync_list(clocks: Iterable[DVVSet[V]]) -> DVVSet[V]:
    """Sync a list of clocks, left to right (the reference's sync/1). The empty list
    gives :data:`EMPTY` (the reference returns the placeholder ``{}``, which it
    also treats as the identity of sync)."""
    result: DVVSet[V] | None = None
    for clock in clocks:
        # lists:foldl(fun sync/2, {}, L): the next clock is sync's first argument.
        result = clock if result is None else sync(clock, result)
    return result if result is not None else DVVSet()


# -- reading ------------------------------------------------------------------------------------


def join(clock: DVVSet[Any]) -> Vector:
    """The causal history as a version vector ``((id, counter), ...)``, sorted by id:
    the context a get returns and a put brings back."""
    return tuple((entry.id, entry.counter) for entry in clock.entries)


def join_vclock(clock: DVVSet[Any]) -> VClock:
    """``join(clock)`` as a :class:`spec.vclock.VClock` (zero counters dropped)."""
    return VClock.of(dict(join(clock)))


def size(clock: DVVSet[Any]) -> int:
    """How many values the clock holds, the anonymous ones included."""
    return sum(len(entry.values) for entry in clock.entries) + len(clock.anonymous)


def ids(clock: DVVSet[Any]) -> tuple[str, ...]:
    """Every id with an entry, sorted."""
    return tuple(entry.id for entry in clock.entries)


def values(clock: DVVSet[V]) -> tuple[V, ...]:
    """Every value: the anonymous ones first, then each entry's (newest first)."""
    out = list(clock.anonymous)
    for entry in clock.entries:
        out.extend(entry.values)
    return tuple(out)


@overload
def equal(a: DVVSet[Any], b: DVVSet[Any]) -> bool: ...
@overload
def equal(a: VectorLike, b: VectorLike) -> bool: ...
def equal(a: Any, b: Any) -> bool:
    """Equal causal histories, values ignored: same ids, same counters and, for
    clocks, the same number of values per entry. Two version vectors compare as
    vectors (the reference's clause for vectors never matches a non-empty vector,
    an evident slip; this is what its documentation says it does)."""
    if isinstance(a, DVVSet) and isinstance(b, DVVSet):
        return len(a.entries) == len(b.entries) and all(
            x.id == y.id and x.counter == y.counter and len(x.values) == len(y.values)
            for x, y in zip(a.entries, b.entries, strict=True)
        )
    if isinstance(a, DVVSet) or isinstance(b, DVVSet):
        raise InvalidValueError("equal compares two clocks or two version vectors, not one of each")
    return _vector(a) == _vector(b)


def _greater(c1: tuple[Entry[Any], ...], c2: tuple[Entry[Any], ...]) -> bool:
    """Is history ``c1`` strictly greater than ``c2`` (the reference's greater/3)?"""
    strict = False
    i = j = 0
    while True:
        if i == len(c1) and j == len(c2):
            return strict
        if j == len(c2):
            return True
        if i == len(c1):
            return False
        e1, e2 = c1[i], c2[j]
        if e1.id == e2.id:
            if e1.counter < e2.counter:
                return False
            if e1.counter > e2.counter:
                strict = True
            i += 1
            j += 1
        elif e1.id < e2.id:
            strict = True
            i += 1
        else:
            return False


def less(a: DVVSet[Any], b: DVVSet[Any]) -> bool:
    """``a``'s causal history is strictly older than ``b``'s: ``a``'s values are
    outdated. Values are ignored. (As in the reference, an entry with counter 0 is
    compared like any other entry.)"""
    return _greater(b.entries, a.entries)


# -- writing ------------------------------------------------------------------------------------


def _event(entries: tuple[Entry[V], ...], server_id: str, value: V) -> tuple[Entry[V], ...]:
    """A new event of ``server_id`` carrying ``value`` (the reference's event/3)."""
    out: list[Entry[V]] = []
    for k, entry in enumerate(entries):
        if entry.id == server_id:
            out.append(_entry(server_id, entry.counter + 1, (value, *entry.values)))
            out.extend(entries[k + 1 :])
            return tuple(out)
        if entry.id > server_id:
            out.append(_entry(server_id, 1, (value,)))
            out.extend(entries[k:])
            return tuple(out)
        out.append(entry)
    out.append(_entry(server_id, 1, (value,)))
    return tuple(out)


def _the_new_value(clock: DVVSet[V]) -> V:
    if len(clock.anonymous) != 1:
        raise InvalidValueError(
            "update needs a client clock with exactly one anonymous value, the new one "
            f"(made by new(vector, value)); this one has {len(clock.anonymous)}"
        )
    return clock.anonymous[0]


@overload
def update(clock: DVVSet[V], server_id: str, /) -> DVVSet[V]: ...
@overload
def update(clock: DVVSet[V], server_clock: DVVSet[V], server_id: str, /) -> DVVSet[V]: ...
def update(clock: DVVSet[Any], *args: Any) -> DVVSet[Any]:
    """The put at a server.

    ``update(client_clock, server_id)`` (update/2): a new event of ``server_id`` on
    the client clock's history, carrying its one anonymous value.

    ``update(client_clock, server_clock, server_id)`` (update/3): sync the client's
    history (without its value) with the server's clock, then make the new event,
    so the result is causally newer than both. The server's values that the
    client's context covers are dropped; the others stay as siblings, and so do
    the server's anonymous values unless the context strictly dominates it.

    ``client_clock`` must hold exactly one anonymous value (``new(vector, value)``),
    else ValueError.
    """
    value = _the_new_value(clock)
    if len(args) == 1:
        server_id = _check_id(args[0])
        return _clock(_event(clock.entries, server_id, value), ())
    if len(args) == 2:
        server_clock, server_id = args
        if not isinstance(server_clock, DVVSet):
            raise InvalidValueError(f"update's server clock must be a DVVSet, got {server_clock!r}")
        _check_id(server_id)
        synced = sync(_clock(clock.entries, ()), server_clock)
        return _clock(_event(synced.entries, server_id, value), synced.anonymous)
    raise TypeError(
        "update takes (clock, server_id) or (clock, server_clock, server_id), "
        f"got {len(args) + 1} arguments"
    )


#: The most (server actor, client) pair entries a key's record holds per server
#: actor (:func:`dot_actor`): the entries a put's dot may create past an unread value
#: are bounded by the servers times this, as Riak bounds a vclock's entries
#: (``small_vclock``/``big_vclock``); past it a put mints under the server's own
#: entry and may leave a false sibling (session 29's review of the pair dots).
MAX_PAIRS_PER_ACTOR = 8


def dot_actor(clock: DVVSet[Any], vector: VectorLike, actor: str, client: str) -> str:
    """The id under which a put of ``client`` with the context ``vector``, coordinated
    by the server ``actor`` over its ``clock``, makes its event (``update``'s
    ``server_id``): ``actor``, unless ``actor``'s entry holds a value whose dot
    ``vector`` does not cover (a put through this server that the client did not
    read, which the put leaves a sibling); then the pair ``"<actor> <client>"``
    (:func:`spec.vclock.client_entry`) if its own entry holds no such value, else
    the first fresh pair ``"<actor>/<k> <client>"`` (k = 1, 2, ...) that holds none,
    as the client-vclock mode's put does (:func:`spec.clocks.put`); an empty
    ``client``: ``actor``.

    Why (a deviation from the reference, whose ids are servers alone; session 29):
    a DVVSet entry holds the values of its *last* events, so the new dot
    ``(actor, c + 1)`` sits above the unread one ``(actor, c)`` and no version
    vector covers the first without the second. The context a put answers its
    client (what it read plus the dot it wrote: impl/versions.py
    ``written_context_pairs``) then had to leave the new dot out, and a client
    continuing from its own puts' contexts after one unread value through the
    same server added one sibling per put (12 values for ``[old, v10]``: 1 blind
    and 10 chained puts). Under the pair the dot is the head of an entry whose
    other values are the client's own earlier writes through this server, which
    its context covers, so the context plus the new dot is a version vector.

    The fresh pairs (session 48 for the shared id of unnamed HTTP writers, session
    59 for every client): a put past an unread value of its own pair too (its
    client's own blind puts, or another writer under the same id) took ``actor``
    before, whose dot no context names without the unread value below it, so it
    answered its context alone and a chain continuing from its puts' contexts made
    one sibling per put until "more than 25 siblings" (the key stuck: case 05's
    kind; session 58's red team 8: one named client's three blind puts, then 30
    chained). A fresh pair's entry holds only events the put's context covers, so
    its dot is again the head of an entry the context plus the dot names, and the
    chain's next put, whose context names that dot, finds the same fresh pair
    free: ``[b0, b1, c29]`` after 3 blind and 30 chained puts. Session 48 kept it to
    the shared id because the model checker's kv679 entries reached their re-issued
    dot through four blind puts; since session 59 they reach it through a read
    (docs/dvv.md, "Fresh pairs for every client (session 59)").

    Bounded: a key's record holds at most :data:`MAX_PAIRS_PER_ACTOR` pairs (fresh
    ones included) of one server actor; past them a new pair's put takes the first
    of those pairs whose entry holds no value the context misses, whatever client
    it names, else ``actor`` (the rule before: a false sibling, never a lost write;
    session 48's review: ``actor`` alone left case 05's chain refused at its 23rd
    put once 8 earlier writers had left pairs, value-less as they were). A pair
    entry stays until the key is reaped (dropping it would forget the dots it
    covers), so without the bound every distinct client writing past an unread
    value added one for good (session 29's review: 1,000 blind writers, 1,001
    entries, 43,052 B, replicated by every put; the ``unbounded clocks`` kind of
    Riak's vclock pruning thresholds).
    Raises ValueError on a malformed vector or empty ``actor``."""
    seen = dict(_vector(vector))
    _check_id(actor)

    def unread(server_id: str) -> bool:
        for entry in clock.entries:
            if entry.id == server_id:
                return bool(entry.values) and entry.counter > seen.get(server_id, 0)
        return False

    if not client or not unread(actor):
        return actor
    ids = {e.id for e in clock.entries}
    fresh = 0
    pair = client_entry(client, actor)
    while unread(pair):  # a put of this client through this server it did not read
        fresh += 1
        pair = client_entry(client, actor, fresh)
    if pair not in ids and sum(
            entry_actor(i) == actor for i in ids) >= MAX_PAIRS_PER_ACTOR:
        # the key's pairs of this server are at their bound: the first of them whose
        # entry holds no value the context misses (any client's: which client a pair
        # names decides no dot's uniqueness, its server's actor does), else the
        # server (session 48's review: the server's entry alone left a chain one
        # sibling per put, refused at the 23rd, once 8 writers had left pairs)
        for entry in clock.entries:
            if entry_actor(entry.id) == actor and not unread(entry.id):
                return entry.id
        return actor
    return pair


def drop_superseded(clock: DVVSet[V], drop: Callable[[V], bool], actor: str) -> DVVSet[V]:
    """``clock`` less the values ``drop`` selects, except the newest value of
    ``actor``'s entry (the one a put just made: ``update(..., actor)``), where a DVVSet can
    forget them: each entry's oldest values (the end of its list), up to the first
    one kept; the clock's history is unchanged, so a value dropped is one the clock
    has *seen overwritten*, and :func:`sync` with a replica still holding it
    discards it there too. The anonymous values are kept.

    The implementation's collapse of concurrent tombstones (a delete retried with
    one context, :func:`spec.clocks.put`, impl/versions.py ``apply_put``; session
    26): two tombstones carry the same meaning, and each retry otherwise added one
    more sibling. A dropped value in the middle of an entry (a live value older
    than it kept) is not representable and stays."""
    entries: list[Entry[V]] = []
    changed = False
    for entry in clock.entries:
        vals = entry.values
        end = len(vals)
        floor = 1 if entry.id == actor else 0
        while end > floor and drop(vals[end - 1]):
            end -= 1
        if end != len(vals):
            changed = True
            entries.append(_entry(entry.id, entry.counter, vals[:end]))
        else:
            entries.append(entry)
    return _clock(tuple(entries), clock.anonymous) if changed else clock


# -- values and winners -----------------------------------------------------------------------

_builtin_map = map


def map(fn: Callable[[V], W], clock: DVVSet[V]) -> DVVSet[W]:  # the reference's name
    """The same clock with ``fn`` applied to every value (the anonymous values stay
    a set, so ``fn`` mapping two of them to one value keeps it once)."""
    entries = tuple(
        Entry(entry.id, entry.counter, tuple(_builtin_map(fn, entry.values)))
        for entry in clock.entries
    )
    return DVVSet(entries, _canonical_set(_builtin_map(fn, clock.anonymous)))


def reconcile(fn: Callable[[tuple[V, ...]], V], clock: DVVSet[V]) -> DVVSet[V]:
    """The same causal history with one anonymous value, ``fn(values(clock))``: the
    client's semantic reconciliation of the siblings."""
    return new_with_context(join(clock), fn(values(clock)))


def _find_entry(
    less_or_equal: Callable[[V, V], bool], clock: DVVSet[V]
) -> tuple[bool, str | None, V]:
    """The newest value by ``less_or_equal``: ``(in_entry, id, value)``, scanning the
    entries' newest values in id order, then the anonymous values; on a tie the
    later one wins (the reference's find_entry/2 and find_entry2/5)."""
    heads = [(entry.id, entry.values[0]) for entry in clock.entries if entry.values]
    if heads:
        (winner_id, winner), rest = heads[0], heads[1:]
        in_entry = True
        anonymous: Sequence[V] = clock.anonymous
    elif clock.anonymous:
        winner_id, winner, rest = None, clock.anonymous[0], []
        in_entry = False
        anonymous = clock.anonymous[1:]
    else:
        raise InvalidValueError("last/lww need a clock with at least one value; this one has none")
    for server_id, value in rest:
        if less_or_equal(winner, value):
            winner_id, winner = server_id, value
    for value in anonymous:
        if less_or_equal(winner, value):
            winner, in_entry = value, False
    return in_entry, winner_id, winner


def last(less_or_equal: Callable[[V, V], bool], clock: DVVSet[V]) -> V:
    """The newest value by ``less_or_equal(a, b)`` (True when ``a`` is not newer than
    ``b``). Only the newest value of each entry is a candidate, and every anonymous
    value. ValueError on a clock without values."""
    return _find_entry(less_or_equal, clock)[2]


def lww(less_or_equal: Callable[[V, V], bool], clock: DVVSet[V]) -> DVVSet[V]:
    """Last writer wins: the same causal history with only the newest value (see
    :func:`last`), kept where it was: under its entry's id, or as the one anonymous
    value."""
    in_entry, winner_id, winner = _find_entry(less_or_equal, clock)
    if not in_entry:
        return new_with_context(join(clock), winner)
    entries = tuple(
        _entry(entry.id, entry.counter, (winner,) if entry.id == winner_id else ())
        for entry in clock.entries
    )
    return _clock(entries, ())


# -- JSON -----------------------------------------------------------------------------------------

_JSON_SCALARS = (bool, int, str, type(None))


def _default_encode(value: object) -> Any:
    if isinstance(value, _JSON_SCALARS):
        return value
    raise InvalidValueError(
        f"DVVSet value {value!r} is not a JSON int, str, bool or null; pass an encoder "
        "(e.g. encode_bytes for bytes)"
    )


def _default_decode(item: object) -> Any:
    if isinstance(item, _JSON_SCALARS):
        return item
    raise InvalidValueError(
        f"DVVSet JSON value {item!r} is not an int, str, bool or null; pass a decoder"
    )


def encode_bytes(value: bytes) -> str:
    """JSON form of a bytes value (base64), for ``to_json(clock, encode_bytes)``."""
    if not isinstance(value, bytes):
        raise InvalidValueError(f"encode_bytes needs bytes, got {value!r}")
    return base64.b64encode(value).decode("ascii")


def decode_bytes(item: object) -> bytes:
    """Inverse of :func:`encode_bytes`; ValueError on anything but base64 text."""
    if not isinstance(item, str):
        raise InvalidValueError(f"a bytes value is base64 text, got {item!r}")
    try:
        return base64.b64decode(item.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        raise InvalidValueError(f"a bytes value is base64 text, got {item!r}") from None


def to_json(clock: DVVSet[V], encode: Callable[[V], Any] | None = None) -> dict[str, Any]:
    """``{"entries": [[id, counter, [value, ...]], ...], "anonymous": [value, ...]}``,
    entries sorted by id, each entry's values newest first. Values go through
    ``encode``; without one they must be JSON ints, strs, bools or null."""
    enc: Callable[[Any], Any] = encode or _default_encode
    return {
        "entries": [[e.id, e.counter, [enc(v) for v in e.values]] for e in clock.entries],
        "anonymous": [enc(v) for v in clock.anonymous],
    }


def from_json(data: object, decode: Callable[[Any], Any] | None = None) -> DVVSet[Any]:
    """Inverse of :func:`to_json`. Entries may come in any order; anything malformed
    (wrong shape, unknown key, bad id or counter, more values than events, a
    repeated id, an unhashable decoded value) raises ValueError naming it."""
    dec: Callable[[Any], Any] = decode or _default_decode
    if not isinstance(data, dict):
        raise InvalidValueError(f"a DVVSet is a JSON object, got {data!r}")
    unknown = set(data) - {"entries", "anonymous"}
    if unknown:
        raise InvalidValueError(
            f"DVVSet JSON has unknown keys {sorted(str(key) for key in unknown)}"
        )
    raw_entries = data.get("entries")
    raw_anonymous = data.get("anonymous")
    if not isinstance(raw_entries, list):
        raise InvalidValueError(f"DVVSet JSON 'entries' must be a list, got {raw_entries!r}")
    if not isinstance(raw_anonymous, list):
        raise InvalidValueError(f"DVVSet JSON 'anonymous' must be a list, got {raw_anonymous!r}")
    entries: list[tuple[str, int, list[Any]]] = []
    for raw in raw_entries:
        if not isinstance(raw, list) or len(raw) != 3 or not isinstance(raw[2], list):
            raise InvalidValueError(f"a DVVSet JSON entry is [id, counter, [values]], got {raw!r}")
        entries.append((raw[0], raw[1], [dec(item) for item in raw[2]]))
    return DVVSet.of(entries, [dec(item) for item in raw_anonymous])


def vector_to_json(vector: VectorLike) -> dict[str, int]:
    """A version vector (``join``'s result) as a JSON object ``{id: counter}``."""
    return dict(_vector(vector))


def vector_from_json(data: object) -> Vector:
    """Inverse of :func:`vector_to_json`; ValueError naming what is malformed."""
    if not isinstance(data, dict):
        raise InvalidValueError(f"a version vector is a JSON object of counters, got {data!r}")
    return _vector(data)
