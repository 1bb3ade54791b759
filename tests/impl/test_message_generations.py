"""Store generations on peer messages (session 19's speed-ups of the simulator's
hot paths, ``impl.messages``): ``parse_generation`` is an ASCII regex, cached, and
``with_generations`` stamps a message's generation fields checking only them.

Before, a count of non-ASCII digits passed ``str.isdigit`` and ``int``:
``parse_generation("٣.ab")`` was ``(3, "ab")``, a generation no node writes; now
None (and a message carrying it is refused, as every malformed generation is)."""

from __future__ import annotations

import pytest

from impl.errors import BadMessageError
from impl.messages import Gossip, MerkleExchange, parse_generation, with_generations


@pytest.mark.parametrize(("text", "parsed"), [
    ("1.ab", (1, "ab")), ("0.0", (0, "0")), (f"{2**62 - 1}.f", (2**62 - 1, "f")),
    (f"{2**62}.f", None), ("1." + "a" * 32, (1, "a" * 32)), ("1." + "a" * 33, None),
    ("1.AB", None), ("1.", None), (".a", None), ("", None), ("1.a.b", None),
    ("1.ab\n", None), ("٣.ab", None), ("12345678901234567890.a", None)])
def test_a_generation_is_ascii_digits_dot_lower_hex(text: str, parsed: object) -> None:
    assert parse_generation(text) == parsed


def test_with_generations_checks_the_new_values_and_keeps_the_rest() -> None:
    message = MerkleExchange(7, 0, 10, 2, 1, "level", indexes=(1,), hashes=(b"h",))
    stamped = with_generations(message, generation="3.ab")
    assert stamped == MerkleExchange(7, 0, 10, 2, 1, "level", indexes=(1,), hashes=(b"h",),
                                     generation="3.ab")
    assert message.generation == ""  # the original is unchanged
    gossip = with_generations(Gossip(b"v"), generation="1.0", yours="2.f")
    assert (gossip.generation, gossip.yours, gossip.view) == ("1.0", "2.f", b"v")
    with pytest.raises(BadMessageError, match=r"^MerkleExchange\.generation: must be"):
        with_generations(message, generation="٣.ab")
    with pytest.raises(TypeError, match="no generation field 'yours'"):
        with_generations(message, yours="1.0")
    with pytest.raises(BadMessageError, match=r"^MerkleExchange\.generation: must be"):
        MerkleExchange(7, 0, 10, 2, 1, "level", generation="1.AB")
