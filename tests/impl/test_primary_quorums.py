"""The primary quorums PR and PW (session 39; Riak KV's ``pr`` and ``pw``,
``riak_kv_get_core``/``riak_kv_put_core``; docs/runtime.md, "Primary quorums pr and
pw (session 39)"): their bad values refused where they enter, naming the parameter;
carried by the wire, a request's None (the cluster's) apart from its 0; and a
request whose coordinator believes fewer primaries reachable refused before it asks
or writes anything. The stale read they refuse: tests/impl/test_sloppy_read_two_faults.py.
"""

from __future__ import annotations

from typing import Any

import pytest

import impl
from impl import http_api, wire
from impl.config import ClusterConfig
from impl.effects import Effect, Reply
from impl.errors import BadMessageError, BadRequestError, ConfigError, QuorumError
from impl.forwarding import ReplyTo, check_request
from impl.get_coordinator import GetCoordination, read_quorum_reached
from impl.messages import Forward, GetRequest, PutRequest, delete_request
from impl.node import Node
from impl.put_coordinator import PutCoordination, put_quorum_reached
from impl.sloppy_quorum import shortfall
from impl.storage.memory import MemoryStorage
from impl.versions import ClockMode, Record
from tests.impl.test_node_driver import make_config

NODES = ("n1", "n2", "n3", "n4")
KEY = b"k"


@pytest.mark.parametrize(("field", "value", "why"), [
    ("pr", 4, r"pr: must be in \[0, 3\], got 4"), ("pw", -1, r"pw: must be in \[0, 3\]"),
    ("pr", True, "pr: must be an integer"), ("pw", "2", "pw: must be an integer")])
def test_a_bad_cluster_pr_or_pw_is_refused_naming_it(field: str, value: Any,
                                                      why: str) -> None:
    with pytest.raises(ConfigError, match=why):
        ClusterConfig(nodes=NODES, n=3, **{field: value})
    assert (ClusterConfig(nodes=NODES, pr=3, pw=0).pr,
            ClusterConfig(nodes=NODES).pw) == (3, 0)  # 0: the paper's, the default


@pytest.mark.parametrize("make", [
    lambda: GetRequest(1, KEY, pr=-1), lambda: GetRequest(1, KEY, pr=True),
    lambda: PutRequest(1, KEY, b"v", pw=-2), lambda: PutRequest(1, KEY, b"v", pw=1.0)])
def test_a_bad_request_pr_or_pw_is_refused_naming_it(make: Any) -> None:
    with pytest.raises(BadRequestError, match=r"Request\.p[rw]: must be"):
        make()


def test_pr_and_pw_over_n_are_refused_as_riak_refuses_them() -> None:
    config = ClusterConfig(nodes=NODES, n=3)
    with pytest.raises(BadRequestError, match=r"GetRequest\.pr: must be in 0\.\.3"):
        check_request(config, ClockMode.DVV, GetRequest(1, KEY, pr=4))
    with pytest.raises(BadRequestError, match=r"PutRequest\.pw: must be in 0\.\.3"):
        check_request(config, ClockMode.DVV, delete_request(1, KEY, pw=4))
    check_request(config, ClockMode.DVV, GetRequest(1, KEY, r=1, pr=3))  # pr > r: max


@pytest.mark.parametrize("message", [
    GetRequest(7, KEY), GetRequest(7, KEY, pr=0), GetRequest(7, KEY, r=1, pr=2),
    PutRequest(7, KEY, b"v"), PutRequest(7, KEY, b"v", pw=0), delete_request(7, KEY, pw=3),
    Forward(9, GetRequest(7, KEY, pr=0)), Forward(9, PutRequest(7, KEY, b"v", pw=2))])
def test_the_wire_keeps_a_request_s_none_apart_from_its_zero(message: object) -> None:
    assert wire.decode(wire.encode(message)) == message


def test_a_frame_of_an_earlier_version_reads_as_the_cluster_s_pr_and_pw() -> None:
    """A request of a node before session 39 ends before the tail: None, the
    cluster's; one that sets pr or pw is refused by such a node (trailing bytes)."""
    assert wire.encode(GetRequest(7, KEY)) == wire.encode(GetRequest(7, KEY, pr=None))
    frame = wire.encode(GetRequest(7, KEY, pr=0))
    assert len(frame) == len(wire.encode(GetRequest(7, KEY))) + 9  # presence + u64
    with pytest.raises(BadMessageError, match="presence byte"):
        wire.decode(frame[:-9] + b"\x02" + frame[-8:])


def test_the_http_parameters_are_named_with_their_range() -> None:
    assert http_api._quorum({"pr": ["0"]}, "pr", 3, low=0) == 0
    for text in ("4", "-1", "x", "²"):
        with pytest.raises(BadRequestError, match=r"^pw: must be an integer in 0\.\.3"):
            http_api._quorum({"pw": [text]}, "pw", 3, low=0)
    with pytest.raises(BadRequestError, match=r"PUT /kv/\{key\} takes w and pw"):
        http_api._check_parameters("PUT", {"pr": ["1"]})


def test_a_put_refused_before_writing_is_not_written_at_http() -> None:
    assert not http_api._outcome_unknown(QuorumError("short of PW", written=False))
    assert http_api._outcome_unknown(QuorumError("short of PW"))  # written: unknown


def test_a_request_short_of_reachable_primaries_is_refused_at_once() -> None:
    """Riak's ``validate`` of riak_kv_get_fsm and riak_kv_put_fsm: PR (PW) above the
    primaries up is refused before anything is asked or written. The coordinator
    suspects the crashed target after a put that timed out on it; then a put at
    PW = 3 is refused, nothing written (its store keeps the first put alone), and a
    get at PR = 3 too, asking nobody; at PR = PW = 2 both are served."""
    with impl.SimulatedCluster(nodes=4, n=3, r=2, w=2, seed=3) as cluster:
        targets, _ = cluster.node("n1").quorum.split(KEY)
        first, down = targets[0], targets[2]
        client = cluster.client()
        cluster.run_for(3.0)
        cluster.crash(down)
        client.put(KEY, b"v1", coordinator=first)
        cluster.run_for(0.5)  # the put's replica timeout: down suspected (for 3 s)
        before = cluster.node(first).replica.local_record(KEY)
        with pytest.raises(QuorumError, match=(
                rf"^put needs PW=3 primaries .* but 2 of them are believed reachable "
                rf"\({targets[0]}, {targets[1]}; suspected: {down}\); nothing was written "
                r"\(Riak's pw_val_unsatisfied\)$")) as refused:
            client.put(KEY, b"v2", coordinator=first, pw=3)
        assert (refused.value.written, refused.value.needed, refused.value.got) == (False, 3, 2)
        assert cluster.node(first).replica.local_record(KEY) == before
        with pytest.raises(QuorumError, match=r"^get needs PR=3 primaries .* nothing was "
                                              r"asked \(Riak's pr_val_unsatisfied\)$"):
            client.get(KEY, coordinator=first, pr=3)
        with pytest.raises(QuorumError, match=r"^delete needs PW=3 primaries .* nothing "
                                              r"was written"):
            client.delete(KEY, coordinator=first, pw=3)
        with pytest.raises(QuorumError, match=r"^get needs PR=3 primaries"):
            client.delete(KEY, coordinator=first, pr=3)  # its read first
        assert cluster.node(first).replica.local_record(KEY) == before
        client.put(KEY, b"v3", client.get(KEY, coordinator=first, pr=2).context,
                   coordinator=first, pw=2)
        assert client.get(KEY, coordinator=first, pr=2).values == [b"v3"]


def test_a_forwarded_put_refused_before_writing_stays_not_written() -> None:
    """Session 39's review: a put sent to a node outside the key's top N is forwarded
    to a target, which refuses it short of reachable primaries (nothing written). The
    refusal crossed the forward as a bare ``quorum`` code, read back as a QuorumError
    whose ``written`` is True: the forwarder's client got 504 ``outcome: unknown``
    with a message saying "nothing was written" (``vdynamo delete --pw 3`` on a real
    cluster, and the library's ``put(pw=3)``: OutcomeUnknownError, not retried). The
    flag now travels (``ErrorCode.QUORUM_NOT_WRITTEN``)."""
    with impl.SimulatedCluster(nodes=4, n=3, r=2, w=2, seed=3) as cluster:
        targets, _ = cluster.node("n1").quorum.split(KEY)
        first, down = targets[0], targets[2]
        outsider = next(name for name in NODES if name not in targets)
        client = cluster.client()
        cluster.run_for(3.0)
        cluster.crash(down)
        client.put(KEY, b"v1", coordinator=first)
        cluster.run_for(0.5)  # first suspects down
        before = {name: cluster.node(name).replica.local_record(KEY)
                  for name in NODES if name != down}
        for refused_put in (lambda: client.put(KEY, b"v2", coordinator=outsider, pw=3),
                            lambda: client.delete(KEY, b"", coordinator=outsider, pw=3)):
            with pytest.raises(QuorumError, match=r"PW=3 .* nothing was written") as refused:
                refused_put()
            assert refused.value.written is False
        assert {name: cluster.node(name).replica.local_record(KEY)
                for name in before} == before
        # the partition-aware client's failover path carries pw too (a mutant that
        # dropped it there deleted the key)
        with pytest.raises(QuorumError, match="PW=3"):
            client.delete(KEY, pw=3)


#: a membership change's quorum groups (the old and the new top N) over five targets
GROUPS = (("a", "b", "c"), ("b", "c", "d"))


def test_during_a_change_a_get_needs_max_r_pr_replies_in_each_group() -> None:
    """Session 39's review: ``read_quorum_reached``'s group branch needs max(R, PR)
    of each group; with R = 1, PR = 2 a reply from ``a`` (group 1) and ``d`` (group
    2), plus a fallback's, is one per group: not enough. Mutant (scratch): ``need =
    coordination.r`` answered it; no test saw the group branch with a PR."""
    get = GetCoordination(1, KEY, 1, ("a", "b", "c", "d"), ("e",), ReplyTo(1), 10.0,
                          groups=GROUPS, pr=2)
    for node in ("a", "d", "e"):
        get.replies[node] = Record.empty(ClockMode.DVV)
    assert not read_quorum_reached(get)
    get.replies["b"] = Record.empty(ClockMode.DVV)  # a, b of group 1; b, d of group 2
    assert read_quorum_reached(get)


def test_during_a_change_a_put_needs_pw_primary_acks_in_each_group() -> None:
    """Session 39's review: W = 1, PW = 2; group 1 acknowledged by ``a`` itself and
    by a fallback for ``c`` (W met, PW not), group 2 by ``c`` (for it, hinted) and
    ``d``: not enough. Mutant (scratch): the group branch without its PW clause
    answered it."""
    put = PutCoordination(1, KEY, b"", b"", 1, ("a", "b", "c", "d"), ("e",), ReplyTo(1),
                          10.0, groups=GROUPS, pw=2)
    put.acks |= {"a", "c", "d"}
    put.primary_acks |= {"a", "d"}
    assert not put_quorum_reached(put)
    put.acks.add("b")
    put.primary_acks.add("b")
    assert put_quorum_reached(put)


def test_a_put_short_of_pw_after_writing_is_outcome_unknown() -> None:
    """Session 39's review: a put whose coordinator wrote it and whose other targets
    acknowledged, one through a fallback, fails short of PW with its outcome unknown
    (``written`` True: HTTP 504, the library's OutcomeUnknownError) and is stored.
    Mutant (scratch): ``_failed`` marking it ``written=False`` (a 503 not-written,
    the library would retry elsewhere and write a false sibling) survived every test."""
    with impl.SimulatedCluster(nodes=4, n=3, r=2, w=2, seed=3) as cluster:
        targets, _ = cluster.node("n1").quorum.split(KEY)
        first, down = targets[0], targets[2]
        client = cluster.client()
        cluster.run_for(3.0)
        cluster.crash(down)  # not suspected yet: the put is sent, then handed to a fallback
        with pytest.raises(QuorumError, match=(
                rf"^put reached 2 of PW=3 primaries \({min(targets[:2])}, "
                rf"{max(targets[:2])}\) with every target acknowledged")) as short:
            client.put(KEY, b"v1", coordinator=first, pw=3)
        assert short.value.written and http_api._outcome_unknown(short.value)
        assert client.get(KEY, coordinator=first).values == [b"v1"]


def test_a_cluster_pr_leaves_the_reap_checks_their_retries() -> None:
    """A reap check is a get the node starts itself (R = N, the targets themselves),
    exempt from PR: with ``[cluster] pr = 3`` and n3 cut off for 60 s while six keys
    are deleted through n1, the checks fail while n3 is away and are tried again,
    the wait doubling, until one finds it back and the keys are reaped (48 checks,
    0 copies left). Mutant (scratch, session 39's review): the check refused at once
    like a client's get short of reachable primaries, its failure never rescheduled:
    6 checks, 18 copies left for good (it survived every test)."""
    from tests.impl.test_reap_missed_tombstone import _copies, _cut_off_while_deleted

    cluster = _cut_off_while_deleted(60.0, pr=3)
    cluster.run_for(800.0)
    cluster.run_until_quiet()
    assert _copies(cluster) == 0


def _node(**changes: object) -> Node:
    """n1 of four nodes (N = 3, R = W = 1 unless ``changes`` say), started at 0."""
    node = Node("n1", make_config(4, **{"n": 3, "r": 1, "w": 1, **changes}),
                MemoryStorage("always"), seed=1)
    node.start(0.0)
    return node


def _replies(effects: list[Effect]) -> list[Reply]:
    return [effect for effect in effects if isinstance(effect, Reply)]


def test_a_coordinator_outside_the_top_n_is_no_primary_for_pw() -> None:
    """A node that coordinates a put of a key it is not a replica of (its forwards
    timed out) writes it as a hint for the last target: at W = 1 that answers at
    once, but at PW = 1 not before a target acknowledges. Mutant (scratch, session
    39's review): that hinted write counted in ``primary_acks`` answered at once."""
    node = _node()
    key = next(k for k in (b"k%d" % i for i in range(50))
               if "n1" not in node.quorum.split(k)[0])
    # the last target suspected (its forward timed out): the outsider stands in for
    # it (only for a target it suspects since session 53's review)
    node.quorum.detector.set_suspected({node.quorum.split(key)[0][-1]: 2.0})
    assert len(_replies(node.puts.start(1.0, PutRequest(7, key, b"v"), ReplyTo(7)))) == 1
    assert _replies(node.puts.start(1.0, PutRequest(8, key, b"v", pw=1), ReplyTo(8))) == []


def test_a_request_s_zero_overrides_the_cluster_s_pr_and_pw() -> None:
    """``?pr=0`` (``?pw=0``) on a cluster whose ``[cluster] pr`` (``pw``) is 2: no
    primary needed for that request, as Riak's per-request options override the
    bucket's. n1 coordinates with the other two targets suspected: the cluster's
    quorum refuses at once, the request's 0 is served. Mutant (scratch, session 39's
    review): a request's 0 read as None (``request.pr or config.pr``), for gets and
    for puts, each survived every test."""
    node = _node(pr=2, pw=2)
    key = next(k for k in (b"k%d" % i for i in range(50))
               if node.quorum.split(k)[0][0] == "n1")
    node.quorum.detector.set_suspected({t: 1e9 for t in node.quorum.split(key)[0][1:]})
    for make in (lambda pr: GetRequest(7, key, pr=pr),
                 lambda pw: PutRequest(7, key, b"v", pw=pw)):
        start = node.gets.start if isinstance(make(0), GetRequest) else node.puts.start
        (refused,) = _replies(start(1.0, make(None), ReplyTo(7)))
        assert isinstance(refused.error, QuorumError), refused
        (served,) = _replies(start(1.0, make(0), ReplyTo(7)))
        assert served.error is None, served


def test_a_failure_names_the_primary_quorum_only_when_it_is_short() -> None:
    """The failure's message (:func:`impl.sloppy_quorum.shortfall`): W short with PW
    met names W alone; both short name both; PW short alone names PW; no primary
    quorum (0) is never named. Mutant (scratch, session 39's review): ``<=`` for
    ``<`` named a met PW ("and 2 of PW=2 primaries") and PR=0 ("0 of PR=0
    primaries (none)"), and survived every test."""
    assert shortfall("W", 1, 2, {"a", "b"}, 2, "replicas") == ("1 of W=2 replicas", 2, 1)
    assert shortfall("R", 0, 1, set(), 0, "replicas") == ("0 of R=1 replicas", 1, 0)
    assert shortfall("W", 1, 2, {"a"}, 2, "replicas") == (
        "1 of W=2 replicas and 1 of PW=2 primaries (a)", 2, 1)
    assert shortfall("R", 2, 2, {"b", "a"}, 3, "replicas") == (
        "2 of PR=3 primaries (a, b)", 3, 2)


def test_the_sim_client_fails_a_put_refused_before_writing_over() -> None:
    """SimulatedCluster's partition-aware client retries a put only when nothing was
    written (``RETRY_PUT``'s rule, and the HTTP library's on a 503 not-written); a
    put refused short of reachable primaries is such a put. Until session 39's review
    it was not failed over (QuorumError is not in RETRY_PUT): the refusal of a
    coordinator whose failure detector still suspected a target ended the put where
    the next node, which does not, serves it."""
    with impl.SimulatedCluster(nodes=4, n=3, r=2, w=2, seed=3) as cluster:
        targets, _ = cluster.node("n1").quorum.split(KEY)
        first, second, down = targets
        client = cluster.client()
        cluster.run_for(3.0)
        # first still suspects down (every node is up): second does not
        cluster.node(first).quorum.detector.set_suspected({down: 1e9})
        handle = client.submit_put(KEY, b"v", pw=3)
        cluster.wait([handle])
        assert handle.tried[:2] == [first, second] and handle.error is None, handle.error
