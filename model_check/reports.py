"""The outcome of replaying a trace: its steps and report, and the replay exit statuses.

A leaf module (it imports no other module of the project), so that the spec's
replay (:mod:`model_check.replay`), the implementation's
(:mod:`model_check.refinement_replay`) and the command layer
(:mod:`vdynamo.replay_cli`) can all use these types without importing each other.

Exit status of ``vdynamo replay``: :data:`EXIT_OK` the trace replayed and the
property broke where recorded; :data:`EXIT_REFUSED` the trace was refused (a
step did not replay, or the property did not break); :data:`EXIT_USAGE` usage
error or unreadable trace.
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

__all__ = ["EXIT_OK", "EXIT_REFUSED", "EXIT_USAGE", "ReplayReport", "ReplayStep", "WitnessReport"]

EXIT_OK = 0
EXIT_REFUSED = 1
EXIT_USAGE = 2


@dataclass(frozen=True, slots=True)
class ReplayStep:
    """One replayed step: its number (1-based), the action, and the story line."""

    number: int
    action: Mapping[str, Any]
    narration: str


@dataclass(frozen=True, slots=True)
class ReplayReport:
    """The outcome of replaying a trace on a backend ("spec" or "impl")."""

    backend: str
    property: str
    steps: tuple[ReplayStep, ...]
    replayed: bool
    """Every step was enabled and reached the recorded state."""
    broke_at: int | None = None
    """The state index (0 = initial) where the property was seen broken, if it was."""
    reason: str = ""
    """Why the trace was refused, or how the property broke."""
    refused_at: int | None = None
    """The step number that did not replay (0: the initial state), when refused."""
    initial: str = ""
    notes: tuple[str, ...] = field(default_factory=tuple)

    @builtins.property
    def ok(self) -> bool:
        """Replayed in full, and the property broke."""
        return self.replayed and self.broke_at is not None

    @builtins.property
    def exit_code(self) -> int:
        return EXIT_OK if self.ok else EXIT_REFUSED

    def render(self) -> str:
        """The numbered story a person reads."""
        words = self._WORDS
        lines = [f"Replaying {words['title']} {self.property!r} on the {self.backend}."]
        if self.initial:
            lines.append(f"  0. {self.initial}")
        for step in self.steps:
            lines.append(f"{step.number:>3}. {step.narration}")
            if self.broke_at == step.number:
                lines.append(f"     *** {self.property} {words['here']}: {self.reason}")
        if self.broke_at == 0:
            lines.append(f"     *** {self.property} {words['initial']}: {self.reason}")
        lines.extend(f"  note: {note}" for note in self.notes)
        if not self.replayed:
            lines.append(f"REFUSED at step {self.refused_at}: {self.reason}")
        elif self.broke_at is None:
            lines.append(f"The trace replays, but {self.property} {words['missed']}: "
                         f"{self.reason}")
        else:
            count = len(self.steps)
            lines.append(f"Replayed {count} step{'' if count == 1 else 's'}: "
                         f"{self.property} {words['done']} "
                         f"(step {self.broke_at}).")
        return "\n".join(lines)

    _WORDS: ClassVar[Mapping[str, str]] = {
        "title": "a counterexample to", "here": "broke here",
        "initial": "is broken in the initial state", "missed": "did not break as recorded",
        "done": "is violated",
    }

    def to_json(self) -> dict[str, Any]:
        return {
            "backend": self.backend,
            "property": self.property,
            "replayed": self.replayed,
            "ok": self.ok,
            "broke_at": self.broke_at,
            "refused_at": self.refused_at,
            "reason": self.reason,
            "notes": list(self.notes),
            "steps": [
                {"number": s.number, "action": dict(s.action), "narration": s.narration}
                for s in self.steps
            ],
        }


@dataclass(frozen=True, slots=True)
class WitnessReport(ReplayReport):
    """The replay of a trace to a sometimes-property's witness: the same report, told
    as reaching the witness (``broke_at`` is where it was reached)."""

    _WORDS: ClassVar[Mapping[str, str]] = {
        "title": "a trace to a witness of", "here": "reached here",
        "initial": "is reached in the initial state", "missed": "was not reached",
        "done": "is reached",
    }
