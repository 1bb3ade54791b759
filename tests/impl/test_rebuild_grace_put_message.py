"""A put's 503 says when the coordinator's own write counts again (session 57).

Red team 6 read a get's 503 naming the coordinator's own read "not rebuilt" while
``/status`` showed ``rebuild`` null; s57-statuswin made the get's message name the
rebuild's grace and its seconds (``tests/impl/test_rebuild_grace_shown.py``). A put
through such a node at W = N failed with "a replaced disk rebuilding or just rebuilt,
its copy not counted" and no time: now the same phrase ends with when its own writes
count again (:meth:`impl.node.Node.own_write_uncounted_when`).

Mutants, each run and seen failing: ``Node`` not wiring ``puts.uncounted_when`` (the
default ``""``: no seconds in the message); ``own_write_uncounted_when`` returning
``""`` in the grace (the same).
"""

from __future__ import annotations

from impl.cluster import SimulatedCluster
from impl.effects import Reply
from impl.errors import QuorumError
from impl.messages import PutRequest


def test_a_put_s_503_in_the_grace_names_the_seconds_until_its_own_write_counts() -> None:
    """3 nodes, W = 3 through n1 in its grace (4 s left, as session 55's window test
    sets it): the put fails at once, its reason naming 4.0 s and /status's field."""
    with SimulatedCluster(nodes=3, n=3, r=2, w=2, seed=5) as cluster:
        n1 = cluster.node("n1")
        key = next(k for k in (b"own%d" % i for i in range(1000))
                   if n1.preference_list(k)[0] == n1.name)
        n1._silent_until = cluster.now + 4.0
        effects = n1.client_request(cluster.now, PutRequest(1, key, b"v", w=3))
        (reply,) = [effect for effect in effects if isinstance(effect, Reply)]
        assert isinstance(reply.error, QuorumError)
        assert ("its copy not counted (just rebuilt: its own writes count again in 4.0 s, "
                "see rebuild_grace in /status)") in str(reply.error)
        n1._silent_until = cluster.now  # the grace over: no phrase
        assert n1.own_write_uncounted_when(cluster.now) == ""
