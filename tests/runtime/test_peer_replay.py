"""A captured peer session replayed on a new connection changes nothing (session
16's probe: it held; this pins it on live nodes).

Someone on the path records everything a real peer (an insider: it knows the
secret) sent on one connection: its hello, its proof and a sealed frame (a read
repair of ``cart``). Replayed whole on a new connection, the proof fails: it is
an HMAC over the acceptor's fresh nonce of the old connection (impl.peer_auth),
so the node refuses the peer before any frame is read, and the frame could not
be opened anyway (its tag is keyed by the old connection's transcript).
Replays inside one connection fail the sequence number
(``test_peer_security.py``'s "replayed").
"""

from __future__ import annotations

import asyncio
import base64
from pathlib import Path

from impl.peer_auth import (
    HELLO_HEAD_BYTES,
    NONCE_BYTES,
    TAG_BYTES,
    Dialer,
    HelloInfo,
    parse_hello_head,
)
from impl.runtime import NodeServer
from tests.runtime.live import SECRET, call, closed_by_node, cluster, frame, run, url
from tests.runtime.test_peer_security import _dominating_repair


async def _session(server: NodeServer, sent: list[bytes]) -> None:
    """One insider session as ``n3`` that sends a dominating read repair of ``cart``;
    every byte it writes is appended to ``sent``."""
    address = server.peer_address
    assert address is not None
    reader, writer = await asyncio.open_connection(address.host, address.port)
    dialer = Dialer(SECRET, "n3", server.name, HelloInfo(server.config.name))
    sent.append(dialer.hello())
    writer.write(sent[-1])
    length, info_length = parse_hello_head(await reader.readexactly(HELLO_HEAD_BYTES))
    peer, info = await reader.readexactly(length), await reader.readexactly(info_length)
    nonce = await reader.readexactly(NONCE_BYTES)
    proof, sealer, _ = dialer.on_challenge(peer, info, nonce,
                                           await reader.readexactly(TAG_BYTES))
    sent.append(proof)
    sent.append(sealer.seal(frame(_dominating_repair(b"cart", b"REPLAYED"))))
    writer.write(sent[-2] + sent[-1])
    await writer.drain()
    await asyncio.sleep(0.3)
    writer.close()


def test_a_whole_session_replayed_on_a_new_connection_is_refused(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with cluster(tmp_path) as servers:
            target = servers[1]
            captured: list[bytes] = []
            await _session(target, captured)  # the original: applied
            assert target.node.record(b"cart") is not None
            assert target.refused_peers == 0
            status, headers, _ = await call("GET", url(target, "/kv/cart?r=1"))
            assert status == 200
            status, _, _ = await call("PUT", url(target, "/kv/cart?w=3"), b"fresh",
                                      {"X-Vdynamo-Context": headers["x-vdynamo-context"]})
            assert status == 200
            before = target.node.record(b"cart")
            address = target.peer_address
            assert address is not None
            reader, writer = await asyncio.open_connection(address.host, address.port)
            writer.write(b"".join(captured))  # the whole capture, at once
            await writer.drain()
            assert await closed_by_node(reader)
            writer.close()
            assert target.refused_peers == 1
            assert target.node.record(b"cart") == before
            status, _, body = await call("GET", url(target, "/kv/cart?r=3"))
            assert status == 200
            assert [base64.b64decode(v) for v in body["values"]] == [b"fresh"]
    run(scenario())
