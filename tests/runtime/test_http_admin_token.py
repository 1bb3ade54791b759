"""The admin endpoint's bearer token (``POST /admin/force-remove``,
:func:`impl.http_api.admin_token`; session 18's review): bound to the cluster's
name, and its scheme read as RFC 9110 11.1 and 11.4 say.

Before: the token was HMAC-SHA256 of ``vdynamo-admin`` under the secret alone, so
an operator of cluster green holding green's token force-removed members of
cluster blue, given the same secret (two such clusters refuse each other's peers
and contexts since session 15's probe B); and ``Authorization: bearer TOKEN`` or
``Bearer  TOKEN`` (the scheme is case-insensitive, and ``1*SP`` parts it from the
credentials) was 401 with the right token. A wrong token stays 401 and changes
nothing."""

from __future__ import annotations

from pathlib import Path

from impl.http_api import ADMIN_FORCE_REMOVE, admin_token
from tests.runtime.live import SECRET, cluster, parse_response, raw, run


def test_the_token_is_bound_to_the_cluster_name_and_its_scheme_is_case_insensitive(
        tmp_path: Path) -> None:
    async def scenario() -> None:
        async with cluster(tmp_path, name="blue") as servers:
            blue, green = admin_token(SECRET, "blue"), admin_token(SECRET, "green")
            assert blue != green and len(blue) == 64

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
            # the right token, however the scheme is spelled: taken (n3 is up, so the
            # removal itself is refused, 409, nothing changed)
            for taken in (f"Bearer {blue}", f"bearer {blue}", f"BEARER  {blue}"):
                status, message = await admin(taken)
                assert (status, "'n3' is up" in message) == (409, True), (taken, message)
            assert all(s.status()["membership"]["n3"]["status"] == "up" for s in servers)
    run(scenario())
