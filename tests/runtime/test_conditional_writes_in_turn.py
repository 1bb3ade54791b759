"""Conditional writes of one key through one node are taken in turn (session 53).

A PUT with ``If-None-Match: *`` (create only if absent) or ``If-Match`` reads the key
first and writes only if its precondition holds on what it read. Before session 53
two such creates of one new key through one node, their reads overlapping, both
read no value, were both written and both answered 200 (two siblings): the check
was not atomic even at one coordinator. Now a node serves the conditional writes of
a key one at a time (``HttpApi._in_key_turn``), so the second reads after the first
was acknowledged by W replicas and, R + W > N, is refused 412. Across nodes nothing
is serialized (Dynamo has no compare-and-set): both may be acknowledged, siblings.

Mutant checked to fail: ``_route`` serving a conditional write without its turn
(``_in_key_turn`` bypassed): both creates 200, two siblings.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from impl.messages import ReplicaGetReply
from impl.runtime import NodeServer
from tests.runtime.live import call, cluster, run, url


def _slow_reads(servers: list[NodeServer], delay: float) -> None:
    """The replicas other than the first answer its reads ``delay`` seconds late, so
    that two reads through it overlap."""
    n1, *others = servers
    for server in others:
        send, loop = server._send, asyncio.get_running_loop()

        def late(dest: str, message: object, send=send, loop=loop) -> None:  # type: ignore[no-untyped-def]
            if dest == n1.name and isinstance(message, ReplicaGetReply):
                loop.call_later(delay, send, dest, message)
            else:
                send(dest, message)
        server._send = late  # type: ignore[method-assign]


def test_two_creates_of_one_key_through_one_node_one_wins(tmp_path: Path) -> None:
    """Three nodes (N 3, R 2, W 2), n2 and n3 answering n1's reads 0.3 s late: two
    ``If-None-Match: *`` PUTs of a new key sent at once through n1: one 200, the
    other 412 (before: 200 and 200), and the key reads as the winner alone."""
    async def scenario() -> None:
        async with cluster(tmp_path) as servers:
            n1 = servers[0]
            _slow_reads(servers, 0.3)
            creates = [asyncio.ensure_future(call(
                "PUT", url(n1, "/kv/new"), value, {"If-None-Match": "*"}))
                for value in (b"one", b"two")]
            answers = await asyncio.gather(*creates)
            statuses = sorted(status for status, _, _ in answers)
            assert statuses == [200, 412], answers  # before: [200, 200]
            status, _, read = await call("GET", url(n1, "/kv/new?r=3"))
            assert status == 200 and len(read["values"]) == 1, read
            assert not n1.http._key_turns  # nothing left of the turns
    run(scenario())


def test_a_conditional_write_whose_turn_does_not_come_is_503_not_written(
        tmp_path: Path) -> None:
    """The turn of key ``k`` held (as by a conditional write that does not end) and
    the node's client wait made 0.2 s: a PUT of ``k`` with ``If-None-Match: *`` is
    503 with Retry-After, ``not-written``, and ``k`` holds nothing; a PUT without a
    precondition is not held (200). Mutant: the wait unbounded (no timeout around
    the lock): the PUT hangs and the test's 60 s limit fails it."""
    async def scenario() -> None:
        async with cluster(tmp_path) as servers:
            n1 = servers[0]
            lock, holders = n1.http._key_turns.setdefault(b"k", (asyncio.Lock(), [0]))
            holders[0] += 1
            await lock.acquire()
            n1.client_wait = lambda: 0.2  # type: ignore[method-assign]
            status, headers, body = await call("PUT", url(n1, "/kv/k"), b"v",
                                               {"If-None-Match": "*"})
            assert status == 503 and body["outcome"] == "not-written", (status, body)
            assert "retry-after" in headers and "conditional write" in body["message"]
            assert n1.node.record(b"k") is None
            status, _, _ = await call("PUT", url(n1, "/kv/j"), b"v")
            assert status == 200
            lock.release()
    run(scenario())
