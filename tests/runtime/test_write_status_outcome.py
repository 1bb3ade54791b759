"""A write's status says what happened (session 53): 503 (Retry-After, ``"outcome":
"not-written"``) when nothing was written anywhere, 504 (``"outcome": "unknown"``)
only when a replica may hold it.

Session 52's probe 22c: with the small writes' lane (:mod:`impl.admission`) a small
put beside gets of a hot record over ``max_pending_bytes`` is admitted at once and
written by its coordinator; when the replicas are saturated their acknowledgements
come late and the put is answered 504 (the coordinator holds it: right), and so was
every later small put while the saturation lasted, where waiting its turn would have
refused it 503 with nothing written. Now a write answered 504 shuts the lane for the
node's Retry-After (``ByteAdmission.shut_lane``): the next small put waits its turn
and is refused 503, and no replica holds it.

Mutant checked to fail: ``shut_lane`` not called by the HTTP port (the second put
504, and n1 holds it: the test fails at its status).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from impl.admission import ByteAdmission
from impl.messages import ReplicaPutAck
from impl.runtime import NodeServer
from tests.runtime.live import call, cluster, run, url
from tests.runtime.test_small_writes_beside_hot_gets import LIMITS, hot_get, hot_get_again


def _withhold_acks(servers: list[NodeServer]) -> None:
    """The replicas other than the first withhold their write acknowledgements to
    it (saturated replicas: their acks come after the timeout)."""
    n1, *others = servers
    for server in others:
        send = server._send

        def withheld(dest: str, message: object, send=send) -> None:  # type: ignore[no-untyped-def]
            if not (dest == n1.name and isinstance(message, ReplicaPutAck)):
                send(dest, message)
        server._send = withheld  # type: ignore[method-assign]


def test_a_put_refused_after_a_timeout_is_503_and_written_nowhere(tmp_path: Path) -> None:
    """A hot get of a 180 KB record (limit 100 KB) in flight at n1, n2 and n3
    withholding their read answers and write acks to n1: a 5-byte ``w=3`` put
    through n1 passes the lane and is answered 504, outcome unknown, and n1 holds it
    (a replica may: 504 is right). The next small put, while the hot get still runs,
    waits its turn and is answered 503 with Retry-After, ``not-written``, and no
    node holds it (before: 504, written at n1)."""
    async def scenario() -> None:
        async with cluster(tmp_path, **LIMITS) as servers:
            n1 = servers[0]
            hot = await hot_get(servers)
            _withhold_acks(servers)
            status, _, body = await call("PUT", url(n1, "/kv/first?w=3"), b"first")
            assert status == 504 and body["outcome"] == "unknown", (status, body)
            status, _, body = await call("GET", url(n1, "/kv/first?r=1"))
            assert status == 200, (status, body)  # the coordinator holds it
            await hot
            hot = await hot_get_again(n1)  # the first ended at its timeout: another
            status, headers, body = await call("PUT", url(n1, "/kv/second?w=3"), b"second")
            assert status == 503 and body["outcome"] == "not-written", (status, body)
            assert "retry-after" in headers, headers
            status, _, shown = await call("GET", url(n1, "/status"))
            assert shown["admission"]["lane_shut"] == 1, shown["admission"]
            assert shown["admission"]["lane_shut_s"] > 0, shown["admission"]  # review
            await hot
            await asyncio.sleep(0.3)  # the ReplicaPuts, had any left, are applied
            for server in servers:
                status, _, body = await call("GET", url(server, "/kv/second?r=1"))
                assert status == 404, (server.name, status, body)

    run(scenario())


def test_a_shut_lane_opens_again_after_its_seconds() -> None:
    """ByteAdmission alone, its clock injected: 500 bytes of gets' records over a
    limit of 100; a small write passes the lane, not once :meth:`shut_lane` ran
    (for ``shut_s``, 2 s), and again 2 s later. Mutant: the clock's test in
    ``_small_passes`` removed: fails at the second assertion."""
    now = [10.0]
    admission = ByteAdmission(lambda: 500, 100, 2.0, get_held=lambda: 500, small=10,
                              clock=lambda: now[0])
    assert admission.admits_now(5, write=True)
    admission.shut_lane()
    assert not admission.admits_now(5, write=True)
    assert admission.lane_shut_s() == 2.0  # session 53's review: /status says so
    now[0] = 11.9
    assert not admission.admits_now(5, write=True)
    assert admission.lane_shut_s() == 0.1
    now[0] = 12.0
    assert admission.admits_now(5, write=True)
    assert admission.lane_shut_s() == 0.0
    assert admission.lane_shut == 1
