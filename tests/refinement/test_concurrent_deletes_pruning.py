"""Concurrent deletes under pruning on the implementation (session 38; docs/proofs.md,
"Concurrent deletes under pruning (session 38)").

The checker reached session 37's counterexample to induction: a blind delete drops
the acknowledged tombstone it is concurrent with (``spec.dvv.drop_superseded``;
``impl.versions.apply_put`` does the same), the dropped tombstone's retired
value-less entry is pruned, and the version it deleted comes back. Replayed here on
the implementation in lockstep (its count knob ``retired_keep`` at the spec's
``prune_retired = 0``), each step checked against the spec: it does the same. Its
record after the blind delete is the one a delete written with a context covering
the first tombstone leaves, so the implementation cannot tell the two apart: under
its production setting (``retired_keep = -1``, the 512-byte budget
``RETIRED_BYTES_KEPT``) it takes 23 retired lifetimes that wrote the key, blind
deletes or deletes with a read's context alike, and the deleted value is back in
both stores, a get answering it. That is pruning's documented cost
(``impl.versions.prune_retired``), which the spec's fix (``spec.coordination.
absorbed``: the blind delete takes over the dropped tombstone's ghost history) keeps,
so the implementation needs no change: the fix is the spec's account of the collapse
(tests/model_check/test_proof_pruning_resurrection.py shows the statement holding
since, and the fix's revert caught).
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from impl.cluster import SimulatedCluster
from impl.messages import ReplicaPut
from impl.versions import RETIRED_BYTES_KEPT, TOMBSTONE
from model_check.refinement import Lockstep
from model_check.refinement_replay import step_action
from model_check.suite import entry
from spec import dvv
from spec.actions import action_from_json
from tests.model_check.test_proof_pruning_resurrection import _WALK

#: the checker's 6-step path on dvv-prune-retired-delete with w = 1, two deletes per
#: client and a forgetful client (gets_per_client = 1): c1 puts v1 through n1 (its
#: replica put to n2 left in flight), reads it, deletes it through n1 (acknowledged at
#: w = 1); n1 crashes and recovers; c1's blind delete through n1
WALK = _WALK


def _values(record: object) -> list[bytes]:
    assert record is not None
    return sorted(v for e in record.dvvset.entries for v in e.values)  # type: ignore[attr-defined]


def test_the_checkers_path_replays_on_the_implementation() -> None:
    """Each step checked against the spec: after the blind delete n1's record holds the
    new lifetime's tombstone alone (the first tombstone dropped, its entry pruned);
    v1's replica put then reaches n2 and an anti-entropy leaves v1 beside the tombstone
    at both (8 steps), as in the spec, where the blind delete (put 3) has taken over the
    first delete's history (put 2, which deleted v1)."""
    config = replace(entry("dvv-prune-retired-delete").config, w=1, deletes_per_client=2,
                     gets_per_client=1, forgetful_clients=True)
    ls = Lockstep(config, traces=True, asks_at_once=False)
    try:
        for item in WALK:
            step_action(ls, action_from_json(dict(item)))
        n1 = ls.cluster.node("n1").record(b"k")
        assert n1 is not None and len(n1.dvvset.entries) == 1 and _values(n1) == [TOMBSTONE]
        assert ls.state.puts[2] is not None and ls.state.puts[2].history == {1, 2, 3}
        first = min(m.id for m in ls.deliverable() if isinstance(m.message, ReplicaPut))
        ls.deliver(first)  # v1's replica put, the oldest in flight
        ls.anti_entropy_pair("n1", "n2", "k")
        for name in ("n1", "n2"):
            assert _values(ls.cluster.node(name).record(b"k")) == [TOMBSTONE, b"v000001"]
    finally:
        ls.cluster.close()


@pytest.mark.parametrize("delete", ["blind", "with-context"])
def test_the_production_budget_takes_23_retired_lifetimes(delete: str) -> None:
    """Production pruning (``retired_keep = -1``: value-less entries of retired
    lifetimes past :data:`RETIRED_BYTES_KEPT` bytes go, 23 bytes each for ``n1~<12
    hex>``): n1 and n2 hold v1, n2 is cut off; through n1, c1 reads and deletes v1
    (w = 1), then n1 restarts and c1 deletes again, 23 times, blindly or with a read's
    context. The record covers v1's dot through 22 retired lifetimes (506 bytes of
    entries) and not at the 23rd (529 bytes: the oldest, the first delete's, goes);
    healed, anti-entropy brings v1 back to both stores beside the last tombstone and a
    get answers v1. Both kinds of delete leave the same record shape: the
    implementation cannot tell a concurrent delete from an ordered one."""
    assert RETIRED_BYTES_KEPT == 512
    cluster = SimulatedCluster(["n1", "n2"], n=2, r=1, w=1, clock="dvv",
                               sloppy_quorum=False, hinted_handoff=False, seed=7)
    try:
        client = cluster.client(coordinator="n1", client_id="c1")
        client.put(b"k", b"v1", coordinator="n1")
        cluster.run_for(1.0)
        (v1_entry,) = cluster.node("n2").record(b"k").dvvset.entries  # type: ignore[union-attr]
        cluster.partition(["n1"], ["n2"])
        read = client.get(b"k", coordinator="n1")
        client.delete(b"k", read.context, coordinator="n1")
        covered = []
        for _ in range(23):
            cluster.crash("n1")
            cluster.restart("n1")
            context = b"" if delete == "blind" else client.get(b"k", coordinator="n1").context
            handle = client.submit_delete(b"k", context, coordinator="n1")
            cluster.wait([handle])
            handle.result()
            record = cluster.node("n1").record(b"k")
            assert record is not None
            seen = dict(dvv.join(record.dvvset)).get(v1_entry.id, 0)
            covered.append(seen >= v1_entry.counter)
        assert covered == [True] * 22 + [False]
        cluster.run_for(5.0)  # what n1 sent n2 is lost on the cut link
        cluster.heal()
        cluster.run_for(10.0)
        for name in ("n1", "n2"):
            assert _values(cluster.node(name).record(b"k")) == [TOMBSTONE, b"v1"]
        assert client.get(b"k", coordinator="n2").values == [b"v1"]
    finally:
        cluster.close()
