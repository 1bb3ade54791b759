"""The read-repair fallback leak, measured (docs/impl.md, "Limitations", and
"Reaping": copies outside the top N). Read repair writes the reconciled record to
every node that answered a get, fallbacks included, as the spec does
(spec/read_repair.py): a fallback that answered keeps that copy in its main store,
and nothing hands it off (it is no replica of the key: anti-entropy and hinted
handoff never look at it). Until the key is deleted it stays (space only). Before
session 6's fix, its stale live copy also kept the key's tombstone from ever being
reaped (it answered the reap's query "not clean": 32 of 50 keys here kept their
tombstone on all N replicas for ever); now a node outside the top N that is asked
by a reap and holds a copy the tombstone dominates lets it go
(``Reaper._settle_dominated``), and every tombstone is reaped, with nothing back.

The scenario (seed 1; 5 nodes, N=3, 50 keys): every key is put; n2 is down while
every key is read with R=3, so each get of a key n2 replicates asks a fallback,
which answers nothing and is read-repaired; n2 comes back. Then every key is
deleted. This test pins the figures of docs/impl.md: when it fails because a
figure changed, update the figures there.

Since session 27 read repair writes only the key's replicas unless
``read_repair_fallbacks`` (riak_kv's ``read_repair_primaryonly``, the default
now): the same scenario leaves no copy outside the top N (docs/runtime.md, "Read
repair of fallbacks (session 27)"); the 32 copies are pinned with the option on.
"""

from __future__ import annotations

import pytest

from impl import SimulatedCluster
from impl.versions import values


@pytest.mark.parametrize("fallbacks", [True, False])
def test_a_read_repaired_fallback_keeps_its_copy_until_the_reap_lets_it_go(
        fallbacks: bool) -> None:
    cluster = SimulatedCluster(nodes=5, n=3, r=2, w=2, seed=1, delete_mode="safe",
                               read_repair_fallbacks=fallbacks)
    keys = [b"k%d" % i for i in range(50)]
    client = cluster.client()
    for key in keys:
        client.put(key, b"v1")
    cluster.run_until_quiet()
    cluster.crash("n2")
    for key in keys:
        assert client.get(key, r=3).values == [b"v1"]  # a fallback answers for n2
    cluster.run_for(5.0)
    cluster.restart("n2")
    cluster.run_until_quiet()

    def outside(key: bytes) -> list[list[bytes]]:
        """The values of the copies of ``key`` on nodes outside its top N."""
        top = cluster.node("n1").preference_list(key)[:3]
        held = (cluster.node(name).record(key) for name in cluster.node_names
                if name not in top)
        return [values(record) for record in held if record is not None]

    with_n2 = {key for key in keys if "n2" in cluster.node("n1").preference_list(key)[:3]}
    assert len(with_n2) == 32
    assert {key: outside(key) for key in keys} == {  # fallbacks: 32 copies leaked
        key: [[b"v1"]] if key in with_n2 and fallbacks else [] for key in keys}

    for key in keys:
        client.delete(key, context=client.get(key).context)
    cluster.run_until_quiet()
    cluster.run_for(60.0)  # > REAP_ATTEMPTS query rounds (120 until session 42)
    unreaped = {key for key in keys
                if any(record is not None for record in cluster.replicas(key).values())}
    assert unreaped == set()  # before the fix: with_n2, the fallback refused every round
    assert {key: outside(key) for key in keys} == {key: [] for key in keys}  # let go
    assert not any(client.get(key, r=3).values for key in keys)  # nothing came back
    cluster.run_until_quiet()
    assert not any(record is not None for key in keys
                   for record in cluster.replicas(key).values())
    assert not any(client.get(key, r=3).values for key in keys)
