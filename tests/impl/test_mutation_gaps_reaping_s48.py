"""impl.reaping: the behaviours session 48's mutmut run of the whole file found no
test for (docs/refinement.md, "Mutation score of read_repair, forwarding, retired,
reaping, membership (session 48)"): the "not clean" answer a held reap query gets
once the get it waited for ended holding a live version (session 40's review), the
one ``Reap`` per member of an immediate reap (session 23's review), and which copy
a reap of a live copy lets go. Node-level, deterministic (tests/impl/
test_node_driver.py's ``Driver``), no cluster of processes.
"""

from __future__ import annotations

from impl.effects import Send
from impl.messages import GetRequest, Reap, ReapQuery, ReapQueryReply, ReplicaGet, delete_request
from impl.timers import ReapTombstone
from impl.versions import TOMBSTONE
from tests.impl.test_node_driver import Driver, make_config, ok_get, ok_put

KEY = b"k"


def _put(nodes: int, delete_mode: str, *, delete: bool) -> tuple[Driver, ReapTombstone | None]:
    """``nodes`` nodes (N = 3, R = W = 2), no anti-entropy, a long grace: v1 put
    through n1, then (``delete``) deleted with its context at W = 3; the reap timer
    n1 armed, if any."""
    config = make_config(nodes, n=3, r=2, w=2, anti_entropy=False, delete_mode=delete_mode,
                         tombstone_grace_s=3600.0)
    driver = Driver.start(config)
    ok_put(driver.put("n1", KEY, b"v1"))
    if not delete:
        return driver, None
    read = ok_get(driver.get("n1", KEY))
    driver.request("n1", delete_request(999, KEY, read.context, 3, "c1", 1))
    driver.deliver_all()
    [timer] = [t for t in driver.timers["n1"] if isinstance(t, ReapTombstone)]
    return driver, timer


def test_a_held_answer_is_not_clean_once_its_get_ended_holding_a_live_version() -> None:
    """Safe mode, 3 nodes: n3 coordinates a get of the deleted key (in progress) when
    n1's reap query comes, so n3 holds its answer; the get ends holding a live
    version: n3 answers n1 "not clean" for that query (``_refuse__mutmut_1``: sent to
    nobody; ``_2``: an empty message). Ending without one, it answers clean (with
    its generation; ``get_ended``'s default ``live`` is False: ``get_ended__mutmut_1``,
    True)."""
    for live in (True, False):
        driver, timer = _put(3, "safe", delete=True)
        assert timer is not None
        n1, n3 = driver.nodes["n1"], driver.nodes["n3"]
        [get, *_] = [e.message for e in n3.client_request(driver.now, GetRequest(99, KEY))
                     if isinstance(e, Send) and isinstance(e.message, ReplicaGet)]
        [query] = [e.message for e in n1.fire(driver.now, timer)
                   if isinstance(e, Send) and isinstance(e.message, ReapQuery) and e.dest == "n3"]
        assert not [e for e in n3.receive(driver.now, "n1", query) if isinstance(e, Send)]
        [answer] = (n3.reaper.get_ended(driver.now, KEY, get.op_id, live=True) if live
                    else n3.reaper.get_ended(driver.now, KEY, get.op_id))  # (False: default)
        assert isinstance(answer, Send) and isinstance(answer.message, ReapQueryReply)
        assert (answer.dest, answer.message.query_id, answer.message.key,
                answer.message.clean) == ("n1", query.query_id, KEY, not live)


def test_an_immediate_reap_sends_one_reap_to_each_other_member() -> None:
    """Immediate mode, 4 nodes (N = 3): the reap n1 sets once the delete is
    acknowledged sends one ``Reap`` to each member but itself, the targets and the
    member outside them alike (``_reap_dominated_elsewhere__mutmut_12``: ``or``, a
    second ``Reap`` to each other target)."""
    driver, timer = _put(4, "immediate", delete=True)
    assert timer is not None and "n1" in timer.targets and len(timer.targets) == 3
    reaps = [e.dest for e in driver.nodes["n1"].fire(driver.now, timer)
             if isinstance(e, Send) and isinstance(e.message, Reap)]
    assert sorted(reaps) == ["n2", "n3", "n4"]


def test_a_reap_lets_a_live_copy_go_only_at_an_immediate_non_replica() -> None:
    """A copy of v1 (which the delete's tombstone dominates) at a replica of the key
    and at n3, no replica (4 nodes, N = 3), each told to reap the tombstone: in
    immediate mode the non-replica lets its copy go and the replica keeps it
    (something newer than the delete, as far as it knows); in safe mode both keep
    it (``reap_local__mutmut_11``: ``or``, immediate or no replica lets go)."""
    _, timer = _put(4, "immediate", delete=True)
    assert timer is not None
    [outsider] = {"n1", "n2", "n3", "n4"} - set(timer.targets)
    replica = next(t for t in timer.targets if t != "n1")
    for mode in ("immediate", "safe"):
        driver, _ = _put(4, mode, delete=False)  # the same seeds: the same v1
        v1 = driver.nodes[replica].record(KEY)
        assert v1 is not None
        driver.nodes[outsider].replica.merge_into_local(KEY, v1)
        for name in (outsider, replica):
            driver.nodes[name].reaper.reap_local(KEY, timer.record)
        kept = {name: driver.nodes[name].record(KEY) for name in (outsider, replica)}
        assert kept == {outsider: None if mode == "immediate" else v1, replica: v1}
        assert TOMBSTONE not in driver.records(KEY).get(replica, [])


def test_a_round_waiting_for_two_gets_stays_not_clean_after_one_held_a_live_version(
        ) -> None:
    """Safe mode, 3 nodes: n1 coordinates two gets of the deleted key when its round
    begins, and holds its answer to n2's query for them too; n2 and n3 answer clean.
    The first get ends holding a live version, the second without: n1 reaps nothing
    (``get_ended__mutmut_33``: ``live =``, the second get's end clearing it), and the
    second end still answers n2's held query, "not clean" (``_35``: ``out =``, the
    answer dropped for the round's decision)."""
    driver, timer = _put(3, "safe", delete=True)
    assert timer is not None
    n1, n2 = driver.nodes["n1"], driver.nodes["n2"]
    now = driver.now
    ops = [next(e.message.op_id for e in n1.client_request(now, GetRequest(rid, KEY))
                if isinstance(e, Send) and isinstance(e.message, ReplicaGet))
           for rid in (98, 99)]
    [asked] = [e.message for e in n2.fire(now, ReapTombstone(KEY, timer.record, timer.targets))
               if isinstance(e, Send) and isinstance(e.message, ReapQuery) and e.dest == "n1"]
    assert not [e for e in n1.receive(now, "n2", asked) if isinstance(e, Send)]
    [query, *_] = [e.message for e in n1.fire(now, timer)
                   if isinstance(e, Send) and isinstance(e.message, ReapQuery)]
    for member in ("n2", "n3"):
        n1.receive(now, member, ReapQueryReply(query.query_id, KEY, True))
    first = n1.reaper.get_ended(now, KEY, ops[0], live=True)
    second = n1.reaper.get_ended(now, KEY, ops[1])
    sent = [(e.dest, type(e.message).__name__) for e in (*first, *second) if isinstance(e, Send)]
    assert sent == [("n2", "ReapQueryReply")]
    [answer] = [e.message for e in second if isinstance(e, Send)]
    assert isinstance(answer, ReapQueryReply) and not answer.clean
    assert driver.nodes["n1"].record(KEY) is not None  # not reaped
