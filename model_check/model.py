"""The model protocol: what the checker needs of a transition system.

Theory of operation
-------------------
The explorer, :func:`model_check.check.check`, :mod:`model_check.liveness` and
:mod:`model_check.replay` know nothing of Dynamo: they take a *model* as a value
and use only the members of :class:`Model` (Stateright's ``Model`` trait has the
same shape: ``init_states``, ``actions``/``next_state``, ``format_action``).

* :class:`TransitionSystem` is what exploring needs: the initial states, the
  enabled steps of a state as ``(action, state)`` pairs in a deterministic order
  (a counterexample is rebuilt by re-running ``successors``), and a canonical
  form for symmetry reduction (the identity when there is no symmetry).
* :class:`Model` adds what checking and replaying need: which actions are faults
  (the liveness check follows fault-free steps), a readable form of a state
  (``describe``: JSON data, recorded in traces and compared on replay), one line
  per step for a person (``narrate``, ``narrate_initial``), and actions to and
  from JSON. The target of a liveness check (``converged``) is not the model's:
  it belongs to the eventually-property (:mod:`model_check.properties`).

This module knows nothing of Dynamo. A model is bound to one configuration:
:func:`model_check.spec_model.spec_model` gives the spec's model for a
configuration, and is the one place in ``model_check`` that names the spec's
transition functions.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol, TypeVar

__all__ = ["JSON", "Model", "TransitionSystem"]

S = TypeVar("S")
A = TypeVar("A")
A_co = TypeVar("A_co", covariant=True)
JSON = Any
"""A JSON value: dicts, lists, strings, numbers, booleans, None."""


class TransitionSystem(Protocol[S, A_co]):
    """What the explorer needs: initial states, successors, a canonical form."""

    def initial_states(self) -> Sequence[S]:
        """The states a run starts from (at least one)."""
        ...

    def successors(self, state: S) -> Iterable[tuple[A_co, S]]:
        """Every enabled step of ``state`` as ``(action, next state)``, in a fixed order."""
        ...

    def canonicalize(self, state: S) -> S:
        """The representative of ``state``'s symmetry class (equal for symmetric states)."""
        ...


class Model(TransitionSystem[S, A], Protocol[S, A]):
    """A transition system that can be checked, explained and replayed."""

    def is_fault(self, action: A) -> bool:
        """Whether ``action`` is a fault (the liveness check follows fault-free steps)."""
        ...

    def describe(self, state: S) -> dict[str, JSON]:
        """A readable form of ``state`` as JSON data (equal states describe equally)."""
        ...

    def narrate(self, before: S, action: A, after: S) -> str:
        """One line a person can follow for the step ``before --action--> after``."""
        ...

    def narrate_initial(self, state: S) -> str:
        """One line summing up an initial state."""
        ...

    def action_to_json(self, action: A) -> dict[str, JSON]:
        """``action`` as JSON data (read back by :meth:`action_from_json`)."""
        ...

    def action_from_json(self, data: Mapping[str, JSON]) -> A:
        """The action recorded as ``data``; raises ``ValueError``/``KeyError``/``TypeError``
        for data that is not an action of this model."""
        ...
