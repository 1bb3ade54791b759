"""Mutation gaps of :meth:`impl.read_repair.ReadRepairer.repair` (session 34: the
repair of a replica holding more than the pruned merge, ``read-repairs-pruned``):
the mutants the tests of read repair let live (docs/refinement.md, "Session 34: the
changed functions of antientropy, read_repair, retired, versions"). One node's
repairer handed a get's replies, deterministic; dvv with actor epochs,
``retired_keep`` 0 (one retired lifetime's entry is pruned).
"""

from __future__ import annotations

from impl.effects import Send
from impl.messages import ReadRepair
from impl.node import Node
from impl.records import ClockMode, Record
from impl.storage.memory import MemoryStorage
from impl.versions import decode_retired, encode_record, encode_retired
from spec import dvv
from tests.impl.test_node_driver import make_config

KEY = b"cart"
OLD = "n9~000000000001"
LIVE = "n8~000000000002"
#: a copy holding a value-less entry of the retired ``OLD`` and a value, and an
#: older copy, from before the value's put, holding that entry alone
HOLDING = Record(ClockMode.DVV, dvvset=dvv.DVVSet.of([(OLD, 2, []), (LIVE, 1, [b"milk"])]))
OLDER = Record(ClockMode.DVV, dvvset=dvv.DVVSet.of([(OLD, 2, [])]))


def test_a_copy_holding_more_and_a_stale_one_are_each_repaired_once() -> None:
    """n2's copy holds ``OLD``'s entry, which n1's pruning of the merge drops; n3's
    lacks the value (stale) and holds that entry too: each is sent one ReadRepair
    of the merge (``OLD`` named), ``read-repairs`` counts 2 and
    ``read-repairs-pruned`` 1 (n3 is repaired as stale), and a second get alike
    adds as much (``repair__mutmut_8``: ``or``, the stale n3 counted as holding
    more too, repaired twice; ``_15``: ``read-repairs-pruned`` set, not
    added to; ``_62``, ``_63``, ``_64``: ``read-repairs`` subtracted from, or
    another counter)."""
    node = Node("n1", make_config(3, n=3, r=2, w=2, retired_keep=0), MemoryStorage("always"),
                seed=1)
    node.start(0.0)
    node.retired.take(encode_retired({OLD: 1}))
    for gets in (1, 2):
        out = node.read_repair.repair(KEY, {"n2": HOLDING, "n3": OLDER})
        sent = [(e.dest, e.message) for e in out if isinstance(e, Send)]
        assert [dest for dest, _ in sent] == ["n2", "n3"]
        for _, message in sent:
            assert isinstance(message, ReadRepair)
            assert message.record == encode_record(HOLDING)
            assert decode_retired(message.retired) == {OLD: 1}
        assert (node.stats["read-repairs"], node.stats["read-repairs-pruned"]) == (
            2 * gets, gets)


def test_a_holding_fallback_left_unrepaired_is_counted_as_skipped_only() -> None:
    """With ``read_repair_fallbacks`` off (the default) a copy holding more than the
    pruned merge at a node outside ``replicas`` (a fallback) is not repaired: it is
    counted in ``read-repairs-skipped`` alone, not in ``read-repairs-pruned`` too
    (session 34's review of the counters: it was counted in both); the holding
    replica n2 is repaired and counted."""
    node = Node("n1", make_config(3, n=3, r=2, w=2, retired_keep=0), MemoryStorage("always"),
                seed=1)
    node.start(0.0)
    node.retired.take(encode_retired({OLD: 1}))
    out = node.read_repair.repair(KEY, {"n2": HOLDING, "n4": HOLDING},
                                  replicas=frozenset({"n1", "n2", "n3"}))
    assert [e.dest for e in out if isinstance(e, Send)] == ["n2"]
    assert (node.stats["read-repairs"], node.stats["read-repairs-pruned"],
            node.stats["read-repairs-skipped"]) == (1, 1, 1)
