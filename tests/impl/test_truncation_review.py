"""Session 30's review of the truncation fix (``versions.truncate`` keeping each
sibling's own pair): histories that break it, pinned.

The context a get or put answers holds at most ``vclock_max_pairs`` pairs
(``versions.context_pairs``: past it, the oldest go, so that it fits
``max_context_bytes``). Once truncation kept each sibling's own pair *beside* the
policy's ``max_pairs``, a key with more than ``max_pairs`` young pairs (case 05's
kind: many writers within a day) and an unresolved sibling X had a join of
``max_pairs + 1`` pairs; the context dropped the oldest, X's own pair, and no
read-modify-write could ever supersede X (its client read X and merged it, the
put answered 200, X stayed: ``[X, w]`` after every one).
"""

from __future__ import annotations

import pytest

from impl.cluster import SimulatedCluster
from impl.records import ClockMode, Record, Truncation
from impl.versions import (
    apply_put,
    context_clock,
    context_pairs,
    merge,
    merge_all,
    own_pair,
    values,
)
from spec.vclock import VClock
from tests.impl.test_truncation_histories import POLICY, play

KEY = b"k"
#: four pairs at most, three kept whatever their age; ages never matter here
SMALL = Truncation(threshold=3, max_pairs=4, young_s=0.0, old_s=86400.0)


def _put(record: Record, context: VClock, value: bytes, node: str, client: str,
         now: float) -> Record:
    actor = node if record.mode is ClockMode.CLIENT_VCLOCK else f"{node}.{client}"
    return apply_put(record, context, value, coordinator=node, client_id=client,
                     actor=actor, now=now, truncation=SMALL)


@pytest.mark.parametrize("mode", [ClockMode.CLIENT_VCLOCK, ClockMode.SERVER_VCLOCK])
def test_a_read_modify_write_supersedes_a_sibling_on_a_key_of_more_than_max_pairs_writers(
        mode: ClockMode) -> None:
    """X written blind through n1; six read-modify-writes of distinct writers
    through n2, which did not hold X (its clock: four pairs, ``max_pairs``); the
    merge holds ``[X, v5]``. A client reads both (the context the cluster answers,
    ``context_pairs(record, max_pairs)``) and writes with it: X is superseded. Before
    the review the merge's clocks held five pairs (the policy's four and X's own),
    the context dropped X's, the oldest, and X stayed after every such put
    (``[X, w0]`` ... ``[X, w4]``)."""
    lone = _put(Record.empty(mode), VClock(), b"X", "n1", "x", 0.0)
    chain = Record.empty(mode)
    for i in range(6):
        chain = _put(chain, context_clock(chain), b"v%d" % i, "n2", f"c{i}", 1.0 + i)
    record = merge(lone, chain)
    assert sorted(values(record)) == [b"X", b"v5"]
    # every pair of the record's clocks is in the context the cluster answers
    assert len(context_clock(record).pairs) <= SMALL.max_pairs
    context = VClock.of(dict(context_pairs(record, SMALL.max_pairs)))
    after = _put(record, context, b"w", "n1", "d", 10.0)
    assert values(after) == [b"w"]


def test_a_sibling_on_a_key_of_more_than_max_pairs_writers_is_resolved_and_the_key_stays_writable(
        ) -> None:
    """The same on three simulated nodes with the default policy (``vclock_max_pairs``
    50), client-vclock, ``max_siblings`` 2: X written through n3 alone (cut off,
    ``w=1``) while 55 clients read-modify-write through n1 within a minute; healed,
    ``[X, v54]``. A client reads and writes back the merge: one value. Before the
    review X stayed after every read-modify-write (the context, pruned to 50 pairs,
    lacked X's own pair), and a blind write was refused for good ("more than 2
    siblings: read and reconcile them first", which no reconciling could do)."""
    with SimulatedCluster(nodes=3, n=3, r=2, w=2, seed=1, clock="client-vclock",
                          max_siblings=2) as cluster:
        cluster.partition({"n3"}, {"n1", "n2"})
        cluster.client("n3", client_id="x").put(KEY, b"X", w=1)
        for i in range(55):
            client = cluster.client("n1", client_id=f"c{i}")
            client.put(KEY, b"v%d" % i, context=client.get(KEY).context)
        cluster.heal()
        cluster.run_until_quiet()
        reader = cluster.client("n1", client_id="reader")
        read = reader.get(KEY, r=3)
        # (since session 35's schedule also v4: n1's resend of v4's ReplicaPut to n3
        # lands after the heal, and v54's clock, truncated to 50 pairs, lacks c4's
        # pair, so v4 is a sibling again: the truncation's false sibling, Dynamo 4.4)
        assert {b"X", b"v54"} <= set(read.values) <= {b"X", b"v4", b"v54"}
        reader.put(KEY, b"merged", context=read.context)
        cluster.run_until_quiet()
        assert cluster.client("n2").get(KEY, r=3).values == [b"merged"]
        cluster.client("n2", client_id="blind").put(KEY, b"B")
        cluster.run_until_quiet()
        assert sorted(cluster.client("n3").get(KEY, r=3).values) == [b"B", b"merged"]


@pytest.mark.parametrize("mode", [ClockMode.CLIENT_VCLOCK, ClockMode.SERVER_VCLOCK])
def test_a_read_modify_write_of_everything_resolves_every_random_history(
        mode: ClockMode) -> None:
    """The random histories of ``test_truncation_histories`` (five skewed nodes, a
    3/6-pair policy), then one read-modify-write: a client reads the merge of every
    node's record with the context the cluster answers (``max_pairs`` pairs at
    most) and writes through n1 holding that merge; its value is all that is left.
    Before the review (own pairs kept beside ``max_pairs``) the context lacked a
    sibling's own pair in 11 of 40 client-vclock histories and none of the 40
    server-vclock ones, and that sibling stayed."""
    stuck = {}
    for seed in range(40):
        history = play(mode, seed)
        final = merge_all(mode, history.records.values())
        context = VClock.of(dict(context_pairs(final, POLICY.max_pairs)))
        after = apply_put(final, context, b"resolved", coordinator="n1",
                          client_id="resolver", actor="n1.resolver",
                          now=history.now + 1.0, truncation=POLICY)
        if values(after) != [b"resolved"]:
            stuck[seed] = values(after)
    assert stuck == {}


#: three pairs kept, six at most, pairs a minute older than the newest old
AGED = Truncation(threshold=3, max_pairs=6, young_s=0.0, old_s=60.0)


@pytest.mark.xfail(strict=True, reason="open (session 30's review): in server-vclock a put "
                   "through a coordinator holding a concurrent sibling counts its actor's "
                   "pair above the sibling's, so the sibling's own pair does not set it "
                   "apart; truncation may drop the pair that does; a fix would change the "
                   "mode's minting, weighed and not done (docs/runtime.md, 'Truncation: the "
                   "three open cases (session 31)')")
def test_server_vclock_a_sibling_of_a_put_through_the_same_coordinator_survives_truncation(
        ) -> None:
    """Server-vclock, a 3/6-pair policy: v0..v3 through b, c, d, e; bob reads v3. X
    is written with a context read elsewhere through x, which missed the key and
    whose clock is two days behind (its pairs stamped two days old). Alice reads X
    and writes S through a; bob writes V through a with the context he read before
    X. S and V are concurrent (S holds x, V does not: without truncation both
    stay), but V's pair a is at 2, above S's 1 (a held S), so S's own pair does not
    set it apart; the age rule drops x, and V dominates S: ``[V]``, the
    acknowledged S lost. Client-vclock has no such case (a put by another client
    increments another entry, one by the same client that did not read S a fresh
    one)."""
    mode = ClockMode.SERVER_VCLOCK

    def put(record: Record, context: VClock, value: bytes, node: str, now: float) -> Record:
        return apply_put(record, context, value, coordinator=node, client_id="",
                         now=now, truncation=AGED)

    record = Record.empty(mode)
    for i, node in enumerate(["b", "c", "d", "e"]):
        record = put(record, context_clock(record), b"v%d" % i, node, 1000.0 + i)
    bob = context_clock(record)
    record = merge(record, put(Record.empty(mode), bob, b"X", "x", 1000.0 - 2 * 86400))
    alice = context_clock(record)
    with_s = put(record, alice, b"S", "a", 1010.0)
    assert values(with_s) == [b"S"]
    assert sorted(values(put(with_s, bob, b"V", "a", 1011.0))) == [b"S", b"V"]


def test_own_pair_is_the_youngest_an_undated_pair_the_oldest_ties_by_id() -> None:
    """``own_pair``: the youngest pair by time; a pair with no time (a record written
    before session 15 stamped pairs) counts as the oldest, as ``VClock.prune`` has
    it; a tie (a server-vclock record written before session 30 stamped its put's
    pair level with undated context pairs) goes to the larger node id, the pair
    ``prune`` keeps last; the empty clock has none. A mutant counting an undated
    pair youngest survived session 30's review until this test."""
    assert own_pair(VClock.of({"a": 1, "b": 2}, {"b": 1.0})) == "b"
    assert own_pair(VClock.of({"a": 1, "b": 2}, {"a": 1.0})) == "a"
    assert own_pair(VClock.of({"a": 1, "b": 1}, {"a": 1.0, "b": 1.0})) == "b"
    assert own_pair(VClock.of({"a": 1, "b": 1}, {"a": 2.0, "b": 1.0})) == "a"
    assert own_pair(VClock.of({"a": 3})) == "a"
    assert own_pair(VClock()) is None
