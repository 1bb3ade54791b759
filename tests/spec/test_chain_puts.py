"""Clients that chain a put's answered context (session 60, ``workload.chain_puts``):
the context an acknowledgement answers (``spec.clocks.answered_context``, as
``impl.versions.written_context_pairs``), its narration, and client symmetry over it.

Mutants (each seen failing the test named, then reverted):

- ``answered_context`` answering a dvv put's context alone (no new dot):
  ``test_a_dvv_answer_names_the_new_dot_unless_the_entry_holds_an_unread_value``;
  answering the dot past an unread value of the entry: the same test;
- the narration without the answer: ``test_an_acknowledgement_tells_the_answered_context``;
- ``spec.symmetry`` renaming a client's context without its pair ids (``self.context``
  in ``_Renaming._client`` replaced by the context as it is):
  ``test_client_symmetry_renames_the_pairs_of_answered_contexts`` (a representative's
  client holds the other client's pair);
- every acknowledgement answering an empty context (session 60's review):
  ``test_write_after_own_write_needs_the_answered_context`` (the witness was found
  under it, reading the ghost history alone).
"""

from __future__ import annotations

from typing import Any

import pytest

import spec.clocks
import spec.symmetry as symmetry
from model_check.check import check
from model_check.suite import entry
from spec import dvv
from spec.clocks import PutRecord, answered_context
from spec.model import initial_state, successors
from spec.presentation import narrate
from spec.state import State
from spec.symmetry import canonicalize
from spec.vclock import VClock
from tests.spec.first_states import first_states

CHAIN = "dvv-chain-fresh-pair"
TWO = "dvv-chain-two-clients"


def _record(clock: VClock, dot: tuple[str, int] = ("", 0),
            stamp: tuple[int, str] = (0, "")) -> PutRecord:
    return PutRecord(3, "c1", "k", "n1", clock, stamp, frozenset({3}), (), dot)


def test_a_dvv_answer_names_the_new_dot_unless_the_entry_holds_an_unread_value() -> None:
    """dvv: the context plus the entry of the id the put minted under, at its counter;
    the context alone where that entry holds another value above the context's counter
    (the rule before session 59 left one there: the fresh pair never does)."""
    fresh = dvv.DVVSet.of([("n1", 1, [1]), ("n1 c1", 1, [2]), ("n1/1 c1", 1, [3])])
    assert answered_context("dvv", _record(VClock(), ("n1/1 c1", 1)), fresh) == (
        ("n1/1 c1", 1),)
    # the old rule: v3 under (n1, 2) beside the unread v1 (n1, 1)
    old = dvv.DVVSet.of([("n1", 2, [3, 1]), ("n1 c1", 1, [2])])
    assert answered_context("dvv", _record(VClock(), ("n1", 2)), old) == ()
    # a context that read v1: the dot is named with it
    read = VClock.of({"n1": 1})
    assert answered_context("dvv", _record(read, ("n1", 2)),
                            dvv.DVVSet.of([("n1", 2, [3])])) == (("n1", 2),)


def test_vector_clock_and_lww_answers_are_the_new_version_s() -> None:
    """The vector-clock modes answer the new version's clock, lww its stamp."""
    clock = VClock.of({"n1 c1": 2, "n2": 1})
    for mode in ("server-vclock", "client-vclock"):
        assert answered_context(mode, _record(clock), (3,)) == clock
    assert answered_context("lww", _record(VClock(), stamp=(5, "n1")), (3,)) == (5, "n1")


def _path(config_name: str, steps: list[dict[str, Any]]) -> list[tuple[State, Any, State]]:
    state = initial_state(entry(config_name).config)
    out = []
    for wanted in steps:
        action, after = next((a, s) for a, s in successors(state)
                             if all(a.to_json().get(k) == v for k, v in wanted.items()))
        out.append((state, action, after))
        state = after
    return out


#: the dvv-chain-fresh-pair path to the fresh pair's acknowledgement and the put after it
FRESH_PATH = [{"action": "crash", "node": "n2"}, {"action": "client-put"},
              {"action": "client-put"}, {"action": "recover", "node": "n2"},
              {"action": "client-put"}, {"action": "deliver"}, {"action": "deliver"},
              {"action": "client-put"}]


def test_an_acknowledgement_tells_the_answered_context() -> None:
    """The acknowledgement's line names the context the client then carries, and the
    next put's clock (its context) is it."""
    lines = [narrate(*step) for step in _path(CHAIN, FRESH_PATH)]
    assert lines[6].endswith("c1's put v3 acknowledged, answering context "
                             '[["n1/1 c1", 1]]'), lines[6]
    assert "put v4 of k to n1 clock {'n1/1 c1': 1}" in lines[7], lines[7]
    after = _path(CHAIN, FRESH_PATH)[-1][2]
    assert after.puts[3] is not None and after.puts[3].history == frozenset({3, 4})


def _own_pairs_only(state: State) -> bool:
    """Every client's context names pairs of its own alone (no gets in dvv-chain-two-
    clients: a client's context comes from its own puts' answers)."""
    for name, client in zip(state.config.client_names, state.clients, strict=True):
        context = client.last_get.context if client.last_get is not None else ()
        assert isinstance(context, tuple)
        if any(" " in i and i.partition(" ")[2] != name for i, _ in context):
            return False
    return True


@pytest.mark.parametrize("broken", [False, True])
def test_client_symmetry_renames_the_pairs_of_answered_contexts(
        broken: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    """The first 2,000 states of dvv-chain-two-clients (without symmetry): each
    representative (cached and not) keeps every client's answered context naming its
    own pairs; the broken renaming (contexts left as they are) does not."""
    if broken:
        monkeypatch.setattr(symmetry._Renaming, "context", lambda self, c: c)
    symmetry.clear_caches()
    named = wrong = 0
    for state in first_states(entry(TWO).config, 2_000):
        assert _own_pairs_only(state)
        if any(c.last_get is not None and any(" " in i for i, _ in c.last_get.context)
               for c in state.clients):
            named += 1
            wrong += not (_own_pairs_only(canonicalize(state))
                          and _own_pairs_only(canonicalize(state, cached=False)))
    symmetry.clear_caches()
    assert named > 100
    assert (wrong > 0) is broken


@pytest.mark.parametrize("broken", [False, True])
def test_write_after_own_write_needs_the_answered_context(
        broken: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    """``write_after_own_write`` (model_check.chain_witnesses) is found in dvv-chain-two-
    clients (no gets: a client's context comes from its puts' answers) only where the
    chained put's context covers the client's earlier put. Mutant (session 60's review):
    every acknowledgement answering an empty context (``spec.clocks.answered_context``
    -> ``()``); with the witness reading the ghost history alone it was still found at
    depth 4 (vacuous), now not found (sibling_bound is violated there, depth 4)."""
    if broken:
        monkeypatch.setattr(spec.clocks, "answered_context", lambda mode, record, payload: ())
    result = check(entry(TWO).config, ["write_after_own_write"])
    verdicts = {p.property: p.verdict.value for p in result.results}
    assert verdicts == {"write_after_own_write": "not found" if broken else "found"}
