"""A small put's answer goes out once its own commit is durable, not after a large
put's commit queued before it (session 57), in the in-process runtime.

Three nodes in the test's loop; n1's group commits are held at gates: the commit
holding ``big1`` (100 KB) until ``first``, the one holding ``big2`` (100 KB,
submitted next, queued) until the test ends. A 5-byte put of ``small`` through n1,
submitted after ``big2``, must be answered 200 while ``big2``'s commit is still held,
and when it is answered n1's engine (its reader connection: what SQLite has
committed) must hold ``small`` and not ``big2``; and while ``big1``'s commit is held
(``small`` queued behind it) its answer, W reached at n1, must be held. The order is
causal (gates), not a time bound; each wait is bounded.

Before (every submit queued went into the next commit, and a held answer waited for
every submit before it): ``small`` shared ``big2``'s commit and its answer waited for
it: no answer within 8 s, fails. Mutants checked to fail (docs/runtime.md, session
57): ``NodeServer._skippable`` naming every submit not settled (an answer before its
own write is durable: answered while ``big1``'s commit was held, ``early``); the
effects never held (``waits_for`` false at the hold: the same); ``GroupCommit._batch`` taking the
whole queue (no answer within 8 s).
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

import pytest

from impl import errors
from impl.effects import Reply, WriteRecord
from tests.runtime.live import call, cluster, run, until, url

BIG = b"b" * 100_000


def test_a_small_put_is_answered_before_a_large_commit_queued_earlier(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first, second = threading.Event(), threading.Event()

    async def scenario() -> tuple[bool, int, bool, bool, int, int]:
        async with cluster(tmp_path, request_timeout=5.0) as servers:
            n1 = servers[0]
            committer = n1.committer
            assert committer is not None
            submit, commit = committer.submit, committer._commit
            sequences: dict[bytes, int] = {}
            gated: list[bytes] = []

            def noting(writes: list[Any]) -> int:
                for write in writes:  # noted before submit: it may start the commit
                    if isinstance(write, WriteRecord) and write.key in (
                            b"big1", b"big2", b"small"):
                        sequences[write.key] = committer.submitted + 1
                return submit(writes)

            def gating(sequence: int, error: errors.StorageError | None) -> None:
                batch = committer._batches.get(sequence, frozenset())
                for key, gate in ((b"big1", first), (b"big2", second)):
                    if sequences.get(key) in batch:
                        gated.append(key)
                        gate.wait(20)
                commit(sequence, error)

            monkeypatch.setattr(committer, "submit", noting)
            monkeypatch.setattr(committer, "_commit", gating)

            big1 = asyncio.ensure_future(call("PUT", url(n1, "/kv/big1"), BIG))
            await until(lambda: b"big1" in gated, "big1's commit held")
            big2 = asyncio.ensure_future(call("PUT", url(n1, "/kv/big2"), BIG))
            await until(lambda: b"big2" in sequences, "big2 submitted")
            small = asyncio.ensure_future(call("PUT", url(n1, "/kv/small"), b"small"))
            await until(lambda: b"small" in sequences, "small submitted")
            # W reached (n2's and n3's copies are durable, their acks at n1): the
            # put's Reply waits at n1 for n1's own copy, queued behind big1's commit
            await until(lambda: small.done() or any(
                isinstance(effect, Reply) for _, _, effect in n1._held), "small's Reply")
            early = small.done()  # answered before its own copy was durable at n1
            first.set()  # big1 commits; then small's commit, while big2's is held
            try:
                status, _, _ = await asyncio.wait_for(asyncio.shield(small), 8)
            except TimeoutError:
                status = 0  # not answered while big2's commit was held
            durable = (committer.engine.read(b"small") is not None,
                       committer.engine.read(b"big2") is not None)
            second.set()
            answers = await asyncio.gather(big1, big2)
            monkeypatch.undo()
            return early, status, *durable, *(answer[0] for answer in answers)

    try:
        early, status, small_durable, big2_durable, big1_status, big2_status = run(
            scenario(), 60)
    finally:
        first.set()
        second.set()
    assert not early, "answered while its own copy was queued behind big1's commit"
    assert status == 200, "the small put waited for the large commit queued before it"
    assert small_durable, "answered before its own write was committed at n1"
    assert not big2_durable  # its commit was still held: the small one passed it
    assert (big1_status, big2_status) == (200, 200)
