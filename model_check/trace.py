"""Counterexample traces: a versioned JSON schema, and the Informal Trace Format (ITF).

Theory of operation
-------------------
A :class:`Trace` is what a person (or ``vdynamo replay``) needs to follow a
counterexample: the configuration it ran on, the property it violates, the
actions taken (each ``Action.to_json()``), and a readable form of every state
(``describe(state)``), one more state than actions. It is plain JSON data and
carries no Python objects, so it is stable across processes and versions of
the code; replay re-derives the states from the configuration and the actions
and compares them with the recorded ones.

The native file (``Trace.save``) is::

    {"schema": "vdynamo-trace/1", "property": "...", "kind": "always",
     "description": "...", "config": {...}, "actions": [{...}, ...],
     "states": [{...}, ...], "violated_at": 3}

``kind`` is the property's expectation: ``always``, ``eventually`` (read also
from the older ``liveness``), ``sometimes`` (the trace leads to a witness, not
a counterexample) or ``deadlock``. ``violated_at`` is the index of the state
where the property is first seen broken (for an eventually-property: the first
state from which the target can no longer be reached; for a sometimes-property:
the witness state).

ITF (the Informal Trace Format of Apalache ADR-015, written by Apalache and
Quint, read by ``itf-py``) is supported both ways (:meth:`Trace.to_itf`,
:meth:`Trace.from_itf`, ``save(path, itf=True)``; ``load`` recognises either).
Each top-level key of ``describe(state)`` is an ITF variable; the action that
led to a state is the variable ``mbt::actionTaken`` (its ``kind``; ``"init"``
for the first state) and its other fields are the record ``mbt::nondetPicks``
(plain values; Quint's ``{"tag": "Some", "value": v}`` wrapping is accepted on
reading but not written, because ``itf-py`` cannot read it back). Values are
encoded with :func:`itf_encode`: tuples as ``#tup``, sets as ``#set``,
mappings as records when every key is an identifier (``itf-py`` turns records
into namedtuples) and as ``#map`` otherwise, integers beyond +-(2**53 - 1) as
``#bigint``, ``None`` as ``{"#unserializable": "null"}``. The configuration,
property and schema ride in ``#meta``.
"""

from __future__ import annotations

import json
import keyword
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from model_check.errors import TraceError

__all__ = [
    "ITF_ACTION",
    "ITF_PICKS",
    "SCHEMA",
    "Trace",
    "TraceError",
    "itf_decode",
    "itf_encode",
]

SCHEMA = "vdynamo-trace/1"
ITF_ACTION = "mbt::actionTaken"
ITF_PICKS = "mbt::nondetPicks"
ITF_DESCRIPTION = "https://apalache-mc.org/docs/adr/015adr-trace.html"
_KINDS = ("always", "eventually", "sometimes", "deadlock")
_OLD_KINDS = {"liveness": "eventually"}
"""Kinds written by earlier versions, read as today's."""
_ACTION_NAME_KEYS = ("kind", "type", "name", "action")
_SAFE_INT = 2**53 - 1
_NULL = "null"

JSON = Any


@dataclass(frozen=True, slots=True)
class Trace:
    """A counterexample: configuration, property, actions and a readable state per step."""

    config: Mapping[str, JSON]
    property: str
    kind: str
    actions: tuple[Mapping[str, JSON], ...]
    states: tuple[JSON, ...]
    description: str = ""
    violated_at: int | None = None
    extra: Mapping[str, JSON] = field(default_factory=dict)
    """Free-form metadata (e.g. the statistics of the run that found it)."""

    def __post_init__(self) -> None:
        if self.kind in _OLD_KINDS:
            object.__setattr__(self, "kind", _OLD_KINDS[self.kind])
        if self.kind not in _KINDS:
            raise TraceError(f"trace kind {self.kind!r}: expected one of {', '.join(_KINDS)}")
        if len(self.states) != len(self.actions) + 1:
            raise TraceError(
                f"trace has {len(self.actions)} actions and {len(self.states)} states: "
                "there must be exactly one more state than actions"
            )
        if self.violated_at is not None and not 0 <= self.violated_at < len(self.states):
            raise TraceError(
                f"violated_at={self.violated_at} is not a state index (0..{len(self.states) - 1})"
            )

    def __len__(self) -> int:
        """The number of steps."""
        return len(self.actions)

    # ------------------------------------------------------------------ native JSON
    def to_json(self) -> dict[str, JSON]:
        return {
            "schema": SCHEMA,
            "property": self.property,
            "kind": self.kind,
            "description": self.description,
            "violated_at": self.violated_at,
            "config": dict(self.config),
            "actions": [dict(a) for a in self.actions],
            "states": list(self.states),
            "extra": dict(self.extra),
        }

    @classmethod
    def from_json(cls, data: JSON) -> Trace:
        if not isinstance(data, Mapping):
            raise TraceError(f"a trace is a JSON object, got {type(data).__name__}")
        schema = data.get("schema")
        if schema != SCHEMA:
            raise TraceError(f"trace schema {schema!r} is not supported (expected {SCHEMA!r})")
        for key, kind in (("property", str), ("kind", str), ("config", Mapping),
                          ("actions", list), ("states", list)):
            if not isinstance(data.get(key), kind):
                raise TraceError(f"trace field {key!r} is missing or not a {kind.__name__}")
        for step, action in enumerate(data["actions"], start=1):
            if not isinstance(action, Mapping):
                raise TraceError(f"trace action at step {step} is not a JSON object")
        violated_at = data.get("violated_at")
        if violated_at is not None and (isinstance(violated_at, bool)
                                        or not isinstance(violated_at, int)):
            raise TraceError("trace field 'violated_at' must be an integer or null")
        return cls(
            config=data["config"],
            property=data["property"],
            kind=data["kind"],
            actions=tuple(data["actions"]),
            states=tuple(data["states"]),
            description=str(data.get("description", "")),
            violated_at=violated_at,
            extra=data.get("extra") or {},
        )

    # ------------------------------------------------------------------ ITF
    def to_itf(self) -> dict[str, JSON]:
        """This trace in the Informal Trace Format (Apalache ADR-015 / Quint)."""
        variables: list[str] = []
        states: list[dict[str, JSON]] = []
        wrapped = _needs_wrapping(self.states)
        for index, state in enumerate(self.states):
            record: Mapping[str, JSON] = {"state": state} if wrapped else state
            for name in record:
                if name not in variables:
                    variables.append(name)
            itf_state: dict[str, JSON] = {"#meta": {"index": index}}
            itf_state.update({name: itf_encode(value) for name, value in record.items()})
            if index == 0:
                itf_state[ITF_ACTION] = "init"
                itf_state[ITF_PICKS] = {}
            else:
                name, picks, _ = _split_action(self.actions[index - 1])
                itf_state[ITF_ACTION] = name
                itf_state[ITF_PICKS] = itf_encode(picks)
            states.append(itf_state)
        meta = {
            "format": "ITF",
            "format-description": ITF_DESCRIPTION,
            "source": "vdynamo",
            "description": self.description or f"counterexample to {self.property}",
            "vdynamo": {
                "schema": SCHEMA,
                "property": self.property,
                "kind": self.kind,
                "violated_at": self.violated_at,
                "config": itf_encode(dict(self.config)),
                "wrapped": wrapped,
                "action_keys": [_split_action(a)[2] for a in self.actions],
                "extra": itf_encode(dict(self.extra)),
            },
        }
        return {"#meta": meta, "vars": [*variables, ITF_ACTION, ITF_PICKS], "states": states}

    @classmethod
    def from_itf(cls, data: JSON) -> Trace:
        """Read an ITF trace; vdynamo's own ``#meta`` restores config and property."""
        if not isinstance(data, Mapping) or not isinstance(data.get("states"), list):
            raise TraceError("an ITF trace is a JSON object with a 'states' list")
        meta = data.get("#meta") or {}
        meta = meta if isinstance(meta, Mapping) else {}  # was an AttributeError (session 30)
        ours = meta.get("vdynamo")
        ours = ours if isinstance(ours, Mapping) else {}
        action_keys = ours.get("action_keys") or []
        states: list[JSON] = []
        actions: list[Mapping[str, JSON]] = []
        for index, raw in enumerate(data["states"]):
            if not isinstance(raw, Mapping):
                raise TraceError(f"ITF state {index} is not a JSON object")
            values = {
                key: itf_decode(value)
                for key, value in raw.items()
                if key not in ("#meta", ITF_ACTION, ITF_PICKS)
            }
            states.append(values["state"] if ours.get("wrapped") else values)
            if index == 0:
                continue
            name = raw.get(ITF_ACTION)
            if not isinstance(name, str):
                raise TraceError(f"ITF state {index} has no {ITF_ACTION!r}: cannot tell the action")
            picks = raw.get(ITF_PICKS) or {}
            if isinstance(picks, Mapping) and "#map" in picks:
                picks = {str(k): v for k, v in itf_decode(picks).items()}
                picks = {k: itf_encode(v) for k, v in picks.items()}
            if not isinstance(picks, Mapping):
                raise TraceError(f"ITF state {index}: {ITF_PICKS!r} is not a record")
            key = action_keys[index - 1] if index - 1 < len(action_keys) else "kind"
            action: dict[str, JSON] = {key: name}
            for pick, value in picks.items():
                if isinstance(value, Mapping) and value.get("tag") in ("Some", "None"):
                    if value["tag"] == "Some":
                        action[pick] = _jsonable(itf_decode(value["value"]))
                else:
                    action[pick] = _jsonable(itf_decode(value))
            actions.append(action)
        config = itf_decode(ours.get("config", {}))
        violated_at = ours.get("violated_at")
        if violated_at is not None and (isinstance(violated_at, bool)
                                        or not isinstance(violated_at, int)):
            raise TraceError("ITF #meta's violated_at must be an integer or null")
        return cls(
            config=config if isinstance(config, Mapping) else {},
            property=str(ours.get("property", meta.get("description", "unknown"))),
            kind=str(ours.get("kind", "always")),
            actions=tuple(actions),
            states=tuple(_jsonable(s) for s in states),
            description=str(meta.get("description", "")),
            violated_at=violated_at,
            extra=_jsonable(itf_decode(ours.get("extra", {}))),
        )

    # ------------------------------------------------------------------ files
    def save(self, path: str | Path, *, itf: bool = False) -> Path:
        """Write the trace (native schema, or ITF when ``itf``); returns the path."""
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        data = self.to_itf() if itf else self.to_json()
        target.write_text(json.dumps(data, indent=1, sort_keys=False) + "\n", encoding="utf-8")
        return target

    @classmethod
    def load(cls, path: str | Path) -> Trace:
        """Read a trace file, native or ITF (recognised by its ``#meta``).

        Raises :class:`~model_check.errors.TraceError` when the file cannot be read, is
        not UTF-8 text, is not JSON, or is not a trace."""
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except OSError as error:
            raise TraceError(f"cannot read trace {path}: {error.strerror or error}") from error
        except json.JSONDecodeError as error:
            raise TraceError(f"trace {path} is not JSON: {error}") from error
        except UnicodeDecodeError as error:  # a binary file (session 30's probe)
            raise TraceError(f"trace {path} is not UTF-8 text (JSON is UTF-8): byte "
                             f"{error.object[error.start]:#04x} at offset {error.start}"
                             ) from error
        if isinstance(data, Mapping) and "#meta" in data and "schema" not in data:
            return cls.from_itf(data)
        return cls.from_json(data)


def _needs_wrapping(states: Sequence[JSON]) -> bool:
    """Whether the states are not all records (then each is the ITF variable ``state``)."""
    return not all(
        isinstance(s, Mapping) and all(isinstance(k, str) and not k.startswith(("#", "mbt::"))
                                       for k in s)
        for s in states
    )


def _split_action(action: Mapping[str, JSON]) -> tuple[str, dict[str, JSON], str]:
    """(name, the other fields, which key held the name)."""
    for key in _ACTION_NAME_KEYS:
        value = action.get(key)
        if isinstance(value, str):
            return value, {k: v for k, v in action.items() if k != key}, key
    return "step", dict(action), "kind"


def itf_encode(value: object) -> JSON:
    """A Python value as an ITF value (see the module docstring for the mapping)."""
    if value is None:
        return {"#unserializable": _NULL}
    if isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        return value if -_SAFE_INT <= value <= _SAFE_INT else {"#bigint": str(value)}
    if isinstance(value, float):
        return {"#unserializable": repr(value)}
    if isinstance(value, tuple):
        return {"#tup": [itf_encode(v) for v in value]}
    if isinstance(value, frozenset | set):
        items = [itf_encode(v) for v in value]
        return {"#set": sorted(items, key=lambda v: json.dumps(v, sort_keys=True))}
    if isinstance(value, Mapping):
        if all(_is_field_name(k) for k in value):
            return {k: itf_encode(v) for k, v in value.items()}
        pairs = [[itf_encode(k), itf_encode(v)] for k, v in value.items()]
        return {"#map": sorted(pairs, key=lambda p: json.dumps(p[0], sort_keys=True))}
    if isinstance(value, Sequence):
        return [itf_encode(v) for v in value]
    raise TraceError(f"cannot encode a {type(value).__name__} in ITF: {value!r}")


_BIGINT = re.compile(r"-?[0-9]+")


def itf_decode(value: JSON) -> Any:
    """An ITF value as Python: ``#tup`` -> tuple, ``#set`` -> frozenset, ``#map`` -> dict.

    Raises :class:`TraceError` for a malformed marker (a ``#bigint`` that is not an
    integer's digits, a ``#tup`` or ``#set`` that is not a list, a ``#map`` that is not
    a list of pairs: tracebacks before session 30)."""
    if isinstance(value, list):
        return [itf_decode(v) for v in value]
    if not isinstance(value, Mapping):
        return value
    if "#bigint" in value:
        digits = value["#bigint"]
        if not isinstance(digits, str) or not _BIGINT.fullmatch(digits):
            raise TraceError(f"ITF #bigint must be a string of digits, got {digits!r}")
        return int(digits)
    for marker in ("#tup", "#set", "#map"):
        if marker in value and not isinstance(value[marker], list):
            raise TraceError(f"ITF {marker} must be a list, got {value[marker]!r}")
    if "#tup" in value:
        return tuple(itf_decode(v) for v in value["#tup"])
    if "#set" in value:
        return frozenset(_hashable(itf_decode(v)) for v in value["#set"])
    if "#map" in value:
        pairs = value["#map"]
        if not all(isinstance(pair, list) and len(pair) == 2 for pair in pairs):
            raise TraceError(f"ITF #map must be a list of [key, value] pairs, got {pairs!r}")
        return {_hashable(itf_decode(k)): itf_decode(v) for k, v in pairs}
    if "#unserializable" in value:
        text = value["#unserializable"]
        if text == _NULL:
            return None
        try:
            return float(text)
        except (TypeError, ValueError):
            return text
    return {k: itf_decode(v) for k, v in value.items()}


def _is_field_name(key: object) -> bool:
    """A record field name that ITF readers accept (itf-py makes namedtuples of records)."""
    return (
        isinstance(key, str) and key.isidentifier() and not keyword.iskeyword(key)
        and not key.startswith("_")
    )


def _hashable(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(_hashable(v) for v in value)
    if isinstance(value, dict):
        return frozenset((k, _hashable(v)) for k, v in value.items())
    return value


def _jsonable(value: Any) -> JSON:
    """Back to plain JSON data (tuples and sets become lists) for a native trace."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, frozenset | set):
        return sorted((_jsonable(v) for v in value), key=lambda v: json.dumps(v, sort_keys=True))
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)
    return value
