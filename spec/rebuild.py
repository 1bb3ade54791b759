"""A replaced disk's rebuild (``features.rebuild``, session 55).

Theory of operation
-------------------
A node whose disk was lost (:class:`~spec.actions.DiskLoss`) holds nothing it
acknowledged, so quorum intersection (R + W > N) cannot count its copies until it
has them back. The implementation (``impl/rebuild.py``, ``Node._acks_uncounted``,
sessions 16-54) makes such a node *rebuilding* until anti-entropy has completed an
exchange with every other replica of every range it replicates, and keeps its
acknowledgements and its own reads uncounted for a grace after that (its peers may
still suspect it for its silences). The spec states it per key, in
``State.rebuilding`` (only with ``features.rebuild`` and anti-entropy on, as the
implementation, which rebuilds nothing without anti-entropy; not during a
membership change: configurations with one keep the old rule):

* at the disk loss the node gets ``(node, key, peer)`` for every key it replicates
  (its top N) and every other replica ``peer`` of it (the exchanges still to do),
  and ``(node, "", "")`` (its *mark*: acknowledgements, own writes and own reads
  not counted); a crash while exchanges are left begins them all again (the
  implementation's restart of a store whose rebuild had not ended); a crash with
  none left either drops the mark (the grace is in memory) or (session 61,
  ``Crash.again``: a range holding no key left) keeps it and begins them all again;
* an anti-entropy exchange of ``key`` between ``node`` and ``peer``
  (:func:`spec.anti_entropy.anti_entropy`, enabled while the exchange is to do even
  between equal copies: the implementation's exchange that finds the trees in sync
  completes the pair) removes ``(node, key, peer)``;
* while ``(node, key, _)`` is left (:func:`unrebuilt`): ``node`` answers no
  ``replica-get`` of ``key`` and acknowledges no ``hint-delivery`` of it (it stores
  it: the fallback keeps its hint);
* while the mark is set (:func:`uncounted`): ``node`` acknowledges no
  ``replica-put`` (a hint it keeps for another node excepted; it stores it), its
  own write as a coordinator is one failed replica (stored, not counted: its part
  goes to the next fallback, hinted, as a refused own write,
  :func:`spec.coordination.start`), and its own read as a coordinator does not
  count towards R until every top-N node of the key answered
  (``Coordination.uncounted``: the implementation's ``GetCoordination.uncounted``);
* :class:`~spec.actions.Rebuilt` (node) drops the mark once no exchange is left:
  any time after, the implementation's grace being timing the spec does not model.
  (The spec's failure detection is accurate, so it needs no grace for safety: with
  its acknowledgements uncounted, a read counting its rebuilt copy and R - 1 others
  meets every write's W others among the N - 1 others.)

Not stated: a buffered crash and a restore (the implementation sets a restored
store aside and rebuilds it; the spec keeps the backup's copy counted).
"""

from __future__ import annotations

from collections.abc import Iterator

from spec.actions import Action, Rebuilt
from spec.state import State
from spec.step import Edit, Plan

__all__ = ["begin", "pending", "rebuilds", "rebuilt_steps", "restart", "restarts",
           "synced", "uncounted", "unrebuilt"]

#: a node's mark in ``State.rebuilding``: its acknowledgements are not counted
MARK = ("", "")


def rebuilds(plan: Plan, state_membership: object) -> bool:
    """Whether the configuration of ``plan`` rebuilds a lost disk (``features.rebuild``
    and anti-entropy on, no membership change)."""
    config = plan.config
    return config.rebuild and config.anti_entropy and state_membership is None


def begin(edit: Edit, node: str) -> None:
    """``node`` lost its disk: every exchange of a key it replicates is to do, and its
    acknowledgements are not counted (its earlier rebuild, if any, starts over)."""
    if not rebuilds(edit.plan, edit.membership):
        return
    plan = edit.plan
    pairs = {(node, key, peer) for key in plan.keys if node in plan.top[key]
             for peer in plan.top[key] if peer != node}
    kept = frozenset(e for e in edit.rebuilding if e[0] != node)
    edit.rebuilding = kept | pairs | {(node, *MARK)}


def restart(edit: Edit, node: str, again: bool = False) -> None:
    """``node`` crashed (its disk kept): a rebuild with exchanges left begins them all
    again; with none left its mark (the grace, in memory) is dropped, or, ``again``
    (session 61: :func:`restarts`), kept and every exchange begun again."""
    if not edit.rebuilding or not any(e[0] == node for e in edit.rebuilding):
        return
    if again or any(e[0] == node and e[1] for e in edit.rebuilding):
        begin(edit, node)
    else:
        edit.rebuilding = frozenset(e for e in edit.rebuilding if e[0] != node)


def restarts(rebuilding: frozenset[tuple[str, str, str]], node: str) -> tuple[bool, ...]:
    """The outcomes of a crash of ``node`` for its rebuild (``again`` of
    :class:`~spec.actions.Crash`): ``(False, True)`` where its mark is set and no
    exchange is left, else ``(False,)``. Session 61: the implementation's rebuild is
    per range (``impl/rebuild.py``), the spec's per key, so with every key's exchange
    done a range holding no key may still be left, and the implementation's restart
    then begins the rebuild again (seed 187 of the trace validation's rebuild mix);
    or the rebuild was over and its grace, in memory, is lost (the mark dropped)."""
    if not rebuilding or (node, *MARK) not in rebuilding:
        return (False,)
    if any(e[0] == node and e[1] for e in rebuilding):
        return (False,)
    return (False, True)


def synced(edit: Edit, a: str, b: str, key: str) -> None:
    """An anti-entropy exchange of ``key`` between ``a`` and ``b`` completed."""
    if edit.rebuilding:
        edit.rebuilding = edit.rebuilding - {(a, key, b), (b, key, a)}


def pending(state_rebuilding: frozenset[tuple[str, str, str]], a: str, b: str,
            key: str) -> bool:
    """Whether an exchange of ``key`` between ``a`` and ``b`` is still to do."""
    return bool(state_rebuilding) and (
        (a, key, b) in state_rebuilding or (b, key, a) in state_rebuilding)


def unrebuilt(rebuilding: frozenset[tuple[str, str, str]], node: str, key: str) -> bool:
    """Whether ``node`` has an exchange of ``key`` left: silent to its reads, no hint
    of it acknowledged."""
    return bool(rebuilding) and any(e[0] == node and e[1] == key for e in rebuilding)


def uncounted(rebuilding: frozenset[tuple[str, str, str]], node: str) -> bool:
    """Whether ``node``'s acknowledgements, own writes and own reads do not count."""
    return bool(rebuilding) and (node, *MARK) in rebuilding


def rebuilt_steps(state: State, plan: Plan) -> Iterator[tuple[Action, State]]:
    """A :class:`~spec.actions.Rebuilt` step per up node whose mark is set and that has
    no exchange left."""
    rebuilding = state.rebuilding
    if not rebuilding:
        return
    for node in plan.nodes:
        if (node, *MARK) not in rebuilding or not state.nodes[plan.index[node]].up:
            continue
        if any(e[0] == node and e[1] for e in rebuilding):
            continue
        edit = Edit(state, plan)
        edit.rebuilding = rebuilding - {(node, *MARK)}
        yield Rebuilt(node), edit.build()
