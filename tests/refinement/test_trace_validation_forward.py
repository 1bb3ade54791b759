"""Trace validation of the forwarder's retries (session 54, issue 12 §3).

``validate_seed(seed, write_failures=True)`` sends a quarter of the puts to the node
outside the key's top N (session 53). The implementation's forwarder
(impl/forwarding.py) sends a forward whose target did not answer on to the next node
of the top N, and coordinates the put itself when none is left; the outsider then
hands its copy to the top N as hints (``impl.gossip.Gossiper.hand_outsider_copy``)
and lets it go once every owner acknowledged it. Session 53 named these a trace-spec
step (``forward-again``) and a spec gap (``forward-elsewhere``: seeds 12 and 93 of
0-99 stopped there); now each is a spec step (``spec.requests.forward_retries``,
``spec.handoff.outsider_copies``) and those seeds validate.

Mutants, each caught on a seed that validates without it: the forwarder trying the
top N in reverse order (its retry goes back to an earlier node: no spec
``ForwardAgain`` goes back; session 53's trace-spec step accepted it), and the
outsider letting its copy go at the first owner's acknowledgement (session 27's
review's bug: the spec's ``OutsiderLetGo`` waits until every top-N copy covers it).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from impl import forwarding, gossip
from impl.effects import Effect
from model_check.trace_validation import validate_seed

#: a seed whose forwarder coordinates a put itself, hands its copy on and lets it go
#: (12 and 93 of 0-99)
FALLBACK_SEED = 12
#: a seed whose forwarder's timeout sends a forward on (the reversed mutant's)
AGAIN_SEED = 18


def test_a_forwarder_coordinating_itself_validates() -> None:
    report = validate_seed(FALLBACK_SEED, write_failures=True)
    why = f"{report.line()}\n{report.rerun()}\n{report.reason}"
    assert (report.verdict, report.impl_converged, report.spec_converged) == (
        "ok", True, True), why
    assert report.forwards["forward-fallback"] == 1, why
    assert report.forwards["outsider-handoff"] >= 1, why
    assert report.forwards["outsider-let-go"] == 1, why
    assert report.forwards["forward-again"] > 0, why


def _reversed_route(route: Callable[..., list[Effect]]) -> Callable[..., list[Effect]]:
    """``Forwarder.route`` that orders the key's top N backwards."""
    def backwards(self: forwarding.Forwarder, now: float, request: Any,
                  reply_to: Any) -> list[Effect]:
        ordered = self.quorum.preference_list

        def preference_list(key: bytes) -> list[str]:
            nodes = list(ordered(key))
            return [*reversed(nodes[: self.config.n]), *nodes[self.config.n:]]

        self.quorum.preference_list = preference_list  # type: ignore[method-assign,assignment]
        try:
            return route(self, now, request, reply_to)
        finally:
            del self.quorum.preference_list
    return backwards


def test_a_forward_sent_back_up_the_top_n_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    assert validate_seed(AGAIN_SEED, write_failures=True).verdict == "ok"
    monkeypatch.setattr(forwarding.Forwarder, "route",
                        _reversed_route(forwarding.Forwarder.route))
    report = validate_seed(AGAIN_SEED, write_failures=True)
    assert report.verdict == "divergence", report.line()
    first = report.reason.splitlines()[0]
    assert "ForwardTimeout" in first, report.reason
    assert "a candidate is not enabled in the spec" in report.reason, report.reason


def test_an_outsider_copy_let_go_at_the_first_ack_is_caught(
        monkeypatch: pytest.MonkeyPatch) -> None:
    acknowledged = gossip.Gossiper._stray_acknowledged

    def at_first(self: gossip.Gossiper, target: str, key: bytes, record: bytes) -> bool:
        held = self.strays.get(key)
        if held is not None and held[0] == record:
            held[1].intersection_update({target})  # the other owners taken as acked
        return acknowledged(self, target, key, record)

    monkeypatch.setattr(gossip.Gossiper, "_stray_acknowledged", at_first)
    report = validate_seed(FALLBACK_SEED, write_failures=True)
    assert report.verdict == "divergence", report.line()
    assert "HintAck" in report.reason.splitlines()[0], report.reason
    assert ".nodes.n3.store.k: spec" in report.reason, report.reason
