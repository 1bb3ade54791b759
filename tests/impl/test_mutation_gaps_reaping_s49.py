"""impl.reaping: the survivor session 48's mutmut run of the file left open
(docs/refinement.md, "### `impl/reaping.py`", ``get_ended__mutmut_20``): a reap
answer held for a get (session 39) that, once the get ended, finds a hint of the
key that arrived meanwhile sends that hint at the get's end time, with the answer
"not clean". A :class:`~impl.reaping.Reaper` built alone with its hooks recorded;
deterministic.
"""

from __future__ import annotations

import collections

from impl.effects import Effect, Send
from impl.hints import HintStore
from impl.messages import ReapQuery, ReapQueryReply
from impl.reaping import Reaper
from impl.records import ClockMode, Record
from impl.replica import Replica
from impl.storage.memory import MemoryStorage
from impl.versions import TOMBSTONE, encode_record
from spec import dvv
from tests.impl.test_node_driver import make_config

KEY = b"cart"


def _record(value: bytes) -> bytes:
    return encode_record(Record(ClockMode.DVV, dvvset=dvv.DVVSet.of([("n2", 1, [value])])))


def test_a_held_answer_sends_a_hint_that_arrived_meanwhile_at_the_gets_end() -> None:
    """n1 coordinates get 9 of ``KEY`` when n2's reap query arrives: the clean
    answer is held (nothing sent). A hint of ``KEY`` holding a live value arrives
    while it waits. When the get ends at 42.0 without a live version, the answer
    goes "not clean" and the hint is delivered at 42.0 (``get_ended__mutmut_20``:
    ``_answer(None, ...)``, the hints delivered at time None: the node's handoff
    asks the failure detector whether their nodes are reachable at that time and
    keeps it as their send time, :meth:`impl.handoff.HintedHandoff._scan_page`)."""
    storage = MemoryStorage("always")
    stats: collections.Counter[str] = collections.Counter()
    hints = HintStore(storage, stats)
    config = make_config(3, delete_mode="safe")
    replica = Replica("n1", config, storage, hints, lambda node: True)
    delivered: list[tuple[float, frozenset[int]]] = []

    def deliver(now: float, ids: frozenset[int]) -> list[Effect]:
        delivered.append((now, ids))
        return []

    reading = {KEY: frozenset({9})}
    reaper = Reaper("n1", config, replica, members=lambda: (("n1", "n2"), b"view"),
                    hints=hints, reading=lambda key: reading.get(key, frozenset()),
                    deliver_hints=deliver)
    query = ReapQuery(5, KEY, _record(TOMBSTONE), b"view")
    assert reaper.on_query(40.0, "n2", query) == []
    hints.add("n3", KEY, _record(b"milk"))
    (hint,) = hints.all()
    reading.clear()
    assert reaper.get_ended(42.0, KEY, 9) == [Send("n2", ReapQueryReply(5, KEY, False))]
    assert delivered == [(42.0, frozenset({hint.hint_id}))]
