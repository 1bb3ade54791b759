"""A key whose path is too long for the client's URL is refused by name, nothing sent
(session 35's service probe).

httpx refuses a URL of over 65,536 characters. A node takes keys up to its
``max_key_bytes`` (at most 1 MiB), so with ``max_key_bytes = 100000`` a 24,000-byte
UTF-8 key (72,000 characters percent-encoded) is one the node stores, and the client
raised httpx's bare ``InvalidURL: URL too long`` for it: ``vdynamo put`` printed a
traceback, and ``db.put`` raised an exception that is no LocalError. Now the plans
raise InvalidValueError naming the key's length and :data:`MAX_KEY_PATH` before any
request (the router's ``/status`` included), and every path within the bound goes
through httpx."""

from __future__ import annotations

import httpx
import pytest

from impl.errors import InvalidValueError, LocalError
from impl.http_client import MAX_KEY_PATH, Plan, Router, delete_plan, get_plan, key_path, put_plan
from vdynamo.cli import main

#: the longest key of bytes that each take three characters (``%FF``) that fits
FITS = b"\xff" * ((MAX_KEY_PATH - len("/kv/")) // 3)


def _plans(key: bytes | str) -> list[Plan]:
    router = Router(["127.0.0.1:1"])  # no ring: a plan would ask /status first
    return [get_plan(router, key, None, None), put_plan(router, key, b"v", None,
                                                         "text/plain", None),
            delete_plan(router, key, None, None)]


@pytest.mark.parametrize("key", [FITS + b"\xff", "\u00e9" * 12_000, b"a" * MAX_KEY_PATH])
def test_a_key_over_the_path_bound_is_refused_before_any_request(key: bytes | str) -> None:
    for plan in _plans(key):
        with pytest.raises(InvalidValueError, match=r"key of \d+ bytes: .*nothing was sent"):
            next(plan)  # before its first step: nothing asked, /status neither
    with pytest.raises(LocalError):
        key_path(key)


def test_every_key_within_the_bound_goes_through_httpx() -> None:
    for key in (FITS, b"a" * (MAX_KEY_PATH - len("/kv/"))):
        path = key_path(key)
        assert len(path) <= MAX_KEY_PATH
        # the longest address a node is given here (a 253-character host name and a port)
        for base in ("http://127.0.0.1:65535", "http://" + ".".join(["a" * 63] * 4)[:253]
                     + ":65535"):
            request = httpx.Request("PUT", base + path, params={"w": 3})
            assert request.url.raw_path.startswith(path.encode())
        for plan in _plans(key):
            method, url, _ = next(plan)  # the ring first: /status of the seed
            assert url == "http://127.0.0.1:1/status", (method, url)


def test_vdynamo_put_names_the_long_key_without_a_traceback(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["put", "\u00e9" * 12_000, "v", "--node", "127.0.0.1:1"]) == 1
    err = capsys.readouterr().err
    assert "key of 24000 bytes: 72000 characters percent-encoded" in err, err[-300:]
    assert "Traceback" not in err
