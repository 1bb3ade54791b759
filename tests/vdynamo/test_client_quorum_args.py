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


#: (the call, the quorum argument): R and W from 1, the primary quorums PR and PW
#: (session 39) from 0 (no primary needed, the paper's)
CALLS = [("get", "r"), ("put", "w"), ("delete", "r"), ("delete", "w"),
         ("get", "pr"), ("put", "pw"), ("delete", "pr"), ("delete", "pw")]


@pytest.mark.parametrize(("call", "name", "bad"), [
    (call, name, bad) for call, name in CALLS
    for bad in [0, -1, True, False, 2.0, "2", [2]]
    if not (name.startswith("p") and bad == 0 and bad is not False)])
def test_a_quorum_that_is_not_a_positive_int_is_refused_before_any_request(
        call: str, name: str, bad: Any) -> None:
    why = "a positive int" if len(name) == 1 else "an int of at least 0"
    with vdynamo.connect(SEEDS, timeout_s=1.0) as db, pytest.raises(
            InvalidValueError, match=rf"^{name}: must be {why}"):
        if call == "get":
            db.get("k", **{name: bad})
        elif call == "put":
            db.put("k", b"v", **{name: bad})
        else:
            db.delete("k", **{name: bad})


def test_the_cli_names_the_quorum_not_the_unreachable_node() -> None:
    done = cli("put", "k", "v", "--w", "0", "--node", "127.0.0.1:1")
    assert done.returncode == 1, done
    assert "w: must be a positive int" in done.stderr and "ConnectError" not in done.stderr, done


@pytest.mark.parametrize(("command", "option"), [("get", "--pr"), ("put", "--pw"),
                                                 ("delete", "--pr"), ("delete", "--pw")])
def test_the_cli_passes_the_primary_quorums(command: str, option: str,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    from vdynamo import kv_cli
    main = {"get": kv_cli.main_get, "put": kv_cli.main_put,
            "delete": kv_cli.main_delete}[command]
    args = ["k", *(["v"] if command == "put" else []), option, "-1",
            "--node", "127.0.0.1:1"]
    assert main(args) == 1
    assert f"{option[2:]}: must be an int of at least 0" in capsys.readouterr().err
