"""A GET that misses R names its silent replica over HTTP and in the library's
error (session 35; the sans-IO cases: ``tests/impl/test_get_timeout_names_silent.py``).

Three nodes in the test's event loop, n3 stopped, ``GET /kv/k?r=3``: before, 503
``get reached 2 of R=3 replicas before the timeout`` and the client's NoNodeError
the same, naming no node; now both end ``(no answer from n3; answered: ...)``."""

from __future__ import annotations

from pathlib import Path

import pytest

from impl.http_client import AsyncClient, NoNodeError
from tests.runtime.live import call, cluster, run, url


def test_a_get_short_of_r_names_the_stopped_replica(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with cluster(tmp_path) as servers:
            assert (await call("PUT", url(servers[0], "/kv/k?w=3"), b"v"))[0] == 200
            await servers[2].stop()
            targets = servers[0].node.quorum.split(b"k")[0]
            answered = ", ".join(name for name in targets if name != "n3")
            named = f"(no answer from n3; answered: {answered})"
            status, headers, body = await call("GET", url(servers[0], "/kv/k?r=3"))
            assert status == 503 and body["error"] == "QuorumError", body
            assert headers.get("retry-after") == "1", headers
            assert body["message"] == (
                f"get reached 2 of R=3 replicas before the timeout {named}"), body
            status, _, body = await call("DELETE", url(servers[1], "/kv/k?r=3"))
            assert status == 503 and body["message"].endswith(named), body
            async with AsyncClient([str(servers[0].http_address)], timeout_s=5) as db:
                with pytest.raises(NoNodeError) as failed:
                    await db.get("k", r=3)
            assert f"QuorumError: get reached 2 of R=3 replicas before the timeout {named}" \
                in str(failed.value)
    run(scenario())
