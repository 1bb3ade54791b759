"""Snapshots of a running lockstep: the implementation cluster and the spec frontier
copied whole, so a state reached once is the start of many steps (issue 12, section 2).

Theory of operation
-------------------
:class:`LockstepSnapshot` pickles the whole object graph of a
:class:`~model_check.refinement.Lockstep` (the simulated cluster with its nodes,
their mechanisms, timers, storage engines and messages in flight, and the harness's
bookkeeping) into bytes; :meth:`LockstepSnapshot.restore` unpickles a new, independent
copy, as many times as wanted. Nothing of the implementation is asked to cooperate:
the copy is of its objects as they are.

Three things a plain copy gets wrong, and what the pickler does instead:

- a node's dispatch tables hold lambdas closing over its mechanisms
  (``lambda now, src, message: self.on_replica_put(src, message)``), and the
  cluster hands its simulator ``self.storages.__getitem__``: ``copy.deepcopy``
  copies functions and built-in methods *by reference*, so a deep-copied node would
  handle its messages with the original's mechanisms. Here a function with a
  closure is rebuilt around copied cells (cells shared by two lambdas stay
  shared), and a bound built-in method is rebound to the copy of its object
  (pickle's own rule);
- ``impl.storage.watched.WatchedStorage`` forwards unknown attributes to its engine in
  ``__getattr__``; both ``copy.deepcopy`` and the unpickler look up
  ``__setstate__`` on the still empty object, which recurses without end. An
  object whose class defines ``__getattr__`` is rebuilt slot by slot;
- a bound method pickles (pickle's own rule) as ``getattr(self, name)`` with the
  name its function was defined under: a method replaced on its class by a function
  of another name (a monkeypatched mutant, ``Reaper.on_timer = timed``) is not found
  under that name on restore (AttributeError, session 12), and a function defined
  inside another one (``<locals>``) cannot be pickled by reference at all. A bound
  method its object's attribute of that name does not give is rebuilt as
  ``types.MethodType(function, copy of self)``, and a function without a closure
  that its module does not hold under its qualified name is rebuilt from its code
  like a closure's;
- frozen dataclasses are values in this code base (STYLE: messages, actions,
  versions, configurations; DESIGN: the spec's states), so they are *shared*
  between the original and its copies, not copied (the frontier's spec states,
  the configurations, the records and messages): that is most of the work saved.

Measured (CPU time, a ``dvv-same-coordinator`` lockstep after 8 steps, 29 KB
pickled): ``copy.deepcopy`` with the same fixes 3.2 ms per copy; a capture 0.75 ms
(once per state), a restore 0.8 ms (once per edge); replaying the 8 steps on a
fresh lockstep 6.1 ms. An ``itertools.count`` (a node's op ids) is pickled by its
next value, read from its ``repr``, so the snapshot does not rely on the pickling
support Python 3.14 removed; a ``random.Random`` is restored from its state without
seeding it from the OS first, and that state (an immutable tuple of 625 ints, half a
snapshot's bytes) is shared like a frozen value, not pickled int by int.

Speed (session 17): the shared values are reached through one ``operator.getitem``
per value of a list the restore sets for its unpickling (no ``find_class`` override:
the C unpickler resolves every global itself); the pickler decides each class's rule
once per snapshot; a function's ``_Code`` is made once per code object. A
``strict-weak-quorum`` lockstep after a put and three deliveries: 31.6 -> 16.6 KB,
a capture about 1.1 -> 0.94 ms, a restore about 1.1 -> 1.04 ms (``/tmp/sn/bench.py``
of the session, the two arms one after the other, best of seven).
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib
import io
import operator
import pickle
import random
import re
import sys
import types
from itertools import count
from typing import Any

from model_check.refinement import Lockstep

__all__ = ["LockstepSnapshot"]

_COUNT = re.compile(r"count\((-?\d+)\)")


@dataclasses.dataclass(frozen=True, slots=True)
class _Code:
    """What a function is besides its closure (shared by the original and its copies,
    as a frozen value)."""

    code: types.CodeType
    globals: dict[str, Any]
    name: str
    defaults: tuple[Any, ...] | None
    kwdefaults: dict[str, Any] | None


def _function(code: _Code, closure: tuple[types.CellType, ...]) -> types.FunctionType:
    made = types.FunctionType(code.code, code.globals, code.name, code.defaults, closure)
    made.__kwdefaults__ = code.kwdefaults
    return made


def _cell() -> types.CellType:
    return types.CellType()


def _fill_cell(cell: types.CellType, contents: object) -> None:
    cell.cell_contents = contents


def _bare(cls: type) -> object:
    return object.__new__(cls)


def _fill_slots(instance: object, state: dict[str, Any]) -> None:
    for name, value in state.items():
        object.__setattr__(instance, name, value)


def _counter(start: int) -> count[int]:
    return count(start)


def _slot_state(obj: object, cls: type) -> dict[str, Any]:
    """An object's attributes, read past its ``__getattr__``."""
    names = [n for klass in cls.__mro__ for n in getattr(klass, "__slots__", ())
             if n not in ("__dict__", "__weakref__")]
    state = {n: object.__getattribute__(obj, n) for n in names}
    with contextlib.suppress(AttributeError):  # slots only: no __dict__
        state.update(object.__getattribute__(obj, "__dict__"))
    return state


def _by_reference(function: types.FunctionType) -> bool:
    """Whether pickle's rule for a function (its module's attribute of its qualified
    name) finds ``function`` itself."""
    found: Any = sys.modules.get(function.__module__)
    for part in function.__qualname__.split("."):
        found = getattr(found, part, None)
    return found is function


def _method(function: Any, owner: object) -> types.MethodType:
    return types.MethodType(function, owner)


#: the shared values of the snapshot being restored (set by :meth:`LockstepSnapshot.restore`
#: for the length of one unpickling: the unpickler resolves the globals itself, in C)
_RESTORING: list[object] | None = None


class _SharedValues:
    """Stands for the restored snapshot's list of shared values: pickled once per
    snapshot (pickle's memo), as a call of :func:`_restoring`."""

    __slots__ = ()


def _restoring() -> list[object]:
    if _RESTORING is None:
        raise AssertionError("a snapshot's shared values were unpickled outside a snapshot")
    return _RESTORING


def _shared(index: int) -> object:
    """``shared[index]`` of the snapshot being restored."""
    return _restoring()[index]


@dataclasses.dataclass(frozen=True, slots=True)
class _RandomState:
    """A generator's state (``random.Random.getstate()``, an immutable tuple): a frozen
    value, so it is shared, not pickled int by int (625 ints, half a snapshot's bytes)."""

    state: tuple[Any, ...]


def _random(state: _RandomState) -> random.Random:
    made = random.Random.__new__(random.Random)  # not seeded from the OS: restored
    made.setstate(state.state)
    return made


class _Pickler(pickle.Pickler):
    """Pickles a lockstep's object graph (see the module docstring); a frozen
    dataclass instance goes to ``shared``, by reference."""

    def __init__(self, file: io.BytesIO) -> None:
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self.shared: list[object] = []
        self._kinds: dict[type, int] = {}
        self._values = _SharedValues()

    def reducer_override(self, obj: Any) -> Any:
        # called once per object pickle does not know yet (not for ints, strings,
        # tuples, lists, dicts, sets; pickle's memo keeps each object's identity)
        cls = type(obj)
        kind = self._kinds.get(cls)
        if kind is None:
            kind = self._kinds[cls] = _kind(cls)
        if kind == _PLAIN:
            return NotImplemented
        if kind == _FROZEN:
            self.shared.append(obj)
            return operator.getitem, (self._values, len(self.shared) - 1)
        if kind == _METHOD:
            if getattr(obj.__self__, obj.__func__.__name__, None) == obj:
                return NotImplemented  # getattr(self, name), as pickle does
            return _method, (obj.__func__, obj.__self__)  # a method set under another name
        if kind == _FUNCTION:
            if obj.__closure__ is None and _by_reference(obj):
                return NotImplemented  # by reference, as pickle does
            return _function, (_code(obj), obj.__closure__)
        if kind == _CELL:
            return _cell, (), obj.cell_contents, None, None, _fill_cell
        if kind == _SHARED_VALUES:
            return _restoring, ()
        if kind == _RANDOM:
            return _random, (_RandomState(obj.getstate()),)
        if kind == _MODULE:
            return importlib.import_module, (obj.__name__,)
        if kind == _COUNTER:
            matched = _COUNT.fullmatch(repr(obj))
            if matched is None:
                raise pickle.PicklingError(f"cannot snapshot {obj!r} (a step other than 1)")
            return _counter, (int(matched.group(1)),)
        return _bare, (cls,), _slot_state(obj, cls), None, None, _fill_slots  # _GETATTR


(_PLAIN, _FROZEN, _METHOD, _FUNCTION, _CELL, _SHARED_VALUES, _RANDOM, _MODULE, _COUNTER,
 _GETATTR) = range(10)

_KIND_OF_TYPE = {types.MethodType: _METHOD, types.FunctionType: _FUNCTION,
                 types.CellType: _CELL, _SharedValues: _SHARED_VALUES,
                 random.Random: _RANDOM, types.ModuleType: _MODULE, count: _COUNTER}


def _kind(cls: type) -> int:
    """How :class:`_Pickler` copies an instance of ``cls`` (the order of its rules:
    frozen dataclass first; a class itself, an instance of a metaclass, is plain)."""
    if issubclass(cls, type):
        return _PLAIN
    params = getattr(cls, "__dataclass_params__", None)
    if params is not None and params.frozen:
        return _FROZEN
    if cls in _KIND_OF_TYPE:
        return _KIND_OF_TYPE[cls]
    return _GETATTR if "__getattr__" in cls.__dict__ else _PLAIN


#: a function's :class:`_Code` by its code object (the same code, globals, name and
#: defaults give the same ``_Code``: a function and its restored copies share them)
_CODES: dict[types.CodeType, _Code] = {}


def _code(function: types.FunctionType) -> _Code:
    known = _CODES.get(function.__code__)
    if (known is not None and known.globals is function.__globals__
            and known.name == function.__name__ and known.defaults is function.__defaults__
            and known.kwdefaults is function.__kwdefaults__):
        return known
    made = _CODES[function.__code__] = _Code(
        function.__code__, function.__globals__, function.__name__, function.__defaults__,
        function.__kwdefaults__)
    return made


class LockstepSnapshot:
    """A lockstep frozen as it is now; :meth:`restore` gives a new, independent
    lockstep in the same state (the original may go on or be discarded). Raises
    ``pickle.PicklingError`` for an object it cannot copy (none in the lockstep)."""

    __slots__ = ("_blob", "_shared")

    def __init__(self, lockstep: Lockstep) -> None:
        buffer = io.BytesIO()
        pickler = _Pickler(buffer)
        pickler.dump(lockstep)
        self._blob = buffer.getvalue()
        self._shared = pickler.shared

    @property
    def size(self) -> int:
        """The snapshot's pickled bytes (the shared frozen values not counted)."""
        return len(self._blob)

    def restore(self) -> Lockstep:
        """A new lockstep in the snapshot's state."""
        global _RESTORING
        _RESTORING = self._shared
        try:
            restored = pickle.loads(self._blob)
        finally:
            _RESTORING = None
        assert isinstance(restored, Lockstep)
        return restored
