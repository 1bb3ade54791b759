"""Chained put contexts (``workload.chain_puts``, session 60) in every clock mode, in
lockstep with the implementation (session 60's review, docs/spec.md "Chained contexts
reviewed (session 60)").

Session 60's chaining ran in lockstep in dvv alone (``test_chain_puts_lockstep.py``,
``dvv-chain-*``): the answer of the vector-clock modes (``spec.clocks.answered_context``:
the new version's clock) and of lww (its stamp) was compared with the implementation's
``PutResult.context`` (``impl.versions.written_context_pairs``) by no test, so an
implementation answering an EMPTY context in those modes passed every test. Here
seeded lockstep walks (:func:`tests.refinement.walks.walk`) of the lockstep
configurations with ``chain_puts = true``: each case is a walk (config, seed) in which a
client's put carries the context its earlier put was answered, and the harness keeps
``PutResult.context`` (``model_check.refinement``), so a wrong answer on either side
shows at that put (its clock or where its version lands). The lww case needs skew: with
one clock for all the next put's own stamp is above its context's anyway.

Mutants (each run by ``test_an_empty_answer_diverges`` and seen to fail; how):

- the implementation answering an empty context (``written_context_pairs`` -> ``()``):
  server-vclock step 22 (``n2.store``: ``{v1, v2}`` for the spec's ``{v2}``),
  client-vclock, dvv, the dvv chained delete (step 4, ``delete c1 v2``: the tombstone
  beside ``v1``), lww hybrid with n1 two ticks behind (step 10, ``v4 clock: spec (2.0,
  'n1') vs impl (1.0, 'n1')``);
- the spec answering an empty context (``spec.clocks.answered_context`` -> ``()``, lww
  ``(0, "")``): diverges in every case likewise;
- the spec's client forgetting its context when its put fails (``spec.coordination.
  _fail`` setting ``last_get`` to None; the library raises and returns no context, the
  caller keeps the one it had): ``test_a_failed_put_keeps_the_chained_context`` in
  client-vclock, ``step 11: put c1 v3``, ``v3 clock: spec {'n3/1 c1': 1} vs impl
  {'n3 c1': 1, 'n3/1 c1': 1}``. In dvv and server-vclock this path cannot show it (the
  failed v2, stored at the coordinator, carries v1's causality onward), nor did 60
  walks of the cases below.

In lww wall-clock the answer is never read (a wall-clock put stamps its coordinator's
clock alone), and there the two answers differ where a put lost at its coordinator (the
spec its own stamp, the implementation the winner's: ``answered_context``'s docstring):
not observable, so not a case here. 24 walks of each wall-clock configuration, and 8 of
each other lockstep and delete-walk configuration chained, agreed (the review's sweep).
"""

from __future__ import annotations

from typing import Any

import pytest

import impl.put_coordinator
import spec.clocks
import spec.coordination
from model_check.refinement import Divergence, Lockstep
from spec.clocks import values
from spec.config import Config
from spec.state import new_client
from tests.refinement.configs import DELETE_WALK_CONFIGS, LOCKSTEP_CONFIGS
from tests.refinement.walks import walk


def _chained(name: str, **changes: object) -> Config:
    base = {**LOCKSTEP_CONFIGS, **DELETE_WALK_CONFIGS}[name]
    return base.replace(name=f"{name}-chain", chain_puts=True, **changes)  # type: ignore[arg-type]


#: (configuration, seed) of walks whose chained put reads the answered context
CASES: dict[str, tuple[Config, int]] = {
    "server-vclock": (_chained("strict-server-vclock"), 1),
    "client-vclock": (_chained("strict-client-vclock"), 1),
    "dvv": (_chained("strict-dvv"), 1),
    "dvv-delete": (_chained("handoff-delete-dvv"), 0),
    "lww-hybrid-skew": (_chained("sloppy-lww", skew={"n1": -2}), 3),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_chained_walks_agree(case: str) -> None:
    """The walk agrees step for step, and converges as the spec does."""
    config, seed = CASES[case]
    walk(config, seed)


@pytest.mark.parametrize("side", ["impl", "spec"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_an_empty_answer_diverges(case: str, side: str,
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Either side answering an empty context is caught at the chained put."""
    config, seed = CASES[case]
    if side == "impl":
        monkeypatch.setattr(impl.put_coordinator, "written_context_pairs",
                            lambda *args, **kwargs: ())
    else:
        monkeypatch.setattr(spec.clocks, "answered_context",
                            lambda mode, record, payload: (0, "") if mode == "lww" else ())
    with pytest.raises(Divergence):
        walk(config, seed)


def _deliver_all(ls: Lockstep) -> None:
    while ls.deliverable():
        ls.deliver(ls.deliverable()[0].id)


def _failed_put_path(clock: str) -> tuple[int, ...]:
    """W = 3 of 3, every request through the key's first node: v1 acknowledged (its
    answer chained), the last node down, v2 fails (stored at the coordinator), the node
    back, v3 put with v1's answer. The put ids the coordinator holds at the end."""
    config = Config(name=f"chain-failed-{clock}", clock=clock, w=3, crashes=1, clients=1,
                    puts_per_client=3, gets_per_client=0, coordinator="first",
                    chain_puts=True, anti_entropy=False)
    ls = Lockstep(config)
    try:
        first = ls.entry_nodes("k")[0]
        other = [n for n in config.nodes if n != first][-1]
        ls.put("c1", first, "k")
        _deliver_all(ls)
        assert ls.clients["c1"].acked == [1]
        ls.crash(other)
        ls.put("c1", first, "k")
        _deliver_all(ls)
        assert ls.clients["c1"].acked == [1] and not ls.clients["c1"].busy
        ls.recover(other)
        ls.put("c1", first, "k")
        _deliver_all(ls)
        assert ls.clients["c1"].acked == [1, 3]
        return values(ls.frontier[0].node(first).store[0])
    finally:
        ls.cluster.close()


@pytest.mark.parametrize("broken", [False, True])
def test_a_failed_put_keeps_the_chained_context(broken: bool,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """A chained client whose put fails writes next with the context it had (v3 with
    v1's answer: v1 superseded, the failed v2 a sibling), on both sides; the spec's
    client forgetting it diverges from the implementation's."""
    if broken:
        def forgetting(edit: Any, node: str, coord: Any) -> None:
            cl = edit.client(coord.client)
            edit.set_client(coord.client, new_client(cl.puts_issued, cl.gets_issued, 0,
                                                     cl.counter, None, cl.acked, cl.gets))
            edit.set_coord(node, None, coord.request)
        monkeypatch.setattr(spec.coordination, "_fail", forgetting)
        with pytest.raises(Divergence, match="v3 clock"):
            _failed_put_path("client-vclock")
        return
    assert _failed_put_path("client-vclock") == (2, 3)
    assert _failed_put_path("dvv") == (2, 3)
