"""The parallel search on Ray: ``vdynamo check --ray ADDRESS``.

Theory of operation
-------------------
:mod:`model_check.parallel` runs its workers as forked processes of one machine;
here each worker is a Ray actor (https://docs.ray.io, an existing distributed
engine, not a home-made one), placed by Ray on any node of the cluster at
``address`` (``"local"`` starts a private one-machine cluster; an address such as
``127.0.0.1:6379`` joins one started with ``ray start --head``). The
coordinating process is the same (:func:`model_check.parallel.coordinate`):
level by level, fingerprints and (parent, ordinal) links cross the network, and
each new state goes to the actor that owns its fingerprint, which checks it and
expands it at the next level (the frontier is partitioned as the seen-set is);
the distinct states, verdicts and counterexample lengths are those of one
process.

Fingerprints are :func:`~model_check.fingerprint.stable_fingerprint` (a digest
of ``repr``), computed only by the actors; every actor runs with
``PYTHONHASHSEED=0`` so that the ``repr`` of a set of strings lists its
elements in the same order in every actor. The model and the predicates are
shipped to the actors with Ray's serializer (cloudpickle); every node must be
able to import ``vdynamo``'s packages (the same checkout or install: the actors
get the coordinator's source folder on ``PYTHONPATH``).

Ray is an optional dependency: ``pip install 'vdynamo[distributed]'``;
:func:`explore_ray` raises :class:`~model_check.errors.CheckError` when it is
missing.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from model_check.errors import CheckError
from model_check.explorer import Exploration, Progress
from model_check.fingerprint import stable_fingerprint
from model_check.parallel import Call, _Worker, coordinate

__all__ = ["explore_ray"]

S = TypeVar("S", bound=Hashable)
A = TypeVar("A")

ROOT = str(Path(__file__).resolve().parent.parent)


class _Actor:
    """A Ray actor holding one :class:`~model_check.parallel._Worker`."""

    def __init__(self, worker: _Worker) -> None:
        self.worker = worker

    def call(self, command: str, argument: Any) -> Any:
        return self.worker.call(command, argument)


def explore_ray(
    address: str,
    initial_states: Iterable[S],
    successors: Callable[[S], Iterable[tuple[A, S]]],
    invariants: Mapping[str, Callable[[S], bool]] | None = None,
    canonicalize: Callable[[S], S] | None = None,
    *,
    workers: int = 2,
    graph_edges: Callable[[A], bool] | None = None,
    marker: Callable[[S], bool] | None = None,
    stop_when_violated: bool = True,
    witnesses: Mapping[str, Callable[[S], bool]] | None = None,
    step_witnesses: Mapping[str, Callable[[S, A, S], bool]] | None = None,
    progress: Callable[[Progress], None] | None = None,
) -> Exploration[S, A]:
    """Explore like :func:`model_check.parallel.explore_parallel` with ``workers`` Ray
    actors on the cluster at ``address`` (``"local"``: a private local cluster, shut down
    afterwards). Raises :class:`~model_check.errors.CheckError` when Ray is not installed,
    for ``workers < 1``, or when the cluster cannot be reached."""
    try:
        import ray  # type: ignore[import-not-found, unused-ignore]
    except ImportError as error:
        raise CheckError("--ray needs Ray: pip install 'vdynamo[distributed]'") from error
    if workers < 1:
        raise CheckError(f"workers must be >= 1, got {workers}")
    started_here = not ray.is_initialized()
    if started_here:
        try:
            ray.init(address=address, include_dashboard=False, log_to_driver=False,
                     runtime_env={"env_vars": {"PYTHONHASHSEED": "0", "PYTHONPATH": ROOT}})
        except (ConnectionError, RuntimeError, ValueError) as error:
            raise CheckError(f"cannot reach the Ray cluster at {address!r}: {error}") from error
    try:
        remote = ray.remote(num_cpus=0)(_Actor)
        checks = dict(invariants or {})
        actors = [
            remote.remote(_Worker(number, workers, successors, canonicalize, checks,
                                  dict(witnesses or {}), dict(step_witnesses or {}),
                                  graph_edges, marker, stable_fingerprint))
            for number in range(workers)
        ]

        def send(actor: Any) -> Call:
            def call(command: str, argument: Any) -> Callable[[], Any]:
                reference = actor.call.remote(command, argument)
                return lambda: ray.get(reference)
            return call

        return coordinate([send(actor) for actor in actors], list(initial_states), successors,
                          len(checks), with_graph=graph_edges is not None,
                          stop_when_violated=stop_when_violated, progress=progress)
    finally:
        if started_here:
            ray.shutdown()
