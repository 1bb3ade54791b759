"""Admin tokens a member took before its store was replaced or put back from a
backup, replayed after (red team 11, session 60).

A member's disk replaced on a host whose clock is behind, the clock then set
right and the member restarted: the admin tokens the old disk took are refused
(red team 9's probes/20l, left open in session 59).

A replaced disk lost its replay cache, so it refuses every token stamped up to
the time it learned it was replaced (``store-renewed-at``) plus the window. That
time was read from the replacement host's clock, 600 s behind, so once the clock
was set right the window had ended 300 s before the real time of the
replacement: a token the old disk took (409, n3 up) was taken again (409, past
the token check; probes/20l: 200 ``{"removed": "n4"}`` with its node down since).
Now a start that has not run the window since the renewal refuses every token
stamped up to its own start plus the window (``HttpApi._renewal_bound``), and a
start that ran it records so (``admin-renewal-passed``), so the next start takes
tokens at once.

A member restored from a backup while every peer is down takes no admin token
until it heard from a peer (409; probes/20o), which tells it its store is behind.
"""

from __future__ import annotations

import asyncio
import dataclasses
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from impl import runtime
from impl.http_api import ADMIN_RENEWAL_PASSED_META, ADMIN_TOKEN_WINDOW_S
from impl.node import STORE_RENEWED_META
from impl.runtime import NodeAddresses, NodeServer, RuntimeConfig
from impl.serve import serve
from tests.runtime.live import NAMES, parse_response, raw, run, runtime_config, settled
from tests.runtime.test_http_admin_token import (
    _admin_request,
    _cluster_that_took_a_token,
    _token,
    filed_as,
    renewed_n1,
    replace_n1s_disk,
)

BEHIND = 2 * ADMIN_TOKEN_WINDOW_S


async def _restart_n1(config: RuntimeConfig, servers: list[NodeServer]) -> NodeServer:
    """Stop n1 (``servers[0]``, its stop records what it ran) and start it again at
    its addresses on the right clock; the new n1."""
    old = servers[0]
    assert old.peer_address is not None and old.http_address is not None
    again = dataclasses.replace(config, nodes={**config.nodes, "n1": NodeAddresses(
        old.peer_address, old.http_address, config.nodes["n1"].data)})
    await old.stop()
    servers[0] = filed_as((await serve(again, ["n1"]))[0], config)
    return servers[0]


def test_a_token_the_old_disk_took_is_refused_after_a_slow_clock_is_set_right(
        tmp_path: Path) -> None:
    """n1 took a token (409, n3 up); its disk replaced on a clock 600 s behind (the
    renewal stamped by it), then n1 restarted on the right clock: the token replayed
    is 401 naming the replacement and the restart, and so is a fresh one, until a
    start has run the window (the clock moved 301 s within it), whose stop records
    it: the next start takes a fresh token at once (409).

    Mutants: the bound of the renewal alone (the rule before): the replay 409
    ``(409, False) == (401, True)``; the run recorded whatever it was (``now >``
    check dropped): the slow start's stop recorded it, the replay 409 the same
    way; nothing recorded at a stop (``note_renewal_passed`` a no-op): the entry
    unwritten after the last restart, ``None == b'1796687616'`` (whose start then
    refuses every token for the window again)."""
    async def scenario() -> None:
        config, servers, seen = await _cluster_that_took_a_token(tmp_path)
        try:
            member = await replace_n1s_disk(config, servers, tmp_path, skew=-BEHIND)
            renewed = member.storage.get_meta(STORE_RENEWED_META)
            assert renewed is not None and int(renewed) < time.time() - BEHIND + 60, renewed
            member = await _restart_n1(config, servers)  # the clock set right
            for token in (seen, _token()):
                answer = parse_response(await raw(member.http_address, _admin_request(token)))
                message = answer[2].get("message", "")
                assert (answer[0], "was replaced" in message and "restarted" in message) == (
                    401, True), answer
            member.clock_offset += ADMIN_TOKEN_WINDOW_S + 1  # this start ran the window
            assert member.storage.get_meta(ADMIN_RENEWAL_PASSED_META) is None
            member = await _restart_n1(config, servers)
            assert member.storage.get_meta(ADMIN_RENEWAL_PASSED_META) == renewed
            answer = parse_response(await raw(member.http_address, _admin_request(_token())))
            assert answer[0] == 409, answer  # taken at once: n3 is up
        finally:
            for server in servers:
                if server._servers and server._servers[0].is_serving():
                    await server.stop()
    run(scenario())


def _pinned(config: RuntimeConfig, servers: list[NodeServer]) -> RuntimeConfig:
    """``config`` with every node at the addresses its server listens on now."""
    nodes = {}
    for server in servers:
        assert server.peer_address is not None and server.http_address is not None
        nodes[server.name] = NodeAddresses(server.peer_address, server.http_address,
                                           config.nodes[server.name].data)
    return dataclasses.replace(config, nodes=nodes)


async def _until(done: Callable[[], bool], what: str, limit: float = 10.0) -> None:
    deadline = time.monotonic() + limit
    while not done():
        assert time.monotonic() < deadline, what
        await asyncio.sleep(0.05)


def test_a_member_restored_from_a_backup_with_its_peers_down_takes_no_token(
        tmp_path: Path) -> None:
    """n1's files copied (a backup), n1 took a token (409, n3 up); every node
    stopped, n1's files replaced by the backup and n1 started alone: the token
    replayed is 409 naming that it has heard from no other member (it cannot know
    its store is behind; nothing changed); n2 and n3 started, they tell n1 its store
    is behind (``store-renewed-at``), and the same replay is 401 (its window).

    Red team 11 (session 60), probes/20o: 200 ``{"removed": "n4"}`` (here 409, past
    the token check: removing n3 would leave fewer than N members). Mutant: the
    check in ``HttpApi._remove`` removed: ``(409, False) == (409, True)`` (refused
    for fewer than N members: past every other check)."""
    async def scenario() -> None:
        config = runtime_config(tmp_path, name="blue")
        servers = await serve(config, NAMES)
        try:
            await settled(servers)
            pinned = _pinned(config, servers)
            await servers[0].stop()
            backup = tmp_path / "backup"
            backup.mkdir()
            for path in tmp_path.glob("n1.sqlite*"):
                shutil.copy2(path, backup / path.name)
            servers[0] = filed_as((await serve(pinned, ["n1"]))[0], config)
            await settled(servers)
            seen = _token()
            answer = parse_response(await raw(servers[0].http_address, _admin_request(seen)))
            assert answer[0] == 409, answer  # taken: n3 is up
            for server in servers:
                await server.stop()
            for path in tmp_path.glob("n1.sqlite*"):
                path.unlink()
            for path in backup.iterdir():
                shutil.copy2(path, tmp_path / path.name)
            servers[0] = filed_as((await serve(pinned, ["n1"]))[0], config)
            await settled(servers[:1])
            answer = parse_response(await raw(servers[0].http_address, _admin_request(seen)))
            message = answer[2].get("message", "")
            assert (answer[0], "heard from no other member" in message) == (409, True), answer
            servers[1:] = await serve(pinned, ["n2", "n3"])
            member = servers[0]
            await _until(lambda: member.storage.get_meta(STORE_RENEWED_META) is not None,
                         "n1 never told its store is behind")
            answer = parse_response(await raw(member.http_address, _admin_request(seen)))
            message = answer[2].get("message", "")
            assert (answer[0], "was replaced" in message) == (401, True), answer
        finally:
            for server in servers:
                if server._servers and server._servers[0].is_serving():
                    await server.stop()
    run(scenario())


def test_a_lone_survivor_removes_its_dead_peers_with_a_token_made_after_its_start(
        tmp_path: Path) -> None:
    """N = 2 of 3; n2 and n3 stopped for good, n1 restarted alone (a disaster's
    survivor: it hears from no peer again). A token stamped now is 409 naming its
    start, the bound and when to come back; once this start has run the window
    (its clock moved 301 s within it), a token made on its clock removes n3 (200).

    Review of red team 11 (session 60), probes/20p: 20o's rule refused every
    force-remove while the member had heard from no peer, so a lone survivor could
    never shrink the cluster (409 300 s after its start, and for ever). Mutants:
    20o's rule as it was (the stamp ignored): ``(409, False) == (200, True)`` at the
    end; the bound without the window (``stamp <= started_at``): the first token
    removed n3, ``(200, False) == (409, True)``; 20o's replay itself is refused by
    the rule (``test_a_member_restored_from_a_backup_with_its_peers_down_takes_no_token``;
    the rule dropped: ``(409, False) == (409, True)``)."""
    async def scenario() -> None:
        config = runtime_config(tmp_path, name="blue", n=2, r=1, w=1)
        servers = await serve(config, NAMES)
        try:
            await settled(servers)
            pinned = _pinned(config, servers)
            for server in servers:
                await server.stop()
            servers[0] = member = filed_as((await serve(pinned, ["n1"]))[0], config)
            await settled(servers[:1])
            answer = parse_response(await raw(member.http_address, _admin_request(_token())))
            message = answer[2].get("message", "")
            assert (answer[0], "heard from no other member" in message
                    and f"not after {int(member.http.started_at + ADMIN_TOKEN_WINDOW_S)}"
                    in message and "again in" in message) == (409, True), answer
            member.clock_offset += ADMIN_TOKEN_WINDOW_S + 1  # this start ran the window
            made = _token(skew=member.now() - time.time())  # on the member's clock
            answer = parse_response(await raw(member.http_address, _admin_request(made)))
            assert (answer[0], answer[2].get("removed") == "n3") == (200, True), answer
        finally:
            for server in servers:
                if server._servers and server._servers[0].is_serving():
                    await server.stop()
    run(scenario())


def test_a_start_records_the_window_run_without_a_stop_or_a_request(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """n1's disk replaced (a renewal); its start runs the window (its clock moved
    301 s within it), no admin request, no stop: the start records the renewal
    passed all the same (``NodeServer._note_renewal``, checked here every 0.05 s),
    so a start ended by SIGKILL leaves it, and the next start takes tokens at once.

    Review of red team 11 (session 60): recorded only at an admin request or a
    stop, a node only ever SIGKILLed (a crash, a supervisor's kill -9) refused
    every token for the first 300 s of every start. Mutant: the check never armed
    at the start: ``AssertionError: never recorded`` after 5 s."""
    monkeypatch.setattr(runtime, "RENEWAL_NOTE_S", 0.05)

    async def scenario() -> None:
        async with renewed_n1(tmp_path) as (member, renewed):
            await asyncio.sleep(0.2)
            assert member.storage.get_meta(ADMIN_RENEWAL_PASSED_META) is None  # not yet
            member.clock_offset += ADMIN_TOKEN_WINDOW_S + 1  # this start ran the window
            await _until(lambda: member.storage.get_meta(ADMIN_RENEWAL_PASSED_META)
                         == renewed, "never recorded", limit=5.0)
    run(scenario())
