"""The default client waits on a get of a cluster of large records as long as its nodes
may take (session 54's review of the library's failover defaults), on a real process.

A cluster whose ``max_record_bytes`` is 32 MiB must have a ``request_timeout`` of at
least 8 s (:data:`impl.config.RECORD_BYTES_PER_SECOND`, 4 MiB/s: the config check), so
its nodes may take that long to answer a get; session 54's default ``TIMEOUT_S`` of
2 s per node was chosen for the default ``request_timeout`` of 1 s, and the default
client left such a node after 2 s: the review's run (docs/runtime.md) of three nodes of
16 MiB values run 10% of the time each answered its gets in 3.3-4.7 s with the old
defaults and raised NoNodeError with the new (each node left after 2 s), though the
call's deadline (10 s) had time left. Here one node (N = 1) of ``max_record_bytes``
32 MiB is paused (SIGSTOP) for 3 s during a get of a small value: the get must be
answered, by the sync and the async client of the defaults. Fails on 7d82948a (each
raised NoNodeError after 2 s) and on the mutants of docs/runtime.md's review section
(``Router.record_s`` 0; the async client not adding it).
"""

from __future__ import annotations

import asyncio
import os
import signal
import threading
import time
from pathlib import Path

import vdynamo
from impl.config import ClusterConfig
from impl.http_client import NODE_TIMEOUT_S, TIMEOUT_S
from tests.runtime.procs import cluster_up, state

PAUSE_S = 3.0


def _paused(pid: int) -> threading.Thread:
    """``pid`` paused now, and a thread (started) that resumes it :data:`PAUSE_S` later."""
    os.kill(pid, signal.SIGSTOP)

    def resume() -> None:
        time.sleep(PAUSE_S)
        os.kill(pid, signal.SIGCONT)
    thread = threading.Thread(target=resume)
    thread.start()
    return thread


def test_a_get_waits_for_a_node_of_large_records(tmp_path: Path) -> None:
    assert ClusterConfig.__dataclass_fields__["request_timeout"].default == NODE_TIMEOUT_S
    with cluster_up(tmp_path / "c", "--nodes", "1", "--n", "1", "--r", "1", "--w", "1",
                    "--set", "max_record_bytes=33554432",
                    "--set", "request_timeout=8.0") as directory:
        node = state(directory)["nodes"]["n1"]
        address = f"127.0.0.1:{node['http']}"
        with vdynamo.connect([address]) as client:
            client.put("k", b"v")
            thread = _paused(node["pid"])
            try:
                began = time.monotonic()
                assert client.get("k").values == [b"v"]  # before: NoNodeError at 2 s
                assert time.monotonic() - began > TIMEOUT_S  # the pause was waited out
            finally:
                thread.join()

        async def get_async() -> tuple[list[bytes], float]:
            async with vdynamo.connect_async([address]) as aclient:
                await aclient.put("k2", b"v2")
                pause = _paused(node["pid"])
                try:
                    began = time.monotonic()
                    return (await aclient.get("k2")).values, time.monotonic() - began
                finally:
                    await asyncio.to_thread(pause.join)

        values, took = asyncio.run(get_async())
        assert values == [b"v2"]
        assert took > TIMEOUT_S
