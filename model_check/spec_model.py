"""The spec (:mod:`spec.model`) as a :class:`~model_check.model.Model`: the one binding.

Theory of operation
-------------------
Everything in ``model_check`` that explores, checks or replays the spec gets the
spec as a value, ``spec_model(config)``, and uses only the members of the
:class:`~model_check.model.Model` protocol; this module is the one place that
names the spec's transition functions. They are bound as static methods, so the
explorer calls them directly and pays nothing for the indirection (``successors``
is a method: one call per state). mypy checks that the binding satisfies the
protocol (``_BINDING``).

With ``memo`` (the default) ``successors`` goes through a
:class:`~model_check.spec_memo.MemoSuccessors` of this model: the same steps in
the same order, each distinct step effect computed once (its caches live as long
as the model); ``spec_model(config, memo=False)`` binds the spec's function itself.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from operator import attrgetter

from model_check.model import JSON, Model
from model_check.spec_memo import MemoSuccessors, memo_available
from spec import model as _spec
from spec.actions import Action, Deliver, Drop, Duplicate, action_from_json
from spec.config import Config
from spec.state import State

__all__ = ["SpecModel", "action_kind", "spec_model"]

_CARRIERS = (Deliver, Drop, Duplicate)
"""The actions that carry a message (its kind is part of :meth:`SpecModel.step_key`)."""


@dataclass(frozen=True, slots=True)
class SpecModel:
    """The Dynamo spec (:mod:`spec.model`) as a :class:`Model` for one configuration."""

    config: Config
    memo: bool = True
    """Memoised successors (:mod:`model_check.spec_memo`); off with the compiled spec."""
    memoised_successors: MemoSuccessors | None = field(init=False, repr=False, compare=False)
    """The memo, its caches and counters (None when off)."""

    def __post_init__(self) -> None:
        # (session 55) the memo's cached steps do not carry State.rebuilding
        rebuilds = self.config.rebuild and self.config.disk_losses
        memo = MemoSuccessors() if self.memo and memo_available() and not rebuilds else None
        object.__setattr__(self, "memoised_successors", memo)

    def successors(self, state: State) -> Iterator[tuple[Action, State]]:
        """:func:`spec.model.successors`, through the memo when it is on."""
        memo = self.memoised_successors
        return _spec.successors(state) if memo is None else memo(state)

    canonicalize = staticmethod(_spec.canonicalize)
    is_fault = staticmethod(_spec.is_fault)
    # class attributes, not dataclass fields: a subclass that is a dataclass without
    # slots (tests/run_cache.py's _KindRecorder) would not inherit a field's default
    # (its __init__ leaves an init=False field to the class attribute, which the slot
    # replaced): check() failed on it (session 40's review)
    fault_free = staticmethod(attrgetter("fault_free"))
    """``not is_fault(action)`` in C (the action class's ``fault_free``, spec/actions.py):
    the liveness graph's edge filter, asked on every transition (issue 13, session 39)."""
    fingerprint = staticmethod(attrgetter("_hash"))
    """``hash(state)`` in C (the hash a spec state caches): the explorer's fingerprint."""

    @staticmethod
    def step_key(action: Action) -> object:
        """What a step witness's :meth:`~model_check.properties.Property.can_hold` reads
        of an action: its class, and for a message's delivery, drop or duplication the
        message's kind too (the explorer's ``step_key``: session 44)."""
        if isinstance(action, _CARRIERS):
            return (type(action), action.message.kind)
        return type(action)

    @property
    def canonical_identity(self) -> bool:
        """Whether :meth:`canonicalize` is the identity here: one client (nothing to
        permute) and the spec's own canonical form (a subclass may change it), so the
        explorer need not call it on every successor."""
        return self.config.clients < 2 and self.canonicalize is _spec.canonicalize

    describe = staticmethod(_spec.describe)
    narrate = staticmethod(_spec.narrate)

    @property
    def memoised(self) -> bool:
        """Whether the successors are memoised (``memo``, and not the compiled spec)."""
        return self.memoised_successors is not None

    def initial_states(self) -> tuple[State]:
        return (_spec.initial_state(self.config),)

    def narrate_initial(self, state: State) -> str:
        return "initial state: " + "; ".join(
            f"{key} {_summary(value)}" for key, value in self.describe(state).items()
        )

    def action_to_json(self, action: Action) -> dict[str, JSON]:
        return action.to_json()

    def action_from_json(self, data: Mapping[str, JSON]) -> Action:
        return action_from_json(dict(data))


def spec_model(config: Config, memo: bool = True) -> SpecModel:
    """The spec's model for ``config`` (the one binding of the spec in ``model_check``);
    ``memo``: memoised successors (:mod:`model_check.spec_memo`)."""
    return SpecModel(config, memo)


def action_kind(action: Action) -> str:
    """The kind of a spec action for the swarm simulation (:mod:`model_check.simulate`):
    its name (``"client-put"``, ``"crash"`` ...), and for a message's delivery, drop or
    duplication the message's kind too (``"deliver/replica-put"``)."""
    if isinstance(action, Deliver | Drop | Duplicate):
        return f"{action.kind}/{action.message.kind.value}"
    return action.kind


def _summary(value: JSON) -> str:
    """A short readable summary of one part of a described state."""
    if isinstance(value, Mapping):
        if not value:
            return "none"
        if all(not isinstance(v, Mapping | list) for v in value.values()):
            return ", ".join(f"{k}={json.dumps(v)}" for k, v in value.items())
        return ", ".join(str(k) for k in value)
    if isinstance(value, list):
        return "none" if not value else f"{len(value)} item{'s' if len(value) > 1 else ''}"
    return "none" if value is None else json.dumps(value)


# A static check (mypy) that the spec's binding satisfies the protocol.
_BINDING: Callable[[Config], Model[State, Action]] = spec_model
