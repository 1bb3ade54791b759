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
        _call(db, call, name, bad)


def _call(db: Any, call: str, name: str, quorum: Any) -> None:
    """``db``'s ``call`` of key ``k`` with its quorum argument ``name`` = ``quorum``."""
    if call == "get":
        db.get("k", **{name: quorum})
    elif call == "put":
        db.put("k", b"v", **{name: quorum})
    else:
        db.delete("k", **{name: quorum})


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


@pytest.mark.parametrize(("call", "name"), CALLS)
def test_riaks_quorum_names_are_sent_not_refused(call: str, name: str) -> None:
    """``one``, ``quorum``, ``all`` and ``default`` are Riak's names, which the node
    reads (impl.http_values.QUORUM_NAMES; session 50): the client sends them (here
    to a seed where nothing listens, so the call fails for that, not for the name).
    Mutant (checked failing, session 50): the names refused as before."""
    for word in ("one", "quorum", "all", "default"):
        with vdynamo.connect(SEEDS, timeout_s=1.0) as db, pytest.raises(Exception) as raised:
            _call(db, call, name, word)
        assert not isinstance(raised.value, InvalidValueError), (word, raised.value)
        assert "no node could serve it" in str(raised.value), (word, raised.value)


def test_the_cli_takes_riaks_quorum_names_and_names_a_bad_word() -> None:
    done = cli("get", "k", "--r", "quorum", "--node", "127.0.0.1:1")
    assert done.returncode == 1 and "no node could serve it" in done.stderr, done
    done = cli("put", "k", "v", "--w", "most", "--node", "127.0.0.1:1")
    assert done.returncode == 2, done  # argparse
    assert "not an integer nor one of one, quorum, all, default: 'most'" in done.stderr, done
