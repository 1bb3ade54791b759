"""``If-Match`` and ``If-None-Match`` on the node's read-only resources (``/status``,
``/health``, ``/health/ready``, ``/metrics``, ``/openapi.json``) are evaluated, not
ignored (session 51's service probe; session 49 left it open: RFC 9110 13.1.1 and
13.2.1 ask an origin server to evaluate them on a 2xx answer).

These resources have no entity tag: an If-Match of tags is false (412, nothing
sent), ``If-Match: *`` holds (the resource exists), ``If-None-Match: *`` is false
(304 without content for a GET or HEAD), an If-None-Match of tags holds; a 503 of
``/health/ready`` ignores them; a malformed field is 400 naming it, as on a key.

Scenario: one node in this process (impl.LocalCluster, N = 1), httpx.

Mutants (checked by hand): ``_read_only`` returning the resource's answer as before
(the tree before: 200 for every case, fails); ``untagged_status`` comparing ``*``
for If-Match like a tag (412 for ``If-Match: *``, fails); (session 51's review)
``_read_only`` evaluating them on a non-2xx answer too (a 503 of ``/health/ready``
answered 304: fails)."""

from __future__ import annotations

import httpx

import impl
from tests.runtime.live import run

PATHS = ("/status", "/health", "/health/ready", "/metrics", "/openapi.json")


def test_preconditions_on_the_state_resources_are_evaluated() -> None:
    async def scenario() -> None:
        async with impl.LocalCluster(nodes=1, n=1, r=1, w=1) as cluster, \
                httpx.AsyncClient() as http:
            base = cluster.urls[0]
            for path in PATHS:
                cases = {(("If-Match", '"x"'),): 412, (("If-Match", 'W/"x", "y"'),): 412,
                         (("If-Match", "*"),): 200, (("If-None-Match", "*"),): 304,
                         (("If-None-Match", '"x"'),): 200,
                         (("If-Match", "*"), ("If-None-Match", "*")): 304,
                         (("If-Match", "unquoted"),): 400, (): 200}
                for fields, status in cases.items():
                    for method in ("GET", "HEAD"):
                        answer = await http.request(method, base + path, headers=dict(fields))
                        assert answer.status_code == status, (path, method, fields, answer)
                        if status == 412 and method == "GET":
                            assert answer.json()["error"] == "PreconditionFailed", answer
                            assert "If-Match on a GET of " + path in answer.json()["message"]
                        if status == 304:
                            assert answer.content == b"", answer
                            assert "content-length" not in answer.headers, answer.headers
                            assert "content-type" not in answer.headers, answer.headers
                        if status == 400 and method == "GET":
                            assert "If-Match 'unquoted'" in answer.json()["message"]
            # not ready (its writes fail): the 503 ignores them (RFC 9110 13.2.1), a
            # load balancer's conditional probe is never a 304 or 412 then (session
            # 51's review: the mutant evaluating them on any status survived)
            cluster.servers[0].disk_failing = "database or disk is full"
            for fields in ((("If-None-Match", "*"),), (("If-Match", '"x"'),)):
                answer = await http.get(base + "/health/ready", headers=dict(fields))
                assert answer.status_code == 503, (fields, answer)
                assert answer.json()["ready"] is False, answer.text
            cluster.servers[0].disk_failing = None
    run(scenario())
