"""A safe reap asks every member of its view, whatever the failure detector
believes (impl/reaping.py: "a member down, cut off or silent ... counts as not
clean"): a member that is down or suspected may hold a live version or a hint of
one, and the reap must wait until it answers (the spec's reap guard 3: no store,
up *or down*, holds a version the delete covers; spec/deletes.py).

The reviewer's hand mutant M17 (session 6) asked only the members the deciding
node believes up; no test killed it. Here it is the seeded mutant
``reap-asks-only-believed-up`` (tests/refinement/mutations.py ``TEST_KILLED``).
"""

from __future__ import annotations

import contextlib
import math

import pytest

from impl import SimulatedCluster
from impl.versions import TOMBSTONE, values
from tests.impl.test_safe_reap_knowledge import _hinted_then_deleted
from tests.refinement.mutations import TEST_KILLED


def _deleted_while_the_fallback_is_down() -> tuple[SimulatedCluster, bytes, tuple[str, ...]]:
    """Review bug 1's setting (a fallback ``d`` keeps a hint of v for replica ``a``;
    the delete of v is acknowledged by all N replicas), then ``d`` crashes holding
    its hint and the delete's coordinator ``b`` suspects it for good (as after any
    request to ``d`` timed out). Returns the cluster, the key and its preference list."""
    cluster = SimulatedCluster(nodes=5, n=3, r=2, w=2, seed=3, delete_mode="safe")
    key, preference = _hinted_then_deleted(cluster)
    _, b, _, d = preference[:4]
    cluster.crash(d)  # its hint of v for a is durable
    cluster.heal()
    cluster.node(b).detector.set_suspected({d: math.inf})
    assert not cluster.node(b).quorum.reachable(d, cluster.now)
    return cluster, key, preference


@pytest.mark.parametrize("mutant", [None, "reap-asks-only-believed-up"])
def test_a_reap_waits_for_a_member_it_believes_down(mutant: str | None) -> None:
    """The grace period passes while ``d`` is down: ``b``'s query to ``d`` goes
    unanswered and the targets keep the tombstone; once ``d`` is back its hint
    meets the tombstone on ``a`` and v stays deleted. The mutant does not ask
    ``d``, reaps at once on every target, and ``d``'s hint brings v back."""
    with TEST_KILLED[mutant][0]() if mutant else contextlib.nullcontext():
        cluster, key, preference = _deleted_while_the_fallback_is_down()
        cluster.run_for(10.0)  # > tombstone_grace_s (3.0): the first query round
        kept = {name: cluster.node(name).record(key) for name in preference[:3]}
        cluster.restart(preference[3])
        cluster.run_until_quiet()
        read = cluster.client().get(key, r=3)
    if mutant:
        assert all(record is None for record in kept.values())  # reaped without d
        assert read.values == [b"v"]  # resurrected by d's hint
    else:
        assert all(record is not None and values(record) == [TOMBSTONE]
                   for record in kept.values())
        assert read.values == []
