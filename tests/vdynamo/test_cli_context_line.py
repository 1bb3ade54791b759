"""``vdynamo put`` / ``delete`` given ``--context`` as the whole line ``get`` prints
(``context: AgE...``: a new user's copy and paste; session 59's red team, probe
23j). Before: sent, and the node refused it "X-Vdynamo-Context: not valid base64",
the prefix not named. Now one line naming the prefix and what to give, exit 1,
nothing sent (the node address here refuses connections: a request would have
named it).

Mutant (session 59): the ``startswith(_CONTEXT_LINE)`` check removed: both cases
fail ("no node could serve it ... ConnectError" instead).
"""

from __future__ import annotations

import pytest

from vdynamo.kv_cli import main_delete, main_put

LINE = "context: AgEAAQAPbjF+YWNmY2Q0ZjZhNzk5AAAAAAAAAAGZvJ49grSwmH0GJYc6wcNa"


@pytest.mark.parametrize("command", ["put", "delete"])
def test_the_context_line_as_printed_is_refused_naming_the_prefix(
        command: str, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["k", *(["v"] if command == "put" else []), "--context", LINE,
            "--node", "127.0.0.1:1", "--timeout", "5"]
    assert (main_put(args) if command == "put" else main_delete(args)) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"vdynamo {command}: --context: 'context: AgE"), err
    assert "give what follows it (--context AgEAAQAPbjF+YWNmY2Q0...)" in err
    assert "nothing was sent" in err and err.count("\n") == 1


@pytest.mark.parametrize("given", ["contextAgEAAQ", "Y29udGV4dDog"])
def test_a_context_not_the_printed_line_is_sent(
        given: str, capsys: pytest.CaptureFixture[str]) -> None:
    """A ``--context`` that begins with the letters "context" but not the printed
    ``context: `` (base64 has no space or colon: such a context can be real) and
    one that is base64 of "context: " are sent as given (here to an address that
    refuses: "no node could serve it"), and the line printed before a context by
    ``put`` is refused whatever the context after it (a client-vclock one here).
    The review of red team 10 (session 59). Mutants: the check as
    ``given.startswith("context")``: the ``contextAgEAAQ`` case fails (refused,
    nothing sent);
    as ``startswith(_CONTEXT_LINE + "AgE")`` (only a dvv context's line): the
    client-vclock line is sent."""
    args = ["k", "v", "--context", given, "--node", "127.0.0.1:1", "--timeout", "5"]
    assert main_put(args) == 1
    err = capsys.readouterr().err
    assert "no node could serve it" in err and "starts with" not in err, err
    assert main_put(["k", "v", "--context", "context: eyJjbGllbnQiOiAxfQ==",
                     "--node", "127.0.0.1:1", "--timeout", "5"]) == 1
    assert "starts with the 'context: '" in capsys.readouterr().err
