"""A DELETE carrying the context of a 404 (a key never written) writes a tombstone,
as Riak does (``riak_kv_delete:delete/8`` with a vclock puts the tombstone at
once), and that tombstone is reaped like any other (session 53: docs/runtime.md,
"HTTP answers (session 53)", item 3). Until now only a soak test (delete_mode
``keep``) showed that it was written; nothing showed it goes.

Mutant checked to fail: ``Reaper.schedule`` returning ``[]`` at once (in ``safe``
mode no reap is ever set): "the tombstone was never reaped".
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from impl.versions import is_tombstone_only
from tests.runtime.live import call, cluster, run, url


def test_the_tombstone_of_a_delete_with_a_404s_context_is_reaped(tmp_path: Path) -> None:
    """Three nodes, ``tombstone_grace_s`` 0.2 s: ``GET /kv/never?r=3`` 404 with a
    context; ``DELETE`` with it at ``w=3``: 200, a tombstone on every node (Riak's
    rule, kept); within 5 s no node holds a record of the key (reaped: ``keys`` of
    ``/status`` back to 0), and a GET still answers 404."""
    async def scenario() -> None:
        async with cluster(tmp_path, tombstone_grace_s=0.2) as servers:
            n1 = servers[0]
            status, headers, _ = await call("GET", url(n1, "/kv/never?r=3"))
            assert status == 404 and headers["x-vdynamo-context"], headers
            status, _, body = await call(
                "DELETE", url(n1, "/kv/never?w=3"),
                headers={"X-Vdynamo-Context": headers["x-vdynamo-context"]})
            assert status == 200 and body["context"], body
            written = [server.node.record(b"never") for server in servers]
            assert all(record is not None and is_tombstone_only(record)
                       for record in written), written
            deadline = time.monotonic() + 5
            while any(server.node.record(b"never") is not None for server in servers):
                assert time.monotonic() < deadline, "the tombstone was never reaped"
                await asyncio.sleep(0.05)
            for server in servers:
                status, _, shown = await call("GET", url(server, "/status"))
                assert shown["keys"] == 0, (server.name, shown["keys"])
            status, _, _ = await call("GET", url(n1, "/kv/never?r=3"))
            assert status == 404

    run(scenario())
