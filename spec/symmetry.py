"""Symmetry reduction for the spec (identity until client symmetry lands)."""

from __future__ import annotations

from spec.state import State

__all__ = ["canonicalize"]


def canonicalize(state: State) -> State:
    """The symmetry representative of ``state``."""
    return state
