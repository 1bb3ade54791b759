"""A context is bound to its cluster, not only to the secret (session 15's probe B).

Two clusters given one secret and distinct ``[cluster] name`` s (session 14 made their
peers refuse each other) still took each other's contexts: the context's MAC was
keyed with the secret alone. In client-vclock, where the clock's ids are the
clients' own, a client that sent cluster green's context to cluster blue (a client
configured with both clusters' nodes, a load balancer moved) superseded blue's value
it had never read. Now the context key is derived from the secret and the name: the
PUT is 400 ``BadContextError``, nothing written."""

from __future__ import annotations

from pathlib import Path

from tests.runtime.live import call, cluster, run, url


def test_a_context_of_another_cluster_with_the_same_secret_is_refused(tmp_path: Path) -> None:
    async def scenario() -> None:
        (tmp_path / "blue").mkdir()
        (tmp_path / "green").mkdir()
        async with cluster(tmp_path / "blue", name="blue", clock="client-vclock") as blue, \
                cluster(tmp_path / "green", name="green", clock="client-vclock") as green:
            alice = {"X-Vdynamo-Client": "alice"}
            status, _, _ = await call("PUT", url(blue[0], "/kv/k"), b"blue-v",
                                      {**alice, "X-Vdynamo-Client-Counter": "5"})
            assert status == 200
            status, _, _ = await call("PUT", url(green[0], "/kv/k"), b"green-v",
                                      {**alice, "X-Vdynamo-Client-Counter": "9"})
            assert status == 200
            _, _, read = await call("GET", url(green[0], "/kv/k?r=3"))
            status, _, body = await call(
                "PUT", url(blue[0], "/kv/k"), b"new",
                {**alice, "X-Vdynamo-Client-Counter": "10",
                 "X-Vdynamo-Context": read["context"]})
            assert (status, body.get("error")) == (400, "BadContextError"), body
            _, _, after = await call("GET", url(blue[1], "/kv/k?r=3"))
            assert after["values"] == ["Ymx1ZS12"]  # b"blue-v": unchanged (before: b"new")
            # a context blue issued is still taken by blue
            _, _, own = await call("GET", url(blue[0], "/kv/k"))
            status, _, _ = await call("PUT", url(blue[2], "/kv/k"), b"next",
                                      {**alice, "X-Vdynamo-Context": own["context"]})
            assert status == 200
    run(scenario())


def test_the_context_key_is_the_secret_only_for_the_default_name() -> None:
    from impl.config import DEFAULT_CLUSTER_NAME, ClusterConfig
    from impl.context import context_key

    secret = b"0123456789abcdef0123"
    assert context_key(secret, DEFAULT_CLUSTER_NAME, DEFAULT_CLUSTER_NAME) == secret
    blue, green = (context_key(secret, name, DEFAULT_CLUSTER_NAME) for name in ("blue", "green"))
    assert len({blue, green, secret}) == 3
    assert context_key(b"another secret 123456", "blue", DEFAULT_CLUSTER_NAME) != blue
    assert ClusterConfig(nodes=("n1",), n=1, r=1, w=1, secret=secret,
                         name="blue").context_secret == blue


def test_a_named_clusters_own_contexts_are_taken_on_every_path(tmp_path: Path) -> None:
    """Every context a named cluster issues is keyed alike (session 15's review): the
    context a PUT answers (``PutCoordinator._written_context``), a GET's, a DELETE's,
    and the read a DELETE without a context makes, each taken by another node of the
    cluster. The first test uses only a GET's context, so a PUT answering a context
    keyed with the bare secret (then refused by its own cluster: a client continuing
    from its put, or ``connect(resolve=...)``'s merge, could not write) went unseen."""
    async def scenario() -> None:
        async with cluster(tmp_path, name="blue") as blue:
            _, _, put = await call("PUT", url(blue[0], "/kv/k"), b"v1")
            status, _, put = await call("PUT", url(blue[1], "/kv/k"), b"v2",
                                        {"X-Vdynamo-Context": put["context"]})
            assert status == 200, put
            _, _, got = await call("GET", url(blue[2], "/kv/k?r=3"))
            assert got["values"] == ["djI="]  # b"v2": v1 superseded by the put's context
            status, _, deleted = await call("DELETE", url(blue[2], "/kv/k"), None,
                                            {"X-Vdynamo-Context": put["context"]})
            assert status == 200, deleted
            status, _, put = await call("PUT", url(blue[0], "/kv/k"), b"v3",
                                        {"X-Vdynamo-Context": deleted["context"]})
            assert status == 200, put
            status, _, deleted = await call("DELETE", url(blue[1], "/kv/k"))  # reads first
            assert status == 200, deleted
            _, _, got = await call("GET", url(blue[0], "/kv/k?r=3"))
            assert got["values"] == [], got
    run(scenario())
