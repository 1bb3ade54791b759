"""The simulator's network, time and fault layer, tested with a toy echo node.

The toy implements the node core's surface (client_request / receive / tick /
leave -> effects), so these tests do not depend on impl.node.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from impl.effects import Effect, PutResult, Reply, Send, SetTimer
from impl.errors import ConfigError, NodeDownError, QuorumError, RequestTimeoutError
from impl.simulator import (
    Delay,
    Faults,
    NodeLike,
    SimulationError,
    Simulator,
    derive_seed,
)
from impl.timers import GossipRound
from tests.conftest import examples

HEARTBEAT = GossipRound()  # the toy's one named timer


@dataclass(frozen=True, slots=True)
class Echo:
    """Client request: ask ``peer`` to echo ``text`` back."""

    request_id: int
    peer: str
    text: bytes


@dataclass(frozen=True, slots=True)
class Ping:
    request_id: int
    text: bytes


@dataclass(frozen=True, slots=True)
class Pong:
    request_id: int
    text: bytes


@dataclass(frozen=True, slots=True)
class Note:
    """Fire and forget: the receiver only records it."""

    number: int


class EchoNode:
    """A toy node core: pings a peer per request, replies when the pong comes back,
    fails the request after 1 s, and ticks itself every second (a heartbeat)."""

    def __init__(self, name: str, seed: int, now: float, disk: dict[str, list[bytes]]) -> None:
        self.name = name
        self.seed = seed
        self.disk = disk  # survives crashes: the toy's "durable storage"
        self.pending: dict[int, float] = {}
        self.received: list[tuple[float, str, Any]] = []
        self.ticks: list[float] = []
        self.next_heartbeat = now + 1.0

    def client_request(self, now: float, request: Any) -> list[Effect]:
        assert isinstance(request, Echo)
        self.pending[request.request_id] = now + 1.0
        return [Send(request.peer, Ping(request.request_id, request.text)),
                SetTimer(HEARTBEAT, now + 1.0)]

    def receive(self, now: float, src: str, message: Any) -> list[Effect]:
        self.received.append((now, src, message))
        if isinstance(message, Ping):
            self.disk.setdefault(self.name, []).append(message.text)
            return [Send(src, Pong(message.request_id, message.text))]
        if isinstance(message, Pong) and self.pending.pop(message.request_id, None) is not None:
            return [Reply(message.request_id, PutResult(message.text))]
        return []

    def start(self, now: float) -> list[Effect]:
        return self.tick(now)

    def fire(self, now: float, timer: Any) -> list[Effect]:
        assert timer == HEARTBEAT
        return self.tick(now)

    def tick(self, now: float) -> list[Effect]:
        self.ticks.append(now)
        effects: list[Effect] = []
        for request_id, deadline in sorted(self.pending.items()):
            if deadline <= now:
                del self.pending[request_id]
                effects.append(Reply(request_id, error=QuorumError("no pong", needed=1)))
        if now >= self.next_heartbeat:
            self.next_heartbeat = now + 1.0
        effects.append(SetTimer(HEARTBEAT, self.next_heartbeat))
        return effects

    def leave(self, now: float) -> list[Effect]:
        return []


class Toy:
    """A simulator over echo nodes a, b, c with their crash-surviving disk."""

    def __init__(self, seed: int = 1, faults: Faults | None = None, log: bool = True,
                 names: tuple[str, ...] = ("a", "b", "c")) -> None:
        self.disk: dict[str, list[bytes]] = {}
        self.crashed: list[str] = []
        self.sim = Simulator(self.make, seed=seed, faults=faults, log=log,
                             on_crash=self.crashed.append, client_timeout=3.0)
        for name in names:
            self.sim.add_node(name)

    def make(self, name: str, seed: int, now: float) -> NodeLike:
        return EchoNode(name, seed, now, self.disk)

    def node(self, name: str) -> EchoNode:
        node = self.sim.node(name)
        assert isinstance(node, EchoNode)
        return node

    def echo(self, coordinator: str, peer: str, text: bytes) -> Any:
        handle = self.sim.submit(coordinator, Echo(self.sim.new_request_id(), peer, text))
        self.sim.wait([handle])
        return handle


def workload(seed: int, faults: Faults) -> list[tuple[Any, ...]]:
    toy = Toy(seed, faults)
    handles = [toy.sim.submit(src, Echo(toy.sim.new_request_id(), dst, b"x%d" % i))
               for i, (src, dst) in enumerate([("a", "b"), ("b", "c"), ("c", "a")] * 20)]
    toy.sim.start_nemesis()
    toy.sim.wait(handles)
    toy.sim.run_for(10.0)
    return toy.sim.log


NOISY = Faults(loss=0.1, duplication=0.1, reorder=0.2, delay=Delay.exponential(0.001, 0.01),
               max_clock_skew=0.5, crash_interval=2.0, max_crashes=3, downtime=(0.5, 1.0),
               partition_interval=2.0, max_partitions=2, one_way_partitions=0.5)


def test_same_seed_same_run_different_seed_different_run() -> None:
    first = workload(42, NOISY)
    assert len(first) > 300
    assert workload(42, NOISY) == first
    assert workload(43, NOISY) != first


def test_echo_round_trip_and_reply() -> None:
    toy = Toy()
    handle = toy.echo("a", "b", b"hello")
    assert handle.result() == PutResult(b"hello")
    assert toy.disk["b"] == [b"hello"]
    assert toy.sim.stats["sent"] == 2 and toy.sim.stats["delivered"] == 2
    assert toy.sim.pending_requests == 0


def test_loss_drops_messages_and_is_bounded() -> None:
    toy = Toy(faults=Faults(loss=1.0))
    handle = toy.echo("a", "b", b"lost")
    with pytest.raises(QuorumError):
        handle.result()
    assert toy.sim.stats["lost"] == 1 and toy.sim.stats["delivered"] == 0

    bounded = Toy(faults=Faults(loss=1.0, max_losses=3))
    results = [bounded.echo("a", "b", b"%d" % i) for i in range(5)]
    assert [h.error is None for h in results] == [False, False, False, True, True]
    assert bounded.sim.stats["lost"] == 3


def test_duplication_duplicates_and_is_bounded() -> None:
    toy = Toy(faults=Faults(duplication=1.0, max_duplicates=1))
    toy.echo("a", "b", b"twice")
    toy.sim.run_for(1.0)
    pings = [m for _, _, m in toy.node("b").received if isinstance(m, Ping)]
    assert pings == [Ping(1, b"twice"), Ping(1, b"twice")]
    assert toy.sim.stats["duplicated"] == 1  # the pong was not duplicated: bound reached


def delivery_order(faults: Faults) -> list[int]:
    toy = Toy(faults=faults)
    for number in range(50):
        toy.sim.perform("a", [Send("b", Note(number))])
        toy.sim.advance(0.001)
    toy.sim.run_for(1.0)
    return [m.number for _, _, m in toy.node("b").received if isinstance(m, Note)]


def test_reordering_lets_later_messages_overtake() -> None:
    in_order = delivery_order(Faults(delay=Delay.constant(0.01)))
    assert in_order == list(range(50))
    shuffled = delivery_order(Faults(delay=Delay.constant(0.01), reorder=0.3))
    assert sorted(shuffled) == list(range(50)) and shuffled != list(range(50))
    uniform = delivery_order(Faults(delay=Delay.uniform(0.0, 0.05)))
    assert sorted(uniform) == list(range(50)) and uniform != list(range(50))


def test_partition_blocks_both_directions_until_heal() -> None:
    toy = Toy()
    toy.sim.partition({"a"}, {"b", "c"})
    assert toy.sim.is_cut("a", "b") and toy.sim.is_cut("c", "a") and not toy.sim.is_cut("b", "c")
    with pytest.raises(QuorumError):
        toy.echo("a", "b", b"cut").result()
    assert toy.echo("b", "c", b"fine").result() == PutResult(b"fine")
    toy.sim.heal()
    assert toy.echo("a", "b", b"healed").result() == PutResult(b"healed")


def test_one_way_partition_blocks_one_direction() -> None:
    toy = Toy()
    toy.sim.partition_one_way({"a"}, {"b"})
    toy.sim.perform("a", [Send("b", Note(1))])
    toy.sim.perform("b", [Send("a", Note(2))])
    toy.sim.run_for(1.0)
    assert [m for _, _, m in toy.node("b").received] == []
    assert [m for _, _, m in toy.node("a").received] == [Note(2)]
    assert toy.sim.stats["blocked"] == 1
    # a ping from b reaches a, but a's pong back to b is cut
    with pytest.raises(QuorumError):
        toy.echo("b", "a", b"half").result()
    assert toy.disk["a"] == [b"half"]


def test_partition_cuts_messages_already_in_flight() -> None:
    toy = Toy()
    toy.sim.perform("a", [Send("b", Note(1))])
    toy.sim.partition({"a"}, {"b"})
    toy.sim.run_for(1.0)
    assert toy.node("b").received == []


def test_clock_skew_shifts_a_nodes_now_and_its_timers() -> None:
    toy = Toy()
    toy.sim.set_skew("b", 10.0)
    toy.sim.run_for(0.5)
    toy.sim.perform("a", [Send("b", Note(1))])
    toy.sim.perform("b", [Send("a", Note(2))])
    toy.sim.run_for(0.4)
    (b_now, _, _), = toy.node("b").received
    (a_now, _, _), = toy.node("a").received
    assert b_now - a_now == pytest.approx(10.0, abs=0.01)
    assert toy.sim.node_now("b") - toy.sim.now == 10.0
    # b asks for a tick at its time 11.0 (= global 1.0 here); it fires then, not 10 s later
    b = toy.node("b")
    b.next_heartbeat = toy.sim.node_now("b") + 1.0
    toy.sim.perform("b", [SetTimer(HEARTBEAT, b.next_heartbeat)])
    fired_at = toy.sim.now + 1.0
    toy.sim.run_for(1.5)
    assert any(abs(t - (fired_at + 10.0)) < 1e-9 for t in b.ticks)


def test_random_skew_is_bounded() -> None:
    toy = Toy(faults=Faults(max_clock_skew=0.25))
    skews = [toy.sim.skew[name] for name in ("a", "b", "c")]
    assert all(-0.25 <= s <= 0.25 for s in skews) and len(set(skews)) == 3


def test_crash_loses_volatile_state_keeps_disk_and_restart_builds_a_new_node() -> None:
    toy = Toy()
    toy.echo("a", "b", b"kept")
    old_b = toy.node("b")
    handle = toy.sim.submit("b", Echo(toy.sim.new_request_id(), "c", b"orphan"))
    toy.sim.crash("b")
    assert toy.crashed == ["b"] and toy.sim.is_down("b")
    toy.sim.run_for(5.0)
    assert isinstance(handle.error, RequestTimeoutError)  # its coordinator crashed
    with pytest.raises(NodeDownError):
        toy.echo("b", "a", b"down").result()
    with pytest.raises(QuorumError):
        toy.echo("a", "b", b"to a down node").result()
    assert toy.sim.stats["to_down_node"] >= 1
    with pytest.raises(SimulationError):
        toy.sim.crash("b")
    new_b = toy.sim.restart("b")
    assert new_b is not old_b and not toy.sim.is_down("b")
    assert isinstance(new_b, EchoNode) and new_b.seed != old_b.seed
    assert toy.disk["b"][0] == b"kept"
    assert toy.echo("a", "b", b"back").result() == PutResult(b"back")
    with pytest.raises(SimulationError):
        toy.sim.restart("b")


def test_step_api_lists_delivers_drops_duplicates() -> None:
    toy = Toy(log=False)
    sim = toy.sim
    handle = sim.submit("a", Echo(sim.new_request_id(), "b", b"step"))
    (ping,) = sim.in_flight()
    assert (ping.src, ping.dest, ping.message, ping.blocked) == ("a", "b", Ping(1, b"step"), False)
    copy = sim.duplicate(ping.id)
    assert [m.id for m in sim.in_flight()] == [ping.id, copy]
    sim.drop(copy)
    assert sim.deliver(ping.id) is True
    (pong,) = sim.in_flight()
    assert pong.message == Pong(1, b"step") and pong.id > copy
    assert sim.next_message_id == pong.id + 1
    sim.perform("c", [Send("a", Note(7))])
    (note,) = [m for m in sim.in_flight() if m.id >= pong.id + 1]
    assert (note.src, note.message) == ("c", Note(7))
    sim.drop(note.id)
    sim.partition({"a"}, {"b"})
    assert sim.in_flight()[0].blocked
    with pytest.raises(SimulationError):
        sim.deliver(pong.id)
    sim.heal()
    assert sim.pending() == [handle]
    sim.deliver(pong.id)
    assert handle.done and handle.result() == PutResult(b"step")
    assert sim.pending() == []
    with pytest.raises(SimulationError):
        sim.deliver(pong.id)
    with pytest.raises(SimulationError):
        sim.drop(12345)


def test_fire_timers_ticks_the_chosen_node_only() -> None:
    toy = Toy(log=False)
    sim = toy.sim
    handle = sim.submit("a", Echo(sim.new_request_id(), "b", b"late"))
    assert sim.timers("a") == [1.0]
    before_b = len(toy.node("b").ticks)
    sim.fire_timers("a")
    assert sim.now == 1.0 and handle.done and isinstance(handle.error, QuorumError)
    assert len(toy.node("b").ticks) == before_b
    sim.crash("c")
    with pytest.raises(SimulationError):
        sim.fire_timers("c")


def test_nemesis_crashes_and_partitions_are_bounded_and_undone() -> None:
    toy = Toy(faults=Faults(crash_interval=0.5, max_crashes=2, downtime=(0.2, 0.4),
                            partition_interval=0.5, max_partitions=3,
                            partition_duration=(0.1, 0.3)))
    toy.sim.start_nemesis()
    toy.sim.run_for(30.0)
    assert toy.sim.stats["crashes"] == 2 and toy.sim.stats["restarts"] == 2
    assert toy.sim.stats["partitions"] == 3 and not toy.sim.cut_links
    assert not any(toy.sim.is_down(n) for n in ("a", "b", "c"))


def test_a_stopped_nemesis_starts_no_new_fault() -> None:
    toy = Toy(faults=Faults(crash_interval=0.5, downtime=(0.2, 0.4), partition_interval=0.5,
                            partition_duration=(0.1, 0.3)))
    toy.sim.start_nemesis()
    toy.sim.run_for(10.0)
    toy.sim.stop_nemesis()
    toy.sim.run_for(1.0)  # the last restart and heal happen
    counts = (toy.sim.stats["crashes"], toy.sim.stats["partitions"])
    assert counts[0] > 3 and counts[1] > 3
    toy.sim.run_for(30.0)
    assert (toy.sim.stats["crashes"], toy.sim.stats["partitions"]) == counts
    assert not toy.sim.cut_links and not any(toy.sim.is_down(n) for n in ("a", "b", "c"))


def test_fault_settings_are_validated() -> None:
    with pytest.raises(ConfigError, match="loss"):
        Faults(loss=1.5)
    with pytest.raises(ConfigError, match="max_duplicates"):
        Faults(max_duplicates=-1)
    with pytest.raises(ConfigError, match="downtime"):
        Faults(downtime=(3.0, 1.0))
    with pytest.raises(ConfigError, match="crash_interval"):
        Faults(crash_interval=0.0)
    with pytest.raises(ConfigError, match="high"):
        Delay.uniform(2.0, 1.0)


def test_unknown_nodes_are_refused() -> None:
    toy = Toy()
    with pytest.raises(SimulationError, match="unknown node"):
        toy.sim.partition({"a"}, {"zz"})
    with pytest.raises(SimulationError, match="unknown node"):
        toy.sim.submit("zz", Echo(1, "a", b""))
    with pytest.raises(SimulationError, match="already exists"):
        toy.sim.add_node("a")


def test_run_until_gives_up_with_the_seed() -> None:
    toy = Toy(seed=99)
    with pytest.raises(SimulationError, match="seed 99"):
        toy.sim.run_until(lambda: False, max_time=2.0)


def test_derived_seeds_are_stable() -> None:
    assert derive_seed(7, "n1", 0) == derive_seed(7, "n1", 0)
    assert derive_seed(7, "n1", 0) != derive_seed(7, "n1", 1)
    assert derive_seed(7, "n1", 0) == 0xC1FE092B27C12050  # pinned: stable across processes


@pytest.mark.parametrize("skew", [0.1, 1 / 3, -0.7, 1e-9, 12345.678])
def test_skewed_timers_fire_when_the_node_sees_them_due(skew: float) -> None:
    toy = Toy(log=False)
    toy.sim.set_skew("b", skew)
    toy.sim.perform("b", [SetTimer(HEARTBEAT, toy.sim.node_now("b") + 0.7)])
    toy.sim.run_for(50.0)
    ticks = toy.node("b").ticks
    assert 49 <= len(ticks) <= 53
    assert all(later >= earlier for earlier, later in itertools.pairwise(ticks))


def test_a_node_that_never_lets_time_advance_is_reported() -> None:
    class Stuck(EchoNode):
        def tick(self, now: float) -> list[Effect]:
            return [SetTimer(HEARTBEAT, now)]

    sim = Simulator(lambda name, seed, now: Stuck(name, seed, now, {}), seed=1)
    sim.add_node("a")
    with pytest.raises(SimulationError, match="time does not advance"):
        sim.run_for(1.0)


faults_strategy = st.builds(
    Faults,
    loss=st.sampled_from([0.0, 0.1, 0.5]),
    max_losses=st.one_of(st.none(), st.integers(0, 5)),
    duplication=st.sampled_from([0.0, 0.1, 0.5]),
    max_duplicates=st.one_of(st.none(), st.integers(0, 5)),
    reorder=st.sampled_from([0.0, 0.3]),
    delay=st.sampled_from([Delay.constant(0.01), Delay.uniform(0.0, 0.05),
                           Delay.exponential(0.001, 0.02)]),
    max_clock_skew=st.sampled_from([0.0, 0.5]),
    crash_interval=st.sampled_from([None, 1.0]),
    partition_interval=st.sampled_from([None, 1.0]),
    one_way_partitions=st.sampled_from([0.0, 0.5]),
)


def accounted(sim: Simulator) -> bool:
    """Every copy sent is delivered, lost, blocked, sent to a down node, or in flight."""
    stats = sim.stats
    return (stats["sent"] + stats["duplicated"]
            == stats["delivered"] + stats["lost"] + stats["blocked"] + stats["to_down_node"]
            + len(sim.in_flight()))


def echo_run(seed: int, faults: Faults, requests: int) -> Toy:
    toy = Toy(seed, faults)
    names = ("a", "b", "c")
    toy.sim.start_nemesis()
    handles = [toy.sim.submit(names[i % 3], Echo(toy.sim.new_request_id(), names[(i + 1) % 3],
                                                 b"%d" % i)) for i in range(requests)]
    toy.sim.wait(handles)
    return toy


@settings(max_examples=examples(30))
@given(seed=st.integers(0, 2**32), faults=faults_strategy, requests=st.integers(1, 20))
def test_every_message_is_accounted_for_and_runs_repeat(seed: int, faults: Faults,
                                                        requests: int) -> None:
    first = echo_run(seed, faults, requests)
    assert accounted(first.sim), first.sim.stats
    again = echo_run(seed, faults, requests)
    assert again.sim.log == first.sim.log


def test_the_accounting_check_catches_a_network_that_invents_messages(
        monkeypatch: pytest.MonkeyPatch) -> None:
    original = Simulator._enqueue

    def enqueue_twice(self: Simulator, envelope: Any) -> int:
        original(self, envelope)
        return original(self, envelope)

    monkeypatch.setattr(Simulator, "_enqueue", enqueue_twice)
    toy = echo_run(1, Faults(loss=0.1), 5)
    assert not accounted(toy.sim)


class SilentNode:
    """A node core that never answers (its clients' requests end at their deadline)."""

    def start(self, now: float) -> list[Effect]:
        return []

    def client_request(self, now: float, request: Any) -> list[Effect]:
        return []

    def receive(self, now: float, src: str, message: Any) -> list[Effect]:
        return []

    def fire(self, now: float, timer: Any) -> list[Effect]:
        return []

    def leave(self, now: float) -> list[Effect]:
        return []


def test_client_deadlines_fire_in_time_order_whatever_order_they_were_set() -> None:
    """Session 32 keeps deadlines set in time order in a queue beside the heap; one set
    earlier than the last queued goes to the heap. Either way they fire in (time,
    order set) order, interleaved with the heap's events of the same time."""
    sim = Simulator(lambda name, seed, now: SilentNode(), seed=1, log=True,
                    client_timeout=3.0)
    sim.add_node("a")
    seen: list[tuple[float, list[bool]]] = []
    handles = []
    for timeout in (0.25, 5.0, 1.0, 3.0, 1.0, 0.5, 3.0):
        handles.append(sim.submit("a", Echo(sim.new_request_id(), "a", b""), timeout=timeout))
        if len(handles) == 3:  # an event at 1.0 set between the two deadlines at 1.0
            sim.schedule(1.0, lambda: seen.append((sim.now, [h.done for h in handles])))
    sim.run_for(0.75)
    assert [handle.done for handle in handles] == [True, False, False, False, False, True,
                                                   False]
    sim.wait(handles)
    assert seen == [(1.0, [True, False, True, False, False, True, False])]
    replies = [(event[0], event[3]) for event in sim.log if event[1] == "reply"]
    ids = [handle.request_id for handle in handles]
    assert replies == [(0.25, ids[0]), (0.5, ids[5]), (1.0, ids[2]), (1.0, ids[4]),
                       (3.0, ids[3]), (3.0, ids[6]), (5.0, ids[1])]
    assert all(isinstance(handle.error, RequestTimeoutError) for handle in handles)


def test_run_until_performs_a_queued_deadline_due_before_its_limit() -> None:
    """``run_until`` gives up at the earliest event of the heap *and* the deadline
    queue past its limit: a deadline queued before the limit is performed first."""
    sim = Simulator(lambda name, seed, now: SilentNode(), seed=1, client_timeout=3.0)
    sim.add_node("a")
    handle = sim.submit("a", Echo(sim.new_request_id(), "a", b""), timeout=0.25)
    sim.schedule(1.0, lambda: None)
    with pytest.raises(SimulationError, match="condition not reached"):
        sim.run_until(lambda: False, max_time=0.5)
    assert handle.done and sim.now == 0.25
