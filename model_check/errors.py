"""The model checker's errors, all in the package's one hierarchy (:mod:`spec.errors`).

* Errors of the caller's input are :class:`~spec.errors.LocalError`: a request
  that cannot be checked (:class:`CheckError`, and :class:`UnknownNameError` for
  a property or suite entry that does not exist), a trace file that does not
  follow the schema (:class:`TraceError`), arguments a proof cannot be built
  from (:class:`ProofInputError`). They also derive from ``ValueError`` (and
  ``KeyError`` for a lookup), so code written against the built-in kinds keeps
  working. An invalid configuration is always :class:`spec.errors.ConfigError`.
* Errors of the checker's own machinery are plain
  :class:`~spec.errors.DynamoError`: a transition system that broke a rule the
  explorer relies on (:class:`ExplorationError`), a proof that Z3 answered in a
  form it cannot read (:class:`ProofError`).
"""

from __future__ import annotations

from spec.errors import DynamoError, LocalError

__all__ = [
    "CheckError",
    "ExplorationError",
    "ProofError",
    "ProofInputError",
    "TraceError",
    "UnknownNameError",
]


class CheckError(LocalError, ValueError):
    """A request that cannot be checked (unknown property, bad bound); says which."""


class UnknownNameError(CheckError, KeyError):
    """A property, a result or a suite entry asked for by a name that does not exist."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class TraceError(LocalError, ValueError):
    """A trace file or value that does not follow the schema (the message says where)."""


class ExplorationError(DynamoError, RuntimeError):
    """The transition system broke a rule the explorer relies on (e.g. determinism)."""


class ProofError(DynamoError):
    """A proof's encoding was misused, or Z3 answered in a form it cannot read."""


class ProofInputError(ProofError, LocalError, ValueError):
    """Arguments a proof's encoding cannot be built from (the message names them)."""
