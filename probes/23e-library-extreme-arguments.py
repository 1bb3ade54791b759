"""The Python client library given arguments at their edges (a new user's typo, a
value in the wrong unit, "no timeout" written as 1e308 or float('inf')): node
addresses that are not host:port, timeouts and deadlines of 1e308, nan, inf, 0,
-1 and 86401 s, `max_answer_bytes` of 0 and -1, keys and values of the wrong
type, quorums of 0, N+1, "2", True and 2.0, contexts tampered, of the wrong type,
with CR LF inside, of 200 KB; for the blocking and the asyncio client.

3 processes (`serve --all`), defaults. Right value: each call either succeeds or
raises a DynamoError subclass (LocalError / InvalidValueError with "nothing was
sent" for what is refused before sending, RequestRefusedError for what a node
refuses), never a bare OverflowError, ValueError, TypeError or httpx error; and
the key `k` keeps its value ([v]) at r=3 after every refused write.

Found (session 56): `connect(nodes, timeout_s=1e308)` was taken (only nan, inf,
0 and negatives were refused) and each get then raised a bare OverflowError
("timestamp out of range for platform time_t") from the socket's timeout.
Fixed: impl.http_client.MAX_SECONDS (a day) bounds timeout_s, deadline_s and
refresh_s at connect (LocalError); tests/vdynamo/test_client_values.py pins it.

Run from the project's root: .venv/bin/python probes/23e-library-extreme-arguments.py
"""
import asyncio
import math
import sys
from collections.abc import Awaitable, Callable

from _cluster import LocalNodes

bad: list[str] = []


def check(what: str, ok: bool, seen: object = "") -> None:
    if not ok:
        print(f"FAIL {what}: {str(seen)[:300]}")
        bad.append(what)


def outcome(what: str, err: Exception | None) -> str:
    """"ok", the DynamoError subclass's name, or "bare" (a failed check)."""
    from impl.errors import DynamoError
    if err is None:
        return "ok"
    if isinstance(err, DynamoError):
        return type(err).__name__
    check(f"{what}: a DynamoError or success", False, f"{type(err).__name__}: {err}")
    return "bare"


def attempt(what: str, call: Callable[[], object]) -> str:
    try:
        call()
    except Exception as err:
        return outcome(what, err)
    return outcome(what, None)


async def attempt_async(what: str, call: Callable[[], Awaitable[object]]) -> str:
    try:
        await call()
    except Exception as err:
        return outcome(what, err)
    return outcome(what, None)


with LocalNodes(nodes=3) as cluster:
    import vdynamo
    nodes = [f"127.0.0.1:{cluster.http[n]}" for n in cluster.names]
    seen: dict[str, str] = {}
    for what, kwargs in [
            ("timeout 1e308", {"timeout_s": 1e308}), ("timeout 86401", {"timeout_s": 86401.0}),
            ("timeout nan", {"timeout_s": math.nan}), ("timeout inf", {"timeout_s": math.inf}),
            ("timeout 0", {"timeout_s": 0}), ("timeout -1", {"timeout_s": -1}),
            ("deadline 1e308", {"deadline_s": 1e308}), ("deadline 0", {"deadline_s": 0}),
            ("deadline nan", {"deadline_s": math.nan}),
            ("max_answer 0", {"max_answer_bytes": 0}), ("max_answer -1", {"max_answer_bytes": -1})]:
        seen[what] = attempt(what, lambda kw=kwargs: vdynamo.connect(nodes, **kw).get("k"))
    for what, addresses in [("no nodes", []), ("one str", nodes[0]), ("http:// only", ["http://"]),
                            ("port 99999", ["127.0.0.1:99999"]), ("a path", [f"http://{nodes[0]}/kv"]),
                            ("None", [None])]:
        seen[what] = attempt(what, lambda a=addresses: vdynamo.connect(a).get("k"))
    db = vdynamo.connect(nodes)
    db.put("k", b"v")
    context = db.get("k").context
    flipped = context[:-3] + ("A" if context[-3] != "A" else "B") + context[-2:]
    for what, call in [
            ("get int key", lambda: db.get(123)), ("get None key", lambda: db.get(None)),
            ("put None value", lambda: db.put("k", None)), ("get r=0", lambda: db.get("k", r=0)),
            ("get r=4", lambda: db.get("k", r=4)), ("get r='2'", lambda: db.get("k", r="2")),
            ("get r=True", lambda: db.get("k", r=True)), ("get r=2.0", lambda: db.get("k", r=2.0)),
            ("put w=-1", lambda: db.put("k", b"x", w=-1)),
            ("put context garbage", lambda: db.put("k", b"x", context="garbage!")),
            ("put context bytes", lambda: db.put("k", b"x", context=b"abc")),
            ("put context flipped", lambda: db.put("k", b"x", context=flipped)),
            ("put context 200 KB", lambda: db.put("k", b"x", context="A" * 200_000)),
            ("put context CRLF", lambda: db.put("k", b"x", context=context + "\r\nX-Evil: 1")),
            ("delete context CRLF", lambda: db.delete("k", context="a\r\nb"))]:
        seen[what] = attempt(what, call)
    check("k keeps [v] after the refused writes", list(db.get("k", r=3).values) == [b"v"],
          db.get("k", r=3).values)
    db.close()

    async def asynchronous() -> None:
        async with vdynamo.connect_async(nodes) as adb:
            for what, call in [("async get int", lambda: adb.get(5)),
                               ("async r=0", lambda: adb.get("k", r=0)),
                               ("async context CRLF",
                                lambda: adb.put("k", b"x", context="a\r\nb"))]:
                seen[what] = await attempt_async(what, call)
        for what, kwargs in [("async timeout 1e308", {"timeout_s": 1e308}),
                             ("async deadline 1e308", {"deadline_s": 1e308})]:
            async def one(kw: dict[str, float] = kwargs) -> None:
                async with vdynamo.connect_async(nodes, **kw) as client:
                    await client.get("k")
            seen[what] = await attempt_async(what, one)
    asyncio.run(asynchronous())
    for what, outcome in seen.items():
        print(f"{what:24s} {outcome}")
    for what in ("timeout 1e308", "timeout 86401", "deadline 1e308", "async timeout 1e308"):
        check(f"{what}: refused at connect", seen[what] == "LocalError", seen[what])
if bad:
    print(f"FAIL: {len(bad)} checks failed")
    sys.exit(1)
print("PASS")
