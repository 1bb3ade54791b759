"""The ``forgot STAMP`` line of a member's ``admin-nonces`` entry under an operator's
ordinary flows (the review of red team 9, session 59).

Red team 9 made a member refuse every admin token stamped at or before the latest
stamp of a nonce it forgot (:meth:`impl.http_api.HttpApi._admin_refusal`; the fault:
a nonce forgotten while the member's clock was ahead was taken again once the clock
was set right). These tests check what it must not break, on the method alone (a
stub member: its clock, its store's meta entries; milliseconds, no socket): two
commands in one second, a restart, a clock that was *behind* and is set right, many
commands over hours (the entry stays the window's nonces and one line), and the
entry of a node of before (no ``forgot`` line) read by this one.

Mutants (session 59, each run and reverted): the horizon taken from the nonces kept
rather than those forgotten (``if seen in taken``): the legitimate flows fail (a
fresh token refused "forgot"); ``stamp < forgot`` for ``stamp <= forgot``: the
replay of the forgotten token itself is taken (its stamp is the horizon); the horizon
not kept in memory (``self._admin_nonces = taken`` alone): the replay in the same
process is taken; the ``forgot`` line not written: the replay after the restart is
taken.
"""

from __future__ import annotations

import types

from impl.http_api import ADMIN_NONCES_META, ADMIN_TOKEN_WINDOW_S, HttpApi, admin_authorization

SECRET = b"s" * 32
T0 = 1_800_000_000


class _Member:
    """What ``_admin_refusal`` asks of its node: a name, a clock, a store's meta."""

    def __init__(self) -> None:
        self.name = "n1"
        self.clock = float(T0)
        self.meta: dict[str, bytes] = {}
        self.storage = types.SimpleNamespace(get_meta=self.meta.get,
                                             set_meta=self.meta.__setitem__)
        self.config = types.SimpleNamespace(secret=SECRET, name="blue")

    def now(self) -> float:
        return self.clock

    def own_peer_address(self) -> str:
        return "127.0.0.1:0"

    def own_peer_addresses(self, arrived: str = "") -> list[str]:
        return [self.own_peer_address()]

    def start(self) -> HttpApi:
        """A fresh HttpApi of this member (a restart: it reads the store again)."""
        api = HttpApi.__new__(HttpApi)
        api.server = self  # type: ignore[assignment]
        api.config = self.config  # type: ignore[assignment]
        api._admin_nonces = None
        api._admin_horizon = 0.0
        return api


def _token(stamp: float) -> bytes:
    return b"Bearer " + admin_authorization(SECRET, "blue", node="n3", member="n1",
                                            address="127.0.0.1:0", stamp=int(stamp)).encode()


def _entry(member: _Member) -> list[str]:
    return member.meta[ADMIN_NONCES_META].decode().splitlines()


def test_same_second_restart_and_hours_of_commands_are_taken() -> None:
    """Two tokens of one second both taken, each once; after a restart the kept
    nonce is still a replay and a fresh token taken; then one command every 10 s for
    three hours: every token taken, the entry never over the window's nonces and one
    ``forgot`` line (30 + 1 lines), its stamp the latest forgotten."""
    member = _Member()
    api = member.start()
    first, second = _token(T0), _token(T0)
    assert api._admin_refusal(first, "n3") is None
    assert api._admin_refusal(second, "n3") is None
    assert "replay" in (api._admin_refusal(first, "n3") or "")
    assert not any(line.startswith("forgot") for line in _entry(member))
    api = member.start()  # restarted
    assert "replay" in (api._admin_refusal(second, "n3") or "")
    assert api._admin_refusal(_token(T0 + 1), "n3") is None
    most = 0
    for step in range(1, 1081):
        member.clock = T0 + 10.0 * step
        stamp = member.clock - 3  # (the operator's clock a little behind)
        assert api._admin_refusal(_token(stamp), "n3") is None, step
        if step > ADMIN_TOKEN_WINDOW_S / 10 + 1:  # (the first three forgotten)
            most = max(most, len(_entry(member)))
    assert most == ADMIN_TOKEN_WINDOW_S / 10 + 1, most
    assert _entry(member)[-1] == f"forgot {T0 + 10 * 1080 - 3 - 300}"


def test_a_clock_that_was_behind_and_set_right() -> None:
    """The member and its operator's host 600 s behind (a spare not yet synced):
    their tokens taken; the clock set right and the member restarted: a token of the
    right time taken at once, the old ones refused by the window."""
    member = _Member()
    member.clock = T0 - 600.0
    api = member.start()
    behind = [_token(T0 - 600), _token(T0 - 590)]
    for token in behind:
        assert api._admin_refusal(token, "n3") is None
    member.clock = float(T0)
    api = member.start()
    assert api._admin_refusal(_token(T0), "n3") is None
    assert api._admin_refusal(_token(T0 + 1), "n3") is None
    for token in behind:
        assert "s from this node's clock" in (api._admin_refusal(token, "n3") or "")


def test_an_entry_of_a_node_of_before_and_a_clock_that_was_ahead() -> None:
    """A node of before wrote its nonces alone: read by this one, a listed nonce is
    a replay and a fresh token taken. Then the clock 600 s ahead, a token of its host
    taken (the first ones forgotten), the clock set right: the forgotten token's
    replay refused "forgot", in this process and after a restart; a token of the
    next second taken."""
    member = _Member()
    old = _token(T0)
    nonce = old.decode().split(".")[1]
    member.meta[ADMIN_NONCES_META] = f"{nonce} {T0}".encode()  # (no forgot line)
    api = member.start()
    assert "replay" in (api._admin_refusal(old, "n3") or "")
    assert api._admin_refusal(_token(T0), "n3") is None
    member.clock = T0 + 600.0
    assert api._admin_refusal(_token(T0 + 600), "n3") is None
    assert _entry(member)[-1] == f"forgot {T0}"
    member.clock = T0 + 5.0
    assert "forgot the tokens" in (api._admin_refusal(old, "n3") or "")
    api = member.start()
    assert "forgot the tokens" in (api._admin_refusal(old, "n3") or "")
    assert api._admin_refusal(_token(T0 + 1), "n3") is None


def test_a_horizon_ahead_of_the_clock_says_when_a_new_token_is_taken() -> None:
    """The member and its operator's host 600 s ahead: a token of that host taken,
    then 301 s later another, so the first (stamped 600 s ahead of real time) is
    forgotten; the clock set right: a token of the right time is refused (it could
    be a replay of one forgotten: its stamp is not after the horizon) and the line
    says how long (before the review: "make a new one", and the new one was refused
    again for up to the window); once the clock passes the horizon one is taken.
    Mutant (session 59): the wait left out of the line: fails on "again in 291 s"."""
    member = _Member()
    member.clock = T0 + 600.0
    api = member.start()
    assert api._admin_refusal(_token(T0 + 600), "n3") is None
    member.clock = T0 + 901.0
    assert api._admin_refusal(_token(T0 + 901), "n3") is None
    assert _entry(member)[-1] == f"forgot {T0 + 600}"
    member.clock = T0 + 310.0  # set right
    api = member.start()
    said = api._admin_refusal(_token(T0 + 310), "n3") or ""
    assert "forgot the tokens" in said and said.endswith("again in 291 s"), said
    member.clock = T0 + 601.0
    assert api._admin_refusal(_token(T0 + 601), "n3") is None
