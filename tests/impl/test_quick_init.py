"""Session 54's lever :func:`impl.quick_init.quick_init` (docs/simulator.md, "The
simulator's speed (session 54)"): a frozen slotted dataclass's ``__init__`` that sets
its slots through their member descriptors builds the same instances as the one
``dataclasses`` generates (the same parameters, defaults, factories, keyword-only
fields, ``init=False`` fields and ``__post_init__``), and the classes stay frozen.

Mutants this file kills (each a hand edit of impl/quick_init.py, checked to fail here):
no ``__post_init__`` call; a factory's value built once and shared (a plain default);
the setters bound to the fields in reverse order; ``init=False`` fields left unset;
keyword-only fields made positional.
"""

from __future__ import annotations

import dataclasses
import inspect
from dataclasses import FrozenInstanceError, dataclass, field
from typing import Any

import pytest

from impl import effects, forwarding, messages, records, timers
from impl.errors import BadMessageError, InvalidValueError
from impl.messages import ReplicaPut
from impl.quick_init import quick_init


@dataclass(frozen=True, slots=True)
class _Plain:
    a: int
    b: str
    c: bytes = b"c"
    d: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class _Rich:
    a: int
    items: list[int] = field(default_factory=list)
    hidden: int = field(default=7, init=False)
    made: dict[str, int] = field(default_factory=dict, init=False)
    unset: int = field(init=False)
    flag: bool = field(default=False, kw_only=True)
    tag: str = field(default="t", kw_only=True)

    def __post_init__(self) -> None:
        if self.a < 0:
            raise ValueError(f"a must be >= 0, got {self.a}")


_QuickPlain = quick_init(dataclass(frozen=True, slots=True)(type(
    "_QuickPlain", (), {"__annotations__": dict(_Plain.__annotations__),
                        "c": b"c", "d": ()})))


def _twin(cls: type) -> tuple[type, type]:
    """Two copies of a dataclass definition: as dataclasses makes it, and quick."""
    def make() -> type:
        namespace: dict[str, Any] = {"__annotations__": dict(cls.__annotations__)}
        for f in dataclasses.fields(cls):
            if f.default_factory is not dataclasses.MISSING or not f.init or f.kw_only:
                namespace[f.name] = field(default=f.default, default_factory=f.default_factory,
                                          init=f.init, kw_only=f.kw_only)
            elif f.default is not dataclasses.MISSING:
                namespace[f.name] = f.default
        if "__post_init__" in cls.__dict__:
            namespace["__post_init__"] = cls.__dict__["__post_init__"]
        return dataclass(frozen=True, slots=True)(type(cls.__name__, (), namespace))
    return make(), quick_init(make())


def _state(instance: object) -> dict[str, Any]:
    """Every slot's value, or a marker where a slot is unset."""
    out: dict[str, Any] = {}
    for name in type(instance).__slots__:  # type: ignore[attr-defined]
        try:
            out[name] = getattr(instance, name)
        except AttributeError:
            out[name] = "<unset>"
    return out


def test_a_quick_class_builds_what_the_dataclass_init_builds() -> None:
    slow, quick = _twin(_Rich)
    for args, kwargs in [((1,), {}), ((2, [3]), {}), ((3,), {"flag": True}),
                         ((4,), {"items": [1, 2], "tag": "x", "flag": True})]:
        assert _state(quick(*args, **kwargs)) == _state(slow(*args, **kwargs))
    with pytest.raises(ValueError, match="a must be >= 0, got -1"):
        quick(-1)  # __post_init__ runs
    with pytest.raises(TypeError):
        quick(1, [], True)  # flag is keyword-only, as in the dataclass's init
    # a factory is called per instance, not shared
    first, second = quick(1), quick(1)
    assert first.items is not second.items and first.made is not second.made
    assert _state(_QuickPlain(1, "b")) == _state(_Plain(1, "b"))  # type: ignore[call-arg]


def test_a_quick_class_stays_frozen_and_keeps_its_signature() -> None:
    slow, quick = _twin(_Rich)
    instance = quick(1)
    with pytest.raises(FrozenInstanceError):
        instance.a = 2  # type: ignore[misc]
    assert str(inspect.signature(quick)) == str(inspect.signature(slow))


_MODULES = (effects, messages, timers, records, forwarding)


def _frozen_slotted(module: object) -> list[type]:
    return [value for value in vars(module).values()
            if isinstance(value, type) and value.__module__ == module.__name__  # type: ignore[attr-defined]
            and dataclasses.is_dataclass(value) and value.__dataclass_params__.frozen  # type: ignore[attr-defined]
            and "__slots__" in value.__dict__]


def _parameters(init: Any) -> list[tuple[str, Any, Any]]:
    return [(p.name, p.kind, p.default if p.default is inspect.Parameter.empty
             or not repr(p.default).endswith("factory>") else "factory")
            for p in inspect.signature(init).parameters.values()]


def test_every_frozen_slotted_value_of_the_hot_modules_is_quick_with_its_own_parameters(
) -> None:
    seen = 0
    for module in _MODULES:
        for cls in _frozen_slotted(module):
            init = cls.__dict__["__init__"]
            assert init.__code__.co_filename == f"<quick_init {cls.__qualname__}>", cls
            original = init.__wrapped_dataclass_init__
            assert _parameters(init) == _parameters(original), cls
            seen += 1
    assert seen >= 45


def test_a_message_is_still_checked_by_its_constructor() -> None:
    with pytest.raises(BadMessageError, match="ReplicaPut"):
        ReplicaPut(-1, b"k", b"r")
    put = ReplicaPut(3, b"k", b"r")
    assert put == ReplicaPut(3, b"k", b"r") and hash(put) == hash(ReplicaPut(3, b"k", b"r"))
    with pytest.raises(FrozenInstanceError):
        put.key = b"j"  # type: ignore[misc]


def test_what_quick_init_refuses() -> None:
    @dataclass(slots=True)
    class Thawed:
        a: int

    @dataclass(frozen=True)
    class Unslotted:
        a: int

    @dataclass(frozen=True, slots=True)
    class Own:
        a: int

        def __init__(self, a: int) -> None:
            object.__setattr__(self, "a", a)

    @dataclass(frozen=True, slots=True)
    class WithInitVar:
        a: int
        b: dataclasses.InitVar[int]

        def __post_init__(self, b: int) -> None:
            pass

    for cls, why in [(Thawed, "not a frozen dataclass"), (Unslotted, "not a frozen dataclass"),
                     (Own, "no __init__ made by dataclass"), (WithInitVar, "InitVar"),
                     (int, "not a frozen dataclass")]:
        with pytest.raises(InvalidValueError, match=why):
            quick_init(cls)
