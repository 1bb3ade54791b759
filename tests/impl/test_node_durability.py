"""Persist, then send: no acknowledgement leaves before the write it acknowledges.

With ``fsync = "always"`` a write the driver performed is durable at once, so the
check is: at the moment a driver performs an acknowledgement -- a replica's
ReplicaPutAck, a put's successful Reply, an intended node's HintAck -- the
acknowledging node's engine already holds what it acknowledges. The driver here
is the test Driver with :func:`impl.staging.persist` as its persist step; two
mutants (a driver that sends before it writes, a node that returns its writes
last) must be caught.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import pytest

import impl.staging as staging
from impl.effects import Effect, PutResult, Reply, Send
from impl.messages import HintAck, HintDelivery, PutRequest, ReplicaPut, ReplicaPutAck
from impl.node import Node
from impl.versions import ClockMode, Record, decode_record, merge, values
from tests.impl.test_node_driver import Driver, make_config, ok_put

KEY = b"cart"


@dataclass
class CheckingDriver(Driver):
    """A Driver that checks every acknowledgement against the acknowledging engine."""

    persist: Callable[..., list[Effect]] = staging.persist
    checked: list[str] = field(default_factory=list)
    puts: dict[int, PutRequest] = field(default_factory=dict)

    def request(self, at: str, request: object) -> None:
        if isinstance(request, PutRequest):
            self.puts[request.request_id] = request
        super().request(at, request)  # type: ignore[arg-type]

    def handle(self, name: str, effects: Iterable[Effect]) -> None:
        node = self.nodes[name]
        rest = self.persist(self.storages[name], list(effects),
                            lambda error: node.persist_failed(self.now, error))
        for effect in rest:
            self._check(name, effect)
        super().handle(name, [e for e in rest if not isinstance(e, Send | Reply)])
        for effect in rest:
            if isinstance(effect, Send):
                self.inflight.append((name, effect.dest, effect.message))
            elif isinstance(effect, Reply):
                self.replies[effect.request_id] = effect

    def _holds(self, name: str, key: bytes, raw: bytes) -> bool:
        mode = ClockMode(self.config.clock)
        stored = self.storages[name].read(key)
        mine = decode_record(stored, mode) if stored else Record.empty(mode)
        return merge(mine, decode_record(raw, mode)) == mine

    def _delivered(self, src: str, dest: str, kind: type, match: Callable[[object], bool]
                   ) -> object:
        return next(m for s, d, m in reversed(self.delivered)
                    if s == src and d == dest and isinstance(m, kind) and match(m))

    def _check(self, name: str, effect: Effect) -> None:
        message = getattr(effect, "message", None)
        if isinstance(effect, Send) and isinstance(message, ReplicaPutAck):
            put = self._delivered(effect.dest, name, ReplicaPut,
                                  lambda m: m.op_id == message.op_id)  # type: ignore[attr-defined]
            assert isinstance(put, ReplicaPut)
            if message.hint:
                assert any(h.intended == message.hint and h.key == put.key
                           for h in self.storages[name].hints()), "hint acked before kept"
            else:
                assert self._holds(name, put.key, put.record), "ReplicaPutAck before the write"
            self.checked.append("replica-put-ack")
        elif isinstance(effect, Send) and isinstance(message, HintAck):
            delivery = self._delivered(effect.dest, name, HintDelivery,
                                       lambda m: m.hint_id == message.hint_id)  # type: ignore[attr-defined]
            assert isinstance(delivery, HintDelivery)
            assert self._holds(name, delivery.key, delivery.record), "HintAck before the write"
            self.checked.append("hint-ack")
        elif isinstance(effect, Reply) and isinstance(effect.result, PutResult):
            request = self.puts[effect.request_id]
            stored = self.storages[name].read(request.key)
            assert stored is not None, "put acknowledged before the coordinator's write"
            mode = ClockMode(self.config.clock)
            assert request.value in values(decode_record(stored, mode))
            self.checked.append("put-result")


def _run(driver: CheckingDriver) -> list[str]:
    """Puts with a replica down (hints, then hinted handoff when it is back)."""
    top = list(driver.nodes["n1"].preference_list(KEY)[:3])
    driver.down.add(top[2])
    for i in range(3):
        ok_put(driver.put(top[i % 2], KEY, b"v%d" % i, settle=0.5))
    driver.down.clear()
    driver.advance(10.0)
    return driver.checked


def _start(**changes: object) -> CheckingDriver:
    config = make_config()
    driver = CheckingDriver(config)
    for i, name in enumerate(config.nodes):
        from impl.storage.memory import MemoryStorage

        driver.storages[name] = MemoryStorage("always")
        driver.add(name, Node(name, config, driver.storages[name], seed=i))
    for field_name, value in changes.items():
        setattr(driver, field_name, value)
    return driver


def test_no_acknowledgement_leaves_before_its_write() -> None:
    checked = _run(_start())
    assert {"replica-put-ack", "hint-ack", "put-result"} <= set(checked)


def test_the_check_catches_a_driver_that_sends_before_it_writes() -> None:
    later: list[tuple[object, list[Effect]]] = []

    def send_first(storage: object, effects: list[Effect],
                   on_error: object = None) -> list[Effect]:
        for held, writes in later:  # the previous batch's writes, one input late
            staging.persist(held, writes)  # type: ignore[arg-type]
        later.clear()
        writes = [e for e in effects if isinstance(e, staging.Write)]  # type: ignore[misc,arg-type]
        later.append((storage, writes))
        return [e for e in effects if e not in writes]

    with pytest.raises(AssertionError, match="before"):
        _run(_start(persist=send_first))


def test_the_order_check_catches_a_node_that_returns_its_writes_last(
        monkeypatch: pytest.MonkeyPatch) -> None:
    def writes_last(self: Node, effects: list[Effect]) -> list[Effect]:
        return [*effects, *self.storage.take()]

    monkeypatch.setattr(Node, "_finish", writes_last)
    with pytest.raises(ValueError, match="returns its writes before"):
        _run(_start())
