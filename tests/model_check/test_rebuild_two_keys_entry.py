"""The suite's rebuild with two keys (session 61: disk-loss-read-rebuild-two-keys,
model_check/configs/; docs/proofs.md "The rebuild with two keys in the suite (session
61)"): the only entry whose replaced disk (n3) replicates two keys, so the only one in
which a rebuild of one key alone, or a ``Rebuilt`` that asks of one key alone, breaks a
verdict. Each mutant below, patched into the spec, violates read_your_writes there and
leaves every one-key rebuild entry's figures as they were (checked by hand: disk-loss-
rebuild-crash 14,309 states, disk-loss-rebuild-sloppy 4,969, unchanged under both):

- R1 ``spec.rebuild.begin`` rebuilds only the first key the node replicates: c1's put
  of j through n2 is acknowledged by n2 and n3, n3 loses its disk, exchanges k with n1,
  is ``Rebuilt`` and answers c1's get of j alone, empty (R = 1): 8 steps (the full
  search: 13,646 states, 42,465 transitions, against 15,684 and 49,486);
- R2 ``Rebuilt`` asks of the configuration's first key (k) only: n2, a replica of j
  alone, is ``Rebuilt`` at once after its disk loss and answers the get of j empty: 7
  steps (18,479 states, 60,238 transitions).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

import spec.anti_entropy as anti_entropy
import spec.faults as faults
import spec.rebuild as rebuild
from model_check.check import check
from model_check.suite import entry
from spec.actions import Action
from spec.state import State
from spec.step import Edit, Plan

NAME = "disk-loss-read-rebuild-two-keys"


def _first_key_only(begin: Callable[[Edit, str], None]) -> Callable[[Edit, str], None]:
    """R1: ``begin`` whose exchanges of every key but the node's first are dropped."""
    def mutant(edit: Edit, node: str) -> None:
        begin(edit, node)
        first = next((k for k in edit.plan.keys if node in edit.plan.top[k]), None)
        edit.rebuilding = frozenset(e for e in edit.rebuilding
                                    if e[0] != node or not e[1] or e[1] == first)
    return mutant


def _rebuilt_of_the_first_key(state: State, plan: Plan) -> Iterator[tuple[Action, State]]:
    """R2: the spec's ``Rebuilt`` steps of ``state`` with every other key's exchange
    hidden, put back in each successor."""
    hidden = frozenset(e for e in state.rebuilding if e[1] and e[1] != plan.keys[0])
    shown = Edit(state, plan)
    shown.rebuilding = state.rebuilding - hidden
    for action, successor in ORIGINAL_REBUILT(shown.build(), plan):
        edit = Edit(successor, plan)
        edit.rebuilding = successor.rebuilding | hidden
        yield action, edit.build()


ORIGINAL_REBUILT = rebuild.rebuilt_steps


def _patch(monkeypatch: pytest.MonkeyPatch, mutant: str) -> None:
    if mutant == "R1":
        wrapped = _first_key_only(rebuild.begin)
        for module in (rebuild, faults):  # restart calls rebuild.begin, DiskLoss faults'
            monkeypatch.setattr(module, "begin", wrapped)
    else:
        monkeypatch.setattr(anti_entropy, "rebuilt_steps", _rebuilt_of_the_first_key)


def test_the_entry_holds_every_property_as_pinned() -> None:
    """The entry's figures are the suite's (every property holds; its broken twin
    without the rebuild, disk-loss-read-two-keys, violates read_your_writes in 6)."""
    suite_entry = entry(NAME)
    assert suite_entry.config.keys == ("k", "j") and suite_entry.config.rebuild
    assert set(suite_entry.expected[p] for p in ("read_your_writes", "acked_writes_durable",
                                                 "convergence")) == {"holds"}
    assert entry("disk-loss-read-two-keys").counterexample_length == {"read_your_writes": 6}


@pytest.mark.parametrize(("mutant", "length"), [("R1", 8), ("R2", 7)])
def test_a_rebuild_of_one_key_breaks_read_your_writes(
        monkeypatch: pytest.MonkeyPatch, mutant: str, length: int) -> None:
    """R1 and R2 (module docstring): read_your_writes violated (the search stops at
    the first violation: about 0.5 CPU-s each)."""
    _patch(monkeypatch, mutant)
    result: Any = check(entry(NAME).config, ["read_your_writes"])
    [found] = [r for r in result.results if r.property == "read_your_writes"]
    assert str(found.verdict) == "violated"
    assert found.counterexample_length == length
