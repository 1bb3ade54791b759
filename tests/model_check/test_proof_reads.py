"""The read-your-writes proofs (model_check/proofs/reads.py) against the checker: Z3's
hinted read is the checker's own counterexample for the same configuration."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from model_check.check import Verdict, check
from model_check.proofs.framework import run_proof
from model_check.proofs.reads import PROOFS, HintedRead, hinted_read_scenario
from model_check.spec_model import SpecModel
from model_check.suite import entry
from spec import model
from spec.actions import Action, Crash, Recover, action_from_json
from spec.state import State
from spec.step import plan_of
from tests.run_cache import suite_search


@dataclass(frozen=True, slots=True)
class StableReachability(SpecModel):
    """The spec, with no crash or recovery once a put was performed: the same nodes
    are reachable at the put and at the get (the proofs' hypothesis)."""

    def successors(self, state: State) -> Iterator[tuple[Action, State]]:
        performed = any(record is not None for record in state.puts)
        for action, after in model.successors(state):
            if performed and isinstance(action, Crash | Recover):
                continue
            yield action, after


def _replay(config: Any, actions: Any) -> list[tuple[State, Action | None]]:
    state = model.initial_state(config)
    out: list[tuple[State, Action | None]] = [(state, None)]
    for data in actions:
        wanted = action_from_json(dict(data))
        state = next(after for action, after in model.successors(state) if action == wanted)
        out.append((state, wanted))
    return out


def _scenario_of_trace(config: Any, actions: Any) -> HintedRead:
    """The roles of the checker's trace, as preference-list positions."""
    pref = plan_of(config).pref[config.keys[0]]
    position = {node: i for i, node in enumerate(pref)}
    run = _replay(config, actions)
    put_at = next(j for j, (s, _) in enumerate(run) if s.puts[0] is not None)
    down = {n for n, node in zip(config.nodes, run[put_at][0].nodes, strict=True)
            if not node.up}
    assert all(not run[-1][0].node(n).up for n in down)  # never back
    sent: set[str] = set()
    acks: set[str] = set()
    replies: set[str] = set()
    for state, action in run:
        for node in state.nodes:
            for coord in node.coord:
                if coord.is_put:
                    sent |= set(coord.sent_to)
                    acks |= set(coord.acks)
                else:
                    replies |= {n for n, _ in coord.replies}
        # the answer that completes a request removes its record: read it off the action
        message = getattr(action, "message", None)
        if message is not None and action is not None and action.kind == "deliver":
            if message.kind.value == "replica-put-ack":
                acks.add(message.src)
            elif message.kind.value == "replica-get-reply":
                replies.add(message.src)

    def positions(nodes: set[str]) -> tuple[int, ...]:
        return tuple(sorted(position[n] for n in nodes))

    return HintedRead(config.n, config.r, config.w, len(pref), positions(down),
                      positions(sent), positions(acks), positions(replies))


def _is_hinted_read(s: HintedRead) -> bool:
    """The issue's scenario: a top-N node down before the put and never back; the put
    acknowledged by another top-N node and a fallback that holds it as a hint; the
    get answered by nodes that include that fallback and not the node with the put
    in its store."""
    fallbacks = [i for i in s.acks if i >= s.n]
    stored = [i for i in s.acks if i < s.n]
    return (
        bool(s.down) and all(i < s.n for i in s.down)
        and len(fallbacks) == 1 and fallbacks[0] in s.replies
        and bool(stored) and not set(stored) & set(s.replies)
        and len(s.replies) == s.r and len(s.acks) == s.w
    )


def test_both_read_your_writes_proofs_hold_and_their_twins_fail() -> None:
    for proof in PROOFS:
        assert run_proof(proof).ok, proof.name


def test_z3_hinted_read_is_the_checkers_counterexample() -> None:
    config = entry("sloppy-crash").config
    # the checker, on the same configuration with reachability stable from the put on
    result = check(config, ["read_your_writes"], model=StableReachability(config))
    assert result.verdict("read_your_writes") is Verdict.VIOLATED
    trace = result.result("read_your_writes").trace
    assert trace is not None
    from_checker = _scenario_of_trace(config, trace.actions)
    assert _is_hinted_read(from_checker), from_checker
    # Z3's own model for N, R, W of the configuration is the same scenario ...
    from_z3 = hinted_read_scenario(config.n, config.r, config.w, len(config.nodes))
    assert from_z3 is not None and _is_hinted_read(from_z3), from_z3
    # ... and the checker's roles, pinned, are a model of Z3's query
    pinned = hinted_read_scenario(
        config.n, config.r, config.w, len(config.nodes),
        pinned={"down": from_checker.down, "acks": from_checker.acks,
                "replies": from_checker.replies},
    )
    assert pinned is not None and pinned.sent_to == from_checker.sent_to
    assert "answer(s) from the main store" in from_z3.describe()


def test_without_the_hint_there_is_no_such_read() -> None:
    """Teeth: the query has no model when the acknowledging fallback is not among the
    repliers, or when the quorum is strict (no fallback)."""
    config = entry("sloppy-crash").config
    found = hinted_read_scenario(config.n, config.r, config.w, len(config.nodes))
    assert found is not None
    others = tuple(i for i in found.sent_to if i not in found.fallbacks)
    assert hinted_read_scenario(
        config.n, config.r, config.w, len(config.nodes),
        pinned={"replies": others[: config.r]} if len(others) >= config.r else None,
    ) is None or len(others) < config.r
    # N = the list's length: no node outside the top N, so no fallback, no hint
    assert hinted_read_scenario(3, 2, 2, 3) is None


def test_the_strict_configuration_keeps_read_your_writes(run_cache: Path) -> None:
    """The checker's verdict on strict-dvv's whole graph (16,132 states), read from the
    suite entry's verdict search (session 46: tests/run_cache.py's, which
    test_suite_verdicts.py's ``test_all_verdicts_as_expected`` reads; this test searched
    the same graph again for read_your_writes alone, 1.6 CPU-s)."""
    result = suite_search(run_cache, "strict-dvv").result
    assert result.config == entry("strict-dvv").config and not result.bounded
    assert result.verdict("read_your_writes") is Verdict.HOLDS
