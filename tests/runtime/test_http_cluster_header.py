"""``X-Vdynamo-Cluster`` naming the cluster rather than its id is told so (session
32's service probe).

Scenario: three ``vdynamo serve`` processes of the default cluster ``vdynamo``; a
client writing its own requests sends ``X-Vdynamo-Cluster: vdynamo`` (the header's
name says "cluster"). Before: 421 ``X-Vdynamo-Cluster 'vdynamo': this node belongs
to another cluster ('vdynamo', cluster_id cd89...)``: the node said it belonged to
another cluster and named the very cluster the header named. The header takes
``/status``'s ``cluster_id`` (32 hex digits; ``impl.http_api.cluster_id``). Now a
value that is no id is answered 421 naming what the header takes and this node's
id; an id of another cluster keeps its message; the node's own id is taken in
either case of its hex digits (421 before in upper case)."""

from __future__ import annotations

from pathlib import Path

from tests.runtime.live import call, cluster, run, url


def test_a_cluster_name_in_the_header_is_told_apart_from_another_clusters_id(
        tmp_path: Path) -> None:
    async def scenario() -> tuple[str, list[tuple[int, str]]]:
        async with cluster(tmp_path) as servers:
            n1 = servers[0]
            own = n1.http.cluster_id
            answers = []
            for sent in ("vdynamo", "", own.upper(), "0" * 32, own):
                status, _, body = await call("PUT", url(n1, "/kv/k"), b"v",
                                             {"X-Vdynamo-Cluster": sent})
                answers.append((status, body.get("message", "")))
            return own, answers

    own, (name, empty, upper, other, right) = run(scenario())
    assert name == (421, "X-Vdynamo-Cluster 'vdynamo' is not a cluster_id: it takes the 32 "
                    f"hex digits of /status's cluster_id (this node's: {own}, of cluster "
                    "'vdynamo'), not a cluster's name; nothing was done")
    assert empty[0] == 421 and empty[1].startswith("X-Vdynamo-Cluster '' is not a cluster_id")
    assert upper[0] == 200, upper
    assert other == (421, f"X-Vdynamo-Cluster '{'0' * 32}': this node belongs to another "
                     f"cluster ('vdynamo', cluster_id {own}); the client learned its ring "
                     "from a node of that one (are the addresses given to it of one "
                     "cluster?); nothing was done")
    assert right[0] == 200, right
