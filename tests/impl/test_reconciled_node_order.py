"""A get's replies are reconciled in the order of the nodes' names, whatever order
they arrived in (session 58, :func:`impl.read_repair.reconciled`): the spec's order
(``spec.coordination`` keeps a get's replies sorted by node). It matters only to two
records holding one dot with different values, which a replaced disk minting under
its bare name again makes (``actor_epochs = False``, Riak's kv679): the DVV sync of
the two keeps one side's value. The records are those of trace validation's rebuild
seed 811 at event 145 (docs/refinement.md, "Trace validation, the repeated dot
(session 58)"): n4's own copy ``{n2:2 v2, n2 c2:1 v5}`` and n1's reply ``{n2:2 v8}``,
the dot ``n2:2`` minted by n2's old disk for v2 and by its new one for v8.
"""

from __future__ import annotations

from impl.read_repair import read_repair_targets, reconciled
from impl.records import ClockMode, Record
from impl.versions import merge, values
from spec import dvv

OWN = Record(ClockMode.DVV, dvvset=dvv.DVVSet.of([("n2", 2, [b"v2"]), ("n2 c2", 1, [b"v5"])]))
PEER = Record(ClockMode.DVV, dvvset=dvv.DVVSet.of([("n2", 2, [b"v8"])]))


def test_the_two_orders_of_a_repeated_dot_keep_different_values() -> None:
    """The premise: merged one way or the other, the two records keep a different
    value of the dot ``n2:2`` (the merge does not commute here)."""
    assert sorted(values(merge(OWN, PEER))) == [b"v2", b"v5"]
    assert sorted(values(merge(PEER, OWN))) == [b"v5", b"v8"]


def test_a_repeated_dot_is_reconciled_in_node_order_whatever_the_arrival() -> None:
    """The coordinator n4's own read first (its arrival order) or n1's reply first:
    the same answer, n1's record merged first (``{v5, v8}``, the spec's answer at
    seed 811), and the same read repair: n1's copy, which lacks v5, is repaired; n4's
    is not, its merge with the answer keeping its own value of the dot (the
    implementation's staleness test, which the trace spec took in session 57).
    Mutant: the fold in arrival order (session 57's ``reconciled``, ``for record in
    replies.values()``): the own-first order answers ``{v2, v5}`` and the first
    assertion fails; trace validation's rebuild seeds 786
    and 811 diverge at a ``ReplicaGetReply`` under it
    (``tests/refinement/test_trace_validation_rebuild.py``)."""
    arrived = {"n4": OWN, "n1": PEER}
    other = {"n1": PEER, "n4": OWN}
    assert sorted(values(reconciled(arrived))) == [b"v5", b"v8"]
    assert reconciled(arrived) == reconciled(other) == merge(PEER, OWN)
    merged, stale = read_repair_targets(arrived)
    assert (merged, stale) == read_repair_targets(other)
    assert stale == ["n1"]
