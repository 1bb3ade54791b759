"""The paper's three partitioning strategies and their load balance (section 6.2).

Work in progress: the strategies and the ``vdynamo ring`` comparison land next.
"""

from __future__ import annotations

import sys


def main(argv: list[str]) -> int:
    """``vdynamo ring`` (not implemented yet)."""
    print("vdynamo ring: the strategy comparison is not implemented yet", file=sys.stderr)
    return 2
