"""The library's resolve hook as a new user writes it: an ``async def`` merge beside
``connect_async`` (aiohttp/asyncpg habits; riak-python-client's resolvers are plain
functions), a callable object whose ``__call__`` is async, a plain ``def`` that
returns a coroutine; and siblings of very different sizes (1 byte, empty, two of
600 KB whose merge is over ``max_value_bytes``). 05g/12l call hooks that merge
small values or raise; 23e checks a hook that is not callable.

3 processes (`serve --all`), defaults (max_value_bytes 1 MiB). Siblings are made by
blind puts of fresh clients at w=3.

Right value: a coroutine function given as ``resolve`` is refused at connect
(LocalError naming it, nothing sent), for both clients; a def returning a
coroutine: InvalidValueError at the get, no "never awaited" RuntimeWarning (run
with ``-W error::RuntimeWarning``: none printed), the siblings left; siblings
``b""`` and ``x`` merge to the hook's value; a merge of 1,200,001 bytes: the get
answers it with ``write_back_error`` naming the 413, the siblings stay, and a put of
it raises RequestRefusedError 413.

Found (session 61): both clients took ``async def`` hooks; every get of a key with
siblings then raised InvalidValueError "the resolve hook returned coroutine",
RuntimeWarning "coroutine ... was never awaited" on stderr. Fixed:
``impl.http_client._check_client`` refuses a coroutine function (or an object with
an async ``__call__``) at connect; ``get_plan`` closes a returned coroutine;
tests/vdynamo/test_client_values.py::test_an_async_resolve_hook_is_refused_at_connect.

Run from the project's root:
    .venv/bin/python -W error::RuntimeWarning \
        probes/23p-library-resolve-hooks-async-and-lopsided-siblings.py
"""
import asyncio
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, ".")
sys.path.insert(0, str(Path(__file__).resolve().parent))
import vdynamo
from _cluster import Checks, LocalNodes
from impl.errors import DynamoError, InvalidValueError, LocalError


async def amerge(values: list[bytes]) -> bytes:
    return b"+".join(values)


class AsyncMerge:
    async def __call__(self, values: list[bytes]) -> bytes:
        return b"+".join(values)


def main() -> None:
    check = Checks()
    with LocalNodes(nodes=3) as c:
        seeds = [f"127.0.0.1:{c.http[n]}" for n in c.names]
        time.sleep(1)

        def blind(key: str, values: list[bytes]) -> None:
            for v in values:
                with vdynamo.connect(seeds) as x:
                    x.put(key, v, w=3)

        def siblings(key: str) -> list[bytes]:
            with vdynamo.connect(seeds) as x:
                return sorted(x.get(key, r=3).values)

        blind("s", [b"", b"x"])
        with vdynamo.connect(seeds, resolve=lambda vs: b"|".join(sorted(vs))) as db:
            got = db.get("s", r=3)
            check("empty and x merge to |x", got.values == [b"|x"], got.values)

        blind("big", [b"a" * 600_000, b"b" * 600_000, b"c"])
        with vdynamo.connect(seeds, resolve=lambda vs: b"".join(vs)) as db:
            got = db.get("big", r=3)
            check("over-limit merge answered, write-back error names 413",
                  [len(v) for v in got.values] == [1_200_001]
                  and "413" in (got.write_back_error or ""), got.write_back_error)
            try:
                db.put("big", got.values[0], context=got.context)
                check("put of the over-limit merge refused", False, "taken")
            except vdynamo.RequestRefusedError as err:
                check("put of the over-limit merge refused 413", err.status == 413, err)
        check("big keeps its three siblings", len(siblings("big")) == 3, len(siblings("big")))

        blind("as", [b"1", b"2"])
        for label, hook in (("async def", amerge), ("async __call__", AsyncMerge())):
            for connect in (vdynamo.connect, vdynamo.connect_async):
                try:
                    client = connect(seeds, resolve=hook)
                    seen = "taken at connect"
                    if connect is vdynamo.connect:
                        try:
                            client.get("as", r=3)
                        except DynamoError as err:
                            seen += f"; get: {type(err).__name__}: {str(err)[:80]}"
                        client.close()
                    else:
                        async def use(db: vdynamo.AsyncClient) -> str:
                            async with db:
                                try:
                                    await db.get("as", r=3)
                                    return ""
                                except DynamoError as err:
                                    return f"; get: {type(err).__name__}: {str(err)[:80]}"
                        seen += asyncio.run(use(client))
                    check(f"{label} hook refused at {connect.__name__}", False, seen)
                except LocalError as err:
                    check(f"{label} hook refused at {connect.__name__}",
                          "coroutine" in str(err), err)

        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            with vdynamo.connect(seeds, resolve=lambda vs: amerge(vs)) as db:  # type: ignore
                try:
                    db.get("as", r=3)
                    check("def returning a coroutine refused at the get", False, "taken")
                except InvalidValueError as err:
                    check("def returning a coroutine refused at the get",
                          "coroutine" in str(err), err)
            import gc
            gc.collect()
        never = [str(w.message) for w in caught if "never awaited" in str(w.message)]
        check("no 'never awaited' warning", not never, never)
        check("as keeps its two siblings", siblings("as") == [b"1", b"2"], siblings("as"))
    check.finish()


if __name__ == "__main__":
    main()
