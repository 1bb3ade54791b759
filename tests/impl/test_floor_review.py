"""Session 16 review of the client-vclock truncation floor and the late re-mint.

Probes written against commits cdd4c7d (a late ack's record re-mints an answered
put in a round that answers nothing) and 7a2edc5 (a record keeps the highest
counter its truncations dropped, its ``floor``, and a put counts above it).
"""

from __future__ import annotations

import dataclasses

import pytest

from impl.cluster import SimulatedCluster
from impl.effects import Reply, Send
from impl.errors import BadRequestError
from impl.messages import PutRequest, ReplicaPut, ReplicaPutAck
from impl.node import Node
from impl.staging import persist
from impl.storage.memory import MemoryStorage
from impl.versions import (
    MAX_COUNTER,
    ClockMode,
    Record,
    apply_put,
    context_clock,
    encode_record,
)
from spec.vclock import VClock
from tests.impl.test_node_driver import make_config
from tests.impl.test_truncation_skew import _forgetful_records

KEY = b"k"


def _floor_missed_by_the_coordinator(*, missed_b: bool) -> tuple[list[bytes], list[int]]:
    """n3 is cut off while alice writes v0..v4 through n1 (her pair at 5) and carol
    reads them; 15 s on (``vclock_old_s`` 5 s, threshold 1) bob's
    read-modify-write B through n2 drops alice's pair (n1 and n2 keep the floor 5).
    n3, healed, receives B's version alone ({bob: 1}: the replicated part carries
    no floor). alice, forgetful, writes Z blind through n3 (acknowledged), then
    carol writes C with the context she read before. Returns ``GET ?r=3``'s values
    once quiet and every replica's floor; the right value is ``[B, C, Z]``.
    ``missed_b``: n3 stays cut off until B is acknowledged (it holds nothing of the
    key when Z comes; B reaches it with Z's round)."""
    with SimulatedCluster(nodes=3, n=3, r=2, w=2, seed=1, clock="client-vclock",
                          vclock_threshold=1, vclock_young_s=0.0, vclock_old_s=5.0,
                          anti_entropy=False, read_repair=False,
                          hinted_handoff=False) as cluster:
        cluster.partition({"n1", "n2"}, {"n3"})
        alice = cluster.client("n1", client_id="alice")
        for i in range(5):
            alice.put(KEY, b"v%d" % i, context=alice.get(KEY).context)
        carol = cluster.client("n1", client_id="carol")
        stale = carol.get(KEY).context
        cluster.run_until_quiet()
        if not missed_b:
            cluster.heal()
        cluster.run_for(15.0)
        bob = cluster.client("n2", client_id="bob")
        bob.put(KEY, b"B", context=bob.get(KEY).context)
        cluster.run_for(0.5)
        cluster.heal()
        cluster.client("n3", client_id="alice").put(KEY, b"Z", context=b"")  # acknowledged
        cluster.run_for(0.5)
        carol.put(KEY, b"C", context=stale)  # acknowledged
        cluster.run_until_quiet()
        floors = [cluster.node(n).replica.local_record(KEY).floor for n in ("n1", "n2", "n3")]
        return sorted(cluster.client("n2").get(KEY, r=3).values), floors


def test_the_floor_travels_with_the_put_that_raised_it() -> None:
    """Before: ``[B, C]``, floors ``[5, 5, 0]``: B's replicated part ({bob: 1}) carried
    no floor, n3 minted Z ``{alice: 1}`` and carol's ``{alice: 5}`` covered it. Now
    the replicated part carries the coordinator's floor
    (:func:`impl.versions.replicated_part`)."""
    assert _floor_missed_by_the_coordinator(missed_b=False) == ([b"B", b"C", b"Z"], [5, 5, 5])


def test_a_replica_above_the_coordinators_floor_asks_for_a_re_mint() -> None:
    """n3 holds nothing when Z comes (it missed v0..v4 and B): Z minted ``{alice: 1}``
    was kept by n1 and n2, whose floor is 5, and carol's context covered it
    (``[B, C]``). Now a replica whose floor is above the put's acks with its record
    (:meth:`impl.replica.Replica.on_replica_put`) and the coordinator mints the put
    again above the floor (:meth:`impl.put_coordinator.PutCoordinator._remint`)."""
    assert _floor_missed_by_the_coordinator(missed_b=True) == ([b"B", b"C", b"Z"], [5, 5, 5])


def _peer_record() -> bytes:
    """n3's record in the late ack: 49 versions of other clients that each read
    alice's v2 ({alice: 2, cI: 1}, 1300 bytes each: 66833 bytes; with alice's
    pair 50, the truncation's ``max_pairs``), all concurrent with a blind put of
    alice minted above them."""
    record = apply_put(Record.empty(ClockMode.CLIENT_VCLOCK), VClock(), b"v2",
                       coordinator="n3", client_id="alice", now=0.0, client_counter=1)
    read = context_clock(record)
    for i in range(49):
        record = apply_put(record, read, b"x" * 1300, coordinator="n3", client_id=f"c{i}",
                           now=0.5)
    return encode_record(record)


@pytest.mark.parametrize("limit", ["max_siblings", "max_record_bytes"])
def test_a_re_mint_round_of_an_answered_put_never_answers_its_client_again(limit: str) -> None:
    """max_siblings 49 (or max_record_bytes 67924, between the peer's record and
    the record with alice's version too, 68176 bytes: the 413): alice's blind v3 through n1
    ({alice: 1}) is answered at W=2; n3's late ack holds 63 versions above
    {alice: 2}, so v3 is minted again ({alice: 3}), one more sibling. The round
    answers nothing, so its refusal answered nobody either: before, the client
    got a second Reply (an error after its success) and the re-mint was dropped
    (v3, acknowledged, dominated). Now a limit does not refuse the re-mint of a
    put it accepted (:meth:`impl.put_coordinator.PutCoordinator._coordinate`)."""
    storage = MemoryStorage("always")
    limits = ({"max_siblings": 49} if limit == "max_siblings" else
              {"max_siblings": 100, "max_record_bytes": 67924, "max_value_bytes": 1300})
    node = Node("n1", make_config(3, n=3, r=2, w=2, clock="client-vclock", **limits),
                storage, seed=1)
    node.start(0.0)
    effects = persist(storage, node.client_request(
        1.0, PutRequest(7, KEY, b"v3" * 650, b"", None, "alice")))
    (put, *_) = [e.message for e in effects if isinstance(e, Send)
                 and isinstance(e.message, ReplicaPut)]
    first = [e for e in persist(storage, node.receive(1.01, "n2", ReplicaPutAck(put.op_id, KEY)))
             if isinstance(e, Reply)]
    assert [r.error for r in first] == [None]
    out = persist(storage, node.receive(1.02, "n3", ReplicaPutAck(
        put.op_id, KEY, record=_peer_record())))
    assert node.stats["put-remints"] == 1
    assert [e for e in out if isinstance(e, Reply)] == []
    local = node.replica.local_record(KEY)
    assert b"v3" * 650 in [s.value for s in local.siblings]


@pytest.mark.parametrize(("sent", "remints"), [(3, 1), (4, 1), (5, 0)])
def test_a_version_minted_at_or_below_a_replicas_floor_is_minted_again(sent: int,
                                                                       remints: int) -> None:
    """n1 holds nothing of the key; alice's put sends counter ``sent`` (minted
    ``sent + 1``); n2's ack carries its record, whose floor is 5 (alice's pair
    truncated at 5). A version minted at or below the floor (4, 5) may be covered
    by a context read before the truncation: minted again above it (6); one
    minted above it (6) is kept."""
    storage = MemoryStorage("always")
    node = Node("n1", make_config(3, n=3, r=2, w=2, clock="client-vclock"), storage, seed=1)
    node.start(0.0)
    _, truncated = _forgetful_records()
    effects = persist(storage, node.client_request(
        1.0, PutRequest(7, KEY, b"Z", b"", None, "alice", client_counter=sent)))
    (put, *_) = [e.message for e in effects if isinstance(e, Send)
                 and isinstance(e.message, ReplicaPut)]
    persist(storage, node.receive(1.01, "n2", ReplicaPutAck(
        put.op_id, KEY, record=encode_record(truncated))))
    assert node.stats["put-remints"] == remints
    (z,) = [s for s in node.replica.local_record(KEY).siblings if s.value == b"Z"]
    assert z.clock.counter("alice") == (6 if remints else sent + 1)


def test_a_floor_at_the_u64_limit_refuses_the_put_with_a_400_not_a_crash() -> None:
    """A peer's record with a floor of 2**64 - 1 (decodes: a u64) makes the next
    counter 2**64, which no record's bytes hold. Before: ``struct.error`` out of
    ``Node.client_request`` (an internal error; every client-vclock put of the key
    failed so). Now a 400 naming the limit, and the stored record unchanged."""
    _, truncated = _forgetful_records()
    storage = MemoryStorage("always")
    node = Node("n1", make_config(3, n=3, r=2, w=2, clock="client-vclock"), storage, seed=1)
    node.start(0.0)
    persist(storage, node.receive(0.5, "n2", ReplicaPut(1, KEY, encode_record(
        dataclasses.replace(truncated, floor=MAX_COUNTER)))))
    before = node.replica.local_record(KEY)
    assert before.floor == MAX_COUNTER
    out = persist(storage, node.client_request(
        1.0, PutRequest(7, KEY, b"Z", b"", None, "alice")))
    (reply,) = [e for e in out if isinstance(e, Reply)]
    assert isinstance(reply.error, BadRequestError) and "limit" in str(reply.error)
    assert node.replica.local_record(KEY) == before
