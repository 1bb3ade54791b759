"""Pruning the dvv entries of retired lifetimes in the spec (session 33):
:func:`spec.retired.prune_retired` and :func:`spec.retired.prune_at`, the
``[features] prune_retired`` / ``prune_knowledge`` keys, and the spec's steps that
apply it. Source: docs/impl.md, "Pruning the entries of retired lifetimes";
docs/spec.md, "Pruning retired lifetimes"."""

from __future__ import annotations

from pathlib import Path

import pytest

from model_check.check import CheckResult, check
from model_check.replay import replay_on_spec
from model_check.suite import CONFIG_DIR
from spec.config import Config, ConfigError, load_config
from spec.dvv import DVVSet, Entry
from spec.retired import lifetime_of, prune_at, prune_retired
from tests.run_cache import suite_search

NODES = ("n1", "n2")


def _set(*entries: tuple[str, int, tuple[int, ...]]) -> DVVSet[int]:
    return DVVSet.of([Entry(i, c, v) for i, c, v in entries])


def _ids(clock: DVVSet[int]) -> list[str]:
    return [e.id for e in clock.entries]


@pytest.mark.parametrize(("entry", "lifetime"), [
    ("n1", ("n1", 0)), ("n1~3", ("n1", 3)), ("n1~3.2", ("n1", 3)), ("n1~0.1", ("n1", 0)),
    ("n1~2 c1", ("n1", 2)), ("n1 c1", ("n1", 0)), ("n1~2/1 c1", ("n1", 2)),
])
def test_lifetime_of_inverts_the_actor_ids(entry: str, lifetime: tuple[str, int]) -> None:
    assert lifetime_of(entry) == lifetime


def test_a_live_actors_value_less_entry_stays() -> None:
    # n1 is in lifetime 1: its entries of lifetime 1 (a key epoch and a pair too) stay,
    # those of lifetime 0 go; n2's entry, live, stays
    clock = _set(("n1", 1, ()), ("n1 c1", 1, ()), ("n1~1", 2, ()), ("n1~1 c1", 1, ()),
                 ("n1~1.1", 1, ()), ("n2", 3, (7,)))
    pruned = prune_retired(clock, {"n1": 1, "n2": 0}, 0)
    assert _ids(pruned) == ["n1~1", "n1~1 c1", "n1~1.1", "n2"]


def test_an_entry_with_a_value_stays_even_of_a_retired_lifetime() -> None:
    clock = _set(("n1", 2, (5,)), ("n1~1", 1, ()), ("n1~2", 1, (6,)))
    pruned = prune_retired(clock, {"n1": 2}, 0)
    assert _ids(pruned) == ["n1", "n1~2"]
    assert pruned.entries[0].values == (5,)


def test_the_newest_keep_retired_lifetimes_of_each_node_stay() -> None:
    clock = _set(("n1", 1, ()), ("n1~1", 1, ()), ("n1~2", 1, ()), ("n1~3", 1, (9,)),
                 ("n2", 1, ()), ("n2~1", 1, ()))
    live = {"n1": 3, "n2": 2}
    assert _ids(prune_retired(clock, live, 0)) == ["n1~3"]
    assert _ids(prune_retired(clock, live, 1)) == ["n1~2", "n1~3", "n2~1"]
    assert _ids(prune_retired(clock, live, 2)) == ["n1~1", "n1~2", "n1~3", "n2", "n2~1"]
    assert prune_retired(clock, live, 3) is clock


def test_a_retired_lifetime_holding_a_value_counts_among_the_kept() -> None:
    # n1~1 (a sibling) is n1's newest retired lifetime: with keep 1 it is the one kept,
    # so n1's lifetime 0 goes (the implementation's rank: every held lifetime counts)
    clock = _set(("n1", 1, ()), ("n1~1", 1, (4,)), ("n1~2", 1, (5,)))
    assert _ids(prune_retired(clock, {"n1": 2}, 1)) == ["n1~1", "n1~2"]


def test_knowledge_limits_what_goes_and_pruning_is_idempotent() -> None:
    clock = _set(("n1", 1, ()), ("n2", 1, ()), ("n2~1", 1, (3,)), ("n1~1", 1, (2,)))
    epochs = (1, 1)
    everything = prune_at("n1", clock, NODES, epochs, 0, "all")
    assert _ids(everything) == ["n1~1", "n2~1"]
    own = prune_at("n1", clock, NODES, epochs, 0, "own")
    assert _ids(own) == ["n1~1", "n2", "n2~1"]
    assert prune_at("n1", everything, NODES, epochs, 0, "all") is everything
    assert prune_retired(clock, {}, 0) is clock  # no node known: nothing retired


def test_the_naive_rule_drops_the_pruning_nodes_live_entry() -> None:
    clock = _set(("n1", 1, ()), ("n2", 1, (3,)))
    assert prune_at("n1", clock, NODES, (0, 0), 0, "all") is clock
    assert _ids(prune_at("n1", clock, NODES, (0, 0), 0, "naive")) == ["n2"]
    assert prune_at("n2", clock, NODES, (0, 0), 0, "naive") is clock  # not n2's own


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="keep"):
        prune_retired(DVVSet(), {}, -1)
    with pytest.raises(ValueError, match="knowledge"):
        prune_at("n1", DVVSet(), NODES, (0, 0), 0, "some")


# -- configuration -----------------------------------------------------------------------


def test_off_by_default_and_left_out_of_the_configurations_json() -> None:
    config = Config()
    assert config.prune_retired == -1
    assert "prune_retired" not in config.to_json()["features"]
    on = Config(clock="dvv", actor_per_start=True, prune_retired=1, prune_knowledge="own")
    assert Config.from_json(on.to_json()) == on
    assert Config.from_toml(on.to_toml()) == on


@pytest.mark.parametrize(("changes", "message"), [
    ({"prune_retired": 0, "clock": "server-vclock"}, "needs \\[cluster\\] clock"),
    ({"prune_retired": 0, "actor_epochs": False}, "actor_epochs"),
    ({"prune_retired": 0, "restores": 1, "restore_actor": "kept"}, "restore_actor"),
    ({"prune_retired": 0, "nodes": ("a~1", "b", "c")}, "holds '~'"),
    ({"prune_knowledge": "own"}, "needs \\[features\\] prune_retired"),
    ({"prune_retired": -2}, "prune_retired"),
    ({"prune_retired": 0, "prune_knowledge": "most"}, "prune_knowledge"),
])
def test_contradictions_are_refused(changes: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Config(**changes)  # type: ignore[arg-type]


# -- the spec's steps ------------------------------------------------------------------------


def test_the_same_configuration_without_pruning_holds_every_property() -> None:
    """dvv-prune-retired's false siblings are pruning's: off, the graph has none."""
    config = load_config(CONFIG_DIR / "dvv-prune-retired.toml").replace(prune_retired=-1)
    result = check(config, properties=["acked_writes_durable", "siblings_are_antichain",
                                       "sibling_bound"])
    assert {p: str(v) for p, v in result.verdicts.items()} == dict.fromkeys(
        ("acked_writes_durable", "siblings_are_antichain", "sibling_bound"), "holds")
    assert result.distinct_states == 6_448


def test_keeping_one_retired_lifetime_prunes_nothing_with_one_crash() -> None:
    """One crash retires at most one lifetime per node: with prune_retired = 1 the
    delete entry's graph is the graph without pruning, and the deleted value stays
    deleted."""
    base = load_config(CONFIG_DIR / "dvv-prune-retired-delete.toml")
    kept = check(base.replace(prune_retired=1), properties=["no_resurrection"])
    off = check(base.replace(prune_retired=-1), properties=["no_resurrection"])
    assert str(kept.verdicts["no_resurrection"]) == "holds"
    assert kept.distinct_states == off.distinct_states == 4_869


def _suite_result(run_cache: Path, config: Config) -> CheckResult:
    """The verdict search of the suite entry whose configuration is ``config`` (every
    property of its expectations, symmetry on), read from the run's cache
    (tests/run_cache.py); AssertionError if the entry's configuration is not ``config``
    (the file and the suite apart)."""
    result = suite_search(run_cache, config.name).result
    assert result.config == config and not result.bounded
    return result


def test_the_witness_sees_pruning_happen_and_only_pruning(run_cache: Path) -> None:
    """Session 33's review: ``retired_entry_pruned`` (a step drops a retired lifetime's
    entry from a record it leaves non-empty) is found where pruning runs, at the
    write of v2 through n2 after n1's crash (6 steps), and not found without it
    (nor with K = 1, where one crash leaves nothing to prune): an entry's "holds"
    cannot come from a spec that prunes nothing."""
    config = load_config(CONFIG_DIR / "dvv-prune-retired.toml")
    # the suite entry's verdict search of its whole graph, once per test run
    # (tests/run_cache.py, test_suite_verdicts.py's; session 46: this test searched the
    # same graph again for the witness alone, 1.1 CPU-s)
    found = _suite_result(run_cache, config)
    assert str(found.verdicts["retired_entry_pruned"]) == "found"
    assert found.result("retired_entry_pruned").witness_length == 6
    for keep in (-1, 1):
        none = check(config.replace(prune_retired=keep), properties=["retired_entry_pruned"])
        assert str(none.verdicts["retired_entry_pruned"]) == "not found", keep


def test_a_replay_of_the_naive_twin_says_what_pruning_did(run_cache: Path) -> None:
    """Session 33's review: the twin's replay said "n1 stores k={v2}" and "c1 put v3 of
    k to n1", never that n1 dropped its own entry, that v3 took v1's dot again, nor
    that n2 dropped v3. With pruning on, the narration names the put's dot, the
    entries a write pruned, and a replica put that changed nothing."""
    config = load_config(CONFIG_DIR / "dvv-prune-naive.toml")
    # the suite entry's search (session 46, as above: 0.9 CPU-s; its shortest
    # counterexample is the one a search of acked_writes_durable alone finds: the same
    # breadth-first order, whatever the properties)
    outcome = _suite_result(run_cache, config).result("acked_writes_durable")
    assert outcome.trace is not None
    text = replay_on_spec(outcome.trace).render()
    assert "c1 put v1 of k to n1 (dot n1:1)" in text
    assert "c1 put v3 of k to n1 (dot n1:1)" in text
    assert "n1 stores k={v2} (pruned: n1)" in text
    assert "n2's record unchanged (its clock covers every version the put carries)" in text
    assert "both hold {v2} (n1 pruned: n1)" in text


def test_without_pruning_the_narration_is_as_before() -> None:
    """The dot and the pruned entries are told only with pruning on: the replays of
    every other configuration read as they did before session 33."""
    config = load_config(CONFIG_DIR / "dvv-prune-naive.toml").replace(
        prune_retired=-1, prune_knowledge="all")
    outcome = check(config, properties=["siblings_stored"]).result("siblings_stored")
    assert outcome.trace is not None
    text = replay_on_spec(outcome.trace).render()
    assert "c1 put v1 of k to n2; n2 stores k={v1}" in text
    assert "(dot" not in text and "pruned" not in text


def test_a_replica_that_merges_the_delete_no_longer_holds_the_value_it_deleted() -> None:
    """Session 39: a put is replicated whole, its coordinator storing it pruned. On
    dvv-prune-retired-delete: c1 puts v1 (put 1) through n1, n1 crashes (its first
    lifetime retired) and recovers, c1 reads v1 through n1 and deletes it through n2
    (put 2). The replica put to n1 carries n1's retired entry (value-less: the delete
    superseded v1), so n1, merging it, holds the tombstone alone. Until session 39 the
    coordinator replicated its pruned record (n2 alone), n1 kept v1 beside the
    tombstone and acknowledged the delete: the checker's 9-step ``no_resurrection``
    counterexample, taken for pruning's cost (a stale copy's is 10 steps now:
    model_check/suite.py). The mutant (payload pruned again) fails here."""
    from spec import clocks, model
    from spec.actions import Deliver, action_from_json
    from spec.state import Kind

    config = load_config(CONFIG_DIR / "dvv-prune-retired-delete.toml")
    state = model.initial_state(config)
    for item in ({"action": "client-put", "client": "c1", "node": "n1", "key": "k"},
                 {"action": "crash", "node": "n1"}, {"action": "client-timeout", "client": "c1"},
                 {"action": "recover", "node": "n1"},
                 {"action": "client-get", "client": "c1", "node": "n1", "key": "k"},
                 {"action": "client-delete", "client": "c1", "node": "n2", "key": "k"}):
        wanted = action_from_json(item)
        state = next(t for a, t in model.successors(state) if a == wanted)
    n2 = state.nodes[config.nodes.index("n2")].store[0]
    assert _ids(n2) == ["n2"]  # the coordinator stores the tombstone pruned
    action, state = next((a, t) for a, t in model.successors(state)
                         if isinstance(a, Deliver) and a.message.kind is Kind.REPLICA_PUT
                         and a.message.dst == "n1" and a.message.request == 2)
    assert isinstance(action, Deliver) and isinstance(action.message.payload, DVVSet)
    assert _ids(action.message.payload) == ["n1", "n2"]  # n1's emptied entry travels
    assert clocks.values(state.nodes[config.nodes.index("n1")].store[0]) == (2,)
