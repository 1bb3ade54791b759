"""A faster ``__init__`` for the frozen, slotted dataclasses a node builds per message.

Theory of operation
-------------------
``@dataclass(frozen=True)`` generates an ``__init__`` that sets each field through
``object.__setattr__(self, name, value)`` (the class's own ``__setattr__`` refuses
every assignment): CPython 3.11 looks the attribute up on the type, checks that
``object.__setattr__`` may be applied to the instance, and only then calls the
slot's member descriptor. On a 5-field class that is about 1.2 us a construction
against 0.35 us for a plain (unfrozen) slotted dataclass (timeit on the session-54
machine); a simulated put or get builds about 21 frozen instances (``Send``,
``Record``, ``WriteRecord``, the timers, the peer messages, the replies: session
54's count), 12% of the simulator benchmark's CPU.

:func:`quick_init` replaces such a class's ``__init__`` with one that sets each
field through its slot's member descriptor directly (``Class.field.__set__``,
bound once when the class is made), which is exactly what ``object.__setattr__``
ends up calling for a slot, without the lookup and the check. Everything else the
generated ``__init__`` does is kept: the same parameters in the same order, the
same defaults and default factories (a factory called per instance), keyword-only
fields, ``init=False`` fields set from their default, and ``__post_init__`` called
last (so every check a message's constructor runs still runs). The class stays
frozen: assigning a field after construction still raises
``dataclasses.FrozenInstanceError``; equality, hashing, ``repr``, ``replace`` and
pickling are the dataclass's own.

Source: CPython 3.11 ``Lib/dataclasses.py`` (``_field_init``, ``_field_assign``:
``__dataclass_builtins_object__.__setattr__`` for a frozen class) and
``Objects/descrobject.c`` (``member_set``), which the frozen path reaches through
``PyObject_GenericSetAttr``.
"""

from __future__ import annotations

import dataclasses
import types
from collections.abc import Callable
from typing import Any, TypeVar

from impl.errors import InvalidValueError

__all__ = ["quick_init"]

_T = TypeVar("_T", bound=type)


class _NoDefault:
    """The default a factory field's parameter takes: the factory is called."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<factory>"


_FACTORY = _NoDefault()


def _slot_setter(cls: type, name: str) -> Callable[[object, Any], None]:
    for klass in cls.__mro__:
        descriptor = klass.__dict__.get(name)
        if descriptor is not None:
            if not isinstance(descriptor, types.MemberDescriptorType):
                break
            setter: Callable[[object, Any], None] = descriptor.__set__
            return setter
    raise InvalidValueError(f"quick_init: {cls.__qualname__}.{name} is not a slot")


def quick_init(cls: _T) -> _T:
    """Give ``cls`` (a frozen dataclass with ``slots=True``) an ``__init__`` that
    sets its slots directly; returns ``cls``. InvalidValueError (a LocalError and a
    ValueError) for any other class, for one whose ``__init__`` is its own, or for one
    with an ``InitVar`` (whose ``__post_init__`` takes arguments): left as it is such a
    class would be slower, never wrong, but a decorator that silently did nothing
    would hide a class losing its slots."""
    params = getattr(cls, "__dataclass_params__", None)
    if params is None or not params.frozen or "__slots__" not in cls.__dict__:
        raise InvalidValueError(f"quick_init: {cls.__qualname__} is not a frozen dataclass "
                        "with slots=True")
    original = cls.__dict__.get("__init__")
    if not params.init or getattr(getattr(original, "__code__", None), "co_filename",
                                  None) != "<string>":
        raise InvalidValueError(
            f"quick_init: {cls.__qualname__} has no __init__ made by dataclass")
    all_fields = cls.__dict__["__dataclass_fields__"]
    if any(f._field_type is dataclasses._FIELD_INITVAR  # type: ignore[attr-defined]
           for f in all_fields.values()):
        raise InvalidValueError(f"quick_init: {cls.__qualname__} has an InitVar")
    closure: dict[str, Any] = {"_FACTORY": _FACTORY}
    positional: list[str] = []
    keyword: list[str] = []
    body: list[str] = []
    for number, f in enumerate(dataclasses.fields(cls)):
        setter = f"_set{number}"
        closure[setter] = _slot_setter(cls, f.name)
        has_default = f.default is not dataclasses.MISSING
        has_factory = f.default_factory is not dataclasses.MISSING
        if f.init:
            if has_factory:
                closure[f"_factory{number}"] = f.default_factory
                parameter = f"{f.name}=_FACTORY"
                body.append(f"{setter}(self, _factory{number}() if {f.name} is _FACTORY "
                            f"else {f.name})")
            else:
                if has_default:
                    closure[f"_default{number}"] = f.default
                parameter = f"{f.name}=_default{number}" if has_default else f.name
                body.append(f"{setter}(self, {f.name})")
            (keyword if f.kw_only else positional).append(parameter)
        elif has_factory:
            closure[f"_factory{number}"] = f.default_factory
            body.append(f"{setter}(self, _factory{number}())")
        elif has_default:
            closure[f"_default{number}"] = f.default
            body.append(f"{setter}(self, _default{number})")
    if hasattr(cls, "__post_init__"):
        body.append("self.__post_init__()")
    parameters = ", ".join(["self", *positional, *(["*", *keyword] if keyword else [])])
    names = ", ".join(closure)
    source = (f"def _make({names}):\n"
              f" def __init__({parameters}):\n"
              + "".join(f"  {line}\n" for line in body or ["pass"])
              + " return __init__\n")
    namespace: dict[str, Any] = {}
    # (the dataclass module makes its __init__ the same way; a file name of its own
    # tells the two apart in a profile)
    exec(compile(source, f"<quick_init {cls.__qualname__}>", "exec"), {}, namespace)
    init = namespace["_make"](**closure)
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__module__ = cls.__module__
    init.__annotations__ = dict(original.__annotations__)
    init.__doc__ = original.__doc__
    init.__wrapped_dataclass_init__ = original  # (the generated one, for tests)
    type.__setattr__(cls, "__init__", init)
    return cls
