"""The client library refuses a value, key or context that is not one, before anything
is sent (session 15's probe B): httpx sends ``content=None`` as an empty body and an
iterable of bytes as a chunked stream, so ``put("k", None)`` stored ``b""`` and
answered a context, and a resolve hook that returned None (a ``list.sort()`` in
place of ``sorted``) replaced every sibling with ``b""``."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import impl
from impl.errors import InvalidValueError
from impl.http_client import Fetched, Router, put_plan, value_bytes
from tests.runtime.live import run

SEEDS = ["127.0.0.1:1"]


@pytest.mark.parametrize("value", [None, 5, 1.5, [b"a", b"b"], (b"a",), {"a": 1},
                                   iter([b"a"]), True])
def test_a_value_that_is_not_bytes_is_refused_before_any_request(value: Any) -> None:
    plan = put_plan(Router(SEEDS, refresh_s=60.0, now=lambda: 0.0), "k", value, None,
                    "application/octet-stream", None)
    with pytest.raises(InvalidValueError, match="value: must be bytes"):
        next(plan)


@pytest.mark.parametrize(("value", "sent"), [(b"v", b"v"), (bytearray(b"ba"), b"ba"),
                                             (memoryview(b"mv"), b"mv"), ("v\u00e9", b"v\xc3\xa9"),
                                             (b"", b"")])
def test_bytes_like_values_and_text_are_sent_as_bytes(value: Any, sent: bytes) -> None:
    assert value_bytes(value) == sent and type(value_bytes(value)) is bytes  # not a view


def test_a_str_value_with_no_utf8_form_is_refused_naming_it() -> None:
    with pytest.raises(InvalidValueError, match="value: not valid UTF-8"):
        value_bytes("a\udcff")


@pytest.mark.parametrize("key", [None, 5, [b"k"]])
def test_a_key_that_is_not_bytes_or_str_is_refused(key: Any) -> None:
    plan = put_plan(Router(SEEDS, refresh_s=60.0, now=lambda: 0.0), key, b"v", None,
                    "application/octet-stream", None)
    with pytest.raises(InvalidValueError, match="key: must be bytes or str"):
        next(plan)


def test_a_context_that_is_not_a_str_is_refused() -> None:
    plan = put_plan(Router(SEEDS, refresh_s=60.0, now=lambda: 0.0), "k", b"v", 5,  # type: ignore[arg-type]
                    "application/octet-stream", None)
    with pytest.raises(InvalidValueError, match="context: must be a str"):
        next(plan)


def test_put_none_stores_nothing_and_a_resolver_returning_none_keeps_the_siblings() -> None:
    async def scenario() -> None:
        async with impl.LocalCluster(nodes=3, n=3, r=2, w=2, request_timeout=5.0) as cluster:
            client = cluster.client()
            with pytest.raises(InvalidValueError):
                await client.put("k", None)  # type: ignore[arg-type]
            assert (await client.get("k")).values == []  # before: [b""], acknowledged
            with pytest.raises(InvalidValueError):
                await client.put("k", [b"a", b"b"])  # type: ignore[arg-type]
            assert (await client.get("k")).values == []  # before: [b"ab"]
            await client.put("cart", b"milk")
            await client.put("cart", b"eggs")  # a blind put: two siblings

            def forgetful(values: list[bytes]) -> bytes:
                values.sort()  # sorts in place and returns None: a bug of the app
                return None  # type: ignore[return-value]

            sloppy = impl.http_client.AsyncClient(
                [str(cluster.servers[0].http_address)], resolve=forgetful)
            async with sloppy:
                with pytest.raises(InvalidValueError, match="the resolve hook returned "
                                   "NoneType"):  # named (the review: put's check alone said
                    await sloppy.get("cart")  # "value: must be bytes", the hook unnamed)
            # before: the merge b"" was written with the get's context, replacing both
            assert sorted((await client.get("cart", r=3)).values) == [b"eggs", b"milk"]
            await asyncio.sleep(0)
    run(scenario())


def test_an_empty_context_is_refused_not_sent_as_none() -> None:
    """``context=""`` (an empty variable; ``vdynamo delete k --context "$CTX"`` with CTX
    unset) was sent as no context: the delete read the key and deleted the sibling
    written after the client's read too, and a put became a blind sibling."""
    from tests.runtime.procs import cli

    async def scenario() -> None:
        async with impl.LocalCluster(nodes=3, n=3, r=2, w=2, request_timeout=5.0) as cluster:
            client = cluster.client()
            await client.put("cart", b"milk")
            await client.get("cart")  # the client's read: it saw milk only
            await client.put("cart", b"eggs")  # another writer's, concurrent
            with pytest.raises(InvalidValueError, match="context: empty"):
                await client.delete("cart", context="")
            with pytest.raises(InvalidValueError, match="context: empty"):
                await client.put("cart", b"bread", context="")
            node = str(cluster.servers[0].http_address)
            done = await asyncio.to_thread(cli, "delete", "cart", "--node", node,
                                           "--context", "")
            assert done.returncode == 1 and "context: empty" in done.stderr, done
            # before: [] (the deletes removed eggs, never read) or [bread, eggs, milk]
            assert sorted((await client.get("cart", r=3)).values) == [b"eggs", b"milk"]
    run(scenario())


@pytest.mark.parametrize("timeout_s", [-1, 0, float("nan"), float("inf"), "5", True, 1e308,
                                       86400.5])
def test_a_timeout_that_is_not_a_positive_finite_number_is_refused_at_connect(
        timeout_s: Any) -> None:
    # before: -1 and NaN raised httpx's bare ValueError at the first request, inf an
    # OverflowError, 0 a NoNodeError "ConnectError" with every node up; 1e308 (session
    # 56's probe 56b) a bare OverflowError "timestamp out of range for platform time_t"
    # at the first get. Mutant: MAX_SECONDS's bound dropped from _check_seconds: the
    # 1e308 and 86400.5 cases fail (DID NOT RAISE)
    import vdynamo
    from impl.errors import LocalError

    with pytest.raises(LocalError, match="timeout_s must be a positive finite number"):
        vdynamo.connect(["127.0.0.1:1"], timeout_s=timeout_s)
    with pytest.raises(LocalError, match="timeout_s must be a positive finite number"):
        vdynamo.connect_async(["127.0.0.1:1"], timeout_s=timeout_s)


def test_one_address_as_a_str_and_a_resolve_that_is_not_a_function_are_refused() -> None:
    import vdynamo
    from impl.errors import LocalError

    # before: "node address ':'": each character was taken for an address
    with pytest.raises(LocalError, match="give a list of node addresses"):
        vdynamo.connect("127.0.0.1:8001")
    with pytest.raises(LocalError, match="resolve must be a function"):
        vdynamo.connect(["127.0.0.1:8001"], resolve=b",".join)  # callable: taken
        vdynamo.connect(["127.0.0.1:8001"], resolve=3)  # type: ignore[arg-type]


class _AsyncMerge:
    async def __call__(self, values: list[bytes]) -> bytes:
        return b"+".join(values)


async def _async_merge(values: list[bytes]) -> bytes:
    return b"+".join(values)


@pytest.mark.parametrize("resolve", [_async_merge, _AsyncMerge()], ids=["def", "object"])
def test_an_async_resolve_hook_is_refused_at_connect(resolve: Any) -> None:
    """An ``async def`` merge (natural beside ``connect_async``, session 61's probe
    23p): before, both clients took it, and every later get that found siblings
    raised InvalidValueError "the resolve hook returned coroutine", its coroutine
    never awaited (a RuntimeWarning), the siblings left: the mistake surfaced at the
    first concurrent write in production, not at connect. Mutant: the
    ``iscoroutinefunction`` check dropped from ``_check_client``: both cases fail
    (DID NOT RAISE); only its ``type(resolve).__call__`` half dropped: ``object``
    fails. A plain callable object is still taken."""
    import vdynamo
    from impl.errors import LocalError

    for connect in (vdynamo.connect, vdynamo.connect_async):
        with pytest.raises(LocalError, match="not a coroutine function"):
            connect(["127.0.0.1:8001"], resolve=resolve)
    vdynamo.connect(["127.0.0.1:8001"], resolve=lambda values: b"".join(values)).close()


def test_the_cli_says_when_a_delete_found_no_value() -> None:
    """``vdynamo delete KEY`` of a key with no value printed a context and exited 0,
    exactly as a delete that wrote its tombstone does (the node answers 404,
    nothing written): now it also says "(no value: nothing deleted)" on stderr, as
    ``vdynamo get`` says "(no value)". The library's default is unchanged (the
    read's context); ``missing_ok=False`` raises, the context in the error's body."""
    from impl.http_client import RequestRefusedError
    from tests.runtime.procs import cli

    async def scenario() -> None:
        async with impl.LocalCluster(nodes=3, n=3, r=2, w=2, request_timeout=5.0) as cluster:
            client = cluster.client()
            node = str(cluster.servers[0].http_address)
            done = await asyncio.to_thread(cli, "delete", "typo", "--node", node)
            # the read's context is printed and the exit is 0 (kept: the command
            # line's delete is idempotent, tests/runtime/test_cli_cluster.py), but it
            # says that nothing was deleted (before: nothing on stderr)
            assert done.returncode == 0 and done.stdout.startswith("context: "), done
            assert "(no value: nothing deleted)" in done.stderr, done
            context = await client.delete("typo")  # the library's default: the context
            assert done.stdout.strip() == f"context: {context}"
            with pytest.raises(RequestRefusedError) as refused:
                await client.delete("typo", missing_ok=False)
            assert refused.value.status == 404 and refused.value.body["context"]
            await client.put("cart", b"milk")
            done = await asyncio.to_thread(cli, "delete", "cart", "--node", node)
            assert done.returncode == 0 and done.stdout.startswith("context: "), done
            assert "nothing deleted" not in done.stderr
            assert (await client.get("cart", r=3)).values == []
    run(scenario())


@pytest.mark.parametrize(("context", "content_type"), [
    (" ", "application/octet-stream"), ("\t", "application/octet-stream"),
    (" AgEAADQv916M7shjseDBUEvF5Mk=", "application/octet-stream"),
    ("AgEAADQv916M7shjseDBUEvF5Mk= ", "application/octet-stream"),
    (None, " text/plain"), (None, "text/plain\t"), (None, None), (None, 5)])
def test_a_header_value_httpx_cannot_send_is_refused_not_reported_unknown(
        context: Any, content_type: Any) -> None:
    """A context or content type with a space or tab before or after it (``vdynamo
    delete k --context " $CTX"``, a whitespace-only variable) passed the printable
    ASCII check, then httpx refused it ("Illegal header value") before sending, and
    the client raised OutcomeUnknownError ("the write may have been made") for a
    write never sent; a content type of None or an int raised a bare AttributeError
    (session 15's review). Now InvalidValueError, nothing sent, as a CR or LF was."""
    plan = put_plan(Router(SEEDS, refresh_s=60.0, now=lambda: 0.0), "k", b"v", context,
                    content_type, None)
    with pytest.raises(InvalidValueError, match="nothing was sent"):
        next(plan)


@pytest.mark.parametrize("refresh_s", [-1, 0, float("nan"), float("inf"), "30"])
def test_a_refresh_that_is_not_a_positive_finite_number_is_refused(refresh_s: Any) -> None:
    """``Client(..., refresh_s=)`` and ``AsyncClient``'s go through the Router's check
    (session 15's review: no test held it; NaN never relearned the ring, a negative
    period fetched /status before every request)."""
    from impl.errors import LocalError
    from impl.http_client import AsyncClient, Client

    for kind in (Client, AsyncClient):
        with pytest.raises(LocalError, match="refresh_s must be a positive finite number"):
            kind(["127.0.0.1:1"], refresh_s=refresh_s)


def test_a_huge_refresh_is_taken_as_never_relearning() -> None:
    """``refresh_s`` is only compared with the time since the ring was learned, so a huge
    finite one (1e9, as many tests give; 1e308) means "never relearn" and is taken,
    where ``timeout_s`` and ``deadline_s`` stop at a day (session 56's red team capped
    ``refresh_s`` too, and 32 tests of a clean clone failed at connect). Mutant:
    ``refresh_s`` checked with the day's cap: this test fails (LocalError)."""
    from impl.http_client import AsyncClient, Client

    for kind in (Client, AsyncClient):
        for refresh_s in (86400.5, 1e9, 1e308):
            assert kind(["127.0.0.1:1"], refresh_s=refresh_s).router.refresh_s == refresh_s


@pytest.mark.parametrize("seed", [5, None, b"127.0.0.1:1", ("127.0.0.1", 1)])
def test_a_node_address_that_is_not_a_str_is_refused_naming_it(seed: Any) -> None:
    """``connect([5])``, ``connect([None])``, ``connect([b"host:port"])``: a bare
    AttributeError ("'int' object has no attribute 'startswith'") until session 15's
    review; probe B refused one str given for the list, not a list's bad element."""
    import vdynamo
    from impl.errors import LocalError

    with pytest.raises(LocalError, match=r"node address .*: give host:port as a str"):
        vdynamo.connect(["127.0.0.1:1", seed])


def test_a_resolved_value_is_returned_as_the_bytes_written() -> None:
    """A resolve hook may return a str, bytearray or memoryview (sent as bytes since
    probe B); the get returned that object itself as the value, so ``fetched.value``
    was a str or a memoryview where bytes are documented (``.decode()`` failed on a
    memoryview; session 15's review). Now the bytes written."""
    async def scenario() -> None:
        async with impl.LocalCluster(nodes=3, n=3, r=2, w=2, request_timeout=5.0) as cluster:
            client = cluster.client()
            for key, hook, merged in (("a", lambda v: ",".join(sorted(x.decode() for x in v)),
                                       b"eggs,milk"),
                                      ("b", lambda v: memoryview(b"+".join(sorted(v))),
                                       b"eggs+milk")):
                await client.put(key, b"milk")
                await client.put(key, b"eggs")
                resolving = impl.http_client.AsyncClient(
                    [str(cluster.servers[0].http_address)], resolve=hook)  # type: ignore[arg-type]
                async with resolving:
                    got = await resolving.get(key)
                assert got.values == [merged] and type(got.values[0]) is bytes, got
                assert (await client.get(key, r=3)).values == [merged]
    run(scenario())


def test_value_of_siblings_says_where_they_are_and_how_to_merge() -> None:
    """Session 22's walk through README: ``get(...).value`` of a key with siblings said
    "2 siblings: resolve them (a resolve hook)", naming neither ``.values`` nor how to
    give a hook."""
    fetched = Fetched([b"x", b"y"], ["text/plain"] * 2, "ctx")
    with pytest.raises(InvalidValueError) as raised:
        _ = fetched.value
    assert ".values" in str(raised.value) and "resolve=" in str(raised.value)
    assert Fetched([b"x"], ["text/plain"], "ctx").value == b"x"
    assert Fetched([], [], "ctx").value is None
