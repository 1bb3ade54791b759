"""The properties asked of packed states, a part of the state at a time (issue 13, session 55).

Theory of operation
-------------------
Over the packed states of :mod:`model_check.kernel` (``(context, messages, budget)``
ids), :func:`model_check.check.check` asks the properties of the spec's state. Asked
one at a time, each of a decoded state, they were about a third of the search's CPU
(docs/model-checking.md, "The explorer's per-state work (session 55)"). Here the ones
that read few parts are asked once per distinct value of those parts, by id:

* **the convergence marker** (:func:`spec.model.converged`, the target of
  ``convergence``) reads the nodes, the membership and, of the messages, only
  whether one is in flight (:data:`FLIGHT_PARTS`): :func:`flight_predicate` caches
  it per (context id, any message in flight);
* **the state witnesses** (sometimes-properties' ``holds``): those of
  :data:`~model_check.kernel.CONTEXT_WITNESS_PARTS` read the context alone and those
  of :data:`FLIGHT_PARTS` the context and whether a message is in flight:
  :class:`PackedWitnesses` answers for all of them at once, one call per state (a
  :class:`~model_check.explorer.WitnessGroup`), with the names that hold cached per
  (context id, any message in flight) as one frozenset, not a dozen asks.

Each is computed on a miss by the property as :mod:`model_check.properties` defines it
(the same function object: a mutated or a user's property of the same name is asked as
before, on the decoded state), on a view of the decoded state in which only the parts
it declares are readable (as :func:`model_check.spec_memo.memo_predicate`): a property
that reads another part, or more of the messages than whether there is one, raises
``AssertionError`` rather than answering from too small a key.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NoReturn

from model_check.kernel import CONTEXT_WITNESS_PARTS, KernelModel, Packed
from model_check.properties import PROPERTIES
from model_check.spec_memo import LIMIT, _view, memo_predicate
from spec.state import State

__all__ = ["FLIGHT_PARTS", "PackedWitnesses", "flight_predicate", "ours"]

FLIGHT_PARTS: dict[str, tuple[str, ...]] = {
    "convergence": ("nodes", "membership"),
    "converged_after_a_write": ("nodes", "membership"),
}
"""The parts of the context each of these properties reads, besides whether any
message is in flight (:func:`spec.model.converged`: no message in flight, no hint
left, every key's current top N (:func:`spec.membership.current_top`: the membership)
holding one set of versions)."""

_NOTHING: frozenset[str] = frozenset()


class _InFlight:
    """The messages of a view of a state with some in flight: true, and nothing else
    of it readable."""

    __slots__ = ()

    def __bool__(self) -> bool:
        return True

    def _refuse(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise AssertionError("a property of FLIGHT_PARTS read more of the messages than "
                             "whether one is in flight")

    __len__ = __iter__ = __getitem__ = __contains__ = __eq__ = __hash__ = _refuse


_IN_FLIGHT = _InFlight()


def _flight_view(state: State, parts: tuple[str, ...]) -> State:
    """``state`` with ``parts`` readable and, of its messages, whether one is in flight."""
    return _with_messages(_view(state, parts), _IN_FLIGHT if state.messages else ())


def _with_messages(view: State, messages: object) -> State:
    """``view`` (a fresh view of :func:`~model_check.spec_memo._view`) with ``messages``."""
    object.__setattr__(view, "messages", messages)
    return view


def _on_flight_view(holds: Callable[[State], bool], parts: tuple[str, ...]
                    ) -> Callable[[State], bool]:
    """``holds`` asked of the view of ``parts`` and whether a message is in flight."""
    return lambda state: bool(holds(_flight_view(state, parts)))


def ours(name: str, holds: Callable[[State], bool] | None) -> bool:
    """Whether ``holds`` is property ``name``'s as :mod:`model_check.properties`
    defines it (a mutated or a user's property is asked as given)."""
    known = PROPERTIES.get(name)
    return known is not None and holds is not None and known.holds is holds


def flight_predicate(model: KernelModel, holds: Callable[[State], bool],
                     parts: tuple[str, ...]) -> Callable[[Packed], bool]:
    """``holds`` (a property of :data:`FLIGHT_PARTS`, reading ``parts`` of the context
    and whether a message is in flight) asked of a packed state, its answer cached per
    (context id, any message in flight), bounded by
    :data:`~model_check.spec_memo.LIMIT` entries."""
    decode, tuples = model.decode, model.kernel.message_tuples
    cache: dict[int, bool] = {}
    get = cache.get
    # on a miss: per the hashes of ``parts`` (fewer than the contexts: 769 nodes tuples
    # in 1,585 contexts on strict-dvv), with and without a message in flight
    empty = memo_predicate(lambda view: holds(_with_messages(view, ())), parts)
    flying = memo_predicate(lambda view: holds(_with_messages(view, _IN_FLIGHT)), parts)

    def asked(packed: Packed) -> bool:
        c = packed[0]
        key = -1 - c if tuples[packed[1]][0] else c
        answer = get(key)
        if answer is None:
            if len(cache) >= LIMIT:
                cache.clear()
            answer = cache[key] = bool((flying if key < 0 else empty)(decode(packed)))
        return answer

    return asked


class PackedWitnesses:
    """The state witnesses of ``witnesses`` (name -> predicate) that read the context
    alone (:data:`~model_check.kernel.CONTEXT_WITNESS_PARTS`) or the context and whether a
    message is in flight (:data:`FLIGHT_PARTS`), as :mod:`model_check.properties` defines
    them, asked of packed states at once: a
    :class:`~model_check.explorer.WitnessGroup`. ``names`` are those it answers for (the
    rest of ``witnesses`` the caller asks one by one); a call gives the names that hold,
    cached per context id (per (context id, any message in flight) while a witness of
    :data:`FLIGHT_PARTS` is asked), bounded by :data:`~model_check.spec_memo.LIMIT`
    entries."""

    def __init__(self, model: KernelModel,
                 witnesses: dict[str, Callable[[State], bool]]) -> None:
        self.decode = model.decode
        self.tuples = model.kernel.message_tuples
        #: (name, the witness on the decoded state, reads whether a message is in
        #: flight): a context witness memoised per the hashes of the parts it reads
        #: (:func:`~model_check.spec_memo.memo_predicate`: they repeat more than the
        #: contexts, e.g. 21 clients tuples in 1,585 contexts on strict-dvv), a flight
        #: witness on the view of :func:`flight_predicate`
        self.asked: list[tuple[str, Callable[[State], bool], bool]] = [
            (name, _on_flight_view(holds, FLIGHT_PARTS[name]), True) if name in FLIGHT_PARTS
            else (name, memo_predicate(holds, CONTEXT_WITNESS_PARTS[name]), False)
            for name, holds in witnesses.items()
            if (name in CONTEXT_WITNESS_PARTS or name in FLIGHT_PARTS) and ours(name, holds)]
        self.names = frozenset([name for name, _, _ in self.asked])
        self.flight = any(flight for _, _, flight in self.asked)
        #: context id (or -1 - it, with a message in flight) -> the names that hold
        self.cache: dict[int, frozenset[str]] = {}

    def __call__(self, packed: Packed) -> frozenset[str]:
        c = packed[0]
        key = -1 - c if self.flight and self.tuples[packed[1]][0] else c
        held = self.cache.get(key)
        if held is None:
            if len(self.cache) >= LIMIT:
                self.cache.clear()
            state = self.decode(packed)
            held = frozenset([name for name, holds, _ in self.asked if holds(state)]) or _NOTHING
            self.cache[key] = held
        return held

    def drop(self, name: str) -> None:
        """Stop asking ``name`` (found). The cached answers stay: a name found is ignored
        (:class:`~model_check.explorer.WitnessGroup`), and once no witness of
        :data:`FLIGHT_PARTS` is left the key is the context id alone, under which the
        answers cached for the context with no message in flight are those of the
        context witnesses."""
        self.asked = [item for item in self.asked if item[0] != name]
        self.flight = any(flight for _, _, flight in self.asked)
