"""Quorums, forwarding, sloppy quorum and hinted handoff, read repair, crashes.

Each check that guards a property is also run against a seeded broken variant
(a mutant patched in with monkeypatch) to show that it can fail.
"""

from __future__ import annotations

import pytest

import impl.put_coordinator as put_coordinator_module
from impl.effects import Effect
from impl.errors import QuorumError
from impl.handoff import HintedHandoff
from impl.messages import Forward, HintAck, HintDelivery, ReadRepair, ReplicaPut, ReplicaPutAck
from impl.put_coordinator import PutCoordination, ack_counts
from impl.timers import HintScan
from tests.impl.test_node_driver import Driver, failed, make_config, ok_get, ok_put

KEY = b"cart"


def top_and_rest(driver: Driver, key: bytes = KEY) -> tuple[list[str], list[str]]:
    preference = list(driver.nodes["n1"].preference_list(key))
    n = driver.config.n
    return preference[:n], preference[n:]


# ------------------------------------------------------------------ quorums


def test_put_fails_without_w_replicas_under_a_strict_quorum() -> None:
    driver = Driver.start(make_config(sloppy_quorum=False))
    top, _ = top_and_rest(driver)
    driver.down.update(top[1:])
    error = failed(driver.put(top[0], KEY, b"v"))
    assert isinstance(error, QuorumError)
    assert (error.needed, error.got) == (2, 1)


def test_put_with_w1_succeeds_alone() -> None:
    driver = Driver.start(make_config(sloppy_quorum=False))
    top, _ = top_and_rest(driver)
    driver.down.update(top[1:])
    ok_put(driver.put(top[0], KEY, b"v", w=1))


def test_w_override_raises_the_quorum() -> None:
    driver = Driver.start(make_config(sloppy_quorum=False))
    top, _ = top_and_rest(driver)
    driver.down.add(top[2])
    ok_put(driver.put(top[0], KEY, b"v"))  # W=2 reachable
    assert isinstance(failed(driver.put(top[0], KEY, b"v", w=3)), QuorumError)


def test_get_fails_without_r_replies_and_r_override() -> None:
    driver = Driver.start(make_config(sloppy_quorum=False))
    top, _ = top_and_rest(driver)
    ok_put(driver.put(top[0], KEY, b"v", settle=0.5))
    driver.down.update(top[1:])
    assert isinstance(failed(driver.get(top[0], KEY)), QuorumError)
    assert ok_get(driver.get(top[0], KEY, r=1)).values == [b"v"]


def test_put_is_acknowledged_only_after_w_acks(monkeypatch: pytest.MonkeyPatch) -> None:
    """The ack count check, and a mutant that acknowledges after one ack."""
    def run() -> bool:
        driver = Driver.start(make_config(sloppy_quorum=False))
        top, _ = top_and_rest(driver)
        driver.drop_filter = lambda src, dest, m: isinstance(m, ReplicaPutAck)
        reply = driver.put(top[0], KEY, b"v")
        return reply.error is None

    assert not run()
    monkeypatch.setattr(put_coordinator_module, "put_quorum_reached",
                        lambda coordination: len(coordination.acks) >= 1)
    assert run(), "the mutant acknowledges with one ack: the check catches it"


def test_acks_are_counted_once_per_replica_even_when_duplicated() -> None:
    driver = Driver.start(make_config(sloppy_quorum=False, w=3))
    top, _ = top_and_rest(driver)
    driver.down.add(top[2])
    rid = driver.next_request
    from impl.messages import PutRequest

    driver.request(top[0], PutRequest(rid, KEY, b"v"))
    acks = []
    while driver.inflight:
        src, dest, message = driver.inflight.popleft()
        if driver.blocked(src, dest):
            continue
        effects = driver.nodes[dest].receive(driver.now, src, message)
        driver.handle(dest, effects)
        if isinstance(message, ReplicaPutAck):
            acks.append((src, dest, message))
    for src, dest, message in acks * 3:  # duplicates of the one ack
        driver.handle(dest, driver.nodes[dest].receive(driver.now, src, message))
    assert rid not in driver.replies
    driver.advance(2.0)
    assert isinstance(driver.replies[rid].error, QuorumError)


# ------------------------------------------------------------------ forwarding


def test_a_node_outside_the_top_n_forwards_to_the_coordinator() -> None:
    driver = Driver.start(make_config())
    top, rest = top_and_rest(driver)
    ok_put(driver.put(rest[0], KEY, b"v"))
    forwards = [(s, d) for s, d, m in driver.delivered if isinstance(m, Forward)]
    assert forwards == [(rest[0], top[0])]
    assert ok_get(driver.get(rest[1], KEY)).values == [b"v"]


def test_forwarding_skips_a_dead_coordinator() -> None:
    driver = Driver.start(make_config())
    top, rest = top_and_rest(driver)
    driver.down.add(top[0])
    ok_put(driver.put(rest[0], KEY, b"v"))
    assert ok_get(driver.get(rest[0], KEY)).values == [b"v"]
    # the dead coordinator is now suspected: the next request goes straight to top[1]
    assert driver.nodes[rest[0]].suspects(top[0])


def test_forwarding_fails_when_the_whole_top_n_is_down_under_a_strict_quorum() -> None:
    driver = Driver.start(make_config(sloppy_quorum=False))
    top, rest = top_and_rest(driver)
    driver.down.update(top)
    assert isinstance(failed(driver.put(rest[0], KEY, b"v")), QuorumError)


def test_when_the_whole_top_n_is_down_the_receiver_coordinates_with_hints() -> None:
    driver = Driver.start(make_config())
    top, rest = top_and_rest(driver)
    driver.down.update(top)
    ok_put(driver.put(rest[0], KEY, b"v", settle=1.0))
    assert {h.intended for n in rest for h in driver.storages[n].hints()} <= set(top)
    driver.down.clear()
    for name in top:
        driver.wake(name)
    driver.advance(10.0)
    assert ok_get(driver.get(top[0], KEY, r=3)).values == [b"v"]
    assert all(not driver.storages[n].hints() for n in rest)


# ------------------------------------------------------------------ sloppy quorum, handoff


def test_sloppy_quorum_writes_to_fallbacks_with_hints() -> None:
    driver = Driver.start(make_config())
    top, rest = top_and_rest(driver)
    driver.down.update(top[1:])
    ok_put(driver.put(top[0], KEY, b"v", settle=1.0))
    hints = [(h.intended, h.key) for name in rest for h in driver.storages[name].hints()]
    assert sorted(hints) == sorted((t, KEY) for t in top[1:])
    for name in rest:  # the fallbacks keep the replica as a hint, not as their own version
        assert driver.nodes[name].record(KEY) is None


def test_hinted_handoff_delivers_and_then_deletes() -> None:
    driver = Driver.start(make_config())
    top, rest = top_and_rest(driver)
    driver.down.update(top[1:])
    ok_put(driver.put(top[0], KEY, b"v", settle=1.0))
    driver.down.clear()
    for name in top[1:]:
        driver.wake(name)
    driver.advance(8.0)  # suspicion expires, the hint scan delivers
    assert driver.records(KEY) == {t: [b"v"] for t in top}
    assert all(not driver.storages[name].hints() for name in rest)


def hints_kept_until_acked(driver: Driver, seen: dict[tuple[str, int], tuple[str, bytes]]) -> bool:
    """Invariant: a hint that disappeared was stored by its intended node first."""
    for name, storage in driver.storages.items():
        for hint in storage.hints():
            seen[(name, hint.hint_id)] = (hint.intended, hint.key)
    current = {(name, h.hint_id) for name, s in driver.storages.items() for h in s.hints()}
    for (fallback, hint_id), (intended, key) in seen.items():
        if (fallback, hint_id) not in current and driver.nodes[intended].record(key) is None:
            return False
    return True


def _handoff_with_lost_deliveries() -> bool:
    driver = Driver.start(make_config())
    top, _ = top_and_rest(driver)
    driver.down.add(top[2])
    seen: dict[tuple[str, int], tuple[str, bytes]] = {}
    ok_put(driver.put(top[0], KEY, b"v", settle=1.0))
    assert hints_kept_until_acked(driver, seen)
    driver.down.clear()
    driver.drop_filter = lambda s, d, m: isinstance(m, HintDelivery)
    ok = True
    for _ in range(40):
        driver.advance(0.25)
        ok = ok and hints_kept_until_acked(driver, seen)
    driver.drop_filter = None
    driver.advance(5.0)
    return ok and hints_kept_until_acked(driver, seen) and bool(seen)


def test_a_hint_is_deleted_only_after_the_ack(monkeypatch: pytest.MonkeyPatch) -> None:
    assert _handoff_with_lost_deliveries()

    real_scan = HintedHandoff.on_scan

    def delete_on_send(self: HintedHandoff, now: float, timer: HintScan) -> list[Effect]:
        out = real_scan(self, now, timer)
        for effect in out:
            message = getattr(effect, "message", None)
            if isinstance(message, HintDelivery):
                self.hints.storage.remove_hint(message.hint_id)
        return out

    monkeypatch.setattr(HintedHandoff, "on_scan", delete_on_send)
    assert not _handoff_with_lost_deliveries(), "the mutant deletes early: the check catches it"


def test_a_hint_ack_from_another_node_deletes_nothing() -> None:
    driver = Driver.start(make_config())
    top, rest = top_and_rest(driver)
    driver.down.add(top[2])
    ok_put(driver.put(top[0], KEY, b"v", settle=1.0))
    fallback = next(n for n in rest if driver.storages[n].hints())
    hint = driver.storages[fallback].hints()[0]
    impostor = next(n for n in driver.nodes if n not in (fallback, hint.intended))
    driver.nodes[fallback].receive(driver.now, impostor, HintAck(hint.hint_id))
    assert driver.storages[fallback].hints() == [hint]


def test_a_fallback_ack_counts_only_with_its_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    """The ack check for fallbacks, and a mutant that counts a hintless fallback ack."""
    def run() -> bool:
        driver = Driver.start(make_config(w=3))
        top, rest = top_and_rest(driver)
        driver.down.add(top[2])
        from impl.messages import PutRequest

        rid = driver.next_request
        driver.request(top[0], PutRequest(rid, KEY, b"v"))
        driver.deliver_all()
        # a fallback that was never sent the write acknowledges it without a hint
        coordinator = driver.nodes[top[0]]
        op_id = next(iter(coordinator.snapshot().coordinations))
        driver.handle(top[0], coordinator.receive(driver.now, rest[1],
                                                  ReplicaPutAck(op_id, KEY)))
        return rid in driver.replies and driver.replies[rid].error is None

    assert not run()

    def mutant(coordination: PutCoordination, src: str, hint: str) -> str | None:
        return ack_counts(coordination, src, hint) or src

    monkeypatch.setattr(put_coordinator_module, "ack_counts", mutant)
    assert run(), "the mutant counts the hintless fallback: the check catches it"


# ------------------------------------------------------------------ read repair


def _stale_replica_after_get(read_repair: bool = True) -> bool:
    driver = Driver.start(make_config(read_repair=read_repair, sloppy_quorum=False,
                                      anti_entropy=False))
    top, _ = top_and_rest(driver)
    driver.drop_filter = lambda s, d, m: d == top[2] and isinstance(m, ReplicaPut)
    ok_put(driver.put(top[0], KEY, b"v", settle=1.0))
    driver.drop_filter = None
    assert driver.nodes[top[2]].record(KEY) is None
    assert ok_get(driver.get(top[0], KEY, r=3, settle=0.5)).values == [b"v"]
    return driver.nodes[top[2]].record(KEY) is None


def test_read_repair_updates_the_stale_replica() -> None:
    assert not _stale_replica_after_get()
    assert _stale_replica_after_get(read_repair=False)


def test_read_repair_sends_only_to_stale_replicas() -> None:
    driver = Driver.start(make_config())
    top, _ = top_and_rest(driver)
    ok_put(driver.put(top[0], KEY, b"v", settle=1.0))
    before = len(driver.delivered)
    ok_get(driver.get(top[1], KEY, r=3, settle=1.0))
    assert not [m for _, _, m in driver.delivered[before:] if isinstance(m, ReadRepair)]


# ------------------------------------------------------------------ crashes


@pytest.mark.parametrize("victim_index", [0, 1, 2])
def test_a_crash_after_a_replica_write_never_loses_an_acknowledged_write(
        victim_index: int) -> None:
    """Crash one top-N replica at every point of a put's message exchange; restart
    it on the same storage; every acknowledged write is still read back."""
    probe = Driver.start(make_config())
    top, _ = top_and_rest(probe)
    victim = top[victim_index]
    for crash_at in range(8):
        driver = Driver.start(make_config())
        from impl.messages import PutRequest

        driver.request(top[0], PutRequest(1, KEY, b"v1"))
        for _ in range(crash_at):
            if not driver.inflight:
                break
            src, dest, message = driver.inflight.popleft()
            if not driver.blocked(src, dest):
                driver.handle(dest, driver.nodes[dest].receive(driver.now, src, message))
        driver.crash(victim)
        driver.advance(2.0)
        driver.restart(victim)
        driver.advance(10.0)
        reply = driver.replies.get(1)
        if reply is not None and reply.error is None:
            for reader in top:
                if reader != victim or crash_at > 0:
                    got = ok_get(driver.get(reader, KEY, r=2))
                    assert b"v1" in got.values, (crash_at, victim, reader)


def test_a_restarted_fallback_still_hands_its_hints_off() -> None:
    driver = Driver.start(make_config())
    top, rest = top_and_rest(driver)
    driver.down.add(top[2])
    ok_put(driver.put(top[0], KEY, b"v", settle=1.0))
    fallback = next(n for n in rest if driver.storages[n].hints())
    driver.crash(fallback)
    driver.restart(fallback)
    driver.down.discard(top[2])
    driver.wake(top[2])
    driver.advance(10.0)
    assert not driver.storages[fallback].hints()
    assert driver.records(KEY)[top[2]] == [b"v"]
