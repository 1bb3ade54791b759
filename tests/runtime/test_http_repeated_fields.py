"""A field line given twice is one list (RFC 9110 5.3: a recipient may combine
them, comma-separated, and a sender may only repeat a list-based field), not
its last line (session 18's service probe).

Before: the last line won. ``Content-Encoding: gzip`` then ``Content-Encoding:
identity`` stored the gzip bytes as the value, served without a coding (the
fault session 14's probe B fixed for one line, 415 since); ``Expect: foo`` then
``Expect: 100-continue`` was served though it carries an expectation the node
cannot meet (417 for one line); ``Accept: application/json`` then ``Accept:
text/plain;q=0.1`` answered the raw value. Now each repeated field is read as the
list of its lines; the fields a request takes once (X-Vdynamo-Context, Content-Type,
Host, ...) keep their 400."""

from __future__ import annotations

import gzip
from pathlib import Path

from impl.http_api import _Parse
from tests.runtime.live import call, cluster, raw, run, url


def test_a_repeated_field_is_read_as_one_list(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with cluster(tmp_path) as servers:
            address = servers[0].http_address
            coded = gzip.compress(b"hello")
            for first, second in ((b"gzip", b"identity"), (b"identity", b"gzip")):
                answer = await raw(address, b"PUT /kv/enc HTTP/1.1\r\nHost: x\r\n"
                                   b"Content-Encoding: " + first + b"\r\nContent-Encoding: "
                                   + second + b"\r\nContent-Length: %d\r\n"
                                   b"Connection: close\r\n\r\n" % len(coded) + coded)
                assert answer.startswith(b"HTTP/1.1 415 "), (first, second, answer[:200])
            status, _, got = await call("GET", url(servers[1], "/kv/enc?r=3"))
            assert status == 404 and got["values"] == [], got  # nothing stored
            answer = await raw(address, b"PUT /kv/enc HTTP/1.1\r\nHost: x\r\n"
                               b"Content-Encoding: identity\r\nContent-Encoding: identity\r\n"
                               b"Content-Length: 2\r\nConnection: close\r\n\r\nok")
            assert answer.startswith(b"HTTP/1.1 200 "), answer[:200]
            for first, second in ((b"foo", b"100-continue"), (b"100-continue", b"foo")):
                answer = await raw(address, b"PUT /kv/exp HTTP/1.1\r\nHost: x\r\nExpect: "
                                   + first + b"\r\nExpect: " + second + b"\r\n"
                                   b"Content-Length: 2\r\nConnection: close\r\n\r\nno")
                assert answer.startswith(b"HTTP/1.1 417 "), (first, second, answer[:200])
            answer = await raw(address, b"PUT /kv/exp HTTP/1.1\r\nHost: x\r\n"
                               b"Expect: 100-continue\r\nExpect: 100-Continue\r\n"
                               b"Content-Length: 2\r\nConnection: close\r\n\r\nok")
            assert b"HTTP/1.1 200 " in answer, answer[:300]
            answer = await raw(address, b"GET /kv/enc HTTP/1.1\r\nHost: x\r\n"
                               b"Accept: application/json\r\nAccept: text/plain;q=0.1\r\n"
                               b"Connection: close\r\n\r\n")
            assert answer.startswith(b"HTTP/1.1 200 "), answer[:300]
            assert b"content-type: application/json" in answer.lower(), answer[:300]
    run(scenario())



def test_a_field_repeated_thousands_of_times_is_joined_in_linear_time() -> None:
    """6,000 lines ``aaaa: b`` (54 KB, within the head's bound) are kept as a list
    while the head arrives and joined once, at its end, and cost about what 6,000
    distinct fields of the same size cost. Joined at each line until session 23
    (the growing value copied each time), they took 5.3-6.1 times as long (2.3
    once, at a machine load of 8). Until session 53 this test also timed both
    heads (best of seven) and asked for at most 3x: a loaded clean clone of
    session 53 measured 14x on the fixed code (0.031 against 0.0022 s), a test that
    failed on time. Now only the structure is asserted: the value is one line's
    until the head ends (a join per line shows the growing value at once), and
    one join at the end. Mutant: a join per line (the rule before session 23): the
    value after the 6,000 lines is their join, not ``b"b"`` (checked, session 53)."""
    count = 6_000
    repeated = b"aaaa: b\r\n" * count
    distinct = b"".join(b"%04d: b\r\n" % i for i in range(count))
    parse = _Parse(1 << 20)
    parse.feed(b"GET /kv/k HTTP/1.1\r\nHost: x\r\n" + repeated)  # the head not ended
    assert parse.headers[b"aaaa"] == b"b"  # not joined yet: no copy per line
    parse.feed(b"\r\n")
    assert parse.ready[0].headers[b"aaaa"] == b", ".join([b"b"] * count)
    parse = _Parse(1 << 20)
    parse.feed(b"GET /kv/k HTTP/1.1\r\nHost: x\r\n" + distinct + b"\r\n")
    assert parse.ready and parse.ready[0].problem is None
    assert len(parse.ready[0].headers) >= count  # the distinct fields, each its own
