"""A node refuses to start on a store written in another clock mode (session 26's
review of the service probe: n1 run once with ``clock = "lww"`` beside dvv nodes,
then back on dvv, answered a get of a key it wrote as lww 500 ``BadMessageError``
and logged a traceback on every replica put of it; the store now records its mode:
:func:`impl.versions.check_store_clock`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from impl.errors import ConfigError
from impl.node import Node
from impl.storage.memory import MemoryStorage
from impl.storage.sqlite import SqliteStorage
from impl.versions import STORE_CLOCK_META
from tests.impl.test_node_driver import make_config


@pytest.mark.parametrize(("first", "then"), [("dvv", "lww"), ("lww", "dvv"),
                                             ("server-vclock", "client-vclock")])
def test_a_start_in_another_clock_mode_is_refused_naming_both_and_changing_nothing(
        tmp_path: Path, first: str, then: str) -> None:
    path = tmp_path / "n1.sqlite"
    storage = SqliteStorage(path)
    Node("n1", make_config(3, clock=first), storage, seed=1)
    storage.close()
    storage = SqliteStorage(path)
    incarnation = storage.get_meta("incarnation")
    with pytest.raises(ConfigError) as error:
        Node("n1", make_config(3, clock=then), storage, seed=1)
    assert f"written with clock = '{first}'" in str(error.value)
    assert f"the configuration says '{then}'" in str(error.value)
    assert storage.get_meta("incarnation") == incarnation  # refused before any write
    assert storage.get_meta(STORE_CLOCK_META) == first.encode()
    Node("n1", make_config(3, clock=first), storage, seed=1)  # its own mode: starts
    storage.close()


def test_a_store_without_the_entry_takes_the_mode_it_is_started_in() -> None:
    storage = MemoryStorage()  # a new store, or one of a version before session 26
    Node("n1", make_config(3, clock="lww"), storage, seed=1)
    assert storage.get_meta(STORE_CLOCK_META) == b"lww"
    with pytest.raises(ConfigError, match="written with clock = 'lww'"):
        Node("n1", make_config(3, clock="dvv"), storage, seed=1)
