"""Session 42's levers on the simulator's put/get path (docs/simulator.md, "... (session
42, put/get path)"): each shortcut against what it replaced.

- A simulated node does not run a delivered message's constructor checks a second
  time (:attr:`impl.node.Node.recheck_messages`, cleared by
  :class:`impl.simulator.Simulator` on the nodes it starts); a node driven by hand
  still refuses a message built around its checks, and a frame off the wire is
  still checked in full by :func:`impl.wire.decode` (the constructor runs there).
- :func:`impl.versions.own_epoch` (the key-epoch check of every put and replica
  merge) and :func:`impl.versions.written_context_pairs` (a put's answered context)
  answer as their pre-session-42 forms, written out here, on seeded records of
  puts over each other by actors that are prefixes of each other.
"""

from __future__ import annotations

import random
from typing import Any

import pytest

from impl import SimulatedCluster, versions, wire
from impl.config import ClusterConfig
from impl.effects import Send
from impl.errors import BadMessageError
from impl.messages import ReplicaGet, ReplicaPut
from impl.node import Node
from impl.storage.memory import MemoryStorage
from impl.versions import ClockMode, Record, apply_put, context_clock, context_pairs
from spec.vclock import VClock, entry_actor

KEY = b"cart"


def _bypass(cls: type, **fields: Any) -> Any:
    """A message built around its constructor's checks (as a hostile peer could)."""
    message: Any = object.__new__(cls)
    for name, value in fields.items():
        object.__setattr__(message, name, value)
    return message


def _counting_checks(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Every run of ReplicaPut's checks, by the message checked."""
    checked: list[object] = []
    original = ReplicaPut.__post_init__

    def post_init(self: ReplicaPut) -> None:
        checked.append(self)
        original(self)
    monkeypatch.setattr(ReplicaPut, "__post_init__", post_init)
    return checked


@pytest.mark.parametrize("through_wire", [False, True])
def test_a_simulated_replica_put_is_checked_once(monkeypatch: pytest.MonkeyPatch,
                                                 through_wire: bool) -> None:
    cluster = SimulatedCluster(nodes=5, n=3, r=2, w=2, seed=1, wire=through_wire)
    assert not any(node.recheck_messages for node in cluster.sim.nodes.values())
    checked = _counting_checks(monkeypatch)
    cluster.client().put(KEY, b"milk")
    cluster.sim.run_for(1.0)
    # the coordinator's two ReplicaPuts: each checked when built, and (through the
    # wire) when decoded at its replica; never again by Node.receive
    assert len(checked) == (4 if through_wire else 2)
    assert len({id(message) for message in checked}) == len(checked)


def test_a_restarted_simulated_node_does_not_recheck_either() -> None:
    cluster = SimulatedCluster(nodes=5, n=3, r=2, w=2, seed=1)
    cluster.crash("n2")
    cluster.restart("n2")
    assert cluster.sim.nodes["n2"].recheck_messages is False


def test_a_node_driven_by_hand_refuses_a_message_built_around_its_checks() -> None:
    config = ClusterConfig(nodes=("n1", "n2", "n3"), n=3, r=2, w=2)
    node = Node("n1", config, MemoryStorage("always"), seed=1)
    node.start(0.0)
    assert node.recheck_messages is True
    with pytest.raises(BadMessageError) as raised:
        ReplicaGet(-1, KEY)
    assert node.receive(1.0, "n2", _bypass(ReplicaGet, op_id=-1, key=KEY)) == []
    assert node.stats["dropped"] == 1
    assert node.log[-1] == f"1.000 dropped message from 'n2': {raised.value}"


def test_a_malformed_frame_from_a_peer_is_refused_by_name() -> None:
    frame = wire.encode(_bypass(ReplicaGet, op_id=1, key=b""))
    with pytest.raises(BadMessageError, match=r"ReplicaGet\.key"):
        wire.decode(frame)
    # in the simulator's wire mode, too: the frame is decoded (and refused, naming the
    # field) before any node sees it
    cluster = SimulatedCluster(nodes=5, n=3, r=2, w=2, seed=1, wire=True)
    cluster.sim.perform("n1", [Send("n2", _bypass(ReplicaGet, op_id=1, key=b""))])
    with pytest.raises(BadMessageError, match=r"ReplicaGet\.key: must not be empty"):
        cluster.sim.run_for(0.5)
    assert cluster.node("n2").stats["dropped"] == 0


# ------------------------------------------------ the key epochs, the written context


def _old_own_epoch(record: Record, lifetime: str) -> int | None:
    """:func:`impl.versions.own_epoch` before session 42 (the sorted context pairs,
    ``max(..., default=None)``)."""
    own: dict[str, int] = {}
    for entry, counter in context_pairs(record):
        if not counter or not entry.startswith(lifetime):
            continue
        actor = entry_actor(entry) or entry
        epoch = versions._epoch_of(actor, lifetime)
        if epoch is not None:
            own[actor] = epoch
    return max(own.values(), default=None)


def _old_written_dvv(after: Record, context: VClock, actor: str,
                     max_pairs: int | None) -> tuple[tuple[str, int], ...]:
    """:func:`impl.versions.written_context_pairs` in dvv before session 42 (the
    pairs ranked whether or not any is cut)."""
    pairs = dict(context.entries)
    for entry in (e for e in after.dvvset.entries if e.id == actor and e.values):
        seen = pairs.get(actor, 0)
        if all(entry.counter - j <= seen for j in range(1, len(entry.values))):
            pairs[actor] = max(seen, entry.counter)
    ranked = sorted(pairs.items(), key=lambda p: (p[0] == actor, p[1], p[0]), reverse=True)
    return tuple(sorted(pair for pair in ranked[:max_pairs] if pair[1]))


_ACTORS = ("n1", "n1.1", "n1.2", "n1.10", "n10", "n10.3", "n2", "n2.5", "n1.x")
_LIFETIMES = ("n1", "n1.1", "n10", "n2", "n3", "n1.")


def _records(seed: int, mode: ClockMode) -> list[tuple[Record, VClock, str]]:
    """Seeded puts over each other by random actors with random (partial) contexts:
    (the record after the put, the context it was given, the put's actor)."""
    rng = random.Random(seed)
    out: list[tuple[Record, VClock, str]] = []
    record = Record.empty(mode)
    for step in range(40):
        actor = rng.choice(_ACTORS)
        seen = context_clock(record)
        # a context that saw all, part or none of the record (siblings follow)
        kept = {name: counter for name, counter in seen.pairs if rng.random() < 0.6}
        context = VClock.of(kept) if rng.random() < 0.8 else VClock()
        if rng.random() < 0.1:
            record = Record.empty(mode)  # a new key's first put
        record = apply_put(record, context, b"v%d" % step, coordinator=actor.split(".")[0],
                           client_id=f"c{rng.randrange(3)}", now=float(step), actor=actor)
        out.append((record, context, actor))
    return out


@pytest.mark.parametrize("mode", [ClockMode.DVV, ClockMode.SERVER_VCLOCK,
                                  ClockMode.CLIENT_VCLOCK])
def test_own_epoch_answers_as_before(mode: ClockMode) -> None:
    cases = 0
    for seed in range(12):
        for record, _, _ in [(Record.empty(mode), VClock(), ""), *_records(seed, mode)]:
            for lifetime in _LIFETIMES:
                assert versions.own_epoch(record, lifetime) == _old_own_epoch(record, lifetime)
                cases += 1
    assert cases > 2000


def test_written_context_pairs_answer_as_before() -> None:
    kinds: set[str] = set()
    for seed in range(12):
        for record, context, actor in _records(seed, ClockMode.DVV):
            for max_pairs in (None, 1, 2, 3, 5, 50):
                new = versions.written_context_pairs(record, context, b"v", actor=actor,
                                                     writer=actor, now=0.0,
                                                     max_pairs=max_pairs)
                assert new == _old_written_dvv(record, context, actor, max_pairs)
                kinds.add("cut" if max_pairs is not None and len(new) == max_pairs
                          else "whole")
    assert kinds == {"cut", "whole"}
