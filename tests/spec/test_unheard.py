"""The unheard acknowledgement (session 61, issue 12): a chaining client
(``workload.chain_puts``) whose put was acknowledged may not hear it
(:class:`spec.actions.Unheard`, :func:`spec.requests.unheard`) and then keeps the
context it held before the put, as the implementation's client does when a forwarded
put's ``ForwardReply`` is lost or the forwarder's timeout answers first
(``RequestTimeoutError``), and as the library's caller does on ``OutcomeUnknownError``.
Its next write is then a sibling of its own acknowledged write.

Mutants (each seen failing its test, then reverted):

- ``spec.requests.client_requests`` not yielding ``Unheard`` (the spec before session
  61): ``test_a_put_beside_its_own_acknowledged_write_is_reachable`` finds no such put
  in dvv-chain-fresh-pair (1,312 states); trace validation's seeds 16, 59, 72 diverge
  (tests/refinement/test_chain_puts_forward.py);
- the answer's ``before`` set without a write left (``spec.coordination._acknowledge``
  without its ``puts_issued`` test): ``test_unheard_only_while_it_matters`` fails (an
  ``Unheard`` edge from a client with no write left: ``assert 4 < 4``);
- the next request not clearing ``before`` (``spec.requests._request``): the same
  assertion fails (the answer the third put carried still "unheard" after the fourth).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from model_check.properties import read_your_writes
from model_check.suite import entry
from spec import requests
from spec.actions import Action, Unheard, action_from_json
from spec.config import Config
from spec.model import initial_state
from spec.state import State
from tests.spec.test_learnt import _graph as _edges  # every edge, breadth first

NAME = "dvv-chain-fresh-pair"


def _beside_own_write(state: State) -> bool:
    """A put of a client that does not descend from an earlier put of the same client
    that was acknowledged (the chaining client's next write carries the acknowledged
    put's answer, so only an answer not heard leaves it out)."""
    acked = {client: set(cl.acked) for client, cl in zip(state.config.client_names,
                                                          state.clients, strict=True)}
    for record in state.puts:
        if record is None:
            continue
        for earlier in acked[record.client]:
            other = state.puts[earlier - 1]
            if (other is not None and earlier < record.put_id
                    and earlier not in record.history):
                return True
    return False


def test_the_action_reads_back() -> None:
    action = Unheard("c1")
    assert action_from_json(action.to_json()) == action
    assert action.to_json() == {"action": "unheard", "client": "c1"}
    assert not action.fault_free


def test_unheard_only_while_it_matters() -> None:
    """Every ``Unheard`` edge of dvv-chain-fresh-pair: its client is idle, was
    acknowledged, has a write left, and then holds what it held before the put; no
    state of a configuration without ``chain_puts`` has an answer it may not hear."""
    config = entry(NAME).config
    found = 0
    for before, action, after in _edges(config):
        if not isinstance(action, Unheard):
            continue
        found += 1
        cl = before.client(action.client)
        assert cl.outstanding == 0 and cl.acked
        assert cl.puts_issued < config.writes_per_client
        assert cl.last_get is not None and len(cl.last_get.before) == 1
        assert after.client(action.client).last_get == cl.last_get.before[0]
        assert after.client(action.client).acked == cl.acked  # still acknowledged
        assert after.puts == before.puts and after.nodes == before.nodes
    assert found > 100
    unchained = config.replace(name=f"{NAME}-unchained", chain_puts=False)  # type: ignore[arg-type]
    assert not any(isinstance(action, Unheard) or (
        cl.last_get is not None and cl.last_get.before)
        for _, action, after in _edges(unchained) for cl in after.clients)


@pytest.mark.parametrize("rule", [True, False])
def test_a_put_beside_its_own_acknowledged_write_is_reachable(
        rule: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    """With the rule a client's put that leaves out its own acknowledged earlier put
    (a sibling of it: seed 16 of trace validation's chained mix) is reachable; without
    it (the spec before session 61) none is, and the graph is the 1,312 states of
    session 60."""
    if not rule:
        original = requests.client_requests

        def without(state: State, plan: object) -> Iterator[tuple[Action, State]]:
            return ((a, s) for a, s in original(state, plan)  # type: ignore[arg-type]
                    if not isinstance(a, Unheard))

        monkeypatch.setattr(requests, "client_requests", without)
        import spec.model

        monkeypatch.setattr(spec.model, "MECHANISMS", tuple(
            without if m is original else m for m in spec.model.MECHANISMS))
    states = set()
    reached = False
    for _, _, after in _edges(entry(NAME).config):
        states.add(after)
        reached = reached or _beside_own_write(after)
    assert reached is rule
    if not rule:
        assert len(states | {initial_state(entry(NAME).config)}) == 1_312


def _reads_after_unheard(config: Config) -> tuple[int, int]:
    """How many states of ``config``'s graph, reached through an :class:`Unheard` step,
    hold a finished get of that client whose ``acked_before`` has the put the client did
    not hear (the get began after it: the step needs ``before``, which every request
    clears), and how many of those fail read_your_writes."""
    successors_of: dict[State, list[State]] = {}
    starts: list[tuple[State, int, str]] = []
    for before, action, after in _edges(config):
        successors_of.setdefault(before, []).append(after)
        if isinstance(action, Unheard):
            starts.append((after, max(before.client(action.client).acked), action.client))
    found: set[State] = set()
    for first, put, client in starts:
        seen, stack = {first}, [first]
        while stack:
            state = stack.pop()
            if any(put in g.acked_before and g.returned
                   for g in state.client(client).gets):
                found.add(state)
            for after in successors_of.get(state, ()):
                if after not in seen:
                    seen.add(after)
                    stack.append(after)
    return len(found), sum(1 for state in found if not read_your_writes(state))


def test_read_your_writes_binds_an_unheard_write() -> None:
    """s61-reviewunheard: the client that did not hear its put's acknowledgement keeps
    it in the ghost ``acked`` (the put was acknowledged), so a get it begins later must
    still return it (read_your_writes is not made vacuous by the rule, only stricter
    than what the client knows: the library's ``OutcomeUnknownError`` promises only
    "the write may have been made", docs/runtime.md). dvv-chain-fresh-pair: 1,174
    states hold such a get, each returning the write. Mutant: ``spec.requests.unheard``
    also dropping the put from ``acked`` (the client "forgets" it was written): no get
    is bound by it (``0 > 0`` below), read_your_writes then checks nothing there."""
    bound, broken = _reads_after_unheard(entry(NAME).config)
    assert bound > 0
    assert broken == 0
