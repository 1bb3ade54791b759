"""impl.context: the behaviours mutmut found no test for (docs/refinement.md,
"Mutation score"): the size bound, the refusals word for word and at their limits."""

from __future__ import annotations

import pytest

from impl.context import MAX_ID_BYTES, TAG_BYTES, context_bytes_bound, decode_context
from impl.errors import BadContextError
from impl.records import ClockMode

KEY = b"cart"
SECRET = b"s" * 32


def _decode(blob: object, max_bytes: int = 1 << 16) -> object:
    return decode_context(blob, key=KEY, mode=ClockMode.DVV,  # type: ignore[arg-type]
                          secret=SECRET, max_bytes=max_bytes)


def test_the_bound_of_a_context_of_p_pairs() -> None:
    assert MAX_ID_BYTES == 1020 and TAG_BYTES == 16
    assert context_bytes_bound(0) == 20
    assert context_bytes_bound(3) == 4 + 3 * (2 + 1020 + 8) + 16


def test_the_refusals_before_authentication_word_for_word() -> None:
    with pytest.raises(BadContextError, match=r"^context must be bytes, got str$"):
        _decode("x")
    with pytest.raises(BadContextError, match=r"^context is 30 bytes, over the limit of 29$"):
        _decode(b"\x02" * 30, max_bytes=29)
    with pytest.raises(BadContextError, match=r"^context is truncated \(19 bytes\)$"):
        _decode(b"\x02" * 19)
    # at the limits: 20 bytes of 20 allowed are long enough to be authenticated
    with pytest.raises(BadContextError, match=r"^context failed authentication"):
        _decode(b"\x02" * 20, max_bytes=20)
