"""A write of a key over ``max_key_bytes`` with a context that is not one of this
key's (session 18's review of ``HttpApi._stored_key``): a context read from
another key, or bytes that are no context, is 400 BadContextError naming the
context (as for a key within the limit), not smuggled in as "a key stored before
the limit was lowered", and nothing is stored: the key stays 414. A blind write
stays 414 naming the limit.

A mutant answering 414 for a context that does not decode (the door's ``except``
returning False) survived every test before this one."""

from __future__ import annotations

from pathlib import Path

from tests.runtime.live import call, cluster, parse_response, raw, run, url


def test_a_long_keys_write_with_another_keys_context_is_400_and_stores_nothing(
        tmp_path: Path) -> None:
    async def scenario() -> None:
        async with cluster(tmp_path, max_key_bytes=16) as servers:
            status, headers, _ = await call("PUT", url(servers[0], "/kv/short"), b"v")
            assert status == 200
            other = headers["x-vdynamo-context"]  # a context of a version, of "short"
            long = "L" * 40
            for method, context in (("PUT", other), ("DELETE", other), ("PUT", "AAAA")):
                body = b"v" if method == "PUT" else b""
                answer = await raw(servers[0].http_address, (
                    f"{method} /kv/{long} HTTP/1.1\r\nHost: x\r\nX-Vdynamo-Context: "
                    f"{context}\r\nContent-Length: {len(body)}\r\nConnection: close\r\n"
                    "\r\n").encode() + body)
                status, _, error = parse_response(answer)
                assert (status, error["error"]) == (400, "BadContextError"), (
                    method, context, error)
            status, _, error = await call("PUT", url(servers[0], f"/kv/{long}"), b"v")
            assert status == 414 and "over the limit of 16" in error["message"]
            for server in servers:  # nothing stored: every node reads it absent
                status, _, error = await call("GET", url(server, f"/kv/{long}?r=1"))
                assert status == 414 and "no value is stored" in error["message"], error
    run(scenario())
