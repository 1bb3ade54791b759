"""Versions of a key on the implementation side: the four clock modes, records.

Theory of operation
-------------------
A node stores, per key, one :class:`Record`: the key's current versions
(siblings) with their causal metadata, in the form the cluster's clock mode
needs. The record is what the storage engine keeps (as the bytes of
:func:`encode_record`), what replicas exchange, and what :func:`merge` combines:

- ``dvv`` (default): a :class:`spec.dvv.DVVSet` of byte values. A put is
  ``dvv.update(dvv.new(context, value), stored, id)``: ``id`` (the coordinator's
  actor, or the pair (actor, client) past a value of the actor the context does
  not cover, or a fresh pair past one of that too: :func:`spec.dvv.dot_actor`) is
  the new value's dot; every stored value whose dot the context covers is
  overwritten; the others stay as siblings. Replicas merge with ``dvv.sync``.
- ``server-vclock``: one vector clock per sibling. A put's clock is the
  context's clock with the coordinator's entry set to one more than the highest
  counter of that entry stored for the key. Two concurrent writes through the
  same coordinator thus get ordered clocks and the older one is lost: the paper's
  scheme, kept to show that loss.
- ``client-vclock``: the put increments the entry of the pair (the coordinator's
  actor, the client) (:func:`spec.vclock.client_entry`), counted by the
  coordinator, or a fresh entry of the pair when the context misses one of the
  pair's stored counters (session 23; before, the client's own entry, counted from
  the counter it sent: a client that forgot it re-used a dot); concurrent writes by
  different clients, and a client's writes that did not read each other, stay
  siblings.
- ``lww``: last writer wins by the put's timestamp (ties broken by the
  coordinator's name, then the value): one version, concurrent writes lost. The
  timestamp is a hybrid logical clock: the larger of the coordinator's wall clock
  and one tick (:data:`LWW_TICK_S`) more than the context's timestamp and the
  stored one, so a read-then-write is ordered after what it read whatever the
  clocks' skew; blind concurrent writes are still ordered by (skewed) wall
  clocks, the documented lww anomaly. The context carries the timestamp as the
  one pair ``(LWW_ACTOR, ticks + LWW_OFFSET)``, rounded up to a tick. The tick is
  an exact binary fraction of a second (2**-20 s, about 0.95 us), so stamps that
  are whole ticks stay whole ticks through the context and the hybrid rule (the
  refinement harness relies on it: one spec tick is one implementation tick).
  ``hybrid=False`` (``lww_timestamps = "wall-clock"``) is the naive rule: the
  coordinator's clock alone.

*Actors.* The coordinator's entry in a dot or a server-side clock is its
*actor*: with actor epochs (the default) not its bare name but
:func:`lifetime_actor`, a fresh id for each storage lifetime (by default each
start), persisted in the store's meta table, so a node whose disk was replaced or
restored from an older backup, or whose buffered writes a crash lost, never
issues an (actor, counter) pair twice for a key (Riak's kv679).
A reap that removed the node's copy of a key holding a counter of its actor for
that key begins a *key epoch* (:func:`renew_key_actor`): the node mints that key,
and only that key, under ``<lifetime actor>.<key epoch>`` from then on
(:func:`key_actor`; Riak's per-key epochs), so its other keys' clocks do not gain
an entry per reap.

*Retired actors* (dvv, session 33). A start that takes a new lifetime actor
retires the one before for good (:func:`lifetime_actor`, ``RETIRED_META``); the
retirements are gossiped (:mod:`impl.retired`) and every write of a dvv record
drops the entries that hold no value and were minted under a retired lifetime,
the oldest first, past :data:`RETIRED_BYTES_KEPT` of them (:func:`prune_retired`):
the record of a key written through restarted nodes stays bounded, and a live
actor's entry is never dropped (its node would mint a dot again).

*Truncation* (vector-clock modes, paper 4.4): a record written under a
:class:`Truncation` policy carries it, and every put and every merge drops the
oldest pairs from all of the record's clocks at once (:func:`truncate`), so
replicas truncate alike and a read-modify-write keeps superseding what it read;
each sibling's own pair (the one its put incremented, :func:`own_pair`) is never
dropped, so truncation never erases a concurrent version (session 30). Under a
policy a sibling whose own pair (its *dot*) another sibling's clock covers is
superseded by it, whatever other pairs truncation took from that clock; contexts
past ``max_pairs`` keep the siblings' own pairs first; and a tombstone's pairs are
all kept (session 31: a read-modify-write of siblings whose clocks no context can
hold whole, and a deleted value brought back alone by a stale copy). In
client-vclock a sibling of the same own entry at a higher counter covers a dot too,
and a record keeps the pairs its cuts dropped (``Record.dropped``, at most
:func:`dropped_bytes_kept`): a sibling whose dot is one of them goes (session 59: hidden
tombstones past truncation, and a stale copy of a deleted value brought back by a
replica that missed more than ``max_pairs`` writers).
With ``per_put`` (``vclock_truncation = "put"``: the paper's rule, and the
spec's) only a put's new clock is truncated, at its coordinator
(:func:`truncate_new_clock`), and merges never truncate: a descendant whose clock
lost its ancestor's pair no longer dominates it (a false sibling).

The vector-clock modes reconcile syntactically with :func:`spec.vclock.reconcile`
(the maximal antichain: dominated versions go, concurrent ones stay). The context
a get returns is the join of the record's clocks (``dvv.join`` / the merge of the
siblings' clocks); a put brings it back (see :mod:`impl.context`).

The record value and its byte encoding (:func:`encode_record`,
:func:`decode_record`) live in :mod:`impl.records`; this module re-exports them.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Mapping

from impl.context import context_bytes_bound
from impl.errors import BadMessageError, BadRequestError, ConfigError, InvalidValueError
from impl.records import ClockMode, Record, Sibling, Truncation, decode_record, encode_record
from impl.storage.base import Storage
from spec import dvv
from spec.vclock import VClock, client_entry, entry_actor, reconcile

__all__ = [
    "ACTOR_META",
    "CLIENT_FLOOR_META",
    "DROPPED_PER_PAIR",
    "LWW_ACTOR",
    "LWW_FLOORS_META",
    "LWW_OFFSET",
    "LWW_TICK_S",
    "MAX_COUNTER",
    "RANK_META",
    "RETIRED_BYTES_KEPT",
    "RETIRED_KEPT",
    "RETIRED_KNOWN_META",
    "RETIRED_META",
    "RETIRED_WIRE_LIMIT",
    "SHARED_CLIENT_ID",
    "STORAGE_ID_META",
    "STORE_CLOCK_META",
    "TOMBSTONE",
    "ClockMode",
    "Record",
    "Sibling",
    "Truncation",
    "apply_put",
    "check_store_clock",
    "context_clock",
    "context_pairs",
    "counts_actor",
    "decode_record",
    "decode_retired",
    "dot_actor",
    "dropped_bytes_kept",
    "encode_record",
    "encode_retired",
    "is_lifetime_actor",
    "is_tombstone_only",
    "key_actor",
    "lifetime_actor",
    "lifetime_rank",
    "live_values",
    "lww_after",
    "lww_stamp_of",
    "lww_version",
    "merge",
    "merge_all",
    "note_key_merge",
    "own_epoch",
    "own_pair",
    "prune_retired",
    "read_key_epochs",
    "read_retired",
    "reaped_counter",
    "renew_key_actor",
    "retired_among",
    "truncate",
    "truncate_new_clock",
    "values",
    "written_context_pairs",
]

_VCLOCK_MODES = (ClockMode.SERVER_VCLOCK, ClockMode.CLIENT_VCLOCK)

#: The one context pair of the lww mode: its counter is the timestamp in ticks
#: (:data:`LWW_TICK_S`) plus :data:`LWW_OFFSET` (counters are positive; stamps may
#: not be).
LWW_ACTOR = "lww"
LWW_OFFSET = 1 << 62
#: The hybrid logical clock's step and the context's unit: a put's timestamp exceeds
#: its context's and the stored one by at least this many seconds. An exact binary
#: fraction (2**-20 s, about 0.95 microseconds), so whole ticks add and round-trip
#: through a context exactly.
LWW_TICK_S = 2.0 ** -20


#: The value a delete writes: a tombstone is a version like any other (it carries
#: the clock of the delete, so a put concurrent with it stays a sibling, and a later
#: put whose context covers it supersedes it), only its value is this marker. A
#: client put of exactly these bytes is refused (:func:`impl.forwarding.check_request`),
#: so a stored value equal to it is always a delete's. Riak marks a tombstone the
#: same way, in the object's metadata (``X-Riak-Deleted``, riak_kv_delete.erl).
TOMBSTONE = b"\x00\xffvdynamo-tombstone\xff\x00"


def values(record: Record) -> list[bytes]:
    """The record's sibling values, in a deterministic order."""
    if record.mode is ClockMode.DVV:
        return list(dvv.values(record.dvvset))
    return [s.value for s in record.siblings]


def live_values(record: Record) -> list[bytes]:
    """The record's sibling values less the tombstones: what a get answers (an
    empty list -- "not found" -- when every sibling is a tombstone)."""
    return [value for value in values(record) if value != TOMBSTONE]


def _is_tombstone(value: bytes) -> bool:
    return value == TOMBSTONE


def is_tombstone_only(record: Record) -> bool:
    """Whether the record holds at least one version and every one is a tombstone
    (what a reap may remove: nothing live is lost with it)."""
    found = values(record)
    return bool(found) and all(value == TOMBSTONE for value in found)


def _join(record: Record) -> VClock:
    clock = VClock()
    for sibling in record.siblings:
        clock = clock.merge(sibling.clock)
    return clock


def _lww_counter(stamp: float) -> int:
    return max(1, math.ceil(stamp / LWW_TICK_S) + LWW_OFFSET)


def lww_stamp_of(context: VClock) -> float | None:
    """The lww timestamp (seconds, a whole number of :data:`LWW_TICK_S`) an lww
    context carries, or None (no context)."""
    counter = context.counter(LWW_ACTOR)
    return (counter - LWW_OFFSET) * LWW_TICK_S if counter else None


def context_clock(record: Record) -> VClock:
    """The causal context a get of this record returns: the join of its clocks (in
    lww, the one pair carrying the winner's timestamp, rounded up to a tick)."""
    if record.mode is ClockMode.DVV:
        return dvv.join_vclock(record.dvvset)
    if record.mode is ClockMode.LWW:
        if not record.siblings:
            return VClock()
        return VClock.of({LWW_ACTOR: max(_lww_counter(s.stamp) for s in record.siblings)})
    return _join(record)


def context_pairs(record: Record, max_pairs: int | None = None) -> tuple[tuple[str, int], ...]:
    """``context_clock(record).pairs``, computed without building the clock when the
    mode is dvv (the join of a DVVSet is its entries' ids and counters); with
    ``max_pairs``, at most that many: a context covering less is always safe (the
    put supersedes less) and fits the cluster's context limit. In dvv the entries
    holding values are kept first (then the highest counters); in the vector-clock
    modes the siblings' own pairs (:func:`own_pair`) are kept first, then the
    youngest others (session 31: a context lacking a sibling's own pair can never
    supersede it; before, the oldest pairs went whatever they were, and five
    siblings whose clocks joined to seven pairs under a six-pair policy survived a
    read-modify-write of all of them)."""
    if record.mode is ClockMode.DVV:
        entries = [entry for entry in record.dvvset.entries if entry.counter]
        if max_pairs is not None and len(entries) > max_pairs:
            # Only entries holding values need covering (the others' dots are in the
            # record's causal past whatever the context says): keep those first.
            entries.sort(key=lambda e: (bool(e.values), e.counter, e.id), reverse=True)
            del entries[max_pairs:]
        return tuple(sorted((entry.id, entry.counter) for entry in entries))
    clock = context_clock(record)
    if max_pairs is not None and len(clock.pairs) > max_pairs:
        if record.mode in _VCLOCK_MODES:
            clock = _prune_keeping(clock, {own_pair(s.clock) or "" for s in record.siblings},
                                   max_pairs)
        else:
            clock = clock.prune(max_pairs)
    return clock.pairs


def _prune_keeping(clock: VClock, own: set[str], max_pairs: int) -> VClock:
    """``clock`` less its oldest pairs down to ``max_pairs``, the pairs of ``own`` (the
    siblings' own pairs) dropped last: a context lacking a sibling's own pair can never
    supersede it, one lacking another pair may still (session 31)."""
    times = dict(clock.times)
    order = sorted(clock.pairs, key=lambda p: (p[0] in own, times.get(p[0], -math.inf), p[0]))
    kept = dict(order[len(order) - max_pairs:])
    return VClock.of(kept, {n: t for n, t in times.items() if n in kept})


#: The client id of every HTTP write that names no client (no X-Vdynamo-Client):
#: an id many programs share; a dvv put past unread values of the server's and of
#: this id's pair takes a fresh pair (``spec.dvv.dot_actor``; session 48, for every
#: client since session 59).
SHARED_CLIENT_ID = "http"


def dot_actor(record: Record, context: VClock, actor: str, client_id: str) -> str:
    """The id a dvv put of ``client_id`` with ``context``, coordinated under ``actor``
    over the stored ``record``, mints its dot under (:func:`spec.dvv.dot_actor`:
    ``actor``, or the pair ``"<actor> <client_id>"`` past a value of ``actor`` the
    context does not cover, or a fresh pair ``"<actor>/<k> <client_id>"`` past one
    of the pair too, any client since session 59); ``actor`` in the other modes.
    What :func:`apply_put` mints under, and the ``actor`` of
    :func:`written_context_pairs`."""
    if record.mode is ClockMode.DVV:
        return dvv.dot_actor(record.dvvset, context, actor, client_id)
    return actor


def written_context_pairs(after: Record, context: VClock, value: bytes, *, actor: str,
                          writer: str, now: float,
                          max_pairs: int | None = None) -> tuple[tuple[str, int], ...]:
    """The context a put answers its client with (``PutResult.context``, the HTTP
    PUT's ``{"context"}``): what the client has seen -- the ``context`` it brought
    -- and the version it wrote, never a sibling the coordinator held that the
    client did not read. ``after`` is the coordinator's record once the put was
    applied (:func:`apply_put` with ``actor``, ``writer`` the coordinator and
    ``now``); ``max_pairs`` caps the pairs as :func:`context_pairs` does (fewer
    pairs cover less: always safe).

    Before, a put answered :func:`context_clock` of ``after``, which covers every
    sibling the coordinator stored: bob's put concurrent with alice's, stored just
    before hers, was covered by the context alice's put returned, and alice's next
    put with that context (a client continuing from its own write, or the client
    library's get with a resolve hook, which answers the context of the put of the
    merge) superseded bob's acknowledged write unseen (session 14's probe A: 6 of
    180 acknowledged adds lost by three processes through ``vdynamo.connect(...,
    resolve=union)`` on a quiet 3-node cluster). Dynamo paper 4.4: a context is
    what the client read; the version vector a DVV put's result may carry
    (Almeida et al., "Scalable and accurate causality tracking", 2014) is the
    context plus the new dot.

    - vector-clock modes: the clock of the new version (the context with the
      entry the put incremented), or the context alone if the new version is not
      in ``after``;
    - dvv: the context with ``actor``'s entry at the new dot's counter (``actor``
      the id the put minted under, :func:`dot_actor`), unless ``actor``'s entry
      holds a live value with a dot above the context's counter other than the
      new one (a concurrent put through the same coordinator): a version vector
      cannot cover the new dot without covering that one, so the context alone is
      answered (the client's next put is then a sibling of its own write: a false
      sibling, never a lost one). Since session 29 a put past such a value mints
      under the pair (coordinator actor, client) (:func:`spec.dvv.dot_actor`),
      whose entry holds no value the client did not write and read, so the
      context alone is left only to a client whose own pair holds one (two
      processes sharing a client id, e.g. HTTP writers naming none, interleaving
      their chains);
    - lww: :func:`context_pairs` of ``after`` (one version, no siblings).
    """
    if after.mode is ClockMode.LWW:
        return context_pairs(after, max_pairs)
    if after.mode is ClockMode.DVV:
        pairs = dict(context.entries)
        for entry in after.dvvset.entries:
            if entry.id != actor or not entry.values:
                continue
            seen = pairs.get(actor, 0)
            unseen = [j for j in range(1, len(entry.values)) if entry.counter - j > seen]
            if not unseen and entry.counter > seen:  # (max of two, written out)
                pairs[actor] = entry.counter
        chosen = list(pairs.items())
        if max_pairs is not None and len(chosen) > max_pairs:
            # (the pairs ranked only when some are cut: the answer is sorted below, so
            # the order of the uncut list changes nothing: session 42)
            chosen.sort(key=lambda p: (p[0] == actor, p[1], p[0]), reverse=True)
            del chosen[max_pairs:]
        return tuple(sorted((node, counter) for node, counter in chosen if counter))
    clock = context
    for sibling in after.siblings:
        if sibling.value == value and sibling.writer == writer and sibling.stamp == now:
            clock = sibling.clock
            break
    if max_pairs is not None and len(clock.pairs) > max_pairs:
        clock = clock.prune(max_pairs)
    return clock.pairs


#: The largest clock counter a record's bytes hold (a u64).
MAX_COUNTER = 2**64 - 1


def own_pair(clock: VClock) -> str | None:
    """The node of ``clock``'s own pair: the one its version's put incremented, the
    clock's youngest pair (:func:`apply_put` stamps it strictly after every other
    time of the clock; a pair with no time counts as oldest, ties by node id, so
    the pair :meth:`spec.vclock.VClock.prune` keeps last). None for the empty
    clock."""
    if not clock.pairs:
        return None
    times = dict(clock.times)
    return max(clock.pairs, key=lambda pair: (times.get(pair[0], -math.inf), pair[0]))[0]


def _cut(siblings: Iterable[Sibling], kept: set[str]) -> list[Sibling]:
    return [Sibling(s.value,
                    VClock.of({n: c for n, c in s.clock.pairs if n in kept},
                              {n: t for n, t in s.clock.times if n in kept}),
                    s.stamp, s.writer)
            for s in siblings]


def _clock_bytes(clock: VClock) -> int:
    """The bytes of ``clock`` in a record's encoding (:func:`encode_record`)."""
    return 4 + sum(18 + len(node.encode("utf-8")) for node in clock.entries)


def dropped_bytes_kept(record: Record) -> int:
    """The most bytes a client-vclock record's dropped pairs (``Record.dropped``,
    session 59) may take in its encoding: what its siblings' clocks leave of the
    bytes the record limits reserve for them, a context of ``max_pairs`` pairs of
    the longest ids each (:func:`impl.context.context_bytes_bound`, within
    ``max_context_bytes``: :func:`impl.config.sibling_bytes`), so that a record
    with its dropped pairs is never over a bound a record without them could reach
    (no configuration's limit changes). 0 without a policy. With ids of 20 to 30
    bytes and the default 50 pairs, about 1,200 to 1,600 pairs beside one sibling:
    :data:`DROPPED_PER_PAIR` (200 pairs) binds first."""
    policy = record.truncation
    if policy is None:
        return 0
    reserved = context_bytes_bound(policy.max_pairs)
    return max(0, sum(reserved - _clock_bytes(s.clock) for s in record.siblings))


def _add_dropped(dropped: tuple[tuple[str, int], ...],
                 pairs: Iterable[tuple[str, int]]) -> tuple[tuple[str, int], ...]:
    """``dropped`` with ``pairs`` added, each node at its highest counter; sorted by
    node (:func:`_within_budget` bounds them)."""
    held = dict(dropped)
    for node, counter in pairs:
        if counter > held.get(node, 0):
            held[node] = counter
    if len(held) == len(dropped) and all(held[n] == c for n, c in dropped):
        return dropped
    return tuple(sorted(held.items()))


#: A client-vclock record keeps at most this many dropped pairs per pair of its
#: policy's ``max_pairs`` (``Record.dropped``; 200 for the default 50): the writers
#: whose stale copies still go once past the clocks' window. Each costs its bytes
#: in every decode of the record: with none kept a key of 400 distinct
#: read-modify-writers took 0.87 CPU-s on the simulator, with 350 2.2 (session 59).
DROPPED_PER_PAIR = 4


def _within_budget(record: Record) -> Record:
    """``record`` with its dropped pairs within :func:`dropped_bytes_kept` and
    :data:`DROPPED_PER_PAIR` x ``max_pairs`` of them: past either the lowest
    counters go, ties by node (the floor still holds them: a version of theirs may
    then come back as a false sibling, as before session 59)."""
    if not record.dropped or record.truncation is None:
        return record
    most = DROPPED_PER_PAIR * record.truncation.max_pairs
    size = 4 + sum(10 + len(node.encode("utf-8")) for node, _ in record.dropped)
    budget = dropped_bytes_kept(record)
    if size <= budget and len(record.dropped) <= most:
        return record
    held = dict(record.dropped)
    for node, _ in sorted(record.dropped, key=lambda pair: (pair[1], pair[0])):
        if size <= budget and len(held) <= most:
            break
        size -= 10 + len(node.encode("utf-8"))
        del held[node]
    return Record(record.mode, record.siblings, truncation=record.truncation,
                  floor=record.floor, dropped=tuple(sorted(held.items())))


def _without_dropped(record: Record) -> Record:
    """``record`` (client-vclock) less every sibling whose own pair (its dot) is one
    of ``record.dropped`` at that counter or below: an ancestor of a version the
    record held, whose clock truncation cut of that pair (session 59: a stale copy
    of a deleted value, written by one of more writers than ``vclock_max_pairs``,
    came back beside the tombstone)."""
    if not record.dropped:
        return record
    cut = dict(record.dropped)
    kept = tuple(s for s in record.siblings
                 if (node := _dot(s.clock)) is None or s.clock.counter(node) > cut.get(node, 0))
    if len(kept) == len(record.siblings):
        return record
    return Record(record.mode, kept, truncation=record.truncation, floor=record.floor,
                  dropped=record.dropped)


def _covers(clock: VClock, node: str, counter: int, mode: ClockMode) -> bool:
    """Whether ``clock`` holds the dot (``node``, ``counter``): in client-vclock at
    ``counter`` or above (an entry's counters are minted in causal order, each put
    above every stored one its context covers: :func:`_client_pair_entry`), in
    server-vclock at exactly ``counter`` (a put through the same coordinator counts
    above a sibling it never saw: only the very pair tells)."""
    held = clock.counter(node)
    return held >= counter if mode is ClockMode.CLIENT_VCLOCK else held == counter


def _dot(clock: VClock) -> str | None:
    """The node of ``clock``'s own pair if it is strictly the youngest, as
    :func:`apply_put` stamps it; None if the youngest time is shared or missing (a
    record written before session 30 could tie: its own pair is not known)."""
    times = sorted((t for _, t in clock.times), reverse=True)
    if not times or times[1:2] == times[:1]:
        return None
    return own_pair(clock)


def _without_covered(record: Record) -> Record:
    """``record`` less every sibling whose own pair (its dot, :func:`own_pair`)
    another sibling's clock covers (:func:`_covers`): that sibling's put saw it, so
    it supersedes it even when truncation left its clock without the sibling's
    other pairs (session 31: a read-modify-write of more siblings than a context's
    pairs can cover whole, and a stale copy of a value a delete covered). In
    client-vclock the counters the dropped siblings' pairs held, where no kept clock
    holds them as high, raise ``record.floor`` (session 31's review: a copy that
    forgot them let its node mint such a dot again, which a stale copy of a dropped
    sibling then covered).

    A sibling of the same own entry at a higher counter covers it too in
    client-vclock (session 59): the entry's counters are minted in causal order
    (:func:`_client_pair_entry`), so the later version saw it. Before, only a
    sibling of another own pair could, and a tombstone (which keeps every pair)
    written by the same client through the same coordinator as the key's later
    versions stayed beside them for good once their clocks lost a pair it held: a
    hidden sibling per round of a delete / re-create loop beside a blind writer,
    the record and each put's CPU growing until ``max_siblings`` refused the
    client's put (session 58's red team 8, probe 05j)."""
    siblings = record.siblings
    owns = [own_pair(s.clock) for s in siblings]
    client = record.mode is ClockMode.CLIENT_VCLOCK
    # A sibling whose own pair is the same entry covers the dot only in client-vclock
    # and only above its counter (a later dot of the entry, minted by a put whose
    # context covered this one: session 59); at the same counter it is a copy of
    # the same version, cut apart (neither may make the other go).
    gone = {i for i, s in enumerate(siblings) if (node := _dot(s.clock)) is not None and any(
        j != i and _covers(t.clock, node, s.clock.counter(node), record.mode)
        and (owns[j] != node or (client and t.clock.counter(node) > s.clock.counter(node)))
        for j, t in enumerate(siblings))}
    if not gone:
        return record
    kept = tuple(s for i, s in enumerate(siblings) if i not in gone)
    floor = record.floor
    if record.mode is ClockMode.CLIENT_VCLOCK:
        # The counters the dropped siblings' pairs took with them, which no clock kept
        # holds as high, raise the floor, as a cut's do (session 31's review): else
        # the copy forgot them, its node minted a dot of theirs again, and a stale
        # copy of a dropped sibling covered the new version's dot (an acknowledged
        # write lost; the histories' seed 56).
        held = _join(Record(record.mode, kept))
        lost = [(n, c) for i in gone for n, c in siblings[i].clock.pairs
                if held.counter(n) < c]
        floor = max([floor, *(c for _, c in lost)])
        return Record(record.mode, kept, truncation=record.truncation, floor=floor,
                      dropped=_add_dropped(record.dropped, lost) if record.truncation else ())
    return Record(record.mode, kept, truncation=record.truncation, floor=floor)


def truncate(record: Record, keep: Iterable[str] = ()) -> Record:
    """The record with its clocks truncated by its :class:`Truncation` policy: the
    pairs the policy drops from the join of the clocks are dropped from every
    sibling's clock, except each sibling's own pair (:func:`own_pair`) and the
    nodes in ``keep``, then the siblings are reconciled again (and so on until
    nothing goes: a fixpoint); in client-vclock the record's ``floor`` rises to the highest
    counter dropped (:func:`apply_put` counts above it). Dropping the same pairs
    everywhere keeps a descendant above its ancestor, and a stale copy of an
    ancestor still goes when its descendant arrives: its own pair is in the
    descendant's clock, so dropping the older pairs that set it apart leaves it
    dominated.

    Truncation never loses a write (session 30): a sibling keeps the pair its put
    incremented, which no version that did not see that put holds, so neither a
    sibling of the record nor a version arriving later that was concurrent with it
    can come to dominate it (not so in server-vclock for a later put through the
    same coordinator, which counts the pair above the stored one without seeing
    it: open, docs/runtime.md, "Truncation: the three open cases (session 31)").

    That own pair is the version's *dot*: a sibling whose dot another sibling's
    clock covers (client-vclock: at its counter or above; server-vclock: at exactly
    its counter, :func:`_covers`) is superseded by it (:func:`_without_covered`),
    even when truncation took the sibling's other pairs from that clock: a put whose
    context (at most ``max_pairs`` pairs, own pairs first: :func:`context_pairs`)
    holds every read sibling's own pair supersedes them all, and a stale copy of a
    version goes when it meets a descendant that kept its dot. A tombstone's pairs
    are all kept, as own pairs: what its delete covered, the own pairs of the values
    it removed among them (session 31; its clock is its delete's context and its
    own pair, so at most ``max_pairs`` + 1 pairs from a context the cluster
    answered).
    Before, the oldest pairs were dropped whatever they
    were, and an unresolved sibling whose own pair was old (written through a node
    whose clock was behind; or any sibling once a clock ahead had stamped a pair,
    every other pair then a day older) was dominated by its sibling and erased
    (docs/runtime.md, "Truncation never erases a sibling (session 30)"). The cost
    is Riak's (its pruning "may cause siblings"): an ancestor whose own pair its
    descendant's clock lost stays a false sibling of it until a put resolves both.
    The own pairs and ``keep`` count within the policy's ``max_pairs`` (the oldest
    other pairs go first), so the join of the record's clocks holds at most
    ``max_pairs`` pairs unless its siblings' own pairs and ``keep`` alone are more:
    every context the cluster answers (at most ``max_pairs``,
    :func:`context_pairs`) then covers every sibling's own pair, and a
    read-modify-write supersedes what it read (session 30's review: beside
    ``max_pairs``, a key of more than ``max_pairs`` young pairs kept an unresolved
    sibling through every read-modify-write). :func:`apply_put` passes as ``keep``
    the own pairs of every version it stored (since session 31; before, of those
    the put superseded, so a version superseded only once truncation cut a pair
    lost its own pair in the next pass and a replica holding it kept it) and the
    context pairs it could not date, :func:`merge` the own pairs of both records'
    versions, so a replica drops the same pairs as the coordinator did."""
    if record.truncation is None or record.mode not in _VCLOCK_MODES:
        return record
    return _within_budget(_truncated(record, record.truncation, set(keep)))


def _truncated(record: Record, policy: Truncation, protected: set[str]) -> Record:
    """:func:`truncate`'s cut of ``record`` under ``policy`` (its dropped pairs not
    yet bounded), keeping the nodes of ``protected``."""
    # once: a cut only removes pairs, so it never makes a clock cover a dot; the
    # floor after it (it may raise it: session 31's review)
    record = _without_covered(_without_dropped(record))
    floor, dropped = record.floor, record.dropped
    while True:
        join = _join(record)
        count = policy.pairs_to_keep(join)
        if count >= len(join.pairs):
            return record
        # A tombstone's pairs are all kept, as own pairs: they are what its delete
        # covered (the own pairs of the values it removed among them), and a stale
        # copy of a value one of them covers would come back alone, the delete undone
        # (session 31). Its clock is its delete's context and its own pair: at most
        # max_pairs + 1 pairs.
        own = (protected | {node for s in record.siblings for node in (
            s.clock.entries if _is_tombstone(s.value) else (own_pair(s.clock) or "",))}) & set(
            join.entries)
        kept = {node for node, _ in join.prune(count).pairs} | own
        if len(kept) > policy.max_pairs:
            # Every context holds at most max_pairs pairs (context_pairs drops the
            # oldest past it), and a context lacking a sibling's own pair supersedes
            # it never: the own pairs count within max_pairs, the oldest others go
            # (session 30's review: a key of more than max_pairs young pairs kept an
            # unresolved sibling through every read-modify-write).
            times = dict(join.times)
            others = sorted(kept - own, key=lambda node: (times.get(node, -math.inf), node))
            kept -= set(others[:len(kept) - policy.max_pairs])
        if join.entries.keys() <= kept:
            return record
        if record.mode is ClockMode.CLIENT_VCLOCK:  # raised to the highest counter dropped
            cut = [(n, c) for n, c in join.pairs if n not in kept]
            floor = max([floor, *(c for _, c in cut)])
            dropped = _add_dropped(dropped, cut)
        record = Record(record.mode, reconcile(_cut(record.siblings, kept)),
                        truncation=policy, floor=floor, dropped=dropped)
        # again until nothing goes (a fixpoint, so replicas agree byte for byte): a
        # stale ancestor that went no longer keeps its own pair, and the smaller
        # join may be truncated further


def _policy(a: Truncation | None, b: Truncation | None) -> Truncation | None:
    if a is None or b is None:
        return a if b is None else b
    return min(a, b)


def _lww_key(sibling: Sibling) -> tuple[float, str, bytes]:
    return (sibling.stamp, sibling.writer, sibling.value)


def _after(stamp: float) -> float:
    """One tick after ``stamp`` (strictly greater, whatever its magnitude)."""
    return max(stamp + LWW_TICK_S, math.nextafter(stamp, math.inf))


def lww_after(stamp: float) -> float:
    """The least lww stamp (seconds) the hybrid rule puts above ``stamp``: one
    tick (:data:`LWW_TICK_S`) after it (:func:`lww_version`)."""
    return _after(stamp)


def truncate_new_clock(clock: VClock, threshold: int, entry: str) -> VClock:
    """A put's new ``clock`` truncated the paper's way (4.4; ``vclock_truncation =
    "put"``): past ``threshold`` pairs the oldest go (least recently incremented by
    the clock's times, a pair with no time oldest, ties by node id), except
    ``entry``, the pair the put just incremented, which is the youngest."""
    if len(clock.pairs) <= threshold:
        return clock
    times = dict(clock.times)
    others = sorted((pair for pair in clock.pairs if pair[0] != entry),
                    key=lambda pair: (times.get(pair[0], -math.inf), pair[0]))
    keep = {entry, *(node for node, _ in others[len(others) - threshold + 1:])}
    return VClock.of({n: c for n, c in clock.pairs if n in keep},
                     {n: t for n, t in clock.times if n in keep})


def lww_version(record: Record, context: VClock, value: bytes, *, coordinator: str,
                now: float, hybrid: bool = True) -> Sibling:
    """The version an lww put of ``value`` writes over the stored ``record``: stamped
    ``max(now, after(context's stamp), after(stored stamp))`` (the hybrid logical
    clock), or ``now`` alone without ``hybrid`` (the naive wall-clock rule, under
    which the new version may lose to the stored one at its own coordinator)."""
    stamp = now
    seen = lww_stamp_of(context) if hybrid else None
    if seen is not None:
        stamp = max(stamp, _after(seen))
    for sibling in record.siblings if hybrid else ():
        stamp = max(stamp, _after(sibling.stamp))
    return Sibling(value, VClock(), stamp, coordinator)


def _client_pair_entry(record: Record, context: VClock, client_id: str, actor: str) -> str:
    """The entry a client-vclock put of ``client_id`` coordinated under ``actor``
    increments (:func:`spec.vclock.client_entry`): the pair's, if ``context`` covers
    every counter of it ``record`` holds, else the pair's first fresh entry whose
    stored counters it covers (the client did not read a put of its own through
    this coordinator: counting on would claim it, and the new version would
    dominate an acknowledged write it never saw). The spec's rule
    (``spec.clocks.put``, ``client_vclock_entry = "pair"``; session 23)."""
    fresh = 0
    while True:
        entry = client_entry(client_id, actor, fresh)
        stored = max((s.clock.counter(entry) for s in record.siblings), default=0)
        if context.counter(entry) >= stored:
            return entry
        fresh += 1


def apply_put(
    record: Record, context: VClock, value: bytes, *, coordinator: str, client_id: str,
    now: float, client_counter: int = 0, actor: str | None = None,
    truncation: Truncation | None = None, hybrid: bool = True, per_put: bool = False,
    counter_floor: int = 0,
) -> Record:
    """The coordinator's put: the stored ``record`` after writing ``value`` with the
    client's ``context``, versioned by the record's clock mode.

    ``actor`` (default ``coordinator``) is the id the coordinator mints dots
    (dvv) and clock entries (server-vclock) under: :func:`lifetime_actor`, so that
    a node that lost its disk never re-issues a dot. In dvv a put past a value of
    ``actor`` that ``context`` does not cover mints under the pair (``actor``,
    ``client_id``) instead (:func:`dot_actor`, session 29), so that the context it
    answers can cover its dot (:func:`written_context_pairs`). In client-vclock (session 23)
    the put increments the entry of (``actor``, ``client_id``)
    (:func:`spec.vclock.client_entry`), or the pair's first fresh entry whose
    counters in ``record`` the context covers (:func:`_client_pair_entry`: a put of
    the client through this coordinator that the client did not read), to one more
    than the largest of the context's counter of it, ``record.floor`` (the highest
    counter truncation dropped from the record, :func:`truncate`; session 16) and
    ``counter_floor`` (the highest counter of the records this node reaped,
    :func:`reaped_counter`, the ``CLIENT_FLOOR_META`` entry; session 19's probe).
    ``client_counter`` (the counter the client sent) counts for nothing: before
    session 23 the client's own entry was counted from it and from the client's
    highest counter in ``record``, and a client that forgot it, writing through a
    coordinator that missed its later version, re-used a dot (session 22's data
    probe: an acknowledged write lost). In lww
    the timestamp is the hybrid logical clock ``max(now, after(context's stamp),
    after(stored stamp))`` (seconds), or ``now`` alone without ``hybrid`` (the
    naive wall-clock rule). ``now`` is the coordinator's wall clock (seconds); in
    the vector-clock modes the pair the put increments is stamped
    ``max(now, after(every pair time of record))``, and a context pair ``record``
    holds no time for, or holds at a lower counter than the context, as that
    (session 15's probe and its review: a stamp by a clock behind, no stamp, or
    the stamp of an older increment made truncation drop what orders the put
    after its context), and
    ``truncation`` (vector-clock modes) is applied to the result and kept with it
    (:func:`truncate`, which also keeps in the new clock the own pairs of the
    versions the put supersedes and the context pairs it stamped as undated:
    session 30); with ``per_put`` only the new clock is truncated, past
    ``truncation.threshold`` pairs (:func:`truncate_new_clock`), and the record
    keeps no policy (merges do not truncate).
    """
    mode = record.mode
    actor = coordinator if actor is None else actor
    if mode is ClockMode.DVV:
        fresh = dvv.new_with_context(context, value)
        # the actor, or the pair (actor, client) past a value of the actor the
        # context does not cover (spec.dvv.dot_actor; session 29; a fresh pair past
        # one of the pair too, session 48, every client since session 59): the put's
        # answered context can then cover its new dot (written_context_pairs)
        actor = dot_actor(record, context, actor, client_id)
        updated = dvv.update(fresh, record.dvvset, actor)
        if value == TOMBSTONE:
            # A delete collapses the tombstones it is concurrent with into its own
            # (session 26: a DELETE retried with one context added a sibling per
            # try, 25 of them until reaped); the set's clock still covers their dots
            # (spec.dvv.drop_superseded, spec.clocks.put).
            updated = dvv.drop_superseded(updated, _is_tombstone, actor)
        return Record(mode, dvvset=updated)
    if mode is ClockMode.LWW:
        new = lww_version(record, context, value, coordinator=coordinator, now=now,
                          hybrid=hybrid)
        return Record(mode, (max((*record.siblings, new), key=_lww_key),))
    joined = _join(record)
    known = dict(joined.times)
    counters = dict(context.entries)
    if mode is ClockMode.SERVER_VCLOCK:
        stored = max((s.clock.counter(actor) for s in record.siblings), default=0)
        entry = actor
        counters[actor] = max(stored, counters.get(actor, 0)) + 1
    else:
        if not client_id:
            raise InvalidValueError("client-vclock mode needs a client_id on every put")
        entry = _client_pair_entry(record, context, client_id, actor)
        # Above every counter truncation dropped from the record (its floor) and every
        # counter of a record this node reaped or let go (``counter_floor``): the
        # record no longer holds them, a context read before may (sessions 15, 16
        # and 19's probes).
        counters[entry] = max(context.counter(entry), record.floor, counter_floor) + 1
    if counters[entry] > MAX_COUNTER:
        # A stored counter (or a peer's floor) at the u64 limit: the record's bytes
        # cannot hold the next one (session 16's review: struct.error out of the
        # engine, the key unwritable for every client once a floor got there).
        raise BadRequestError(f"the clock counter of {entry!r} for this key is at its "
                              f"limit ({MAX_COUNTER}): write under another client id")
    # The pair the put increments is the record's youngest whatever the
    # coordinator's wall clock says (a hybrid logical time, as lww's stamps): a
    # coordinator whose clock is behind would otherwise stamp it the oldest, and
    # truncation would drop the very pair that orders the new version after what
    # the client read (session 15's probe: an acknowledged write lost). A pair of
    # the context this node stores no time for (it missed the versions the client
    # read) is as young: with no time it would be the first truncated, and the new
    # version would no longer descend what the client read (a stale sibling). So is
    # a pair the context holds at a higher counter than this node stores: the time
    # this node holds is that of an older increment (session 15's review).
    stamp = max((now, *(_after(t) for t in known.values())))
    times = {node: known[node] if node in known and joined.counter(node) >= counter
             else stamp for node, counter in counters.items()}
    # The incremented pair strictly youngest: the context's pairs this node stores no
    # time for are stamped ``stamp`` too, and a tie would let truncation's tie-break
    # (by id) drop the very pair that orders the new version after its context
    # (session 23: with (actor, client) entries the ids sort otherwise than before).
    # In both modes since session 30: :func:`truncate` keeps each sibling's youngest
    # pair as its own (:func:`own_pair`), so the pair must be the youngest alone.
    times[entry] = _after(stamp)
    clock = VClock.of(counters, times)
    if per_put:
        if truncation is not None:
            clock = truncate_new_clock(clock, truncation.threshold, entry)
        return Record(mode, reconcile((*record.siblings,
                                       Sibling(value, clock, now, coordinator))))
    policy = _policy(record.truncation, truncation)
    # The own pairs of the versions the put supersedes stay in its clock, and so do
    # the context pairs it could not date (one of them is the own pair of the
    # version its client read, which this node did not store): a replica still
    # holding such a version then drops it when the new one arrives; without them it
    # would keep it as a false sibling (:func:`truncate`, session 30). Those of every
    # stored version, not only the ones the new clock dominates whole: one whose dot
    # the new clock covers goes only in truncation's pass (session 31, seed 46).
    keep = {own_pair(s.clock) or "" for s in record.siblings}
    keep |= {node for node, when in times.items() if when >= stamp}
    return truncate(Record(mode, reconcile((*record.siblings,
                                             Sibling(value, clock, now, coordinator))),
                           truncation=policy,
                           floor=max(record.floor, counter_floor) if policy else 0,
                           dropped=record.dropped if policy else ()),
                    keep=keep)


def replicated_part(before: Record, after: Record) -> Record:
    """What a coordinator sends its replicas after a put turned ``before`` into
    ``after``: in the vector-clock modes the new version alone (paper 4.5: the
    coordinator "sends the new version (along with the new vector clock)"); each
    replica reconciles it with what it stores. In dvv mode the whole DVVSet (its
    dots and causal past travel together) and in lww the winner, which is the record.
    The new version travels with ``after``'s truncation policy and its client-vclock
    ``floor`` (session 16's review: a replica that never held a truncated pair
    learnt no floor from the put that dropped it, and a forgetful client writing
    through it minted ``{alice: 1}`` under a stale context's ``{alice: 5}``).
    """
    if after.mode in _VCLOCK_MODES:
        new = tuple(sibling for sibling in after.siblings if sibling not in before.siblings)
        return (Record(after.mode, new, truncation=after.truncation, floor=after.floor)
                if new else after)
    return after


def merge(a: Record, b: Record) -> Record:
    """Combine two replicas' records of one key (commutative, idempotent; in dvv not
    commutative for two records holding one dot with different values, which only a
    dot minted twice makes, ``actor_epochs = False``: :func:`impl.read_repair.
    reconciled` folds a get's replies in a fixed order for that reason). In the
    vector-clock modes under a policy the result is truncated (:func:`truncate`)
    keeping the own pairs of both records' versions, those the merge reconciles
    away too, as :func:`apply_put` keeps those of the versions a put supersedes:
    else a replica holding a put's superseded versions dropped other pairs than its
    coordinator had, and kept what the put read as a false sibling (session 30's
    review)."""
    if a.mode is not b.mode:
        raise BadMessageError(f"cannot merge a {b.mode.value} record into a {a.mode.value} one")
    if b.is_empty:
        return a
    if a.is_empty:  # (before ``a == b``, which is false then: merge_all's first step)
        return b
    if a == b:
        return a
    if a.mode is ClockMode.DVV:
        return Record(a.mode, dvvset=dvv.sync(a.dvvset, b.dvvset))
    if a.mode is ClockMode.LWW:
        return Record(a.mode, (max((*a.siblings, *b.siblings), key=_lww_key),))
    policy = _policy(a.truncation, b.truncation)
    return truncate(Record(a.mode, reconcile((*a.siblings, *b.siblings)),
                           truncation=policy,
                           floor=max(a.floor, b.floor) if policy else 0,
                           dropped=_add_dropped(a.dropped, b.dropped) if policy else ()),
                    keep={own_pair(s.clock) or "" for s in (*a.siblings, *b.siblings)})


def merge_all(mode: ClockMode, records: Iterable[Record]) -> Record:
    result = Record.empty(mode)
    for record in records:
        result = merge(result, record)
    return result


def sibling_count(record: Record) -> int:
    if record.mode is ClockMode.DVV:
        return dvv.size(record.dvvset)
    return len(record.siblings)


# ---------------------------------------------------------------------------- actors

#: The meta entries of :func:`lifetime_actor` in the storage engine.
ACTOR_META = "actor"
LIFETIMES_META = "actor-lifetimes"
STORAGE_ID_META = "storage-id"
#: The meta entry of the key epoch table (:func:`key_actor`, :func:`read_key_epochs`).
KEY_EPOCHS_META = "key-epochs"
#: The meta entry of the client-vclock counter floor: the highest counter of any
#: record this node reaped or let go (:func:`reaped_counter`), decimal text; every
#: client-vclock put this node coordinates counts above it
#: (:func:`apply_put`'s ``counter_floor``).
CLIENT_FLOOR_META = "client-counter-floor"
#: The meta entry of the lww stamp floors: per key whose tombstone this node reaped
#: while the tombstone's stamp was ahead of the node's clock, that stamp; a line
#: ``<key in hex> <stamp as float.hex>`` each (:meth:`impl.replica.Replica.reap`,
#: :meth:`impl.replica.Replica.lww_now`; session 24).
LWW_FLOORS_META = "lww-stamp-floors"
#: The prefix of the per-key meta entries of the key epoch table before session 15
#: (``key-epoch:<key in hex>``, one per reaped key, for ever): no longer written nor
#: read (a store of an earlier version starts a new lifetime under ``vdynamo serve``,
#: where the entries count as none).
KEY_EPOCH_META = "key-epoch:"
_ACTOR_SUFFIX_HEX = 12
_ACTOR_ID_BYTES = 255  # the longest lifetime actor id (UTF-8)
#: The meta entry of the lifetime actors this store's node retired (each start
#: that took a new actor retires the one before: :func:`lifetime_actor`), the
#: newest :data:`RETIRED_KEPT`, as :func:`encode_retired` spells them; gossiped
#: (:class:`impl.retired.RetiredActors`), so that every node prunes their entries
#: from dvv records (:func:`prune_retired`; session 33).
RETIRED_META = "retired-actors"
#: The meta entry of the lifetime actor the store's last start minted, as
#: ``ACTOR_META``, which the runtime's group commit hides from a fresh lifetime
#: (``GroupCommit(fresh_lifetime=True)``: the actor is not to be reused) while the
#: next start must still retire it (:func:`lifetime_actor`)
MINTED_META = "actor-minted"
#: The meta entry of the rank of the lifetime actor the store's last start minted
#: (``MINTED_META``'s), decimal: the rank it is retired at by the next start, at
#: least (:func:`lifetime_rank`; session 49)
RANK_META = "actor-rank"
RETIRED_KEPT = 256
#: The most retired actors a gossip's ``retired`` field may name
#: (:func:`decode_retired`: more is a malformed frame).
RETIRED_WIRE_LIMIT = 4096
#: The bytes (ids and counters, about) of value-less entries of retired lifetimes
#: a dvv record keeps (:func:`prune_retired`): past them the oldest go. Half of
#: :data:`impl.config.SIBLING_OVERHEAD_BYTES` (the metadata the record limit allows
#: a one-value record), 22 entries of short node names (``n1~<12 hex>`` and a
#: counter: 23 bytes), so that pruning runs only on records that gathered many,
#: and a stale copy comes back as a false sibling only if it missed the puts of
#: that many later lifetimes.
RETIRED_BYTES_KEPT = 512
#: The newest retired lifetimes of each node whose value-less entries a record keeps
#: whatever their bytes (session 39): with long client ids (pair entries of up to
#: 255 characters) one lifetime's entries alone pass :data:`RETIRED_BYTES_KEPT`, and
#: the byte budget then dropped the entries of a node's lifetime just retired, so a
#: replica down across a delete of siblings written in it brought them back (3
#: nodes, one restart: tests/impl/test_prune_emptied_entries.py)
RETIRED_NEWEST_KEPT = 1
#: The meta entry of the clock mode a store's records and hints are written in (the
#: ``clock`` setting of its first start since session 26), ASCII: :func:`check_store_clock`.
STORE_CLOCK_META = "clock-mode"


def check_store_clock(storage: Storage, mode: ClockMode) -> None:
    """Refuse to start a node in clock ``mode`` on a store written in another mode.

    A record's encoding and its versions belong to the clock mode that wrote it: a
    node started with ``clock = "lww"`` on a dvv store (or the reverse) cannot
    decode its own records (session 26's review of the service probe: a node run
    once with lww beside dvv nodes, then back on dvv, answered its lww keys' gets
    500 and logged a traceback on every replica put of them). The mode is recorded
    in the store's ``STORE_CLOCK_META`` entry at its first start; a store of an
    earlier version (no entry) takes the mode it is started with, as it had no way
    to say otherwise. Raises ConfigError naming both modes (nothing in the store is
    changed); StorageError as the engine does.
    """
    kept = storage.get_meta(STORE_CLOCK_META)
    if kept is None:
        storage.set_meta(STORE_CLOCK_META, mode.value.encode("ascii"))
        return
    if kept != mode.value.encode("ascii"):
        shown = kept.decode("ascii", "replace")[:40]
        raise ConfigError(
            f"clock: this node's store was written with clock = {shown!r}, the "
            f"configuration says {mode.value!r}; its records cannot be read in another "
            f"mode: start it with clock = {shown!r}, or on an empty data directory "
            f"(every replica's copy comes back by anti-entropy and read repair)")


def lifetime_actor(storage: Storage, name: str, *, seed: int, now: float,
                   epochs: bool = True, per_start: bool = True) -> str:
    """The actor id node ``name`` mints dots and clock entries under, for the
    lifetime of its storage (Riak's per-vnode id and epochs against kv679).

    Without ``epochs`` it is ``name`` itself (the naive behaviour the checker's
    counterexample needs). With them it is ``name~<12 hex digits>``, stored in the
    storage's meta table. With ``per_start`` (the default,
    ``ClusterConfig.actor_per_start``) every start gets a new id, whatever the
    engine: a store cannot prove locally that it kept every write the node made,
    since a disk restored from an older backup is self-consistent (its actor and
    counters are those of the backup, and it would mint again the dots minted
    since, which the other replicas hold). Without ``per_start`` the stored id is
    reused while the store claims to have kept every write: a new store (a
    replaced disk: no actor in it) gets a new id, and so does every start on a
    ``buffered`` engine (a crash may have lost the local copy of a dot other
    replicas hold), but a restart of a durable engine keeps it (the spec's
    ``Recover``; a restored backup then loses writes). The id hashes ``name``,
    ``seed``, ``now``, a per-store start count and the engine's ``storage-id``
    meta entry (random bytes the SQLite engine writes when it creates a file), so
    a new lifetime's id differs from every earlier one (a reap begins a key epoch
    instead: :func:`key_actor`); a restored backup repeats the count and the
    ``storage-id``, so there the start time ``now`` tells the ids apart. The id it
    replaces, if of this node's name, is *retired* for good: kept in the store's
    ``RETIRED_META`` entry with its rank (:func:`lifetime_rank`, kept in
    ``RANK_META`` when it was minted: its start time in milliseconds or the store's
    start count, whichever is higher, and above every lifetime of its node the store
    retired or heard of), the
    newest :data:`RETIRED_KEPT` (:func:`read_retired`), which the node gossips so
    that dvv records drop its value-less entries (:func:`prune_retired`; session
    33). The id is flushed before it is returned: it is durable before any dot
    minted under it leaves the node. Names too long to fit a context's 255-byte id once suffixed
    are replaced by a digest. Raises StorageError as the engine does.
    """
    if not epochs:
        return name
    buffered = getattr(storage, "fsync", "always") == "buffered"
    kept = storage.get_meta(ACTOR_META)
    if kept is not None and not buffered and not per_start:
        return kept.decode("utf-8")
    lifetimes = int(storage.get_meta(LIFETIMES_META) or b"0") + 1
    # the actor this start replaces: the runtime's group commit hides ACTOR_META from
    # a fresh lifetime (impl.storage.group_commit), not MINTED_META (session 33)
    previous = storage.get_meta(MINTED_META) or kept
    retired_at = 0
    if previous is not None:
        # ranked above every lifetime of this node the store retired or heard of
        # (session 48): a replaced disk counts its starts from 1 again, and its
        # first lifetime, retired at rank 1, tied with the one the old disk retired
        # at rank 1; ties going by name, pruning could take the newer for the older
        # and drop the entries of the lifetime just retired (docs/dvv.md, "Review of
        # the shared id's fresh pairs (session 48, review)", seed 141)
        # (none known: the count alone, so that a store written before the start
        # count was kept still retires its actor at rank 0)
        highest = _highest_own_rank(storage, name)
        if highest:
            lifetimes = max(lifetimes, highest + 2)
        # and at least at the rank its own start took (session 49: the start's clock,
        # so that a replaced disk that heard nothing still ranks above the old disk)
        retired_at = max(lifetimes - 1, _stored_rank(storage))
        # a rank stays below 2**63 (decode_retired refuses more, and read_retired
        # then forgets every retirement of the store: session 48's review, a peer
        # gossiping a lifetime of this node at 2**63 - 1); saturated ranks tie, by name
        _retire(storage, name, previous.decode("utf-8"), min(retired_at, _MAX_RANK))
    entropy = storage.get_meta(STORAGE_ID_META) or b""
    digest = hashlib.sha256(repr((name, seed, float(now), lifetimes)).encode("utf-8")
                            + entropy).hexdigest()[:_ACTOR_SUFFIX_HEX]
    actor = f"{_actor_prefix(name)}~{digest}"
    storage.set_meta(LIFETIMES_META, str(lifetimes).encode())
    storage.set_meta(ACTOR_META, actor.encode("utf-8"))
    storage.set_meta(MINTED_META, actor.encode("utf-8"))
    rank = lifetime_rank(now, lifetimes, retired_at + 1, _highest_own_rank(storage, name) + 1)
    storage.set_meta(RANK_META, str(rank).encode())
    storage.flush()
    return actor


#: The storage meta entry of the retired actors a node heard of from gossip
#: (:func:`encode_retired`'s text; :class:`impl.retired.RetiredActors` keeps it).
RETIRED_KNOWN_META = "retired-known"


#: The highest rank a retirement is stored at (:func:`decode_retired` refuses 2**63)
_MAX_RANK = (1 << 63) - 1
#: Ranks from this on are not counted by :func:`_highest_own_rank`: no store reaches
#: them by counting its starts, so only a forged or corrupt retirement names one
#: (session 48's review: one peer's gossip pushed a node's ranks to 2**63)
_RANK_TRUSTED_BELOW = 1 << 62


def lifetime_rank(now: float, *floors: int) -> int:
    """The rank of a lifetime actor minted at ``now`` (seconds; the node's clock, the
    wall clock under ``vdynamo serve``): its start time in whole milliseconds, or
    the highest of ``floors`` if that is higher (the store's start count, one above
    the lifetime just retired and above every lifetime of the node the store knows
    of: the ranks one store gives its lifetimes only go up, whatever its clock does).
    A ``now`` that is negative, not finite or past :data:`_RANK_TRUSTED_BELOW`
    milliseconds counts as 0 (the floors alone).

    Session 49 (docs/dvv.md, "A replaced disk's first lifetime ranks by its clock"):
    a rank counted only the store's starts (session 33) and what the store heard of
    its node's ranks (session 48), so a replaced disk restarted before a peer told it
    anything retired its first lifetime at rank 1, below the lifetimes the old disk
    had retired, and pruning, oldest rank first, dropped the newest lifetime's
    entries (seed 24 of ``bench/retired_rank_histories.py``: eight superseded values
    back). The start time orders a node's lifetimes across its disks, as Cassandra's
    heartbeat generation (``SystemKeyspace.incrementAndGetGeneration``: the start's
    seconds, or one above the last) and Riak's vnode ids (node id and start time,
    ``riak_kv_vnode_status_mgr:assign_vnodeid``; OpenRiak riak_kv #47's
    ``next_vnode_epoch``: at least the current time, above every earlier one), and
    riak_core's ``vclock:prune`` drops the entries of the oldest timestamps first.
    A replacement host whose clock is behind the old one's ranks its first lifetimes
    below the old disk's again (the cost: superseded values a stale copy brings back,
    never an acknowledged write lost; only value-less entries of retired lifetimes
    are pruned) until it hears of the old disk's: then it re-ranks them above
    (session 54, :meth:`impl.retired.RetiredActors.take`; docs/dvv.md, "Seed 24 a
    day behind")."""
    clock = now * 1000.0
    millis = int(clock) if 0.0 <= clock < _RANK_TRUSTED_BELOW else 0  # (NaN: False)
    return max(millis, *floors)


def _stored_rank(storage: Storage) -> int:
    """The rank the store's last start gave the lifetime it minted (:data:`RANK_META`);
    0 for none (a store written before session 49), a malformed entry or a rank of
    :data:`_RANK_TRUSTED_BELOW` or more (session 49's review: a corrupt entry past
    2**63 had the lifetime it names retired at 2**63 - 1, and every later one at its
    count below it, or at 2**63 - 1 too; the store's count keeps its ranks going up)."""
    raw = storage.get_meta(RANK_META) or b""
    rank = int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 19 else 0
    return rank if rank < _RANK_TRUSTED_BELOW else 0


def _highest_own_rank(storage: Storage, name: str) -> int:
    """The highest rank of node ``name``'s retired lifetimes that ``storage`` holds:
    those it retired (:data:`RETIRED_META`) and those it heard of
    (:data:`RETIRED_KNOWN_META`); 0 for none (a malformed entry counts as none, and
    so does a rank of :data:`_RANK_TRUSTED_BELOW` or more)."""
    prefix = _actor_prefix(name)
    ranks = [0]
    for key in (RETIRED_META, RETIRED_KNOWN_META):
        try:
            known = decode_retired(storage.get_meta(key) or b"", 1 << 20)
        except BadMessageError:
            continue
        ranks.extend(rank for actor, rank in known.items()
                     if actor.rpartition("~")[0] == prefix and rank < _RANK_TRUSTED_BELOW)
    return max(ranks)


def _actor_prefix(name: str) -> str:
    """The part of node ``name``'s lifetime actors before ``~``: ``name``, or its
    digest when ``name`` is too long to be suffixed (:func:`lifetime_actor`)."""
    if len(name.encode("utf-8")) > _ACTOR_ID_BYTES - 1 - _ACTOR_SUFFIX_HEX:
        return hashlib.sha256(name.encode("utf-8")).hexdigest()[:32]
    return name


def is_lifetime_actor(actor: str) -> bool:
    """Whether ``actor`` is spelled as :func:`lifetime_actor` spells one:
    ``<prefix>~<12 lowercase hex digits>``, the prefix non-empty, at most 255 bytes
    in UTF-8 (a context's id: :func:`lifetime_actor` replaces a longer name by a
    digest; a gossip naming longer ones is malformed, session 33's review: a peer's
    4096 actors of 16 KiB each were kept and gossiped on by every node)."""
    prefix, tilde, digest = actor.rpartition("~")
    return (bool(prefix and tilde) and len(actor.encode("utf-8")) <= _ACTOR_ID_BYTES
            and len(digest) == _ACTOR_SUFFIX_HEX
            and all(c in "0123456789abcdef" for c in digest))


def _retire(storage: Storage, name: str, kept: str, lifetime: int) -> None:
    """Node ``name`` takes a new lifetime actor in place of ``kept`` (minted at its
    store's start count ``lifetime``): ``kept`` is retired for good (no start reuses
    an actor it replaced, :func:`lifetime_actor`), and the store's ``RETIRED_META``
    entry keeps it, the newest :data:`RETIRED_KEPT` of them (:func:`read_retired`).
    An actor of another node's name (a store copied from another node) is not this
    node's to retire and is left out."""
    if not is_lifetime_actor(kept) or kept.rpartition("~")[0] != _actor_prefix(name):
        return
    retired = read_retired(storage)
    retired[kept] = max(lifetime, retired.get(kept, 0))
    newest = sorted(retired.items(), key=lambda item: (item[1], item[0]))[-RETIRED_KEPT:]
    storage.set_meta(RETIRED_META, encode_retired(dict(newest)))


def encode_retired(retired: Mapping[str, int]) -> bytes:
    """The text of retired lifetime actors (:data:`RETIRED_META`, the gossip's
    ``retired`` field): a line ``<rank> <actor>`` each, sorted; ``rank`` the rank
    the actor was minted at (:func:`lifetime_rank`: its start time in milliseconds,
    or its store's start count if higher; :func:`lifetime_actor`), which orders one
    node's lifetimes (ranks of different nodes are not compared; a restored backup
    may repeat a rank: ties go by the actor's id). UTF-8."""
    return "\n".join(f"{rank} {actor}" for actor, rank in
                     sorted(retired.items(), key=lambda item: (item[1], item[0]))).encode()


def decode_retired(raw: bytes, limit: int = RETIRED_WIRE_LIMIT) -> dict[str, int]:
    """The retired lifetime actors ``raw`` (:func:`encode_retired`) names: actor ->
    rank. Raises BadMessageError for text that is not UTF-8, a line that is not
    ``<rank> <actor>`` with the rank a decimal int in [0, 2**63) and the actor
    spelled as :func:`is_lifetime_actor` says, or more than ``limit`` lines."""
    if not raw:
        return {}
    try:
        lines = raw.decode("utf-8").split("\n")
    except UnicodeDecodeError as error:
        raise BadMessageError(f"retired actors: not UTF-8 ({error})") from None
    if len(lines) > limit:
        raise BadMessageError(f"retired actors: {len(lines)} of them, over {limit}")
    retired: dict[str, int] = {}
    for line in lines:
        rank, _, actor = line.partition(" ")
        if not (rank.isascii() and rank.isdigit() and len(rank) <= 19
                and int(rank) < 1 << 63 and is_lifetime_actor(actor)):
            raise BadMessageError(f"retired actors: malformed line {line[:80]!r}")
        retired[actor] = max(int(rank), retired.get(actor, 0))
    return retired


def read_retired(storage: Storage) -> dict[str, int]:
    """The lifetime actors this store's node retired (:data:`RETIRED_META`): actor ->
    rank (:func:`encode_retired`), the newest :data:`RETIRED_KEPT`; a malformed
    entry counts as none (forgetting a retirement only prunes less). Raises
    StorageError as the engine's ``get_meta`` does. The dict is the caller's."""
    try:
        return decode_retired(storage.get_meta(RETIRED_META) or b"", RETIRED_KEPT + 1)
    except BadMessageError:
        return {}


def _entry_lifetime(entry: str) -> str:
    """The lifetime actor an entry id of a dvv record was minted under: the actor of
    a pair (actor, client) (:func:`spec.vclock.entry_actor`), less a key epoch's
    ``.<digits>`` (:func:`key_actor`)."""
    actor = entry_actor(entry) or entry
    head, dot, epoch = actor.rpartition(".")
    if dot and epoch.isascii() and epoch.isdigit() and is_lifetime_actor(head):
        return head
    return actor


def _retired_bytes(entry: dvv.Entry[bytes]) -> int:
    """What an entry takes in a record's bytes, about: its id and its counter."""
    return len(entry.id.encode("utf-8")) + 8


def prune_retired(record: Record, retired: Mapping[str, int], *,
                  live: Iterable[str] = (), budget: int = RETIRED_BYTES_KEPT,
                  keep: int | None = None, newest_kept: int = RETIRED_NEWEST_KEPT) -> Record:
    """``record`` less the dvv entries that hold no value and were minted under a
    lifetime actor its owner declared retired (``retired``: actor -> rank,
    :func:`encode_retired`), the oldest first, until such entries take at most
    ``budget`` bytes (ids and counters, about); the record itself in the other
    modes, or while they fit. *Oldest*: a retired lifetime's age is its place
    among the retired lifetimes of its node (the actor's prefix) that ``record``
    holds an entry of, by rank, the newest 0; the lifetimes of the highest place
    go first (all of them, each with its key epochs and pairs with clients), ties
    by node and actor.

    Session 33: with an actor per start (``ClusterConfig.actor_per_start``) each
    lifetime that coordinated a put of a key left an entry in its DVVSet, holding
    no value once a later put superseded it, and none was ever pruned: the record of
    one 3008-byte value outgrew ``max_record_bytes`` 4096 at the 38th restarted
    coordinator, and every later put was refused. A retired actor mints no dot again
    (no start reuses an actor it replaced), so dropping its entry cannot make a
    node re-mint a dot a replica's clock covers (kv679); an entry of a live actor
    (a node's current lifetime, its key epochs ``<lifetime>.<e>``, its pairs with
    clients) is never dropped, nor one of an actor not declared retired, nor one
    holding a value (a sibling), nor one of ``live`` (the pruning node's own
    current actor: a guard against a retirement known wrongly).

    The cost (Riak's: pruning "may cause siblings", riak_core #613): a stale copy of
    a value whose dot only a dropped entry covered comes back when it meets the
    pruned record -- a false sibling, or, over a tombstone, the deleted value back
    until a delete or a put with its context supersedes it again. Pruning only past
    the budget keeps the newest retired lifetimes (about 22 of short node names:
    :data:`RETIRED_BYTES_KEPT`), so a record holding few is never pruned, and only
    a copy that missed the puts of that many later lifetimes can come back.
    Deterministic: the result depends on ``record``, ``retired``, ``live`` and
    ``budget`` only, and pruning a pruned record changes nothing.

    ``keep`` (an int >= 0; ``ClusterConfig.retired_keep``, session 34) replaces the
    byte budget by a count, the spec's (:func:`spec.retired.prune_retired`): the
    value-less entries of every lifetime whose age (as above) is ``keep`` or more
    go, whatever they take; ``budget`` and ``newest_kept`` are then not read. The
    refinement harness's setting, so that the lockstep compares the two rules on
    small graphs.

    ``newest_kept`` (session 39; :data:`RETIRED_NEWEST_KEPT`): under the byte budget
    the lifetimes of an age below it are kept whatever their bytes, so that a node's
    lifetime just retired is never pruned: with long client ids its pair entries
    alone passed the budget, and a replica down across one delete of siblings
    written in that lifetime brought them back (a stale copy of one write, not of 22
    lifetimes). The spec's count with ``keep`` >= 1 keeps as much.
    """
    if record.mode is not ClockMode.DVV or not retired:
        return record
    entries = record.dvvset.entries
    live = set(live)
    lifetimes = [_entry_lifetime(entry.id) for entry in entries]
    held: dict[str, set[str]] = {}
    costs: dict[str, int] = {}
    for entry, lifetime in zip(entries, lifetimes, strict=True):
        if lifetime in retired and lifetime not in live:
            held.setdefault(lifetime.rpartition("~")[0], set()).add(lifetime)
            if not entry.values:
                costs[lifetime] = costs.get(lifetime, 0) + _retired_bytes(entry)
    spent = sum(costs.values())
    if keep is None and spent <= budget:
        return record
    ages: list[tuple[int, str, str]] = []
    for node, of in held.items():
        ranked = sorted(of, key=lambda lifetime: (retired[lifetime], lifetime), reverse=True)
        ages.extend((age, node, lifetime) for age, lifetime in enumerate(ranked))
    gone: set[str] = set()
    if keep is not None:  # the spec's count (session 34)
        gone = {lifetime for age, _, lifetime in ages if age >= keep and lifetime in costs}
        if not gone:
            return record
    for age, _, lifetime in sorted(ages, reverse=True) if keep is None else ():
        if spent <= budget:
            break
        if lifetime in costs and age >= newest_kept:
            gone.add(lifetime)
            spent -= costs[lifetime]
    kept = tuple(entry for entry, lifetime in zip(entries, lifetimes, strict=True)
                 if entry.values or lifetime not in gone)
    return Record(record.mode, dvvset=dvv.DVVSet(kept, record.dvvset.anonymous))


def retired_among(records: Iterable[Record], retired: Mapping[str, int]) -> dict[str, int]:
    """The retired lifetime actors of ``retired`` (actor -> rank) that minted an entry
    of one of the dvv ``records``: what a node sending those records tells the
    receiver (the ``retired`` field of :class:`impl.messages.ReplicaPut`,
    :class:`~impl.messages.ReadRepair`, :class:`~impl.messages.HintDelivery`,
    :class:`~impl.messages.KeyRecords`), so that the receiver's merge prunes the
    same entries (session 33). Empty in the other modes."""
    if not retired:
        return {}
    told: dict[str, int] = {}
    for record in records:
        if record.mode is not ClockMode.DVV:
            continue
        for entry in record.dvvset.entries:
            lifetime = _entry_lifetime(entry.id)
            rank = retired.get(lifetime)
            if rank is not None:
                told[lifetime] = rank
    return told


def read_key_epochs(storage: Storage, lifetime: str) -> tuple[int, dict[bytes, int]]:
    """The key epoch table of the storage lifetime ``lifetime`` (:func:`key_actor`):
    (the node-wide epoch counter, the pinned keys: key -> the epoch to mint it
    under), from ``storage``'s meta entry ``KEY_EPOCHS_META``, the text
    ``<lifetime> <counter>`` then a line ``<key in hex> <epoch>`` per pinned key.
    An entry of another lifetime, or none, is (0, {}). Raises StorageError as the
    engine's ``get_meta`` does. The dict returned is the caller's."""
    raw = storage.get_meta(KEY_EPOCHS_META)
    if raw is None:
        return 0, {}
    head, *lines = raw.decode("utf-8").split("\n")
    of, _, counter = head.rpartition(" ")
    if of != lifetime:
        return 0, {}
    return int(counter), {bytes.fromhex(k): int(e)
                          for k, _, e in (line.partition(" ") for line in lines)}


def _write_key_epochs(storage: Storage, lifetime: str, counter: int,
                      pinned: dict[bytes, int]) -> None:
    lines = [f"{lifetime} {counter}", *(f"{k.hex()} {e}" for k, e in sorted(pinned.items()))]
    storage.set_meta(KEY_EPOCHS_META, "\n".join(lines).encode("utf-8"))


def _epoch_actor(lifetime: str, epoch: int) -> str:
    return f"{lifetime}.{epoch}" if epoch else lifetime


def _epoch_of(actor: str, lifetime: str) -> int | None:
    """The key epoch ``actor`` is of the lifetime actor ``lifetime`` (0: ``lifetime``
    itself, e: ``<lifetime>.<e>`` with e in ASCII digits; None: another actor). (Any
    Unicode digit passed ``str.isdigit`` until session 31's review: a peer's entry
    ``n1.²`` made ``int`` raise ValueError, ``n1.٣`` counted as epoch 3.)"""
    if actor == lifetime:
        return 0
    rest = actor[len(lifetime) + 1:]
    if actor.startswith(lifetime + ".") and rest.isascii() and rest.isdigit():
        return int(rest)
    return None


def _own_actors(record: Record, lifetime: str) -> dict[str, int]:
    """The actors of the lifetime ``lifetime`` (itself and its key epochs) with a
    counter in ``record``'s context, each with its key epoch."""
    own: dict[str, int] = {}
    # (the pairs without building the clock in dvv; an entry of the lifetime's begins
    # with it, since an entry's actor is a prefix of the entry: the others are skipped
    # before they are parsed, session 31). In dvv the set's entries are read as they
    # are, not as context_pairs' sorted tuple (session 42): an actor's epoch depends
    # on the actor alone, so the order the entries come in changes nothing.
    pairs: Iterable[tuple[str, int]] = (
        [(entry.id, entry.counter) for entry in record.dvvset.entries]
        if record.mode is ClockMode.DVV else context_pairs(record))
    for entry, counter in pairs:
        if not counter or not entry.startswith(lifetime):
            continue
        actor = entry_actor(entry) or entry  # a client-vclock (actor, client) entry's actor
        epoch = _epoch_of(actor, lifetime)
        if epoch is not None:
            own[actor] = epoch
    return own


def counts_actor(record: Record, actor: str) -> bool:
    """Whether ``record``'s clocks hold a counter ``actor`` minted: a dvv or
    server-vclock entry of it, or a client-vclock (actor, client) entry of it
    (:func:`spec.vclock.client_entry`): one the node would mint again once the copy
    is gone (a reap begins a key epoch then: :func:`renew_key_actor`)."""
    return any(counter and (entry == actor or entry_actor(entry) == actor)
               for entry, counter in context_clock(record).pairs)


def own_epoch(record: Record, lifetime: str) -> int | None:
    """The highest key epoch of the lifetime actor ``lifetime`` whose counter
    ``record``'s context holds (0: ``lifetime`` itself; None: no counter of it)."""
    own = _own_actors(record, lifetime)
    # (not ``max(..., default=None)``: CPython 3.11 parses max's keyword slowly, about
    # 2.5 us a call on the CI machine, more than the rest of an empty record's answer)
    return max(own.values()) if own else None


def key_actor(storage: Storage, lifetime: str, key: bytes, local: Record) -> str:
    """The actor a node whose storage lifetime's actor is ``lifetime``
    (:func:`lifetime_actor`) mints ``key`` under, its local copy of ``key`` being
    ``local`` (the empty record: none): ``<lifetime>.<e>`` (``lifetime`` itself for
    e = 0), e the key's *key epoch*:

    - the pinned epoch, if ``key`` is pinned (a stale copy came back:
      :func:`note_key_merge`);
    - else the highest key epoch of ``lifetime`` whose counter ``local`` holds (the
      epoch the node last minted the key under; Riak's ``highest_actor``);
    - else (the key absent locally, or holding no counter of this lifetime) the
      node-wide epoch counter (Riak's ``new_key_epoch``: "any time a key is
      (re)created").

    Why the last is fresh: the counter is bumped whenever a reap or a let-go
    removes a copy holding a counter of the key's epoch (:func:`renew_key_actor`),
    so every dot this node minted for a key it no longer holds is of an epoch below
    the counter; and the counter only grows. The table (``KEY_EPOCHS_META``, one
    meta entry: no per-key state for a reaped key; before session 15 a
    ``key-epoch:<key>`` entry per reaped key, for ever) survives a restart; a
    replaced disk forgets it with everything else, when a new lifetime actor takes
    over; a table of an earlier lifetime counts as empty. Riak's per-key epochs
    (basho/riak_kv, ``riak_kv_vnode``'s ``new_key_epoch`` and ``highest_actor``;
    kv679). Raises StorageError as the engine's ``get_meta`` does."""
    counter, pinned = read_key_epochs(storage, lifetime)
    epoch = pinned.get(key)
    if epoch is None:
        epoch = own_epoch(local, lifetime)
    return _epoch_actor(lifetime, counter if epoch is None else epoch)


def renew_key_actor(storage: Storage, lifetime: str, key: bytes, *, held: bool = True) -> str:
    """A reap or a let-go removed this node's copy of ``key`` (:mod:`impl.reaping`);
    ``held``: the copy held a counter of the key's actor. Then the node-wide epoch
    counter is bumped (the key's next actor, once absent, is
    ``<lifetime>.<counter>``: no dot of it was minted for any key); either way the
    key is no longer pinned. Returns the key's actor from now on (the key being
    absent). The entry is written through ``storage`` (the node's staged view:
    durable before any dot minted under it leaves the node), only if it changes."""
    counter, pinned = read_key_epochs(storage, lifetime)
    was_pinned = pinned.pop(key, None) is not None
    if held:
        counter += 1
    if held or was_pinned:
        _write_key_epochs(storage, lifetime, counter, pinned)
    return _epoch_actor(lifetime, counter)


def reaped_counter(record: Record) -> int:
    """The highest counter ``record``'s clocks and truncation floor hold (0: none):
    what a node forgets of a key's client-vclock counters when it removes its copy
    (a reap, a let-go). The node keeps the largest in ``CLIENT_FLOOR_META``
    (:meth:`impl.replica.Replica.reap`) and counts every client-vclock put above it
    (:func:`apply_put`'s ``counter_floor``), as Riak's vnodes begin a new key epoch
    at a reap (:func:`key_actor`): without it, a client that forgot its counter
    writing a reaped key again was minted ``{client: 1}``, and a put with a context
    read before the delete dominated its acknowledged write on every replica
    (session 19's probe; the client-side kv679). One node-wide number, not one per
    key or client: a reaped key leaves no row behind (session 15's rule for key
    epochs), and the counters after a reap only grow larger, which is harmless."""
    return max((record.floor, *(counter for _, counter in _join(record).pairs)))


def note_key_merge(storage: Storage, lifetime: str, key: bytes, before: Record,
                   after: Record) -> None:
    """A merge replaces this node's copy ``before`` of ``key`` (the empty record:
    none) by ``after`` (a replica write, read repair, handoff, anti-entropy). If
    ``before`` holds no counter of this lifetime's actors and ``after`` holds one
    of a key epoch below the node-wide counter, a copy of an epoch the node forgot
    came back (a stale copy after a reap, a let-go key handed back): the key is
    *pinned* to the counter, the actor it had before the merge, which no dot of
    the key was minted under, so the node never mints again a dot it minted before
    the reap (kv679; Riak's rule alone, the local copy's highest epoch, would
    continue the stale copy's epoch). A pinned key's entry goes when its copy is
    reaped or let go. Not covered (as before): a copy holding counters this
    lifetime minted and the local copy lost without a reap, which only a store
    restored with its actor kept makes (``actor_per_start = false``; docs/impl.md,
    "Disk loss and key amnesia").

    Truncation (vector-clock modes, :func:`truncate`) forgets counters too: if
    ``after`` is not empty, carries a truncation policy and lacks a pair of this
    lifetime's actors that ``before`` holds, the node-wide counter is bumped, as
    a reap would, and the key pinned to it if ``after`` still holds a counter of
    another epoch of the lifetime (which :func:`key_actor` would continue). Else
    the pair's counter is gone from the copy, the next put counts from below it
    and mints again a dot the node issued, which a replica or a client context
    still holding the pair covers (session 15's probe, docs/runtime.md
    "(trunc)": a context read before the truncation superseded a later
    acknowledged write it never saw). Reads the table only then, or when
    ``after`` holds a counter of this lifetime and ``before`` none."""
    if own_epoch(before, lifetime) is not None:
        if (after.truncation is not None and not after.is_empty
                and _own_actors(before, lifetime).keys() - _own_actors(after, lifetime).keys()):
            counter, pinned = read_key_epochs(storage, lifetime)
            pinned.pop(key, None)
            if own_epoch(after, lifetime) is not None:  # else the counter's epoch
                pinned[key] = counter + 1
            _write_key_epochs(storage, lifetime, counter + 1, pinned)
        return
    new = own_epoch(after, lifetime)
    if new is None:
        return
    counter, pinned = read_key_epochs(storage, lifetime)
    if key in pinned or new >= counter:
        return
    pinned[key] = counter
    _write_key_epochs(storage, lifetime, counter, pinned)
