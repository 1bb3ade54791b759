"""Review of session 50's held leave (``Node._defer`` keeps an operator's leave
during the startup shadow round, outside the round's cap; docs/runtime.md, "Review of
the cluster identity (session 50, review)"). Deterministic: a seeded simulated
cluster, injected time.
"""

from __future__ import annotations

import pytest

import impl.node
from impl.effects import Reply
from impl.errors import OverloadedError
from impl.membership import MemberStatus
from impl.messages import GetRequest
from impl.timers import ShadowRound
from tests.impl.test_mutation_gaps_node_s50 import KEY, _restarted_n3


def test_a_replayed_leave_frees_no_place_under_the_cap(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A held leave is outside the round's cap (``SHADOW_DEFERRED_LIMIT``, 2 here),
    so replaying it frees no place: with the leave and two gets held, the leave
    replayed first, a third get is still refused (OverloadedError) and the round's
    count of held requests stays 2. On the tree before this review the replay
    (:meth:`Node._shadow_step`) took one off the count for every input but a timer,
    the leave too: the count fell to 1 with two gets held, a third was kept past the
    cap (and each held leave replayed let one more in). Then the leave, asked
    twice after its replay while the round still replays, is held once more (at most
    one leave waits) and its replay, a leaving node's, does nothing.
    Mutants checked failing: the replay's ``method != "fire"`` (the tree before);
    ``_defer``'s ``and method != "leave"`` removed (the leave counted and then capped:
    the second get refused)."""
    monkeypatch.setattr(impl.node, "SHADOW_DEFERRED_LIMIT", 2)
    cluster = _restarted_n3()
    n3, now = cluster.node("n3"), cluster.now
    assert n3.leave(now) == []
    assert n3.client_request(now, GetRequest(1, KEY, r=1)) == []
    assert n3.client_request(now, GetRequest(2, KEY, r=1)) == []
    shadow = n3.shadow
    assert shadow is not None and shadow.kept == 2
    n3.fire(now, ShadowRound())  # the round over (timed out): the leave replayed first
    assert n3.shadow is shadow and [m for m, _ in shadow.deferred] == ["client_request"] * 2
    assert n3.status is MemberStatus.LEAVING
    assert shadow.kept == 2
    refused = n3.client_request(now, GetRequest(3, KEY, r=1))
    assert [type(e.error) for e in refused if isinstance(e, Reply)] == [OverloadedError]
    assert n3.leave(now) == []  # asked again, the round still replaying: held once more
    assert n3.leave(now) == []  # (and once only)
    assert [m for m, _ in shadow.deferred] == ["client_request"] * 2 + ["leave"]
    assert shadow.kept == 2
    cluster.run_for(5.0)  # the round's own timeout: the rest replayed (the leave: nothing)
    assert n3.shadow is None
    assert cluster.node("n3").status in (MemberStatus.LEAVING, MemberStatus.LEFT)
