"""Lockstep programs that reach a state a random walk rarely does.

Theory of operation
-------------------
Each scenario is a fixed sequence of :class:`model_check.refinement.Lockstep`
steps (every step checked against the spec, as in the random lockstep) that
leads to a situation whose handling a do-less mutant gets wrong: the kill list
(``tests/refinement/test_mutations.py``) runs it under a mutant and expects a
:class:`~model_check.refinement.Divergence`; ``test_scenarios.py`` runs it on the
real implementation and expects none.
"""

from __future__ import annotations

from collections.abc import Callable

from model_check.refinement import Lockstep
from tests.refinement.configs import LOCKSTEP_CONFIGS

__all__ = ["SCENARIOS", "deliver", "two_stale_replicas"]


def deliver(ls: Lockstep, kind: str, src: str, dest: str) -> None:
    """Deliver the first in-flight message of type ``kind`` from ``src`` to ``dest``."""
    for m in ls.deliverable():
        if type(m.message).__name__ == kind and m.src == src and m.dest == dest:
            ls.deliver(m.id)
            return
    raise LookupError(f"no {kind} {src}->{dest} in flight: "
                      + ", ".join(f"{type(m.message).__name__} {m.src}->{m.dest}"
                                  for m in ls.deliverable()))


def two_stale_replicas() -> Lockstep:
    """strict-dvv: ``c1``'s put reaches n1 and n2, not n3; ``c2``'s concurrent put is
    stored at n3 only; then ``c1`` reads at n1 and hears from n2 and n3. Every
    responder misses a version, so one read repairs two other nodes (and n1 in
    place): read repair must send to both."""
    ls = Lockstep(LOCKSTEP_CONFIGS["strict-dvv"])
    ls.put("c1", "n1", "k")
    deliver(ls, "ReplicaPut", "n1", "n2")
    deliver(ls, "ReplicaPutAck", "n2", "n1")
    ls.put("c2", "n3", "k")
    ls.get("c1", "n1", "k")
    deliver(ls, "ReplicaGet", "n1", "n3")
    deliver(ls, "ReplicaGetReply", "n3", "n1")
    for m in list(ls.deliverable()):
        if type(m.message).__name__ == "ReadRepair":
            ls.deliver(m.id)
    assert ls.verify()
    return ls


#: name -> scenario (runs its steps, returns the lockstep at the end)
SCENARIOS: dict[str, Callable[[], Lockstep]] = {
    "two-stale-replicas": two_stale_replicas,
}
