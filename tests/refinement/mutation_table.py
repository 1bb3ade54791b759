"""Print the mutation table of the last ``mutmut run`` (``make mutation``): per source
file, the mutants killed, survived, not reached by any test, not run yet (an
interrupted or narrowed run), and the others (timeouts, suspicious, skipped); then
every survivor by name.

Reads ``mutmut results --all true`` (mutmut 3: one ``name: status`` per line, the
name ``module.function__mutmut_N`` tells the file).
"""

from __future__ import annotations

import collections
import subprocess
import sys


def main() -> int:
    out = subprocess.run([sys.executable, "-m", "mutmut", "results", "--all", "true"],
                         capture_output=True, text=True, check=False).stdout
    table: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    survivors: list[str] = []
    for line in out.splitlines():
        name, _, status = line.strip().rpartition(": ")
        if not name:
            continue
        module = name.split(".x" if ".x" in name else ".")[0]
        bucket = {"killed": "killed", "survived": "survived", "no tests": "no tests",
                  "not checked": "not run"}.get(status, "other")
        table[module][bucket] += 1
        if bucket == "survived":
            survivors.append(name)
    print(f"{'file':<28} {'killed':>7} {'survived':>8} {'no tests':>8} {'not run':>7} "
          f"{'other':>6} {'score':>6}")
    for module, counts in sorted(table.items()):
        reached = counts["killed"] + counts["survived"]
        score = f"{100 * counts['killed'] / reached:.0f}%" if reached else "-"
        print(f"{module:<28} {counts['killed']:>7} {counts['survived']:>8} "
              f"{counts['no tests']:>8} {counts['not run']:>7} {counts['other']:>6} {score:>6}")
    print("survivors:")
    for name in survivors:
        print("  " + name)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
