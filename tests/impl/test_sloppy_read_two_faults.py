"""A read quorum made of nodes that cannot vouch for the key (session 38; vdynamo
issue 12, docs/runtime.md "Two-disks sloppy read and the duplicated stale root
(session 38)"), and the primary quorums that refuse it (session 39, docs/runtime.md
"Primary quorums pr and pw (session 39)").

``tests/impl/test_double_faults.py``'s two-disks scenario read ``k21`` as ``[]``
at step 88 (seed 1, until session 38) where ``v66`` was acknowledged: the get's
coordinator n3, restarted after missing the write, counted its own empty read and
the empty answer of the fallback n5 asked for the rebuilding, silent n2. Since
session 38's anti-entropy rule that schedule no longer reaches the case (7 gets
of seed 1 are still answered with a fallback for a rebuilding target counted,
none of them after a write it missed), so the case is pinned here, directed.

Five nodes, N = 3, R = W = 2, the key's targets ``t1, t2, t3``: ``t1`` crashed;
``t2`` wiped (rebuilding) or crashed; a put through ``t3`` acknowledged; ``t1``
restarted with the hints for it held back, and ``t3`` cut from ``t1`` one way; a
get through ``t1``. Its own read is empty (it missed the write), ``t2`` is silent
(rebuilding, or down), ``t3``'s reply never arrives, and the fallback asked in
their place answers from its own store (empty: a fallback's hints are not served
to reads, as in the spec): two empty answers make R. That is the sloppy quorum's
stale read (paper 4.6: R + W > N does not hold through fallbacks; the spec's
``sloppy-crash`` violates ``read_your_writes``), not a rebuild's alone: with
``t2`` crashed rather than wiped the get reads the same. (With the strict quorum
the put itself fails here: two of its three targets do not answer.)

It is the paper's behaviour, kept by default (PR = PW = 0) and pinned here as such
(four strict xfails until session 39), until session 56: the fallback that held
the put's hint handed it to ``t1`` as the get began, and since session 56 ``t1``
reads its own copy again as it answers
(:func:`test_by_default_the_get_reads_the_hint_handed_to_its_coordinator`). With
Riak's primary quorums PR = PW = 2 (PR +
PW > N) the put, acknowledged by one primary (``t3``) and fallbacks only, fails
short of PW, and the get, answered by one primary (``t1``) and a fallback, fails
short of PR: an error, never the stale answer. The spec's verdicts per
configuration: ``model_check/suite.py``'s ``sloppy-crash-pr-pw`` (holds),
``sloppy-crash-pr`` and ``sloppy-crash-pw`` (violated). Mutants (scratch, session
39): PW counted over all acks (``put_quorum_reached`` with ``acks`` for
``primary_acks``) fails :func:`test_primary_quorums_refuse_the_stale_read` in all
four cases (the put is acknowledged); PR ignored (``read_quorum_reached`` without
its primaries' clause) fails it too (the get answers ``[]``).
"""

from __future__ import annotations

import pytest

import impl
import impl.get_coordinator as get_coordinator

KEY = b"k"


def _get_after_two_faults(how: str, clock: str, *, pr: int | None = None,
                          pw: int | None = None, hinted_reads: bool = True
                          ) -> tuple[list[bytes] | str, list[str], list[str], str]:
    """(the get's values, or its error's name and message; the nodes whose replies
    counted, by role: ``t1``, ``fallback``...; the targets as ``t1, t2, t3``; the
    put's outcome: ``"acknowledged"`` or its error's name and message) of the
    scenario in the module docstring, the put at ``pw`` and the get at ``pr``
    (None: the cluster's, 0), with or without ``hinted_reads``."""
    answered: list[list[str]] = []
    with impl.SimulatedCluster(nodes=5, n=3, r=2, w=2, seed=1, clock=clock,
                               hinted_reads=hinted_reads) as cluster:
        targets, fallbacks = cluster.node("n1").quorum.split(KEY)
        t1, t2, t3 = targets
        role = {t1: "t1", t2: "t2", t3: "t3"} | dict.fromkeys(fallbacks, "fallback")
        client = cluster.client()
        cluster.run_for(3.0)
        cluster.crash(t1)
        if how == "wiped":
            cluster.wipe(t2)
            cluster.run_for(1.0)
            assert cluster.node(t2).rebuilding
        else:
            cluster.crash(t2)
        try:
            client.put(KEY, b"v", coordinator=t3, pw=pw)
            put = "acknowledged"
        except impl.DynamoError as error:
            put = f"{type(error).__name__}: {error}"
        cluster.partition_one_way({t3, *fallbacks}, {t1})  # no hint for t1 yet
        cluster.restart(t1)
        cluster.heal()
        cluster.partition_one_way({t3}, {t1})
        coordinator = cluster.node(t1).gets
        check = coordinator._check

        def watched(coordination: get_coordinator.GetCoordination,
                    now: float) -> list[object]:
            before = coordination.replied
            out = check(coordination, now)
            if not before and coordination.replied:
                answered.append(sorted(role[node] for node in
                                       get_coordinator.counted_replies(coordination)))
            return list(out)

        coordinator._check = watched  # type: ignore[method-assign,assignment]
        try:
            got: list[bytes] | str = client.get(KEY, coordinator=t1, pr=pr).values
        except impl.DynamoError as error:
            got = f"{type(error).__name__}: {error}"
        named = {t1: "t1", t2: "t2", t3: "t3"}
        for node, name in named.items():  # the roles in the messages, not the names
            got = got.replace(node, name) if isinstance(got, str) else got
            put = put.replace(node, name)
    return got, (answered[0] if answered else []), [role[t] for t in targets], put


@pytest.mark.parametrize("clock", ["dvv", "lww"])
@pytest.mark.parametrize("how", ["wiped", "crashed"])
def test_a_stale_target_and_a_fallback_make_r(how: str, clock: str) -> None:
    """The scenario is reached: the get is answered by ``t1``'s own read and a
    fallback's, none of the two nodes that hold the write."""
    _, counted, _, _ = _get_after_two_faults(how, clock)
    assert counted == ["fallback", "t1"]


@pytest.mark.parametrize("clock", ["dvv", "lww"])
@pytest.mark.parametrize("how", ["wiped", "crashed"])
def test_by_default_the_get_reads_the_hint_handed_to_its_coordinator(how: str,
                                                                     clock: str) -> None:
    """PR = PW = 0 (the paper's sloppy quorum, the default): ``v``, with hinted reads
    or without. Until session 56 ``[]``, pinned as "the get reads stale as the paper
    allows"; it was session 55's hole 4 (``tests/impl/test_hint_moved_during_a_read.py``):
    the fallback that held the put's hint for ``t1`` (and counted towards W) handed
    it to ``t1`` as the get began (5.305 s, dvv, crashed) and, asked for ``t2``,
    answered empty; ``t1`` had counted its own copy, empty, at the start. With
    hinted reads R and W met at that fallback; without, they did not, and the
    paper allowed the stale read. Now ``t1`` merges its copy again as it answers,
    which holds the hint either way: this schedule no longer reaches a stale read
    (the spec's ``sloppy-crash`` still violates ``read_your_writes``). Mutant
    (``_read_own_again`` not called): ``[]`` in the 4 cases (with hinted reads, the
    loop's first)."""
    for hinted_reads in (True, False):
        got, counted, _, put = _get_after_two_faults(how, clock, hinted_reads=hinted_reads)
        assert (put, got, counted) == ("acknowledged", [b"v"], ["fallback", "t1"])


@pytest.mark.parametrize("clock", ["dvv", "lww"])
@pytest.mark.parametrize("how", ["wiped", "crashed"])
def test_primary_quorums_refuse_the_stale_read(how: str, clock: str) -> None:
    """PR = PW = 2 (PR + PW > N = 3): the put reaches one primary, ``t3`` (``t1``
    down, ``t2`` down or rebuilding: their shares acknowledged by fallbacks), and
    fails once every target is acknowledged, its outcome unknown; the get reaches
    one primary, ``t1`` (its own read), and fails at its deadline naming it. Never
    the stale ``[]``."""
    got, _, _, put = _get_after_two_faults(how, clock, pr=2, pw=2)
    assert put == ("QuorumError: put reached 1 of PW=2 primaries (t3) with every "
                   "target acknowledged"), put
    assert got != [] and isinstance(got, str), got
    assert got.startswith("QuorumError: get reached 1 of PR=2 primaries (t1) before "
                          "the timeout (no answer from t2, t3; answered: t1, "), got
