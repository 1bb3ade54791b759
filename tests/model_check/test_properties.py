"""model_check.properties: each property holds on a good state and catches a bad one;
the curated suite's configurations give their expected verdicts."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest

from model_check.properties import (
    PROPERTIES,
    SOMETIMES,
    acked_writes_durable,
    context_collapses_siblings,
    hint_kept_until_acked,
    read_your_writes,
    siblings_are_antichain,
)
from model_check.suite import DEFAULT_SUITE, PROPERTY_NAMES, SuiteEntry, entry
from spec.actions import Action, Crash, Handoff, Recover, Timeout
from spec.clocks import empty, values
from spec.config import Config
from spec.model import converged, initial_state, successors
from spec.state import Hint, Kind, Message, NodeState, State
from spec.vclock import VClock
from tests.spec.test_model import deliver, deliver_all, do, get, put


def wipe_stores(state: State) -> State:
    """A mutant state: every node's store forgotten (what a lost write looks like)."""
    blank = empty(state.config.clock)
    nodes = tuple(NodeState(n.up, tuple(blank for _ in n.store), n.hints, n.coord)
                  for n in state.nodes)
    return replace(state, nodes=nodes)


def written_and_read(clock: str = "dvv") -> State:
    config = Config(clock=clock)
    c = config.top_n("k")[0]
    state = deliver_all(put(initial_state(config), "c1", c))
    return deliver_all(get(state, "c1", c))


def siblings_then_collapse(clock: str) -> State:
    config = Config(clock=clock, clients=3, coordinator="first")
    c = config.top_n("k")[0]
    state = deliver_all(put(put(initial_state(config), "c1", c), "c2", c))
    state = deliver_all(get(state, "c3", c))
    return deliver_all(put(state, "c3", c))


def test_registry_names_and_kinds() -> None:
    assert tuple(PROPERTIES)[: len(PROPERTY_NAMES)] == PROPERTY_NAMES
    assert tuple(PROPERTIES)[len(PROPERTY_NAMES):] == tuple(p.name for p in SOMETIMES)
    for name, prop in PROPERTIES.items():
        assert prop.name == name and prop.description
        if name == "convergence":
            assert prop.kind == "eventually" and prop.holds is converged
        elif name in PROPERTY_NAMES:
            assert prop.kind == "always" and prop.holds is not None and prop.step is None
        else:
            assert prop.kind == "sometimes" and (prop.holds is None) != (prop.step is None)


@pytest.mark.parametrize("clock", ["lww", "server-vclock", "client-vclock", "dvv"])
def test_every_property_holds_on_a_good_run(clock: str) -> None:
    state = written_and_read(clock)
    assert state.client("c1").acked == (1,)
    for prop in PROPERTIES.values():
        if prop.kind == "always" and prop.holds is not None:
            assert prop.holds(state), prop.name
    assert converged(state)


def test_acked_writes_durable_catches_a_lost_write() -> None:
    state = written_and_read()
    assert acked_writes_durable(state)
    assert not acked_writes_durable(wipe_stores(state))
    # a copy in flight still counts: before delivery the replica messages hold the put
    config = Config(crashes=1)
    c = config.top_n("k")[0]
    in_flight = deliver(put(initial_state(config), "c1", c), Kind.REPLICA_PUT)
    in_flight = deliver(in_flight, Kind.REPLICA_PUT_ACK)
    assert in_flight.client("c1").acked == (1,)
    assert in_flight.messages and acked_writes_durable(wipe_stores(in_flight)) is True


def test_acked_writes_durable_catches_the_server_vclock_loss() -> None:
    config = Config(clock="server-vclock", clients=2, gets_per_client=0, coordinator="first")
    c = config.top_n("k")[0]
    state = deliver_all(put(put(initial_state(config), "c1", c), "c2", c))
    assert {p for cl in state.clients for p in cl.acked} == {1, 2}
    assert not acked_writes_durable(state)


def test_read_your_writes_catches_a_stale_read() -> None:
    state = written_and_read()
    assert read_your_writes(state)
    cl = state.client("c1")
    stale = replace(cl, gets=(replace(cl.gets[0], returned=()),))
    assert not read_your_writes(replace(state, clients=(stale,)))
    # a put acknowledged after the get began does not count
    early = replace(cl, gets=(replace(cl.gets[0], returned=(), acked_before=()),))
    assert read_your_writes(replace(state, clients=(early,)))


def test_siblings_are_antichain_catches_a_dominated_sibling() -> None:
    good = siblings_then_collapse("client-vclock")
    assert siblings_are_antichain(good)
    config = Config(clock="server-vclock", clients=2, gets_per_client=0, coordinator="first")
    c = config.top_n("k")[0]
    state = deliver_all(put(put(initial_state(config), "c1", c), "c2", c))
    assert siblings_are_antichain(state)
    # mutant: a store that kept v1 {A: 1} next to v2 {A: 2}, which dominates it
    node = state.nodes[0]
    bad = replace(state, nodes=(NodeState(node.up, ((1, 2),), node.hints, node.coord),
                                *state.nodes[1:]))
    assert not siblings_are_antichain(bad)


def test_siblings_are_antichain_for_dvv_uses_dots() -> None:
    """Two dvv writes through one coordinator from the empty context have dots (A, 1) and
    (A, 2): concurrent, although {A: 2} dominates {A: 1} as a vector."""
    config = Config(clients=2, gets_per_client=0, coordinator="first")
    c = config.top_n("k")[0]
    state = deliver_all(put(put(initial_state(config), "c1", c), "c2", c))
    assert siblings_are_antichain(state)
    record = state.put_record(2)
    assert record is not None
    # mutant: v2 claims to have read v1 (its context covers v1's dot)
    puts = (state.puts[0], replace(record, clock=VClock.of({c: 1})))
    assert not siblings_are_antichain(replace(state, puts=puts))


def test_hint_kept_until_acked_catches_an_early_deletion() -> None:
    config = Config(nodes=("n1", "n2", "n3", "n4"), sloppy_quorum=True, crashes=1,
                    anti_entropy=False)
    coordinator, _, third, fallback = config.preference_list("k")
    state = put(initial_state(config), "c1", coordinator)
    state = do(do(state, Crash(third)), Timeout(coordinator, 1, third))
    state = deliver(state, Kind.REPLICA_PUT, dst=fallback)
    state = do(state, Recover(third))
    hint = state.node(fallback).hints[0]
    state = do(state, Handoff(fallback, third, "k", hint.payload))
    state = deliver(deliver(state, Kind.HINT_DELIVERY), Kind.HINT_ACK)
    assert state.hints_deleted and hint_kept_until_acked(state)
    # mutant: the fallback deleted the hint although no acknowledgement was recorded
    assert not hint_kept_until_acked(replace(state, hints_acked=frozenset()))


@pytest.mark.parametrize("clock", ["server-vclock", "client-vclock", "dvv"])
def test_context_collapses_siblings_catches_a_put_that_ignores_its_context(clock: str) -> None:
    state = siblings_then_collapse(clock)
    record = state.put_record(3)
    assert record is not None
    if clock != "server-vclock":
        assert record.read_siblings == (1, 2)
    assert context_collapses_siblings(state)
    if record.read_siblings:
        mutant = replace(record, clock=VClock())
        assert not context_collapses_siblings(replace(state, puts=(*state.puts[:2], mutant)))


def test_converged_needs_equal_replicas_no_hint_and_no_message() -> None:
    state = written_and_read()
    assert converged(state)
    first = state.nodes[0]
    differing = replace(state, nodes=(NodeState(first.up, (empty("dvv"),)), *state.nodes[1:]))
    assert not converged(differing)
    with_hint = replace(state, nodes=(
        NodeState(first.up, first.store, (Hint("n2", "k", first.store[0]),)),
        *state.nodes[1:]))
    assert not converged(with_hint)
    repair = Message(Kind.READ_REPAIR, "n1", "n2", 0, "k", first.store[0])
    assert not converged(replace(state, messages=(repair,)))


# -- the curated suite ----------------------------------------------------------------------------

#: Entries cheap enough for every CI run (a few thousand states at most).
QUICK = ("lww-two-clients", "server-vclock-same-coordinator", "client-vclock-same-coordinator",
         "dvv-same-coordinator", "sloppy-no-handoff", "dvv-context-collapses",
         "lww-blind-rewrite", "client-vclock-blind-rewrite", "strict-no-anti-entropy",
         "strict-weak-quorum")
#: The rest (tens of thousands of states each): `make check` runs them; here only in soak.


def test_suite_expectations_are_complete() -> None:
    names = [e.name for e in DEFAULT_SUITE]
    assert len(set(names)) == len(names)
    sometimes = {p.name for p in SOMETIMES}
    for item in DEFAULT_SUITE:
        assert set(item.expected) - sometimes == set(PROPERTY_NAMES)
        assert set(item.counterexample_length) == {
            p for p, v in item.expected.items() if v == "violated"
        }
        assert set(item.witness_length) == {p for p, v in item.expected.items() if v == "found"}
        assert all(item.expected[p] in ("found", "not found") for p in sometimes & set(
            item.expected))
        assert item.config.name == item.name and item.note
    assert entry("strict-dvv").expected["convergence"] == "holds"
    with pytest.raises(KeyError):
        entry("nope")


def _verify(item: SuiteEntry, symmetry: bool = True) -> None:
    from model_check.check import check

    result = check(item.config, properties=list(item.expected), symmetry=symmetry)
    for outcome in result.results:
        assert outcome.verdict.value == item.expected[outcome.property], outcome.property
        if outcome.trace is not None:
            assert len(outcome.trace.actions) == item.pinned_length(outcome.property)
    if symmetry and item.distinct_states is not None:
        assert result.distinct_states == item.distinct_states


@pytest.mark.parametrize("name", QUICK)
def test_quick_suite_entries_give_their_expected_verdicts(name: str) -> None:
    _verify(entry(name))


@pytest.mark.parametrize("name", ["lww-two-clients", "server-vclock-same-coordinator",
                                  "dvv-same-coordinator"])
def test_symmetry_does_not_change_verdicts(name: str) -> None:
    _verify(entry(name), symmetry=False)


def test_dvv_context_collapses_really_collapses_siblings() -> None:
    """The entry is not vacuous: a put carrying the context of a get that returned
    siblings is reachable, and it replaced them at its coordinator."""
    from model_check.explorer import explore

    config = entry("dvv-context-collapses").config
    found = explore(
        [initial_state(config)], successors,
        {"no collapse": lambda s: not any(r is not None and r.read_siblings for r in s.puts)},
    )
    path = found.counterexample("no collapse")
    assert path is not None
    last = path.states[-1]
    record = next(r for r in last.puts if r is not None and r.read_siblings)
    assert record.read_siblings == (1, 2)
    assert values(last.node(record.coordinator).store[0]) == (record.put_id,)


def test_hint_kept_until_acked_catches_a_spec_that_deletes_hints_when_sending_them() -> None:
    """A mutant spec whose fallbacks delete a hint as soon as they hand it off (before
    the intended node acknowledged it): the explorer finds the violation."""
    from model_check.explorer import explore
    from spec.actions import Handoff as HandoffAction

    def mutant(state: State) -> Iterator[tuple[Action, State]]:
        for action, after in successors(state):
            if isinstance(action, HandoffAction):
                fallback = after.node(action.node)
                hints = tuple(h for h in fallback.hints
                              if (h.intended, h.key, h.payload) !=
                              (action.intended, action.key, action.payload))
                nodes = tuple(
                    NodeState(n.up, n.store, hints, n.coord) if name == action.node else n
                    for name, n in zip(after.config.nodes, after.nodes, strict=True)
                )
                record = (action.node, action.intended, action.key, action.payload)
                after = replace(after, nodes=nodes,
                                hints_deleted=after.hints_deleted | {record})
            yield action, after

    config = entry("sloppy-crash").config.replace(gets_per_client=0)
    invariant = {"hint_kept_until_acked": hint_kept_until_acked}
    assert not explore([initial_state(config)], successors, invariant).violations
    found = explore([initial_state(config)], mutant, invariant)
    assert "hint_kept_until_acked" in found.violations


def test_anti_entropy_with_new_owner_needs_the_new_owner_and_a_change_under_way() -> None:
    """The join-anti-entropy entry's witness: n4, new in k's top N, and n1, which the
    replica put has not reached, exchange after the handover and before the
    settlement: a witness. An exchange of two old owners during the change is not, nor
    is an exchange once the change settled, nor one that changes no store."""
    from spec.actions import AntiEntropy, ClientPut, Gossip, Handover, Join, Settle, Transfer

    state = initial_state(entry("join-anti-entropy").config)
    state = deliver(do(state, ClientPut("c1", "n3", "k")), Kind.REPLICA_PUT, "n3", "n2")
    before_join = state
    joined = do(state, Join("n4"))
    state = joined
    for action in (Gossip("n4", "n1"), Gossip("n1", "n2"), Gossip("n1", "n3"),
                   Transfer("n3", "n4", "k")):
        state = do(state, action)
    state = deliver(state, Kind.RANGE_TRANSFER, "n3", "n4")
    state = do(do(state, Handover("n4")), Gossip("n4", "n1"))
    step = PROPERTIES["anti_entropy_with_new_owner"].step
    assert step is not None
    exchange = AntiEntropy("n4", "n1", "k")
    after = do(state, exchange)
    assert step(state, exchange, after)
    assert not step(state, exchange, state)  # no store changed
    # two owners before and after (n2 holds the put, n1 not yet) once the join began:
    # no witness (k's top N: n1, n2, n3 before, n4, n1, n2 after)
    old_pair = AntiEntropy("n1", "n2", "k")
    assert not step(joined, old_pair, do(joined, old_pair))
    # before any change: anti-entropy repairs, but no change is under way
    assert not step(before_join, old_pair, do(before_join, old_pair))
    # after the settlement (n1 still without the put): the change is complete
    settled = deliver(state, Kind.REPLICA_PUT_ACK, "n2", "n3")  # the put acknowledged
    for action in (Gossip("n4", "n2"), Gossip("n4", "n3"), Settle("n4")):
        settled = do(settled, action)
    assert not step(settled, exchange, do(settled, exchange))
