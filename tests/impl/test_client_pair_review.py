"""Session 23's review of the client-vclock pair rule (docs/runtime.md, "Review of
the client-vclock pair rule (session 23)"): the entry ``"<actor> <client>"`` is
longer than the client id the earlier rule used, and what that broke; and what held
(no dot minted twice under per-put truncation, a client id that spells another
actor)."""

from __future__ import annotations

import base64
import random
from pathlib import Path

import pytest

import impl
from impl.context import MAX_ID_BYTES, encode_context_pairs
from impl.errors import ConfigError
from impl.runtime_config import MAX_CONTEXT_HEADER_BYTES
from impl.versions import ClockMode, Record, Truncation, apply_put, reconcile
from spec.vclock import VClock, client_entry, entry_actor

LONGEST_ACTOR = "x" * 255 + ".99999999999999999999"  # a lifetime actor's 255 bytes, a key epoch


def test_a_client_id_of_255_four_byte_characters_can_write_and_read() -> None:
    """The library accepts a client id of 255 characters of any width (1,020 UTF-8
    bytes, a context id's limit). Under the pair rule the entry adds the actor and a
    space: the put raised InvalidValueError 'node id ... is too long for a context'
    before this review, nothing written; now the client part of a long id is its
    digest."""
    cluster = impl.SimulatedCluster(nodes=3, n=3, r=2, w=2, seed=1, clock="client-vclock")
    client = cluster.client(client_id="\U0001F600" * 255)
    client.put(b"k", b"v1")
    read = client.get(b"k")
    client.put(b"k", b"v2", context=read.context)
    assert cluster.client(client_id="z").get(b"k", r=3).values == [b"v2"]


def test_every_entry_fits_a_context_id_and_distinct_clients_stay_distinct() -> None:
    long_ids = ["\U0001F600" * 255, "\U0001F600" * 254 + "a", "a" * 255]
    entries = {client_entry(c, LONGEST_ACTOR, fresh) for c in long_ids for fresh in (0, 99)}
    assert len(entries) == 6
    assert all(len(e.encode()) <= MAX_ID_BYTES for e in entries)
    assert {entry_actor(e) for e in entries} == {LONGEST_ACTOR}
    assert client_entry("alice", "n1") == "n1 alice"  # short ids spelled as they are
    assert client_entry("a" * 255, "n1") == "n1 " + "a" * 255  # an HTTP id: never digested


def test_a_client_vclock_context_of_vclock_max_pairs_long_entries_fits_a_header(
        tmp_path: Path) -> None:
    """The start-time check of ``vclock_max_pairs`` took ids of 255 bytes ("actor ids
    are shorter"); a pair entry is an actor, a space and a client id of up to 255
    ASCII characters: 173 pairs (accepted) of a 30-character actor and 255-character
    clients made 68,304 bytes of base64, over the 61,440 the header carries."""
    from tests.runtime.live import SECRET, runtime_config

    config = runtime_config(tmp_path, clock="client-vclock")
    most = max(p for p in range(1, 200) if _accepted(tmp_path, p))
    pairs = sorted((client_entry(f"c{i:04d}-" + "x" * 249, LONGEST_ACTOR, 10**19), 1)
                   for i in range(most))
    context = base64.b64encode(encode_context_pairs(
        pairs, key=b"k", mode=ClockMode.CLIENT_VCLOCK, secret=SECRET))
    assert len(context) <= MAX_CONTEXT_HEADER_BYTES, (most, len(context))
    assert config.cluster.vclock_max_pairs <= most  # the default still accepted


def _accepted(tmp_path: Path, pairs: int) -> bool:
    from tests.runtime.live import runtime_config
    try:
        runtime_config(tmp_path, clock="client-vclock", vclock_max_pairs=pairs,
                       max_context_bytes=400_000, max_frame_bytes=128 << 20)
    except ConfigError:
        return False
    return True


@pytest.mark.parametrize("seed", [1, 2])
def test_per_put_truncation_never_mints_a_dot_twice(seed: int) -> None:
    """``vclock_truncation = "put"`` keeps no floor (the author's open question): a
    record only loses a pair when a sibling holding it is dominated, and a dominating
    clock holds the pair at a counter as high, so the coordinator's record keeps the
    highest counter of each of its entries. 90 random puts of 4 forgetful clients
    (random stale contexts) through 3 coordinators, threshold 2: every put's dot,
    (entry, counter), is new."""
    rng = random.Random(seed)
    records = {a: Record.empty(ClockMode.CLIENT_VCLOCK) for a in ("n1", "n2", "n3")}
    seen: list[VClock] = [VClock()]
    dots: set[tuple[str, int]] = set()
    for step in range(90):
        actor = rng.choice(sorted(records))
        if rng.random() < 0.3:  # a replica learns another's record
            other = records[rng.choice(sorted(records))]
            records[actor] = Record(ClockMode.CLIENT_VCLOCK, reconcile(
                (*records[actor].siblings, *other.siblings)))
        before = records[actor]
        client = rng.choice(("alice", "bob", "carol", "dave"))
        after = apply_put(before, rng.choice(seen), b"v%d" % step, coordinator=actor,
                          client_id=client, now=float(step), actor=actor,
                          truncation=Truncation(threshold=2), per_put=True)
        [new] = [s for s in after.siblings if s not in before.siblings]
        entry = next(e for e, c in new.clock.pairs if entry_actor(e) == actor
                     and e.endswith(" " + client) and c > before_counter(before, e))
        dot = (entry, new.clock.counter(entry))
        assert dot not in dots, (step, dot)
        dots.add(dot)
        seen.append(new.clock)
        records[actor] = after


def before_counter(record: Record, entry: str) -> int:
    return max((s.clock.counter(entry) for s in record.siblings), default=0)


def test_a_node_name_ending_in_slash_digits_is_refused() -> None:
    """Without actor epochs a node's actor is its name, and node ``n1/1``'s entry for
    alice is ``"n1/1 alice"``, node n1's first fresh entry for her: both mint
    ``{"n1/1 alice": 1}`` for two different writes (shown below on the records),
    a dot used twice. A node name may not end in ``/<digits>`` (ConfigError naming
    it; before this review it was accepted)."""
    from impl.config import check_node_name

    mode = ClockMode.CLIENT_VCLOCK
    first = apply_put(Record.empty(mode), VClock(), b"v1", coordinator="n1",
                      client_id="alice", now=1.0)
    stale = apply_put(first, VClock(), b"v2", coordinator="n1", client_id="alice", now=2.0)
    other = apply_put(Record.empty(mode), VClock(), b"v3", coordinator="n1/1",
                      client_id="alice", now=2.0)
    [v2] = [s for s in stale.siblings if s.value.endswith(b"v2")]
    [v3] = other.siblings
    assert v2.clock.pairs == v3.clock.pairs == (("n1/1 alice", 1),)
    for name in ("n1/1", "node/07"):
        with pytest.raises(ConfigError, match="must not end in"):
            check_node_name(name)
    assert check_node_name("n1/a") == "n1/a" and check_node_name("a/1b") == "a/1b"


def test_record_truncation_floor_keeps_a_dropped_pair_from_being_counted_again() -> None:
    """Record truncation drops alice's pair ``n1 alice`` (3 events) from n1's record;
    a stale context of hers holds it at 1. Without the record's floor the entry is
    "covered" again and her put minted ``("n1 alice", 2)``, a dot already used (the
    review's mutant M2, killed before only by the u64-limit test)."""
    mode, policy = ClockMode.CLIENT_VCLOCK, Truncation(threshold=2, max_pairs=2)
    record, context, stale = Record.empty(mode), VClock(), VClock()
    for step, client in enumerate(("alice", "alice", "alice", "bob", "carol", "dave")):
        record = apply_put(record, context, b"v%d" % step, coordinator="n1",
                           client_id=client, now=float(step), truncation=policy)
        [context] = [s.clock for s in record.siblings]
        stale = context if step == 0 else stale
    assert record.floor >= 3 and context.counter("n1 alice") == 0
    after = apply_put(record, stale, b"late", coordinator="n1", client_id="alice",
                      now=9.0, truncation=policy)
    [late] = [s for s in after.siblings if s.value.endswith(b"late")]
    assert late.clock.counter("n1 alice") > 3
