"""dvv: the value-less entries of retired lifetime actors are pruned (session 33).

With an actor per start (``ClusterConfig.actor_per_start``, kv679's fix) every
lifetime of a node that coordinated a put of a key left an entry in its DVVSet;
none was ever pruned, and a key read-modify-written through restarted nodes was
refused over ``max_record_bytes`` though it held one value (session 32's data-loss
probe, tests/impl/test_data_loss_probe.py). A start retires the actor before it
(:func:`impl.versions.lifetime_actor`), gossiped (:mod:`impl.retired`), and every
write of a dvv record drops the value-less entries of retired lifetimes, the
oldest first, past :data:`impl.versions.RETIRED_BYTES_KEPT` of them
(:func:`impl.versions.prune_retired`). The tests: the growth is bounded (three ways
of restarting); a live actor's entry is never pruned (else its node mints a dot
again and a context covering it supersedes an acknowledged write unseen); no
sibling is lost; and the cost, a stale copy of a value whose dot only a pruned
entry covered, comes back as a false sibling.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from impl import versions
from impl.cluster import SimulatedCluster
from impl.errors import BadMessageError
from impl.messages import Gossip
from impl.records import ClockMode, Record
from impl.storage.memory import MemoryStorage
from impl.versions import (
    decode_retired,
    encode_record,
    encode_retired,
    prune_retired,
)
from spec import dvv

#: session 32's probe: dvv, the largest value the record limit admits (4096 B: the
#: value, SIBLING_OVERHEAD_BYTES 1024 of metadata, a 64-byte header)
_LIFETIMES: dict[str, Any] = {"nodes": 3, "n": 3, "r": 2, "w": 2, "seed": 1, "clock": "dvv",
                              "max_record_bytes": 4096, "max_value_bytes": 3008}
#: the entries a one-value record of the probe keeps: the value-less entries of
#: retired lifetimes that fit RETIRED_BYTES_KEPT (``n1~<12 hex>`` and a counter: 23
#: bytes), the three nodes' newest lifetimes, and per node one more whose
#: retirement the replica heard only after it last wrote the key (a record is
#: pruned when it is written)
_MOST_ENTRIES = 22 + 3 + 3
#: the retired lifetimes of one node whose entries fit RETIRED_BYTES_KEPT (512 // 23;
#: a literal, so that a mutant of the budget does not move the tests' expectations)
_KEPT_LIFETIMES = 22


def kv679_sequence(cluster: SimulatedCluster) -> tuple[Any, list[bytes]]:
    """Riak kv679's shape on key ``k``: alice writes v1 through n1 and v2 through
    n2, bob reads (``seen``), carol writes v3 blind through n1 (n1 mints its next
    dot), bob writes v4 with his stale context through n2; returns bob's read and
    the final sorted values at R = 3. v3 survives only if n1 kept its live entry's
    counter (a pruned live entry re-mints a dot n2 already covers)."""
    alice = cluster.client("n1", client_id="alice")
    alice.put(b"k", b"v1", alice.get(b"k").context)
    alice.put(b"k", b"v2", alice.get(b"k").context, coordinator="n2")
    bob = cluster.client("n2", client_id="bob")
    seen = bob.get(b"k")
    cluster.client("n1", client_id="carol").put(b"k", b"v3", coordinator="n1")
    bob.put(b"k", b"v4", seen.context)
    return seen, sorted(bob.get(b"k", r=3).values)


def _entries(record: Record | None) -> int:
    return 0 if record is None else len(record.dvvset.entries)


def _restart_and_write(cluster: SimulatedCluster, rounds: int, order: list[str], *,
                       pause_s: float = 0.0, done: list[int] | None = None) -> list[int]:
    """``rounds`` times: restart the next node of ``order`` (in turn), read ``k``
    through it and write a 3008-byte value with the read's context (each round that
    wrote is added to ``done``), then let ``pause_s`` virtual seconds pass. Returns
    the largest record (bytes) any replica held after each round. Raises what the
    put raises."""
    largest: list[int] = []
    for round_ in range(rounds):
        name = order[round_ % len(order)]
        cluster.crash(name)
        cluster.restart(name)
        client = cluster.client(name, client_id="c")
        read = client.get(b"k")
        assert len(read.values) == (1 if round_ else 0)
        client.put(b"k", bytes([65 + round_ % 26]) * 3008, read.context)
        if done is not None:
            done.append(round_)
        if pause_s:
            cluster.run_for(pause_s)
        largest.append(max(len(encode_record(r)) for r in cluster.replicas(b"k").values()
                           if r is not None))
    return largest


@pytest.mark.parametrize("order", [["n1", "n2", "n3"], ["n1"], ["n2", "n2", "n3"]],
                         ids=["rotating", "same-node", "mixed"])
def test_a_one_value_record_stays_bounded_through_sixty_restarted_coordinators(
        order: list[str]) -> None:
    """60 read-modify-writes of one key, each through a node just restarted (in turn
    through the three, always the same one, or two of them): every replica's record
    stays within ``max_record_bytes`` at every round and ends with at most
    :data:`_MOST_ENTRIES` (28) entries. Before the fix the 38th put was refused
    (4124 B, 37 entries); figures after 60 rounds (rotating): 3747 B, 25 entries;
    same node: 3689 B, 23 entries. The
    retirements reach the peers by the restarted node's shadow-round gossip
    (:meth:`impl.node.Node.start`): no gossip round runs between these restarts
    (about 10 ms of virtual time each). Mixed, seed 1: a regression test of session
    35's review too (before its fix a get through the restarted n2 failed, R = 2 not
    reached: n1 and n3 dropped n2's messages as from a rolled-back store, its
    previous start's anti-entropy roots arriving after its shadow round told them
    the new start; :meth:`impl.restore_guard.RestoreGuard.superseded`)."""
    with SimulatedCluster(**_LIFETIMES) as cluster:
        largest = _restart_and_write(cluster, 60, order)
        assert max(largest) <= 4096, largest
        stored = cluster.replicas(b"k")
        assert all(_entries(r) <= _MOST_ENTRIES for r in stored.values()), \
            {n: r and [e.id for e in r.dvvset.entries] for n, r in stored.items()}
        assert {len(versions.values(r)) for r in stored.values() if r is not None} == {1}


def test_without_the_restore_guard_gossip_rounds_carry_the_retirements() -> None:
    """``restore_guard = false``: a start sends no shadow-round gossip, so the peers
    learn a retirement at the next gossip round; with two rounds' time between the
    restarts the record stays bounded as above (without it, see
    tests/impl/test_data_loss_probe.py: refused at round 52)."""
    with SimulatedCluster(**_LIFETIMES, restore_guard=False) as cluster:
        largest = _restart_and_write(cluster, 45, ["n1", "n2", "n3"],
                                     pause_s=2 * cluster.config.gossip_interval)
        assert max(largest) <= 4096, largest
        assert all(_entries(r) <= _MOST_ENTRIES for r in cluster.replicas(b"k").values())


@pytest.mark.parametrize("told", [False, True], ids=["", "told-retired"])
@pytest.mark.parametrize("lifetimes", [1, 30])
def test_a_live_actors_value_less_entry_is_kept_so_its_node_mints_no_dot_again(
        lifetimes: int, told: bool) -> None:
    """Node n1 restarted and writing the key once (it knows a retired actor) or 30
    times (its retired lifetimes' entries over
    :data:`impl.versions.RETIRED_BYTES_KEPT`, so pruning runs), then: alice
    reads, writes v2 through n2 (n1's current actor's entry holds no value from then
    on), bob reads (his context covers n1's dot),
    carol writes v3 blind through n1, and bob writes v4 with his context. v3 is
    concurrent with bob's read: it must survive as v4's sibling. A pruning that
    dropped n1's live entry made n1 mint its dot (n1~..., 1) again for v3, which
    bob's context covers: v3, acknowledged, gone (kv679's loss).

    ``told-retired`` (session 33's review): n2 and n3 are also told that n1's live
    actor is retired, the oldest of n1's (a stale or lying gossip, a copy of n1's
    store started elsewhere, which retires the actor the original still mints
    under), so they prune its entry: v1 comes back as a false sibling (n2 coordinates
    v2 and drops n1's entry that covers v1, n1 still holds v1), but nothing is lost,
    since only n1 mints its dots and n1 never prunes its own live actor's entries
    from its copy."""
    with SimulatedCluster(**_LIFETIMES) as cluster:
        for i in range(lifetimes):
            cluster.crash("n1")
            cluster.restart("n1")
            warm = cluster.client("n1", client_id="warm")
            warm.put(b"k", b"w%d" % i, warm.get(b"k").context)
        if told:
            lie = Gossip(cluster.node("n1").gossiper.view.to_bytes(),
                         retired=encode_retired({cluster.node("n1").actor: 0}))
            for name in ("n2", "n3"):
                cluster.node(name).receive(cluster.now, "n1", lie)
        assert len(cluster.node("n1").retired.known) >= lifetimes  # (the first start too)
        assert _entries(cluster.replicas(b"k")["n1"]) <= _KEPT_LIFETIMES + 1  # (pruned)
        seen, final = kv679_sequence(cluster)
        assert b"v3" in final, final  # carol's acknowledged write
        if told:  # (v1 may come back: n2 pruned n1's value-less entry covering it)
            assert {b"v3", b"v4"} <= set(final) <= {b"v1", b"v3", b"v4"}, final
        else:
            assert seen.values == [b"v2"] and final == [b"v3", b"v4"]
        live = cluster.node("n1").actor
        assert all(any(e.id == live for e in r.dvvset.entries)
                   for n, r in cluster.replicas(b"k").items()
                   if r is not None and (n == "n1" or not told))


def test_concurrent_siblings_written_through_restarted_nodes_all_survive() -> None:
    """Nine blind puts by nine clients, each through a node just restarted, then a
    tenth client chaining 40 puts through restarted nodes, each with the context its
    previous put answered (which covers none of the nine): the entries of the
    chain's superseded lifetimes push the record past
    :data:`impl.versions.RETIRED_BYTES_KEPT`, and the nine blind values' lifetimes
    are by then the oldest retired ones. All nine and the chain's last value stay
    siblings on every replica: pruning never drops an entry holding a value."""
    with SimulatedCluster(**{**_LIFETIMES, "max_record_bytes": 0,
                             "max_value_bytes": 1 << 20}) as cluster:
        blind = []
        for i in range(9):
            name = f"n{1 + i % 3}"
            cluster.crash(name)
            cluster.restart(name)
            value = b"blind-%d" % i
            cluster.client(name, client_id=f"w{i}").put(b"k", value, coordinator=name)
            blind.append(value)
        context = b""
        for i in range(40):
            name = f"n{1 + i % 3}"
            cluster.crash(name)
            cluster.restart(name)
            context = cluster.client(name, client_id="chain").put(
                b"k", b"chain-%d" % i, context, coordinator=name).context
        cluster.run_for(5 * cluster.config.gossip_interval)
        expected = sorted([*blind, b"chain-39"])
        for name, record in cluster.replicas(b"k").items():
            assert record is not None and sorted(versions.values(record)) == expected, name
            assert _entries(record) < 50, name  # (pruned: 9 + 40 + 3 lifetimes wrote)
        assert sorted(cluster.client("n1").get(b"k", r=3).values) == expected


def _stale_copy(later_lifetimes: int, *, delete: bool = False) -> list[bytes]:
    """n3 down holding v0 (n1's dot); n1 restarted ``later_lifetimes`` times, each
    lifetime read-modify-writing the key (n1, n2 acknowledge; n1 keeps a hint for
    n3), then (``delete``) the key deleted; n3 back, everything delivered: the
    values a get answers."""
    with SimulatedCluster(**_LIFETIMES) as cluster:
        client = cluster.client("n1", client_id="c")
        client.put(b"k", b"v0", coordinator="n1")
        cluster.crash("n3")
        for i in range(later_lifetimes):
            cluster.crash("n1")
            cluster.restart("n1")
            read = client.get(b"k", coordinator="n1")
            client.put(b"k", b"v%d" % (i + 1), read.context, coordinator="n1")
        if delete:
            client.delete(b"k", coordinator="n1")
        # the last put's coordination over (its retries to n3 ended): n3 hears only
        # copies pruned by their writers (since session 39 a put is replicated whole,
        # and its retry to n3 returning at once covers v0: tests/impl/
        # test_prune_emptied_entries.py)
        cluster.run_for(5.0)
        cluster.restart("n3")
        cluster.run_for(30.0)
        return sorted(cluster.client("n2").get(b"k", r=3).values)


def test_a_stale_copy_within_the_kept_lifetimes_is_superseded() -> None:
    """The copy v0 on n3 missed the puts of 22 later lifetimes of n1 (the entries of
    n1's 22 newest retired lifetimes fit :data:`impl.versions.RETIRED_BYTES_KEPT`):
    it goes when n3 hears the key again."""
    assert _stale_copy(_KEPT_LIFETIMES) == [b"v%d" % _KEPT_LIFETIMES]


def test_a_stale_copy_older_than_the_kept_lifetimes_comes_back_as_a_false_sibling() -> None:
    """The documented cost (Riak's "pruning may cause siblings", riak_core #613;
    docs/impl.md, "Disk loss and key amnesia"): v0 on n3 missed the puts of 23
    later lifetimes of n1; the entry of v0's lifetime, holding no value, retired and
    the oldest past the budget, was pruned, so nothing the others hold covers v0's
    dot and it comes back beside v23 (a false sibling: a put with a read's context
    supersedes both). Nothing is lost."""
    assert _stale_copy(_KEPT_LIFETIMES + 1) == [b"v0", b"v%d" % (_KEPT_LIFETIMES + 1)]


# ------------------------------------------------------------------ the pure rule


def _record(*entries: tuple[str, int, list[bytes]]) -> Record:
    return Record(ClockMode.DVV, dvvset=dvv.DVVSet.of(entries))


def test_prune_retired_drops_the_oldest_retired_value_less_entries_past_the_budget() -> None:
    """Node a's retired lifetimes a~..01 to a~..04 (ranks 1-4) hold value-less entries
    of 118 bytes (ids and counters): a~..01 (74: itself, its key epoch ``.2`` and its
    pair with alice), a~..03 and a~..04 (22 each); a~..02 holds a value, and so does
    a~..01's pair with bob. Past a budget of 50 the oldest lifetime's value-less
    entries go (a~..01's three; its pair with bob stays); past 20 the
    next ones too (a~..02 holds a value and stays; a~..03, then a~..04); within
    118 nothing goes. The undeclared a~..05 and a~..06, b's entries (b retired none)
    and a plain id always stay, and so does a lifetime named ``live`` whatever the
    knowledge says. Pruning twice changes nothing."""
    a = [f"a~0000000000{i:02d}" for i in range(1, 7)]
    record = _record((a[0], 3, []), (f"{a[0]}.2", 1, []), (f"{a[0]} alice", 2, []),
                     (f"{a[0]} bob", 1, [b"y"]), (a[1], 2, [b"x"]), (a[2], 1, []),
                     (a[3], 1, []), (a[4], 4, []), (a[5], 1, []), ("b~00000000000b", 7, []),
                     ("plain", 2, []))
    retired = {a[0]: 1, a[1]: 2, a[2]: 3, a[3]: 4}
    others = [a[4], a[5], "b~00000000000b", "plain"]
    pruned = prune_retired(record, retired, budget=50, newest_kept=0)
    assert [e.id for e in pruned.dvvset.entries] == [f"{a[0]} bob", a[1], a[2], a[3],
                                                      *others]
    assert prune_retired(pruned, retired, budget=50, newest_kept=0) == pruned
    assert [e.id for e in prune_retired(record, retired, budget=20,
                                        newest_kept=0).dvvset.entries] == [
        f"{a[0]} bob", a[1], *others]
    # session 39: the newest retired lifetime (a~..04) is kept whatever its bytes
    assert [e.id for e in prune_retired(record, retired, budget=20).dvvset.entries] == [
        f"{a[0]} bob", a[1], a[3], *others]
    assert prune_retired(record, retired, budget=118) is record
    assert prune_retired(record, {}, budget=0) is record
    kept = {e.id for e in prune_retired(record, retired, live=(a[0],), budget=0,
                                        newest_kept=0).dvvset.entries}
    assert {a[0], f"{a[0]}.2", f"{a[0]} alice", a[1]} <= kept and a[2] not in kept


def test_retired_actors_round_trip_and_malformed_text_is_refused() -> None:
    retired = {"n1~0123456789ab": 3, "n2~ba9876543210": 1}
    assert decode_retired(encode_retired(retired)) == retired
    assert decode_retired(b"") == {}
    for bad in (b"x n1~0123456789ab", b"3 n1", b"3 n1~0123456789AB", b"\xff",
                b"-1 n1~0123456789ab", b"3 ~0123456789ab"):
        with pytest.raises(BadMessageError):
            decode_retired(bad)
    with pytest.raises(BadMessageError):
        decode_retired(b"\n".join([b"1 n1~0123456789ab"] * 5), limit=4)


def test_a_start_retires_only_its_own_previous_actor() -> None:
    """Each start retires the actor before it (ranked by its start time in
    milliseconds, or the start count if higher: session 49); a store
    copied from another node (an actor of another name) retires nothing of it;
    ``per_start = False`` on a durable engine keeps the actor and retires none."""
    storage = MemoryStorage()
    first = versions.lifetime_actor(storage, "n1", seed=1, now=0.0)
    second = versions.lifetime_actor(storage, "n1", seed=1, now=1.0)
    versions.lifetime_actor(storage, "n1", seed=1, now=2.0)
    assert versions.read_retired(storage) == {first: 1, second: 1000}
    copied = MemoryStorage()
    versions.lifetime_actor(copied, "n9", seed=1, now=0.0)
    versions.lifetime_actor(copied, "n1", seed=1, now=1.0)
    assert versions.read_retired(copied) == {}
    kept = MemoryStorage()
    versions.lifetime_actor(kept, "n1", seed=1, now=0.0, per_start=False)
    versions.lifetime_actor(kept, "n1", seed=1, now=1.0, per_start=False)
    assert versions.read_retired(kept) == {}


def test_a_gossip_without_retired_actors_is_the_earlier_frame() -> None:
    """``Gossip.retired`` is a ``tailblob`` after ``beats`` (impl.wire): empty, it is
    not written, so a node of an earlier version reads the frame, and the earlier
    frame reads as none; given, the floor and the beats before it are written (empty)
    and it round-trips."""
    from impl.wire import decode, encode
    bare = Gossip(b"{}", reply=True)
    told = Gossip(b"{}", reply=True, retired=b"1 n1~0123456789ab")
    assert len(encode(told)) == len(encode(bare)) + 8 + 4 + 4 + 17
    assert decode(encode(bare)).retired == b""
    assert decode(encode(told)) == told


def test_a_node_keeps_what_it_heard_of_retirements_across_its_restart() -> None:
    """n2 hears n1's retirements (n1's shadow-round gossip at each start), keeps them
    in its ``retired-known`` meta entry, and knows them after its own restart (then
    also its own actor before it); a peer's actor is never taken as this node's own
    current one, and what a node gossips names only retired actors."""
    with SimulatedCluster(**_LIFETIMES) as cluster:
        for _ in range(3):
            cluster.crash("n1")
            cluster.restart("n1")
            cluster.run_for(0.5)
        heard = dict(cluster.node("n2").retired.known)
        assert heard == cluster.node("n1").retired.known and len(heard) == 3
        before = cluster.node("n2").actor
        cluster.crash("n2")
        cluster.restart("n2")
        known = cluster.node("n2").retired.known
        assert known.items() >= heard.items() and before in known
        assert cluster.node("n2").actor not in known
        live = {cluster.node(n).actor for n in cluster.node_names}
        assert not live & decode_retired(cluster.node("n2").retired.to_gossip()).keys()


def test_a_malformed_retired_field_drops_the_gossip_and_teaches_nothing() -> None:
    """A gossip whose ``retired`` field does not parse is dropped whole (the peer's
    fault, ``PEER_DATA["retired"]``): nothing of it is taken."""
    with SimulatedCluster(**_LIFETIMES) as cluster:
        node = cluster.node("n1")
        view = cluster.node("n2").gossiper.view.to_bytes()
        known = dict(node.retired.known)
        bad = b"7 n2~0123456789ab\n1 not-an-actor"
        assert node.receive(cluster.now, "n2", Gossip(view, retired=bad)) == []
        assert node.retired.known == known
        assert node.log[-1].endswith("(peer data: retired)"), node.log[-1]


def test_a_deleted_value_older_than_the_kept_lifetimes_comes_back() -> None:
    """The cost over a tombstone (docs/impl.md, "Disk loss and key amnesia"): the
    stale copy v0 of a key deleted after 23 later lifetimes of n1 wrote it comes back
    alone once n3 returns (a get answers ``[v0]``: the deleted value back, until a
    delete or a put with its context removes it again); after 22, the delete holds
    (``[]``)."""
    assert _stale_copy(_KEPT_LIFETIMES, delete=True) == []
    assert _stale_copy(_KEPT_LIFETIMES + 1, delete=True) == [b"v0"]


def test_a_start_through_the_runtimes_group_commit_retires_the_actor_before(
        tmp_path: Path) -> None:
    """The runtime's group commit hides the kept actor from a fresh lifetime
    (``GroupCommit(fresh_lifetime=True)``, ``ACTOR_META``), so a start there saw no
    actor to retire and none was ever declared: a key read-modify-written through
    restarted ``vdynamo serve`` processes (3 nodes, 4096-byte records) was refused
    at round 36 as before the fix. The actor minted is kept under ``MINTED_META``
    too, which is not hidden."""
    from impl.storage.group_commit import GroupCommit
    from impl.storage.sqlite import SqliteStorage
    engine = SqliteStorage(tmp_path / "a.sqlite")
    first = versions.lifetime_actor(engine, "n1", seed=1, now=0.0)
    fresh = GroupCommit(engine, lambda sequence, error: None, fresh_lifetime=True)
    second = versions.lifetime_actor(fresh, "n1", seed=1, now=1.0)
    assert second != first and versions.read_retired(fresh) == {first: 1}
    fresh.close()


def test_what_a_node_gossips_of_retirements_stays_within_what_a_peer_decodes() -> None:
    """The newest ``GOSSIPED_PER_NODE`` (4 since session 33's carried retirements;
    32 before) retired actors of each node, at most ``RETIRED_WIRE_LIMIT`` (4096) in
    all: 1200 nodes of 8 retired actors each would be 4800 lines at 4 a node, which
    a peer refuses (the whole gossip dropped as malformed)."""
    from impl.retired import GOSSIPED_PER_NODE, RetiredActors
    storage = MemoryStorage()
    retired = RetiredActors(storage, "me~0123456789ab", enabled=True)
    for prefix in ("n", "m", "p"):  # (three gossips of 3200: a peer takes at most 4096)
        retired.take(encode_retired({f"{prefix}{n}~{n:06x}{i:06x}": i + 1
                                     for n in range(400) for i in range(8)}))
    assert len(retired.known) == 9600
    told = decode_retired(retired.to_gossip())
    assert len(told) == versions.RETIRED_WIRE_LIMIT
    assert min(told.values()) > 8 - GOSSIPED_PER_NODE  # each node's newest only


def test_a_gossip_naming_an_actor_longer_than_a_context_id_is_dropped() -> None:
    """Session 33's review: an actor id is at most 255 bytes (a context's id;
    :func:`impl.versions.lifetime_actor` replaces a longer name by a digest), so a
    gossip whose ``retired`` field names a longer one is the peer's bad data,
    dropped whole. Before, 4096 actors of 16 KiB each (64 MiB, within the frame
    limit) were taken, kept in ``retired-known`` and gossiped on by every node that
    heard them. The longest name :func:`impl.versions.lifetime_actor` makes is
    retired and gossiped."""
    longest = "é" * 121  # 242 bytes: the longest name kept whole in an actor id
    storage = MemoryStorage()
    first = versions.lifetime_actor(storage, longest, seed=1, now=0.0)
    versions.lifetime_actor(storage, longest, seed=1, now=1.0)
    assert len(first.encode()) == 255 and versions.read_retired(storage) == {first: 1}
    assert decode_retired(encode_retired({first: 1})) == {first: 1}
    with pytest.raises(BadMessageError):
        decode_retired(b"1 " + b"n" * 243 + b"~0123456789ab")
    with SimulatedCluster(**_LIFETIMES) as cluster:
        node = cluster.node("n1")
        view = cluster.node("n2").gossiper.view.to_bytes()
        known = dict(node.retired.known)
        huge = b"\n".join(b"%d %s~0123456789ab" % (i + 1, b"n" * (16 << 10))
                          for i in range(4))
        assert node.receive(cluster.now, "n2", Gossip(view, retired=huge)) == []
        assert node.retired.known == known and node.log[-1].endswith("(peer data: retired)")


def test_a_store_set_aside_takes_its_new_actor_and_tells_the_one_it_retired() -> None:
    """Session 33's review: a restored store set aside (``Node._set_aside``, the
    restore guard) takes a new lifetime actor mid-start, which retires the one it
    started with. Before, the node's pruning still named the old actor its own (the
    guard against a retirement known wrongly protected an actor no longer minted,
    not the live one) and the retirement reached the peers only at its next
    restart; now the live actor is the new one and the peers hear the retirement
    at the next gossip round."""
    import copy
    with SimulatedCluster(**_LIFETIMES) as cluster:
        cluster.client("n1").put(b"k", b"v0")
        cluster.crash("n3")
        backup = copy.deepcopy(cluster.storages["n3"].inner)
        cluster.restart("n3")
        cluster.run_until_quiet()
        cluster.crash("n3")
        cluster.storages["n3"].inner = backup
        cluster.restart("n3")
        started = cluster.node("n3").actor
        cluster.run_for(3 * cluster.config.gossip_interval)
        n3 = cluster.node("n3")
        assert n3.stats["restore-set-aside"] == 1 and n3.actor != started
        assert n3.retired.actor == n3.actor and n3.actor not in n3.retired.known
        assert started in n3.retired.known
        assert all(started in cluster.node(name).retired.known for name in ("n1", "n2"))


def test_a_restored_store_that_kept_its_actor_hears_it_retired_and_keeps_its_entries() -> None:
    """Session 33's review, the path where a live actor is one its peers heard
    retired: ``actor_per_start = false`` on a durable engine, n3's store restored
    from a backup, set aside by the restore guard (which retires the actor it
    started with, A), restarted, and restored from the same backup again: it starts
    with A once more (the kept actor), which n1 and n2 know retired. It never takes
    its own live actor as retired (its entries of A are not pruned by it), counts
    and logs what it heard (``retired-own-actor-heard``), and the restore guard sets
    the store aside again under a new actor."""
    import copy
    with SimulatedCluster(**_LIFETIMES, actor_per_start=False) as cluster:
        cluster.client("n1").put(b"k", b"v0")
        cluster.crash("n3")
        backup = copy.deepcopy(cluster.storages["n3"].inner)
        cluster.restart("n3")
        cluster.run_until_quiet()
        for restore in range(2):
            cluster.crash("n3")
            cluster.storages["n3"].inner = copy.deepcopy(backup)
            cluster.restart("n3")
            kept = cluster.node("n3").actor
            assert (kept in cluster.node("n1").retired.known) == (restore == 1)
            if restore == 0:
                cluster.run_for(3 * cluster.config.gossip_interval)
                cluster.crash("n3")
                cluster.restart("n3")  # (keeps the set-aside store's actor)
                cluster.run_for(3 * cluster.config.gossip_interval)
        n3 = cluster.node("n3")
        n3.receive(cluster.now, "n1", Gossip(cluster.node("n1").gossiper.view.to_bytes(),
                                             retired=cluster.node("n1").retired.to_gossip()))
        assert n3.actor == kept and kept not in n3.retired.known
        assert n3.stats["retired-own-actor-heard"] >= 1
        assert any(f"live actor {kept} retired" in line for line in n3.log)
        cluster.run_for(3 * cluster.config.gossip_interval)
        assert n3.stats["restore-set-aside"] == 1 and n3.actor != kept
        assert n3.retired.actor == n3.actor


def test_names_with_tildes_dots_and_digests_retire_and_prune_their_own_lifetimes() -> None:
    """Session 33's review: node names that contain ``~`` or ``.`` and names too long
    for an actor id (a digest replaces them) retire their own previous actor, and
    pruning maps a key epoch ``<lifetime>.<e>`` to its lifetime only: the live actor
    of node ``p~0123456789ab.7`` (whose name looks like a key epoch of a lifetime of
    node ``p``) keeps its entries when ``p``'s lifetime ``p~0123456789ab`` is
    retired, and so do its own key epochs."""
    for name in ("a~b.c", "n.5", "x" * 300):
        storage = MemoryStorage()
        first = versions.lifetime_actor(storage, name, seed=1, now=0.0)
        second = versions.lifetime_actor(storage, name, seed=1, now=1.0)
        assert versions.read_retired(storage) == {first: 1}, name
        record = _record((first, 2, []), (f"{first}.3", 1, []), (second, 1, []))
        assert [e.id for e in prune_retired(record, {first: 1}, budget=0,
                                            newest_kept=0).dvvset.entries] == [second], name
        assert prune_retired(record, {first: 1}, budget=0) == record, name  # (session 39)
    tricky = "p~0123456789ab.7~abcdefabcdef"
    record = _record(("p~0123456789ab", 1, []), ("p~0123456789ab.2", 1, []),
                     (tricky, 1, []), (f"{tricky}.4", 1, []))
    pruned = prune_retired(record, {"p~0123456789ab": 1}, budget=0, newest_kept=0)
    assert [e.id for e in pruned.dvvset.entries] == [tricky, f"{tricky}.4"]
