"""The spec's ``features.hinted_reads`` (session 49; :func:`spec.replica.served`): a
node answers a ``replica-get`` with its copy of the key merged with the hints it
keeps of the key, so a fallback whose acknowledgement counted towards a put's W
serves the put to a get's R (the implementation's default,
``impl.config.ClusterConfig.hinted_reads``; Riak's fallback vnodes serve what they
took). Off (the spec's default): its copy only, the hints kept apart (paper 4.6).

The run of :data:`PATH` (sloppy-crash-hinted-reads with a second crash; the key's
top N is n4, n1, n2 and n3 is its fallback): n1 crashes; a put through n2 is
acknowledged by n2 and by n3, which keeps it as a hint for n1; a get through n4
asks n2 and n3; n2 crashes. n3's answer is then the only copy of the put the get
can read (n4's own copy is still empty: n2's replica put to it is in flight).

Mutants (run and seen failing, docs/spec.md "Hinted reads in the spec (session 49)"):
:func:`spec.replica.served` ignoring the hints when on fails the first two tests;
serving the hints of every key (not only the one read) fails the third.
"""

from __future__ import annotations

from typing import Any

import pytest

from model_check.suite import entry
from spec import clocks
from spec.actions import Action, Deliver, action_from_json
from spec.config import Config, ConfigError
from spec.coordination import start
from spec.model import initial_state, successors
from spec.replica import served
from spec.state import Kind, Message, State
from spec.step import Edit, plan_of

#: from sloppy-crash-hinted-reads (crashes = 2) to the get's replica get to n3 in flight
PATH: tuple[dict[str, Any], ...] = (
    {"action": "crash", "node": "n1"},
    {"action": "client-put", "client": "c1", "node": "n2", "key": "k"},
    {"action": "deliver", "message": {
        "kind": "replica-put", "src": "n2", "dst": "n3", "request": 1, "key": "k",
        "payload": {"dvv": {"entries": [["n2", 1, [1]]], "anonymous": []}},
        "intended": "n1"}},
    {"action": "deliver", "message": {"kind": "replica-put-ack", "src": "n3", "dst": "n2",
                                      "request": 1, "key": "k"}},
    {"action": "client-get", "client": "c1", "node": "n4", "key": "k"},
    {"action": "crash", "node": "n2"},
)


def two_crashes(hinted_reads: bool) -> Config:
    """sloppy-crash-hinted-reads with a second crash, hinted reads on or off."""
    return entry("sloppy-crash-hinted-reads").config.replace(
        name=f"two-crashes-{hinted_reads}", crashes=2, hinted_reads=hinted_reads)


def take(state: State, action: Action) -> State:
    """The successor of ``state`` by ``action`` (one of its enabled steps)."""
    return next(after for label, after in successors(state) if label == action)


def at_the_read(hinted_reads: bool) -> State:
    """The state after :data:`PATH`: n4's replica get to n3 in flight."""
    state = initial_state(two_crashes(hinted_reads))
    for data in PATH:
        state = take(state, action_from_json(dict(data)))
    return state


def ask_n3(hinted_reads: bool) -> tuple[State, Message]:
    """The state after n3 received n4's replica get, and n3's answer."""
    before = at_the_read(hinted_reads)
    asked = next(m for m in before.messages if m.kind is Kind.REPLICA_GET and m.dst == "n3")
    after = take(before, Deliver(asked))
    reply = next(m for m in after.messages if m.kind is Kind.REPLICA_GET_REPLY)
    return after, reply


@pytest.mark.parametrize(("hinted_reads", "values"), [(True, (1,)), (False, ())])
def test_a_fallback_answers_with_its_hint_of_the_key(hinted_reads: bool,
                                                     values: tuple[int, ...]) -> None:
    state = at_the_read(hinted_reads)
    n3 = state.node("n3")
    assert [h.intended for h in n3.hints] == ["n1"]  # the scenario: a hint, an empty copy
    assert clocks.values(n3.store[0]) == ()
    _, reply = ask_n3(hinted_reads)
    assert reply.payload is not None and clocks.values(reply.payload) == values


@pytest.mark.parametrize(("hinted_reads", "returned"), [(True, (1,)), (False, ())])
def test_the_get_reads_the_acknowledged_put_through_the_hint(
        hinted_reads: bool, returned: tuple[int, ...]) -> None:
    """The get ends on n3's answer (R = 2: n4's own copy and n3's): it returns the put
    acknowledged before it began only with hinted reads; without, read_your_writes is
    violated although the get asked the fallback that holds the write. n3 keeps the
    put as a hint, not in its copy: its answer was not stale, so nothing repairs it."""
    state, reply = ask_n3(hinted_reads)
    state = take(state, Deliver(reply))
    (record,) = state.clients[0].gets
    assert record.acked_before == (1,) and record.returned == returned
    repairs = [m.dst for m in state.messages if m.kind is Kind.READ_REPAIR]
    assert "n3" not in repairs
    assert clocks.values(state.node("n3").store[0]) == ()
    # the coordinator's own stale copy is repaired in place with what it returned
    assert clocks.values(state.node("n4").store[0]) == returned


def test_only_the_hints_of_the_key_read_are_served() -> None:
    """Two keys: n3's hint of ``k`` is not served to a read of ``j``."""
    config = two_crashes(True).replace(name="two-keys", keys=("k", "j"))
    state = initial_state(config)
    for data in PATH:
        state = take(state, action_from_json(dict(data)))
    edit = Edit(state, plan_of(config))
    n3 = state.node("n3")
    assert clocks.values(served(edit, "n3", n3, "k")) == (1,)
    assert clocks.values(served(edit, "n3", n3, "j")) == ()
    assert served(edit, "n3", n3, "j") is n3.store[1]  # no hint: the copy itself


def test_the_setting_is_a_validated_feature() -> None:
    base = entry("sloppy-crash").config
    assert not base.hinted_reads and not Config().hinted_reads  # the spec's default
    on = entry("sloppy-crash-hinted-reads").config
    assert on.hinted_reads and on.replace(hinted_reads=False, name="sloppy-crash") == base
    assert Config.from_toml(on.to_toml()) == on and Config.from_json(on.to_json()) == on
    assert "hinted_reads" not in base.to_json()["features"]  # old JSON stays as it was
    with pytest.raises(ConfigError, match="hinted_reads"):
        base.replace(hinted_reads="yes")
    with pytest.raises(ConfigError, match="hinted_reads"):
        Config.from_toml("[cluster]\nhinted_reads = true\n")  # a [features] key
    assert any("hinted_reads" in note for note in
               Config(hinted_reads=True).inert_settings())  # strict: no hint to serve
    assert not on.inert_settings()


def test_a_get_coordinators_own_reply_counts_its_hints_of_the_key() -> None:
    """Session 49's review of c16b6f46 (:func:`spec.coordination.start`): a get's
    coordinator's own reply is what it serves (:func:`served`), its hint of the key
    too. Started directly at n3, the fallback holding the put as a hint for n1 after
    :data:`PATH`'s first four steps: the suite never reaches it (a node holds a hint of
    a key only outside its top N, which coordinates no get, and ring changes are
    modelled with a strict quorum only, so no hints), hence a unit test. Mutant: the
    coordinator's own copy (``local``, the line before c16b6f46): fails (``()``)."""
    config = two_crashes(True)
    state = initial_state(config)
    for data in PATH[:4]:
        state = take(state, action_from_json(dict(data)))
    edit = Edit(state, plan_of(config))
    start(edit, "n3", 2, "c1", "k")
    coord = next(c for c in edit.build().node("n3").coord if c.request == 2)
    ((node, own),) = coord.replies
    assert node == "n3" and clocks.values(own) == (1,)
