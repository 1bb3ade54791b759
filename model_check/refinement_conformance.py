"""Exhaustive conformance: every edge of the spec's reachable graph replayed on the
implementation (issue 12, section 2).

Theory of operation
-------------------
:func:`reachable_graph` explores the spec's reachable states breadth-first (no
symmetry reduction: the implementation's node names are not interchangeable) and
keeps each state's shortest path from the initial state. Each edge ``s --a--> t``
(or a seeded sample of them) is checked on a lockstep
(:class:`~model_check.refinement.Lockstep`) at a state that maps to ``s``: ``a``
is performed through the node's public inputs (the steps of ``vdynamo replay --on
impl``, :func:`model_check.refinement_replay.step_action`, checked) and ``t`` must
be among the spec states the lockstep then holds. Two ways to reach ``s``, with
the same outcome for every edge (a test compares them):

- ``clone`` (the default, :func:`clone_outcomes`): a depth-first walk of the BFS
  tree takes every tree edge once on the implementation; at each state a
  snapshot of the lockstep (:mod:`model_check.refinement_snapshot`, a copy of
  the whole simulated cluster) is restored once per edge leaving it. The stack
  holds one lockstep per state on it, so memory grows with the depth and the
  branching, not with the graph;
- ``replay`` (the reference, :func:`check_edge`): a fresh lockstep per edge, the
  shortest path to ``s`` replayed step by step.

An edge's outcome is one of:

- ``agreed``: the implementation took the step and reached ``t``;
- ``diverged``: the step, or reaching ``t``, failed (a :class:`Divergence`: a bug
  of the implementation, the abstraction or the spec);
- ``unmapped``: the lockstep cannot express the step on the implementation (the
  spec's timeout of a target with a message of its exchange in flight that none of
  the timeout mappings names: session 44 mapped the give-up of a reachable replica
  the implementation retries, its retries lost (``Lockstep.retries_lost``,
  ``Lockstep.retry_given_up``), and of an unreachable target's answer in flight
  (``Lockstep.timeout_ack_lost``), session 45 of an unreachable target with the
  coordinator's put to it in flight (``Lockstep.timeout_put_kept``); a
  message the harness declared dead; a spec reap while a member is down,
  :data:`MEMBER_DOWN`, or while a member holds a live version,
  :data:`LIVE_ELSEWHERE`, each checked by driving the refused round to its end:
  :func:`_refusal_checked`; a spec reap no reap timer of the implementation is due
  for: undecided, its grace not passed, its record not the copy, or not targeting the
  node); counted by kind (:data:`UNMAPPED_KINDS`; since session 46 the outcome names
  the refusal: ``unmapped: reap: ...``), never hidden;
- ``source-unreached``: the path to ``s`` itself has such a step (only with
  ``shortest_only``, or for a path that kept a copy the implementation had reaped);
- ``unreachable``: no path to ``s`` avoids such steps.

An edge whose shortest path has a step the lockstep cannot take is not given up:
:func:`detour_outcomes` searches again, breadth-first over the reachable graph
without the steps found not to be takeable, and checks it from its source reached
by that detour, pass after pass until every edge is decided (``--shortest-only``:
one pass, the shortest paths only).
"""

from __future__ import annotations

import collections
import contextlib
import functools
import gc
import random
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TextIO

from impl.reaping import REAP_ATTEMPTS, ReapRound
from impl.versions import is_tombstone_only, merge
from model_check.errors import ExplorationError
from model_check.refinement import Divergence, Lockstep
from model_check.refinement_replay import (
    REAP_NOT_ITS_RECORD,
    REAP_NOT_QUIET,
    REAP_NOT_TARGETED,
    REAP_UNDECIDED,
    NotExpressible,
    step_action,
)
from model_check.refinement_snapshot import LockstepSnapshot
from model_check.refinement_state import project, with_idle_clients
from model_check.spec_memo import MemoSuccessors, memo_available
from spec import model as spec_model
from spec.actions import Action, Reap, Timeout
from spec.config import Config
from spec.errors import ConfigError
from spec.state import State

__all__ = [
    "LIVE_ELSEWHERE",
    "MEMBER_DOWN",
    "UNMAPPED_KINDS",
    "UNREACHABLE",
    "UNREACHED",
    "ConformanceReport",
    "check_edge",
    "clone_outcomes",
    "conformance",
    "detour_outcomes",
    "path_links",
    "reachable_graph",
    "sample_parts",
    "shortest_tree",
    "unmapped_kind",
    "walked_graph",
    "walked_parts",
]

Edge = tuple[State, Action, State]
#: a reap refusal rule that applies to a spec ``Reap`` step (:data:`MEMBER_DOWN` or
#: :data:`LIVE_ELSEWHERE`) and the node whose round refused (:func:`_refused_by`)
Excuse = tuple[str, str]
#: a step of a path: the state it leaves and the action
Link = tuple[State, Action]
#: an edge's outcome when the path chosen to its source has a step the lockstep
#: cannot take on the implementation
UNREACHED = "source-unreached"
#: an edge's outcome when no path of steps the lockstep can take reaches its source
#: (:func:`detour_outcomes`)
UNREACHABLE = "unreachable"
#: the ways an edge's source is reached (see :func:`conformance`)
MODES = ("clone", "replay")
#: the outcome of a spec ``Reap`` of node ``n`` that the implementation does not take
#: because a member of the deciding node's view is down or cut off from it
#: (:func:`_reached`: the round the step opened still waits for such members only, and
#: ``n`` still holds its copy; every step the implementation took was a spec step). The
#: spec's guard 3 reads a down member's store (its disk persists), so the spec may reap
#: while it is down; the implementation cannot read it and waits (impl/reaping.py: a
#: member down counts as not clean), as riak_kv does: its get FSM decides a delete only
#: when all N primary vnodes answered (``riak_kv_get_core:final_action/1``), and never
#: while fallbacks are in use (basho_docs, ``ops/advanced/deletion.md``). Garbage not
#: collected yet: it does less, and no property depends on a reap happening.
MEMBER_DOWN = "unmapped: the implementation does not reap with a member down"
#: the outcome of a spec ``Reap`` of node ``n`` that the implementation does not take
#: because a member reachable from the deciding node holds a live version the
#: deciding node's tombstone does not dominate (a put concurrent with the delete, or
#: after it): no round of the deciding node is open after the step (it ended not clean,
#: or was given up or refused by the deciding node's own check: the rule does not tell
#: them apart), ``n`` still holds its copy.
#: The spec's guard 3 refuses only for a version an acknowledged delete covers (ghost
#: knowledge of the deletes' true histories); the implementation cannot know which
#: deletes were acknowledged and refuses while any member holds a live version its
#: tombstone does not supersede (impl/reaping.py, ``Reaper._clean``), as riak_kv's get
#: FSM decides a delete only when the merged object is a tombstone
#: (``riak_kv_get_core:final_action/1``). A dominated copy is not excused: the member
#: settles it (``Reaper._settle_dominated``, the spec's outside-copy drop).
LIVE_ELSEWHERE = ("unmapped: the implementation does not reap while a member holds a live "
                  "version its tombstone does not supersede")
#: the documented kinds of ``unmapped`` edge, by name: the text an outcome begins with
#: after ``unmapped: `` (and the action's kind, ``reap: ``, if any). Session 46
#: (docs/refinement.md, "The delete entries' unmapped reaps, one by one"): the spec
#: reaps the implementation does not take, each a stutter where the spec's reap is
#: optional (it only frees a tombstone), and the refusals of the timeout and membership
#: mappings; tests/refinement/test_conformance.py fails on an unmapped edge of CI's
#: samples that is none of these (:func:`unmapped_kind`)
UNMAPPED_KINDS = {
    "reap undecided": REAP_UNDECIDED,
    "reap not quiet": REAP_NOT_QUIET,
    "reap not its record": REAP_NOT_ITS_RECORD,
    "reap not targeted": REAP_NOT_TARGETED,
    "member down": MEMBER_DOWN.removeprefix("unmapped: "),
    "live elsewhere": LIVE_ELSEWHERE.removeprefix("unmapped: "),
    # session 44: a spec give-up the coordinator has no timer for
    "timeout": "the implementation's coordinator has no timer for request",
    # session 41: the drop or duplicate of an empty range transfer
    "empty transfer": "the implementation sends nothing for the transfer of a range",
    # session 35: the spec's handover before a late re-transfer the implementation
    # forwards first (``Lockstep.handover``, docs/refinement.md "Left open")
    "handover before a re-transfer": "no handover by ",
    # (session 51's "refused put", a coordinator's own refused write, is mapped since
    # session 52: the lockstep's driver sends a put's ReplicaPuts as the runtime does)
}


def unmapped_kind(outcome: str) -> str | None:
    """The name in :data:`UNMAPPED_KINDS` of an ``unmapped`` outcome's refusal, None
    for an outcome of no documented kind (or not unmapped)."""
    if not outcome.startswith("unmapped: "):
        return None
    text = outcome.removeprefix("unmapped: ")
    after_kind = text.partition(": ")[2]
    return next((name for name, begins in UNMAPPED_KINDS.items()
                 if text.startswith(begins) or after_kind.startswith(begins)), None)


#: the header of :meth:`ConformanceReport.row`'s table
HEADER = ("| configuration | states | edges | checked | agreed | diverged | unmapped "
          "| source unreached | by a detour | unreachable | passes | wall time | CPU time "
          "| CPU ms per edge |\n"
          "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")


@dataclass
class ConformanceReport:
    """The outcome of a conformance run over one configuration."""

    config: str
    states: int
    edges: int
    checked: int = 0
    outcomes: collections.Counter[str] = field(default_factory=collections.Counter)
    by_action: collections.Counter[str] = field(default_factory=collections.Counter)
    divergences: list[str] = field(default_factory=list)
    seconds: float = 0.0
    #: the process's CPU time (the wall time counts the other processes of a
    #: shared machine too)
    cpu_seconds: float = 0.0
    mode: str = "clone"
    #: edges whose source only a detour reached (agreed, diverged or unmapped there)
    by_detour: int = 0
    #: of the divergences, those found on a detour
    detour_divergences: int = 0
    #: the passes of :func:`detour_outcomes` (1: every source on its shortest path)
    passes: int = 0
    #: of the unmapped, the spec reaps the implementation's round refuses while a
    #: member is down (:data:`MEMBER_DOWN`) or holds a live version
    #: (:data:`LIVE_ELSEWHERE`)
    member_down: int = 0
    live_elsewhere: int = 0
    #: the unmapped edges by kind (:func:`unmapped_kind`; an undocumented one under
    #: ``undocumented: `` and its text)
    unmapped_kinds: collections.Counter[str] = field(default_factory=collections.Counter)

    def row(self) -> str:
        """A markdown table row (:data:`HEADER`): configuration, states, edges,
        checked, outcomes, the edges whose source only a detour reached (among the
        agreed, diverged and unmapped), the unreachable ones, the passes, wall time,
        CPU time, CPU milliseconds per checked edge (graph exploration included)."""
        per_edge = 1000 * self.cpu_seconds / self.checked if self.checked else 0.0
        return (f"| {self.config} | {self.states:,} | {self.edges:,} | {self.checked:,} | "
                f"{self.outcomes['agreed']:,} | {self.outcomes['diverged']:,} | "
                f"{self.outcomes['unmapped']:,} | {self.outcomes[UNREACHED]:,} | "
                f"{self.by_detour:,} | {self.outcomes[UNREACHABLE]:,} | {self.passes} | "
                f"{_duration(self.seconds)} | {_duration(self.cpu_seconds)} | {per_edge:.1f} |")


def _duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 600 else f"{seconds / 60:.0f} min"


def reachable_graph(config: Config, max_states: int = 200_000
                    ) -> tuple[dict[State, tuple[State, Action] | None], list[Edge]]:
    """The spec's reachable states with each one's BFS parent (state, action), and
    every edge, in BFS order. Raises ExplorationError past ``max_states`` states.

    The successors are the memoised ones of :mod:`model_check.spec_memo` (the same
    steps in the same order as :func:`spec.model.successors`, checked on the whole
    suite by tests/model_check/test_spec_memo.py) where the pure spec runs. The last
    graph built is kept and returned again for the same arguments (shared objects:
    callers must not change them), so that the tests of one configuration explore
    it once (the largest suite entries take 30-50 CPU-s)."""
    return _reachable_graph(config, max_states)


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """The block run with the cyclic garbage collector off (restored after, as it
    was): an exploration allocates and keeps hundreds of thousands of acyclic
    tuples and states, each young collection traced them in vain (session 14, one
    process, load 4-6: join-pending's whole graph 11.7 and 12.6 CPU-s under the
    default thresholds, 7.6 and 8.8 with the collector off; under the test
    session's model_check.explorer.GC_THRESHOLD, tests/conftest.py, 8.2-9.9 either
    way). The cycles it makes, if any, are collected after."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


@functools.lru_cache(maxsize=1)
def _reachable_graph(config: Config, max_states: int
                     ) -> tuple[dict[State, tuple[State, Action] | None], list[Edge]]:
    with _collector_paused():
        return _explored_graph(config, max_states)


def _explored_graph(config: Config, max_states: int
                    ) -> tuple[dict[State, tuple[State, Action] | None], list[Edge]]:
    edges: list[Edge] = []
    step: Callable[[State], Iterable[tuple[Action, State]]] = (
        MemoSuccessors() if memo_available() else spec_model.successors)

    def successors(state: State) -> list[tuple[Action, State]]:
        found = list(step(state))
        edges.extend((state, action, after) for action, after in found)
        return found

    start = spec_model.initial_state(config)
    return shortest_tree(start, successors, f"{config.name}: ", max_states), edges


def walked_graph(config: Config, walks: int, seed: int, max_depth: int = 100,
                 prefix: int = 0
                 ) -> tuple[dict[State, tuple[State, Action] | None], list[Edge]]:
    """A part of the spec's reachable graph found by ``walks`` seeded random walks
    from the initial state, for a sample of a graph too large to explore in CI
    (``conformance(walks=...)``): each walk takes uniformly random steps, not a
    ``Timeout`` while another step is enabled (a path through a timeout is not
    always expressible, as :func:`shortest_tree` prefers), until no step is enabled
    or ``max_depth`` steps; each state's parent is the step that first reached it
    (a tree: every path is a walk's, not a shortest one), and the edges are every
    step enabled at a state a walk visited, in the order visited. Deep edges (a
    reap after a delete and a crash) are sampled as often as shallow ones are by
    walk length. The memoised successors where the pure spec runs. ``prefix``:
    the part :func:`walked_parts` finds with a breadth-first prefix of that many
    states first (its edges first)."""
    parent, shallow, deep = walked_parts(config, walks, seed, max_depth, prefix)
    return dict(parent), shallow + deep


def walked_parts(config: Config, walks: int, seed: int, max_depth: int = 100,
                 prefix: int = 0
                 ) -> tuple[dict[State, tuple[State, Action] | None], list[Edge], list[Edge]]:
    """The states :func:`walked_graph` finds after a breadth-first prefix, with each
    one's parent, the prefix's edges and the walks' edges (disjoint). The prefix:
    the first ``prefix`` states a breadth-first search from the initial state takes
    (:func:`shortest_tree`'s order and shortest paths, so the shallow part of the
    graph as a whole-graph sample holds it: a walk takes one of the steps at each
    state it goes through, and leaves the others' targets unexplored); its edges,
    every step enabled at those states. Then the walks (the same steps from the same
    seed as without a prefix); the walks' edges are every step enabled at a state a
    walk visited that the prefix did not take, each such state reached by the
    prefix's path to the walk's last state in it and the walk's steps from there.
    ``prefix`` 0: no prefix (the walks' part alone). The last part found is kept and
    returned again for the same arguments (shared objects: callers must not change
    them), as :func:`reachable_graph` keeps its graph: an entry's sample and its
    delete and reap edges are drawn from one exploration."""
    return _walked_parts(config, walks, seed, max_depth, prefix)


@functools.lru_cache(maxsize=1)
def _walked_parts(config: Config, walks: int, seed: int, max_depth: int, prefix: int
                  ) -> tuple[dict[State, tuple[State, Action] | None], list[Edge], list[Edge]]:
    with _collector_paused():
        return _walked(config, walks, seed, max_depth, prefix)


def _walked(config: Config, walks: int, seed: int, max_depth: int, prefix: int
            ) -> tuple[dict[State, tuple[State, Action] | None], list[Edge], list[Edge]]:
    rng = random.Random(seed)
    step: Callable[[State], Iterable[tuple[Action, State]]] = (
        MemoSuccessors() if memo_available() else spec_model.successors)
    start = spec_model.initial_state(config)
    enabled: dict[State, list[tuple[Action, State]]] = {}
    shallow: list[Edge] = []

    def expanded(state: State) -> list[tuple[Action, State]]:
        if len(enabled) >= prefix:
            return []
        found = enabled[state] = list(step(state))
        shallow.extend((state, action, after) for action, after in found)
        return found

    parent: dict[State, tuple[State, Action] | None] = (
        shortest_tree(start, expanded) if prefix > 0 else {start: None})
    deep: list[Edge] = []
    for _ in range(walks):
        state = start
        for _ in range(max_depth):
            found = enabled.get(state)
            if found is None:
                found = enabled[state] = list(step(state))
                deep.extend((state, action, after) for action, after in found)
            choices = [s for s in found if not isinstance(s[0], Timeout)] or found
            if not choices:
                break
            action, after = rng.choice(choices)
            parent.setdefault(after, (state, action))
            state = after
    return parent, shallow, deep


def shortest_tree(start: State, successors: Callable[[State], Iterable[tuple[Action, State]]],
                  name: str = "", max_states: int | None = None
                  ) -> dict[State, tuple[State, Action] | None]:
    """Each state reached from ``start`` by ``successors`` with its parent on a
    shortest path, preferring among the shortest one without a ``Timeout`` (always
    expressible). ExplorationError past ``max_states`` states."""
    parent: dict[State, tuple[State, Action] | None] = {start: None}
    depth = {start: 0}
    clean = {start: True}  # the shortest path chosen has no Timeout (always expressible)
    queue = collections.deque([start])
    while queue:
        state = queue.popleft()
        for action, after in successors(state):
            via_clean = clean[state] and not isinstance(action, Timeout)
            if after not in parent:
                if max_states is not None and len(parent) >= max_states:
                    raise ExplorationError(f"{name}more than {max_states} states")
                parent[after] = (state, action)
                depth[after] = depth[state] + 1
                clean[after] = via_clean
                queue.append(after)
            elif via_clean and not clean[after] and depth[after] == depth[state] + 1:
                parent[after] = (state, action)  # as short, and replayable
                clean[after] = True
    return parent


def path_to(parent: dict[State, tuple[State, Action] | None], state: State) -> list[Action]:
    """The shortest path's actions from the initial state to ``state``."""
    return [action for _, action in path_links(parent, state)]


def path_links(parent: dict[State, tuple[State, Action] | None], state: State) -> list[Link]:
    """The steps (state left, action) of the tree path of ``parent`` from the initial
    state to ``state``."""
    links: list[Link] = []
    link = parent[state]
    while link is not None:
        links.append(link)
        link = parent[link[0]]
    links.reverse()
    return links


def check_edge(config: Config, path: list[Action], action: Action, target: State) -> str:
    """Replay ``path`` then ``action`` on a fresh lockstep; the outcome (see the
    module docstring), with the divergence's first line after a colon."""
    return _replay(config, path, action, target)[0]


def _replay(config: Config, path: list[Action], action: Action, target: State
            ) -> tuple[str, int | None]:
    """:func:`check_edge`'s outcome, and the index in ``path`` of the step that could
    not be taken if the source was not reached (else None)."""
    ls = Lockstep(config, asks_at_once=False)
    try:
        ahead: frozenset[str] = frozenset()
        for number, step in enumerate(path):
            failed, blocked, ahead, _ = _attempt(ls, step, ahead)
            if blocked is not None:
                return blocked, number if blocked == UNREACHED else None
        failed, _, _, excuse = _attempt(ls, action, ahead)
        return (failed if failed is not None
                else _reached(ls, target, action, excuse)), None
    finally:
        ls.cluster.close()


def _attempt(ls: Lockstep, action: Action, ahead: frozenset[str]
             ) -> tuple[str | None, str | None, frozenset[str], Excuse | None]:
    """Take ``action`` on ``ls`` at a source where the implementation already reaped the
    nodes ``ahead`` that the spec's path has not (one reap timer of the implementation
    reaps every target node at once, one spec ``Reap`` each): the edge's outcome if it
    failed (else None), the outcome of every edge whose path goes through it if that
    path cannot go on (``source-unreached``, or diverged on the path; else None), the
    nodes reaped ahead after it, and for a spec ``Reap`` the rule by which the
    implementation's round refused it, if one applies (:func:`_reap_ahead`). While
    some nodes are reaped ahead, only the spec's reaps may come next (a path that
    keeps a copy the implementation reaped is not reached)."""
    blocked: str | None = None
    if ahead:
        if not isinstance(action, Reap):
            return UNREACHED, UNREACHED, ahead, None
        if not ahead.issuperset(action.nodes):
            blocked = UNREACHED
    try:
        extra, excuse = _reap_ahead(ls, action)
    except (NotExpressible, ValueError, KeyError, LookupError) as gap:
        return f"unmapped: {_gap_text(gap)}", UNREACHED, ahead, None
    except Divergence as divergence:
        return (f"diverged: {divergence.step}: {divergence.report.splitlines()[0][:200]}",
                f"diverged: on the path: {divergence.step}", ahead, None)
    done: set[str] = set()
    if isinstance(action, Reap):
        done = set(action.nodes)
        key = action.key.encode()
    if done and blocked is None and any(ls.cluster.storages[n].read(key) is not None
                                        for n in done):
        # the implementation did not reap (its round refused: a stutter the lockstep
        # accepts): a path that goes on from the spec's reaped state is not its path
        blocked = UNREACHED
    return None, blocked, frozenset((ahead - done) | extra), excuse


def _gap_text(gap: Exception) -> str:
    """The first line of why the lockstep could not take a step: a
    :class:`NotExpressible`'s ``step: reason``, another error's text."""
    if isinstance(gap, Divergence):
        return f"{gap.step}: {gap.report.splitlines()[0] if gap.report else ''}"
    return str(gap).splitlines()[0] if str(gap) else type(gap).__name__


def _reap_ahead(ls: Lockstep, step: Action) -> tuple[set[str], Excuse | None]:
    """Take ``step``; for a spec ``Reap``, the nodes the implementation reaped with it
    beyond the step's own (one reap timer reaps every target node at once), and the
    rule by which the round the step opened refused to reap (:func:`_refused_by`)."""
    if not isinstance(step, Reap):
        step_action(ls, step)
        return set(), None
    key = step.key.encode()
    held = {n for n in ls.present if ls.cluster.storages[n].read(key) is not None}
    open_before = _open_round(ls, None, key)
    decider = step_action(ls, step)
    reaped = {n for n in held if ls.cluster.storages[n].read(key) is None} - set(step.nodes)
    return reaped, _refused_by(ls, key, decider, open_before)


def _open_round(ls: Lockstep, name: str | None, key: bytes) -> ReapRound | None:
    """Up node ``name``'s open reap round of ``key`` (``safe``), if any (``name`` None:
    None)."""
    if name is None or not ls.up(name):
        return None
    return ls.cluster.node(name).reaper.rounds.get(key)


def _refused_by(ls: Lockstep, key: bytes, decider: str | None,
                before: ReapRound | None) -> Excuse | None:
    """After a reap step that fired ``decider``'s reap timer of ``key`` (``before``: its
    round open before, if any): :data:`MEMBER_DOWN` if the round the step opened is
    still open and every member it waits for is down or cut off from ``decider`` (its
    query reached every other member and each answered clean: only the round's retry
    timer can end it, as not clean); :data:`LIVE_ELSEWHERE` if no round is open (ended
    not clean, given up, or never opened: not told apart) and a
    member reachable from ``decider`` holds a live version ``decider``'s tombstone
    does not dominate, or one its copy keeps with the tombstone merged in (a value
    under the tombstone's own dot, which a naive actor re-issued: session 47); each
    with ``decider``; else None (no rule excuses the step).
    The rule is a claim about what the round does next, which :func:`_reached`
    checks (:func:`_refusal_checked`) before it excuses the edge."""
    if decider is None or not ls.up(decider):
        return None
    node = ls.cluster.node(decider)
    round_ = node.reaper.rounds.get(key)
    if round_ is not None:
        opened = before is None or before.query_id != round_.query_id
        if opened and round_.waiting and all(not ls.reachable(decider, member)
                                             for member in round_.waiting):
            return MEMBER_DOWN, decider
        return None
    mine = ls.cluster.storages[decider].read(key)
    if mine is None:
        return None
    tombstone = node.replica.parse(mine)
    for member in node.reaper.members()[0]:
        stored = ls.cluster.storages[member].read(key) if member in ls.cluster.storages else None
        if member == decider or stored is None or not ls.reachable(decider, member):
            continue
        theirs = node.replica.parse(stored)
        # a member settles a copy the tombstone dominates by merging it into its own
        # (``Reaper._settle_dominated``) and answers not clean if a live version is
        # left: where a naive actor re-issued the tombstone's dot for a put the member
        # holds, ``merge(tombstone, theirs)`` is the tombstone (one dot, the left
        # side's value kept) but the member keeps its own value (session 47)
        if not is_tombstone_only(theirs) and (
                merge(tombstone, theirs) != tombstone
                or not is_tombstone_only(merge(theirs, tombstone))):
            return LIVE_ELSEWHERE, decider
    return None


def _and_reaps(target: State, action: Action) -> list[State]:
    """``target``, and after a spec ``Reap`` every state further per-node reaps of its
    key reach from it: one reap timer of the implementation reaps every target node
    at once, one spec ``Reap`` each (checked step by step by the lockstep)."""
    found = [target]
    if isinstance(action, Reap):
        for state in found:
            found.extend(after for label, after in spec_model.successors(state)
                         if isinstance(label, Reap) and label.key == action.key
                         and after not in found)
    return found


def _reached(ls: Lockstep, target: State, action: Action,
             excuse: Excuse | None = None) -> str:
    """``agreed`` if the lockstep holds ``target`` (or, after a spec ``Reap``, a state
    further reaps of its key reach: :func:`_and_reaps`); else, for a spec ``Reap`` of
    nodes that still hold their copies on the implementation, the rule by which its
    round refused (``excuse``: :data:`MEMBER_DOWN`, :data:`LIVE_ELSEWHERE`, with the
    deciding node), once checked (:func:`_refusal_checked`); else diverged."""
    wanted = {project(with_idle_clients(state)) for state in _and_reaps(target, action)}
    if any(project(state) in wanted for state in ls.frontier):
        return "agreed"
    if excuse is not None and isinstance(action, Reap) and all(
            ls.cluster.storages[n].read(action.key.encode()) is not None
            for n in action.nodes):
        return _refusal_checked(ls, action, excuse)
    return "diverged: the implementation reached another spec successor"


#: how many times :func:`_refusal_checked` fires a refused round's reap timer at most
#: (the implementation gives up after :data:`~impl.reaping.REAP_ATTEMPTS` rounds)
REFUSAL_FIRINGS = 2 * REAP_ATTEMPTS


def _refusal_checked(ls: Lockstep, action: Reap, excuse: Excuse) -> str:
    """An excuse is checked, not trusted (session 10): the refused round is driven to
    its end on the implementation. The deciding node's reap timer of the key fires
    again, through the lockstep's own step (:meth:`Lockstep.reap`, each firing checked
    as a spec step), each time the harness lets its grace pass
    (:meth:`Lockstep.reap_candidates`), until it is no longer set (the round ended
    and the reap was given up after :data:`~impl.reaping.REAP_ATTEMPTS` rounds, or it
    reaped). The rule's outcome if every node that held a copy of the key still holds
    it and the lockstep still holds the source state (each firing a stutter); else
    diverged: a round the rule excused as waiting for a member down (or refused by a
    live version elsewhere) reaped on a retry, with nothing changed that would make
    it clean (the members cut off are still cut off, the live version still there).
    A timer the harness does not let fire is left (the outcome is the rule's); one
    still set after :data:`REFUSAL_FIRINGS` firings (more than the implementation's
    rounds, :data:`~impl.reaping.REAP_ATTEMPTS`) is a round that is never given up:
    diverged too (before, the loop stopped at REAP_ATTEMPTS firings and a reaper that
    gave up one round later, and reaped at that extra retry, was excused)."""
    rule, decider = excuse
    key = action.key.encode()
    held = {n for n in ls.present if ls.cluster.storages[n].read(key) is not None}
    source = {project(with_idle_clients(state)) for state in ls.frontier}
    for retry in range(1, REFUSAL_FIRINGS + 2):
        timer = next((t for name, t in ls.reap_candidates()
                      if name == decider and t.key == key), None)
        if timer is None:
            break
        if retry > REFUSAL_FIRINGS:
            return (f"diverged: {decider}'s reap timer of {action.key} still set after "
                    f"{REFUSAL_FIRINGS} firings of a round its rule excused "
                    f"({rule.removeprefix('unmapped: ')}): never given up")
        try:
            ls.reap(decider, timer)
        except Divergence as divergence:
            return (f"diverged: retry {retry} of a round refused by rule: {divergence.step}: "
                    f"{divergence.report.splitlines()[0][:200]}")
        gone = sorted(n for n in held if ls.cluster.storages[n].read(key) is None)
        if gone or not any(project(with_idle_clients(state)) in source
                           for state in ls.frontier):
            return (f"diverged: {decider} reaped {', '.join(gone) or 'nothing'} at retry "
                    f"{retry} of a round its rule excused ({rule.removeprefix('unmapped: ')})")
    return rule


def clone_outcomes(config: Config, parent: dict[State, tuple[State, Action] | None],
                   edges: Iterable[Edge], blocked_steps: set[Link] | None = None
                   ) -> Iterator[tuple[Edge, str]]:
    """The outcome of each of ``edges``, each checked on a copy of a lockstep at its
    source (:class:`~model_check.refinement_snapshot.LockstepSnapshot`) rather than
    by replaying its path: a depth-first walk of the BFS tree of ``parent`` (the
    same shortest paths as :func:`check_edge`, so the same outcomes), which holds
    a lockstep and a snapshot for each state on the stack only. A state's tree
    children are reached by the step of their tree edge, checked or not; every
    other edge from it on a restored copy (the last one on the lockstep itself).
    Yields in depth-first order; adds to ``blocked_steps`` each tree edge that could
    not be taken (its subtree is ``source-unreached``)."""
    by_source: dict[State, list[tuple[Action, State]]] = collections.defaultdict(list)
    for source, action, target in edges:
        by_source[source].append((action, target))
    needed: set[State] = set()  # the sources and their tree ancestors
    for source in by_source:
        state: State | None = source
        while state is not None and state not in needed:
            needed.add(state)
            link = parent[state]
            state = link[0] if link is not None else None
    tree: dict[State, list[tuple[Action, State]]] = collections.defaultdict(list)
    for state in needed:
        link = parent[state]
        if link is not None:
            tree[link[0]].append((link[1], state))
    start = next(s for s, link in parent.items() if link is None)
    stack: list[tuple[State, Lockstep | str, frozenset[str]]] = [
        (start, Lockstep(config, asks_at_once=False), frozenset())]
    while stack:
        state, held, ahead = stack.pop()
        checked = {action: target for action, target in by_source.get(state, ())}
        children = dict(tree.get(state, ()))
        steps = list(checked) + [a for a in children if a not in checked]
        if isinstance(held, str):  # the path to ``state`` failed: every edge from it too
            for action in checked:
                yield (state, action, checked[action]), held
            stack.extend((child, held, ahead) for child in children.values())
            continue
        if not steps:
            held.cluster.close()
        snapshot = LockstepSnapshot(held) if len(steps) > 1 else None
        for number, action in enumerate(steps):
            ls = held if snapshot is None or number == len(steps) - 1 else snapshot.restore()
            failed, blocked, after, excuse = _attempt(ls, action, ahead)
            if action in checked:
                outcome = (failed if failed is not None
                           else _reached(ls, checked[action], action, excuse))
                yield (state, action, checked[action]), outcome
            if action in children:
                stack.append((children[action], ls if blocked is None else blocked, after))
                if blocked == UNREACHED and blocked_steps is not None:
                    blocked_steps.add((state, action))
            if action not in children or blocked is not None:
                ls.cluster.close()


def _sample(edges: list[Edge], limit: int | None, seed: int) -> Iterator[Edge]:
    if limit is None or limit >= len(edges):
        yield from edges
        return
    yield from random.Random(seed).sample(edges, limit)


def sample_parts(shallow: list[Edge], deep: list[Edge], limit: int | None,
                 seed: int) -> list[Edge]:
    """A seeded sample of ``limit`` edges of two parts of a graph (None: every edge),
    half from each (from ``shallow`` the smaller half), the other part filling in
    for a part with fewer edges: a breadth-first prefix's edges outnumber the
    walks' a hundred to one (:func:`walked_parts`), a plain sample of both would
    hold next to no deep edge. ``shallow`` empty: the sample of ``deep`` alone
    that :func:`conformance` took before the prefix."""
    if limit is None or limit >= len(shallow) + len(deep):
        return shallow + deep
    shallow_share = min(len(shallow), max(limit // 2, limit - len(deep)))
    return (list(_sample(shallow, shallow_share, seed))
            + list(_sample(deep, limit - shallow_share, seed)))


def _pass_outcomes(config: Config, tree: dict[State, tuple[State, Action] | None],
                   edges: list[Edge], mode: str, blocked_steps: set[Link]
                   ) -> Iterator[tuple[Edge, str]]:
    """Each of ``edges`` checked from its source reached by the path of ``tree``
    (``mode``: clone or replay); the path steps that could not be taken go to
    ``blocked_steps``."""
    if mode == "clone":
        yield from clone_outcomes(config, tree, edges, blocked_steps)
        return
    for source, action, target in edges:
        links = path_links(tree, source)
        outcome, at = _replay(config, [a for _, a in links], action, target)
        if at is not None:
            blocked_steps.add(links[at])
        yield (source, action, target), outcome


def _takeable(adjacency: dict[State, list[tuple[Action, State]]],
              refused: dict[State, set[Action]], state: State
              ) -> Iterable[tuple[Action, State]]:
    """``state``'s steps in ``adjacency`` but the actions ``refused`` at it (the steps
    found not to be takeable, by the state they leave): the list itself when none is
    (session 45: one look-up per state, not a tuple of the state and each action
    hashed per step; a detour pass searches the whole graph)."""
    steps = adjacency.get(state, ())
    held = refused.get(state)
    if held is None:
        return steps
    return [(action, after) for action, after in steps if action not in held]


def _by_state(blocked: set[Link]) -> dict[State, set[Action]]:
    """The steps ``blocked`` grouped by the state they leave."""
    refused: dict[State, set[Action]] = collections.defaultdict(set)
    for state, action in blocked:
        refused[state].add(action)
    return dict(refused)


def detour_outcomes(config: Config, parent: dict[State, tuple[State, Action] | None],
                    graph: list[Edge], edges: list[Edge], *, mode: str = "clone",
                    shortest_only: bool = False, max_passes: int | None = None,
                    trees: list[dict[State, tuple[State, Action] | None]] | None = None
                    ) -> Iterator[tuple[Edge, str, int]]:
    """Each of ``edges`` (a subset of the reachable ``graph``, whose shortest-path
    tree is ``parent``) with its outcome and the pass that decided it.

    Pass 1 reaches each source by its shortest path (:func:`clone_outcomes`, or
    :func:`check_edge` in replay mode). A path may have a step the lockstep cannot
    take on the implementation (a spec ``Timeout`` of a replica the implementation
    retries; a reap it has not decided): its edges are ``source-unreached``. Unless
    ``shortest_only``, each further pass takes the shortest paths of the graph
    without every step found so far not to be takeable (from the state it leaves:
    a breadth-first search over ``graph``) and checks on them the edges no pass
    reached yet; an edge whose source no such path reaches is ``unreachable`` (no
    path of takeable steps leads to it: the implementation cannot get there by the
    spec's steps). The passes end when every edge is decided, or when a pass found
    no new untakeable step (an edge then left ``source-unreached``: its path was
    taken but ended in a state with a copy the implementation had reaped ahead of
    the spec, see :func:`_attempt`), or after ``max_passes`` passes (the edges not
    decided by then left ``source-unreached``). Whether a step is takeable is judged from the
    state it leaves, so a step that failed on one path to that state is not tried
    on another one. ``trees`` (if given) receives each pass's tree of paths (pass
    ``n``'s at index ``n - 1``: :func:`path_to` gives an edge's path in it)."""
    blocked: set[Link] = set()
    start = next(s for s, link in parent.items() if link is None)
    tree, pending, number = parent, edges, 1
    adjacency: dict[State, list[tuple[Action, State]]] | None = None
    while pending:
        if trees is not None:
            trees.append(tree)
        known = len(blocked)
        retry: list[Edge] = []
        for edge, outcome in _pass_outcomes(config, tree, pending, mode, blocked):
            if outcome == UNREACHED and not shortest_only:
                retry.append(edge)
            else:
                yield edge, outcome, number
        if not retry:
            return
        if len(blocked) == known or number == max_passes:  # (the same paths: the same outcomes)
            for edge in retry:
                yield edge, UNREACHED, number
            return
        number += 1
        if adjacency is None:
            adjacency = collections.defaultdict(list)
            for source, action, target in graph:
                adjacency[source].append((action, target))
        tree = shortest_tree(start, functools.partial(_takeable, adjacency,
                                                      _by_state(blocked)))
        pending = []
        for edge in retry:
            if edge[0] in tree:
                pending.append(edge)
            else:
                yield edge, UNREACHABLE, number


def parse_shard(text: str) -> tuple[int, int]:
    """``"I/K"`` (0 <= I < K) as ``(I, K)``: the I-th of K disjoint shards of a
    conformance run. ConfigError naming the text otherwise."""
    index, _, count = text.partition("/")
    if not (index.isascii() and index.isdigit() and count.isascii() and count.isdigit()):
        raise ConfigError(f"conformance shard: I/K with 0 <= I < K, got {text!r}")
    shard = int(index), int(count)
    if not 0 <= shard[0] < shard[1]:
        raise ConfigError(f"conformance shard: I/K with 0 <= I < K, got {text!r}")
    return shard


def _in_shard(parent: Mapping[State, object], edges: Iterable[Edge],
              shard: tuple[int, int] | None) -> list[Edge]:
    """The edges of shard ``(I, K)``: those whose source is the I-th state modulo K
    in ``parent``'s (breadth-first) order, so that a source's edges stay together (a
    clone-mode run reaches each source once). None: every edge."""
    if shard is None:
        return list(edges)
    index, count = shard
    position = {state: number for number, state in enumerate(parent)}
    return [edge for edge in edges if position[edge[0]] % count == index]


def conformance(config: Config, *, limit: int | None = None, seed: int = 0,
                max_states: int = 200_000, mode: str = "clone", shortest_only: bool = False,
                max_passes: int | None = None, progress: int | None = None,
                out: TextIO | None = None,
                shard: tuple[int, int] | None = None,
                walks: int | None = None, prefix: int = 0) -> ConformanceReport:
    """Check every edge of ``config``'s reachable graph (``limit``: a seeded sample
    of that many edges) on the implementation. ``mode``: ``"clone"`` (each source
    reached once, its edges on copies: :func:`clone_outcomes`) or ``"replay"``
    (each edge on a fresh lockstep, its path replayed: :func:`check_edge`); both
    give each edge the same outcome. The sources the shortest path does not reach
    are searched for by other paths (:func:`detour_outcomes`, at most ``max_passes``
    passes) unless ``shortest_only``. ``progress``: a line on ``out`` (standard error by default)
    every that many edges decided. ``shard``: ``(I, K)``, only the edges of the I-th
    of K disjoint shards (split by source state; run the K shards as K processes to
    use K cores; the shards' rows add up to the whole run's). ConfigError for another
    mode, a progress below 1 or a bad shard. ``walks``: instead of the whole
    graph, the part ``walks`` seeded random walks find (:func:`walked_graph`, seeded
    by ``seed``): its edges are sampled (``limit``) and its sources reached by the
    walks' paths; the report's states and edges are that part's. ``prefix`` (with
    ``walks``): a breadth-first prefix of that many states beside the walks
    (:func:`walked_parts`), half the sample from its edges and half from the
    walks' (:func:`sample_parts`)."""
    if max_passes is not None and max_passes < 1:
        raise ConfigError(f"conformance passes: a number from 1, got {max_passes}")
    if mode not in MODES:
        raise ConfigError(f"conformance mode: one of {', '.join(MODES)}, got {mode!r}")
    if progress is not None and progress < 1:
        raise ConfigError(f"conformance progress: a number of edges from 1, got {progress}")
    if shard is not None and not 0 <= shard[0] < shard[1]:  # (before the exploration)
        raise ConfigError(f"conformance shard: I/K with 0 <= I < K, got {shard!r}")
    began, cpu_began = time.perf_counter(), time.process_time()
    if walks is None:
        parent, edges = reachable_graph(config, max_states)
        sampled = list(_sample(edges, limit, seed))
    else:
        parent, shallow, deep = walked_parts(config, walks, seed, prefix=prefix)
        edges = shallow + deep
        sampled = sample_parts(shallow, deep, limit, seed)
    report = ConformanceReport(config.name, len(parent), len(edges), mode=mode)
    chosen = _in_shard(parent, sampled, shard)
    trees: list[dict[State, tuple[State, Action] | None]] = []
    for (source, action, _), outcome, number in detour_outcomes(
            config, parent, edges, chosen, mode=mode, shortest_only=shortest_only,
            max_passes=max_passes, trees=trees):
        kind = outcome.split(":")[0]
        report.checked += 1
        report.outcomes[kind] += 1
        report.by_action[f"{action.kind} {kind}"] += 1
        report.passes = max(report.passes, number)
        detour = number > 1 and kind not in (UNREACHED, UNREACHABLE)
        report.by_detour += detour
        report.member_down += outcome == MEMBER_DOWN
        report.live_elsewhere += outcome == LIVE_ELSEWHERE
        if kind == "unmapped":
            report.unmapped_kinds[unmapped_kind(outcome)
                                  or f"undocumented: {outcome[:160]}"] += 1
        if kind == "diverged":
            report.detour_divergences += detour
            if len(report.divergences) < 20:
                report.divergences.append(
                    f"{action.kind} after {len(path_to(trees[number - 1], source))} steps"
                    f"{' (by a detour)' if detour else ''}: {outcome}")
        if progress is not None and report.checked % progress == 0:
            print(f"{config.name}: {report.checked:,} of {len(chosen):,} edges, pass {number}, "
                  f"{_duration(time.perf_counter() - began)}: "
                  + ", ".join(f"{k} {v:,}" for k, v in sorted(report.outcomes.items())),
                  file=out if out is not None else sys.stderr, flush=True)
    report.seconds = time.perf_counter() - began
    report.cpu_seconds = time.process_time() - cpu_began
    return report


def main(argv: list[str] | None = None) -> int:
    """``python -m model_check.refinement_conformance [--limit N] [--seed S] [--mode M]
    [--shortest-only] [--max-passes N] [--progress N] [--shard I/K] [CONFIG ...]``:
    a table row per suite configuration (all of them by default)."""
    import argparse

    from model_check.suite import DEFAULT_SUITE, entry

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--limit", type=int, default=None, help="a seeded sample of edges")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--mode", choices=MODES, default="clone",
                        help="reach each source by copying a snapshot (default) or by "
                        "replaying its path")
    parser.add_argument("--shortest-only", action="store_true",
                        help="reach each source by its shortest path only (no detours "
                        "around the steps the implementation cannot take)")
    parser.add_argument("--max-passes", type=int, default=None, metavar="N",
                        help="at most N passes of detours (default: until every edge "
                        "is decided)")
    parser.add_argument("--progress", type=int, default=None, metavar="N",
                        help="a line on standard error every N edges")
    def shard(text: str) -> tuple[int, int]:
        try:
            return parse_shard(text)
        except ConfigError as error:  # argparse prints only this one's message
            raise argparse.ArgumentTypeError(str(error)) from error

    parser.add_argument("--shard", type=shard, default=None, metavar="I/K",
                        help="only the I-th of K disjoint shards of the edges (split by "
                        "source state): run K processes to use K cores")
    parser.add_argument("configs", nargs="*")
    args = parser.parse_args(argv)
    names = args.configs or [e.name for e in DEFAULT_SUITE]
    print(HEADER)
    failed = False
    for name in names:
        report = conformance(entry(name).config, limit=args.limit, seed=args.seed,
                             mode=args.mode, shortest_only=args.shortest_only,
                             max_passes=args.max_passes, progress=args.progress,
                             shard=args.shard)
        print(report.row(), flush=True)
        if report.member_down or report.live_elsewhere:
            print(f"    of the unmapped, spec reaps the implementation's round refuses: "
                  f"{report.member_down:,} with a member down, {report.live_elsewhere:,} "
                  "with a live version at a member", flush=True)
        if report.unmapped_kinds:
            print("    unmapped by kind: " + ", ".join(
                f"{name} {count:,}" for name, count in sorted(report.unmapped_kinds.items())),
                flush=True)
        if report.outcomes["diverged"]:
            print("    diverged by action: " + ", ".join(
                f"{key.split()[0]} {count:,}" for key, count in sorted(report.by_action.items())
                if key.endswith(" diverged")), flush=True)
        for line in report.divergences:
            print("   ", line, flush=True)
        failed = failed or bool(report.outcomes["diverged"])
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
