"""The bound of the admin tokens a renewed store refuses (session 21's review of
session 20's service probe; docs/runtime.md, "Review of session 20's fixes
(session 21)").

A member takes a token while its stamp is within :data:`ADMIN_TOKEN_WINDOW_S` of
its clock, either side: before its store was renewed at time T (``Node._set_aside``,
``store-renewed-at`` = int(T)) it may have taken tokens stamped up to T + 300,
that is up to int(T) + 300 (stamps are whole seconds). The replay cache went with
the store, so every such stamp must be refused; session 20 refused those *below*
int(T) + 300 and took one stamped int(T) + 300 (a token the old store took
between int(T) and T, a replay). Mutants moving the bound by one second either way
survived session 20's test, which sends tokens stamped well inside the window."""

from __future__ import annotations

from pathlib import Path

from impl.http_api import ADMIN_TOKEN_WINDOW_S, admin_authorization
from tests.runtime.live import SECRET, parse_response, raw, run
from tests.runtime.test_http_admin_token import _admin_request, renewed_n1


def test_a_renewed_store_refuses_every_stamp_the_old_store_may_have_taken(
        tmp_path: Path) -> None:
    """n1's disk replaced; its clock set 1.5 s after the second it renewed at (R):
    a token stamped R + 300 is refused (before: 409, taken: n3 up), one stamped
    R + 301 taken (409)."""
    async def scenario() -> None:
        async with renewed_n1(tmp_path) as (member, renewed):
            at = int(renewed)
            member.clock_offset += at + 1.5 - member.now()
            window = int(ADMIN_TOKEN_WINDOW_S)
            for stamp, status in ((at + window, 401), (at + window + 1, 409)):
                token = admin_authorization(SECRET, "blue", node="n3", member="n1",
                                            address=member.own_peer_address(),
                                            stamp=stamp)
                answer = parse_response(await raw(member.http_address, _admin_request(token)))
                assert (stamp - at, answer[0]) == (stamp - at, status), answer
    run(scenario())
