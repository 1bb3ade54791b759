"""Chained forwarded puts on the implementation (session 61, issue 12): trace
validation (:mod:`model_check.trace_validation`, whose harness maps forwarding,
:mod:`model_check.trace_forwarding`) with ``workload.chain_puts``.

The lockstep (``test_chain_puts_lockstep.py``, ``test_chain_puts_modes.py``) maps no
forwarding (``LockstepState.maps_forwards``), so no test drove the implementation's
forward path with a chained context. Trace validation's workload with
``trace_config(write_failures=True)`` sends some puts to a node outside the key's top
N, which forwards them (``impl.forwarding``: the coordinator answers the forwarder
with a ``ForwardReply`` carrying ``PutResult.context``, the forwarder the client);
with ``chain_puts`` each client reads once, then puts its values in a row, each with
the context its last put was answered (``TraceEvents._turn``; the harness's client
keeps ``PutResult.context``, ``Lockstep._collect_replies``; the spec's,
:func:`spec.coordination.answered`). Rerun a seed with
``validate_seed(seed, config=chained(), write_failures=True)``.

Mutants (each run by its test, and seen to fail the fixed code's assertion):

- the coordinator answering a forwarded put with no context (``impl.put_coordinator.
  answer``'s ``ForwardReply`` without ``context``): seed 0 diverges at ``event 67
  (t=0.9691): put c3 #8 @n4``, the put that carries it (its version lands beside the
  write its client was told about); 23 of seeds 0-29 diverge (16 without it too);
- the forwarder relaying an empty ``PutResult.context`` to its client
  (``Forwarder.on_forward_reply``): the same event;
- the workload not chaining (``TraceEvents._turn`` alternating get and put, as before
  session 61): the context-dropping mutant then validates on seed 0 (every put
  carries a get's context), so ``test_a_forward_answer_without_its_context_diverges``
  fails.

A gap this found (s61-chainfwd), closed by s61-unheard: the spec's client heard every
acknowledgement at once (trace_forwarding: "it knows less, no safety difference"), but
a chaining client whose forwarded put was acknowledged and who heard an error (the
forwarder's ``ForwardReply`` lost, its timeout answering ``RequestTimeoutError``) keeps
its older context, so its next put is a sibling of its own acknowledged write where
the spec's superseded it. Seeds 16, 59 and 72 of 0-79 stopped there (the verdict
``spec-gap``, ``chained-answer-unheard``). The spec's client may now not hear an
acknowledgement (:class:`spec.actions.Unheard`, offered by the validator where a
chained put is answered with an error) and the three seeds validate
(``test_an_acknowledged_put_the_client_did_not_hear``); mutants: the spec without the
rule, or the validator not offering it, seed 16 diverges at its next put
(``test_without_the_unheard_answer_seed_16_diverges``). The name
``chained-answer-unheard`` is kept for what the rule does not cover: an error heard
before the coordinator's acknowledgement (the forwarder's timeout first, the spec's
client still waiting; no seed of 0-79). docs/spec.md, "The unheard acknowledgement
(session 61)".

Seed 77 (session 61, s61-unheard; ``test_a_put_the_spec_failed_at_once_validates``)
diverged at ``event 189 (t=3.0400): deliver ReplicaPutAck n2->n1``: the
implementation acknowledged c2's v6, the spec had failed it. A fault of the trace
mapping: v6, forwarded by n3 to n1, whose disk refused its own write (the spec's
``FailedWrite`` of the forward), went to n3 and to n2 (the fallback for n4, down),
cut off from n1 by a partition n1's failure detector had not noticed. The spec's
coordinator, whose view is accurate, sends to n3 alone and fails the put at once (0
acks and 1 awaited < W = 2); the implementation's keeps it, retries n2 and is
acknowledged after the heal. Both maps matched the event (the abstraction compares no
coordination and no client's outstanding request), and the validator, which tried the
step inside a hidden ``Heal`` .. ``Partition`` (a cut not noticed yet) only when
nothing matched, kept the failing one. Now it also tries it when every matched state
ended a put coordination the implementation began in the event and still keeps
(``TraceValidator._ended_early``), and prefers the states that still coordinate the
implementation's live puts when the frontier is cut (``trace_validation._ended``).
Mutants: either change removed, seed 77 diverges at that event again.
"""

from __future__ import annotations

from typing import Any

import pytest

import impl.put_coordinator
from impl import forwarding
from impl.effects import PutResult, Reply, Send
from impl.errors import RequestTimeoutError
from impl.messages import ForwardReply
from model_check import trace_spec, trace_validation
from model_check.trace_events import TraceEvents
from model_check.trace_swarm import Swarm, trace_config
from model_check.trace_validation import validate_seed
from spec import requests
from spec.actions import Unheard
from spec.config import Config

#: seeds whose chained runs validate: 0, a forwarded put's answer chained (the
#: mutants diverge there); 19, a forwarder coordinates a put itself, hands its copy
#: on and lets it go (76 of seeds 0-79 validate chained)
SEEDS = (0, 19)
#: the seed the mutants run on, and the event where they diverge
MUTANT_SEED = 0
DIVERGES_AT = "event 67 (t=0.9691): put c3 #8 @n4"


def chained() -> Config:
    """trace_config(write_failures=True) (forwards) with ``chain_puts``."""
    config = trace_config(write_failures=True)
    return config.replace(name=f"{config.name}-chain", chain_puts=True)  # type: ignore[arg-type]


@pytest.mark.parametrize("seed", SEEDS)
def test_chained_forwarded_puts_validate(seed: int) -> None:
    report = validate_seed(seed, config=chained(), write_failures=True)
    assert (report.verdict, report.impl_converged, report.spec_converged) == (
        "ok", True, True), f"{report.line()}\n{report.reason}"


def _answer_without_context(monkeypatch: pytest.MonkeyPatch) -> None:
    """The coordinator's ``ForwardReply`` of a put without its context."""
    original = impl.put_coordinator.answer

    def answer(reply_to: Any, result: Any, error: Any, *, kind: str = "get") -> Any:
        effect = original(reply_to, result, error, kind=kind)
        if (isinstance(effect, Send) and isinstance(effect.message, ForwardReply)
                and effect.message.kind == "put" and not effect.message.error):
            return Send(effect.dest, ForwardReply(effect.message.op_id, "put"))
        return effect

    monkeypatch.setattr(impl.put_coordinator, "answer", answer)


def _relay_put_success_as(monkeypatch: pytest.MonkeyPatch, answer: Reply) -> None:
    """The forwarder relaying ``answer`` (its request id replaced) for every
    successful put answer it relays to its client."""
    original = forwarding.Forwarder.on_forward_reply

    def relay(self: forwarding.Forwarder, src: str, message: ForwardReply) -> list[Any]:
        return [Reply(e.request_id, answer.result, answer.error)
                if isinstance(e, Reply) and isinstance(e.result, PutResult) else e
                for e in original(self, src, message)]

    monkeypatch.setattr(forwarding.Forwarder, "on_forward_reply", relay)


def _relay_without_context(monkeypatch: pytest.MonkeyPatch) -> None:
    """The forwarder relaying an empty ``PutResult.context`` to its client."""
    _relay_put_success_as(monkeypatch, Reply(0, PutResult(b"")))


@pytest.mark.parametrize("mutant", ["coordinator", "forwarder"])
def test_a_forward_answer_without_its_context_diverges(
        mutant: str, monkeypatch: pytest.MonkeyPatch) -> None:
    (_answer_without_context if mutant == "coordinator" else _relay_without_context)(
        monkeypatch)
    report = validate_seed(MUTANT_SEED, config=chained(), write_failures=True)
    assert report.verdict == "divergence", report.line()
    assert report.reason.splitlines()[0] == DIVERGES_AT, report.reason


#: the seeds of 0-79 whose chaining client did not hear an acknowledged forwarded put
#: (each a spec gap before session 61's :class:`spec.actions.Unheard`)
UNHEARD_SEEDS = (16, 59, 72)
#: where seed 16 diverges without the rule
UNHEARD_DIVERGES_AT = "event 152 (t=2.6267): put c2 #6 @n4"


@pytest.mark.parametrize("seed", UNHEARD_SEEDS)
def test_an_acknowledged_put_the_client_did_not_hear(seed: int) -> None:
    """The gap of s61-chainfwd (module docstring), closed: seed 16's c2 put v5,
    forwarded, is acknowledged by its coordinator, its ``ForwardReply`` is lost and the
    forwarder's timeout answers c2 ``RequestTimeoutError``; the spec's c2 then does not
    hear the acknowledgement (:class:`spec.actions.Unheard`, offered where a chained
    put is answered with an error) and keeps its older context, so its next put, v6
    through n4, keeps v5 as a sibling in both. Seeds 59 and 72 likewise."""
    report = validate_seed(seed, config=chained(), write_failures=True)
    assert (report.verdict, report.impl_converged, report.spec_converged) == (
        "ok", True, True), f"{report.line()}\n{report.reason}"


@pytest.mark.parametrize("mutant", ["spec", "validator"])
def test_without_the_unheard_answer_seed_16_diverges(
        mutant: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Mutants: the spec without the rule (``spec.requests.client_requests`` yielding
    no ``Unheard``, so its client always hears: trace_spec's mechanism table asks it),
    or the validator not offering the step (``TraceEvents._client_replies`` reporting no
    errored put): seed 16 diverges at c2's next put, v5 a sibling of v6 on the
    implementation and superseded in the spec, and is no named gap (the error came
    after the acknowledgement)."""
    if mutant == "spec":
        original = requests.client_requests

        def without(state: Any, plan: Any) -> Any:
            return ((a, s) for a, s in original(state, plan) if not isinstance(a, Unheard))

        monkeypatch.setitem(trace_spec._MECHANISM, Unheard, without)
    else:
        collect = TraceEvents._client_replies

        def none_errored(self: TraceEvents) -> list[str]:
            collect(self)
            return []

        monkeypatch.setattr(TraceEvents, "_client_replies", none_errored)
    trace_spec.forget()
    try:
        report = validate_seed(16, config=chained(), write_failures=True)
    finally:
        trace_spec.forget()
    assert report.verdict == "divergence", report.line()
    lines = report.reason.splitlines()
    assert lines[0] == UNHEARD_DIVERGES_AT, report.reason
    assert ('.nodes.n4.store.k: spec "{v8, v6, v3}" vs impl "{v8, v5, v3, v6}"'
            in report.reason), report.reason


#: seed 77's divergence before session 61's fix of the mapping (module docstring)
SEED_77_DIVERGED_AT = "event 189 (t=3.0400): deliver ReplicaPutAck n2->n1"


@pytest.mark.parametrize("mutant", ["", "no-retry-in-a-hidden-cut", "no-preference"])
def test_a_put_the_spec_failed_at_once_validates(mutant: str,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """Seed 77 (module docstring): a forwarded put whose coordinator's own write was
    refused and whose other fallback was cut off unnoticed is failed at once by the
    spec's coordinator and kept by the implementation's, acknowledged after the heal.
    The seed validates; each mutant (the hidden cut not tried when a direct map
    matched, ``TraceValidator._ended_early``; the frontier not preferring the states
    that still coordinate the implementation's live puts, ``_ended``) diverges where
    the seed did before the fix."""
    if mutant == "no-retry-in-a-hidden-cut":
        monkeypatch.setattr(trace_validation.TraceValidator, "_ended_early",
                            lambda self, found, new: False)
    elif mutant == "no-preference":
        monkeypatch.setattr(trace_validation, "_ended", lambda state, live: 0)
    report = validate_seed(77, config=chained(), write_failures=True)
    if not mutant:
        assert (report.verdict, report.impl_converged, report.spec_converged) == (
            "ok", True, True), f"{report.line()}\n{report.reason}"
    else:
        assert report.verdict == "divergence", report.line()
        assert report.reason.splitlines()[0] == SEED_77_DIVERGED_AT, report.reason


def _forwarded_answers(seed: int) -> tuple[str, int, int]:
    """Seed ``seed``'s chained run: its verdict, and how many of its forwarded puts
    that a coordinator acknowledged (``TraceEvents.forward_acked``) were answered to
    their client with success, and with an error."""
    validator = trace_validation.TraceValidator(
        chained(), seed=seed, swarm=Swarm.draw(seed, write_failures=True),
        duration_s=12.0, quiet_s=25.0)
    report = validator.run()
    puts = {(r.client, r.spec_id): r for r in validator.requests.values() if r.is_put}
    answered = [puts[p] for p in validator.forward_acked if p in puts and puts[p].done]
    heard = sum(1 for r in answered if r.handle.error is None)
    return report.verdict, heard, len(answered) - heard


def _forwarder_times_out(monkeypatch: pytest.MonkeyPatch) -> None:
    """The forwarder answering every acknowledged put ``RequestTimeoutError``."""
    _relay_put_success_as(monkeypatch, Reply(0, error=RequestTimeoutError("mutant")))


@pytest.mark.parametrize("mutant", ["", "forwarder-times-out"])
def test_a_chained_forwarded_acknowledgement_is_heard(
        mutant: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Session 61's review (s61-reviewunheard): :class:`spec.actions.Unheard` lets
    the spec's chaining client miss any acknowledgement, and the validator offers it
    wherever a chained put is answered with an error, so a forwarder that answers
    every acknowledged put ``RequestTimeoutError`` (the mutant) validates: seeds 0-39
    of the chained mix 40 ok (before the rule, seed 0's acknowledged forwards were the
    gap ``chained-answer-unheard`` and ``test_chained_forwarded_puts_validate``
    failed). The witness that keeps it caught: seed 0's three forwarded puts the
    coordinator acknowledged are all heard (a success relayed to the client, whose
    next put chains it); under the mutant seed 0 still validates, its three heard
    none."""
    if mutant:
        _forwarder_times_out(monkeypatch)
    verdict, heard, errored = _forwarded_answers(MUTANT_SEED)
    assert verdict == "ok"
    assert (heard, errored) == ((0, 3) if mutant else (3, 0))
