"""Hypothesis profiles shared by the whole suite.

- ``ci``: derandomized, bounded examples; chosen automatically when ``CI`` is set
  (``.ci/run`` sets it), so a CI failure reproduces exactly.
- ``dev``: the default on a developer's machine: a little more, still quick.
- ``soak``: long runs for finding rare interleavings (``HYPOTHESIS_PROFILE=soak``).
- ``mutation``: ``ci`` without shrinking (``make mutation``): a mutant is killed by
  the first failing example; shrinking it would only cost time.

Tests that want more or fewer examples than the profile scale them with
:func:`examples` rather than hard-coding ``max_examples``.

What ``soak`` checks beyond ``ci`` (read :data:`PROFILE`; CI must stay under 10
minutes on 2 cores; each moved check is still killed in CI by a cheaper one,
docs/model-checking.md "What CI leaves to the soak profile" and "Where CI's test CPU
goes (session 15)", "(session 16)" and "(session 17)"): the three largest suite
entries' whole searches and symmetry on/off above 3,000 states
(tests/model_check/test_suite_verdicts.py); POR on six larger entries (test_por.py);
every edge of every conformance entry (CI: every edge of a twenty-fourth of the sources of
``FULL_IN_CI`` since session 43, a third until session 20, a sixth until 42, a twelfth in 42; 40
sampled edges of the others;
tests/refinement/test_conformance.py); trace validation with membership on seeds
0-999 (CI: 8 chosen seeds per setting, tests/refinement/test_trace_membership.py);
the reap-after-change mutant on every scenario (CI: the leave,
tests/impl/test_reap_after_change.py); every edge of every suite configuration
against the Z3 encoding (tests/model_check/test_proof_agreement.py); trace
validation's seed sweep on seeds 0-999 (CI: the 8 seeds of ``CI_SEEDS``,
tests/refinement/test_trace_validation.py); the hostile-peer message search with
2,000 examples (CI: 40, tests/impl/test_internal_errors.py); the merkle-one-way
detour test on every anti-entropy edge of disk-loss-w2 (CI: a seeded 300 of the
2,154, tests/refinement/test_conformance_paths.py; session 16); the delete
configurations' seeded lockstep walks on seeds 0-2,999 (CI: 0-19, ``WALKS_IN_CI``,
tests/refinement/test_deletes.py; session 17); the random lockstep runs that killed
four mutants before session 19 (CI: a scenario each, ``RANDOM_KILLERS_IN_SOAK`` of
tests/refinement/test_mutations.py); the claimant race on seeds 4-10 (CI: 1-3,
``SEEDS_IN_CI`` of tests/impl/test_claimant.py; 1 and 3 too since session 42), the
overlapping changes' seed 2 under strategies 1 and 2 (CI: seed 1, and seed 2 under strategy 3,
tests/impl/test_join_strategy3.py) and the tombstone nemesis on seeds 1, 2, 7 and 8
(CI: 3-6, tests/impl/test_reap_outside_top_n.py; session 19); the symmetry cache's
agreement on lww-two-clients' whole graph and 1,500-2,000 states of the others (CI:
500 states of each, ``AGREEMENT`` of tests/spec/test_symmetry.py; session 20);
the store-level supersession check on delete-immediate's 128,103 states (CI:
delete-safe's 12,837, ``SUPERSEDED`` of tests/model_check/test_reap_encoding.py;
session 27);
``--por-savings`` on strict-dvv (CI: on dvv-context-collapses, ``CLI_SAVINGS`` of
tests/model_check/test_por.py) and clone against replay on 100 edges of disk-loss-w2
(CI: 60 other edges of it with detours, tests/refinement/test_conformance_paths.py;
session 25); the data-loss probe's clean lww history 103 (CI: the clean histories
101, 102 and 104 and lww's 106, ``CLEAN_SOAK_ONLY`` of tests/impl/test_data_loss_probe.py;
session 37) and the stale-copy search of delete-join-pending (CI: delete-join-immediate's,
``STALE_COPY_IN_CI`` of tests/spec/test_late_transfer.py; session 37); the get's encoded
answer against the spec's on delete-safe (CI: on delete-concurrent-put, ``SOAK_AGREEMENT``
of tests/model_check/test_get_answer.py), the data-loss probe's clean dvv history 101
(CI: 121's and 112's default runs, ``CLEAN_SOAK_ONLY``), the Z3 edges of two states
in three of delete-safe's graph (CI: every third, ``EVERY_IN_CI`` of
tests/model_check/test_proof_agreement.py; the suite sample there walks 500 states of
each entry, ``SAMPLE_IN_CI``, soak every edge), the pruning entries' Z3 edges beyond
their first 1,500 states (``PREFIX`` of tests/model_check/test_proof_pruning.py, 3,000
before) and the w = 1 resurrection graph beyond 7 steps (``SHALLOW_IN_CI`` of
tests/model_check/test_proof_pruning_resurrection.py; session 41); the join and
leave scenarios under strategies 1 and 2 and the overlapping write under strategy 2
(CI: strategy 3, ``HANDOVER_IN_CI``, and strategy 1 of tests/impl/test_join_strategy3.py),
the outsider's only-copy and restart scenarios under lww (CI: dvv, ``CASES`` of
tests/impl/test_outsider_copy_review.py, and tests/impl/test_outsider_copy.py), the
missed tombstone's 3-node cut (CI: the 5-node cut, tests/impl/test_reap_missed_tombstone.py),
the truncation probe's false-sibling seed 9 (CI: 32, ``FALSE_SIBLING_SEEDS``), the
restored live copy's seeds 2 and 3 (CI: 1, ``LIVE_COPY_SEEDS`` of
tests/impl/test_restore_after_reap.py), the disk-replacement probes' seed 2 (CI: 1,
``WIPE_SEEDS`` of tests/impl/test_wiped_node_reads.py), five client-counter floor
tests' seeds beyond 1 (``FIRST_SEED_IN_CI`` of tests/impl/test_client_counter_reap.py),
the tombstone nemesis' seeds 3 and 4 (CI: 5 and 6) and the claimant race's seeds 1
and 3 (CI: 2, ``SEEDS_IN_CI``; session 42). Session 43's moves (each with the CI
twin or killer it keeps): docs/model-checking.md, the five "Where CI's test time goes
(session 43)" sections: clock-blind scenarios under one clock in CI (test_double_faults,
test_leave_and_remove_at_once, test_join_during_removal, test_force_remove,
test_read_repair_primaries, test_quiet_waits_for_leave), two of the four held-answer
pairings (tests/runtime/test_http_unread_answer_memory.py), strict-dvv-reread's
simulation, four memo graph comparisons, two POR entries, symmetry on/off of one-client
entries (the identity), leave-pending's search past 10,000 states, the bare-name actor
mutant's second entry, prune-delete-disk-loss-w1's Z3 agreement past its first 3,000
states, and 23 of the 26 relation kinds of tests/model_check/test_proof_terms.py.
Session 45's moves (docs/model-checking.md, "Where CI's test time goes (session 45):
the refinement's replay"): every edge of the restore entries beyond a sixth of their
sources (tests/refinement/test_restore.py) and the learnt entry's conformance sample
beyond 200 edges (tests/refinement/test_learnt_lockstep.py; its mutant test keeps 400).
Session 46's: the two-coordinator kept-actor variant's swap exchanges beyond every 16th
(``SWAP_EVERY`` of tests/refinement/test_reissued_dot_exchange.py: 16 of 251 in CI;
docs/refinement.md, "A review of the actor mapping (session 46, review)").
Session 47's: the naive actor with deletes' whole graphs, with detours (CI: 150
sampled edges of each ``delete_mode``, shortest paths, ``SAMPLE_IN_CI`` of
tests/refinement/test_reissued_dot_tombstones.py; its reap test checks every reap of
the safe graph), and the walks from a re-issued dot at 50x (examples(10),
tests/refinement/test_reissued_dot_walks.py; docs/refinement.md, "Tombstones under a
re-issued dot, and walks that reach the exchange (session 47)").
"""

from __future__ import annotations

import gc
import logging
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, settings

from model_check.explorer import GC_THRESHOLD
from vdynamo.cluster_cli import PORT_RANGE_VARIABLE, _port_range

_SLOW_OK = [HealthCheck.too_slow, HealthCheck.data_too_large]

settings.register_profile(
    "ci", derandomize=True, max_examples=60, deadline=None, print_blob=True,
    suppress_health_check=_SLOW_OK,
)
settings.register_profile(
    "dev", max_examples=100, deadline=None, print_blob=True, suppress_health_check=_SLOW_OK,
)
settings.register_profile(
    "mutation", derandomize=True, max_examples=60, deadline=None, database=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate], suppress_health_check=_SLOW_OK,
)
settings.register_profile(
    "soak", max_examples=5_000, deadline=None, print_blob=True,
    suppress_health_check=_SLOW_OK,
)

PROFILE = os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") else "dev")
settings.load_profile(PROFILE)


#: ``VDYNAMO_TEST_GC=default`` keeps Python's collector thresholds (a measurement's
#: "before"); otherwise the session runs under :data:`GC_THRESHOLD` (below)
TEST_GC = os.environ.get("VDYNAMO_TEST_GC", "tuned")


def pytest_configure(config: pytest.Config) -> None:
    """The cyclic collector's thresholds of a model-checking search
    (model_check.explorer.GC_THRESHOLD) for the whole session, in each xdist worker.
    The suite builds state graphs of up to 200,000 states and their edges (acyclic
    tuples, kept): under the default (700, 10, 10) each young collection traces
    them, and each full one every object the session keeps (session 14, one
    process: a whole reachable_graph of join-pending 11.7 CPU-s default, 9.1 tuned;
    98 tests of the costliest files 315 -> 288 CPU-s; docs/model-checking.md,
    "Where CI's test CPU goes"). Cycles are still collected, later."""
    if TEST_GC != "default":
        gc.set_threshold(*GC_THRESHOLD)
    _child_bytecode_cache()
    _temp_root_in_memory(config)
    _port_slice_per_worker()


def _port_slice_per_worker() -> None:
    """Each xdist worker picks its nodes' ports from a slice of its own
    (``VDYNAMO_PORT_RANGE``, read by ``vdynamo.cluster_cli._free_ports``, inherited by
    the ``vdynamo`` processes a test starts). From one shared range a worker could
    pick the port of another worker's node while that node was down for a restart,
    and the restart failed "address already in use" (session 57's CI run:
    tests/runtime/test_lowered_value_limit.py, n3 on 127.0.0.1:22174). Nothing is
    set outside xdist, when the variable is already set, or when the range is
    unknown."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    count = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "0") or 0)
    if not worker.startswith("gw") or count < 1 or os.environ.get(PORT_RANGE_VARIABLE):
        return
    low, high = _port_range()
    width = (high - low) // count
    if width < 2_000:
        return
    start = low + int(worker[2:]) % count * width
    os.environ[PORT_RANGE_VARIABLE] = f"{start}-{start + width}"


def _child_bytecode_cache() -> None:
    """Under ``PYTHONDONTWRITEBYTECODE`` (set on the project's test machine) every
    Python process a test starts (a ``vdynamo serve`` node, a ``vdynamo`` CLI run)
    compiled the modules it imports again: about 0.35 of its 0.85 CPU-s of start
    (session 20; the suite starts a few hundred). Such children now keep their
    bytecode under ``PYTHONPYCACHEPREFIX`` in a directory of this user's in the temp
    directory (nothing is written in the source tree, as the variable intended), so
    only the first start compiles. Nothing changes when the variable is not set
    (the children then use the ``__pycache__`` the test process wrote), when a
    prefix is already chosen, or when the directory exists and is not this user's
    alone (a cache another user could write is not read)."""
    if not os.environ.get("PYTHONDONTWRITEBYTECODE") or os.environ.get("PYTHONPYCACHEPREFIX"):
        return
    cache = Path(tempfile.gettempdir()) / f"vdynamo-test-pycache-{os.getuid()}"
    try:
        cache.mkdir(mode=0o700, exist_ok=True)
        info = cache.lstat()
    except OSError:
        return
    if not cache.is_dir() or cache.is_symlink() or info.st_uid != os.getuid() or \
            info.st_mode & 0o077:
        return
    os.environ["PYTHONPYCACHEPREFIX"] = str(cache)
    del os.environ["PYTHONDONTWRITEBYTECODE"]


#: where :func:`_temp_root_in_memory` puts the tests' ``tmp_path`` directories
MEMORY_TEMP_ROOT = Path("/dev/shm")


def _temp_root_in_memory(config: pytest.Config) -> None:
    """The tests' ``tmp_path`` directories on tmpfs (``/dev/shm``), not the disk: the
    nodes the tests start keep SQLite stores there with ``fsync = "always"`` (the
    default), and on a disk each new store's first commits waited for the disk
    (session 20: 65 ms of I/O wait to open one; tests/runtime/test_malformed_http.py,
    54 in-process three-node clusters, 27.2 s of wall without, 13.6 s with, 6.3 and
    5.2 CPU-s). The same code runs (an fsync on tmpfs returns at once); no test's
    scenario is about a real disk's durability: the kill -9 tests kill processes,
    whose writes the kernel keeps, and tests/runtime/test_group_commit.py slows its
    commits itself (``slow-disk``). Not done when ``--basetemp`` or
    ``PYTEST_DEBUG_TEMPROOT`` chooses the place, when ``VDYNAMO_TEST_TMP=disk``, or
    when ``/dev/shm`` is not a writable directory (pytest's default then)."""
    if (config.option.basetemp or os.environ.get("PYTEST_DEBUG_TEMPROOT")
            or os.environ.get("VDYNAMO_TEST_TMP") == "disk"):
        return
    if MEMORY_TEMP_ROOT.is_dir() and os.access(MEMORY_TEMP_ROOT, os.W_OK | os.X_OK):
        os.environ["PYTEST_DEBUG_TEMPROOT"] = str(MEMORY_TEMP_ROOT)


def pytest_collection_finish(session: pytest.Session) -> None:
    """After collection, the collected modules and test items are moved out of the
    collector's generations (``gc.freeze``): never garbage, no longer traced by each
    full collection."""
    if TEST_GC != "default":
        gc.collect()
        gc.freeze()


@pytest.fixture(scope="session")
def run_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The directory this test run's xdist workers share (tests/run_cache.py: one
    verdict search per suite entry per run)."""
    from tests.run_cache import run_cache_dir

    return run_cache_dir(tmp_path_factory)


def examples(base: int) -> int:
    """Scale an example count to the active profile (ci and dev: base; soak: 50x)."""
    return base * 50 if PROFILE == "soak" else base


class InternalErrors(logging.Handler):
    """Collects the ERROR records of ``vdynamo.internal`` (a node's bug while handling
    a valid message from a peer, see ``impl.node.Node.receive``)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def take(self) -> list[logging.LogRecord]:
        """The records so far, forgotten (a test that expects internal errors)."""
        records, self.records = self.records, []
        return records


@pytest.fixture(autouse=True)
def internal_errors() -> Iterator[InternalErrors]:
    """Every test fails when a node logged an internal error it did not take."""
    handler = InternalErrors()
    logger = logging.getLogger("vdynamo.internal")
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
    if handler.records:
        pytest.fail("internal error while handling a peer message: "
                    + "; ".join(r.getMessage() for r in handler.records), pytrace=False)
