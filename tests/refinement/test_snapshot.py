"""Snapshots of a running lockstep (model_check.refinement_snapshot): a restored copy
is the same state and independent of the original, so the conformance run may check
many edges from one state reached once."""

from __future__ import annotations

import contextlib
import types
from collections.abc import Iterator
from typing import Any
from unittest import mock

import pytest

from model_check.refinement import Divergence, Lockstep
from model_check.refinement_snapshot import LockstepSnapshot, _Pickler, _shared
from model_check.suite import entry


def _busy_lockstep() -> Lockstep:
    """A dvv lockstep with two puts acknowledged, a get under way and messages in
    flight (the coordinator's operations, the replicas' storage, the hints)."""
    ls = Lockstep(entry("dvv-same-coordinator").config)
    c1, c2 = ls.config.client_names[:2]
    key = ls.config.keys[0]
    coordinator = ls.config.top_n(key)[0]
    ls.put(c1, coordinator, key)
    while ls.deliverable():
        ls.deliver(ls.deliverable()[0].id)
    ls.put(c2, coordinator, key)
    ls.deliver(ls.deliverable()[0].id)
    return ls


def _picture(ls: Lockstep) -> tuple[object, ...]:
    """What the lockstep holds: the implementation's abstraction, its messages in
    flight, the frontier and the harness's bookkeeping."""
    return (ls.abstract(), [(m.id, m.src, m.dest, m.message) for m in ls.sim.in_flight()],
            ls.frontier, ls.steps, dict(ls.ops), ls.sim.now)


def _deliver_all(ls: Lockstep) -> None:
    while ls.deliverable():
        ls.deliver(ls.deliverable()[0].id)


def _independent() -> bool:
    """Steps on a restored copy leave the original as it was, and the original then
    takes the same steps to the same state (every step checked: a copy acting on
    the original's objects diverges)."""
    ls = _busy_lockstep()
    before = _picture(ls)
    snapshot = LockstepSnapshot(ls)
    copy = snapshot.restore()
    assert _picture(copy) == before
    try:
        _deliver_all(copy)
        if _picture(ls) != before:
            return False
        _deliver_all(ls)
        again = snapshot.restore()
        _deliver_all(again)
    except Divergence:
        return False
    return _picture(copy) == _picture(ls) == _picture(again) != before


def test_a_restored_copy_is_the_same_state_and_independent() -> None:
    assert _independent()


@contextlib.contextmanager
def _closures_by_reference() -> Iterator[None]:
    """The mistake of ``copy.deepcopy``: functions (a node's dispatch lambdas) kept
    by reference, so a copy's node handles its messages with the original's
    mechanisms."""
    plain = _Pickler.reducer_override

    def override(self: _Pickler, obj: Any) -> Any:
        if type(obj) is types.FunctionType and obj.__closure__:
            self.shared.append(obj)
            return _shared, (len(self.shared) - 1,)
        return plain(self, obj)

    with mock.patch.object(_Pickler, "reducer_override", override):
        yield


def test_independence_is_checked_a_copy_sharing_closures_fails() -> None:
    with _closures_by_reference():
        assert not _independent()


def test_a_snapshot_is_small_and_refuses_what_it_cannot_copy() -> None:
    import itertools
    import pickle

    ls = _busy_lockstep()
    assert 5_000 < LockstepSnapshot(ls).size < 200_000
    ls.history.append(itertools.count(0, 2))  # type: ignore[arg-type]
    with pytest.raises(pickle.PicklingError, match="step other than 1"):
        LockstepSnapshot(ls)


def _generators(ls: Lockstep) -> list[Any]:
    """The simulator's generator and each node's (``random.Random``)."""
    return [ls.cluster.sim.rng] + [ls.cluster.node(name).rng
                                   for name in sorted(ls.cluster.sim.nodes)]


def test_a_restored_copy_has_its_own_generators_in_the_same_state() -> None:
    """The generators' states are shared by the snapshot (an immutable tuple), the
    generators themselves are not: drawing on a copy leaves the original's as it was
    (session 17: a generator shared by reference is caught here, not by
    ``_independent``, whose steps draw nothing)."""
    ls = _busy_lockstep()
    snapshot = LockstepSnapshot(ls)
    copy, again = snapshot.restore(), snapshot.restore()
    before = [g.getstate() for g in _generators(ls)]
    assert [g.getstate() for g in _generators(copy)] == before
    for generator in _generators(copy):
        generator.random()
    assert [g.getstate() for g in _generators(ls)] == before
    assert [g.getstate() for g in _generators(again)] == before
    assert [g.getstate() for g in _generators(copy)] != before
