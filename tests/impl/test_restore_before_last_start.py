"""A one-node restore from a backup taken just before the node's last start (session
50; the lead's note of session 49: "not set aside"?). docs/dvv.md, "The restore
guard's generations relayed (session 50)", part 2.

3 nodes, N=3, R=W=2: k = v1, gone = g1; n3 stopped, its store copied (the backup:
its start count c), started (start c + 1, a token drawn for it: the generation peers
hear); k overwritten (v2, through n3 or n1), a new key written, gone deleted (all
three acknowledge; the cluster quiet, so its tombstone is reaped, and n3's generation
advanced within its start, ``impl.restore_guard.advance``); n3 stopped, the copy put
back, started. Right value: nothing lost (k = v2, new = n1) and nothing back (gone
not found) through any node at R=3, and n3's store set aside.

It is: the restored start counts c + 1 again, with another token, and its peers heard
c + 1 or above of the start the copy missed (c + 2 once the reap advanced it), so a
peer's gossip is a rollback for it (``impl.restore_guard.is_rollback``: a heard count
at or above its own, another token). A start count equal to the backup's plus one is
what peers heard, but never with the same token (the token digests the start's time,
the node's seed and the store's id). Not a fault; the tests pin it, with SQLite files
copied too, for a restore while cut off (the shadow round times out, the peers tell it
at the heal), without a reap (the heard count equals the restored one), and the
control without the guard.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from impl.cluster import SimulatedCluster, StorageKind
from impl.messages import parse_generation
from tests.impl.test_hint_ids_after_restore import _Backup

KEYS = (b"k", b"new", b"gone")


def _count(cluster: SimulatedCluster, at: str, of: str) -> int:
    """The start count of ``of``'s store generation as ``at`` knows it (its own, or
    the last it heard; 0 without the guard)."""
    guard = cluster.node(at).guard
    if guard is None:
        return 0
    parsed = parse_generation(guard.generation if at == of else guard.yours(of))
    return parsed[0] if parsed else 0


def _restore_before_last_start(tmp_path: Path, *, storage: StorageKind = "memory",
                               through: str = "n3", delete: bool = True,
                               cut_off: bool = False, guard: bool = True, seed: int = 1
                               ) -> tuple[dict[str, int], int, dict[bytes, list[bytes]]]:
    """(the counts: the backup's, the restarted start's, the highest heard of it, the
    restored start's; n3's stores set aside; each key's values at R=3 through each
    node, merged: ``{key: sorted values}`` if every node agrees)."""
    cluster = SimulatedCluster(nodes=3, n=3, r=2, w=2, seed=seed, storage=storage,
                               storage_dir=tmp_path / "data" if storage == "sqlite" else None,
                               restore_guard=guard)
    client = cluster.client(coordinator="n1")
    client.put(b"k", b"v1")
    client.put(b"gone", b"g1")
    cluster.run_until_quiet()
    cluster.crash("n3")
    backup = _Backup(cluster, "n3", tmp_path / "backup")
    counts = {"backup": int(cluster.storages["n3"].get_meta("incarnation") or b"0")}
    cluster.restart("n3")
    cluster.run_until_quiet()
    counts["started"] = _count(cluster, "n3", "n3")
    through_client = cluster.client(coordinator=through)
    through_client.put(b"k", b"v2", context=through_client.get(b"k", r=3).context)
    through_client.put(b"new", b"n1")
    if delete:
        through_client.delete(b"gone", context=through_client.get(b"gone", r=3).context, w=3)
    cluster.run_until_quiet()
    counts["heard"] = max(_count(cluster, "n1", "n3"), _count(cluster, "n2", "n3"))
    cluster.crash("n3")
    backup.put_back()
    if cut_off:
        cluster.partition(["n3"], ["n1", "n2"])
    cluster.restart("n3")
    counts["restored"] = _count(cluster, "n3", "n3")
    if cut_off:
        cluster.run_for(5)  # the shadow round times out: nobody answers
        cluster.heal()
    cluster.run_until_quiet()
    seen: dict[bytes, set[tuple[bytes, ...]]] = {key: set() for key in KEYS}
    for name in ("n1", "n2", "n3"):
        reader = cluster.client(coordinator=name)
        for key in KEYS:
            seen[key].add(tuple(sorted(reader.get(key, r=3).values)))
    values = {key: list(answers.pop()) if len(answers) == 1 else [b"<differ>"]
              for key, answers in seen.items()}
    return counts, cluster.node("n3").stats["restore-set-aside"], values


RIGHT = {b"k": [b"v2"], b"new": [b"n1"], b"gone": []}


@pytest.mark.parametrize("storage", ["memory", "sqlite"])
@pytest.mark.parametrize("through", ["n3", "n1"])
def test_a_backup_of_just_before_the_last_start_is_set_aside(
        tmp_path: Path, storage: StorageKind, through: str) -> None:
    """The writes through n3 itself or through n1; the memory engine or SQLite files.
    Mutant checked: ``is_rollback`` answering False fails each (``gone`` back:
    ``[b'g1']``, and n3 not set aside)."""
    counts, set_aside, values = _restore_before_last_start(tmp_path, storage=storage,
                                                           through=through)
    assert counts["restored"] == counts["backup"] + 1 == counts["started"]
    assert counts["heard"] > counts["started"]  # the reap advanced it within the start
    assert set_aside == 1
    assert values == RIGHT


def test_without_a_reap_the_heard_count_equals_the_restored_one() -> None:
    """No delete: nothing advances the start's count, so a peer heard exactly the
    restored start's count, of another start (another token): a rollback still.
    Mutant checked: ``is_rollback`` with ``>`` for ``>=`` fails here (not set aside)."""
    counts, set_aside, values = _restore_before_last_start(Path("/nonexistent"),
                                                           delete=False)
    assert counts["heard"] == counts["restored"] == counts["backup"] + 1
    assert set_aside == 1
    assert values == {b"k": [b"v2"], b"new": [b"n1"], b"gone": [b"g1"]}


def test_restored_while_cut_off_it_is_set_aside_at_the_heal() -> None:
    """Its shadow round times out (nobody answers) and it serves nobody meanwhile (cut
    off); at the heal the peers tell it. Mutant as above."""
    _, set_aside, values = _restore_before_last_start(Path("/nonexistent"), cut_off=True)
    assert set_aside == 1
    assert values == RIGHT


def test_without_the_guard_the_deleted_value_comes_back() -> None:
    """The control (``restore_guard = false``): ``gone`` comes back (the history can
    fail); the overwritten k reads v2 (its dot-ordered v1 is superseded)."""
    _, set_aside, values = _restore_before_last_start(Path("/nonexistent"), guard=False)
    assert set_aside == 0
    assert values[b"gone"] == [b"g1"]
