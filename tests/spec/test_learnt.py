"""Knowledge of retirements as state (session 34): ``prune_knowledge = "learnt"``,
``State.known``, the step :class:`spec.actions.LearnRetirement`
(:func:`spec.learning.retirement_gossip`), the knowledge an anti-entropy exchange
carries (:func:`spec.learning.exchanged`), and pruning by what the writer knows
now. Source: docs/spec.md, "Knowledge that grows (session 34)"."""

from __future__ import annotations

import dataclasses
from collections import deque
from collections.abc import Callable, Iterator

import pytest

from model_check.suite import CONFIG_DIR
from spec import learning, step
from spec.actions import (
    Action,
    AntiEntropy,
    Backup,
    Crash,
    DiskLoss,
    LearnRetirement,
    Partition,
    Recover,
    Restore,
    action_from_json,
)
from spec.config import Config, load_config
from spec.dvv import DVVSet, Entry
from spec.learning import exchanged
from spec.model import initial_state, narrate, successors
from spec.presentation import describe
from spec.retired import forget, known_by, lifetime_of, prune_at
from spec.state import State

NODES = ("n1", "n2")
CONFIG = load_config(CONFIG_DIR / "dvv-prune-learnt.toml")


def _set(*entries: tuple[str, int, tuple[int, ...]]) -> DVVSet[int]:
    return DVVSet.of([Entry(i, c, v) for i, c, v in entries])


def _after(state: State, wanted: Action) -> State:
    """The successor of ``state`` by ``wanted`` (it must be enabled)."""
    for action, successor in successors(state):
        if action == wanted:
            return successor
    raise AssertionError(f"{wanted} not enabled")


def _learning(state: State) -> list[Action]:
    return [a for a, _ in successors(state) if isinstance(a, LearnRetirement)]


def _retired_n1(config: Config = CONFIG) -> State:
    """n1 crashed and recovered: its first lifetime retired (actor_per_start)."""
    state = _after(initial_state(config), Crash("n1"))
    return _after(state, Recover("n1"))


# -- the step ------------------------------------------------------------------------------

def test_a_node_learns_a_retirement_another_knows_and_nothing_before() -> None:
    assert _learning(initial_state(CONFIG)) == []  # nothing retired: nothing to learn
    state = _retired_n1()
    assert state.epochs == (1, 0) and state.known == frozenset()
    # n1 knows its own retirement from its start; n2 learns it from n1, once
    assert _learning(state) == [LearnRetirement("n2", "n1", "n1", 0)]
    learnt = _after(state, LearnRetirement("n2", "n1", "n1", 0))
    assert learnt.known == {("n2", "n1", 0)}
    assert known_by("n2", NODES, learnt.epochs, learnt.known) == {("n1", 0)}
    assert _learning(learnt) == []
    assert narrate(state, LearnRetirement("n2", "n1", "n1", 0), learnt) == (
        "gossip n1 -> n2: n2 learns that n1 is retired")
    assert describe(learnt)["retirements_learnt"] == {"n2": ["n1"]}
    assert "retirements_learnt" not in describe(state)


def test_learning_needs_both_nodes_up_and_on_one_side() -> None:
    down = _after(initial_state(CONFIG), Crash("n1"))
    assert _learning(down) == []  # the one node that knows is down
    config = dataclasses.replace(CONFIG, partitions=1)
    state = _retired_n1(config)
    cut = _after(state, Partition(("n1",)))
    assert _learning(cut) == []


def test_the_action_reads_back_from_json() -> None:
    action = LearnRetirement("n2", "n1", "n1", 3)
    assert action.to_json() == {"action": "learn-retirement", "node": "n2", "src": "n1",
                                "owner": "n1", "lifetime": 3}
    assert action_from_json(action.to_json()) == action
    with pytest.raises(ValueError, match="lifetime"):
        action_from_json({**action.to_json(), "lifetime": -1})


def test_other_modes_never_learn_and_keep_known_empty() -> None:
    for knowledge in ("all", "own"):
        config = dataclasses.replace(CONFIG, prune_knowledge=knowledge)
        assert _learning(_retired_n1(config)) == []


# -- pruning by what the writer knows now ------------------------------------------------------

def test_pruning_uses_the_knowledge_learnt() -> None:
    # n1 is in lifetime 1: its retired entry (n1, 0) holds no value
    clock = _set(("n1", 1, ()), ("n2", 1, (2,)))
    epochs = (1, 0)
    # n2 knows nothing yet: the entry stays; once n2 learnt it, it goes
    assert prune_at("n2", clock, NODES, epochs, 0, "learnt") is clock
    learnt = frozenset({("n2", "n1", 0)})
    assert [e.id for e in prune_at("n2", clock, NODES, epochs, 0, "learnt", learnt).entries] \
        == ["n2"]
    # n1 knows its own without learning; what another node learnt does not count for n2
    assert [e.id for e in prune_at("n1", clock, NODES, epochs, 0, "learnt").entries] == ["n2"]
    assert prune_at("n2", clock, NODES, epochs, 0, "learnt",
                    frozenset({("n1", "n1", 0)})) is clock


def test_anti_entropy_teaches_the_retirements_of_the_exchanged_entries() -> None:
    epochs = (1, 0)
    with_n1 = _set(("n1", 1, ()), ("n2", 1, (2,)))
    without = _set(("n2", 1, (2,)))
    # n1 knows (n1, 0) as its own: an exchange of a record holding its entry teaches n2
    assert exchanged(frozenset(), "n1", "n2", (with_n1, without), NODES, epochs) == {
        ("n2", "n1", 0)}
    # a record without the entry teaches nothing
    assert exchanged(frozenset(), "n1", "n2", (without, without), NODES, epochs) == frozenset()


def test_a_lost_disk_forgets_what_was_learnt() -> None:
    learnt = frozenset({("n2", "n1", 0), ("n1", "n2", 0)})
    assert forget(learnt, "n2") == {("n1", "n2", 0)}
    assert forget(learnt, "n3") is learnt
    config = dataclasses.replace(CONFIG, crashes=0, disk_losses=2)
    state = _after(initial_state(config), DiskLoss("n1"))
    state = _after(state, Recover("n1"))
    state = _after(state, LearnRetirement("n2", "n1", "n1", 0))
    lost = _after(state, DiskLoss("n2"))
    assert lost.known == frozenset()


# -- the whole graph of dvv-prune-learnt ---------------------------------------------------------

def _graph(config: Config) -> Iterator[tuple[State, Action, State]]:
    """Every transition of ``config``'s reachable graph (one client: no symmetry)."""
    start = initial_state(config)
    seen = {start}
    queue = deque([start])
    while queue:
        state = queue.popleft()
        for action, successor in successors(state):
            yield state, action, successor
            if successor not in seen:
                seen.add(successor)
                queue.append(successor)


def _knowledge_faults(config: Config) -> tuple[list[str], dict[str, int]]:
    """What is wrong with the knowledge on ``config``'s graph (empty: nothing), and
    counts of what happened: learning steps, exchanges that taught, and writes
    that dropped an entry of another node's lifetime (by knowledge learnt)."""
    faults: list[str] = []
    counts = {"learn": 0, "taught_by_exchange": 0, "pruned_by_learnt": 0}
    nodes = config.all_nodes
    for before, action, after in _graph(config):
        if len(faults) > 5:
            break
        for knower, owner, e in after.known:  # only real retirements, of others
            if owner == knower or e >= after.epochs[nodes.index(owner)]:
                faults.append(f"{action}: {knower} knows ({owner}, {e}), not a retirement")
        if not before.known <= after.known and not isinstance(action, DiskLoss):
            faults.append(f"{action}: knowledge shrank")
        if isinstance(action, LearnRetirement):
            counts["learn"] += 1
            if len(after.known - before.known) != 1:
                faults.append(f"{action}: learnt {after.known - before.known}")
        elif after.known != before.known:
            if not isinstance(action, AntiEntropy):
                faults.append(f"{action}: changed the knowledge")
            counts["taught_by_exchange"] += 1
        for name, b, a in zip(nodes, before.nodes, after.nodes, strict=True):
            for old, new in zip(b.store, a.store, strict=True):
                if old is new or not isinstance(new, DVVSet) or not isinstance(old, DVVSet):
                    continue
                knows = known_by(name, nodes, after.epochs, after.known)
                kept = {entry.id for entry in new.entries}
                for entry in old.entries:  # a merge keeps every entry: a drop is a pruning
                    if entry.id not in kept and lifetime_of(entry.id) not in knows:
                        faults.append(f"{action}: {name} dropped {entry.id} unknowingly")
                    elif entry.id not in kept and lifetime_of(entry.id)[0] != name:
                        counts["pruned_by_learnt"] += 1
                # a record just written is pruned by what its writer knows now
                again = prune_at(name, new, nodes, after.epochs, config.prune_retired,
                                 "learnt", after.known)
                if again is not new:
                    faults.append(f"{action}: {name} wrote {new} unpruned")
    return faults, counts


def test_knowledge_grows_from_real_retirements_and_pruning_follows_it() -> None:
    faults, counts = _knowledge_faults(CONFIG)
    assert faults == []
    # not vacuous: nodes learn by both ways, and a write drops another node's
    # retired entry because its writer learnt the retirement
    assert counts["learn"] > 0 and counts["taught_by_exchange"] > 0
    assert counts["pruned_by_learnt"] > 0


Mutant = Callable[[pytest.MonkeyPatch], None]


def _prune_by_all(monkeypatch: pytest.MonkeyPatch) -> None:
    """The learnt mode pruning by every retirement (the "all" knowledge)."""
    real = step.prune_at

    def pruning(*args: object) -> object:
        return real(*args[:5], "all")  # type: ignore[arg-type]

    monkeypatch.setattr(step, "prune_at", pruning)


def _prune_by_own(monkeypatch: pytest.MonkeyPatch) -> None:
    """The learnt mode ignoring what was learnt (the "own" knowledge)."""
    real = step.prune_at

    def pruning(*args: object) -> object:
        return real(*args[:5], "own")  # type: ignore[arg-type]

    monkeypatch.setattr(step, "prune_at", pruning)


def _learn_the_unretired(monkeypatch: pytest.MonkeyPatch) -> None:
    """Gossip teaching a retirement nobody knows: each node's live lifetime too."""
    real = learning.known_by

    def knowing(node: str, nodes: tuple[str, ...], epochs: tuple[int, ...],
                learnt: frozenset[tuple[str, str, int]]) -> frozenset[tuple[str, int]]:
        return real(node, nodes, epochs, learnt) | {(node, epochs[nodes.index(node)])}

    monkeypatch.setattr(learning, "known_by", knowing)


@pytest.mark.parametrize("mutant", [_prune_by_all, _prune_by_own, _learn_the_unretired],
                         ids=["prune-by-all", "prune-by-own", "learn-the-unretired"])
def test_the_mutants_are_caught(mutant: Mutant, monkeypatch: pytest.MonkeyPatch) -> None:
    mutant(monkeypatch)
    faults, _ = _knowledge_faults(CONFIG)
    assert faults


# -- session 34's review: the faults around the step, in a reachable order -------------------

TWO_CRASHES = dataclasses.replace(CONFIG, crashes=2)


def test_a_down_node_learns_nothing_and_a_crash_keeps_what_it_learnt() -> None:
    """A node learns only while up (the receiver's side of the enabling: with one crash
    the down node never has anything to learn, so the whole graph cannot tell), and a
    crash that keeps the disk keeps what it learnt (the knowledge is on the disk)."""
    state = _retired_n1(TWO_CRASHES)  # n1 knows its first lifetime retired, n2 does not
    down = _after(state, Crash("n2"))
    assert _learning(down) == []  # n2 is down: n1 has something to teach, nobody to hear
    up = _after(down, Recover("n2"))
    assert _learning(up) == [LearnRetirement("n1", "n2", "n2", 0),
                             LearnRetirement("n2", "n1", "n1", 0)]
    learnt = _after(_after(state, LearnRetirement("n2", "n1", "n1", 0)), Crash("n2"))
    assert learnt.known == {("n2", "n1", 0)}  # kept through the crash
    assert _after(learnt, Recover("n2")).known == {("n2", "n1", 0)}


def test_a_restore_forgets_what_was_learnt() -> None:
    """A restore replaces the disk the knowledge was on (spec.faults._restored), as a
    disk loss loses it."""
    config = dataclasses.replace(CONFIG, restores=1)
    state = _after(initial_state(config), Backup("n2"))
    state = _after(_after(state, Crash("n1")), Recover("n1"))
    state = _after(state, LearnRetirement("n2", "n1", "n1", 0))
    assert state.known == {("n2", "n1", 0)}
    restored = _after(state, Restore("n2"))
    assert restored.known == frozenset()
    # the restored node's new lifetime: it knows its own old one, learns n1's again
    recovered = _after(restored, Recover("n2"))
    assert known_by("n2", NODES, recovered.epochs, recovered.known) == {("n2", 0)}
    assert LearnRetirement("n2", "n1", "n1", 0) in _learning(recovered)


# -- session 34's review: a trace with a learning step, through JSON and ITF, replayed -------

def _pruned_by_learning(config: Config) -> tuple[list[State], list[Action]]:
    """The first path found breadth first (the spec's order; 8 steps) to a write that
    drops another node's retired entry with a LearnRetirement on the way (n2 learns
    n1's first lifetime retired, then coordinates a put): the states and the actions."""
    start = initial_state(config)
    parent: dict[State, tuple[State, Action] | None] = {start: None}
    queue = deque([start])
    while queue:
        state = queue.popleft()
        for action, successor in successors(state):
            if successor in parent:
                continue
            parent[successor] = (state, action)
            queue.append(successor)
            for name, b, a in zip(NODES, state.nodes, successor.nodes, strict=True):
                dropped = {e.id for old in b.store if isinstance(old, DVVSet)
                           for e in old.entries} - {e.id for new in a.store
                                                    if isinstance(new, DVVSet)
                                                    for e in new.entries}
                if not any(a.store) or not any(lifetime_of(d)[0] != name for d in dropped):
                    continue
                states, actions = [successor], []
                back = parent[successor]
                while back is not None:
                    states.append(back[0])
                    actions.append(back[1])
                    back = parent[back[0]]
                if any(isinstance(x, LearnRetirement) for x in actions):
                    return states[::-1], actions[::-1]
    raise AssertionError("no write pruned by a learnt retirement")


def test_a_trace_with_a_learning_step_round_trips_and_replays() -> None:
    """No trace of the entry's check holds a LearnRetirement (its counterexamples and
    witnesses are shorter than any learning); this one does: the witness of
    retired_entry_pruned by knowledge learnt, written as native JSON and as ITF, read
    back and replayed on the spec to its last step; a recorded state whose learnt
    knowledge differs, or a step naming a retirement not known, is refused."""
    import json

    from model_check.replay import replay_on_spec
    from model_check.spec_model import spec_model
    from model_check.trace import Trace

    model = spec_model(CONFIG)
    states, actions = _pruned_by_learning(CONFIG)
    trace = Trace(config=CONFIG.to_json(), property="retired_entry_pruned", kind="sometimes",
                  actions=tuple(model.action_to_json(a) for a in actions),
                  states=tuple(model.describe(s) for s in states), violated_at=len(actions))
    assert any(a["action"] == "learn-retirement" for a in trace.actions)
    assert "retirements_learnt" in trace.states[-1]  # type: ignore[operator]
    for read in (Trace.from_json(json.loads(json.dumps(trace.to_json()))),
                 Trace.from_itf(json.loads(json.dumps(trace.to_itf())))):
        report = replay_on_spec(read)
        assert report.ok and report.broke_at == len(trace), report.render()
    at = next(i for i, a in enumerate(trace.actions) if a["action"] == "learn-retirement")
    forgotten = list(trace.states)
    forgotten[at + 1] = {k: v for k, v in forgotten[at + 1].items()  # type: ignore[union-attr]
                         if k != "retirements_learnt"}
    assert not replay_on_spec(dataclasses.replace(trace, states=tuple(forgotten))).ok
    wrong = list(trace.actions)
    wrong[at] = {**wrong[at], "lifetime": 1}
    refused = replay_on_spec(dataclasses.replace(trace, actions=tuple(wrong)))
    assert not refused.ok and "not enabled" in refused.render()


# -- session 34's review: the symmetry reduction keeps the knowledge ---------------------------

#: two clients (the entry's one makes the reduction the identity): 3,898 states, 1,953
#: with the reduction, 1,394 of them with something learnt
TWO_CLIENTS = dataclasses.replace(CONFIG, name="learnt-two-clients", clients=2,
                                  puts_per_client=1, gets_per_client=0)


def test_renaming_clients_keeps_what_was_learnt() -> None:
    """``State.known`` names nodes, not clients: a renaming of the clients (cached and
    uncached) leaves it as it is, and commutes with the successors, learning steps
    included; the first 400 states with knowledge, breadth first."""
    from spec.symmetry import canonicalize, rename_clients

    start = initial_state(TWO_CLIENTS)
    seen, queue, checked = {start}, deque([start]), 0
    while queue and checked < 400:
        state = queue.popleft()
        for _, successor in successors(state):
            if successor not in seen:
                seen.add(successor)
                queue.append(successor)
        if not state.known:
            continue
        checked += 1
        swapped = rename_clients(state, (1, 0))
        assert swapped.known == state.known
        assert canonicalize(state).known == canonicalize(state, cached=False).known \
            == state.known
        assert {canonicalize(a) for _, a in successors(swapped)} == {
            canonicalize(a) for _, a in successors(state)}
    assert checked == 400
