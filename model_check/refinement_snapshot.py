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
- ``impl.cluster.WatchedStorage`` forwards unknown attributes to its engine in
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
seeding it from the OS first.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib
import io
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


def _shared(index: int) -> object:  # pragma: no cover - never called: see _Unpickler
    """Stands for ``shared[index]`` in a snapshot (``_Unpickler.find_class``)."""
    raise AssertionError(f"the shared value {index} was unpickled outside a snapshot")


def _random(state: tuple[Any, ...]) -> random.Random:
    made = random.Random.__new__(random.Random)  # not seeded from the OS: restored
    made.setstate(state)
    return made


class _Pickler(pickle.Pickler):
    """Pickles a lockstep's object graph (see the module docstring); a frozen
    dataclass instance goes to ``shared``, by reference."""

    def __init__(self, file: io.BytesIO) -> None:
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self.shared: list[object] = []
        self._frozen: dict[type, bool] = {}

    def reducer_override(self, obj: Any) -> Any:
        # called once per object pickle does not know yet (not for ints, strings,
        # tuples, lists, dicts, sets; pickle's memo keeps each object's identity)
        cls = type(obj)
        frozen = self._frozen.get(cls)
        if frozen is None:
            params = getattr(cls, "__dataclass_params__", None)
            frozen = self._frozen[cls] = bool(params is not None and params.frozen
                                               and not isinstance(obj, type))
        if frozen:
            self.shared.append(obj)
            return _shared, (len(self.shared) - 1,)
        if cls is types.MethodType:
            if getattr(obj.__self__, obj.__func__.__name__, None) == obj:
                return NotImplemented  # getattr(self, name), as pickle does
            return _method, (obj.__func__, obj.__self__)  # a method set under another name
        if cls is types.FunctionType:
            if obj.__closure__ is None and _by_reference(obj):
                return NotImplemented  # by reference, as pickle does
            code = _Code(obj.__code__, obj.__globals__, obj.__name__, obj.__defaults__,
                         obj.__kwdefaults__)
            return _function, (code, obj.__closure__)
        if cls is types.CellType:
            return _cell, (), obj.cell_contents, None, None, _fill_cell
        if cls is random.Random:
            return _random, (obj.getstate(),)
        if cls is types.ModuleType:
            return importlib.import_module, (obj.__name__,)
        if cls is count:
            matched = _COUNT.fullmatch(repr(obj))
            if matched is None:
                raise pickle.PicklingError(f"cannot snapshot {obj!r} (a step other than 1)")
            return _counter, (int(matched.group(1)),)
        if "__getattr__" in cls.__dict__ and not isinstance(obj, type):
            return _bare, (cls,), _slot_state(obj, cls), None, None, _fill_slots
        return NotImplemented


class _Unpickler(pickle.Unpickler):
    def __init__(self, blob: bytes, shared: list[object]) -> None:
        super().__init__(io.BytesIO(blob))
        self._shared = shared

    def find_class(self, module: str, name: str) -> Any:
        if module == __name__ and name == "_shared":
            return self._shared.__getitem__
        return super().find_class(module, name)


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
        restored = _Unpickler(self._blob, self._shared).load()
        assert isinstance(restored, Lockstep)
        return restored
