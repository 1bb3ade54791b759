"""Benchmark of the Accept field's parse with many parameters, with and without a
trailing tab.

Run: ``.venv/bin/python bench/http_accept.py [--parameters 16000] [--runs 11]``

``impl.http_values.accept_ranges`` on ``text/plain`` followed by ``--parameters``
``;a=b`` pairs (64 KB by default), and on the same field ending in a tab, the two
timed in turn (``time.perf_counter``, ``--runs`` each, so that both medians come
from the same stretches of a loaded machine). It prints each field's median and
least time and the ratio of the medians (tab / plain). Before session 22's fix an
``rstrip`` per parameter copied the element each time: about 3.3 times as long
with the tab (100 ms against 30 ms). This comparison was a test until session 25
(``tests/runtime/test_http_accept_cost.py``, which now counts the bytes the parse
allocates: speed is measured here, never by a test that fails on time). Figures:
docs/runtime.md, "An Accept field's cost".
"""

from __future__ import annotations

import argparse
import statistics
import time

from impl.http_values import accept_ranges


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parameters", type=int, default=16_000)
    parser.add_argument("--runs", type=int, default=11)
    args = parser.parse_args()
    if args.parameters < 0 or args.runs < 1:
        parser.error("--parameters must be at least 0 and --runs at least 1")
    plain = b"text/plain" + b";a=b" * args.parameters
    fields = {"plain": plain, "tab": plain + b"\t"}
    assert accept_ranges(fields["tab"]) == [(b"text", b"plain", 1.0)]
    times: dict[str, list[float]] = {name: [] for name in fields}
    for _ in range(args.runs):
        for name, field in fields.items():
            start = time.perf_counter()
            accept_ranges(field)
            times[name].append(time.perf_counter() - start)
    print(f"Accept of {args.parameters} parameters ({len(plain)} bytes), "
          f"{args.runs} run{'' if args.runs == 1 else 's'} of each field, in turn")
    for name, taken in times.items():
        print(f"  {name:5}: median {statistics.median(taken) * 1e3:.3f} ms "
              f"(least {min(taken) * 1e3:.3f} ms)")
    ratio = statistics.median(times["tab"]) / statistics.median(times["plain"])
    print(f"  tab / plain: {ratio:.2f}, the ratio of the medians (about 1 since session "
          "22's fix; 3.3-5.3 with the per-parameter rstrip of before)")


if __name__ == "__main__":
    main()
