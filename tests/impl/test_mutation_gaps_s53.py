"""Mutation gaps of session 52's new paths (issue 12; docs/refinement.md, "Mutation
score of session 52's new paths (session 53)"): the lost leaver that removes itself
(:meth:`impl.gossip.Gossiper._remove_lost_leaver`), what a self-removed node answers
(:meth:`impl.node.Node.receive`, :meth:`impl.node.Node.removed_message`) and keeps
across a restart (:data:`impl.gossip.REMOVED_ITSELF_META`).

The start: 3 nodes, n4 and n5 joined (strategy 3), keys written at W = 3, n4 asked
to leave, 2 s later its disk replaced
(:func:`tests.impl.test_wiped_mid_change_reads.write_then_leave`, as
tests/impl/test_wiped_leaver_review.py). The mutants each test kills are named in
its docstring; each was run by hand (``MUTANT_UNDER_TEST``) in mutmut's copy and
seen failing, and a no-such mutant passing (the section above).
"""

from __future__ import annotations

import json

import pytest

from impl.cluster import SimulatedCluster
from impl.effects import Effect, Send
from impl.errors import InvalidValueError
from impl.gossip import (
    FROM_META,
    REMOVED_ITSELF_META,
    SETTLING_META,
    Gossiper,
    _removed_after_claim,
    _ring_json,
)
from impl.membership import PEER_VERSION_LIMIT, Member, Membership, MemberStatus
from impl.messages import Gossip, PutRequest, parse_generation
from impl.node import SELF_REMOVED_MESSAGE, Node
from impl.restore_guard import (
    FRESH_UNCONFIRMED_META,
    OWN_GENERATIONS_LIMIT,
    OWN_TOKEN_META,
    above_own,
    draw_own_token,
    own_generations,
    remember_own,
    start_generation,
    unknown_own,
)
from impl.staging import persist
from impl.storage.memory import MemoryStorage
from tests.impl.test_mutation_gaps_gossip import gossiper
from tests.impl.test_node_driver import make_config
from tests.impl.test_own_token import _timed_out, _told
from tests.impl.test_wiped_leaver_reads import KEYS
from tests.impl.test_wiped_mid_change_reads import write_then_leave

_REMOVED_LINE = ("n4: the cluster's view holds this node leaving and its store lost "
                 "what it was to hand over: removed (the other replicas hand its "
                 "ranges over)")


def _sent(effects: list[Effect]) -> list[tuple[str, bytes, bool]]:
    """The gossip sends among ``effects``: (dest, view, reply) (the node stamps the
    rest: its generation, beats)."""
    return [(effect.dest, effect.message.view, effect.message.reply) for effect in effects
            if isinstance(effect, Send) and isinstance(effect.message, Gossip)]


def _wiped_leaver(cluster: SimulatedCluster) -> None:
    """n4 asked to leave, then its disk replaced; not run after (n4 has heard no
    peer yet: its new store's first gossip decides)."""
    write_then_leave(cluster, KEYS[:10], "n4")
    cluster.wipe("n4")


def test_a_lost_leaver_pushes_its_removal_to_every_other_live_member() -> None:
    """n1's view handed to n4's new store: n4 announces itself ``removing``, stores
    that view and that it removed itself, logs it, and pushes the view (no answer
    asked) to n1, n2, n3 and n5, not to itself. Kills ``_remove_lost_leaver``'s
    pushes mutated (a dest or message of None or left out, the view None or left
    out, ``reply`` None, left out or True, the push to itself only: 36-45), the
    stored view's name or bytes (22-27), the stored flag's (30-34) and the log
    line (35); and ``Gossiper.__init__`` 59 (the flag read from the entry None)."""
    with SimulatedCluster(nodes=3, n=3, r=2, w=2, seed=2) as cluster:
        _wiped_leaver(cluster)
        node, storage = cluster.node("n4"), cluster.storages["n4"]
        effects = persist(storage, node.receive(cluster.now, "n1", Gossip(
            cluster.node("n1").gossiper.view.to_bytes(), reply=False)))
        view = node.gossiper.view
        entry = view.get("n4")
        assert entry is not None and entry.status is MemberStatus.REMOVING
        assert _sent(effects) == [(other, view.to_bytes(), False)
                                  for other in ("n1", "n2", "n3", "n5")]
        assert Membership.from_bytes(storage.get_meta("membership") or b"") == view
        assert storage.get_meta(REMOVED_ITSELF_META) == b"1"
        assert _REMOVED_LINE in list(node.gossiper.log)


def test_a_self_removed_node_restarted_still_says_it_removed_itself() -> None:
    """n4 removed itself, then crashed and restarted on that store: it is removed,
    removed by itself (the stored flag read back: ``Gossiper.__init__`` 58, 60, 61), its
    refusals say so (an operator's force-remove through it too: ``force_remove`` 2),
    and it answers a peer's gossip asking an answer with its view,
    asking none (``receive`` 38-47), and a gossip asking none with nothing (36,
    37)."""
    with SimulatedCluster(nodes=3, n=3, r=2, w=2, seed=2) as cluster:
        _wiped_leaver(cluster)
        cluster.run_until(lambda: cluster.node("n4").removed, max_time=30.0)
        cluster.crash("n4")
        cluster.run_for(1.0)
        cluster.restart("n4")
        node = cluster.node("n4")
        assert node.removed and node.removed_itself
        assert node.removed_message() == SELF_REMOVED_MESSAGE.format(node="n4")
        with pytest.raises(InvalidValueError) as raised:
            node.force_remove(cluster.now, "n2")
        assert str(raised.value) == SELF_REMOVED_MESSAGE.format(node="n4")
        view = cluster.node("n1").gossiper.view.to_bytes()
        answer = node.receive(cluster.now, "n1", Gossip(view, reply=True))
        assert _sent(answer) == [("n1", node.gossiper.view.to_bytes(), False)]
        assert node.receive(cluster.now, "n2", Gossip(view, reply=False)) == []


def test_a_survivor_transfers_again_from_its_serving_ring() -> None:
    """Seed 2: n2 made the claim's transfer (none pending) when n4's removal push
    reaches it: it transfers again, from the ring it serves (its ``transfer_from``,
    stored as :data:`impl.gossip.FROM_META` for a restart), once every member saw
    the removal's view. (At this seed n2's future ring changes with the removal, so
    the transfer is ``_apply``'s first branch, not the new one of session 52: the
    selection's tests reach that one, and kill its 55 and 60-67.) Kills ``_apply``
    53 and 54 (the new branch taken whatever the node's state: ``or``), which the
    selection's tests did not reach before this test ran (the screen ran this file
    first)."""
    with SimulatedCluster(nodes=3, n=3, r=2, w=2, seed=2) as cluster:
        _wiped_leaver(cluster)
        leaver = cluster.node("n4")
        persist(cluster.storages["n4"], leaver.receive(cluster.now, "n1", Gossip(
            cluster.node("n1").gossiper.view.to_bytes(), reply=False)))
        gossiper, storage = cluster.node("n2").gossiper, cluster.storages["n2"]
        assert gossiper.pending and gossiper.transfer_after is None
        serving = gossiper.partitioning.ring
        persist(storage, cluster.node("n2").receive(cluster.now, "n4", Gossip(
            leaver.gossiper.view.to_bytes(), reply=False)))
        assert gossiper.transfer_from is not None and gossiper.transfer_from.ring == serving
        assert storage.get_meta(FROM_META) == json.dumps(_ring_json(serving)).encode()
        assert gossiper.transfer_after == leaver.gossiper.view.vector()


def test_a_lost_leaver_asked_to_rejoin_settles_its_leave_then_joins() -> None:
    """Seed 9: n4's disk replaced 4.5 s into its leave (its ``left`` seen by a
    member, not settled), then asked to join again (``cluster.join``: ``serve
    --rejoin`` on the new store): it settles the leave its lost store owed, then
    joins anew, ``up`` once quiet. Kills the ask forgotten (``Gossiper.__init__``
    80: ``_rejoin_asked`` None; ``_settle_lost_leave`` 3: ``rejoin_if_left`` None):
    n4 stays ``left``."""
    with SimulatedCluster(nodes=3, n=3, r=2, w=2, seed=9) as cluster:
        write_then_leave(cluster, KEYS[:20], "n4")
        cluster.run_for(2.5)
        cluster.lose_disk("n4")
        cluster.join("n4")
        cluster.run_until_quiet(max_time=120.0)
        entry = cluster.node("n1").view.get("n4")
        assert entry is not None and entry.status is MemberStatus.UP
        assert cluster.stalled == {}


def _new_store_of_n4(*members: Member) -> Gossiper:
    """n4's gossiper on a new store (not in the configuration's 3 nodes) holding a
    view of ``members`` (built with Membership.of: no merge)."""
    g = gossiper("n4", config=make_config(3))
    g.view = Membership.of(members)
    return g


def test_a_lost_leavers_removal_refused_at_the_version_bound_is_logged_by_its_name() -> None:
    """n4 ``leaving`` at 2**62 - 1 (a forged view, valid): its removal would reach the
    bound, so it is not announced: counted, logged by its change's name word for
    word, nothing sent, n4 not removed. Kills ``_remove_lost_leaver`` 2, 6 and 7
    (the change named None, ``XX...XX`` or in capitals)."""
    g = gossiper("n4", config=make_config(3))
    g = _new_store_of_n4(*g.view.members, Member("n4", PEER_VERSION_LIMIT - 1,
                                                 MemberStatus.LEAVING, ()))
    assert g._remove_lost_leaver() == []
    assert list(g.log) == [
        "membership change not announced (removal of this leaver, its store new): "
        f"membership: 'n4' cannot announce a change: version {PEER_VERSION_LIMIT} would "
        "not be below 2**62 (PEER_VERSION_LIMIT), and every peer refuses a view with it"]
    assert g.stats["version-headroom"] == 1 and not g.removed_itself


def test_a_lost_leavers_removal_below_n_members_is_refused_and_logged() -> None:
    """n1, n2 and n4 ``leaving`` in the view, N = 3: removing n4 would leave 2
    members (:func:`impl.membership.force_remove` refuses): nothing sent, n4 not
    removed, the refusal logged word for word. Kills ``_remove_lost_leaver`` 16 (the
    line None)."""
    g = gossiper("n4", config=make_config(3))
    g = _new_store_of_n4(*g.view.members[:2], Member("n4", 5, MemberStatus.LEAVING, ()))
    assert g._remove_lost_leaver() == []
    assert list(g.log) == [
        "n4: leaving in the cluster's view, its store new, not removed: force-remove: "
        "removing 'n4' would leave 2 members, fewer than N = 3 replicas per key"]
    assert not g.removed_itself and g.view.get("n4") == Member("n4", 5,
                                                              MemberStatus.LEAVING, ())


def test_a_lost_leaver_left_unsettled_owes_the_settlement() -> None:
    """n4's new store ``left``, unsettled, in the view, and owing n2's settlement
    already: it owes its own too, after this view (kept in
    :data:`impl.gossip.SETTLING_META` for a restart), stops its join, keeps the
    rejoin ask it was started with (none), and logs it word for word. Kills
    ``_settle_lost_leave`` 4 and 5 (n2's dropped), 6 (``settle_after`` None), 7 (the
    line None)."""
    g = gossiper("n4", config=make_config(3))
    g = _new_store_of_n4(*g.view.members, Member("n4", 9, MemberStatus.LEFT, ()))
    g.settling = {"n2"}
    g._settle_lost_leave()
    assert not g.join_pending and not g.rejoin_if_left
    assert (g.settling, g.settle_after) == ({"n2", "n4"}, g.view.vector())
    stored = json.loads(g.storage.get_meta(SETTLING_META) or b"")
    assert (stored["settling"], stored["after"]) == (["n2", "n4"], g.view.vector())
    assert list(g.log) == ["n4: the cluster's view holds this node left, its leave not "
                           "settled, and its store is new: settling it"]


def _claimant_ends_removal(join_handover: str) -> Gossiper:
    """The claimant n1 (3 nodes; n4, whose handed-out partitions are in no ring,
    ``removing``; owing n2's settlement already) hears every survivor handed n4's
    ranges over."""
    c = gossiper("n1", config=make_config(3, join_handover=join_handover))
    c.view = Membership.of((*c.view.members, Member("n4", 9, MemberStatus.REMOVING, ())))
    c.settling = {"n2"} if c.pending else set()
    for src in ("n1", "n2", "n3"):
        c._removal_done("n4", src)
    entry = c.view.get("n4")
    assert entry is not None and entry.status is MemberStatus.REMOVED
    return c


def test_the_claimant_owes_a_removal_its_ring_did_not_show_with_pending_ownership_only(
        ) -> None:
    """Its serving ring held no token of n4, so ``removed`` changed none of its rings:
    under pending ownership it owes the settlement all the same, after that view, as
    well as n2's (session 52's review, history 402); under immediate handover there
    is no settlement to owe. Kills ``_removal_done`` 36 (``or``: owed under immediate
    handover), 38 and 39 (n2's dropped), 40 (``settle_after`` None)."""
    c = _claimant_ends_removal("pending")
    assert (c.settling, c.settle_after) == ({"n2", "n4"}, c.view.vector())
    assert json.loads(c.storage.get_meta(SETTLING_META) or b"")["settling"] == ["n2", "n4"]
    immediate = _claimant_ends_removal("immediate")
    assert (immediate.settling, immediate.settle_after) == (set(), None)


def _two_fresh_starts(storage: MemoryStorage) -> tuple[Node, Node]:
    """n1's new store started twice while empty (``actor_per_start`` off)."""
    config = make_config(3, actor_per_start=False)
    return (Node("n1", config, storage, seed=7, now=3.0, announce=True),
            Node("n1", config, storage, seed=8, now=4.0, announce=True))


def test_a_fresh_store_counts_1_at_each_start_while_empty() -> None:
    """Hand-driven, ``actor_per_start`` off: n1's new store starts (fresh, marked,
    count 1), then starts again empty (fresh: count 1 again, the token of its second
    start, a new actor, still marked). Kills ``Node.__init__``'s fresh block mutated:
    the start's name or seed not passed to the token (137, 138), the count never,
    always or 2 (141, 148-150)."""
    storage = MemoryStorage("always")
    first, second = _two_fresh_starts(storage)
    assert first.guard is not None and second.guard is not None
    assert first.guard.generation == start_generation(storage, "n1", 7, 3.0, 1, count=1)
    assert second.guard.generation == start_generation(storage, "n1", 8, 4.0, 2, count=1)
    assert second._fresh and second.actor != first.actor
    assert storage.get_meta(FRESH_UNCONFIRMED_META) == b"1"


def test_a_marked_store_holding_its_own_writes_at_its_start_stays_fresh() -> None:
    """Then a key written to the store and a third start, never told by a peer: since
    s53-owntoken the store's own writes keep it fresh (count 1, the marker kept, a
    new actor: docs/runtime.md, "A replaced disk's own writes across its restarts
    (session 53)"). Written for main at e0ef9711 (where such a store was not fresh,
    killing ``Node.__init__`` 75-79, 81, 105 and 149 of that tree) and turned to the
    merged meaning at the merge: it fails with ``self._own_held`` dropped from
    ``Node._fresh`` (checked by hand at the merge); the mutmut mutants of the merged
    ``__init__`` were not run against it."""
    storage = MemoryStorage("always")
    _, second = _two_fresh_starts(storage)
    storage.write(b"k", b"v")
    third = Node("n1", make_config(3, actor_per_start=False), storage, seed=9, now=5.0,
                 announce=True)
    assert third.guard is not None and third._fresh
    assert third.guard.generation == start_generation(storage, "n1", 9, 5.0, 3, count=1)
    assert storage.get_meta(FRESH_UNCONFIRMED_META) == b"1"
    assert third.actor != second.actor


def test_a_leaver_removed_after_the_claim_makes_a_survivor_transfer_again() -> None:
    """Hand-driven, n2 of 3 nodes (pending ownership, no transfer pending): n4,
    ``leaving`` with its partitions handed out (no tokens), turns ``removing``; no
    ring changes, and n2 transfers again from the ring it serves once every member
    saw that view, that ring stored as :data:`impl.gossip.FROM_META` (what a restart
    reads back). Kills ``_apply`` 65 (``null`` stored: a restart read it as
    unreadable, logged, and fell back to the serving ring), and 60-67 with the
    selection."""
    g = gossiper("n2", config=make_config(3))
    members = g.view.members
    g.view = Membership.of((*members, Member("n4", 9, MemberStatus.LEAVING, ())))
    serving = g.partitioning.ring
    removing = Membership.of((*members, Member("n4", 10, MemberStatus.REMOVING, ())))
    g._apply(removing)
    assert g.transfer_from is not None and g.transfer_from.ring == serving
    assert g.storage.get_meta(FROM_META) == json.dumps(_ring_json(serving)).encode()
    assert g.transfer_after == removing.vector()


def test_only_a_handed_out_leaver_turned_removing_counts_removed_after_the_claim() -> None:
    """:func:`impl.gossip._removed_after_claim` of two views of 3 nodes and n4: n4
    ``leaving`` without tokens then ``removing``: yes; then ``left`` (its leave
    ended: no transfer again), or ``removing`` already before, or ``leaving`` with
    its tokens still (not claimed), or new in the view: no. Kills
    ``_removed_after_claim`` 5 (``or``: any member ``removing``, or any handed-out
    leaver whatever it is now, counted), which the selection let survive."""
    members = gossiper("n1", config=make_config(3)).view.members

    def view(status: MemberStatus, tokens: tuple[int, ...] = ()) -> Membership:
        return Membership.of((*members, Member("n4", 9, status, tokens)))

    removing = view(MemberStatus.REMOVING)
    assert _removed_after_claim(view(MemberStatus.LEAVING), removing)
    assert not _removed_after_claim(view(MemberStatus.LEAVING), view(MemberStatus.LEFT))
    assert not _removed_after_claim(removing, removing)
    assert not _removed_after_claim(view(MemberStatus.LEAVING, (7,)), removing)
    assert not _removed_after_claim(Membership.of(members), removing)


# --- session 53, s53-mutrest: the mutants s53-mutgossip did not run, and the own token
# (docs/refinement.md, "Mutation score of the rest and of the own token (session 53)")


def test_a_new_store_that_finds_itself_up_unsettled_settles_nothing() -> None:
    """n4's new store (joining, strategy 3) takes a view holding it ``up``, its join
    not settled: it stops joining (the view holds it) and owes no settlement of its
    own (only a ``left`` entry's is owed: :meth:`impl.gossip.Gossiper._settle_lost_leave`).
    Kills ``on_gossip`` 102 (``left or not settled``: the join's settlement announced
    by a store that holds nothing of it), which the selection let survive."""
    g = gossiper("n4", config=make_config(3, partitioning="strategy3"))
    assert g.join_pending and g.claims
    view = Membership.of((*g.view.members, Member("n4", 9, MemberStatus.UP, ())))
    g.on_gossip("n1", Gossip(view.to_bytes(), reply=False))
    assert not g.join_pending and g.settling == set() and g.settle_after is None
    assert not any("settling it" in line for line in g.log)


def _gossip_to(node: Node, storage: MemoryStorage, now: float, src: str, yours: str) -> None:
    """``src`` (3 nodes) gossips to ``node``, having heard ``yours`` of it last."""
    persist(storage, node.receive(now, src, Gossip(
        node.gossiper.view.to_bytes(), reply=False, generation=f"1.{src[1]}000000000000000",
        yours=yours)))


def test_a_new_store_stays_marked_while_its_peers_name_no_start_of_it() -> None:
    """n1's replaced disk (3 nodes), its round timed out: n2 and n3 gossip to it
    naming no start of it (``yours`` empty: they heard none): it stays unconfirmed,
    marked. Kills ``_guard_gossip`` 16 (``or``: every live peer's gossip counted as
    naming this start), which the selection let survive."""
    storage = MemoryStorage("always")
    node = _timed_out(storage, seed=1, now=1.0)
    for i, peer in enumerate(("n2", "n3")):
        _gossip_to(node, storage, 20.0 + i, peer, "")
    assert node._unconfirmed_fresh and storage.get_meta(FRESH_UNCONFIRMED_META) == b"1"


def test_a_renewed_new_store_counts_only_the_peers_that_named_its_renewal() -> None:
    """n1's replaced disk: n2 names its start, then n3 tells it a later start of the
    name (the old disk's, count 5): it renews (a new token, nothing set aside) and
    stays marked; n3 names the renewal: n2 named only the start before, so the store
    is still unconfirmed, marked (the names are kept by the start's token). Kills
    ``_guard_gossip`` 22 and 28 (one key for every start: n2's name counted for the
    renewal, the marker cleared), which the selection let survive."""
    storage = MemoryStorage("always")
    node = _timed_out(storage, seed=1, now=1.0)
    assert node.guard is not None
    start = node.guard.generation
    _gossip_to(node, storage, 20.0, "n2", start)
    _gossip_to(node, storage, 21.0, "n3", "5.00000000000000aa")
    assert node.stats["restore-fresh-renewed"] == 1
    renewed = node.guard.generation
    assert renewed.partition(".")[2] != start.partition(".")[2]
    assert node._unconfirmed_fresh and storage.get_meta(FRESH_UNCONFIRMED_META) == b"1"
    _gossip_to(node, storage, 22.0, "n3", renewed)
    assert node._unconfirmed_fresh and storage.get_meta(FRESH_UNCONFIRMED_META) == b"1"
    _gossip_to(node, storage, 23.0, "n2", renewed)
    assert not node._unconfirmed_fresh and storage.get_meta(FRESH_UNCONFIRMED_META) == b""


def test_a_restart_holding_something_keeps_its_actor_without_actor_per_start() -> None:
    """``actor_per_start`` off, a brand-new cluster's n1 (not announcing: not marked)
    takes a write and starts again: not fresh, it keeps its lifetime actor (only a
    fresh, marked start takes a new one whatever the setting). Kills ``Node.__init__``
    129 (``per_start`` not passed: :func:`impl.versions.lifetime_actor`'s default, a
    new actor at every start), which the selection let survive."""
    storage = MemoryStorage("always")
    config = make_config(3, actor_per_start=False)
    first = Node("n1", config, storage, seed=7, now=3.0, announce=False)
    storage.write(b"k", b"v")
    second = Node("n1", config, storage, seed=8, now=4.0, announce=False)
    assert not second._fresh and second.actor == first.actor


def _own_store(token: bytes) -> MemoryStorage:
    """A store whose own token (:data:`impl.restore_guard.OWN_TOKEN_META`) is ``token``."""
    storage = MemoryStorage("always")
    storage.set_meta(OWN_TOKEN_META, token)
    return storage


def test_unknown_own_tells_only_an_untaken_start_of_its_own_eight_digit_token() -> None:
    """:func:`impl.restore_guard.unknown_own` by hand: a start of the store's own token
    it never took (count 1, none remembered) is unknown; one it took is not; a token
    that is not 8 characters (a foreign or damaged entry) makes none unknown, nor does
    an unparsable ``told``, and bytes that are not ASCII are read, not raised on. Kills
    ``unknown_own`` 30 (a token not remembered taken as count 1 known: the live
    store's fresh start, count 1, not told from a copy's), 16 (``and``: a short token
    a prefix of ``told`` counted, an unparsable ``told`` raising), 5, 11 and 12 (the
    ``replace`` error handler dropped or misnamed: a non-ASCII entry raising), which
    the selection let survive."""
    storage = _own_store(b"aaaaaaaa")
    assert unknown_own(storage, "1.aaaaaaaa11111111")
    remember_own(storage, "1.aaaaaaaa11111111")
    assert not unknown_own(storage, "1.aaaaaaaa11111111")
    assert unknown_own(storage, "2.aaaaaaaa11111111")
    assert not unknown_own(storage, "not a generation")
    assert not unknown_own(_own_store(b"aaaa"), "5.aaaa000000000000")
    assert not unknown_own(_own_store(b"\xff" * 8), "5.aaaaaaaa00000000")


def test_a_store_set_aside_is_set_aside_again_when_told_a_later_start() -> None:
    """n1 (a brand-new cluster's, not announcing: never marked) takes a write and
    starts again (not fresh), its round timed out; n2 tells it a later start of the
    name (count 5): everything set aside; n3 then tells it a later one still (count
    9): set aside again, not renewed as a fresh store (a set-aside store is not
    fresh). Kills ``_set_aside`` 55 (``_fresh`` True after a set-aside: the second
    told start renewed, what the store took since kept), which the selection let
    survive."""
    storage = MemoryStorage("always")
    Node("n1", make_config(3), storage, seed=1, now=1.0, announce=False)
    storage.write(b"k", b"v")
    node = _timed_out(storage, seed=2, now=2.0)
    assert not node._fresh and not node._unconfirmed_fresh
    _gossip_to(node, storage, 20.0, "n2", "5.00000000000000aa")
    _gossip_to(node, storage, 21.0, "n3", "9.00000000000000bb")
    assert (node.stats["restore-set-aside"], node.stats["restore-fresh-renewed"]) == (2, 0)


def test_a_new_stores_own_token_is_drawn_from_its_name_and_seed() -> None:
    """n1's new store (announcing) draws its own token at its first start from the
    start's name, seed and time (:func:`impl.restore_guard.draw_own_token`), and its
    generation begins with it, 16 digits in all. Kills ``Node.__init__`` 103 and 104
    (the name or the seed not passed to the draw) and ``start_generation`` 30 (9
    digits drawn after the own token's 8), which the selection let survive."""
    storage = MemoryStorage("always")
    node = Node("n1", make_config(3), storage, seed=7, now=3.0, announce=True)
    own = storage.get_meta(OWN_TOKEN_META)
    assert own == draw_own_token(storage, "n1", 7, 3.0)
    assert node.guard is not None and node.guard.generation.partition(".")[2][:8] == own.decode()
    assert len(node.guard.generation.partition(".")[2]) == 16  # (8 of its own, 8 drawn)


def test_a_restarts_count_is_flushed_at_its_start_without_actor_epochs() -> None:
    """``actor_epochs`` off, a buffered store (durable at a flush): n1's restart
    holding something (not fresh) counts 2, and the store dies before any later
    flush: the next start counts above it (3), not 2 again (a generation its peers
    may have heard, so it would not be told a rollback). Kills ``Node.__init__`` 183
    (the flush only with actor epochs or a marked store), which the selection let
    survive."""
    storage = MemoryStorage("buffered")
    config = make_config(3, actor_epochs=False)
    Node("n1", config, storage, seed=1, now=1.0, announce=False)
    storage.write(b"k", b"v")
    storage.flush()
    second = Node("n1", config, storage, seed=2, now=2.0, announce=False)
    assert second.guard is not None and not second._fresh
    heard = parse_generation(second.guard.generation)
    storage.crash()
    third = Node("n1", config, storage, seed=3, now=3.0, announce=False)
    assert third.guard is not None and heard is not None and heard[0] == 2
    counted = parse_generation(third.guard.generation)
    assert counted is not None and counted[0] == 3


def test_remember_own_keeps_the_highest_count_and_moves_a_token_last() -> None:
    """:func:`impl.restore_guard.remember_own` by hand: a lower count of a token kept
    keeps the higher; a token remembered again moves last (the newest), so at
    :data:`impl.restore_guard.OWN_GENERATIONS_LIMIT` tokens the oldest other one is
    dropped, not it. Kills ``remember_own`` 12 (``pop(None)``: the token left where
    it was, the higher count lost), 17 (``>=``: a token fewer kept), 18 and 19
    (the drop raising), which the selection let survive."""
    storage = MemoryStorage("always")
    tokens = [f"{i:016x}" for i in range(OWN_GENERATIONS_LIMIT)]
    for token in tokens:
        remember_own(storage, f"3.{token}")
    remember_own(storage, f"1.{tokens[0]}")
    remember_own(storage, f"4.{'f' * 16}")
    known = own_generations(storage)
    assert known[tokens[0]] == 3 and tokens[1] not in known
    assert list(known)[-2:] == [tokens[0], "f" * 16] and len(known) == OWN_GENERATIONS_LIMIT


def test_two_new_stores_of_a_name_draw_two_own_tokens() -> None:
    """n1's disk replaced twice (two new stores, at two starts): each draws its own
    token (:func:`impl.restore_guard.draw_own_token`, 8 hex digits), and they differ,
    so the second, told the first's start, does not take it for a start of its own
    it never took (it would set aside what it took). Kills ``draw_own_token`` 4 (the
    digest of ``None`` and the store's id: one token for every store without one, as
    a memory store) and 12 (the store's id not read: two stores drawn at one start's
    name, seed and time, ids apart, the same token), which the selection let survive."""
    first, second = MemoryStorage("always"), MemoryStorage("always")
    Node("n1", make_config(3), first, seed=1, now=1.0, announce=True)
    Node("n1", make_config(3), second, seed=2, now=10.0, announce=True)
    tokens = [storage.get_meta(OWN_TOKEN_META) or b"" for storage in (first, second)]
    assert all(len(token) == 8 and int(token, 16) >= 0 for token in tokens)
    assert tokens[0] != tokens[1]
    drawn = []
    for storage_id in (b"a", b"b"):
        storage = MemoryStorage("always")
        storage.set_meta("storage-id", storage_id)
        drawn.append(draw_own_token(storage, "n1", 1, 1.0))
    assert drawn[0] != drawn[1]


def test_a_starts_token_is_of_the_stores_id_and_reads_a_damaged_own_token() -> None:
    """:func:`impl.restore_guard.start_generation` by hand: two stores apart only in
    their ids give one start two tokens (the id is in the digest); a store whose own
    token entry is not ASCII (damaged) still gets a generation, its token not raised
    on; a store without an own token gets the digest's 16 digits. Kills
    ``start_generation`` 11 and 12 (the id's entry misnamed: not read), 18, 24 and 25
    (the ``replace`` error handler dropped or misnamed), 28 (8 digits of the digest
    only, with no own token before them), which the selection let survive."""
    tokens = []
    for storage_id in (b"a", b"b"):
        storage = MemoryStorage("always")
        storage.set_meta("storage-id", storage_id)
        tokens.append(start_generation(storage, "n1", 1, 1.0, 1))
    assert tokens[0] != tokens[1]
    assert all(len(token.partition(".")[2]) == 16 for token in tokens)  # (no own token)
    damaged = _own_store(b"\xff" * 8)
    assert start_generation(damaged, "n1", 1, 1.0, 3).partition(".")[0] == "3"


# --- session 53, s53-mutown: s53-revown's lines (docs/refinement.md, "Mutation score of
# the own token's review (session 53)")


def test_above_own_is_the_least_count_above_the_told_and_its_own() -> None:
    """:func:`impl.restore_guard.above_own` by hand: the least count above both the
    told count and every count the store remembers as its own (as ``_set_aside`` took
    ``heard + 1`` before session 53's review), a told count 0 included (a generation
    of count 0 parses: :func:`impl.messages.parse_generation`). Kills ``above_own`` 8
    (``max(..., 1) + 1``: 2 above a told 0, none remembered), which the selection let
    survive."""
    storage = MemoryStorage("always")
    assert (above_own(storage, 0), above_own(storage, 5)) == (1, 6)
    remember_own(storage, "7.aaaaaaaa11111111")
    assert (above_own(storage, 0), above_own(storage, 5), above_own(storage, 9)) == (8, 8, 10)


def test_an_own_restart_is_counted_so_the_next_start_counts_above_it() -> None:
    """n1's replaced disk takes a put at W = 1 and restarts twice (fresh, holding its
    own: count 1 each time, the store's start count 3); told its first start (count
    1): an own restart at count 2, its generation the start's
    (:func:`impl.restore_guard.start_generation` of its name, seed and the time it
    was told), logged, and 2 written as the store's count; its peers name the restart
    (the marker cleared), so its next start, not fresh, counts 3, one above the own
    restart. Kills ``_own_restart`` 6 and 7 (the count written under another meta
    name: the store's count left at 3, the next start at 4: still above every count
    a peer heard, so this pins the count written, not a lost write), 11 and 12 (the
    name or the seed not passed: another token), 29 (no line logged) and
    ``_set_aside`` 12 (``told`` not passed: ``(None)`` logged), which the selection
    let survive."""
    storage = MemoryStorage("always")
    first = _timed_out(storage, seed=1, now=1.0)
    persist(storage, first.client_request(5.0, PutRequest(1, b"k", b"v", w=1)))
    assert first.guard is not None
    start = first.guard.generation
    _timed_out(storage, seed=9, now=8.0)
    assert storage.get_meta("incarnation") == b"2"
    second = _timed_out(storage, seed=2, now=10.0)
    assert storage.get_meta("incarnation") == b"3"
    _told(storage, second, 20.0, start)
    assert second.stats["restore-own-restart"] == 1 and second.guard is not None
    assert second.guard.generation == start_generation(storage, "n1", 2, 20.0, 2)
    assert second.log[-1] == (f"20.000 a store holding its own writes told a start of its "
                              f"own ({start}): generation {second.guard.generation}, kept")
    assert storage.get_meta("incarnation") == b"2"
    for i, peer in enumerate(("n2", "n3")):  # (they name the restart: the marker cleared)
        _gossip_to(second, storage, 25.0 + i, peer, second.guard.generation)
    assert not second._unconfirmed_fresh and storage.get_meta(FRESH_UNCONFIRMED_META) == b""
    third = Node("n1", make_config(3), storage, seed=3, now=30.0, announce=True)
    assert not third._fresh and third.guard is not None
    assert parse_generation(third.guard.generation)[0] == 3  # type: ignore[index]
