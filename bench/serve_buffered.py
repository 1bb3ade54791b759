"""``vdynamo serve`` with SQLite in its buffered mode (for bench/cluster.py only).

Run: ``python bench/serve_buffered.py CLUSTER.toml --node n1`` (the arguments of
``vdynamo serve``).

The runtime opens every node's storage as ``SqliteStorage(path)``, the durable
default (``fsync="always"``), and the cluster file has no setting for the
policy yet. This launcher swaps in a subclass that opens it with
``fsync="buffered"`` (changes committed every ``batch`` = 1000 of them, commits
not fsynced: a process crash loses the changes since the last commit; see
``impl/storage/sqlite.py``) and prints ``buffered storage: PATH`` for every
storage it opened, so bench/cluster.py can check that the swap took effect
(were the runtime to build its storage elsewhere, the benchmark refuses to
label a durable cluster "buffered"). When the cluster file gains an fsync
setting, use it and delete this file.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import impl.runtime as runtime  # noqa: E402
from impl.storage.sqlite import SqliteStorage  # noqa: E402


class BufferedSqliteStorage(SqliteStorage):
    """SqliteStorage that ignores the policy it is given and buffers."""

    def __init__(self, path: str | os.PathLike[str], fsync: Any = "always", **kw: Any) -> None:
        super().__init__(path, "buffered", **kw)
        print(f"buffered storage: {path}", flush=True)


def main(argv: list[str]) -> int:
    setattr(runtime, "SqliteStorage", BufferedSqliteStorage)  # noqa: B010
    return runtime.main(argv)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
