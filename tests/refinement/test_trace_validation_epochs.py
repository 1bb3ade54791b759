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
