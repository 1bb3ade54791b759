"""The memoised successors (model_check/spec_memo.py) agree with the spec transition for
transition, and a cache keyed on too little is caught.

In CI the graph comparison runs on the suite entries of at most 3,000 states but four
(:data:`SOAK_GRAPHS`, session 43); under the
soak profile (``HYPOTHESIS_PROFILE=soak``) on all of them (about 4 CPU-minutes). Every
suite verdict with the memo on (the default) is pinned by test_suite_verdicts.py.
"""

from __future__ import annotations

import functools
from operator import itemgetter
from typing import Any

import pytest

from model_check.check import check
from model_check.properties import PROPERTIES, Expectation, acked_durable_in, acked_writes_durable
from model_check.refinement_conformance import shortest_tree
from model_check.spec_memo import (
    LEVERS,
    PREDICATE_PARTS,
    WITNESS_PARTS,
    MemoSuccessors,
    PropertyScreen,
    _Recorder,
    memo_predicate,
)
from model_check.spec_model import SpecModel, spec_model
from model_check.suite import DEFAULT_SUITE, SuiteEntry
from spec import deletes
from spec import model as spec
from spec.config import Config
from spec.deletes import reaps
from spec.state import MembershipState
from spec.step import Plan, plan_of
from tests.conftest import PROFILE
from tests.model_check.test_compiled import graph_digest

SOAK = PROFILE == "soak"
CI_MAX_STATES = 3_000
#: entries of at most CI_MAX_STATES whose graph CI leaves to soak (session 43): each has a
#: twin CI compares (lww-skew-wall-clock, server-vclock-truncated, disk-loss-w1,
#: dvv-restore-kept-actor), and none is a step context mutant's killer
#: (docs/model-checking.md, "Review of the explorer's call-free path ... (session 40)")
SOAK_GRAPHS = frozenset({"lww-skew-hybrid", "server-vclock-untruncated", "disk-loss-w2",
                         "dvv-restore-new-actor"})
ENTRIES = [pytest.param(e, id=e.name) for e in DEFAULT_SUITE
           if SOAK or (e.distinct_states is not None and e.distinct_states <= CI_MAX_STATES
                       and e.name not in SOAK_GRAPHS)]


def _memo_model(entry: SuiteEntry, successors: MemoSuccessors) -> SpecModel:
    model = spec_model(entry.config)
    object.__setattr__(model, "memoised_successors", successors)
    return model


def _entry(name: str) -> SuiteEntry:
    return next(e for e in DEFAULT_SUITE if e.name == name)


@pytest.mark.parametrize("entry", ENTRIES)
def test_memo_gives_the_spec_graph(entry: SuiteEntry) -> None:
    """Every transition's action and successor (field by field), and each new class's
    canonical form, in the spec's order: the same with the memo on and off."""
    plain = _plain_digest(entry.config)  # kept for the module's other tests of it
    memo = spec_model(entry.config)
    if entry.config.rebuild and entry.config.disk_losses:  # (session 55: the memo is off;
        # its agreement on a rebuilding state: test_the_memo_computes_a_rebuilding_state)
        assert not memo.memoised
        return
    assert memo.memoised and not spec_model(entry.config, memo=False).memoised
    assert graph_digest(entry.config, memo) == plain


def test_the_memo_computes_a_rebuilding_state() -> None:
    """Session 55's review: no cache key holds ``State.rebuilding`` (a replaced disk's
    rebuild, spec/rebuild.py), and trace validation's end-of-run search
    (``spec_converges_from``) took the memo with one: on disk-loss-read-rebuild's
    graph 27,393 of 33,182 states had other successors (an exchange between equal
    copies still to do missing, a delivery's cached effect of another rebuild). The
    memo gives the spec's successors of such a state (mutant: its fallback in
    ``MemoSuccessors.__call__`` removed: the first 1,500 states differ)."""
    config = _entry("disk-loss-read-rebuild").config
    memo = MemoSuccessors()
    start = spec.initial_state(config)
    seen, queue, rebuilding = {start}, [start], 0
    while queue and len(seen) < 1_500:
        state = queue.pop(0)
        steps = list(spec.successors(state))
        assert list(memo(state)) == steps, state
        rebuilding += bool(state.rebuilding)
        for _, after in steps:
            if after not in seen:
                seen.add(after)
                queue.append(after)
    assert rebuilding > 100


def test_memo_gives_the_spec_graph_with_pruning() -> None:
    """Session 33: with ``prune_retired`` a write prunes by the storage lifetimes, so
    the memoised anti-entropy steps are keyed by them too (without, a crash's new
    lifetime got the steps cached before it: the graph differed); in CI, the smallest
    pruning entry (the others under soak, above)."""
    entry = _entry("dvv-prune-retired-delete")
    assert graph_digest(entry.config, spec_model(entry.config)) == _plain_digest(entry.config)


#: the learnt knowledge mode (session 34) small enough for CI: dvv-prune-learnt with two
#: puts and no get (671 states; the entry's 12,090 compare above under soak only)
LEARNT = _entry("dvv-prune-learnt").config.replace(name="learnt-small", puts_per_client=2,
                                                  gets_per_client=0)


class _KeyedWithoutKnown(MemoSuccessors):
    """Mutant: a step's cache key leaves out the retirements learnt (``State.known``,
    its last part), so a delivery's write pruned by one state's knowledge is reused
    for a state that knows more or less."""

    def step_context(self, state: spec.State) -> tuple[Any, ...]:
        return super().step_context(state)[:-1]


def test_memo_gives_the_spec_graph_with_learnt_knowledge() -> None:
    """Session 34's review: with ``prune_knowledge = "learnt"`` a write prunes by what
    its node learnt, so the memoised deliveries are keyed by ``known`` (and anti-entropy,
    which teaches, runs unmemoised); the graph agrees, and a key without ``known`` is
    caught."""
    plain = _plain_digest(LEARNT)
    assert graph_digest(LEARNT, spec_model(LEARNT)) == plain
    mutant = spec_model(LEARNT)
    object.__setattr__(mutant, "memoised_successors", _KeyedWithoutKnown())
    assert graph_digest(LEARNT, mutant) != plain


class _KeyedWithoutUnpersisted(MemoSuccessors):
    """Mutant (session 51): a step's cache key leaves out the records of refused writes
    (``State.unpersisted``), so a delivery's cached successor carries another state's
    records."""

    def step_context(self, state: spec.State) -> tuple[Any, ...]:
        context = super().step_context(state)
        return (*context[:-2], context[-1])


def test_memo_gives_the_spec_graph_with_refused_writes() -> None:
    """Session 51: the memoised deliveries are keyed by ``unpersisted`` (their successor
    keeps the state's records); a key without it is caught on
    write-failure-same-coordinator (968 states)."""
    config = _entry("write-failure-same-coordinator").config
    plain = _plain_digest(config)
    mutant = spec_model(config)
    object.__setattr__(mutant, "memoised_successors", _KeyedWithoutUnpersisted())
    assert graph_digest(config, mutant) != plain


def test_memo_replaces_five_mechanisms_of_the_spec() -> None:
    """The memo's mechanisms are the spec's chain with deliveries, timeouts,
    anti-entropy, the reaps and the membership steps replaced (a renamed or reordered spec
    mechanism fails here)."""
    memo = MemoSuccessors()
    replaced = [m for m, s in zip(memo.mechanisms, spec.MECHANISMS, strict=True) if m is not s]
    assert sorted(m.__name__ for m in replaced) == sorted(LEVERS)
    none = MemoSuccessors(levers=frozenset())
    assert none.mechanisms == spec.MECHANISMS


def test_the_memo_hits() -> None:
    """disk-loss-w2 without the rebuild (session 60: the rebuild, on by default, turns
    the memo off with a disk to lose, :class:`SpecModel`): the same graph as without
    the memo, most steps from the cache."""
    entry = _entry("disk-loss-w2")
    config = entry.config.replace(rebuild=False)
    model = spec_model(config)
    result = check(config, list(entry.expected), model=model)
    plain = check(config, list(entry.expected), model=spec_model(config, memo=False))
    assert result.distinct_states == plain.distinct_states == 1_909  # (before session 60)
    memo = model.memoised_successors
    assert memo is not None
    assert memo.hits > memo.misses > 0
    assert 0 < memo.entries() < 20 * result.distinct_states


def _keyed_without(part: str) -> type[MemoSuccessors]:
    """Mutant: a step's cache key (:meth:`MemoSuccessors.step_context`) leaves out
    ``part``."""
    position = {"nodes": 0, "clients": 1, "puts": 2, "side": 3, "epochs": 4,
                "hints_acked": 5, "hints_deleted": 6}[part]

    class Mutant(MemoSuccessors):
        def step_context(self, state: spec.State) -> tuple[Any, ...]:
            key = super().step_context(state)
            return key[:position] + key[position + 1 :]

    return Mutant


#: sloppy-no-handoff with its hinted handoff on (708 states)
HANDOFF = _entry("sloppy-no-handoff").config.replace(name="sloppy-handoff", hinted_handoff=True)
#: a sloppy put to a fallback, one crash and one duplicate (121 states)
HINT_AGAIN = Config(name="hint-again", nodes=("a", "b", "c"), n=2, r=1, w=1, sloppy_quorum=True,
                    anti_entropy=False, read_repair=False, gets_per_client=0, crashes=1,
                    duplicates=1)

MUTANTS = [
    # a replica's answer settles a request, which changes its client
    pytest.param("clients", "strict-weak-quorum", id="clients"),
    # a store merges by the put table's clocks (client vclocks, lww stamps)
    pytest.param("puts", "client-vclock-blind-rewrite", id="puts"),
    # a coordinator mints under its actor of the current storage lifetime
    pytest.param("epochs", "disk-loss-w1", id="epochs"),
    # a hint delivered records its acknowledgement (session 40's review: no graph test
    # above caught these two; 708 and 121 states)
    pytest.param("hints_acked", HANDOFF, id="hints_acked"),
    # a hint acknowledged records its deletion (a duplicate put hands the hint back)
    pytest.param("hints_deleted", HINT_AGAIN, id="hints_deleted"),
    # a coordinator picks the reachable nodes (30,016 states: soak only)
    pytest.param("side", "sloppy-partition", id="side",
                 marks=pytest.mark.skipif(not SOAK, reason="30,016 states: soak only")),
]


@pytest.mark.parametrize(("part", "name"), MUTANTS)
def test_a_cache_keyed_on_too_little_is_caught(part: str, name: str | Config) -> None:
    config = name if isinstance(name, Config) else _entry(name).config
    plain = _plain_digest(config)  # test_memo_gives_the_spec_graph's, if it ran here
    model = spec_model(config)
    object.__setattr__(model, "memoised_successors", _keyed_without(part)())
    assert graph_digest(config, model) != plain


class _OneSlot(dict[int, Any]):
    """A state context's table of step effects in which every step's hash collides."""

    def get(self, key: int, default: Any = None) -> Any:
        return dict.get(self, 0, default)

    def __setitem__(self, key: int, value: Any) -> None:
        dict.__setitem__(self, 0, value)


class _Colliding(MemoSuccessors):
    """Every delivery and timeout from one state context keyed by one hash."""

    def _effects(self, state: spec.State) -> Any:
        table = super()._effects(state)
        if not isinstance(table, _OneSlot):
            table = self.steps[self.step_context(state)] = _OneSlot(table)
        return table


@pytest.mark.parametrize("name", ["strict-weak-quorum", "sloppy-no-handoff"])
def test_a_step_whose_hash_collides_is_compared(name: str) -> None:
    """Session 40's review: a step's effect is found by the step's hash within its
    state's context (:meth:`MemoSuccessors.step_context`, session 39) and the step is
    compared on a hit, so even a table where every step collides gives the spec's graph
    (mutant: the comparison dropped from deliveries' hit path: strict-weak-quorum's
    graph differs)."""
    entry = _entry(name)
    memo = _Colliding()
    assert graph_digest(entry.config, _memo_model(entry, memo)) == _plain_digest(entry.config)
    assert memo.hits > 0 and memo.misses > memo.effects


# -- the membership steps (issue 13, session 21) ---------------------------------------------

#: a join during one crash, and during one partition (the view steps read the nodes' up
#: flags and the partition's sides), about 2,000 states each; a leave during one crash
#: (1,043 states)
JOIN_CRASH = Config(name="join-crash", nodes=("n1", "n2"), n=2, r=1, w=1, joining=("n3",),
                    joins=1, anti_entropy=False, gets_per_client=0, crashes=1)
JOIN_PARTITION = JOIN_CRASH.replace(name="join-partition", crashes=0, partitions=1)
LEAVE_CRASH = Config(name="leave-crash", nodes=("n1", "n2", "n3"), n=1, r=1, w=1, leaves=1,
                     anti_entropy=False, gets_per_client=0, crashes=1)
#: a force-remove (session 23: its steps empty the removed node's store, so they run
#: beside the cached view steps, and its refused messages and Recover read the log)
REMOVE_CRASH = Config(name="remove-crash", nodes=("n1", "n2", "n3"), n=2, r=1, w=1,
                      removes=1, anti_entropy=False, gets_per_client=0, crashes=1)
MEMBERSHIP = [pytest.param(c, id=c.name)
              for c in (JOIN_CRASH, JOIN_PARTITION, LEAVE_CRASH, REMOVE_CRASH)]
MEMBERSHIP += [pytest.param(_entry(name).config, id=name, marks=pytest.mark.skipif(
    not SOAK, reason="8,251, 9,161 and 3,009 states (about 3 CPU-s each): soak only"))
    for name in ("delete-join-pending", "delete-join-immediate", "force-remove-w1")]


@functools.cache
def _plain_digest(config: Config) -> dict[str, Any]:
    """:func:`graph_digest` of the spec's own successors (memo off), once per config
    per process (session 25: the graph tests, the mutants' and the patched guard's
    tests share it; never called while a test patches the spec)."""
    return graph_digest(config, spec_model(config, memo=False))


@pytest.mark.parametrize("config", MEMBERSHIP)
def test_the_membership_memo_gives_the_spec_graph(config: Config) -> None:
    """The membership steps' cache (:meth:`MemoSuccessors.membership_changes`) keeps
    every transition's action and successor, in the spec's order: on a join and a leave
    under a crash and a partition, and (soak) on two membership entries of the suite
    (over CI's 3,000 states for :func:`test_memo_gives_the_spec_graph`; in CI the
    membership entries' states, transitions and depth are pinned by
    test_suite_verdicts.py)."""
    plain = _plain_digest(config)
    memo = MemoSuccessors()
    model = spec_model(config)
    object.__setattr__(model, "memoised_successors", memo)
    assert graph_digest(config, model) == plain
    assert len(memo.views) > 0


def _views_keyed_without(part: str) -> MemoSuccessors:
    """Mutant: the membership's view steps cached without the nodes' up flags or the
    partition in their key."""

    class Mutant(MemoSuccessors):
        def view_key(self, ms: MembershipState, ups: tuple[bool, ...],
                     side: frozenset[str]) -> tuple[Any, ...]:
            return (ms, side) if part == "ups" else (ms, ups)

    return Mutant()


@pytest.mark.parametrize(("part", "config"), [
    pytest.param("ups", JOIN_CRASH, id="ups"),  # a crashed node neither gossips nor joins
    pytest.param("side", JOIN_PARTITION, id="side"),  # gossip crosses no partition
])
def test_a_membership_cache_keyed_on_too_little_is_caught(part: str, config: Config) -> None:
    plain = _plain_digest(config)
    model = spec_model(config)
    object.__setattr__(model, "memoised_successors", _views_keyed_without(part))
    assert graph_digest(config, model) != plain


def test_the_membership_memo_is_bounded() -> None:
    """Emptied every 64 entries, the membership steps' cache recomputes and agrees."""
    plain = _plain_digest(JOIN_CRASH)
    tiny = MemoSuccessors(limit=64)
    model = spec_model(JOIN_CRASH)
    object.__setattr__(model, "memoised_successors", tiny)
    assert graph_digest(JOIN_CRASH, model) == plain
    assert 0 < len(tiny.views) <= 64


def test_a_bounded_cache_still_agrees() -> None:
    """Emptied every 64 entries, the memo recomputes and gives the same graph."""
    entry = _entry("sloppy-no-handoff")
    plain = _plain_digest(entry.config)
    tiny = MemoSuccessors(limit=64)
    assert graph_digest(entry.config, _memo_model(entry, tiny)) == plain
    assert tiny.entries() <= 6 * 64


def test_a_step_that_reads_the_messages_or_the_budget_is_refused() -> None:
    state = spec.initial_state(_entry("strict-dvv").config)
    recorder = _Recorder(state, plan_of(state.config))
    with pytest.raises(AssertionError, match="outside its key"):
        list(recorder.messages)
    with pytest.raises(AssertionError, match="outside its key"):
        recorder.used[0]


def test_a_predicate_given_too_few_parts_fails_loudly() -> None:
    """acked_writes_durable reads the clients first: memoised on the nodes alone, it
    raises (rather than answer from too small a key)."""
    entry = _entry("strict-dvv")
    state = spec.initial_state(entry.config)
    all_parts = ("nodes", "messages", "clients", "puts")
    assert memo_predicate(acked_writes_durable, all_parts)(state)
    with pytest.raises(AssertionError, match="outside its key"):
        memo_predicate(acked_writes_durable, ("nodes",))(state)
    for name, parts in PREDICATE_PARTS.items():
        holds = PROPERTIES[name].holds
        assert holds is not None
        assert memo_predicate(holds, parts)(state) == holds(state)


def test_the_memoised_state_witnesses_agree_on_every_state() -> None:
    """Session 44: each state witness of WITNESS_PARTS (check() caches it per the parts
    it reads) gives, memoised, its plain answer on every reachable state of a small
    delete entry (2,783 states; each witness that holds somewhere holds here on some),
    and a part left out of its declaration fails loudly."""
    config = _entry("delete-immediate").config.replace(name="one-get", gets_per_client=1)
    states = [spec.initial_state(config)]
    seen = set(states)
    for state in states:  # breadth-first, the spec's own successors
        for _, after in spec.successors(state):
            if after not in seen:
                seen.add(after)
                states.append(after)
    assert len(states) == 2_783
    held = set()
    for name, parts in WITNESS_PARTS.items():
        holds = PROPERTIES[name].holds
        assert holds is not None and PROPERTIES[name].kind is Expectation.SOMETIMES
        memoised = memo_predicate(holds, parts)
        for state in states:
            answer = holds(state)
            assert memoised(state) == answer, (name, state)
            if answer:
                held.add(name)
    assert {"put_acknowledged", "delete_acknowledged", "read_after_acknowledged_write",
            "write_after_read"} <= held
    later = next(state for state in states if state.clients[0].acked)
    with pytest.raises(AssertionError, match="outside its key"):
        memo_predicate(PROPERTIES["delete_acknowledged"].holds or bool, ("puts",))(later)


# -- the reaps (issue 13, session 22) -----------------------------------------------------

#: delete-immediate with one get (2,783 states, 2,412 reaps; the suite's has 128,103)
DELETE_IMMEDIATE_SMALL = _entry("delete-immediate").config.replace(
    name="delete-immediate-one-get", gets_per_client=1)
REAP_CONFIGS = [pytest.param(_entry(name).config, id=name)
                for name in ("delete-restore-after-reap", "delete-join-pending")]
REAP_CONFIGS += [pytest.param(DELETE_IMMEDIATE_SMALL, id=DELETE_IMMEDIATE_SMALL.name)]
REAP_CONFIGS += [pytest.param(_entry(name).config, id=name, marks=pytest.mark.skipif(
    not SOAK, reason="13,000-53,000 states: soak only"))
    for name in ("delete-safe", "delete-fallback-copy", "delete-leave-pending",
                 "delete-safe-drop", "delete-concurrent-put")]


@functools.cache
def _reachable(config: Config) -> tuple[spec.State, ...]:
    """Every reachable state of ``config`` by the spec's own successors (no symmetry)."""
    return tuple(shortest_tree(spec.initial_state(config), spec.successors))


def _reaps_disagree(config: Config, memo: MemoSuccessors) -> list[spec.State]:
    """The reachable states of ``config`` whose reaps by ``memo`` (answered from its
    cache: every state is asked once to fill it, then again) differ from the spec's
    :func:`spec.deletes.reaps`: in an action, a successor (its fields, its cached
    hashes) or their order."""
    plan = plan_of(config)
    states = _reachable(config)
    for state in states:
        list(memo.reaps(state, plan))
    hits = memo.hits
    wrong = []
    for state in states:
        got = list(memo.reaps(state, plan))
        want = list(reaps(state, plan))
        if got != want or [(s._parts, hash(s)) for _, s in got] != [
                (s._parts, hash(s)) for _, s in want]:
            wrong.append(state)
    assert memo.hits - hits == len(states), "the second pass was not answered from the cache"
    return wrong


@pytest.mark.parametrize("config", REAP_CONFIGS)
def test_the_reap_memo_agrees_with_the_spec_on_every_reachable_state(config: Config) -> None:
    """:meth:`MemoSuccessors.reaps` answered from its cache gives what
    :func:`spec.deletes.reaps` gives on every reachable state: a safe reap with actor
    epochs and a restore (2,833 states), with a join in progress (8,251), an immediate
    reap (2,783); under soak five larger delete entries."""
    memo = MemoSuccessors()
    assert _reaps_disagree(config, memo) == []
    assert any(memo.reap_steps.values()), "no reap in the configuration"


def _reaps_keyed_without(part: str) -> MemoSuccessors:
    """Mutant: the reaps cached without ``part`` in their key (:meth:`MemoSuccessors.
    reap_key`: nodes 0, clients 1, puts 2, epochs 3, key epochs 4, keys in flight 5,
    side 6, membership 7); ``in_flight``: the messages ignored (no key in flight,
    in the key and in the check before it); ``get_replies``: the keys in flight
    alone, not what guard 2 reads of a get's replies (session 39)."""
    position = {"clients": 1, "epochs": 3, "key_epochs": 4, "membership": 7}.get(part)

    class Mutant(MemoSuccessors):
        def reap_key(self, state: spec.State, plan: Plan) -> tuple[Any, ...]:
            key = super().reap_key(state, plan)
            return key if position is None else key[:position] + key[position + 1:]

        def in_flight_keys(self, state: spec.State, plan: Plan) -> frozenset[Any]:
            if part == "in_flight":
                return frozenset()
            if part == "get_replies":  # the key before session 39: keys alone
                return frozenset([m.key for m in state.messages])
            return super().in_flight_keys(state, plan)

    return Mutant()


@pytest.mark.parametrize(("part", "config"), [
    # (the keys in flight: with one key, a state past the memo's guard 2 has none in
    # flight, so leaving them out survives on every delete entry; kept for two keys)
    # guards 3 and 4 read the reaping node's view and its members'
    pytest.param("membership", _entry("delete-join-pending").config, id="membership"),
    # guard 3 asks about the versions an acknowledged delete (a client's record) covers
    pytest.param("clients", _entry("delete-restore-after-reap").config, id="clients"),
    # a reap of a copy carrying the node's actor begins a key epoch: which actor that is
    # depends on the storage lifetime and on the key epoch
    pytest.param("epochs", _entry("delete-restore-after-reap").config, id="epochs"),
    # guard 2 passes a get unless its replies hold a version a delete covers (session
    # 39): the payloads of the replies in flight, and which messages are a get's
    # (9 states disagree)
    pytest.param("get_replies", _entry("delete-restore-after-reap").config,
                 id="get-replies"),
    # (delete-join-pending caught it until session 39, whose reaps pass a get and whose
    # read repair writes no tombstone back into a reaped copy; two clients' puts and
    # deletes, without anti-entropy to halve the cost: 152 states disagree; session 43:
    # without read repair and with R = 1 too, 9,964 states where there were 18,968, the
    # same 152 disagree)
    pytest.param("key_epochs", _entry("delete-concurrent-put").config.replace(
        anti_entropy=False, read_repair=False, r=1), id="key-epochs"),
])
def test_a_reap_cache_keyed_on_too_little_is_caught(part: str, config: Config) -> None:
    assert _reaps_disagree(config, _reaps_keyed_without(part)) != []


def test_a_patched_reap_guard_reaches_the_memo(monkeypatch: pytest.MonkeyPatch) -> None:
    """Guard 2 switched off (``spec.deletes._quiet`` always true, the seeded mutant
    ``not-quiet`` of test_deletes.py): the memo's graph is the mutated spec's, and differs
    from the spec's own, so a mutant of a guard run through check() is not masked by the
    memo (only guard 1 is restated in it: :func:`spec.deletes.tombstoned`)."""
    config = _entry("delete-restore-after-reap").config
    plain = _plain_digest(config)
    monkeypatch.setattr(deletes, "_quiet", lambda state, key, plan: True)
    mutated = graph_digest(config, spec_model(config, memo=False))
    assert graph_digest(config, spec_model(config)) == mutated
    assert mutated != plain


# -- the safety properties screened per the parts they read (issue 13, session 39) --------

#: entries where the screened properties are violated (read_your_writes, acked_writes_durable,
#: no_false_concurrency and sibling_bound, no_resurrection) and where they hold; under
#: soak also a pruning entry violating five of them and a membership change
SCREEN_CONFIGS = [pytest.param(_entry(name).config, id=name) for name in (
    "strict-weak-quorum", "disk-loss-w1", "client-vclock-truncated", "lww-two-clients",
    "delete-restore-after-reap")]
SCREEN_CONFIGS += [pytest.param(_entry(name).config, id=name, marks=pytest.mark.skipif(
    not SOAK, reason="5,000-9,000 states: soak only"))
    for name in ("dvv-prune-retired-delete", "delete-join-immediate", "force-remove-w1")]


def _screen_disagrees(config: Config, screen: PropertyScreen) -> list[spec.State]:
    """The reachable states of ``config`` where ``screen`` (asked twice: the second time
    from its caches) differs from the conjunction of the properties it covers."""
    states = _reachable(config)
    covered = [PROPERTIES[name].holds for name in sorted(screen.covers)]
    for state in states:
        screen(state)
    entries = screen.entries()
    wrong = [s for s in states if screen(s) != all(holds(s) for holds in covered if holds)]
    assert screen.entries() == entries, "the second pass was not answered from the caches"
    return wrong


def _always() -> dict[str, Any]:
    return {p.name: p.holds for p in PROPERTIES.values()
            if p.kind is Expectation.ALWAYS and p.holds}


@pytest.mark.parametrize("config", SCREEN_CONFIGS)
def test_the_property_screen_agrees_with_the_properties(config: Config) -> None:
    """:class:`PropertyScreen` answered from its caches is the conjunction of every
    always-property on every reachable state (each entry violates some of them; in CI
    five entries, 9,300 states), and it covers all nine."""
    screen = PropertyScreen(_always())
    assert screen.covers == frozenset(_always())
    assert _screen_disagrees(config, screen) == []


def test_the_property_screen_covers_only_the_properties_it_knows() -> None:
    """A property of a known name but another function (a mutant, a user's) is not
    covered: the explorer asks it on every state."""
    predicates = _always()
    predicates["sibling_bound"] = lambda state: True
    predicates["mine"] = lambda state: True
    assert PropertyScreen(predicates).covers == frozenset(_always()) - {"sibling_bound"}


class _ScreenWithout(PropertyScreen):
    """Mutant: the screen's caches keyed on too little: ``messages`` (the put ids in flight
    left out of acked_writes_durable's key and answer) or ``clients`` (the group keyed
    without the clients' hash)."""

    def __init__(self, part: str) -> None:
        super().__init__(_always())
        self.part = part
        if part == "clients":  # the group's key: (nodes, puts) hashes and the hint records
            self._hashes = itemgetter(0, 3)

    def _durable(self, state: spec.State) -> bool:
        if self.part != "messages":
            return super()._durable(state)
        held = frozenset(spec.held_values(state.nodes))
        return self.durable_verdicts.setdefault(
            (state._parts[2], state._parts[3], held), acked_durable_in(state, held))


@pytest.mark.parametrize(("part", "config"), [
    # an acknowledged put whose only copy is a replica put in flight to the node that lost
    # its disk
    pytest.param("messages", _entry("disk-loss-w1").config, id="messages"),
    # a get that returned too little is the client's record: the same nodes and puts
    pytest.param("clients", _entry("strict-weak-quorum").config, id="clients"),
])
def test_a_screen_keyed_on_too_little_is_caught(part: str, config: Config) -> None:
    assert _screen_disagrees(config, _ScreenWithout(part)) != []
