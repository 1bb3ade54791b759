"""The admin endpoint's bearer token (``POST /admin/force-remove``,
:func:`impl.http_api.admin_token`; session 18's review): bound to the cluster's
name, and its scheme read as RFC 9110 11.1 and 11.4 say.

Before: the token was HMAC-SHA256 of ``vdynamo-admin`` under the secret alone, so
an operator of cluster green holding green's token force-removed members of
cluster blue, given the same secret (two such clusters refuse each other's peers
and contexts since session 15's probe B); and ``Authorization: bearer TOKEN`` or
``Bearer  TOKEN`` (the scheme is case-insensitive, and ``1*SP`` parts it from the
credentials) was 401 with the right token. A wrong token stays 401 and changes
nothing.

Since session 19's service probe the bearer token is one request's
(:func:`impl.http_api.admin_authorization`: a stamp, a fresh nonce and a tag over
the node to remove and the member asked, under the key ``admin_token``); before,
``admin_token`` itself was sent, a constant: a request seen on the wire was taken
again at any time, by any member, for any node."""

from __future__ import annotations

import contextlib
import dataclasses
import time
from collections.abc import AsyncIterator
from pathlib import Path

from impl.http_api import ADMIN_FORCE_REMOVE, ADMIN_TOKEN_WINDOW_S, admin_authorization, admin_token
from impl.node import STORE_RENEWED_META
from impl.runtime import NodeAddresses, NodeServer, RuntimeConfig
from impl.serve import serve
from tests.runtime.live import (
    NAMES,
    SECRET,
    cluster,
    parse_response,
    raw,
    run,
    runtime_config,
    settled,
)


def _token(cluster_name: str = "blue", node: str = "n3", member: str = "n1",
           skew: float = 0.0, address: str = "127.0.0.1:0") -> str:
    # (the tests' cluster files give every node port 0: the address the token signs;
    # a member restarted by replace_n1s_disk is given its bound ports)
    return admin_authorization(SECRET, cluster_name, node=node, member=member,
                               address=address, stamp=int(time.time() + skew))


def test_the_token_is_bound_to_the_cluster_name_and_its_scheme_is_case_insensitive(
        tmp_path: Path) -> None:
    async def scenario() -> None:
        async with cluster(tmp_path, name="blue") as servers:
            assert admin_token(SECRET, "blue") != admin_token(SECRET, "green")
            blue, green = _token(), _token("green")
            assert blue != green and len(blue.split(".")[2]) == 64

            async def admin(authorization: str) -> tuple[int, str]:
                answer = await raw(servers[0].http_address, (
                    f"POST {ADMIN_FORCE_REMOVE}?node=n3 HTTP/1.1\r\nHost: x\r\n"
                    f"Authorization: {authorization}\r\nContent-Length: 0\r\n"
                    "Connection: close\r\n\r\n").encode())
                status, _, body = parse_response(answer)
                return status, str(body.get("message", ""))

            for refused in (f"Bearer {green}", f"Bearer {blue[:-1]}", f"Basic {blue}",
                            blue, f"Bearer {blue}, Bearer {blue}", "Bearer"):
                assert (await admin(refused))[0] == 401, refused
            # the right token, however the scheme is spelled: taken (the removal itself
            # is refused, 409, nothing changed: a 3-node cluster would keep fewer than
            # N members, the lasting reason named before "'n3' is up" since session 23)
            for scheme in ("Bearer ", "bearer ", "BEARER  "):
                status, message = await admin(scheme + _token())
                assert (status, message.startswith("force-remove: removing 'n3'")) == (
                    409, True), (scheme, message)
            assert all(s.status()["membership"]["n3"]["status"] == "up" for s in servers)
    run(scenario())


def test_a_token_is_taken_once_for_its_node_and_member_within_the_window(
        tmp_path: Path) -> None:
    """A token seen on the wire (``vdynamo remove`` sends it in clear) changes
    nothing again: replayed, sent to another member, used for another node, or
    made outside :data:`ADMIN_TOKEN_WINDOW_S` of the member's clock, it is 401
    naming why. Before, the token was the constant ``admin_token(secret, name)``:
    each of these was taken (the removal then refused only because n3 is up)."""
    async def scenario() -> None:
        async with cluster(tmp_path, name="blue") as servers:
            async def admin(at: int, node: str, token: str) -> tuple[int, str]:
                answer = await raw(servers[at].http_address, (
                    f"POST {ADMIN_FORCE_REMOVE}?node={node} HTTP/1.1\r\nHost: x\r\n"
                    f"Authorization: Bearer {token}\r\nContent-Length: 0\r\n"
                    "Connection: close\r\n\r\n").encode())
                status, _, body = parse_response(answer)
                return status, str(body.get("message", ""))

            seen = _token()  # for n3, through n1
            assert (await admin(0, "n3", seen))[0] == 409  # taken: n3 is up
            status, message = await admin(0, "n3", seen)
            assert (status, "already used" in message) == (401, True), message
            status, message = await admin(1, "n3", seen)  # to another member
            assert (status, "does not verify" in message) == (401, True), message
            status, message = await admin(0, "n2", _token())  # n3's, for n2
            assert (status, "does not verify" in message) == (401, True), message
            for skew in (-ADMIN_TOKEN_WINDOW_S - 60, ADMIN_TOKEN_WINDOW_S + 60):
                status, message = await admin(0, "n3", _token(skew=skew))
                assert (status, "from this node's clock" in message) == (401, True), message
            # the old constant token: refused, and so is garbage of the right shape
            status, message = await admin(0, "n3", admin_token(SECRET, "blue"))
            assert (status, "not STAMP.NONCE.TAG" in message) == (401, True), message
            for shape in (f"{int(time.time())}.{'0' * 32}.{'0' * 64}",
                          f"{'9' * 21}.{'0' * 32}.{'0' * 64}"):
                assert (await admin(0, "n3", shape))[0] == 401, shape
            # fresh tokens for each member and node are taken
            assert (await admin(1, "n3", _token(member="n2")))[0] == 409
            assert (await admin(2, "n1", _token(node="n1", member="n3")))[0] == 409
            assert all(s.status()["membership"]["n3"]["status"] == "up" for s in servers)
    run(scenario())


def test_a_token_taken_is_refused_again_after_the_member_restarts(tmp_path: Path) -> None:
    """The nonces taken are kept in the member's store (Kerberos' on-disk replay
    cache; RFC 4120 3.2.3: a server that loses track of the authenticators it
    took must not take them again). Before, they were kept in memory only: a
    token captured from a request the member refused (409: n3 up) was taken
    again once the member restarted within the window (in session 19's review,
    with n3 since down, it removed n3: 200)."""
    async def scenario() -> None:
        config, servers, seen = await _cluster_that_took_a_token(tmp_path)
        try:
            await servers[0].stop()
            servers[0] = (await serve(config, ["n1"]))[0]
            answer = parse_response(await raw(servers[0].http_address, _admin_request(seen)))
            assert (answer[0], "already used" in answer[2]["message"]) == (401, True), answer
            # a fresh token is still taken by the restarted member
            answer = parse_response(await raw(servers[0].http_address,
                                              _admin_request(_token())))
            assert answer[0] == 409, answer
        finally:
            for server in servers:
                if server._servers and server._servers[0].is_serving():
                    await server.stop()
    run(scenario())


def test_a_token_is_remembered_as_long_as_its_stamp_is_good(tmp_path: Path) -> None:
    """A token is good while its stamp is within :data:`ADMIN_TOKEN_WINDOW_S` of the
    member's clock, either side (a sender's clock ahead or behind), so its nonce
    must be remembered that long, counted from the stamp: a token stamped now is
    refused as a replay 290 s later, and one stamped 290 s ahead 301 s later (the
    member's clock moved on by its offset). Mutants that kept a nonce for half
    the window, or from its arrival rather than its stamp, survived the tests
    above (session 19's review)."""
    async def scenario() -> None:
        async with cluster(tmp_path, name="blue") as servers:
            member = servers[0]
            plain, ahead = _token(), _token(skew=ADMIN_TOKEN_WINDOW_S - 10)
            for token in (plain, ahead):
                answer = parse_response(await raw(member.http_address, _admin_request(token)))
                assert answer[0] == 409, answer  # taken: n3 is up
            for token, moved in ((plain, ADMIN_TOKEN_WINDOW_S - 10), (ahead, 11.0)):
                member.clock_offset += moved  # the token's stamp still good
                answer = parse_response(await raw(member.http_address, _admin_request(token)))
                assert (answer[0], "already used" in answer[2]["message"]) == (401, True), (
                    answer)
    run(scenario())

async def _cluster_that_took_a_token(
        tmp_path: Path) -> tuple[RuntimeConfig, list[NodeServer], str]:
    """The three nodes of cluster blue started (the caller stops them), and a token
    for n3 through n1 that n1 took (409: n3 is up)."""
    config = runtime_config(tmp_path, name="blue")
    servers = await serve(config, NAMES)
    try:
        await settled(servers)
        seen = _token()  # for n3, through n1
        answer = parse_response(await raw(servers[0].http_address, _admin_request(seen)))
        assert answer[0] == 409, answer  # taken: n3 is up
    except BaseException:
        for server in servers:
            await server.stop()
        raise
    return config, servers, seen


def filed_as(server: NodeServer, config: RuntimeConfig) -> NodeServer:
    """``server`` told its cluster file gives the addresses of ``config`` (these tests'
    files: port 0), as at its first start, though it was started again pinned to the
    ports it had bound: the peer address an admin token signs stays that of the file
    (:meth:`impl.runtime.NodeServer.own_peer_address`; red team 13, session 61)."""
    server.watch_file(None, dict(config.nodes))
    return server


async def replace_n1s_disk(config: RuntimeConfig, servers: list[NodeServer],
                           tmp_path: Path, *, skew: float = 0.0) -> NodeServer:
    """Stop n1 (``servers[0]``), delete its store (a new disk) and start it again at
    its addresses, in its place in ``servers``, until its peers told it it is a
    replaced disk (its start's shadow round over); the new n1, its clock ``skew``
    seconds off from its start on (a host whose clock is wrong)."""
    old = servers[0]
    assert old.peer_address is not None and old.http_address is not None
    again = dataclasses.replace(config, nodes={**config.nodes, "n1": NodeAddresses(
        old.peer_address, old.http_address, config.nodes["n1"].data)})
    await old.stop()
    for path in tmp_path.glob("n1.sqlite*"):  # a new disk
        path.unlink()
    servers[0] = filed_as((await serve(again, ["n1"]))[0], config)  # at its addresses
    servers[0].clock_offset += skew
    servers[0].http.started_at += skew
    await settled(servers)  # tell it it is a replaced disk
    return servers[0]


@contextlib.asynccontextmanager
async def renewed_n1(tmp_path: Path) -> AsyncIterator[tuple[NodeServer, bytes]]:
    """Cluster blue, n1's token taken (:func:`_cluster_that_took_a_token`), then its
    disk replaced (:func:`replace_n1s_disk`): the new n1 and its
    ``store-renewed-at``; every node still serving stopped at the end."""
    config, servers, _ = await _cluster_that_took_a_token(tmp_path)
    try:
        member = await replace_n1s_disk(config, servers, tmp_path)
        renewed = member.storage.get_meta(STORE_RENEWED_META)
        assert renewed is not None
        yield member, renewed
    finally:
        for server in servers:
            if server._servers and server._servers[0].is_serving():
                await server.stop()


def _admin_request(token: str, node: str = "n3") -> bytes:
    return (f"POST {ADMIN_FORCE_REMOVE}?node={node} HTTP/1.1\r\nHost: x\r\n"
            f"Authorization: Bearer {token}\r\nContent-Length: 0\r\n"
            "Connection: close\r\n\r\n").encode()


def test_an_unknown_query_parameter_is_refused_naming_it_and_the_token_kept(
        tmp_path: Path) -> None:
    """``/admin/force-remove`` takes ``node`` alone; another parameter is 400 naming
    it, before the token is looked at (its nonce not taken: the same token is good
    after), as ``/kv/`` refuses one (session 20's service probe). Before, the
    parameter was ignored: ``?node=n3&dry_run=1`` was acted on (409 here, n3 up;
    200 with n3 down), and ``?nodes=n3`` was 401 "does not verify" for the node ''."""
    async def scenario() -> None:
        async with cluster(tmp_path, name="blue") as servers:
            member = servers[0]
            token = _token()
            for query in ("node=n3&dry_run=1", "nodes=n3", "dry_run=1&node=n3"):
                request = _admin_request(token).replace(b"node=n3", query.encode(), 1)
                answer = parse_response(await raw(member.http_address, request))
                assert answer[0] == 400, answer
                assert "unknown query parameter 'dry_run'" in answer[2]["message"] or (
                    "unknown query parameter 'nodes'" in answer[2]["message"]), answer
            answer = parse_response(await raw(member.http_address, _admin_request(token)))
            assert answer[0] == 409, answer  # the token was not taken by the 400s
    run(scenario())


def test_a_token_taken_before_the_members_disk_was_replaced_is_refused(
        tmp_path: Path) -> None:
    """A member whose disk is replaced loses its replay cache (the nonces taken,
    ``admin-nonces`` in the store) with the rest, so for one window after it learns
    it is a replaced disk (its peers tell it: ``Node._set_aside``) it takes no
    token stamped up to that plus :data:`ADMIN_TOKEN_WINDOW_S`, as RFC 4120 3.2.3
    has a Kerberos server that lost its replay cache do; once the window passed,
    a fresh token is taken. Before session 20's service probe, a token n1 took
    (409: n3 up) was taken again after n1's disk was replaced: 409 again, past the
    token check (200 had n3 been down since)."""
    async def scenario() -> None:
        config, servers, seen = await _cluster_that_took_a_token(tmp_path)
        try:
            member = await replace_n1s_disk(config, servers, tmp_path)
            assert "a new store told of a later start" in "\n".join(member.node.log)
            answer = parse_response(await raw(member.http_address, _admin_request(seen)))
            assert (answer[0], "was replaced" in answer[2]["message"]) == (401, True), answer
            # a fresh token waits out the window too: it cannot be told from a replay
            answer = parse_response(await raw(member.http_address, _admin_request(_token())))
            assert answer[0] == 401, answer
            member.clock_offset += ADMIN_TOKEN_WINDOW_S + 2  # the window has passed
            fresh = _token(skew=ADMIN_TOKEN_WINDOW_S + 2)
            answer = parse_response(await raw(member.http_address, _admin_request(fresh)))
            assert answer[0] == 409, answer  # taken: n3 is up
        finally:
            for server in servers:
                if server._servers and server._servers[0].is_serving():
                    await server.stop()
    run(scenario())


def test_a_token_forgotten_while_the_members_clock_was_ahead_is_refused_after(
        tmp_path: Path) -> None:
    """A member forgets a nonce once its stamp is over :data:`ADMIN_TOKEN_WINDOW_S`
    behind the member's clock; a clock that was ahead (a host started with its clock
    10 minutes fast: the node's clock is its monotonic clock plus the offset taken at
    its start) and is then set right brings that stamp back inside the window. So the
    member refuses every token stamped at or before the latest stamp it forgot (RFC
    4120 3.2.3's rule for a server that lost track of authenticators, as for a
    replaced disk above), kept in the store beside the nonces so a restart keeps it.
    Red team 9 (session 59), probes/20k: a captured ``vdynamo remove n4`` request
    (409, n4 up) replayed after n1 ran 600 s ahead, took a token stamped by that clock
    (the operator on its host) and was set right and restarted, with n4 down since:
    200 ``{"removed": "n4"}``. Mutants: the forgotten stamps not refused (the rule
    before): fails at the first replay, ``(409, False) == (401, True)`` (past the
    token check); the ``forgot`` line not read back at a start: fails at the replay
    after the restart, 409 "this node is starting" (past the token check)."""
    async def scenario() -> None:
        config, servers, seen = await _cluster_that_took_a_token(tmp_path)
        try:
            member = servers[0]
            member.clock_offset += 2 * ADMIN_TOKEN_WINDOW_S  # its clock ahead
            ahead = _token(skew=2 * ADMIN_TOKEN_WINDOW_S)  # made on its host
            answer = parse_response(await raw(member.http_address, _admin_request(ahead)))
            assert answer[0] == 409, answer  # taken (n3 up): seen's nonce forgotten
            member.clock_offset -= 2 * ADMIN_TOKEN_WINDOW_S  # set right
            answer = parse_response(await raw(member.http_address, _admin_request(seen)))
            assert (answer[0], "forgot" in answer[2]["message"]) == (401, True), answer
            later = _token(skew=2)  # (a token of the forgotten one's second cannot be told)
            answer = parse_response(await raw(member.http_address, _admin_request(later)))
            assert answer[0] == 409, answer  # a fresh token is taken
            await servers[0].stop()
            servers[0] = (await serve(config, ["n1"]))[0]
            answer = parse_response(await raw(servers[0].http_address, _admin_request(seen)))
            assert (answer[0], "forgot" in answer[2]["message"]) == (401, True), answer
        finally:
            for server in servers:
                if server._servers and server._servers[0].is_serving():
                    await server.stop()
    run(scenario())
