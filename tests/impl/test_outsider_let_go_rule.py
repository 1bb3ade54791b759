"""Session 54's review (issue 12 §3): the outsider's copy goes once every owner
acknowledged it, whatever became of an owner's disk since: the implementation's rule
(``impl.gossip.Gossiper._stray_acknowledged``), which the spec's ``OutsiderLetGo``
states since that review (``spec.handoff._acknowledged``; the spec's side:
``tests/spec/test_forward_retries.py::
test_an_owner_that_acked_then_lost_its_disk_does_not_hold_the_copy``).

5 nodes, N = 3, n5 outside the key's top N n1-n3 coordinated a put at W = 1 while
n1-n3 were down (session 27's scenario, :func:`_only_copy`). n1 comes back and
acknowledges n5's hint, then loses its disk; n2 and n3 come back and acknowledge:
n5 lets its copy go while n1 holds nothing (n2 and n3 do), and anti-entropy gives n1
the write again. Mutant checked: ``_stray_acknowledged`` not counting an
acknowledgement (``owners.discard`` removed): n5 never lets go, the test fails."""

from __future__ import annotations

from tests.impl.test_outsider_copy_review import _holders, _only_copy, _watch


def test_the_copy_goes_once_every_owner_acked_though_one_lost_its_disk() -> None:
    cluster, key = _only_copy("dvv", "pending")
    with cluster:
        _watch(cluster, key, 10.0)  # the put ended: n5 handed its copy to n1-n3
        strays = cluster.node("n5").gossiper.strays
        assert sorted(strays[key][1]) == ["n1", "n2", "n3"]
        cluster.restart("n1")
        cluster.heal()
        for _ in range(200):
            cluster.run_for(0.05)
            if "n1" not in strays[key][1]:
                break
        assert sorted(strays[key][1]) == ["n2", "n3"]  # n1 acknowledged
        assert _holders(cluster, key)[0] == {"n1", "n5"}
        cluster.lose_disk("n1")
        cluster.restart("n1")
        assert _holders(cluster, key) == ({"n5"}, {"n5"})
        cluster.restart("n2")
        cluster.restart("n3")
        let_go = None
        for _ in range(400):
            cluster.run_for(0.05)
            stores, _ = _holders(cluster, key)
            if "n5" not in stores:
                let_go = stores
                break
        assert let_go == {"n2", "n3"}  # n1, which acknowledged, holds nothing
        cluster.run_until_quiet()
        assert _holders(cluster, key) == ({"n1", "n2", "n3"}, set())
