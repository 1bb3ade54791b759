"""Issue 11, second review (helper rev2): the spec's per-key epochs (kv679, review
bug 3) must keep every key's epoch when another key of the same node is reaped.

Survivor killed: ``reap-drops-other-key-epochs`` (``spec.deletes._reaped`` keeping
only the reaped key's entry of the node, ``e[0] != name`` for ``e[:2] != (name,
key)``) passed tests/model_check/test_deletes.py, test_data_loss_properties.py,
test_review_issue11_spec.py, tests/spec/test_data_loss.py and
tests/refinement/test_deletes.py: they reap one key per node. Under it, n1's
second reap sends the first key back to its epoch-0 actor, so n1 would mint a dot
of that key another replica's unreaped tombstone may already carry (kv679).
"""

from __future__ import annotations

from spec.actions import ClientDelete, ClientGet, ClientPut, Reap
from spec.model import initial_state
from spec.state import State
from tests.model_check.test_deletes import BASE
from tests.spec.test_model import deliver_all, do


def _read_delete(state: State, key: str) -> State:
    state = deliver_all(do(state, ClientGet("c1", "n1", key)))
    return deliver_all(do(state, ClientDelete("c1", "n1", key)))


def test_a_reap_of_one_key_keeps_another_keys_epoch() -> None:
    """n1 coordinated a put and a delete of ``k`` and of ``j``; it reaps ``k`` and
    then ``j``: each key has its own epoch 1, and ``k`` stays under ``n1~0.1``
    (the mutant: key_epochs {(n1, j, 1)}, ``k`` back under ``n1``)."""
    config = BASE.replace(keys=("k", "j"), drops=0, read_modify_write=False,
                          puts_per_client=2, deletes_per_client=2)
    state = initial_state(config)
    for key in ("k", "j"):
        state = deliver_all(do(state, ClientPut("c1", "n1", key)))
    state = _read_delete(_read_delete(state, "k"), "j")
    state = do(state, Reap("k", ("n1",)))
    state = do(state, Reap("j", ("n1",)))
    assert state.key_epochs == frozenset({("n1", "k", 1), ("n1", "j", 1)})
    assert state.actor("n1", "k") == state.actor("n1", "j") == "n1~0.1"
    assert state.actor("n1") == "n1"
