"""Session 49's review of the lead's f87b544a (impl/put_coordinator.py): a
client-vclock put's own entry (``PutCoordination.entry``, the one that decides a
re-mint at a replica's floor ack: :meth:`impl.put_coordinator.PutCoordinator._remint`)
and its counter (``minted``) are those of the version the put minted, whatever the
stored record, the context, the client floor, the truncation policy, a tombstone,
or a coordinator outside the key's top N. The minted counter is always above the
stored record's counter of the entry (:func:`impl.versions.apply_put` mints above
the context's counter, and ``_client_pair_entry`` picks an entry whose stored
counters the context covers), so the new condition never leaves ``minted`` at 0;
and no other pair of the ReplicaPut qualifies (a stored sibling's counters are at
most the stored ones, the new clock's other pairs the context's). A Node alone;
its coordination read back; deterministic (Hypothesis, derandomized in CI)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from impl.context import encode_context_pairs
from impl.effects import Send
from impl.forwarding import ReplyTo
from impl.messages import PutRequest, ReplicaPut
from impl.node import Node
from impl.put_coordinator import _client_counter
from impl.records import ClockMode, Record, Sibling
from impl.storage.memory import MemoryStorage
from impl.versions import TOMBSTONE, encode_record
from spec.vclock import VClock, client_entry, reconcile
from tests.impl.test_node_driver import make_config

#: n1's actor for every key on a fresh MemoryStorage with seed 1 (asserted below)
ACTOR = "n1~89c3f7955bc7"
ENTRIES = ("n2~000000000001/bob", "n3~000000000001/carol", client_entry("alice", ACTOR),
           client_entry("alice", ACTOR, 1), client_entry("alice", ACTOR, 2))
#: k0 has n1 outside its top N (a forwarded put's last resort), k1 inside
KEYS = (b"k0", b"k1")

_pairs = st.dictionaries(st.sampled_from(ENTRIES), st.integers(1, 9), max_size=4)


@st.composite
def _sibling(draw: st.DrawFn) -> Sibling:
    pairs = draw(_pairs.filter(bool))
    times = {entry: 0.1 * (i + 1) for i, entry in enumerate(
        draw(st.permutations(sorted(pairs))))}
    value = draw(st.sampled_from([b"v", b"w", TOMBSTONE]))
    return Sibling(value, VClock.of(pairs, times), 0.5, "n2")


@settings(max_examples=150, deadline=None)
@given(siblings=st.lists(_sibling(), max_size=3), context=_pairs, floor=st.integers(0, 12),
       record_floor=st.integers(0, 12), key=st.sampled_from(KEYS), delete=st.booleans(),
       per_put=st.booleans(), threshold=st.integers(1, 3))
def test_a_client_vclock_puts_entry_is_its_new_versions_above_the_stored_counters(
        siblings: list[Sibling], context: dict[str, int], floor: int, record_floor: int,
        key: bytes, delete: bool, per_put: bool, threshold: int) -> None:
    """Mutants, each failing this test (run by hand, session 49): the fix reverted
    (``_client_counter(stored, entry)`` left out: a stored sibling's higher pair cut
    by truncation is taken); ``>=`` for its ``>``; ``counter > context.counter(entry)``
    left out (a context pair above the stored one is taken)."""
    config = make_config(5, n=3, r=2, w=2, clock="client-vclock", vclock_threshold=threshold,
                         vclock_max_pairs=threshold + 1,
                         vclock_truncation="put" if per_put else "record")
    node = Node("n1", config, MemoryStorage("always"), seed=1)
    node.start(0.0)
    assert ("n1" in node.preference_list(key)[:3]) == (key == b"k1")
    node.replica.raise_floor(floor)
    if siblings:
        stored = Record(ClockMode.CLIENT_VCLOCK, tuple(reconcile(siblings)),
                        truncation=None if per_put else config.truncation,
                        floor=0 if per_put else record_floor)
        node.replica.store(key, encode_record(stored))
    before = node.replica.local_record(key)
    assert node.puts.actor(key, before) == ACTOR
    raw = encode_context_pairs(sorted(context.items()), key=key, mode=ClockMode.CLIENT_VCLOCK,
                               secret=config.context_secret)
    value = b"" if delete else b"alice's"
    # (as the node coordinates a put it takes or one forwarded to it that its top N
    # did not take: :meth:`impl.node.Node._coordinate`)
    effects = node.puts.start(1.0, PutRequest(7, key, value, raw, None, "alice",
                                              delete=delete), ReplyTo(7))
    puts = [e.message for e in effects
            if isinstance(e, Send) and isinstance(e.message, ReplicaPut)]
    (coordination,) = node.puts.coordinations.values()
    entry, minted = coordination.entry, coordination.minted
    # the pair's entry or a fresh one of the pair (``.../<k> alice``), never bob's
    assert entry.startswith(ACTOR) and entry.endswith(" alice"), entry
    assert minted > _client_counter(before, entry)
    assert minted > dict(context).get(entry, 0)
    new = [s for s in node.replica.parse(puts[0].record).siblings
           if s.clock.counter(entry) == minted]
    assert [s.value for s in new] == [TOMBSTONE if delete else value]
    assert coordination.version == new[0].clock
