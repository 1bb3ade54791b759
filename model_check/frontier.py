"""A compact frontier: the explorer's queued states kept as compressed bytes.

Theory of operation
-------------------
A breadth-first search keeps every state of the next level until it expands it.
The seen-set and the parent links are arrays of a few bytes a state
(:mod:`model_check.fingerprint`), so on a large search the frontier's Python
objects are what grows: on ``spec/default.toml`` without symmetry 4.7 million
queued states held about 6 GB (session 13's stopped run, docs/model-checking.md),
about 1.3 KB a state, where the seen-set holds 18 B.

:class:`FrontierCodec` turns a batch of states (those the explorer admits
after expanding one chunk: they have consecutive indices) into one ``bytes``
value and back. TLC keeps its queue on disk for the same reason; here the
batches stay in memory, compressed:

* **Pickle, one batch at a time** (protocol 5). Pickle's memo writes an object
  met twice in a batch once, so the parts that successors share with their
  parent and with each other (the spec's states are hash-consed values:
  :mod:`model_check.spec_memo`) are written once a batch. On the default
  configuration at depth 6 that is about 157 B a state, 38 B after zlib level 1.
* **Frozen slotted dataclasses by their slots.** A frozen dataclass with
  ``__slots__`` pickles through ``dataclasses``' ``__getstate__`` and
  ``__setstate__``, which look up ``fields()`` per object: three quarters of the
  time of a batch. The codec's dispatch table reduces such a class to its slot
  values (:func:`operator.attrgetter`, every slot, cached hashes included) and
  rebuilds it by the slots' descriptors (:func:`_rebuild`), as the spec's
  trusted constructors do: the same field values, so the same equality and hash.
* **Shared objects by reference.** ``keep`` names objects (the configuration a
  state carries) that must come back as *the same* object, not an equal copy:
  the spec caches per ``id(config)`` (``spec.step``'s plans, ``spec.symmetry``'s
  memos). They are pickled as a reference to the codec that holds them.

A decoded state equals the encoded one and hashes the same (its cached hash
slot is restored as is), so fingerprints, successors and the order of the
search do not change: tests/model_check/test_frontier.py checks that states,
transitions and verdicts are the same with the frontier compact and not.
Within one process only: cached hashes of strings are per process.
"""

from __future__ import annotations

import dataclasses
import io
import itertools
import pickle
import weakref
import zlib
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from itertools import repeat
from operator import attrgetter, call
from typing import Any, Generic

from model_check.errors import CheckError

__all__ = ["FrontierCodec"]

_PROTOCOL = 5
_LEVEL = 1
"""zlib's level: 1 compressed a default-configuration batch from 157 to 38 B a state
at about 1 us a state."""

_CODECS: weakref.WeakValueDictionary[int, FrontierCodec] = weakref.WeakValueDictionary()
"""The live codecs by token, for :func:`_kept` (a kept object's reference)."""
_TOKENS = itertools.count()

_SETTERS: dict[type, tuple[Callable[[Any, Any], None], ...]] = {}
"""Per fast-reduced class: its slots' setters, in ``__slots__`` order."""


def _slots(cls: type) -> tuple[str, ...] | None:
    """The slot names of a frozen slotted dataclass with no base but ``object`` (or
    ``typing.Generic``, which holds nothing) and no
    pickling of its own (None for any other class: it pickles as usual)."""
    if not set(cls.__bases__) <= {object, Generic} or not dataclasses.is_dataclass(cls):
        return None
    params = getattr(cls, "__dataclass_params__", None)
    names = cls.__dict__.get("__slots__")
    if params is None or not params.frozen or not names or "__dict__" in names:
        return None
    if "__reduce__" in cls.__dict__ or "__reduce_ex__" in cls.__dict__ or getattr(
            cls.__dict__.get("__getstate__"), "__name__", "_dataclass_getstate"
    ) != "_dataclass_getstate":  # a pickling of its own: keep it
        return None
    return (names,) if isinstance(names, str) else tuple(names)


def _rebuild(cls: type, values: tuple[Any, ...]) -> Any:
    """An instance of ``cls`` with its slots set to ``values`` (no ``__init__``)."""
    setters = _SETTERS.get(cls)
    if setters is None:
        names = _slots(cls)
        if names is None:
            raise CheckError(f"cannot rebuild {cls.__qualname__}: not a frozen slotted dataclass")
        setters = _SETTERS[cls] = tuple(cls.__dict__[name].__set__ for name in names)
    if len(values) != len(setters):
        raise CheckError(f"cannot rebuild {cls.__qualname__}: {len(values)} values for "
                         f"{len(setters)} slots")
    instance: Any = object.__new__(cls)
    deque(map(call, setters, repeat(instance), values), maxlen=0)  # setter(instance, value)
    return instance


def _kept(token: int, position: int) -> Any:
    """Object ``position`` of the ``keep`` of codec ``token``."""
    codec = _CODECS.get(token)
    if codec is None:
        raise CheckError(f"a frontier batch names codec {token}, which is gone")
    return codec.kept[position]


def _default_reduce(instance: Any) -> Any:
    return instance.__reduce_ex__(_PROTOCOL)


class _Table(dict[type, Callable[[Any], Any]]):
    """The pickler's dispatch table: a reducer per class, made on first sight."""

    def __init__(self, codec: FrontierCodec) -> None:
        super().__init__()
        self._kept = {id(obj): position for position, obj in enumerate(codec.kept)}
        self._kept_types = {type(obj) for obj in codec.kept}
        self._token = codec.token

    def __missing__(self, cls: type) -> Callable[[Any], Any]:
        if issubclass(cls, type):  # a class (of a metaclass, e.g. an Enum): by name, as usual
            raise KeyError(cls)
        reducer = self._reducer(cls)
        self[cls] = reducer
        return reducer

    def _reducer(self, cls: type) -> Callable[[Any], Any]:
        names = _slots(cls)
        plain = _default_reduce if names is None else _slot_reducer(cls, names)
        if cls not in self._kept_types:
            return plain
        token, kept = self._token, self._kept

        def reduce(instance: Any) -> Any:
            position = kept.get(id(instance))
            return plain(instance) if position is None else (_kept, (token, position))

        return reduce


def _slot_reducer(cls: type, names: tuple[str, ...]) -> Callable[[Any], Any]:
    get = attrgetter(*names)
    single = len(names) == 1

    def reduce(instance: Any) -> Any:
        try:
            values = get(instance)
        except AttributeError:  # a slot left unset: pickle it the usual way
            return _default_reduce(instance)
        return _rebuild, (cls, (values,) if single else values)

    return reduce


class FrontierCodec:
    """Encodes a batch of states as one ``bytes`` value and decodes it back.

    ``keep``: objects the states refer to that must decode as the very same object
    (e.g. the configuration); ``compress``: zlib (level 1) over the pickle. Any
    picklable state works; frozen slotted dataclasses take the fast path (module
    docstring). Valid within the process that made the codec.
    """

    __slots__ = ("__weakref__", "_table", "compress", "kept", "token")

    def __init__(self, keep: Iterable[object] = (), compress: bool = True) -> None:
        self.kept = tuple(keep)
        self.compress = compress
        self.token = next(_TOKENS)
        _CODECS[self.token] = self
        self._table = _Table(self)

    def encode(self, states: Sequence[Any]) -> bytes:
        """``states`` (a list or tuple) as bytes; raises ``pickle.PicklingError`` for a
        state that cannot be pickled."""
        buffer = io.BytesIO()
        pickler = pickle.Pickler(buffer, protocol=_PROTOCOL)
        pickler.dispatch_table = self._table
        pickler.dump(list(states))
        data = buffer.getvalue()
        return zlib.compress(data, _LEVEL) if self.compress else data

    def decode(self, data: bytes) -> list[Any]:
        """The states :meth:`encode` was given, as a list."""
        states: list[Any] = pickle.loads(zlib.decompress(data) if self.compress else data)
        return states
