"""Mutation gaps of session 54's rebuilding-ack lines left open (issue 12 §5;
docs/refinement.md, "Mutation score (session 55)"): the window after a rebuild in which
a replaced disk's own reads and acknowledgements stay uncounted
(:meth:`impl.node.Node._uncounted_read`, :meth:`impl.node.Node._acks_uncounted`, the
put coordinator's :attr:`impl.put_coordinator.PutCoordinator.uncounted_own`) and a
rebuilding node's hint acknowledgements during a leave
(:meth:`impl.node.Node._unrebuilt_mine`), and the small writes' bytes of
:meth:`impl.runtime.NodeServer._small_write_bytes`, a replaced disk's retired
lifetimes ranked above the old disk's (:meth:`impl.retired.RetiredActors._rank_above`),
and the hint store's change hook (:attr:`impl.hints.HintStore.changed`).

Each test names the mutmut 3.8.1 mutants it kills (``impl.MODULE.FUNCTION`` number, as
made in a fresh copy of main at baec5eed); each was run by hand (``MUTANT_UNDER_TEST``
in mutmut's copy) and seen failing, and the module's no-such mutant passing.
"""

from __future__ import annotations

import collections
from types import SimpleNamespace

from impl.cluster import SimulatedCluster
from impl.effects import Effect, Reply, Send, SetTimer
from impl.errors import QuorumError
from impl.hints import HintStore
from impl.membership import MemberStatus
from impl.messages import GetRequest, PutRequest, ReplicaPut
from impl.node import Node
from impl.positions import position_of
from impl.replica import HINTED_CACHE_FROM, Replica
from impl.restore_guard import OWN_TOKEN_META
from impl.retired import RetiredActors
from impl.runtime import NodeServer
from impl.storage.memory import MemoryStorage
from impl.timers import PutTimeout
from impl.versions import (
    _RANK_TRUSTED_BELOW,
    RETIRED_KNOWN_META,
    RETIRED_META,
    ClockMode,
    decode_retired,
    encode_retired,
    live_values,
    read_retired,
)
from tests.impl.test_hinted_read_review import _blind_put
from tests.impl.test_mutation_gaps_s54 import _hint_acked, n1_rebuilding
from tests.impl.test_node_driver import make_config


def _owned_first(node: Node, count: int) -> list[bytes]:
    """``count`` keys of which ``node`` is the first owner (it reads its own copy)."""
    keys = (b"own%d" % i for i in range(1000))
    return [key for key in keys if node.preference_list(key)[0] == node.name][:count]


def test_the_window_after_a_silent_read_ends_at_its_instant() -> None:
    """After its rebuild a replaced disk's own reads and writes stay uncounted while a
    peer may still suspect it for a silence (:attr:`Node._silent_until`, set by a
    silent read to its time plus ``request_timeout`` plus ``max_retry_after``; set
    directly here, on a node that is not rebuilding; 3 nodes, N = 3: no fallback).
    The window is half-open, as a suspicion is
    (:meth:`impl.failure_detector.FailureDetector.is_suspected`: ``now <
    suspected_until``): at its last instant n1 counts neither its reads nor its writes
    (each counted once: ``rebuild-uncounted-read``, ``rebuild-uncounted-own-write``),
    at its end both count again: a W = 1 put through it is answered at once
    (``_uncounted_read`` 15 and ``_acks_uncounted`` 2: ``<=``; ``_uncounted_read``
    16-20 and ``PutCoordinator._coordinate`` 367-371: the counts ``= 1``, ``-= 1``,
    misnamed, ``+= 2``; ``_coordinate`` 322, 323, 324, 326-328: ``uncounted`` ``None``,
    ``or``, ``not in``, the time not passed; 332: the own ack counted only when
    uncounted)."""
    with SimulatedCluster(nodes=3, n=3, r=2, w=2, seed=5) as cluster:
        n1 = cluster.node("n1")
        first, second, third = _owned_first(n1, 3)
        now = cluster.now
        end = now + 4.0
        n1._silent_until = end
        assert n1._acks_uncounted(end - 0.5) and not n1._acks_uncounted(end)
        reads, writes = n1.stats["rebuild-uncounted-read"], n1.stats[
            "rebuild-uncounted-own-write"]
        n1.client_request(now, GetRequest(1, first, r=1))
        n1.client_request(end - 0.5, GetRequest(2, second, r=1))
        for request_id, key in ((3, first), (4, second)):
            effects = n1.client_request(end - 0.5, PutRequest(request_id, key, b"v", w=1))
            assert not [effect for effect in effects if isinstance(effect, Reply)]
        assert n1.stats["rebuild-uncounted-read"] == reads + 2
        assert n1.stats["rebuild-uncounted-own-write"] == writes + 2
        assert not n1.stats["unconfirmed-uncounted-read"]
        n1.client_request(end, GetRequest(5, third, r=1))
        effects = n1.client_request(end, PutRequest(6, third, b"v", w=1))
        (reply,) = [effect for effect in effects if isinstance(effect, Reply)]
        assert reply.request_id == 6 and reply.error is None
        assert n1.stats["rebuild-uncounted-read"] == reads + 2
        assert n1.stats["rebuild-uncounted-own-write"] == writes + 2


def test_an_uncounted_own_write_fails_a_put_that_needs_it_at_once() -> None:
    """In the window (as above; 3 nodes, no fallback to take n1's part) a W = 3 put
    through n1 cannot reach W without n1's own write: it fails at once with a
    ``QuorumError`` naming why (``replicas_failed``), and no timer is set for it
    (``PutCoordinator._coordinate`` 372-382: the failure's effects dropped, its
    arguments ``None`` or left out, its reason misspelt; 383: ``in``, the put's round
    carried on after it failed)."""
    with SimulatedCluster(nodes=3, n=3, r=2, w=2, seed=5) as cluster:
        n1 = cluster.node("n1")
        (key,) = _owned_first(n1, 1)
        n1._silent_until = cluster.now + 4.0
        effects = n1.client_request(cluster.now, PutRequest(1, key, b"v", w=3))
        (reply,) = [effect for effect in effects if isinstance(effect, Reply)]
        assert isinstance(reply.error, QuorumError) and reply.error.replicas_failed
        assert ("n1 (this node's own write): a replaced disk rebuilding or just rebuilt, "
                "its copy not counted") in str(reply.error)
        assert not [effect for effect in effects if isinstance(effect, SetTimer)]
        assert n1.stats["rebuild-uncounted-own-write"] == 1


def _timed_out(node: Node, effects: list[Effect]) -> Reply:
    """Fire ``node``'s put timers (none of its sends delivered) until it answers."""
    for _ in range(50):
        replies = [effect for effect in effects if isinstance(effect, Reply)]
        if replies:
            return replies[0]
        (timer,) = [effect for effect in effects if isinstance(effect, SetTimer)
                    and isinstance(effect.timer, PutTimeout)]
        effects = node.fire(timer.at, timer.timer)
    raise AssertionError("no answer")


def test_a_counted_own_write_is_not_silent_and_an_uncounted_one_goes_to_a_fallback(
        ) -> None:
    """Outside the window (3 nodes) a W = 3 put through n1 whose other targets never
    answer fails at its deadline naming them silent, not n1, whose own write counted
    (``PutCoordinator._coordinate`` 333: ``acks.add(None)``). In the window (5 nodes)
    a W = 1 put's own part goes at once, with a hint for n1, to the key's first
    fallback n1 does not suspect, and the put's timer is set (376: ``_part_failed``
    given no time, which only the suspicion's test reads; 383: ``in``, the put left
    with no timer)."""
    with SimulatedCluster(nodes=3, n=3, r=2, w=2, seed=5) as cluster:
        n1 = cluster.node("n1")
        (key,) = _owned_first(n1, 1)
        reply = _timed_out(n1, n1.client_request(cluster.now, PutRequest(1, key, b"v", w=3)))
        assert isinstance(reply.error, QuorumError)
        others = ", ".join(n1.preference_list(key)[1:])
        assert str(reply.error).endswith(f"reached 1 of W=3 replicas before the timeout "
                                         f"(no acknowledgement from {others})")
    with SimulatedCluster(nodes=5, n=3, r=2, w=2, seed=5) as cluster:
        n1 = cluster.node("n1")
        (key,) = _owned_first(n1, 1)
        suspected, fallback = n1.preference_list(key)[3:5]
        n1.detector.timed_out(suspected, cluster.now)  # (a read of it timed out)
        n1._silent_until = cluster.now + 4.0
        effects = n1.client_request(cluster.now, PutRequest(1, key, b"v", w=1))
        assert [effect.message.hint for effect in effects if isinstance(effect, Send)
                and effect.dest == fallback and isinstance(effect.message, ReplicaPut)] == ["n1"]
        assert [effect.timer for effect in effects if isinstance(effect, SetTimer)] == [
            PutTimeout(n1.puts.coordinations[next(iter(n1.puts.coordinations))].op_id)]


def test_a_rebuilding_node_withholds_a_hint_of_a_key_it_keeps_during_a_leave() -> None:
    """n1's disk replaced (anti-entropy every 30 s: the rebuild outlasts the test): a
    hint of a key of a range it replicates and has not rebuilt is withheld; once n5
    leaves (n1 has heard it: n5 ``LEAVING``, its ranges claimed by the others), such
    a key n1 keeps on both rings is still withheld (session 55, s55-holes: the leave
    does not move it; :meth:`Node._unrebuilt_mine`). Re-set by session 55's review:
    written by s55-mutclass for session 54's rule (every hint acknowledged during a
    leave; ``_unrebuilt_mine`` 13), it failed on main once s55-holes was merged beside
    it (``assert False`` at its last line). Mutant (run, seen failing): session 54's
    leave/removal clause restored (the kept key acknowledged)."""
    with n1_rebuilding(1) as (cluster, record):
        n1 = cluster.node("n1")

        def undone(node: Node) -> list[bytes]:
            trees = node.anti_entropy.trees
            return [key for key in (b"k%d" % i for i in range(400))
                    if (key_range := trees.range_of(position_of(key))) is not None
                    and node.rebuild.unrebuilt(key_range)]

        assert not _hint_acked(n1, cluster.now, undone(n1)[0], record, 1)
        cluster.leave("n5")
        for _ in range(200):  # until n1 hears of the leave and its claimed ranges
            cluster.run_for(0.1)
            gossiper = cluster.node("n1").gossiper
            if gossiper.changing() and gossiper.view.nodes_with((MemberStatus.LEAVING,)):
                break
        n1 = cluster.node("n1")
        gossiper = n1.gossiper
        assert gossiper.changing() and n1.rebuild.active
        kept = next(key for key in undone(n1)
                    if "n1" in gossiper.partitioning.preference_list(key, 3)
                    and "n1" in gossiper.future.preference_list(key, 3))
        assert not _hint_acked(n1, cluster.now, kept, record, 2)


def test_the_small_writes_bytes_are_the_small_unanswered_puts_and_forwarded_values() -> None:
    """:meth:`impl.runtime.NodeServer._small_write_bytes` (the small writes' budget of
    :class:`impl.admission.ByteAdmission`, session 54), called on a stand-in server
    (small writes up to 10 bytes, 20 bytes of one sibling's metadata): the records of
    the unanswered puts this node coordinates of at most 30 bytes (30 counted, 31 not:
    ``_small_write_bytes`` 3, ``most`` ``small - ...``; 11, ``<``; an answered one not:
    10, ``if coordination.replied``), plus the values of at most 10 bytes of the puts it
    forwards (10 counted, 11 not, a forwarded get not: 18, ``<``; 12, ``held - ...``);
    the others (1, 2, 4-9, 13-17: ``None`` where a value or a function goes) raise."""
    def coordination(size: int, replied: bool = False) -> SimpleNamespace:
        return SimpleNamespace(record=b"r" * size, replied=replied)

    def forwarding(request: GetRequest | PutRequest) -> SimpleNamespace:
        return SimpleNamespace(request=request)

    puts = {1: coordination(30), 2: coordination(31), 3: coordination(5),
            4: coordination(7, replied=True)}
    forwardings = {1: forwarding(PutRequest(1, b"k", b"v" * 10)),
                   2: forwarding(PutRequest(2, b"k", b"v" * 11)),
                   3: forwarding(GetRequest(3, b"k"))}
    server = SimpleNamespace(
        admission=SimpleNamespace(small=10), _sibling_bytes=20,
        node=SimpleNamespace(puts=SimpleNamespace(coordinations=puts),
                             forwarder=SimpleNamespace(forwardings=forwardings)))
    assert NodeServer._small_write_bytes(server) == 30 + 5 + 10  # type: ignore[arg-type]


_NODE = "n~1"  # a node name may hold the actor's separator (impl.config.check_node_name)
_OLD, _LATER, _NOW = (f"{_NODE}~{digit * 12}" for digit in "abc")


def _replaced(retired: dict[str, int], *, token: bool = True
              ) -> tuple[MemoryStorage, RetiredActors]:
    """A replaced disk's store of node ``n~1`` (its own token drawn; ``token`` false:
    the first disk's, none) that retired ``retired`` (actor -> rank), and its
    knowledge (current lifetime ``_NOW``)."""
    storage = MemoryStorage()
    if token:
        storage.set_meta(OWN_TOKEN_META, b"0123abcd")
    storage.set_meta(RETIRED_META, encode_retired(retired))
    return storage, RetiredActors(storage, _NOW, enabled=True)


def test_a_replaced_disk_ranks_its_lifetimes_just_above_the_old_disk_s_in_rank_order(
        ) -> None:
    """:meth:`impl.retired.RetiredActors._rank_above` (session 54) on a store of a node
    whose name holds ``~``: told (gossip) of a lifetime of its node it never retired
    at rank 10, of another node's at 50 and of its own current one at 99, its two
    retired lifetimes (ranks 5, then 10) become 11 and 12, in their rank order, one
    above the other, stored and known (``_rank_above`` 3, 9: ``partition``, the node
    ``n``; 7, 12, 13: another node's or its own current lifetime counted; 40, 41, 42:
    sorted by actor, ``None`` keys, ``item[2]``; 49, 50: ``floor - 1``, ``+ 2``;
    ``take`` 7-14: the raise or the knowledge not kept). A rank tied with the old
    disk's is raised too (30: ``>=``); one the bound forbids is not (32, 34: ``-``,
    ``>``: ranks past :data:`impl.versions._RANK_TRUSTED_BELOW`). Told only of its own
    retired lifetimes (its gossip back) nothing changes (25, 26: ``max`` of none, a
    ValueError), nor in a store that drew no token (14: the token not looked at)."""
    storage, actors = _replaced({_OLD: 10, _LATER: 5})
    earlier, other = f"{_NODE}~{'0' * 12}", f"n2~{'d' * 12}"
    assert actors.take(encode_retired({earlier: 10, other: 50, _NOW: 99}))
    assert read_retired(storage) == {_LATER: 11, _OLD: 12}
    assert decode_retired(storage.get_meta(RETIRED_KNOWN_META) or b"") == {
        earlier: 10, other: 50, _LATER: 11, _OLD: 12}
    storage, actors = _replaced({_OLD: 10})
    assert not actors.take(encode_retired({earlier: 10}))
    assert read_retired(storage) == {_OLD: 11}
    storage, actors = _replaced({_OLD: 10, _LATER: 12})
    actors.take(encode_retired({_OLD: 10, _LATER: 12}))  # its own, gossiped back
    assert read_retired(storage) == {_OLD: 10, _LATER: 12}
    storage, actors = _replaced({_OLD: 10}, token=False)
    actors.take(encode_retired({earlier: 10}))
    assert read_retired(storage) == {_OLD: 10}
    bound = _RANK_TRUSTED_BELOW - 1  # (10 + 1 would reach the bound)
    storage, actors = _replaced({_OLD: 10})
    actors.take(encode_retired({earlier: bound}))
    assert read_retired(storage) == {_OLD: 10}


def test_a_hint_added_or_removed_changes_its_own_key_s_kept_merge_only() -> None:
    """:attr:`impl.hints.HintStore.changed` (added after session 46's run of
    ``impl/hints.py``), as :class:`impl.replica.Replica` uses it: two keys held
    ``HINTED_CACHE_FROM`` times each, both merges kept; a hint added to one is merged
    into its kept merge, the other's kept (``HintStore.add`` 27: ``changed(None,
    ...)``, every merge dropped; 28: ``changed(key, None)``, the key's dropped); a hint
    of it removed drops its merge only (``remove`` 22: ``changed(None, None)``). The
    answers would be the same (a merge dropped is made again at the next read): what
    the kept merges spare is the merge of every hint per read (session 49's review)."""
    storage = MemoryStorage("always")
    hints = HintStore(storage, collections.Counter())
    replica = Replica("n4", make_config(5), storage, hints, lambda node: True)
    for key in (b"a", b"b"):
        for step in range(HINTED_CACHE_FROM):
            hints.add("n2", key, _blind_put(ClockMode.DVV, key, f"c{step}", float(step)))
        assert replica.hinted(key) is not None
    assert set(replica._hinted) == {b"a", b"b"}
    hints.add("n3", b"a", _blind_put(ClockMode.DVV, b"new", "n5", 99.0))
    assert set(replica._hinted) == {b"a", b"b"}
    assert b"new" in live_values(replica._hinted[b"a"])
    hints.remove(storage.hints_of(b"a")[0].hint_id)
    assert set(replica._hinted) == {b"b"}
