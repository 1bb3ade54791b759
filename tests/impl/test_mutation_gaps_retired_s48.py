"""impl.retired: the behaviours session 48's mutmut run of the whole file found no
test for (docs/refinement.md, "Mutation score of read_repair, forwarding, retired,
reaping, membership (session 48)"): the ``asks`` the refinement harness tells a node
(session 36), a value the sender holds under an older dot as no trace of a pruning
upstream (session 35), and a carried field that teaches nothing new leaving the
knowledge as it is. Unit tests on a :class:`~impl.storage.memory.MemoryStorage`,
deterministic, no cluster.
"""

from __future__ import annotations

from impl.records import ClockMode, Record
from impl.retired import KNOWN_PER_NODE, RETIRED_KNOWN_META, RetiredActors
from impl.storage.memory import MemoryStorage
from impl.versions import encode_retired
from spec import dvv

ME = "me~0123456789ab"
LIVE = "b~000000000009"
#: a lifetime actor this node was never told is retired
UNKNOWN = "a~000000000001"


def _record(*entries: tuple[str, int, list[bytes]]) -> Record:
    return Record(ClockMode.DVV, dvvset=dvv.DVVSet.of(entries))


#: a one-way sender's copy, and this node's copy once it merged it: the same value,
#: and a value-less entry of ``UNKNOWN`` the sender's copy lacks (the trace of a
#: pruning upstream, session 35)
THEIRS = _record((LIVE, 1, [b"v"]))
MERGED = _record((UNKNOWN, 2, []), (LIVE, 1, [b"v"]))


def test_a_node_told_to_ask_asks() -> None:
    """The harness tells a node its knowledge with ``asks`` (session 36): a one-way
    merge that shows a pruning upstream still asks (``tell__mutmut_5``: ``asks``
    set to None, never asking); told without it, the node does not ask."""
    node = RetiredActors(MemoryStorage(), ME, enabled=True, keep=0)
    assert node.kept_pruned(MERGED, THEIRS)
    node.tell({}, asks=True)
    assert node.asks and node.kept_pruned(MERGED, THEIRS)
    node.tell({})
    assert not node.kept_pruned(MERGED, THEIRS)


def test_a_value_the_sender_holds_under_an_older_dot_is_no_trace_of_a_pruning() -> None:
    """This node's copy holds ``v`` under the dot ``LIVE``:2 (the same bytes written
    again), the sender's under ``LIVE``:1 only: the sender's record lacks a value of
    the merge, so its missing ``UNKNOWN`` entry tells nothing of a pruning and the
    node does not ask (``kept_pruned__mutmut_21``: ``and`` for the second ``or``, an
    entry of equal values and another counter taken as held)."""
    node = RetiredActors(MemoryStorage(), ME, enabled=True, keep=0)
    newer = _record((UNKNOWN, 2, []), (LIVE, 2, [b"v"]))
    assert not node.kept_pruned(newer, THEIRS)
    assert not node.kept_pruned(_record((UNKNOWN, 2, []), (LIVE, 1, [b"w"])), THEIRS)


def test_a_field_teaching_nothing_new_leaves_the_told_knowledge_whole() -> None:
    """The harness told the node more retired lifetimes of one node than
    :data:`KNOWN_PER_NODE` and let it listen again (session 36): a gossip or carried
    field naming one of them at its known rank teaches nothing, so the knowledge
    stays as told and nothing is stored (``_add__mutmut_3``: ``and`` for ``or``;
    ``_4``: ``known.get(None, ...)``; ``_10``: ``>`` for ``>=``: each went on to
    trim the knowledge to the newest per node, dropping the oldest told one, and
    stored it)."""
    storage = MemoryStorage()
    node = RetiredActors(storage, ME, enabled=True, keep=0)
    told = {f"a~{i:012x}": i for i in range(1, KNOWN_PER_NODE + 2)}
    node.tell(told)
    node.listen()
    assert node.take(encode_retired({"a~000000000001": 1})) is False
    assert node.known == told
    assert storage.get_meta(RETIRED_KNOWN_META) is None
    assert node.take(encode_retired({"c~000000000001": 1})) is False  # something new
    assert len(node.known) == KNOWN_PER_NODE + 1 and "a~000000000001" not in node.known
    assert storage.get_meta(RETIRED_KNOWN_META)
