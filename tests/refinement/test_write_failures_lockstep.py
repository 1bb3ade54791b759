"""A replica's refused write in lockstep with the spec (session 51, issue 12).

The spec's :class:`~spec.actions.FailedWrite` of a ``replica-put`` maps to a
``ReplicaPut`` delivered with its receiver's storage refusing every write of the step
(:meth:`model_check.refinement.Lockstep.failed_write`, :func:`refusing`: the engine
wrapped, as ``tests/impl/test_coordinator_disk_full.py``'s ``_FullDisk`` does); the
implementation's ``ReplicaPutFailed`` (wire 45) maps to the spec's
``replica-put-failed``. The coordinator's own refused write (``FailedPut``) is mapped
since session 52 (tests/refinement/test_failed_put_lockstep.py).

Mutants, each caught: the driver answering a refused write with the ack it held back
(``impl.staging.failed_effects`` sending ``ReplicaPutAck``); the coordinator counting
a ``ReplicaPutFailed`` as an acknowledgement (``PutCoordinator.on_failed`` as
``on_ack``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from impl import staging
from impl.messages import ReplicaPut, ReplicaPutAck, ReplicaPutFailed
from impl.put_coordinator import PutCoordinator
from impl.simulator import InFlight
from model_check.refinement import Divergence, Lockstep
from spec.config import Config

#: W = 3 of 3: a refusal leaves the put out of reach at once
ALL = Config(name="wf-lockstep-w3", w=3, write_failures=1)
#: W = 2: the put is acknowledged by the two others
TWO = Config(name="wf-lockstep-w2", w=2, write_failures=1)


def _one(ls: Lockstep, kind: type, dest: str) -> InFlight:
    return next(m for m in ls.sim.in_flight() if isinstance(m.message, kind) and m.dest == dest)


def _refused_put_fails(ls: Lockstep) -> None:
    ls.put("c1", "n1", "k")
    ls.failed_write(_one(ls, ReplicaPut, "n2").id)
    ls.deliver(_one(ls, ReplicaPutFailed, "n1").id)


def test_a_refused_replica_write_fails_a_put_that_needs_it() -> None:
    """W = 3: n2's storage refuses the ReplicaPut; its ReplicaPutFailed reaches n1,
    which fails the put at once: every step maps (the spec's FailedWrite, then the
    delivery of replica-put-failed), n2 holds nothing, nothing is acknowledged."""
    ls = Lockstep(ALL)
    _refused_put_fails(ls)
    assert ls.cluster.storages["n2"].read(b"k") is None
    assert all(not state.client("c1").acked for state in ls.frontier)
    assert not ls.clients["c1"].acked


def test_a_put_acknowledged_by_the_others_after_a_refusal() -> None:
    """W = 2: n2 refuses, n3 stores and acknowledges: the put is acknowledged by n1 and
    n3, every step in lockstep."""
    ls = Lockstep(TWO)
    ls.put("c1", "n1", "k")
    ls.failed_write(_one(ls, ReplicaPut, "n2").id)
    ls.deliver(_one(ls, ReplicaPutFailed, "n1").id)
    ls.deliver(_one(ls, ReplicaPut, "n3").id)
    ls.deliver(_one(ls, ReplicaPutAck, "n1").id)
    assert ls.clients["c1"].acked and all(s.client("c1").acked == (1,) for s in ls.frontier)
    assert ls.cluster.storages["n2"].read(b"k") is None


def _acking(original: Callable[..., Any]) -> Callable[..., Any]:
    def failed_effects(rest: Any, failed: Any, on_error: Any, taken_back: Any = None,
                       **keywords: Any) -> Any:
        kept = original(rest, failed, on_error, taken_back, **keywords)
        return [type(e)(e.dest, ReplicaPutAck(e.message.op_id, e.message.key, e.message.hint))
                if isinstance(getattr(e, "message", None), ReplicaPutFailed) else e
                for e in kept]
    return failed_effects


def test_a_driver_acknowledging_a_refused_write_diverges(monkeypatch: pytest.MonkeyPatch
                                                         ) -> None:
    """Mutant: the refused write answered by the ack it held back (the implementation
    before session 50 sent nothing; a lie is worse): the refused step diverges."""
    monkeypatch.setattr(staging, "failed_effects", _acking(staging.failed_effects))
    ls = Lockstep(ALL)
    ls.put("c1", "n1", "k")
    with pytest.raises(Divergence, match="refused write ReplicaPut n1->n2"):
        ls.failed_write(_one(ls, ReplicaPut, "n2").id)


def test_a_coordinator_counting_a_refusal_as_an_ack_diverges(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Mutant: ``PutCoordinator.on_failed`` counting the refusal as an ack: with W = 2
    n1 acknowledges the put on n2's refusal, where the spec's coordinator waits for
    n3: the delivery of the refusal diverges."""
    def on_failed(self: PutCoordinator, now: float, src: str,
                  message: ReplicaPutFailed) -> list[Any]:
        return self.on_ack(now, src, ReplicaPutAck(message.op_id, message.key, message.hint))

    monkeypatch.setattr(PutCoordinator, "on_failed", on_failed)
    ls = Lockstep(TWO)
    ls.put("c1", "n1", "k")
    ls.failed_write(_one(ls, ReplicaPut, "n2").id)
    with pytest.raises(Divergence, match="deliver ReplicaPutFailed n2->n1"):
        ls.deliver(_one(ls, ReplicaPutFailed, "n1").id)


#: two clients, W = 2: n1 coordinates c1's put while it refuses c2's replica put
TWO_CLIENTS = Config(name="wf-lockstep-two-clients", w=2, clients=2, write_failures=1)


def test_a_refused_replica_write_keeps_the_nodes_durable_coordinations() -> None:
    """Session 51's review: n1 coordinates c1's put (its own copy written and
    durable), then refuses the replica put of c2's put (coordinated by n2); n2's ack
    of c1's put then reaches W = 2 with n1's own copy: the spec acknowledges it.
    On s51-specdisk the implementation's ``local_write_failed`` took the own ack
    of every unanswered put n1 coordinated, the durable one too (a failed write
    of another put, another input), and waited for n3: the ack's delivery diverged
    (``.clients.c1.acked: spec ["v1"] vs impl []``). Now only a put whose own
    write was not reported durable (:meth:`impl.node.Node.writes_durable`) loses
    its own ack."""
    ls = Lockstep(TWO_CLIENTS)
    ls.put("c1", "n1", "k")
    ls.put("c2", "n2", "k")
    ls.failed_write(next(m.id for m in ls.sim.in_flight() if isinstance(
        m.message, ReplicaPut) and m.src == "n2" and m.dest == "n1"))
    ls.deliver(next(m.id for m in ls.sim.in_flight() if isinstance(
        m.message, ReplicaPut) and m.src == "n1" and m.dest == "n2"))
    ls.deliver(_one(ls, ReplicaPutAck, "n1").id)
    assert ls.clients["c1"].acked and all(s.client("c1").acked == (1,) for s in ls.frontier)
