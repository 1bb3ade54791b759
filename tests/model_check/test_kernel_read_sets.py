"""The read sets the packed-state kernel takes on trust (issue 13; session 57).

:class:`model_check.kernel.Kernel` caches the drops and duplicates (the first block of
:func:`spec.faults.faults`) per (messages, budget), and anti-entropy
(:func:`spec.anti_entropy.anti_entropy`) and retirement gossip
(:func:`spec.learning.retirement_gossip`) per context: it trusts that the first read
the messages in flight and the fault budget alone, and that the other two read neither
(docs/model-checking.md, "A packed-state kernel (session 54)"). A spec change that
broke this would be hidden from a check with the kernel on. This test runs each of them,
on a sample of every covered suite entry's reachable states, on a view of the state in
which every part outside the declared read set raises when read
(:mod:`model_check.spec_memo`'s hidden parts), and requires the same steps as on the
state itself: the same actions, and the same parts in the read set of each successor
(with the messages and budget untouched by anti-entropy and gossip).

Mutants, each seen failing in :func:`test_a_step_that_reads_outside_its_key_is_caught`:
drops and duplicates that look at a node first, anti-entropy that looks at the messages
in flight, retirement gossip that looks at the budget.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator
from itertools import islice
from typing import Any

import pytest

from model_check import spec_memo
from model_check.kernel import covers
from model_check.suite import DEFAULT_SUITE, SuiteEntry
from spec import anti_entropy as anti_entropy_module
from spec import faults as faults_module
from spec import learning as learning_module
from spec import model as spec
from spec.actions import Action, Drop, Duplicate
from spec.state import State
from spec.step import Plan, plan_of

SAMPLE = 120
"""Reachable states asked per entry (the first, breadth-first)."""

CONTEXT = ("nodes", "clients", "puts", "side", "hints_acked", "hints_deleted", "epochs",
           "membership", "key_epochs", "backups", "known", "unpersisted", "rebuilding")
"""The parts of a state the kernel's context holds (every part but the messages in
flight and the budget)."""
MESSAGE_FAULTS = ("messages", "used")
"""What the drops and duplicates may read."""

Mechanism = Callable[[State, Plan], Iterator[tuple[Action, State]]]


class _HiddenTuple(spec_memo._HiddenTuple):
    """A hidden tuple that answers its truth value (the state's constructor asks it)."""

    __slots__ = ()

    def __bool__(self) -> bool:
        return True


class _HiddenSet(spec_memo._HiddenSet):
    """A hidden frozenset that answers its truth value (as :class:`_HiddenTuple`)."""

    __slots__ = ()

    def __bool__(self) -> bool:
        return True


def _hidden(value: Any) -> Any:
    """A stand-in for ``value`` that raises when read: an empty part and None stay as
    they are (the state's constructor asks a part's truth value before hashing it, and
    reads ``_hash`` of the membership and the backups, as :class:`spec_memo._Hidden`
    allows), so a step's test of a part's truth value alone is not caught."""
    if not value:
        return value
    if isinstance(value, frozenset):
        return _HiddenSet()
    if isinstance(value, tuple):
        return _HiddenTuple()
    return spec_memo._Hidden()


def view(state: State, readable: tuple[str, ...]) -> State:
    """``state`` with only ``readable`` (and its configuration, hashes) readable."""
    out = object.__new__(State)
    for name in State.__slots__:
        value = getattr(state, name)
        if name in CONTEXT and name not in readable:
            value = _hidden(value)
        elif name == "messages" and name not in readable:
            value = spec_memo._UNREADABLE
        elif name == "used" and name not in readable:
            value = spec_memo._UNREADABLE_BUDGET
        object.__setattr__(out, name, value)
    return out


def _sample(entry: SuiteEntry) -> list[State]:
    """The entry's first :data:`SAMPLE` reachable states, breadth-first."""
    first = spec.initial_state(entry.config)
    seen, queue, out = {first}, deque([first]), []
    while queue and len(out) < SAMPLE:
        state = queue.popleft()
        out.append(state)
        for _, successor in spec.successors(state):
            if successor not in seen:
                seen.add(successor)
                queue.append(successor)
    return out


def _parts(state: State, names: tuple[str, ...]) -> tuple[Any, ...]:
    return tuple(getattr(state, name) for name in names)


def disagreements(entry: SuiteEntry) -> list[str]:
    """Where a step the kernel caches reads outside its key on ``entry``'s sample (or
    gives other steps on the view): one line each."""
    plan = plan_of(entry.config)
    faults = faults_module.faults
    mechanisms: list[tuple[str, Mechanism]] = [
        ("anti_entropy", anti_entropy_module.anti_entropy),
        ("retirement_gossip", learning_module.retirement_gossip)]
    out = []
    for state in _sample(entry):
        blocked = [(a, s) for a, s in islice(faults(state, plan), 0, None)
                   if isinstance(a, Drop | Duplicate)]
        try:  # the drops and duplicates on the messages and budget alone
            got = list(islice(faults(view(state, MESSAGE_FAULTS), plan), len(blocked)))
            if [(a, _parts(s, MESSAGE_FAULTS)) for a, s in got] != [
                    (a, _parts(s, MESSAGE_FAULTS)) for a, s in blocked]:
                out.append(f"{entry.name}: drops and duplicates differ on the view")
        except (AssertionError, AttributeError, TypeError) as error:
            out.append(f"{entry.name}: drops and duplicates read outside their key: {error}")
        hidden = view(state, CONTEXT)
        for name, mechanism in mechanisms:
            steps = [(a, _parts(s, CONTEXT)) for a, s in mechanism(state, plan)]
            try:  # on the context alone, leaving the messages and the budget
                got = list(mechanism(hidden, plan))
                if [(a, _parts(s, CONTEXT)) for a, s in got] != steps or any(
                        s.messages is not hidden.messages or s.used is not hidden.used
                        for _, s in got):
                    out.append(f"{entry.name}: {name} differs on the view")
            except (AssertionError, AttributeError, TypeError) as error:
                out.append(f"{entry.name}: {name} reads outside the context: {error}")
    return out


ENTRIES = [e for e in DEFAULT_SUITE if covers(e.config)[0] and (
    e.config.drops or e.config.duplicates or e.config.anti_entropy
    or e.config.prune_knowledge == "learnt")]


def test_the_trusted_steps_read_their_keys_alone() -> None:
    """Every covered suite entry with drops, duplicates, anti-entropy or learnt
    retirements: :data:`SAMPLE` states each."""
    assert len(ENTRIES) >= 50
    found = [line for entry in ENTRIES for line in disagreements(entry)]
    assert not found, found[:5]


def _reads_a_node(faults: Mechanism) -> Mechanism:
    def mutant(state: State, plan: Plan) -> Iterator[tuple[Action, State]]:
        if state.used[0] == 0 and not state.nodes[0].up:  # no drop while n1 is down
            return
        yield from faults(state, plan)
    return mutant


def _reads_the_messages(anti_entropy: Mechanism) -> Mechanism:
    def mutant(state: State, plan: Plan) -> Iterator[tuple[Action, State]]:
        if len(state.messages) > 3:  # no exchange while many messages fly
            return
        yield from anti_entropy(state, plan)
    return mutant


def _reads_the_budget(gossip: Mechanism) -> Mechanism:
    def mutant(state: State, plan: Plan) -> Iterator[tuple[Action, State]]:
        if state.used[2]:  # no gossip once a node crashed
            return
        yield from gossip(state, plan)
    return mutant


@pytest.mark.parametrize(("module", "name", "mutate", "entry"), [
    (faults_module, "faults", _reads_a_node, "strict-no-anti-entropy"),
    (anti_entropy_module, "anti_entropy", _reads_the_messages, "sloppy-crash"),
    (learning_module, "retirement_gossip", _reads_the_budget, "dvv-prune-learnt"),
])
def test_a_step_that_reads_outside_its_key_is_caught(
        module: Any, name: str, mutate: Callable[[Mechanism], Mechanism], entry: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(module, name, mutate(getattr(module, name)))
    chosen = next(e for e in DEFAULT_SUITE if e.name == entry)
    assert disagreements(chosen)
