"""An Accept field's parsing allocates bytes in proportion to its size, and a
trailing tab adds at most a few copies of it (session 22's service probe; session
18's review left it). ``accept_ranges`` stripped an element's trailing whitespace
once per parameter, copying the element each time: a 64 KB Accept of 16,000
parameters ending in a tab (any client may send one, on every GET of a pipelined
connection) took 100 ms of the node's CPU, 30 ms without the tab.

Counted, not timed (session 25: speed is measured in bench/, never by a test that
fails on time; the timing comparison this test made is now
``bench/http_accept.py``): the bytes ``accept_ranges`` allocates, summed line by
line (at each line ``tracemalloc``'s peak above the level the line began at), the
same count on every run of one field (to a few hundred bytes: the first run's
differs). Mutants (session 25; each killed): the original regression (``while at <
len(element.rstrip(b" \\t")):``, the end found per parameter) allocates 16.1 MB
more for 2,000 parameters with a tab than without (a copy of the 8,011-byte
element per parameter; now 14 KB), and with the tab 3.6 times as much for 4,000
parameters as for 2,000 (now 2.0); a copy of the element's rest per parameter
(``_PARAMETER.match(element[at:])``) allocates 3.4 times as much for 4,000 as for
2,000, with or without the tab."""

from __future__ import annotations

import sys
import tracemalloc
from types import FrameType
from typing import Any

from impl.http_values import accept_ranges


def _field(parameters: int, tail: bytes = b"") -> bytes:
    return b"text/plain" + b";a=b" * parameters + tail


def _bytes_allocated(field: bytes) -> int:
    """The bytes ``accept_ranges(field)`` allocates, summed over the lines it runs:
    for each, how far ``tracemalloc``'s traced memory rose above its level when the
    line began (a copy made and freed within the line counts; the tracer's own
    allocations count the same for every line, so for a field, every run)."""
    total = level = 0

    def line(frame: FrameType, event: str, arg: Any) -> Any:
        nonlocal total, level
        total += tracemalloc.get_traced_memory()[1] - level
        tracemalloc.reset_peak()
        level = tracemalloc.get_traced_memory()[0]
        return line

    def call(frame: FrameType, event: str, arg: Any) -> Any:
        return line if frame.f_code is accept_ranges.__code__ else None

    tracing, previous = tracemalloc.is_tracing(), sys.gettrace()
    tracemalloc.start()
    sys.settrace(call)
    try:
        accept_ranges(field)
    finally:
        sys.settrace(previous)
        if not tracing:
            tracemalloc.stop()
    return total


def test_a_trailing_tab_costs_a_few_copies_of_the_field_not_one_per_parameter() -> None:
    field = _field(2_000)
    assert accept_ranges(field + b"\t") == [(b"text", b"plain", 1.0)]
    plain, tab = _bytes_allocated(field), _bytes_allocated(field + b"\t")
    # (the element stripped once to see it is not empty, once for its end: 2 copies)
    assert tab - plain <= 3 * len(field), (tab, plain, len(field))


def test_the_bytes_allocated_grow_as_the_field_not_faster() -> None:
    for tail in (b"", b"\t"):
        small, large = (_bytes_allocated(_field(n, tail)) for n in (2_000, 4_000))
        assert large < 2.2 * small, (tail, small, large)
