"""A cluster file's addresses with a port that is not ASCII digits are a ConfigError
naming the key, never a traceback (session 13's probe B: ``peer = "127.0.0.1:²"``
passed ``str.isdigit`` and ``int`` raised ValueError out of ``vdynamo serve``, and so
did a port of 5,000 digits, over ``int``'s 4,300)."""

from __future__ import annotations

import pytest

from impl import errors
from impl.runtime_config import Address


@pytest.mark.parametrize("text", ["127.0.0.1:²", "²", "127.0.0.1:\u0663", "\u0663\u0663",
                                  "127.0.0.1:" + "1" * 5000, "127.0.0.1:065536",
                                  "127.0.0.1:", "127.0.0.1:-1", "127.0.0.1: 80"])
def test_a_port_that_is_not_ascii_digits_is_a_config_error(text: str) -> None:
    with pytest.raises(errors.ConfigError, match=r"peer: must be 'host:port'"):
        Address.parse(text, "[nodes.n1] peer")


@pytest.mark.parametrize(("text", "address"), [
    ("127.0.0.1:7001", Address("127.0.0.1", 7001)), ("7001", Address("127.0.0.1", 7001)),
    (7001, Address("127.0.0.1", 7001)), ("localhost:00080", Address("localhost", 80))])
def test_good_addresses_still_parse(text: object, address: Address) -> None:
    assert Address.parse(text, "[nodes.n1] peer") == address
