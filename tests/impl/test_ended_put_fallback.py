"""A put that ended while its coordinator's own commit ran, and whose commit then
failed (a full disk), hands the coordinator's part to a fallback as a put still going
on does (session 51, review of the service probe; docs/runtime.md "Review of the
service probe's fixes (session 51, review)").

Session 51's service probe saw 3 and 8 of 16 concurrent W = 3 puts through a full
coordinator of four processes answered 503 although a fallback was up, and left it
open: every target acked while the coordinator's group commit ran, the commit
failed, and ``PutCoordinator._ended_write_failed`` answered them from the two other
acks alone (2 of W = 3: a QuorumError, ``replicas_failed``) without sending the
coordinator's part to the fallback, which ``_part_failed`` does for a put still
going on. The driver is ``test_disk_full_review.py``'s (the coordinator's writes held,
its answers waiting for them, then the commit failed), which reproduces it where
the simulator cannot (its commit ends before any ack).

Mutants (checked by hand, session 51 review): ``_ended_write_failed`` as on
s51-probesvc (no fallback tried): the first test fails (503); the resumed put's
request id not left to a later answer (``taken_back``): the first test fails (the
commit's error answers it, 500); the fallback's ack of an ended put taken back as
the coordinator's own copy: the second test fails (503)."""

from __future__ import annotations

import pytest

from impl.effects import PutResult, Reply
from impl.errors import StorageError
from impl.messages import PutRequest
from impl.staging import failed_effects, reply_ids
from tests.impl.test_disk_full_review import KEY
from tests.impl.test_disk_full_review import _Driver as _ReviewDriver


class _Answers(dict[int, Reply]):
    """The driver's replies by request id, every one set also listed (a request
    answered twice, the failed commit's error then the put's result, shows both)."""

    def __init__(self) -> None:
        super().__init__()
        self.each: list[Reply] = []

    def __setitem__(self, request_id: int, reply: Reply) -> None:
        self.each.append(reply)
        super().__setitem__(request_id, reply)


class _Driver(_ReviewDriver):
    """``test_disk_full_review.py``'s driver, its replies :class:`_Answers`."""

    def __init__(self, names: tuple[str, ...], clock: str) -> None:
        super().__init__(names, clock)
        self.replies = self.answers = _Answers()


@pytest.mark.parametrize("forwarded", [False, True])
def test_a_put_ended_before_its_own_commit_failed_goes_to_a_fallback(forwarded: bool) -> None:
    """Four nodes, N = W = 3, sloppy quorum: the coordinator's part goes to the
    fourth node with a hint, whose ack makes W: 200 (s51-probesvc: 503 "put reached
    2 of W=3 replicas and cannot reach the quorum; failed: n.. (this node's own
    write)"). Forwarded: the put enters at the fourth node, which is the fallback."""
    driver = _Driver(("n1", "n2", "n3", "n4"), "dvv")
    preference = driver.nodes["n1"].preference_list(KEY)
    coordinator, fallback = preference[0], preference[3]
    entry = fallback if forwarded else coordinator
    driver.slow = coordinator
    driver.perform(entry, driver.nodes[entry].client_request(1.0, PutRequest(
        1, KEY, b"v1", w=3, client_id="alice")))
    assert driver.held and 1 not in driver.replies, "the answer waits for the commit"
    assert driver.nodes[coordinator].puts.held_ended, "every target acked: ended"
    driver.commit_fails()
    assert [reply.result for reply in driver.answers.each] == [PutResult(
        driver.replies[1].result.context)], driver.answers.each  # type: ignore[union-attr]
    assert [hint.intended for hint in driver.stores[fallback].hints()] == [coordinator]
    assert not driver.nodes[coordinator].puts.coordinations  # it ended again


def test_a_fallbacks_ack_of_an_ended_put_is_not_taken_back() -> None:
    """The coordinator's part handed to the fallback (the first test), whose ack ends
    the put while a second commit of the coordinator runs (another put's writes),
    which fails too: the fallback's ack still counts for the coordinator's part, as
    ``local_write_failed`` keeps it since s51-probesvc: 200. Taken back as the
    coordinator's own copy, the put is short of W with no fallback left: 503."""
    driver = _Driver(("n1", "n2", "n3", "n4"), "dvv")
    preference = driver.nodes["n1"].preference_list(KEY)
    coordinator, fallback = preference[0], preference[3]
    node = driver.nodes[coordinator]
    driver.slow = coordinator
    driver.perform(coordinator, node.client_request(1.0, PutRequest(
        1, KEY, b"v1", w=3, client_id="alice")))
    held, driver.held = driver.held, []
    error = StorageError("database or disk is full")
    effects = failed_effects(held, error, lambda e: node.persist_failed(
        driver.now, e, reply_ids(held)), lambda: node.taken_back)
    driver.perform(coordinator, effects)  # the part to the fallback; its ack held
    assert 1 not in driver.replies and driver.held, "answered behind the second commit"
    assert node.puts.held_ended, "every target acked (the fallback for the coordinator)"
    driver.commit_fails()
    reply = driver.replies[1]
    assert isinstance(reply.result, PutResult), reply
    # (the put's own context: ``_ended_write_failed__mutmut_17``, found by session 57's
    # mutation run, answered ``PutResult(None)``)
    assert isinstance(reply.result.context, bytes) and reply.result.context, reply
    assert [hint.intended for hint in driver.stores[fallback].hints()] == [coordinator]
