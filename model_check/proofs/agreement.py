"""Agreement of the Z3 encoding (:mod:`model_check.proofs.abstraction`,
:mod:`model_check.proofs.transition`) with the spec, edge by edge over the
reachable graph of a configuration.

Theory of operation
-------------------
The abstraction function (:func:`~model_check.proofs.mapping.abstract_state`)
maps a spec state onto the variables of the encoding, and
:class:`~model_check.proofs.edges.EdgeCheck` compares the encoding with the spec
on a state's edges in both directions: *forward*, every spec edge is a step of
the encoding (or a stutter); *backward*, for the exact steps, every abstract
successor Z3 allows is the abstraction of a spec successor (the details:
:mod:`model_check.proofs.edges`).

:func:`check_graph` walks a configuration's reachable graph breadth first
(symmetry-reduced, as the checker does) and runs both checks on every edge of
every state it expands (``every`` > 1 expands only one state in ``every`` for the
checks, but still walks the whole graph: a sample for CI). The causal store rule
is the spec's merge only in the causal configurations; a configuration whose
merges may lose a version (lww, server-vclock, client clocks after a blind
rewrite, dvv after amnesia with the naive actor) is checked against the lossy
rule, and the causal rule's refusals are counted (they are the lossy merges, the
steps behind the durability violations of those configurations).

A configuration of several keys is checked once per key (:func:`check_projections`,
session 32), on one walk: each edge is compared with the encoding of the state's
projection onto the key (:func:`~model_check.proofs.mapping.abstract_state`); an
action of another key must be a stutter of the projection or one of the steps of
another key's actions (:func:`~model_check.proofs.mapping.projected_families`).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from model_check.proofs.abstraction import Shape
from model_check.proofs.edges import NOT_ENCODED, OUTSIDE, STUTTER, EdgeCheck, Relations
from model_check.proofs.mapping import faithful, families, rebuilds
from model_check.proofs.transition import causal_store, lossy_store

__all__ = [
    "SAMPLE_EVERY",
    "SAMPLE_STATES",
    "GraphAgreement",
    "agreement_json",
    "agreement_table",
    "check_graph",
    "check_projections",
    "check_suite",
    "unencoded",
]


# -- the whole graph ---------------------------------------------------------------------------


@dataclass
class GraphAgreement:
    """The figures of one configuration's agreement check."""

    name: str
    rule: str  # "causal" or "lossy": the store rule the edges were checked against
    key: str = ""  # the key projected onto ("": the configuration's one key)
    states: int = 0  # distinct states walked
    checked_states: int = 0  # states whose edges were checked
    edges: int = 0  # edges compared (forward)
    stutters: int = 0
    not_encoded: Counter[str] = field(default_factory=Counter)  # action kind -> edges
    outside: int = 0
    by_family: Counter[str] = field(default_factory=Counter)  # step family -> edges
    by_step: Counter[str] = field(default_factory=Counter)  # step name -> edges (session 57)
    disagreements: list[str] = field(default_factory=list)  # forward, first few
    causal_refusals: int = 0  # lossy configurations: edges the causal rule refuses
    exact_states: int = 0  # states checked backward
    exact_proposals: int = 0  # abstract successors Z3 proposed by exact steps
    exact_disagreements: list[str] = field(default_factory=list)
    forward_failures: int = 0
    backward_failures: int = 0
    seconds: float = 0.0

    @property
    def label(self) -> str:
        """The configuration's name, and the key projected onto if any
        (``dvv-two-keys-drop [k]``)."""
        return f"{self.name} [{self.key}]" if self.key else self.name

    @property
    def ok(self) -> bool:
        """No spec edge the encoding refuses (forward) and no abstract successor
        Z3 proposes that the spec does not reach (backward); stutters, edges
        outside the encoding and edges not encoded are counted, not failures."""
        return self.forward_failures == 0 and self.backward_failures == 0


def check_graph(name: str, config: Any, *, key: str | None = None,
                **options: Any) -> GraphAgreement:
    """Walk the reachable graph of ``config`` and check the encoding on its edges
    (:func:`check_projections`, whose keyword ``options`` it takes: ``every``,
    ``rule``, ``backward``, ``max_states``, ``shape``, ``relations``); ``key``: the
    key whose projection is checked, for a configuration of several keys."""
    return check_projections(name, config, keys=(key,), **options)[0]


def check_projections(
    name: str,
    config: Any,
    *,
    keys: Sequence[str | None] | None = None,
    every: int = 1,
    rule: str | None = None,
    backward: bool = True,
    max_states: int | None = None,
    shape: Shape | None = None,
    relations: Relations | None = None,
) -> list[GraphAgreement]:
    """Walk the reachable graph of ``config`` and check the encoding on the edges of
    every ``every``-th state (both directions; see the module docstring), against
    the ``rule`` store rule ("causal" or "lossy"; default: causal where the clocks
    are :func:`faithful`); ``max_states`` stops the walk early (a sample);
    ``shape``: the encoding's bounds, if not :func:`shape_of` the configuration's
    (a test's mutated encoding); ``relations``: transition relations to share with
    other calls (:class:`~model_check.proofs.edges.EdgeCheck`).

    ``keys``: the projections checked (session 32; default: every key of a
    configuration of several, the one key of the others), on one walk of the
    graph: one result per key, in that order. A spec edge is compared once per
    projection; each result's seconds are its checks' and an equal share of the
    walk's."""
    from spec import model

    start = time.perf_counter()
    if rule is None:
        rule = "causal" if faithful(config) else "lossy"
    several = len(config.keys) > 1
    if keys is None:
        keys = tuple(config.keys) if several else (None,)
    store_rule = lossy_store if rule == "lossy" else causal_store
    projections = []
    for key in keys:
        check = EdgeCheck(config, store_rule, shape, relations, key=key)
        causal = (EdgeCheck(config, shape=shape, relations=relations, key=key)
                  if rule == "lossy" else None)
        result = GraphAgreement(name, rule, key=key or "")
        projections.append((check, causal, result))
    successors_of = _successors()
    initial = model.initial_state(config)
    seen = {model.canonicalize(initial)}
    # a state first reached through an action the encoding does not cover is
    # outside the encoding, and so is everything after it:
    # its edges are counted as not encoded, not checked
    frontier: list[tuple[Any, str]] = [(initial, "")]
    checking = [0.0 for _ in projections]
    while frontier:
        following: list[tuple[Any, str]] = []
        for state, outside in frontier:
            successors = list(successors_of(state))
            for j, (check, causal, result) in enumerate(projections):
                result.states += 1
                if outside:
                    result.not_encoded[f"after {outside}"] += len(successors)
                    result.edges += len(successors)
                elif result.states % every == 0:
                    began = time.perf_counter()
                    _check_state(check, causal, state, successors, result, backward)
                    checking[j] += time.perf_counter() - began
            for action, after in successors:
                canonical = model.canonicalize(after)
                if canonical not in seen:
                    seen.add(canonical)
                    kind = outside or ("" if families(action) is not None
                                       else str(getattr(action, "kind", "?")))
                    following.append((after, kind))
            if max_states is not None and len(seen) >= max_states:
                following = []
                break
        frontier = following
    walking = (time.perf_counter() - start - sum(checking)) / len(projections)
    for (_, _, result), spent in zip(projections, checking, strict=True):
        result.seconds = walking + spent
    return [result for _, _, result in projections]


def _successors() -> Callable[[Any], Iterable[tuple[Any, Any]]]:
    """The spec's successor function for one walk: the memoised successors of
    :mod:`model_check.spec_memo` (the same steps in the same order as
    :func:`spec.model.successors`, tests/model_check/test_spec_memo.py; a fresh memo
    per walk, so that it computes through the spec's functions as they are then: a
    test's mutant of the spec included), unless ``spec.model.successors`` itself was
    replaced (a test's: a function of another module or name) or the compiled spec
    runs (session 43: delete-safe's walk, every third state checked, 6.5 -> 5.8 CPU-s)."""
    from model_check.spec_memo import MemoSuccessors, memo_available
    from spec import model

    if (getattr(model.successors, "__module__", None) != "spec.model"
            or model.successors.__name__ != "successors" or not memo_available()):
        return model.successors
    return MemoSuccessors()


def _check_state(check: EdgeCheck, causal: EdgeCheck | None, state: Any,
                 successors: list[tuple[Any, Any]], result: GraphAgreement,
                 backward: bool) -> None:
    result.checked_states += 1
    verdicts = check.edges(state, successors)
    refused = causal.edges(state, successors) if causal is not None else None
    for j, (action, _) in enumerate(successors):
        result.edges += 1
        verdict = verdicts[j]
        if verdict == STUTTER:
            result.stutters += 1
        elif verdict == NOT_ENCODED:
            result.not_encoded[str(getattr(action, "kind", type(action).__name__))] += 1
        elif verdict == OUTSIDE:
            result.outside += 1
        elif verdict is None:
            result.forward_failures += 1
            if len(result.disagreements) < 5:
                result.disagreements.append(f"{action}")
        else:
            result.by_family[check.steps_family(verdict)] += 1
            result.by_step[verdict] += 1
            if refused is not None and refused[j] is None:
                result.causal_refusals += 1
    if not backward:
        return
    answer = check.exact_successors(state, [after for _, after in successors])
    if answer is None:
        return
    found, expected = answer
    result.exact_states += 1
    result.exact_proposals += len(found)
    for candidate in found:
        if candidate not in expected:
            result.backward_failures += 1
            if len(result.exact_disagreements) < 5:
                before = expected[-1]
                diff = sorted(k for k in candidate if candidate[k] != before[k])
                result.exact_disagreements.append(f"exact step changing {diff}")


#: The default sample of ``vdynamo prove``: the first states of each configuration's
#: breadth-first walk, the edges of one state in ``SAMPLE_EVERY`` checked.
SAMPLE_STATES, SAMPLE_EVERY = 1_000, 20


def check_suite(*, all_edges: bool = False, names: Sequence[str] = (),
                relations: Relations | None = None,
                max_states: int = SAMPLE_STATES) -> list[GraphAgreement]:
    """:func:`check_graph` over the suite's configurations (those named, or all):
    every edge with ``all_edges``, else the default sample; a configuration of
    several keys once per key, on one walk (:func:`check_projections`: a result per
    key, in the configuration's key order; session 32). Configurations of the
    same encoding bounds (:func:`~model_check.proofs.mapping.shape_of`) and store rule
    share one transition relation (the 44 entries need 56 relations, 23 of them
    distinct; building them was two thirds of the default sample's time: 42 CPU-s
    before, 28 after, the same figures). ``relations``: a caller's cache to take
    them from and add them to (:data:`~model_check.proofs.edges.Relations`, never
    one holding a mutated relation; None: a cache of this call's own). ``max_states``:
    the sample's walk of each configuration (default :data:`SAMPLE_STATES`, ``vdynamo
    prove``'s; CI's test takes a smaller one, session 41); ignored with ``all_edges``."""
    from model_check.suite import DEFAULT_SUITE

    if relations is None:
        relations = {}
    out = []
    for suite_entry in DEFAULT_SUITE:
        if names and suite_entry.name not in names:
            continue
        if unencoded(suite_entry.config):
            continue
        if all_edges:
            out += check_projections(suite_entry.name, suite_entry.config,
                                     relations=relations)
        else:
            # an entry of a few dozen states is checked whole: every 20th of session
            # 23's 21- and 25-state entries is a leaf (no edge checked)
            small = (suite_entry.distinct_states or SAMPLE_STATES) < 5 * SAMPLE_EVERY
            out += check_projections(suite_entry.name, suite_entry.config,
                                     every=1 if small else SAMPLE_EVERY,
                                     max_states=max_states, relations=relations)
    return out


def unencoded(config: Any) -> str:
    """Why the encoding cannot be checked against ``config``'s graph ("": it can).
    Every suite entry can since session 36: ``prune_knowledge = "learnt"`` (session
    34), excluded before, is encoded (:mod:`model_check.proofs.learning`: the
    ``knows`` variables, the ``learn-retirement`` step, the knowledge an anti-entropy
    exchange carries and a disk loss forgets); ``prune_retired`` above 0 since session
    35 (docs/proofs.md, "Pruning with prune_retired > 0"). Kept for a mode the
    encoding does not state yet. The failing disk (``faults.write_failures``, session
    51) is encoded since session 52 (:func:`model_check.proofs.transition._refusal_steps`:
    ``failed-put``, ``failed-write``, a delivered ``replica-put-failed``; the kept
    records in ``held``) on one key of a fixed ring without deletes, pruning or
    restores (the suite's four entries), and but for its twin ``failed_write_acks``:
    a refused write acknowledged, which no step of the encoding can state (a put is
    acknowledged only while W nodes hold it: the twin's acknowledgements are refused,
    tests/model_check/test_proofs_write_failures.py). Clients that send to any node
    (``workload.coordinator = "any"``, session 54's review: the suite's three forward
    entries) are not encoded: no step family states the forwarder's retries (on
    forward-strict-partition's first 2,000 states the walk met 20 such edges and
    6,824 after them). The rebuild of a lost disk (``features.rebuild``, session 55)
    is encoded since session 57 (:mod:`model_check.proofs.rebuild`) without pruning
    (the suite's four entries), with several keys since session 61 (a projection
    keeps, per node, whether another key's exchange is left: ``others``, on which a
    crash's restart and the ``Rebuilt`` step depend); with pruning its exchange
    between equal copies is not stated
    (:func:`model_check.proofs.transition._pruned_anti_entropy`)."""
    if rebuilds(config) and getattr(config, "prune_retired", -1) >= 0:
        return ("features.rebuild with pruning: the rebuild is encoded without pruning "
                "(session 57: the pruned anti-entropy does not state the exchange between "
                "equal copies a rebuild waits for)")
    if getattr(config, "coordinator", "top-n") == "any":
        return ('workload.coordinator = "any": the forwarder\'s retries and its copy\'s '
                "hand-off (session 54: forward-again, forward-fallback, outsider-handoff, "
                "outsider-let-go) have no step of the encoding")
    if getattr(config, "write_failures", 0):
        if getattr(config, "failed_write_acks", False):
            return ("features.failed_write_acks: the twin acknowledges a write no node "
                    "holds; the encoding acknowledges a put only while W nodes hold it")
        if (len(config.keys) > 1 or config.membership or config.deletes_per_client
                or getattr(config, "prune_retired", -1) >= 0
                or getattr(config, "restores", 0)):
            return ("faults.write_failures with several keys, a membership change, "
                    "deletes, pruning or restores: not encoded (session 52 encodes one key "
                    "of a fixed ring)")
    return ""


def agreement_json(result: GraphAgreement) -> dict[str, Any]:
    """One configuration's figures as JSON."""
    return {
        # a configuration of several keys: a row per key, "agreement:<name>[<key>]"
        "name": f"agreement:{result.name}" + (f"[{result.key}]" if result.key else ""),
        "key": result.key or None,
        "verdict": "agrees" if result.ok else "disagrees",
        "seconds": round(result.seconds, 3),
        "rule": result.rule,
        "states": result.states,
        "checked_states": result.checked_states,
        "edges": result.edges,
        "stutters": result.stutters,
        "not_encoded": dict(result.not_encoded),
        "outside": result.outside,
        "causal_refusals": result.causal_refusals,
        "exact_states": result.exact_states,
        "exact_proposals": result.exact_proposals,
        "forward_failures": result.forward_failures,
        "backward_failures": result.backward_failures,
    }


def agreement_table(results: Sequence[GraphAgreement]) -> str:
    """The figures as a table (one line per configuration, then the totals)."""
    width = max([len("configuration"), *(len(r.label) for r in results)])
    lines = [f"{'configuration':<{width}}  {'rule':<6} {'states':>7} {'checked':>7} "
             f"{'edges':>8} {'stutter':>7} {'exact':>6} {'lossy':>5} {'seconds':>7}  verdict"]
    for r in results:
        verdict = "agrees" if r.ok else "DISAGREES"
        extra = ""
        if r.not_encoded:
            extra += f" (not encoded: {dict(r.not_encoded)})"
        if r.outside:
            extra += f" ({r.outside} outside the bounds)"
        lines.append(
            f"{r.label:<{width}}  {r.rule:<6} {r.states:>7} {r.checked_states:>7} "
            f"{r.edges:>8} {r.stutters:>7} {r.exact_proposals:>6} {r.causal_refusals:>5} "
            f"{r.seconds:>7.1f}  {verdict}{extra}")
        for text in r.disagreements + r.exact_disagreements:
            lines.append(f"    disagreement: {text}")
    edges = sum(r.edges for r in results)
    seconds = sum(r.seconds for r in results)
    lines.append(f"{'total':<{width}}  {'':<6} {sum(r.states for r in results):>7} "
                 f"{sum(r.checked_states for r in results):>7} {edges:>8} "
                 f"{sum(r.stutters for r in results):>7} "
                 f"{sum(r.exact_proposals for r in results):>6} "
                 f"{sum(r.causal_refusals for r in results):>5} {seconds:>7.1f}")
    return "\n".join(lines)
