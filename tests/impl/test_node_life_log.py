"""The core's lines about a store's life reach the process log (session 49's operator
walk: docs/runtime.md "Stop, restart, back up" said a node's log shows "a new store
told of a later start ..." and "rebuilding a replaced disk: ...", but those lines
were in ``Node.log`` alone, shown by ``/status``, never written to the log file).
``Node(..., announced=...)`` is told each such line (:meth:`impl.node.Node._log_life`);
``vdynamo serve``'s runtime passes its process logger (``NodeServer._announced``).
Mutants: ``_log_life`` not telling the sink (the first two cases fail), one site appending to
``Node.log`` alone (its case fails)."""

from __future__ import annotations

import logging

import pytest

from impl.node import Node
from impl.runtime import NodeServer
from impl.storage.memory import MemoryStorage
from tests.impl.test_mutation_gaps_node import _node
from tests.impl.test_node_driver import make_config


def test_a_fresh_store_told_of_a_later_start_is_announced() -> None:
    told: list[str] = []
    node = Node("n1", make_config(1, n=1, r=1, w=1), MemoryStorage("always"), seed=1,
                announced=told.append)
    node._set_aside(5.0, "7.ab")
    assert [line.split(" (")[0] for line in told] == [
        "5.000 a new store told of a later start", "5.000 rebuilding a replaced disk: its "
        "empty copies do not count towards R until anti-entropy completed 0 exchanges"]
    assert all(line in node.log for line in told)  # /status keeps showing them


def test_a_rebuild_begun_and_ended_is_announced() -> None:
    node = _node()
    told: list[str] = []
    node.announced = told.append
    node._begin_rebuild(3.0)
    node._now = 4.0
    node._rebuilt()
    assert [line.split(":")[0] for line in told] == ["3.000 rebuilding a replaced disk",
                                                      "4.000 rebuilt"]


def test_the_runtime_writes_the_lines_to_its_log(caplog: pytest.LogCaptureFixture) -> None:
    """``NodeServer._announced`` (the runtime's sink) logs the line under the node's
    name, at INFO (as ``started``): an operator's log at the default level shows it."""
    server = object.__new__(NodeServer)
    server.name = "n3"
    with caplog.at_level(logging.INFO, logger="vdynamo"):
        server._announced("7.000 rebuilding a replaced disk: ...")
    assert "n3: 7.000 rebuilding a replaced disk: ..." in caplog.text
