"""Tests for behaviours of :mod:`impl.node` that session 52's mutmut run of the
functions earlier runs left (docs/refinement.md, "Mutation score of impl/node.py, the
last part (session 52)") found no test for: each one kills the mutants its docstring
names (checked by hand in mutmut's copy: ``MUTANT_UNDER_TEST=NAME pytest`` exits 1,
and 0 with no mutant named). Deterministic: seeded nodes, injected time.
"""

from __future__ import annotations

import pytest

from impl.effects import Send
from impl.errors import PeerDataError
from impl.messages import Forward, GetRequest, Gossip, PutRequest
from impl.node import Node
from impl.restore_guard import generations_from_bytes, generations_to_bytes
from impl.storage.memory import MemoryStorage
from impl.timers import GossipRound
from impl.versions import encode_retired
from tests.impl.test_mutation_gaps_node_s50 import _restarted_n3
from tests.impl.test_node_driver import make_config


def test_a_member_the_answers_name_is_asked_at_the_time_it_is_asked() -> None:
    """A member of the view the shadow round did not ask at its start (n2 here, taken
    out of the round by hand: a member the restarted node's configured view lacked) is
    asked when an answer names it, at that time: its ``asked_at`` is the node's time,
    not the round's start, which :meth:`Node._shadow_ask_again` compares with half a
    gossip interval (:meth:`Node._shadow_asks_more`;
    ``_shadow_asks_more__mutmut_11``: ``shadow.ask(more, None)``, ``_13``:
    ``shadow.ask(more, )``, both the round's start)."""
    cluster = _restarted_n3()
    n3 = cluster.node("n3")
    shadow = n3.shadow
    assert shadow is not None and set(shadow.asked) == {"n1", "n2"}
    shadow.asked = ("n1",)
    shadow.waiting.discard("n2")
    del shadow.asked_at["n2"]
    later = shadow.started + 1.5
    n3._now = later
    asks = n3._shadow_asks_more()
    assert [(e.dest, e.message.reply) for e in asks
            if isinstance(e, Send) and isinstance(e.message, Gossip)] == [("n2", True)]
    assert shadow.asked_at["n2"] == later
    assert "n2" in shadow.waiting


def test_an_old_owner_is_a_replica_until_its_keys_new_owners_are_handed_them() -> None:
    """n1 of four nodes (N = 2) in a naive handover after n4's join, the ring of n1-n3
    as its ``moved_from`` and nothing handed over yet: it is a replica of a key of
    which it was in the old top N, not of one it was only further down the old ring's
    preference list (:meth:`Node._replicates`; ``_replicates__mutmut_11``:
    ``moved_from = None``, no replica of the first; ``_16``: the old list's whole
    length, ``_17``: the list of position N, both a replica of the second). Before
    this test only a refinement lockstep of three nodes (tests/refinement/, not in
    the run's selection), whose old ring had N nodes, asked it."""
    old = Node("n1", make_config(3, n=2, r=1, w=1), MemoryStorage("always"),
               seed=1).gossiper.partitioning
    node = Node("n1", make_config(4, n=2, r=1, w=1), MemoryStorage("always"), seed=1)
    node.start(0.0)
    gossiper = node.gossiper
    gossiper.moved_from, gossiper.transferred = old, set()
    new = gossiper.future
    keys = [b"k%d" % i for i in range(200)]
    current = {key: node.quorum.split(key, writing=True)[0] for key in keys}
    handed = next(key for key in keys if "n1" in old.preference_list(key, 2)
                  and "n1" not in current[key] and "n4" in new.preference_list(key, 2))
    further = next(key for key in keys if "n1" not in old.preference_list(key, 2)
                   and "n1" not in current[key] and "n4" in new.preference_list(key, 2))
    assert node._replicates(handed)
    assert not node._replicates(further)
    gossiper.transferred = {"n4"}  # handed over: no replica of either
    assert not node._replicates(handed)


def test_each_gossip_naming_this_nodes_live_actor_retired_is_counted_and_logged_once(
        ) -> None:
    """Two gossips' retired actors naming n1's own live actor (a later start of its
    store retired it: this store is an older copy) count 2 and log one line, naming
    the actor (:meth:`Node._take_retired`; ``_take_retired__mutmut_9``: ``= 1``;
    ``_10``: ``-= 1``; ``_13``: ``+= 2``; ``_16``, ``_17``: logged at another count;
    ``_18``: ``None`` logged). Data that does not parse is the peer's fault, named
    ``"retired"``, with the parser's message (``_3`` to ``_8``: the case's name
    changed or dropped, another error; ``_4``: the message ``None``).
    tests/impl/test_dvv_retired_*.py count ``>= 1``."""
    node = Node("n1", make_config(3, n=3, r=2, w=2), MemoryStorage("always"), seed=1)
    node.start(0.0)
    assert node.retired.enabled
    told = encode_retired({node.actor: 5})
    for now in (1.0, 2.0):
        node._take_retired(now, told)
    assert node.stats["retired-own-actor-heard"] == 2
    lines = [line for line in node.log if "peers name this node's live actor" in line]
    assert lines == [f"1.000 peers name this node's live actor {node.actor} retired by a "
                     "later start of its store: this store is an older copy (a restored "
                     "backup with actor_per_start false); its dots may be minted again "
                     "until the restore guard sets it aside"]
    with pytest.raises(PeerDataError) as raised:
        node._take_retired(3.0, b"not a rank line")
    assert raised.value.what == "retired"
    assert str(raised.value) == "retired actors: malformed line 'not a rank line'"
    assert node.stats["retired-own-actor-heard"] == 2


@pytest.mark.parametrize(("fsync", "durable"), [("always", True), ("buffered", False)])
def test_writes_reported_durable_keep_the_own_acks_of_a_synced_engine_only(
        fsync: str, durable: bool) -> None:
    """The driver reports the writes staged so far durable: on an engine that syncs
    each write (``fsync = "always"``) the puts n1 coordinates keep their own acks
    through a later failed write (``own_durable``); on a buffered one a failed write
    may roll back the open batch, so the report is ignored (:meth:`Node.writes_durable`;
    ``writes_durable__mutmut_1``: ``!=``, the buffered engine's acks kept and the
    synced one's not; ``_2``, ``_3``: the mode's name changed, never kept).
    tests/runtime/test_durable_report_*.py, outside the run's selection, drive it
    through a server."""
    node = Node("n1", make_config(3, n=3, r=2, w=2), MemoryStorage(fsync), seed=1)
    node.start(0.0)
    node.client_request(1.0, PutRequest(7, b"k", b"v", client_id="c1"))
    (coordination,) = node.puts.coordinations.values()
    assert not coordination.own_durable
    node.writes_durable()
    assert coordination.own_durable is durable


@pytest.mark.parametrize("handover", ["pending", "immediate"])
def test_each_forward_to_a_node_with_no_status_is_dropped_and_counted(handover: str) -> None:
    """With pending ownership a node with no status in its own view (n4, not in the
    configuration's nodes, before it hears the view) knows no serving ring: each
    ``Forward`` it gets is dropped and counted (``not-member-forward-dropped``: 2 for
    two); with the immediate handover it coordinates them, and so does a member
    (:meth:`Node._silent_if_rebuilding`; ``_silent_if_rebuilding__mutmut_5``: ``= 1``).
    tests/impl/test_joined_node_wiped_reads.py reads the outcome, not the count."""
    config = make_config(3, n=3, r=2, w=2, join_handover=handover)
    joiner = Node("n4", config, MemoryStorage("always"), seed=1)
    joiner.start(0.0)
    member = Node("n1", config, MemoryStorage("always"), seed=1)
    member.start(0.0)
    assert joiner.status is None and member.status is not None
    for op_id, now in ((1, 1.0), (2, 2.0)):
        forward = Forward(op_id, GetRequest(8 + op_id, b"k", None, "c1"))
        taken = joiner.receive(now, "n2", forward)
        assert (taken == []) is (handover == "pending")
        assert member.receive(now, "n2", forward) != []
    assert joiner.stats["not-member-forward-dropped"] == (2 if handover == "pending" else 0)
    assert member.stats["not-member-forward-dropped"] == 0


def test_a_gossip_relays_the_generations_heard_of_the_views_live_members() -> None:
    """n1 (restore guard on) heard n2's generation: its next gossip to n3 relays it
    (``generations``), the view's live members being those whose generations a gossip
    relays, computed once per view (:meth:`Node._live_members`, :meth:`Node._stamp`;
    ``_live_members__mutmut_1``: ``view = None``, none relayed, ``_2``: ``is``,
    none, ``_3``: a TypeError; ``_stamp__mutmut_13``: the gossip stamped without
    ``generations``). tests/impl/test_restore_relayed_generations.py reads
    the guard's ``relayed`` alone."""
    config = make_config(3, n=3, r=2, w=2, restore_guard=True)
    node = Node("n1", config, MemoryStorage("always"), seed=1)
    node.start(0.0)
    assert node.guard is not None
    node.guard.on_generation("n2", "3.ab")
    assert node._live_members() == node.view.live_nodes == ("n1", "n2", "n3")
    assert node._live_members() is node._live_members()  # (once per view)
    gossips = [e.message for e in node.fire(1.0, GossipRound())
               if isinstance(e, Send) and isinstance(e.message, Gossip)]
    assert gossips
    for gossip in gossips:
        assert generations_from_bytes(gossip.generations)["n2"] == "3.ab"


def test_a_gossip_relays_only_third_members_generations_each_counted() -> None:
    """n2's gossip relays generations of n2 itself, of n1 (the receiver), of n3 and
    of n9 (no member): n1 takes n3's alone, counted (``generation-relayed``), and a
    later relay of n3 is taken and counted again (:meth:`Node._take_relayed`;
    ``_take_relayed__mutmut_9``: ``node == self.name``, the receiver's own taken and
    n3's not). tests/impl/test_restore_relayed_generations.py, outside the run's
    selection, drives the relays through clusters."""
    node = Node("n1", make_config(3, n=3, r=2, w=2, restore_guard=True),
                MemoryStorage("always"), seed=1)
    node.start(0.0)
    guard = node.guard
    assert guard is not None
    node._take_relayed("n2", {"n2": "5.aa", "n1": "9.zz", "n3": "4.ab", "n9": "3.cc"})
    assert guard.heard == {"n3": "4.ab"}
    assert node.stats["generation-relayed"] == 1
    node._take_relayed("n2", {"n3": "6.ab"})
    assert guard.heard == {"n3": "6.ab"}
    assert node.stats["generation-relayed"] == 2


@pytest.mark.parametrize("guard", [True, False])
def test_a_gossips_relayed_generations_are_read_with_the_guard_only(guard: bool) -> None:
    """n2's gossip relays n3's generation: n1 with the restore guard takes it (through
    :meth:`Node.receive`); without the guard the field is not read, so bytes that do
    not parse drop nothing (:meth:`Node._relayed_generations`;
    ``_relayed_generations__mutmut_1``: ``and``, the bytes parsed without the guard:
    the gossip dropped; ``_2``: ``is not None``, ``_3``: ``or data``, ``_4``:
    ``generations_from_bytes(None)``, nothing read with the guard)."""
    node = Node("n1", make_config(3, n=3, r=2, w=2, restore_guard=guard),
                MemoryStorage("always"), seed=1)
    node.start(0.0)
    relayed = generations_to_bytes({"n3": "4.ab"}) if guard else b"not generations"
    node.receive(1.0, "n2", Gossip(node.view.to_bytes(), reply=True, generations=relayed))
    assert node.stats["dropped"] == 0
    if node.guard is not None:
        assert node.guard.heard.get("n3") == "4.ab"
