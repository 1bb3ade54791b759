"""Reaping tombstones: behaviours mutmut found no test pinned (issue 12, section 5;
docs/refinement.md, "Mutation score").

- a node that keeps tombstones (``delete_mode = "keep"``) keeps its tombstone even
  when a peer tells it to reap (no test sent it a Reap before), while a node of
  the safe mode reaps it;
- the safe rule schedules reaps of tombstones only: a get of a live value sends
  no Reap.
"""

from __future__ import annotations

from impl.messages import Reap, delete_request
from impl.versions import TOMBSTONE
from tests.impl.test_node_driver import Driver, make_config, ok_get, ok_put

KEY = b"k"


def _deleted_everywhere(delete_mode: str) -> Driver:
    """k put then deleted on n1, n2, n3 (N = 3 of 3), nothing reaped yet."""
    config = make_config(3, n=3, r=3, w=3, anti_entropy=False, delete_mode=delete_mode,
                         tombstone_grace_s=3600.0)
    driver = Driver.start(config)
    ok_put(driver.put("n1", KEY, b"v1"))
    read = ok_get(driver.get("n1", KEY))
    driver.request("n1", delete_request(999, KEY, read.context, 3, "c1", 1))
    driver.deliver_all()
    assert driver.records(KEY) == {n: [TOMBSTONE] for n in ("n1", "n2", "n3")}
    return driver


def _reap_sent(driver: Driver, to: str) -> None:
    tombstone = driver.storages[to].read(KEY)
    assert tombstone is not None
    driver.handle(to, driver.nodes[to].receive(driver.now, "n2", Reap(KEY, tombstone)))


def test_a_node_that_keeps_tombstones_ignores_a_reap() -> None:
    driver = _deleted_everywhere("keep")
    _reap_sent(driver, "n1")
    assert driver.records(KEY)["n1"] == [TOMBSTONE]


def test_a_safe_node_reaps_its_tombstone_when_told() -> None:
    driver = _deleted_everywhere("safe")
    _reap_sent(driver, "n1")
    assert "n1" not in driver.records(KEY)


def test_a_get_of_a_live_value_schedules_no_reap() -> None:
    """The safe rule reaps tombstones only: a get that saw every target hold the same
    live value sends no Reap (each replica would refuse it, but it is not sent)."""
    config = make_config(3, n=3, r=3, w=3, anti_entropy=False, delete_mode="safe",
                         tombstone_grace_s=1.0)
    driver = Driver.start(config)
    ok_put(driver.put("n1", KEY, b"v1"))
    assert ok_get(driver.get("n1", KEY, r=3)).values == [b"v1"]
    driver.advance(5.0)
    assert not [m for _, _, m in driver.delivered if isinstance(m, Reap)]
    assert driver.records(KEY) == {n: [b"v1"] for n in ("n1", "n2", "n3")}
