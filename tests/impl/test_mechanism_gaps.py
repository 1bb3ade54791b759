"""Behaviours a do-less mutant could remove while the other node tests stay green
(issue 12, section 5), each pinned with the mutant it must catch.

- read repair: one read repairs *every* stale responder (two stale replicas here);
- anti-entropy: one exchange leaves *both* replicas with the union (the side that
  sent its records gets the merge back), and the trees follow local writes;
- hinted handoff: a hint for a node that left the ring is re-addressed to the key's
  new top N (no other test ran that path);
- failure detection: a timed-out replica is routed around until its retry time,
  then probed again; any message from it clears the suspicion;
- our errors are not bad input: an error raised building a message of our own is
  an internal error (counted, logged), a peer's undecodable record is still dropped.
"""

from __future__ import annotations

import pytest

import impl.read_repair as read_repair_module
from impl.antientropy import AntiEntropy, RangeTrees
from impl.cluster import SimulatedCluster
from impl.effects import Effect, Send
from impl.failure_detector import FailureDetector
from impl.handoff import HintedHandoff
from impl.messages import KeyRecords, PutRequest, ReplicaPut, ReplicaPutAck
from impl.node import Node
from impl.storage.memory import MemoryStorage
from impl.timers import AntiEntropyRound
from impl.versions import Record, values
from tests.conftest import InternalErrors
from tests.impl.test_node_driver import Driver, make_config, ok_get, ok_put


def _two_stale_replicas() -> Driver:
    """n1 holds v1 only, n2 v2 only (concurrent, replica puts lost), n3 nothing."""
    config = make_config(3, n=3, r=3, w=1, anti_entropy=False, hinted_handoff=False,
                         sloppy_quorum=False)
    driver = Driver.start(config)
    driver.drop_filter = lambda src, dest, message: isinstance(message, ReplicaPut)
    ok_put(driver.put("n1", b"k", b"v1", client_id="c1"))
    ok_put(driver.put("n2", b"k", b"v2", client_id="c2"))
    driver.drop_filter = None
    return driver


def _read_and_settle(driver: Driver) -> None:
    assert sorted(ok_get(driver.get("n3", b"k", r=3)).values) == [b"v1", b"v2"]
    driver.deliver_all()


def test_one_read_repairs_every_stale_replica() -> None:
    driver = _two_stale_replicas()
    assert driver.records(b"k") == {"n1": [b"v1"], "n2": [b"v2"]}
    _read_and_settle(driver)
    assert driver.records(b"k") == {n: [b"v1", b"v2"] for n in ("n1", "n2", "n3")}


def test_read_repairs_are_counted_per_stale_responder() -> None:
    driver = _two_stale_replicas()
    _read_and_settle(driver)
    assert driver.nodes["n3"].stats["read-repairs"] == 3  # n1, n2, and n3 in place
    _read_and_settle(driver)  # nothing stale any more: the count stays
    assert driver.nodes["n3"].stats["read-repairs"] == 3


def test_read_repair_to_the_first_stale_replica_only_is_caught(
        monkeypatch: pytest.MonkeyPatch) -> None:
    original = read_repair_module.read_repair_targets

    def first_only(replies: dict[str, Record]) -> tuple[Record, list[str]]:
        merged, stale = original(replies)
        return merged, stale[:1]
    monkeypatch.setattr(read_repair_module, "read_repair_targets", first_only)
    driver = _two_stale_replicas()
    _read_and_settle(driver)
    assert driver.records(b"k") != {n: [b"v1", b"v2"] for n in ("n1", "n2", "n3")}


def _exchange(driver: Driver, a: str, b: str) -> None:
    driver.handle(a, driver.nodes[a].fire(driver.now, AntiEntropyRound(peer=b)))
    driver.deliver_all()


def _concurrent_at(driver: Driver) -> None:
    driver.drop_filter = lambda src, dest, message: isinstance(message, ReplicaPut)
    ok_put(driver.put("n1", b"k", b"v1", client_id="c1"))
    ok_put(driver.put("n2", b"k", b"v2", client_id="c2"))
    driver.drop_filter = None


def _ae_driver() -> Driver:
    config = make_config(3, n=3, r=1, w=1, anti_entropy=True, hinted_handoff=False,
                         sloppy_quorum=False)
    return Driver.start(config)


def test_one_exchange_leaves_both_replicas_with_the_union() -> None:
    for a, b in (("n1", "n2"), ("n2", "n1")):
        driver = _ae_driver()
        _concurrent_at(driver)
        _exchange(driver, a, b)
        records = driver.records(b"k")
        assert records["n1"] == records["n2"] == [b"v1", b"v2"], (a, b)


@pytest.mark.parametrize("mutant", ["one-way", "stale-trees"])
def test_a_do_less_exchange_is_caught(mutant: str, monkeypatch: pytest.MonkeyPatch) -> None:
    if mutant == "one-way":
        original = AntiEntropy.on_key_records

        def no_back_send(self: AntiEntropy, src: str, message: KeyRecords) -> list[Effect]:
            original(self, src, message)
            return []
        monkeypatch.setattr(AntiEntropy, "on_key_records", no_back_send)
    else:
        monkeypatch.setattr(RangeTrees, "update", lambda self, key, record: None)
    driver = _ae_driver()
    _concurrent_at(driver)
    _exchange(driver, "n1", "n2")
    records = driver.records(b"k")
    assert not records.get("n1") == records.get("n2") == [b"v1", b"v2"]


# ---------------------------------------------------------------- hints for a node that left


def _hint_for_a_node_that_leaves() -> tuple[SimulatedCluster, str, str]:
    """A fallback keeps a hint for ``intended``, which then leaves the ring without
    ever receiving it (the fallback cannot reach it): the hint must go to the key's
    new top N. Returns the cluster, the fallback and the node that left."""
    cluster = SimulatedCluster(5, n=3, r=1, w=3, seed=3, anti_entropy=False,
                               read_repair=False, partitioning="evenly-spaced")
    top = cluster.node("n1").preference_list(b"k")
    intended, fallback = top[2], top[3]
    cluster.crash(intended)
    cluster.client(top[0]).put(b"k", b"v")
    assert [h.intended for h in cluster.storages[fallback].hints()] == [intended]
    cluster.partition_one_way([fallback], [intended])  # the hint cannot be delivered
    cluster.restart(intended)
    cluster.leave(intended)
    cluster.run_for(30.0)
    return cluster, fallback, intended


def test_a_hint_for_a_node_that_left_goes_to_the_new_top_n() -> None:
    cluster, fallback, intended = _hint_for_a_node_that_leaves()
    cluster.heal()
    cluster.run_until_quiet()
    assert not [h for h in cluster.storages[fallback].hints() if h.intended == intended]
    new_top = cluster.node(fallback).preference_list(b"k")[:3]
    assert intended not in new_top
    for name in new_top:
        assert values(cluster.node(name).record(b"k")) == [b"v"], name


def test_a_hint_never_re_addressed_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(HintedHandoff, "_retarget", lambda self, hint_id, key, record: None)
    cluster, fallback, intended = _hint_for_a_node_that_leaves()
    cluster.heal()
    cluster.run_for(60.0)  # (run_until_quiet would wait for ever for that hint)
    new_top = cluster.node(fallback).preference_list(b"k")[:3]
    held = [h for h in cluster.storages[fallback].hints() if h.intended == intended]
    assert held or any(values(cluster.node(n).record(b"k")) != [b"v"] for n in new_top)


# ---------------------------------------------------------------- failure detection


def _replica_puts_to(effects: list[Effect]) -> set[str]:
    return {e.dest for e in effects if isinstance(e, Send) and isinstance(e.message, ReplicaPut)}


def _suspecting_node(*, heard: bool) -> tuple[Node, str, float]:
    """n1, which timed out on the key's second replica at time 0 (and, with ``heard``,
    then heard from it through a stray acknowledgement at 0.1)."""
    config = make_config(5, n=3, r=2, w=2, suspicion_timeout=5.0)
    node = Node("n1", config, MemoryStorage(), seed=1, now=0.0)
    replica = node.preference_list(b"k")[1]
    node.detector.timed_out(replica, 0.0)
    if heard:
        node.receive(0.1, replica, ReplicaPutAck(999, b"k"))
    return node, replica, 0.2


def test_a_suspected_replica_is_routed_around_until_its_retry_time() -> None:
    node, replica, now = _suspecting_node(heard=False)
    first = node.client_request(now, PutRequest(1, b"k", b"v1", b"", None, "c1"))
    assert replica not in _replica_puts_to(first)
    assert len(_replica_puts_to(first)) == 2  # a fallback took its place
    later = node.client_request(6.0, PutRequest(2, b"k", b"v2", b"", None, "c1"))
    assert replica in _replica_puts_to(later)  # past suspicion_timeout: probed again


def test_any_message_from_a_suspected_peer_clears_the_suspicion() -> None:
    node, replica, now = _suspecting_node(heard=True)
    assert not node.detector.is_suspected(replica, now)
    effects = node.client_request(now, PutRequest(1, b"k", b"v1", b"", None, "c1"))
    assert replica in _replica_puts_to(effects)


def test_a_node_that_ignores_arrivals_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(FailureDetector, "heard_from", lambda self, node, now: None)
    node, replica, now = _suspecting_node(heard=True)
    assert node.detector.is_suspected(replica, now)


# ---------------------------------------------------------------- our errors are not bad input


def test_an_error_building_our_own_message_is_internal_not_bad_input(
        monkeypatch: pytest.MonkeyPatch, internal_errors: InternalErrors) -> None:
    """The back-send of an exchange built without its records: the constructor's
    error is ours (counted and logged as internal), not the peer's bad data."""
    original = AntiEntropy.on_key_records

    def malformed(self: AntiEntropy, src: str, message: KeyRecords) -> list[Effect]:
        for effect in original(self, src, message):
            if isinstance(effect, Send) and isinstance(effect.message, KeyRecords):
                KeyRecords(effect.message.keys, (), effect.message.session)
        return []
    monkeypatch.setattr(AntiEntropy, "on_key_records", malformed)
    driver = _ae_driver()
    _concurrent_at(driver)
    _exchange(driver, "n1", "n2")
    counted = {n: (node.stats["internal-error"], node.stats["dropped"])
               for n, node in driver.nodes.items()}
    assert sum(i for i, _ in counted.values()) == 1
    assert sum(d for _, d in counted.values()) == 0
    records = internal_errors.take()
    assert len(records) == 1 and records[0].exc_info is not None
    assert "internal error handling KeyRecords" in records[0].getMessage()


def test_a_peers_undecodable_record_is_still_bad_input(internal_errors: InternalErrors) -> None:
    driver = _ae_driver()
    node = driver.nodes["n1"]
    node.receive(0.0, "n2", KeyRecords((b"k",), (b"\xff not a record",), 1, reply=True))
    assert (node.stats["dropped"], node.stats["internal-error"]) == (1, 0)
    assert internal_errors.records == []
