"""A node restarted on a refusing disk (session 53's review of the forward decline;
docs/runtime.md, "Review of the forward decline (session 53, review)").

:class:`model_check.refinement.RefusingEngine` serves the engine's methods through
``__getattr__``, which no dunder goes through; a node's start reads ``len(storage)``
since s53-owntoken (as ``tests/impl/test_node_bad_input.py``'s ``FailingStorage``,
98c10b98), so trace validation's nemesis restarting a node while its failing disk is
armed raised ``TypeError: object of type 'RefusingEngine' has no len()``: 13 of seeds
0-60 of ``validate_seed(seed, write_failures=True)`` (18, 20, 21, 26, 27, 30, 33-35,
43, 45, 50, 60), the soak test's hundred seeds with them. Mutant (checked):
``RefusingEngine.__len__`` removed: the test fails with that ``TypeError``."""

from __future__ import annotations

from model_check.refinement import RefusingEngine
from model_check.trace_validation import validate_seed


def test_a_refusing_engine_answers_len_and_a_restart_on_it_validates() -> None:
    assert len(RefusingEngine([b"a", b"b"])) == 2  # a read: served while refusing
    report = validate_seed(18, write_failures=True)  # main: TypeError at a restart
    assert report.verdict == "ok", report.line()
