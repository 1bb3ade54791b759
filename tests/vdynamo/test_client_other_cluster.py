"""The client keeps to one cluster: a node of another refuses its requests, 421.

A client given the addresses of two clusters by mistake (a copy-pasted seed list)
sent its requests to the second when the first's nodes did not answer: before
session 29's user probe a put meant for cluster A was stored in B and a get
answered B's value as A's (``/tmp/p29/two_clusters.py``: three ``vdynamo serve``
processes each, A stopped: B's cart returned, A's put stored in B). Now each node's
``/status`` answers its cluster's ``cluster_id`` (a label's HMAC under the secret
and name), the client learns the first and sends it in ``X-Vdynamo-Cluster``, a
node of another cluster refuses the request 421 before doing anything, and the
client tries the next node; ``/status`` of another cluster is not learned. The
DataStax drivers likewise ignore a host whose cluster name is not theirs
(``ClusterNameMismatchException``)."""

from __future__ import annotations

import base64
from pathlib import Path

import httpx
import pytest

from impl.errors import LocalError
from impl.http_api import cluster_id
from impl.http_client import AsyncClient, NoNodeError, Router, get_plan, put_plan, status_plan
from tests.runtime.live import SECRET, call, cluster, run, url


def test_ids_tell_secrets_and_names_apart() -> None:
    ids = {cluster_id(b"s1", "vdynamo"), cluster_id(b"s2", "vdynamo"),
           cluster_id(b"s1", "other")}
    assert len(ids) == 3 and all(len(i) == 32 for i in ids)
    assert cluster_id(b"s1", "vdynamo") == cluster_id(b"s1", "vdynamo")


def test_the_router_skips_another_cluster_s_status_and_its_refusals() -> None:
    router = Router(["10.0.0.1:1", "10.0.0.2:2"], now=lambda: 0.0)
    plan = status_plan(router)
    next(plan)
    with pytest.raises(StopIteration) as first:
        plan.send(httpx.Response(200, json={"cluster_id": "A"}))
    router.cluster_id = first.value.value["cluster_id"]
    plan = status_plan(router)
    next(plan)
    plan.send(httpx.Response(200, json={"cluster_id": "B"}))  # skipped: the next asked
    with pytest.raises(StopIteration) as second:
        plan.send(httpx.Response(200, json={"cluster_id": "A"}))
    assert second.value.value == {"cluster_id": "A"}
    router._learned_at = 0.0  # a ring "learned": no /status asked
    plan = put_plan(router, "k", b"v", None, "application/octet-stream", None)
    _, _, options = next(plan)
    assert options["headers"]["X-Vdynamo-Cluster"] == "A"
    refused = httpx.Response(421, json={"error": "MisdirectedRequest", "message": "x",
                                        "outcome": "not-written"})
    plan.send(refused)  # the next node asked
    with pytest.raises(NoNodeError, match="a node of another cluster"):
        plan.send(refused)
    plan = get_plan(router, "k", None, None)
    _, _, options = next(plan)
    assert options["headers"]["X-Vdynamo-Cluster"] == "A"


def test_a_node_of_another_cluster_refuses_421_and_the_client_stays_with_its_own(
        tmp_path: Path) -> None:
    async def scenario() -> None:
        async with cluster(tmp_path / "b", secret=b"cluster B's secret, 24 b") as b:
            status, _, _ = await call("PUT", url(b[0], "/kv/cart"), b"B's cart")
            assert status == 200
            async with cluster(tmp_path / "a") as a:
                seeds = [url(a[0], ""), url(b[0], "")]
                db = AsyncClient(seeds, timeout_s=2)
                await db.put("cart", b"A's cart")
                assert (await db.get("cart")).values == [b"A's cart"]
                assert db.router.cluster_id == cluster_id(SECRET, "vdynamo")
            # A stopped: only B answers (before: B's cart, and cart2 stored in B);
            # red team 15: the refusal says what to do if A's secret was rotated
            # into B's (every node restarted with it): connect again
            with pytest.raises(NoNodeError, match="a node of another cluster") as refused:
                await db.get("cart")
            assert "changed on purpose, connect again" in str(refused.value)
            again = AsyncClient(seeds, timeout_s=2)  # connected again: B's cluster
            assert (await again.get("cart")).values == [b"B's cart"]
            await again.aclose()
            with pytest.raises(NoNodeError, match="a node of another cluster"):
                await db.put("cart2", b"meant for A")
            with pytest.raises(NoNodeError, match="a node of another cluster"):
                await db.delete("cart")  # session 29's review: B's cart kept (below)
            await db.aclose()
            status, _, body = await call("GET", url(b[0], "/kv/cart2?r=3"))
            assert status == 404, body
            status, _, body = await call("PUT", url(b[0], "/kv/cart2"), b"x",
                                         {"X-Vdynamo-Cluster": cluster_id(SECRET, "vdynamo")})
            assert status == 421 and body["outcome"] == "not-written", body
            status, _, got = await call("GET", url(b[0], "/kv/cart?r=3"), None,
                                        {"X-Vdynamo-Cluster": b[0].http.cluster_id})
            assert status == 200 and [base64.b64decode(v) for v in got["values"]] == [
                b"B's cart"]
    run(scenario())


def test_a_status_without_cluster_id_is_learned_by_a_client_that_knows_one() -> None:
    """A rolling upgrade (session 29's review of the user probe): a node of before
    session 29 answers ``/status`` without ``cluster_id``; a client that learned its
    cluster's id from an upgraded node still takes it as a node of its cluster (a
    mutant skipping it as another cluster's survived the tests above), and learns
    no id from it (None: no header sent) until an upgraded node answers."""
    router = Router(["10.0.0.1:1", "10.0.0.2:2"], now=lambda: 0.0)
    router.cluster_id = "A"
    plan = status_plan(router)
    next(plan)
    with pytest.raises(StopIteration) as old:
        plan.send(httpx.Response(200, json={"ring": "of an old node"}))
    assert old.value.value == {"ring": "of an old node"}
    fresh = Router(["10.0.0.1:1"], now=lambda: 0.0)
    assert not fresh.other_cluster({"cluster_id": "B"}) and fresh.cluster_header() == {}


def test_a_cluster_id_given_refuses_a_node_stating_another_or_none() -> None:
    """Session 61: ``Router(seeds, cluster_id=...)`` keeps to the cluster named from
    the start: a ``/status`` of another id, or stating none (a node that cannot show
    it is of the cluster named), is passed over naming both; a malformed id is
    refused before anything is sent. Mutant: ``other_cluster`` ignoring
    ``given_cluster_id`` (the learned id's rule: a node stating none is taken):
    failed at the body without ``cluster_id``, returned."""
    given = "AB" * 16
    with pytest.raises(LocalError, match="'vdynamo' is not a cluster_id"):
        Router(["10.0.0.1:1"], cluster_id="vdynamo")
    router = Router(["10.0.0.1:1", "10.0.0.2:2", "10.0.0.3:3"], now=lambda: 0.0,
                    cluster_id=given)
    assert router.cluster_id == router.given_cluster_id == given.lower()
    plan = status_plan(router)
    next(plan)
    plan.send(httpx.Response(200, json={"cluster_id": "cd" * 16}))
    plan.send(httpx.Response(200, json={"node": "old"}))  # states none: refused too
    with pytest.raises(NoNodeError) as refused:
        plan.send(httpx.Response(200, json={"cluster_id": "cd" * 16}))
    assert f"its cluster_id {'cd' * 16}, not the cluster_id given, {'ab' * 16}" in str(
        refused.value)
    assert "10.0.0.2:2: a node of another cluster (it states no cluster_id" in str(
        refused.value)
    plan = status_plan(router)
    next(plan)
    with pytest.raises(StopIteration) as taken:  # the id given, in upper case: taken
        plan.send(httpx.Response(200, json={"cluster_id": given, "ready": False}))
    assert taken.value.value["cluster_id"] == given


def test_a_cluster_whose_secret_was_rotated_is_refused_saying_to_connect_again() -> None:
    """Red team 15 (probes/12r): the secret rotated as the docs say (every node
    stopped, a new ``[cluster] secret``, ``cluster up --adopt-store``) changes the
    cluster's ``cluster_id``, and a long-lived client keeps to the one it learned:
    every call then failed for good with NoNodeError naming the two ids alone. The
    refusal now says what to do: connect again (an id learned), or give the new
    ``cluster_id`` (an id given). Mutants, run and reverted: the message of
    before (no ``todo`` clause): the learned case fails (regex did not match); the
    given-id branch's test made ``False``: the given case fails on its regex."""
    with_id = r"give the new cluster_id \(connect's cluster_id=, the CLI's --cluster-id\)"
    for given, todo in ((None, "connect again"), ("ab" * 16, with_id)):
        router = Router(["10.0.0.1:1", "10.0.0.2:2"], now=lambda: 0.0, cluster_id=given)
        router.cluster_id = given or "ab" * 16  # learned before the rotation
        plan = status_plan(router)
        next(plan)
        plan.send(httpx.Response(200, json={"cluster_id": "cd" * 16}))
        with pytest.raises(NoNodeError, match=f"changed on purpose, {todo}"):
            plan.send(httpx.Response(200, json={"cluster_id": "cd" * 16}))
