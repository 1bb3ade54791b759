"""impl.handoff: behaviours session 46's mutation run found no test pinned (issue 12,
section 5; docs/refinement.md, "Mutation score of the mechanism modules (session 46)").

``HintedHandoff._retarget`` re-addresses a hint whose intended node is no longer on
the ring: to the key's top N on the serving ring for a node that left, on the future
ring for a node force-removed (whose ranges the serving ring still gives it until the
handover: the hint would come back to it). The cluster test of force-remove cannot
tell the two rings apart (``test_force_remove.py``, its docstring says why); these
drive ``_retarget`` alone, with two rings that differ, over a real
:class:`~impl.hints.HintStore`.

``HintedHandoff.on_delivery`` passes the hint's sender on to the one-way ask
(:meth:`impl.antientropy.AntiEntropy.ask_pruned`), which asks the sender first when
it is among the key's top N (a node of the top N that re-addressed the hint), and
the union it merged, unpruned (session 40, docs/runtime.md "The pruned ask's copy").
"""

from __future__ import annotations

import collections
import random
from types import SimpleNamespace
from typing import Any

import pytest

from impl import handoff as handoff_module
from impl import membership
from impl.effects import Send
from impl.handoff import HintedHandoff
from impl.hints import HintStore
from impl.messages import Gossip, HintAck, HintDelivery, KeyRecords, ReplicaPut
from impl.node import Node
from impl.records import Record
from impl.staging import persist
from impl.storage.base import HintHead
from impl.storage.memory import MemoryStorage
from impl.timers import HintScan
from impl.versions import values
from tests.impl.test_mutation_gaps_handoff import (
    _deliveries,
    _fallback_with_hints,
    _written_at_the_second,
)
from tests.impl.test_node_driver import Driver, make_config, ok_put

KEY = b"k"


class _Ring:
    """A ring whose every key has the preference list ``nodes``."""

    def __init__(self, *nodes: str) -> None:
        self.nodes = nodes

    def preference_list(self, key: bytes, n: int) -> tuple[str, ...]:
        return self.nodes[:n]


def _retargeted(intended: str, removed: bool) -> list[str]:
    """Node n1 keeps a hint of KEY for ``intended`` (force-removed if ``removed``, else
    left); the serving ring's top N is (n5, n2, n3), the future ring's (n2, n3, n4).
    Returns the intended nodes of the hints n1 keeps once ``_retarget`` ran."""
    storage = MemoryStorage("always")
    hints = HintStore(storage, collections.Counter())
    hints.add(intended, KEY, b"record")
    (hint,) = storage.hints()
    gossiper: Any = SimpleNamespace(
        partitioning=_Ring("n5", "n2", "n3"), future=_Ring("n2", "n3", "n4"),
        is_removed=lambda node: removed and node == intended)
    replica: Any = SimpleNamespace(reap=lambda key: None)
    config: Any = SimpleNamespace(n=3)
    quorum: Any = None  # not read by _retarget
    handoff = HintedHandoff("n1", config, hints, replica, quorum, gossiper)
    handoff._retarget(hint.hint_id, KEY, b"record")
    return sorted(h.intended for h in storage.hints())


def test_a_hint_for_a_force_removed_node_goes_to_the_future_rings_top_n() -> None:
    """``_retarget__mutmut_1``, ``_4``, ``_7``, ``_8`` (the intended node None, the
    removed test dropped or inverted, asked of None): each re-addressed the hint by
    the serving ring, which still names n5: its copy for n5 refused as a duplicate of
    the hint being removed, and n4, its new owner, given none."""
    assert _retargeted("n5", removed=True) == ["n2", "n3", "n4"]


def test_a_hint_for_a_node_that_left_goes_to_the_serving_rings_top_n() -> None:
    """``_retarget__mutmut_5``, ``_6`` (``or True``; ``or`` for ``and``): each took the
    future ring for a node that left while another change is in progress (the two
    rings differ), addressing a node that does not serve the key yet instead of one
    that does."""
    assert _retargeted("n6", removed=False) == ["n2", "n3", "n5"]


def diverged_copy() -> tuple[Driver, tuple[str, ...], bytes]:
    """Five nodes (N = 3, r = w = 1, dvv; anti-entropy and read repair off), the
    replica puts dropped: v0 written at the first of KEY's preference list alone, v1
    at the third alone (two concurrent copies). Returns the driver, KEY's preference
    list and the third's record (shared with ``test_mutation_gaps_s56.py``)."""
    driver = Driver.start(make_config(5, n=3, r=1, w=1, clock="dvv", anti_entropy=False,
                                      read_repair=False))
    preference = driver.nodes["n1"].preference_list(KEY)
    driver.drop_filter = lambda src, dest, message: isinstance(message, ReplicaPut)
    ok_put(driver.put(preference[0], KEY, b"v0"))
    ok_put(driver.put(preference[2], KEY, b"v1"))
    driver.drop_filter = None
    record = driver.storages[preference[2]].read(KEY)
    assert record is not None
    return driver, preference, record


def _asks(monkeypatch: pytest.MonkeyPatch, prune_to_theirs: bool
          ) -> tuple[tuple[str, str, str], list[tuple[str, list[bytes]]]]:
    """Five nodes (N = 3, dvv); v0 written at the first of the key's top N alone, v1 at
    the third alone (concurrent); the third's record delivered to the first as a hint,
    the first's merge made to keep a pruned entry (``kept_pruned`` true: the
    retirement setting itself is ``test_dvv_retired_one_way.py``'s) and, with
    ``prune_to_theirs``, its pruning to drop its own v0. Returns the top N and the
    one-way asks sent: (peer, the values of the record sent)."""
    driver, preference, record = diverged_copy()
    top = preference[:3]
    first, _, third = top
    node = driver.nodes[first]
    theirs = node.replica.parse(record)
    monkeypatch.setattr(node.replica, "kept_pruned", lambda merged, theirs: True)
    if prune_to_theirs:
        def prune(union: Record) -> Record:
            return theirs
        monkeypatch.setattr(node.replica, "prune", prune)
    effects = node.receive(driver.now, third, HintDelivery(7, KEY, record))
    assert Send(third, HintAck(7)) in effects
    asks = [(e.dest, sorted(values(node.replica.parse(e.message.records[0]))))
            for e in effects if isinstance(e, Send) and isinstance(e.message, KeyRecords)]
    return (first, top[1], third), asks


def test_a_delivered_hints_ask_goes_first_to_its_sender_among_the_top_n(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """``on_delivery__mutmut_21`` (the sender not passed on, None): a hint delivered by
    the third node of the key's top N (one that re-addressed it, being among the new
    top N) to the first, whose merge keeps a pruned entry (``kept_pruned`` made true:
    the retirement setting itself is ``test_dvv_retired_one_way.py``'s), asks its
    sender; the mutant asked the second node, the first reachable one, instead."""
    (first, second, third), asks = _asks(monkeypatch, prune_to_theirs=False)
    assert asks == [(third, [b"v0", b"v1"])], (first, second, third)


def test_a_delivered_hints_ask_carries_the_union_unpruned(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """``on_delivery__mutmut_26`` (the union not passed on: the ask sends its default,
    the pruned copy merged with the hint): with the merge's pruning dropping this
    node's own v0, the ask still carries v0 (the union); the mutant sent v1 alone."""
    (_, _, third), asks = _asks(monkeypatch, prune_to_theirs=True)
    assert asks == [(third, [b"v0", b"v1"])]


def test_a_driver_scan_visits_the_given_hints_from_the_first(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """``_scan_page__mutmut_21`` (a driver's scan begins where the last periodic scan
    stopped): with two deliveries in flight at most, a periodic scan sends a and b and
    stops at c; a driver's scan of the three then sends from the first, a and b, as
    the docstring says (the mutant sent c, then a)."""
    monkeypatch.setattr(handoff_module, "MAX_HINTS_IN_FLIGHT", 2)
    driver, node = _fallback_with_hints("n2", "n3", "n4")
    assert _deliveries(node.fire(driver.now, HintScan())) == [b"a", b"b"]
    given = frozenset(h.hint_id for h in driver.storages["n5"].hints())
    assert _deliveries(node.fire(driver.now, HintScan(hints=given))) == [b"a", b"b"]


def test_a_scan_reads_each_hint_head_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """``_scan_page__mutmut_24`` (``wrapped = None``: a scan from the first taken as
    not wrapped: at the end of the table it read every head again from the first;
    nothing more was sent, the hints being in flight): a whole round reads each kept
    hint's head once."""
    driver, node = _fallback_with_hints("n2", "n3", "n4")
    read: list[int] = []
    heads = node.hints.heads

    def counted(after: int | None, limit: int) -> list[HintHead]:
        page = heads(after, limit)
        read.extend(head[0] for head in page)
        return page
    monkeypatch.setattr(node.hints, "heads", counted)
    assert _deliveries(node.fire(driver.now, HintScan())) == [b"a", b"b", b"c"]
    assert sorted(read) == sorted(h.hint_id for h in driver.storages["n5"].hints())


def test_a_scan_visits_its_budget_and_the_next_resumes_there_wrapping_once(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """``_scan_page__mutmut_31`` (``budget > 1``: a scan visited one hint fewer than its
    budget), ``_43`` (after the wrap, no hint visited: the next scan began at the
    first again), ``_45`` (``< start``: the hint the scan began after not visited
    again), ``_47`` (a whole round's end not taken back to the first), ``_50`` (the
    wrap not noted: the scan went round and round until its budget ran out, and the
    next began where it stopped): with a budget of two hints, read a head at a time,
    a scan sends a and b, and the next, a second later (a and b unanswered: due
    again), with a budget of 8, sends c, then wraps to a and b; the one after that
    begins at the first."""
    monkeypatch.setattr(handoff_module, "SCAN_BUDGET", 2)
    monkeypatch.setattr(handoff_module, "SCAN_PAGE", 1)
    driver, node = _fallback_with_hints("n2", "n3", "n4")
    assert _deliveries(node.fire(driver.now, HintScan())) == [b"a", b"b"]
    monkeypatch.setattr(handoff_module, "SCAN_BUDGET", 8)
    assert _deliveries(node.fire(driver.now + 1.0, HintScan())) == [b"c", b"a", b"b"]
    # a whole round done: the next scan begins at the first
    assert _deliveries(node.fire(driver.now + 2.0, HintScan())) == [b"a", b"b", b"c"]


def test_a_driver_scan_is_not_bounded_by_the_scan_budget(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """``_scan_page__mutmut_28`` (a driver's scan given the budget of a periodic one):
    with a budget of two hints, a driver's scan of three hints sends the three."""
    monkeypatch.setattr(handoff_module, "SCAN_BUDGET", 2)
    driver, node = _fallback_with_hints("n2", "n3", "n4")
    given = frozenset(h.hint_id for h in driver.storages["n5"].hints())
    assert _deliveries(node.fire(driver.now, HintScan(hints=given))) == [b"a", b"b", b"c"]


def test_a_scan_goes_on_after_a_re_addressed_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    """``_scan_page__mutmut_67`` (after a re-addressed hint the scan's place forgotten:
    the next page read from the first again, spending the budget on hints it had
    visited): six nodes, the fallback keeps hints of keys a, k and c, k's for a node
    that then left; with a budget of three hints read one at a time, a scan sends a,
    re-addresses k and sends c (the mutant visited a again in c's place)."""
    monkeypatch.setattr(handoff_module, "SCAN_BUDGET", 3)
    monkeypatch.setattr(handoff_module, "SCAN_PAGE", 1)
    driver, preference, record = _written_at_the_second()
    intended, first, fallback = preference[0], preference[1], preference[5]
    node = driver.nodes[fallback]
    live = [name for name in preference[1:5] if name != fallback]
    for op_id, key, name in ((1, b"a", live[0]), (2, KEY, intended), (3, b"c", live[1])):
        driver.handle(fallback, node.receive(driver.now, first,
                                             ReplicaPut(op_id, key, record, hint=name)))
    view = membership.left(node.view, intended, node.partitioning, random.Random(0))
    driver.handle(fallback, node.receive(driver.now, first,
                                         Gossip(view.to_bytes(), reply=False)))
    effects = node.fire(driver.now, HintScan())
    assert _deliveries(effects) == [b"a", b"c"]
    persist(driver.storages[fallback], effects)
    assert sorted(h.intended for h in driver.storages[fallback].hints() if h.key == KEY) == \
        sorted(node.preference_list(KEY)[:3])  # k re-addressed to its new top N


def test_a_delivery_carries_the_retirements_named_for_its_record(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """``_scan_page__mutmut_106``, ``_107`` (the delivery's ``retired`` left out, or
    asked of None): a hint delivery names what ``Replica.carried_raw`` gives for the
    hint's record (the retired lifetimes the sender knows among its entries, session
    33; stubbed here: which retirements those are is ``test_dvv_retired_*``'s)."""
    driver, node = _fallback_with_hints("n2")
    (hint,) = driver.storages["n5"].hints()
    asked: list[tuple[bytes, ...]] = []

    def carried_raw(*raws: bytes) -> bytes:
        asked.append(raws)
        return b"the tail"
    monkeypatch.setattr(node.replica, "carried_raw", carried_raw)
    (delivery,) = [e.message for e in node.fire(driver.now, HintScan())
                   if isinstance(e, Send) and isinstance(e.message, HintDelivery)]
    assert (delivery.record, delivery.retired) == (hint.record, b"the tail")
    assert asked == [(hint.record,)]


def test_a_delivery_is_handled_at_its_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """``handlers__mutmut_7`` (the time not passed to ``on_delivery``: 0 always): the
    one-way ask of a key is held within ``request_timeout`` of the last one and made
    again after it; at time 0 always, every ask after the first was held for good.
    Two hints of one key delivered ``request_timeout`` apart (the first's merge made
    to keep a pruned entry, as above): two asks."""
    node, asked = _delivered_at(monkeypatch, (1.0, 2.0))
    assert len(asked) == 2
    assert node.stats["one-way-pruned-asks-held"] == 0


def _delivered_at(monkeypatch: pytest.MonkeyPatch, times: tuple[float, ...]
                  ) -> tuple[Node, list[str]]:
    """Hints of KEY, each a new value written at the third of its top N, delivered by
    it to the first at 100 s plus each of ``times`` (in request timeouts), the
    first's merges made to keep a pruned entry. Returns the first and its asks'
    peers."""
    driver = Driver.start(make_config(5, n=3, r=1, w=1, clock="dvv", anti_entropy=False,
                                      read_repair=False))
    first, _, third = driver.nodes["n1"].preference_list(KEY)[:3]
    driver.drop_filter = lambda src, dest, message: isinstance(message, ReplicaPut)
    node = driver.nodes[first]
    monkeypatch.setattr(node.replica, "kept_pruned", lambda merged, theirs: True)
    asked = []
    for hint_id, at in enumerate(times, start=1):
        ok_put(driver.put(third, KEY, b"v%d" % hint_id))
        record = driver.storages[third].read(KEY)
        assert record is not None
        now = 100.0 + at * node.config.request_timeout
        asked += [e.dest for e in node.receive(now, third, HintDelivery(hint_id, KEY, record))
                  if isinstance(e, Send) and isinstance(e.message, KeyRecords)]
    return node, asked


def test_a_keys_ask_is_held_within_the_request_timeout_and_counted(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """``AntiEntropy.ask_pruned__mutmut_10`` (``now + last``: late in a run nothing
    was held) and ``_14`` (the asks counted as 1): deliveries of a key's hints at 0,
    0.5 and 1 request timeouts (late in the run): the second is held, the others ask,
    and both asks are counted."""
    node, asked = _delivered_at(monkeypatch, (0.0, 0.5, 1.0))
    assert len(asked) == 2
    assert node.stats["one-way-pruned-asks"] == 2
    assert node.stats["one-way-pruned-asks-held"] == 1
