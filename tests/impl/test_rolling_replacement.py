"""A rolling replacement in the simulator (session 47's data probe, case 07's kind: a
leave, then joins): four nodes, and six times a new node joins while the oldest leaves,
a client reading and writing one key throughout (Riak's "replace a node": ``cluster
join`` of the new one, ``cluster leave`` of the old one).

``SimulatedCluster.run_until_quiet`` took out a node asked to leave as soon as its own
status said ``left``. Only that node can announce its change's settlement (paper 4.8's
membership change completes once every member has seen the handover; riak_core's
``ring_ready``), and it had not always done so, or the others had not heard it: every
member then kept it in ``settling`` for good, the claimant (strategy 3) claimed no later
join or leave: in this test the members still settle n3 (the third leaver) at the end;
in the probe's twelve rounds, from the fourth on the joining node stayed ``joining``,
the leaving one was taken out with its ranges, and every get of the key failed (a
RequestTimeoutError for the client; at R = 3 a QuorumError naming members gone). With
only the leaver's own announcement waited for, the members still settle n5 at the end
(the others had not heard it). ``vdynamo serve`` keeps a node that left up until it
announced the settlement and four gossip rounds more (:func:`impl.serve.leave_state`);
now the simulator keeps it until every up node has heard it
(:meth:`impl.cluster.SimulatedCluster.leaving`). The seeds of the later joins are the
current members (every initial member has left by the fifth round:
tests/impl/test_join_after_seeds_left.py).
"""

from __future__ import annotations

import impl
from impl.membership import MemberStatus


def test_six_rounds_of_a_join_and_a_leave_keep_the_cluster_serving() -> None:
    cluster = impl.SimulatedCluster(nodes=4, n=3, r=2, w=2, seed=1)
    client = cluster.client(client_id="writer")
    members = ["n1", "n2", "n3", "n4"]
    last = b""
    for round_ in range(6):
        new = f"n{5 + round_}"
        cluster.join(new)
        members.append(new)
        cluster.leave(members.pop(0))
        for step in range(3):
            read = client.get(b"k")
            assert len(read.values) <= 1, read.values
            last = b"v%d-%d" % (round_, step)
            client.put(b"k", last, context=read.context)
            cluster.run_for(0.5)
        cluster.run_until_quiet()
    assert cluster.node_names == members == ["n7", "n8", "n9", "n10"]
    for name in members:
        node = cluster.node(name)
        assert not node.gossiper.settling, (name, node.gossiper.settling)  # before: n3
        held = [node.view.get(other) for other in members]
        assert all(member is not None and member.status is MemberStatus.UP
                   for member in held), (name, node.view)
    assert cluster.client().get(b"k", r=3).values == [last]
