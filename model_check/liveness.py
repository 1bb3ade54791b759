"""Liveness over the explored state graph: AG EF target, over a subset of the edges.

Theory of operation
-------------------
``convergence`` asks: from every reachable state, once faults stop, can the
system still reach a converged state? In CTL that is ``AG EF converged`` where
the EF path uses fault-free steps only (faults may have happened before).

The explorer records the fault-free edges of the (symmetry-reduced) state
graph as two uint32 arrays and marks the converged states
(:class:`~model_check.explorer.StateGraph`). :func:`can_reach` computes, by
backward breadth-first search from the marked states over the reversed edges,
the set of states that can reach one; every other state is *stuck*. The graph
is array-backed (a CSR index of predecessors, built by sorting the edges as
``target << 32 | source`` keys in place), so it
scales to millions of states where a ``networkx`` graph would not; the tests
check it against ``networkx`` on random graphs.

With a bounded search some states were not (fully) expanded: they are *open*
and count as able to reach the target, because their unexplored successors
might. A state reported stuck is then stuck for certain: everything it reaches
over recorded edges was fully expanded and none of it is converged.

Symmetry reduction is sound here when the target and the edge filter are
invariant under the symmetry (they are for ``converged`` and ``is_fault``): the
quotient graph is bisimilar to the full one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from model_check.errors import CheckError
from model_check.explorer import StateGraph

__all__ = ["LivenessResult", "can_reach", "check_eventually_reachable"]

Mask = npt.NDArray[np.bool_]


def can_reach(
    num_states: int,
    src: npt.NDArray[np.uint32],
    dst: npt.NDArray[np.uint32],
    targets: Mask,
) -> Mask:
    """Which states can reach a ``targets`` state along edges ``src[k] -> dst[k]``."""
    if targets.shape != (num_states,):
        raise CheckError(f"targets has shape {targets.shape}, expected ({num_states},)")
    reached = targets.copy()
    if src.size == 0:
        return reached
    # Predecessor lists in CSR form: pred[indptr[v]:indptr[v+1]] are the sources of edges into v.
    # Built by sorting (dst << 32 | src) in place and keeping the low half: 12 bytes an edge
    # at the peak beside src and dst (an argsort's int64 order and an int64 pred were 20).
    pred = _sources_by_target(src, dst)
    counts = np.bincount(dst, minlength=num_states)
    indptr = np.zeros(num_states + 1, dtype=np.int64)
    np.cumsum(counts, out=indptr[1:])
    frontier = np.flatnonzero(reached)
    while frontier.size:
        starts = indptr[frontier]
        lengths = indptr[frontier + 1] - starts
        total = int(lengths.sum())
        if total == 0:
            break
        # Gather all pred[starts[i] : starts[i] + lengths[i]] without a Python loop.
        offsets = np.repeat(starts - np.cumsum(lengths) + lengths, lengths)
        candidates = pred[offsets + np.arange(total)]
        candidates = np.unique(candidates[~reached[candidates]])
        reached[candidates] = True
        frontier = candidates.astype(np.int64)
    return reached


def _sources_by_target(src: npt.NDArray[np.uint32], dst: npt.NDArray[np.uint32]
                       ) -> npt.NDArray[np.uint32]:
    """The edges' sources ordered by target (then by source)."""
    keys = dst.astype(np.uint64)
    np.left_shift(keys, np.uint64(32), out=keys)
    np.bitwise_or(keys, np.asarray(src, dtype=np.uint32), out=keys)
    keys.sort()
    pred = keys.astype(np.uint32)  # the low 32 bits: the source
    del keys
    return pred


@dataclass(frozen=True, slots=True)
class LivenessResult:
    """Outcome of an AG EF check on an explored graph."""

    stuck_states: int
    """How many explored states cannot reach the target (for certain)."""
    first_stuck: int | None
    """The lowest-index (so shallowest) stuck state, or None when there is none."""

    @property
    def holds(self) -> bool:
        return self.first_stuck is None


def check_eventually_reachable(graph: StateGraph) -> LivenessResult:
    """AG EF marked on ``graph``: open states count as able to reach the target."""
    reached = can_reach(graph.num_states, graph.src, graph.dst, graph.marked | graph.open)
    stuck = np.flatnonzero(~reached)
    return LivenessResult(int(stuck.size), int(stuck[0]) if stuck.size else None)
