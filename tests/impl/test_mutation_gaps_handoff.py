"""Hinted handoff and the hint store: behaviours mutmut found no test pinned
(issue 12, section 5; docs/refinement.md, "Mutation score").

- a hint for a node that left is re-addressed to *each* node of the key's new top N
  (a hint per other node, the record merged in place when the fallback is one of
  them), and the old hint is deleted;
- the hint store's index of kept hints (which refuses duplicates) tells hints apart
  by intended node and by key, forgets a delivered hint (the same hint received
  again is kept again), and forgets a hint whose write the engine lost (a bug this
  found: the retried ReplicaPut was acknowledged and never kept);
- an acknowledged delivery frees its place among the ``MAX_HINTS_IN_FLIGHT`` at
  once; a scan naming hints sends exactly those, in flight or not; a scan skips
  the hints of a suspected node and those in flight (resent after the request
  timeout) and sends the others.
"""

from __future__ import annotations

import random

import pytest

from impl import membership
from impl.effects import Effect, Send, SetTimer
from impl.errors import StorageError
from impl.handoff import MAX_HINTS_IN_FLIGHT
from impl.messages import Gossip, HintAck, HintDelivery, ReplicaPut, ReplicaPutAck
from impl.node import Node
from impl.staging import persist
from impl.storage.memory import MemoryStorage
from impl.timers import HintScan
from impl.versions import values
from tests.impl.test_node_driver import Driver, make_config, ok_put

KEY = b"k"


def _written_at_the_second() -> tuple[Driver, tuple[str, ...], bytes]:
    """Six nodes, N = 3 (anti-entropy and read repair off): KEY written at the second
    node of its preference list alone. Returns the driver, the preference list and
    the record written."""
    driver = Driver.start(make_config(6, n=3, r=1, w=1, anti_entropy=False,
                                      read_repair=False))
    preference = driver.nodes["n1"].preference_list(KEY)
    driver.drop_filter = lambda src, dest, message: isinstance(message, ReplicaPut)
    ok_put(driver.put(preference[1], KEY, b"v"))
    driver.drop_filter = None
    record = driver.storages[preference[1]].read(KEY)
    assert record is not None
    return driver, preference, record


def _fallback_holding_a_hint(position: int) -> tuple[Driver, str, tuple[str, ...]]:
    """Six nodes, N = 3: the key's first node is the intended node of a hint kept by
    the node at ``position`` of the preference list (the value reached the second
    node only); then the fallback learns that the intended node left the ring.
    Returns the driver, the fallback and the key's new top N."""
    driver, preference, record = _written_at_the_second()
    intended, first, fallback = preference[0], preference[1], preference[position]
    node = driver.nodes[fallback]
    driver.handle(fallback, node.receive(driver.now, first,
                                         ReplicaPut(1, KEY, record, hint=intended)))
    assert [(h.intended, h.key) for h in driver.storages[fallback].hints()] == [(intended, KEY)]
    view = membership.left(node.view, intended, node.partitioning, random.Random(0))
    driver.handle(fallback, node.receive(driver.now, first, Gossip(view.to_bytes(), reply=False)))
    new_top = node.preference_list(KEY)[:3]
    assert intended not in new_top
    return driver, fallback, new_top


def _scan(driver: Driver, name: str) -> None:
    driver.handle(name, driver.nodes[name].fire(driver.now, HintScan()))


def test_a_hint_for_a_node_that_left_becomes_a_hint_per_node_of_the_new_top_n() -> None:
    driver, fallback, new_top = _fallback_holding_a_hint(5)
    assert fallback not in new_top
    _scan(driver, fallback)
    held = sorted((h.intended, h.key, values(driver.nodes[fallback].replica.parse(h.record)))
                  for h in driver.storages[fallback].hints())
    assert held == sorted((node, KEY, [b"v"]) for node in new_top)
    driver.advance(5.0)  # the scans deliver them
    for name in new_top:
        assert driver.records(KEY).get(name) == [b"v"], name
    assert driver.storages[fallback].hints() == []
    assert driver.nodes[fallback].record(KEY) is None  # kept for others, never its own


def test_a_fallback_in_the_new_top_n_keeps_the_re_addressed_version_itself() -> None:
    driver, fallback, new_top = _fallback_holding_a_hint(3)
    assert fallback in new_top
    _scan(driver, fallback)
    assert driver.records(KEY).get(fallback) == [b"v"]
    held = sorted(h.intended for h in driver.storages[fallback].hints())
    assert held == sorted(node for node in new_top if node != fallback)


# ---------------------------------------------------------------- the hint store's index


def _kept_hint(driver: Driver, fallback: str, intended: str, record: bytes,
               op_id: int = 1) -> None:
    node = driver.nodes[fallback]
    driver.handle(fallback, node.receive(driver.now, "n1",
                                         ReplicaPut(op_id, KEY, record, hint=intended)))


def test_a_hint_delivered_then_received_again_is_kept_again() -> None:
    """The index of kept hints forgets a delivered one: the same hint arriving again
    (a retried ReplicaPut, or a put that wrote the same record) is kept, not refused
    as a duplicate of a hint that is gone."""
    driver = Driver.start(make_config(5, n=3, r=1, w=1, anti_entropy=False))
    preference = driver.nodes["n1"].preference_list(KEY)
    intended, fallback = preference[1], preference[4]
    ok_put(driver.put(preference[0], KEY, b"v"))
    record = driver.storages[preference[0]].read(KEY)
    assert record is not None
    _kept_hint(driver, fallback, intended, record)
    _kept_hint(driver, fallback, intended, record, op_id=2)  # duplicates: refused,
    _kept_hint(driver, fallback, intended, record, op_id=3)  # and counted
    assert len(driver.storages[fallback].hints()) == 1
    assert driver.nodes[fallback].stats["duplicate-hints"] == 2
    _scan(driver, fallback)
    driver.deliver_all()  # delivered and acknowledged: deleted
    assert driver.storages[fallback].hints() == []
    _kept_hint(driver, fallback, intended, record, op_id=4)
    assert [(h.intended, h.key) for h in driver.storages[fallback].hints()] == [(intended, KEY)]
    assert driver.nodes[fallback].stats["duplicate-hints"] == 2


def _deliveries(effects: list[Effect]) -> list[bytes]:
    return [e.message.key for e in effects
            if isinstance(e, Send) and isinstance(e.message, HintDelivery)]


def test_an_acknowledged_delivery_frees_its_place_in_flight_at_once() -> None:
    """At most MAX_HINTS_IN_FLIGHT deliveries await an ack; an ack frees its place
    at once, so the next scan sends the hints that did not fit (not only after the
    request timeout)."""
    driver = Driver.start(make_config(5, n=3, r=1, w=1, anti_entropy=False,
                                      request_timeout=60.0))
    ok_put(driver.put("n1", KEY, b"v"))
    record = driver.storages["n1"].read(KEY)
    assert record is not None
    fallback, node = "n5", driver.nodes["n5"]
    for i in range(MAX_HINTS_IN_FLIGHT + 1):
        driver.handle(fallback, node.receive(driver.now, "n1",
                                             ReplicaPut(i + 1, b"key%d" % i, record, hint="n2")))
    first = node.fire(driver.now, HintScan())
    assert len(_deliveries(first)) == MAX_HINTS_IN_FLIGHT
    driver.handle(fallback, first)
    driver.deliver_all()  # every delivery acknowledged
    assert len(driver.storages[fallback].hints()) == 1
    second = node.fire(driver.now, HintScan())
    assert len(_deliveries(second)) == 1


class _HintsFail(MemoryStorage):
    """A memory engine whose hint writes fail while ``failing`` is set (a full disk)."""

    failing = False

    def add_hint(self, intended: str, key: bytes, record: bytes) -> int:
        if self.failing:
            raise StorageError("disk full")
        return super().add_hint(intended, key, record)


def test_a_hint_whose_write_failed_is_kept_when_it_comes_again() -> None:
    """The hint store's index must not outlive a write the engine lost: a ReplicaPut
    retried after its hint failed to persist is kept, not refused as a duplicate and
    acknowledged (the fallback would acknowledge a write it does not hold)."""
    storage = _HintsFail("always")
    node = Node("n4", make_config(4, n=3, r=2, w=2), storage, seed=1)
    persist(storage, node.start(0.0))
    driver = Driver.start(make_config(4, n=3, r=1, w=1, anti_entropy=False))
    ok_put(driver.put("n1", KEY, b"v"))
    record = driver.storages["n1"].read(KEY)
    assert record is not None
    storage.failing = True
    effects = node.receive(1.0, "n1", ReplicaPut(1, KEY, record, hint="n2"))
    # no ack: its refusal (session 50)
    rest = persist(storage, effects, lambda error: node.persist_failed(1.0, error))
    assert [type(e.message).__name__ for e in rest if isinstance(e, Send)] == [
        "ReplicaPutFailed"] and len(rest) == 1
    storage.failing = False
    effects = node.receive(2.0, "n1", ReplicaPut(2, KEY, record, hint="n2"))
    sent = list(persist(storage, effects, lambda error: node.persist_failed(2.0, error)))
    assert sent == [Send("n1", ReplicaPutAck(2, KEY, "n2"))]
    assert [(h.intended, h.key, h.record) for h in storage.hints()] == [("n2", KEY, record)]


def test_a_scan_naming_hints_sends_exactly_those() -> None:
    """``HintScan(hints=...)`` (a driver's retry of chosen hints): those hints are
    delivered now, in flight or not, and no other."""
    driver = Driver.start(make_config(5, n=3, r=1, w=1, anti_entropy=False))
    ok_put(driver.put("n1", KEY, b"v"))
    record = driver.storages["n1"].read(KEY)
    assert record is not None
    node = driver.nodes["n5"]
    for i, key in enumerate((b"a", b"b")):
        driver.handle("n5", node.receive(driver.now, "n1", ReplicaPut(i + 1, key, record,
                                                                      hint="n2")))
    chosen = next(h for h in driver.storages["n5"].hints() if h.key == b"b")
    effects = node.fire(driver.now, HintScan(hints=frozenset({chosen.hint_id})))
    assert _deliveries(effects) == [b"b"]


def _fallback_with_hints(*intended: str) -> tuple[Driver, Node]:
    """n5 keeps a hint of key ``a``, ``b``, ... for each node of ``intended`` in turn
    (request timeout 1 s)."""
    driver = Driver.start(make_config(5, n=3, r=1, w=1, anti_entropy=False,
                                      request_timeout=1.0))
    ok_put(driver.put("n1", KEY, b"v"))
    record = driver.storages["n1"].read(KEY)
    assert record is not None
    node = driver.nodes["n5"]
    for i, name in enumerate(intended):
        driver.handle("n5", node.receive(driver.now, "n1",
                                         ReplicaPut(i + 1, bytes([97 + i]), record, hint=name)))
    return driver, node


def test_a_scan_skips_unreachable_and_in_flight_hints_and_sends_the_rest() -> None:
    driver, node = _fallback_with_hints("n2", "n3")
    node.detector.timed_out("n2", driver.now)  # suspected for suspicion_timeout (3 s)
    now = driver.now
    assert _deliveries(node.fire(now, HintScan())) == [b"b"]  # n2's hint waits
    assert _deliveries(node.fire(now + 0.5, HintScan())) == []  # b in flight, unacked
    record = driver.storages["n1"].read(KEY)
    assert record is not None
    driver.handle("n5", node.receive(now + 0.6, "n1", ReplicaPut(9, b"c", record, hint="n4")))
    assert _deliveries(node.fire(now + 0.7, HintScan())) == [b"c"]  # after b in flight
    assert _deliveries(node.fire(now + 1.0, HintScan())) == [b"b"]  # b unanswered 1 s
    # past n2's suspicion: its hint goes; b and c, unanswered for 1 s or more, again
    assert _deliveries(node.fire(now + 3.5, HintScan())) == [b"a", b"b", b"c"]


def test_an_ack_tells_the_gossiper_which_node_acknowledged_which_hint(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The intended node's ack deletes the hint and tells :meth:`Gossiper.let_go` that
    *this* node holds the record (after a change, the node is then marked as having
    its transfer, so that a later write is no longer handed on to it)."""
    driver, node = _fallback_with_hints("n2")
    (hint,) = driver.storages["n5"].hints()
    told: list[tuple[str, bytes, bytes]] = []

    def let_go(target: str, key: bytes, record: bytes) -> bool:
        told.append((target, key, record))
        return False
    monkeypatch.setattr(node.gossiper, "let_go", let_go)
    driver.handle("n5", node.receive(driver.now, "n2", HintAck(hint.hint_id)))
    assert told == [("n2", hint.key, hint.record)]
    assert driver.storages["n5"].hints() == []


def test_a_delivery_unanswered_for_exactly_the_request_timeout_is_no_longer_in_flight() -> None:
    """At ``request_timeout`` seconds after it was sent, a delivery is due again: the
    scan takes it out of flight (``HintedHandoff.in_flight``), and leaves it out while
    its intended node is suspected (it holds no place among the
    ``MAX_HINTS_IN_FLIGHT``)."""
    _, node = _fallback_with_hints("n2")
    assert _deliveries(node.fire(10.0, HintScan())) == [b"a"]
    assert list(node.handoff.in_flight.values()) == [10.0]
    node.detector.timed_out("n2", 10.5)
    assert _deliveries(node.fire(11.0, HintScan())) == []
    assert node.handoff.in_flight == {}


def test_only_a_full_scan_settles_a_change(monkeypatch: pytest.MonkeyPatch) -> None:
    """A driver's scan of given hints sends those and does nothing else: it does not
    announce a settlement (:meth:`Gossiper.settle_if_seen`); the timer's scan does."""
    driver, node = _fallback_with_hints("n2")
    asked: list[float] = []

    def settle_if_seen() -> list[Effect]:
        asked.append(driver.now)
        return []
    monkeypatch.setattr(node.gossiper, "settle_if_seen", settle_if_seen)
    node.fire(driver.now, HintScan(hints=frozenset()))
    assert asked == []
    node.fire(driver.now, HintScan())
    assert asked == [driver.now]


def test_the_first_hint_scan_comes_within_the_first_interval() -> None:
    node = Node("n1", make_config(3, hint_scan_interval=0.5), MemoryStorage(), seed=1)
    (when,) = [e.at for e in node.start(5.0)
               if isinstance(e, SetTimer) and isinstance(e.timer, HintScan)]
    assert 5.0 <= when <= 5.5


def test_a_restarted_fallback_still_refuses_a_hint_it_keeps() -> None:
    """The index of kept hints is rebuilt from the engine at start: a hint received
    again after a restart is a duplicate, not a second copy."""
    driver, node = _fallback_with_hints("n2")
    (hint,) = driver.storages["n5"].hints()
    again = Node("n5", node.config, driver.storages["n5"], seed=5, now=driver.now)
    persist(driver.storages["n5"], again.receive(
        driver.now, "n1", ReplicaPut(7, hint.key, hint.record, hint="n2")))
    assert len(driver.storages["n5"].hints()) == 1
    assert again.stats["duplicate-hints"] == 1
