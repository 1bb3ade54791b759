"""impl.replica: the behaviours mutmut found no test for (docs/refinement.md, "Mutation
score"): the flush timer's period, what the write listeners hear of a reap."""

from __future__ import annotations

import pytest

from impl.effects import SetTimer, SyncStorage
from impl.errors import BadMessageError
from impl.node import Node
from impl.storage.memory import MemoryStorage
from impl.timers import Flush
from impl.versions import ClockMode, Record, encode_record
from tests.impl.test_node_driver import make_config

KEY = b"cart"


def _node(fsync: str = "always") -> tuple[Node, MemoryStorage]:
    storage = MemoryStorage(fsync)  # type: ignore[arg-type]
    node = Node("n1", make_config(3, n=3, r=2, w=1), storage, seed=1)
    node.start(0.0)
    return node, storage


def test_the_flush_timer_flushes_and_comes_again_a_flush_interval_later() -> None:
    node, _ = _node("buffered")
    assert node.fire(2.0, Flush()) == [SyncStorage(),
                                       SetTimer(Flush(), 2.0 + make_config().flush_interval)]


def test_a_reap_tells_every_write_listener_with_the_empty_bytes() -> None:
    node, _ = _node()
    heard: list[tuple[bytes, bytes]] = []
    node.replica.write_listeners.append(lambda key, encoded: heard.append((key, encoded)))
    node.replica.store(KEY, b"R-record")
    node.replica.reap(KEY)
    assert heard == [(KEY, b"R-record"), (KEY, b"")]


def test_a_stored_record_of_another_clock_mode_is_refused() -> None:
    """``Node.record`` decodes afresh in the node's own mode: bytes of another mode on
    the engine are an error, not a record."""
    storage = MemoryStorage("always")
    storage.write(KEY, encode_record(Record.empty(ClockMode.LWW)))
    node = Node("n1", make_config(3, n=3, r=2, w=1), storage, seed=1)
    assert node.mode is ClockMode.DVV
    with pytest.raises(BadMessageError, match="mode"):
        node.record(KEY)
