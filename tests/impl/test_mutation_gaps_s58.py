"""Behaviours session 58's mutation runs of ``impl/get_coordinator.py``,
``impl/versions.py`` and ``impl/put_coordinator.py`` found no test pinned (issue 12,
section 5; docs/refinement.md, "Mutation rows completed (session 58)"). Each test
names the mutmut mutants it kills (mutmut 3.8.1's numbering on the source of this
session) and how each failed, run in mutmut's copy (``MUTANT_UNDER_TEST``)."""

from __future__ import annotations

from impl import versions
from impl.effects import Reply
from impl.errors import QuorumError
from impl.forwarding import ReplyTo
from impl.get_coordinator import GetCoordination, _named
from impl.messages import HintDelivery, PutRequest, ReplicaPut
from impl.records import ClockMode, Record, Sibling
from impl.timers import HintScan
from spec.vclock import VClock
from tests.impl.test_hint_moved_during_a_read import KEY, _read_with_f_late
from tests.impl.test_node_driver import Driver, make_config, ok_put


def test_a_context_pair_above_the_stored_one_is_stamped_as_the_put() -> None:
    """``apply_put__mutmut_124`` (``node in known or ...``: a pair's stored time
    taken whatever its counter): server-vclock, n1 stores ``{n2: 1}`` stamped 5 s;
    a put with the context ``{n2: 2}`` (a later version of n2 that n1 missed) at
    10 s stamps n2's pair 10 s, as young as the put (session 15's review: the time
    n1 holds is that of an older increment, and truncation would drop first the very
    pair that orders the put after its context); the mutant kept 5 s
    (``(5.0, 6.0) == (10.0, 6.0)``). A context pair n1 holds at the same counter
    keeps its time."""
    stored = Record(ClockMode.SERVER_VCLOCK, (Sibling(b"v1", VClock.of({"n2": 1, "n3": 1},
                                                                       {"n2": 5.0, "n3": 6.0}),
                                                     5.0, "n2"),))
    put = versions.apply_put(stored, VClock.of({"n2": 2, "n3": 1}), b"v2", coordinator="n1",
                             client_id="c", now=10.0)
    (sibling,) = put.siblings
    times = dict(sibling.clock.times)
    assert (times["n2"], times["n3"]) == (10.0, 6.0)
    assert times["n1"] > 10.0 and sibling.clock.counter("n1") == 1


def test_a_put_truncated_alone_keeps_the_records_clock_mode() -> None:
    """``apply_put__mutmut_143`` (``Record(None, ...)`` in the ``per_put`` return: the
    put's record without its clock mode): with ``vclock_truncation = "put"`` the
    record a put returns is of the stored record's mode and holds the value (the
    mutant: ``None is <ClockMode.SERVER_VCLOCK>``)."""
    for mode in (ClockMode.SERVER_VCLOCK, ClockMode.CLIENT_VCLOCK):
        put = versions.apply_put(Record.empty(mode), VClock(), b"v", coordinator="n1",
                                 client_id="c", now=1.0, per_put=True)
        assert put.mode is mode and versions.values(put) == [b"v"]


def test_a_hint_the_coordinator_held_as_its_get_began_is_not_taken_back() -> None:
    """``GetCoordinator.start__mutmut_92`` (``served_record(None, local)``: the
    coordinator's first read of its own copy without its hints of the key):
    six nodes, ``k``'s preference list a, b, c, f, g, h; ``v1`` is held only by a (the
    put's coordinator, W = 1, its replica puts lost) and by b as a hint for h (b, a
    top-N node of ``k``, keeps a hinted replica put apart from its store). A get
    through b at R = 2 (a's and c's answers lost, f's late, g's lost:
    ``_read_with_f_late``) counts b's own read at once; while it waits b hands its
    hint to h (delivered, acknowledged, deleted; h is never asked), then f answers
    empty. Read
    again as it answers, b's copy holds nothing, but its first read held the hint
    (``Replica.served_record``), and a reply is never taken back: ``[b'v1']``. Under
    the mutant the first read lacked the hint: ``[] == [b'v1']`` (an
    answered get reads its hints again, ``_read_own_again``, so only a hint gone
    meanwhile tells the two apart: session 57 left the mutant open)."""
    driver = Driver.start(make_config(6, clock="dvv"))
    a, b, c, f, g, h = driver.nodes["n1"].preference_list(KEY)[:6]
    deliveries = [False]
    driver.drop_filter = lambda src, dest, message: (
        (isinstance(message, ReplicaPut) and message.op_id != 77)
        or (isinstance(message, HintDelivery) and not deliveries[0]))
    ok_put(driver.put(a, KEY, b"v1", w=1))
    raw = driver.storages[a].read(KEY)
    assert raw is not None
    driver.inflight.append((a, b, ReplicaPut(77, KEY, raw, hint=h)))
    driver.deliver_all()
    hint_ids = frozenset(hint.hint_id for hint in driver.storages[b].hints()
                         if hint.key == KEY and hint.intended == h)
    assert len(hint_ids) == 1 and driver.storages[b].read(KEY) is None

    def hand_it_to_h() -> None:
        deliveries[0] = True
        driver.handle(b, driver.nodes[b].fire(driver.now, HintScan(hint_ids)))
        driver.deliver_all()
        assert not any(hint.key == KEY for hint in driver.storages[b].hints())
        assert driver.storages[b].read(KEY) is None

    assert _read_with_f_late(driver, (a, b, c, f, g), hand_it_to_h) == [b"v1"]


def test_a_failed_gets_uncounted_own_read_is_named_not_rebuilt_by_default() -> None:
    """``_named__mutmut_1``, ``_2`` (the default ``own_why`` ``"XXnot rebuiltXX"``,
    ``"NOT REBUILT"``): the phrase its docstring gives, ``n1 (the coordinator's own
    read, not rebuilt)``, when no reason is passed (``on_timeout`` passes
    ``GetCoordinator._own_why``'s; the tests of the reasons passed kept passing);
    a reason passed replaces it."""
    coordination = GetCoordination(7, b"k", 2, ("n1", "n2", "n3"), (), ReplyTo(1), 10.0,
                                   used={"n1", "n2", "n3"}, uncounted=frozenset({"n1"}))
    coordination.replies["n1"] = Record.empty(ClockMode.DVV)
    assert _named(coordination, set()) == [
        "no answer from n2, n3", "not counted: n1 (the coordinator's own read, not rebuilt)"]
    assert _named(coordination, set(), "just rebuilt")[1] == (
        "not counted: n1 (the coordinator's own read, just rebuilt)")


def test_an_uncounted_own_write_with_no_phrase_adds_no_parentheses() -> None:
    """``PutCoordinator._coordinate__mutmut_385``, ``_386`` (``if when or True``, ``else
    "XXXX"``: an empty ``uncounted_when`` phrase printed as `` ()`` or ``XXXX``): n1 of
    3 nodes, its own write uncounted (the hook forced) and ``Node``'s phrase empty (not
    rebuilding, no grace), fails a put at W = 3 at once, "its copy not counted"
    followed by nothing but the 503's own ending, as before session 57;
    ``test_rebuild_grace_put_message.py`` checks only a phrase present (under both
    mutants the strings differ). ``_378`` (the failed part handed on at time None):
    with 5 nodes the own part goes to the first fallback (a timeout of it long past,
    so the failure detector reads the time), which acknowledges, and the put at W = 3
    succeeds (under the mutant a TypeError: ``None < suspected_until``)."""
    driver = Driver.start(make_config(3))
    n1 = driver.nodes["n1"]
    n1.puts.uncounted_own = lambda key, now: True
    key = next(k for k in (b"own%d" % i for i in range(1000))
               if n1.preference_list(k)[0] == "n1")
    (reply,) = [effect for effect in n1.client_request(driver.now, PutRequest(1, key, b"v", w=3))
                if isinstance(effect, Reply)]
    assert isinstance(reply.error, QuorumError)
    assert str(reply.error) == (
        "put reached 0 of W=3 replicas and cannot reach the quorum; failed: n1 (this "
        "node's own write): a replaced disk rebuilding or just rebuilt, its copy not "
        "counted (the other replicas may store it: outcome unknown)")
    driver = Driver.start(make_config(5))
    n1 = driver.nodes["n1"]
    n1.puts.uncounted_own = lambda key, now: True
    key = next(k for k in (b"own%d" % i for i in range(1000))
               if n1.preference_list(k)[0] == "n1")
    fallback = n1.preference_list(key)[3]
    n1.quorum.suspect(fallback, driver.now - 1000.0)  # a timeout long past: available
    ok_put(driver.put("n1", key, b"v", w=3))
    assert driver.storages[fallback].hints()
