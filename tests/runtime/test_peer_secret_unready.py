"""A node restarted with another cluster secret is not ready and says why, on three
real ``vdynamo serve`` processes (session 49's operator walk, docs/runtime.md "A
node with the wrong secret (session 49)"; case 20's kind: a peer without the
secret changes nothing).

n3 of three is stopped and started again on a copy of the cluster file with another
``[cluster] secret`` (and, as an operator would find it must, a data file of its
own: a data file is bound to its secret). Every peer refuses its hello. Before:
n3's ``/health`` said ``ready: true`` (the reach gate counted only peers whose hello
passed), so a load balancer kept it in service while every get through it was 503
"reached 1 of R=2 replicas". Now n3 is not ready, ``/health`` names the cause (the
peers' proofs do not verify with its secret), its client answers are 503 naming it,
nothing is written (neither at n3 nor at its peers), and n1's ``/status`` names n3
in ``secret_differs``; restarted with the right file, n3 is ready again."""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import time
from pathlib import Path
from typing import Any

from impl.peer_auth import (
    HELLO_HEAD_BYTES,
    NONCE_BYTES,
    TAG_BYTES,
    Dialer,
    HelloInfo,
    PeerAuthError,
    parse_hello_head,
)
from impl.runtime import NodeServer
from tests.runtime.live import closed_by_node, cluster, run
from tests.runtime.procs import FAST_ROUNDS, ServedNodes, assert_no_internal_errors, http_call

NAMES = ("n1", "n2", "n3")


def _json(nodes: ServedNodes, name: str, path: str) -> dict[str, Any]:
    status, _, body = http_call("GET", f"http://127.0.0.1:{nodes.http[name]}{path}")
    assert status in (200, 503), (status, body[:300])
    result: dict[str, Any] = json.loads(body)
    return result


def _until(what: str, limit: float, check: Any, seen: object = None) -> Any:
    """``check()`` until it returns something true (at most ``limit`` seconds);
    AssertionError naming ``what`` and the last of ``seen`` (a list) else."""
    deadline = time.monotonic() + limit
    while True:
        found = check()
        if found:
            return found
        assert time.monotonic() < deadline, (
            f"{what}: not within {limit:g} s", seen[-1:] if isinstance(seen, list) else None)
        time.sleep(0.1)


def test_a_node_with_another_secret_is_not_ready_and_names_the_cause(tmp_path: Path) -> None:
    with ServedNodes(tmp_path, NAMES, ["request_timeout = 3", *FAST_ROUNDS]) as nodes:
        nodes.start(*NAMES)
        nodes.wait_ready(*NAMES)
        assert http_call("PUT", nodes.url("n1", "?w=3"), b"v1")[0] in (200, 204)
        good = nodes.config
        nodes.kill("n3")
        other = tmp_path / "other"  # another secret; n3's data file there (bound to it)
        other.mkdir()
        text = good.read_text()
        line = next(line for line in text.splitlines() if line.startswith("secret = "))
        wrong = other / "cluster.toml"
        other_secret = secrets.token_hex(24)
        wrong.write_text(text.replace(line, f'secret = "{other_secret}"'))
        os.chmod(wrong, 0o600)
        nodes.config = wrong
        nodes.start("n3")
        nodes.config = good

        seen: list[dict[str, Any]] = []

        def unready() -> dict[str, Any] | None:
            seen.append(_json(nodes, "n3", "/health"))
            health = seen[-1]
            return None if health["ready"] or "secret" not in str(
                health.get("why_not_ready")) else health

        # before the fix: ready true for good (its shadow round over), no cause named
        health = _until("n3 not ready naming the secret", 15, unready, seen)
        why = str(health["why_not_ready"])
        assert "n1" in why and "n2" in why, why
        assert http_call("GET", f"http://127.0.0.1:{nodes.http['n3']}/health/ready")[0] == 503
        for method, body in (("GET", None), ("PUT", b"forged")):
            status, _, answer = http_call(method, nodes.url("n3"), body)
            assert status == 503 and b"secret" in answer, (method, status, answer[:400])
        status3 = _json(nodes, "n3", "/status")
        assert status3["keys"] == 0, status3["keys"]  # nothing written at n3
        assert sorted(status3["secret_differs"]) == ["n1", "n2"], status3["secret_differs"]
        status1 = _until("n1 names n3 in secret_differs", 10, lambda: (
            (s := _json(nodes, "n1", "/status")) and "n3" in s["secret_differs"] and s))
        assert status1["ready"] and status1["refused_peers"] >= 1, status1
        shown = json.dumps(status1) + json.dumps(status3) + "".join(
            (tmp_path / f"{name}.log").read_text() for name in NAMES)
        for secret in (line.split('"')[1], other_secret):  # neither secret ever shown
            assert secret not in shown and secret[:16] not in shown
        status, _, answer = http_call("GET", nodes.url("n1", "?r=2"))
        assert status == 200 and answer == b"v1", (status, answer)  # nothing written there
        log3 = (tmp_path / "n3.log").read_text()
        assert "not ready" in log3 and "secret" in log3, log3[-2000:]

        nodes.kill("n3")
        nodes.start("n3")  # the right file, its own data file
        nodes.wait_ready("n3", limit=20)
        status, _, answer = http_call("GET", nodes.url("n3", "?r=3"))
        assert status == 200 and answer == b"v1", (status, answer)
        assert _json(nodes, "n3", "/health")["why_not_ready"] is None
        _until("n1 no longer names n3", 10, lambda: "n3" not in _json(
            nodes, "n1", "/status")["secret_differs"])
    assert_no_internal_errors(sorted(tmp_path.glob("*.log")))


async def _stranger(server: NodeServer, name: str) -> bool:
    """A hello to ``server`` naming ``name`` with another secret, its challenge
    answered as a mis-secreted node answers it (a proof of zeros: ``reply``);
    whether the node then closed the connection."""
    address = server.peer_address
    assert address is not None
    reader, writer = await asyncio.open_connection(address.host, address.port)
    dialer = Dialer(b"another secret of 24 bytes!", name, server.name,
                    HelloInfo(server.config.name))
    writer.write(dialer.hello())
    length, info_length = parse_hello_head(await reader.readexactly(HELLO_HEAD_BYTES))
    peer, info = await reader.readexactly(length), await reader.readexactly(info_length)
    nonce, proof = await reader.readexactly(NONCE_BYTES), await reader.readexactly(TAG_BYTES)
    try:
        dialer.on_challenge(peer, info, nonce, proof)
    except PeerAuthError as error:
        assert error.secret_differs and error.reply == bytes(TAG_BYTES)
        writer.write(error.reply)
    closed = await closed_by_node(reader)
    writer.close()
    return closed


def test_hellos_naming_members_with_another_secret_leave_a_node_ready(tmp_path: Path) -> None:
    """Only a node's own dials fill ``secret_differs``: a stranger without the secret
    whose hellos name n2 and n3 (each answering n1's challenge with the proof of
    zeros a mis-secreted node sends) is refused and counted, and n1 stays ready.
    Were the acceptor's refusals counted by the name the dialer claims, any client
    of the peer port could take a node out of service (mutant: n1's acceptor
    recording the claimed name in ``secret_differs``: n1 unready, n2 and n3 named)."""
    async def scenario() -> tuple[dict[str, object], dict[str, str], int]:
        async with cluster(tmp_path) as servers:
            n1 = servers[0]
            refused = n1.refused_peers
            for name in ("n2", "n3") * 3:
                assert await _stranger(n1, name)
            for _ in range(100):
                if n1.refused_peers >= refused + 6:
                    break
                await asyncio.sleep(0.02)
            return n1.health(), dict(n1.secret_differs), n1.refused_peers - refused

    health, differs, refused = run(scenario(), 30)
    assert refused >= 6 and differs == {} and health["ready"], (refused, differs, health)


def test_of_two_nodes_the_one_with_another_secret_is_not_ready_the_other_serves(
        tmp_path: Path) -> None:
    """Two nodes, n2 given another secret (and its start's state: no hello passed
    since, ``secret_shared`` False, as at a restart with the other file): each
    refuses the other, 1 of 2 members, a tie a refusal alone cannot break. n1, whose
    secret n2 accepted before, serves on; n2 is not ready, naming n1 (mutant: the
    tie-break of ``secret_shared`` removed: n1 not ready too, the cluster down for
    one node's file)."""
    async def scenario() -> tuple[dict[str, object], dict[str, object]]:
        async with cluster(tmp_path, nodes=("n1", "n2"), n=2) as servers:
            n1, n2 = servers
            n2.config = n2.config.replace(secret=b"another secret of 24 bytes")
            n2.secret_shared = False
            for server in servers:  # both dial again, n2 with the other secret
                for writer in list(server._outbound.values()):
                    writer.close()
            for _ in range(250):
                if "n2" in n1.secret_differs and "n1" in n2.secret_differs:
                    break
                await asyncio.sleep(0.02)
            return n1.health(), n2.health()

    health1, health2 = run(scenario(), 30)
    assert health1["ready"], health1
    assert not health2["ready"] and "proofs of n1 " in str(health2["why_not_ready"]), health2
