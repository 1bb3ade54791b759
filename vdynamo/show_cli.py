"""``vdynamo show [CONFIG.toml]``: a configuration, its initial state, its enabled actions.

The command layer over the spec (:func:`spec.model.initial_state`,
:func:`spec.model.successors`, :func:`spec.model.describe`). Exit status: 0, or 2
for an invalid configuration (the error is printed on stderr).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from spec.config import ConfigError, default_config, load_config
from spec.model import describe, initial_state, successors

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Print the configuration (TOML), the initial state and the enabled actions."""
    parser = argparse.ArgumentParser(
        prog="vdynamo show",
        description="Print a configuration, its initial state and the actions enabled in it.",
    )
    parser.add_argument("config", nargs="?", help="a TOML configuration (default: the default)")
    args = parser.parse_args(list(argv) if argv is not None else None)
    try:
        config = load_config(args.config) if args.config else default_config()
    except ConfigError as error:
        print(f"vdynamo show: {error}", file=sys.stderr)
        return 2
    for note in config.inert_settings():
        print(f"vdynamo show: note: {note}", file=sys.stderr)
    state = initial_state(config)
    print(f"# configuration {config.name!r}")
    print(config.to_toml())
    print("# initial state")
    print(json.dumps(describe(state), indent=2))
    steps = list(successors(state))
    print(f"\n# {len(steps)} enabled actions")
    for action, _ in steps:
        print(json.dumps(action.to_json()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
