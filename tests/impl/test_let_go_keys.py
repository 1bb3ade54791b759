"""The naive handover (``join_handover = "immediate"``): an old owner records the keys
it let go in the last change (``Gossiper.let_go_keys``), so that a late write of one
of them (its writer had not heard of the change) is handed on again to the key's new
owner rather than let go at the next hint scan without it (:meth:`Gossiper.on_write`;
trace validation, leave-immediate seed 15).

Review 2's surviving mutants, each seeded here and shown to fail a test:
- C3: a key let go by a hint scan (:meth:`Gossiper.scanned`, the path a copy takes
  when it changed between its transfer and the acknowledgement) is not recorded: a
  late write of it is not handed on;
- C5: the record is not reset when a new change starts: keys of an earlier change
  are handed on again for ever after.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest

from impl import SimulatedCluster
from impl.effects import AddHint
from impl.gossip import Gossiper
from tests.refinement.mutations import Mutant, _mutant

NAMES = [f"n{i}" for i in range(1, 6)]
KEYS = [b"k%d" % i for i in range(20)]

MUTANTS: dict[str, Mutant] = {
    "C3-scanned-not-recorded": _mutant(
        Gossiper, "scanned", "self.let_go_keys.update(keys)", "pass"),
    "C5-let-go-keys-not-reset": _mutant(
        Gossiper, "_rebalance", "self.let_go_keys = set()", "pass"),
}


@contextlib.contextmanager
def _maybe(mutant: str | None) -> Iterator[None]:
    with MUTANTS[mutant]() if mutant else contextlib.nullcontext():
        yield


def _held(cluster: SimulatedCluster, names: list[str]) -> dict[str, set[bytes]]:
    return {name: {key for key in KEYS if cluster.node(name).storage.read(key)}
            for name in names}


def _cluster(seed: int) -> SimulatedCluster:
    cluster = SimulatedCluster(nodes=5, n=3, r=2, w=2, seed=seed, join_handover="immediate")
    for key in KEYS:
        cluster.client("n1").put(key, b"v")
    cluster.run_until_quiet()
    return cluster


@pytest.mark.parametrize("mutant", [None, "C5-let-go-keys-not-reset"])
@pytest.mark.parametrize("seed", [1, 2])
def test_the_let_go_keys_are_those_of_the_last_change(seed: int, mutant: str | None) -> None:
    with _maybe(mutant):
        cluster = _cluster(seed)
        before = _held(cluster, NAMES)
        cluster.join("n6")
        cluster.run_until_quiet(max_time=900)
        first = _held(cluster, NAMES)
        assert any(before[n] - first[n] for n in NAMES)
        assert all(cluster.node(n).gossiper.let_go_keys == before[n] - first[n]
                   for n in NAMES)
        cluster.join("n7")
        cluster.run_until_quiet(max_time=900)
        second = _held(cluster, NAMES)
        last = {n: cluster.node(n).gossiper.let_go_keys for n in NAMES}
    if mutant:  # the keys of the first change are still there
        assert any(last[n] != first[n] - second[n] for n in NAMES)
    else:
        assert all(last[n] == first[n] - second[n] for n in NAMES)


@pytest.mark.parametrize("mutant", [None, "C3-scanned-not-recorded"])
def test_a_key_let_go_by_a_hint_scan_hands_a_late_write_on(mutant: str | None) -> None:
    """An old owner whose copy of a key is let go at a hint scan (put back here: its
    copy changed after the transfer, so the acknowledgement did not let it go), then
    receives a late write of the key: the write is handed on to the key's new owner
    (a hint for it), not kept for the next scan to drop."""
    with _maybe(mutant):
        cluster = _cluster(1)
        records = {n: {key: cluster.node(n).storage.read(key) for key in KEYS}
                   for n in NAMES}
        cluster.join("n6")
        cluster.run_until_quiet(max_time=900)
        name, key = next((n, k) for n in NAMES for k in cluster.node(n).gossiper.let_go_keys)
        node = cluster.node(name)
        gossiper = node.gossiper
        record = records[name][key]
        assert record and not node.storage.read(key)
        assert gossiper.moved_from is not None
        assert "n6" in gossiper._new_owners(gossiper.moved_from, gossiper.future, key)
        # the copy is there at the scan; the acknowledgement did not let it go
        node.storage.write(key, record)
        gossiper.let_go_keys = set()
        gossiper.release_due = True
        assert key in gossiper.scanned(set())
        node.storage.take()  # (the node's step would apply them; this test looks only
        late = record  # at what the late write stages)
        gossiper.on_write(key, late)
        handed = [write for write in node.storage.take() if isinstance(write, AddHint)
                  and write.key == key and write.intended == "n6"]
    if mutant:
        assert key not in gossiper.let_go_keys and not handed
    else:
        assert key in gossiper.let_go_keys and [write.record for write in handed] == [late]
