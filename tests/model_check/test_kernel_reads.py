"""The kernel's deliveries and timeouts looked up by what they read (session 58).

On a miss of the per-(context, message) table, :meth:`model_check.kernel.Kernel._delivered`
(and of the per-(context, action) table of the coordinator timeouts) looks the effect
up by every part of the context but the nodes and, of the nodes, those the step read
(whole, or their up flags through ``Edit.reachable``), as its
:class:`~model_check.kernel._NodeRecorder` noted them on an earlier miss. These tests
walk every reachable state of small configurations and compare each state's successors
with the spec's (:func:`tests.model_check.test_kernel.disagreement`: the uncached
truth), require that the walks take the read-keyed path (hits, read sets with up flags,
several read sets for one step), and show five mutants of the key failing the
comparison. The kernel's other walks (tests/model_check/test_kernel.py,
every covered CI entry of at most 3,000 states and the three rebuild entries) and
``make check``'s pinned figures run the same paths.
"""

from __future__ import annotations

from typing import Any

import pytest

from model_check.kernel import Kernel, NodeState
from spec.state import State
from spec.step import Edit
from tests.model_check.test_kernel import EXTRA, _entry, disagreement
from tests.spec.test_forward_retries import CONFIG as FORWARDING

SLOPPY = "sloppy-no-handoff"
PARTITION = "strict-no-anti-entropy+partition+duplicate"


def _config(name: str) -> Any:
    if name == "forwarding":
        return FORWARDING
    return EXTRA[name][0] if name in EXTRA else _entry(name).config


@pytest.mark.parametrize(("name", "states", "hits"), [
    (SLOPPY, 504, 492), (PARTITION, 905, 162), ("forwarding", 849, 188),
    ("strict-weak-quorum", 881, 204)])
def test_the_deliveries_by_what_they_read_are_the_spec_successors(
        name: str, states: int, hits: int) -> None:
    """Every reachable state's successors (decoded, in order) are the spec's, and the
    walk takes the read-keyed path ``hits`` times, deliveries and coordinator timeouts
    (on sloppy-no-handoff 492 hits beside 126 effects recorded). With
    ``workload.coordinator = "any"`` (tests/spec/test_forward_retries.py's configuration)
    a forward's coordinator reads its peers' up flags alone (``Edit.reachable`` in
    ``choose_targets``: read sets with up flags), as a sloppy coordinator's timeout does
    (``time_out``'s next fallback); the suite's deliveries call no ``reachable``. On
    sloppy-no-handoff some step meets two read sets under one tail."""
    kernel = Kernel(_config(name), every=1 << 30)
    walked, problem = disagreement(kernel, max_states=2_500)
    assert problem is None, problem
    assert (walked, kernel.narrow_hits) == (states, hits)
    if name in ("forwarding", SLOPPY):
        assert any(ups for sets in kernel.read_sets.values() for _, ups in sets)
    if name == SLOPPY:
        assert any(len(sets) > 1 for sets in kernel.read_sets.values())


class _UpsIgnored(Kernel):
    """The key without the up flags read (a node's reachability taken as the first
    recorded one's)."""

    @staticmethod
    def _reading(nodes: tuple[NodeState, ...], whole: tuple[int, ...], ups: tuple[int, ...]
                 ) -> tuple[Any, ...]:
        return Kernel._reading(nodes, whole, ())


class _FirstNodeOnly(Kernel):
    """The key with the first node read alone (the receiver, or the coordinator that a
    replica's answer reads through ``awaited``, left out)."""

    @staticmethod
    def _reading(nodes: tuple[NodeState, ...], whole: tuple[int, ...], ups: tuple[int, ...]
                 ) -> tuple[Any, ...]:
        return Kernel._reading(nodes, whole[:1], ups)


class _Blind(Kernel):
    """The tail with one part of the context left out (``blind``: its place in
    :meth:`Kernel._tail_key`)."""

    blind = 0

    def _tail(self, c: int) -> int:
        t = self.tail_of.get(c)
        if t is None:
            key = list(self._tail_key(self.contexts[c]))
            key[self.blind] = None
            t = self.tail_of[c] = self.tails.setdefault(tuple(key), len(self.tails))
        return t


class _ClientsBlind(_Blind):
    """The tail without the clients (a coordinator's answer to a client that no longer
    waits for it)."""

    blind = 0


class _SideBlind(_Blind):
    """The tail without the partition (a delivery across it, or a reachability, taken as
    the first recorded)."""

    blind = 2


class _TailKept(Kernel):
    """A hit that keeps the current context's parts but the nodes (the clients and the
    put table a delivery changes left as they were)."""

    def _context_after(self, c: int, written: Any, after: Any) -> int:
        ctx = self.contexts[c]
        return super()._context_after(c, written, (self._tail_key(ctx), ctx))


@pytest.mark.parametrize(("mutant", "name"), [
    (_UpsIgnored, "forwarding"), (_FirstNodeOnly, SLOPPY), (_ClientsBlind, SLOPPY),
    (_SideBlind, PARTITION), (_TailKept, SLOPPY)],
    ids=["ups-ignored", "first-node-only", "clients-blind", "side-blind", "tail-kept"])
def test_a_mutant_of_the_read_key_fails_the_comparison(mutant: Any, name: str) -> None:
    """Each mutant's walk meets a state whose successors differ from the spec's. (Not
    caught, measured: the up flags ignored on the partition configuration and
    strict-weak-quorum, whose steps read none; the put table or the hint records left out
    of the tail on sloppy-no-handoff, the partition configuration and strict-weak-quorum,
    where a change of them comes with a change of the nodes or the clients read.)"""
    _, problem = disagreement(mutant(_config(name), every=1 << 30), max_states=2_500)
    assert problem is not None


def test_a_read_outside_the_up_flag_in_reachable_raises(monkeypatch: pytest.MonkeyPatch
                                                         ) -> None:
    """Inside ``Edit.reachable`` the recorder's nodes give their up flags alone: a spec
    whose reachability read a node's coordinations (a mutant, monkeypatched) raises
    rather than being keyed by the up flag."""
    original = Edit.reachable

    def nosy(edit: Edit, a: str, b: str) -> bool:
        index = edit.plan.index
        return original(edit, a, b) and edit.nodes[index[b]].coord is not None

    monkeypatch.setattr(Edit, "reachable", nosy)
    with pytest.raises(AttributeError):
        disagreement(Kernel(_config("forwarding")), max_states=500)


def test_the_recorder_refuses_an_untracked_read_of_the_nodes() -> None:
    """A slice of the recorder's nodes would read nodes unnoted: refused."""
    from model_check.kernel import _NodeRecorder
    from spec.model import initial_state
    from spec.step import plan_of

    config = _config(SLOPPY)
    state: State = initial_state(config)
    recorder = _NodeRecorder(state, plan_of(config))
    with pytest.raises(AssertionError):
        recorder.nodes[0:2]
    assert recorder.nodes[-1] is state.nodes[-1]
    assert recorder.tracked.read == {len(state.nodes) - 1}

