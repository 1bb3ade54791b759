"""A duplicated answer of a coordination that ended is dead, as the spec purges it
(session 37, :meth:`model_check.refinement.Lockstep._purge_ended`).

A put of N = W = 2 ends at its last ack: the impl no longer lists it, so the other
copy of a duplicated ack stayed mapped while the spec (``spec.step.Edit.purge``)
had dropped it: dvv-prune-retired with ``duplicates = 1`` diverged on 4 of walks
1950-1969 (1961: ``.messages: spec [] vs impl [replica-put-ack n2->n1]``),
dvv-prune-learnt on 13 of 1950-1999 (1967). Mutant killed: ``_purge_ended``
returning at once (both walks diverge)."""

from __future__ import annotations

import dataclasses

import pytest

from model_check.suite import DEFAULT_SUITE
from tests.refinement.walks import walk


@pytest.mark.parametrize(("entry", "seed"), [("dvv-prune-retired", 1961),
                                             ("dvv-prune-learnt", 1967)])
def test_a_duplicated_ack_of_an_ended_put_maps_to_nothing(entry: str, seed: int) -> None:
    config = next(e for e in DEFAULT_SUITE if e.name == entry).config
    ls = walk(dataclasses.replace(config, duplicates=1), seed)
    assert any(step.startswith("duplicate ReplicaPutAck") for step in ls.history)
