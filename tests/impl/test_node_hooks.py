"""The node's public surface for drivers (snapshot, named timers, the oracle failure
detector), duplicate-hint suppression and the flush timer."""

from __future__ import annotations

import math

import pytest

from impl.effects import Effect, Reply, Send, SetTimer
from impl.errors import ConfigError
from impl.hints import HintStore
from impl.messages import GetRequest, HintDelivery, PutRequest, ReplicaPut
from impl.node import Node
from impl.snapshot import CoordinationSnapshot
from impl.timers import Flush, HintScan, PutTimeout
from tests.impl.test_node_driver import Driver, make_config, ok_get, ok_put

KEY = b"cart"


def top_and_rest(driver: Driver, key: bytes = KEY) -> tuple[list[str], list[str]]:
    preference = list(driver.nodes["n1"].preference_list(key))
    return preference[:3], preference[3:]


# ---------------------------------------------------------------- duplicate hints


def _hinted_put_delivered_twice(driver: Driver) -> tuple[str, int]:
    """A put whose last slot is down: its hinted ReplicaPut is delivered once more
    (a duplicated message). Returns the fallback and how many hints it keeps."""
    top, _ = top_and_rest(driver)
    driver.down.add(top[2])
    ok_put(driver.put(top[0], KEY, b"v", settle=0.5))
    hinted = [(src, dest, m) for src, dest, m in driver.delivered
              if isinstance(m, ReplicaPut) and m.hint]
    assert hinted, "the down slot's write went to a fallback with a hint"
    src, fallback, message = hinted[0]
    driver.handle(fallback, driver.nodes[fallback].receive(driver.now, src, message))
    return fallback, len(driver.storages[fallback].hints())


def test_a_duplicated_hinted_replica_is_kept_once() -> None:
    driver = Driver.start(make_config())
    fallback, count = _hinted_put_delivered_twice(driver)
    assert count == 1
    assert driver.nodes[fallback].stats["duplicate-hints"] == 1


def test_the_duplicate_check_catches_a_node_without_it(monkeypatch: pytest.MonkeyPatch) -> None:
    def add_blindly(self: HintStore, intended: str, key: bytes, record: bytes) -> None:
        self.storage.add_hint(intended, key, record)

    monkeypatch.setattr(HintStore, "add", add_blindly)
    _, count = _hinted_put_delivered_twice(Driver.start(make_config()))
    assert count == 2, "without the check the duplicate becomes a second hint"


def test_a_different_record_for_the_same_node_and_key_is_a_new_hint() -> None:
    driver = Driver.start(make_config())
    top, _ = top_and_rest(driver)
    driver.down.add(top[2])
    ok_put(driver.put(top[0], KEY, b"v1", settle=0.5))
    ok_put(driver.put(top[0], KEY, b"v2", settle=0.5))
    hints = [h for s in driver.storages.values() for h in s.hints()]
    assert len({h.record for h in hints}) == len(hints) == 2


# ---------------------------------------------------------------- the flush timer


def _buffered_write_after(seconds: float) -> list[bytes]:
    """Put with fsync="buffered", let ``seconds`` pass, crash and restart every
    node, and read the key back."""
    driver = Driver.start(make_config(), fsync="buffered")
    top, _ = top_and_rest(driver)
    ok_put(driver.put(top[0], KEY, b"kept"))
    driver.advance(seconds)
    for name in list(driver.nodes):
        driver.crash(name)
    for name in list(driver.nodes):
        driver.restart(name)
    return sorted(ok_get(driver.get(top[0], KEY)).values)


def test_a_buffered_write_survives_a_crash_after_the_flush_interval() -> None:
    assert make_config().flush_interval == 0.1
    assert _buffered_write_after(0.15) == [b"kept"]


def test_the_flush_check_catches_a_node_that_never_flushes(
        monkeypatch: pytest.MonkeyPatch) -> None:
    original = Node.fire

    def no_flush(self: Node, now: float, timer: object) -> list[Effect]:
        if isinstance(timer, Flush):
            return [SetTimer(Flush(), now + self.config.flush_interval)]
        return original(self, now, timer)  # type: ignore[arg-type]

    monkeypatch.setattr(Node, "fire", no_flush)
    assert _buffered_write_after(0.15) == [], "never flushed: the crash loses the write"


def test_flush_interval_is_validated_and_unused_with_fsync_always() -> None:
    with pytest.raises(ConfigError, match="flush_interval"):
        make_config(flush_interval=0)
    driver = Driver.start(make_config())
    assert all(not isinstance(timer, Flush) for timers in driver.timers.values()
               for timer in timers)
    buffered = Driver.start(make_config(), fsync="buffered")
    assert all(Flush() in timers for timers in buffered.timers.values())


# ---------------------------------------------------------------- public hooks


def test_the_snapshot_lists_the_live_puts_and_gets() -> None:
    driver = Driver.start(make_config())
    top, _ = top_and_rest(driver)
    node = driver.nodes[top[0]]
    node.client_request(0.0, PutRequest(1, KEY, b"v"))
    node.client_request(0.0, GetRequest(2, KEY))
    live = node.snapshot().coordinations
    assert sorted(c.kind for c in live.values()) == ["get", "put"]
    assert all(isinstance(c, CoordinationSnapshot) and c.op_id == op_id
               for op_id, c in live.items())
    assert node.pending == 2
    put = node.snapshot().puts()[0]
    assert put.targets == tuple(top) and put.acks == {node.name}
    assert dict(put.sent_to) == {t: t for t in top}
    with pytest.raises(AttributeError):
        put.acks = frozenset()  # type: ignore[misc]


def test_fire_runs_exactly_the_named_timer() -> None:
    driver = Driver.start(make_config())
    top, _ = top_and_rest(driver)
    node = driver.nodes[top[0]]
    effects = node.client_request(0.0, PutRequest(1, KEY, b"v"))
    (op_id,) = node.snapshot().coordinations
    timers = [e.timer for e in effects if isinstance(e, SetTimer)]
    assert timers == [PutTimeout(op_id)]
    resent = node.fire(0.05, PutTimeout(op_id))  # not due: resends to the silent targets
    assert [e.timer for e in resent if isinstance(e, SetTimer)] == [PutTimeout(op_id)]
    assert sum(isinstance(e, Send) for e in resent) == 2
    effects = node.fire(5.0, PutTimeout(op_id))  # past the deadline: the put fails
    assert op_id not in node.snapshot().coordinations
    assert any(isinstance(e, Reply) and e.error is not None for e in effects)
    with pytest.raises(ValueError, match="not a timer"):
        node.fire(5.0, "nope")  # type: ignore[arg-type]


def test_set_suspected_and_a_hint_scan_of_chosen_hints() -> None:
    driver = Driver.start(make_config())
    top, rest = top_and_rest(driver)
    node = driver.nodes[top[0]]
    node.set_suspected({top[1]: math.inf, node.name: math.inf})
    assert node.suspects(top[1]) and not node.suspects(node.name)
    effects = node.client_request(0.0, PutRequest(1, KEY, b"v"))
    hinted = {e.dest for e in effects if isinstance(e, Send)
              and isinstance(e.message, ReplicaPut) and e.message.hint == top[1]}
    assert hinted and hinted <= set(rest)
    # a fallback delivers its hint once per retry period; a scan naming it resends now
    driver.handle(top[0], effects)
    driver.deliver_all()
    fallback = driver.nodes[next(iter(hinted))]
    first = fallback.fire(driver.now, HintScan())
    again = fallback.fire(driver.now, HintScan())
    chosen = frozenset(h.hint_id for h in fallback.snapshot().hints)
    after_reset = fallback.fire(driver.now, HintScan(chosen))

    def deliveries(effects: list[Effect]) -> int:
        return sum(isinstance(getattr(e, "message", None), HintDelivery) for e in effects)

    assert (deliveries(first), deliveries(again), deliveries(after_reset)) == (1, 0, 1)


# ---------------------------------------------------------------- the failure detector


def _silent_after_regular_gossip(detector: str) -> bool:
    """n2 gossips to n1 every second for 20 s, then falls silent for 5 s: does n1
    suspect it (no request to it ever timed out)?"""
    from impl.messages import Gossip

    config = make_config(failure_detector=detector, phi_threshold=3.0)
    driver = Driver.start(config)
    node, view = driver.nodes["n1"], driver.nodes["n2"].view.to_bytes()
    for second in range(20):
        node.receive(float(second), "n2", Gossip(view, reply=False))
    node.receive(25.0, "n3", Gossip(view, reply=False))  # time passes at n1
    return node.suspects("n2")


def test_phi_accrual_is_selected_by_configuration() -> None:
    assert make_config().failure_detector == "timeouts"
    assert not _silent_after_regular_gossip("timeouts"), "the paper's detector waits for a timeout"
    assert _silent_after_regular_gossip("phi-accrual"), "phi suspects a peer gone silent"
    with pytest.raises(ConfigError, match="failure_detector"):
        make_config(failure_detector="heartbeat")
    with pytest.raises(ConfigError, match="phi_threshold"):
        make_config(phi_threshold=0)


def test_the_detector_is_the_only_record_of_suspicion() -> None:
    driver = Driver.start(make_config())
    node = driver.nodes["n1"]
    node.set_suspected({"n2": math.inf})
    assert node.detector.suspicions(0.0) == {"n2": math.inf}
    assert dict(node.snapshot().suspected) == {"n2": math.inf}
    from impl.messages import Gossip

    node.receive(1.0, "n2", Gossip(driver.nodes["n2"].view.to_bytes(), reply=False))
    assert not node.suspects("n2") and not node.snapshot().suspected  # a message clears it
