"""Conditional requests (RFC 9110 13; docs/runtime.md, "Conditional requests").

Session 14's probe B: the headers were ignored, so ``If-None-Match: *`` (create
only if absent; RFC 9110 13.1.2 asks 412 when the key exists, and Riak's
riak_kv_wm_object answers 412) on an existing key was served as a blind put: a
sibling beside the stored value (the last writer's value alone in lww mode). From
then until session 49 every conditional write was refused 501, a GET ignored
them, and no answer carried an ETag, so neither a Riak user's create-if-absent
nor an HTTP cache's revalidation could work. Since session 49 a get's 200 or 300
carries a strong ETag, If-Match and If-None-Match are evaluated on GET, HEAD, PUT
and DELETE (304, 412), and only the fields that need a modification date are
refused on a write (501)."""

from __future__ import annotations

import asyncio
import base64
import socket
from pathlib import Path

import pytest

from tests.runtime.live import call, cluster, run, url
from tests.runtime.procs import ServedNodes, http_call

UNEVALUATED = [("If-Modified-Since", "Tue, 01 Dec 2026 00:00:00 GMT"),
               ("If-Unmodified-Since", "Tue, 01 Dec 2026 00:00:00 GMT"), ("if-range", '"abc"')]


@pytest.mark.parametrize("method", ["PUT", "DELETE"])
def test_a_write_with_a_date_precondition_is_501_naming_the_header_and_writes_nothing(
        tmp_path: Path, method: str) -> None:
    """The node keeps no modification date that orders writes (a get's Last-Modified,
    since session 53, is informational): a write's If-Modified-Since,
    If-Unmodified-Since or If-Range cannot be evaluated, and is refused rather
    than ignored (session 14's probe B)."""
    async def scenario() -> None:
        async with cluster(tmp_path) as servers:
            node = servers[0]
            status, _, _ = await call("PUT", url(node, "/kv/k"), b"first")
            assert status == 200
            for name, value in UNEVALUATED:
                body = b"second" if method == "PUT" else None
                status, _, answer = await call(method, url(node, "/kv/k"), body,
                                               {name: value})
                assert status == 501, (name, answer)
                assert name.title() in answer["message"], answer
                assert answer["outcome"] == "not-written"
                status, _, got = await call("GET", url(node, "/kv/k?r=3"))
                assert status == 200
                assert [base64.b64decode(v) for v in got["values"]] == [b"first"], name
            # a GET ignores them (RFC 9110 13.1.3-13.1.5: no date, no Range served)
            for name, value in UNEVALUATED:
                status, _, got = await call("GET", url(node, "/kv/k"), None, {name: value})
                assert status == 200, name
    run(scenario())


@pytest.mark.parametrize("method", ["PUT", "DELETE"])
def test_a_write_with_riaks_vclock_header_is_refused_naming_ours(
        tmp_path: Path, method: str) -> None:
    """A write carrying ``X-Riak-Vclock`` (a Riak user's read-modify-write, the
    context copied under Riak's name) was served as a blind write: a sibling beside
    the value it meant to replace, acknowledged 200 (session 48's review). Now 400
    naming X-Vdynamo-Context, nothing written; a GET still ignores it, as Riak's
    does. Mutant (checked failing): the refusal removed."""
    async def scenario() -> None:
        async with cluster(tmp_path) as servers:
            node = servers[0]
            assert (await call("PUT", url(node, "/kv/k"), b"first"))[0] == 200
            status, headers, _ = await call("GET", url(node, "/kv/k?r=3"))
            assert status == 200
            riak = {"X-Riak-Vclock": headers["x-vdynamo-context"]}
            body = b"second" if method == "PUT" else None
            status, _, answer = await call(method, url(node, "/kv/k"), body, riak)
            assert status == 400, answer
            assert "X-Vdynamo-Context" in answer["message"], answer
            assert answer["outcome"] == "not-written"
            status, _, got = await call("GET", url(node, "/kv/k?r=3"), None, riak)
            assert status == 200
            assert [base64.b64decode(v) for v in got["values"]] == [b"first"]
    run(scenario())


def _raw_pipelined(port: int, requests: bytes) -> bytes:
    """Everything the node answers to ``requests`` sent at once on one connection."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(requests)
        out = b""
        while chunk := sock.recv(65536):
            out += chunk
    return out


def test_etags_and_preconditions_on_gets_and_writes_of_served_nodes(tmp_path: Path) -> None:
    """Three ``vdynamo serve`` processes (session 49's probe). A get's 200 or 300
    carries a strong ETag, the same from every coordinator, one per representation
    (raw or multipart, JSON), new at every write (the same bytes written again too);
    ``If-None-Match`` revalidates a 200 to a 304 without content (weak comparison),
    ``If-Match`` is 412 unless strongly equal (a 300's and a 404's ignored, RFC 9110
    13.2.1); a PUT or DELETE evaluates both on a read of the key first and, when
    they hold, replaces exactly what it read (no sibling).
    Mutants (checked failing): no ``etag`` field; ``read_status`` always None; the
    write blind (the read's context not used); the multipart boundary random again;
    a 304 with ``content-length: 0``; If-Match compared weakly; session 49's
    review: a 304 without the 200's Vary and Cache-Control, a 412 without the
    key's current ETag."""
    with ServedNodes(tmp_path, ("n1", "n2", "n3"), ["n = 3", "r = 2", "w = 2"]) as nodes:
        nodes.start("n1", "n2", "n3")
        nodes.wait_ready("n1", "n2", "n3")
        at = {name: f"http://127.0.0.1:{nodes.http[name]}/kv/" for name in nodes.http}
        text = {"Content-Type": "text/plain"}
        assert http_call("PUT", at["n1"] + "k?w=3", b"v1", text)[0] == 200
        status, headers, body = http_call("GET", at["n1"] + "k")
        tag = headers["etag"]
        assert (status, body) == (200, b"v1") and tag.startswith('"'), headers
        assert http_call("GET", at["n2"] + "k")[1]["etag"] == tag  # any coordinator
        as_json = {"Accept": "application/json"}
        json_tag = http_call("GET", at["n1"] + "k", headers=as_json)[1]["etag"]
        assert json_tag != tag
        for method in ("GET", "HEAD"):
            for given in (tag, f"W/{tag}", f'"other", {tag}'):
                status, headers, body = http_call(method, at["n3"] + "k",
                                                  headers={"If-None-Match": given})
                assert (status, body) == (304, b""), (method, given, status, body[:80])
                assert headers["etag"] == tag and "content-length" not in headers, headers
                assert headers["content-location"] == "/kv/k" and "x-vdynamo-context" in headers
                # RFC 9110 15.4.5: the 200's Vary and Cache-Control too (review)
                assert (headers["vary"], headers["cache-control"]) == ("accept", "no-store")
        assert http_call("GET", at["n1"] + "k", headers={"If-None-Match": json_tag})[0] == 200
        assert http_call("GET", at["n1"] + "k", headers={
            "If-None-Match": json_tag, "Accept": "application/json"})[0] == 304
        for given, status in ((tag, 200), (f"W/{tag}", 412), ('"nope"', 412), ("*", 200)):
            got = http_call("GET", at["n1"] + "k", headers={"If-Match": given})
            assert got[0] == status, (given, got)
        assert http_call("GET", at["n1"] + "absent", headers={"If-None-Match": "*"})[0] == 404
        # RFC 9110 13.2.1: ignored where the answer would be no 2xx (a 404, a 300)
        assert http_call("GET", at["n1"] + "absent", headers={"If-Match": "*"})[0] == 404
        status, _, body = http_call("GET", at["n1"] + "k", headers={"If-None-Match": "abc"})
        assert status == 400 and b"If-None-Match" in body, body
        # a 304 keeps the connection: the next request on it is answered
        port = nodes.http["n1"]
        out = _raw_pipelined(port, (
            f"GET /kv/k HTTP/1.1\r\nHost: x\r\nIf-None-Match: {tag}\r\n\r\n"
            "GET /kv/k HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").encode())
        assert out.startswith(b"HTTP/1.1 304 ") and out.count(b"HTTP/1.1 200 OK") == 1, out
        assert out.endswith(b"\r\n\r\nv1"), out[-60:]

        # create only if absent
        assert http_call("PUT", at["n1"] + "c", b"first", {"If-None-Match": "*"})[0] == 200
        status, _, body = http_call("PUT", at["n2"] + "c", b"second", {"If-None-Match": "*"})
        assert status == 412 and b"PreconditionFailed" in body, body
        assert http_call("GET", at["n1"] + "c?r=3")[2] == b"first"
        # replace exactly what was read, through another coordinator, without a context
        assert http_call("PUT", at["n2"] + "k?w=3", b"v2", {"If-Match": tag, **text})[0] == 200
        status, headers, body = http_call("GET", at["n1"] + "k?r=3")
        assert (status, body) == (200, b"v2"), (status, body[:200])  # no sibling of v1
        tag2 = headers["etag"]
        assert tag2 != tag
        status, headers, _ = http_call("PUT", at["n1"] + "k", b"v3", {"If-Match": tag})
        assert (status, headers["etag"]) == (412, tag2)  # stale: the current tag named
        assert http_call("PUT", at["n1"] + "k", b"v3", {"If-Match": f"W/{tag2}"})[0] == 412
        assert http_call("GET", at["n1"] + "k?r=3")[2] == b"v2"
        assert http_call("PUT", at["n3"] + "k?w=3", b"v2", {"If-Match": tag2, **text})[0] == 200
        tag3 = http_call("GET", at["n1"] + "k?r=3")[1]["etag"]
        assert tag3 not in (tag, tag2)  # the same bytes written again: a new state
        assert http_call("DELETE", at["n1"] + "k", None, {"If-Match": tag2})[0] == 412
        assert http_call("DELETE", at["n1"] + "k?w=3", None, {"If-Match": tag3})[0] == 200
        assert http_call("GET", at["n1"] + "k?r=3")[0] == 404

        # siblings: the 300's tag and bytes are one state's; If-Match reconciles them
        for value in (b"a", b"b"):
            assert http_call("PUT", at["n1"] + "s?w=3", value)[0] == 200
        first, second = (http_call("GET", at[name] + "s?r=3") for name in ("n1", "n2"))
        assert first[0] == second[0] == 300
        assert first[1]["etag"] == second[1]["etag"] and first[2] == second[2]
        for name in ("If-None-Match", "If-Match"):
            assert http_call("GET", at["n3"] + "s", headers={name: '"x", ' + first[1]["etag"]}
                             )[0] == 300
        assert http_call("PUT", at["n2"] + "s?w=3", b"ab",
                         {"If-Match": first[1]["etag"]})[0] == 200
        assert http_call("GET", at["n1"] + "s?r=3")[:3:2] == (200, b"ab")


def test_a_false_precondition_with_expect_is_answered_before_the_body(tmp_path: Path) -> None:
    """``Expect: 100-continue`` (curl sends it for a body over 1 MiB) with a false
    precondition: the 412 instead of the 100 (RFC 9110 10.1.1), the body never
    sent, the connection closed; one that holds gets its 100 and is stored.
    Session 49's probe: a create-only-if-absent of an existing key got its 100 and
    the client uploaded its whole value for the 412. Mutant (checked failing):
    ``_precondition_refusal`` returning None (the 100 first)."""
    head = ("PUT /kv/{} HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n"
            "Expect: 100-continue\r\nIf-None-Match: *\r\n\r\n")

    async def scenario() -> None:
        async with cluster(tmp_path) as servers:
            node = servers[0]
            address = node.http_address
            assert address is not None
            assert (await call("PUT", url(node, "/kv/k?w=3"), b"first"))[0] == 200
            reader, writer = await asyncio.open_connection(address.host, address.port)
            writer.write(head.format("k").encode())
            answer = await asyncio.wait_for(reader.read(), 5.0)  # then the node closes
            writer.close()
            assert answer.startswith(b"HTTP/1.1 412 "), answer[:80]
            assert b"If-None-Match on a PUT" in answer
            reader, writer = await asyncio.open_connection(address.host, address.port)
            writer.write(head.format("new").encode())
            interim = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5.0)
            assert interim.startswith(b"HTTP/1.1 100 Continue"), interim
            writer.write(b"v" * 100000)
            final = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5.0)
            writer.close()
            assert final.startswith(b"HTTP/1.1 200"), final
            _, _, got = await call("GET", url(node, "/kv/k?r=3"))
            assert [base64.b64decode(v) for v in got["values"]] == [b"first"]
    run(scenario())


def test_a_conditional_put_takes_the_r_and_pr_of_its_read(tmp_path: Path) -> None:
    """A PUT with If-Match or If-None-Match reads the key first: it takes ``r`` and
    ``pr`` for that read (Riak's PUT takes r for the read that tells whether the
    object exists), checked as a GET's; a PUT without them still refuses them,
    naming when they are taken. With a replica down, ``r=3`` fails the read: 503,
    nothing written. Session 49: the read was always at the cluster's R, and
    ``?r=3`` was 400. Mutant (checked failing): r and pr not allowed."""
    async def scenario() -> None:
        async with cluster(tmp_path) as servers:
            node = servers[0]
            assert (await call("PUT", url(node, "/kv/k?w=3"), b"first"))[0] == 200
            status, _, answer = await call("PUT", url(node, "/kv/k?r=3"), b"x")
            assert status == 400 and "with If-Match or If-None-Match" in answer["message"]
            status, _, answer = await call("PUT", url(node, "/kv/k?r=4"), b"x",
                                           {"If-Match": "*"})
            assert status == 400 and "r: must be an integer in 1..3" in answer["message"]
            await servers[2].stop()
            status, _, answer = await call("PUT", url(node, "/kv/k?r=3&pr=2"), b"second",
                                           {"If-Match": "*"})
            assert status == 503 and answer["outcome"] == "not-written", answer
            assert answer["message"].startswith(
                "put: its read of the key first (with R) failed, nothing was written"), answer
            # with Expect: that read's 503 instead of the 100, the body never sent
            # (session 49's review; mutant checked failing: the read's failure
            # ignored before the 100, the whole value uploaded for the 503)
            address = node.http_address
            assert address is not None
            reader, writer = await asyncio.open_connection(address.host, address.port)
            writer.write(b"PUT /kv/k?r=3 HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n"
                         b"Expect: 100-continue\r\nIf-Match: *\r\n\r\n")
            early = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5.0)
            assert early.startswith(b"HTTP/1.1 503 "), early  # not a 100 Continue
            early += await asyncio.wait_for(reader.read(), 5.0)  # then the node closes
            writer.close()
            assert b"nothing was written" in early, early
            status, _, _ = await call("PUT", url(node, "/kv/k?r=2&pr=2"), b"third",
                                      {"If-Match": "*"})
            assert status == 200
            _, _, got = await call("GET", url(node, "/kv/k?r=2"))
            # If-Match: * names no state: a sibling of the value it did not read
            assert sorted(base64.b64decode(v) for v in got["values"]) == [b"first", b"third"]
    run(scenario())


def test_a_put_whose_precondition_names_no_state_replaces_nothing_it_did_not_read(
        tmp_path: Path) -> None:
    """A PUT under ``If-Match: *`` (only if the key has a value) or an
    ``If-None-Match`` of another tag holds on a key with two siblings its client
    never read: it is a sibling of them, as the same PUT without the field is; only
    an If-Match naming the state by its tag replaces it (the served-nodes test),
    and a create over a tombstone leaves the new value alone. Session 49's review:
    both PUTs were written with the read's context and superseded the two
    siblings (a GET read ``[c]``). Mutant (checked failing): ``named`` always
    true (the read's context taken whenever the preconditions hold)."""
    async def scenario() -> None:
        async with cluster(tmp_path) as servers:
            node = servers[0]
            for key, fields in (("any", {"If-Match": "*"}),
                                ("other", {"If-None-Match": '"other"'}),
                                ("blind", {})):
                for value in (b"a", b"b"):
                    assert (await call("PUT", url(node, f"/kv/{key}?w=3"), value))[0] == 200
                assert (await call("PUT", url(node, f"/kv/{key}?w=3"), b"c", fields))[0] == 200
                _, _, got = await call("GET", url(node, f"/kv/{key}?r=3"))
                assert sorted(base64.b64decode(v) for v in got["values"]) == [
                    b"a", b"b", b"c"], (key, got)
            assert (await call("PUT", url(node, "/kv/gone?w=3"), b"old"))[0] == 200
            assert (await call("DELETE", url(node, "/kv/gone?w=3")))[0] == 200
            assert (await call("PUT", url(node, "/kv/gone?w=3"), b"new",
                               {"If-None-Match": "*"}))[0] == 200
            _, _, got = await call("GET", url(node, "/kv/gone?r=3"))
            assert [base64.b64decode(v) for v in got["values"]] == [b"new"]
    run(scenario())



def test_in_lww_a_put_under_if_match_any_is_stamped_above_what_it_read(
        tmp_path: Path) -> None:
    """lww keeps one value, so a PUT under ``If-Match: *`` still takes its read's
    context there (no sibling to keep): its stamp then exceeds the one read (the
    hybrid rule). Here n2's clock runs 30 s ahead and n1, the coordinator, lost
    its copy (read repair off, so its read does not give it back): a blind put
    through n1 is acknowledged and reads back ``v1``, the lww limit; the
    conditional one reads back ``v2``. Mutant (checked failing): the lww case
    written blind as the vector-clock modes are (session 49's review)."""
    async def scenario() -> None:
        async with cluster(tmp_path, clock="lww", read_repair=False) as servers:
            servers[1].clock_offset += 30.0
            assert (await call("PUT", url(servers[1], "/kv/k?w=3"), b"v1"))[0] == 200
            servers[0].node.replica.storage.delete(b"k")
            status, _, _ = await call("PUT", url(servers[0], "/kv/k?w=3"), b"v2",
                                      {"If-Match": "*"})
            assert status == 200
            _, _, got = await call("GET", url(servers[2], "/kv/k?r=3"))
            assert [base64.b64decode(v) for v in got["values"]] == [b"v2"]
    run(scenario())
