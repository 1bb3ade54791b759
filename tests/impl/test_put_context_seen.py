"""A put's context covers what its client saw and wrote, never a sibling it did not
read (session 14's probe A; the deletes-and-siblings kind of case 12 and the
context kind of case 05).

Alice and bob read ``k = v0`` through n1; bob writes ``b`` with his read's context
(acknowledged), then alice writes ``a`` with hers: ``a`` and ``b`` are concurrent
siblings at n1. Alice then writes ``a2`` with the context *her put returned* (a
client continuing from its own write; the client library's get with a resolve hook
returns the context of the put of the merge). Before the fix the put returned the
join of n1's whole record, which covers ``b``: ``a2`` superseded bob's acknowledged
``b`` without alice ever reading it, and a get with R=3 answered ``[a2]``. Right
value (Dynamo paper 4.4: a context stands for what the client read; a put's result
is that context plus the version written): ``b`` survives, as a sibling of ``a2``.
In dvv ``a`` stays as a sibling too: its dot and ``b``'s are consecutive dots of
n1's actor, which no version vector separates (``versions.written_context_pairs``);
a false sibling, never a lost write. server-vclock (both writes through one
coordinator: the paper's scheme loses ``b`` already) and lww (no siblings) are
outside it. Over HTTP three processes adding to a cart through
``vdynamo.connect(..., resolve=union)`` lost 6 of 180 acknowledged adds on a quiet
3-node cluster (tests/runtime/test_put_context_http.py is the HTTP scenario).
"""

from __future__ import annotations

import pytest

from impl import put_coordinator
from impl.cluster import SimulatedCluster
from impl.records import ClockMode
from impl.versions import (
    Record,
    apply_put,
    context_clock,
    context_pairs,
    dot_actor,
    merge,
    values,
    written_context_pairs,
)
from spec import dvv
from spec.vclock import VClock

KEY = b"k"


def _continue_from_own_put(clock: str) -> list[bytes]:
    cluster = SimulatedCluster(nodes=3, n=3, r=2, w=2, seed=1, clock=clock)
    alice = cluster.client("n1", client_id="alice")
    bob = cluster.client("n1", client_id="bob")
    alice.put(KEY, b"v0")
    cluster.run_until_quiet()
    seen_by_alice, seen_by_bob = alice.get(KEY), bob.get(KEY)
    bob.put(KEY, b"b", context=seen_by_bob.context)  # acknowledged
    written = alice.put(KEY, b"a", context=seen_by_alice.context)
    alice.put(KEY, b"a2", context=written.context)
    cluster.run_until_quiet()
    return sorted(cluster.client().get(KEY, r=3).values)


def _whole_record_context(after: Record, context: VClock, value: bytes, *, actor: str,
                          writer: str, now: float,
                          max_pairs: int | None = None) -> tuple[tuple[str, int], ...]:
    """The rule before the fix: the join of the coordinator's whole record."""
    return context_pairs(after, max_pairs)


@pytest.mark.parametrize(("clock", "expected"), [
    ("dvv", [b"a2", b"b"]),
    ("client-vclock", [b"a2", b"b"]),
])
def test_a_put_with_the_context_of_a_put_keeps_the_sibling_it_never_read(
        clock: str, expected: list[bytes]) -> None:
    assert _continue_from_own_put(clock) == expected


@pytest.mark.parametrize("clock", ["dvv", "client-vclock"])
def test_the_rule_before_loses_the_acknowledged_sibling(
        clock: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(put_coordinator, "written_context_pairs", _whole_record_context)
    assert _continue_from_own_put(clock) == [b"a2"]  # bob's acknowledged b is gone


def test_dvv_written_context_is_the_context_plus_the_new_dot() -> None:
    empty = Record.empty(ClockMode.DVV)
    first = apply_put(empty, VClock(), b"v0", coordinator="n1", client_id="", now=0.0)
    seen = context_clock(first)  # {n1: 1}
    # a sequential client: its context plus its own dot, nothing else
    second = apply_put(first, seen, b"v1", coordinator="n1", client_id="", now=1.0)
    assert written_context_pairs(second, seen, b"v1", actor="n1", writer="n1",
                                 now=1.0) == (("n1", 2),)
    # a concurrent write (dot n1:2) the client did not read: its context alone
    other = apply_put(first, seen, b"b", coordinator="n1", client_id="", now=1.0)
    mine = apply_put(other, seen, b"a", coordinator="n1", client_id="", now=2.0)
    assert written_context_pairs(mine, seen, b"a", actor="n1", writer="n1",
                                 now=2.0) == (("n1", 1),)
    assert context_pairs(mine) == (("n1", 3),)  # what a get answers: both siblings
    # another actor's concurrent sibling is not covered either
    n2 = apply_put(first, seen, b"b", coordinator="n2", client_id="", now=1.0)
    mine = apply_put(n2, seen, b"a", coordinator="n1", client_id="", now=2.0)
    assert written_context_pairs(mine, seen, b"a", actor="n1", writer="n1",
                                 now=2.0) == (("n1", 2),)
    assert context_pairs(mine) == (("n1", 2), ("n2", 1))


def test_vclock_written_context_is_the_new_versions_clock_capped() -> None:
    empty = Record.empty(ClockMode.CLIENT_VCLOCK)
    base = apply_put(empty, VClock(), b"v0", coordinator="n1", client_id="c0", now=0.0)
    seen = context_clock(base)
    other = apply_put(base, seen, b"b", coordinator="n1", client_id="bob", now=1.0)
    mine = apply_put(other, seen, b"a", coordinator="n1", client_id="alice", now=2.0)
    assert written_context_pairs(mine, seen, b"a", actor="n1", writer="n1",
                                 now=2.0) == (("n1 alice", 1), ("n1 c0", 1))
    assert written_context_pairs(mine, seen, b"a", actor="n1", writer="n1", now=2.0,
                                 max_pairs=1) == (("n1 alice", 1),)  # the new pair kept


def _clock(pairs: tuple[tuple[str, int], ...]) -> VClock:
    return VClock.of(dict(pairs))


def test_lww_written_context_carries_the_written_stamp() -> None:
    """lww: the put answers the written version's stamp, so a put with that context
    through a coordinator whose wall clock is behind (and which has not yet
    stored the first write) still stamps after it: the client's second write wins.
    Kills the mutant answering the context the client brought (no stamp: the
    second write, stamped 50 s, lost to the first, stamped 100 s)."""
    empty = Record.empty(ClockMode.LWW)
    first = apply_put(empty, VClock(), b"v0", coordinator="n1", client_id="", now=100.0)
    pairs = written_context_pairs(first, VClock(), b"v0", actor="n1", writer="n1",
                                  now=100.0)
    assert pairs == context_pairs(first) and pairs
    behind = apply_put(empty, _clock(pairs), b"v1", coordinator="n2", client_id="",
                       now=50.0)
    assert values(merge(first, behind)) == [b"v1"]


def test_dvv_written_context_is_capped_and_keeps_the_new_dot() -> None:
    """max_pairs caps a dvv put's context (kills the mutant that never cuts it), and
    the cut keeps the coordinator's actor, whose entry is the new dot, before the
    larger counters of other actors (kills the mutant ranking by counter alone:
    the client's next put was then a sibling of its own write)."""
    record = Record.empty(ClockMode.DVV)
    for node in ("n2", "n3", "n4"):  # n2: 1, n3: 1, n4: 1, then n4 up to 5
        record = apply_put(record, context_clock(record), node.encode(), coordinator=node,
                           client_id="", now=0.0)
    for i in range(4):
        record = apply_put(record, context_clock(record), b"x%d" % i, coordinator="n4",
                           client_id="", now=0.0)
    seen = context_clock(record)  # {n2: 1, n3: 1, n4: 5}
    mine = apply_put(record, seen, b"a", coordinator="n1", client_id="", now=1.0)
    full = written_context_pairs(mine, seen, b"a", actor="n1", writer="n1", now=1.0)
    assert full == (("n1", 1), ("n2", 1), ("n3", 1), ("n4", 5))
    assert written_context_pairs(mine, seen, b"a", actor="n1", writer="n1", now=1.0,
                                 max_pairs=2) == (("n1", 1), ("n4", 5))
    capped = written_context_pairs(mine, seen, b"a", actor="n1", writer="n1", now=1.0,
                                   max_pairs=1)
    assert capped == (("n1", 1),)
    after = apply_put(mine, _clock(capped), b"a2", coordinator="n1", client_id="", now=2.0)
    assert b"a" not in values(after)  # the client's own write superseded


@pytest.mark.parametrize(("coordinator", "stamp"), [("n2", 1.0), ("n1", 1.0), ("n2", 2.0)])
def test_vclock_written_context_is_the_new_versions_not_a_sibling_of_equal_value(
        coordinator: str, stamp: float) -> None:
    """client-vclock: aaron stored ``x``; alice writes ``x`` too, concurrently. Her
    put answers her version's clock, not aaron's sibling's (equal value; another
    writer, another stamp, or both; aaron's clock sorts first): kills the mutants
    matching the written version by value alone, by value and writer, by value and
    stamp, whose context left out alice's own entry (her next put a sibling of her
    write) and covered aaron's version, which she never read."""
    empty = Record.empty(ClockMode.CLIENT_VCLOCK)
    base = apply_put(empty, VClock(), b"v0", coordinator="n1", client_id="c0", now=0.0)
    seen = context_clock(base)
    others = apply_put(base, seen, b"x", coordinator=coordinator, client_id="aaron",
                       now=stamp)
    # (session 23: the entries are the pairs (coordinator actor, client); n1's actor
    # "z1" so that aaron's pair sorts first through either coordinator)
    mine = apply_put(others, seen, b"x", coordinator="n1", client_id="alice", now=2.0,
                     actor="z1")
    aaron = f"{coordinator} aaron"
    assert [s.clock.counter(aaron) for s in mine.siblings] == [1, 0]  # aaron's first
    assert written_context_pairs(mine, seen, b"x", actor="z1", writer="n1",
                                 now=2.0) == (("n1 c0", 1), ("z1 alice", 1))


def _chain(clock: str = "dvv") -> list[bytes]:
    cluster = SimulatedCluster(nodes=3, n=3, r=2, w=2, seed=1, clock=clock)
    cluster.client("n1", client_id="c0").put(KEY, b"old")
    alice = cluster.client("n1", client_id="alice")
    context = alice.put(KEY, b"v0").context
    for i in range(1, 11):
        context = alice.put(KEY, b"v%d" % i, context=context).context
    cluster.run_until_quiet()
    return sorted(cluster.client().get(KEY, r=3).values)


@pytest.mark.parametrize("clock", ["dvv", "client-vclock"])
def test_a_chain_of_puts_from_their_own_contexts_keeps_siblings_bounded(clock: str) -> None:
    """``PUT k old`` by one client, then another client's blind ``PUT k v0`` and ten
    puts each with the context the previous put answered, all through n1: the
    right value is ``[old, v10]``. Session 29 (open since session 14's review): dvv
    answered all 12 values; v0's dot ``(n1, 2)`` sat above old's ``(n1, 1)`` in n1's
    entry, no version vector covered it without old's, so each put answered its
    context alone and the next was a sibling of it. Now v0 and its successors are
    minted under the pair (n1's actor, alice) (spec.dvv.dot_actor), whose entry
    holds alice's own writes only."""
    assert _chain(clock) == [b"old", b"v10"]


def test_two_interleaved_chains_keep_two_values_and_two_entries() -> None:
    """Session 14's review's other probe, which session 16's prototype (a fresh
    key-epoch actor per such put) failed on entries: alice and bob each chain 100
    puts through n1 from their own puts' contexts, interleaved: ``[a99, b99]``
    with 2 DVVSet entries (the prototype: 200; the rule before: every value kept
    until 25 siblings refused the next put)."""
    cluster = SimulatedCluster(nodes=3, n=3, r=2, w=2, seed=1, clock="dvv")
    alice = cluster.client("n1", client_id="alice")
    bob = cluster.client("n1", client_id="bob")
    mine = theirs = b""
    for i in range(100):
        mine = alice.put(KEY, b"a%d" % i, context=mine).context
        theirs = bob.put(KEY, b"b%d" % i, context=theirs).context
    cluster.run_until_quiet()
    assert sorted(cluster.client().get(KEY, r=3).values) == [b"a99", b"b99"]
    record = cluster.node("n1").record(KEY)
    assert record is not None and len(record.dvvset.entries) == 2


def test_the_rule_before_keeps_a_sibling_per_chained_put(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The mutant: every dot minted under the coordinator's actor (the reference's
    ``update(..., server_id)``, the rule before session 29): all 12 values."""
    monkeypatch.setattr(dvv, "dot_actor", lambda clock, vector, actor, client: actor)
    assert _chain() == sorted([b"old", *(b"v%d" % i for i in range(11))])


def test_dvv_a_put_past_an_unread_value_answers_its_pair_dot() -> None:
    """The rule's cases: past a value of the actor the context does not cover, the
    pair's entry; past one of the pair too (another process under the same client
    id, or the client's own blind put), a fresh pair (session 59; the actor and the
    context alone before: a false sibling, never a lost write)."""
    empty = Record.empty(ClockMode.DVV)
    old = apply_put(empty, VClock(), b"old", coordinator="n1", client_id="c0", now=0.0)
    assert dvv.ids(old.dvvset) == ("n1",)  # nothing unread: the actor
    blind = apply_put(old, VClock(), b"v0", coordinator="n1", client_id="alice", now=1.0)
    assert dvv.ids(blind.dvvset) == ("n1", "n1 alice")
    assert dot_actor(old, VClock(), "n1", "alice") == "n1 alice"
    assert written_context_pairs(blind, VClock(), b"v0", actor="n1 alice", writer="n1",
                                 now=1.0) == (("n1 alice", 1),)
    # a second blind put under the same id: n1's and the pair's entries both unread
    again = apply_put(blind, VClock(), b"w0", coordinator="n1", client_id="alice", now=2.0)
    assert dot_actor(blind, VClock(), "n1", "alice") == "n1/1 alice"
    assert sorted(values(again)) == [b"old", b"v0", b"w0"]
    assert written_context_pairs(again, VClock(), b"w0", actor="n1/1 alice", writer="n1",
                                 now=2.0) == (("n1/1 alice", 1),)
    # no client id (an internal put): the actor, as the reference
    assert dot_actor(old, VClock(), "n1", "") == "n1"
