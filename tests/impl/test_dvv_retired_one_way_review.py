"""Review of session 35's one-way ask (docs/runtime.md, "Review of the one-way ask
(session 35)").

:meth:`impl.retired.RetiredActors.kept_pruned` took any value-less entry of a
lifetime actor that a one-way record lacks as the trace of a pruning upstream
whose retirement the receiver has not taken. With the byte budget
(:func:`impl.versions.prune_retired`, production's rule) that is not so: pruning
drops whole lifetimes, the oldest first, until the retired entries fit, so the
coordinator's pruning of a larger record may drop an entry (and then another
lifetime, which brings it well under the budget) that the receiver's merge,
holding fewer entries, keeps by the same rule and the same knowledge. The
receiver asked; the coordinator, knowing the same, learnt nothing, answered
nothing and wrote the entry back into its own copy; and where the get's read
repair that fed the put then reached the receiver, the receiver pruned it and the
coordinator alone kept it: copies equal on main left differing.
"""

from __future__ import annotations

from impl.cluster import SimulatedCluster
from impl.messages import KeyRecords, ReplicaPut
from impl.records import ClockMode, Record
from impl.retired import RetiredActors
from impl.storage.memory import MemoryStorage
from impl.versions import encode_record, encode_retired
from spec.dvv import DVVSet, Entry
from tests.impl.test_dvv_retired_carried import _stale_n3_back, _told, _unheard
from tests.impl.test_dvv_retired_one_way import _NO_HEALING, _sent, _shape

#: twelve retired lifetimes of a node n8 (ranks 0-11: the first the oldest) and
#: eleven of a node n9 (ranks 1-11), the oldest of n9's with a pair with a client
_N8 = [f"n8~{rank:012x}" for rank in range(12)]
_N9 = [f"n9~{rank:012x}" for rank in range(1, 12)]
_RANKS = {**{actor: rank for rank, actor in enumerate(_N8)},
          **{actor: rank for rank, actor in enumerate(_N9, 1)}}
_ALL = [*_N8, *_N9, _N9[0] + " c1"]


def _copy(value_less: list[str]) -> Record:
    """A one-value dvv record (written by a lifetime nobody retired) holding the
    value-less entries ``value_less``."""
    entries = [Entry(id_, 1, ()) for id_ in value_less]
    entries.append(Entry("n7~000000000001", 1, (b"v0",)))
    return Record(ClockMode.DVV, dvvset=DVVSet(
        tuple(sorted(entries, key=lambda entry: entry.id)), ()))


def test_a_merge_keeping_an_entry_whose_retirement_it_knows_asks_nothing() -> None:
    """Every node knows the 23 retirements. n1 and n2 hold their entries (written
    before they learnt them: 555 bytes of retired entries, over the 512 budget);
    n3 lacks n9's oldest lifetime (pruned before: 506, within it). A get and a put
    through n1: n1's pruning drops n8's oldest lifetime (age 11: 532, still over),
    then n9's oldest with its pair (483), and the ReplicaPut lacks n8's oldest;
    n3's merge holds it and 506 bytes, and keeps it. Before: n3 asked n1 (one
    KeyRecords of 3718 bytes, unanswered: n1 knows the same), n1 wrote the entry
    back into its copy, the get's read repair then made n3 prune it: n1
    ``(3718, 24)`` against ``(3689, 23)`` at n2 and n3, where main's copies
    agreed. Now n3 asks nothing (it knows that retirement: its own rule kept the
    entry) and the three copies are equal."""
    with SimulatedCluster(**_NO_HEALING) as cluster:
        for name in ("n1", "n2", "n3"):
            node = cluster.node(name)
            node.retired.take(encode_retired(_RANKS))
            held = _ALL if name != "n3" else [id_ for id_ in _ALL
                                              if not id_.startswith(_N9[0])]
            node.replica.store(b"k", encode_record(_copy(held)))
        exchanged = _sent(cluster, KeyRecords)
        client = cluster.client("n1", client_id="d")
        read = client.get(b"k", coordinator="n1")
        assert read.values == [b"v0"]
        client.put(b"k", b"d" * 3008, read.context, coordinator="n1")
        cluster.run_for(cluster.config.request_timeout)
        shapes = {name: _shape(record) for name, record in cluster.replicas(b"k").items()}
        assert not exchanged, ([(src, dest, m.reply, len(m.records[0]))
                                for src, dest, m in exchanged], shapes)
        assert cluster.node("n3").stats["one-way-pruned-asks"] == 0
        assert len(set(shapes.values())) == 1 and cluster.converged(b"k"), shapes


def test_an_entry_of_a_lifetime_the_receiver_knows_retired_is_no_trace() -> None:
    """:meth:`impl.retired.RetiredActors.kept_pruned`, the rule's row: the same
    merge, the same record, asks where the receiver never heard the retirement and
    not where it knows it (its pruning kept the entry)."""
    merged = _copy([_N8[0]])
    theirs = _copy([])
    unheard = RetiredActors(MemoryStorage(), "n3~0123456789ab", enabled=True)
    assert unheard.kept_pruned(merged, theirs)
    knowing = RetiredActors(MemoryStorage(), "n3~0123456789ab", enabled=True)
    knowing.take(encode_retired({_N8[0]: 0}))
    assert not knowing.kept_pruned(merged, theirs)
    knowing.take(encode_retired({_N8[1]: 1}))  # (another of n8's: still known)
    assert not knowing.kept_pruned(merged, theirs)
    assert knowing.kept_pruned(_copy([_N8[0], _N9[0]]), theirs)  # (n9's: unheard)


def test_the_ask_names_the_retirements_of_what_its_merge_pruned() -> None:
    """The ask is a record sent to be merged: it names the retirements its sender
    knows of the entries of its record and of what it pruned it from (the put's
    record), as every such message does (:mod:`impl.retired`). ``retired_keep``
    0 (every known retired lifetime pruned), no healing but the ask. n1 and n2
    know X's retirement, and their copies hold Y's entry (they never heard Y's);
    n3 knows Y's only, and its copy holds X's entry and Y's. A blind put through
    n1: its record holds Y's entry, lacks X's; n3's merge prunes Y's, keeps X's,
    and asks n1. Before: the ask named nothing (its record no longer held Y's
    entry, and n3 does not know X's), n1 kept Y's entry and n3 pruned it after
    the answer: n1 and n3 differing. Now n1 learns Y's retirement from the ask
    and prunes it too: n1's copy is n3's."""
    x, y = "n8~000000000001", "n9~000000000001"
    options = {**_NO_HEALING, "read_repair": False, "retired_keep": 0}
    with SimulatedCluster(**options) as cluster:
        for name, knows, held in (("n1", x, [y]), ("n2", x, [y]), ("n3", y, [x, y])):
            node = cluster.node(name)
            node.retired.take(encode_retired({knows: 1}))
            node.replica.store(b"k", encode_record(_copy(held)))
        exchanged = _sent(cluster, KeyRecords)
        cluster.client("n1", client_id="d").put(b"k", b"d", coordinator="n1")
        cluster.run_for(cluster.config.request_timeout)
        assert [(src, dest, m.reply) for src, dest, m in exchanged] == [
            ("n3", "n1", True), ("n1", "n3", False)]
        assert y in cluster.node("n1").retired.known
        copies = cluster.replicas(b"k")
        assert copies["n1"] == copies["n3"], {
            name: sorted(entry.id for entry in record.dvvset.entries)
            for name, record in copies.items() if record is not None}


def test_a_key_is_asked_of_again_once_request_timeout_passed() -> None:
    """:meth:`impl.antientropy.AntiEntropy.ask_pruned` holds a second ask of a key
    within ``request_timeout`` of the last (its answer is on its way), not later:
    the ask or its answer may be lost, and the next one-way message showing the
    trace asks again. Other keys are not held."""
    merged, theirs = _copy([_N8[0]]), _copy([])
    with SimulatedCluster(**_NO_HEALING) as cluster:
        n3 = cluster.node("n3")
        timeout = cluster.config.request_timeout

        def asks(now: float, key: bytes = b"k") -> int:
            return len(n3.anti_entropy.ask_pruned(now, "n1", key, theirs, merged, True))

        assert [asks(10.0), asks(10.0), asks(10.0 + timeout / 2), asks(10.0, b"j")] == [
            1, 0, 0, 1]
        assert asks(10.0 + timeout) == 1 and asks(10.0 + timeout) == 0
        assert n3.stats["one-way-pruned-asks"] == 3
        assert n3.stats["one-way-pruned-asks-held"] == 3


def test_a_put_names_the_retirements_of_what_it_pruned_from_its_context() -> None:
    """n3 back holding an entry of a lifetime of n1 that n1 and n2 pruned while it
    was down, its retirement unheard (:func:`_stale_n3_back`); read repair off. A
    client reads through n3 (the context names the entry: a get's reconciled
    record is not pruned) and writes through n1, whose stored copy lacks the
    entry: the put brings it back from the context and prunes it. Before, the
    ReplicaPut named the retirements of the stored copy's entries and the sent
    record's only, not that one: n3 kept the entry and made up for it by an ask
    and its answer (2 KeyRecords of 3747 bytes; 6 of the 9 asks of
    bench/one_way_asks.py). Now the put names it, n3 prunes it at the merge, and
    nobody asks."""
    with SimulatedCluster(**{**_NO_HEALING, "read_repair": False}) as cluster:
        stale, fresh, _ = _stale_n3_back(cluster, heard_last=False)
        unheard = _unheard(cluster, stale, fresh)
        read = cluster.client("n3", client_id="d").get(b"k", coordinator="n3")
        puts = _sent(cluster, ReplicaPut)
        exchanged = _sent(cluster, KeyRecords)
        cluster.client("n1", client_id="d").put(b"k", b"d" * 3008, read.context,
                                                coordinator="n1")
        cluster.run_for(cluster.config.request_timeout)
        told = [unheard <= _told(put.retired) for _, _, put in puts]
        assert told and all(told), told
        assert not exchanged, [(src, dest, m.reply) for src, dest, m in exchanged]
        assert cluster.converged(b"k"), {
            name: _shape(record) for name, record in cluster.replicas(b"k").items()}
