"""The forwarder's last resort after declines (session 53's review of the forward
decline; docs/runtime.md, "Review of the forward decline (session 53, review)").

A node outside a key's top N whose forwarded put every top-N node declined
(``ForwardDecline``: a grant later than ``replica_timeout`` after its claim, or,
since s53-probejoin, a key the node does not own by its own view) coordinates the
put itself (:meth:`impl.forwarding.Forwarder._next_target`). Outside its targets,
it stood in for the *last* target with its own hinted copy and counted that as the
target's ack (:meth:`impl.put_coordinator.PutCoordinator._coordinate`), though that
target had just answered (its decline) and no failure detector suspected it: the
write was never sent to it, and a put at W = 3 was acknowledged with 2 owners' acks
(a get at R = 1 through the third reads the value before until the hint is handed
over). Shown at the unit level (n1 of 5 nodes, the three declines, then the acks
of the first two targets answered the client ``PutResult`` on main) and in a
simulated cluster whose messages are reordered past ``replica_timeout`` (grants
late: declined): seed 0, 17 keys put through n5 at W = 3, each read at R = 1
through its third owner: 6 read not found on main, 0 with the fix (seeds 0-4: 33
of 85 acknowledged puts on main, 1 with the fix: n5 stood in for that owner, which
it suspected then, and a fallback for another: sloppy quorum, paper 4.6).

Fixed: the outsider stands in only for a target its failure detector suspects (the
last such one: the last target when the forwards all timed out, as before); with
none suspected, every target is sent the write and W acks are real ones.

Mutant (checked): the stand-in for ``targets[-1]`` whatever the failure detector
says (main's): both tests fail (no ``ReplicaPut`` to the third target, the client
answered at the second ack; the 6 keys read not found).
"""

from __future__ import annotations

from impl.cluster import SimulatedCluster
from impl.effects import Effect, Reply, Send
from impl.faults import Faults
from impl.messages import (
    Forward,
    ForwardClaim,
    ForwardDecline,
    PutRequest,
    ReplicaPut,
    ReplicaPutAck,
)
from tests.impl.test_forward_grant import _outsider


def test_an_outsider_whose_top_n_all_declined_writes_to_every_target_at_w3() -> None:
    node, key, top = _outsider()
    (send, _timer) = node.client_request(0.0, PutRequest(7, key, b"milk", b"", 3, "c1"))
    assert isinstance(send, Send) and isinstance(send.message, Forward)
    assert send.dest == top[0]
    op_id = send.message.op_id
    effects: list[Effect] = []
    now = 0.0
    for decliner in top:  # each claims, is granted, gives the grant back
        now += 0.1
        node.receive(now, decliner, ForwardClaim(op_id, 1))
        now += 0.1
        effects = node.receive(now, decliner, ForwardDecline(op_id))
    assert len(node.puts.coordinations) == 1  # the last resort: coordinated here
    sent = {e.dest: e.message for e in effects
            if isinstance(e, Send) and isinstance(e.message, ReplicaPut)}
    assert sorted(sent) == sorted(top)  # main: top[2] never sent (stood in for)
    replies = []
    for owner in top[:2]:
        now += 0.01
        replies += [e for e in node.receive(now, owner, ReplicaPutAck(sent[owner].op_id, key))
                    if isinstance(e, Reply)]
    assert replies == []  # main: PutResult at the second ack (W = 3)
    now += 0.01
    replies = [e for e in node.receive(now, top[2], ReplicaPutAck(sent[top[2]].op_id, key))
               if isinstance(e, Reply)]
    assert len(replies) == 1 and replies[0].error is None


def test_puts_whose_grants_come_late_are_read_at_r1_through_every_owner() -> None:
    # reordered messages wait 0.35 s more, past replica_timeout (0.3 s): a grant so
    # delayed is declined (a forward or claim may time out), and when every top-N
    # node has declined or timed out, n5 coordinates the put itself
    with SimulatedCluster(nodes=5, n=3, r=2, w=2, seed=0,
                          faults=Faults(reorder=0.5, reorder_delay=0.35)) as cluster:
        client = cluster.client()
        n5 = cluster.node("n5")
        keys = [k for k in (b"k%d" % i for i in range(40))
                if "n5" not in n5.preference_list(k)[:3]]
        missed = []
        for i, key in enumerate(keys):
            client.put(key, b"v%d" % i, w=3, coordinator="n5")
            if client.get(key, r=1, coordinator=n5.preference_list(key)[2]).values != [
                    b"v%d" % i]:
                missed.append(key)
        assert len(keys) == 17
        assert missed == []  # main: k10, k14, k21, k23, k24, k27 (never sent the write)
