"""Behaviours session 57's mutation runs of ``impl/context.py``,
``impl/get_coordinator.py``, ``impl/versions.py`` and ``impl/put_coordinator.py``
found no test pinned (issue 12, section 5; docs/refinement.md, "Mutation rows:
context, get/put coordinators, versions (session 57)"). Each test names the mutmut
mutants it kills (mutmut 3.8.1's numbering on the source of this session)."""

from __future__ import annotations

import math

import pytest

from impl import context, versions
from impl.effects import CancelTimer, Effect, Reply, Send, SetTimer
from impl.errors import QuorumError, StorageError
from impl.forwarding import ReplyTo
from impl.get_coordinator import GetCoordination, _named
from impl.messages import GetRequest, PutRequest, ReplicaPut, ReplicaPutFailed
from impl.put_coordinator import PutCoordination, PutCoordinator, _quorum_failed
from impl.records import ClockMode, Record, Sibling, Truncation, encode_record
from impl.storage.memory import MemoryStorage
from impl.timers import GetTimeout, PutTimeout, ReapTombstone
from spec.vclock import VClock
from tests.impl.test_node_driver import Driver, make_config


def test_the_keyed_hmac_is_kept_while_the_secret_stays() -> None:
    """``_tag__mutmut_1``, ``_2`` (``keyed = None``, ``if _keyed and False``: the kept
    HMAC never read, each tag keyed anew; the same tags, so
    ``test_the_context_tag_is_hmac_sha256`` passes, but the session-55 saving, 1.3
    against 1.9 us a tag, is gone): two tags under one secret copy the same kept
    HMAC; another secret replaces it. ``_3`` (``if _keyed or True``: ``_keyed[0]``
    of the empty list, an IndexError at a process's first tag; mutmut's forked child
    inherits a filled cache, so no test saw it): the first tag with nothing kept."""
    context._keyed.clear()
    context._tag(b"s57 secret", b"k", b"body")
    kept = context._keyed[0]
    assert context._tag(b"s57 secret", b"k2", b"other") == context._tag(b"s57 secret", b"k2",
                                                                       b"other")
    assert context._keyed[0] is kept
    context._tag(b"another secret", b"k", b"body")
    assert context._keyed[0] is not kept and context._keyed[0][0] == b"another secret"


@pytest.mark.parametrize(("stored", "rank"), [
    (None, 0), (b"12a", 0), (b"7001", 7001),
    (b"1" + b"0" * 18, 10 ** 18), (b"%d" % (2 ** 62 - 1), 2 ** 62 - 1),
    (b"%d" % 2 ** 62, 0), (b"9" * 19, 0)])
def test_the_stored_rank_is_trusted_below_two_to_the_62(stored: bytes | None,
                                                        rank: int) -> None:
    """``_stored_rank__mutmut_11`` (``len(raw) < 19``: a 19-digit rank, 10**18 and up,
    read as none though below the bound), ``_16`` (``rank <= 2**62``: the bound itself
    trusted), ``_17`` (an untrusted rank read as 1, not none): ``RANK_META`` read
    alone (the lifetime tests start from small ranks, and a count of 1 or more hides
    the 1)."""
    storage = MemoryStorage("always")
    if stored is not None:
        storage.set_meta(versions.RANK_META, stored)
    assert versions._stored_rank(storage) == rank


def test_a_start_ranks_its_lifetime_at_least_at_its_start_count() -> None:
    """``lifetime_actor__mutmut_115`` (the start count left out of the new rank's
    floors): a store that counted 5 starts and keeps no actor (nothing to retire),
    started with its clock at 0, ranks the sixth lifetime 6, not 1."""
    storage = MemoryStorage("always")
    storage.set_meta(versions.LIFETIMES_META, b"5")
    versions.lifetime_actor(storage, "n1", seed=1, now=0.0)
    assert storage.get_meta(versions.RANK_META) == b"6"


def test_a_start_ranks_its_lifetime_above_the_rank_it_retired_at() -> None:
    """``lifetime_actor__mutmut_116``, ``_118`` (``retired_at + 1`` left out of the
    floors, or ``retired_at - 1``): the
    store's last start minted, at rank 7001 (its clock then), an actor of another
    node's name (a store copied from n9: not n1's to retire, so no retirement of n1
    carries the rank); started again with its clock at 0, its new lifetime ranks
    7002, above the last, not 2 (its start count)."""
    storage = MemoryStorage("always")
    storage.set_meta(versions.LIFETIMES_META, b"1")
    storage.set_meta(versions.MINTED_META, b"n9~0123456789ab")
    storage.set_meta(versions.RANK_META, b"7001")
    versions.lifetime_actor(storage, "n1", seed=1, now=0.0)
    assert storage.get_meta(versions.RANK_META) == b"7002"
    assert versions.read_retired(storage) == {}


def test_a_start_ranks_its_lifetime_above_every_one_of_its_node_it_heard_of() -> None:
    """``lifetime_actor__mutmut_117``, ``_120`` (the highest rank the store heard of
    for its node left out of the floors, or less one): a store that keeps no actor
    (nothing retired, so its count is not raised) but heard of a lifetime of n1 at
    rank 9000, started with its clock at 0, ranks its lifetime 9001, not 1 or 8999."""
    storage = MemoryStorage("always")
    storage.set_meta(versions.RETIRED_KNOWN_META,
                     versions.encode_retired({"n1~0123456789ab": 9000}))
    versions.lifetime_actor(storage, "n1", seed=1, now=0.0)
    assert storage.get_meta(versions.RANK_META) == b"9001"


def test_a_put_that_cannot_reach_its_quorum_says_so_word_for_word() -> None:
    """The 20 survivors of ``_quorum_failed``'s mutants ``_2`` to ``_41`` (the letter,
    the acks, W or the noun None; the words changed) and ``_failures__mutmut_7``
    (``"XX; XX"`` between the failures): the 503 of a put whose failed writes leave
    W (and PW) out of reach (session 50), built alone: a put and a delete, W = 2 of
    one ack, PW = 2 of one primary, n2's and n3's writes failed. (Its cluster tests
    match the clause of the failures, not the count's words.)"""
    coordination = PutCoordination(1, b"k", b"record", b"", 2, ("n1", "n2", "n3"), ("n4",),
                                   ReplyTo(5), 10.0, acks={"n1"}, pw=2, primary_acks={"n1"},
                                   failures={"n2": "n2: disk full", "n3": "n3: disk full"})
    effect = _quorum_failed(coordination)
    assert isinstance(effect, Reply) and isinstance(effect.error, QuorumError)
    assert str(effect.error) == (
        "put reached 1 of W=2 replicas and 1 of PW=2 primaries (n1) and cannot reach the "
        "quorum; failed: n2: disk full; n3: disk full (the other replicas may store it: "
        "outcome unknown)")
    assert (effect.error.needed, effect.error.got, effect.error.replicas_failed) == (2, 1, True)
    coordination.pw, coordination.tombstone = 0, b"tombstone"
    effect = _quorum_failed(coordination)
    assert isinstance(effect, Reply) and str(effect.error) == (
        "delete reached 1 of W=2 replicas and cannot reach the quorum; failed: n2: disk "
        "full; n3: disk full (the other replicas may store it: outcome unknown)")


def test_a_guessed_gets_end_is_told_at_its_time() -> None:
    """``GetCoordinator._finish__mutmut_6`` (a guessed ring's get, session 51, ended
    with ``ended(None, ...)``): the end hook (the reaper's ``get_ended``, which
    answers the reap queries held for the get at that time) is called with the
    time the get ends, as for a get of a known ring, and nothing else is done (no
    read repair, no reap)."""
    driver = Driver.start(make_config(3))
    gets = driver.nodes["n1"].gets
    told: list[tuple[float, int]] = []
    gets.ended = lambda now, coordination: told.append((now, coordination.op_id)) or []
    coordination = GetCoordination(7, b"k", 1, ("n1", "n2", "n3"), (), ReplyTo(1), 10.0,
                                   guessed=True)
    assert gets._finish(coordination, 3.5) == []
    assert told == [(3.5, 7)]


def test_the_highest_own_rank_reads_more_retirements_than_a_gossip_carries() -> None:
    """``_highest_own_rank__mutmut_9`` (the store's entries decoded under the wire's
    limit, :data:`~impl.versions.RETIRED_WIRE_LIMIT` lines, not 2**20): a store that
    heard of one line more than a gossip may carry reads them all (the mutant: a
    BadMessageError, so none, and rank 0)."""
    count = versions.RETIRED_WIRE_LIMIT + 1
    storage = MemoryStorage("always")
    storage.set_meta(versions.RETIRED_KNOWN_META, versions.encode_retired(
        {f"n1~{i:012x}": i for i in range(1, count + 1)}))
    assert versions._highest_own_rank(storage, "n1") == count


def test_a_refused_replica_put_goes_to_the_fallback_and_late_refusals_are_counted() -> None:
    """``PutCoordinator.on_failed__mutmut_4``, ``_6``, ``_17`` (a refusal of no put in
    progress read as one: an AttributeError), ``_23``, ``_28`` (``late-acks``,
    ``replica-put-failed`` set to 1, not counted), ``_11`` (the hint not passed to
    ``ack_counts``: a fallback's refusal ignored), ``_34`` (the fallback's refusal
    named without the target it stood in for): four nodes, N = 3, W = 3, no replica
    put delivered; a refusal of an unknown put; the second target's refusal (its
    part sent on to the fallback, with a hint); that target's refusal again (late);
    the fallback's refusal: no fallback left, the put fails naming the last
    refusal of the target's part."""
    driver = Driver.start(make_config(4, n=3, r=1, w=3))
    driver.drop_filter = lambda src, dest, message: isinstance(message, ReplicaPut)
    first, second, _, fallback = driver.nodes["n1"].preference_list(b"k")[:4]
    node = driver.nodes[first]
    assert node.receive(driver.now, second, ReplicaPutFailed(999, b"k", error="x")) == []
    driver.request(first, PutRequest(1, b"k", b"v", b"", 3, "c1"))
    driver.deliver_all()
    (op_id,) = node.puts.coordinations
    out = node.receive(driver.now, second, ReplicaPutFailed(op_id, b"k", error="disk full"))
    assert [(e.dest, e.message.hint) for e in out if isinstance(e, Send)
            and isinstance(e.message, ReplicaPut)] == [(fallback, second)]
    assert node.receive(driver.now, second, ReplicaPutFailed(op_id, b"k", error="again")) == []
    assert (node.stats["late-acks"], node.stats["replica-put-failed"]) == (2, 1)
    out = node.receive(driver.now, fallback,
                       ReplicaPutFailed(op_id, b"k", hint=second, error="disk full"))
    assert node.stats["replica-put-failed"] == 2
    (reply,) = [e for e in out if isinstance(e, Reply)]
    assert isinstance(reply.error, QuorumError)
    assert f"quorum; failed: {fallback} for {second}: disk full (the" in str(reply.error)


def test_the_highest_own_rank_is_of_the_nodes_own_prefix_trusted_below_two_to_the_62(
        ) -> None:
    """``_highest_own_rank__mutmut_19`` (``partition("~")``: a node name holding a
    ``~`` cut at its first one, so node ``a~b``'s lifetimes read as node ``a``'s),
    ``_23`` (``rank <= 2**62``: the bound itself trusted)."""
    storage = MemoryStorage("always")
    storage.set_meta(versions.RETIRED_KNOWN_META, versions.encode_retired(
        {"a~b~0123456789ab": 7, "a~0123456789ab": 5, "n1~0123456789ab": 2 ** 62}))
    assert versions._highest_own_rank(storage, "a~b") == 7
    assert versions._highest_own_rank(storage, "a") == 5
    assert versions._highest_own_rank(storage, "n1") == 0


def _ended_early_hints(suspected: int) -> tuple[list[tuple[str, str]], list[str]]:
    """Six nodes, N = 3, W = 1; the key's third target suspected by the coordinator
    (the first target) before the put (its share sent to the first fallback,
    hinted), and, if ``suspected`` is 2, the second fallback too; no replica put
    delivered; the put (answered at once) ended early. Returns the hinted replica
    puts sent, (node, intended), and the preference list."""
    driver = Driver.start(make_config(6, n=3, r=1, w=1))
    preference = list(driver.nodes["n1"].preference_list(b"k"))
    first, _, third, fallback, passed, _ = preference
    node = driver.nodes[first]
    node.set_suspected({third: math.inf, **({passed: math.inf} if suspected == 2 else {})})
    driver.drop_filter = lambda src, dest, message: isinstance(message, ReplicaPut)
    driver.request(first, PutRequest(1, b"k", b"v", b"", 1, "c1"))
    driver.deliver_all()
    assert 1 in driver.replies
    (op_id,) = node.puts.coordinations
    assert node.puts.coordinations[op_id].sent_to[third] == fallback
    out = node.puts.end_early(driver.now + 0.01, op_id)
    assert out[-1] == CancelTimer(PutTimeout(op_id))
    return [(e.dest, e.message.hint) for e in out if isinstance(e, Send)
            and isinstance(e.message, ReplicaPut)], preference


def test_a_put_ended_early_hints_only_its_silent_targets_sent_the_write_themselves(
        ) -> None:
    """``PutCoordinator._hint_silent__mutmut_2`` to ``_8``, ``_11``, ``_17``, ``_20``,
    ``_26`` (the skip's clauses inverted or joined otherwise, ``break`` for
    ``continue``, the times or the effect None, ``initial=True``): a put ended early
    (the lingering table's bound, session 33's review) hints only the second
    target's share, to the next fallback left: not the coordinator's (acked), nor
    the suspected third target's (at a fallback already: ``_2``, ``_3`` hinted it
    again); with the second fallback suspected too, to the third (``_11``, ``_20``
    lost the time the suspicion is read at)."""
    hints, (_, second, _, _, passed, last) = _ended_early_hints(1)
    assert hints == [(passed, second)]
    hints, _ = _ended_early_hints(2)
    assert hints == [(last, second)]


def test_a_merge_under_a_policy_keeps_the_higher_floor() -> None:
    """``merge__mutmut_38``, ``_40`` (the merged record's client floor left out, or
    kept only ``if policy and False``: 0): two concurrent client-vclock copies under
    a truncation policy, floors 3 and 5, merge to floor 5 either way round (the
    counter below which a client's pairs were cut stays known: session 16's
    review's floor)."""
    policy = Truncation(threshold=3, max_pairs=4, young_s=0.0, old_s=86400.0)
    mode = ClockMode.CLIENT_VCLOCK
    a = Record(mode, (Sibling(b"a", VClock((("alice", 4),))),), truncation=policy,
               floor=3)
    b = Record(mode, (Sibling(b"b", VClock((("bob", 6),))),), truncation=policy,
               floor=5)
    assert versions.merge(a, b).floor == versions.merge(b, a).floor == 5


def test_a_lifetime_rank_of_a_clock_out_of_range_is_its_floors_alone() -> None:
    """``lifetime_rank__mutmut_10`` (``clock <= 2**62`` ms: the bound itself taken),
    ``_11`` (an untrusted clock read as 1 ms, not 0): a negative, not finite or too
    large ``now`` ranks by the floors alone (here 0, or 7)."""
    bound = 2.0 ** 62 / 1000.0
    assert bound * 1000.0 == 2.0 ** 62
    assert [versions.lifetime_rank(now, 0) for now in (-1.0, math.nan, math.inf, bound)] == [
        0, 0, 0, 0]
    assert versions.lifetime_rank(bound, 7) == 7
    assert versions.lifetime_rank(1.5, 0) == 1500


def test_a_guessed_gets_failure_names_the_guess_word_for_word() -> None:
    """``_named__mutmut_69`` (the guess's clause ``"XX...XX"``: the cluster test,
    ``test_guessed_ring_review.py``, matches its middle only): a guessed ring's get
    that no member answered names them and the guess."""
    coordination = GetCoordination(7, b"k", 1, ("n1", "n2", "n3"), (), ReplyTo(1), 10.0,
                                   used={"n1", "n2", "n3"}, guessed=True)
    assert _named(coordination, set()) == [
        "no answer from n1, n2, n3",
        "this node's serving ring is a guess (its store replaced while a membership change "
        "moves ranges): every member asked, no reply counts until each one answered"]


def test_a_guessed_get_asks_the_members_believed_reachable_and_a_reap_check_the_targets(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """``GetCoordinator.start__mutmut_9``, ``_10`` (``reachable(None, now)``,
    ``reachable(node, None)``: every member of the guess asked, a suspected one too)
    ``_73`` (a change's groups kept for a guessed get, ``guessed and False``), ``_116``
    (the timer set only for a get that ended at once: a timeout of the run) and
    ``_5`` (the guess taken for a reap check too, ``internal and False``): four
    nodes, N = 3, n1's serving ring a guess of all four (``quorum.guessed`` stubbed;
    session 51's data probe), n1 suspecting one of the key's top N. A client's get
    asks the members up, every reply uncounted until all answered; a reap check
    (internal) asks the key's top N, as on a known ring."""
    driver = Driver.start(make_config(4, n=3, r=1, w=1))
    node = driver.nodes["n1"]
    members = ("n1", "n2", "n3", "n4")
    monkeypatch.setattr(node.gets.quorum, "guessed", lambda: members)
    change = (("n1", "n2", "n3"), ("n2", "n3", "n4"))  # (a change's groups: unread)
    monkeypatch.setattr(node.gets.quorum, "groups", lambda key, **_: change)
    top = tuple(node.gets.quorum.split(b"k")[0])
    suspected = next(name for name in top if name != "n1")  # (the members up then differ from it)
    node.set_suspected({suspected: math.inf})
    out = node.gets.start(driver.now, GetRequest(1, b"k", 1, "c1"), ReplyTo(1))
    (coordination,) = node.gets.coordinations.values()
    up = tuple(name for name in members if name != suspected)
    assert coordination.guessed and coordination.targets == up and coordination.groups == ()
    assert sorted(e.dest for e in out if isinstance(e, Send)) == [n for n in up if n != "n1"]
    assert [e.timer for e in out if isinstance(e, SetTimer)] == [
        GetTimeout(coordination.op_id)]  # (waiting: ``_116`` set none)
    node.gets.coordinations.clear()
    node.gets.start(driver.now, GetRequest(2, b"k", 1, "c1"), ReplyTo(0, internal=True))
    (check,) = node.gets.coordinations.values()
    assert not check.guessed and check.targets == top and check.groups == change


def _bookkeeping(pending: int) -> tuple[PutCoordinator, bytes]:
    """A 3-node cluster's n1 coordinator (``max_pending_bytes`` = ``pending``) and an
    encoded empty record of its mode (the bookkeeping below counts bytes only)."""
    driver = Driver.start(make_config(3, max_value_bytes=1, max_pending_bytes=pending))
    puts = driver.nodes["n1"].puts
    return puts, encode_record(Record(puts.mode))


def _ended(op_id: int, record: bytes) -> PutCoordination:
    """An answered put of key ``k<op_id>`` whose targets n2, n3, n4 all acked (the
    coordinator not among them: its failed write names no own copy)."""
    return PutCoordination(op_id, b"k%d" % op_id, record, b"", 2, ("n2", "n3", "n4"), (),
                           ReplyTo(op_id), 10.0, acks={"n2", "n3", "n4"}, replied=True)


def test_the_ended_puts_held_count_their_bytes_and_keep_the_newest_within_the_bound() -> None:
    """``PutCoordinator.held_ended`` (session 50: the answered puts whose answer waits
    for their own write) and its byte count, which the s57-mutrest selection reached
    only through whole clusters, counted alone: ``_keep_ended__mutmut_3``, ``_4``,
    ``_10`` (an answer kept again not taken out first: its bytes counted twice),
    ``_7``, ``_8``, ``_11``, ``_14``, ``_15`` (the count set, added to, off by one,
    or lowered), ``_16`` (``or``: all but one let go at once), ``_17`` (``>=``: a
    count at the bound let go), ``_18`` (``>= 1``: the last one let go too), ``_19``
    (``> 2``: two kept over the bound); ``answers_released__mutmut_2`` (the count
    left at 1); ``local_write_failed__mutmut_3`` (``|``: a failed answer held by no
    ended put popped, a KeyError; the others handed on too), ``_6``, ``_7`` (the
    count of the ones left set to the failed one's, or raised); ``__init____mutmut_29``
    (the count starting at 1)."""
    puts, record = _bookkeeping(0)
    size = len(record)
    puts.config = make_config(3, max_value_bytes=1, max_pending_bytes=3 * size)
    for op_id in (1, 2, 3):
        puts._keep_ended(_ended(op_id, record))
    assert (list(puts.held_ended), puts.held_ended_bytes) == (
        [("", 1), ("", 2), ("", 3)], 3 * size)
    puts._keep_ended(_ended(2, record))  # the same answer kept again: counted once
    assert (list(puts.held_ended), puts.held_ended_bytes) == (
        [("", 1), ("", 3), ("", 2)], 3 * size)
    puts._keep_ended(_ended(4, record))  # over the bound: the oldest let go
    assert (list(puts.held_ended), puts.held_ended_bytes) == (
        [("", 3), ("", 2), ("", 4)], 3 * size)
    puts.local_write_failed(1.0, StorageError("disk full"),
                            frozenset({("", 3), ("", 99)}))
    assert (list(puts.held_ended), puts.held_ended_bytes) == ([("", 2), ("", 4)], 2 * size)
    puts.answers_released()
    assert (puts.held_ended, puts.held_ended_bytes) == ({}, 0)
    puts.config = make_config(3, max_value_bytes=1, max_pending_bytes=size - 1)
    puts._keep_ended(_ended(5, record))
    puts._keep_ended(_ended(6, record))  # a lone one over the bound stays
    assert (list(puts.held_ended), puts.held_ended_bytes) == ([("", 6)], size)


def test_the_unpersisted_records_count_their_bytes_and_keep_the_newest_within_the_bound(
        ) -> None:
    """``PutCoordinator.unpersisted`` (session 50: a put's record whose own write
    failed, kept for the key's next mint) and its byte count, alone:
    ``_remember_unpersisted__mutmut_1``, ``_2`` (a key remembered again not taken out
    first: counted twice), ``_6``, ``_7`` (its old bytes set or added), ``_17``,
    ``_18`` (the count set to the last record, or lowered), ``_19`` (``or``: all
    but one forgotten at once), ``_20`` (``>=``: a count at the bound forgotten);
    ``__init____mutmut_26`` (the count starting at 1)."""
    puts, record = _bookkeeping(0)
    size = len(record)
    puts.config = make_config(3, max_value_bytes=1, max_pending_bytes=2 * size)
    puts._remember_unpersisted(b"a", record)
    puts._remember_unpersisted(b"a", record)  # merged with the one kept: counted once
    assert (list(puts.unpersisted), puts.unpersisted_bytes) == ([b"a"], size)
    puts._remember_unpersisted(b"b", record)
    assert (list(puts.unpersisted), puts.unpersisted_bytes) == ([b"a", b"b"], 2 * size)
    assert puts.stats["unpersisted-forgotten"] == 0
    puts._remember_unpersisted(b"c", record)
    assert (list(puts.unpersisted), puts.unpersisted_bytes) == ([b"b", b"c"], 2 * size)
    assert puts.stats["unpersisted-forgotten"] == 1


def _own_failed(deadline: float, fallbacks: tuple[str, ...]
                ) -> tuple[PutCoordinator, PutCoordination, list[Effect]]:
    """n1 of six nodes coordinated an answered put (op 7, N = W = 3, PW = 2, patience
    2) whose targets n1, n2, n3 all acked; n4 is suspected at 1.0; its own write then
    fails at 1.0 (the answer was held behind it): ``local_write_failed``'s effects."""
    puts, record = _bookkeeping(0)
    puts.quorum.suspect("n4", 1.0)
    targets = ("n1", "n2", "n3")
    ended = PutCoordination(7, b"k", record, b"ctx", 3, targets, fallbacks, ReplyTo(7),
                            deadline, sent_to={t: t for t in targets}, acks=set(targets),
                            used=set(targets), replied=True, pw=2,
                            primary_acks=set(targets), patience=2.0)
    puts._keep_ended(ended)
    return puts, ended, puts.local_write_failed(1.0, StorageError("disk full"),
                                                frozenset({("", 7)}))


def test_an_ended_put_whose_own_write_failed_goes_on_at_a_fallback_with_its_timer() -> None:
    """``_ended_write_failed`` (session 51's review) going on: n1's part sent to n5 (n4
    suspected) with a hint, the put back among the coordinations, unanswered, its
    answer left to later, a timer at ``now + replica_timeout * patience``. Kills
    ``_ended_write_failed__mutmut_19`` (n1's primary ack kept), ``_32`` (``>`` PW: 2
    primaries left of PW = 2 failed), ``_35``, ``_48`` (the fallback asked at time
    None: a TypeError on suspected n4), ``_40`` (``replied = None``), ``_47`` (the
    failure's text None), ``_57``, ``_58``, ``_61``, ``_66``, ``_67`` (the timer:
    None, no time, op None, ``now -``, ``/ patience``)."""
    puts, ended, effects = _own_failed(1000.0, ("n4", "n5"))
    timeout = puts.config.replica_timeout
    assert effects == [Send("n5", ReplicaPut(7, b"k", ended.record, hint="n1")),
                       SetTimer(PutTimeout(7), 1.0 + timeout * 2.0)]
    assert puts.coordinations == {7: ended} and ended.replied is False
    assert puts.taken_back == {7}
    assert (ended.acks, ended.primary_acks) == ({"n2", "n3"}, {"n2", "n3"})
    assert ended.failures == {"n1": "n1 (this node's own write): disk full"}
    assert (ended.failed_at, ended.sent_to["n1"]) == ({"n1": "n1"}, "n5")


@pytest.mark.parametrize(("deadline", "fallbacks"), [(1.0, ("n4", "n5")), (1000.0, ())])
def test_an_ended_put_whose_own_write_failed_at_its_deadline_or_with_no_fallback_fails(
        deadline: float, fallbacks: tuple[str, ...]) -> None:
    """At its deadline (``now`` equal to it) with a fallback left, and before it with
    none: a QuorumError (``replicas_failed``) naming the own write, nothing sent.
    Kills ``_ended_write_failed__mutmut_27``, ``_28`` (the clauses joined by ``or``:
    the deadline passed, a fallback left), ``_30`` (``<=`` the deadline), ``_29``
    (``now < deadline or ...``: no fallback, and the put went on)."""
    puts, ended, effects = _own_failed(deadline, fallbacks)
    assert len(effects) == 1 and isinstance(effects[0], Reply), effects
    error = effects[0].error
    assert isinstance(error, QuorumError) and error.replicas_failed, effects
    assert "n1 (this node's own write): disk full" in str(error)
    assert puts.coordinations == {} and ended.failures.keys() == {"n1"}


def test_refused_parts_go_to_the_next_fallback_until_the_quorum_is_lost() -> None:
    """An unanswered put (op 8, W = 2 of n1, n2, n3; n3's part at fallback n4; n1
    acked; n5 suspected) refused three times: by n2 (its part to n6, n2 suspected,
    ``failed_at`` n2), by n4 for n3 (no fallback left, W still reachable: nothing),
    by n6 for n2 (n2 and n3 lost: a QuorumError, the timer cancelled). Kills
    ``_part_failed__mutmut_2``, ``_3`` (``failed_at`` None, or the target for n4),
    ``_9``, ``_23`` (the fallback asked at time None: a TypeError on suspected n5),
    ``_14``, ``_16`` (n2 not suspected), ``_36``, ``_37`` (``replied`` None or
    False once failed); ``_quorum_lost__mutmut_2`` (``or``: every refused target
    not acked counted lost, n2 though at n6: lost at n4's refusal),
    ``_4`` (``and``: a part refused at a
    fallback not counted), ``_6``, ``_8`` (``not in``, ``!=``: n2, handed to n6,
    counted lost at once), ``_7``, ``_9`` (``failed_at.get(None)``,
    ``sent_to.get(None)``: n3 refused at n4 not counted)."""
    puts, record = _bookkeeping(0)
    puts.config = make_config(6)
    puts.quorum.suspect("n5", 1.0)
    coordination = PutCoordination(
        8, b"k", record, b"ctx", 2, ("n1", "n2", "n3"), ("n4", "n5", "n6"), ReplyTo(8),
        1000.0, sent_to={"n1": "n1", "n2": "n2", "n3": "n4"}, hints_sent={"n4": "n3"},
        acks={"n1"}, used={"n1", "n2", "n3", "n4"}, primary_acks={"n1"})
    puts.coordinations[8] = coordination
    effects = puts.on_failed(1.0, "n2", ReplicaPutFailed(8, b"k", error="disk full"))
    assert effects == [Send("n6", ReplicaPut(8, b"k", record, hint="n2"))]
    assert coordination.failed_at == {"n2": "n2"} and not puts.quorum.reachable("n2", 1.0)
    assert puts.on_failed(1.0, "n4", ReplicaPutFailed(8, b"k", error="full",
                                                      hint="n3")) == []
    assert coordination.failed_at == {"n2": "n2", "n3": "n4"}
    effects = puts.on_failed(1.0, "n6", ReplicaPutFailed(8, b"k", error="full", hint="n2"))
    assert effects[0] == CancelTimer(PutTimeout(8)) and len(effects) == 2
    assert isinstance(effects[1], Reply) and isinstance(effects[1].error, QuorumError)
    assert puts.coordinations == {} and coordination.replied is True


def _going_on(op_id: int, record: bytes, w: int, acks: set[str], *, replied: bool = False,
              tombstone: bytes = b"") -> PutCoordination:
    """A put of ``k<op_id>`` in progress at n1 (targets n1, n2, n3, each sent its own
    write; fallbacks n4, n5), ``acks`` acknowledged."""
    targets = ("n1", "n2", "n3")
    return PutCoordination(op_id, b"k%d" % op_id, record, b"ctx", w, targets, ("n4", "n5"),
                           ReplyTo(op_id), 1000.0, sent_to={t: t for t in targets},
                           used=set(targets), acks=set(acks), primary_acks=set(acks),
                           replied=replied, tombstone=tombstone)


def test_a_failed_own_write_takes_back_only_the_unanswered_and_the_named_answers() -> None:
    """``local_write_failed`` over four puts at n1 (n4 suspected): op 3 answered before
    (not among the failed answers: its own ack stays), op 4 whose own part an earlier
    failure handed to n5 (skipped), op 1 answered (its answer failed) whose other
    acks still reach W = 1 (answered again, its part to n5, nothing taken back), op 2
    likewise short of W = 2 (its request id left to a later answer). Kills
    ``local_write_failed__mutmut_18`` (``in``: op 3's ack taken), ``_19``, ``_32``
    (``break``: ops 1 and 2 left), ``_39`` (the fallback asked at time None: a
    TypeError on suspected n4), ``_48`` (``or``: op 2's id dropped), ``_49``, ``_50``
    (op 1's id kept: answered twice)."""
    puts, record = _bookkeeping(0)
    puts.config = make_config(5)
    puts.quorum.suspect("n4", 1.0)
    first = _going_on(3, record, 1, {"n1", "n2"}, replied=True)
    handed = _going_on(4, record, 2, {"n2"})
    handed.sent_to["n1"], handed.hints_sent["n5"] = "n5", "n1"
    again, short = _going_on(1, record, 1, {"n1", "n2"}, replied=True), _going_on(
        2, record, 2, {"n1", "n2"}, replied=True)
    for coordination in (first, handed, again, short):
        puts.coordinations[coordination.op_id] = coordination
    effects = puts.local_write_failed(1.0, StorageError("disk full"),
                                      frozenset({("", 1), ("", 2)}))
    assert first.acks == {"n1", "n2"} and handed.acks == {"n2"}
    assert [e for e in effects if isinstance(e, Send)] == [
        Send("n5", ReplicaPut(1, b"k1", record, hint="n1")),
        Send("n5", ReplicaPut(2, b"k2", record, hint="n1"))]
    assert [e.request_id for e in effects if isinstance(e, Reply)] == [1]
    assert (again.replied, short.replied, puts.taken_back) == (True, False, {2})


def test_a_delete_answered_is_reaped_at_once_and_lingers_until_every_ack() -> None:
    """``_check`` of a delete (``delete_mode = "immediate"``) reaching W = 1: answered,
    its tombstone reaped at the targets at once, lingering; every ack in: it ends and
    no longer lingers. Kills ``_check__mutmut_17``, ``_18``, ``_19`` (the reap's key,
    tombstone or targets None), ``_59`` (``not in``: an answered put in progress not
    lingering), ``_30`` (``discard(None)``: an ended put still lingering)."""
    driver = Driver.start(make_config(3, delete_mode="immediate"))
    puts = driver.nodes["n1"].puts
    record = encode_record(Record(puts.mode))
    delete = _going_on(9, record, 1, {"n1"}, tombstone=record)
    puts.coordinations[9] = delete
    effects = puts._check(delete, 2.0)
    assert SetTimer(ReapTombstone(b"k9", record, ("n1", "n2", "n3")), 2.0) in effects
    assert delete.replied and 9 in puts.lingering
    delete.acks |= {"n2", "n3"}
    puts._check(delete, 3.0)
    assert 9 not in puts.coordinations and 9 not in puts.lingering


@pytest.mark.parametrize("own_failed", [False, True])
def test_an_answered_put_past_the_lingering_limit_hints_its_silent_targets_at_once(
        own_failed: bool) -> None:
    """With no room to linger (``limit`` 0), a put answered (by ``_check``, or again
    by ``local_write_failed``) ends early at once: its silent target n3 (n2 too, by
    the own-write-failed path, its part at n5) hinted to the next fallback not
    suspected at ``now`` (n4 suspected). Kills ``_check__mutmut_61`` (lingering at
    time None), ``_64`` (no way to end it early: a TypeError), and
    ``local_write_failed__mutmut_45`` (``_check`` at time None): the suspected n4
    compared with None, a TypeError."""
    puts, record = _bookkeeping(0)
    puts.config = make_config(5)
    puts.quorum.suspect("n4", 1.0)
    puts.lingering.limit = 0
    put = _going_on(6, record, 1, {"n1", "n2"}, replied=own_failed)
    puts.coordinations[6] = put
    effects = (puts.local_write_failed(1.0, StorageError("disk full"), frozenset({("", 6)}))
               if own_failed else puts._check(put, 1.0))
    assert [e.request_id for e in effects if isinstance(e, Reply)] == [6]
    sends = [(e.dest, e.message.hint) for e in effects if isinstance(e, Send)
             and isinstance(e.message, ReplicaPut)]
    assert sends == ([("n5", "n1")] if own_failed else [("n5", "n3")])
    assert 6 not in puts.coordinations and CancelTimer(PutTimeout(6)) in effects


def test_a_timeout_sends_the_coordinators_failed_part_to_a_fallback_not_suspected() -> None:
    """``on_timeout`` of a put whose own write failed (n1 not acked, its part at
    itself; n4 suspected; n2 acked): n1's part goes to n5, silent n3's to n3 again
    (no fallback left). Kills
    ``on_timeout__mutmut_39`` (the fallback for n1 asked at time None: a TypeError
    on suspected n4), ``_43`` (``is not None``: n1's part skipped while n5 is left)."""
    puts, record = _bookkeeping(0)
    puts.config = make_config(5)
    puts.quorum.suspect("n4", 1.0)
    put = _going_on(5, record, 2, {"n2"})
    puts.coordinations[5] = put
    effects = puts.on_timeout(1.0, PutTimeout(5))
    assert [(e.dest, e.message.hint) for e in effects if isinstance(e, Send)
            and isinstance(e.message, ReplicaPut)] == [("n5", "n1"), ("n3", "")]


def test_a_part_refused_at_its_fallback_then_resent_to_its_target_counts_lost() -> None:
    """``_quorum_lost__mutmut_5`` (``sent_to.get(None)``: only the ``failed_at`` clause
    left): n2's part refused at fallback n4 with none left, then resent to n2 itself
    (a timeout, no fallback), and n3's write failed at n3: W = 2 cannot be reached
    (only n1 left); the mutant counted n2 pending (failed at n4, now at n2)."""
    puts, record = _bookkeeping(0)
    put = _going_on(10, record, 2, {"n1"})
    put.failures = {"n2": "n4 for n2: full", "n3": "n3: full"}
    put.failed_at = {"n2": "n4", "n3": "n3"}
    assert puts._quorum_lost(put)


def test_a_put_of_a_key_remembered_unpersisted_takes_it_out_of_the_count() -> None:
    """``_coordinate__mutmut_20``, ``_21`` (the count set to, or raised by, the record
    taken out): a put through n1 of a key whose record n1 remembered unpersisted (its
    own write failed, session 50) merges that record first and takes its bytes off
    the count."""
    node = Driver.start(make_config(3)).nodes["n1"]
    puts, record = node.puts, encode_record(Record(node.puts.mode))
    puts._remember_unpersisted(b"u", record)
    assert puts.unpersisted_bytes == len(record)
    node.client_request(2.0, PutRequest(2, b"u", b"v2", client_id="bob"))
    assert (puts.unpersisted, puts.unpersisted_bytes) == ({}, 0)


def test_a_reap_forgets_the_unpersisted_record_of_its_key_and_a_write_does_not() -> None:
    """``_written__mutmut_2`` (``if encoded``: a write forgot it, a reap did not),
    ``_4``, ``_5`` (the count set to, or raised by, the record forgotten): the replica
    write listener of session 50's review, called alone."""
    puts, record = _bookkeeping(0)
    puts._remember_unpersisted(b"a", record)
    puts._written(b"a", record)  # a write of the key: the record stays
    assert (list(puts.unpersisted), puts.unpersisted_bytes) == ([b"a"], len(record))
    puts._written(b"a", b"")  # a reap of the key: forgotten
    assert (puts.unpersisted, puts.unpersisted_bytes) == ({}, 0)


def test_a_round_minted_again_keeps_its_deadline() -> None:
    """``_coordinate__mutmut_205`` (``remints == 0 or not replied``: a round minted
    again, unanswered, had its deadline moved to ``now + request_timeout * patience``):
    ``_coordinate`` called alone at 5.0 with a deadline of 5.5, as a first round (the
    deadline raised to 5.0 + ``request_timeout``) and as a round minted once (kept)."""
    puts = Driver.start(make_config(3)).nodes["n1"].puts
    patient = 5.0 + puts.config.request_timeout
    for remints, deadline in ((0, patient), (1, 5.5)):
        puts.coordinations.clear()
        puts._coordinate(5.0, PutRequest(remints + 1, b"r", b"v", client_id="alice"),
                         ReplyTo(remints + 1), 5.5, remints)
        (coordination,) = puts.coordinations.values()
        assert coordination.deadline == deadline, remints
