"""The client library's calls interrupted at random points mid-request, then the same
client used again: asyncio's ``wait_for`` / ``asyncio.timeout`` around each call (a
web handler's own time budget: the task is cancelled wherever it is), and, for the
blocking client, an exception raised from a signal handler (Celery's soft time limit
and the ``timeout-decorator`` package raise so from SIGALRM; Ctrl-C is the same).
encode/httpcore#785 and aiohttp's "connection reused after cancellation" reports:
a cancelled request left its connection in the pool half-read, the next request on
it read the old answer. 21g idles kept-alive connections, 12f shares one client
between threads, 23k forks it; nobody cancels calls.

Real processes (`vdynamo serve --all`), 3 nodes, defaults. Keys ``k0..k9`` each hold a
value naming its key. Per client (async, then blocking), SEED-drawn: 300 calls, each
a get of a ``k`` or a put of a fresh key ``p<i>`` (a value naming it), bounded by a
budget drawn in 0.2-25 ms (async: ``asyncio.wait_for``) or 1-80 ms (blocking: ``setitimer``,
its handler raising). Then, with no budget: every ``k`` read through that client,
and 40 more calls.

Right value: every call that returned gave the right answer (a get its own key's
value; a put's value stored whole); every interrupted put's key holds its value or
nothing (never another's bytes); afterwards every call of the same client succeeds
with the right value within its deadline (no turn or connection leaked, no answer of
an interrupted call read by a later one).

Run from the project's root: .venv/bin/python probes/23l-library-calls-interrupted-mid-request.py [SEED]
"""
import asyncio
import random
import signal
import sys
import time
from pathlib import Path

sys.path.insert(0, ".")
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _cluster import Checks, LocalNodes

import vdynamo

SEED = int(sys.argv[1]) if len(sys.argv) > 1 else 1
CALLS = 300
check = Checks()


class Budget(Exception):
    """A call's own time budget ran out (raised from SIGALRM's handler)."""


def value_of(key: str) -> bytes:
    return f"value-of-{key}".encode() * 4


def alarm(_signum: int, _frame: object) -> None:
    raise Budget


def judge(who: str, wrong: list[object], errors: list[str], puts: dict[str, bool],
          fresh: vdynamo.Client) -> None:
    check(f"{who}: every call that returned answered rightly", not wrong, wrong[:3])
    check(f"{who}: no error but the budget's", not errors, errors[:3])
    bad = []
    for key, acked in puts.items():
        got = fresh.get(key, r=3).values
        if got != [value_of(key)] and (acked or got):
            bad.append((key, acked, [v[:40] for v in got]))
    check(f"{who}: every put's key holds its value (an interrupted one: or nothing)",
          not bad, bad[:3])


async def run_async(nodes: list[str], rng: random.Random) -> tuple[list[object], list[str],
                                                                   dict[str, bool], int]:
    wrong: list[object] = []
    errors: list[str] = []
    puts: dict[str, bool] = {}
    cut = 0
    async with vdynamo.connect_async(nodes) as db:
        for i in range(CALLS):
            budget = rng.uniform(0.0002, 0.025)
            if rng.random() < 0.5:
                key = f"k{rng.randrange(10)}"
                try:
                    got = await asyncio.wait_for(db.get(key), budget)
                    if got.values != [value_of(key)]:
                        wrong.append((key, [v[:40] for v in got.values]))
                except TimeoutError:
                    cut += 1
                except Exception as err:  # reported: the right value is none
                    errors.append(f"get {key}: {type(err).__name__}: {str(err)[:150]}")
            else:
                key = f"pa{SEED}-{i}"
                puts[key] = False
                try:
                    await asyncio.wait_for(db.put(key, value_of(key)), budget)
                    puts[key] = True
                except TimeoutError:
                    cut += 1
                except Exception as err:  # reported
                    errors.append(f"put {key}: {type(err).__name__}: {str(err)[:150]}")
        started = time.monotonic()
        for j in range(50):
            key = f"k{j % 10}"
            try:
                got = await db.get(key)
                if got.values != [value_of(key)]:
                    wrong.append(("after", key, [v[:40] for v in got.values]))
                if j % 2:
                    extra = f"pa{SEED}-after-{j}"
                    await db.put(extra, value_of(extra))
                    puts[extra] = True
            except Exception as err:  # reported
                errors.append(f"after {key}: {type(err).__name__}: {str(err)[:150]}")
        check("async: the 50 calls after took under 20 s", time.monotonic() - started < 20,
              round(time.monotonic() - started, 1))
    return wrong, errors, puts, cut


def run_blocking(nodes: list[str], rng: random.Random) -> tuple[list[object], list[str],
                                                                dict[str, bool], int]:
    wrong: list[object] = []
    errors: list[str] = []
    puts: dict[str, bool] = {}
    cut = 0
    signal.signal(signal.SIGALRM, alarm)
    with vdynamo.connect(nodes) as db:
        for i in range(CALLS):
            budget = rng.uniform(0.001, 0.08)
            get = rng.random() < 0.5
            key = f"k{rng.randrange(10)}" if get else f"pb{SEED}-{i}"
            if not get:
                puts[key] = False
            try:
                signal.setitimer(signal.ITIMER_REAL, budget)
                try:
                    if get:
                        got = db.get(key)
                    else:
                        db.put(key, value_of(key))
                finally:
                    signal.setitimer(signal.ITIMER_REAL, 0)
                if get and got.values != [value_of(key)]:
                    wrong.append((key, [v[:40] for v in got.values]))
                if not get:
                    puts[key] = True
            except Budget:
                cut += 1
            except Exception as err:  # reported
                errors.append(f"{key}: {type(err).__name__}: {str(err)[:150]}")
        started = time.monotonic()
        for j in range(50):
            key = f"k{j % 10}"
            try:
                got = db.get(key)
                if got.values != [value_of(key)]:
                    wrong.append(("after", key, [v[:40] for v in got.values]))
                if j % 2:
                    extra = f"pb{SEED}-after-{j}"
                    db.put(extra, value_of(extra))
                    puts[extra] = True
            except Exception as err:  # reported
                errors.append(f"after {key}: {type(err).__name__}: {str(err)[:150]}")
        check("blocking: the 50 calls after took under 20 s", time.monotonic() - started < 20,
              round(time.monotonic() - started, 1))
    return wrong, errors, puts, cut


with LocalNodes(nodes=3) as cluster:
    nodes = [f"127.0.0.1:{cluster.http[name]}" for name in cluster.names]
    rng = random.Random(SEED)
    with vdynamo.connect(nodes) as fresh:
        for k in range(10):
            fresh.put(f"k{k}", value_of(f"k{k}"))
        wrong, errors, puts, cut = asyncio.run(run_async(nodes, rng))
        print(f"async: {cut} of {CALLS} calls cut by their budget")
        judge("async", wrong, errors, puts, fresh)
        wrong, errors, puts, cut = run_blocking(nodes, rng)
        print(f"blocking: {cut} of {CALLS} calls cut by their budget")
        judge("blocking", wrong, errors, puts, fresh)
check.finish()
