"""The lockstep maps the spec's BufferedCrash only to a crash of a buffered engine
that flushed nothing (model_check.refinement_state.buffered_crash_enabled).

The suite's buffered entries have a crash budget of 1, so after a plain crash (which
the harness precedes with a flush) no BufferedCrash is left to take and the guard
on ``flushed`` is never decisive there: a mutant dropping it survived every
lockstep, conformance and replay test. This test gives the same entry a budget of
2, where it is decisive.
"""

from __future__ import annotations

import dataclasses

import pytest

from model_check.refinement import Lockstep
from spec.errors import InvalidValueError
from tests.refinement.configs import DATA_LOSS_CONFIGS


def test_no_buffered_crash_is_mapped_once_a_plain_crash_flushed_the_engine() -> None:
    config = dataclasses.replace(DATA_LOSS_CONFIGS["dvv-buffered-crash-actor-epochs"],
                                 crashes=2)
    ls = Lockstep(config)
    ls.put("c1", "n3", "k")  # coordinator "first": the key's first node
    ls.quiesce()
    assert ls.verify()
    assert ls.buffered_crash_enabled("n3")  # nothing flushed yet: the spec's worst case
    ls.crash("n3")  # a plain crash: the harness flushes first, the write survives
    ls.recover("n3")
    assert ls.verify()
    assert len(ls.cluster.storages["n3"]) == 1, "the flushed write was lost"
    # the spec's BufferedCrash would lose that write, the engine would not: unmapped
    assert not ls.buffered_crash_enabled("n3")
    with pytest.raises(InvalidValueError, match="flushed"):
        ls.buffered_crash("n3")
