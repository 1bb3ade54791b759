"""Review of session 49's wrong-secret readiness (docs/runtime.md "Review of the
wrong-secret readiness (session 49, review)"): what a process without the secret,
listening where a down peer listened, does to a good node's readiness; what else
answering there does; a secret rolled node by node; the secret never shown.

In-process clusters on loopback (``tests.runtime.live.cluster``), every server and
listener stopped at the end; each test a few tenths of a second to 2 s."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from impl.metrics import ObservedStorage
from impl.peer_auth import (
    HELLO_HEAD_BYTES,
    NONCE_BYTES,
    Acceptor,
    HelloInfo,
    PeerAuthError,
    parse_hello_head,
)
from impl.runtime import SECRET_ACCEPTED_META, Address, NodeServer
from impl.storage.sqlite import SqliteStorage
from tests.runtime.live import SECRET, bindable, cluster, restarted_refused, run, url

OTHER = b"another secret of 24 bytes"
Answer = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def _wrong_secret(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                        name: str = "n2", cluster_name: str | None = None) -> None:
    """Answer a node's hello as ``name`` would with another secret (a stranger: an
    acceptor keyed with :data:`OTHER`; ``cluster_name`` the dialer's unless given)."""
    head = await reader.readexactly(HELLO_HEAD_BYTES)
    length, info_length = parse_hello_head(head)
    claimed, info = await reader.readexactly(length), await reader.readexactly(info_length)
    nonce = await reader.readexactly(NONCE_BYTES)
    cluster = cluster_name or HelloInfo.decode(info).cluster
    try:
        _, challenge = Acceptor(OTHER, name, HelloInfo(cluster)).on_hello(claimed, info, nonce)
    except PeerAuthError as error:
        challenge = error.reply
    writer.write(challenge)
    await writer.drain()
    with contextlib.suppress(OSError, asyncio.IncompleteReadError):
        await reader.read(64)


@contextlib.asynccontextmanager
async def _listening(address: Address, answer: Answer) -> AsyncIterator[list[int]]:
    """Listen on ``address`` (a stopped peer's) answering every connection with
    ``answer``; yields the count of connections taken (one element); closed at the end."""
    taken = [0]

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        taken[0] += 1
        try:
            with contextlib.suppress(OSError, asyncio.IncompleteReadError, ValueError):
                await asyncio.wait_for(answer(reader, writer), 3)
        except TimeoutError:
            pass
        finally:
            writer.close()

    await bindable(address)
    server = await asyncio.start_server(serve, address.host, address.port, reuse_address=True)
    try:
        yield taken
    finally:
        server.close()
        await server.wait_closed()


def _poke(server: NodeServer, dest: str) -> None:
    """Queue an empty frame for ``dest`` (a connect-back's: its writer dials, sends
    nothing) unless frames wait already."""
    queue = server._queue_for(dest)
    if queue.empty():
        queue.put_nowait(b"")


async def _n2_down_something_at_its_address(tmp_path: Path, answer: Answer,
                                            restart: bool = False
                                            ) -> tuple[dict[str, object], dict[str, object],
                                                       dict[str, str], int]:
    """Two nodes; n2 stopped; n1 as at its start: restarted on its store (``restart``)
    or, without, ``secret_shared`` set False (a start on a store that records no
    peer's acceptance); (n1's /health with nothing at n2's address, the same once
    ``answer`` took n1's dials there, n1's ``secret_differs``, the dials taken)."""
    async with cluster(tmp_path, nodes=("n1", "n2"), n=2, r=1, w=1) as servers:
        n1, n2 = servers
        address = n2.peer_address
        assert address is not None
        await n2.stop()
        if restart:
            n1 = await restarted_refused(servers, tmp_path / "n1.sqlite", {})
        else:
            n1.secret_shared = False
            for writer in list(n1._outbound.values()):
                writer.close()
        try:
            await _until(lambda: bool(n1.health()["ready"]), 5)
            alone = n1.health()
            async with _listening(address, answer) as taken:
                for _ in range(250):
                    if taken[0] >= 3:
                        break
                    _poke(n1, "n2")
                    await asyncio.sleep(0.02)
                return alone, n1.health(), dict(n1.secret_differs), taken[0]
        finally:
            if restart:
                await n1.stop()


def test_a_stranger_at_a_down_peers_address_does_not_take_a_restarted_node_out(
        tmp_path: Path) -> None:
    """Of two nodes, n2 down and a process keyed with another secret listening at n2's
    peer address (a stale process, another cluster's node of this cluster's name, an
    attacker on a dead host's address), n1 restarted on its store stays ready, as
    with n2 merely down: its store records that a peer accepted its secret before
    (``SECRET_ACCEPTED_META``), so the stranger's refusals (1 of 2) are no majority.
    Session 49 as merged: n1 not ready ("the proofs of n2 ... do not verify") for as
    long as the stranger listens (mutant: ``secret_shared`` False at every start, as
    merged: fails, ready False; the tie counted at half, ``<`` for ``<=``: fails)."""
    alone, health, differs, taken = run(
        _n2_down_something_at_its_address(tmp_path, _wrong_secret, restart=True), 30)
    assert alone["ready"], alone
    assert taken >= 1 and list(differs) == ["n2"], (taken, differs)
    assert health["ready"], health


def test_a_stranger_still_counts_at_a_start_no_peer_accepted(tmp_path: Path) -> None:
    """The same with n1 at a start on a store that records no acceptance (a new store,
    or its secret changed: as the operator walk's n3): the tie counts against n1, not
    ready naming n2, as session 49 merged it (mutants: the refusing peers left out of
    the cut: fails; ``secret_shared`` True at every start: caught by
    :func:`test_the_acceptance_record_is_bound_to_the_secret`)."""
    alone, health, differs, taken = run(
        _n2_down_something_at_its_address(tmp_path, _wrong_secret), 30)
    assert alone["ready"], alone
    assert taken >= 1 and list(differs) == ["n2"], (taken, differs)
    assert not health["ready"] and "proofs of n2 " in str(health["why_not_ready"]), health


def test_the_acceptance_record_is_bound_to_the_secret(tmp_path: Path) -> None:
    """A node started on a store where a peer accepted its secret starts with
    ``secret_shared``; with another secret on that store (``--adopt-store`` after a
    change), or on a new store, it does not; the record holds no byte of the secret
    (mutants: True at every start, False at every start, the mark not keyed with the
    secret: each fails)."""
    async def scenario() -> tuple[list[tuple[bool, bool]], bytes | None]:
        async with cluster(tmp_path, nodes=("n1", "n2"), n=2) as servers:
            config, peers = servers[0].config, {"n1": Address("127.0.0.1", 1)}
        found, mark = [], None
        for secret, store in ((SECRET, "n1.sqlite"), (OTHER, "n1.sqlite"),
                              (SECRET, "new.sqlite")):
            storage = ObservedStorage(SqliteStorage(tmp_path / store))
            server = NodeServer("n1", config.replace(secret=secret), storage, dict(peers))
            found.append((server.secret_shared, server.secret_changed))
            mark = mark or storage.get_meta(SECRET_ACCEPTED_META)
            await server.stop()
        return found, mark

    found, mark = run(scenario(), 30)
    # (secret_shared, secret_changed): the store's secret; another (session 50: it can
    # tell its secret changed); a new store (it cannot). Mutant: a store recording
    # nothing taken as changed: fails
    assert found == [(True, False), (False, True), (False, False)], found
    assert mark is not None and len(mark) == 64, mark
    assert SECRET not in mark and SECRET.hex().encode() not in mark


async def _other_cluster(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await _wrong_secret(reader, writer, cluster_name="another-cluster")


async def _http_server(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.read(64)
    writer.write(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n")
    await writer.drain()


async def _silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.read(64)  # nc -l: takes the hello, says nothing, closes


async def _another_name(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await _wrong_secret(reader, writer, name="n9")


@pytest.mark.parametrize("answer", [_other_cluster, _http_server, _silent, _another_name],
                         ids=["another-cluster", "http", "nc-l", "another-node-name"])
def test_other_things_at_a_down_peers_address_leave_a_node_ready(
        tmp_path: Path, answer: Answer) -> None:
    """A node of another cluster (another name), an HTTP server, an ``nc -l``, a node
    of this cluster's name but another node's name, at down n2's address: refused
    or failed dials, never ``secret_differs``; n1 (at its start, as above) stays ready.
    Mutant: ``_secret_refused`` called on every PeerAuthError of a dial (not only
    ``secret_differs``): another-cluster, http and another-node-name fail (the
    merged tests' in-process pair passes it)."""
    alone, health, differs, taken = run(_n2_down_something_at_its_address(tmp_path, answer), 30)
    assert alone["ready"], alone
    assert taken >= 1, taken
    assert differs == {} and health["ready"], (differs, health)


def _drop_connections(servers: list[NodeServer]) -> None:
    for server in servers:  # both ways: every node dials again with its secret now
        for writer in list(server._outbound.values()):
            writer.close()


async def _until(check: Callable[[], bool], limit: float = 5.0) -> bool:
    for _ in range(int(limit / 0.02)):
        if check():
            return True
        await asyncio.sleep(0.02)
    return check()


def _step_seen(servers: list[NodeServer], expect: dict[str, bool], last: bool) -> bool:
    """Whether each node's readiness is ``expect``'s, and some node names a refusing
    peer (none once the ``last`` node took the new secret)."""
    differ = any(s.secret_differs for s in servers)
    return all(s.health()["ready"] is expect[s.name] for s in servers) and differ != last


#: who is ready after n1, n2, n3 in turn took the new secret
_ROLLED = [{"n1": False, "n2": True, "n3": True},
           {"n1": True, "n2": True, "n3": False},
           {"n1": True, "n2": True, "n3": True}]


def test_a_secret_rolled_node_by_node_keeps_a_majority_ready(tmp_path: Path) -> None:
    """Three nodes, the secret rolled one node at a time (each node given the new
    secret as at its restart: ``secret_shared`` False): at every step two of the
    three are ready, the odd one (the new secret first, then the old) not, naming
    the secret; at the end all three ready and no ``secret_differs``. The cluster
    is never fully unavailable, and the majority's secret wins at each step.
    Mutant: the refusing peers left out of the reach gate's cut: fails (step 1,
    n1 ready)."""
    async def scenario() -> list[dict[str, bool]]:
        steps: list[dict[str, bool]] = []
        async with cluster(tmp_path) as servers:
            for server in servers:
                server.config = server.config.replace(secret=OTHER)
                server.secret_shared = False
                _drop_connections(servers)
                await _until(functools.partial(_step_seen, servers,
                                               _ROLLED[servers.index(server)],
                                               server.name == "n3"))
                steps.append({s.name: bool(s.health()["ready"]) for s in servers})
                for s in servers:
                    why = s.health()["why_not_ready"]
                    assert why is None or "secret" in str(why), (s.name, why)
            assert all(not s.secret_differs for s in servers), [
                s.secret_differs for s in servers]
        return steps

    steps = run(scenario(), 40)
    assert steps == _ROLLED, steps


def _text(target: str, body: bytes | None = None) -> str:
    """The body of a GET (a PUT with ``body``) of ``target``, whatever its status."""
    request = urllib.request.Request(target, data=body, method="PUT" if body else "GET")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return str(response.status) + response.read().decode("latin-1")
    except urllib.error.HTTPError as error:
        return str(error.code) + error.read().decode("latin-1")


def test_the_secret_is_shown_nowhere_a_refusal_shows(tmp_path: Path) -> None:
    """n3 given another secret, refused by n1 and n2: neither secret (bytes, hex,
    text) in any node's /status, /health, /metrics text nor in n3's 503 body."""
    async def scenario() -> str:
        async with cluster(tmp_path) as servers:
            n3 = servers[2]
            n3.config = n3.config.replace(secret=OTHER)
            n3.secret_shared = False
            _drop_connections(servers)
            assert await _until(lambda: not n3.health()["ready"])
            shown = [json.dumps(s.status(), default=str) + json.dumps(s.health())
                     for s in servers]
            for server in servers:
                for path in ("/metrics", "/status", "/health/ready"):
                    shown.append(await asyncio.to_thread(_text, url(server, path)))
            shown.append(await asyncio.to_thread(_text, url(n3, "/kv/k")))
            shown.append(await asyncio.to_thread(_text, url(n3, "/kv/k"), b"v"))
            return "\n".join(shown)

    shown = run(scenario(), 30)
    assert "peer-secret-differs" in shown and "503" in shown and "secret_differs" in shown
    for secret in (SECRET, OTHER):
        for form in (secret, secret.hex().encode(), secret[:12]):
            assert form.decode("latin-1") not in shown, form


def test_a_refusing_peer_gone_for_good_is_dropped_at_the_next_dial(tmp_path: Path) -> None:
    """n3 given another secret (n1 and n2 name it in ``secret_differs``), then stopped
    for good: once n1 dials n3's address and nothing answers, n1 names it no more (a
    down peer counts for no node). Mutant: the drop at a failed dial removed
    (``secret_differs.pop`` under ``OSError``): n3 stays named, fails (the merged
    tests' in-process pair passes it)."""
    async def scenario() -> tuple[dict[str, str], dict[str, str]]:
        async with cluster(tmp_path) as servers:
            n1, n3 = servers[0], servers[2]
            n3.config = n3.config.replace(secret=OTHER)
            n3.secret_shared = False
            _drop_connections(servers)
            assert await _until(lambda: "n3" in n1.secret_differs)
            listed = dict(n1.secret_differs)
            await n3.stop()
            for _ in range(100):
                _poke(n1, "n3")
                if await _until(lambda: "n3" not in n1.secret_differs, 0.05):
                    break
            return listed, dict(n1.secret_differs)

    listed, after = run(scenario(), 30)
    assert list(listed) == ["n3"] and after == {}, (listed, after)


async def _some_given_another_secret(tmp_path: Path, names: tuple[str, ...],
                                     wrong: set[str], *, new_stores: bool = False,
                                     then: str | None = None,
                                     ) -> tuple[dict[str, bool], ...]:
    """``names`` in one loop, those in ``wrong`` given another secret as at a restart
    on their stores (which record that a peer accepted the old secret: they can tell
    it changed, ``secret_changed``), or, ``new_stores``, on stores that record no
    acceptance (``secret_shared`` False, ``secret_changed`` False); each node's
    readiness once every node names every peer of the other side in
    ``secret_differs`` (and 0.5 s more); then, with ``then``, the same once that node took the other
    secret too; then each node's ``secret_changed``, and whether its store records
    the secret it runs with."""
    async def settled(wrong: set[str]) -> dict[str, bool]:
        _drop_connections(servers)
        assert await _until(lambda: all(
            {peer.name for peer in servers if (peer.name in wrong) != (s.name in wrong)}
            <= set(s.secret_differs) for s in servers), 8)
        await asyncio.sleep(0.5)
        return {s.name: bool(s.health()["ready"]) for s in servers}

    def given_other(server: NodeServer) -> None:
        server.config = server.config.replace(secret=OTHER)
        if new_stores:
            server.secret_shared = False
        else:
            server._read_secret_record()

    async with cluster(tmp_path, nodes=names, n=3) as servers:
        for server in servers:
            if server.name in wrong:
                given_other(server)
        ready = [await settled(wrong)]
        if then is not None:
            given_other(next(s for s in servers if s.name == then))
            ready.append(await settled({*wrong, then}))
        changed = {s.name: s.secret_changed for s in servers}
        recorded = {s.name: s.storage.get_meta(SECRET_ACCEPTED_META) == s._accepted_mark()
                    for s in servers}
        return (*ready, changed, recorded)


def test_two_of_five_with_another_secret_are_not_ready_the_three_serve(
        tmp_path: Path) -> None:
    """Five nodes, n4 and n5 given another secret at once (they accept each other:
    ``secret_shared``): refused by three of five, they are not ready; n1-n3, refused
    by two, serve. Mutant: the refusing peers left out of the cut: n4, n5 ready."""
    ready, _, _ = run(_some_given_another_secret(
        tmp_path, ("n1", "n2", "n3", "n4", "n5"), {"n4", "n5"}), 60)
    assert ready == {"n1": True, "n2": True, "n3": True, "n4": False, "n5": False}, ready


def test_two_of_four_with_another_secret_do_not_serve_beside_the_two(tmp_path: Path) -> None:
    """Four nodes, n3 and n4 given another secret at once on their stores (each half
    accepts its own secret and is refused by the other, 2 of 4): n3 and n4 can tell
    their secret changed (their stores record a peer's acceptance of the old one),
    so they are the side taken out at the tie, naming why; n1 and n2 serve. Their
    stores do not record the new secret while only half of the members took it, so
    a restart keeps them out. Then n2 takes it too: three of four accept it, it is
    recorded, and n1 (refused by three) is out. Session 49's review left it a strict
    xfail: all four ready. Mutants: ``secret_changed`` never set (all four ready);
    not used at the tie (all four ready); the new secret recorded at the first
    acceptance (n3's store records it at the first step): each fails."""
    first, second, changed, recorded = run(_some_given_another_secret(
        tmp_path, ("n1", "n2", "n3", "n4"), {"n3", "n4"}, then="n2"), 60)
    assert first == {"n1": True, "n2": True, "n3": False, "n4": False}, first
    assert second == {"n1": False, "n2": True, "n3": True, "n4": True}, second
    assert changed == dict.fromkeys(("n1", "n2", "n3", "n4"), False), changed
    assert recorded == {"n1": True, "n2": True, "n3": True, "n4": True}, recorded


def test_two_of_four_kept_out_across_a_restart_and_named(tmp_path: Path) -> None:
    """The first step above, then n3 as at a restart on its store: still changed (its
    store records the old secret's acceptance, not the new one's), not ready, and
    its ``why_not_ready`` says its secret changed. Mutant: the new secret recorded at
    the first acceptance: n3 ready after its restart."""
    async def scenario() -> tuple[bool, bool, object]:
        async with cluster(tmp_path, nodes=("n1", "n2", "n3", "n4"), n=3) as servers:
            for server in servers[2:]:
                server.config = server.config.replace(secret=OTHER)
                server._read_secret_record()
            _drop_connections(servers)
            n3 = servers[2]
            assert await _until(lambda: "n4" in n3._accepted_by and "n1" in n3.secret_differs
                                and "n2" in n3.secret_differs, 8)
            n3._read_secret_record()  # as at a restart on its store
            _drop_connections(servers)
            await _until(lambda: "n4" in n3._accepted_by and len(n3.secret_differs) == 2, 8)
            await asyncio.sleep(0.5)
            health = n3.health()
            return n3.secret_changed, bool(health["ready"]), health["why_not_ready"]

    changed, ready, why = run(scenario(), 60)
    assert changed and not ready, (changed, ready, why)
    assert "this node's secret is not the one its store was accepted under" in str(why), why


def test_two_of_four_on_new_stores_leave_all_four_ready(tmp_path: Path) -> None:
    """What happens on new stores: n3 and n4 given another secret on stores that
    record no acceptance cannot tell their secret changed (nothing records the old
    one), and each half accepts its own: the tie leaves all four ready, as a 2-2
    network partition does (docs/runtime.md, "An operator runs a cluster (session
    50)"). Mutant: the tie-break removed (every refusal counted at a tie): all four
    not ready, fails. (A store recording nothing taken as changed would take n3 and
    n4 out here, but also the good node of a new two-node cluster: refused by
    :func:`test_the_acceptance_record_is_bound_to_the_secret`.)"""
    ready, changed, _ = run(_some_given_another_secret(
        tmp_path, ("n1", "n2", "n3", "n4"), {"n3", "n4"}, new_stores=True), 60)
    assert ready == dict.fromkeys(("n1", "n2", "n3", "n4"), True), ready
    assert not any(changed.values()), changed
