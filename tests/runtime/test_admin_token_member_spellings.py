"""An admin token signs the member's peer address (red team 13, session 61); the
member takes it for any spelling of its own peer socket, not only its own cluster
file's (review of red team 13, session 61).

The fault: an operator makes the token by hand (docs/runtime.md, "Force-remove of a
node down for good") from *their* copy of the cluster file, and sends it to a member
whose own copy spells the same socket another way: ``127.0.0.1:P`` in the operator's
where the member's binds ``localhost:P``, or ``0.0.0.0:P`` (every interface, as in a
container). Four ``vdynamo serve`` processes, n4 killed: both were 401 "admin token
does not verify ... at peer address localhost:P" (and ``0.0.0.0:P``) after red team
13's fix, 200 before it, and 200 again now. A twin cluster's member still refuses
the token (``tests/runtime/test_admin_token_twin_cluster.py``): its socket is another
(another port on this host, or another host), and a loopback or LAN address other
than 127.0.0.1 names itself only (two nodes on one host may bind one port at
127.0.0.1 and at 127.0.0.2).

Mutants (run, then reverted):
- ``own_peer_addresses`` giving the file's spelling alone (red team 13's rule): the
  live test fails, 401 for ``127.0.0.1:P`` (the port bound) and ``localhost:P``.
- every 127/8 address an alias of 127.0.0.1 (``host.startswith("127.")``): the
  unit test fails at 127.0.0.2 (a twin bound there would take the token).
- ``_unspecified`` dropped (0.0.0.0 names itself only): the unit test fails at
  0.0.0.0.
- the address a request came in at added for every bind (not only a wildcard one):
  the unit test fails at 127.0.0.2 (a member bound at 127.0.0.2:P would take a
  token for a twin's 10.1.2.3:P or 127.0.0.1:P).
"""

from __future__ import annotations

import time
from pathlib import Path

from impl.http_api import admin_authorization
from impl.runtime import Address, peer_address_aliases
from tests.runtime.live import SECRET, cluster, parse_response, raw, run
from tests.runtime.test_http_admin_token import _admin_request


def test_the_spellings_of_a_socket() -> None:
    """:func:`impl.runtime.peer_address_aliases` of each kind of bound host."""
    def of(host: str) -> list[str]:
        return peer_address_aliases(Address(host, 7001), "box")

    assert of("127.0.0.1") == ["127.0.0.1:7001", "localhost:7001"]
    assert of("localhost") == ["localhost:7001", "127.0.0.1:7001"]
    assert of("::1") == ["[::1]:7001", "localhost:7001"]
    assert set(of("0.0.0.0")) == {"0.0.0.0:7001", "[::]:7001", "127.0.0.1:7001",
                                  "localhost:7001", "[::1]:7001", "box:7001"}
    assert "127.0.0.1:7001" in of("0") and "127.0.0.1:7001" in of("::")
    for alone in ("127.0.0.2", "10.0.0.1", "n1.example"):  # another socket each
        assert of(alone) == [f"{alone}:7001"], alone
    # the local address an admin request came in at: for a wildcard bind only
    assert "10.1.2.3:7001" in peer_address_aliases(Address("0.0.0.0", 7001), "box",
                                                   "10.1.2.3")
    assert "10.1.2.3:7001" in peer_address_aliases(Address("::", 7001), "box",
                                                   "::ffff:10.1.2.3")
    for bound in ("127.0.0.2", "10.0.0.1"):  # a twin may hold 10.1.2.3:7001
        assert "10.1.2.3:7001" not in peer_address_aliases(Address(bound, 7001), "box",
                                                           "10.1.2.3"), bound


def test_a_token_for_another_spelling_of_the_members_socket_is_taken(tmp_path: Path) -> None:
    """Three nodes whose file gives ``127.0.0.1:0`` (port 0): a token for n1 signing
    the file's spelling, the port bound, or ``localhost`` at that port passes the token
    check (409: n3 is up); one signing 127.0.0.2 at that port, or another port, is 401
    naming the file's spelling."""
    async def scenario() -> None:
        async with cluster(tmp_path) as servers:
            n1 = servers[0]
            assert n1.peer_address is not None
            port = n1.peer_address.port
            answers = {}
            for address in ("127.0.0.1:0", f"127.0.0.1:{port}", f"localhost:{port}",
                            f"127.0.0.2:{port}", f"127.0.0.1:{port + 1}"):
                token = admin_authorization(SECRET, n1.config.name, node="n3",
                                            member="n1", address=address,
                                            stamp=int(time.time()))
                answer = parse_response(await raw(n1.http_address, _admin_request(token)))
                answers[address] = (answer[0], answer[2].get("message", "")[:160])
            codes = {address: code for address, (code, _) in answers.items()}
            assert codes == {"127.0.0.1:0": 409, f"127.0.0.1:{port}": 409,
                             f"localhost:{port}": 409, f"127.0.0.2:{port}": 401,
                             f"127.0.0.1:{port + 1}": 401}, answers
            assert "at peer address 127.0.0.1:0" in answers[f"127.0.0.2:{port}"][1]
    run(scenario())


def test_the_address_a_request_came_in_at_reaches_the_check(tmp_path: Path) -> None:
    """The HTTP connection's local host is passed to ``own_peer_addresses`` (over
    loopback: 127.0.0.1; these tests bind no wildcard). Mutant: ``_route`` called
    without it (``arrived`` ""): ``[''] != ['127.0.0.1']``."""
    async def scenario() -> None:
        async with cluster(tmp_path) as servers:
            n1 = servers[0]
            seen: list[str] = []
            given = n1.own_peer_addresses

            def recording(arrived: str = "") -> list[str]:
                seen.append(arrived)
                return given(arrived)
            n1.own_peer_addresses = recording  # type: ignore[method-assign]
            token = admin_authorization(SECRET, n1.config.name, node="n3", member="n1",
                                        address=n1.own_peer_address(),
                                        stamp=int(time.time()))
            answer = parse_response(await raw(n1.http_address, _admin_request(token)))
            assert (answer[0], seen) == (409, ["127.0.0.1"]), (answer, seen)
    run(scenario())
