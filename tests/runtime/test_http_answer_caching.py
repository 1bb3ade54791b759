"""The node's state answers are not stored by caches, and the OpenAPI document
requires the caching fields each GET answer carries (session 48's review of the
service probe's caching fix; case 08's kind: the HTTP API).

Session 48's probe gave every get answer ``vary: accept`` and ``cache-control:
no-store`` (:data:`impl.http_api._GET_CACHING`). ``/status``, ``/health``,
``/health/ready`` and ``/metrics`` carried no Cache-Control: a cache in front of a
node (Varnish keeps a 200 without one for its default_ttl, 120 s) would answer a
health check or a scrape with the node's state of up to two minutes before, a node
down since reported alive. Now each says ``cache-control: no-store``
(:data:`impl.http_api._STATE_CACHING`). The document listed the get fields on the
200 and the 300 only, not the 404, and none as required, so a fuzzer checking the
answers against it (``tests/runtime/test_fuzz_http.py``, schemathesis) would not
miss them; now each answer's caching fields are documented and required, and
``/openapi.json`` (the same for a node's life) has none, in both.

Scenario: one node in this process (impl.LocalCluster, N = 1): a value, two
siblings, a missing key, and the state and document reads, each with ``Accept:
*/*`` and ``application/json``: the caching fields served are the ones the
document requires, their values within its enums.

Mutants (checked failing, session 48's review): ``_STATE_CACHING`` empty (the tree
before); the document's ``required`` left out of Cache-Control; its 404 without the
get's caching fields."""

from __future__ import annotations

from typing import Any

import httpx

import impl
from tests.runtime.live import run

#: the fields about caching a GET answer may carry (lowercase)
CACHING = {"vary", "cache-control"}


def test_every_get_answer_carries_the_caching_fields_its_document_requires() -> None:
    async def scenario() -> None:
        async with impl.LocalCluster(nodes=1, n=1, r=1, w=1) as cluster, \
                httpx.AsyncClient() as http:
            base = cluster.urls[0]
            assert (await http.put(f"{base}/kv/one", content=b"v")).status_code == 200
            for body in (b"1", b"2"):  # blind puts: two siblings
                assert (await http.put(f"{base}/kv/two", content=body)).status_code == 200
            document: dict[str, Any] = (await http.get(f"{base}/openapi.json")).json()
            reads = {("/kv/{key}", 200): "/kv/one", ("/kv/{key}", 300): "/kv/two",
                     ("/kv/{key}", 404): "/kv/absent", ("/status", 200): "/status",
                     ("/health", 200): "/health", ("/health/ready", 200): "/health/ready",
                     ("/metrics", 200): "/metrics", ("/openapi.json", 200): "/openapi.json"}
            for (path, status), target in reads.items():
                documented = document["paths"][path]["get"]["responses"][str(status)]
                fields = {name.lower(): spec
                          for name, spec in documented.get("headers", {}).items()}
                required = {name for name, spec in fields.items() if spec.get("required")}
                for accept in ("*/*", "application/json"):
                    answer = await http.get(base + target, headers={"Accept": accept})
                    assert answer.status_code == status, (target, accept)
                    served = CACHING & set(answer.headers)
                    assert served == CACHING & required, (target, accept, served, required)
                    assert required <= set(answer.headers), (target, required)
                    for name in served:
                        assert answer.headers[name] in fields[name]["schema"]["enum"], name
                    # every answer but the document's is the state now, or a quorum read
                    no_store = path != "/openapi.json"
                    assert (answer.headers.get("cache-control") == "no-store") == no_store, (
                        target, answer.headers)
    run(scenario())
