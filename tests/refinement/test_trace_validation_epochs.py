"""Trace validation with actor epochs (session 58): ``validate_seed(seed,
actor_epochs=True)``, against ``trace_config(actor_epochs=True)``. Every storage
lifetime mints under an actor of its own in both the implementation (its default,
``impl.versions.lifetime_actor``) and the spec (``features.actor_epochs``;
``actor_per_start = false`` in both), so a replaced disk does not mint a dot again.
Session 34 tried it and saw 32 of 60 seeds diverge at the first puts ("the actor
abstraction under trace validation's own timing is not mapped"). The cause was the
validator's actor names: the lockstep's constructor named the actors of its own
cluster, which the validator replaces, so each actor of the run's cluster was taken
for a second lifetime (``n2~1`` where the spec has ``n2``).
:meth:`model_check.trace_validation.TraceValidator._name_actors_afresh` names them
again (docs/refinement.md, "Trace validation, the repeated dot (session 58)").
"""

from __future__ import annotations

import pytest

from model_check.trace_events import TraceEvents
from model_check.trace_validation import TraceValidator, validate_seed

#: rebuild-mix seeds: 811 diverged under ``actor_epochs = false`` until session 58 (a
#: dot minted twice); 25 diverged at its first put under session 34's naming
SEEDS = (25, 811)


def test_the_rebuild_mix_validates_with_actor_epochs(monkeypatch: pytest.MonkeyPatch) -> None:
    """Seeds 25 and 811 of the rebuild mix validate with actor epochs. Mutant: the
    actors named as the lockstep's constructor left them (``_name_actors_afresh`` a
    no-op): seed 25 diverges at event 19, ``put c1 #1 @n2``, with the implementation's
    dot ``n2~1:1`` where the spec has ``n2:1``."""
    for seed in SEEDS:
        report = validate_seed(seed, rebuilds=True, actor_epochs=True)
        assert report.verdict == "ok", report.line()
    monkeypatch.setattr(TraceValidator, "_name_actors_afresh", lambda self: None)
    report = validate_seed(25, rebuilds=True, actor_epochs=True)
    assert report.verdict == "divergence", report.line()
    assert "put c1 #1 @n2" in report.reason.splitlines()[0]


@pytest.mark.parametrize("mutant", ["no-step", "every-restart"])
def test_a_replaced_disk_restarted_before_it_was_told_begins_a_new_lifetime(
        mutant: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Rebuild seeds 474 and 747 validate with actor epochs through the trace-spec
    step ``new-lifetime`` (:func:`model_check.trace_spec.new_lifetime`). A replaced
    disk restarted before a peer named its renewed start takes a new actor at that
    restart (``impl.node.Node.__init__``: ``per_start = ... or (self._fresh and
    marked)``), where the spec's crash keeps the lifetime under ``actor_per_start =
    false``. The step is offered only at a restart where the implementation's node
    took a new actor (``TraceEvents._new_actor_at_restart``). The mutants:
    ``no-step`` (never offered, the validator before it): 747 diverges at event 242,
    ``put c1 #3 @n2`` (the implementation mints ``n2~2:1``, the spec ``n2~1:1``; 474
    at event 405); ``every-restart`` (the guard dropped, offered at every restart):
    474 diverges at event 76, ``put c2 #5 @n2``, after a plain restart of n2 that
    kept its actor (the spec, one lifetime ahead, mints ``n2~1``)."""
    if mutant == "no-step":
        for seed in (474, 747):
            report = validate_seed(seed, rebuilds=True, actor_epochs=True)
            assert report.verdict == "ok", report.line()
            assert report.trace_steps["new-lifetime"] >= 1, report.line()
        monkeypatch.setattr(TraceEvents, "_new_actor_at_restart", lambda self, name: False)
        seed, where = 747, "put c1 #3 @n2"
    else:
        monkeypatch.setattr(TraceEvents, "_new_actor_at_restart",
                            lambda self, name: bool(self.config.actor_epochs))
        seed, where = 474, "put c2 #5 @n2"
    report = validate_seed(seed, rebuilds=True, actor_epochs=True)
    assert report.verdict == "divergence", report.line()
    assert where in report.reason.splitlines()[0]
