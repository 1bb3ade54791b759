"""The kinds of spec reap the implementation does not take (session 46): one edge of
CI's conformance samples of each kind that ``step_action`` names since then
(model_check.refinement_replay: ``REAP_UNDECIDED``, ``REAP_NOT_QUIET``; and
session 9's ``LIVE_ELSEWHERE``), each replayed on a fresh lockstep along its shortest path
(the sampled edge's own: docs/refinement.md, "The delete entries' unmapped reaps, one
by one (session 46)"), its outcome the named kind (``unmapped_kind``); and that an
outcome of no documented kind is told apart (tests/refinement/test_conformance.py
fails on one). And the one kind mapped since (``REAP_NOT_ITS_RECORD`` where the
deciding node let its copy go: its timer reaps at its targets)."""

from __future__ import annotations

import pytest

from model_check.refinement_conformance import (
    LIVE_ELSEWHERE,
    MEMBER_DOWN,
    UNMAPPED_KINDS,
    check_edge,
    unmapped_kind,
)
from model_check.suite import entry
from spec import model as spec_model
from spec.actions import Action
from spec.state import State


def _label(action: Action) -> str:
    """A short name of a spec action: ``kind(fields)``, a message as
    ``kind:src>dst#request``."""
    fields = action.to_json()
    kind = fields.pop("action")
    message = fields.pop("message", None)
    fields.pop("key", None)
    if message is not None:
        return f"{kind}({message['kind']}:{message['src']}>{message['dst']}#{message['request']})"
    return f"{kind}({','.join(str(v) for k, v in fields.items() if k != 'client')})"


def _walk(name: str, labels: list[str]) -> tuple[list[Action], Action, State]:
    """The spec actions named ``labels`` (:func:`_label`) taken from ``name``'s initial
    state, the last one apart, and the state it reaches. ValueError naming the label
    no successor has."""
    state = spec_model.initial_state(entry(name).config)
    actions = []
    for label in labels:
        found = next(((a, after) for a, after in spec_model.successors(state)
                      if _label(a) == label), None)
        if found is None:
            raise ValueError(f"{name}: no successor {label!r} at step {len(actions) + 1}")
        actions.append(found[0])
        state = found[1]
    return actions[:-1], actions[-1], state


#: one sampled edge of CI's samples per kind (test_conformance.py's seed 12; the
#: path is the sample's shortest path to the edge's source)
EDGES = {
    # dvv-prune-retired-delete's shard: a delete at n2 with n1 down fails (W = 2);
    # the spec may reap (no acknowledged delete covers a live version), no operation
    # of the implementation saw both targets hold the tombstone
    "reap undecided": ("dvv-prune-retired-delete", [
        "crash(n1)", "client-put(n2)", "client-get(n2)", "client-delete(n2)",
        "client-get(n2)", "reap(['n2'])"]),
    # delete-fallback-primary's sample: the delete acknowledged by both targets (n1's
    # timer set), a get at n3 in progress: the spec's guard 2 lets the reap pass a
    # get that holds nothing a delete covers; the implementation's round waits for it
    "reap not quiet": ("delete-fallback-primary", [
        "client-put(n3)", "deliver(replica-put:n3>n1#1)",
        "deliver(replica-put-ack:n1>n3#1)", "client-get(n1)",
        "deliver(replica-get:n1>n3#3)", "deliver(replica-get-reply:n3>n1#3)",
        "client-delete(n1)", "deliver(replica-put:n1>n3#2)",
        "deliver(replica-put-ack:n3>n1#2)", "client-get(n3)", "reap(['n3'])"]),
    # dvv-prune-retired-delete's shard: c1's put at n2 while n1 was down, then n1's
    # blind delete (concurrent with it) acknowledged: n2 keeps the put beside the
    # tombstone; the spec reaps n1 (no acknowledged delete covers that put)
    "live elsewhere": ("dvv-prune-retired-delete", [
        "crash(n1)", "client-put(n2)", "recover(n1)", "client-delete(n1)",
        "deliver(replica-put:n1>n2#2)", "deliver(replica-put-ack:n2>n1#2)",
        "client-get(n1)", "client-get(n1)", "reap(['n1'])"]),
}


#: delete-join-immediate's sample: n2 decided the reap (the delete acknowledged by n1
#: and n2), then handed k over to the joined n3 and let its copy go; the spec reaps n1.
#: Unmapped until session 46 (``REAP_NOT_ITS_RECORD``: n2's timer removes nothing of its
#: own); n2's timer reaps at its targets, n1 among them
#: (``refinement_replay._reaps_elsewhere``)
LET_GO = ("delete-join-immediate", [
    "client-put(n2)", "deliver(replica-put:n2>n1#1)", "deliver(replica-put-ack:n1>n2#1)",
    "client-get(n1)", "client-delete(n2)", "deliver(replica-put:n2>n1#2)",
    "deliver(replica-put-ack:n1>n2#2)", "join(n3)", "gossip(n3,n2)", "transfer(n2,n3)",
    "deliver(range-transfer:n2>n3#0)", "handover(n3)", "gossip(n3,n1)", "gossip(n1,n2)",
    "reap(['n1'])"])


def test_a_decider_that_let_its_copy_go_reaps_at_its_targets() -> None:
    name, labels = LET_GO
    path, reap, target = _walk(name, labels)
    assert check_edge(entry(name).config, path, reap, target) == "agreed"


#: delete-leave-pending's delete and reap sample: n3 decided the reap, left and let its
#: copy go; a get at n2 in progress (its replies on the way): n3's timer would reap n1
#: (``_reaps_elsewhere``) once the key is quiet: not quiet, not "not its record"
LEFT_AND_READ = ("delete-leave-pending", [
    "client-put(n3)", "deliver(replica-put:n3>n1#1)", "deliver(replica-put-ack:n1>n3#1)",
    "client-get(n1)", "client-delete(n3)", "deliver(replica-put:n3>n1#2)",
    "deliver(replica-put-ack:n1>n3#2)", "leave(n3)", "gossip(n3,n1)", "gossip(n1,n2)",
    "transfer(n3,n2)", "deliver(range-transfer:n3>n2#0)", "handover(n3)", "gossip(n3,n1)",
    "gossip(n1,n2)", "settle(n3)", "client-get(n2)", "deliver(replica-get:n2>n1#4)",
    "deliver(replica-get:n2>n3#4)", "gossip(n3,n1)", "gossip(n1,n2)", "reap(['n1'])"])


@pytest.mark.parametrize(("kind", "edge"), [*sorted(EDGES.items()),
                                            ("reap not quiet", LEFT_AND_READ)])
def test_each_kind_of_refused_reap_is_named(kind: str, edge: tuple[str, list[str]]) -> None:
    name, labels = edge
    path, reap, target = _walk(name, labels)
    outcome = check_edge(entry(name).config, path, reap, target)
    assert unmapped_kind(outcome) == kind, outcome


def test_an_outcome_of_no_documented_kind_is_told_apart() -> None:
    assert unmapped_kind(MEMBER_DOWN) == "member down"
    assert unmapped_kind(LIVE_ELSEWHERE) == "live elsewhere"
    for name, text in UNMAPPED_KINDS.items():
        assert unmapped_kind(f"unmapped: reap: {text} (n1)") == name
    assert unmapped_kind("unmapped: no handover by n3 on the implementation: n2 forwards"
                         ) == "handover before a re-transfer"
    assert unmapped_kind("unmapped: reap: the implementation would rather not") is None
    assert unmapped_kind("agreed") is None
    assert unmapped_kind("diverged: reap: " + UNMAPPED_KINDS["reap undecided"]) is None
