"""Which graphs, searches and Z3 readings a test run builds more than once: an
opt-in pytest plugin and its summary (session 46).

Each call of the explorer's and the checkers' entry points (``check``,
``simulate_check``, ``explore_model``, ``explore``, ``reachable_graph``'s exploration
(its cache misses), ``walked_parts``' walks, ``shortest_tree``, ``conformance``, the Z3
agreement walks ``check_projections``, the proofs' ``decide``, tests/proof_cache.py's
``reachable``, the run caches' ``search``) is recorded with a key of its arguments,
its CPU (``time.process_time``, inclusive), the test it ran under (setup, call or
teardown), its nesting depth (calls within a recorded call are recorded too, depth
above 0), a fingerprint of its result (states, transitions, verdicts) and the names
of the ``spec``/``model_check`` functions replaced at that moment (a mutant's
monkeypatch: such a call is never shareable). ``EdgeCheck.holds`` is summed per
(test, configuration, predicate). One JSON line per call::

    CI=true VDYNAMO_DUPGRAPH=/tmp/dup python -m pytest -p tests.dupgraph_probe ...
    python -m tests.dupgraph_probe /tmp/dup [MIN_CPU [CPU_PROFILE_DIR]]

prints the keys built twice or more and, given a tests/cpu_profile.py directory of
an xdist run, how many builds the per-process caches (``reachable_graph``'s one
graph, the Z3 relations, the test modules' ``functools.cache``s: their requests are
recorded too, hits included) would make with the tests spread over the workers as
in that run (:func:`ci_builds`).

Not loaded unless ``-p tests.dupgraph_probe`` is given (CI never loads it).
Limits: a replaced method (``monkeypatch.setattr(Edit, "actor", ...)``) is not seen
as a replaced function, so a mutant's search can look like a repeat (read the tests
before sharing one); a search made by hand (a test's own breadth-first loop over
``spec.model.successors``) is not recorded; the scan for replaced functions before
each outermost call costs tens of milliseconds, so a test making thousands of calls
runs slower under the plugin (the calls' own CPU excludes it).
Docs: docs/model-checking.md, "Where CI's test time goes (session 46): graphs built
twice".
"""

from __future__ import annotations

import collections
import functools
import hashlib
import importlib
import inspect
import json
import os
import re
import sys
import time
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import IO, Any

import pytest

__all__ = ["ci_builds", "main", "pytest_collection_finish", "pytest_runtest_protocol",
           "repeats"]

#: (module, attribute) of each entry point wrapped
TARGETS = (
    ("model_check.explorer", "explore"),
    ("model_check.explorer", "explore_model"),
    ("model_check.check", "check"),
    ("model_check.check", "simulate_check"),
    ("model_check.refinement_conformance", "_explored_graph"),
    ("model_check.refinement_conformance", "_walked"),
    ("model_check.refinement_conformance", "shortest_tree"),
    ("model_check.refinement_conformance", "conformance"),
    ("model_check.proofs.agreement", "check_projections"),
    ("model_check.proofs.framework", "decide"),
    ("tests.proof_cache", "reachable"),
    ("tests.run_cache", "search"),
    # requests of a process's caches (hits too): "front" rows, not builds
    ("model_check.refinement_conformance", "reachable_graph"),
    ("model_check.proofs.edges", "_relation"),
)
#: the wrapped functions whose calls are requests of a per-process cache
FRONTS = {"refinement_conformance.reachable_graph", "edges._relation"}
_ADDRESS = re.compile(r" at 0x[0-9a-f]+")
_state: dict[str, Any] = {"test": "(collect)", "depth": 0, "out": None, "originals": None}
_holds: dict[tuple[str, str, str], list[float]] = collections.defaultdict(lambda: [0, 0.0])


def _describe(value: Any, depth: int = 0) -> str:
    """A stable text of an argument: a callable by its qualified name, a config by
    its name and a hash of its repr, containers element by element."""
    if depth > 3:
        return "..."
    name = getattr(value, "name", None)
    if type(value).__name__ == "Config" and isinstance(name, str):
        digest = hashlib.sha1(repr(value).encode()).hexdigest()[:8]
        return f"Config({name}#{digest})"
    if inspect.isfunction(value) or inspect.ismethod(value) or inspect.isbuiltin(value):
        return f"{getattr(value, '__module__', '?')}.{getattr(value, '__qualname__', '?')}"
    if isinstance(value, (list, tuple, set, frozenset)):
        items = [_describe(v, depth + 1) for v in value]
        if isinstance(value, (set, frozenset)):
            items.sort()
        return "[" + ",".join(items[:40]) + ("...]" if len(items) > 40 else "]")
    if isinstance(value, dict):
        return "{" + ",".join(f"{k}:{_describe(v, depth + 1)}"
                              for k, v in list(value.items())[:40]) + "}"
    if isinstance(value, (str, int, float, bool, type(None))):
        return repr(value)
    config = getattr(value, "config", None)
    if config is not None and type(config).__name__ == "Config":
        return f"{type(value).__qualname__}({_describe(config, depth + 1)})"
    if inspect.isgenerator(value) or isinstance(value, Iterator):
        return f"<{type(value).__name__}>"
    text = _ADDRESS.sub("", repr(value))
    if len(text) > 200:
        text = text[:80] + "#" + hashlib.sha1(text.encode()).hexdigest()[:8]
    return f"{type(value).__qualname__}:{text}"


def _fingerprint(value: Any) -> str:
    """Figures of a result that differ when the graph or the verdicts differ."""
    parts = []
    for attribute in ("distinct_states", "transitions", "states", "edges", "depth",
                      "disagreements", "exact_disagreements", "verdict"):
        found = getattr(value, attribute, None)
        if isinstance(found, (int, str)):
            parts.append(f"{attribute}={found}")
        elif isinstance(found, list):
            parts.append(f"{attribute}={len(found)}")
    results = getattr(value, "results", None)
    if isinstance(results, tuple):
        parts.append("v=" + ",".join(f"{getattr(r, 'property', '?')}:"
                                     f"{getattr(r, 'holds', getattr(r, 'verdict', '?'))}"
                                     for r in results))
    if isinstance(value, tuple) and len(value) == 2 and isinstance(value[0], dict):
        parts.append(f"parent={len(value[0])},edges={len(value[1])}")
    elif isinstance(value, dict):
        parts.append(f"dict={len(value)}")
    elif isinstance(value, list) and not parts:
        parts.append(f"list={len(value)}")
    return " ".join(parts) or type(value).__name__


def _functions() -> dict[tuple[str, str], Any]:
    out = {}
    for name, module in list(sys.modules.items()):
        if module is None or not name.startswith(("spec", "model_check", "impl")):
            continue
        for attribute, value in list(vars(module).items()):
            if inspect.isfunction(value) or inspect.isclass(value):
                out[name, attribute] = value
    return out


def _replaced() -> list[str]:
    originals = _state["originals"]
    if originals is None:
        return []
    now = _functions()
    return sorted(f"{m}.{a}" for (m, a), value in now.items()
                  if (m, a) in originals and originals[m, a] is not value
                  and getattr(value, "__wrapped__", None) is not originals[m, a])[:8]


def _write(record: dict[str, Any]) -> None:
    if _state["out"] is None:
        directory = Path(os.environ.get("VDYNAMO_DUPGRAPH", "."))
        directory.mkdir(parents=True, exist_ok=True)
        worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
        _state["out"] = (directory / f"dup-{worker}.jsonl").open("a", encoding="utf-8")
    out: IO[str] = _state["out"]
    out.write(json.dumps(record) + "\n")
    out.flush()


def _key(name: str, function: Callable[..., Any], args: tuple[Any, ...],
         kwargs: dict[str, Any]) -> str:
    try:
        bound = inspect.signature(function).bind(*args, **kwargs)
        bound.apply_defaults()  # a default passed or not: one key
        items = list(bound.arguments.items())
    except TypeError:
        items = [(str(i), a) for i, a in enumerate(args)] + list(kwargs.items())
    return name + "(" + ", ".join(
        f"{k}={'<shared>' if k == 'relations' and v is not None else _describe(v)}"
        for k, v in items) + ")"


def _timed(call: Callable[[], Any]) -> tuple[Any, float]:
    """``call()`` one level deeper, and its CPU seconds."""
    _state["depth"] += 1
    start = time.process_time()
    try:
        value = call()
    finally:
        _state["depth"] -= 1
    return value, time.process_time() - start


def _wrap(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    """``function`` recorded call by call (see the module docstring)."""
    if name.endswith(".decide"):
        return _wrap_decide(name, function)
    generator = inspect.isgeneratorfunction(function)

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        key = _key(name, function, args, kwargs)
        replaced = _replaced() if _state["depth"] == 0 else []
        test = _state["test"]
        depth = _state["depth"]
        if generator:
            return _timed_generator(name, key, test, depth, replaced,
                                    function(*args, **kwargs))
        value, cpu = _timed(lambda: function(*args, **kwargs))
        _write({"test": test, "fn": name, "key": key, "cpu": cpu, "depth": depth,
                "result": _fingerprint(value), "replaced": replaced,
                "front": name in FRONTS})
        return value

    return wrapper


def _wrap_caches() -> None:
    """Wrap the ``functools.cache``d functions of the test modules: each request
    recorded as a front row (hit or miss: ``miss``)."""
    for module_name, module in list(sys.modules.items()):
        if module is None or not module_name.startswith("tests."):
            continue
        for attribute, value in list(vars(module).items()):
            if not (callable(value) and hasattr(value, "cache_info")
                    and getattr(value, "__module__", "") == module_name):
                continue
            name = f"{module_name.rsplit('.', 1)[-1]}.{attribute}"
            setattr(module, attribute, _cached_front(name, value))


def _cached_front(name: str, cached: Any) -> Callable[..., Any]:
    """``cached`` (a ``functools.cache``d function) recorded request by request."""

    @functools.wraps(cached)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        misses = cached.cache_info().misses
        test, depth = _state["test"], _state["depth"]
        value, cpu = _timed(lambda: cached(*args, **kwargs))
        key = _key(name, cached.__wrapped__, args, kwargs)
        _write({"test": test, "fn": name, "key": key, "cpu": cpu, "depth": depth,
                "result": _fingerprint(value), "replaced": [], "front": True,
                "miss": cached.cache_info().misses > misses})
        return value

    return wrapper


def _timed_generator(name: str, key: str, test: str, depth: int, replaced: list[str],
                     inner: Iterator[Any]) -> Iterator[Any]:
    cpu = 0.0
    count = 0
    try:
        while True:
            start = time.process_time()
            try:
                item = next(inner)
            except StopIteration:
                cpu += time.process_time() - start
                break
            cpu += time.process_time() - start
            count += 1
            yield item
    finally:
        _write({"test": test, "fn": name, "key": key, "cpu": cpu, "depth": depth,
                "result": f"items={count}", "replaced": replaced})


def _wrap_decide(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(function)
    def wrapper(queries: Any, *args: Any, **kwargs: Any) -> Any:
        labels: list[str] = []
        digest = hashlib.sha1()

        def noted() -> Iterator[Any]:
            for query in queries:
                labels.append(query.label)
                for assertion in query.assertions:
                    digest.update(str(getattr(assertion, "hash", lambda: 0)()).encode())
                yield query

        test, depth = _state["test"], _state["depth"]
        replaced = _replaced() if depth == 0 else []
        value, cpu = _timed(lambda: function(noted(), *args, **kwargs))
        key = f"{name}({len(labels)} queries: {','.join(labels[:6])}#{digest.hexdigest()[:10]})"
        _write({"test": test, "fn": name, "key": key, "cpu": cpu, "depth": depth,
                "result": str(getattr(value, "verdict", type(value).__name__)),
                "replaced": replaced})
        return value

    return wrapper


def _wrap_holds() -> None:
    from model_check.proofs.edges import EdgeCheck

    original = EdgeCheck.holds

    @functools.wraps(original)
    def holds(self: Any, predicate: Any, state: Any) -> Any:
        start = time.process_time()
        try:
            return original(self, predicate, state)
        finally:
            entry = _holds[(_state["test"], str(getattr(self, "config", None) and
                                                getattr(self.config, "name", "?")),
                            _describe(predicate))]
            entry[0] += 1
            entry[1] += time.process_time() - start

    EdgeCheck.holds = holds  # type: ignore[method-assign]


_WRAPPERS: dict[int, tuple[Any, Any]] = {}


def _patch() -> None:
    """Wrap every target and rebind every module attribute that still holds an original."""
    for module_name, attribute in TARGETS:
        module = importlib.import_module(module_name)
        current = getattr(module, attribute)
        if id(current) in {id(w) for _, w in _WRAPPERS.values()}:
            continue
        wrapper = _wrap(f"{module_name.rsplit('.', 1)[-1]}.{attribute}", current)
        _WRAPPERS[id(current)] = (current, wrapper)
        setattr(module, attribute, wrapper)
    for module in list(sys.modules.values()):
        try:
            items = list(vars(module).items())
        except TypeError:  # a module without a namespace
            continue
        for attribute, value in items:
            found = _WRAPPERS.get(id(value))
            if found is not None and found[0] is value:
                setattr(module, attribute, found[1])


_patch()
_wrap_holds()


def pytest_collection_finish(session: pytest.Session) -> None:
    """Rebind what the test modules imported, and note the functions as they are."""
    _patch()
    _wrap_caches()
    _state["originals"] = _functions()


def _flush_holds() -> None:
    for (test, config, predicate), (count, cpu) in _holds.items():
        _write({"test": test, "fn": "EdgeCheck.holds", "key": f"holds({config}, {predicate})",
                "cpu": cpu, "depth": 0, "result": f"calls={count}", "replaced": [],
                "aggregate": True})
    _holds.clear()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None
                            ) -> Generator[None, Any, None]:
    """Note the test running, so that each call is recorded under it."""
    _state["test"] = item.nodeid
    yield
    _flush_holds()
    _state["test"] = "(between)"


def _rows(directory: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for path in sorted(directory.glob("dup-*.jsonl"))
            for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def repeats(rows: list[dict[str, Any]]) -> list[tuple[float, str, list[dict[str, Any]]]]:
    """The keys computed twice or more by outermost calls (depth 0, no function
    replaced, not a cache's request): (the CPU-s of all but the costliest build, the
    key, its calls), costliest first."""
    by_key: dict[str, list[dict[str, Any]]] = collections.defaultdict(list)
    for row in rows:
        if row["depth"] == 0 and not row["replaced"] and not row.get("front"):
            by_key[row["key"]].append(row)
    found = []
    for key, calls in by_key.items():
        if len(calls) > 1:
            spent = sorted(r["cpu"] for r in calls)
            found.append((sum(spent[:-1]), key, calls))
    return sorted(found, key=lambda r: -r[0])


def _builds(order: list[dict[str, Any]], keep_one: bool) -> collections.Counter[str]:
    """The builds per key of a cache asked for ``order``'s keys in turn: one key kept
    (``keep_one``) or all of them."""
    made: collections.Counter[str] = collections.Counter()
    last, seen = None, set()
    for r in order:
        if (r["key"] != last) if keep_one else (r["key"] not in seen):
            made[r["key"]] += 1
        last = r["key"]
        seen.add(r["key"])
    return made


def ci_builds(rows: list[dict[str, Any]], workers: Path
              ) -> dict[str, tuple[int, int, float, float]]:
    """The builds of each per-process cache the run's requests (the front rows) would
    make under xdist, the tests spread over the workers as a profile of
    tests/cpu_profile.py records them (``workers``: its directory, one file per
    worker, each in the worker's order): per cached function, (builds in one
    process, builds across the workers, the CPU-s of the repeats of each).
    ``reachable_graph`` keeps one graph (``lru_cache(maxsize=1)``), the others every
    key. KeyError for a test the profile does not hold."""
    where: dict[str, tuple[str, int]] = {}
    for path in sorted(workers.glob("cpu-*.jsonl")):
        for index, line in enumerate(path.read_text(encoding="utf-8").splitlines()):
            where[json.loads(line)["id"]] = (path.stem, index)
    out = {}
    for fn in sorted({r["fn"] for r in rows if r.get("front")}):
        requests = [(i, r) for i, r in enumerate(rows) if r.get("front") and r["fn"] == fn]
        cost: dict[str, float] = collections.defaultdict(float)
        for _, r in requests:
            cost[r["key"]] = max(cost[r["key"]], r["cpu"])
        keep_one = fn.endswith("reachable_graph")
        one = _builds([r for _, r in requests], keep_one)
        spread: collections.Counter[str] = collections.Counter()
        per_worker: dict[str, list[tuple[int, int, dict[str, Any]]]] = (
            collections.defaultdict(list))
        for i, r in requests:
            worker, position = where[r["test"]]
            per_worker[worker].append((position, i, r))
        for items in per_worker.values():
            spread.update(_builds([r for _, _, r in sorted(items, key=lambda t: t[:2])],
                                  keep_one))
        out[fn] = (sum(one.values()), sum(spread.values()),
                   sum((n - 1) * cost[k] for k, n in one.items()),
                   sum((n - 1) * cost[k] for k, n in spread.items()))
    return out


def main(argv: list[str]) -> None:
    """Print the keys computed more than once (outermost calls, depth 0), the CPU of
    each and the tests; ``argv``: the directory, then the least CPU-s of the repeats
    to print (1 by default), then optionally a tests/cpu_profile.py directory of an
    xdist run whose spread of the tests over the workers :func:`ci_builds` applies."""
    rows = _rows(Path(argv[0]))
    least = float(argv[1]) if len(argv) > 1 else 1.0
    found = repeats(rows)
    total = sum(r["cpu"] for r in rows if r["depth"] == 0 and not r.get("front"))
    print(f"{len(rows)} calls, outermost CPU {total:.0f} s; "
          f"repeated (not under a replaced function): "
          f"{sum(r[0] for r in found):.0f} CPU-s over {len(found)} keys")
    for repeat_cpu, key, calls in found:
        if repeat_cpu < least:
            continue
        results = sorted({r["result"] for r in calls})
        tests = collections.Counter(r["test"] for r in calls)
        print(f"\n{repeat_cpu:7.1f} CPU-s repeated, built {len(calls)}x, each "
              + ", ".join(f"{r['cpu']:.1f}" for r in calls))
        print(f"  key: {key[:600]}")
        print(f"  result{'s DIFFER' if len(results) > 1 else ''}: {results[:3]}")
        for test, count in tests.most_common(12):
            print(f"  {count}x {test}")
    if len(argv) > 2:
        print("\nper-process caches: builds in one process -> across the workers "
              "(CPU-s of the repeats)")
        for fn, (one, spread, one_cpu, spread_cpu) in ci_builds(rows, Path(argv[2])).items():
            print(f"  {fn}: {one} -> {spread} ({one_cpu:.1f} -> {spread_cpu:.1f})")


if __name__ == "__main__":
    main(sys.argv[1:])
