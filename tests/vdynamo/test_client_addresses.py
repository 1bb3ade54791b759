"""A node address with a port out of range, or no port at all, is refused naming it
before any request (session 16's probe).

Before, ``vdynamo get k --node 127.0.0.1:99999`` (a digit too many), ``--node
127.0.0.1:0``, ``--node 127.0.0.1:-1`` and ``--node localhost`` (the port
forgotten: httpx dialed port 80) were each tried as an address and reported as
``no node could serve it (tried http://127.0.0.1:99999): ConnectError``, an
error that names an unreachable node, not the typo; ``Client.status(node)``
took its address unchecked the same way. httpx 0.28 parses every one of them
(``httpx.URL("http://h:99999").port == 99999``). An address with a scheme
(``http://host``) keeps the scheme's default port, as a URL does.
"""

from __future__ import annotations

import pytest

import vdynamo
from impl.errors import LocalError
from impl.http_client import Router
from tests.runtime.procs import cli

_OUT_OF_RANGE = ["127.0.0.1:99999", "127.0.0.1:65536", "127.0.0.1:0", "127.0.0.1:-1",
                 "http://127.0.0.1:70000", "[::1]:99999", "127.0.0.1:00000"]
_NO_PORT = ["localhost", "127.0.0.1", "[::1]", "localhost:"]


@pytest.mark.parametrize("seed", _OUT_OF_RANGE)
def test_a_port_out_of_range_is_refused_naming_it(seed: str) -> None:
    with pytest.raises(LocalError, match=r"node address .*: port .* must be 1\.\.65535"):
        vdynamo.connect([seed])


@pytest.mark.parametrize("seed", _NO_PORT)
def test_an_address_without_a_port_is_refused_naming_it(seed: str) -> None:
    with pytest.raises(LocalError, match=r"node address .*: no port; give host:port"):
        vdynamo.connect([seed])


@pytest.mark.parametrize(("seed", "url"), [
    ("127.0.0.1:1", "http://127.0.0.1:1"), ("127.0.0.1:65535", "http://127.0.0.1:65535"),
    ("[::1]:8001", "http://[::1]:8001"), ("http://localhost:8001/", "http://localhost:8001"),
    ("http://example.com", "http://example.com"), ("https://example.com", "https://example.com"),
    ("localhost:80", "http://localhost:80")])
def test_good_addresses_are_kept(seed: str, url: str) -> None:
    assert Router([seed]).seeds == [url]


def test_status_of_a_node_address_is_checked_too() -> None:
    with vdynamo.connect(["127.0.0.1:1"]) as client:
        with pytest.raises(LocalError, match=r"node address '127\.0\.0\.1:99999': port"):
            client.status("127.0.0.1:99999")
        with pytest.raises(LocalError, match=r"node address 'n9': no port"):
            client.status("n9")


def test_the_cli_names_the_bad_address() -> None:
    done = cli("get", "k", "--node", "127.0.0.1:99999")
    assert done.returncode == 1, done
    assert "node address '127.0.0.1:99999': port 99999 must be 1..65535" in done.stderr, done
    assert "no node could serve it" not in done.stderr, done
    done = cli("put", "k", "v", "--node", "localhost")
    assert done.returncode == 1 and "node address 'localhost': no port" in done.stderr, done


@pytest.mark.parametrize(("seed", "url"), [
    ("127.0.0.1:8098\n", "http://127.0.0.1:8098"), (" 127.0.0.1:8098 ", "http://127.0.0.1:8098"),
    ("\t[::1]:8001\r\n", "http://[::1]:8001"), ("HTTP://127.0.0.1:8098", "http://127.0.0.1:8098"),
    ("Https://example.com", "https://example.com")])
def test_an_address_read_from_a_line_or_in_capitals_is_taken(seed: str, url: str) -> None:
    """Session 51's service probe: an address with its line end (read from a file),
    or a scheme in capitals (RFC 3986 3.1), was refused with a message naming
    another fault ("port 8098\\n must be 1..65535", "no path, query or fragment").
    Mutant: no strip, no lowered scheme (the tree before): each case fails."""
    assert Router([seed]).seeds == [url]


def test_a_bare_port_is_told_so() -> None:
    with pytest.raises(LocalError, match=r"node address '8098': a port alone; give "
                                         r"host:port \(e\.g\. 127\.0\.0\.1:8098\)"):
        vdynamo.connect(["8098"])


@pytest.mark.parametrize("seed", ["127.0.0.1 :8098", "http:// 127.0.0.1:8098",
                                  "127.0.0.1:8098\x0b", "127.0.0.1:8098\u00a0"])
def test_a_blank_inside_an_address_is_told_so(seed: str) -> None:
    """Session 51's review: a blank inside the address (only those around it are
    stripped) was taken, and each request failed "no node could serve it (tried
    http://127.0.0.1 :8098): ... Name or service not known", or was refused naming
    the port ("port 8098\\xa0 must be 1..65535"). Mutant: the check removed: the
    four cases fail."""
    with pytest.raises(LocalError, match=r": a blank inside it; give host:port$"):
        vdynamo.connect([seed])


@pytest.mark.parametrize("seed", ["http://alice:s3cret@127.0.0.1:8098",
                                  "alice:s3cret@127.0.0.1:8098", "https://s3cret@[::1]:8098",
                                  "http://@127.0.0.1:8098"])
def test_a_user_and_password_in_an_address_is_refused_unprinted(seed: str) -> None:
    """Session 61's probe 23q: ``http://alice:s3cret@h:p`` was taken, the password
    sent to that seed alone (requests then go to the addresses /status states,
    which carry none; the HTTP API has no login) and printed in every later error
    ("no node could serve it (tried http://alice:s3cret@h:p)"), so in an
    application's logs. Mutant: the ``"@" in authority`` check removed: the four
    cases fail (DID NOT RAISE); the message echoing ``seed`` instead of ``shown``:
    the first three fail on ``s3cret`` in it."""
    with pytest.raises(LocalError, match=r"user name or password \(user@\) is not taken") as got:
        vdynamo.connect([seed])
    assert "s3cret" not in str(got.value) and "alice" not in str(got.value)
