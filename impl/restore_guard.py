"""The restore guard: a node whose store is older than one the cluster saw (restored
from a backup, or a copy of another start's store) sets its versions and hints
aside instead of spreading them (docs/runtime.md, "A restored store after a
reap"; session 13's probe: a backup restored after a reap brought the deleted
value back).

*Generations.* Every start of a store is a *generation* ``"<incarnation>.<token>"``:
the store's start count (the ``incarnation`` meta entry, counted at every start,
:class:`impl.node.Node`) and a token drawn for the start (a digest of the node's
name, its seed, the start time and the store's ``storage-id``). A restored store
repeats the backup's count, never the token of a start the cluster saw. Each
gossip carries the sender's generation and the last one the sender heard of the
receiver (``Gossip.generation``, ``Gossip.yours``); each node keeps the last
generation it heard of each peer (one meta entry, ``peer-generations``).

*A rollback.* A node told a generation of its own store later than its own (a
higher count, or its count with another token) runs a store older than one the
cluster saw: it removes its versions and hints (the other replicas hold every
write acknowledged since the backup, W copies, and nothing of a key reaped since:
anti-entropy and read repair rebuild it, as a replaced disk is rebuilt), takes a
generation above the one it was told, and a new lifetime actor (it no longer
holds the counters of its earlier ones: kv679). A store that held nothing at its
start (a replaced disk, a new node, and its later starts while it holds nothing
and no peer named one: :class:`impl.node.Node`'s ``_fresh``,
:data:`FRESH_UNCONFIRMED_META`; and while it holds only what it took before any
peer told it, restarted or not: :data:`OWN_TOKEN_META`, session 53) only takes the
later generation: nothing in it predates its start, and a write acknowledged
through it since is kept (session 15's review); it is then a replaced disk,
*rebuilding* until anti-entropy rebuilt it (:mod:`impl.rebuild`; a fresh member
asks every live peer at its start so that it is told within a round trip). A peer
that hears a rolled-back generation of a node takes nothing from it but gossip
until it hears a later one.

*Generations relayed* (session 50; Cassandra's endpoint states, each with its
generation, reach every node by gossip, ``Gossiper``/``EndpointState``, as the
heartbeats do here, ``Gossip.beats``). A node hears a peer's generation directly,
and also from every other peer: each gossip carries the generations its sender
heard (``Gossip.generations``, :func:`generations_to_bytes`), and a receiver takes
one of a third node that is later than the one it heard (a higher count:
:meth:`RestoreGuard.on_relayed`), never a rollback of it (a relay may be old news).
So a start of a node is remembered while any live node heard it: once both peers of
a cut-off node were replaced, each rebuilt from the other, the second heard the
node's last start from the first, and tells a backup of it put back later that its
store is older (before session 50 nobody remembered it, and the backup's deleted
value came back: ``tests/impl/test_restore_after_wipe.py``). A relayed generation
of the receiver itself is its ``yours`` again (the sender's last of it), not read.

*Anti-entropy carries the generation.* Anti-entropy is what spreads every key of
a store at once, and a restored node may run a round before any gossip: so its
messages (``MerkleExchange``, ``KeyRecords``), and its hint deliveries
(``HintDelivery``: a restored fallback's hints predate its restore; session 15's
review), carry the sender's generation too,
and a peer refuses one from a store older than one it heard of (and gossips back
what it heard, which sets the store aside).

*The shadow round* (session 16; Cassandra's startup shadow round). A replica
read of the restored store, or a get or put through it, before a peer told it
would spread the old value (a get with R = 3 read-repaired it everywhere). So a
restarted store that heard of peers before gossips with every other live member
first and defers every input but gossip (:class:`ShadowState`, at most
:data:`SHADOW_DEFERRED_LIMIT` requests and messages) until each one gossiped
back, a peer answering the first gossip of a start it had not heard of; a peer
that heard a later start says so, and the store is set aside before anything
is served (:meth:`impl.node.Node.start`). The window left: when no peer answers
within ``shadow_round_s`` (all down or cut off) the node serves its store
unconfirmed (``shadow-round-timeout``). A set-aside then keeps the keys first
written since the timeout that the store did not hold (:meth:`RestoreGuard.on_write`:
nothing in them predates the start), so a W = 1 write acknowledged through a
cut-off restored node survives; a write of a key the store held goes with it.

*A file mispaired with its log* (session 59) never reaches the guard: SQLite lays a
write-ahead log over whatever file sits beside it, so a backup put back beside the
crashed process's newer ``-wal`` would open as a mix whose meta (the start count,
the generations) is the log's, current, and nothing here would tell it was behind
(probe 01k). The storage engine refuses such a pair at its open, before SQLite
reads through the log (:mod:`impl.storage.wal_pairing`); the operator's way out,
moving the ``-wal`` and ``-shm`` away, starts the node on the backup alone, a
restored store this guard sets aside.

Cassandra's gossip generation (a start time in seconds) tells peers a node
restarted; it cannot tell a restored store, whose documentation forbids restoring
a backup older than ``gc_grace_seconds`` instead. Riak's answer to the same
amnesia for dots is a new vnode epoch per start (kv679). Off
(``restore_guard = false``) the node gossips no generation and never sets its
store aside: the spec's ``Restore`` (the refinement harness turns it off).
"""

from __future__ import annotations

import collections
import hashlib
import json
from collections.abc import Iterable

from impl.errors import BadMessageError, InvalidValueError
from impl.messages import parse_generation
from impl.storage.base import Storage

#: The meta entry of the generations heard of the peers: JSON {name: generation}.
PEER_GENERATIONS_META = "peer-generations"

#: The meta entry of a fresh store no peer has answered yet: b"1" from its first
#: start (a replaced disk, a new node: nothing in it, no earlier start) until every
#: live peer named a start of it (its gossip's ``yours``: this start's generation,
#: or the one a set-aside took; not the first alone: another replaced disk names it
#: as readily, session 52's review) or a start finds the store holding something
#: (b"" then, unless it has its own token and was never told:
#: :data:`OWN_TOKEN_META`, session 53; written before the start count, and a later
#: fresh start takes a new actor: the same review). A
#: start while it is set and the store holds nothing is fresh and counts its
#: generation 1 (:func:`start_generation`'s ``count``), not its start count: a peer
#: that heard an earlier store of the name (count 1 at least) takes it for a
#: rollback and tells it, and it rebuilds (:mod:`impl.rebuild`). Session 51's
#: review: a replaced disk crashed before its first start's answer started again
#: at count 2, later than the old disk's 1 its peers heard, so they took it for a
#: restart of the old store; it never rebuilt, and its empty copies counted towards
#: R (3 nodes, 60 keys at W = 3, gets at R = 1 through it: 60 of 60 not found,
#: ``tests/impl/test_wiped_restarted_at_once.py``). A store holding something was
#: not kept fresh (a restored copy of it would keep its old values when told) until
#: session 53's own token told such a copy from the live store. Riak's vnode keeps
#: its id in a status file and draws a new one when the file is missing
#: (``riak_kv_vnode_status_mgr``; kv679): what a store is follows from what it
#: durably says of itself, not from its start count.
FRESH_UNCONFIRMED_META = "fresh-unconfirmed"

#: The meta entry of the store's *own token* (session 53): 8 hex digits drawn at the
#: first start that marks it :data:`FRESH_UNCONFIRMED_META` (a replaced disk, a new
#: node: an empty store), flushed with the start count before any input, so before
#: anything is acknowledged, and never changed after (a copy of the store carries
#: it). Every generation of such a store begins with it (:func:`start_generation`),
#: so the store tells a generation of its own lifetime from one of another store of
#: its name (the old disk). A marked store holding something and never told of a
#: later start is fresh at its restart (:class:`impl.node.Node`'s ``_own_held``):
#: everything in it was written since that empty start, so a crash cannot leave a
#: value held and not owned (the ownership is the store's, durable before the first
#: value; per-key records would each need their own write). Told a start of the old
#: disk, or one it took itself, it keeps what it holds (its W = 1 writes: session
#: 52's open case); told a start of its own token it never took, it is a copy put
#: back after the live store went on (a reap may have removed a value it holds:
#: session 52's review), and is set aside whole (:func:`unknown_own`). Riak's vnode
#: id plays this part for dots (``riak_kv_vnode_status_mgr``, kv679).
OWN_TOKEN_META = "own-token"

#: The meta entry of the generations the store took while marked
#: :data:`FRESH_UNCONFIRMED_META` (session 53): JSON {token: the highest count of
#: it}, at most :data:`OWN_GENERATIONS_LIMIT` tokens, each written before a peer can
#: hear it (a start's and an advance's with the count's flush, an own restart's:
#: :func:`took_own`); no longer written once the marker is cleared (a store no longer
#: marked is never fresh holding something); a store told a start counts above them
#: (:func:`above_own`; session 53's review).
OWN_GENERATIONS_META = "own-generations"

#: Tokens :data:`OWN_GENERATIONS_META` keeps at most (the oldest dropped: a peer told
#: one of them takes the store for a copy and it is set aside, the safe side).
OWN_GENERATIONS_LIMIT = 64

#: Client requests and peer messages a shadow round keeps at most; beyond, one is
#: dropped (a client request answered with OverloadedError, a 503), counted as
#: ``shadow-round-dropped``. Timers are always kept (one per timer value), and an
#: operator's leave (one at a time; outside the count: session 50).
SHADOW_DEFERRED_LIMIT = 4096

#: Inputs waiting in a shadow round (deferred, or replaying one per step) beyond which
#: a peer's anti-entropy step (a MerkleExchange or KeyRecords) is shed: dropped as a
#: lost message, counted ``shadow-round-shed`` (its exchange ends; the peer's next
#: round runs it again). Session 41's timing audit: with anti-entropy every 0.2 s
#: and the CPU shared with three busy processes, a restarted node replayed its
#: deferred inputs slower than its peers' exchanges arrived, for good (62 waiting
#: at 0.7 s, 3,529 at 15 s): every client request waited behind them, and past
#: :data:`SHADOW_DEFERRED_LIMIT` got 503. Periodic, and repeated at every round,
#: these steps are the one input that can outrun a replay; client requests wait
#: for their answers and replica traffic follows them. Cassandra drops a message
#: that waited past its timeout the same way (its "dropped messages").
SHADOW_SHED_BACKLOG = 256

#: Superseded starts of a peer a guard remembers (:meth:`RestoreGuard.superseded`).
SUPERSEDED_STARTS_LIMIT = 16

#: The most entries a peer's relayed generations may hold (:func:`generations_from_bytes`).
GENERATIONS_LIMIT = 4096

#: A relayed count at or above it is refused (:meth:`RestoreGuard.on_relayed`; session
#: 50's review): a start or an advance every millisecond for 34 years stays below it,
#: and a set-aside's count one above it still parses (under 2**62,
#: :func:`impl.messages.parse_generation`). Cassandra's gossiper refuses a peer's
#: generation more than a year ahead (``Gossiper.MAX_GENERATION_DIFFERENCE``).
RELAYED_COUNT_LIMIT = 2**40

#: The format tag of :func:`generations_to_bytes`.
GENERATIONS_FORMAT = "vdynamo.generations.v1"

#: Keys a guard tracks after a shadow round that timed out (:meth:`RestoreGuard.on_write`);
#: a key beyond it is not kept by a set-aside (counted as ``restore-untracked-write``).
TRACKED_KEYS_LIMIT = 100_000


def generations_to_bytes(heard: dict[str, str]) -> bytes:
    """Canonical bytes of the generations a node heard (node -> ``"<count>.<token>"``),
    for :attr:`impl.messages.Gossip.generations`: JSON ``{"format":
    "vdynamo.generations.v1", "generations": {node: generation}}``; b"" for none."""
    if not heard:
        return b""
    return json.dumps({"format": GENERATIONS_FORMAT, "generations": heard},
                      separators=(",", ":"), sort_keys=True).encode()


def generations_from_bytes(data: bytes) -> dict[str, str]:
    """Inverse of :func:`generations_to_bytes` (b"": none). Raises BadMessageError
    naming why for malformed bytes: not JSON, another format, over
    :data:`GENERATIONS_LIMIT` entries, a name not a non-empty str, a generation not
    ``"<count>.<token>"`` (:func:`impl.messages.parse_generation`)."""
    if not data:
        return {}
    try:
        decoded = json.loads(data.decode("utf-8"))
    except (ValueError, RecursionError) as exc:
        raise BadMessageError(f"generations: not valid JSON: {exc}") from None
    if not isinstance(decoded, dict) or set(decoded) != {"format", "generations"} or (
            decoded["format"] != GENERATIONS_FORMAT) or not isinstance(
                decoded["generations"], dict):
        raise BadMessageError(
            f"generations: expected {{format: {GENERATIONS_FORMAT!r}, generations: {{...}}}}")
    generations = decoded["generations"]
    if len(generations) > GENERATIONS_LIMIT:
        raise BadMessageError(
            f"generations: {len(generations)} entries, over {GENERATIONS_LIMIT}")
    for node, generation in generations.items():
        if not node or type(generation) is not str or parse_generation(generation) is None:
            raise BadMessageError(f"generations: the generation of {node!r:.80} must be "
                                  f"\"<count>.<token>\", got {generation!r:.80}")
    return generations


def start_generation(storage: Storage, name: str, seed: int, now: float,
                     incarnation: int, *, count: int | None = None) -> str:
    """The generation of this start: ``"<count>.<16 hex digits>"``, the count the
    ``incarnation`` (the store's start count) unless ``count`` is given (1 for an
    unconfirmed fresh store: :data:`FRESH_UNCONFIRMED_META`); the token a digest of
    ``name``, ``seed``, ``now``, ``incarnation`` and the store's ``storage-id``, its
    first 8 digits the store's own token if it has one (:data:`OWN_TOKEN_META`)."""
    digest = hashlib.sha256(repr((name, seed, float(now), incarnation)).encode("utf-8")
                            + (storage.get_meta("storage-id") or b"")).hexdigest()
    own = (storage.get_meta(OWN_TOKEN_META) or b"").decode("ascii", "replace")
    token = own + digest[:8] if len(own) == 8 else digest[:16]
    return f"{incarnation if count is None else count}.{token}"


def draw_own_token(storage: Storage, name: str, seed: int, now: float) -> bytes:
    """A store's own token (:data:`OWN_TOKEN_META`): 8 hex digits, a digest of
    ``name``, ``seed``, ``now`` and the store's ``storage-id`` (as the start's token:
    :func:`start_generation`; a replaced disk's first start draws another)."""
    return hashlib.sha256(repr(("own", name, seed, float(now))).encode("utf-8")
                          + (storage.get_meta("storage-id") or b"")).hexdigest()[:8].encode()


def own_generations(storage: Storage) -> dict[str, int]:
    """The store's :data:`OWN_GENERATIONS_META`: token -> the highest count of it; {}
    when the entry is missing or damaged (not a JSON object of counts: the store then
    knows none of its generations as its own, and a peer's start of its token sets it
    aside, the safe side, rather than its start failing on its own meta)."""
    raw = storage.get_meta(OWN_GENERATIONS_META)
    if not raw:
        return {}
    try:
        return {str(k): int(v) for k, v in json.loads(raw).items()}
    except (ValueError, TypeError, AttributeError):  # (UnicodeDecodeError: a ValueError)
        return {}


def above_own(storage: Storage, count: int) -> int:
    """A count above ``count`` and above every generation this store took while marked
    (:data:`OWN_GENERATIONS_META`): what a store told a start takes (session 53's
    review: a replaced disk restarted twice, told the old disk's count 1, renewed at 2,
    was then told its own earlier 2 by a peer that heard it, took that for a later
    start and set its own writes aside: 2 of 11 acknowledged W = 1 puts lost)."""
    return max(count, *own_generations(storage).values(), 0) + 1


def remember_own(storage: Storage, generation: str) -> None:
    """Add ``generation`` (this store's, well formed) to :data:`OWN_GENERATIONS_META`
    (a write of ``storage``: the caller makes it durable before a peer hears it)."""
    parsed = parse_generation(generation)
    assert parsed is not None
    known = own_generations(storage)
    count, token = parsed
    known[token] = max(count, known.pop(token, 0))  # (moved last: the newest)
    while len(known) > OWN_GENERATIONS_LIMIT:
        del known[next(iter(known))]
    storage.set_meta(OWN_GENERATIONS_META, json.dumps(known, separators=(",", ":")).encode())


def _of_own_token(storage: Storage, told: str) -> tuple[int, int] | None:
    """``told``'s count and the highest count of its token this store took
    (:data:`OWN_GENERATIONS_META`; 0: none), if ``told`` is of this store's own token
    (:data:`OWN_TOKEN_META`); None otherwise (another store's, malformed, no token)."""
    own = (storage.get_meta(OWN_TOKEN_META) or b"").decode("ascii", "replace")
    parsed = parse_generation(told)
    if len(own) != 8 or parsed is None or not parsed[1].startswith(own):
        return None
    return parsed[0], own_generations(storage).get(parsed[1], 0)


def took_own(storage: Storage, told: str) -> bool:
    """Whether ``told`` (a peer's last generation of this store) is one this store
    took itself (its own token's, at a count it reached): the peer heard an earlier
    start of this lifetime and nothing later (session 53's review: a peer that
    never heard the old disk, another replaced disk, tells a restart of it its
    first start). False for another store's (the old disk's), or one
    :func:`unknown_own`."""
    counts = _of_own_token(storage, told)
    return counts is not None and counts[0] <= counts[1]


def unknown_own(storage: Storage, told: str) -> bool:
    """Whether ``told`` (a peer's last generation of this store) is of this store's own
    token (:data:`OWN_TOKEN_META`) but not one it took (:data:`OWN_GENERATIONS_META`:
    another token, or a higher count of one): a start, renewal or advance of the live
    store since this copy of it was taken, so this store is a copy put back (a reap
    may have removed a value it holds: session 52's review). False for a generation of
    another store (the old disk's) or of a store without an own token."""
    counts = _of_own_token(storage, told)
    return counts is not None and counts[1] < counts[0]


def is_rollback(mine: str, told: str) -> bool:
    """Whether ``told`` (a peer's last generation of this store) is later than this
    store's ``mine``: another start's (another token) at this count or a higher
    one. The same start's (the same token) never is: its count advances within
    the start (:func:`advance`), durable before any peer hears it, so a lower
    count of it is an earlier message of the same running store overtaken by a
    later one, and a higher one cannot be told to the store itself."""
    own, heard = parse_generation(mine), parse_generation(told)
    if own is None or heard is None or heard[1] == own[1]:
        return False
    return heard[0] >= own[0]


def is_later(one: str, other: str) -> bool:
    """Whether generation ``one``'s count is above ``other``'s (both well formed)."""
    a, b = parse_generation(one), parse_generation(other)
    return a is not None and b is not None and a[0] > b[0]


def advance(generation: str) -> str:
    """``generation`` advanced within its start: the count one up, the token kept
    (session 21: :meth:`impl.node.Node._advance_generation`, before the node takes
    part in a reap, so that a live copy of the store taken before it held the
    tombstone repeats a lower count than the reap's members heard; a start after
    the copy's restore counts one above the copy, at or below what they heard,
    with another token: a rollback). Raises InvalidValueError (a LocalError and a
    ValueError) for a malformed one."""
    parsed = parse_generation(generation)
    if parsed is None:
        raise InvalidValueError(f"generation: not <count>.<token>: {generation!r}")
    return f"{parsed[0] + 1}.{parsed[1]}"


def same_start(one: str, other: str) -> bool:
    """Whether two generations are of one start of a store (the same token; "" is
    no start's)."""
    a, b = parse_generation(one), parse_generation(other)
    return a is not None and b is not None and a[1] == b[1]


class RestoreGuard:
    """One node's guard (module docstring). ``storage`` is the node's staged view
    (the peers' generations are a meta entry of it); ``generation`` this start's."""

    def __init__(self, storage: Storage, generation: str) -> None:
        self.storage = storage
        self.generation = generation
        raw = storage.get_meta(PEER_GENERATIONS_META)
        loaded = json.loads(raw) if raw else {}
        #: the last generation heard of each peer (directly, or relayed)
        self.heard: dict[str, str] = {str(k): str(v) for k, v in loaded.items()}
        #: :attr:`heard` as a gossip relays it (:meth:`relayed`; None: not encoded yet),
        #: and the members it was encoded for
        self._relayed: bytes | None = None
        self._relayed_for: tuple[str, ...] | None = None
        #: the peers whose generation in :attr:`heard` was only relayed since this
        #: start, not heard from them (:meth:`heard_directly`)
        self.relayed_only: set[str] = set()
        #: relayed generations refused for a count at or above :data:`RELAYED_COUNT_LIMIT`
        self.refused_relays = 0
        #: peers heard at a generation older than one heard before: nothing but
        #: gossip is taken from them until a later one
        self.rolled_back: set[str] = set()
        #: peer -> the tokens of its starts heard of and superseded by a later one
        #: since this start (in memory; at most :data:`SUPERSEDED_STARTS_LIMIT`)
        self._superseded: dict[str, collections.OrderedDict[str, None]] = {}
        #: after a shadow round that timed out: the peers asked that have not
        #: gossiped since (while any is left, the keys written are tracked)
        self.unconfirmed: set[str] = set()
        #: keys written (or removed) since the round timed out
        self.touched: set[bytes] = set()
        #: of those, the keys the store did not hold at their first write: what a
        #: set-aside keeps (nothing in them predates this start)
        self.taken: set[bytes] = set()

    def yours(self, peer: str) -> str:
        """The last generation heard of ``peer`` ("" none)."""
        return self.heard.get(peer, "")

    def heard_directly(self, peer: str) -> str:
        """The last generation ``peer`` itself told this start ("" none, or only
        relayed by others: :meth:`on_relayed`): a gossip of a start of ``peer`` not
        heard from it is answered (its shadow round waits for that,
        :meth:`impl.node.Node.receive`), though a third node relayed the start."""
        return "" if peer in self.relayed_only else self.heard.get(peer, "")

    def relayed(self, members: tuple[str, ...]) -> bytes:
        """What a gossip of this node relays (:attr:`impl.messages.Gossip.generations`):
        the generations it heard of ``members`` (the view's live members, those
        ``Gossip.beats`` carries), at most :data:`GENERATIONS_LIMIT` of them
        (:func:`generations_to_bytes`; encoded once per change of either). Session
        50's review: every generation ever heard, of members removed long ago too
        (:attr:`heard` is never pruned), passed the receivers' limit, and every
        gossip of every node was dropped."""
        if self._relayed is None or (members is not self._relayed_for
                                     and members != self._relayed_for):
            heard = self.heard
            self._relayed = generations_to_bytes(
                {node: heard[node] for node in members[:GENERATIONS_LIMIT] if node in heard})
            self._relayed_for = members
        return self._relayed

    def on_relayed(self, node: str, generation: str) -> bool:
        """A peer relays that ``node``'s store (a third node's) is at ``generation``:
        taken if it is later than the one heard (a higher count; any if none was
        heard), as if ``node`` had said so, so that this node tells a store of
        ``node`` older than it (a restored backup) when it gossips with it, though it
        never heard that start itself. One not later is ignored, never a rollback:
        the relay may be old news (an earlier start heard by a peer that missed the
        later one), or a restored store's own start that a peer heard first (the
        node's direct gossip tells). One whose count is at or above
        :data:`RELAYED_COUNT_LIMIT` is refused (counted in :attr:`refused_relays`):
        taken, every node told ``node`` so, its set-aside took a count no message
        accepts, and every node's gossip failed (session 50's review). Returns
        whether it was taken."""
        known = self.heard.get(node, "")
        if generation == known or (known and not is_later(generation, known)):
            return False
        parsed = parse_generation(generation)
        if parsed is None or parsed[0] >= RELAYED_COUNT_LIMIT:
            self.refused_relays += 1  # (a buggy or malicious peer's: session 50's review)
            return False
        self._record(node, known, generation)
        self.relayed_only.add(node)
        return True

    def _record(self, src: str, known: str, generation: str) -> None:
        """``src``'s generation heard is ``generation`` from now on (``known``: the one
        before, "" none; a start it supersedes is remembered, :meth:`superseded`),
        durably (the ``peer-generations`` meta entry)."""
        if known and not same_start(generation, known):
            starts = self._superseded.setdefault(src, collections.OrderedDict())
            starts[known.partition(".")[2]] = None
            while len(starts) > SUPERSEDED_STARTS_LIMIT:
                starts.popitem(last=False)
        self.heard[src] = generation
        self._relayed = None
        self.storage.set_meta(PEER_GENERATIONS_META,
                              json.dumps(self.heard, sort_keys=True).encode())

    def superseded(self, src: str, generation: str) -> bool:
        """Whether ``generation`` is of a start of ``src`` heard of and superseded by
        a later start since (its token: a count advanced within it too): a message
        of it is stale, delivered after the restart's generation (session 35's
        review: a restart's in-flight roots made peers drop the restarted node's
        messages until its next gossip). Never a restore: a restored store starts
        with a token no peer heard (:func:`start_generation`)."""
        starts = self._superseded.get(src)
        if starts is None:  # (the common case: no restart of src heard, nothing parsed)
            return False
        parsed = parse_generation(generation)
        return parsed is not None and parsed[1] in starts

    def on_generation(self, src: str, generation: str) -> bool:
        """``src`` says its store's generation is ``generation`` (a gossip, an
        anti-entropy message): whether that store is older than one heard of before
        (then ``src`` is rolled back until a later one); a later one is recorded.
        One of a start superseded since it was heard (:meth:`superseded`) is neither:
        stale, it changes nothing. A lower count of a start never heard is a
        rollback still: a store restored from a backup two starts back looks the
        same as a start a peer missed."""
        known = self.heard.get(src, "")
        if self.relayed_only:
            self.relayed_only.discard(src)
        if generation == known:  # (the common case: what the checks below find of it)
            self.rolled_back.discard(src)
            return False
        if known and is_rollback(generation, known):
            if self.superseded(src, generation):
                return False
            self.rolled_back.add(src)
            return True
        self.rolled_back.discard(src)
        if same_start(generation, known) and not is_later(generation, known):
            return False  # an earlier message of the same start, overtaken: kept
        self._record(src, known, generation)
        return False

    def track(self, peers: Iterable[str]) -> None:
        """A shadow round timed out with ``peers`` silent: track the keys written
        until each one gossiped (:meth:`on_write`, :meth:`confirmed_by`)."""
        self.unconfirmed = set(peers)

    @property
    def confirmed(self) -> bool:
        """Whether every peer this start's shadow round asked has gossiped since (the
        round answered, or each silent one since its timeout): none of them heard a
        later start of this store. Until then the store may be a restored one nobody
        told yet, and it does not advance its generation (:func:`advance`; session
        21), or its count could pass the one its peers heard and hide the rollback."""
        return not self.unconfirmed

    def confirmed_by(self, src: str) -> None:
        """``src`` gossiped: once every silent peer did, the tracking ends."""
        if self.unconfirmed:
            self.unconfirmed.discard(src)
            if not self.unconfirmed:
                self.touched.clear()
                self.taken.clear()

    def on_write(self, key: bytes, encoded: bytes, held: bool) -> bool:
        """The node wrote ``key``'s versions (``encoded``; ``b""``: removed them);
        ``held``: whether the engine held the key before this input. A key first
        written since the round timed out that the store did not hold is *taken*:
        a set-aside keeps it (a W = 1 write acknowledged through a restored node
        before any peer could tell it; session 15's review). False: past
        :data:`TRACKED_KEYS_LIMIT`, not tracked (a set-aside removes it)."""
        if not self.unconfirmed or key in self.touched:
            return True
        if len(self.touched) >= TRACKED_KEYS_LIMIT:
            return False
        self.touched.add(key)
        if encoded and not held:
            self.taken.add(key)
        return True


class ShadowState:
    """A restarted node's startup shadow round in progress (:meth:`impl.node.Node.start`):
    the peers asked that have not gossiped back yet, and the inputs deferred
    meanwhile, in order: ``(method of the Node, its arguments after now)``."""

    def __init__(self, peers: Iterable[str], started: float) -> None:
        self.asked = tuple(sorted(peers))
        #: the peers asked that have not gossiped since
        self.waiting = set(self.asked)
        self.started = started
        #: peer -> when it was last asked (the start, an ask back, a gossip round's
        #: gossip or ask again: :meth:`impl.node.Node._shadow_ask_again`)
        self.asked_at: dict[str, float] = dict.fromkeys(self.asked, started)
        #: the round is over (answered or timed out); its deferred inputs replay
        self.over = False
        self.deferred: collections.deque[tuple[str, tuple[object, ...]]] = (
            collections.deque())
        #: client requests and peer messages among ``deferred`` (bounded)
        self.kept = 0
        self.dropped = 0
        #: peers' anti-entropy steps shed (:data:`SHADOW_SHED_BACKLOG`)
        self.shed = 0
        #: (sender, hint id) -> the HintDelivery of it among ``deferred``: a fallback
        #: resends an unacked hint every ``request_timeout``, and an equal resend of
        #: one still waiting is dropped (:meth:`impl.node.Node._defer`; session 41)
        self.hints: dict[tuple[object, int], object] = {}

    def ask(self, peers: Iterable[str], now: float | None = None) -> None:
        """Wait for ``peers`` too (members the answers named that were not asked),
        asked at ``now`` (None: the round's start)."""
        fresh = set(peers) - set(self.asked)
        self.asked = tuple(sorted({*self.asked, *fresh}))
        self.waiting |= fresh
        for peer in fresh:
            self.asked_at[peer] = self.started if now is None else now
