"""The rebuild's and the refusing target's sometimes-witnesses (session 56,
:mod:`model_check.rebuild_witnesses`) turn ``not found`` under the spec mutant of the
rule each one pins, in the first levels of their suite entries (the whole graphs'
verdicts, and the other mutants: docs/refinement.md, "The rebuild's rules pinned by
verdicts (session 56)"). Each mutant is a patch of the name the spec module calls.
A witness that cannot fail is caught here: ``rebuilding_put_unacked`` without its
"no acknowledgement sent" test (true of every awaited copy delivered to a marked
replica) stays found under mutant 1, and the first parametrised case fails.
"""

from __future__ import annotations

from unittest import mock

import pytest

from model_check.check import check
from model_check.suite import entry
from spec.state import Message
from spec.step import Edit, find_coordination

DEPTH = 5
"""The witnesses' pinned lengths are 3-5: every one is found within five steps."""
REBUILD = ("rebuilding_put_unacked", "rebuilding_own_write_uncounted", "rebuilding_read_fails")


def _found(name: str, properties: tuple[str, ...]) -> set[str]:
    result = check(entry(name).config, list(properties), max_depth=DEPTH, kernel=False)
    return {r.property for r in result.results if r.verdict == "found"}


def _awaited_without_refused(edit: Edit, m: Message) -> bool:
    """``spec.replica.awaited`` without its ``Coordination.refused`` clause (mutant 9)."""
    coordinator = edit.node(m.src)
    coord = find_coordination(coordinator, m.request) if coordinator.up else None
    return coord is not None and any(t == m.dst for t, _ in coord.awaiting)


def test_the_rebuild_witnesses_are_found_in_five_steps() -> None:
    assert _found("disk-loss-rebuild-drop", REBUILD) == set(REBUILD)
    assert _found("write-failure-duplicate", ("refused_target_acks_again",)) == {
        "refused_target_acks_again"}


@pytest.mark.parametrize(("target", "lost"), [
    # mutant 1: a marked replica acknowledges a put's copy
    ("spec.replica.uncounted", {"rebuilding_put_unacked"}),
    # mutant 2 with the own read's rule: a marked coordinator counts its own write and
    # its own read (so no get fails for want of it either)
    ("spec.coordination.uncounted", {"rebuilding_own_write_uncounted",
                                     "rebuilding_read_fails"}),
])
def test_a_rebuild_rule_removed_loses_its_witness(target: str, lost: set[str]) -> None:
    with mock.patch(target, lambda rebuilding, node: False):
        assert _found("disk-loss-rebuild-drop", REBUILD) == set(REBUILD) - lost


def test_a_refusing_target_not_answered_loses_its_witness() -> None:
    with mock.patch("spec.replica.awaited", _awaited_without_refused):
        assert _found("write-failure-duplicate", ("refused_target_acks_again",)) == set()
