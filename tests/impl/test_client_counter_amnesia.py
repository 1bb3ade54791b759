"""A client-vclock client that forgot its counter must not lose an acknowledged write
(session 13's probe; the client-side twin of Riak's kv679, docs/impl.md "Disk loss
and key amnesia").

In ``client-vclock`` a put's clock increments the client's own entry to one more
than the larger of the context's entry and the counter the client sends. A client
that forgot its counter (a restarted process reusing its id, or any HTTP client that
sends no ``X-Vdynamo-Client-Counter``: curl, the project's own client library and
CLI, all named ``http`` by default) sends 0, so a blind put after a put with a
context minted ``{alice: 1}`` under a stored ``{alice: 2}``: the coordinator
acknowledged it and every replica dropped it as seen. The coordinator now counts
the client's own highest stored counter too (``impl.versions.apply_put``), as
server-vclock counts the coordinator's. The spec's clients never forget their
counter, so the spec cannot state this fault (its reachable puts are unchanged).

Session 23 replaced that rule (docs/runtime.md, "client-vclock counters unique
(session 23)"): a put increments the entry of (its coordinator's actor, its client),
counted by the coordinator, or a fresh entry of the pair when its context misses
one of the pair's stored events, and the spec states the old fault
(``forgetful_clients``). A restarted client's blind put no longer supersedes its
earlier write, which it did not read: both are kept, as siblings (dvv's answer;
before, ``[v3]`` alone, the client's session order). The tests below assert that.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from impl.cluster import SimulatedCluster
from tests.runtime.live import call, cluster, run, url

KEY = b"k"


def test_a_restarted_client_that_forgot_its_counter_keeps_its_acknowledged_write() -> None:
    sim = SimulatedCluster(nodes=3, n=3, r=2, w=2, seed=1, clock="client-vclock")
    alice = sim.client(client_id="alice")
    alice.put(KEY, b"v1")
    alice.put(KEY, b"v2", context=alice.get(KEY).context)
    sim.run_until_quiet()
    restarted = sim.client(client_id="alice")  # the same id, its counter forgotten
    restarted.put(KEY, b"v3")                  # acknowledged
    sim.run_until_quiet()
    # v3 did not read v2: siblings since session 23 (before: [v3], session order)
    assert sim.client(client_id="reader").get(KEY, r=3).values == [b"v2", b"v3"]


@pytest.mark.parametrize("named", [False, True])
def test_a_blind_put_of_an_http_client_without_a_counter_is_not_lost(
        tmp_path: Path, named: bool) -> None:
    """Over HTTP, no counter (curl, ``vdynamo put``): a put with a get's context,
    then a blind put; the blind put is acknowledged and a get with R=3 returns it.
    A client named by X-Vdynamo-Client (``named``): its blind v3 is a sibling of v2,
    which it did not read (session 23; before, counted from the node's clock, it
    superseded v2); a request that names no client is a client of its own (Riak's
    mkclientid), so its blind v3 is a sibling of v2 (before session 13's review every
    such request was the one client ``http``)."""
    headers_of: dict[str, str] = {"X-Vdynamo-Client": "alice"} if named else {}

    async def scenario() -> None:
        async with cluster(tmp_path, clock="client-vclock") as servers:
            assert (await call("PUT", url(servers[0], "/kv/k"), b"v1", headers_of))[0] == 200
            _, headers, _ = await call("GET", url(servers[0], "/kv/k"))
            context = {"X-Vdynamo-Context": headers["x-vdynamo-context"], **headers_of}
            assert (await call("PUT", url(servers[0], "/kv/k"), b"v2", context))[0] == 200
            assert (await call("PUT", url(servers[0], "/kv/k"), b"v3", headers_of))[0] == 200
            status, _, body = await call("GET", url(servers[2], "/kv/k?r=3"))
            assert status == 300 and sorted(body["values"]) == ["djI=", "djM="]  # v2, v3
    run(scenario())


def test_two_anonymous_blind_puts_are_siblings_in_client_vclock(tmp_path: Path) -> None:
    """Two programs that name no client write the same key blind, through two
    nodes: both writes are kept, as siblings (session 13's review: as the one
    client ``http`` the later by the nodes' clocks superseded the other)."""
    async def scenario() -> None:
        async with cluster(tmp_path, clock="client-vclock") as servers:
            assert (await call("PUT", url(servers[0], "/kv/k"), b"a"))[0] == 200
            assert (await call("PUT", url(servers[1], "/kv/k"), b"b"))[0] == 200
            status, _, body = await call("GET", url(servers[2], "/kv/k?r=3"))
            assert status == 300 and sorted(body["values"]) == ["YQ==", "Yg=="]
    run(scenario())


def test_a_forgetful_client_through_a_coordinator_that_missed_its_last_write() -> None:
    """n3 was cut off while alice wrote v1 and v2 through n1; after the heal,
    before any repair, a restarted alice (counter forgotten) writes v3 through n3,
    which holds nothing of the key. Before session 23 v3 was minted ``{alice: 1}``,
    which n1 and n2 hold a dominating clock of; their acks carried their record and
    n3 minted v3 again above it (``{alice: 3}``,
    :meth:`impl.put_coordinator.PutCoordinator._remint`), and v3 superseded v2.
    Since session 23 v3 is ``{<n3's actor> alice: 1}``: no replica dominates it, no
    re-mint is asked, and v2 and v3 are siblings (v3 did not read v2). Before
    session 14 v3 was acknowledged and lost: a strict xfail of session 13."""
    sim = SimulatedCluster(nodes=3, n=3, r=2, w=2, seed=1, clock="client-vclock",
                           anti_entropy=False, read_repair=False)
    alice = sim.client(client_id="alice", coordinator="n1")
    sim.partition({"n3"}, {"n1", "n2"})
    alice.put(KEY, b"v1")
    alice.put(KEY, b"v2", context=alice.get(KEY).context)
    sim.run_until_quiet()
    sim.heal()
    sim.client(client_id="alice", coordinator="n3").put(KEY, b"v3")  # acknowledged
    sim.run_until_quiet()
    assert sim.client(client_id="reader").get(KEY, r=3).values == [b"v2", b"v3"]
    assert sim.node("n3").stats["put-remints"] == 0


def test_a_version_that_read_the_put_is_no_collision() -> None:
    """The re-mint's guard: bob reads alice's v1 (through n1) before her put is
    answered (W=3, n1 cut off from n3) and overwrites it through n2; v1's late copy
    reaches n3, which holds bob's version, whose clock covers ``{alice: 1}`` with an
    equal counter. That is causality, not a forgotten counter: v1 is not minted
    again (it would come back as a sibling of the write that overwrote it), and a
    get returns bob's value alone."""
    sim = SimulatedCluster(nodes=3, n=3, r=1, w=3, seed=1, clock="client-vclock",
                           anti_entropy=False, read_repair=False)
    alice = sim.client(client_id="alice", coordinator="n1")
    bob = sim.client(client_id="bob", coordinator="n2")
    sim.partition({"n3"}, {"n1"})
    pending = alice.submit_put(KEY, b"v1")  # unanswered while n1 cannot reach n3
    sim.run_for(0.05)
    read = bob.get(KEY)
    unanswered = not pending.done
    assert read.values == [b"v1"] and unanswered
    bob.put(KEY, b"bob", context=read.context, w=3)
    sim.heal()
    sim.run_until_quiet()
    assert pending.done and pending.error is None
    assert sim.client(client_id="reader").get(KEY, r=3).values == [b"bob"]
    assert sim.node("n1").stats["put-remints"] == 0


def test_a_put_already_answered_is_not_minted_again() -> None:
    """The re-mint's other guard: alice's v1 (W=1) is answered by n1 alone while n1
    cannot reach n3; her v2 (counter 1, ``{alice: 2}``, W=3) through n2 reaches every
    node. v1's late copy then reaches n3, which holds ``{alice: 2}``: a counter above
    the one minted, but v1 was answered before v2 was written, so minting it again
    (above v2) would undo her later write. Since session 23 v2, blind, is a sibling
    of v1 (v2 did not read v1; before, ``{alice: 2}`` superseded ``{alice: 1}``): a
    get returns both, and v1 is not minted again."""
    sim = SimulatedCluster(nodes=3, n=3, r=2, w=2, seed=1, clock="client-vclock",
                           anti_entropy=False, read_repair=False)
    sim.partition_one_way({"n1"}, {"n3"})
    alice = sim.client(client_id="alice")
    alice.put(KEY, b"v1", w=1, coordinator="n1")
    alice.put(KEY, b"v2", w=3, coordinator="n2")
    sim.heal()
    sim.run_until_quiet()
    assert sim.client(client_id="reader").get(KEY, r=3).values == [b"v1", b"v2"]
    assert sim.node("n1").stats["put-remints"] == 0
