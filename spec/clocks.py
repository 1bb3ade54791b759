"""The four clock modes of the spec: how a put is versioned and replicas reconcile.

Dynamo paper section 4.4 ("Data versioning": vector clocks, syntactic
reconciliation, siblings), and the alternatives the checker compares with it:
last-writer-wins, client-side vector clocks, and dotted version vector sets.
Errors: :func:`payload_from_json` refuses a malformed payload with a ValueError.

Theory of operation
-------------------
Every put writes its own distinct value, its *put id* (a small int), so a value
names the put that wrote it, and the per-put facts live once in a put table
(:class:`PutRecord`, indexed by put id): the version's clock, its last-writer-wins
timestamp, and the *ghost* true causal history. A replica's content for one key,
its :data:`Payload`, is then

* in ``lww``, ``server-vclock`` and ``client-vclock`` modes: a sorted tuple of put
  ids, the versions (siblings) the replica keeps; their clocks are looked up in
  the put table;
* in ``dvv`` mode: a :class:`spec.dvv.DVVSet` whose values are put ids (the
  coordinator's node name is the dot's id).

The modes:

``lww``
    A version carries a timestamp ``(counter, coordinator)``; the highest wins and
    a replica keeps exactly one version. The counter is a hybrid logical clock
    (the default, ``lww_timestamps = "hybrid"``): the largest of the
    coordinator's wall clock and one more than the highest counter it has stored
    for the key and than the context's (the timestamp the client read), so a
    client's read-then-write is ordered whatever the skew, while concurrent
    writes are decided by the timestamp: one of them is silently lost. With
    ``"wall-clock"`` the counter is the wall clock alone (naive lww; Jepsen's
    Cassandra and Riak analyses). Wall clocks are the caller's (true time plus
    a per-node skew, :mod:`spec.coordination`).
``server-vclock``
    The paper's coordinator-generated vector clocks: the new clock is the
    context's clock with the coordinator's entry set to one more than the
    highest counter of that entry the coordinator has stored for the key (and
    than the context's own entry, so the new clock always descends its context).
    Two puts through the same coordinator from the same context get clocks
    ``{A: 1}`` then ``{A: 2}``: the second silently supersedes the first.
``client-vclock``
    The put increments the entry of the pair (its client, its coordinator's
    actor) (:func:`spec.vclock.client_entry`, ``"<actor> <client>"``) to one more
    than the context's counter of it, if the context covers every event of that
    entry the coordinator stores for the key; else the first of the pair's fresh
    entries (``"<actor>/1 <client>"``, ``/2`` ...) whose stored events the context
    covers (``client_vclock_entry = "pair"``, the default since session 23, the
    implementation's rule). The dot is unique whatever the client remembers (the
    coordinator, not the client, counts), and a put's clock claims no event it did
    not read: no version dominates a version it did not read (as dvv); concurrent
    writers, and a client's writes that did not read each other, are siblings.
    With ``client_vclock_entry = "client"`` (the rule before session 23) the
    client's own entry: one more than the largest of the context's entry, the
    counter the client sends (its last one, or 0 if it forgot it:
    ``forgetful_clients``) and the highest the coordinator stores of the client.
    A client that forgot its counter and writes through a coordinator that missed
    its later version re-uses a counter, and the version holding it may dominate
    the new one: an acknowledged write lost (client-vclock-forgetful-client-entry).
``dvv``
    A DVVSet per key: ``update(new(context, put_id), local, id)``, ``id`` the
    coordinator's actor or, past a value of it the context does not cover, the
    pair (actor, client), or past one of that too a fresh pair (session 59, every
    client) (:func:`spec.dvv.dot_actor`); the coordinator replicates
    its whole updated DVVSet and replicas ``sync``.
    For the properties, the put's *ghost clock* is its context plus its dot.

Dots and server-vclock entries are minted under the coordinator's *actor*: its
name, or ``name~<epoch>`` after a disk loss with actor epochs (Riak's kv679). In
the two vector-clock modes a put's new clock may be truncated past a threshold
(paper 4.4, :func:`truncate`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from spec import dvv
from spec.dvv import DVVSet
from spec.errors import InvalidValueError
from spec.vclock import VClock, client_entry

__all__ = [
    "Context",
    "Payload",
    "PutRecord",
    "answered_context",
    "context_json",
    "context_of",
    "dominates",
    "empty",
    "merge",
    "payload_equal",
    "payload_from_json",
    "payload_hash",
    "payload_json",
    "payload_key",
    "put",
    "truncate",
    "values",
]

Payload = tuple[int, ...] | DVVSet[int]
#: What a get hands back with its values: a VClock (vclock modes), a version
#: vector (dvv: ``join``), a timestamp ``(counter, node)`` (lww) or None.
Context = VClock | tuple[Any, ...] | None

_EMPTY_DVV: DVVSet[int] = DVVSet()


@dataclass(frozen=True, slots=True)
class PutRecord:
    """What the spec knows about one put once a coordinator performed it.

    ``clock`` is the version's vector clock (vclock modes) or, in dvv mode, the
    context the put carried (lww: empty); ``dot`` its dvv dot ``(coordinator,
    counter)`` (``("", 0)`` in other modes); ``stamp`` its lww timestamp. ``history`` is the
    ghost true causal history (put ids the writing client had read, plus itself);
    ``read_siblings`` the siblings returned by the get whose context the put
    carried (empty unless there were two or more).
    """

    put_id: int
    client: str
    key: str
    coordinator: str
    clock: VClock
    stamp: tuple[int, str]
    history: frozenset[int]
    read_siblings: tuple[int, ...]
    dot: tuple[str, int] = ("", 0)
    _hash: int = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        object.__setattr__(
            self,
            "_hash",
            hash((self.put_id, self.client, self.key, self.coordinator, self.clock, self.stamp,
                  self.history, self.read_siblings, self.dot)),
        )

    def __hash__(self) -> int:
        return self._hash


def dominates(a: PutRecord, b: PutRecord) -> bool:
    """Whether version ``a``'s clock dominates version ``b``'s: ``a`` descends from
    ``b`` and differs. vclock modes compare vector clocks; dvv asks whether ``b``'s
    dot is in ``a``'s causal past (``a``'s context); lww compares timestamps."""
    if a.put_id == b.put_id:
        return False
    if a.dot[1]:
        node, counter = b.dot
        return a.clock.counter(node) >= counter
    if a.stamp[1]:
        return a.stamp > b.stamp
    return a.clock.dominates(b.clock)


def empty(mode: str) -> Payload:
    """A replica that holds nothing for the key."""
    return _EMPTY_DVV if mode == "dvv" else ()


def values(payload: Payload) -> tuple[int, ...]:
    """The put ids a payload holds (its siblings)."""
    if isinstance(payload, tuple):
        return payload
    return tuple(dvv.values(payload))


def payload_key(payload: Payload) -> tuple[Any, ...]:
    """A total order on payloads of one mode (for canonical sorting)."""
    if payload.__class__ is tuple:
        return payload
    cached = _DVV_FACTS.get(id(payload))
    if cached is None or cached[0] is not payload:
        cached = _dvv_facts(payload)  # type: ignore[arg-type]
    return cached[2]


def payload_hash(payload: Payload) -> int:
    """``hash(payload)``, cached per dvv payload object (a DVVSet recomputes its
    hash over its entries on every call; the spec shares payload objects widely)."""
    if payload.__class__ is tuple:
        return hash(payload)
    cached = _DVV_FACTS.get(id(payload))
    if cached is None or cached[0] is not payload:
        cached = _dvv_facts(payload)  # type: ignore[arg-type]
    return cached[1]


def _dvv_facts(payload: DVVSet[int]) -> tuple[DVVSet[int], int, tuple[Any, ...]]:
    if len(_DVV_FACTS) > _SYNC_CACHE_LIMIT:
        _DVV_FACTS.clear()
    facts = (
        payload,
        hash(payload),
        (tuple((e.id, e.counter, e.values) for e in payload.entries), payload.anonymous),
    )
    _DVV_FACTS[id(payload)] = facts
    return facts


# Keyed by id(): each entry holds its payload, so the id cannot be reused while cached.
_DVV_FACTS: dict[int, tuple[DVVSet[int], int, tuple[Any, ...]]] = {}


def _record(puts: Sequence[PutRecord | None], put_id: int) -> PutRecord:
    record = puts[put_id - 1]
    assert record is not None, f"put {put_id} is stored but was never performed"
    return record


def _reconcile(mode: str, ids: Iterable[int], puts: Sequence[PutRecord | None]) -> tuple[int, ...]:
    unique = sorted(set(ids))
    if len(unique) <= 1:
        return tuple(unique)
    if mode == "lww":
        return (max(unique, key=lambda v: (_record(puts, v).stamp, v)),)
    clocks = [_record(puts, v).clock for v in unique]
    return tuple(
        v
        for i, v in enumerate(unique)
        if not any(j != i and other.dominates(clocks[i]) for j, other in enumerate(clocks))
    )


def merge(mode: str, a: Payload, b: Payload, puts: Sequence[PutRecord | None]) -> Payload:
    """Reconcile two replicas' contents for one key (read repair, anti-entropy,
    replication and handoff all store through this)."""
    if a is b:
        return a
    if a.__class__ is tuple:  # then so is b: one mode per state
        if a == b or not b:
            return a
        if not a:
            return b
        return _reconcile(mode, a + b, puts)  # type: ignore[operator]
    pair = (id(a), id(b))
    cached = _SYNCED.get(pair)
    if cached is None or cached[0] is not a or cached[1] is not b:
        assert isinstance(a, DVVSet) and isinstance(b, DVVSet)
        if len(_SYNCED) > _SYNC_CACHE_LIMIT:
            _SYNCED.clear()
        result = a if payload_equal(a, b) else dvv.sync(a, b)
        # Normalised: a result equal to ``a`` (or ``b``) IS ``a`` (or ``b``), so a
        # caller can tell "nothing changed" by identity.
        if result is not a and payload_equal(result, a):
            result = a
        elif result is not b and payload_equal(result, b):
            result = b
        cached = _SYNCED[pair] = (a, b, result)
    return cached[2]


def payload_equal(a: Payload, b: Payload) -> bool:
    """``a == b``, answered from the cached hashes when they differ."""
    return a is b or (payload_hash(a) == payload_hash(b) and a == b)


# dvv.sync is pure and the explorer meets the same pairs of payload objects again
# and again: keyed by the objects' ids, each entry holding both objects (so their
# ids cannot be reused while cached).
_SYNCED: dict[tuple[int, int], tuple[DVVSet[int], DVVSet[int], DVVSet[int]]] = {}
_SYNC_CACHE_LIMIT = 200_000


def context_of(mode: str, payload: Payload, puts: Sequence[PutRecord | None]) -> Context:
    """The context a get returns with the reconciled payload."""
    if isinstance(payload, DVVSet):
        return dvv.join(payload)
    if mode == "lww":
        return _record(puts, payload[0]).stamp if payload else None
    clock = VClock()
    for v in payload:
        clock = clock.merge(_record(puts, v).clock)
    return clock


def _ctx_clock(context: Context) -> VClock:
    if isinstance(context, VClock):
        return context
    if context is None:
        return VClock()
    return VClock.of(dict(context))


def put(
    mode: str,
    local: Payload,
    context: Context,
    put_id: int,
    coordinator: str,
    client: str,
    client_counter: int,
    puts: Sequence[PutRecord | None],
    *,
    actor: str = "",
    wall: int = 0,
    hybrid: bool = True,
    threshold: int = 0,
    client_entries: str = "pair",
    tombstones: frozenset[int] = frozenset(),
) -> tuple[Payload, Payload, VClock, tuple[int, str], int, tuple[str, int]]:
    """The coordinator's put: ``(new local payload, payload to replicate, the put's
    clock, its lww stamp, the client's new counter, its dvv dot)``.

    ``actor`` (default: ``coordinator``) is the id the coordinator mints dvv dots
    and server-vclock entries under (a fresh one per storage lifetime with actor
    epochs). ``wall`` is the coordinator's wall clock in ticks (lww); ``hybrid``
    stamps ``max(wall, context + 1, stored + 1)`` (a hybrid logical clock), else
    the wall clock alone. ``threshold`` > 0 truncates a vector clock past that
    many pairs (paper 4.4), keeping the pair this put increments. ``client_entries``
    (client-vclock): ``"pair"`` increments the entry of (client, ``actor``), counted
    by the coordinator; ``"client"`` the client's own, counted from
    ``client_counter`` (module docstring). ``tombstones`` are the put ids that are
    deletes: in dvv a delete drops the tombstones it is concurrent with
    (:func:`spec.dvv.drop_superseded`: the set's clock keeps their dots, so they
    are superseded wherever the payload goes), as impl/versions.py ``apply_put``
    does (session 26: a delete retried with one context added a tombstone sibling
    per try)."""
    actor = actor or coordinator
    if mode == "dvv":
        assert isinstance(local, DVVSet)
        vector: Any = context if context is not None else ()
        # the server's id, or (server, client) past an unread value of the server's
        # (spec.dvv.dot_actor: the context the implementation's put answers is then
        # the context plus the new dot; session 29)
        actor = dvv.dot_actor(local, vector, actor, client)
        updated = dvv.update(dvv.new(vector, put_id), local, actor)
        if put_id in tombstones:
            updated = dvv.drop_superseded(updated, tombstones.__contains__, actor)
        dot = next(e.counter for e in updated.entries if e.id == actor)
        return updated, updated, _ctx_clock(context), (0, ""), client_counter, (actor, dot)
    assert isinstance(local, tuple)
    if mode == "lww":
        if hybrid:
            seen = context[0] if isinstance(context, tuple) else 0
            for v in local:
                seen = max(seen, _record(puts, v).stamp[0])
            stamp = (max(wall, seen + 1), coordinator)
        else:
            stamp = (wall, coordinator)
        record = PutRecord(put_id, client, "", coordinator, VClock(), stamp, frozenset(), ())
        table = list(puts)
        table[put_id - 1] = record
        new = _reconcile(mode, (*local, put_id), table)
        return new, (put_id,), VClock(), stamp, client_counter, ("", 0)
    base = _ctx_clock(context)
    if mode == "server-vclock":
        highest = base.counter(actor)
        for v in local:
            highest = max(highest, _record(puts, v).clock.counter(actor))
        entry = actor
        clock = VClock.of({**base.entries, actor: highest + 1})
    elif client_entries == "pair":  # client-vclock: the coordinator counts
        clocks = [_record(puts, v).clock for v in local]
        fresh = 0
        while True:
            entry = client_entry(client, actor, fresh)
            stored = max((c.counter(entry) for c in clocks), default=0)
            if base.counter(entry) >= stored:  # the context covers the pair's events
                break
            fresh += 1
        clock = VClock.of({**base.entries, entry: base.counter(entry) + 1})
    else:  # client-vclock, the client's own entry (before session 23)
        counter = max(base.counter(client), client_counter) + 1
        for v in local:
            counter = max(counter, _record(puts, v).clock.counter(client) + 1)
        entry = client
        clock = VClock.of({**base.entries, client: counter})
        client_counter = counter
    if threshold and len(clock.pairs) > threshold:
        clock = truncate(clock, threshold, entry)
    record = PutRecord(put_id, client, "", coordinator, clock, (0, ""), frozenset(), ())
    table = list(puts)
    table[put_id - 1] = record
    new = _reconcile(mode, (*local, put_id), table)
    return new, (put_id,), clock, (0, ""), client_counter, ("", 0)


def answered_context(mode: str, record: PutRecord, payload: Payload) -> Context:
    """The context a put's acknowledgement answers its client (``workload.chain_puts``,
    session 60): what the client brought and the version it wrote, never a sibling
    the coordinator held that the client did not read -- the implementation's
    ``impl.versions.written_context_pairs`` (``PutResult.context``, the HTTP PUT's
    ``{"context"}``; Riak's ``return_body``), written again here so that the lockstep
    compares the two. ``record`` is the put's :class:`PutRecord`, ``payload`` what its
    coordinator wrote (dvv: the updated DVVSet). Shapes as a get's context
    (:func:`context_of`):

    - dvv: the put's context (``record.clock``) with the entry of the id it minted
      under (``record.dot[0]``: :func:`spec.dvv.dot_actor`) at that entry's counter,
      unless the entry holds another value with a dot above the context's counter
      (a value the client did not read): a version vector cannot cover the new dot
      without covering it, so the context alone (the client's next put is then a
      sibling of its own write: a false sibling);
    - vector-clock modes: the new version's clock (never dominated where it is
      written: its counter of the entry it incremented is above every stored one);
    - lww: the new version's stamp (hybrid stamps win at their coordinator; a
      ``"wall-clock"`` put that lost answers the winner's stamp in the
      implementation, a context no wall-clock put reads).
    """
    if mode == "lww":
        return record.stamp
    if mode != "dvv":
        return record.clock
    assert isinstance(payload, DVVSet)
    pairs = dict(record.clock.pairs)
    actor = record.dot[0]
    for entry in payload.entries:
        if entry.id != actor or not entry.values:
            continue
        seen = pairs.get(actor, 0)
        unseen = any(entry.counter - j > seen for j in range(1, len(entry.values)))
        if not unseen and entry.counter > seen:
            pairs[actor] = entry.counter
    return tuple(sorted((i, c) for i, c in pairs.items() if c))


def truncate(clock: VClock, threshold: int, newest: str) -> VClock:
    """The paper's truncation (section 4.4) of a put's new ``clock``: past
    ``threshold`` pairs the oldest go (:meth:`spec.vclock.VClock.prune`). The pair
    ``newest`` (the one the put just incremented) is the youngest; the spec has no
    wall clock for the others, so prune's tie-break (node id) picks among them."""
    return VClock(VClock(clock.pairs, ((newest, 1.0),)).prune(threshold).pairs)


# -- JSON -------------------------------------------------------------------------------


def payload_json(payload: Payload) -> dict[str, Any]:
    """``{"versions": [put ids]}`` or ``{"dvv": DVVSet JSON}``."""
    if isinstance(payload, tuple):
        return {"versions": list(payload)}
    return {"dvv": dvv.to_json(payload)}


def payload_from_json(data: object) -> Payload:
    """The inverse of :func:`payload_json`."""
    if isinstance(data, dict) and set(data) == {"versions"}:
        items = data["versions"]
        if not isinstance(items, list) or not all(
            isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in items
        ):
            raise InvalidValueError(f"payload versions must be a list of put ids, got {items!r}")
        return tuple(sorted(set(items)))
    if isinstance(data, dict) and set(data) == {"dvv"}:
        clock = dvv.from_json(data["dvv"])
        for v in dvv.values(clock):
            if not isinstance(v, int) or isinstance(v, bool):
                raise InvalidValueError(f"a DVVSet payload holds put ids, got {v!r}")
        return clock
    raise InvalidValueError(f"a payload is {{'versions': [...]}} or {{'dvv': ...}}, got {data!r}")


def context_json(context: Context) -> Any:
    """A context as JSON (a clock's counters, a vector, a stamp, or null)."""
    if isinstance(context, VClock):
        return context.to_json()
    if context is None:
        return None
    return [list(item) if isinstance(item, tuple) else item for item in context]
