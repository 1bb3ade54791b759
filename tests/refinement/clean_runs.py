"""Each seed's clean trace-validation run, once per test process.

The mutant tests of tests/refinement/test_trace_validation.py and
test_trace_membership.py first require their seed to validate clean without the
mutant, then run it under the mutant; most of those seeds are also among the CI
seeds their file's sweep validates (seeds 0, 4, 8, 9 and 11 of the plain swarm:
all eleven kill tests since session 35; joins 1 and 22, the naive leave 10), and a run is
deterministic in its seed and configuration (``test_a_seed_reproduces``). So a
clean run is kept here by (seed, configuration) and read again instead of run
again: the same report, the same assertions (docs/model-checking.md, "Where CI's
test time goes (session 25)").

Only for runs with no mutant active: call :func:`clean_report` outside any
mutant's context (a sweep, a kill test's clean check), never inside one. Under
xdist a worker that did not run the sweep runs the seed itself; a run that raises
is not kept.
"""

from __future__ import annotations

import copy

from model_check.trace_swarm import SeedReport
from model_check.trace_validation import trace_config, validate_seed
from spec.config import Config

__all__ = ["clean_report"]

_KEPT: dict[tuple[int, Config], SeedReport] = {}


def clean_report(seed: int, config: Config | None = None) -> SeedReport:
    """``validate_seed(seed, config=config)`` (``config``: the plain trace
    configuration, :func:`~model_check.trace_validation.trace_config`, when None),
    run once per process and kept; each caller gets its own deep copy (a test that
    changes its report changes no other test's), and no mutant may be active."""
    key = (seed, config if config is not None else trace_config())
    if key not in _KEPT:
        _KEPT[key] = validate_seed(seed, config=key[1])
    return copy.deepcopy(_KEPT[key])
