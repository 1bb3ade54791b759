"""Deletes and reaping in lockstep (issue 11): the suite's delete entries refined step
by step, and a reap the spec does not allow reported as a divergence."""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Callable

import pytest

from impl import reaping
from impl.effects import Effect, Send
from impl.messages import ReapQuery, ReapQueryReply, ReplicaGet, ReplicaPut, ReplicaPutAck
from impl.node import Node
from impl.simulator import InFlight
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
    ls = _deleting()
    _deliver_all(ls)
    return ls, _reap_timer(ls)


def _deleting() -> Lockstep:
    """delete-safe: c1 puts at n1 and reads (every message delivered), then deletes
    through n1 with the get's context (the delete's messages in flight)."""
    ls = Lockstep(DELETE_CONFIGS["delete-safe"])
    ls.put("c1", "n1", "k")
    _deliver_all(ls)
    ls.get("c1", "n1", "k")
    _deliver_all(ls)
    ls.delete("c1", "n1", "k")
    return ls


def _reap_timer(ls: Lockstep) -> ReapTombstone:
    """n1's one reap timer (set once all N acknowledged the delete)."""
    timers = [t for t in ls.sim.named_timers("n1") if isinstance(t, ReapTombstone)]
    assert len(timers) == 1
    return timers[0]


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
    asker reaps without looking at its own hints, puts and gets."""
    round_ = self.rounds[key]
    if round_.waiting:
        return []
    del self.rounds[key]
    timer = round_.timer
    return self.reap_now(key, timer.record, timer.targets)


def _member_always_clean(self: reaping.Reaper, now: float, src: str,
                         message: ReapQuery) -> list[Effect]:
    """The mutant ``member-always-clean``: a member answers clean at once, whatever it
    holds or coordinates (the timed rule of before)."""
    return [Send(src, ReapQueryReply(message.query_id, message.key, True))]


def _mutate(mutant: str | None, monkeypatch: pytest.MonkeyPatch) -> None:
    if mutant == "member-always-clean":
        monkeypatch.setattr(reaping.Reaper, "on_query", _member_always_clean)
    elif mutant == "member-ignores-coordinations":
        monkeypatch.setattr(Node, "_busy", lambda self, key: False)
        monkeypatch.setattr(Node, "_reading", lambda self, key: frozenset())
    elif mutant:
        monkeypatch.setattr(reaping.Reaper, "_decide", _asker_skips_itself)


def _deliver_all_but(ls: Lockstep, held: Callable[[InFlight], bool]) -> None:
    while waiting := [m for m in ls.deliverable() if not held(m)]:
        ls.deliver(waiting[0].id)


def _read_before_the_tombstone(getter: str) -> tuple[Lockstep, ReapTombstone]:
    """delete-safe: c1 puts at n1, reads, deletes through n1 with the get's context,
    the delete's replica put to n2 held back (n1 and n3 acknowledge it). c1's next
    get, through ``getter``, reads v1 before the tombstone reaches n2: n2's own read
    (``getter`` n2), or n2's reply to n1's request, left in flight (``getter`` n1).
    Then n2 takes the tombstone and acknowledges it: all N did, n1 set the reap
    timer; the get is still in progress, holding (or about to receive) v1."""
    ls = _deleting()

    def to_n2(m: InFlight) -> bool:
        return isinstance(m.message, ReplicaPut) and m.dest == "n2"

    _deliver_all_but(ls, to_n2)
    ls.get("c1", getter, "k")
    if getter == "n1":
        [ask] = [m for m in ls.deliverable()
                 if isinstance(m.message, ReplicaGet) and m.dest == "n2"]
        ls.deliver(ask.id)
    [late] = [m for m in ls.deliverable() if to_n2(m)]
    ls.deliver(late.id)
    [ack] = [m for m in ls.deliverable() if isinstance(m.message, ReplicaPutAck)]
    ls.deliver(ack.id)
    return ls, _reap_timer(ls)


@pytest.mark.parametrize(("getter", "mutant"), [
    ("n2", None), ("n2", "member-always-clean"), ("n2", "member-ignores-coordinations"),
    ("n1", None), ("n1", "asker-skips-itself")])
def test_a_reap_past_a_get_holding_a_deleted_version_is_a_divergence(
        getter: str, mutant: str | None, monkeypatch: pytest.MonkeyPatch) -> None:
    """The grace period is the spec's quiescence guard: a get's read in flight keeps
    the harness from letting it pass. Forcing the reap then (what an implementation
    with a short grace period does) asks the members first (impl/reaping.py): the
    ``getter``'s get began before the round and read v1 (its own copy, n2; n2's reply
    in flight, n1), so its coordinator waits for it (n2 holds its answer, the asker
    n1 does not decide): nothing is reaped in the step (a stutter). The spec refuses
    every reap there (guard 2: the get holds v1, which the acknowledged delete
    covers). The mutants ``member-always-clean`` (a member answers clean at once,
    the timed rule of before), ``member-ignores-coordinations`` (a put or get of the
    key in progress does not count) and ``asker-skips-itself`` reap, which has no
    spec counterpart and is reported."""
    _mutate(mutant, monkeypatch)
    ls, timer = _read_before_the_tombstone(getter)
    assert ls.in_flight() and ls.reap_candidates() == []
    if mutant:
        with pytest.raises(Divergence, match="reap k @n1"):
            ls.reap("n1", timer)
    else:
        ls.reap("n1", timer)
        assert ls.history[-1] == "reap k @n1 (none)"
        assert all(ls.cluster.storages[n].read(b"k") is not None for n in ls.config.nodes)
    ls.cluster.close()


@pytest.mark.parametrize(("getter", "mutant"), [
    ("n2", None), ("n2", "member-always-clean"), ("n1", None), ("n1", "asker-skips-itself")])
def test_a_reap_past_a_get_of_the_tombstone_alone_is_a_spec_step(
        getter: str, mutant: str | None, monkeypatch: pytest.MonkeyPatch) -> None:
    """Session 39: every replica holds the tombstone before c1's get through
    ``getter`` begins; forced while the get is in progress, the implementation's round
    waits for it (a stutter), and a reap that does not wait (the mutants above) is a
    spec step: the spec's guard 2 passes a get that holds nothing a delete covers
    (before session 39 it refused every reap while a get of the key was in
    progress, and these reaps were divergences)."""
    _mutate(mutant, monkeypatch)
    ls, timer = _deleted_everywhere()
    ls.get("c1", getter, "k")
    assert ls.in_flight() and ls.reap_candidates() == []
    ls.reap("n1", timer)
    reaped = [n for n in ls.config.nodes if ls.cluster.storages[n].read(b"k") is None]
    assert ls.history[-1] == ("reap k @n1 (n1, n2, n3)" if mutant else "reap k @n1 (none)")
    assert reaped == (list(ls.config.nodes) if mutant else [])
    ls.cluster.close()


def test_a_partial_safe_reap_after_a_fault() -> None:
    """strict-client-vclock with one put and one delete per client and its faults:
    seed 37 reaches a reap that n2 refuses (a lost read repair left its copy
    different) while n1 and n3 reap."""
    config = dataclasses.replace(LOCKSTEP_CONFIGS["strict-client-vclock"],
                                 name="strict-delete-faults", puts_per_client=1,
                                 deletes_per_client=1)
    walk(config, 37, 40)
