"""client-vclock: a client that forgot its counter, writing on the side of a
partition that misses its later version (session 22's data probe; fixed in
session 23).

Before session 23 the counter of a client-vclock put is one more than the largest of the context's
entry for the client, the counter the client sends and the client's highest
counter in the coordinator's record (``impl.versions.apply_put``); a replica that
holds a later counter acks with its record and the coordinator mints again
(``PutCoordinator._remint``). On the minority side of a partition no node holds
the client's later version, so nothing asks for the re-mint: alice's v3
(``{alice: 2, bob: 1}``) was written on the majority side, then alice, restarted
(counter 0), read the key on the other side (``{alice: 1}``) and wrote v4, minted
``{alice: 2}`` and acknowledged by the key's replica there and a fallback. After
the heal ``{alice: 2, bob: 1}`` dominates it and v4 is lost everywhere: ``[v3]`` at
R = 3 for seeds 1-3; the right value is ``[v3, v4]`` (v4 did not see v3).

Since session 23 a client-vclock put increments the entry of the pair (its
coordinator's key actor, its client), counted by the coordinator
(:func:`spec.vclock.client_entry`, ``impl.versions.apply_put``): v4 is minted
``{"<n1's actor> alice": 1, "<third's actor> alice": 1}``, a sibling of v3 whatever
alice remembers (docs/runtime.md, "client-vclock counters unique (session 23)").

This is the class docs/runtime.md ("The HTTP API", client-vclock) names as not
covered ("a version a fallback keeps as a hint"), here with a replica of the
key among the acks. A client that keeps its counter, and a named HTTP client that
sends no counter (its counter is the node's clock in microseconds), are not
affected: both tests below pass. Riak avoids client actor ids altogether
(``vnode_vclocks``: this project's ``dvv`` and ``server-vclock``).
"""

from __future__ import annotations

import pytest

from impl import SimulatedCluster
from impl.cluster import Client

KEY = b"k"


def _written_across_a_partition(seed: int, counters: str, step_s: float = 0.0) -> list[bytes]:
    """5 nodes, N = 3, R = W = 2, client-vclock: alice's v1 at W = 3; the key's third
    replica and a non-replica cut off from the rest; bob's v2 and alice's v3 (each a
    read-then-write) on the majority side; alice reads on the minority side (stale)
    and writes v4 there. ``counters``: ``"forgot"`` (alice's client restarted: a new
    client object, counter 0), ``"kept"`` (one client object counting its puts) or
    ``"clock"`` (the counter the HTTP API sends for a named client without
    ``X-Vdynamo-Client-Counter``: the time in microseconds). The values at R = 3 after
    the heal. ``step_s``: the minority side's coordinator's clock stepped by that
    many seconds before v4 (an NTP step)."""
    cluster = SimulatedCluster(nodes=5, n=3, r=2, w=2, seed=seed, clock="client-vclock")
    first, second, third, other, last = cluster.node("n1").preference_list(KEY)[:5]
    kept = cluster.client(client_id="alice")

    def alice() -> Client:
        if counters == "forgot":
            return cluster.client(client_id="alice")
        if counters == "clock":
            kept.puts_issued = int(cluster.now * 1_000_000)
        return kept

    alice().put(KEY, b"v1", w=3, coordinator=first)
    cluster.run_until_quiet()
    cluster.partition({third, last}, {first, second, other})
    cluster.run_for(5.0)
    bob = cluster.client(client_id="bob")
    bob.put(KEY, b"v2", bob.get(KEY, coordinator=first).context, coordinator=first)
    read = kept.get(KEY, coordinator=first)
    alice().put(KEY, b"v3", read.context, coordinator=first)
    stale = kept.get(KEY, r=1, coordinator=third)
    assert stale.values == [b"v1"]  # the minority side missed v2 and v3
    if step_s:
        cluster.set_skew(third, step_s)
    alice().put(KEY, b"v4", stale.context, coordinator=third)
    cluster.heal()
    cluster.run_until_quiet()
    return sorted(cluster.client().get(KEY, r=3).values)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_forgetful_client_on_the_minority_side_keeps_its_acknowledged_write(
        seed: int) -> None:
    assert _written_across_a_partition(seed, "forgot") == [b"v3", b"v4"]  # today [v3]


@pytest.mark.parametrize("counters", ["kept", "clock"])
def test_a_client_that_keeps_or_sends_no_counter_keeps_both_writes(counters: str) -> None:
    assert _written_across_a_partition(1, counters) == [b"v3", b"v4"]


@pytest.mark.parametrize("step_s", [-3600.0])
def test_a_clock_stepped_on_the_minority_side_changes_nothing(step_s: float) -> None:
    """The session 23 rule reads no wall clock for the counter (the coordinator counts
    its (actor, client) entry): v4's coordinator's clock an hour behind (an NTP step
    back, 3,600 s) gives the same ``[v3, v4]``, whatever counter alice sends
    (``"clock"``: the named HTTP client's counter before, here the simulator's true
    time in microseconds, not the stepped node's)."""
    assert _written_across_a_partition(1, "forgot", step_s) == [b"v3", b"v4"]
    assert _written_across_a_partition(1, "clock", step_s) == [b"v3", b"v4"]
