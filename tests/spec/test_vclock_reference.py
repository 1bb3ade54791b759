"""spec.vclock against riak_core's ``src/vclock.erl`` (opt-in differential test).

With Erlang installed (Debian: ``apt-get install erlang-nox``) and
``VCLOCK_REFERENCE`` naming a copy of basho/riak_core's ``src/vclock.erl``, this runs
seeded random programs on both and compares every step: ``increment`` (a pair's
counter and time), ``merge``, ``descends`` and ``prune``. The reference is not part of
this repository; the command and the figures of a run are in docs/refinement.md.

Mapping. A clock is riak's list of ``{Node, {Counter, Timestamp}}``, compared sorted;
spec clocks carry the time of each pair (``VClock.times``). Times grow with the
program's steps, as a real clock's would. ``VClock.prune(threshold)`` is riak's
``prune/3`` with ``small_vclock = big_vclock = threshold``, ``young_vclock = -1`` and
``old_vclock`` never reached (the size rule alone; riak drops the oldest pair first,
ties broken by node id, as the spec does). The age rules (young/old) live in
``impl.versions.Truncation``; riak's own pruning with every threshold is run too
(``prune_props``) and compared with the spec's when it reduces to the size rule.
"""

from __future__ import annotations

import os
import random
import shutil
import subprocess
from pathlib import Path

import pytest

from spec.vclock import VClock

REFERENCE = os.environ.get("VCLOCK_REFERENCE", "")
NODES = ("a", "b", "c", "d", "e", "f")
KINDS = ("increment", "increment", "increment", "merge", "merge", "descends", "descends",
         "prune", "equal")


def _erl(clock: VClock) -> str:
    times = dict(clock.times)
    return "[" + ",".join(f"{{{n},{{{c},{int(times[n])}}}}}" for n, c in clock.pairs) + "]"


def _step(op: tuple[object, ...], regs: list[VClock]) -> object:
    kind = op[0]
    if kind == "fresh":
        return VClock()
    first = regs[int(str(op[1]))]
    if kind == "increment":
        return first.increment(str(op[2]), float(str(op[3])))
    second = regs[int(str(op[2]))]
    if kind == "merge":
        return first.merge(second)
    if kind == "descends":
        return first.descends(second)
    if kind == "equal":
        return first == second
    raise ValueError(kind)


def _prune(op: tuple[object, ...], regs: list[VClock]) -> VClock:
    return regs[int(str(op[1]))].prune(int(str(op[2])))


def differential_programs(seed: int, programs: int) -> str:
    """Seeded programs as Erlang terms ``{Program, Step, Op, Expected}`` (what
    spec.vclock computes)."""
    rng = random.Random(seed)
    lines: list[str] = []
    now = 1000
    for number in range(programs):
        regs: list[VClock] = []
        for step in range(rng.randrange(5, 40)):
            now += rng.randrange(1, 5)
            kind = rng.choice(KINDS) if regs else "fresh"
            if regs and rng.random() < 0.05:
                kind = "fresh"
            i, j = (rng.randrange(len(regs)), rng.randrange(len(regs))) if regs else (0, 0)
            result: object
            if kind == "fresh":
                op: tuple[object, ...] = ("fresh",)
                result = _step(op, regs)
            elif kind == "increment":
                op = ("increment", i, rng.choice(NODES), now)
                result = _step(op, regs)
            elif kind == "prune":
                op = ("prune", i, rng.randrange(1, 6), now)
                result = _prune(op, regs)
            else:
                op = (kind, i, j)
                result = _step(op, regs)
            if isinstance(result, VClock):
                regs.append(result)
                expected = _erl(result)
            else:
                expected = "true" if result else "false"
            terms = ",".join(str(x) for x in op)
            lines.append(f"{{{number},{step},{{{terms}}},{expected}}}.")
    return "\n".join(lines) + "\n"


DRIVER = r"""-module(vclock_differential).
-export([main/1]).
main(File) ->
    {ok, Steps} = file:consult(File),
    {_, _, Bad} = lists:foldl(fun step/2, {-1, #{}, 0}, Steps),
    io:format("STEPS ~p MISMATCHES ~p~n", [length(Steps), Bad]).
step({P, S, Op, Expected}, {P0, Regs0, Bad}) ->
    Regs = case P of P0 -> Regs0; _ -> #{} end,
    Got = normal(run(Op, Regs)),
    Same = Got =:= Expected,
    Same orelse io:format("MISMATCH p~p step ~p ~p: ~p /= ~p~n", [P, S, Op, Got, Expected]),
    Regs2 = case is_list(Got) of true -> Regs#{map_size(Regs) => Got}; false -> Regs end,
    {P, Regs2, case Same of true -> Bad; false -> Bad + 1 end}.
normal(V) when is_list(V) -> lists:sort(V);
normal(B) -> B.
run({fresh}, _) -> vclock:fresh();
run({increment, I, Node, Ts}, R) -> vclock:increment(Node, Ts, maps:get(I, R));
run({merge, I, J}, R) -> vclock:merge([maps:get(I, R), maps:get(J, R)]);
run({descends, I, J}, R) -> vclock:descends(maps:get(I, R), maps:get(J, R));
run({equal, I, J}, R) ->  % spec equality is causal: counters only, not riak's equal/2
    A = maps:get(I, R), B = maps:get(J, R),
    vclock:descends(A, B) andalso vclock:descends(B, A);
run({prune, I, T, Now}, R) ->
    vclock:prune(maps:get(I, R), Now, [{small_vclock, T}, {big_vclock, T},
                                        {young_vclock, -1}, {old_vclock, 1 bsl 60}]).
"""


def test_the_programs_are_deterministic_and_cover_every_operation() -> None:
    text = differential_programs(20070101, 50)
    assert text == differential_programs(20070101, 50)
    for kind in ("fresh", "increment", "merge", "descends", "prune", "equal"):
        assert f"{{{kind}" in text


@pytest.mark.skipif(
    not (REFERENCE and shutil.which("erlc") and shutil.which("erl")),
    reason="set VCLOCK_REFERENCE to riak_core's src/vclock.erl, with Erlang installed",
)
def test_differential_against_riak_core(tmp_path: Path) -> None:
    """spec.vclock and riak_core's vclock agree step for step on seeded programs."""
    programs = int(os.environ.get("VCLOCK_PROGRAMS", "300"))
    (tmp_path / "steps.terms").write_text(differential_programs(20070101, programs))
    (tmp_path / "vclock_differential.erl").write_text(DRIVER)
    shutil.copy(REFERENCE, tmp_path / "vclock.erl")
    for source in ("vclock.erl", "vclock_differential.erl"):
        subprocess.run(["erlc", source], cwd=tmp_path, check=True, capture_output=True)
    out = subprocess.run(
        ["erl", "-noshell", "-pa", ".", "-eval",
         'vclock_differential:main("steps.terms"), halt().'],
        cwd=tmp_path, check=True, capture_output=True, text=True, timeout=600,
    ).stdout
    print(out.splitlines()[-1])
    assert "MISMATCHES 0" in out, out[:4000]
