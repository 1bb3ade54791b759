"""The primary quorums PR and PW (session 39) on real nodes: the HTTP parameters and
the client library's arguments reach the coordinator, and every answer says what
happened (session 39's review of s39-primread; docs/runtime.md, "Review of the
primary quorums (session 39)").

Four nodes on loopback, N = 3; one of the key's targets stopped. Until the review
no test sent ``?pr=``/``?pw=`` to a cluster with a node down: mutants (scratch) that
dropped them on their way (the HTTP GET's ``pr``, PUT's ``pw``, DELETE's ``pw`` and
its read's ``pr``; the library's ``pr`` and ``pw`` params) survived every test, as
did the forwarded refusal answered 504 "outcome unknown" while its message said
"nothing was written" (fixed: ``impl.errors.ErrorCode.QUORUM_NOT_WRITTEN``).
"""

from __future__ import annotations

import asyncio
import math
from pathlib import Path

import httpx
import pytest

from impl.http_client import AsyncClient, NoNodeError
from tests.runtime.live import cluster, run, url

KEY = "k"
NODES = ("n1", "n2", "n3", "n4")


def test_pr_and_pw_over_http_and_the_library_with_a_target_down(tmp_path: Path) -> None:
    async def scenario() -> None:
        # the cluster's own PR = PW = 1 (each request below sets its own), shown by
        # /status (it was not, until session 39's review); timeouts long enough that a
        # loaded machine does not make a live target suspected (the first version of
        # this test, at 0.2 s, failed once at load 11)
        async with cluster(tmp_path, nodes=NODES, suspicion_timeout=60.0, pr=1, pw=1,
                           replica_timeout=1.0, request_timeout=3.0) as servers, \
                httpx.AsyncClient() as http:
            node = {server.name: server for server in servers}
            targets, _ = servers[0].node.quorum.split(KEY.encode())
            first, _, down = targets
            outsider = next(name for name in NODES if name not in targets)

            async def ask(method: str, name: str, query: str,
                          headers: dict[str, str] | None = None) -> tuple[int, dict[str, str]]:
                answer = await http.request(method, url(node[name], f"/kv/{KEY}?{query}"),
                                            content=b"v" if method == "PUT" else None,
                                            headers={"accept": "application/json",
                                                     **(headers or {})})
                return answer.status_code, answer.json()

            status = (await http.get(url(node[outsider], "/status"))).json()
            assert (status["config"]["pr"], status["config"]["pw"]) == (1, 1), status
            assert (await ask("PUT", first, "pw=3"))[0] == 200  # every node up
            await node[down].stop()
            await asyncio.sleep(0.5)  # down's last frames arrived (each clears suspicion)
            for server in servers:  # every live node's detector suspects down (its
                # own timeouts would, a request timeout later: impl tests cover them)
                if server.name != down:
                    server.node.set_suspected({down: math.inf})  # (the wall clock)
            assert (await ask("GET", first, "pr=2"))[0] == 200
            status, body = await ask("GET", first, "pr=3")
            assert status == 503 and "get needs PR=3 primaries" in body["message"], body
            for name in (first, outsider):  # the outsider forwards it to first
                status, body = await ask("PUT", name, "pw=3")
                assert (status, body["outcome"]) == (503, "not-written"), (name, body)
                assert "put needs PW=3 primaries" in body["message"], (name, body)
            status, body = await ask("DELETE", first, "pr=3")  # its read first
            assert (status, body["outcome"]) == (503, "not-written"), body
            assert "its read of the key first" in body["message"], body
            assert "PR=3" in body["message"], body
            context = (await ask("GET", first, "r=2"))[1]["context"]
            status, body = await ask("DELETE", outsider, "pw=3",
                                     {"x-vdynamo-context": context})
            assert (status, body["outcome"]) == (503, "not-written"), body
            assert "delete needs PW=3 primaries" in body["message"], body
            client = AsyncClient([str(node[first].http_address)], timeout_s=5.0)
            try:
                for call, quorum in ((client.get(KEY, pr=3), "PR=3"),
                                     (client.put(KEY, b"w", pw=3), "PW=3"),
                                     (client.delete(KEY, pr=3), "PR=3")):
                    with pytest.raises(NoNodeError, match=quorum) as failed:
                        await call
                    assert type(failed.value) is NoNodeError  # not-written everywhere
                assert (await client.get(KEY, pr=2)).values == [b"v"]  # nothing written
            finally:
                await client.aclose()

    run(scenario())
