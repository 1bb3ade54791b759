"""``vdynamo get`` prints each sibling as one line that reads back to its bytes
(session 30's review of the user probe's fix, ``vdynamo.kv_cli.shown``).

The fix wrote a byte that is not UTF-8 as ``\\xNN`` and a character that is not
printable as ``\\xNN`` too when below 0x100: the value ``b"\\xc2\\x80"`` (U+0080, a
C1 control, valid UTF-8) and the value ``b"\\x80"`` (a lone byte) both printed
``\\x80``, as did ``b"\\xc2\\xad"`` (U+00AD, soft hyphen) and ``b"\\xad"``: two
values, one line. Now ``\\xNN`` is a byte (or an ASCII control character, whose
byte is its code), and a character from U+0080 on is ``\\uNNNN``; :func:`_read_back`
below inverts :func:`shown`."""

from __future__ import annotations

import re

from hypothesis import example, given
from hypothesis import strategies as st

from vdynamo.kv_cli import shown

_ESCAPE = re.compile(r"\\(\\|n|r|t|x[0-9a-f]{2}|u[0-9a-f]{4}|U[0-9a-f]{8})")
_SHORT = {"\\": b"\\", "n": b"\n", "r": b"\r", "t": b"\t"}


def _read_back(line: str) -> bytes:
    """The bytes ``line`` (one line of ``vdynamo get``) shows, as its docstring says:
    ``\\xNN`` a byte, ``\\uNNNN`` and ``\\UNNNNNNNN`` a character, the rest UTF-8."""
    out = bytearray()
    at = 0
    for match in _ESCAPE.finditer(line):
        assert "\\" not in line[at:match.start()], line  # every backslash escapes
        out += line[at:match.start()].encode()
        code = match.group(1)
        if code in _SHORT:
            out += _SHORT[code]
        elif code[0] == "x":
            out.append(int(code[1:], 16))
        else:
            out += chr(int(code[1:], 16)).encode()
        at = match.end()
    assert "\\" not in line[at:], line
    return bytes(out + line[at:].encode())


@given(st.binary(max_size=24) | st.text(max_size=12).map(str.encode))
@example(b"\xc2\x80")  # U+0080, a C1 control; the byte 0x80 alone below
@example(b"\x80")
@example(b"\xc2\xad")  # U+00AD, soft hyphen (not printable)
@example(b"\xad")
@example(b"\xc2\xa0")  # U+00A0, no-break space (not printable)
@example(b"\x00\x1f\x7f\\x80\\")
@example("\u2028\U0001f600\U000e0001".encode())
@example(b"\xed\xb2\x80")  # an encoded surrogate: not UTF-8, three bytes
def test_each_value_prints_one_line_that_reads_back_to_it(value: bytes) -> None:
    line = shown(value)
    assert "\n" not in line and "\r" not in line
    assert line.isprintable()
    assert _read_back(line) == value


def test_a_character_and_a_byte_of_one_code_print_apart() -> None:
    # before: both \x80, both \xad
    assert shown(b"\xc2\x80") == "\\u0080" and shown(b"\x80") == "\\x80"
    assert shown(b"\xc2\xad") == "\\u00ad" and shown(b"\xad") == "\\xad"
    assert shown(b"\x00\x7f") == "\\x00\\x7f"  # ASCII controls: their byte
