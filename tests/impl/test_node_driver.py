"""A tiny in-test driver for impl.node.Node, and tests of the basic path.

The driver holds a dict of nodes, a FIFO of in-flight messages and each node's
named timers. ``deliver_all`` delivers every message in order (optionally
dropping those to or from "down" nodes or across a partition); ``advance``
moves time forward, ticking nodes whose timers are due. Other node tests import
:class:`Driver` from here.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import pytest

from impl.config import ClusterConfig
from impl.effects import CancelTimer, Effect, GetResult, PutResult, Reply, Send, SetTimer
from impl.errors import DynamoError
from impl.messages import GetRequest, PutRequest
from impl.node import Node
from impl.staging import persist
from impl.storage.memory import MemoryStorage
from impl.timers import Timer

__all__ = ["Driver", "make_config"]


def make_config(nodes: int = 5, **changes: object) -> ClusterConfig:
    names = tuple(f"n{i}" for i in range(1, nodes + 1))
    base: dict[str, object] = {"nodes": names, "partitioning": "evenly-spaced"}
    base.update(changes)
    return ClusterConfig(**base)  # type: ignore[arg-type]


@dataclass
class Driver:
    """Delivers Sends among a dict of Nodes in order; ticks timers; collects replies."""

    config: ClusterConfig
    now: float = 0.0
    nodes: dict[str, Node] = field(default_factory=dict)
    storages: dict[str, MemoryStorage] = field(default_factory=dict)
    inflight: deque[tuple[str, str, object]] = field(default_factory=deque)
    timers: dict[str, dict[Timer, float]] = field(default_factory=dict)
    replies: dict[int, Reply] = field(default_factory=dict)
    down: set[str] = field(default_factory=set)
    cut: set[frozenset[str]] = field(default_factory=set)  # pairs that cannot talk
    drop_filter: Callable[[str, str, object], bool] | None = None
    delivered: list[tuple[str, str, object]] = field(default_factory=list)
    next_request: int = 1

    @classmethod
    def start(cls, config: ClusterConfig, fsync: str = "always") -> Driver:
        driver = cls(config)
        for i, name in enumerate(config.nodes):
            driver.storages[name] = MemoryStorage(fsync)  # type: ignore[arg-type]
            # a brand-new cluster: no start to announce (Node's ``announce``)
            driver.add(name, Node(name, config, driver.storages[name], seed=i,
                                  announce=False))
        return driver

    def add(self, name: str, node: Node) -> None:
        self.nodes[name] = node
        self.wake(name)

    def wake(self, name: str) -> None:
        """Start node ``name``'s timers if it has none (a new or restarted node)."""
        if not self.timers.get(name):
            self.timers[name] = {}
            self.handle(name, self.nodes[name].start(self.now))

    def tick(self, name: str) -> None:
        """Fire every timer of ``name`` due now, earliest first."""
        timers = self.timers.get(name, {})
        for timer, at in sorted(timers.items(), key=lambda item: item[1]):
            if at <= self.now and timers.get(timer) == at:
                del timers[timer]
                self.handle(name, self.nodes[name].fire(self.now, timer))

    def handle(self, name: str, effects: Iterable[Effect]) -> None:
        node = self.nodes[name]
        effects = persist(self.storages[name], list(effects),
                          lambda error: node.persist_failed(self.now, error))
        for effect in effects:
            if isinstance(effect, Send):
                self.inflight.append((name, effect.dest, effect.message))
            elif isinstance(effect, Reply):
                self.replies[effect.request_id] = effect
            elif isinstance(effect, SetTimer):
                self.timers.setdefault(name, {})[effect.timer] = effect.at
            elif isinstance(effect, CancelTimer):
                self.timers.get(name, {}).pop(effect.timer, None)

    def blocked(self, src: str, dest: str) -> bool:
        return src in self.down or dest in self.down or frozenset((src, dest)) in self.cut

    def deliver_all(self, limit: int = 100_000) -> int:
        count = 0
        while self.inflight and count < limit:
            src, dest, message = self.inflight.popleft()
            count += 1
            if self.blocked(src, dest) or dest not in self.nodes:
                continue
            if self.drop_filter is not None and self.drop_filter(src, dest, message):
                continue
            self.delivered.append((src, dest, message))
            self.handle(dest, self.nodes[dest].receive(self.now, src, message))
        return count

    def advance(self, seconds: float, step: float = 0.05) -> None:
        """Let ``seconds`` of time pass, delivering messages and ticking due timers."""
        end = self.now + seconds
        while True:
            self.deliver_all()
            due = [at for n, timers in self.timers.items() if n not in self.down
                   for at in timers.values()]
            upcoming = min(due, default=end + 1)
            if upcoming > end:
                break
            self.now = max(self.now, upcoming)
            for name in sorted(self.timers):
                if name not in self.down:
                    self.tick(name)
        self.now = end
        self.deliver_all()

    def request(self, at: str, request: GetRequest | PutRequest) -> None:
        self.handle(at, self.nodes[at].client_request(self.now, request))

    def put(self, at: str, key: bytes, value: bytes, context: bytes = b"", *,
            w: int | None = None, client_id: str = "c1", settle: float = 0.0) -> Reply:
        rid = self._id()
        self.request(at, PutRequest(rid, key, value, context, w, client_id))
        return self._await(rid, settle)

    def get(self, at: str, key: bytes, *, r: int | None = None, settle: float = 0.0) -> Reply:
        rid = self._id()
        self.request(at, GetRequest(rid, key, r, "c1"))
        return self._await(rid, settle)

    def _id(self) -> int:
        rid = self.next_request
        self.next_request += 1
        return rid

    def _await(self, rid: int, settle: float) -> Reply:
        self.deliver_all()
        waited = 0.0
        while rid not in self.replies and waited < 20:
            self.advance(0.1)
            waited += 0.1
        if settle:
            self.advance(settle)
        return self.replies[rid]

    def crash(self, name: str) -> None:
        self.down.add(name)
        self.timers.pop(name, None)
        self.storages[name].crash()

    def restart(self, name: str, seed: int = 99) -> None:
        self.down.discard(name)
        self.nodes[name] = Node(name, self.config, self.storages[name], seed=seed, now=self.now)
        self.timers.pop(name, None)
        self.wake(name)

    def records(self, key: bytes) -> dict[str, list[bytes]]:
        out: dict[str, list[bytes]] = {}
        for name, node in self.nodes.items():
            record = node.record(key)
            if record is not None:
                from impl.versions import values

                out[name] = sorted(values(record))
        return out


def ok_get(reply: Reply) -> GetResult:
    assert reply.error is None, reply.error
    assert isinstance(reply.result, GetResult)
    return reply.result


def ok_put(reply: Reply) -> PutResult:
    assert reply.error is None, reply.error
    assert isinstance(reply.result, PutResult)
    return reply.result


def failed(reply: Reply) -> DynamoError:
    assert reply.error is not None, reply.result
    return reply.error


# ------------------------------------------------------------------ the basic path


def test_put_then_get_returns_the_value() -> None:
    driver = Driver.start(make_config())
    top = driver.nodes["n1"].preference_list(b"cart")[:3]
    ok_put(driver.put(top[0], b"cart", b"milk"))
    got = ok_get(driver.get(top[1], b"cart"))
    assert got.values == [b"milk"]
    assert got.context


def test_get_of_a_missing_key_is_empty() -> None:
    driver = Driver.start(make_config())
    got = ok_get(driver.get("n1", b"nothing"))
    assert got.values == []


def test_write_reaches_all_of_the_top_n() -> None:
    driver = Driver.start(make_config())
    ok_put(driver.put("n1", b"k", b"v", settle=0.5))
    top = driver.nodes["n1"].preference_list(b"k")[:3]
    assert sorted(driver.records(b"k")) == sorted(top)


def test_put_with_context_supersedes() -> None:
    driver = Driver.start(make_config())
    first = ok_put(driver.put("n1", b"k", b"a", settle=0.5))
    ok_put(driver.put("n2", b"k", b"b", first.context, settle=0.5))
    assert ok_get(driver.get("n3", b"k")).values == [b"b"]


@pytest.mark.parametrize("nodes", [1, 3, 7])
def test_any_cluster_size(nodes: int) -> None:
    config = make_config(nodes, n=min(3, nodes), r=1, w=1)
    driver = Driver.start(config)
    for i in range(20):
        ok_put(driver.put(f"n{i % nodes + 1}", f"k{i}".encode(), f"v{i}".encode()))
    for i in range(20):
        got = ok_get(driver.get(f"n{(i + 1) % nodes + 1}", f"k{i}".encode()))
        assert got.values == [f"v{i}".encode()]
