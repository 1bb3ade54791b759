"""The spec's read repair with ``[features] prune_retired`` (session 34,
spec/read_repair.py): as the implementation's (``impl.read_repair``,
``read-repairs-pruned``), a replier whose copy holds more than the coordinator's
pruning of the merge is repaired too, the coordinator's own copy included (pruned in
place), even when it answered with the merge itself; with pruning off nothing
changes. Source: docs/spec.md, "Read repair of copies holding pruned entries
(session 34)"."""

from __future__ import annotations

import dataclasses

from model_check.suite import CONFIG_DIR
from spec.config import Config, load_config
from spec.dvv import DVVSet, Entry
from spec.model import initial_state
from spec.read_repair import repair
from spec.state import Kind
from spec.step import Edit, plan_of

CONFIG = load_config(CONFIG_DIR / "dvv-prune-retired-delete.toml")

#: n2's value 2 beside the value-less entry of n1's first lifetime (retired: n1 is in
#: its second, ``epochs`` (1, 0)); the failing edge of the lockstep before the change
#: (``nodes.n2.store: spec (('n1',1,[]),('n2',1,[2])) vs impl (('n2',1,[2]),)``)
HOLDING: DVVSet[int] = DVVSet.of([Entry("n1", 1, ()), Entry("n2", 1, (2,))])
PRUNED: DVVSet[int] = DVVSet.of([Entry("n2", 1, (2,))])


def _repaired(config: Config, copies: dict[str, DVVSet[int]],
              epochs: tuple[int, int] = (1, 0)
              ) -> tuple[dict[str, object], list[tuple[str, object]]]:
    """n2 coordinates a get of ``k`` answered by ``copies`` (node -> its copy, each
    the node's store too): the stores after its read repair, and the read repairs
    sent (destination, payload)."""
    state = initial_state(config)
    nodes = tuple(dataclasses.replace(node, store=(copies.get(name, node.store[0]),))
                  for name, node in zip(config.all_nodes, state.nodes, strict=True))
    state = dataclasses.replace(state, nodes=nodes, epochs=epochs)
    plan = plan_of(config)
    edit = Edit(state, plan)
    replies = tuple(sorted(copies.items()))
    result = HOLDING if any(c == HOLDING for c in copies.values()) else PRUNED
    repair(edit, "n2", "k", replies, result)
    after = edit.build()
    stores = {name: node.store[0] for name, node in
              zip(config.all_nodes, after.nodes, strict=True)}
    sent = [(m.dst, m.payload) for m in after.messages if m.kind is Kind.READ_REPAIR]
    return stores, sent


def test_the_coordinators_own_copy_holding_a_pruned_entry_is_pruned_in_place() -> None:
    """r = 1: n2 answers from its own copy, the merge itself; it drops n1's retired
    value-less entry (the mutant repairing only the other nodes leaves it)."""
    stores, sent = _repaired(CONFIG, {"n2": HOLDING})
    assert stores["n2"] == PRUNED
    assert sent == []


def test_a_replica_answering_with_the_merge_is_repaired_when_it_holds_more() -> None:
    """Both answered with the merge (nothing stale before session 34): n2 prunes its
    own copy in place and sends the merge (unpruned, as the implementation's
    ``ReadRepair``) to n1, which prunes it as it stores."""
    stores, sent = _repaired(CONFIG, {"n1": HOLDING, "n2": HOLDING})
    assert stores == {"n1": HOLDING, "n2": PRUNED}
    assert sent == [("n1", HOLDING)]


def test_nothing_is_repaired_where_the_coordinators_pruning_drops_nothing() -> None:
    """No lifetime retired (epochs (0, 0)), pruning off, or a coordinator that does not
    know n1's retirement (``prune_knowledge = "own"``): the rule as before, copies
    equal to the merge left alone."""
    unchanged = {"n1": HOLDING, "n2": HOLDING}
    for config, epochs in ((CONFIG, (0, 0)), (CONFIG.replace(prune_retired=-1), (1, 0)),
                           (CONFIG.replace(prune_knowledge="own"), (1, 0))):
        assert _repaired(config, dict(unchanged), epochs) == (unchanged, [])


def test_a_stale_replier_is_still_repaired() -> None:
    """n1 already pruned its copy (so it answered without the merge: stale, as before)
    and is sent the merge; n2's own copy is pruned in place."""
    stores, sent = _repaired(CONFIG, {"n1": PRUNED, "n2": HOLDING})
    assert stores == {"n1": PRUNED, "n2": PRUNED}
    assert sent == [("n1", HOLDING)]
