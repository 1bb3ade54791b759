"""A per-request R or W that is not a positive integer is refused naming it before
any request (session 16's probe).

Before, ``db.get("k", r="2")`` was sent as ``?r=2`` and served, ``r=True`` as
``?r=true`` and ``r=2.0`` as ``?r=2.0`` (the node's 400), and ``vdynamo put k v
--w 0`` against a node that was down reported ``no node could serve it ...
ConnectError``, not the bad quorum: the argument was only checked by a node that
answered. The upper bound (N) stays the node's to check (the client may not know
the cluster's N); its 400 names it.
"""

from __future__ import annotations

from typing import Any

import pytest

import vdynamo
from impl.errors import InvalidValueError
from tests.runtime.procs import cli

SEEDS = ["127.0.0.1:1"]  # nothing listens: a request sent would be a ConnectError


@pytest.mark.parametrize("bad", [0, -1, True, False, 2.0, "2", [2]])
@pytest.mark.parametrize("call", ["get", "put", "delete-r", "delete-w"])
def test_a_quorum_that_is_not_a_positive_int_is_refused_before_any_request(
        bad: Any, call: str) -> None:
    name = "w" if call in ("put", "delete-w") else "r"
    with vdynamo.connect(SEEDS, timeout_s=1.0) as db, pytest.raises(
            InvalidValueError, match=rf"^{name}: must be a positive int"):
        if call == "get":
            db.get("k", r=bad)
        elif call == "put":
            db.put("k", b"v", w=bad)
        elif call == "delete-r":
            db.delete("k", r=bad)
        else:
            db.delete("k", w=bad)


def test_the_cli_names_the_quorum_not_the_unreachable_node() -> None:
    done = cli("put", "k", "v", "--w", "0", "--node", "127.0.0.1:1")
    assert done.returncode == 1, done
    assert "w: must be a positive int" in done.stderr and "ConnectError" not in done.stderr, done
