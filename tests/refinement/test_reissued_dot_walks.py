"""Random lockstep walks that reach anti-entropy between replicas holding a re-issued
dot (session 47).

``test_lockstep.py``'s walks of the three actor entries (dvv-amnesia-naive-actor,
dvv-buffered-crash-naive-actor, dvv-restore-kept-actor) took 356 anti-entropy
exchanges under the ci profile and 5,998 in a soak run, none between replicas that
hold one dot with two values (session 46's scratch counter): the dot is re-issued
late in a walk, after a put, the loss of the coordinator's writes and a second put
through it, and by then a walk of 30 steps has few steps left. Here each example
begins with those steps (a drawn prefix: the puts before the loss, which
replica puts are delivered, whether the re-issuing put's messages are), and the
machine's rules go on from there: anti-entropy, deliveries, drops, crashes,
partitions, the client's further puts; then quiescence and the progress check, as
in every lockstep walk, and after it no spec exchange that would move anything is
left. The machine counts the exchanges its ``anti_entropy`` rule
takes between replicas holding one dot with two values
(``tests.refinement.machine.one_dot_two_values``); each run must take some.
docs/refinement.md, "Tombstones under a re-issued dot, and walks that reach the
exchange (session 47)".
"""

from __future__ import annotations

import os
from collections.abc import Callable

import pytest
from hypothesis import Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import run_state_machine_as_test

from model_check.refinement import Lockstep
from spec import model as spec_model
from spec.actions import AntiEntropy
from tests.conftest import examples
from tests.refinement.configs import DATA_LOSS_CONFIGS
from tests.refinement.machine import COVERAGE, machine_for

SEARCH = (tuple(Phase) if os.environ.get("REFINEMENT_SHRINK")
          else (Phase.explicit, Phase.reuse, Phase.generate))


def _deliver_all(ls: Lockstep) -> None:
    while ls.deliverable():
        ls.deliver(ls.deliverable()[0].id)


def _put(ls: Lockstep, node: str, data: st.DataObject, label: str) -> None:
    """c1 puts k through ``node``; each of its messages (the replica puts, then their
    acknowledgements) delivered or, drawn, left in flight for the walk."""
    ls.put("c1", node, "k")
    kept: set[int] = set()
    while pending := [m for m in ls.deliverable() if m.id not in kept]:
        if data.draw(st.booleans(), label=f"{label}: deliver {pending[0].message!r}"[:80]):
            ls.deliver(pending[0].id)
        else:
            kept.add(pending[0].id)


def _lose(ls: Lockstep, node: str) -> None:
    """``node`` loses the writes the re-issued dot's first value went to: its disk
    (amnesia), its unflushed writes (buffered crash), or everything since its backup
    (restore, the actor kept); it is up again after."""
    config = ls.config
    if config.restores:
        ls.restore(node)
        ls.recover(node)
    elif config.storage == "buffered":
        ls.buffered_crash(node)
        ls.recover(node)
    else:
        ls.wipe(node)


def _reissued(ls: Lockstep, data: st.DataObject) -> None:
    """The prefix: one or two puts through the key's only coordinator, each delivered
    whole (so that the client may write again); the coordinator's writes lost; one put
    through it again, which mints the first dot again, its messages delivered as drawn."""
    (node,) = ls.entry_nodes("k")
    if ls.config.restores:
        ls.backup(node)  # empty: everything after it is lost by the restore
    for _ in range(data.draw(st.integers(1, 2), label="puts before the loss")):
        ls.put("c1", node, "k")
        _deliver_all(ls)
    _lose(ls, node)
    _put(ls, node, data, "the re-issuing put")


ENTRIES = ("dvv-amnesia-naive-actor", "dvv-buffered-crash-naive-actor",
           "dvv-restore-kept-actor")


def run_walks(name: str, prefix: Callable[[Lockstep, st.DataObject], None] = _reissued,
              max_examples: int | None = None) -> str:
    """Run the lockstep machine of entry ``name`` from ``prefix``; the label its
    counts are under in ``COVERAGE``."""
    label = f"{name} from a re-issued dot"

    # (session 60: without the rebuild, on by default since: the prefix steps the
    # spec's rule before it, a replaced disk counted at once)
    config = DATA_LOSS_CONFIGS[name].replace(rebuild=False)

    class Machine(machine_for(label, config, prefix=prefix)):
        def _progress(self) -> None:
            """Quiescence and the progress check, then: every anti-entropy exchange
            the spec still has is a self-loop (quiescence took each that moves, a
            re-issued dot's too: ``LockstepState.exchange_moves``)."""
            super()._progress()
            state = self.lockstep.frontier[0]
            moving = [action for action, after in spec_model.successors(state)
                      if isinstance(action, AntiEntropy) and after != state]
            assert not moving, f"left after quiescence: {moving}; {self.lockstep.history}"

    run_state_machine_as_test(Machine, settings=settings(
        max_examples=max_examples or examples(10), stateful_step_count=15, phases=SEARCH))
    return label


@pytest.mark.parametrize("name", ENTRIES)
def test_walks_from_a_reissued_dot_refine_the_spec(name: str) -> None:
    """Every step of every walk maps to the spec (or the machine raises), the
    progress check holds at the end, and some exchange of the walks is one between
    replicas holding a re-issued dot (with two values)."""
    label = run_walks(name)
    assert COVERAGE[label]["anti_entropy_reissued"] > 0, dict(COVERAGE[label])
