"""The lockstep's progress check after a naive actor re-issued a dot (session 33).

``dvv-amnesia-naive-actor`` (dvv, anti-entropy on, ``actor_epochs = false``): v1 is
stored on every replica under (n3, 1); n3 loses its disk and mints (n3, 1) again
for v2, which n1 and n2 acknowledge without storing (they hold v1 under that dot).
One dot then holds two values on two replicas, and no anti-entropy exchange, the
spec's or the implementation's, reconciles them: the spec's convergence needs a
later write of n3's past the dot (the client's next put), which quiescence does
not make. The random lockstep
(``test_issue_10_faults_refine_the_spec[dvv-amnesia-naive-actor]``) failed on such
states (dev profile once; soak profile, seed 5): its teardown asserted that the
implementation converges whenever anti-entropy is on. Now it asks the spec
(``LockstepState.spec_can_converge``). docs/refinement.md, "Progress after a
re-issued dot (session 33)".
"""

from __future__ import annotations

import dataclasses
from collections import deque

import pytest

from model_check.refinement import Lockstep
from spec import model as spec_model
from spec.actions import Action, AntiEntropy, DiskLoss, Recover
from spec.state import State
from tests.refinement.configs import DATA_LOSS_CONFIGS, LOCKSTEP_CONFIGS
from tests.refinement.machine import check_progress

#: the naive-actor entry without the rebuild (session 60: the rebuild is on by default
#: since; these scripts step the spec's rule before it, a replaced disk counted at once)
NAIVE_NO_REBUILD = DATA_LOSS_CONFIGS["dvv-amnesia-naive-actor"].replace(rebuild=False)


def _put_at_n3(ls: Lockstep) -> None:
    ls.put("c1", "n3", "k")
    while ls.deliverable():
        ls.deliver(ls.deliverable()[0].id)


def _reissued_dot(before: int, after: int, disk_losses: int = 1) -> Lockstep:
    """``before`` puts at n3, every message delivered; n3's disk wiped; ``after``
    puts at n3, every message delivered: the first of them under (n3, 1) again."""
    config = NAIVE_NO_REBUILD
    # four puts and the entry's get (three puts since session 59): the scripts below
    # need a put left after theirs, and since session 59 a get before it (the
    # spec's convergence: a blind put past the unread (n3, 1) takes a pair or a
    # fresh pair, not (n3, 2); one with the get's context does)
    ls = Lockstep(dataclasses.replace(config, disk_losses=disk_losses, puts_per_client=4))
    assert ls.entry_nodes("k") == ["n3"]
    for _ in range(before):
        _put_at_n3(ls)
    ls.wipe("n3")
    for _ in range(after):
        _put_at_n3(ls)
    return ls


def _stores(ls: Lockstep) -> dict[str, str]:
    nodes = ls.abstract().readable(ls.config)["nodes"]
    return {name: node["store"]["k"] for name, node in nodes.items()}


#: (puts before the wipe, puts after it) -> the stores the run ends with: the dev
#: profile's failure (session 33), a variant, and the soak profile's seed 5, shrunk
#: (its n3 {v3} until session 46: quiescence now takes the exchanges of replicas
#: holding the re-issued dot where the spec's moves something, here v2, held under
#: (n3 c1, 1) by n1 and n2, to n3; docs/refinement.md, "The actor entries'
#: unmapped edges (session 46)")
ENDS = {
    (1, 2): {"n1": "{v1, v3}", "n2": "{v1, v3}", "n3": "{v2, v3}"},
    (1, 1): {"n1": "{v1}", "n2": "{v1}", "n3": "{v2}"},
    (2, 1): {"n1": "{v1, v2}", "n2": "{v1, v2}", "n3": "{v3, v2}"},
}


@pytest.mark.parametrize(("before", "after"), list(ENDS))
def test_a_reissued_dot_no_exchange_reconciles_passes_the_progress_check(
        before: int, after: int) -> None:
    ls = _reissued_dot(before, after)
    try:
        check_progress(ls)  # the old check raised: "the spec converges once faults stop"
        assert _stores(ls) == ENDS[before, after]
        assert not ls.converged()
        assert not spec_model.converged(ls.frontier[0])
        assert not ls.spec_can_converge()
        # the spec's exchanges are enabled (the payloads differ); the replicas differ
        # in the re-issued dot alone, so they change nothing (session 46: quiescence
        # took the others, mapped; before, (2, 1) ended with one that moved v2 untaken)
        state = ls.frontier[0]
        exchanges = [reached for action, reached in spec_model.successors(state)
                     if isinstance(action, AntiEntropy)]
        assert len(exchanges) == 2
        assert all(reached == state for reached in exchanges)
        # the spec's convergence property (faults stopped, requests allowed) still
        # holds: a get, then a put of n3's with its context past (n3, 1) ends the
        # collision (and a value held under it, kv679)
        assert _converges_with_requests(state)
    finally:
        ls.cluster.close()


def _converges_with_requests(state: State) -> bool:
    """Whether the spec reaches a converged state from ``state`` by steps that are not
    faults, client requests included (the ``convergence`` property's EF)."""
    seen, queue = {state}, deque([state])
    while queue:
        for action, after in spec_model.successors(queue.popleft()):
            if spec_model.is_fault(action) or after in seen:
                continue
            if spec_model.converged(after):
                return True
            seen.add(after)
            queue.append(after)
    return False


def test_faults_are_not_a_way_to_converge() -> None:
    """With two more disk losses in the budget the spec converges through faults (n1
    and n2 lose theirs, then exchanges give them n3's {v2}); the promise is of the
    runs without faults, so the check still passes."""
    ls = _reissued_dot(1, 1, disk_losses=3)
    try:
        check_progress(ls)
        assert not ls.spec_can_converge()
        state = ls.frontier[0]
        for node in ("n1", "n2"):
            state = _after(state, DiskLoss(node))
            state = _after(state, Recover(node))
            state = _after(state, AntiEntropy("n3", node, "k"))
        assert spec_model.converged(state)
    finally:
        ls.cluster.close()


def _after(state: State, action: Action) -> State:
    return next(reached for taken, reached in spec_model.successors(state) if taken == action)


def test_the_progress_check_still_fails_a_do_less_implementation(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Where the spec can still converge, an implementation left apart fails it: two
    concurrent puts on sloppy-dvv's replicas, and a quiescence that does nothing."""
    monkeypatch.setattr(Lockstep, "quiesce", lambda self, limit=400: 0)
    ls = Lockstep(LOCKSTEP_CONFIGS["sloppy-dvv"])
    try:
        a, b = ls.entry_nodes("k")[:2]
        ls.put("c1", a, "k")
        ls.put("c2", b, "k")
        assert ls.spec_can_converge()
        assert ls.spec_can_converge(limit=1)  # a search cut short: the strict answer
        with pytest.raises(AssertionError, match="the spec still converges"):
            check_progress(ls)
    finally:
        ls.cluster.close()
