"""The unheard acknowledgement (session 61, :class:`spec.actions.Unheard`) in lockstep
with the implementation: the harness's chaining client whose put was acknowledged puts
again with the context it held before the put (``Lockstep.unheard``: the library's
caller on ``OutcomeUnknownError``, the forwarder's timeout answering first), and the
implementation's next version is a sibling of the acknowledged one, as the spec's.

Mutant (seen failing, then reverted): ``Lockstep.unheard`` leaving the harness's
client with the answer it did not hear: diverges at the next put (``step 5: put c1 v2
k @n1``: v2 supersedes v1 on the implementation, is its sibling in the spec).
"""

from __future__ import annotations

import pytest

from impl.messages import ReplicaPut, ReplicaPutAck
from model_check.refinement import Divergence, Lockstep
from model_check.suite import entry
from spec.clocks import values

NAME = "dvv-chain-fresh-pair"


def _walk(ls: Lockstep) -> None:
    def deliver(kind: type) -> None:
        ls.deliver(next(m.id for m in ls.deliverable() if isinstance(m.message, kind)))

    ls.put("c1", "n1", "k")  # v1
    deliver(ReplicaPut)
    deliver(ReplicaPutAck)  # v1 acknowledged, its context answered
    ls.unheard("c1")  # ... and not heard
    ls.put("c1", "n1", "k")  # v2, with the context c1 held before v1 (none)


@pytest.mark.parametrize("mutant", [False, True])
def test_a_put_after_an_unheard_acknowledgement(mutant: bool,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    ls = Lockstep(entry(NAME).config)
    try:
        if mutant:
            def keep_answer(self: Lockstep, client: str) -> None:
                answer = self.clients[client].last_get
                original(self, client)
                self.clients[client].last_get = answer

            original = Lockstep.unheard
            monkeypatch.setattr(Lockstep, "unheard", keep_answer)
            with pytest.raises(Divergence, match="step 5: put c1 v2 k @n1"):
                _walk(ls)
            return
        _walk(ls)
        assert ls.state.client("c1").acked == (1,)
        assert sorted(values(ls.state.node("n1").store[0])) == [1, 2]  # siblings
        assert ls.clients["c1"].last_get is None and ls.clients["c1"].unheard == ()
    finally:
        ls.cluster.close()


def test_no_answer_to_miss() -> None:
    """A client with no acknowledged answer it may miss: the step is refused."""
    from model_check.refinement_replay import NotExpressible

    ls = Lockstep(entry(NAME).config)
    try:
        with pytest.raises(NotExpressible, match="c1 holds no answer"):
            ls.unheard("c1")
    finally:
        ls.cluster.close()
