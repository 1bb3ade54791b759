"""Behaviours session 56's mutation run of ``impl/handoff.py`` found no test pinned
(issue 12, section 5; docs/refinement.md, "Mutation score (session 56)").

Session 55 (``s55-cycle``) gave a leaving node a hand-over
(:meth:`impl.handoff.HintedHandoff._hand_over`): a hint whose delivery went
unanswered (the intended node then suspected) and whose intended node was heard from
since goes, as a ``ReplicaPut`` with ``hint`` set, to the first of the key's
fallbacks that stays (``UP``, reachable, neither the leaver nor the intended node),
resent after ``request_timeout`` unanswered; that fallback's ``ReplicaPutAck``
deletes the leaver's copy. Its tests are cluster scenarios
(``test_rebuilding_leave_cycle.py``), which reach it with one fallback shape and
never within a resend's time. These drive one :class:`~impl.handoff.HintedHandoff`
alone, over a real :class:`~impl.hints.HintStore` and a real
:class:`~impl.failure_detector.FailureDetector`, the gossiper, ring and replica
stubbed: n1 leaves and holds one hint of ``k`` for n2.
"""

from __future__ import annotations

import collections
import itertools
from types import SimpleNamespace
from typing import Any

import pytest

from impl.effects import Effect, Send
from impl.failure_detector import FailureDetector
from impl.handoff import HintedHandoff
from impl.hints import HintStore
from impl.membership import MemberStatus
from impl.messages import HintAck, HintDelivery, KeyRecords, ReplicaPut, ReplicaPutAck
from impl.storage.memory import MemoryStorage
from impl.timers import HintScan
from tests.impl.test_mutation_gaps_handoff_s46 import _delivered_at, diverged_copy

KEY = b"k"
RECORD = b"record"
UP, LEAVING = MemberStatus.UP, MemberStatus.LEAVING


class _View:
    """A membership view of the given statuses (the parts the handoff reads)."""

    def __init__(self, statuses: dict[str, MemberStatus]) -> None:
        self.statuses = statuses

    def nodes_with(self, statuses: Any) -> tuple[str, ...]:
        wanted = frozenset(statuses)
        return tuple(sorted(n for n, s in self.statuses.items() if s in wanted))

    @property
    def live_nodes(self) -> tuple[str, ...]:
        return self.nodes_with((UP, LEAVING))

    def __contains__(self, node: object) -> bool:
        return node in self.statuses


def _leaver(fallbacks: tuple[str, ...], statuses: dict[str, MemberStatus],
            suspicion: float = 100.0, status: MemberStatus = LEAVING, ids: bool = True
            ) -> tuple[HintedHandoff, int, FailureDetector]:
    """n1 (``status``, leaving by default) holding a hint of KEY for n2 (up); the
    key's fallbacks ``fallbacks`` (its top N n2, n3, n4; any other key's: n8),
    other nodes' statuses ``statuses``; the detector suspects a node for
    ``suspicion`` seconds after a timeout; request_timeout 1 s; op ids from 7 (none
    unless ``ids``: the mechanism as built). Returns the
    mechanism, the hint's id and the detector."""
    storage = MemoryStorage("always")
    hints = HintStore(storage, collections.Counter())
    hints.add("n2", KEY, RECORD)
    (hint,) = storage.hints()
    detector = FailureDetector(retry_after=suspicion, max_retry_after=suspicion,
                               phi_threshold=None)
    quorum: Any = SimpleNamespace(
        detector=detector,
        split=lambda key: (("n2", "n3", "n4"), fallbacks if key == KEY else ("n8",)),
        reachable=lambda node, now: node == "n1" or detector.is_available(node, now),
        suspect=lambda node, now: detector.timed_out(node, now))
    gossiper: Any = SimpleNamespace(
        status=status, view=_View({"n1": status, "n2": UP, **statuses}),
        settle_if_seen=lambda: [], scanned=lambda pending: [],
        handoffs_done=lambda pending: [], transfer_after=0.0,
        moves_to=lambda node, key: False)
    replica: Any = SimpleNamespace(reap=lambda key: None,
                                   carried_raw=lambda *raws: b"tail" if raws == (RECORD,)
                                   else b"?")
    config: Any = SimpleNamespace(request_timeout=1.0, hinted_handoff=True, n=3)
    handoff = HintedHandoff("n1", config, hints, replica, quorum, gossiper)
    if ids:
        handoff.ids = itertools.count(7)
    return handoff, hint.hint_id, detector


def _sent(effects: list[Effect]) -> list[tuple[str, str, int]]:
    """(destination, message type, op or hint id) of each Send."""
    return [(e.dest, type(e.message).__name__,
             e.message.op_id if isinstance(e.message, ReplicaPut) else e.message.hint_id)
            for e in effects if isinstance(e, Send)]


#: n5 leaving, n6 up but suspected, n7 and n8 up: after the intended n2 itself
FALLBACKS = ("n2", "n5", "n6", "n7", "n8")
STATUSES = {"n5": LEAVING, "n6": UP, "n7": UP, "n8": UP}


def _handed(at: float) -> tuple[HintedHandoff, int, list[Effect]]:
    handoff, hint_id, detector = _leaver(FALLBACKS, STATUSES)
    detector.timed_out("n6", 0.0)
    out: list[Effect] = []
    handoff._hand_over(at, hint_id, "n2", KEY, out)
    return handoff, hint_id, out


def test_a_hand_over_goes_to_the_first_fallback_that_stays_and_is_reachable() -> None:
    """``_hand_over__mutmut_16`` (the fallbacks of the key None: n8 taken),
    ``_22`` (``node in staying or ...``: the intended n2 taken),
    ``_25`` (reachable asked of None: the suspected n6 taken), ``_26`` (asked at no
    time: a TypeError at the suspected n6): the ReplicaPut goes to n7, past the
    intended node, a leaving fallback and a suspected one, with ``hint`` n2 and
    the retirements ``Replica.carried_raw`` names for the record."""
    handoff, hint_id, out = _handed(2.0)
    assert out == [Send("n7", ReplicaPut(7, KEY, RECORD, hint="n2", retired=b"tail"))]
    assert handoff.handing == {hint_id: (7, "n7", 2.0)}


def test_a_hand_over_is_resent_only_after_the_request_timeout() -> None:
    """``_hand_over__mutmut_1``, ``_2`` (the hand-over in progress not read),
    ``_3`` (``and``), ``_7`` (``1 <=``), ``_9`` (``now + sent``): each resent at
    once (at 2.5 s, half a request timeout after); ``_8`` (``0 <``): resent at the
    same instant; ``_11`` (``<=``): not resent at exactly one request timeout. A
    hand-over noted "later" than now (a clock stepped back) is resent at once."""
    handoff, hint_id, out = _handed(2.0)
    for now in (2.0, 2.5, 2.999):
        handoff._hand_over(now, hint_id, "n2", KEY, out)
    assert _sent(out) == [("n7", "ReplicaPut", 7)]
    handoff._hand_over(3.0, hint_id, "n2", KEY, out)
    assert _sent(out)[1:] == [("n7", "ReplicaPut", 8)]
    assert handoff.handing == {hint_id: (8, "n7", 3.0)}
    handoff._hand_over(1.0, hint_id, "n2", KEY, out)  # (stepped back)
    assert _sent(out)[2:] == [("n7", "ReplicaPut", 9)]


def test_with_no_fallback_that_stays_the_hint_waits() -> None:
    """``_hand_over__mutmut_31`` (``target is None and held is None``): with every
    fallback leaving or suspected, nothing is sent (the mutant sent a ReplicaPut to
    None and noted the hand-over)."""
    handoff, hint_id, detector = _leaver(("n2", "n5", "n6"), {"n5": LEAVING, "n6": UP})
    detector.timed_out("n6", 0.0)
    out: list[Effect] = []
    handoff._hand_over(2.0, hint_id, "n2", KEY, out)
    assert out == [] and handoff.handing == {}


def test_an_unanswered_delivery_is_handed_over_once_its_node_is_heard_from() -> None:
    """Through the scans (``on_scan``, ``_scan_page``), suspicion 0.5 s: the delivery
    sent at 0 s is unanswered at 1 s (n2 suspected, the hint noted); at 2 s n2 is
    reachable again but not heard from: the delivery is resent, no hand-over; heard
    from at 2.5 s, a driver's scan at 2.6 s resends the delivery alone, the periodic
    one then hands the hint to n7 (the delivery in flight), and not again 0.1 s
    later; n7's ack of that op, key and intended node deletes the leaver's copy and
    its notes, no other ack does. Mutants, each run and failing: ``on_scan__mutmut_29``
    to ``_38`` (the unanswered delivery's node not suspected, or the hint not noted,
    or both done by a node not leaving), ``_scan_page__mutmut_75`` to ``_92`` (the
    hand-over's condition or its call changed; ``_83``, the call at no time, fails
    at the second scan)."""
    handoff, hint_id, detector = _leaver(("n5", "n7", "n8"), STATUSES, suspicion=0.5)
    assert _sent(handoff.on_scan(0.0, HintScan())) == [("n2", "HintDelivery", hint_id)]
    assert _sent(handoff.on_scan(1.0, HintScan())) == []
    record = detector.record("n2")
    assert handoff.unanswered == {hint_id} and record is not None and record.timeouts == 1
    assert _sent(handoff.on_scan(2.0, HintScan())) == [("n2", "HintDelivery", hint_id)]
    detector.heard_from("n2", 2.5)
    given = HintScan(hints=frozenset({hint_id}))
    assert _sent(handoff.on_scan(2.6, given)) == [("n2", "HintDelivery", hint_id)]
    assert _sent(handoff.on_scan(2.6, HintScan())) == [("n7", "ReplicaPut", 7)]
    assert _sent(handoff.on_scan(2.7, HintScan())) == []  # (within request_timeout)
    for src, ack in (("n8", ReplicaPutAck(7, KEY, hint="n2")),
                     ("n7", ReplicaPutAck(6, KEY, hint="n2")),
                     ("n7", ReplicaPutAck(7, b"other", hint="n2")),
                     ("n7", ReplicaPutAck(7, KEY, hint="n3")),
                     ("n7", ReplicaPutAck(7, KEY))):
        assert handoff.handover_of(src, ack) is None, (src, ack)
    assert handoff.handover_of("n7", ReplicaPutAck(7, KEY, hint="n2")) == hint_id
    assert handoff.on_handover_ack(hint_id) == []
    assert handoff.hints.get(hint_id) is None and handoff.hints.pending_for() == set()
    assert (handoff.unanswered, handoff.handing, handoff.in_flight) == (set(), {}, {})


def test_a_node_not_leaving_neither_notes_nor_suspects_an_unanswered_delivery() -> None:
    """A node up (not leaving): an unanswered delivery is resent at each retry,
    the intended node neither suspected for it nor the hint noted for a hand-over."""
    handoff, hint_id, detector = _leaver(("n7",), {"n7": UP}, status=UP)
    for now in (0.0, 1.0, 2.0):
        assert _sent(handoff.on_scan(now, HintScan())) == [("n2", "HintDelivery", hint_id)]
    assert handoff.unanswered == set() and detector.record("n2") is None
    assert handoff.handing == {}


def test_a_mechanism_given_no_op_ids_hands_nothing_over() -> None:
    """``__init____mutmut_10`` (``ids = ""`` by default: ``next("")`` raised a
    TypeError): a mechanism built without the node's op ids (``ids`` None, as the
    attribute says: no hand-over) sends nothing and notes nothing."""
    handoff, hint_id, _ = _leaver(FALLBACKS, STATUSES, ids=False)
    out: list[Effect] = []
    handoff._hand_over(2.0, hint_id, "n2", KEY, out)
    assert out == [] and handoff.handing == {}


def test_a_hint_delivered_by_a_fallback_asks_the_first_replica_not_the_fallback(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """``on_delivery__mutmut_34`` (the one-way ask told its sender holds the copy,
    ``holder=True``, as a coordinator's ReplicaPut does): five nodes (N = 3, dvv), v0
    written at the first of the key's top N alone, v1 at the third alone; the
    third's record delivered to the first as a hint by the fourth node (a fallback,
    the usual sender), the merge made to keep a pruned entry (``kept_pruned`` true:
    the retirement setting itself is ``test_dvv_retired_one_way.py``'s). The ask
    goes to the second, the first reachable replica of the key; the mutant asked the
    fallback, which does not keep the key once its hint is delivered.
    (``test_mutation_gaps_handoff_s46.py``'s sender is the third, among the top N,
    asked first either way.)"""
    driver, preference, record = diverged_copy()
    first, second, _, fallback = preference[:4]
    node = driver.nodes[first]
    monkeypatch.setattr(node.replica, "kept_pruned", lambda merged, theirs: True)
    effects = node.receive(driver.now, fallback, HintDelivery(7, KEY, record))
    assert Send(fallback, HintAck(7)) in effects
    assert [e.dest for e in effects if isinstance(e, Send)
            and isinstance(e.message, KeyRecords)] == [second]


def test_every_held_ask_of_a_key_is_counted(monkeypatch: pytest.MonkeyPatch) -> None:
    """``AntiEntropy.ask_pruned__mutmut_12`` (``one-way-pruned-asks-held = 1``, found
    by session 56's run of ``impl/antientropy.py``: the session 46 test holds one
    ask only): deliveries of a key's hints at 0, 0.3, 0.6 and 1 request timeouts,
    each merge keeping a pruned entry: the middle two are held, both counted."""
    node, asked = _delivered_at(monkeypatch, (0.0, 0.3, 0.6, 1.0))
    assert len(asked) == 2
    assert node.stats["one-way-pruned-asks"] == 2
    assert node.stats["one-way-pruned-asks-held"] == 2
