"""A hello whose info holds a bad field is refused naming the field (session 22's
review of the kept record bounds; case 20's kind: a peer's bad input).

Each hello carries the sender's record limits and its kept record bounds
(``kept_record_bytes``, ``kept_record_siblings``), which a receiver adopts
when larger. ``HelloInfo.decode`` refused a limit that was not an integer as
"hello's info has no cluster name or bad limits", naming neither which field
nor what it held, and took a negative one. Now the refusal names the field and
its value, and a node refusing such hellos keeps its bounds and its data."""

from __future__ import annotations

import logging
import os
import struct
from pathlib import Path

import pytest

from impl.peer_auth import PROTOCOL_VERSION, HelloInfo, PeerAuthError
from tests.runtime.live import call, cluster, run, send_refused_hellos, url

CASES = [  # (info, the refusal's words)
    (b'{"cluster":"vdynamo","limits":{"kept_record_bytes":1.5}}',
     "limit 'kept_record_bytes' is 1.5, not an integer of 0..9223372036854775807"),
    (b'{"cluster":"vdynamo","limits":{"kept_record_siblings":-1}}',
     "limit 'kept_record_siblings' is -1, not an integer of 0..9223372036854775807"),
    (b'{"cluster":"vdynamo","limits":{"kept_record_bytes":9223372036854775808}}',
     "limit 'kept_record_bytes' is 9223372036854775808, not an integer of 0.."),
    (b'{"cluster":"vdynamo","limits":{"max_siblings":"' + b"9" * 80 + b'"}}',
     "limit 'max_siblings' is '" + "9" * 36 + "..., not an integer"),
    (b'{"cluster":"vdynamo","limits":{"kept_record_bytes":true}}',
     "limit 'kept_record_bytes' is True"),
    (b'{"cluster":"vdynamo","limits":[1]}', '"limits" is [1], not an object'),
    (b'{"limits":{}}', 'no cluster name ("cluster", a string)'),
    (b'{"cluster":"vdynamo","limits":{"kept_record_bytes":' + b"9" * 5000 + b"}}",
     "a number of over 4,300 digits"),
]


@pytest.mark.parametrize(("info", "words"), CASES)
def test_a_bad_field_is_refused_by_name(info: bytes, words: str) -> None:
    """Before: "hello's info has no cluster name or bad limits" for each (and -1
    was taken); the long number: "not a JSON object"."""
    with pytest.raises(PeerAuthError) as refused:
        HelloInfo.decode(info)
    assert words in str(refused.value)


def test_limits_of_zero_and_of_the_ceiling_are_taken() -> None:
    """0 is a limit a file may give (``max_value_bytes = 0``), 2^63 - 1 the largest
    a hello may carry: both taken (a mutant refusing 0 passed every test of session
    22; a limit of 2^63, a 4,000-digit one too, was taken until session 23's
    review, shown in /status and sent on in the receiver's own hellos)."""
    info = HelloInfo.decode(b'{"cluster":"c","limits":{"max_value_bytes":0,'
                            b'"kept_record_siblings":9223372036854775807}}')
    assert dict(info.limits) == {"max_value_bytes": 0, "kept_record_siblings": (1 << 63) - 1}


def test_hellos_with_a_bad_kept_bound_are_refused_and_lose_nothing(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Five hellos naming n2 whose ``kept_record_bytes`` is 1.5: each refused and
    counted, the log naming the field; n1's kept bounds unchanged, and a key
    written before reads back through n1 afterwards."""
    info = CASES[0][0]
    hello = (b"VDYNHELO" + bytes([PROTOCOL_VERSION]) + struct.pack(">HH", 2, len(info))
             + b"n2" + info + os.urandom(32))

    async def scenario() -> None:
        async with cluster(tmp_path, restore_guard=False) as servers:
            server = servers[0]
            assert (await call("PUT", url(server, "/kv/k?w=3"), b"v"))[0] == 200
            bounds, refused = server.node.replica.kept_bounds, server.refused_peers
            assert await send_refused_hellos(server, hello, 5) == refused + 5
            assert server.node.replica.kept_bounds == bounds
            status, _, body = await call("GET", url(server, "/kv/k?r=3"))
            assert (status, body["values"]) == (200, ["dg=="])  # b"v", base64
    with caplog.at_level(logging.WARNING):
        run(scenario())
    lines = [r.getMessage() for r in caplog.records if "refused peer" in r.getMessage()]
    assert lines and all("limit 'kept_record_bytes' is 1.5" in line for line in lines), lines
