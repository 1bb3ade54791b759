"""The Z3 proofs (model_check/proofs): both halves of every proof, agreement of the
encodings with the Python spec, and the ``vdynamo prove`` command."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import z3
from hypothesis import given, settings
from hypothesis import strategies as st

from model_check.proofs import cli
from model_check.proofs import dvv as dz
from model_check.proofs import ring as ring_proofs
from model_check.proofs import vclock as vc
from model_check.proofs import vclock_laws as laws
from model_check.proofs.framework import (
    Proof,
    Query,
    Verdict,
    decide,
)
from model_check.proofs.pruning import shared_relations
from model_check.proofs.registry import all_proofs
from spec import dvv
from spec.ring import Ring
from spec.vclock import Order, VClock, Version, reconcile
from tests.conftest import examples
from tests.model_check.agreement import dvv_constant, evaluate
from tests.proof_cache import proof_run
from tests.run_cache import run_cache_dir

PROOFS = all_proofs()
ROOT = Path(__file__).resolve().parents[2]

# -- both halves of every proof ---------------------------------------------------------------


@pytest.fixture(scope="module")
def _shared() -> Iterator[None]:
    """The pruning proofs' relations built once per shape for this module's proofs, as
    ``vdynamo prove`` does (review, session 38); a test elsewhere that monkeypatches
    the encoding builds its own."""
    with shared_relations():
        yield


@pytest.mark.parametrize("name", list(PROOFS))
def test_proof_is_proved_and_its_twin_refuted(name: str, _shared: None,
                                              tmp_path_factory: pytest.TempPathFactory) -> None:
    """Each proof and its twin, run once per test run (:func:`tests.proof_cache.proof_run`,
    session 43: three tests of other modules read the pruning proofs' verdicts from the
    same run)."""
    result = proof_run(run_cache_dir(tmp_path_factory), name)
    assert result.name == name  # (not another proof's run: session 43's review)
    assert result.outcome.verdict is Verdict.PROVED, (
        result.outcome.label,
        result.outcome.counterexample,
        result.outcome.reason,
    )
    assert result.twin.verdict is Verdict.REFUTED, (result.twin.label, result.twin.reason)
    assert result.twin.counterexample  # a readable counterexample was printed
    assert result.labels and result.outcome.queries == len(result.labels)


def test_every_expected_group_is_present() -> None:
    groups = {proof.group for proof in PROOFS.values()}
    assert groups == {"vclock", "dvv", "quorum", "ring", "invariants"}


def test_framework_verdicts() -> None:
    x = z3.Int("x")
    assert decide([Query("unsat", (x > 1, x < 0))]).verdict is Verdict.PROVED
    refuted = decide([Query("sat", (x > 1,), lambda m: f"x = {m.eval(x)}")])
    assert refuted.verdict is Verdict.REFUTED and refuted.counterexample == "x = 2"
    # nonlinear integer arithmetic with a tiny timeout: Z3 gives up rather than hangs
    a, b, c = z3.Ints("a b c")
    hard = (a > 1, b > 1, c > 1, a * a * a + b * b * b == c * c * c)
    assert decide([Query("hard", hard)], timeout_ms=1).verdict is Verdict.UNKNOWN


# -- vector clocks: the Z3 definitions agree with spec/vclock.py ------------------------------

NODES = [f"n{i}" for i in range(vc.K)]
counters = st.lists(st.integers(0, 4), min_size=vc.K, max_size=vc.K)
BOUNDED = vc.BoundedClocks(vc.K)
ORDERS = {
    vc.EQUAL: Order.EQUAL,
    vc.AFTER: Order.AFTER,
    vc.BEFORE: Order.BEFORE,
    vc.CONCURRENT: Order.CONCURRENT,
}


def _py(values: list[int]) -> VClock:
    return VClock.of(dict(zip(NODES, values, strict=True)))


def _z3(values: list[int]) -> Any:
    return BOUNDED.constant(values)


def _back(clock: Any) -> VClock:
    return _py([evaluate(term) for term in clock])


@given(counters, counters, st.integers(0, vc.K - 1))
def test_vclock_encoding_agrees_with_spec(a: list[int], b: list[int], node: int) -> None:
    pa, pb, za, zb = _py(a), _py(b), _z3(a), _z3(b)
    assert evaluate(vc.descends(BOUNDED, za, zb)) == pa.descends(pb)
    assert evaluate(vc.dominates(BOUNDED, za, zb)) == pa.dominates(pb)
    assert ORDERS[evaluate(vc.compare(BOUNDED, za, zb))] is pa.compare(pb)
    assert _back(vc.merge(BOUNDED, za, zb)) == pa.merge(pb)
    assert _back(vc.increment(BOUNDED, za, z3.IntVal(node))) == pa.increment(NODES[node])
    assert evaluate(BOUNDED.same(za, zb)) == (pa == pb)


@settings(max_examples=examples(15))
@given(counters, counters)
def test_unbounded_vclock_encoding_agrees_with_spec(a: list[int], b: list[int]) -> None:
    """The array encoding (quantified) decides descends/compare as the spec does."""
    unbounded = vc.UnboundedClocks()

    def array(values: list[int]) -> Any:
        term = z3.K(z3.IntSort(), z3.IntVal(0))
        for i, value in enumerate(values):
            term = z3.Store(term, i, value)
        return term

    za, zb = array(a), array(b)
    for term, expected in (
        (vc.descends(unbounded, za, zb), _py(a).descends(_py(b))),
        (vc.compare(unbounded, za, zb) == vc.AFTER, _py(a).compare(_py(b)) is Order.AFTER),
        (unbounded.same(vc.merge(unbounded, za, zb), array(
            [max(x, y) for x, y in zip(a, b, strict=True)])), True),
    ):
        solver = z3.Solver()
        solver.add(term != expected)
        assert solver.check() == z3.unsat


@settings(max_examples=examples(30))
@given(st.lists(st.tuples(st.integers(0, 2), counters), min_size=1, max_size=vc.VERSIONS))
def test_reconcile_encoding_agrees_with_spec(versions: list[tuple[int, list[int]]]) -> None:
    encoded = [(z3.IntVal(value), _z3(clock)) for value, clock in versions]
    kept_flags = [evaluate(k) for k in vc.reconcile_kept(BOUNDED, encoded)]
    kept = {Version(value, _py(clock)) for (value, clock), k in
            zip(versions, kept_flags, strict=True) if k}
    expected = reconcile(Version(value, _py(clock)) for value, clock in versions)
    assert kept == set(expected) and len(expected) == sum(kept_flags)


def test_vclock_twin_mutants_disagree_with_spec() -> None:
    """The twins' mutated definitions really differ from the spec on some clocks."""
    a, b = [1, 0, 0, 0, 0, 0], [2, 0, 0, 0, 0, 0]
    assert evaluate(laws._strict_descends(BOUNDED, _z3(a), _z3(a))) is False
    assert _back(laws._merge_left_biased(BOUNDED, _z3(a), _z3(b))) != _py(a).merge(_py(b))


# -- DVVSet: the Z3 operations agree with spec/dvv.py ----------------------------------------

DVV_IDS = ["a", "b", "c"]


@st.composite
def dvvsets(draw: st.DrawFn) -> Any:
    entries = []
    for name in DVV_IDS:
        if draw(st.booleans()):
            counter = draw(st.integers(0, 4))
            length = draw(st.integers(0, min(counter, dz.SLOTS)))
            vals = draw(st.lists(st.integers(0, dz.VALUES - 1), min_size=length, max_size=length))
            entries.append((name, counter, vals))
    anonymous = draw(st.sets(st.integers(0, dz.VALUES - 1), max_size=2))
    return dvv.DVVSet.of(entries, anonymous)


def _dvv_back(clock: Any) -> Any:
    return dz.decode(clock, DVV_IDS, evaluate)


@settings(max_examples=examples(40))
@given(dvvsets(), dvvsets())
def test_dvv_sync_and_less_agree_with_spec(a: Any, b: Any) -> None:
    za, zb = dvv_constant(a, DVV_IDS), dvv_constant(b, DVV_IDS)
    assert _dvv_back(dz.sync(za, zb)) == dvv.sync(a, b)
    assert evaluate(dz.less(za, zb)) == dvv.less(a, b)
    assert evaluate(dz.same(za, zb)) == (a == b)


@settings(max_examples=examples(40))
@given(dvvsets(), dvvsets(), st.integers(0, dz.VALUES - 1), st.sampled_from(DVV_IDS))
def test_dvv_update_agrees_with_spec(read: Any, server: Any, value: int, node: str) -> None:
    server = dvv.DVVSet(server.entries, ())  # a stored clock has no anonymous values
    expected = dvv.update(dvv.new(dvv.join(read), value), server, node)
    client = dz.new_with_context(dz.context_of(dvv_constant(read, DVV_IDS)), z3.IntVal(value))
    got = dz.update(client, z3.IntVal(value), dvv_constant(server, DVV_IDS), DVV_IDS.index(node))
    assert _dvv_back(got) == expected
    ctx = dz.context_of(dvv_constant(read, DVV_IDS))
    assert evaluate(dz.join_dominates(got, ctx)) == dvv.join_vclock(expected).dominates(
        dvv.join_vclock(read)
    )


# -- the ring's walk agrees with spec/ring.py ---------------------------------------------------

rings = st.dictionaries(
    st.sampled_from("ABCDE"), st.sets(st.integers(0, 40), min_size=1, max_size=3), min_size=1
)


@settings(max_examples=examples(25))
@given(rings, st.integers(0, 45))
def test_ring_encoding_agrees_with_spec(tokens: dict[str, set[int]], position: int) -> None:
    owner_of: dict[int, str] = {}
    for node, node_tokens in sorted(tokens.items()):
        for token in node_tokens:
            owner_of.setdefault(token, node)
    ring = Ring.from_tokens(
        {node: [t for t, n in owner_of.items() if n == node] for node in tokens
         if any(n == node for n in owner_of.values())}
    )
    names = sorted(ring.nodes)
    positions = [z3.IntVal(t) for t, _ in ring.entries]
    owners = [z3.IntVal(names.index(n)) for _, n in ring.entries]
    length, entries = ring_proofs.preference_list(positions, owners, z3.IntVal(position))
    count = evaluate(length)
    walked = tuple(names[evaluate(entries[k])] for k in range(count))
    assert walked == ring.preference_list(position)


# -- the command --------------------------------------------------------------------------------


def test_cli_json_shape_and_exit_code(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["quorum_intersection", "vclock_merge_idempotent", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [row["name"] for row in rows] == ["quorum_intersection", "vclock_merge_idempotent"]
    for row in rows:
        assert set(row) == {"name", "verdict", "seconds", "twin_verdict"}
        assert row["verdict"] == "proved" and row["twin_verdict"] == "refuted"
        assert isinstance(row["seconds"], float)


def test_cli_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["vclock_merge_idempotent", "--verbose"]) == 0
    out = capsys.readouterr().out
    assert "vclock_merge_idempotent" in out and "proved" in out and "refuted" in out
    assert "merge(a, a) =" in out  # the twin's counterexample


def test_cli_prints_the_hinted_read_without_verbose(capsys: pytest.CaptureFixture[str]) -> None:
    """Issue 12: ``vdynamo prove`` includes the hinted-read counterexample (what the
    spec does: ``Proof.shown``), one clause a line; a twin that only shows its proof's
    hypothesis is needed (strict quorum's disk loss) stays behind ``--verbose``."""
    names = ["sloppy_read_your_writes_needs_hints_read", "strict_quorum_read_your_writes"]
    assert cli.main(names) == 0
    out = capsys.readouterr().out
    assert "what the spec does (Z3's model): N=3 R=2 W=2, preference list A, B, C, D" in out
    lines = out.splitlines()
    start = next(j for j, line in enumerate(lines) if "what the spec does" in line)
    shown = lines[start + 1 : start + 4]
    assert all(line.startswith("      ") for line in shown), shown
    assert "unreachable from before the put until after the get" in shown[0]
    assert "keep(s) it as a hint" in shown[1]
    assert "without the hint: the get misses the acknowledged put" in shown[2]
    assert "disk loss" not in out and out.count("what the spec does") == 1
    assert cli.main([*names, "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert "misses the acknowledged put" in rows[0]["twin_counterexample"]
    assert "twin_counterexample" not in rows[1]


def test_cli_unknown_name_lists_the_names(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["no_such_proof"]) == 2
    err = capsys.readouterr().err
    assert "no_such_proof" in err and "quorum_intersection" in err


def test_cli_exit_code_is_one_when_a_proof_fails(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    x = z3.Int("x")
    broken = Proof(
        "broken", "x is never 3", "none",
        lambda: [Query("q", (x == 3,))], "x is 3", lambda: [Query("t", (x == 3,))],
    )
    vacuous = Proof(
        "vacuous", "x is never 3 (twin cannot fail)", "none",
        lambda: [Query("q", (x == 3, x == 4))], "nothing", lambda: [Query("t", (x < x,))],
    )
    monkeypatch.setattr(cli, "all_proofs", lambda: {"broken": broken, "vacuous": vacuous})
    assert cli.main(["broken"]) == 1
    assert cli.main(["vacuous"]) == 1
    out = capsys.readouterr().out
    assert "FAILED" in out and "counterexample (q)" in out


def test_vdynamo_prove_command() -> None:
    exe = Path(sys.executable).with_name("vdynamo")
    done = subprocess.run(
        [str(exe), "prove", "quorum_intersection", "--json"],
        capture_output=True, text=True, cwd=ROOT, timeout=120, check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)[0]["verdict"] == "proved"
    bad = subprocess.run(
        [str(exe), "prove", "nonsense"], capture_output=True, text=True, cwd=ROOT, timeout=120,
        check=False,
    )
    assert bad.returncode == 2 and "quorum_intersection" in bad.stderr
