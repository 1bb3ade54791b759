"""Issue 11 review (helper rev, session 5): a hand mutant of the spec's safe reap
that survived the suite and tests/model_check/test_deletes.py, killed here.

Guard 2 of the safe reap (spec/deletes.py, ``_quiet``) counts hints: a fallback
holding a hint of a version the delete covers would deliver it after the reap
and bring it back. No suite entry with deletes has a sloppy quorum (so no hint
is ever held), and the seeded mutants of test_deletes.py drop the whole guard,
so a guard that forgets only the hints survived everything.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest

from spec import deletes
from spec.actions import Drop, Reap
from spec.state import Hint, Kind, State, new_node
from spec.step import Edit, Plan, plan_of
from tests.model_check.test_deletes import BASE, _late_replica_put, _put_read, _reaps, _store
from tests.spec.test_model import do


def _quiet_but_a_hint_of_v1() -> State:
    """Every store holds only the acknowledged tombstone (v2), v1's late replica put
    to n3 was lost, and n2 keeps a hint of v1 for n3 (as a fallback would)."""
    state = _late_replica_put()
    late = next(m for m in state.messages if m.kind is Kind.REPLICA_PUT)
    state = do(state, Drop(late))
    assert not state.messages and {_store(state, n) for n in ("n1", "n2", "n3")} == {(2,)}
    assert _reaps(state) == [Reap("k", ("n1",)), Reap("k", ("n2",)), Reap("k", ("n3",))]
    v1 = _put_read(BASE).node("n1").store[0]
    edit = Edit(state, plan_of(BASE))
    n2 = edit.node("n2")
    edit.set_node("n2", new_node(n2.up, n2.store, (Hint("n3", "k", v1),), n2.coord))
    return edit.build()


@contextlib.contextmanager
def _hints_forgotten() -> Iterator[None]:
    original = deletes._quiet

    def no_hints(state: State, key: str, plan: Plan) -> bool:
        return not any(m.key == key for m in state.messages) and not any(
            c.key == key for node in state.nodes for c in node.coord)

    deletes._quiet = no_hints
    try:
        yield
    finally:
        deletes._quiet = original


@pytest.mark.parametrize("mutant", [None, "quiet-ignores-hints"])
def test_a_hint_of_a_deleted_version_blocks_the_safe_reap(mutant: str | None) -> None:
    state = _quiet_but_a_hint_of_v1()
    with _hints_forgotten() if mutant else contextlib.nullcontext():
        reaps = _reaps(state)
    assert reaps == ([Reap("k", ("n1",)), Reap("k", ("n2",)), Reap("k", ("n3",))]
                     if mutant else [])
