"""Trace validation of a client request a restarted node's startup shadow round holds
(session 37; docs/refinement.md, "Client requests held by a shadow round (session
37)").

No seed of the plain workload holds a client get since session 35 (its clients are
done within about 2 s; the nemesis' first restarts come later). :class:`Forced` is
a forced schedule, a hook of the test and no change of the implementation: the
last client's first get (or first put) waits until a node restarts into its
shadow round while the workload runs, and is then sent at once to that node. On
the seeds below the round holds it; then either

- the round replays it and the get's own deadline fires (a replica get or its
  answer lost: the get lingers until its deadline), which validated ``ok`` before
  this session; or
- the node crashes with the get still held (its round waits for a partitioned
  peer), and its client times out. This diverged before: the crash's mapping
  forgot the held get, so the spec's client never issued it and the client's next
  get was numbered one past the spec's (two-key seed 121). The held get is now the
  spec's ``ClientGet`` before the ``Crash``; a held *put* lost so is the named spec
  gap ``held-put-lost``.

Two-key seed 105 met a second gap of the mapping: a ``HintDelivery`` n4's round
held while its sender n3 restarted was dropped at its replay as a message of a
superseded start (``superseded-start-dropped``, session 35's review), a ``Drop`` the
mapping did not know (now the trace-spec step ``guard-dropped``).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import pytest

from impl.messages import GetRequest, MerkleExchange
from impl.node import Node
from impl.timers import GetTimeout
from model_check.trace_events import GUARD_STATS, Step, TraceEvents
from model_check.trace_swarm import TWO_KEYS, SeedReport, Swarm, trace_config
from model_check.trace_validation import TraceValidator, validate_seed
from spec.actions import ClientGet, ClientPut

#: (seed, keys): the held get is replayed and its own deadline then fires, its read
#: repair at the deadline changing a store (so the deadline's mapping matters)
DEADLINE_SEEDS = ((33, 1), (248, 1), (60, 2))
#: (seed, keys): the node crashes holding the get. Two-key 121 (which diverged
#: before session 37) and one-key 222 until session 50, whose hinted reads by
#: default moved their schedules (neither crash holds the get now): two-key 209
#: (crash n4 holding get c3 #16) and one-key 442 (crash n2 holding get c3 #16),
#: the first of the seeds with crashes of 0-285 and 0-466 under the forced
#: schedule (docs/refinement.md "Trace validation with hinted reads by default
#: (session 50)")
LOST_GET_SEEDS = ((209, 2), (442, 1))
#: (seed, keys): the node crashes holding the client's put (it diverged before; 20
#: too until session 50, whose hinted reads by default moved its schedule: its
#: crash holds no put now)
LOST_PUT_SEEDS = ((178, 1),)
#: (seed, keys): the held get's node drops a message its round held, of a start of
#: its sender superseded meanwhile (a divergence before session 37)
SUPERSEDED_SEEDS = ((105, 2),)


class Forced(TraceValidator):
    """The validator under a forced schedule (see the module docstring): the last
    client's first request of kind ``turn`` ("get" or "put") waits for the first
    restart into a shadow round while the workload runs, and goes at once to that
    node. Records what the hook made happen: the client gets replayed after a
    round (:attr:`replayed_gets`), those whose own deadline fired
    (:attr:`deadlines`: event, virtual time, node) and the crash events that lost
    held client requests (:attr:`lost_at_crash`)."""

    def __init__(self, *args: Any, turn: str = "get", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.turn = turn
        self.waiting: str | None = self.config.client_names[-1]
        self.forcing: str | None = None
        self.replayed_gets: set[tuple[str, int]] = set()
        self.deadlines: list[tuple[int, float, str]] = []
        self.lost_at_crash: list[str] = []

    def _schedule_turn(self, client: str, delay: float) -> None:
        if client == self.waiting and self.turns.get(client, "get") == self.turn:
            return  # until a node restarts into its round (:meth:`step`)
        super()._schedule_turn(client, delay)

    def entry_nodes(self, key: str) -> list[str]:
        nodes = super().entry_nodes(key)
        return [self.forcing] if self.forcing in nodes else nodes

    def step(self, entries: Any) -> None:
        super().step(entries)
        if self.history and "(holding " in self.history[-1]:
            self.lost_at_crash.append(self.history[-1])
        first = entries[0] if entries else None
        client = self.waiting
        if (first is None or first[1] != "start" or client is None
                or self.turns.get(client, "get") != self.turn or not self.workload_open
                or getattr(self.sim.nodes.get(first[2]), "shadow", None) is None):
            return
        name: str = first[2]
        self.waiting = None

        def go() -> None:
            self.forcing = name
            try:
                self._turn(client)
            finally:
                self.forcing = None

        self.sim.schedule(self.sim.now, go)

    def _note_ops(self, name: str, actions: Any) -> None:
        before = set(self.ops)
        super()._note_ops(name, actions)
        if any(isinstance(a, ClientGet) for a in actions):
            self.replayed_gets.update(set(self.ops) - before)

    def _tick(self, name: str, timer: object, evidence: Any
              ) -> tuple[str, list[list[Step]], Any]:
        if (isinstance(timer, GetTimeout) and timer.target is None
                and (name, timer.op_id) in self.replayed_gets
                and self._coordination(name, timer.op_id) is None):
            self.deadlines.append((self.report.events + 1, self.sim.now, name))
        return super()._tick(name, timer, evidence)


def run(seed: int, keys: int, turn: str = "get") -> Forced:
    """Validate ``seed`` (``keys`` 1 or 2) under the forced schedule."""
    config = trace_config(keys=TWO_KEYS) if keys == 2 else trace_config()
    validator = Forced(config, seed=seed, swarm=Swarm.draw(seed), turn=turn)
    validator.run()
    return validator


def _ok(validator: Forced) -> None:
    report = validator.report
    assert report.verdict == "ok", (report.line(), report.reason)
    assert report.impl_converged and report.spec_converged, report.line()


def _diverges_at(validator: Forced, event: str) -> None:
    report = validator.report
    assert report.verdict == "divergence", report.line()
    assert event in report.reason.splitlines()[0], report.reason.splitlines()[0]


def _ids(seeds: tuple[tuple[int, int], ...]) -> list[str]:
    return [f"seed{s}-keys{k}" for s, k in seeds]


# ---------------------------------------------------------------- the get replayed


@pytest.mark.parametrize(("seed", "keys"), DEADLINE_SEEDS, ids=_ids(DEADLINE_SEEDS))
def test_a_held_get_whose_deadline_fires_validates(seed: int, keys: int) -> None:
    """The round holds the client get and replays it; the get's own deadline
    fires (a replica's answer lost: it lingered) and its read repair changes a
    store: ``ok``, converged on both sides."""
    validator = run(seed, keys)
    _ok(validator)
    assert len(validator.replayed_gets) == 1, "the round held no client get: the schedule moved"
    assert len(validator.deadlines) == 1, "the held get's deadline did not fire: it moved"


def _replayed_get_not_tracked(monkeypatch: pytest.MonkeyPatch, what: str) -> None:
    """A mutant of the mapping of a replayed client get (``_note_ops``): its
    operation found but not tracked as live (``live``: its end maps to no read
    repair) or without the coordinator's own read among its answers (``own``)."""
    original = TraceValidator._note_ops

    def note(self: TraceValidator, name: str, actions: Any) -> None:
        before = set(self.ops)
        original(self, name, actions)
        for op in set(self.ops) - before:
            if what == "live":
                self.gets_live.pop(op, None)
            else:
                self.replies_seen.get(op, {}).pop(name, None)

    monkeypatch.setattr(TraceValidator, "_note_ops", note)


@pytest.mark.parametrize(("what", "seed", "event"), [
    ("live", 33, "tick n2 GetTimeout"), ("own", 248, "tick n4 GetTimeout")])
def test_the_deadline_of_a_replayed_get_is_its_read_repair(
        monkeypatch: pytest.MonkeyPatch, what: str, seed: int, event: str) -> None:
    """Mutants of the replay's mapping (the deadline's client-get part): the
    replayed get's deadline then repairs what the spec does not, a divergence at
    the deadline."""
    _replayed_get_not_tracked(monkeypatch, what)
    _diverges_at(run(seed, 1), event)


def test_a_round_that_drops_a_held_client_get_is_caught(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The shadow round's mutant: a client get it should hold is dropped (the
    client times out). Before this session the validator explained the silent get
    as one begun under a hidden cut that reached no node and failed at once; now a
    request taken in silence diverges (``TraceValidator._taken``)."""
    _drops_client_gets(monkeypatch, "_defer")


def _drops_client_gets(monkeypatch: pytest.MonkeyPatch, where: str) -> None:
    """A mutant of ``Node._defer`` or ``Node._replay`` (``where``) that drops client
    gets, caught as a request taken in silence on the forced seed 33."""
    original = getattr(Node, where)

    def drops_gets(self: Node, now: float, method: str, args: tuple[object, ...]) -> Any:
        if method == "client_request" and isinstance(args[0], GetRequest):
            return []
        return original(self, now, method, args)

    monkeypatch.setattr(Node, where, drops_gets)
    validator = run(33, 1)
    _diverges_at(validator, "get c3 #16 @n2")
    assert "neither answered it nor sent anything" in validator.report.reason


def test_a_round_that_drops_a_held_client_get_at_its_replay_is_caught(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The shadow round's mutant (session 37's review): the round holds the client
    get, and its replay drops it (the client times out). The replay is the spec's
    ``ClientGet``, whose replica gets the spec may lose: ``ok`` before the review
    (only the forced schedule's own count saw no replayed get); now a replayed
    request taken in silence diverges too (``TraceValidator._taken``)."""
    _drops_client_gets(monkeypatch, "_replay")


# ---------------------------------------------------------------- lost at a crash


@pytest.mark.parametrize(("seed", "keys"), LOST_GET_SEEDS, ids=_ids(LOST_GET_SEEDS))
def test_a_held_get_lost_at_a_crash_validates(seed: int, keys: int) -> None:
    """The node crashes holding the client get: the spec's ``ClientGet`` arrived
    and died with its coordinator (the client timed out); ``ok``."""
    validator = run(seed, keys)
    _ok(validator)
    assert any("(holding get c3 " in label for label in validator.lost_at_crash), (
        validator.lost_at_crash, "no crash lost the held get: the schedule moved")


@pytest.mark.parametrize(("seed", "keys"), LOST_PUT_SEEDS, ids=_ids(LOST_PUT_SEEDS))
def test_a_held_put_lost_at_a_crash_validates(seed: int, keys: int) -> None:
    """The node crashes holding the client put (its first put waits for the
    restart): the put never ran, the spec's client never sent it
    (``held-put-lost``), and the client's next put is the spec's; ``ok``."""
    validator = run(seed, keys, turn="put")
    _ok(validator)
    assert validator.report.trace_steps["held-put-lost"] == 1, validator.report.line()
    assert any("(holding put c3 " in label for label in validator.lost_at_crash)


def test_the_plain_seed_with_a_held_put_lost_validates() -> None:
    """Two-key seed 199 of the plain workload (no hook) loses a held client put at
    a crash (``ok`` before session 37 only because it was the client's last put).
    With hinted reads off (the rule it was found under): since session 50 they are
    on by default, and with them no plain seed of two-key 0-599 or one-key
    0-999 loses a held put (docs/refinement.md "Trace validation with hinted
    reads by default (session 50)")."""
    report = validate_seed(199, config=trace_config(keys=TWO_KEYS, hinted_reads=False))
    assert report.verdict == "ok", (report.line(), report.reason)
    assert report.trace_steps["held-put-lost"] == 1, report.line()


def test_a_crash_that_forgets_the_held_get_diverges(monkeypatch: pytest.MonkeyPatch) -> None:
    """The mapping before session 37: the held client requests vanish at the crash.
    The spec's client never issued the get, and the client's next get is numbered
    one past the spec's (two-key seed 209, 121 until session 50: :data:`LOST_GET_SEEDS`)."""
    monkeypatch.setattr(TraceValidator, "_lost_requests", lambda self, requests: [])
    _diverges_at(run(209, 2), "get c3 #17 @n2")


@pytest.mark.parametrize(("mutant", "event"), [
    ("kept", "put c3 #8 @n2"), ("arrived", "crash n2 (holding put c3 #7 @n2)")])
def test_a_lost_put_is_one_never_sent(monkeypatch: pytest.MonkeyPatch, mutant: str,
                                      event: str) -> None:
    """Mutants of ``held-put-lost`` on seed 178 (20 until session 50, whose
    hinted reads by default moved 20's schedule; 178's crash of n2 holds put c3 #7,
    and each mutant diverges as it did at 20): the harness keeps the lost put as
    its client's write (``kept``: its next put is numbered one past the spec's),
    or the put arrives in the spec before the crash (``arrived``: the spec's
    coordinator stored it, the implementation did not)."""
    original = TraceValidator._lost_requests

    def lost(self: TraceValidator, requests: Any) -> list[Step]:
        if mutant == "arrived":
            return [a for _, actions in requests for a in actions]
        steps = original(self, requests)
        for _, actions in requests:
            for action in actions:
                assert isinstance(action, ClientPut)
                client = self.clients[action.client]
                client.puts_issued += 1
                client.counter += 1
        return steps

    monkeypatch.setattr(TraceValidator, "_lost_requests", lost)
    _diverges_at(run(178, 1, turn="put"), event)


# ---------------------------------------------------------------- a superseded start


@pytest.mark.parametrize(("seed", "keys"), SUPERSEDED_SEEDS, ids=_ids(SUPERSEDED_SEEDS))
def test_a_held_message_of_a_superseded_start_validates(seed: int, keys: int) -> None:
    """n4's round held n3's ``HintDelivery`` while n3 restarted; at its replay n4
    drops it as a message of n3's superseded start: the spec's ``Drop``
    (``guard-dropped``); ``ok``."""
    validator = run(seed, keys)
    _ok(validator)
    assert validator.report.trace_steps["guard-dropped"] == 1, validator.report.line()


def test_an_unmapped_superseded_drop_diverges(monkeypatch: pytest.MonkeyPatch) -> None:
    """The mapping before session 37 (``superseded-start-dropped`` not among the
    guard's refusals): the replayed delivery diverges (the spec stores the hint)."""
    original = TraceEvents.guard_acted
    monkeypatch.setattr(TraceEvents, "guard_acted", lambda self, name, stat: (
        stat != "superseded-start-dropped" and original(self, name, stat)))
    assert "superseded-start-dropped" in GUARD_STATS
    _diverges_at(run(105, 2), "replayed after the shadow round: deliver HintDelivery n3->n4")



# ---------------------------------------------------------------- the guard's drops judged


def _guard_drops(monkeypatch: pytest.MonkeyPatch, stat: str, seed: int,
                 drops: Callable[[TraceValidator, Node, str], bool]) -> SeedReport:
    """A mutant of the restore guard (session 37's review): the anti-entropy
    messages (``MerkleExchange``) ``drops(validator, node, sender)`` picks are
    dropped and counted as ``stat``, as the guard counts a refusal; the one-key
    seed ``seed`` validated. Mapped to the spec's ``Drop`` (``guard-dropped``),
    such a refusal passed as network loss before the review."""
    original = Node.receive
    validators: list[TraceValidator] = []

    def receive(self: Node, now: float, src: str, message: object) -> Any:
        if (isinstance(message, MerkleExchange) and message.generation and self.guard
                and self.shadow is None and drops(validators[0], self, src)):
            self.stats[stat] += 1
            return []
        return original(self, now, src, message)

    monkeypatch.setattr(Node, "receive", receive)
    validators.append(TraceValidator(trace_config(), seed=seed, swarm=Swarm.draw(seed)))
    report = validators[0].run()
    assert report.verdict == "divergence", report.line()
    assert "a fresh message dropped" in report.reason, report.reason
    return report


def _every_other() -> Callable[[TraceValidator, Node, str], bool]:
    calls = itertools.count()
    return lambda validator, node, src: next(calls) % 2 == 0


def test_a_guard_that_drops_a_fresh_message_as_superseded_diverges(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Every other anti-entropy message dropped as one of a superseded start of its
    sender (the sender's present start): ``ok`` before on 29 of one-key seeds 0-29
    (seed 3 among them); now a drop whose sender is still in the start that sent
    it diverges (``TraceEvents._superseded_justified``)."""
    report = _guard_drops(monkeypatch, "superseded-start-dropped", 3, _every_other())
    assert "is still in that start" in report.reason


def test_a_guard_drop_of_a_down_senders_message_is_judged_by_its_last_start(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The anti-entropy messages of a sender down at their delivery (crashed, not
    restarted: no later start) dropped as of a superseded start. The sender's
    latest start seen up judges them (``TraceEvents.latest_start``); without it
    the drop passed (one-key seed 27, ``ok`` with ``latest_start`` emptied before
    each event, checked in session 50). Seed 20 until session 50, whose hinted
    reads by default moved its schedule: of 32 one-key seeds tried (CI's, 11, 15
    and those of 17-52 with crashes) only 27 catches the mutant."""
    _guard_drops(monkeypatch, "superseded-start-dropped", 27,
                 lambda validator, node, src: validator.sim.is_down(src))


def test_a_guard_that_drops_a_fresh_message_as_rolled_back_diverges(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Every other anti-entropy message dropped as one of a rolled-back store
    (session 34's refusal, the same ``Drop``): ``ok`` before on 19 of one-key
    seeds 0-19 (seed 3 among them); now a rolled-back refusal of a sender whose
    store was never seen rolled back diverges
    (``TraceEvents._rollback_justified``)."""
    report = _guard_drops(monkeypatch, "rolled-back-peer-dropped", 3, _every_other())
    assert "was seen rolled back" in report.reason


def test_a_resend_of_a_hint_a_shadow_round_holds_is_the_specs_drop() -> None:
    """Session 41's review: a shadow round drops a fallback's resend equal to a hint
    it holds (``shadow-round-duplicate-hint``, :meth:`impl.node.Node._defer`), the
    spec's ``Drop`` of that copy (the trace-spec step ``shadow-dropped``). Plain
    seed 110 drops 1 so and validates ``ok`` (seed 20, which dropped 6, until
    session 50, whose hinted reads by default moved 20's schedule: of one-key seeds
    0-118 only 110 drops so now; two-key seed 67 too). Mutants (scratch): the
    mapping left out (a divergence at the first: the spec merged a hint the node
    never did; at 110, event 232's ``HintDelivery`` n3->n4, checked in session 50),
    the round deferring resends again (no ``shadow-dropped`` step)."""
    validator = TraceValidator(trace_config(), seed=110, swarm=Swarm.draw(110))
    report = validator.run()
    assert report.verdict == "ok", (report.line(), report.reason)
    assert report.trace_steps["shadow-dropped"] >= 1, report.line()
