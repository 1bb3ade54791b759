"""Deletes and reaping in lockstep (issue 11): the suite's delete entries refined step
by step, and a reap the spec does not allow reported as a divergence."""

from __future__ import annotations

import dataclasses
from collections import Counter

import pytest

from impl import reaping
from impl.effects import Effect
from impl.node import Node
from impl.timers import ReapTombstone
from model_check.refinement import Divergence, Lockstep
from tests.conftest import PROFILE
from tests.refinement.configs import DELETE_CONFIGS, DELETE_WALK_CONFIGS, LOCKSTEP_CONFIGS
from tests.refinement.walks import walk

#: the seeded walks each configuration takes in CI (seeds 0-19); the soak profile
#: takes 3,000 (session 17: CI took 60, 2.2-8.0 CPU-s a configuration; every delete
#: mutant of tests/refinement/test_mutations.py is killed there by its own walks, and
#: by these within seed 0-19, docs/model-checking.md "Where CI's test CPU goes
#: (session 17)")
WALKS_IN_CI = 20
WALKS = 3_000 if PROFILE == "soak" else WALKS_IN_CI


@pytest.mark.parametrize("name", sorted(DELETE_WALK_CONFIGS))
def test_seeded_walks_refine_the_spec(name: str) -> None:
    """Seeded walks of 40 steps (then quiescence and the convergence check) take
    deletes and reaps (and, sloppy, hand tombstones off), every step checked
    against the spec."""
    counts: Counter[str] = Counter()
    for seed in range(WALKS):
        walk(DELETE_WALK_CONFIGS[name], seed, 40, counts)
    print(name, dict(counts))
    assert counts["delete"] > 0 and counts["reap"] > 0, counts
    if DELETE_WALK_CONFIGS[name].hinted_handoff and DELETE_WALK_CONFIGS[name].sloppy_quorum:
        assert counts["hint scan"] > 0, counts


def _deliver_all(ls: Lockstep) -> None:
    while ls.deliverable():
        ls.deliver(ls.deliverable()[0].id)


def _deleted_everywhere() -> tuple[Lockstep, ReapTombstone]:
    """delete-safe: c1 puts at n1, reads, deletes with the get's context; every
    message delivered: all three replicas acknowledged the tombstone, so n1 decided
    the reap (its timer is set)."""
    ls = Lockstep(DELETE_CONFIGS["delete-safe"])
    ls.put("c1", "n1", "k")
    _deliver_all(ls)
    ls.get("c1", "n1", "k")
    _deliver_all(ls)
    ls.delete("c1", "n1", "k")
    _deliver_all(ls)
    timers = [t for t in ls.sim.named_timers("n1") if isinstance(t, ReapTombstone)]
    assert len(timers) == 1
    return ls, timers[0]


def test_a_safe_reap_is_one_spec_reap_of_all_n_replicas() -> None:
    ls, timer = _deleted_everywhere()
    assert ls.reap_candidates() == [("n1", timer)]
    ls.reap("n1", timer)
    assert ls.verify()
    assert all(ls.cluster.storages[n].read(b"k") is None for n in ls.config.nodes)
    assert ls.history[-1] == "reap k @n1 (n1, n2, n3)"
    ls.cluster.close()


def _asker_skips_itself(self: reaping.Reaper, key: bytes) -> list[Effect]:
    """The mutant ``asker-skips-itself``: every member answered clean, and the
    asker reaps without looking at its own hints and coordinations."""
    round_ = self.rounds[key]
    if round_.waiting:
        return []
    del self.rounds[key]
    timer = round_.timer
    return self.reap_now(key, timer.record, timer.targets)


@pytest.mark.parametrize(("getter", "mutant"), [
    ("n2", None), ("n2", "member-always-clean"), ("n2", "member-ignores-coordinations"),
    ("n1", None), ("n1", "asker-skips-itself")])
def test_a_reap_while_a_message_about_the_key_is_in_flight_is_a_divergence(
        getter: str, mutant: str | None, monkeypatch: pytest.MonkeyPatch) -> None:
    """The grace period is the spec's quiescence guard: a get's read in flight keeps
    the harness from letting it pass. Forcing the reap then (what an implementation
    with a short grace period does) asks the members first (impl/reaping.py): the
    ``getter``, coordinating the get (n2, a member asked; or n1, the asker itself),
    is not clean, so nothing is reaped (a stutter). The mutants
    ``member-always-clean`` (a member answers clean whatever it holds, the timed
    rule of before), ``member-ignores-coordinations`` (a get or put of the key in
    progress does not count) and ``asker-skips-itself`` reap, which has no spec
    counterpart and is reported."""
    if mutant == "member-always-clean":
        monkeypatch.setattr(reaping.Reaper, "_clean", lambda self, key, view: True)
    elif mutant == "member-ignores-coordinations":
        monkeypatch.setattr(Node, "_busy", lambda self, key: False)
    elif mutant:
        monkeypatch.setattr(reaping.Reaper, "_decide", _asker_skips_itself)
    ls, timer = _deleted_everywhere()
    ls.get("c1", getter, "k")
    assert ls.in_flight() and ls.reap_candidates() == []
    if mutant:
        with pytest.raises(Divergence, match="reap k @n1"):
            ls.reap("n1", timer)
    else:
        ls.reap("n1", timer)
        assert ls.history[-1] == "reap k @n1 (none)"
        assert all(ls.cluster.storages[n].read(b"k") is not None for n in ls.config.nodes)
    ls.cluster.close()


def test_a_partial_safe_reap_after_a_fault() -> None:
    """strict-client-vclock with one put and one delete per client and its faults:
    seed 37 reaches a reap that n2 refuses (a lost read repair left its copy
    different) while n1 and n3 reap."""
    config = dataclasses.replace(LOCKSTEP_CONFIGS["strict-client-vclock"],
                                 name="strict-delete-faults", puts_per_client=1,
                                 deletes_per_client=1)
    walk(config, 37, 40)
