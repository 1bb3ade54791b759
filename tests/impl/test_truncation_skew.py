"""Clock truncation under clock skew: a write through a node whose wall clock is
behind must survive (session 15's probe A; the kinds of cases 03 and 05).

Each pair of a stored vector clock carries the time it was last incremented, and
truncation (paper 4.4; Riak's ``vclock:prune``) drops the oldest pairs: beyond
``vclock_threshold`` (10) pairs any older than ``vclock_old_s`` (a day) than the
record's newest, beyond ``vclock_max_pairs`` (50) the oldest whatever their age.
Until session 15 a put stamped the pair it increments with its coordinator's wall
clock. A coordinator whose clock was behind (a host booted without a real-time
clock, before NTP set it: ``NodeServer.now`` keeps the offset taken at the start)
stamped the one pair that orders the new version after what its client read as
the oldest; truncation dropped it, and the new version, acknowledged, became
equal to or dominated by the version it overwrote: a concurrent write erased it
(client-vclock, server-vclock: ``[OTHER]``, the right value ``[LATE, OTHER]``).
A coordinator that missed the version the client read (a replaced disk) left the
context's pairs without a time, the first truncated: its read-modify-write stayed
a sibling of what it overwrote (``[v11, LATE]``), or, with the clock behind, was
lost (``[v11]``). Now the new pair is stamped after every time the record holds,
and a context pair with no stored time as young (``impl.versions.apply_put``).
"""

from __future__ import annotations

import dataclasses
import random

import pytest

from impl.cluster import SimulatedCluster
from impl.errors import BadMessageError, DynamoError
from impl.records import ClockMode, Record, Sibling, Truncation, decode_record, encode_record
from impl.versions import apply_put, context_clock, merge, values
from spec.vclock import VClock, client_entry

KEY = b"k"
TWO_DAYS = 2 * 86400.0


def _eleven_pairs(cluster: SimulatedCluster, clock: str, quiet: bool = True) -> None:
    """12 read-modify-writes through n2, so the key's clock holds 12 pairs (above
    the threshold of 10): client-vclock, 12 clients; server-vclock, n2 restarted
    after each (a new actor per start); then the cluster run until quiet, unless
    ``quiet`` is False."""
    for i in range(12):
        client = cluster.client("n2", client_id=f"cl{i}")
        client.put(KEY, b"v%d" % i, context=client.get(KEY).context)
        if clock == "server-vclock":
            cluster.crash("n2")
            cluster.restart("n2")
            cluster.run_for(1.0)
    if quiet:
        cluster.run_until_quiet()


@pytest.mark.parametrize("clock", ["client-vclock", "server-vclock"])
def test_a_write_through_a_node_whose_clock_is_behind_survives_a_concurrent_one(
        clock: str) -> None:
    with SimulatedCluster(nodes=3, n=3, r=2, w=2, seed=2, clock=clock) as cluster:
        _eleven_pairs(cluster, clock)
        cluster.set_skew("n1", -TWO_DAYS)
        late, other = cluster.client("n1", client_id="late"), cluster.client("n2",
                                                                             client_id="other")
        read_late, read_other = late.get(KEY), other.get(KEY)
        late.put(KEY, b"LATE", context=read_late.context)  # acknowledged
        cluster.run_until_quiet()
        other.put(KEY, b"OTHER", context=read_other.context)  # concurrent, acknowledged
        cluster.run_until_quiet()
        assert sorted(cluster.client("n2").get(KEY, r=3).values) == [b"LATE", b"OTHER"]


def test_a_read_then_write_through_a_node_whose_clock_is_behind_supersedes_what_it_read(
        ) -> None:
    """Past ``vclock_max_pairs`` a clock 30 s behind is enough: the age rule is not
    needed, the new pair was the oldest of 50 young ones (before: ``[v54, LATE]``)."""
    with SimulatedCluster(nodes=3, n=3, r=2, w=2, seed=2, clock="client-vclock") as cluster:
        for i in range(55):
            client = cluster.client("n2", client_id=f"cl{i}")
            client.put(KEY, b"v%d" % i, context=client.get(KEY).context)
        cluster.run_until_quiet()
        cluster.set_skew("n1", -30.0)
        late = cluster.client("n1", client_id="late")
        late.put(KEY, b"LATE", context=late.get(KEY).context)
        cluster.run_until_quiet()
        assert cluster.client("n2").get(KEY, r=3).values == [b"LATE"]


@pytest.mark.parametrize("skew", [0.0, -TWO_DAYS])
@pytest.mark.parametrize("clock", ["client-vclock", "server-vclock"])
def test_a_read_then_write_through_a_node_that_missed_what_was_read_supersedes_it(
        clock: str, skew: float) -> None:
    """n1's disk is replaced; the client reads through n2 while n1 is cut off, then
    writes through n1, which holds nothing of the key (and no pair's time)."""
    with SimulatedCluster(nodes=3, n=3, r=2, w=2, seed=2, clock=clock) as cluster:
        _eleven_pairs(cluster, clock)
        cluster.wipe("n1")
        cluster.set_skew("n1", skew)
        cluster.partition({"n1"}, {"n2", "n3"})
        late = cluster.client("n2", client_id="late")
        read = late.get(KEY, coordinator="n2")
        cluster.heal()
        assert cluster.replicas(KEY)["n1"] is None
        late.put(KEY, b"LATE", context=read.context, coordinator="n1")  # acknowledged
        cluster.run_until_quiet()
        assert cluster.client("n2").get(KEY, r=3).values == [b"LATE"]


def test_a_cart_with_a_node_whose_clock_is_ahead_loses_no_acknowledged_add() -> None:
    """16 clients add to a set (get, union of the siblings, put with the context), four
    at a time through random coordinators of 5 nodes, a partition from step 20 to 35;
    n2's clock is 2 days ahead. Before: 106 of 240 acknowledged adds lost (once a
    write through n2 stamped a pair 2 days ahead, every later write through another
    node stamped its own pair older than a day by comparison, and the age rule
    dropped it at once). Now every later pair is stamped after n2's."""
    with SimulatedCluster(nodes=5, n=3, r=2, w=2, seed=1, clock="client-vclock") as cluster:
        cluster.set_skew("n2", TWO_DAYS)
        rnd = random.Random(1)
        clients = [cluster.client(client_id=f"cl{i}") for i in range(16)]
        acked: set[bytes] = set()
        for step in range(60):
            if step == 20:
                cluster.partition({"n1", "n2"}, {"n3", "n4", "n5"})
            if step == 35:
                cluster.heal()
            handles = []
            for i, client in enumerate(rnd.sample(clients, 4)):
                coordinator = rnd.choice(cluster.node_names)
                try:
                    read = client.get(b"cart", coordinator=coordinator)
                except DynamoError:
                    continue
                cart = {e for v in read.values for e in v.split(b",") if e}
                added = b"e%d-%d" % (step, i)
                handles.append((added, client.submit_put(
                    b"cart", b",".join(sorted(cart | {added})), context=read.context,
                    coordinator=coordinator)))
            cluster.wait([h for _, h in handles])
            acked |= {added for added, h in handles if h.error is None}
            cluster.run_for(rnd.random() * 3)
        cluster.run_until_quiet(max_time=900)
        final = {e for v in cluster.client().get(b"cart", r=3).values for e in v.split(b",")}
        assert len(acked) == 240
        assert sorted(acked - final) == []


def test_server_vclock_a_write_through_a_wiped_node_whose_clock_is_behind_and_a_concurrent_one(
        ) -> None:
    with SimulatedCluster(nodes=3, n=3, r=2, w=2, seed=2, clock="server-vclock") as cluster:
        _eleven_pairs(cluster, "server-vclock")
        cluster.wipe("n1")
        cluster.set_skew("n1", -TWO_DAYS)
        cluster.partition({"n1"}, {"n2", "n3"})
        late, other = cluster.client("n2", client_id="late"), cluster.client("n3",
                                                                             client_id="other")
        read_late, read_other = late.get(KEY, coordinator="n2"), other.get(KEY, coordinator="n3")
        cluster.heal()
        late.put(KEY, b"LATE", context=read_late.context, coordinator="n1")
        other.put(KEY, b"OTHER", context=read_other.context, coordinator="n3")
        cluster.run_until_quiet()
        assert sorted(cluster.client("n2").get(KEY, r=3).values) == [b"LATE", b"OTHER"]


@pytest.mark.parametrize("clock", ["client-vclock", "server-vclock"])
def test_a_sibling_survives_a_blind_write_through_a_node_whose_clock_is_ahead(
        clock: str) -> None:
    """X is written through n3 alone (cut off, ``w=1``) while 12 read-modify-writes
    go through n2: after the heal ``[X, v11]``. A blind put of Z through n1, whose
    clock is 2 days ahead, stamps its pair 2 days after every other, so the age rule
    (``vclock_old_s``, a day) drops the oldest pairs down to ``vclock_threshold``,
    X's own among them, and X, left with no pair above v11's, is dropped: ``[Z,
    v11]``. The same happens without skew once X stays unresolved for a day while
    the key takes more than ten other writers (docs/impl.md, the truncation costs)."""
    with SimulatedCluster(nodes=3, n=3, r=2, w=2, seed=2, clock=clock) as cluster:
        cluster.client("n2", client_id="w0").put(KEY, b"base")
        cluster.run_until_quiet()
        cluster.partition({"n3"}, {"n1", "n2"})
        x = cluster.client("n3", client_id="x")
        x.put(KEY, b"X", context=x.get(KEY, r=1).context, w=1)
        _eleven_pairs(cluster, clock, quiet=False)
        cluster.heal()
        cluster.run_until_quiet()
        assert sorted(cluster.client("n1").get(KEY, r=3).values) == [b"X", b"v11"]
        cluster.set_skew("n1", TWO_DAYS)
        cluster.client("n1", client_id="ahead").put(KEY, b"Z")
        cluster.run_until_quiet()
        assert sorted(cluster.client("n2").get(KEY, r=3).values) == [b"X", b"Z", b"v11"]


@pytest.mark.parametrize("clock", ["client-vclock", "server-vclock"])
def test_a_read_then_write_through_a_node_holding_an_older_time_of_a_read_pair_supersedes_it(
        clock: str) -> None:
    """Session 15's review: the coordinator holds the pair the client read, but at a
    lower counter, with the time of that older increment (it missed the write that
    incremented it again, a day later). It stamped the context's pair with that old
    time, truncation at the coordinator dropped the pair, and the new version no
    longer descended what its client read: ``[LATE, v12]`` (a stale sibling). The
    write of v12 goes through n3, whose pair (client-vclock: cl0's) is the oldest."""
    with SimulatedCluster(nodes=3, n=3, r=2, w=2, seed=2, clock=clock) as cluster:
        for i in range(12):
            client = cluster.client("n3" if i == 0 else "n2", client_id=f"cl{i}")
            client.put(KEY, b"v%d" % i, context=client.get(KEY).context)
            if clock == "server-vclock" and i:
                cluster.crash("n2")
                cluster.restart("n2")
                cluster.run_for(1.0)
        cluster.run_until_quiet()
        for name in cluster.node_names:  # two days pass, on every clock alike
            cluster.set_skew(name, TWO_DAYS)
        cluster.partition({"n1"}, {"n2", "n3"})
        again = cluster.client("n3", client_id="cl0")
        again.put(KEY, b"v12", context=again.get(KEY, coordinator="n3").context,
                  coordinator="n3")
        late = cluster.client("n2", client_id="late")
        read = late.get(KEY, coordinator="n2")
        assert read.values == [b"v12"]
        cluster.heal()
        late.put(KEY, b"LATE", context=read.context, coordinator="n1")  # acknowledged
        cluster.run_until_quiet()
        assert cluster.client("n2").get(KEY, r=3).values == [b"LATE"]


@pytest.mark.parametrize("mode", [ClockMode.CLIENT_VCLOCK, ClockMode.SERVER_VCLOCK])
def test_a_put_keeps_the_times_of_the_context_pairs_it_stores_so_old_pairs_still_age_out(
        mode: ClockMode) -> None:
    """Only the pair a put increments, and a context pair the coordinator holds no
    time for or an older counter of, is stamped young; a pair it stores at the
    context's counter keeps its stored time. Were every context pair stamped young,
    each read-modify-write would make the whole clock young and the age rule
    (``vclock_old_s``) would never drop a pair: clocks of keys written every day
    would grow to ``vclock_max_pairs`` (case 05's kind; session 15's review, a
    surviving mutant of ``>=`` into ``>``)."""
    policy = Truncation()
    record = Record.empty(mode)
    for i in range(12):
        record = apply_put(record, context_clock(record), b"v%d" % i, coordinator="n2",
                           client_id=f"cl{i}", actor=f"n2~{i}", now=float(i),
                           truncation=policy)
    assert len(context_clock(record).pairs) == 12
    later = apply_put(record, context_clock(record), b"late", coordinator="n1",
                      client_id="late", actor="n1~0", now=TWO_DAYS, truncation=policy)
    clock = later.siblings[0].clock
    assert len(clock.pairs) == policy.threshold  # the 2-day-old pairs went
    stored = dict(context_clock(record).times)
    assert all(stored[node] == when for node, when in clock.times
               if node not in {"late", "n1~0", client_entry("late", "n1~0")})


@pytest.mark.parametrize("mode", [ClockMode.LWW, ClockMode.CLIENT_VCLOCK,
                                  ClockMode.SERVER_VCLOCK])
def test_a_put_after_a_stamp_far_ahead_is_stamped_strictly_after_it(mode: ClockMode) -> None:
    """At 2**34 s (a clock set centuries ahead) a float's step is two ticks, and
    ``stamp + tick`` rounds back to ``stamp``: one tick after must still be later
    (``versions._after``'s ``nextafter``), or an lww read-then-write ties the
    version it read and loses by the writer's name (case 03's kind), and a
    vector-clock put's pair is no younger than the newest stored one (session 15's
    review, a surviving mutant)."""
    ahead = 2.0 ** 34
    clock = VClock() if mode is ClockMode.LWW else VClock.of({"z": 1}, {"z": ahead})
    stored = Record(mode, (Sibling(b"old", clock, ahead, "z"),))
    after = apply_put(stored, context_clock(stored), b"new", coordinator="a", client_id="a",
                      actor="a", now=1.0)
    assert values(after) == [b"new"]
    new = after.siblings[0]
    # the pair a put increments: the coordinator's actor in server-vclock, the pair of
    # actor and client in client-vclock (session 23: spec.vclock.client_entry)
    entry = client_entry("a", "a") if mode is ClockMode.CLIENT_VCLOCK else "a"
    assert (new.stamp if mode is ClockMode.LWW else new.clock.time_of(entry) or 0.0) > ahead


@pytest.mark.parametrize("mode", [ClockMode.CLIENT_VCLOCK, ClockMode.SERVER_VCLOCK])
def test_the_pair_a_put_increments_is_stamped_after_the_newest_stored_time(
        mode: ClockMode) -> None:
    """After the *newest* time the record holds, not merely after some time: with
    three stored pairs (times 1, 2, 3) and a policy keeping two, a put by a clock
    behind (``now`` 0) must keep its own pair and the newest stored one. A stamp
    just after the oldest stored time made the new pair the second oldest, the
    policy dropped it, and the new version's clock equalled the stored one's: the
    acknowledged write lost (session 15's review, a surviving mutant)."""
    policy = Truncation(threshold=2, max_pairs=2, young_s=0.0, old_s=0.0)
    clock = VClock.of({"a": 1, "b": 1, "x": 1}, {"a": 1.0, "b": 2.0, "x": 3.0})
    stored = Record(mode, (Sibling(b"old", clock, 3.0, "n2"),), truncation=policy)
    after = apply_put(stored, context_clock(stored), b"new", coordinator="n1",
                      client_id="c", actor="c", now=0.0, truncation=policy)
    assert values(after) == [b"new"]
    entry = client_entry("c", "c") if mode is ClockMode.CLIENT_VCLOCK else "c"
    assert after.siblings[0].clock.pairs == ((entry, 1), ("x", 1))


@pytest.mark.parametrize("mode", [ClockMode.CLIENT_VCLOCK, ClockMode.SERVER_VCLOCK])
def test_a_context_pair_newer_than_the_coordinator_holds_is_stamped_with_the_put_not_its_clock(
        mode: ClockMode) -> None:
    """The coordinator holds ``{a:1 @100, b:1 @101}``; the client read ``{a:2, b:1}``
    from a replica (a incremented there at 102); the coordinator's clock is behind
    (``now`` 0). The context's a:2 is stamped as the put's own pair, after the newest
    stored time, not with ``now``: stamped 0 it was the oldest, the coordinator's
    truncation (two pairs kept) dropped it, and on the replica the new version no
    longer descended what its client read (a stale sibling). Session 15's review, a
    surviving mutant (no simulated scenario reaches it without the open fault of a
    coordinator behind every replica's times)."""
    policy = Truncation(threshold=2, max_pairs=2, young_s=0.0, old_s=0.0)
    coordinator = Record(mode, (Sibling(b"v1", VClock.of({"a": 1, "b": 1},
                                                         {"a": 100.0, "b": 101.0}),
                                        101.0, "n1"),), truncation=policy)
    replica = Record(mode, (Sibling(b"v2", VClock.of({"a": 2, "b": 1},
                                                     {"a": 102.0, "b": 101.0}),
                                    102.0, "n2"),), truncation=policy)
    after = apply_put(coordinator, context_clock(replica), b"new", coordinator="n1",
                      client_id="c", actor="c", now=0.0, truncation=policy)
    assert values(after) == [b"new"]
    assert values(merge(replica, after)) == values(merge(after, replica)) == [b"new"]


@pytest.mark.parametrize("mode", [ClockMode.CLIENT_VCLOCK, ClockMode.SERVER_VCLOCK])
def test_the_new_pair_is_stamped_after_the_times_of_every_sibling(mode: ClockMode) -> None:
    """The newest stored time may be in any sibling's clock, not the first's (session
    15's review, a surviving mutant reading the first sibling's times only)."""
    first = Sibling(b"s1", VClock.of({"a": 1}, {"a": 1.0}), 1.0, "n1")
    second = Sibling(b"s2", VClock.of({"b": 1}, {"b": 5.0}), 5.0, "n2")
    for stored in (Record(mode, (first, second)), Record(mode, (second, first))):
        after = apply_put(stored, context_clock(stored), b"new", coordinator="n3",
                          client_id="c", actor="c", now=0.0)
        assert values(after) == [b"new"]
        entry = client_entry("c", "c") if mode is ClockMode.CLIENT_VCLOCK else "c"
        assert (after.siblings[0].clock.time_of(entry) or 0.0) > 5.0


def test_where_two_truncation_policies_meet_the_tighter_one_is_kept() -> None:
    """A put under one policy over a record written under another (the cluster's
    ``vclock_*`` settings changed, or replicas configured apart) and a merge of two
    such records keep the smaller policy (``Truncation``'s order: ``threshold``
    first), whichever side holds it: a cluster that lowered ``vclock_max_pairs``
    (and with it the ``max_context_bytes`` it admits) must not keep records under
    the old limit (session 15's review, a surviving mutant keeping the larger)."""
    mode = ClockMode.CLIENT_VCLOCK
    tight, loose = Truncation(threshold=2, max_pairs=3), Truncation()
    under_tight = apply_put(Record.empty(mode), VClock(), b"a", coordinator="n1",
                            client_id="ca", now=1.0, truncation=tight)
    under_loose = apply_put(Record.empty(mode), VClock(), b"b", coordinator="n2",
                            client_id="cb", now=1.0, truncation=loose)
    assert merge(under_tight, under_loose).truncation == tight
    assert merge(under_loose, under_tight).truncation == tight
    assert apply_put(under_tight, VClock(), b"c", coordinator="n1", client_id="cc", now=2.0,
                     truncation=loose).truncation == tight
    assert apply_put(under_loose, VClock(), b"c", coordinator="n1", client_id="cc", now=2.0,
                     truncation=tight).truncation == tight


def test_after_a_stamp_far_ahead_clocks_stay_bounded_and_the_age_rule_resumes() -> None:
    """The price of stamping after the newest time (session 15's review): one put
    through a clock 2 days ahead makes every later stamp of the key follow it, one
    tick apart, until the wall clocks pass it. Meanwhile the age rule
    (``vclock_old_s``) sees every later pair as young and drops none: the clock
    grows to ``vclock_max_pairs`` (50), never past it (case 05's bound holds); once
    time passes the stamp by a day, the pairs stamped in between age out as any."""
    policy = Truncation()
    mode = ClockMode.CLIENT_VCLOCK
    record = Record.empty(mode)
    writer = 0

    def put(now: float) -> None:
        nonlocal record, writer
        record = apply_put(record, context_clock(record), b"v%d" % writer, coordinator="n1",
                           client_id=f"c{writer}", now=now, truncation=policy)
        writer += 1

    for i in range(15):
        put(float(i))
    put(TWO_DAYS)  # the one put through a clock ahead
    for i in range(60):
        put(100.0 + i)  # every clock right again
    clock = context_clock(record)
    assert len(clock.pairs) == policy.max_pairs
    assert min(t for _, t in clock.times) > TWO_DAYS  # frozen at the stamp ahead
    for i in range(20):
        put(TWO_DAYS + policy.old_s + policy.young_s + 1.0 + i)
    assert len(context_clock(record).pairs) == 20  # the frozen pairs aged out


def _own_pair_truncated_then_a_stale_context(clock: str, forgetful: bool) -> list[bytes]:
    """Own-pair truncation (session 15, "(trunc)"): v0..v4 through n1 (its pair at
    5), carol reads them; 15 s on (``vclock_old_s`` 5 s, threshold 1) bob's
    read-modify-write B through n2 makes n1's pair the oldest, and every replica
    truncates it away. A blind Z through n1 is acknowledged, then carol writes C
    through n3 with the context she read before Z. Returns ``GET ?r=3``'s values
    once quiet; the right value is ``[B, C, Z]`` (C never saw Z). ``forgetful``:
    the client writing Z is a new client object under alice's id (client-vclock:
    its counter forgotten, as an HTTP client sending no counter)."""
    with SimulatedCluster(nodes=3, n=3, r=2, w=2, seed=1, clock=clock, vclock_threshold=1,
                          vclock_young_s=0.0, vclock_old_s=5.0) as cluster:
        alice = cluster.client("n1", client_id="alice")
        for i in range(5):
            alice.put(KEY, b"v%d" % i, context=alice.get(KEY).context)
        carol = cluster.client("n3", client_id="carol")
        stale = carol.get(KEY).context
        cluster.run_until_quiet()
        cluster.run_for(15.0)
        bob = cluster.client("n2", client_id="bob")
        bob.put(KEY, b"B", context=bob.get(KEY).context)
        cluster.run_for(0.5)
        writer = cluster.client("n1", client_id="alice") if forgetful else alice
        writer.put(KEY, b"Z", context=b"")  # acknowledged
        cluster.run_for(0.5)
        assert sorted(cluster.client("n2").get(KEY, r=3).values) == [b"B", b"Z"]
        carol.put(KEY, b"C", context=stale)  # acknowledged
        cluster.run_until_quiet()
        return sorted(cluster.client("n2").get(KEY, r=3).values)


def test_server_vclock_a_node_whose_own_pair_was_truncated_mints_under_a_fresh_actor() -> None:
    """Before: ``[B, C]``. Truncation dropped n1's pair from every replica's record,
    so n1 minted Z as (n1's actor, 1), a dot it had issued for v0; carol's context
    {n1: 5} covered it, and C, which never saw Z, superseded it (kv679's shape).
    Now a truncation dropping a pair of the node's own actor begins a key epoch
    (:func:`impl.versions.note_key_merge`): Z is minted under a fresh actor."""
    assert _own_pair_truncated_then_a_stale_context("server-vclock", False) == [b"B", b"C", b"Z"]


def test_client_vclock_a_client_that_keeps_its_counter_is_not_covered_by_a_stale_context(
        ) -> None:
    """The same in client-vclock, Z written by alice's client object, which keeps its
    counter (6, not 1): C does not cover Z."""
    assert _own_pair_truncated_then_a_stale_context("client-vclock", False) == [b"B", b"C", b"Z"]


def test_client_vclock_a_client_that_forgot_its_counter_after_its_pair_was_truncated() -> None:
    assert _own_pair_truncated_then_a_stale_context("client-vclock", True) == [b"B", b"C", b"Z"]


def _forgetful_records() -> tuple[Record, Record]:
    """client-vclock, threshold 1, old_s 5: alice's v0..v4 (her pair at 5), then
    bob's two read-modify-writes 15 s later: the first keeps alice's pair (the own
    pair of the version it supersedes, so that a replica still holding v4 drops it;
    session 30), the second truncates it away. Returns (the record before bob's
    puts, the record after)."""
    policy = Truncation(threshold=1, max_pairs=50, young_s=0.0, old_s=5.0)
    record = Record.empty(ClockMode.CLIENT_VCLOCK)
    for i in range(5):
        record = apply_put(record, context_clock(record), b"v%d" % i, coordinator="n1",
                           client_id="alice", now=float(i), truncation=policy)
    first = apply_put(record, context_clock(record), b"B0", coordinator="n2",
                      client_id="bob", now=20.0, truncation=policy)
    assert [s.clock.pairs for s in first.siblings] == [(("n1 alice", 5), ("n2 bob", 1))]
    after = apply_put(first, context_clock(first), b"B", coordinator="n2",
                      client_id="bob", now=20.0, truncation=policy)
    return record, after


def test_client_vclock_truncation_keeps_the_highest_dropped_counter_as_the_floor() -> None:
    """The record keeps the highest counter truncation dropped (alice's 5); a put by
    a client that forgot its counter mints above it (6, not 1), so a context read
    before the truncation ({alice: 5}) does not cover it. The floor survives the
    byte encoding and merges (the larger), and a record without one encodes as
    before (flag 1)."""
    before, after = _forgetful_records()
    assert before.floor == 0 and after.floor == 5
    assert [s.clock.pairs for s in after.siblings] == [(("n2 bob", 2),)]
    z = apply_put(after, VClock(), b"Z", coordinator="n1", client_id="alice", now=21.0)
    (minted,) = [s for s in z.siblings if s.value == b"Z"]
    assert minted.clock.counter("n1 alice") == 6 and z.floor == 5  # a put keeps it
    assert not VClock.of({"n1 alice": 5}).descends(minted.clock)
    assert decode_record(encode_record(after)) == after
    # the flag, the policy, the floor, the dropped pair (session 59: flag 3)
    assert after.dropped == (("n1 alice", 5),)
    assert encode_record(after)[-33 - 22:-32 - 22] == b"\x03"  # (22: 4 + 2 + 8 + 8)
    assert encode_record(dataclasses.replace(after, dropped=()))[-33:-32] == b"\x02"
    assert encode_record(before)[-25:-24] == b"\x01"
    assert merge(before, after).floor == 5 and merge(after, before).floor == 5
    carol = apply_put(Record.empty(ClockMode.CLIENT_VCLOCK), VClock(), b"C", coordinator="n3",
                      client_id="carol", now=20.5, truncation=after.truncation)
    assert carol.floor == 0  # a replica that never held alice's pair: the merge brings it
    assert merge(carol, after).floor == 5 and merge(after, carol).floor == 5


def test_a_floor_of_zero_is_refused_and_server_vclock_keeps_none() -> None:
    """Flag 2 with a floor of 0 is not canonical; server-vclock records keep no
    floor (its own pair's truncation begins a key epoch instead)."""
    _, after = _forgetful_records()
    raw = encode_record(dataclasses.replace(after, dropped=()))
    with pytest.raises(BadMessageError, match="floor of 0"):
        decode_record(raw[:-8] + bytes(8))
    policy = Truncation(threshold=1, max_pairs=50, young_s=0.0, old_s=5.0)
    record = Record.empty(ClockMode.SERVER_VCLOCK)
    for i, node in enumerate(["n1", "n1", "n2", "n2"]):
        record = apply_put(record, context_clock(record), b"v", coordinator=node,
                           client_id="", now=float(i * 10), truncation=policy)
    assert len(context_clock(record).pairs) == 1 and record.floor == 0


@pytest.mark.parametrize("mode", [ClockMode.CLIENT_VCLOCK, ClockMode.SERVER_VCLOCK])
def test_a_stamp_years_ahead_erases_no_unresolved_sibling_and_clocks_stay_bounded(
        mode: ClockMode) -> None:
    """Ages are measured from the record's newest pair, so one stamp by a clock ten
    years ahead makes every other pair of the record "old" to the age rule at once,
    and every later stamp follows it (session 15's hybrid time). X, written blind
    and never read, stays a sibling through it all (its own pair is kept,
    ``versions.truncate``; before session 30 the age rule dropped it and X was
    dominated by the chain: lost), while the join of the record's clocks stays
    within the policy's ``vclock_max_pairs`` (the own pairs count within it since
    session 30's review; before, one more pair per sibling)."""
    policy = Truncation()
    record = Record.empty(mode)

    def put(value: bytes, client: str, now: float, node: str = "n1",
            context: VClock | None = None) -> None:
        nonlocal record
        chain = [s for s in record.siblings if s.value != b"X"]
        seen = context if context is not None else context_clock(Record(mode, tuple(chain)))
        record = apply_put(record, seen, value, coordinator=node, client_id=client,
                           actor=f"{node}~{client}" if mode is ClockMode.SERVER_VCLOCK
                           else node, now=now, truncation=policy)
        assert len(record.siblings) <= 3
        assert len(context_clock(record).pairs) <= policy.max_pairs

    put(b"X", "x", 0.0, context=VClock())
    for i in range(15):
        put(b"v%d" % i, f"c{i}", 1.0 + i)
    put(b"Z", "z", 10 * 365 * 86400.0, node="n2", context=VClock())  # a clock years ahead
    for i in range(60):
        put(b"w%d" % i, f"d{i}", 100.0 + i)  # every clock right again, the chain reads Z
        assert b"X" in values(record)
    assert sorted(values(record)) == [b"X", b"w59"]


def test_the_cost_a_replica_cut_off_through_a_long_chain_brings_back_a_false_sibling(
        ) -> None:
    """Truncation's cost from session 30 to 58: n3 cut off after v2 while 32
    read-modify-writes of distinct clients run, the last 12 two days on, so the
    chain's clock dropped v2's own pair by age. Healed, n3's v2 could not be told from
    a write concurrent with the chain (its own pair is in no other clock), so it
    was kept as a false sibling (``[v2, v34]``; before session 30, ``[v34]``, and a
    truly concurrent X lost alike). Since session 59 the chain's records keep the
    pairs their cuts dropped (``Record.dropped``), v2's own pair among them, and v2
    goes: ``[v34]`` (a truly concurrent X is kept: its own pair was never cut,
    ``test_truncation_keeps_a_concurrent_version_whose_own_pair_is_old``); the next
    read-modify-write answers its value alone."""
    with SimulatedCluster(nodes=3, n=3, r=2, w=2, seed=1, clock="client-vclock") as cluster:
        def rmw(node: str, i: int) -> None:
            client = cluster.client(node, client_id=f"c{i}")
            client.put(KEY, b"v%d" % i, context=client.get(KEY).context)

        for i in range(3):
            rmw("n1", i)
        cluster.run_until_quiet()
        cluster.partition({"n3"}, {"n1", "n2"})
        for i in range(3, 23):
            rmw("n1", i)
        for name in cluster.node_names:
            cluster.set_skew(name, TWO_DAYS)
        for i in range(23, 35):
            rmw("n2", i)
        cluster.heal()
        cluster.run_until_quiet()
        assert sorted(cluster.client("n1").get(KEY, r=3).values) == [b"v34"]
        rmw("n1", 35)
        cluster.run_until_quiet()
        assert cluster.client("n2").get(KEY, r=3).values == [b"v35"]
