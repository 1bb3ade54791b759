"""The spec's pruning rule against the implementation's (session 33's review).

:func:`spec.retired.prune_retired` states the rule of ``impl.versions.prune_retired``
(docs/impl.md, "Pruning the entries of retired lifetimes") at a count ``keep``
instead of a byte budget. For k in 0 and 1 (1 is the implementation's
``RETIRED_NEWEST_KEPT`` since session 39: a node's newest retired lifetime is kept
whatever its bytes), the spec at ``keep`` k and the implementation at budget 0 with
``newest_kept`` k must drop the same entries of any DVVSet: every value-less entry
of a retired lifetime the pruning node knows of (at k = 1 but those of each node's
newest such lifetime), its key epochs and pairs with clients too, and nothing of a
live lifetime nor anything holding a value. Seeded random sets, the spec's actor ids
(``n1``, ``n1~2``, ``n1~2.1``, ``"n1~2 c1"``) mapped onto the implementation's
(``n1~<12 hex>``...). The implementation's pruning came with branch s33-dvvprune;
where ``impl.versions`` has no ``prune_retired`` this module is skipped."""

from __future__ import annotations

import random

import pytest

from spec.dvv import DVVSet, Entry
from spec.retired import prune_at

versions = pytest.importorskip("impl.versions")
if not hasattr(versions, "prune_retired"):
    pytest.skip("impl.versions has no prune_retired (the implementation's pruning is "
                "not on this branch)", allow_module_level=True)

from impl.records import ClockMode, Record  # noqa: E402

NODES = ("n1", "n2", "n3")


def _spec_id(node: str, lifetime: int, key_epoch: int, client: str) -> str:
    actor = node if not lifetime and not key_epoch else f"{node}~{lifetime}"
    actor = f"{actor}.{key_epoch}" if key_epoch else actor
    return f"{actor} {client}" if client else actor


def _impl_actor(node: str, lifetime: int) -> str:
    return f"{node}~{lifetime:012x}"


def _impl_id(node: str, lifetime: int, key_epoch: int, client: str) -> str:
    actor = _impl_actor(node, lifetime)
    actor = f"{actor}.{key_epoch}" if key_epoch else actor
    return f"{actor} {client}" if client else actor


def _random_case(rng: random.Random) -> tuple[dict[str, int], list[tuple[tuple[str, int, int, str],
                                                                        int, tuple[int, ...]]]]:
    live = {node: rng.randrange(4) for node in NODES}
    parts = {(node, rng.randrange(live[node] + 1), rng.choice((0, 0, 1, 2)),
              rng.choice(("", "", "c1")))
             for node in NODES for _ in range(rng.randrange(4))}
    entries = [(part, rng.randrange(1, 4), tuple(rng.sample(range(1, 9), rng.choice((0, 0, 1)))))
               for part in sorted(parts)]
    return live, entries


@pytest.mark.parametrize("keep", [0, versions.RETIRED_NEWEST_KEPT])
@pytest.mark.parametrize("knowledge", ["all", "own"])
def test_the_spec_and_the_implementation_drop_the_same_entries(knowledge: str, keep: int) -> None:
    rng = random.Random(33)
    pruned_somewhere = 0
    for _ in range(2_000):
        live, entries = _random_case(rng)
        node = rng.choice(NODES)
        spec_set = DVVSet.of([Entry(_spec_id(*p), c, v) for p, c, v in entries])
        impl_set = DVVSet.of([Entry(_impl_id(*p), c, tuple(b"%d" % x for x in v))
                              for p, c, v in entries])
        spec_ids = {e.id for e in prune_at(node, spec_set, NODES,
                                           tuple(live[n] for n in NODES), keep, knowledge).entries}
        retired = {_impl_actor(n, e): e for n in NODES for e in range(live[n])
                   if knowledge == "all" or n == node}
        record = versions.prune_retired(Record(ClockMode.DVV, dvvset=impl_set), retired,
                                        live=(_impl_actor(node, live[node]),), budget=0,
                                        newest_kept=keep)
        impl_ids = {e.id for e in record.dvvset.entries}
        expected = {_impl_id(*p) for p, _, _ in entries
                    if _spec_id(*p) in spec_ids}
        assert impl_ids == expected, (live, node, entries)
        pruned_somewhere += len(impl_ids) < len(entries)
    assert pruned_somewhere > (500 if keep == 0 else 100)  # not vacuous (399 and 139 at keep 1)
