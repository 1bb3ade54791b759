"""The failure detector: behaviours mutmut found no test pinned (issue 12, section 5;
docs/refinement.md, "Mutation score").

- phi is the accrual formula itself (Hayashibara et al.: ``-log10(1 - F(elapsed))``,
  F the normal distribution of the observed intervals, population variance), from
  exactly ``min_samples`` intervals on, and from the first instant of silence (0
  at the last arrival itself), over the last ``window`` intervals, two arrivals at
  one instant making one sample; a peer whose phi *reaches* the threshold is
  unavailable;
- a suspicion ends exactly at its retry time, in ``suspicions`` as in
  ``is_suspected``; the wait doubles with each timeout in a row, and news from the
  peer restarts it even after an oracle cleared the suspicions;
- forgetting a node never heard of is a no-op; a bad time given to ``phi`` or to
  ``heard_from`` is refused naming ``now``; bad settings are refused saying why
  (a bool or a string is not a number; the longest wait may equal the first);
- the documented defaults, and a node's detector built from its configuration.
"""

from __future__ import annotations

import itertools
import math
import statistics

import pytest

from impl.failure_detector import FailureDetector
from tests.impl.test_node_driver import make_config


def _expected_phi(arrivals: list[float], now: float, min_std: float = 0.1) -> float:
    intervals = [b - a for a, b in itertools.pairwise(arrivals)]
    mean = statistics.fmean(intervals)
    std = max(statistics.pstdev(intervals), min_std)
    return -math.log10(1.0 - statistics.NormalDist(mean, std).cdf(now - arrivals[-1]))


def _heard(arrivals: list[float], **options: float) -> FailureDetector:
    detector = FailureDetector(**options)  # type: ignore[arg-type]
    for arrival in arrivals:
        detector.heard_from("b", arrival)
    return detector


@pytest.mark.parametrize("now", [6.5, 7.0, 8.5, 10.0])
def test_phi_is_the_accrual_formula(now: float) -> None:
    arrivals = [0.0, 1.0, 3.0, 6.0]  # intervals 1, 2, 3: mean 2, variance 2/3
    detector = _heard(arrivals, min_samples=3)
    assert detector.phi("b", now) == pytest.approx(_expected_phi(arrivals, now), rel=1e-9)


def test_phi_counts_from_the_first_instant_of_silence() -> None:
    arrivals = [0.0, 0.1, 0.2, 0.3]  # a peer heard every 100 ms
    detector = _heard(arrivals, min_samples=3)
    assert detector.phi("b", 0.3) == 0.0  # just heard: no silence yet
    assert detector.phi("b", 0.2) == 0.0  # before the last arrival: no evidence
    assert detector.phi("b", 0.35) == pytest.approx(_expected_phi(arrivals, 0.35))
    assert detector.phi("b", 0.35) > 0.0
    # half a second of silence, five beats missed (min_std 0.1 s floors the deviation)
    assert detector.phi("b", 0.8) == pytest.approx(_expected_phi(arrivals, 0.8))
    assert detector.phi("b", 0.8) > 4.0


def test_phi_needs_exactly_min_samples_intervals() -> None:
    detector = _heard([0.0, 1.0, 2.0], min_samples=2)
    assert detector.phi("b", 10.0) > 8.0
    assert _heard([0.0, 1.0], min_samples=2).phi("b", 10.0) == 0.0


def test_a_suspicion_ends_at_its_retry_time_everywhere() -> None:
    detector = FailureDetector(retry_after=1.0)
    detector.timed_out("b", 10.0)
    assert detector.suspicions(10.5) == {"b": 11.0}
    assert detector.suspicions(11.0) == {}
    assert not detector.is_suspected("b", 11.0)


def test_forgetting_a_node_never_heard_of_is_a_no_op() -> None:
    detector = FailureDetector()
    detector.forget("nobody")
    assert detector.record("nobody") is None


def test_phi_refuses_a_bad_time_naming_now() -> None:
    detector = _heard([0.0, 1.0, 2.0, 3.0], min_samples=3)
    with pytest.raises(ValueError, match=r"^now must be a finite number"):
        detector.phi("b", math.nan)


def test_the_wait_doubles_with_each_timeout_in_a_row() -> None:
    detector = FailureDetector(retry_after=1.0, max_retry_after=30.0)
    for now, until in ((0.0, 1.0), (1.0, 3.0), (3.0, 7.0), (7.0, 15.0), (15.0, 31.0)):
        detector.timed_out("b", now)
        assert detector.suspicions(now) == {"b": min(until, now + 30.0)}


def test_news_from_a_peer_restarts_the_backoff_after_an_oracle_cleared_it() -> None:
    """``set_suspected`` clears the suspicions, not the count of timeouts in a row;
    a message from the peer then clears that count too (the hot path of
    ``heard_from`` may skip only a peer with neither)."""
    detector = FailureDetector(retry_after=1.0, max_retry_after=30.0, phi_threshold=None)
    detector.timed_out("b", 0.0)
    detector.timed_out("b", 1.0)
    detector.set_suspected({})
    detector.heard_from("b", 5.0)
    detector.timed_out("b", 6.0)
    assert detector.suspicions(6.0) == {"b": 7.0}


def test_phi_keeps_the_last_window_intervals() -> None:
    detector = _heard([0.0, 1.0, 3.0, 6.0], window=2, min_samples=2)  # keeps 2 and 3
    assert detector.phi("b", 9.0) == pytest.approx(_expected_phi([1.0, 3.0, 6.0], 9.0))


def test_two_arrivals_at_one_instant_are_one_sample() -> None:
    once = _heard([0.0, 1.0, 3.0, 6.0], min_samples=3)
    twice = _heard([0.0, 1.0, 3.0, 3.0, 6.0, 6.0], min_samples=3)
    assert twice.phi("b", 9.0) == once.phi("b", 9.0)


def test_heard_from_refuses_a_bad_time_naming_now() -> None:
    with pytest.raises(ValueError, match=r"^now must be a finite number"):
        FailureDetector().heard_from("b", math.inf)


def test_a_peer_whose_phi_reaches_the_threshold_is_unavailable() -> None:
    arrivals = [0.0, 1.0, 3.0, 6.0]
    reached = _heard(arrivals, min_samples=3).phi("b", 9.0)
    detector = _heard(arrivals, min_samples=3, phi_threshold=reached)
    assert not detector.is_available("b", 9.0)
    assert detector.is_available("b", 8.0)


def test_the_documented_defaults() -> None:
    """retry after 1 s, at most 30 s, phi threshold 8, 100 intervals kept, phi from
    the third interval on."""
    detector = FailureDetector()
    detector.timed_out("b", 0.0)
    assert detector.suspicions(0.0) == {"b": 1.0}
    for _ in range(10):
        detector.timed_out("b", 0.0)
    assert detector.suspicions(0.0) == {"b": 30.0}
    arrivals = [float(t) for t in range(150)]
    beats = _heard(arrivals)
    record = beats.record("b")
    assert record is not None and len(record.intervals) == 100
    assert _heard([0.0, 1.0, 2.0]).phi("b", 50.0) == 0.0  # two intervals: no phi yet
    assert _heard([0.0, 1.0, 2.0, 3.0]).phi("b", 50.0) > 8.0
    at_eight = next(t / 100 for t in range(15000, 16000)
                    if beats.phi("b", t / 100) >= 8.0)
    assert not beats.is_available("b", at_eight)
    assert beats.is_available("b", at_eight - 0.01)


def test_a_nodes_detector_follows_its_configuration() -> None:
    """``for_node``: suspicion for ``suspicion_timeout`` seconds, doubling up to eight
    gossip intervals."""
    config = make_config(3, suspicion_timeout=3.0, gossip_interval=2.0)
    detector = FailureDetector.for_node(config)
    for now, wait in ((0.0, 3.0), (10.0, 6.0), (20.0, 12.0), (40.0, 16.0), (60.0, 16.0)):
        detector.timed_out("b", now)
        assert detector.suspicions(now) == {"b": now + wait}


@pytest.mark.parametrize(("options", "message"), [
    ({"retry_after": 0.0}, "retry_after must be > 0.0, got 0.0"),
    ({"retry_after": 2.0, "max_retry_after": 1.0}, "max_retry_after must be >= 2.0, got 1.0"),
    ({"retry_after": "1"}, "retry_after must be a finite number, got '1'"),
    ({"retry_after": True}, "retry_after must be a finite number, got True"),
    ({"phi_threshold": 0.0}, "phi_threshold must be > 0.0, got 0.0"),
    ({"window": 1}, "window must be an int >= 2, got 1"),
    ({"min_samples": 0}, "min_samples must be an int in [1, window], got 0"),
    ({"min_std": 0.0}, "min_std must be > 0.0, got 0.0"),
    ({"window": "3"}, "window must be an int >= 2, got '3'"),
    ({"min_samples": True}, "min_samples must be an int in [1, window], got True"),
])
def test_bad_settings_are_refused_saying_why(options: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError) as refused:
        FailureDetector(**options)  # type: ignore[arg-type]
    assert str(refused.value) == message


def test_a_phi_threshold_below_one_is_a_setting() -> None:
    assert FailureDetector(phi_threshold=0.5).phi_threshold == 0.5


def test_phi_from_one_interval_is_a_setting() -> None:
    assert _heard([0.0, 1.0], min_samples=1).phi("b", 10.0) > 8.0


def test_the_longest_wait_may_equal_the_first() -> None:
    detector = FailureDetector(retry_after=2.0, max_retry_after=2.0)
    detector.timed_out("b", 0.0)
    detector.timed_out("b", 2.0)
    assert detector.suspicions(2.0) == {"b": 4.0}


def test_an_oracle_clears_the_suspicions_it_does_not_name() -> None:
    """``set_suspected__mutmut_1`` (session 46; a cleared suspicion set to ``""`` for
    None): a peer suspected by a timeout and left out of ``set_suspected`` is no
    longer suspected, and ``suspicions`` names only the oracle's."""
    detector = FailureDetector(phi_threshold=None)
    detector.timed_out("n2", 1.0)
    assert detector.is_suspected("n2", 1.5)
    detector.set_suspected({"n3": math.inf})
    assert not detector.is_suspected("n2", 1.5) and detector.is_suspected("n3", 1.5)
    assert detector.suspicions(1.5) == {"n3": math.inf}
    assert detector.is_available("n2", 1.5)


@pytest.mark.parametrize("phi_threshold", [None, 8.0])
def test_heard_from_refuses_minus_infinity_on_its_hot_path_too(
        phi_threshold: float | None) -> None:
    """``heard_from__mutmut_7`` (session 46; ``-math.inf <= now`` in the inlined hot
    path): minus infinity, at a fresh detector (whose latest input is minus infinity)
    and without phi accrual, returned with nothing said; it is refused as any
    infinite time is."""
    with pytest.raises(ValueError, match=r"^now must be a finite number"):
        FailureDetector(phi_threshold=phi_threshold).heard_from("b", -math.inf)
