"""The periodic hint scan reads a bounded page of hint heads, never every hint with
its record (session 13's open finding: 47 MB of hints took 9% of a core with
nothing to deliver; ``bench/hint_scan.py``, docs/benchmarks.md).

A node keeps 3,000 hints for n2. Suspected n2: a scan reads nothing from the hint
table. Reachable n2 that never acks: the first scan sends ``MAX_HINTS_IN_FLIGHT``
hints, reading only their records, and the next reads one page of heads. Acked
deliveries: scans go round the table from where the last stopped, and every hint
is delivered (the index of intended nodes empties).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from impl.effects import Effect, Send
from impl.handoff import MAX_HINTS_IN_FLIGHT, SCAN_BUDGET, SCAN_PAGE
from impl.messages import HintAck, HintDelivery
from impl.node import Node
from impl.staging import StagedStorage, persist
from impl.storage.base import Hint, HintHead, Storage
from impl.storage.memory import MemoryStorage
from impl.storage.sqlite import SqliteStorage
from impl.timers import HintScan
from tests.impl.test_node_driver import make_config

HINTS = 3_000


class CountingStorage(MemoryStorage):
    """Counts whole-table reads, records read and heads read."""

    def __init__(self) -> None:
        super().__init__()
        self.full = self.records = self.heads = 0

    def hints(self) -> list[Hint]:
        self.full += 1
        return super().hints()

    def get_hint(self, hint_id: int) -> Hint | None:
        self.records += 1
        return super().get_hint(hint_id)

    def hint_heads(self, after: int | None, limit: int) -> list[HintHead]:
        page = super().hint_heads(after, limit)
        self.heads += len(page)
        return page

    def reset(self) -> None:
        self.full = self.records = self.heads = 0


def _node() -> tuple[Node, CountingStorage]:
    storage = CountingStorage()
    for i in range(HINTS):
        storage.add_hint("n2", b"k%05d" % i, b"record %05d" % i)
    node = Node("n1", make_config(3, anti_entropy=False), storage, seed=1)
    storage.reset()
    return node, storage


def _sent(effects: list[Effect]) -> list[HintDelivery]:
    return [e.message for e in effects if isinstance(e, Send)
            and isinstance(e.message, HintDelivery)]


def test_a_scan_for_a_suspected_node_reads_no_hint() -> None:
    node, storage = _node()
    for _ in range(10):
        node.quorum.suspect("n2", 0.0)
    assert _sent(node.handoff.on_scan(0.01, HintScan())) == []
    assert (storage.full, storage.records, storage.heads) == (0, 0, 0)


def test_a_scan_reads_the_records_it_sends_and_one_page_when_full() -> None:
    node, storage = _node()
    sent = _sent(node.handoff.on_scan(0.0, HintScan()))
    assert len(sent) == MAX_HINTS_IN_FLIGHT
    assert storage.full == 0 and storage.records == MAX_HINTS_IN_FLIGHT
    assert storage.heads <= MAX_HINTS_IN_FLIGHT + SCAN_PAGE
    storage.reset()
    assert _sent(node.handoff.on_scan(0.01, HintScan())) == []  # all in flight
    assert (storage.full, storage.records) == (0, 0) and storage.heads <= SCAN_PAGE


def test_acked_scans_go_round_the_table_and_deliver_every_hint() -> None:
    """Through the node's inputs, the writes persisted (``impl.staging.persist``)."""
    node, storage = _node()
    delivered: set[bytes] = set()
    now = 0.0
    for _ in range(HINTS // MAX_HINTS_IN_FLIGHT + 3):
        for message in _sent(persist(storage, node.fire(now, HintScan()))):
            delivered.add(message.key)
            persist(storage, node.receive(now, "n2", HintAck(message.hint_id)))
        now += 0.01
    assert len(delivered) == HINTS and node.hints.pending_for() == set()
    assert storage.hints() == []


@pytest.mark.parametrize("engine", ["memory", "sqlite"])
def test_hint_heads_page_in_id_order_and_hint_nodes_name_the_intended(
        engine: str, tmp_path: Path) -> None:
    storage: Storage = (MemoryStorage() if engine == "memory"
                        else SqliteStorage(tmp_path / "n1.sqlite"))
    ids = [storage.add_hint("n3" if i % 3 else "n2", b"k%d" % i, b"r%d" % i)
           for i in range(10)]
    assert storage.hint_nodes() == {"n2", "n3"}
    first = storage.hint_heads(None, 4)
    assert [head[0] for head in first] == ids[:4]
    assert first[1] == (ids[1], "n3", b"k1")
    rest = storage.hint_heads(first[-1][0], 100)
    assert [head[0] for head in rest] == ids[4:]
    assert storage.hint_heads(ids[-1], 100) == []
    for hint_id in ids[1::3] + ids[2::3]:
        storage.remove_hint(hint_id)
    assert storage.hint_nodes() == {"n2"}
    staged = StagedStorage(storage)
    staged.remove_hint(ids[3])
    assert [head[0] for head in staged.hint_heads(None, 2)] == [ids[0], ids[6]]


def test_unanswered_deliveries_do_not_starve_the_hints_after_them() -> None:
    """n2 is reachable but never acks (a node that refuses hints): each time the
    deliveries in flight are due again, the scan goes on from where it stopped, so
    every hint is sent once, in id order, before any is sent twice (review 2 of
    session 14: with the cursor dropped, or kept past the hint that did not fit,
    the first ``MAX_HINTS_IN_FLIGHT`` were sent again at every retry, or one hint
    per round waited for the wrap)."""
    node, storage = _node()
    ids = [hint.hint_id for hint in storage.hints()]
    retry = node.config.request_timeout
    order: list[int] = []
    now = 0.0
    while len(order) < HINTS:
        order.extend(message.hint_id for message in _sent(node.handoff.on_scan(now, HintScan())))
        now += retry
    assert order[:HINTS] == ids


def test_an_old_sqlite_file_gets_the_index_and_its_hints_are_delivered(
        tmp_path: Path) -> None:
    """A data file written before session 14 has no ``hints_by_intended`` index: it
    is created when the file is opened, ``hint_nodes`` reads it, and the old hints
    are delivered."""
    import sqlite3
    path = tmp_path / "n1.sqlite"
    old = SqliteStorage(path)
    for i in range(40):
        old.add_hint("n2" if i % 2 else "n3", b"k%d" % i, b"r%d" % i)
    old.close()
    conn = sqlite3.connect(path)
    conn.execute("DROP INDEX hints_by_intended")
    conn.commit()
    conn.close()
    storage = SqliteStorage(path)
    index = storage._read_connection().execute(
        "SELECT sql FROM sqlite_master WHERE type = 'index' AND name = 'hints_by_intended'"
    ).fetchone()
    assert index is not None and "intended" in index[0]
    plan = " ".join(str(row) for row in storage._read_connection().execute(
        "EXPLAIN QUERY PLAN SELECT MIN(intended) FROM hints WHERE intended > ?", ("n2",)))
    assert "hints_by_intended" in plan
    assert storage.hint_nodes() == {"n2", "n3"}
    node = Node("n1", make_config(3, anti_entropy=False), storage, seed=1)
    delivered: set[bytes] = set()
    for step in range(3):
        for message in _sent(persist(storage, node.fire(step * 0.01, HintScan()))):
            delivered.add(message.key)
            target = "n2" if int(message.key[1:]) % 2 else "n3"
            persist(storage, node.receive(step * 0.01, target, HintAck(message.hint_id)))
    assert len(delivered) == 40 and storage.hints() == [] and storage.hint_nodes() == set()
    storage.close()


def test_a_lone_undelivered_hint_is_sent_again_at_each_scan_once_due() -> None:
    """One hint, n2 reachable but silent: the scan that made the delivery is the
    cursor's place, and the wrap visits the hint at the cursor too, so each scan a
    retry period later sends it again (review 2: a wrap that stops before the
    cursor's hint skipped it at every other scan)."""
    storage = MemoryStorage()
    hint_id = storage.add_hint("n2", b"k", b"record")
    node = Node("n1", make_config(3, anti_entropy=False), storage, seed=1)
    retry = node.config.request_timeout
    sent = [[m.hint_id for m in _sent(node.handoff.on_scan(step * retry, HintScan()))]
            for step in range(4)]
    assert sent == [[hint_id]] * 4


def test_a_scan_visits_at_most_its_budget_and_the_next_goes_on_from_there() -> None:
    """5,000 hints for a suspected n2, then one for reachable n3: a scan reads at
    most ``SCAN_BUDGET`` heads (none sendable) and the next goes on from there and
    sends n3's hint (review 2: with the budget never spent a scan read the whole
    table)."""
    storage = CountingStorage()
    for i in range(5_000):
        storage.add_hint("n2", b"k%05d" % i, b"record")
    last = storage.add_hint("n3", b"last", b"record")
    node = Node("n1", make_config(3, anti_entropy=False), storage, seed=1)
    for _ in range(10):
        node.quorum.suspect("n2", 0.0)
    storage.reset()
    assert _sent(node.handoff.on_scan(0.01, HintScan())) == []
    assert storage.heads == SCAN_BUDGET and storage.full == 0 and storage.records == 0
    assert [m.hint_id for m in _sent(node.handoff.on_scan(0.02, HintScan()))] == [last]
